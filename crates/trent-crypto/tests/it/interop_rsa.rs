//! RSA interop with RustCrypto's `rsa` crate: signatures verified offline
//! with the public key, OAEP both ways, PKCS#8 data key pairs.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use crate::support::{flip_bit, key};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::Digest as _;
use trent_crypto::{
    CryptoError, EncryptionAlgorithm, KeySpec, MessageType, SigningAlgorithm,
    generate_data_key_pair, public_key_spki_der, rsa_decrypt, rsa_encrypt, rsa_max_plaintext_len,
    sign, verify_with_public_key,
};

const RSA_SPECS: [KeySpec; 3] = [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096];
const MESSAGE: &[u8] = b"verify me offline";

fn oracle_public(spec: KeySpec) -> RsaPublicKey {
    RsaPublicKey::from_public_key_der(&public_key_spki_der(key(spec)).unwrap()).unwrap()
}

/// Verifies with the oracle, given the hash of MESSAGE.
fn oracle_verify(pk: &RsaPublicKey, alg: SigningAlgorithm, signature: &[u8]) -> bool {
    use SigningAlgorithm::*;
    let h256 = sha2::Sha256::digest(MESSAGE);
    let h384 = sha2::Sha384::digest(MESSAGE);
    let h512 = sha2::Sha512::digest(MESSAGE);
    match alg {
        RsassaPssSha256 => pk.verify(Pss::new::<sha2::Sha256>(), &h256, signature),
        RsassaPssSha384 => pk.verify(Pss::new::<sha2::Sha384>(), &h384, signature),
        RsassaPssSha512 => pk.verify(Pss::new::<sha2::Sha512>(), &h512, signature),
        RsassaPkcs1V15Sha256 => pk.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &h256, signature),
        RsassaPkcs1V15Sha384 => pk.verify(Pkcs1v15Sign::new::<sha2::Sha384>(), &h384, signature),
        RsassaPkcs1V15Sha512 => pk.verify(Pkcs1v15Sign::new::<sha2::Sha512>(), &h512, signature),
        other => panic!("not RSA: {other}"),
    }
    .is_ok()
}

fn digest_for(alg: SigningAlgorithm) -> Vec<u8> {
    match alg.digest_len() {
        Some(32) => sha2::Sha256::digest(MESSAGE).to_vec(),
        Some(48) => sha2::Sha384::digest(MESSAGE).to_vec(),
        _ => sha2::Sha512::digest(MESSAGE).to_vec(),
    }
}

#[test]
fn trent_signatures_verify_offline() {
    for spec in RSA_SPECS {
        let pk = oracle_public(spec);
        for alg in spec.signing_algorithms() {
            let raw = sign(key(spec), *alg, MESSAGE, MessageType::Raw).unwrap();
            assert!(oracle_verify(&pk, *alg, &raw), "{spec} {alg} RAW");
            let dig = sign(key(spec), *alg, &digest_for(*alg), MessageType::Digest).unwrap();
            assert!(oracle_verify(&pk, *alg, &dig), "{spec} {alg} DIGEST");
            assert!(
                !oracle_verify(&pk, *alg, &flip_bit(&raw, 100)),
                "{spec} {alg} flipped"
            );
        }
    }
}

#[test]
fn offline_signatures_verify_in_trent() {
    let private = RsaPrivateKey::from_pkcs8_der(&key(KeySpec::Rsa2048).to_bytes()).unwrap();
    let spki = public_key_spki_der(key(KeySpec::Rsa2048)).unwrap();
    let mut rng = rand::thread_rng();
    let cases: [(SigningAlgorithm, Vec<u8>); 2] = [
        (
            SigningAlgorithm::RsassaPssSha256,
            private
                .sign_with_rng(
                    &mut rng,
                    Pss::new::<sha2::Sha256>(),
                    &sha2::Sha256::digest(MESSAGE),
                )
                .unwrap(),
        ),
        (
            SigningAlgorithm::RsassaPkcs1V15Sha512,
            private
                .sign(
                    Pkcs1v15Sign::new::<sha2::Sha512>(),
                    &sha2::Sha512::digest(MESSAGE),
                )
                .unwrap(),
        ),
    ];
    for (alg, signature) in cases {
        assert!(
            verify_with_public_key(
                KeySpec::Rsa2048,
                &spki,
                alg,
                MESSAGE,
                MessageType::Raw,
                &signature
            )
            .unwrap(),
            "{alg}"
        );
    }
}

#[test]
fn oaep_both_ways() {
    let mut rng = rand::thread_rng();
    for spec in RSA_SPECS {
        let m = key(spec);
        let pk = oracle_public(spec);
        let sk = RsaPrivateKey::from_pkcs8_der(&m.to_bytes()).unwrap();
        for alg in [
            EncryptionAlgorithm::RsaesOaepSha1,
            EncryptionAlgorithm::RsaesOaepSha256,
        ] {
            let max = rsa_max_plaintext_len(spec, alg).unwrap();
            for len in [1, 32, max] {
                let plaintext = vec![0x5a; len];
                // Offline encryption with the public key, decrypted by Trent.
                let ct = match alg {
                    EncryptionAlgorithm::RsaesOaepSha1 => {
                        pk.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), &plaintext)
                    }
                    _ => pk.encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), &plaintext),
                }
                .unwrap();
                assert_eq!(
                    rsa_decrypt(m, alg, &ct).unwrap().as_slice(),
                    &plaintext[..],
                    "{spec} {alg} {len}"
                );
                // Trent's encryption, decrypted offline.
                let ct = rsa_encrypt(m, alg, &plaintext).unwrap();
                assert_eq!(
                    ct.len() * 8,
                    match spec {
                        KeySpec::Rsa2048 => 2048,
                        KeySpec::Rsa3072 => 3072,
                        _ => 4096,
                    }
                );
                let pt = match alg {
                    EncryptionAlgorithm::RsaesOaepSha1 => {
                        sk.decrypt(Oaep::new::<sha1::Sha1>(), &ct)
                    }
                    _ => sk.decrypt(Oaep::new::<sha2::Sha256>(), &ct),
                }
                .unwrap();
                assert_eq!(pt, plaintext);
            }
        }
    }
}

#[test]
fn oaep_limits_are_the_kms_limits() {
    use EncryptionAlgorithm::*;
    let expected = [
        (KeySpec::Rsa2048, 214, 190),
        (KeySpec::Rsa3072, 342, 318),
        (KeySpec::Rsa4096, 470, 446),
    ];
    for (spec, sha1, sha256) in expected {
        assert_eq!(rsa_max_plaintext_len(spec, RsaesOaepSha1).unwrap(), sha1);
        assert_eq!(
            rsa_max_plaintext_len(spec, RsaesOaepSha256).unwrap(),
            sha256
        );
        for (alg, max) in [(RsaesOaepSha1, sha1), (RsaesOaepSha256, sha256)] {
            assert!(rsa_encrypt(key(spec), alg, &vec![1; max]).is_ok());
            assert!(matches!(
                rsa_encrypt(key(spec), alg, &vec![1; max + 1]),
                Err(CryptoError::PlaintextTooLarge { max: m }) if m == max
            ));
        }
    }
}

#[test]
fn oaep_rejects_tampering_wrong_algorithm_and_wrong_key() {
    let m = key(KeySpec::Rsa2048);
    let alg = EncryptionAlgorithm::RsaesOaepSha256;
    let ct = rsa_encrypt(m, alg, b"secret").unwrap();
    for bit in (0..ct.len() * 8).step_by(37) {
        assert!(matches!(
            rsa_decrypt(m, alg, &flip_bit(&ct, bit)),
            Err(CryptoError::InvalidCiphertext)
        ));
    }
    assert!(matches!(
        rsa_decrypt(m, alg, &ct[1..]),
        Err(CryptoError::InvalidCiphertext)
    ));
    assert!(matches!(
        rsa_decrypt(m, alg, &[]),
        Err(CryptoError::InvalidCiphertext)
    ));
    assert!(matches!(
        rsa_decrypt(m, EncryptionAlgorithm::RsaesOaepSha1, &ct),
        Err(CryptoError::InvalidCiphertext)
    ));
    let other = trent_crypto::PrivateKeyMaterial::generate(KeySpec::Rsa2048).unwrap();
    assert!(matches!(
        rsa_decrypt(&other, alg, &ct),
        Err(CryptoError::InvalidCiphertext)
    ));
}

#[test]
fn oaep_with_keys_or_algorithms_that_cannot_encrypt() {
    let m = key(KeySpec::Rsa2048);
    assert!(matches!(
        rsa_encrypt(m, EncryptionAlgorithm::SymmetricDefault, b"x"),
        Err(CryptoError::IncompatibleAlgorithm { .. })
    ));
    assert!(matches!(
        rsa_encrypt(m, EncryptionAlgorithm::Sm2Pke, b"x"),
        Err(CryptoError::Unsupported(_))
    ));
    for spec in [
        KeySpec::EccNistP256,
        KeySpec::Hmac256,
        KeySpec::SymmetricDefault,
        KeySpec::MlDsa44,
    ] {
        assert!(matches!(
            rsa_encrypt(key(spec), EncryptionAlgorithm::RsaesOaepSha256, b"x"),
            Err(CryptoError::IncompatibleAlgorithm { .. })
        ));
        assert!(matches!(
            rsa_decrypt(key(spec), EncryptionAlgorithm::RsaesOaepSha256, &[0; 256]),
            Err(CryptoError::IncompatibleAlgorithm { .. })
        ));
    }
}

#[test]
fn rsa_data_key_pairs_parse_offline() {
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072] {
        let pair = generate_data_key_pair(spec).unwrap();
        let sk = RsaPrivateKey::from_pkcs8_der(&pair.private_key_pkcs8_der).unwrap();
        let pk = RsaPublicKey::from_public_key_der(&pair.public_key_spki_der).unwrap();
        assert_eq!(sk.to_public_key(), pk);
        // The private key works as Trent key material too (import path).
        let m = trent_crypto::PrivateKeyMaterial::from_bytes(spec, &pair.private_key_pkcs8_der)
            .unwrap();
        assert_eq!(public_key_spki_der(&m).unwrap(), pair.public_key_spki_der);
    }
}
