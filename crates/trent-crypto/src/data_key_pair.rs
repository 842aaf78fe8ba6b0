//! GenerateDataKeyPair: a fresh key pair handed to the caller.

use std::fmt;

use zeroize::Zeroizing;

use crate::{CryptoError, KeySpec, PrivateKeyMaterial, public_key_spki_der};

/// A generated data key pair: PKCS#8 DER private key (zeroized on drop,
/// never printed) and DER SubjectPublicKeyInfo public key.
pub struct DataKeyPair {
    pub private_key_pkcs8_der: Zeroizing<Vec<u8>>,
    pub public_key_spki_der: Vec<u8>,
}

/// Generates a key pair of a `KeyPairSpec`: RSA_2048/3072/4096,
/// ECC_NIST_P256/P384/P521, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519.
/// SM2 is [`CryptoError::Unsupported`]; any other spec is
/// [`CryptoError::IncompatibleAlgorithm`].
pub fn generate_data_key_pair(spec: KeySpec) -> Result<DataKeyPair, CryptoError> {
    if spec == KeySpec::Sm2 {
        return Err(crate::material::unsupported_sm2());
    }
    if !spec.is_data_key_pair_spec() {
        return Err(CryptoError::IncompatibleAlgorithm {
            key_spec: spec.as_str(),
            algorithm: "GenerateDataKeyPair",
        });
    }
    let material = PrivateKeyMaterial::generate(spec)?;
    Ok(DataKeyPair {
        public_key_spki_der: public_key_spki_der(&material)?,
        private_key_pkcs8_der: material.to_bytes(),
    })
}

impl fmt::Debug for DataKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeyPair")
            .field("private_key_pkcs8_der", &"<redacted>")
            .field("public_key_spki_der", &self.public_key_spki_der.len())
            .finish()
    }
}
