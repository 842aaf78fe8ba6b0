//! Who is calling: principals, their access keys, and the caller of one request.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

use trent_policy::{Policy, PolicyError, PolicyKind};

/// The kind of an IAM principal, with what the request context needs about it (spec §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    User {
        name: String,
        path: String,
    },
    /// A session of a role; `role_arn` keeps the role's path, the session ARN does not.
    AssumedRole {
        role_arn: String,
        role_name: String,
        session_name: String,
    },
}

/// An authenticated principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    /// The ARN printed in error messages (`arn:aws:sts::A:assumed-role/R/S` for sessions).
    pub arn: String,
    pub kind: PrincipalKind,
    /// IAM unique ID (`AIDA…` users, `AROA…:session` for sessions, the account ID for root).
    pub unique_id: String,
    pub tags: BTreeMap<String, String>,
}

impl Principal {
    /// The unique ID of the user or role behind this principal: the user's, or the role's for
    /// a session (`AROA…` without `:session`). `None` for an account root.
    pub fn identity_unique_id(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::Root => None,
            PrincipalKind::User { .. } => Some(&self.unique_id),
            PrincipalKind::AssumedRole { .. } => Some(
                self.unique_id
                    .split_once(':')
                    .map_or(self.unique_id.as_str(), |(role, _)| role),
            ),
        }
    }

    pub fn root(account: &str) -> Principal {
        Principal {
            account: account.to_string(),
            arn: format!("arn:aws:iam::{account}:root"),
            kind: PrincipalKind::Root,
            unique_id: account.to_string(),
            tags: BTreeMap::new(),
        }
    }

    /// `aws:PrincipalArn`: the role ARN for sessions, the principal's ARN otherwise.
    pub fn principal_arn(&self) -> &str {
        match &self.kind {
            PrincipalKind::AssumedRole { role_arn, .. } => role_arn,
            _ => &self.arn,
        }
    }
}

/// The caller of one request: a principal plus what the request itself says. The decisions
/// made for the request are the [`crate::Call`]'s.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The region from the SigV4 credential scope: keys are regional.
    pub region: String,
    pub access_key_id: String,
    pub source_ip: Option<IpAddr>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    pub user_agent: Option<String>,
    /// Set when an AWS service makes the request on the principal's behalf: the service's
    /// endpoint name, e.g. `lambda.ap-northeast-1.amazonaws.com` (`kms:ViaService`).
    pub via_service: Option<String>,
    /// The `x-amzn-RequestId` of the request (empty for callers of hypothetical requests):
    /// what a grant remembers of the request that created or ended it.
    pub request_id: String,
}

impl Caller {
    pub fn account(&self) -> &str {
        &self.principal.account
    }

    pub fn arn(&self) -> &str {
        &self.principal.arn
    }

    /// Who made the request, as a grant's provenance names it: the principal, or the AWS
    /// service that acted for it ("the Lambda made this grant" of the seed case).
    pub fn made_by(&self) -> String {
        match &self.via_service {
            Some(service) => format!("{service} on behalf of {}", self.principal.arn),
            None => self.principal.arn.clone(),
        }
    }
}

/// A secret access key (or a session token). Never printed; its memory is zeroed when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    pub fn new(secret: &str) -> SecretKey {
        SecretKey(Zeroizing::new(secret.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub secret: SecretKey,
    pub principal: Principal,
    /// For a trusted service caller: the service (e.g. `lambda.amazonaws.com`) that signs with
    /// this key when it acts for `principal`.
    pub via_service: Option<String>,
    /// For temporary credentials issued by STS: the session token, expiry and session policies.
    pub session: Option<Arc<SessionCredential>>,
    /// An inactive key (IAM `Status=Inactive`) authenticates nothing.
    pub active: bool,
}

/// What temporary credentials carry besides their secret.
#[derive(Debug)]
pub struct SessionCredential {
    /// The session token the request must present (`X-Amz-Security-Token`).
    pub token: SecretKey,
    pub expires_ms: i64,
    /// Session policies (inline `Policy` and `PolicyArns` of AssumeRole): they can only narrow
    /// what the role's policies allow. `None` when the session has none.
    pub policies: Option<Vec<NamedPolicy>>,
    /// Whether the session was itself made by a role session (role chaining: at most 1 hour).
    pub chained: bool,
}

/// A named identity policy (inline or managed): its document and its parsed form.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub name: String,
    pub document: String,
    pub policy: Arc<Policy>,
}

/// The identities Trent knows, indexed by access key ID, with the identity policies attached to
/// users and roles (keyed by user ARN or role ARN).
///
/// A `Directory` is an immutable snapshot: the service holds the current one (see
/// [`crate::iam`]) and replaces it after every change of identities, so authorization reads no
/// database for known principals.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    access_keys: HashMap<String, AccessKey>,
    identity_policies: HashMap<String, Vec<NamedPolicy>>,
    trust_policies: HashMap<String, String>,
    /// Permissions boundaries, by user ARN or role ARN.
    permissions_boundaries: HashMap<String, NamedPolicy>,
    principals: std::collections::HashSet<String>,
    /// Unique IDs of the declared users and roles, by ARN.
    unique_ids: HashMap<String, String>,
    accounts: std::collections::HashSet<String>,
    /// The stored identities this snapshot was built from (secrets left out), for the IAM API.
    pub(crate) iam: Arc<trent_store::iam::IamData<()>>,
}

impl Directory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_access_key(&mut self, access_key_id: &str, secret: &str, principal: Principal) {
        self.access_keys.insert(
            access_key_id.to_string(),
            AccessKey {
                secret: SecretKey::new(secret),
                principal,
                via_service: None,
                session: None,
                active: true,
            },
        );
    }

    /// Temporary credentials of an STS session.
    pub fn add_session_key(
        &mut self,
        access_key_id: &str,
        secret: &str,
        principal: Principal,
        session: SessionCredential,
    ) {
        self.access_keys.insert(
            access_key_id.to_string(),
            AccessKey {
                secret: SecretKey::new(secret),
                principal,
                via_service: None,
                session: Some(Arc::new(session)),
                active: true,
            },
        );
    }

    /// Marks an access key inactive (it stays known, so its use is refused clearly).
    pub fn deactivate_access_key(&mut self, access_key_id: &str) {
        if let Some(k) = self.access_keys.get_mut(access_key_id) {
            k.active = false;
        }
    }

    /// An access key with which `service` acts on behalf of `principal`.
    pub fn add_service_access_key(
        &mut self,
        access_key_id: &str,
        secret: &str,
        service: &str,
        principal: Principal,
    ) {
        self.access_keys.insert(
            access_key_id.to_string(),
            AccessKey {
                secret: SecretKey::new(secret),
                principal,
                via_service: Some(service.to_string()),
                session: None,
                active: true,
            },
        );
    }

    /// A principal that has an access key, by its ARN.
    pub fn principal_by_arn(&self, arn: &str) -> Option<&Principal> {
        self.access_keys
            .values()
            .find(|k| k.via_service.is_none() && k.session.is_none() && k.principal.arn == arn)
            .map(|k| &k.principal)
    }

    pub fn access_key(&self, access_key_id: &str) -> Option<&AccessKey> {
        self.access_keys.get(access_key_id)
    }

    /// Every principal with long-term credentials (users, configured role sessions, account
    /// roots), once each, by ARN; service callers are left out (they act for one of these), and
    /// so are STS sessions (temporary).
    pub fn principals(&self) -> Vec<&Principal> {
        let mut seen = std::collections::BTreeMap::new();
        for k in self
            .access_keys
            .values()
            .filter(|k| k.via_service.is_none() && k.session.is_none())
        {
            seen.entry(k.principal.arn.as_str()).or_insert(&k.principal);
        }
        seen.into_values().collect()
    }

    /// The accounts Trent holds, sorted.
    pub fn accounts(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.accounts.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// ARNs of the declared users and roles, sorted.
    pub fn declared_arns(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.principals.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Attaches an identity policy to a user ARN or role ARN.
    pub fn add_identity_policy(
        &mut self,
        owner_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<(), PolicyError> {
        let policy = Policy::parse(document, PolicyKind::IdentityPolicy)?;
        self.identity_policies
            .entry(owner_arn.to_string())
            .or_default()
            .push(NamedPolicy {
                name: name.to_string(),
                document: document.to_string(),
                policy: Arc::new(policy),
            });
        Ok(())
    }

    /// Attaches an already parsed identity policy to a user ARN or role ARN.
    pub fn push_identity_policy(&mut self, owner_arn: &str, policy: NamedPolicy) {
        self.identity_policies
            .entry(owner_arn.to_string())
            .or_default()
            .push(policy);
    }

    /// Records that a user or role exists (key policies may only name existing principals).
    pub fn add_principal(&mut self, arn: &str) {
        self.principals.insert(arn.to_string());
    }

    /// Records the unique ID of a declared user or role.
    pub fn set_unique_id(&mut self, arn: &str, unique_id: &str) {
        self.unique_ids
            .insert(arn.to_string(), unique_id.to_string());
    }

    /// The unique ID of a declared user or role, by ARN.
    pub fn unique_id_of(&self, arn: &str) -> Option<&str> {
        self.unique_ids.get(arn).map(String::as_str)
    }

    /// The unique ID of the user or role a principal ARN names: a user or role ARN, or an
    /// assumed-role session ARN (its role's, found by name: session ARNs carry no path).
    pub fn unique_id_for_principal_arn(&self, arn: &str) -> Option<&str> {
        if let Some(id) = self.unique_id_of(arn) {
            return Some(id);
        }
        let rest = arn.strip_prefix("arn:aws:sts::")?;
        let (account, rest) = rest.split_once(':')?;
        let rest = rest.strip_prefix("assumed-role/")?;
        let (role, _session) = rest.split_once('/')?;
        let prefix = format!("arn:aws:iam::{account}:role/");
        self.unique_ids
            .iter()
            .find(|(a, _)| {
                a.strip_prefix(&prefix)
                    .is_some_and(|r| r.rsplit('/').next() == Some(role))
            })
            .map(|(_, id)| id.as_str())
    }

    /// Records that an account exists in this Trent.
    pub fn add_account(&mut self, account: &str) {
        self.accounts.insert(account.to_string());
    }

    pub fn has_account(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    pub fn has_principal(&self, arn: &str) -> bool {
        self.principals.contains(arn)
    }

    /// Whether account `account` has a role named `name` (any path): session ARNs carry no path.
    pub fn has_role_named(&self, account: &str, name: &str) -> bool {
        self.role_arn_named(account, name).is_some()
    }

    /// The ARN (with its path) of the role named `name` in `account`.
    pub fn role_arn_named(&self, account: &str, name: &str) -> Option<&str> {
        let prefix = format!("arn:aws:iam::{account}:role/");
        self.principals
            .iter()
            .find(|arn| {
                arn.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.rsplit('/').next() == Some(name))
            })
            .map(String::as_str)
    }

    /// The identity policies that apply to a principal: its own (user) or its role's (session).
    pub fn identity_policies(&self, principal: &Principal) -> &[NamedPolicy] {
        self.identity_policies
            .get(principal.principal_arn())
            .map_or(&[], Vec::as_slice)
    }

    /// Sets the permissions boundary of a user ARN or role ARN.
    pub fn set_permissions_boundary(&mut self, owner_arn: &str, policy: NamedPolicy) {
        self.permissions_boundaries
            .insert(owner_arn.to_string(), policy);
    }

    /// The permissions boundary that applies to a principal: its own (user) or its role's
    /// (session). The account root has none.
    pub fn permissions_boundary(&self, principal: &Principal) -> Option<&NamedPolicy> {
        self.permissions_boundaries.get(principal.principal_arn())
    }

    pub fn set_trust_policy(&mut self, role_arn: &str, document: &str) {
        self.trust_policies
            .insert(role_arn.to_string(), document.to_string());
    }

    pub fn trust_policy(&self, role_arn: &str) -> Option<&str> {
        self.trust_policies.get(role_arn).map(String::as_str)
    }

    /// The session policies of the temporary credentials `access_key_id`, if they have any.
    pub fn session_policies(&self, access_key_id: &str) -> Option<&[NamedPolicy]> {
        self.access_keys
            .get(access_key_id)
            .and_then(|k| k.session.as_ref())
            .and_then(|s| s.policies.as_deref())
    }

    /// The stored identities (without secrets) this snapshot was built from.
    pub fn stored(&self) -> &trent_store::iam::IamData<()> {
        &self.iam
    }
}

/// The current directory snapshot.
pub(crate) struct DirectoryCell(RwLock<Arc<Directory>>);

impl DirectoryCell {
    pub(crate) fn new(d: Arc<Directory>) -> Self {
        DirectoryCell(RwLock::new(d))
    }

    pub(crate) fn get(&self) -> Arc<Directory> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn set(&self, d: Arc<Directory>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = d;
    }
}
