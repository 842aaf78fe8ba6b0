//! Following the changes other instances make to a shared database (PostgreSQL): the store's
//! caches forget them by themselves (`trent_store::CachedStore`); the service's own state derived
//! from stored data — unsealed material, the directory of identities — forgets them here.

use std::sync::Arc;

use trent_store::changes::Change;

use crate::Kms;

impl Kms {
    /// Subscribes this service to the changes other instances make to its store (a no-op for a
    /// store only this process writes). Holds the service weakly: dropping the last `Arc` of
    /// it ends the subscription's effect.
    pub fn follow_remote_changes(self: &Arc<Kms>) {
        let kms = Arc::downgrade(self);
        self.store.on_remote_change(Arc::new(move |change| {
            if let Some(kms) = kms.upgrade() {
                kms.apply_remote_change(change);
            }
        }));
    }

    fn apply_remote_change(&self, change: &Change) {
        match change {
            // Imported material may have been deleted, expired or imported again.
            Change::Key { region, key_id } => self.materials.evict_key(region, key_id),
            Change::Identities => self.reload_after_remote_change(),
            Change::Everything => {
                self.materials.clear();
                self.reload_after_remote_change();
            }
            Change::Aliases { .. } | Change::Grants { .. } => {}
        }
    }

    fn reload_after_remote_change(&self) {
        if let Err(e) = self.reload_identities() {
            // The directory stays as it was; the next change (or reconnection) tries again.
            tracing::warn!(error = %e, "cannot reload identities after another instance's change");
        }
    }
}
