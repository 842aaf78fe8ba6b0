//! One STS or IAM request being served: the caller's [`Call`], its typed action and parameters,
//! the directory snapshot it reads, and the helpers every action shares (authorization through
//! the KMS authorizer, entity lookups, reloading identities after a change).

use std::sync::Arc;

use trent_store::iam::{IamData, ManagedPolicyRecord, OwnerKind, RoleRecord, Tags, UserRecord};

use super::action::QueryAction;
use super::query::{Params, same_name};
use super::wire::{IamError, IamResult};
use crate::authz::Check;
use crate::call::Call;
use crate::error::ErrorCode;
use crate::identity::Directory;
use crate::service::Kms;

pub(super) struct Request<'r> {
    pub kms: &'r Kms,
    pub call: &'r Call<'r>,
    pub action: QueryAction,
    pub params: &'r Params,
    pub dir: Arc<Directory>,
    /// IAM is per account: every action acts in the caller's.
    pub account: String,
    pub now: i64,
}

/// A user or a role: what the actions that treat both alike need.
pub(super) struct Entity {
    pub kind: OwnerKind,
    /// As stored (IAM names are case-insensitive, but keep their case).
    pub name: String,
    pub path: String,
    pub tags: Tags,
}

/// The request parameter and the message member that name an entity of `kind`.
pub(super) fn name_param(kind: OwnerKind) -> (&'static str, &'static str) {
    match kind {
        OwnerKind::User => ("UserName", "userName"),
        OwnerKind::Role => ("RoleName", "roleName"),
    }
}

pub(super) fn entity_arn(kind: OwnerKind, account: &str, path: &str, name: &str) -> String {
    match kind {
        OwnerKind::User => super::user_arn(account, path, name),
        OwnerKind::Role => super::role_arn(account, path, name),
    }
}

impl Request<'_> {
    pub fn stored(&self) -> &IamData<()> {
        self.dir.stored()
    }

    /// Authorizes the request's own action on `resource` (an IAM ARN).
    pub fn authorize(&self, resource: impl Into<String>) -> IamResult<()> {
        self.authorize_check(Check::arn(self.action.policy_action(), resource))
    }

    /// Authorizes one check through the KMS authorizer (so `--authz` applies, and the decision
    /// reaches the audit record); a denial is IAM's `AccessDenied` with the authorizer's message.
    pub fn authorize_check(&self, check: Check<'_>) -> IamResult<()> {
        self.kms
            .authorize(self.call, &[check])
            .map_err(|e| match (e.code, e.message) {
                (ErrorCode::AccessDenied, Some(message)) => IamError::access_denied(message),
                (code, message) => IamError::from(crate::error::KmsError { code, message }),
            })
    }

    /// The identities changed: rebuild the directory.
    pub fn changed(&self) -> IamResult<()> {
        self.kms.reload_identities().map_err(IamError::from)
    }

    pub fn find_user(&self, name: &str) -> IamResult<UserRecord> {
        self.stored()
            .users
            .iter()
            .find(|u| u.account == self.account && same_name(&u.name, name))
            .cloned()
            .ok_or_else(|| not_found(OwnerKind::User, name))
    }

    pub fn find_role(&self, name: &str) -> IamResult<RoleRecord> {
        self.stored()
            .roles
            .iter()
            .find(|r| r.account == self.account && same_name(&r.name, name))
            .cloned()
            .ok_or_else(|| not_found(OwnerKind::Role, name))
    }

    pub fn find_entity(&self, kind: OwnerKind, name: &str) -> IamResult<Entity> {
        Ok(match kind {
            OwnerKind::User => {
                let u = self.find_user(name)?;
                Entity {
                    kind,
                    name: u.name,
                    path: u.path,
                    tags: u.tags,
                }
            }
            OwnerKind::Role => {
                let r = self.find_role(name)?;
                Entity {
                    kind,
                    name: r.name,
                    path: r.path,
                    tags: r.tags,
                }
            }
        })
    }

    /// The resource of an action on a user or role that may not exist: its ARN with the stored
    /// path when it exists, the root path otherwise.
    pub fn entity_arn_of(&self, kind: OwnerKind, name: &str) -> String {
        match self.find_entity(kind, name) {
            Ok(e) => entity_arn(kind, &self.account, &e.path, &e.name),
            Err(_) => entity_arn(kind, &self.account, "/", name),
        }
    }

    pub fn find_policy(&self, arn: &str) -> IamResult<ManagedPolicyRecord> {
        self.stored()
            .policies
            .iter()
            .find(|p| p.account == self.account && p.arn() == arn)
            .cloned()
            .ok_or_else(|| {
                IamError::no_such_entity(format!(
                    "Policy {arn} does not exist or is not attachable."
                ))
            })
    }

    /// How many users and roles the managed policy `arn` is attached to, and how many use it as
    /// their permissions boundary.
    pub fn uses_of(&self, arn: &str) -> (usize, usize) {
        let stored = self.stored();
        let attachments = stored
            .attachments
            .iter()
            .filter(|a| a.policy_arn == arn)
            .count();
        let boundary = Some(arn);
        let boundaries = stored
            .users
            .iter()
            .filter(|u| u.permissions_boundary.as_deref() == boundary)
            .count()
            + stored
                .roles
                .iter()
                .filter(|r| r.permissions_boundary.as_deref() == boundary)
                .count();
        (attachments, boundaries)
    }
}

pub(super) fn not_found(kind: OwnerKind, name: &str) -> IamError {
    IamError::no_such_entity(format!(
        "The {} with name {name} cannot be found.",
        kind.as_str()
    ))
}
