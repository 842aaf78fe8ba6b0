//! Random bytes from the operating system, via aws-lc-rs.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::CryptoError;

/// Returns `n` bytes from the system CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; n];
    fill(&mut out)?;
    Ok(out)
}

/// Fills `buf` from the system CSPRNG (used for nonces and keys so secrets
/// never pass through an un-zeroized temporary).
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new().fill(buf).map_err(|_| CryptoError::Rng)
}
