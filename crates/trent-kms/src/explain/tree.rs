//! The explanation tree: one node per source of permissions (key policy, identity policies,
//! grants), each statement or grant under it with how it fared. Read from the decision only:
//! every line says what `decide` found, nothing is evaluated again.

use trent_policy::{Mismatch, PolicyEvaluation, PrincipalMatch, StatementOutcome};

use super::explanation::Node;
use super::from_decision::KeyPolicyFacts;
use super::phrases::{grant_text, identity_allow_text};
use crate::authz::Decision;
use crate::authz::decide::{EndedGrantOutcome, GrantOutcome, IdentityAllow, Reason};
use crate::clock::iso8601;
use crate::identity::{Principal, PrincipalKind};
use crate::operation::grant_operation;

/// The tree of `d`: the key policy and the grants for checks against a key, the identity
/// policies always.
pub(super) fn tree(
    d: &Decision,
    subject: &Principal,
    hide_identity: bool,
    facts: &KeyPolicyFacts,
) -> Vec<Node> {
    let mut tree = Vec::new();
    if let Some(key_policy) = &d.key_policy {
        tree.push(key_policy_node(d, key_policy, subject, facts));
    }
    tree.push(identity_node(d, subject, hide_identity, facts));
    if !d.guardrails.is_empty() {
        tree.push(guardrails_node(d, hide_identity));
    }
    if d.key_policy.is_some() {
        tree.push(grants_node(d, subject));
    }
    tree
}

/// The key policy: each statement, under a title saying what the key policy did.
fn key_policy_node(
    d: &Decision,
    key_policy: &PolicyEvaluation,
    subject: &Principal,
    facts: &KeyPolicyFacts,
) -> Node {
    let account = subject.account.as_str();
    let children = statement_nodes(&key_policy.statements);
    let delegates = key_policy
        .statements
        .iter()
        .any(|s| s.principal_match == Some(PrincipalMatch::AccountLevel) && s.applies);
    let title = match &d.reason {
        Reason::KeyPolicyDenies { statement } => {
            format!("key policy: {statement} explicitly denies")
        }
        Reason::KeyPolicyAllows { statement } => {
            format!("key policy: {statement} allows {} directly", subject.arn)
        }
        Reason::KeyPolicyDelegatesToIam { statement, .. } => {
            format!("key policy: {statement} delegates to account {account}")
        }
        _ if !facts.names_subject && !delegates => format!(
            "key policy: no statement names {} and the key policy does not delegate to account {account}",
            subject_names(subject)
        ),
        _ if delegates => format!(
            "key policy: no statement names {} directly; it delegates to account {account}",
            subject.arn
        ),
        _ => format!(
            "key policy: no statement allows {} for {}",
            d.action, subject.arn
        ),
    };
    Node {
        text: title,
        children,
    }
}

/// More statements than this that fail on their action alone are shown as one line.
const UNRELATED_SHOWN: usize = 3;

/// A policy's statements as the request fared, one line each — except those whose action does
/// not match, which say nothing about this request: past [`UNRELATED_SHOWN`] of them they are
/// one line naming their numbers (an identity policy of 100 statements would otherwise fill the
/// explanation, and every audit record, with 99 lines saying the same).
fn statement_nodes(statements: &[StatementOutcome]) -> Vec<Node> {
    let unrelated = |s: &StatementOutcome| matches!(s.mismatch, Some(Mismatch::Action));
    let numbers: Vec<usize> = statements
        .iter()
        .filter(|s| unrelated(s))
        .map(|s| s.index)
        .collect();
    if numbers.len() <= UNRELATED_SHOWN {
        return statements
            .iter()
            .map(|s| Node::leaf(s.to_string()))
            .collect();
    }
    let mut nodes = Vec::new();
    let mut folded = false;
    for s in statements {
        if !unrelated(s) {
            nodes.push(Node::leaf(s.to_string()));
        } else if !folded {
            folded = true;
            nodes.push(Node::leaf(format!(
                "statements {} ({} of {}): do not apply: the action does not match",
                ranges(&numbers),
                numbers.len(),
                statements.len()
            )));
        }
    }
    nodes
}

/// Ascending numbers as ranges: `0-3, 5, 7-98`.
fn ranges(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// The identity policies: their statements (unless hidden), under a title saying whether they
/// were consulted and what they did.
fn identity_node(
    d: &Decision,
    subject: &Principal,
    hide_identity: bool,
    facts: &KeyPolicyFacts,
) -> Node {
    let account = subject.account.as_str();
    let identity_children: Vec<Node> = if hide_identity {
        vec![Node::leaf(format!(
            "(statements hidden: the policies belong to account {account})"
        ))]
    } else {
        d.identity_policies
            .iter()
            .map(|p| Node {
                text: format!("policy {:?}", p.name),
                children: statement_nodes(&p.evaluation.statements),
            })
            .collect()
    };
    let identity_title = match &d.reason {
        Reason::IdentityPolicyDenies { policy, statement } => {
            if hide_identity {
                "identity policies: an identity policy explicitly denies".to_string()
            } else {
                format!("identity policies: policy {policy:?} {statement} explicitly denies")
            }
        }
        Reason::KeyPolicyDenies { .. } => {
            "identity policies: not needed: the key policy denies".to_string()
        }
        Reason::NotCrossAccountAction => format!(
            "identity policies: not consulted: {} cannot be used on a key of another account",
            d.action
        ),
        Reason::KeyPolicyAllows { .. } => {
            "identity policies: not needed: the key policy names the caller directly".to_string()
        }
        Reason::KeyPolicyDelegatesToIam { identity, .. } | Reason::IdentityAllows { identity } => {
            match identity {
                IdentityAllow::RootUser => format!(
                    "identity policies: the root user of account {account} passes the IAM side implicitly"
                ),
                IdentityAllow::IdentityPolicy { .. } if hide_identity => {
                    "identity policies: an identity policy allows".to_string()
                }
                other => format!("identity policies: {}", identity_allow_text(other)),
            }
        }
        Reason::NoGuardrailAllows { guardrail, .. } if identity_allows(d) => format!(
            "identity policies: an identity policy allows {}, but no {} does",
            d.action,
            guardrail.noun()
        ),
        _ if !d.identity_consulted => match &facts.delegation_mismatch {
            Some(why) => format!(
                "identity policies: not consulted: the key policy's delegation to account {account} does not cover this request ({why})"
            ),
            None => format!(
                "identity policies: not consulted: the key policy does not delegate to account {account}"
            ),
        },
        _ if subject.kind == PrincipalKind::Root => format!(
            "identity policies: the root user of account {account} passes the IAM side implicitly"
        ),
        _ => format!("identity policies: no identity policy allows {}", d.action),
    };
    let identity_children =
        if d.identity_consulted || matches!(d.reason, Reason::IdentityPolicyDenies { .. }) {
            if identity_children.is_empty() && subject.kind != PrincipalKind::Root {
                vec![Node::leaf(format!(
                    "{} has no identity policies",
                    subject.principal_arn()
                ))]
            } else {
                identity_children
            }
        } else {
            Vec::new()
        };
    Node {
        text: identity_title,
        children: identity_children,
    }
}

/// Whether a statement of the caller's identity policies allows the request (whatever else
/// then kept it from being allowed).
fn identity_allows(d: &Decision) -> bool {
    d.identity_policies.iter().any(|p| {
        p.evaluation
            .statements
            .iter()
            .any(|s| s.applies && s.effect == trent_policy::Effect::Allow)
    })
}

/// The guardrails that applied (permissions boundary, SCPs, RCPs): each policy with how it
/// fared and its statements, under a title saying whether one of them decided. Session
/// policies are shown with the identity policies, where `decide` records them.
fn guardrails_node(d: &Decision, hide_identity: bool) -> Node {
    let title = match &d.reason {
        Reason::GuardrailDenies {
            guardrail,
            policy,
            statement,
        } if !hide_identity => format!(
            "guardrails: {} {policy:?} {statement} explicitly denies",
            guardrail.noun()
        ),
        Reason::GuardrailDenies { guardrail, .. } => {
            format!("guardrails: a {} explicitly denies", guardrail.noun())
        }
        Reason::NoGuardrailAllows { guardrail, level } => match level {
            Some(level) => format!(
                "guardrails: no {} attached at {level} allows {}",
                guardrail.noun(),
                d.action
            ),
            None => format!("guardrails: no {} allows {}", guardrail.noun(), d.action),
        },
        _ => "guardrails: none of them decided this request".to_string(),
    };
    let children = d
        .guardrails
        .iter()
        .map(|g| {
            let at = g
                .level
                .as_deref()
                .map(|l| format!(" (attached at {l})"))
                .unwrap_or_default();
            let fared = if g.evaluation.explicit_deny().is_some() {
                "explicitly denies"
            } else if g.evaluation.statements.iter().any(|s| s.applies) {
                "allows"
            } else {
                "does not allow"
            };
            Node {
                text: format!("{} {:?}{at}: {fared}", g.guardrail.noun(), g.name),
                children: if hide_identity {
                    Vec::new()
                } else {
                    statement_nodes(&g.evaluation.statements)
                },
            }
        })
        .collect();
    Node {
        text: title,
        children,
    }
}

/// The grants of the key: how each relates to the request, under a title saying whether one
/// allowed it.
fn grants_node(d: &Decision, subject: &Principal) -> Node {
    let mut children: Vec<Node> = d
        .grants
        .iter()
        .map(|g| {
            let head = format!(
                "{} for {}",
                grant_text(&g.grant_id, g.name.as_deref()),
                g.grantee_principal
            );
            grant_node(
                g,
                match &g.mismatch {
                    None if g.account_grantee => {
                        format!("{head}: matches (an account grantee: IAM must allow too)")
                    }
                    None => format!("{head}: matches"),
                    Some(why) => format!("{head}: does not apply: {why}"),
                },
            )
        })
        .collect();
    if d.grants_not_shown > 0 {
        children.push(Node::leaf(not_shown(d.grants_not_shown)));
    }
    children.extend(d.ended_grants.iter().map(|e| {
        grant_node(
            &e.grant,
            format!(
                "{} for {} would have allowed it, but {}",
                grant_text(&e.grant.grant_id, e.grant.name.as_deref()),
                e.grant.grantee_principal,
                ended_text(e)
            ),
        )
    }));
    let title = match (&d.reason, grant_operation(&d.action)) {
        (Reason::Grant { grant_id, name }, _) => {
            format!(
                "grants: {} allows it",
                grant_text(grant_id, name.as_deref())
            )
        }
        (_, None) => format!("grants: none considered: {} cannot be granted", d.action),
        _ if d.grants.is_empty() => format!(
            "grants: no grant matches: no grant of this key names {}, its role or its account",
            subject.arn
        ),
        _ if d.grants.iter().any(|g| g.applies) => {
            "grants: a grant matches, but not needed or not sufficient".to_string()
        }
        _ => "grants: no grant matches".to_string(),
    };
    Node {
        text: title,
        children,
    }
}

/// Who the subject is, in words: its ARN, and its role for sessions.
fn subject_names(p: &Principal) -> String {
    match &p.kind {
        PrincipalKind::AssumedRole { role_arn, .. } => format!("{} (role {role_arn})", p.arn),
        _ => p.arn.clone(),
    }
}

/// The grants naming the caller that a decision leaves out (see `Decision::grants_not_shown`).
pub(super) fn not_shown(n: usize) -> String {
    format!("{n} more grant(s) for the caller, not shown")
}

/// A grant under `head`: who made it, and each of its constraints as the request fared.
fn grant_node(g: &GrantOutcome, head: String) -> Node {
    let mut children = vec![Node::leaf(created_text(g))];
    children.extend(g.constraints.iter().map(|c| {
        let verdict = if c.satisfied {
            "satisfied"
        } else {
            "not satisfied"
        };
        Node::leaf(match &c.detail {
            Some(detail) => format!("{}: {verdict}: {detail}", c.constraint),
            None => format!("{}: {verdict}", c.constraint),
        })
    }));
    Node {
        text: head,
        children,
    }
}

/// Who made a grant and when, in words: the "Lambda made this grant" line.
pub(super) fn created_text(g: &GrantOutcome) -> String {
    let mut text = match &g.created_by {
        Some(by) => format!("created by {by} at {}", iso8601(g.created_ms)),
        None => format!(
            "created at {} (creator not recorded)",
            iso8601(g.created_ms)
        ),
    };
    if let Some(request) = &g.created_request_id {
        text.push_str(&format!(" in request {request}"));
    }
    text
}

/// How an ended grant ended: `it was retired at T by P in request R`.
pub(super) fn ended_text(e: &EndedGrantOutcome) -> String {
    let mut text = format!("it was {} at {} by {}", e.how, iso8601(e.at_ms), e.by);
    if let Some(request) = &e.request_id {
        text.push_str(&format!(" in request {request}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use trent_policy::Effect;

    fn outcome(index: usize, mismatch: Option<Mismatch>) -> StatementOutcome {
        StatementOutcome {
            index,
            sid: None,
            effect: Effect::Allow,
            applies: mismatch.is_none(),
            principal_match: None,
            mismatch,
        }
    }

    #[test]
    fn numbers_become_ranges() {
        assert_eq!(ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3, 5, 7-9");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn unrelated_statements_fold_into_one_line_past_three() {
        let few: Vec<_> = (0..3).map(|i| outcome(i, Some(Mismatch::Action))).collect();
        assert_eq!(statement_nodes(&few).len(), 3);

        let mut many: Vec<_> = (0..6).map(|i| outcome(i, Some(Mismatch::Action))).collect();
        many.insert(2, outcome(99, Some(Mismatch::Resource)));
        many.push(outcome(100, None));
        let texts: Vec<String> = statement_nodes(&many).into_iter().map(|n| n.text).collect();
        assert_eq!(
            texts,
            [
                "statements 0-5 (6 of 8): do not apply: the action does not match",
                "statement 99: Allow does not apply: the resource does not match",
                "statement 100: Allow applies",
            ]
        );
    }
}
