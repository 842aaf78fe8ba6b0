//! RSA-OAEP Encrypt/Decrypt with RSA key material: raw OAEP ciphertext, so
//! anything encrypted offline with the public key (GetPublicKey) decrypts
//! here and the other way round.

use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm};
use zeroize::Zeroizing;

use crate::{CryptoError, EncryptionAlgorithm, KeySpec, PrivateKeyMaterial};

/// The largest plaintext RSA-OAEP accepts for `spec` and `alg`:
/// modulus bytes − 2·hash − 2, i.e. the limits KMS documents (RSA_2048:
/// 214 with SHA-1, 190 with SHA-256; RSA_3072: 342/318; RSA_4096: 470/446).
pub fn rsa_max_plaintext_len(
    spec: KeySpec,
    alg: EncryptionAlgorithm,
) -> Result<usize, CryptoError> {
    let (_, hash_len) = oaep(spec, alg)?;
    let modulus_len = match spec {
        KeySpec::Rsa2048 => 256,
        KeySpec::Rsa3072 => 384,
        KeySpec::Rsa4096 => 512,
        _ => return Err(CryptoError::Internal),
    };
    Ok(modulus_len - 2 * hash_len - 2)
}

/// Encrypts `plaintext` with the public half of RSA material.
pub fn rsa_encrypt(
    m: &PrivateKeyMaterial,
    alg: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (oaep_alg, _) = oaep(m.spec(), alg)?;
    let max = rsa_max_plaintext_len(m.spec(), alg)?;
    if plaintext.len() > max {
        return Err(CryptoError::PlaintextTooLarge { max });
    }
    let encrypting = &m.rsa_oaep()?.encrypting;
    let mut out = vec![0u8; encrypting.ciphertext_size()];
    let len = encrypting
        .encrypt(oaep_alg, plaintext, &mut out, None)
        .map_err(|_| CryptoError::Internal)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Decrypts an RSA-OAEP ciphertext. Anything that does not decrypt (wrong
/// key, wrong algorithm, tampering, wrong length) is
/// [`CryptoError::InvalidCiphertext`], without saying which.
pub fn rsa_decrypt(
    m: &PrivateKeyMaterial,
    alg: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (oaep_alg, _) = oaep(m.spec(), alg)?;
    let decrypting = &m.rsa_oaep()?.decrypting;
    let mut out = Zeroizing::new(vec![0u8; decrypting.min_output_size()]);
    let len = decrypting
        .decrypt(oaep_alg, ciphertext, &mut out, None)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The OAEP parameters (hash and MGF1 hash are the same, as in KMS) and hash
/// length, after checking that `alg` belongs to an RSA `spec`.
fn oaep(
    spec: KeySpec,
    alg: EncryptionAlgorithm,
) -> Result<(&'static OaepAlgorithm, usize), CryptoError> {
    let rsa = matches!(spec, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096);
    match alg {
        EncryptionAlgorithm::RsaesOaepSha1 if rsa => Ok((&OAEP_SHA1_MGF1SHA1, 20)),
        EncryptionAlgorithm::RsaesOaepSha256 if rsa => Ok((&OAEP_SHA256_MGF1SHA256, 32)),
        EncryptionAlgorithm::Sm2Pke => Err(crate::material::unsupported_sm2()),
        _ => Err(CryptoError::IncompatibleAlgorithm {
            key_spec: spec.as_str(),
            algorithm: alg.as_str(),
        }),
    }
}
