//! The ceiling: what the HTTP stack Trent serves with (tokio, hyper 1, axum 0.8) does with no
//! service behind it. It reads each request's body and answers a fixed JSON reply that the AWS
//! SDK accepts as a response to Encrypt, Decrypt and GenerateDataKey, so that the load tool can
//! drive it with the same signed requests as Trent and report Trent's throughput as a share of
//! this one (`--compare-ceiling`):
//!
//! ```text
//! cargo run --release -p trent --example ceiling -- 127.0.0.1:4600 &
//! cargo run --release -p trent --example load -- --op decrypt \
//!     --endpoint http://127.0.0.1:4599 --compare-ceiling http://127.0.0.1:4600
//! ```

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response};

/// 212 bytes (about the size of a real Decrypt reply): a key ARN, a 32-byte plaintext, a short
/// ciphertext and the algorithm.
const REPLY: &str = concat!(
    r#"{"KeyId":"arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000","#,
    r#""Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","CiphertextBlob":"AQID","#,
    r#""EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#
);

async fn answer(request: Request<Body>) -> Response<Body> {
    // Read the body, as a real service must before it can answer.
    let _ = axum::body::to_bytes(request.into_body(), 1024 * 1024).await;
    let mut response = Response::new(Body::from(REPLY));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    );
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4600".to_string());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    if !listener.local_addr()?.ip().is_loopback() {
        eprintln!("ceiling: refusing {address}: loopback addresses only");
        std::process::exit(2);
    }
    eprintln!("ceiling: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, Router::new().fallback(answer)).await
}
