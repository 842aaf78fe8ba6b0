//! Persistent state of Trent: keys, sealed key-material versions, aliases, tags, grants and
//! identities.
//!
//! [`Backend`] is the storage contract (every method one transaction); [`Store`] is the handle
//! the service holds. Backends: [`SqliteStore`] (the embedded database, `sqlite/`),
//! [`PostgresStore`] (one database shared by several instances, `pg/`),
//! [`MemoryStore`] (nothing on disk: `trent serve --in-memory`, tests), and [`CachedStore`], a
//! decorator that puts the caches of the hot path in front of any backend. The records they
//! store are in `model.rs` (keys, material, aliases, tags, grants) and [`iam`] (identities). The
//! store never sees plaintext key material: callers hand it material already sealed under the
//! root key (see `trent-crypto`).

mod backend;
mod cache;
mod cached;
pub mod changes;
pub mod iam;
mod memory;
mod model;
mod pg;
mod sqlite;
pub mod tls_roots;

pub use backend::{Backend, Store};
pub use cached::CachedStore;
pub use memory::MemoryStore;
pub use model::{
    Alias, EndedGrant, GrantEnd, GrantEnding, GrantRecord, KeyManager, KeyMaterial, KeyRecord,
    KeyState, KeyUsage, MAX_ENDED_GRANTS_PER_KEY, RelatedKey, RotationKind, Tag,
};
pub use pg::{
    Copied, LISTENER_APPLICATION_NAME, PostgresStore, copy_sqlite_to_postgres, redact_url, scratch,
};
pub use sqlite::SqliteStore;

/// Errors of the storage layer. Callers map them to wire errors in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("PostgreSQL error: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// No connection to PostgreSQL could be had in time (the database is down or overloaded).
    #[error("no connection to PostgreSQL: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database named at start cannot be reached, or its URL is not one.
    #[error("cannot connect: {0}")]
    Unreachable(String),
    #[error("cannot create the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the row already exists")]
    AlreadyExists,
    #[error("the row does not exist")]
    NotFound,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the row is still in use: {0} left")]
    Conflict(&'static str),
    #[error("the target database is not empty: {0}")]
    NotEmpty(String),
    #[error("a limit was exceeded: {0}")]
    LimitExceeded(&'static str),
    #[error("the database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Between [`Store::modify_key`] and a backend only: the caller's closure refused the change
    /// (its own error is what `modify_key` returns), so the backend must write nothing.
    #[error("the change was refused by its caller")]
    Refused,
}

pub type Result<T> = std::result::Result<T, StoreError>;
