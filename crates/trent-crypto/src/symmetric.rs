//! The 256-bit key material of a SYMMETRIC_DEFAULT KMS key.

use std::fmt;

use zeroize::Zeroizing;

use crate::{CryptoError, aead::KEY_LEN, rand};

/// 32 bytes of AES-256-GCM key material; zeroized on drop, never printed.
#[derive(Clone)]
pub struct SymmetricKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl SymmetricKey {
    /// Fresh random key material.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(bytes.as_mut_slice()).map_err(|_| CryptoError::KeyGeneration)?;
        Ok(Self { bytes })
    }

    /// Key material from exactly 32 bytes (e.g. just unsealed from the store).
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if b.len() != KEY_LEN {
            return Err(CryptoError::InvalidKeyMaterial);
        }
        bytes.copy_from_slice(b);
        Ok(Self { bytes })
    }

    /// The raw key bytes, for sealing under the root key.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    pub(crate) fn key(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SymmetricKey(<redacted>)")
    }
}
