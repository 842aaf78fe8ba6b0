//! SigV4 verification of a KMS Decrypt request as the AWS SDK signs it: deriving the signing
//! key on every request (`verify`) against reusing it (`SigningKeyCache`).

#![allow(clippy::unwrap_used)] // benchmark setup: a failure is a broken benchmark

use std::hint::black_box;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use criterion::{Criterion, criterion_group, criterion_main};
use trent_sigv4::{HttpRequestParts, SigningKeyCache, parse_authorization, verify};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = br#"{"CiphertextBlob":"AQICAHhhY2Nlc3Mtc2lnbmVkLWJlbmNobWFyay1jaXBoZXJ0ZXh0LWJsb2ItdGhhdC1pcy1yZWFsaXN0aWNhbGx5LWxvbmc="}"#;

fn signed_headers(now: SystemTime) -> Vec<(String, String)> {
    let identity = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kms")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![
        ("host".to_owned(), "127.0.0.1:4599".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        ("x-amz-target".to_owned(), "TrentService.Decrypt".to_owned()),
        (
            "user-agent".to_owned(),
            "aws-sdk-rust/1.3.9 os/linux lang/rust/1.90.0".to_owned(),
        ),
        ("content-length".to_owned(), BODY.len().to_string()),
    ];
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1:4599/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(BODY),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers
}

fn benches(c: &mut Criterion) {
    let now = SystemTime::now();
    let headers = signed_headers(now);
    let parts = HttpRequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: BODY,
    };
    c.bench_function("parse_authorization", |b| {
        b.iter(|| parse_authorization(black_box(&parts)).unwrap())
    });
    let auth = parse_authorization(&parts).unwrap();
    c.bench_function("verify (signing key derived)", |b| {
        b.iter(|| verify(black_box(&parts), &auth, SECRET, now).unwrap())
    });
    let cache = SigningKeyCache::default();
    c.bench_function("verify (signing key cached)", |b| {
        b.iter(|| cache.verify(black_box(&parts), &auth, SECRET, now).unwrap())
    });
}

criterion_group!(sigv4, benches);
criterion_main!(sigv4);
