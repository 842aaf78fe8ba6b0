//! All cryptography of Trent: the only user of `aws-lc-rs`.
//!
//! - [`random_bytes`]: the system CSPRNG.
//! - [`RootKey`]: seals key material at rest (AES-256-GCM) and lives in a
//!   0600 file or `TRENT_ROOT_KEY`, never in the database.
//! - [`SymmetricKey`] and [`blob`]: the versioned ciphertext blob of
//!   SYMMETRIC_DEFAULT keys, with the encryption context bound as AAD.
//! - [`KeySpec`] and [`PrivateKeyMaterial`]: key material of every key spec,
//!   with [`sign`]/[`verify`], [`rsa_encrypt`]/[`rsa_decrypt`],
//!   [`generate_mac`]/[`verify_mac`], [`derive_shared_secret`] and
//!   [`generate_data_key_pair`].
//!
//! Not implemented (aws-lc-rs's safe API lacks them), reported as
//! [`CryptoError::Unsupported`]: ED25519_PH_SHA_512, ML-DSA EXTERNAL_MU,
//! and everything SM2.
//!
//! Secrets are zeroized on drop, their `Debug` is redacted, and no error
//! carries secret data.

mod aead;
mod algorithms;
pub mod blob;
mod data_key_pair;
mod ecdh;
mod error;
mod import;
mod mac;
mod material;
mod names;
mod rand;
mod root_key;
mod root_key_file;
mod rsa_oaep;
mod sign;
mod spec;
mod symmetric;

pub use algorithms::{
    EncryptionAlgorithm, KeyAgreementAlgorithm, MacAlgorithm, MessageType, SigningAlgorithm,
};
pub use data_key_pair::{DataKeyPair, generate_data_key_pair};
pub use ecdh::derive_shared_secret;
pub use error::CryptoError;
pub use import::{WrappingAlgorithm, WrappingKey};
pub use mac::{generate_mac, verify_mac};
pub use material::{PrivateKeyMaterial, public_key_spki_der};
pub use rand::random_bytes;
pub use root_key::RootKey;
pub use rsa_oaep::{rsa_decrypt, rsa_encrypt, rsa_max_plaintext_len};
pub use sign::{sign, verify, verify_with_public_key};
pub use spec::{KeySpec, KeyUsage};
pub use symmetric::SymmetricKey;

/// Fresh key material for `spec` (same as [`PrivateKeyMaterial::generate`]).
pub fn generate(spec: KeySpec) -> Result<PrivateKeyMaterial, CryptoError> {
    PrivateKeyMaterial::generate(spec)
}

/// A KMS encryption context. A `BTreeMap` so that iteration order is the
/// canonical (bytewise key) order.
pub type EncryptionContext = std::collections::BTreeMap<String, String>;
