//! Several instances, one truth (issue 15): two real `trent serve` processes, A and B, on one
//! PostgreSQL database with the same root key. What is written through one is visible and
//! enforced through the other; grants work on the other at once with their token and within
//! the documented bound (1 s) without; revocations, disabled keys and removed policy
//! statements stop allowing within that bound; background jobs run once; concurrent writers
//! through both lose nothing.
//!
//! Each test gets a new database on the server `scripts/test` starts (`TRENT_TEST_POSTGRES`);
//! without one the tests are skipped (scripts/test says so loudly).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::GrantOperation;
use trent_store::scratch::ScratchDatabase;

use crate::support::Server;
use crate::support::authz::{Toml, allow, client, create_key, key_policy, root_statement};

const ACCOUNT: &str = "111122223333";
const ROOT: &str = "AKIAROOT";
const ALICE: &str = "AKIAALICE";

/// How soon a change made through one instance must be enforced by the other.
const BOUND: Duration = Duration::from_secs(1);

fn config() -> String {
    Toml::new()
        .account(ACCOUNT, ROOT)
        .user("alice", ALICE, &[], &[allow("sts:AssumeRole", "*")])
        .build()
        + r#"
[[accounts.roles]]
name = "deployer"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}'
policies = [{ name = "kms", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}' }]
"#
}

/// One new database, a root key (given in `TRENT_ROOT_KEY`) and a configuration, shared by
/// the instances started on them; each instance has its own data dir (its audit log).
struct Shared {
    db: ScratchDatabase,
    tmp: tempfile::TempDir,
    root_key: String,
}

/// Two instances, A and B, on one [`Shared`] database.
struct Pair {
    a: Server,
    b: Server,
    shared: Shared,
}

/// The password in the database URL the instances are given (the test server trusts every
/// connection from loopback, so any password works): it must never be printed.
const DB_PASSWORD: &str = "db-password-never-logged";

impl Shared {
    /// The database's URL, with a password.
    fn url(&self) -> String {
        self.db
            .url()
            .replacen("://trent@", &format!("://trent:{DB_PASSWORD}@"), 1)
    }

    fn new() -> Option<Shared> {
        let db = ScratchDatabase::from_env()?;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("trent.toml"), config()).unwrap();
        Some(Shared {
            db,
            tmp,
            root_key: crate::support::hex(&rand::random::<[u8; 32]>()),
        })
    }

    /// Starts A and B together (so that their start-up work — migrations, background sweeps —
    /// races).
    fn start(self, extra_args: &[&str]) -> Pair {
        let start = |name: &str| {
            let dir: PathBuf = self.tmp.path().join(name);
            let config_path = self.tmp.path().join("trent.toml");
            let mut args = vec!["--database".to_string(), self.url()];
            args.extend(extra_args.iter().map(|s| s.to_string()));
            let root_key = self.root_key.clone();
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                Server::start_in_with_env(
                    &dir,
                    Some(&config_path),
                    &args,
                    &[("TRENT_ROOT_KEY", root_key.as_str())],
                )
            })
        };
        let (a, b) = (start("a"), start("b"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        Pair { a, b, shared: self }
    }
}

impl Pair {
    /// Stops both instances and starts two new ones on the same database.
    fn restart(self, extra_args: &[&str]) -> Pair {
        let Pair { a, b, shared } = self;
        drop((a, b));
        shared.start(extra_args)
    }
}

fn start_pair(extra_args: &[&str]) -> Option<Pair> {
    Some(Shared::new()?.start(extra_args))
}

/// Waits until `check` holds, at most [`BOUND`] (panics naming `what` otherwise); returns how
/// long it took.
async fn within_bound<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() <= BOUND,
            "{what}: not seen on the other instance within {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A key policy: the account may administer the key; alice may encrypt and decrypt if `alice`.
fn policy(alice: bool) -> String {
    let mut statements = vec![root_statement(ACCOUNT)];
    if alice {
        statements.push(serde_json::json!({
            "Sid": "alice",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/alice")},
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*"
        }));
    }
    key_policy(statements)
}

async fn can_encrypt(c: &aws_sdk_kms::Client, key: &str, grant_token: Option<&str>) -> bool {
    c.encrypt()
        .key_id(key)
        .plaintext(Blob::new(b"x"))
        .set_grant_tokens(grant_token.map(|t| vec![t.to_string()]))
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn what_one_instance_writes_the_other_sees_and_enforces() {
    let Some(pair) = start_pair(&[]) else { return };
    let (root_a, root_b) = (client(&pair.a, ROOT), client(&pair.b, ROOT));
    let alice_b = client(&pair.b, ALICE);

    // A key and an alias made on A: described, used and listed on B.
    let key = create_key(&root_a, Some(&policy(true)), false).await;
    root_a
        .create_alias()
        .alias_name("alias/shared")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let described = root_b
        .describe_key()
        .key_id("alias/shared")
        .send()
        .await
        .unwrap();
    assert_eq!(described.key_metadata.unwrap().key_id, key);
    let sealed = root_a
        .encrypt()
        .key_id("alias/shared")
        .plaintext(Blob::new(b"one truth"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let opened = root_b
        .decrypt()
        .ciphertext_blob(sealed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext.unwrap().as_ref(), b"one truth");
    assert!(can_encrypt(&alice_b, &key, None).await);

    // A policy statement removed on A stops allowing on B within the bound.
    root_a
        .put_key_policy()
        .key_id(&key)
        .policy(policy(false))
        .send()
        .await
        .unwrap();
    let took = within_bound("a removed key policy statement", || async {
        !can_encrypt(&alice_b, &key, None).await
    })
    .await;
    eprintln!("removed statement enforced on B after {took:?}");

    // A key disabled on A is refused on B within the bound, and usable again once enabled.
    root_a.disable_key().key_id(&key).send().await.unwrap();
    within_bound("a disabled key", || async {
        root_b
            .decrypt()
            .ciphertext_blob(sealed.clone())
            .send()
            .await
            .is_err()
    })
    .await;
    root_a.enable_key().key_id(&key).send().await.unwrap();
    within_bound("a re-enabled key", || async {
        root_b
            .decrypt()
            .ciphertext_blob(sealed.clone())
            .send()
            .await
            .is_ok()
    })
    .await;

    // The alias moved on A to another key: B resolves it to the new key.
    let other = create_key(&root_a, None, false).await;
    root_a
        .update_alias()
        .alias_name("alias/shared")
        .target_key_id(&other)
        .send()
        .await
        .unwrap();
    within_bound("an alias pointed at another key", || async {
        root_b
            .describe_key()
            .key_id("alias/shared")
            .send()
            .await
            .is_ok_and(|d| d.key_metadata.is_some_and(|m| m.key_id == other))
    })
    .await;

    // An identity made through A (alice's assumed-role session) signs requests to B.
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(&pair.a.endpoint)
            .credentials_provider(Credentials::new(
                ALICE,
                crate::support::authz::secret(ALICE),
                None,
                None,
                "test",
            ))
            .build(),
    );
    let session = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/deployer"))
        .role_session_name("ci")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let deployer_b = aws_sdk_kms::Client::from_conf(
        crate::support::sdk_config(&pair.b.endpoint, "unused", "unused", crate::support::REGION)
            .credentials_provider(Credentials::new(
                session.access_key_id,
                session.secret_access_key,
                Some(session.session_token),
                None,
                "sts",
            ))
            .build(),
    );
    let took = within_bound("an assumed-role session", || async {
        can_encrypt(&deployer_b, &other, None).await
    })
    .await;
    eprintln!("session made on A accepted by B after {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_made_on_one_instance_work_on_the_other_and_revocation_reaches_it() {
    let Some(pair) = start_pair(&[]) else { return };
    let root_a = client(&pair.a, ROOT);
    let alice_b = client(&pair.b, ALICE);
    let key = create_key(&root_a, Some(&policy(false)), false).await;
    // Used on B before the grant exists, so that B has cached "no grants for alice".
    assert!(!can_encrypt(&alice_b, &key, None).await);

    let grant = root_a
        .create_grant()
        .key_id(&key)
        .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:user/alice"))
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    let token = grant.grant_token.unwrap();
    // With its token: at once.
    assert!(can_encrypt(&alice_b, &key, Some(&token)).await);
    // Without: within the bound.
    let took = within_bound("a new grant", || async {
        can_encrypt(&alice_b, &key, None).await
    })
    .await;
    eprintln!("grant made on A usable on B without its token after {took:?}");

    root_a
        .revoke_grant()
        .key_id(&key)
        .grant_id(grant.grant_id.unwrap())
        .send()
        .await
        .unwrap();
    let took = within_bound("a revoked grant", || async {
        !can_encrypt(&alice_b, &key, None).await
    })
    .await;
    eprintln!("grant revoked on A refused on B after {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_grant_writers_on_both_instances_lose_nothing() {
    let Some(pair) = start_pair(&[]) else { return };
    let key = create_key(&client(&pair.a, ROOT), None, false).await;
    const WRITERS: usize = 8;
    const GRANTS_EACH: usize = 10;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let c = client(if w % 2 == 0 { &pair.a } else { &pair.b }, ROOT);
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for g in 0..GRANTS_EACH {
                let made = c
                    .create_grant()
                    .key_id(&key)
                    .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:user/alice"))
                    .operations(GrantOperation::Decrypt)
                    .name(format!("w{w}-g{g}"))
                    .send()
                    .await
                    .unwrap();
                ids.push(made.grant_id.unwrap());
            }
            ids
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    let unique: BTreeSet<_> = acknowledged.iter().cloned().collect();
    assert_eq!(unique.len(), WRITERS * GRANTS_EACH, "duplicate grant IDs");
    for server in [&pair.a, &pair.b] {
        let listed = list_grant_ids(&client(server, ROOT), &key).await;
        assert_eq!(listed, unique, "grants listed on {}", server.endpoint);
    }
}

async fn list_grant_ids(c: &aws_sdk_kms::Client, key: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = c
            .list_grants()
            .key_id(key)
            .limit(25)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        for g in page.grants() {
            assert!(
                ids.insert(g.grant_id.clone().unwrap()),
                "a grant listed twice"
            );
        }
        match page.next_marker {
            Some(m) if page.truncated => marker = Some(m),
            _ => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn background_jobs_run_once_across_instances() {
    // Keys prepared with the clocks 400 days behind: their deletion (7 days) and automatic
    // rotation (90 days) fall due when the instances start again on the real time, together.
    let Some(behind) = start_pair(&["--test-clock-offset", "-34560000"]) else {
        return;
    };
    let root = client(&behind.a, ROOT);
    let doomed = create_key(&root, None, false).await;
    root.schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let rotating = create_key(&root, None, false).await;
    root.enable_key_rotation()
        .key_id(&rotating)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    // Imported material valid for two more days on the clock behind: long expired on the
    // real one.
    let expiring = root
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let (token, public) = crate::kms_import::parameters(&root, &expiring).await;
    let behind_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 34_560_000;
    root.import_key_material()
        .key_id(&expiring)
        .import_token(token)
        .encrypted_key_material(crate::kms_import::wrap(
            &public,
            &crate::kms_import::random(32),
        ))
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialExpires)
        .valid_to(aws_sdk_kms::primitives::DateTime::from_secs(
            behind_now + 2 * 86_400,
        ))
        .send()
        .await
        .unwrap();
    let pair = behind.restart(&[]);
    // Both jobs run when an instance starts; a second run would follow within moments.
    let count = |line: &str| -> usize {
        [&pair.a, &pair.b]
            .map(|s| s.log().matches(line).count())
            .iter()
            .sum()
    };
    let done_by_one = |line: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while count(line) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(count(line), 1, "exactly one instance logged {line:?}");
    };
    done_by_one("key deleted at the end of its waiting period");
    done_by_one("imported key material expired and was deleted");
    let root = client(&pair.b, ROOT);
    let state = root.describe_key().key_id(&doomed).send().await;
    assert!(state.is_err(), "the deleted key is gone: {state:?}");
    let rotations = root
        .list_key_rotations()
        .key_id(&rotating)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rotations.rotations().len(),
        1,
        "the due rotation ran exactly once: {:?}",
        rotations.rotations()
    );
    let expired = root.describe_key().key_id(&expiring).send().await.unwrap();
    assert_eq!(
        expired.key_metadata().unwrap().key_state(),
        Some(&aws_sdk_kms::types::KeyState::PendingImport),
        "the expired material is gone"
    );
}

/// Terminates the connections of `pair`'s database whose application name is `application`
/// (all of them if `None`).
fn terminate_connections(shared: &Shared, application: Option<&str>) {
    let only = application
        .map(|name| format!(" AND application_name = '{name}'"))
        .unwrap_or_default();
    shared
        .db
        .run_as_admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid(){only}",
            shared.db.name()
        ))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_while_the_other_instance_was_not_listening_still_reaches_it() {
    let Some(pair) = start_pair(&[]) else { return };
    let root_a = client(&pair.a, ROOT);
    let alice_b = client(&pair.b, ALICE);
    let key = create_key(&root_a, Some(&policy(false)), false).await;
    let grant = root_a
        .create_grant()
        .key_id(&key)
        .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:user/alice"))
        .operations(GrantOperation::Encrypt)
        .send()
        .await
        .unwrap();
    within_bound("a new grant", || async {
        can_encrypt(&alice_b, &key, None).await
    })
    .await;
    // Both instances stop listening (their listening connections are cut), and the grant is
    // revoked before they listen again: B never gets that notification.
    terminate_connections(&pair.shared, Some(trent_store::LISTENER_APPLICATION_NAME));
    root_a
        .revoke_grant()
        .key_id(&key)
        .grant_id(grant.grant_id.unwrap())
        .send()
        .await
        .unwrap();
    let took = within_bound("a grant revoked while B was not listening", || async {
        !can_encrypt(&alice_b, &key, None).await
    })
    .await;
    eprintln!("revocation missed by B's listener enforced after {took:?}");
    assert!(
        pair.b
            .log_with("listening for changes again")
            .contains("listening for changes again"),
        "B reconnected its listener"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_answers_internal_errors_and_loses_nothing() {
    let Some(pair) = start_pair(&[]) else { return };
    // No retries: the 500 is the answer under test.
    let root_a = crate::support::kms::client_as(
        &pair.a,
        ROOT,
        &crate::support::authz::secret(ROOT),
        crate::support::REGION,
        None,
    );
    let root_b = client(&pair.b, ROOT);
    let before = create_key(&root_a, None, false).await;

    // The database refuses every connection: writes answer KMSInternalException (500).
    pair.shared
        .db
        .run_as_admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            pair.shared.db.name()
        ))
        .unwrap();
    terminate_connections(&pair.shared, None);
    let failed = root_a.create_key().description("during").send().await;
    let (code, _) = crate::support::err(failed.unwrap_err());
    assert_eq!(code, "KMSInternalException");

    // Back: both instances serve again, and what they acknowledged before is there.
    pair.shared
        .db
        .run_as_admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            pair.shared.db.name()
        ))
        .unwrap();
    let start = Instant::now();
    let after = loop {
        match root_a.create_key().description("after").send().await {
            Ok(made) => break made.key_metadata.unwrap().key_id,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(15),
                    "A did not recover: {e:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!(
        "A served writes again {:?} after the database came back",
        start.elapsed()
    );
    let mut listed = BTreeSet::new();
    let keys = root_b.list_keys().limit(1000).send().await.unwrap();
    for k in keys.keys() {
        listed.insert(k.key_id.clone().unwrap());
    }
    let expected: BTreeSet<String> = [before, after].into_iter().collect();
    assert_eq!(
        listed, expected,
        "exactly the acknowledged keys, none from the outage"
    );
    for server in [&pair.a, &pair.b] {
        let log = server.log_with("trent:***@");
        assert!(
            log.contains("trent:***@"),
            "the URL is shown without its password"
        );
        assert!(
            !log.contains(DB_PASSWORD),
            "the database password is never printed"
        );
    }
}

/// The standard error of `trent serve` with `args` (in an empty directory), which must fail.
fn serve_fails(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(tmp.path())
        .env_remove("TRENT_DATA_DIR")
        .env_remove("TRENT_DATABASE")
        .env_remove("TRENT_IN_MEMORY")
        .env_remove("TRENT_ROOT_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success(), "trent serve {args:?} started");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    // Nothing listens on port 1 of the loopback address.
    let stderr = serve_fails(&[
        "--database",
        "postgres://trent:hunter2-pw@127.0.0.1:1/trent",
    ]);
    assert!(
        stderr.contains(
            "trent: cannot open the database postgres://trent:***@127.0.0.1:1/trent: \
             cannot connect: error connecting to server"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-pw"), "{stderr}");

    let stderr = serve_fails(&["--database", "mysql://root:hunter2-pw@127.0.0.1/trent"]);
    assert!(
        stderr.contains(
            "--database (TRENT_DATABASE) must be a postgres:// or postgresql:// URL, not \
             \"mysql://root:***@127.0.0.1/trent\""
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-pw"), "{stderr}");

    let stderr = serve_fails(&["--in-memory", "--database", "postgres://127.0.0.1/trent"]);
    assert!(
        stderr.contains("cannot be combined with the database given by --database"),
        "{stderr}"
    );
}

/// `trent migrate` with `args`: (success, stdout, stderr).
fn migrate(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .arg("migrate")
        .args(args)
        .env_remove("TRENT_DATABASE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_copies_a_data_dir_into_postgres_and_it_serves_the_same_data() {
    let Some(db) = ScratchDatabase::from_env() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // On the embedded store: a key with an alias, a tag, a grant and an on-demand rotation; a
    // ciphertext made under it.
    let server = Server::start_in(&data, None);
    let kms = server.kms();
    let key = kms
        .create_key()
        .description("migrated")
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("team")
                .tag_value("blue")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    kms.create_alias()
        .alias_name("alias/migrated")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let grant = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal("arn:aws:iam::000000000000:root")
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let sealed = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"carried over"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    assert!(server.stop().success());

    let from = data.to_str().unwrap();
    let (ok, stdout, stderr) = migrate(&["--from", from, "--to", db.url()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("copied"), "{stdout}");
    for (table, rows) in [
        ("keys", 1),
        ("key_materials", 2),
        ("aliases", 1),
        ("grants", 1),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [table, &rows.to_string()]),
            "{table}: {rows} rows in\n{stdout}"
        );
    }

    // Into a database that holds data: refused, nothing written.
    let (ok, _, stderr) = migrate(&["--from", from, "--to", db.url()]);
    assert!(!ok);
    assert!(
        stderr.contains("the target database is not empty")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );

    // Served from PostgreSQL with the data dir's root key: the same key, alias, tag, grant and
    // versions; the old ciphertext decrypts.
    let server = Server::start_in_with_args(&data, None, &["--database", db.url()]);
    let kms = server.kms();
    let described = kms
        .describe_key()
        .key_id("alias/migrated")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(described.key_id, key);
    assert_eq!(described.description.as_deref(), Some("migrated"));
    let tags = kms.list_resource_tags().key_id(&key).send().await.unwrap();
    assert_eq!(tags.tags().len(), 1);
    let grants = kms.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(
        grants.grants()[0].grant_id.as_deref(),
        grant.grant_id.as_deref()
    );
    let rotations = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    let opened = kms.decrypt().ciphertext_blob(sealed).send().await.unwrap();
    assert_eq!(opened.plaintext.unwrap().as_ref(), b"carried over");

    // Without that root key the copy is refused at start.
    let stderr = serve_fails(&["--database", db.url()]);
    assert!(stderr.contains("the root key is not the one"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_to_the_database_when_the_url_asks_for_it() {
    let Some(db) = ScratchDatabase::from_env() else {
        return;
    };
    let Ok(ca) = std::env::var("TRENT_TEST_POSTGRES_CA") else {
        eprintln!("SKIPPED: TRENT_TEST_POSTGRES_CA is not set (scripts/test sets it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("{}?sslmode=verify-full&sslrootcert={ca}", db.url());
    let server = Server::start_in_with_args(&tmp.path().join("d"), None, &["--database", &url]);
    create_key(&server.kms(), None, false).await;
    let connections = format!(
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.datname = '{}' AND a.application_name LIKE 'trent%'",
        db.name()
    );
    let all = db.count_as_admin(&connections).unwrap();
    let encrypted = db
        .count_as_admin(&format!("{connections} AND s.ssl"))
        .unwrap();
    assert!(all >= 2, "the pool's and the listener's connections: {all}");
    assert_eq!(encrypted, all, "every connection of the instance uses TLS");
    drop(server);

    // A server certificate from a CA the instance does not trust: refused at start.
    let stderr = serve_fails(&["--database", &format!("{}?sslmode=require", db.url())]);
    assert!(stderr.contains("certificate"), "{stderr}");
    let stderr = serve_fails(&["--database", &format!("{}?sslmode=sometimes", db.url())]);
    assert!(
        stderr.contains("sslmode=sometimes is not one of"),
        "{stderr}"
    );
}
