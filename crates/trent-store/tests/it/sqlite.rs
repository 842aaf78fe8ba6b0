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

#[test]
fn keys_stored_before_the_key_manager_column_are_customer_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    drop(store);
    // The database as the schema before the key_manager migration left it: that migration is
    // the last one, so undoing it is dropping its column and stepping the version back.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "ALTER TABLE keys DROP COLUMN key_manager; PRAGMA user_version = {};",
        version - 1
    ))
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.get_key(REGION, "k1").unwrap().unwrap().key_manager,
        trent_store::KeyManager::Customer
    );
    // And the migrated column takes the new keys' manager.
    store
        .create_key(
            &trent_store::KeyRecord {
                key_manager: trent_store::KeyManager::Aws,
                ..key("k2")
            },
            Some(&material()),
            &[],
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.get_key(REGION, "k2").unwrap().unwrap().key_manager,
        trent_store::KeyManager::Aws
    );
}
