//! Property tests against the real AWS SDK signer (`aws-sigv4`): whatever it signs, we accept;
//! any change to what it signed, or a different secret, is a `SignatureMismatch`.
//!
//! Requests are presented to the verifier the way an HTTP/1.1 server hands them over: header
//! names in arbitrary case, values with surrounding whitespace removed, repeated headers as
//! repeated entries, raw (still percent-encoded) path and query.

// Test helpers outside #[test] fns: a panic is the right failure here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use proptest::prelude::*;
use trent_sigv4::{HttpRequestParts, SigV4Error, parse_authorization, verify};

const ACCESS_KEY: &str = "AKIDPROPTEST";
const HOST: &str = "kms.eu-west-1.amazonaws.com";

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    path: String,
    query: String,
    /// (name as the client wrote it, value)
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    secret: String,
    token: Option<String>,
    signed_at: u64,
    /// Server clock minus request time, within the allowed skew.
    skew: i64,
}

/// The request as received: what the SDK signed, plus Authorization, X-Amz-Date, etc.
struct Received {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
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

/// Signs `case` with the AWS SDK signer and returns the request as our verifier would see it.
fn sign_with_sdk(case: &Case) -> Received {
    let uri = if case.query.is_empty() {
        format!("https://{HOST}{}", case.path)
    } else {
        format!("https://{HOST}{}?{}", case.path, case.query)
    };
    let mut request = http::Request::builder().method(case.method).uri(&uri);
    request = request.header("host", HOST);
    for (name, value) in &case.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut request = request.body(()).unwrap();

    let identity = Credentials::new(
        ACCESS_KEY,
        &case.secret,
        case.token.clone(),
        None,
        "proptest",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("kms")
        .time(UNIX_EPOCH + Duration::from_secs(case.signed_at))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let header_pairs: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    let signable = SignableRequest::new(
        case.method,
        uri.as_str(),
        header_pairs.into_iter(),
        SignableBody::Bytes(&case.body),
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);

    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            // What hyper hands over: surrounding optional whitespace stripped.
            let value = value.to_str().unwrap().trim_matches([' ', '\t']).to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    Received {
        method: case.method.to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or("").to_owned(),
        headers,
        body: case.body.clone(),
    }
}

fn at(case: &Case) -> SystemTime {
    let now = i64::try_from(case.signed_at).unwrap() + case.skew;
    UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap())
}

/// Characters allowed raw in a URI path segment or query component, plus escapes of arbitrary
/// bytes (including ones that are not UTF-8) and `+`.
fn uri_component() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[A-Za-z0-9._~-]{1,6}",
        1 => "[!$'()*,;:@+]",
        1 => any::<u8>().prop_map(|b| format!("%{b:02X}")),
        1 => any::<u8>().prop_map(|b| format!("%{b:02x}")),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        6 => uri_component(),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
    ];
    prop::collection::vec(segment, 0..5).prop_map(|segs| format!("/{}", segs.join("/")))
}

fn query() -> impl Strategy<Value = String> {
    let pair = (uri_component(), prop::option::of(uri_component())).prop_map(|(k, v)| match v {
        Some(v) => format!("{k}={v}"),
        None => k,
    });
    prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&"))
}

/// A header value as a client may send it: visible ASCII with runs of spaces and inner tabs.
/// It starts and ends with a visible character or spaces (a leading tab would be stripped by the
/// server but signed by the client: no real client sends one).
fn header_value() -> impl Strategy<Value = String> {
    let inner = prop_oneof![3 => "[!-~]{1,5}", 1 => " {1,3}", 1 => "\t"];
    (
        " {0,2}",
        "[!-~]",
        prop::option::of((prop::collection::vec(inner, 0..6), "[!-~]")),
        " {0,2}",
    )
        .prop_map(|(lead, first, rest, trail)| {
            let rest = rest
                .map(|(mid, last)| mid.concat() + &last)
                .unwrap_or_default();
            format!("{lead}{first}{rest}{trail}")
        })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    // A small name pool so that repeated headers occur; mixed case to exercise lowercasing.
    let name = prop_oneof![
        Just("X-Trent-A".to_owned()),
        Just("x-trent-b".to_owned()),
        Just("Content-Type".to_owned()),
        Just("X-Amz-Target".to_owned()),
        "x-[a-z0-9]{1,4}(-[a-zA-Z0-9]{1,6}){0,2}",
    ];
    prop::collection::vec((name, header_value()), 0..6)
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        path(),
        query(),
        headers(),
        prop::collection::vec(any::<u8>(), 0..200),
        "[A-Za-z0-9/+]{40}",
        prop::option::of("[A-Za-z0-9/+=]{16,64}"),
        1_000_000_000u64..4_000_000_000,
        -900i64..=900,
    )
        .prop_map(
            |(method, path, query, headers, body, secret, token, signed_at, skew)| Case {
                method,
                path,
                query,
                headers,
                body,
                secret,
                token,
                signed_at,
                skew,
            },
        )
}

/// Changes one byte of `value` so that its canonical form changes too.
fn flip(value: &str, index: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    let i = index % bytes.len();
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).unwrap()
}

fn random_case_name(name: &str, seed: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if (seed >> (i % 64)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sdk_signed_requests_verify(case in case(), name_case in any::<u64>()) {
        let mut received = sign_with_sdk(&case);
        for (name, _) in &mut received.headers {
            *name = random_case_name(name, name_case);
        }
        let auth = parse_authorization(&received.parts()).unwrap();
        prop_assert_eq!(&auth.access_key_id, ACCESS_KEY);
        prop_assert_eq!(&auth.region, "eu-west-1");
        prop_assert_eq!(&auth.service, "kms");
        prop_assert_eq!(&auth.security_token, &case.token);
        let result = verify(&received.parts(), &auth, &case.secret, at(&case));
        prop_assert_eq!(result, Ok(()), "canonical request:\n{}", trent_sigv4::canonical_request(&received.parts(), &auth));
    }

    #[test]
    fn flipping_a_body_byte_fails(case in case(), index in any::<usize>(), bit in 0u8..8) {
        prop_assume!(!case.body.is_empty());
        let mut received = sign_with_sdk(&case);
        let auth = parse_authorization(&received.parts()).unwrap();
        let i = index % received.body.len();
        received.body[i] ^= 1 << bit;
        prop_assert_eq!(
            verify(&received.parts(), &auth, &case.secret, at(&case)),
            Err(SigV4Error::SignatureMismatch)
        );
    }

    #[test]
    fn flipping_a_signed_header_value_fails(case in case(), which in any::<usize>(), index in any::<usize>()) {
        let mut received = sign_with_sdk(&case);
        let auth = parse_authorization(&received.parts()).unwrap();
        // Every header the SDK sent is signed; pick one with a non-empty value.
        let candidates: Vec<usize> = received
            .headers
            .iter()
            .enumerate()
            .filter(|(_, (name, value))| {
                auth.signed_headers.contains(&name.to_ascii_lowercase()) && !value.is_empty()
            })
            .map(|(i, _)| i)
            .collect();
        prop_assert!(!candidates.is_empty());
        let target = candidates[which % candidates.len()];
        let name = received.headers[target].0.to_ascii_lowercase();
        received.headers[target].1 = flip(&received.headers[target].1, index);
        let result = parse_authorization(&received.parts())
            .and_then(|reparsed| verify(&received.parts(), &reparsed, &case.secret, at(&case)));
        if name == "x-amz-date" {
            // The date feeds the scope and clock checks too; any failure will do.
            prop_assert!(result.is_err());
        } else {
            prop_assert_eq!(result, Err(SigV4Error::SignatureMismatch), "flipped {}", name);
        }
    }

    #[test]
    fn a_different_secret_fails(case in case(), other in "[A-Za-z0-9/+]{40}") {
        prop_assume!(other != case.secret);
        let received = sign_with_sdk(&case);
        let auth = parse_authorization(&received.parts()).unwrap();
        prop_assert_eq!(
            verify(&received.parts(), &auth, &other, at(&case)),
            Err(SigV4Error::SignatureMismatch)
        );
    }
}
