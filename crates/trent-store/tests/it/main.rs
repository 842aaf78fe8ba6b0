//! The store's tests: one conformance suite run against every backend from the same code
//! (`conformance.rs`), the cache decorator under interleaved reads and writes (`cached.rs`),
//! and what only SQLite has (a database file that survives a reopen).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

mod cached;
#[macro_use]
mod conformance;
mod fixtures;
mod sqlite;

use trent_store::scratch::ScratchDatabase;
use trent_store::{CachedStore, MemoryStore, PostgresStore, SqliteStore, Store};

use conformance::Fixture;

fn sqlite_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    (dir, path)
}

conformance_suite!(sqlite_backend, {
    let (dir, path) = crate::sqlite_file();
    Some(Fixture::new(
        Store::new(SqliteStore::open(&path).unwrap()),
        Some(dir),
    ))
});

// What `trent serve` runs: SQLite behind the caches.
conformance_suite!(cached_sqlite, {
    let (dir, path) = crate::sqlite_file();
    Some(Fixture::new(Store::open(&path).unwrap(), Some(dir)))
});

// What `trent serve --in-memory` runs.
conformance_suite!(memory, Some(Fixture::new(Store::in_memory(), None)));

conformance_suite!(
    cached_memory,
    Some(Fixture::new(
        Store::new(CachedStore::new(MemoryStore::new())),
        None
    ))
);

// PostgreSQL, each test in a new database on the server scripts/test starts.
conformance_suite!(postgres_backend, {
    ScratchDatabase::from_env()
        .map(|db| Fixture::with(Store::new(PostgresStore::open(db.url()).unwrap()), db))
});

// What `trent serve --database postgres://…` runs.
conformance_suite!(cached_postgres, {
    ScratchDatabase::from_env().map(|db| Fixture::with(Store::open_postgres(db.url()).unwrap(), db))
});
