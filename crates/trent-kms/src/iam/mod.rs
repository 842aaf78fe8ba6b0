//! Identities over the store: the current [`Directory`] snapshot, built from the stored
//! identities (config-file ones and API-created ones alike) and replaced after every change.
//!
//! The snapshot is what SigV4 verification and the authorizer read: one lock-free-ish `Arc`
//! clone per request, no database read for a known principal.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use trent_policy::{Policy, PolicyKind};
use trent_store::iam::{AccessKeyKind, IamData, OwnerKind, RoleRecord, SessionRecord, UserRecord};

use crate::error::{KmsError, KmsResult};
use crate::identity::{Directory, NamedPolicy, Principal, PrincipalKind, SessionCredential};
use crate::service::Kms;

mod access_keys;
pub mod action;
pub mod api;
mod boundaries;
mod entities;
pub mod ids;
mod policies;
pub mod query;
mod render;
mod request;
mod sts;
pub mod wire;

pub use action::QueryAction;
pub use api::QueryOutcome;
pub use query::{Params, QueryService};
pub use wire::{IamError, IamResult, Xml};

/// Sessions are kept this long after they expire (a request with them is answered
/// `ExpiredTokenException`, not "unknown key"); then they are forgotten.
const EXPIRED_SESSION_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Plaintext secrets of an STS session, zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret {
    pub secret: zeroize::Zeroizing<String>,
    pub token: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// Identities with plaintext secrets (access-key secrets; session secrets and tokens), each
/// zeroed when dropped.
pub type PlainIdentities = IamData<crate::identity::SecretKey>;

pub fn user_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user{path}{name}")
}

pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

pub fn user_principal(u: &UserRecord) -> Principal {
    Principal {
        account: u.account.clone(),
        arn: user_arn(&u.account, &u.path, &u.name),
        kind: PrincipalKind::User {
            name: u.name.clone(),
            path: u.path.clone(),
        },
        unique_id: u.unique_id.clone(),
        tags: u.tags.iter().cloned().collect(),
    }
}

pub fn session_principal(
    role: &RoleRecord,
    session_name: &str,
    session_tags: &[(String, String)],
) -> Principal {
    let mut tags: BTreeMap<String, String> = role.tags.iter().cloned().collect();
    // Session tags override role tags of the same key.
    tags.extend(session_tags.iter().cloned());
    Principal {
        account: role.account.clone(),
        arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.name
        ),
        kind: PrincipalKind::AssumedRole {
            role_arn: role_arn(&role.account, &role.path, &role.name),
            role_name: role.name.clone(),
            session_name: session_name.to_string(),
        },
        unique_id: format!("{}:{session_name}", role.unique_id),
        tags,
    }
}

fn parse_identity_policy(name: &str, document: &str) -> Option<NamedPolicy> {
    match Policy::parse(document, PolicyKind::IdentityPolicy) {
        Ok(p) => Some(NamedPolicy {
            name: name.to_string(),
            document: document.to_string(),
            policy: Arc::new(p),
        }),
        Err(e) => {
            // Stored documents were validated when written; a document that no longer parses
            // grants nothing.
            tracing::warn!(policy = name, error = %e, "stored identity policy does not parse");
            None
        }
    }
}

/// The path of service-linked roles.
pub const SERVICE_LINKED_ROLE_PATH: &str = "/aws-service-role/";

/// The permissions boundary a user or role names by ARN: the managed policy's default version,
/// or, if that policy no longer exists or no longer parses, a policy that allows nothing (a
/// boundary fails closed).
fn boundary_policy(arn: &str, managed: &HashMap<String, (&str, &str)>) -> NamedPolicy {
    managed
        .get(arn)
        .and_then(|(name, document)| parse_identity_policy(name, document))
        .unwrap_or_else(|| NamedPolicy {
            name: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            document: String::new(),
            policy: Arc::new(Policy::empty(PolicyKind::IdentityPolicy)),
        })
}

/// Builds the directory from stored identities with plaintext secrets. Sessions that expired
/// more than a day before `now_ms` and sessions of deleted roles are left out.
pub fn build_directory(data: &PlainIdentities, now_ms: i64) -> Directory {
    let mut dir = Directory::new();
    for a in &data.accounts {
        dir.add_account(a);
    }
    let key = |account: &str, name: &str| (account.to_string(), name.to_ascii_lowercase());
    let users: HashMap<_, _> = data
        .users
        .iter()
        .map(|u| (key(&u.account, &u.name), u))
        .collect();
    let roles: HashMap<_, _> = data
        .roles
        .iter()
        .map(|r| (key(&r.account, &r.name), r))
        .collect();
    let managed: HashMap<String, (&str, &str)> = data
        .policies
        .iter()
        .filter_map(|p| {
            let v = p
                .versions
                .iter()
                .find(|v| v.version_id == p.default_version)?;
            Some((p.arn(), (p.name.as_str(), v.document.as_str())))
        })
        .collect();
    let owner_arn = |account: &str, owner: OwnerKind, name: &str| -> Option<String> {
        match owner {
            OwnerKind::User => users
                .get(&key(account, name))
                .map(|u| user_arn(&u.account, &u.path, &u.name)),
            OwnerKind::Role => roles
                .get(&key(account, name))
                .map(|r| role_arn(&r.account, &r.path, &r.name)),
        }
    };
    for u in &data.users {
        let arn = user_arn(&u.account, &u.path, &u.name);
        dir.add_principal(&arn);
        dir.set_unique_id(&arn, &u.unique_id);
        if let Some(boundary) = &u.permissions_boundary {
            dir.set_permissions_boundary(&arn, boundary_policy(boundary, &managed));
        }
    }
    for r in &data.roles {
        let arn = role_arn(&r.account, &r.path, &r.name);
        dir.add_principal(&arn);
        dir.set_unique_id(&arn, &r.unique_id);
        if let Some(trust) = &r.trust_policy {
            dir.set_trust_policy(&arn, trust);
        }
        // Service-linked roles are exempt from permissions boundaries (IAM refuses to set one;
        // an imported one would not apply).
        if let Some(boundary) = &r.permissions_boundary
            && !r.path.starts_with(SERVICE_LINKED_ROLE_PATH)
        {
            dir.set_permissions_boundary(&arn, boundary_policy(boundary, &managed));
        }
    }
    for p in &data.inline_policies {
        let Some(owner) = owner_arn(&p.account, p.owner, &p.owner_name) else {
            continue;
        };
        if let Some(named) = parse_identity_policy(&p.name, &p.document) {
            dir.push_identity_policy(&owner, named);
        }
    }
    for a in &data.attachments {
        let Some(owner) = owner_arn(&a.account, a.owner, &a.owner_name) else {
            continue;
        };
        let Some((name, document)) = managed.get(&a.policy_arn) else {
            continue;
        };
        if let Some(named) = parse_identity_policy(name, document) {
            dir.push_identity_policy(&owner, named);
        }
    }
    let mut services = Vec::new();
    for k in &data.access_keys {
        let principal = match k.kind {
            AccessKeyKind::Root => Some(Principal::root(&k.account)),
            AccessKeyKind::User => users
                .get(&key(&k.account, &k.owner_name))
                .map(|u| user_principal(u)),
            AccessKeyKind::RoleSession => roles
                .get(&key(&k.account, &k.owner_name))
                .map(|r| session_principal(r, k.session_name.as_deref().unwrap_or_default(), &[])),
            AccessKeyKind::Service => {
                services.push(k);
                None
            }
        };
        if let Some(p) = principal {
            dir.add_access_key(&k.access_key_id, k.secret.expose(), p);
            if !k.active {
                dir.deactivate_access_key(&k.access_key_id);
            }
        }
    }
    for k in services {
        let (Some(service), Some(acts_for)) = (&k.via_service, &k.acts_for) else {
            continue;
        };
        if let Some(p) = dir.principal_by_arn(acts_for).cloned() {
            dir.add_service_access_key(&k.access_key_id, k.secret.expose(), service, p);
        }
    }
    for s in &data.sessions {
        if s.expires_ms + EXPIRED_SESSION_RETENTION_MS < now_ms {
            continue;
        }
        let Some(role) = roles
            .get(&key(&s.account, &s.role_name))
            .filter(|r| r.unique_id == s.role_unique_id)
        else {
            continue;
        };
        let Some(plain) = decode_session_secret(s.secret.expose()) else {
            continue;
        };
        add_session(&mut dir, s, role, &plain, &managed);
    }
    dir.iam = Arc::new(strip_secrets(data));
    dir
}

/// Adds the temporary credentials of one session to `dir`.
fn add_session(
    dir: &mut Directory,
    s: &SessionRecord<crate::identity::SecretKey>,
    role: &RoleRecord,
    plain: &SessionSecret,
    managed: &HashMap<String, (&str, &str)>,
) {
    let principal = session_principal(role, &s.session_name, &s.tags);
    let policies = if s.session_policy.is_none() && s.policy_arns.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        if let Some(doc) = &s.session_policy {
            v.extend(parse_identity_policy("SessionPolicy", doc));
        }
        for arn in &s.policy_arns {
            // A managed session policy deleted since grants nothing.
            if let Some((name, doc)) = managed.get(arn) {
                v.extend(parse_identity_policy(name, doc));
            }
        }
        Some(v)
    };
    dir.add_session_key(
        &s.access_key_id,
        &plain.secret,
        principal,
        SessionCredential {
            token: crate::identity::SecretKey::new(&plain.token),
            expires_ms: s.expires_ms,
            policies,
            chained: s.source_arn.starts_with("arn:aws:sts::"),
        },
    );
}

/// Session secrets are stored as `secret \n token`, sealed together.
fn decode_session_secret(s: &str) -> Option<SessionSecret> {
    let (secret, token) = s.split_once('\n')?;
    Some(SessionSecret {
        secret: zeroize::Zeroizing::new(secret.to_string()),
        token: zeroize::Zeroizing::new(token.to_string()),
    })
}

fn strip_secrets(data: &PlainIdentities) -> IamData<()> {
    IamData {
        accounts: data.accounts.clone(),
        users: data.users.clone(),
        roles: data.roles.clone(),
        policies: data.policies.clone(),
        inline_policies: data.inline_policies.clone(),
        attachments: data.attachments.clone(),
        access_keys: data
            .access_keys
            .iter()
            .map(|k| trent_store::iam::AccessKeyRecord {
                access_key_id: k.access_key_id.clone(),
                account: k.account.clone(),
                kind: k.kind,
                owner_name: k.owner_name.clone(),
                session_name: k.session_name.clone(),
                via_service: k.via_service.clone(),
                acts_for: k.acts_for.clone(),
                secret: (),
                active: k.active,
                created_ms: k.created_ms,
            })
            .collect(),
        // Sessions are not listed by the IAM API.
        sessions: Vec::new(),
    }
}

fn secret_aad(access_key_id: &str) -> Vec<u8> {
    format!("trent-iam-secret:{access_key_id}").into_bytes()
}

impl Kms {
    /// The current identities.
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.get()
    }

    /// The service's clock (milliseconds since the epoch): session expiry is judged by it.
    pub fn clock_ms(&self) -> i64 {
        self.now_ms()
    }

    pub(crate) fn seal_secret(&self, access_key_id: &str, secret: &str) -> KmsResult<Vec<u8>> {
        self.root_key
            .seal(secret.as_bytes(), &secret_aad(access_key_id))
            .map_err(KmsError::internal)
    }

    fn unseal_secret(
        &self,
        access_key_id: &str,
        sealed: &[u8],
    ) -> KmsResult<crate::identity::SecretKey> {
        let plain = self
            .root_key
            .unseal(sealed, &secret_aad(access_key_id))
            .map_err(|_| {
                KmsError::internal(format!(
                    "the stored secret of access key {access_key_id} does not unseal"
                ))
            })?;
        // Read in place: the unsealed bytes are zeroed when dropped, and so is the copy.
        let text = std::str::from_utf8(&plain).map_err(|_| {
            KmsError::internal(format!(
                "the stored secret of access key {access_key_id} is not text"
            ))
        })?;
        Ok(crate::identity::SecretKey::new(text))
    }

    /// Replaces the identities declared by the configuration file (secrets in plaintext; they
    /// are sealed here) and reloads the directory. API-created identities stay.
    pub fn install_config_identities(&self, data: &PlainIdentities) -> KmsResult<()> {
        let mut sealed = IamData::<Vec<u8>> {
            accounts: data.accounts.clone(),
            users: data.users.clone(),
            roles: data.roles.clone(),
            inline_policies: data.inline_policies.clone(),
            ..Default::default()
        };
        for k in &data.access_keys {
            sealed.access_keys.push(trent_store::iam::AccessKeyRecord {
                access_key_id: k.access_key_id.clone(),
                account: k.account.clone(),
                kind: k.kind,
                owner_name: k.owner_name.clone(),
                session_name: k.session_name.clone(),
                via_service: k.via_service.clone(),
                acts_for: k.acts_for.clone(),
                secret: self.seal_secret(&k.access_key_id, k.secret.expose())?,
                active: k.active,
                created_ms: k.created_ms,
            });
        }
        self.store.replace_config_identities(&sealed)?;
        self.reload_identities()
    }

    /// Rebuilds the directory from the store (after any change of identities).
    pub fn reload_identities(&self) -> KmsResult<()> {
        let now = self.now_ms();
        // Sessions long expired are forgotten for good.
        self.store
            .delete_expired_sessions(now - EXPIRED_SESSION_RETENTION_MS)?;
        let stored = self.store.load_iam()?;
        let mut plain = PlainIdentities {
            accounts: stored.accounts,
            users: stored.users,
            roles: stored.roles,
            policies: stored.policies,
            inline_policies: stored.inline_policies,
            attachments: stored.attachments,
            ..Default::default()
        };
        for k in stored.access_keys {
            let secret = self.unseal_secret(&k.access_key_id, &k.secret)?;
            plain.access_keys.push(trent_store::iam::AccessKeyRecord {
                access_key_id: k.access_key_id,
                account: k.account,
                kind: k.kind,
                owner_name: k.owner_name,
                session_name: k.session_name,
                via_service: k.via_service,
                acts_for: k.acts_for,
                secret,
                active: k.active,
                created_ms: k.created_ms,
            });
        }
        for s in stored.sessions {
            let secret = self.unseal_secret(&s.access_key_id, &s.secret)?;
            plain.sessions.push(SessionRecord {
                access_key_id: s.access_key_id,
                secret,
                account: s.account,
                role_name: s.role_name,
                role_unique_id: s.role_unique_id,
                session_name: s.session_name,
                created_ms: s.created_ms,
                expires_ms: s.expires_ms,
                tags: s.tags,
                session_policy: s.session_policy,
                policy_arns: s.policy_arns,
                source_arn: s.source_arn,
            });
        }
        self.directory.set(Arc::new(build_directory(&plain, now)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use trent_store::iam::ManagedPolicyRecord;

    use super::*;

    fn user(name: &str, boundary: Option<&str>) -> UserRecord {
        UserRecord {
            account: "111122223333".into(),
            name: name.into(),
            path: "/".into(),
            unique_id: format!("AIDA{}", name.to_ascii_uppercase()),
            created_ms: 0,
            tags: Vec::new(),
            permissions_boundary: boundary.map(str::to_string),
        }
    }

    fn role(name: &str, path: &str, boundary: &str) -> RoleRecord {
        RoleRecord {
            account: "111122223333".into(),
            name: name.into(),
            path: path.into(),
            unique_id: format!("AROA{}", name.to_ascii_uppercase()),
            created_ms: 0,
            tags: Vec::new(),
            trust_policy: None,
            max_session_duration: 3600,
            description: None,
            permissions_boundary: Some(boundary.into()),
        }
    }

    #[test]
    fn boundaries_resolve_to_their_policy_fail_closed_and_skip_service_linked_roles() {
        let limits = "arn:aws:iam::111122223333:policy/limits";
        let data = PlainIdentities {
            accounts: vec!["111122223333".into()],
            users: vec![
                user("bounded", Some(limits)),
                user("dangling", Some("arn:aws:iam::111122223333:policy/gone")),
                user("free", None),
            ],
            roles: vec![role(
                "AWSServiceRoleForX",
                SERVICE_LINKED_ROLE_PATH,
                limits,
            )],
            policies: vec![ManagedPolicyRecord {
                account: "111122223333".into(),
                name: "limits".into(),
                path: "/".into(),
                unique_id: "ANPA1".into(),
                created_ms: 0,
                updated_ms: 0,
                description: None,
                default_version: "v1".into(),
                versions: vec![trent_store::iam::PolicyVersionRecord {
                    version_id: "v1".into(),
                    document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#.into(),
                    created_ms: 0,
                }],
            }],
            ..Default::default()
        };
        let dir = build_directory(&data, 0);
        let of = |u: &UserRecord| dir.permissions_boundary(&user_principal(u));
        let bounded = of(&data.users[0]).expect("bounded has a boundary");
        assert_eq!(bounded.name, "limits");
        assert!(bounded.document.contains("kms:Encrypt"));
        // A boundary whose policy is gone allows nothing, rather than nothing being limited.
        let dangling = of(&data.users[1]).expect("a dangling boundary still applies");
        assert_eq!(dangling.name, "gone");
        assert_eq!(*dangling.policy, Policy::empty(PolicyKind::IdentityPolicy));
        assert!(of(&data.users[2]).is_none());
        let service_linked = session_principal(&data.roles[0], "s", &[]);
        assert!(dir.permissions_boundary(&service_linked).is_none());
    }
}
