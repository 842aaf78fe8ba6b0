//! `trent serve --authz enforce|audit|off`: audit mode decides, lets denied requests through and
//! marks their responses with `x-trent-authz-overridden: AccessDenied`; off allows everything
//! (authentication still applies); enforce (the default) returns the denial.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::primitives::Blob;
use serde_json::json;

use crate::support::Server;
use crate::support::authz::*;

const ALICE: &str = "AKB_ALICE"; // kms:* on *
const BOB: &str = "AKB_BOB"; // no policies

fn toml() -> String {
    Toml::new()
        .account(B, "AKB_ROOT")
        .user("alice", ALICE, &[], &[admin()])
        .user("bob", BOB, &[], &[])
        .role("Nobody", "s", "AKB_NOBODY_S", &[])
        .build()
}

/// A key policy that lets in only role Nobody, whose session nobody uses.
fn closed_policy() -> String {
    key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{B}:role/Nobody")},
        "Action": "kms:*",
        "Resource": "*"
    })])
}

#[tokio::test]
async fn audit_mode_allows_and_marks_denied_requests() {
    let s = Server::start_with_args(&toml(), &["--authz", "audit"]);
    let (alice, alice_seen) = client_with_headers(&s, ALICE);
    let (bob, bob_seen) = client_with_headers(&s, BOB);

    // An allowed request carries no mark.
    let key = create_key(&alice, None, false).await;
    assert_eq!(alice_seen.last(), None);

    // Denied by IAM (resource-less) and by delegation: both go through, marked.
    let keys = bob.list_keys().send().await.unwrap().keys.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(bob_seen.last().as_deref(), Some("AccessDenied"));
    let ciphertext = bob
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"audited"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    assert_eq!(bob_seen.last().as_deref(), Some("AccessDenied"));
    let out = alice
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), b"audited");
    assert_eq!(alice_seen.last(), None);

    // A denied write really happens.
    bob.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(bob_seen.last().as_deref(), Some("AccessDenied"));
    let meta = alice
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state.unwrap().as_str(), "Disabled");

    // Later checks still apply (and the mark says authorization was overridden on the way).
    let r = bob
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x"))
        .send()
        .await;
    assert_error(
        r,
        "DisabledException",
        &format!("{} is disabled.", key_arn(B, &key)),
    );
    assert_eq!(bob_seen.last().as_deref(), Some("AccessDenied"));
    // Errors before authorization carry no mark.
    let r = bob.describe_key().key_id("alias/missing").send().await;
    assert_error(
        r,
        "NotFoundException",
        "Alias arn:aws:kms:us-east-1:111122223333:alias/missing is not found.",
    );
    assert_eq!(bob_seen.last(), None);

    // Even the key policy's denial is overridden.
    let closed = create_key(&alice, Some(&closed_policy()), true).await;
    alice.describe_key().key_id(&closed).send().await.unwrap();
    assert_eq!(alice_seen.last().as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn off_mode_allows_everything_unmarked() {
    let s = Server::start_with_args(&toml(), &["--authz", "off"]);
    let (alice, alice_seen) = client_with_headers(&s, ALICE);
    let (bob, bob_seen) = client_with_headers(&s, BOB);

    let key = create_key(&bob, None, false).await;
    assert_eq!(bob_seen.last(), None);
    assert_eq!(bob.list_keys().send().await.unwrap().keys.unwrap().len(), 1);
    encrypt(&bob, &key, &[]).await;
    assert_eq!(bob_seen.last(), None);

    // The lockout check validates the policy document, so it still runs (a key created now
    // must stay manageable when enforcement is switched on) ...
    let r = alice.create_key().policy(closed_policy()).send().await;
    assert_error(
        r,
        "MalformedPolicyDocumentException",
        "The new key policy will not allow you to update the key policy in the future.",
    );
    // ... but a key whose policy names nobody who calls is usable and manageable by anyone.
    let closed = create_key(&alice, Some(&closed_policy()), true).await;
    encrypt(&bob, &closed, &[]).await;
    bob.put_key_policy()
        .key_id(&closed)
        .policy(key_policy(vec![json!({
            "Effect": "Allow",
            "Principal": {"AWS": user_arn(B, "bob")},
            "Action": "kms:*",
            "Resource": "*"
        })]))
        .send()
        .await
        .unwrap();
    assert_eq!(bob_seen.last(), None);
    assert_eq!(alice_seen.last(), None);

    // Authentication still applies.
    let r = s
        .kms_as(BOB, "wrong secret", REGION)
        .list_keys()
        .send()
        .await;
    let (code, _) = err(r.unwrap_err());
    assert_eq!(code, "InvalidSignatureException");
}

#[tokio::test]
async fn enforce_is_the_default() {
    let s = Server::start_with_config(&toml());
    let (bob, bob_seen) = client_with_headers(&s, BOB);
    let message = denied(
        &user_arn(B, "bob"),
        "kms:ListKeys",
        None,
        Reason::NoIdentity,
    );
    assert_denied(bob.list_keys().send().await, &message);
    // On the wire (spec §7.1): HTTP 400, and AccessDeniedException's message member is
    // "Message" (capitalised), unlike the modeled KMS exceptions.
    let seen = bob_seen.last_response();
    assert_eq!(seen.status, 400);
    assert_eq!(seen.header("x-trent-authz-overridden"), None);
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({"__type": "AccessDeniedException", "Message": message})
    );

    let s = Server::start_with_args(&toml(), &["--authz", "enforce"]);
    let (bob, bob_seen) = client_with_headers(&s, BOB);
    assert_denied(
        bob.create_key().send().await,
        &denied(
            &user_arn(B, "bob"),
            "kms:CreateKey",
            None,
            Reason::NoIdentity,
        ),
    );
    assert_eq!(bob_seen.last(), None);
}
