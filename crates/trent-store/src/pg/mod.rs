//! The PostgreSQL backend: one database shared by several `trent serve` instances. Keys,
//! material, aliases and tags here, grants in `grants.rs`, identities in `iam.rs`, the schema in
//! `schema.rs`, the cross-instance change notifications in `notify.rs`.
//!
//! # Why the synchronous client
//!
//! [`Backend`] is synchronous (see `backend.rs`), so this uses the synchronous `postgres` client
//! (tokio-postgres underneath, each connection driven by its own small runtime) with an `r2d2`
//! pool, rather than tokio-postgres with deadpool (whose pool is async-only and would need a
//! `block_on` around every call). Every call goes through [`blocking`], which tells tokio when
//! it runs on one of its worker threads.
//!
//! # Transactions
//!
//! Every write takes the transaction-level advisory lock [`WRITE_LOCK`] first: one writer at a
//! time across all instances, as SQLite has one writer. That keeps the backend's contract
//! (quota counts, read-modify-writes whose closure cannot be run twice, the reuse of a named
//! grant) exact without serialization failures to retry, at the price of serialized writes —
//! reads, the hot path, never take it. Each write also announces what it changed
//! (`pg_notify`, delivered at commit) so that the other instances' caches forget it.

use std::time::Duration;

use postgres::error::SqlState;
use postgres::{GenericClient, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use crate::changes::{Change, ChangeListener};
use crate::iam::{
    AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord, ManagedPolicyRecord, OwnerKind,
    RoleRecord, SessionRecord, Tags, UserRecord,
};
use crate::model::{
    Alias, EndedGrant, GrantEnding, GrantRecord, KeyManager, KeyMaterial, KeyRecord, KeyState,
    KeyUsage, RelatedKey, RotationKind, Tag, material_changes, related_changes,
};
use crate::{Backend, Result, StoreError};

mod copy;
mod grants;
mod iam;
mod notify;
pub use copy::{Copied, copy_sqlite_to_postgres};
pub use notify::LISTENER_APPLICATION_NAME;
mod schema;
pub mod scratch;
mod tls;

type Manager = PostgresConnectionManager<tls::Connector>;

/// The session-level advisory lock of [`Backend::exclusively_dyn`]: "trent" + "excl" in ASCII.
const EXCLUSIVE_LOCK: i64 = 0x7472_656e_7465_7863;

/// The transaction-level advisory lock every write holds: "trent" + "write" in ASCII.
const WRITE_LOCK: i64 = 0x7472_656e_7477_7274;

/// Connections per instance. Reads are single statements; a few connections keep the hot path
/// from queueing behind a write.
const POOL_SIZE: u32 = 8;

/// How long a request waits for a free connection (or for the database to answer a new one)
/// before it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL backend. No caches of its own: [`crate::Store::open_postgres`] wraps it in
/// [`crate::CachedStore`], which the change notifications keep coherent with other instances.
pub struct PostgresStore {
    /// `None` only while dropping (see the `Drop` impl).
    pool: Option<r2d2::Pool<Manager>>,
    /// Held by this instance's writer for the whole write transaction.
    writer: std::sync::Mutex<()>,
    notifications: notify::Notifications,
}

/// Runs `f`, which blocks on the network. On a worker thread of a multi-threaded tokio runtime
/// it tells tokio first (`block_in_place`), so that other tasks move to another worker and the
/// synchronous client may start its own runtime; elsewhere (tokio's blocking pool, plain
/// threads) it just runs `f`.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A database URL fit to print: the password, if any (in the user part or a `password=`
/// parameter), replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (url, None),
    };
    let mut redacted = redact_user_password(url);
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("password", _)) => "password=***".to_string(),
                _ => p.to_string(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&params.join("&"));
    }
    redacted
}

fn redact_user_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An error and the errors that caused it, `: `-separated (a failed TLS handshake says why
/// only in its source).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `AlreadyExists` for an insert that broke a uniqueness constraint.
fn insert_or_exists(inserted: std::result::Result<u64, postgres::Error>) -> Result<()> {
    match inserted {
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(StoreError::AlreadyExists),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

fn one_row(n: u64) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// `u32` values are `BIGINT` columns (PostgreSQL's own `u32` is the OID type).
fn wide(n: u32) -> i64 {
    i64::from(n)
}

fn narrow(what: &str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {n}")))
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A `LIMIT` for a list (PostgreSQL's `LIMIT` is a `BIGINT`).
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const KEY_COLUMNS: &str = "region, key_id, account, created_ms, description, key_spec, key_usage, \
     origin, key_state, deletion_ms, pending_window_days, policy, current_material, \
     policy_principal_ids, rotation_period_days, next_rotation_ms, key_manager, primary_region";

fn key_from_row(row: &Row) -> Result<KeyRecord> {
    let state: String = row.try_get(8)?;
    let manager: String = row.try_get(16)?;
    Ok(KeyRecord {
        region: row.try_get(0)?,
        key_id: row.try_get(1)?,
        account: row.try_get(2)?,
        created_ms: row.try_get(3)?,
        description: row.try_get(4)?,
        key_spec: row.try_get(5)?,
        key_usage: row.try_get(6)?,
        origin: row.try_get(7)?,
        key_state: state.parse::<KeyState>()?,
        deletion_ms: row.try_get(9)?,
        pending_window_days: row.try_get(10)?,
        policy: row.try_get(11)?,
        current_material: narrow("current material", row.try_get(12)?)?,
        policy_principal_ids: row.try_get(13)?,
        rotation_period_days: row
            .try_get::<_, Option<i64>>(14)?
            .map(|d| narrow("rotation period", d))
            .transpose()?,
        next_rotation_ms: row.try_get(15)?,
        key_manager: manager.parse::<KeyManager>()?,
        primary_region: row.try_get(17)?,
    })
}

const MATERIAL_COLUMNS: &str =
    "version, material_id, sealed, created_ms, rotation, valid_to_ms, description";

/// Material that is gone (imported material that expired or was deleted) is stored as an empty
/// value, which no sealed value can be (as in the SQLite schema).
fn material_from_row(r: &Row) -> Result<KeyMaterial> {
    let sealed: Vec<u8> = r.try_get(2)?;
    let rotation: Option<String> = r.try_get(4)?;
    Ok(KeyMaterial {
        version: narrow("material version", r.try_get(0)?)?,
        material_id: r.try_get(1)?,
        sealed: (!sealed.is_empty()).then_some(sealed),
        created_ms: r.try_get(3)?,
        rotation: rotation
            .map(|name| {
                RotationKind::parse(&name)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown rotation kind {name:?}")))
            })
            .transpose()?,
        valid_to_ms: r.try_get(5)?,
        description: r.try_get(6)?,
    })
}

const ALIAS_COLUMNS: &str = "region, account, alias_name, target_key_id, created_ms, updated_ms";

fn alias_from_row(row: &Row) -> Result<Alias> {
    Ok(Alias {
        region: row.try_get(0)?,
        account: row.try_get(1)?,
        alias_name: row.try_get(2)?,
        target_key_id: row.try_get(3)?,
        created_ms: row.try_get(4)?,
        updated_ms: row.try_get(5)?,
    })
}

fn region_key_pairs(rows: Vec<Row>) -> Result<Vec<(String, String)>> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

fn read_key(c: &mut impl GenericClient, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE region = $1 AND key_id = $2");
    c.query_opt(&sql, &[&region, &key_id])?
        .map(|r| key_from_row(&r))
        .transpose()
}

fn read_related_keys(
    c: &mut impl GenericClient,
    account: &str,
    key_id: &str,
) -> Result<Vec<KeyRecord>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM keys WHERE key_id = $1 AND account = $2 ORDER BY region"
    );
    c.query(&sql, &[&key_id, &account])?
        .iter()
        .map(key_from_row)
        .collect()
}

fn read_materials(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
) -> Result<Vec<KeyMaterial>> {
    let sql = format!(
        "SELECT {MATERIAL_COLUMNS} FROM key_materials \
         WHERE region = $1 AND key_id = $2 ORDER BY version"
    );
    c.query(&sql, &[&region, &key_id])?
        .iter()
        .map(material_from_row)
        .collect()
}

fn count_customer_keys(c: &mut impl GenericClient, region: &str, account: &str) -> Result<usize> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM keys WHERE region = $1 AND account = $2 \
             AND key_manager = 'CUSTOMER'",
            &[&region, &account],
        )?
        .try_get(0)?;
    Ok(count(n))
}

fn write_key(tx: &mut Transaction<'_>, key: &KeyRecord) -> Result<u64> {
    Ok(tx.execute(
        "UPDATE keys SET description = $3, key_state = $4, deletion_ms = $5, \
         pending_window_days = $6, policy = $7, current_material = $8, \
         policy_principal_ids = $9, rotation_period_days = $10, next_rotation_ms = $11, \
         primary_region = $12 \
         WHERE region = $1 AND key_id = $2",
        &[
            &key.region,
            &key.key_id,
            &key.description,
            &key.key_state.as_str(),
            &key.deletion_ms,
            &key.pending_window_days,
            &key.policy,
            &wide(key.current_material),
            &key.policy_principal_ids,
            &key.rotation_period_days.map(wide),
            &key.next_rotation_ms,
            &key.primary_region,
        ],
    )?)
}

/// Inserts a key with its material versions and tags (`AlreadyExists` if its Region holds its
/// key ID).
fn insert_key<'a>(
    tx: &mut Transaction<'_>,
    key: &KeyRecord,
    materials: impl Iterator<Item = &'a KeyMaterial>,
    tags: &[Tag],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO keys ({KEY_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    insert_or_exists(tx.execute(
        &sql,
        &[
            &key.region,
            &key.key_id,
            &key.account,
            &key.created_ms,
            &key.description,
            &key.key_spec,
            &key.key_usage,
            &key.origin,
            &key.key_state.as_str(),
            &key.deletion_ms,
            &key.pending_window_days,
            &key.policy,
            &wide(key.current_material),
            &key.policy_principal_ids,
            &key.rotation_period_days.map(wide),
            &key.next_rotation_ms,
            &key.key_manager.as_str(),
            &key.primary_region,
        ],
    ))?;
    for material in materials {
        insert_material(tx, &key.region, &key.key_id, material)?;
    }
    for tag in tags {
        tx.execute(
            "INSERT INTO tags (region, key_id, tag_key, tag_value) VALUES ($1, $2, $3, $4)",
            &[&key.region, &key.key_id, &tag.key, &tag.value],
        )?;
    }
    Ok(())
}

fn insert_material(
    tx: &mut Transaction<'_>,
    region: &str,
    key_id: &str,
    material: &KeyMaterial,
) -> Result<()> {
    let sealed: &[u8] = material.sealed.as_deref().unwrap_or_default();
    insert_or_exists(tx.execute(
        "INSERT INTO key_materials \
         (region, key_id, version, material_id, sealed, created_ms, rotation, valid_to_ms, \
          description) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &region,
            &key_id,
            &wide(material.version),
            &material.material_id,
            &sealed,
            &material.created_ms,
            &material.rotation.map(RotationKind::as_str),
            &material.valid_to_ms,
            &material.description,
        ],
    ))
}

/// Deletes the versions `removed` of a key and writes `written` (inserted or rewritten).
fn write_materials(
    tx: &mut Transaction<'_>,
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
            "DELETE FROM key_materials WHERE region = $1 AND key_id = $2 AND version = $3",
            &[&region, &key_id, &wide(version)],
        )?;
    }
    for material in written {
        insert_material(tx, region, key_id, material)?;
    }
    Ok(())
}

/// Deletes a key; the schema's cascades delete its material, tags, grants and aliases.
fn delete_key_row(tx: &mut Transaction<'_>, region: &str, key_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM keys WHERE region = $1 AND key_id = $2",
        &[&region, &key_id],
    )?;
    Ok(())
}

/// Inserts an alias: `AlreadyExists` if the name is taken in that account and region, `NotFound`
/// if the target key does not exist.
fn insert_alias(tx: &mut Transaction<'_>, alias: &Alias) -> Result<()> {
    let sql = format!("INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    let inserted = tx.execute(
        &sql,
        &[
            &alias.region,
            &alias.account,
            &alias.alias_name,
            &alias.target_key_id,
            &alias.created_ms,
            &alias.updated_ms,
        ],
    );
    match inserted {
        Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => Err(StoreError::NotFound),
        other => insert_or_exists(other),
    }
}

/// `LimitExceeded` if the key has `max` customer-created aliases besides `except`.
fn check_alias_quota(
    tx: &mut Transaction<'_>,
    region: &str,
    key_id: &str,
    except: Option<&str>,
    max: usize,
) -> Result<()> {
    let n: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM aliases WHERE region = $1 AND target_key_id = $2 \
             AND alias_name NOT LIKE 'alias/aws/%' AND alias_name != $3",
            &[&region, &key_id, &except.unwrap_or("")],
        )?
        .try_get(0)?;
    if count(n) >= max {
        return Err(StoreError::LimitExceeded("aliases per key"));
    }
    Ok(())
}

fn key_change(region: &str, key_id: &str) -> Change {
    Change::Key {
        region: region.to_string(),
        key_id: key_id.to_string(),
    }
}

fn aliases_change(region: &str, account: &str) -> Change {
    Change::Aliases {
        region: region.to_string(),
        account: account.to_string(),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a libpq key-value string) and
    /// brings its schema up to date, under an advisory lock so that instances starting together
    /// do not race. `Unreachable` if the database cannot be reached (the error never contains
    /// the URL, which may hold a password: see [`redact_url`]).
    pub fn open(url: &str) -> Result<PostgresStore> {
        let tls = tls::settings(url)?;
        let mut config: postgres::Config = tls.url.parse().map_err(|e| {
            StoreError::Unreachable(format!("not a PostgreSQL connection URL: {e}"))
        })?;
        // Seen in pg_stat_activity; a URL's own application_name wins.
        if config.get_application_name().is_none() {
            config.application_name("trent");
        }
        // A peer that vanished without closing (a network partition) is noticed.
        config.keepalives(true);
        config.ssl_mode(if tls.tls {
            postgres::config::SslMode::Require
        } else {
            postgres::config::SslMode::Disable
        });
        let connector = tls.connector;
        let unreachable = StoreError::Unreachable;
        blocking(|| {
            // One connection first: an unreachable database is reported at once with the
            // reason, rather than after the pool's timeout.
            let mut first = config
                .connect(connector.clone())
                .map_err(|e| unreachable(with_causes(&e)))?;
            schema::migrate(&mut first)?;
            drop(first);
            let manager = PostgresConnectionManager::new(config.clone(), connector.clone());
            let pool = r2d2::Pool::builder()
                .max_size(POOL_SIZE)
                .min_idle(Some(1))
                .connection_timeout(CONNECT_TIMEOUT)
                // A connection that broke (the database restarted) is found out before use and
                // replaced, instead of failing the request that draws it.
                .test_on_check_out(true)
                .error_handler(Box::new(r2d2::LoggingErrorHandler))
                .build(manager)
                .map_err(|e| unreachable(e.to_string()))?;
            let notifications = notify::Notifications::start(config, connector)?;
            Ok(PostgresStore {
                pool: Some(pool),
                writer: std::sync::Mutex::new(()),
                notifications,
            })
        })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        match &self.pool {
            Some(pool) => Ok(pool.get()?),
            None => Err(StoreError::Unreachable("the store is closing".into())),
        }
    }

    /// A connection from the pool, for one read.
    fn read<T>(&self, f: impl FnOnce(&mut postgres::Client) -> Result<T>) -> Result<T> {
        blocking(|| {
            let mut conn = self.connection()?;
            f(&mut conn)
        })
    }

    /// Several reads that must see one snapshot.
    fn read_snapshot<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        blocking(|| {
            let mut conn = self.connection()?;
            let mut tx = conn
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// One write transaction under [`WRITE_LOCK`]; `f` names what it changed in `changes`,
    /// which the other instances are told at commit. If `f` fails nothing is written (the
    /// transaction is dropped, which rolls it back).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>, &mut Vec<Change>) -> Result<T>,
    ) -> Result<T> {
        blocking(|| {
            // One writer per instance waits for the database's lock, holding one connection:
            // the others wait here without one, so the pool keeps connections for reads (a
            // writer's closure may read the store too).
            let _writer = self
                .writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut conn = self.connection()?;
            let mut tx = conn.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let mut changes = Vec::new();
            let value = f(&mut tx, &mut changes)?;
            self.notifications.announce(&mut tx, &changes)?;
            tx.commit()?;
            Ok(value)
        })
    }
}

/// Each connection of the synchronous client owns a small runtime, which tokio refuses to drop
/// on a thread that drives async tasks (the server drops the store at the end of its main
/// future): the pool is dropped in a blocking section.
impl Drop for PostgresStore {
    fn drop(&mut self) {
        let pool = self.pool.take();
        blocking(move || drop(pool));
    }
}

impl Backend for PostgresStore {
    fn on_remote_change(&self, listener: ChangeListener) {
        self.notifications.subscribe(listener);
    }

    fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()> {
        self.write(|tx, changes| {
            if key.key_manager == KeyManager::Customer
                && count_customer_keys(tx, &key.region, &key.account)? >= max_keys
            {
                return Err(StoreError::LimitExceeded(
                    "customer managed keys per region",
                ));
            }
            insert_key(tx, key, material.into_iter(), tags)?;
            changes.push(key_change(&key.region, &key.key_id));
            Ok(())
        })
    }

    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize> {
        self.read(|c| count_customer_keys(c, region, account))
    }

    fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()> {
        // A refused alias drops the transaction uncommitted: the key is not written either.
        self.write(|tx, changes| {
            insert_key(tx, key, std::iter::once(material), &[])?;
            insert_alias(tx, alias)?;
            changes.push(key_change(&key.region, &key.key_id));
            changes.push(aliases_change(&alias.region, &alias.account));
            Ok(())
        })
    }

    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        self.read(|c| read_key(c, region, key_id))
    }

    fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<KeyRecord>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE region = $1 AND account = $2 AND key_id > $3 \
             ORDER BY key_id LIMIT $4"
        );
        self.read(|c| {
            c.query(
                &sql,
                &[&region, &account, &after.unwrap_or(""), &limit(limit_to)],
            )?
            .iter()
            .map(key_from_row)
            .collect()
        })
    }

    fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord> {
        self.write(|tx, changes| {
            let stored = read_key(tx, region, key_id)?.ok_or(StoreError::NotFound)?;
            let mut changed = stored.clone();
            f(&mut changed)?;
            let stored = stored.with_changes(&changed);
            write_key(tx, &stored)?;
            changes.push(key_change(region, key_id));
            Ok(stored)
        })
    }

    fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord> {
        self.write(|tx, changes| {
            let stored = read_key(tx, region, key_id)?.ok_or(StoreError::NotFound)?;
            let before = read_materials(tx, region, key_id)?;
            let mut changed = stored.clone();
            let mut after = before.clone();
            f(&mut changed, &mut after)?;
            let (removed, written) = material_changes(&before, &after)?;
            write_materials(tx, region, key_id, &removed, &written)?;
            let stored = stored.with_changes(&changed);
            write_key(tx, &stored)?;
            changes.push(key_change(region, key_id));
            Ok(stored)
        })
    }

    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        self.read(|c| read_related_keys(c, account, key_id))
    }

    fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>> {
        self.write(|tx, changes| {
            let mut before = Vec::new();
            for key in read_related_keys(tx, account, key_id)? {
                before.push(RelatedKey {
                    materials: read_materials(tx, &key.region, key_id)?,
                    key,
                    tags: Vec::new(),
                });
            }
            if before.is_empty() {
                return Err(StoreError::NotFound);
            }
            let mut after = before.clone();
            f(&mut after)?;
            let outcome = related_changes(&before, &after, account, key_id)?;
            for region in &outcome.deleted {
                delete_key_row(tx, region, key_id)?;
                changes.push(key_change(region, key_id));
                changes.push(aliases_change(region, account));
            }
            for (key, removed, written) in &outcome.updated {
                write_materials(tx, &key.region, key_id, removed, written)?;
                write_key(tx, key)?;
                changes.push(key_change(&key.region, key_id));
            }
            for r in &outcome.inserted {
                insert_key(tx, &r.key, r.materials.iter(), &r.tags)?;
                changes.push(key_change(&r.key.region, key_id));
            }
            read_related_keys(tx, account, key_id)
        })
    }

    fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        self.write(|tx, changes| {
            let account: Option<String> = tx
                .query_opt(
                    "SELECT account FROM keys WHERE region = $1 AND key_id = $2",
                    &[&region, &key_id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            delete_key_row(tx, region, key_id)?;
            changes.push(key_change(region, key_id));
            if let Some(account) = account {
                changes.push(aliases_change(region, &account));
            }
            Ok(())
        })
    }

    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            region_key_pairs(c.query(
                "SELECT region, key_id FROM keys \
                 WHERE key_state = 'PendingDeletion' AND deletion_ms <= $1",
                &[&now_ms],
            )?)
        })
    }

    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            region_key_pairs(c.query(
                "SELECT region, key_id FROM keys \
                 WHERE next_rotation_ms IS NOT NULL AND next_rotation_ms <= $1",
                &[&now_ms],
            )?)
        })
    }

    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            region_key_pairs(c.query(
                "SELECT DISTINCT region, key_id FROM key_materials \
                 WHERE valid_to_ms IS NOT NULL AND valid_to_ms <= $1 AND length(sealed) > 0",
                &[&now_ms],
            )?)
        })
    }

    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>> {
        let sql = format!(
            "SELECT {MATERIAL_COLUMNS} FROM key_materials \
             WHERE region = $1 AND key_id = $2 AND version = $3"
        );
        self.read(|c| {
            c.query_opt(&sql, &[&region, &key_id, &wide(version)])?
                .map(|r| material_from_row(&r))
                .transpose()
        })
    }

    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
        self.read(|c| read_materials(c, region, key_id))
    }

    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        // Last use is shown by GetKeyLastUsage, which reads the database: no cache to tell.
        self.write(|tx, _changes| {
            for u in usage {
                // Only for a key that exists; a newer use replaces an older one, never the reverse.
                tx.execute(
                    "INSERT INTO key_last_usage \
                     (region, key_id, operation, at_ms, event_id, request_id) \
                     SELECT $1, $2, $3, $4, $5, $6 \
                     WHERE EXISTS (SELECT 1 FROM keys WHERE region = $1 AND key_id = $2) \
                     ON CONFLICT (region, key_id) DO UPDATE SET \
                     operation = excluded.operation, at_ms = excluded.at_ms, \
                     event_id = excluded.event_id, request_id = excluded.request_id \
                     WHERE excluded.at_ms >= key_last_usage.at_ms",
                    &[
                        &u.region,
                        &u.key_id,
                        &u.operation,
                        &u.at_ms,
                        &u.event_id,
                        &u.request_id,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>> {
        self.read(|c| {
            c.query_opt(
                "SELECT operation, at_ms, event_id, request_id FROM key_last_usage \
                 WHERE region = $1 AND key_id = $2",
                &[&region, &key_id],
            )?
            .map(|r| {
                Ok(KeyUsage {
                    region: region.to_string(),
                    key_id: key_id.to_string(),
                    operation: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    event_id: r.try_get(2)?,
                    request_id: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>> {
        let sql = format!(
            "SELECT key_id, {MATERIAL_COLUMNS} FROM key_materials WHERE length(sealed) > 0 LIMIT 1"
        );
        self.read(|c| {
            c.query_opt(&sql, &[])?
                .map(|r| {
                    let key_id: String = r.try_get(0)?;
                    let sealed: Vec<u8> = r.try_get(3)?;
                    let material = KeyMaterial {
                        version: narrow("material version", r.try_get(1)?)?,
                        material_id: r.try_get(2)?,
                        sealed: Some(sealed),
                        created_ms: r.try_get(4)?,
                        rotation: None,
                        valid_to_ms: r.try_get(6)?,
                        description: r.try_get(7)?,
                    };
                    Ok((key_id, material))
                })
                .transpose()
        })
    }

    fn root_key_canary(&self) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_opt("SELECT value FROM meta WHERE name = 'root_key_canary'", &[])?
                .map(|r| Ok(r.try_get(0)?))
                .transpose()
        })
    }

    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()> {
        self.write(|tx, _changes| {
            insert_or_exists(tx.execute(
                "INSERT INTO meta (name, value) VALUES ('root_key_canary', $1)",
                &[&sealed],
            ))
        })
    }

    fn seed_record(&self) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_opt("SELECT value FROM meta WHERE name = 'seed'", &[])?
                .map(|r| Ok(r.try_get(0)?))
                .transpose()
        })
    }

    fn set_seed_record(&self, record: &[u8]) -> Result<()> {
        self.write(|tx, _changes| {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('seed', $1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&record],
            )?;
            Ok(())
        })
    }

    /// A session advisory lock ([`EXCLUSIVE_LOCK`]) on a connection of its own, held while `f`
    /// runs: `f` uses the pool for its reads and writes (which take [`WRITE_LOCK`] as always),
    /// and the instances that start together apply their seed one after the other.
    fn exclusively_dyn(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let mut conn = blocking(|| self.connection())?;
        blocking(|| conn.execute("SELECT pg_advisory_lock($1)", &[&EXCLUSIVE_LOCK]))?;
        let outcome = f();
        // Released whatever happened (a broken connection releases it by ending the session).
        let unlocked =
            blocking(|| conn.execute("SELECT pg_advisory_unlock($1)", &[&EXCLUSIVE_LOCK]));
        outcome?;
        unlocked?;
        Ok(())
    }

    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()> {
        self.write(|tx, changes| {
            check_alias_quota(tx, &alias.region, &alias.target_key_id, None, max_per_key)?;
            insert_alias(tx, alias)?;
            changes.push(aliases_change(&alias.region, &alias.account));
            Ok(())
        })
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
        self.write(|tx, changes| {
            check_alias_quota(tx, region, target_key_id, Some(alias_name), max_per_key)?;
            one_row(tx.execute(
                "UPDATE aliases SET target_key_id = $4, updated_ms = $5 \
                 WHERE region = $1 AND account = $2 AND alias_name = $3",
                &[&region, &account, &alias_name, &target_key_id, &now_ms],
            )?)?;
            changes.push(aliases_change(region, account));
            Ok(())
        })
    }

    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        self.write(|tx, changes| {
            one_row(tx.execute(
                "DELETE FROM aliases WHERE region = $1 AND account = $2 AND alias_name = $3",
                &[&region, &account, &alias_name],
            )?)?;
            changes.push(aliases_change(region, account));
            Ok(())
        })
    }

    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>> {
        let sql = format!(
            "SELECT {ALIAS_COLUMNS} FROM aliases \
             WHERE region = $1 AND account = $2 AND alias_name = $3"
        );
        self.read(|c| {
            c.query_opt(&sql, &[&region, &account, &alias_name])?
                .map(|r| alias_from_row(&r))
                .transpose()
        })
    }

    fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<Alias>> {
        let sql = format!(
            "SELECT {ALIAS_COLUMNS} FROM aliases \
             WHERE region = $1 AND account = $2 AND ($3::TEXT IS NULL OR target_key_id = $3) \
             AND alias_name > $4 ORDER BY alias_name LIMIT $5"
        );
        self.read(|c| {
            c.query(
                &sql,
                &[
                    &region,
                    &account,
                    &key_id,
                    &after.unwrap_or(""),
                    &limit(limit_to),
                ],
            )?
            .iter()
            .map(alias_from_row)
            .collect()
        })
    }

    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()> {
        self.write(|tx, changes| {
            for tag in tags {
                tx.execute(
                    "INSERT INTO tags (region, key_id, tag_key, tag_value) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (region, key_id, tag_key) \
                     DO UPDATE SET tag_value = excluded.tag_value",
                    &[&region, &key_id, &tag.key, &tag.value],
                )?;
            }
            let n: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM tags WHERE region = $1 AND key_id = $2",
                    &[&region, &key_id],
                )?
                .try_get(0)?;
            if count(n) > max_tags {
                // Returning an error drops the transaction: the inserts above are rolled back.
                return Err(StoreError::LimitExceeded("tags"));
            }
            changes.push(key_change(region, key_id));
            Ok(())
        })
    }

    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        self.write(|tx, changes| {
            for k in tag_keys {
                tx.execute(
                    "DELETE FROM tags WHERE region = $1 AND key_id = $2 AND tag_key = $3",
                    &[&region, &key_id, k],
                )?;
            }
            changes.push(key_change(region, key_id));
            Ok(())
        })
    }

    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        self.read(|c| {
            c.query(
                "SELECT tag_key, tag_value FROM tags WHERE region = $1 AND key_id = $2 \
                 ORDER BY tag_key",
                &[&region, &key_id],
            )?
            .iter()
            .map(|r| {
                Ok(Tag {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                })
            })
            .collect()
        })
    }

    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize) -> Result<String> {
        self.write(|tx, changes| {
            let id = grants::create(tx, grant, token, max_per_key)?;
            changes.push(grants::change(&grant.region, &grant.key_id));
            Ok(id)
        })
    }

    fn import_grants(&self, list: &[(GrantRecord, String)]) -> Result<()> {
        self.write(|tx, changes| {
            for (g, token) in list {
                grants::insert(tx, g)?;
                grants::insert_token(tx, g, token)?;
                let change = grants::change(&g.region, &g.key_id);
                if !changes.contains(&change) {
                    changes.push(change);
                }
            }
            Ok(())
        })
    }

    fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>> {
        self.read(|c| grants::for_grantees(c, region, key_id, grantees))
    }

    fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>> {
        self.read(|c| grants::for_service(c, region, key_id, service))
    }

    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str) -> Result<Option<GrantRecord>> {
        self.read(|c| grants::get(c, region, key_id, grant_id))
    }

    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        self.read(|c| grants::by_token(c, token))
    }

    fn list_grants(
        &self,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<GrantRecord>> {
        self.read(|c| grants::list(c, region, key_id, grant_id, grantee, after, limit(limit_to)))
    }

    fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit_to: usize,
    ) -> Result<Vec<GrantRecord>> {
        self.read(|c| grants::list_retirable(c, region, principal, after, limit(limit_to)))
    }

    fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()> {
        self.write(|tx, changes| {
            grants::end(tx, region, key_id, grant_id, ending)?;
            changes.push(grants::change(region, key_id));
            Ok(())
        })
    }

    fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>> {
        self.read(|c| grants::ended_for_grantees(c, region, key_id, grantees))
    }

    fn load_iam(&self) -> Result<IamData<Vec<u8>>> {
        self.read_snapshot(iam::load)
    }

    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()> {
        self.write_identities(|tx| iam::replace_config(tx, data))
    }

    fn create_iam_user(&self, user: &UserRecord) -> Result<()> {
        self.write_identities(|tx| iam::insert_user(tx, user, "api"))
    }

    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()> {
        self.write_identities(|tx| iam::delete_user(tx, account, name))
    }

    fn create_iam_role(&self, role: &RoleRecord) -> Result<()> {
        self.write_identities(|tx| iam::insert_role(tx, role, "api"))
    }

    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()> {
        self.write_identities(|tx| iam::delete_role(tx, account, name))
    }

    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()> {
        self.write_identities(|tx| {
            one_row(tx.execute(
                "UPDATE iam_roles SET trust_policy = $3 \
                 WHERE account = $1 AND lower(name) = lower($2)",
                &[&account, &name, &document],
            )?)
        })
    }

    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags) -> Result<()> {
        self.write_identities(|tx| iam::set_tags(tx, owner, account, name, tags))
    }

    fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()> {
        self.write_identities(|tx| {
            iam::set_permissions_boundary(tx, owner, account, name, boundary)
        })
    }

    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()> {
        self.write_identities(|tx| iam::put_inline(tx, policy))
    }

    fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()> {
        self.write_identities(|tx| {
            one_row(tx.execute(
                "DELETE FROM iam_inline_policies WHERE account = $1 AND owner_kind = $2 \
                 AND lower(owner_name) = lower($3) AND name = $4",
                &[&account, &owner.as_str(), &owner_name, &name],
            )?)
        })
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write_identities(|tx| iam::create_managed_policy(tx, policy))
    }

    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()> {
        self.write_identities(|tx| iam::delete_managed_policy(tx, account, name, arn))
    }

    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write_identities(|tx| iam::attach(tx, a))
    }

    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write_identities(|tx| {
            one_row(tx.execute(
                "DELETE FROM iam_attachments WHERE account = $1 AND owner_kind = $2 \
                 AND lower(owner_name) = lower($3) AND policy_arn = $4",
                &[&a.account, &a.owner.as_str(), &a.owner_name, &a.policy_arn],
            )?)
        })
    }

    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()> {
        self.write_identities(|tx| iam::insert_access_key(tx, key, "api"))
    }

    fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()> {
        let kind = if owner_name.is_empty() {
            "root"
        } else {
            "user"
        };
        self.write_identities(|tx| {
            one_row(tx.execute(
                "DELETE FROM iam_access_keys WHERE access_key_id = $1 AND account = $2 \
                 AND kind = $3 AND owner_name = $4",
                &[&access_key_id, &account, &kind, &owner_name],
            )?)
        })
    }

    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()> {
        self.write_identities(|tx| iam::insert_session(tx, s))
    }

    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize> {
        // Expired sessions are refused by time already: no instance needs to be told.
        self.write(|tx, _changes| {
            let n = tx.execute(
                "DELETE FROM iam_sessions WHERE expires_ms < $1",
                &[&before_ms],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

impl PostgresStore {
    /// A write of identities: every instance reloads its directory of identities afterwards.
    fn write_identities<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write(|tx, changes| {
            let value = f(tx)?;
            changes.push(Change::Identities);
            Ok(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_are_printed_without_their_passwords() {
        for (url, shown) in [
            (
                "postgres://trent:s3cret@db:5432/trent",
                "postgres://trent:***@db:5432/trent",
            ),
            (
                "postgres://trent:p@ss@word@db/trent?sslmode=require",
                "postgres://trent:***@db/trent?sslmode=require",
            ),
            (
                "postgresql://db/trent?user=trent&password=s3cret&sslmode=require",
                "postgresql://db/trent?user=trent&password=***&sslmode=require",
            ),
            ("postgres://trent@db/trent", "postgres://trent@db/trent"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown);
            assert!(!redact_url(url).contains("s3cret"));
        }
    }
}
