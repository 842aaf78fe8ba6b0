//! AWS Signature Version 4 verification. Pure: no HTTP framework, no storage, no async.
//!
//! Verification has two phases because the caller's secret lookup is async:
//!
//! 1. [`parse_authorization`] reads the `Authorization` header and request date and runs every
//!    check that needs neither the secret nor the clock.
//! 2. The caller looks up the secret for [`ParsedAuth::access_key_id`] (failing with
//!    [`SigV4Error::UnknownAccessKey`]), optionally checks region/service with
//!    [`ParsedAuth::check_scope`], then calls [`verify`].
//!
//! [`verify_with`] chains both for synchronous callers. Every error knows the AWS error code and
//! message to put on the wire ([`SigV4Error::aws_code`], [`SigV4Error::aws_message`]).
//!
//! Supported: `AWS4-HMAC-SHA256` in the `Authorization` header, non-S3 canonicalization (path
//! normalized and double-encoded), signed payload. Not supported: presigned URLs (query-string
//! auth), SigV4a, `UNSIGNED-PAYLOAD`, chunked/streaming payloads.

mod canonical;
mod error;
mod parse;
mod timestamp;
mod verify;

use std::time::SystemTime;

pub use canonical::{canonical_query, canonical_request, canonical_uri, string_to_sign};
pub use error::SigV4Error;
pub use parse::{ParsedAuth, is_region_name, parse_authorization};
pub use timestamp::MAX_CLOCK_SKEW_SECS;
pub use verify::{SigningKeyCache, compute_signature, verify};

/// The parts of an HTTP request that SigV4 covers, borrowed from whatever HTTP stack received it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequestParts<'a> {
    /// Method as received, e.g. `"POST"`.
    pub method: &'a str,
    /// Raw path as received, still percent-encoded, e.g. `"/"`.
    pub path: &'a str,
    /// Raw query string without `?`; `""` when there is none.
    pub query: &'a str,
    /// Headers as received. Names compare case-insensitively; a repeated header appears as
    /// repeated entries, in order. HTTP/2 callers must present `:authority` as `host`.
    pub headers: &'a [(String, String)],
    /// The complete body. It is hashed here: KMS clients do not send `x-amz-content-sha256`.
    pub body: &'a [u8],
}

/// Where a synchronous caller keeps its secrets.
pub trait CredentialLookup {
    /// The secret access key for `access_key_id`, or `None` if the key is unknown.
    fn secret_for(&self, access_key_id: &str) -> Option<String>;
}

/// Parses, looks up the secret, and verifies. Returns the parsed header on success so the caller
/// can map the access key to an identity and check the security token.
pub fn verify_with(
    req: &HttpRequestParts,
    lookup: &impl CredentialLookup,
    now: SystemTime,
) -> Result<ParsedAuth, SigV4Error> {
    let auth = parse_authorization(req)?;
    let secret = lookup
        .secret_for(&auth.access_key_id)
        .ok_or(SigV4Error::UnknownAccessKey)?;
    verify(req, &auth, &secret, now)?;
    Ok(auth)
}
