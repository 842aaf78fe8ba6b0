//! The certificates a TLS client of Trent trusts: those of a PEM file the user names, or the
//! system's roots. Shared by the PostgreSQL connection (`sslrootcert`) and the `trent` CLI
//! (`--ca-bundle`, `AWS_CA_BUNDLE`).

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The roots to verify a server with; an error (in words, without the file's name) when the
/// file cannot be read or holds no certificate, or the system has none.
pub fn trusted_roots(file: Option<&Path>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())? {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            if roots.is_empty() {
                return Err("no certificate in the file".into());
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as browsers do.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("the system has no trusted root certificates".into());
            }
        }
    }
    Ok(roots)
}
