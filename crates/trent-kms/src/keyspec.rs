//! Key specs, key usages and the algorithms each combination offers (as DescribeKey reports).

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

/// The key usages a key spec allows (KMS developer guide, key spec reference).
pub fn allowed_usages(spec: &str) -> &'static [&'static str] {
    match spec {
        "SYMMETRIC_DEFAULT" => &["ENCRYPT_DECRYPT"],
        "RSA_2048" | "RSA_3072" | "RSA_4096" => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" => &["SIGN_VERIFY", "KEY_AGREEMENT"],
        "ECC_SECG_P256K1" | "ECC_NIST_EDWARDS25519" => &["SIGN_VERIFY"],
        "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512" => &["GENERATE_VERIFY_MAC"],
        "SM2" => &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"],
        "ML_DSA_44" | "ML_DSA_65" | "ML_DSA_87" => &["SIGN_VERIFY"],
        _ => &[],
    }
}

#[derive(Debug, Default)]
pub struct Algorithms {
    pub encryption: Option<Vec<&'static str>>,
    pub signing: Option<Vec<&'static str>>,
    pub mac: Option<Vec<&'static str>>,
    pub key_agreement: Option<Vec<&'static str>>,
}

pub fn algorithms(spec: &str, usage: &str) -> Algorithms {
    let mut a = Algorithms::default();
    match (spec, usage) {
        ("SYMMETRIC_DEFAULT", _) => a.encryption = Some(vec!["SYMMETRIC_DEFAULT"]),
        ("RSA_2048" | "RSA_3072" | "RSA_4096", "ENCRYPT_DECRYPT") => {
            a.encryption = Some(vec!["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        }
        ("RSA_2048" | "RSA_3072" | "RSA_4096", "SIGN_VERIFY") => {
            a.signing = Some(vec![
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ])
        }
        ("ECC_NIST_P256" | "ECC_SECG_P256K1", "SIGN_VERIFY") => {
            a.signing = Some(vec!["ECDSA_SHA_256"])
        }
        ("ECC_NIST_P384", "SIGN_VERIFY") => a.signing = Some(vec!["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", "SIGN_VERIFY") => a.signing = Some(vec!["ECDSA_SHA_512"]),
        ("ECC_NIST_EDWARDS25519", _) => {
            a.signing = Some(vec!["ED25519_SHA_512", "ED25519_PH_SHA_512"])
        }
        ("ML_DSA_44" | "ML_DSA_65" | "ML_DSA_87", _) => a.signing = Some(vec!["ML_DSA_SHAKE_256"]),
        (_, "KEY_AGREEMENT") => a.key_agreement = Some(vec!["ECDH"]),
        ("HMAC_224", _) => a.mac = Some(vec!["HMAC_SHA_224"]),
        ("HMAC_256", _) => a.mac = Some(vec!["HMAC_SHA_256"]),
        ("HMAC_384", _) => a.mac = Some(vec!["HMAC_SHA_384"]),
        ("HMAC_512", _) => a.mac = Some(vec!["HMAC_SHA_512"]),
        _ => {}
    }
    a
}
