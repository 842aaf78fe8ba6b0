//! The result of a simulation as it is serialized (`--json`), and the reason texts: the one-line
//! summaries of what allowed or denied a request, and the general rules' reasons under the names
//! they are reported by.

use std::collections::BTreeMap;

use serde::Serialize;
use trent_policy::{
    ContextValue, Mismatch, PolicyEvaluation, Principal, PrincipalKind, PrincipalMatch,
    StatementOutcome,
};

use crate::authz::decide::{
    GrantOutcome, Guardrail, GuardrailEvaluation, IdentityAllow, NamedEvaluation, Outcome, Reason,
    StatementRef,
};

/// What `trent policy simulate` answers: the decision, what allowed or denied it, AWS's message
/// for a denial, and the explanation. Serializes as the `--json` output; [`Output::render_short`]
/// and [`Output::render_explain`] give the text forms.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub(super) decision: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) allowed_by: Option<Why>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) denied_by: Option<Why>,
    /// AWS's AccessDeniedException message, for denials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) message: Option<String>,
    pub(super) explanation: Explanation,
}

impl Output {
    /// Whether the simulated request is allowed (the exit status of `trent policy simulate`).
    pub fn is_allowed(&self) -> bool {
        self.decision == Outcome::Allow
    }
}

/// The `--explain` trace: the rules that decided and each source they consulted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Explanation {
    /// `kms-key`, `kms-iam-only` or `iam`: which rules decided.
    pub(super) rules: &'static str,
    /// One line: why it came out so.
    pub(super) summary: String,
    pub(super) principal: PrincipalOut,
    pub(super) action: String,
    pub(super) resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_account: Option<String>,
    /// The key policy (KMS keys) or resource policy (other resources).
    pub(super) resource_policy: PolicySection,
    pub(super) identity_policies: IdentitySection,
    pub(super) grants: GrantSection,
    /// SCPs, RCPs and the permissions boundary given, each statement's outcome.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) guardrails: Vec<GuardrailStatements>,
    /// The condition keys the policies saw.
    pub(super) context: BTreeMap<String, ContextValue>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PrincipalOut {
    pub(super) arn: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) account: String,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) role_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PolicySection {
    /// `key policy` or `resource policy`.
    pub(super) label: &'static str,
    pub(super) consulted: bool,
    /// `input`, `default` (the default key policy of §8.1) or `none`.
    pub(super) source: &'static str,
    pub(super) note: String,
    pub(super) statements: Vec<StatementOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatementOut {
    pub(super) index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sid: Option<String>,
    pub(super) effect: String,
    pub(super) applies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) principal_match: Option<PrincipalMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) mismatch: Option<Mismatch>,
    /// The same, in words.
    pub(super) why: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdentitySection {
    pub(super) consulted: bool,
    pub(super) note: String,
    pub(super) policies: Vec<NamedStatements>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NamedStatements {
    pub(super) name: String,
    pub(super) statements: Vec<StatementOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GrantSection {
    pub(super) consulted: bool,
    pub(super) note: String,
    pub(super) grants: Vec<GrantOutcome>,
}

pub(super) fn statements(e: &PolicyEvaluation) -> Vec<StatementOut> {
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

pub(super) fn principal_out(p: &Principal) -> PrincipalOut {
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

fn identity_allow(i: &IdentityAllow) -> String {
    match i {
        IdentityAllow::RootUser => "the root user's implicit IAM permissions".to_string(),
        IdentityAllow::IdentityPolicy { policy, statement } => {
            format!("identity policy {policy:?} {statement}")
        }
    }
}

pub(super) fn kms_reason(r: &Reason, action: &str, caller_account: &str) -> String {
    match r {
        Reason::KeyPolicyAllows { statement } => {
            format!("key policy {statement} names the caller")
        }
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => format!(
            "key policy {statement} together with {}",
            identity_allow(identity)
        ),
        Reason::IdentityAllows { identity } => identity_allow(identity),
        Reason::Grant { grant_id, name } => match name {
            Some(n) => format!("grant {grant_id} (name {n:?})"),
            None => format!("grant {grant_id}"),
        },
        Reason::KeyPolicyDenies { statement } => {
            format!("key policy {statement} denies explicitly")
        }
        Reason::IdentityPolicyDenies { policy, statement } => {
            format!("identity policy {policy:?} {statement} denies explicitly")
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
        Reason::GuardrailDenies {
            guardrail,
            policy,
            statement,
        } => format!(
            "{} {policy:?} {statement} denies explicitly",
            guardrail.noun()
        ),
        Reason::NoGuardrailAllows { guardrail, level } => match level {
            Some(level) => format!("no {} at {level} allows {action}", guardrail.noun()),
            None => format!("no {} allows {action}", guardrail.noun()),
        },
    }
}

/// The outcome of the general IAM rules.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(super) enum IamReason {
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
    /// `sts:GetCallerIdentity`: allowed whatever the policies say.
    NoPermissionRequired,
    /// Changing an `alias/aws/` alias: denied whatever the policies say.
    ReservedAlias,
    /// An SCP, RCP, permissions boundary or session policy decided: the KMS rules' reason.
    #[serde(untagged)]
    Guardrail(Reason),
}

/// The general rule's reasons under the names `policy simulate` reports them by (a key policy's
/// reasons are named for keys; here the resource policy is any resource's).
pub(super) fn iam_reason(reason: Reason) -> IamReason {
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
        Reason::NoResourceBasedAllow | Reason::Grant { .. } | Reason::NotCrossAccountAction => {
            IamReason::NoResourceBasedAllow
        }
        r @ (Reason::GuardrailDenies { .. } | Reason::NoGuardrailAllows { .. }) => {
            IamReason::Guardrail(r)
        }
    }
}

pub(super) fn iam_reason_text(r: &IamReason, action: &str) -> String {
    match r {
        IamReason::ResourcePolicyAllows { statement } => {
            format!("resource policy {statement} names the caller")
        }
        IamReason::IdentityAllows { identity } => identity_allow(identity),
        IamReason::ResourcePolicyAndIdentityAllow {
            statement,
            identity,
        } => format!(
            "resource policy {statement} together with {}",
            identity_allow(identity)
        ),
        IamReason::ResourcePolicyDenies { statement } => {
            format!("resource policy {statement} denies explicitly")
        }
        IamReason::IdentityPolicyDenies { policy, statement } => {
            format!("identity policy {policy:?} {statement} denies explicitly")
        }
        IamReason::NoResourceBasedAllow => {
            format!("no resource-policy statement allows the caller or its account {action}")
        }
        IamReason::NoIdentityBasedAllow => format!("no identity policy allows {action}"),
        IamReason::NoPermissionRequired => {
            format!("{action} needs no permission: it is allowed whatever the policies say")
        }
        IamReason::ReservedAlias => {
            "alias/aws/ aliases belong to AWS managed keys: nobody can create, change or delete them"
                .to_string()
        }
        IamReason::Guardrail(r) => kms_reason(r, action, ""),
    }
}

/// One guardrail policy of the explanation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GuardrailStatements {
    pub(super) guardrail: Guardrail,
    pub(super) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) level: Option<String>,
    pub(super) statements: Vec<StatementOut>,
}

pub(super) fn guardrail_sections(evaluations: &[GuardrailEvaluation]) -> Vec<GuardrailStatements> {
    evaluations
        .iter()
        .map(|e| GuardrailStatements {
            guardrail: e.guardrail,
            name: e.name.clone(),
            level: e.level.clone(),
            statements: statements(&e.evaluation),
        })
        .collect()
}

pub(super) fn named(evaluations: &[NamedEvaluation]) -> Vec<NamedStatements> {
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
pub(super) enum Why {
    Kms(Reason),
    Iam(IamReason),
}
