//! What the STS and IAM operations return, protocol-free: a typed error ([`IamError`], mapped
//! to the query protocol's XML error by the HTTP layer) and a small result tree ([`Xml`]) the
//! HTTP layer writes as the `<ActionResult>` element.

use crate::error::KmsError;
use trent_store::StoreError;

/// An element of a query-protocol result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Xml {
    /// `<name>text</name>`
    Text(&'static str, String),
    /// `<name>children…</name>`
    Node(&'static str, Vec<Xml>),
}

impl Xml {
    pub fn text(name: &'static str, value: impl Into<String>) -> Xml {
        Xml::Text(name, value.into())
    }

    /// A list: `<name><member>…</member>…</name>`.
    pub fn list(name: &'static str, members: Vec<Vec<Xml>>) -> Xml {
        Xml::Node(
            name,
            members
                .into_iter()
                .map(|m| Xml::Node("member", m))
                .collect(),
        )
    }

    /// A list of strings: `<name><member>text</member>…</name>`.
    pub fn strings(name: &'static str, members: impl IntoIterator<Item = String>) -> Xml {
        Xml::Node(
            name,
            members
                .into_iter()
                .map(|m| Xml::Text("member", m))
                .collect(),
        )
    }
}

/// An STS or IAM error: code, message, HTTP status, and whether the sender is at fault
/// (`<Type>Sender</Type>`) or the service (`Receiver`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl IamError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        IamError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn sender(&self) -> bool {
        self.status < 500
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationError", message)
    }

    /// AWS's wording for one failed member constraint.
    pub fn constraint(value: &str, member: &str, constraint: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
             constraint: {constraint}"
        ))
    }

    pub fn missing(member: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy \
             constraint: Member must not be null"
        ))
    }

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new(404, "NoSuchEntity", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(409, "EntityAlreadyExists", message)
    }

    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::new(409, "DeleteConflict", message)
    }

    pub fn malformed_policy(message: impl Into<String>) -> Self {
        Self::new(400, "MalformedPolicyDocument", message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(409, "LimitExceeded", message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    pub fn invalid_action(action: &str, version: &str) -> Self {
        Self::new(
            400,
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        )
    }

    pub fn internal() -> Self {
        Self::new(500, "InternalFailure", "An internal error occurred.")
    }
}

impl From<KmsError> for IamError {
    fn from(e: KmsError) -> Self {
        tracing::error!(error = %e, "STS/IAM request failed");
        IamError::internal()
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "STS/IAM store failure");
        IamError::internal()
    }
}

pub type IamResult<T> = Result<T, IamError>;
