//! `trent policy simulate`'s engine: decides one request offline, from a JSON description of the
//! caller, the request, the policies and the grants, and explains the decision.
//!
//! Every request is decided by [`crate::authz::decide::decide`], the one function the server
//! decides with, so the two cannot disagree. `kms:` actions on KMS key ARNs go through the
//! server's procedure with the key policy as root of trust (grants through
//! [`crate::authz::grants::evaluate_grant`]); `kms:` actions on alias ARNs and on `*` are decided
//! by IAM policies alone, as in the server; every other request follows the general IAM rules
//! (`ResourcePolicyRole::Additive`: same account, an identity policy or the resource policy
//! allows; another account, both must; an explicit deny wins). The caller's condition keys come
//! from the server's own [`crate::authz::context::principal_keys`].
//!
//! The work is split by job: `input` reads the JSON document (its policies and grants),
//! `request` turns it into the request to decide and the rules that apply, `evaluate` asks
//! `decide` and fills in the explanation's sections, `output` holds the serialized result and
//! its reason texts, and `render` prints it as text. Reading the file and printing are the
//! CLI's (`trent/src/simulate.rs`).

mod evaluate;
mod input;
mod output;
mod render;
mod request;

use trent_policy::PolicyKind;

use crate::authz::decide::Outcome;
use evaluate::{simulate_general, simulate_key, simulate_kms_without_key};
use input::Input;
pub use output::Output;
use output::{Explanation, principal_out};
use request::{Target, parse_request};

/// Why the input could not be simulated. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
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

/// Simulates one input document: the decision, what made it, and the explanation.
pub fn simulate(text: &str) -> Result<Output, SimulateError> {
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
            guardrails: verdict.guardrails,
            context: request.keys.shown(),
        },
    })
}
