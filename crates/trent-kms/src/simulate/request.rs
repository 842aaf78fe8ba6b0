//! The request an input describes: who asks (the principal, checked against the ARN forms that
//! can make requests), what (one action, in AWS's spelling for KMS), on which resource, with
//! which condition keys, and which of the three sets of rules applies ([`Target`]).

use std::collections::BTreeMap;

use trent_policy::{ConditionContext, ContextValue, PolicyKind, Principal, PrincipalKind};

use super::input::{
    Input, NamedPolicy, identity_policies, identity_refs, named_policies, policy_text,
    validate_grant,
};
use super::{SimulateError, invalid};
use crate::arn::is_account_id;
use crate::authz::context::{principal_keys, time_keys};
use crate::authz::decide::{Guardrail, GuardrailPolicy, IdentityPolicy};
use crate::clock::{Clock, SystemClock};

const EC_PREFIX: &str = "kms:EncryptionContext:";

fn is_partition(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// The caller, from its ARN or service-principal name (spec §1.1).
fn parse_principal(s: &str, role_arn: Option<&str>) -> Result<Principal, SimulateError> {
    let unknown = || SimulateError::Principal(s.to_string());
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let principal = match parts.as_slice() {
        ["arn", partition, service, "", account, resource]
            if is_partition(partition) && is_account_id(account) =>
        {
            let name_ok = |n: &str| !n.is_empty() && !n.contains(['*', '?']);
            match (*service, resource.split_once('/')) {
                ("iam", None) if *resource == "root" => Principal::root(account),
                ("iam", None) => return Err(unknown()),
                ("iam", Some(("user", rest)))
                    if rest.split('/').next_back().is_some_and(name_ok) =>
                {
                    Principal::user(s)
                }
                ("iam", Some(("role", _))) => {
                    return Err(invalid(format!(
                        "principal {s:?} is a role, which cannot make requests: give a session of it (arn:{partition}:sts::{account}:assumed-role/ROLE/SESSION)"
                    )));
                }
                ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                    Some((role, session))
                        if name_ok(role) && name_ok(session) && !session.contains('/') =>
                    {
                        let default_role = format!("arn:{partition}:iam::{account}:role/{role}");
                        let role_arn = match role_arn {
                            None => default_role,
                            Some(r) => {
                                let ok = r
                                    .strip_prefix(&format!("arn:{partition}:iam::{account}:role/"))
                                    .is_some_and(|p| p.rsplit('/').next() == Some(role));
                                if !ok {
                                    return Err(invalid(format!(
                                        "roleArn {r:?} is not the ARN of role {role:?} of account {account}"
                                    )));
                                }
                                r.to_string()
                            }
                        };
                        return Ok(Principal::assumed_role(s, &role_arn));
                    }
                    _ => return Err(unknown()),
                },
                ("sts", Some(("federated-user", name))) if name_ok(name) && !name.contains('/') => {
                    Principal::federated_user(s)
                }
                _ => return Err(unknown()),
            }
        }
        [name] if is_service_principal(name) => Principal::service(name),
        _ => return Err(unknown()),
    };
    if role_arn.is_some() {
        return Err(invalid(format!(
            "roleArn is only for assumed-role sessions, and {s:?} is not one"
        )));
    }
    Ok(principal)
}

/// `^([A-Za-z0-9-]+)\.([A-Za-z0-9-]+)(\.[A-Za-z0-9-]+)+$` (the API model's pattern).
fn is_service_principal(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 3
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `service:Name`, no wildcards; KMS actions in AWS's spelling.
fn parse_action(s: &str) -> Result<String, SimulateError> {
    let bad = || {
        invalid(format!(
            "action {s:?} must be one action such as \"kms:Decrypt\" (service:Name, no wildcards)"
        ))
    };
    let (service, name) = s.split_once(':').ok_or_else(bad)?;
    let service_ok = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
    if !service_ok || !name_ok {
        return Err(bad());
    }
    if !service.eq_ignore_ascii_case("kms") {
        return Ok(s.to_string());
    }
    crate::operation::all_actions()
        .find(|a| {
            a.strip_prefix("kms:")
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("unknown KMS action {s:?}")))
}

/// What the request is checked against.
pub(super) enum Target {
    /// A KMS key ARN: the key policy is the root of trust.
    Key {
        region: String,
        account: String,
        key_id: String,
    },
    /// A `kms:` action on `*` or on an alias ARN: IAM policies alone decide, as in the server.
    KmsWithoutKey,
    /// Anything else: the general IAM rules.
    General { account: Option<String> },
}

fn parse_resource(resource: &str) -> Result<Vec<&str>, SimulateError> {
    if resource == "*" {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, service, _, _, rest]
            if is_partition(partition) && !service.is_empty() && !rest.is_empty() =>
        {
            Ok(parts)
        }
        _ => Err(invalid(format!(
            "resource {resource:?} must be \"*\" or an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
        ))),
    }
}

fn target(action: &str, resource: &str, parts: &[&str]) -> Result<Target, SimulateError> {
    let kms_action = action.starts_with("kms:");
    if parts.is_empty() {
        return Ok(if kms_action {
            Target::KmsWithoutKey
        } else {
            Target::General { account: None }
        });
    }
    let (service, region, account, rest) = (parts[2], parts[3], parts[4], parts[5]);
    if kms_action && service == "kms" {
        if !is_account_id(account) || region.is_empty() {
            return Err(invalid(format!(
                "resource {resource:?} is not a KMS ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"
            )));
        }
        if let Some(key_id) = rest.strip_prefix("key/").filter(|k| !k.is_empty()) {
            return Ok(Target::Key {
                region: region.to_string(),
                account: account.to_string(),
                key_id: key_id.to_string(),
            });
        }
        if rest.starts_with("alias/") {
            return Ok(Target::KmsWithoutKey);
        }
    }
    Ok(Target::General {
        account: (!account.is_empty()).then(|| account.to_string()),
    })
}

/// A condition-key value from JSON: strings, numbers and booleans are single values, arrays of
/// them multi-valued keys.
fn context_value(key: &str, v: &serde_json::Value) -> Result<ContextValue, SimulateError> {
    use serde_json::Value as J;
    let scalar = |v: &J| match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let bad = || {
        invalid(format!(
            "context key {key:?}: a value must be a string, number, boolean or an array of those"
        ))
    };
    match v {
        J::Array(items) => items
            .iter()
            .map(|i| scalar(i).ok_or_else(bad))
            .collect::<Result<Vec<String>, _>>()
            .map(ContextValue::Multi),
        other => scalar(other).map(ContextValue::Single).ok_or_else(bad),
    }
}

/// The condition keys, case-insensitive by name but shown as first written.
#[derive(Default)]
pub(super) struct Keys(BTreeMap<String, (String, ContextValue)>);

impl Keys {
    fn set(&mut self, name: impl Into<String>, value: impl Into<ContextValue>) {
        let name = name.into();
        self.0.insert(name.to_lowercase(), (name, value.into()));
    }

    pub(super) fn get(&self, name: &str) -> Option<&ContextValue> {
        self.0.get(&name.to_lowercase()).map(|(_, v)| v)
    }

    fn context(&self) -> ConditionContext {
        self.0.values().map(|(k, v)| (k, v.clone())).collect()
    }

    pub(super) fn shown(&self) -> BTreeMap<String, ContextValue> {
        self.0.values().cloned().collect()
    }
}

/// A request fully parsed from the input.
pub(super) struct Request {
    pub(super) principal: Principal,
    pub(super) action: String,
    pub(super) resource: String,
    /// The condition keys, as shown in the explanation.
    pub(super) keys: Keys,
    /// The same keys, as the policies see them.
    pub(super) context: ConditionContext,
    /// The `kms:EncryptionContext:` pairs of the context, for grant constraints.
    pub(super) encryption_context: BTreeMap<String, String>,
    pub(super) identity: Vec<NamedPolicy>,
    /// SCPs, RCPs and the permissions boundary, in that order.
    pub(super) guardrails: Vec<(Guardrail, NamedPolicy)>,
    pub(super) session: Option<Vec<NamedPolicy>>,
    /// The resource policy's text (parsed by the rules that use it, as a key policy or not).
    pub(super) resource_policy: Option<String>,
}

impl Request {
    /// The policies of the question, as [`crate::authz::decide::Question`] takes them:
    /// identity policies, guardrails, session policies.
    pub(super) fn policy_refs(
        &self,
    ) -> (
        Vec<IdentityPolicy<'_>>,
        Vec<GuardrailPolicy<'_>>,
        Option<Vec<IdentityPolicy<'_>>>,
    ) {
        let guardrails = self
            .guardrails
            .iter()
            .map(|(guardrail, p)| GuardrailPolicy {
                guardrail: *guardrail,
                name: &p.name,
                level: match guardrail {
                    // An SCP without a target is attached to the caller's account.
                    Guardrail::ServiceControlPolicy => {
                        Some(p.level.as_deref().unwrap_or(&self.principal.account))
                    }
                    _ => None,
                },
                policy: &p.policy,
            })
            .collect();
        (
            identity_refs(&self.identity),
            guardrails,
            self.session.as_deref().map(identity_refs),
        )
    }
}

/// The `kms:EncryptionContext:<k>` pairs of the input context (`<k>` as written).
fn encryption_context(
    context: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, SimulateError> {
    let mut ec = BTreeMap::new();
    for (k, v) in context {
        let Some(name) = k
            .get(..EC_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(EC_PREFIX))
            .and_then(|_| k.get(EC_PREFIX.len()..))
        else {
            continue;
        };
        let value = v.as_str().ok_or_else(|| {
            invalid(format!(
                "context key {k:?}: an encryption context value must be a string"
            ))
        })?;
        if name.is_empty() {
            return Err(invalid(format!(
                "context key {k:?} names no encryption context key"
            )));
        }
        ec.insert(name.to_string(), value.to_string());
    }
    Ok(ec)
}

/// The request the input describes, and the rules that decide it.
pub(super) fn parse_request(input: &Input) -> Result<(Request, Target), SimulateError> {
    let principal = parse_principal(&input.principal, input.role_arn.as_deref())?;
    let action = parse_action(&input.action)?;
    let resource = input.resource.clone();
    let parts = parse_resource(&resource)?;
    let target = target(&action, &resource, &parts)?;
    if let Some(a) = &input.resource_account
        && !is_account_id(a)
    {
        return Err(invalid(format!("resourceAccount {a:?} must be 12 digits")));
    }
    let identity = identity_policies(&input.identity_policies)?;
    if principal.kind == PrincipalKind::Service && !identity.is_empty() {
        return Err(invalid(
            "identityPolicies: a service principal has no identity policies",
        ));
    }
    let mut guardrails = Vec::new();
    for (guardrail, field, raws, kind) in [
        (
            Guardrail::ServiceControlPolicy,
            "serviceControlPolicies",
            input.service_control_policies.as_slice(),
            PolicyKind::IdentityPolicy,
        ),
        (
            Guardrail::ResourceControlPolicy,
            "resourceControlPolicies",
            input.resource_control_policies.as_slice(),
            PolicyKind::KeyPolicy,
        ),
        (
            Guardrail::PermissionsBoundary,
            "permissionsBoundary",
            input.permissions_boundary.as_slice(),
            PolicyKind::IdentityPolicy,
        ),
    ] {
        guardrails.extend(
            named_policies(raws, field, kind)?
                .into_iter()
                .map(|p| (guardrail, p)),
        );
    }
    let boundary_holder = matches!(
        principal.kind,
        PrincipalKind::User | PrincipalKind::AssumedRole { .. }
    );
    if input.permissions_boundary.is_some() && !boundary_holder {
        return Err(invalid(
            "permissionsBoundary: only IAM users and roles (their sessions) have one",
        ));
    }
    let session = match &input.session_policies {
        Some(_) if !matches!(principal.kind, PrincipalKind::AssumedRole { .. }) => {
            return Err(invalid(
                "sessionPolicies: only role sessions (assumed-role principals) have them",
            ));
        }
        Some(raws) => Some(named_policies(
            raws,
            "sessionPolicies",
            PolicyKind::IdentityPolicy,
        )?),
        None => None,
    };
    for (i, g) in input.grants.iter().enumerate() {
        validate_grant(i, g)?;
    }
    let encryption_context = encryption_context(&input.context)?;

    // Condition keys: those the server derives from the caller and the request, then the
    // input's, which win.
    let mut keys = Keys::default();
    for (k, v) in time_keys(SystemClock.now_ms()) {
        keys.set(k, v);
    }
    for (k, v) in principal_keys(&principal, &input.principal_tags) {
        keys.set(k, v);
    }
    if principal.kind != PrincipalKind::Service {
        keys.set("aws:ViaAWSService", false);
    }
    if let Some(region) = parts.get(3).filter(|r| !r.is_empty()) {
        keys.set("aws:RequestedRegion", *region);
    }
    if !encryption_context.is_empty() {
        keys.set(
            "kms:EncryptionContextKeys",
            encryption_context.keys().cloned().collect::<Vec<String>>(),
        );
    }
    for (k, v) in &input.context {
        keys.set(k.clone(), context_value(k, v)?);
    }
    let context = keys.context();
    let resource_policy = input
        .resource_policy
        .as_deref()
        .map(policy_text)
        .transpose()?;
    Ok((
        Request {
            principal,
            action,
            resource,
            keys,
            context,
            encryption_context,
            identity,
            guardrails,
            session,
            resource_policy,
        },
        target,
    ))
}
