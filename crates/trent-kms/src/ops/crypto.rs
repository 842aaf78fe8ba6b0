//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom for symmetric
//! keys. The encryption context is bound to the ciphertext as AAD by `trent-crypto`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use trent_crypto::{EncryptionContext, SymmetricKey, blob};
use trent_store::KeyRecord;

use crate::authz::Check;
use crate::authz::context::{encryption_context, request_alias};
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::keyref::{Accept, Resolved};
use crate::keyspec::{DATA_KEY_SPECS, ENCRYPTION_ALGORITHMS};
use crate::keystate;
use crate::ops::validate_grant_tokens;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::Blob;

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// A key's material for one version, with that version's public ID.
struct Material {
    key: Arc<SymmetricKey>,
    material_id: String,
}

impl Kms {
    fn material_for(&self, key: &KeyRecord, version: u32) -> KmsResult<Option<Material>> {
        let Some(stored) = self.store.material(&key.region, &key.key_id, version)? else {
            return Ok(None);
        };
        let unsealed =
            self.materials
                .get_or_unseal(&self.root_key, &key.region, &key.key_id, &stored)?;
        Ok(Some(Material {
            key: unsealed,
            material_id: stored.material_id,
        }))
    }

    fn current_material(&self, key: &KeyRecord) -> KmsResult<Material> {
        self.material_for(key, key.current_material)?
            .ok_or_else(|| {
                KmsError::internal(format!("key {} has no current material", key.key_id))
            })
    }
}

/// State, usage and algorithm checks shared by every symmetric cryptographic operation.
fn check_symmetric_use(key: &KeyRecord, operation: &str, algorithm: Option<&str>) -> KmsResult<()> {
    keystate::require_usable(key)?;
    keystate::require_usage(key, "ENCRYPT_DECRYPT", operation)?;
    if key.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(KmsError::unsupported(format!(
            "{operation} with a {} key is not supported by this version of Trent.",
            key.key_spec
        )));
    }
    if let Some(alg) = algorithm
        && alg != SYMMETRIC_DEFAULT
    {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            format!(
                "Algorithm {alg} is incompatible with key spec {}.",
                key.key_spec
            ),
        ));
    }
    Ok(())
}

/// A cryptographic check with the condition keys its request contributes.
fn crypto_check<'a>(
    action: &'static str,
    resolved: &'a Resolved,
    ec: &EncryptionContext,
    algorithm: Option<&str>,
) -> Check<'a> {
    Check::key(action, &resolved.key)
        .with_all(encryption_context(ec))
        .with(
            "kms:EncryptionAlgorithm",
            algorithm.unwrap_or(SYMMETRIC_DEFAULT),
        )
        .with_all(request_alias(resolved.via_alias.as_deref()))
}

fn validate_key_id(v: &mut Validator, member: &str, key_id: &Option<String>, required: bool) {
    if required {
        v.required(member, key_id);
    }
    v.length(member, key_id.as_deref(), 1, 2048);
}

// ---- Encrypt -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    key_id: Option<String>,
    plaintext: Option<Blob>,
    encryption_context: Option<EncryptionContext>,
    grant_tokens: Option<Vec<String>>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    ciphertext_blob: Blob,
    key_id: String,
    encryption_algorithm: &'static str,
}

pub fn encrypt(kms: &Kms, caller: &Caller, r: EncryptRequest) -> KmsResult<EncryptResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, "keyId", &r.key_id, true);
    v.required("plaintext", &r.plaintext)
        .blob_length(
            "plaintext",
            r.plaintext.as_ref().map(|b| b.0.as_slice()),
            1,
            4096,
        )
        .one_of(
            "encryptionAlgorithm",
            r.encryption_algorithm.as_deref(),
            ENCRYPTION_ALGORITHMS,
        );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;

    let ec = r.encryption_context.unwrap_or_default();
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOrAlias,
    )?;
    kms.authorize_dry_run(
        caller,
        &[crypto_check(
            "kms:Encrypt",
            &resolved,
            &ec,
            r.encryption_algorithm.as_deref(),
        )],
        r.dry_run,
    )?;
    check_symmetric_use(&resolved.key, "Encrypt", r.encryption_algorithm.as_deref())?;
    let material = kms.current_material(&resolved.key)?;
    let ciphertext = blob::encrypt(
        &resolved.key.key_id,
        resolved.key.current_material,
        &material.key,
        &r.plaintext.unwrap_or_default().0,
        &ec,
    )?;
    Ok(EncryptResponse {
        ciphertext_blob: Blob(ciphertext),
        key_id: resolved.arn(),
        encryption_algorithm: SYMMETRIC_DEFAULT,
    })
}

// ---- Decrypt -------------------------------------------------------------------------------------

/// The source side of Decrypt and ReEncrypt: the key that made a ciphertext.
struct Source {
    resolved: Resolved,
    header: blob::BlobHeader,
}

/// Finds the key of a ciphertext: from `key_id` when given (checked against the ciphertext later,
/// after authorization), otherwise from the ciphertext's own header.
fn resolve_source(
    kms: &Kms,
    caller: &Caller,
    key_id: Option<&str>,
    ciphertext: &[u8],
) -> KmsResult<Source> {
    let named = key_id
        .map(|id| kms.resolve(caller, id, Accept::KeyOrAlias))
        .transpose()?;
    let header = blob::parse_header(ciphertext)?;
    let resolved = match named {
        Some(r) => r,
        None => Resolved {
            key: kms
                .load_key(&caller.region, &header.key_id)?
                .ok_or_else(KmsError::invalid_ciphertext)?,
            via_alias: None,
        },
    };
    Ok(Source { resolved, header })
}

/// After authorization and state checks: the named key must be the ciphertext's key.
fn open(
    kms: &Kms,
    source: &Source,
    ciphertext: &[u8],
    ec: &EncryptionContext,
) -> KmsResult<(zeroize::Zeroizing<Vec<u8>>, String)> {
    let key = &source.resolved.key;
    if source.header.key_id != key.key_id {
        return Err(KmsError::new(
            ErrorCode::IncorrectKey,
            "The key ID in the request does not identify a CMK that can perform this operation.",
        ));
    }
    let material = kms
        .material_for(key, source.header.material_version)?
        .ok_or_else(KmsError::invalid_ciphertext)?;
    let plaintext = blob::decrypt(ciphertext, &material.key, ec)?;
    Ok((plaintext, material.material_id))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    ciphertext_blob: Option<Blob>,
    encryption_context: Option<EncryptionContext>,
    grant_tokens: Option<Vec<String>>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
    dry_run_modifiers: Option<Vec<String>>,
    recipient: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    key_id: String,
    plaintext: Blob,
    encryption_algorithm: &'static str,
    key_material_id: String,
}

pub fn decrypt(kms: &Kms, caller: &Caller, r: DecryptRequest) -> KmsResult<DecryptResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, "keyId", &r.key_id, false);
    v.required("ciphertextBlob", &r.ciphertext_blob)
        .blob_length(
            "ciphertextBlob",
            r.ciphertext_blob.as_ref().map(|b| b.0.as_slice()),
            1,
            6144,
        )
        .one_of(
            "encryptionAlgorithm",
            r.encryption_algorithm.as_deref(),
            ENCRYPTION_ALGORITHMS,
        );
    for (i, m) in r
        .dry_run_modifiers
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        v.one_of(
            &format!("dryRunModifiers.{}.member", i + 1),
            Some(m),
            &["IGNORE_CIPHERTEXT"],
        );
    }
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    if r.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by this version of Trent.",
        ));
    }
    let ciphertext = r.ciphertext_blob.unwrap_or_default().0;
    let source = resolve_source(kms, caller, r.key_id.as_deref(), &ciphertext)?;
    let ec = r.encryption_context.unwrap_or_default();
    kms.authorize_dry_run(
        caller,
        &[crypto_check(
            "kms:Decrypt",
            &source.resolved,
            &ec,
            r.encryption_algorithm.as_deref(),
        )],
        r.dry_run,
    )?;
    check_symmetric_use(
        &source.resolved.key,
        "Decrypt",
        r.encryption_algorithm.as_deref(),
    )?;
    let (plaintext, material_id) = open(kms, &source, &ciphertext, &ec)?;
    Ok(DecryptResponse {
        key_id: source.resolved.arn(),
        plaintext: Blob(plaintext.to_vec()),
        encryption_algorithm: SYMMETRIC_DEFAULT,
        key_material_id: material_id,
    })
}

// ---- ReEncrypt -----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptRequest {
    ciphertext_blob: Option<Blob>,
    source_encryption_context: Option<EncryptionContext>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<EncryptionContext>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    ciphertext_blob: Blob,
    source_key_id: String,
    key_id: String,
    source_encryption_algorithm: &'static str,
    destination_encryption_algorithm: &'static str,
    source_key_material_id: String,
    destination_key_material_id: String,
}

pub fn re_encrypt(kms: &Kms, caller: &Caller, r: ReEncryptRequest) -> KmsResult<ReEncryptResponse> {
    let mut v = Validator::new();
    v.required("ciphertextBlob", &r.ciphertext_blob)
        .blob_length(
            "ciphertextBlob",
            r.ciphertext_blob.as_ref().map(|b| b.0.as_slice()),
            1,
            6144,
        );
    validate_key_id(&mut v, "sourceKeyId", &r.source_key_id, false);
    validate_key_id(&mut v, "destinationKeyId", &r.destination_key_id, true);
    v.one_of(
        "sourceEncryptionAlgorithm",
        r.source_encryption_algorithm.as_deref(),
        ENCRYPTION_ALGORITHMS,
    )
    .one_of(
        "destinationEncryptionAlgorithm",
        r.destination_encryption_algorithm.as_deref(),
        ENCRYPTION_ALGORITHMS,
    );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;

    let ciphertext = r.ciphertext_blob.unwrap_or_default().0;
    let source = resolve_source(kms, caller, r.source_key_id.as_deref(), &ciphertext)?;
    let destination = kms.resolve(
        caller,
        r.destination_key_id.as_deref().unwrap_or_default(),
        Accept::KeyOrAlias,
    )?;
    let source_ec = r.source_encryption_context.unwrap_or_default();
    let destination_ec = r.destination_encryption_context.unwrap_or_default();
    let same_key = source.header.key_id == destination.key.key_id;
    kms.authorize_dry_run(
        caller,
        &[
            crypto_check(
                "kms:ReEncryptFrom",
                &source.resolved,
                &source_ec,
                r.source_encryption_algorithm.as_deref(),
            )
            .with("kms:ReEncryptOnSameKey", same_key),
            crypto_check(
                "kms:ReEncryptTo",
                &destination,
                &destination_ec,
                r.destination_encryption_algorithm.as_deref(),
            )
            .with("kms:ReEncryptOnSameKey", same_key),
        ],
        r.dry_run,
    )?;
    check_symmetric_use(
        &source.resolved.key,
        "ReEncrypt",
        r.source_encryption_algorithm.as_deref(),
    )?;
    check_symmetric_use(
        &destination.key,
        "ReEncrypt",
        r.destination_encryption_algorithm.as_deref(),
    )?;
    let (plaintext, source_material_id) = open(kms, &source, &ciphertext, &source_ec)?;
    let material = kms.current_material(&destination.key)?;
    let new_ciphertext = blob::encrypt(
        &destination.key.key_id,
        destination.key.current_material,
        &material.key,
        &plaintext,
        &destination_ec,
    )?;
    Ok(ReEncryptResponse {
        ciphertext_blob: Blob(new_ciphertext),
        source_key_id: source.resolved.arn(),
        key_id: destination.arn(),
        source_encryption_algorithm: SYMMETRIC_DEFAULT,
        destination_encryption_algorithm: SYMMETRIC_DEFAULT,
        source_key_material_id: source_material_id,
        destination_key_material_id: material.material_id,
    })
}

// ---- GenerateDataKey -----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyRequest {
    key_id: Option<String>,
    encryption_context: Option<EncryptionContext>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
    recipient: Option<serde_json::Value>,
}

struct DataKey {
    plaintext: zeroize::Zeroizing<Vec<u8>>,
    ciphertext: Vec<u8>,
    key_arn: String,
    material_id: String,
}

fn generate_data_key_common(
    kms: &Kms,
    caller: &Caller,
    r: GenerateDataKeyRequest,
    action: &'static str,
    operation: &str,
) -> KmsResult<DataKey> {
    let mut v = Validator::new();
    validate_key_id(&mut v, "keyId", &r.key_id, true);
    v.range("numberOfBytes", r.number_of_bytes, 1, 1024).one_of(
        "keySpec",
        r.key_spec.as_deref(),
        DATA_KEY_SPECS,
    );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    let length = match (r.number_of_bytes, r.key_spec.as_deref()) {
        (Some(n), None) => n as usize,
        (None, Some("AES_128")) => 16,
        (None, Some(_)) => 32,
        _ => {
            return Err(KmsError::validation(
                "Please specify either number of bytes or key spec.",
            ));
        }
    };
    if r.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by this version of Trent.",
        ));
    }
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOrAlias,
    )?;
    let ec = r.encryption_context.unwrap_or_default();
    kms.authorize_dry_run(
        caller,
        &[crypto_check(action, &resolved, &ec, None)],
        r.dry_run,
    )?;
    check_symmetric_use(&resolved.key, operation, None)?;
    let material = kms.current_material(&resolved.key)?;
    let plaintext = zeroize::Zeroizing::new(trent_crypto::random_bytes(length)?);
    let ciphertext = blob::encrypt(
        &resolved.key.key_id,
        resolved.key.current_material,
        &material.key,
        &plaintext,
        &ec,
    )?;
    Ok(DataKey {
        plaintext,
        ciphertext,
        key_arn: resolved.arn(),
        material_id: material.material_id,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyResponse {
    ciphertext_blob: Blob,
    plaintext: Blob,
    key_id: String,
    key_material_id: String,
}

pub fn generate_data_key(
    kms: &Kms,
    caller: &Caller,
    r: GenerateDataKeyRequest,
) -> KmsResult<GenerateDataKeyResponse> {
    let dk = generate_data_key_common(kms, caller, r, "kms:GenerateDataKey", "GenerateDataKey")?;
    Ok(GenerateDataKeyResponse {
        ciphertext_blob: Blob(dk.ciphertext),
        plaintext: Blob(dk.plaintext.to_vec()),
        key_id: dk.key_arn,
        key_material_id: dk.material_id,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    ciphertext_blob: Blob,
    key_id: String,
    key_material_id: String,
}

pub fn generate_data_key_without_plaintext(
    kms: &Kms,
    caller: &Caller,
    r: GenerateDataKeyRequest,
) -> KmsResult<GenerateDataKeyWithoutPlaintextResponse> {
    let dk = generate_data_key_common(
        kms,
        caller,
        r,
        "kms:GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
    )?;
    Ok(GenerateDataKeyWithoutPlaintextResponse {
        ciphertext_blob: Blob(dk.ciphertext),
        key_id: dk.key_arn,
        key_material_id: dk.material_id,
    })
}

// ---- GenerateRandom ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomRequest {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomResponse {
    plaintext: Blob,
}

pub fn generate_random(
    kms: &Kms,
    caller: &Caller,
    r: GenerateRandomRequest,
) -> KmsResult<GenerateRandomResponse> {
    Validator::new()
        .range("numberOfBytes", r.number_of_bytes, 1, 1024)
        .length("customKeyStoreId", r.custom_key_store_id.as_deref(), 1, 64)
        .finish()?;
    let Some(n) = r.number_of_bytes else {
        return Err(KmsError::validation("NumberOfBytes is required."));
    };
    kms.authorize(caller, &[Check::account("kms:GenerateRandom")])?;
    if r.custom_key_store_id.is_some() || r.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Custom key stores and Recipient are not supported by this version of Trent.",
        ));
    }
    Ok(GenerateRandomResponse {
        plaintext: Blob(trent_crypto::random_bytes(n as usize)?),
    })
}
