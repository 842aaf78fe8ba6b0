//! Explaining a decision: the one entry point that turns a [`Decision`] (the value `decide`
//! returned, the very one that allowed or denied) into an [`Explanation`]. Nothing here or
//! below evaluates a policy: the tree and the causes only read the decision.

use trent_policy::PrincipalMatch;

use super::causes::summary_and_causes;
use super::explanation::Explanation;
use super::tree::tree;
use super::why_not::why_not;
use crate::arn::parse_kms_arn;
use crate::authz::decide::StatementRef;
use crate::authz::{Decision, Outcome};
use crate::identity::Principal;

/// What the key policy's statements say about the subject, which both the tree and the causes
/// word (nothing, for checks without a key policy).
pub(super) struct KeyPolicyFacts {
    /// A statement names the subject itself (not only its account).
    pub(super) names_subject: bool,
    /// The first statement naming the subject's account that did not apply, and why: the
    /// delegation to IAM that this request falls outside.
    pub(super) delegation_mismatch: Option<String>,
}

impl KeyPolicyFacts {
    fn of(d: &Decision) -> KeyPolicyFacts {
        let Some(kp) = &d.key_policy else {
            return KeyPolicyFacts {
                names_subject: false,
                delegation_mismatch: None,
            };
        };
        let names_subject = kp
            .statements
            .iter()
            .any(|s| s.principal_match == Some(PrincipalMatch::Direct));
        let delegation_mismatch = kp
            .statements
            .iter()
            .find(|s| s.principal_match == Some(PrincipalMatch::AccountLevel) && !s.applies)
            .map(|s| {
                format!(
                    "{}: {}",
                    StatementRef::of(s),
                    s.mismatch
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default()
                )
            });
        KeyPolicyFacts {
            names_subject,
            delegation_mismatch,
        }
    }
}

/// Explains `d`, a decision made for `subject`. With `hide_identity`, the subject's identity
/// policies are summarized without names or statements (they belong to an account the reader
/// may not inspect).
pub fn explanation(d: &Decision, subject: &Principal, hide_identity: bool) -> Explanation {
    let facts = KeyPolicyFacts::of(d);
    let tree = tree(d, subject, hide_identity, &facts);
    let (summary, causes) = summary_and_causes(d, subject, hide_identity, &facts);
    let allowed = d.outcome == Outcome::Allow;
    Explanation {
        action: d.action.clone(),
        resource: d.resource.clone(),
        outcome: d.outcome.as_str().to_string(),
        allowed,
        summary,
        causes,
        tree,
        why_not: why_not(d, subject, hide_identity),
        aws_message: (!allowed).then(|| d.denial_message(&subject.arn)),
    }
}

/// Explanations of every decision a request recorded, for the audit log.
pub fn explanations(decisions: &[Decision], subject: &Principal) -> Vec<Explanation> {
    decisions
        .iter()
        .map(|d| explanation(d, subject, false))
        .collect()
}

/// The ARN of the key a decision is about, if it is about a key.
pub fn decision_key_arn(d: &Decision) -> Option<&str> {
    parse_kms_arn(&d.resource)
        .is_some_and(|a| a.resource.starts_with("key/"))
        .then_some(d.resource.as_str())
}
