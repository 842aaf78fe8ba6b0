//! AWS managed keys over the wire with aws-sdk-kms: the first use of `alias/aws/<service>`
//! (DescribeKey, Encrypt, GenerateDataKey*, ReEncrypt's destination) creates the account's key
//! for the region once, also under concurrent first uses; its metadata (KeyManager AWS), its key
//! policy and what that policy implies (use only through the service, `kms:ViaService`, for
//! the root user and IAM users alike; reading through IAM); yearly rotation by the sweep; every
//! change refused; ListAliases with the predefined aliases, without a target until the key
//! exists; and that a refused first use creates nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyManagerType, RotationType, Tag};
use serde_json::json;

use crate::support::authz::*;
use crate::support::kms::{
    PREDEFINED_ALIASES, all_aliases, all_key_ids, describe, now_secs, snapshot,
};
use crate::support::{Server, sdk_config};

const DAY: f64 = 86_400.0;
const ROOT: &str = "AKIAROOT";
/// No identity policies.
const ALICE: &str = "AKIAALICE";
/// `kms:*` on `*`.
const ADMIN: &str = "AKIAADMIN";
/// S3 acting for alice, and for the account's root user.
const S3_ALICE: &str = "AKIAS3ALICE";
const S3_ROOT: &str = "AKIAS3ROOT";
/// Lambda acting for alice: the wrong service for `aws/s3`.
const LAMBDA_ALICE: &str = "AKIALAMBDAALICE";
/// Secrets Manager acting for alice.
const SM_ALICE: &str = "AKIASMALICE";
const S3: &str = "alias/aws/s3";

fn config() -> String {
    let mut toml = Toml::new()
        .account(B, ROOT)
        .user("alice", ALICE, &[], &[])
        .user("admin", ADMIN, &[], &[admin()])
        .build();
    for (service, acts_for, key) in [
        ("s3.amazonaws.com", user_arn(B, "alice"), S3_ALICE),
        ("s3.amazonaws.com", root_arn(B), S3_ROOT),
        ("lambda.amazonaws.com", user_arn(B, "alice"), LAMBDA_ALICE),
        (
            "secretsmanager.amazonaws.com",
            user_arn(B, "alice"),
            SM_ALICE,
        ),
    ] {
        toml.push_str(&format!(
            "[[service_callers]]\nservice = \"{service}\"\nacts_for = \"{acts_for}\"\n\
             access_key_id = \"{key}\"\nsecret_access_key = \"{}\"\n",
            secret(key)
        ));
    }
    toml
}

fn start() -> Server {
    Server::start_with_config(&config())
}

/// The key policy AWS attaches to the AWS managed key for S3 in account B, us-east-1.
fn s3_key_policy() -> String {
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "auto-s3-2",
  "Statement" : [ {{
    "Sid" : "Allow access through S3 for all principals in the account that are authorized to use S3",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:CallerAccount" : "{B}",
        "kms:ViaService" : "s3.us-east-1.amazonaws.com"
      }}
    }}
  }}, {{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{B}:root"
    }},
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  }} ]
}}"#
    )
}

async fn key_id_of(c: &Client, key: &str) -> String {
    describe(c, key).await.key_id().to_string()
}

async fn encrypt_via(c: &Client, key: &str, plaintext: &[u8]) -> (String, Blob) {
    let out = c
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new(plaintext))
        .send()
        .await
        .unwrap();
    (
        out.key_id().unwrap().to_string(),
        out.ciphertext_blob.unwrap(),
    )
}

#[tokio::test]
async fn describe_key_creates_the_key_once_with_aws_metadata_and_policy() {
    let s = start();
    let root = client(&s, ROOT);
    assert!(all_key_ids(&root, 100).await.is_empty());
    let before = now_secs();

    let m = root
        .describe_key()
        .key_id(S3)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(m.key_manager(), Some(&KeyManagerType::Aws));
    assert_eq!(
        m.description(),
        Some("Default key that protects my S3 objects when no other key is defined")
    );
    assert_eq!(m.key_spec().unwrap().as_str(), "SYMMETRIC_DEFAULT");
    assert_eq!(m.key_usage().unwrap().as_str(), "ENCRYPT_DECRYPT");
    assert_eq!(m.origin().unwrap().as_str(), "AWS_KMS");
    assert_eq!(m.key_state().unwrap().as_str(), "Enabled");
    assert!(m.enabled());
    assert!(!m.multi_region().unwrap());
    assert_eq!(m.aws_account_id(), Some(B));
    assert!((m.creation_date().unwrap().as_secs_f64() - before).abs() < 60.0);
    let id = m.key_id().to_string();

    // Once: every later use, by alias, alias ARN, key ID or key ARN, is the same key.
    for name in [
        S3.to_string(),
        alias_arn(B, S3),
        id.clone(),
        key_arn(B, &id),
    ] {
        assert_eq!(key_id_of(&root, &name).await, id, "{name}");
    }
    assert_eq!(all_key_ids(&root, 100).await, std::slice::from_ref(&id));

    let policy = root
        .get_key_policy()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy, s3_key_policy());
    let tags = root.list_resource_tags().key_id(&id).send().await.unwrap();
    assert!(tags.tags().is_empty());

    // Customer keys still say CUSTOMER.
    let customer = create_key(&root, None, false).await;
    let m = root
        .describe_key()
        .key_id(&customer)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(m.key_manager(), Some(&KeyManagerType::Customer));

    // A name after alias/aws/ that is no AWS service's is an alias that does not exist.
    assert_error(
        root.describe_key().key_id("alias/aws/nope").send().await,
        "NotFoundException",
        &format!("Alias {} is not found.", alias_arn(B, "alias/aws/nope")),
    );
    assert_eq!(all_key_ids(&root, 100).await.len(), 2);
}

#[tokio::test]
async fn concurrent_first_uses_create_exactly_one_key_and_alias() {
    let s = start();
    let root = client(&s, ROOT);
    let via_s3 = client(&s, S3_ALICE);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (root, via_s3) = (root.clone(), via_s3.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                key_arn(B, &key_id_of(&root, S3).await)
            } else {
                encrypt_via(&via_s3, S3, b"first").await.0
            }
        }));
    }
    let mut arns = Vec::new();
    for t in tasks {
        arns.push(t.await.unwrap());
    }
    arns.dedup();
    assert_eq!(arns.len(), 1, "{arns:?}");
    let ids = all_key_ids(&root, 100).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(arns[0], key_arn(B, &ids[0]));
    let s3_aliases: Vec<_> = all_aliases(&root, None, 100)
        .await
        .into_iter()
        .filter(|a| a.alias_name() == Some(S3))
        .collect();
    assert_eq!(s3_aliases.len(), 1);
    assert_eq!(s3_aliases[0].target_key_id(), Some(ids[0].as_str()));
}

#[tokio::test]
async fn the_key_is_used_through_its_service_only() {
    let s = start();
    let root = client(&s, ROOT);
    let alice = client(&s, ALICE);
    let admin = client(&s, ADMIN);
    let s3_alice = client(&s, S3_ALICE);
    let s3_root = client(&s, S3_ROOT);
    let lambda_alice = client(&s, LAMBDA_ALICE);

    // A refused first use creates nothing; its message names the ARN the key then gets.
    let refused = root
        .encrypt()
        .key_id(S3)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    let (code, message) = err(refused);
    assert_eq!(code, "AccessDeniedException");
    assert!(all_key_ids(&root, 100).await.is_empty());
    // DryRun succeeds as a request would, and creates nothing either.
    let (code, _) = err(s3_alice
        .encrypt()
        .key_id(S3)
        .plaintext(Blob::new("x"))
        .dry_run(true)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "DryRunOperationException");
    assert!(all_key_ids(&root, 100).await.is_empty());

    // Through S3: any principal of the account, with or without identity policies.
    let (arn, ciphertext) = encrypt_via(&s3_alice, S3, b"object").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert_eq!(
        message,
        denied(&root_arn(B), "kms:Encrypt", Some(&arn), Reason::NoResource)
    );
    assert_eq!(encrypt_via(&s3_root, S3, b"x").await.0, arn);
    for c in [&s3_alice, &s3_root] {
        let plain = c
            .decrypt()
            .ciphertext_blob(ciphertext.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(plain.plaintext().unwrap().as_ref(), b"object");
        let dk = c
            .generate_data_key()
            .key_id(S3)
            .number_of_bytes(32)
            .send()
            .await
            .unwrap();
        assert_eq!(dk.key_id(), Some(arn.as_str()));
        c.generate_data_key_without_plaintext()
            .key_id(&arn)
            .number_of_bytes(32)
            .send()
            .await
            .unwrap();
        c.re_encrypt()
            .ciphertext_blob(ciphertext.clone())
            .destination_key_id(S3)
            .send()
            .await
            .unwrap();
        c.describe_key().key_id(S3).send().await.unwrap();
    }
    // Directly, no one may use it: the root user, an IAM user without policies, an admin
    // whose identity policy allows kms:* (the key policy delegates only reads to the account).
    for (c, who) in [
        (&root, root_arn(B)),
        (&alice, user_arn(B, "alice")),
        (&admin, user_arn(B, "admin")),
    ] {
        assert_denied(
            c.encrypt()
                .key_id(S3)
                .plaintext(Blob::new("x"))
                .send()
                .await,
            &denied(&who, "kms:Encrypt", Some(&arn), Reason::NoResource),
        );
        assert_denied(
            c.decrypt().ciphertext_blob(ciphertext.clone()).send().await,
            &denied(&who, "kms:Decrypt", Some(&arn), Reason::NoResource),
        );
        assert_denied(
            c.generate_data_key()
                .key_id(S3)
                .number_of_bytes(16)
                .send()
                .await,
            &denied(&who, "kms:GenerateDataKey", Some(&arn), Reason::NoResource),
        );
    }
    // Nor through another service.
    assert_denied(
        lambda_alice
            .decrypt()
            .ciphertext_blob(ciphertext.clone())
            .send()
            .await,
        &denied(
            &user_arn(B, "alice"),
            "kms:Decrypt",
            Some(&arn),
            Reason::NoResource,
        ),
    );

    // Reading is delegated to the account: the root user, and IAM users whose policies allow.
    root.describe_key().key_id(S3).send().await.unwrap();
    admin.get_key_policy().key_id(&id).send().await.unwrap();
    assert_denied(
        alice.describe_key().key_id(S3).send().await,
        &denied(
            &user_arn(B, "alice"),
            "kms:DescribeKey",
            Some(&arn),
            Reason::NoIdentity,
        ),
    );

    // Grants through the service stay possible (S3 and EBS make them), and a grant lets its
    // grantee use the key directly, as grants do.
    s3_alice
        .create_grant()
        .key_id(&arn)
        .grantee_principal(user_arn(B, "alice"))
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    assert_denied(
        root.create_grant()
            .key_id(&arn)
            .grantee_principal(user_arn(B, "alice"))
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .send()
            .await,
        &denied(
            &root_arn(B),
            "kms:CreateGrant",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    let plain = alice
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"object");
    assert_eq!(all_key_ids(&root, 100).await, [id]);
}

#[tokio::test]
async fn every_kind_of_first_use_creates_the_key() {
    let s = start();
    let root = client(&s, ROOT);

    // GenerateDataKeyWithoutPlaintext (Encrypt and DescribeKey: the tests above).
    let dk = client(&s, S3_ALICE)
        .generate_data_key_without_plaintext()
        .key_id(S3)
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dk.key_id(),
        Some(key_arn(B, &key_id_of(&root, S3).await).as_str())
    );

    // GenerateDataKey.
    let dk = client(&s, SM_ALICE)
        .generate_data_key()
        .key_id("alias/aws/secretsmanager")
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    let secrets = key_id_of(&root, "alias/aws/secretsmanager").await;
    assert_eq!(dk.key_id(), Some(key_arn(B, &secrets).as_str()));

    // ReEncrypt's destination: Lambda moves a ciphertext of alice's own key under aws/lambda.
    let own = create_key(
        &root,
        Some(&key_policy(vec![
            root_statement(B),
            json!({"Effect": "Allow", "Principal": {"AWS": user_arn(B, "alice")},
                   "Action": "kms:*", "Resource": "*"}),
        ])),
        false,
    )
    .await;
    let lambda = client(&s, LAMBDA_ALICE);
    let (_, blob) = encrypt_via(&lambda, &own, b"moved").await;
    let moved = lambda
        .re_encrypt()
        .ciphertext_blob(blob)
        .destination_key_id("alias/aws/lambda")
        .send()
        .await
        .unwrap();
    let lambda_key = key_id_of(&root, "alias/aws/lambda").await;
    assert_eq!(moved.key_id(), Some(key_arn(B, &lambda_key).as_str()));
    let plain = lambda
        .decrypt()
        .ciphertext_blob(moved.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"moved");

    // Each service's key has its own description and policy.
    let m = root
        .describe_key()
        .key_id(&lambda_key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        m.description(),
        Some("Default key that protects my Lambda functions when no other key is defined")
    );
    assert_eq!(m.key_manager(), Some(&KeyManagerType::Aws));
    let policy = root
        .get_key_policy()
        .key_id(&lambda_key)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(
        policy,
        s3_key_policy()
            .replace("auto-s3-2", "auto-lambda-1")
            .replace("through S3", "through AWS Lambda")
            .replace("use S3", "use AWS Lambda")
            .replace("s3.us-east-1", "lambda.us-east-1")
    );
    assert_eq!(all_key_ids(&root, 100).await.len(), 4);
}

#[tokio::test]
async fn rotation_is_always_on_and_yearly_and_the_sweep_rotates() {
    let tmp = tempfile::tempdir().unwrap();
    let config_file = tmp.path().join("trent.toml");
    std::fs::write(&config_file, config()).unwrap();
    let data = tmp.path().join("data");
    let (id, ciphertext, next) = {
        let s = Server::start_in(&data, Some(&config_file));
        let root = client(&s, ROOT);
        let (arn, ciphertext) = encrypt_via(&client(&s, S3_ALICE), S3, b"old").await;
        let id = arn.rsplit('/').next().unwrap().to_string();
        let status = root
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .unwrap();
        assert!(status.key_rotation_enabled());
        assert_eq!(status.rotation_period_in_days(), Some(365));
        let next = status.next_rotation_date().unwrap().as_secs_f64();
        assert!((next - (now_secs() + 365.0 * DAY)).abs() < 120.0, "{next}");
        let rotations = root.list_key_rotations().key_id(&id).send().await.unwrap();
        assert!(rotations.rotations().is_empty());
        (id, ciphertext, next)
    };

    // A year and a day later the sweep has rotated it; it is still AWS managed, and the old
    // ciphertext still decrypts (through S3).
    let offset = (366.0 * DAY) as i64;
    let s = Server::start_in_with_args(
        &data,
        Some(&config_file),
        &["--test-clock-offset", &offset.to_string()],
    );
    let root = client(&s, ROOT);
    let rotations = root.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    assert_eq!(
        rotations.rotations()[0].rotation_type(),
        Some(&RotationType::Automatic)
    );
    let status = root
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled());
    let new_next = status.next_rotation_date().unwrap().as_secs_f64();
    assert!(
        (new_next - (now_secs() + 366.0 * DAY + 365.0 * DAY)).abs() < 120.0,
        "{next} -> {new_next}"
    );
    let m = root
        .describe_key()
        .key_id(S3)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(m.key_manager(), Some(&KeyManagerType::Aws));
    assert_eq!(m.key_id(), id);
    let plain = client(&s, S3_ALICE)
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"old");
}

/// Every change of an AWS managed key, made by `c`.
async fn changes(c: &Client, id: &str) -> Vec<(&'static str, Result<(), (String, String)>)> {
    fn done<T, E, R>(
        r: Result<T, aws_sdk_kms::error::SdkError<E, R>>,
    ) -> Result<(), (String, String)>
    where
        E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
        R: std::fmt::Debug,
    {
        r.map(|_| ()).map_err(err)
    }
    let policy = key_policy(vec![root_statement(B)]);
    let tag = Tag::builder().tag_key("k").tag_value("v").build().unwrap();
    vec![
        (
            "kms:PutKeyPolicy",
            done(c.put_key_policy().key_id(id).policy(&policy).send().await),
        ),
        (
            "kms:EnableKeyRotation",
            done(c.enable_key_rotation().key_id(id).send().await),
        ),
        (
            "kms:DisableKeyRotation",
            done(c.disable_key_rotation().key_id(id).send().await),
        ),
        (
            "kms:RotateKeyOnDemand",
            done(c.rotate_key_on_demand().key_id(id).send().await),
        ),
        (
            "kms:ScheduleKeyDeletion",
            done(c.schedule_key_deletion().key_id(id).send().await),
        ),
        (
            "kms:CancelKeyDeletion",
            done(c.cancel_key_deletion().key_id(id).send().await),
        ),
        (
            "kms:DisableKey",
            done(c.disable_key().key_id(id).send().await),
        ),
        (
            "kms:EnableKey",
            done(c.enable_key().key_id(id).send().await),
        ),
        (
            "kms:UpdateKeyDescription",
            done(
                c.update_key_description()
                    .key_id(id)
                    .description("mine")
                    .send()
                    .await,
            ),
        ),
        (
            "kms:TagResource",
            done(c.tag_resource().key_id(id).tags(tag).send().await),
        ),
        (
            "kms:UntagResource",
            done(c.untag_resource().key_id(id).tag_keys("k").send().await),
        ),
        (
            "kms:CreateAlias",
            done(
                c.create_alias()
                    .alias_name("alias/mine")
                    .target_key_id(id)
                    .send()
                    .await,
            ),
        ),
        (
            "kms:UpdateAlias",
            done(
                c.update_alias()
                    .alias_name(CUSTOMER_ALIAS)
                    .target_key_id(id)
                    .send()
                    .await,
            ),
        ),
    ]
}

/// A customer alias, of a customer key, that [`changes`] tries to point at the AWS managed key.
const CUSTOMER_ALIAS: &str = "alias/customer";

async fn customer_alias(c: &Client) {
    let key = create_key(c, None, false).await;
    c.create_alias()
        .alias_name(CUSTOMER_ALIAS)
        .target_key_id(key)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn every_change_is_refused_and_changes_nothing() {
    let s = start();
    let root = client(&s, ROOT);
    let admin = client(&s, ADMIN);
    let id = key_id_of(&root, S3).await;
    let arn = key_arn(B, &id);
    customer_alias(&root).await;
    let before = snapshot(&root).await;

    // The key policy allows none of them, to anyone: AccessDenied, as AWS answers.
    for (c, who) in [(&root, root_arn(B)), (&admin, user_arn(B, "admin"))] {
        for (action, result) in changes(c, &id).await {
            assert_eq!(
                result,
                Err((
                    "AccessDeniedException".to_string(),
                    denied(&who, action, Some(&arn), Reason::NoResource)
                )),
                "{action}"
            );
        }
    }
    // The aliases of AWS managed keys are reserved, created or not.
    for name in [S3, "alias/aws/ebs"] {
        let reserved = (
            "NotAuthorizedException".to_string(),
            "Cannot create, update or delete an alias with the reserved prefix 'alias/aws/'."
                .to_string(),
        );
        let other = create_key(&root, None, false).await;
        assert_eq!(
            err(root
                .create_alias()
                .alias_name(name)
                .target_key_id(&other)
                .send()
                .await
                .unwrap_err()),
            reserved
        );
        assert_eq!(
            err(root
                .update_alias()
                .alias_name(name)
                .target_key_id(&other)
                .send()
                .await
                .unwrap_err()),
            reserved
        );
        assert_eq!(
            err(root
                .delete_alias()
                .alias_name(name)
                .send()
                .await
                .unwrap_err()),
            reserved
        );
        root.schedule_key_deletion()
            .key_id(&other)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
    // The AWS managed key and every alias are as they were (the other keys are pending
    // deletion now).
    let after = snapshot(&root).await;
    let managed = |keys: Vec<crate::support::kms::KeyView>| {
        keys.into_iter()
            .filter(|k| k.metadata.key_id() == id)
            .collect::<Vec<_>>()
    };
    assert_eq!(managed(after.keys), managed(before.keys));
    assert_eq!(after.aliases, before.aliases, "no alias changed");
}

#[tokio::test]
async fn with_authorization_off_the_changes_are_still_refused() {
    let s = Server::start_with_args(&config(), &["--authz", "off"]);
    let root = client(&s, ROOT);
    let id = key_id_of(&root, S3).await;
    let arn = key_arn(B, &id);
    customer_alias(&root).await;
    let before = snapshot(&root).await;
    let refusal = (
        "UnsupportedOperationException".to_string(),
        format!(
            "{arn} is an AWS managed key: AWS manages its policy, state, description, tags, \
             aliases and rotation."
        ),
    );
    for (action, result) in changes(&root, &id).await {
        assert_eq!(result, Err(refusal.clone()), "{action}");
    }
    assert_eq!(snapshot(&root).await, before);
}

#[tokio::test]
async fn list_aliases_shows_predefined_aliases_and_their_keys_once_created() {
    let s = start();
    let root = client(&s, ROOT);
    let listed = all_aliases(&root, None, 100).await;
    let names: Vec<&str> = listed.iter().map(|a| a.alias_name().unwrap()).collect();
    assert_eq!(names, PREDEFINED_ALIASES);
    for a in &listed {
        assert_eq!(a.target_key_id(), None, "{a:?}");
        assert_eq!(a.creation_date(), None);
        assert_eq!(
            a.alias_arn(),
            Some(alias_arn(B, a.alias_name().unwrap()).as_str())
        );
    }

    // Created: aws/s3 (predefined) and aws/sqs (not predefined, listed once it exists).
    let s3 = key_id_of(&root, S3).await;
    let sqs = key_id_of(&root, "alias/aws/sqs").await;
    let customer = create_key(&root, None, false).await;
    root.create_alias()
        .alias_name("alias/app")
        .target_key_id(&customer)
        .send()
        .await
        .unwrap();
    // Small pages: the predefined and stored aliases page together, in name order.
    let listed = all_aliases(&root, None, 4).await;
    let mut expected: Vec<&str> = PREDEFINED_ALIASES.to_vec();
    expected.extend(["alias/app", "alias/aws/sqs"]);
    expected.sort();
    assert_eq!(
        listed
            .iter()
            .map(|a| a.alias_name().unwrap())
            .collect::<Vec<_>>(),
        expected
    );
    for a in &listed {
        let target = match a.alias_name().unwrap() {
            S3 => Some(s3.as_str()),
            "alias/aws/sqs" => Some(sqs.as_str()),
            "alias/app" => Some(customer.as_str()),
            _ => None,
        };
        assert_eq!(a.target_key_id(), target, "{a:?}");
        assert_eq!(a.creation_date().is_some(), target.is_some());
    }
    let of_s3: Vec<_> = all_aliases(&root, Some(&s3), 100).await;
    assert_eq!(of_s3.len(), 1);
    assert_eq!(of_s3[0].alias_name(), Some(S3));

    // Another region has its own (none created there yet).
    let eu = Client::from_conf(sdk_config(&s.endpoint, ROOT, &secret(ROOT), "eu-west-1").build());
    assert!(
        all_aliases(&eu, None, 100)
            .await
            .iter()
            .all(|a| a.target_key_id().is_none())
    );
}
