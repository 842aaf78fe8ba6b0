//! Persistent state of Trent: keys, sealed key-material versions, aliases and tags.
//!
//! Every public method of [`Store`] is one transaction: it either applies completely or leaves
//! the database exactly as it was. The store never sees plaintext key material: callers hand it
//! material already sealed under the root key (see `trent-crypto`).

mod cache;
mod grants;
pub mod iam;
mod migrations;
mod model;
mod sqlite;

pub use model::{Alias, GrantRecord, KeyMaterial, KeyRecord, KeyState, Tag};
pub use sqlite::Store;

/// Errors of the storage layer. Callers map them to wire errors in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the row already exists")]
    AlreadyExists,
    #[error("the row does not exist")]
    NotFound,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the row is still in use: {0} left")]
    Conflict(&'static str),
    #[error("a limit was exceeded: {0}")]
    LimitExceeded(&'static str),
    #[error("the database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;
