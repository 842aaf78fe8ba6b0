//! Parsed key policies, keyed by their text: a policy is parsed once, not on every request, and
//! a changed policy (new text) is parsed afresh without any explicit invalidation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use trent_policy::{Policy, PolicyError, PolicyKind};

/// Enough for every key of a large deployment; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct PolicyCache {
    entries: RwLock<HashMap<String, Arc<Policy>>>,
}

impl PolicyCache {
    pub fn get_or_parse(&self, text: &str, kind: PolicyKind) -> Result<Arc<Policy>, PolicyError> {
        if let Some(p) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(text)
        {
            return Ok(Arc::clone(p));
        }
        let policy = Arc::new(Policy::parse(text, kind)?);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(text.to_string(), Arc::clone(&policy));
        Ok(policy)
    }
}
