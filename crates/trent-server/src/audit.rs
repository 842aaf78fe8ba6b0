//! The audit log: one CloudTrail-shaped JSON object per request, as JSON lines, with a
//! `trentAuthorization` member saying which statement, identity policy or grant decided.
//!
//! Guarantees (file destination):
//! - The file is opened with `O_APPEND`; each record is appended with a single `write` of the
//!   full line and its `\n`, under a mutex, and the request's response is sent only after its
//!   line was written. So every request whose response a client saw has its complete line in
//!   the log as of process death (SIGKILL).
//! - Power loss needs `fdatasync` (`--audit-fsync`, [`SyncPolicy`]): records to be synced go
//!   through one thread that appends them and syncs once per batch of concurrent requests
//!   (group commit) before releasing their responses. By default the records of successful
//!   state changes are synced; reads and cryptographic operations, whose responses change
//!   nothing, are written but not synced (an `fdatasync` costs a disk flush, ~5 ms here).
//! - A record being written when the process dies can at worst leave a partial last line
//!   without its `\n` (the kernel may stop a write of a killed process at a page boundary). Its
//!   response was never sent. Readers ignore such a tail, and the server truncates it when it
//!   next opens the log, so every line of the file is a complete record.
//! - If the log cannot be written (disk full, I/O error) the response is still sent (the
//!   operation has already happened) and the failure is reported on stderr; a partially written
//!   record is truncated away.
//! - Never logged: plaintext, key material, data keys, ciphertext blobs, signatures, MACs,
//!   messages, public keys or grant tokens. `requestParameters` keeps only an allowlist of
//!   request members (key IDs, encryption contexts, specs, sizes, grant parameters, ...);
//!   `responseElements` only the metadata CloudTrail shows for key and grant management.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::Serialize;
use serde_json::{Map, Value};
use trent_kms::explain::{Explanation, decision_key_arn, explanation};
use trent_kms::{Authorization, Caller, Operation, PrincipalKind};

/// CloudTrail's placeholder for values it never shows.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

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
}

impl Shared {
    /// Appends one line (one `write`) under the lock.
    fn append(&self, line: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = sink.write_all(line).and_then(|()| sink.flush()) {
            tracing::error!(error = %e, "cannot write the audit log");
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
    /// the others are appended by the request's own thread.
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
            shared.append(&line);
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
}

/// The sync thread: takes every queued record, appends each with one `write`, `fdatasync`s
/// once for the batch, then releases the waiting requests.
fn sync_writer(shared: &Shared, file: &File, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024
            && let Ok(job) = rx.try_recv()
        {
            batch.push(job);
        }
        for job in &batch {
            shared.append(&job.line);
        }
        if let Err(e) = file.sync_data() {
            tracing::error!(error = %e, "cannot sync the audit log");
        }
        for job in batch {
            let _ = job.done.send(());
        }
    }
}

/// An append-only file that never keeps a partial record: a failed write is truncated away.
struct FileSink {
    file: File,
    /// Length of the file up to the last complete record.
    len: u64,
}

impl FileSink {
    fn open(path: &Path) -> Result<FileSink, AuditError> {
        let err = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        let len = repair_tail(&mut file).map_err(err)?;
        Ok(FileSink { file, len })
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // One write(2) of the whole line: O_APPEND puts it at the end in one piece.
        match self.file.write(buf) {
            Ok(n) if n == buf.len() => {
                self.len += n as u64;
                Ok(n)
            }
            Ok(n) => {
                let _ = self.file.set_len(self.len);
                Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "short write of an audit record ({n} of {} bytes)",
                        buf.len()
                    ),
                ))
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf).map(|_| ())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Truncates a last line that has no `\n` (a record cut short by a crash); returns the length.
fn repair_tail(file: &mut File) -> io::Result<u64> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(0);
    }
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep != len {
                tracing::warn!(
                    removed = len - keep,
                    "the audit log ended in a partial record (a crash while writing it); removed it"
                );
                file.set_len(keep)?;
            }
            return Ok(keep);
        }
        if start == 0 {
            tracing::warn!(
                removed = len,
                "the audit log held only a partial record; removed it"
            );
            file.set_len(0)?;
            return Ok(0);
        }
        end = start;
    }
}

/// Whether `id` can be a request ID (a UUID); nothing else is searched for.
pub fn valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Reads the log backwards, complete lines only, and returns the record of `request_id`.
fn find_record(path: &Path, request_id: &str) -> io::Result<Option<Value>> {
    if !valid_request_id(request_id) {
        return Ok(None);
    }
    let needle = format!("\"requestID\":\"{request_id}\"");
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut pos = file.seek(SeekFrom::End(0))?;
    const CHUNK: u64 = 256 * 1024;
    // Bytes after `pos` not yet searched, always ending at a line boundary except for a torn
    // tail, which is never searched.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0u8; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&carry);
        let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        // The last piece follows the last '\n': empty, or (first round) a torn record.
        lines.pop();
        let head = if start > 0 && !lines.is_empty() {
            Some(lines.remove(0))
        } else {
            None
        };
        for line in lines.iter().rev() {
            if contains(line, needle.as_bytes()) {
                return Ok(serde_json::from_slice(line).ok());
            }
        }
        if start == 0 {
            return Ok(None);
        }
        carry = head.map(<[u8]>::to_vec).unwrap_or_default();
        carry.push(b'\n');
        pos = start;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---- the record ----------------------------------------------------------------------------------

/// One CloudTrail-shaped record (eventVersion 1.08) plus `trentAuthorization`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub event_version: &'static str,
    pub user_identity: UserIdentity,
    pub event_time: String,
    pub event_source: &'static str,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(rename = "requestID")]
    pub request_id: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    pub resources: Vec<Resource>,
    pub event_type: &'static str,
    pub management_event: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    pub event_category: &'static str,
    pub trent_authorization: TrentAuthorization,
}

#[derive(Debug, Serialize)]
pub struct Resource {
    #[serde(rename = "accountId")]
    pub account_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrentAuthorization {
    /// In `--authz audit` mode: a denial was recorded but not enforced.
    pub overridden: bool,
    /// Every check the request needed, in order, each with what decided it.
    pub decisions: Vec<Explanation>,
    /// For a caller of another account than the key's: the same decisions without the
    /// caller's identity-policy details (what the key's account may be shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions_for_key_account: Option<Vec<Explanation>>,
    /// CreateKey/PutKeyPolicy refused by the policy lockout safety check: why the candidate
    /// policy would not let the caller call PutKeyPolicy later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lockout_check: Vec<Explanation>,
}

/// What the server knows about a request when it is done with it.
pub struct Input<'a> {
    pub request_id: &'a str,
    pub source_ip: IpAddr,
    pub user_agent: Option<&'a str>,
    /// `X-Amz-Target` after `TrentService.` (for unknown operations too), or another name for
    /// Trent's own API.
    pub event_name: &'a str,
    pub event_source: &'static str,
    pub operation: Option<Operation>,
    /// CloudTrail's `readOnly`.
    pub read_only: bool,
    /// The authenticated caller.
    pub caller: Option<&'a Caller>,
    /// The decisions made for the request.
    pub authorization: Option<&'a Authorization>,
    /// From the `Authorization` header when authentication failed.
    pub credential: Option<Credential>,
    pub request: Option<&'a Value>,
    pub response: Option<&'a Value>,
    pub error: Option<(&'a str, Option<&'a str>)>,
}

/// The access key and region of a SigV4 `Authorization` header, read without verifying it.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    pub access_key_id: Option<String>,
    pub region: Option<String>,
}

pub fn credential_of(headers: &axum::http::HeaderMap) -> Credential {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Credential::default();
    };
    let Some(scope) = value
        .split(['\u{20}', ','])
        .find_map(|p| p.trim().strip_prefix("Credential="))
    else {
        return Credential::default();
    };
    let mut parts = scope.split('/');
    let access_key_id = parts.next().filter(|s| !s.is_empty()).map(clip);
    let region = parts.nth(1).filter(|s| !s.is_empty()).map(clip);
    Credential {
        access_key_id,
        region,
    }
}

/// Header values go into the log: keep them short.
fn clip(s: &str) -> String {
    s.chars().take(128).collect()
}

fn event_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

/// CloudTrail's `userIdentity`, in its member order.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    session_issuer: SessionIssuer,
    attributes: SessionAttributes,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: String,
    arn: String,
    account_id: String,
    user_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    mfa_authenticated: &'static str,
}

fn user_identity(caller: &Caller) -> UserIdentity {
    let p = &caller.principal;
    let mut id = UserIdentity {
        kind: Some(match &p.kind {
            PrincipalKind::Root => "Root",
            PrincipalKind::User { .. } => "IAMUser",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
        }),
        principal_id: Some(p.unique_id.clone()),
        arn: Some(p.arn.clone()),
        account_id: Some(p.account.clone()),
        access_key_id: Some(caller.access_key_id.clone()),
        invoked_by: caller.via_service.as_deref().map(service_principal),
        ..Default::default()
    };
    match &p.kind {
        PrincipalKind::User { name, .. } => id.user_name = Some(name.clone()),
        PrincipalKind::AssumedRole {
            role_arn,
            role_name,
            ..
        } => {
            let role_id = p.unique_id.split(':').next().unwrap_or_default();
            id.session_context = Some(SessionContext {
                session_issuer: SessionIssuer {
                    kind: "Role",
                    principal_id: role_id.to_string(),
                    arn: role_arn.clone(),
                    account_id: p.account.clone(),
                    user_name: role_name.clone(),
                },
                attributes: SessionAttributes {
                    mfa_authenticated: "false",
                },
            });
        }
        PrincipalKind::Root => {}
    }
    id
}

/// `lambda.ap-northeast-1.amazonaws.com` → `lambda.amazonaws.com`.
fn service_principal(endpoint: &str) -> String {
    match endpoint.split_once('.') {
        Some((name, _)) => format!("{name}.amazonaws.com"),
        None => endpoint.to_string(),
    }
}

/// Request members CloudTrail shows for KMS (PascalCase as on the wire). Everything else —
/// Plaintext, CiphertextBlob, Message, Signature, Mac, PublicKey, key material, import tokens,
/// recipients, unknown members — is left out.
const REQUEST_MEMBERS: &[&str] = &[
    "Action",
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomKeyStoreId",
    "CustomerMasterKeySpec",
    "Description",
    "DestinationEncryptionAlgorithm",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "DryRun",
    "DryRunModifiers",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "GrantId",
    "GranteePrincipal",
    "GranteeServicePrincipal",
    "KeyAgreementAlgorithm",
    "KeyId",
    "KeyPairSpec",
    "KeySpec",
    "KeyUsage",
    "Limit",
    "MacAlgorithm",
    "Marker",
    "MessageType",
    "MultiRegion",
    "Name",
    "NumberOfBytes",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "Principal",
    "RetiringPrincipal",
    "RetiringServicePrincipal",
    "RotationPeriodInDays",
    "SigningAlgorithm",
    "SourceEncryptionAlgorithm",
    "SourceEncryptionContext",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
];

/// Members whose presence is shown but whose value never is.
const HIDDEN_MEMBERS: &[&str] = &["GrantToken", "GrantTokens"];

fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Renames the member names of an object (not of user-keyed maps inside it) to lowerCamelCase.
fn camel_members(v: &Value, depth: usize) -> Value {
    match v {
        Value::Object(m) if depth > 0 => Value::Object(
            m.iter()
                .map(|(k, v)| (lower_camel(k), camel_members(v, depth - 1)))
                .collect(),
        ),
        Value::Array(a) if depth > 0 => {
            Value::Array(a.iter().map(|v| camel_members(v, depth)).collect())
        }
        other => other.clone(),
    }
}

/// `requestParameters`: the allowlisted members, renamed as CloudTrail names them.
pub fn request_parameters(request: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = request else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in m {
        if REQUEST_MEMBERS.contains(&k.as_str()) {
            let v = match k.as_str() {
                // Tags: [{TagKey, TagValue}] → [{tagKey, tagValue}]; Constraints: the three
                // constraint names, not the encryption-context keys inside them.
                "Tags" | "Constraints" => camel_members(v, 1),
                _ => v.clone(),
            };
            out.insert(lower_camel(k), v);
        } else if HIDDEN_MEMBERS.contains(&k.as_str()) {
            let v = match v {
                Value::Array(a) => Value::Array(a.iter().map(|_| HIDDEN.into()).collect()),
                _ => HIDDEN.into(),
            };
            out.insert(lower_camel(k), v);
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// `responseElements`: key and grant management metadata only; `null` for everything else
/// (cryptographic operations, reads), as CloudTrail.
pub fn response_elements(op: Option<Operation>, response: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = response else {
        return Value::Null;
    };
    let members = op.map_or(&[][..], |op| op.spec().audit_response);
    let out: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| members.contains(&k.as_str()))
        .map(|(k, v)| (lower_camel(k), camel_members(v, 8)))
        .collect();
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

fn key_resource(arn: &str) -> Option<Resource> {
    let account = arn.split(':').nth(4)?.to_string();
    Some(Resource {
        account_id: account,
        kind: "AWS::KMS::Key",
        arn: arn.to_string(),
    })
}

/// Builds the record of a request.
pub fn record(input: &Input<'_>) -> Record {
    let no_decisions = Authorization::default();
    let authorization = input.authorization.unwrap_or(&no_decisions);
    let decisions = &authorization.decisions;
    let mut arns: Vec<String> = Vec::new();
    for d in decisions {
        if let Some(arn) = decision_key_arn(d)
            && !arns.iter().any(|a| a == arn)
        {
            arns.push(arn.to_string());
        }
    }
    if let Some(Value::String(arn)) = input
        .response
        .and_then(|r| r.get("KeyMetadata"))
        .and_then(|m| m.get("Arn"))
        && !arns.contains(arn)
    {
        arns.push(arn.clone());
    }
    let resources: Vec<Resource> = arns.iter().filter_map(|a| key_resource(a)).collect();

    let (user_identity, region, caller_account) = match (input.caller, &input.credential) {
        (Some(c), _) => (
            user_identity(c),
            c.region.clone(),
            Some(c.principal.account.clone()),
        ),
        (None, Some(cred)) => {
            let id = UserIdentity {
                access_key_id: cred.access_key_id.clone(),
                ..Default::default()
            };
            (
                id,
                cred.region.clone().unwrap_or_else(|| "us-east-1".into()),
                None,
            )
        }
        (None, None) => (UserIdentity::default(), "us-east-1".into(), None),
    };
    let recipient = resources
        .first()
        .map(|r| r.account_id.clone())
        .or(caller_account.clone());
    let (explained, for_key_account) = match input.caller {
        Some(c) => {
            let full: Vec<Explanation> = decisions
                .iter()
                .map(|d| explanation(d, &c.principal, false))
                .collect();
            let foreign = resources
                .iter()
                .any(|r| r.account_id != c.principal.account);
            let redacted = foreign.then(|| {
                decisions
                    .iter()
                    .map(|d| explanation(d, &c.principal, true))
                    .collect()
            });
            (full, redacted)
        }
        None => (Vec::new(), None),
    };
    let source_ip = match input.caller.and_then(|c| c.via_service.as_deref()) {
        Some(service) => service_principal(service),
        None => input.source_ip.to_string(),
    };
    Record {
        event_version: "1.08",
        user_identity,
        event_time: event_time(),
        event_source: input.event_source,
        event_name: clip(input.event_name),
        aws_region: region,
        source_ip_address: source_ip,
        user_agent: input.user_agent.map(clip),
        error_code: input.error.map(|(code, _)| code.to_string()),
        error_message: input.error.and_then(|(_, m)| m.map(str::to_string)),
        request_parameters: request_parameters(input.request),
        response_elements: response_elements(input.operation, input.response),
        request_id: input.request_id.to_string(),
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: input.read_only,
        resources,
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: recipient,
        event_category: "Management",
        trent_authorization: TrentAuthorization {
            overridden: authorization.overridden,
            decisions: explained,
            decisions_for_key_account: for_key_account,
            lockout_check: input
                .caller
                .map(|c| {
                    authorization
                        .lockout_checks
                        .iter()
                        .map(|d| explanation(d, &c.principal, false))
                        .collect()
                })
                .unwrap_or_default(),
        },
    }
}

/// The record as a reader of `account` may see it: a caller of another account keeps its
/// identity-policy details to itself.
pub fn view_for(mut record: Value, account: &str) -> Value {
    let caller_account = record
        .pointer("/userIdentity/accountId")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(auth) = record
        .get_mut("trentAuthorization")
        .and_then(Value::as_object_mut)
    {
        let redacted = auth.remove("decisionsForKeyAccount");
        if caller_account.as_deref() != Some(account)
            && let Some(r) = redacted
        {
            auth.insert("decisions".into(), r);
        }
    }
    record
}

/// Operation names for the event name of a request whose target is not a KMS operation.
pub fn target_name(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| {
            t.strip_prefix(trent_kms::operation::TARGET_PREFIX)
                .unwrap_or(t)
        })
        .map(clip)
        .unwrap_or_else(|| "Unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parameters_keep_only_safe_members() {
        let req = serde_json::json!({
            "KeyId": "alias/x",
            "Plaintext": "c2VjcmV0",
            "CiphertextBlob": "AAAA",
            "EncryptionContext": {"Dept": "a"},
            "GrantTokens": ["tok1", "tok2"],
            "Constraints": {"EncryptionContextEquals": {"Key": "v"}},
            "Tags": [{"TagKey": "k", "TagValue": "v"}],
            "Unknown": 1
        });
        let p = request_parameters(Some(&req));
        assert_eq!(
            p,
            serde_json::json!({
                "keyId": "alias/x",
                "encryptionContext": {"Dept": "a"},
                "grantTokens": [HIDDEN, HIDDEN],
                "constraints": {"encryptionContextEquals": {"Key": "v"}},
                "tags": [{"tagKey": "k", "tagValue": "v"}]
            })
        );
        assert_eq!(
            request_parameters(Some(&serde_json::json!({"Plaintext": "x"}))),
            Value::Null
        );
    }

    #[test]
    fn response_elements_for_management_only() {
        let r = serde_json::json!({"KeyId": "k", "Plaintext": "x", "CiphertextBlob": "y"});
        assert_eq!(
            response_elements(Some(Operation::GenerateDataKey), Some(&r)),
            Value::Null
        );
        let r = serde_json::json!({"GrantId": "g", "GrantToken": "t"});
        assert_eq!(
            response_elements(Some(Operation::CreateGrant), Some(&r)),
            serde_json::json!({"grantId": "g"})
        );
    }

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

    #[test]
    fn credential_scope_without_verifying() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        let c = credential_of(&h);
        assert_eq!(c.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn torn_tail_is_removed_and_reads_skip_it() {
        let dir = std::env::temp_dir().join(format!("trent-audit-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit.log");
        std::fs::create_dir_all(&dir).unwrap();
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let complete = format!("{{\"requestID\":\"{id}\",\"n\":1}}\n");
        std::fs::write(&path, format!("{complete}{{\"requestID\":\"abc")).unwrap();
        assert_eq!(
            find_record(&path, id).unwrap().unwrap()["n"],
            serde_json::json!(1)
        );
        assert!(find_record(&path, "abc").unwrap().is_none());
        let sink = FileSink::open(&path).unwrap();
        assert_eq!(sink.len, complete.len() as u64);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), complete);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn find_crosses_chunk_boundaries() {
        let dir = std::env::temp_dir().join(format!("trent-audit-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit.log");
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::new();
        let pad = "x".repeat(1000);
        let mut ids = Vec::new();
        for i in 0..1000 {
            let id = uuid::Uuid::new_v4().to_string();
            text.push_str(&format!(
                "{{\"requestID\":\"{id}\",\"i\":{i},\"p\":\"{pad}\"}}\n"
            ));
            ids.push(id);
        }
        std::fs::write(&path, text).unwrap();
        for i in [0usize, 1, 260, 261, 499, 998, 999] {
            assert_eq!(
                find_record(&path, &ids[i]).unwrap().unwrap()["i"],
                serde_json::json!(i)
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
