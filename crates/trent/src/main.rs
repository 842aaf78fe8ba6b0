//! `trent`: a key management service that speaks the AWS KMS protocol and explains its
//! authorization decisions.

mod access;
mod client;
mod config;
mod explain;
mod serve;
mod simulate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "trent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Policy tools: `trent policy simulate`.
    #[command(subcommand)]
    Policy(simulate::PolicyCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Serve(args) => serve::run(args).map_err(Into::into),
        Command::Explain(args) => explain::run(args).map_err(Into::into),
        Command::Access(args) => access::run(args).map_err(Into::into),
        Command::Policy(cmd) => cmd.run().map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trent: {e}");
            ExitCode::FAILURE
        }
    }
}
