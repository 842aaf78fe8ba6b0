//! Load tool for a KMS endpoint (a local `trent serve`): real SigV4-signed requests through the
//! AWS SDK for Rust, N concurrent tasks for a bounded duration, then ops, errors, req/s and
//! latency percentiles.
//!
//! ```text
//! target/release/trent serve --data-dir /tmp/trent-load &
//! cargo run --release -p trent --example load -- \
//!     --endpoint http://127.0.0.1:4599 --op encrypt --concurrency 64 --duration 10s
//! ```
//!
//! With `--compare-ceiling URL` it then sends the same requests to the ceiling server
//! (`--example ceiling`, the HTTP stack alone) for as long, and prints Trent's req/s as a share
//! of the ceiling's: the figure `docs/performance.md` tracks.
//!
//! Without `--key-id` it creates a key for the run and schedules its deletion (7 days) at the
//! end: symmetric for encrypt, decrypt and generate-data-key; ECC_NIST_P256 (SIGN_VERIFY) for
//! sign-ecdsa and verify; RSA_2048 (SIGN_VERIFY) for sign-rsa; HMAC_256 for generate-mac. Retries are disabled so that every failed request counts as an error; the exit
//! status is non-zero when any request failed (after the report). Only loopback endpoints are
//! accepted unless `--allow-non-loopback` is given.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec, KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
};
use clap::{Parser, ValueEnum};

/// The longest run the tool accepts.
const MAX_DURATION: Duration = Duration::from_secs(300);
/// Per-request limit; a request that takes longer counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// An error for the user: its Debug (what `main` returning Err prints) is its plain message.
struct Failure(String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Failure {}

fn fail(message: impl Into<String>) -> Box<dyn Error + Send + Sync> {
    Box::new(Failure(message.into()))
}

/// A one-line description of a failed SDK call: `Code: message` for a service error.
fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => format!(
            "{}: {}",
            se.err().code().unwrap_or("unknown service error"),
            se.err().message().unwrap_or("(no message)")
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    /// Encrypt `--size` random-ish bytes.
    Encrypt,
    /// Decrypt one ciphertext (of `--size` bytes) made before the run.
    Decrypt,
    /// GenerateDataKey with KeySpec AES_256.
    GenerateDataKey,
    /// Sign `--size` bytes (RAW) with ECDSA_SHA_256 and an ECC_NIST_P256 key.
    SignEcdsa,
    /// Sign `--size` bytes (RAW) with RSASSA_PSS_SHA_256 and an RSA_2048 key.
    SignRsa,
    /// Verify one ECDSA_SHA_256 signature (ECC_NIST_P256) of `--size` bytes made before the run.
    Verify,
    /// GenerateMac of `--size` bytes with HMAC_SHA_256 and an HMAC_256 key.
    GenerateMac,
}

impl Op {
    /// Key spec and usage of the key a run creates; `None` for the symmetric operations.
    fn key_kind(self) -> Option<(KeySpec, KeyUsageType)> {
        match self {
            Op::Encrypt | Op::Decrypt | Op::GenerateDataKey => None,
            Op::SignEcdsa | Op::Verify => Some((KeySpec::EccNistP256, KeyUsageType::SignVerify)),
            Op::SignRsa => Some((KeySpec::Rsa2048, KeyUsageType::SignVerify)),
            Op::GenerateMac => Some((KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)),
        }
    }

    fn signing_algorithm(self) -> SigningAlgorithmSpec {
        match self {
            Op::SignRsa => SigningAlgorithmSpec::RsassaPssSha256,
            _ => SigningAlgorithmSpec::EcdsaSha256,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "Concurrent signed KMS requests against a local endpoint for a fixed duration"
)]
struct Args {
    /// KMS endpoint (loopback only unless --allow-non-loopback).
    #[arg(long, default_value = "http://127.0.0.1:4599")]
    endpoint: String,
    /// Operation to run.
    #[arg(long, value_enum, default_value_t = Op::Encrypt)]
    op: Op,
    /// Number of concurrent request loops (1-4096).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// How long to send requests: 10s, 500ms, 2m, or seconds (at most 300s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Existing symmetric key (id, ARN or alias). Default: create one for the run.
    #[arg(long)]
    key_id: Option<String>,
    /// Plaintext (encrypt, decrypt) or message (sign-*, verify, generate-mac) size in bytes
    /// (1-4096).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=4096))]
    size: u32,
    /// Access key id.
    #[arg(long, default_value = "test")]
    access_key: String,
    /// Secret access key.
    #[arg(long, default_value = "test")]
    secret_key: String,
    /// Region used for signing.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Client runtime worker threads (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Accept an endpoint that is not on this machine.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Also drive the ceiling server (`--example ceiling`) at this URL with the same requests,
    /// right after the run against --endpoint, and print Trent's req/s as a share of the
    /// ceiling's (encrypt, decrypt and generate-data-key only).
    #[arg(long, value_name = "URL")]
    compare_ceiling: Option<String>,
    /// Instead of sending requests, write a wrk script that replays one SigV4-signed request of
    /// --op (signed now: valid for Trent's 5-minute clock-skew window) and exit: the client
    /// then costs the server's machine almost nothing (encrypt, decrypt, generate-data-key).
    #[arg(long, value_name = "PATH")]
    wrk_script: Option<std::path::PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (examples: 10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration unit {unit:?} (use ms, s or m)")),
    };
    if !(seconds > 0.0 && seconds <= MAX_DURATION.as_secs_f64()) {
        return Err(format!(
            "duration must be more than 0 and at most {} s",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The host of an `http(s)://host[:port][/...]` endpoint, without IPv6 brackets.
fn endpoint_host(endpoint: &str) -> Option<&str> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What one request loop saw.
#[derive(Default)]
struct TaskStats {
    /// Latency of each successful request, in microseconds.
    latencies_us: Vec<u32>,
    /// Failed requests by error code.
    errors: BTreeMap<String, u64>,
    /// The first error in full, for the report.
    first_error: Option<String>,
}

impl TaskStats {
    fn record_error<E, R>(&mut self, e: &SdkError<E, R>)
    where
        E: ProvideErrorMetadata + Error + 'static,
        R: std::fmt::Debug,
    {
        let kind = match e {
            SdkError::ServiceError(se) => se.err().code().unwrap_or("unknown service error"),
            SdkError::TimeoutError(_) => "timeout",
            SdkError::DispatchFailure(_) => "dispatch failure",
            SdkError::ResponseError(_) => "response error",
            SdkError::ConstructionFailure(_) => "construction failure",
            _ => "other",
        };
        *self.errors.entry(kind.to_string()).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(describe(e));
        }
    }
}

/// The request a loop repeats.
#[derive(Clone)]
enum Request {
    Encrypt {
        key_id: String,
        plaintext: Blob,
    },
    Decrypt {
        ciphertext: Blob,
    },
    GenerateDataKey {
        key_id: String,
    },
    Sign {
        key_id: String,
        message: Blob,
        algorithm: SigningAlgorithmSpec,
    },
    Verify {
        key_id: String,
        message: Blob,
        signature: Blob,
    },
    GenerateMac {
        key_id: String,
        message: Blob,
    },
}

impl Request {
    /// Sends the request once; Ok(()) only for a complete, well-formed answer.
    async fn send(&self, kms: &aws_sdk_kms::Client, stats: &mut TaskStats) -> bool {
        match self {
            Request::Encrypt { key_id, plaintext } => {
                match kms
                    .encrypt()
                    .key_id(key_id)
                    .plaintext(plaintext.clone())
                    .send()
                    .await
                {
                    Ok(out) if out.ciphertext_blob().is_some() => true,
                    Ok(_) => {
                        stats.record_missing("Encrypt returned no CiphertextBlob");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
            Request::Decrypt { ciphertext } => {
                match kms
                    .decrypt()
                    .ciphertext_blob(ciphertext.clone())
                    .send()
                    .await
                {
                    Ok(out) if out.plaintext().is_some() => true,
                    Ok(_) => {
                        stats.record_missing("Decrypt returned no Plaintext");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
            Request::GenerateDataKey { key_id } => {
                match kms
                    .generate_data_key()
                    .key_id(key_id)
                    .key_spec(DataKeySpec::Aes256)
                    .send()
                    .await
                {
                    Ok(out) if out.plaintext().is_some_and(|p| p.as_ref().len() == 32) => true,
                    Ok(_) => {
                        stats.record_missing("GenerateDataKey returned no 32-byte Plaintext");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
            Request::Sign {
                key_id,
                message,
                algorithm,
            } => {
                match kms
                    .sign()
                    .key_id(key_id)
                    .message(message.clone())
                    .message_type(MessageType::Raw)
                    .signing_algorithm(algorithm.clone())
                    .send()
                    .await
                {
                    Ok(out) if out.signature().is_some() => true,
                    Ok(_) => {
                        stats.record_missing("Sign returned no Signature");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
            Request::Verify {
                key_id,
                message,
                signature,
            } => {
                match kms
                    .verify()
                    .key_id(key_id)
                    .message(message.clone())
                    .signature(signature.clone())
                    .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                    .send()
                    .await
                {
                    Ok(out) if out.signature_valid() => true,
                    Ok(_) => {
                        stats.record_missing("Verify returned SignatureValid false");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
            Request::GenerateMac { key_id, message } => {
                match kms
                    .generate_mac()
                    .key_id(key_id)
                    .message(message.clone())
                    .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                    .send()
                    .await
                {
                    Ok(out) if out.mac().is_some_and(|m| m.as_ref().len() == 32) => true,
                    Ok(_) => {
                        stats.record_missing("GenerateMac returned no 32-byte Mac");
                        false
                    }
                    Err(e) => {
                        stats.record_error(&e);
                        false
                    }
                }
            }
        }
    }
}

impl TaskStats {
    fn record_missing(&mut self, what: &str) {
        *self
            .errors
            .entry("malformed response".to_string())
            .or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what.to_string());
        }
    }
}

/// Repeats `request` until `deadline`, one at a time.
async fn request_loop(
    kms: aws_sdk_kms::Client,
    request: Arc<Request>,
    deadline: Instant,
) -> TaskStats {
    let mut stats = TaskStats::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        if request.send(&kms, &mut stats).await {
            let us = started.elapsed().as_micros();
            stats
                .latencies_us
                .push(u32::try_from(us).unwrap_or(u32::MAX));
        }
    }
    stats
}

/// Nearest-rank percentile of sorted values, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[index]) / 1000.0
}

fn client(args: &Args, endpoint: &str) -> aws_sdk_kms::Client {
    let credentials = Credentials::new(&args.access_key, &args.secret_key, None, None, "load");
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(args.region.clone()))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(REQUEST_TIMEOUT)
                .build(),
        )
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// Plaintext of `size` bytes: every byte value in turn.
fn plaintext(size: u32) -> Vec<u8> {
    (0..size).map(|i| (i % 256) as u8).collect()
}

/// Checks the symmetric key with one Encrypt/Decrypt round trip and builds the request.
async fn symmetric_request(
    kms: &aws_sdk_kms::Client,
    args: &Args,
    key_id: &str,
    plain: Vec<u8>,
) -> BoxResult<Request> {
    let encrypted = kms
        .encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(plain.clone()))
        .send()
        .await
        .map_err(|e| {
            fail(format!(
                "Encrypt with key {key_id} failed: {}",
                describe(&e)
            ))
        })?;
    let ciphertext = encrypted
        .ciphertext_blob()
        .ok_or_else(|| fail("Encrypt returned no CiphertextBlob"))?
        .clone();
    let decrypted = kms
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .map_err(|e| fail(format!("Decrypt failed: {}", describe(&e))))?;
    if decrypted.plaintext().map(|p| p.as_ref()) != Some(plain.as_slice()) {
        return Err(fail(
            "Decrypt did not return the plaintext that was encrypted",
        ));
    }

    Ok(match args.op {
        Op::Decrypt => Request::Decrypt { ciphertext },
        Op::GenerateDataKey => Request::GenerateDataKey {
            key_id: key_id.to_string(),
        },
        _ => Request::Encrypt {
            key_id: key_id.to_string(),
            plaintext: Blob::new(plain),
        },
    })
}

/// Checks a signing or HMAC key with one Sign/Verify or GenerateMac/VerifyMac round trip and
/// builds the request.
async fn asymmetric_request(
    kms: &aws_sdk_kms::Client,
    op: Op,
    key_id: &str,
    plain: Vec<u8>,
) -> BoxResult<Request> {
    let message = Blob::new(plain);
    if op == Op::GenerateMac {
        let mac = kms
            .generate_mac()
            .key_id(key_id)
            .message(message.clone())
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .map_err(|e| {
                fail(format!(
                    "GenerateMac with key {key_id} failed: {}",
                    describe(&e)
                ))
            })?;
        let mac = mac
            .mac()
            .ok_or_else(|| fail("GenerateMac returned no Mac"))?;
        kms.verify_mac()
            .key_id(key_id)
            .message(message.clone())
            .mac(mac.clone())
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .map_err(|e| fail(format!("VerifyMac failed: {}", describe(&e))))?;
        return Ok(Request::GenerateMac {
            key_id: key_id.to_string(),
            message,
        });
    }
    let algorithm = op.signing_algorithm();
    let signed = kms
        .sign()
        .key_id(key_id)
        .message(message.clone())
        .signing_algorithm(algorithm.clone())
        .send()
        .await
        .map_err(|e| fail(format!("Sign with key {key_id} failed: {}", describe(&e))))?;
    let signature = signed
        .signature()
        .ok_or_else(|| fail("Sign returned no Signature"))?
        .clone();
    kms.verify()
        .key_id(key_id)
        .message(message.clone())
        .signature(signature.clone())
        .signing_algorithm(algorithm.clone())
        .send()
        .await
        .map_err(|e| fail(format!("Verify failed: {}", describe(&e))))?;
    Ok(match op {
        Op::Verify => Request::Verify {
            key_id: key_id.to_string(),
            message,
            signature,
        },
        _ => Request::Sign {
            key_id: key_id.to_string(),
            message,
            algorithm,
        },
    })
}

/// The JSON 1.1 target and body of a symmetric request, as the SDK would send them.
fn wire_request(request: &Request) -> BoxResult<(&'static str, String)> {
    use base64::Engine;
    let b64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    Ok(match request {
        Request::Encrypt { key_id, plaintext } => (
            "Encrypt",
            serde_json::json!({"KeyId": key_id, "Plaintext": b64(plaintext)}).to_string(),
        ),
        Request::Decrypt { ciphertext } => (
            "Decrypt",
            serde_json::json!({"CiphertextBlob": b64(ciphertext)}).to_string(),
        ),
        Request::GenerateDataKey { key_id } => (
            "GenerateDataKey",
            serde_json::json!({"KeyId": key_id, "KeySpec": "AES_256"}).to_string(),
        ),
        _ => {
            return Err(fail(
                "--wrk-script is for encrypt, decrypt and generate-data-key",
            ));
        }
    })
}

/// A wrk script replaying `request`, SigV4-signed once with the tool's credentials.
fn write_wrk_script(args: &Args, request: &Request, path: &std::path::Path) -> BoxResult<()> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let (operation, body) = wire_request(request)?;
    let host = args
        .endpoint
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| fail("--endpoint is not an http(s):// URL"))?;
    let target = format!("TrentService.{operation}");
    let mut headers = vec![
        ("host".to_string(), host.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("x-amz-target".to_string(), target),
    ];
    let identity = Credentials::new(&args.access_key, &args.secret_key, None, None, "load").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&args.region)
        .name("kms")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let url = format!("{}/", args.endpoint.trim_end_matches('/'));
    let signable = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    let (signed, _) = instructions.into_parts();
    headers.extend(
        signed
            .into_iter()
            .map(|h| (h.name().to_string(), h.value().to_string())),
    );
    let lua = |s: &str| format!("{s:?}");
    let mut script =
        String::from("-- written by `--example load --wrk-script`\nwrk.method = \"POST\"\n");
    script.push_str(&format!("wrk.body = {}\n", lua(&body)));
    for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
        script.push_str(&format!("wrk.headers[{}] = {}\n", lua(name), lua(value)));
    }
    std::fs::write(path, script)?;
    Ok(())
}

/// What one timed run saw, across its request loops.
struct Measured {
    elapsed: f64,
    /// Latencies of the successful requests, sorted, in microseconds.
    latencies: Vec<u32>,
    errors: BTreeMap<String, u64>,
    first_error: Option<String>,
}

impl Measured {
    fn req_per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn print(&self, label: &str, args: &Args) {
        println!("== {label}");
        println!("op           {:?}", args.op);
        println!("concurrency  {}", args.concurrency);
        println!("elapsed      {:.2} s", self.elapsed);
        println!("ops          {}", self.latencies.len());
        println!("errors       {}", self.error_count());
        for (kind, n) in &self.errors {
            println!("  {kind:<24} {n}");
        }
        println!("req/s        {:.1}", self.req_per_s());
        println!(
            "latency ms   p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
            percentile_ms(&self.latencies, 50.0),
            percentile_ms(&self.latencies, 90.0),
            percentile_ms(&self.latencies, 99.0),
            percentile_ms(&self.latencies, 100.0),
        );
        if let Some(e) = &self.first_error {
            println!("first error  {e}");
        }
    }
}

/// `concurrency` loops repeating `request` against `kms` for `duration`.
async fn measure(
    kms: &aws_sdk_kms::Client,
    request: &Arc<Request>,
    concurrency: u32,
    duration: Duration,
) -> BoxResult<Measured> {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(request_loop(kms.clone(), request.clone(), deadline)))
        .collect();
    let mut m = Measured {
        elapsed: 0.0,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        first_error: None,
    };
    for task in tasks {
        let stats = task.await?;
        m.latencies.extend(stats.latencies_us);
        for (kind, n) in stats.errors {
            *m.errors.entry(kind).or_default() += n;
        }
        if m.first_error.is_none() {
            m.first_error = stats.first_error;
        }
    }
    m.elapsed = started.elapsed().as_secs_f64();
    m.latencies.sort_unstable();
    Ok(m)
}

async fn run(args: Args) -> BoxResult<()> {
    let kms = client(&args, &args.endpoint);
    if args.compare_ceiling.is_some() && args.op.key_kind().is_some() {
        return Err(fail(
            "--compare-ceiling is for encrypt, decrypt and generate-data-key: the ceiling's one \
             reply is an answer to those",
        ));
    }

    let (key_id, created) = match &args.key_id {
        Some(k) => (k.clone(), false),
        None => {
            let mut create = kms
                .create_key()
                .description("trent load tool (scheduled for deletion after the run)");
            if let Some((spec, usage)) = args.op.key_kind() {
                create = create.key_spec(spec).key_usage(usage);
            }
            let out = create
                .send()
                .await
                .map_err(|e| fail(format!("CreateKey failed: {}", describe(&e))))?;
            let id = out
                .key_metadata()
                .map(|m| m.key_id().to_string())
                .ok_or_else(|| fail("CreateKey returned no KeyMetadata"))?;
            (id, true)
        }
    };

    // One checked round trip before the run: a wrong endpoint or key fails here, not 64 times.
    let plain = plaintext(args.size);
    let request = Arc::new(match args.op.key_kind() {
        None => symmetric_request(&kms, &args, &key_id, plain).await?,
        Some(_) => asymmetric_request(&kms, args.op, &key_id, plain).await?,
    });

    if let Some(path) = &args.wrk_script {
        write_wrk_script(&args, &request, path)?;
        eprintln!(
            "load: wrote {} (one signed {:?}); run e.g. wrk -t1 -c64 -d10s -s {} {}",
            path.display(),
            args.op,
            path.display(),
            args.endpoint
        );
        return Ok(());
    }

    eprintln!(
        "load: {:?} on {} with key {key_id}{}, concurrency {}, {:.1} s{}",
        args.op,
        args.endpoint,
        if created { " (created)" } else { "" },
        args.concurrency,
        args.duration.as_secs_f64(),
        match args.op {
            Op::GenerateDataKey => String::new(),
            _ => format!(", {} byte plaintext", args.size),
        },
    );

    let trent = measure(&kms, &request, args.concurrency, args.duration).await?;
    trent.print(&format!("Trent at {}", args.endpoint), &args);
    let mut error_count = trent.error_count();
    if let Some(ceiling) = &args.compare_ceiling {
        let ceiling_kms = client(&args, ceiling);
        let c = measure(&ceiling_kms, &request, args.concurrency, args.duration).await?;
        c.print(&format!("ceiling at {ceiling}"), &args);
        error_count += c.error_count();
        println!(
            "== Trent / ceiling: {:.1} % of the ceiling's req/s ({:.1} / {:.1})",
            100.0 * trent.req_per_s() / c.req_per_s(),
            trent.req_per_s(),
            c.req_per_s()
        );
    }

    if created {
        match kms
            .schedule_key_deletion()
            .key_id(&key_id)
            .pending_window_in_days(7)
            .send()
            .await
        {
            Ok(_) => eprintln!("load: scheduled deletion of key {key_id}"),
            Err(e) => eprintln!(
                "load: could not schedule deletion of key {key_id}: {}",
                describe(&e)
            ),
        }
    }
    if error_count > 0 {
        return Err(fail(format!("{error_count} request(s) failed")));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let args = Args::parse();
    let host = endpoint_host(&args.endpoint).ok_or_else(|| {
        fail(format!(
            "--endpoint {:?} is not an http(s):// URL",
            args.endpoint
        ))
    })?;
    if !args.allow_non_loopback && !is_loopback(host) {
        return Err(fail(format!(
            "--endpoint host {host:?} is not a loopback address; this tool generates load: \
             pass --allow-non-loopback only for a server you run"
        )));
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    runtime.build()?.block_on(run(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("300s"), Ok(MAX_DURATION));
        assert!(parse_duration("301s").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn loopback_endpoints() {
        for ok in [
            "http://127.0.0.1:4599",
            "http://127.1.2.3",
            "http://localhost:4599/",
            "http://[::1]:4599",
            "https://user@127.0.0.1:1/x",
        ] {
            assert!(endpoint_host(ok).is_some_and(is_loopback), "{ok}");
        }
        for remote in [
            "http://10.0.0.1:4599",
            "http://kms.example.com",
            "http://[2001:db8::1]:80",
        ] {
            assert!(!endpoint_host(remote).is_some_and(is_loopback), "{remote}");
        }
        assert_eq!(endpoint_host("127.0.0.1:4599"), None);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&v, 50.0), 50.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&v, 100.0), 100.0);
        assert_eq!(percentile_ms(&[7000], 50.0), 7.0);
        assert!(percentile_ms(&[], 50.0).is_nan());
    }
}
