//! Key specs, key usages and the algorithms each combination offers (as DescribeKey and
//! GetPublicKey report them), and the enum value sets of the API model in the model's order
//! (they appear in ValidationException messages).

use std::str::FromStr;

use trent_crypto::{KeySpec, KeyUsage};

pub const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
];

pub const KEY_USAGES: &[&str] = &[
    "SIGN_VERIFY",
    "ENCRYPT_DECRYPT",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
];

pub const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];

pub const ENCRYPTION_ALGORITHMS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];

pub const DATA_KEY_SPECS: &[&str] = &["AES_256", "AES_128"];

pub const SIGNING_ALGORITHMS: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
];

pub const MESSAGE_TYPES: &[&str] = &["RAW", "DIGEST", "EXTERNAL_MU"];

pub const MAC_ALGORITHMS: &[&str] = &[
    "HMAC_SHA_224",
    "HMAC_SHA_256",
    "HMAC_SHA_384",
    "HMAC_SHA_512",
];

pub const KEY_AGREEMENT_ALGORITHMS: &[&str] = &["ECDH"];

pub const DATA_KEY_PAIR_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SM2",
    "ECC_NIST_EDWARDS25519",
];

/// The key usages a key spec allows (KMS developer guide, key spec reference).
pub fn allowed_usages(spec: &str) -> &'static [&'static str] {
    let Ok(spec) = KeySpec::from_str(spec) else {
        return &[];
    };
    use KeySpec::*;
    match spec {
        SymmetricDefault => &["ENCRYPT_DECRYPT"],
        Rsa2048 | Rsa3072 | Rsa4096 => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        EccNistP256 | EccNistP384 | EccNistP521 => &["SIGN_VERIFY", "KEY_AGREEMENT"],
        EccSecgP256k1 | EccNistEdwards25519 | MlDsa44 | MlDsa65 | MlDsa87 => &["SIGN_VERIFY"],
        Hmac224 | Hmac256 | Hmac384 | Hmac512 => &["GENERATE_VERIFY_MAC"],
        Sm2 => &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"],
    }
}

/// The algorithm lists of a key; only the list that belongs to the key's usage is present.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Algorithms {
    pub encryption: Option<Vec<&'static str>>,
    pub signing: Option<Vec<&'static str>>,
    pub mac: Option<Vec<&'static str>>,
    pub key_agreement: Option<Vec<&'static str>>,
}

/// AWS lists RSA signing algorithms PKCS#1 v1.5 first (DescribeKey and GetPublicKey examples of
/// the API reference).
const RSA_SIGNING: &[&str] = &[
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
];

pub fn algorithms(spec: &str, usage: &str) -> Algorithms {
    let mut a = Algorithms::default();
    let (Ok(spec), Ok(usage)) = (KeySpec::from_str(spec), KeyUsage::from_str(usage)) else {
        return a;
    };
    match usage {
        KeyUsage::EncryptDecrypt => {
            a.encryption = Some(
                spec.encryption_algorithms()
                    .iter()
                    .map(|e| e.as_str())
                    .collect(),
            );
        }
        KeyUsage::SignVerify => {
            a.signing = Some(match spec {
                KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => RSA_SIGNING.to_vec(),
                _ => spec
                    .signing_algorithms()
                    .iter()
                    .map(|s| s.as_str())
                    .collect(),
            });
        }
        KeyUsage::GenerateVerifyMac => {
            a.mac = Some(spec.mac_algorithms().iter().map(|m| m.as_str()).collect());
        }
        KeyUsage::KeyAgreement => {
            a.key_agreement = Some(vec!["ECDH"]);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_lists_as_aws_reports_them() {
        let a = algorithms("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
        assert_eq!(a.encryption, Some(vec!["SYMMETRIC_DEFAULT"]));
        assert_eq!((a.signing, a.mac, a.key_agreement), (None, None, None));
        let a = algorithms("RSA_4096", "ENCRYPT_DECRYPT");
        assert_eq!(
            a.encryption,
            Some(vec!["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        );
        let a = algorithms("RSA_2048", "SIGN_VERIFY");
        assert_eq!(a.signing.as_deref(), Some(RSA_SIGNING));
        assert_eq!(a.encryption, None);
        assert_eq!(
            algorithms("ECC_NIST_P521", "SIGN_VERIFY").signing,
            Some(vec!["ECDSA_SHA_512"])
        );
        assert_eq!(
            algorithms("ECC_SECG_P256K1", "SIGN_VERIFY").signing,
            Some(vec!["ECDSA_SHA_256"])
        );
        assert_eq!(
            algorithms("ECC_NIST_EDWARDS25519", "SIGN_VERIFY").signing,
            Some(vec!["ED25519_SHA_512", "ED25519_PH_SHA_512"])
        );
        assert_eq!(
            algorithms("ML_DSA_65", "SIGN_VERIFY").signing,
            Some(vec!["ML_DSA_SHAKE_256"])
        );
        let a = algorithms("ECC_NIST_P384", "KEY_AGREEMENT");
        assert_eq!(a.key_agreement, Some(vec!["ECDH"]));
        assert_eq!(a.signing, None);
        assert_eq!(
            algorithms("HMAC_384", "GENERATE_VERIFY_MAC").mac,
            Some(vec!["HMAC_SHA_384"])
        );
        assert_eq!(algorithms("NOPE", "SIGN_VERIFY"), Algorithms::default());
    }

    #[test]
    fn usages_match_the_crypto_crate() {
        for &spec in KeySpec::ALL {
            let ours = allowed_usages(spec.as_str());
            let theirs: Vec<&str> = spec.key_usages().iter().map(|u| u.as_str()).collect();
            assert_eq!(ours, theirs.as_slice(), "{spec}");
        }
        assert!(allowed_usages("NOPE").is_empty());
    }

    #[test]
    fn enum_sets_cover_every_name() {
        for s in KeySpec::ALL {
            assert!(KEY_SPECS.contains(&s.as_str()));
        }
        for s in trent_crypto::SigningAlgorithm::ALL {
            assert!(SIGNING_ALGORITHMS.contains(&s.as_str()));
        }
        for s in trent_crypto::MacAlgorithm::ALL {
            assert!(MAC_ALGORITHMS.contains(&s.as_str()));
        }
        for s in trent_crypto::MessageType::ALL {
            assert!(MESSAGE_TYPES.contains(&s.as_str()));
        }
        for s in DATA_KEY_PAIR_SPECS {
            assert!(KeySpec::from_str(s).unwrap().is_data_key_pair_spec());
        }
    }
}
