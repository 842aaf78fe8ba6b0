//! Runs the end-to-end scripts in `tests/e2e/` at the repository root against the real `trent`
//! binary: every `*.sh` with bash (they drive the `aws` CLI) and every `*.py` with python3 (boto3).
//! Each script gets the binary in `TRENT_BIN`, starts its own servers on 127.0.0.1:0 with its own
//! temporary data dirs, and exits non-zero on the first failed assertion.
//!
//! The Python tools are not Rust dependencies: `scripts/test` installs them at pinned versions in
//! `.venv` and puts it on PATH. Without them these tests fail (never skip) and say so.
//!
//! A script that needs a tool `scripts/test` does not install (tests/e2e/terraform.sh needs
//! `terraform` and a provider mirror) may skip itself, or a part of itself: it prints a line
//! starting with `SKIPPED:` and exits 0. Such lines are written straight to stderr, past the test
//! harness's output capture, so that a skip is seen in every `cargo test` run.
#![cfg(unix)]
// A test: a panic with a message is how it fails.
#![allow(clippy::expect_used)]

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A script that runs longer than this is killed (with its whole process group, servers
/// included) and fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scripts in tests/e2e with this extension, sorted; at least one must exist.
fn scripts(extension: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/e2e");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("read_dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no *.{extension} scripts in {}",
        dir.display()
    );
    found
}

/// Fails the test unless `program args...` runs and exits 0.
fn require(program: &str, args: &[&str], what: &str) {
    let missing = |detail: String| -> ! {
        panic!(
            "{what} is not available ({detail}).\n\
             The end-to-end scripts need the pinned Python tools: run `scripts/test` (it installs \
             them in .venv and runs cargo test with .venv/bin on PATH)."
        )
    };
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => missing(format!(
            "`{program} {}` exited with {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => missing(format!("cannot run `{program}`: {e}")),
    }
}

/// Sends `signal` to every process in the group `pgid`.
fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Runs `interpreter script` in its own process group with stdout and stderr interleaved in one
/// capture. Returns the exit status (None on timeout) and the output.
fn run_script(interpreter: &str, script: &Path) -> (Option<ExitStatus>, String) {
    let mut capture = tempfile::tempfile().expect("temp file for script output");
    let mut child = Command::new(interpreter)
        .arg(script)
        .current_dir(repo_root())
        .env("TRENT_BIN", env!("CARGO_BIN_EXE_trent"))
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(capture.try_clone().expect("clone capture file"))
        .stderr(capture.try_clone().expect("clone capture file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{interpreter} {}`: {e}", script.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            // TERM first so the script's cleanup can stop its servers, then KILL what is left.
            kill_group(child.id(), "-TERM");
            std::thread::sleep(Duration::from_secs(5));
            kill_group(child.id(), "-KILL");
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    capture.seek(SeekFrom::Start(0)).expect("rewind capture");
    let mut bytes = Vec::new();
    capture.read_to_end(&mut bytes).expect("read capture");
    output.push_str(&String::from_utf8_lossy(&bytes));
    (status, output)
}

/// Runs every script and fails with the output of each one that failed.
fn run_all(interpreter: &str, scripts: &[PathBuf]) {
    let mut failures = Vec::new();
    for script in scripts {
        let name = script
            .strip_prefix(repo_root())
            .unwrap_or(script)
            .display()
            .to_string();
        let started = Instant::now();
        let (status, output) = run_script(interpreter, script);
        let elapsed = started.elapsed().as_secs_f64();
        match status {
            Some(s) if s.success() => {
                println!("ok: {name} ({elapsed:.1} s)");
                for line in output.lines().filter(|l| l.starts_with("SKIPPED:")) {
                    // Not println!: the harness would capture it, and a passing test's
                    // output is never shown.
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
            Some(s) => failures.push(format!(
                "{name} failed ({s}) after {elapsed:.1} s:\n{output}"
            )),
            None => failures.push(format!(
                "{name} timed out after {} s and was killed:\n{output}",
                SCRIPT_TIMEOUT.as_secs()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} end-to-end script(s) failed\n\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n\n")
    );
}

#[test]
fn aws_cli_scripts() {
    require("aws", &["--version"], "the `aws` CLI");
    run_all("bash", &scripts("sh"));
}

#[test]
fn boto3_scripts() {
    require(
        "python3",
        &["-c", "import boto3, botocore, cryptography"],
        "python3 with boto3 and cryptography",
    );
    run_all("python3", &scripts("py"));
}
