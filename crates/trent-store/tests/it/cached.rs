//! `CachedStore` under concurrent reads and writes: a read or write is paused at the worst moment
//! (its backend call has returned, its cache update has not happened yet) while another
//! request runs to completion; afterwards the cache must agree with the backend.
//!
//! The conformance suite's concurrency tests run the cached backends too, but they can only hope
//! to hit these windows; here each one is hit every time.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trent_store::iam::{
    AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord, ManagedPolicyRecord, OwnerKind,
    RoleRecord, SessionRecord, Tags, UserRecord,
};
use trent_store::{
    Alias, Backend, CachedStore, EndedGrant, GrantEnding, GrantRecord, KeyMaterial, KeyRecord,
    KeyUsage, MemoryStore, RelatedKey, Result, Store, StoreError, Tag,
};

use crate::fixtures::*;

/// The one call to pause, and the channels to tell the test it got there and to let it go on.
struct Armed {
    method: &'static str,
    reached: SyncSender<()>,
    resume: Receiver<()>,
}

/// A backend that can pause one call right after the inner backend answered it.
struct Gate {
    inner: Arc<MemoryStore>,
    armed: Arc<Mutex<Option<Armed>>>,
}

impl Gate {
    fn pause_if_armed(&self, method: &str) {
        let armed = {
            let mut slot = self.armed.lock().unwrap();
            match &*slot {
                Some(a) if a.method == method => slot.take(),
                _ => None,
            }
        };
        if let Some(a) = armed {
            a.reached.send(()).unwrap();
            a.resume.recv().unwrap();
        }
    }
}

/// Every method: call the inner backend, then pause if this is the armed call.
macro_rules! gated {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Backend for Gate {
            $(
                fn $name(&self $(, $arg: $ty)*) -> $ret {
                    let result = self.inner.$name($($arg),*);
                    self.pause_if_armed(stringify!($name));
                    result
                }
            )*
        }
    };
}

gated! {
    fn create_key(&self, key: &KeyRecord, material: Option<&KeyMaterial>, tags: &[Tag])
        -> Result<()>;
    fn create_key_with_alias(&self, key: &KeyRecord, material: &KeyMaterial, alias: &Alias)
        -> Result<()>;
    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>>;
    fn list_keys(&self, region: &str, account: &str, after: Option<&str>, limit: usize)
        -> Result<Vec<KeyRecord>>;
    fn modify_key_dyn(&self, region: &str, key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>) -> Result<KeyRecord>;
    fn modify_key_materials_dyn(&self, region: &str, key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>)
        -> Result<KeyRecord>;
    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>>;
    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>>;
    fn create_key_within(&self, key: &KeyRecord, material: Option<&KeyMaterial>, tags: &[Tag],
        max_keys: usize) -> Result<()>;
    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize>;
    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()>;
    fn update_alias_within(&self, region: &str, account: &str, alias_name: &str,
        target_key_id: &str, now_ms: i64, max_per_key: usize) -> Result<()>;
    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>>;
    fn root_key_canary(&self) -> Result<Option<Vec<u8>>>;
    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()>;
    fn seed_record(&self) -> Result<Option<Vec<u8>>>;
    fn set_seed_record(&self, record: &[u8]) -> Result<()>;
    fn modify_related_keys_dyn(&self, account: &str, key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>) -> Result<Vec<KeyRecord>>;
    fn delete_key(&self, region: &str, key_id: &str) -> Result<()>;
    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>>;
    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>>;
    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>>;
    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>>;
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()>;
    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>>;
    fn create_alias(&self, alias: &Alias) -> Result<()>;
    fn update_alias(&self, region: &str, account: &str, alias_name: &str, target_key_id: &str,
        now_ms: i64) -> Result<()>;
    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()>;
    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>>;
    fn list_aliases(&self, region: &str, account: &str, key_id: Option<&str>,
        after: Option<&str>, limit: usize) -> Result<Vec<Alias>>;
    fn aliases_of_key(&self, region: &str, account: &str, key_id: &str) -> Result<Vec<Alias>>;
    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()>;
    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()>;
    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>>;
    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize)
        -> Result<String>;
    fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()>;
    fn grants_for_grantees(&self, region: &str, key_id: &str, grantees: &[&str])
        -> Result<Vec<GrantRecord>>;
    fn grants_for_service(&self, region: &str, key_id: &str, service: &str)
        -> Result<Vec<GrantRecord>>;
    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str)
        -> Result<Option<GrantRecord>>;
    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>>;
    fn list_grants(&self, region: &str, key_id: &str, grant_id: Option<&str>,
        grantee: Option<&str>, after: Option<&str>, limit: usize) -> Result<Vec<GrantRecord>>;
    fn list_retirable_grants(&self, region: &str, principal: &str, after: Option<&str>,
        limit: usize) -> Result<Vec<GrantRecord>>;
    fn end_grant(&self, region: &str, key_id: &str, grant_id: &str, ending: &GrantEnding)
        -> Result<()>;
    fn ended_grants_for_grantees(&self, region: &str, key_id: &str, grantees: &[&str])
        -> Result<Vec<EndedGrant>>;
    fn load_iam(&self) -> Result<IamData<Vec<u8>>>;
    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()>;
    fn create_iam_user(&self, user: &UserRecord) -> Result<()>;
    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()>;
    fn create_iam_role(&self, role: &RoleRecord) -> Result<()>;
    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()>;
    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()>;
    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags)
        -> Result<()>;
    fn set_permissions_boundary(&self, owner: OwnerKind, account: &str, name: &str,
        boundary: Option<&str>) -> Result<()>;
    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()>;
    fn delete_inline_policy(&self, account: &str, owner: OwnerKind, owner_name: &str,
        name: &str) -> Result<()>;
    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()>;
    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()>;
    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()>;
    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()>;
    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()>;
    fn delete_iam_access_key(&self, account: &str, owner_name: &str, access_key_id: &str)
        -> Result<()>;
    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()>;
    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize>;
}

/// The cached store under test, and the backend behind it, read directly (no cache).
struct Setup {
    store: Store,
    backend: Arc<MemoryStore>,
    armed: Arc<Mutex<Option<Armed>>>,
}

/// An armed pause: the paused call has had its answer from the backend.
struct Paused {
    reached: Receiver<()>,
    resume: SyncSender<()>,
}

impl Setup {
    fn new() -> Setup {
        let backend = Arc::new(MemoryStore::new());
        let armed = Arc::new(Mutex::new(None));
        let store = Store::new(CachedStore::new(Gate {
            inner: Arc::clone(&backend),
            armed: Arc::clone(&armed),
        }));
        // Created behind the cache's back, so that the cache starts cold.
        backend
            .create_key(&key("k1"), Some(&material()), &[])
            .unwrap();
        Setup {
            store,
            backend,
            armed,
        }
    }

    /// Pauses the next call of `method`, right after the backend answered it.
    fn arm(&self, method: &'static str) -> Paused {
        let (reached_tx, reached) = sync_channel(1);
        let (resume, resume_rx) = sync_channel(1);
        *self.armed.lock().unwrap() = Some(Armed {
            method,
            reached: reached_tx,
            resume: resume_rx,
        });
        Paused { reached, resume }
    }

    /// Runs `paused_call` on a thread, paused in `method` after its backend call; meanwhile
    /// runs `meanwhile` to completion; then lets the paused call finish.
    fn interleave<T: Send>(
        &self,
        method: &'static str,
        paused_call: impl FnOnce(&Store) -> T + Send,
        meanwhile: impl FnOnce(&Store),
    ) -> T {
        std::thread::scope(|s| {
            // Owned by this closure, so that a failing assertion in `meanwhile` drops `resume`
            // and the paused thread fails too instead of waiting forever.
            let paused = self.arm(method);
            let call = s.spawn(|| paused_call(&self.store));
            paused
                .reached
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{method} was never called: {e}"));
            meanwhile(&self.store);
            paused.resume.send(()).unwrap();
            call.join().unwrap()
        })
    }
}

fn set_description(store: &Store, description: &str) {
    store
        .modify_key(REGION, "k1", |k| {
            k.description = description.into();
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

fn description(store: &Store) -> String {
    store.get_key(REGION, "k1").unwrap().unwrap().description
}

#[test]
fn two_writers_of_a_key_reaching_the_cache_out_of_order_leave_it_current() {
    let t = Setup::new();
    t.interleave(
        "modify_key_dyn",
        |store| set_description(store, "first"),
        |store| {
            set_description(store, "second");
            // Read (and cache, if the cache takes it) the current value before the first
            // writer's cache update.
            assert_eq!(description(store), "second");
        },
    );
    assert_eq!(
        t.backend
            .get_key(REGION, "k1")
            .unwrap()
            .unwrap()
            .description,
        "second"
    );
    assert_eq!(description(&t.store), "second");
}

#[test]
fn a_key_deleted_while_a_modification_reaches_the_cache_stays_deleted() {
    let t = Setup::new();
    t.interleave(
        "modify_key_dyn",
        |store| set_description(store, "changed"),
        |store| store.delete_key(REGION, "k1").unwrap(),
    );
    assert_eq!(t.backend.get_key(REGION, "k1").unwrap(), None);
    assert_eq!(t.store.get_key(REGION, "k1").unwrap(), None);
}

#[test]
fn a_read_that_loaded_a_key_before_a_write_does_not_cache_it() {
    let t = Setup::new();
    let seen = t.interleave("get_key", description, |store| {
        set_description(store, "after")
    });
    // The paused read answers with what it loaded, the value when it began...
    assert_eq!(seen, "");
    // ...but must not have left it in the cache.
    assert_eq!(description(&t.store), "after");
}

#[test]
fn reads_of_tags_aliases_grants_and_material_racing_writes_leave_no_stale_entry() {
    let t = Setup::new();
    let role = "arn:aws:iam::111122223333:role/R";

    t.interleave(
        "tags",
        |store| store.tags(REGION, "k1").unwrap(),
        |store| store.tag_key(REGION, "k1", &[tag("a", "1")], 50).unwrap(),
    );
    assert_eq!(t.store.tags(REGION, "k1").unwrap(), [tag("a", "1")]);

    t.interleave(
        "get_alias",
        |store| store.get_alias(REGION, ACCOUNT, "alias/a").unwrap(),
        |store| store.create_alias(&alias("alias/a", "k1")).unwrap(),
    );
    assert!(
        t.store
            .get_alias(REGION, ACCOUNT, "alias/a")
            .unwrap()
            .is_some()
    );

    t.interleave(
        "aliases_of_key",
        |store| store.aliases_of_key(REGION, ACCOUNT, "k1").unwrap(),
        |store| store.delete_alias(REGION, ACCOUNT, "alias/a").unwrap(),
    );
    assert!(
        t.store
            .aliases_of_key(REGION, ACCOUNT, "k1")
            .unwrap()
            .is_empty()
    );

    t.interleave(
        "grants_for_grantees",
        |store| store.grants_for_grantees(REGION, "k1", &[role]).unwrap(),
        |store| {
            store
                .create_grant(&grant("k1", "g1", role), "t1", 100)
                .map(drop)
                .unwrap()
        },
    );
    assert_eq!(
        t.store
            .grants_for_grantees(REGION, "k1", &[role])
            .unwrap()
            .len(),
        1
    );

    // A key that does not exist yet: its absence and that of its material must not outlive its
    // creation.
    t.interleave(
        "material",
        |store| store.material(REGION, "k2", 1).unwrap(),
        |store| {
            store
                .create_key(&key("k2"), Some(&material()), &[])
                .unwrap()
        },
    );
    assert!(t.store.material(REGION, "k2", 1).unwrap().is_some());
    t.interleave(
        "get_key",
        |store| store.get_key(REGION, "k3").unwrap(),
        |store| {
            store
                .create_key(&key("k3"), Some(&material()), &[])
                .unwrap()
        },
    );
    assert!(t.store.get_key(REGION, "k3").unwrap().is_some());
}
