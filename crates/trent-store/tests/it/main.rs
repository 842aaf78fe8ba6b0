//! The store's tests: one conformance suite run against every backend from the same code
//! (`conformance.rs`), the cache decorator under interleaved reads and writes (`cached.rs`),
//! and what only SQLite has (a database file that survives a reopen).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

mod cached;
#[macro_use]
mod conformance;
mod fixtures;
mod sqlite;

use trent_store::{CachedStore, MemoryStore, SqliteStore, Store};

use conformance::Fixture;

fn sqlite_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    (dir, path)
}

conformance_suite!(sqlite_backend, {
    let (dir, path) = crate::sqlite_file();
    Fixture::new(Store::new(SqliteStore::open(&path).unwrap()), Some(dir))
});

// What `trent serve` runs: SQLite behind the caches.
conformance_suite!(cached_sqlite, {
    let (dir, path) = crate::sqlite_file();
    Fixture::new(Store::open(&path).unwrap(), Some(dir))
});

// What `trent serve --in-memory` runs.
conformance_suite!(memory, Fixture::new(Store::in_memory(), None));

conformance_suite!(
    cached_memory,
    Fixture::new(Store::new(CachedStore::new(MemoryStore::new())), None)
);
