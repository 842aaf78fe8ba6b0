//! Identities: accounts, IAM users, roles, managed policies (with versions), inline policies,
//! attachments, access keys and STS sessions.
//!
//! Secrets (access-key secrets, session secrets and tokens) reach the store already sealed under
//! the root key, like key material. Identities declared by the configuration file are replaced
//! as a whole at every start ([`crate::Backend::replace_config_identities`]); those created
//! through the IAM and STS APIs stay until deleted through them.

use crate::{Result, StoreError};

/// Whose an inline policy or an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OwnerKind {
    User,
    Role,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Role => "role",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<OwnerKind> {
        match s {
            "user" => Ok(OwnerKind::User),
            "role" => Ok(OwnerKind::Role),
            other => Err(StoreError::Corrupt(format!("owner kind {other:?}"))),
        }
    }
}

/// What an access key authenticates as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKeyKind {
    /// The account's root user.
    Root,
    /// The user `owner_name`.
    User,
    /// A long-lived session `session_name` of role `owner_name` (configuration only).
    RoleSession,
    /// A service acting for the principal `acts_for` (configuration only).
    Service,
}

impl AccessKeyKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AccessKeyKind::Root => "root",
            AccessKeyKind::User => "user",
            AccessKeyKind::RoleSession => "role-session",
            AccessKeyKind::Service => "service",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<AccessKeyKind> {
        match s {
            "root" => Ok(AccessKeyKind::Root),
            "user" => Ok(AccessKeyKind::User),
            "role-session" => Ok(AccessKeyKind::RoleSession),
            "service" => Ok(AccessKeyKind::Service),
            other => Err(StoreError::Corrupt(format!("access key kind {other:?}"))),
        }
    }
}

pub type Tags = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub account: String,
    pub name: String,
    pub path: String,
    pub unique_id: String,
    pub created_ms: i64,
    pub tags: Tags,
    /// The ARN of the managed policy set as the user's permissions boundary.
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub account: String,
    pub name: String,
    pub path: String,
    pub unique_id: String,
    pub created_ms: i64,
    pub tags: Tags,
    /// The trust policy document (`None`: nobody may assume the role).
    pub trust_policy: Option<String>,
    pub max_session_duration: i64,
    pub description: Option<String>,
    /// The ARN of the managed policy set as the role's permissions boundary.
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    pub version_id: String,
    pub document: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicyRecord {
    pub account: String,
    pub name: String,
    pub path: String,
    pub unique_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub description: Option<String>,
    pub default_version: String,
    pub versions: Vec<PolicyVersionRecord>,
}

impl ManagedPolicyRecord {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:policy{}{}",
            self.account, self.path, self.name
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicyRecord {
    pub account: String,
    pub owner: OwnerKind,
    pub owner_name: String,
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub account: String,
    pub owner: OwnerKind,
    pub owner_name: String,
    pub policy_arn: String,
}

/// An access key; `S` is the secret: sealed bytes in the store, plaintext above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord<S> {
    pub access_key_id: String,
    pub account: String,
    pub kind: AccessKeyKind,
    /// The user (User) or role (RoleSession) name; empty otherwise.
    pub owner_name: String,
    /// RoleSession: the session name.
    pub session_name: Option<String>,
    /// Service: the service that signs with this key, and the ARN of the principal it acts for.
    pub via_service: Option<String>,
    pub acts_for: Option<String>,
    pub secret: S,
    pub active: bool,
    pub created_ms: i64,
}

/// Temporary credentials issued by STS AssumeRole. `S` carries the secret and the session
/// token (sealed together in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord<S> {
    pub access_key_id: String,
    pub secret: S,
    pub account: String,
    pub role_name: String,
    /// The role's unique ID when the session began: a role deleted and created again under the
    /// same name is another role, and this session is not one of its sessions.
    pub role_unique_id: String,
    pub session_name: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// Session tags (become `aws:PrincipalTag/*` together with the role's tags).
    pub tags: Tags,
    /// The inline session policy, if any.
    pub session_policy: Option<String>,
    /// Managed policies passed as session policies.
    pub policy_arns: Vec<String>,
    /// The ARN of the principal that assumed the role.
    pub source_arn: String,
}

/// Everything about identities, as loaded at once to build the in-memory directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamData<S> {
    pub accounts: Vec<String>,
    pub users: Vec<UserRecord>,
    pub roles: Vec<RoleRecord>,
    pub policies: Vec<ManagedPolicyRecord>,
    pub inline_policies: Vec<InlinePolicyRecord>,
    pub attachments: Vec<AttachmentRecord>,
    pub access_keys: Vec<AccessKeyRecord<S>>,
    pub sessions: Vec<SessionRecord<S>>,
}
