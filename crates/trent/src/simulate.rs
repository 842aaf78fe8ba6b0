//! `trent policy simulate`: decides one request offline, from a JSON description of the caller,
//! the request, the policies and the grants, and explains the decision.
//!
//! `kms:` actions on KMS key ARNs, on KMS alias ARNs and on `*` go through the very procedure
//! the server uses ([`trent_kms::authz::decide::decide`], grants through
//! [`trent_kms::authz::grants::evaluate_grant`]), with the caller's condition keys built by the
//! server's own [`trent_kms::authz::context::principal_keys`], so the two cannot disagree.
//! Every other request follows the general IAM rules (same account: an identity policy or the
//! resource policy allows; another account: both must; an explicit deny wins), which live here:
//! `trent-policy` leaves combining policies to its callers, and this is the only one that needs
//! the general rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use trent_kms::authz::context::{principal_keys, time_keys};
use trent_kms::authz::decide::{
    self, Decision, GrantOutcome, IdentityAllow, IdentityPolicy, NamedEvaluation, Outcome,
    Question, Reason, ResourceAccess, ResourcePolicyRole, StatementRef,
};
use trent_kms::authz::grants::{GrantConstraints, GrantRequest, GrantView, evaluate_grant};
use trent_kms::operation::{GRANT_OPERATIONS, grant_operation, is_cross_account_action};
use trent_policy::{
    ConditionContext, ContextValue, Mismatch, Policy, PolicyError, PolicyEvaluation, PolicyKind,
    Principal, PrincipalKind, PrincipalMatch, StatementOutcome,
};

/// `trent policy …`
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Decide one request offline and explain the decision (reads a JSON document).
    Simulate(SimulateArgs),
}

impl PolicyCommand {
    pub fn run(self) -> Result<(), SimulateError> {
        match self {
            PolicyCommand::Simulate(args) => run(&args),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The JSON input; standard input when absent or `-`.
    pub file: Option<PathBuf>,
    /// Print a trace: every statement of every policy and every grant, and why it did or did
    /// not apply.
    #[arg(long)]
    pub explain: bool,
    /// Print machine-readable JSON (decision, allowedBy/deniedBy, message, explanation).
    #[arg(long)]
    pub json: bool,
}

/// Why the input could not be simulated. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("no input: expected one JSON document")]
    Empty,
    #[error("the input is not valid JSON: {0}")]
    Syntax(serde_json::Error),
    #[error("invalid input: {0}")]
    Json(serde_json::Error),
    #[error(
        "unknown principal form {0:?}: expected arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:user/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, arn:aws:sts::ACCOUNT:federated-user/NAME or a service principal such as lambda.amazonaws.com"
    )]
    Principal(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("{what} is not a valid {kind}: {message}")]
    Policy {
        what: String,
        kind: PolicyKind,
        message: String,
    },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl From<serde_json::Error> for SimulateError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_syntax() || e.is_eof() {
            SimulateError::Syntax(e)
        } else {
            SimulateError::Json(e)
        }
    }
}

fn invalid(message: impl Into<String>) -> SimulateError {
    SimulateError::Invalid(message.into())
}

// ---- input -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Input {
    principal: String,
    #[serde(default)]
    principal_tags: BTreeMap<String, String>,
    /// The full role ARN (with its path) of a session; `arn:aws:iam::A:role/R` by default.
    role_arn: Option<String>,
    action: String,
    resource: String,
    /// The account owning the resource, for ARNs without one (`arn:aws:s3:::bucket`).
    resource_account: Option<String>,
    #[serde(default)]
    context: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    identity_policies: Vec<Box<RawValue>>,
    resource_policy: Option<Box<RawValue>>,
    #[serde(default)]
    grants: Vec<GrantInput>,
}

/// `{"name": "...", "document": {...}}`: a named identity policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedPolicyInput {
    name: Option<String>,
    document: Box<RawValue>,
}

/// A grant, as ListGrants returns it (the fields that do not decide anything are accepted and
/// ignored so that ListGrants output can be pasted).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(dead_code)] // the ignored ListGrants fields
struct GrantInput {
    grant_id: String,
    name: Option<String>,
    key_id: Option<String>,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
    issuing_account: Option<String>,
    creation_date: Option<serde_json::Value>,
    #[serde(default)]
    operations: Vec<String>,
    #[serde(default)]
    constraints: ConstraintsInput,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ConstraintsInput {
    encryption_context_subset: Option<BTreeMap<String, String>>,
    encryption_context_equals: Option<BTreeMap<String, String>>,
    source_arn: Option<String>,
}

const EC_PREFIX: &str = "kms:EncryptionContext:";

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

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
    trent_kms::operation::all_actions()
        .find(|a| {
            a.strip_prefix("kms:")
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("unknown KMS action {s:?}")))
}

/// What the request is checked against.
enum Target {
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
struct Keys(BTreeMap<String, (String, ContextValue)>);

impl Keys {
    fn set(&mut self, name: impl Into<String>, value: impl Into<ContextValue>) {
        let name = name.into();
        self.0.insert(name.to_lowercase(), (name, value.into()));
    }

    fn get(&self, name: &str) -> Option<&ContextValue> {
        self.0.get(&name.to_lowercase()).map(|(_, v)| v)
    }

    fn context(&self) -> ConditionContext {
        self.0.values().map(|(k, v)| (k, v.clone())).collect()
    }

    fn shown(&self) -> BTreeMap<String, ContextValue> {
        self.0.values().cloned().collect()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The raw text of a policy given as a JSON object, or as a string holding the document (as
/// GetKeyPolicy returns it).
fn policy_text(raw: &RawValue) -> Result<String, serde_json::Error> {
    if raw.get().trim_start().starts_with('"') {
        serde_json::from_str::<String>(raw.get())
    } else {
        Ok(raw.get().to_string())
    }
}

fn parse_policy(text: &str, kind: PolicyKind, what: String) -> Result<Policy, SimulateError> {
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

struct NamedPolicy {
    name: String,
    policy: Policy,
}

fn identity_policies(raws: &[Box<RawValue>]) -> Result<Vec<NamedPolicy>, SimulateError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| {
            let at = format!("identityPolicies[{i}]");
            let value: serde_json::Value = serde_json::from_str(raw.get())?;
            let named = value
                .as_object()
                .is_some_and(|o| o.contains_key("document"));
            let (name, text) = if named {
                let n: NamedPolicyInput =
                    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("{at}: {e}")))?;
                (
                    n.name.unwrap_or_else(|| at.clone()),
                    policy_text(&n.document)?,
                )
            } else {
                (at.clone(), policy_text(raw)?)
            };
            let what = if name == at {
                at
            } else {
                format!("{at} ({name:?})")
            };
            let policy = parse_policy(&text, PolicyKind::IdentityPolicy, what)?;
            Ok(NamedPolicy { name, policy })
        })
        .collect()
}

/// Checks a grant the way CreateGrant would have (the parts that matter here).
fn validate_grant(i: usize, g: &GrantInput) -> Result<(), SimulateError> {
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

// ---- output ------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    decision: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_by: Option<Why>,
    #[serde(skip_serializing_if = "Option::is_none")]
    denied_by: Option<Why>,
    /// AWS's AccessDeniedException message, for denials.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    explanation: Explanation,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Explanation {
    /// `kms-key`, `kms-iam-only` or `iam`: which rules decided.
    rules: &'static str,
    /// One line: why it came out so.
    summary: String,
    principal: PrincipalOut,
    action: String,
    resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_account: Option<String>,
    /// The key policy (KMS keys) or resource policy (other resources).
    resource_policy: PolicySection,
    identity_policies: IdentitySection,
    grants: GrantSection,
    /// The condition keys the policies saw.
    context: BTreeMap<String, ContextValue>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalOut {
    arn: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicySection {
    /// `key policy` or `resource policy`.
    label: &'static str,
    consulted: bool,
    /// `input`, `default` (the default key policy of §8.1) or `none`.
    source: &'static str,
    note: String,
    statements: Vec<StatementOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatementOut {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    effect: String,
    applies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_match: Option<PrincipalMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatch: Option<Mismatch>,
    /// The same, in words.
    why: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentitySection {
    consulted: bool,
    note: String,
    policies: Vec<NamedStatements>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NamedStatements {
    name: String,
    statements: Vec<StatementOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GrantSection {
    consulted: bool,
    note: String,
    grants: Vec<GrantOutcome>,
}

fn statements(e: &PolicyEvaluation) -> Vec<StatementOut> {
    e.statements.iter().map(statement_out).collect()
}

fn statement_out(s: &StatementOutcome) -> StatementOut {
    let why = match (&s.mismatch, s.principal_match) {
        (None, Some(m)) => format!("{} applies ({m} principal match)", s.effect),
        (None, None) => format!("{} applies", s.effect),
        (Some(mismatch), _) => format!("{} does not apply: {mismatch}", s.effect),
    };
    StatementOut {
        index: s.index,
        sid: s.sid.clone(),
        effect: s.effect.to_string(),
        applies: s.applies,
        principal_match: s.principal_match,
        mismatch: s.mismatch.clone(),
        why,
    }
}

fn principal_out(p: &Principal) -> PrincipalOut {
    let (kind, role_arn) = match &p.kind {
        PrincipalKind::Root => ("Root", None),
        PrincipalKind::User => ("User", None),
        PrincipalKind::AssumedRole { role_arn } => ("AssumedRole", Some(role_arn.clone())),
        PrincipalKind::FederatedUser => ("FederatedUser", None),
        PrincipalKind::Service => ("Service", None),
    };
    PrincipalOut {
        arn: p.arn.clone(),
        account: p.account.clone(),
        kind,
        role_arn,
    }
}

fn stmt(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("statement {} (Sid {sid:?})", s.index),
        None => format!("statement {}", s.index),
    }
}

fn identity_allow(i: &IdentityAllow) -> String {
    match i {
        IdentityAllow::RootUser => "the root user's implicit IAM permissions".to_string(),
        IdentityAllow::IdentityPolicy { policy, statement } => {
            format!("identity policy {policy:?} {}", stmt(statement))
        }
    }
}

fn kms_reason(r: &Reason, action: &str, caller_account: &str) -> String {
    match r {
        Reason::KeyPolicyAllows { statement } => {
            format!("key policy {} names the caller", stmt(statement))
        }
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => format!(
            "key policy {} together with {}",
            stmt(statement),
            identity_allow(identity)
        ),
        Reason::IdentityAllows { identity } => identity_allow(identity),
        Reason::Grant { grant_id, name } => match name {
            Some(n) => format!("grant {grant_id} (name {n:?})"),
            None => format!("grant {grant_id}"),
        },
        Reason::KeyPolicyDenies { statement } => {
            format!("key policy {} denies explicitly", stmt(statement))
        }
        Reason::IdentityPolicyDenies { policy, statement } => {
            format!(
                "identity policy {policy:?} {} denies explicitly",
                stmt(statement)
            )
        }
        Reason::NoResourceBasedAllow => {
            "no key-policy statement (and no grant) allows the caller or its account".to_string()
        }
        Reason::NoIdentityBasedAllow => {
            format!("no identity policy of the caller (account {caller_account}) allows {action}")
        }
        Reason::NotCrossAccountAction => {
            format!("{action} cannot be used on a KMS key of another account")
        }
        Reason::SessionPolicyDenies { policy, statement } => {
            format!("{policy} {} denies explicitly", stmt(statement))
        }
        Reason::NoSessionPolicyAllow => format!("no session policy allows {action}"),
    }
}

/// How each grant of the input relates to the request (grants only ever apply to key checks).
fn grant_outcomes(r: &Request, grants: &[GrantInput], key_id: &str) -> Vec<GrantOutcome> {
    // As in the server: grants count only for actions a grant can allow.
    let Some(operation) = grant_operation(&r.action) else {
        return Vec::new();
    };
    let source_arn = match r.keys.get("aws:SourceArn") {
        Some(ContextValue::Single(s)) => Some(s.as_str()),
        _ => None,
    };
    let ec = (!r.encryption_context.is_empty()).then_some(&r.encryption_context);
    grants
        .iter()
        .map(|g| {
            let constraints = GrantConstraints {
                encryption_context_subset: g.constraints.encryption_context_subset.clone(),
                encryption_context_equals: g.constraints.encryption_context_equals.clone(),
                source_arn: g.constraints.source_arn.clone(),
            };
            let mut outcome = evaluate_grant(
                &GrantView {
                    grant_id: &g.grant_id,
                    name: g.name.as_deref(),
                    grantee_principal: g.grantee_principal.as_deref(),
                    grantee_service_principal: g.grantee_service_principal.as_deref(),
                    operations: &g.operations,
                    constraints: &constraints,
                },
                &GrantRequest {
                    principal: &r.principal,
                    operation,
                    encryption_context: ec,
                    source_arn,
                },
            );
            // A grant is for one key (spec §5.4.1).
            if let Some(k) = &g.key_id
                && *k != r.resource
                && k != key_id
            {
                outcome.grantee_matches = false;
                outcome.applies = false;
                outcome.mismatch = Some(format!("the grant is for key {k}, not {}", r.resource));
            }
            outcome
        })
        .collect()
}

/// The outcome of the general IAM rules.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum IamReason {
    ResourcePolicyAllows {
        statement: StatementRef,
    },
    IdentityAllows {
        identity: IdentityAllow,
    },
    /// Cross-account: the resource policy names the caller or its account, and IAM allows.
    ResourcePolicyAndIdentityAllow {
        statement: StatementRef,
        identity: IdentityAllow,
    },
    ResourcePolicyDenies {
        statement: StatementRef,
    },
    IdentityPolicyDenies {
        policy: String,
        statement: StatementRef,
    },
    NoResourceBasedAllow,
    NoIdentityBasedAllow,
}

/// The general rule's reasons under the names `policy simulate` reports them by (a key policy's
/// reasons are named for keys; here the resource policy is any resource's).
fn iam_reason(reason: Reason) -> IamReason {
    match reason {
        Reason::KeyPolicyAllows { statement } => IamReason::ResourcePolicyAllows { statement },
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => IamReason::ResourcePolicyAndIdentityAllow {
            statement,
            identity,
        },
        Reason::IdentityAllows { identity } => IamReason::IdentityAllows { identity },
        Reason::KeyPolicyDenies { statement } => IamReason::ResourcePolicyDenies { statement },
        Reason::IdentityPolicyDenies { policy, statement } => {
            IamReason::IdentityPolicyDenies { policy, statement }
        }
        Reason::NoIdentityBasedAllow => IamReason::NoIdentityBasedAllow,
        // Grants, session policies and the cross-account action rule take no part in the
        // general rule (no grants, no sessions, every action may cross accounts).
        Reason::NoResourceBasedAllow
        | Reason::Grant { .. }
        | Reason::NotCrossAccountAction
        | Reason::SessionPolicyDenies { .. }
        | Reason::NoSessionPolicyAllow => IamReason::NoResourceBasedAllow,
    }
}

fn iam_reason_text(r: &IamReason, action: &str) -> String {
    match r {
        IamReason::ResourcePolicyAllows { statement } => {
            format!("resource policy {} names the caller", stmt(statement))
        }
        IamReason::IdentityAllows { identity } => identity_allow(identity),
        IamReason::ResourcePolicyAndIdentityAllow {
            statement,
            identity,
        } => format!(
            "resource policy {} together with {}",
            stmt(statement),
            identity_allow(identity)
        ),
        IamReason::ResourcePolicyDenies { statement } => {
            format!("resource policy {} denies explicitly", stmt(statement))
        }
        IamReason::IdentityPolicyDenies { policy, statement } => format!(
            "identity policy {policy:?} {} denies explicitly",
            stmt(statement)
        ),
        IamReason::NoResourceBasedAllow => {
            format!("no resource-policy statement allows the caller or its account {action}")
        }
        IamReason::NoIdentityBasedAllow => format!("no identity policy allows {action}"),
    }
}

fn named(evaluations: &[NamedEvaluation]) -> Vec<NamedStatements> {
    evaluations
        .iter()
        .map(|e| NamedStatements {
            name: e.name.clone(),
            statements: statements(&e.evaluation),
        })
        .collect()
}

/// What decided: the KMS procedure's reason, or the general IAM rules'.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Why {
    Kms(Reason),
    Iam(IamReason),
}

/// A request fully parsed from the input.
struct Request {
    principal: Principal,
    action: String,
    resource: String,
    keys: Keys,
    context: ConditionContext,
    encryption_context: BTreeMap<String, String>,
    identity: Vec<NamedPolicy>,
    resource_policy: Option<String>,
}

/// What one set of rules concluded, with the sections of the explanation it can fill in.
struct Verdict {
    outcome: Outcome,
    why: Why,
    summary: String,
    message: Option<String>,
    rules: &'static str,
    resource_account: Option<String>,
    resource_policy: PolicySection,
    identity_policies: IdentitySection,
    grants: GrantSection,
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

fn parse_request(input: &Input) -> Result<(Request, Target), SimulateError> {
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
    for (i, g) in input.grants.iter().enumerate() {
        validate_grant(i, g)?;
    }
    let encryption_context = encryption_context(&input.context)?;

    // Condition keys: those the server derives from the caller and the request, then the
    // input's, which win.
    let mut keys = Keys::default();
    for (k, v) in time_keys(now_ms()) {
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
            resource_policy,
        },
        target,
    ))
}

fn identity_refs(identity: &[NamedPolicy]) -> Vec<IdentityPolicy<'_>> {
    identity
        .iter()
        .map(|p| IdentityPolicy {
            name: &p.name,
            policy: &p.policy,
        })
        .collect()
}

/// The outcome, reason and AccessDenied message of a KMS decision.
fn kms_verdict(
    r: &Request,
    decision: &Decision,
    rules: &'static str,
    sections: (PolicySection, IdentitySection, GrantSection),
    resource_account: Option<String>,
) -> Verdict {
    let (resource_policy, identity_policies, grants) = sections;
    Verdict {
        outcome: decision.outcome,
        why: Why::Kms(decision.reason.clone()),
        summary: kms_reason(&decision.reason, &r.action, &r.principal.account),
        message: (!decision.is_allowed()).then(|| decision.denial_message(&r.principal.arn)),
        rules,
        resource_account,
        resource_policy,
        identity_policies,
        grants,
    }
}

/// A `kms:` action on a KMS key: the server's procedure, key policy first.
fn simulate_key(
    r: &Request,
    grants_in: &[GrantInput],
    region: &str,
    account: &str,
    key_id: &str,
) -> Result<Verdict, SimulateError> {
    let (text, source) = match &r.resource_policy {
        Some(t) => (t.clone(), "input"),
        None => (trent_kms::default_key_policy(region, account), "default"),
    };
    let key_policy = parse_policy(&text, PolicyKind::KeyPolicy, "resourcePolicy".to_string())?;
    // aws:ResourceTag/* and kms:ResourceAliases count in IAM policies only (spec §4.2).
    let mut kp_context = r.context.clone();
    let iam_only: Vec<String> = kp_context
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with("aws:resourcetag/") || k == "kms:resourcealiases")
        .collect();
    for k in iam_only {
        kp_context.remove(&k);
    }
    let grants = grant_outcomes(r, grants_in, key_id);
    let identity = identity_refs(&r.identity);
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: Some(ResourceAccess::key_policy(account, &key_policy)),
        cross_account_action: is_cross_account_action(&r.action),
        resource_policy_context: &kp_context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: None,
        grants: &grants,
    });

    let caller_account = &r.principal.account;
    let same_account = r.principal.kind == PrincipalKind::Service || caller_account == account;
    let (consulted, note) = match &decision.reason {
        _ if r.principal.kind == PrincipalKind::Service => (
            false,
            "not consulted: a service principal has no identity policies".to_string(),
        ),
        Reason::KeyPolicyDenies { .. } => (
            false,
            "not consulted: the key policy denies explicitly".to_string(),
        ),
        Reason::IdentityPolicyDenies { .. } => {
            (true, "an identity policy denies explicitly".to_string())
        }
        Reason::NotCrossAccountAction => (
            false,
            format!(
                "not consulted: {} cannot be used on a KMS key of another account",
                r.action
            ),
        ),
        _ if decision.identity_consulted && same_account => (
            true,
            format!("consulted: the key policy delegates to account {account}"),
        ),
        _ if decision.identity_consulted => (
            true,
            format!(
                "consulted: the key is in account {account}, so the caller's account {caller_account} must allow too"
            ),
        ),
        _ => (
            false,
            format!(
                "not consulted: the key policy does not delegate to account {account} (checked for explicit denies only)"
            ),
        ),
    };
    let identity_policies = IdentitySection {
        consulted,
        note,
        policies: named(&decision.identity_policies),
    };
    let statements = decision
        .key_policy
        .as_ref()
        .map(statements)
        .unwrap_or_default();
    let mut note = match source {
        "default" => format!("default key policy of account {account}: the input has none"),
        _ => "from the input".to_string(),
    };
    if statements.is_empty() {
        note.push_str("; it has no statements");
    }
    let resource_policy = PolicySection {
        label: "key policy",
        consulted: true,
        source,
        note,
        statements,
    };
    let grants = if grant_operation(&r.action).is_none() {
        GrantSection {
            consulted: false,
            note: format!("not consulted: no grant can allow {}", r.action),
            grants: Vec::new(),
        }
    } else {
        GrantSection {
            consulted: true,
            note: if decision.grants.is_empty() {
                "none".to_string()
            } else {
                format!("{} checked", decision.grants.len())
            },
            grants: decision.grants.clone(),
        }
    };
    Ok(kms_verdict(
        r,
        &decision,
        "kms-key",
        (resource_policy, identity_policies, grants),
        Some(account.to_string()),
    ))
}

/// A `kms:` action without a key (`*`, or the alias half of an alias operation): IAM policies
/// alone decide, through the server's procedure.
fn simulate_kms_without_key(r: &Request) -> Result<Verdict, SimulateError> {
    if let Some(text) = &r.resource_policy {
        // Not consulted, but a malformed document is still worth reporting.
        parse_policy(text, PolicyKind::KeyPolicy, "resourcePolicy".to_string())?;
    }
    let identity = identity_refs(&r.identity);
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: None,
        cross_account_action: false,
        resource_policy_context: &r.context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: None,
        grants: &[],
    });
    let what = if r.resource == "*" {
        format!("{} has no resource", r.action)
    } else {
        format!("{} is an alias, not a key", r.resource)
    };
    let resource_policy = PolicySection {
        label: "key policy",
        consulted: false,
        source: if r.resource_policy.is_some() {
            "input"
        } else {
            "none"
        },
        note: format!("not consulted: {what}; IAM policies alone decide"),
        statements: Vec::new(),
    };
    let identity_policies = IdentitySection {
        consulted: true,
        note: match r.principal.kind {
            PrincipalKind::Root => {
                "consulted: the root user passes the IAM side implicitly".to_string()
            }
            PrincipalKind::Service => {
                "consulted: a service principal has no identity policies".to_string()
            }
            _ => "consulted: they alone decide".to_string(),
        },
        policies: named(&decision.identity_policies),
    };
    let grants = GrantSection {
        consulted: false,
        note: format!("not consulted: {what}"),
        grants: Vec::new(),
    };
    Ok(kms_verdict(
        r,
        &decision,
        "kms-iam-only",
        (resource_policy, identity_policies, grants),
        None,
    ))
}

/// Anything but KMS: the general IAM rules.
fn simulate_general(
    r: &Request,
    input: &Input,
    arn_account: Option<&str>,
) -> Result<Verdict, SimulateError> {
    let caller_account = &r.principal.account;
    let account = input
        .resource_account
        .as_deref()
        .or(arn_account)
        .unwrap_or(caller_account)
        .to_string();
    let has_resource = r.resource != "*";
    // Resource policies are validated under the key-policy rules, the one resource-policy
    // kind trent-policy has (Principal required).
    let resource_policy = r
        .resource_policy
        .as_deref()
        .map(|t| parse_policy(t, PolicyKind::KeyPolicy, "resourcePolicy".to_string()))
        .transpose()?;
    let same_account = r.principal.kind == PrincipalKind::Service || *caller_account == account;
    let identity = identity_refs(&r.identity);
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: has_resource.then(|| ResourceAccess {
            account: &account,
            policy: resource_policy.as_ref(),
            role: ResourcePolicyRole::Additive,
            policy_principal: None,
        }),
        cross_account_action: true,
        resource_policy_context: &r.context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: None,
        grants: &[],
    });
    let resource_section = PolicySection {
        label: "resource policy",
        consulted: has_resource && resource_policy.is_some(),
        source: if resource_policy.is_some() {
            "input"
        } else {
            "none"
        },
        note: match (&resource_policy, has_resource) {
            (Some(_), true) => "from the input".to_string(),
            (Some(_), false) => format!("not consulted: {} on \"*\" has no resource", r.action),
            (None, _) => "none".to_string(),
        },
        statements: decision
            .key_policy
            .as_ref()
            .map(statements)
            .unwrap_or_default(),
    };
    let identity_policies = IdentitySection {
        consulted: r.principal.kind != PrincipalKind::Service,
        note: match r.principal.kind {
            PrincipalKind::Service => {
                "not consulted: a service principal has no identity policies".to_string()
            }
            PrincipalKind::Root if same_account => {
                "consulted: the root user passes the IAM side implicitly".to_string()
            }
            _ if same_account => format!(
                "consulted: in the resource's account {account}, an identity policy or the resource policy is enough"
            ),
            _ => format!(
                "consulted: the resource is in account {account}, so the caller's account {caller_account} must allow too"
            ),
        },
        policies: named(&decision.identity_policies),
    };
    let grants = GrantSection {
        consulted: false,
        note: if input.grants.is_empty() {
            "none".to_string()
        } else {
            "not consulted: grants apply to KMS keys only".to_string()
        },
        grants: Vec::new(),
    };
    let message = (!decision.is_allowed()).then(|| decision.denial_message(&r.principal.arn));
    let reason = iam_reason(decision.reason);
    Ok(Verdict {
        outcome: decision.outcome,
        summary: iam_reason_text(&reason, &r.action),
        why: Why::Iam(reason),
        message,
        rules: "iam",
        resource_account: has_resource.then_some(account),
        resource_policy: resource_section,
        identity_policies,
        grants,
    })
}

/// Simulates one input document.
fn simulate(text: &str) -> Result<Output, SimulateError> {
    if text.trim().is_empty() {
        return Err(SimulateError::Empty);
    }
    let input: Input = serde_json::from_str(text)?;
    let (request, target) = parse_request(&input)?;
    let verdict = match &target {
        Target::Key {
            region,
            account,
            key_id,
        } => simulate_key(&request, &input.grants, region, account, key_id)?,
        Target::KmsWithoutKey => simulate_kms_without_key(&request)?,
        Target::General { account } => simulate_general(&request, &input, account.as_deref())?,
    };
    let (allowed_by, denied_by) = if verdict.outcome == Outcome::Allow {
        (Some(verdict.why), None)
    } else {
        (None, Some(verdict.why))
    };
    Ok(Output {
        decision: verdict.outcome,
        allowed_by,
        denied_by,
        message: verdict.message,
        explanation: Explanation {
            rules: verdict.rules,
            summary: verdict.summary,
            principal: principal_out(&request.principal),
            action: request.action,
            resource: request.resource,
            resource_account: verdict.resource_account,
            resource_policy: verdict.resource_policy,
            identity_policies: verdict.identity_policies,
            grants: verdict.grants,
            context: request.keys.shown(),
        },
    })
}

// ---- rendering ---------------------------------------------------------------------------------

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "Allow",
        Outcome::ExplicitDeny => "ExplicitDeny",
        Outcome::ImplicitDeny => "ImplicitDeny",
    }
}

fn render_statements(out: &mut String, indent: &str, statements: &[StatementOut]) {
    if statements.is_empty() {
        let _ = writeln!(out, "{indent}(no statements)");
    }
    for s in statements {
        let sid = s
            .sid
            .as_ref()
            .map(|sid| format!(" (Sid {sid:?})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{indent}statement {}{sid}: {}", s.index, s.why);
    }
}

/// The decision line, then the AccessDenied message or what allowed the request.
fn render_short(o: &Output) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", outcome_word(o.decision));
    match &o.message {
        Some(m) => {
            let _ = writeln!(out, "{m}");
        }
        None => {
            let _ = writeln!(out, "allowed by: {}", o.explanation.summary);
        }
    }
    out
}

fn render_explain(o: &Output) -> String {
    let e = &o.explanation;
    let mut out = render_short(o);
    if o.message.is_some() {
        let _ = writeln!(out, "denied by: {}", e.summary);
    }
    let who = match &e.principal.role_arn {
        Some(role) => format!(
            "{} (session of {role}, account {})",
            e.principal.arn, e.principal.account
        ),
        None if e.principal.account.is_empty() => {
            format!("{} ({})", e.principal.arn, e.principal.kind)
        }
        None => format!(
            "{} ({}, account {})",
            e.principal.arn, e.principal.kind, e.principal.account
        ),
    };
    let _ = writeln!(out, "request: {who} -> {} on {}", e.action, e.resource);

    let rp = &e.resource_policy;
    if rp.consulted {
        let _ = writeln!(out, "{} ({}):", rp.label, rp.note);
        render_statements(&mut out, "  ", &rp.statements);
    } else {
        let _ = writeln!(out, "{}: {}", rp.label, rp.note);
    }

    let ip = &e.identity_policies;
    let _ = writeln!(out, "identity policies: {}", ip.note);
    if ip.policies.is_empty() && ip.consulted {
        let _ = writeln!(out, "  (the caller has none)");
    }
    for p in &ip.policies {
        let _ = writeln!(out, "  policy {:?}:", p.name);
        render_statements(&mut out, "    ", &p.statements);
    }

    let g = &e.grants;
    if g.grants.is_empty() {
        let _ = writeln!(out, "grants: {}", g.note);
    } else {
        let _ = writeln!(out, "grants:");
    }
    for grant in &g.grants {
        let name = grant
            .name
            .as_ref()
            .map(|n| format!(" (name {n:?})"))
            .unwrap_or_default();
        let verdict = match (&grant.mismatch, grant.account_grantee) {
            (None, true) => {
                "matches (account grantee: IAM in the caller's account must also allow)".to_string()
            }
            (None, false) => "matches".to_string(),
            (Some(why), _) => format!("does not match: {why}"),
        };
        let _ = writeln!(
            out,
            "  grant {}{name} to {}: {verdict}",
            grant.grant_id, grant.grantee_principal
        );
    }

    let _ = writeln!(out, "condition keys:");
    for (k, v) in &e.context {
        let shown = match v {
            ContextValue::Single(s) => format!("{s:?}"),
            ContextValue::Multi(m) => format!("{m:?}"),
        };
        let _ = writeln!(out, "  {k} = {shown}");
    }
    out
}

fn read_input(file: Option<&Path>) -> Result<String, SimulateError> {
    match file {
        Some(path) if path != Path::new("-") => {
            std::fs::read_to_string(path).map_err(|source| SimulateError::Read {
                path: path.display().to_string(),
                source,
            })
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| SimulateError::Read {
                    path: "standard input".to_string(),
                    source,
                })?;
            Ok(text)
        }
    }
}

pub fn run(args: &SimulateArgs) -> Result<(), SimulateError> {
    let text = read_input(args.file.as_deref())?;
    let output = simulate(&text)?;
    let rendered = if args.json {
        let mut s = serde_json::to_string_pretty(&output)?;
        s.push('\n');
        s
    } else if args.explain {
        render_explain(&output)
    } else {
        render_short(&output)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(rendered.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(SimulateError::Output)
}
