//! `trent serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use trent_crypto::RootKey;
use trent_kms::{AuthzMode, Kms, SystemClock};
use trent_server::{AppState, AuditDestination, AuditLog, AuditSync};
use trent_store::Store;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRENT_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the database and the root key.
    #[arg(long, env = "TRENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (accounts, users, roles, access keys).
    #[arg(long, env = "TRENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Authorization: enforce decisions, audit (decide and log, but allow), or off.
    #[arg(long, env = "TRENT_AUTHZ", value_enum, default_value_t = AuthzArg::Enforce)]
    pub authz: AuthzArg,
    /// Audit log: a file path (JSON lines, appended), `stdout`, or `off`.
    /// Default: `<data-dir>/audit.log`.
    #[arg(long, env = "TRENT_AUDIT_LOG", value_name = "PATH|stdout|off")]
    pub audit_log: Option<String>,
    /// `fdatasync` the audit log before answering (once per batch of concurrent requests), so
    /// that records survive power loss and not only a crash of the process: for every request,
    /// for successful state changes only (not reads and cryptographic operations), or never.
    #[arg(long, env = "TRENT_AUDIT_FSYNC", value_enum, default_value_t = AuditFsync::Mutations)]
    pub audit_fsync: AuditFsync,
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

pub fn run(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let listen = args
        .listen
        .or(config.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| format!("invalid listen address {listen:?}: {e}"))?;
    if config.dev_credentials_enabled() && !listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {listen}: the development credentials test/test are enabled; \
             bind a loopback address or set dev_credentials = false in the config"
        )
        .into());
    }
    let data_dir = args
        .data_dir
        .or(config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;

    let root_key = match std::env::var("TRENT_ROOT_KEY") {
        Ok(encoded) => RootKey::from_encoded(&encoded)
            .map_err(|e| format!("TRENT_ROOT_KEY is not a valid root key: {e}"))?,
        Err(_) => RootKey::load_or_create(&data_dir.join("root.key"))
            .map_err(|e| format!("root key: {e}"))?,
    };
    let store = Store::open(&data_dir.join("trent.db"))?;
    let identities = config.identities()?;
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
    );
    // Config identities go into the store (replacing those of the previous start); the
    // directory is then built from the store, API-created identities included.
    kms.install_config_identities(&identities)
        .map_err(|e| format!("cannot store the configured identities: {e}"))?;
    let audit_destination = match args.audit_log.as_deref() {
        None => AuditDestination::File(data_dir.join("audit.log")),
        Some("off") => AuditDestination::Off,
        Some("stdout") | Some("-") => AuditDestination::Stdout,
        Some(path) => AuditDestination::File(PathBuf::from(path)),
    };
    let audit = AuditLog::open(audit_destination, args.audit_fsync.into())?;
    let state = Arc::new(AppState {
        kms: Arc::new(kms),
        audit,
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        tracing::info!(
            "listening on http://{bound}, data dir {}, audit log {}",
            data_dir.display(),
            match state.audit.destination() {
                AuditDestination::Off => "off".to_string(),
                AuditDestination::Stdout => "stdout".to_string(),
                AuditDestination::File(p) => p.display().to_string(),
            }
        );
        trent_server::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM. In-flight requests finish; every acknowledged write was
/// already committed (SQLite, synchronous=FULL) before its response was sent.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
