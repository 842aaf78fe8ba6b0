//! GenerateMac/VerifyMac against RustCrypto's `hmac`.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use crate::support::{bits_to_flip, flip_bit, key};
use hmac::{Hmac, Mac};
use trent_crypto::{
    CryptoError, KeySpec, MacAlgorithm, PrivateKeyMaterial, generate_mac, verify_mac,
};

fn oracle(alg: MacAlgorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        mac.update(msg);
        mac.finalize().into_bytes().to_vec()
    }
    match alg {
        MacAlgorithm::HmacSha224 => run::<Hmac<sha2::Sha224>>(key, msg),
        MacAlgorithm::HmacSha256 => run::<Hmac<sha2::Sha256>>(key, msg),
        MacAlgorithm::HmacSha384 => run::<Hmac<sha2::Sha384>>(key, msg),
        MacAlgorithm::HmacSha512 => run::<Hmac<sha2::Sha512>>(key, msg),
    }
}

const SPECS: [(KeySpec, MacAlgorithm, usize); 4] = [
    (KeySpec::Hmac224, MacAlgorithm::HmacSha224, 28),
    (KeySpec::Hmac256, MacAlgorithm::HmacSha256, 32),
    (KeySpec::Hmac384, MacAlgorithm::HmacSha384, 48),
    (KeySpec::Hmac512, MacAlgorithm::HmacSha512, 64),
];

#[test]
fn macs_match_the_oracle() {
    for (spec, alg, tag_len) in SPECS {
        let m = key(spec);
        for msg in [&b""[..], b"a", &[0xab; 4096][..]] {
            let tag = generate_mac(m, alg, msg).unwrap();
            assert_eq!(tag.len(), tag_len);
            assert_eq!(tag, oracle(alg, &m.to_bytes(), msg), "{spec}");
            assert!(verify_mac(m, alg, msg, &tag).unwrap());
        }
    }
}

#[test]
fn imported_keys_of_any_allowed_length_match_the_oracle() {
    for (spec, alg, _) in SPECS {
        for len in [spec_min(spec), 64] {
            let raw: Vec<u8> = (0..len as u8).collect();
            let m = PrivateKeyMaterial::from_bytes(spec, &raw).unwrap();
            assert_eq!(
                generate_mac(&m, alg, b"msg").unwrap(),
                oracle(alg, &raw, b"msg"),
                "{spec} {len}"
            );
        }
    }
}

fn spec_min(spec: KeySpec) -> usize {
    SPECS
        .iter()
        .find(|(s, _, _)| *s == spec)
        .map(|(_, _, l)| *l)
        .unwrap()
}

#[test]
fn rfc4231_test_case_2() {
    // Pins the oracle itself to a published vector. (Trent cannot take the
    // 4-byte key: KMS HMAC keys are at least as long as the hash.)
    let expected_256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    let tag = oracle(
        MacAlgorithm::HmacSha256,
        b"Jefe",
        b"what do ya want for nothing?",
    );
    assert_eq!(hex::encode(tag), expected_256);
}

#[test]
fn tampered_macs_and_messages_are_rejected() {
    for (spec, alg, _) in SPECS {
        let m = key(spec);
        let tag = generate_mac(m, alg, b"message").unwrap();
        for bit in bits_to_flip(tag.len()) {
            assert!(
                !verify_mac(m, alg, b"message", &flip_bit(&tag, bit)).unwrap(),
                "{spec} bit {bit}"
            );
        }
        assert!(!verify_mac(m, alg, b"messagf", &tag).unwrap());
        assert!(!verify_mac(m, alg, b"message", &tag[..tag.len() - 1]).unwrap());
        assert!(!verify_mac(m, alg, b"message", &[]).unwrap());
        let other = PrivateKeyMaterial::generate(spec).unwrap();
        assert!(!verify_mac(&other, alg, b"message", &tag).unwrap());
    }
}

#[test]
fn wrong_algorithm_or_key_type_is_an_error() {
    for (spec, _, _) in SPECS {
        for alg in MacAlgorithm::ALL {
            if spec.mac_algorithms().contains(alg) {
                continue;
            }
            assert!(matches!(
                generate_mac(key(spec), *alg, b"m"),
                Err(CryptoError::IncompatibleAlgorithm { .. })
            ));
            assert!(matches!(
                verify_mac(key(spec), *alg, b"m", &[0; 32]),
                Err(CryptoError::IncompatibleAlgorithm { .. })
            ));
        }
    }
    for spec in [
        KeySpec::SymmetricDefault,
        KeySpec::Rsa2048,
        KeySpec::EccNistP256,
    ] {
        assert!(matches!(
            generate_mac(key(spec), MacAlgorithm::HmacSha256, b"m"),
            Err(CryptoError::IncompatibleAlgorithm { .. })
        ));
    }
}
