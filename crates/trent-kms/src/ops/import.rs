//! Imported key material (keys of `EXTERNAL` origin): GetParametersForImport,
//! ImportKeyMaterial, DeleteImportedKeyMaterial, and the sweep that deletes material whose
//! `ValidTo` has passed.
//!
//! The import token is self-contained: the wrapping private key, the wrapping algorithm and the
//! token's expiry, sealed under the root key and bound to the key (region and key ID). Nothing is
//! stored by GetParametersForImport, so a token works after a restart and on every instance that
//! shares the root key; like AWS's, token and public key are valid for 24 hours, and a failed
//! import leaves the token usable.
//!
//! Imported material's ID is computed from the material itself (`RootKey::material_fingerprint`,
//! bound to the key ID): importing the same material again finds its version, different material
//! is told apart (`IncorrectKeyMaterialException`), and the ID says nothing about the material.
//!
//! Versions of a symmetric key with imported material: the first import is version 1 and
//! current; `ImportType=NEW_KEY_MATERIAL` adds the next version *pending rotation* (a version
//! above the current one), which RotateKeyOnDemand makes current. Expiry and
//! DeleteImportedKeyMaterial remove the sealed material but keep the version and its ID; while
//! the current version has none the key is `PendingImport`.

use serde::{Deserialize, Serialize};
use trent_crypto::{KeySpec, PrivateKeyMaterial, WrappingAlgorithm, WrappingKey};
use trent_store::{KeyMaterial, KeyRecord, KeyState};
use zeroize::Zeroizing;

use crate::arn::key_arn;
use crate::authz::Check;
use crate::call::Call;
use crate::clock::DAY_MS;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keystate;
use crate::materials::{key_spec, sealing_aad};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::{Blob, epoch_seconds};

/// How long the public key and import token of GetParametersForImport can be used.
const PARAMETERS_LIFETIME_MS: i64 = DAY_MS;
/// The latest `ValidTo` ImportKeyMaterial accepts, from the time of the request.
const MAX_VALID_TO_MS: i64 = 365 * DAY_MS;
const TOKEN_FORMAT: u8 = 1;

const ALGORITHM_SPECS: &[&str] = &[
    "RSAES_PKCS1_V1_5",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "SM2PKE",
];
const WRAPPING_KEY_SPECS: &[&str] = &["RSA_2048", "RSA_3072", "RSA_4096", "SM2"];
const EXPIRES: &str = "KEY_MATERIAL_EXPIRES";
const DOES_NOT_EXPIRE: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";
const NEW_KEY_MATERIAL: &str = "NEW_KEY_MATERIAL";
const EXISTING_KEY_MATERIAL: &str = "EXISTING_KEY_MATERIAL";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportRequest {
    key_id: Option<String>,
    wrapping_algorithm: Option<String>,
    wrapping_key_spec: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportResponse {
    key_id: String,
    import_token: Blob,
    public_key: Blob,
    parameters_valid_to: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialRequest {
    key_id: Option<String>,
    import_token: Option<Blob>,
    encrypted_key_material: Option<Blob>,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
    import_type: Option<String>,
    key_material_description: Option<String>,
    key_material_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMaterialResponse {
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialRequest {
    key_id: Option<String>,
    key_material_id: Option<String>,
}

fn arn(key: &KeyRecord) -> String {
    key_arn(&key.region, &key.account, &key.key_id)
}

/// Resolves the key (key ID or ARN), authorizes `check`, and refuses keys whose material is
/// not imported, then keys in a state the operation does not allow.
fn external_key(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: &str,
    check: impl FnOnce(&KeyRecord) -> Check<'_>,
) -> KmsResult<KeyRecord> {
    let resolved = kms.resolve(caller, key_id, Accept::KeyOnly)?;
    kms.authorize(caller, &[check(&resolved.key)])?;
    let key = resolved.key;
    if key.origin != "EXTERNAL" {
        return Err(KmsError::unsupported(format!(
            "{} origin is {} which is not valid for this operation.",
            arn(&key),
            key.origin
        )));
    }
    keystate::require(caller.key_states(), &key)?;
    Ok(key)
}

/// What binds an import token to its key.
fn token_aad(key: &KeyRecord) -> Vec<u8> {
    format!("trent:import-token:{}:{}", key.region, key.key_id).into_bytes()
}

fn wrapping_algorithm(name: &str) -> KmsResult<WrappingAlgorithm> {
    match name {
        "RSAES_PKCS1_V1_5" => Err(KmsError::unsupported(
            "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported (KMS stopped \
             accepting it on October 10, 2023). Use RSAES_OAEP_SHA_256 or \
             RSA_AES_KEY_WRAP_SHA_256.",
        )),
        "SM2PKE" => Err(KmsError::unsupported(
            "The SM2PKE wrapping algorithm is available only in AWS China Regions and is not \
             supported by Trent.",
        )),
        other => WrappingAlgorithm::parse(other)
            .ok_or_else(|| KmsError::validation(format!("Unknown wrapping algorithm {other}"))),
    }
}

pub fn get_parameters_for_import(
    kms: &Kms,
    caller: &Call<'_>,
    r: GetParametersForImportRequest,
) -> KmsResult<GetParametersForImportResponse> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .required("wrappingAlgorithm", &r.wrapping_algorithm)
        .one_of(
            "wrappingAlgorithm",
            r.wrapping_algorithm.as_deref(),
            ALGORITHM_SPECS,
        )
        .required("wrappingKeySpec", &r.wrapping_key_spec)
        .one_of(
            "wrappingKeySpec",
            r.wrapping_key_spec.as_deref(),
            WRAPPING_KEY_SPECS,
        )
        .finish()?;
    let algorithm_name = r.wrapping_algorithm.as_deref().unwrap_or_default();
    let spec_name = r.wrapping_key_spec.as_deref().unwrap_or_default();
    let key = external_key(kms, caller, r.key_id.as_deref().unwrap_or_default(), |k| {
        Check::key("kms:GetParametersForImport", k)
            .with("kms:WrappingAlgorithm", algorithm_name)
            .with("kms:WrappingKeySpec", spec_name)
    })?;
    let algorithm = wrapping_algorithm(algorithm_name)?;
    let bits = match spec_name {
        "RSA_2048" => 2048,
        "RSA_3072" => 3072,
        "RSA_4096" => 4096,
        _ => {
            return Err(KmsError::unsupported(
                "The SM2 wrapping key spec is available only in AWS China Regions and is not \
                 supported by Trent.",
            ));
        }
    };
    let wrapping = WrappingKey::generate(bits)?;
    let valid_to = kms.now_ms() + PARAMETERS_LIFETIME_MS;
    let token = seal_token(kms, &key, algorithm, valid_to, &wrapping)?;
    Ok(GetParametersForImportResponse {
        key_id: arn(&key),
        import_token: Blob(token),
        public_key: Blob(wrapping.public_key_der()?),
        parameters_valid_to: epoch_seconds(valid_to),
    })
}

/// The token: format byte, algorithm (its index in [`WrappingAlgorithm::ALL`]), expiry (ms,
/// big-endian) and the wrapping key's PKCS#8, sealed under the root key for `key`.
fn seal_token(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: WrappingAlgorithm,
    valid_to_ms: i64,
    wrapping: &WrappingKey,
) -> KmsResult<Vec<u8>> {
    let index = WrappingAlgorithm::ALL
        .iter()
        .position(|a| *a == algorithm)
        .ok_or_else(|| KmsError::internal("wrapping algorithm missing from the list"))?;
    let pkcs8 = wrapping.to_pkcs8()?;
    let mut plain = Zeroizing::new(Vec::with_capacity(10 + pkcs8.len()));
    plain.push(TOKEN_FORMAT);
    plain.push(index as u8);
    plain.extend_from_slice(&valid_to_ms.to_be_bytes());
    plain.extend_from_slice(&pkcs8);
    Ok(kms.root_key.seal(&plain, &token_aad(key))?)
}

/// Opens a token made for `key`, refusing one made for another key, tampered with or expired.
fn open_token(
    kms: &Kms,
    key: &KeyRecord,
    token: &[u8],
) -> KmsResult<(WrappingAlgorithm, WrappingKey)> {
    let invalid = || {
        KmsError::new(
            ErrorCode::InvalidImportToken,
            format!(
                "The import token is not valid for {}. It must come from a GetParametersForImport \
                 request for this KMS key.",
                arn(key)
            ),
        )
    };
    let plain = kms
        .root_key
        .unseal(token, &token_aad(key))
        .map_err(|_| invalid())?;
    if plain.len() < 10 || plain[0] != TOKEN_FORMAT {
        return Err(invalid());
    }
    let algorithm = *WrappingAlgorithm::ALL
        .get(usize::from(plain[1]))
        .ok_or_else(invalid)?;
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&plain[2..10]);
    if i64::from_be_bytes(expiry) <= kms.now_ms() {
        return Err(KmsError::new(
            ErrorCode::ExpiredImportToken,
            "The import token has expired. Use GetParametersForImport to get a new import token \
             and public key, encrypt the key material with the new public key, and try again.",
        ));
    }
    let wrapping = WrappingKey::from_pkcs8(&plain[10..]).map_err(|_| invalid())?;
    Ok((algorithm, wrapping))
}

fn incorrect_material(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::IncorrectKeyMaterial, message)
}

/// `ValidTo` and `ExpirationModel` as given, checked as KMS does: `ValidTo` is required when the
/// material expires (the default) and refused when it does not; it must lie in the future and
/// at most 365 days ahead. Returns the expiry in milliseconds.
fn expiry(kms: &Kms, model: &str, valid_to: Option<f64>) -> KmsResult<Option<i64>> {
    match (model, valid_to) {
        (EXPIRES, None) => Err(KmsError::validation(
            "A ValidTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES.",
        )),
        (EXPIRES, Some(seconds)) => {
            let ms = (seconds * 1000.0).round();
            let now = kms.now_ms();
            if !ms.is_finite() || ms <= now as f64 {
                return Err(KmsError::validation(
                    "ValidTo must be a date in the future.",
                ));
            }
            if ms > (now + MAX_VALID_TO_MS) as f64 {
                return Err(KmsError::validation(
                    "ValidTo must be no more than 365 days from now.",
                ));
            }
            Ok(Some(ms as i64))
        }
        (_, Some(_)) => Err(KmsError::validation(
            "ValidTo must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.",
        )),
        (_, None) => Ok(None),
    }
}

fn validate_material_id(v: &mut Validator, member: &str, id: Option<&str>, min: usize) {
    v.length(member, id, min, 64)
        .pattern(member, id, "^[a-f0-9]+$", |s| {
            s.bytes().all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9'))
        });
}

pub fn import_key_material(
    kms: &Kms,
    caller: &Call<'_>,
    r: ImportKeyMaterialRequest,
) -> KmsResult<KeyMaterialResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true)
        .required("importToken", &r.import_token)
        .blob_length(
            "importToken",
            r.import_token.as_ref().map(|b| b.0.as_slice()),
            1,
            6144,
        )
        .required("encryptedKeyMaterial", &r.encrypted_key_material)
        .blob_length(
            "encryptedKeyMaterial",
            r.encrypted_key_material.as_ref().map(|b| b.0.as_slice()),
            1,
            6144,
        )
        .one_of(
            "expirationModel",
            r.expiration_model.as_deref(),
            &[EXPIRES, DOES_NOT_EXPIRE],
        )
        .one_of(
            "importType",
            r.import_type.as_deref(),
            &[NEW_KEY_MATERIAL, EXISTING_KEY_MATERIAL],
        )
        .length(
            "keyMaterialDescription",
            r.key_material_description.as_deref(),
            0,
            256,
        )
        .pattern(
            "keyMaterialDescription",
            r.key_material_description.as_deref(),
            "^[a-zA-Z0-9:/_\\s.-]+$",
            |s| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || ":/_.-".contains(c))
            },
        );
    validate_material_id(&mut v, "keyMaterialId", r.key_material_id.as_deref(), 64);
    v.finish()?;
    let model = r.expiration_model.as_deref().unwrap_or(EXPIRES);
    let key = external_key(kms, caller, r.key_id.as_deref().unwrap_or_default(), |k| {
        let check = Check::key("kms:ImportKeyMaterial", k).with("kms:ExpirationModel", model);
        match r.valid_to {
            Some(seconds) => check.with("kms:ValidTo", trent_policy::ContextValue::number(seconds)),
            None => check,
        }
    })?;
    let valid_to_ms = expiry(kms, model, r.valid_to)?;
    let symmetric = key.key_spec == "SYMMETRIC_DEFAULT";
    if !symmetric
        && (r.import_type.is_some()
            || r.key_material_id.is_some()
            || r.key_material_description.is_some())
    {
        return Err(KmsError::validation(
            "ImportType, KeyMaterialId and KeyMaterialDescription are valid only for symmetric \
             encryption KMS keys.",
        ));
    }
    if r.import_type.as_deref() == Some(NEW_KEY_MATERIAL) && r.key_material_id.is_some() {
        return Err(KmsError::validation(
            "You cannot specify a KeyMaterialId when the ImportType is NEW_KEY_MATERIAL.",
        ));
    }

    let token = r
        .import_token
        .as_ref()
        .map(|b| b.0.as_slice())
        .unwrap_or_default();
    let (algorithm, wrapping) = open_token(kms, &key, token)?;
    let wrapped = r
        .encrypted_key_material
        .as_ref()
        .map(|b| b.0.as_slice())
        .unwrap_or_default();
    let plain = wrapping
        .unwrap(algorithm, wrapped)
        .map_err(|_| KmsError::invalid_ciphertext())?;
    let spec = key_spec(&key)?;
    check_material(spec, &plain)?;
    let material_id = kms.root_key.material_fingerprint(&key.key_id, &plain)?;
    if let Some(given) = &r.key_material_id
        && *given != material_id
    {
        return Err(incorrect_material(
            "The KeyMaterialId does not identify the key material in the request.",
        ));
    }

    let stored = store_imported_material(
        kms,
        &key,
        &plain,
        &material_id,
        Imported {
            valid_to_ms,
            import_type: r.import_type.as_deref(),
            description: r.key_material_description.clone(),
        },
        caller.key_states(),
    )?;
    Ok(KeyMaterialResponse {
        key_id: arn(&stored),
        key_material_id: symmetric.then_some(material_id),
    })
}

/// How material is imported: its `ValidTo` (ms), `ImportType` and `KeyMaterialDescription`.
pub(crate) struct Imported<'a> {
    pub valid_to_ms: Option<i64>,
    pub import_type: Option<&'a str>,
    pub description: Option<String>,
}

/// Stores `plain`, checked material of `key` with its `material_id`, as ImportKeyMaterial
/// does (and the seed file, for a key that lost its material): into the version with that ID,
/// or a new version (`NEW_KEY_MATERIAL`, the default for a key that has none), in one
/// transaction that re-checks the key's state against `states`. Returns the key as stored.
pub(crate) fn store_imported_material(
    kms: &Kms,
    key: &KeyRecord,
    plain: &[u8],
    material_id: &str,
    how: Imported<'_>,
    states: keystate::KeyStates,
) -> KmsResult<KeyRecord> {
    let now = kms.now_ms();
    let stored = kms
        .store
        .modify_key_materials(&key.region, &key.key_id, |k, materials| {
            keystate::require(states, k)?;
            let import_type = how.import_type.unwrap_or(if materials.is_empty() {
                NEW_KEY_MATERIAL
            } else {
                EXISTING_KEY_MATERIAL
            });
            if import_type == NEW_KEY_MATERIAL && k.is_replica() {
                return Err(KmsError::unsupported(format!(
                    "{} is a multi-Region replica key: import the key material of its primary \
                     key (ImportType EXISTING_KEY_MATERIAL).",
                    arn(k)
                )));
            }
            if import_type == NEW_KEY_MATERIAL && k.is_multi_region() && !materials.is_empty() {
                return Err(crate::key_set::imported_rotation_unsupported());
            }
            let version = if import_type == NEW_KEY_MATERIAL {
                new_version(k, materials, material_id)?
            } else {
                materials
                    .iter()
                    .find(|m| m.material_id == *material_id)
                    .map(|m| m.version)
                    .ok_or_else(|| {
                        incorrect_material(
                            "The key material in the request is not the key material that was \
                         previously imported into this KMS key.",
                        )
                    })?
            };
            let sealed = kms.root_key.seal(plain, &sealing_aad(&k.key_id, version))?;
            match materials.iter_mut().find(|m| m.version == version) {
                Some(m) => {
                    m.sealed = Some(sealed);
                    m.valid_to_ms = how.valid_to_ms;
                    if how.description.is_some() {
                        m.description = how.description.clone();
                    }
                }
                None => materials.push(KeyMaterial {
                    valid_to_ms: how.valid_to_ms,
                    description: how.description.clone(),
                    ..KeyMaterial::new(version, material_id.to_string(), sealed, now)
                }),
            }
            if version == k.current_material && k.key_state == KeyState::PendingImport {
                k.key_state = KeyState::Enabled;
            }
            Ok::<_, KmsError>(k.clone())
        })?;
    // Unsealed material of this version cached before (it may have expired since) is replaced.
    kms.materials.evict_key(&stored.region, &stored.key_id);
    Ok(stored)
}

/// Material that parses as the key's spec (raw 256-bit key, raw HMAC key of the allowed
/// length, PKCS#8 of the right algorithm and size), as KMS requires.
pub(crate) fn check_material(spec: KeySpec, plain: &[u8]) -> KmsResult<()> {
    PrivateKeyMaterial::from_bytes(spec, plain)
        .map(drop)
        .map_err(|_| {
            incorrect_material(format!(
                "The key material is not valid for a KMS key with key spec {spec}."
            ))
        })
}

/// The version new material (`NEW_KEY_MATERIAL`) goes into: the first version of a key that has
/// none (it becomes current), otherwise the next one, pending rotation (symmetric keys only).
fn new_version(key: &mut KeyRecord, materials: &[KeyMaterial], id: &str) -> KmsResult<u32> {
    if materials.iter().any(|m| m.material_id == id) {
        return Err(incorrect_material(
            "The key material in the request is already associated with this KMS key. Use \
             ImportType EXISTING_KEY_MATERIAL to import it again.",
        ));
    }
    let Some(last) = materials.last() else {
        key.current_material = 1;
        return Ok(1);
    };
    if key.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(incorrect_material(format!(
            "{} already has key material; only symmetric encryption KMS keys take new key \
             material.",
            arn(key)
        )));
    }
    if key.key_state == KeyState::PendingImport {
        return Err(KmsError::invalid_state(format!(
            "{} is pending import. Import its current key material again before importing new \
             key material.",
            arn(key)
        )));
    }
    if materials.iter().any(|m| m.version > key.current_material) {
        return Err(KmsError::invalid_state(format!(
            "{} already has key material in PENDING_ROTATION state. Rotate the key with \
             RotateKeyOnDemand, or delete that key material, before importing new key material.",
            arn(key)
        )));
    }
    Ok(last.version + 1)
}

pub fn delete_imported_key_material(
    kms: &Kms,
    caller: &Call<'_>,
    r: DeleteImportedKeyMaterialRequest,
) -> KmsResult<KeyMaterialResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
    validate_material_id(&mut v, "keyMaterialId", r.key_material_id.as_deref(), 64);
    v.finish()?;
    let key = external_key(kms, caller, r.key_id.as_deref().unwrap_or_default(), |k| {
        Check::key("kms:DeleteImportedKeyMaterial", k)
    })?;
    let states = caller.key_states();
    let (stored, deleted) =
        kms.store
            .modify_key_materials(&key.region, &key.key_id, |k, materials| {
                keystate::require(states, k)?;
                let target = match &r.key_material_id {
                    Some(id) => materials
                        .iter()
                        .position(|m| &m.material_id == id)
                        .ok_or_else(|| {
                            KmsError::not_found(format!(
                                "Key material with ID {id} is not associated with {}.",
                                arn(k)
                            ))
                        })?,
                    None => materials
                        .iter()
                        .position(|m| m.version == k.current_material)
                        .ok_or_else(|| {
                            KmsError::invalid_state(format!("{} is pending import.", arn(k)))
                        })?,
                };
                let deleted = materials[target].material_id.clone();
                if materials[target].version > k.current_material {
                    // Material pending rotation was never part of the key: it goes entirely, and other
                    // material can be imported in its place.
                    materials.remove(target);
                } else {
                    if materials[target].sealed.is_none() {
                        return Err(KmsError::invalid_state(format!(
                            "The key material {deleted} of {} is already pending import.",
                            arn(k)
                        )));
                    }
                    materials[target].sealed = None;
                    lose_current_material(k, materials[target].version);
                }
                Ok::<_, KmsError>((k.clone(), deleted))
            })?;
    kms.materials.evict_key(&stored.region, &stored.key_id);
    Ok(KeyMaterialResponse {
        key_id: arn(&stored),
        key_material_id: (stored.key_spec == "SYMMETRIC_DEFAULT").then_some(deleted),
    })
}

/// A key whose current material (`version`) is gone waits for it to be imported again; a key
/// pending deletion stays pending deletion.
fn lose_current_material(key: &mut KeyRecord, version: u32) {
    if version == key.current_material
        && matches!(key.key_state, KeyState::Enabled | KeyState::Disabled)
    {
        key.key_state = KeyState::PendingImport;
    }
}

impl Kms {
    /// Deletes imported material whose `ValidTo` has passed (the key goes to `PendingImport`
    /// when it was its current material). Returns how many keys lost material.
    pub fn expire_imported_material(&self) -> KmsResult<usize> {
        let now = self.now_ms();
        let mut expired = 0;
        for (region, key_id) in self.store.keys_with_expired_material(now)? {
            let changed = self
                .store
                .modify_key_materials(&region, &key_id, |k, materials| {
                    let mut changed = false;
                    for m in materials.iter_mut() {
                        if m.sealed.is_some() && m.valid_to_ms.is_some_and(|t| t <= now) {
                            m.sealed = None;
                            lose_current_material(k, m.version);
                            changed = true;
                        }
                    }
                    Ok::<_, KmsError>(changed)
                });
            match changed {
                Ok(true) => {
                    self.materials.evict_key(&region, &key_id);
                    expired += 1;
                    tracing::info!(%region, %key_id, "imported key material expired and was deleted");
                }
                Ok(false) => {}
                // The key may have been deleted since it was listed; the others still expire.
                Err(e) => {
                    tracing::warn!(%region, %key_id, error = ?e, "imported key material not expired");
                }
            }
        }
        Ok(expired)
    }
}
