//! Customer managed policies: create, read, delete, list.

use trent_policy::PolicyKind;
use trent_store::StoreError;
use trent_store::iam::{ManagedPolicyRecord, PolicyVersionRecord};

use super::ids;
use super::query::{check_name, check_path, iso8601, parse_document, url_encode};
use super::render::{not_truncated, policy_xml};
use super::request::Request;
use super::wire::{IamError, IamResult, Xml};

pub(super) fn create(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let p = r.params;
    let name = p.require("PolicyName", "policyName")?;
    check_name(name, "policyName", 128)?;
    let path = p.get("Path").unwrap_or("/");
    check_path(path, "path")?;
    let doc = p.require("PolicyDocument", "policyDocument")?;
    let arn = format!("arn:aws:iam::{}:policy{path}{name}", r.account);
    r.authorize(arn)?;
    parse_document(doc, PolicyKind::IdentityPolicy)?;
    let policy = ManagedPolicyRecord {
        account: r.account.clone(),
        name: name.to_string(),
        path: path.to_string(),
        unique_id: ids::unique_id("ANPA")?,
        created_ms: r.now,
        updated_ms: r.now,
        description: p.get("Description").map(str::to_string),
        default_version: "v1".to_string(),
        versions: vec![PolicyVersionRecord {
            version_id: "v1".to_string(),
            document: doc.to_string(),
            created_ms: r.now,
        }],
    };
    match r.kms.store.create_managed_policy(&policy) {
        Err(StoreError::AlreadyExists) => {
            return Err(IamError::already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        other => other?,
    }
    r.changed()?;
    Ok(vec![Xml::Node("Policy", policy_xml(&policy, (0, 0)))])
}

/// The policy a request names with `PolicyArn`, authorized on that ARN.
fn named<'p>(r: &Request<'p>) -> IamResult<(ManagedPolicyRecord, &'p str)> {
    let arn = r.params.require("PolicyArn", "policyArn")?;
    r.authorize(arn)?;
    let policy = r
        .find_policy(arn)
        .map_err(|_| IamError::no_such_entity(format!("Policy {arn} was not found.")))?;
    Ok((policy, arn))
}

pub(super) fn get(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let (policy, arn) = named(r)?;
    Ok(vec![Xml::Node(
        "Policy",
        policy_xml(&policy, r.uses_of(arn)),
    )])
}

pub(super) fn get_version(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let (policy, arn) = named(r)?;
    let version = r.params.require("VersionId", "versionId")?;
    let v = policy
        .versions
        .iter()
        .find(|v| v.version_id == version)
        .ok_or_else(|| {
            IamError::no_such_entity(format!(
                "Policy {arn} version {version} does not exist or is not attachable."
            ))
        })?;
    Ok(vec![Xml::Node(
        "PolicyVersion",
        vec![
            Xml::text("Document", url_encode(&v.document)),
            Xml::text("VersionId", &v.version_id),
            Xml::text(
                "IsDefaultVersion",
                (v.version_id == policy.default_version).to_string(),
            ),
            Xml::text("CreateDate", iso8601(v.created_ms)),
        ],
    )])
}

pub(super) fn delete(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let (policy, arn) = named(r)?;
    // A policy in use as a permissions boundary cannot go either (the store refuses attached
    // ones itself).
    if r.uses_of(arn).1 > 0 {
        return Err(attached());
    }
    match r
        .kms
        .store
        .delete_managed_policy(&r.account, &policy.name, arn)
    {
        Err(StoreError::Conflict(_)) => return Err(attached()),
        other => other?,
    }
    r.changed()?;
    Ok(vec![])
}

fn attached() -> IamError {
    IamError::delete_conflict("Cannot delete a policy attached to entities.")
}

pub(super) fn list(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    r.authorize(format!("arn:aws:iam::{}:policy/", r.account))?;
    let p = r.params;
    let scope = p.get("Scope").unwrap_or("All");
    let only_attached = p.get("OnlyAttached") == Some("true");
    let prefix = p.get("PathPrefix").unwrap_or("/");
    let policies = r
        .stored()
        .policies
        .iter()
        .filter(|pol| pol.account == r.account && pol.path.starts_with(prefix))
        // Trent has no AWS managed policies.
        .filter(|_| scope != "AWS")
        .map(|pol| (pol, r.uses_of(&pol.arn())))
        .filter(|(_, (attached, _))| !only_attached || *attached > 0)
        .map(|(pol, n)| policy_xml(pol, n))
        .collect();
    Ok(vec![Xml::list("Policies", policies), not_truncated()])
}
