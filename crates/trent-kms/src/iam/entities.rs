//! Users and roles. What they share — get, delete, list, tags, inline and attached policies —
//! is written once over [`OwnerKind`]; only creation and a role's trust policy differ.

use trent_policy::PolicyKind;
use trent_store::StoreError;
use trent_store::iam::{AttachmentRecord, InlinePolicyRecord, OwnerKind, RoleRecord, UserRecord};

use super::boundaries::{authorize_with_boundary, boundary_param, check_boundary_policy};
use super::ids;
use super::query::{
    check_name, check_path, check_tag_key, iso8601, parse_document, same_name, url_encode,
};
use super::render::{not_truncated, role_xml, tags_xml, user_xml};
use super::request::{Entity, Request, name_param, not_found};
use super::wire::{IamError, IamResult, Xml};
use crate::identity::PrincipalKind;

/// The longest name a request may give for an existing entity of `kind` (AWS's models: 128
/// for user names, 64 for role names).
fn max_name(kind: OwnerKind) -> usize {
    match kind {
        OwnerKind::User => 128,
        OwnerKind::Role => 64,
    }
}

/// The entity a request names with `UserName` / `RoleName` (validated, `max` characters),
/// authorized on its ARN, then looked up.
fn named_entity(r: &Request<'_>, kind: OwnerKind, max: usize) -> IamResult<Entity> {
    let (param, member) = name_param(kind);
    let name = r.params.require(param, member)?;
    check_name(name, member, max)?;
    r.authorize(r.entity_arn_of(kind, name))?;
    r.find_entity(kind, name)
}

pub(super) fn create_user(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let p = r.params;
    let name = p.require("UserName", "userName")?;
    check_name(name, "userName", 64)?;
    let path = p.get("Path").unwrap_or("/");
    check_path(path, "path")?;
    let boundary = boundary_param(r)?;
    authorize_with_boundary(r, super::user_arn(&r.account, path, name), boundary)?;
    if let Some(arn) = boundary {
        check_boundary_policy(r, arn)?;
    }
    let user = UserRecord {
        account: r.account.clone(),
        name: name.to_string(),
        path: path.to_string(),
        unique_id: ids::unique_id("AIDA")?,
        created_ms: r.now,
        tags: p.tags()?,
        permissions_boundary: boundary.map(str::to_string),
    };
    match r.kms.store.create_iam_user(&user) {
        Err(StoreError::AlreadyExists) => {
            return Err(IamError::already_exists(format!(
                "User with name {name} already exists."
            )));
        }
        other => other?,
    }
    r.changed()?;
    Ok(vec![Xml::Node("User", user_xml(&user))])
}

pub(super) fn create_role(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let p = r.params;
    let name = p.require("RoleName", "roleName")?;
    check_name(name, "roleName", 64)?;
    let path = p.get("Path").unwrap_or("/");
    check_path(path, "path")?;
    let trust = p.require("AssumeRolePolicyDocument", "assumeRolePolicyDocument")?;
    let boundary = boundary_param(r)?;
    authorize_with_boundary(r, super::role_arn(&r.account, path, name), boundary)?;
    parse_document(trust, PolicyKind::TrustPolicy)?;
    if let Some(arn) = boundary {
        check_boundary_policy(r, arn)?;
    }
    let max: i64 = match p.get("MaxSessionDuration") {
        None => 3600,
        Some(v) => v.parse().map_err(|_| {
            IamError::constraint(v, "maxSessionDuration", "Member must be a number")
        })?,
    };
    if !(3600..=43200).contains(&max) {
        return Err(IamError::constraint(
            &max.to_string(),
            "maxSessionDuration",
            if max < 3600 {
                "Member must have value greater than or equal to 3600"
            } else {
                "Member must have value less than or equal to 43200"
            },
        ));
    }
    let role = RoleRecord {
        account: r.account.clone(),
        name: name.to_string(),
        path: path.to_string(),
        unique_id: ids::unique_id("AROA")?,
        created_ms: r.now,
        tags: p.tags()?,
        trust_policy: Some(trust.to_string()),
        max_session_duration: max,
        description: p.get("Description").map(str::to_string),
        permissions_boundary: boundary.map(str::to_string),
    };
    match r.kms.store.create_iam_role(&role) {
        Err(StoreError::AlreadyExists) => {
            return Err(IamError::already_exists(format!(
                "Role with name {name} already exists."
            )));
        }
        other => other?,
    }
    r.changed()?;
    Ok(vec![Xml::Node("Role", role_xml(&role))])
}

/// `GetUser`; without a name, the caller itself.
pub(super) fn get_user(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let user = match r.params.get("UserName") {
        Some(name) => {
            check_name(name, "userName", 128)?;
            r.authorize(r.entity_arn_of(OwnerKind::User, name))?;
            r.find_user(name)?
        }
        None => match &r.call.principal.kind {
            PrincipalKind::User { name, .. } => r.find_user(name)?,
            PrincipalKind::Root => {
                return Ok(vec![Xml::Node(
                    "User",
                    vec![
                        Xml::text("UserId", &r.account),
                        Xml::text("Arn", r.call.arn()),
                        Xml::text("CreateDate", iso8601(0)),
                    ],
                )]);
            }
            PrincipalKind::AssumedRole { .. } => {
                return Err(IamError::validation(
                    "Must specify userName when calling with non-User credentials",
                ));
            }
        },
    };
    Ok(vec![Xml::Node("User", user_xml(&user))])
}

pub(super) fn get_role(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let role = named_entity(r, OwnerKind::Role, 64)?;
    Ok(vec![Xml::Node("Role", role_xml(&r.find_role(&role.name)?))])
}

pub(super) fn delete(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, max_name(kind))?;
    let deleted = match kind {
        OwnerKind::User => r.kms.store.delete_iam_user(&r.account, &entity.name),
        OwnerKind::Role => r.kms.store.delete_iam_role(&r.account, &entity.name),
    };
    match (deleted, kind) {
        (Err(StoreError::Conflict("access keys")), OwnerKind::User) => {
            return Err(IamError::delete_conflict(
                "Cannot delete entity, must delete access keys first.",
            ));
        }
        (Err(StoreError::Conflict(_)), OwnerKind::User) => {
            return Err(IamError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        (Err(StoreError::Conflict(_)), OwnerKind::Role) => {
            return Err(IamError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        (Err(StoreError::NotFound), _) => return Err(not_found(kind, &entity.name)),
        (other, _) => other?,
    }
    r.changed()?;
    Ok(vec![])
}

pub(super) fn list(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    r.authorize(format!("arn:aws:iam::{}:{}/", r.account, kind.as_str()))?;
    let prefix = r.params.get("PathPrefix").unwrap_or("/");
    let stored = r.stored();
    Ok(match kind {
        OwnerKind::User => {
            let users = stored
                .users
                .iter()
                .filter(|u| u.account == r.account && u.path.starts_with(prefix))
                .map(|u| listed(user_xml(u)))
                .collect();
            vec![Xml::list("Users", users), not_truncated()]
        }
        OwnerKind::Role => {
            let roles = stored
                .roles
                .iter()
                .filter(|role| role.account == r.account && role.path.starts_with(prefix))
                .map(|role| listed(role_xml(role)))
                .collect();
            vec![Xml::list("Roles", roles), not_truncated()]
        }
    })
}

/// An entity as IAM's listing operations show it: without its tags and permissions boundary
/// (`GetUser`/`GetRole` and `List*Tags` show them), as AWS documents for `ListUsers` and
/// `ListRoles`.
fn listed(mut entity: Vec<Xml>) -> Vec<Xml> {
    entity.retain(|e| !matches!(e, Xml::Node("Tags" | "PermissionsBoundary", _)));
    entity
}

/// `ListInstanceProfilesForRole`. Trent has no instance profiles, so a role that exists has
/// none. Clients look before deleting a role, to remove it from its profiles first (the
/// Terraform AWS provider does on every `aws_iam_role` destroy).
pub(super) fn list_instance_profiles_for_role(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    named_entity(r, OwnerKind::Role, 64)?;
    Ok(vec![Xml::list("InstanceProfiles", vec![]), not_truncated()])
}

pub(super) fn update_assume_role_policy(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let name = r.params.require("RoleName", "roleName")?;
    check_name(name, "roleName", 64)?;
    let doc = r.params.require("PolicyDocument", "policyDocument")?;
    r.authorize(r.entity_arn_of(OwnerKind::Role, name))?;
    let role = r.find_role(name)?;
    parse_document(doc, PolicyKind::TrustPolicy)?;
    r.kms
        .store
        .update_role_trust_policy(&r.account, &role.name, doc)?;
    r.changed()?;
    Ok(vec![])
}

// ---- tags --------------------------------------------------------------------------------

fn merge_tags(existing: &[(String, String)], new: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = existing.to_vec();
    for (k, v) in new {
        match out.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

fn set_tags(r: &Request<'_>, entity: &Entity, tags: Vec<(String, String)>) -> IamResult<()> {
    r.kms
        .store
        .set_iam_tags(entity.kind, &r.account, &entity.name, &tags)?;
    r.changed()
}

pub(super) fn tag(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let (param, member) = name_param(kind);
    let name = r.params.require(param, member)?;
    check_name(name, member, 128)?;
    let tags = r.params.tags()?;
    if tags.is_empty() {
        return Err(IamError::missing("tags"));
    }
    r.authorize(r.entity_arn_of(kind, name))?;
    let entity = r.find_entity(kind, name)?;
    let merged = merge_tags(&entity.tags, &tags);
    if merged.len() > 50 {
        return Err(IamError::limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    set_tags(r, &entity, merged)?;
    Ok(vec![])
}

pub(super) fn untag(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let (param, member) = name_param(kind);
    let name = r.params.require(param, member)?;
    check_name(name, member, 128)?;
    let keys = r.params.strings("TagKeys");
    if keys.is_empty() {
        return Err(IamError::missing("tagKeys"));
    }
    if keys.len() > 50 {
        return Err(IamError::validation(
            "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: \
             Member must have length less than or equal to 50",
        ));
    }
    for key in &keys {
        check_tag_key(key, "tagKeys.member")?;
    }
    r.authorize(r.entity_arn_of(kind, name))?;
    let entity = r.find_entity(kind, name)?;
    // Keys the entity does not have are ignored, as AWS does.
    let kept: Vec<(String, String)> = entity
        .tags
        .iter()
        .filter(|(k, _)| !keys.contains(k))
        .cloned()
        .collect();
    set_tags(r, &entity, kept)?;
    Ok(vec![])
}

pub(super) fn list_tags(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    Ok(vec![tags_xml(&entity.tags), not_truncated()])
}

// ---- inline policies ----------------------------------------------------------------------

/// The inline policies of `entity`.
fn inline_policies<'d>(
    r: &'d Request<'_>,
    entity: &'d Entity,
) -> impl Iterator<Item = &'d InlinePolicyRecord> {
    r.stored().inline_policies.iter().filter(move |i| {
        i.account == r.account && i.owner == entity.kind && same_name(&i.owner_name, &entity.name)
    })
}

fn no_such_inline(kind: OwnerKind, policy: &str) -> IamError {
    IamError::no_such_entity(format!(
        "The {} policy with name {policy} cannot be found.",
        kind.as_str()
    ))
}

fn policy_name<'p>(r: &Request<'p>) -> IamResult<&'p str> {
    let name = r.params.require("PolicyName", "policyName")?;
    check_name(name, "policyName", 128)?;
    Ok(name)
}

pub(super) fn list_inline(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    let names = inline_policies(r, &entity).map(|i| i.name.clone());
    Ok(vec![Xml::strings("PolicyNames", names), not_truncated()])
}

pub(super) fn put_inline(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    let name = policy_name(r)?;
    let doc = r.params.require("PolicyDocument", "policyDocument")?;
    parse_document(doc, PolicyKind::IdentityPolicy)?;
    r.kms.store.put_inline_policy(&InlinePolicyRecord {
        account: r.account.clone(),
        owner: kind,
        owner_name: entity.name,
        name: name.to_string(),
        document: doc.to_string(),
    })?;
    r.changed()?;
    Ok(vec![])
}

pub(super) fn get_inline(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    let name = policy_name(r)?;
    let found = inline_policies(r, &entity)
        .find(|i| i.name == name)
        .ok_or_else(|| no_such_inline(kind, name))?;
    Ok(vec![
        Xml::text(name_param(kind).0, &entity.name),
        Xml::text("PolicyName", &found.name),
        Xml::text("PolicyDocument", url_encode(&found.document)),
    ])
}

pub(super) fn delete_inline(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    let name = policy_name(r)?;
    match r
        .kms
        .store
        .delete_inline_policy(&r.account, kind, &entity.name, name)
    {
        Err(StoreError::NotFound) => return Err(no_such_inline(kind, name)),
        other => other?,
    }
    r.changed()?;
    Ok(vec![])
}

// ---- attached managed policies ------------------------------------------------------------

pub(super) fn list_attached(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let entity = named_entity(r, kind, 128)?;
    let attached = r
        .stored()
        .attachments
        .iter()
        .filter(|a| {
            a.account == r.account && a.owner == kind && same_name(&a.owner_name, &entity.name)
        })
        .map(|a| {
            let name = a.policy_arn.rsplit('/').next().unwrap_or_default();
            vec![
                Xml::text("PolicyName", name),
                Xml::text("PolicyArn", &a.policy_arn),
            ]
        })
        .collect();
    Ok(vec![
        Xml::list("AttachedPolicies", attached),
        not_truncated(),
    ])
}

fn attachment(r: &Request<'_>, kind: OwnerKind) -> IamResult<AttachmentRecord> {
    let entity = named_entity(r, kind, 128)?;
    let arn = r.params.require("PolicyArn", "policyArn")?;
    Ok(AttachmentRecord {
        account: r.account.clone(),
        owner: kind,
        owner_name: entity.name,
        policy_arn: arn.to_string(),
    })
}

pub(super) fn attach(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let record = attachment(r, kind)?;
    r.find_policy(&record.policy_arn)?;
    r.kms.store.attach_policy(&record)?;
    r.changed()?;
    Ok(vec![])
}

pub(super) fn detach(r: &Request<'_>, kind: OwnerKind) -> IamResult<Vec<Xml>> {
    let record = attachment(r, kind)?;
    match r.kms.store.detach_policy(&record) {
        Err(StoreError::NotFound) => {
            return Err(IamError::no_such_entity(format!(
                "Policy {} was not found.",
                record.policy_arn
            )));
        }
        other => other?,
    }
    r.changed()?;
    Ok(vec![])
}
