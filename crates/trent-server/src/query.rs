//! The AWS query protocol (STS, IAM): form-encoded `Action=…&Version=…` requests, XML responses
//! `<ActionResponse xmlns="…"><ActionResult>…</ActionResult><ResponseMetadata>…` and XML errors
//! `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>…`.
//! The one place STS/IAM errors become wire responses.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use trent_kms::iam::{IamError, Params, QueryService, Xml};
use trent_sigv4::SigV4Error;

use crate::auth::AuthError;
use crate::render::WireError;

const CONTENT_TYPE: &str = "text/xml";

pub fn namespace(service: QueryService) -> &'static str {
    match service {
        QueryService::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        QueryService::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
    }
}

/// The parameters of a query request: the form body, then the URL's query string.
pub fn params(query: Option<&str>, body: &[u8]) -> Params {
    let mut map = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        map.insert(k.into_owned(), v.into_owned());
    }
    for (k, v) in form_urlencoded::parse(body) {
        map.insert(k.into_owned(), v.into_owned());
    }
    Params(map)
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn write(out: &mut String, node: &Xml) {
    match node {
        Xml::Text(name, value) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(out, value);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Xml::Node(name, children) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for c in children {
                write(out, c);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

fn response(request_id: &str, status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

/// Renders a successful result (an action without result members gets no `Result` element,
/// as AWS does for e.g. DeleteUser).
pub fn ok(service: QueryService, action: &str, request_id: &str, result: &[Xml]) -> Response {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<{action}Response xmlns=\"{}\">",
        namespace(service)
    ));
    if !result.is_empty() {
        out.push_str(&format!("<{action}Result>"));
        for node in result {
            write(&mut out, node);
        }
        out.push_str(&format!("</{action}Result>"));
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(&mut out, request_id);
    out.push_str(&format!(
        "</RequestId></ResponseMetadata></{action}Response>"
    ));
    response(request_id, StatusCode::OK, out)
}

/// Renders an error in the query protocol's shape.
pub fn error(service: QueryService, request_id: &str, e: &WireError) -> Response {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<ErrorResponse xmlns=\"{}\">", namespace(service)));
    out.push_str("<Error><Type>");
    out.push_str(if e.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    });
    out.push_str("</Type><Code>");
    escape(&mut out, e.code);
    out.push_str("</Code><Message>");
    escape(&mut out, e.message.as_deref().unwrap_or_default());
    out.push_str("</Message></Error><RequestId>");
    escape(&mut out, request_id);
    out.push_str("</RequestId></ErrorResponse>");
    response(request_id, e.status, out)
}

/// An STS/IAM error as the HTTP layer carries it.
pub fn wire_error(e: IamError) -> WireError {
    WireError::new(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.code,
        Some(e.message),
    )
}

/// Authentication failures with the query protocol's codes.
pub fn auth_error(e: &AuthError) -> WireError {
    let (status, code, message) = match e {
        AuthError::UnservedService(service) => return crate::render::unserved_service(service),
        AuthError::ExpiredToken => (
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "The security token included in the request is expired".to_string(),
        ),
        AuthError::InvalidToken | AuthError::SigV4(SigV4Error::UnknownAccessKey) => (
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".to_string(),
        ),
        AuthError::SigV4(SigV4Error::SignatureMismatch) => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            SigV4Error::SignatureMismatch.aws_message(),
        ),
        AuthError::SigV4(SigV4Error::MissingAuthentication) => (
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            SigV4Error::MissingAuthentication.aws_message(),
        ),
        AuthError::SigV4(other) => (
            StatusCode::BAD_REQUEST,
            other
                .aws_code()
                .strip_suffix("Exception")
                .unwrap_or(other.aws_code()),
            other.aws_message(),
        ),
    };
    WireError::new(status, code, Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_shapes() {
        let mut s = String::new();
        write(&mut s, &Xml::Node("A", vec![Xml::text("B", "<x & 'y'>")]));
        assert_eq!(s, "<A><B>&lt;x &amp; &apos;y&apos;&gt;</B></A>");
        let p = params(Some("Version=1"), b"Action=GetUser&UserName=a%2Bb+c");
        assert_eq!(p.get("UserName"), Some("a+b c"));
        assert_eq!(p.get("Version"), Some("1"));
    }
}
