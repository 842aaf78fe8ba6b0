//! Fuzz harness `sigv4`: an arbitrary HTTP request through every step of SigV4 verification
//! (canonical URI and query, `Authorization` parsing, canonical request, string to sign,
//! `verify`/`verify_with`), checking what must hold rather than only that nothing panics:
//!
//! - the canonical URI and query are well formed, and the canonical query is a fixed point;
//! - without an `Authorization` header, and in the query-string (presigned) form, which Trent
//!   does not support, nothing authenticates: always `MissingAuthentication`;
//! - a parsed header verifies exactly when its signature is the one computed for the request
//!   (and a declared `x-amz-content-sha256` is the body's), at the request's own time; the same
//!   request re-signed with the harness's secret verifies, also through `verify_with`; 15
//!   minutes and a second away from its time it fails on the clock alone.
//!
//! Input: a raw request as AWS's SigV4 test suite writes them (`crates/trent-sigv4/tests/
//! aws-sig-v4-test-suite`): `METHOD target HTTP/1.1`, then `Name:value` header lines (a line
//! starting with a space or tab continues the previous value), an empty line, the body. Signed
//! with the suite's credentials, a request verifies as sent.
//!
//! Written once, used twice: by `fuzz/fuzz_targets/sigv4.rs` and, for every seed of
//! `fuzz/corpus/sigv4`, by `cargo test -p trent-sigv4`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trent_sigv4::{
    CredentialLookup, HttpRequestParts, MAX_CLOCK_SKEW_SECS, ParsedAuth, SigV4Error,
    canonical_query, canonical_request, canonical_uri, compute_signature, parse_authorization,
    string_to_sign, verify, verify_with,
};

/// The credentials of AWS's SigV4 test suite.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// What one input came to (for the replay test's checks that seeds stay meaningful).
#[derive(Debug, Default)]
pub struct Outcome {
    /// The `Authorization` header parsed.
    pub parsed: bool,
    /// The request verified with the signature it was sent with.
    pub verified_as_sent: bool,
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn parts(&self) -> HttpRequestParts<'_> {
        HttpRequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

struct OneKey;

impl CredentialLookup for OneKey {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        (access_key_id == ACCESS_KEY).then(|| SECRET.to_owned())
    }
}

pub fn run(data: &[u8]) -> Outcome {
    let request = parse_request(data);
    check_canonical_uri(&request.path);
    check_canonical_query(&request.query);

    let parts = request.parts();
    let parsed = parse_authorization(&parts);
    let has_auth_header = request
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if !has_auth_header {
        assert_eq!(parsed, Err(SigV4Error::MissingAuthentication));
        assert_eq!(
            verify_with(&parts, &OneKey, SystemTime::now()),
            Err(SigV4Error::MissingAuthentication)
        );
    }
    let auth = match parsed {
        Ok(auth) => auth,
        Err(e) => {
            assert!(!e.aws_code().is_empty());
            let _ = e.aws_message();
            return Outcome::default();
        }
    };
    check_parsed(&request, &auth);
    let verified_as_sent = check_verification(&request, &auth);
    check_presigned_form(&request, &auth);
    Outcome {
        parsed: true,
        verified_as_sent,
    }
}

/// Splits the input as an HTTP/1.1 server would present it; never fails.
fn parse_request(data: &[u8]) -> Request {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, ""));
    let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        match headers.last_mut() {
            Some((_, value)) if line.starts_with([' ', '\t']) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            _ => {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.to_vec(),
    }
}

/// `%XX` with uppercase hex, unreserved bytes and `/` only; absolute; no empty or dot segments.
fn check_canonical_uri(path: &str) {
    let uri = canonical_uri(path);
    assert!(uri.starts_with('/'), "{uri:?}");
    assert_well_encoded(&uri, b"/");
    assert!(!uri.contains("//"), "{uri:?}");
    assert!(
        uri.split('/').all(|s| s != "." && s != ".."),
        "dot segment in {uri:?}"
    );
}

/// Well-formed `name=value` pairs in sorted order, and canonicalizing again changes nothing.
fn check_canonical_query(query: &str) {
    let canonical = canonical_query(query);
    assert_well_encoded(&canonical, b"&=");
    let pairs: Vec<(&str, &str)> = canonical
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    assert!(pairs.windows(2).all(|w| w[0] <= w[1]), "{canonical:?}");
    assert_eq!(canonical_query(&canonical), canonical, "from {query:?}");
}

/// Every byte of `s` is unreserved, one of `extra`, or starts a `%XX` escape (uppercase hex).
fn assert_well_encoded(s: &str, extra: &[u8]) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let hex = |j: usize| {
                b.get(j)
                    .is_some_and(|d| d.is_ascii_digit() || (b'A'..=b'F').contains(d))
            };
            assert!(hex(i + 1) && hex(i + 2), "bad escape in {s:?}");
            i += 3;
            continue;
        }
        assert!(
            c.is_ascii_alphanumeric() || b"-._~".contains(&c) || extra.contains(&c),
            "unencoded {:?} in {s:?}",
            char::from(c)
        );
        i += 1;
    }
}

/// What a parsed header promises, and the shape of the canonical request and string to sign.
fn check_parsed(request: &Request, auth: &ParsedAuth) {
    assert!(auth.signed_headers.iter().any(|h| h == "host"));
    assert!(auth.signed_headers.iter().all(|h| !h.is_empty()));
    assert!(
        auth.signed_headers
            .iter()
            .all(|h| *h == h.to_ascii_lowercase())
    );
    assert_eq!(auth.amz_date.len(), 16, "{:?}", auth.amz_date);
    assert_eq!(auth.amz_date.get(..8), Some(auth.date.as_str()));
    for check in [
        auth.check_scope(Some("us-east-1"), Some("kms")),
        auth.check_scope(None, None),
        auth.check_region_shape(),
    ] {
        if let Err(e) = check {
            assert!(!e.aws_message().is_empty());
        }
    }
    assert_eq!(auth.check_scope(None, None), Ok(()));

    let canonical = canonical_request(&request.parts(), auth);
    let mut tail = canonical.rsplit('\n');
    let body_hash = tail.next().unwrap_or_default();
    assert!(is_sha256_hex(body_hash), "{canonical:?}");
    assert_eq!(tail.next(), Some(auth.signed_headers.join(";").as_str()));
    assert!(canonical.starts_with(&format!("{}\n/", request.method)));

    let to_sign = string_to_sign(auth, &canonical);
    let head = format!(
        "AWS4-HMAC-SHA256\n{}\n{}/{}/{}/aws4_request\n",
        auth.amz_date, auth.date, auth.region, auth.service
    );
    let hash = to_sign.strip_prefix(&head);
    assert!(hash.is_some_and(is_sha256_hex), "{to_sign:?}");
}

/// Verification against the harness's secret at the request's own time: as sent, re-signed,
/// and with the clock moved just past the allowed skew. Returns whether it verified as sent.
fn check_verification(request: &Request, auth: &ParsedAuth) -> bool {
    let parts = request.parts();
    let Some(at) = epoch_of(&auth.amz_date) else {
        panic!(
            "a parsed request date does not read back: {:?}",
            auth.amz_date
        );
    };
    let now = system_time(at);
    let signature = compute_signature(&parts, auth, SECRET);
    assert!(is_sha256_hex(&signature), "{signature:?}");

    // A declared payload hash must be the truth, or nothing verifies.
    let body_hash = canonical_request(&parts, auth)
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .to_owned();
    let payload_ok = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .is_none_or(|(_, v)| v.trim() == body_hash);

    let as_sent = verify(&parts, auth, SECRET, now);
    let should = payload_ok && auth.signature.eq_ignore_ascii_case(&signature);
    match &as_sent {
        Ok(()) => assert!(should, "verified without the right signature"),
        Err(e) => assert!(
            !should && *e == SigV4Error::SignatureMismatch,
            "right signature refused: {e:?}"
        ),
    }

    // The clock is checked before the signature: just outside the window, that is the error.
    let skew = MAX_CLOCK_SKEW_SECS;
    assert!(matches!(
        verify(&parts, auth, SECRET, system_time(at + skew + 1)),
        Err(SigV4Error::Expired { .. })
    ));
    assert!(matches!(
        verify(&parts, auth, SECRET, system_time(at - skew - 1)),
        Err(SigV4Error::NotYetCurrent { .. })
    ));
    for edge in [at + skew, at - skew] {
        assert_eq!(verify(&parts, auth, SECRET, system_time(edge)), as_sent);
    }

    // Signed over the Authorization header itself, a request cannot be re-signed.
    if !auth.signed_headers.iter().any(|h| h == "authorization") {
        let resigned = resign(request, auth, &signature);
        let reparsed = parse_authorization(&resigned.parts());
        let expected = ParsedAuth {
            signature: signature.clone(),
            ..auth.clone()
        };
        assert_eq!(reparsed.as_ref(), Ok(&expected));
        let want = if payload_ok {
            Ok(())
        } else {
            Err(SigV4Error::SignatureMismatch)
        };
        assert_eq!(verify(&resigned.parts(), &expected, SECRET, now), want);
        let with_lookup = verify_with(&resigned.parts(), &OneKey, now).map(drop);
        if auth.access_key_id == ACCESS_KEY {
            assert_eq!(with_lookup, want);
        } else {
            assert_eq!(with_lookup, Err(SigV4Error::UnknownAccessKey));
        }
    }
    as_sent.is_ok()
}

/// The request with its first `Authorization` header rewritten, in the form SDKs send, from
/// the parsed parts and `signature`.
fn resign(request: &Request, auth: &ParsedAuth, signature: &str) -> Request {
    let header = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, Signature={signature}",
        auth.access_key_id,
        auth.date,
        auth.region,
        auth.service,
        auth.signed_headers.join(";"),
    );
    let mut headers = request.headers.clone();
    if let Some((_, value)) = headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        *value = header;
    }
    Request {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers,
        body: request.body.clone(),
    }
}

/// The same request in the query-string (presigned URL) form: no `Authorization` header, the
/// signature's parts in `X-Amz-*` parameters. Trent does not support it: it must not
/// authenticate, however right its signature.
fn check_presigned_form(request: &Request, auth: &ParsedAuth) {
    let signature = compute_signature(&request.parts(), auth, SECRET);
    let mut query = request.query.clone();
    for (name, value) in [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
        (
            "X-Amz-Credential",
            format!(
                "{}%2F{}%2F{}%2F{}%2Faws4_request",
                auth.access_key_id, auth.date, auth.region, auth.service
            ),
        ),
        ("X-Amz-Date", auth.amz_date.clone()),
        ("X-Amz-Expires", "300".to_owned()),
        ("X-Amz-SignedHeaders", auth.signed_headers.join("%3B")),
        ("X-Amz-Signature", signature),
    ] {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&value);
    }
    check_canonical_query(&query);
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .cloned()
        .collect();
    let presigned = Request {
        method: request.method.clone(),
        path: request.path.clone(),
        query,
        headers,
        body: request.body.clone(),
    };
    let parts = presigned.parts();
    assert_eq!(
        parse_authorization(&parts),
        Err(SigV4Error::MissingAuthentication)
    );
    let now = epoch_of(&auth.amz_date).map_or_else(SystemTime::now, system_time);
    assert_eq!(
        verify_with(&parts, &OneKey, now),
        Err(SigV4Error::MissingAuthentication)
    );
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Seconds since the epoch of a `YYYYMMDDTHHMMSSZ` timestamp (proleptic Gregorian calendar),
/// computed independently of the crate under test.
fn epoch_of(basic: &str) -> Option<i64> {
    let b = basic.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    // Days from civil date (Howard Hinnant's algorithm), years counted from March.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn system_time(epoch_seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(epoch_seconds.unsigned_abs());
    if epoch_seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}
