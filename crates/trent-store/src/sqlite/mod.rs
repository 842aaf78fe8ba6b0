//! The embedded SQLite backend (WAL, synchronous=FULL: an acknowledged write survives a crash):
//! keys, material, aliases and tags here, grants in `grants.rs`, identities in `iam.rs`, the
//! schema in `migrations.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::iam::{
    AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord, ManagedPolicyRecord, OwnerKind,
    RoleRecord, SessionRecord, Tags, UserRecord,
};
use crate::model::{
    Alias, EndedGrant, GrantEnding, GrantRecord, KeyMaterial, KeyRecord, KeyUsage, RelatedKey,
    RotationKind, Tag, material_changes, related_changes,
};
use crate::{Backend, Result, StoreError};
use migrations::migrate;

mod grants;
mod iam;
mod migrations;

const READERS: usize = 4;

/// The SQLite backend. One writer connection (SQLite allows one writer at a time anyway) and a
/// few reader connections, so reads on the hot path (Encrypt, Decrypt) do not queue behind
/// fsyncs. No caches of its own: [`crate::Store::open`] wraps it in [`crate::CachedStore`].
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
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

/// `AlreadyExists` for an insert that broke a uniqueness constraint.
fn insert_or_exists(inserted: rusqlite::Result<usize>) -> Result<()> {
    match inserted {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::AlreadyExists)
        }
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

const KEY_COLUMNS: &str = "region, key_id, account, created_ms, description, key_spec, key_usage, \
     origin, key_state, deletion_ms, pending_window_days, policy, multi_region, current_material, \
     policy_principal_ids, rotation_period_days, next_rotation_ms, key_manager, primary_region";

/// A key row with its state and key manager still as text (see [`finish_key`]).
type KeyRow = (KeyRecord, String, String);

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
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
            primary_region: row.get(18)?,
            current_material: row.get(13)?,
            policy_principal_ids: row.get(14)?,
            rotation_period_days: row.get(15)?,
            next_rotation_ms: row.get(16)?,
            key_manager: crate::model::KeyManager::Customer,
        },
        state,
        row.get(17)?,
    ))
}

const MATERIAL_COLUMNS: &str =
    "version, material_id, sealed, created_ms, rotation, valid_to_ms, description";

/// `sealed` is `NOT NULL` since schema 1: material that is gone (imported material that expired
/// or was deleted) is stored as an empty blob, which no sealed value can be.
fn material_from_row(r: &Row<'_>) -> rusqlite::Result<(KeyMaterial, Option<String>)> {
    let sealed: Vec<u8> = r.get(2)?;
    Ok((
        KeyMaterial {
            version: r.get(0)?,
            material_id: r.get(1)?,
            sealed: (!sealed.is_empty()).then_some(sealed),
            created_ms: r.get(3)?,
            rotation: None,
            valid_to_ms: r.get(5)?,
            description: r.get(6)?,
        },
        r.get(4)?,
    ))
}

fn finish_material((mut material, rotation): (KeyMaterial, Option<String>)) -> Result<KeyMaterial> {
    material.rotation = rotation
        .map(|name| {
            RotationKind::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown rotation kind {name:?}")))
        })
        .transpose()?;
    Ok(material)
}

fn finish_key((mut key, state, manager): KeyRow) -> Result<KeyRecord> {
    key.key_state = state.parse()?;
    key.key_manager = manager.parse()?;
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
         policy_principal_ids = ?9, rotation_period_days = ?10, next_rotation_ms = ?11, \
         primary_region = ?12 \
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
            key.rotation_period_days,
            key.next_rotation_ms,
            key.primary_region,
        ],
    )?)
}

/// Inserts an alias: `AlreadyExists` if the name is taken in that account and region, `NotFound`
/// if the target key does not exist.
fn insert_alias(tx: &Transaction<'_>, alias: &Alias) -> Result<()> {
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
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        create_private_file(path)?;
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
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
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

    pub(crate) fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()> {
        self.write(|tx| {
            if key.key_manager == crate::model::KeyManager::Customer
                && count_customer_keys(tx, &key.region, &key.account)? >= max_keys
            {
                return Err(StoreError::LimitExceeded(
                    "customer managed keys per region",
                ));
            }
            insert_key(tx, key, material.into_iter(), tags)
        })
    }

    pub(crate) fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()> {
        // A refused alias drops the transaction uncommitted: the key is not written either.
        self.write(|tx| {
            insert_key(tx, key, std::iter::once(material), &[])?;
            insert_alias(tx, alias)
        })
    }

    pub(crate) fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        read_key(&self.reader(), region, key_id)
    }

    pub(crate) fn list_keys(
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

    pub(crate) fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let stored = read_key(&tx, region, key_id)?.ok_or(StoreError::NotFound)?;
        let mut changed = stored.clone();
        // An error from `f` drops the transaction unwritten.
        f(&mut changed)?;
        let stored = stored.with_changes(&changed);
        write_key(&tx, &stored)?;
        tx.commit()?;
        Ok(stored)
    }

    pub(crate) fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let stored = read_key(&tx, region, key_id)?.ok_or(StoreError::NotFound)?;
        let before = read_materials(&tx, region, key_id)?;
        let mut changed = stored.clone();
        let mut after = before.clone();
        f(&mut changed, &mut after)?;
        let (removed, written) = material_changes(&before, &after)?;
        write_materials(&tx, region, key_id, &removed, &written)?;
        let stored = stored.with_changes(&changed);
        write_key(&tx, &stored)?;
        tx.commit()?;
        Ok(stored)
    }

    pub(crate) fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT region, key_id FROM key_materials \
             WHERE valid_to_ms IS NOT NULL AND valid_to_ms <= ?1 AND length(sealed) > 0",
        )?;
        let rows = stmt.query_map(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let before = read_related_keys(&tx, account, key_id)?
            .into_iter()
            .map(|key| {
                Ok(RelatedKey {
                    materials: read_materials(&tx, &key.region, key_id)?,
                    key,
                    tags: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if before.is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut after = before.clone();
        f(&mut after)?;
        let changes = related_changes(&before, &after, account, key_id)?;
        for region in &changes.deleted {
            delete_key_row(&tx, region, key_id)?;
        }
        for (key, removed, written) in &changes.updated {
            write_materials(&tx, &key.region, key_id, removed, written)?;
            write_key(&tx, key)?;
        }
        for r in &changes.inserted {
            insert_key(&tx, &r.key, r.materials.iter(), &r.tags)?;
        }
        let stored = read_related_keys(&tx, account, key_id)?;
        tx.commit()?;
        Ok(stored)
    }

    pub(crate) fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        self.write(|tx| delete_key_row(tx, region, key_id))
    }

    pub(crate) fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, key_id FROM keys \
             WHERE key_state = 'PendingDeletion' AND deletion_ms <= ?1",
        )?;
        let rows = stmt.query_map(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, key_id FROM keys \
             WHERE next_rotation_ms IS NOT NULL AND next_rotation_ms <= ?1",
        )?;
        let rows = stmt.query_map(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn material(
        &self,
        region: &str,
        key_id: &str,
        version: u32,
    ) -> Result<Option<KeyMaterial>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {MATERIAL_COLUMNS} FROM key_materials \
             WHERE region = ?1 AND key_id = ?2 AND version = ?3"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        stmt.query_row(params![region, key_id, version], material_from_row)
            .optional()?
            .map(finish_material)
            .transpose()
    }

    pub(crate) fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
        read_materials(&self.reader(), region, key_id)
    }

    pub(crate) fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.write(|tx| {
            for u in usage {
                // Only for a key that exists; a newer use replaces an older one, never the reverse.
                tx.execute(
                    "INSERT INTO key_last_usage \
                     (region, key_id, operation, at_ms, event_id, request_id) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
                     WHERE EXISTS (SELECT 1 FROM keys WHERE region = ?1 AND key_id = ?2) \
                     ON CONFLICT (region, key_id) DO UPDATE SET \
                     operation = excluded.operation, at_ms = excluded.at_ms, \
                     event_id = excluded.event_id, request_id = excluded.request_id \
                     WHERE excluded.at_ms >= key_last_usage.at_ms",
                    params![
                        u.region,
                        u.key_id,
                        u.operation,
                        u.at_ms,
                        u.event_id,
                        u.request_id
                    ],
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT operation, at_ms, event_id, request_id FROM key_last_usage \
             WHERE region = ?1 AND key_id = ?2",
        )?;
        Ok(stmt
            .query_row(params![region, key_id], |r| {
                Ok(KeyUsage {
                    region: region.to_string(),
                    key_id: key_id.to_string(),
                    operation: r.get(0)?,
                    at_ms: r.get(1)?,
                    event_id: r.get(2)?,
                    request_id: r.get(3)?,
                })
            })
            .optional()?)
    }

    // ---- aliases ------------------------------------------------------------------------------

    pub(crate) fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()> {
        self.write(|tx| {
            check_alias_quota(tx, &alias.region, &alias.target_key_id, None, max_per_key)?;
            insert_alias(tx, alias)
        })
    }

    pub(crate) fn update_alias_within(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
        max_per_key: usize,
    ) -> Result<()> {
        self.write(|tx| {
            check_alias_quota(tx, region, target_key_id, Some(alias_name), max_per_key)?;
            let changed = tx.execute(
                "UPDATE aliases SET target_key_id = ?4, updated_ms = ?5 \
                 WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
                params![region, account, alias_name, target_key_id, now_ms],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    pub(crate) fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "DELETE FROM aliases WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
                params![region, account, alias_name],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    pub(crate) fn get_alias(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
    ) -> Result<Option<Alias>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT region, account, alias_name, target_key_id, created_ms, updated_ms FROM aliases \
             WHERE region = ?1 AND account = ?2 AND alias_name = ?3",
        )?;
        Ok(stmt
            .query_row(params![region, account, alias_name], alias_from_row)
            .optional()?)
    }

    pub(crate) fn list_aliases(
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

    pub(crate) fn tag_key(
        &self,
        region: &str,
        key_id: &str,
        tags: &[Tag],
        max_tags: usize,
    ) -> Result<()> {
        self.write(|tx| {
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
        })
    }

    pub(crate) fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        self.write(|tx| {
            for k in tag_keys {
                tx.execute(
                    "DELETE FROM tags WHERE region = ?1 AND key_id = ?2 AND tag_key = ?3",
                    params![region, key_id, k],
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
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

/// Creates the database file, if it does not exist, readable and writable by its owner only
/// (SQLite gives its `-wal` and `-shm` files the database file's permissions). An existing file
/// is left as it is.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?;
    Ok(())
}

/// Inserts a key with its material versions and tags (`AlreadyExists` if its Region holds its
/// key ID).
fn insert_key<'a>(
    tx: &Transaction<'_>,
    key: &KeyRecord,
    materials: impl Iterator<Item = &'a KeyMaterial>,
    tags: &[Tag],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO keys ({KEY_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
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
            key.is_multi_region(),
            key.current_material,
            key.policy_principal_ids,
            key.rotation_period_days,
            key.next_rotation_ms,
            key.key_manager.as_str(),
            key.primary_region,
        ],
    );
    insert_or_exists(inserted)?;
    for material in materials {
        insert_material(tx, &key.region, &key.key_id, material)?;
    }
    for tag in tags {
        tx.execute(
            "INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES (?1, ?2, ?3, ?4)",
            params![key.region, key.key_id, tag.key, tag.value],
        )?;
    }
    Ok(())
}

fn count_customer_keys(conn: &Connection, region: &str, account: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM keys WHERE region = ?1 AND account = ?2 AND key_manager = 'CUSTOMER'",
        params![region, account],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `LimitExceeded` if the key has `max` customer-created aliases besides `except`.
fn check_alias_quota(
    tx: &Transaction<'_>,
    region: &str,
    key_id: &str,
    except: Option<&str>,
    max: usize,
) -> Result<()> {
    let n: i64 = tx.query_row(
        "SELECT COUNT(*) FROM aliases WHERE region = ?1 AND target_key_id = ?2 \
         AND alias_name NOT LIKE 'alias/aws/%' AND alias_name != ?3",
        params![region, key_id, except.unwrap_or("")],
        |r| r.get(0),
    )?;
    if usize::try_from(n).unwrap_or(usize::MAX) >= max {
        return Err(StoreError::LimitExceeded("aliases per key"));
    }
    Ok(())
}

/// Deletes a key; the schema's cascades delete its material, tags, grants and aliases.
fn delete_key_row(tx: &Transaction<'_>, region: &str, key_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM keys WHERE region = ?1 AND key_id = ?2",
        params![region, key_id],
    )?;
    Ok(())
}

/// Deletes the versions `removed` of a key and writes `written` (inserted or rewritten).
fn write_materials(
    tx: &Transaction<'_>,
    region: &str,
    key_id: &str,
    removed: &[u32],
    written: &[&KeyMaterial],
) -> Result<()> {
    let versions = removed
        .iter()
        .copied()
        .chain(written.iter().map(|m| m.version));
    for version in versions {
        tx.execute(
            "DELETE FROM key_materials WHERE region = ?1 AND key_id = ?2 AND version = ?3",
            params![region, key_id, version],
        )?;
    }
    for material in written {
        insert_material(tx, region, key_id, material)?;
    }
    Ok(())
}

fn read_related_keys(conn: &Connection, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM keys WHERE key_id = ?1 AND account = ?2 ORDER BY region"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![key_id, account], key_from_row)?;
    rows.map(|r| finish_key(r?)).collect()
}

fn read_materials(conn: &Connection, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
    let sql = format!(
        "SELECT {MATERIAL_COLUMNS} FROM key_materials \
         WHERE region = ?1 AND key_id = ?2 ORDER BY version"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![region, key_id], material_from_row)?;
    rows.map(|r| finish_material(r?)).collect()
}

fn insert_material(
    tx: &Transaction<'_>,
    region: &str,
    key_id: &str,
    material: &KeyMaterial,
) -> Result<()> {
    let inserted = tx.execute(
        "INSERT INTO key_materials \
         (region, key_id, version, material_id, sealed, created_ms, rotation, valid_to_ms, \
          description) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            region,
            key_id,
            material.version,
            material.material_id,
            material.sealed.as_deref().unwrap_or_default(),
            material.created_ms,
            material.rotation.map(RotationKind::as_str),
            material.valid_to_ms,
            material.description,
        ],
    );
    insert_or_exists(inserted)
}

impl Backend for SqliteStore {
    fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()> {
        SqliteStore::create_key_within(self, key, material, tags, max_keys)
    }

    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize> {
        count_customer_keys(&self.reader(), region, account)
    }

    fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()> {
        SqliteStore::create_key_with_alias(self, key, material, alias)
    }

    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        SqliteStore::get_key(self, region, key_id)
    }

    fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        SqliteStore::list_keys(self, region, account, after, limit)
    }

    fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord> {
        SqliteStore::modify_key_dyn(self, region, key_id, f)
    }

    fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord> {
        SqliteStore::modify_key_materials_dyn(self, region, key_id, f)
    }

    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        SqliteStore::keys_with_expired_material(self, now_ms)
    }

    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        read_related_keys(&self.reader(), account, key_id)
    }

    fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>> {
        SqliteStore::modify_related_keys_dyn(self, account, key_id, f)
    }

    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT key_id, {MATERIAL_COLUMNS} FROM key_materials WHERE length(sealed) > 0 LIMIT 1"
        );
        let row = conn
            .query_row(&sql, [], |r| {
                let key_id: String = r.get(0)?;
                let material = KeyMaterial {
                    version: r.get(1)?,
                    material_id: r.get(2)?,
                    sealed: Some(r.get(3)?),
                    created_ms: r.get(4)?,
                    rotation: None,
                    valid_to_ms: r.get(6)?,
                    description: r.get(7)?,
                };
                Ok((key_id, material))
            })
            .optional()?;
        Ok(row)
    }

    fn root_key_canary(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .reader()
            .query_row(
                "SELECT value FROM meta WHERE name = 'root_key_canary'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()> {
        self.write(|tx| {
            insert_or_exists(tx.execute(
                "INSERT INTO meta (name, value) VALUES ('root_key_canary', ?1)",
                params![sealed],
            ))
        })
    }

    fn seed_record(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .reader()
            .query_row("SELECT value FROM meta WHERE name = 'seed'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_seed_record(&self, record: &[u8]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('seed', ?1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![record],
            )?;
            Ok(())
        })
    }

    fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        SqliteStore::delete_key(self, region, key_id)
    }

    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        SqliteStore::keys_due_for_deletion(self, now_ms)
    }

    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        SqliteStore::keys_due_for_rotation(self, now_ms)
    }

    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>> {
        SqliteStore::material(self, region, key_id, version)
    }

    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
        SqliteStore::materials(self, region, key_id)
    }

    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        SqliteStore::record_key_usage(self, usage)
    }

    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>> {
        SqliteStore::key_usage(self, region, key_id)
    }

    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()> {
        SqliteStore::create_alias_within(self, alias, max_per_key)
    }

    fn update_alias_within(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
        max_per_key: usize,
    ) -> Result<()> {
        SqliteStore::update_alias_within(
            self,
            region,
            account,
            alias_name,
            target_key_id,
            now_ms,
            max_per_key,
        )
    }

    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        SqliteStore::delete_alias(self, region, account, alias_name)
    }

    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>> {
        SqliteStore::get_alias(self, region, account, alias_name)
    }

    fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Alias>> {
        SqliteStore::list_aliases(self, region, account, key_id, after, limit)
    }

    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()> {
        SqliteStore::tag_key(self, region, key_id, tags, max_tags)
    }

    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        SqliteStore::untag_key(self, region, key_id, tag_keys)
    }

    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        SqliteStore::tags(self, region, key_id)
    }

    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize) -> Result<String> {
        SqliteStore::create_grant(self, grant, token, max_per_key)
    }

    fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()> {
        SqliteStore::import_grants(self, grants)
    }

    fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>> {
        SqliteStore::grants_for_grantees(self, region, key_id, grantees)
    }

    fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>> {
        SqliteStore::grants_for_service(self, region, key_id, service)
    }

    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str) -> Result<Option<GrantRecord>> {
        SqliteStore::get_grant(self, region, key_id, grant_id)
    }

    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        SqliteStore::grant_by_token(self, token)
    }

    fn list_grants(
        &self,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        SqliteStore::list_grants(self, region, key_id, grant_id, grantee, after, limit)
    }

    fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        SqliteStore::list_retirable_grants(self, region, principal, after, limit)
    }

    fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()> {
        SqliteStore::end_grant(self, region, key_id, grant_id, ending)
    }

    fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>> {
        SqliteStore::ended_grants_for_grantees(self, region, key_id, grantees)
    }

    fn load_iam(&self) -> Result<IamData<Vec<u8>>> {
        SqliteStore::load_iam(self)
    }

    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()> {
        SqliteStore::replace_config_identities(self, data)
    }

    fn create_iam_user(&self, user: &UserRecord) -> Result<()> {
        SqliteStore::create_iam_user(self, user)
    }

    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()> {
        SqliteStore::delete_iam_user(self, account, name)
    }

    fn create_iam_role(&self, role: &RoleRecord) -> Result<()> {
        SqliteStore::create_iam_role(self, role)
    }

    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()> {
        SqliteStore::delete_iam_role(self, account, name)
    }

    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()> {
        SqliteStore::update_role_trust_policy(self, account, name, document)
    }

    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags) -> Result<()> {
        SqliteStore::set_iam_tags(self, owner, account, name, tags)
    }

    fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()> {
        SqliteStore::set_permissions_boundary(self, owner, account, name, boundary)
    }

    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()> {
        SqliteStore::put_inline_policy(self, policy)
    }

    fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()> {
        SqliteStore::delete_inline_policy(self, account, owner, owner_name, name)
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        SqliteStore::create_managed_policy(self, policy)
    }

    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()> {
        SqliteStore::delete_managed_policy(self, account, name, arn)
    }

    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        SqliteStore::attach_policy(self, a)
    }

    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        SqliteStore::detach_policy(self, a)
    }

    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()> {
        SqliteStore::create_iam_access_key(self, key)
    }

    fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()> {
        SqliteStore::delete_iam_access_key(self, account, owner_name, access_key_id)
    }

    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()> {
        SqliteStore::create_session(self, s)
    }

    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize> {
        SqliteStore::delete_expired_sessions(self, before_ms)
    }
}
