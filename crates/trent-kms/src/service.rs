//! The service object: the state every operation works on (store, root key, caches,
//! identities, authorization mode). Dispatch is the operation table's (`crate::operation`), the
//! request pipeline `crate::call`.

use std::sync::Arc;

use trent_crypto::RootKey;
use trent_store::{KeyRecord, Store};

use crate::authz::{AuthzMode, PolicyCache};
use crate::clock::Clock;
use crate::error::{KmsError, KmsResult};
use crate::identity::{Directory, DirectoryCell};
use crate::managed::PreparedKeys;
use crate::materials::{Material, MaterialCache, key_spec};
use crate::usage::KeyUsageLog;

pub struct Kms {
    pub(crate) store: Store,
    pub(crate) root_key: RootKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) materials: MaterialCache,
    pub(crate) directory: DirectoryCell,
    pub(crate) policies: PolicyCache,
    pub(crate) authz_mode: AuthzMode,
    pub(crate) usage: KeyUsageLog,
    pub(crate) prepared_keys: PreparedKeys,
    /// Customer managed keys per account and Region (`quotas`).
    pub(crate) max_keys_per_region: usize,
}

impl Kms {
    pub fn new(
        store: Store,
        root_key: RootKey,
        clock: Arc<dyn Clock>,
        directory: Arc<Directory>,
        authz_mode: AuthzMode,
    ) -> Kms {
        Kms {
            store,
            root_key,
            clock,
            materials: MaterialCache::default(),
            directory: DirectoryCell::new(directory),
            policies: PolicyCache::default(),
            authz_mode,
            usage: KeyUsageLog::default(),
            prepared_keys: PreparedKeys::default(),
            max_keys_per_region: crate::quotas::DEFAULT_MAX_KEYS_PER_REGION,
        }
    }

    /// The quota of customer managed keys per account and Region (`trent serve
    /// --max-keys-per-region`).
    pub fn with_max_keys_per_region(mut self, max: usize) -> Kms {
        self.max_keys_per_region = max;
        self
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Deletes every key whose deletion window has passed. Returns how many were deleted.
    pub fn purge_due_keys(&self) -> KmsResult<usize> {
        let mut deleted = 0;
        for (region, key_id) in self.store.keys_due_for_deletion(self.now_ms())? {
            if let Some(key) = self.store.get_key(&region, &key_id)?
                && self.purge_key(&key)?
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

impl Kms {
    /// The material of one version of `key`; `None` if the key has no such version. Cached
    /// versions are served without reading the store: material versions never change.
    pub(crate) fn material_for(
        &self,
        key: &KeyRecord,
        version: u32,
    ) -> KmsResult<Option<Arc<Material>>> {
        let cache_key = (key.region.clone(), key.key_id.clone(), version);
        if let Some(m) = self.materials.get(&cache_key) {
            return Ok(Some(m));
        }
        let Some(stored) = self.store.material(&key.region, &key.key_id, version)? else {
            return Ok(None);
        };
        if stored.sealed.is_none() {
            // Imported material that expired or was deleted: ciphertexts it made wait for it.
            return Err(KmsError::invalid_state(format!(
                "{} is pending import.",
                crate::arn::key_arn(&key.region, &key.account, &key.key_id)
            )));
        }
        let spec = key_spec(key)?;
        self.materials
            .get_or_unseal(&self.root_key, &key.region, &key.key_id, spec, &stored)
            .map(Some)
    }

    /// Whether `key` has its current material (keys of EXTERNAL origin may have none yet, or
    /// have lost it to expiry or DeleteImportedKeyMaterial).
    pub(crate) fn has_current_material(&self, key: &KeyRecord) -> KmsResult<bool> {
        Ok(self
            .store
            .material(&key.region, &key.key_id, key.current_material)?
            .is_some_and(|m| m.sealed.is_some()))
    }

    /// The material new ciphertexts, signatures and MACs are made with.
    pub(crate) fn current_material(&self, key: &KeyRecord) -> KmsResult<Arc<Material>> {
        self.material_for(key, key.current_material)?
            .ok_or_else(|| {
                KmsError::internal(format!("key {} has no current material", key.key_id))
            })
    }
}
