//! AWS's published SigV4 test-suite vectors (see `tests/aws-sig-v4-test-suite/README.md` for the
//! source). Each case asserts the canonical request byte for byte, the signature, and that the
//! signed request verifies end to end.

// Test helpers outside #[test] fns: a panic is the right failure here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trent_sigv4::{
    CredentialLookup, HttpRequestParts, SigV4Error, canonical_request, canonical_uri,
    compute_signature, parse_authorization, verify, verify_with,
};

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, the suite's signing time.
const SUITE_TIME: u64 = 1_440_938_160;

const CASES: &[&str] = &[
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-slash-dot-slash-normalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slashes-normalized",
    "get-space-normalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
];

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

fn case_file(case: &str, file: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "aws-sig-v4-test-suite",
        case,
        file,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a suite request file the way an HTTP/1.1 server would present it: header values with
/// surrounding whitespace stripped, obs-fold continuation lines replaced by a space.
fn parse_request(text: &str) -> Request {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, target) = request_line.split_once(' ').unwrap();
    let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers.last_mut().unwrap();
            value.push(' ');
            value.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

struct OneKey;
impl CredentialLookup for OneKey {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        (access_key_id == ACCESS_KEY).then(|| SECRET.to_owned())
    }
}

fn suite_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SUITE_TIME)
}

#[test]
fn every_listed_case_has_fixtures() {
    assert_eq!(CASES.len(), 31);
    for case in CASES {
        for file in [
            "header-signed-request.txt",
            "header-canonical-request.txt",
            "header-signature.txt",
        ] {
            case_file(case, file);
        }
    }
}

#[test]
fn suite_canonical_requests_and_signatures() {
    let mut failures = Vec::new();
    for case in CASES {
        let req = parse_request(&case_file(case, "header-signed-request.txt"));
        let want_canonical = case_file(case, "header-canonical-request.txt");
        let want_signature = case_file(case, "header-signature.txt");

        let auth = match parse_authorization(&req.parts()) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{case}: parse: {e:?}"));
                continue;
            }
        };
        assert_eq!(auth.access_key_id, ACCESS_KEY, "{case}");
        assert_eq!(auth.date, "20150830", "{case}");
        assert_eq!(auth.region, "us-east-1", "{case}");
        assert_eq!(auth.service, "service", "{case}");
        assert_eq!(auth.amz_date, "20150830T123600Z", "{case}");
        assert_eq!(auth.signature, want_signature, "{case}");

        let got_canonical = canonical_request(&req.parts(), &auth);
        if got_canonical != want_canonical {
            failures.push(format!(
                "{case}: canonical request\n--- want\n{want_canonical}\n--- got\n{got_canonical}"
            ));
            continue;
        }
        let got_signature = compute_signature(&req.parts(), &auth, SECRET);
        if got_signature != want_signature {
            failures.push(format!(
                "{case}: signature {got_signature} != {want_signature}"
            ));
        }
        if let Err(e) = verify(&req.parts(), &auth, SECRET, suite_now()) {
            failures.push(format!("{case}: verify: {e:?}"));
        }
        match verify_with(&req.parts(), &OneKey, suite_now()) {
            Ok(parsed) => assert_eq!(parsed, auth, "{case}"),
            Err(e) => failures.push(format!("{case}: verify_with: {e:?}")),
        }
        if let Err(e) = verify(&req.parts(), &auth, "not-the-secret", suite_now()) {
            assert_eq!(e, SigV4Error::SignatureMismatch, "{case}");
        } else {
            failures.push(format!("{case}: verified with the wrong secret"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn suite_session_token_is_passed_through() {
    // Signed token (get-vanilla-with-session-token) and unsigned token (post-sts-header-after):
    // both verify and both surface the token for the caller to check.
    for (case, token_prefix) in [
        ("get-vanilla-with-session-token", "6e86291e8372ff2a"),
        ("post-sts-header-after", "AQoDYXdzEPT//////////wEXAMPLE"),
    ] {
        let req = parse_request(&case_file(case, "header-signed-request.txt"));
        let auth = verify_with(&req.parts(), &OneKey, suite_now()).unwrap();
        assert!(
            auth.security_token
                .as_deref()
                .unwrap()
                .starts_with(token_prefix),
            "{case}"
        );
    }
    let req = parse_request(&case_file("get-vanilla", "header-signed-request.txt"));
    assert_eq!(
        parse_authorization(&req.parts()).unwrap().security_token,
        None
    );
}

#[test]
fn suite_double_url_encode() {
    // A Lambda request whose path carries wire-encoded colons: each `%3A` is signed as `%253A`.
    let req = parse_request(&case_file("double-url-encode", "header-signed-request.txt"));
    let auth = parse_authorization(&req.parts()).unwrap();
    assert_eq!(
        canonical_request(&req.parts(), &auth),
        case_file("double-url-encode", "header-canonical-request.txt")
    );
}

#[test]
fn suite_double_encode_path() {
    // This case's canonical request and signed request disagree on the date, so only the
    // canonical URI line is meaningful.
    let req = parse_request(&case_file(
        "double-encode-path",
        "header-signed-request.txt",
    ));
    let want = case_file("double-encode-path", "header-canonical-request.txt");
    assert_eq!(canonical_uri(&req.path), want.lines().nth(1).unwrap());
}

#[test]
fn tampering_with_a_suite_request_is_detected() {
    let original = parse_request(&case_file(
        "post-x-www-form-urlencoded",
        "header-signed-request.txt",
    ));
    let auth = parse_authorization(&original.parts()).unwrap();
    verify(&original.parts(), &auth, SECRET, suite_now()).unwrap();

    let mut body = parse_request(&case_file(
        "post-x-www-form-urlencoded",
        "header-signed-request.txt",
    ));
    body.body = b"Param1=value2".to_vec();
    // The declared x-amz-content-sha256 no longer matches the body.
    assert_eq!(
        verify(&body.parts(), &auth, SECRET, suite_now()),
        Err(SigV4Error::SignatureMismatch)
    );

    let mut method = parse_request(&case_file("get-vanilla", "header-signed-request.txt"));
    let auth = parse_authorization(&method.parts()).unwrap();
    method.method = "POST".into();
    assert_eq!(
        verify(&method.parts(), &auth, SECRET, suite_now()),
        Err(SigV4Error::SignatureMismatch)
    );

    let mut query = parse_request(&case_file(
        "get-vanilla-query-order-key-case",
        "header-signed-request.txt",
    ));
    let auth = parse_authorization(&query.parts()).unwrap();
    query.query.push_str("&extra=1");
    assert_eq!(
        verify(&query.parts(), &auth, SECRET, suite_now()),
        Err(SigV4Error::SignatureMismatch)
    );

    let mut path = parse_request(&case_file("get-utf8", "header-signed-request.txt"));
    let auth = parse_authorization(&path.parts()).unwrap();
    path.path = "/%E1%88%B4".into(); // the same character, but now encoded once more on the wire
    assert_eq!(
        verify(&path.parts(), &auth, SECRET, suite_now()),
        Err(SigV4Error::SignatureMismatch)
    );
}
