//! Key state and key usage checks with AWS's messages. Which states allow which operation
//! (spec §6.2) is the operation table's `key_states` column.

use trent_store::{KeyRecord, KeyState};

use crate::arn::key_arn;
use crate::error::{ErrorCode, KmsError, KmsResult};

/// Which key states allow an operation (spec §6.2); checked after authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStates {
    /// The operation names no key.
    NoKey,
    /// Every state (reads, policy and grant management).
    Any,
    /// Cryptographic use: `Enabled` (or `Updating`).
    Usable,
    /// Everything but `PendingDeletion` and `PendingReplicaDeletion`.
    NotPendingDeletion,
    /// `EnableKey` / `DisableKey`: `Enabled`, `Disabled` or `Unavailable`.
    Toggleable,
    /// `CancelKeyDeletion`: only a key pending deletion.
    PendingDeletion,
    /// Only `Enabled` keys (rotation and import management).
    Enabled,
}

impl KeyStates {
    /// Whether a key in `state` may be used by an operation with this rule.
    pub fn allows(self, state: KeyState) -> bool {
        use KeyState::*;
        match self {
            KeyStates::NoKey | KeyStates::Any => true,
            KeyStates::Usable => matches!(state, Enabled | Updating),
            KeyStates::NotPendingDeletion => {
                !matches!(state, PendingDeletion | PendingReplicaDeletion)
            }
            KeyStates::Toggleable => matches!(state, Enabled | Disabled | Unavailable),
            KeyStates::PendingDeletion => matches!(state, PendingDeletion | PendingReplicaDeletion),
            KeyStates::Enabled => state == Enabled,
        }
    }
}

fn arn(key: &KeyRecord) -> String {
    key_arn(&key.region, &key.account, &key.key_id)
}

fn state_error(key: &KeyRecord) -> KmsError {
    let arn = arn(key);
    match key.key_state {
        KeyState::Disabled => KmsError::new(ErrorCode::Disabled, format!("{arn} is disabled.")),
        KeyState::PendingDeletion => KmsError::invalid_state(format!("{arn} is pending deletion.")),
        KeyState::PendingReplicaDeletion => {
            KmsError::invalid_state(format!("{arn} is pending replica deletion."))
        }
        KeyState::PendingImport => KmsError::invalid_state(format!("{arn} is pending import.")),
        KeyState::Unavailable => KmsError::invalid_state(format!("{arn} is unavailable.")),
        KeyState::Creating => KmsError::invalid_state(format!("{arn} is creating.")),
        KeyState::Updating => KmsError::invalid_state(format!("{arn} is updating.")),
        KeyState::Enabled => KmsError::internal("state_error called on an enabled key"),
    }
}

/// Whether the key's state allows the operation, by the rule of the operation's row in the
/// operation table (`Call::key_states`), with AWS's error when it does not.
pub fn require(states: KeyStates, key: &KeyRecord) -> KmsResult<()> {
    if states.allows(key.key_state) {
        return Ok(());
    }
    if states == KeyStates::PendingDeletion {
        return Err(KmsError::invalid_state(format!(
            "{} is not pending deletion.",
            arn(key)
        )));
    }
    Err(state_error(key))
}

/// The operation name used in InvalidKeyUsageException messages.
pub fn require_usage(key: &KeyRecord, usage: &str, operation: &str) -> KmsResult<()> {
    if key.key_usage == usage {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorCode::InvalidKeyUsage,
        format!(
            "{} key usage is {} which is not valid for {operation}.",
            arn(key),
            key.key_usage
        ),
    ))
}
