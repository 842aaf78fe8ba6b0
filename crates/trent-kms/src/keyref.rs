//! Resolving the `KeyId` members of requests: key ID, key ARN, alias name or alias ARN, each
//! accepted only where AWS accepts it, with AWS's NotFound messages (spec §7.3).

use trent_store::{KeyRecord, KeyState};

use crate::arn::{alias_arn, key_arn, parse_kms_arn, partition};
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::managed::PreparedKey;
use crate::service::Kms;

/// Which identifier forms an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Key ID, key ARN, alias name, alias ARN (cryptographic operations).
    KeyOrAlias,
    /// Key ID or key ARN only (management operations).
    KeyOnly,
    /// As `KeyOrAlias`, and the first use of `alias/aws/<service>` in the caller's account
    /// prepares that AWS managed key (Encrypt, GenerateDataKey*, ReEncrypt's destination,
    /// DescribeKey): the handler authorizes, then stores it with [`Kms::store_prepared`].
    CreatingManaged,
}

/// A key found for a request, and the alias name used to find it (`kms:RequestAlias`).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub key: KeyRecord,
    // Read by the request context of the authorizer (`kms:RequestAlias`).
    #[allow(dead_code)]
    pub via_alias: Option<String>,
    /// An AWS managed key this request uses first: `key` is it, not stored yet.
    pub(crate) prepared: Option<Box<PreparedKey>>,
}

impl Resolved {
    /// A stored key named by key ID or ARN (or found another way: a ciphertext's header).
    pub fn stored(key: KeyRecord) -> Resolved {
        Resolved {
            key,
            via_alias: None,
            prepared: None,
        }
    }

    pub fn arn(&self) -> String {
        key_arn(&self.key.region, &self.key.account, &self.key.key_id)
    }
}

/// A key ID is a UUID, or `mrk-` and 32 hex digits for multi-Region keys.
pub fn is_key_id(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn aliases_not_supported() -> KmsError {
    KmsError::new(
        ErrorCode::InvalidArn,
        "Key Aliases are not supported for this operation.",
    )
}

impl Kms {
    /// Looks a key up by region and ID, applying a deletion whose waiting period has passed.
    pub(crate) fn load_key(&self, region: &str, key_id: &str) -> KmsResult<Option<KeyRecord>> {
        let Some(key) = self.store.get_key(region, key_id)? else {
            return Ok(None);
        };
        if key.key_state == KeyState::PendingDeletion
            && key.deletion_ms.is_some_and(|d| d <= self.now_ms())
            && self.purge_key(&key)?
        {
            return Ok(None);
        }
        Ok(Some(key))
    }

    fn key_in_account(&self, region: &str, account: &str, key_id: &str) -> KmsResult<KeyRecord> {
        match self.load_key(region, key_id)? {
            Some(k) if k.account == account => Ok(k),
            _ => Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                key_arn(region, account, key_id)
            ))),
        }
    }

    /// The key an alias of `account` names, for `caller`. With
    /// [`Accept::CreatingManaged`], a missing `alias/aws/<service>` of the caller's
    /// own account is the AWS managed key its first use prepares.
    fn key_of_alias(
        &self,
        caller: &Caller,
        account: &str,
        alias_name: &str,
        accept: Accept,
    ) -> KmsResult<Resolved> {
        let region = caller.region.as_str();
        let not_found = || {
            KmsError::not_found(format!(
                "Alias {} is not found.",
                alias_arn(region, account, alias_name)
            ))
        };
        let found = |key, prepared| Resolved {
            key,
            via_alias: Some(alias_name.to_string()),
            prepared,
        };
        if let Some(alias) = self.store.get_alias(region, account, alias_name)? {
            let key = self
                .load_key(region, &alias.target_key_id)?
                .ok_or_else(not_found)?;
            return Ok(found(key, None));
        }
        if accept == Accept::CreatingManaged
            && account == caller.account()
            && let Some(prepared) = self.prepare_managed_key(region, account, alias_name)?
        {
            return Ok(found(prepared.key().clone(), Some(Box::new(prepared))));
        }
        Err(not_found())
    }

    /// Resolves a `KeyId`-like member for `caller`. Key IDs and alias names are looked up in the
    /// caller's account and region; ARNs may name another account (authorization decides).
    pub(crate) fn resolve(
        &self,
        caller: &Caller,
        input: &str,
        accept: Accept,
    ) -> KmsResult<Resolved> {
        let region = caller.region.as_str();
        if input.starts_with("arn:") {
            let Some(arn) = parse_kms_arn(input) else {
                return Err(KmsError::not_found(format!("Invalid arn {input}")));
            };
            if arn.region != region {
                return Err(KmsError::not_found(format!("Invalid arn {}", arn.region)));
            }
            // The region is right, so only its own partition can be (`arn:aws-cn:` never
            // names a key of us-east-1).
            if !input.starts_with(&format!("arn:{}:", partition(region))) {
                return Err(KmsError::not_found(format!("Invalid arn {input}")));
            }
            if let Some(id) = arn.resource.strip_prefix("key/") {
                if !is_key_id(id) {
                    return Err(KmsError::not_found(format!("Invalid keyId '{input}'")));
                }
                let key = self.key_in_account(region, &arn.account, id)?;
                return Ok(Resolved::stored(key));
            }
            if arn.resource.starts_with("alias/") {
                if accept == Accept::KeyOnly {
                    return Err(aliases_not_supported());
                }
                return self.key_of_alias(caller, &arn.account, &arn.resource, accept);
            }
            return Err(KmsError::not_found(format!("Invalid arn {input}")));
        }
        if input.starts_with("alias/") {
            if accept == Accept::KeyOnly {
                return Err(aliases_not_supported());
            }
            return self.key_of_alias(caller, caller.account(), input, accept);
        }
        if !is_key_id(input) {
            return Err(KmsError::not_found(format!("Invalid keyId '{input}'")));
        }
        let key = self.key_in_account(region, caller.account(), input)?;
        Ok(Resolved::stored(key))
    }
}

#[cfg(test)]
mod tests {
    use super::is_key_id;

    #[test]
    fn key_id_shapes() {
        assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(!is_key_id("fake-key-id"));
        assert!(!is_key_id("134f2428cec14b25a1ae9048164dba47"));
        assert!(!is_key_id("mrk-fake-key-id"));
        assert!(!is_key_id("1234abcd-12ab-34cd-56ef-1234567890ag"));
    }
}
