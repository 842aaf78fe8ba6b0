//! GenerateMac and VerifyMac with HMAC key material.

use aws_lc_rs::hmac;

use crate::material::ParsedKey;
use crate::{CryptoError, MacAlgorithm, PrivateKeyMaterial};

/// The HMAC tag of `message`.
pub fn generate_mac(
    m: &PrivateKeyMaterial,
    alg: MacAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    Ok(hmac::sign(key(m, alg)?, message).as_ref().to_vec())
}

/// Whether `mac` is the HMAC tag of `message`. The comparison is constant
/// time (aws-lc-rs `hmac::verify`); a tag of the wrong length is `false`.
pub fn verify_mac(
    m: &PrivateKeyMaterial,
    alg: MacAlgorithm,
    message: &[u8],
    mac: &[u8],
) -> Result<bool, CryptoError> {
    Ok(hmac::verify(key(m, alg)?, message, mac).is_ok())
}

fn key(m: &PrivateKeyMaterial, alg: MacAlgorithm) -> Result<&hmac::Key, CryptoError> {
    match &m.key {
        ParsedKey::Hmac(key) if m.spec().mac_algorithms().contains(&alg) => Ok(key),
        _ => Err(CryptoError::IncompatibleAlgorithm {
            key_spec: m.spec().as_str(),
            algorithm: alg.as_str(),
        }),
    }
}
