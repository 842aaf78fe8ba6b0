//! Trent's own API under `/_trent/`, SigV4-signed like KMS requests (credential scope service
//! `kms`), JSON in and out:
//!
//! - `POST /_trent/explain` `{"Principal", "Action", "KeyId", "EncryptionContext",
//!   "GrantTokens", "EncryptionAlgorithm"}`: decides a hypothetical request against the live
//!   state and explains it.
//! - `POST /_trent/access` `{"KeyId", "Principal", "Action"}`: who can do what with a key,
//!   through which path (optionally one principal, one key action).
//! - `GET /_trent/requests/<request-id>`: the audit record of a past request.
//! - `POST /_trent/requests/latest` `{"Denied", "Principal", "KeyId"}`: the newest authorized
//!   request of the requester's account (optionally denied, of one principal, on one key).
//!
//! Authorization: the requester must belong to the account of the key (or of the record) and be
//! its root user or be allowed `trent:Explain` on the key ARN by its identity policies.
//! Identity-policy details of principals of other accounts are never shown.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use trent_kms::explain::{
    AccessFilter, HypotheticalRequest, canonical_action, explanation, hypothetical_caller,
    hypothetical_principal, key_actions,
};
use trent_kms::identity::Principal;
use trent_kms::{Call, ErrorCode, KmsError};

use crate::render::WireError;
use crate::{AppState, audit};

/// The path prefix of Trent's own API.
pub const PREFIX: &str = "/_trent/";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExplainBody {
    principal: String,
    #[serde(flatten)]
    request: HypotheticalRequest,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessBody {
    key_id: String,
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct LatestBody {
    denied: bool,
    principal: Option<String>,
    key_id: Option<String>,
}

fn bad_request(message: impl Into<String>) -> WireError {
    WireError::from(KmsError::validation(message))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    serde_json::from_slice(body).map_err(|e| {
        WireError::from(KmsError::new(
            ErrorCode::Serialization,
            format!("invalid request body: {e}"),
        ))
    })
}

/// The event name of an admin request, for the audit log.
pub fn event_name(method: &Method, path: &str) -> &'static str {
    match (method, path.strip_prefix(PREFIX).unwrap_or_default()) {
        (&Method::POST, "explain") => "Explain",
        (&Method::POST, "access") => "Access",
        (&Method::POST, "requests/latest") => "GetLatestRequestRecord",
        (&Method::GET, p) if p.starts_with("requests/") => "GetRequestRecord",
        _ => "Unknown",
    }
}

/// Serves one authenticated admin request.
pub fn handle(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Value, WireError> {
    let route = path.strip_prefix(PREFIX).unwrap_or_default();
    match (method, route) {
        (&Method::POST, "explain") => explain(state, requester, parse(body)?),
        (&Method::POST, "access") => access(state, requester, parse(body)?),
        (&Method::POST, "requests/latest") => latest_record(state, requester, parse(body)?),
        (&Method::GET, r) if r.starts_with("requests/") => {
            request_record(state, requester, &r["requests/".len()..])
        }
        _ => Err(WireError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            Some(format!("{method} {path} is not part of Trent's API")),
        )),
    }
}

fn explain(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    body: ExplainBody,
) -> Result<Value, WireError> {
    let kms = &state.kms;
    let principal = known_principal(state, &body.principal)?;
    let subject = hypothetical_caller(principal, &requester.region);
    // Authorize against the key (as the subject names it) before deciding anything.
    match &body.request.key_id {
        Some(key_ref) => {
            let key = kms.resolve_key(&subject, key_ref)?;
            let arn = trent_kms::arn::key_arn(&key.region, &key.account, &key.key_id);
            kms.authorize_explain(requester, &key.account, &arn)?;
        }
        None => kms.authorize_explain(requester, subject.account(), "*")?,
    }
    let decision = kms.explain(&subject, &body.request)?;
    let hide = subject.account() != requester.account();
    let explained = explanation(&decision, &subject.principal, hide);
    let mut out = json!({
        "principal": subject.arn(),
        "explanation": explained,
    });
    if !hide {
        out["decision"] = serde_json::to_value(&decision).map_err(KmsError::internal)?;
    }
    Ok(out)
}

/// A principal `explain` and `access` can ask about, or the error that says which are.
fn known_principal(state: &AppState, arn: &str) -> Result<Principal, WireError> {
    hypothetical_principal(&state.kms.directory(), arn).ok_or_else(|| {
        WireError::from(KmsError::not_found(format!(
            "Trent does not know the principal {arn}: give a user, role, role session or account root declared in its configuration"
        )))
    })
}

fn access(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    body: AccessBody,
) -> Result<Value, WireError> {
    let kms = &state.kms;
    let key = kms.resolve_key(requester, &body.key_id)?;
    let arn = trent_kms::arn::key_arn(&key.region, &key.account, &key.key_id);
    kms.authorize_explain(requester, &key.account, &arn)?;
    let filter = AccessFilter {
        principal: body
            .principal
            .as_deref()
            .map(|arn| known_principal(state, arn))
            .transpose()?,
        action: body
            .action
            .as_deref()
            .map(|a| {
                canonical_action(a)
                    .filter(|a| key_actions().contains(a))
                    .ok_or_else(|| {
                        bad_request(format!(
                            "{a} is not a KMS action on keys (for example kms:Decrypt)"
                        ))
                    })
            })
            .transpose()?,
    };
    let report = kms.access_report(&key, requester.account(), &filter)?;
    serde_json::to_value(report).map_err(|e| WireError::from(KmsError::internal(e)))
}

fn audit_file_required(state: &AppState) -> Result<(), WireError> {
    if matches!(state.audit.destination(), audit::Destination::File(_)) {
        return Ok(());
    }
    Err(WireError::from(KmsError::new(
        ErrorCode::UnsupportedOperation,
        "This server does not keep its audit log in a file (trent serve --audit-log).",
    )))
}

/// The newest request of the requester's account that `body` asks for (`trent explain --last`,
/// `--last-denied`), shown under the same permission as a request named by its ID.
fn latest_record(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    body: LatestBody,
) -> Result<Value, WireError> {
    audit_file_required(state)?;
    let filter = audit::RecordFilter {
        account: requester.account().to_string(),
        denied_only: body.denied,
        principal: body.principal,
        key: body.key_id,
    };
    let record = state
        .audit
        .latest(&filter)
        .map_err(|e| WireError::from(KmsError::internal(e)))?
        .ok_or_else(|| {
            WireError::from(KmsError::not_found(
                "No audit record of this account matches (only authorized KMS, IAM and STS \
                 requests are considered).",
            ))
        })?;
    let not_found = || WireError::from(KmsError::not_found("No matching audit record"));
    authorized_view(state, requester, record, not_found)
}

fn request_record(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    request_id: &str,
) -> Result<Value, WireError> {
    if !audit::valid_request_id(request_id) {
        return Err(bad_request(format!("{request_id:?} is not a request ID")));
    }
    audit_file_required(state)?;
    let not_found = || {
        WireError::from(KmsError::not_found(format!(
            "No audit record for request {request_id}"
        )))
    };
    let record = state
        .audit
        .find(request_id)
        .map_err(|e| WireError::from(KmsError::internal(e)))?
        .ok_or_else(not_found)?;
    authorized_view(state, requester, record, not_found)
}

/// A record as `requester` may see it: refused unless it belongs to the requester's account and
/// the requester may explain its resources.
fn authorized_view(
    state: &Arc<AppState>,
    requester: &Call<'_>,
    record: Value,
    not_found: impl Fn() -> WireError,
) -> Result<Value, WireError> {
    let Some(account) = record
        .get("recipientAccountId")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        // Requests that failed authentication belong to no account: the file only.
        return Err(not_found());
    };
    let arns: Vec<String> = record
        .get("resources")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x.get("ARN").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if arns.is_empty() {
        state.kms.authorize_explain(requester, &account, "*")?;
    }
    for arn in &arns {
        state.kms.authorize_explain(requester, &account, arn)?;
    }
    Ok(audit::view_for(record, requester.account()))
}
