//! Asymmetric keys: GetPublicKey, Sign, Verify, DeriveSharedSecret, and the RSA-OAEP half of
//! Encrypt/Decrypt/ReEncrypt (used by `ops::crypto`).
//!
//! Every handler follows spec §6.3: validation, key resolution, authorization (then DryRun), key
//! state (§6.2), key usage, algorithm/spec compatibility, and only then cryptography.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use trent_crypto::{
    EncryptionAlgorithm, EncryptionContext, KeySpec, MessageType, SigningAlgorithm,
};
use trent_store::KeyRecord;

use crate::arn::key_arn;
use crate::authz::Check;
use crate::authz::context::request_alias;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::{Accept, Resolved};
use crate::keyspec::{KEY_AGREEMENT_ALGORITHMS, MESSAGE_TYPES, SIGNING_ALGORITHMS, algorithms};
use crate::keystate;
use crate::keystate::KeyStates;
use crate::materials::key_spec;
use crate::ops::validate_grant_tokens;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::Blob;

/// Largest message of Sign, Verify, GenerateMac and VerifyMac (`PlaintextType` in the model).
pub const MAX_MESSAGE: usize = 4096;
/// Largest signature or MAC a client may send (`CiphertextType`).
pub const MAX_SIGNATURE: usize = 6144;
/// Largest public key DeriveSharedSecret accepts (`PublicKeyType`).
const MAX_PUBLIC_KEY: usize = 8192;

pub(crate) fn validate_key_id(v: &mut Validator, key_id: &Option<String>) {
    v.key_id("keyId", key_id, true);
}

/// A name already checked against the model's enum; parsing cannot fail unless the enum lists
/// and the crypto crate disagree.
pub(crate) fn parse_name<T: FromStr>(name: &str) -> KmsResult<T> {
    T::from_str(name).map_err(|_| KmsError::internal(format!("unrecognised name {name:?}")))
}

pub(crate) fn incompatible(algorithm: &str, spec: KeySpec) -> KmsError {
    KmsError::new(
        ErrorCode::InvalidKeyUsage,
        format!("Algorithm {algorithm} is incompatible with key spec {spec}."),
    )
}

fn recipient_unsupported() -> KmsError {
    KmsError::unsupported(
        "Recipient (Nitro Enclaves attestation) is not supported by this version of Trent.",
    )
}

fn resolve(kms: &Kms, caller: &Call<'_>, key_id: Option<&str>) -> KmsResult<Resolved> {
    kms.resolve(caller, key_id.unwrap_or_default(), Accept::KeyOrAlias)
}

// ---- RSA-OAEP for Encrypt, Decrypt and ReEncrypt ------------------------------------------------

/// How a key encrypts: Trent's symmetric ciphertext blob, or raw RSA-OAEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Symmetric,
    Rsa {
        spec: KeySpec,
        algorithm: EncryptionAlgorithm,
    },
}

impl Scheme {
    pub(crate) fn algorithm_name(self) -> &'static str {
        match self {
            Scheme::Symmetric => EncryptionAlgorithm::SymmetricDefault.as_str(),
            Scheme::Rsa { algorithm, .. } => algorithm.as_str(),
        }
    }
}

/// Usage, algorithm and encryption-context checks of an encryption operation on `key` (after
/// the state check). `algorithm` is the request's `EncryptionAlgorithm` (default
/// SYMMETRIC_DEFAULT, which asymmetric keys reject). Asymmetric keys take no encryption context
/// (spec §9.5): ValidationException.
pub(crate) fn encryption_scheme(
    key: &KeyRecord,
    operation: &str,
    algorithm: Option<&str>,
    ec: &EncryptionContext,
) -> KmsResult<Scheme> {
    keystate::require_usage(key, "ENCRYPT_DECRYPT", operation)?;
    let spec = key_spec(key)?;
    let name = algorithm.unwrap_or(EncryptionAlgorithm::SymmetricDefault.as_str());
    let algorithm: EncryptionAlgorithm = parse_name(name)?;
    if !spec.encryption_algorithms().contains(&algorithm) {
        return Err(incompatible(name, spec));
    }
    match spec {
        KeySpec::SymmetricDefault => Ok(Scheme::Symmetric),
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            if !ec.is_empty() {
                return Err(KmsError::validation(format!(
                    "EncryptionContext is not supported with asymmetric KMS keys: {} has key spec {spec}.",
                    key_arn(&key.region, &key.account, &key.key_id)
                )));
            }
            Ok(Scheme::Rsa { spec, algorithm })
        }
        other => Err(KmsError::unsupported(format!(
            "{operation} with a {other} key is not supported by this version of Trent."
        ))),
    }
}

/// RSA-OAEP encryption with the key's current material, with KMS's plaintext limit and message.
pub(crate) fn rsa_seal(
    kms: &Kms,
    key: &KeyRecord,
    spec: KeySpec,
    algorithm: EncryptionAlgorithm,
    plaintext: &[u8],
) -> KmsResult<Vec<u8>> {
    let max = trent_crypto::rsa_max_plaintext_len(spec, algorithm)?;
    if plaintext.len() > max {
        return Err(KmsError::validation(format!(
            "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
        )));
    }
    let material = kms.current_material(key)?;
    Ok(trent_crypto::rsa_encrypt(
        &material.key,
        algorithm,
        plaintext,
    )?)
}

/// RSA-OAEP decryption with the key's (only) material. Any failure is InvalidCiphertext.
pub(crate) fn rsa_open(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> KmsResult<zeroize::Zeroizing<Vec<u8>>> {
    let material = kms.current_material(key)?;
    Ok(trent_crypto::rsa_decrypt(
        &material.key,
        algorithm,
        ciphertext,
    )?)
}

// ---- GetPublicKey --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyRequest {
    key_id: Option<String>,
    grant_tokens: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyResponse {
    key_id: String,
    public_key: Blob,
    customer_master_key_spec: String,
    key_spec: String,
    key_usage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_agreement_algorithms: Option<Vec<&'static str>>,
}

pub fn get_public_key(
    kms: &Kms,
    caller: &Call<'_>,
    r: GetPublicKeyRequest,
) -> KmsResult<GetPublicKeyResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, &r.key_id);
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    let resolved = resolve(kms, caller, r.key_id.as_deref())?;
    kms.authorize(
        caller,
        &[Check::key("kms:GetPublicKey", &resolved.key)
            .with_all(request_alias(resolved.via_alias.as_deref()))],
    )?;
    let key = &resolved.key;
    keystate::require(caller.key_states(), key)?;
    let spec = key_spec(key)?;
    if matches!(
        spec,
        KeySpec::SymmetricDefault
            | KeySpec::Hmac224
            | KeySpec::Hmac256
            | KeySpec::Hmac384
            | KeySpec::Hmac512
    ) {
        return Err(KmsError::unsupported(format!(
            "{} has key spec {spec}, which has no public key. GetPublicKey works only with asymmetric KMS keys.",
            resolved.arn()
        )));
    }
    let material = kms.current_material(key)?;
    let public_key = trent_crypto::public_key_spki_der(&material.key)?;
    let algorithms = algorithms(&key.key_spec, &key.key_usage);
    Ok(GetPublicKeyResponse {
        key_id: resolved.arn(),
        public_key: Blob(public_key),
        customer_master_key_spec: key.key_spec.clone(),
        key_spec: key.key_spec.clone(),
        key_usage: key.key_usage.clone(),
        encryption_algorithms: algorithms.encryption,
        signing_algorithms: algorithms.signing,
        key_agreement_algorithms: algorithms.key_agreement,
    })
}

// ---- Sign and Verify -----------------------------------------------------------------------------

/// Parameters shared by Sign and Verify after validation.
struct Signing {
    algorithm: SigningAlgorithm,
    message_type: MessageType,
}

fn validate_signing(
    v: &mut Validator,
    message: &Option<Blob>,
    message_type: Option<&str>,
    algorithm: &Option<String>,
) {
    v.required("message", message)
        .blob_length(
            "message",
            message.as_ref().map(|b| b.0.as_slice()),
            1,
            MAX_MESSAGE,
        )
        .one_of("messageType", message_type, MESSAGE_TYPES)
        .required("signingAlgorithm", algorithm)
        .one_of("signingAlgorithm", algorithm.as_deref(), SIGNING_ALGORITHMS);
}

fn signing_check<'a>(
    action: &'static str,
    resolved: &'a Resolved,
    algorithm: &str,
    message_type: &str,
) -> Check<'a> {
    Check::key(action, &resolved.key)
        .with("kms:SigningAlgorithm", algorithm)
        .with("kms:MessageType", message_type)
        .with_all(request_alias(resolved.via_alias.as_deref()))
}

/// State, usage and algorithm checks of Sign and Verify; returns the parsed parameters.
fn check_signing_use(
    states: KeyStates,
    key: &KeyRecord,
    operation: &str,
    algorithm: &str,
    message_type: &str,
) -> KmsResult<Signing> {
    keystate::require(states, key)?;
    keystate::require_usage(key, "SIGN_VERIFY", operation)?;
    let spec = key_spec(key)?;
    let algorithm: SigningAlgorithm = parse_name(algorithm)?;
    if !spec.signing_algorithms().contains(&algorithm) {
        return Err(incompatible(algorithm.as_str(), spec));
    }
    Ok(Signing {
        algorithm,
        message_type: parse_name(message_type)?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    key_id: Option<String>,
    message: Option<Blob>,
    message_type: Option<String>,
    grant_tokens: Option<Vec<String>>,
    signing_algorithm: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignResponse {
    key_id: String,
    signature: Blob,
    signing_algorithm: &'static str,
}

pub fn sign(kms: &Kms, caller: &Call<'_>, r: SignRequest) -> KmsResult<SignResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, &r.key_id);
    validate_signing(
        &mut v,
        &r.message,
        r.message_type.as_deref(),
        &r.signing_algorithm,
    );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    let algorithm = r.signing_algorithm.as_deref().unwrap_or_default();
    let message_type = r.message_type.as_deref().unwrap_or("RAW");
    let resolved = resolve(kms, caller, r.key_id.as_deref())?;
    kms.authorize_dry_run(
        caller,
        &[signing_check(
            "kms:Sign",
            &resolved,
            algorithm,
            message_type,
        )],
        r.dry_run,
    )?;
    let s = check_signing_use(
        caller.key_states(),
        &resolved.key,
        "Sign",
        algorithm,
        message_type,
    )?;
    let material = kms.current_material(&resolved.key)?;
    let message = r.message.unwrap_or_default();
    let signature = trent_crypto::sign(&material.key, s.algorithm, &message.0, s.message_type)?;
    Ok(SignResponse {
        key_id: resolved.arn(),
        signature: Blob(signature),
        signing_algorithm: s.algorithm.as_str(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    key_id: Option<String>,
    message: Option<Blob>,
    message_type: Option<String>,
    signature: Option<Blob>,
    signing_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResponse {
    key_id: String,
    signature_valid: bool,
    signing_algorithm: &'static str,
}

pub fn verify(kms: &Kms, caller: &Call<'_>, r: VerifyRequest) -> KmsResult<VerifyResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, &r.key_id);
    validate_signing(
        &mut v,
        &r.message,
        r.message_type.as_deref(),
        &r.signing_algorithm,
    );
    v.required("signature", &r.signature).blob_length(
        "signature",
        r.signature.as_ref().map(|b| b.0.as_slice()),
        1,
        MAX_SIGNATURE,
    );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    let algorithm = r.signing_algorithm.as_deref().unwrap_or_default();
    let message_type = r.message_type.as_deref().unwrap_or("RAW");
    let resolved = resolve(kms, caller, r.key_id.as_deref())?;
    kms.authorize_dry_run(
        caller,
        &[signing_check(
            "kms:Verify",
            &resolved,
            algorithm,
            message_type,
        )],
        r.dry_run,
    )?;
    let s = check_signing_use(
        caller.key_states(),
        &resolved.key,
        "Verify",
        algorithm,
        message_type,
    )?;
    let material = kms.current_material(&resolved.key)?;
    let valid = trent_crypto::verify(
        &material.key,
        s.algorithm,
        &r.message.unwrap_or_default().0,
        s.message_type,
        &r.signature.unwrap_or_default().0,
    )?;
    if !valid {
        // AWS sends this error without a message member.
        return Err(KmsError::bare(ErrorCode::KmsInvalidSignature));
    }
    Ok(VerifyResponse {
        key_id: resolved.arn(),
        signature_valid: true,
        signing_algorithm: s.algorithm.as_str(),
    })
}

// ---- DeriveSharedSecret --------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretRequest {
    key_id: Option<String>,
    key_agreement_algorithm: Option<String>,
    public_key: Option<Blob>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
    recipient: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretResponse {
    key_id: String,
    shared_secret: Blob,
    key_agreement_algorithm: &'static str,
    key_origin: String,
}

pub fn derive_shared_secret(
    kms: &Kms,
    caller: &Call<'_>,
    r: DeriveSharedSecretRequest,
) -> KmsResult<DeriveSharedSecretResponse> {
    let mut v = Validator::new();
    validate_key_id(&mut v, &r.key_id);
    v.required("keyAgreementAlgorithm", &r.key_agreement_algorithm)
        .one_of(
            "keyAgreementAlgorithm",
            r.key_agreement_algorithm.as_deref(),
            KEY_AGREEMENT_ALGORITHMS,
        )
        .required("publicKey", &r.public_key)
        .blob_length(
            "publicKey",
            r.public_key.as_ref().map(|b| b.0.as_slice()),
            1,
            MAX_PUBLIC_KEY,
        );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    if r.recipient.is_some() {
        return Err(recipient_unsupported());
    }
    let algorithm = r.key_agreement_algorithm.as_deref().unwrap_or_default();
    let resolved = resolve(kms, caller, r.key_id.as_deref())?;
    kms.authorize_dry_run(
        caller,
        &[Check::key("kms:DeriveSharedSecret", &resolved.key)
            .with("kms:KeyAgreementAlgorithm", algorithm)
            .with_all(request_alias(resolved.via_alias.as_deref()))],
        r.dry_run,
    )?;
    let key = &resolved.key;
    keystate::require(caller.key_states(), key)?;
    keystate::require_usage(key, "KEY_AGREEMENT", "DeriveSharedSecret")?;
    let spec = key_spec(key)?;
    if !spec.supports_key_agreement() {
        return Err(incompatible(algorithm, spec));
    }
    let material = kms.current_material(key)?;
    let secret =
        trent_crypto::derive_shared_secret(&material.key, &r.public_key.unwrap_or_default().0)?;
    Ok(DeriveSharedSecretResponse {
        key_id: resolved.arn(),
        shared_secret: Blob(secret.to_vec()),
        key_agreement_algorithm: "ECDH",
        key_origin: key.origin.clone(),
    })
}
