//! Fuzz harness `kms_request`: an arbitrary JSON 1.1 request body decoded into the typed request
//! of every operation of the operation table, as `Kms::call` decodes it before the handler runs
//! (`Operation::decode_request`; no handler runs). What must hold: decoding never panics; every
//! operation with a handler has a decoder; decoding fails only with `SerializationException`
//! and a message; a body that is not JSON fails for every operation; a body decodes as the JSON
//! it re-serializes to does, and an empty body as `{}`.
//!
//! Input: the request body. The seeds are bodies the AWS SDKs send.
//!
//! Written once, used twice: by `fuzz/fuzz_targets/kms_request.rs` and, for every seed of
//! `fuzz/corpus/kms_request`, by `cargo test -p trent` (trent-kms has no integration tests of its
//! own; the `trent` crate's test binary holds the service-level ones).

use trent_kms::{ErrorCode, Operation};

/// What one input came to (for the replay test's checks that seeds stay meaningful).
#[derive(Debug, Default)]
pub struct Outcome {
    /// The operations whose typed request the body decoded into.
    pub decoded: Vec<Operation>,
}

pub fn run(data: &[u8]) -> Outcome {
    let is_json = data.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<serde_json::Value>(data).is_ok();
    // The same request, written back as JSON by serde_json: it decodes the same way.
    let rewritten = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
        .or_else(|| is_json.then(|| b"{}".to_vec()));
    let mut decoded = Vec::new();
    for op in Operation::ALL {
        let result = op.decode_request(data);
        assert_eq!(result.is_some(), op.handler().is_some(), "{op:?}");
        if let Some(rewritten) = &rewritten {
            let again = op.decode_request(rewritten);
            assert_eq!(
                again.as_ref().map(Result::is_ok),
                result.as_ref().map(Result::is_ok),
                "{op:?}"
            );
        }
        match result {
            None => {}
            Some(Ok(())) => {
                assert!(is_json, "{op:?} decoded a body that is not JSON");
                decoded.push(*op);
            }
            Some(Err(e)) => {
                assert_eq!(e.code, ErrorCode::Serialization, "{op:?}: {e:?}");
                assert!(e.message.as_ref().is_some_and(|m| !m.is_empty()), "{op:?}");
            }
        }
    }
    Outcome { decoded }
}
