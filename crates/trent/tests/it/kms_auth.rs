//! The HTTP edge of the real binary: SigV4 authentication failures with AWS's codes and
//! messages, unknown and unsupported operations, body limits, malformed bodies, `/health`, the
//! error wire shape, and `x-amzn-RequestId` on every response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;

use crate::support::Server;
use crate::support::kms::*;

fn json_headers(target: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![(
        "content-type".to_string(),
        "application/x-amz-json-1.1".to_string(),
    )];
    if let Some(t) = target {
        h.push(("x-amz-target".to_string(), t.to_string()));
    }
    h
}

fn request_id(r: &RawResponse) -> String {
    let id = r
        .header("x-amzn-requestid")
        .unwrap_or_else(|| panic!("no x-amzn-RequestId: {r:?}"));
    assert!(!id.is_empty());
    id.to_string()
}

#[tokio::test]
async fn a_wrong_secret_key_is_an_invalid_signature() {
    let s = Server::start();
    let kms = s.kms_as("test", "not-the-secret", "us-east-1");
    assert_eq!(
        failure(kms.list_keys().send().await),
        expected(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    );
    // Nothing was created by a rejected CreateKey.
    let _ = kms.create_key().send().await.unwrap_err();
    assert!(all_key_ids(&s.kms(), 100).await.is_empty());
}

#[tokio::test]
async fn an_unknown_access_key_is_unrecognized() {
    let s = Server::start();
    let kms = s.kms_as("AKIAUNKNOWN", "whatever", "us-east-1");
    assert_eq!(
        failure(kms.list_keys().send().await),
        expected(
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );
}

/// Long-term credentials that also send a session token: AWS refuses the token (it does not
/// ignore it), and so does Trent (issue 20's probe found it ignored).
#[tokio::test]
async fn long_term_credentials_with_a_session_token_are_unrecognized() {
    let s = Server::start();
    let creds = aws_credential_types::Credentials::new(
        "test",
        "test",
        Some("bogus-session-token".to_string()),
        None,
        "trent-test",
    );
    let kms = aws_sdk_kms::Client::from_conf(
        crate::support::sdk_config(&s.endpoint, "test", "test", "us-east-1")
            .credentials_provider(creds)
            .build(),
    );
    assert_eq!(
        failure(kms.list_keys().send().await),
        expected(
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );
    // The same credentials without the token work.
    s.kms().list_keys().send().await.unwrap();
}

/// A credential scope whose region is not an AWS region name is refused before anything is
/// done (issue 20's probe created keys with ARNs like `arn:aws:kms::000000000000:key/…`).
#[tokio::test]
async fn a_region_that_is_not_a_region_name_is_refused() {
    let s = Server::start();
    // (The SDK itself refuses regions that are not host labels: empty, too long, upper case.)
    for region in ["not-a-region", "local", "us-east"] {
        let kms = s.kms_as("test", "test", region);
        let (code, message) = failure(kms.create_key().send().await);
        assert_eq!(code, "InvalidSignatureException", "{region}: {message}");
        assert_eq!(
            message,
            format!("Credential should be scoped to a valid region, not '{region}'.")
        );
    }
    assert!(all_key_ids(&s.kms(), 100).await.is_empty());
    // Regions of other partitions have the shape.
    s.kms_as("test", "test", "cn-north-1")
        .list_keys()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unsigned_request_is_missing_authentication() {
    let s = Server::start();
    let r = raw(
        &s.endpoint,
        "POST",
        "/",
        &json_headers(Some("TrentService.ListKeys")),
        b"{}",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(
        r.json(),
        serde_json::json!({
            "__type": "MissingAuthenticationTokenException",
            "message": "Missing Authentication Token"
        })
    );
    request_id(&r);
    // An Authorization header that is not SigV4 at all is the same thing.
    let mut headers = json_headers(Some("TrentService.ListKeys"));
    headers.push(("authorization".into(), "Basic dGVzdDp0ZXN0".into()));
    let r = raw(&s.endpoint, "POST", "/", &headers, b"{}");
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "MissingAuthenticationTokenException");
    // Authentication comes first, whatever the path, method or target.
    for (method, path, target) in [
        ("GET", "/", None),
        ("POST", "/other", Some("TrentService.ListKeys")),
        ("POST", "/", Some("TrentService.Bogus")),
        ("POST", "/", None),
    ] {
        let r = raw(&s.endpoint, method, path, &json_headers(target), b"{}");
        assert_eq!(r.status, 400, "{method} {path}");
        assert_eq!(
            r.error_type(),
            "MissingAuthenticationTokenException",
            "{method} {path} {target:?}"
        );
        request_id(&r);
    }
}

#[tokio::test]
async fn health_answers_without_authentication() {
    let s = Server::start();
    let r = raw(&s.endpoint, "GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
    let a = request_id(&r);
    let b = request_id(&raw(&s.endpoint, "GET", "/health", &[], b""));
    assert_ne!(a, b, "request IDs must be unique");
}

#[tokio::test]
async fn unknown_targets_and_paths_are_unknown_operations() {
    let s = Server::start();
    for target in [
        "TrentService.Bogus",
        "TrentService.encrypt",
        "TrentService.",
        "KMS.ListKeys",
        "ListKeys",
        "",
    ] {
        let rewrite = Rewrite {
            target: Some(target.to_string()),
            ..Rewrite::default()
        };
        let kms = client(&s, Some(rewrite.clone()));
        let (code, _) = failure(kms.list_keys().send().await);
        assert_eq!(code, "UnknownOperationException", "target {target:?}");
        let r = rewrite.last();
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json(),
            serde_json::json!({"__type": "UnknownOperationException"})
        );
        request_id(&r);
    }
    // A signed request to another path.
    let kms = client_at(
        &format!("{}/not-kms", s.endpoint),
        "test",
        "test",
        REGION,
        None,
    );
    assert_eq!(
        failure(kms.list_keys().send().await).0,
        "UnknownOperationException"
    );
}

#[tokio::test]
async fn operations_trent_does_not_offer_are_unsupported_by_name() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let unsupported = |op: &str| {
        expected(
            "UnsupportedOperationException",
            &format!("{op} is not supported by this version of Trent."),
        )
    };
    assert_eq!(
        failure(
            kms.create_custom_key_store()
                .custom_key_store_name("store")
                .send()
                .await
        ),
        unsupported("CreateCustomKeyStore")
    );
    assert_eq!(
        failure(kms.describe_custom_key_stores().send().await),
        unsupported("DescribeCustomKeyStores")
    );
    // The key is as it was.
    assert_eq!(describe(&kms, id).await, key);
}

#[tokio::test]
async fn an_oversized_body_is_refused_clearly() {
    let s = Server::start();
    // Through the SDK: a signed request whose body is over 1 MiB.
    let rewrite = Rewrite::default();
    let kms = client(&s, Some(rewrite.clone()));
    let id = new_key(&kms).await.key_id().to_string();
    let before = snapshot(&kms).await;
    let (code, message) = failure(
        kms.encrypt()
            .key_id(&id)
            .plaintext(Blob::new(vec![b'x'; 1024 * 1024]))
            .send()
            .await,
    );
    assert_eq!(code, "RequestEntityTooLargeException");
    assert_eq!(
        message,
        "Request body exceeds the maximum size of 1048576 bytes."
    );
    let r = rewrite.last();
    assert_eq!(r.status, 413);
    request_id(&r);
    // Unsigned, raw: the size is checked before anything else.
    let body = vec![b' '; 1024 * 1024 + 1];
    let r = raw(
        &s.endpoint,
        "POST",
        "/",
        &json_headers(Some("TrentService.ListKeys")),
        &body,
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");
    request_id(&r);
    // Exactly at the limit is not "too large" (it fails later, on authentication).
    let body = vec![b' '; 1024 * 1024];
    let r = raw(
        &s.endpoint,
        "POST",
        "/",
        &json_headers(Some("TrentService.ListKeys")),
        &body,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "MissingAuthenticationTokenException");
    // The server is fine and nothing changed.
    assert_eq!(snapshot(&kms).await, before);
}

#[tokio::test]
async fn malformed_bodies_are_serialization_errors() {
    let s = Server::start();
    let id = new_key(&s.kms()).await.key_id().to_string();
    let before = snapshot(&s.kms()).await;
    for body in [
        b"not json".to_vec(),
        b"[1, 2]".to_vec(),
        br#"{"NumberOfBytes": "many"}"#.to_vec(),
        br#"{"NumberOfBytes": 32"#.to_vec(),
    ] {
        let rewrite = Rewrite {
            body: Some(body.clone()),
            ..Rewrite::default()
        };
        let kms = client(&s, Some(rewrite.clone()));
        let (code, _) = failure(kms.generate_random().number_of_bytes(32).send().await);
        assert_eq!(
            code,
            "SerializationException",
            "{:?}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(rewrite.last().status, 400);
    }
    // A blob that is not base64.
    let kms = client(
        &s,
        Some(patch(serde_json::json!({"Plaintext": "***not base64***"}))),
    );
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .send()
                .await
        )
        .0,
        "SerializationException"
    );
    // An empty body is an empty request.
    let rewrite = Rewrite {
        body: Some(Vec::new()),
        ..Rewrite::default()
    };
    let kms = client(&s, Some(rewrite));
    let r = kms.list_keys().send().await.unwrap();
    assert_eq!(r.keys().len(), 1);
    assert_eq!(snapshot(&s.kms()).await, before);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let s = Server::start();
    let rewrite = Rewrite::default();
    let kms = client(&s, Some(rewrite.clone()));
    let mut ids = HashSet::new();

    let created = kms.create_key().send().await.unwrap();
    let id = created.key_metadata().unwrap().key_id().to_string();
    ids.insert(created.request_id().unwrap().to_string());
    let enc = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();
    ids.insert(enc.request_id().unwrap().to_string());
    let listed = kms.list_keys().send().await.unwrap();
    ids.insert(listed.request_id().unwrap().to_string());
    // Errors of every kind: validation, not found, state, ciphertext, DryRun.
    let e = kms
        .describe_key()
        .key_id("fake-key-id")
        .send()
        .await
        .unwrap_err();
    ids.insert(
        e.as_service_error()
            .unwrap()
            .request_id()
            .unwrap()
            .to_string(),
    );
    let e = kms.generate_random().send().await.unwrap_err();
    ids.insert(
        e.as_service_error()
            .unwrap()
            .request_id()
            .unwrap()
            .to_string(),
    );
    let e = kms
        .decrypt()
        .ciphertext_blob(Blob::new("garbage"))
        .send()
        .await
        .unwrap_err();
    ids.insert(
        e.as_service_error()
            .unwrap()
            .request_id()
            .unwrap()
            .to_string(),
    );
    let e = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("x"))
        .dry_run(true)
        .send()
        .await
        .unwrap_err();
    ids.insert(
        e.as_service_error()
            .unwrap()
            .request_id()
            .unwrap()
            .to_string(),
    );
    assert_eq!(ids.len(), 7, "request IDs must be unique: {ids:?}");

    // The wire: every response the SDK saw had the header, and the status was 200 or 400.
    let seen = rewrite.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 7);
    for r in &seen {
        request_id(r);
        assert!(r.status == 200 || r.status == 400, "{r:?}");
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    }
    // InvalidCiphertextException carries no message member at all, as AWS sends it.
    let invalid = seen
        .iter()
        .find(|r| r.error_type() == "InvalidCiphertextException")
        .unwrap();
    assert_eq!(
        invalid.json(),
        serde_json::json!({"__type": "InvalidCiphertextException"})
    );
    // Modeled errors use a lowercase `message`.
    let not_found = seen
        .iter()
        .find(|r| r.status == 400 && r.error_type() == "NotFoundException")
        .unwrap();
    assert_eq!(
        not_found.json(),
        serde_json::json!({"__type": "NotFoundException", "message": "Invalid keyId 'fake-key-id'"})
    );
    assert_eq!(
        not_found.header("x-amzn-errortype"),
        Some("NotFoundException")
    );

    // And the authentication failures.
    let bad = s.kms_as("test", "wrong", "us-east-1");
    let e = bad.list_keys().send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().request_id().is_some());
    let unknown = s.kms_as("nobody", "x", "us-east-1");
    let e = unknown.list_keys().send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().request_id().is_some());
}

#[tokio::test]
async fn signatures_for_another_service_or_incomplete_ones_are_refused() {
    let s = Server::start();
    // Signed for another service (the scope says "s3", which Trent does not serve).
    let r = raw(
        &s.endpoint,
        "POST",
        "/",
        &[
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            ("x-amz-target".to_string(), "TrentService.ListKeys".to_string()),
            ("x-amz-date".to_string(), "20260101T000000Z".to_string()),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000".to_string(),
            ),
        ],
        b"{}",
    );
    // A service Trent does not serve (a global AWS_ENDPOINT_URL sends S3 calls here): said
    // plainly, with what to do instead (issue 17 item 11).
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_type(),
        "UnsupportedServiceException",
        "{:?}",
        r.json()
    );
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with(
            "Trent serves KMS, STS and IAM; this request is signed for the 's3' service."
        ) && message.contains("AWS_ENDPOINT_URL_KMS"),
        "{message}"
    );
    request_id(&r);
    // A truncated Authorization header.
    let r = raw(
        &s.endpoint,
        "POST",
        "/",
        &[
            (
                "x-amz-target".to_string(),
                "TrentService.ListKeys".to_string(),
            ),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request".to_string(),
            ),
        ],
        b"{}",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_type(),
        "IncompleteSignatureException",
        "{:?}",
        r.json()
    );
}
