//! One cache of [`crate::CachedStore`], and the protocol that keeps it coherent with the backend
//! behind it when reads and writes run concurrently:
//!
//! * A write never puts a value in the cache; after the backend's write returns (committed or
//!   not), it evicts the entries the write may have changed. Two writers of one entry can finish
//!   in one order in the backend and reach the cache in the other, so an inserted value could be
//!   the older one and stay there; evictions commute, so whatever their order the entry is gone
//!   and the next read loads what the backend holds.
//! * A reader that misses notes the cache's generation, loads from the backend, and fills the
//!   entry only if no eviction happened meanwhile (every eviction bumps the generation). A write
//!   that committed before the load began is in what the load returns; one that committed
//!   during the load evicts before the fill (the fill is skipped) or after it (the filled value
//!   goes). Either way no stale value stays. This needs only that the backend's reads see every
//!   write that returned before they started.
//!
//! The generation is per cache, not per entry: an eviction anywhere makes concurrent loads of
//! that cache skip their fill, which costs a later reload and never correctness.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// Entries and the generation: the number of evictions so far.
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

// Every critical section only reads, inserts or removes whole entries: a panic inside one
// (a `Clone` or `Hash` impl) leaves a map that may lack entries but holds no stale one, so a
// poisoned lock is safe to keep using.
impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K, V>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K, V>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value, or `load`'s (cached unless an eviction happened while loading).
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

    /// After a write: forget one entry.
    pub fn remove(&self, k: &K) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.remove(k);
    }

    /// After a write: forget the entries `keep` rejects.
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.retain(|k, _| keep(k));
    }

    /// After a write: forget everything.
    pub fn clear(&self) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::Cache;

    fn loads(
        cache: &Cache<u32, &'static str>,
        k: u32,
        value: &'static str,
    ) -> (bool, &'static str) {
        let loaded = Cell::new(false);
        let v = cache
            .get_or_load(k, || {
                loaded.set(true);
                Ok::<_, ()>(value)
            })
            .unwrap_or_default();
        (loaded.get(), v)
    }

    #[test]
    fn a_hit_does_not_load_and_an_eviction_makes_the_next_read_load() {
        let cache = Cache::default();
        assert_eq!(loads(&cache, 1, "v1"), (true, "v1"));
        assert_eq!(loads(&cache, 1, "other"), (false, "v1"));
        cache.remove(&1);
        assert_eq!(loads(&cache, 1, "v2"), (true, "v2"));
        cache.retain(|k| *k != 1);
        assert_eq!(loads(&cache, 1, "v3"), (true, "v3"));
        cache.clear();
        assert_eq!(loads(&cache, 1, "v4"), (true, "v4"));
    }

    #[test]
    fn a_load_overlapped_by_an_eviction_is_not_cached() {
        let cache: Cache<u32, &'static str> = Cache::default();
        // A write commits (and evicts) while the reader loads the value from before it: the
        // reader answers with what it loaded but must not leave it in the cache.
        let v = cache
            .get_or_load(1, || {
                cache.remove(&1);
                Ok::<_, ()>("before the write")
            })
            .unwrap_or_default();
        assert_eq!(v, "before the write");
        assert_eq!(
            loads(&cache, 1, "after the write"),
            (true, "after the write")
        );
        // Any eviction in the cache counts, not only one of the same entry.
        let _ = cache.get_or_load(2, || {
            cache.remove(&99);
            Ok::<_, ()>("old")
        });
        assert_eq!(loads(&cache, 2, "new"), (true, "new"));
    }

    #[test]
    fn a_failed_load_caches_nothing() {
        let cache: Cache<u32, &'static str> = Cache::default();
        assert_eq!(
            cache.get_or_load(1, || Err("backend down")),
            Err("backend down")
        );
        assert_eq!(loads(&cache, 1, "v"), (true, "v"));
    }
}
