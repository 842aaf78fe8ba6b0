//! `trent explain` and `trent access` against the real binary, for the Lambda
//! environment-variable scenario (the config of grants.rs): before and after the grant is
//! retired, past requests (by x-amzn-RequestId) and hypothetical ones, and who may ask.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use aws_sdk_kms::Client;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use serde_json::Value;

use crate::support::Server;
use crate::support::kms::new_key;

const ACCOUNT: &str = "012345678901";
const REGION: &str = "ap-northeast-1";
const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-1:012345678901:function:test";
const FUNCTION_SESSION: &str = "arn:aws:sts::012345678901:assumed-role/test-role-cu5o193j/test";
const EC_KEY: &str = "aws:lambda:FunctionArn";

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

[[accounts.users]]
name = "auditor"
access_keys = [{ access_key_id = "AKIAAUDITOR", secret_access_key = "auditor" }]
policies = [{ name = "explain", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"trent:Explain","Resource":"*"}]}' }]

[[accounts]]
id = "444455556666"
access_keys = [{ access_key_id = "AKIAOTHERROOT", secret_access_key = "other" }]

[[accounts.users]]
name = "partner"
access_keys = [{ access_key_id = "AKIAPARTNER", secret_access_key = "partner" }]
policies = [{ name = "partner-private-policy", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}' }]

[[service_callers]]
service = "lambda.amazonaws.com"
acts_for = "arn:aws:sts::012345678901:assumed-role/my-role/admin"
access_key_id = "AKIALAMBDA"
secret_access_key = "lambda"
"#;

/// The trent CLI with `home` as HOME and none of the environment that could give it an
/// endpoint, a region or credentials: each test says what it gives.
fn bare_cli(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trent"));
    cmd.env("HOME", home);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ENDPOINT_URL_STS",
        "AWS_CA_BUNDLE",
        "TRENT_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

/// A server with `config`, a key the admin made, and an empty HOME with its `.aws` directory
/// for the tests of the CLI's config files.
async fn server_key_and_aws_dir(
    config: &str,
) -> (Server, String, tempfile::TempDir, std::path::PathBuf) {
    let server = Server::start_with_config(config);
    let key = new_key(&client(&server, ADMIN)).await.key_id;
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    (server, key, home, aws)
}

/// Runs the CLI; its exit status (0 allowed or no decision, 1 denied, 2 usage or input error),
/// stdout and stderr.
fn trent(server: &Server, creds: (&str, &str), args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(args)
        .arg("--endpoint-url")
        .arg(&server.endpoint)
        .env("HOME", home.path())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("TRENT_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", creds.0)
        .env("AWS_SECRET_ACCESS_KEY", creds.1)
        .env("AWS_REGION", REGION)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs the CLI, which must answer: exit status 1 for a denial (a hypothetical or past request
/// whose explanation says DENY), 0 otherwise.
fn trent_ok(server: &Server, creds: (&str, &str), args: &[&str]) -> String {
    let (code, stdout, stderr) = trent(server, creds, args);
    let denied = args.first() == Some(&"explain")
        && !args.contains(&"--json")
        && (stdout.starts_with("DENY")
            || stdout.lines().nth(2).is_some_and(|l| l.starts_with("DENY")));
    assert_eq!(code, i32::from(denied), "trent {args:?}: {stdout}{stderr}");
    stdout
}

fn trent_json(server: &Server, creds: (&str, &str), args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&trent_ok(server, creds, &args)).unwrap()
}

const ROOT: (&str, &str) = ("AKIAROOT", "root");
const ADMIN: (&str, &str) = ("ASIAADMIN", "admin");
const FUNCTION: (&str, &str) = ("ASIAFUNCTION", "function");

fn client(server: &Server, creds: (&str, &str)) -> Client {
    server.kms_as(creds.0, creds.1, REGION)
}

/// A new key with `policy`; its ID.
async fn key_with_policy(c: &Client, policy: &str) -> String {
    c.create_key()
        .policy(policy)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

/// A key whose policy lets only my-role (the admin) in.
async fn role_only_key(admin: &Client) -> String {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/my-role"},"Action":"kms:*","Resource":"*"}]}"#;
    key_with_policy(admin, policy).await
}

/// Decrypt as the function; the request ID and whether it was allowed.
async fn function_decrypt(server: &Server, blob: &Blob, with_ec: bool) -> (String, bool) {
    let mut req = client(server, FUNCTION)
        .decrypt()
        .ciphertext_blob(blob.clone());
    if with_ec {
        req = req.encryption_context(EC_KEY, FUNCTION_ARN);
    }
    match req.send().await {
        Ok(out) => {
            assert_eq!(out.plaintext().unwrap().as_ref(), b"db-password");
            (out.request_id().unwrap().to_string(), true)
        }
        Err(e) => {
            let id = e.request_id().unwrap().to_string();
            assert_eq!(
                e.into_service_error().meta().code(),
                Some("AccessDeniedException")
            );
            (id, false)
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_scenario_explained_before_and_after_retirement() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let key = role_only_key(&admin).await;
    let grant_name = "test/2b8d0a3e-5b5f-4a63-9d1a-0c1f5f3b2e11";
    let created = client(&server, ("AKIALAMBDA", "lambda"))
        .create_grant()
        .key_id(&key)
        .grantee_principal(FUNCTION_SESSION)
        .retiring_principal("lambda.ap-northeast-1.amazonaws.com")
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::RetireGrant)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals(EC_KEY, FUNCTION_ARN)
                .build(),
        )
        .name(grant_name)
        .send()
        .await
        .unwrap();
    let creating_request = created.request_id().unwrap().to_string();
    let grant_id = created.grant_id.unwrap();
    let blob = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("db-password"))
        .encryption_context(EC_KEY, FUNCTION_ARN)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // The function decrypts through the grant; explain names the grant by ID.
    let (allowed_id, allowed) = function_decrypt(&server, &blob, true).await;
    assert!(allowed);
    let text = trent_ok(&server, ROOT, &["explain", "--request-id", &allowed_id]);
    assert!(
        text.contains(&format!(
            "request {allowed_id}: Decrypt by {FUNCTION_SESSION}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ALLOW kms:Decrypt on {} for {FUNCTION_SESSION}: grant {grant_id} (\"{grant_name}\") allows it",
            key_arn(&key)
        )),
        "{text}"
    );
    assert!(
        text.contains("identity policies: not consulted: the key policy does not delegate to account 012345678901"),
        "{text}"
    );
    // Which grant, who made it (Lambda, for the admin session), in which request, and each
    // constraint as the request fared.
    assert!(
        text.contains("created by lambda.ap-northeast-1.amazonaws.com on behalf of arn:aws:sts::012345678901:assumed-role/my-role/admin at 20")
            && text.contains(&format!(" in request {creating_request}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "EncryptionContextEquals {{\"{EC_KEY}\":\"{FUNCTION_ARN}\"}}: satisfied: the request's encryption context is exactly this"
        )),
        "{text}"
    );
    assert!(!text.contains("why not"), "an allow has no why-not: {text}");
    let record = trent_json(&server, ROOT, &["explain", "--request-id", &allowed_id]);
    assert_eq!(record["requestID"], allowed_id.as_str());
    let d = &record["trentAuthorization"]["decisions"][0];
    assert_eq!(d["outcome"], "Allow");
    assert_eq!(d["causes"][0]["source"], "grant");
    assert_eq!(d["causes"][0]["grantId"], grant_id.as_str());
    assert_eq!(d["causes"][0]["grantName"], grant_name);

    // The same question asked hypothetically, against the live state.
    let ec = format!("{EC_KEY}={FUNCTION_ARN}");
    let hypothetical = [
        "explain",
        "--as",
        FUNCTION_SESSION,
        "--action",
        "kms:Decrypt",
        "--key",
        &key,
        "--encryption-context",
        &ec,
    ];
    let text = trent_ok(&server, ROOT, &hypothetical);
    assert!(text.starts_with("ALLOW kms:Decrypt"), "{text}");
    assert!(
        text.contains(&format!("grants: grant {grant_id}")),
        "{text}"
    );
    // Without the context, the grant's constraint is what fails.
    let text = trent_ok(
        &server,
        ROOT,
        &[
            "explain",
            "--as",
            FUNCTION_SESSION,
            "--action",
            "kms:Decrypt",
            "--key",
            &key_arn(&key),
        ],
    );
    assert!(text.starts_with("DENY (implicit) kms:Decrypt"), "{text}");
    assert!(
        text.contains("does not apply: the EncryptionContextEquals constraint"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "EncryptionContextEquals {{\"{EC_KEY}\":\"{FUNCTION_ARN}\"}}: not satisfied: the EncryptionContextEquals constraint"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "why not: what came closest to allowing it\n  - grant {grant_id} (\"{grant_name}\") is for the caller, but the EncryptionContextEquals constraint {{\"{EC_KEY}\":\"{FUNCTION_ARN}\"}} does not equal the request's encryption context {{}}"
        )),
        "{text}"
    );

    // trent access: my-role through the key policy, and the grant.
    let access = trent_ok(&server, ROOT, &["access", &key]);
    assert!(
        access.contains("arn:aws:iam::012345678901:role/my-role"),
        "{access}"
    );
    assert!(access.contains(&grant_id), "{access}");
    assert!(
        access.contains("none: the key policy names no account"),
        "{access}"
    );
    let report = trent_json(&server, ROOT, &["access", &key]);
    let st = &report["keyPolicy"][0];
    assert_eq!(st["sid"], "admin");
    assert_eq!(st["effect"], "Allow");
    assert_eq!(
        st["principals"][0],
        "arn:aws:iam::012345678901:role/my-role"
    );
    assert_eq!(st["actions"][0], "kms:*");
    let g = &report["grants"][0];
    assert_eq!(g["grantId"], grant_id.as_str());
    assert_eq!(g["name"], grant_name);
    assert_eq!(g["granteePrincipal"], FUNCTION_SESSION);
    assert_eq!(
        g["operations"],
        serde_json::json!(["Decrypt", "RetireGrant"])
    );
    assert_eq!(
        g["constraints"]["EncryptionContextEquals"][EC_KEY],
        FUNCTION_ARN
    );
    assert_eq!(
        g["retiringPrincipal"],
        "lambda.ap-northeast-1.amazonaws.com"
    );
    // Known identities: the admin session through statement 0, the function through the grant.
    let identities = report["identities"].as_array().unwrap();
    let admin_row = identities
        .iter()
        .find(|i| i["principal"] == "arn:aws:sts::012345678901:assumed-role/my-role/admin")
        .unwrap();
    assert_eq!(
        admin_row["paths"][0]["via"],
        "key policy statement 0 (Sid \"admin\")"
    );
    // Without an encryption context the grant allows at once only what its constraint does
    // not bind; Decrypt is allowed under the constraint, shown as the condition.
    let function_row = identities
        .iter()
        .find(|i| i["principal"] == FUNCTION_SESSION)
        .unwrap();
    let via = format!("grant {grant_id} (\"{grant_name}\")");
    let constraint = format!("EncryptionContextEquals {{\"{EC_KEY}\":\"{FUNCTION_ARN}\"}}");
    assert_eq!(
        function_row["paths"],
        serde_json::json!([
            { "via": via, "actions": ["kms:RetireGrant"] },
            { "via": via, "condition": constraint, "actions": ["kms:Decrypt"] },
        ])
    );
    let (code, table, _) = trent(
        &server,
        ROOT,
        &[
            "access",
            &key,
            "--principal",
            FUNCTION_SESSION,
            "--action",
            "kms:Decrypt",
        ],
    );
    assert_eq!(code, 0, "a conditional allow is an allow: {table}");
    let row = table
        .lines()
        .find(|l| l.starts_with(FUNCTION_SESSION))
        .unwrap_or_else(|| panic!("a row for the function: {table}"));
    assert!(
        row.contains("Allow")
            && row.contains("kms:Decrypt")
            && row.contains(&via)
            && row.ends_with(&constraint),
        "{table}"
    );

    // Retire the grant: now nothing lets the function in.
    let retiring_request = admin
        .retire_grant()
        .key_id(key_arn(&key))
        .grant_id(&grant_id)
        .send()
        .await
        .unwrap()
        .request_id()
        .unwrap()
        .to_string();
    let (denied_id, allowed) = function_decrypt(&server, &blob, true).await;
    assert!(!allowed);
    let text = trent_ok(&server, ROOT, &["explain", "--request-id", &denied_id]);
    let expected_summary = format!(
        "DENY (implicit) kms:Decrypt on {} for {FUNCTION_SESSION}: no key-policy statement names the caller; the key policy does not delegate to account 012345678901, so identity policies were not consulted; no grant matches",
        key_arn(&key)
    );
    assert!(text.contains(&expected_summary), "{text}");
    assert!(
        text.contains(&format!(
            "key policy: no statement names {FUNCTION_SESSION} (role arn:aws:iam::012345678901:role/test-role-cu5o193j) and the key policy does not delegate to account 012345678901"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "statement 0 (Sid \"admin\"): Allow does not apply: the principal does not match"
        ),
        "{text}"
    );
    assert!(
        text.contains("identity policies: not consulted: the key policy does not delegate to account 012345678901"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "grants: no grant matches: no grant of this key names {FUNCTION_SESSION}"
        )),
        "{text}"
    );
    // The retired grant is named: it would have allowed the request, and who retired it when.
    let retired = format!(
        "grant {grant_id} (\"{grant_name}\") would have allowed it, but it was retired at 20"
    );
    let retired_by = format!(
        " by arn:aws:sts::012345678901:assumed-role/my-role/admin in request {retiring_request}"
    );
    assert!(
        text.contains(&format!(
            "grant {grant_id} (\"{grant_name}\") for {FUNCTION_SESSION} would have allowed it, but it was retired at 20"
        )),
        "{text}"
    );
    let why_not = text
        .split("why not: what came closest to allowing it\n")
        .nth(1)
        .unwrap_or_else(|| panic!("a why-not section: {text}"));
    assert!(
        why_not.starts_with(&format!("  - {retired}")) && why_not.contains(&retired_by),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "AccessDeniedException: User: {FUNCTION_SESSION} is not authorized to perform: kms:Decrypt on resource: {} because no resource-based policy allows the kms:Decrypt action",
            key_arn(&key)
        )),
        "{text}"
    );
    let text = trent_ok(&server, ROOT, &hypothetical);
    assert!(text.starts_with(&expected_summary), "{text}");

    let access = trent_ok(&server, ROOT, &["access", &key]);
    assert!(
        access.contains("arn:aws:iam::012345678901:role/my-role"),
        "{access}"
    );
    assert!(!access.contains(&grant_id), "{access}");
    let report = trent_json(&server, ROOT, &["access", &key]);
    assert_eq!(report["grants"], serde_json::json!([]));
}

/// A denial's "why not": the grant for the caller with the wrong operation and the key-policy
/// statement naming the caller whose condition the request's context does not meet, each with
/// what was missing.
#[tokio::test(flavor = "multi_thread")]
async fn why_not_names_the_nearest_misses_and_what_was_missing() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let auditor = "arn:aws:iam::012345678901:user/auditor";
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::012345678901:role/my-role"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"billing-only","Effect":"Allow","Principal":{{"AWS":"{auditor}"}},"Action":"kms:Decrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:app":"billing"}}}}}}]}}"#
    );
    let key = key_with_policy(&admin, &policy).await;
    let grant_id = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(auditor)
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap()
        .grant_id
        .unwrap();
    let ask = [
        "explain",
        "--as",
        auditor,
        "--action",
        "kms:Decrypt",
        "--key",
        &key,
        "--encryption-context",
        "app=payroll",
    ];
    let (code, text, stderr) = trent(&server, ROOT, &ask);
    assert_eq!(code, 1, "a denial exits 1: {text}{stderr}");
    let why_not = text
        .split("why not: what came closest to allowing it\n")
        .nth(1)
        .unwrap_or_else(|| panic!("a why-not section: {text}"));
    let lines: Vec<&str> = why_not
        .lines()
        .take_while(|l| l.starts_with("  - "))
        .collect();
    assert_eq!(
        lines,
        [
            "  - key policy statement 1 (Sid \"billing-only\") names the caller, but condition StringEquals on kms:EncryptionContext:app is not met: request value \"payroll\" matches none of [\"billing\"]".to_string(),
            format!(
                "  - grant {grant_id} is for the caller, but the grant's operations [Encrypt] do not include Decrypt"
            ),
        ],
        "{text}"
    );
    let (code, json, _) = trent(&server, ROOT, &[&ask[..], &["--json"]].concat());
    assert_eq!(code, 1, "{json}");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["explanation"]["whyNot"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    // With the context the statement asks for, it allows: no why-not.
    let (code, text, _) = trent(&server, ROOT, &[&ask[..8], &["app=billing"]].concat());
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("why not"), "{text}");
}

/// `trent access` shows, per identity and action, what allows at once, what allows only under a
/// condition (a statement's Condition, a grant's constraints), the explicit deny that cuts an
/// allow and the conditional deny that would; `--principal` and `--action` narrow it and set the
/// exit status.
#[tokio::test(flavor = "multi_thread")]
async fn access_shows_conditional_allows_and_the_denies_that_cut_them() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let auditor = "arn:aws:iam::012345678901:user/auditor";
    let statement = |sid: &str, effect: &str, action: &str, condition: &str| {
        format!(
            r#"{{"Sid":"{sid}","Effect":"{effect}","Principal":{{"AWS":"{auditor}"}},"Action":{action},"Resource":"*"{condition}}}"#
        )
    };
    let billing = r#"{"StringEquals":{"kms:EncryptionContext:app":"billing"}}"#;
    let secret = r#"{"StringEquals":{"kms:EncryptionContext:app":"secret"}}"#;
    let via_s3 = r#"{"StringEquals":{"kms:ViaService":"s3.ap-northeast-1.amazonaws.com"}}"#;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::012345678901:role/my-role"}},"Action":"kms:*","Resource":"*"}},{},{},{},{},{{"Sid":"via-s3","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::012345678901:root"}},"Action":"kms:Decrypt","Resource":"*","Condition":{via_s3}}}]}}"#,
        statement(
            "billing-only",
            "Allow",
            r#""kms:Decrypt""#,
            &format!(r#","Condition":{billing}"#)
        ),
        statement(
            "read",
            "Allow",
            r#"["kms:DescribeKey","kms:GetKeyPolicy"]"#,
            ""
        ),
        statement(
            "no-secrets",
            "Deny",
            r#""kms:Decrypt""#,
            &format!(r#","Condition":{secret}"#)
        ),
        statement("no-policy-reading", "Deny", r#""kms:GetKeyPolicy""#, ""),
    );
    let key = key_with_policy(&admin, &policy).await;
    let grant_id = admin
        .create_grant()
        .key_id(&key)
        .grantee_principal(auditor)
        .operations(GrantOperation::Encrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("app", "billing")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .grant_id
        .unwrap();

    let report = trent_json(&server, ROOT, &["access", &key, "--principal", auditor]);
    let identities = report["identities"].as_array().unwrap();
    assert_eq!(
        identities.len(),
        1,
        "only the principal asked about: {report}"
    );
    assert_eq!(identities[0]["principal"], auditor);
    assert_eq!(
        identities[0]["paths"],
        serde_json::json!([
            { "via": "key policy statement 2 (Sid \"read\")", "actions": ["kms:DescribeKey"] },
            {
                "via": format!("grant {grant_id}"),
                "condition": r#"EncryptionContextSubset {"app":"billing"}"#,
                "actions": ["kms:Encrypt"],
            },
            {
                "via": "key policy statement 1 (Sid \"billing-only\")",
                "condition": billing,
                "actions": ["kms:Decrypt"],
            },
            {
                "via": "key policy statement 4 (Sid \"no-policy-reading\")",
                "denied": true,
                "actions": ["kms:GetKeyPolicy"],
            },
            {
                "via": "key policy statement 3 (Sid \"no-secrets\")",
                "condition": secret,
                "denied": true,
                "actions": ["kms:Decrypt"],
            },
        ]),
        "{report}"
    );
    // The key policy and grants are reported whole; the admin's session is not asked about.
    assert_eq!(report["keyPolicy"].as_array().unwrap().len(), 6);
    assert_eq!(report["grants"][0]["grantId"], grant_id.as_str());

    // The table: one row per path, the effect and the condition in their own columns.
    let table = trent_ok(&server, ROOT, &["access", &key, "--principal", auditor]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(auditor)).collect();
    assert_eq!(rows.len(), 5, "{table}");
    assert!(
        rows[2].contains("Allow") && rows[2].contains("kms:Decrypt") && rows[2].ends_with(billing),
        "{table}"
    );
    assert!(
        rows[3].contains("Deny") && rows[3].contains("kms:GetKeyPolicy") && rows[3].ends_with('-'),
        "{table}"
    );
    assert!(
        rows[4].contains("Deny") && rows[4].ends_with(secret),
        "{table}"
    );

    // Exit status of a query: 0 something allows (at once or under a condition), 1 nothing
    // does (a deny only, or nothing at all), 2 a bad question.
    let query = |action: &str| {
        let (code, out, err) = trent(
            &server,
            ROOT,
            &["access", &key, "--principal", auditor, "--action", action],
        );
        (code, out + &err)
    };
    assert_eq!(query("kms:Decrypt").0, 0);
    assert_eq!(
        query("kms:describekey").0,
        0,
        "actions match case-insensitively"
    );
    assert_eq!(query("kms:GetKeyPolicy").0, 1);
    assert_eq!(query("kms:ScheduleKeyDeletion").0, 1);
    let (code, out) = query("kms:CreateKey");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("kms:CreateKey is not a KMS action on keys"),
        "{out}"
    );
    let (code, _, err) = trent(
        &server,
        ROOT,
        &[
            "access",
            &key,
            "--principal",
            "arn:aws:iam::012345678901:user/nobody",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not know the principal"), "{err}");
    // A conditional delegation: the account's root passes the IAM side, so it may decrypt
    // through S3 (the auditor's identity policies allow no kms action: no such path).
    let root = "arn:aws:iam::012345678901:root";
    let report = trent_json(
        &server,
        ROOT,
        &[
            "access",
            &key,
            "--principal",
            root,
            "--action",
            "kms:Decrypt",
        ],
    );
    assert_eq!(
        report["identities"][0]["paths"],
        serde_json::json!([{
            "via": "key policy statement 5 (Sid \"via-s3\") delegates; the account's root user passes the IAM side",
            "condition": via_s3,
            "actions": ["kms:Decrypt"],
        }]),
        "{report}"
    );
    assert_eq!(
        report["delegations"][0]["knownIdentities"],
        serde_json::json!([])
    );
    // Any session of a known role, by any session name.
    let session = "arn:aws:sts::012345678901:assumed-role/my-role/any-name";
    let report = trent_json(
        &server,
        ROOT,
        &[
            "access",
            &key,
            "--principal",
            session,
            "--action",
            "kms:Decrypt",
        ],
    );
    assert_eq!(report["identities"][0]["principal"], session);
    assert_eq!(
        report["identities"][0]["paths"],
        serde_json::json!([{ "via": "key policy statement 0 (Sid \"admin\")", "actions": ["kms:Decrypt"] }])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_ask() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let created = admin.create_key().send().await.unwrap();
    let key = created.key_metadata.unwrap().key_id;
    let create_id = list_keys_request_id(&admin).await;

    // The root of the key's account, a principal allowed trent:Explain, a principal allowed
    // `*`: yes.
    for creds in [ROOT, ("AKIAAUDITOR", "auditor"), ADMIN] {
        trent_ok(&server, creds, &["access", &key]);
        trent_ok(&server, creds, &["explain", "--request-id", &create_id]);
    }
    // The function's role has no trent:Explain: no, with AWS's message.
    let (code, _, stderr) = trent(&server, FUNCTION, &["access", &key]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "AccessDeniedException: User: {FUNCTION_SESSION} is not authorized to perform: trent:Explain on resource: {} because no identity-based policy allows the trent:Explain action",
            key_arn(&key)
        )),
        "{stderr}"
    );
    let (code, _, stderr) = trent(&server, FUNCTION, &["explain", "--request-id", &create_id]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    // The root of another account: no, not even by key ARN.
    let (code, _, stderr) = trent(
        &server,
        ("AKIAOTHERROOT", "other"),
        &["access", &key_arn(&key)],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("because it belongs to account 012345678901"),
        "{stderr}"
    );
    let (code, _, stderr) = trent(
        &server,
        ("AKIAOTHERROOT", "other"),
        &[
            "explain",
            "--as",
            "arn:aws:iam::012345678901:role/my-role",
            "--action",
            "kms:Decrypt",
            "--key",
            &key,
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");

    // A role ARN is explained as a session of it; unknown principals are refused.
    let text = trent_ok(
        &server,
        ROOT,
        &[
            "explain",
            "--as",
            "arn:aws:iam::012345678901:role/my-role",
            "--action",
            "kms:ScheduleKeyDeletion",
            "--key",
            &key,
        ],
    );
    assert!(text.starts_with("ALLOW kms:ScheduleKeyDeletion"), "{text}");
    assert!(
        text.contains("identity policy \"admin\" statement 0 allows"),
        "{text}"
    );
    let (code, _, stderr) = trent(
        &server,
        ROOT,
        &[
            "explain",
            "--as",
            "arn:aws:iam::012345678901:role/nobody",
            "--action",
            "kms:Decrypt",
            "--key",
            &key,
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("does not know the principal"), "{stderr}");
    // Bad credentials are refused like any KMS request.
    let (code, _, stderr) = trent(&server, ("AKIAROOT", "wrong"), &["access", &key]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("InvalidSignatureException"), "{stderr}");
}

/// The request ID of a resource-less request (ListKeys).
async fn list_keys_request_id(c: &Client) -> String {
    let out = c.list_keys().send().await.unwrap();
    out.request_id().unwrap().to_string()
}

/// A caller of another account keeps its identity-policy names to itself: the key's account sees
/// that "an identity policy allows", the file keeps everything.
#[tokio::test(flavor = "multi_thread")]
async fn other_accounts_identity_policies_stay_hidden() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/my-role"},"Action":"kms:*","Resource":"*"},{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let key = key_with_policy(&admin, policy).await;
    let blob = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("shared"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let out = client(&server, ("AKIAPARTNER", "partner"))
        .decrypt()
        .key_id(key_arn(&key))
        .ciphertext_blob(blob)
        .send()
        .await
        .unwrap();
    let id = out.request_id().unwrap().to_string();
    let private = "partner-private-policy";

    // The operator's file has the details.
    let log = std::fs::read_to_string(server.data_dir.join("audit.log")).unwrap();
    assert!(log.contains(private));
    // The key's account sees the path, not the partner's policy names.
    let text = trent_ok(&server, ROOT, &["explain", "--request-id", &id]);
    assert!(
        text.contains(&format!(
            "ALLOW kms:Decrypt on {} for arn:aws:iam::444455556666:user/partner: key policy statement 1 (Sid \"Partner\") delegates to account 444455556666 and an identity policy allows",
            key_arn(&key)
        )),
        "{text}"
    );
    assert!(!text.contains(private), "{text}");
    let json = trent_ok(&server, ROOT, &["explain", "--request-id", &id, "--json"]);
    assert!(!json.contains(private), "{json}");
    // So does a hypothetical request as the partner.
    let args = [
        "explain",
        "--as",
        "arn:aws:iam::444455556666:user/partner",
        "--action",
        "kms:Decrypt",
        "--key",
        &key_arn(&key),
    ];
    let text = trent_ok(&server, ROOT, &args);
    assert!(text.starts_with("ALLOW kms:Decrypt"), "{text}");
    assert!(!text.contains(private), "{text}");
    let answer = trent_json(&server, ROOT, &args);
    assert!(answer.get("decision").is_none());
    assert!(!answer.to_string().contains(private));
    // The access report lists the partner without its policy names.
    let report = trent_json(&server, ROOT, &["access", &key]);
    assert_eq!(report["delegations"][0]["account"], "444455556666");
    let known: Vec<&str> = report["delegations"][0]["knownIdentities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["principal"].as_str().unwrap())
        .collect();
    assert_eq!(
        known,
        [
            "arn:aws:iam::444455556666:root",
            "arn:aws:iam::444455556666:user/partner"
        ]
    );
    assert!(!report.to_string().contains(private), "{report}");
    // The partner's account may not read the key's records.
    let (code, _, stderr) = trent(
        &server,
        ("AKIAOTHERROOT", "other"),
        &["explain", "--request-id", &id],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
}

/// Credentials and region as the `aws` CLI finds them: `--profile` (or `AWS_PROFILE`) from the
/// shared credentials and config files.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_the_shared_files() {
    let (server, key, home, aws) = server_key_and_aws_dir(CONFIG).await;
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKIANOBODY\naws_secret_access_key = x\n\n[auditor]\naws_access_key_id = AKIAAUDITOR\naws_secret_access_key = auditor\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile auditor]\nregion = ap-northeast-1\n",
    )
    .unwrap();
    let run = |extra: &[&str], profile_env: Option<&str>| {
        let mut cmd = bare_cli(home.path());
        cmd.arg("access")
            .arg(&key)
            .args(extra)
            .arg("--endpoint-url")
            .arg(&server.endpoint);
        if let Some(p) = profile_env {
            cmd.env("AWS_PROFILE", p);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, out) = run(&["--profile", "auditor"], None);
    assert!(ok, "{out}");
    assert!(out.contains(&key_arn(&key)), "{out}");
    let (ok, out) = run(&[], Some("auditor"));
    assert!(ok, "{out}");
    // The default profile's key is unknown to the server.
    let (ok, out) = run(&["--region", REGION], None);
    assert!(!ok);
    assert!(out.contains("UnrecognizedClientException"), "{out}");
    let (ok, out) = run(&["--profile", "missing"], None);
    assert!(!ok);
    assert!(out.contains("profile `missing` was not defined"), "{out}");
}

/// The CLI finds its endpoint and credentials as the aws CLI does, through the SDK's config
/// loader: AWS_ENDPOINT_URL_KMS over AWS_ENDPOINT_URL, a profile's endpoint_url and its
/// services section, and a role profile (role_arn + source_profile) assumed through Trent's STS.
#[tokio::test(flavor = "multi_thread")]
async fn cli_finds_endpoint_and_credentials_as_the_aws_cli_does() {
    let reader = r#"
[[accounts.roles]]
name = "reader"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:user/auditor"},"Action":"sts:AssumeRole"}]}'
"#;
    let config = CONFIG.replacen(
        "\n[[accounts]]\nid = \"444455556666\"",
        &format!("{reader}\n[[accounts]]\nid = \"444455556666\""),
        1,
    );
    assert_ne!(config, CONFIG);
    let (server, key, home, aws) = server_key_and_aws_dir(&config).await;
    let endpoint = &server.endpoint;
    let nowhere = "http://127.0.0.1:9";
    std::fs::write(
        aws.join("credentials"),
        "[auditor]\naws_access_key_id = AKIAAUDITOR\naws_secret_access_key = auditor\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile auditor]\nregion = ap-northeast-1\n\n\
             [profile direct]\nregion = ap-northeast-1\nendpoint_url = {endpoint}\naws_access_key_id = AKIAAUDITOR\naws_secret_access_key = auditor\n\n\
             [profile local]\nregion = ap-northeast-1\nendpoint_url = {nowhere}\nservices = trent\naws_access_key_id = AKIAAUDITOR\naws_secret_access_key = auditor\n\n\
             [services trent]\nkms =\n  endpoint_url = {endpoint}\n\n\
             [profile reader]\nregion = ap-northeast-1\nrole_arn = arn:aws:iam::012345678901:role/reader\nrole_session_name = from-profile\nsource_profile = auditor\nendpoint_url = {endpoint}\n"
        ),
    )
    .unwrap();
    let run = |profile: &str, env: &[(&str, &str)]| {
        let out = bare_cli(home.path())
            .args(["access", &key, "--profile", profile])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    let served = |(code, out): (i32, String)| {
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&key_arn(&key)), "{out}");
    };
    served(run("auditor", &[("AWS_ENDPOINT_URL", endpoint)]));
    served(run(
        "auditor",
        &[
            ("AWS_ENDPOINT_URL", nowhere),
            ("AWS_ENDPOINT_URL_KMS", endpoint),
        ],
    ));
    served(run("direct", &[]));
    served(run("local", &[]));
    // The role profile: the CLI assumed the role through Trent's STS (the profile's
    // endpoint_url), and signed as the session — which may not use trent:Explain.
    let (code, out) = run("reader", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "AccessDeniedException: User: arn:aws:sts::012345678901:assumed-role/reader/from-profile is not authorized to perform: trent:Explain"
        ),
        "{out}"
    );
    // No endpoint anywhere: the default, where nothing listens here.
    let (code, out) = run("auditor", &[("TRENT_ENDPOINT_URL", nowhere)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("cannot reach {nowhere}")), "{out}");
}

/// `trent explain --last` / `--last-denied` (with `--principal`, `--key`): the newest matching
/// request of the requester's account, explained, with the exit status of its decision; none
/// matching is an input error (2).
#[tokio::test(flavor = "multi_thread")]
async fn last_and_last_denied_find_the_newest_matching_request() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let key = role_only_key(&admin).await;
    let other_key = role_only_key(&admin).await;
    let blob = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("db-password"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    // The function is denied (no grant), then the admin decrypts.
    let (denied_id, allowed) = function_decrypt(&server, &blob, false).await;
    assert!(!allowed);
    let allowed_id = admin
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap()
        .request_id()
        .unwrap()
        .to_string();

    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_string();
    let (code, text, stderr) = trent(&server, ROOT, &["explain", "--last"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        first_line(&text).starts_with(&format!("request {allowed_id}: Decrypt")),
        "{text}"
    );
    let (code, text, stderr) = trent(&server, ROOT, &["explain", "--last-denied"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        first_line(&text).starts_with(&format!(
            "request {denied_id}: Decrypt by {FUNCTION_SESSION}"
        )),
        "{text}"
    );
    assert!(text.contains("DENY (implicit) kms:Decrypt"), "{text}");
    // By principal: the function's newest request is the denied one.
    let (code, text, _) = trent(
        &server,
        ROOT,
        &["explain", "--last", "--principal", FUNCTION_SESSION],
    );
    assert_eq!(code, 1);
    assert!(first_line(&text).contains(&denied_id), "{text}");
    // By key (ID or ARN): nothing was decrypted with the other key; CreateKey names no key.
    let (code, text, _) = trent(
        &server,
        ROOT,
        &["explain", "--last", "--key", &key_arn(&key)],
    );
    assert_eq!(code, 0);
    assert!(first_line(&text).contains(&allowed_id), "{text}");
    let (code, _, stderr) = trent(
        &server,
        ROOT,
        &["explain", "--last-denied", "--key", &other_key],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("No audit record of this account matches"),
        "{stderr}"
    );
    // Another account sees none of these.
    let (code, _, stderr) = trent(
        &server,
        ("AKIAOTHERROOT", "other"),
        &["explain", "--last-denied"],
    );
    assert_eq!(code, 2, "{stderr}");
    // --principal needs --last or --last-denied (a usage error).
    let (code, _, _) = trent(
        &server,
        ROOT,
        &[
            "explain",
            "--request-id",
            &denied_id,
            "--principal",
            FUNCTION_SESSION,
        ],
    );
    assert_eq!(code, 2);
}

/// Statements whose action does not match say nothing about a request: past three of them an
/// explanation (and the audit record it is stored in) shows them as one line with their
/// numbers, and keeps every statement that did match the action.
#[tokio::test(flavor = "multi_thread")]
async fn unrelated_statements_are_one_line() {
    let server = Server::start_with_config(CONFIG);
    let admin = client(&server, ADMIN);
    let role = "arn:aws:iam::012345678901:role/my-role";
    let unrelated: Vec<String> = [
        "kms:Sign",
        "kms:Verify",
        "kms:GenerateMac",
        "kms:TagResource",
        "kms:UntagResource",
    ]
    .iter()
    .map(|a| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"{a}","Resource":"*"}}"#
        )
    })
    .collect();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"admin","Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"kms:*","Resource":"*"}},{},{{"Sid":"elsewhere","Effect":"Allow","Principal":{{"AWS":"{role}"}},"Action":"kms:Encrypt","Resource":"arn:aws:kms:*:*:key/other"}}]}}"#,
        unrelated.join(",")
    );
    let key = key_with_policy(&admin, &policy).await;
    let out = admin
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap();
    let request_id = out.request_id().unwrap().to_string();
    let text = trent_ok(&server, ROOT, &["explain", "--request-id", &request_id]);
    let folded = "statements 1-5 (5 of 7): do not apply: the action does not match";
    assert!(text.contains(folded), "{text}");
    assert!(
        text.contains(
            "statement 6 (Sid \"elsewhere\"): Allow does not apply: the resource does not match"
        ),
        "{text}"
    );
    assert!(!text.contains("statement 1:"), "{text}");
    // The same question asked afresh explains it the same way.
    let session = "arn:aws:sts::012345678901:assumed-role/my-role/admin";
    let text = trent_ok(
        &server,
        ROOT,
        &[
            "explain",
            "--as",
            session,
            "--action",
            "kms:Encrypt",
            "--key",
            &key,
        ],
    );
    assert!(text.contains(folded), "{text}");
}
