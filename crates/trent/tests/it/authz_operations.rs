//! How operations are authorized (spec §2.2, §2.3, §6.3): resource-less actions (IAM only),
//! alias operations (alias in IAM and key in the key policy), DryRun, and the order of the
//! not-found, authorization, key-state and validation checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use serde_json::json;

use crate::support::Server;
use crate::support::authz::*;

const ALICE: &str = "AKB_ALICE"; // kms:* on *
const BOB: &str = "AKB_BOB"; // no policies
const ROOT: &str = "AKB_ROOT";
const ALIAS_ONLY: &str = "AKB_ALIAS_ONLY"; // alias actions on alias/* only
const KEY_ONLY: &str = "AKB_KEY_ONLY"; // alias actions on key/* only
const ALIAS_BOTH: &str = "AKB_ALIAS_BOTH"; // alias actions on alias/app-* and key/*

const ALIAS_ACTIONS: [&str; 3] = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"];

fn server() -> Server {
    let aliases = format!("arn:aws:kms:us-east-1:{B}:alias/*");
    let keys = format!("arn:aws:kms:us-east-1:{B}:key/*");
    let toml = Toml::new()
        .account(B, ROOT)
        .user("alice", ALICE, &[], &[admin()])
        .user("bob", BOB, &[], &[])
        .user(
            "alias-only",
            ALIAS_ONLY,
            &[],
            &[allow(json!(ALIAS_ACTIONS), aliases)],
        )
        .user(
            "key-only",
            KEY_ONLY,
            &[],
            &[allow(json!(ALIAS_ACTIONS), keys.clone())],
        )
        .user(
            "alias-both",
            ALIAS_BOTH,
            &[],
            &[allow(
                json!(ALIAS_ACTIONS),
                json!([format!("arn:aws:kms:us-east-1:{B}:alias/app-*"), keys]),
            )],
        )
        .build();
    Server::start_with_config(&toml)
}

const PLAINTEXT: &[u8] = b"secret data";

/// ListKeys, ListAliases, CreateKey and GenerateRandom have no resource: IAM alone decides, the
/// message has no "on resource" part, and the root user passes implicitly.
#[tokio::test]
async fn resource_less_actions_are_iam_only() {
    let s = server();
    let bob = client(&s, BOB);
    let who = user_arn(B, "bob");
    let expect = |action: &str| denied(&who, action, None, Reason::NoIdentity);
    assert_denied(
        bob.list_keys().send().await,
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: kms:ListKeys \
         because no identity-based policy allows the kms:ListKeys action",
    );
    assert_denied(bob.list_aliases().send().await, &expect("kms:ListAliases"));
    assert_denied(bob.create_key().send().await, &expect("kms:CreateKey"));
    assert_denied(
        bob.generate_random().number_of_bytes(16).send().await,
        &expect("kms:GenerateRandom"),
    );

    let root = client(&s, ROOT);
    let key = create_key(&root, None, false).await;
    let keys = root.list_keys().send().await.unwrap().keys.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key_id.as_deref(), Some(key.as_str()));
    root.list_aliases().send().await.unwrap();
    let random = root
        .generate_random()
        .number_of_bytes(16)
        .send()
        .await
        .unwrap();
    assert_eq!(random.plaintext.unwrap().as_ref().len(), 16);
}

async fn create_alias(c: &Client, alias: &str, key: &str) -> Result<(), (String, String)> {
    c.create_alias()
        .alias_name(alias)
        .target_key_id(key)
        .send()
        .await
        .map(|_| ())
        .map_err(err)
}

fn alias_denied(user: &str, action: &str, resource: &str, reason: Reason) -> (String, String) {
    (
        "AccessDeniedException".to_string(),
        denied(&user_arn(B, user), action, Some(resource), reason),
    )
}

/// The aliases that name a key, with it (the predefined aliases of AWS managed keys name none
/// until their key exists).
async fn targets(c: &Client) -> Vec<(String, String)> {
    c.list_aliases()
        .send()
        .await
        .unwrap()
        .aliases
        .unwrap()
        .into_iter()
        .filter_map(|a| Some((a.alias_name?, a.target_key_id?)))
        .collect()
}

/// CreateAlias, UpdateAlias and DeleteAlias need the action on the alias (IAM) and on every key
/// involved (key policy, or IAM where the key policy delegates).
#[tokio::test]
async fn alias_operations_check_alias_and_key() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let key2 = create_key(&alice, None, false).await;
    // A key whose policy names alice only: no delegation to IAM.
    let closed = create_key(
        &alice,
        Some(&key_policy(vec![json!({
            "Effect": "Allow",
            "Principal": {"AWS": user_arn(B, "alice")},
            "Action": "kms:*",
            "Resource": "*"
        })])),
        false,
    )
    .await;
    let app = alias_arn(B, "alias/app-1");

    // IAM allows the alias but not the key.
    assert_eq!(
        create_alias(&client(&s, ALIAS_ONLY), "alias/app-1", &key)
            .await
            .unwrap_err(),
        (
            "AccessDeniedException".to_string(),
            format!(
                "User: arn:aws:iam::111122223333:user/alias-only is not authorized to perform: \
                 kms:CreateAlias on resource: {} because no identity-based policy allows the \
                 kms:CreateAlias action",
                key_arn(B, &key)
            )
        )
    );
    // IAM allows the key but not the alias: the alias ARN is the resource.
    assert_eq!(
        create_alias(&client(&s, KEY_ONLY), "alias/app-1", &key)
            .await
            .unwrap_err(),
        (
            "AccessDeniedException".to_string(),
            "User: arn:aws:iam::111122223333:user/key-only is not authorized to perform: \
             kms:CreateAlias on resource: arn:aws:kms:us-east-1:111122223333:alias/app-1 \
             because no identity-based policy allows the kms:CreateAlias action"
                .to_string()
        )
    );
    assert!(targets(&alice).await.is_empty());

    let both = client(&s, ALIAS_BOTH);
    // An alias name outside the IAM pattern.
    assert_eq!(
        create_alias(&both, "alias/other", &key).await.unwrap_err(),
        alias_denied(
            "alias-both",
            "kms:CreateAlias",
            &alias_arn(B, "alias/other"),
            Reason::NoIdentity
        )
    );
    // A key whose policy does not delegate to IAM.
    assert_eq!(
        create_alias(&both, "alias/app-1", &closed)
            .await
            .unwrap_err(),
        alias_denied(
            "alias-both",
            "kms:CreateAlias",
            &key_arn(B, &closed),
            Reason::NoResource
        )
    );
    create_alias(&both, "alias/app-1", &key).await.unwrap();
    assert_eq!(
        targets(&alice).await,
        [("alias/app-1".to_string(), key.clone())]
    );

    // UpdateAlias: the alias, the current key and the new key.
    let update = |c: &Client, alias: &str, key: &str| {
        c.update_alias().alias_name(alias).target_key_id(key).send()
    };
    assert_denied(
        update(&both, "alias/app-1", &closed).await,
        &denied(
            &user_arn(B, "alias-both"),
            "kms:UpdateAlias",
            Some(&key_arn(B, &closed)),
            Reason::NoResource,
        ),
    );
    assert_denied(
        update(&client(&s, KEY_ONLY), "alias/app-1", &key2).await,
        &denied(
            &user_arn(B, "key-only"),
            "kms:UpdateAlias",
            Some(&app),
            Reason::NoIdentity,
        ),
    );
    update(&both, "alias/app-1", &key2).await.unwrap();
    create_alias(&alice, "alias/app-2", &closed).await.unwrap();
    assert_denied(
        update(&both, "alias/app-2", &key).await,
        &denied(
            &user_arn(B, "alias-both"),
            "kms:UpdateAlias",
            Some(&key_arn(B, &closed)),
            Reason::NoResource,
        ),
    );

    // DeleteAlias: the alias and its key.
    assert_denied(
        client(&s, ALIAS_ONLY)
            .delete_alias()
            .alias_name("alias/app-1")
            .send()
            .await,
        &denied(
            &user_arn(B, "alias-only"),
            "kms:DeleteAlias",
            Some(&key_arn(B, &key2)),
            Reason::NoIdentity,
        ),
    );
    assert_denied(
        both.delete_alias().alias_name("alias/app-2").send().await,
        &denied(
            &user_arn(B, "alias-both"),
            "kms:DeleteAlias",
            Some(&key_arn(B, &closed)),
            Reason::NoResource,
        ),
    );
    both.delete_alias()
        .alias_name("alias/app-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        targets(&alice).await,
        [("alias/app-2".to_string(), closed.clone())]
    );
}

const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

/// An authorized DryRun answers DryRunOperationException (before the key state is looked at);
/// an unauthorized one is an AccessDeniedException.
#[tokio::test]
async fn dry_run() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let other = create_key(&alice, None, false).await;
    let ciphertext = encrypt(&alice, &key, &[("app", "x")]).await;

    let all = |c: Client, key: String, ciphertext: Blob, other: String| async move {
        vec![
            (
                "kms:Encrypt",
                c.encrypt()
                    .key_id(&key)
                    .plaintext(Blob::new(PLAINTEXT))
                    .dry_run(true)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(err),
            ),
            (
                "kms:Decrypt",
                c.decrypt()
                    .ciphertext_blob(ciphertext.clone())
                    .encryption_context("app", "x")
                    .dry_run(true)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(err),
            ),
            (
                "kms:GenerateDataKey",
                c.generate_data_key()
                    .key_id(&key)
                    .number_of_bytes(32)
                    .dry_run(true)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(err),
            ),
            (
                "kms:ReEncryptFrom",
                c.re_encrypt()
                    .ciphertext_blob(ciphertext)
                    .source_encryption_context("app", "x")
                    .destination_key_id(&other)
                    .dry_run(true)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(err),
            ),
        ]
    };
    for (action, result) in all(
        alice.clone(),
        key.clone(),
        ciphertext.clone(),
        other.clone(),
    )
    .await
    {
        assert_eq!(
            result,
            Err(("DryRunOperationException".to_string(), DRY_RUN.to_string())),
            "{action}"
        );
    }
    for (action, result) in all(
        client(&s, BOB),
        key.clone(),
        ciphertext.clone(),
        other.clone(),
    )
    .await
    {
        assert_eq!(
            result,
            Err((
                "AccessDeniedException".to_string(),
                denied(
                    &user_arn(B, "bob"),
                    action,
                    Some(&key_arn(B, &key)),
                    Reason::NoIdentity
                )
            )),
            "{action}"
        );
    }

    // Authorization, then DryRun, then key state: a disabled key still answers DryRun.
    alice.disable_key().key_id(&key).send().await.unwrap();
    let r = alice
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .dry_run(true)
        .send()
        .await;
    assert_error(r, "DryRunOperationException", DRY_RUN);
    // Nothing changed: the key is still disabled.
    let meta = alice
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state.unwrap().as_str(), "Disabled");
}

/// Spec §6.3: validation, then key resolution (NotFound even for unauthorized callers), then
/// authorization (AccessDenied before DisabledException), then key state.
#[tokio::test]
async fn order_of_checks() {
    let s = server();
    let alice = client(&s, ALICE);
    let bob = client(&s, BOB);
    let missing = "0d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b";
    assert_error(
        bob.describe_key().key_id(missing).send().await,
        "NotFoundException",
        &format!("Key 'arn:aws:kms:us-east-1:111122223333:key/{missing}' does not exist"),
    );
    assert_error(
        bob.encrypt()
            .key_id("alias/missing")
            .plaintext(Blob::new(PLAINTEXT))
            .send()
            .await,
        "NotFoundException",
        "Alias arn:aws:kms:us-east-1:111122223333:alias/missing is not found.",
    );
    assert_error(
        bob.disable_key().key_id(missing).send().await,
        "NotFoundException",
        &format!("Key '{}' does not exist", key_arn(B, missing)),
    );

    let key = create_key(&alice, None, false).await;
    alice.disable_key().key_id(&key).send().await.unwrap();
    let encrypt_with = |c: &Client, len: usize| {
        c.encrypt()
            .key_id(&key)
            .plaintext(Blob::new(vec![7u8; len]))
            .send()
    };
    assert_denied(
        encrypt_with(&bob, 16).await,
        &denied(
            &user_arn(B, "bob"),
            "kms:Encrypt",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );
    assert_error(
        encrypt_with(&alice, 16).await,
        "DisabledException",
        &format!("{} is disabled.", key_arn(B, &key)),
    );
    // Validation comes before everything else.
    let (code, message) = err(encrypt_with(&bob, 4097).await.unwrap_err());
    assert_eq!(code, "ValidationException");
    assert!(message.contains("'plaintext'"), "{message}");
}

/// ReEncrypt needs both checks; the first failing one is reported (ReEncryptTo on the
/// destination here), and kms:ReEncryptOnSameKey is available to both.
#[tokio::test]
async fn re_encrypt_reports_the_failing_check() {
    let toml = Toml::new()
        .account(B, ROOT)
        .user("alice", ALICE, &[], &[admin()])
        .user(
            "mover",
            "AKB_MOVER",
            &[],
            &[
                allow(json!(["kms:Encrypt", "kms:ReEncrypt*"]), "*"),
                deny_if(
                    "kms:ReEncrypt*",
                    "*",
                    json!({"Bool": {"kms:ReEncryptOnSameKey": true}}),
                ),
            ],
        )
        .build();
    let s = Server::start_with_config(&toml);
    let alice = client(&s, ALICE);
    let source = create_key(&alice, None, false).await;
    let open_dest = create_key(&alice, None, false).await;
    let closed_dest = create_key(
        &alice,
        Some(&key_policy(vec![json!({
            "Effect": "Allow",
            "Principal": {"AWS": user_arn(B, "alice")},
            "Action": "kms:*",
            "Resource": "*"
        })])),
        false,
    )
    .await;
    let mover = client(&s, "AKB_MOVER");
    let who = user_arn(B, "mover");
    let ciphertext = encrypt(&mover, &source, &[]).await;
    let re_encrypt = |to: &str| {
        mover
            .re_encrypt()
            .ciphertext_blob(ciphertext.clone())
            .destination_key_id(to)
            .send()
    };
    re_encrypt(&open_dest).await.unwrap();
    assert_denied(
        re_encrypt(&closed_dest).await,
        &denied(
            &who,
            "kms:ReEncryptTo",
            Some(&key_arn(B, &closed_dest)),
            Reason::NoResource,
        ),
    );
    assert_denied(
        re_encrypt(&source).await,
        &denied(
            &who,
            "kms:ReEncryptFrom",
            Some(&key_arn(B, &source)),
            Reason::DenyIdentity,
        ),
    );
}

/// Decrypt with `DryRunModifiers: ["IGNORE_CIPHERTEXT"]` authorizes without looking at the
/// ciphertext (spec §6.3). The SDK has no such member yet: it is added to the JSON body before
/// signing.
#[tokio::test]
async fn dry_run_ignoring_the_ciphertext() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let decrypt = |c: &Client| {
        c.decrypt()
            .key_id(&key)
            .ciphertext_blob(Blob::new(b"not a ciphertext".to_vec()))
            .dry_run(true)
            .customize()
            .mutate_request(|request| {
                let body = request.body().bytes().expect("in-memory body");
                let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
                json["DryRunModifiers"] = json!(["IGNORE_CIPHERTEXT"]);
                let text = json.to_string();
                request
                    .headers_mut()
                    .insert("content-length", text.len().to_string());
                *request.body_mut() = text.into();
            })
            .send()
    };
    assert_error(decrypt(&alice).await, "DryRunOperationException", DRY_RUN);
    assert_denied(
        decrypt(&client(&s, BOB)).await,
        &denied(
            &user_arn(B, "bob"),
            "kms:Decrypt",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );
}
