//! Changes to a key together with the other keys of its multi-Region set.
//!
//! The keys of a multi-Region set (one primary, replicas in other Regions, all with the same key
//! ID) share their key material, its current version and the automatic rotation schedule; KMS
//! keeps them in step ("SynchronizeMultiRegionKey"). Trent stores each key of a set with its own
//! copy of the shared properties and changes the whole set in one store transaction
//! ([`trent_store::Store::modify_related_keys`]), so no reader ever sees a replica behind its
//! primary. The sealed material can be copied as it is: sealing binds it to the key ID and
//! version, not to the Region.
//!
//! A single-Region key is a set of one, so the operations that change shared properties
//! (rotation and its schedule, deletion) have one code path for both.

use trent_store::{KeyMaterial, KeyRecord, KeyState, RelatedKey};

use crate::arn::key_arn;
use crate::clock::DAY_MS;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::service::Kms;

/// The set of a key, as a change sees it: every key with its ID, and which one it is.
pub struct KeySet<'a> {
    pub keys: &'a mut Vec<RelatedKey>,
    /// The index in `keys` of the key the request named.
    pub this: usize,
}

impl KeySet<'_> {
    /// The key the request named, as stored.
    pub fn key(&mut self) -> &mut RelatedKey {
        &mut self.keys[self.this]
    }

    /// Whether the set has keys besides its primary.
    pub fn has_replicas(&self) -> bool {
        self.keys.iter().any(|k| k.key.is_replica())
    }

    /// Copies the shared properties from the key at `source` to every other key of the set
    /// (see [`synchronize`]).
    pub fn synchronize_from(&mut self, source: usize) {
        let (from, others) = (self.keys[source].clone(), self.keys.iter_mut());
        for (i, to) in others.enumerate() {
            if i != source {
                synchronize(&from, to);
            }
        }
    }
}

/// Copies what a multi-Region set shares from `from` to `to`: the current material version, the
/// automatic rotation schedule and every material version `to` lacks. Imported material is not
/// copied: each key of the set gets it by its own ImportKeyMaterial (of the same material, which
/// the version's material ID checks); `to` learns only which versions exist.
pub fn synchronize(from: &RelatedKey, to: &mut RelatedKey) {
    to.key.current_material = from.key.current_material;
    to.key.rotation_period_days = from.key.rotation_period_days;
    to.key.next_rotation_ms = from.key.next_rotation_ms;
    to.key.primary_region = from.key.primary_region.clone();
    let imported = from.key.origin == "EXTERNAL";
    for m in &from.materials {
        if to.materials.iter().any(|have| have.version == m.version) {
            continue;
        }
        to.materials.push(if imported {
            KeyMaterial {
                sealed: None,
                valid_to_ms: None,
                description: None,
                ..m.clone()
            }
        } else {
            m.clone()
        });
    }
    to.materials.sort_by_key(|m| m.version);
}

/// `UnsupportedOperationException` for an operation only a multi-Region primary key can do.
pub fn not_a_primary(key: &KeyRecord) -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperation,
        format!(
            "{} is not a multi-Region primary key.",
            key_arn(&key.region, &key.account, &key.key_id)
        ),
    )
}

/// New imported material for a multi-Region key would have to reach every replica before the
/// rotation (AWS's `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`); Trent does not do that yet.
pub fn imported_rotation_unsupported() -> KmsError {
    KmsError::unsupported(
        "On-demand rotation of multi-Region keys with imported key material is not supported \
         by this version of Trent.",
    )
}

impl Kms {
    /// Runs `change` on the set of `key` (just `key` for a single-Region key) in one store
    /// transaction; `change` may refuse, and then nothing is written. The unsealed material
    /// cached for the set is dropped afterwards, as versions may have changed.
    pub(crate) fn change_key_set<T>(
        &self,
        key: &KeyRecord,
        change: impl FnOnce(KeySet<'_>) -> KmsResult<T>,
    ) -> KmsResult<T> {
        let mut regions = Vec::new();
        let result = self
            .store
            .modify_related_keys(&key.account, &key.key_id, |keys| {
                regions = keys.iter().map(|k| k.key.region.clone()).collect();
                let this = keys
                    .iter()
                    .position(|k| k.key.region == key.region)
                    .ok_or_else(|| {
                        KmsError::not_found(format!(
                            "Key '{}' does not exist",
                            key_arn(&key.region, &key.account, &key.key_id)
                        ))
                    })?;
                change(KeySet { keys, this })
            });
        for region in &regions {
            self.materials.evict_key(region, &key.key_id);
        }
        result
    }
}

impl Kms {
    /// Deletes `key` if its waiting period has passed (re-checked in the transaction). When it
    /// was the last replica of a primary awaiting its replicas' deletion, that primary's own
    /// waiting period begins now, in the same transaction. Returns whether `key` was deleted.
    pub(crate) fn purge_key(&self, key: &KeyRecord) -> KmsResult<bool> {
        let now = self.now_ms();
        let deleted = self.change_key_set(key, |set| {
            let due = |k: &KeyRecord| {
                k.key_state == KeyState::PendingDeletion && k.deletion_ms.is_some_and(|d| d <= now)
            };
            if !due(&set.keys[set.this].key) {
                return Ok(false);
            }
            set.keys.remove(set.this);
            if !set.keys.iter().any(|k| k.key.is_replica()) {
                for k in set.keys.iter_mut() {
                    if k.key.key_state == KeyState::PendingReplicaDeletion {
                        let days = k.key.pending_window_days.unwrap_or(30);
                        k.key.key_state = KeyState::PendingDeletion;
                        k.key.deletion_ms = Some(now + days * DAY_MS);
                    }
                }
            }
            Ok(true)
        })?;
        if deleted {
            tracing::info!(region = %key.region, key_id = %key.key_id, "key deleted at the end of its waiting period");
        }
        Ok(deleted)
    }
}
