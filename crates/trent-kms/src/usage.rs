//! The last successful cryptographic use of each key (`GetKeyLastUsage`), kept in memory as
//! requests finish and written to the store in batches by the lifecycle sweep (and when the
//! server stops): a cryptographic request costs no store write. A crash loses at most the uses
//! since the last sweep.

use std::collections::HashMap;
use std::sync::Mutex;

use trent_store::KeyUsage;

/// Uses not yet written to the store, the latest per key.
#[derive(Default)]
pub struct KeyUsageLog(Mutex<HashMap<(String, String), KeyUsage>>);

impl KeyUsageLog {
    pub fn record(&self, usage: KeyUsage) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (usage.region.clone(), usage.key_id.clone());
        if pending.get(&key).is_none_or(|u| u.at_ms <= usage.at_ms) {
            pending.insert(key, usage);
        }
    }

    /// The pending use of one key, if any.
    pub fn pending(&self, region: &str, key_id: &str) -> Option<KeyUsage> {
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .get(&(region.to_string(), key_id.to_string()))
            .cloned()
    }

    /// Takes every pending use (to write them).
    pub fn take(&self) -> Vec<KeyUsage> {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending.drain().map(|(_, u)| u).collect()
    }

    /// Puts back uses that could not be written (unless newer ones arrived meanwhile).
    pub fn restore(&self, usage: Vec<KeyUsage>) {
        for u in usage {
            self.record(u);
        }
    }
}
