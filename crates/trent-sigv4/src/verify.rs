//! Phase two: with the secret in hand, check the clock, the payload hash and the signature.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use aws_lc_rs::{constant_time, hmac};
use zeroize::Zeroizing;

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
    verify_using(req, auth, now, || signing_key(secret_access_key, auth))
}

/// [`verify`], with the signing key derived by `key` once every request-level check passed.
fn verify_using(
    req: &HttpRequestParts,
    auth: &ParsedAuth,
    now: SystemTime,
    key: impl FnOnce() -> hmac::Key,
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
    hmac::verify(&key(), to_sign.as_bytes(), &provided).map_err(|_| SigV4Error::SignatureMismatch)
}

/// Signing keys already derived, by credential scope: a client signs every request of a day,
/// region and service with the same key, and deriving it costs four HMACs — a third of what
/// verifying a KMS request costs. Verification through the cache decides exactly as [`verify`]:
/// an entry is used only for the same access key, scope *and* secret (compared in constant
/// time), so a changed secret derives afresh. The secrets kept for that comparison are zeroed
/// when their entries go.
pub struct SigningKeyCache {
    /// By `access key/date/region/service` (none of them can contain a `/`).
    entries: Mutex<HashMap<String, Derived>>,
}

struct Derived {
    secret: Zeroizing<String>,
    key: hmac::Key,
}

/// Entries kept at most; the cache starts again empty when it is full (an entry is one
/// access key on one day in one region, so this is reached only by many keys or a long run).
const CACHED_SCOPES: usize = 4096;

impl Default for SigningKeyCache {
    fn default() -> Self {
        SigningKeyCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache").finish_non_exhaustive()
    }
}

impl SigningKeyCache {
    /// [`verify`], deriving the signing key only for a scope and secret not seen before.
    pub fn verify(
        &self,
        req: &HttpRequestParts,
        auth: &ParsedAuth,
        secret_access_key: &str,
        now: SystemTime,
    ) -> Result<(), SigV4Error> {
        verify_using(req, auth, now, || self.key(auth, secret_access_key))
    }

    fn key(&self, auth: &ParsedAuth, secret: &str) -> hmac::Key {
        let scope = format!(
            "{}/{}/{}/{}",
            auth.access_key_id, auth.date, auth.region, auth.service
        );
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(derived) = entries.get(&scope)
            && constant_time::verify_slices_are_equal(derived.secret.as_bytes(), secret.as_bytes())
                .is_ok()
        {
            return derived.key.clone();
        }
        let key = signing_key(secret, auth);
        if entries.len() >= CACHED_SCOPES {
            entries.clear();
        }
        entries.insert(
            scope,
            Derived {
                secret: Zeroizing::new(secret.to_owned()),
                key: key.clone(),
            },
        );
        key
    }

    /// How many scopes are cached (for tests).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
