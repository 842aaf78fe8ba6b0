//! One request being served ([`Call`]) and what it came to ([`Outcome`]): the caller, the key
//! states its operation allows, and every authorization decision made for it, for the audit
//! record. The pipeline that runs a KMS request is `crate::pipeline`.
//!
//! The decisions are collected in the [`Call`], a per-request value that lives on the one
//! thread serving the request: no lock, and nothing left on the long-lived [`Caller`].

use std::cell::RefCell;
use std::ops::Deref;

use serde_json::Value;

use crate::authz::Decision;
use crate::error::KmsResult;
use crate::identity::Caller;
use crate::keystate::KeyStates;

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
    /// The keys the request was checked against, (region, key ID), once each in order, also
    /// when authorization is off: for a cryptographic operation, the keys it used.
    pub keys: Vec<(String, String)>,
}

/// One request being served: its caller, the key states its operation allows, and the
/// decisions made so far.
pub struct Call<'a> {
    caller: &'a Caller,
    key_states: KeyStates,
    authorization: RefCell<Authorization>,
}

impl Deref for Call<'_> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        self.caller
    }
}

impl<'a> Call<'a> {
    /// A call of a KMS operation whose row allows keys in `key_states`.
    pub fn operation(caller: &'a Caller, key_states: KeyStates) -> Call<'a> {
        Call {
            caller,
            key_states,
            authorization: RefCell::default(),
        }
    }

    /// A call that is not a KMS operation (STS, IAM, Trent's own APIs).
    pub fn other(caller: &'a Caller) -> Call<'a> {
        Call {
            caller,
            key_states: KeyStates::Any,
            authorization: RefCell::default(),
        }
    }

    pub fn caller(&self) -> &'a Caller {
        self.caller
    }

    /// The key states the operation's row allows (`Any` outside KMS operations).
    pub fn key_states(&self) -> KeyStates {
        self.key_states
    }

    pub fn record(&self, decision: Decision) {
        self.authorization.borrow_mut().decisions.push(decision);
    }

    /// The request is being checked against `key`.
    pub fn note_key(&self, region: &str, key_id: &str) {
        let mut authorization = self.authorization.borrow_mut();
        if !authorization
            .keys
            .iter()
            .any(|(r, k)| r == region && k == key_id)
        {
            authorization
                .keys
                .push((region.to_string(), key_id.to_string()));
        }
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
