//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh asymmetric key pair
//! whose PKCS#8 private key is encrypted under a symmetric KMS key, in the same ciphertext blob
//! (and with the same encryption-context binding) as Encrypt, so Decrypt opens it.

use serde::{Deserialize, Serialize};
use trent_crypto::{EncryptionContext, KeySpec, blob};

use crate::authz::Check;
use crate::authz::context::{encryption_context, request_alias};
use crate::call::Call;
use crate::error::{KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keyspec::DATA_KEY_PAIR_SPECS;
use crate::keystate;
use crate::ops::asymmetric::{Scheme, encryption_scheme, parse_name, validate_key_id};
use crate::ops::validate_grant_tokens;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::Blob;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairRequest {
    encryption_context: Option<EncryptionContext>,
    key_id: Option<String>,
    key_pair_spec: Option<String>,
    grant_tokens: Option<Vec<String>>,
    recipient: Option<serde_json::Value>,
    dry_run: Option<bool>,
}

struct DataKeyPair {
    private_plaintext: zeroize::Zeroizing<Vec<u8>>,
    private_ciphertext: Vec<u8>,
    public_key: Vec<u8>,
    key_arn: String,
    spec: KeySpec,
    material_id: String,
}

fn generate(
    kms: &Kms,
    caller: &Call<'_>,
    r: GenerateDataKeyPairRequest,
    action: &'static str,
    operation: &str,
) -> KmsResult<DataKeyPair> {
    let mut v = Validator::new();
    validate_key_id(&mut v, &r.key_id);
    v.required("keyPairSpec", &r.key_pair_spec).one_of(
        "keyPairSpec",
        r.key_pair_spec.as_deref(),
        DATA_KEY_PAIR_SPECS,
    );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    if r.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by this version of Trent.",
        ));
    }
    let spec_name = r.key_pair_spec.as_deref().unwrap_or_default();
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOrAlias,
    )?;
    let ec = r.encryption_context.unwrap_or_default();
    kms.authorize_dry_run(
        caller,
        &[Check::key(action, &resolved.key)
            .with_all(encryption_context(&ec))
            .with_grant_context(&ec)
            .with("kms:DataKeyPairSpec", spec_name)
            .with("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            .with_all(request_alias(resolved.via_alias.as_deref()))],
        r.dry_run,
    )?;
    let key = &resolved.key;
    keystate::require(caller.key_states(), key)?;
    if encryption_scheme(key, operation, None, &ec)? != Scheme::Symmetric {
        return Err(KmsError::internal(
            "data key pair under a non-symmetric key",
        ));
    }
    let spec: KeySpec = parse_name(spec_name)?;
    if spec == KeySpec::Sm2 {
        return Err(KmsError::unsupported(
            "KeyPairSpec SM2 is available only in AWS China Regions and is not supported by Trent.",
        ));
    }
    let trent_crypto::DataKeyPair {
        private_key_pkcs8_der,
        public_key_spki_der,
    } = trent_crypto::generate_data_key_pair(spec)?;
    let material = kms.current_material(key)?;
    let symmetric = material
        .key
        .as_symmetric()
        .ok_or_else(|| KmsError::internal("symmetric key without symmetric material"))?;
    let private_ciphertext = blob::encrypt(
        &key.key_id,
        key.current_material,
        symmetric,
        &private_key_pkcs8_der,
        &ec,
    )?;
    Ok(DataKeyPair {
        private_ciphertext,
        public_key: public_key_spki_der,
        private_plaintext: private_key_pkcs8_der,
        key_arn: resolved.arn(),
        spec,
        material_id: material.material_id.clone(),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairResponse {
    private_key_ciphertext_blob: Blob,
    private_key_plaintext: Blob,
    public_key: Blob,
    key_id: String,
    key_pair_spec: &'static str,
    key_material_id: String,
}

pub fn generate_data_key_pair(
    kms: &Kms,
    caller: &Call<'_>,
    r: GenerateDataKeyPairRequest,
) -> KmsResult<GenerateDataKeyPairResponse> {
    let pair = generate(
        kms,
        caller,
        r,
        "kms:GenerateDataKeyPair",
        "GenerateDataKeyPair",
    )?;
    Ok(GenerateDataKeyPairResponse {
        private_key_ciphertext_blob: Blob(pair.private_ciphertext),
        private_key_plaintext: Blob(pair.private_plaintext.to_vec()),
        public_key: Blob(pair.public_key),
        key_id: pair.key_arn,
        key_pair_spec: pair.spec.as_str(),
        key_material_id: pair.material_id,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairWithoutPlaintextResponse {
    private_key_ciphertext_blob: Blob,
    public_key: Blob,
    key_id: String,
    key_pair_spec: &'static str,
    key_material_id: String,
}

pub fn generate_data_key_pair_without_plaintext(
    kms: &Kms,
    caller: &Call<'_>,
    r: GenerateDataKeyPairRequest,
) -> KmsResult<GenerateDataKeyPairWithoutPlaintextResponse> {
    let pair = generate(
        kms,
        caller,
        r,
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyPairWithoutPlaintext",
    )?;
    Ok(GenerateDataKeyPairWithoutPlaintextResponse {
        private_key_ciphertext_blob: Blob(pair.private_ciphertext),
        public_key: Blob(pair.public_key),
        key_id: pair.key_arn,
        key_pair_spec: pair.spec.as_str(),
        key_material_id: pair.material_id,
    })
}
