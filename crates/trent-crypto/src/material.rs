//! Key material of every key spec: generation, parsing, serialization for
//! sealing, and the public key.
//!
//! Serialized form (what [`PrivateKeyMaterial::to_bytes`] returns and the
//! store keeps sealed under the root key):
//! - SYMMETRIC_DEFAULT: the raw 32-byte AES key;
//! - HMAC_*: the raw HMAC key;
//! - RSA, ECC, ML-DSA: unencrypted PKCS#8 (RFC 5208) DER. ML-DSA PKCS#8
//!   holds the 32-byte seed, as aws-lc writes it.
//!
//! The same bytes are what ImportKeyMaterial supplies, so imported and
//! generated material take one path.

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, PqdsaKeyPair,
    PqdsaSigningAlgorithm,
};
use aws_lc_rs::{hmac, rsa};
use zeroize::Zeroizing;

use crate::{CryptoError, KeySpec, SymmetricKey, rand};

/// The secret key material of one key version, parsed and ready to use.
///
/// Zeroized on drop (the serialized bytes by us, the parsed keys by
/// aws-lc's `*_free`), never printed.
pub struct PrivateKeyMaterial {
    spec: KeySpec,
    serialized: Zeroizing<Vec<u8>>,
    pub(crate) key: ParsedKey,
    /// DER SubjectPublicKeyInfo of asymmetric keys, computed once.
    public_spki: Option<Vec<u8>>,
}

/// Parsed once, so that each operation does not re-parse PKCS#8.
pub(crate) enum ParsedKey {
    Symmetric(SymmetricKey),
    Rsa {
        signing: rsa::KeyPair,
        /// Built on first use: parsing an RSA private key is costly (it is
        /// validated), and a key is used either to sign or to encrypt.
        oaep: OnceLock<Option<RsaOaepKeys>>,
    },
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    /// Boxed: aws-lc's HMAC key holds a whole precomputed context (~1.2 KiB).
    Hmac(Box<hmac::Key>),
    MlDsa(PqdsaKeyPair),
}

impl PrivateKeyMaterial {
    /// Fresh key material for `spec`.
    pub fn generate(spec: KeySpec) -> Result<Self, CryptoError> {
        let gen_err = |_| CryptoError::KeyGeneration;
        let serialized: Zeroizing<Vec<u8>> = match spec {
            KeySpec::SymmetricDefault => {
                Zeroizing::new(SymmetricKey::generate()?.as_bytes().to_vec())
            }
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let size = match spec {
                    KeySpec::Rsa2048 => KeySize::Rsa2048,
                    KeySpec::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let pair = rsa::KeyPair::generate(size).map_err(gen_err)?;
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(gen_err)?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            KeySpec::EccNistP256
            | KeySpec::EccNistP384
            | KeySpec::EccNistP521
            | KeySpec::EccSecgP256k1 => {
                let pair = EcdsaKeyPair::generate(ecdsa_alg(spec)?).map_err(gen_err)?;
                Zeroizing::new(pair.to_pkcs8v1().map_err(gen_err)?.as_ref().to_vec())
            }
            KeySpec::EccNistEdwards25519 => {
                let pair = Ed25519KeyPair::generate().map_err(gen_err)?;
                Zeroizing::new(pair.to_pkcs8v1().map_err(gen_err)?.as_ref().to_vec())
            }
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                let (len, _) = hmac_lengths(spec)?;
                let mut key = Zeroizing::new(vec![0u8; len]);
                rand::fill(&mut key).map_err(|_| CryptoError::KeyGeneration)?;
                key
            }
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                let pair = PqdsaKeyPair::generate(mldsa_alg(spec)?).map_err(gen_err)?;
                Zeroizing::new(pair.to_pkcs8v1().map_err(gen_err)?.as_ref().to_vec())
            }
            KeySpec::Sm2 => return Err(unsupported_sm2()),
        };
        Self::from_bytes(spec, &serialized)
    }

    /// Parses serialized material (see the module documentation) of `spec`:
    /// unsealed from the store, or supplied by ImportKeyMaterial. Material of
    /// another spec (wrong curve, wrong RSA size, wrong length) is
    /// [`CryptoError::InvalidKeyMaterial`].
    pub fn from_bytes(spec: KeySpec, bytes: &[u8]) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError::InvalidKeyMaterial;
        let key = match spec {
            KeySpec::SymmetricDefault => ParsedKey::Symmetric(SymmetricKey::from_bytes(bytes)?),
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let signing = rsa::KeyPair::from_pkcs8(bytes).map_err(bad)?;
                let bits = match spec {
                    KeySpec::Rsa2048 => 2048,
                    KeySpec::Rsa3072 => 3072,
                    _ => 4096,
                };
                if signing.public_modulus_len() * 8 != bits {
                    return Err(CryptoError::InvalidKeyMaterial);
                }
                ParsedKey::Rsa {
                    signing,
                    oaep: OnceLock::new(),
                }
            }
            KeySpec::EccNistP256
            | KeySpec::EccNistP384
            | KeySpec::EccNistP521
            | KeySpec::EccSecgP256k1 => {
                ParsedKey::Ecdsa(EcdsaKeyPair::from_pkcs8(ecdsa_alg(spec)?, bytes).map_err(bad)?)
            }
            KeySpec::EccNistEdwards25519 => {
                ParsedKey::Ed25519(Ed25519KeyPair::from_pkcs8(bytes).map_err(bad)?)
            }
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                let (min, max) = hmac_lengths(spec)?;
                if !(min..=max).contains(&bytes.len()) {
                    return Err(CryptoError::InvalidKeyMaterial);
                }
                let alg = spec
                    .mac_algorithms()
                    .first()
                    .ok_or(CryptoError::Internal)?
                    .hmac();
                ParsedKey::Hmac(Box::new(hmac::Key::new(alg, bytes)))
            }
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                ParsedKey::MlDsa(PqdsaKeyPair::from_pkcs8(mldsa_alg(spec)?, bytes).map_err(bad)?)
            }
            KeySpec::Sm2 => return Err(unsupported_sm2()),
        };
        let public_spki = spki_of(&key)?;
        Ok(Self {
            spec,
            serialized: Zeroizing::new(bytes.to_vec()),
            key,
            public_spki,
        })
    }

    /// The key spec this material belongs to.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The serialized material, for sealing under the root key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.serialized.clone()
    }

    /// The RSA-OAEP halves of RSA material, parsed on first use.
    pub(crate) fn rsa_oaep(&self) -> Result<&RsaOaepKeys, CryptoError> {
        let ParsedKey::Rsa { oaep, .. } = &self.key else {
            return Err(CryptoError::Internal);
        };
        oaep.get_or_init(|| RsaOaepKeys::parse(&self.serialized))
            .as_ref()
            .ok_or(CryptoError::InvalidKeyMaterial)
    }

    /// The AES key of SYMMETRIC_DEFAULT material, for [`crate::blob`].
    pub fn as_symmetric(&self) -> Option<&SymmetricKey> {
        match &self.key {
            ParsedKey::Symmetric(k) => Some(k),
            _ => None,
        }
    }
}

/// The same RSA PKCS#8, as the aws-lc-rs types that do OAEP.
pub(crate) struct RsaOaepKeys {
    pub(crate) decrypting: OaepPrivateDecryptingKey,
    pub(crate) encrypting: OaepPublicEncryptingKey,
}

impl RsaOaepKeys {
    /// `None` if the material does not parse for OAEP (reported as
    /// invalid key material by the caller).
    fn parse(pkcs8: &[u8]) -> Option<Self> {
        let private = PrivateDecryptingKey::from_pkcs8(pkcs8).ok()?;
        Some(Self {
            encrypting: OaepPublicEncryptingKey::new(private.public_key()).ok()?,
            decrypting: OaepPrivateDecryptingKey::new(private).ok()?,
        })
    }
}

/// The DER SubjectPublicKeyInfo of asymmetric material, as GetPublicKey
/// returns it. Symmetric and HMAC material has no public key:
/// [`CryptoError::NoPublicKey`].
pub fn public_key_spki_der(m: &PrivateKeyMaterial) -> Result<Vec<u8>, CryptoError> {
    m.public_spki().map(<[u8]>::to_vec)
}

impl PrivateKeyMaterial {
    pub(crate) fn public_spki(&self) -> Result<&[u8], CryptoError> {
        self.public_spki.as_deref().ok_or(CryptoError::NoPublicKey {
            key_spec: self.spec.as_str(),
        })
    }
}

fn spki_of(key: &ParsedKey) -> Result<Option<Vec<u8>>, CryptoError> {
    let der: PublicKeyX509Der<'static> = match key {
        ParsedKey::Rsa { signing, .. } => signing.public_key().as_der(),
        ParsedKey::Ecdsa(k) => k.public_key().as_der(),
        ParsedKey::Ed25519(k) => k.public_key().as_der(),
        ParsedKey::MlDsa(k) => k.public_key().as_der(),
        ParsedKey::Symmetric(_) | ParsedKey::Hmac(_) => return Ok(None),
    }
    .map_err(|_| CryptoError::Internal)?;
    Ok(Some(der.as_ref().to_vec()))
}

pub(crate) fn ecdsa_alg(spec: KeySpec) -> Result<&'static EcdsaSigningAlgorithm, CryptoError> {
    // ASN.1 (DER) signatures, as KMS returns them.
    match spec {
        KeySpec::EccNistP256 => Ok(&sig::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EccNistP384 => Ok(&sig::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeySpec::EccNistP521 => Ok(&sig::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeySpec::EccSecgP256k1 => Ok(&sig::ECDSA_P256K1_SHA256_ASN1_SIGNING),
        _ => Err(CryptoError::Internal),
    }
}

pub(crate) fn mldsa_alg(spec: KeySpec) -> Result<&'static PqdsaSigningAlgorithm, CryptoError> {
    match spec {
        KeySpec::MlDsa44 => Ok(&sig::ML_DSA_44_SIGNING),
        KeySpec::MlDsa65 => Ok(&sig::ML_DSA_65_SIGNING),
        KeySpec::MlDsa87 => Ok(&sig::ML_DSA_87_SIGNING),
        _ => Err(CryptoError::Internal),
    }
}

/// (generated length, maximum accepted length) of HMAC keys. Generated keys
/// are as long as the hash output; imported keys may be up to the hash's
/// block size, beyond which HMAC would hash the key first anyway.
fn hmac_lengths(spec: KeySpec) -> Result<(usize, usize), CryptoError> {
    match spec {
        KeySpec::Hmac224 => Ok((28, 64)),
        KeySpec::Hmac256 => Ok((32, 64)),
        KeySpec::Hmac384 => Ok((48, 128)),
        KeySpec::Hmac512 => Ok((64, 128)),
        _ => Err(CryptoError::Internal),
    }
}

pub(crate) fn unsupported_sm2() -> CryptoError {
    CryptoError::Unsupported("SM2 key material (available in AWS China regions only)")
}

impl fmt::Debug for PrivateKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyMaterial({}, <redacted>)", self.spec)
    }
}
