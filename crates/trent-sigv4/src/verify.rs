//! Phase two: with the secret in hand, check the clock, the payload hash and the signature.

use std::time::SystemTime;

use aws_lc_rs::hmac;

use crate::canonical::{canonical_request, sha256_hex, string_to_sign};
use crate::parse::{TERMINATOR, check_host_signed, check_scope_date, first_header};
use crate::{HttpRequestParts, ParsedAuth, SigV4Error, timestamp};

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
fn signing_key(secret_access_key: &str, auth: &ParsedAuth) -> hmac::Key {
    let k_secret = format!("AWS4{secret_access_key}");
    let k_date = hmac_sha256(k_secret.as_bytes(), auth.date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), auth.region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), auth.service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), TERMINATOR.as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// Verifies `req` against the already-parsed `auth` and the secret for `auth.access_key_id`.
///
/// Re-checks the secret-independent rules (`host` signed, scope date) so that a hand-built
/// `ParsedAuth` cannot skip them, then applies the ±15 minute clock rule, then compares the
/// signature in constant time.
pub fn verify(
    req: &HttpRequestParts,
    auth: &ParsedAuth,
    secret_access_key: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    check_host_signed(&auth.signed_headers)?;
    check_scope_date(auth)?;
    timestamp::check_skew(&auth.amz_date, now)?;

    // KMS clients do not send x-amz-content-sha256, and we always hash the body ourselves. If a
    // client does send it, it must be the truth: a request claiming another body is forged.
    if let Some(declared) = first_header(req.headers, "x-amz-content-sha256")
        && declared.trim() != sha256_hex(req.body)
    {
        return Err(SigV4Error::SignatureMismatch);
    }

    let Ok(provided) = hex::decode(&auth.signature) else {
        return Err(SigV4Error::SignatureMismatch);
    };
    let canonical = canonical_request(req, auth);
    let to_sign = string_to_sign(auth, &canonical);
    // hmac::verify compares in constant time.
    hmac::verify(
        &signing_key(secret_access_key, auth),
        to_sign.as_bytes(),
        &provided,
    )
    .map_err(|_| SigV4Error::SignatureMismatch)
}

/// Computes the hex signature for `req` as a client holding `secret_access_key` would.
/// For diagnostics and tests; verification goes through [`verify`].
pub fn compute_signature(
    req: &HttpRequestParts,
    auth: &ParsedAuth,
    secret_access_key: &str,
) -> String {
    let to_sign = string_to_sign(auth, &canonical_request(req, auth));
    let key = signing_key(secret_access_key, auth);
    hex::encode(hmac::sign(&key, to_sign.as_bytes()))
}
