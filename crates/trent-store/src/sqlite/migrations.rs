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
    // 2: grants and their tokens. Grants are found by (key, grantee) for authorization.
    r#"
    CREATE TABLE grants (
        region                     TEXT NOT NULL,
        key_id                     TEXT NOT NULL,
        grant_id                   TEXT NOT NULL,
        name                       TEXT,
        created_ms                 INTEGER NOT NULL,
        grantee_principal          TEXT,
        grantee_service_principal  TEXT,
        retiring_principal         TEXT,
        retiring_service_principal TEXT,
        issuing_account            TEXT NOT NULL,
        operations                 TEXT NOT NULL,
        constraints                TEXT,
        PRIMARY KEY (region, key_id, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX grants_by_grantee ON grants (region, key_id, grantee_principal);
    CREATE INDEX grants_by_name ON grants (region, key_id, name);
    CREATE INDEX grants_by_retiring ON grants (region, retiring_principal);
    CREATE INDEX grants_by_retiring_service ON grants (region, retiring_service_principal);
    CREATE TABLE grant_tokens (
        token    TEXT PRIMARY KEY,
        region   TEXT NOT NULL,
        key_id   TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        FOREIGN KEY (region, key_id, grant_id) REFERENCES grants (region, key_id, grant_id)
            ON DELETE CASCADE
    );
    CREATE INDEX grant_tokens_by_grant ON grant_tokens (region, key_id, grant_id);
    "#,
    // 3: identities (IAM users, roles, managed policies, inline policies, attachments, access
    // keys) and STS sessions. Secrets are sealed under the root key. Names are unique per
    // account regardless of case, as in IAM.
    r#"
    CREATE TABLE iam_accounts (
        account TEXT PRIMARY KEY,
        source  TEXT NOT NULL
    );
    CREATE TABLE iam_users (
        account    TEXT NOT NULL,
        name       TEXT NOT NULL COLLATE NOCASE,
        path       TEXT NOT NULL,
        unique_id  TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        tags       TEXT NOT NULL,
        source     TEXT NOT NULL,
        PRIMARY KEY (account, name)
    );
    CREATE TABLE iam_roles (
        account              TEXT NOT NULL,
        name                 TEXT NOT NULL COLLATE NOCASE,
        path                 TEXT NOT NULL,
        unique_id            TEXT NOT NULL UNIQUE,
        created_ms           INTEGER NOT NULL,
        tags                 TEXT NOT NULL,
        trust_policy         TEXT,
        max_session_duration INTEGER NOT NULL,
        description          TEXT,
        source               TEXT NOT NULL,
        PRIMARY KEY (account, name)
    );
    CREATE TABLE iam_policies (
        account         TEXT NOT NULL,
        name            TEXT NOT NULL COLLATE NOCASE,
        path            TEXT NOT NULL,
        unique_id       TEXT NOT NULL UNIQUE,
        created_ms      INTEGER NOT NULL,
        updated_ms      INTEGER NOT NULL,
        description     TEXT,
        default_version TEXT NOT NULL,
        PRIMARY KEY (account, name)
    );
    CREATE TABLE iam_policy_versions (
        account     TEXT NOT NULL,
        policy_name TEXT NOT NULL COLLATE NOCASE,
        version_id  TEXT NOT NULL,
        document    TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (account, policy_name, version_id)
    );
    CREATE TABLE iam_inline_policies (
        account    TEXT NOT NULL,
        owner_kind TEXT NOT NULL,
        owner_name TEXT NOT NULL COLLATE NOCASE,
        name       TEXT NOT NULL,
        document   TEXT NOT NULL,
        source     TEXT NOT NULL,
        PRIMARY KEY (account, owner_kind, owner_name, name)
    );
    CREATE TABLE iam_attachments (
        account    TEXT NOT NULL,
        owner_kind TEXT NOT NULL,
        owner_name TEXT NOT NULL COLLATE NOCASE,
        policy_arn TEXT NOT NULL,
        PRIMARY KEY (account, owner_kind, owner_name, policy_arn)
    );
    CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);
    CREATE TABLE iam_access_keys (
        access_key_id TEXT PRIMARY KEY,
        account       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        owner_name    TEXT NOT NULL,
        session_name  TEXT,
        via_service   TEXT,
        acts_for      TEXT,
        sealed_secret BLOB NOT NULL,
        active        INTEGER NOT NULL,
        created_ms    INTEGER NOT NULL,
        source        TEXT NOT NULL
    );
    CREATE TABLE iam_sessions (
        access_key_id  TEXT PRIMARY KEY,
        sealed_secret  BLOB NOT NULL,
        account        TEXT NOT NULL,
        role_name      TEXT NOT NULL,
        role_unique_id TEXT NOT NULL,
        session_name   TEXT NOT NULL,
        created_ms     INTEGER NOT NULL,
        expires_ms     INTEGER NOT NULL,
        tags           TEXT NOT NULL,
        session_policy TEXT,
        policy_arns    TEXT NOT NULL,
        source_arn     TEXT NOT NULL
    );
    CREATE INDEX iam_sessions_by_expiry ON iam_sessions (expires_ms);
    "#,
    // 4: principals by unique ID. A grant records the unique ID of its grantee and retiring
    // principal (user or role) when Trent knows it; a key records, for the users and roles its
    // policy names, their unique IDs when the policy was set (JSON object ARN -> unique ID). A
    // principal deleted and recreated with the same name no longer matches them.
    r#"
    ALTER TABLE grants ADD COLUMN grantee_unique_id TEXT;
    ALTER TABLE grants ADD COLUMN retiring_unique_id TEXT;
    ALTER TABLE keys ADD COLUMN policy_principal_ids TEXT;
    "#,
    // 5: rotation. A key with automatic rotation enabled has its period and next date; a
    // material version records the rotation that made it (NULL for a key's first material).
    r#"
    ALTER TABLE keys ADD COLUMN rotation_period_days INTEGER;
    ALTER TABLE keys ADD COLUMN next_rotation_ms INTEGER;
    CREATE INDEX keys_by_next_rotation ON keys (next_rotation_ms)
        WHERE next_rotation_ms IS NOT NULL;
    ALTER TABLE key_materials ADD COLUMN rotation TEXT;
    "#,
    // 6: each key's last successful cryptographic use (GetKeyLastUsage).
    r#"
    CREATE TABLE key_last_usage (
        region     TEXT NOT NULL,
        key_id     TEXT NOT NULL,
        operation  TEXT NOT NULL,
        at_ms      INTEGER NOT NULL,
        event_id   TEXT NOT NULL,
        request_id TEXT NOT NULL,
        PRIMARY KEY (region, key_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    "#,
    // 7: imported key material: its expiry and description. Material that expired or was
    // deleted keeps its row with an empty `sealed` blob.
    r#"
    ALTER TABLE key_materials ADD COLUMN valid_to_ms INTEGER;
    ALTER TABLE key_materials ADD COLUMN description TEXT;
    CREATE INDEX key_materials_by_expiry ON key_materials (valid_to_ms)
        WHERE valid_to_ms IS NOT NULL;
    "#,
    // 8: who manages each key: 'CUSTOMER', or 'AWS' for the AWS managed keys KMS creates on the
    // first use of alias/aws/<service>. Every key made before this is the account's own.
    r#"
    ALTER TABLE keys ADD COLUMN key_manager TEXT NOT NULL DEFAULT 'CUSTOMER';
    "#,
    // 9: multi-Region keys: the Region of the primary key, in the primary and every replica
    // (NULL for single-Region keys); `multi_region` stays, always equal to `primary_region IS
    // NOT NULL`. Every multi-Region key made before this was a primary without replicas. Keys
    // are found by ID across Regions to gather the related keys.
    r#"
    ALTER TABLE keys ADD COLUMN primary_region TEXT;
    UPDATE keys SET primary_region = region WHERE multi_region = 1;
    CREATE INDEX keys_by_id ON keys (key_id);
    "#,
    // 10: facts about the data as a whole: the root key's canary (a value sealed under the
    // root key that wrote this database).
    r#"
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    "#,
    // 11: who created each grant and in which request (unknown for older grants), and the
    // grants that were retired or revoked, with who ended them and when (the latest of each
    // key; explanations of later denials name them).
    r#"
    ALTER TABLE grants ADD COLUMN created_by TEXT;
    ALTER TABLE grants ADD COLUMN created_request_id TEXT;
    CREATE TABLE ended_grants (
        region                     TEXT NOT NULL,
        key_id                     TEXT NOT NULL,
        grant_id                   TEXT NOT NULL,
        name                       TEXT,
        created_ms                 INTEGER NOT NULL,
        grantee_principal          TEXT,
        grantee_service_principal  TEXT,
        retiring_principal         TEXT,
        retiring_service_principal TEXT,
        issuing_account            TEXT NOT NULL,
        operations                 TEXT NOT NULL,
        constraints                TEXT,
        grantee_unique_id          TEXT,
        retiring_unique_id         TEXT,
        created_by                 TEXT,
        created_request_id         TEXT,
        ended_how                  TEXT NOT NULL,
        ended_by                   TEXT NOT NULL,
        ended_ms                   INTEGER NOT NULL,
        ended_request_id           TEXT,
        PRIMARY KEY (region, key_id, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX ended_grants_by_grantee ON ended_grants (region, key_id, grantee_principal);
    "#,
    // 12: the permissions boundary (a managed policy's ARN) of users and roles.
    r#"
    ALTER TABLE iam_users ADD COLUMN permissions_boundary TEXT;
    ALTER TABLE iam_roles ADD COLUMN permissions_boundary TEXT;
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
