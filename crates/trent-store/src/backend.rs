//! The storage contract every backend implements, and [`Store`], the handle the service holds.
//!
//! # Why the trait is synchronous
//!
//! The service is synchronous: `trent-server` runs every request's handler on tokio's blocking
//! pool (`spawn_blocking`), and handlers call the store in the middle of their logic, e.g.
//! [`Store::modify_key`] runs the caller's state check *inside* the write transaction. A sync
//! trait keeps that closure a plain `FnOnce`, keeps the trait object-safe without boxing a future
//! per call, and matches rusqlite (which is synchronous) with no adapter. The network backend,
//! PostgreSQL, uses the synchronous `postgres` client with an `r2d2` pool for the same reason
//! (see `pg/mod.rs`). Going async would change every handler and the whole pipeline for no gain
//! while the handlers are sync; if they become async, this trait follows.
//!
//! # The contract (checked by `tests/it/conformance.rs` against every backend)
//!
//! * Every method is one transaction: it applies completely or, if it returns an error, leaves
//!   the state exactly as it was.
//! * Refusals are reported the same way by every backend: [`StoreError::AlreadyExists`] for a
//!   duplicate row, [`StoreError::NotFound`] for a missing row (or a missing key an alias would
//!   point at), [`StoreError::Conflict`] naming what still uses a row, and
//!   [`StoreError::LimitExceeded`]. Other failures are backend-specific.
//! * IAM names (users, roles, managed policies, the owner of an inline policy or attachment) are
//!   unique per account regardless of ASCII case, and are matched that way, as in IAM.
//! * Lists are ordered as documented per method; pagination (`after`) is by that order.
//! * The store never sees plaintext secrets: key material, access-key secrets and session
//!   secrets arrive sealed under the root key.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::changes::ChangeListener;
use crate::iam::{
    AccessKeyRecord, AttachmentRecord, IamData, InlinePolicyRecord, ManagedPolicyRecord, OwnerKind,
    RoleRecord, SessionRecord, Tags, UserRecord,
};
use crate::model::{
    Alias, EndedGrant, GrantEnding, GrantRecord, KeyMaterial, KeyRecord, KeyUsage, RelatedKey, Tag,
};
use crate::{CachedStore, MemoryStore, PostgresStore, Result, SqliteStore, StoreError};

/// A storage engine. Implement it (and run the conformance suite against it) to add a backend;
/// wrap it in [`CachedStore`] if reads cost a round trip and one process owns the data.
/// `docs/architecture.md` (Storage) lists what a new backend must take care of. `Send + Sync`:
/// one instance serves every request thread.
pub trait Backend: Send + Sync {
    /// Registers `listener` to be told of the changes that *other processes* make to this
    /// backend's data (a database several instances share; see [`crate::changes`]). Backends
    /// one process owns never call it.
    fn on_remote_change(&self, listener: ChangeListener) {
        let _ = listener;
    }

    // ---- keys ---------------------------------------------------------------------------------

    /// Inserts a new key with its first material version (none for a key whose material will be
    /// imported) and its initial tags (`AlreadyExists` if the key ID is taken in that region).
    fn create_key(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
    ) -> Result<()> {
        self.create_key_within(key, material, tags, usize::MAX)
    }

    /// [`Backend::create_key`] within a quota: `LimitExceeded`, and nothing written, if the
    /// account has `max_keys` customer managed keys in the key's region already (AWS managed
    /// keys do not count).
    fn create_key_within(
        &self,
        key: &KeyRecord,
        material: Option<&KeyMaterial>,
        tags: &[Tag],
        max_keys: usize,
    ) -> Result<()>;

    /// How many customer managed keys the account has in the region (any state).
    fn count_customer_keys(&self, region: &str, account: &str) -> Result<usize>;

    /// Inserts a new key with its first material version and an alias pointing at it, in one
    /// transaction: `AlreadyExists`, and nothing written, if the alias name (or the key ID) is
    /// taken. AWS managed keys are made this way, so that of concurrent first uses of
    /// `alias/aws/<service>` exactly one creates a key: the alias's uniqueness decides.
    fn create_key_with_alias(
        &self,
        key: &KeyRecord,
        material: &KeyMaterial,
        alias: &Alias,
    ) -> Result<()>;

    fn get_key(&self, region: &str, key_id: &str) -> Result<Option<KeyRecord>>;

    /// Keys of one account in one region, ordered by key ID, starting after `after`.
    fn list_keys(
        &self,
        region: &str,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>>;

    /// Read-modify-write of one key in one transaction; the object-safe form of
    /// [`Store::modify_key`], which is what callers use. `f` is called once, with the key as
    /// stored; if it returns an error nothing is written and that error is returned. Only the
    /// mutable columns are written (see [`KeyRecord::with_changes`]); the key as stored
    /// afterwards is returned. A missing key is `NotFound` (and `f` is not called). Material
    /// versions change through [`Backend::modify_key_materials_dyn`] and
    /// [`Backend::modify_related_keys_dyn`].
    fn modify_key_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord) -> Result<()>,
    ) -> Result<KeyRecord>;

    /// Read-modify-write of a key *and* its material versions in one transaction (imports,
    /// expiry and deletion of imported material, rotation of imported material); the
    /// object-safe form of [`Store::modify_key_materials`]. `f` gets the key as stored and every
    /// version, oldest first, and may change both: versions it removes from the vector are
    /// deleted, versions it adds are inserted, changed ones rewritten. A version keeps its
    /// number and its material ID for life (`Refused`, and nothing written, if `f` changes an
    /// ID). Otherwise as [`Backend::modify_key_dyn`].
    fn modify_key_materials_dyn(
        &self,
        region: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut KeyRecord, &mut Vec<KeyMaterial>) -> Result<()>,
    ) -> Result<KeyRecord>;

    /// Every key with this key ID in the account, one per Region, ordered by Region: the keys
    /// of a multi-Region key set (its primary and its replicas). Empty if there is none.
    fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>>;

    /// Read-modify-write of a multi-Region key set in one transaction (ReplicateKey,
    /// UpdatePrimaryRegion, rotation, deletion of a replica); the object-safe form of
    /// [`Store::modify_related_keys`]. `f` gets every key with this ID in the account, ordered
    /// by Region, each with its material versions, and may change them: the mutable columns of a
    /// key (see [`KeyRecord::with_changes`]) and its versions as in
    /// [`Backend::modify_key_materials_dyn`]. A key `f` adds is inserted with its versions and
    /// tags (`AlreadyExists` if its Region holds that key ID); a key it removes is deleted as
    /// [`Backend::delete_key`] deletes. A Region twice, a key of another ID or account, or tags
    /// on a stored key is `Refused`. If `f` (or a write) fails nothing is written. Returns the
    /// keys as stored afterwards. `NotFound` (and `f` not called) if no key has that ID.
    fn modify_related_keys_dyn(
        &self,
        account: &str,
        key_id: &str,
        f: &mut dyn FnMut(&mut Vec<RelatedKey>) -> Result<()>,
    ) -> Result<Vec<KeyRecord>>;

    /// Deletes a key with its material, tags, grants (and their tokens) and the aliases that
    /// point at it. Deleting a missing key is not an error.
    fn delete_key(&self, region: &str, key_id: &str) -> Result<()>;

    /// (region, key ID) of the keys pending deletion whose deletion date is at or before
    /// `now_ms`, in no particular order.
    fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<(String, String)>>;

    /// (region, key ID) of the keys with automatic rotation enabled whose next rotation date is
    /// at or before `now_ms`, in no particular order.
    fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<(String, String)>>;

    /// (region, key ID) of the keys with imported material (still present) whose `ValidTo` is at
    /// or before `now_ms`, in no particular order.
    fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<(String, String)>>;

    /// One material version of a key. Only [`Backend::modify_key_materials_dyn`] changes a
    /// version once written.
    fn material(&self, region: &str, key_id: &str, version: u32) -> Result<Option<KeyMaterial>>;

    /// Every material version of a key, oldest first (empty for a missing key).
    fn materials(&self, region: &str, key_id: &str) -> Result<Vec<KeyMaterial>>;

    /// Records the last use of each key named (one transaction; a later `at_ms` replaces an
    /// earlier one, an earlier one is ignored; keys that no longer exist are skipped).
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<()>;

    /// The last recorded use of a key.
    fn key_usage(&self, region: &str, key_id: &str) -> Result<Option<KeyUsage>>;

    /// One material version that holds sealed material, with its key ID: how a root key is
    /// checked against data written before [`Backend::root_key_canary`] existed.
    fn any_sealed_material(&self) -> Result<Option<(String, KeyMaterial)>>;

    // ---- the root key's canary ----------------------------------------------------------------

    /// A value sealed under the root key that wrote this data (`None` until one is set), so
    /// that a start with another root key is refused before it reads or seals anything.
    fn root_key_canary(&self) -> Result<Option<Vec<u8>>>;

    /// Sets the canary once: `AlreadyExists` (and nothing changed) if there is one.
    fn set_root_key_canary(&self, sealed: &[u8]) -> Result<()>;

    // ---- the seed file ------------------------------------------------------------------------

    /// What the seed file (the keys of `trent.toml`) declared when it was last applied, as the
    /// service wrote it (`None` before the first seed). Kept so that a later start knows which
    /// aliases, tags and grants it put there and may remove, and which keys it may prune. Not
    /// sealed: it names keys, aliases, tag keys and grant names, no secret.
    fn seed_record(&self) -> Result<Option<Vec<u8>>>;

    /// Replaces the seed record.
    fn set_seed_record(&self, record: &[u8]) -> Result<()>;

    /// Runs `f` while no other process sharing this backend's data runs it here: for work at
    /// start that must not interleave with another instance's (applying the seed file), so
    /// that the second instance to start sees what the first did. The object-safe form of
    /// [`Store::exclusively`]. A backend one process owns just runs `f` (its writes are already
    /// serialized and no other process shares it).
    fn exclusively_dyn(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        f()
    }

    // ---- aliases ------------------------------------------------------------------------------

    /// `AlreadyExists` if the name is taken in that account and region, `NotFound` if the target
    /// key does not exist in that region.
    fn create_alias(&self, alias: &Alias) -> Result<()> {
        self.create_alias_within(alias, usize::MAX)
    }

    /// [`Backend::create_alias`] within a quota: `LimitExceeded` if the target key has
    /// `max_per_key` aliases already (`alias/aws/…` names do not count).
    fn create_alias_within(&self, alias: &Alias, max_per_key: usize) -> Result<()>;

    /// Points an existing alias at another key (`NotFound` if the alias does not exist).
    fn update_alias(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.update_alias_within(
            region,
            account,
            alias_name,
            target_key_id,
            now_ms,
            usize::MAX,
        )
    }

    /// [`Backend::update_alias`] within the quota of [`Backend::create_alias_within`] (an alias
    /// already pointing at the key is not counted twice).
    fn update_alias_within(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
        target_key_id: &str,
        now_ms: i64,
        max_per_key: usize,
    ) -> Result<()>;

    fn delete_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<()>;

    fn get_alias(&self, region: &str, account: &str, alias_name: &str) -> Result<Option<Alias>>;

    /// Aliases of one account and region (optionally of one key), ordered by name, after `after`.
    fn list_aliases(
        &self,
        region: &str,
        account: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Alias>>;

    /// Every alias of a key (`kms:ResourceAliases`), ordered by name.
    fn aliases_of_key(&self, region: &str, account: &str, key_id: &str) -> Result<Vec<Alias>> {
        self.list_aliases(region, account, Some(key_id), None, usize::MAX >> 1)
    }

    // ---- tags ---------------------------------------------------------------------------------

    /// Adds or overwrites tags; refuses (`LimitExceeded`, changing nothing) if the key would
    /// have more than `max_tags`.
    fn tag_key(&self, region: &str, key_id: &str, tags: &[Tag], max_tags: usize) -> Result<()>;

    /// Removes tags; keys that are not there are ignored.
    fn untag_key(&self, region: &str, key_id: &str, tag_keys: &[String]) -> Result<()>;

    /// Tags of a key ordered by tag key.
    fn tags(&self, region: &str, key_id: &str) -> Result<Vec<Tag>>;

    // ---- grants -------------------------------------------------------------------------------

    /// Creates a grant with its first token. With a name, a grant on the same key with the same
    /// name and identical parameters is reused (the new token is added to it) and its ID
    /// returned. Refuses (`LimitExceeded`) when the key already has `max_per_key` grants.
    fn create_grant(&self, grant: &GrantRecord, token: &str, max_per_key: usize) -> Result<String>;

    /// Inserts many grants (each with one token) in one transaction: bulk import, benchmarks.
    fn import_grants(&self, grants: &[(GrantRecord, String)]) -> Result<()>;

    /// Grants of a key whose grantee principal is one of `grantees`, grouped by grantee in the
    /// order given, each group in creation order: the authorizer's index lookup.
    fn grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<GrantRecord>>;

    /// Grants of a key whose grantee is the service principal `service`, in creation order.
    fn grants_for_service(
        &self,
        region: &str,
        key_id: &str,
        service: &str,
    ) -> Result<Vec<GrantRecord>>;

    fn get_grant(&self, region: &str, key_id: &str, grant_id: &str) -> Result<Option<GrantRecord>>;

    fn grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>>;

    /// Grants of a key ordered by grant ID after `after`, optionally only the grant `grant_id`
    /// or those whose grantee (principal or service principal) is `grantee`.
    fn list_grants(
        &self,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>>;

    /// Grants in a region whose retiring principal (or retiring service principal) is
    /// `principal`, ordered by the string `key_id/grant_id`, after `after` (such a string).
    fn list_retirable_grants(
        &self,
        region: &str,
        principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GrantRecord>>;

    /// Ends a grant (`NotFound` if there is no such grant): deletes it and its tokens, and
    /// keeps it with `ending` among the key's ended grants, forgetting the oldest beyond
    /// [`crate::MAX_ENDED_GRANTS_PER_KEY`]. One transaction.
    fn end_grant(
        &self,
        region: &str,
        key_id: &str,
        grant_id: &str,
        ending: &GrantEnding,
    ) -> Result<()>;

    /// Ended grants of a key whose grantee principal is one of `grantees`, the most recently
    /// ended first.
    fn ended_grants_for_grantees(
        &self,
        region: &str,
        key_id: &str,
        grantees: &[&str],
    ) -> Result<Vec<EndedGrant>>;

    // ---- identities (see `iam.rs` for the records) ---------------------------------------------

    /// Every identity (expired sessions included; the caller filters by time). Ordered: accounts;
    /// users, roles and managed policies by (account, name ignoring case); policy versions by
    /// (created, version ID); inline policies and attachments by (account, owner kind as text,
    /// owner name ignoring case, name or ARN); access keys and sessions by (created, key ID).
    fn load_iam(&self) -> Result<IamData<Vec<u8>>>;

    /// Replaces every account, user, role, inline policy and access key that the configuration
    /// declared (at the previous start) with `data`. A configuration identity replaces an
    /// API-created one it collides with (same name or unique ID; same access key ID).
    fn replace_config_identities(&self, data: &IamData<Vec<u8>>) -> Result<()>;

    /// `AlreadyExists` if the name (ignoring case) or the unique ID is taken.
    fn create_iam_user(&self, user: &UserRecord) -> Result<()>;

    /// Deletes a user that has no inline policies, attachments (`Conflict("policies")`) or
    /// access keys (`Conflict("access keys")`) left.
    fn delete_iam_user(&self, account: &str, name: &str) -> Result<()>;

    /// `AlreadyExists` if the name (ignoring case) or the unique ID is taken.
    fn create_iam_role(&self, role: &RoleRecord) -> Result<()>;

    /// Deletes a role that has no policies left (`Conflict("policies")`), with its sessions and
    /// its configured role-session access keys.
    fn delete_iam_role(&self, account: &str, name: &str) -> Result<()>;

    fn update_role_trust_policy(&self, account: &str, name: &str, document: &str) -> Result<()>;

    /// Replaces the tags of a user or role (the caller merged them).
    fn set_iam_tags(&self, owner: OwnerKind, account: &str, name: &str, tags: &Tags) -> Result<()>;

    /// Sets (`Some(policy ARN)`) or removes the permissions boundary of a user or role
    /// (`NotFound` if it does not exist).
    fn set_permissions_boundary(
        &self,
        owner: OwnerKind,
        account: &str,
        name: &str,
        boundary: Option<&str>,
    ) -> Result<()>;

    /// Adds or replaces an inline policy of an existing user or role (`NotFound` otherwise).
    fn put_inline_policy(&self, policy: &InlinePolicyRecord) -> Result<()>;

    fn delete_inline_policy(
        &self,
        account: &str,
        owner: OwnerKind,
        owner_name: &str,
        name: &str,
    ) -> Result<()>;

    /// Creates a managed policy with its versions (`AlreadyExists` if the name, ignoring case,
    /// or the unique ID is taken).
    fn create_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()>;

    /// Deletes a managed policy that is attached to nothing (`Conflict("attachments")`).
    fn delete_managed_policy(&self, account: &str, name: &str, arn: &str) -> Result<()>;

    /// Attaches a managed policy (idempotent) to an existing user or role (`NotFound` otherwise).
    fn attach_policy(&self, a: &AttachmentRecord) -> Result<()>;

    fn detach_policy(&self, a: &AttachmentRecord) -> Result<()>;

    fn create_iam_access_key(&self, key: &AccessKeyRecord<Vec<u8>>) -> Result<()>;

    /// Deletes an access key of user `owner_name` (of the root user when `owner_name` is empty).
    fn delete_iam_access_key(
        &self,
        account: &str,
        owner_name: &str,
        access_key_id: &str,
    ) -> Result<()>;

    fn create_session(&self, s: &SessionRecord<Vec<u8>>) -> Result<()>;

    /// Forgets sessions that expired before `before_ms`. Returns how many.
    fn delete_expired_sessions(&self, before_ms: i64) -> Result<usize>;
}

/// What the service holds: a shared handle to one backend. Cloning it shares the backend.
///
/// It dereferences to [`Backend`], so callers write `store.get_key(…)` whatever the backend;
/// its own methods are the generic read-modify-writes ([`Store::modify_key`],
/// [`Store::modify_key_materials`], [`Store::modify_related_keys`]), which a trait object
/// cannot have.
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl Store {
    /// The persistent store: SQLite at `path` (created if needed, schema brought up to date)
    /// behind the caches.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store::new(CachedStore::new(SqliteStore::open(path)?)))
    }

    /// The shared store: the PostgreSQL database at `url` (schema brought up to date) behind
    /// the caches, which other instances' changes evict (LISTEN/NOTIFY).
    pub fn open_postgres(url: &str) -> Result<Store> {
        Ok(Store::new(CachedStore::new(PostgresStore::open(url)?)))
    }

    /// A store that lives in this process only and writes nothing to disk.
    pub fn in_memory() -> Store {
        Store::new(MemoryStore::new())
    }

    pub fn new(backend: impl Backend + 'static) -> Store {
        Store(Arc::new(backend))
    }

    /// Read-modify-write of one key inside one transaction. `f` may refuse the change by
    /// returning an error, in which case nothing is written and its error is returned. A missing
    /// key yields `StoreError::NotFound` converted into `E`.
    pub fn modify_key<T, E: From<StoreError>>(
        &self,
        region: &str,
        key_id: &str,
        f: impl FnOnce(&mut KeyRecord) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut f = Some(f);
        let mut outcome = None;
        let stored = self.0.modify_key_dyn(region, key_id, &mut |key| {
            let f = f.take().ok_or(StoreError::Refused)?;
            carry(&mut outcome, f(key).map(|value| (value, ())))
        });
        finish(stored, outcome)
    }

    /// Runs `f` while no other process sharing the data runs [`Store::exclusively`] (see
    /// [`Backend::exclusively_dyn`]). `f` runs once; its error is returned as it is.
    pub fn exclusively<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut f = Some(f);
        let mut outcome = None;
        let done = self.0.exclusively_dyn(&mut || {
            let f = f.take().ok_or(StoreError::Refused)?;
            carry(&mut outcome, f().map(|value| (value, ())))
        });
        finish(done, outcome)
    }

    /// Read-modify-write of a key and its material versions in one transaction (see
    /// [`Backend::modify_key_materials_dyn`]); `f` may refuse by returning an error, and then
    /// nothing is written.
    pub fn modify_key_materials<T, E: From<StoreError>>(
        &self,
        region: &str,
        key_id: &str,
        f: impl FnOnce(&mut KeyRecord, &mut Vec<KeyMaterial>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut f = Some(f);
        let mut outcome = None;
        let stored = self
            .0
            .modify_key_materials_dyn(region, key_id, &mut |key, materials| {
                let f = f.take().ok_or(StoreError::Refused)?;
                carry(&mut outcome, f(key, materials).map(|value| (value, ())))
            });
        finish(stored, outcome)
    }

    /// Read-modify-write of a multi-Region key set in one transaction (see
    /// [`Backend::modify_related_keys_dyn`]); `f` may refuse by returning an error, and then
    /// nothing is written.
    pub fn modify_related_keys<T, E: From<StoreError>>(
        &self,
        account: &str,
        key_id: &str,
        f: impl FnOnce(&mut Vec<RelatedKey>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut f = Some(f);
        let mut outcome = None;
        let stored = self
            .0
            .modify_related_keys_dyn(account, key_id, &mut |keys| {
                let f = f.take().ok_or(StoreError::Refused)?;
                carry(&mut outcome, f(keys).map(|value| (value, ())))
            });
        finish(stored, outcome)
    }
}

/// The backend sees an `FnMut` returning `StoreError`; the caller's value or error is carried
/// out of the closure through `outcome`, and the backend gets `R` or `Refused`.
fn carry<T, R, E>(
    outcome: &mut Option<std::result::Result<T, E>>,
    result: std::result::Result<(T, R), E>,
) -> Result<R> {
    match result {
        Ok((value, r)) => {
            *outcome = Some(Ok(value));
            Ok(r)
        }
        Err(e) => {
            *outcome = Some(Err(e));
            Err(StoreError::Refused)
        }
    }
}

/// The caller's value or error once the backend has answered (see [`carry`]).
fn finish<S, T, E: From<StoreError>>(
    stored: Result<S>,
    outcome: Option<std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    match (stored, outcome) {
        (Ok(_), Some(Ok(value))) => Ok(value),
        (Err(StoreError::Refused), Some(Err(e))) => Err(e),
        (Err(e), _) => Err(e.into()),
        // A backend that reports success without running `f` (or after `f` refused) broke
        // the contract; refuse rather than invent a value.
        (Ok(_), _) => Err(StoreError::Corrupt(
            "the backend committed a key change its caller refused or never saw".into(),
        )
        .into()),
    }
}

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.0
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}
