//! The one test-support module of the `trent` integration tests.
//!
//! Here: the harness that runs the real `trent serve` binary on 127.0.0.1:0 with a temporary data
//! dir and talks to it with the AWS SDK for Rust, and what every test family uses.
//! [`kms`]: helpers for the development account (keys, whole-account snapshots, raw HTTP,
//! rewritten SDK requests). [`authz`]: `trent.toml` with accounts, users and roles, policy
//! documents, and the AccessDenied messages of spec §7.2.
// Test setup: a failure is a failed test (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod authz;
pub mod kms;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use aws_credential_types::Credentials;

/// The region every test client uses.
pub const REGION: &str = "us-east-1";

pub struct Server {
    child: Child,
    pub endpoint: String,
    pub data_dir: PathBuf,
    /// Everything the server wrote to stderr so far.
    log: Arc<Mutex<String>>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server with the default configuration (development credentials).
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let mut s = Server::start_in(&data_dir, None);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server with a config file written from `toml`.
    pub fn start_with_config(toml: &str) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("trent.toml");
        std::fs::write(&config, toml).unwrap();
        let mut s = Server::start_in(&tmp.path().join("data"), Some(&config));
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server with a config file written from `toml` and extra `trent serve` flags
    /// (e.g. `&["--authz", "audit"]`).
    pub fn start_with_args(toml: &str, args: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("trent.toml");
        std::fs::write(&config, toml).unwrap();
        let mut s = Server::start_in_with_args(&tmp.path().join("data"), Some(&config), args);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing data dir (to show persistence across restarts).
    pub fn start_in(data_dir: &Path, config: Option<&Path>) -> Server {
        Server::start_in_with_args(data_dir, config, &[])
    }

    /// [`Server::start_in`] with extra `trent serve` flags.
    pub fn start_in_with_args(data_dir: &Path, config: Option<&Path>, args: &[&str]) -> Server {
        Server::start_in_with_env(data_dir, config, args, &[])
    }

    /// [`Server::start_in`] with extra flags and environment variables (e.g. `TRENT_ROOT_KEY`).
    pub fn start_in_with_env(
        data_dir: &Path,
        config: Option<&Path>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trent"));
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("TRENT_ROOT_KEY")
            .env_remove("TRENT_CONFIG")
            .env_remove("TRENT_IN_MEMORY");
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.args(args).env_remove("TRENT_AUTHZ");
        cmd.envs(env.iter().copied());
        Server::spawn(cmd, data_dir)
    }

    /// Runs `cmd`, a `trent serve` command line, and waits until the server listens. `data_dir`
    /// is where it keeps its state (for an in-memory server: where it must not).
    pub fn spawn(mut cmd: Command, data_dir: &Path) -> Server {
        cmd.env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn trent");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut log) = collected.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
                if !sent && let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split(',').next().unwrap_or_default().to_string();
                    let _ = tx.send(Ok(addr));
                    sent = true;
                } else if !sent && line.starts_with("trent: ") {
                    let _ = tx.send(Err(line.clone()));
                    sent = true;
                }
                if std::env::var_os("TRENT_TEST_LOG").is_some() {
                    eprintln!("[server] {line}");
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                panic!("server did not start: {other:?}");
            }
        };
        Server {
            child,
            endpoint: format!("http://{addr}"),
            data_dir: data_dir.to_path_buf(),
            log,
            _tmp: None,
        }
    }

    /// The server's stderr once it contains `needle` (waiting up to 10 s for it: lines reach
    /// the reader thread a moment after they are written).
    pub fn log_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || std::time::Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        self.kms_as("test", "test", REGION)
    }

    /// A client with the SDK's default retries (see [`kms::client_as`] for one without).
    pub fn kms_as(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::from_conf(
            sdk_config(&self.endpoint, access_key, secret, region).build(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The error code and message of a failed SDK call.
pub fn err<E, R>(e: aws_sdk_kms::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(se) => (
            se.code().unwrap_or_default().to_string(),
            se.message().unwrap_or_default().to_string(),
        ),
        None => panic!("not a service error: {e:?}"),
    }
}

/// The SDK configuration of every test client: `endpoint`, static credentials, `region`.
pub fn sdk_config(
    endpoint: &str,
    access_key: &str,
    secret: &str,
    region: &str,
) -> aws_sdk_kms::config::Builder {
    let creds = Credentials::new(access_key, secret, None, None, "trent-test");
    aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` with bit `bit` (modulo the length in bits) flipped.
pub fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    let bit = bit % (v.len() * 8);
    v[bit / 8] ^= 1 << (bit % 8);
    v
}
