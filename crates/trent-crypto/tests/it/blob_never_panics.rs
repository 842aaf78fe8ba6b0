//! Arbitrary bytes never make blob parsing or decryption panic.

use proptest::prelude::*;
use trent_crypto::blob;
use trent_crypto::{EncryptionContext, SymmetricKey};

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = SymmetricKey::from_bytes(&[9u8; 32]).unwrap();
        let _ = blob::parse_header(&bytes);
        prop_assert!(blob::decrypt(&bytes, &key, &EncryptionContext::new()).is_err());
    }

    /// Arbitrary bodies behind a well-formed header reach the AEAD itself.
    #[test]
    fn arbitrary_body_behind_valid_header(
        id in "[a-z0-9-]{1,40}",
        version in any::<u32>(),
        body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let key = SymmetricKey::from_bytes(&[9u8; 32]).unwrap();
        let mut bytes = vec![blob::BLOB_VERSION, id.len() as u8];
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(&body);
        let header = blob::parse_header(&bytes);
        if body.len() >= 12 + 16 {
            let header = header.unwrap();
            prop_assert_eq!(header.key_id, id);
            prop_assert_eq!(header.material_version, version);
        } else {
            prop_assert!(header.is_err());
        }
        prop_assert!(blob::decrypt(&bytes, &key, &EncryptionContext::new()).is_err());
    }

    #[test]
    fn round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        ec in proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..4),
    ) {
        let key = SymmetricKey::generate().unwrap();
        let b = blob::encrypt("id", 1, &key, &plaintext, &ec).unwrap();
        let out = blob::decrypt(&b, &key, &ec).unwrap();
        prop_assert_eq!(out.as_slice(), &plaintext[..]);
    }
}
