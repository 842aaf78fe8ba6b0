//! The input document of `trent policy simulate`, as written: its fields, and the policies and
//! grants it carries, parsed and checked the way the server would have accepted them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use trent_policy::{Policy, PolicyError, PolicyKind};

use super::{SimulateError, invalid};
use crate::authz::decide::IdentityPolicy;
use crate::operation::GRANT_OPERATIONS;

/// The whole document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Input {
    pub(super) principal: String,
    #[serde(default)]
    pub(super) principal_tags: BTreeMap<String, String>,
    /// The full role ARN (with its path) of a session; `arn:aws:iam::A:role/R` by default.
    pub(super) role_arn: Option<String>,
    pub(super) action: String,
    pub(super) resource: String,
    /// The account owning the resource, for ARNs without one (`arn:aws:s3:::bucket`).
    pub(super) resource_account: Option<String>,
    #[serde(default)]
    pub(super) context: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub(super) identity_policies: Vec<Box<RawValue>>,
    pub(super) resource_policy: Option<Box<RawValue>>,
    #[serde(default)]
    pub(super) grants: Vec<GrantInput>,
    /// The caller's permissions boundary (a user's or role's; a session has its role's).
    pub(super) permissions_boundary: Option<Box<RawValue>>,
    /// SCPs over the caller's account, each optionally with the `target` (organization level:
    /// `r-…`, `ou-…`, the account) it is attached to; at every level one must allow.
    #[serde(default)]
    pub(super) service_control_policies: Vec<Box<RawValue>>,
    /// RCPs over the resource's account (they take away only by explicit deny).
    #[serde(default)]
    pub(super) resource_control_policies: Vec<Box<RawValue>>,
    /// Session policies of the caller's role session (`AssumeRole`'s `Policy`/`PolicyArns`).
    pub(super) session_policies: Option<Vec<Box<RawValue>>>,
}

/// `{"name": "...", "document": {...}}`: a named identity policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedPolicyInput {
    name: Option<String>,
    document: Box<RawValue>,
    /// SCPs only: the organization level the policy is attached to.
    target: Option<String>,
}

/// A grant, as ListGrants returns it (the fields that do not decide anything are accepted and
/// ignored so that ListGrants output can be pasted).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(dead_code)] // the ignored ListGrants fields
pub(super) struct GrantInput {
    pub(super) grant_id: String,
    pub(super) name: Option<String>,
    pub(super) key_id: Option<String>,
    pub(super) grantee_principal: Option<String>,
    pub(super) grantee_service_principal: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
    issuing_account: Option<String>,
    creation_date: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) operations: Vec<String>,
    #[serde(default)]
    pub(super) constraints: ConstraintsInput,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct ConstraintsInput {
    pub(super) encryption_context_subset: Option<BTreeMap<String, String>>,
    pub(super) encryption_context_equals: Option<BTreeMap<String, String>>,
    pub(super) source_arn: Option<String>,
}

/// The raw text of a policy given as a JSON object, or as a string holding the document (as
/// GetKeyPolicy returns it).
pub(super) fn policy_text(raw: &RawValue) -> Result<String, serde_json::Error> {
    if raw.get().trim_start().starts_with('"') {
        serde_json::from_str::<String>(raw.get())
    } else {
        Ok(raw.get().to_string())
    }
}

pub(super) fn parse_policy(
    text: &str,
    kind: PolicyKind,
    what: String,
) -> Result<Policy, SimulateError> {
    Policy::parse(text, kind).map_err(|e| {
        let message = match &e {
            // These two print KMS's own text; say where.
            PolicyError::InvalidPrincipal {
                location,
                principal,
                ..
            } => format!("{e} ({location}: {principal:?})"),
            PolicyError::OverlyPermissiveCondition { location, .. } => format!("{e} ({location})"),
            _ => e.to_string(),
        };
        SimulateError::Policy {
            what,
            kind,
            message: message.replace(['\n', '\r'], " "),
        }
    })
}

/// An identity policy of the input, under the name reports give it.
pub(super) struct NamedPolicy {
    pub(super) name: String,
    pub(super) policy: Policy,
    /// The `target` an SCP is attached to.
    pub(super) level: Option<String>,
}

pub(super) fn identity_policies(raws: &[Box<RawValue>]) -> Result<Vec<NamedPolicy>, SimulateError> {
    named_policies(raws, "identityPolicies", PolicyKind::IdentityPolicy)
}

/// Policies given as documents or as `{"name", "document", "target"}`, parsed as `kind`; named
/// `field[i]` when they have no name. `target` is accepted for SCPs only.
pub(super) fn named_policies(
    raws: &[Box<RawValue>],
    field: &str,
    kind: PolicyKind,
) -> Result<Vec<NamedPolicy>, SimulateError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| {
            let at = format!("{field}[{i}]");
            let value: serde_json::Value = serde_json::from_str(raw.get())?;
            let named = value
                .as_object()
                .is_some_and(|o| o.contains_key("document"));
            let (name, text, level) = if named {
                let n: NamedPolicyInput =
                    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("{at}: {e}")))?;
                if n.target.is_some() && field != "serviceControlPolicies" {
                    return Err(invalid(format!(
                        "{at}: target is for serviceControlPolicies only"
                    )));
                }
                (
                    n.name.unwrap_or_else(|| at.clone()),
                    policy_text(&n.document)?,
                    n.target,
                )
            } else {
                (at.clone(), policy_text(raw)?, None)
            };
            let what = if name == at {
                at
            } else {
                format!("{at} ({name:?})")
            };
            let policy = parse_policy(&text, kind, what)?;
            Ok(NamedPolicy {
                name,
                policy,
                level,
            })
        })
        .collect()
}

/// Checks a grant the way CreateGrant would have (the parts that matter here).
pub(super) fn validate_grant(i: usize, g: &GrantInput) -> Result<(), SimulateError> {
    let at = format!("grants[{i}]");
    if g.grant_id.is_empty() {
        return Err(invalid(format!("{at}: GrantId is empty")));
    }
    if g.grantee_principal.is_some() == g.grantee_service_principal.is_some() {
        return Err(invalid(format!(
            "{at}: give exactly one of GranteePrincipal and GranteeServicePrincipal"
        )));
    }
    if g.operations.is_empty() {
        return Err(invalid(format!("{at}: Operations is empty")));
    }
    if let Some(op) = g
        .operations
        .iter()
        .find(|o| !GRANT_OPERATIONS.contains(&o.as_str()))
    {
        return Err(invalid(format!(
            "{at}: {op:?} is not a grant operation (one of {})",
            GRANT_OPERATIONS.join(", ")
        )));
    }
    let c = &g.constraints;
    if c.encryption_context_equals.is_some() && c.encryption_context_subset.is_some() {
        return Err(invalid(format!(
            "{at}: More than one constraint supplied (EncryptionContextEquals and EncryptionContextSubset)"
        )));
    }
    Ok(())
}

/// The policies as `decide` takes them.
pub(super) fn identity_refs(identity: &[NamedPolicy]) -> Vec<IdentityPolicy<'_>> {
    identity
        .iter()
        .map(|p| IdentityPolicy {
            name: &p.name,
            policy: &p.policy,
        })
        .collect()
}
