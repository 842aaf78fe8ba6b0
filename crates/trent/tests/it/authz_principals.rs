//! Principal matching through the wire (spec §1.1, §1.2, §4.2): IAM paths, role ARNs matching
//! their sessions, session ARNs, NotPrincipal, Principal "*" across accounts, aws:PrincipalArn,
//! aws:SourceIp and the ${aws:username} policy variable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use serde_json::{Value, json};

use crate::support::Server;
use crate::support::authz::*;

const ALICE: &str = "AKB_ALICE"; // kms:* on *
const DAVE: &str = "AKB_DAVE"; // kms:* on *
const CAROL: &str = "AKB_CAROL"; // user /team/carol, no policies
const DEPLOY: &str = "AKB_DEPLOY_S"; // role /ops/Deploy, session s, no policies
const LOCAL: &str = "AKB_LOCAL"; // Encrypt from 127.0.0.0/8
const REMOTE: &str = "AKB_REMOTE"; // Encrypt from 10.0.0.0/8
const A_OPS: &str = "AKA_OPS"; // account A: kms:* on *
const A_NONE: &str = "AKA_NONE"; // account A: no policies

fn server() -> Server {
    let from = |cidr: &str| {
        allow_if(
            "kms:Encrypt",
            "*",
            json!({"IpAddress": {"aws:SourceIp": cidr}}),
        )
    };
    let toml = Toml::new()
        .account(B, "AKB_ROOT")
        .user("alice", ALICE, &[], &[admin()])
        .user("dave", DAVE, &[], &[admin()])
        .user_at("/team/", "carol", CAROL, &[], &[])
        .role_at("/ops/", "Deploy", "s", DEPLOY, &[])
        .user("local", LOCAL, &[], &[from("127.0.0.0/8")])
        .user("remote", REMOTE, &[], &[from("10.0.0.0/8")])
        .account(A, "AKA_ROOT")
        .user("ops", A_OPS, &[], &[admin()])
        .user("none", A_NONE, &[], &[])
        .build();
    Server::start_with_config(&toml)
}

async fn try_encrypt(c: &Client, key: &str, ec: &[(&str, &str)]) -> Result<(), (String, String)> {
    let mut req = c.encrypt().key_id(key).plaintext(Blob::new(b"data"));
    for (k, v) in ec {
        req = req.encryption_context(*k, *v);
    }
    req.send().await.map(|_| ()).map_err(err)
}

fn encrypt_denied(caller: &str, key: &str, account: &str, reason: Reason) -> (String, String) {
    (
        "AccessDeniedException".to_string(),
        denied(caller, "kms:Encrypt", Some(&key_arn(account, key)), reason),
    )
}

/// A key of B whose policy is the root statement plus `statement`.
async fn key_with(alice: &Client, statement: Value) -> String {
    create_key(
        alice,
        Some(&key_policy(vec![root_statement(B), statement])),
        false,
    )
    .await
}

fn allow_encrypt(principal: Value) -> Value {
    json!({"Effect": "Allow", "Principal": principal, "Action": "kms:Encrypt", "Resource": "*"})
}

/// Users and roles with IAM paths: the role ARN (with its path) matches the role's sessions,
/// whose own ARN carries no path; a session ARN matches only that session.
#[tokio::test]
async fn paths_roles_and_sessions() {
    let s = server();
    let alice = client(&s, ALICE);
    let deploy = client(&s, DEPLOY);
    let carol = client(&s, CAROL);
    let session = session_arn(B, "Deploy", "s");
    let carol_arn = format!("arn:aws:iam::{B}:user/team/carol");

    let by_role = key_with(
        &alice,
        allow_encrypt(json!({"AWS": format!("arn:aws:iam::{B}:role/ops/Deploy")})),
    )
    .await;
    try_encrypt(&deploy, &by_role, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&carol, &by_role, &[]).await.unwrap_err(),
        encrypt_denied(&carol_arn, &by_role, B, Reason::NoIdentity)
    );

    let by_user = key_with(&alice, allow_encrypt(json!({"AWS": carol_arn}))).await;
    try_encrypt(&carol, &by_user, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&deploy, &by_user, &[]).await.unwrap_err(),
        (
            "AccessDeniedException".to_string(),
            format!(
                "User: arn:aws:sts::111122223333:assumed-role/Deploy/s is not authorized to \
                 perform: kms:Encrypt on resource: {} because no identity-based policy allows \
                 the kms:Encrypt action",
                key_arn(B, &by_user)
            )
        )
    );

    let by_session = key_with(&alice, allow_encrypt(json!({"AWS": session}))).await;
    try_encrypt(&deploy, &by_session, &[]).await.unwrap();

    // The role without its path, or the user without it, is not a principal that exists.
    for wrong in [
        format!("arn:aws:iam::{B}:role/Deploy"),
        user_arn(B, "carol"),
    ] {
        let r = alice
            .create_key()
            .policy(key_policy(vec![
                root_statement(B),
                allow_encrypt(json!({"AWS": wrong})),
            ]))
            .send()
            .await;
        assert_error(
            r,
            "MalformedPolicyDocumentException",
            "Policy contains a statement with one or more invalid principals.",
        );
    }
}

/// aws:PrincipalArn is the role ARN for sessions (with its path).
#[tokio::test]
async fn principal_arn_condition() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(
        &alice,
        Some(&key_policy(vec![json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{B}:role/ops/*")}}
        })])),
        true,
    )
    .await;
    try_encrypt(&client(&s, DEPLOY), &key, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&alice, &key, &[]).await.unwrap_err(),
        encrypt_denied(&user_arn(B, "alice"), &key, B, Reason::NoResource)
    );
}

/// A Deny with NotPrincipal applies to everyone but the listed principals. As in IAM, a caller
/// is spared only if every link of its identity is listed: a user needs its account too.
#[tokio::test]
async fn not_principal_deny() {
    let s = server();
    let alice = client(&s, ALICE);
    let deny_all_but = |spared: Value| {
        json!({
            "Effect": "Deny",
            "NotPrincipal": {"AWS": spared},
            "Action": "kms:Encrypt",
            "Resource": "*"
        })
    };
    let key = key_with(
        &alice,
        deny_all_but(json!([user_arn(B, "alice"), root_arn(B)])),
    )
    .await;
    try_encrypt(&alice, &key, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&client(&s, DAVE), &key, &[]).await.unwrap_err(),
        encrypt_denied(&user_arn(B, "dave"), &key, B, Reason::DenyResource)
    );

    // The user alone: its account is not spared, so the Deny still applies to it.
    let key = key_with(&alice, deny_all_but(json!(user_arn(B, "alice")))).await;
    assert_eq!(
        try_encrypt(&alice, &key, &[]).await.unwrap_err(),
        encrypt_denied(&user_arn(B, "alice"), &key, B, Reason::DenyResource)
    );
}

/// Principal "*": the key's own account needs nothing more, other accounts need their IAM.
#[tokio::test]
async fn principal_star_across_accounts() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = key_with(&alice, allow_encrypt(json!("*"))).await;
    let arn = key_arn(B, &key);
    try_encrypt(&client(&s, CAROL), &key, &[]).await.unwrap();
    try_encrypt(&client(&s, A_OPS), &arn, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&client(&s, A_NONE), &arn, &[])
            .await
            .unwrap_err(),
        encrypt_denied(&user_arn(A, "none"), &key, B, Reason::NoIdentity)
    );
}

/// aws:SourceIp is the client's address (the tests connect from 127.0.0.1).
#[tokio::test]
async fn source_ip_condition() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    try_encrypt(&client(&s, LOCAL), &key, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&client(&s, REMOTE), &key, &[])
            .await
            .unwrap_err(),
        encrypt_denied(&user_arn(B, "remote"), &key, B, Reason::NoIdentity)
    );
}

/// ${aws:username} in a key-policy condition: the user's name; absent for role sessions.
#[tokio::test]
async fn username_variable() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(
        &alice,
        Some(&key_policy(vec![json!({
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:EncryptionContext:user": "${aws:username}",
                "kms:CallerAccount": B
            }}
        })])),
        true,
    )
    .await;
    let carol = client(&s, CAROL);
    try_encrypt(&carol, &key, &[("user", "carol")])
        .await
        .unwrap();
    let carol_arn = format!("arn:aws:iam::{B}:user/team/carol");
    assert_eq!(
        try_encrypt(&carol, &key, &[("user", "alice")])
            .await
            .unwrap_err(),
        encrypt_denied(&carol_arn, &key, B, Reason::NoResource)
    );
    assert_eq!(
        try_encrypt(&client(&s, DEPLOY), &key, &[("user", "s")])
            .await
            .unwrap_err(),
        encrypt_denied(&session_arn(B, "Deploy", "s"), &key, B, Reason::NoResource)
    );
}
