//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.
//! Symmetric keys: the encryption context is bound to the ciphertext as AAD by `trent-crypto`.
//! RSA keys (ENCRYPT_DECRYPT): raw RSA-OAEP ciphertext, interoperable with offline encryption
//! under the public key; no encryption context (spec §9.5).

use serde::{Deserialize, Serialize};
use trent_crypto::{EncryptionContext, blob};
use trent_store::KeyRecord;

use crate::authz::Check;
use crate::authz::context::{encryption_context, request_alias};
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::{Accept, Resolved};
use crate::keyspec::{DATA_KEY_SPECS, ENCRYPTION_ALGORITHMS};
use crate::keystate;
use crate::keystate::KeyStates;
use crate::materials::Material;
use crate::ops::asymmetric::{Scheme, encryption_scheme, rsa_open, rsa_seal};
use crate::ops::validate_grant_tokens;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::Blob;

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// The AES key of symmetric material.
fn symmetric(material: &Material) -> KmsResult<&trent_crypto::SymmetricKey> {
    material
        .key
        .as_symmetric()
        .ok_or_else(|| KmsError::internal("SYMMETRIC_DEFAULT key without symmetric material"))
}

/// State, usage, algorithm and encryption-context checks shared by every encryption operation.
fn check_encryption_use(
    states: KeyStates,
    key: &KeyRecord,
    operation: &str,
    algorithm: Option<&str>,
    ec: &EncryptionContext,
) -> KmsResult<Scheme> {
    keystate::require(states, key)?;
    encryption_scheme(key, operation, algorithm, ec)
}

/// Encrypts under the key's current material: a ciphertext blob (symmetric) or raw RSA-OAEP.
/// Returns the ciphertext and, for symmetric keys, the material ID.
fn seal(
    kms: &Kms,
    key: &KeyRecord,
    scheme: Scheme,
    plaintext: &[u8],
    ec: &EncryptionContext,
) -> KmsResult<(Vec<u8>, Option<String>)> {
    match scheme {
        Scheme::Symmetric => {
            let material = kms.current_material(key)?;
            let ciphertext = blob::encrypt(
                &key.key_id,
                key.current_material,
                symmetric(&material)?,
                plaintext,
                ec,
            )?;
            Ok((ciphertext, Some(material.material_id.clone())))
        }
        Scheme::Rsa { spec, algorithm } => {
            Ok((rsa_seal(kms, key, spec, algorithm, plaintext)?, None))
        }
    }
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
        .with_grant_context(ec)
        .with(
            "kms:EncryptionAlgorithm",
            algorithm.unwrap_or(SYMMETRIC_DEFAULT),
        )
        .with_all(request_alias(resolved.via_alias.as_deref()))
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

pub fn encrypt(kms: &Kms, caller: &Call<'_>, r: EncryptRequest) -> KmsResult<EncryptResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
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
        Accept::CreatingManaged,
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
    let scheme = check_encryption_use(
        caller.key_states(),
        &resolved.key,
        "Encrypt",
        r.encryption_algorithm.as_deref(),
        &ec,
    )?;
    // Only now, when nothing else can refuse the request, is a first-used AWS managed key stored.
    let resolved = kms.store_prepared(resolved)?;
    let (ciphertext, _) = seal(
        kms,
        &resolved.key,
        scheme,
        &r.plaintext.unwrap_or_default().0,
        &ec,
    )?;
    Ok(EncryptResponse {
        ciphertext_blob: Blob(ciphertext),
        key_id: resolved.arn(),
        encryption_algorithm: scheme.algorithm_name(),
    })
}

// ---- Decrypt -------------------------------------------------------------------------------------

/// The source side of Decrypt and ReEncrypt: the key that made a ciphertext.
struct Source {
    resolved: Resolved,
    /// The header of a symmetric ciphertext blob; `None` when the ciphertext is not one (an RSA
    /// ciphertext, or garbage), which is only possible when the request named the key.
    header: Option<blob::BlobHeader>,
}

/// Finds the key of a ciphertext: from `key_id` when given (checked against the ciphertext later,
/// after authorization), otherwise from the header of a symmetric ciphertext blob. Asymmetric
/// ciphertexts carry no key ID: without `key_id` they are InvalidCiphertext.
fn resolve_source(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: Option<&str>,
    ciphertext: &[u8],
) -> KmsResult<Source> {
    let named = key_id
        .map(|id| kms.resolve(caller, id, Accept::KeyOrAlias))
        .transpose()?;
    let header = blob::parse_header(ciphertext).ok();
    let resolved = match (named, &header) {
        (Some(r), _) => r,
        (None, Some(header)) => Resolved::stored(
            kms.load_key(&caller.region, &header.key_id)?
                .ok_or_else(KmsError::invalid_ciphertext)?,
        ),
        (None, None) => return Err(KmsError::invalid_ciphertext()),
    };
    Ok(Source { resolved, header })
}

fn incorrect_key() -> KmsError {
    KmsError::new(
        ErrorCode::IncorrectKey,
        "The key ID in the request does not identify a CMK that can perform this operation.",
    )
}

/// After authorization: state, usage and algorithm checks of the source key. A named key that
/// cannot decrypt at all, given a symmetric ciphertext of another key, is IncorrectKeyException
/// (as AWS answers an HMAC key ID with a symmetric ciphertext).
fn check_decryption_use(
    states: KeyStates,
    source: &Source,
    operation: &str,
    algorithm: Option<&str>,
    ec: &EncryptionContext,
) -> KmsResult<Scheme> {
    let key = &source.resolved.key;
    keystate::require(states, key)?;
    if key.key_usage != "ENCRYPT_DECRYPT"
        && source
            .header
            .as_ref()
            .is_some_and(|h| h.key_id != key.key_id)
    {
        return Err(incorrect_key());
    }
    encryption_scheme(key, operation, algorithm, ec)
}

/// Decrypts with the source key. Symmetric: the named key must be the ciphertext's key, and the
/// material is the version the blob names. Returns the plaintext and, for symmetric keys, the
/// material ID.
fn open(
    kms: &Kms,
    source: &Source,
    scheme: Scheme,
    ciphertext: &[u8],
    ec: &EncryptionContext,
) -> KmsResult<(zeroize::Zeroizing<Vec<u8>>, Option<String>)> {
    let key = &source.resolved.key;
    match scheme {
        Scheme::Symmetric => {
            let header = source
                .header
                .as_ref()
                .ok_or_else(KmsError::invalid_ciphertext)?;
            if header.key_id != key.key_id {
                return Err(incorrect_key());
            }
            let material = kms
                .material_for(key, header.material_version)?
                .ok_or_else(KmsError::invalid_ciphertext)?;
            let plaintext = blob::decrypt(ciphertext, symmetric(&material)?, ec)?;
            Ok((plaintext, Some(material.material_id.clone())))
        }
        Scheme::Rsa { algorithm, .. } => Ok((rsa_open(kms, key, algorithm, ciphertext)?, None)),
    }
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
    /// Symmetric keys only, as AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_id: Option<String>,
}

pub fn decrypt(kms: &Kms, caller: &Call<'_>, r: DecryptRequest) -> KmsResult<DecryptResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, false);
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
    let scheme = check_decryption_use(
        caller.key_states(),
        &source,
        "Decrypt",
        r.encryption_algorithm.as_deref(),
        &ec,
    )?;
    let (plaintext, material_id) = open(kms, &source, scheme, &ciphertext, &ec)?;
    Ok(DecryptResponse {
        key_id: source.resolved.arn(),
        plaintext: Blob(plaintext.to_vec()),
        encryption_algorithm: scheme.algorithm_name(),
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
    /// Present only when the source key is symmetric, as AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    source_key_material_id: Option<String>,
    /// Present only when the destination key is symmetric, as AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_key_material_id: Option<String>,
}

pub fn re_encrypt(
    kms: &Kms,
    caller: &Call<'_>,
    r: ReEncryptRequest,
) -> KmsResult<ReEncryptResponse> {
    let mut v = Validator::new();
    v.required("ciphertextBlob", &r.ciphertext_blob)
        .blob_length(
            "ciphertextBlob",
            r.ciphertext_blob.as_ref().map(|b| b.0.as_slice()),
            1,
            6144,
        );
    v.key_id("sourceKeyId", &r.source_key_id, false);
    v.key_id("destinationKeyId", &r.destination_key_id, true);
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
        Accept::CreatingManaged,
    )?;
    let source_ec = r.source_encryption_context.unwrap_or_default();
    let destination_ec = r.destination_encryption_context.unwrap_or_default();
    let same_key = source.resolved.key.key_id == destination.key.key_id;
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
    let source_scheme = check_decryption_use(
        caller.key_states(),
        &source,
        "ReEncrypt",
        r.source_encryption_algorithm.as_deref(),
        &source_ec,
    )?;
    let destination_scheme = check_encryption_use(
        caller.key_states(),
        &destination.key,
        "ReEncrypt",
        r.destination_encryption_algorithm.as_deref(),
        &destination_ec,
    )?;
    let (plaintext, source_material_id) =
        open(kms, &source, source_scheme, &ciphertext, &source_ec)?;
    let destination = kms.store_prepared(destination)?;
    let (new_ciphertext, destination_material_id) = seal(
        kms,
        &destination.key,
        destination_scheme,
        &plaintext,
        &destination_ec,
    )?;
    Ok(ReEncryptResponse {
        ciphertext_blob: Blob(new_ciphertext),
        source_key_id: source.resolved.arn(),
        key_id: destination.arn(),
        source_encryption_algorithm: source_scheme.algorithm_name(),
        destination_encryption_algorithm: destination_scheme.algorithm_name(),
        source_key_material_id: source_material_id,
        destination_key_material_id: destination_material_id,
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
    caller: &Call<'_>,
    r: GenerateDataKeyRequest,
    action: &'static str,
    operation: &str,
) -> KmsResult<DataKey> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
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
        Accept::CreatingManaged,
    )?;
    let ec = r.encryption_context.unwrap_or_default();
    kms.authorize_dry_run(
        caller,
        &[crypto_check(action, &resolved, &ec, None)],
        r.dry_run,
    )?;
    // Data keys are always encrypted with SYMMETRIC_DEFAULT: an asymmetric key is
    // InvalidKeyUsage ("Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.").
    let scheme = check_encryption_use(caller.key_states(), &resolved.key, operation, None, &ec)?;
    if scheme != Scheme::Symmetric {
        return Err(KmsError::internal("data key under a non-symmetric key"));
    }
    let resolved = kms.store_prepared(resolved)?;
    let plaintext = zeroize::Zeroizing::new(trent_crypto::random_bytes(length)?);
    let (ciphertext, material_id) = seal(kms, &resolved.key, scheme, &plaintext, &ec)?;
    Ok(DataKey {
        plaintext,
        ciphertext,
        key_arn: resolved.arn(),
        material_id: material_id.unwrap_or_default(),
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
    caller: &Call<'_>,
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
    caller: &Call<'_>,
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
    caller: &Call<'_>,
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
