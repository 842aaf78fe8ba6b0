//! The authorization step. Every operation declares the (action, resource) checks it needs and
//! calls [`Kms::authorize`] before doing anything observable.
//!
//! This first version enforces account boundaries only: a principal may act on the keys of its
//! own account, and is denied everything in other accounts. The full model (key policies,
//! identity policies, grants; spec §2) replaces the body of `decide` without changing callers.

use trent_store::KeyRecord;

use crate::arn::key_arn;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::service::Kms;

/// What an action is checked against.
pub enum Resource<'a> {
    Key(&'a KeyRecord),
    /// An alias ARN (alias operations check the alias and the key).
    Alias(String),
    /// Resource-less actions such as `kms:CreateKey` and `kms:ListKeys` (IAM only).
    None,
}

pub struct Check<'a> {
    pub action: &'static str,
    pub resource: Resource<'a>,
}

impl<'a> Check<'a> {
    pub fn key(action: &'static str, key: &'a KeyRecord) -> Self {
        Check {
            action,
            resource: Resource::Key(key),
        }
    }

    pub fn alias(action: &'static str, alias_arn: String) -> Self {
        Check {
            action,
            resource: Resource::Alias(alias_arn),
        }
    }

    pub fn account(action: &'static str) -> Self {
        Check {
            action,
            resource: Resource::None,
        }
    }
}

fn denied(caller: &Caller, action: &str, resource: Option<&str>) -> KmsError {
    let on = resource
        .map(|r| format!(" on resource: {r}"))
        .unwrap_or_default();
    KmsError::new(
        ErrorCode::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action}{on} because no resource-based policy allows the {action} action",
            caller.arn()
        ),
    )
}

impl Kms {
    /// Allows the request only if every check passes; reports the first failing check.
    pub(crate) fn authorize(&self, caller: &Caller, checks: &[Check<'_>]) -> KmsResult<()> {
        for check in checks {
            match &check.resource {
                Resource::Key(key) if key.account != caller.account() => {
                    let arn = key_arn(&key.region, &key.account, &key.key_id);
                    return Err(denied(caller, check.action, Some(&arn)));
                }
                Resource::Alias(arn) if !arn.contains(&format!(":{}:alias/", caller.account())) => {
                    return Err(denied(caller, check.action, Some(arn)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Authorization, then the DryRun answer when the request asked for one.
    pub(crate) fn authorize_dry_run(
        &self,
        caller: &Caller,
        checks: &[Check<'_>],
        dry_run: Option<bool>,
    ) -> KmsResult<()> {
        self.authorize(caller, checks)?;
        if dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        Ok(())
    }
}
