//! Builds the large data sets of issue 16's benchmarks in a running Trent, and measures what
//! only they show (`docs/performance.md`, "At scale"):
//!
//! ```text
//! # a key with 50,000 grants, one of them for the benchmark's grantee (Encrypt + Decrypt)
//! cargo run --release -p trent --example scale -- grants --count 50000 \
//!     --grantee arn:aws:iam::000000000000:user/granted
//! # 10,000 keys with 10 grants each; then Encrypt once with every key (the warm-up)
//! cargo run --release -p trent --example scale -- keys --count 10000 --grants-per-key 10
//! cargo run --release -p trent --example scale -- touch
//! # RSS of the server, and the time from its start to its first answered request
//! cargo run --release -p trent --example scale -- rss --pid <trent pid>
//! cargo run --release -p trent --example scale -- cold-start --bin target/release/trent \
//!     -- serve --data-dir /tmp/trent-scale
//! ```
//!
//! Requests are signed with `--access-key`/`--secret-key` (default `test`/`test`) through the
//! AWS SDK, `--concurrency` at a time, retries off: a failed request stops the run. Loopback
//! endpoints only.

use std::error::Error;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::GrantOperation;
use clap::{Parser, Subcommand};

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Debug, Parser)]
#[command(name = "scale", about = "Large data sets for Trent's benchmarks")]
struct Args {
    /// KMS endpoint (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:4599")]
    endpoint: String,
    #[arg(long, default_value = "test")]
    access_key: String,
    #[arg(long, default_value = "test")]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Requests in flight at once while building (1-256).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A new key with `--count` grants: `--count - 1` for other grantees (Decrypt), the last
    /// for `--grantee` (Encrypt and Decrypt). Prints the key ID.
    Grants {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=50_000))]
        count: u32,
        #[arg(long)]
        grantee: String,
    },
    /// `--count` new keys, each with `--grants-per-key` grants (Decrypt, other grantees).
    Keys {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        #[arg(long, default_value_t = 0)]
        grants_per_key: u32,
    },
    /// Encrypt once with every key of the account and region (paged ListKeys).
    Touch,
    /// Resident set size of a process, from /proc.
    Rss {
        #[arg(long)]
        pid: u32,
    },
    /// Starts `--bin` with the arguments after `--`, and reports when it first answered
    /// `GET /health` and a signed ListKeys; then stops it.
    ColdStart {
        #[arg(long)]
        bin: String,
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn client(args: &Args) -> BoxResult<aws_sdk_kms::Client> {
    let url: hyper::Uri = args.endpoint.parse()?;
    let loopback = url.host().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if !loopback {
        return Err(format!("{} is not a loopback endpoint", args.endpoint).into());
    }
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(args.region.clone()))
        .endpoint_url(&args.endpoint)
        .credentials_provider(Credentials::new(
            &args.access_key,
            &args.secret_key,
            None,
            None,
            "scale",
        ))
        .retry_config(RetryConfig::disabled())
        .build();
    Ok(aws_sdk_kms::Client::from_conf(config))
}

/// Runs `job(i)` for every `i < count`, `concurrency` at a time, printing progress; stops at
/// the first failure.
async fn for_each<F, Fut>(
    count: usize,
    concurrency: u32,
    what: &'static str,
    job: F,
) -> BoxResult<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = BoxResult<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, job) = (Arc::clone(&next), Arc::clone(&job));
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), Box<dyn Error + Send + Sync>>(());
                }
                job(i).await?;
                if (i + 1) % 5000 == 0 {
                    eprintln!("scale: {} {what}", i + 1);
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    eprintln!(
        "scale: {count} {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn sdk<E: Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_kms::error::SdkError<E, R>,
) -> Box<dyn Error + Send + Sync> {
    DisplayErrorContext(e).to_string().into()
}

async fn create_key(kms: &aws_sdk_kms::Client) -> BoxResult<String> {
    let out = kms.create_key().send().await.map_err(sdk)?;
    Ok(out
        .key_metadata
        .ok_or("CreateKey answered without KeyMetadata")?
        .key_id)
}

async fn grant(
    kms: &aws_sdk_kms::Client,
    key: &str,
    grantee: &str,
    operations: &[GrantOperation],
) -> BoxResult<()> {
    kms.create_grant()
        .key_id(key)
        .grantee_principal(grantee)
        .set_operations(Some(operations.to_vec()))
        .send()
        .await
        .map_err(sdk)?;
    Ok(())
}

fn other_grantee(i: usize) -> String {
    // Another account: Trent (like KMS) cannot check that its principals exist.
    format!(
        "arn:aws:iam::{:012}:role/other-{i}",
        100_000_000_000u64 + (i as u64 % 1000)
    )
}

async fn run(args: Args) -> BoxResult<()> {
    let kms = client(&args)?;
    match &args.command {
        Command::Grants { count, grantee } => {
            let key = create_key(&kms).await?;
            let others = *count as usize - 1;
            let (k, key_id) = (kms.clone(), key.clone());
            for_each(others, args.concurrency, "grants", move |i| {
                let (kms, key) = (k.clone(), key_id.clone());
                async move { grant(&kms, &key, &other_grantee(i), &[GrantOperation::Decrypt]).await }
            })
            .await?;
            grant(
                &kms,
                &key,
                grantee,
                &[GrantOperation::Encrypt, GrantOperation::Decrypt],
            )
            .await?;
            println!("{key}");
        }
        Command::Keys {
            count,
            grants_per_key,
        } => {
            let (k, per_key) = (kms.clone(), *grants_per_key as usize);
            for_each(*count as usize, args.concurrency, "keys", move |i| {
                let kms = k.clone();
                async move {
                    let key = create_key(&kms).await?;
                    for g in 0..per_key {
                        let grantee = other_grantee(i * per_key + g);
                        grant(&kms, &key, &grantee, &[GrantOperation::Decrypt]).await?;
                    }
                    Ok(())
                }
            })
            .await?;
        }
        Command::Touch => {
            let mut keys = Vec::new();
            let mut pages = kms.list_keys().limit(1000).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(sdk)?;
                keys.extend(
                    page.keys
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|k| k.key_id),
                );
            }
            let keys = Arc::new(keys);
            let (k, list) = (kms.clone(), Arc::clone(&keys));
            for_each(keys.len(), args.concurrency, "keys used", move |i| {
                let (kms, keys) = (k.clone(), Arc::clone(&list));
                async move {
                    kms.encrypt()
                        .key_id(&keys[i])
                        .plaintext(Blob::new(b"warm-up".to_vec()))
                        .send()
                        .await
                        .map_err(sdk)?;
                    Ok(())
                }
            })
            .await?;
        }
        Command::Rss { pid } => {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
            for line in status.lines() {
                if line.starts_with("VmRSS:") || line.starts_with("VmHWM:") {
                    println!("{line}");
                }
            }
        }
        Command::ColdStart { bin, args: serve } => {
            let started = Instant::now();
            let mut child = std::process::Command::new(bin)
                .args(serve)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?;
            let health = poll_health(&args.endpoint, started).await;
            let listed = match health {
                Ok(_) => kms
                    .list_keys()
                    .limit(1)
                    .send()
                    .await
                    .map(|_| started.elapsed()),
                Err(_) => Ok(started.elapsed()),
            };
            let _ = child.kill();
            let _ = child.wait();
            let health = health?;
            let listed = listed.map_err(sdk)?;
            println!(
                "first GET /health answered after {:.1} ms; first signed ListKeys after {:.1} ms",
                health.as_secs_f64() * 1000.0,
                listed.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// Polls `GET /health` every millisecond (for at most 30 s) until it answers 200.
async fn poll_health(endpoint: &str, started: Instant) -> BoxResult<Duration> {
    let url: hyper::Uri = endpoint.parse()?;
    let authority = url.authority().ok_or("endpoint without host")?.to_string();
    let request = format!("GET /health HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(&authority).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut reply = Vec::new();
            if stream.write_all(request.as_bytes()).await.is_ok()
                && stream.read_to_end(&mut reply).await.is_ok()
                && reply.starts_with(b"HTTP/1.1 200")
            {
                return Ok(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err("the server did not answer GET /health within 30 s".into())
}

fn main() -> BoxResult<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}
