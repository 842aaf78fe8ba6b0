//! Key material rotation: automatic (EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! and the sweep that rotates keys whose date has come) and on demand (RotateKeyOnDemand), with
//! the history ListKeyRotations shows.
//!
//! A rotation adds a material version and makes it current, in one store transaction. Older
//! versions stay: a ciphertext names the version that made it, so it decrypts for the key's
//! whole life, and ReEncrypt moves it to the current version.

use serde::{Deserialize, Serialize};
use trent_store::{KeyMaterial, KeyRecord, KeyState, RotationKind};

use crate::arn::key_arn;
use crate::authz::Check;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::key_set::not_a_primary;
use crate::keyref::Accept;
use crate::keystate;
use crate::materials::{key_spec, new_material};
use crate::ops::{Empty, Page};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::{epoch_seconds, expiration_model};

/// `RotationPeriodInDays` when EnableKeyRotation does not give one.
pub const DEFAULT_ROTATION_PERIOD_DAYS: i64 = 365;
/// How many on-demand rotations one key may have (AWS's fixed quota).
pub const ON_DEMAND_ROTATION_LIMIT: usize = 25;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationRequest {
    key_id: Option<String>,
    rotation_period_in_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusResponse {
    key_rotation_enabled: bool,
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_rotation_date: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateKeyOnDemandResponse {
    key_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsRequest {
    key_id: Option<String>,
    include_key_material: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsResponse {
    rotations: Vec<RotationsListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    key_id: String,
    key_material_id: String,
    key_material_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    import_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_type: Option<&'static str>,
}

/// Which keys an operation rotates (or lists the rotations of).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rotates {
    /// Automatic rotation: only material KMS generated.
    GeneratedMaterial,
    /// On-demand rotation and its history: imported material too (the new material is
    /// imported first, `ImportType=NEW_KEY_MATERIAL`).
    AnyMaterial,
}

/// Why `key` cannot have its material rotated by an operation that rotates `which`, as AWS
/// answers: only symmetric encryption keys can, and those with imported material only on
/// demand (custom key stores have their own ways).
fn rotation_unsupported(key: &KeyRecord, which: Rotates) -> Option<KmsError> {
    let arn = key_arn(&key.region, &key.account, &key.key_id);
    let origin_ok = key.origin == "AWS_KMS"
        || (which == Rotates::AnyMaterial
            && key.origin == "EXTERNAL"
            && key.key_spec == "SYMMETRIC_DEFAULT");
    if !origin_ok {
        return Some(KmsError::unsupported(format!(
            "{arn} origin is {} which is not valid for this operation.",
            key.origin
        )));
    }
    if key.key_spec != "SYMMETRIC_DEFAULT" {
        return Some(KmsError::unsupported(format!(
            "{arn} key spec is {} which is not valid for this operation.",
            key.key_spec
        )));
    }
    None
}

fn required_key_id(key_id: &Option<String>) -> KmsResult<&str> {
    Validator::new().key_id("keyId", key_id, true).finish()?;
    Ok(key_id.as_deref().unwrap_or_default())
}

/// Resolves the key (key ID or ARN), authorizes `action` on it with `context`, and refuses keys
/// that cannot rotate. Replicas of multi-Region keys rotate with their primary, where rotation
/// is set and started; they answer as AWS does for operations that change it.
fn rotation_changing_key(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: &str,
    (action, which): (&'static str, Rotates),
    check: impl FnOnce(Check<'_>) -> Check<'_>,
) -> KmsResult<KeyRecord> {
    let key = rotatable_key(kms, caller, key_id, (action, which), check)?;
    crate::managed::refuse_change(&key)?;
    if key.is_replica() {
        return Err(not_a_primary(&key));
    }
    Ok(key)
}

/// Resolves the key (key ID or ARN), authorizes `action` on it with `context`, and refuses keys
/// that cannot rotate.
fn rotatable_key(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: &str,
    (action, which): (&'static str, Rotates),
    check: impl FnOnce(Check<'_>) -> Check<'_>,
) -> KmsResult<KeyRecord> {
    let resolved = kms.resolve(caller, key_id, Accept::KeyOnly)?;
    kms.authorize(caller, &[check(Check::key(action, &resolved.key))])?;
    if let Some(e) = rotation_unsupported(&resolved.key, which) {
        return Err(e);
    }
    Ok(resolved.key)
}

pub fn enable_key_rotation(
    kms: &Kms,
    caller: &Call<'_>,
    r: EnableKeyRotationRequest,
) -> KmsResult<Empty> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .range("rotationPeriodInDays", r.rotation_period_in_days, 90, 2560)
        .finish()?;
    let period = r
        .rotation_period_in_days
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
    let key = rotation_changing_key(
        kms,
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        ("kms:EnableKeyRotation", Rotates::GeneratedMaterial),
        |c| c.with("kms:RotationPeriodInDays", period),
    )?;
    set_rotation(kms, &key, Some(period), caller.key_states())?;
    Ok(Empty {})
}

/// Why automatic rotation cannot be enabled for `key` (EnableKeyRotation, the seed file).
pub(crate) fn automatic_rotation_unsupported(key: &KeyRecord) -> Option<KmsError> {
    rotation_unsupported(key, Rotates::GeneratedMaterial)
}

/// Enables automatic rotation of `key` (its set) every `period` days, or disables it (`None`),
/// if its state is one of `states` (EnableKeyRotation, DisableKeyRotation, the seed file). The
/// caller checked the period and that the key can rotate.
pub(crate) fn set_rotation(
    kms: &Kms,
    key: &KeyRecord,
    period: Option<i64>,
    states: keystate::KeyStates,
) -> KmsResult<()> {
    let now = kms.now_ms();
    kms.change_key_set(key, |mut set| {
        let k = &mut set.key().key;
        keystate::require(states, k)?;
        match period {
            Some(period) => {
                // Changing the period of an enabled schedule keeps its anchor (the last
                // rotation, or when rotation was enabled); enabling it anew starts from now.
                let anchor = match (k.rotation_period_days, k.next_rotation_ms) {
                    (Some(old), Some(next)) => next - i64::from(old) * DAY_MS,
                    _ => now,
                };
                k.rotation_period_days = Some(period as u32);
                k.next_rotation_ms = Some(anchor + period * DAY_MS);
            }
            None => {
                k.rotation_period_days = None;
                k.next_rotation_ms = None;
            }
        }
        set.synchronize_from(set.this);
        Ok(())
    })
}

pub fn disable_key_rotation(kms: &Kms, caller: &Call<'_>, r: KeyIdRequest) -> KmsResult<Empty> {
    let key_id = required_key_id(&r.key_id)?;
    let key = rotation_changing_key(
        kms,
        caller,
        key_id,
        ("kms:DisableKeyRotation", Rotates::GeneratedMaterial),
        |c| c,
    )?;
    set_rotation(kms, &key, None, caller.key_states())?;
    Ok(Empty {})
}

pub fn get_key_rotation_status(
    kms: &Kms,
    caller: &Call<'_>,
    r: KeyIdRequest,
) -> KmsResult<GetKeyRotationStatusResponse> {
    let key_id = required_key_id(&r.key_id)?;
    let resolved = kms.resolve(caller, key_id, Accept::KeyOnly)?;
    let key = &resolved.key;
    kms.authorize(caller, &[Check::key("kms:GetKeyRotationStatus", key)])?;
    // Asymmetric and HMAC keys never rotate automatically: AWS answers `false` for them, and
    // refuses only keys whose material it did not generate.
    if key.origin != "AWS_KMS"
        && let Some(e) = rotation_unsupported(key, Rotates::GeneratedMaterial)
    {
        return Err(e);
    }
    keystate::require(caller.key_states(), key)?;
    Ok(GetKeyRotationStatusResponse {
        key_rotation_enabled: key.rotation_period_days.is_some(),
        key_id: key.key_id.clone(),
        rotation_period_in_days: key.rotation_period_days,
        next_rotation_date: key.next_rotation_ms.map(epoch_seconds),
    })
}

pub fn rotate_key_on_demand(
    kms: &Kms,
    caller: &Call<'_>,
    r: KeyIdRequest,
) -> KmsResult<RotateKeyOnDemandResponse> {
    let key_id = required_key_id(&r.key_id)?;
    let key = rotation_changing_key(
        kms,
        caller,
        key_id,
        ("kms:RotateKeyOnDemand", Rotates::AnyMaterial),
        |c| c,
    )?;
    let states = caller.key_states();
    if key.origin == "EXTERNAL" {
        if key.is_multi_region() {
            return Err(crate::key_set::imported_rotation_unsupported());
        }
        kms.rotate_to_imported(&key, states)?;
    } else {
        kms.rotate(&key, RotationKind::OnDemand, |k, materials| {
            keystate::require(states, k)?;
            // Counted inside the transaction: concurrent requests cannot pass the limit together.
            on_demand_limit(k, materials)
        })?;
    }
    Ok(RotateKeyOnDemandResponse {
        key_id: key.key_id.clone(),
    })
}

/// AWS's fixed quota of on-demand rotations per key, counted over `materials`.
fn on_demand_limit(key: &KeyRecord, materials: &[KeyMaterial]) -> KmsResult<()> {
    let done = materials
        .iter()
        .filter(|m| m.rotation == Some(RotationKind::OnDemand))
        .count();
    if done >= ON_DEMAND_ROTATION_LIMIT {
        return Err(KmsError::new(
            ErrorCode::LimitExceeded,
            format!(
                "The on-demand rotations limit has been reached for the given keyId. No more \
                 on-demand rotations can be performed for this key: {}",
                key_arn(&key.region, &key.account, &key.key_id)
            ),
        ));
    }
    Ok(())
}

pub fn list_key_rotations(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListKeyRotationsRequest,
) -> KmsResult<ListKeyRotationsResponse> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .one_of(
            "includeKeyMaterial",
            r.include_key_material.as_deref(),
            &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"],
        )
        .finish()?;
    let page = Page::parse(r.limit, r.marker.as_deref(), 100, 1000)?;
    let after: u32 = match &page.after {
        Some(after) => after
            .parse()
            .map_err(|_| KmsError::new(ErrorCode::InvalidMarker, "The marker is not valid."))?,
        None => 0,
    };
    let key = rotatable_key(
        kms,
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        ("kms:ListKeyRotations", Rotates::AnyMaterial),
        |c| c,
    )?;
    let imported = key.origin == "EXTERNAL";
    let all = r.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
    let rows: Vec<KeyMaterial> = kms
        .store
        .materials(&key.region, &key.key_id)?
        .into_iter()
        .filter(|m| m.version > after && (all || m.rotation.is_some()))
        .take(page.limit + 1)
        .collect();
    let (rows, next_marker) = page.finish(rows, |m| m.version.to_string());
    Ok(ListKeyRotationsResponse {
        truncated: next_marker.is_some(),
        next_marker,
        rotations: rows
            .into_iter()
            .map(|m| RotationsListEntry {
                key_id: key.key_id.clone(),
                key_material_state: match m.version.cmp(&key.current_material) {
                    std::cmp::Ordering::Equal => "CURRENT",
                    std::cmp::Ordering::Less => "NON_CURRENT",
                    // Imported for an on-demand rotation that has not happened yet.
                    std::cmp::Ordering::Greater => "PENDING_ROTATION",
                },
                // The import members are there for keys with imported material only.
                key_material_description: m.description.clone().filter(|_| imported),
                import_state: imported.then_some(if m.sealed.is_some() {
                    "IMPORTED"
                } else {
                    "PENDING_IMPORT"
                }),
                expiration_model: imported.then(|| expiration_model(&m)),
                valid_to: m.valid_to_ms.filter(|_| imported).map(epoch_seconds),
                rotation_date: m.rotation.map(|_| epoch_seconds(m.created_ms)),
                rotation_type: m.rotation.map(RotationKind::as_str),
                key_material_id: m.material_id,
            })
            .collect(),
    })
}

impl Kms {
    /// Adds a new material version to `key` and makes it current, in one transaction in which
    /// `check` sees the key and its versions as stored and may refuse. Automatic rotations also
    /// move the key's next rotation date one period on. The replicas of a multi-Region primary
    /// take the same version in the same transaction.
    fn rotate(
        &self,
        key: &KeyRecord,
        kind: RotationKind,
        check: impl FnOnce(&KeyRecord, &[KeyMaterial]) -> KmsResult<()>,
    ) -> KmsResult<()> {
        let spec = key_spec(key)?;
        let now = self.now_ms();
        self.change_key_set(key, |mut set| {
            let this = set.key();
            check(&this.key, &this.materials)?;
            let k = &mut this.key;
            let version = k.current_material + 1;
            this.materials.push(KeyMaterial {
                rotation: Some(kind),
                ..new_material(&self.root_key, spec, &k.key_id, version, now)?
            });
            k.current_material = version;
            if kind == RotationKind::Automatic
                && let Some(period) = k.rotation_period_days
            {
                k.next_rotation_ms = Some(now + i64::from(period) * DAY_MS);
            }
            set.synchronize_from(set.this);
            Ok(())
        })
    }

    /// On-demand rotation of a key with imported material: the version imported for it
    /// (`PENDING_ROTATION`, still imported) becomes current, in one transaction.
    fn rotate_to_imported(
        &self,
        key: &KeyRecord,
        states: crate::keystate::KeyStates,
    ) -> KmsResult<()> {
        let now = self.now_ms();
        self.store
            .modify_key_materials(&key.region, &key.key_id, |k, materials| {
                keystate::require(states, k)?;
                on_demand_limit(k, materials)?;
                let current = k.current_material;
                let pending = materials
                    .iter_mut()
                    .find(|m| m.version > current && m.sealed.is_some())
                    .ok_or_else(|| {
                        KmsError::invalid_state(format!(
                            "{} has no key material in PENDING_ROTATION state. Import new key \
                             material (ImportType NEW_KEY_MATERIAL) before rotating on demand.",
                            key_arn(&k.region, &k.account, &k.key_id)
                        ))
                    })?;
                pending.rotation = Some(RotationKind::OnDemand);
                pending.created_ms = now;
                k.current_material = pending.version;
                Ok::<_, KmsError>(())
            })?;
        Ok(())
    }

    /// Rotates every enabled key whose automatic rotation date has passed. Keys that are not
    /// enabled wait (AWS does not rotate disabled keys or keys pending deletion; such a key
    /// rotates as soon as it is enabled again, since its date has passed). Returns how many
    /// keys were rotated.
    pub fn rotate_due_keys(&self) -> KmsResult<usize> {
        let now = self.now_ms();
        let mut rotated = 0;
        for (region, key_id) in self.store.keys_due_for_rotation(now)? {
            let Some(key) = self.store.get_key(&region, &key_id)? else {
                continue;
            };
            // A replica rotates with its primary.
            if key.key_state != KeyState::Enabled || key.is_replica() {
                continue;
            }
            let mut still_due = true;
            let result = self.rotate(&key, RotationKind::Automatic, |k, _| {
                // Re-checked in the transaction: disabled, or rotated, since it was listed.
                still_due = k.key_state == KeyState::Enabled
                    && k.next_rotation_ms.is_some_and(|d| d <= now);
                if still_due {
                    Ok(())
                } else {
                    Err(KmsError::invalid_state("no longer due for rotation"))
                }
            });
            match result {
                Ok(_) => {
                    rotated += 1;
                    tracing::info!(%region, %key_id, "key material rotated (automatic rotation)");
                }
                Err(_) if !still_due => {}
                Err(e) => return Err(e),
            }
        }
        Ok(rotated)
    }
}
