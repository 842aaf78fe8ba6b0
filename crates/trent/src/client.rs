//! A small signed client for Trent's own API (`/_trent/…`), used by `trent explain` and
//! `trent access`. Endpoint, region and credentials are found the way the `aws` CLI finds them,
//! by the AWS SDK's config loader (`aws-config`): `--endpoint-url`, `AWS_ENDPOINT_URL_KMS`,
//! `AWS_ENDPOINT_URL`, a profile's `endpoint_url` or `services` section; `--profile` /
//! `AWS_PROFILE` from `~/.aws/config` and `~/.aws/credentials`, role profiles (`role_arn` +
//! `source_profile`) assumed through STS at the configured endpoint — Trent's own STS. Requests
//! are SigV4-signed by the SDK's signer (`aws-sigv4`, service `kms`) and sent with hyper's
//! HTTP/1.1 client, over TLS (rustls) for `https://` endpoints.
//!
//! Why not the SDK's whole default chains: they end in the EC2 instance metadata service, which
//! on a laptop means seconds of timeouts before "no credentials". Credentials come from the
//! environment or the profile, the region from `--region`, the environment or the profile.
//! Why hyper and not reqwest: hyper and rustls are already in the binary (the server uses
//! them), so the client adds no HTTP stack of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;
use aws_types::service_config::ServiceConfigKey;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_rustls::rustls::pki_types::ServerName;

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {0:?}: expected http://host[:port] or https://host[:port]")]
    Endpoint(String),
    #[error("no credentials: {0}")]
    NoCredentials(String),
    #[error("TLS to {endpoint}: {message}")]
    Tls { endpoint: String, message: String },
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
    /// The Trent server (default: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the profile's
    /// endpoint_url, else http://127.0.0.1:4599).
    #[arg(long, env = "TRENT_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Region of the request (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
    /// else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else default).
    #[arg(long)]
    pub profile: Option<String>,
    /// PEM file of the certificates to trust for an https endpoint (default: AWS_CA_BUNDLE,
    /// else the system's roots).
    #[arg(long, env = "AWS_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
}

/// Where `trent serve` listens by default.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4599";

/// What the SDK's config loader found: endpoint, region, credentials.
async fn load(args: &ConnectArgs) -> Result<(String, String, Credentials), ClientError> {
    let profile = args.profile.clone();
    let mut region_profile = ProfileFileRegionProvider::builder();
    let mut credentials_profile = ProfileFileCredentialsProvider::builder();
    if let Some(p) = &profile {
        region_profile = region_profile.profile_name(p);
        credentials_profile = credentials_profile.profile_name(p);
    }
    let region = RegionProviderChain::first_try(args.region.clone().map(Region::new))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(region_profile.build())
        .or_else(Region::from_static("us-east-1"))
        .region()
        .await
        .unwrap_or_else(|| Region::from_static("us-east-1"));
    let credentials_profile = credentials_profile
        .configure(&ProviderConfig::default().with_region(Some(region.clone())))
        .build();
    // As the aws CLI: --profile wins over keys in the environment; without it the environment
    // comes first, then AWS_PROFILE (or default).
    let provider = if profile.is_some() {
        SharedCredentialsProvider::new(credentials_profile)
    } else {
        SharedCredentialsProvider::new(
            CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("Profile", credentials_profile),
        )
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(provider.clone());
    if let Some(p) = &profile {
        loader = loader.profile_name(p);
    }
    let sdk = loader.load().await;
    let endpoint = args
        .endpoint_url
        .clone()
        .or_else(|| {
            let key = ServiceConfigKey::builder()
                .service_id("KMS")
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .ok()?;
            sdk.service_config()?.load_config(key)
        })
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let credentials = provider.provide_credentials().await.map_err(|e| {
        ClientError::NoCredentials(format!(
            "{}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile with \
                 credentials (--profile, AWS_PROFILE)",
            DisplayErrorContext(&e)
        ))
    })?;
    Ok((endpoint, region.to_string(), credentials))
}

/// The scheme, host and port of an endpoint URL.
struct Target {
    tls: bool,
    /// `host[:port]` as written (the Host header).
    authority: String,
    host: String,
    port: u16,
}

fn target(endpoint: &str) -> Result<Target, ClientError> {
    let bad = || ClientError::Endpoint(endpoint.to_string());
    let uri: hyper::Uri = endpoint.parse().map_err(|_| bad())?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad()),
    };
    let authority = uri.authority().ok_or_else(bad)?;
    // `host:port` with a port that is not a number parses; refuse it rather than use 80.
    let port_written = authority.as_str().len() > authority.host().len();
    if !matches!(uri.path(), "" | "/")
        || uri.query().is_some()
        || authority.host().is_empty()
        || (port_written && authority.port_u16().is_none())
    {
        return Err(bad());
    }
    Ok(Target {
        tls,
        authority: authority.as_str().to_string(),
        // An IPv6 literal comes bracketed (`[::1]`); the socket address wants it bare.
        host: authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
    })
}

/// A connection target and identity, ready to sign requests.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    endpoint: String,
    target: Target,
    region: String,
    credentials: Credentials,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Client {
    pub fn new(args: &ConnectArgs) -> Result<Client, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        let (endpoint, region, credentials) = runtime.block_on(load(args))?;
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let target = target(&endpoint)?;
        let tls = target
            .tls
            .then(|| tls_connector(args.ca_bundle.as_deref()))
            .transpose()
            .map_err(|message| ClientError::Tls {
                endpoint: endpoint.clone(),
                message,
            })?;
        Ok(Client {
            runtime,
            endpoint,
            target,
            region,
            credentials,
            tls,
        })
    }

    /// Sends a signed request to `path` and returns the JSON answer, or the server's error.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let body = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| ClientError::Json(e.to_string()))?,
            None => Vec::new(),
        };
        let request = self.signed(method, path, body)?;
        let endpoint = self.endpoint.clone();
        let (status, bytes) = self.runtime.block_on(async {
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
            .header("host", &self.target.authority)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("trent-cli/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| ClientError::Sign(e.to_string()))?;
        let identity = self.credentials.clone().into();
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

    /// An HTTP/1.1 connection over `stream` (plain TCP or TLS), driven by a task of its own.
    async fn handshake<S>(
        stream: S,
    ) -> Result<
        (
            hyper::client::conn::http1::SendRequest<Full<Bytes>>,
            tokio::task::JoinHandle<Result<(), hyper::Error>>,
        ),
        hyper::Error,
    >
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        Ok((
            sender,
            tokio::spawn(async move { connection.await.map(|_| ()) }),
        ))
    }

    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(hyper::StatusCode, Bytes), ClientError> {
        let http = |e: hyper::Error| ClientError::Http {
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        };
        let stream = tokio::net::TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .map_err(|source| ClientError::Connect {
                endpoint: self.endpoint.clone(),
                source,
            })?;
        let (mut sender, connection) = match &self.tls {
            None => Self::handshake(stream).await.map_err(http)?,
            Some(tls) => {
                let name = ServerName::try_from(self.target.host.clone()).map_err(|e| {
                    ClientError::Tls {
                        endpoint: self.endpoint.clone(),
                        message: e.to_string(),
                    }
                })?;
                let stream = tls
                    .connect(name, stream)
                    .await
                    .map_err(|e| ClientError::Tls {
                        endpoint: self.endpoint.clone(),
                        message: e.to_string(),
                    })?;
                Self::handshake(stream).await.map_err(http)?
            }
        };
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(http)?
            .to_bytes();
        connection.abort();
        Ok((status, bytes))
    }
}

/// A TLS client trusting `ca_bundle`'s certificates, or the system's roots.
fn tls_connector(ca_bundle: Option<&Path>) -> Result<tokio_rustls::TlsConnector, String> {
    let roots =
        trent_store::tls_roots::trusted_roots(ca_bundle).map_err(|why| match ca_bundle {
            Some(path) => format!("CA bundle {}: {why}", path.display()),
            None => format!("{why}; name the server's CA with --ca-bundle or AWS_CA_BUNDLE"),
        })?;
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn endpoints_are_scheme_host_and_port() {
        for (endpoint, tls, host, port) in [
            ("http://127.0.0.1:4599", false, "127.0.0.1", 4599),
            ("https://kms.internal", true, "kms.internal", 443),
            ("http://localhost", false, "localhost", 80),
            ("http://[::1]:4599", false, "::1", 4599),
            ("https://[::1]", true, "::1", 443),
        ] {
            let t = target(endpoint).unwrap();
            assert_eq!(
                (t.tls, t.host.as_str(), t.port),
                (tls, host, port),
                "{endpoint}"
            );
        }
        for bad in [
            "127.0.0.1:4599",
            "ftp://host",
            "http://host/path",
            "http://",
            "http://h:x",
        ] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }
}
