//! The XML result trees of IAM's entities (users, roles, managed policies).

use trent_store::iam::{ManagedPolicyRecord, RoleRecord, UserRecord};

use super::query::{iso8601, url_encode};
use super::wire::Xml;

pub(super) fn tags_xml(tags: &[(String, String)]) -> Xml {
    Xml::list(
        "Tags",
        tags.iter()
            .map(|(k, v)| vec![Xml::text("Key", k), Xml::text("Value", v)])
            .collect(),
    )
}

pub(super) fn user_xml(u: &UserRecord) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("Path", &u.path),
        Xml::text("UserName", &u.name),
        Xml::text("UserId", &u.unique_id),
        Xml::text("Arn", super::user_arn(&u.account, &u.path, &u.name)),
        Xml::text("CreateDate", iso8601(u.created_ms)),
    ];
    if let Some(arn) = &u.permissions_boundary {
        v.push(super::boundaries::boundary_xml(arn));
    }
    if !u.tags.is_empty() {
        v.push(tags_xml(&u.tags));
    }
    v
}

pub(super) fn role_xml(r: &RoleRecord) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("Path", &r.path),
        Xml::text("RoleName", &r.name),
        Xml::text("RoleId", &r.unique_id),
        Xml::text("Arn", super::role_arn(&r.account, &r.path, &r.name)),
        Xml::text("CreateDate", iso8601(r.created_ms)),
    ];
    if let Some(doc) = &r.trust_policy {
        v.push(Xml::text("AssumeRolePolicyDocument", url_encode(doc)));
    }
    if let Some(d) = &r.description {
        v.push(Xml::text("Description", d));
    }
    v.push(Xml::text(
        "MaxSessionDuration",
        r.max_session_duration.to_string(),
    ));
    if let Some(arn) = &r.permissions_boundary {
        v.push(super::boundaries::boundary_xml(arn));
    }
    if !r.tags.is_empty() {
        v.push(tags_xml(&r.tags));
    }
    v
}

/// A managed policy, with how many users and roles it is attached to and how many use it as
/// their permissions boundary.
pub(super) fn policy_xml(
    p: &ManagedPolicyRecord,
    (attachments, boundaries): (usize, usize),
) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("PolicyName", &p.name),
        Xml::text("PolicyId", &p.unique_id),
        Xml::text("Arn", p.arn()),
        Xml::text("Path", &p.path),
        Xml::text("DefaultVersionId", &p.default_version),
        Xml::text("AttachmentCount", attachments.to_string()),
        Xml::text("PermissionsBoundaryUsageCount", boundaries.to_string()),
        Xml::text("IsAttachable", "true"),
    ];
    if let Some(d) = &p.description {
        v.push(Xml::text("Description", d));
    }
    v.push(Xml::text("CreateDate", iso8601(p.created_ms)));
    v.push(Xml::text("UpdateDate", iso8601(p.updated_ms)));
    v
}

pub(super) fn not_truncated() -> Xml {
    Xml::text("IsTruncated", "false")
}
