//! The root key: seals key material at rest (AES-256-GCM), outside the database.
//!
//! Sealed format (version 1), in bytes:
//!
//! ```text
//! 0x01 | nonce (12, random) | AES-256-GCM ciphertext | tag (16)
//! AAD = 0x01 || caller's binding (e.g. "key/<id>/v<n>")
//! ```
//!
//! The binding ties a sealed value to the row it belongs to, so the store
//! cannot swap material between keys or versions undetected.

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::aead::{self, AeadError, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::{CryptoError, rand};

const SEAL_VERSION: u8 = 0x01;

/// 32-byte AES-256-GCM key that seals all key material at rest.
/// Zeroized on drop, never printed.
#[derive(Clone)]
pub struct RootKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl RootKey {
    /// A fresh random root key.
    pub fn generate() -> Result<RootKey, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(bytes.as_mut_slice()).map_err(|_| CryptoError::KeyGeneration)?;
        Ok(RootKey { bytes })
    }

    /// A root key from exactly 32 raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<RootKey, CryptoError> {
        if b.len() != KEY_LEN {
            return Err(CryptoError::InvalidKeyMaterial);
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(b);
        Ok(RootKey { bytes })
    }

    /// A root key from text, as given in `TRENT_ROOT_KEY`: 64 hex digits, or
    /// base64 (standard or URL-safe alphabet, padding optional) of 32 bytes.
    /// Surrounding whitespace is ignored. The error never echoes the input.
    pub fn from_encoded(s: &str) -> Result<RootKey, CryptoError> {
        let s = s.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if s.len() == 2 * KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(s, bytes.as_mut_slice())
                .map_err(|_| CryptoError::InvalidKeyMaterial)?;
            return Ok(RootKey { bytes });
        }
        // 32 bytes are 43 base64 characters, 44 with padding; anything else
        // cannot be a root key, and rejecting early bounds the buffer below.
        if !(43..=44).contains(&s.len()) {
            return Err(CryptoError::InvalidKeyMaterial);
        }
        let config =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        let engines = [
            GeneralPurpose::new(&base64::alphabet::STANDARD, config),
            GeneralPurpose::new(&base64::alphabet::URL_SAFE, config),
        ];
        let mut buf = Zeroizing::new([0u8; 48]);
        for engine in &engines {
            if let Ok(KEY_LEN) = engine.decode_slice(s, buf.as_mut_slice()) {
                bytes.copy_from_slice(&buf[..KEY_LEN]);
                return Ok(RootKey { bytes });
            }
        }
        Err(CryptoError::InvalidKeyMaterial)
    }

    /// The raw 32 bytes, as stored in the root key file.
    pub fn to_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.bytes.to_vec())
    }

    /// Seals `plaintext` (key material), bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = aead::random_nonce().map_err(|_| CryptoError::Rng)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        aead::seal_append(&self.bytes, nonce, &seal_aad(aad), plaintext, &mut out).map_err(
            |e| match e {
                AeadError::Rng => CryptoError::Rng,
                AeadError::Failed => CryptoError::Internal,
            },
        )?;
        Ok(out)
    }

    /// A public identifier of secret `material` that only this root key can compute:
    /// HMAC-SHA256, under a key derived from the root key (HKDF-SHA256), over `binding` and the
    /// material. The ID of imported key material (the same material imported again into the same
    /// key gets the same ID). Unlike a plain hash it tells nothing about weak material (an HMAC
    /// key a person chose) to someone who sees only the ID. 64 lowercase hex digits.
    pub fn material_fingerprint(
        &self,
        binding: &str,
        material: &[u8],
    ) -> Result<String, CryptoError> {
        use aws_lc_rs::{hkdf, hmac};
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"trent").extract(self.bytes.as_slice());
        let info = [b"trent:material-fingerprint:v1".as_slice()];
        let key: hmac::Key = prk
            .expand(&info, hmac::HMAC_SHA256)
            .map_err(|_| CryptoError::Internal)?
            .into();
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&(binding.len() as u64).to_be_bytes());
        ctx.update(binding.as_bytes());
        ctx.update(material);
        Ok(hex::encode(ctx.sign().as_ref()))
    }

    /// Opens what [`RootKey::seal`] produced with the same `aad`.
    pub fn unseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(CryptoError::Unseal);
        };
        if version != SEAL_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce_bytes, body) = rest.split_at(NONCE_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(nonce_bytes);
        aead::open(&self.bytes, nonce, &seal_aad(aad), body).map_err(|_| CryptoError::Unseal)
    }
}

/// The version byte is authenticated too, so a future format cannot be
/// confused with this one.
fn seal_aad(aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(SEAL_VERSION);
    full.extend_from_slice(aad);
    full
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}
