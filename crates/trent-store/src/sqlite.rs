//! The embedded SQLite backend (WAL, synchronous=FULL: an acknowledged write survives a crash).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::cache::Cache;
use crate::migrations::migrate;
use crate::model::{Alias, KeyMaterial, KeyRecord, Tag};
use crate::{Result, StoreError};

const READERS: usize = 4;

/// The store. One writer connection (SQLite allows one writer at a time anyway) and a few reader
/// connections, so reads on the hot path (Encrypt, Decrypt) do not queue behind fsyncs.
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    pub(crate) caches: Caches,
}

type KeyRef = (String, String);

/// The write-through caches (see `cache.rs`). `None` values cache absence where that is safe.
#[derive(Default)]
pub(crate) struct Caches {
    keys: Cache<KeyRef, Option<KeyRecord>>,
    materials: Cache<(String, String, u32), Option<KeyMaterial>>,
    aliases: Cache<(String, String, String), Option<Alias>>,
    key_aliases: Cache<KeyRef, Vec<Alias>>,
    tags: Cache<KeyRef, Vec<Tag>>,
    /// (region, key_id, grantee) → grants of that key naming that grantee.
    pub(crate) grants: Cache<(String, String, String), Vec<crate::GrantRecord>>,
}

impl Caches {
    /// After a key and everything hanging off it were deleted.
    fn forget_key(&self, region: &str, key_id: &str) {
        let k = (region.to_string(), key_id.to_string());
        self.keys.remove(&k);
        self.materials
            .retain(|(r, id, _)| !(r == region && id == key_id));
        self.tags.remove(&k);
        self.aliases.clear();
        self.key_aliases.clear();
        self.forget_grants(region, key_id);
    }

    pub(crate) fn forget_grants(&self, region: &str, key_id: &str) {
        self.grants
            .retain(|(r, id, _)| !(r == region && id == key_id));
    }

    pub(crate) fn forget_aliases(&self) {
        self.aliases.clear();
        self.key_aliases.clear();
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-applied transaction behind (SQLite rolls
    // back an unfinished one), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const KEY_COLUMNS: &str = "region, key_id, account, created_ms, description, key_spec, key_usage, \
     origin, key_state, deletion_ms, pending_window_days, policy, multi_region, current_material, \
     policy_principal_ids";

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<(KeyRecord, String)> {
    let state: String = row.get(8)?;
    Ok((
        KeyRecord {
            region: row.get(0)?,
            key_id: row.get(1)?,
            account: row.get(2)?,
            created_ms: row.get(3)?,
            description: row.get(4)?,
            key_spec: row.get(5)?,
            key_usage: row.get(6)?,
            origin: row.get(7)?,
            key_state: crate::model::KeyState::Enabled,
            deletion_ms: row.get(9)?,
            pending_window_days: row.get(10)?,
            policy: row.get(11)?,
            multi_region: row.get(12)?,
            current_material: row.get(13)?,
            policy_principal_ids: row.get(14)?,
        },
        state,
    ))
}

fn finish_key((mut key, state): (KeyRecord, String)) -> Result<KeyRecord> {
    key.key_state = state.parse()?;
    Ok(key)
}

fn alias_from_row(row: &Row<'_>) -> rusqlite::Result<Alias> {
    Ok(Alias {
        region: row.get(0)?,
        account: row.get(1)?,
        alias_name: row.get(2)?,
        target_key_id: row.get(3)?,
        created_ms: row.get(4)?,
        updated_ms: row.get(5)?,
    })
}

fn read_key(conn: &Connection, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE region = ?1 AND key_id = ?2");
    conn.query_row(&sql, params![region, key_id], key_from_row)
        .optional()?
        .map(finish_key)
        .transpose()
}

fn write_key(tx: &Transaction<'_>, key: &KeyRecord) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE keys SET description = ?3, key_state = ?4, deletion_ms = ?5, \
         pending_window_days = ?6, policy = ?7, current_material = ?8, \
         policy_principal_ids = ?9 \
         WHERE region = ?1 AND key_id = ?2",
        params![
            key.region,
            key.key_id,
            key.description,
            key.key_state.as_str(),
            key.deletion_ms,
            key.pending_window_days,
            key.policy,
            key.current_material,
            key.policy_principal_ids,
        ],
    )?)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = Connection::open(path)?;
                configure(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Store {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            caches: Caches::default(),
        })
    }

    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.readers.len() {
            if let Ok(guard) = self.readers[(start + offset) % self.readers.len()].try_lock() {
                return guard;
            }
        }
        lock(&self.readers[start % self.readers.len()])
    }

    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    // ---- keys ---------------------------------------------------------------------------------

    /// Inserts a new key with its first material version and its initial tags.
    pub fn create_key(&self, key: &KeyRecord, material: &KeyMaterial, tags: &[Tag]) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "INSERT INTO keys ({KEY_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            );
            let inserted = tx.execute(
                &sql,
                params![
                    key.region,
                    key.key_id,
                    key.account,
                    key.created_ms,
                    key.description,
                    key.key_spec,
                    key.key_usage,
                    key.origin,
                    key.key_state.as_str(),
                    key.deletion_ms,
                    key.pending_window_days,
                    key.policy,
                    key.multi_region,
                    key.current_material,
                    key.policy_principal_ids,
                ],
            );
            match inserted {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::AlreadyExists);
                }
                other => other?,
            };
            insert_material(tx, &key.region, &key.key_id, material)?;
            for tag in tags {
                tx.execute(
                    "INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES (?1, ?2, ?3, ?4)",
                    params![key.region, key.key_id, tag.key, tag.value],
                )?;
            }
            Ok(())
        })?;
        let k = (key.region.clone(), key.key_id.clone());
        self.caches.keys.insert(k.clone(), Some(key.clone()));
        self.caches.tags.remove(&k);
        Ok(())
    }

    pub fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        self.caches
            .keys
            .get_or_load((region.to_string(), key_id.to_string()), || {
                read_key(&self.reader(), region, key_id)
            })
    }

    /// Keys of one account in one region, ordered by key ID, starting after `after`.
    pub fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE region = ?1 AND account = ?2 AND key_id > ?3 \
             ORDER BY key_id LIMIT ?4"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![region, account, after.unwrap_or(""), limit as i64],
            key_from_row,
        )?;
        rows.map(|r| finish_key(r?)).collect()
    }

    /// Read-modify-write of one key inside one transaction. `f` may refuse the change by
    /// returning an error, in which case nothing is written. A missing key yields
    /// `StoreError::NotFound` converted into `E`.
    pub fn modify_key<T, E: From<StoreError>>(
        &self,
        region: &str,
        key_id: &str,
        f: impl FnOnce(&mut KeyRecord) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(StoreError::from)?;
        let mut key = read_key(&tx, region, key_id)?.ok_or(StoreError::NotFound)?;
        let value = f(&mut key)?;
        write_key(&tx, &key)?;
        tx.commit().map_err(StoreError::from)?;
        self.caches
            .keys
            .insert((region.to_string(), key_id.to_string()), Some(key));
        Ok(value)
    }

    /// Deletes a key with its material, aliases and tags.
    pub fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM keys WHERE region = ?1 AND key_id = ?2",
                params![region, key_id],
            )?;
            Ok(())
        })?;
        self.caches.forget_key(region, key_id);
        Ok(())
    }

    /// Keys pending deletion whose deletion date is at or before `now_ms`.
    pub fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, key_id FROM keys \
             WHERE key_state = 'PendingDeletion' AND deletion_ms <= ?1",
        )?;
        let rows = stmt.query_map(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn material(
        &self,
        region: &str,
        key_id: &str,
        version: u32,
    ) -> Result<Option<KeyMaterial>> {
        // Material versions never change once written; they go away with their key.
        self.caches
            .materials
            .get_or_load((region.to_string(), key_id.to_string(), version), || {
                self.load_material(region, key_id, version)
            })
    }

    fn load_material(
        &self,
        region: &str,
        key_id: &str,
        version: u32,
    ) -> Result<Option<KeyMaterial>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT version, material_id, sealed, created_ms FROM key_materials \
             WHERE region = ?1 AND key_id = ?2 AND version = ?3",
        )?;
        Ok(stmt
            .query_row(params![region, key_id, version], |r| {
                Ok(KeyMaterial {
                    version: r.get(0)?,
                    material_id: r.get(1)?,
                    sealed: r.get(2)?,
                    created_ms: r.get(3)?,
                })
            })
            .optional()?)
    }

    // ---- aliases ------------------------------------------------------------------------------

    pub fn create_alias(&self, alias: &Alias) -> Result<()> {
        let result = self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO aliases (region, account, alias_name, target_key_id, created_ms, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    alias.region,
                    alias.account,
                    alias.alias_name,
                    alias.target_key_id,
                    alias.created_ms,
                    alias.updated_ms
                ],
            );
            match inserted {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    Err(StoreError::AlreadyExists)
                }
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    Err(StoreError::NotFound)
                }
                other => other.map(|_| ()).map_err(StoreError::from),
            }
        });
        self.caches.forget_aliases();
        result
    }

    /// Points an existing alias at another key.
    pub fn update_alias(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        let result = self.write(|tx| {
            let changed = tx.execute(
                "UPDATE aliases SET target_key_id = ?4, updated_ms = ?5 \
                 WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
                params![region, account, alias_name, target_key_id, now_ms],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        });
        self.caches.forget_aliases();
        result
    }

    pub fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        let result = self.write(|tx| {
            let changed = tx.execute(
                "DELETE FROM aliases WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
                params![region, account, alias_name],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        });
        self.caches.forget_aliases();
        result
    }

    pub fn get_alias(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
    ) -> Result<Option<Alias>> {
        self.caches.aliases.get_or_load(
            (
                region.to_string(),
                account.to_string(),
                alias_name.to_string(),
            ),
            || self.load_alias(region, account, alias_name),
        )
    }

    fn load_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, account, alias_name, target_key_id, created_ms, updated_ms FROM aliases \
             WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
        )?;
        Ok(stmt
            .query_row(params![region, account, alias_name], alias_from_row)
            .optional()?)
    }

    /// Every alias of a key (`kms:ResourceAliases`), ordered by name.
    pub fn aliases_of_key(&self, region: &str, account: &str, key_id: &str) -> Result<Vec<Alias>> {
        self.caches
            .key_aliases
            .get_or_load((region.to_string(), key_id.to_string()), || {
                self.list_aliases(region, account, Some(key_id), None, usize::MAX >> 1)
            })
    }

    /// Aliases of one account and region (optionally of one key), ordered by name, after `after`.
    pub fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Alias>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, account, alias_name, target_key_id, created_ms, updated_ms FROM aliases \
             WHERE region = ?1 AND account = ?2 AND (?3 IS NULL OR target_key_id = ?3) \
             AND alias_name > ?4 ORDER BY alias_name LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![region, account, key_id, after.unwrap_or(""), limit as i64],
            alias_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- tags ---------------------------------------------------------------------------------

    /// Adds or overwrites tags; refuses (changing nothing) if the key would exceed `max_tags`.
    pub fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()> {
        let result = self.write(|tx| {
            for tag in tags {
                tx.execute(
                    "INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                    params![region, key_id, tag.key, tag.value],
                )?;
            }
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM tags WHERE region = ?1 AND key_id = ?2",
                params![region, key_id],
                |r| r.get(0),
            )?;
            if count as usize > max_tags {
                // Returning an error drops the transaction: the inserts above are rolled back.
                return Err(StoreError::LimitExceeded("tags"));
            }
            Ok(())
        });
        self.caches
            .tags
            .remove(&(region.to_string(), key_id.to_string()));
        result
    }

    pub fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        let result = self.write(|tx| {
            for k in tag_keys {
                tx.execute(
                    "DELETE FROM tags WHERE region = ?1 AND key_id = ?2 AND tag_key = ?3",
                    params![region, key_id, k],
                )?;
            }
            Ok(())
        });
        self.caches
            .tags
            .remove(&(region.to_string(), key_id.to_string()));
        result
    }

    /// Tags of a key ordered by tag key.
    pub fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        self.caches
            .tags
            .get_or_load((region.to_string(), key_id.to_string()), || {
                self.load_tags(region, key_id)
            })
    }

    fn load_tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT tag_key, tag_value FROM tags WHERE region = ?1 AND key_id = ?2 ORDER BY tag_key",
        )?;
        let rows = stmt.query_map(params![region, key_id], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn insert_material(
    tx: &Transaction<'_>,
    region: &str,
    key_id: &str,
    material: &KeyMaterial,
) -> Result<()> {
    tx.execute(
        "INSERT INTO key_materials (region, key_id, version, material_id, sealed, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            region,
            key_id,
            material.version,
            material.material_id,
            material.sealed,
            material.created_ms
        ],
    )?;
    Ok(())
}
