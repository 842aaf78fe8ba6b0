//! Rows as the rest of Trent sees them.

use std::fmt;
use std::str::FromStr;

use crate::StoreError;

/// The lifecycle state of a KMS key, named as in the KMS API's `KeyState` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Creating,
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
    PendingReplicaDeletion,
    Unavailable,
    Updating,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "Creating" => KeyState::Creating,
            "Enabled" => KeyState::Enabled,
            "Disabled" => KeyState::Disabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            "PendingImport" => KeyState::PendingImport,
            "PendingReplicaDeletion" => KeyState::PendingReplicaDeletion,
            "Unavailable" => KeyState::Unavailable,
            "Updating" => KeyState::Updating,
            other => return Err(StoreError::Corrupt(format!("unknown key state {other:?}"))),
        })
    }
}

/// Who manages a key (`KeyManager` in the API): the account (`CUSTOMER`), or AWS for the AWS
/// managed keys that KMS creates on the first use of `alias/aws/<service>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyManager {
    #[default]
    Customer,
    Aws,
}

impl KeyManager {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyManager::Customer => "CUSTOMER",
            KeyManager::Aws => "AWS",
        }
    }
}

impl FromStr for KeyManager {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "CUSTOMER" => Ok(KeyManager::Customer),
            "AWS" => Ok(KeyManager::Aws),
            other => Err(StoreError::Corrupt(format!(
                "unknown key manager {other:?}"
            ))),
        }
    }
}

/// One KMS key. Keys are regional: the primary key is (region, key_id).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub region: String,
    pub key_id: String,
    pub account: String,
    pub created_ms: i64,
    pub description: String,
    pub key_spec: String,
    pub key_usage: String,
    pub origin: String,
    pub key_state: KeyState,
    pub deletion_ms: Option<i64>,
    pub pending_window_days: Option<i64>,
    pub policy: String,
    /// For a multi-Region key, the Region of its primary key (its own Region when it is the
    /// primary); `None` for a single-Region key. Every key of a multi-Region set holds the same
    /// value; only UpdatePrimaryRegion changes it, in all of them at once.
    pub primary_region: Option<String>,
    /// The material version new ciphertexts are made with; 0 while a key of `EXTERNAL` origin
    /// has had no material imported.
    pub current_material: u32,
    /// The unique IDs of the users and roles the key policy names, when it was set: ARN ->
    /// unique ID (JSON object), `None` for keys whose policy predates them.
    pub policy_principal_ids: Option<String>,
    /// Automatic rotation: its period in days while it is enabled, `None` while it is not.
    pub rotation_period_days: Option<u32>,
    /// When automatic rotation next rotates the key (set exactly while it is enabled).
    pub next_rotation_ms: Option<i64>,
    /// Set when the key is created, never changed.
    pub key_manager: KeyManager,
}

/// What identifies a key: (region, key ID).
pub(crate) type KeyRef = (String, String);

pub(crate) fn key_ref(region: &str, key_id: &str) -> KeyRef {
    (region.to_string(), key_id.to_string())
}

impl KeyRecord {
    /// Whether the key is a multi-Region key (a primary or a replica).
    pub fn is_multi_region(&self) -> bool {
        self.primary_region.is_some()
    }

    /// Whether the key is the replica of a multi-Region key in another Region.
    pub fn is_replica(&self) -> bool {
        self.primary_region
            .as_deref()
            .is_some_and(|primary| primary != self.region)
    }

    /// `self` (the key as stored) with the columns a modification may change taken from
    /// `changed`: description, state, deletion date and window, policy (with its principal IDs)
    /// current material, rotation schedule and primary Region. The identity and the immutable
    /// properties (account, creation date, spec, usage, origin, key manager) stay as they were,
    /// whatever the closure of `Store::modify_key` did to them.
    pub fn with_changes(&self, changed: &KeyRecord) -> KeyRecord {
        KeyRecord {
            description: changed.description.clone(),
            key_state: changed.key_state,
            deletion_ms: changed.deletion_ms,
            pending_window_days: changed.pending_window_days,
            policy: changed.policy.clone(),
            current_material: changed.current_material,
            policy_principal_ids: changed.policy_principal_ids.clone(),
            rotation_period_days: changed.rotation_period_days,
            next_rotation_ms: changed.next_rotation_ms,
            // Which Region is primary may change; whether the key is multi-Region may not.
            primary_region: match (&self.primary_region, &changed.primary_region) {
                (Some(_), Some(new)) => Some(new.clone()),
                (stored, _) => stored.clone(),
            },
            ..self.clone()
        }
    }
}

/// One version of a key's material, sealed under the root key. Never plaintext.
#[derive(Clone, PartialEq)]
pub struct KeyMaterial {
    pub version: u32,
    /// The public identifier of this material version (`KeyMaterialId` in the API). It never
    /// changes: imported material gets an ID computed from the material itself.
    pub material_id: String,
    /// The material sealed under the root key; `None` for imported material that expired or
    /// was deleted (DeleteImportedKeyMaterial). The version, its ID and its import settings stay,
    /// so that the same material can be imported again.
    pub sealed: Option<Vec<u8>>,
    /// When the version was made, or for imported material when it became current through a
    /// rotation (it is the rotation's date).
    pub created_ms: i64,
    /// How this version came to be: `None` for the key's first material (and for imported
    /// material not rotated in yet), otherwise the rotation that made it current.
    pub rotation: Option<RotationKind>,
    /// Imported material only: when it expires (`ValidTo`; `None` when it does not expire).
    pub valid_to_ms: Option<i64>,
    /// Imported material only: `KeyMaterialDescription`.
    pub description: Option<String>,
}

impl KeyMaterial {
    /// Material that KMS made (or imported material without an expiry), sealed.
    pub fn new(version: u32, material_id: String, sealed: Vec<u8>, created_ms: i64) -> Self {
        KeyMaterial {
            version,
            material_id,
            sealed: Some(sealed),
            created_ms,
            rotation: None,
            valid_to_ms: None,
            description: None,
        }
    }
}

/// The last successful cryptographic operation with a key (`GetKeyLastUsage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub region: String,
    pub key_id: String,
    /// The operation's API name, e.g. `Encrypt`.
    pub operation: String,
    pub at_ms: i64,
    /// The audit record's `eventID` and `requestID`.
    pub event_id: String,
    pub request_id: String,
}

/// What made a material version (`RotationType` in `ListKeyRotations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationKind {
    Automatic,
    OnDemand,
}

impl RotationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RotationKind::Automatic => "AUTOMATIC",
            RotationKind::OnDemand => "ON_DEMAND",
        }
    }

    /// The stored name, as [`RotationKind::as_str`] writes it.
    pub fn parse(s: &str) -> Option<RotationKind> {
        match s {
            "AUTOMATIC" => Some(RotationKind::Automatic),
            "ON_DEMAND" => Some(RotationKind::OnDemand),
            _ => None,
        }
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("version", &self.version)
            .field("material_id", &self.material_id)
            .field(
                "sealed",
                &format_args!("<{:?} bytes>", self.sealed.as_ref().map(Vec::len)),
            )
            .field("created_ms", &self.created_ms)
            .field("rotation", &self.rotation)
            .field("valid_to_ms", &self.valid_to_ms)
            .field("description", &self.description)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub region: String,
    pub account: String,
    pub alias_name: String,
    pub target_key_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A grant on a key. `operations` and `constraints` are kept as the API shapes them (JSON);
/// the service gives them meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub region: String,
    pub key_id: String,
    pub grant_id: String,
    pub name: Option<String>,
    pub created_ms: i64,
    pub grantee_principal: Option<String>,
    pub grantee_service_principal: Option<String>,
    pub retiring_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    /// The `Constraints` structure as JSON, if any.
    pub constraints: Option<String>,
    /// The unique ID of the grantee principal (user or role) when the grant was created, if
    /// Trent knew it: a principal recreated with the same name does not match the grant.
    pub grantee_unique_id: Option<String>,
    /// The same for the retiring principal.
    pub retiring_unique_id: Option<String>,
    /// The principal whose CreateGrant made the grant, and that request's ID (`None` for grants
    /// made before Trent kept them, and for grants imported in bulk): explanations say who
    /// granted what, and when.
    pub created_by: Option<String>,
    pub created_request_id: Option<String>,
}

/// How a grant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEnd {
    Retired,
    Revoked,
}

impl GrantEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantEnd::Retired => "retired",
            GrantEnd::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<GrantEnd> {
        match s {
            "retired" => Some(GrantEnd::Retired),
            "revoked" => Some(GrantEnd::Revoked),
            _ => None,
        }
    }
}

/// Who ended a grant, how and when: kept with the grant after it is gone, so that an
/// explanation of a later denial can say "grant G would have allowed it, but was retired at T
/// by P".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEnding {
    pub how: GrantEnd,
    pub by: String,
    pub at_ms: i64,
    pub request_id: Option<String>,
}

/// A grant that was retired or revoked. A key keeps its latest [`MAX_ENDED_GRANTS_PER_KEY`];
/// they go with the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedGrant {
    pub grant: GrantRecord,
    pub ending: GrantEnding,
}

/// How many ended grants a key keeps (the oldest are forgotten first): enough to explain the
/// denials that follow a retirement, bounded whatever the rate of grants made and retired.
pub const MAX_ENDED_GRANTS_PER_KEY: usize = 100;

impl GrantRecord {
    /// Same grantee, retiring principal, operations, constraints and name: a retry of the same
    /// CreateGrant (name idempotency).
    pub fn same_parameters(&self, other: &GrantRecord) -> bool {
        let mut a = self.operations.clone();
        let mut b = other.operations.clone();
        a.sort();
        b.sort();
        self.name == other.name
            && self.grantee_principal == other.grantee_principal
            && self.grantee_service_principal == other.grantee_service_principal
            && self.retiring_principal == other.retiring_principal
            && self.retiring_service_principal == other.retiring_service_principal
            && a == b
            && self.constraints == other.constraints
            && self.grantee_unique_id == other.grantee_unique_id
            && self.retiring_unique_id == other.retiring_unique_id
    }
}

/// What [`crate::Backend::modify_key_materials_dyn`] must write after its closure changed the
/// versions of a key from `before` to `after`: the versions to delete and the versions to insert
/// or rewrite. One version number twice, or a version whose material ID changed, is `Refused`.
pub(crate) fn material_changes<'a>(
    before: &[KeyMaterial],
    after: &'a [KeyMaterial],
) -> Result<(Vec<u32>, Vec<&'a KeyMaterial>), StoreError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut written = Vec::new();
    for m in after {
        if !seen.insert(m.version) {
            return Err(StoreError::Refused);
        }
        match before.iter().find(|b| b.version == m.version) {
            Some(b) if b.material_id != m.material_id => return Err(StoreError::Refused),
            Some(b) if b == m => {}
            _ => written.push(m),
        }
    }
    let removed = before
        .iter()
        .map(|b| b.version)
        .filter(|v| !seen.contains(v))
        .collect();
    Ok((removed, written))
}

/// One key of a multi-Region key set (its primary or a replica) with its material versions, as
/// [`crate::Backend::modify_related_keys_dyn`] hands them to its closure.
#[derive(Clone, PartialEq)]
pub struct RelatedKey {
    pub key: KeyRecord,
    /// Every material version, oldest first.
    pub materials: Vec<KeyMaterial>,
    /// The initial tags of a key the closure adds. Keys as stored come with none (tags change
    /// through `tag_key`), and must leave it empty.
    pub tags: Vec<Tag>,
}

/// What a backend must write after the closure of
/// [`crate::Backend::modify_related_keys_dyn`] changed the set from `before` to `after`.
pub(crate) struct RelatedChanges<'a> {
    /// Keys to insert, with their materials and tags.
    pub inserted: Vec<&'a RelatedKey>,
    /// (key as it must be written, versions to delete, versions to insert or rewrite).
    pub updated: Vec<(KeyRecord, Vec<u32>, Vec<&'a KeyMaterial>)>,
    /// Regions whose key is deleted.
    pub deleted: Vec<String>,
}

/// Matches `after` to `before` by Region. A Region twice, a key whose ID or account differs from
/// the set's, tags on a stored key, or a material change [`material_changes`] refuses, is
/// `Refused`.
pub(crate) fn related_changes<'a>(
    before: &[RelatedKey],
    after: &'a [RelatedKey],
    account: &str,
    key_id: &str,
) -> Result<RelatedChanges<'a>, StoreError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut changes = RelatedChanges {
        inserted: Vec::new(),
        updated: Vec::new(),
        deleted: Vec::new(),
    };
    for entry in after {
        let key = &entry.key;
        if key.key_id != key_id || key.account != account || !seen.insert(key.region.as_str()) {
            return Err(StoreError::Refused);
        }
        match before.iter().find(|b| b.key.region == key.region) {
            Some(stored) => {
                if !entry.tags.is_empty() {
                    return Err(StoreError::Refused);
                }
                let (removed, written) = material_changes(&stored.materials, &entry.materials)?;
                changes
                    .updated
                    .push((stored.key.with_changes(key), removed, written));
            }
            None => {
                material_changes(&[], &entry.materials)?;
                changes.inserted.push(entry);
            }
        }
    }
    changes.deleted = before
        .iter()
        .map(|b| b.key.region.clone())
        .filter(|r| !seen.contains(r.as_str()))
        .collect();
    Ok(changes)
}
