//! Throwaway databases for tests: each test gets an empty database of its own on one server,
//! dropped when it ends. Usable from plain threads and from multi-threaded tokio runtimes.

use super::blocking;
use crate::{Result, StoreError};

/// The environment variable that names the server the PostgreSQL tests use: the URL of a role
/// that may create databases (`scripts/test` starts a throwaway server and sets it).
pub const TEST_SERVER_VARIABLE: &str = "TRENT_TEST_POSTGRES";

/// An empty database, dropped (with whatever connections are still open to it) on drop.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// A new empty database on the server named by [`TEST_SERVER_VARIABLE`]; `None` (and a
    /// warning on standard error) if the variable is not set.
    pub fn from_env() -> Option<ScratchDatabase> {
        let Ok(admin_url) = std::env::var(TEST_SERVER_VARIABLE) else {
            eprintln!("SKIPPED: {TEST_SERVER_VARIABLE} is not set (scripts/test sets it)");
            return None;
        };
        match ScratchDatabase::create(&admin_url) {
            Ok(db) => Some(db),
            Err(e) => panic!("cannot create a database on {TEST_SERVER_VARIABLE}: {e}"),
        }
    }

    /// Creates a new empty database on the server at `admin_url`.
    pub fn create(admin_url: &str) -> Result<ScratchDatabase> {
        let name = format!("trent_test_{}", uuid::Uuid::new_v4().simple());
        blocking(|| {
            let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)?;
            // The name is ours, made of [a-z0-9_]: no quoting needed.
            admin.batch_execute(&format!("CREATE DATABASE {name}"))
        })?;
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url, String::new()),
        };
        let server = match base.split_once("://") {
            Some((_, rest)) if rest.contains('/') => base.rsplit_once('/').map(|(s, _)| s),
            _ => Some(base),
        }
        .ok_or_else(|| StoreError::Corrupt(format!("not a database URL: {admin_url}")))?;
        Ok(ScratchDatabase {
            admin_url: admin_url.to_string(),
            url: format!("{server}/{name}{query}"),
            name,
        })
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The name of this database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number `sql` (one row, one `BIGINT` column) answers, asked as the administrator.
    pub fn count_as_admin(&self, sql: &str) -> Result<i64> {
        blocking(|| {
            let mut admin = postgres::Client::connect(&self.admin_url, postgres::NoTls)?;
            Ok(admin.query_one(sql, &[])?.try_get(0)?)
        })
    }

    /// Runs `sql` on the server as the administrator that made this database (tests of
    /// outages: terminating connections, refusing new ones).
    pub fn run_as_admin(&self, sql: &str) -> Result<()> {
        blocking(|| {
            let mut admin = postgres::Client::connect(&self.admin_url, postgres::NoTls)?;
            admin.batch_execute(sql)
        })?;
        Ok(())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let dropped = blocking(|| {
            postgres::Client::connect(&self.admin_url, postgres::NoTls).and_then(|mut admin| {
                admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            })
        });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}
