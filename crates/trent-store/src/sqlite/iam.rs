//! The identity tables of the SQLite backend (records in [`crate::iam`]). Rows declared by the
//! configuration file carry `source = 'config'` and are replaced as a whole at every start;
//! rows created through the IAM and STS APIs carry `source = 'api'`.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, insert_or_exists};
use crate::iam::{
    AccessKeyKind, AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord,
    ManagedPolicyRecord, OwnerKind, PolicyVersionRecord, RoleRecord, SessionRecord, Tags,
    UserRecord,
};
use crate::{Result, StoreError};

fn tags_json(tags: &Tags) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_string())
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn one_row(n: usize) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn insert_user(tx: &Transaction<'_>, u: &UserRecord, source: &str, replace: bool) -> Result<()> {
    let verb = if replace {
        "INSERT OR REPLACE"
    } else {
        "INSERT"
    };
    insert_or_exists(tx.execute(
        &format!(
            "{verb} INTO iam_users (account, name, path, unique_id, created_ms, tags, source, \
             permissions_boundary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            u.account,
            u.name,
            u.path,
            u.unique_id,
            u.created_ms,
            tags_json(&u.tags),
            source,
            u.permissions_boundary
        ],
    ))
}

fn insert_role(tx: &Transaction<'_>, r: &RoleRecord, source: &str, replace: bool) -> Result<()> {
    let verb = if replace {
        "INSERT OR REPLACE"
    } else {
        "INSERT"
    };
    insert_or_exists(tx.execute(
        &format!(
            "{verb} INTO iam_roles (account, name, path, unique_id, created_ms, tags, \
             trust_policy, max_session_duration, description, source, permissions_boundary) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            r.account,
            r.name,
            r.path,
            r.unique_id,
            r.created_ms,
            tags_json(&r.tags),
            r.trust_policy,
            r.max_session_duration,
            r.description,
            source,
            r.permissions_boundary
        ],
    ))
}

fn insert_inline(tx: &Transaction<'_>, p: &InlinePolicyRecord, source: &str) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO iam_inline_policies \
         (account, owner_kind, owner_name, name, document, source) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            p.account,
            p.owner.as_str(),
            p.owner_name,
            p.name,
            p.document,
            source
        ],
    )?;
    Ok(())
}

fn insert_access_key(
    tx: &Transaction<'_>,
    k: &AccessKeyRecord<Vec<u8>>,
    source: &str,
    replace: bool,
) -> Result<()> {
    let verb = if replace {
        "INSERT OR REPLACE"
    } else {
        "INSERT"
    };
    insert_or_exists(tx.execute(
        &format!(
            "{verb} INTO iam_access_keys (access_key_id, account, kind, owner_name, \
             session_name, via_service, acts_for, sealed_secret, active, created_ms, source) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            k.access_key_id,
            k.account,
            k.kind.as_str(),
            k.owner_name,
            k.session_name,
            k.via_service,
            k.acts_for,
            k.secret,
            k.active,
            k.created_ms,
            source
        ],
    ))
}

fn exists(tx: &Transaction<'_>, table: &str, account: &str, name: &str) -> Result<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE account = ?1 AND name = ?2");
    Ok(tx
        .query_row(&sql, params![account, name], |_| Ok(()))
        .optional()?
        .is_some())
}

fn owner_table(owner: OwnerKind) -> &'static str {
    match owner {
        OwnerKind::User => "iam_users",
        OwnerKind::Role => "iam_roles",
    }
}

impl SqliteStore {
    /// Loads every identity (expired sessions included; the caller filters by time).
    pub(crate) fn load_iam(&self) -> Result<IamData<Vec<u8>>> {
        let conn = self.reader();
        let mut data = IamData::default();
        let mut s = conn.prepare("SELECT account FROM iam_accounts ORDER BY account")?;
        data.accounts = s
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut s = conn.prepare(
            "SELECT account, name, path, unique_id, created_ms, tags, permissions_boundary \
             FROM iam_users ORDER BY account, name",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                UserRecord {
                    account: r.get(0)?,
                    name: r.get(1)?,
                    path: r.get(2)?,
                    unique_id: r.get(3)?,
                    created_ms: r.get(4)?,
                    tags: Vec::new(),
                    permissions_boundary: r.get(6)?,
                },
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (mut u, tags) = row?;
            u.tags = parse_json("user tags", &tags)?;
            data.users.push(u);
        }
        let mut s = conn.prepare(
            "SELECT account, name, path, unique_id, created_ms, tags, trust_policy, \
             max_session_duration, description, permissions_boundary FROM iam_roles \
             ORDER BY account, name",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                RoleRecord {
                    account: r.get(0)?,
                    name: r.get(1)?,
                    path: r.get(2)?,
                    unique_id: r.get(3)?,
                    created_ms: r.get(4)?,
                    tags: Vec::new(),
                    trust_policy: r.get(6)?,
                    max_session_duration: r.get(7)?,
                    description: r.get(8)?,
                    permissions_boundary: r.get(9)?,
                },
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (mut role, tags) = row?;
            role.tags = parse_json("role tags", &tags)?;
            data.roles.push(role);
        }
        let mut s = conn.prepare(
            "SELECT account, name, path, unique_id, created_ms, updated_ms, description, \
             default_version FROM iam_policies ORDER BY account, name",
        )?;
        data.policies = s
            .query_map([], |r| {
                Ok(ManagedPolicyRecord {
                    account: r.get(0)?,
                    name: r.get(1)?,
                    path: r.get(2)?,
                    unique_id: r.get(3)?,
                    created_ms: r.get(4)?,
                    updated_ms: r.get(5)?,
                    description: r.get(6)?,
                    default_version: r.get(7)?,
                    versions: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut s = conn.prepare(
            "SELECT version_id, document, created_ms FROM iam_policy_versions \
             WHERE account = ?1 AND policy_name = ?2 ORDER BY created_ms, version_id",
        )?;
        for p in &mut data.policies {
            p.versions = s
                .query_map(params![p.account, p.name], |r| {
                    Ok(PolicyVersionRecord {
                        version_id: r.get(0)?,
                        document: r.get(1)?,
                        created_ms: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
        }
        let mut s = conn.prepare(
            "SELECT account, owner_kind, owner_name, name, document FROM iam_inline_policies \
             ORDER BY account, owner_kind, owner_name, name",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        for row in rows {
            let (account, owner, owner_name, name, document) = row?;
            data.inline_policies.push(InlinePolicyRecord {
                account,
                owner: OwnerKind::parse(&owner)?,
                owner_name,
                name,
                document,
            });
        }
        let mut s = conn.prepare(
            "SELECT account, owner_kind, owner_name, policy_arn FROM iam_attachments \
             ORDER BY account, owner_kind, owner_name, policy_arn",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (account, owner, owner_name, policy_arn) = row?;
            data.attachments.push(AttachmentRecord {
                account,
                owner: OwnerKind::parse(&owner)?,
                owner_name,
                policy_arn,
            });
        }
        let mut s = conn.prepare(
            "SELECT access_key_id, account, kind, owner_name, session_name, via_service, \
             acts_for, sealed_secret, active, created_ms FROM iam_access_keys \
             ORDER BY created_ms, access_key_id",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                r.get::<_, String>(2)?,
                AccessKeyRecord {
                    access_key_id: r.get(0)?,
                    account: r.get(1)?,
                    kind: AccessKeyKind::Root,
                    owner_name: r.get(3)?,
                    session_name: r.get(4)?,
                    via_service: r.get(5)?,
                    acts_for: r.get(6)?,
                    secret: r.get(7)?,
                    active: r.get(8)?,
                    created_ms: r.get(9)?,
                },
            ))
        })?;
        for row in rows {
            let (kind, mut k) = row?;
            k.kind = AccessKeyKind::parse(&kind)?;
            data.access_keys.push(k);
        }
        let mut s = conn.prepare(
            "SELECT access_key_id, sealed_secret, account, role_name, role_unique_id, \
             session_name, created_ms, expires_ms, tags, session_policy, policy_arns, source_arn \
             FROM iam_sessions ORDER BY created_ms, access_key_id",
        )?;
        let rows = s.query_map([], |r| {
            Ok((
                SessionRecord {
                    access_key_id: r.get(0)?,
                    secret: r.get(1)?,
                    account: r.get(2)?,
                    role_name: r.get(3)?,
                    role_unique_id: r.get(4)?,
                    session_name: r.get(5)?,
                    created_ms: r.get(6)?,
                    expires_ms: r.get(7)?,
                    tags: Vec::new(),
                    session_policy: r.get(9)?,
                    policy_arns: Vec::new(),
                    source_arn: r.get(11)?,
                },
                r.get::<_, String>(8)?,
                r.get::<_, String>(10)?,
            ))
        })?;
        for row in rows {
            let (mut session, tags, arns) = row?;
            session.tags = parse_json("session tags", &tags)?;
            session.policy_arns = parse_json("session policy ARNs", &arns)?;
            data.sessions.push(session);
        }
        Ok(data)
    }

    /// Replaces every identity the configuration file declared with `data` (whose secrets are
    /// sealed), in one transaction. A configuration identity wins over an API-created one of the
    /// same name. Managed policies, attachments and sessions are not part of the configuration.
    pub(crate) fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()> {
        self.write(|tx| {
            for table in [
                "iam_accounts",
                "iam_users",
                "iam_roles",
                "iam_inline_policies",
                "iam_access_keys",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE source = 'config'"), [])?;
            }
            for a in &data.accounts {
                tx.execute(
                    "INSERT OR REPLACE INTO iam_accounts (account, source) VALUES (?1, 'config')",
                    params![a],
                )?;
            }
            for u in &data.users {
                insert_user(tx, u, "config", true)?;
            }
            for r in &data.roles {
                insert_role(tx, r, "config", true)?;
            }
            for p in &data.inline_policies {
                insert_inline(tx, p, "config")?;
            }
            for k in &data.access_keys {
                insert_access_key(tx, k, "config", true)?;
            }
            Ok(())
        })
    }

    pub(crate) fn create_iam_user(&self, user: &UserRecord) -> Result<()> {
        self.write(|tx| insert_user(tx, user, "api", false))
    }

    /// Deletes a user that has no policies, attachments or access keys left
    /// (`Conflict` otherwise, naming what is left).
    pub(crate) fn delete_iam_user(&self, account: &str, name: &str) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, "iam_users", account, name)? {
                return Err(StoreError::NotFound);
            }
            let count = |sql: &str| -> Result<i64> {
                Ok(tx.query_row(sql, params![account, name], |r| r.get(0))?)
            };
            if count(
                "SELECT COUNT(*) FROM iam_inline_policies \
                 WHERE account = ?1 AND owner_kind = 'user' AND owner_name = ?2",
            )? + count(
                "SELECT COUNT(*) FROM iam_attachments \
                 WHERE account = ?1 AND owner_kind = 'user' AND owner_name = ?2",
            )? > 0
            {
                return Err(StoreError::Conflict("policies"));
            }
            if count(
                "SELECT COUNT(*) FROM iam_access_keys \
                 WHERE account = ?1 AND kind = 'user' AND owner_name = ?2",
            )? > 0
            {
                return Err(StoreError::Conflict("access keys"));
            }
            one_row(tx.execute(
                "DELETE FROM iam_users WHERE account = ?1 AND name = ?2",
                params![account, name],
            )?)
        })
    }

    pub(crate) fn create_iam_role(&self, role: &RoleRecord) -> Result<()> {
        self.write(|tx| insert_role(tx, role, "api", false))
    }

    /// Deletes a role that has no policies left, with its sessions.
    pub(crate) fn delete_iam_role(&self, account: &str, name: &str) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, "iam_roles", account, name)? {
                return Err(StoreError::NotFound);
            }
            let left: i64 = tx.query_row(
                "SELECT (SELECT COUNT(*) FROM iam_inline_policies \
                   WHERE account = ?1 AND owner_kind = 'role' AND owner_name = ?2) + \
                 (SELECT COUNT(*) FROM iam_attachments \
                   WHERE account = ?1 AND owner_kind = 'role' AND owner_name = ?2)",
                params![account, name],
                |r| r.get(0),
            )?;
            if left > 0 {
                return Err(StoreError::Conflict("policies"));
            }
            tx.execute(
                "DELETE FROM iam_sessions WHERE account = ?1 AND role_name = ?2",
                params![account, name],
            )?;
            tx.execute(
                "DELETE FROM iam_access_keys WHERE account = ?1 AND kind = 'role-session' \
                 AND owner_name = ?2",
                params![account, name],
            )?;
            one_row(tx.execute(
                "DELETE FROM iam_roles WHERE account = ?1 AND name = ?2",
                params![account, name],
            )?)
        })
    }

    pub(crate) fn update_role_trust_policy(
        &self,
        account: &str,
        name: &str,
        document: &str,
    ) -> Result<()> {
        self.write(|tx| {
            one_row(tx.execute(
                "UPDATE iam_roles SET trust_policy = ?3 WHERE account = ?1 AND name = ?2",
                params![account, name, document],
            )?)
        })
    }

    /// Replaces the tags of a user or role (the caller merged them).
    pub(crate) fn set_iam_tags(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        tags: &Tags,
    ) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "UPDATE {} SET tags = ?3 WHERE account = ?1 AND name = ?2",
                owner_table(owner)
            );
            one_row(tx.execute(&sql, params![account, name, tags_json(tags)])?)
        })
    }

    pub(crate) fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "UPDATE {} SET permissions_boundary = ?3 WHERE account = ?1 AND name = ?2",
                owner_table(owner)
            );
            one_row(tx.execute(&sql, params![account, name, boundary])?)
        })
    }

    /// Adds or replaces an inline policy of an existing user or role.
    pub(crate) fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()> {
        self.write(|tx| {
            if !exists(
                tx,
                owner_table(policy.owner),
                &policy.account,
                &policy.owner_name,
            )? {
                return Err(StoreError::NotFound);
            }
            insert_inline(tx, policy, "api")
        })
    }

    pub(crate) fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()> {
        self.write(|tx| {
            one_row(tx.execute(
                "DELETE FROM iam_inline_policies WHERE account = ?1 AND owner_kind = ?2 \
                 AND owner_name = ?3 AND name = ?4",
                params![account, owner.as_str(), owner_name, name],
            )?)
        })
    }

    /// Creates a managed policy with its versions.
    pub(crate) fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write(|tx| {
            insert_or_exists(tx.execute(
                "INSERT INTO iam_policies (account, name, path, unique_id, created_ms, \
                 updated_ms, description, default_version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    policy.account,
                    policy.name,
                    policy.path,
                    policy.unique_id,
                    policy.created_ms,
                    policy.updated_ms,
                    policy.description,
                    policy.default_version
                ],
            ))?;
            for v in &policy.versions {
                tx.execute(
                    "INSERT INTO iam_policy_versions (account, policy_name, version_id, \
                     document, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        policy.account,
                        policy.name,
                        v.version_id,
                        v.document,
                        v.created_ms
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Deletes a managed policy that is attached to nothing.
    pub(crate) fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, "iam_policies", account, name)? {
                return Err(StoreError::NotFound);
            }
            let attached: i64 = tx.query_row(
                "SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = ?1",
                params![arn],
                |r| r.get(0),
            )?;
            if attached > 0 {
                return Err(StoreError::Conflict("attachments"));
            }
            tx.execute(
                "DELETE FROM iam_policy_versions WHERE account = ?1 AND policy_name = ?2",
                params![account, name],
            )?;
            one_row(tx.execute(
                "DELETE FROM iam_policies WHERE account = ?1 AND name = ?2",
                params![account, name],
            )?)
        })
    }

    /// Attaches a managed policy (idempotent) to an existing user or role.
    pub(crate) fn attach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, owner_table(a.owner), &a.account, &a.owner_name)? {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT OR IGNORE INTO iam_attachments (account, owner_kind, owner_name, \
                 policy_arn) VALUES (?1, ?2, ?3, ?4)",
                params![a.account, a.owner.as_str(), a.owner_name, a.policy_arn],
            )?;
            Ok(())
        })
    }

    pub(crate) fn detach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write(|tx| {
            one_row(tx.execute(
                "DELETE FROM iam_attachments WHERE account = ?1 AND owner_kind = ?2 \
                 AND owner_name = ?3 AND policy_arn = ?4",
                params![a.account, a.owner.as_str(), a.owner_name, a.policy_arn],
            )?)
        })
    }

    pub(crate) fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()> {
        self.write(|tx| insert_access_key(tx, key, "api", false))
    }

    /// Deletes an access key of user `owner_name` (of the root user when `owner_name` is empty).
    pub(crate) fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()> {
        self.write(|tx| {
            let kind = if owner_name.is_empty() {
                "root"
            } else {
                "user"
            };
            one_row(tx.execute(
                "DELETE FROM iam_access_keys WHERE access_key_id = ?1 AND account = ?2 \
                 AND kind = ?3 AND owner_name = ?4",
                params![access_key_id, account, kind, owner_name],
            )?)
        })
    }

    pub(crate) fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()> {
        self.write(|tx| {
            insert_or_exists(tx.execute(
                "INSERT INTO iam_sessions (access_key_id, sealed_secret, account, role_name, \
                 role_unique_id, session_name, created_ms, expires_ms, tags, session_policy, \
                 policy_arns, source_arn) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    s.access_key_id,
                    s.secret,
                    s.account,
                    s.role_name,
                    s.role_unique_id,
                    s.session_name,
                    s.created_ms,
                    s.expires_ms,
                    tags_json(&s.tags),
                    s.session_policy,
                    serde_json::to_string(&s.policy_arns).unwrap_or_else(|_| "[]".into()),
                    s.source_arn
                ],
            ))
        })
    }

    /// Forgets sessions that expired before `before_ms`. Returns how many.
    pub(crate) fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM iam_sessions WHERE expires_ms < ?1",
                params![before_ms],
            )?)
        })
    }
}
