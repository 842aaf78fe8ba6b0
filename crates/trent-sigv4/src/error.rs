//! Verification failures, each mapped to the error code and message AWS itself returns.
//!
//! The `Display` text of every variant *is* the AWS message, so `aws_message()` is just
//! `to_string()`: one source of truth, and logs show what the client saw. The wording comes from
//! responses recorded against real AWS JSON-protocol services (DynamoDB/Kinesis emulators that
//! replay them) and AWS's SigV4 troubleshooting guide; KMS uses the same front-end.

/// Why a request's SigV4 authentication was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header, or one that is not an `AWS4-*` scheme at all.
    #[error("Missing Authentication Token")]
    MissingAuthentication,

    /// The header is an AWS4 one but is structurally incomplete. The payload is the full AWS
    /// message (e.g. "Authorization header requires 'Signature' parameter. Authorization=...").
    #[error("{0}")]
    IncompleteSignature(String),

    /// `AWS4-*` but not `AWS4-HMAC-SHA256` (e.g. SigV4a's `AWS4-ECDSA-P256-SHA256`).
    #[error("Unsupported AWS 'algorithm': '{0}' (only AWS4-HMAC-SHA256 for now).")]
    UnsupportedAlgorithm(String),

    /// `X-Amz-Date` (or `Date`) is not a timestamp we can read.
    #[error(
        "Date must be in ISO-8601 'basic format'. Got '{0}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )]
    MalformedDate(String),

    /// `host` is not among the signed headers; AWS refuses such signatures because they could be
    /// replayed against another endpoint.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// The credential scope names the wrong region, service or terminator. The payload is the
    /// AWS message; several problems are joined with a space as AWS does.
    #[error("{0}")]
    InvalidCredentialScope(String),

    /// The scope date is not the date part of the request timestamp.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{request_date}', from '{amz_date}'."
    )]
    ScopeDateMismatch {
        scope_date: String,
        request_date: String,
        amz_date: String,
    },

    /// The access key id is not known. Returned by [`crate::verify_with`] or by the caller when
    /// its own (async) lookup fails.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,

    /// The request time is more than the allowed skew before `now`.
    #[error("Signature expired: {request_time} is now earlier than {earliest} ({now} - 15 min.)")]
    Expired {
        request_time: String,
        earliest: String,
        now: String,
    },

    /// The request time is more than the allowed skew after `now`.
    #[error(
        "Signature not yet current: {request_time} is still later than {latest} ({now} + 15 min.)"
    )]
    NotYetCurrent {
        request_time: String,
        latest: String,
        now: String,
    },

    /// The signature (or a declared `x-amz-content-sha256`) does not match what we compute.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
}

impl SigV4Error {
    /// The AWS error code (`__type`) for this failure.
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::MissingAuthentication => "MissingAuthenticationTokenException",
            Self::IncompleteSignature(_)
            | Self::UnsupportedAlgorithm(_)
            | Self::MalformedDate(_) => "IncompleteSignatureException",
            Self::UnknownAccessKey => "UnrecognizedClientException",
            Self::HostNotSigned
            | Self::InvalidCredentialScope(_)
            | Self::ScopeDateMismatch { .. }
            | Self::Expired { .. }
            | Self::NotYetCurrent { .. }
            | Self::SignatureMismatch => "InvalidSignatureException",
        }
    }

    /// The AWS error message for this failure (identical to `Display`).
    pub fn aws_message(&self) -> String {
        self.to_string()
    }
}
