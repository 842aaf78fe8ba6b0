//! The summary line and the causes of an explanation: what decided, in one line and as data.
//! Read from the decision's `Reason` and its evaluations, never from a second evaluation.

use trent_policy::PrincipalMatch;

use super::explanation::Cause;
use super::from_decision::KeyPolicyFacts;
use super::phrases::{grant_text, identity_allow_text};
use crate::arn::parse_kms_arn;
use crate::authz::decide::{Guardrail, IdentityAllow, Reason, StatementRef};
use crate::authz::{Decision, Outcome};
use crate::identity::{Principal, PrincipalKind};
use crate::operation::grant_operation;

/// The summary line of `d` (the outcome, the request, and the reason) and its causes: for an
/// allow what allowed, for an explicit deny what denied, for an implicit deny each source that
/// did not allow.
pub(super) fn summary_and_causes(
    d: &Decision,
    subject: &Principal,
    hide_identity: bool,
    facts: &KeyPolicyFacts,
) -> (String, Vec<Cause>) {
    let account = subject.account.as_str();
    let key_account = parse_kms_arn(&d.resource).map(|a| a.account);
    let mut causes = Vec::new();
    let on = if d.resource == "*" {
        String::new()
    } else {
        format!(" on {}", d.resource)
    };
    let head = format!(
        "{} {}{on} for {}",
        match d.outcome {
            Outcome::Allow => "ALLOW",
            Outcome::ExplicitDeny => "DENY (explicit)",
            Outcome::ImplicitDeny => "DENY (implicit)",
        },
        d.action,
        subject.arn
    );
    let why = match &d.reason {
        Reason::KeyPolicyAllows { statement } => {
            causes.push(
                Cause::new(
                    "keyPolicy",
                    "allows",
                    "names the caller, its role, or everyone",
                )
                .statement(statement),
            );
            format!("key policy {statement} allows it")
        }
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => {
            causes.push(
                Cause::new("keyPolicy", "delegates", format!("names account {account}"))
                    .statement(statement),
            );
            causes.push(identity_cause(identity, hide_identity));
            format!(
                "key policy {statement} delegates to account {account} and {}",
                if hide_identity {
                    "an identity policy allows".to_string()
                } else {
                    identity_allow_text(identity)
                }
            )
        }
        Reason::IdentityAllows { identity } => {
            causes.push(identity_cause(identity, hide_identity));
            if hide_identity {
                "an identity policy allows it".to_string()
            } else {
                identity_allow_text(identity)
            }
        }
        Reason::Grant { grant_id, name } => {
            let mut c = Cause::new(
                "grant",
                "allows",
                "grantee, operation and constraints match",
            );
            c.grant_id = Some(grant_id.clone());
            c.grant_name = name.clone();
            causes.push(c);
            format!("{} allows it", grant_text(grant_id, name.as_deref()))
        }
        Reason::KeyPolicyDenies { statement } => {
            causes.push(
                Cause::new("keyPolicy", "denies", "an explicit deny beats every allow")
                    .statement(statement),
            );
            format!("explicit deny in key policy {statement}")
        }
        Reason::IdentityPolicyDenies { policy, statement } => {
            let mut c = Cause::new(
                "identityPolicy",
                "denies",
                "an explicit deny beats every allow",
            );
            if !hide_identity {
                c = c.statement(statement);
                c.policy = Some(policy.clone());
            }
            causes.push(c);
            if hide_identity {
                "explicit deny in an identity policy".to_string()
            } else {
                format!("explicit deny in identity policy {policy:?} {statement}")
            }
        }
        Reason::NotCrossAccountAction => {
            causes.push(Cause::new(
                "crossAccount",
                "doesNotAllow",
                format!(
                    "{} cannot be used on a key of another account ({} is not {})",
                    d.action,
                    account,
                    key_account.as_deref().unwrap_or("?")
                ),
            ));
            format!("{} cannot be used across accounts", d.action)
        }
        Reason::GuardrailDenies {
            guardrail,
            policy,
            statement,
        } => {
            let mut c = Cause::new(
                guardrail_source(*guardrail),
                "denies",
                "an explicit deny beats every allow",
            );
            c = c.statement(statement);
            c.policy = Some(policy.clone());
            causes.push(c);
            format!(
                "explicit deny in {} {policy:?} {statement}",
                guardrail.noun()
            )
        }
        Reason::NoGuardrailAllows { guardrail, level } => {
            let why = match (guardrail, level) {
                (Guardrail::ServiceControlPolicy, Some(level)) => format!(
                    "no service control policy attached at {level} allows the action: every level of the organization must allow"
                ),
                (Guardrail::SessionPolicy, _) => {
                    "the role session has session policies and none of them allows the action"
                        .to_string()
                }
                (Guardrail::PermissionsBoundary, _) => {
                    "the caller's permissions boundary does not allow the action: it limits what identity policies (and policies naming the caller's role) allow"
                        .to_string()
                }
                (g, _) => format!("no {} allows the action", g.noun()),
            };
            causes.push(Cause::new(
                guardrail_source(*guardrail),
                "doesNotAllow",
                why,
            ));
            match (guardrail, level) {
                (Guardrail::SessionPolicy, _) => {
                    "no session policy of the role session allows it".to_string()
                }
                (g, Some(level)) => format!("no {} at {level} allows it", g.noun()),
                (g, None) => format!("no {} allows it", g.noun()),
            }
        }
        Reason::NoResourceBasedAllow | Reason::NoIdentityBasedAllow => {
            implicit_deny_causes(d, subject, facts, &mut causes)
        }
    };
    (format!("{head}: {why}"), causes)
}

/// The cause source of a guardrail (`sessionPolicy`, `serviceControlPolicy`, …).
fn guardrail_source(g: Guardrail) -> &'static str {
    match g {
        Guardrail::ServiceControlPolicy => "serviceControlPolicy",
        Guardrail::ResourceControlPolicy => "resourceControlPolicy",
        Guardrail::PermissionsBoundary => "permissionsBoundary",
        Guardrail::SessionPolicy => "sessionPolicy",
    }
}

fn identity_cause(identity: &IdentityAllow, hide: bool) -> Cause {
    match identity {
        IdentityAllow::RootUser => Cause::new(
            "rootUser",
            "allows",
            "the root user passes the IAM side implicitly",
        ),
        IdentityAllow::IdentityPolicy { .. } if hide => {
            Cause::new("identityPolicy", "allows", "an identity policy allows")
        }
        IdentityAllow::IdentityPolicy { policy, statement } => {
            let mut c = Cause::new("identityPolicy", "allows", "allows the action on the key")
                .statement(statement);
            c.policy = Some(policy.clone());
            c
        }
    }
}

/// Each source that did not allow, and why; the summary's reason.
fn implicit_deny_causes(
    d: &Decision,
    subject: &Principal,
    facts: &KeyPolicyFacts,
    causes: &mut Vec<Cause>,
) -> String {
    let account = subject.account.as_str();
    let mut parts = Vec::new();
    if d.key_policy.is_none() {
        causes.push(Cause::new(
            "identityPolicy",
            "doesNotAllow",
            format!("no identity policy allows {} on {}", d.action, d.resource),
        ));
        return format!("no identity policy allows {}", d.action);
    }
    let delegates = d.identity_consulted;
    let delegation = d.key_policy.as_ref().and_then(|kp| {
        kp.statements
            .iter()
            .find(|s| s.applies && s.principal_match == Some(PrincipalMatch::AccountLevel))
    });
    if let Some(s) = delegation {
        causes.push(
            Cause::new(
                "keyPolicy",
                "delegates",
                format!("names account {account}: IAM decides"),
            )
            .statement(&StatementRef::of(s)),
        );
    } else if facts.names_subject {
        causes.push(Cause::new(
            "keyPolicy",
            "doesNotAllow",
            "a statement names the caller but does not apply to this request",
        ));
        parts.push("no key-policy statement that names the caller applies".to_string());
    } else {
        causes.push(Cause::new(
            "keyPolicy",
            "doesNotAllow",
            format!("no statement names {}", subject.arn),
        ));
        parts.push("no key-policy statement names the caller".to_string());
    }
    if delegates {
        if subject.kind != PrincipalKind::Root {
            causes.push(Cause::new(
                "identityPolicy",
                "doesNotAllow",
                format!("no identity policy allows {}", d.action),
            ));
            parts.push(format!(
                "the key policy delegates to account {account} but no identity policy allows {}",
                d.action
            ));
        }
    } else {
        let why = match &facts.delegation_mismatch {
            Some(m) => format!(
                "the key policy's delegation to account {account} does not cover this request ({m})"
            ),
            None => format!("the key policy does not delegate to account {account}"),
        };
        causes.push(Cause::new(
            "identityPolicy",
            "doesNotAllow",
            format!("not consulted: {why}"),
        ));
        parts.push(format!("{why}, so identity policies were not consulted"));
    }
    if grant_operation(&d.action).is_some() {
        let why = if d.grants.is_empty() {
            "no grant of this key names the caller, its role or its account".to_string()
        } else {
            d.grants
                .iter()
                .map(|g| {
                    format!(
                        "{}: {}",
                        grant_text(&g.grant_id, g.name.as_deref()),
                        g.mismatch
                            .clone()
                            .unwrap_or_else(|| "the grantee account's IAM does not allow".into())
                    )
                })
                .chain((d.grants_not_shown > 0).then(|| super::tree::not_shown(d.grants_not_shown)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        causes.push(Cause::new("grant", "doesNotAllow", why));
        parts.push("no grant matches".to_string());
    }
    parts.join("; ")
}
