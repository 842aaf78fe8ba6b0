//! `trent.toml`: accounts, users, roles and their access keys, and the seed file's keys
//! (`[[accounts.keys]]`). Precedence of settings: defaults < config file < environment
//! (`TRENT_*`) < command-line flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
#[cfg(test)]
use trent_kms::Directory;
use trent_kms::iam::PlainIdentities;
use trent_kms::iam_store::{
    AccessKeyKind, AccessKeyRecord, InlinePolicyRecord, OwnerKind, RoleRecord, UserRecord,
};
use trent_policy::{Policy, PolicyKind};

/// The well-known development credentials (as LocalStack users already have them).
pub const DEV_ACCESS_KEY_ID: &str = "test";
pub const DEV_SECRET_ACCESS_KEY: &str = "test";
pub const DEV_ACCOUNT: &str = "000000000000";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL URL (`trent serve --database`).
    pub database: Option<String>,
    /// Accept `test`/`test` as the root of account 000000000000. Defaults to true when the
    /// config declares no accounts, false otherwise.
    pub dev_credentials: Option<bool>,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// AWS services that call KMS on a principal's behalf (kms:ViaService).
    #[serde(default)]
    pub service_callers: Vec<ServiceCallerConfig>,
    /// Schedule the deletion of keys an earlier start seeded and the file no longer declares
    /// (see `trent_kms::seed`). Off: they are left alone. `prune` is accepted as well.
    #[serde(default, alias = "prune")]
    pub prune_keys: bool,
}

/// A key of the seed file (`[[accounts.keys]]`), in the account that encloses it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub key_id: String,
    /// Trent has no default Region (requests name theirs), so every key names its own.
    pub region: String,
    pub key_spec: Option<String>,
    pub key_usage: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The key policy; by default the default key policy, as CreateKey gives it.
    pub policy: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub rotation: Option<RotationConfig>,
    /// Base64 of the key material to import (symmetric keys only); never logged.
    pub material: Option<String>,
    #[serde(default)]
    pub grants: Vec<GrantConfig>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationConfig {
    pub enabled: bool,
    /// Days between automatic rotations (90 to 2560; default 365).
    pub period_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// What identifies the grant on its key (CreateGrant's `Name`).
    pub name: String,
    pub grantee_principal: Option<String>,
    pub grantee_service_principal: Option<String>,
    pub retiring_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
    pub operations: Vec<String>,
    pub constraints: Option<ConstraintsConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsConfig {
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    pub source_arn: Option<String>,
}

/// An access key with which an AWS service (e.g. `lambda.amazonaws.com`) acts for a principal:
/// requests signed with it are the principal's, made through the service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCallerConfig {
    pub service: String,
    /// The ARN of a principal declared in this config (user, role session, or account root).
    pub acts_for: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKeyConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub name: String,
    pub document: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    /// Access keys of the account's root user.
    #[serde(default)]
    pub access_keys: Vec<AccessKeyConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub roles: Vec<RoleConfig>,
    /// Keys seeded at start (see `trent_kms::seed`).
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub access_keys: Vec<AccessKeyConfig>,
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    pub name: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub trust_policy: Option<String>,
    /// Longest session AssumeRole may grant, in seconds (3600 to 43200; default 3600).
    pub max_session_duration: Option<i64>,
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// Long-lived sessions of this role with fixed credentials, for development and tests
    /// (normally sessions come from STS AssumeRole).
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    pub name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn root_path() -> String {
    "/".to_string()
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// The seed file's keys, checked on their own (the shape of every entry; the checks that
    /// need the store and the identities come when the seed is applied).
    pub fn seed(&self) -> Result<trent_kms::seed::Seed, ConfigError> {
        let mut seed = trent_kms::seed::Seed {
            keys: Vec::new(),
            prune: self.prune_keys,
        };
        for account in &self.accounts {
            for key in &account.keys {
                let rotation_period_days = match &key.rotation {
                    None
                    | Some(RotationConfig {
                        enabled: false,
                        period_days: None,
                    }) => None,
                    Some(RotationConfig { enabled: false, .. }) => {
                        return Err(ConfigError::Invalid(format!(
                            "seed key {} (account {}, {}): rotation: period_days needs \
                             enabled = true",
                            key.key_id, account.id, key.region
                        )));
                    }
                    Some(RotationConfig {
                        enabled: true,
                        period_days,
                    }) => {
                        Some(period_days.unwrap_or(trent_kms::seed::DEFAULT_ROTATION_PERIOD_DAYS))
                    }
                };
                seed.keys.push(trent_kms::seed::SeedKey {
                    account: account.id.clone(),
                    region: key.region.clone(),
                    key_id: key.key_id.clone(),
                    key_spec: key.key_spec.clone(),
                    key_usage: key.key_usage.clone(),
                    description: key.description.clone(),
                    policy: key.policy.clone(),
                    aliases: key.aliases.clone(),
                    tags: key.tags.clone(),
                    enabled: key.enabled,
                    rotation_period_days,
                    material: key.material.clone(),
                    grants: key
                        .grants
                        .iter()
                        .map(|g| trent_kms::seed::SeedGrant {
                            name: g.name.clone(),
                            grantee_principal: g.grantee_principal.clone(),
                            grantee_service_principal: g.grantee_service_principal.clone(),
                            retiring_principal: g.retiring_principal.clone(),
                            retiring_service_principal: g.retiring_service_principal.clone(),
                            operations: g.operations.clone(),
                            constraints: g.constraints.as_ref().map(|c| {
                                trent_kms::authz::GrantConstraints {
                                    encryption_context_equals: c.encryption_context_equals.clone(),
                                    encryption_context_subset: c.encryption_context_subset.clone(),
                                    source_arn: c.source_arn.clone(),
                                }
                            }),
                        })
                        .collect(),
                });
            }
        }
        seed.check()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(seed)
    }

    pub fn dev_credentials_enabled(&self) -> bool {
        self.dev_credentials.unwrap_or(self.accounts.is_empty())
    }

    /// Builds the identity directory, refusing duplicate access keys and malformed accounts.
    #[cfg(test)]
    pub fn directory(&self) -> Result<Directory, ConfigError> {
        Ok(trent_kms::iam::build_directory(&self.identities()?, 0))
    }

    /// The identities this config declares (secrets in plaintext: the service seals them before
    /// they reach the store), refusing duplicate access keys, malformed accounts and policies
    /// that do not parse.
    pub fn identities(&self) -> Result<PlainIdentities, ConfigError> {
        let mut data = PlainIdentities::default();
        // ARNs of the principals with credentials (service callers may act for them).
        let mut principals = std::collections::HashSet::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |data: &mut PlainIdentities,
                       key: &AccessKeyConfig,
                       account: &str,
                       kind: AccessKeyKind,
                       owner: &str,
                       session: Option<&str>|
         -> Result<(), ConfigError> {
            if !seen.insert(key.access_key_id.clone()) {
                return Err(ConfigError::Invalid(format!(
                    "access key {} is declared twice",
                    key.access_key_id
                )));
            }
            data.access_keys.push(AccessKeyRecord {
                access_key_id: key.access_key_id.clone(),
                account: account.to_string(),
                kind,
                owner_name: owner.to_string(),
                session_name: session.map(str::to_string),
                via_service: None,
                acts_for: None,
                secret: trent_kms::identity::SecretKey::new(&key.secret_access_key),
                active: true,
                created_ms: 0,
            });
            Ok(())
        };
        if self.dev_credentials_enabled() {
            principals.insert(format!("arn:aws:iam::{DEV_ACCOUNT}:root"));
            add(
                &mut data,
                &AccessKeyConfig {
                    access_key_id: DEV_ACCESS_KEY_ID.into(),
                    secret_access_key: DEV_SECRET_ACCESS_KEY.into(),
                },
                DEV_ACCOUNT,
                AccessKeyKind::Root,
                "",
                None,
            )?;
            data.accounts.push(DEV_ACCOUNT.to_string());
        }
        for account in &self.accounts {
            let id = &account.id;
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid(format!(
                    "account id {id:?} must be 12 digits"
                )));
            }
            if !data.accounts.contains(id) {
                data.accounts.push(id.clone());
            }
            if !account.access_keys.is_empty() {
                principals.insert(format!("arn:aws:iam::{id}:root"));
            }
            for key in &account.access_keys {
                add(&mut data, key, id, AccessKeyKind::Root, "", None)?;
            }
            for user in &account.users {
                check_path(&user.path)?;
                if !user.access_keys.is_empty() {
                    principals.insert(format!("arn:aws:iam::{id}:user{}{}", user.path, user.name));
                }
                data.users.push(UserRecord {
                    account: id.clone(),
                    name: user.name.clone(),
                    path: user.path.clone(),
                    unique_id: stable_unique_id("AIDA", id, &user.name),
                    created_ms: 0,
                    tags: user.tags.clone().into_iter().collect(),
                    permissions_boundary: None,
                });
                for policy in &user.policies {
                    inline(&mut data, id, OwnerKind::User, &user.name, policy)?;
                }
                for key in &user.access_keys {
                    add(&mut data, key, id, AccessKeyKind::User, &user.name, None)?;
                }
            }
            for role in &account.roles {
                check_path(&role.path)?;
                if let Some(trust) = &role.trust_policy {
                    Policy::parse(trust, PolicyKind::TrustPolicy).map_err(|e| {
                        ConfigError::Invalid(format!("trust policy of role {}: {e}", role.name))
                    })?;
                }
                data.roles.push(RoleRecord {
                    account: id.clone(),
                    name: role.name.clone(),
                    path: role.path.clone(),
                    unique_id: stable_unique_id("AROA", id, &role.name),
                    created_ms: 0,
                    tags: role.tags.clone().into_iter().collect(),
                    trust_policy: role.trust_policy.clone(),
                    max_session_duration: role.max_session_duration.unwrap_or(3600),
                    description: None,
                    permissions_boundary: None,
                });
                for policy in &role.policies {
                    inline(&mut data, id, OwnerKind::Role, &role.name, policy)?;
                }
                for session in &role.sessions {
                    principals.insert(format!(
                        "arn:aws:sts::{id}:assumed-role/{}/{}",
                        role.name, session.name
                    ));
                    add(
                        &mut data,
                        &AccessKeyConfig {
                            access_key_id: session.access_key_id.clone(),
                            secret_access_key: session.secret_access_key.clone(),
                        },
                        id,
                        AccessKeyKind::RoleSession,
                        &role.name,
                        Some(&session.name),
                    )?;
                }
            }
        }
        for sc in &self.service_callers {
            if !principals.contains(&sc.acts_for) {
                return Err(ConfigError::Invalid(format!(
                    "service caller {}: acts_for {} is not a principal declared in this config",
                    sc.service, sc.acts_for
                )));
            }
            let account = sc
                .acts_for
                .split(':')
                .nth(4)
                .unwrap_or_default()
                .to_string();
            add(
                &mut data,
                &AccessKeyConfig {
                    access_key_id: sc.access_key_id.clone(),
                    secret_access_key: sc.secret_access_key.clone(),
                },
                &account,
                AccessKeyKind::Service,
                "",
                None,
            )?;
            if let Some(k) = data.access_keys.last_mut() {
                k.via_service = Some(sc.service.clone());
                k.acts_for = Some(sc.acts_for.clone());
            }
        }
        Ok(data)
    }
}

fn check_path(path: &str) -> Result<(), ConfigError> {
    if path.starts_with('/') && path.ends_with('/') {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "path {path:?} must begin and end with /"
        )))
    }
}

fn inline(
    data: &mut PlainIdentities,
    account: &str,
    owner: OwnerKind,
    owner_name: &str,
    policy: &PolicyConfig,
) -> Result<(), ConfigError> {
    Policy::parse(&policy.document, PolicyKind::IdentityPolicy).map_err(|e| {
        ConfigError::Invalid(format!(
            "policy {:?} of {} {owner_name}: {e}",
            policy.name,
            owner.as_str()
        ))
    })?;
    data.inline_policies.push(InlinePolicyRecord {
        account: account.to_string(),
        owner,
        owner_name: owner_name.to_string(),
        name: policy.name.clone(),
        document: policy.document.clone(),
    });
    Ok(())
}

/// A unique ID in IAM's shape (prefix + 17 upper-case alphanumerics) that stays the same across
/// restarts for a config-declared identity. Not a secret; FNV-1a is enough to spread it.
fn stable_unique_id(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in account.bytes().chain([0]).chain(name.bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let mut id = String::from(prefix);
    for _ in 0..17 {
        id.push(char::from(ALPHABET[(h % 32) as usize]));
        h /= 32;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_credentials_default_and_identities() {
        let c: Config = toml::from_str("").unwrap();
        assert!(c.dev_credentials_enabled());
        let c: Config = toml::from_str(
            r#"
            [[accounts]]
            id = "111122223333"
            access_keys = [{ access_key_id = "AKIAROOT", secret_access_key = "s" }]
            [[accounts.users]]
            name = "alice"
            path = "/eng/"
            access_keys = [{ access_key_id = "AKIAALICE", secret_access_key = "s" }]
            [[accounts.roles]]
            name = "R"
            sessions = [{ name = "s", access_key_id = "ASIAR", secret_access_key = "s" }]
            "#,
        )
        .unwrap();
        assert!(!c.dev_credentials_enabled());
        let d = c.directory().unwrap();
        assert!(d.access_key("test").is_none());
        assert_eq!(
            d.access_key("AKIAALICE").unwrap().principal.arn,
            "arn:aws:iam::111122223333:user/eng/alice"
        );
        let s = &d.access_key("ASIAR").unwrap().principal;
        assert_eq!(s.arn, "arn:aws:sts::111122223333:assumed-role/R/s");
        assert_eq!(s.principal_arn(), "arn:aws:iam::111122223333:role/R");
        assert!(s.unique_id.starts_with("AROA") && s.unique_id.ends_with(":s"));
    }

    #[test]
    fn rejects_duplicates_and_bad_accounts() {
        let c: Config = toml::from_str(
            r#"
            dev_credentials = true
            [[accounts]]
            id = "111122223333"
            access_keys = [{ access_key_id = "test", secret_access_key = "x" }]
            "#,
        )
        .unwrap();
        assert!(c.directory().is_err());
        let c: Config = toml::from_str("[[accounts]]\nid = \"12\"").unwrap();
        assert!(c.directory().is_err());
        assert!(toml::from_str::<Config>("listen_on = 1").is_err());
    }

    #[test]
    fn prune_is_another_name_for_prune_keys() {
        for text in ["prune = true", "prune_keys = true"] {
            let c: Config = toml::from_str(text).unwrap();
            assert!(c.prune_keys, "{text}");
        }
        assert!(!toml::from_str::<Config>("").unwrap().prune_keys);
    }
}
