//! The signing-key cache decides exactly as `verify`: a cached key is reused only for the same
//! access key, scope and secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use trent_sigv4::{HttpRequestParts, SigV4Error, SigningKeyCache, parse_authorization, verify};

const T: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A ListKeys request signed by the AWS SDK's signer with `secret`, at `when`, for `region`.
fn signed(secret: &str, when: SystemTime, region: &str) -> Vec<(String, String)> {
    let identity = Credentials::new("AKIDCACHE", secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kms")
        .time(when)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![
        ("host".to_owned(), "localhost:4599".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        (
            "x-amz-target".to_owned(),
            "TrentService.ListKeys".to_owned(),
        ),
    ];
    let signable = SignableRequest::new(
        "POST",
        "http://localhost:4599/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(b"{}"),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers
}

fn check(
    cache: &SigningKeyCache,
    headers: &[(String, String)],
    secret: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    let parts = HttpRequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body: b"{}",
    };
    let auth = parse_authorization(&parts)?;
    let uncached = verify(&parts, &auth, secret, now);
    let cached = cache.verify(&parts, &auth, secret, now);
    assert_eq!(
        format!("{uncached:?}"),
        format!("{cached:?}"),
        "the cache decided otherwise than verify"
    );
    cached
}

#[test]
fn a_scope_is_derived_once_and_reused() {
    let cache = SigningKeyCache::default();
    assert!(cache.is_empty());
    for offset in 0..3 {
        let req = signed("right", at(T + offset), "us-east-1");
        check(&cache, &req, "right", at(T + offset)).unwrap();
    }
    assert_eq!(cache.len(), 1, "one access key, one day, one region");
    let other_region = signed("right", at(T), "eu-west-1");
    check(&cache, &other_region, "right", at(T)).unwrap();
    let next_day = signed("right", at(T + 86_400), "us-east-1");
    check(&cache, &next_day, "right", at(T + 86_400)).unwrap();
    assert_eq!(cache.len(), 3);
}

#[test]
fn a_cached_scope_does_not_let_another_secret_through() {
    let cache = SigningKeyCache::default();
    let good = signed("right", at(T), "us-east-1");
    check(&cache, &good, "right", at(T)).unwrap();
    // Signed with another secret, same access key and scope: the cached key must not be used
    // as if it were that secret's.
    let forged = signed("wrong", at(T), "us-east-1");
    assert!(matches!(
        check(&cache, &forged, "right", at(T)),
        Err(SigV4Error::SignatureMismatch)
    ));
    // The secret of the access key changed: a request signed with the old one fails, one
    // signed with the new one verifies, whatever was cached.
    assert!(matches!(
        check(&cache, &good, "rotated", at(T)),
        Err(SigV4Error::SignatureMismatch)
    ));
    let rotated = signed("rotated", at(T), "us-east-1");
    check(&cache, &rotated, "rotated", at(T)).unwrap();
    assert!(matches!(
        check(&cache, &good, "rotated", at(T)),
        Err(SigV4Error::SignatureMismatch)
    ));
}

#[test]
fn a_tampered_request_fails_with_the_key_cached() {
    let cache = SigningKeyCache::default();
    let good = signed("right", at(T), "us-east-1");
    check(&cache, &good, "right", at(T)).unwrap();
    let mut tampered = good.clone();
    for (name, value) in &mut tampered {
        if name == "x-amz-target" {
            *value = "TrentService.ScheduleKeyDeletion".to_owned();
        }
    }
    assert!(matches!(
        check(&cache, &tampered, "right", at(T)),
        Err(SigV4Error::SignatureMismatch)
    ));
    // And the clock rule still applies to a cached scope.
    assert!(check(&cache, &good, "right", at(T + 3600)).is_err());
}
