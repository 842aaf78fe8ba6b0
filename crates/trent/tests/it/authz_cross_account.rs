//! Cross-account access through the wire (spec §1.4, §2.3, §11 rows 6–8): the key policy in
//! the key's account and IAM in the caller's account must both allow; only cross-account
//! operations work across accounts; keys of other accounts are named by ARN.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::primitives::Blob;
use serde_json::json;

use crate::support::Server;
use crate::support::authz::*;

const ALICE: &str = "AKB_ALICE"; // B: user alice, kms:* on *
const B_ROOT: &str = "AKB_ROOT";
const A_ROOT: &str = "AKA_ROOT";
const A_R: &str = "AKA_R_S"; // A: role R, session s, no policies
const A_DEC: &str = "AKA_DEC_S"; // A: role Dec, session s, crypto on B's keys
const A_OPS: &str = "AKA_OPS"; // A: user ops, kms:* on *

fn toml() -> Toml {
    Toml::new()
        .account(B, B_ROOT)
        .user("alice", ALICE, &[], &[admin()])
        .account(A, A_ROOT)
        .role("R", "s", A_R, &[])
        .role(
            "Dec",
            "s",
            A_DEC,
            &[allow(
                json!([
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:DescribeKey",
                    "kms:ReEncrypt*"
                ]),
                format!("arn:aws:kms:us-east-1:{B}:key/*"),
            )],
        )
        .user("ops", A_OPS, &[], &[admin()])
}

/// The default policy plus a statement for `principal` (an account or a principal of A).
fn shared_policy(principal: &str, actions: serde_json::Value) -> String {
    key_policy(vec![
        root_statement(B),
        json!({
            "Sid": "Share",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": actions,
            "Resource": "*"
        }),
    ])
}

const PLAINTEXT: &[u8] = b"secret data";

/// Rows 6–7 and the one-sided cases: the key policy names A and A's IAM allows → allowed;
/// either side missing → denied with the matching reason.
#[tokio::test]
async fn both_accounts_must_allow() {
    let s = Server::start_with_config(&toml().build());
    let alice = client(&s, ALICE);
    let shared = create_key(
        &alice,
        Some(&shared_policy(
            A,
            json!(["kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"]),
        )),
        false,
    )
    .await;
    let private = create_key(&alice, None, false).await;
    let shared_arn = key_arn(B, &shared);
    let private_arn = key_arn(B, &private);
    let ciphertext = encrypt(&alice, &shared, &[]).await;

    // Row 6: the key policy names account A, A's IAM is silent.
    let r = client(&s, A_R)
        .decrypt()
        .key_id(&shared_arn)
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:sts::444455556666:assumed-role/R/s is not authorized to perform: \
             kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/{shared} because no \
             identity-based policy allows the kms:Decrypt action"
        ),
    );

    // Row 7: both sides allow; by key ARN, and without KeyId (the ciphertext names the key).
    let dec = client(&s, A_DEC);
    for key_id in [Some(shared_arn.as_str()), None] {
        let out = dec
            .decrypt()
            .set_key_id(key_id.map(str::to_string))
            .ciphertext_blob(ciphertext.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);
        assert_eq!(out.key_id.as_deref(), Some(shared_arn.as_str()));
    }
    let out = dec.describe_key().key_id(&shared_arn).send().await.unwrap();
    assert_eq!(out.key_metadata.unwrap().aws_account_id.as_deref(), Some(B));
    // A's own administrator and A's root user (who passes IAM implicitly) too.
    encrypt(&client(&s, A_OPS), &shared_arn, &[]).await;
    encrypt(&client(&s, A_ROOT), &shared_arn, &[]).await;

    // A's IAM allows, the key policy does not name A.
    let private_ct = encrypt(&alice, &private, &[]).await;
    let r = dec
        .decrypt()
        .key_id(&private_arn)
        .ciphertext_blob(private_ct.clone())
        .send()
        .await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:sts::444455556666:assumed-role/Dec/s is not authorized to perform: \
             kms:Decrypt on resource: {private_arn} because no resource-based policy allows the \
             kms:Decrypt action"
        ),
    );
    let r = client(&s, A_ROOT)
        .decrypt()
        .ciphertext_blob(private_ct)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &root_arn(A),
            "kms:Decrypt",
            Some(&private_arn),
            Reason::NoResource,
        ),
    );
    // The key policy delegates only some actions: the rest stay denied although IAM allows.
    let r = client(&s, A_OPS)
        .generate_data_key()
        .key_id(&shared_arn)
        .number_of_bytes(16)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(A, "ops"),
            "kms:GenerateDataKey",
            Some(&shared_arn),
            Reason::NoResource,
        ),
    );
}

/// A key policy naming one role of A: other principals of A get nothing from their IAM
/// policies ("If an IAM policy gives KMS key access to other external users or roles, it has
/// no effect"), and the named role still needs its own IAM allow.
#[tokio::test]
async fn key_policy_naming_an_external_role() {
    let toml = toml().role("Bare", "s", "AKA_BARE_S", &[]).build();
    let s = Server::start_with_config(&toml);
    let alice = client(&s, ALICE);
    let dec_role = format!("arn:aws:iam::{A}:role/Dec");
    let bare_role = format!("arn:aws:iam::{A}:role/Bare");
    let key = create_key(
        &alice,
        Some(&key_policy(vec![
            root_statement(B),
            json!({
                "Effect": "Allow",
                "Principal": {"AWS": [dec_role, bare_role]},
                "Action": "kms:Encrypt",
                "Resource": "*"
            }),
        ])),
        false,
    )
    .await;
    let arn = key_arn(B, &key);
    encrypt(&client(&s, A_DEC), &arn, &[]).await;

    let plain = |c: aws_sdk_kms::Client| {
        let arn = arn.clone();
        async move {
            c.encrypt()
                .key_id(arn)
                .plaintext(Blob::new(PLAINTEXT))
                .send()
                .await
        }
    };
    // ops has kms:* in IAM but is not named by the key policy.
    assert_denied(
        plain(client(&s, A_OPS)).await,
        &denied(
            &user_arn(A, "ops"),
            "kms:Encrypt",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    // Bare is named by the key policy but has no IAM allow in its own account.
    assert_denied(
        plain(client(&s, "AKA_BARE_S")).await,
        &denied(
            &session_arn(A, "Bare", "s"),
            "kms:Encrypt",
            Some(&arn),
            Reason::NoIdentity,
        ),
    );
}

/// Row 7 exactly as written: A's IAM policy names the key's ARN (the server is restarted on
/// the same data directory with a config that names the key created before).
#[tokio::test]
async fn iam_policy_naming_the_key_arn() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("trent.toml");
    std::fs::write(&config, toml().build()).unwrap();
    let s = Server::start_in(&data, Some(&config));
    let alice = client(&s, ALICE);
    let policy = shared_policy(A, json!("kms:Decrypt"));
    let key = create_key(&alice, Some(&policy), false).await;
    let other = create_key(&alice, Some(&policy), false).await;
    let ciphertext = encrypt(&alice, &key, &[]).await;
    let other_ct = encrypt(&alice, &other, &[]).await;
    assert!(s.stop().success());

    let toml = toml()
        .role(
            "KeyUser",
            "s",
            "AKA_KEYUSER_S",
            &[allow("kms:Decrypt", key_arn(B, &key))],
        )
        .build();
    std::fs::write(&config, toml).unwrap();
    let s = Server::start_in(&data, Some(&config));
    let user = client(&s, "AKA_KEYUSER_S");
    let out = user
        .decrypt()
        .key_id(key_arn(B, &key))
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);
    let r = user
        .decrypt()
        .key_id(key_arn(B, &other))
        .ciphertext_blob(other_ct)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &session_arn(A, "KeyUser", "s"),
            "kms:Decrypt",
            Some(&key_arn(B, &other)),
            Reason::NoIdentity,
        ),
    );
}

/// Keys of other accounts are named by key ARN (or alias ARN for cryptographic operations):
/// a key ID or alias name is looked up in the caller's own account.
#[tokio::test]
async fn naming_keys_of_other_accounts() {
    let s = Server::start_with_config(&toml().build());
    let alice = client(&s, ALICE);
    let key = create_key(
        &alice,
        Some(&shared_policy(A, json!(["kms:Encrypt", "kms:DescribeKey"]))),
        false,
    )
    .await;
    alice
        .create_alias()
        .alias_name("alias/shared")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let dec = client(&s, A_DEC);

    let r = dec
        .encrypt()
        .key_id("alias/shared")
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await;
    assert_error(
        r,
        "NotFoundException",
        "Alias arn:aws:kms:us-east-1:444455556666:alias/shared is not found.",
    );
    let r = dec
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await;
    assert_error(
        r,
        "NotFoundException",
        &format!("Key 'arn:aws:kms:us-east-1:444455556666:key/{key}' does not exist"),
    );
    // The alias ARN works for cryptographic operations.
    let out = dec
        .encrypt()
        .key_id(alias_arn(B, "alias/shared"))
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_id.as_deref(), Some(key_arn(B, &key).as_str()));

    // A key ARN of B that does not exist: NotFound, whoever asks (spec §6.3 (I)).
    let missing = "0d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b";
    for caller in [A_DEC, A_R] {
        let r = client(&s, caller)
            .describe_key()
            .key_id(key_arn(B, missing))
            .send()
            .await;
        assert_error(
            r,
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(B, missing)),
        );
    }
}

/// Row 8: a non-cross-account action on a key of another account is denied even when the key
/// policy gives that account kms:* and its IAM allows the action.
#[tokio::test]
async fn management_operations_are_not_cross_account() {
    let s = Server::start_with_config(&toml().build());
    let alice = client(&s, ALICE);
    let key = create_key(&alice, Some(&shared_policy(A, json!("kms:*"))), false).await;
    let arn = key_arn(B, &key);
    let ops = client(&s, A_OPS);
    let ops_arn = user_arn(A, "ops");

    let r = ops
        .schedule_key_deletion()
        .key_id(&arn)
        .pending_window_in_days(7)
        .send()
        .await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:iam::444455556666:user/ops is not authorized to perform: \
             kms:ScheduleKeyDeletion on resource: {arn} because no resource-based policy allows \
             the kms:ScheduleKeyDeletion action"
        ),
    );
    let r = client(&s, A_ROOT)
        .schedule_key_deletion()
        .key_id(&arn)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &root_arn(A),
            "kms:ScheduleKeyDeletion",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    let r = ops.disable_key().key_id(&arn).send().await;
    assert_denied(
        r,
        &denied(&ops_arn, "kms:DisableKey", Some(&arn), Reason::NoResource),
    );
    let r = ops.get_key_policy().key_id(&arn).send().await;
    assert_denied(
        r,
        &denied(&ops_arn, "kms:GetKeyPolicy", Some(&arn), Reason::NoResource),
    );
    let r = ops
        .put_key_policy()
        .key_id(&arn)
        .policy(key_policy(vec![root_statement(A)]))
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await;
    assert_denied(
        r,
        &denied(&ops_arn, "kms:PutKeyPolicy", Some(&arn), Reason::NoResource),
    );

    // An alias in A for B's key: the alias half passes (A's IAM), the key half does not.
    let r = ops
        .create_alias()
        .alias_name("alias/theirs")
        .target_key_id(&arn)
        .send()
        .await;
    assert_denied(
        r,
        &denied(&ops_arn, "kms:CreateAlias", Some(&arn), Reason::NoResource),
    );

    // The key is untouched; the cross-account operations the policy allows do work.
    let meta = alice
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state.unwrap().as_str(), "Enabled");
    assert!(meta.deletion_date.is_none());
    ops.describe_key().key_id(&arn).send().await.unwrap();
    encrypt(&ops, &arn, &[]).await;
}

/// ReEncrypt checks ReEncryptFrom on the source key and ReEncryptTo on the destination, each
/// in its own account's key policy.
#[tokio::test]
async fn re_encrypt_across_accounts() {
    let s = Server::start_with_config(&toml().build());
    let alice = client(&s, ALICE);
    let from = create_key(
        &alice,
        Some(&shared_policy(A, json!("kms:ReEncrypt*"))),
        false,
    )
    .await;
    let no_from = create_key(&alice, Some(&shared_policy(A, json!("kms:Decrypt"))), false).await;
    let ops = client(&s, A_OPS);
    let own = create_key(&ops, None, false).await;

    let ct = encrypt(&alice, &from, &[]).await;
    let out = ops
        .re_encrypt()
        .ciphertext_blob(ct)
        .destination_key_id(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_id.as_deref(), Some(key_arn(A, &own).as_str()));
    assert_eq!(
        out.source_key_id.as_deref(),
        Some(key_arn(B, &from).as_str())
    );
    let back = ops
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext.unwrap().as_ref(), PLAINTEXT);

    let ct = encrypt(&alice, &no_from, &[]).await;
    let r = ops
        .re_encrypt()
        .ciphertext_blob(ct)
        .destination_key_id(&own)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(A, "ops"),
            "kms:ReEncryptFrom",
            Some(&key_arn(B, &no_from)),
            Reason::NoResource,
        ),
    );
}

/// Sign and GetPublicKey are cross-account operations: by key ARN, with both sides allowing.
#[tokio::test]
async fn asymmetric_operations_across_accounts() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType, SigningAlgorithmSpec};
    let s = Server::start_with_config(&toml().build());
    let alice = client(&s, ALICE);
    let key = alice
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .policy(shared_policy(A, json!(["kms:Sign", "kms:GetPublicKey"])))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let arn = key_arn(B, &key);
    let ops = client(&s, A_OPS);
    let public = ops.get_public_key().key_id(&arn).send().await.unwrap();
    assert_eq!(public.key_id.as_deref(), Some(arn.as_str()));
    assert!(!public.public_key.unwrap().as_ref().is_empty());
    let sign = |c: aws_sdk_kms::Client| {
        let arn = arn.clone();
        async move {
            c.sign()
                .key_id(arn)
                .message(Blob::new(b"hello"))
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .send()
                .await
        }
    };
    sign(ops.clone()).await.unwrap();
    // Verify is not shared; R has no IAM policy.
    let r = ops
        .verify()
        .key_id(&arn)
        .message(Blob::new(b"hello"))
        .signature(Blob::new(vec![0u8; 64]))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(A, "ops"),
            "kms:Verify",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    assert_denied(
        sign(client(&s, A_R)).await,
        &denied(
            &session_arn(A, "R", "s"),
            "kms:Sign",
            Some(&arn),
            Reason::NoIdentity,
        ),
    );
}
