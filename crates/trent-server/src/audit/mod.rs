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

mod file;
mod identity;
mod log;
mod record;
mod redact;

pub use file::valid_request_id;
pub use identity::{Credential, credential_of};
pub use log::{AuditError, AuditLog, Destination, RecordFilter, SyncPolicy, is_mutation};
pub use record::{Input, Record, record, target_name, view_for};
