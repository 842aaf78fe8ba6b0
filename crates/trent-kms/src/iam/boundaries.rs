//! Permissions boundaries of users and roles: a customer managed policy of the account that
//! caps what the entity's identity policies can allow (the authorizer applies it as a
//! guardrail). Set with `CreateUser`/`CreateRole`'s `PermissionsBoundary` or
//! `Put{User,Role}PermissionsBoundary`, removed with `Delete{User,Role}PermissionsBoundary`.

use trent_policy::ContextValue;
use trent_store::iam::OwnerKind;

use super::query::check_name;
use super::request::{Request, name_param};
use super::wire::{IamError, IamResult, Xml};
use crate::authz::Check;

/// The condition key IAM sets to the boundary a request would set (so that a policy can
/// require a particular boundary on every user or role its holder creates).
const PERMISSIONS_BOUNDARY_KEY: &str = "iam:PermissionsBoundary";

/// Authorizes the request's action on `resource`, with `iam:PermissionsBoundary` set when the
/// request sets a boundary.
pub(super) fn authorize_with_boundary(
    r: &Request<'_>,
    resource: String,
    boundary: Option<&str>,
) -> IamResult<()> {
    let mut check = Check::arn(r.action.policy_action(), resource);
    if let Some(arn) = boundary {
        check.context.push((
            PERMISSIONS_BOUNDARY_KEY.to_string(),
            ContextValue::Single(arn.to_string()),
        ));
    }
    r.authorize_check(check)
}

/// The `PermissionsBoundary` parameter, validated as IAM's models constrain an ARN (20 to 2048
/// characters).
pub(super) fn boundary_param<'p>(r: &Request<'p>) -> IamResult<Option<&'p str>> {
    let Some(arn) = r.params.get("PermissionsBoundary") else {
        return Ok(None);
    };
    let len = arn.chars().count();
    if len < 20 {
        return Err(IamError::constraint(
            arn,
            "permissionsBoundary",
            "Member must have length greater than or equal to 20",
        ));
    }
    if len > 2048 {
        return Err(IamError::constraint(
            arn,
            "permissionsBoundary",
            "Member must have length less than or equal to 2048",
        ));
    }
    Ok(Some(arn))
}

/// Checks that `arn` names a managed policy a boundary may use: one of the account's own
/// (Trent has no AWS managed policies). AWS's message for any other ARN.
pub(super) fn check_boundary_policy(r: &Request<'_>, arn: &str) -> IamResult<()> {
    r.find_policy(arn).map(drop).map_err(|_| {
        IamError::no_such_entity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))
    })
}

/// `PutUserPermissionsBoundary`, `PutRolePermissionsBoundary`.
pub(super) fn put(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let (param, member) = name_param(kind);
    let name = r.params.require(param, member)?;
    check_name(name, member, 128)?;
    let Some(arn) = boundary_param(r)? else {
        return Err(IamError::missing("permissionsBoundary"));
    };
    authorize_with_boundary(r, r.entity_arn_of(kind, name), Some(arn))?;
    let entity = r.find_entity(kind, name)?;
    check_boundary_policy(r, arn)?;
    set(r, kind, &entity.name, Some(arn))
}

/// `DeleteUserPermissionsBoundary`, `DeleteRolePermissionsBoundary`: removing a boundary the
/// entity does not have succeeds.
pub(super) fn delete(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let (param, member) = name_param(kind);
    let name = r.params.require(param, member)?;
    check_name(name, member, 128)?;
    r.authorize(r.entity_arn_of(kind, name))?;
    let entity = r.find_entity(kind, name)?;
    set(r, kind, &entity.name, None)
}

fn set(r: &Request<'_>, kind: OwnerKind, name: &str, arn: Option<&str>) -> IamResult<Vec<Xml>> {
    r.kms
        .store
        .set_permissions_boundary(kind, &r.account, name, arn)?;
    r.changed()?;
    Ok(vec![])
}

/// The `PermissionsBoundary` element of `GetUser` and `GetRole`.
pub(super) fn boundary_xml(arn: &str) -> Xml {
    Xml::Node(
        "PermissionsBoundary",
        vec![
            Xml::text("PermissionsBoundaryType", "Policy"),
            Xml::text("PermissionsBoundaryArn", arn),
        ],
    )
}
