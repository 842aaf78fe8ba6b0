//! One record: what the server knew about a request, made into CloudTrail's shape with
//! `trentAuthorization` (the explanations of the decisions that were made).

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;
use trent_kms::explain::{Explanation, decision_key_arn, explanation};
use trent_kms::{Authorization, Caller, Operation};

use super::identity::{Credential, UserIdentity, service_principal, user_identity};
use super::redact::{request_parameters, response_elements};

/// One CloudTrail-shaped record (eventVersion 1.08) plus `trentAuthorization`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub event_version: &'static str,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: &'static str,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(rename = "requestID")]
    pub request_id: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    pub resources: Vec<Resource>,
    pub event_type: &'static str,
    pub management_event: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    pub event_category: &'static str,
    pub trent_authorization: TrentAuthorization,
}

#[derive(Debug, Serialize)]
pub struct Resource {
    #[serde(rename = "accountId")]
    pub account_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrentAuthorization {
    /// In `--authz audit` mode: a denial was recorded but not enforced.
    pub overridden: bool,
    /// Every check the request needed, in order, each with what decided it.
    pub decisions: Vec<Explanation>,
    /// For a caller of another account than the key's: the same decisions without the
    /// caller's identity-policy details (what the key's account may be shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions_for_key_account: Option<Vec<Explanation>>,
    /// CreateKey/PutKeyPolicy refused by the policy lockout safety check: why the candidate
    /// policy would not let the caller call PutKeyPolicy later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lockout_check: Vec<Explanation>,
}

/// What the server knows about a request when it is done with it.
pub struct Input<'a> {
    pub request_id: &'a str,
    /// CloudTrail's `eventID`, also what `GetKeyLastUsage` reports.
    pub event_id: &'a str,
    pub source_ip: IpAddr,
    pub user_agent: Option<&'a str>,
    /// `X-Amz-Target` after `TrentService.` (for unknown operations too), or another name for
    /// Trent's own API.
    pub event_name: &'a str,
    pub event_source: &'static str,
    pub operation: Option<Operation>,
    /// CloudTrail's `readOnly`.
    pub read_only: bool,
    /// The authenticated caller.
    pub caller: Option<&'a Caller>,
    /// The decisions made for the request.
    pub authorization: Option<&'a Authorization>,
    /// From the `Authorization` header when authentication failed.
    pub credential: Option<Credential>,
    pub request: Option<&'a Value>,
    pub response: Option<&'a Value>,
    pub error: Option<(&'a str, Option<&'a str>)>,
}

/// Header values go into the log: keep them short.
pub(super) fn clip(s: &str) -> String {
    s.chars().take(128).collect()
}

fn event_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

fn key_resource(arn: &str) -> Option<Resource> {
    let account = arn.split(':').nth(4)?.to_string();
    Some(Resource {
        account_id: account,
        kind: "AWS::KMS::Key",
        arn: arn.to_string(),
    })
}

/// Builds the record of a request.
pub fn record(input: &Input<'_>) -> Record {
    let no_decisions = Authorization::default();
    let authorization = input.authorization.unwrap_or(&no_decisions);
    let decisions = &authorization.decisions;
    let mut arns: Vec<String> = Vec::new();
    for d in decisions {
        if let Some(arn) = decision_key_arn(d)
            && !arns.iter().any(|a| a == arn)
        {
            arns.push(arn.to_string());
        }
    }
    if let Some(Value::String(arn)) = input
        .response
        .and_then(|r| r.get("KeyMetadata"))
        .and_then(|m| m.get("Arn"))
        && !arns.contains(arn)
    {
        arns.push(arn.clone());
    }
    let resources: Vec<Resource> = arns.iter().filter_map(|a| key_resource(a)).collect();

    let (user_identity, region, caller_account) = match (input.caller, &input.credential) {
        (Some(c), _) => (
            user_identity(c),
            c.region.clone(),
            Some(c.principal.account.clone()),
        ),
        (None, Some(cred)) => (
            UserIdentity::unauthenticated(cred),
            cred.region.clone().unwrap_or_else(|| "us-east-1".into()),
            None,
        ),
        (None, None) => (UserIdentity::default(), "us-east-1".into(), None),
    };
    let recipient = resources
        .first()
        .map(|r| r.account_id.clone())
        .or(caller_account.clone());
    let (explained, for_key_account) = match input.caller {
        Some(c) => {
            let full: Vec<Explanation> = decisions
                .iter()
                .map(|d| explanation(d, &c.principal, false))
                .collect();
            let foreign = resources
                .iter()
                .any(|r| r.account_id != c.principal.account);
            let redacted = foreign.then(|| {
                decisions
                    .iter()
                    .map(|d| explanation(d, &c.principal, true))
                    .collect()
            });
            (full, redacted)
        }
        None => (Vec::new(), None),
    };
    let source_ip = match input.caller.and_then(|c| c.via_service.as_deref()) {
        Some(service) => service_principal(service),
        None => input.source_ip.to_string(),
    };
    Record {
        event_version: "1.08",
        user_identity,
        event_time: event_time(),
        event_source: input.event_source,
        event_name: clip(input.event_name),
        aws_region: region,
        source_ip_address: source_ip,
        user_agent: input.user_agent.map(clip),
        error_code: input.error.map(|(code, _)| code.to_string()),
        error_message: input.error.and_then(|(_, m)| m.map(str::to_string)),
        request_parameters: request_parameters(input.request),
        response_elements: response_elements(input.operation, input.response),
        request_id: input.request_id.to_string(),
        event_id: input.event_id.to_string(),
        read_only: input.read_only,
        resources,
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: recipient,
        event_category: "Management",
        trent_authorization: TrentAuthorization {
            overridden: authorization.overridden,
            decisions: explained,
            decisions_for_key_account: for_key_account,
            lockout_check: input
                .caller
                .map(|c| {
                    authorization
                        .lockout_checks
                        .iter()
                        .map(|d| explanation(d, &c.principal, false))
                        .collect()
                })
                .unwrap_or_default(),
        },
    }
}

/// The record as a reader of `account` may see it: a caller of another account keeps its
/// identity-policy details to itself.
pub fn view_for(mut record: Value, account: &str) -> Value {
    let caller_account = record
        .pointer("/userIdentity/accountId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(auth) = record
        .get_mut("trentAuthorization")
        .and_then(Value::as_object_mut)
    {
        let redacted = auth.remove("decisionsForKeyAccount");
        if caller_account.as_deref() != Some(account)
            && let Some(r) = redacted
        {
            auth.insert("decisions".into(), r);
        }
    }
    record
}

/// Operation names for the event name of a request whose target is not a KMS operation.
pub fn target_name(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| {
            t.strip_prefix(trent_kms::operation::TARGET_PREFIX)
                .unwrap_or(t)
        })
        .map(clip)
        .unwrap_or_else(|| "Unknown".into())
}
