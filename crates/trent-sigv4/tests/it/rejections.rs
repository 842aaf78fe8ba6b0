//! What each kind of bad request gets back: the variant, and the AWS code and message that the
//! HTTP layer puts on the wire. Also the clock-skew boundaries, which are inclusive.

// Test helpers outside #[test] fns: a panic is the right failure here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trent_sigv4::{
    CredentialLookup, HttpRequestParts, MAX_CLOCK_SKEW_SECS, ParsedAuth, SigV4Error,
    compute_signature, parse_authorization, verify, verify_with,
};

const SECRET: &str = "test";
/// 2015-08-30T12:36:00Z
const T: u64 = 1_440_938_160;
const BODY: &[u8] = b"{}";

struct Req {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn parts(&self) -> HttpRequestParts<'_> {
        HttpRequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn authorization(&self) -> &str {
        &self
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap()
            .1
    }
}

fn h(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// A correctly signed KMS ListKeys request made at `amz_date`, as the AWS CLI sends it.
fn signed_at(amz_date: &str) -> Req {
    let date = &amz_date[..8];
    let mut req = Req {
        headers: vec![
            h("Host", "localhost:4599"),
            h("X-Amz-Date", amz_date),
            h("Content-Type", "application/x-amz-json-1.1"),
            h("X-Amz-Target", "TrentService.ListKeys"),
            h("User-Agent", "aws-cli/2.15.0"),
        ],
        body: BODY.to_vec(),
    };
    sign(&mut req, date, "content-type;host;x-amz-date;x-amz-target");
    req
}

/// Computes and installs the signature for the given scope date and signed headers.
fn sign(req: &mut Req, scope_date: &str, signed_headers: &str) {
    let unsigned = format!(
        "AWS4-HMAC-SHA256 Credential=test/{scope_date}/us-east-1/kms/aws4_request, SignedHeaders={signed_headers}, Signature=00"
    );
    req.set("Authorization", &unsigned);
    // Built by hand rather than parsed, so that requests our parser rejects can still carry a
    // signature that is otherwise right (the rejection must not come from the signature).
    let amz_date = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
        .map_or("20150830T123600Z", |(_, v)| v.as_str())
        .to_owned();
    let auth = ParsedAuth {
        access_key_id: "test".into(),
        date: scope_date.into(),
        region: "us-east-1".into(),
        service: "kms".into(),
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature: String::new(),
        amz_date,
        security_token: None,
    };
    let signature = compute_signature(&req.parts(), &auth, SECRET);
    req.set(
        "Authorization",
        &unsigned.replace("Signature=00", &format!("Signature={signature}")),
    );
}

fn signed() -> Req {
    signed_at("20150830T123600Z")
}

fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap())
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T)
}

fn check(req: &Req, now: SystemTime) -> Result<ParsedAuth, SigV4Error> {
    verify_with(&req.parts(), &Keys, now)
}

struct Keys;
impl CredentialLookup for Keys {
    fn secret_for(&self, access_key_id: &str) -> Option<String> {
        (access_key_id == "test").then(|| SECRET.to_owned())
    }
}

fn assert_wire(err: &SigV4Error, code: &str, message: &str) {
    assert_eq!(err.aws_code(), code, "{err:?}");
    assert_eq!(err.aws_message(), message, "{err:?}");
}

#[test]
fn a_good_request_verifies() {
    let auth = check(&signed(), now()).unwrap();
    assert_eq!(auth.access_key_id, "test");
    assert_eq!(auth.date, "20150830");
    assert_eq!(auth.region, "us-east-1");
    assert_eq!(auth.service, "kms");
    assert_eq!(
        auth.signed_headers,
        ["content-type", "host", "x-amz-date", "x-amz-target"]
    );
    assert_eq!(auth.amz_date, "20150830T123600Z");
    assert_eq!(auth.security_token, None);
    assert_eq!(auth.signature.len(), 64);
}

#[test]
fn no_authorization_header() {
    let mut req = signed();
    req.remove("Authorization");
    let err = check(&req, now()).unwrap_err();
    assert_eq!(err, SigV4Error::MissingAuthentication);
    assert_wire(
        &err,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    );
}

#[test]
fn non_aws4_schemes_count_as_unauthenticated() {
    for value in [
        "Bearer abc",
        "Basic dGVzdDp0ZXN0",
        "AWS test:c2lnbmF0dXJl",
        "",
        "   ",
    ] {
        let mut req = signed();
        req.set("Authorization", value);
        assert_eq!(
            check(&req, now()),
            Err(SigV4Error::MissingAuthentication),
            "{value:?}"
        );
    }
}

#[test]
fn missing_signature_parameter() {
    let mut req = signed();
    let auth = "AWS4-HMAC-SHA256 Credential=test/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date";
    req.set("Authorization", auth);
    let err = check(&req, now()).unwrap_err();
    assert!(matches!(err, SigV4Error::IncompleteSignature(_)));
    assert_wire(
        &err,
        "IncompleteSignatureException",
        &format!("Authorization header requires 'Signature' parameter. Authorization={auth}"),
    );
}

#[test]
fn missing_credential_or_signed_headers_or_empty_values() {
    for (auth, missing) in [
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abcd",
            "'Credential'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=test/20150830/us-east-1/kms/aws4_request, Signature=abcd",
            "'SignedHeaders'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=abcd",
            "'Credential'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=test/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=",
            "'Signature'",
        ),
    ] {
        let mut req = signed();
        req.set("Authorization", auth);
        let err = check(&req, now()).unwrap_err();
        assert_wire(
            &err,
            "IncompleteSignatureException",
            &format!("Authorization header requires {missing} parameter. Authorization={auth}"),
        );
    }
}

#[test]
fn everything_missing_is_reported_at_once_in_aws_order() {
    let mut req = signed();
    req.remove("X-Amz-Date");
    req.set("Authorization", "AWS4-HMAC-SHA256");
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. \
         Authorization header requires 'Signature' parameter. \
         Authorization header requires 'SignedHeaders' parameter. \
         Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256",
    );
}

#[test]
fn missing_date_headers() {
    let mut req = signed();
    req.remove("X-Amz-Date");
    let auth = req.authorization().to_owned();
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "IncompleteSignatureException",
        &format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={auth}"
        ),
    );
}

#[test]
fn parameter_without_equals_sign() {
    let mut req = signed();
    let auth = "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=abcd";
    req.set("Authorization", auth);
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "IncompleteSignatureException",
        &format!(
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'."
        ),
    );
}

#[test]
fn malformed_date() {
    for bad in [
        "201",
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20151330T123600Z",
    ] {
        let mut req = signed();
        req.set("X-Amz-Date", bad);
        let err = check(&req, now()).unwrap_err();
        assert_eq!(err, SigV4Error::MalformedDate(bad.to_owned()));
        assert_wire(
            &err,
            "IncompleteSignatureException",
            &format!(
                "Date must be in ISO-8601 'basic format'. Got '{bad}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ),
        );
    }
}

#[test]
fn host_must_be_signed() {
    let mut req = signed();
    sign(&mut req, "20150830", "content-type;x-amz-date;x-amz-target");
    let err = check(&req, now()).unwrap_err();
    assert_eq!(err, SigV4Error::HostNotSigned);
    assert_wire(
        &err,
        "InvalidSignatureException",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
    // Case of the listed name does not matter.
    let mut req = signed();
    let auth = req
        .authorization()
        .replace("content-type;host;", "content-type;Host;");
    req.set("Authorization", &auth);
    assert!(parse_authorization(&req.parts()).is_ok());
}

#[test]
fn only_hmac_sha256_is_supported() {
    for alg in ["AWS4-HMAC-SHA512", "AWS4-ECDSA-P256-SHA256"] {
        let mut req = signed();
        let auth = req.authorization().replace("AWS4-HMAC-SHA256", alg);
        req.set("Authorization", &auth);
        let err = check(&req, now()).unwrap_err();
        assert_eq!(err, SigV4Error::UnsupportedAlgorithm(alg.to_owned()));
        assert_wire(
            &err,
            "IncompleteSignatureException",
            &format!("Unsupported AWS 'algorithm': '{alg}' (only AWS4-HMAC-SHA256 for now)."),
        );
    }
}

#[test]
fn credential_needs_five_elements() {
    let mut req = signed();
    let auth = req.authorization().replace(
        "test/20150830/us-east-1/kms/aws4_request",
        "test/20150830/us-east-1/kms",
    );
    req.set("Authorization", &auth);
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "IncompleteSignatureException",
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'test/20150830/us-east-1/kms'",
    );

    // Six elements are as wrong as four...
    let mut req = signed();
    let auth = req.authorization().replace("test/2015", "x/test/2015");
    req.set("Authorization", &auth);
    assert!(matches!(
        check(&req, now()),
        Err(SigV4Error::IncompleteSignature(_))
    ));

    // ...but a trailing slash is ignored, as AWS does.
    let mut req = signed();
    let auth = req
        .authorization()
        .replace("aws4_request,", "aws4_request/,");
    req.set("Authorization", &auth);
    check(&req, now()).unwrap();
}

#[test]
fn wrong_terminator() {
    let mut req = signed();
    let auth = req.authorization().replace("aws4_request", "aws5_request");
    req.set("Authorization", &auth);
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    );
}

#[test]
fn scope_date_must_match_request_date() {
    let mut req = signed();
    sign(
        &mut req,
        "20150829",
        "content-type;host;x-amz-date;x-amz-target",
    );
    let err = check(&req, now()).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::ScopeDateMismatch {
            scope_date: "20150829".into(),
            request_date: "20150830".into(),
            amz_date: "20150830T123600Z".into(),
        }
    );
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'.",
    );
}

#[test]
fn scope_problems_are_joined_like_aws() {
    let mut req = signed();
    let auth = req.authorization().replace(
        "20150830/us-east-1/kms/aws4_request",
        "20150831/us-east-1/kms/aws5_request",
    );
    req.set("Authorization", &auth);
    let err = check(&req, now()).unwrap_err();
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. \
         Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
    );
}

#[test]
fn region_and_service_are_checked_on_request() {
    let auth = parse_authorization(&signed().parts()).unwrap();
    auth.check_scope(Some("us-east-1"), Some("kms")).unwrap();
    auth.check_scope(None, None).unwrap();
    let err = auth
        .check_scope(Some("eu-west-1"), Some("sts"))
        .unwrap_err();
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be scoped to correct service: 'sts'.",
    );
    let err = auth.check_scope(None, Some("sts")).unwrap_err();
    assert_eq!(
        err.aws_message(),
        "Credential should be scoped to correct service: 'sts'."
    );
}

#[test]
fn unknown_access_key() {
    let mut req = signed();
    let auth = req
        .authorization()
        .replace("Credential=test/", "Credential=AKIDUNKNOWN/");
    req.set("Authorization", &auth);
    let err = check(&req, now()).unwrap_err();
    assert_eq!(err, SigV4Error::UnknownAccessKey);
    assert_wire(
        &err,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
}

#[test]
fn wrong_signature() {
    let req = signed();
    let auth = parse_authorization(&req.parts()).unwrap();
    let err = verify(&req.parts(), &auth, "not-test", now()).unwrap_err();
    assert_eq!(err, SigV4Error::SignatureMismatch);
    assert_wire(
        &err,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
    // A signature that is not even hex, or is truncated, is just a mismatch.
    for bad in [
        "zz",
        "abcd",
        &auth.signature[..63],
        &auth.signature.to_uppercase()[..62],
    ] {
        let forged = ParsedAuth {
            signature: bad.to_owned(),
            ..auth.clone()
        };
        assert_eq!(
            verify(&req.parts(), &forged, SECRET, now()),
            Err(SigV4Error::SignatureMismatch),
            "{bad}"
        );
    }
}

#[test]
fn unsigned_headers_may_change_signed_ones_may_not() {
    let mut req = signed();
    req.set("User-Agent", "something-else/1.0");
    req.set("X-Forwarded-For", "10.0.0.1");
    check(&req, now()).unwrap();

    let mut req = signed();
    req.set("X-Amz-Target", "TrentService.Decrypt");
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));

    // A signed header that never arrived.
    let mut req = signed();
    req.remove("X-Amz-Target");
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));

    // A repeated signed header changes the canonical value.
    let mut req = signed();
    req.headers.push(h("x-amz-target", "TrentService.ListKeys"));
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));
}

#[test]
fn declared_payload_hash_must_be_the_real_one() {
    let real = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"; // sha256("{}")
    let mut req = signed();
    req.set("X-Amz-Content-Sha256", real);
    check(&req, now()).unwrap();

    let mut req = signed();
    req.set(
        "X-Amz-Content-Sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));

    let mut req = signed();
    req.set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));
}

#[test]
fn security_token_is_passed_through() {
    let mut req = signed();
    req.set("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN==");
    sign(
        &mut req,
        "20150830",
        "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
    );
    let auth = check(&req, now()).unwrap();
    assert_eq!(
        auth.security_token.as_deref(),
        Some("FwoGZXIvYXdzEXAMPLETOKEN==")
    );

    // Tampering with a signed token is caught by the signature.
    req.set("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN=+");
    assert_eq!(check(&req, now()), Err(SigV4Error::SignatureMismatch));
}

#[test]
fn date_header_is_accepted_when_x_amz_date_is_absent() {
    let mut req = signed();
    req.remove("X-Amz-Date");
    req.set("Date", "Sun, 30 Aug 2015 12:36:00 GMT");
    sign(&mut req, "20150830", "content-type;date;host;x-amz-target");
    let auth = check(&req, now()).unwrap();
    assert_eq!(auth.amz_date, "20150830T123600Z");

    // X-Amz-Date wins over Date when both are present.
    let mut req = signed();
    req.set("Date", "Mon, 31 Aug 2015 00:00:00 GMT");
    assert_eq!(check(&req, now()).unwrap().amz_date, "20150830T123600Z");
}

#[test]
fn clock_skew_boundaries_are_inclusive() {
    let t = i64::try_from(T).unwrap();
    let req = signed();
    assert_eq!(MAX_CLOCK_SKEW_SECS, 900);
    // Exactly 15 minutes either way passes.
    check(&req, at(t + 900)).unwrap();
    check(&req, at(t - 900)).unwrap();
    // A fraction of a second beyond still counts as the same second.
    check(&req, at(t + 900) + Duration::from_millis(999)).unwrap();

    let err = check(&req, at(t + 901)).unwrap_err();
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)",
    );
    let err = check(&req, at(t - 901)).unwrap_err();
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)",
    );
}

#[test]
fn expired_message_matches_aws_example() {
    // The example from AWS's documentation: now 12:56, request 12:36.
    let err = check(&signed(), at(1_440_938_160 + 20 * 60)).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::Expired {
            request_time: "20150830T123600Z".into(),
            earliest: "20150830T124100Z".into(),
            now: "20150830T125600Z".into(),
        }
    );
    assert_eq!(
        err.aws_message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T125600Z - 15 min.)"
    );
}

#[test]
fn skew_is_checked_before_the_signature() {
    // An expired request with a wrong signature reports expiry, as AWS does.
    let req = signed();
    let auth = parse_authorization(&req.parts()).unwrap();
    let err = verify(
        &req.parts(),
        &auth,
        "wrong",
        at(i64::try_from(T).unwrap() + 3600),
    )
    .unwrap_err();
    assert!(matches!(err, SigV4Error::Expired { .. }));
}

#[test]
fn hand_built_auth_cannot_skip_structural_checks() {
    let req = signed();
    let auth = parse_authorization(&req.parts()).unwrap();
    let no_host = ParsedAuth {
        signed_headers: vec!["x-amz-date".into()],
        ..auth.clone()
    };
    assert_eq!(
        verify(&req.parts(), &no_host, SECRET, now()),
        Err(SigV4Error::HostNotSigned)
    );
    let other_day = ParsedAuth {
        date: "20150831".into(),
        ..auth
    };
    assert!(matches!(
        verify(&req.parts(), &other_day, SECRET, now()),
        Err(SigV4Error::ScopeDateMismatch { .. })
    ));
}
