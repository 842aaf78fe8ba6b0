//! The store's contract: every method is one transaction, refused writes change nothing, and the
//! write-through caches never serve a value older than the last committed write.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test setup: a failure is a failed test

use trent_store::{Alias, GrantRecord, KeyMaterial, KeyRecord, KeyState, Store, StoreError, Tag};

fn key(id: &str) -> KeyRecord {
    KeyRecord {
        region: "us-east-1".into(),
        key_id: id.into(),
        account: "111122223333".into(),
        created_ms: 1,
        description: String::new(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        key_usage: "ENCRYPT_DECRYPT".into(),
        origin: "AWS_KMS".into(),
        key_state: KeyState::Enabled,
        deletion_ms: None,
        pending_window_days: None,
        policy: "{}".into(),
        multi_region: false,
        current_material: 1,
        policy_principal_ids: None,
    }
}

fn material() -> KeyMaterial {
    KeyMaterial {
        version: 1,
        material_id: "m".into(),
        sealed: vec![1, 2, 3],
        created_ms: 1,
    }
}

fn grant(key_id: &str, id: &str, grantee: &str) -> GrantRecord {
    GrantRecord {
        region: "us-east-1".into(),
        key_id: key_id.into(),
        grant_id: id.into(),
        name: None,
        created_ms: 1,
        grantee_principal: Some(grantee.into()),
        grantee_service_principal: None,
        retiring_principal: None,
        retiring_service_principal: None,
        issuing_account: "arn:aws:iam::111122223333:root".into(),
        operations: vec!["Decrypt".into()],
        constraints: None,
        grantee_unique_id: None,
        retiring_unique_id: None,
    }
}

fn open() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(&dir.path().join("t.db")).unwrap(), dir)
}

#[test]
fn keys_round_trip_and_survive_reopen() {
    let (store, dir) = open();
    store
        .create_key(
            &key("k1"),
            &material(),
            &[Tag {
                key: "a".into(),
                value: "b".into(),
            }],
        )
        .unwrap();
    assert!(matches!(
        store.create_key(&key("k1"), &material(), &[]),
        Err(StoreError::AlreadyExists)
    ));
    store
        .modify_key("us-east-1", "k1", |k| {
            k.key_state = KeyState::Disabled;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    // The cache serves the committed value, and a fresh store reads the same from disk.
    assert_eq!(
        store.get_key("us-east-1", "k1").unwrap().unwrap().key_state,
        KeyState::Disabled
    );
    drop(store);
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let k = store.get_key("us-east-1", "k1").unwrap().unwrap();
    assert_eq!(k.key_state, KeyState::Disabled);
    assert_eq!(
        store
            .material("us-east-1", "k1", 1)
            .unwrap()
            .unwrap()
            .sealed,
        vec![1, 2, 3]
    );
    assert_eq!(store.tags("us-east-1", "k1").unwrap().len(), 1);
}

#[test]
fn refused_modification_changes_nothing() {
    let (store, _dir) = open();
    store.create_key(&key("k1"), &material(), &[]).unwrap();
    let before = store.get_key("us-east-1", "k1").unwrap();
    let refused: Result<(), StoreError> = store.modify_key("us-east-1", "k1", |k| {
        k.description = "changed".into();
        Err(StoreError::LimitExceeded("test"))
    });
    assert!(refused.is_err());
    assert_eq!(store.get_key("us-east-1", "k1").unwrap(), before);
}

#[test]
fn tag_limit_rolls_back_the_whole_request() {
    let (store, _dir) = open();
    store.create_key(&key("k1"), &material(), &[]).unwrap();
    let tags: Vec<Tag> = (0..3)
        .map(|i| Tag {
            key: format!("t{i}"),
            value: "v".into(),
        })
        .collect();
    store.tag_key("us-east-1", "k1", &tags[..2], 2).unwrap();
    assert!(matches!(
        store.tag_key("us-east-1", "k1", &tags[2..], 2),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.tags("us-east-1", "k1").unwrap().len(), 2);
    store.untag_key("us-east-1", "k1", &["t0".into()]).unwrap();
    assert_eq!(store.tags("us-east-1", "k1").unwrap().len(), 1);
}

#[test]
fn aliases_and_cache_coherence() {
    let (store, _dir) = open();
    store.create_key(&key("k1"), &material(), &[]).unwrap();
    store.create_key(&key("k2"), &material(), &[]).unwrap();
    assert!(
        store
            .get_alias("us-east-1", "111122223333", "alias/a")
            .unwrap()
            .is_none()
    );
    let alias = Alias {
        region: "us-east-1".into(),
        account: "111122223333".into(),
        alias_name: "alias/a".into(),
        target_key_id: "k1".into(),
        created_ms: 1,
        updated_ms: 1,
    };
    store.create_alias(&alias).unwrap();
    // The cached absence above must not hide the new alias.
    assert_eq!(
        store
            .get_alias("us-east-1", "111122223333", "alias/a")
            .unwrap()
            .unwrap()
            .target_key_id,
        "k1"
    );
    assert!(matches!(
        store.create_alias(&alias),
        Err(StoreError::AlreadyExists)
    ));
    store
        .update_alias("us-east-1", "111122223333", "alias/a", "k2", 2)
        .unwrap();
    assert_eq!(
        store
            .get_alias("us-east-1", "111122223333", "alias/a")
            .unwrap()
            .unwrap()
            .target_key_id,
        "k2"
    );
    assert_eq!(
        store
            .aliases_of_key("us-east-1", "111122223333", "k2")
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .aliases_of_key("us-east-1", "111122223333", "k1")
            .unwrap()
            .is_empty()
    );
    // Deleting a key takes its aliases, grants, tags and material with it.
    store
        .import_grants(&[(
            grant("k2", "g1", "arn:aws:iam::111122223333:role/R"),
            "t1".into(),
        )])
        .unwrap();
    store.delete_key("us-east-1", "k2").unwrap();
    assert!(store.get_key("us-east-1", "k2").unwrap().is_none());
    assert!(
        store
            .get_alias("us-east-1", "111122223333", "alias/a")
            .unwrap()
            .is_none()
    );
    assert!(store.material("us-east-1", "k2", 1).unwrap().is_none());
    assert!(store.grant_by_token("t1").unwrap().is_none());
}

#[test]
fn grants_by_grantee_name_idempotency_and_limit() {
    let (store, _dir) = open();
    store.create_key(&key("k1"), &material(), &[]).unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    assert!(
        store
            .grants_for_grantees("us-east-1", "k1", &[role])
            .unwrap()
            .is_empty()
    );
    let mut named = grant("k1", "g1", role);
    named.name = Some("n".into());
    assert_eq!(store.create_grant(&named, "t1", 10).unwrap(), "g1");
    // The cached empty result above must not hide the new grant.
    assert_eq!(
        store
            .grants_for_grantees("us-east-1", "k1", &[role])
            .unwrap()
            .len(),
        1
    );
    let mut retry = named.clone();
    retry.grant_id = "g2".into();
    assert_eq!(
        store.create_grant(&retry, "t2", 10).unwrap(),
        "g1",
        "same name and parameters"
    );
    assert_eq!(store.grant_by_token("t2").unwrap().unwrap().grant_id, "g1");
    store
        .create_grant(&grant("k1", "g3", "other"), "t3", 10)
        .unwrap();
    assert!(matches!(
        store.create_grant(&grant("k1", "g4", "x"), "t4", 2),
        Err(StoreError::LimitExceeded(_))
    ));
    assert!(store.grant_by_token("t4").unwrap().is_none());
    store.delete_grant("us-east-1", "k1", "g1").unwrap();
    assert!(
        store
            .grants_for_grantees("us-east-1", "k1", &[role])
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete_grant("us-east-1", "k1", "g1"),
        Err(StoreError::NotFound)
    ));
}
