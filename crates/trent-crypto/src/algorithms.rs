//! The algorithm enums of the KMS API, under their AWS names.

use aws_lc_rs::digest;

use crate::names::aws_names;

aws_names! {
    /// `SigningAlgorithm` of Sign and Verify.
    pub enum SigningAlgorithm {
        RsassaPssSha256 => "RSASSA_PSS_SHA_256",
        RsassaPssSha384 => "RSASSA_PSS_SHA_384",
        RsassaPssSha512 => "RSASSA_PSS_SHA_512",
        RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
        RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
        RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
        EcdsaSha256 => "ECDSA_SHA_256",
        EcdsaSha384 => "ECDSA_SHA_384",
        EcdsaSha512 => "ECDSA_SHA_512",
        Ed25519Sha512 => "ED25519_SHA_512",
        Ed25519PhSha512 => "ED25519_PH_SHA_512",
        MlDsaShake256 => "ML_DSA_SHAKE_256",
        /// Parsed so the service can name it; Trent has no SM2.
        Sm2Dsa => "SM2DSA",
    }
}

aws_names! {
    /// `MessageType` of Sign and Verify.
    pub enum MessageType {
        Raw => "RAW",
        Digest => "DIGEST",
        /// The 64-byte ML-DSA message representative μ (FIPS 204 §6.2).
        ExternalMu => "EXTERNAL_MU",
    }
}

aws_names! {
    /// `EncryptionAlgorithm` of Encrypt, Decrypt and ReEncrypt.
    pub enum EncryptionAlgorithm {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        /// Parsed so the service can name it; Trent has no SM2.
        Sm2Pke => "SM2PKE",
    }
}

aws_names! {
    /// `MacAlgorithm` of GenerateMac and VerifyMac.
    pub enum MacAlgorithm {
        HmacSha224 => "HMAC_SHA_224",
        HmacSha256 => "HMAC_SHA_256",
        HmacSha384 => "HMAC_SHA_384",
        HmacSha512 => "HMAC_SHA_512",
    }
}

aws_names! {
    /// `KeyAgreementAlgorithm` of DeriveSharedSecret.
    pub enum KeyAgreementAlgorithm {
        Ecdh => "ECDH",
    }
}

impl SigningAlgorithm {
    /// The hash a DIGEST message must have been made with, if the algorithm
    /// accepts digests at all.
    pub(crate) fn digest_algorithm(self) -> Option<&'static digest::Algorithm> {
        use SigningAlgorithm::*;
        match self {
            RsassaPssSha256 | RsassaPkcs1V15Sha256 | EcdsaSha256 => Some(&digest::SHA256),
            RsassaPssSha384 | RsassaPkcs1V15Sha384 | EcdsaSha384 => Some(&digest::SHA384),
            RsassaPssSha512 | RsassaPkcs1V15Sha512 | EcdsaSha512 | Ed25519PhSha512 => {
                Some(&digest::SHA512)
            }
            Ed25519Sha512 | MlDsaShake256 | Sm2Dsa => None,
        }
    }

    /// The length in bytes a DIGEST message must have for this algorithm.
    pub fn digest_len(self) -> Option<usize> {
        self.digest_algorithm().map(digest::Algorithm::output_len)
    }

    /// Which message types KMS accepts with this algorithm.
    pub fn message_types(self) -> &'static [MessageType] {
        use SigningAlgorithm::*;
        match self {
            // Pure EdDSA hashes inside; it has no digest mode.
            Ed25519Sha512 => &[MessageType::Raw],
            // KMS requires the SHA-512 digest for the pre-hash variant.
            Ed25519PhSha512 => &[MessageType::Digest],
            MlDsaShake256 => &[MessageType::Raw, MessageType::ExternalMu],
            _ => &[MessageType::Raw, MessageType::Digest],
        }
    }
}

impl MacAlgorithm {
    pub(crate) fn hmac(self) -> aws_lc_rs::hmac::Algorithm {
        use aws_lc_rs::hmac;
        match self {
            MacAlgorithm::HmacSha224 => hmac::HMAC_SHA224,
            MacAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
            MacAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
            MacAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }
}
