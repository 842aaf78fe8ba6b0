//! Grants as a permission source, through the wire (spec §5, §11 rows 9–12, 19, 20), and the
//! Lambda environment-variable scenario end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

use std::collections::HashSet;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};

use crate::support::{Server, err};

const ACCOUNT: &str = "012345678901";
const REGION: &str = "ap-northeast-1";
const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-1:012345678901:function:test";
const FUNCTION_SESSION: &str = "arn:aws:sts::012345678901:assumed-role/test-role-cu5o193j/test";

const CONFIG: &str = r#"
[[accounts]]
id = "012345678901"
access_keys = [{ access_key_id = "AKIAROOT", secret_access_key = "root" }]

[[accounts.roles]]
name = "my-role"
policies = [{ name = "admin", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }]
sessions = [{ name = "admin", access_key_id = "ASIAADMIN", secret_access_key = "admin" }]

[[accounts.roles]]
name = "test-role-cu5o193j"
policies = [{ name = "logs", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}' }]
sessions = [{ name = "test", access_key_id = "ASIAFUNCTION", secret_access_key = "function" }]

[[accounts.roles]]
name = "other-role"
sessions = [{ name = "x", access_key_id = "ASIAOTHER", secret_access_key = "other" }]

[[accounts.users]]
name = "key-user"
access_keys = [{ access_key_id = "AKIAKEYUSER", secret_access_key = "keyuser" }]

[[accounts.users]]
name = "retirer"
access_keys = [{ access_key_id = "AKIARETIRER", secret_access_key = "retirer" }]

[[accounts.users]]
name = "denied-retirer"
access_keys = [{ access_key_id = "AKIADENIED", secret_access_key = "denied" }]
policies = [{ name = "no-retire", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}' }]

[[service_callers]]
service = "lambda.amazonaws.com"
acts_for = "arn:aws:sts::012345678901:assumed-role/my-role/admin"
access_key_id = "AKIALAMBDA"
secret_access_key = "lambda"

[[service_callers]]
service = "lambda.amazonaws.com"
acts_for = "arn:aws:iam::012345678901:user/key-user"
access_key_id = "AKIALAMBDAKEYUSER"
secret_access_key = "lambda-keyuser"
"#;

struct Env {
    server: Server,
}

impl Env {
    fn start() -> Env {
        Env {
            server: Server::start_with_config(CONFIG),
        }
    }
    fn client(&self, ak: &str, sk: &str) -> Client {
        self.server.kms_as(ak, sk, REGION)
    }
    fn admin(&self) -> Client {
        self.client("ASIAADMIN", "admin")
    }
    fn function(&self) -> Client {
        self.client("ASIAFUNCTION", "function")
    }
    fn lambda(&self) -> Client {
        self.client("AKIALAMBDA", "lambda")
    }
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

/// A key whose policy names only my-role (no account-root statement).
async fn role_only_key(admin: &Client) -> String {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/my-role"},"Action":"kms:*","Resource":"*"}]}"#;
    admin
        .create_key()
        .policy(policy)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

fn function_ec() -> (String, String) {
    (
        "aws:lambda:FunctionArn".to_string(),
        FUNCTION_ARN.to_string(),
    )
}

async fn encrypt(c: &Client, key: &str, ec: &[(String, String)]) -> Blob {
    let mut req = c.encrypt().key_id(key).plaintext(Blob::new("db-password"));
    for (k, v) in ec {
        req = req.encryption_context(k, v);
    }
    req.send().await.unwrap().ciphertext_blob.unwrap()
}

async fn decrypt(
    c: &Client,
    blob: &Blob,
    ec: &[(String, String)],
) -> Result<Vec<u8>, (String, String)> {
    let mut req = c.decrypt().ciphertext_blob(blob.clone());
    for (k, v) in ec {
        req = req.encryption_context(k, v);
    }
    req.send()
        .await
        .map(|o| o.plaintext.unwrap().into_inner())
        .map_err(err)
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_environment_variable_scenario() {
    let env = Env::start();
    let admin = env.admin();
    let key = role_only_key(&admin).await;
    let grants = admin.list_grants().key_id(&key).send().await.unwrap();
    assert!(grants.grants().is_empty());

    // Lambda, acting for the function's creator, grants the function's session Decrypt.
    let created = env
        .lambda()
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .retiring_principal("lambda.ap-northeast-1.amazonaws.com")
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::RetireGrant)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("aws:lambda:FunctionArn", FUNCTION_ARN)
                .build(),
        )
        .name("test/2b8d0a3e-5b5f-4a63-9d1a-0c1f5f3b2e11")
        .send()
        .await
        .unwrap();
    let grant_id = created.grant_id.unwrap();
    assert_eq!(grant_id.len(), 64);
    assert!(grant_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!created.grant_token.unwrap().is_empty());

    let listed = admin.list_grants().key_id(&key).send().await.unwrap();
    let g = &listed.grants()[0];
    assert_eq!(g.key_id(), Some(key_arn(&key).as_str()));
    assert_eq!(g.grant_id(), Some(grant_id.as_str()));
    assert_eq!(g.name(), Some("test/2b8d0a3e-5b5f-4a63-9d1a-0c1f5f3b2e11"));
    assert!(g.creation_date().is_some());
    assert_eq!(g.grantee_principal(), Some(FUNCTION_SESSION));
    assert_eq!(
        g.retiring_principal(),
        Some("lambda.ap-northeast-1.amazonaws.com")
    );
    assert_eq!(g.issuing_account(), Some("arn:aws:iam::012345678901:root"));
    assert_eq!(
        g.operations(),
        &[GrantOperation::Decrypt, GrantOperation::RetireGrant]
    );
    let ec = g
        .constraints()
        .unwrap()
        .encryption_context_equals()
        .unwrap();
    assert_eq!(
        ec.get("aws:lambda:FunctionArn").map(String::as_str),
        Some(FUNCTION_ARN)
    );

    let blob = encrypt(&admin, &key, &[function_ec()]).await;
    let function = env.function();
    assert_eq!(
        decrypt(&function, &blob, &[function_ec()]).await.unwrap(),
        b"db-password"
    );
    let (code, _) = decrypt(&function, &blob, &[]).await.unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    let other_fn = (
        "aws:lambda:FunctionArn".to_string(),
        format!("{FUNCTION_ARN}-2"),
    );
    let (code, _) = decrypt(&function, &blob, &[other_fn]).await.unwrap_err();
    assert_eq!(code, "AccessDeniedException");

    admin
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(&grant_id)
        .send()
        .await
        .unwrap();
    assert!(grant_count(&admin, &key).await == 0);

    let (code, message) = decrypt(&function, &blob, &[function_ec()])
        .await
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        message,
        format!(
            "User: {FUNCTION_SESSION} is not authorized to perform: kms:Decrypt on resource: {} because no resource-based policy allows the kms:Decrypt action",
            key_arn(&key)
        )
    );
}

/// How many grants `key` has, as its administrator lists them.
async fn grant_count(c: &Client, key: &str) -> usize {
    c.list_grants()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .grants()
        .len()
}

/// A key with the default policy (delegation to the account) for §11 rows 9–12.
async fn default_key(admin: &Client) -> String {
    admin
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

async fn grant(
    admin: &Client,
    key: &str,
    grantee: &str,
    ops: &[GrantOperation],
    constraints: Option<GrantConstraints>,
) -> (String, String) {
    let mut req = admin.create_grant().key_id(key).grantee_principal(grantee);
    for op in ops {
        req = req.operations(op.clone());
    }
    if let Some(c) = constraints {
        req = req.constraints(c);
    }
    let out = req.send().await.unwrap();
    (out.grant_id.unwrap(), out.grant_token.unwrap())
}

fn subset_app_x() -> GrantConstraints {
    GrantConstraints::builder()
        .encryption_context_subset("app", "x")
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_rows_9_to_12() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let role = "arn:aws:iam::012345678901:role/test-role-cu5o193j";
    grant(
        &admin,
        &key,
        role,
        &[GrantOperation::Decrypt],
        Some(subset_app_x()),
    )
    .await;
    let function = env.function();
    let ec = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    // Row 9: a role grantee covers its sessions; extra pairs are fine.
    let blob = encrypt(&admin, &key, &ec(&[("app", "x"), ("v", "1")])).await;
    assert_eq!(
        decrypt(&function, &blob, &ec(&[("app", "x"), ("v", "1")]))
            .await
            .unwrap(),
        b"db-password"
    );

    // Row 10: grant EC keys are case-insensitive; the ciphertext is bound to {app: x}, so the
    // crypto step then fails.
    let blob = encrypt(&admin, &key, &ec(&[("app", "x")])).await;
    let (code, _) = decrypt(&function, &blob, &ec(&[("APP", "x")]))
        .await
        .unwrap_err();
    assert_eq!(code, "InvalidCiphertextException");

    // Row 11: DescribeKey is not in the grant's operations.
    let (code, message) = function
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("kms:DescribeKey"), "{message}");

    // Row 12: a key-policy deny beats the grant.
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::012345678901:role/test-role-cu5o193j"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    admin
        .put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(policy)
        .send()
        .await
        .unwrap();
    let (code, message) = decrypt(&function, &blob, &ec(&[("app", "x")]))
        .await
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.ends_with("with an explicit deny in a resource-based policy"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_grant_validation_and_row_20() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let (code, message) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::CreateGrant)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Grants must not contain only the CreateGrant operation."
        )
    );

    let (code, message) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("a", "b")
                .encryption_context_subset("a", "b")
                .build(),
        )
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "More than one constraint supplied")
    );

    // Sign is not a valid grant operation for a symmetric key.
    let (code, _) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Sign)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "ValidationException");

    // An alias is rejected; a role that does not exist is not a valid grantee.
    admin
        .create_alias()
        .alias_name("alias/g")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let (code, message) = admin
        .create_grant()
        .key_id("alias/g")
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "InvalidArnException",
            "Key Aliases are not supported for this operation."
        )
    );
    let (code, _) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal("arn:aws:iam::012345678901:role/no-such-role")
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "InvalidArnException");

    // None of the failed requests left a grant behind.
    assert!(grant_count(&admin, &key).await == 0);

    // DryRun answers DryRunOperationException and creates nothing.
    let (code, _) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Decrypt)
        .dry_run(true)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "DryRunOperationException");
    assert!(grant_count(&admin, &key).await == 0);
}

/// Constraints as the Terraform AWS provider sends them: the constraint it was given and the
/// other map empty (`{}`). AWS takes that as the one constraint; so does Trent (an empty map next
/// to the other one is dropped), and ListGrants shows only that one.
#[tokio::test(flavor = "multi_thread")]
async fn empty_alternative_constraint_map_is_dropped() {
    use std::collections::HashMap;
    let env = Env::start();
    let admin = env.admin();
    let function = env.function();
    let key = default_key(&admin).await;
    let role = "arn:aws:iam::012345678901:role/test-role-cu5o193j";
    let pairs = |p: &[(&str, &str)]| -> HashMap<String, String> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let listed = |id: String| {
        let admin = admin.clone();
        let key = key.clone();
        async move {
            let out = admin
                .list_grants()
                .key_id(&key)
                .grant_id(id)
                .send()
                .await
                .unwrap();
            out.grants()[0].constraints().unwrap().clone()
        }
    };

    // EncryptionContextEquals {app: x} with EncryptionContextSubset {}: an equals constraint.
    let (equals_id, _) = grant(
        &admin,
        &key,
        role,
        &[GrantOperation::Decrypt],
        Some(
            GrantConstraints::builder()
                .set_encryption_context_equals(Some(pairs(&[("app", "x")])))
                .set_encryption_context_subset(Some(HashMap::new()))
                .build(),
        ),
    )
    .await;
    let c = listed(equals_id.clone()).await;
    assert_eq!(c.encryption_context_equals(), Some(&pairs(&[("app", "x")])));
    assert_eq!(c.encryption_context_subset(), None);
    let ec = |p: &[(&str, &str)]| -> Vec<(String, String)> { pairs(p).into_iter().collect() };
    let exact = encrypt(&admin, &key, &ec(&[("app", "x")])).await;
    assert_eq!(
        decrypt(&function, &exact, &ec(&[("app", "x")]))
            .await
            .unwrap(),
        b"db-password"
    );
    // Equals, not subset: an extra pair is not covered.
    let wider = encrypt(&admin, &key, &ec(&[("app", "x"), ("v", "1")])).await;
    let (code, _) = decrypt(&function, &wider, &ec(&[("app", "x"), ("v", "1")]))
        .await
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    admin
        .revoke_grant()
        .key_id(&key)
        .grant_id(equals_id)
        .send()
        .await
        .unwrap();

    // EncryptionContextSubset {app: x} with EncryptionContextEquals {}: a subset constraint.
    let (subset_id, _) = grant(
        &admin,
        &key,
        role,
        &[GrantOperation::Decrypt],
        Some(
            GrantConstraints::builder()
                .set_encryption_context_equals(Some(HashMap::new()))
                .set_encryption_context_subset(Some(pairs(&[("app", "x")])))
                .build(),
        ),
    )
    .await;
    let c = listed(subset_id).await;
    assert_eq!(c.encryption_context_subset(), Some(&pairs(&[("app", "x")])));
    assert_eq!(c.encryption_context_equals(), None);
    assert_eq!(
        decrypt(&function, &wider, &ec(&[("app", "x"), ("v", "1")]))
            .await
            .unwrap(),
        b"db-password"
    );

    // Two non-empty maps are still two constraints.
    let (code, message) = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(role)
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("a", "b")
                .encryption_context_subset("c", "d")
                .build(),
        )
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "More than one constraint supplied")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn name_idempotency_and_tokens() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let create = |name: Option<&str>, op: GrantOperation| {
        let mut r = admin
            .create_grant()
            .key_id(&key)
            .grantee_principal(FUNCTION_SESSION)
            .operations(op);
        if let Some(n) = name {
            r = r.name(n);
        }
        r.send()
    };
    let a = create(Some("n1"), GrantOperation::Decrypt).await.unwrap();
    let b = create(Some("n1"), GrantOperation::Decrypt).await.unwrap();
    assert_eq!(
        a.grant_id, b.grant_id,
        "same name and parameters: the same grant"
    );
    assert_ne!(
        a.grant_token, b.grant_token,
        "every call returns a new token"
    );
    let c = create(Some("n1"), GrantOperation::Encrypt).await.unwrap();
    assert_ne!(
        a.grant_id, c.grant_id,
        "same name, other parameters: a new grant"
    );
    let d = create(None, GrantOperation::Decrypt).await.unwrap();
    let e = create(None, GrantOperation::Decrypt).await.unwrap();
    assert_ne!(d.grant_id, e.grant_id, "no name: always a new grant");
    assert_eq!(grant_count(&admin, &key).await, 4);

    // Both tokens of the first grant retire it (interchangeably): the first one does.
    env.function()
        .retire_grant()
        .grant_token(b.grant_token.unwrap())
        .send()
        .await
        .map_err(err)
        .expect_err("the grantee may not retire a grant without the RetireGrant operation");
    admin
        .retire_grant()
        .grant_token(a.grant_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(grant_count(&admin, &key).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_grants_filters_pagination_and_retirable() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let other = "arn:aws:sts::012345678901:assumed-role/other-role/x";
    let mut ids = HashSet::new();
    for i in 0..7 {
        let grantee = if i % 2 == 0 { FUNCTION_SESSION } else { other };
        let out = admin
            .create_grant()
            .key_id(&key)
            .grantee_principal(grantee)
            .retiring_principal("arn:aws:iam::012345678901:user/retirer")
            .operations(GrantOperation::Decrypt)
            .send()
            .await
            .unwrap();
        ids.insert(out.grant_id.unwrap());
    }
    let mut seen = HashSet::new();
    let mut marker: Option<String> = None;
    loop {
        let page = admin
            .list_grants()
            .key_id(&key)
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert!(page.grants().len() <= 3);
        for g in page.grants() {
            assert!(seen.insert(g.grant_id().unwrap().to_string()));
        }
        if !page.truncated() {
            assert!(page.next_marker().is_none());
            break;
        }
        marker = page.next_marker().map(str::to_string);
    }
    assert_eq!(seen, ids);

    let filtered = admin
        .list_grants()
        .key_id(&key)
        .grantee_principal(other)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.grants().len(), 3);
    let one = ids.iter().next().unwrap();
    let by_id = admin
        .list_grants()
        .key_id(&key)
        .grant_id(one)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.grants().len(), 1);

    let retirer = env.client("AKIARETIRER", "retirer");
    let retirable = admin
        .list_retirable_grants()
        .retiring_principal("arn:aws:iam::012345678901:user/retirer")
        .send()
        .await
        .unwrap();
    assert_eq!(retirable.grants().len(), 7);
    // The retiring principal retires without any IAM permission.
    retirer
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(one)
        .send()
        .await
        .unwrap();
    assert_eq!(grant_count(&admin, &key).await, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn retire_and_revoke_rules() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let (g1, _) = grant(
        &admin,
        &key,
        FUNCTION_SESSION,
        &[GrantOperation::Decrypt, GrantOperation::RetireGrant],
        None,
    )
    .await;
    let (g2, _) = grant(
        &admin,
        &key,
        FUNCTION_SESSION,
        &[GrantOperation::Decrypt],
        None,
    )
    .await;
    let function = env.function();
    // The grantee retires a grant that includes RetireGrant, not one that does not.
    function
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(&g1)
        .send()
        .await
        .unwrap();
    let (code, _) = function
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(&g2)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    // An IAM deny on kms:RetireGrant blocks even the key's account.
    let denied = env.client("AKIADENIED", "denied");
    let (code, message) = denied
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(&g2)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains("explicit deny in an identity-based policy"),
        "{message}"
    );
    // An unknown grant is NotFound.
    let (code, _) = admin
        .revoke_grant()
        .key_id(&key)
        .grant_id("0".repeat(64))
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "NotFoundException");
    // A key administrator revokes.
    admin
        .revoke_grant()
        .key_id(&key)
        .grant_id(&g2)
        .send()
        .await
        .unwrap();
    assert!(grant_count(&admin, &key).await == 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_grant_narrowing() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    let role = "arn:aws:iam::012345678901:role/test-role-cu5o193j";
    grant(
        &admin,
        &key,
        role,
        &[GrantOperation::Decrypt, GrantOperation::CreateGrant],
        Some(subset_app_x()),
    )
    .await;
    let function = env.function();
    let child = |ops: Vec<GrantOperation>, c: Option<GrantConstraints>| {
        function
            .create_grant()
            .key_id(&key)
            .grantee_principal("arn:aws:sts::012345678901:assumed-role/other-role/x")
            .set_operations(Some(ops))
            .set_constraints(c)
            .send()
    };
    // At least as strict: more pairs, or Subset → Equals.
    child(
        vec![GrantOperation::Decrypt],
        Some(
            GrantConstraints::builder()
                .encryption_context_subset("app", "x")
                .encryption_context_subset("v", "1")
                .build(),
        ),
    )
    .await
    .unwrap();
    child(
        vec![GrantOperation::Decrypt],
        Some(
            GrantConstraints::builder()
                .encryption_context_equals("app", "x")
                .build(),
        ),
    )
    .await
    .unwrap();
    // Wider: an operation the parent lacks, no constraint, or a different pair.
    for (ops, c) in [
        (vec![GrantOperation::Encrypt], Some(subset_app_x())),
        (vec![GrantOperation::Decrypt], None),
        (
            vec![GrantOperation::Decrypt],
            Some(
                GrantConstraints::builder()
                    .encryption_context_subset("app", "y")
                    .build(),
            ),
        ),
    ] {
        let (code, _) = child(ops, c).await.map_err(err).unwrap_err();
        assert_eq!(code, "AccessDeniedException");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_is_for_aws_resource_condition() {
    let env = Env::start();
    let admin = env.admin();
    // The console's key-user statements: CreateGrant only when an AWS service asks for it.
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/my-role"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:user/key-user"},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*",
         "Condition":{"Bool":{"kms:GrantIsForAWSResource":true}}}]}"#;
    let key = admin
        .create_key()
        .policy(policy)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let direct = env.client("AKIAKEYUSER", "keyuser");
    let (code, _) = direct
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .map_err(err)
        .unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    let via_lambda = env.client("AKIALAMBDAKEYUSER", "lambda-keyuser");
    via_lambda
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_survive_disable() {
    let env = Env::start();
    let admin = env.admin();
    let key = default_key(&admin).await;
    grant(
        &admin,
        &key,
        FUNCTION_SESSION,
        &[GrantOperation::Decrypt],
        None,
    )
    .await;
    let blob = encrypt(&admin, &key, &[]).await;
    admin.disable_key().key_id(&key).send().await.unwrap();
    let (code, _) = decrypt(&env.function(), &blob, &[]).await.unwrap_err();
    assert_eq!(
        code, "DisabledException",
        "authorized by the grant, then refused on key state"
    );
    assert_eq!(grant_count(&admin, &key).await, 1);
    admin.enable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        decrypt(&env.function(), &blob, &[]).await.unwrap(),
        b"db-password"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_create_retire_decrypt() {
    let env = Env::start();
    let admin = env.admin();
    let key = role_only_key(&admin).await;
    let blob = encrypt(&admin, &key, &[]).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let admin = admin.clone();
        let function = env.function();
        let key = key.clone();
        let blob = blob.clone();
        tasks.push(tokio::spawn(async move {
            let out = admin
                .create_grant()
                .key_id(&key)
                .grantee_principal(FUNCTION_SESSION)
                .operations(GrantOperation::Decrypt)
                .send()
                .await
                .unwrap();
            let id = out.grant_id.unwrap();
            // Whatever else runs, a just-created grant authorizes at once.
            let _ = decrypt(&function, &blob, &[]).await;
            let retire = i % 2 == 0;
            if retire {
                admin
                    .revoke_grant()
                    .key_id(&key)
                    .grant_id(&id)
                    .send()
                    .await
                    .unwrap();
            }
            (id, retire)
        }));
    }
    let mut kept = HashSet::new();
    for t in tasks {
        let (id, retired) = t.await.unwrap();
        if !retired {
            kept.insert(id);
        }
    }
    let listed: HashSet<String> = admin
        .list_grants()
        .key_id(&key)
        .limit(100)
        .send()
        .await
        .unwrap()
        .grants()
        .iter()
        .map(|g| g.grant_id().unwrap().to_string())
        .collect();
    assert_eq!(
        listed, kept,
        "every acknowledged grant is listed, no revoked one is"
    );
    for id in &kept {
        admin
            .revoke_grant()
            .key_id(&key)
            .grant_id(id)
            .send()
            .await
            .unwrap();
    }
    let (code, _) = decrypt(&env.function(), &blob, &[]).await.unwrap_err();
    assert_eq!(
        code, "AccessDeniedException",
        "no revoked grant still authorizes"
    );
}

/// A principal with many grants on one key: the decision evaluates grants up to the first that
/// allows, and its audit record names that grant and at most ten others, with a count of the rest
/// (issue 20's probe: one Decrypt record listed all 4,999 grants, 1.67 MB).
#[tokio::test(flavor = "multi_thread")]
async fn many_grants_for_one_principal_keep_the_audit_record_small() {
    let env = Env::start();
    let admin = env.admin();
    let key = role_only_key(&admin).await;
    let user = "arn:aws:iam::012345678901:user/key-user";
    let mut ids = Vec::new();
    for i in 0..30 {
        let constraints = GrantConstraints::builder()
            .encryption_context_equals("n", i.to_string())
            .build();
        ids.push(
            grant(
                &admin,
                &key,
                user,
                &[GrantOperation::Decrypt],
                Some(constraints),
            )
            .await
            .0,
        );
    }
    let ec = [("n".to_string(), "25".to_string())];
    let blob = encrypt(&admin, &key, &ec).await;
    let key_user = env.client("AKIAKEYUSER", "keyuser");
    assert_eq!(
        decrypt(&key_user, &blob, &ec).await.unwrap(),
        b"db-password"
    );
    let other = [("n".to_string(), "none".to_string())];
    let denied_blob = encrypt(&admin, &key, &other).await;
    assert_eq!(
        decrypt(&key_user, &denied_blob, &other)
            .await
            .unwrap_err()
            .0,
        "AccessDeniedException"
    );

    let log = std::fs::read_to_string(env.server.data_dir.join("audit.log")).unwrap();
    let decrypts: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["eventName"] == "Decrypt" && r["userIdentity"]["arn"] == user)
        .collect();
    assert_eq!(decrypts.len(), 2);
    let grants_node = |r: &serde_json::Value| -> Vec<String> {
        r["trentAuthorization"]["decisions"][0]["tree"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["text"].as_str().unwrap().starts_with("grants:"))
            .unwrap()["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect()
    };
    // Allowed by the 26th grant: ten of the 25 before it, the one that allowed, the rest counted.
    let allowed = grants_node(&decrypts[0]);
    assert_eq!(allowed.len(), 12, "{allowed:#?}");
    assert!(allowed[10].contains(&ids[25]) && allowed[10].ends_with(": matches"));
    assert_eq!(allowed[11], "19 more grant(s) for the caller, not shown");
    assert!(
        decrypts[0]["trentAuthorization"]["decisions"][0]["summary"]
            .as_str()
            .unwrap()
            .contains(&ids[25])
    );
    // Denied: all thirty were evaluated, ten are shown.
    let denied = grants_node(&decrypts[1]);
    assert_eq!(denied.len(), 11, "{denied:#?}");
    assert_eq!(denied[10], "20 more grant(s) for the caller, not shown");
    assert!(
        log.lines().all(|l| l.len() < 64 * 1024),
        "an audit line over 64 KiB"
    );
}
