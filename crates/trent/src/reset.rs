//! `trent reset`: wipes a data dir — the database, the root key and the audit log Trent keeps in
//! it — after asking (or with `--yes`). Files Trent did not make are left where they are, and
//! the directory is removed only when nothing else is in it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::serve::DEFAULT_DATA_DIR;

/// The files `trent serve` makes in a data dir.
const TRENT_FILES: [&str; 5] = [
    "trent.db",
    "trent.db-wal",
    "trent.db-shm",
    "root.key",
    "audit.log",
];

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The data dir to wipe (default: the config's `data_dir`, else ./trent-data).
    #[arg(long, env = "TRENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The config file whose `data_dir` to wipe.
    #[arg(long, env = "TRENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Do not ask (for scripts).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0} holds no Trent data (no trent.db, root.key or audit.log): nothing to reset")]
    NotADataDir(PathBuf),
    #[error(
        "resetting {0} deletes every key, alias, grant and identity in it for good, and \
         ciphertexts made with its keys can never be decrypted again; pass --yes to do it \
         without being asked"
    )]
    NotConfirmed(PathBuf),
    #[error("cannot delete {path}: {source}")]
    Delete {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn run(args: ResetArgs) -> Result<(), ResetError> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let dir = args
        .data_dir
        .or(config.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let present: Vec<PathBuf> = TRENT_FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
    if present.is_empty() {
        return Err(ResetError::NotADataDir(dir));
    }
    if !args.yes && !confirmed(&dir) {
        return Err(ResetError::NotConfirmed(dir));
    }
    for path in &present {
        std::fs::remove_file(path).map_err(|source| ResetError::Delete {
            path: path.clone(),
            source,
        })?;
    }
    // Only if nothing else is in it; a directory with other files in it stays.
    let emptied = std::fs::remove_dir(&dir).is_ok();
    println!(
        "reset {}: deleted {}{}",
        dir.display(),
        present
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy())
            .collect::<Vec<_>>()
            .join(", "),
        if emptied {
            " and the directory"
        } else {
            " (other files in it were left)"
        }
    );
    Ok(())
}

/// Asks on the terminal; without one (a script, CI) nothing is confirmed.
fn confirmed(dir: &Path) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!(
        "This deletes every key, alias, grant and identity in {} for good. Type 'yes' to go on: ",
        dir.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}
