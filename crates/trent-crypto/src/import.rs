//! Importing key material (GetParametersForImport, ImportKeyMaterial): the RSA wrapping key pair
//! KMS hands out, unwrapping key material with the wrapping algorithms KMS accepts, and the ID
//! of imported material.
//!
//! The wrapped forms are the ones AWS documents ("Encrypt the key material"):
//! - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: the key material encrypted directly with the
//!   wrapping public key (RSA-OAEP, MGF1 with the same hash), as `openssl pkeyutl -encrypt
//!   -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256`
//!   makes it;
//! - `RSA_AES_KEY_WRAP_SHA_1` / `RSA_AES_KEY_WRAP_SHA_256`: a fresh 256-bit AES key encrypted
//!   with RSA-OAEP (as above), followed by the key material wrapped under that AES key with AES
//!   Key Wrap with Padding (RFC 5649, `openssl enc -id-aes256-wrap-pad`). This is how material
//!   too long for RSA-OAEP (RSA private keys, ECC P-521 under RSA_2048) is imported.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    PrivateDecryptingKey,
};
use zeroize::Zeroizing;

use crate::CryptoError;

/// How key material is wrapped for import (`AlgorithmSpec` in the KMS API, the ones KMS still
/// accepts: `RSAES_PKCS1_V1_5` has been refused since October 2023).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrappingAlgorithm {
    RsaesOaepSha1,
    RsaesOaepSha256,
    RsaAesKeyWrapSha1,
    RsaAesKeyWrapSha256,
}

impl WrappingAlgorithm {
    pub const ALL: &'static [WrappingAlgorithm] = &[
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WrappingAlgorithm::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            WrappingAlgorithm::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            WrappingAlgorithm::RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            WrappingAlgorithm::RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
        }
    }

    pub fn parse(name: &str) -> Option<WrappingAlgorithm> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
                &OAEP_SHA1_MGF1SHA1
            }
            WrappingAlgorithm::RsaesOaepSha256 | WrappingAlgorithm::RsaAesKeyWrapSha256 => {
                &OAEP_SHA256_MGF1SHA256
            }
        }
    }

    fn uses_aes_key_wrap(self) -> bool {
        matches!(
            self,
            WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256
        )
    }
}

/// The RSA key pair of one GetParametersForImport: its public half goes to the caller, its
/// private half travels sealed inside the import token.
pub struct WrappingKey {
    key: PrivateDecryptingKey,
}

impl WrappingKey {
    /// A fresh wrapping key of 2048, 3072 or 4096 bits (`WrappingKeySpec` RSA_2048/3072/4096).
    pub fn generate(bits: usize) -> Result<WrappingKey, CryptoError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(CryptoError::Internal),
        };
        let key = PrivateDecryptingKey::generate(size).map_err(|_| CryptoError::KeyGeneration)?;
        Ok(WrappingKey { key })
    }

    /// The private key as PKCS#8 DER (what the import token seals).
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let der: Pkcs8V1Der<'static> = self.key.as_der().map_err(|_| CryptoError::Internal)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<WrappingKey, CryptoError> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| CryptoError::Internal)?;
        Ok(WrappingKey { key })
    }

    /// The public key as DER SubjectPublicKeyInfo (`PublicKey` of GetParametersForImport).
    pub fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        let der: PublicKeyX509Der<'static> = self
            .key
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::Internal)?;
        Ok(der.as_ref().to_vec())
    }

    pub fn bits(&self) -> usize {
        self.key.key_size_bits()
    }

    /// The key material inside `wrapped`. Anything that does not unwrap (another wrapping key,
    /// another algorithm, tampering, wrong length) is [`CryptoError::InvalidCiphertext`].
    pub fn unwrap(
        &self,
        alg: WrappingAlgorithm,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let modulus_len = self.key.key_size_bytes();
        if !alg.uses_aes_key_wrap() {
            return self.oaep_decrypt(alg, wrapped);
        }
        if wrapped.len() <= modulus_len {
            return Err(CryptoError::InvalidCiphertext);
        }
        let (encrypted_aes_key, aes_wrapped) = wrapped.split_at(modulus_len);
        let aes_key = self.oaep_decrypt(alg, encrypted_aes_key)?;
        let kek = AesKek::new(&AES_256, &aes_key).map_err(|_| CryptoError::InvalidCiphertext)?;
        let mut out = Zeroizing::new(vec![0u8; aes_wrapped.len()]);
        let len = kek
            .unwrap_with_padding(aes_wrapped, &mut out)
            .map_err(|_| CryptoError::InvalidCiphertext)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    fn oaep_decrypt(
        &self,
        alg: WrappingAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let decrypting =
            OaepPrivateDecryptingKey::new(self.key.clone()).map_err(|_| CryptoError::Internal)?;
        let mut out = Zeroizing::new(vec![0u8; decrypting.min_output_size()]);
        let len = decrypting
            .decrypt(alg.oaep(), ciphertext, &mut out, None)
            .map_err(|_| CryptoError::InvalidCiphertext)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

impl std::fmt::Debug for WrappingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappingKey(RSA-{}, <redacted>)", self.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey};

    /// Wraps the way AWS's documentation tells users to (the interop tests do the same with
    /// OpenSSL and Python `cryptography`).
    fn wrap(public_der: &[u8], alg: WrappingAlgorithm, material: &[u8]) -> Vec<u8> {
        let public = OaepPublicEncryptingKey::new(
            PublicEncryptingKey::from_der(public_der).expect("public key"),
        )
        .unwrap();
        let oaep = |plain: &[u8]| {
            let mut out = vec![0u8; public.ciphertext_size()];
            let n = public
                .encrypt(alg.oaep(), plain, &mut out, None)
                .unwrap()
                .len();
            out.truncate(n);
            out
        };
        if !alg.uses_aes_key_wrap() {
            return oaep(material);
        }
        let aes = crate::random_bytes(32).unwrap();
        let kek = AesKek::new(&AES_256, &aes).unwrap();
        let mut wrapped = vec![0u8; material.len() + 16];
        let n = kek.wrap_with_padding(material, &mut wrapped).unwrap().len();
        wrapped.truncate(n);
        let mut out = oaep(&aes);
        out.extend_from_slice(&wrapped);
        out
    }

    #[test]
    fn every_algorithm_unwraps_what_was_wrapped_and_nothing_else() {
        let key = WrappingKey::generate(2048).unwrap();
        let other = WrappingKey::generate(2048).unwrap();
        let public = key.public_key_der().unwrap();
        let material = crate::random_bytes(32).unwrap();
        for &alg in WrappingAlgorithm::ALL {
            let wrapped = wrap(&public, alg, &material);
            assert_eq!(key.unwrap(alg, &wrapped).unwrap().as_slice(), &material[..]);
            assert!(matches!(
                other.unwrap(alg, &wrapped),
                Err(CryptoError::InvalidCiphertext)
            ));
            let mut tampered = wrapped.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert!(key.unwrap(alg, &tampered).is_err(), "{alg:?}");
            assert!(key.unwrap(alg, &wrapped[..10]).is_err());
        }
        // SHA-1 and SHA-256 OAEP do not unwrap each other's wrapping.
        let sha1 = wrap(&public, WrappingAlgorithm::RsaesOaepSha1, &material);
        assert!(
            key.unwrap(WrappingAlgorithm::RsaesOaepSha256, &sha1)
                .is_err()
        );
    }

    #[test]
    fn material_too_long_for_oaep_goes_through_aes_key_wrap() {
        let key = WrappingKey::generate(2048).unwrap();
        let public = key.public_key_der().unwrap();
        let long = crate::random_bytes(1200).unwrap(); // an RSA-2048 PKCS#8 is ~1190 bytes
        let wrapped = wrap(&public, WrappingAlgorithm::RsaAesKeyWrapSha256, &long);
        assert_eq!(
            key.unwrap(WrappingAlgorithm::RsaAesKeyWrapSha256, &wrapped)
                .unwrap()
                .as_slice(),
            &long[..]
        );
    }

    #[test]
    fn the_private_key_round_trips_through_pkcs8_and_names_parse() {
        let key = WrappingKey::generate(3072).unwrap();
        assert_eq!(key.bits(), 3072);
        let again = WrappingKey::from_pkcs8(&key.to_pkcs8().unwrap()).unwrap();
        assert_eq!(
            again.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        for &alg in WrappingAlgorithm::ALL {
            assert_eq!(WrappingAlgorithm::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(WrappingAlgorithm::parse("RSAES_PKCS1_V1_5"), None);
        assert!(WrappingKey::generate(1024).is_err());
    }
}
