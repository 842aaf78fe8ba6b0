//! HTTP: the axum router, SigV4 authentication, the AWS JSON 1.1 codec, and the single place
//! where errors become wire responses.

pub mod admin;
pub mod audit;
mod auth;
mod listen;
pub mod metrics;
mod query;
mod render;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use axum::routing::get;
use trent_kms::{Authorization, Call, Kms, Operation};

pub use audit::{AuditLog, Destination as AuditDestination, SyncPolicy as AuditSync};
pub use listen::{ConnectionLimits, Peer};
pub use render::WireError;
pub use tls::{TlsConfig, TlsError};

/// How an STS or IAM (query protocol) request's parameters are read from its URL query string
/// and form body, as the server reads them before dispatching the action. Public for fuzzing
/// and tests.
pub use query::params as query_params;

/// Largest request body accepted. KMS's largest members (4 KiB plaintext, 6 KiB ciphertext,
/// 32 KiB policies) fit comfortably.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    /// The service; it also holds the identities (`Kms::directory`).
    pub kms: Arc<Kms>,
    /// Every request that reaches the API (KMS or `/_trent/`) gets a record here before its
    /// response is sent.
    pub audit: AuditLog,
    /// Timeouts and the connection cap (`listen.rs`).
    pub limits: ConnectionLimits,
    /// TLS for every connection, or plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Request counts and latencies (`GET /metrics`).
    pub metrics: metrics::Metrics,
    /// SigV4 signing keys already derived (`auth.rs`).
    pub signing_keys: trent_sigv4::SigningKeyCache,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .fallback(api)
        .with_state(state)
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn health() -> Response {
    render::json_ok(&render::new_request_id(), br#"{"status":"ok"}"#.to_vec())
}

async fn api(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    request: Request<Body>,
) -> Response {
    // The request runs to its end, audit record included, even if the client goes away (which
    // drops this future): the operation may already have happened, and its record must not be
    // lost with the connection.
    match tokio::spawn(process(state, peer, request)).await {
        Ok(response) => response,
        Err(e) => render::error(
            &render::new_request_id(),
            &WireError::from(trent_kms::KmsError::internal(e)),
        ),
    }
}

async fn process(state: Arc<AppState>, peer: Peer, request: Request<Body>) -> Response {
    let started = std::time::Instant::now();
    let request_id = render::new_request_id();
    let (parts, body) = request.into_parts();
    let is_admin = parts.uri.path().starts_with(admin::PREFIX);
    let event_name = if is_admin {
        admin::event_name(&parts.method, parts.uri.path()).to_string()
    } else {
        audit::target_name(&parts.headers)
    };
    let mut done = Handled {
        caller: None,
        operation: None,
        request: None,
        authorization: Authorization::default(),
        result: Err(WireError::body_too_large()),
        query: auth::scope_service(&parts.headers).and_then(|s| match s {
            auth::Service::Query(q) => Some((q, String::new())),
            auth::Service::Kms => None,
        }),
        xml: Vec::new(),
    };
    // hyper's read buffer bounds the head only to within one read; this makes the limit exact.
    let max_head = state.limits.max_header_bytes;
    if head_size(&parts) > max_head {
        done.result = Err(WireError::headers_too_large(max_head));
    } else {
        // A body that stalls is given up on (the connection then closes): the request is
        // answered and audited as a timeout.
        match tokio::time::timeout(
            state.limits.body_read_timeout,
            axum::body::to_bytes(body, MAX_BODY_BYTES),
        )
        .await
        {
            Ok(Ok(body)) => done = handle(&state, peer, &parts, body, is_admin, &request_id).await,
            Ok(Err(_)) => {}
            Err(_) => done.result = Err(WireError::body_timeout()),
        }
    }
    let overridden = done.authorization.overridden;
    let mut response = match (&done.query, &done.result) {
        (Some((service, action)), Ok(_)) => query::ok(*service, action, &request_id, &done.xml),
        (Some((service, _)), Err(e)) => query::error(*service, &request_id, e),
        (None, Ok(json)) => {
            render::json_ok(&request_id, serde_json::to_vec(json).unwrap_or_default())
        }
        (None, Err(e)) => render::error(&request_id, e),
    };
    let event_name = match &done.query {
        Some((_, action)) if !action.is_empty() => action.clone(),
        _ => event_name,
    };
    if overridden {
        // Audit mode: authorization denied the request, but the denial was not enforced.
        response.headers_mut().insert(
            render::AUTHZ_OVERRIDE_HEADER,
            HeaderValue::from_static("AccessDenied"),
        );
    }
    let event_id = uuid::Uuid::new_v4().to_string();
    if done.result.is_ok()
        && let Some(op) = done.operation
        && op.spec().tracks_key_usage()
    {
        state
            .kms
            .note_key_use(&done.authorization.keys, op.name(), &event_id, &request_id);
    }
    if state.audit.enabled() {
        let record = audit::record(&audit::Input {
            request_id: &request_id,
            event_id: &event_id,
            source_ip: peer.address.ip(),
            user_agent: parts
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok()),
            event_name: &event_name,
            event_source: match (&done.query, is_admin) {
                (Some((service, _)), _) => service.event_source(),
                (None, true) => "trent",
                (None, false) => "kms.amazonaws.com",
            },
            operation: done.operation,
            read_only: is_admin || done.operation.is_some_and(Operation::is_read_only),
            caller: done.caller.as_ref(),
            authorization: Some(&done.authorization),
            credential: done
                .caller
                .is_none()
                .then(|| audit::credential_of(&parts.headers)),
            request: done.request.as_ref(),
            response: done.result.as_ref().ok(),
            error: done
                .result
                .as_ref()
                .err()
                .map(|e| (e.code, e.message.as_deref())),
        });
        let read_only = is_admin || done.operation.is_some_and(Operation::is_read_only);
        let mutation = audit::is_mutation(done.operation, read_only, done.result.is_ok());
        // The response leaves only once its record is written (and synced, for mutations).
        state.audit.write(&record, mutation).await;
    }
    let signer = done
        .caller
        .is_none()
        .then(|| audit::credential_of(&parts.headers).access_key_id)
        .flatten();
    let latency = started.elapsed();
    let outcome = match &done.result {
        _ if done.authorization.overridden => metrics::Outcome::Deny,
        Ok(_) => metrics::Outcome::Allow,
        Err(e) if e.code == "AccessDeniedException" => metrics::Outcome::Deny,
        Err(_) => metrics::Outcome::Error,
    };
    state.metrics.record(&event_name, outcome, latency);
    log_request(&request_id, &event_name, &done, signer.as_deref(), latency);
    response
}

/// One line per request: at info, what was asked, by whom, of which key, how it was decided
/// and by what, and how long it took; denials at warn, with the command that explains them.
fn log_request(
    request_id: &str,
    operation: &str,
    done: &Handled,
    // The access key of a request that did not authenticate.
    signer: Option<&str>,
    latency: std::time::Duration,
) {
    // Nothing below is worth computing for a line nobody reads (allowed requests log at info,
    // the rest at warn).
    if !tracing::enabled!(target: "trent::request", tracing::Level::WARN)
        || (done.result.is_ok()
            && !done.authorization.overridden
            && !tracing::enabled!(target: "trent::request", tracing::Level::INFO))
    {
        return;
    }
    let principal = match (&done.caller, signer) {
        (Some(c), _) => c.arn().to_string(),
        (None, Some(key)) => format!("access key {key}"),
        (None, None) => "-".to_string(),
    };
    let key = done
        .authorization
        .keys
        .first()
        .map_or("-".to_string(), |(region, id)| format!("{region}/{id}"));
    let decisions = &done.authorization.decisions;
    // A denial decides the request; otherwise the check of the key (the last one made).
    let deciding = decisions
        .iter()
        .find(|d| !d.is_allowed())
        .or(decisions.last());
    let by = deciding.map_or(String::new(), |d| d.reason.to_string());
    let latency_ms = latency.as_secs_f64() * 1000.0;
    match &done.result {
        Ok(_) if done.authorization.overridden => tracing::warn!(
            target: "trent::request",
            request_id, operation, principal, key, decision = "deny (not enforced: --authz audit)",
            by, latency_ms, hint = %format!("trent explain --request-id {request_id}"),
            "{operation} by {principal}: denied, not enforced"
        ),
        Ok(_) => tracing::info!(
            target: "trent::request",
            request_id, operation, principal, key, decision = "allow", by, latency_ms,
            "{operation} by {principal}: allowed"
        ),
        Err(e) if e.code == "AccessDeniedException" && !done.authorization.overridden => {
            tracing::warn!(
                target: "trent::request",
                request_id, operation, principal, key, decision = "deny", by, latency_ms,
                hint = %format!("trent explain --request-id {request_id}"),
                "{operation} by {principal}: denied"
            )
        }
        Err(e) if e.code == "UnrecognizedClientException" => tracing::warn!(
            target: "trent::request",
            request_id, operation, principal, key, error = e.code, latency_ms,
            hint = "this server does not know the access key; the keys it knows are logged when it starts",
            "{operation} by {principal}: {}", e.code
        ),
        Err(e) => tracing::info!(
            target: "trent::request",
            request_id, operation, principal, key, error = e.code, latency_ms,
            "{operation} by {principal}: {}", e.code
        ),
    }
}

/// What became of a request: who made it, what it asked, what it got.
struct Handled {
    caller: Option<trent_kms::Caller>,
    operation: Option<Operation>,
    /// The request as decoded by the service (KMS) or as JSON (Trent's API), for the audit log.
    request: Option<serde_json::Value>,
    /// The authorization decisions made for the request.
    authorization: Authorization,
    result: Result<serde_json::Value, WireError>,
    /// STS/IAM (query protocol): the service and the action; the result is then `xml`.
    query: Option<(trent_kms::iam::QueryService, String)>,
    xml: Vec<trent_kms::iam::Xml>,
}

async fn handle(
    state: &Arc<AppState>,
    peer: Peer,
    parts: &axum::http::request::Parts,
    body: Bytes,
    is_admin: bool,
    request_id: &str,
) -> Handled {
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let mut done = Handled {
        caller: None,
        operation: None,
        request: None,
        authorization: Authorization::default(),
        result: Err(WireError::unknown_operation()),
        query: None,
        xml: Vec::new(),
    };
    let authenticated = auth::authenticate(
        &state.kms.directory(),
        &state.signing_keys,
        state.kms.clock_ms(),
        peer,
        parts,
        &body,
        request_id,
    );
    let (caller, service) = match authenticated {
        Ok(c) => c,
        Err(e) => {
            done.result = Err(match auth::scope_service(headers) {
                Some(auth::Service::Query(q)) => {
                    done.query = Some((q, String::new()));
                    query::auth_error(&e)
                }
                _ => WireError::from(e),
            });
            return done;
        }
    };
    if let (auth::Service::Query(service), false) = (service, is_admin) {
        return handle_query(state, caller, service, method, uri, body, done).await;
    }
    if is_admin {
        if state.audit.enabled() {
            done.request = serde_json::from_slice(&body).ok();
        }
        let state2 = Arc::clone(state);
        let (method, path) = (method.clone(), uri.path().to_string());
        let joined = tokio::task::spawn_blocking(move || {
            let call = Call::other(&caller);
            let result = admin::handle(&state2, &call, &method, &path, &body);
            let authorization = call.finish();
            (result, authorization, caller)
        })
        .await;
        match joined {
            Ok((result, authorization, caller)) => {
                done.result = result;
                done.authorization = authorization;
                done.caller = Some(caller);
            }
            Err(e) => done.result = Err(WireError::from(trent_kms::KmsError::internal(e))),
        }
        return done;
    }
    let op = if method == Method::POST && uri.path() == "/" {
        headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(Operation::from_target)
    } else {
        None
    };
    let Some(op) = op else {
        done.caller = Some(caller);
        return done;
    };
    done.operation = Some(op);
    let kms = Arc::clone(&state.kms);
    // The service is synchronous (SQLite, crypto). Operations that take microseconds with the
    // key's material cached run on the connection's task: a hand-off to the blocking pool and
    // back costs more than they do. The rest stay off the async workers.
    let joined = if runs_inline(op) {
        let outcome = kms.call(&caller, op, &body);
        Ok((outcome, caller))
    } else {
        tokio::task::spawn_blocking(move || {
            let outcome = kms.call(&caller, op, &body);
            (outcome, caller)
        })
        .await
    };
    match joined {
        Ok((outcome, caller)) => {
            done.result = outcome.result.map_err(WireError::from);
            done.request = outcome.request;
            done.authorization = outcome.authorization;
            done.caller = Some(caller);
        }
        Err(e) => done.result = Err(WireError::from(trent_kms::KmsError::internal(e))),
    }
    done
}

/// The size of a request's head as sent: request line and header lines with their separators.
fn head_size(parts: &axum::http::request::Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    let line = parts.method.as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len();
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + ": \r\n".len() + value.len())
        .sum();
    line + headers
}

/// The operations whose work is symmetric cryptography with cached material (or a few random
/// bytes): no key generation, no RSA, no write to the store but the rare purge of a key whose
/// deletion date has passed.
fn runs_inline(op: Operation) -> bool {
    matches!(
        op,
        Operation::Encrypt
            | Operation::Decrypt
            | Operation::ReEncrypt
            | Operation::GenerateDataKey
            | Operation::GenerateDataKeyWithoutPlaintext
            | Operation::GenerateMac
            | Operation::VerifyMac
            | Operation::GenerateRandom
    )
}

/// An STS or IAM request (AWS query protocol).
async fn handle_query(
    state: &Arc<AppState>,
    caller: trent_kms::Caller,
    service: trent_kms::iam::QueryService,
    method: &Method,
    uri: &axum::http::Uri,
    body: Bytes,
    mut done: Handled,
) -> Handled {
    let params = query::params(uri.query(), &body);
    let action = params.get("Action").unwrap_or_default().to_string();
    done.query = Some((service, action));
    if method != Method::POST || uri.path() != "/" {
        done.result = Err(query::wire_error(trent_kms::iam::IamError::invalid_action(
            params.get("Action").unwrap_or_default(),
            service.version(),
        )));
        done.caller = Some(caller);
        return done;
    }
    let kms = Arc::clone(&state.kms);
    let joined = tokio::task::spawn_blocking(move || {
        let outcome = kms.query(&caller, service, &params);
        (outcome, caller)
    })
    .await;
    match joined {
        Ok((outcome, caller)) => {
            match outcome.result {
                Ok(xml) => {
                    done.xml = xml;
                    done.result = Ok(serde_json::Value::Null);
                }
                Err(e) => done.result = Err(query::wire_error(e)),
            }
            done.authorization = outcome.authorization;
            done.caller = Some(caller);
        }
        Err(e) => done.result = Err(WireError::from(trent_kms::KmsError::internal(e))),
    }
    done
}

/// Serves until `shutdown` resolves, then finishes in-flight requests. Sweeps the key lifecycle
/// (deletion, automatic rotation, writing key usage) once before serving, every minute in the
/// background, and once more after the last request.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // What came due while the server was down happens before the first request is served.
    lifecycle_sweep(&state.kms).await;
    let sweeper = tokio::spawn(sweep_key_lifecycle(Arc::clone(&state.kms)));
    let kms = Arc::clone(&state.kms);
    let (limits, tls) = (state.limits, state.tls.clone());
    let result = listen::serve_connections(listener, router(state), limits, tls, shutdown).await;
    sweeper.abort();
    // What happened since the last sweep (key usage) is written before the server exits.
    lifecycle_sweep(&kms).await;
    result
}

/// Once a minute: deletes the keys whose waiting period is over, rotates the keys whose
/// automatic rotation date has come, deletes imported key material whose `ValidTo` has passed,
/// and writes the key usage recorded since the last sweep.
async fn sweep_key_lifecycle(kms: Arc<Kms>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        lifecycle_sweep(&kms).await;
    }
}

async fn lifecycle_sweep(kms: &Arc<Kms>) {
    let kms = Arc::clone(kms);
    let swept = tokio::task::spawn_blocking(move || {
        (
            kms.purge_due_keys(),
            kms.rotate_due_keys(),
            kms.expire_imported_material(),
            kms.flush_key_usage(),
        )
    })
    .await;
    match swept {
        Ok((deleted, rotated, expired, usage)) => {
            if let Err(e) = deleted {
                tracing::warn!(error = %e, "deletion sweep failed");
            }
            if let Err(e) = rotated {
                tracing::warn!(error = %e, "rotation sweep failed");
            }
            if let Err(e) = expired {
                tracing::warn!(error = %e, "imported key material expiry sweep failed");
            }
            if let Err(e) = usage {
                tracing::warn!(error = %e, "cannot write key usage");
            }
        }
        Err(e) => tracing::warn!(error = %e, "key lifecycle sweep panicked"),
    }
}
