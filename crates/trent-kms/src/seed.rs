//! The seed file: keys declared in `trent.toml` (fixed key IDs, specs, aliases, key policies,
//! tags, grants, optionally imported material), applied at start, before the server serves.
//!
//! Applying converges the store to the file and is idempotent: a start with the same file
//! changes nothing. Every entry is checked first — with the checks of CreateKey, CreateAlias,
//! PutKeyPolicy, TagResource, CreateGrant, EnableKeyRotation and ImportKeyMaterial, and against
//! the keys as stored (a key's spec, usage and origin cannot change) — and nothing is written
//! unless every entry passes. Then each key is brought to what the file says, one store
//! transaction per step, each step re-checking what it changes so that a step done already (by
//! an earlier start that stopped half-way) is not done twice.
//!
//! What the seed manages, and so may change or remove at a later start:
//!
//! * of a seeded key: its description, key policy, enabled/disabled state (a deletion scheduled
//!   meanwhile is cancelled), automatic rotation, and its material when the file gives it;
//! * the aliases, tag keys and grant names (grants are identified by name, as CreateGrant's
//!   `Name`) the file gives a key. Those the file named at an earlier start and no longer names
//!   are removed from that key; aliases, tags and grants made through the API are left alone.
//! * With `prune`, keys the file declared at an earlier start and no longer declares are
//!   scheduled for deletion (the 7-day minimum window); without it they are left alone (and
//!   pruned by a later start with `prune`).
//!
//! What the file declared at the previous start is kept in the store (the seed record,
//! [`trent_store::Backend::seed_record`]). Before anything is applied it is widened to cover
//! both the old and the new file, and narrowed to the new file once everything was applied, so
//! that a start that stops half-way leaves nothing the next start would not know to remove.
//!
//! Several instances on one database apply their seed one after the other
//! ([`trent_store::Store::exclusively`]): the second finds the first one's work done.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use trent_store::{Alias, GrantRecord, KeyMaterial, KeyRecord, KeyState, StoreError, Tag};
use zeroize::Zeroizing;

use crate::arn::{account_root_arn, alias_arn, partition};
use crate::authz::GrantConstraints;
use crate::clock::DAY_MS;
use crate::error::{KmsError, KmsResult};
use crate::keyref::is_key_id;
use crate::keystate::KeyStates;
use crate::materials::{new_material, sealing_aad};
use crate::ops::aliases::{check_alias_retarget, check_new_alias_name};
use crate::ops::grants::{
    CreateGrantRequest, MAX_GRANTS_PER_KEY, check_grant_for_key, grant_record,
    validate_create_grant,
};
use crate::ops::import::{Imported, check_material, store_imported_material};
use crate::ops::keys::{
    CreateKeyRequest, cancel_deletion, check_create_key, check_key_policy_document,
    check_supported_key, new_key_record, schedule_deletion,
};
use crate::ops::rotation::{automatic_rotation_unsupported, set_rotation};
use crate::ops::tags::{MAX_TAGS_PER_KEY, TagEntry};
use crate::quotas::MAX_ALIASES_PER_KEY;
use crate::service::Kms;
use crate::validate::Validator;

/// The days of the deletion window of a pruned key: KMS's minimum, so that a key pruned by
/// mistake can be brought back (put it back in the file, or CancelKeyDeletion) for a week.
pub const PRUNE_WINDOW_DAYS: i64 = 7;

/// Who made (and ends) the grants of the seed file, as explanations name it.
const SEED_FILE: &str = "the seed file";

/// Automatic rotation's period when the file enables it without one (EnableKeyRotation's).
pub const DEFAULT_ROTATION_PERIOD_DAYS: i64 = crate::ops::rotation::DEFAULT_ROTATION_PERIOD_DAYS;

/// The keys of a seed file.
#[derive(Debug, Default)]
pub struct Seed {
    pub keys: Vec<SeedKey>,
    /// Schedule the deletion of keys an earlier seed declared and this one does not.
    pub prune: bool,
}

/// One declared key. `None` and empty members mean what CreateKey's defaults mean.
#[derive(Debug, Default)]
pub struct SeedKey {
    pub account: String,
    pub region: String,
    /// A key ID in KMS's shape (a lower-case UUID), fixed so that every machine has it.
    pub key_id: String,
    pub key_spec: Option<String>,
    pub key_usage: Option<String>,
    pub description: Option<String>,
    /// The key policy; `None` is the default key policy.
    pub policy: Option<String>,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    /// Automatic rotation every this many days; `None`: no automatic rotation.
    pub rotation_period_days: Option<i64>,
    /// Base64 of the key's material: the key is of origin EXTERNAL with this material
    /// imported, never expiring (symmetric keys only), so that its ciphertexts decrypt on
    /// every machine with the same seed file. Without it the key's material is generated once.
    pub material: Option<String>,
    pub grants: Vec<SeedGrant>,
}

/// One declared grant, identified on its key by its name.
#[derive(Debug, Default)]
pub struct SeedGrant {
    pub name: String,
    pub grantee_principal: Option<String>,
    pub grantee_service_principal: Option<String>,
    pub retiring_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
    pub operations: Vec<String>,
    pub constraints: Option<GrantConstraints>,
}

/// Why a seed was refused or could not be applied; it names the entry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeedError(String);

impl From<StoreError> for SeedError {
    fn from(e: StoreError) -> Self {
        SeedError(format!("seed file: the store failed: {e}"))
    }
}

impl SeedKey {
    /// How messages name the entry.
    fn entry(&self) -> String {
        format!(
            "seed key {} (account {}, {})",
            self.key_id, self.account, self.region
        )
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> SeedError {
        SeedError(format!("{}: {what}: {e}", self.entry()))
    }

    /// The CreateKey request this key would be made with.
    fn create_request(&self) -> CreateKeyRequest {
        CreateKeyRequest {
            policy: self.policy.clone(),
            description: self.description.clone(),
            key_usage: self.key_usage.clone(),
            key_spec: self.key_spec.clone(),
            origin: Some(self.origin().to_string()),
            tags: Some(
                self.tags
                    .iter()
                    .map(|(k, v)| TagEntry {
                        tag_key: Some(k.clone()),
                        tag_value: Some(v.clone()),
                    })
                    .collect(),
            ),
            ..CreateKeyRequest::default()
        }
    }

    fn origin(&self) -> &'static str {
        if self.material.is_some() {
            "EXTERNAL"
        } else {
            "AWS_KMS"
        }
    }

    fn grant_request(&self, g: &SeedGrant) -> CreateGrantRequest {
        CreateGrantRequest {
            key_id: Some(self.key_id.clone()),
            grantee_principal: g.grantee_principal.clone(),
            grantee_service_principal: g.grantee_service_principal.clone(),
            retiring_principal: g.retiring_principal.clone(),
            retiring_service_principal: g.retiring_service_principal.clone(),
            operations: Some(g.operations.clone()),
            constraints: g
                .constraints
                .clone()
                .map(GrantConstraints::without_empty_alternative),
            name: Some(g.name.clone()),
            ..CreateGrantRequest::default()
        }
    }

    /// The checks that need neither the store nor the identities. Returns the key as it
    /// would be created (its policy's principal IDs not yet known), its tags, and its material.
    fn check_alone(&self) -> Result<Shape, SeedError> {
        if !is_key_id(&self.key_id)
            || self.key_id.starts_with("mrk-")
            || self.key_id.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(self.error(
                "key_id",
                "a key ID must be a lower-case UUID, e.g. 1234abcd-12ab-34cd-56ef-1234567890ab \
                 (multi-Region keys cannot be seeded)",
            ));
        }
        if self.account.len() != 12 || !self.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error("account", "an account ID is 12 digits"));
        }
        if !trent_sigv4::is_region_name(&self.region) {
            return Err(self.error("region", "not the name of an AWS Region (e.g. us-east-1)"));
        }
        let request = self.create_request();
        let (spec, usage, tags) = check_create_key(&request).map_err(|e| self.error("key", e))?;
        let crypto_spec = check_supported_key(&request, self.origin(), &spec)
            .map_err(|e| self.error("key", e))?;
        let material = match &self.material {
            None => None,
            Some(text) => {
                if !(spec == "SYMMETRIC_DEFAULT" || spec.starts_with("HMAC_")) {
                    return Err(self.error(
                        "material",
                        format!(
                            "imported material is for symmetric keys only (SYMMETRIC_DEFAULT, \
                             HMAC_*); the material of a {spec} key is generated"
                        ),
                    ));
                }
                let bytes = Zeroizing::new(
                    STANDARD
                        .decode(text.trim().as_bytes())
                        .map_err(|e| self.error("material", format!("not base64: {e}")))?,
                );
                check_material(crypto_spec, &bytes).map_err(|e| self.error("material", e))?;
                Some(bytes)
            }
        };
        if let Some(policy) = &self.policy {
            trent_policy::Policy::parse(policy, trent_policy::PolicyKind::KeyPolicy)
                .map_err(|e| self.error("policy", crate::authz::policy_error(&e)))?;
        }
        let mut names = BTreeSet::new();
        for alias in &self.aliases {
            let name = check_new_alias_name(&Some(alias.clone()))
                .map_err(|e| self.error(&format!("alias {alias:?}"), e))?;
            if !names.insert(name) {
                return Err(self.error(&format!("alias {alias}"), "given twice"));
            }
        }
        if self.aliases.len() > MAX_ALIASES_PER_KEY {
            return Err(self.error(
                "aliases",
                format!("a key has at most {MAX_ALIASES_PER_KEY} aliases"),
            ));
        }
        let mut key = new_key_record(
            &self.region,
            &self.account,
            self.key_id.clone(),
            0,
            (spec, usage, self.origin().to_string()),
            self.policy.clone(),
            self.description.clone(),
            true,
            None,
        );
        if let Some(days) = self.rotation_period_days {
            Validator::new()
                .range("rotationPeriodInDays", Some(days), 90, 2560)
                .finish()
                .map_err(|e| self.error("rotation", e))?;
            if let Some(e) = automatic_rotation_unsupported(&key) {
                return Err(self.error("rotation", e));
            }
            key.rotation_period_days = Some(days as u32);
        }
        let mut grant_names = BTreeSet::new();
        for g in &self.grants {
            let r = self.grant_request(g);
            validate_create_grant(&r).map_err(|e| self.error(&format!("grant {:?}", g.name), e))?;
            if !grant_names.insert(g.name.as_str()) {
                return Err(self.error(&format!("grant {}", g.name), "given twice"));
            }
        }
        Ok(Shape {
            key,
            crypto_spec,
            tags,
            material,
        })
    }
}

/// A key as the file makes it, checked on its own.
struct Shape {
    key: KeyRecord,
    crypto_spec: trent_crypto::KeySpec,
    tags: Vec<Tag>,
    material: Option<Zeroizing<Vec<u8>>>,
}

impl Seed {
    /// The checks that need neither the store nor the identities (the shape of every entry,
    /// and entries that contradict each other), so that most mistakes are reported before
    /// anything is opened or written.
    pub fn check(&self) -> Result<(), SeedError> {
        let mut ids = BTreeSet::new();
        let mut aliases = BTreeMap::new();
        for key in &self.keys {
            key.check_alone()?;
            // A key ID names one key: the same ID in two Regions would be a multi-Region key.
            if !ids.insert((key.account.as_str(), key.key_id.as_str())) {
                return Err(key.error("key_id", "declared twice"));
            }
            for alias in &key.aliases {
                if let Some(other) = aliases.insert(
                    (key.account.as_str(), key.region.as_str(), alias.as_str()),
                    key.key_id.as_str(),
                ) {
                    return Err(key.error(
                        &format!("alias {alias}"),
                        format!("also given to seed key {other}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a seed record holds of one key: what the file gave it when it was last applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RecordKey {
    account: String,
    region: String,
    key_id: String,
    aliases: BTreeSet<String>,
    tags: BTreeSet<String>,
    grants: BTreeSet<String>,
}

impl RecordKey {
    fn same_key(&self, key: &SeedKey) -> bool {
        self.account == key.account && self.region == key.region && self.key_id == key.key_id
    }

    fn of(key: &SeedKey) -> RecordKey {
        RecordKey {
            account: key.account.clone(),
            region: key.region.clone(),
            key_id: key.key_id.clone(),
            aliases: key.aliases.iter().cloned().collect(),
            tags: key.tags.keys().cloned().collect(),
            grants: key.grants.iter().map(|g| g.name.clone()).collect(),
        }
    }
}

const RECORD_VERSION: u32 = 1;

/// The seed record: what the file declared when it was last applied (JSON in the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    version: u32,
    keys: Vec<RecordKey>,
}

impl Record {
    fn key(&self, key: &SeedKey) -> Option<&RecordKey> {
        self.keys.iter().find(|k| k.same_key(key))
    }

    /// This record and `seed` together: every key, alias, tag key and grant name of either.
    fn widened(&self, seed: &Seed) -> Record {
        let mut out = self.clone();
        out.version = RECORD_VERSION;
        for key in &seed.keys {
            let new = RecordKey::of(key);
            match out.keys.iter_mut().find(|k| k.same_key(key)) {
                Some(k) => {
                    k.aliases.extend(new.aliases);
                    k.tags.extend(new.tags);
                    k.grants.extend(new.grants);
                }
                None => out.keys.push(new),
            }
        }
        out.keys.sort_by(|a, b| {
            (&a.account, &a.region, &a.key_id).cmp(&(&b.account, &b.region, &b.key_id))
        });
        out
    }
}

/// A key checked against the store and ready to apply.
struct Planned<'a> {
    seed: &'a SeedKey,
    shape: Shape,
    /// The key as stored, if it exists.
    existing: Option<KeyRecord>,
    /// The ID of the file's material (computed from it, as ImportKeyMaterial does).
    material_id: Option<String>,
    /// The grants as CreateGrant would make them (grant IDs to be drawn when created).
    grants: Vec<GrantRecord>,
}

impl Kms {
    fn load_seed_record(&self) -> Result<Record, SeedError> {
        match self.store.seed_record()? {
            None => Ok(Record {
                version: RECORD_VERSION,
                keys: Vec::new(),
            }),
            Some(bytes) => {
                let record: Record = serde_json::from_slice(&bytes).map_err(|e| {
                    SeedError(format!(
                        "seed file: the stored seed record is unreadable: {e}"
                    ))
                })?;
                if record.version != RECORD_VERSION {
                    return Err(SeedError(format!(
                        "seed file: the stored seed record has version {}, this Trent knows {}",
                        record.version, RECORD_VERSION
                    )));
                }
                Ok(record)
            }
        }
    }

    fn save_seed_record(&self, record: &Record) -> Result<(), SeedError> {
        let bytes = serde_json::to_vec(record)
            .map_err(|e| SeedError(format!("seed file: cannot write the seed record: {e}")))?;
        Ok(self.store.set_seed_record(&bytes)?)
    }

    /// Checks `seed` (as [`Seed::check`], then against the identities and the stored keys) and
    /// applies it: see the module documentation. Call it after the configured identities were
    /// installed, before serving. Refuses, and writes nothing, if any entry is invalid. Logs one
    /// line per key that was created or changed (never material).
    pub fn apply_seed(&self, seed: &Seed) -> Result<(), SeedError> {
        seed.check()?;
        self.store.exclusively(|| {
            let record = self.load_seed_record()?;
            let plans = self.plan_seed(seed)?;
            let widened = record.widened(seed);
            if widened != record {
                self.save_seed_record(&widened)?;
            }
            for plan in &plans {
                let managed = record.key(plan.seed).cloned().unwrap_or_default();
                let changes = self
                    .apply_planned(plan, &managed)
                    .map_err(|e| plan.seed.error("applying", e))?;
                let key = plan.seed;
                if changes.is_empty() {
                    tracing::info!("{}: unchanged", key.entry());
                } else {
                    tracing::info!("{}: {}", key.entry(), changes.join(", "));
                }
            }
            let mut kept = Vec::new();
            for old in &widened.keys {
                if seed.keys.iter().any(|k| old.same_key(k)) {
                    continue;
                }
                if self.retire_unseeded(old, seed.prune)? {
                    kept.push(old.clone());
                }
            }
            let mut final_record = Record {
                version: RECORD_VERSION,
                keys: seed.keys.iter().map(RecordKey::of).collect(),
            };
            final_record.keys.extend(kept);
            final_record.keys.sort_by(|a, b| {
                (&a.account, &a.region, &a.key_id).cmp(&(&b.account, &b.region, &b.key_id))
            });
            if final_record != widened {
                self.save_seed_record(&final_record)?;
            }
            Ok(())
        })
    }

    /// A key an earlier seed declared and this one does not: scheduled for deletion with
    /// `prune`, else left alone. Returns whether the record keeps it (so that a later start
    /// with `prune` still knows it was seeded).
    fn retire_unseeded(&self, old: &RecordKey, prune: bool) -> Result<bool, SeedError> {
        let entry = format!(
            "seed key {} (account {}, {})",
            old.key_id, old.account, old.region
        );
        let Some(key) = self.store.get_key(&old.region, &old.key_id)? else {
            return Ok(false);
        };
        if key.account != old.account {
            return Ok(false);
        }
        if !prune {
            tracing::info!("{entry}: no longer in the seed file, left alone (prune is off)");
            return Ok(true);
        }
        if matches!(
            key.key_state,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        ) {
            return Ok(false);
        }
        schedule_deletion(self, &key, PRUNE_WINDOW_DAYS, KeyStates::Any)
            .map_err(|e| SeedError(format!("{entry}: scheduling its deletion: {e}")))?;
        tracing::info!(
            "{entry}: no longer in the seed file, deletion scheduled in {PRUNE_WINDOW_DAYS} days \
             (prune)"
        );
        Ok(false)
    }

    /// Every check of every entry, against the identities and the store: nothing is written
    /// unless all pass.
    fn plan_seed<'a>(&self, seed: &'a Seed) -> Result<Vec<Planned<'a>>, SeedError> {
        let mut plans = Vec::with_capacity(seed.keys.len());
        let mut new_keys: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for key in &seed.keys {
            let mut shape = key.check_alone()?;
            if let Some(policy) = &key.policy {
                let (_, ids) =
                    check_key_policy_document(self, policy).map_err(|e| key.error("policy", e))?;
                shape.key.policy_principal_ids = ids;
            }
            let existing = self.store.get_key(&key.region, &key.key_id)?;
            if let Some(stored) = &existing {
                self.check_existing(key, &shape, stored)?;
            } else {
                *new_keys
                    .entry((key.account.as_str(), key.region.as_str()))
                    .or_default() += 1;
            }
            // Keys of one ID in several Regions of an account are a multi-Region set.
            if self
                .store
                .related_keys(&key.account, &key.key_id)?
                .iter()
                .any(|k| k.region != key.region)
            {
                return Err(key.error(
                    "key_id",
                    "a key with this ID exists in another Region of the account",
                ));
            }
            let material_id = match &shape.material {
                Some(plain) => Some(
                    self.root_key
                        .material_fingerprint(&key.key_id, plain)
                        .map_err(|e| key.error("material", e))?,
                ),
                None => None,
            };
            if let (Some(stored), Some(id)) = (&existing, &material_id)
                && !self
                    .store
                    .materials(&stored.region, &stored.key_id)?
                    .iter()
                    .any(|m| &m.material_id == id)
            {
                return Err(key.error(
                    "material",
                    "the key has other material imported; a key's material cannot be \
                     replaced (give the new material to a new key ID)",
                ));
            }
            let issuing = account_root_arn(partition(&key.region), &key.account);
            let mut grants = Vec::with_capacity(key.grants.len());
            for g in &key.grants {
                let r = key.grant_request(g);
                check_grant_for_key(self, &shape.key, &r)
                    .map_err(|e| key.error(&format!("grant {:?}", g.name), e))?;
                grants.push(
                    grant_record(self, &shape.key, &r, issuing.clone())
                        .map(|mut record| {
                            record.created_by = Some(SEED_FILE.to_string());
                            record
                        })
                        .map_err(|e| key.error(&format!("grant {:?}", g.name), e))?,
                );
            }
            self.check_aliases(seed, key, &shape.key)?;
            plans.push(Planned {
                seed: key,
                shape,
                existing,
                material_id,
                grants,
            });
        }
        for ((account, region), n) in new_keys {
            let have = self.store.count_customer_keys(region, account)?;
            if have + n > self.max_keys_per_region {
                return Err(SeedError(format!(
                    "seed file: {n} new keys in account {account}, {region} would exceed the \
                     quota of {} customer managed keys ({have} exist)",
                    self.max_keys_per_region
                )));
            }
        }
        Ok(plans)
    }

    /// A stored key the file declares must be the file's: same account, a customer managed
    /// single-Region key, same spec, usage and origin (KMS cannot change them).
    fn check_existing(
        &self,
        key: &SeedKey,
        shape: &Shape,
        stored: &KeyRecord,
    ) -> Result<(), SeedError> {
        if stored.account != key.account {
            return Err(key.error(
                "key_id",
                format!("the key ID is taken by a key of account {}", stored.account),
            ));
        }
        if stored.key_manager != trent_store::KeyManager::Customer || stored.is_multi_region() {
            return Err(key.error(
                "key_id",
                "the key ID is taken by an AWS managed or multi-Region key",
            ));
        }
        let wanted = &shape.key;
        for (what, now, then) in [
            ("key_spec", &stored.key_spec, &wanted.key_spec),
            ("key_usage", &stored.key_usage, &wanted.key_usage),
        ] {
            if now != then {
                return Err(key.error(
                    what,
                    format!(
                        "the key exists with {what} {now}; KMS cannot change a key's {what} \
                         (to get a {then} key, give it a new key ID)"
                    ),
                ));
            }
        }
        if stored.origin != wanted.origin {
            return Err(key.error(
                "material",
                format!(
                    "the key exists with origin {} ({}); KMS cannot change a key's origin",
                    stored.origin,
                    if stored.origin == "EXTERNAL" {
                        "its material was imported: give the material in the file"
                    } else {
                        "its material was generated: remove the material from the file, or \
                         give the material to a new key ID"
                    }
                ),
            ));
        }
        Ok(())
    }

    /// The file's aliases of `key` may be created, or moved from where they point (a key of the
    /// same spec and usage, as UpdateAlias requires).
    fn check_aliases(
        &self,
        seed: &Seed,
        key: &SeedKey,
        wanted: &KeyRecord,
    ) -> Result<(), SeedError> {
        for name in &key.aliases {
            let Some(alias) = self.store.get_alias(&key.region, &key.account, name)? else {
                continue;
            };
            if alias.target_key_id == key.key_id {
                continue;
            }
            // Its current key as it is, or as the file makes it if the file declares it too.
            let current = match seed.keys.iter().find(|k| {
                k.key_id == alias.target_key_id
                    && k.region == key.region
                    && k.account == key.account
            }) {
                Some(other) => other.check_alone()?.key,
                None => match self.store.get_key(&key.region, &alias.target_key_id)? {
                    Some(k) => k,
                    None => continue,
                },
            };
            check_alias_retarget(
                &alias_arn(&key.region, &key.account, name),
                &current,
                wanted,
            )
            .map_err(|e| key.error(&format!("alias {name}"), e))?;
        }
        Ok(())
    }

    /// Brings one key to what the file says. Returns what changed, in words.
    fn apply_planned(&self, plan: &Planned<'_>, managed: &RecordKey) -> KmsResult<Vec<String>> {
        let seed = plan.seed;
        let mut changes = Vec::new();
        let existing = match &plan.existing {
            Some(k) => Some(k.clone()),
            None => match self.create_seeded(plan)? {
                true => {
                    let key = &plan.shape.key;
                    let mut created = format!(
                        "created ({} {}, {} material",
                        key.key_spec,
                        key.key_usage,
                        if seed.material.is_some() {
                            "imported"
                        } else {
                            "generated"
                        }
                    );
                    if !seed.enabled {
                        created.push_str(", disabled");
                    }
                    if let Some(days) = seed.rotation_period_days {
                        created.push_str(&format!(", automatic rotation every {days} days"));
                    }
                    if !seed.tags.is_empty() {
                        let names: Vec<&str> = seed.tags.keys().map(String::as_str).collect();
                        created.push_str(&format!(", tags {}", names.join(" ")));
                    }
                    created.push(')');
                    changes.push(created);
                    None
                }
                // Made meanwhile (by another instance that does not share the exclusive lock,
                // or an earlier start): converged like any existing key.
                false => self.store.get_key(&seed.region, &seed.key_id)?,
            },
        };
        if let Some(stored) = existing {
            self.converge_key(plan, stored, &mut changes)?;
        }
        self.converge_aliases(seed, managed, &mut changes)?;
        self.converge_tags(plan, managed, &mut changes)?;
        self.converge_grants(plan, managed, &mut changes)?;
        Ok(changes)
    }

    /// Creates the key with its material, tags, state and rotation in one transaction, as
    /// CreateKey (and ImportKeyMaterial, for the file's material) would leave it. Returns false
    /// if a key with the ID exists already.
    fn create_seeded(&self, plan: &Planned<'_>) -> KmsResult<bool> {
        let seed = plan.seed;
        let now = self.now_ms();
        let mut key = plan.shape.key.clone();
        key.created_ms = now;
        if !seed.enabled {
            key.key_state = KeyState::Disabled;
        }
        if let Some(days) = key.rotation_period_days {
            key.next_rotation_ms = Some(now + i64::from(days) * DAY_MS);
        }
        let material = match (&plan.shape.material, &plan.material_id) {
            (Some(plain), Some(id)) => KeyMaterial::new(
                1,
                id.clone(),
                self.root_key.seal(plain, &sealing_aad(&key.key_id, 1))?,
                now,
            ),
            _ => new_material(&self.root_key, plan.shape.crypto_spec, &key.key_id, 1, now)?,
        };
        match self.store.create_key_within(
            &key,
            Some(&material),
            &plan.shape.tags,
            self.max_keys_per_region,
        ) {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(StoreError::LimitExceeded(_)) => Err(crate::quotas::too_many_keys(
                &key.region,
                self.max_keys_per_region,
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Material, description, policy, state and rotation of a stored key.
    fn converge_key(
        &self,
        plan: &Planned<'_>,
        stored: KeyRecord,
        changes: &mut Vec<String>,
    ) -> KmsResult<()> {
        let seed = plan.seed;
        let wanted = &plan.shape.key;
        if let (Some(plain), Some(id)) = (&plan.shape.material, &plan.material_id) {
            let present = self
                .store
                .materials(&stored.region, &stored.key_id)?
                .iter()
                .any(|m| &m.material_id == id && m.sealed.is_some() && m.valid_to_ms.is_none());
            if !present {
                // Deleted or expired meanwhile (or imported with an expiry through the API):
                // imported again, never expiring, into its version.
                store_imported_material(
                    self,
                    &stored,
                    plain,
                    id,
                    Imported {
                        valid_to_ms: None,
                        import_type: Some("EXISTING_KEY_MATERIAL"),
                        description: None,
                    },
                    KeyStates::Any,
                )?;
                changes.push("material imported again".to_string());
            }
        }
        let stored = self
            .store
            .get_key(&stored.region, &stored.key_id)?
            .unwrap_or(stored);
        let pending_deletion = matches!(
            stored.key_state,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        );
        let state_differs = match stored.key_state {
            KeyState::Enabled => !seed.enabled,
            KeyState::Disabled => seed.enabled,
            _ => false,
        };
        if pending_deletion
            || state_differs
            || stored.description != wanted.description
            || stored.policy != wanted.policy
            || stored.policy_principal_ids != wanted.policy_principal_ids
        {
            let mut what = Vec::new();
            self.store.modify_key(&stored.region, &stored.key_id, |k| {
                what.clear();
                if matches!(
                    k.key_state,
                    KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
                ) {
                    cancel_deletion(self, k)?;
                    what.push("deletion cancelled");
                }
                if k.description != wanted.description {
                    k.description = wanted.description.clone();
                    what.push("description");
                }
                if k.policy != wanted.policy
                    || k.policy_principal_ids != wanted.policy_principal_ids
                {
                    k.policy = wanted.policy.clone();
                    k.policy_principal_ids = wanted.policy_principal_ids.clone();
                    what.push("key policy");
                }
                let state = if seed.enabled {
                    KeyState::Enabled
                } else {
                    KeyState::Disabled
                };
                if matches!(k.key_state, KeyState::Enabled | KeyState::Disabled)
                    && k.key_state != state
                {
                    k.key_state = state;
                    what.push(if seed.enabled { "enabled" } else { "disabled" });
                }
                Ok::<_, KmsError>(())
            })?;
            changes.extend(what.into_iter().map(str::to_string));
        }
        let period = seed.rotation_period_days;
        let rotates = stored.rotation_period_days.map(i64::from);
        if period != rotates {
            set_rotation(self, &stored, period, KeyStates::Any)?;
            changes.push(match period {
                Some(days) => format!("automatic rotation every {days} days"),
                None => "automatic rotation disabled".to_string(),
            });
        }
        Ok(())
    }

    /// The file's aliases point at the key; those an earlier seed gave it and the file no
    /// longer does are deleted (if they still point at it).
    fn converge_aliases(
        &self,
        seed: &SeedKey,
        managed: &RecordKey,
        changes: &mut Vec<String>,
    ) -> KmsResult<()> {
        let (region, account) = (seed.region.as_str(), seed.account.as_str());
        for name in &seed.aliases {
            let now = self.now_ms();
            match self.store.get_alias(region, account, name)? {
                Some(a) if a.target_key_id == seed.key_id => {}
                Some(a) => {
                    self.store.update_alias_within(
                        region,
                        account,
                        name,
                        &seed.key_id,
                        now,
                        MAX_ALIASES_PER_KEY,
                    )?;
                    changes.push(format!("alias {name} moved here from {}", a.target_key_id));
                }
                None => {
                    let created = self.store.create_alias_within(
                        &Alias {
                            region: region.to_string(),
                            account: account.to_string(),
                            alias_name: name.clone(),
                            target_key_id: seed.key_id.clone(),
                            created_ms: now,
                            updated_ms: now,
                        },
                        MAX_ALIASES_PER_KEY,
                    );
                    match created {
                        Ok(()) => changes.push(format!("alias {name}")),
                        Err(StoreError::LimitExceeded(_)) => {
                            return Err(crate::quotas::too_many_aliases(
                                region,
                                account,
                                &seed.key_id,
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        for name in managed.aliases.iter().filter(|n| !seed.aliases.contains(n)) {
            if let Some(a) = self.store.get_alias(region, account, name)?
                && a.target_key_id == seed.key_id
            {
                match self.store.delete_alias(region, account, name) {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                changes.push(format!("alias {name} removed"));
            }
        }
        Ok(())
    }

    /// The file's tags are set; tag keys an earlier seed gave the key and the file no longer
    /// does are removed.
    fn converge_tags(
        &self,
        plan: &Planned<'_>,
        managed: &RecordKey,
        changes: &mut Vec<String>,
    ) -> KmsResult<()> {
        let seed = plan.seed;
        let current = self.store.tags(&seed.region, &seed.key_id)?;
        let value = |k: &str| {
            current
                .iter()
                .find(|t| t.key == k)
                .map(|t| t.value.as_str())
        };
        let set: Vec<Tag> = plan
            .shape
            .tags
            .iter()
            .filter(|t| value(&t.key) != Some(t.value.as_str()))
            .cloned()
            .collect();
        let removed: Vec<String> = managed
            .tags
            .iter()
            .filter(|k| !seed.tags.contains_key(*k) && value(k).is_some())
            .cloned()
            .collect();
        if !removed.is_empty() {
            self.store.untag_key(&seed.region, &seed.key_id, &removed)?;
            changes.push(format!("tags removed: {}", removed.join(" ")));
        }
        if !set.is_empty() {
            match self
                .store
                .tag_key(&seed.region, &seed.key_id, &set, MAX_TAGS_PER_KEY)
            {
                Err(StoreError::LimitExceeded(_)) => {
                    return Err(KmsError::new(
                        crate::ErrorCode::Tag,
                        format!("Too many tags: a key has at most {MAX_TAGS_PER_KEY}"),
                    ));
                }
                other => other?,
            }
            let names: Vec<&str> = set.iter().map(|t| t.key.as_str()).collect();
            changes.push(format!("tags set: {}", names.join(" ")));
        }
        Ok(())
    }

    /// The file's grants exist with its parameters (a grant of that name with others is
    /// replaced); grants of names an earlier seed gave the key and the file no longer does are
    /// deleted.
    fn converge_grants(
        &self,
        plan: &Planned<'_>,
        managed: &RecordKey,
        changes: &mut Vec<String>,
    ) -> KmsResult<()> {
        let seed = plan.seed;
        let mut existing = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list_grants(
                &seed.region,
                &seed.key_id,
                None,
                None,
                after.as_deref(),
                1000,
            )?;
            let Some(last) = page.last() else { break };
            after = Some(last.grant_id.clone());
            existing.extend(page);
        }
        // A grant the file no longer wants (or wants otherwise) is revoked by the seed file, as
        // explanations of later denials will say.
        let ending = trent_store::GrantEnding {
            how: trent_store::GrantEnd::Revoked,
            by: SEED_FILE.to_string(),
            at_ms: self.now_ms(),
            request_id: None,
        };
        let delete =
            |g: &GrantRecord| match self
                .store
                .end_grant(&g.region, &g.key_id, &g.grant_id, &ending)
            {
                Ok(()) | Err(StoreError::NotFound) => Ok(()),
                Err(e) => Err(KmsError::from(e)),
            };
        for wanted in &plan.grants {
            let named: Vec<&GrantRecord> =
                existing.iter().filter(|g| g.name == wanted.name).collect();
            let name = wanted.name.as_deref().unwrap_or_default();
            if !named.iter().any(|g| g.same_parameters(wanted)) {
                let token = crate::ops::grants::new_grant_token()?;
                match self.store.create_grant(wanted, &token, MAX_GRANTS_PER_KEY) {
                    Err(StoreError::LimitExceeded(_)) => {
                        return Err(KmsError::new(
                            crate::ErrorCode::LimitExceeded,
                            format!(
                                "The grant limit of {MAX_GRANTS_PER_KEY} grants has been reached."
                            ),
                        ));
                    }
                    other => other?,
                };
                changes.push(if named.is_empty() {
                    format!("grant {name}")
                } else {
                    format!("grant {name} changed")
                });
            }
            for g in named.iter().filter(|g| !g.same_parameters(wanted)) {
                delete(g)?;
            }
        }
        for name in managed
            .grants
            .iter()
            .filter(|n| !seed.grants.iter().any(|g| &&g.name == n))
        {
            let mut removed = false;
            for g in existing.iter().filter(|g| g.name.as_ref() == Some(name)) {
                delete(g)?;
                removed = true;
            }
            if removed {
                changes.push(format!("grant {name} removed"));
            }
        }
        Ok(())
    }
}
