//! `trent migrate --from <data-dir> --to postgres://…`: copies the embedded database of a data
//! dir into an empty PostgreSQL database, in one transaction, and says what it copied. Sealed
//! values are copied as they are (never unsealed); the instances serving the copy need the data
//! dir's root key.

use std::path::PathBuf;

use trent_store::{StoreError, copy_sqlite_to_postgres, redact_url};

use crate::serve::DEFAULT_DATA_DIR;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The data dir whose database to copy (default ./trent-data).
    #[arg(long, value_name = "DATA-DIR")]
    pub from: Option<PathBuf>,
    /// The PostgreSQL database to copy into (its schema is created if need be); it must hold
    /// no data.
    #[arg(long, value_name = "postgres://…", env = "TRENT_DATABASE")]
    pub to: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0} has no database (trent.db): nothing to copy")]
    NoDatabase(PathBuf),
    #[error("--to must be a postgres:// or postgresql:// URL, not {0:?}")]
    NotPostgres(String),
    /// `url` is without its password.
    #[error("cannot copy {from} into {url}: {source}; nothing was written")]
    Copy {
        from: PathBuf,
        url: String,
        source: StoreError,
    },
}

pub fn run(args: MigrateArgs) -> Result<(), MigrateError> {
    let dir = args.from.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database = dir.join("trent.db");
    if !database.is_file() {
        return Err(MigrateError::NoDatabase(dir));
    }
    let url = args.to;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(MigrateError::NotPostgres(redact_url(&url)));
    }
    let copied = copy_sqlite_to_postgres(&database, &url).map_err(|source| MigrateError::Copy {
        from: database.clone(),
        url: redact_url(&url),
        source,
    })?;
    let total: u64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {} into {} ({total} rows):",
        database.display(),
        redact_url(&url)
    );
    for (table, rows) in &copied {
        println!("  {table:<20} {rows:>8}");
    }
    println!(
        "serve it with: trent serve --database <that URL>, and the root key of {} \
         (TRENT_ROOT_KEY, or its root.key in each instance's --data-dir)",
        dir.display()
    );
    Ok(())
}
