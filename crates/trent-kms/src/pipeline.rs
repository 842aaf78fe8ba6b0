//! The request pipeline of one KMS call: decode once → the operation table's handler (which
//! authorizes before doing anything observable) → [`Outcome`], which carries the response or
//! error together with every authorization decision made for the request and the decoded
//! request, for the audit record.

use serde_json::Value;

use crate::call::{Call, Outcome};
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::operation::{Operation, serialization_message};
use crate::service::Kms;

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
        let call = Call::operation(caller, operation.spec().key_states);
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
