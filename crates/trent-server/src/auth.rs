//! Turns a signed HTTP request into a [`Caller`]: SigV4 verification against the directory.

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::http::{HeaderMap, Method, Uri};
use trent_kms::{Caller, Directory};
use trent_sigv4::{HttpRequestParts, SigV4Error};

use crate::render::WireError;

pub fn authenticate(
    directory: &Directory,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, WireError> {
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
    // Only KMS is served so far; STS and IAM will be routed by the credential scope.
    auth.check_scope(None, Some("kms"))?;
    let key = directory
        .access_key(&auth.access_key_id)
        .ok_or(SigV4Error::UnknownAccessKey)?;
    trent_sigv4::verify(&parts, &auth, &key.secret.0, SystemTime::now())?;
    Ok(Caller {
        principal: key.principal.clone(),
        region: auth.region.clone(),
        access_key_id: auth.access_key_id,
        source_ip: Some(peer.ip()),
        user_agent: headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        // `lambda.amazonaws.com` signing in ap-northeast-1 is `lambda.ap-northeast-1.amazonaws.com`.
        via_service: key.via_service.as_ref().map(|service| {
            let name = service.strip_suffix(".amazonaws.com").unwrap_or(service);
            format!("{name}.{}.amazonaws.com", auth.region)
        }),
        trace: Default::default(),
    })
}
