//! The paths of an access report for one identity and one key action, read from the
//! authorizer's decision of a request without context (no encryption context, no grant token):
//! what allows it whatever the request, what allows it only when a condition is met (a grant's
//! constraints, a policy statement's Condition), and what denies it — always (an explicit deny
//! that applies) or when its condition is met (a conditional deny that would cut an allow).

use serde_json::Value;
use trent_policy::{Effect, Mismatch, PrincipalMatch, StatementOutcome};

use super::access_report::PolicyStatement;
use super::phrases::{grant_text, identity_allow_text};
use crate::authz::decide::{IdentityAllow, Reason, StatementRef};
use crate::authz::{Decision, Outcome};
use crate::identity::{NamedPolicy, PrincipalKind};

/// One way an identity's request for an action is decided. Ordered as the report lists them:
/// allows before denies, unconditional before conditional.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PathKey {
    pub denied: bool,
    pub condition: Option<String>,
    pub via: String,
}

/// What the report needs besides the decision: the key policy's statements as written (for
/// their conditions), the identity's policies, and whether identity policies may be named.
pub(super) struct PathContext<'a> {
    pub key_policy: &'a [PolicyStatement],
    pub identity_policies: &'a [NamedPolicy],
    pub subject_kind: &'a PrincipalKind,
    pub hide_identity: bool,
}

/// Every path of `d`. Conditional denies are listed only where something allows (at once or
/// under a condition): they say what cuts that access.
pub(super) fn paths_of(d: &Decision, cx: &PathContext<'_>) -> Vec<PathKey> {
    let mut out = Vec::new();
    match d.outcome {
        Outcome::Allow => out.push(PathKey {
            denied: false,
            condition: None,
            via: reason_text(&d.reason, cx.hide_identity),
        }),
        Outcome::ExplicitDeny => {
            // Listed only where it cuts something: an allow, or a conditional one, that the
            // deny overrides. A deny of someone nothing allows says nothing about access.
            let mut allows = Vec::new();
            conditional_allows(d, cx, &mut allows);
            if allows.is_empty() && !allowed_but_for_deny(d, cx) {
                return out;
            }
            out.push(PathKey {
                denied: true,
                condition: None,
                via: reason_text(&d.reason, cx.hide_identity),
            });
            return out;
        }
        Outcome::ImplicitDeny => conditional_allows(d, cx, &mut out),
    }
    if !out.is_empty() {
        conditional_denies(d, cx, &mut out);
    }
    out
}

/// Whether an allow applied that the explicit deny of `d` overrode: a grant, a key-policy
/// statement naming the caller, or a delegation with the IAM side.
fn allowed_but_for_deny(d: &Decision, cx: &PathContext<'_>) -> bool {
    let key_policy = d.key_policy.iter().flat_map(|kp| &kp.statements).any(|s| {
        s.applies
            && s.effect == Effect::Allow
            && (s.principal_match != Some(PrincipalMatch::AccountLevel)
                || identity_side(d, cx).is_some())
    });
    key_policy || d.grants.iter().any(|g| g.applies && !g.account_grantee)
}

/// Allows that the request missed only through its context: a grant for the caller whose
/// constraints were not met, an Allow statement for the caller whose Condition was not met.
fn conditional_allows(d: &Decision, cx: &PathContext<'_>, out: &mut Vec<PathKey>) {
    // Constraints are checked only once grantee and operation matched, so a grant with an
    // unmet constraint is for this caller and this action.
    for g in d.grants.iter().filter(|g| {
        g.grantee_matches && !g.account_grantee && g.constraints.iter().any(|c| !c.satisfied)
    }) {
        let constraints: Vec<&str> = g
            .constraints
            .iter()
            .map(|c| c.constraint.as_str())
            .collect();
        out.push(PathKey {
            denied: false,
            condition: Some(constraints.join(" and ")),
            via: grant_text(&g.grant_id, g.name.as_deref()),
        });
    }
    let Some(kp) = &d.key_policy else { return };
    for s in kp
        .statements
        .iter()
        .filter(|s| misses_only_condition(s, Effect::Allow))
    {
        let condition = statement_condition(cx.key_policy, s);
        match s.principal_match {
            Some(PrincipalMatch::AccountLevel) => {
                // A delegation counts only with the IAM side: the root user, or an identity
                // policy that allows the action whatever the request.
                let identity = identity_side(d, cx);
                if let Some(identity) = identity {
                    out.push(PathKey {
                        denied: false,
                        condition,
                        via: format!("key policy {} delegates; {identity}", StatementRef::of(s)),
                    });
                }
            }
            _ => out.push(PathKey {
                denied: false,
                condition,
                via: format!("key policy {}", StatementRef::of(s)),
            }),
        }
    }
    // The key policy delegates at once, and an identity-policy Allow misses on its condition.
    if d.identity_consulted
        && let Some(delegation) = kp.statements.iter().find(|s| {
            s.applies
                && s.effect == Effect::Allow
                && s.principal_match == Some(PrincipalMatch::AccountLevel)
        })
    {
        for (policy, s) in identity_statements(d, Effect::Allow) {
            out.push(PathKey {
                denied: false,
                condition: identity_condition(cx, policy, s),
                via: format!(
                    "key policy {} delegates; {}",
                    StatementRef::of(delegation),
                    identity_policy_text(cx, policy, s) + " allows"
                ),
            });
        }
    }
}

/// Deny statements for the caller and the action that did not apply only because of their
/// Condition: they cut the access when the condition is met.
fn conditional_denies(d: &Decision, cx: &PathContext<'_>, out: &mut Vec<PathKey>) {
    if let Some(kp) = &d.key_policy {
        for s in kp
            .statements
            .iter()
            .filter(|s| misses_only_condition(s, Effect::Deny))
        {
            out.push(PathKey {
                denied: true,
                condition: statement_condition(cx.key_policy, s),
                via: format!("key policy {}", StatementRef::of(s)),
            });
        }
    }
    for (policy, s) in identity_statements(d, Effect::Deny) {
        out.push(PathKey {
            denied: true,
            condition: identity_condition(cx, policy, s),
            via: identity_policy_text(cx, policy, s),
        });
    }
}

/// The IAM side of a delegation when it does not depend on the request: the root user, or an
/// identity-policy Allow that applies.
fn identity_side(d: &Decision, cx: &PathContext<'_>) -> Option<String> {
    if matches!(cx.subject_kind, PrincipalKind::Root) {
        return Some(identity_allow_text(&IdentityAllow::RootUser));
    }
    d.identity_policies.iter().find_map(|p| {
        p.evaluation
            .statements
            .iter()
            .find(|s| s.applies && s.effect == Effect::Allow)
            .map(|s| identity_policy_text(cx, &p.name, s) + " allows")
    })
}

/// Identity-policy statements of `effect` for the action that missed only on their condition.
fn identity_statements(
    d: &Decision,
    effect: Effect,
) -> impl Iterator<Item = (&str, &StatementOutcome)> {
    d.identity_policies.iter().flat_map(move |p| {
        p.evaluation
            .statements
            .iter()
            .filter(move |s| misses_only_condition(s, effect))
            .map(|s| (p.name.as_str(), s))
    })
}

fn misses_only_condition(s: &StatementOutcome, effect: Effect) -> bool {
    s.effect == effect && matches!(s.mismatch, Some(Mismatch::Condition { .. }))
}

/// An identity-policy statement by name, or "an identity policy" where the subject's policies
/// are not shown.
fn identity_policy_text(cx: &PathContext<'_>, policy: &str, s: &StatementOutcome) -> String {
    named_policy_text(
        "identity policy",
        policy,
        &StatementRef::of(s),
        cx.hide_identity,
    )
}

fn named_policy_text(kind: &str, policy: &str, statement: &StatementRef, hide: bool) -> String {
    if hide {
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {kind}")
    } else {
        format!("{kind} {policy:?} {statement}")
    }
}

/// The statement's Condition block as written, compact.
fn statement_condition(statements: &[PolicyStatement], s: &StatementOutcome) -> Option<String> {
    statements
        .iter()
        .find(|p| p.index == s.index)
        .and_then(|p| p.conditions.as_ref())
        .map(Value::to_string)
}

/// An identity statement's Condition as written; only "a condition" where identity policies of
/// the subject are not shown.
fn identity_condition(cx: &PathContext<'_>, policy: &str, s: &StatementOutcome) -> Option<String> {
    if cx.hide_identity {
        return Some("a condition of the identity's policy".to_string());
    }
    let named = cx.identity_policies.iter().find(|p| p.name == policy)?;
    statement_condition(&super::access::policy_statements(&named.document), s)
}

/// The path a reason names, for access reports. Denies are named without a verb: the path's
/// `denied` says it.
pub(super) fn reason_text(r: &Reason, hide_identity: bool) -> String {
    let identity_allow_text = |i: &IdentityAllow| match i {
        IdentityAllow::IdentityPolicy { .. } if hide_identity => {
            "an identity policy allows".to_string()
        }
        other => identity_allow_text(other),
    };
    match r {
        Reason::KeyPolicyAllows { statement } => format!("key policy {statement}"),
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => format!(
            "key policy {statement} delegates; {}",
            identity_allow_text(identity)
        ),
        Reason::IdentityAllows { identity } => identity_allow_text(identity),
        Reason::Grant { grant_id, name } => grant_text(grant_id, name.as_deref()),
        Reason::KeyPolicyDenies { statement } => format!("key policy {statement}"),
        Reason::IdentityPolicyDenies { policy, statement } => {
            named_policy_text("identity policy", policy, statement, hide_identity)
        }
        Reason::GuardrailDenies {
            guardrail,
            policy,
            statement,
        } => named_policy_text(guardrail.noun(), policy, statement, hide_identity),
        other => format!("{other:?}"),
    }
}
