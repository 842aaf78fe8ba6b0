//! The contract of `trent_store::Backend`, as tests that take any store. `main.rs` runs every
//! one of them against every backend with `conformance_suite!(name, fixture expression)`; a new
//! backend gets the whole suite with one more line there.
//!
//! Only the refusals the contract names are asserted by variant (`AlreadyExists`, `NotFound`,
//! `Conflict`, `LimitExceeded`); other failures are backend-specific and asserted as errors.

use std::collections::BTreeSet;

use trent_store::iam::{AccessKeyKind, IamData, OwnerKind};
use trent_store::{
    Alias, EndedGrant, GrantEnd, GrantEnding, KeyManager, KeyRecord, KeyState,
    MAX_ENDED_GRANTS_PER_KEY, RotationKind, Store, StoreError,
};

use crate::fixtures::*;

/// A store and whatever must live as long as it (a temporary directory, a database), dropped
/// after it.
pub struct Fixture {
    pub store: Store,
    _lives_longer: Option<Box<dyn std::any::Any>>,
}

impl Fixture {
    pub fn new(store: Store, dir: Option<tempfile::TempDir>) -> Fixture {
        Fixture {
            store,
            _lives_longer: dir.map(|d| Box::new(d) as Box<dyn std::any::Any>),
        }
    }

    pub fn with(store: Store, lives_longer: impl std::any::Any) -> Fixture {
        Fixture {
            store,
            _lives_longer: Some(Box::new(lives_longer)),
        }
    }
}

/// Instantiates every test of this file for one backend, as module `$backend`. The fixture
/// expression is an `Option<Fixture>`: `None` skips the tests (a backend whose server is not
/// there; it says so on standard error).
macro_rules! conformance_suite {
    ($backend:ident, $fixture:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;

            fn fixture() -> Option<$crate::conformance::Fixture> {
                $fixture
            }

            conformance_tests!(
                keys_create_get_list,
                key_material_versions,
                rotation_adds_material_atomically,
                key_materials_are_edited_with_their_key,
                rotation_schedule,
                last_usage_keeps_the_latest,
                modify_key_writes_the_mutable_columns,
                refused_modification_changes_nothing,
                key_policy_round_trips_byte_for_byte,
                delete_key_takes_everything_with_it,
                aliases_and_cache_coherence,
                aliases_unique_per_account_and_region,
                key_manager_round_trips_and_is_immutable,
                key_with_alias_is_all_or_nothing,
                concurrent_keys_with_one_alias_make_one_key,
                tag_limit_rolls_back_the_whole_request,
                tags_upsert_and_order,
                grants_by_grantee_name_idempotency_and_limit,
                grant_indexes_and_listings,
                ended_grants_are_kept_bounded_and_go_with_their_key,
                retire_and_revoke_take_the_tokens,
                import_grants_all_or_nothing,
                deletion_schedule,
                users_and_roles,
                managed_inline_policies_and_attachments,
                access_keys_and_sessions,
                config_identities_are_replaced_at_each_start,
                failed_writes_roll_back,
                concurrent_grant_writers_lose_nothing,
                concurrent_key_modifications_serialise,
                related_keys_change_together,
                related_keys_refusals_change_nothing,
                root_key_canary_is_set_once,
                seed_record_is_replaced_and_exclusive_runs_once,
                key_and_alias_quotas,
            );
        }
    };
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(fixture) = fixture() {
                    $crate::conformance::$name(&fixture.store);
                }
            }
        )*
    };
}

fn ids(keys: &[trent_store::KeyRecord]) -> Vec<&str> {
    keys.iter().map(|k| k.key_id.as_str()).collect()
}

fn grant_ids(grants: &[trent_store::GrantRecord]) -> Vec<&str> {
    grants.iter().map(|g| g.grant_id.as_str()).collect()
}

// ---- keys ---------------------------------------------------------------------------------

pub fn keys_create_get_list(store: &Store) {
    for id in ["k3", "k1", "k2"] {
        store.create_key(&key(id), Some(&material()), &[]).unwrap();
    }
    store
        .create_key(
            &key_in(REGION, "999999999999", "k0"),
            Some(&material()),
            &[],
        )
        .unwrap();
    store
        .create_key(&key_in("eu-west-1", ACCOUNT, "k1"), Some(&material()), &[])
        .unwrap();
    assert!(matches!(
        store.create_key(&key("k1"), Some(&material()), &[]),
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.get_key(REGION, "k1").unwrap(), Some(key("k1")));
    assert_eq!(
        store.get_key("eu-west-1", "k1").unwrap(),
        Some(key_in("eu-west-1", ACCOUNT, "k1"))
    );
    assert_eq!(store.get_key(REGION, "nope").unwrap(), None);

    // One account and region, ordered by key ID, paginated by `after`.
    let all = store.list_keys(REGION, ACCOUNT, None, 100).unwrap();
    assert_eq!(ids(&all), ["k1", "k2", "k3"]);
    let first = store.list_keys(REGION, ACCOUNT, None, 2).unwrap();
    assert_eq!(ids(&first), ["k1", "k2"]);
    let rest = store.list_keys(REGION, ACCOUNT, Some("k2"), 2).unwrap();
    assert_eq!(ids(&rest), ["k3"]);
    assert!(
        store
            .list_keys(REGION, ACCOUNT, Some("k3"), 2)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&store.list_keys("eu-west-1", ACCOUNT, None, 10).unwrap()),
        ["k1"]
    );
    assert_eq!(
        ids(&store.list_keys(REGION, "999999999999", None, 10).unwrap()),
        ["k0"]
    );
}

pub fn key_material_versions(store: &Store) {
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), None);
    let mut m = material();
    m.material_id = "first".into();
    m.sealed = Some(vec![4, 5, 6, 7]);
    store.create_key(&key("k1"), Some(&m), &[]).unwrap();
    // An absence looked up before the key existed is not served after.
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), Some(m.clone()));
    assert_eq!(store.material(REGION, "k1", 2).unwrap(), None);
    assert_eq!(store.material("eu-west-1", "k1", 1).unwrap(), None);
}

/// A rotation, as the service makes one (through the key's set, which for a single-Region key
/// is the key alone): the key's new current version and its material are written together, or
/// neither is.
pub fn rotation_adds_material_atomically(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let second = trent_store::KeyMaterial {
        version: 2,
        material_id: "m2".into(),
        created_ms: 50,
        rotation: Some(RotationKind::OnDemand),
        ..material()
    };
    // A material lookup before the version exists must not hide it afterwards (caches).
    assert_eq!(store.material(REGION, "k1", 2).unwrap(), None);
    let returned = store
        .modify_related_keys(ACCOUNT, "k1", |keys| {
            assert_eq!(keys.len(), 1);
            keys[0].key.current_material = 2;
            keys[0].materials.push(second.clone());
            Ok::<_, StoreError>("rotated")
        })
        .unwrap();
    assert_eq!(returned, "rotated");
    assert_eq!(
        store
            .get_key(REGION, "k1")
            .unwrap()
            .unwrap()
            .current_material,
        2
    );
    assert_eq!(
        store.material(REGION, "k1", 2).unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.materials(REGION, "k1").unwrap(),
        vec![material(), second.clone()]
    );

    // A version the key has already: nothing is written, the key's change included.
    let again = store.modify_related_keys(ACCOUNT, "k1", |keys| {
        keys[0].key.current_material = 3;
        keys[0].key.description = "lost".into();
        keys[0].materials.push(second.clone());
        Ok::<_, StoreError>(())
    });
    assert!(matches!(again, Err(StoreError::Refused)), "{again:?}");
    let stored = store.get_key(REGION, "k1").unwrap().unwrap();
    assert_eq!(
        (stored.current_material, stored.description.as_str()),
        (2, "")
    );

    // A refused rotation writes nothing either.
    let refused = store.modify_related_keys(ACCOUNT, "k1", |keys| {
        keys[0].key.current_material = 3;
        keys[0].materials.push(trent_store::KeyMaterial {
            version: 3,
            ..second.clone()
        });
        Err::<(), _>(StoreError::Refused)
    });
    assert!(refused.is_err());
    assert_eq!(store.materials(REGION, "k1").unwrap().len(), 2);
    assert_eq!(
        store
            .get_key(REGION, "k1")
            .unwrap()
            .unwrap()
            .current_material,
        2
    );
    assert_eq!(store.materials(REGION, "nope").unwrap(), vec![]);

    // Deleting the key takes its versions.
    store.delete_key(REGION, "k1").unwrap();
    assert_eq!(store.materials(REGION, "k1").unwrap(), vec![]);
    assert_eq!(store.material(REGION, "k1", 2).unwrap(), None);
}

/// Imported material: a key created without material, versions added, changed (expired: the
/// sealed bytes go, the ID and settings stay), removed, all with the key in one transaction;
/// refusals and broken rules (a changed material ID, one version twice) write nothing.
pub fn key_materials_are_edited_with_their_key(store: &Store) {
    store.create_key(&key("k1"), None, &[]).unwrap();
    assert_eq!(store.materials(REGION, "k1").unwrap(), vec![]);
    let first = trent_store::KeyMaterial {
        valid_to_ms: Some(500),
        description: Some("batch 1".into()),
        ..material()
    };
    let pending = trent_store::KeyMaterial {
        version: 2,
        material_id: "m2".into(),
        ..material()
    };
    // Lookups before the change must not hide it afterwards (caches).
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), None);
    let imported = store
        .modify_key_materials(REGION, "k1", |k, materials| {
            k.current_material = 1;
            materials.push(first.clone());
            materials.push(pending.clone());
            Ok::<_, StoreError>("imported")
        })
        .unwrap();
    assert_eq!(imported, "imported");
    assert_eq!(
        store.materials(REGION, "k1").unwrap(),
        vec![first.clone(), pending.clone()]
    );
    assert_eq!(
        store.material(REGION, "k1", 1).unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_key(REGION, "k1")
            .unwrap()
            .unwrap()
            .current_material,
        1
    );
    assert_eq!(
        store.keys_with_expired_material(499).unwrap(),
        Vec::<(String, String)>::new()
    );
    assert_eq!(
        store.keys_with_expired_material(500).unwrap(),
        vec![(REGION.to_string(), "k1".to_string())]
    );

    // Expiry: the sealed bytes go; the version stays and is no longer due.
    store
        .modify_key_materials(REGION, "k1", |k, materials| {
            k.key_state = KeyState::PendingImport;
            materials[0].sealed = None;
            materials.retain(|m| m.version != 2);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let gone = trent_store::KeyMaterial {
        sealed: None,
        ..first.clone()
    };
    assert_eq!(store.materials(REGION, "k1").unwrap(), vec![gone.clone()]);
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), Some(gone.clone()));
    assert_eq!(store.material(REGION, "k1", 2).unwrap(), None);
    assert_eq!(
        store.keys_with_expired_material(1000).unwrap(),
        Vec::<(String, String)>::new()
    );
    assert_eq!(
        store.get_key(REGION, "k1").unwrap().unwrap().key_state,
        KeyState::PendingImport
    );

    // Refused, an ID changed, a version twice: nothing written, the key's change included.
    let refused = store.modify_key_materials(REGION, "k1", |k, materials| {
        k.key_state = KeyState::Enabled;
        materials.clear();
        Err::<(), _>(StoreError::Refused)
    });
    assert!(refused.is_err());
    for broken in [
        |m: &mut Vec<trent_store::KeyMaterial>| m[0].material_id = "other".into(),
        |m: &mut Vec<trent_store::KeyMaterial>| m.push(m[0].clone()),
    ] {
        let result = store.modify_key_materials(REGION, "k1", |k, materials| {
            k.key_state = KeyState::Enabled;
            broken(materials);
            Ok::<_, StoreError>(())
        });
        assert!(matches!(result, Err(StoreError::Refused)), "{result:?}");
    }
    assert_eq!(store.materials(REGION, "k1").unwrap(), vec![gone]);
    assert_eq!(
        store.get_key(REGION, "k1").unwrap().unwrap().key_state,
        KeyState::PendingImport
    );
    let missing = store.modify_key_materials(REGION, "nope", |_, _| Ok::<_, StoreError>(()));
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// Automatic rotation's period and next date are mutable columns; keys are due once their date
/// has come.
pub fn rotation_schedule(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&key("k2"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&key_in("eu-west-1", ACCOUNT, "k3"), Some(&material()), &[])
        .unwrap();
    for (region, id, next) in [(REGION, "k1", 100), ("eu-west-1", "k3", 300)] {
        store
            .modify_key(region, id, |k| {
                k.rotation_period_days = Some(90);
                k.next_rotation_ms = Some(next);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    let k1 = store.get_key(REGION, "k1").unwrap().unwrap();
    assert_eq!(
        (k1.rotation_period_days, k1.next_rotation_ms),
        (Some(90), Some(100))
    );
    let due = |now| {
        let mut d = store.keys_due_for_rotation(now).unwrap();
        d.sort();
        d
    };
    assert_eq!(due(99), Vec::<(String, String)>::new());
    assert_eq!(due(100), [(REGION.to_string(), "k1".to_string())]);
    assert_eq!(
        due(1000),
        [
            ("eu-west-1".to_string(), "k3".to_string()),
            (REGION.to_string(), "k1".to_string())
        ]
    );
    store
        .modify_key(REGION, "k1", |k| {
            k.rotation_period_days = None;
            k.next_rotation_ms = None;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(due(1000), [("eu-west-1".to_string(), "k3".to_string())]);
}

/// The last use of a key: a later one replaces it, an earlier one (a batch written late) does
/// not; a key that is gone records nothing, and its usage goes with it.
pub fn last_usage_keeps_the_latest(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let usage = |id: &str, op: &str, at| trent_store::KeyUsage {
        region: REGION.into(),
        key_id: id.into(),
        operation: op.into(),
        at_ms: at,
        event_id: format!("event-{at}"),
        request_id: format!("request-{at}"),
    };
    assert_eq!(store.key_usage(REGION, "k1").unwrap(), None);
    store
        .record_key_usage(&[usage("k1", "Encrypt", 10), usage("gone", "Decrypt", 11)])
        .unwrap();
    assert_eq!(
        store.key_usage(REGION, "k1").unwrap(),
        Some(usage("k1", "Encrypt", 10))
    );
    assert_eq!(store.key_usage(REGION, "gone").unwrap(), None);
    store
        .record_key_usage(&[usage("k1", "Decrypt", 20)])
        .unwrap();
    store.record_key_usage(&[usage("k1", "Sign", 15)]).unwrap();
    assert_eq!(
        store.key_usage(REGION, "k1").unwrap(),
        Some(usage("k1", "Decrypt", 20))
    );
    store.delete_key(REGION, "k1").unwrap();
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    assert_eq!(store.key_usage(REGION, "k1").unwrap(), None);
}

pub fn modify_key_writes_the_mutable_columns(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let returned = store
        .modify_key(REGION, "k1", |k| {
            k.description = "changed".into();
            k.key_state = KeyState::PendingDeletion;
            k.deletion_ms = Some(500);
            k.pending_window_days = Some(7);
            k.current_material = 2;
            // Not mutable: ignored by every backend.
            k.key_spec = "HMAC_256".into();
            k.account = "999999999999".into();
            Ok::<_, StoreError>(k.description.len())
        })
        .unwrap();
    assert_eq!(returned, "changed".len(), "the closure's value comes back");
    let expected = trent_store::KeyRecord {
        description: "changed".into(),
        key_state: KeyState::PendingDeletion,
        deletion_ms: Some(500),
        pending_window_days: Some(7),
        current_material: 2,
        ..key("k1")
    };
    assert_eq!(store.get_key(REGION, "k1").unwrap(), Some(expected.clone()));
    assert_eq!(
        ids(&store.list_keys(REGION, ACCOUNT, None, 10).unwrap()),
        ["k1"]
    );

    let mut called = false;
    let missing = store.modify_key(REGION, "nope", |_| {
        called = true;
        Ok::<_, StoreError>(())
    });
    assert!(matches!(missing, Err(StoreError::NotFound)));
    assert!(!called, "no key, no call");
}

pub fn refused_modification_changes_nothing(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let before = store.get_key(REGION, "k1").unwrap();
    let refused: Result<(), StoreError> = store.modify_key(REGION, "k1", |k| {
        k.description = "changed".into();
        Err(StoreError::LimitExceeded("test"))
    });
    assert!(refused.is_err());
    assert_eq!(store.get_key(REGION, "k1").unwrap(), before);

    // The caller's own error type comes back as it was.
    #[derive(Debug, PartialEq)]
    enum Mine {
        No,
        Store,
    }
    impl From<StoreError> for Mine {
        fn from(_: StoreError) -> Mine {
            Mine::Store
        }
    }
    let refused: Result<(), Mine> = store.modify_key(REGION, "k1", |k| {
        k.key_state = KeyState::Disabled;
        Err(Mine::No)
    });
    assert_eq!(refused, Err(Mine::No));
    let missing: Result<(), Mine> = store.modify_key(REGION, "nope", |_| Ok(()));
    assert_eq!(missing, Err(Mine::Store));
    assert_eq!(store.get_key(REGION, "k1").unwrap(), before);
}

pub fn key_policy_round_trips_byte_for_byte(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let policy = "{ \"Version\" : \"2012-10-17\",\n  \"Statement\": [] }  ";
    let ids = r#"{"arn:aws:iam::111122223333:role/R":"AROAEXAMPLE"}"#;
    store
        .modify_key(REGION, "k1", |k| {
            k.policy = policy.into();
            k.policy_principal_ids = Some(ids.into());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let k = store.get_key(REGION, "k1").unwrap().unwrap();
    assert_eq!(k.policy, policy);
    assert_eq!(k.policy_principal_ids.as_deref(), Some(ids));
}

pub fn delete_key_takes_everything_with_it(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[tag("a", "1")])
        .unwrap();
    store
        .create_key(&key("k2"), Some(&material()), &[tag("a", "2")])
        .unwrap();
    store.create_alias(&alias("alias/one", "k1")).unwrap();
    store.create_alias(&alias("alias/two", "k2")).unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    store
        .create_grant(&grant("k1", "g1", role), "t1", 10)
        .unwrap();
    store
        .create_grant(&grant("k2", "g2", role), "t2", 10)
        .unwrap();
    // Warm whatever caches the backend has.
    assert_eq!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.tags(REGION, "k1").unwrap().len(), 1);
    assert_eq!(
        store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap().len(),
        1
    );

    store.delete_key(REGION, "k1").unwrap();
    assert_eq!(store.get_key(REGION, "k1").unwrap(), None);
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), None);
    assert!(store.tags(REGION, "k1").unwrap().is_empty());
    assert_eq!(store.get_alias(REGION, ACCOUNT, "alias/one").unwrap(), None);
    assert!(
        store
            .aliases_of_key(REGION, ACCOUNT, "k1")
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_grant(REGION, "k1", "g1").unwrap(), None);
    assert_eq!(store.grant_by_token("t1").unwrap(), None);
    // The other key is untouched.
    assert!(store.get_key(REGION, "k2").unwrap().is_some());
    assert_eq!(store.tags(REGION, "k2").unwrap(), [tag("a", "2")]);
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/two")
            .unwrap()
            .is_some()
    );
    assert_eq!(store.grant_by_token("t2").unwrap().unwrap().grant_id, "g2");
    // Deleting what is not there is not an error.
    store.delete_key(REGION, "k1").unwrap();
}

// ---- aliases ------------------------------------------------------------------------------

pub fn aliases_and_cache_coherence(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&key("k2"), Some(&material()), &[])
        .unwrap();
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/a")
            .unwrap()
            .is_none()
    );
    let a = alias("alias/a", "k1");
    store.create_alias(&a).unwrap();
    // The cached absence above must not hide the new alias.
    assert_eq!(
        store
            .get_alias(REGION, ACCOUNT, "alias/a")
            .unwrap()
            .unwrap()
            .target_key_id,
        "k1"
    );
    assert!(matches!(
        store.create_alias(&a),
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap().len(),
        1
    );
    store
        .update_alias(REGION, ACCOUNT, "alias/a", "k2", 2)
        .unwrap();
    let updated = store
        .get_alias(REGION, ACCOUNT, "alias/a")
        .unwrap()
        .unwrap();
    assert_eq!(updated.target_key_id, "k2");
    assert_eq!((updated.created_ms, updated.updated_ms), (1, 2));
    assert_eq!(
        store.aliases_of_key(REGION, ACCOUNT, "k2").unwrap().len(),
        1
    );
    assert!(
        store
            .aliases_of_key(REGION, ACCOUNT, "k1")
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
    store.delete_key(REGION, "k2").unwrap();
    assert!(store.get_key(REGION, "k2").unwrap().is_none());
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/a")
            .unwrap()
            .is_none()
    );
    assert!(store.material(REGION, "k2", 1).unwrap().is_none());
    assert!(store.grant_by_token("t1").unwrap().is_none());
}

fn aws_managed(id: &str) -> KeyRecord {
    KeyRecord {
        key_manager: KeyManager::Aws,
        ..key(id)
    }
}

pub fn key_manager_round_trips_and_is_immutable(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&aws_managed("k2"), Some(&material()), &[])
        .unwrap();
    let manager = |id| store.get_key(REGION, id).unwrap().unwrap().key_manager;
    assert_eq!(
        (manager("k1"), manager("k2")),
        (KeyManager::Customer, KeyManager::Aws)
    );
    let listed: Vec<KeyManager> = store
        .list_keys(REGION, ACCOUNT, None, 10)
        .unwrap()
        .iter()
        .map(|k| k.key_manager)
        .collect();
    assert_eq!(listed, [KeyManager::Customer, KeyManager::Aws]);
    // Not a mutable column: a modification cannot make a customer key AWS managed, or back.
    for id in ["k1", "k2"] {
        store
            .modify_key(REGION, id, |k| {
                k.key_manager = match k.key_manager {
                    KeyManager::Customer => KeyManager::Aws,
                    KeyManager::Aws => KeyManager::Customer,
                };
                k.description = "changed".into();
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    assert_eq!(
        (manager("k1"), manager("k2")),
        (KeyManager::Customer, KeyManager::Aws)
    );
    assert_eq!(
        store.get_key(REGION, "k2").unwrap().unwrap().description,
        "changed"
    );
}

pub fn key_with_alias_is_all_or_nothing(store: &Store) {
    // Cache the absences first: the new key and alias must not hide behind them.
    assert!(store.get_key(REGION, "k1").unwrap().is_none());
    assert!(store.material(REGION, "k1", 1).unwrap().is_none());
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/aws/s3")
            .unwrap()
            .is_none()
    );
    store
        .create_key_with_alias(
            &aws_managed("k1"),
            &material(),
            &alias("alias/aws/s3", "k1"),
        )
        .unwrap();
    assert_eq!(
        store.get_key(REGION, "k1").unwrap(),
        Some(aws_managed("k1"))
    );
    assert!(store.material(REGION, "k1", 1).unwrap().is_some());
    assert_eq!(
        store.get_alias(REGION, ACCOUNT, "alias/aws/s3").unwrap(),
        Some(alias("alias/aws/s3", "k1"))
    );
    assert_eq!(
        store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap(),
        [alias("alias/aws/s3", "k1")]
    );

    // The alias is taken: the second key is not written either.
    assert!(matches!(
        store.create_key_with_alias(
            &aws_managed("k2"),
            &material(),
            &alias("alias/aws/s3", "k2")
        ),
        Err(StoreError::AlreadyExists)
    ));
    // The key ID is taken: the new alias is not written.
    assert!(matches!(
        store.create_key_with_alias(
            &aws_managed("k1"),
            &material(),
            &alias("alias/aws/ebs", "k1")
        ),
        Err(StoreError::AlreadyExists)
    ));
    assert!(store.get_key(REGION, "k2").unwrap().is_none());
    assert!(store.materials(REGION, "k2").unwrap().is_empty());
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/aws/ebs")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ids(&store.list_keys(REGION, ACCOUNT, None, 10).unwrap()),
        ["k1"]
    );
    assert_eq!(
        store
            .list_aliases(REGION, ACCOUNT, None, None, 10)
            .unwrap()
            .iter()
            .map(|a| (a.alias_name.as_str(), a.target_key_id.as_str()))
            .collect::<Vec<_>>(),
        [("alias/aws/s3", "k1")]
    );

    // The same name in another account is another alias.
    store
        .create_key_with_alias(
            &KeyRecord {
                account: "444455556666".into(),
                ..aws_managed("k3")
            },
            &material(),
            &Alias {
                account: "444455556666".into(),
                ..alias("alias/aws/s3", "k3")
            },
        )
        .unwrap();
    // Deleting the key takes the alias with it, as for any key.
    store.delete_key(REGION, "k1").unwrap();
    assert!(
        store
            .get_alias(REGION, ACCOUNT, "alias/aws/s3")
            .unwrap()
            .is_none()
    );
}

pub fn concurrent_keys_with_one_alias_make_one_key(store: &Store) {
    const THREADS: usize = 8;
    let created: Vec<bool> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let id = format!("k{t}");
                    match store.create_key_with_alias(
                        &aws_managed(&id),
                        &material(),
                        &alias("alias/aws/lambda", &id),
                    ) {
                        Ok(()) => true,
                        Err(StoreError::AlreadyExists) => false,
                        Err(e) => panic!("{e}"),
                    }
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    let keys = store.list_keys(REGION, ACCOUNT, None, 100).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        store
            .get_alias(REGION, ACCOUNT, "alias/aws/lambda")
            .unwrap()
            .unwrap()
            .target_key_id,
        keys[0].key_id
    );
}

pub fn aliases_unique_per_account_and_region(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&key_in("eu-west-1", ACCOUNT, "k9"), Some(&material()), &[])
        .unwrap();
    store.create_alias(&alias("alias/b", "k1")).unwrap();
    store.create_alias(&alias("alias/a", "k1")).unwrap();
    store.create_alias(&alias("alias/c", "k1")).unwrap();
    // The same name in another account, or in another region, is another alias.
    let other_account = trent_store::Alias {
        account: "999999999999".into(),
        ..alias("alias/a", "k1")
    };
    store.create_alias(&other_account).unwrap();
    let other_region = trent_store::Alias {
        region: "eu-west-1".into(),
        ..alias("alias/a", "k9")
    };
    store.create_alias(&other_region).unwrap();
    // An alias must point at a key of its region.
    assert!(matches!(
        store.create_alias(&alias("alias/d", "k9")),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_alias(&alias("alias/d", "nope")),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_alias(REGION, ACCOUNT, "alias/nope", "k1", 2),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_alias(REGION, ACCOUNT, "alias/nope"),
        Err(StoreError::NotFound)
    ));

    let names = |v: Vec<trent_store::Alias>| -> Vec<String> {
        v.into_iter().map(|a| a.alias_name).collect()
    };
    assert_eq!(
        names(store.list_aliases(REGION, ACCOUNT, None, None, 10).unwrap()),
        ["alias/a", "alias/b", "alias/c"]
    );
    assert_eq!(
        names(store.list_aliases(REGION, ACCOUNT, None, None, 2).unwrap()),
        ["alias/a", "alias/b"]
    );
    assert_eq!(
        names(
            store
                .list_aliases(REGION, ACCOUNT, Some("k1"), Some("alias/b"), 10)
                .unwrap()
        ),
        ["alias/c"]
    );
    assert!(
        store
            .list_aliases(REGION, ACCOUNT, Some("k9"), None, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        names(
            store
                .list_aliases("eu-west-1", ACCOUNT, None, None, 10)
                .unwrap()
        ),
        ["alias/a"]
    );
    assert_eq!(
        names(store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap()),
        ["alias/a", "alias/b", "alias/c"]
    );

    store.delete_alias(REGION, ACCOUNT, "alias/b").unwrap();
    assert_eq!(store.get_alias(REGION, ACCOUNT, "alias/b").unwrap(), None);
    assert_eq!(
        store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap().len(),
        2
    );
    // The other account's alias of the same name is still there.
    assert_eq!(
        store.get_alias(REGION, "999999999999", "alias/a").unwrap(),
        Some(other_account)
    );
}

// ---- tags ---------------------------------------------------------------------------------

pub fn tag_limit_rolls_back_the_whole_request(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let tags: Vec<_> = (0..3).map(|i| tag(&format!("t{i}"), "v")).collect();
    store.tag_key(REGION, "k1", &tags[..2], 2).unwrap();
    assert!(matches!(
        store.tag_key(REGION, "k1", &tags[2..], 2),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.tags(REGION, "k1").unwrap().len(), 2);
    store.untag_key(REGION, "k1", &["t0".into()]).unwrap();
    assert_eq!(store.tags(REGION, "k1").unwrap().len(), 1);
}

pub fn tags_upsert_and_order(store: &Store) {
    store
        .create_key(
            &key("k1"),
            Some(&material()),
            &[tag("b", "1"), tag("a", "1")],
        )
        .unwrap();
    assert_eq!(
        store.tags(REGION, "k1").unwrap(),
        [tag("a", "1"), tag("b", "1")]
    );
    // Overwriting a value does not count as a new tag: at the limit, it is allowed.
    store
        .tag_key(REGION, "k1", &[tag("b", "2"), tag("c", "3")], 3)
        .unwrap();
    assert_eq!(
        store.tags(REGION, "k1").unwrap(),
        [tag("a", "1"), tag("b", "2"), tag("c", "3")]
    );
    // A refused request keeps the old values too, not only the old keys.
    assert!(matches!(
        store.tag_key(REGION, "k1", &[tag("a", "changed"), tag("d", "4")], 3),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.tags(REGION, "k1").unwrap()[0], tag("a", "1"));
    // Removing a tag that is not there is not an error.
    store
        .untag_key(REGION, "k1", &["zzz".into(), "a".into()])
        .unwrap();
    assert_eq!(
        store.tags(REGION, "k1").unwrap(),
        [tag("b", "2"), tag("c", "3")]
    );
    assert!(store.tags(REGION, "nope").unwrap().is_empty());
}

// ---- grants -------------------------------------------------------------------------------

pub fn grants_by_grantee_name_idempotency_and_limit(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    assert!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .is_empty()
    );
    let mut named = grant("k1", "g1", role);
    named.name = Some("n".into());
    assert_eq!(store.create_grant(&named, "t1", 10).unwrap(), "g1");
    // The cached empty result above must not hide the new grant.
    assert_eq!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
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
    // Same name, other parameters: a new grant.
    let mut other = named.clone();
    other.grant_id = "g5".into();
    other.operations = vec!["Encrypt".into()];
    assert_eq!(store.create_grant(&other, "t5", 10).unwrap(), "g5");
    store.end_grant(REGION, "k1", "g5", &retired()).unwrap();
    store
        .create_grant(&grant("k1", "g3", "other"), "t3", 10)
        .unwrap();
    assert!(matches!(
        store.create_grant(&grant("k1", "g4", "x"), "t4", 2),
        Err(StoreError::LimitExceeded(_))
    ));
    assert!(store.grant_by_token("t4").unwrap().is_none());
    store.end_grant(REGION, "k1", "g1", &retired()).unwrap();
    assert!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.end_grant(REGION, "k1", "g1", &retired()),
        Err(StoreError::NotFound)
    ));
}

pub fn grant_indexes_and_listings(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&key("k2"), Some(&material()), &[])
        .unwrap();
    let alice = "arn:aws:iam::111122223333:user/alice";
    let bob = "arn:aws:iam::111122223333:user/bob";
    let retirer = "arn:aws:iam::111122223333:role/Retirer";
    let service = "logs.amazonaws.com";
    let mut g = grant("k1", "gb", alice);
    g.retiring_principal = Some(retirer.into());
    g.constraints = Some(r#"{"EncryptionContextEquals":{"a":"b"}}"#.into());
    g.grantee_unique_id = Some("AIDAALICE".into());
    store.create_grant(&g, "t-gb", 10).unwrap();
    store
        .create_grant(&grant("k1", "ga", bob), "t-ga", 10)
        .unwrap();
    store
        .create_grant(&grant("k1", "gc", alice), "t-gc", 10)
        .unwrap();
    let mut s = grant("k1", "gd", "unused");
    s.grantee_principal = None;
    s.grantee_service_principal = Some(service.into());
    s.retiring_service_principal = Some(retirer.into());
    store.create_grant(&s, "t-gd", 10).unwrap();
    let mut other_key = grant("k2", "ga", alice);
    other_key.retiring_principal = Some(retirer.into());
    store.create_grant(&other_key, "t-k2", 10).unwrap();

    // The grantee index: only this key's grants, grouped by grantee in the order asked.
    let found = store
        .grants_for_grantees(REGION, "k1", &[bob, alice])
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].grant_id, "ga");
    assert_eq!(
        found[1..]
            .iter()
            .map(|g| g.grant_id.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["gb", "gc"])
    );
    assert!(found.contains(&g), "every column comes back");
    assert!(
        store
            .grants_for_grantees(REGION, "k1", &["arn:aws:iam::111122223333:root"])
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        grant_ids(&store.grants_for_service(REGION, "k1", service).unwrap()),
        ["gd"]
    );
    assert_eq!(
        store.get_grant(REGION, "k1", "gb").unwrap(),
        Some(g.clone())
    );
    assert_eq!(store.get_grant(REGION, "k2", "gb").unwrap(), None);
    assert_eq!(store.grant_by_token("t-gb").unwrap(), Some(g));

    // ListGrants: by grant ID, paginated, filtered by grant or grantee (principal or service).
    let all = store
        .list_grants(REGION, "k1", None, None, None, 10)
        .unwrap();
    assert_eq!(grant_ids(&all), ["ga", "gb", "gc", "gd"]);
    let page = store
        .list_grants(REGION, "k1", None, None, Some("ga"), 2)
        .unwrap();
    assert_eq!(grant_ids(&page), ["gb", "gc"]);
    let one = store
        .list_grants(REGION, "k1", Some("gc"), None, None, 10)
        .unwrap();
    assert_eq!(grant_ids(&one), ["gc"]);
    let by_grantee = store
        .list_grants(REGION, "k1", None, Some(alice), None, 10)
        .unwrap();
    assert_eq!(grant_ids(&by_grantee), ["gb", "gc"]);
    let by_service = store
        .list_grants(REGION, "k1", None, Some(service), None, 10)
        .unwrap();
    assert_eq!(grant_ids(&by_service), ["gd"]);

    // ListRetirableGrants: the whole region, ordered by key then grant.
    let retirable = store
        .list_retirable_grants(REGION, retirer, None, 10)
        .unwrap();
    let positions: Vec<String> = retirable
        .iter()
        .map(|g| format!("{}/{}", g.key_id, g.grant_id))
        .collect();
    assert_eq!(positions, ["k1/gb", "k1/gd", "k2/ga"]);
    let rest = store
        .list_retirable_grants(REGION, retirer, Some("k1/gd"), 10)
        .unwrap();
    assert_eq!(grant_ids(&rest), ["ga"]);
    assert_eq!(
        store
            .list_retirable_grants(REGION, retirer, None, 1)
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .list_retirable_grants("eu-west-1", retirer, None, 10)
            .unwrap()
            .is_empty()
    );
}

pub fn retire_and_revoke_take_the_tokens(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    let mut named = grant("k1", "g1", role);
    named.name = Some("n".into());
    store.create_grant(&named, "t1", 10).unwrap();
    let mut retry = named.clone();
    retry.grant_id = "unused".into();
    store.create_grant(&retry, "t1-again", 10).unwrap();
    store
        .create_grant(&grant("k1", "g2", role), "t2", 10)
        .unwrap();
    assert!(matches!(
        store.end_grant(REGION, "k1", "nope", &retired()),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.end_grant(REGION, "nope", "g1", &retired()),
        Err(StoreError::NotFound)
    ));
    store.end_grant(REGION, "k1", "g1", &retired()).unwrap();
    assert_eq!(store.grant_by_token("t1").unwrap(), None);
    assert_eq!(store.grant_by_token("t1-again").unwrap(), None);
    assert_eq!(store.grant_by_token("t2").unwrap().unwrap().grant_id, "g2");
    assert_eq!(
        grant_ids(&store.grants_for_grantees(REGION, "k1", &[role]).unwrap()),
        ["g2"]
    );
}

pub fn import_grants_all_or_nothing(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    store
        .import_grants(&[
            (grant("k1", "g1", role), "t1".into()),
            (grant("k1", "g2", role), "t2".into()),
        ])
        .unwrap();
    assert_eq!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .len(),
        2
    );
    // A batch with a grant ID already taken fails as a whole.
    assert!(
        store
            .import_grants(&[
                (grant("k1", "g3", role), "t3".into()),
                (grant("k1", "g1", role), "t4".into()),
            ])
            .is_err()
    );
    assert_eq!(store.get_grant(REGION, "k1", "g3").unwrap(), None);
    assert_eq!(store.grant_by_token("t3").unwrap(), None);
    assert_eq!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .len(),
        2
    );
}

// ---- deletion schedule --------------------------------------------------------------------

pub fn deletion_schedule(store: &Store) {
    for id in ["due", "later", "enabled", "exact"] {
        store.create_key(&key(id), Some(&material()), &[]).unwrap();
    }
    let schedule = |id: &str, state: KeyState, at: i64| {
        store
            .modify_key(REGION, id, |k| {
                k.key_state = state;
                k.deletion_ms = Some(at);
                k.pending_window_days = Some(7);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    };
    schedule("due", KeyState::PendingDeletion, 100);
    schedule("exact", KeyState::PendingDeletion, 200);
    schedule("later", KeyState::PendingDeletion, 300);
    // A date alone does not schedule a deletion: the state does.
    schedule("enabled", KeyState::Enabled, 100);
    let due = |now: i64| -> BTreeSet<String> {
        store
            .keys_due_for_deletion(now)
            .unwrap()
            .into_iter()
            .map(|(region, id)| {
                assert_eq!(region, REGION);
                id
            })
            .collect()
    };
    assert!(due(99).is_empty());
    assert_eq!(due(200), BTreeSet::from(["due".into(), "exact".into()]));
    // CancelKeyDeletion.
    store
        .modify_key(REGION, "due", |k| {
            k.key_state = KeyState::Disabled;
            k.deletion_ms = None;
            k.pending_window_days = None;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(due(1000), BTreeSet::from(["exact".into(), "later".into()]));
    store.delete_key(REGION, "exact").unwrap();
    assert_eq!(due(1000), BTreeSet::from(["later".into()]));
}

// ---- identities ---------------------------------------------------------------------------

pub fn users_and_roles(store: &Store) {
    assert_eq!(store.load_iam().unwrap(), IamData::default());
    store.create_iam_user(&user("carol", "AIDA3")).unwrap();
    store.create_iam_user(&user("alice", "AIDA1")).unwrap();
    store.create_iam_user(&user("Bob", "AIDA2")).unwrap();
    // Names are unique ignoring case; unique IDs are unique.
    assert!(matches!(
        store.create_iam_user(&user("ALICE", "AIDA9")),
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store.create_iam_user(&user("dave", "AIDA1")),
        Err(StoreError::AlreadyExists)
    ));
    let mut elsewhere = user("alice", "AIDA8");
    elsewhere.account = "999999999999".into();
    store.create_iam_user(&elsewhere).unwrap();
    let iam = store.load_iam().unwrap();
    let names: Vec<(&str, &str)> = iam
        .users
        .iter()
        .map(|u| (u.account.as_str(), u.name.as_str()))
        .collect();
    // Ordered by account, then name ignoring case.
    assert_eq!(
        names,
        [
            (ACCOUNT, "alice"),
            (ACCOUNT, "Bob"),
            (ACCOUNT, "carol"),
            ("999999999999", "alice")
        ]
    );
    assert_eq!(
        iam.users[0],
        user("alice", "AIDA1"),
        "every column comes back"
    );

    store
        .set_iam_tags(
            OwnerKind::User,
            ACCOUNT,
            "BOB",
            &vec![("x".into(), "y".into())],
        )
        .unwrap();
    assert!(matches!(
        store.set_iam_tags(OwnerKind::User, ACCOUNT, "nobody", &Vec::new()),
        Err(StoreError::NotFound)
    ));
    let bob = store
        .load_iam()
        .unwrap()
        .users
        .into_iter()
        .find(|u| u.name == "Bob")
        .unwrap();
    assert_eq!(bob.tags, [("x".to_string(), "y".to_string())]);

    assert!(matches!(
        store.delete_iam_user(ACCOUNT, "nobody"),
        Err(StoreError::NotFound)
    ));
    store.delete_iam_user(ACCOUNT, "CAROL").unwrap();
    assert!(
        !store
            .load_iam()
            .unwrap()
            .users
            .iter()
            .any(|u| u.name == "carol")
    );

    // Roles.
    store.create_iam_role(&role("Admin", "AROA1")).unwrap();
    assert!(matches!(
        store.create_iam_role(&role("admin", "AROA2")),
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store.create_iam_role(&role("other", "AROA1")),
        Err(StoreError::AlreadyExists)
    ));
    let trust = r#"{"Statement":[]}"#;
    store
        .update_role_trust_policy(ACCOUNT, "admin", trust)
        .unwrap();
    assert!(matches!(
        store.update_role_trust_policy(ACCOUNT, "nope", trust),
        Err(StoreError::NotFound)
    ));
    store
        .set_iam_tags(
            OwnerKind::Role,
            ACCOUNT,
            "Admin",
            &vec![("r".into(), "1".into())],
        )
        .unwrap();
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/limits");
    store
        .set_permissions_boundary(OwnerKind::Role, ACCOUNT, "ADMIN", Some(&boundary))
        .unwrap();
    assert!(matches!(
        store.set_permissions_boundary(OwnerKind::Role, ACCOUNT, "nope", None),
        Err(StoreError::NotFound)
    ));
    let roles = store.load_iam().unwrap().roles;
    assert_eq!(
        roles,
        [trent_store::iam::RoleRecord {
            trust_policy: Some(trust.into()),
            tags: vec![("r".into(), "1".into())],
            permissions_boundary: Some(boundary),
            ..role("Admin", "AROA1")
        }]
    );
    store
        .set_permissions_boundary(OwnerKind::Role, ACCOUNT, "Admin", None)
        .unwrap();
    assert_eq!(
        store.load_iam().unwrap().roles[0].permissions_boundary,
        None
    );
    assert!(matches!(
        store.delete_iam_role(ACCOUNT, "nope"),
        Err(StoreError::NotFound)
    ));
    store.delete_iam_role(ACCOUNT, "ADMIN").unwrap();
    assert!(store.load_iam().unwrap().roles.is_empty());
    // The name is free again, for a new principal (another unique ID).
    store.create_iam_role(&role("Admin", "AROA3")).unwrap();
}

pub fn managed_inline_policies_and_attachments(store: &Store) {
    store.create_iam_user(&user("alice", "AIDA1")).unwrap();
    store.create_iam_role(&role("R", "AROA1")).unwrap();
    let policy = managed_policy("Readers", "ANPA1");
    let arn = policy.arn();
    assert_eq!(arn, "arn:aws:iam::111122223333:policy/Readers");
    store.create_managed_policy(&policy).unwrap();
    assert!(matches!(
        store.create_managed_policy(&managed_policy("READERS", "ANPA2")),
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store.create_managed_policy(&managed_policy("Other", "ANPA1")),
        Err(StoreError::AlreadyExists)
    ));
    let stored = store.load_iam().unwrap().policies;
    assert_eq!(stored.len(), 1);
    // Versions ordered by creation.
    let versions: Vec<&str> = stored[0]
        .versions
        .iter()
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(versions, ["v1", "v2"]);
    assert_eq!(stored[0].default_version, "v2");

    // Attachments: only to principals that exist; idempotent; matched ignoring case.
    let to_alice = attachment(OwnerKind::User, "alice", &arn);
    assert!(matches!(
        store.attach_policy(&attachment(OwnerKind::User, "nobody", &arn)),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.attach_policy(&attachment(OwnerKind::Role, "alice", &arn)),
        Err(StoreError::NotFound)
    ));
    store.attach_policy(&to_alice).unwrap();
    store.attach_policy(&to_alice).unwrap();
    store
        .attach_policy(&attachment(OwnerKind::User, "ALICE", &arn))
        .unwrap();
    store
        .attach_policy(&attachment(OwnerKind::Role, "R", &arn))
        .unwrap();
    let attachments = store.load_iam().unwrap().attachments;
    // Ordered by owner kind as text: "role" before "user".
    assert_eq!(
        attachments,
        [attachment(OwnerKind::Role, "R", &arn), to_alice.clone()]
    );
    assert!(matches!(
        store.delete_managed_policy(ACCOUNT, "readers", &arn),
        Err(StoreError::Conflict("attachments"))
    ));
    assert!(matches!(
        store.delete_iam_user(ACCOUNT, "alice"),
        Err(StoreError::Conflict("policies"))
    ));
    assert!(matches!(
        store.delete_iam_role(ACCOUNT, "R"),
        Err(StoreError::Conflict("policies"))
    ));
    store
        .detach_policy(&attachment(OwnerKind::User, "Alice", &arn))
        .unwrap();
    assert!(matches!(
        store.detach_policy(&to_alice),
        Err(StoreError::NotFound)
    ));
    store
        .detach_policy(&attachment(OwnerKind::Role, "R", &arn))
        .unwrap();
    assert!(matches!(
        store.delete_managed_policy(ACCOUNT, "nope", "arn:aws:iam::111122223333:policy/nope"),
        Err(StoreError::NotFound)
    ));
    store
        .delete_managed_policy(ACCOUNT, "readers", &arn)
        .unwrap();
    assert!(store.load_iam().unwrap().policies.is_empty());
    // The name is free again, and the old versions are gone with the old policy.
    let mut again = managed_policy("Readers", "ANPA3");
    again.versions.truncate(1);
    store.create_managed_policy(&again).unwrap();
    assert_eq!(store.load_iam().unwrap().policies, [again]);

    // Inline policies: put replaces, only on principals that exist.
    assert!(matches!(
        store.put_inline_policy(&inline(OwnerKind::User, "nobody", "p", "{}")),
        Err(StoreError::NotFound)
    ));
    store
        .put_inline_policy(&inline(OwnerKind::User, "alice", "p", "{\"v\":1}"))
        .unwrap();
    store
        .put_inline_policy(&inline(OwnerKind::User, "alice", "p", "{\"v\":2}"))
        .unwrap();
    store
        .put_inline_policy(&inline(OwnerKind::Role, "r", "p", "{\"r\":1}"))
        .unwrap();
    let inline_policies = store.load_iam().unwrap().inline_policies;
    assert_eq!(inline_policies.len(), 2);
    assert_eq!(inline_policies[0].owner, OwnerKind::Role);
    assert_eq!(
        inline_policies[1],
        inline(OwnerKind::User, "alice", "p", "{\"v\":2}")
    );
    assert!(matches!(
        store.delete_iam_user(ACCOUNT, "alice"),
        Err(StoreError::Conflict("policies"))
    ));
    assert!(matches!(
        store.delete_inline_policy(ACCOUNT, OwnerKind::User, "alice", "P"),
        Err(StoreError::NotFound)
    ));
    store
        .delete_inline_policy(ACCOUNT, OwnerKind::User, "ALICE", "p")
        .unwrap();
    store
        .delete_inline_policy(ACCOUNT, OwnerKind::Role, "R", "p")
        .unwrap();
    store.delete_iam_user(ACCOUNT, "alice").unwrap();
    store.delete_iam_role(ACCOUNT, "R").unwrap();
}

pub fn access_keys_and_sessions(store: &Store) {
    store.create_iam_user(&user("alice", "AIDA1")).unwrap();
    store.create_iam_role(&role("R", "AROA1")).unwrap();
    let mut k1 = access_key("AKIA1", AccessKeyKind::User, "alice");
    k1.created_ms = 2;
    let root = access_key("AKIA0", AccessKeyKind::Root, "");
    store.create_iam_access_key(&k1).unwrap();
    store.create_iam_access_key(&root).unwrap();
    assert!(matches!(
        store.create_iam_access_key(&k1),
        Err(StoreError::AlreadyExists)
    ));
    // Ordered by creation.
    assert_eq!(store.load_iam().unwrap().access_keys, [root, k1.clone()]);
    assert!(matches!(
        store.delete_iam_user(ACCOUNT, "alice"),
        Err(StoreError::Conflict("access keys"))
    ));
    // An access key is deleted only through its owner.
    assert!(matches!(
        store.delete_iam_access_key(ACCOUNT, "bob", "AKIA1"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_iam_access_key(ACCOUNT, "", "AKIA1"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_iam_access_key(ACCOUNT, "alice", "AKIA0"),
        Err(StoreError::NotFound)
    ));
    store
        .delete_iam_access_key(ACCOUNT, "alice", "AKIA1")
        .unwrap();
    store.delete_iam_access_key(ACCOUNT, "", "AKIA0").unwrap();
    assert!(store.load_iam().unwrap().access_keys.is_empty());
    store.delete_iam_user(ACCOUNT, "alice").unwrap();

    // Sessions.
    let early = session("ASIA1", "R", 1_000);
    let late = session("ASIA2", "R", 5_000);
    let other_role = session("ASIA3", "Other", 9_000);
    store.create_session(&late).unwrap();
    store.create_session(&early).unwrap();
    store.create_session(&other_role).unwrap();
    assert!(matches!(
        store.create_session(&early),
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.load_iam().unwrap().sessions,
        [early.clone(), late.clone(), other_role.clone()]
    );
    // Strictly before: a session expiring at the cut-off is kept.
    assert_eq!(store.delete_expired_sessions(1_000).unwrap(), 0);
    assert_eq!(store.delete_expired_sessions(1_001).unwrap(), 1);
    assert_eq!(
        store.load_iam().unwrap().sessions,
        [late, other_role.clone()]
    );
    // Deleting a role takes its sessions and its configured role-session keys.
    let mut role_key = access_key("AKIAROLE", AccessKeyKind::RoleSession, "R");
    role_key.session_name = Some("s".into());
    store.create_iam_access_key(&role_key).unwrap();
    store.delete_iam_role(ACCOUNT, "R").unwrap();
    let iam = store.load_iam().unwrap();
    assert_eq!(iam.sessions, [other_role]);
    assert!(iam.access_keys.is_empty());
}

pub fn config_identities_are_replaced_at_each_start(store: &Store) {
    // Created through the API before the restart.
    store.create_iam_user(&user("api-user", "AIDAAPI")).unwrap();
    store.create_iam_user(&user("clash", "AIDACLASH")).unwrap();
    store
        .create_iam_access_key(&access_key("AKIAAPI", AccessKeyKind::User, "api-user"))
        .unwrap();
    let first = IamData {
        accounts: vec![ACCOUNT.into(), "999999999999".into()],
        users: vec![user("cfg", "AIDACFG"), user("Clash", "AIDACFG2")],
        roles: vec![role("cfg-role", "AROACFG")],
        inline_policies: vec![inline(OwnerKind::User, "cfg", "p", "{}")],
        access_keys: vec![access_key("AKIACFG", AccessKeyKind::User, "cfg")],
        ..IamData::default()
    };
    store.replace_config_identities(&first).unwrap();
    let iam = store.load_iam().unwrap();
    assert_eq!(iam.accounts, ["111122223333", "999999999999"]);
    let users: Vec<(&str, &str)> = iam
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.unique_id.as_str()))
        .collect();
    // The configured "Clash" replaced the API-created "clash".
    assert_eq!(
        users,
        [
            ("api-user", "AIDAAPI"),
            ("cfg", "AIDACFG"),
            ("Clash", "AIDACFG2")
        ]
    );
    assert_eq!(iam.roles.len(), 1);
    assert_eq!(iam.inline_policies.len(), 1);
    assert_eq!(iam.access_keys.len(), 2);

    // The next start declares less: what the previous configuration declared goes, what the
    // API created stays.
    let second = IamData {
        accounts: vec![ACCOUNT.into()],
        users: vec![user("cfg", "AIDACFG")],
        ..IamData::default()
    };
    store.replace_config_identities(&second).unwrap();
    let iam = store.load_iam().unwrap();
    assert_eq!(iam.accounts, [ACCOUNT]);
    let users: Vec<&str> = iam.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(users, ["api-user", "cfg"]);
    assert!(iam.roles.is_empty());
    assert!(iam.inline_policies.is_empty());
    let keys: Vec<&str> = iam
        .access_keys
        .iter()
        .map(|k| k.access_key_id.as_str())
        .collect();
    assert_eq!(keys, ["AKIAAPI"]);
}

// ---- transactions -------------------------------------------------------------------------

pub fn failed_writes_roll_back(store: &Store) {
    // A key whose initial tags cannot all be inserted is not created at all.
    assert!(
        store
            .create_key(
                &key("k1"),
                Some(&material()),
                &[tag("a", "1"), tag("a", "2")]
            )
            .is_err()
    );
    assert_eq!(store.get_key(REGION, "k1").unwrap(), None);
    assert_eq!(store.material(REGION, "k1", 1).unwrap(), None);
    assert!(
        store
            .list_keys(REGION, ACCOUNT, None, 10)
            .unwrap()
            .is_empty()
    );
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();

    // A grant over the limit leaves no token behind.
    store
        .create_grant(&grant("k1", "g1", "p"), "t1", 1)
        .unwrap();
    assert!(matches!(
        store.create_grant(&grant("k1", "g2", "p"), "t2", 1),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.grant_by_token("t2").unwrap(), None);
    assert_eq!(
        store
            .list_grants(REGION, "k1", None, None, None, 10)
            .unwrap()
            .len(),
        1
    );

    // A managed policy whose versions cannot all be inserted is not created.
    let mut broken = managed_policy("P", "ANPA1");
    broken.versions[1].version_id = "v2".into();
    assert!(store.create_managed_policy(&broken).is_err());
    assert!(store.load_iam().unwrap().policies.is_empty());
    store
        .create_managed_policy(&managed_policy("P", "ANPA1"))
        .unwrap();

    // A refused deletion changes nothing.
    store.create_iam_user(&user("u", "AIDA1")).unwrap();
    store
        .put_inline_policy(&inline(OwnerKind::User, "u", "p", "{}"))
        .unwrap();
    let before = store.load_iam().unwrap();
    assert!(store.delete_iam_user(ACCOUNT, "u").is_err());
    assert_eq!(store.load_iam().unwrap(), before);
}

// ---- concurrency --------------------------------------------------------------------------

pub fn concurrent_grant_writers_lose_nothing(store: &Store) {
    const THREADS: usize = 4;
    const EACH: usize = 25;
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let role = "arn:aws:iam::111122223333:role/R";
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..EACH {
                    let mut g = grant("k1", &format!("g-{t}-{i:02}"), role);
                    // Every thread also retries one named grant: it must exist exactly once.
                    if i == 0 {
                        g.name = Some("shared".into());
                        g.grant_id = format!("shared-{t}");
                    }
                    store
                        .create_grant(&g, &format!("t-{t}-{i}"), 10_000)
                        .unwrap();
                    // Readers run between the writers (and fill any cache meanwhile).
                    store.grants_for_grantees(REGION, "k1", &[role]).unwrap();
                }
            });
        }
    });
    let all = store
        .list_grants(REGION, "k1", None, None, None, 10_000)
        .unwrap();
    let unique: BTreeSet<&str> = grant_ids(&all).into_iter().collect();
    assert_eq!(all.len(), unique.len(), "no duplicates");
    assert_eq!(all.len(), THREADS * (EACH - 1) + 1, "none lost");
    assert_eq!(
        all.iter()
            .filter(|g| g.name.as_deref() == Some("shared"))
            .count(),
        1
    );
    assert_eq!(
        store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .len(),
        all.len(),
        "the index agrees"
    );
    for t in 0..THREADS {
        for i in 0..EACH {
            assert!(
                store
                    .grant_by_token(&format!("t-{t}-{i}"))
                    .unwrap()
                    .is_some()
            );
        }
    }
}

pub fn concurrent_key_modifications_serialise(store: &Store) {
    const THREADS: u32 = 4;
    const EACH: u32 = 25;
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    // A read-modify-write: a lost update would show in the final count.
                    store
                        .modify_key(REGION, "k1", |k| {
                            k.current_material += 1;
                            Ok::<_, StoreError>(())
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(
        store
            .get_key(REGION, "k1")
            .unwrap()
            .unwrap()
            .current_material,
        1 + THREADS * EACH
    );
}

// ---- multi-Region key sets ------------------------------------------------------------------

const MRK: &str = "mrk-1234abcd12ab34cd56ef1234567890ab";

fn mrk_in(region: &str) -> KeyRecord {
    KeyRecord {
        primary_region: Some(REGION.into()),
        ..key_in(region, ACCOUNT, MRK)
    }
}

fn regions(keys: &[KeyRecord]) -> Vec<&str> {
    keys.iter().map(|k| k.region.as_str()).collect()
}

pub fn related_keys_change_together(store: &Store) {
    store
        .create_key(&mrk_in(REGION), Some(&material()), &[])
        .unwrap();
    // Same ID in another account: not related.
    let mut foreign = mrk_in("eu-west-1");
    foreign.account = "444455556666".into();
    store.create_key(&foreign, None, &[]).unwrap();
    assert_eq!(
        regions(&store.related_keys(ACCOUNT, MRK).unwrap()),
        [REGION]
    );
    // Lookups before the replica existed must not hide it afterwards (caches).
    assert_eq!(
        store.get_key("eu-west-1", MRK).unwrap().unwrap().account,
        "444455556666"
    );
    assert_eq!(store.get_key("ap-south-1", MRK).unwrap(), None);

    // Replicate: a key added with copies of the materials and its own tags.
    let stored = store
        .modify_related_keys(ACCOUNT, MRK, |keys| {
            assert_eq!(keys.len(), 1);
            let materials = keys[0].materials.clone();
            keys.push(trent_store::RelatedKey {
                key: mrk_in("ap-south-1"),
                materials,
                tags: vec![tag("team", "b")],
            });
            Ok::<_, StoreError>("replicated")
        })
        .unwrap();
    assert_eq!(stored, "replicated");
    let related = store.related_keys(ACCOUNT, MRK).unwrap();
    assert_eq!(regions(&related), ["ap-south-1", REGION]);
    assert_eq!(
        store.materials("ap-south-1", MRK).unwrap(),
        vec![material()]
    );
    assert_eq!(
        store.material("ap-south-1", MRK, 1).unwrap(),
        Some(material())
    );
    assert_eq!(
        store.tags("ap-south-1", MRK).unwrap(),
        vec![tag("team", "b")]
    );

    // Rotate every key of the set and move the primary, in one transaction.
    let v2 = trent_store::KeyMaterial {
        version: 2,
        material_id: "m2".into(),
        ..material()
    };
    store
        .modify_related_keys(ACCOUNT, MRK, |keys| {
            for k in keys.iter_mut() {
                k.materials.push(v2.clone());
                k.key.current_material = 2;
                k.key.primary_region = Some("ap-south-1".into());
                // Immutable: ignored.
                k.key.key_spec = "HMAC_256".into();
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    for region in ["ap-south-1", REGION] {
        let k = store.get_key(region, MRK).unwrap().unwrap();
        assert_eq!(k.current_material, 2);
        assert_eq!(k.primary_region.as_deref(), Some("ap-south-1"));
        assert_eq!(k.key_spec, "SYMMETRIC_DEFAULT");
        assert_eq!(store.material(region, MRK, 2).unwrap(), Some(v2.clone()));
    }
    assert!(store.get_key(REGION, MRK).unwrap().unwrap().is_replica());
    assert!(
        !store
            .get_key("ap-south-1", MRK)
            .unwrap()
            .unwrap()
            .is_replica()
    );

    // Delete one key of the set (with everything hanging off it) and change another.
    store
        .create_alias(&Alias {
            target_key_id: MRK.into(),
            ..alias("alias/mrk", MRK)
        })
        .unwrap();
    store
        .modify_related_keys(ACCOUNT, MRK, |keys| {
            keys.retain(|k| k.key.region != REGION);
            keys[0].key.description = "alone".into();
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(store.get_key(REGION, MRK).unwrap(), None);
    assert_eq!(store.material(REGION, MRK, 1).unwrap(), None);
    assert_eq!(store.get_alias(REGION, ACCOUNT, "alias/mrk").unwrap(), None);
    assert_eq!(
        store
            .get_key("ap-south-1", MRK)
            .unwrap()
            .unwrap()
            .description,
        "alone"
    );
    assert!(matches!(
        store.modify_related_keys(ACCOUNT, "mrk-00000000000000000000000000000000", |_| {
            Ok::<_, StoreError>(())
        }),
        Err(StoreError::NotFound)
    ));
}

pub fn related_keys_refusals_change_nothing(store: &Store) {
    store
        .create_key(&mrk_in(REGION), Some(&material()), &[])
        .unwrap();
    store
        .create_key(&mrk_in("eu-west-1"), Some(&material()), &[])
        .unwrap();
    let before = store.related_keys(ACCOUNT, MRK).unwrap();
    let replica = |region: &str| trent_store::RelatedKey {
        key: mrk_in(region),
        materials: vec![material()],
        tags: Vec::new(),
    };
    type Change = Box<dyn Fn(&mut Vec<trent_store::RelatedKey>)>;
    let refused: Vec<(&str, Change)> = vec![
        (
            "a Region twice",
            Box::new(move |keys| keys.push(replica("eu-west-1"))),
        ),
        (
            "another key ID",
            Box::new(|keys| keys[0].key.key_id = "mrk-other".into()),
        ),
        (
            "tags on a stored key",
            Box::new(|keys| keys[0].tags.push(tag("a", "b"))),
        ),
        (
            "a changed material ID",
            Box::new(|keys| keys[1].materials[0].material_id = "other".into()),
        ),
    ];
    for (what, change) in refused {
        let result = store.modify_related_keys(ACCOUNT, MRK, |keys| {
            keys[0].key.description = "changed".into();
            change(keys);
            Ok::<_, StoreError>(())
        });
        assert!(result.is_err(), "{what}");
        assert_eq!(store.related_keys(ACCOUNT, MRK).unwrap(), before, "{what}");
    }
    // A refusal of the closure itself, after it changed everything.
    let result = store.modify_related_keys(ACCOUNT, MRK, |keys| {
        keys.clear();
        Err::<(), _>(StoreError::Conflict("no"))
    });
    assert!(matches!(result, Err(StoreError::Conflict(_))));
    assert_eq!(store.related_keys(ACCOUNT, MRK).unwrap(), before);
    assert_eq!(store.materials("eu-west-1", MRK).unwrap(), vec![material()]);
}

// ---- the root key's canary ----------------------------------------------------------------

pub fn root_key_canary_is_set_once(store: &Store) {
    assert_eq!(store.root_key_canary().unwrap(), None);
    assert!(store.any_sealed_material().unwrap().is_none());
    // Material that is gone (expired imports) cannot check a root key.
    store.create_key(&key("gone"), None, &[]).unwrap();
    store
        .modify_key_materials(REGION, "gone", |_, materials| {
            materials.push(trent_store::KeyMaterial {
                sealed: None,
                ..material()
            });
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert!(store.any_sealed_material().unwrap().is_none());
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    assert_eq!(
        store.any_sealed_material().unwrap(),
        Some(("k1".to_string(), material()))
    );
    store.set_root_key_canary(b"sealed-1").unwrap();
    assert!(matches!(
        store.set_root_key_canary(b"sealed-2"),
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.root_key_canary().unwrap(), Some(b"sealed-1".to_vec()));
}

// ---- the seed file's record ---------------------------------------------------------------

pub fn seed_record_is_replaced_and_exclusive_runs_once(store: &Store) {
    assert_eq!(store.seed_record().unwrap(), None);
    store.set_seed_record(b"first").unwrap();
    store.set_seed_record(b"second").unwrap();
    assert_eq!(store.seed_record().unwrap(), Some(b"second".to_vec()));
    // `exclusively` runs its closure once, may write through the store meanwhile, and returns
    // the closure's value or error as it is.
    let mut runs = 0;
    let value = store
        .exclusively(|| {
            runs += 1;
            store.set_seed_record(b"third")?;
            Ok::<_, StoreError>(7)
        })
        .unwrap();
    assert_eq!((value, runs), (7, 1));
    assert_eq!(store.seed_record().unwrap(), Some(b"third".to_vec()));
    let refused = store.exclusively(|| Err::<(), _>(StoreError::Conflict("x")));
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    // ...and the next one is not locked out by the one that failed.
    assert_eq!(store.exclusively(|| Ok::<_, StoreError>(1)).unwrap(), 1);
}

// ---- quotas -------------------------------------------------------------------------------

pub fn key_and_alias_quotas(store: &Store) {
    // Keys: customer managed keys per account and region; AWS managed keys do not count.
    store
        .create_key_within(&key("k1"), Some(&material()), &[], 2)
        .unwrap();
    store
        .create_key_within(&aws_managed("m1"), Some(&material()), &[], 1)
        .unwrap();
    store
        .create_key_within(&key_in("eu-west-1", ACCOUNT, "e1"), None, &[], 1)
        .unwrap();
    store
        .create_key_within(&key_in(REGION, "444455556666", "o1"), None, &[], 1)
        .unwrap();
    assert_eq!(store.count_customer_keys(REGION, ACCOUNT).unwrap(), 1);
    store
        .create_key_within(&key("k2"), Some(&material()), &[tag("a", "b")], 2)
        .unwrap();
    assert!(matches!(
        store.create_key_within(&key("k3"), Some(&material()), &[tag("a", "b")], 2),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.get_key(REGION, "k3").unwrap(), None);
    assert_eq!(store.tags(REGION, "k3").unwrap(), vec![]);
    assert_eq!(store.count_customer_keys(REGION, ACCOUNT).unwrap(), 2);

    // Aliases per key: alias/aws/... names do not count; re-pointing an alias at the key it
    // names already is no new alias.
    store
        .create_alias_within(&alias("alias/aws/s3", "k1"), 1)
        .unwrap();
    store
        .create_alias_within(&alias("alias/a", "k1"), 1)
        .unwrap();
    assert!(matches!(
        store.create_alias_within(&alias("alias/b", "k1"), 1),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(store.get_alias(REGION, ACCOUNT, "alias/b").unwrap(), None);
    store
        .create_alias_within(&alias("alias/b", "k2"), 1)
        .unwrap();
    assert!(matches!(
        store.update_alias_within(REGION, ACCOUNT, "alias/b", "k1", 5, 1),
        Err(StoreError::LimitExceeded(_))
    ));
    assert_eq!(
        store
            .get_alias(REGION, ACCOUNT, "alias/b")
            .unwrap()
            .unwrap()
            .target_key_id,
        "k2"
    );
    store
        .update_alias_within(REGION, ACCOUNT, "alias/a", "k1", 6, 1)
        .unwrap();
    store
        .update_alias_within(REGION, ACCOUNT, "alias/a", "k2", 7, 2)
        .unwrap();
}

pub fn ended_grants_are_kept_bounded_and_go_with_their_key(store: &Store) {
    store
        .create_key(&key("k1"), Some(&material()), &[])
        .unwrap();
    let role = "arn:aws:iam::111122223333:role/r";
    let g1 = grant("k1", "g1", role);
    store.create_grant(&g1, "t1", 10).unwrap();
    store
        .create_grant(
            &grant("k1", "g2", "arn:aws:iam::111122223333:user/u"),
            "t2",
            10,
        )
        .unwrap();
    assert_eq!(
        store.grants_for_grantees(REGION, "k1", &[role]).unwrap()[0],
        g1,
        "the creator and the creating request are kept"
    );
    let revoked = GrantEnding {
        how: GrantEnd::Revoked,
        by: "arn:aws:iam::111122223333:root".into(),
        at_ms: 7,
        request_id: None,
    };
    store.end_grant(REGION, "k1", "g1", &retired()).unwrap();
    store.end_grant(REGION, "k1", "g2", &revoked).unwrap();
    assert!(matches!(
        store.end_grant(REGION, "k1", "g1", &retired()),
        Err(StoreError::NotFound)
    ));
    let ended = store
        .ended_grants_for_grantees(REGION, "k1", &["arn:aws:iam::111122223333:user/u", role])
        .unwrap();
    assert_eq!(
        ended,
        [
            EndedGrant {
                grant: grant("k1", "g2", "arn:aws:iam::111122223333:user/u"),
                ending: revoked,
            },
            EndedGrant {
                grant: g1,
                ending: retired(),
            },
        ],
        "the most recently ended first, whole"
    );
    assert!(
        store
            .ended_grants_for_grantees(REGION, "k1", &["someone else"])
            .unwrap()
            .is_empty()
    );
    // A key keeps its latest MAX_ENDED_GRANTS_PER_KEY ended grants.
    for i in 0..MAX_ENDED_GRANTS_PER_KEY {
        let id = format!("n{i:03}");
        store
            .create_grant(&grant("k1", &id, role), &format!("tn{i}"), 1000)
            .unwrap();
        store.end_grant(REGION, "k1", &id, &retired()).unwrap();
    }
    let ended = store
        .ended_grants_for_grantees(REGION, "k1", &[role])
        .unwrap();
    assert_eq!(ended.len(), MAX_ENDED_GRANTS_PER_KEY);
    assert_eq!(
        ended[0].grant.grant_id,
        format!("n{:03}", MAX_ENDED_GRANTS_PER_KEY - 1)
    );
    assert!(
        ended.iter().all(|g| g.grant.grant_id != "g1"),
        "the oldest is forgotten"
    );
    // They go with their key.
    store.delete_key(REGION, "k1").unwrap();
    assert!(
        store
            .ended_grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .is_empty()
    );
}
