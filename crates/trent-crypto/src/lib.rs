//! All cryptography of Trent: the only user of `aws-lc-rs`.
//!
//! - [`random_bytes`]: the system CSPRNG.
//! - [`RootKey`]: seals key material at rest (AES-256-GCM) and lives in a
//!   0600 file or `TRENT_ROOT_KEY`, never in the database.
//! - [`SymmetricKey`] and [`blob`]: the versioned ciphertext blob of
//!   SYMMETRIC_DEFAULT keys, with the encryption context bound as AAD.
//!
//! Secrets are zeroized on drop, their `Debug` is redacted, and no error
//! carries secret data.

mod aead;
pub mod blob;
mod error;
mod rand;
mod root_key;
mod root_key_file;
mod symmetric;

pub use error::CryptoError;
pub use rand::random_bytes;
pub use root_key::RootKey;
pub use symmetric::SymmetricKey;

/// A KMS encryption context. A `BTreeMap` so that iteration order is the
/// canonical (bytewise key) order.
pub type EncryptionContext = std::collections::BTreeMap<String, String>;
