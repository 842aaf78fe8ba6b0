//! Key policies through the wire (spec §2.3, §7.2, §8, §11 rows 1–5 and 13–18): the default
//! policy, delegation to IAM, direct principals, explicit denies from either side, the lockout
//! check, and the key-policy APIs. Every caller is a config-declared user, role session or root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::Tag;
use serde_json::json;

use crate::support::Server;
use crate::support::authz::*;

const ALICE: &str = "AKB_ALICE"; // user alice: kms:* on *
const BOB: &str = "AKB_BOB"; // user bob: no policies
const DAVE: &str = "AKB_DAVE"; // user dave: kms:* but an explicit Deny kms:Decrypt
const ERIN: &str = "AKB_ERIN"; // user erin: no policies (named directly by some key policies)
const R_S: &str = "AKB_R_S"; // role R, session s: no policies
const R2_S: &str = "AKB_R2_S"; // role R2, session s: Allow kms:Decrypt on the account's keys
const CREATOR: &str = "AKB_CREATOR_S"; // role Creator, session s: Allow kms:CreateKey only
const ROOT: &str = "AKB_ROOT";

fn server() -> Server {
    let toml = Toml::new()
        .account(B, ROOT)
        .user("alice", ALICE, &[], &[admin()])
        .user("bob", BOB, &[], &[])
        .user("dave", DAVE, &[], &[admin(), deny("kms:Decrypt", "*")])
        .user("erin", ERIN, &[], &[])
        .role("R", "s", R_S, &[])
        .role(
            "R2",
            "s",
            R2_S,
            &[allow("kms:Decrypt", format!("arn:aws:kms:*:{B}:key/*"))],
        )
        .role("Creator", "s", CREATOR, &[allow("kms:CreateKey", "*")])
        .build();
    Server::start_with_config(&toml)
}

const PLAINTEXT: &[u8] = b"secret data";

/// Rows 1–2: the default key policy delegates to IAM; without an IAM allow a session is denied
/// with the identity-based reason, with one it decrypts.
#[tokio::test]
async fn default_policy_delegates_to_iam() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let ciphertext = encrypt(&alice, &key, &[]).await;

    let r = client(&s, R_S)
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:sts::111122223333:assumed-role/R/s is not authorized to perform: \
             kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/{key} because no \
             identity-based policy allows the kms:Decrypt action"
        ),
    );

    let out = client(&s, R2_S)
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);
    assert_eq!(out.key_id.as_deref(), Some(key_arn(B, &key).as_str()));

    // IAM allows Decrypt only: Encrypt on the same key is still denied.
    let r = client(&s, R2_S)
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &session_arn(B, "R2", "s"),
            "kms:Encrypt",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );
}

/// Rows 3–4: a key policy naming only role R (no root statement). Its sessions need no IAM
/// policy; another role's session, a user with kms:* in IAM, and the account root are all
/// denied because no resource-based policy allows them.
#[tokio::test]
async fn role_principal_without_root_delegation() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let ciphertext = encrypt(&alice, &key, &[]).await;
    let policy = key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{B}:role/R")},
        "Action": "kms:Decrypt",
        "Resource": "*"
    })]);
    alice
        .put_key_policy()
        .key_id(&key)
        .policy(&policy)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .unwrap();

    let out = client(&s, R_S)
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);

    let arn = key_arn(B, &key);
    let r = client(&s, R2_S)
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:sts::111122223333:assumed-role/R2/s is not authorized to perform: \
             kms:Decrypt on resource: {arn} because no resource-based policy allows the \
             kms:Decrypt action"
        ),
    );
    // An IAM allow alone is not enough for a user of the key's own account.
    let r = alice
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "alice"),
            "kms:Decrypt",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    // The root user is bound by the key policy too: it can neither use nor manage the key.
    let root = client(&s, ROOT);
    let r = root.decrypt().ciphertext_blob(ciphertext).send().await;
    assert_denied(
        r,
        &denied(&root_arn(B), "kms:Decrypt", Some(&arn), Reason::NoResource),
    );
    let r = root
        .put_key_policy()
        .key_id(&key)
        .policy(key_policy(vec![root_statement(B)]))
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &root_arn(B),
            "kms:PutKeyPolicy",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    let r = root.get_key_policy().key_id(&key).send().await;
    assert_denied(
        r,
        &denied(
            &root_arn(B),
            "kms:GetKeyPolicy",
            Some(&arn),
            Reason::NoResource,
        ),
    );
}

/// Row 5: a Deny with a negated operator applies when the condition key is missing.
#[tokio::test]
async fn key_policy_deny_on_missing_encryption_context() {
    let s = server();
    let alice = client(&s, ALICE);
    let policy = key_policy(vec![
        root_statement(B),
        json!({
            "Sid": "Require app=x",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:EncryptionContext:app": "x"}}
        }),
    ]);
    let key = create_key(&alice, Some(&policy), false).await;
    let arn = key_arn(B, &key);
    let bare = encrypt(&alice, &key, &[]).await;
    let with_x = encrypt(&alice, &key, &[("app", "x")]).await;
    let with_y = encrypt(&alice, &key, &[("app", "y")]).await;

    let r = alice.decrypt().ciphertext_blob(bare).send().await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: \
             kms:Decrypt on resource: {arn} with an explicit deny in a resource-based policy"
        ),
    );
    let r = alice
        .decrypt()
        .ciphertext_blob(with_y)
        .encryption_context("app", "y")
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "alice"),
            "kms:Decrypt",
            Some(&arn),
            Reason::DenyResource,
        ),
    );
    let out = alice
        .decrypt()
        .ciphertext_blob(with_x)
        .encryption_context("app", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);
}

/// An explicit deny in an identity policy beats a key policy that names the user directly.
#[tokio::test]
async fn identity_policy_deny_beats_key_policy_allow() {
    let s = server();
    let alice = client(&s, ALICE);
    let policy = key_policy(vec![
        root_statement(B),
        json!({
            "Effect": "Allow",
            "Principal": {"AWS": [user_arn(B, "dave"), user_arn(B, "erin")]},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*"
        }),
    ]);
    let key = create_key(&alice, Some(&policy), false).await;
    let ciphertext = encrypt(&alice, &key, &[]).await;

    // erin has no identity policy at all: the direct key-policy allow is enough.
    let out = client(&s, ERIN)
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);

    let dave = client(&s, DAVE);
    let r = dave.decrypt().ciphertext_blob(ciphertext).send().await;
    assert_denied(
        r,
        &format!(
            "User: arn:aws:iam::111122223333:user/dave is not authorized to perform: \
             kms:Decrypt on resource: {} with an explicit deny in an identity-based policy",
            key_arn(B, &key)
        ),
    );
    // The deny covers Decrypt only.
    dave.describe_key().key_id(&key).send().await.unwrap();
}

/// Row 13 and spec §8.2: the lockout check runs the full decision (key policy + IAM) for a
/// later PutKeyPolicy; BypassPolicyLockoutSafetyCheck skips it, after which even the account
/// root is bound by the new policy.
#[tokio::test]
async fn lockout_safety_check() {
    let s = server();
    let alice = client(&s, ALICE);
    let encrypt_only = key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": root_arn(B)},
        "Action": "kms:Encrypt",
        "Resource": "*"
    })]);
    let lockout = "The new key policy will not allow you to update the key policy in the future.";
    let r = alice.create_key().policy(&encrypt_only).send().await;
    assert_error(r, "MalformedPolicyDocumentException", lockout);
    let keys = alice.list_keys().send().await.unwrap().keys.unwrap();
    assert!(keys.is_empty(), "a refused CreateKey created {keys:?}");

    // Delegation needs IAM: a caller allowed only kms:CreateKey cannot pass the check with a
    // policy that delegates kms:* to the account ...
    let creator = client(&s, CREATOR);
    let r = creator
        .create_key()
        .policy(key_policy(vec![root_statement(B)]))
        .send()
        .await;
    assert_error(r, "MalformedPolicyDocumentException", lockout);
    // ... but passes with one that names its role directly.
    let direct = key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{B}:role/Creator")},
        "Action": "kms:*",
        "Resource": "*"
    })]);
    create_key(&creator, Some(&direct), false).await;

    // Bypassed: the key exists; the root user may encrypt (the account statement delegates
    // kms:Encrypt and root passes IAM implicitly) but may not manage the policy.
    let key = create_key(&alice, Some(&encrypt_only), true).await;
    let root = client(&s, ROOT);
    encrypt(&root, &key, &[]).await;
    let r = root
        .put_key_policy()
        .key_id(&key)
        .policy(key_policy(vec![root_statement(B)]))
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &root_arn(B),
            "kms:PutKeyPolicy",
            Some(&key_arn(B, &key)),
            Reason::NoResource,
        ),
    );

    // PutKeyPolicy runs the same check against the candidate policy.
    let key = create_key(&alice, None, false).await;
    let r = alice
        .put_key_policy()
        .key_id(&key)
        .policy(&encrypt_only)
        .send()
        .await;
    assert_error(r, "MalformedPolicyDocumentException", lockout);
    let got = alice.get_key_policy().key_id(&key).send().await.unwrap();
    assert_eq!(got.policy.as_deref(), Some(default_policy_text(B).as_str()));
}

/// Row 14: CreateKey with Tags also needs kms:TagResource, an IAM-only action: the message has
/// no "on resource" part.
#[tokio::test]
async fn create_key_with_tags_needs_tag_resource() {
    let s = server();
    let creator = client(&s, CREATOR);
    let r = creator
        .create_key()
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("blue")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_denied(
        r,
        "User: arn:aws:sts::111122223333:assumed-role/Creator/s is not authorized to perform: \
         kms:TagResource because no identity-based policy allows the kms:TagResource action",
    );
    // Nothing was created; without tags the same caller succeeds.
    let alice = client(&s, ALICE);
    assert!(
        alice
            .list_keys()
            .send()
            .await
            .unwrap()
            .keys
            .unwrap()
            .is_empty()
    );
    create_key(&creator, None, false).await;
    assert_eq!(
        alice.list_keys().send().await.unwrap().keys.unwrap().len(),
        1
    );
}

/// Rows 15–18: an authorized caller gets key-state, not-found and incorrect-key errors.
#[tokio::test]
async fn key_state_and_lookup_errors_for_authorized_callers() {
    let s = server();
    let alice = client(&s, ALICE);

    // 15: Encrypt on a disabled key.
    let disabled = create_key(&alice, None, false).await;
    alice.disable_key().key_id(&disabled).send().await.unwrap();
    let r = alice
        .encrypt()
        .key_id(&disabled)
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await;
    assert_error(
        r,
        "DisabledException",
        &format!("arn:aws:kms:us-east-1:111122223333:key/{disabled} is disabled."),
    );

    // 16: GenerateDataKey on a key pending deletion.
    let pending = create_key(&alice, None, false).await;
    alice
        .schedule_key_deletion()
        .key_id(&pending)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let r = alice
        .generate_data_key()
        .key_id(&pending)
        .number_of_bytes(32)
        .send()
        .await;
    assert_error(
        r,
        "KMSInvalidStateException",
        &format!("{} is pending deletion.", key_arn(B, &pending)),
    );

    // 17: a malformed key ID.
    let r = alice.describe_key().key_id("fake-key-id").send().await;
    assert_error(r, "NotFoundException", "Invalid keyId 'fake-key-id'");

    // 18: Decrypt naming another key than the ciphertext's.
    let one = create_key(&alice, None, false).await;
    let other = create_key(&alice, None, false).await;
    let ciphertext = encrypt(&alice, &one, &[]).await;
    let r = alice
        .decrypt()
        .key_id(&other)
        .ciphertext_blob(ciphertext)
        .send()
        .await;
    assert_error(
        r,
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
    );
}

async fn policy_of(c: &aws_sdk_kms::Client, key: &str) -> String {
    c.get_key_policy()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
}

fn default_policy_text(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

/// Spec §8.1 and §3.1: the default policy text, a supplied policy byte for byte, the single
/// policy name, and PutKeyPolicy refusals that leave the stored policy untouched.
#[tokio::test]
async fn key_policy_apis() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;

    let got = alice.get_key_policy().key_id(&key).send().await.unwrap();
    assert_eq!(got.policy.as_deref(), Some(default_policy_text(B).as_str()));
    let names = alice.list_key_policies().key_id(&key).send().await.unwrap();
    assert_eq!(names.policy_names(), ["default"]);
    assert!(!names.truncated);

    // Supplied at creation, with odd spacing and member order: returned exactly.
    let odd = format!(
        "{{\"Statement\":[\n\t{{ \"Resource\":\"*\",  \"Action\" : \"kms:*\",\"Effect\":\"Allow\",\
         \"Principal\":{{\"AWS\":\"{B}\"}} }}\r\n],\"Version\":\"2012-10-17\"}}"
    );
    let key2 = create_key(&alice, Some(&odd), false).await;
    let got = alice.get_key_policy().key_id(&key2).send().await.unwrap();
    assert_eq!(got.policy.as_deref(), Some(odd.as_str()));

    // Put, then read back byte for byte.
    let put = format!("{}  \n", key_policy(vec![root_statement(B)]));
    alice
        .put_key_policy()
        .key_id(&key)
        .policy(&put)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_of(&alice, &key).await, put);

    // Malformed JSON.
    let r = alice
        .put_key_policy()
        .key_id(&key)
        .policy("{\"Statement\": [")
        .send()
        .await;
    let (code, _) = err(r.unwrap_err());
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert_eq!(policy_of(&alice, &key).await, put);

    // A principal that does not exist in an account Trent knows.
    for ghost in [user_arn(B, "ghost"), format!("arn:aws:iam::{B}:role/ghost")] {
        let r = alice
            .put_key_policy()
            .key_id(&key)
            .policy(key_policy(vec![
                root_statement(B),
                json!({"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "kms:Decrypt", "Resource": "*"}),
            ]))
            .send()
            .await;
        assert_error(
            r,
            "MalformedPolicyDocumentException",
            "Policy contains a statement with one or more invalid principals.",
        );
        assert_eq!(policy_of(&alice, &key).await, put);
    }

    // Every key-policy statement needs a principal.
    let r = alice
        .put_key_policy()
        .key_id(&key)
        .policy(key_policy(vec![
            root_statement(B),
            json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}),
        ]))
        .send()
        .await;
    let (code, _) = err(r.unwrap_err());
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert_eq!(policy_of(&alice, &key).await, put);

    // ForAllValues on the single-valued kms:EncryptionContext:<k> (spec §3.1).
    let r = alice
        .put_key_policy()
        .key_id(&key)
        .policy(key_policy(vec![
            root_statement(B),
            json!({
                "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContext:app": "x"}}
            }),
        ]))
        .send()
        .await;
    assert_error(
        r,
        "MalformedPolicyDocumentException",
        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with \
         a single-valued condition key matches requests without the specified encryption \
         context or with an unspecified encryption context. To fix, remove ForAllValues.",
    );
    assert_eq!(policy_of(&alice, &key).await, put);

    // Accepted: a statement without Resource (ineffective), and principals of an account
    // Trent does not hold (taken on trust).
    let accepted = key_policy(vec![
        root_statement(B),
        json!({"Effect": "Allow", "Principal": {"AWS": user_arn(B, "bob")}, "Action": "kms:Decrypt"}),
        json!({
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999988887777:user/elsewhere"},
            "Action": "kms:Decrypt",
            "Resource": "*"
        }),
    ]);
    alice
        .put_key_policy()
        .key_id(&key)
        .policy(&accepted)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_of(&alice, &key).await, accepted);
    let ciphertext = encrypt(&alice, &key, &[]).await;
    let r = client(&s, BOB)
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "bob"),
            "kms:Decrypt",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );

    // Size: exactly 32 KB is accepted, one byte more is a LimitExceededException.
    let base = key_policy(vec![root_statement(B)]);
    let padded = |len: usize| format!("{base}{}", " ".repeat(len - base.len()));
    let r = alice
        .put_key_policy()
        .key_id(&key)
        .policy(padded(32 * 1024 + 1))
        .send()
        .await;
    assert_error(
        r,
        "LimitExceededException",
        "The key policy exceeds the maximum size of 32768 bytes.",
    );
    assert_eq!(policy_of(&alice, &key).await, accepted);
    alice
        .put_key_policy()
        .key_id(&key)
        .policy(padded(32 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(policy_of(&alice, &key).await, padded(32 * 1024));

    // bob (no IAM) cannot read the policy of a default-policy key.
    let r = client(&s, BOB).get_key_policy().key_id(&key2).send().await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "bob"),
            "kms:GetKeyPolicy",
            Some(&key_arn(B, &key2)),
            Reason::NoIdentity,
        ),
    );
}

/// Spec §2.3 note 2: delegation to IAM is bounded by the key policy's account statement, its
/// actions and its conditions; and (§2.4) when both sides deny, the key policy is reported.
#[tokio::test]
async fn delegation_is_bounded_by_the_key_policy() {
    let s = server();
    let alice = client(&s, ALICE);
    let policy = key_policy(vec![
        json!({
            "Sid": "Admin",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn(B, "alice")},
            "Action": "kms:*",
            "Resource": "*"
        }),
        json!({
            "Sid": "Delegate Encrypt with app=x",
            "Effect": "Allow",
            "Principal": {"AWS": B},
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:app": "x"}}
        }),
        json!({
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:app": "x"}}
        }),
    ]);
    let key = create_key(&alice, Some(&policy), false).await;
    let arn = key_arn(B, &key);

    // dave has kms:* in IAM (and an IAM Deny on Decrypt).
    let dave = client(&s, DAVE);
    encrypt(&dave, &key, &[("app", "x")]).await;
    let r = dave
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .encryption_context("app", "y")
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "dave"),
            "kms:Encrypt",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    let r = dave.describe_key().key_id(&key).send().await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "dave"),
            "kms:DescribeKey",
            Some(&arn),
            Reason::NoResource,
        ),
    );
    // Both the key policy and dave's identity policy deny Decrypt: resource-based is named.
    let ciphertext = encrypt(&alice, &key, &[("app", "x")]).await;
    let r = dave
        .decrypt()
        .ciphertext_blob(ciphertext)
        .encryption_context("app", "x")
        .send()
        .await;
    assert_denied(
        r,
        &denied(
            &user_arn(B, "dave"),
            "kms:Decrypt",
            Some(&arn),
            Reason::DenyResource,
        ),
    );
}
