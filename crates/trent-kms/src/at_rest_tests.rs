//! Key material at rest: the database files never contain a key's material in plaintext (nor
//! the root key), only its sealed form.

use std::sync::Arc;

use serde_json::json;
use trent_crypto::RootKey;
use trent_store::Store;

use crate::materials::sealing_aad;
use crate::test_support::{self, call};
use crate::{Operation, SystemClock};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file of the data directory (database, WAL, shared memory), concatenated.
fn data_dir_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(path).unwrap());
        }
    }
    all
}

#[test]
fn database_never_holds_plaintext_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let root_bytes = trent_crypto::random_bytes(32).unwrap();
    let kms = test_support::kms(
        Store::open(&dir.path().join("trent.db")).unwrap(),
        RootKey::from_bytes(&root_bytes).unwrap(),
        Arc::new(SystemClock),
    );
    let mut materials = Vec::new();
    for spec in [
        json!({}),
        json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
        json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
    ] {
        let created = call(&kms, Operation::CreateKey, spec).unwrap();
        let key_id = created["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        let stored = kms
            .store
            .material("us-east-1", &key_id, 1)
            .unwrap()
            .unwrap();
        let raw = kms
            .root_key
            .unseal(stored.sealed.as_deref().unwrap(), &sealing_aad(&key_id, 1))
            .unwrap();
        materials.push((raw.to_vec(), stored.sealed.unwrap()));
    }
    // Force the WAL into the main file as well, so both places are searched.
    drop(kms);
    let bytes = data_dir_bytes(dir.path());
    for (raw, sealed) in &materials {
        // The search can find things: the sealed form is there.
        assert!(
            contains(&bytes, sealed),
            "sealed material not found in the data dir"
        );
        assert!(
            !contains(&bytes, raw),
            "plaintext key material found in the data dir"
        );
    }
    assert!(
        !contains(&bytes, &root_bytes),
        "the root key is in the database"
    );
}
