//! Condition keys through the wire (spec §3.4, §4): encryption context, kms:RequestAlias,
//! kms:CallerAccount, aws:PrincipalTag, kms:ViaService (absent on direct calls),
//! aws:ResourceTag (IAM policies only), kms:EncryptionAlgorithm, key properties on CreateKey,
//! aws:TagKeys, kms:BypassPolicyLockoutSafetyCheck, the deletion window and kms:ResourceAliases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{EncryptionAlgorithmSpec, Tag};
use serde_json::json;

use crate::support::Server;
use crate::support::authz::*;
use crate::support::kms::tag;

const ALICE: &str = "AKB_ALICE"; // kms:* on *
const BOB: &str = "AKB_BOB"; // no policies
const EC_APP: &str = "AKB_EC_APP"; // Encrypt/Decrypt if kms:EncryptionContext:app = x
const EC_KEYS: &str = "AKB_EC_KEYS"; // Encrypt/Decrypt if EC keys ⊆ {app, env}
const EC_CASE: &str = "AKB_EC_CASE"; // Encrypt if kms:EncryptionContext:APP = x (key case)
const EC_STRICT: &str = "AKB_EC_STRICT"; // Encrypt if app = x and EC keys ⊆ {app}, case-exact
const EC_VAR: &str = "AKB_EC_VAR"; // Encrypt if EC team = ${aws:PrincipalTag/team}; team=blue
const BLUE: &str = "AKB_BLUE"; // tag team=blue, no policies
const RED: &str = "AKB_RED"; // tag team=red, no policies
const ALIAS: &str = "AKB_ALIAS"; // Encrypt/DescribeKey if kms:RequestAlias = alias/allowed
const RES_TAG: &str = "AKB_RES_TAG"; // Encrypt if aws:ResourceTag/project = apollo
const ALG: &str = "AKB_ALG"; // Encrypt if kms:EncryptionAlgorithm = SYMMETRIC_DEFAULT
const MAKER: &str = "AKB_MAKER"; // CreateKey/ListKeys if kms:KeySpec = SYMMETRIC_DEFAULT
const TAGGER: &str = "AKB_TAGGER"; // kms:*, but Deny tagging with the tag key "owner"
const CAREFUL: &str = "AKB_CAREFUL"; // kms:*, but Deny CreateKey/PutKeyPolicy with the bypass
const DELETER: &str = "AKB_DELETER"; // ScheduleKeyDeletion if the window is >= 14 days
const FINANCE: &str = "AKB_FINANCE"; // Encrypt if the key has the alias alias/finance
const SIGNER: &str = "AKB_SIGNER"; // Sign/Verify with ECDSA_SHA_256 on RAW messages only
const MACER: &str = "AKB_MACER"; // GenerateMac with HMAC_SHA_256 only
const RSA_ENC: &str = "AKB_RSA_ENC"; // Encrypt with RSAES_OAEP_SHA_256 only
const A_OPS: &str = "AKA_OPS"; // account A: kms:* on *
const A_NONE: &str = "AKA_NONE"; // account A: no policies

fn server() -> Server {
    let crypto = json!(["kms:Encrypt", "kms:Decrypt"]);
    let toml = Toml::new()
        .account(B, "AKB_ROOT")
        .user("alice", ALICE, &[], &[admin()])
        .user("bob", BOB, &[], &[])
        .user(
            "ec-app",
            EC_APP,
            &[],
            &[allow_if(
                crypto.clone(),
                "*",
                json!({"StringEquals": {"kms:EncryptionContext:app": "x"}}),
            )],
        )
        .user(
            "ec-keys",
            EC_KEYS,
            &[],
            &[allow_if(
                crypto.clone(),
                "*",
                json!({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app", "env"]}}),
            )],
        )
        .user(
            "ec-case",
            EC_CASE,
            &[],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({"StringEquals": {"kms:EncryptionContext:APP": "x"}}),
            )],
        )
        .user(
            "ec-strict",
            EC_STRICT,
            &[],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({
                    "StringEquals": {"kms:EncryptionContext:app": "x"},
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app"]}
                }),
            )],
        )
        .user(
            "ec-var",
            EC_VAR,
            &[("team", "blue")],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({"StringEquals": {"kms:EncryptionContext:team": "${aws:PrincipalTag/team}"}}),
            )],
        )
        .user("blue", BLUE, &[("team", "blue")], &[])
        .user("red", RED, &[("team", "red")], &[])
        .user(
            "alias-user",
            ALIAS,
            &[],
            &[allow_if(
                json!(["kms:Encrypt", "kms:DescribeKey"]),
                "*",
                json!({"StringEquals": {"kms:RequestAlias": "alias/allowed"}}),
            )],
        )
        .user(
            "res-tag",
            RES_TAG,
            &[],
            &[allow_if(
                "kms:Encrypt",
                format!("arn:aws:kms:us-east-1:{B}:key/*"),
                json!({"StringEquals": {"aws:ResourceTag/project": "apollo"}}),
            )],
        )
        .user(
            "alg",
            ALG,
            &[],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}),
            )],
        )
        .user(
            "maker",
            MAKER,
            &[],
            &[allow_if(
                json!(["kms:CreateKey", "kms:ListKeys"]),
                "*",
                json!({"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}}),
            )],
        )
        .user(
            "tagger",
            TAGGER,
            &[],
            &[
                admin(),
                deny_if(
                    json!(["kms:TagResource", "kms:CreateKey"]),
                    "*",
                    json!({"ForAnyValue:StringEquals": {"aws:TagKeys": "owner"}}),
                ),
            ],
        )
        .user(
            "careful",
            CAREFUL,
            &[],
            &[
                admin(),
                deny_if(
                    json!(["kms:CreateKey", "kms:PutKeyPolicy"]),
                    "*",
                    json!({"Bool": {"kms:BypassPolicyLockoutSafetyCheck": true}}),
                ),
            ],
        )
        .user(
            "deleter",
            DELETER,
            &[],
            &[allow_if(
                "kms:ScheduleKeyDeletion",
                "*",
                json!({"NumericGreaterThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": 14}}),
            )],
        )
        .user(
            "finance",
            FINANCE,
            &[],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/finance"}}),
            )],
        )
        .user(
            "signer",
            SIGNER,
            &[],
            &[allow_if(
                json!(["kms:Sign", "kms:Verify"]),
                "*",
                json!({"StringEquals": {
                    "kms:SigningAlgorithm": "ECDSA_SHA_256",
                    "kms:MessageType": "RAW"
                }}),
            )],
        )
        .user(
            "macer",
            MACER,
            &[],
            &[allow_if(
                "kms:GenerateMac",
                "*",
                json!({"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}),
            )],
        )
        .user(
            "rsa-enc",
            RSA_ENC,
            &[],
            &[allow_if(
                "kms:Encrypt",
                "*",
                json!({"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}),
            )],
        )
        .account(A, "AKA_ROOT")
        .user("ops", A_OPS, &[], &[admin()])
        .user("none", A_NONE, &[], &[])
        .build();
    Server::start_with_config(&toml)
}

const PLAINTEXT: &[u8] = b"secret data";

async fn try_encrypt(c: &Client, key: &str, ec: &[(&str, &str)]) -> Result<Blob, (String, String)> {
    let mut req = c.encrypt().key_id(key).plaintext(Blob::new(PLAINTEXT));
    for (k, v) in ec {
        req = req.encryption_context(*k, *v);
    }
    req.send()
        .await
        .map(|o| o.ciphertext_blob.unwrap())
        .map_err(err)
}

/// The AccessDenied (code, message) pair for a denied Encrypt.
fn encrypt_denied(caller: &str, key_arn: &str, reason: Reason) -> (String, String) {
    (
        "AccessDeniedException".to_string(),
        denied(caller, "kms:Encrypt", Some(key_arn), reason),
    )
}

#[tokio::test]
async fn encryption_context_conditions() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let arn = key_arn(B, &key);

    // StringEquals on kms:EncryptionContext:app: only that pair counts; others may be added.
    let c = client(&s, EC_APP);
    let who = user_arn(B, "ec-app");
    let ct = try_encrypt(&c, &key, &[("app", "x")]).await.unwrap();
    try_encrypt(&c, &key, &[("app", "x"), ("extra", "1")])
        .await
        .unwrap();
    for ec in [&[("app", "y")][..], &[("App", "X")][..], &[][..]] {
        assert_eq!(
            try_encrypt(&c, &key, ec).await.unwrap_err(),
            encrypt_denied(&who, &arn, Reason::NoIdentity),
            "EC {ec:?}"
        );
    }
    let out = c
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("app", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), PLAINTEXT);
    // Without the EC, Decrypt is refused by authorization before the ciphertext is checked.
    let r = c.decrypt().ciphertext_blob(ct).send().await;
    assert_denied(
        r,
        &denied(&who, "kms:Decrypt", Some(&arn), Reason::NoIdentity),
    );

    // ForAllValues on kms:EncryptionContextKeys: every key must be listed; no EC passes.
    let c = client(&s, EC_KEYS);
    let who = user_arn(B, "ec-keys");
    for ec in [
        &[("app", "a")][..],
        &[("app", "a"), ("env", "b")][..],
        &[][..],
    ] {
        try_encrypt(&c, &key, ec).await.unwrap();
    }
    for ec in [&[("app", "a"), ("other", "c")][..], &[("ENV", "b")][..]] {
        assert_eq!(
            try_encrypt(&c, &key, ec).await.unwrap_err(),
            encrypt_denied(&who, &arn, Reason::NoIdentity),
            "EC {ec:?}"
        );
    }

    // The key name after kms:EncryptionContext: is case-insensitive, the value is not.
    let c = client(&s, EC_CASE);
    let who = user_arn(B, "ec-case");
    try_encrypt(&c, &key, &[("app", "x")]).await.unwrap();
    try_encrypt(&c, &key, &[("App", "x")]).await.unwrap();
    assert_eq!(
        try_encrypt(&c, &key, &[("app", "X")]).await.unwrap_err(),
        encrypt_denied(&who, &arn, Reason::NoIdentity)
    );

    // Adding kms:EncryptionContextKeys makes the key name case-sensitive as well.
    let c = client(&s, EC_STRICT);
    let who = user_arn(B, "ec-strict");
    try_encrypt(&c, &key, &[("app", "x")]).await.unwrap();
    assert_eq!(
        try_encrypt(&c, &key, &[("APP", "x")]).await.unwrap_err(),
        encrypt_denied(&who, &arn, Reason::NoIdentity)
    );

    // A policy variable in the value: ${aws:PrincipalTag/team} is the caller's tag.
    let c = client(&s, EC_VAR);
    let who = user_arn(B, "ec-var");
    try_encrypt(&c, &key, &[("team", "blue")]).await.unwrap();
    assert_eq!(
        try_encrypt(&c, &key, &[("team", "red")]).await.unwrap_err(),
        encrypt_denied(&who, &arn, Reason::NoIdentity)
    );
}

/// kms:RequestAlias is the alias name the request used: allowed through that alias (name or
/// ARN), denied through the key ID, the key ARN, or another alias of the same key.
#[tokio::test]
async fn request_alias() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let arn = key_arn(B, &key);
    for alias in ["alias/allowed", "alias/other"] {
        alice
            .create_alias()
            .alias_name(alias)
            .target_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    let c = client(&s, ALIAS);
    let who = user_arn(B, "alias-user");
    try_encrypt(&c, "alias/allowed", &[]).await.unwrap();
    try_encrypt(&c, &alias_arn(B, "alias/allowed"), &[])
        .await
        .unwrap();
    let meta = c
        .describe_key()
        .key_id("alias/allowed")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_id, key);
    for id in [key.as_str(), arn.as_str(), "alias/other"] {
        assert_eq!(
            try_encrypt(&c, id, &[]).await.unwrap_err(),
            encrypt_denied(&who, &arn, Reason::NoIdentity),
            "KeyId {id}"
        );
    }
    let r = c.describe_key().key_id(&key).send().await;
    assert_denied(
        r,
        &denied(&who, "kms:DescribeKey", Some(&arn), Reason::NoIdentity),
    );
}

/// Principal "*" with kms:CallerAccount: everyone in that account, with no IAM policy needed in
/// the key's own account; callers of other accounts do not match the statement.
#[tokio::test]
async fn caller_account_with_principal_star() {
    let s = server();
    let alice = client(&s, ALICE);
    let everyone_in = |account: &str| {
        key_policy(vec![
            root_statement(B),
            json!({
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": account}}
            }),
        ])
    };
    let own = create_key(&alice, Some(&everyone_in(B)), false).await;
    let own_arn = key_arn(B, &own);
    try_encrypt(&client(&s, BOB), &own, &[]).await.unwrap();
    try_encrypt(&client(&s, RED), &own, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&client(&s, A_OPS), &own_arn, &[])
            .await
            .unwrap_err(),
        encrypt_denied(&user_arn(A, "ops"), &own_arn, Reason::NoResource)
    );

    // The statement for account A: A's callers still need IAM in A; B's users get nothing.
    let theirs = create_key(&alice, Some(&everyone_in(A)), false).await;
    let theirs_arn = key_arn(B, &theirs);
    try_encrypt(&client(&s, A_OPS), &theirs_arn, &[])
        .await
        .unwrap();
    assert_eq!(
        try_encrypt(&client(&s, A_NONE), &theirs_arn, &[])
            .await
            .unwrap_err(),
        encrypt_denied(&user_arn(A, "none"), &theirs_arn, Reason::NoIdentity)
    );
    assert_eq!(
        try_encrypt(&client(&s, BOB), &theirs, &[])
            .await
            .unwrap_err(),
        encrypt_denied(&user_arn(B, "bob"), &theirs_arn, Reason::NoIdentity)
    );
}

/// aws:PrincipalTag from the user's tags (tag key case-insensitive).
#[tokio::test]
async fn principal_tags() {
    let s = server();
    let alice = client(&s, ALICE);
    let policy = key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/Team": "blue", "kms:CallerAccount": B}}
    })]);
    let key = create_key(&alice, Some(&policy), true).await;
    let arn = key_arn(B, &key);
    try_encrypt(&client(&s, BLUE), &key, &[]).await.unwrap();
    for (ak, name) in [(RED, "red"), (BOB, "bob"), (ALICE, "alice")] {
        assert_eq!(
            try_encrypt(&client(&s, ak), &key, &[]).await.unwrap_err(),
            encrypt_denied(&user_arn(B, name), &arn, Reason::NoResource),
            "{name}"
        );
    }
}

/// kms:ViaService is absent on direct calls: a statement that allows only via a service does
/// not allow them, a Deny on "present" does not apply, a Deny on "absent" does.
#[tokio::test]
async fn via_service_absent_on_direct_calls() {
    let s = server();
    let alice = client(&s, ALICE);
    // Like an AWS-managed key's policy: only through S3, for callers of the account.
    let via_s3 = key_policy(vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Encrypt", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {
            "kms:ViaService": "s3.us-east-1.amazonaws.com",
            "kms:CallerAccount": B
        }}
    })]);
    let key = create_key(&alice, Some(&via_s3), true).await;
    assert_eq!(
        try_encrypt(&alice, &key, &[]).await.unwrap_err(),
        encrypt_denied(&user_arn(B, "alice"), &key_arn(B, &key), Reason::NoResource)
    );

    let deny_when = |absent: bool| {
        key_policy(vec![
            root_statement(B),
            json!({
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": {"Null": {"kms:ViaService": absent.to_string()}}
            }),
        ])
    };
    let deny_if_present = create_key(&alice, Some(&deny_when(false)), false).await;
    try_encrypt(&alice, &deny_if_present, &[]).await.unwrap();
    let deny_if_absent = create_key(&alice, Some(&deny_when(true)), false).await;
    assert_eq!(
        try_encrypt(&alice, &deny_if_absent, &[]).await.unwrap_err(),
        encrypt_denied(
            &user_arn(B, "alice"),
            &key_arn(B, &deny_if_absent),
            Reason::DenyResource
        )
    );
}

/// aws:ResourceTag is honoured in IAM policies and follows tag changes at once; in a key
/// policy it is treated as absent (spec §4.2 (I)).
#[tokio::test]
async fn resource_tags() {
    let s = server();
    let alice = client(&s, ALICE);
    let tagged = alice
        .create_key()
        .tags(
            Tag::builder()
                .tag_key("project")
                .tag_value("apollo")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let untagged = create_key(&alice, None, false).await;
    let c = client(&s, RES_TAG);
    let who = user_arn(B, "res-tag");
    try_encrypt(&c, &tagged, &[]).await.unwrap();
    assert_eq!(
        try_encrypt(&c, &untagged, &[]).await.unwrap_err(),
        encrypt_denied(&who, &key_arn(B, &untagged), Reason::NoIdentity)
    );

    alice
        .tag_resource()
        .key_id(&untagged)
        .tags(
            Tag::builder()
                .tag_key("project")
                .tag_value("apollo")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    try_encrypt(&c, &untagged, &[]).await.unwrap();
    alice
        .untag_resource()
        .key_id(&tagged)
        .tag_keys("project")
        .send()
        .await
        .unwrap();
    assert_eq!(
        try_encrypt(&c, &tagged, &[]).await.unwrap_err(),
        encrypt_denied(&who, &key_arn(B, &tagged), Reason::NoIdentity)
    );

    // In a key policy the same condition never holds.
    let policy = key_policy(vec![
        root_statement(B),
        json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/project": "apollo"}}
        }),
    ]);
    let kp_key = create_key(&alice, Some(&policy), false).await;
    alice
        .tag_resource()
        .key_id(&kp_key)
        .tags(
            Tag::builder()
                .tag_key("project")
                .tag_value("apollo")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        try_encrypt(&client(&s, BOB), &kp_key, &[])
            .await
            .unwrap_err(),
        encrypt_denied(
            &user_arn(B, "bob"),
            &key_arn(B, &kp_key),
            Reason::NoIdentity
        )
    );
}

/// kms:EncryptionAlgorithm defaults to SYMMETRIC_DEFAULT when the request omits it, and the
/// policy is checked before the algorithm is validated against the key.
#[tokio::test]
async fn encryption_algorithm() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let c = client(&s, ALG);
    let send = |c: &Client, alg: Option<EncryptionAlgorithmSpec>| {
        c.encrypt()
            .key_id(&key)
            .plaintext(Blob::new(PLAINTEXT))
            .set_encryption_algorithm(alg)
            .send()
    };
    send(&c, None).await.unwrap();
    send(&c, Some(EncryptionAlgorithmSpec::SymmetricDefault))
        .await
        .unwrap();
    assert_denied(
        send(&c, Some(EncryptionAlgorithmSpec::RsaesOaepSha256)).await,
        &denied(
            &user_arn(B, "alg"),
            "kms:Encrypt",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );
    assert_error(
        send(&alice, Some(EncryptionAlgorithmSpec::RsaesOaepSha256)).await,
        "InvalidKeyUsageException",
        "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
    );
}

/// Key properties for CreateKey come from the request (with defaults); on ListKeys, which has
/// no key, such a condition never holds.
#[tokio::test]
async fn key_spec_on_create_key() {
    let s = server();
    let c = client(&s, MAKER);
    let who = user_arn(B, "maker");
    create_key(&c, None, false).await;
    c.create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .send()
        .await
        .unwrap();
    assert_denied(
        c.create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
            .send()
            .await,
        &denied(&who, "kms:CreateKey", None, Reason::NoIdentity),
    );
    assert_denied(
        c.list_keys().send().await,
        &denied(&who, "kms:ListKeys", None, Reason::NoIdentity),
    );
}

/// aws:TagKeys on TagResource and on CreateKey with Tags.
#[tokio::test]
async fn request_tag_keys() {
    let s = server();
    let c = client(&s, TAGGER);
    let who = user_arn(B, "tagger");
    let key = create_key(&c, None, false).await;
    c.tag_resource()
        .key_id(&key)
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    assert_denied(
        c.tag_resource()
            .key_id(&key)
            .tags(tag("env", "prod"))
            .tags(tag("owner", "me"))
            .send()
            .await,
        &denied(
            &who,
            "kms:TagResource",
            Some(&key_arn(B, &key)),
            Reason::DenyIdentity,
        ),
    );
    assert_denied(
        c.create_key().tags(tag("owner", "me")).send().await,
        &denied(&who, "kms:CreateKey", None, Reason::DenyIdentity),
    );
    c.create_key().tags(tag("env", "dev")).send().await.unwrap();
    let tags = c
        .list_resource_tags()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(tags, [tag("env", "dev")]);
}

/// kms:BypassPolicyLockoutSafetyCheck is present only when the request sets the parameter.
#[tokio::test]
async fn bypass_policy_lockout_condition() {
    let s = server();
    let c = client(&s, CAREFUL);
    let who = user_arn(B, "careful");
    assert_denied(
        c.create_key()
            .bypass_policy_lockout_safety_check(true)
            .send()
            .await,
        &denied(&who, "kms:CreateKey", None, Reason::DenyIdentity),
    );
    let key = c
        .create_key()
        .bypass_policy_lockout_safety_check(false)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let policy = key_policy(vec![root_statement(B)]);
    assert_denied(
        c.put_key_policy()
            .key_id(&key)
            .policy(&policy)
            .bypass_policy_lockout_safety_check(true)
            .send()
            .await,
        &denied(
            &who,
            "kms:PutKeyPolicy",
            Some(&key_arn(B, &key)),
            Reason::DenyIdentity,
        ),
    );
    c.put_key_policy()
        .key_id(&key)
        .policy(&policy)
        .send()
        .await
        .unwrap();
}

/// kms:ScheduleKeyDeletionPendingWindowInDays takes the default (30) when the request omits it.
#[tokio::test]
async fn pending_window_condition() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let c = client(&s, DELETER);
    assert_denied(
        c.schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await,
        &denied(
            &user_arn(B, "deleter"),
            "kms:ScheduleKeyDeletion",
            Some(&key_arn(B, &key)),
            Reason::NoIdentity,
        ),
    );
    let out = c.schedule_key_deletion().key_id(&key).send().await.unwrap();
    assert_eq!(out.pending_window_in_days, Some(30));
}

/// kms:ResourceAliases (IAM policies) follows the key's aliases.
#[tokio::test]
async fn resource_aliases() {
    let s = server();
    let alice = client(&s, ALICE);
    let key = create_key(&alice, None, false).await;
    let arn = key_arn(B, &key);
    let c = client(&s, FINANCE);
    let who = user_arn(B, "finance");
    assert_eq!(
        try_encrypt(&c, &key, &[]).await.unwrap_err(),
        encrypt_denied(&who, &arn, Reason::NoIdentity)
    );
    for alias in ["alias/other", "alias/finance"] {
        alice
            .create_alias()
            .alias_name(alias)
            .target_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    // By key ID: the condition is about the key's aliases, not the request.
    try_encrypt(&c, &key, &[]).await.unwrap();
    try_encrypt(&c, "alias/other", &[]).await.unwrap();
    alice
        .delete_alias()
        .alias_name("alias/finance")
        .send()
        .await
        .unwrap();
    assert_eq!(
        try_encrypt(&c, &key, &[]).await.unwrap_err(),
        encrypt_denied(&who, &arn, Reason::NoIdentity)
    );
}

async fn create_typed_key(
    c: &Client,
    spec: aws_sdk_kms::types::KeySpec,
    usage: aws_sdk_kms::types::KeyUsageType,
) -> String {
    c.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

/// kms:SigningAlgorithm, kms:MessageType, kms:MacAlgorithm and kms:EncryptionAlgorithm on
/// asymmetric and HMAC keys; the policy is checked before the algorithm is matched to the key.
#[tokio::test]
async fn algorithm_conditions_on_asymmetric_and_hmac_keys() {
    use aws_sdk_kms::types::{EncryptionAlgorithmSpec as Enc, SigningAlgorithmSpec as Alg};
    use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType};
    let s = server();
    let alice = client(&s, ALICE);

    let ecc = create_typed_key(&alice, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let c = client(&s, SIGNER);
    let sign = |alg: Alg, message_type: MessageType, message: Vec<u8>| {
        c.sign()
            .key_id(&ecc)
            .message(Blob::new(message))
            .message_type(message_type)
            .signing_algorithm(alg)
            .send()
    };
    let signature = sign(Alg::EcdsaSha256, MessageType::Raw, b"hello".to_vec())
        .await
        .unwrap()
        .signature
        .unwrap();
    let verified = c
        .verify()
        .key_id(&ecc)
        .message(Blob::new(b"hello"))
        .signature(signature)
        .signing_algorithm(Alg::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    let sign_denied = denied(
        &user_arn(B, "signer"),
        "kms:Sign",
        Some(&key_arn(B, &ecc)),
        Reason::NoIdentity,
    );
    assert_denied(
        sign(Alg::EcdsaSha256, MessageType::Digest, vec![0u8; 32]).await,
        &sign_denied,
    );
    // ECDSA_SHA_384 does not fit a P-256 key either, but authorization answers first.
    assert_denied(
        sign(Alg::EcdsaSha384, MessageType::Raw, b"hello".to_vec()).await,
        &sign_denied,
    );

    let hmac = create_typed_key(&alice, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let c = client(&s, MACER);
    let mac = |alg: MacAlgorithmSpec| {
        c.generate_mac()
            .key_id(&hmac)
            .message(Blob::new(b"hello"))
            .mac_algorithm(alg)
            .send()
    };
    mac(MacAlgorithmSpec::HmacSha256).await.unwrap();
    assert_denied(
        mac(MacAlgorithmSpec::HmacSha512).await,
        &denied(
            &user_arn(B, "macer"),
            "kms:GenerateMac",
            Some(&key_arn(B, &hmac)),
            Reason::NoIdentity,
        ),
    );

    let rsa = create_typed_key(&alice, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let c = client(&s, RSA_ENC);
    let encrypt_with = |alg: Enc| {
        c.encrypt()
            .key_id(&rsa)
            .plaintext(Blob::new(PLAINTEXT))
            .encryption_algorithm(alg)
            .send()
    };
    encrypt_with(Enc::RsaesOaepSha256).await.unwrap();
    assert_denied(
        encrypt_with(Enc::RsaesOaepSha1).await,
        &denied(
            &user_arn(B, "rsa-enc"),
            "kms:Encrypt",
            Some(&key_arn(B, &rsa)),
            Reason::NoIdentity,
        ),
    );
}
