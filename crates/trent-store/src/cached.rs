//! [`CachedStore`]: the caches of the hot path (resolve a key, find its material, its grants for
//! the caller, its aliases and tags) as a decorator over any [`Backend`].
//!
//! Reads of those go to a cache first; every write that may change a cached entry goes through
//! the decorator, which evicts what it touched once the inner backend's write returns, whether
//! it succeeded or not (a failure after commit, or an error that does not say whether it
//! committed, must not leave a stale entry behind). Writes never put values in: see `cache.rs`
//! for why that, with the generation check of a reader's fill, keeps every cache coherent with
//! the backend under concurrent reads and writes.
//!
//! Writes of other processes to a shared database (PostgreSQL) do not go through this: the
//! backend reports them ([`Backend::on_remote_change`], LISTEN/NOTIFY underneath) and the
//! caches forget what they touched, with the same generation check against concurrent fills.

use std::sync::Arc;

use crate::cache::Cache;
use crate::changes::{Change, ChangeListener};
use crate::iam::{
    AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord, ManagedPolicyRecord, OwnerKind,
    RoleRecord, SessionRecord, Tags, UserRecord,
};
use crate::model::{
    Alias, EndedGrant, GrantEnding, GrantRecord, KeyMaterial, KeyRecord, KeyRef, KeyUsage,
    RelatedKey, Tag, key_ref,
};
use crate::{Backend, Result};

/// A backend with caches in front.
pub struct CachedStore<B> {
    inner: B,
    caches: Arc<Caches>,
}

/// The caches; `None` values cache absence where that is safe. Shared with the listener that a
/// backend shared by several processes calls with the other processes' changes.
#[derive(Default)]
struct Caches {
    keys: Cache<KeyRef, Option<KeyRecord>>,
    materials: Cache<(String, String, u32), Option<KeyMaterial>>,
    aliases: Cache<(String, String, String), Option<Alias>>,
    key_aliases: Cache<KeyRef, Vec<Alias>>,
    tags: Cache<KeyRef, Vec<Tag>>,
    /// (region, key_id, grantee) → grants of that key naming that grantee.
    grants: Cache<(String, String, String), Vec<GrantRecord>>,
}

impl<B: Backend> CachedStore<B> {
    pub fn new(inner: B) -> CachedStore<B> {
        let caches = Arc::new(Caches::default());
        let weak = Arc::downgrade(&caches);
        // Registered first, so that the caches have forgotten a change before any later
        // subscriber (the service) reacts to it and reads again.
        inner.on_remote_change(Arc::new(move |change| {
            if let Some(caches) = weak.upgrade() {
                caches.forget_change(change);
            }
        }));
        CachedStore { inner, caches }
    }
}

impl Caches {
    /// After another process changed the data (see [`Change`]).
    fn forget_change(&self, change: &Change) {
        match change {
            Change::Key { region, key_id } => self.forget_key(region, key_id),
            Change::Aliases { .. } => self.forget_aliases(),
            Change::Grants { region, key_id } => self.forget_grants(region, key_id),
            Change::Identities => {}
            Change::Everything => {
                self.keys.clear();
                self.materials.clear();
                self.tags.clear();
                self.grants.clear();
                self.forget_aliases();
            }
        }
    }

    /// After a key and everything hanging off it were deleted.
    fn forget_key(&self, region: &str, key_id: &str) {
        let k = key_ref(region, key_id);
        self.keys.remove(&k);
        self.materials
            .retain(|(r, id, _)| !(r == region && id == key_id));
        self.tags.remove(&k);
        self.forget_aliases();
        self.forget_grants(region, key_id);
    }

    /// After a key was created: lookups before it existed may have cached its absence, and that
    /// of its material.
    fn forget_absence(&self, key: &KeyRecord) {
        let k = key_ref(&key.region, &key.key_id);
        self.keys.remove(&k);
        self.tags.remove(&k);
        self.materials
            .retain(|(r, id, _)| !(r == &key.region && id == &key.key_id));
    }

    fn forget_grants(&self, region: &str, key_id: &str) {
        self.grants
            .retain(|(r, id, _)| !(r == region && id == key_id));
    }

    fn forget_aliases(&self) {
        self.aliases.clear();
        self.key_aliases.clear();
    }
}

impl<B: Backend> Backend for CachedStore<B> {
    fn on_remote_change(&self, listener: ChangeListener) {
        self.inner.on_remote_change(listener);
    }

    fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()> {
        let result = self.inner.create_key_within(key, material, tags, max_keys);
        self.caches.forget_absence(key);
        result
    }

    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize> {
        self.inner.count_customer_keys(region, account)
    }

    fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()> {
        let result = self.inner.create_key_with_alias(key, material, alias);
        self.caches.forget_absence(key);
        self.caches.forget_aliases();
        result
    }

    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        self.caches.keys.get_or_load(key_ref(region, key_id), || {
            self.inner.get_key(region, key_id)
        })
    }

    fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        self.inner.list_keys(region, account, after, limit)
    }

    fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord> {
        let result = self.inner.modify_key_dyn(region, key_id, f);
        // Evicted, not replaced by the returned key: a concurrent writer of the same key may
        // have committed after this one and reached the cache first.
        self.caches.keys.remove(&key_ref(region, key_id));
        result
    }

    fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord> {
        let result = self.inner.modify_key_materials_dyn(region, key_id, f);
        // Versions may have changed (expired, deleted, imported again), not only been added.
        self.caches.keys.remove(&key_ref(region, key_id));
        self.caches
            .materials
            .retain(|(r, id, _)| !(r == region && id == key_id));
        result
    }

    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.inner.keys_with_expired_material(now_ms)
    }

    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        self.inner.related_keys(account, key_id)
    }

    fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>> {
        // Every Region the closure saw or made: any of them may have been changed, added (its
        // absence may be cached) or deleted.
        let mut regions = Vec::new();
        let result = self
            .inner
            .modify_related_keys_dyn(account, key_id, &mut |keys| {
                regions.extend(keys.iter().map(|k| k.key.region.clone()));
                let outcome = f(keys);
                regions.extend(keys.iter().map(|k| k.key.region.clone()));
                outcome
            });
        for region in &regions {
            self.caches.forget_key(region, key_id);
        }
        result
    }

    // Read once at start: nothing to cache.
    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>> {
        self.inner.any_sealed_material()
    }

    fn root_key_canary(&self) -> Result<Option<Vec<u8>>> {
        self.inner.root_key_canary()
    }

    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()> {
        self.inner.set_root_key_canary(sealed)
    }

    // Read and written once at start: nothing to cache.
    fn seed_record(&self) -> Result<Option<Vec<u8>>> {
        self.inner.seed_record()
    }

    fn set_seed_record(&self, record: &[u8]) -> Result<()> {
        self.inner.set_seed_record(record)
    }

    fn exclusively_dyn(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.inner.exclusively_dyn(f)
    }

    fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        let result = self.inner.delete_key(region, key_id);
        self.caches.forget_key(region, key_id);
        result
    }

    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.inner.keys_due_for_deletion(now_ms)
    }

    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        self.inner.keys_due_for_rotation(now_ms)
    }

    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
        self.inner.materials(region, key_id)
    }

    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>> {
        // Only `modify_key_materials_dyn` changes a version once written (it evicts them); they
        // go away with their key.
        self.caches
            .materials
            .get_or_load((region.to_string(), key_id.to_string(), version), || {
                self.inner.material(region, key_id, version)
            })
    }

    // Usage is written in batches by the lifecycle sweep and read by GetKeyLastUsage only:
    // nothing to cache.
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.inner.record_key_usage(usage)
    }

    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>> {
        self.inner.key_usage(region, key_id)
    }

    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()> {
        let result = self.inner.create_alias_within(alias, max_per_key);
        self.caches.forget_aliases();
        result
    }

    fn update_alias_within(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
        max_per_key: usize,
    ) -> Result<()> {
        let result = self.inner.update_alias_within(
            region,
            account,
            alias_name,
            target_key_id,
            now_ms,
            max_per_key,
        );
        self.caches.forget_aliases();
        result
    }

    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        let result = self.inner.delete_alias(region, account, alias_name);
        self.caches.forget_aliases();
        result
    }

    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>> {
        self.caches.aliases.get_or_load(
            (
                region.to_string(),
                account.to_string(),
                alias_name.to_string(),
            ),
            || self.inner.get_alias(region, account, alias_name),
        )
    }

    fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Alias>> {
        self.inner
            .list_aliases(region, account, key_id, after, limit)
    }

    fn aliases_of_key(&self, region: &str, account: &str, key_id: &str) -> Result<Vec<Alias>> {
        // Keyed by (region, key): a key's aliases are all in its own account.
        self.caches
            .key_aliases
            .get_or_load(key_ref(region, key_id), || {
                self.inner.aliases_of_key(region, account, key_id)
            })
    }

    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()> {
        let result = self.inner.tag_key(region, key_id, tags, max_tags);
        self.caches.tags.remove(&key_ref(region, key_id));
        result
    }

    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        let result = self.inner.untag_key(region, key_id, tag_keys);
        self.caches.tags.remove(&key_ref(region, key_id));
        result
    }

    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        self.caches
            .tags
            .get_or_load(key_ref(region, key_id), || self.inner.tags(region, key_id))
    }

    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize) -> Result<String> {
        let result = self.inner.create_grant(grant, token, max_per_key);
        self.caches.forget_grants(&grant.region, &grant.key_id);
        result
    }

    fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()> {
        let result = self.inner.import_grants(grants);
        self.caches.grants.clear();
        result
    }

    fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>> {
        let mut out = Vec::new();
        for g in grantees {
            out.extend(self.caches.grants.get_or_load(
                (region.to_string(), key_id.to_string(), g.to_string()),
                || self.inner.grants_for_grantees(region, key_id, &[*g]),
            )?);
        }
        Ok(out)
    }

    fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>> {
        self.inner.grants_for_service(region, key_id, service)
    }

    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str) -> Result<Option<GrantRecord>> {
        self.inner.get_grant(region, key_id, grant_id)
    }

    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        self.inner.grant_by_token(token)
    }

    fn list_grants(
        &self,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        self.inner
            .list_grants(region, key_id, grant_id, grantee, after, limit)
    }

    fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        self.inner
            .list_retirable_grants(region, principal, after, limit)
    }

    fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()> {
        let result = self.inner.end_grant(region, key_id, grant_id, ending);
        self.caches.forget_grants(region, key_id);
        result
    }

    /// Not cached: only denials and explanations ask.
    fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>> {
        self.inner
            .ended_grants_for_grantees(region, key_id, grantees)
    }

    // Identities are not cached here: the service keeps its own directory built from
    // `load_iam`, rebuilt after every identity change.

    fn load_iam(&self) -> Result<IamData<Vec<u8>>> {
        self.inner.load_iam()
    }

    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()> {
        self.inner.replace_config_identities(data)
    }

    fn create_iam_user(&self, user: &UserRecord) -> Result<()> {
        self.inner.create_iam_user(user)
    }

    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()> {
        self.inner.delete_iam_user(account, name)
    }

    fn create_iam_role(&self, role: &RoleRecord) -> Result<()> {
        self.inner.create_iam_role(role)
    }

    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()> {
        self.inner.delete_iam_role(account, name)
    }

    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()> {
        self.inner.update_role_trust_policy(account, name, document)
    }

    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags) -> Result<()> {
        self.inner.set_iam_tags(owner, account, name, tags)
    }

    fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()> {
        self.inner
            .set_permissions_boundary(owner, account, name, boundary)
    }

    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()> {
        self.inner.put_inline_policy(policy)
    }

    fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()> {
        self.inner
            .delete_inline_policy(account, owner, owner_name, name)
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.inner.create_managed_policy(policy)
    }

    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()> {
        self.inner.delete_managed_policy(account, name, arn)
    }

    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.inner.attach_policy(a)
    }

    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.inner.detach_policy(a)
    }

    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()> {
        self.inner.create_iam_access_key(key)
    }

    fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()> {
        self.inner
            .delete_iam_access_key(account, owner_name, access_key_id)
    }

    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()> {
        self.inner.create_session(s)
    }

    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize> {
        self.inner.delete_expired_sessions(before_ms)
    }
}
