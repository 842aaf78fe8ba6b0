//! The grant tables of the SQLite backend: grants and their tokens.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::SqliteStore;
use crate::model::{EndedGrant, GrantEnd, GrantEnding, GrantRecord, MAX_ENDED_GRANTS_PER_KEY};
use crate::{Result, StoreError};

const GRANT_COLUMNS: &str = "region, key_id, grant_id, name, created_ms, grantee_principal, \
     grantee_service_principal, retiring_principal, retiring_service_principal, issuing_account, \
     operations, constraints, grantee_unique_id, retiring_unique_id, created_by, created_request_id";

fn grant_from_row(row: &Row<'_>) -> rusqlite::Result<(GrantRecord, String)> {
    Ok((
        GrantRecord {
            region: row.get(0)?,
            key_id: row.get(1)?,
            grant_id: row.get(2)?,
            name: row.get(3)?,
            created_ms: row.get(4)?,
            grantee_principal: row.get(5)?,
            grantee_service_principal: row.get(6)?,
            retiring_principal: row.get(7)?,
            retiring_service_principal: row.get(8)?,
            issuing_account: row.get(9)?,
            operations: Vec::new(),
            constraints: row.get(11)?,
            grantee_unique_id: row.get(12)?,
            retiring_unique_id: row.get(13)?,
            created_by: row.get(14)?,
            created_request_id: row.get(15)?,
        },
        row.get(10)?,
    ))
}

fn finish((mut g, operations): (GrantRecord, String)) -> Result<GrantRecord> {
    g.operations = serde_json::from_str(&operations)
        .map_err(|e| StoreError::Corrupt(format!("operations of grant {}: {e}", g.grant_id)))?;
    Ok(g)
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(GrantRecord, String)>>,
) -> Result<Vec<GrantRecord>> {
    rows.map(|r| finish(r?)).collect()
}

fn insert_token(tx: &Transaction<'_>, g: &GrantRecord, token: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO grant_tokens (token, region, key_id, grant_id) VALUES (?1, ?2, ?3, ?4)",
        params![token, g.region, g.key_id, g.grant_id],
    )?;
    Ok(())
}

impl SqliteStore {
    /// Creates a grant with its first token, in one transaction. With a name, a grant on the
    /// same key with the same name and identical parameters is reused (the new token is added
    /// to it) and its ID returned. Refuses when the key already has `max_per_key` grants.
    pub(crate) fn create_grant(
        &self,
        grant: &GrantRecord,
        token: &str,
        max_per_key: usize,
    ) -> Result<String> {
        self.write(|tx| {
            if grant.name.is_some() {
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 AND key_id = ?2 AND name = ?3"
                );
                let mut stmt = tx.prepare_cached(&sql)?;
                let same_name =
                    collect(stmt.query_map(params![grant.region, grant.key_id, grant.name], grant_from_row)?)?;
                if let Some(existing) = same_name.into_iter().find(|g| g.same_parameters(grant)) {
                    insert_token(tx, &existing, token)?;
                    return Ok(existing.grant_id);
                }
            }
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM grants WHERE region = ?1 AND key_id = ?2",
                params![grant.region, grant.key_id],
                |r| r.get(0),
            )?;
            if count as usize >= max_per_key {
                return Err(StoreError::LimitExceeded("grants per key"));
            }
            let operations = serde_json::to_string(&grant.operations)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let sql = format!(
                "INSERT INTO grants ({GRANT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            );
            tx.execute(
                &sql,
                params![
                    grant.region,
                    grant.key_id,
                    grant.grant_id,
                    grant.name,
                    grant.created_ms,
                    grant.grantee_principal,
                    grant.grantee_service_principal,
                    grant.retiring_principal,
                    grant.retiring_service_principal,
                    grant.issuing_account,
                    operations,
                    grant.constraints,
                    grant.grantee_unique_id,
                    grant.retiring_unique_id,
                    grant.created_by,
                    grant.created_request_id,
                ],
            )?;
            insert_token(tx, grant, token)?;
            Ok(grant.grant_id.clone())
        })
    }

    /// Inserts many grants (each with one token) in one transaction: bulk import, benchmarks.
    pub(crate) fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "INSERT INTO grants ({GRANT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            for (g, token) in grants {
                let operations = serde_json::to_string(&g.operations)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                stmt.execute(params![
                    g.region,
                    g.key_id,
                    g.grant_id,
                    g.name,
                    g.created_ms,
                    g.grantee_principal,
                    g.grantee_service_principal,
                    g.retiring_principal,
                    g.retiring_service_principal,
                    g.issuing_account,
                    operations,
                    g.constraints,
                    g.grantee_unique_id,
                    g.retiring_unique_id,
                    g.created_by,
                    g.created_request_id,
                ])?;
                insert_token(tx, g, token)?;
            }
            Ok(())
        })
    }

    /// Grants of a key whose grantee principal is one of `grantees` (the caller's ARN, its role
    /// ARN, its account): an index lookup, independent of how many other grants the key has.
    pub(crate) fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 AND key_id = ?2 AND grantee_principal = ?3"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut out = Vec::new();
        for g in grantees {
            out.extend(collect(
                stmt.query_map(params![region, key_id, g], grant_from_row)?,
            )?);
        }
        Ok(out)
    }

    /// Grants of a key whose grantee is a service principal.
    pub(crate) fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 AND key_id = ?2 AND grantee_service_principal = ?3"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        collect(stmt.query_map(params![region, key_id, service], grant_from_row)?)
    }

    pub(crate) fn get_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
    ) -> Result<Option<GrantRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 AND key_id = ?2 AND grant_id = ?3"
        );
        conn.query_row(&sql, params![region, key_id, grant_id], grant_from_row)
            .optional()?
            .map(finish)
            .transpose()
    }

    pub(crate) fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        let conn = self.reader();
        let sql = "SELECT g.region, g.key_id, g.grant_id, g.name, g.created_ms, g.grantee_principal, \
             g.grantee_service_principal, g.retiring_principal, g.retiring_service_principal, \
             g.issuing_account, g.operations, g.constraints, g.grantee_unique_id, \
             g.retiring_unique_id, g.created_by, g.created_request_id \
             FROM grant_tokens t JOIN grants g \
             ON g.region = t.region AND g.key_id = t.key_id AND g.grant_id = t.grant_id \
             WHERE t.token = ?1";
        conn.query_row(sql, params![token], grant_from_row)
            .optional()?
            .map(finish)
            .transpose()
    }

    /// Grants of a key ordered by grant ID after `after`, optionally filtered.
    pub(crate) fn list_grants(
        &self,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 AND key_id = ?2 \
             AND (?3 IS NULL OR grant_id = ?3) \
             AND (?4 IS NULL OR grantee_principal = ?4 OR grantee_service_principal = ?4) \
             AND grant_id > ?5 ORDER BY grant_id LIMIT ?6"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        collect(stmt.query_map(
            params![
                region,
                key_id,
                grant_id,
                grantee,
                after.unwrap_or(""),
                limit as i64
            ],
            grant_from_row,
        )?)
    }

    /// Grants in a region whose retiring principal (or retiring service principal) is `principal`,
    /// ordered by (key, grant) after `after` (a `key_id/grant_id` string).
    pub(crate) fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = ?1 \
             AND (retiring_principal = ?2 OR retiring_service_principal = ?2) \
             AND key_id || '/' || grant_id > ?3 ORDER BY key_id || '/' || grant_id LIMIT ?4"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        collect(stmt.query_map(
            params![region, principal, after.unwrap_or(""), limit as i64],
            grant_from_row,
        )?)
    }

    /// Ends a grant: it moves, with `ending`, to the key's ended grants (the oldest beyond
    /// the bound are forgotten); its tokens go with it.
    pub(crate) fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "INSERT INTO ended_grants ({GRANT_COLUMNS}, ended_how, ended_by, ended_ms, ended_request_id) \
                 SELECT {GRANT_COLUMNS}, ?4, ?5, ?6, ?7 FROM grants \
                 WHERE region = ?1 AND key_id = ?2 AND grant_id = ?3"
            );
            let n = tx.execute(
                &sql,
                params![
                    region,
                    key_id,
                    grant_id,
                    ending.how.as_str(),
                    ending.by,
                    ending.at_ms,
                    ending.request_id
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "DELETE FROM grants WHERE region = ?1 AND key_id = ?2 AND grant_id = ?3",
                params![region, key_id, grant_id],
            )?;
            tx.execute(
                "DELETE FROM ended_grants WHERE region = ?1 AND key_id = ?2 AND rowid NOT IN \
                 (SELECT rowid FROM ended_grants WHERE region = ?1 AND key_id = ?2 \
                  ORDER BY rowid DESC LIMIT ?3)",
                params![region, key_id, MAX_ENDED_GRANTS_PER_KEY as i64],
            )?;
            Ok(())
        })
    }

    /// Ended grants of a key for any of `grantees`, the most recently ended first.
    pub(crate) fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {GRANT_COLUMNS}, ended_how, ended_by, ended_ms, ended_request_id, rowid \
             FROM ended_grants WHERE region = ?1 AND key_id = ?2 AND grantee_principal = ?3"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut out = Vec::new();
        for grantee in grantees {
            let rows = stmt.query_map(params![region, key_id, grantee], |row| {
                Ok((
                    grant_from_row(row)?,
                    row.get::<_, String>(16)?,
                    row.get::<_, String>(17)?,
                    row.get::<_, i64>(18)?,
                    row.get::<_, Option<String>>(19)?,
                    row.get::<_, i64>(20)?,
                ))
            })?;
            for row in rows {
                let (grant, how, by, at_ms, request_id, order) = row?;
                let how = GrantEnd::parse(&how)
                    .ok_or_else(|| StoreError::Corrupt(format!("grant ending {how:?}")))?;
                out.push((
                    order,
                    EndedGrant {
                        grant: finish(grant)?,
                        ending: GrantEnding {
                            how,
                            by,
                            at_ms,
                            request_id,
                        },
                    },
                ));
            }
        }
        out.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
        Ok(out.into_iter().map(|(_, g)| g).collect())
    }
}
