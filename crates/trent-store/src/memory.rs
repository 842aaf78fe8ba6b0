//! [`MemoryStore`]: the whole state in this process's memory, nothing on disk (`trent serve
//! --in-memory`, tests). It keeps SQLite's semantics, including what the schema enforces:
//! uniqueness, cascades on key deletion, and IAM names compared ignoring ASCII case (SQLite's
//! `COLLATE NOCASE`).
//!
//! Atomicity: one writer at a time (`writer`), like SQLite. Each KMS write checks everything it
//! can refuse before it changes anything; identity writes work on a copy of the identities
//! (small, rarely written) that replaces the original only on success. Readers take the state's
//! read lock briefly and never wait for a writer's closure: [`Backend::modify_key_dyn`] runs
//! the caller's closure without holding the state lock, so the closure may read the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::iam::{
    AccessKeyKind, AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord,
    ManagedPolicyRecord, OwnerKind, RoleRecord, SessionRecord, Tags, UserRecord,
};
use crate::model::{
    Alias, EndedGrant, GrantEnding, GrantRecord, KeyMaterial, KeyRecord, KeyRef, KeyState,
    KeyUsage, MAX_ENDED_GRANTS_PER_KEY, RelatedKey, Tag, key_ref, material_changes,
    related_changes,
};
use crate::{Backend, Result, StoreError};

/// Where an identity row came from: the configuration file (replaced at every start) or the
/// IAM/STS APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Config,
    Api,
}

/// One key with everything that goes away with it.
#[derive(Clone)]
struct KeyEntry {
    key: KeyRecord,
    materials: BTreeMap<u32, KeyMaterial>,
    tags: BTreeMap<String, String>,
    /// In creation order, as SQLite returns them from its grantee index.
    grants: Vec<GrantRecord>,
    /// Retired and revoked grants, oldest first, at most `MAX_ENDED_GRANTS_PER_KEY`.
    ended_grants: Vec<EndedGrant>,
    last_usage: Option<KeyUsage>,
}

impl KeyEntry {
    /// A new key with its first versions and tags (`AlreadyExists` for a tag key twice, as
    /// SQLite's primary key on tags refuses it).
    fn new<'a>(
        key: &KeyRecord,
        materials: impl Iterator<Item = &'a KeyMaterial>,
        tags: &[Tag],
    ) -> Result<KeyEntry> {
        let mut tag_map = BTreeMap::new();
        for tag in tags {
            if tag_map.insert(tag.key.clone(), tag.value.clone()).is_some() {
                return Err(StoreError::AlreadyExists);
            }
        }
        Ok(KeyEntry {
            key: key.clone(),
            materials: materials.map(|m| (m.version, m.clone())).collect(),
            tags: tag_map,
            grants: Vec::new(),
            ended_grants: Vec::new(),
            last_usage: None,
        })
    }
}

#[derive(Default)]
struct KmsState {
    /// (region, key ID) → key.
    keys: BTreeMap<KeyRef, KeyEntry>,
    /// (region, account, alias name) → alias.
    aliases: BTreeMap<(String, String, String), Alias>,
    /// Grant token → (region, key ID, grant ID).
    tokens: HashMap<String, (String, String, String)>,
    root_key_canary: Option<Vec<u8>>,
    seed_record: Option<Vec<u8>>,
}

#[derive(Clone, Default)]
struct IamState {
    accounts: BTreeMap<String, Source>,
    users: Vec<(UserRecord, Source)>,
    roles: Vec<(RoleRecord, Source)>,
    policies: Vec<ManagedPolicyRecord>,
    inline_policies: Vec<(InlinePolicyRecord, Source)>,
    attachments: Vec<AttachmentRecord>,
    access_keys: Vec<(AccessKeyRecord<Vec<u8>>, Source)>,
    sessions: Vec<SessionRecord<Vec<u8>>>,
}

#[derive(Default)]
struct State {
    kms: KmsState,
    iam: IamState,
}

#[derive(Default)]
pub struct MemoryStore {
    /// Serialises writers (held for a whole write, closure included).
    writer: Mutex<()>,
    state: RwLock<State>,
}

// A panic cannot leave a half-applied change behind (writes check before they change, and
// identity writes swap in a finished copy), so a poisoned lock is safe to keep using.
fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// IAM names are unique and matched ignoring ASCII case, as SQLite's `COLLATE NOCASE` does.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn name_order(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn page<T>(items: impl Iterator<Item = T>, limit: usize) -> Vec<T> {
    items.take(limit).collect()
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// One KMS write: `f` must check everything it can refuse before it changes anything.
    fn write_kms<T>(&self, f: impl FnOnce(&mut KmsState) -> Result<T>) -> Result<T> {
        let _writer = lock(&self.writer);
        f(&mut self.write_state().kms)
    }

    /// One identity write, on a copy that replaces the identities only if `f` succeeds.
    fn write_iam<T>(&self, f: impl FnOnce(&mut IamState) -> Result<T>) -> Result<T> {
        let _writer = lock(&self.writer);
        let mut copy = self.read().iam.clone();
        let value = f(&mut copy)?;
        self.write_state().iam = copy;
        Ok(value)
    }
}

impl KmsState {
    fn entry(&self, region: &str, key_id: &str) -> Option<&KeyEntry> {
        self.keys.get(&key_ref(region, key_id))
    }

    /// The keys with this ID in the account, ordered by Region (the map's order).
    fn related<'a>(
        &'a self,
        account: &'a str,
        key_id: &'a str,
    ) -> impl Iterator<Item = &'a KeyEntry> {
        self.keys
            .values()
            .filter(move |e| e.key.key_id == key_id && e.key.account == account)
    }

    fn customer_keys(&self, region: &str, account: &str) -> usize {
        self.keys
            .values()
            .filter(|e| {
                e.key.region == region
                    && e.key.account == account
                    && e.key.key_manager == crate::model::KeyManager::Customer
            })
            .count()
    }

    /// `LimitExceeded` if the key has `max` customer-created aliases besides `except`.
    fn check_alias_quota(
        &self,
        region: &str,
        key_id: &str,
        except: Option<&str>,
        max: usize,
    ) -> Result<()> {
        let n = self
            .aliases
            .values()
            .filter(|a| {
                a.region == region
                    && a.target_key_id == key_id
                    && !a.alias_name.starts_with("alias/aws/")
                    && Some(a.alias_name.as_str()) != except
            })
            .count();
        if n >= max {
            return Err(StoreError::LimitExceeded("aliases per key"));
        }
        Ok(())
    }

    /// Removes a key with everything that goes away with it (SQLite's cascades).
    fn delete_key(&mut self, region: &str, key_id: &str) {
        self.keys.remove(&key_ref(region, key_id));
        self.aliases
            .retain(|_, a| !(a.region == region && a.target_key_id == key_id));
        self.forget_tokens(region, key_id, None);
    }

    fn grant(&self, region: &str, key_id: &str, grant_id: &str) -> Option<&GrantRecord> {
        self.entry(region, key_id)?
            .grants
            .iter()
            .find(|g| g.grant_id == grant_id)
    }

    fn check_new_grant(&self, g: &GrantRecord, token: &str) -> Result<()> {
        let entry = self
            .entry(&g.region, &g.key_id)
            .ok_or(StoreError::NotFound)?;
        if entry.grants.iter().any(|e| e.grant_id == g.grant_id) {
            return Err(StoreError::AlreadyExists);
        }
        if self.tokens.contains_key(token) {
            return Err(StoreError::AlreadyExists);
        }
        Ok(())
    }

    /// After [`KmsState::check_new_grant`] succeeded.
    fn insert_grant(&mut self, g: &GrantRecord, token: &str) {
        if let Some(entry) = self.keys.get_mut(&key_ref(&g.region, &g.key_id)) {
            entry.grants.push(g.clone());
            self.tokens.insert(
                token.to_string(),
                (g.region.clone(), g.key_id.clone(), g.grant_id.clone()),
            );
        }
    }

    fn forget_tokens(&mut self, region: &str, key_id: &str, grant_id: Option<&str>) {
        self.tokens.retain(|_, (r, k, g)| {
            !(r == region && k == key_id && grant_id.is_none_or(|id| id == g))
        });
    }
}

impl IamState {
    fn user_exists(&self, account: &str, name: &str) -> bool {
        self.users
            .iter()
            .any(|(u, _)| u.account == account && same_name(&u.name, name))
    }

    fn role_exists(&self, account: &str, name: &str) -> bool {
        self.roles
            .iter()
            .any(|(r, _)| r.account == account && same_name(&r.name, name))
    }

    fn owner_exists(&self, owner: OwnerKind, account: &str, name: &str) -> bool {
        match owner {
            OwnerKind::User => self.user_exists(account, name),
            OwnerKind::Role => self.role_exists(account, name),
        }
    }

    /// The tags and the permissions boundary of a user or role, to change in place.
    fn owner_fields(
        &mut self,
        owner: OwnerKind,
        account: &str,
        name: &str,
    ) -> Result<(&mut Tags, &mut Option<String>)> {
        match owner {
            OwnerKind::User => self
                .users
                .iter_mut()
                .find(|(u, _)| u.account == account && same_name(&u.name, name))
                .map(|(u, _)| (&mut u.tags, &mut u.permissions_boundary)),
            OwnerKind::Role => self
                .roles
                .iter_mut()
                .find(|(r, _)| r.account == account && same_name(&r.name, name))
                .map(|(r, _)| (&mut r.tags, &mut r.permissions_boundary)),
        }
        .ok_or(StoreError::NotFound)
    }

    /// Inline policies plus attachments of a user or role.
    fn policies_of(&self, owner: OwnerKind, account: &str, name: &str) -> usize {
        self.inline_policies
            .iter()
            .filter(|(p, _)| {
                p.account == account && p.owner == owner && same_name(&p.owner_name, name)
            })
            .count()
            + self
                .attachments
                .iter()
                .filter(|a| {
                    a.account == account && a.owner == owner && same_name(&a.owner_name, name)
                })
                .count()
    }

    fn insert_user(&mut self, u: &UserRecord, source: Source) -> Result<()> {
        let collides = |e: &UserRecord| {
            (e.account == u.account && same_name(&e.name, &u.name)) || e.unique_id == u.unique_id
        };
        match source {
            // A configured user replaces whatever it collides with (SQLite's INSERT OR REPLACE).
            Source::Config => self.users.retain(|(e, _)| !collides(e)),
            Source::Api if self.users.iter().any(|(e, _)| collides(e)) => {
                return Err(StoreError::AlreadyExists);
            }
            Source::Api => {}
        }
        self.users.push((u.clone(), source));
        Ok(())
    }

    fn insert_role(&mut self, r: &RoleRecord, source: Source) -> Result<()> {
        let collides = |e: &RoleRecord| {
            (e.account == r.account && same_name(&e.name, &r.name)) || e.unique_id == r.unique_id
        };
        match source {
            Source::Config => self.roles.retain(|(e, _)| !collides(e)),
            Source::Api if self.roles.iter().any(|(e, _)| collides(e)) => {
                return Err(StoreError::AlreadyExists);
            }
            Source::Api => {}
        }
        self.roles.push((r.clone(), source));
        Ok(())
    }

    /// Always replaces: an inline policy is put, not created.
    fn insert_inline(&mut self, p: &InlinePolicyRecord, source: Source) {
        self.inline_policies.retain(|(e, _)| {
            !(e.account == p.account
                && e.owner == p.owner
                && same_name(&e.owner_name, &p.owner_name)
                && e.name == p.name)
        });
        self.inline_policies.push((p.clone(), source));
    }

    fn insert_access_key(&mut self, k: &AccessKeyRecord<Vec<u8>>, source: Source) -> Result<()> {
        let exists = self
            .access_keys
            .iter()
            .any(|(e, _)| e.access_key_id == k.access_key_id);
        match source {
            Source::Config => self
                .access_keys
                .retain(|(e, _)| e.access_key_id != k.access_key_id),
            Source::Api if exists => return Err(StoreError::AlreadyExists),
            Source::Api => {}
        }
        self.access_keys.push((k.clone(), source));
        Ok(())
    }
}

fn not_found_unless(found: bool) -> Result<()> {
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl Backend for MemoryStore {
    // ---- keys ---------------------------------------------------------------------------------

    fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()> {
        self.write_kms(|kms| {
            let k = key_ref(&key.region, &key.key_id);
            if kms.keys.contains_key(&k) {
                return Err(StoreError::AlreadyExists);
            }
            if key.key_manager == crate::model::KeyManager::Customer
                && kms.customer_keys(&key.region, &key.account) >= max_keys
            {
                return Err(StoreError::LimitExceeded(
                    "customer managed keys per region",
                ));
            }
            kms.keys
                .insert(k, KeyEntry::new(key, material.into_iter(), tags)?);
            Ok(())
        })
    }

    fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()> {
        self.write_kms(|kms| {
            let name = (
                alias.region.clone(),
                alias.account.clone(),
                alias.alias_name.clone(),
            );
            let k = key_ref(&key.region, &key.key_id);
            // Both refusals are checked before anything is inserted.
            if kms.aliases.contains_key(&name) || kms.keys.contains_key(&k) {
                return Err(StoreError::AlreadyExists);
            }
            if alias.region != key.region || alias.target_key_id != key.key_id {
                // SQLite's foreign key: the alias must point at a key that exists.
                return Err(StoreError::NotFound);
            }
            kms.keys
                .insert(k, KeyEntry::new(key, std::iter::once(material), &[])?);
            kms.aliases.insert(name, alias.clone());
            Ok(())
        })
    }

    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>> {
        Ok(self.read().kms.entry(region, key_id).map(|e| e.key.clone()))
    }

    fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let state = self.read();
        let after = after.unwrap_or("");
        Ok(page(
            state
                .kms
                .keys
                .values()
                .map(|e| &e.key)
                .filter(|k| k.region == region && k.account == account && k.key_id.as_str() > after)
                .cloned(),
            limit,
        ))
    }

    fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord> {
        // The writer lock keeps other writers out between the read and the write, as SQLite's
        // write transaction does; readers (the closure included) still get in.
        let _writer = lock(&self.writer);
        let stored = self.get_key(region, key_id)?.ok_or(StoreError::NotFound)?;
        let mut changed = stored.clone();
        f(&mut changed)?;
        let stored = stored.with_changes(&changed);
        let mut state = self.write_state();
        let entry = state
            .kms
            .keys
            .get_mut(&key_ref(region, key_id))
            .ok_or(StoreError::NotFound)?;
        entry.key = stored.clone();
        Ok(stored)
    }

    fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord> {
        let _writer = lock(&self.writer);
        let stored = self.get_key(region, key_id)?.ok_or(StoreError::NotFound)?;
        let before = self.materials(region, key_id)?;
        let mut changed = stored.clone();
        let mut after = before.clone();
        f(&mut changed, &mut after)?;
        material_changes(&before, &after)?;
        let stored = stored.with_changes(&changed);
        let mut state = self.write_state();
        let entry = state
            .kms
            .keys
            .get_mut(&key_ref(region, key_id))
            .ok_or(StoreError::NotFound)?;
        entry.materials = after.into_iter().map(|m| (m.version, m)).collect();
        entry.key = stored.clone();
        Ok(stored)
    }

    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .read()
            .kms
            .keys
            .values()
            .filter(|e| {
                e.materials
                    .values()
                    .any(|m| m.sealed.is_some() && m.valid_to_ms.is_some_and(|t| t <= now_ms))
            })
            .map(|e| (e.key.region.clone(), e.key.key_id.clone()))
            .collect())
    }

    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        Ok(self
            .read()
            .kms
            .related(account, key_id)
            .map(|e| e.key.clone())
            .collect())
    }

    fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>> {
        let _writer = lock(&self.writer);
        let before: Vec<RelatedKey> = self
            .read()
            .kms
            .related(account, key_id)
            .map(|e| RelatedKey {
                key: e.key.clone(),
                materials: e.materials.values().cloned().collect(),
                tags: Vec::new(),
            })
            .collect();
        if before.is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut after = before.clone();
        f(&mut after)?;
        let changes = related_changes(&before, &after, account, key_id)?;
        // Everything that can refuse is checked before the state changes.
        let inserted = changes
            .inserted
            .iter()
            .map(|r| {
                Ok((
                    key_ref(&r.key.region, key_id),
                    KeyEntry::new(&r.key, r.materials.iter(), &r.tags)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut state = self.write_state();
        let kms = &mut state.kms;
        if inserted.iter().any(|(k, _)| kms.keys.contains_key(k)) {
            return Err(StoreError::AlreadyExists);
        }
        for region in &changes.deleted {
            kms.delete_key(region, key_id);
        }
        for (key, removed, written) in changes.updated {
            let entry = kms
                .keys
                .get_mut(&key_ref(&key.region, key_id))
                .ok_or(StoreError::NotFound)?;
            for version in removed {
                entry.materials.remove(&version);
            }
            for m in written {
                entry.materials.insert(m.version, m.clone());
            }
            entry.key = key;
        }
        kms.keys.extend(inserted);
        Ok(kms
            .related(account, key_id)
            .map(|e| e.key.clone())
            .collect())
    }

    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>> {
        Ok(self.read().kms.keys.values().find_map(|e| {
            e.materials
                .values()
                .find(|m| m.sealed.is_some())
                .map(|m| (e.key.key_id.clone(), m.clone()))
        }))
    }

    fn root_key_canary(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.read().kms.root_key_canary.clone())
    }

    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()> {
        self.write_kms(|kms| {
            if kms.root_key_canary.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            kms.root_key_canary = Some(sealed.to_vec());
            Ok(())
        })
    }

    fn seed_record(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.read().kms.seed_record.clone())
    }

    fn set_seed_record(&self, record: &[u8]) -> Result<()> {
        self.write_kms(|kms| {
            kms.seed_record = Some(record.to_vec());
            Ok(())
        })
    }

    fn delete_key(&self, region: &str, key_id: &str) -> Result<()> {
        self.write_kms(|kms| {
            kms.delete_key(region, key_id);
            Ok(())
        })
    }

    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .read()
            .kms
            .keys
            .values()
            .map(|e| &e.key)
            .filter(|k| {
                k.key_state == KeyState::PendingDeletion
                    && k.deletion_ms.is_some_and(|d| d <= now_ms)
            })
            .map(|k| (k.region.clone(), k.key_id.clone()))
            .collect())
    }

    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .read()
            .kms
            .keys
            .values()
            .map(|e| &e.key)
            .filter(|k| k.next_rotation_ms.is_some_and(|d| d <= now_ms))
            .map(|k| (k.region.clone(), k.key_id.clone()))
            .collect())
    }

    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>> {
        Ok(self
            .read()
            .kms
            .entry(region, key_id)
            .and_then(|e| e.materials.get(&version).cloned()))
    }

    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>> {
        Ok(self
            .read()
            .kms
            .entry(region, key_id)
            .map(|e| e.materials.values().cloned().collect())
            .unwrap_or_default())
    }

    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.write_kms(|kms| {
            for u in usage {
                if let Some(entry) = kms.keys.get_mut(&key_ref(&u.region, &u.key_id))
                    && entry.last_usage.as_ref().is_none_or(|l| l.at_ms <= u.at_ms)
                {
                    entry.last_usage = Some(u.clone());
                }
            }
            Ok(())
        })
    }

    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>> {
        Ok(self
            .read()
            .kms
            .entry(region, key_id)
            .and_then(|e| e.last_usage.clone()))
    }

    // ---- aliases ------------------------------------------------------------------------------

    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize> {
        Ok(self.read().kms.customer_keys(region, account))
    }

    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()> {
        self.write_kms(|kms| {
            let k = (
                alias.region.clone(),
                alias.account.clone(),
                alias.alias_name.clone(),
            );
            if kms.aliases.contains_key(&k) {
                return Err(StoreError::AlreadyExists);
            }
            if kms.entry(&alias.region, &alias.target_key_id).is_none() {
                return Err(StoreError::NotFound);
            }
            kms.check_alias_quota(&alias.region, &alias.target_key_id, None, max_per_key)?;
            kms.aliases.insert(k, alias.clone());
            Ok(())
        })
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
        self.write_kms(|kms| {
            let k = (
                region.to_string(),
                account.to_string(),
                alias_name.to_string(),
            );
            if !kms.aliases.contains_key(&k) || kms.entry(region, target_key_id).is_none() {
                return Err(StoreError::NotFound);
            }
            kms.check_alias_quota(region, target_key_id, Some(alias_name), max_per_key)?;
            if let Some(alias) = kms.aliases.get_mut(&k) {
                alias.target_key_id = target_key_id.to_string();
                alias.updated_ms = now_ms;
            }
            Ok(())
        })
    }

    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()> {
        self.write_kms(|kms| {
            let k = (
                region.to_string(),
                account.to_string(),
                alias_name.to_string(),
            );
            not_found_unless(kms.aliases.remove(&k).is_some())
        })
    }

    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>> {
        let k = (
            region.to_string(),
            account.to_string(),
            alias_name.to_string(),
        );
        Ok(self.read().kms.aliases.get(&k).cloned())
    }

    fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Alias>> {
        let state = self.read();
        let after = after.unwrap_or("");
        Ok(page(
            state
                .kms
                .aliases
                .values()
                .filter(|a| {
                    a.region == region
                        && a.account == account
                        && key_id.is_none_or(|k| a.target_key_id == k)
                        && a.alias_name.as_str() > after
                })
                .cloned(),
            limit,
        ))
    }

    // ---- tags ---------------------------------------------------------------------------------

    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()> {
        self.write_kms(|kms| {
            let entry = kms
                .keys
                .get_mut(&key_ref(region, key_id))
                .ok_or(StoreError::NotFound)?;
            let mut merged = entry.tags.clone();
            for tag in tags {
                merged.insert(tag.key.clone(), tag.value.clone());
            }
            if merged.len() > max_tags {
                return Err(StoreError::LimitExceeded("tags"));
            }
            entry.tags = merged;
            Ok(())
        })
    }

    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()> {
        self.write_kms(|kms| {
            if let Some(entry) = kms.keys.get_mut(&key_ref(region, key_id)) {
                for k in tag_keys {
                    entry.tags.remove(k);
                }
            }
            Ok(())
        })
    }

    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>> {
        Ok(self
            .read()
            .kms
            .entry(region, key_id)
            .map(|e| {
                e.tags
                    .iter()
                    .map(|(key, value)| Tag {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    // ---- grants -------------------------------------------------------------------------------

    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize) -> Result<String> {
        self.write_kms(|kms| {
            let entry = kms
                .entry(&grant.region, &grant.key_id)
                .ok_or(StoreError::NotFound)?;
            if grant.name.is_some()
                && let Some(existing) = entry
                    .grants
                    .iter()
                    .find(|g| g.name == grant.name && g.same_parameters(grant))
            {
                let existing = existing.grant_id.clone();
                if kms.tokens.contains_key(token) {
                    return Err(StoreError::AlreadyExists);
                }
                kms.tokens.insert(
                    token.to_string(),
                    (grant.region.clone(), grant.key_id.clone(), existing.clone()),
                );
                return Ok(existing);
            }
            if entry.grants.len() >= max_per_key {
                return Err(StoreError::LimitExceeded("grants per key"));
            }
            kms.check_new_grant(grant, token)?;
            kms.insert_grant(grant, token);
            Ok(grant.grant_id.clone())
        })
    }

    fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()> {
        self.write_kms(|kms| {
            // Checked as a whole first (duplicates within the batch too): all or nothing.
            let mut ids = std::collections::HashSet::new();
            let mut tokens = std::collections::HashSet::new();
            for (g, token) in grants {
                kms.check_new_grant(g, token)?;
                if !ids.insert((&g.region, &g.key_id, &g.grant_id)) || !tokens.insert(token) {
                    return Err(StoreError::AlreadyExists);
                }
            }
            for (g, token) in grants {
                kms.insert_grant(g, token);
            }
            Ok(())
        })
    }

    fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>> {
        let state = self.read();
        let Some(entry) = state.kms.entry(region, key_id) else {
            return Ok(Vec::new());
        };
        Ok(grantees
            .iter()
            .flat_map(|grantee| {
                entry
                    .grants
                    .iter()
                    .filter(move |g| g.grantee_principal.as_deref() == Some(*grantee))
            })
            .cloned()
            .collect())
    }

    fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>> {
        let state = self.read();
        Ok(state
            .kms
            .entry(region, key_id)
            .map(|e| {
                e.grants
                    .iter()
                    .filter(|g| g.grantee_service_principal.as_deref() == Some(service))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str) -> Result<Option<GrantRecord>> {
        Ok(self.read().kms.grant(region, key_id, grant_id).cloned())
    }

    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        let state = self.read();
        Ok(state
            .kms
            .tokens
            .get(token)
            .and_then(|(r, k, g)| state.kms.grant(r, k, g))
            .cloned())
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
        let state = self.read();
        let after = after.unwrap_or("");
        let mut found: Vec<&GrantRecord> = state
            .kms
            .entry(region, key_id)
            .map(|e| {
                e.grants
                    .iter()
                    .filter(|g| {
                        grant_id.is_none_or(|id| g.grant_id == id)
                            && grantee.is_none_or(|p| {
                                g.grantee_principal.as_deref() == Some(p)
                                    || g.grantee_service_principal.as_deref() == Some(p)
                            })
                            && g.grant_id.as_str() > after
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
        Ok(page(found.into_iter().cloned(), limit))
    }

    fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>> {
        let state = self.read();
        let after = after.unwrap_or("");
        let mut found: Vec<(String, &GrantRecord)> = state
            .kms
            .keys
            .values()
            .filter(|e| e.key.region == region)
            .flat_map(|e| e.grants.iter())
            .filter(|g| {
                g.retiring_principal.as_deref() == Some(principal)
                    || g.retiring_service_principal.as_deref() == Some(principal)
            })
            .map(|g| (format!("{}/{}", g.key_id, g.grant_id), g))
            .filter(|(position, _)| position.as_str() > after)
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(page(found.into_iter().map(|(_, g)| g.clone()), limit))
    }

    fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()> {
        self.write_kms(|kms| {
            let entry = kms
                .keys
                .get_mut(&key_ref(region, key_id))
                .ok_or(StoreError::NotFound)?;
            let index = entry.grants.iter().position(|g| g.grant_id == grant_id);
            let Some(index) = index else {
                return Err(StoreError::NotFound);
            };
            let grant = entry.grants.remove(index);
            entry.ended_grants.push(EndedGrant {
                grant,
                ending: ending.clone(),
            });
            let excess = entry
                .ended_grants
                .len()
                .saturating_sub(MAX_ENDED_GRANTS_PER_KEY);
            entry.ended_grants.drain(..excess);
            kms.forget_tokens(region, key_id, Some(grant_id));
            Ok(())
        })
    }

    fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>> {
        let state = self.read();
        let Some(entry) = state.kms.entry(region, key_id) else {
            return Ok(Vec::new());
        };
        Ok(entry
            .ended_grants
            .iter()
            .rev()
            .filter(|g| {
                g.grant
                    .grantee_principal
                    .as_deref()
                    .is_some_and(|p| grantees.contains(&p))
            })
            .cloned()
            .collect())
    }

    // ---- identities ---------------------------------------------------------------------------

    fn load_iam(&self) -> Result<IamData<Vec<u8>>> {
        let state = self.read();
        let iam = &state.iam;
        let mut data = IamData {
            accounts: iam.accounts.keys().cloned().collect(),
            users: iam.users.iter().map(|(u, _)| u.clone()).collect(),
            roles: iam.roles.iter().map(|(r, _)| r.clone()).collect(),
            policies: iam.policies.clone(),
            inline_policies: iam.inline_policies.iter().map(|(p, _)| p.clone()).collect(),
            attachments: iam.attachments.clone(),
            access_keys: iam.access_keys.iter().map(|(k, _)| k.clone()).collect(),
            sessions: iam.sessions.clone(),
        };
        // The orders of the SQLite backend's queries (names compared as NOCASE does).
        data.users
            .sort_by_cached_key(|u| (u.account.clone(), name_order(&u.name)));
        data.roles
            .sort_by_cached_key(|r| (r.account.clone(), name_order(&r.name)));
        data.policies
            .sort_by_cached_key(|p| (p.account.clone(), name_order(&p.name)));
        for p in &mut data.policies {
            p.versions
                .sort_by(|a, b| (a.created_ms, &a.version_id).cmp(&(b.created_ms, &b.version_id)));
        }
        data.inline_policies.sort_by_cached_key(|p| {
            (
                p.account.clone(),
                p.owner.as_str(),
                name_order(&p.owner_name),
                p.name.clone(),
            )
        });
        data.attachments.sort_by_cached_key(|a| {
            (
                a.account.clone(),
                a.owner.as_str(),
                name_order(&a.owner_name),
                a.policy_arn.clone(),
            )
        });
        data.access_keys.sort_by(|a, b| {
            (a.created_ms, &a.access_key_id).cmp(&(b.created_ms, &b.access_key_id))
        });
        data.sessions.sort_by(|a, b| {
            (a.created_ms, &a.access_key_id).cmp(&(b.created_ms, &b.access_key_id))
        });
        Ok(data)
    }

    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()> {
        self.write_iam(|iam| {
            iam.accounts.retain(|_, s| *s != Source::Config);
            iam.users.retain(|(_, s)| *s != Source::Config);
            iam.roles.retain(|(_, s)| *s != Source::Config);
            iam.inline_policies.retain(|(_, s)| *s != Source::Config);
            iam.access_keys.retain(|(_, s)| *s != Source::Config);
            for a in &data.accounts {
                iam.accounts.insert(a.clone(), Source::Config);
            }
            for u in &data.users {
                iam.insert_user(u, Source::Config)?;
            }
            for r in &data.roles {
                iam.insert_role(r, Source::Config)?;
            }
            for p in &data.inline_policies {
                iam.insert_inline(p, Source::Config);
            }
            for k in &data.access_keys {
                iam.insert_access_key(k, Source::Config)?;
            }
            Ok(())
        })
    }

    fn create_iam_user(&self, user: &UserRecord) -> Result<()> {
        self.write_iam(|iam| iam.insert_user(user, Source::Api))
    }

    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()> {
        self.write_iam(|iam| {
            not_found_unless(iam.user_exists(account, name))?;
            if iam.policies_of(OwnerKind::User, account, name) > 0 {
                return Err(StoreError::Conflict("policies"));
            }
            // Access keys name their owner exactly (SQLite: no NOCASE on that column).
            if iam.access_keys.iter().any(|(k, _)| {
                k.account == account && k.kind == AccessKeyKind::User && k.owner_name == name
            }) {
                return Err(StoreError::Conflict("access keys"));
            }
            iam.users
                .retain(|(u, _)| !(u.account == account && same_name(&u.name, name)));
            Ok(())
        })
    }

    fn create_iam_role(&self, role: &RoleRecord) -> Result<()> {
        self.write_iam(|iam| iam.insert_role(role, Source::Api))
    }

    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()> {
        self.write_iam(|iam| {
            not_found_unless(iam.role_exists(account, name))?;
            if iam.policies_of(OwnerKind::Role, account, name) > 0 {
                return Err(StoreError::Conflict("policies"));
            }
            iam.sessions
                .retain(|s| !(s.account == account && s.role_name == name));
            iam.access_keys.retain(|(k, _)| {
                !(k.account == account
                    && k.kind == AccessKeyKind::RoleSession
                    && k.owner_name == name)
            });
            iam.roles
                .retain(|(r, _)| !(r.account == account && same_name(&r.name, name)));
            Ok(())
        })
    }

    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()> {
        self.write_iam(|iam| {
            let role = iam
                .roles
                .iter_mut()
                .find(|(r, _)| r.account == account && same_name(&r.name, name))
                .ok_or(StoreError::NotFound)?;
            role.0.trust_policy = Some(document.to_string());
            Ok(())
        })
    }

    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags) -> Result<()> {
        self.write_iam(|iam| {
            let (slot, _) = iam.owner_fields(owner, account, name)?;
            *slot = tags.clone();
            Ok(())
        })
    }

    fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()> {
        self.write_iam(|iam| {
            let (_, slot) = iam.owner_fields(owner, account, name)?;
            *slot = boundary.map(str::to_string);
            Ok(())
        })
    }

    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()> {
        self.write_iam(|iam| {
            not_found_unless(iam.owner_exists(policy.owner, &policy.account, &policy.owner_name))?;
            iam.insert_inline(policy, Source::Api);
            Ok(())
        })
    }

    fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()> {
        self.write_iam(|iam| {
            let before = iam.inline_policies.len();
            iam.inline_policies.retain(|(p, _)| {
                !(p.account == account
                    && p.owner == owner
                    && same_name(&p.owner_name, owner_name)
                    && p.name == name)
            });
            not_found_unless(iam.inline_policies.len() < before)
        })
    }

    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.write_iam(|iam| {
            if iam.policies.iter().any(|p| {
                (p.account == policy.account && same_name(&p.name, &policy.name))
                    || p.unique_id == policy.unique_id
            }) {
                return Err(StoreError::AlreadyExists);
            }
            let mut versions = std::collections::HashSet::new();
            if !policy
                .versions
                .iter()
                .all(|v| versions.insert(&v.version_id))
            {
                return Err(StoreError::AlreadyExists);
            }
            iam.policies.push(policy.clone());
            Ok(())
        })
    }

    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()> {
        self.write_iam(|iam| {
            not_found_unless(
                iam.policies
                    .iter()
                    .any(|p| p.account == account && same_name(&p.name, name)),
            )?;
            if iam.attachments.iter().any(|a| a.policy_arn == arn) {
                return Err(StoreError::Conflict("attachments"));
            }
            iam.policies
                .retain(|p| !(p.account == account && same_name(&p.name, name)));
            Ok(())
        })
    }

    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write_iam(|iam| {
            not_found_unless(iam.owner_exists(a.owner, &a.account, &a.owner_name))?;
            let attached = iam.attachments.iter().any(|e| {
                e.account == a.account
                    && e.owner == a.owner
                    && same_name(&e.owner_name, &a.owner_name)
                    && e.policy_arn == a.policy_arn
            });
            if !attached {
                iam.attachments.push(a.clone());
            }
            Ok(())
        })
    }

    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()> {
        self.write_iam(|iam| {
            let before = iam.attachments.len();
            iam.attachments.retain(|e| {
                !(e.account == a.account
                    && e.owner == a.owner
                    && same_name(&e.owner_name, &a.owner_name)
                    && e.policy_arn == a.policy_arn)
            });
            not_found_unless(iam.attachments.len() < before)
        })
    }

    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()> {
        self.write_iam(|iam| iam.insert_access_key(key, Source::Api))
    }

    fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()> {
        let kind = if owner_name.is_empty() {
            AccessKeyKind::Root
        } else {
            AccessKeyKind::User
        };
        self.write_iam(|iam| {
            let before = iam.access_keys.len();
            iam.access_keys.retain(|(k, _)| {
                !(k.access_key_id == access_key_id
                    && k.account == account
                    && k.kind == kind
                    && k.owner_name == owner_name)
            });
            not_found_unless(iam.access_keys.len() < before)
        })
    }

    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()> {
        self.write_iam(|iam| {
            if iam
                .sessions
                .iter()
                .any(|e| e.access_key_id == s.access_key_id)
            {
                return Err(StoreError::AlreadyExists);
            }
            iam.sessions.push(s.clone());
            Ok(())
        })
    }

    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize> {
        self.write_iam(|iam| {
            let before = iam.sessions.len();
            iam.sessions.retain(|s| s.expires_ms >= before_ms);
            Ok(before - iam.sessions.len())
        })
    }
}
