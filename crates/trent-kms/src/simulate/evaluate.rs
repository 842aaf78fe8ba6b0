//! Deciding a simulated request: one function per set of rules, each asking
//! [`decide`](crate::authz::decide::decide) the one question the server would ask and filling in
//! the explanation's sections (what was consulted, and why) from the decision it returns.

use trent_policy::{ContextValue, PolicyKind, PrincipalKind};

use super::SimulateError;
use super::input::{GrantInput, Input, parse_policy};
use super::output::{
    GrantSection, GuardrailStatements, IamReason, IdentitySection, PolicySection, Why,
    guardrail_sections, iam_reason, iam_reason_text, kms_reason, named, statements,
};
use super::request::Request;
use crate::authz::decide::{
    self, Decision, GrantOutcome, Outcome, Question, Reason, ResourceAccess, ResourcePolicyRole,
};
use crate::authz::grants::{GrantConstraints, GrantRequest, GrantView, evaluate_grant};
use crate::managed;
use crate::operation::{grant_operation, is_cross_account_action};

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
                    created_by: None,
                    created_ms: 0,
                    created_request_id: None,
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

/// What one set of rules concluded, with the sections of the explanation it can fill in.
pub(super) struct Verdict {
    pub(super) outcome: Outcome,
    pub(super) why: Why,
    pub(super) summary: String,
    pub(super) message: Option<String>,
    pub(super) rules: &'static str,
    pub(super) resource_account: Option<String>,
    pub(super) resource_policy: PolicySection,
    pub(super) identity_policies: IdentitySection,
    pub(super) grants: GrantSection,
    pub(super) guardrails: Vec<GuardrailStatements>,
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
        guardrails: guardrail_sections(&decision.guardrails),
    }
}

/// A `kms:` action on a KMS key: the server's procedure, key policy first.
pub(super) fn simulate_key(
    r: &Request,
    grants_in: &[GrantInput],
    region: &str,
    account: &str,
    key_id: &str,
) -> Result<Verdict, SimulateError> {
    let (text, source) = match &r.resource_policy {
        Some(t) => (t.clone(), "input"),
        None => (crate::default_key_policy(region, account), "default"),
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
    let (identity, guardrails, session) = r.policy_refs();
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: Some(ResourceAccess::key_policy(account, &key_policy)),
        cross_account_action: is_cross_account_action(&r.action),
        resource_policy_context: &kp_context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: session.as_deref(),
        guardrails: &guardrails,
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
pub(super) fn simulate_kms_without_key(r: &Request) -> Result<Verdict, SimulateError> {
    if let Some(text) = &r.resource_policy {
        // Not consulted, but a malformed document is still worth reporting.
        parse_policy(text, PolicyKind::KeyPolicy, "resourcePolicy".to_string())?;
    }
    let (identity, guardrails, session) = r.policy_refs();
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: None,
        cross_account_action: false,
        resource_policy_context: &r.context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: session.as_deref(),
        guardrails: &guardrails,
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
    let mut verdict = kms_verdict(
        r,
        &decision,
        "kms-iam-only",
        (resource_policy, identity_policies, grants),
        None,
    );
    // Aliases of AWS managed keys cannot be created, changed or deleted by anyone, whatever
    // the policies say (the server answers NotAuthorizedException).
    let alias_change = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&r.action));
    let reserved = r
        .resource
        .split_once(":alias/")
        .is_some_and(|(_, name)| format!("alias/{name}").starts_with(managed::ALIAS_PREFIX));
    if alias_change && reserved && verdict.outcome != Outcome::ExplicitDeny {
        verdict.outcome = Outcome::ImplicitDeny;
        verdict.why = Why::Iam(IamReason::ReservedAlias);
        verdict.summary = iam_reason_text(&IamReason::ReservedAlias, &r.action);
        verdict.message = Some(managed::RESERVED_ALIAS_MESSAGE.to_string());
    }
    Ok(verdict)
}

/// The STS actions a role's trust policy decides (with the caller's identity policies).
const ROLE_TRUST_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
];

/// `arn:aws:iam::<account>:role/...`.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "iam", "", _, rest] if rest.starts_with("role/"))
}

/// Anything but KMS: the general IAM rules.
pub(super) fn simulate_general(
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
    // Assuming a role: its trust policy is the root of trust, as the server has it (an identity
    // policy alone is not enough, in the role's account too). Other resource policies are
    // validated under the key-policy rules (Principal required) and are additive.
    let assumes_role = is_role_arn(&r.resource)
        && ROLE_TRUST_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&r.action));
    let (kind, role) = if assumes_role {
        (PolicyKind::TrustPolicy, ResourcePolicyRole::RootOfTrust)
    } else {
        (PolicyKind::KeyPolicy, ResourcePolicyRole::Additive)
    };
    let resource_policy = r
        .resource_policy
        .as_deref()
        .map(|t| parse_policy(t, kind, "resourcePolicy".to_string()))
        .transpose()?;
    let same_account = r.principal.kind == PrincipalKind::Service || *caller_account == account;
    let (identity, guardrails, session) = r.policy_refs();
    let decision = decide::decide(&Question {
        principal: &r.principal,
        action: &r.action,
        resource: &r.resource,
        resource_policy: has_resource.then(|| ResourceAccess {
            account: &account,
            policy: resource_policy.as_ref(),
            role,
            policy_principal: None,
        }),
        cross_account_action: true,
        resource_policy_context: &r.context,
        identity_context: &r.context,
        identity_policies: &identity,
        session_policies: session.as_deref(),
        guardrails: &guardrails,
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
    let guardrails = guardrail_sections(&decision.guardrails);
    // "No permissions are required to perform this operation": even an explicit deny does not
    // stop sts:GetCallerIdentity (STS API reference).
    let (outcome, reason, message) = if r.action.eq_ignore_ascii_case("sts:GetCallerIdentity") {
        (Outcome::Allow, IamReason::NoPermissionRequired, None)
    } else {
        let message = (!decision.is_allowed()).then(|| decision.denial_message(&r.principal.arn));
        (decision.outcome, iam_reason(decision.reason), message)
    };
    Ok(Verdict {
        outcome,
        summary: iam_reason_text(&reason, &r.action),
        why: Why::Iam(reason),
        message,
        rules: "iam",
        resource_account: has_resource.then_some(account),
        resource_policy: resource_section,
        identity_policies,
        grants,
        guardrails,
    })
}
