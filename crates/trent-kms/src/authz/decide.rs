//! The KMS decision procedure for one (action, resource) check (spec §2.3, §2.4): key policy,
//! identity policies and grants together, an explicit deny anywhere wins. Pure: everything it
//! needs is passed in, so the server and `trent policy simulate` run the very same code.

use serde::Serialize;
use trent_policy::{
    ConditionContext, Policy, PolicyEvaluation, Principal, PrincipalKind, PrincipalMatch,
    RequestContext,
};

/// The key a check is about.
pub struct KeyAccess<'a> {
    pub arn: &'a str,
    pub account: &'a str,
    pub policy: &'a Policy,
    /// The principal the key policy sees, when it differs from the caller: a user or role
    /// deleted and recreated with the same name no longer matches the ARN the policy named
    /// (its unique ID changed), so its ARN is replaced by one nothing matches.
    pub policy_principal: Option<&'a Principal>,
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
}

/// One authorization question.
pub struct Question<'a> {
    pub principal: &'a Principal,
    /// e.g. `kms:Decrypt`.
    pub action: &'a str,
    /// The ARN checked (key or alias), or `*` for resource-less actions.
    pub resource: &'a str,
    /// Present for key resource checks: the key policy is then the root of trust.
    pub key: Option<KeyAccess<'a>>,
    /// Whether the action may be used on a key of another account (spec §2.2, XA).
    pub cross_account_action: bool,
    /// Condition keys as the key policy sees them (no `aws:ResourceTag`, no
    /// `kms:ResourceAliases`: those are for IAM policies only, spec §4.2).
    pub key_policy_context: &'a ConditionContext,
    pub identity_context: &'a ConditionContext,
    pub identity_policies: &'a [IdentityPolicy<'a>],
    pub grants: &'a [GrantOutcome],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// A statement of a policy, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementRef {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
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

/// Evaluates the identity side: an explicit deny, else the first allow (root: implicit).
struct IdentitySide {
    evaluations: Vec<NamedEvaluation>,
    deny: Option<(String, StatementRef)>,
    allow: Option<IdentityAllow>,
}

fn identity_side(q: &Question<'_>) -> IdentitySide {
    let request = RequestContext {
        principal: q.principal.clone(),
        action: q.action.to_string(),
        resource: q.resource.to_string(),
        context: q.identity_context.clone(),
    };
    let evaluations: Vec<NamedEvaluation> = q
        .identity_policies
        .iter()
        .map(|p| NamedEvaluation {
            name: p.name.to_string(),
            evaluation: p.policy.evaluate(&request),
        })
        .collect();
    let deny = evaluations.iter().find_map(|e| {
        e.evaluation
            .explicit_deny()
            .map(|s| (e.name.clone(), statement_ref(&e.evaluation, s.index)))
    });
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
    IdentitySide {
        evaluations,
        deny,
        allow,
    }
}

/// Session policies (of STS AssumeRole's `Policy`/`PolicyArns`) can only narrow an allow: an
/// allow that is not a grant's also needs a session policy to allow, and an explicit deny in one
/// denies. Session policies are evaluated with the identity-side condition keys and reported
/// among the identity policies as `session policy <name>`. Explicit denials are reported as an
/// identity-policy deny and a missing allow as `NoIdentityBasedAllow` (AWS says "session
/// policy" in these messages; Trent says "identity-based policy").
pub fn apply_session_policies(
    mut decision: Decision,
    session: Option<&[IdentityPolicy<'_>]>,
    principal: &Principal,
    identity_context: &ConditionContext,
) -> Decision {
    let Some(session) = session else {
        return decision;
    };
    if decision.outcome != Outcome::Allow || matches!(decision.reason, Reason::Grant { .. }) {
        return decision;
    }
    let request = RequestContext {
        principal: principal.clone(),
        action: decision.action.clone(),
        resource: decision.resource.clone(),
        context: identity_context.clone(),
    };
    let evaluations: Vec<NamedEvaluation> = session
        .iter()
        .map(|p| NamedEvaluation {
            name: format!("session policy {}", p.name),
            evaluation: p.policy.evaluate(&request),
        })
        .collect();
    let deny = evaluations.iter().find_map(|e| {
        e.evaluation
            .explicit_deny()
            .map(|s| (e.name.clone(), statement_ref(&e.evaluation, s.index)))
    });
    let allowed = evaluations
        .iter()
        .any(|e| e.evaluation.any_allow().is_some());
    decision.identity_policies.extend(evaluations);
    decision.identity_consulted = true;
    if let Some((policy, statement)) = deny {
        decision.outcome = Outcome::ExplicitDeny;
        decision.reason = Reason::SessionPolicyDenies { policy, statement };
    } else if !allowed {
        decision.outcome = Outcome::ImplicitDeny;
        decision.reason = Reason::NoSessionPolicyAllow;
    }
    decision
}

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
    };
    let Some(key) = &q.key else {
        // Resource-less or alias check: IAM in the caller's account decides alone.
        let iam = identity_side(q);
        decision.identity_consulted = true;
        decision.identity_policies = iam.evaluations;
        (decision.outcome, decision.reason) = match (iam.deny, iam.allow) {
            (Some((policy, statement)), _) => (
                Outcome::ExplicitDeny,
                Reason::IdentityPolicyDenies { policy, statement },
            ),
            (None, Some(identity)) => (Outcome::Allow, Reason::IdentityAllows { identity }),
            (None, None) => (Outcome::ImplicitDeny, Reason::NoIdentityBasedAllow),
        };
        return decision;
    };

    // A service principal acting as itself has no account and no identity policies: a
    // key-policy statement naming it (or a grant) lets it in alone (spec §2.3 note 7), as a
    // Direct match does in the key's own account.
    let same_account =
        q.principal.kind == PrincipalKind::Service || q.principal.account == key.account;
    let kp = key.policy.evaluate(&RequestContext {
        principal: key.policy_principal.unwrap_or(q.principal).clone(),
        action: q.action.to_string(),
        resource: q.resource.to_string(),
        context: q.key_policy_context.clone(),
    });
    // Identity policies always count for denies; for allows only where the key policy
    // delegates (or names the caller across accounts). Evaluate them once, up front.
    let iam = identity_side(q);
    decision.identity_policies = iam.evaluations;

    // 1. Explicit denies, key policy first (spec §2.4: report resource-based first).
    if let Some(s) = kp.explicit_deny() {
        decision.outcome = Outcome::ExplicitDeny;
        decision.reason = Reason::KeyPolicyDenies {
            statement: statement_ref(&kp, s.index),
        };
        decision.key_policy = Some(kp);
        return decision;
    }
    if let Some((policy, statement)) = iam.deny {
        decision.identity_consulted = true;
        decision.outcome = Outcome::ExplicitDeny;
        decision.reason = Reason::IdentityPolicyDenies { policy, statement };
        decision.key_policy = Some(kp);
        return decision;
    }

    // 2. Allow paths.
    if !same_account && !q.cross_account_action {
        // "Those permissions have no effect": as if the key policy gave the account nothing.
        decision.reason = Reason::NotCrossAccountAction;
        decision.key_policy = Some(kp);
        return decision;
    }
    let direct = kp
        .allow_with(PrincipalMatch::Direct)
        .map(|s| statement_ref(&kp, s.index));
    let account = kp
        .allow_with(PrincipalMatch::AccountLevel)
        .map(|s| statement_ref(&kp, s.index));
    let grant = q.grants.iter().find(|g| g.applies);

    let allowed = if same_account {
        if let Some(statement) = direct.clone() {
            Some(Reason::KeyPolicyAllows { statement })
        } else {
            match (&account, &iam.allow) {
                (Some(statement), Some(identity)) => Some(Reason::KeyPolicyDelegatesToIam {
                    statement: statement.clone(),
                    identity: identity.clone(),
                }),
                _ => None,
            }
        }
    } else {
        // Cross-account: the key policy (naming the caller or its account) AND the caller's IAM.
        match (direct.clone().or(account.clone()), &iam.allow) {
            (Some(statement), Some(identity)) => Some(Reason::KeyPolicyDelegatesToIam {
                statement,
                identity: identity.clone(),
            }),
            _ => None,
        }
    };
    decision.identity_consulted = account.is_some() || !same_account;
    let allowed = allowed.or_else(|| {
        grant
            .filter(|g| !g.account_grantee || iam.allow.is_some())
            .map(|g| Reason::Grant {
                grant_id: g.grant_id.clone(),
                name: g.name.clone(),
            })
    });
    match allowed {
        Some(reason) => {
            decision.outcome = Outcome::Allow;
            decision.reason = reason;
        }
        None => {
            let names_caller =
                direct.is_some() || account.is_some() || q.grants.iter().any(|g| g.grantee_matches);
            decision.reason = if names_caller {
                Reason::NoIdentityBasedAllow
            } else {
                Reason::NoResourceBasedAllow
            };
        }
    }
    decision.key_policy = Some(kp);
    decision
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
                key: Some(KeyAccess {
                    policy_principal: None,
                    arn,
                    account: "111122223333",
                    policy: &policy,
                }),
                cross_account_action: true,
                key_policy_context: &context,
                identity_context: &context,
                identity_policies: &[],
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
}
