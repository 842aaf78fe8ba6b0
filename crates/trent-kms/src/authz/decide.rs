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
    /// A session policy of the caller's role session denies.
    SessionPolicyDenies {
        policy: String,
        statement: StatementRef,
    },
    /// The caller's role session has session policies, and none allows.
    NoSessionPolicyAllow,
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
            Reason::SessionPolicyDenies { policy, statement } => {
                write!(f, "explicit deny in session policy {policy:?} {statement}")
            }
            Reason::NoSessionPolicyAllow => f.write_str("no session policy allows"),
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
            // IAM's wording for session policies (troubleshoot_access-denied).
            Reason::SessionPolicyDenies { .. } => {
                "with an explicit deny in a session policy".to_string()
            }
            Reason::NoSessionPolicyAllow => {
                format!("because no session policy allows the {action} action")
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

/// Evaluates named policies against the identity-side request; returns the evaluations and
/// the first explicit deny among them.
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
    let deny = evaluations.iter().find_map(|e| {
        e.evaluation
            .explicit_deny()
            .map(|s| (e.name.clone(), statement_ref(&e.evaluation, s.index)))
    });
    (evaluations, deny)
}

/// The identity side of a question: identity policies (the root user passes implicitly) and
/// session policies, each with its explicit deny and its allow.
struct IdentitySide {
    evaluations: Vec<NamedEvaluation>,
    deny: Option<(String, StatementRef)>,
    allow: Option<IdentityAllow>,
    /// Session policies, when the caller has any.
    session: Option<SessionSide>,
}

/// How the caller's session policies fared.
struct SessionSide {
    evaluations: Vec<NamedEvaluation>,
    deny: Option<(String, StatementRef)>,
    allows: bool,
}

fn identity_side(q: &Question<'_>) -> IdentitySide {
    let request = RequestContext::borrowed(q.principal, q.action, q.resource, q.identity_context);
    let (evaluations, deny) = evaluate_named(q.identity_policies, &request, str::to_string);
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
    let session = q.session_policies.map(|policies| {
        let (evaluations, deny) =
            evaluate_named(policies, &request, |name| format!("session policy {name}"));
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
        allow,
        session,
    }
}

/// The policy-combination rule of AWS authorization, the one copy of it: KMS keys (spec §2.3,
/// §2.4), IAM and STS actions, role trust policies, and `trent policy simulate`'s general rule
/// all come here.
///
/// 1. An explicit deny wins: resource policy first (AWS reports it first), then identity
///    policies, then session policies.
/// 2. Allows: without a resource policy, the identity policies decide (the root user passes
///    implicitly). With one, in the resource's account a statement naming the caller (or its
///    role) is enough; a statement naming the account delegates to the identity policies
///    (root of trust) — or, for additive resource policies, an identity-policy allow suffices
///    alone. Across accounts the resource policy must name the caller or its account *and* the
///    caller's identity policies must allow, and only for cross-account actions. Grants allow
///    (an account grantee needs its IAM to allow too).
/// 3. Session policies narrow every allow except a grant's: one of them must allow too.
pub fn decide(q: &Question<'_>) -> Decision {
    let mut decision = Decision {
        outcome: Outcome::ImplicitDeny,
        reason: Reason::NoResourceBasedAllow,
        action: q.action.to_string(),
        resource: q.resource.to_string(),
        key_policy: None,
        identity_consulted: false,
        identity_policies: Vec::new(),
        grants: q.grants.to_vec(),
        grants_not_shown: 0,
        ended_grants: Vec::new(),
    };
    let mut iam = identity_side(q);
    decision.identity_policies = std::mem::take(&mut iam.evaluations);
    let session = iam.session.take();
    let allowed = match &q.resource_policy {
        None => {
            // Resource-less, alias or IAM resource: the caller's identity policies decide alone.
            decision.identity_consulted = true;
            match (iam.deny, iam.allow) {
                (Some((policy, statement)), _) => Err((
                    Outcome::ExplicitDeny,
                    Reason::IdentityPolicyDenies { policy, statement },
                )),
                (None, Some(identity)) => Ok(Reason::IdentityAllows { identity }),
                (None, None) => Err((Outcome::ImplicitDeny, Reason::NoIdentityBasedAllow)),
            }
        }
        Some(resource) => resource_rule(q, resource, &iam, &mut decision),
    };
    // Session policies: an explicit deny in one wins over any allow and any implicit deny; an
    // allow other than a grant's needs a session policy to allow as well.
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
            let applies =
                deny.is_some() || matches!(&result, Ok(r) if !matches!(r, Reason::Grant { .. }));
            if applies {
                decision.identity_policies.extend(evaluations);
                decision.identity_consulted = true;
            }
            match (result, deny) {
                (_, Some((policy, statement))) => Err((
                    Outcome::ExplicitDeny,
                    Reason::SessionPolicyDenies { policy, statement },
                )),
                (Ok(reason @ Reason::Grant { .. }), None) => Ok(reason),
                (Ok(_), None) if !allows => {
                    Err((Outcome::ImplicitDeny, Reason::NoSessionPolicyAllow))
                }
                (result, None) => result,
            }
        }
        (result, None) => result,
    };
    match allowed {
        Ok(reason) => {
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

/// Step 1 and 2 of [`decide`] for a check with a resource policy: `Ok(why it is allowed)` or
/// `Err((denial, why))`. Records the resource policy's evaluation in `decision`.
fn resource_rule(
    q: &Question<'_>,
    resource: &ResourceAccess<'_>,
    iam: &IdentitySide,
    decision: &mut Decision,
) -> Result<Reason, (Outcome, Reason)> {
    // A service principal acting as itself has no account and no identity policies: a
    // resource-policy statement naming it (or a grant) lets it in alone (spec §2.3 note 7), as a
    // Direct match does in the resource's own account.
    let same_account =
        q.principal.kind == PrincipalKind::Service || q.principal.account == resource.account;
    let rp = resource.policy.map(|policy| {
        policy.evaluate(&RequestContext::borrowed(
            resource.policy_principal.unwrap_or(q.principal),
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
    let direct = allow_with(PrincipalMatch::Direct);
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
            (Some(statement), _, _) => Some(Reason::KeyPolicyAllows { statement }),
            (None, Some(statement), Some(identity)) if role == ResourcePolicyRole::RootOfTrust => {
                Some(Reason::KeyPolicyDelegatesToIam {
                    statement: statement.clone(),
                    identity: identity.clone(),
                })
            }
            (None, _, Some(identity)) if role == ResourcePolicyRole::Additive => {
                Some(Reason::IdentityAllows {
                    identity: identity.clone(),
                })
            }
            _ => None,
        },
        // Across accounts: the resource policy (naming the caller or its account) AND the
        // caller's identity policies.
        (false, _) => match (direct.clone().or(account.clone()), &iam.allow) {
            (Some(statement), Some(identity)) => Some(Reason::KeyPolicyDelegatesToIam {
                statement,
                identity: identity.clone(),
            }),
            _ => None,
        },
    };
    decision.identity_consulted =
        account.is_some() || !same_account || resource.role == ResourcePolicyRole::Additive;
    let allowed = allowed.or_else(|| {
        grant
            .filter(|g| !g.account_grantee || iam.allow.is_some())
            .map(|g| Reason::Grant {
                grant_id: g.grant_id.clone(),
                name: g.name.clone(),
            })
    });
    allowed.ok_or_else(|| {
        let names_caller = direct.is_some()
            || account.is_some()
            || q.grants.iter().any(|g| g.grantee_matches)
            || (same_account && resource.role == ResourcePolicyRole::Additive);
        let reason = if names_caller {
            Reason::NoIdentityBasedAllow
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
        let grant = |id: &str, account_grantee: bool| GrantOutcome {
            grant_id: id.to_string(),
            name: None,
            grantee_principal: if account_grantee {
                "111122223333".to_string()
            } else {
                "arn:aws:iam::111122223333:user/u".to_string()
            },
            grantee_matches: true,
            account_grantee,
            applies: true,
            mismatch: None,
            constraints: Vec::new(),
            created_by: None,
            created_ms: 0,
            created_request_id: None,
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
}
