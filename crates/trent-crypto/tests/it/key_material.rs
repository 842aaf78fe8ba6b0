//! Key material of every spec: generation, serialization, public keys,
//! names, and which spec allows what.

use crate::support::{implemented_specs, key};
use trent_crypto::{
    CryptoError, EncryptionAlgorithm, KeySpec, KeyUsage, MacAlgorithm, MessageType,
    PrivateKeyMaterial, SigningAlgorithm, public_key_spki_der,
};

#[test]
fn material_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateKeyMaterial>();
}

#[test]
fn every_spec_round_trips_through_bytes() {
    for spec in implemented_specs() {
        let m = key(spec);
        assert_eq!(m.spec(), spec);
        let bytes = m.to_bytes();
        let again = PrivateKeyMaterial::from_bytes(spec, &bytes).unwrap();
        assert_eq!(again.to_bytes(), bytes, "{spec}");
        match public_key_spki_der(m) {
            Ok(spki) => {
                assert_eq!(public_key_spki_der(&again).unwrap(), spki, "{spec}");
                assert_eq!(spki[0], 0x30, "{spec}: SPKI is a DER SEQUENCE");
            }
            Err(CryptoError::NoPublicKey { key_spec }) => {
                assert_eq!(key_spec, spec.as_str());
                assert!(spec.signing_algorithms().is_empty());
            }
            Err(e) => panic!("{spec}: {e}"),
        }
        assert_eq!(
            m.as_symmetric().is_some(),
            spec == KeySpec::SymmetricDefault
        );
    }
}

#[test]
fn generated_material_is_fresh() {
    for spec in [
        KeySpec::SymmetricDefault,
        KeySpec::EccNistP256,
        KeySpec::Hmac256,
        KeySpec::MlDsa44,
    ] {
        let a = PrivateKeyMaterial::generate(spec).unwrap();
        let b = PrivateKeyMaterial::generate(spec).unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes(), "{spec}");
    }
}

#[test]
fn serialized_sizes() {
    assert_eq!(key(KeySpec::SymmetricDefault).to_bytes().len(), 32);
    assert_eq!(key(KeySpec::Hmac224).to_bytes().len(), 28);
    assert_eq!(key(KeySpec::Hmac256).to_bytes().len(), 32);
    assert_eq!(key(KeySpec::Hmac384).to_bytes().len(), 48);
    assert_eq!(key(KeySpec::Hmac512).to_bytes().len(), 64);
}

#[test]
fn material_of_another_spec_is_rejected() {
    let pairs = [
        (KeySpec::Rsa2048, KeySpec::Rsa3072),
        (KeySpec::Rsa3072, KeySpec::Rsa4096),
        (KeySpec::Rsa4096, KeySpec::Rsa2048),
        (KeySpec::EccNistP256, KeySpec::EccNistP384),
        (KeySpec::EccNistP384, KeySpec::EccNistP521),
        (KeySpec::EccNistP256, KeySpec::EccSecgP256k1),
        (KeySpec::EccSecgP256k1, KeySpec::EccNistP256),
        (KeySpec::EccNistEdwards25519, KeySpec::EccNistP256),
        (KeySpec::EccNistP256, KeySpec::EccNistEdwards25519),
        (KeySpec::MlDsa44, KeySpec::MlDsa65),
        (KeySpec::MlDsa87, KeySpec::MlDsa44),
        (KeySpec::Rsa2048, KeySpec::MlDsa44),
        (KeySpec::Hmac224, KeySpec::SymmetricDefault),
    ];
    for (made, claimed) in pairs {
        assert!(
            matches!(
                PrivateKeyMaterial::from_bytes(claimed, &key(made).to_bytes()),
                Err(CryptoError::InvalidKeyMaterial)
            ),
            "{made} material accepted as {claimed}"
        );
    }
    for spec in implemented_specs() {
        for junk in [&b""[..], &[0u8; 5][..], &[0x30, 0x82, 0xff, 0xff][..]] {
            assert!(
                PrivateKeyMaterial::from_bytes(spec, junk).is_err(),
                "{spec}"
            );
        }
    }
}

#[test]
fn hmac_import_lengths() {
    for (spec, min, max) in [
        (KeySpec::Hmac224, 28, 64),
        (KeySpec::Hmac256, 32, 64),
        (KeySpec::Hmac384, 48, 128),
        (KeySpec::Hmac512, 64, 128),
    ] {
        assert!(PrivateKeyMaterial::from_bytes(spec, &vec![1; min - 1]).is_err());
        assert!(PrivateKeyMaterial::from_bytes(spec, &vec![1; min]).is_ok());
        assert!(PrivateKeyMaterial::from_bytes(spec, &vec![1; max]).is_ok());
        assert!(PrivateKeyMaterial::from_bytes(spec, &vec![1; max + 1]).is_err());
    }
}

#[test]
fn sm2_is_unsupported() {
    assert!(matches!(
        PrivateKeyMaterial::generate(KeySpec::Sm2),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(
        PrivateKeyMaterial::from_bytes(KeySpec::Sm2, &[0; 32]),
        Err(CryptoError::Unsupported(_))
    ));
}

#[test]
fn secrets_are_not_printed() {
    let m = key(KeySpec::Hmac256);
    let hex: String = m.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let debug = format!("{m:?}");
    assert_eq!(debug, "PrivateKeyMaterial(HMAC_256, <redacted>)");
    assert!(!debug.contains(&hex[..8]));
    let pair = trent_crypto::generate_data_key_pair(KeySpec::EccNistP256).unwrap();
    assert!(format!("{pair:?}").contains("<redacted>"));
}

#[test]
fn names_round_trip_and_are_case_sensitive() {
    fn check<T>(all: &[T])
    where
        T: Copy + std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug,
        T::Err: std::fmt::Debug,
    {
        for v in all {
            let name = v.to_string();
            assert_eq!(name.parse::<T>().unwrap(), *v);
            assert!(name.to_lowercase().parse::<T>().is_err());
        }
    }
    check(KeySpec::ALL);
    check(KeyUsage::ALL);
    check(SigningAlgorithm::ALL);
    check(MessageType::ALL);
    check(EncryptionAlgorithm::ALL);
    check(MacAlgorithm::ALL);
    assert_eq!("RSA_2048".parse::<KeySpec>().unwrap(), KeySpec::Rsa2048);
    assert_eq!(
        "ECC_SECG_P256K1".parse::<KeySpec>().unwrap(),
        KeySpec::EccSecgP256k1
    );
    assert_eq!("ML_DSA_44".parse::<KeySpec>().unwrap(), KeySpec::MlDsa44);
    assert_eq!(
        "RSASSA_PKCS1_V1_5_SHA_256"
            .parse::<SigningAlgorithm>()
            .unwrap(),
        SigningAlgorithm::RsassaPkcs1V15Sha256
    );
    assert!(matches!(
        "RSA_1024".parse::<KeySpec>(),
        Err(CryptoError::UnknownName {
            kind: "KeySpec",
            ..
        })
    ));
}

#[test]
fn spec_capabilities_follow_the_kms_key_spec_reference() {
    use KeySpec::*;
    assert_eq!(Rsa3072.signing_algorithms().len(), 6);
    assert_eq!(
        EccNistP256.signing_algorithms(),
        &[SigningAlgorithm::EcdsaSha256]
    );
    assert_eq!(
        EccSecgP256k1.signing_algorithms(),
        &[SigningAlgorithm::EcdsaSha256]
    );
    assert_eq!(
        EccNistP384.signing_algorithms(),
        &[SigningAlgorithm::EcdsaSha384]
    );
    assert_eq!(
        EccNistP521.signing_algorithms(),
        &[SigningAlgorithm::EcdsaSha512]
    );
    assert_eq!(
        EccNistEdwards25519.signing_algorithms(),
        &[
            SigningAlgorithm::Ed25519Sha512,
            SigningAlgorithm::Ed25519PhSha512
        ]
    );
    assert_eq!(
        MlDsa65.signing_algorithms(),
        &[SigningAlgorithm::MlDsaShake256]
    );
    assert!(Hmac256.signing_algorithms().is_empty());
    assert_eq!(
        Rsa2048.encryption_algorithms(),
        &[
            EncryptionAlgorithm::RsaesOaepSha1,
            EncryptionAlgorithm::RsaesOaepSha256
        ]
    );
    assert_eq!(
        SymmetricDefault.encryption_algorithms(),
        &[EncryptionAlgorithm::SymmetricDefault]
    );
    assert_eq!(Hmac224.mac_algorithms(), &[MacAlgorithm::HmacSha224]);
    assert_eq!(
        EccNistP256.key_usages(),
        &[KeyUsage::SignVerify, KeyUsage::KeyAgreement]
    );
    assert!(EccNistP521.supports_key_agreement() && !EccSecgP256k1.supports_key_agreement());
    assert!(EccNistEdwards25519.is_data_key_pair_spec() && !MlDsa44.is_data_key_pair_spec());
    assert_eq!(SigningAlgorithm::EcdsaSha384.digest_len(), Some(48));
    assert_eq!(SigningAlgorithm::Ed25519Sha512.digest_len(), None);
}
