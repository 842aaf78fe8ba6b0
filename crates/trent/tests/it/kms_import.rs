//! Imported key material over the wire with aws-sdk-kms: keys of EXTERNAL origin in
//! PendingImport, GetParametersForImport, ImportKeyMaterial (wrapping done here with the RustCrypto
//! `rsa` crate, as a client would), every refusal leaving the key and the token as they were,
//! re-import of the same material after DeleteImportedKeyMaterial and after expiry (the server
//! restarted with its clock moved on), on-demand rotation of imported material, and HMAC and ECC
//! material used with the same bytes outside Trent. RSA_AES_KEY_WRAP and the OpenSSL and Python
//! `cryptography` ways of wrapping are in tests/e2e/import_key_material.{sh,py}.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, ImportState, ImportType, IncludeKeyMaterial,
    KeyMaterialState, KeyState, MacAlgorithmSpec, OriginType, SigningAlgorithmSpec,
    WrappingKeySpec,
};
use rsa::pkcs8::DecodePublicKey;

use crate::support::kms::*;
use crate::support::{Server, err};

const DAY: f64 = 86_400.0;

async fn external_key(kms: &Client, spec: &str, usage: &str) -> String {
    kms.create_key()
        .origin(OriginType::External)
        .key_spec(spec.into())
        .key_usage(usage.into())
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// Import parameters: (token, public key) for RSAES_OAEP_SHA_256 with an RSA_2048 key.
pub(crate) async fn parameters(kms: &Client, key: &str) -> (Blob, rsa::RsaPublicKey) {
    let p = kms
        .get_parameters_for_import()
        .key_id(key)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap();
    let public = rsa::RsaPublicKey::from_public_key_der(p.public_key().unwrap().as_ref()).unwrap();
    (p.import_token().unwrap().clone(), public)
}

pub(crate) fn wrap(public: &rsa::RsaPublicKey, material: &[u8]) -> Blob {
    let wrapped = public
        .encrypt(
            &mut rand::thread_rng(),
            rsa::Oaep::new::<sha2::Sha256>(),
            material,
        )
        .unwrap();
    Blob::new(wrapped)
}

/// Fresh parameters, `material` wrapped with them and imported, never expiring: the
/// KeyMaterialId, or the error.
pub(crate) async fn try_import(
    kms: &Client,
    key: &str,
    material: &[u8],
    import_type: Option<ImportType>,
    description: Option<&str>,
) -> Result<Option<String>, (String, String)> {
    let (token, public) = parameters(kms, key).await;
    kms.import_key_material()
        .key_id(key)
        .import_token(token)
        .encrypted_key_material(wrap(&public, material))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .set_import_type(import_type)
        .set_key_material_description(description.map(str::to_string))
        .send()
        .await
        .map(|out| out.key_material_id().map(str::to_string))
        .map_err(err)
}

async fn import(
    kms: &Client,
    key: &str,
    material: &[u8],
    import_type: Option<ImportType>,
) -> Option<String> {
    try_import(kms, key, material, import_type, None)
        .await
        .unwrap()
}

async fn decrypt(kms: &Client, ciphertext: &Blob) -> Result<Vec<u8>, (String, String)> {
    kms.decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .map(|o| o.plaintext().unwrap().as_ref().to_vec())
        .map_err(err)
}

pub(crate) fn random(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut out = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_waits_for_its_material_and_parameters_are_checked() {
    let s = Server::start();
    let kms = s.kms();
    let key = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let m = describe(&kms, &key).await;
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(m.origin(), Some(&OriginType::External));
    assert!(!m.enabled());
    assert_eq!(m.current_key_material_id(), None);
    assert_eq!(m.expiration_model(), None);
    let arn = key_arn(&key);
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&key)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        expected(
            "KMSInvalidStateException",
            &format!("{arn} is pending import.")
        )
    );
    assert_eq!(
        failure(kms.enable_key().key_id(&key).send().await).0,
        "KMSInvalidStateException"
    );

    // Parameters: an RSA public key of the size asked for, valid for 24 hours.
    for (spec, bits) in [
        (WrappingKeySpec::Rsa2048, 2048),
        (WrappingKeySpec::Rsa3072, 3072),
        (WrappingKeySpec::Rsa4096, 4096),
    ] {
        let before = now_secs();
        let p = kms
            .get_parameters_for_import()
            .key_id(&arn)
            .wrapping_algorithm(AlgorithmSpec::RsaAesKeyWrapSha256)
            .wrapping_key_spec(spec)
            .send()
            .await
            .unwrap();
        assert_eq!(p.key_id(), Some(arn.as_str()));
        let public =
            rsa::RsaPublicKey::from_public_key_der(p.public_key().unwrap().as_ref()).unwrap();
        use rsa::traits::PublicKeyParts;
        assert_eq!(public.n().bits(), bits);
        let valid_to = p.parameters_valid_to().unwrap().as_secs_f64();
        assert!((valid_to - before - DAY).abs() < 60.0, "{valid_to}");
        assert!(!p.import_token().unwrap().as_ref().is_empty());
    }
    let refused = |alg: AlgorithmSpec, spec: WrappingKeySpec| {
        kms.get_parameters_for_import()
            .key_id(&key)
            .wrapping_algorithm(alg)
            .wrapping_key_spec(spec)
            .send()
    };
    assert_eq!(
        failure(refused(AlgorithmSpec::RsaesPkcs1V15, WrappingKeySpec::Rsa2048).await).0,
        "UnsupportedOperationException"
    );
    assert_eq!(
        failure(refused(AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Sm2).await).0,
        "UnsupportedOperationException"
    );
    // Keys whose material KMS made take no import.
    let generated = new_key(&kms).await.key_id().to_string();
    assert_eq!(
        failure(refused_for(&kms, &generated).await),
        expected(
            "UnsupportedOperationException",
            &format!(
                "{} origin is AWS_KMS which is not valid for this operation.",
                key_arn(&generated)
            )
        )
    );
    assert_eq!(
        failure(
            kms.delete_imported_key_material()
                .key_id(&generated)
                .send()
                .await
        )
        .0,
        "UnsupportedOperationException"
    );
    // Nothing imported yet: nothing to delete.
    assert_eq!(
        failure(kms.delete_imported_key_material().key_id(&key).send().await).0,
        "KMSInvalidStateException"
    );
    // Automatic rotation is for generated material only.
    assert_eq!(
        failure(kms.enable_key_rotation().key_id(&key).send().await).0,
        "UnsupportedOperationException"
    );
}

async fn refused_for(
    kms: &Client,
    key: &str,
) -> Result<
    aws_sdk_kms::operation::get_parameters_for_import::GetParametersForImportOutput,
    aws_sdk_kms::error::SdkError<
        aws_sdk_kms::operation::get_parameters_for_import::GetParametersForImportError,
    >,
> {
    kms.get_parameters_for_import()
        .key_id(key)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_imports_change_nothing_and_the_token_stays_usable() {
    let s = Server::start();
    let kms = s.kms();
    let key = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let other = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let (token, public) = parameters(&kms, &key).await;
    let (other_token, other_public) = parameters(&kms, &other).await;
    let material = random(32);
    let attempt =
        |token: &Blob, wrapped: Blob, model: ExpirationModelType, valid_to: Option<f64>| {
            kms.import_key_material()
                .key_id(&key)
                .import_token(token.clone())
                .encrypted_key_material(wrapped)
                .expiration_model(model)
                .set_valid_to(valid_to.map(DateTime::from_secs_f64))
                .send()
        };
    let never = ExpirationModelType::KeyMaterialDoesNotExpire;
    let expires = ExpirationModelType::KeyMaterialExpires;
    let before = snapshot(&kms).await;
    // Wrapped under another key's public key.
    assert_eq!(
        failure(attempt(&token, wrap(&other_public, &material), never.clone(), None).await).0,
        "InvalidCiphertextException"
    );
    // Another key's token, and a token that is not one.
    assert_eq!(
        failure(
            attempt(
                &other_token,
                wrap(&other_public, &material),
                never.clone(),
                None
            )
            .await
        )
        .0,
        "InvalidImportTokenException"
    );
    assert_eq!(
        failure(
            attempt(
                &Blob::new(random(200)),
                wrap(&public, &material),
                never.clone(),
                None
            )
            .await
        )
        .0,
        "InvalidImportTokenException"
    );
    // Material of the wrong size for a symmetric key.
    assert_eq!(
        failure(attempt(&token, wrap(&public, &random(16)), never.clone(), None).await),
        expected(
            "IncorrectKeyMaterialException",
            "The key material is not valid for a KMS key with key spec SYMMETRIC_DEFAULT."
        )
    );
    // Expiry: required when the material expires (the default), refused when it does not, in
    // the future and at most 365 days ahead.
    let now = now_secs();
    for (model, valid_to) in [
        (expires.clone(), None),
        (never.clone(), Some(now + DAY)),
        (expires.clone(), Some(now - 60.0)),
        (expires.clone(), Some(now + 366.0 * DAY)),
    ] {
        assert_eq!(
            failure(attempt(&token, wrap(&public, &material), model, valid_to).await).0,
            "ValidationException"
        );
    }
    let omitted = kms
        .import_key_material()
        .key_id(&key)
        .import_token(token.clone())
        .encrypted_key_material(wrap(&public, &material))
        .send()
        .await;
    assert_eq!(failure(omitted).0, "ValidationException");
    assert_eq!(snapshot(&kms).await, before);

    // The same token still imports.
    let valid_to = (now + 30.0 * DAY).floor();
    let out = attempt(&token, wrap(&public, &material), expires, Some(valid_to))
        .await
        .unwrap();
    let material_id = out.key_material_id().unwrap().to_string();
    assert_eq!(out.key_id(), Some(key_arn(&key).as_str()));
    assert_eq!(material_id.len(), 64);
    assert!(material_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let m = describe(&kms, &key).await;
    assert_eq!(m.key_state(), Some(&KeyState::Enabled));
    assert_eq!(m.current_key_material_id(), Some(material_id.as_str()));
    assert_eq!(
        m.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialExpires)
    );
    assert_eq!(m.valid_to().unwrap().as_secs_f64(), valid_to);
    let ciphertext = encrypt(&kms, &key, b"imported").await;
    assert_eq!(decrypt(&kms, &ciphertext).await.unwrap(), b"imported");

    // Different material is not this key's; the same material is not new.
    let other_material = random(32);
    let different = try_import(
        &kms,
        &key,
        &other_material,
        Some(ImportType::ExistingKeyMaterial),
        None,
    );
    assert_eq!(
        different.await.unwrap_err().0,
        "IncorrectKeyMaterialException"
    );
    let same_as_new = try_import(
        &kms,
        &key,
        &material,
        Some(ImportType::NewKeyMaterial),
        None,
    );
    assert_eq!(
        same_as_new.await.unwrap_err().0,
        "IncorrectKeyMaterialException"
    );
    assert_eq!(
        describe(&kms, &key).await.current_key_material_id(),
        Some(material_id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_and_expired_material_comes_back_with_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_in(&data, None);
    let kms = s.kms();
    let key = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let material = random(32);
    let id = import(&kms, &key, &material, None).await.unwrap();
    let ciphertext = encrypt(&kms, &key, b"kept").await;

    let deleted = kms
        .delete_imported_key_material()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.key_id(), Some(key_arn(&key).as_str()));
    assert_eq!(deleted.key_material_id(), Some(id.as_str()));
    let m = describe(&kms, &key).await;
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(m.expiration_model(), None);
    assert_eq!(
        decrypt(&kms, &ciphertext).await.unwrap_err().0,
        "KMSInvalidStateException"
    );
    // Twice: nothing left to delete.
    assert_eq!(
        failure(kms.delete_imported_key_material().key_id(&key).send().await).0,
        "KMSInvalidStateException"
    );
    // Other bytes do not bring it back.
    let other = try_import(&kms, &key, &random(32), None, None).await;
    assert_eq!(other.unwrap_err().0, "IncorrectKeyMaterialException");
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::PendingImport)
    );

    // The same bytes do (ImportType defaults to EXISTING_KEY_MATERIAL now), with the same ID,
    // and the earlier ciphertext decrypts again.
    assert_eq!(import(&kms, &key, &material, None).await, Some(id.clone()));
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&kms, &ciphertext).await.unwrap(), b"kept");

    // A new key given the same bytes gets its own material ID and cannot read the first key's
    // ciphertexts: the ciphertext names its key.
    let twin = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let twin_id = import(&kms, &twin, &material, None).await.unwrap();
    assert_ne!(twin_id, id);
    let wrong = kms
        .decrypt()
        .key_id(&twin)
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await;
    assert_eq!(failure(wrong).0, "IncorrectKeyException");

    // Expiry: imported to expire in 2 days; the server restarted 3 days on has deleted it.
    let (token, public) = parameters(&kms, &key).await;
    kms.import_key_material()
        .key_id(&key)
        .import_token(token)
        .encrypted_key_material(wrap(&public, &material))
        .expiration_model(ExpirationModelType::KeyMaterialExpires)
        .valid_to(DateTime::from_secs_f64(now_secs() + 2.0 * DAY))
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&kms, &key).await.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialExpires)
    );
    s.stop();
    let offset = (3.0 * DAY) as i64;
    let s = Server::start_in_with_args(&data, None, &["--test-clock-offset", &offset.to_string()]);
    let kms = s.kms();
    let m = describe(&kms, &key).await;
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(
        decrypt(&kms, &ciphertext).await.unwrap_err().0,
        "KMSInvalidStateException"
    );
    // The twin, whose material does not expire, is untouched.
    assert_eq!(
        describe(&kms, &twin).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(import(&kms, &key, &material, None).await, Some(id));
    assert_eq!(decrypt(&kms, &ciphertext).await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_material_rotates_on_demand() {
    let s = Server::start();
    let kms = s.kms();
    let key = external_key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let first = import(&kms, &key, &random(32), None).await.unwrap();
    let before = encrypt(&kms, &key, b"before").await;
    // No new material imported: nothing to rotate to.
    assert_eq!(
        failure(kms.rotate_key_on_demand().key_id(&key).send().await).0,
        "KMSInvalidStateException"
    );

    let second = try_import(
        &kms,
        &key,
        &random(32),
        Some(ImportType::NewKeyMaterial),
        Some("second batch"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_ne!(second, first);
    // Pending rotation: not current yet, and only one at a time.
    assert_eq!(
        describe(&kms, &key).await.current_key_material_id(),
        Some(first.as_str())
    );
    let third_material = random(32);
    let third = try_import(
        &kms,
        &key,
        &third_material,
        Some(ImportType::NewKeyMaterial),
        None,
    );
    assert_eq!(third.await.unwrap_err().0, "KMSInvalidStateException");
    let listed = kms
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap();
    let entries = listed.rotations();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].key_material_id(), Some(first.as_str()));
    assert_eq!(
        entries[0].key_material_state(),
        Some(&KeyMaterialState::Current)
    );
    assert_eq!(entries[0].import_state(), Some(&ImportState::Imported));
    assert_eq!(
        entries[0].expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert_eq!(entries[1].key_material_id(), Some(second.as_str()));
    assert_eq!(
        entries[1].key_material_state(),
        Some(&KeyMaterialState::PendingRotation)
    );
    assert_eq!(entries[1].key_material_description(), Some("second batch"));
    assert_eq!(entries[1].rotation_date(), None);

    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&kms, &key).await.current_key_material_id(),
        Some(second.as_str())
    );
    let listed = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert_eq!(listed.rotations().len(), 1);
    let rotation = &listed.rotations()[0];
    assert_eq!(rotation.key_material_id(), Some(second.as_str()));
    assert_eq!(
        rotation.key_material_state(),
        Some(&KeyMaterialState::Current)
    );
    assert!(rotation.rotation_date().is_some());
    // Both generations decrypt; ReEncrypt moves the old one to the new material.
    let after = encrypt(&kms, &key, b"after").await;
    assert_eq!(decrypt(&kms, &before).await.unwrap(), b"before");
    assert_eq!(decrypt(&kms, &after).await.unwrap(), b"after");
    let moved = kms
        .re_encrypt()
        .ciphertext_blob(before)
        .destination_key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        decrypt(&kms, moved.ciphertext_blob().unwrap())
            .await
            .unwrap(),
        b"before"
    );
    // Deleting the non-current material leaves the key usable; its ciphertexts wait.
    let deleted = kms
        .delete_imported_key_material()
        .key_id(&key)
        .key_material_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.key_material_id(), Some(first.as_str()));
    assert_eq!(
        describe(&kms, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&kms, &after).await.unwrap(), b"after");
    assert_eq!(
        failure(
            kms.delete_imported_key_material()
                .key_id(&key)
                .key_material_id("0".repeat(64))
                .send()
                .await
        )
        .0,
        "NotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hmac_and_ecc_material_work_with_the_same_bytes_outside_trent() {
    use hmac::Mac as _;
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::EncodePrivateKey as _;
    let s = Server::start();
    let kms = s.kms();

    // HMAC_256: the MAC Trent makes is the MAC of the imported key.
    let key = external_key(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let secret = random(48);
    // KeyMaterialId is a symmetric encryption key's member only.
    assert_eq!(import(&kms, &key, &secret, None).await, None);
    let mac = kms
        .generate_mac()
        .key_id(&key)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new("message"))
        .send()
        .await
        .unwrap();
    let mut expected_mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
    expected_mac.update(b"message");
    assert_eq!(
        mac.mac().unwrap().as_ref(),
        expected_mac.finalize().into_bytes().as_slice()
    );
    assert_eq!(describe(&kms, &key).await.current_key_material_id(), None);
    // ImportType is for symmetric encryption keys only.
    let typed = try_import(
        &kms,
        &key,
        &secret,
        Some(ImportType::ExistingKeyMaterial),
        None,
    );
    assert_eq!(typed.await.unwrap_err().0, "ValidationException");

    // ECC_NIST_P256 in PKCS#8: Trent's signatures verify with the key's own public half, and
    // GetPublicKey gives that public half.
    let key = external_key(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let signing = p256::ecdsa::SigningKey::random(&mut rand::thread_rng());
    let pkcs8 = p256::SecretKey::from(signing.clone())
        .to_pkcs8_der()
        .unwrap();
    import(&kms, &key, pkcs8.as_bytes(), None).await;
    let signature = kms
        .sign()
        .key_id(&key)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .message(Blob::new("signed"))
        .send()
        .await
        .unwrap();
    let sig = p256::ecdsa::Signature::from_der(signature.signature().unwrap().as_ref()).unwrap();
    signing.verifying_key().verify(b"signed", &sig).unwrap();
    let public = kms.get_public_key().key_id(&key).send().await.unwrap();
    use p256::pkcs8::DecodePublicKey as _;
    assert_eq!(
        p256::PublicKey::from_public_key_der(public.public_key().unwrap().as_ref()).unwrap(),
        p256::PublicKey::from(signing.verifying_key())
    );
    // A P-384 key is not P-256 material.
    let other = p384::SecretKey::random(&mut rand::thread_rng());
    let wrong = other.to_pkcs8_der().unwrap();
    let key2 = external_key(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let refused = try_import(&kms, &key2, wrong.as_bytes(), None, None).await;
    assert_eq!(refused.unwrap_err().0, "IncorrectKeyMaterialException");
    assert_eq!(
        describe(&kms, &key2).await.key_state(),
        Some(&KeyState::PendingImport)
    );
}
