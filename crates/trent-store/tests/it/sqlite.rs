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
fn keys_stored_before_the_key_manager_and_primary_region_columns_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    drop(store);
    // The database as the schema before the key_manager, primary_region and meta migrations
    // left it: with the grant-provenance and permissions-boundary ones after them they are the
    // last five, so undoing them is dropping their tables, columns and index and stepping the
    // version back. One key was
    // multi-Region then (a primary: no replicas existed).
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "ALTER TABLE iam_users DROP COLUMN permissions_boundary; \
         ALTER TABLE iam_roles DROP COLUMN permissions_boundary; \
         DROP TABLE ended_grants; ALTER TABLE grants DROP COLUMN created_by; \
         ALTER TABLE grants DROP COLUMN created_request_id; \
         DROP TABLE meta; DROP INDEX keys_by_id; ALTER TABLE keys DROP COLUMN primary_region; \
         ALTER TABLE keys DROP COLUMN key_manager; \
         INSERT INTO keys SELECT 'eu-west-1', 'mrk-1', account, created_ms, description, \
           key_spec, key_usage, origin, key_state, deletion_ms, pending_window_days, policy, 1, \
           current_material, policy_principal_ids, rotation_period_days, next_rotation_ms \
           FROM keys WHERE key_id = 'k1'; \
         PRAGMA user_version = {};",
        version - 5
    ))
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    let k1 = store.get_key(REGION, "k1").unwrap().unwrap();
    assert_eq!(k1.key_manager, trent_store::KeyManager::Customer);
    assert_eq!(k1.primary_region, None);
    let mrk = store.get_key("eu-west-1", "mrk-1").unwrap().unwrap();
    assert_eq!(mrk.primary_region.as_deref(), Some("eu-west-1"));
    assert!(mrk.is_multi_region() && !mrk.is_replica());
    assert_eq!(
        store.related_keys(ACCOUNT, "mrk-1").unwrap(),
        vec![mrk.clone()]
    );
    // And the migrated columns take the new keys' values.
    store
        .create_key(
            &trent_store::KeyRecord {
                key_manager: trent_store::KeyManager::Aws,
                primary_region: Some("eu-west-1".into()),
                ..key("k2")
            },
            Some(&material()),
            &[],
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let k2 = store.get_key(REGION, "k2").unwrap().unwrap();
    assert_eq!(k2.key_manager, trent_store::KeyManager::Aws);
    assert!(k2.is_replica());
}
