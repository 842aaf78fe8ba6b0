//! The grant tables of the PostgreSQL backend: grants and their tokens.

use postgres::{GenericClient, Row, Transaction};

use crate::changes::Change;
use crate::model::{EndedGrant, GrantEnd, GrantEnding, GrantRecord, MAX_ENDED_GRANTS_PER_KEY};
use crate::{Result, StoreError};

const GRANT_COLUMNS: &str = "region, key_id, grant_id, name, created_ms, grantee_principal, \
     grantee_service_principal, retiring_principal, retiring_service_principal, issuing_account, \
     operations, constraints, grantee_unique_id, retiring_unique_id, created_by, created_request_id";

/// The same columns, of the grant joined as `g`.
const GRANT_COLUMNS_OF_G: &str = "g.region, g.key_id, g.grant_id, g.name, g.created_ms, \
     g.grantee_principal, g.grantee_service_principal, g.retiring_principal, \
     g.retiring_service_principal, g.issuing_account, g.operations, g.constraints, \
     g.grantee_unique_id, g.retiring_unique_id, g.created_by, g.created_request_id";

pub(super) fn change(region: &str, key_id: &str) -> Change {
    Change::Grants {
        region: region.to_string(),
        key_id: key_id.to_string(),
    }
}

fn grant_from_row(row: &Row) -> Result<GrantRecord> {
    let grant_id: String = row.try_get(2)?;
    let operations: String = row.try_get(10)?;
    let operations = serde_json::from_str(&operations)
        .map_err(|e| StoreError::Corrupt(format!("operations of grant {grant_id}: {e}")))?;
    Ok(GrantRecord {
        region: row.try_get(0)?,
        key_id: row.try_get(1)?,
        grant_id,
        name: row.try_get(3)?,
        created_ms: row.try_get(4)?,
        grantee_principal: row.try_get(5)?,
        grantee_service_principal: row.try_get(6)?,
        retiring_principal: row.try_get(7)?,
        retiring_service_principal: row.try_get(8)?,
        issuing_account: row.try_get(9)?,
        operations,
        constraints: row.try_get(11)?,
        grantee_unique_id: row.try_get(12)?,
        retiring_unique_id: row.try_get(13)?,
        created_by: row.try_get(14)?,
        created_request_id: row.try_get(15)?,
    })
}

fn grants(rows: Vec<Row>) -> Result<Vec<GrantRecord>> {
    rows.iter().map(grant_from_row).collect()
}

pub(super) fn insert_token(tx: &mut Transaction<'_>, g: &GrantRecord, token: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO grant_tokens (token, region, key_id, grant_id) VALUES ($1, $2, $3, $4)",
        &[&token, &g.region, &g.key_id, &g.grant_id],
    )?;
    Ok(())
}

pub(super) fn insert(tx: &mut Transaction<'_>, g: &GrantRecord) -> Result<()> {
    let operations =
        serde_json::to_string(&g.operations).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = format!(
        "INSERT INTO grants ({GRANT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    super::insert_or_exists(tx.execute(
        &sql,
        &[
            &g.region,
            &g.key_id,
            &g.grant_id,
            &g.name,
            &g.created_ms,
            &g.grantee_principal,
            &g.grantee_service_principal,
            &g.retiring_principal,
            &g.retiring_service_principal,
            &g.issuing_account,
            &operations,
            &g.constraints,
            &g.grantee_unique_id,
            &g.retiring_unique_id,
            &g.created_by,
            &g.created_request_id,
        ],
    ))
}

/// Creates a grant with its first token. With a name, a grant on the same key with the same
/// name and identical parameters is reused (the new token is added to it) and its ID returned.
/// Refuses when the key already has `max_per_key` grants.
pub(super) fn create(
    tx: &mut Transaction<'_>,
    grant: &GrantRecord,
    token: &str,
    max_per_key: usize,
) -> Result<String> {
    if grant.name.is_some() {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE region = $1 AND key_id = $2 AND name = $3"
        );
        let same_name = grants(tx.query(&sql, &[&grant.region, &grant.key_id, &grant.name])?)?;
        if let Some(existing) = same_name.into_iter().find(|g| g.same_parameters(grant)) {
            insert_token(tx, &existing, token)?;
            return Ok(existing.grant_id);
        }
    }
    let n: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM grants WHERE region = $1 AND key_id = $2",
            &[&grant.region, &grant.key_id],
        )?
        .try_get(0)?;
    if super::count(n) >= max_per_key {
        return Err(StoreError::LimitExceeded("grants per key"));
    }
    insert(tx, grant)?;
    insert_token(tx, grant, token)?;
    Ok(grant.grant_id.clone())
}

/// Grants of a key whose grantee principal is one of `grantees`, grouped by grantee in the
/// order given, each group in creation order (`seq`).
pub(super) fn for_grantees(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
    grantees: &[&str],
) -> Result<Vec<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM grants \
         WHERE region = $1 AND key_id = $2 AND grantee_principal = $3 \
         ORDER BY seq"
    );
    let stmt = c.prepare(&sql)?;
    let mut out = Vec::new();
    for g in grantees {
        out.extend(grants(c.query(&stmt, &[&region, &key_id, g])?)?);
    }
    Ok(out)
}

pub(super) fn for_service(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
    service: &str,
) -> Result<Vec<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM grants \
         WHERE region = $1 AND key_id = $2 AND grantee_service_principal = $3 \
         ORDER BY seq"
    );
    grants(c.query(&sql, &[&region, &key_id, &service])?)
}

pub(super) fn get(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
    grant_id: &str,
) -> Result<Option<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE region = $1 AND key_id = $2 AND grant_id = $3"
    );
    c.query_opt(&sql, &[&region, &key_id, &grant_id])?
        .map(|r| grant_from_row(&r))
        .transpose()
}

pub(super) fn by_token(c: &mut impl GenericClient, token: &str) -> Result<Option<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS_OF_G} FROM grant_tokens t JOIN grants g \
         ON g.region = t.region AND g.key_id = t.key_id AND g.grant_id = t.grant_id \
         WHERE t.token = $1"
    );
    c.query_opt(&sql, &[&token])?
        .map(|r| grant_from_row(&r))
        .transpose()
}

pub(super) fn list(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
    grant_id: Option<&str>,
    grantee: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE region = $1 AND key_id = $2 \
         AND ($3::TEXT IS NULL OR grant_id = $3) \
         AND ($4::TEXT IS NULL OR grantee_principal = $4 OR grantee_service_principal = $4) \
         AND grant_id > $5 ORDER BY grant_id LIMIT $6"
    );
    grants(c.query(
        &sql,
        &[
            &region,
            &key_id,
            &grant_id,
            &grantee,
            &after.unwrap_or(""),
            &limit,
        ],
    )?)
}

pub(super) fn list_retirable(
    c: &mut impl GenericClient,
    region: &str,
    principal: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE region = $1 \
         AND (retiring_principal = $2 OR retiring_service_principal = $2) \
         AND key_id || '/' || grant_id > $3 ORDER BY key_id || '/' || grant_id LIMIT $4"
    );
    grants(c.query(&sql, &[&region, &principal, &after.unwrap_or(""), &limit])?)
}

/// Ends a grant: it moves, with `ending`, to the key's ended grants (the oldest beyond the
/// bound are forgotten); its tokens go with it.
pub(super) fn end(
    tx: &mut Transaction<'_>,
    region: &str,
    key_id: &str,
    grant_id: &str,
    ending: &GrantEnding,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO ended_grants ({GRANT_COLUMNS}, ended_how, ended_by, ended_ms, ended_request_id) \
         SELECT {GRANT_COLUMNS}, $4, $5, $6, $7 FROM grants \
         WHERE region = $1 AND key_id = $2 AND grant_id = $3"
    );
    super::one_row(tx.execute(
        &sql,
        &[
            &region,
            &key_id,
            &grant_id,
            &ending.how.as_str(),
            &ending.by,
            &ending.at_ms,
            &ending.request_id,
        ],
    )?)?;
    tx.execute(
        "DELETE FROM grants WHERE region = $1 AND key_id = $2 AND grant_id = $3",
        &[&region, &key_id, &grant_id],
    )?;
    tx.execute(
        "DELETE FROM ended_grants WHERE region = $1 AND key_id = $2 AND seq NOT IN \
         (SELECT seq FROM ended_grants WHERE region = $1 AND key_id = $2 \
          ORDER BY seq DESC LIMIT $3)",
        &[&region, &key_id, &(MAX_ENDED_GRANTS_PER_KEY as i64)],
    )?;
    Ok(())
}

/// Ended grants of a key for any of `grantees`, the most recently ended first.
pub(super) fn ended_for_grantees(
    c: &mut impl GenericClient,
    region: &str,
    key_id: &str,
    grantees: &[&str],
) -> Result<Vec<EndedGrant>> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS}, ended_how, ended_by, ended_ms, ended_request_id FROM ended_grants \
         WHERE region = $1 AND key_id = $2 AND grantee_principal = ANY($3) ORDER BY seq DESC"
    );
    let grantees: Vec<&str> = grantees.to_vec();
    c.query(&sql, &[&region, &key_id, &grantees])?
        .iter()
        .map(|row| {
            let how: String = row.try_get(16)?;
            Ok(EndedGrant {
                grant: grant_from_row(row)?,
                ending: GrantEnding {
                    how: GrantEnd::parse(&how)
                        .ok_or_else(|| StoreError::Corrupt(format!("grant ending {how:?}")))?,
                    by: row.try_get(17)?,
                    at_ms: row.try_get(18)?,
                    request_id: row.try_get(19)?,
                },
            })
        })
        .collect()
}
