//! The audit log through the real binary: one CloudTrail-shaped JSON line per request whose
//! `trentAuthorization` names the statement, identity policy, grant or missing delegation that
//! decided (spec §11 rows 1, 2, 3, 4, 5, 9, 12, 13, 14); nothing secret in it; and complete lines
//! for every acknowledged request when the server is killed mid-burst.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kms::Client;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, GrantConstraints, GrantOperation, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{Server, hex};

const B: &str = "111122223333";
const REGION: &str = "us-east-1";

fn allow(action: &str, sid: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn config() -> String {
    let role = |name: &str, key: &str, policy: Option<(&str, String)>| {
        let policies = policy
            .map(|(n, doc)| format!("policies = [{{ name = \"{n}\", document = '{doc}' }}]\n"))
            .unwrap_or_default();
        format!(
            "[[accounts.roles]]\nname = \"{name}\"\n{policies}sessions = [{{ name = \"s\", access_key_id = \"{key}\", secret_access_key = \"{key}\" }}]\n"
        )
    };
    let decrypt_b = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DecryptB","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#;
    [
        format!(
            "[[accounts]]\nid = \"{B}\"\naccess_keys = [{{ access_key_id = \"AKIAROOTB\", secret_access_key = \"AKIAROOTB\" }}]\n"
        ),
        role("nobody", "ASIANOBODY", None),
        role(
            "decrypter",
            "ASIADECRYPTER",
            Some(("decrypt-b", decrypt_b.to_string())),
        ),
        role("R", "ASIAR", None),
        role(
            "R2",
            "ASIAR2",
            Some(("decrypt-all", allow("kms:Decrypt", "AnyKey"))),
        ),
        role(
            "admin",
            "ASIAADMINB",
            Some(("kms-all", allow("kms:*", "Everything"))),
        ),
        role(
            "creator",
            "ASIACREATOR",
            Some(("create-only", allow("kms:CreateKey", "Create"))),
        ),
    ]
    .concat()
}

fn client(server: &Server, key: &str) -> Client {
    server.kms_as(key, key, REGION)
}

fn audit_lines(server: &Server) -> Vec<Value> {
    let text = std::fs::read_to_string(server.data_dir.join("audit.log")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn record(server: &Server, request_id: &str) -> Value {
    audit_lines(server)
        .into_iter()
        .find(|r| r["requestID"] == request_id)
        .unwrap_or_else(|| panic!("no audit record for {request_id}"))
}

/// The request ID of a failed call, and its error code.
fn failed<E>(
    e: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> (String, String)
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
{
    let id = e.request_id().unwrap().to_string();
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default()
        .to_string();
    (id, code)
}

async fn create_key(c: &Client, policy: Option<&str>) -> String {
    let mut req = c.create_key();
    if let Some(p) = policy {
        req = req.policy(p).bypass_policy_lockout_safety_check(true);
    }
    req.send().await.unwrap().key_metadata.unwrap().key_id
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{B}:key/{id}")
}

fn decision(r: &Value, i: usize) -> &Value {
    &r["trentAuthorization"]["decisions"][i]
}

fn cause<'a>(d: &'a Value, source: &str) -> &'a Value {
    d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == source)
        .unwrap_or_else(|| panic!("no {source} cause in {d}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn trent_authorization_names_what_decided() {
    let server = Server::start_with_config(&config());
    let root = client(&server, "AKIAROOTB");
    let default_key = create_key(&root, None).await;
    let secret = "the-plaintext-that-must-never-be-logged";
    let blob = root
        .encrypt()
        .key_id(&default_key)
        .plaintext(Blob::new(secret))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // Row 1: default policy, no IAM: the key policy delegates, IAM does not allow.
    let (id, code) = failed(
        client(&server, "ASIANOBODY")
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "AccessDeniedException");
    let r = record(&server, &id);
    assert_eq!(r["eventVersion"], "1.08");
    assert_eq!(r["eventSource"], "kms.amazonaws.com");
    assert_eq!(r["eventName"], "Decrypt");
    assert_eq!(r["eventType"], "AwsApiCall");
    assert_eq!(r["awsRegion"], REGION);
    assert_eq!(r["readOnly"], false);
    assert_eq!(r["recipientAccountId"], B);
    assert_eq!(r["errorCode"], "AccessDeniedException");
    assert_eq!(
        r["errorMessage"],
        format!(
            "User: arn:aws:sts::{B}:assumed-role/nobody/s is not authorized to perform: kms:Decrypt on resource: {} because no identity-based policy allows the kms:Decrypt action",
            key_arn(&default_key)
        )
    );
    assert_eq!(
        r["resources"],
        json!([{"accountId": B, "type": "AWS::KMS::Key", "ARN": key_arn(&default_key)}])
    );
    let id_ = &r["userIdentity"];
    assert_eq!(id_["type"], "AssumedRole");
    assert_eq!(
        id_["arn"],
        format!("arn:aws:sts::{B}:assumed-role/nobody/s")
    );
    assert_eq!(id_["accountId"], B);
    assert_eq!(id_["accessKeyId"], "ASIANOBODY");
    assert!(id_["principalId"].as_str().unwrap().ends_with(":s"));
    assert_eq!(
        id_["sessionContext"]["sessionIssuer"]["arn"],
        format!("arn:aws:iam::{B}:role/nobody")
    );
    assert_eq!(id_["sessionContext"]["sessionIssuer"]["type"], "Role");
    let d = decision(&r, 0);
    assert_eq!(d["outcome"], "ImplicitDeny");
    let kp = cause(d, "keyPolicy");
    assert_eq!(kp["effect"], "delegates");
    assert_eq!(kp["statement"], 0);
    assert_eq!(kp["sid"], "Enable IAM User Permissions");
    assert_eq!(cause(d, "identityPolicy")["effect"], "doesNotAllow");
    assert!(
        d["summary"]
            .as_str()
            .unwrap()
            .contains("the key policy delegates to account 111122223333 but no identity policy allows kms:Decrypt"),
        "{d}"
    );

    // Row 2: the identity policy allows: named, with its statement.
    let out = client(&server, "ASIADECRYPTER")
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap();
    let r = record(&server, out.request_id().unwrap());
    assert!(r.get("errorCode").is_none());
    let d = decision(&r, 0);
    assert_eq!(d["outcome"], "Allow");
    assert_eq!(cause(d, "keyPolicy")["effect"], "delegates");
    assert_eq!(cause(d, "keyPolicy")["sid"], "Enable IAM User Permissions");
    let ip = cause(d, "identityPolicy");
    assert_eq!(ip["effect"], "allows");
    assert_eq!(ip["policy"], "decrypt-b");
    assert_eq!(ip["statement"], 0);
    assert_eq!(ip["sid"], "DecryptB");

    // Rows 3 and 4: a key policy naming only role R.
    let r_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"R-only","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:role/R"}},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}}]}}"#
    );
    let r_key = create_key(&root, Some(&r_only)).await;
    let r_client = client(&server, "ASIAR");
    let r_blob = r_client
        .encrypt()
        .key_id(key_arn(&r_key))
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let out = r_client
        .decrypt()
        .ciphertext_blob(r_blob.clone())
        .send()
        .await
        .unwrap();
    let d = decision(&record(&server, out.request_id().unwrap()), 0).clone();
    let kp = cause(&d, "keyPolicy");
    assert_eq!(
        (kp["effect"].as_str(), kp["sid"].as_str()),
        (Some("allows"), Some("R-only"))
    );
    let (id, code) = failed(
        client(&server, "ASIAR2")
            .decrypt()
            .ciphertext_blob(r_blob)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "AccessDeniedException");
    let r = record(&server, &id);
    assert!(
        r["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("because no resource-based policy allows the kms:Decrypt action")
    );
    let d = decision(&r, 0);
    assert_eq!(cause(d, "keyPolicy")["effect"], "doesNotAllow");
    assert_eq!(
        cause(d, "identityPolicy")["why"],
        "not consulted: the key policy does not delegate to account 111122223333"
    );
    assert!(
        d["summary"].as_str().unwrap().ends_with(
            "no key-policy statement names the caller; the key policy does not delegate to account 111122223333, so identity policies were not consulted; no grant matches"
        ),
        "{d}"
    );

    // Row 5: an explicit deny in the key policy, with its index and Sid.
    let deny_without_app = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"RequireApp","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"StringNotEquals":{{"kms:EncryptionContext:app":"x"}}}}}}]}}"#
    );
    let app_key = create_key(&root, Some(&deny_without_app)).await;
    let admin = client(&server, "ASIAADMINB");
    let app_blob = admin
        .encrypt()
        .key_id(key_arn(&app_key))
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let (id, _) = failed(
        admin
            .decrypt()
            .ciphertext_blob(app_blob)
            .send()
            .await
            .unwrap_err(),
    );
    let r = record(&server, &id);
    assert!(
        r["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("with an explicit deny in a resource-based policy")
    );
    let d = decision(&r, 0);
    assert_eq!(d["outcome"], "ExplicitDeny");
    let kp = cause(d, "keyPolicy");
    assert_eq!(
        (
            kp["effect"].as_str(),
            kp["statement"].as_u64(),
            kp["sid"].as_str()
        ),
        (Some("denies"), Some(1), Some("RequireApp"))
    );

    // Row 9: a grant to role R with an EncryptionContextSubset constraint.
    let grant = root
        .create_grant()
        .key_id(&default_key)
        .grantee_principal(format!("arn:aws:iam::{B}:role/R"))
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("app", "x")
                .build(),
        )
        .name("row9")
        .send()
        .await
        .unwrap();
    let grant_id = grant.grant_id.clone().unwrap();
    let grant_token = grant.grant_token.clone().unwrap();
    let ec_blob = root
        .encrypt()
        .key_id(&default_key)
        .plaintext(Blob::new(secret))
        .encryption_context("app", "x")
        .encryption_context("v", "1")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let out = r_client
        .decrypt()
        .ciphertext_blob(ec_blob.clone())
        .encryption_context("app", "x")
        .encryption_context("v", "1")
        .grant_tokens(&grant_token)
        .send()
        .await
        .unwrap();
    let r = record(&server, out.request_id().unwrap());
    let d = decision(&r, 0);
    let g = cause(d, "grant");
    assert_eq!(
        (
            g["effect"].as_str(),
            g["grantId"].as_str(),
            g["grantName"].as_str()
        ),
        (Some("allows"), Some(grant_id.as_str()), Some("row9"))
    );
    assert_eq!(
        r["requestParameters"],
        json!({
            "encryptionContext": {"app": "x", "v": "1"},
            "grantTokens": ["HIDDEN_DUE_TO_SECURITY_REASONS"],
        })
    );
    assert_eq!(r["responseElements"], Value::Null);
    let create_grant = audit_lines(&server)
        .into_iter()
        .find(|r| r["eventName"] == "CreateGrant")
        .unwrap();
    assert_eq!(
        create_grant["responseElements"],
        json!({"grantId": grant_id})
    );
    assert_eq!(
        create_grant["requestParameters"]["constraints"],
        json!({"encryptionContextSubset": {"app": "x"}})
    );

    // Row 12: a key-policy deny of R beats R's grant.
    let deny_r = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"DenyR","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{B}:role/R"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let deny_key = create_key(&root, Some(&deny_r)).await;
    let deny_grant = root
        .create_grant()
        .key_id(&deny_key)
        .grantee_principal(format!("arn:aws:iam::{B}:role/R"))
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap()
        .grant_id
        .unwrap();
    let deny_blob = root
        .encrypt()
        .key_id(&deny_key)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let (id, _) = failed(
        r_client
            .decrypt()
            .ciphertext_blob(deny_blob)
            .send()
            .await
            .unwrap_err(),
    );
    let d = decision(&record(&server, &id), 0).clone();
    assert_eq!(d["outcome"], "ExplicitDeny");
    let kp = cause(&d, "keyPolicy");
    assert_eq!(
        (kp["statement"].as_u64(), kp["sid"].as_str()),
        (Some(1), Some("DenyR"))
    );
    let grants_node = d["tree"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["text"].as_str().unwrap().starts_with("grants:"))
        .unwrap();
    assert!(
        grants_node["children"][0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "grant {deny_grant} for arn:aws:iam::{B}:role/R: matches"
            )),
        "{grants_node}"
    );

    // Row 13: the lockout safety check, explained.
    let encrypt_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"kms:Encrypt","Resource":"*"}}]}}"#
    );
    let (id, code) = failed(
        admin
            .create_key()
            .policy(&encrypt_only)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "MalformedPolicyDocumentException");
    let r = record(&server, &id);
    assert_eq!(
        r["errorMessage"],
        "The new key policy will not allow you to update the key policy in the future."
    );
    assert_eq!(r["requestParameters"]["policy"], encrypt_only.as_str());
    assert_eq!(r["resources"], json!([]));
    let d = decision(&r, 0);
    assert_eq!(
        (d["action"].as_str(), d["outcome"].as_str()),
        (Some("kms:CreateKey"), Some("Allow"))
    );
    assert_eq!(cause(d, "identityPolicy")["policy"], "kms-all");
    let lockout = &r["trentAuthorization"]["lockoutCheck"][0];
    assert_eq!(lockout["action"], "kms:PutKeyPolicy");
    assert_eq!(lockout["outcome"], "ImplicitDeny");
    assert!(
        lockout["summary"].as_str().unwrap().contains(
            "the key policy's delegation to account 111122223333 does not cover this request (statement 0: the action does not match)"
        ),
        "{lockout}"
    );

    // Row 14: CreateKey with tags needs kms:TagResource from IAM.
    let (id, code) = failed(
        client(&server, "ASIACREATOR")
            .create_key()
            .tags(
                Tag::builder()
                    .tag_key("team")
                    .tag_value("blue")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "AccessDeniedException");
    let r = record(&server, &id);
    assert_eq!(
        r["errorMessage"],
        format!(
            "User: arn:aws:sts::{B}:assumed-role/creator/s is not authorized to perform: kms:TagResource because no identity-based policy allows the kms:TagResource action"
        )
    );
    let create = decision(&r, 0);
    assert_eq!(
        (create["action"].as_str(), create["outcome"].as_str()),
        (Some("kms:CreateKey"), Some("Allow"))
    );
    let ip = cause(create, "identityPolicy");
    assert_eq!(
        (ip["policy"].as_str(), ip["sid"].as_str()),
        (Some("create-only"), Some("Create"))
    );
    let tag = decision(&r, 1);
    assert_eq!(
        (tag["action"].as_str(), tag["outcome"].as_str()),
        (Some("kms:TagResource"), Some("ImplicitDeny"))
    );
    assert_eq!(
        cause(tag, "identityPolicy")["why"],
        "no identity policy allows kms:TagResource on *"
    );
    assert_eq!(
        r["requestParameters"]["tags"],
        json!([{"tagKey": "team", "tagValue": "blue"}])
    );

    // Authentication failures are logged with the access key only.
    let (id, code) = failed(
        server
            .kms_as("AKIAROOTB", "wrong-secret", REGION)
            .list_keys()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "InvalidSignatureException");
    let r = record(&server, &id);
    assert_eq!(r["userIdentity"], json!({"accessKeyId": "AKIAROOTB"}));
    assert_eq!(r["errorCode"], "InvalidSignatureException");
    assert!(r.get("recipientAccountId").is_none());
    assert_eq!(r["trentAuthorization"]["decisions"], json!([]));

    // Nothing secret in the file: plaintexts, data keys, ciphertexts, grant tokens.
    let gdk = root
        .generate_data_key()
        .key_id(&default_key)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("purpose", "audit-test")
        .send()
        .await
        .unwrap();
    let data_key = gdk.plaintext.unwrap().into_inner();
    let wrapped = gdk.ciphertext_blob.unwrap().into_inner();
    let decrypted = root
        .decrypt()
        .ciphertext_blob(Blob::new(wrapped.clone()))
        .encryption_context("purpose", "audit-test")
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext.unwrap().into_inner(), data_key);
    let log = std::fs::read_to_string(server.data_dir.join("audit.log")).unwrap();
    let gdk_record = record(&server, gdk_request_id(&log, "GenerateDataKey"));
    assert_eq!(
        gdk_record["requestParameters"],
        json!({"keyId": default_key, "keySpec": "AES_256", "encryptionContext": {"purpose": "audit-test"}})
    );
    assert_eq!(gdk_record["responseElements"], Value::Null);
    for (what, needle) in [
        ("plaintext", secret.to_string()),
        ("plaintext (base64)", STANDARD.encode(secret)),
        ("data key (base64)", STANDARD.encode(&data_key)),
        ("data key (hex)", hex(&data_key)),
        ("wrapped data key", STANDARD.encode(&wrapped)),
        ("ciphertext", STANDARD.encode(blob.as_ref())),
        ("ciphertext with context", STANDARD.encode(ec_blob.as_ref())),
        ("grant token", grant_token.clone()),
    ] {
        assert!(!log.contains(&needle), "the audit log contains the {what}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.data_dir.join("audit.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

fn gdk_request_id<'a>(log: &'a str, event: &str) -> &'a str {
    let needle = format!("\"eventName\":\"{event}\"");
    let line = log.lines().rev().find(|l| l.contains(&needle)).unwrap();
    let start = line.find("\"requestID\":\"").unwrap() + "\"requestID\":\"".len();
    &line[start..start + 36]
}

/// SIGKILL in the middle of a burst of CreateKey calls: every line of the log parses, and every
/// CreateKey that returned 200 has its line (with the key's ARN).
#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_burst_every_acknowledged_request_has_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let server = Server::start_in(&data_dir, None);
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let kms = aws_sdk_kms::Client::from_conf(
            server
                .kms()
                .config()
                .to_builder()
                .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
                .build(),
        );
        let (acknowledged, count) = (Arc::clone(&acknowledged), Arc::clone(&count));
        tasks.push(tokio::spawn(async move {
            loop {
                match kms.create_key().description("burst").send().await {
                    Ok(out) => {
                        let id = out.request_id().unwrap().to_string();
                        let arn = out.key_metadata.unwrap().arn.unwrap();
                        acknowledged.lock().unwrap().push((id, arn));
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    while count.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server); // SIGKILL, while the tasks keep sending
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .unwrap()
            .unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    let check = |text: &str| {
        let mut records = std::collections::HashMap::new();
        for line in text.split_inclusive('\n') {
            let Some(line) = line.strip_suffix('\n') else {
                // A record cut short by the kill: its response was never sent.
                continue;
            };
            let r: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("an audit line does not parse ({e}): {line}"));
            records.insert(r["requestID"].as_str().unwrap().to_string(), r);
        }
        for (id, arn) in &acknowledged {
            let r = records
                .get(id)
                .unwrap_or_else(|| panic!("acknowledged CreateKey {id} has no audit line"));
            assert_eq!(r["eventName"], "CreateKey");
            assert_eq!(r["resources"][0]["ARN"], arn.as_str());
            assert_eq!(r["responseElements"]["keyMetadata"]["arn"], arn.as_str());
        }
        records.len()
    };
    let log = data_dir.join("audit.log");
    let before = std::fs::read_to_string(&log).unwrap();
    let complete = check(&before);
    assert!(complete >= acknowledged.len());

    // The next start removes a torn last line, if the kill left one: every line is complete.
    let server = Server::start_in(&data_dir, None);
    server.kms().list_keys().send().await.unwrap();
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(after.ends_with('\n'));
    assert!(
        after
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert_eq!(check(&after), complete + 1);
}

/// Concurrent cryptographic requests share writes of the log (group write, not synced): each
/// response is sent only once its own record is in the file, whole, and no record is written
/// twice or lost.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_are_each_written_before_their_response() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(&tmp.path().join("data"), None);
    let key = create_key(&server.kms(), None).await;
    let log = server.data_dir.join("audit.log");
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (kms, key, log) = (server.kms(), key.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..12 {
                let out = kms
                    .encrypt()
                    .key_id(&key)
                    .plaintext(Blob::new(format!("{worker}/{i}")))
                    .send()
                    .await
                    .unwrap();
                let id = out.request_id().unwrap().to_string();
                // Read at once: the record must already be there, on a line of its own.
                let text = std::fs::read_to_string(&log).unwrap();
                let line = text
                    .lines()
                    .find(|l| l.contains(&id))
                    .unwrap_or_else(|| panic!("Encrypt {id} was answered before its record"));
                let r: Value = serde_json::from_str(line).unwrap();
                assert_eq!(r["requestID"], id.as_str());
                assert_eq!(r["eventName"], "Encrypt");
                ids.push(id);
            }
            ids
        }));
    }
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.unwrap());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with('\n'));
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for line in text.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        *seen
            .entry(r["requestID"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for id in &answered {
        assert_eq!(seen.get(id), Some(&1), "{id} must be written exactly once");
    }
    assert_eq!(answered.len(), 16 * 12);
}
