//! Versioned schema of the PostgreSQL backend, applied at start under a session advisory lock so
//! that instances starting together do not race. Each entry upgrades the schema by one version;
//! never edit a released entry, append a new one.
//!
//! Version 1 is the SQLite schema at its version 10, in PostgreSQL's types: `BIGINT` for
//! integers and times in milliseconds, `BYTEA` for sealed values, `BOOLEAN` for flags. IAM names
//! are unique per account regardless of case through unique indexes on `lower(name)` (SQLite's
//! `COLLATE NOCASE`, which folds ASCII only, as `lower` does under the "C" collation). Every
//! text column has the "C" collation: byte order, like SQLite, whatever the database's locale,
//! so that lists and their pagination order the same on both backends. Grants have a `seq`
//! column for their creation order (SQLite's rowid).

use postgres::Client;

use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE keys (
        region               TEXT COLLATE "C" NOT NULL,
        key_id               TEXT COLLATE "C" NOT NULL,
        account              TEXT COLLATE "C" NOT NULL,
        created_ms           BIGINT NOT NULL,
        description          TEXT COLLATE "C" NOT NULL,
        key_spec             TEXT COLLATE "C" NOT NULL,
        key_usage            TEXT COLLATE "C" NOT NULL,
        origin               TEXT COLLATE "C" NOT NULL,
        key_state            TEXT COLLATE "C" NOT NULL,
        deletion_ms          BIGINT,
        pending_window_days  BIGINT,
        policy               TEXT COLLATE "C" NOT NULL,
        current_material     BIGINT NOT NULL,
        policy_principal_ids TEXT COLLATE "C",
        rotation_period_days BIGINT,
        next_rotation_ms     BIGINT,
        key_manager          TEXT COLLATE "C" NOT NULL,
        primary_region       TEXT COLLATE "C",
        PRIMARY KEY (region, key_id)
    );
    CREATE INDEX keys_by_account ON keys (region, account, key_id);
    CREATE INDEX keys_by_id ON keys (key_id);
    CREATE INDEX keys_by_next_rotation ON keys (next_rotation_ms)
        WHERE next_rotation_ms IS NOT NULL;
    CREATE INDEX keys_pending_deletion ON keys (deletion_ms)
        WHERE key_state = 'PendingDeletion';
    CREATE TABLE key_materials (
        region      TEXT COLLATE "C" NOT NULL,
        key_id      TEXT COLLATE "C" NOT NULL,
        version     BIGINT NOT NULL,
        material_id TEXT COLLATE "C" NOT NULL,
        sealed      BYTEA NOT NULL,
        created_ms  BIGINT NOT NULL,
        rotation    TEXT COLLATE "C",
        valid_to_ms BIGINT,
        description TEXT COLLATE "C",
        PRIMARY KEY (region, key_id, version),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX key_materials_by_expiry ON key_materials (valid_to_ms)
        WHERE valid_to_ms IS NOT NULL;
    CREATE TABLE aliases (
        region        TEXT COLLATE "C" NOT NULL,
        account       TEXT COLLATE "C" NOT NULL,
        alias_name    TEXT COLLATE "C" NOT NULL,
        target_key_id TEXT COLLATE "C" NOT NULL,
        created_ms    BIGINT NOT NULL,
        updated_ms    BIGINT NOT NULL,
        PRIMARY KEY (region, account, alias_name),
        FOREIGN KEY (region, target_key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX aliases_by_key ON aliases (region, target_key_id);
    CREATE TABLE tags (
        region    TEXT COLLATE "C" NOT NULL,
        key_id    TEXT COLLATE "C" NOT NULL,
        tag_key   TEXT COLLATE "C" NOT NULL,
        tag_value TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (region, key_id, tag_key),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE TABLE key_last_usage (
        region     TEXT COLLATE "C" NOT NULL,
        key_id     TEXT COLLATE "C" NOT NULL,
        operation  TEXT COLLATE "C" NOT NULL,
        at_ms      BIGINT NOT NULL,
        event_id   TEXT COLLATE "C" NOT NULL,
        request_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (region, key_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE TABLE grants (
        region                     TEXT COLLATE "C" NOT NULL,
        key_id                     TEXT COLLATE "C" NOT NULL,
        grant_id                   TEXT COLLATE "C" NOT NULL,
        name                       TEXT COLLATE "C",
        created_ms                 BIGINT NOT NULL,
        grantee_principal          TEXT COLLATE "C",
        grantee_service_principal  TEXT COLLATE "C",
        retiring_principal         TEXT COLLATE "C",
        retiring_service_principal TEXT COLLATE "C",
        issuing_account            TEXT COLLATE "C" NOT NULL,
        operations                 TEXT COLLATE "C" NOT NULL,
        constraints                TEXT COLLATE "C",
        grantee_unique_id          TEXT COLLATE "C",
        retiring_unique_id         TEXT COLLATE "C",
        seq                        BIGSERIAL NOT NULL,
        PRIMARY KEY (region, key_id, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX grants_by_grantee ON grants (region, key_id, grantee_principal);
    CREATE INDEX grants_by_name ON grants (region, key_id, name);
    CREATE INDEX grants_by_retiring ON grants (region, retiring_principal);
    CREATE INDEX grants_by_retiring_service ON grants (region, retiring_service_principal);
    CREATE TABLE grant_tokens (
        token    TEXT COLLATE "C" PRIMARY KEY,
        region   TEXT COLLATE "C" NOT NULL,
        key_id   TEXT COLLATE "C" NOT NULL,
        grant_id TEXT COLLATE "C" NOT NULL,
        FOREIGN KEY (region, key_id, grant_id) REFERENCES grants (region, key_id, grant_id)
            ON DELETE CASCADE
    );
    CREATE INDEX grant_tokens_by_grant ON grant_tokens (region, key_id, grant_id);
    CREATE TABLE iam_accounts (
        account TEXT COLLATE "C" PRIMARY KEY,
        source  TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE iam_users (
        account    TEXT COLLATE "C" NOT NULL,
        name       TEXT COLLATE "C" NOT NULL,
        path       TEXT COLLATE "C" NOT NULL,
        unique_id  TEXT COLLATE "C" NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL,
        tags       TEXT COLLATE "C" NOT NULL,
        source     TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX iam_users_by_name ON iam_users (account, lower(name));
    CREATE TABLE iam_roles (
        account              TEXT COLLATE "C" NOT NULL,
        name                 TEXT COLLATE "C" NOT NULL,
        path                 TEXT COLLATE "C" NOT NULL,
        unique_id            TEXT COLLATE "C" NOT NULL UNIQUE,
        created_ms           BIGINT NOT NULL,
        tags                 TEXT COLLATE "C" NOT NULL,
        trust_policy         TEXT COLLATE "C",
        max_session_duration BIGINT NOT NULL,
        description          TEXT COLLATE "C",
        source               TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX iam_roles_by_name ON iam_roles (account, lower(name));
    CREATE TABLE iam_policies (
        account         TEXT COLLATE "C" NOT NULL,
        name            TEXT COLLATE "C" NOT NULL,
        path            TEXT COLLATE "C" NOT NULL,
        unique_id       TEXT COLLATE "C" NOT NULL UNIQUE,
        created_ms      BIGINT NOT NULL,
        updated_ms      BIGINT NOT NULL,
        description     TEXT COLLATE "C",
        default_version TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX iam_policies_by_name ON iam_policies (account, lower(name));
    CREATE TABLE iam_policy_versions (
        account     TEXT COLLATE "C" NOT NULL,
        policy_name TEXT COLLATE "C" NOT NULL,
        version_id  TEXT COLLATE "C" NOT NULL,
        document    TEXT COLLATE "C" NOT NULL,
        created_ms  BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX iam_policy_versions_by_name
        ON iam_policy_versions (account, lower(policy_name), version_id);
    CREATE TABLE iam_inline_policies (
        account    TEXT COLLATE "C" NOT NULL,
        owner_kind TEXT COLLATE "C" NOT NULL,
        owner_name TEXT COLLATE "C" NOT NULL,
        name       TEXT COLLATE "C" NOT NULL,
        document   TEXT COLLATE "C" NOT NULL,
        source     TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX iam_inline_policies_by_name
        ON iam_inline_policies (account, owner_kind, lower(owner_name), name);
    CREATE TABLE iam_attachments (
        account    TEXT COLLATE "C" NOT NULL,
        owner_kind TEXT COLLATE "C" NOT NULL,
        owner_name TEXT COLLATE "C" NOT NULL,
        policy_arn TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX iam_attachments_by_owner
        ON iam_attachments (account, owner_kind, lower(owner_name), policy_arn);
    CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);
    CREATE TABLE iam_access_keys (
        access_key_id TEXT COLLATE "C" PRIMARY KEY,
        account       TEXT COLLATE "C" NOT NULL,
        kind          TEXT COLLATE "C" NOT NULL,
        owner_name    TEXT COLLATE "C" NOT NULL,
        session_name  TEXT COLLATE "C",
        via_service   TEXT COLLATE "C",
        acts_for      TEXT COLLATE "C",
        sealed_secret BYTEA NOT NULL,
        active        BOOLEAN NOT NULL,
        created_ms    BIGINT NOT NULL,
        source        TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE iam_sessions (
        access_key_id  TEXT COLLATE "C" PRIMARY KEY,
        sealed_secret  BYTEA NOT NULL,
        account        TEXT COLLATE "C" NOT NULL,
        role_name      TEXT COLLATE "C" NOT NULL,
        role_unique_id TEXT COLLATE "C" NOT NULL,
        session_name   TEXT COLLATE "C" NOT NULL,
        created_ms     BIGINT NOT NULL,
        expires_ms     BIGINT NOT NULL,
        tags           TEXT COLLATE "C" NOT NULL,
        session_policy TEXT COLLATE "C",
        policy_arns    TEXT COLLATE "C" NOT NULL,
        source_arn     TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX iam_sessions_by_expiry ON iam_sessions (expires_ms);
    CREATE TABLE meta (
        name  TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL
    );
    "#,
    // 2 (SQLite's 11): who created each grant and in which request, and the latest retired or
    // revoked grants of each key with who ended them and when.
    r#"
    ALTER TABLE grants ADD COLUMN created_by TEXT COLLATE "C";
    ALTER TABLE grants ADD COLUMN created_request_id TEXT COLLATE "C";
    CREATE TABLE ended_grants (
        region                     TEXT COLLATE "C" NOT NULL,
        key_id                     TEXT COLLATE "C" NOT NULL,
        grant_id                   TEXT COLLATE "C" NOT NULL,
        name                       TEXT COLLATE "C",
        created_ms                 BIGINT NOT NULL,
        grantee_principal          TEXT COLLATE "C",
        grantee_service_principal  TEXT COLLATE "C",
        retiring_principal         TEXT COLLATE "C",
        retiring_service_principal TEXT COLLATE "C",
        issuing_account            TEXT COLLATE "C" NOT NULL,
        operations                 TEXT COLLATE "C" NOT NULL,
        constraints                TEXT COLLATE "C",
        grantee_unique_id          TEXT COLLATE "C",
        retiring_unique_id         TEXT COLLATE "C",
        created_by                 TEXT COLLATE "C",
        created_request_id         TEXT COLLATE "C",
        ended_how                  TEXT COLLATE "C" NOT NULL,
        ended_by                   TEXT COLLATE "C" NOT NULL,
        ended_ms                   BIGINT NOT NULL,
        ended_request_id           TEXT COLLATE "C",
        seq                        BIGSERIAL NOT NULL,
        PRIMARY KEY (region, key_id, grant_id),
        FOREIGN KEY (region, key_id) REFERENCES keys (region, key_id) ON DELETE CASCADE
    );
    CREATE INDEX ended_grants_by_grantee ON ended_grants (region, key_id, grantee_principal);
    "#,
    // 3 (SQLite's 12): the permissions boundary (a managed policy's ARN) of users and roles.
    r#"
    ALTER TABLE iam_users ADD COLUMN permissions_boundary TEXT COLLATE "C";
    ALTER TABLE iam_roles ADD COLUMN permissions_boundary TEXT COLLATE "C";
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock (session level) held while migrating: "trent" + "schema" in ASCII.
const MIGRATION_LOCK: i64 = 0x7472_656e_7473_6368;

pub fn migrate(client: &mut Client) -> Result<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let outcome = apply(client);
    // Released whatever happened (the session ends with the connection anyway).
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    outcome?;
    unlocked?;
    Ok(())
}

fn apply(client: &mut Client) -> Result<()> {
    // No NOTICE ("already exists, skipping") in the server's log at every start.
    client.batch_execute("SET client_min_messages = warning")?;
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS trent_schema (version BIGINT NOT NULL); \
         INSERT INTO trent_schema (version) SELECT 0 \
         WHERE NOT EXISTS (SELECT 1 FROM trent_schema)",
    )?;
    let found: i64 = client
        .query_one("SELECT version FROM trent_schema", &[])?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "UPDATE trent_schema SET version = $1",
            &[&(index as i64 + 1)],
        )?;
        tx.commit()?;
    }
    Ok(())
}
