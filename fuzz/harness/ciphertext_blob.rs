//! Fuzz harness `ciphertext_blob`: arbitrary bytes as a ciphertext blob (header parse, then a
//! decryption attempt under a fixed key with a fuzz-chosen encryption context) and as key
//! material sealed under a fixed root key. What must hold:
//!
//! - a header that parses says what its bytes say; anything else is `InvalidCiphertext`;
//! - only a blob made under the harness's key decrypts, and then only with its own context: a
//!   second key, or a context that differs in one byte, gives `InvalidCiphertext`;
//! - encrypting under the harness's key round-trips, and any one flipped byte breaks it.
//!
//! Input: one byte `n`, then `n` bytes of encryption context (`key=value` lines), then the blob.
//! The seeds' blobs were made under [`KEY`], so they decrypt.
//!
//! Written once, used twice: by `fuzz/fuzz_targets/ciphertext_blob.rs` and, for every seed of
//! `fuzz/corpus/ciphertext_blob`, by `cargo test -p trent-crypto`.

use trent_crypto::blob::{self, BLOB_VERSION};
use trent_crypto::{CryptoError, EncryptionContext, RootKey, SymmetricKey};

/// The key the seeds' blobs were made under.
pub const KEY: [u8; 32] = *b"trent fuzz ciphertext blob key!!";
/// A key that made nothing.
const OTHER_KEY: [u8; 32] = *b"trent fuzz: another symmetric ky";
/// The root key material is sealed under here, and one that sealed nothing.
const ROOT_KEY: [u8; 32] = *b"trent fuzz root key for sealing!";
const OTHER_ROOT_KEY: [u8; 32] = *b"trent fuzz: some other root key!";

/// GCM's tag; the nonce of the blob format.
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 12;

/// What one input came to (for the replay test's checks that seeds stay meaningful).
#[derive(Debug, Default)]
pub struct Outcome {
    pub header_parsed: bool,
    pub decrypted: bool,
}

pub fn run(data: &[u8]) -> Outcome {
    let (ec_len, rest) = match data.split_first() {
        Some((n, rest)) => (usize::from(*n), rest),
        None => (0, data),
    };
    let (ec_text, ciphertext) = rest.split_at(ec_len.min(rest.len()));
    let ec = encryption_context(ec_text);
    check_canonical_context(&ec);
    let key = symmetric(&KEY);

    let header = blob::parse_header(ciphertext);
    match &header {
        Ok(h) => check_header(ciphertext, h),
        Err(e) => assert!(matches!(e, CryptoError::InvalidCiphertext), "{e:?}"),
    }

    let decrypted = match blob::decrypt(ciphertext, &key, &ec) {
        Ok(plaintext) => {
            let Ok(h) = &header else {
                panic!("decrypted a blob whose header does not parse");
            };
            let header_len = 2 + h.key_id.len() + 4 + NONCE_LEN;
            assert_eq!(plaintext.len() + header_len + TAG_LEN, ciphertext.len());
            assert_refused(ciphertext, &key, &other_context(&ec));
            round_trip(
                &key,
                &h.key_id,
                h.material_version,
                &plaintext,
                &ec,
                data.len(),
            );
            true
        }
        Err(e) => {
            assert!(matches!(e, CryptoError::InvalidCiphertext), "{e:?}");
            false
        }
    };
    assert_refused(ciphertext, &symmetric(&OTHER_KEY), &ec);

    // Any blob, made by anyone, round-trips when the harness encrypts it as a plaintext.
    let (key_id, version) = match &header {
        Ok(h) => (h.key_id.clone(), h.material_version),
        Err(_) => (
            String::from_utf8_lossy(&ciphertext[..ciphertext.len().min(40)]).into_owned(),
            u32::try_from(data.len()).unwrap_or(u32::MAX),
        ),
    };
    round_trip(&key, &key_id, version, ciphertext, &ec, data.len());

    check_unseal(ciphertext, ec_text);
    Outcome {
        header_parsed: header.is_ok(),
        decrypted,
    }
}

fn symmetric(bytes: &[u8; 32]) -> SymmetricKey {
    match SymmetricKey::from_bytes(bytes) {
        Ok(key) => key,
        Err(e) => panic!("32 bytes are a key: {e}"),
    }
}

/// `key=value` lines (a line without `=` is a key with an empty value; a repeated key keeps
/// its last value).
fn encryption_context(text: &[u8]) -> EncryptionContext {
    String::from_utf8_lossy(text)
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A context that differs from `ec` in one place.
fn other_context(ec: &EncryptionContext) -> EncryptionContext {
    let mut other = ec.clone();
    match other.values_mut().next() {
        Some(value) => value.push('\0'),
        None => {
            other.insert("a".into(), "b".into());
        }
    }
    other
}

/// The encoding is length-prefixed pairs: its size follows from the pairs.
fn check_canonical_context(ec: &EncryptionContext) {
    let encoded = blob::canonical_encryption_context(ec);
    let size: usize = ec.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    assert_eq!(encoded.len(), size);
}

fn check_header(ciphertext: &[u8], h: &blob::BlobHeader) {
    assert_eq!(ciphertext.first(), Some(&BLOB_VERSION));
    let id_len = h.key_id.len();
    assert_eq!(ciphertext.get(1).map(|n| usize::from(*n)), Some(id_len));
    assert!(id_len > 0);
    assert_eq!(ciphertext.get(2..2 + id_len), Some(h.key_id.as_bytes()));
    let version = ciphertext
        .get(2 + id_len..6 + id_len)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes);
    assert_eq!(version, Some(h.material_version));
    assert!(ciphertext.len() >= 6 + id_len + NONCE_LEN + TAG_LEN);
}

fn assert_refused(ciphertext: &[u8], key: &SymmetricKey, ec: &EncryptionContext) {
    match blob::decrypt(ciphertext, key, ec) {
        Ok(_) => panic!("decrypted under a key or context that did not make it"),
        Err(e) => assert!(matches!(e, CryptoError::InvalidCiphertext), "{e:?}"),
    }
}

/// Encrypts `plaintext` as version `version` of key `key_id` and checks the blob: its header,
/// its decryption, and that one flipped byte (which one depends on `salt`) or another context
/// makes it undecryptable.
fn round_trip(
    key: &SymmetricKey,
    key_id: &str,
    version: u32,
    plaintext: &[u8],
    ec: &EncryptionContext,
    salt: usize,
) {
    let made = match blob::encrypt(key_id, version, key, plaintext, ec) {
        Ok(made) => made,
        Err(e) => {
            assert!(matches!(e, CryptoError::InvalidKeyId), "{e:?}");
            assert!(key_id.is_empty() || key_id.len() > 255, "{key_id:?}");
            return;
        }
    };
    assert!(!key_id.is_empty() && key_id.len() <= 255);
    let header = blob::parse_header(&made);
    assert!(
        header
            .as_ref()
            .is_ok_and(|h| h.key_id == key_id && h.material_version == version),
        "{header:?}"
    );
    assert_eq!(
        made.len(),
        2 + key_id.len() + 4 + NONCE_LEN + plaintext.len() + TAG_LEN
    );
    match blob::decrypt(&made, key, ec) {
        Ok(back) => assert_eq!(back.as_slice(), plaintext),
        Err(e) => panic!("a blob just made does not decrypt: {e:?}"),
    }
    let mut flipped = made.clone();
    let at = salt % flipped.len();
    flipped[at] ^= 0x01;
    assert_refused(&flipped, key, ec);
    assert_refused(&made, key, &other_context(ec));
}

/// The same bytes as key material sealed under the root key, bound to the context text.
fn check_unseal(sealed: &[u8], aad: &[u8]) {
    let root = |bytes: &[u8; 32]| match RootKey::from_bytes(bytes) {
        Ok(key) => key,
        Err(e) => panic!("32 bytes are a root key: {e}"),
    };
    if let Err(e) = root(&ROOT_KEY).unseal(sealed, aad) {
        assert!(matches!(e, CryptoError::Unseal), "{e:?}");
    }
    match root(&OTHER_ROOT_KEY).unseal(sealed, aad) {
        Ok(_) => panic!("unsealed under a root key that sealed nothing"),
        Err(e) => assert!(matches!(e, CryptoError::Unseal), "{e:?}"),
    }
}
