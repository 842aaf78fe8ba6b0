//! `trent migrate`: copies an embedded (SQLite) database into an empty PostgreSQL database, row
//! for row, in one transaction. Sealed values (key material, secrets, the root key's canary) are
//! copied as the bytes they are: nothing is unsealed, so the root key is not needed here, and
//! the instances that serve the copy must use the root key of the data dir it came from.

use std::path::Path;

use postgres::types::{ToSql, Type};
use rusqlite::types::Value;

use super::PostgresStore;
use crate::changes::Change;
use crate::{Result, SqliteStore, StoreError};

/// The tables, parents before children (foreign keys), with the order their rows are copied
/// in: grants and ended grants in the order they were made or ended (SQLite's rowid), which the
/// PostgreSQL backend keeps in `seq`.
const TABLES: &[(&str, &str)] = &[
    ("keys", "region, key_id"),
    ("key_materials", "region, key_id, version"),
    ("aliases", "region, account, alias_name"),
    ("tags", "region, key_id, tag_key"),
    ("key_last_usage", "region, key_id"),
    ("grants", "rowid"),
    ("grant_tokens", "rowid"),
    ("ended_grants", "rowid"),
    ("iam_accounts", "account"),
    ("iam_users", "rowid"),
    ("iam_roles", "rowid"),
    ("iam_policies", "rowid"),
    ("iam_policy_versions", "rowid"),
    ("iam_inline_policies", "rowid"),
    ("iam_attachments", "rowid"),
    ("iam_access_keys", "rowid"),
    ("iam_sessions", "rowid"),
    ("meta", "name"),
];

/// How many rows of each table were copied, in [`TABLES`] order.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies the SQLite database at `sqlite` (brought up to date first, as `trent serve` would)
/// into the PostgreSQL database at `url` (its schema created if need be), which must hold no
/// data: `NotEmpty` otherwise, and nothing written.
pub fn copy_sqlite_to_postgres(sqlite: &Path, url: &str) -> Result<Copied> {
    if !sqlite.exists() {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} does not exist", sqlite.display()),
        )));
    }
    drop(SqliteStore::open(sqlite)?);
    let source =
        rusqlite::Connection::open_with_flags(sqlite, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let target = PostgresStore::open(url)?;
    target.write(|tx, changes| {
        for (table, _) in TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {table})");
            if tx.query_one(&sql, &[])?.try_get::<_, bool>(0)? {
                return Err(StoreError::NotEmpty(format!("its table {table} has rows")));
            }
        }
        let mut copied = Vec::new();
        for (table, order) in TABLES {
            copied.push((*table, copy_table(&source, tx, table, order)?));
        }
        changes.push(Change::Everything);
        Ok(copied)
    })
}

/// The columns of `table` in PostgreSQL (which SQLite also has: `seq` excepted, which
/// PostgreSQL fills) and the statement that inserts a row of them.
fn insert_statement(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
) -> Result<(Vec<String>, postgres::Statement)> {
    let rows = tx.query(
        "SELECT column_name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'seq' \
         ORDER BY ordinal_position",
        &[&table],
    )?;
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = tx.prepare(&format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    ))?;
    Ok((names, insert))
}

fn copy_table(
    source: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    order: &str,
) -> Result<u64> {
    let (names, insert) = insert_statement(tx, table)?;
    let types = insert.params().to_vec();
    let mut select = source.prepare(&format!(
        "SELECT {} FROM {table} ORDER BY {order}",
        names.join(", ")
    ))?;
    let mut rows = select.query([])?;
    let mut copied = 0;
    while let Some(row) = rows.next()? {
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(names.len());
        for (i, (name, ty)) in names.iter().zip(&types).enumerate() {
            values.push(convert(table, name, ty, row.get::<_, Value>(i)?)?);
        }
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        tx.execute(&insert, &params)?;
        copied += 1;
    }
    Ok(copied)
}

/// A SQLite value as the PostgreSQL column's type wants it.
fn convert(table: &str, column: &str, ty: &Type, value: Value) -> Result<Box<dyn ToSql + Sync>> {
    let mismatch = |value: &Value| {
        StoreError::Corrupt(format!(
            "{table}.{column}: {value:?} does not fit the PostgreSQL type {ty}"
        ))
    };
    Ok(match (ty, value) {
        (&Type::INT8, Value::Integer(n)) => Box::new(n),
        (&Type::INT8, Value::Null) => Box::new(None::<i64>),
        (&Type::BOOL, Value::Integer(n)) => Box::new(n != 0),
        (&Type::TEXT, Value::Text(s)) => Box::new(s),
        (&Type::TEXT, Value::Null) => Box::new(None::<String>),
        (&Type::BYTEA, Value::Blob(b)) => Box::new(b),
        (&Type::BYTEA, Value::Null) => Box::new(None::<Vec<u8>>),
        (_, value) => return Err(mismatch(&value)),
    })
}
