//! `trent`: a key management service that speaks the AWS KMS protocol and explains its
//! authorization decisions.

mod access;
mod client;
mod config;
mod explain;
mod migrate;
mod reset;
mod serve;
mod simulate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// glibc's allocator took about 13 % of the server's time under load (docs/performance.md);
/// mimalloc's thread-local free lists suit a server that allocates small, short-lived values
/// on every request across worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "trent", version, about)]
struct Cli {
    /// How log lines (stderr) look: `text` for people, `json` (one object per line, with the
    /// request fields) for log pipelines. Which lines: `RUST_LOG` (default `info`).
    #[arg(long, global = true, env = "TRENT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the KMS-compatible server.
    Serve(serve::ServeArgs),
    /// Explain an authorization decision: a past request (--request-id) or a hypothetical one
    /// (--as … --action … --key …), asked of a running server.
    Explain(explain::ExplainArgs),
    /// Who can do what with a key, and through which path (key policy, IAM, grants).
    Access(access::AccessArgs),
    /// Wipe a data dir (database, root key, audit log) after asking, or with --yes.
    Reset(reset::ResetArgs),
    /// Copy a data dir's database into an empty PostgreSQL database (`--from DIR --to URL`).
    Migrate(migrate::MigrateArgs),
    /// Policy tools: `trent policy simulate`.
    #[command(subcommand)]
    Policy(simulate::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Log lines are written by a thread of their own, several per write(2): a server logs a
    // line per request, and writing each from the request's thread cost a tenth of its
    // throughput (docs/performance.md). Not lossy: a request waits rather than drop a line.
    // The guard flushes what is queued when `main` returns.
    let (log_writer, log_flush) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("trent-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The SDK's config loader (the CLI's client) narrates at info and warns about
                // config files that are absent, which the aws CLI takes in silence.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("info,aws_config=warn,aws_runtime=error")
                }),
        )
        .with_writer(log_writer);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let (result, failure): (Result<Verdict, Box<dyn std::error::Error>>, u8) = match cli.command {
        Command::Serve(args) => (
            serve::run(args).map(|()| Verdict::Done).map_err(Into::into),
            1,
        ),
        Command::Explain(args) => (explain::run(args).map_err(Into::into), USAGE_OR_INPUT_ERROR),
        Command::Access(args) => (access::run(args).map_err(Into::into), USAGE_OR_INPUT_ERROR),
        Command::Policy(cmd) => (cmd.run().map_err(Into::into), USAGE_OR_INPUT_ERROR),
        Command::Reset(args) => (
            reset::run(args).map(|()| Verdict::Done).map_err(Into::into),
            1,
        ),
        Command::Migrate(args) => (
            migrate::run(args)
                .map(|()| Verdict::Done)
                .map_err(Into::into),
            1,
        ),
    };
    // Queued log lines first, then the error, in the order they happened.
    drop(log_flush);
    match result {
        Ok(Verdict::Done | Verdict::Allowed) => ExitCode::SUCCESS,
        Ok(Verdict::Denied) => ExitCode::from(1),
        Err(e) => {
            eprintln!("trent: {e}");
            ExitCode::from(failure)
        }
    }
}

/// What a command found, for its exit status: scripts can tell an allowed request (0) from a
/// denied one (1) and from a usage or input error (2, as clap answers bad arguments).
pub enum Verdict {
    /// The command did its job and decided nothing (`serve`, `access` without a filter).
    Done,
    Allowed,
    Denied,
}

impl Verdict {
    pub fn of(allowed: bool) -> Verdict {
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }
}

/// The exit status of `explain`, `access` and `policy simulate` when they could not answer.
const USAGE_OR_INPUT_ERROR: u8 = 2;
