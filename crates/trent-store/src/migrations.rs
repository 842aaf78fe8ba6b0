//! Versioned schema. Each entry upgrades the schema by one version; never edit a released entry,
//! append a new one.

use rusqlite::Connection;

use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: keys, material versions, aliases, tags.
    r#"
    CREATE TABLE keys (
        region              TEXT NOT NULL,
        key_id              TEXT NOT NULL,
        account             TEXT NOT NULL,
        created_ms          INTEGER NOT NULL,
        description         TEXT NOT NULL,
        key_spec            TEXT NOT NULL,
        key_usage           TEXT NOT NULL,
        origin              TEXT NOT NULL,
        key_state           TEXT NOT NULL,
        deletion_ms         INTEGER,
        pending_window_days INTEGER,
        policy              TEXT NOT NULL,
        multi_region        INTEGER NOT NULL,
        current_material    INTEGER NOT NULL,
        PRIMARY KEY (region, key_id)
    );
    CREATE INDEX keys_by_account ON keys (region, account, key_id);
    CREATE TABLE key_materials (
        region      TEXT NOT NULL,
        key_id      TEXT NOT NULL,
        version     INTEGER NOT NULL,
        material_id TEXT NOT NULL,
        sealed      BLOB NOT NULL,
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (region, key_id, version),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE TABLE aliases (
        region        TEXT NOT NULL,
        account       TEXT NOT NULL,
        alias_name    TEXT NOT NULL,
        target_key_id TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL,
        PRIMARY KEY (region, account, alias_name),
        FOREIGN KEY (region, target_key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX aliases_by_key ON aliases (region, target_key_id);
    CREATE TABLE tags (
        region    TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        tag_key   TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (region, key_id, tag_key),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // PRAGMA does not take bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))?;
        tx.commit()?;
    }
    Ok(())
}
