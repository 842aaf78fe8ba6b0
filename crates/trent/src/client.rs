//! A small signed client for Trent's own API (`/_trent/…`), used by `trent explain` and
//! `trent access`: endpoint, region and credentials found the way the `aws` CLI finds them,
//! requests SigV4-signed by the AWS SDK's signer (`aws-sigv4`, service `kms`), sent with hyper's
//! HTTP/1.1 client.
//!
//! Why hyper and not reqwest: hyper is already in the binary (axum serves with it), so the client
//! adds no new crates; `trent serve` speaks plain HTTP only, so a TLS stack would be dead weight.
//! `https://` endpoints (a TLS-terminating proxy) are refused with a clear message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {0:?}: expected http://host[:port]")]
    Endpoint(String),
    #[error("{0}: https endpoints are not supported (trent serve speaks plain HTTP); use http://")]
    Https(String),
    #[error(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile (shared credentials file {0})"
    )]
    NoCredentials(String),
    #[error("profile {profile:?} not found in {files}")]
    NoProfile { profile: String, files: String },
    #[error("cannot sign the request: {0}")]
    Sign(String),
    #[error("cannot reach {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error("HTTP error talking to {endpoint}: {message}")]
    Http { endpoint: String, message: String },
    #[error("{endpoint} did not answer within {0:?}", TIMEOUT)]
    Timeout { endpoint: String },
    #[error("the server's answer is not JSON: {0}")]
    Json(String),
    /// The server answered with an error.
    #[error("{code}: {message}")]
    Api { code: String, message: String },
    #[error("cannot start the client runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where the server is and who we are: the `aws` CLI's options and environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// The Trent server.
    #[arg(
        long,
        env = "TRENT_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4599"
    )]
    pub endpoint_url: String,
    /// Region of the request (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
    /// else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Profile of the shared credentials file (~/.aws/credentials) and config (~/.aws/config).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Clone)]
struct Creds {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> PathBuf {
    env("HOME").map(PathBuf::from).unwrap_or_default()
}

fn credentials_file() -> PathBuf {
    env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".aws").join("credentials"))
}

fn config_file() -> PathBuf {
    env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".aws").join("config"))
}

/// An INI file as the AWS tools read it: `[section]`, `key = value`, `#`/`;` comments.
fn read_ini(path: &PathBuf) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return out;
    };
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            out.entry(section.clone()).or_default();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// The profile's section of the config file (`[default]` or `[profile NAME]`).
fn config_section(profile: &str) -> HashMap<String, String> {
    let mut config = read_ini(&config_file());
    let name = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    config.remove(&name).unwrap_or_default()
}

fn profile_credentials(profile: &str) -> Result<Creds, ClientError> {
    let mut files = read_ini(&credentials_file());
    let section = files
        .remove(profile)
        .unwrap_or_default()
        .into_iter()
        .chain(config_section(profile))
        .collect::<HashMap<_, _>>();
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(ak), Some(sk)) => Ok(Creds {
            access_key_id: ak.clone(),
            secret_access_key: sk.clone(),
            session_token: section.get("aws_session_token").cloned(),
        }),
        _ => Err(ClientError::NoProfile {
            profile: profile.to_string(),
            files: format!(
                "{} or {}",
                credentials_file().display(),
                config_file().display()
            ),
        }),
    }
}

/// `--profile`, else the environment's keys, else `AWS_PROFILE` (or `default`) from the files.
fn credentials(args: &ConnectArgs) -> Result<Creds, ClientError> {
    if let Some(profile) = &args.profile {
        return profile_credentials(profile);
    }
    if let (Some(ak), Some(sk)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Creds {
            access_key_id: ak,
            secret_access_key: sk,
            session_token: env("AWS_SESSION_TOKEN"),
        });
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    profile_credentials(&profile)
        .map_err(|_| ClientError::NoCredentials(credentials_file().display().to_string()))
}

fn region(args: &ConnectArgs) -> String {
    args.region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| {
            let profile = args
                .profile
                .clone()
                .or_else(|| env("AWS_PROFILE"))
                .unwrap_or_else(|| "default".into());
            config_section(&profile).get("region").cloned()
        })
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// A connection target and identity, ready to sign requests.
pub struct Client {
    endpoint: String,
    host: String,
    authority: String,
    region: String,
    creds: Creds,
}

impl Client {
    pub fn new(args: &ConnectArgs) -> Result<Client, ClientError> {
        let endpoint = args.endpoint_url.trim_end_matches('/').to_string();
        if endpoint.starts_with("https://") {
            return Err(ClientError::Https(endpoint));
        }
        let authority = endpoint
            .strip_prefix("http://")
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| ClientError::Endpoint(endpoint.clone()))?
            .to_string();
        let host = if authority.contains(':') {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        Ok(Client {
            endpoint,
            host,
            authority,
            region: region(args),
            creds: credentials(args)?,
        })
    }

    /// Sends a signed request to `path` and returns the JSON answer, or the server's error.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        let body = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| ClientError::Json(e.to_string()))?,
            None => Vec::new(),
        };
        let request = self.signed(method, path, body)?;
        let endpoint = self.endpoint.clone();
        let (status, bytes) = runtime.block_on(async {
            tokio::time::timeout(TIMEOUT, self.send(request))
                .await
                .map_err(|_| ClientError::Timeout {
                    endpoint: endpoint.clone(),
                })?
        })?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Json(e.to_string()))?
        };
        if status.is_success() {
            return Ok(value);
        }
        let code = value
            .get("__type")
            .and_then(Value::as_str)
            .unwrap_or("HTTP error")
            .to_string();
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP status {status}"));
        Err(ClientError::Api { code, message })
    }

    fn signed(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<hyper::Request<Full<Bytes>>, ClientError> {
        let uri = format!("{}{path}", self.endpoint);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(&uri)
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("trent-cli/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| ClientError::Sign(e.to_string()))?;
        let identity = Credentials::new(
            &self.creds.access_key_id,
            &self.creds.secret_access_key,
            self.creds.session_token.clone(),
            None,
            "trent-cli",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ClientError::Sign(e.to_string()))?
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            method,
            uri.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| ClientError::Sign(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| ClientError::Sign(e.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }

    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(hyper::StatusCode, Bytes), ClientError> {
        let http = |e: hyper::Error| ClientError::Http {
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        };
        let stream = tokio::net::TcpStream::connect(&self.host)
            .await
            .map_err(|source| ClientError::Connect {
                endpoint: self.endpoint.clone(),
                source,
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(http)?;
        let driver = tokio::spawn(connection);
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(http)?
            .to_bytes();
        driver.abort();
        Ok((status, bytes))
    }
}
