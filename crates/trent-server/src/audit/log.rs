//! The writer: where records go, and when they are synced (group commit on one thread).

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc;

use serde_json::Value;
use trent_kms::Operation;

use super::file::{FileSink, find_last, find_record};
use super::record::Record;

/// Where records go (`trent serve --audit-log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Off,
    Stdout,
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit log {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read the audit log: {0}")]
    Read(#[from] io::Error),
    #[error("cannot start the audit writer: {0}")]
    Spawn(io::Error),
}

/// When the audit log is `fdatasync`ed before a response is sent (`--audit-fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Every record: all records survive power loss.
    Always,
    /// Records of successful requests that changed state (keys, policies, grants, aliases,
    /// tags, IAM): those survive power loss; reads and cryptographic operations survive a
    /// crash of the process only (they are written, not synced, before their responses).
    #[default]
    Mutations,
    /// None: every record survives a crash of the process, not power loss.
    Never,
}

/// Whether a request changed state: what [`SyncPolicy::Mutations`] syncs. A KMS operation's row
/// of the operation table says; every STS/IAM action counts as one (no KMS operation).
pub fn is_mutation(operation: Option<Operation>, read_only: bool, succeeded: bool) -> bool {
    succeeded && !read_only && operation.is_none_or(|op| op.spec().changes_state())
}

struct Job {
    line: Vec<u8>,
    done: tokio::sync::oneshot::Sender<()>,
}

/// The destination, shared by the requests' threads and the sync thread.
struct Shared {
    sink: std::sync::Mutex<Box<dyn Write + Send>>,
    /// Records not to be synced, waiting for the next write (group write, see [`Shared::enqueue`]).
    pending: std::sync::Mutex<Pending>,
    /// How many of the records queued in `pending` have been written.
    written: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// Records queued so far; a record's number is the count once it is queued.
    queued: u64,
    /// Whether a request is writing a batch now.
    writing: bool,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends lines (one `write`) under the lock.
    fn append(&self, lines: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = sink.write_all(lines).and_then(|()| sink.flush()) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }

    /// Appends `line` and resolves once it is written, with one `write` for every record that
    /// concurrent requests queued meanwhile (group write). The first request to find nobody
    /// writing yields once, so that the requests already running on its thread queue theirs,
    /// then writes — every queued record, batch after batch until none is left — on its own
    /// task; the others wait for theirs. A write is a system call with a file-system lock: one
    /// per batch instead of one per request.
    async fn enqueue(&self, line: &[u8]) {
        let (number, leads) = {
            let mut pending = self.pending();
            pending.lines.extend_from_slice(line);
            pending.queued += 1;
            let leads = !pending.writing;
            pending.writing = true;
            (pending.queued, leads)
        };
        if !leads {
            let mut written = self.written.subscribe();
            // The sender lives as long as `self`: this cannot fail while we hold `self`.
            let _ = written.wait_for(|&w| w >= number).await;
            return;
        }
        // Let the requests already under way on this thread queue their records first, so
        // that one write takes them all; the batch is written when the guard goes, also if
        // this request is cancelled while it waits.
        let writer = BatchWriter(self);
        tokio::task::yield_now().await;
        drop(writer);
    }
}

/// Writes every queued record, batch after batch until none is left, when it goes.
struct BatchWriter<'a>(&'a Shared);

impl Drop for BatchWriter<'_> {
    fn drop(&mut self) {
        let shared = self.0;
        let mut batch = Vec::new();
        loop {
            let upto = {
                let mut pending = shared.pending();
                if pending.lines.is_empty() {
                    pending.writing = false;
                    break;
                }
                std::mem::swap(&mut pending.lines, &mut batch);
                pending.queued
            };
            shared.append(&batch);
            batch.clear();
            shared.written.send_replace(upto);
        }
    }
}

/// The audit log.
pub struct AuditLog {
    destination: Destination,
    shared: Option<std::sync::Arc<Shared>>,
    policy: SyncPolicy,
    /// The sync thread (file destinations unless the policy is `Never`).
    syncer: Option<mpsc::Sender<Job>>,
}

impl AuditLog {
    pub fn off() -> AuditLog {
        AuditLog {
            destination: Destination::Off,
            shared: None,
            policy: SyncPolicy::Never,
            syncer: None,
        }
    }

    /// Opens the destination (repairing a torn last line of a file). Records to be synced go
    /// through one thread that appends them and `fdatasync`s once per batch (group commit);
    /// the others are appended by the requests themselves, concurrent ones in one `write`.
    pub fn open(destination: Destination, policy: SyncPolicy) -> Result<AuditLog, AuditError> {
        let (sink, file): (Box<dyn Write + Send>, Option<File>) = match &destination {
            Destination::Off => return Ok(AuditLog::off()),
            Destination::Stdout => (Box::new(io::stdout()), None),
            Destination::File(path) => {
                let sink = FileSink::open(path)?;
                let dup = sink.file.try_clone().map_err(|source| AuditError::Open {
                    path: path.clone(),
                    source,
                })?;
                (Box::new(sink), Some(dup))
            }
        };
        let shared = std::sync::Arc::new(Shared {
            sink: std::sync::Mutex::new(sink),
            pending: Default::default(),
            written: tokio::sync::watch::Sender::new(0),
        });
        let syncer = match (file, policy) {
            (Some(file), SyncPolicy::Always | SyncPolicy::Mutations) => {
                let (tx, rx) = mpsc::channel::<Job>();
                let shared = std::sync::Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("trent-audit".into())
                    .spawn(move || sync_writer(&shared, &file, rx))
                    .map_err(AuditError::Spawn)?;
                Some(tx)
            }
            _ => None,
        };
        Ok(AuditLog {
            destination,
            shared: Some(shared),
            policy,
            syncer,
        })
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    pub fn enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Writes `record` and resolves once it is written, and synced if the policy says so for a
    /// request that was (`mutation`) or was not a mutation (see the module docs).
    pub async fn write(&self, record: &Record, mutation: bool) {
        let Some(shared) = &self.shared else { return };
        let mut line = match serde_json::to_vec(record) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize an audit record");
                return;
            }
        };
        line.push(b'\n');
        let sync = match self.policy {
            SyncPolicy::Always => true,
            SyncPolicy::Mutations => mutation,
            SyncPolicy::Never => false,
        };
        let Some(tx) = self.syncer.as_ref().filter(|_| sync) else {
            shared.enqueue(&line).await;
            return;
        };
        let (done, wait) = tokio::sync::oneshot::channel();
        if tx.send(Job { line, done }).is_err() {
            tracing::error!("the audit writer has stopped; record lost");
            return;
        }
        if wait.await.is_err() {
            tracing::error!("the audit writer stopped before writing a record");
        }
    }

    /// The stored record of a request, searched from the end of the log file.
    pub fn find(&self, request_id: &str) -> Result<Option<Value>, AuditError> {
        match &self.destination {
            Destination::File(path) => Ok(find_record(path, request_id)?),
            _ => Ok(None),
        }
    }

    /// The newest record `filter` accepts, searched from the end of the log file.
    pub fn latest(&self, filter: &RecordFilter) -> Result<Option<Value>, AuditError> {
        match &self.destination {
            Destination::File(path) => Ok(find_last(path, |line| {
                let record: Value = serde_json::from_slice(line).ok()?;
                filter.accepts(&record).then_some(record)
            })?),
            _ => Ok(None),
        }
    }
}

/// Which past request `trent explain --last` / `--last-denied` wants: a KMS, IAM or STS request
/// of `account` that was authorized (it has decisions), optionally only a denied one, of one
/// principal, or on one key.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub account: String,
    pub denied_only: bool,
    /// The caller's ARN (`userIdentity.arn`).
    pub principal: Option<String>,
    /// A key ID or key ARN among the record's resources.
    pub key: Option<String>,
}

impl RecordFilter {
    pub fn accepts(&self, r: &Value) -> bool {
        let decisions = r
            .pointer("/trentAuthorization/decisions")
            .and_then(Value::as_array);
        let Some(decisions) = decisions.filter(|d| !d.is_empty()) else {
            return false;
        };
        r["recipientAccountId"] == self.account.as_str()
            && r["eventSource"] != "trent"
            && (!self.denied_only || decisions.iter().any(|d| d["allowed"] == false))
            && self
                .principal
                .as_deref()
                .is_none_or(|p| r.pointer("/userIdentity/arn").and_then(Value::as_str) == Some(p))
            && self.key.as_deref().is_none_or(|key| {
                r["resources"].as_array().is_some_and(|resources| {
                    resources
                        .iter()
                        .filter_map(|x| x["ARN"].as_str())
                        .any(|arn| {
                            arn == key
                                || arn
                                    .strip_suffix(key)
                                    .is_some_and(|rest| rest.ends_with(":key/"))
                        })
                })
            })
    }
}

/// The sync thread: takes every queued record, appends them with one `write`, `fdatasync`s
/// once for the batch, then releases the waiting requests.
fn sync_writer(shared: &Shared, file: &File, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024
            && let Ok(job) = rx.try_recv()
        {
            batch.push(job);
        }
        let lines: Vec<u8> = batch
            .iter()
            .flat_map(|job| job.line.iter().copied())
            .collect();
        shared.append(&lines);
        if let Err(e) = file.sync_data() {
            tracing::error!(error = %e, "cannot sync the audit log");
        }
        for job in batch {
            let _ = job.done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_successful_state_changes() {
        assert!(is_mutation(Some(Operation::CreateKey), false, true));
        assert!(is_mutation(Some(Operation::RetireGrant), false, true));
        assert!(!is_mutation(Some(Operation::CreateKey), false, false));
        assert!(!is_mutation(Some(Operation::Decrypt), false, true));
        assert!(!is_mutation(Some(Operation::GenerateDataKey), false, true));
        assert!(!is_mutation(Some(Operation::ListGrants), true, true));
        // STS and IAM actions have no KMS operation: treated as changes unless read-only.
        assert!(is_mutation(None, false, true));
    }
}
