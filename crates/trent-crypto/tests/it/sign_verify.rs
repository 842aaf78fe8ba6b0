//! Sign/Verify for every spec × algorithm × message type, wrong
//! combinations, and tampered signatures.

use crate::support::{bits_to_flip, flip_bit, implemented_specs, key};
use trent_crypto::{
    CryptoError, KeySpec, MessageType, SigningAlgorithm, public_key_spki_der, sign, verify,
    verify_with_public_key,
};

const MESSAGE: &[u8] = b"the message Trent signs";

/// The digest a DIGEST message must be, computed by an independent SHA-2.
fn digest_of(alg: SigningAlgorithm, msg: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match alg.digest_len() {
        Some(32) => sha2::Sha256::digest(msg).to_vec(),
        Some(48) => sha2::Sha384::digest(msg).to_vec(),
        Some(64) => sha2::Sha512::digest(msg).to_vec(),
        other => panic!("no digest for {alg}: {other:?}"),
    }
}

/// The (algorithm, message type) pairs Trent implements for a spec.
fn supported(spec: KeySpec) -> Vec<(SigningAlgorithm, MessageType)> {
    spec.signing_algorithms()
        .iter()
        .flat_map(|alg| alg.message_types().iter().map(move |mt| (*alg, *mt)))
        .filter(|(alg, mt)| {
            *alg != SigningAlgorithm::Ed25519PhSha512 && *mt != MessageType::ExternalMu
        })
        .collect()
}

fn input(alg: SigningAlgorithm, mt: MessageType) -> Vec<u8> {
    match mt {
        MessageType::Digest => digest_of(alg, MESSAGE),
        _ => MESSAGE.to_vec(),
    }
}

#[test]
fn every_spec_and_algorithm_round_trips() {
    let mut count = 0;
    for spec in implemented_specs() {
        let m = key(spec);
        for (alg, mt) in supported(spec) {
            let msg = input(alg, mt);
            let signature = sign(m, alg, &msg, mt).unwrap();
            assert!(
                verify(m, alg, &msg, mt, &signature).unwrap(),
                "{spec} {alg} {mt}"
            );
            let spki = public_key_spki_der(m).unwrap();
            assert!(verify_with_public_key(spec, &spki, alg, &msg, mt, &signature).unwrap());
            assert!(
                !verify(m, alg, b"another message", MessageType::Raw, &signature).unwrap_or(false)
            );
            count += 1;
        }
    }
    // RSA: 3 sizes × 6 algorithms × 2 types; 4 ECDSA × 2; Ed25519 RAW; 3 ML-DSA RAW.
    assert_eq!(count, 36 + 8 + 1 + 3);
}

#[test]
fn raw_and_digest_are_the_same_signature_scheme() {
    // A DIGEST signature of H(m) verifies as a RAW signature of m and back.
    for spec in [
        KeySpec::Rsa2048,
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256k1,
    ] {
        let m = key(spec);
        for alg in spec.signing_algorithms() {
            let d = digest_of(*alg, MESSAGE);
            let from_digest = sign(m, *alg, &d, MessageType::Digest).unwrap();
            assert!(
                verify(m, *alg, MESSAGE, MessageType::Raw, &from_digest).unwrap(),
                "{spec} {alg}"
            );
            let from_raw = sign(m, *alg, MESSAGE, MessageType::Raw).unwrap();
            assert!(
                verify(m, *alg, &d, MessageType::Digest, &from_raw).unwrap(),
                "{spec} {alg}"
            );
        }
    }
}

#[test]
fn signature_sizes() {
    let len = |spec, alg| {
        sign(key(spec), alg, MESSAGE, MessageType::Raw)
            .unwrap()
            .len()
    };
    assert_eq!(
        len(KeySpec::Rsa2048, SigningAlgorithm::RsassaPssSha256),
        256
    );
    assert_eq!(
        len(KeySpec::Rsa3072, SigningAlgorithm::RsassaPkcs1V15Sha384),
        384
    );
    assert_eq!(
        len(KeySpec::Rsa4096, SigningAlgorithm::RsassaPssSha512),
        512
    );
    assert_eq!(
        len(
            KeySpec::EccNistEdwards25519,
            SigningAlgorithm::Ed25519Sha512
        ),
        64
    );
    assert_eq!(len(KeySpec::MlDsa44, SigningAlgorithm::MlDsaShake256), 2420);
    assert_eq!(len(KeySpec::MlDsa65, SigningAlgorithm::MlDsaShake256), 3309);
    assert_eq!(len(KeySpec::MlDsa87, SigningAlgorithm::MlDsaShake256), 4627);
    // ECDSA signatures are DER SEQUENCEs of two INTEGERs.
    let der = sign(
        key(KeySpec::EccNistP256),
        SigningAlgorithm::EcdsaSha256,
        MESSAGE,
        MessageType::Raw,
    )
    .unwrap();
    assert_eq!(der[0], 0x30);
    assert!((8..=72).contains(&der.len()));
}

#[test]
fn wrong_digest_length_is_reported_with_the_kms_message() {
    for spec in [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP521] {
        for alg in spec.signing_algorithms() {
            let good = alg.digest_len().unwrap();
            for len in [0, 1, good - 1, good + 1, 20] {
                let err = sign(key(spec), *alg, &vec![7; len], MessageType::Digest).unwrap_err();
                assert!(
                    matches!(err, CryptoError::InvalidDigestLength { .. }),
                    "{spec} {alg} {len}"
                );
                assert_eq!(
                    err.to_string(),
                    format!("Digest is invalid length for algorithm {alg}.")
                );
                assert!(matches!(
                    verify(
                        key(spec),
                        *alg,
                        &vec![7; len],
                        MessageType::Digest,
                        &[0; 64]
                    ),
                    Err(CryptoError::InvalidDigestLength { .. })
                ));
            }
        }
    }
}

#[test]
fn algorithms_of_other_specs_are_rejected() {
    for spec in implemented_specs() {
        for alg in SigningAlgorithm::ALL {
            if spec.signing_algorithms().contains(alg) || *alg == SigningAlgorithm::Sm2Dsa {
                continue;
            }
            let err = sign(key(spec), *alg, MESSAGE, MessageType::Raw).unwrap_err();
            assert!(
                matches!(err, CryptoError::IncompatibleAlgorithm { key_spec, algorithm }
                    if key_spec == spec.as_str() && algorithm == alg.as_str()),
                "{spec} {alg}: {err:?}"
            );
            assert!(verify(key(spec), *alg, MESSAGE, MessageType::Raw, &[0; 64]).is_err());
        }
    }
}

#[test]
fn message_types_the_algorithm_does_not_allow_are_rejected() {
    let cases = [
        (
            KeySpec::EccNistEdwards25519,
            SigningAlgorithm::Ed25519Sha512,
            MessageType::Digest,
        ),
        (
            KeySpec::EccNistEdwards25519,
            SigningAlgorithm::Ed25519PhSha512,
            MessageType::Raw,
        ),
        (
            KeySpec::MlDsa44,
            SigningAlgorithm::MlDsaShake256,
            MessageType::Digest,
        ),
        (
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPssSha256,
            MessageType::ExternalMu,
        ),
        (
            KeySpec::EccNistP256,
            SigningAlgorithm::EcdsaSha256,
            MessageType::ExternalMu,
        ),
    ];
    for (spec, alg, mt) in cases {
        assert!(
            matches!(
                sign(key(spec), alg, &[0; 64], mt),
                Err(CryptoError::UnsupportedMessageType { .. })
            ),
            "{spec} {alg} {mt}"
        );
    }
}

#[test]
fn what_aws_lc_rs_cannot_do_is_unsupported_not_faked() {
    let ed = key(KeySpec::EccNistEdwards25519);
    let d = digest_of(SigningAlgorithm::Ed25519PhSha512, MESSAGE);
    assert!(matches!(
        sign(
            ed,
            SigningAlgorithm::Ed25519PhSha512,
            &d,
            MessageType::Digest
        ),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        verify(
            ed,
            SigningAlgorithm::Ed25519PhSha512,
            &d,
            MessageType::Digest,
            &[0; 64]
        ),
        Err(CryptoError::Unsupported(_))
    ));
    let ml = key(KeySpec::MlDsa44);
    assert!(matches!(
        sign(
            ml,
            SigningAlgorithm::MlDsaShake256,
            &[0; 64],
            MessageType::ExternalMu
        ),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        sign(
            ml,
            SigningAlgorithm::MlDsaShake256,
            &[0; 63],
            MessageType::ExternalMu
        ),
        Err(CryptoError::InvalidDigestLength { .. })
    ));
}

#[test]
fn flipped_signature_bits_are_rejected() {
    for spec in implemented_specs() {
        let m = key(spec);
        for (alg, mt) in supported(spec) {
            let msg = input(alg, mt);
            let signature = sign(m, alg, &msg, mt).unwrap();
            for bit in bits_to_flip(signature.len()) {
                let bad = flip_bit(&signature, bit);
                assert!(
                    !verify(m, alg, &msg, mt, &bad).unwrap(),
                    "{spec} {alg} {mt} bit {bit}"
                );
            }
            assert!(!verify(m, alg, &msg, mt, &signature[..signature.len() - 1]).unwrap());
            assert!(!verify(m, alg, &msg, mt, &[]).unwrap());
            let mut longer = signature.clone();
            longer.push(0);
            assert!(
                !verify(m, alg, &msg, mt, &longer).unwrap(),
                "{spec} {alg} trailing byte"
            );
            // One flipped message bit fails too.
            let other = flip_bit(&msg, 3);
            assert!(
                !verify(m, alg, &other, mt, &signature).unwrap(),
                "{spec} {alg}"
            );
        }
    }
}

#[test]
fn signatures_of_another_key_are_rejected() {
    let a = key(KeySpec::EccNistP256);
    let b = trent_crypto::PrivateKeyMaterial::generate(KeySpec::EccNistP256).unwrap();
    let signature = sign(a, SigningAlgorithm::EcdsaSha256, MESSAGE, MessageType::Raw).unwrap();
    assert!(
        !verify(
            &b,
            SigningAlgorithm::EcdsaSha256,
            MESSAGE,
            MessageType::Raw,
            &signature
        )
        .unwrap()
    );
}

#[test]
fn malformed_public_keys_are_errors() {
    let alg = SigningAlgorithm::EcdsaSha256;
    for junk in [&b""[..], b"\x30\x00", &[0u8; 91][..]] {
        assert!(matches!(
            verify_with_public_key(
                KeySpec::EccNistP256,
                junk,
                alg,
                MESSAGE,
                MessageType::Raw,
                &[0; 70]
            ),
            Err(CryptoError::InvalidPublicKey)
        ));
    }
    // A P-384 key is not a P-256 key.
    let p384 = public_key_spki_der(key(KeySpec::EccNistP384)).unwrap();
    assert!(matches!(
        verify_with_public_key(
            KeySpec::EccNistP256,
            &p384,
            alg,
            MESSAGE,
            MessageType::Raw,
            &[0; 70]
        ),
        Err(CryptoError::InvalidPublicKey)
    ));
}

#[test]
fn symmetric_and_hmac_keys_cannot_sign() {
    for spec in [KeySpec::SymmetricDefault, KeySpec::Hmac512] {
        assert!(matches!(
            sign(
                key(spec),
                SigningAlgorithm::EcdsaSha256,
                MESSAGE,
                MessageType::Raw
            ),
            Err(CryptoError::IncompatibleAlgorithm { .. })
        ));
    }
}
