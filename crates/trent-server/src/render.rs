//! The single wire renderer: every response, success or error, leaves through here with an
//! `x-amzn-RequestId` header and the JSON 1.1 content type.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};
use trent_kms::KmsError;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Set in audit mode on a response whose request authorization denied but Trent allowed.
pub const AUTHZ_OVERRIDE_HEADER: &str = "x-trent-authz-overridden";

/// An error as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: StatusCode,
    pub code: &'static str,
    /// The member name for the message (`message`, or `Message` for AccessDenied).
    pub message_member: &'static str,
    pub message: Option<String>,
}

impl WireError {
    pub fn new(status: StatusCode, code: &'static str, message: Option<String>) -> Self {
        WireError {
            status,
            code,
            message_member: "message",
            message,
        }
    }

    pub fn unknown_operation() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnknownOperationException", None)
    }

    /// The body did not arrive within the body read timeout.
    pub fn body_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            Some("The request body was not received in time.".to_string()),
        )
    }

    /// The request line and headers are larger than `--max-header-bytes`.
    pub fn headers_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "RequestHeaderFieldsTooLargeException",
            Some(format!(
                "The request line and headers exceed the maximum size of {limit} bytes."
            )),
        )
    }

    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            Some(format!(
                "Request body exceeds the maximum size of {} bytes.",
                crate::MAX_BODY_BYTES
            )),
        )
    }
}

impl From<KmsError> for WireError {
    fn from(e: KmsError) -> Self {
        WireError {
            status: StatusCode::from_u16(e.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.code.as_str(),
            message_member: e.code.message_member(),
            message: e.message,
        }
    }
}

impl From<crate::auth::AuthError> for WireError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match e {
            AuthError::SigV4(e) => e.into(),
            AuthError::ExpiredToken => WireError::new(
                StatusCode::BAD_REQUEST,
                "ExpiredTokenException",
                Some("The security token included in the request is expired".into()),
            ),
            AuthError::InvalidToken => WireError::new(
                StatusCode::BAD_REQUEST,
                "UnrecognizedClientException",
                Some("The security token included in the request is invalid.".into()),
            ),
            AuthError::UnservedService(service) => unserved_service(&service),
        }
    }
}

impl From<trent_sigv4::SigV4Error> for WireError {
    fn from(e: trent_sigv4::SigV4Error) -> Self {
        // AWS answers every authentication failure of a JSON 1.1 service with 400.
        WireError::new(StatusCode::BAD_REQUEST, e.aws_code(), Some(e.aws_message()))
    }
}

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn response(request_id: &str, status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

pub fn json_ok(request_id: &str, body: Vec<u8>) -> Response {
    response(request_id, StatusCode::OK, body)
}

pub fn error(request_id: &str, e: &WireError) -> Response {
    let mut body = Map::new();
    body.insert("__type".into(), Value::String(e.code.to_string()));
    if let Some(m) = &e.message {
        body.insert(e.message_member.into(), Value::String(m.clone()));
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    let mut r = response(request_id, e.status, bytes);
    if let Ok(v) = HeaderValue::from_str(e.code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

/// A request signed for a service Trent does not serve: say so, and how to send only KMS, STS
/// and IAM here. Trent's own error (AWS has no such case: each service has its endpoint).
pub fn unserved_service(service: &str) -> WireError {
    WireError::new(
        StatusCode::BAD_REQUEST,
        "UnsupportedServiceException",
        Some(format!(
            "Trent serves KMS, STS and IAM; this request is signed for the '{service}' service. \
             Point only those services at Trent (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_STS, \
             AWS_ENDPOINT_URL_IAM, or endpoint_url in their services section) instead of every \
             service (AWS_ENDPOINT_URL)."
        )),
    )
}
