//! Cross-checks the blob's AES-256-GCM against RustCrypto's `aes-gcm`, using
//! only the layout and AAD documented in `trent_crypto::blob`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use trent_crypto::blob;
use trent_crypto::{EncryptionContext, RootKey, SymmetricKey};

fn context() -> EncryptionContext {
    [("purpose", "oracle"), ("ab", "c")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// (header, iv, ciphertext||tag) per the documented layout.
fn split(b: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let header_end = 2 + usize::from(b[1]) + 4 + 12;
    (
        &b[..header_end],
        &b[header_end - 12..header_end],
        &b[header_end..],
    )
}

#[test]
fn oracle_decrypts_trent_blob() {
    let key = SymmetricKey::generate().unwrap();
    let ec = context();
    let plaintext = b"interoperable plaintext";
    let b = blob::encrypt("key-1", 42, &key, plaintext, &ec).unwrap();
    let (header, iv, body) = split(&b);
    assert_eq!(&header[2..7], b"key-1");
    assert_eq!(&header[7..11], &42u32.to_be_bytes());

    let mut aad = header.to_vec();
    aad.extend_from_slice(&blob::canonical_encryption_context(&ec));
    let oracle = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    let out = oracle
        .decrypt(
            Nonce::from_slice(iv),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(out, plaintext);

    // Without the context in the AAD the oracle must fail too.
    assert!(
        oracle
            .decrypt(
                Nonce::from_slice(iv),
                Payload {
                    msg: body,
                    aad: header
                }
            )
            .is_err()
    );
}

#[test]
fn trent_decrypts_oracle_blob() {
    let key = SymmetricKey::generate().unwrap();
    let ec = context();
    let iv = [7u8; 12];
    let mut header = vec![blob::BLOB_VERSION, 3];
    header.extend_from_slice(b"k-9");
    header.extend_from_slice(&5u32.to_be_bytes());
    header.extend_from_slice(&iv);
    let mut aad = header.clone();
    aad.extend_from_slice(&blob::canonical_encryption_context(&ec));
    let oracle = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    let body = oracle
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: b"from the oracle",
                aad: &aad,
            },
        )
        .unwrap();
    let mut b = header;
    b.extend_from_slice(&body);
    assert_eq!(blob::parse_header(&b).unwrap().material_version, 5);
    assert_eq!(
        blob::decrypt(&b, &key, &ec).unwrap().as_slice(),
        b"from the oracle"
    );
}

#[test]
fn oracle_unseals_root_key_sealed_material() {
    let root = RootKey::generate().unwrap();
    let sealed = root.seal(b"key material", b"key/abc/v1").unwrap();
    assert_eq!(sealed[0], 1);
    let mut aad = vec![1u8];
    aad.extend_from_slice(b"key/abc/v1");
    let oracle = Aes256Gcm::new_from_slice(&root.to_file_bytes()).unwrap();
    let out = oracle
        .decrypt(
            Nonce::from_slice(&sealed[1..13]),
            Payload {
                msg: &sealed[13..],
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(out, b"key material");
}
