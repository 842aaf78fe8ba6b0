//! The seed file (issue 17 item 13): keys declared in `trent.toml` under `[[accounts.keys]]`,
//! applied at start through the real binary. Fixed key IDs are served with their aliases,
//! policies, tags and grants; a restart with the same file changes nothing; a changed file
//! converges; keys removed from the file are left alone unless `prune_keys`; the same imported
//! material decrypts on another machine (another root key); an invalid file refuses to start,
//! names the entry and changes nothing; instances sharing a database seed once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    GrantListEntry, GrantOperation, IncludeKeyMaterial, KeyState, OriginType,
};

use crate::support::kms::{Snapshot, all_aliases, all_tags, describe, snapshot};
use crate::support::{REGION, Server, err};

const K1: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const K2: &str = "0f0f0f0f-1111-4222-8333-444455556666";
const K3: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const ALICE: &str = "AKIAALICE";
const ALICE_SECRET: &str = "alice-secret";
const ALICE_ARN: &str = "arn:aws:iam::000000000000:user/alice";
/// Base64 of the 32 bytes 0, 1, …, 31.
const MATERIAL: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The development account, declared so that keys can be seeded into it, with a user alice who
/// may do nothing by her own policies (grants are what let her).
fn config(keys: &str) -> String {
    format!(
        r#"dev_credentials = true
[[accounts]]
id = "000000000000"
[[accounts.users]]
name = "alice"
access_keys = [{{ access_key_id = "{ALICE}", secret_access_key = "{ALICE_SECRET}" }}]
{keys}"#
    )
}

/// A key policy: the account delegates, and statement "seeded" says it is this one.
fn policy(sid: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

fn first_file() -> String {
    config(&format!(
        r#"
[[accounts.keys]]
key_id = "{K1}"
region = "us-east-1"
description = "app key"
aliases = ["alias/app", "alias/app-old"]
policy = '{}'
tags = {{ team = "blue", cost = "42" }}
[[accounts.keys.grants]]
name = "alice-crypto"
grantee_principal = "{ALICE_ARN}"
operations = ["Encrypt", "Decrypt"]
constraints = {{ encryption_context_equals = {{ app = "x" }} }}
[[accounts.keys.grants]]
name = "alice-describe"
grantee_principal = "{ALICE_ARN}"
operations = ["DescribeKey"]

[[accounts.keys]]
key_id = "{K2}"
region = "us-east-1"
key_spec = "ECC_NIST_P256"
key_usage = "SIGN_VERIFY"
enabled = false
"#,
        policy("seeded")
    ))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn grants(kms: &Client, key: &str) -> Vec<GrantListEntry> {
    let mut out = kms
        .list_grants()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .grants
        .unwrap_or_default();
    out.sort_by(|a, b| a.name().cmp(&b.name()));
    out
}

/// How many material versions the key has (its first one and every rotation).
async fn rotations(kms: &Client, key: &str) -> usize {
    kms.list_key_rotations()
        .key_id(key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap()
        .rotations()
        .len()
}

fn alice(server: &Server) -> Client {
    server.kms_as(ALICE, ALICE_SECRET, REGION)
}

async fn encrypt_as(
    kms: &Client,
    key: &str,
    context: Option<(&str, &str)>,
) -> Result<Blob, String> {
    let mut r = kms.encrypt().key_id(key).plaintext(Blob::new("hello"));
    if let Some((k, v)) = context {
        r = r.encryption_context(k, v);
    }
    r.send()
        .await
        .map(|o| o.ciphertext_blob.unwrap())
        .map_err(|e| err(e).0)
}

async fn decrypt(
    kms: &Client,
    blob: &Blob,
    context: Option<(&str, &str)>,
) -> Result<Vec<u8>, String> {
    let mut r = kms.decrypt().ciphertext_blob(blob.clone());
    if let Some((k, v)) = context {
        r = r.encryption_context(k, v);
    }
    r.send()
        .await
        .map(|o| o.plaintext.unwrap().into_inner())
        .map_err(|e| err(e).0)
}

/// Everything a client sees of the account, with the grants and rotations of every key.
async fn full_snapshot(kms: &Client) -> (Snapshot, Vec<(String, Vec<GrantListEntry>, usize)>) {
    let snap = snapshot(kms).await;
    let mut per_key = Vec::new();
    for view in &snap.keys {
        let id = view.metadata.key_id().to_string();
        let rotations = match view.metadata.key_spec().map(|s| s.as_str()) {
            Some("SYMMETRIC_DEFAULT") => rotations(kms, &id).await,
            _ => 0,
        };
        per_key.push((id.clone(), grants(kms, &id).await, rotations));
    }
    (snap, per_key)
}

/// Runs `trent serve` on `data_dir` with `config` and expects it to refuse to start: returns
/// what it printed.
fn refused(data_dir: &Path, config: &Path, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TRENT_ROOT_KEY")
        .env_remove("TRENT_CONFIG")
        .env_remove("TRENT_IN_MEMORY")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("trent serve did not exit: {}", reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap();
    assert!(!status.success(), "{text}");
    assert!(!text.contains("listening on"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_keys_are_served_with_their_aliases_policies_tags_and_grants() {
    let server = Server::start_with_config(&first_file());
    let kms = server.kms();
    let log = server.log();
    assert!(
        log.contains(&format!(
            "seed key {K1} (account 000000000000, us-east-1): created (SYMMETRIC_DEFAULT \
             ENCRYPT_DECRYPT, generated material, tags cost team), alias alias/app, alias \
             alias/app-old, grant alice-crypto, grant alice-describe"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "seed key {K2} (account 000000000000, us-east-1): created (ECC_NIST_P256 \
             SIGN_VERIFY, generated material, disabled)"
        )),
        "{log}"
    );

    let k1 = describe(&kms, K1).await;
    assert_eq!(k1.key_id(), K1);
    assert_eq!(k1.description(), Some("app key"));
    assert_eq!(k1.key_state(), Some(&KeyState::Enabled));
    assert_eq!(k1.origin(), Some(&OriginType::AwsKms));
    let k2 = describe(&kms, K2).await;
    assert_eq!(k2.key_state(), Some(&KeyState::Disabled));
    assert_eq!(k2.key_spec().unwrap().as_str(), "ECC_NIST_P256");
    assert_eq!(k2.key_usage().unwrap().as_str(), "SIGN_VERIFY");

    // The alias works, the policy is the file's byte for byte, K2's is the default one.
    let blob = encrypt_as(&kms, "alias/app", None).await.unwrap();
    assert_eq!(decrypt(&kms, &blob, None).await.unwrap(), b"hello");
    let names: Vec<String> = all_aliases(&kms, Some(K1), 100)
        .await
        .iter()
        .map(|a| a.alias_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alias/app", "alias/app-old"]);
    let get_policy = |key: &'static str| {
        let kms = kms.clone();
        async move {
            kms.get_key_policy()
                .key_id(key)
                .send()
                .await
                .unwrap()
                .policy
                .unwrap()
        }
    };
    assert_eq!(get_policy(K1).await, policy("seeded"));
    assert_eq!(
        get_policy(K2).await,
        trent_kms::default_key_policy(REGION, "000000000000")
    );
    let tags: Vec<(String, String)> = all_tags(&kms, K1, 50)
        .await
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    assert_eq!(
        tags,
        [("cost".into(), "42".into()), ("team".into(), "blue".into())]
    );

    // The grants exist as declared, and they are what lets alice use the key.
    let g = grants(&kms, K1).await;
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].name(), Some("alice-crypto"));
    assert_eq!(g[0].grantee_principal(), Some(ALICE_ARN));
    assert_eq!(
        g[0].operations(),
        [GrantOperation::Encrypt, GrantOperation::Decrypt]
    );
    assert_eq!(
        g[0].constraints()
            .unwrap()
            .encryption_context_equals()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("x")
    );
    assert_eq!(g[1].name(), Some("alice-describe"));
    let alice = alice(&server);
    let blob = encrypt_as(&alice, K1, Some(("app", "x"))).await.unwrap();
    assert_eq!(
        decrypt(&alice, &blob, Some(("app", "x"))).await.unwrap(),
        b"hello"
    );
    assert_eq!(
        encrypt_as(&alice, K1, Some(("app", "y")))
            .await
            .unwrap_err(),
        "AccessDeniedException"
    );
    assert_eq!(
        encrypt_as(&alice, K2, None).await.unwrap_err(),
        "AccessDeniedException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_with_the_same_file_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write(tmp.path(), "trent.toml", &first_file());
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    let blob = encrypt_as(&kms, K1, None).await.unwrap();
    // A second material version, made through the API: the seed leaves rotations alone.
    kms.rotate_key_on_demand().key_id(K1).send().await.unwrap();
    let before = full_snapshot(&kms).await;
    assert_eq!(before.1.iter().map(|(_, g, _)| g.len()).sum::<usize>(), 2);
    assert_eq!(rotations(&kms, K1).await, 2);
    drop(server);

    for _ in 0..2 {
        let server = Server::start_in(&data, Some(&file));
        let kms = server.kms();
        // The same keys, aliases, policies, tags, grants (same IDs) and material versions.
        assert_eq!(full_snapshot(&kms).await, before);
        assert_eq!(rotations(&kms, K1).await, 2);
        // The generated material is the data dir's: what was encrypted still decrypts.
        assert_eq!(decrypt(&kms, &blob, None).await.unwrap(), b"hello");
        let log = server.log();
        assert!(
            log.contains(&format!(
                "seed key {K1} (account 000000000000, us-east-1): unchanged"
            )) && log.contains(&format!(
                "seed key {K2} (account 000000000000, us-east-1): unchanged"
            )),
            "{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_file_converges_and_leaves_what_the_api_made_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write(tmp.path(), "trent.toml", &first_file());
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    let old_grants = grants(&kms, K1).await;
    // Made through the API on the seeded key: not the seed's to remove.
    kms.create_alias()
        .alias_name("alias/by-api")
        .target_key_id(K1)
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(K1)
        .tags(crate::support::kms::tag("api", "yes"))
        .send()
        .await
        .unwrap();
    kms.create_grant()
        .key_id(K1)
        .name("by-api")
        .grantee_principal(ALICE_ARN)
        .operations(GrantOperation::GenerateDataKey)
        .send()
        .await
        .unwrap();
    // Changed through the API, and the file says otherwise: the file wins at the next start.
    kms.update_key_description()
        .key_id(K1)
        .description("changed by api")
        .send()
        .await
        .unwrap();
    kms.schedule_key_deletion()
        .key_id(K2)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    drop(server);

    let changed = config(&format!(
        r#"
[[accounts.keys]]
key_id = "{K1}"
region = "us-east-1"
description = "app key, v2"
aliases = ["alias/app", "alias/app-new"]
policy = '{}'
tags = {{ team = "red", owner = "ops" }}
enabled = false
rotation = {{ enabled = true, period_days = 180 }}
[[accounts.keys.grants]]
name = "alice-crypto"
grantee_principal = "{ALICE_ARN}"
operations = ["Decrypt"]
constraints = {{ encryption_context_equals = {{ app = "x" }} }}

[[accounts.keys]]
key_id = "{K2}"
region = "us-east-1"
key_spec = "ECC_NIST_P256"
key_usage = "SIGN_VERIFY"
"#,
        policy("seeded-v2")
    ));
    let file = write(tmp.path(), "trent.toml", &changed);
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    let log = server.log();
    assert!(
        log.contains(&format!(
            "seed key {K1} (account 000000000000, us-east-1): description, key policy, \
             disabled, automatic rotation every 180 days, alias alias/app-new, alias \
             alias/app-old removed, tags removed: cost, tags set: owner team, grant \
             alice-crypto changed, grant alice-describe removed"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "seed key {K2} (account 000000000000, us-east-1): deletion cancelled, enabled"
        )),
        "{log}"
    );

    let k1 = describe(&kms, K1).await;
    assert_eq!(k1.description(), Some("app key, v2"));
    assert_eq!(k1.key_state(), Some(&KeyState::Disabled));
    assert_eq!(
        describe(&kms, K2).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(
        kms.get_key_policy()
            .key_id(K1)
            .send()
            .await
            .unwrap()
            .policy
            .unwrap(),
        policy("seeded-v2")
    );
    let status = kms
        .get_key_rotation_status()
        .key_id(K1)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(180));
    let names: Vec<String> = all_aliases(&kms, Some(K1), 100)
        .await
        .iter()
        .map(|a| a.alias_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alias/app", "alias/app-new", "alias/by-api"]);
    let tags: Vec<(String, String)> = all_tags(&kms, K1, 50)
        .await
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    assert_eq!(
        tags,
        [
            ("api".into(), "yes".into()),
            ("owner".into(), "ops".into()),
            ("team".into(), "red".into())
        ]
    );
    let g = grants(&kms, K1).await;
    let names: Vec<&str> = g.iter().map(|g| g.name().unwrap()).collect();
    assert_eq!(names, ["alice-crypto", "by-api"]);
    assert_eq!(g[0].operations(), [GrantOperation::Decrypt]);
    assert_ne!(g[0].grant_id(), old_grants[0].grant_id());

    // Converged: the next start changes nothing more.
    let after = full_snapshot(&kms).await;
    drop(server);
    let server = Server::start_in(&data, Some(&file));
    assert_eq!(full_snapshot(&server.kms()).await, after);
    assert!(
        server.log().contains(&format!(
            "seed key {K1} (account 000000000000, us-east-1): unchanged"
        )),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_removed_from_the_file_are_left_alone_unless_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write(tmp.path(), "trent.toml", &first_file());
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    let by_api = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
        .clone();
    drop(server);

    // K2 leaves the file: left alone.
    let only_k1 = first_file()
        .split("[[accounts.keys]]\nkey_id = \"0f0f")
        .next()
        .unwrap()
        .to_string();
    assert!(!only_k1.contains(K2));
    let file = write(tmp.path(), "trent.toml", &only_k1);
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    assert_eq!(
        describe(&kms, K2).await.key_state(),
        Some(&KeyState::Disabled)
    );
    assert!(
        server.log().contains(&format!(
            "seed key {K2} (account 000000000000, us-east-1): no longer in the seed file, left \
             alone (prune is off)"
        )),
        "{}",
        server.log()
    );
    drop(server);

    // With prune_keys: scheduled for deletion, 7 days; the key the API made is not the seed's.
    let file = write(
        tmp.path(),
        "trent.toml",
        &format!("prune_keys = true\n{only_k1}"),
    );
    let server = Server::start_in(&data, Some(&file));
    let kms = server.kms();
    let k2 = describe(&kms, K2).await;
    assert_eq!(k2.key_state(), Some(&KeyState::PendingDeletion));
    let days = (k2.deletion_date().unwrap().secs() - crate::support::kms::now_secs() as i64) as f64
        / 86400.0;
    assert!((6.9..=7.0).contains(&days), "{days}");
    assert_eq!(
        describe(&kms, &by_api).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(
        describe(&kms, K1).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert!(
        server.log().contains(&format!(
            "seed key {K2} (account 000000000000, us-east-1): no longer in the seed file, \
             deletion scheduled in 7 days (prune)"
        )),
        "{}",
        server.log()
    );
    drop(server);

    // Pruned once: a restart does not touch it again; back in the file, it comes back.
    let server = Server::start_in(&data, Some(&file));
    assert!(
        !server.log().contains(&format!("seed key {K2}")),
        "{}",
        server.log()
    );
    drop(server);
    let file = write(
        tmp.path(),
        "trent.toml",
        &format!("prune_keys = true\n{}", first_file()),
    );
    let server = Server::start_in(&data, Some(&file));
    let k2 = describe(&server.kms(), K2).await;
    assert_eq!(k2.key_state(), Some(&KeyState::Disabled));
    assert!(k2.deletion_date().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_material_decrypts_on_another_machine() {
    let file = config(&format!(
        r#"
[[accounts.keys]]
key_id = "{K1}"
region = "us-east-1"
aliases = ["alias/shared"]
material = "{MATERIAL}"

[[accounts.keys]]
key_id = "{K3}"
region = "us-east-1"
"#
    ));
    // Machine A: a data dir with its own root key. Machine B: in memory, another root key.
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "trent.toml", &file);
    let a = Server::start_in(&tmp.path().join("a"), Some(&path));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trent"));
    cmd.args([
        "serve",
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
        "--config",
    ])
    .arg(&path)
    .env_remove("TRENT_ROOT_KEY")
    .env_remove("TRENT_DATA_DIR");
    let b = Server::spawn(cmd, &tmp.path().join("b-never-written"));
    assert!(!tmp.path().join("b-never-written").exists());
    assert!(
        a.log()
            .contains("created (SYMMETRIC_DEFAULT ENCRYPT_DECRYPT, imported material)"),
        "{}",
        a.log()
    );

    let (ka, kb) = (a.kms(), b.kms());
    for kms in [&ka, &kb] {
        let meta = describe(kms, K1).await;
        assert_eq!(meta.origin(), Some(&OriginType::External));
        assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
        assert_eq!(
            meta.expiration_model().map(|m| m.as_str()),
            Some("KEY_MATERIAL_DOES_NOT_EXPIRE")
        );
    }
    let from_a = encrypt_as(&ka, "alias/shared", Some(("app", "x")))
        .await
        .unwrap();
    let from_b = encrypt_as(&kb, K1, None).await.unwrap();
    assert_eq!(
        decrypt(&kb, &from_a, Some(("app", "x"))).await.unwrap(),
        b"hello"
    );
    assert_eq!(decrypt(&ka, &from_b, None).await.unwrap(), b"hello");
    // A key without material has the same ID everywhere, but its own material on each machine.
    let k3_from_a = encrypt_as(&ka, K3, None).await.unwrap();
    assert_eq!(decrypt(&ka, &k3_from_a, None).await.unwrap(), b"hello");
    assert_eq!(
        decrypt(&kb, &k3_from_a, None).await.unwrap_err(),
        "InvalidCiphertextException"
    );

    // The material deleted through the API comes back at the next start (never expiring).
    ka.delete_imported_key_material()
        .key_id(K1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&ka, K1).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    drop(a);
    let a = Server::start_in(&tmp.path().join("a"), Some(&path));
    let ka = a.kms();
    assert_eq!(
        describe(&ka, K1).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&ka, &from_b, None).await.unwrap(), b"hello");
    assert_eq!(rotations(&ka, K1).await, 1);
    let log = a.log();
    assert!(log.contains("material imported again"), "{log}");
    // Never the material itself.
    assert!(
        !log.contains(MATERIAL) && !b.log().contains(MATERIAL),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_seed_refuses_to_start_names_the_entry_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = first_file();
    let file = write(tmp.path(), "trent.toml", &good);
    let server = Server::start_in(&data, Some(&file));
    let before = full_snapshot(&server.kms()).await;
    drop(server);

    // Each bad file also changes K1 and adds a key K3, validly: none of it may be applied.
    let with = |bad: &str| {
        good.replace(
            "description = \"app key\"",
            "description = \"should not be applied\"",
        ) + &format!("\n[[accounts.keys]]\nkey_id = \"{K3}\"\nregion = \"us-east-1\"\n{bad}")
    };
    let cases = [
        (
            with("").replace(&format!("key_id = \"{K3}\""), "key_id = \"not-a-uuid\""),
            "seed key not-a-uuid (account 000000000000, us-east-1): key_id: a key ID must be a \
             lower-case UUID",
        ),
        (
            with("policy = '{\"Version\":\"2012-10-17\",\"Statement\":['"),
            &format!(
                "seed key {K3} (account 000000000000, us-east-1): policy: \
                 MalformedPolicyDocumentException"
            ),
        ),
        (
            with(&format!(
                "key_spec = \"RSA_2048\"\nkey_usage = \"ENCRYPT_DECRYPT\"\nmaterial = \"{MATERIAL}\""
            )),
            &format!(
                "seed key {K3} (account 000000000000, us-east-1): material: imported material is \
                 for symmetric keys only (SYMMETRIC_DEFAULT, HMAC_*); the material of a RSA_2048 \
                 key is generated"
            ),
        ),
        (with("colour = \"blue\""), "unknown field `colour`"),
        // Checked against the identities and the stored keys, after the file's own checks.
        (
            with(&format!(
                "policy = '{}'",
                policy("x").replace("000000000000:root", "000000000000:user/nobody")
            )),
            &format!(
                "seed key {K3} (account 000000000000, us-east-1): policy: \
                 MalformedPolicyDocumentException: Policy contains a statement with one or more \
                 invalid principals."
            ),
        ),
        (
            with("").replace(
                "key_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"",
                "key_spec = \"ECC_NIST_P384\"\nkey_usage = \"SIGN_VERIFY\"",
            ),
            &format!(
                "seed key {K2} (account 000000000000, us-east-1): key_spec: the key exists with \
                 key_spec ECC_NIST_P256; KMS cannot change a key's key_spec"
            ),
        ),
        (
            with("").replacen(
                &format!("key_id = \"{K1}\"\nregion = \"us-east-1\"\n"),
                &format!("key_id = \"{K1}\"\nregion = \"us-east-1\"\nmaterial = \"{MATERIAL}\"\n"),
                1,
            ),
            &format!(
                "seed key {K1} (account 000000000000, us-east-1): material: the key exists with \
                 origin AWS_KMS"
            ),
        ),
        (
            with(
                "[[accounts.keys.grants]]\nname = \"g\"\ngrantee_principal = \"arn:aws:iam::000000000000:user/nobody\"\noperations = [\"Decrypt\"]",
            ),
            &format!(
                "seed key {K3} (account 000000000000, us-east-1): grant \"g\": \
                 InvalidArnException: GranteePrincipal arn:aws:iam::000000000000:user/nobody is \
                 not a valid principal."
            ),
        ),
    ];
    for (text, needle) in &cases {
        let bad = write(tmp.path(), "bad.toml", text);
        let out = refused(&data, &bad, &[]);
        assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
        assert!(!out.contains("should not be applied"), "{out}");
    }

    // Nothing changed: seen by a server with the same identities and no keys in its file
    // (which seeds and prunes nothing).
    let no_keys = write(tmp.path(), "no-keys.toml", &config(""));
    let server = Server::start_in(&data, Some(&no_keys));
    let kms = server.kms();
    let (snap, per_key) = full_snapshot(&kms).await;
    assert_eq!(snap, before.0);
    assert_eq!(per_key, before.1);
    assert!(kms.describe_key().key_id(K3).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_sharing_a_database_seed_once() {
    let Some(db) = trent_store::scratch::ScratchDatabase::from_env() else {
        eprintln!("TRENT_TEST_POSTGRES not set: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "trent.toml", &first_file());
    let root_key = crate::support::hex(&rand::random::<[u8; 32]>());
    let start = |name: &str| {
        let dir = tmp.path().join(name);
        let (path, url, root_key) = (path.clone(), db.url().to_string(), root_key.clone());
        std::thread::spawn(move || {
            Server::start_in_with_env(
                &dir,
                Some(&path),
                &["--database", &url],
                &[("TRENT_ROOT_KEY", root_key.as_str())],
            )
        })
    };
    // Started together: one seeds, the other finds it done.
    let (a, b) = (start("a"), start("b"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let created = format!("seed key {K1} (account 000000000000, us-east-1): created");
    let unchanged = format!("seed key {K1} (account 000000000000, us-east-1): unchanged");
    let (la, lb) = (a.log(), b.log());
    assert!(
        (la.contains(&created) && lb.contains(&unchanged))
            || (lb.contains(&created) && la.contains(&unchanged)),
        "A:\n{la}\nB:\n{lb}"
    );
    for server in [&a, &b] {
        let kms = server.kms();
        assert_eq!(grants(&kms, K1).await.len(), 2);
        assert_eq!(rotations(&kms, K1).await, 1);
        assert_eq!(all_aliases(&kms, Some(K1), 100).await.len(), 2);
    }
    let blob = encrypt_as(&a.kms(), K1, None).await.unwrap();
    assert_eq!(decrypt(&b.kms(), &blob, None).await.unwrap(), b"hello");
}
