//! `trent serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use trent_crypto::{CryptoError, RootKey};
use trent_kms::iam::PlainIdentities;
use trent_kms::{AuthzMode, Kms, KmsError, SystemClock};
use trent_server::audit::AuditError;
use trent_server::{AppState, AuditDestination, AuditLog, AuditSync, ConnectionLimits};
use trent_store::{Store, StoreError};

use crate::config::{Config, ConfigError};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRENT_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the database and the root key (and by default the audit log). With
    /// --database, it holds only the root key and the audit log.
    #[arg(long, env = "TRENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user:password@host:port/dbname`) instead of the
    /// embedded one: several instances with the same root key may share it. Its schema is
    /// created or brought up to date at start.
    #[arg(long, env = "TRENT_DATABASE", value_name = "postgres://…")]
    pub database: Option<String>,
    /// Keep all state in memory and write nothing to disk: no data dir (refused with --data-dir;
    /// a config file's data_dir is ignored), a root key generated for this run unless
    /// TRENT_ROOT_KEY gives one, and no audit log unless --audit-log names one. Everything is
    /// gone when the server stops.
    #[arg(
        long,
        env = "TRENT_IN_MEMORY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub in_memory: bool,
    /// Configuration file (accounts, users, roles, access keys).
    #[arg(long, env = "TRENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Authorization: enforce decisions, audit (decide and log, but allow), or off.
    #[arg(long, env = "TRENT_AUTHZ", value_enum, default_value_t = AuthzArg::Enforce)]
    pub authz: AuthzArg,
    /// Audit log: a file path (JSON lines, appended), `stdout`, or `off`.
    /// Default: `<data-dir>/audit.log` (`off` with --in-memory).
    #[arg(long, env = "TRENT_AUDIT_LOG", value_name = "PATH|stdout|off")]
    pub audit_log: Option<String>,
    /// `fdatasync` the audit log before answering (once per batch of concurrent requests), so
    /// that records survive power loss and not only a crash of the process: for every request,
    /// for successful state changes only (not reads and cryptographic operations), or never.
    #[arg(long, env = "TRENT_AUDIT_FSYNC", value_enum, default_value_t = AuditFsync::Mutations)]
    pub audit_fsync: AuditFsync,
    /// Seconds a client has to send a request's headers, counted from when the connection
    /// starts waiting for a request: on a kept-alive connection this is also the idle timeout.
    #[arg(
        long,
        env = "TRENT_HEADER_READ_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout: u64,
    /// Seconds a client has to send a request's body once its headers arrived.
    #[arg(
        long,
        env = "TRENT_BODY_READ_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = ConnectionLimits::DEFAULT_BODY_READ_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_read_timeout: u64,
    /// Connections served at once; more wait until one closes (logged when it happens).
    #[arg(
        long,
        env = "TRENT_MAX_CONNECTIONS",
        default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    pub max_connections: u64,
    /// Bytes of a request's line and headers together; more is answered 431.
    #[arg(
        long,
        env = "TRENT_MAX_HEADER_BYTES",
        value_name = "BYTES",
        default_value_t = ConnectionLimits::DEFAULT_MAX_HEADER_BYTES,
        value_parser = clap::value_parser!(u64).range(ConnectionLimits::MIN_MAX_HEADER_BYTES..=16 * 1024 * 1024)
    )]
    pub max_header_bytes: u64,
    /// Customer managed keys an account may have in one Region (AWS's quota: 100,000).
    #[arg(
        long,
        env = "TRENT_MAX_KEYS_PER_REGION",
        default_value_t = trent_kms::quotas::DEFAULT_MAX_KEYS_PER_REGION as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_keys_per_region: u64,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, env = "TRENT_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "TRENT_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Tests only: run the service clock this many seconds ahead of the system clock (session
    /// expiry, key deletion dates). SigV4 request dates are still checked against the system
    /// clock.
    #[arg(
        long,
        hide = true,
        env = "TRENT_TEST_CLOCK_OFFSET",
        allow_hyphen_values = true
    )]
    pub test_clock_offset: Option<i64>,
}

/// The system clock moved by a fixed offset (tests of expiry).
struct OffsetClock(i64);

impl trent_kms::Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        trent_kms::Clock::now_ms(&SystemClock) + self.0
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuditFsync {
    Always,
    Mutations,
    Never,
}

impl From<AuditFsync> for AuditSync {
    fn from(a: AuditFsync) -> Self {
        match a {
            AuditFsync::Always => AuditSync::Always,
            AuditFsync::Mutations => AuditSync::Mutations,
            AuditFsync::Never => AuditSync::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuthzArg {
    Enforce,
    Audit,
    Off,
}

impl From<AuthzArg> for AuthzMode {
    fn from(a: AuthzArg) -> Self {
        match a {
            AuthzArg::Enforce => AuthzMode::Enforce,
            AuthzArg::Audit => AuthzMode::Audit,
            AuthzArg::Off => AuthzMode::Off,
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4599";
pub const DEFAULT_DATA_DIR: &str = "./trent-data";

/// Why `trent serve` did not start (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid listen address {address:?}: {source}")]
    Listen {
        address: String,
        source: std::net::AddrParseError,
    },
    #[error(
        "refusing to listen on {0}: the development credentials test/test are enabled; \
         bind a loopback address or set dev_credentials = false in the config"
    )]
    DevCredentialsNotLoopback(SocketAddr),
    // Checked here, not by clap: clap counts TRENT_IN_MEMORY=false as given.
    #[error(
        "--in-memory (TRENT_IN_MEMORY) keeps nothing on disk; it cannot be combined with the \
         data dir {} given by --data-dir or TRENT_DATA_DIR",
        .0.display()
    )]
    InMemoryWithDataDir(PathBuf),
    #[error(
        "--in-memory (TRENT_IN_MEMORY) keeps nothing on disk; it cannot be combined with the \
         database given by --database or TRENT_DATABASE"
    )]
    InMemoryWithDatabase,
    #[error("--database (TRENT_DATABASE) must be a postgres:// or postgresql:// URL, not {0:?}")]
    DatabaseUrl(String),
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TRENT_ROOT_KEY is not a valid root key: {0}")]
    RootKeyEnv(CryptoError),
    #[error("root key: {0}")]
    RootKey(CryptoError),
    #[error("cannot open the database {path}: {source}")]
    Database { path: PathBuf, source: StoreError },
    /// `url` is without its password.
    #[error("cannot open the database {url}: {source}")]
    SharedDatabase { url: String, source: StoreError },
    #[error("{storage}: {source}")]
    RootKeyCheck {
        storage: String,
        source: trent_kms::root_key_check::RootKeyCheckError,
    },
    #[error("cannot store the configured identities: {0}")]
    Identities(KmsError),
    #[error(transparent)]
    Seed(#[from] trent_kms::seed::SeedError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Tls(#[from] trent_server::TlsError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Where the state lives.
enum Storage {
    /// `trent.db` and `root.key` (and by default `audit.log`) in this directory.
    DataDir(PathBuf),
    /// A PostgreSQL database (several instances may share it); `root.key` (unless
    /// `TRENT_ROOT_KEY` gives it) and by default `audit.log` in the directory.
    Postgres { url: String, dir: PathBuf },
    /// `--in-memory`: nothing on disk; everything is gone when the process exits.
    Memory,
}

impl Storage {
    /// `--in-memory`, else the data dir of the flag, the environment or the config, else the
    /// default.
    fn choose(args: &ServeArgs, config: &Config) -> Result<Storage, ServeError> {
        if args.in_memory {
            if let Some(dir) = &args.data_dir {
                return Err(ServeError::InMemoryWithDataDir(dir.clone()));
            }
            // A config file may serve both kinds of runs, so its data dir is not an error here.
            if let Some(dir) = &config.data_dir {
                tracing::info!(
                    "--in-memory: the config's data_dir {} is not used",
                    dir.display()
                );
            }
            if args.database.is_some() {
                return Err(ServeError::InMemoryWithDatabase);
            }
            return Ok(Storage::Memory);
        }
        let dir = args
            .data_dir
            .clone()
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        match args.database.clone().or_else(|| config.database.clone()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Storage::Postgres { url, dir })
            }
            Some(url) => Err(ServeError::DatabaseUrl(trent_store::redact_url(&url))),
            None => Ok(Storage::DataDir(dir)),
        }
    }

    /// The store and the root key that seals what goes into it. `TRENT_ROOT_KEY` wins over the
    /// data dir's `root.key`; in memory, without it, a key is generated for this run only (what
    /// it seals lives no longer than the process, so nothing needs to keep it).
    fn open(&self) -> Result<(Store, RootKey), ServeError> {
        let from_env = root_key_from_env()?;
        match self {
            Storage::DataDir(dir) => {
                let root_key = root_key_in(dir, from_env)?;
                let path = dir.join("trent.db");
                let store =
                    Store::open(&path).map_err(|source| ServeError::Database { path, source })?;
                Ok((store, root_key))
            }
            Storage::Postgres { url, dir } => {
                let root_key = root_key_in(dir, from_env)?;
                let store =
                    Store::open_postgres(url).map_err(|source| ServeError::SharedDatabase {
                        url: trent_store::redact_url(url),
                        source,
                    })?;
                Ok((store, root_key))
            }
            Storage::Memory => {
                let root_key = match from_env {
                    Some(key) => key,
                    None => RootKey::generate().map_err(ServeError::RootKey)?,
                };
                Ok((Store::in_memory(), root_key))
            }
        }
    }

    /// The audit log when `--audit-log` is not given: in the data dir, or none in memory.
    fn default_audit_log(&self) -> AuditDestination {
        match self {
            Storage::DataDir(dir) | Storage::Postgres { dir, .. } => {
                AuditDestination::File(dir.join("audit.log"))
            }
            Storage::Memory => AuditDestination::Off,
        }
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::DataDir(dir) => write!(f, "data dir {}", dir.display()),
            Storage::Postgres { url, dir } => write!(
                f,
                "database {} (root key and audit log in {})",
                trent_store::redact_url(url),
                dir.display()
            ),
            Storage::Memory => f.write_str("store in memory (nothing written to disk)"),
        }
    }
}

/// The root key: `from_env` if given, else the data dir's `root.key` (created if need be, with
/// the data dir).
fn root_key_in(dir: &std::path::Path, from_env: Option<RootKey>) -> Result<RootKey, ServeError> {
    create_private_dir(dir).map_err(|source| ServeError::DataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let root_key = match from_env {
        Some(key) => key,
        None => RootKey::load_or_create(&dir.join("root.key")).map_err(ServeError::RootKey)?,
    };
    warn_if_others_can_read(dir);
    Ok(root_key)
}

/// The root key given in `TRENT_ROOT_KEY`, if any.
fn root_key_from_env() -> Result<Option<RootKey>, ServeError> {
    match std::env::var("TRENT_ROOT_KEY") {
        Ok(encoded) => RootKey::from_encoded(&encoded)
            .map(Some)
            .map_err(ServeError::RootKeyEnv),
        Err(std::env::VarError::NotPresent) => Ok(None),
        // Hex and base64 are ASCII: this is no root key (and is not echoed back).
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(ServeError::RootKeyEnv(CryptoError::InvalidKeyMaterial))
        }
    }
}

fn audit_destination(arg: Option<&str>, storage: &Storage) -> AuditDestination {
    match arg {
        None => storage.default_audit_log(),
        Some("off") => AuditDestination::Off,
        Some("stdout") | Some("-") => AuditDestination::Stdout,
        Some(path) => AuditDestination::File(PathBuf::from(path)),
    }
}

pub fn run(args: ServeArgs) -> Result<(), ServeError> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let address = args
        .listen
        .clone()
        .or(config.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = address
        .parse()
        .map_err(|source| ServeError::Listen { address, source })?;
    if config.dev_credentials_enabled() && !listen.ip().is_loopback() {
        return Err(ServeError::DevCredentialsNotLoopback(listen));
    }
    // Checked before anything is created on disk.
    let identities = config.identities()?;
    let seed = config.seed()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(trent_server::TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let args_summary = format!(
        "authorization {}, audit fsync {}",
        match args.authz {
            AuthzArg::Enforce => "enforced",
            AuthzArg::Audit => "audit only (denials logged, not enforced)",
            AuthzArg::Off => "off",
        },
        match args.audit_fsync {
            AuditFsync::Always => "always",
            AuditFsync::Mutations => "for state changes",
            AuditFsync::Never => "never",
        }
    );
    let storage = Storage::choose(&args, &config)?;
    let (store, root_key) = storage.open()?;
    let clock: Arc<dyn trent_kms::Clock> = match args.test_clock_offset {
        Some(seconds) => Arc::new(OffsetClock(seconds.saturating_mul(1000))),
        None => Arc::new(SystemClock),
    };
    let kms = Kms::new(
        store,
        root_key,
        clock,
        Arc::new(trent_kms::Directory::new()),
        args.authz.into(),
    )
    .with_max_keys_per_region(usize::try_from(args.max_keys_per_region).unwrap_or(usize::MAX));
    // Before anything is read or sealed: the root key must be the one the data was sealed under.
    kms.check_root_key()
        .map_err(|source| ServeError::RootKeyCheck {
            storage: storage.to_string(),
            source,
        })?;
    // Config identities go into the store (replacing those of the previous start); the
    // directory is then built from the store, API-created identities included.
    kms.install_config_identities(&identities)
        .map_err(ServeError::Identities)?;
    // The seed's keys, after the identities their policies and grants name; all checked before
    // any is written.
    kms.apply_seed(&seed)?;
    let audit = AuditLog::open(
        audit_destination(args.audit_log.as_deref(), &storage),
        args.audit_fsync.into(),
    )?;
    let kms = Arc::new(kms);
    // Other instances sharing the database: their changes reach this one's caches.
    kms.follow_remote_changes();
    let state = Arc::new(AppState {
        kms,
        audit,
        limits: ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout),
            body_read_timeout: std::time::Duration::from_secs(args.body_read_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            max_header_bytes: usize::try_from(args.max_header_bytes).unwrap_or(usize::MAX),
        },
        tls,
        metrics: Default::default(),
        signing_keys: Default::default(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let bind_error = |source| ServeError::Bind {
            address: listen,
            source,
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        if !bound.ip().is_loopback() && state.tls.is_none() {
            tracing::warn!(
                "{bound} is not a loopback address and Trent serves plain HTTP: credentials' \
                 signatures, plaintexts and data keys cross the network unencrypted. Put a \
                 TLS-terminating proxy in front of Trent, or --tls-cert/--tls-key, or listen on \
                 127.0.0.1"
            );
        }
        let shutdown = shutdown_signal().map_err(ServeError::Serve)?;
        // Tests read the address from this line: it must start with `listening on http://` (or
        // `https://`).
        tracing::info!(
            "listening on {scheme}://{bound}, {storage}, audit log {}",
            match state.audit.destination() {
                AuditDestination::Off => "off".to_string(),
                AuditDestination::Stdout => "stdout".to_string(),
                AuditDestination::File(p) => p.display().to_string(),
            }
        );
        announce(
            &state,
            &identities,
            &format!("{scheme}://{bound}"),
            args_summary,
        );
        trent_server::serve(listener, state, shutdown)
            .await
            .map_err(ServeError::Serve)?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM. In-flight requests finish; every acknowledged write was
/// already committed (SQLite, synchronous=FULL) before its response was sent (with
/// --in-memory, everything is gone when the process exits).
/// What a newcomer needs after the listening line: the modes, every configured access key with
/// the principal it signs as (never a secret), how many more the IAM API made, and for the
/// development identity the lines that point the AWS CLI and SDKs at this server.
fn announce(state: &AppState, identities: &PlainIdentities, endpoint: &str, modes: String) {
    tracing::info!("{modes}");
    let directory = state.kms.directory();
    let configured: std::collections::BTreeSet<&str> = identities
        .access_keys
        .iter()
        .map(|k| k.access_key_id.as_str())
        .collect();
    for id in &configured {
        if let Some(key) = directory.access_key(id) {
            tracing::info!("access key {id}: {}", key.principal.arn);
        }
    }
    let made_by_api = directory
        .stored()
        .access_keys
        .iter()
        .filter(|k| !configured.contains(k.access_key_id.as_str()))
        .count();
    if made_by_api > 0 {
        tracing::info!("and {made_by_api} access keys made through the IAM API");
    }
    if configured.contains(crate::config::DEV_ACCESS_KEY_ID) {
        tracing::info!(
            "development identity (test/test, the root of account {}): export \
             AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} \
             AWS_REGION=us-east-1",
            crate::config::DEV_ACCOUNT,
            crate::config::DEV_ACCESS_KEY_ID,
            crate::config::DEV_SECRET_ACCESS_KEY,
        );
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called, not
/// when the future is first polled: it is called before the server says it is listening, so a
/// signal sent right after that line stops the server cleanly instead of killing it.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
}

/// Creates the data dir (and missing parents) readable by its owner only: it holds the policies,
/// grants and identities, and by default the root key.
/// What Trent creates is owner-only (0700, 0600); a data dir or database file that others can
/// read or write (made by an older version, copied, or changed since) exposes key policies,
/// grants and identities to every local user. Warned about at every start, not refused: the
/// secrets in them are sealed, and `root.key` itself is refused when others can read it.
fn warn_if_others_can_read(dir: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let files = ["trent.db", "trent.db-wal", "trent.db-shm"].map(|f| dir.join(f));
        for path in std::iter::once(dir.to_path_buf()).chain(files) {
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    "{} is accessible to other users (mode {:o}); chmod {} it",
                    path.display(),
                    meta.permissions().mode() & 0o777,
                    if meta.is_dir() { "700" } else { "600" }
                );
            }
        }
    }
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
