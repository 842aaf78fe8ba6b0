//! The identity tables of the PostgreSQL backend (records in [`crate::iam`]), as in the SQLite
//! backend: rows declared by the configuration file carry `source = 'config'` and are replaced
//! as a whole at every start; rows created through the IAM and STS APIs carry `source = 'api'`.
//! Names are matched ignoring ASCII case (`lower(…)`, see `schema.rs`).

use postgres::Transaction;

use super::{insert_or_exists, one_row};
use crate::iam::{
    AccessKeyKind, AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord,
    ManagedPolicyRecord, OwnerKind, PolicyVersionRecord, RoleRecord, SessionRecord, Tags,
    UserRecord,
};
use crate::{Result, StoreError};

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn owner_table(owner: OwnerKind) -> &'static str {
    match owner {
        OwnerKind::User => "iam_users",
        OwnerKind::Role => "iam_roles",
    }
}

fn exists(tx: &mut Transaction<'_>, table: &str, account: &str, name: &str) -> Result<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE account = $1 AND lower(name) = lower($2)");
    Ok(tx.query_opt(&sql, &[&account, &name])?.is_some())
}

fn count(tx: &mut Transaction<'_>, sql: &str, account: &str, name: &str) -> Result<i64> {
    Ok(tx.query_one(sql, &[&account, &name])?.try_get(0)?)
}

/// Loads every identity (expired sessions included; the caller filters by time), in the order
/// [`crate::Backend::load_iam`] documents.
pub(super) fn load(c: &mut Transaction<'_>) -> Result<IamData<Vec<u8>>> {
    let mut data = IamData::default();
    for r in c.query("SELECT account FROM iam_accounts ORDER BY account", &[])? {
        data.accounts.push(r.try_get(0)?);
    }
    for r in c.query(
        "SELECT account, name, path, unique_id, created_ms, tags, permissions_boundary \
         FROM iam_users ORDER BY account, lower(name)",
        &[],
    )? {
        let tags: String = r.try_get(5)?;
        data.users.push(UserRecord {
            account: r.try_get(0)?,
            name: r.try_get(1)?,
            path: r.try_get(2)?,
            unique_id: r.try_get(3)?,
            created_ms: r.try_get(4)?,
            tags: parse_json("user tags", &tags)?,
            permissions_boundary: r.try_get(6)?,
        });
    }
    for r in c.query(
        "SELECT account, name, path, unique_id, created_ms, tags, trust_policy, \
         max_session_duration, description, permissions_boundary FROM iam_roles \
         ORDER BY account, lower(name)",
        &[],
    )? {
        let tags: String = r.try_get(5)?;
        data.roles.push(RoleRecord {
            account: r.try_get(0)?,
            name: r.try_get(1)?,
            path: r.try_get(2)?,
            unique_id: r.try_get(3)?,
            created_ms: r.try_get(4)?,
            tags: parse_json("role tags", &tags)?,
            trust_policy: r.try_get(6)?,
            max_session_duration: r.try_get(7)?,
            description: r.try_get(8)?,
            permissions_boundary: r.try_get(9)?,
        });
    }
    for r in c.query(
        "SELECT account, name, path, unique_id, created_ms, updated_ms, description, \
         default_version FROM iam_policies ORDER BY account, lower(name)",
        &[],
    )? {
        data.policies.push(ManagedPolicyRecord {
            account: r.try_get(0)?,
            name: r.try_get(1)?,
            path: r.try_get(2)?,
            unique_id: r.try_get(3)?,
            created_ms: r.try_get(4)?,
            updated_ms: r.try_get(5)?,
            description: r.try_get(6)?,
            default_version: r.try_get(7)?,
            versions: Vec::new(),
        });
    }
    let versions = c.prepare(
        "SELECT version_id, document, created_ms FROM iam_policy_versions \
         WHERE account = $1 AND lower(policy_name) = lower($2) ORDER BY created_ms, version_id",
    )?;
    for p in &mut data.policies {
        for r in c.query(&versions, &[&p.account, &p.name])? {
            p.versions.push(PolicyVersionRecord {
                version_id: r.try_get(0)?,
                document: r.try_get(1)?,
                created_ms: r.try_get(2)?,
            });
        }
    }
    for r in c.query(
        "SELECT account, owner_kind, owner_name, name, document FROM iam_inline_policies \
         ORDER BY account, owner_kind, lower(owner_name), name",
        &[],
    )? {
        let owner: String = r.try_get(1)?;
        data.inline_policies.push(InlinePolicyRecord {
            account: r.try_get(0)?,
            owner: OwnerKind::parse(&owner)?,
            owner_name: r.try_get(2)?,
            name: r.try_get(3)?,
            document: r.try_get(4)?,
        });
    }
    for r in c.query(
        "SELECT account, owner_kind, owner_name, policy_arn FROM iam_attachments \
         ORDER BY account, owner_kind, lower(owner_name), policy_arn",
        &[],
    )? {
        let owner: String = r.try_get(1)?;
        data.attachments.push(AttachmentRecord {
            account: r.try_get(0)?,
            owner: OwnerKind::parse(&owner)?,
            owner_name: r.try_get(2)?,
            policy_arn: r.try_get(3)?,
        });
    }
    for r in c.query(
        "SELECT access_key_id, account, kind, owner_name, session_name, via_service, \
         acts_for, sealed_secret, active, created_ms FROM iam_access_keys \
         ORDER BY created_ms, access_key_id",
        &[],
    )? {
        let kind: String = r.try_get(2)?;
        data.access_keys.push(AccessKeyRecord {
            access_key_id: r.try_get(0)?,
            account: r.try_get(1)?,
            kind: AccessKeyKind::parse(&kind)?,
            owner_name: r.try_get(3)?,
            session_name: r.try_get(4)?,
            via_service: r.try_get(5)?,
            acts_for: r.try_get(6)?,
            secret: r.try_get(7)?,
            active: r.try_get(8)?,
            created_ms: r.try_get(9)?,
        });
    }
    for r in c.query(
        "SELECT access_key_id, sealed_secret, account, role_name, role_unique_id, \
         session_name, created_ms, expires_ms, tags, session_policy, policy_arns, source_arn \
         FROM iam_sessions ORDER BY created_ms, access_key_id",
        &[],
    )? {
        let tags: String = r.try_get(8)?;
        let arns: String = r.try_get(10)?;
        data.sessions.push(SessionRecord {
            access_key_id: r.try_get(0)?,
            secret: r.try_get(1)?,
            account: r.try_get(2)?,
            role_name: r.try_get(3)?,
            role_unique_id: r.try_get(4)?,
            session_name: r.try_get(5)?,
            created_ms: r.try_get(6)?,
            expires_ms: r.try_get(7)?,
            tags: parse_json("session tags", &tags)?,
            session_policy: r.try_get(9)?,
            policy_arns: parse_json("session policy ARNs", &arns)?,
            source_arn: r.try_get(11)?,
        });
    }
    Ok(data)
}

/// Replaces every identity the configuration file declared with `data`. A configuration
/// identity replaces an API-created one it collides with (same name or unique ID; same access
/// key ID), as SQLite's `INSERT OR REPLACE` does.
pub(super) fn replace_config(tx: &mut Transaction<'_>, data: &IamData<Vec<u8>>) -> Result<()> {
    for table in [
        "iam_accounts",
        "iam_users",
        "iam_roles",
        "iam_inline_policies",
        "iam_access_keys",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE source = 'config'"), &[])?;
    }
    for a in &data.accounts {
        tx.execute(
            "INSERT INTO iam_accounts (account, source) VALUES ($1, 'config') \
             ON CONFLICT (account) DO UPDATE SET source = 'config'",
            &[a],
        )?;
    }
    for u in &data.users {
        tx.execute(
            "DELETE FROM iam_users \
             WHERE (account = $1 AND lower(name) = lower($2)) OR unique_id = $3",
            &[&u.account, &u.name, &u.unique_id],
        )?;
        insert_user(tx, u, "config")?;
    }
    for r in &data.roles {
        tx.execute(
            "DELETE FROM iam_roles \
             WHERE (account = $1 AND lower(name) = lower($2)) OR unique_id = $3",
            &[&r.account, &r.name, &r.unique_id],
        )?;
        insert_role(tx, r, "config")?;
    }
    for p in &data.inline_policies {
        insert_inline(tx, p, "config")?;
    }
    for k in &data.access_keys {
        tx.execute(
            "DELETE FROM iam_access_keys WHERE access_key_id = $1",
            &[&k.access_key_id],
        )?;
        insert_access_key(tx, k, "config")?;
    }
    Ok(())
}

/// `AlreadyExists` if the name (ignoring case) or the unique ID is taken.
pub(super) fn insert_user(tx: &mut Transaction<'_>, u: &UserRecord, source: &str) -> Result<()> {
    insert_or_exists(tx.execute(
        "INSERT INTO iam_users (account, name, path, unique_id, created_ms, tags, source, \
         permissions_boundary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &u.account,
            &u.name,
            &u.path,
            &u.unique_id,
            &u.created_ms,
            &to_json(&u.tags)?,
            &source,
            &u.permissions_boundary,
        ],
    ))
}

/// `AlreadyExists` if the name (ignoring case) or the unique ID is taken.
pub(super) fn insert_role(tx: &mut Transaction<'_>, r: &RoleRecord, source: &str) -> Result<()> {
    insert_or_exists(tx.execute(
        "INSERT INTO iam_roles (account, name, path, unique_id, created_ms, tags, \
         trust_policy, max_session_duration, description, source, permissions_boundary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &r.account,
            &r.name,
            &r.path,
            &r.unique_id,
            &r.created_ms,
            &to_json(&r.tags)?,
            &r.trust_policy,
            &r.max_session_duration,
            &r.description,
            &source,
            &r.permissions_boundary,
        ],
    ))
}

/// Adds or replaces an inline policy (the owner's name as written last wins, as in SQLite).
fn insert_inline(tx: &mut Transaction<'_>, p: &InlinePolicyRecord, source: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO iam_inline_policies \
         (account, owner_kind, owner_name, name, document, source) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account, owner_kind, lower(owner_name), name) DO UPDATE SET \
         owner_name = excluded.owner_name, document = excluded.document, \
         source = excluded.source",
        &[
            &p.account,
            &p.owner.as_str(),
            &p.owner_name,
            &p.name,
            &p.document,
            &source,
        ],
    )?;
    Ok(())
}

pub(super) fn insert_access_key(
    tx: &mut Transaction<'_>,
    k: &AccessKeyRecord<Vec<u8>>,
    source: &str,
) -> Result<()> {
    insert_or_exists(tx.execute(
        "INSERT INTO iam_access_keys (access_key_id, account, kind, owner_name, \
         session_name, via_service, acts_for, sealed_secret, active, created_ms, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &k.access_key_id,
            &k.account,
            &k.kind.as_str(),
            &k.owner_name,
            &k.session_name,
            &k.via_service,
            &k.acts_for,
            &k.secret,
            &k.active,
            &k.created_ms,
            &source,
        ],
    ))
}

/// Deletes a user that has no policies, attachments or access keys left (`Conflict`
/// otherwise, naming what is left).
pub(super) fn delete_user(tx: &mut Transaction<'_>, account: &str, name: &str) -> Result<()> {
    if !exists(tx, "iam_users", account, name)? {
        return Err(StoreError::NotFound);
    }
    let policies = count(
        tx,
        "SELECT COUNT(*) FROM iam_inline_policies \
         WHERE account = $1 AND owner_kind = 'user' AND lower(owner_name) = lower($2)",
        account,
        name,
    )? + count(
        tx,
        "SELECT COUNT(*) FROM iam_attachments \
         WHERE account = $1 AND owner_kind = 'user' AND lower(owner_name) = lower($2)",
        account,
        name,
    )?;
    if policies > 0 {
        return Err(StoreError::Conflict("policies"));
    }
    let access_keys = count(
        tx,
        "SELECT COUNT(*) FROM iam_access_keys \
         WHERE account = $1 AND kind = 'user' AND owner_name = $2",
        account,
        name,
    )?;
    if access_keys > 0 {
        return Err(StoreError::Conflict("access keys"));
    }
    one_row(tx.execute(
        "DELETE FROM iam_users WHERE account = $1 AND lower(name) = lower($2)",
        &[&account, &name],
    )?)
}

/// Deletes a role that has no policies left, with its sessions and its configured role-session
/// access keys.
pub(super) fn delete_role(tx: &mut Transaction<'_>, account: &str, name: &str) -> Result<()> {
    if !exists(tx, "iam_roles", account, name)? {
        return Err(StoreError::NotFound);
    }
    let policies = count(
        tx,
        "SELECT (SELECT COUNT(*) FROM iam_inline_policies \
           WHERE account = $1 AND owner_kind = 'role' AND lower(owner_name) = lower($2)) + \
         (SELECT COUNT(*) FROM iam_attachments \
           WHERE account = $1 AND owner_kind = 'role' AND lower(owner_name) = lower($2))",
        account,
        name,
    )?;
    if policies > 0 {
        return Err(StoreError::Conflict("policies"));
    }
    tx.execute(
        "DELETE FROM iam_sessions WHERE account = $1 AND role_name = $2",
        &[&account, &name],
    )?;
    tx.execute(
        "DELETE FROM iam_access_keys WHERE account = $1 AND kind = 'role-session' \
         AND owner_name = $2",
        &[&account, &name],
    )?;
    one_row(tx.execute(
        "DELETE FROM iam_roles WHERE account = $1 AND lower(name) = lower($2)",
        &[&account, &name],
    )?)
}

/// Replaces the tags of a user or role (the caller merged them).
pub(super) fn set_tags(
    tx: &mut Transaction<'_>,
    owner: OwnerKind,
    account: &str,
    name: &str,
    tags: &Tags,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET tags = $3 WHERE account = $1 AND lower(name) = lower($2)",
        owner_table(owner)
    );
    one_row(tx.execute(&sql, &[&account, &name, &to_json(tags)?])?)
}

pub(super) fn set_permissions_boundary(
    tx: &mut Transaction<'_>,
    owner: OwnerKind,
    account: &str,
    name: &str,
    boundary: Option<&str>,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET permissions_boundary = $3 WHERE account = $1 AND lower(name) = lower($2)",
        owner_table(owner)
    );
    one_row(tx.execute(&sql, &[&account, &name, &boundary])?)
}

/// Adds or replaces an inline policy of an existing user or role.
pub(super) fn put_inline(tx: &mut Transaction<'_>, policy: &InlinePolicyRecord) -> Result<()> {
    if !exists(
        tx,
        owner_table(policy.owner),
        &policy.account,
        &policy.owner_name,
    )? {
        return Err(StoreError::NotFound);
    }
    insert_inline(tx, policy, "api")
}

/// Creates a managed policy with its versions.
pub(super) fn create_managed_policy(
    tx: &mut Transaction<'_>,
    policy: &ManagedPolicyRecord,
) -> Result<()> {
    insert_or_exists(tx.execute(
        "INSERT INTO iam_policies (account, name, path, unique_id, created_ms, \
         updated_ms, description, default_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &policy.account,
            &policy.name,
            &policy.path,
            &policy.unique_id,
            &policy.created_ms,
            &policy.updated_ms,
            &policy.description,
            &policy.default_version,
        ],
    ))?;
    for v in &policy.versions {
        tx.execute(
            "INSERT INTO iam_policy_versions (account, policy_name, version_id, \
             document, created_ms) VALUES ($1, $2, $3, $4, $5)",
            &[
                &policy.account,
                &policy.name,
                &v.version_id,
                &v.document,
                &v.created_ms,
            ],
        )?;
    }
    Ok(())
}

/// Deletes a managed policy that is attached to nothing.
pub(super) fn delete_managed_policy(
    tx: &mut Transaction<'_>,
    account: &str,
    name: &str,
    arn: &str,
) -> Result<()> {
    if !exists(tx, "iam_policies", account, name)? {
        return Err(StoreError::NotFound);
    }
    let attached: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = $1",
            &[&arn],
        )?
        .try_get(0)?;
    if attached > 0 {
        return Err(StoreError::Conflict("attachments"));
    }
    tx.execute(
        "DELETE FROM iam_policy_versions WHERE account = $1 AND lower(policy_name) = lower($2)",
        &[&account, &name],
    )?;
    one_row(tx.execute(
        "DELETE FROM iam_policies WHERE account = $1 AND lower(name) = lower($2)",
        &[&account, &name],
    )?)
}

/// Attaches a managed policy (idempotent) to an existing user or role.
pub(super) fn attach(tx: &mut Transaction<'_>, a: &AttachmentRecord) -> Result<()> {
    if !exists(tx, owner_table(a.owner), &a.account, &a.owner_name)? {
        return Err(StoreError::NotFound);
    }
    tx.execute(
        "INSERT INTO iam_attachments (account, owner_kind, owner_name, policy_arn) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&a.account, &a.owner.as_str(), &a.owner_name, &a.policy_arn],
    )?;
    Ok(())
}

pub(super) fn insert_session(tx: &mut Transaction<'_>, s: &SessionRecord<Vec<u8>>) -> Result<()> {
    insert_or_exists(tx.execute(
        "INSERT INTO iam_sessions (access_key_id, sealed_secret, account, role_name, \
         role_unique_id, session_name, created_ms, expires_ms, tags, session_policy, \
         policy_arns, source_arn) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &s.access_key_id,
            &s.secret,
            &s.account,
            &s.role_name,
            &s.role_unique_id,
            &s.session_name,
            &s.created_ms,
            &s.expires_ms,
            &to_json(&s.tags)?,
            &s.session_policy,
            &to_json(&s.policy_arns)?,
            &s.source_arn,
        ],
    ))
}
