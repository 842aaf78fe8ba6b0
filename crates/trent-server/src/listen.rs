//! The accept loop: HTTP/1.1 connections served by hyper with the limits that keep a flood of
//! idle, half-sent or stalled connections from starving real clients (without them every such
//! connection stayed open forever, and about a thousand made the server unreachable).
//!
//! - **Header read timeout** (hyper's): a request's headers must arrive within it, counted from
//!   the moment the connection starts waiting for a request, so on a kept-alive connection it
//!   is also the idle timeout.
//! - **Body read timeout**: applied where the body is read (`process` in `lib.rs`).
//! - **Connection cap**: at most this many connections are served at once; further ones wait in
//!   the listen backlog until one closes, and the first wait of each episode is logged.
//! - **TLS** (when configured): the handshake runs in the connection's task, within the header
//!   read timeout, so a client that never finishes it holds no more than an idle one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::tls::TlsConfig;

/// Connection limits (`trent serve --header-read-timeout`, `--body-read-timeout`,
/// `--max-connections`, `--max-header-bytes`; the defaults below are what a slow real client
/// never hits).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    /// The request line and headers together; more is answered `431` and the connection closed.
    pub max_header_bytes: usize,
}

impl ConnectionLimits {
    pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 60;
    /// Below the usual limit of 1,024 open files, leaving room for the database and logs.
    pub const DEFAULT_MAX_CONNECTIONS: u64 = 512;
    /// Room for the largest real header set (SigV4 with an STS session token carrying session
    /// tags and a policy is a few KiB) many times over.
    pub const DEFAULT_MAX_HEADER_BYTES: u64 = 32 * 1024;
    /// hyper's read buffer cannot be smaller (it panics below this).
    pub const MIN_MAX_HEADER_BYTES: u64 = 8 * 1024;
}

/// Who is on the other end of a connection, as handlers see it (an axum `Extension`).
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub address: SocketAddr,
    /// The connection is TLS (`aws:SecureTransport`).
    pub tls: bool,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the connections finish the
/// requests they are serving (kept-alive idle connections are closed at once).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<TlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(|t| t.acceptor());
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The read buffer's cap is what bounds a request's head: hyper answers 431 once the
        // buffered head reaches it without being complete. Bodies are streamed, not buffered.
        .max_buf_size(
            limits
                .max_header_bytes
                .max(ConnectionLimits::MIN_MAX_HEADER_BYTES as usize),
        )
        .keep_alive(true);
    tokio::pin!(shutdown);
    let mut at_cap = false;
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                at_cap = false;
                permit
            }
            Err(_) => {
                if !at_cap {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    at_cap = true;
                }
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break, // the semaphore is never closed
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone().layer(axum::Extension(Peer {
            address: peer,
            tls: acceptor.is_some(),
        })));
        let Some(acceptor) = acceptor.clone() else {
            let connection =
                graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                // Errors are the client's (reset, timed out, malformed): nothing to do but close.
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "connection closed");
                }
                drop(permit);
            });
            continue;
        };
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await;
            match handshake {
                Ok(Ok(stream)) => {
                    let connection =
                        watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, error = %e, "connection closed");
                    }
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}
