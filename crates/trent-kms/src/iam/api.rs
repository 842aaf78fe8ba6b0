//! The STS and IAM operations (AWS query protocol: `Action=…` form parameters in, a result tree
//! out): the typed action decides which handler runs; every handler authorizes through the KMS
//! authorizer before it changes or reveals anything. IAM is global and per account: every
//! operation acts in the caller's account.

use trent_store::iam::OwnerKind;

use super::action::QueryAction;
use super::query::{Params, QueryService};
use super::request::Request;
use super::wire::{IamError, IamResult, Xml};
use super::{access_keys, boundaries, entities, policies, sts};
use crate::call::{Authorization, Call};
use crate::identity::Caller;
use crate::service::Kms;

/// What one STS or IAM request came to: the result tree or error, and the authorization
/// decisions made for it (for the audit record's `trentAuthorization`).
#[derive(Debug)]
pub struct QueryOutcome {
    pub result: IamResult<Vec<Xml>>,
    pub authorization: Authorization,
}

impl Kms {
    /// Runs one STS or IAM action for an authenticated caller.
    pub fn query(&self, caller: &Caller, service: QueryService, params: &Params) -> QueryOutcome {
        let call = Call::other(caller);
        let name = params.get("Action").unwrap_or_default();
        let result = match QueryAction::parse(service, name) {
            None => Err(IamError::invalid_action(name, service.version())),
            Some(action) => run(&Request {
                kms: self,
                call: &call,
                action,
                params,
                dir: self.directory(),
                account: caller.account().to_string(),
                now: self.now_ms(),
            }),
        };
        QueryOutcome {
            result,
            authorization: call.finish(),
        }
    }
}

fn run(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    use OwnerKind::{Role, User};
    use QueryAction as A;
    match r.action {
        A::GetCallerIdentity => Ok(sts::get_caller_identity(r)),
        A::AssumeRole => sts::assume_role(r),
        A::CreateUser => entities::create_user(r),
        A::CreateRole => entities::create_role(r),
        A::GetUser => entities::get_user(r),
        A::GetRole => entities::get_role(r),
        A::DeleteUser => entities::delete(r, User),
        A::DeleteRole => entities::delete(r, Role),
        A::ListUsers => entities::list(r, User),
        A::ListRoles => entities::list(r, Role),
        A::UpdateAssumeRolePolicy => entities::update_assume_role_policy(r),
        A::TagUser => entities::tag(r, User),
        A::TagRole => entities::tag(r, Role),
        A::UntagUser => entities::untag(r, User),
        A::UntagRole => entities::untag(r, Role),
        A::ListUserTags => entities::list_tags(r, User),
        A::ListRoleTags => entities::list_tags(r, Role),
        A::PutUserPolicy => entities::put_inline(r, User),
        A::PutRolePolicy => entities::put_inline(r, Role),
        A::GetUserPolicy => entities::get_inline(r, User),
        A::GetRolePolicy => entities::get_inline(r, Role),
        A::DeleteUserPolicy => entities::delete_inline(r, User),
        A::DeleteRolePolicy => entities::delete_inline(r, Role),
        A::ListUserPolicies => entities::list_inline(r, User),
        A::ListRolePolicies => entities::list_inline(r, Role),
        A::AttachUserPolicy => entities::attach(r, User),
        A::AttachRolePolicy => entities::attach(r, Role),
        A::DetachUserPolicy => entities::detach(r, User),
        A::DetachRolePolicy => entities::detach(r, Role),
        A::ListAttachedUserPolicies => entities::list_attached(r, User),
        A::ListAttachedRolePolicies => entities::list_attached(r, Role),
        A::ListInstanceProfilesForRole => entities::list_instance_profiles_for_role(r),
        A::PutUserPermissionsBoundary => boundaries::put(r, User),
        A::PutRolePermissionsBoundary => boundaries::put(r, Role),
        A::DeleteUserPermissionsBoundary => boundaries::delete(r, User),
        A::DeleteRolePermissionsBoundary => boundaries::delete(r, Role),
        A::CreatePolicy => policies::create(r),
        A::GetPolicy => policies::get(r),
        A::DeletePolicy => policies::delete(r),
        A::GetPolicyVersion => policies::get_version(r),
        A::ListPolicies => policies::list(r),
        A::CreateAccessKey | A::ListAccessKeys | A::DeleteAccessKey => access_keys::handle(r),
    }
}
