//! The service object: the state every operation works on (store, root key, caches,
//! identities, authorization mode). Dispatch is the operation table's (`crate::operation`), the
//! request pipeline `crate::call`.

use std::sync::Arc;

use trent_crypto::RootKey;
use trent_store::Store;

use crate::authz::{AuthzMode, PolicyCache};
use crate::clock::Clock;
use crate::error::KmsResult;
use crate::identity::Directory;
use crate::materials::MaterialCache;

pub struct Kms {
    pub(crate) store: Store,
    pub(crate) root_key: RootKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) materials: MaterialCache,
    pub(crate) directory: crate::iam::DirectoryCell,
    pub(crate) policies: PolicyCache,
    pub(crate) authz_mode: AuthzMode,
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
            directory: crate::iam::DirectoryCell::new(directory),
            policies: PolicyCache::default(),
            authz_mode,
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Deletes every key whose deletion window has passed. Returns how many were deleted.
    pub fn purge_due_keys(&self) -> KmsResult<usize> {
        let due = self.store.keys_due_for_deletion(self.now_ms())?;
        for (region, key_id) in &due {
            self.store.delete_key(region, key_id)?;
            self.materials.evict_key(region, key_id);
            tracing::info!(%region, %key_id, "key deleted at the end of its waiting period");
        }
        Ok(due.len())
    }
}
