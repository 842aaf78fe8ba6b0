//! Which key states allow which operations (spec §6.2), with AWS's messages.

use trent_store::{KeyRecord, KeyState};

use crate::arn::key_arn;
use crate::error::{ErrorCode, KmsError, KmsResult};

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

/// Cryptographic operations: Enabled (or Updating) keys only.
pub fn require_usable(key: &KeyRecord) -> KmsResult<()> {
    match key.key_state {
        KeyState::Enabled | KeyState::Updating => Ok(()),
        _ => Err(state_error(key)),
    }
}

/// Management operations that fail only while deletion is pending (TagResource,
/// UpdateKeyDescription, CreateAlias, EnableKey/DisableKey add PendingImport themselves).
pub fn require_not_pending_deletion(key: &KeyRecord) -> KmsResult<()> {
    match key.key_state {
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => Err(state_error(key)),
        _ => Ok(()),
    }
}

/// EnableKey / DisableKey.
pub fn require_toggleable(key: &KeyRecord) -> KmsResult<()> {
    match key.key_state {
        KeyState::Enabled | KeyState::Disabled | KeyState::Unavailable => Ok(()),
        _ => Err(state_error(key)),
    }
}

/// CancelKeyDeletion needs a key that is pending deletion.
pub fn require_pending_deletion(key: &KeyRecord) -> KmsResult<()> {
    match key.key_state {
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => Ok(()),
        _ => Err(KmsError::invalid_state(format!(
            "{} is not pending deletion.",
            arn(key)
        ))),
    }
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
