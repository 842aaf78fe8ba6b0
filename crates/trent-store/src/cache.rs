//! Write-through caches in front of SQLite, so the hot path (resolve a key, find its material,
//! its grants for the caller, its aliases and tags) does not read the database for hot keys.
//!
//! Every write of the cached tables goes through [`crate::Store`], which updates or evicts the
//! affected entries after its transaction commits; this is sound because one process owns the
//! database file. (A shared database with several instances needs invalidation through the
//! database, e.g. PostgreSQL LISTEN/NOTIFY.)

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// Entries and a generation counter bumped by every write-side change, so a reader that loaded
/// a value from the database does not put it in the cache if a write committed meanwhile.
struct Inner<K, V> {
    map: HashMap<K, V>,
    generation: u64,
}

/// Past this many entries a cache starts over; enough for every hot key of a large deployment.
const MAX_ENTRIES: usize = 200_000;

pub struct Cache<K, V> {
    entries: RwLock<Inner<K, V>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: RwLock::new(Inner {
                map: HashMap::new(),
                generation: 0,
            }),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K, V>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K, V>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value, or `load`'s (cached unless a write happened while loading).
    pub fn get_or_load<E>(&self, k: K, load: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        let generation = {
            let inner = self.read();
            if let Some(v) = inner.map.get(&k) {
                return Ok(v.clone());
            }
            inner.generation
        };
        let v = load()?;
        let mut inner = self.write();
        if inner.generation == generation {
            if inner.map.len() >= MAX_ENTRIES {
                inner.map.clear();
            }
            inner.map.insert(k, v.clone());
        }
        Ok(v)
    }

    /// After a committed write: the new value.
    pub fn insert(&self, k: K, v: V) {
        let mut inner = self.write();
        inner.generation += 1;
        if inner.map.len() >= MAX_ENTRIES {
            inner.map.clear();
        }
        inner.map.insert(k, v);
    }

    /// After a committed write: forget one entry.
    pub fn remove(&self, k: &K) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.remove(k);
    }

    /// After a committed write: forget the entries `keep` rejects.
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.retain(|k, _| keep(k));
    }

    pub fn clear(&self) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.clear();
    }
}
