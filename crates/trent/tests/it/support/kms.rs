//! Helpers shared by the KMS integration tests: creating keys, reading back the whole observable
//! state of an account and region (to show that a rejected request changed nothing), and raw
//! HTTP requests, signed or not, for what the SDK will not send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{AliasListEntry, KeyMetadata, KeySpec, KeyUsageType, Tag};

/// The account of the development credentials.
pub const ACCOUNT: &str = "000000000000";

pub use super::{REGION, err};

/// A new symmetric key's metadata.
pub async fn new_key(kms: &Client) -> KeyMetadata {
    kms.create_key().send().await.unwrap().key_metadata.unwrap()
}

/// A new key of `spec` and `usage` (KMS names, e.g. `RSA_2048`, `SIGN_VERIFY`); its key ID.
pub async fn create_key_of(kms: &Client, spec: &str, usage: &str) -> String {
    kms.create_key()
        .key_spec(KeySpec::from(spec))
        .key_usage(KeyUsageType::from(usage))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey {spec} {usage}: {e:?}"))
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

pub fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
}

pub fn alias_arn(alias_name: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:{alias_name}")
}

pub fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().tag_key(k).tag_value(v).build().unwrap()
}

pub async fn describe(kms: &Client, key: &str) -> KeyMetadata {
    kms.describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
}

pub async fn encrypt(kms: &Client, key: &str, plaintext: &[u8]) -> Blob {
    kms.encrypt()
        .key_id(key)
        .plaintext(Blob::new(plaintext))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap()
}

/// Every key ID of the caller's account and region, following `NextMarker` with pages of `limit`.
pub async fn all_key_ids(kms: &Client, limit: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_keys()
            .limit(limit)
            .set_marker(marker.take())
            .send()
            .await
            .unwrap();
        out.extend(page.keys().iter().map(|k| k.key_id().unwrap().to_string()));
        match page.next_marker() {
            Some(m) => {
                assert!(page.truncated(), "NextMarker without Truncated");
                marker = Some(m.to_string());
            }
            None => {
                assert!(!page.truncated(), "Truncated without NextMarker");
                return out;
            }
        }
    }
}

/// Every alias (of one key, or all), following `NextMarker`.
pub async fn all_aliases(kms: &Client, key: Option<&str>, limit: i32) -> Vec<AliasListEntry> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_aliases()
            .set_key_id(key.map(str::to_string))
            .limit(limit)
            .set_marker(marker.take())
            .send()
            .await
            .unwrap();
        out.extend(page.aliases().iter().cloned());
        match page.next_marker() {
            Some(m) => {
                assert!(page.truncated(), "NextMarker without Truncated");
                marker = Some(m.to_string());
            }
            None => {
                assert!(!page.truncated(), "Truncated without NextMarker");
                return out;
            }
        }
    }
}

/// The aliases of AWS managed keys that ListAliases shows in every account and region, without
/// a target until the key is created (AWS's list).
pub const PREDEFINED_ALIASES: [&str; 14] = [
    "alias/aws/acm",
    "alias/aws/dynamodb",
    "alias/aws/ebs",
    "alias/aws/elasticfilesystem",
    "alias/aws/es",
    "alias/aws/glue",
    "alias/aws/kinesisvideo",
    "alias/aws/lambda",
    "alias/aws/rds",
    "alias/aws/redshift",
    "alias/aws/s3",
    "alias/aws/secretsmanager",
    "alias/aws/ssm",
    "alias/aws/xray",
];

/// [`all_aliases`] without the aliases of AWS managed keys (`alias/aws/…`).
pub async fn customer_aliases(kms: &Client, key: Option<&str>, limit: i32) -> Vec<AliasListEntry> {
    all_aliases(kms, key, limit)
        .await
        .into_iter()
        .filter(|a| !a.alias_name().unwrap_or_default().starts_with("alias/aws/"))
        .collect()
}

/// Every tag of a key, following `NextMarker`.
pub async fn all_tags(kms: &Client, key: &str, limit: i32) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_resource_tags()
            .key_id(key)
            .limit(limit)
            .set_marker(marker.take())
            .send()
            .await
            .unwrap();
        out.extend(page.tags().iter().cloned());
        match page.next_marker() {
            Some(m) => {
                assert!(page.truncated(), "NextMarker without Truncated");
                marker = Some(m.to_string());
            }
            None => {
                assert!(!page.truncated(), "Truncated without NextMarker");
                return out;
            }
        }
    }
}

/// One key as every read operation shows it.
#[derive(Debug, PartialEq)]
pub struct KeyView {
    pub metadata: KeyMetadata,
    pub tags: Vec<Tag>,
    pub policy: String,
    pub aliases: Vec<AliasListEntry>,
}

/// Everything a client can observe in one account and region.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub keys: Vec<KeyView>,
    pub aliases: Vec<AliasListEntry>,
}

pub async fn snapshot(kms: &Client) -> Snapshot {
    let mut keys = Vec::new();
    for id in all_key_ids(kms, 1000).await {
        keys.push(KeyView {
            metadata: describe(kms, &id).await,
            tags: all_tags(kms, &id, 50).await,
            policy: kms
                .get_key_policy()
                .key_id(&id)
                .send()
                .await
                .unwrap()
                .policy
                .unwrap(),
            aliases: all_aliases(kms, Some(&id), 100).await,
        });
    }
    Snapshot {
        keys,
        aliases: all_aliases(kms, None, 100).await,
    }
}

// ---- raw HTTP ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `__type` of an error body.
    pub fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn host_port(endpoint: &str) -> &str {
    endpoint.strip_prefix("http://").unwrap()
}

/// Sends one HTTP/1.1 request on a fresh connection and reads the whole response.
pub fn raw(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> RawResponse {
    let host = host_port(endpoint);
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {host}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before reading an oversized body: a failed write is
    // not the test's concern, the response is.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> RawResponse {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---- SDK requests rewritten on the way out ------------------------------------------------------

/// Changes an SDK request after serialization and before signing, so the server sees a
/// correctly signed request the SDK itself would never send.
#[derive(Debug, Default, Clone)]
pub struct Rewrite {
    /// Replaces `X-Amz-Target` (`Some("")` removes the header).
    pub target: Option<String>,
    /// Members merged into (or, with `null`, removed from) the JSON body's top-level object.
    pub patch: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces the body outright.
    pub body: Option<Vec<u8>>,
    /// Every response this client received, in order.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<RawResponse>>>,
}

impl Rewrite {
    /// The last response received.
    pub fn last(&self) -> RawResponse {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl aws_sdk_kms::config::Intercept for Rewrite {
    fn name(&self) -> &'static str {
        "Rewrite"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_kms::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_kms::config::RuntimeComponents,
        _: &mut aws_sdk_kms::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        match self.target.as_deref() {
            Some("") => {
                request.headers_mut().remove("x-amz-target");
            }
            Some(t) => {
                request.headers_mut().insert("x-amz-target", t.to_string());
            }
            None => {}
        }
        if let Some(body) = &self.body {
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = body.clone().into();
        }
        if let Some(patch) = &self.patch {
            let bytes = request.body().bytes().unwrap_or(b"{}");
            let mut body: serde_json::Value = serde_json::from_slice(bytes)?;
            let object = body.as_object_mut().ok_or("body is not a JSON object")?;
            for (k, v) in patch {
                if v.is_null() {
                    object.remove(k);
                } else {
                    object.insert(k.clone(), v.clone());
                }
            }
            let bytes = serde_json::to_vec(&body)?;
            request
                .headers_mut()
                .insert("content-length", bytes.len().to_string());
            *request.body_mut() = bytes.into();
        }
        Ok(())
    }

    // After deserialization the body has been read into memory (and is still there).
    fn read_after_deserialization(
        &self,
        context: &aws_sdk_kms::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_kms::config::RuntimeComponents,
        _: &mut aws_sdk_kms::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        self.seen.lock().unwrap().push(RawResponse {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: response.body().bytes().unwrap_or_default().to_vec(),
        });
        Ok(())
    }
}

/// A client with the development credentials, optional request rewriting, and no retries (a
/// 5xx answer is the answer under test, not something to retry).
pub fn client(server: &super::Server, rewrite: Option<Rewrite>) -> Client {
    client_as(server, "test", "test", REGION, rewrite)
}

pub fn client_as(
    server: &super::Server,
    access_key: &str,
    secret: &str,
    region: &str,
    rewrite: Option<Rewrite>,
) -> Client {
    client_at(&server.endpoint, access_key, secret, region, rewrite)
}

/// A client for any endpoint URL (a path in it is where requests go).
pub fn client_at(
    endpoint: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    rewrite: Option<Rewrite>,
) -> Client {
    let mut conf = super::sdk_config(endpoint, access_key, secret, region)
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled());
    if let Some(r) = rewrite {
        conf = conf.interceptor(r);
    }
    Client::from_conf(conf.build())
}

/// A rewrite that merges `patch` (a JSON object) into the request body.
pub fn patch(patch: serde_json::Value) -> Rewrite {
    Rewrite {
        patch: Some(patch.as_object().unwrap().clone()),
        ..Rewrite::default()
    }
}

// ---- errors --------------------------------------------------------------------------------------

/// The (code, message) of a call that must fail.
pub fn failure<T, E, R>(r: Result<T, aws_sdk_kms::error::SdkError<E, R>>) -> (String, String)
where
    T: std::fmt::Debug,
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => err(e),
    }
}

/// An expected (code, message) pair.
pub fn expected(code: &str, message: &str) -> (String, String) {
    (code.to_string(), message.to_string())
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
