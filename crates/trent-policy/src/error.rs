//! Typed parse and validation errors. Every statement-level error carries a [`Location`] so the
//! caller can build a `MalformedPolicyDocumentException` message that points at the statement.

use std::fmt;

use crate::model::PolicyKind;

/// Where in the document an error was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Zero-based statement index; `None` for document-level errors.
    pub statement: Option<usize>,
    /// The statement's Sid, when it has a string one.
    pub sid: Option<String>,
}

impl Location {
    pub(crate) fn document() -> Self {
        Self::default()
    }

    pub(crate) fn statement(index: usize, sid: Option<&str>) -> Self {
        Self {
            statement: Some(index),
            sid: sid.map(str::to_owned),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.statement, &self.sid) {
            (None, _) => f.write_str("policy document"),
            (Some(i), None) => write!(f, "statement {i}"),
            (Some(i), Some(sid)) => write!(f, "statement {i} (Sid {sid:?})"),
        }
    }
}

/// Which single-valued key family triggered KMS's `OverlyPermissiveCondition` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlyPermissiveTarget {
    /// `kms:EncryptionContext:<k>`
    EncryptionContext,
    /// `aws:RequestTag/<k>`
    RequestTag,
}

impl OverlyPermissiveTarget {
    /// The message KMS returns. For the encryption context AWS documents an exact variant; for
    /// tags only the bracketed template is documented, so it is filled in with "tag".
    pub fn message(self) -> &'static str {
        match self {
            Self::EncryptionContext => {
                "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
            }
            Self::RequestTag => {
                "OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues."
            }
        }
    }
}

/// What a condition value failed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedValue {
    Number,
    Date,
    IpAddress,
    Base64,
    Boolean,
}

impl fmt::Display for ExpectedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Number => "expected an integer or decimal number",
            Self::Date => "expected an ISO-8601 date or epoch seconds",
            Self::IpAddress => "expected an IP address or CIDR block",
            Self::Base64 => "expected base64",
            Self::Boolean => "expected true or false",
        })
    }
}

/// Why a policy document was rejected.
///
/// Except for [`PolicyError::TooLarge`] (which KMS reports as `LimitExceededException`), every
/// variant maps to `MalformedPolicyDocumentException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("the policy document is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },

    #[error(
        "the policy document contains a character that is not allowed ({ch:?} at byte {offset}); allowed are TAB, LF, CR and U+0020-U+00FF"
    )]
    InvalidCharacter { offset: usize, ch: char },

    #[error("the policy document is not valid JSON: {message}")]
    Syntax { message: String },

    #[error("{location}: duplicate key {key:?} in {element}")]
    DuplicateKey {
        location: Location,
        element: String,
        key: String,
    },

    #[error("{location}: unknown element {element:?}")]
    UnknownElement { location: Location, element: String },

    #[error("{location}: missing required element {element}")]
    MissingElement {
        location: Location,
        element: &'static str,
    },

    #[error("{location}: {kind} statements cannot contain {element}")]
    ForbiddenElement {
        location: Location,
        element: &'static str,
        kind: PolicyKind,
    },

    #[error("{location}: {first} and {second} cannot appear in the same statement")]
    ConflictingElements {
        location: Location,
        first: &'static str,
        second: &'static str,
    },

    #[error("{location}: {element} must be {expected}")]
    InvalidType {
        location: Location,
        element: String,
        expected: &'static str,
    },

    #[error("unsupported policy Version {version:?} (expected \"2012-10-17\" or \"2008-10-17\")")]
    InvalidVersion { version: String },

    #[error("{location}: invalid Effect {effect:?} (must be exactly \"Allow\" or \"Deny\")")]
    InvalidEffect { location: Location, effect: String },

    /// Display is KMS's own text; `location`/`principal` say which entry was at fault.
    #[error("Policy contains a statement with one or more invalid principals.")]
    InvalidPrincipal {
        location: Location,
        element: &'static str,
        principal: String,
    },

    #[error("{location}: invalid action {action:?}")]
    InvalidAction { location: Location, action: String },

    #[error("{location}: invalid resource {resource:?} (must be \"*\" or an ARN)")]
    InvalidResource {
        location: Location,
        resource: String,
    },

    #[error("{location}: invalid Sid {sid:?}")]
    InvalidSid { location: Location, sid: String },

    #[error("{location}: duplicate Sid {sid:?}")]
    DuplicateSid { location: Location, sid: String },

    #[error("{location}: unknown condition operator {operator:?}")]
    UnknownConditionOperator {
        location: Location,
        operator: String,
    },

    #[error("{location}: invalid value {value:?} for {operator} on {key}: {reason}")]
    InvalidConditionValue {
        location: Location,
        operator: String,
        key: String,
        value: String,
        reason: ExpectedValue,
    },

    /// Display is KMS's exact text.
    #[error("{}", target.message())]
    OverlyPermissiveCondition {
        location: Location,
        operator: String,
        key: String,
        target: OverlyPermissiveTarget,
    },
}

impl PolicyError {
    /// The statement the error points at, if it is statement-level.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::TooLarge { .. }
            | Self::InvalidCharacter { .. }
            | Self::Syntax { .. }
            | Self::InvalidVersion { .. } => None,
            Self::DuplicateKey { location, .. }
            | Self::UnknownElement { location, .. }
            | Self::MissingElement { location, .. }
            | Self::ForbiddenElement { location, .. }
            | Self::ConflictingElements { location, .. }
            | Self::InvalidType { location, .. }
            | Self::InvalidEffect { location, .. }
            | Self::InvalidPrincipal { location, .. }
            | Self::InvalidAction { location, .. }
            | Self::InvalidResource { location, .. }
            | Self::InvalidSid { location, .. }
            | Self::DuplicateSid { location, .. }
            | Self::UnknownConditionOperator { location, .. }
            | Self::InvalidConditionValue { location, .. }
            | Self::OverlyPermissiveCondition { location, .. } => Some(location),
        }
    }

    /// True for the size error, which KMS reports as `LimitExceededException` rather than
    /// `MalformedPolicyDocumentException`.
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }
}
