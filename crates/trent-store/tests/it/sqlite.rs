//! What only the SQLite backend has: the database file outlives the process.

use trent_store::{KeyState, Store, StoreError};

use crate::fixtures::*;

#[test]
fn keys_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    store
        .create_key(&key("k1"), Some(&material()), &[tag("a", "b")])
        .unwrap();
    assert!(matches!(
        store.create_key(&key("k1"), Some(&material()), &[]),
        Err(StoreError::AlreadyExists)
    ));
    store
        .modify_key(REGION, "k1", |k| {
            k.key_state = KeyState::Disabled;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    // The cache serves the committed value, and a fresh store reads the same from disk.
    assert_eq!(
        store.get_key(REGION, "k1").unwrap().unwrap().key_state,
        KeyState::Disabled
    );
    drop(store);
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let k = store.get_key(REGION, "k1").unwrap().unwrap();
    assert_eq!(k.key_state, KeyState::Disabled);
    assert_eq!(
        store.material(REGION, "k1", 1).unwrap().unwrap().sealed,
        Some(vec![1, 2, 3])
    );
    assert_eq!(store.tags(REGION, "k1").unwrap().len(), 1);
}
