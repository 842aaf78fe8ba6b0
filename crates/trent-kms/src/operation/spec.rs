//! The columns of the operation table: what one KMS operation is, as data. This module knows
//! nothing of the handlers, so that handlers can read their own row without an import circle.

use crate::keystate::KeyStates;

/// What an operation's authorization checks are made against (spec §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// One KMS key (its key policy, IAM where it delegates, grants).
    Key,
    /// An alias and the key it names: both are checked (alias operations).
    Alias,
    /// Nothing: the caller's IAM policies alone decide (`kms:CreateKey`, `kms:ListKeys`).
    None,
    /// A custom key store: IAM policies alone decide (custom key stores have no key policy).
    CustomKeyStore,
}

/// What kind of work an operation does: decides CloudTrail's `readOnly` and which audit records
/// are synced as state changes (`--audit-fsync mutations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads state (CloudTrail `readOnly: true`).
    Read,
    /// Cryptography with a key: changes no state, but is not a read in CloudTrail's sense.
    Crypto,
    /// Changes stored state.
    Change,
}

/// One row of the operation table.
#[derive(Debug)]
pub struct OperationSpec {
    /// The API name, e.g. `"Encrypt"`.
    pub name: &'static str,
    /// The `kms:` actions the operation is authorized by (ReEncrypt: `ReEncryptFrom` on the
    /// source key and `ReEncryptTo` on the destination key).
    pub actions: &'static [&'static str],
    pub resource: ResourceKind,
    /// Whether a grant can allow the operation's actions (botocore `GrantOperation`).
    pub grant: bool,
    /// Whether the actions work on a key of another account (spec §2.2, column XA).
    pub cross_account: bool,
    /// Whether the request takes `DryRun`.
    pub dry_run: bool,
    pub key_states: KeyStates,
    pub effect: Effect,
    /// The response members the audit record keeps as `responseElements` (CloudTrail shows key
    /// and grant management metadata only). Request members are kept by one allowlist of
    /// members safe to log, in the audit module, since a member means the same in every
    /// operation.
    pub audit_response: &'static [&'static str],
}

impl OperationSpec {
    /// CloudTrail's `readOnly`.
    pub fn is_read_only(&self) -> bool {
        self.effect == Effect::Read
    }

    /// Whether a successful call changed state.
    pub fn changes_state(&self) -> bool {
        self.effect == Effect::Change
    }

    /// Whether a successful call counts as a use of its keys for `GetKeyLastUsage`: the
    /// cryptographic operations with a key (AWS's `KeyLastUsageTrackingOperation`).
    pub fn tracks_key_usage(&self) -> bool {
        self.effect == Effect::Crypto && self.resource == ResourceKind::Key
    }
}
