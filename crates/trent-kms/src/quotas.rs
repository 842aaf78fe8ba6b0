//! AWS KMS's resource quotas that Trent enforces, with their `LimitExceededException`s. (The
//! key policy size, grants per key, tags per key and on-demand rotations per key are checked
//! where those are written; README's "Limits" table lists them all.)

use crate::arn::key_arn;
use crate::error::{ErrorCode, KmsError};

/// Customer managed keys per account and Region by default (AWS managed keys do not count;
/// each replica of a multi-Region key counts in its Region); `trent serve
/// --max-keys-per-region` changes it.
pub const DEFAULT_MAX_KEYS_PER_REGION: usize = 100_000;

/// Customer-created aliases per key (`alias/aws/…` do not count).
pub const MAX_ALIASES_PER_KEY: usize = 50;

pub fn too_many_keys(region: &str, max: usize) -> KmsError {
    KmsError::new(
        ErrorCode::LimitExceeded,
        format!(
            "The request was rejected because the account has {max} customer managed keys in \
             {region}, the most it can have."
        ),
    )
}

pub fn too_many_aliases(region: &str, account: &str, key_id: &str) -> KmsError {
    KmsError::new(
        ErrorCode::LimitExceeded,
        format!(
            "The request was rejected because {} has {MAX_ALIASES_PER_KEY} aliases, the most a \
             key can have.",
            key_arn(region, account, key_id)
        ),
    )
}
