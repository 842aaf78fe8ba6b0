//! TLS for the listener (`trent serve --tls-cert/--tls-key`): a certificate chain and its
//! private key from PEM files, served with rustls on aws-lc-rs (the crypto the rest of Trent
//! uses), TLS 1.2 and 1.3, HTTP/1.1 offered by ALPN.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A server certificate and key, ready to accept connections.
#[derive(Clone)]
pub struct TlsConfig(Arc<ServerConfig>);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate chain {path}: {detail}")]
    Certificates { path: PathBuf, detail: String },
    #[error("{0} holds no certificate (PEM `CERTIFICATE` blocks expected)")]
    NoCertificate(PathBuf),
    // The key's bytes are never part of the message.
    #[error("cannot read the TLS private key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Config(#[from] rustls::Error),
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1) and checks that they belong together.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let certificates = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::Certificates {
                path: cert.to_path_buf(),
                detail: e.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(TlsError::NoCertificate(cert.to_path_buf()));
        }
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
            path: key.to_path_buf(),
            detail: e.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certificates, private_key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.0))
    }
}
