//! The ciphertext blob returned by Encrypt and GenerateDataKey.
//!
//! Trent's own format, deliberately not byte-compatible with AWS KMS.
//! Version 1, in bytes:
//!
//! ```text
//! offset  size  field
//! 0       1     version, 0x01
//! 1       1     key id length L (1..=255)
//! 2       L     key id, UTF-8 (e.g. "1234abcd-12ab-34cd-56ef-1234567890ab" or "mrk-<32 hex>")
//! 2+L     4     key material version, u32 big-endian
//! 6+L     12    random IV (nonce)
//! 18+L    n     AES-256-GCM ciphertext (n = plaintext length)
//! 18+L+n  16    GCM tag
//! ```
//!
//! The header is every byte before the ciphertext (version through IV). The
//! AAD is `header || canonical_encryption_context(ec)`, so the header and
//! the encryption context are authenticated: changing any bit of the blob,
//! or presenting any other context, fails with
//! [`CryptoError::InvalidCiphertext`].
//!
//! Account and region are not embedded: data moved between accounts or
//! regions is not orphaned by its ciphertext. An empty encryption context
//! and no encryption context are the same thing (both canonicalize to no
//! bytes).
//!
//! Each encryption draws a fresh random 96-bit IV; a key version should
//! not encrypt more than about 2^32 blobs.

use zeroize::Zeroizing;

use crate::aead::{self, AeadError, NONCE_LEN, TAG_LEN};
use crate::{CryptoError, EncryptionContext, SymmetricKey};

/// The version byte of the format described in this module.
pub const BLOB_VERSION: u8 = 0x01;

const MAX_KEY_ID_LEN: usize = u8::MAX as usize;

/// What a blob says about the key that decrypts it. Readable without the
/// key, so the service can look up the right key material first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    pub key_id: String,
    pub material_version: u32,
}

/// A blob split into its parts, without decrypting anything.
struct ParsedBlob<'a> {
    header: BlobHeader,
    header_bytes: &'a [u8],
    nonce: [u8; NONCE_LEN],
    ciphertext_and_tag: &'a [u8],
}

/// Encrypts `plaintext` under `key` (version `material_version` of key
/// `key_id`), binding the encryption context `ec`.
pub fn encrypt(
    key_id: &str,
    material_version: u32,
    key: &SymmetricKey,
    plaintext: &[u8],
    ec: &EncryptionContext,
) -> Result<Vec<u8>, CryptoError> {
    let id = key_id.as_bytes();
    let id_len = u8::try_from(id.len()).map_err(|_| CryptoError::InvalidKeyId)?;
    if id_len == 0 {
        return Err(CryptoError::InvalidKeyId);
    }
    check_ec_sizes(ec).map_err(|()| CryptoError::EncryptionContextTooLarge)?;
    let nonce = aead::random_nonce().map_err(|_| CryptoError::Rng)?;

    let header_len = 2 + id.len() + 4 + NONCE_LEN;
    let mut out = Vec::with_capacity(header_len + plaintext.len() + TAG_LEN);
    out.push(BLOB_VERSION);
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&material_version.to_be_bytes());
    out.extend_from_slice(&nonce);

    let aad = aad(&out, ec);
    aead::seal_append(key.key(), nonce, &aad, plaintext, &mut out).map_err(|e| match e {
        AeadError::Rng => CryptoError::Rng,
        AeadError::Failed => CryptoError::Internal,
    })?;
    Ok(out)
}

/// Reads the key id and material version of a blob without decrypting it.
/// Any malformed input gives [`CryptoError::InvalidCiphertext`]; never panics.
///
/// The header is not authenticated until [`decrypt`] succeeds: use it only
/// to choose the key.
pub fn parse_header(blob: &[u8]) -> Result<BlobHeader, CryptoError> {
    parse(blob).map(|p| p.header)
}

/// Decrypts a blob made by [`encrypt`], given the key material its header
/// names and the exact encryption context it was made with (pair order is
/// irrelevant). Wrong context, wrong key, tampering or truncation all give
/// [`CryptoError::InvalidCiphertext`].
pub fn decrypt(
    blob: &[u8],
    key: &SymmetricKey,
    ec: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let parsed = parse(blob)?;
    // A context that could not have been encoded at encryption time cannot
    // match; say so the same way as any other mismatch.
    check_ec_sizes(ec).map_err(|()| CryptoError::InvalidCiphertext)?;
    let aad = aad(parsed.header_bytes, ec);
    aead::open(key.key(), parsed.nonce, &aad, parsed.ciphertext_and_tag)
        .map_err(|_| CryptoError::InvalidCiphertext)
}

/// The unambiguous byte encoding of an encryption context: pairs sorted by
/// key (bytewise UTF-8; `BTreeMap<String, _>` already iterates that way),
/// each as `len(key) u32 BE || key || len(value) u32 BE || value`.
///
/// Length prefixes make the encoding injective, so `{"ab":"c"}`,
/// `{"a":"bc"}` and `{"abc":""}` all differ. The empty context encodes to
/// no bytes.
pub fn canonical_encryption_context(ec: &EncryptionContext) -> Vec<u8> {
    let size: usize = ec.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (k, v) in ec {
        push_prefixed(&mut out, k.as_bytes());
        push_prefixed(&mut out, v.as_bytes());
    }
    out
}

fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Entries over u32::MAX are rejected by encrypt/decrypt before they get
    // here; saturating only keeps this function total.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn check_ec_sizes(ec: &EncryptionContext) -> Result<(), ()> {
    let fits = |s: &String| u32::try_from(s.len()).is_ok();
    if ec.iter().all(|(k, v)| fits(k) && fits(v)) {
        Ok(())
    } else {
        Err(())
    }
}

fn aad(header: &[u8], ec: &EncryptionContext) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&canonical_encryption_context(ec));
    aad
}

/// Splits a blob into its fields. Every access is bounds-checked with
/// `get`, so no input can panic.
fn parse(blob: &[u8]) -> Result<ParsedBlob<'_>, CryptoError> {
    const BAD: CryptoError = CryptoError::InvalidCiphertext;
    if blob.first() != Some(&BLOB_VERSION) {
        return Err(BAD);
    }
    let id_len = usize::from(*blob.get(1).ok_or(BAD)?);
    if id_len == 0 || id_len > MAX_KEY_ID_LEN {
        return Err(BAD);
    }
    let id_end = 2 + id_len;
    let key_id = std::str::from_utf8(blob.get(2..id_end).ok_or(BAD)?).map_err(|_| BAD)?;
    let version_bytes: [u8; 4] = blob
        .get(id_end..id_end + 4)
        .ok_or(BAD)?
        .try_into()
        .map_err(|_| BAD)?;
    let nonce_start = id_end + 4;
    let header_end = nonce_start + NONCE_LEN;
    let nonce: [u8; NONCE_LEN] = blob
        .get(nonce_start..header_end)
        .ok_or(BAD)?
        .try_into()
        .map_err(|_| BAD)?;
    let ciphertext_and_tag = blob.get(header_end..).ok_or(BAD)?;
    if ciphertext_and_tag.len() < TAG_LEN {
        return Err(BAD);
    }
    Ok(ParsedBlob {
        header: BlobHeader {
            key_id: key_id.to_owned(),
            material_version: u32::from_be_bytes(version_bytes),
        },
        header_bytes: blob.get(..header_end).ok_or(BAD)?,
        nonce,
        ciphertext_and_tag,
    })
}
