//! Configuration through the real binary: users, roles and root access keys declared in
//! `trent.toml` for two accounts authenticate; keys live in one account and one region (NotFound
//! or AccessDenied elsewhere, as the resolver and authorizer decide); the development
//! credentials are refused on a non-loopback address; a bad config stops the server with a
//! clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;

use crate::support::Server;
use crate::support::kms::*;

const A: &str = "111111111111";
const B: &str = "222222222222";
const KMS_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn config() -> String {
    format!(
        r#"
[[accounts]]
id = "{A}"
access_keys = [{{ access_key_id = "AKIA_A_ROOT", secret_access_key = "secret-a-root" }}]

[[accounts.users]]
name = "alice"
path = "/eng/"
access_keys = [{{ access_key_id = "AKIA_A_ALICE", secret_access_key = "secret-alice" }}]
policies = [{{ name = "kms-all", document = '{KMS_ALL}' }}]

[[accounts.users]]
name = "nobody"
access_keys = [{{ access_key_id = "AKIA_A_NOBODY", secret_access_key = "secret-nobody" }}]

[[accounts.roles]]
name = "app"
policies = [{{ name = "kms-all", document = '{KMS_ALL}' }}]
sessions = [{{ name = "worker", access_key_id = "ASIA_A_APP", secret_access_key = "secret-app" }}]

[[accounts]]
id = "{B}"
access_keys = [{{ access_key_id = "AKIA_B_ROOT", secret_access_key = "secret-b-root" }}]

[[accounts.users]]
name = "bob"
access_keys = [{{ access_key_id = "AKIA_B_BOB", secret_access_key = "secret-bob" }}]
policies = [{{ name = "kms-all", document = '{KMS_ALL}' }}]
"#
    )
}

fn arn_in(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

async fn create(kms: &Client) -> String {
    new_key(kms).await.key_id().to_string()
}

#[tokio::test]
async fn declared_identities_of_two_accounts_authenticate() {
    let s = Server::start_with_config(&config());
    let identities = [
        ("AKIA_A_ROOT", "secret-a-root", A),
        ("AKIA_A_ALICE", "secret-alice", A),
        ("ASIA_A_APP", "secret-app", A),
        ("AKIA_B_ROOT", "secret-b-root", B),
        ("AKIA_B_BOB", "secret-bob", B),
    ];
    let mut made = Vec::new();
    for (ak, sk, account) in identities {
        let kms = s.kms_as(ak, sk, REGION);
        let key = new_key(&kms).await;
        assert_eq!(key.aws_account_id(), Some(account), "{ak}");
        assert_eq!(
            key.arn(),
            Some(arn_in(REGION, account, key.key_id()).as_str())
        );
        let policy = kms
            .get_key_policy()
            .key_id(key.key_id())
            .send()
            .await
            .unwrap()
            .policy
            .unwrap();
        assert!(
            policy.contains(&format!("\"AWS\" : \"arn:aws:iam::{account}:root\"")),
            "{policy}"
        );
        made.push((account, key.key_id().to_string()));
    }
    // Each account lists its own keys only.
    for (ak, sk, account) in [
        ("AKIA_A_ROOT", "secret-a-root", A),
        ("AKIA_B_BOB", "secret-bob", B),
    ] {
        let mut want: Vec<String> = made
            .iter()
            .filter(|(a, _)| *a == account)
            .map(|(_, id)| id.clone())
            .collect();
        want.sort();
        assert_eq!(all_key_ids(&s.kms_as(ak, sk, REGION), 100).await, want);
    }
    // Identities of one account share its keys (the default policy delegates to IAM).
    let alice = s.kms_as("AKIA_A_ALICE", "secret-alice", REGION);
    let app = s.kms_as("ASIA_A_APP", "secret-app", REGION);
    let root_key = &made[0].1;
    let blob = encrypt(&alice, root_key, b"shared in A").await;
    let d = app.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), b"shared in A");

    // A user without policies is authenticated, then denied.
    let nobody = s.kms_as("AKIA_A_NOBODY", "secret-nobody", REGION);
    assert_eq!(
        failure(nobody.create_key().send().await),
        expected(
            "AccessDeniedException",
            &format!(
                "User: arn:aws:iam::{A}:user/nobody is not authorized to perform: kms:CreateKey because no identity-based policy allows the kms:CreateKey action"
            )
        )
    );
    // The development credentials are off once accounts are declared.
    assert_eq!(
        failure(s.kms().list_keys().send().await),
        expected(
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );
    // A declared key with the wrong secret.
    assert_eq!(
        failure(
            s.kms_as("AKIA_A_ALICE", "secret-bob", REGION)
                .list_keys()
                .send()
                .await
        )
        .0,
        "InvalidSignatureException"
    );
}

#[tokio::test]
async fn keys_and_aliases_are_per_account() {
    let s = Server::start_with_config(&config());
    let a = s.kms_as("AKIA_A_ALICE", "secret-alice", REGION);
    let b = s.kms_as("AKIA_B_BOB", "secret-bob", REGION);
    let a_key = create(&a).await;
    let a_arn = arn_in(REGION, A, &a_key);
    a.create_alias()
        .alias_name("alias/shared-name")
        .target_key_id(&a_key)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&a, &a_key, b"A's secret").await;
    let b_key = create(&b).await;
    // The same alias name in another account is another alias.
    b.create_alias()
        .alias_name("alias/shared-name")
        .target_key_id(&b_key)
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&b, "alias/shared-name").await.key_id(), b_key);
    assert_eq!(describe(&a, "alias/shared-name").await.key_id(), a_key);
    let b_before = snapshot(&b).await;

    // A bare key ID is looked up in the caller's own account: not found there.
    let missing = expected(
        "NotFoundException",
        &format!("Key '{}' does not exist", arn_in(REGION, B, &a_key)),
    );
    assert_eq!(
        failure(b.describe_key().key_id(&a_key).send().await),
        missing
    );
    assert_eq!(
        failure(
            b.encrypt()
                .key_id(&a_key)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        missing
    );
    assert_eq!(
        failure(b.disable_key().key_id(&a_key).send().await),
        missing
    );

    // By ARN the key is found, and A's key policy does not let B in.
    let bob = format!("arn:aws:iam::{B}:user/bob");
    let denied = |action: &str| {
        expected(
            "AccessDeniedException",
            &format!(
                "User: {bob} is not authorized to perform: {action} on resource: {a_arn} because no resource-based policy allows the {action} action"
            ),
        )
    };
    assert_eq!(
        failure(b.describe_key().key_id(&a_arn).send().await),
        denied("kms:DescribeKey")
    );
    assert_eq!(
        failure(
            b.encrypt()
                .key_id(&a_arn)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        denied("kms:Encrypt")
    );
    assert_eq!(
        failure(b.decrypt().ciphertext_blob(blob.clone()).send().await),
        denied("kms:Decrypt")
    );
    // Management operations are never cross-account.
    assert_eq!(
        failure(b.disable_key().key_id(&a_arn).send().await).0,
        "AccessDeniedException"
    );
    assert_eq!(
        failure(
            b.tag_resource()
                .key_id(&a_arn)
                .tags(tag("x", "y"))
                .send()
                .await
        )
        .0,
        "AccessDeniedException"
    );
    assert_eq!(
        failure(b.schedule_key_deletion().key_id(&a_arn).send().await).0,
        "AccessDeniedException"
    );
    // A's alias, named by its ARN from B, finds A's key and is denied the same way.
    let a_alias_arn = format!("arn:aws:kms:{REGION}:{A}:alias/shared-name");
    assert_eq!(
        failure(
            b.encrypt()
                .key_id(&a_alias_arn)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        denied("kms:Encrypt")
    );
    // An alias B does not have is not found in B's account.
    a.create_alias()
        .alias_name("alias/only-a")
        .target_key_id(&a_key)
        .send()
        .await
        .unwrap();
    let a_before = snapshot(&a).await;
    assert_eq!(
        failure(b.describe_key().key_id("alias/only-a").send().await),
        expected(
            "NotFoundException",
            &format!("Alias arn:aws:kms:{REGION}:{B}:alias/only-a is not found.")
        )
    );
    // Nothing changed on either side.
    assert_eq!(snapshot(&a).await, a_before);
    assert_eq!(snapshot(&b).await, b_before);
}

#[tokio::test]
async fn keys_are_per_region() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", "eu-west-1");
    let id = create(&us).await;
    let us_arn = key_arn(&id);
    us.create_alias()
        .alias_name("alias/regional")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&us, &id, b"us only").await;

    let not_here = expected(
        "NotFoundException",
        &format!("Key '{}' does not exist", arn_in("eu-west-1", ACCOUNT, &id)),
    );
    let invalid_arn = expected("NotFoundException", "Invalid arn us-east-1");
    assert_eq!(
        failure(eu.describe_key().key_id(&id).send().await),
        not_here
    );
    assert_eq!(
        failure(eu.describe_key().key_id(&us_arn).send().await),
        invalid_arn
    );
    assert_eq!(
        failure(
            eu.encrypt()
                .key_id(&us_arn)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        invalid_arn
    );
    assert_eq!(
        failure(eu.disable_key().key_id(&us_arn).send().await),
        invalid_arn
    );
    assert_eq!(
        failure(eu.describe_key().key_id("alias/regional").send().await),
        expected(
            "NotFoundException",
            &format!("Alias arn:aws:kms:eu-west-1:{ACCOUNT}:alias/regional is not found.")
        )
    );
    assert_eq!(
        failure(
            eu.describe_key()
                .key_id(alias_arn("alias/regional"))
                .send()
                .await
        ),
        invalid_arn
    );
    // A ciphertext of a us-east-1 key does not decrypt in eu-west-1.
    assert_eq!(
        failure(eu.decrypt().ciphertext_blob(blob.clone()).send().await),
        expected("InvalidCiphertextException", "")
    );
    assert!(all_key_ids(&eu, 100).await.is_empty());
    assert!(customer_aliases(&eu, None, 100).await.is_empty());

    // eu-west-1 has its own keys and alias names.
    let eu_key = new_key(&eu).await;
    assert_eq!(
        eu_key.arn(),
        Some(arn_in("eu-west-1", ACCOUNT, eu_key.key_id()).as_str())
    );
    eu.create_alias()
        .alias_name("alias/regional")
        .target_key_id(eu_key.key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&eu, "alias/regional").await, eu_key);
    assert_eq!(describe(&us, "alias/regional").await.key_id(), id);
    assert_eq!(all_key_ids(&us, 100).await, vec![id.clone()]);
    // The us-east-1 ciphertext still decrypts where it belongs.
    us.decrypt().ciphertext_blob(blob).send().await.unwrap();

    // Regions of other partitions get ARNs of that partition.
    let cn = s.kms_as("test", "test", "cn-north-1");
    let cn_key = new_key(&cn).await;
    assert_eq!(
        cn_key.arn(),
        Some(
            format!(
                "arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{}",
                cn_key.key_id()
            )
            .as_str()
        )
    );
    let policy = cn
        .get_key_policy()
        .key_id(cn_key.key_id())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert!(
        policy.contains(&format!("\"AWS\" : \"arn:aws-cn:iam::{ACCOUNT}:root\"")),
        "{policy}"
    );
}

// ---- starting the server -------------------------------------------------------------------------

/// Runs `trent serve` with `args`, and either sees it exit (returns its status and stderr) or
/// sees it start listening (kills it and returns `None` for the status).
fn run_serve(args: &[&str], env: &[(&str, &str)], dir: &Path) -> (Option<ExitStatus>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TRENT_ROOT_KEY")
        .env_remove("TRENT_CONFIG")
        .env_remove("TRENT_LISTEN")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    loop {
        while let Ok(line) = rx.try_recv() {
            text.push_str(&line);
            text.push('\n');
        }
        if text.contains("listening on") {
            let _ = child.kill();
            let _ = child.wait();
            return (None, text);
        }
        if let Some(status) = child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(50));
            while let Ok(line) = rx.try_recv() {
                text.push_str(&line);
                text.push('\n');
            }
            return (Some(status), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("trent serve neither started nor exited: {text}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_refused(outcome: (Option<ExitStatus>, String), needle: &str) {
    let (status, stderr) = outcome;
    let status = status.unwrap_or_else(|| panic!("server started: {stderr}"));
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn dev_credentials_on_a_non_loopback_address_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let message =
        "refusing to listen on 0.0.0.0:0: the development credentials test/test are enabled";
    // By flag, by environment, and by config file.
    assert_refused(run_serve(&["--listen", "0.0.0.0:0"], &[], &dir), message);
    assert_refused(
        run_serve(&[], &[("TRENT_LISTEN", "0.0.0.0:0")], &dir),
        message,
    );
    let config = tmp.path().join("listen.toml");
    std::fs::write(&config, "listen = \"0.0.0.0:0\"\n").unwrap();
    assert_refused(
        run_serve(&["--config", config.to_str().unwrap()], &[], &dir),
        message,
    );
    // Development credentials asked for explicitly next to real accounts: still refused.
    let config = tmp.path().join("explicit.toml");
    std::fs::write(
        &config,
        format!("dev_credentials = true\n{}", config_without_dev()),
    )
    .unwrap();
    assert_refused(
        run_serve(
            &[
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "0.0.0.0:0",
            ],
            &[],
            &dir,
        ),
        message,
    );
    // A loopback address is fine, and so is a non-loopback one without dev credentials.
    let (status, text) = run_serve(&["--listen", "127.0.0.1:0"], &[], &dir);
    assert!(status.is_none(), "{text}");
    assert!(!text.contains("plain HTTP"), "{text}");
    let config = tmp.path().join("accounts.toml");
    std::fs::write(&config, config_without_dev()).unwrap();
    let (status, text) = run_serve(
        &[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ],
        &[],
        &dir,
    );
    assert!(status.is_none(), "{text}");
    // ...with a loud warning that it is plain HTTP (none on loopback).
    assert!(
        text.contains("WARN")
            && text.contains("is not a loopback address and Trent serves plain HTTP"),
        "{text}"
    );
}

fn config_without_dev() -> String {
    format!(
        "[[accounts]]\nid = \"{A}\"\naccess_keys = [{{ access_key_id = \"AKIA_X\", secret_access_key = \"x\" }}]\n"
    )
}

#[test]
fn a_bad_config_stops_the_server_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let cases = [
        (
            "[[accounts]]\nid = \"12\"\n",
            "account id \"12\" must be 12 digits",
        ),
        (
            "[[accounts]]\nid = \"111111111111\"\naccess_keys = [{ access_key_id = \"K\", secret_access_key = \"a\" }, { access_key_id = \"K\", secret_access_key = \"b\" }]\n",
            "access key K is declared twice",
        ),
        ("listen_on = \"127.0.0.1:1\"\n", "listen_on"),
    ];
    for (text, needle) in cases {
        let config = tmp.path().join("bad.toml");
        std::fs::write(&config, text).unwrap();
        assert_refused(
            run_serve(
                &[
                    "--config",
                    config.to_str().unwrap(),
                    "--listen",
                    "127.0.0.1:0",
                ],
                &[],
                &dir,
            ),
            needle,
        );
    }
    // The config's listen address is used when no flag overrides it.
    let config = tmp.path().join("listen.toml");
    std::fs::write(&config, "listen = \"not an address\"\n").unwrap();
    assert_refused(
        run_serve(&["--config", config.to_str().unwrap()], &[], &dir),
        "invalid listen address \"not an address\"",
    );
    let missing = tmp.path().join("missing.toml");
    assert_refused(
        run_serve(&["--config", missing.to_str().unwrap()], &[], &dir),
        "cannot read",
    );
}

#[test]
fn a_data_dir_or_database_others_can_read_is_warned_about_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (status, text) = run_serve(&["--listen", "127.0.0.1:0"], &[], &dir);
    assert!(status.is_none(), "{text}");
    assert!(!text.contains("accessible to other users"), "{text}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("trent.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, text) = run_serve(&["--listen", "127.0.0.1:0"], &[], &dir);
    assert!(status.is_none(), "{text}");
    for (path, fix) in [
        (dir.clone(), "chmod 700"),
        (dir.join("trent.db"), "chmod 600"),
    ] {
        let warning = format!("{} is accessible to other users", path.display());
        assert!(text.contains(&warning) && text.contains(fix), "{text}");
    }
}
