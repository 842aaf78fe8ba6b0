//! Sign and Verify: RSA (PSS, PKCS#1 v1.5), ECDSA (DER signatures), Ed25519,
//! ML-DSA; each with the message types KMS allows.
//!
//! Not available through aws-lc-rs's safe API, and therefore
//! [`CryptoError::Unsupported`] rather than faked:
//! - ED25519_PH_SHA_512 (Ed25519ph, RFC 8032 HashEdDSA): aws-lc-rs exposes
//!   only pure Ed25519;
//! - MessageType EXTERNAL_MU for ML-DSA: aws-lc-rs signs and verifies only
//!   whole messages (it cannot take a precomputed μ).

use aws_lc_rs::digest::Digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, RsaEncoding, UnparsedPublicKey, VerificationAlgorithm};

use crate::material::ParsedKey;
use crate::{CryptoError, KeySpec, MessageType, PrivateKeyMaterial, SigningAlgorithm};

/// What is actually signed, after the message type was checked.
enum Input<'a> {
    Raw(&'a [u8]),
    Digest(Digest),
}

/// Signs `message` (or, with [`MessageType::Digest`], the digest it is)
/// with the private key. ECDSA signatures are DER-encoded, as KMS returns
/// them; RSA-PSS uses a salt as long as the hash.
pub fn sign(
    m: &PrivateKeyMaterial,
    alg: SigningAlgorithm,
    message: &[u8],
    mt: MessageType,
) -> Result<Vec<u8>, CryptoError> {
    check_algorithm(m.spec(), alg)?;
    let input = prepare(alg, message, mt)?;
    let failed = |_| CryptoError::Internal;
    match (&m.key, input) {
        (ParsedKey::Rsa { signing, .. }, input) => {
            let encoding = rsa_encoding(alg)?;
            let mut signature = vec![0u8; signing.public_modulus_len()];
            match input {
                Input::Raw(msg) => {
                    signing.sign(encoding, &SystemRandom::new(), msg, &mut signature)
                }
                Input::Digest(d) => signing.sign_digest(encoding, &d, &mut signature),
            }
            .map_err(failed)?;
            Ok(signature)
        }
        (ParsedKey::Ecdsa(key), Input::Raw(msg)) => Ok(key
            .sign(&SystemRandom::new(), msg)
            .map_err(failed)?
            .as_ref()
            .to_vec()),
        (ParsedKey::Ecdsa(key), Input::Digest(d)) => {
            Ok(key.sign_digest(&d).map_err(failed)?.as_ref().to_vec())
        }
        (ParsedKey::Ed25519(key), Input::Raw(msg)) => {
            Ok(key.try_sign(msg).map_err(failed)?.as_ref().to_vec())
        }
        (ParsedKey::MlDsa(key), Input::Raw(msg)) => {
            let mut signature = vec![0u8; key.algorithm().signature_len()];
            let len = key.sign(msg, &mut signature).map_err(failed)?;
            signature.truncate(len);
            Ok(signature)
        }
        // check_algorithm and prepare admit no other combination.
        _ => Err(CryptoError::Internal),
    }
}

/// Verifies a signature with the public half of `m`. `Ok(false)` means the
/// signature does not match; errors mean the request itself is invalid.
pub fn verify(
    m: &PrivateKeyMaterial,
    alg: SigningAlgorithm,
    message: &[u8],
    mt: MessageType,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    check_algorithm(m.spec(), alg)?;
    verify_with_public_key(m.spec(), m.public_spki()?, alg, message, mt, signature)
}

/// Verifies a signature with a public key of `spec` given as DER
/// SubjectPublicKeyInfo (what GetPublicKey returns).
pub fn verify_with_public_key(
    spec: KeySpec,
    public_key_spki_der: &[u8],
    alg: SigningAlgorithm,
    message: &[u8],
    mt: MessageType,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    check_algorithm(spec, alg)?;
    let input = prepare(alg, message, mt)?;
    let key = UnparsedPublicKey::new(verification_algorithm(spec, alg)?, public_key_spki_der)
        .parse()
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    Ok(match input {
        Input::Raw(msg) => key.verify_sig(msg, signature),
        Input::Digest(d) => key.verify_digest_sig(&d, signature),
    }
    .is_ok())
}

fn check_algorithm(spec: KeySpec, alg: SigningAlgorithm) -> Result<(), CryptoError> {
    if spec == KeySpec::Sm2 || alg == SigningAlgorithm::Sm2Dsa {
        return Err(crate::material::unsupported_sm2());
    }
    if !spec.signing_algorithms().contains(&alg) {
        return Err(CryptoError::IncompatibleAlgorithm {
            key_spec: spec.as_str(),
            algorithm: alg.as_str(),
        });
    }
    Ok(())
}

/// Checks the message type against the algorithm and the digest length
/// against its hash, then says what aws-lc-rs will be given.
fn prepare(
    alg: SigningAlgorithm,
    message: &[u8],
    mt: MessageType,
) -> Result<Input<'_>, CryptoError> {
    if !alg.message_types().contains(&mt) {
        return Err(CryptoError::UnsupportedMessageType {
            algorithm: alg.as_str(),
            message_type: mt.as_str(),
        });
    }
    let bad_length = || CryptoError::InvalidDigestLength {
        algorithm: alg.as_str(),
    };
    let input = match mt {
        MessageType::Raw => Input::Raw(message),
        MessageType::Digest => {
            let hash = alg.digest_algorithm().ok_or_else(bad_length)?;
            Input::Digest(Digest::import_less_safe(message, hash).map_err(|_| bad_length())?)
        }
        MessageType::ExternalMu => {
            if message.len() != 64 {
                return Err(bad_length());
            }
            return Err(CryptoError::Unsupported(
                "MessageType EXTERNAL_MU (aws-lc-rs signs and verifies whole messages only)",
            ));
        }
    };
    if alg == SigningAlgorithm::Ed25519PhSha512 {
        return Err(CryptoError::Unsupported(
            "ED25519_PH_SHA_512 (aws-lc-rs implements pure Ed25519 only)",
        ));
    }
    Ok(input)
}

fn rsa_encoding(alg: SigningAlgorithm) -> Result<&'static dyn RsaEncoding, CryptoError> {
    use SigningAlgorithm::*;
    Ok(match alg {
        RsassaPssSha256 => &sig::RSA_PSS_SHA256,
        RsassaPssSha384 => &sig::RSA_PSS_SHA384,
        RsassaPssSha512 => &sig::RSA_PSS_SHA512,
        RsassaPkcs1V15Sha256 => &sig::RSA_PKCS1_SHA256,
        RsassaPkcs1V15Sha384 => &sig::RSA_PKCS1_SHA384,
        RsassaPkcs1V15Sha512 => &sig::RSA_PKCS1_SHA512,
        _ => return Err(CryptoError::Internal),
    })
}

fn verification_algorithm(
    spec: KeySpec,
    alg: SigningAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, CryptoError> {
    use SigningAlgorithm::*;
    Ok(match (spec, alg) {
        (_, RsassaPssSha256) => &sig::RSA_PSS_2048_8192_SHA256,
        (_, RsassaPssSha384) => &sig::RSA_PSS_2048_8192_SHA384,
        (_, RsassaPssSha512) => &sig::RSA_PSS_2048_8192_SHA512,
        (_, RsassaPkcs1V15Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (_, RsassaPkcs1V15Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (_, RsassaPkcs1V15Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccSecgP256k1, EcdsaSha256) => &sig::ECDSA_P256K1_SHA256_ASN1,
        (KeySpec::EccNistP384, EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeySpec::EccNistP521, EcdsaSha512) => &sig::ECDSA_P521_SHA512_ASN1,
        (_, Ed25519Sha512) => &sig::ED25519,
        (KeySpec::MlDsa44, MlDsaShake256) => &sig::ML_DSA_44,
        (KeySpec::MlDsa65, MlDsaShake256) => &sig::ML_DSA_65,
        (KeySpec::MlDsa87, MlDsaShake256) => &sig::ML_DSA_87,
        _ => return Err(CryptoError::Internal),
    })
}
