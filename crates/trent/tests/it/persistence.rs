//! Durability through the real binary: everything a client can observe survives SIGTERM and a
//! restart on the same data dir; the root key file is private; and a server started with a root
//! key other than the one that sealed the data fails cleanly (KMSInternalException, no panic, no
//! damage) until it is given the right key again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState};

use crate::support::kms::*;
use crate::support::{Server, hex};

fn ec() -> HashMap<String, String> {
    HashMap::from([("purpose".to_string(), "restart".to_string())])
}

#[tokio::test]
async fn everything_survives_sigterm_and_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let s = Server::start_in(&dir, None);
    let kms = s.kms();
    let key = kms
        .create_key()
        .description("durable")
        .tags(tag("team", "storage"))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let id = key.key_id().to_string();
    kms.create_alias()
        .alias_name("alias/durable")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let blob = kms
        .encrypt()
        .key_id("alias/durable")
        .plaintext(Blob::new("across restarts"))
        .set_encryption_context(Some(ec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let data_key = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    let disabled = new_key(&kms).await.key_id().to_string();
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let eu = s.kms_as("test", "test", "eu-west-1");
    let eu_key = new_key(&eu).await.key_id().to_string();
    let before = snapshot(&kms).await;
    let before_eu = snapshot(&eu).await;

    let status = s.stop();
    assert!(status.success(), "SIGTERM exit: {status:?}");

    let s = Server::start_in(&dir, None);
    let kms = s.kms();
    assert_eq!(snapshot(&kms).await, before);
    let eu = s.kms_as("test", "test", "eu-west-1");
    assert_eq!(snapshot(&eu).await, before_eu);
    assert_eq!(all_key_ids(&eu, 10).await, vec![eu_key]);

    let d = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .set_encryption_context(Some(ec()))
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), b"across restarts");
    assert_eq!(d.key_id(), Some(key_arn(&id).as_str()));
    let d = kms
        .decrypt()
        .key_id("alias/durable")
        .ciphertext_blob(data_key.ciphertext_blob.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext, data_key.plaintext);
    // The disabled key is still disabled, and the old key still encrypts.
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&disabled)
                .plaintext(Blob::new("x"))
                .send()
                .await
        )
        .0,
        "DisabledException"
    );
    encrypt(&kms, &id, b"still works").await;

    // A second restart, after more changes.
    kms.untag_resource()
        .key_id(&id)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    kms.delete_alias()
        .alias_name("alias/durable")
        .send()
        .await
        .unwrap();
    let before = snapshot(&kms).await;
    assert!(s.stop().success());
    let s = Server::start_in(&dir, None);
    assert_eq!(snapshot(&s.kms()).await, before);
}

#[tokio::test]
async fn a_key_pending_deletion_stays_pending_across_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Server::start_in(&dir, None);
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let scheduled = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let blob = {
        let other = new_key(&kms).await.key_id().to_string();
        encrypt(&kms, &other, b"unrelated").await
    };
    assert!(s.stop().success());

    let s = Server::start_in(&dir, None);
    let kms = s.kms();
    let d = describe(&kms, &id).await;
    assert_eq!(d.key_state(), Some(&KeyState::PendingDeletion));
    assert!(!d.enabled());
    assert_eq!(d.deletion_date(), scheduled.deletion_date());
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        expected(
            "KMSInvalidStateException",
            &format!("{} is pending deletion.", key_arn(&id))
        )
    );
    kms.decrypt().ciphertext_blob(blob).send().await.unwrap();
    // Cancelling after the restart works and leaves the key disabled, across another restart.
    kms.cancel_key_deletion().key_id(&id).send().await.unwrap();
    assert!(s.stop().success());
    let s = Server::start_in(&dir, None);
    let d = describe(&s.kms(), &id).await;
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    assert!(d.deletion_date().is_none());
}

/// The data dir, the database and its WAL and shared-memory files are the owner's only, whatever
/// the umask (issue 20's probe found them 0755 and 0644).
#[tokio::test]
async fn the_data_dir_and_database_files_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let s = Server::start_in(&dir, None);
    new_key(&s.kms()).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data dir mode");
    for file in ["trent.db", "trent.db-wal", "trent.db-shm", "audit.log"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file} mode");
    }
    assert!(s.stop().success());
}

#[tokio::test]
async fn the_root_key_file_is_private_and_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Server::start_in(&dir, None);
    new_key(&s.kms()).await;
    let root = dir.join("root.key");
    let meta = std::fs::metadata(&root).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "root.key mode");
    assert_eq!(meta.len(), 32);
    let first = std::fs::read(&root).unwrap();
    assert!(s.stop().success());
    let s = Server::start_in(&dir, None);
    new_key(&s.kms()).await;
    assert_eq!(
        std::fs::read(&root).unwrap(),
        first,
        "root.key was rewritten"
    );
    // Two data dirs, two root keys.
    let other = tmp.path().join("other");
    let s2 = Server::start_in(&other, None);
    new_key(&s2.kms()).await;
    assert_ne!(std::fs::read(other.join("root.key")).unwrap(), first);
}

/// Runs `trent serve` expecting it to refuse to start; returns its stderr.
fn refused_start(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("TRENT_ROOT_KEY")
        .env_remove("TRENT_CONFIG")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("trent serve did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success(),
        "exit status {status:?}; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[tokio::test]
async fn a_root_key_file_others_can_read_or_of_the_wrong_size_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Server::start_in(&dir, None);
    new_key(&s.kms()).await;
    assert!(s.stop().success());
    let root = dir.join("root.key");

    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = refused_start(&dir, &[]);
    assert!(stderr.contains("root.key"), "{stderr}");

    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).unwrap();
    let good = std::fs::read(&root).unwrap();
    std::fs::write(&root, &good[..31]).unwrap();
    let stderr = refused_start(&dir, &[]);
    assert!(stderr.contains("root.key"), "{stderr}");

    // A TRENT_ROOT_KEY that is not a key is refused without echoing it.
    let stderr = refused_start(&dir, &[("TRENT_ROOT_KEY", "not-a-key-at-all-s3cr3t")]);
    assert!(stderr.contains("TRENT_ROOT_KEY"), "{stderr}");
    assert!(!stderr.contains("s3cr3t"), "{stderr}");

    // Restored, the data is usable again.
    std::fs::write(&root, &good).unwrap();
    let s = Server::start_in(&dir, None);
    assert_eq!(all_key_ids(&s.kms(), 10).await.len(), 1);
}

#[tokio::test]
async fn the_wrong_root_key_is_refused_at_start_and_does_no_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Server::start_in(&dir, None);
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let blob = encrypt(&kms, &id, b"sealed under the file key").await;
    let before = snapshot(&kms).await;
    assert!(s.stop().success());
    let database = std::fs::read(dir.join("trent.db")).unwrap();
    let right = hex(&std::fs::read(dir.join("root.key")).unwrap());
    let wrong = hex(&[0x42; 32]);
    assert_ne!(right, wrong);

    // Another key in TRENT_ROOT_KEY, or another data dir's root.key: refused before anything
    // is read or sealed, with a message that says what to do, and without the key.
    let mismatch = "the root key is not the one this data was sealed under";
    let stderr = refused_start(&dir, &[("TRENT_ROOT_KEY", wrong.as_str())]);
    assert!(stderr.contains(mismatch), "{stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
    assert!(!stderr.contains(&wrong), "{stderr}");
    let other = tmp.path().join("other");
    let s = Server::start_in(&other, None);
    assert!(s.stop().success());
    std::fs::copy(other.join("root.key"), dir.join("root.key.other")).unwrap();
    let good = std::fs::read(dir.join("root.key")).unwrap();
    std::fs::rename(dir.join("root.key.other"), dir.join("root.key")).unwrap();
    let stderr = refused_start(&dir, &[]);
    assert!(stderr.contains(mismatch), "{stderr}");
    std::fs::write(dir.join("root.key"), &good).unwrap();
    // Nothing was written by the refused starts.
    assert_eq!(std::fs::read(dir.join("trent.db")).unwrap(), database);

    let s = Server::start_in(&dir, None);
    let kms = client(&s, None);
    assert_eq!(snapshot(&kms).await, before);
    assert!(s.stop().success());

    // The same key given explicitly in TRENT_ROOT_KEY (hex) is the file's key: all is well.
    let s = Server::start_in_with_env(&dir, None, &[], &[("TRENT_ROOT_KEY", right.as_str())]);
    let kms = client(&s, None);
    let d = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.plaintext().unwrap().as_ref(),
        b"sealed under the file key"
    );
    assert!(s.stop().success());

    // And back on the file key.
    let s = Server::start_in(&dir, None);
    let d = s
        .kms()
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.plaintext().unwrap().as_ref(),
        b"sealed under the file key"
    );
}

/// SIGTERM right after the server says it listens stops it cleanly: the signal handlers are in
/// place before that line (they used to be installed only once serving began, and such a
/// signal killed the process).
#[test]
fn sigterm_right_after_start_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..5 {
        let s = Server::start_in(&tmp.path().join("data"), None);
        assert!(s.stop().success(), "round {round}");
    }
}

/// `trent reset` asks (a script without `--yes` is refused), then deletes the database, the root
/// key and the audit log, leaves other files, and the next start begins empty.
#[tokio::test]
async fn reset_wipes_a_data_dir_only_when_told_to() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Server::start_in(&dir, None);
    let id = new_key(&s.kms()).await.key_id().to_string();
    assert!(s.stop().success());
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let reset = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trent"))
            .arg("reset")
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .env_remove("TRENT_DATA_DIR")
            .env_remove("TRENT_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let refused = reset(&[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(dir.join("trent.db").exists() && dir.join("root.key").exists());

    let done = reset(&["--yes"]);
    assert!(done.status.success(), "{done:?}");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("other files in it were left"), "{stdout}");
    for f in ["trent.db", "root.key", "audit.log"] {
        assert!(!dir.join(f).exists(), "{f} is still there");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    // Nothing of Trent's is left to reset.
    let again = reset(&["--yes"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds no Trent data"));

    let s = Server::start_in(&dir, None);
    assert!(all_key_ids(&s.kms(), 10).await.is_empty());
    let (code, _) = failure(s.kms().describe_key().key_id(&id).send().await);
    assert_eq!(code, "NotFoundException");
}
