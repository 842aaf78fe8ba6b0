//! `trent explain`: why a past request was allowed or denied (`--request-id`, from the audit
//! log), or what a request would get (`--as … --action … --key …`, against the live state).

use crate::Verdict;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use trent_kms::explain::Explanation;

use crate::client::{Client, ClientError, ConnectArgs};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true)
    .args(["request_id", "as_principal", "last", "last_denied"])))]
#[command(group(clap::ArgGroup::new("latest").args(["last", "last_denied"])))]
pub struct ExplainArgs {
    /// A past request: the `x-amzn-RequestId` of its response (read from the audit log).
    #[arg(long, conflicts_with_all = ["as_principal", "action", "key", "encryption_context", "grant_token"])]
    pub request_id: Option<String>,
    /// The most recent request of your account in the audit log (with --principal, of that
    /// principal; with --key, on that key).
    #[arg(long, conflicts_with_all = ["as_principal", "action", "encryption_context", "grant_token"])]
    pub last: bool,
    /// The most recent denied request (as --last).
    #[arg(long, conflicts_with_all = ["as_principal", "action", "encryption_context", "grant_token", "last"])]
    pub last_denied: bool,
    /// With --last or --last-denied: only requests made by this principal (its ARN as the audit
    /// log shows it, e.g. an assumed-role session ARN).
    #[arg(long, value_name = "PRINCIPAL_ARN", requires = "latest")]
    pub principal: Option<String>,
    /// A hypothetical request made as this principal (user, role, role-session or root ARN).
    #[arg(long = "as", value_name = "PRINCIPAL_ARN", requires = "action")]
    pub as_principal: Option<String>,
    /// The action, e.g. kms:Decrypt.
    #[arg(long)]
    pub action: Option<String>,
    /// Key ID, key ARN, alias name or alias ARN (not needed for resource-less actions).
    #[arg(long)]
    pub key: Option<String>,
    /// Encryption context pair of the request, `k=v` (repeatable).
    #[arg(long, value_name = "K=V", value_parser = parse_pair)]
    pub encryption_context: Vec<(String, String)>,
    /// Grant token of the request (repeatable).
    #[arg(long)]
    pub grant_token: Vec<String>,
    /// kms:EncryptionAlgorithm of the request (default SYMMETRIC_DEFAULT).
    #[arg(long)]
    pub encryption_algorithm: Option<String>,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected k=v, got {s:?}"))
}

pub fn run(args: ExplainArgs) -> Result<Verdict, ClientError> {
    let client = Client::new(&args.connect)?;
    let past = if let Some(id) = &args.request_id {
        Some(client.call("GET", &format!("/_trent/requests/{id}"), None)?)
    } else if args.last || args.last_denied {
        let body = json!({
            "Denied": args.last_denied,
            "Principal": args.principal,
            "KeyId": args.key,
        });
        Some(client.call("POST", "/_trent/requests/latest", Some(&body))?)
    } else {
        None
    };
    if let Some(record) = past {
        if args.json {
            println!("{}", pretty(&record));
        } else {
            print!("{}", render_record(&record));
        }
        // Denied if any of its decisions denied (audit mode included: the decision was a deny).
        let denied = record
            .pointer("/trentAuthorization/decisions")
            .and_then(Value::as_array)
            .is_some_and(|ds| ds.iter().any(|d| d["allowed"] == Value::Bool(false)));
        return Ok(Verdict::of(!denied));
    }
    let ec: BTreeMap<String, String> = args.encryption_context.iter().cloned().collect();
    let mut body = json!({
        "Principal": args.as_principal,
        "Action": args.action,
        "EncryptionContext": ec,
        "GrantTokens": args.grant_token,
    });
    if let Some(k) = &args.key {
        body["KeyId"] = json!(k);
    }
    if let Some(a) = &args.encryption_algorithm {
        body["EncryptionAlgorithm"] = json!(a);
    }
    let answer = client.call("POST", "/_trent/explain", Some(&body))?;
    let explanation: Explanation = serde_json::from_value(answer["explanation"].clone())
        .map_err(|e| ClientError::Json(e.to_string()))?;
    if args.json {
        println!("{}", pretty(&answer));
    } else {
        print!("{}", explanation.render());
    }
    Ok(Verdict::of(explanation.allowed))
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("-")
}

/// A past request: who, what, when, the outcome, then each decision's explanation.
pub fn render_record(r: &Value) -> String {
    let who = r
        .pointer("/userIdentity/arn")
        .or_else(|| r.pointer("/userIdentity/accessKeyId"))
        .and_then(Value::as_str)
        .unwrap_or("an unauthenticated caller");
    let outcome = match r.get("errorCode").and_then(Value::as_str) {
        Some(code) => match r.get("errorMessage").and_then(Value::as_str) {
            Some(m) => format!("failed: {code}: {m}"),
            None => format!("failed: {code}"),
        },
        None => "succeeded".to_string(),
    };
    let mut out = format!(
        "request {}: {} by {who} at {} from {} in {}: {outcome}\n",
        s(r, "/requestID"),
        s(r, "/eventName"),
        s(r, "/eventTime"),
        s(r, "/sourceIPAddress"),
        s(r, "/awsRegion"),
    );
    if r.pointer("/trentAuthorization/overridden")
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.push_str("(audit mode: a denial was recorded but not enforced)\n");
    }
    let decisions: Vec<Explanation> = r
        .pointer("/trentAuthorization/decisions")
        .cloned()
        .and_then(|d| serde_json::from_value(d).ok())
        .unwrap_or_default();
    if decisions.is_empty() {
        out.push_str(if r.get("userIdentity").and_then(|u| u.get("arn")).is_none() {
            "no authorization decision: the request was not authenticated\n"
        } else {
            "no authorization decision: the request failed before authorization (or --authz off)\n"
        });
    }
    for d in &decisions {
        out.push('\n');
        out.push_str(&d.render());
    }
    let lockout: Vec<Explanation> = r
        .pointer("/trentAuthorization/lockoutCheck")
        .cloned()
        .and_then(|d| serde_json::from_value(d).ok())
        .unwrap_or_default();
    for d in &lockout {
        out.push_str(
            "\npolicy lockout safety check: the new key policy would not let the caller call PutKeyPolicy later:\n",
        );
        out.push_str(&d.render());
    }
    out
}
