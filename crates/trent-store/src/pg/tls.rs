//! TLS to PostgreSQL, as the connection URL asks for it, with libpq's parameters:
//!
//! * `sslmode=require`, `verify-ca` or `verify-full`: TLS, and the server's certificate is
//!   verified — chain *and* host name — whichever of the three is given. (libpq's `require`
//!   checks nothing and `verify-ca` no host name; Trent, which sends the database its key
//!   material, does not offer the weaker checks.)
//! * `sslrootcert=FILE`: the PEM certificates to trust; without it, the system's roots.
//! * `sslmode=disable`, `allow`, `prefer`, or no `sslmode`: no TLS (`allow` and `prefer` would
//!   be TLS without a verified peer, which is no protection against an active attacker; say
//!   `require` to encrypt).

use std::path::PathBuf;
use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{Result, StoreError};

/// The TLS connector every connection is made with (with `sslmode` off, it is never used).
pub type Connector = MakeRustlsConnect;

/// What the URL asked for: the URL without the parameters Trent handles itself (which the
/// client library does not know), and the connector.
pub(super) struct Settings {
    pub url: String,
    pub tls: bool,
    pub connector: Connector,
}

pub(super) fn settings(url: &str) -> Result<Settings> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut mode = None;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value.to_string()),
            Some(("sslrootcert", value)) => root_cert = Some(PathBuf::from(value)),
            _ => kept.push(pair),
        }
    }
    let tls = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(other) => {
            return Err(StoreError::Unreachable(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, \
                 verify-full"
            )));
        }
    };
    if mode
        .as_deref()
        .is_some_and(|m| m == "allow" || m == "prefer")
    {
        tracing::warn!(
            "the database URL says sslmode={}: Trent connects without TLS; say sslmode=require \
             to encrypt (the server's certificate is then verified)",
            mode.as_deref().unwrap_or_default()
        );
    }
    let mut url = base.to_string();
    if !kept.is_empty() {
        url.push('?');
        url.push_str(&kept.join("&"));
    }
    let roots = if tls {
        crate::tls_roots::trusted_roots(root_cert.as_deref()).map_err(|why| {
            StoreError::Unreachable(match &root_cert {
                Some(path) => format!("sslrootcert {}: {why}", path.display()),
                None => format!(
                    "TLS was asked for (sslmode) but {why}; name the server's CA with sslrootcert=FILE"
                ),
            })
        })?
    } else {
        rustls::RootCertStore::empty()
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StoreError::Unreachable(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Settings {
        url,
        tls,
        connector: MakeRustlsConnect::new(config),
    })
}
