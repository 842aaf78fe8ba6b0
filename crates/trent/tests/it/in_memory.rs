//! `trent serve --in-memory` through the real binary, run in an empty directory that is also its
//! HOME: it serves like the persistent server, writes no file anywhere in that directory (no data
//! dir, no root key, no audit log), forgets everything when it stops, writes audit records only
//! where `--audit-log` names, and refuses a data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::Server;
use crate::support::kms::*;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use serde_json::Value;

/// The `trent` binary with an environment that says nothing about where state goes, run in
/// `dir` with `dir` as HOME.
fn trent(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trent"));
    cmd.current_dir(dir).env("HOME", dir);
    for var in [
        "TRENT_DATA_DIR",
        "TRENT_IN_MEMORY",
        "TRENT_ROOT_KEY",
        "TRENT_CONFIG",
        "TRENT_AUDIT_LOG",
        "TRENT_LISTEN",
        "TRENT_AUTHZ",
        "TRENT_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `trent serve --in-memory` (plus `extra`) in `dir`.
fn serve_in_memory(dir: &Path, extra: &[&str]) -> Server {
    let mut cmd = trent(dir);
    cmd.args(["serve", "--in-memory", "--listen", "127.0.0.1:0"])
        .args(extra);
    // Where the data dir would be without --in-memory: it must not appear.
    Server::spawn(cmd, &dir.join("trent-data"))
}

/// Every file and directory under `dir`, relative to it, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `trent explain --request-id <id>` against `server` as the development root user.
fn explain_request(dir: &Path, server: &Server, request_id: &str) -> Output {
    trent(dir)
        .args(["explain", "--request-id", request_id, "--endpoint-url"])
        .arg(&server.endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .output()
        .unwrap()
}

#[tokio::test]
async fn serves_writes_nothing_and_forgets_everything_at_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let server = serve_in_memory(dir, &[]);
    let kms = server.kms();
    let created = kms.create_key().send().await.unwrap();
    let create_request = created.request_id().unwrap().to_string();
    let key_id = created.key_metadata.unwrap().key_id;
    kms.create_alias()
        .alias_name("alias/in-memory")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&kms, "alias/in-memory", b"kept in memory").await;
    let plaintext = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(plaintext.as_ref(), b"kept in memory");

    // No audit log by default, and `trent explain --request-id` says where one would come from.
    let out = explain_request(dir, &server, &create_request);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("does not keep its audit log in a file (trent serve --audit-log)"),
        "{stderr}"
    );

    assert_eq!(entries(dir), Vec::<PathBuf>::new(), "files were created");
    assert!(server.stop().success());
    assert_eq!(entries(dir), Vec::<PathBuf>::new(), "files were created");

    // A new process starts empty, with a root key of its own.
    let server = serve_in_memory(dir, &[]);
    let kms = server.kms();
    let (code, _) = err(kms.describe_key().key_id(&key_id).send().await.unwrap_err());
    assert_eq!(code, "NotFoundException");
    let (code, _) = err(kms
        .describe_key()
        .key_id("alias/in-memory")
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "NotFoundException");
    // A ciphertext of a key the server does not hold is not one it can attribute.
    let (code, _) = err(kms
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "InvalidCiphertextException");
    assert!(all_key_ids(&kms, 100).await.is_empty());
    assert!(server.stop().success());
    assert_eq!(entries(dir), Vec::<PathBuf>::new(), "files were created");
}

#[tokio::test]
async fn audit_records_go_to_the_audit_log_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("logs").join("audit.jsonl");

    let server = serve_in_memory(dir, &["--audit-log", log.to_str().unwrap()]);
    let kms = server.kms();
    let created = kms.create_key().send().await.unwrap();
    let create_request = created.request_id().unwrap().to_string();
    let key_id = created.key_metadata.unwrap().key_id;
    let encrypted = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"audited".as_slice()))
        .send()
        .await
        .unwrap();
    let encrypt_request = encrypted.request_id().unwrap().to_string();

    // The log is the only file, and each request has its record.
    assert_eq!(
        entries(dir),
        [PathBuf::from("logs"), PathBuf::from("logs/audit.jsonl")]
    );
    let records: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (request, event) in [
        (&create_request, "CreateKey"),
        (&encrypt_request, "Encrypt"),
    ] {
        let record = records
            .iter()
            .find(|r| r["requestID"] == request.as_str())
            .unwrap_or_else(|| panic!("no audit record of {event}: {records:?}"));
        assert_eq!(record["eventName"], event);
        assert_eq!(record["resources"][0]["ARN"], key_arn(&key_id));
    }

    // `trent explain --request-id` reads it.
    let out = explain_request(dir, &server, &encrypt_request);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    assert!(server.stop().success());
}

#[test]
fn a_data_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (args, env) in [
        (&["--data-dir", "state"][..], None),
        (&[][..], Some(("TRENT_DATA_DIR", "state"))),
    ] {
        let mut cmd = trent(dir);
        cmd.args(["serve", "--in-memory", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("trent serve {args:?} {env:?} started");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("--in-memory (TRENT_IN_MEMORY) keeps nothing on disk"),
            "{stderr}"
        );
        assert_eq!(entries(dir), Vec::<PathBuf>::new());
    }
}
