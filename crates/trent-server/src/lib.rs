//! HTTP: the axum router, SigV4 authentication, the AWS JSON 1.1 codec, and the single place
//! where errors become wire responses.

mod auth;
mod render;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use axum::routing::get;
use trent_kms::{Directory, Kms, Operation};

pub use render::WireError;

/// Largest request body accepted. KMS's largest members (4 KiB plaintext, 6 KiB ciphertext,
/// 32 KiB policies) fit comfortably.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    pub kms: Arc<Kms>,
    pub directory: Arc<Directory>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .fallback(api)
        .with_state(state)
}

async fn health() -> Response {
    render::json_ok(&render::new_request_id(), br#"{"status":"ok"}"#.to_vec())
}

async fn api(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let request_id = render::new_request_id();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return render::error(&request_id, &WireError::body_too_large()),
    };
    let mut overridden = false;
    let result = handle(&state, peer, &parts, body, &mut overridden).await;
    let mut response = match result {
        Ok(json) => render::json_ok(&request_id, json),
        Err(e) => render::error(&request_id, &e),
    };
    if overridden {
        // Audit mode: authorization denied the request, but the denial was not enforced.
        response.headers_mut().insert(
            render::AUTHZ_OVERRIDE_HEADER,
            HeaderValue::from_static("AccessDenied"),
        );
    }
    response
}

async fn handle(
    state: &Arc<AppState>,
    peer: SocketAddr,
    parts: &axum::http::request::Parts,
    body: Bytes,
    authz_overridden: &mut bool,
) -> Result<Vec<u8>, WireError> {
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let caller = auth::authenticate(&state.directory, peer, method, uri, headers, &body)?;
    if method != Method::POST || uri.path() != "/" {
        return Err(WireError::unknown_operation());
    }
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(Operation::from_target)
        .ok_or_else(WireError::unknown_operation)?;
    let kms = Arc::clone(&state.kms);
    // The service is synchronous (SQLite, crypto); keep it off the async workers.
    let (result, overridden) = tokio::task::spawn_blocking(move || {
        let result = kms.call(&caller, op, &body);
        (result, caller.trace.overridden())
    })
    .await
    .map_err(|e| WireError::from(trent_kms::KmsError::internal(e)))?;
    *authz_overridden = overridden;
    let value = result.map_err(WireError::from)?;
    serde_json::to_vec(&value).map_err(|e| WireError::from(trent_kms::KmsError::internal(e)))
}

/// Serves until `shutdown` resolves, then finishes in-flight requests. Runs the deletion sweeper
/// in the background.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_deleted_keys(Arc::clone(&state.kms)));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    result
}

async fn sweep_deleted_keys(kms: Arc<Kms>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let kms = Arc::clone(&kms);
        match tokio::task::spawn_blocking(move || kms.purge_due_keys()).await {
            Ok(Err(e)) => tracing::warn!(error = %e, "deletion sweep failed"),
            Err(e) => tracing::warn!(error = %e, "deletion sweep panicked"),
            Ok(Ok(_)) => {}
        }
    }
}
