//! DeriveSharedSecret: ECDH with NIST-curve KEY_AGREEMENT key material.

use aws_lc_rs::agreement::{
    self, ECDH_P256, ECDH_P384, ECDH_P521, ParsedPublicKey, ParsedPublicKeyFormat,
    UnparsedPublicKey,
};
use zeroize::Zeroizing;

use crate::material::ParsedKey;
use crate::{CryptoError, KeyAgreementAlgorithm, KeySpec, PrivateKeyMaterial};

/// The raw ECDH shared secret (the x-coordinate, as KMS returns it) between
/// our private key and the peer's public key, which must be a DER
/// SubjectPublicKeyInfo on the same curve ([`CryptoError::InvalidPublicKey`]
/// otherwise).
pub fn derive_shared_secret(
    m: &PrivateKeyMaterial,
    peer_spki_der: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let alg = match m.spec() {
        KeySpec::EccNistP256 => &ECDH_P256,
        KeySpec::EccNistP384 => &ECDH_P384,
        KeySpec::EccNistP521 => &ECDH_P521,
        KeySpec::Sm2 => return Err(crate::material::unsupported_sm2()),
        other => {
            return Err(CryptoError::IncompatibleAlgorithm {
                key_spec: other.as_str(),
                algorithm: KeyAgreementAlgorithm::Ecdh.as_str(),
            });
        }
    };
    let ParsedKey::Ecdsa(_) = &m.key else {
        return Err(CryptoError::Internal);
    };
    // The ECDSA key pair type cannot do ECDH; the same PKCS#8 parses as an
    // agreement key.
    let private = agreement::PrivateKey::from_private_key_der(alg, &m.to_bytes())
        .map_err(|_| CryptoError::InvalidKeyMaterial)?;
    let peer = ParsedPublicKey::try_from(&UnparsedPublicKey::new(alg, peer_spki_der))
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    // KMS takes SubjectPublicKeyInfo only; aws-lc would also take bare points.
    if peer.format() != ParsedPublicKeyFormat::X509 {
        return Err(CryptoError::InvalidPublicKey);
    }
    agreement::agree(&private, peer, CryptoError::InvalidPublicKey, |secret| {
        Ok(Zeroizing::new(secret.to_vec()))
    })
}
