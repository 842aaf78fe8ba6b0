//! Every key type through the wire with the AWS SDK, cross-checked against independent
//! implementations (RustCrypto): signatures verified offline with the GetPublicKey SPKI, RSA-OAEP
//! ciphertexts made offline and decrypted in Trent, ECDH agreed on both sides, data key pairs
//! parsed as PKCS#8 and matched to their public keys, key material sealed at rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType,
    MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
};
use sha2::Digest as _;

use crate::support::kms::create_key_of;
use crate::support::{Server, err, flip};

const MESSAGE: &[u8] = b"a message signed by Trent and checked by someone else";

async fn public_key(kms: &Client, key: &str) -> Vec<u8> {
    kms.get_public_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .as_ref()
        .to_vec()
}

async fn sign(kms: &Client, key: &str, alg: &str, message: &[u8], digest: bool) -> Vec<u8> {
    let out = kms
        .sign()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(if digest {
            MessageType::Digest
        } else {
            MessageType::Raw
        })
        .signing_algorithm(SigningAlgorithmSpec::from(alg))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Sign {alg} digest={digest}: {e:?}"));
    assert_eq!(out.signing_algorithm().unwrap().as_str(), alg);
    assert!(
        out.key_id()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:000000000000:key/")
    );
    out.signature().unwrap().as_ref().to_vec()
}

async fn verify_in_trent(
    kms: &Client,
    key: &str,
    alg: &str,
    message: &[u8],
    digest: bool,
    signature: &[u8],
) -> Result<bool, (String, String)> {
    kms.verify()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(if digest {
            MessageType::Digest
        } else {
            MessageType::Raw
        })
        .signature(Blob::new(signature))
        .signing_algorithm(SigningAlgorithmSpec::from(alg))
        .send()
        .await
        .map(|o| {
            assert_eq!(o.signing_algorithm().unwrap().as_str(), alg);
            o.signature_valid()
        })
        .map_err(err)
}

fn digest_of(alg: &str, message: &[u8]) -> Vec<u8> {
    if alg.ends_with("256") {
        sha2::Sha256::digest(message).to_vec()
    } else if alg.ends_with("384") {
        sha2::Sha384::digest(message).to_vec()
    } else {
        sha2::Sha512::digest(message).to_vec()
    }
}

/// Verifies an RSA signature over MESSAGE with the `rsa` crate.
fn rsa_oracle(spki: &[u8], alg: &str, signature: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
    let pk = RsaPublicKey::from_public_key_der(spki).unwrap();
    let d = digest_of(alg, MESSAGE);
    let scheme_ok = match alg {
        "RSASSA_PSS_SHA_256" => pk.verify(Pss::new::<sha2::Sha256>(), &d, signature),
        "RSASSA_PSS_SHA_384" => pk.verify(Pss::new::<sha2::Sha384>(), &d, signature),
        "RSASSA_PSS_SHA_512" => pk.verify(Pss::new::<sha2::Sha512>(), &d, signature),
        "RSASSA_PKCS1_V1_5_SHA_256" => {
            pk.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &d, signature)
        }
        "RSASSA_PKCS1_V1_5_SHA_384" => {
            pk.verify(Pkcs1v15Sign::new::<sha2::Sha384>(), &d, signature)
        }
        "RSASSA_PKCS1_V1_5_SHA_512" => {
            pk.verify(Pkcs1v15Sign::new::<sha2::Sha512>(), &d, signature)
        }
        other => panic!("not RSA: {other}"),
    };
    scheme_ok.is_ok()
}

/// Verifies an ECDSA (DER) signature over MESSAGE, as a prehash of its digest.
fn ecdsa_oracle(spec: &str, spki: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::pkcs8::DecodePublicKey;
    match spec {
        "ECC_NIST_P256" => {
            let vk = p256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            vk.verify_prehash(&sha2::Sha256::digest(MESSAGE), &sig)
                .is_ok()
        }
        "ECC_NIST_P384" => {
            let vk = p384::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let Ok(sig) = p384::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            vk.verify_prehash(&sha2::Sha384::digest(MESSAGE), &sig)
                .is_ok()
        }
        "ECC_NIST_P521" => {
            let pk = p521::PublicKey::from_public_key_der(spki).unwrap();
            let vk = p521::ecdsa::VerifyingKey::from_affine(*pk.as_affine()).unwrap();
            let Ok(sig) = p521::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            vk.verify_prehash(&sha2::Sha512::digest(MESSAGE), &sig)
                .is_ok()
        }
        "ECC_SECG_P256K1" => {
            let vk = k256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let Ok(sig) = k256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            // k256 accepts low-S only; KMS (and Trent) do not normalize S.
            let sig = sig.normalize_s().unwrap_or(sig);
            vk.verify_prehash(&sha2::Sha256::digest(MESSAGE), &sig)
                .is_ok()
        }
        other => panic!("not ECDSA: {other}"),
    }
}

fn names<T: AsRef<str>>(list: &[T]) -> Vec<&str> {
    list.iter().map(AsRef::as_ref).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_key_and_get_public_key_for_every_spec() {
    let server = Server::start();
    let kms = server.kms();
    const RSA_SIGNING: [&str; 6] = [
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
    ];
    const OAEP: [&str; 2] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];
    // (spec, usage, encryption, signing, mac, key agreement)
    type Row = (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    );
    let rows: Vec<Row> = vec![
        ("RSA_2048", "ENCRYPT_DECRYPT", &OAEP, &[], &[], &[]),
        ("RSA_3072", "SIGN_VERIFY", &[], &RSA_SIGNING, &[], &[]),
        ("RSA_4096", "ENCRYPT_DECRYPT", &OAEP, &[], &[], &[]),
        (
            "ECC_NIST_P256",
            "SIGN_VERIFY",
            &[],
            &["ECDSA_SHA_256"],
            &[],
            &[],
        ),
        ("ECC_NIST_P384", "KEY_AGREEMENT", &[], &[], &[], &["ECDH"]),
        (
            "ECC_NIST_P521",
            "SIGN_VERIFY",
            &[],
            &["ECDSA_SHA_512"],
            &[],
            &[],
        ),
        (
            "ECC_SECG_P256K1",
            "SIGN_VERIFY",
            &[],
            &["ECDSA_SHA_256"],
            &[],
            &[],
        ),
        (
            "ECC_NIST_EDWARDS25519",
            "SIGN_VERIFY",
            &[],
            &["ED25519_SHA_512", "ED25519_PH_SHA_512"],
            &[],
            &[],
        ),
        (
            "ML_DSA_44",
            "SIGN_VERIFY",
            &[],
            &["ML_DSA_SHAKE_256"],
            &[],
            &[],
        ),
        (
            "ML_DSA_87",
            "SIGN_VERIFY",
            &[],
            &["ML_DSA_SHAKE_256"],
            &[],
            &[],
        ),
        (
            "HMAC_224",
            "GENERATE_VERIFY_MAC",
            &[],
            &[],
            &["HMAC_SHA_224"],
            &[],
        ),
        (
            "HMAC_512",
            "GENERATE_VERIFY_MAC",
            &[],
            &[],
            &["HMAC_SHA_512"],
            &[],
        ),
    ];
    for (spec, usage, enc, signing, mac, agreement) in rows {
        let created = kms
            .create_key()
            .key_spec(KeySpec::from(spec))
            .key_usage(KeyUsageType::from(usage))
            .send()
            .await
            .unwrap();
        let created = created.key_metadata().unwrap();
        let described = kms
            .describe_key()
            .key_id(created.key_id())
            .send()
            .await
            .unwrap();
        for m in [created, described.key_metadata().unwrap()] {
            assert_eq!(m.key_spec().unwrap().as_str(), spec);
            assert_eq!(m.key_usage().unwrap().as_str(), usage);
            assert_eq!(names(m.encryption_algorithms()), enc, "{spec}");
            assert_eq!(names(m.signing_algorithms()), signing, "{spec}");
            assert_eq!(names(m.mac_algorithms()), mac, "{spec}");
            assert_eq!(names(m.key_agreement_algorithms()), agreement, "{spec}");
            // AWS shows the current material only for symmetric encryption keys.
            let shown = (spec == "SYMMETRIC_DEFAULT").then_some(64);
            assert_eq!(m.current_key_material_id().map(str::len), shown, "{spec}");
        }
        let public = kms.get_public_key().key_id(created.key_id()).send().await;
        if spec.starts_with("HMAC") {
            let (code, _) = err(public.unwrap_err());
            assert_eq!(code, "UnsupportedOperationException", "{spec}");
            continue;
        }
        let public = public.unwrap();
        assert_eq!(public.key_id(), Some(created.arn().unwrap()));
        assert_eq!(public.key_spec().unwrap().as_str(), spec);
        assert_eq!(public.key_usage().unwrap().as_str(), usage);
        assert_eq!(names(public.encryption_algorithms()), enc, "{spec}");
        assert_eq!(names(public.signing_algorithms()), signing, "{spec}");
        assert_eq!(
            names(public.key_agreement_algorithms()),
            agreement,
            "{spec}"
        );
        let spki = public.public_key().unwrap().as_ref();
        // The SPKI parses in an independent implementation, as the right kind of key.
        use p256::pkcs8::DecodePublicKey;
        match spec {
            "RSA_2048" | "RSA_3072" | "RSA_4096" => {
                use rsa::traits::PublicKeyParts;
                let pk = rsa::RsaPublicKey::from_public_key_der(spki).unwrap();
                assert_eq!(pk.size() * 8, spec[4..].parse::<usize>().unwrap());
            }
            "ECC_NIST_P256" => {
                p256::PublicKey::from_public_key_der(spki).unwrap();
            }
            "ECC_NIST_P384" => {
                p384::PublicKey::from_public_key_der(spki).unwrap();
            }
            "ECC_NIST_P521" => {
                p521::PublicKey::from_public_key_der(spki).unwrap();
            }
            "ECC_SECG_P256K1" => {
                k256::PublicKey::from_public_key_der(spki).unwrap();
            }
            "ECC_NIST_EDWARDS25519" => {
                ed25519_dalek::VerifyingKey::from_public_key_der(spki).unwrap();
            }
            "ML_DSA_44" => {
                <ml_dsa::VerifyingKey<ml_dsa::MlDsa44> as ml_dsa::pkcs8::DecodePublicKey>::from_public_key_der(spki).unwrap();
            }
            "ML_DSA_87" => {
                <ml_dsa::VerifyingKey<ml_dsa::MlDsa87> as ml_dsa::pkcs8::DecodePublicKey>::from_public_key_der(spki).unwrap();
            }
            other => panic!("{other}"),
        }
    }
    // Symmetric keys have no public key either.
    let symmetric = kms.create_key().send().await.unwrap();
    let (code, message) = err(kms
        .get_public_key()
        .key_id(symmetric.key_metadata().unwrap().key_id())
        .send()
        .await
        .unwrap_err());
    assert_eq!(code, "UnsupportedOperationException");
    assert!(message.contains("SYMMETRIC_DEFAULT"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_signatures_of_every_algorithm_verify_offline() {
    let server = Server::start();
    let kms = server.kms();
    for spec in ["RSA_2048", "RSA_3072", "RSA_4096"] {
        let key = create_key_of(&kms, spec, "SIGN_VERIFY").await;
        let spki = public_key(&kms, &key).await;
        for alg in [
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
        ] {
            let digest = digest_of(alg, MESSAGE);
            let raw = sign(&kms, &key, alg, MESSAGE, false).await;
            let dig = sign(&kms, &key, alg, &digest, true).await;
            assert_eq!(raw.len() * 8, spec[4..].parse::<usize>().unwrap());
            for signature in [&raw, &dig] {
                assert!(rsa_oracle(&spki, alg, signature), "{spec} {alg}");
                // Either form verifies in Trent both ways: RAW over the message, DIGEST over
                // its hash.
                assert_eq!(
                    verify_in_trent(&kms, &key, alg, MESSAGE, false, signature).await,
                    Ok(true)
                );
                assert_eq!(
                    verify_in_trent(&kms, &key, alg, &digest, true, signature).await,
                    Ok(true)
                );
            }
            assert!(!rsa_oracle(&spki, alg, &flip(&raw, 77)), "{spec} {alg}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ecc_eddsa_and_ml_dsa_signatures_verify_offline() {
    let server = Server::start();
    let kms = server.kms();
    for (spec, alg) in [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "ECDSA_SHA_384"),
        ("ECC_NIST_P521", "ECDSA_SHA_512"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
    ] {
        let key = create_key_of(&kms, spec, "SIGN_VERIFY").await;
        let spki = public_key(&kms, &key).await;
        let digest = digest_of(alg, MESSAGE);
        // ECDSA is randomized: several signatures each way.
        for _ in 0..4 {
            let raw = sign(&kms, &key, alg, MESSAGE, false).await;
            let dig = sign(&kms, &key, alg, &digest, true).await;
            for signature in [&raw, &dig] {
                assert!(ecdsa_oracle(spec, &spki, signature), "{spec}");
                assert_eq!(
                    verify_in_trent(&kms, &key, alg, MESSAGE, false, signature).await,
                    Ok(true)
                );
                assert_eq!(
                    verify_in_trent(&kms, &key, alg, &digest, true, signature).await,
                    Ok(true)
                );
            }
            assert!(!ecdsa_oracle(spec, &spki, &flip(&raw, raw.len() * 8 - 5)));
        }
    }

    // Ed25519 (pure EdDSA, RAW only): ed25519-dalek verifies strictly.
    let key = create_key_of(&kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let spki = public_key(&kms, &key).await;
    let signature = sign(&kms, &key, "ED25519_SHA_512", MESSAGE, false).await;
    {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let vk = ed25519_dalek::VerifyingKey::from_public_key_der(&spki).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        assert!(vk.verify_strict(MESSAGE, &sig).is_ok());
        assert!(vk.verify_strict(b"another message", &sig).is_err());
    }
    assert_eq!(
        verify_in_trent(&kms, &key, "ED25519_SHA_512", MESSAGE, false, &signature).await,
        Ok(true)
    );

    // ML-DSA (FIPS 204), RAW: RustCrypto's ml-dsa verifies.
    use ml_dsa::pkcs8::DecodePublicKey;
    use ml_dsa::signature::Verifier;
    for spec in ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"] {
        let key = create_key_of(&kms, spec, "SIGN_VERIFY").await;
        let spki = public_key(&kms, &key).await;
        let signature = sign(&kms, &key, "ML_DSA_SHAKE_256", MESSAGE, false).await;
        let ok = match spec {
            "ML_DSA_44" => {
                let vk =
                    ml_dsa::VerifyingKey::<ml_dsa::MlDsa44>::from_public_key_der(&spki).unwrap();
                let sig =
                    ml_dsa::Signature::<ml_dsa::MlDsa44>::try_from(signature.as_slice()).unwrap();
                vk.verify(MESSAGE, &sig).is_ok() && vk.verify(b"other", &sig).is_err()
            }
            "ML_DSA_65" => {
                let vk =
                    ml_dsa::VerifyingKey::<ml_dsa::MlDsa65>::from_public_key_der(&spki).unwrap();
                let sig =
                    ml_dsa::Signature::<ml_dsa::MlDsa65>::try_from(signature.as_slice()).unwrap();
                vk.verify(MESSAGE, &sig).is_ok() && vk.verify(b"other", &sig).is_err()
            }
            _ => {
                let vk =
                    ml_dsa::VerifyingKey::<ml_dsa::MlDsa87>::from_public_key_der(&spki).unwrap();
                let sig =
                    ml_dsa::Signature::<ml_dsa::MlDsa87>::try_from(signature.as_slice()).unwrap();
                vk.verify(MESSAGE, &sig).is_ok() && vk.verify(b"other", &sig).is_err()
            }
        };
        assert!(ok, "{spec}");
        assert_eq!(
            verify_in_trent(&kms, &key, "ML_DSA_SHAKE_256", MESSAGE, false, &signature).await,
            Ok(true)
        );
    }
}

async fn encrypt(kms: &Client, key: &str, alg: &str, plaintext: &[u8]) -> Vec<u8> {
    let out = kms
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new(plaintext))
        .encryption_algorithm(EncryptionAlgorithmSpec::from(alg))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Encrypt {alg}: {e:?}"));
    assert_eq!(out.encryption_algorithm().unwrap().as_str(), alg);
    out.ciphertext_blob().unwrap().as_ref().to_vec()
}

async fn decrypt(kms: &Client, key: &str, alg: &str, ciphertext: &[u8]) -> Vec<u8> {
    let out = kms
        .decrypt()
        .key_id(key)
        .ciphertext_blob(Blob::new(ciphertext))
        .encryption_algorithm(EncryptionAlgorithmSpec::from(alg))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Decrypt {alg}: {e:?}"));
    assert_eq!(out.encryption_algorithm().unwrap().as_str(), alg);
    // KeyMaterialId is for symmetric keys only.
    assert_eq!(out.key_material_id(), None);
    out.plaintext().unwrap().as_ref().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_oaep_interoperates_with_offline_encryption() {
    use rsa::pkcs8::DecodePublicKey;
    let server = Server::start();
    let kms = server.kms();
    let mut rng = rand::thread_rng();
    for (spec, limits) in [
        ("RSA_2048", [214, 190]),
        ("RSA_3072", [342, 318]),
        ("RSA_4096", [470, 446]),
    ] {
        let key = create_key_of(&kms, spec, "ENCRYPT_DECRYPT").await;
        let pk = rsa::RsaPublicKey::from_public_key_der(&public_key(&kms, &key).await).unwrap();
        for (alg, max) in ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
            .into_iter()
            .zip(limits)
        {
            for len in [1, 33, max] {
                let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
                // Offline with the public key, decrypted in Trent.
                let offline = if alg == "RSAES_OAEP_SHA_1" {
                    pk.encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), &plaintext)
                } else {
                    pk.encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), &plaintext)
                }
                .unwrap();
                assert_eq!(
                    decrypt(&kms, &key, alg, &offline).await,
                    plaintext,
                    "{spec} {alg}"
                );
                // Trent's ciphertext is raw RSA (modulus-sized) and randomized.
                let ours = encrypt(&kms, &key, alg, &plaintext).await;
                assert_eq!(ours.len() * 8, spec[4..].parse::<usize>().unwrap());
                assert_ne!(ours, encrypt(&kms, &key, alg, &plaintext).await);
                assert_eq!(decrypt(&kms, &key, alg, &ours).await, plaintext);
            }
            // One byte over KMS's limit.
            let (code, message) = err(kms
                .encrypt()
                .key_id(&key)
                .plaintext(Blob::new(vec![1u8; max + 1]))
                .encryption_algorithm(EncryptionAlgorithmSpec::from(alg))
                .send()
                .await
                .unwrap_err());
            assert_eq!(code, "ValidationException");
            assert_eq!(
                message,
                format!(
                    "Algorithm {alg} and key spec {spec} cannot encrypt data larger than {max} bytes."
                )
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_between_symmetric_and_rsa_keys() {
    let server = Server::start();
    let kms = server.kms();
    let symmetric = kms.create_key().send().await.unwrap();
    let symmetric = symmetric.key_metadata().unwrap().key_id().to_string();
    let rsa_a = create_key_of(&kms, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let rsa_b = create_key_of(&kms, "RSA_3072", "ENCRYPT_DECRYPT").await;
    let plaintext = b"moved between key types";

    // Symmetric -> RSA.
    let blob = kms
        .encrypt()
        .key_id(&symmetric)
        .plaintext(Blob::new(plaintext.as_slice()))
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    let to_rsa = kms
        .re_encrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .source_encryption_context("purpose", "test")
        .destination_key_id(&rsa_a)
        .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        to_rsa.source_encryption_algorithm().unwrap().as_str(),
        "SYMMETRIC_DEFAULT"
    );
    assert_eq!(
        to_rsa.destination_encryption_algorithm().unwrap().as_str(),
        "RSAES_OAEP_SHA_256"
    );
    assert_eq!(to_rsa.source_key_material_id().map(str::len), Some(64));
    assert_eq!(to_rsa.destination_key_material_id(), None);
    let rsa_ct = to_rsa.ciphertext_blob().unwrap().as_ref().to_vec();
    assert_eq!(
        decrypt(&kms, &rsa_a, "RSAES_OAEP_SHA_256", &rsa_ct).await,
        plaintext
    );

    // RSA -> RSA (the source key must be named, and the algorithm given).
    let to_rsa_b = kms
        .re_encrypt()
        .ciphertext_blob(Blob::new(rsa_ct.clone()))
        .source_key_id(&rsa_a)
        .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .destination_key_id(&rsa_b)
        .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap();
    assert!(to_rsa_b.source_key_id().unwrap().ends_with(&rsa_a));
    assert!(to_rsa_b.key_id().unwrap().ends_with(&rsa_b));
    let ct_b = to_rsa_b.ciphertext_blob().unwrap().as_ref().to_vec();
    assert_eq!(
        decrypt(&kms, &rsa_b, "RSAES_OAEP_SHA_1", &ct_b).await,
        plaintext
    );

    // RSA -> symmetric, with a destination encryption context.
    let back = kms
        .re_encrypt()
        .ciphertext_blob(Blob::new(ct_b))
        .source_key_id(&rsa_b)
        .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .destination_key_id(&symmetric)
        .destination_encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(back.source_key_material_id(), None);
    assert_eq!(back.destination_key_material_id().map(str::len), Some(64));
    let out = kms
        .decrypt()
        .ciphertext_blob(back.ciphertext_blob().unwrap().clone())
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext().unwrap().as_ref(), plaintext);
    assert_eq!(
        out.encryption_algorithm().unwrap().as_str(),
        "SYMMETRIC_DEFAULT"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hmac_keys_generate_and_verify_macs() {
    let server = Server::start();
    let kms = server.kms();
    for (spec, alg, len) in [
        ("HMAC_224", "HMAC_SHA_224", 28),
        ("HMAC_256", "HMAC_SHA_256", 32),
        ("HMAC_384", "HMAC_SHA_384", 48),
        ("HMAC_512", "HMAC_SHA_512", 64),
    ] {
        let key = create_key_of(&kms, spec, "GENERATE_VERIFY_MAC").await;
        for message in [b"x".as_slice(), MESSAGE, &[0xa5u8; 4096]] {
            let out = kms
                .generate_mac()
                .key_id(&key)
                .message(Blob::new(message))
                .mac_algorithm(MacAlgorithmSpec::from(alg))
                .send()
                .await
                .unwrap();
            assert_eq!(out.mac_algorithm().unwrap().as_str(), alg);
            assert!(out.key_id().unwrap().ends_with(&key));
            let mac = out.mac().unwrap().as_ref().to_vec();
            assert_eq!(mac.len(), len, "{spec}");
            // HMAC is deterministic.
            let again = kms
                .generate_mac()
                .key_id(&key)
                .message(Blob::new(message))
                .mac_algorithm(MacAlgorithmSpec::from(alg))
                .send()
                .await
                .unwrap();
            assert_eq!(again.mac().unwrap().as_ref(), mac.as_slice());
            let verified = kms
                .verify_mac()
                .key_id(&key)
                .message(Blob::new(message))
                .mac(Blob::new(mac))
                .mac_algorithm(MacAlgorithmSpec::from(alg))
                .send()
                .await
                .unwrap();
            assert!(verified.mac_valid());
            assert_eq!(verified.mac_algorithm().unwrap().as_str(), alg);
        }
    }
    // Two keys of the same spec make different MACs (independent random material).
    let a = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let b = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let mut macs = Vec::new();
    for key in [&a, &b] {
        macs.push(
            kms.generate_mac()
                .key_id(key)
                .message(Blob::new(MESSAGE))
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .send()
                .await
                .unwrap()
                .mac()
                .unwrap()
                .clone(),
        );
    }
    assert_ne!(macs[0], macs[1]);
}

async fn derive(kms: &Client, key: &str, peer_spki: &[u8]) -> Vec<u8> {
    let out = kms
        .derive_shared_secret()
        .key_id(key)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(peer_spki))
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_agreement_algorithm().unwrap().as_str(), "ECDH");
    assert_eq!(out.key_origin().unwrap().as_str(), "AWS_KMS");
    assert!(out.key_id().unwrap().ends_with(key));
    out.shared_secret().unwrap().as_ref().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn ecdh_agrees_with_an_offline_peer() {
    let server = Server::start();
    let kms = server.kms();
    let mut rng = rand::thread_rng();

    let key = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let trent_pub = {
        use p256::pkcs8::DecodePublicKey;
        p256::PublicKey::from_public_key_der(&public_key(&kms, &key).await).unwrap()
    };
    let peer = p256::SecretKey::random(&mut rng);
    let peer_spki = p256::pkcs8::EncodePublicKey::to_public_key_der(&peer.public_key()).unwrap();
    let ours = derive(&kms, &key, peer_spki.as_bytes()).await;
    let theirs = p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), theirs.raw_secret_bytes().as_slice());
    assert_eq!(ours.len(), 32);

    let key = create_key_of(&kms, "ECC_NIST_P384", "KEY_AGREEMENT").await;
    let trent_pub: p384::PublicKey =
        p384::pkcs8::DecodePublicKey::from_public_key_der(&public_key(&kms, &key).await).unwrap();
    let peer = p384::SecretKey::random(&mut rng);
    let peer_spki = p384::pkcs8::EncodePublicKey::to_public_key_der(&peer.public_key()).unwrap();
    let ours = derive(&kms, &key, peer_spki.as_bytes()).await;
    let theirs = p384::ecdh::diffie_hellman(peer.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), theirs.raw_secret_bytes().as_slice());
    assert_eq!(ours.len(), 48);

    let key = create_key_of(&kms, "ECC_NIST_P521", "KEY_AGREEMENT").await;
    let trent_pub: p521::PublicKey =
        p521::pkcs8::DecodePublicKey::from_public_key_der(&public_key(&kms, &key).await).unwrap();
    let peer = p521::SecretKey::random(&mut rng);
    let peer_spki = p521::pkcs8::EncodePublicKey::to_public_key_der(&peer.public_key()).unwrap();
    let ours = derive(&kms, &key, peer_spki.as_bytes()).await;
    let theirs = p521::ecdh::diffie_hellman(peer.to_nonzero_scalar(), trent_pub.as_affine());
    assert_eq!(ours.as_slice(), theirs.raw_secret_bytes().as_slice());
    assert_eq!(ours.len(), 66);

    // Two Trent keys agree with each other.
    let a = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let b = create_key_of(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let ab = derive(&kms, &a, &public_key(&kms, &b).await).await;
    let ba = derive(&kms, &b, &public_key(&kms, &a).await).await;
    assert_eq!(ab, ba);
}

/// Parses a PKCS#8 private key of `spec` with RustCrypto and checks it is the private half of
/// the SPKI public key.
fn assert_pair_matches(spec: &str, pkcs8: &[u8], spki: &[u8]) {
    match spec {
        "RSA_2048" | "RSA_3072" | "RSA_4096" => {
            use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).unwrap();
            let pk = rsa::RsaPublicKey::from_public_key_der(spki).unwrap();
            assert_eq!(sk.to_public_key(), pk, "{spec}");
            use rsa::traits::PublicKeyParts;
            assert_eq!(pk.size() * 8, spec[4..].parse::<usize>().unwrap());
        }
        "ECC_NIST_P256" => {
            use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = p256::SecretKey::from_pkcs8_der(pkcs8).unwrap();
            assert_eq!(
                sk.public_key(),
                p256::PublicKey::from_public_key_der(spki).unwrap()
            );
        }
        "ECC_NIST_P384" => {
            use p384::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = p384::SecretKey::from_pkcs8_der(pkcs8).unwrap();
            assert_eq!(
                sk.public_key(),
                p384::PublicKey::from_public_key_der(spki).unwrap()
            );
        }
        "ECC_NIST_P521" => {
            use p521::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = p521::SecretKey::from_pkcs8_der(pkcs8).unwrap();
            assert_eq!(
                sk.public_key(),
                p521::PublicKey::from_public_key_der(spki).unwrap()
            );
        }
        "ECC_SECG_P256K1" => {
            use k256::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = k256::SecretKey::from_pkcs8_der(pkcs8).unwrap();
            assert_eq!(
                sk.public_key(),
                k256::PublicKey::from_public_key_der(spki).unwrap()
            );
        }
        "ECC_NIST_EDWARDS25519" => {
            use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
            let sk = ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8).unwrap();
            assert_eq!(
                sk.verifying_key(),
                ed25519_dalek::VerifyingKey::from_public_key_der(spki).unwrap()
            );
        }
        other => panic!("{other}"),
    }
}

const KEY_PAIR_SPECS: [&str; 8] = [
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
];

#[tokio::test(flavor = "multi_thread")]
async fn data_key_pairs_of_every_spec_parse_offline_and_decrypt() {
    let server = Server::start();
    let kms = server.kms();
    let created = kms.create_key().send().await.unwrap();
    let meta = created.key_metadata().unwrap();
    let key = meta.key_id().to_string();
    let material_id = meta.current_key_material_id().unwrap().to_string();
    for spec in KEY_PAIR_SPECS {
        let pair = kms
            .generate_data_key_pair()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::from(spec))
            .encryption_context("pair", spec)
            .send()
            .await
            .unwrap();
        assert_eq!(pair.key_pair_spec().unwrap().as_str(), spec);
        assert_eq!(pair.key_id(), meta.arn());
        assert_eq!(pair.key_material_id(), Some(material_id.as_str()));
        let private = pair.private_key_plaintext().unwrap().as_ref().to_vec();
        let public = pair.public_key().unwrap().as_ref().to_vec();
        assert_pair_matches(spec, &private, &public);
        // The ciphertext is the same blob Encrypt makes: Decrypt opens it with the context.
        let opened = kms
            .decrypt()
            .ciphertext_blob(pair.private_key_ciphertext_blob().unwrap().clone())
            .encryption_context("pair", spec)
            .send()
            .await
            .unwrap();
        assert_eq!(opened.plaintext().unwrap().as_ref(), private.as_slice());
        assert_eq!(opened.key_material_id(), Some(material_id.as_str()));
        // ... and only with the context.
        let (code, message) = err(kms
            .decrypt()
            .ciphertext_blob(pair.private_key_ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap_err());
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("InvalidCiphertextException", "")
        );

        let without = kms
            .generate_data_key_pair_without_plaintext()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::from(spec))
            .send()
            .await
            .unwrap();
        assert_eq!(without.key_pair_spec().unwrap().as_str(), spec);
        assert_eq!(without.key_material_id(), Some(material_id.as_str()));
        let opened = kms
            .decrypt()
            .ciphertext_blob(without.private_key_ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_pair_matches(
            spec,
            opened.plaintext().unwrap().as_ref(),
            without.public_key().unwrap().as_ref(),
        );
        assert_ne!(without.public_key().unwrap().as_ref(), public.as_slice());
    }
}

/// All bytes of every file under `dir` (the database and its journal files).
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn key_material_is_sealed_at_rest_and_survives_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let server = Server::start_in(&data_dir, None);
    let kms = server.kms();
    let rsa_key = create_key_of(&kms, "RSA_2048", "SIGN_VERIFY").await;
    let ec_key = create_key_of(&kms, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let hmac_key = create_key_of(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let rsa_spki = public_key(&kms, &rsa_key).await;
    let ec_spki = public_key(&kms, &ec_key).await;
    let symmetric = kms.create_key().send().await.unwrap();
    let pair = kms
        .generate_data_key_pair()
        .key_id(symmetric.key_metadata().unwrap().key_id())
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .unwrap();
    let pair_private = pair.private_key_plaintext().unwrap().as_ref().to_vec();
    let mac = kms
        .generate_mac()
        .key_id(&hmac_key)
        .message(Blob::new(MESSAGE))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac()
        .unwrap()
        .clone();
    drop(kms);
    assert!(server.stop().success());

    // A plaintext RSA or EC private key in PKCS#8 would carry its public half: the RSA modulus,
    // and (as aws-lc writes EC keys) the EC public point. Trent stores no public keys, so
    // neither may appear anywhere in the data directory. Nor may the PKCS#8 "version 0,
    // rsaEncryption, OCTET STRING" prefix, or the data key pair's private key.
    let modulus = {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        rsa::RsaPublicKey::from_public_key_der(&rsa_spki)
            .unwrap()
            .n()
            .to_bytes_be()
    };
    let ec_point = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::DecodePublicKey;
        p256::PublicKey::from_public_key_der(&ec_spki)
            .unwrap()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    };
    let pkcs8_rsa_prefix = [
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00, 0x04,
    ];
    let pair_scalar = {
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_der(&pair_private)
            .unwrap()
            .to_bytes()
            .to_vec()
    };
    let files = files_under(&data_dir);
    assert!(
        files.iter().any(|(_, bytes)| bytes.len() > 4096),
        "no database found"
    );
    for (path, bytes) in &files {
        assert!(!contains(bytes, &modulus[..64]), "RSA modulus in {path:?}");
        assert!(
            !contains(bytes, &ec_point[1..33]),
            "EC public point in {path:?}"
        );
        assert!(!contains(bytes, &pkcs8_rsa_prefix), "PKCS#8 in {path:?}");
        assert!(!contains(bytes, &pair_scalar), "data key pair in {path:?}");
    }

    // The sealed material comes back after a restart: same public keys, same HMAC key.
    let server = Server::start_in(&data_dir, None);
    let kms = server.kms();
    assert_eq!(public_key(&kms, &rsa_key).await, rsa_spki);
    assert_eq!(public_key(&kms, &ec_key).await, ec_spki);
    let signature = sign(&kms, &rsa_key, "RSASSA_PSS_SHA_256", MESSAGE, false).await;
    assert!(rsa_oracle(&rsa_spki, "RSASSA_PSS_SHA_256", &signature));
    let verified = kms
        .verify_mac()
        .key_id(&hmac_key)
        .message(Blob::new(MESSAGE))
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.mac_valid());
}
