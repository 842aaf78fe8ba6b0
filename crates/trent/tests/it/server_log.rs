//! What `trent serve` tells its operator on stderr (issue 17 items 8-10): at start the address,
//! the store, the modes, every configured access key with its principal (never a secret) and,
//! for the development identity, ready-to-paste `export` lines; then one line per request
//! (operation, principal, key, decision and what decided, latency, request ID), denials at warn
//! with the `trent explain` command that explains them, unknown access keys at warn; as text
//! or, with `--log-format json`, as one JSON object per line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::operation::RequestId;
use serde_json::Value;

use crate::support::Server;
use crate::support::authz::{Toml, allow, client as client_of, secret};
use crate::support::kms::*;

const ROOT: &str = "AKLOG_ROOT";
const READER: &str = "AKLOG_READER";
const ACCT: &str = "111122223333";

fn accounts() -> String {
    Toml::new()
        .account(ACCT, ROOT)
        .user("reader", READER, &[], &[allow("kms:ListKeys", "*")])
        .build()
}

#[tokio::test]
async fn the_start_says_where_how_and_who() {
    let s = Server::start();
    let log = s.log_with("export AWS_ENDPOINT_URL");
    let port = s.endpoint.rsplit(':').next().unwrap();
    for needle in [
        format!("listening on http://127.0.0.1:{port}, data dir "),
        "authorization enforced, audit fsync for state changes".to_string(),
        "access key test: arn:aws:iam::000000000000:root".to_string(),
        format!(
            "export AWS_ENDPOINT_URL=http://127.0.0.1:{port} AWS_ACCESS_KEY_ID=test \
             AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
        ),
    ] {
        assert!(log.contains(&needle), "{needle:?} not in:\n{log}");
    }

    // Declared accounts: their keys and principals, no secret, no development identity.
    let s = Server::start_with_args(&accounts(), &["--authz", "audit"]);
    let log = s.log_with(&format!("access key {READER}"));
    assert!(
        log.contains(&format!("access key {ROOT}: arn:aws:iam::{ACCT}:root")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "access key {READER}: arn:aws:iam::{ACCT}:user/reader"
        )),
        "{log}"
    );
    assert!(log.contains("authorization audit only"), "{log}");
    assert!(!log.contains("export AWS_ENDPOINT_URL"), "{log}");
    for key in [ROOT, READER] {
        assert!(
            !log.contains(&secret(key)),
            "a secret is in the log:\n{log}"
        );
    }
}

#[tokio::test]
async fn every_request_has_its_line_and_denials_say_how_to_explain_them() {
    let s = Server::start_with_config(&accounts());
    let root = client_of(&s, ROOT);
    let created = root.create_key().send().await.unwrap();
    let key = created.key_metadata().unwrap().key_id().to_string();
    let line = |log: &str, id: &str| {
        log.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("no line for {id}:\n{log}"))
            .to_string()
    };
    let id = created.request_id().unwrap();
    let allowed = line(&s.log_with(id), id);
    for needle in [
        " INFO trent::request: CreateKey by arn:aws:iam::111122223333:root: allowed",
        "decision=\"allow\"",
        "by=\"the account's root user\"",
        "latency_ms=",
    ] {
        assert!(allowed.contains(needle), "{needle:?} not in {allowed}");
    }

    let reader = client_of(&s, READER);
    let e = reader.describe_key().key_id(&key).send().await.unwrap_err();
    let id = e.request_id().unwrap().to_string();
    let denied = line(&s.log_with(&id), &id);
    for needle in [
        " WARN trent::request: DescribeKey by arn:aws:iam::111122223333:user/reader: denied",
        &format!("key=\"us-east-1/{key}\""),
        "decision=\"deny\"",
        "by=\"no identity policy allows\"",
        &format!("hint=trent explain --request-id {id}"),
    ] {
        assert!(denied.contains(needle), "{needle:?} not in {denied}");
    }

    let stranger = s.kms_as("AKUNKNOWN", "whatever", "us-east-1");
    let e = stranger.list_keys().send().await.unwrap_err();
    assert_eq!(crate::support::err(e).0, "UnrecognizedClientException");
    let log = s.log_with("by access key AKUNKNOWN");
    let unknown = line(&log, "by access key AKUNKNOWN");
    assert!(unknown.contains(" WARN "), "{unknown}");
    assert!(
        unknown.contains("the keys it knows are logged when it starts"),
        "{unknown}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Server::start_in_with_args(&tmp.path().join("data"), None, &["--log-format", "json"]);
    let kms = s.kms();
    let created = new_key(&kms).await;
    let blob = encrypt(&kms, created.key_id(), b"x").await;
    let out = kms.decrypt().ciphertext_blob(blob).send().await.unwrap();
    let id = out.request_id().unwrap();
    let log = s.log_with(id);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["request_id"] == id)
        .unwrap_or_else(|| panic!("no line for {id}:\n{log}"));
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["target"], "trent::request");
    assert_eq!(request["operation"], "Decrypt");
    assert_eq!(request["principal"], "arn:aws:iam::000000000000:root");
    assert_eq!(
        request["key"],
        format!("us-east-1/{}", created.key_id()).as_str()
    );
    assert_eq!(request["decision"], "allow");
    assert!(request["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("listening on http://")
    }));
}

/// `GET /metrics`: request counts by operation and outcome, latency histograms by operation, in
/// Prometheus's text format; `GET /health` answers while the server serves.
#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome() {
    let s = Server::start_with_config(&accounts());
    let root = client_of(&s, ROOT);
    let key = root
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    for _ in 0..3 {
        root.describe_key().key_id(&key).send().await.unwrap();
    }
    let reader = client_of(&s, READER);
    reader.describe_key().key_id(&key).send().await.unwrap_err();
    reader.list_keys().send().await.unwrap();
    root.describe_key()
        .key_id("alias/none")
        .send()
        .await
        .unwrap_err();

    let health = raw(&s.endpoint, "GET", "/health", &[], b"");
    assert_eq!(health.status, 200);
    let metrics = raw(&s.endpoint, "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(metrics.body.clone()).unwrap();
    for line in [
        "# TYPE trent_requests_total counter",
        "trent_requests_total{operation=\"CreateKey\",outcome=\"allow\"} 1",
        "trent_requests_total{operation=\"DescribeKey\",outcome=\"allow\"} 3",
        "trent_requests_total{operation=\"DescribeKey\",outcome=\"deny\"} 1",
        "trent_requests_total{operation=\"DescribeKey\",outcome=\"error\"} 1",
        "trent_requests_total{operation=\"ListKeys\",outcome=\"allow\"} 1",
        "# TYPE trent_request_duration_seconds histogram",
        "trent_request_duration_seconds_bucket{operation=\"DescribeKey\",le=\"+Inf\"} 5",
        "trent_request_duration_seconds_count{operation=\"DescribeKey\"} 5",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
    // Buckets are cumulative: never fewer requests under a larger bound.
    let buckets: Vec<u64> = text
        .lines()
        .filter(|l| {
            l.starts_with("trent_request_duration_seconds_bucket{operation=\"DescribeKey\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 13);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}
