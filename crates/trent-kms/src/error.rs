//! The one error type of the service, and the one place internal errors become wire errors.

use std::fmt;

/// KMS error codes as they appear in `__type` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    AccessDenied,
    AlreadyExists,
    Disabled,
    DryRunOperation,
    ExpiredImportToken,
    IncorrectKey,
    IncorrectKeyMaterial,
    InvalidAliasName,
    InvalidArn,
    InvalidCiphertext,
    InvalidGrantToken,
    InvalidImportToken,
    InvalidKeyUsage,
    InvalidMarker,
    KmsInternal,
    KmsInvalidMac,
    KmsInvalidSignature,
    KmsInvalidState,
    LimitExceeded,
    MalformedPolicyDocument,
    NotAuthorized,
    NotFound,
    Serialization,
    Tag,
    UnknownOperation,
    UnsupportedOperation,
    Validation,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "AccessDeniedException",
            ErrorCode::AlreadyExists => "AlreadyExistsException",
            ErrorCode::Disabled => "DisabledException",
            ErrorCode::DryRunOperation => "DryRunOperationException",
            ErrorCode::ExpiredImportToken => "ExpiredImportTokenException",
            ErrorCode::IncorrectKey => "IncorrectKeyException",
            ErrorCode::IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            ErrorCode::InvalidAliasName => "InvalidAliasNameException",
            ErrorCode::InvalidArn => "InvalidArnException",
            ErrorCode::InvalidCiphertext => "InvalidCiphertextException",
            ErrorCode::InvalidGrantToken => "InvalidGrantTokenException",
            ErrorCode::InvalidImportToken => "InvalidImportTokenException",
            ErrorCode::InvalidKeyUsage => "InvalidKeyUsageException",
            ErrorCode::InvalidMarker => "InvalidMarkerException",
            ErrorCode::KmsInternal => "KMSInternalException",
            ErrorCode::KmsInvalidMac => "KMSInvalidMacException",
            ErrorCode::KmsInvalidSignature => "KMSInvalidSignatureException",
            ErrorCode::KmsInvalidState => "KMSInvalidStateException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            ErrorCode::NotAuthorized => "NotAuthorizedException",
            ErrorCode::NotFound => "NotFoundException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::Tag => "TagException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::UnsupportedOperation => "UnsupportedOperationException",
            ErrorCode::Validation => "ValidationException",
        }
    }

    /// AWS sends `Message` (capital M) for AccessDeniedException, which is not in the KMS
    /// model, and lowercase `message` for the modeled exceptions (spec §7.1).
    pub fn message_member(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "Message",
            _ => "message",
        }
    }

    /// Server faults are 500; every client error, AccessDenied included, is 400 (spec §7.1).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::KmsInternal => 500,
            _ => 400,
        }
    }
}

/// An error as the client will see it. `message: None` means the wire error carries no message
/// member at all (AWS does this for InvalidCiphertextException).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsError {
    pub code: ErrorCode,
    pub message: Option<String>,
}

impl KmsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        KmsError {
            code,
            message: Some(message.into()),
        }
    }

    pub fn bare(code: ErrorCode) -> Self {
        KmsError {
            code,
            message: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::KmsInvalidState, message)
    }

    pub fn invalid_ciphertext() -> Self {
        Self::bare(ErrorCode::InvalidCiphertext)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedOperation, message)
    }

    pub fn dry_run() -> Self {
        Self::new(
            ErrorCode::DryRunOperation,
            "The request would have succeeded, but the DryRun option is set.",
        )
    }

    /// A server-side fault. The detail goes to the log, never to the client.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            ErrorCode::KmsInternal,
            "The request was rejected because an internal exception occurred. The request can be retried.",
        )
    }
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {}", self.code.as_str(), m),
            None => f.write_str(self.code.as_str()),
        }
    }
}

impl std::error::Error for KmsError {}

impl From<trent_store::StoreError> for KmsError {
    fn from(e: trent_store::StoreError) -> Self {
        KmsError::internal(e)
    }
}

impl From<trent_crypto::CryptoError> for KmsError {
    fn from(e: trent_crypto::CryptoError) -> Self {
        use trent_crypto::CryptoError as C;
        match e {
            C::InvalidCiphertext => KmsError::invalid_ciphertext(),
            // The crypto crate's text is KMS's: "Digest is invalid length for algorithm <alg>."
            C::InvalidDigestLength { .. } => KmsError::validation(e.to_string()),
            C::IncompatibleAlgorithm {
                key_spec,
                algorithm,
            } => KmsError::new(
                ErrorCode::InvalidKeyUsage,
                format!("Algorithm {algorithm} is incompatible with key spec {key_spec}."),
            ),
            C::UnsupportedMessageType {
                algorithm,
                message_type,
            } => KmsError::validation(format!(
                "MessageType {message_type} is not supported with signing algorithm {algorithm}."
            )),
            C::PlaintextTooLarge { max } => KmsError::validation(format!(
                "The plaintext is larger than the {max} bytes this key and algorithm can encrypt."
            )),
            // AWS answers an unusable peer public key with a ValidationException that has no
            // message.
            C::InvalidPublicKey => KmsError::bare(ErrorCode::Validation),
            C::Unsupported(what) => {
                KmsError::unsupported(format!("{what} is not supported by this version of Trent."))
            }
            C::NoPublicKey { key_spec } => KmsError::unsupported(format!(
                "KMS keys of key spec {key_spec} have no public key."
            )),
            C::UnknownName { kind, name } => {
                KmsError::validation(format!("{name} is not a valid {kind}."))
            }
            other => KmsError::internal(other),
        }
    }
}

pub type KmsResult<T> = Result<T, KmsError>;
