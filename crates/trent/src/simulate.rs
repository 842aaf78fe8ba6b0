//! `trent policy simulate`: decides one request offline, from a JSON description of the caller,
//! the request, the policies and the grants, and explains the decision.
//!
//! The engine (parsing the input, deciding through the server's own decision function, the
//! explanation and its text forms) is [`trent_kms::simulate`]; this is the command around it:
//! its arguments, reading the input, printing the answer.

use crate::Verdict;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use trent_kms::simulate::{SimulateError, simulate};

/// `trent policy …`
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Decide one request offline and explain the decision (reads a JSON document).
    Simulate(SimulateArgs),
}

impl PolicyCommand {
    pub fn run(self) -> Result<Verdict, PolicyError> {
        match self {
            PolicyCommand::Simulate(args) => run(&args),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The JSON input; standard input when absent or `-`.
    pub file: Option<PathBuf>,
    /// Print a trace: every statement of every policy and every grant, and why it did or did
    /// not apply.
    #[arg(long)]
    pub explain: bool,
    /// Print machine-readable JSON (decision, allowedBy/deniedBy, message, explanation).
    #[arg(long)]
    pub json: bool,
}

/// Why `trent policy` failed. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Simulate(#[from] SimulateError),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

fn read_input(file: Option<&Path>) -> Result<String, PolicyError> {
    match file {
        Some(path) if path != Path::new("-") => {
            std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
                path: path.display().to_string(),
                source,
            })
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| PolicyError::Read {
                    path: "standard input".to_string(),
                    source,
                })?;
            Ok(text)
        }
    }
}

pub fn run(args: &SimulateArgs) -> Result<Verdict, PolicyError> {
    let text = read_input(args.file.as_deref())?;
    let output = simulate(&text)?;
    let rendered = if args.json {
        let mut s = serde_json::to_string_pretty(&output).map_err(SimulateError::from)?;
        s.push('\n');
        s
    } else if args.explain {
        output.render_explain()
    } else {
        output.render_short()
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(rendered.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(PolicyError::Output)?;
    Ok(Verdict::of(output.is_allowed()))
}
