//! Who made a request, as CloudTrail shows it: `userIdentity`, and the credential of a request
//! whose authentication failed.

use serde::Serialize;
use trent_kms::{Caller, PrincipalKind};

use super::record::clip;

/// The access key and region of a SigV4 `Authorization` header, read without verifying it.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    pub access_key_id: Option<String>,
    pub region: Option<String>,
}

pub fn credential_of(headers: &axum::http::HeaderMap) -> Credential {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Credential::default();
    };
    let Some(scope) = value
        .split(['\u{20}', ','])
        .find_map(|p| p.trim().strip_prefix("Credential="))
    else {
        return Credential::default();
    };
    let mut parts = scope.split('/');
    let access_key_id = parts.next().filter(|s| !s.is_empty()).map(clip);
    let region = parts.nth(1).filter(|s| !s.is_empty()).map(clip);
    Credential {
        access_key_id,
        region,
    }
}

/// CloudTrail's `userIdentity`, in its member order.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<String>,
}

impl UserIdentity {
    /// A request whose authentication failed: only the access key it named.
    pub(super) fn unauthenticated(credential: &Credential) -> UserIdentity {
        UserIdentity {
            access_key_id: credential.access_key_id.clone(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    session_issuer: SessionIssuer,
    attributes: SessionAttributes,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: String,
    arn: String,
    account_id: String,
    user_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    mfa_authenticated: &'static str,
}

pub(super) fn user_identity(caller: &Caller) -> UserIdentity {
    let p = &caller.principal;
    let mut id = UserIdentity {
        kind: Some(match &p.kind {
            PrincipalKind::Root => "Root",
            PrincipalKind::User { .. } => "IAMUser",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
        }),
        principal_id: Some(p.unique_id.clone()),
        arn: Some(p.arn.clone()),
        account_id: Some(p.account.clone()),
        access_key_id: Some(caller.access_key_id.clone()),
        invoked_by: caller.via_service.as_deref().map(service_principal),
        ..Default::default()
    };
    match &p.kind {
        PrincipalKind::User { name, .. } => id.user_name = Some(name.clone()),
        PrincipalKind::AssumedRole {
            role_arn,
            role_name,
            ..
        } => {
            let role_id = p.unique_id.split(':').next().unwrap_or_default();
            id.session_context = Some(SessionContext {
                session_issuer: SessionIssuer {
                    kind: "Role",
                    principal_id: role_id.to_string(),
                    arn: role_arn.clone(),
                    account_id: p.account.clone(),
                    user_name: role_name.clone(),
                },
                attributes: SessionAttributes {
                    mfa_authenticated: "false",
                },
            });
        }
        PrincipalKind::Root => {}
    }
    id
}

/// `lambda.ap-northeast-1.amazonaws.com` → `lambda.amazonaws.com`.
pub(super) fn service_principal(endpoint: &str) -> String {
    match endpoint.split_once('.') {
        Some((name, _)) => format!("{name}.amazonaws.com"),
        None => endpoint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_scope_without_verifying() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        let c = credential_of(&h);
        assert_eq!(c.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }
}
