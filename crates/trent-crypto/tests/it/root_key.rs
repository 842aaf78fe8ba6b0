//! Root key: encodings, sealing, and the 0600 key file.

use trent_crypto::{CryptoError, RootKey};

#[test]
fn seal_round_trip_and_binding() {
    let root = RootKey::generate().unwrap();
    let sealed = root.seal(b"material", b"key/abc/v1").unwrap();
    assert_eq!(sealed.len(), 1 + 12 + 8 + 16);
    assert_eq!(
        root.unseal(&sealed, b"key/abc/v1").unwrap().as_slice(),
        b"material"
    );
    for wrong in [&b"key/abc/v2"[..], b"key/abd/v1", b""] {
        assert!(matches!(
            root.unseal(&sealed, wrong),
            Err(CryptoError::Unseal)
        ));
    }
    let other = RootKey::generate().unwrap();
    assert!(matches!(
        other.unseal(&sealed, b"key/abc/v1"),
        Err(CryptoError::Unseal)
    ));
}

#[test]
fn sealed_tampering_and_truncation_fail() {
    let root = RootKey::generate().unwrap();
    let sealed = root.seal(b"m", b"aad").unwrap();
    for i in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert!(
            matches!(root.unseal(&bad, b"aad"), Err(CryptoError::Unseal)),
            "bit {i}"
        );
    }
    for len in 0..sealed.len() {
        assert!(matches!(
            root.unseal(&sealed[..len], b"aad"),
            Err(CryptoError::Unseal)
        ));
    }
}

#[test]
fn encodings() {
    let bytes: Vec<u8> = (0u8..32).collect();
    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let from_hex = RootKey::from_encoded(hex).unwrap();
    assert_eq!(from_hex.to_file_bytes().as_slice(), &bytes[..]);
    assert_eq!(
        RootKey::from_encoded(&format!("  {}\n", hex.to_uppercase()))
            .unwrap()
            .to_file_bytes()
            .as_slice(),
        &bytes[..]
    );
    for b64 in [
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    ] {
        assert_eq!(
            RootKey::from_encoded(b64)
                .unwrap()
                .to_file_bytes()
                .as_slice(),
            &bytes[..]
        );
    }
    // A key whose base64 uses '+' and '/' (standard) or '-' and '_' (URL-safe).
    let ff = [0xfbu8; 32];
    let std = "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=";
    let url = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s";
    assert_eq!(
        RootKey::from_encoded(std)
            .unwrap()
            .to_file_bytes()
            .as_slice(),
        &ff
    );
    assert_eq!(
        RootKey::from_encoded(url)
            .unwrap()
            .to_file_bytes()
            .as_slice(),
        &ff
    );

    for bad in [
        "",
        &hex[..62],
        &format!("{hex}00"),
        "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
        "not a key at all, not a key at all, not a k",
    ] {
        assert!(
            matches!(
                RootKey::from_encoded(bad),
                Err(CryptoError::InvalidKeyMaterial)
            ),
            "{bad:?}"
        );
    }
    assert!(RootKey::from_bytes(&[0u8; 33]).is_err());
}

#[test]
fn secrets_are_not_printed() {
    let root = RootKey::from_bytes(&[0xab; 32]).unwrap();
    assert_eq!(format!("{root:?}"), "RootKey(<redacted>)");
    let err =
        RootKey::from_encoded("abababababababababababababababababababababababababababababababab00")
            .unwrap_err();
    assert!(!err.to_string().contains("abab"));
}

#[cfg(unix)]
mod file {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_private_file_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let created = RootKey::load_or_create(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let reloaded = RootKey::load_or_create(&path).unwrap();
        assert_eq!(created.to_file_bytes(), reloaded.to_file_bytes());
        let sealed = created.seal(b"m", b"a").unwrap();
        assert_eq!(reloaded.unseal(&sealed, b"a").unwrap().as_slice(), b"m");
        // Nothing else (no temporary file) is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        for len in [0usize, 31, 33, 64] {
            fs::write(&path, vec![1u8; len]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            assert!(
                matches!(
                    RootKey::load_or_create(&path),
                    Err(CryptoError::RootKeyFileSize { len: l, .. }) if l == len as u64
                ),
                "len {len}"
            );
        }
    }

    #[test]
    fn refuses_group_or_world_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        RootKey::load_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = RootKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(err, CryptoError::RootKeyFilePermissions { mode: m, .. } if m == mode),
                "mode {mode:o}"
            );
            assert!(err.to_string().contains("chmod 600"));
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(RootKey::load_or_create(&path).is_ok());
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("root.key");
        assert!(matches!(
            RootKey::load_or_create(&path),
            Err(CryptoError::Io { .. })
        ));
    }

    #[test]
    fn concurrent_first_starts_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || RootKey::load_or_create(&path).unwrap().to_file_bytes())
            })
            .collect();
        let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
