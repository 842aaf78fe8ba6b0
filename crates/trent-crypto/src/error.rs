//! The one error type of the crate.
//!
//! Variants carry no secret data: no key bytes, no plaintext, and no echo of
//! a rejected encoded key. Callers map them to wire errors by variant, never
//! by message text.

use std::path::PathBuf;

/// Everything that can go wrong in Trent's cryptography.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A ciphertext blob is malformed, was tampered with, was made under
    /// another key, or is presented with another encryption context.
    /// Deliberately one variant: telling these apart would help an attacker.
    #[error("invalid ciphertext")]
    InvalidCiphertext,

    /// Sealed key material could not be opened: wrong root key, wrong
    /// binding (key id/version), or corrupted storage.
    #[error("cannot unseal key material (wrong root key or corrupted data)")]
    Unseal,

    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,

    /// The crypto library failed in a way no input explains.
    #[error("internal cryptographic failure")]
    Internal,

    /// Key generation failed inside the crypto library.
    #[error("key generation failed")]
    KeyGeneration,

    /// Key bytes have the wrong length or encoding, or do not parse as the
    /// declared key spec.
    #[error("invalid key material")]
    InvalidKeyMaterial,

    /// A key id cannot be placed in a ciphertext blob (empty or over 255 bytes).
    #[error("key id must be 1 to 255 bytes long")]
    InvalidKeyId,

    /// An encryption context key or value is longer than a u32 length prefix allows.
    #[error("encryption context entry too large")]
    EncryptionContextTooLarge,

    /// Reading or creating the root key file failed.
    #[error("root key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The root key file exists but is not exactly 32 bytes long.
    #[error("root key file {path} has {len} bytes; expected exactly 32")]
    RootKeyFileSize { path: PathBuf, len: u64 },

    /// The root key file is readable or writable by group or others.
    /// Refused like ssh refuses a private key: fix with `chmod 600`.
    #[error(
        "root key file {path} has permissions {mode:o}; it must not be accessible by group or others (chmod 600)"
    )]
    RootKeyFilePermissions { path: PathBuf, mode: u32 },

    /// A recognised AWS name that Trent does not implement (SM2, Ed25519ph,
    /// ML-DSA external μ). The text says what, for the service's message.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),

    /// A name that is not any AWS key spec, algorithm or message type.
    #[error("unknown {kind} name {name:?}")]
    UnknownName { kind: &'static str, name: String },

    /// The algorithm exists, but not for this key spec (e.g. ECDSA_SHA_384
    /// with an ECC_NIST_P256 key, or GenerateMac with an RSA key).
    #[error("algorithm {algorithm} is not compatible with key spec {key_spec}")]
    IncompatibleAlgorithm {
        key_spec: &'static str,
        algorithm: &'static str,
    },

    /// A DIGEST (or EXTERNAL_MU) message whose length is not the hash length
    /// of the algorithm. The text is the one KMS returns.
    #[error("Digest is invalid length for algorithm {algorithm}.")]
    InvalidDigestLength { algorithm: &'static str },

    /// The message type is not allowed with the algorithm (e.g. DIGEST with
    /// ED25519_SHA_512, RAW with ED25519_PH_SHA_512).
    #[error("message type {message_type} is not supported with algorithm {algorithm}")]
    UnsupportedMessageType {
        algorithm: &'static str,
        message_type: &'static str,
    },

    /// RSA-OAEP plaintext over the limit for the key size and algorithm.
    #[error("plaintext is longer than the {max} bytes allowed for this key and algorithm")]
    PlaintextTooLarge { max: usize },

    /// A public key that does not parse, or is of another type or curve.
    #[error("invalid public key")]
    InvalidPublicKey,

    /// Symmetric and HMAC keys have no public key.
    #[error("key spec {key_spec} has no public key")]
    NoPublicKey { key_spec: &'static str },
}
