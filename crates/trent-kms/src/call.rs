//! The request pipeline of one KMS call: decode once → handler (which authorizes before doing
//! anything observable) → [`Outcome`], which carries the response or error together with every
//! authorization decision made for the request and the decoded request, for the audit record.
//!
//! The decisions are collected in the [`Call`], a per-request value that lives on the one
//! thread serving the request: no lock, and nothing left on the long-lived [`Caller`].

use std::cell::RefCell;
use std::ops::Deref;

use serde_json::Value;

use crate::authz::Decision;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::operation::{KeyStates, Operation, OperationSpec, serialization_message};
use crate::service::Kms;

/// The authorization record of one request.
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    /// Every decision made, in order (the first denial ends the request unless overridden).
    pub decisions: Vec<Decision>,
    /// A denial was not enforced (`--authz audit`).
    pub overridden: bool,
    /// Failed policy lockout safety checks (spec §8.2): the decision a later PutKeyPolicy
    /// would get under the candidate policy. Not authorizations of this request.
    pub lockout_checks: Vec<Decision>,
}

/// One request being served: its caller, its operation's row, and the decisions made so far.
pub struct Call<'a> {
    caller: &'a Caller,
    spec: Option<&'static OperationSpec>,
    authorization: RefCell<Authorization>,
}

impl Deref for Call<'_> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        self.caller
    }
}

impl<'a> Call<'a> {
    /// A call of a KMS operation.
    pub fn operation(caller: &'a Caller, operation: Operation) -> Call<'a> {
        Call {
            caller,
            spec: Some(operation.spec()),
            authorization: RefCell::default(),
        }
    }

    /// A call that is not a KMS operation (STS, IAM, Trent's own APIs).
    pub fn other(caller: &'a Caller) -> Call<'a> {
        Call {
            caller,
            spec: None,
            authorization: RefCell::default(),
        }
    }

    pub fn caller(&self) -> &'a Caller {
        self.caller
    }

    /// The key states the operation's row allows (`Any` outside KMS operations).
    pub fn key_states(&self) -> KeyStates {
        self.spec.map_or(KeyStates::Any, |s| s.key_states)
    }

    pub fn record(&self, decision: Decision) {
        self.authorization.borrow_mut().decisions.push(decision);
    }

    /// A denial was not enforced (audit mode).
    pub fn mark_overridden(&self) {
        self.authorization.borrow_mut().overridden = true;
    }

    pub fn record_lockout_check(&self, decision: Decision) {
        self.authorization
            .borrow_mut()
            .lockout_checks
            .push(decision);
    }

    /// What was decided: the call is over.
    pub fn finish(self) -> Authorization {
        self.authorization.into_inner()
    }
}

/// What one KMS request came to.
#[derive(Debug)]
pub struct Outcome {
    /// The request as decoded (`None` when the body is not JSON): the audit record reads its
    /// parameters from here, never from the raw body.
    pub request: Option<Value>,
    pub result: KmsResult<Value>,
    pub authorization: Authorization,
}

/// Parses a JSON 1.1 request body once (an empty body is `{}`).
pub fn decode(body: &[u8]) -> KmsResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body)
        .map_err(|e| KmsError::new(ErrorCode::Serialization, serialization_message(&e)))
}

impl Kms {
    /// Runs one operation for an authenticated caller: decode, dispatch through the operation
    /// table, and return the response with the decisions that led to it.
    pub fn call(&self, caller: &Caller, operation: Operation, body: &[u8]) -> Outcome {
        let call = Call::operation(caller, operation);
        let (request, result) = match operation.handler() {
            // Not built yet: the answer does not depend on the body.
            None => (
                decode(body).ok(),
                Err(KmsError::unsupported(format!(
                    "{} is not supported by this version of Trent.",
                    operation.name()
                ))),
            ),
            Some(handler) => match decode(body) {
                Ok(request) => {
                    let result = handler(self, &call, &request);
                    (Some(request), result)
                }
                Err(e) => (None, Err(e)),
            },
        };
        Outcome {
            request,
            result,
            authorization: call.finish(),
        }
    }
}
