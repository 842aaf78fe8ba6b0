//! Turns a signed HTTP request into a [`Caller`]: SigV4 verification against the directory, and
//! for temporary credentials their session token and expiry. The service (KMS, STS, IAM) is the
//! one of the SigV4 credential scope.

use crate::Peer;
use std::time::SystemTime;

use axum::http::HeaderMap;
use trent_kms::iam::QueryService;
use trent_kms::{Caller, Directory};
use trent_sigv4::{HttpRequestParts, SigV4Error, SigningKeyCache};

/// The service a request was signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Kms,
    Query(QueryService),
}

/// Why authentication failed; rendered per protocol (see `query.rs` and `render.rs`).
#[derive(Debug)]
pub enum AuthError {
    SigV4(SigV4Error),
    /// Temporary credentials without their session token, or with another one.
    InvalidToken,
    /// Temporary credentials past their expiry.
    ExpiredToken,
    /// Signed for a service Trent does not serve (S3, DynamoDB, … sent here by a global
    /// `AWS_ENDPOINT_URL`).
    UnservedService(String),
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        AuthError::SigV4(e)
    }
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The service of a request's credential scope, without verifying anything (for rendering
/// errors in the right protocol).
pub fn scope_service(headers: &HeaderMap) -> Option<Service> {
    if headers.contains_key("x-amz-target") {
        // A JSON 1.1 (KMS) request, whatever its scope says.
        return None;
    }
    let value = headers.get("authorization")?.to_str().ok()?;
    let scope = value
        .split(['\u{20}', ','])
        .find_map(|p| p.trim().strip_prefix("Credential="))?;
    match scope.split('/').nth(3)? {
        "sts" => Some(Service::Query(QueryService::Sts)),
        "iam" => Some(Service::Query(QueryService::Iam)),
        _ => None,
    }
}

pub fn authenticate(
    directory: &Directory,
    signing_keys: &SigningKeyCache,
    now_ms: i64,
    peer: Peer,
    request: &axum::http::request::Parts,
    body: &[u8],
    request_id: &str,
) -> Result<(Caller, Service), AuthError> {
    let (method, uri, headers) = (&request.method, &request.uri, &request.headers);
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let parts = HttpRequestParts {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &header_list,
        body,
    };
    let auth = trent_sigv4::parse_authorization(&parts)?;
    auth.check_region_shape()?;
    // STS and IAM speak the query protocol: a JSON 1.1 request (`X-Amz-Target`) is for KMS,
    // and must be signed for it.
    let json = headers.contains_key("x-amz-target");
    let service = match auth.service.as_str() {
        "sts" if !json => Service::Query(QueryService::Sts),
        "iam" if !json => Service::Query(QueryService::Iam),
        "kms" | "sts" | "iam" => {
            auth.check_scope(None, Some("kms"))?;
            Service::Kms
        }
        other => return Err(AuthError::UnservedService(other.to_string())),
    };
    let key = directory
        .access_key(&auth.access_key_id)
        .filter(|k| k.active)
        .ok_or(SigV4Error::UnknownAccessKey)?;
    signing_keys.verify(&parts, &auth, key.secret.expose(), SystemTime::now())?;
    if let Some(session) = &key.session {
        let token = headers
            .get("x-amz-security-token")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !same_secret(token, session.token.expose().as_bytes()) {
            return Err(AuthError::InvalidToken);
        }
        if now_ms >= session.expires_ms {
            return Err(AuthError::ExpiredToken);
        }
    } else if headers
        .get("x-amz-security-token")
        .is_some_and(|v| !v.is_empty())
    {
        // Long-term credentials with a session token: AWS refuses the token, it does not ignore
        // it.
        return Err(AuthError::InvalidToken);
    }
    let caller = Caller {
        principal: key.principal.clone(),
        region: auth.region.clone(),
        access_key_id: auth.access_key_id,
        source_ip: Some(peer.address.ip()),
        secure_transport: peer.tls,
        user_agent: headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        // `lambda.amazonaws.com` signing in ap-northeast-1 is `lambda.ap-northeast-1.amazonaws.com`.
        via_service: key.via_service.as_ref().map(|service| {
            let name = service.strip_suffix(".amazonaws.com").unwrap_or(service);
            format!("{name}.{}.amazonaws.com", auth.region)
        }),
        request_id: request_id.to_string(),
    };
    Ok((caller, service))
}
