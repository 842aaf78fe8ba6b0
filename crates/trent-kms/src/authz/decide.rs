//! The KMS decision procedure for one (action, resource) check (spec §2.3, §2.4): key policy,
//! identity policies and grants together, an explicit deny anywhere wins. Pure: everything it
//! needs is passed in, so the server and `trent policy simulate` run the very same code.

use std::fmt;

use serde::Serialize;
use trent_policy::{
    ConditionContext, Policy, PolicyEvaluation, Principal, PrincipalKind, PrincipalMatch,
    RequestContext, StatementOutcome,
};

/// How a resource policy combines with the caller's identity policies in the resource's own
/// account (across accounts both sides must always allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePolicyRole {
    /// KMS key policies and IAM role trust policies: nothing is allowed unless the resource
    /// policy allows it, directly or by delegating to the account (whose identity policies must
    /// then allow too).
    RootOfTrust,
    /// Other resource policies (an S3 bucket policy, say): in the resource's account an
    /// identity-policy allow suffices on its own, and so does a statement naming the caller.
    Additive,
}

/// The resource policy of a check (a key policy, a role's trust policy, …).
pub struct ResourceAccess<'a> {
    /// The account that owns the resource.
    pub account: &'a str,
    /// `None`: the resource has no policy (only for [`ResourcePolicyRole::Additive`]).
    pub policy: Option<&'a Policy>,
    pub role: ResourcePolicyRole,
    /// The principal the resource policy sees, when it differs from the caller: a user or role
    /// deleted and recreated with the same name no longer matches the ARN the policy named
    /// (its unique ID changed), so its ARN is replaced by one nothing matches.
    pub policy_principal: Option<&'a Principal>,
}

impl<'a> ResourceAccess<'a> {
    /// A KMS key's policy.
    pub fn key_policy(account: &'a str, policy: &'a Policy) -> Self {
        ResourceAccess {
            account,
            policy: Some(policy),
            role: ResourcePolicyRole::RootOfTrust,
            policy_principal: None,
        }
    }
}

/// One identity policy of the caller (inline or managed), by name.
pub struct IdentityPolicy<'a> {
    pub name: &'a str,
    pub policy: &'a Policy,
}

/// A kind of policy that can only take permissions away (IAM's "guardrails"): it grants
/// nothing, and a request it does not allow is denied however the rest allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Guardrail {
    /// AWS Organizations SCPs over the caller's account: at every level of the organization
    /// (root, each OU, the account) some SCP must allow.
    ServiceControlPolicy,
    /// AWS Organizations RCPs over the resource's account. `RCPFullAWSAccess` is attached at
    /// every level and cannot be detached, so RCPs take away only by explicit deny.
    ResourceControlPolicy,
    /// The caller's user's or role's permissions boundary: limits what identity policies (and
    /// resource policies naming the caller's role, not the caller itself) allow.
    PermissionsBoundary,
    /// The session policies of temporary credentials (STS `Policy`, `PolicyArns`): limit the
    /// same as a boundary does; one of them must allow.
    SessionPolicy,
}

impl Guardrail {
    /// The policy type as AWS's AccessDenied messages name it ("… in a service control
    /// policy", "because no permissions boundary allows …").
    pub fn noun(self) -> &'static str {
        match self {
            Guardrail::ServiceControlPolicy => "service control policy",
            Guardrail::ResourceControlPolicy => "resource control policy",
            Guardrail::PermissionsBoundary => "permissions boundary",
            Guardrail::SessionPolicy => "session policy",
        }
    }
}

/// One guardrail policy of a question (session policies are passed apart, in
/// [`Question::session_policies`]).
pub struct GuardrailPolicy<'a> {
    pub guardrail: Guardrail,
    pub name: &'a str,
    /// For SCPs: the organization level the policy is attached to (`r-…`, `ou-…`, or the
    /// account ID); every level must allow. `None` for the others.
    pub level: Option<&'a str>,
    pub policy: &'a Policy,
}

/// How one guardrail policy fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailEvaluation {
    pub guardrail: Guardrail,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    pub evaluation: PolicyEvaluation,
}

/// How one grant of the key relates to the request (computed by the grant matcher).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantOutcome {
    pub grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub grantee_principal: String,
    /// The grantee is the caller, its role, or (for account grantees) its account.
    pub grantee_matches: bool,
    /// The grantee is an account: IAM in that account must also allow (spec §5.4 (I)).
    pub account_grantee: bool,
    /// Grantee, operation and constraints all match.
    pub applies: bool,
    /// Why it does not apply, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
    /// Each of the grant's constraints checked against the request (empty when the grantee
    /// or the operation already did not match, or the grant has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintCheck>,
    /// Who created the grant (unknown for grants older than Trent's record of it), when, and
    /// the request that did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_request_id: Option<String>,
}

/// One constraint of a grant checked against a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintCheck {
    /// The constraint as the grant has it, e.g. `EncryptionContextEquals {"app":"x"}`.
    pub constraint: String,
    pub satisfied: bool,
    /// How the request fared against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A grant that was retired or revoked before the request and would have allowed it: what an
/// explanation of the denial names first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndedGrantOutcome {
    pub grant: GrantOutcome,
    /// `retired` or `revoked`.
    pub how: String,
    pub by: String,
    pub at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One authorization question.
pub struct Question<'a> {
    pub principal: &'a Principal,
    /// e.g. `kms:Decrypt`, `iam:CreateRole`, `sts:AssumeRole`.
    pub action: &'a str,
    /// The ARN checked (key, alias, role, user, …), or `*` for resource-less actions.
    pub resource: &'a str,
    /// The resource's policy (for key checks, the key policy). `None`: the caller's identity
    /// policies alone decide (resource-less actions, aliases, IAM's own resources).
    pub resource_policy: Option<ResourceAccess<'a>>,
    /// Whether the action may be used on a resource of another account (spec §2.2, XA).
    pub cross_account_action: bool,
    /// Condition keys as the resource policy sees them (for key policies: no
    /// `aws:ResourceTag`, no `kms:ResourceAliases`, which are for IAM policies only, spec §4.2).
    pub resource_policy_context: &'a ConditionContext,
    pub identity_context: &'a ConditionContext,
    pub identity_policies: &'a [IdentityPolicy<'a>],
    /// The session policies of temporary credentials (STS AssumeRole's `Policy` and
    /// `PolicyArns`): they can only narrow what the rest allows.
    pub session_policies: Option<&'a [IdentityPolicy<'a>]>,
    /// SCPs, RCPs and the permissions boundary that apply to this request (the caller decides
    /// which apply: none for a service principal, the management account, a service-linked
    /// role; RCPs not for AWS managed keys).
    pub guardrails: &'a [GuardrailPolicy<'a>],
    pub grants: &'a [GrantOutcome],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Outcome {
    /// The outcome's name, as it serializes: what explanations and `policy simulate` print.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "Allow",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        }
    }
}

/// A statement of a policy, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementRef {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl StatementRef {
    /// The statement an evaluation outcome is about.
    pub fn of(s: &StatementOutcome) -> StatementRef {
        StatementRef {
            index: s.index,
            sid: s.sid.clone(),
        }
    }
}

/// `statement 2 (Sid "admin")`, or `statement 2` without a Sid: how every report names a
/// statement.
impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) => write!(f, "statement {} (Sid {sid:?})", self.index),
            None => write!(f, "statement {}", self.index),
        }
    }
}

/// What the IAM side of a delegation rested on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum IdentityAllow {
    /// The account's root user passes the IAM side implicitly.
    RootUser,
    IdentityPolicy {
        policy: String,
        statement: StatementRef,
    },
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Reason {
    /// A key-policy statement names the caller, its role, or everyone.
    KeyPolicyAllows {
        statement: StatementRef,
    },
    /// A key-policy statement delegates to the caller's account and IAM allows.
    KeyPolicyDelegatesToIam {
        statement: StatementRef,
        identity: IdentityAllow,
    },
    /// Resource-less action (or alias half of an alias operation): IAM alone decides.
    IdentityAllows {
        identity: IdentityAllow,
    },
    Grant {
        grant_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    KeyPolicyDenies {
        statement: StatementRef,
    },
    IdentityPolicyDenies {
        policy: String,
        statement: StatementRef,
    },
    /// Nothing in the key policy (nor any grant) lets the caller in.
    NoResourceBasedAllow,
    /// The key policy would let the caller's account in, but IAM does not allow.
    NoIdentityBasedAllow,
    /// The action cannot be used on a key of another account at all.
    NotCrossAccountAction,
    /// A guardrail policy denies: an SCP, an RCP, the permissions boundary, a session policy.
    GuardrailDenies {
        guardrail: Guardrail,
        policy: String,
        statement: StatementRef,
    },
    /// A guardrail does not allow what the rest allows: no SCP of an organization level
    /// (`level`), the permissions boundary, or none of the session policies.
    NoGuardrailAllows {
        guardrail: Guardrail,
        #[serde(skip_serializing_if = "Option::is_none")]
        level: Option<String>,
    },
}

/// What decided, in a few words (the request log line): `key policy statement 1 (Sid "x")`,
/// `grant 0f3…`, `no key policy statement or grant allows`. Explanations say it in full.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = |i: &IdentityAllow| match i {
            IdentityAllow::RootUser => "the account's root user".to_string(),
            IdentityAllow::IdentityPolicy { policy, statement } => {
                format!("identity policy {policy:?} {statement}")
            }
        };
        match self {
            Reason::KeyPolicyAllows { statement } => write!(f, "key policy {statement}"),
            Reason::KeyPolicyDelegatesToIam {
                statement,
                identity: i,
            } => write!(f, "key policy {statement} and {}", identity(i)),
            Reason::IdentityAllows { identity: i } => f.write_str(&identity(i)),
            Reason::Grant { grant_id, .. } => write!(f, "grant {grant_id}"),
            Reason::KeyPolicyDenies { statement } => {
                write!(f, "explicit deny in key policy {statement}")
            }
            Reason::IdentityPolicyDenies { policy, statement } => {
                write!(f, "explicit deny in identity policy {policy:?} {statement}")
            }
            Reason::NoResourceBasedAllow => f.write_str("no key policy statement or grant allows"),
            Reason::NoIdentityBasedAllow => f.write_str("no identity policy allows"),
            Reason::NotCrossAccountAction => f.write_str("not allowed across accounts"),
            Reason::GuardrailDenies {
                guardrail,
                policy,
                statement,
            } => write!(
                f,
                "explicit deny in {} {policy:?} {statement}",
                guardrail.noun()
            ),
            Reason::NoGuardrailAllows { guardrail, level } => {
                write!(f, "no {} allows", guardrail.noun())?;
                match level {
                    Some(level) => write!(f, " at {level}"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedEvaluation {
    pub name: String,
    pub evaluation: PolicyEvaluation,
}

/// The decision and everything that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: Reason,
    pub action: String,
    pub resource: String,
    /// How each key-policy statement fared (absent for resource-less checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_policy: Option<PolicyEvaluation>,
    /// Whether the caller's identity policies took part (they count only where the key policy
    /// delegates to the caller's account, or for resource-less actions).
    pub identity_consulted: bool,
    pub identity_policies: Vec<NamedEvaluation>,
    /// How each SCP, RCP and the permissions boundary fared (session policies are among
    /// `identity_policies`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<GuardrailEvaluation>,
    pub grants: Vec<GrantOutcome>,
    /// Grants naming the caller that are not in `grants`: evaluation stops at the first grant
    /// that allows, and at most a few that do not are kept, so that a key with thousands of
    /// grants for one principal neither slows the decision down nor bloats its audit record.
    #[serde(skip_serializing_if = "is_zero")]
    pub grants_not_shown: usize,
    /// For a denial: retired or revoked grants of the key for the caller that would have
    /// allowed it, the most recently ended first (at most a few).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ended_grants: Vec<EndedGrantOutcome>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// AWS's AccessDeniedException message for a denial (spec §7.2).
    pub fn denial_message(&self, caller_arn: &str) -> String {
        let action = &self.action;
        let context = match &self.reason {
            Reason::KeyPolicyDenies { .. } => {
                "with an explicit deny in a resource-based policy".to_string()
            }
            Reason::IdentityPolicyDenies { .. } => {
                "with an explicit deny in an identity-based policy".to_string()
            }
            Reason::NoIdentityBasedAllow => {
                format!("because no identity-based policy allows the {action} action")
            }
            // IAM's wording for guardrails (troubleshoot_access-denied).
            Reason::GuardrailDenies { guardrail, .. } => {
                format!("with an explicit deny in a {}", guardrail.noun())
            }
            Reason::NoGuardrailAllows { guardrail, .. } => {
                format!("because no {} allows the {action} action", guardrail.noun())
            }
            _ if self.resource == "*" => {
                format!("because no identity-based policy allows the {action} action")
            }
            _ => format!("because no resource-based policy allows the {action} action"),
        };
        access_denied_message(caller_arn, action, &self.resource, &context)
    }
}

/// The AccessDeniedException template of spec §7.2: `User: <caller> is not authorized to
/// perform: <action>[ on resource: <resource>] <context>`, without the resource part for
/// resource-less actions (`*`).
pub fn access_denied_message(
    caller_arn: &str,
    action: &str,
    resource: &str,
    context: &str,
) -> String {
    let on = if resource == "*" {
        String::new()
    } else {
        format!(" on resource: {resource}")
    };
    format!("User: {caller_arn} is not authorized to perform: {action}{on} {context}")
}

fn statement_ref(evaluation: &PolicyEvaluation, index: usize) -> StatementRef {
    StatementRef {
        index,
        sid: evaluation
            .statements
            .iter()
            .find(|s| s.index == index)
            .and_then(|s| s.sid.clone()),
    }
}

/// Evaluates named policies against the identity-side request; returns the evaluations
/// (named by `label`) and the first explicit deny among them (by the policy's own name).
fn evaluate_named(
    policies: &[IdentityPolicy<'_>],
    request: &RequestContext,
    label: impl Fn(&str) -> String,
) -> (Vec<NamedEvaluation>, Option<(String, StatementRef)>) {
    let evaluations: Vec<NamedEvaluation> = policies
        .iter()
        .map(|p| NamedEvaluation {
            name: label(p.name),
            evaluation: p.policy.evaluate(request),
        })
        .collect();
    let deny = evaluations.iter().zip(policies).find_map(|(e, p)| {
        e.evaluation
            .explicit_deny()
            .map(|s| (p.name.to_string(), statement_ref(&e.evaluation, s.index)))
    });
    (evaluations, deny)
}

/// The identity side of a question: identity policies (the root user passes implicitly) within
/// the permissions boundary, and session policies, each with its explicit deny and its allow.
struct IdentitySide {
    evaluations: Vec<NamedEvaluation>,
    deny: Option<(String, StatementRef)>,
    /// What the identity policies allow, within the permissions boundary.
    allow: Option<IdentityAllow>,
    /// The identity policies allow, but the permissions boundary does not.
    outside_boundary: bool,
    /// Session policies, when the caller has any.
    session: Option<SessionSide>,
}

impl IdentitySide {
    /// Why the IAM side does not allow: the boundary when the identity policies would.
    fn no_allow_reason(&self) -> Reason {
        if self.outside_boundary {
            Reason::NoGuardrailAllows {
                guardrail: Guardrail::PermissionsBoundary,
                level: None,
            }
        } else {
            Reason::NoIdentityBasedAllow
        }
    }
}

/// How the caller's session policies fared.
struct SessionSide {
    evaluations: Vec<NamedEvaluation>,
    deny: Option<(String, StatementRef)>,
    allows: bool,
}

/// How the SCPs, RCPs and the permissions boundary fared.
struct GuardrailSide {
    evaluations: Vec<GuardrailEvaluation>,
    /// The first explicit deny, SCPs first, then RCPs, then the boundary.
    deny: Option<Reason>,
    /// The first organization level at which no SCP allows.
    scp_gap: Option<String>,
    /// The caller has a permissions boundary, and it does not allow.
    boundary_blocks: bool,
}

fn guardrail_side(q: &Question<'_>, request: &RequestContext) -> GuardrailSide {
    let mut side = GuardrailSide {
        evaluations: Vec::with_capacity(q.guardrails.len()),
        deny: None,
        scp_gap: None,
        boundary_blocks: false,
    };
    let mut deny_rank = usize::MAX;
    // SCP levels in the order given, and whether some SCP of each allows.
    let mut levels: Vec<(&str, bool)> = Vec::new();
    for g in q.guardrails {
        let evaluation = g.policy.evaluate(request);
        let allows = evaluation.any_allow().is_some();
        let rank = g.guardrail as usize;
        if let Some(s) = evaluation.explicit_deny().filter(|_| rank < deny_rank) {
            deny_rank = rank;
            side.deny = Some(Reason::GuardrailDenies {
                guardrail: g.guardrail,
                policy: g.name.to_string(),
                statement: StatementRef::of(s),
            });
        }
        match g.guardrail {
            Guardrail::ServiceControlPolicy => {
                let level = g.level.unwrap_or_default();
                match levels.iter_mut().find(|(l, _)| *l == level) {
                    Some((_, any)) => *any |= allows,
                    None => levels.push((level, allows)),
                }
            }
            Guardrail::PermissionsBoundary => side.boundary_blocks |= !allows,
            Guardrail::ResourceControlPolicy | Guardrail::SessionPolicy => {}
        }
        side.evaluations.push(GuardrailEvaluation {
            guardrail: g.guardrail,
            name: g.name.to_string(),
            level: g.level.map(str::to_string),
            evaluation,
        });
    }
    side.scp_gap = levels
        .iter()
        .find(|(_, allows)| !allows)
        .map(|(level, _)| level.to_string());
    side
}

fn identity_side(
    q: &Question<'_>,
    request: &RequestContext,
    boundary_blocks: bool,
) -> IdentitySide {
    let (evaluations, deny) = evaluate_named(q.identity_policies, request, str::to_string);
    let allow = if q.principal.kind == PrincipalKind::Root {
        Some(IdentityAllow::RootUser)
    } else {
        evaluations.iter().find_map(|e| {
            e.evaluation
                .any_allow()
                .map(|s| IdentityAllow::IdentityPolicy {
                    policy: e.name.clone(),
                    statement: statement_ref(&e.evaluation, s.index),
                })
        })
    };
    let outside_boundary = boundary_blocks && allow.is_some();
    let session = q.session_policies.map(|policies| {
        let (evaluations, deny) =
            evaluate_named(policies, request, |name| format!("session policy {name}"));
        let allows = evaluations
            .iter()
            .any(|e| e.evaluation.any_allow().is_some());
        SessionSide {
            evaluations,
            deny,
            allows,
        }
    });
    IdentitySide {
        evaluations,
        deny,
        allow: allow.filter(|_| !outside_boundary),
        outside_boundary,
        session,
    }
}

/// Why a check is allowed, and whether the allow stands beyond the caller's session policies
/// (a resource-policy statement naming the caller's own ARN, in its account).
type Allowed = Result<(Reason, bool), (Outcome, Reason)>;

/// The policy-combination rule of AWS authorization, the one copy of it: KMS keys (spec §2.3,
/// §2.4), IAM and STS actions, role trust policies, and `trent policy simulate`'s general rule
/// all come here.
///
/// 1. An explicit deny wins: resource policy first (AWS reports it first), then identity
///    policies, then SCPs, RCPs, the permissions boundary, and session policies.
/// 2. Allows: without a resource policy, the identity policies decide (the root user passes
///    implicitly). With one, in the resource's account a statement naming the caller (or its
///    role) is enough; a statement naming the account delegates to the identity policies
///    (root of trust) — or, for additive resource policies, an identity-policy allow suffices
///    alone. Across accounts the resource policy must name the caller or its account *and* the
///    caller's identity policies must allow, and only for cross-account actions. Grants allow
///    (an account grantee needs its IAM to allow too).
/// 3. Guardrails narrow: an identity-policy allow counts only inside the permissions boundary,
///    and so does a resource-policy allow that reaches a session through its role's ARN (one
///    naming the caller's own user or session ARN stands alone, IAM policy evaluation logic);
///    session policies narrow the same allows (one must allow too); every organization level
///    of the caller's account needs an SCP that allows, whatever allowed (grants too).
pub fn decide(q: &Question<'_>) -> Decision {
    let mut decision = Decision {
        outcome: Outcome::ImplicitDeny,
        reason: Reason::NoResourceBasedAllow,
        action: q.action.to_string(),
        resource: q.resource.to_string(),
        key_policy: None,
        identity_consulted: false,
        identity_policies: Vec::new(),
        guardrails: Vec::new(),
        grants: q.grants.to_vec(),
        grants_not_shown: 0,
        ended_grants: Vec::new(),
    };
    let request = RequestContext::borrowed(q.principal, q.action, q.resource, q.identity_context);
    let guard = guardrail_side(q, &request);
    let mut iam = identity_side(q, &request, guard.boundary_blocks);
    decision.identity_policies = std::mem::take(&mut iam.evaluations);
    decision.guardrails = guard.evaluations;
    let session = iam.session.take();
    let allowed: Allowed = match &q.resource_policy {
        None => {
            // Resource-less, alias or IAM resource: the caller's identity policies decide alone.
            decision.identity_consulted = true;
            match (iam.deny.clone(), iam.allow.clone()) {
                (Some((policy, statement)), _) => Err((
                    Outcome::ExplicitDeny,
                    Reason::IdentityPolicyDenies { policy, statement },
                )),
                (None, Some(identity)) => Ok((Reason::IdentityAllows { identity }, false)),
                (None, None) => Err((Outcome::ImplicitDeny, iam.no_allow_reason())),
            }
        }
        Some(resource) => resource_rule(q, resource, &iam, guard.boundary_blocks, &mut decision),
    };
    // Explicit denies of SCPs, RCPs and the boundary come after the resource and identity ones.
    let allowed = match (allowed, guard.deny) {
        (Err((Outcome::ExplicitDeny, reason)), _) => Err((Outcome::ExplicitDeny, reason)),
        (_, Some(reason)) => Err((Outcome::ExplicitDeny, reason)),
        (result, None) => result,
    };
    // Session policies: an explicit deny in one wins over any allow and any implicit deny; an
    // allow other than a grant's, or than a statement naming the session itself, needs a
    // session policy to allow as well.
    let allowed = match (allowed, session) {
        (Err((Outcome::ExplicitDeny, reason)), _) => Err((Outcome::ExplicitDeny, reason)),
        (
            result,
            Some(SessionSide {
                evaluations,
                deny,
                allows,
            }),
        ) => {
            let narrows = |r: &Reason, stands: bool| !stands && !matches!(r, Reason::Grant { .. });
            let applies =
                deny.is_some() || matches!(&result, Ok((r, stands)) if narrows(r, *stands));
            if applies {
                decision.identity_policies.extend(evaluations);
                decision.identity_consulted = true;
            }
            match (result, deny) {
                (_, Some((policy, statement))) => Err((
                    Outcome::ExplicitDeny,
                    Reason::GuardrailDenies {
                        guardrail: Guardrail::SessionPolicy,
                        policy,
                        statement,
                    },
                )),
                (Ok((reason, stands)), None) if narrows(&reason, stands) && !allows => Err((
                    Outcome::ImplicitDeny,
                    Reason::NoGuardrailAllows {
                        guardrail: Guardrail::SessionPolicy,
                        level: None,
                    },
                )),
                (result, None) => result,
            }
        }
        (result, None) => result,
    };
    // SCPs limit every allow of the account's principals, grants included.
    let allowed = match (allowed, guard.scp_gap) {
        (Err((Outcome::ExplicitDeny, reason)), _) => Err((Outcome::ExplicitDeny, reason)),
        (_, Some(level)) => Err((
            Outcome::ImplicitDeny,
            Reason::NoGuardrailAllows {
                guardrail: Guardrail::ServiceControlPolicy,
                level: Some(level),
            },
        )),
        (result, None) => result,
    };
    match allowed {
        Ok((reason, _)) => {
            decision.outcome = Outcome::Allow;
            decision.reason = reason;
        }
        Err((outcome, reason)) => {
            decision.outcome = outcome;
            decision.reason = reason;
        }
    }
    decision
}

/// Step 1 and 2 of [`decide`] for a check with a resource policy. Records the resource
/// policy's evaluation in `decision`.
fn resource_rule(
    q: &Question<'_>,
    resource: &ResourceAccess<'_>,
    iam: &IdentitySide,
    boundary_blocks: bool,
    decision: &mut Decision,
) -> Allowed {
    // A service principal acting as itself has no account and no identity policies: a
    // resource-policy statement naming it (or a grant) lets it in alone (spec §2.3 note 7), as a
    // Direct match does in the resource's own account.
    let same_account =
        q.principal.kind == PrincipalKind::Service || q.principal.account == resource.account;
    let policy_principal = resource.policy_principal.unwrap_or(q.principal);
    let rp = resource.policy.map(|policy| {
        policy.evaluate(&RequestContext::borrowed(
            policy_principal,
            q.action,
            q.resource,
            q.resource_policy_context,
        ))
    });
    let rp_ref = rp.as_ref();
    let deny = rp_ref
        .and_then(PolicyEvaluation::explicit_deny)
        .map(|s| s.index);
    let allow_with = |m| rp_ref.and_then(|e| e.allow_with(m).map(|s| statement_ref(e, s.index)));
    // A Direct allow naming the caller's own ARN stands beyond the boundary and session
    // policies; one reaching it through its role's ARN or `*` does not.
    let exact = rp_ref.zip(resource.policy).and_then(|(e, policy)| {
        e.statements
            .iter()
            .filter(|s| {
                s.applies
                    && s.effect == trent_policy::Effect::Allow
                    && s.principal_match == Some(PrincipalMatch::Direct)
            })
            .find(|s| {
                policy
                    .statements()
                    .get(s.index)
                    .is_some_and(|st| st.names_principal_exactly(policy_principal))
            })
            .map(StatementRef::of)
    });
    let direct_any = allow_with(PrincipalMatch::Direct);
    let boundary_limits_direct = exact.is_none() && direct_any.is_some() && boundary_blocks;
    let direct = match (&exact, direct_any) {
        (Some(statement), _) => Some((statement.clone(), true)),
        (None, Some(statement)) if !boundary_blocks => Some((statement, false)),
        _ => None,
    };
    let account = allow_with(PrincipalMatch::AccountLevel);
    decision.key_policy = rp;

    // 1. Explicit denies, resource policy first (spec §2.4: report resource-based first).
    if let (Some(index), Some(rp)) = (deny, &decision.key_policy) {
        let statement = statement_ref(rp, index);
        return Err((Outcome::ExplicitDeny, Reason::KeyPolicyDenies { statement }));
    }
    if let Some((policy, statement)) = iam.deny.clone() {
        decision.identity_consulted = true;
        return Err((
            Outcome::ExplicitDeny,
            Reason::IdentityPolicyDenies { policy, statement },
        ));
    }

    // 2. Allow paths.
    if !same_account && !q.cross_account_action {
        // "Those permissions have no effect": as if the resource policy gave the account nothing.
        return Err((Outcome::ImplicitDeny, Reason::NotCrossAccountAction));
    }
    // The first grant that allows: one for the caller itself, or one for its account where IAM
    // in that account allows too (spec §5.4 (I)); an account grant that IAM does not back does
    // not hide a later grant that needs nothing else.
    let grant = q
        .grants
        .iter()
        .find(|g| g.applies && (!g.account_grantee || iam.allow.is_some()));
    let allowed = match (same_account, resource.role) {
        (true, role) => match (direct.clone(), &account, &iam.allow) {
            (Some((statement, stands)), _, _) => {
                Some((Reason::KeyPolicyAllows { statement }, stands))
            }
            (None, Some(statement), Some(identity)) if role == ResourcePolicyRole::RootOfTrust => {
                Some((
                    Reason::KeyPolicyDelegatesToIam {
                        statement: statement.clone(),
                        identity: identity.clone(),
                    },
                    false,
                ))
            }
            (None, _, Some(identity)) if role == ResourcePolicyRole::Additive => Some((
                Reason::IdentityAllows {
                    identity: identity.clone(),
                },
                false,
            )),
            _ => None,
        },
        // Across accounts: the resource policy (naming the caller or its account) AND the
        // caller's identity policies.
        (false, _) => match (
            direct.clone().map(|(s, _)| s).or(account.clone()),
            &iam.allow,
        ) {
            (Some(statement), Some(identity)) => Some((
                Reason::KeyPolicyDelegatesToIam {
                    statement,
                    identity: identity.clone(),
                },
                false,
            )),
            _ => None,
        },
    };
    decision.identity_consulted =
        account.is_some() || !same_account || resource.role == ResourcePolicyRole::Additive;
    let allowed = allowed.or_else(|| {
        grant.map(|g| {
            (
                Reason::Grant {
                    grant_id: g.grant_id.clone(),
                    name: g.name.clone(),
                },
                false,
            )
        })
    });
    allowed.ok_or_else(|| {
        let names_caller = direct.is_some()
            || boundary_limits_direct
            || account.is_some()
            || q.grants.iter().any(|g| g.grantee_matches)
            || (same_account && resource.role == ResourcePolicyRole::Additive);
        let reason = if boundary_limits_direct {
            Reason::NoGuardrailAllows {
                guardrail: Guardrail::PermissionsBoundary,
                level: None,
            }
        } else if names_caller {
            iam.no_allow_reason()
        } else {
            Reason::NoResourceBasedAllow
        };
        (Outcome::ImplicitDeny, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trent_policy::PolicyKind;

    /// A grant for `grantee` (a principal ARN) that applies to the request.
    fn applying_grant(id: &str, grantee: &str) -> GrantOutcome {
        GrantOutcome {
            grant_id: id.to_string(),
            name: None,
            grantee_principal: grantee.to_string(),
            grantee_matches: true,
            account_grantee: false,
            applies: true,
            mismatch: None,
            constraints: Vec::new(),
            created_by: None,
            created_ms: 0,
            created_request_id: None,
        }
    }

    #[test]
    fn service_principal_named_in_the_key_policy_needs_nothing_else() {
        // Spec §2.3 note 7: a service principal has no identity policies, so a key-policy
        // statement naming it lets it in on its own.
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                "Principal":{"Service":"cloudtrail.amazonaws.com"},
                "Action":"kms:GenerateDataKey*","Resource":"*"}]}"#,
            PolicyKind::KeyPolicy,
        )
        .unwrap();
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let ask = |principal: &Principal, action: &str| {
            let context = ConditionContext::new();
            decide(&Question {
                principal,
                action,
                resource: arn,
                resource_policy: Some(ResourceAccess::key_policy("111122223333", &policy)),
                cross_account_action: true,
                resource_policy_context: &context,
                identity_context: &context,
                identity_policies: &[],
                session_policies: None,
                guardrails: &[],
                grants: &[],
            })
        };
        let service = Principal::service("cloudtrail.amazonaws.com");
        let d = ask(&service, "kms:GenerateDataKey");
        assert_eq!(d.outcome, Outcome::Allow);
        assert!(matches!(d.reason, Reason::KeyPolicyAllows { .. }));
        let d = ask(&service, "kms:Decrypt");
        assert_eq!(d.outcome, Outcome::ImplicitDeny);
        assert_eq!(d.reason, Reason::NoResourceBasedAllow);
        // Another service is not named.
        let d = ask(
            &Principal::service("lambda.amazonaws.com"),
            "kms:GenerateDataKey",
        );
        assert_eq!(d.outcome, Outcome::ImplicitDeny);
    }

    /// An account grant that IAM does not back does not hide a later grant for the caller
    /// itself: the second allows.
    #[test]
    fn a_grant_for_the_caller_allows_after_an_account_grant_iam_does_not_back() {
        let policy = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            PolicyKind::KeyPolicy,
        )
        .unwrap();
        let grant = |id: &str, account_grantee: bool| {
            let grantee = if account_grantee {
                "111122223333"
            } else {
                "arn:aws:iam::111122223333:user/u"
            };
            GrantOutcome {
                account_grantee,
                ..applying_grant(id, grantee)
            }
        };
        let context = ConditionContext::new();
        let user = Principal::user("arn:aws:iam::111122223333:user/u");
        let ask = |grants: &[GrantOutcome]| {
            decide(&Question {
                principal: &user,
                action: "kms:Decrypt",
                resource: "arn:aws:kms:us-east-1:111122223333:key/k",
                resource_policy: Some(ResourceAccess::key_policy("111122223333", &policy)),
                cross_account_action: true,
                resource_policy_context: &context,
                identity_context: &context,
                identity_policies: &[],
                session_policies: None,
                guardrails: &[],
                grants,
            })
        };
        let d = ask(&[grant("account", true), grant("mine", false)]);
        assert_eq!(d.outcome, Outcome::Allow);
        assert_eq!(
            d.reason,
            Reason::Grant {
                grant_id: "mine".into(),
                name: None
            }
        );
        // The account grant alone, without IAM: denied.
        assert_eq!(
            ask(&[grant("account", true)]).outcome,
            Outcome::ImplicitDeny
        );
    }

    /// Guardrails (IAM policy evaluation logic, "Permissions boundaries", SCPs): each can only
    /// take away, and the boundary limits identity policies but not a key-policy statement that
    /// names the caller's own ARN.
    mod guardrails {
        use super::*;

        const ACCOUNT: &str = "111122223333";
        const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

        fn policy(kind: PolicyKind, statements: &str) -> Policy {
            Policy::parse(
                &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
                kind,
            )
            .unwrap()
        }

        fn allow_identity(action: &str) -> Policy {
            policy(
                PolicyKind::IdentityPolicy,
                &format!(r#"{{"Effect":"Allow","Action":"{action}","Resource":"*"}}"#),
            )
        }

        fn key_policy_naming(principal: &str) -> Policy {
            policy(
                PolicyKind::KeyPolicy,
                &format!(
                    r#"{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"kms:*","Resource":"*"}}"#
                ),
            )
        }

        struct Case<'a> {
            principal: Principal,
            key_policy: &'a Policy,
            identity: Option<&'a Policy>,
            guardrails: Vec<GuardrailPolicy<'a>>,
            session: Option<&'a Policy>,
            grants: Vec<GrantOutcome>,
        }

        impl Case<'_> {
            fn decide(&self, action: &str) -> Decision {
                let context = ConditionContext::new();
                let identity: Vec<IdentityPolicy<'_>> = self
                    .identity
                    .iter()
                    .map(|p| IdentityPolicy {
                        name: "inline",
                        policy: p,
                    })
                    .collect();
                let session: Option<Vec<IdentityPolicy<'_>>> = self.session.map(|p| {
                    vec![IdentityPolicy {
                        name: "session",
                        policy: p,
                    }]
                });
                decide(&Question {
                    principal: &self.principal,
                    action,
                    resource: KEY,
                    resource_policy: Some(ResourceAccess::key_policy(ACCOUNT, self.key_policy)),
                    cross_account_action: true,
                    resource_policy_context: &context,
                    identity_context: &context,
                    identity_policies: &identity,
                    session_policies: session.as_deref(),
                    guardrails: &self.guardrails,
                    grants: &self.grants,
                })
            }
        }

        fn boundary(p: &Policy) -> GuardrailPolicy<'_> {
            GuardrailPolicy {
                guardrail: Guardrail::PermissionsBoundary,
                name: "boundary",
                level: None,
                policy: p,
            }
        }

        fn scp<'a>(name: &'a str, level: &'a str, p: &'a Policy) -> GuardrailPolicy<'a> {
            GuardrailPolicy {
                guardrail: Guardrail::ServiceControlPolicy,
                name,
                level: Some(level),
                policy: p,
            }
        }

        fn user() -> Principal {
            Principal::user("arn:aws:iam::111122223333:user/alice")
        }

        fn session() -> Principal {
            let mut p = Principal::user("arn:aws:sts::111122223333:assumed-role/app/s1");
            p.kind = PrincipalKind::AssumedRole {
                role_arn: "arn:aws:iam::111122223333:role/app".into(),
            };
            p
        }

        #[test]
        fn a_boundary_limits_what_identity_policies_allow() {
            let kp = key_policy_naming("arn:aws:iam::111122223333:root");
            let identity = allow_identity("kms:*");
            let only_encrypt = allow_identity("kms:Encrypt");
            let case = Case {
                principal: user(),
                key_policy: &kp,
                identity: Some(&identity),
                guardrails: vec![boundary(&only_encrypt)],
                session: None,
                grants: Vec::new(),
            };
            assert_eq!(case.decide("kms:Encrypt").outcome, Outcome::Allow);
            let d = case.decide("kms:Decrypt");
            assert_eq!(d.outcome, Outcome::ImplicitDeny);
            assert_eq!(
                d.reason,
                Reason::NoGuardrailAllows {
                    guardrail: Guardrail::PermissionsBoundary,
                    level: None
                }
            );
            assert!(
                d.denial_message("arn:aws:iam::111122223333:user/alice")
                    .ends_with("because no permissions boundary allows the kms:Decrypt action"),
                "{}",
                d.denial_message("x")
            );
            // The boundary grants nothing by itself.
            let nothing = Case {
                identity: None,
                ..case
            };
            assert_eq!(
                nothing.decide("kms:Encrypt").reason,
                Reason::NoIdentityBasedAllow
            );
        }

        #[test]
        fn a_key_policy_naming_the_user_or_the_session_is_not_limited_but_one_naming_the_role_is() {
            let only_encrypt = allow_identity("kms:Encrypt");
            let names_user = key_policy_naming("arn:aws:iam::111122223333:user/alice");
            let user_case = Case {
                principal: user(),
                key_policy: &names_user,
                identity: None,
                guardrails: vec![boundary(&only_encrypt)],
                session: None,
                grants: Vec::new(),
            };
            assert_eq!(user_case.decide("kms:Decrypt").outcome, Outcome::Allow);

            let names_session = key_policy_naming("arn:aws:sts::111122223333:assumed-role/app/s1");
            let names_role = key_policy_naming("arn:aws:iam::111122223333:role/app");
            let narrow = allow_identity("kms:Encrypt");
            for (kp, stands) in [(&names_session, true), (&names_role, false)] {
                // The boundary.
                let case = Case {
                    principal: session(),
                    key_policy: kp,
                    identity: None,
                    guardrails: vec![boundary(&only_encrypt)],
                    session: None,
                    grants: Vec::new(),
                };
                assert_eq!(case.decide("kms:Decrypt").is_allowed(), stands);
                // Session policies, the same way.
                let case = Case {
                    guardrails: Vec::new(),
                    session: Some(&narrow),
                    ..case
                };
                let d = case.decide("kms:Decrypt");
                assert_eq!(d.is_allowed(), stands, "{:?}", d.reason);
                if !stands {
                    assert_eq!(
                        d.reason,
                        Reason::NoGuardrailAllows {
                            guardrail: Guardrail::SessionPolicy,
                            level: None
                        }
                    );
                }
            }
        }

        #[test]
        fn every_organization_level_needs_an_allowing_scp_and_an_scp_deny_wins() {
            let kp = key_policy_naming("arn:aws:iam::111122223333:user/alice");
            let full = allow_identity("*");
            let kms_only = allow_identity("kms:Encrypt");
            let deny = policy(
                PolicyKind::IdentityPolicy,
                r#"{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#,
            );
            let case = Case {
                principal: user(),
                key_policy: &kp,
                identity: None,
                guardrails: vec![
                    scp("FullAWSAccess", "r-root", &full),
                    scp("EncryptOnly", "ou-dev", &kms_only),
                    scp("FullAWSAccess", ACCOUNT, &full),
                ],
                session: None,
                grants: Vec::new(),
            };
            assert_eq!(case.decide("kms:Encrypt").outcome, Outcome::Allow);
            let d = case.decide("kms:GenerateDataKey");
            assert_eq!(
                d.reason,
                Reason::NoGuardrailAllows {
                    guardrail: Guardrail::ServiceControlPolicy,
                    level: Some("ou-dev".into())
                }
            );
            assert!(d.denial_message("u").ends_with(
                "because no service control policy allows the kms:GenerateDataKey action"
            ));
            // SCPs limit grants too.
            let grant = applying_grant("g1", "arn:aws:iam::111122223333:user/alice");
            let empty = policy(PolicyKind::KeyPolicy, "");
            let by_grant = Case {
                principal: user(),
                key_policy: &empty,
                identity: None,
                guardrails: vec![scp("EncryptOnly", ACCOUNT, &kms_only)],
                session: None,
                grants: vec![grant.clone()],
            };
            assert_eq!(by_grant.decide("kms:Encrypt").outcome, Outcome::Allow);
            assert_eq!(
                by_grant.decide("kms:Decrypt").outcome,
                Outcome::ImplicitDeny
            );
            // An explicit deny in an SCP beats the key policy naming the user.
            let denied = Case {
                guardrails: vec![
                    scp("NoDecrypt", ACCOUNT, &deny),
                    scp("Full", ACCOUNT, &full),
                ],
                ..case
            };
            let d = denied.decide("kms:Decrypt");
            assert_eq!(d.outcome, Outcome::ExplicitDeny);
            assert!(matches!(
                &d.reason,
                Reason::GuardrailDenies { guardrail: Guardrail::ServiceControlPolicy, policy, .. }
                    if policy == "NoDecrypt"
            ));
            assert!(
                d.denial_message("u")
                    .ends_with("with an explicit deny in a service control policy")
            );
            assert_eq!(d.guardrails.len(), 2);
        }

        #[test]
        fn an_rcp_takes_away_only_by_explicit_deny() {
            let kp = key_policy_naming("arn:aws:iam::111122223333:user/alice");
            let rcp = policy(
                PolicyKind::KeyPolicy,
                r#"{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
            );
            let case = Case {
                principal: user(),
                key_policy: &kp,
                identity: None,
                guardrails: vec![GuardrailPolicy {
                    guardrail: Guardrail::ResourceControlPolicy,
                    name: "NoDeletion",
                    level: None,
                    policy: &rcp,
                }],
                session: None,
                grants: Vec::new(),
            };
            // No RCP statement allows Decrypt, and it is allowed (RCPFullAWSAccess).
            assert_eq!(case.decide("kms:Decrypt").outcome, Outcome::Allow);
            let d = case.decide("kms:ScheduleKeyDeletion");
            assert_eq!(d.outcome, Outcome::ExplicitDeny);
            assert!(
                d.denial_message("u")
                    .ends_with("with an explicit deny in a resource control policy")
            );
        }
    }
}
