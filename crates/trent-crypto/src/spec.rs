//! Key specs and what each one can do (KMS developer guide, key spec reference).

use crate::algorithms::{EncryptionAlgorithm, MacAlgorithm, SigningAlgorithm};
use crate::names::aws_names;

aws_names! {
    /// `KeySpec` of CreateKey (and, for the asymmetric ones, `KeyPairSpec`
    /// of GenerateDataKeyPair).
    pub enum KeySpec {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
        EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
        Hmac224 => "HMAC_224",
        Hmac256 => "HMAC_256",
        Hmac384 => "HMAC_384",
        Hmac512 => "HMAC_512",
        MlDsa44 => "ML_DSA_44",
        MlDsa65 => "ML_DSA_65",
        MlDsa87 => "ML_DSA_87",
        /// Parsed so the service can name it; every operation on it is
        /// [`crate::CryptoError::Unsupported`] (SM2 exists only in China regions).
        Sm2 => "SM2",
    }
}

aws_names! {
    /// `KeyUsage` of CreateKey.
    pub enum KeyUsage {
        EncryptDecrypt => "ENCRYPT_DECRYPT",
        SignVerify => "SIGN_VERIFY",
        GenerateVerifyMac => "GENERATE_VERIFY_MAC",
        KeyAgreement => "KEY_AGREEMENT",
    }
}

const RSA_SIGNING: &[SigningAlgorithm] = &[
    SigningAlgorithm::RsassaPssSha256,
    SigningAlgorithm::RsassaPssSha384,
    SigningAlgorithm::RsassaPssSha512,
    SigningAlgorithm::RsassaPkcs1V15Sha256,
    SigningAlgorithm::RsassaPkcs1V15Sha384,
    SigningAlgorithm::RsassaPkcs1V15Sha512,
];

impl KeySpec {
    /// The key usages CreateKey accepts with this spec.
    pub fn key_usages(self) -> &'static [KeyUsage] {
        use KeySpec::*;
        use KeyUsage::*;
        match self {
            SymmetricDefault => &[EncryptDecrypt],
            Rsa2048 | Rsa3072 | Rsa4096 => &[EncryptDecrypt, SignVerify],
            EccNistP256 | EccNistP384 | EccNistP521 => &[SignVerify, KeyAgreement],
            EccSecgP256k1 | EccNistEdwards25519 | MlDsa44 | MlDsa65 | MlDsa87 => &[SignVerify],
            Hmac224 | Hmac256 | Hmac384 | Hmac512 => &[GenerateVerifyMac],
            Sm2 => &[EncryptDecrypt, SignVerify, KeyAgreement],
        }
    }

    /// The signing algorithms of a SIGN_VERIFY key of this spec (empty if
    /// the spec cannot sign).
    pub fn signing_algorithms(self) -> &'static [SigningAlgorithm] {
        use KeySpec::*;
        use SigningAlgorithm as S;
        match self {
            Rsa2048 | Rsa3072 | Rsa4096 => RSA_SIGNING,
            EccNistP256 | EccSecgP256k1 => &[S::EcdsaSha256],
            EccNistP384 => &[S::EcdsaSha384],
            EccNistP521 => &[S::EcdsaSha512],
            EccNistEdwards25519 => &[S::Ed25519Sha512, S::Ed25519PhSha512],
            MlDsa44 | MlDsa65 | MlDsa87 => &[S::MlDsaShake256],
            Sm2 => &[S::Sm2Dsa],
            SymmetricDefault | Hmac224 | Hmac256 | Hmac384 | Hmac512 => &[],
        }
    }

    /// The encryption algorithms of an ENCRYPT_DECRYPT key of this spec.
    pub fn encryption_algorithms(self) -> &'static [EncryptionAlgorithm] {
        use EncryptionAlgorithm as E;
        use KeySpec::*;
        match self {
            SymmetricDefault => &[E::SymmetricDefault],
            Rsa2048 | Rsa3072 | Rsa4096 => &[E::RsaesOaepSha1, E::RsaesOaepSha256],
            Sm2 => &[E::Sm2Pke],
            _ => &[],
        }
    }

    /// The MAC algorithm of an HMAC key spec: exactly one per spec.
    pub fn mac_algorithms(self) -> &'static [MacAlgorithm] {
        use KeySpec::*;
        use MacAlgorithm as M;
        match self {
            Hmac224 => &[M::HmacSha224],
            Hmac256 => &[M::HmacSha256],
            Hmac384 => &[M::HmacSha384],
            Hmac512 => &[M::HmacSha512],
            _ => &[],
        }
    }

    /// Whether a KEY_AGREEMENT key of this spec supports ECDH in Trent.
    pub fn supports_key_agreement(self) -> bool {
        matches!(
            self,
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521
        )
    }

    /// Whether GenerateDataKeyPair accepts this spec as `KeyPairSpec`.
    pub fn is_data_key_pair_spec(self) -> bool {
        use KeySpec::*;
        matches!(
            self,
            Rsa2048
                | Rsa3072
                | Rsa4096
                | EccNistP256
                | EccNistP384
                | EccNistP521
                | EccSecgP256k1
                | EccNistEdwards25519
                | Sm2
        )
    }
}
