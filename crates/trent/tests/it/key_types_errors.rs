//! Every wrong combination of key type, usage, algorithm and input through the wire, with AWS's
//! error codes and messages (spec §7.3 and the responses AWS recorded), tampering, size limits,
//! key states, DryRun and GrantTokens on the asymmetric and HMAC operations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType,
    MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
};

use crate::support::kms::create_key_of;
use crate::support::{Server, err, flip};

const ARN_PREFIX: &str = "arn:aws:kms:us-east-1:000000000000:key/";

async fn symmetric(kms: &Client) -> String {
    kms.create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

type Outcome = Result<(), (String, String)>;

async fn sign(kms: &Client, key: &str, alg: &str, message: &[u8], mt: MessageType) -> Outcome {
    kms.sign()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(mt)
        .signing_algorithm(SigningAlgorithmSpec::from(alg))
        .send()
        .await
        .map(|_| ())
        .map_err(err)
}

async fn signature(kms: &Client, key: &str, alg: &str, message: &[u8]) -> Vec<u8> {
    kms.sign()
        .key_id(key)
        .message(Blob::new(message))
        .signing_algorithm(SigningAlgorithmSpec::from(alg))
        .send()
        .await
        .unwrap()
        .signature()
        .unwrap()
        .as_ref()
        .to_vec()
}

async fn verify(kms: &Client, key: &str, alg: &str, message: &[u8], sig: &[u8]) -> Outcome {
    kms.verify()
        .key_id(key)
        .message(Blob::new(message))
        .signature(Blob::new(sig))
        .signing_algorithm(SigningAlgorithmSpec::from(alg))
        .send()
        .await
        .map(|o| assert!(o.signature_valid()))
        .map_err(err)
}

async fn generate_mac(
    kms: &Client,
    key: &str,
    alg: &str,
    message: &[u8],
) -> Result<Vec<u8>, (String, String)> {
    kms.generate_mac()
        .key_id(key)
        .message(Blob::new(message))
        .mac_algorithm(MacAlgorithmSpec::from(alg))
        .send()
        .await
        .map(|o| o.mac().unwrap().as_ref().to_vec())
        .map_err(err)
}

async fn verify_mac(kms: &Client, key: &str, alg: &str, message: &[u8], mac: &[u8]) -> Outcome {
    kms.verify_mac()
        .key_id(key)
        .message(Blob::new(message))
        .mac(Blob::new(mac))
        .mac_algorithm(MacAlgorithmSpec::from(alg))
        .send()
        .await
        .map(|o| assert!(o.mac_valid()))
        .map_err(err)
}

fn usage_error(key: &str, usage: &str, operation: &str) -> Outcome {
    Err((
        "InvalidKeyUsageException".into(),
        format!("{ARN_PREFIX}{key} key usage is {usage} which is not valid for {operation}."),
    ))
}

fn incompatible(alg: &str, spec: &str) -> Outcome {
    Err((
        "InvalidKeyUsageException".into(),
        format!("Algorithm {alg} is incompatible with key spec {spec}."),
    ))
}

fn validation(message: &str) -> Outcome {
    Err(("ValidationException".into(), message.into()))
}

fn bare(code: &str) -> Outcome {
    Err((code.into(), String::new()))
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_rejects_invalid_spec_and_usage_combinations() {
    let server = Server::start();
    let kms = server.kms();
    for (spec, usage) in [
        ("RSA_2048", "KEY_AGREEMENT"),
        ("RSA_4096", "GENERATE_VERIFY_MAC"),
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"),
        ("ML_DSA_65", "KEY_AGREEMENT"),
        ("HMAC_256", "SIGN_VERIFY"),
        ("HMAC_512", "ENCRYPT_DECRYPT"),
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
    ] {
        let result = kms
            .create_key()
            .key_spec(KeySpec::from(spec))
            .key_usage(KeyUsageType::from(usage))
            .send()
            .await
            .map(|_| ())
            .map_err(err);
        assert_eq!(
            result,
            validation(&format!(
                "KeyUsage {usage} is not compatible with KeySpec {spec}"
            )),
        );
    }
    for spec in ["RSA_2048", "ECC_NIST_P256", "HMAC_256", "ML_DSA_44"] {
        let result = kms
            .create_key()
            .key_spec(KeySpec::from(spec))
            .send()
            .await
            .map(|_| ())
            .map_err(err);
        assert_eq!(
            result,
            validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
            )
        );
    }
    // SM2 exists only in AWS China Regions: a clear refusal, not a lookalike key.
    let (code, message) = err(kms
        .create_key()
        .key_spec(KeySpec::Sm2)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "UnsupportedOperationException");
    assert!(message.contains("SM2"), "{message}");
    let (code, _) = err(kms
        .create_key()
        .key_spec(KeySpec::from("RSA_1024"))
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_key_usage_is_invalid_key_usage_with_aws_messages() {
    let server = Server::start();
    let kms = server.kms();
    let sym = symmetric(&kms).await;
    let rsa_sign = create_key_of(&kms, "RSA_2048", "SIGN_VERIFY").await;
    let rsa_enc = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let hmac = create_key_of(&kms, "HMAC_224", "GENERATE_VERIFY_MAC").await;
    let ecc_sign = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let ecc_agree = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;

    // The combinations AWS recorded, and their mirror images.
    assert_eq!(
        generate_mac(&kms, &sym, "HMAC_SHA_224", b"m")
            .await
            .map(|_| ()),
        usage_error(&sym, "ENCRYPT_DECRYPT", "GenerateMac")
    );
    assert_eq!(
        sign(&kms, &hmac, "RSASSA_PSS_SHA_256", b"m", MessageType::Raw).await,
        usage_error(&hmac, "GENERATE_VERIFY_MAC", "Sign")
    );
    assert_eq!(
        verify(&kms, &sym, "ECDSA_SHA_256", b"m", b"random text").await,
        usage_error(&sym, "ENCRYPT_DECRYPT", "Verify")
    );
    assert_eq!(
        sign(&kms, &rsa_enc, "RSASSA_PSS_SHA_256", b"m", MessageType::Raw).await,
        usage_error(&rsa_enc, "ENCRYPT_DECRYPT", "Sign")
    );
    assert_eq!(
        verify_mac(&kms, &ecc_sign, "HMAC_SHA_256", b"m", &[0; 32]).await,
        usage_error(&ecc_sign, "SIGN_VERIFY", "VerifyMac")
    );
    assert_eq!(
        sign(&kms, &ecc_agree, "ECDSA_SHA_256", b"m", MessageType::Raw).await,
        usage_error(&ecc_agree, "KEY_AGREEMENT", "Sign")
    );
    let encrypt = |key: String| {
        let kms = kms.clone();
        async move {
            kms.encrypt()
                .key_id(key)
                .plaintext(Blob::new("test message 123!@#"))
                .send()
                .await
                .map(|_| ())
                .map_err(err)
        }
    };
    assert_eq!(
        encrypt(rsa_sign.clone()).await,
        usage_error(&rsa_sign, "SIGN_VERIFY", "Encrypt")
    );
    assert_eq!(
        encrypt(hmac.clone()).await,
        usage_error(&hmac, "GENERATE_VERIFY_MAC", "Encrypt")
    );
    let peer = kms
        .get_public_key()
        .key_id(&ecc_agree)
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .clone();
    for (key, usage) in [(&ecc_sign, "SIGN_VERIFY"), (&sym, "ENCRYPT_DECRYPT")] {
        let result = kms
            .derive_shared_secret()
            .key_id(key)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(peer.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(err);
        assert_eq!(result, usage_error(key, usage, "DeriveSharedSecret"));
    }
    // GenerateDataKeyPair needs a symmetric encryption key.
    let result = kms
        .generate_data_key_pair()
        .key_id(&rsa_sign)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(
        result,
        usage_error(&rsa_sign, "SIGN_VERIFY", "GenerateDataKeyPair")
    );

    // Decrypt of a symmetric ciphertext naming an HMAC key: IncorrectKeyException, as AWS.
    let blob = kms
        .encrypt()
        .key_id(&sym)
        .plaintext(Blob::new("test message 123!@#"))
        .send()
        .await
        .unwrap();
    let (code, message) = err(kms
        .decrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .key_id(&hmac)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "IncorrectKeyException");
    assert_eq!(
        message,
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_algorithms_are_incompatible_with_the_key_spec() {
    let server = Server::start();
    let kms = server.kms();
    let hmac224 = create_key_of(&kms, "HMAC_224", "GENERATE_VERIFY_MAC").await;
    let hmac256 = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let p256 = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let rsa = create_key_of(&kms, "RSA_2048", "SIGN_VERIFY").await;
    let ed = create_key_of(&kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let rsa_enc = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let sym = symmetric(&kms).await;

    assert_eq!(
        generate_mac(&kms, &hmac224, "HMAC_SHA_256", b"m")
            .await
            .map(|_| ()),
        incompatible("HMAC_SHA_256", "HMAC_224")
    );
    assert_eq!(
        verify_mac(&kms, &hmac256, "HMAC_SHA_512", b"m", &[0; 64]).await,
        incompatible("HMAC_SHA_512", "HMAC_256")
    );
    for (key, alg, spec) in [
        (&p256, "ECDSA_SHA_384", "ECC_NIST_P256"),
        (&p256, "RSASSA_PSS_SHA_256", "ECC_NIST_P256"),
        (&p256, "SM2DSA", "ECC_NIST_P256"),
        (&rsa, "ECDSA_SHA_256", "RSA_2048"),
        (&ed, "ECDSA_SHA_512", "ECC_NIST_EDWARDS25519"),
        (&rsa, "ML_DSA_SHAKE_256", "RSA_2048"),
    ] {
        assert_eq!(
            sign(&kms, key, alg, b"m", MessageType::Raw).await,
            incompatible(alg, spec)
        );
        assert_eq!(
            verify(&kms, key, alg, b"m", &[1; 64]).await,
            incompatible(alg, spec)
        );
    }
    // The message type must suit the algorithm.
    let (code, _) = sign(&kms, &ed, "ED25519_SHA_512", &[0; 64], MessageType::Digest)
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationException");
    let (code, message) = sign(
        &kms,
        &ed,
        "ED25519_PH_SHA_512",
        &[0; 64],
        MessageType::Digest,
    )
    .await
    .unwrap_err();
    assert_eq!(code, "UnsupportedOperationException", "{message}");

    // Encryption algorithms: RSA keys need an RSAES algorithm, symmetric keys SYMMETRIC_DEFAULT.
    let encrypt = |key: &str, alg: Option<&str>| {
        let mut req = kms.encrypt().key_id(key).plaintext(Blob::new("x"));
        if let Some(alg) = alg {
            req = req.encryption_algorithm(EncryptionAlgorithmSpec::from(alg));
        }
        async move { req.send().await.map(|_| ()).map_err(err) }
    };
    assert_eq!(
        encrypt(&rsa_enc, None).await,
        incompatible("SYMMETRIC_DEFAULT", "RSA_2048")
    );
    assert_eq!(
        encrypt(&rsa_enc, Some("SM2PKE")).await,
        incompatible("SM2PKE", "RSA_2048")
    );
    assert_eq!(
        encrypt(&sym, Some("RSAES_OAEP_SHA_256")).await,
        incompatible("RSAES_OAEP_SHA_256", "SYMMETRIC_DEFAULT")
    );
    // Data keys are always SYMMETRIC_DEFAULT: an RSA encryption key cannot make them.
    let result = kms
        .generate_data_key()
        .key_id(&rsa_enc)
        .number_of_bytes(32)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(result, incompatible("SYMMETRIC_DEFAULT", "RSA_2048"));
    let result = kms
        .generate_data_key_pair()
        .key_id(&rsa_enc)
        .key_pair_spec(DataKeyPairSpec::Rsa2048)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(result, incompatible("SYMMETRIC_DEFAULT", "RSA_2048"));
    // An RSA ciphertext decrypted with the wrong OAEP hash does not decrypt.
    let ct = kms
        .encrypt()
        .key_id(&rsa_enc)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    let (code, message) = err(kms
        .decrypt()
        .key_id(&rsa_enc)
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidCiphertextException", "")
    );
    // Invalid enum values are model validation errors.
    let (code, message) = err(kms
        .generate_mac()
        .key_id(&hmac256)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::from("INVALID"))
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512]"
    );
    let (code, message) = err(kms
        .derive_shared_secret()
        .key_id(&p256)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::from("INVALID"))
        .public_key(Blob::new("x"))
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn asymmetric_keys_take_no_encryption_context_and_need_a_key_id() {
    let server = Server::start();
    let kms = server.kms();
    let rsa = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let (code, message) = err(kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "ValidationException");
    assert!(message.contains("EncryptionContext"), "{message}");
    let ct = kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let (code, _) = err(kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(ct.clone())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "ValidationException");
    // Without KeyId, an RSA ciphertext names no key.
    let (code, message) = err(kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidCiphertextException", "")
    );
    // Decrypt without EncryptionAlgorithm means SYMMETRIC_DEFAULT, which RSA keys reject.
    let result = kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(ct.clone())
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(result, incompatible("SYMMETRIC_DEFAULT", "RSA_2048"));
    // Another RSA key cannot decrypt it.
    let other = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let (code, _) = err(kms
        .decrypt()
        .key_id(&other)
        .ciphertext_blob(ct)
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "InvalidCiphertextException");
}

#[tokio::test(flavor = "multi_thread")]
async fn size_limits_and_digest_lengths() {
    let server = Server::start();
    let kms = server.kms();
    let p256 = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let rsa = create_key_of(&kms, "RSA_2048", "SIGN_VERIFY").await;
    let hmac = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let too_long = "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096";

    // 4096 bytes is the largest RAW message for Sign, Verify and GenerateMac.
    let big = vec![0x42u8; 4096];
    let sig = signature(&kms, &p256, "ECDSA_SHA_256", &big).await;
    assert_eq!(
        verify(&kms, &p256, "ECDSA_SHA_256", &big, &sig).await,
        Ok(())
    );
    let mac = generate_mac(&kms, &hmac, "HMAC_SHA_256", &big)
        .await
        .unwrap();
    assert_eq!(
        verify_mac(&kms, &hmac, "HMAC_SHA_256", &big, &mac).await,
        Ok(())
    );
    let bigger = vec![0x42u8; 4097];
    assert_eq!(
        sign(&kms, &p256, "ECDSA_SHA_256", &bigger, MessageType::Raw).await,
        validation(too_long)
    );
    assert_eq!(
        verify(&kms, &p256, "ECDSA_SHA_256", &bigger, &sig).await,
        validation(too_long)
    );
    assert_eq!(
        generate_mac(&kms, &hmac, "HMAC_SHA_256", &bigger)
            .await
            .map(|_| ()),
        validation(too_long)
    );
    assert_eq!(
        verify_mac(&kms, &hmac, "HMAC_SHA_256", &bigger, &mac).await,
        validation(too_long)
    );
    // An empty message is below the model's minimum.
    let (code, _) = sign(&kms, &p256, "ECDSA_SHA_256", b"", MessageType::Raw)
        .await
        .unwrap_err();
    assert_eq!(code, "ValidationException");

    // DIGEST messages must be exactly as long as the algorithm's hash.
    for (key, alg, good) in [
        (&p256, "ECDSA_SHA_256", 32),
        (&rsa, "RSASSA_PSS_SHA_256", 32),
        (&rsa, "RSASSA_PSS_SHA_384", 48),
        (&rsa, "RSASSA_PKCS1_V1_5_SHA_512", 64),
    ] {
        for len in [good - 1, good + 1, 20] {
            assert_eq!(
                sign(&kms, key, alg, &vec![7; len], MessageType::Digest).await,
                validation(&format!("Digest is invalid length for algorithm {alg}.")),
                "{alg} {len}"
            );
        }
        assert_eq!(
            sign(&kms, key, alg, &vec![7; good], MessageType::Digest).await,
            Ok(())
        );
        let (code, message) = err(kms
            .verify()
            .key_id(key)
            .message(Blob::new(vec![7; good + 1]))
            .message_type(MessageType::Digest)
            .signature(Blob::new(vec![1; 64]))
            .signing_algorithm(SigningAlgorithmSpec::from(alg))
            .send()
            .await
            .unwrap_err());
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            format!("Digest is invalid length for algorithm {alg}.")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_signatures_macs_and_ciphertexts_are_rejected() {
    let server = Server::start();
    let kms = server.kms();
    let message = b"do not change me";
    for (spec, alg) in [
        ("RSA_2048", "RSASSA_PSS_SHA_256"),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "ECDSA_SHA_384"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
        ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
        ("ML_DSA_44", "ML_DSA_SHAKE_256"),
    ] {
        let key = create_key_of(&kms, spec, "SIGN_VERIFY").await;
        let sig = signature(&kms, &key, alg, message).await;
        assert_eq!(verify(&kms, &key, alg, message, &sig).await, Ok(()));
        for bit in [0, 9, sig.len() * 4 + 3, sig.len() * 8 - 1] {
            assert_eq!(
                verify(&kms, &key, alg, message, &flip(&sig, bit)).await,
                bare("KMSInvalidSignatureException"),
                "{spec} {alg} bit {bit}"
            );
        }
        assert_eq!(
            verify(&kms, &key, alg, b"do not change mE", &sig).await,
            bare("KMSInvalidSignatureException")
        );
        assert_eq!(
            verify(&kms, &key, alg, message, &sig[..sig.len() - 1]).await,
            bare("KMSInvalidSignatureException")
        );
        // Another key of the same spec does not accept it.
        let other = create_key_of(&kms, spec, "SIGN_VERIFY").await;
        assert_eq!(
            verify(&kms, &other, alg, message, &sig).await,
            bare("KMSInvalidSignatureException")
        );
    }

    let hmac = create_key_of(&kms, "HMAC_384", "GENERATE_VERIFY_MAC").await;
    let mac = generate_mac(&kms, &hmac, "HMAC_SHA_384", message)
        .await
        .unwrap();
    for bad in [
        flip(&mac, 0),
        flip(&mac, 200),
        mac[..47].to_vec(),
        [&mac[..], &[0]].concat(),
    ] {
        assert_eq!(
            verify_mac(&kms, &hmac, "HMAC_SHA_384", message, &bad).await,
            bare("KMSInvalidMacException")
        );
    }
    assert_eq!(
        verify_mac(&kms, &hmac, "HMAC_SHA_384", b"other", &mac).await,
        bare("KMSInvalidMacException")
    );

    let rsa = create_key_of(&kms, "RSA_3072", "ENCRYPT_DECRYPT").await;
    let ct = kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new(message.as_slice()))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .as_ref()
        .to_vec();
    for bad in [flip(&ct, 5), flip(&ct, 1500), ct[1..].to_vec()] {
        let (code, message) = err(kms
            .decrypt()
            .key_id(&rsa)
            .ciphertext_blob(Blob::new(bad))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await
            .unwrap_err());
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("InvalidCiphertextException", "")
        );
    }

    // A data key pair's private key ciphertext is bound like any symmetric ciphertext.
    let sym = symmetric(&kms).await;
    let pair = kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistP384)
        .send()
        .await
        .unwrap();
    let blob = pair.private_key_ciphertext_blob().unwrap().as_ref();
    let (code, _) = err(kms
        .decrypt()
        .ciphertext_blob(Blob::new(flip(blob, blob.len() * 8 - 20)))
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "InvalidCiphertextException");
}

#[tokio::test(flavor = "multi_thread")]
async fn derive_shared_secret_rejects_unusable_public_keys() {
    let server = Server::start();
    let kms = server.kms();
    let p256 = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let p384 = create_key_of(&kms, "ECC_NIST_P384", "KEY_AGREEMENT").await;
    let rsa = create_key_of(&kms, "RSA_2048", "SIGN_VERIFY").await;
    let public = |key: String| {
        let kms = kms.clone();
        async move {
            kms.get_public_key()
                .key_id(key)
                .send()
                .await
                .unwrap()
                .public_key()
                .unwrap()
                .clone()
        }
    };
    let p384_spki = public(p384.clone()).await;
    let p256_spki = public(p256.clone()).await;
    let rsa_spki = public(rsa).await;
    // A bare EC point (not SPKI) is refused too, as KMS takes SubjectPublicKeyInfo only.
    let bare_point = p256_spki.as_ref()[p256_spki.as_ref().len() - 65..].to_vec();
    for peer in [
        p384_spki,
        rsa_spki,
        Blob::new(b"not a key".as_slice()),
        Blob::new(bare_point),
        Blob::new(flip(p256_spki.as_ref(), p256_spki.as_ref().len() * 8 - 9)),
    ] {
        let result = kms
            .derive_shared_secret()
            .key_id(&p256)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(peer)
            .send()
            .await
            .map(|_| ())
            .map_err(err);
        // AWS answers with a ValidationException without a message.
        assert_eq!(result, bare("ValidationException"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_states_dry_run_and_grant_tokens() {
    let server = Server::start();
    let kms = server.kms();
    let ecc = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let hmac = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let agree = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let sym = symmetric(&kms).await;
    let sig = signature(&kms, &ecc, "ECDSA_SHA_256", b"m").await;
    let mac = generate_mac(&kms, &hmac, "HMAC_SHA_256", b"m")
        .await
        .unwrap();
    let peer = kms
        .get_public_key()
        .key_id(&agree)
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .clone();

    // DryRun: authorized requests stop with DryRunOperationException, nothing is produced.
    let dry = Err((
        "DryRunOperationException".to_string(),
        "The request would have succeeded, but the DryRun option is set.".to_string(),
    ));
    let results: Vec<Outcome> = vec![
        kms.sign()
            .key_id(&ecc)
            .message(Blob::new("m"))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.verify()
            .key_id(&ecc)
            .message(Blob::new("m"))
            .signature(Blob::new(sig.clone()))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.generate_mac()
            .key_id(&hmac)
            .message(Blob::new("m"))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.verify_mac()
            .key_id(&hmac)
            .message(Blob::new("m"))
            .mac(Blob::new(mac.clone()))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.derive_shared_secret()
            .key_id(&agree)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(peer.clone())
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.generate_data_key_pair()
            .key_id(&sym)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
        kms.generate_data_key_pair_without_plaintext()
            .key_id(&sym)
            .key_pair_spec(DataKeyPairSpec::Rsa2048)
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(err),
    ];
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r, dry, "request {i}");
    }

    // GrantTokens: at most 10.
    let mut req = kms
        .sign()
        .key_id(&ecc)
        .message(Blob::new("m"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256);
    for i in 0..11 {
        req = req.grant_tokens(format!("token-{i}"));
    }
    let (code, message) = err(req.send().await.unwrap_err());
    assert_eq!(code, "ValidationException");
    assert!(message.contains("grantTokens"), "{message}");

    // Key states (spec §6.2): disabled keys are DisabledException, keys pending deletion
    // KMSInvalidStateException, for every operation.
    for key in [&ecc, &hmac, &agree] {
        kms.disable_key().key_id(key).send().await.unwrap();
    }
    let disabled = |key: &str| {
        Err((
            "DisabledException".to_string(),
            format!("{ARN_PREFIX}{key} is disabled."),
        ))
    };
    assert_eq!(
        sign(&kms, &ecc, "ECDSA_SHA_256", b"m", MessageType::Raw).await,
        disabled(&ecc)
    );
    assert_eq!(
        verify(&kms, &ecc, "ECDSA_SHA_256", b"m", &sig).await,
        disabled(&ecc)
    );
    let gpk = kms
        .get_public_key()
        .key_id(&ecc)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(gpk, disabled(&ecc));
    assert_eq!(
        generate_mac(&kms, &hmac, "HMAC_SHA_256", b"m")
            .await
            .map(|_| ()),
        disabled(&hmac)
    );
    assert_eq!(
        verify_mac(&kms, &hmac, "HMAC_SHA_256", b"m", &mac).await,
        disabled(&hmac)
    );
    let derive = kms
        .derive_shared_secret()
        .key_id(&agree)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(peer)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(derive, disabled(&agree));
    kms.enable_key().key_id(&ecc).send().await.unwrap();
    assert_eq!(
        verify(&kms, &ecc, "ECDSA_SHA_256", b"m", &sig).await,
        Ok(())
    );
    kms.schedule_key_deletion()
        .key_id(&ecc)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sign(&kms, &ecc, "ECDSA_SHA_256", b"m", MessageType::Raw).await,
        Err((
            "KMSInvalidStateException".to_string(),
            format!("{ARN_PREFIX}{ecc} is pending deletion."),
        ))
    );
    let gpk = kms
        .get_public_key()
        .key_id(&ecc)
        .send()
        .await
        .map(|_| ())
        .map_err(err);
    assert_eq!(gpk.unwrap_err().0, "KMSInvalidStateException");
}

#[tokio::test(flavor = "multi_thread")]
async fn aliases_resolve_for_asymmetric_operations() {
    let server = Server::start();
    let kms = server.kms();
    let key = create_key_of(&kms, "ECC_NIST_P384", "SIGN_VERIFY").await;
    kms.create_alias()
        .alias_name("alias/signer")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let out = kms
        .sign()
        .key_id("alias/signer")
        .message(Blob::new("via alias"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha384)
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_id().unwrap(), format!("{ARN_PREFIX}{key}"));
    let verified = kms
        .verify()
        .key_id("arn:aws:kms:us-east-1:000000000000:alias/signer")
        .message(Blob::new("via alias"))
        .signature(out.signature().unwrap().clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha384)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid());
    let public = kms
        .get_public_key()
        .key_id("alias/signer")
        .send()
        .await
        .unwrap();
    assert_eq!(public.key_id().unwrap(), format!("{ARN_PREFIX}{key}"));
    let (code, _) = err(kms
        .sign()
        .key_id("alias/missing")
        .message(Blob::new("x"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha384)
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "NotFoundException");
}
