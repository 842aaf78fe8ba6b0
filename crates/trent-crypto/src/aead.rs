//! AES-256-GCM with explicit nonces: the primitive under both the ciphertext
//! blob and root-key sealing. Kept in one place so both formats agree on the
//! nonce and tag handling.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::rand;

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;

/// Why an AEAD operation failed; each caller maps it to its own public error
/// (a blob reports `InvalidCiphertext`, sealing reports `Unseal`).
#[derive(Debug)]
pub(crate) enum AeadError {
    Rng,
    Failed,
}

fn key(bytes: &[u8; KEY_LEN]) -> Result<LessSafeKey, AeadError> {
    // LessSafeKey because the nonce is chosen by us (random, 96 bits) and
    // written into the output format, which the safer wrappers do not allow.
    let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| AeadError::Failed)?;
    Ok(LessSafeKey::new(unbound))
}

/// Draws a fresh random nonce. Random 96-bit nonces keep the collision
/// probability negligible below ~2^32 messages per key.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], AeadError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| AeadError::Rng)?;
    Ok(nonce)
}

/// Appends `ciphertext || tag` of `plaintext` to `out`.
pub(crate) fn seal_append(
    key_bytes: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), AeadError> {
    let key = key(key_bytes)?;
    let start = out.len();
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[start..],
        )
        .map_err(|_| AeadError::Failed)?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

/// Opens `ciphertext || tag`; the plaintext is returned in a zeroizing buffer.
pub(crate) fn open(
    key_bytes: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AeadError> {
    if ciphertext_and_tag.len() < TAG_LEN {
        return Err(AeadError::Failed);
    }
    let key = key(key_bytes)?;
    let mut buf = Zeroizing::new(ciphertext_and_tag.to_vec());
    let plaintext_len = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            buf.as_mut_slice(),
        )
        .map_err(|_| AeadError::Failed)?
        .len();
    buf.truncate(plaintext_len);
    Ok(buf)
}
