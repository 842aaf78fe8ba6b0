//! Cryptographic operations with symmetric keys through the real binary: Encrypt, Decrypt (with
//! and without KeyId), ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext and
//! GenerateRandom — responses, encryption-context binding, tamper detection, IncorrectKey,
//! validation limits, key states and DryRun.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, EncryptionAlgorithmSpec, KeySpec, KeyUsageType};

use crate::support::Server;
use crate::support::kms::*;

const MISSING_UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn ec(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn invalid_ciphertext() -> (String, String) {
    // AWS sends InvalidCiphertextException without a message.
    expected("InvalidCiphertextException", "")
}

async fn decrypt_with(
    kms: &Client,
    blob: &[u8],
    key: Option<&str>,
    context: Option<HashMap<String, String>>,
) -> Result<Vec<u8>, (String, String)> {
    kms.decrypt()
        .ciphertext_blob(Blob::new(blob))
        .set_key_id(key.map(str::to_string))
        .set_encryption_context(context)
        .send()
        .await
        .map(|r| r.plaintext.unwrap().into_inner())
        .map_err(err)
}

#[tokio::test]
async fn encrypt_and_decrypt_round_trip() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let arn = key_arn(id);
    kms.create_alias()
        .alias_name("alias/app")
        .target_key_id(id)
        .send()
        .await
        .unwrap();

    for plaintext in [vec![0u8], b"hello".to_vec(), vec![0xA5; 4096]] {
        let r = kms
            .encrypt()
            .key_id(id)
            .plaintext(Blob::new(plaintext.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.key_id(), Some(arn.as_str()));
        assert_eq!(
            r.encryption_algorithm(),
            Some(&EncryptionAlgorithmSpec::SymmetricDefault)
        );
        let blob = r.ciphertext_blob.unwrap().into_inner();
        assert!(
            blob.windows(plaintext.len().min(64))
                .all(|w| w != &plaintext[..w.len()])
                || plaintext.len() < 4,
            "plaintext visible in the ciphertext"
        );

        // Without KeyId the ciphertext names its key; with KeyId every identifier form works.
        for key_id in [
            None,
            Some(id.to_string()),
            Some(arn.clone()),
            Some("alias/app".to_string()),
            Some(alias_arn("alias/app")),
        ] {
            let d = kms
                .decrypt()
                .ciphertext_blob(Blob::new(blob.clone()))
                .set_key_id(key_id.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(d.plaintext().unwrap().as_ref(), plaintext.as_slice());
            assert_eq!(d.key_id(), Some(arn.as_str()), "{key_id:?}");
            assert_eq!(
                d.encryption_algorithm(),
                Some(&EncryptionAlgorithmSpec::SymmetricDefault)
            );
            assert_eq!(d.key_material_id(), key.current_key_material_id());
        }
    }

    // Two encryptions of the same plaintext differ (fresh IV).
    let a = encrypt(&kms, id, b"same").await;
    let b = encrypt(&kms, id, b"same").await;
    assert_ne!(a, b);
    // Explicit SYMMETRIC_DEFAULT is accepted on both sides.
    let r = kms
        .encrypt()
        .key_id(id)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::SymmetricDefault)
        .send()
        .await
        .unwrap();
    let d = kms
        .decrypt()
        .ciphertext_blob(r.ciphertext_blob.unwrap())
        .encryption_algorithm(EncryptionAlgorithmSpec::SymmetricDefault)
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), b"x");
}

#[tokio::test]
async fn plaintext_and_ciphertext_size_limits() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let cases = [
        (
            Some(vec![]),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            Some(vec![7u8; 4097]),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
        ),
        (
            None,
            "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
        ),
    ];
    for (plaintext, message) in cases {
        let got = failure(
            kms.encrypt()
                .key_id(&id)
                .set_plaintext(plaintext.map(Blob::new))
                .send()
                .await,
        );
        assert_eq!(got, expected("ValidationException", message));
    }
    assert_eq!(
        failure(kms.encrypt().plaintext(Blob::new("x")).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        )
    );
    // Both problems at once are reported together.
    assert_eq!(
        failure(
            kms.encrypt()
                .plaintext(Blob::new(vec![0u8; 4097]))
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
        )
    );
    for (blob, message) in [
        (
            vec![],
            "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            vec![1u8; 6145],
            "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144",
        ),
    ] {
        assert_eq!(
            failure(kms.decrypt().ciphertext_blob(Blob::new(blob)).send().await),
            expected("ValidationException", message)
        );
    }
    assert_eq!(
        failure(kms.decrypt().send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[tokio::test]
async fn the_encryption_context_is_bound_exactly() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let blob = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("bound"))
        .set_encryption_context(Some(ec(&[("ab", "c")])))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap()
        .into_inner();

    for wrong in [
        Some(ec(&[("a", "bc")])),
        Some(ec(&[("abc", "")])),
        Some(ec(&[("ab", "C")])),
        Some(ec(&[("AB", "c")])),
        Some(ec(&[("ab", "c"), ("x", "y")])),
        Some(ec(&[])),
        None,
    ] {
        for key in [None, Some(id.as_str())] {
            assert_eq!(
                decrypt_with(&kms, &blob, key, wrong.clone()).await,
                Err(invalid_ciphertext()),
                "context {wrong:?}, KeyId {key:?}"
            );
        }
    }
    assert_eq!(
        decrypt_with(&kms, &blob, None, Some(ec(&[("ab", "c")]))).await,
        Ok(b"bound".to_vec())
    );

    // No context at encryption: decrypts without one (or with an empty one) only.
    let plain = encrypt(&kms, &id, b"free").await.into_inner();
    assert_eq!(
        decrypt_with(&kms, &plain, None, None).await,
        Ok(b"free".to_vec())
    );
    assert_eq!(
        decrypt_with(&kms, &plain, None, Some(ec(&[]))).await,
        Ok(b"free".to_vec())
    );
    assert_eq!(
        decrypt_with(&kms, &plain, None, Some(ec(&[("a", "b")]))).await,
        Err(invalid_ciphertext())
    );

    // Several pairs: order of the pairs does not matter, every pair does.
    let many = ec(&[("purpose", "backup"), ("tenant", "42"), ("zone", "eu")]);
    let blob = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("many"))
        .set_encryption_context(Some(many.clone()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap()
        .into_inner();
    // A map built in another order (and with its own hasher) serializes in another order.
    let reordered = ec(&[("zone", "eu"), ("tenant", "42"), ("purpose", "backup")]);
    assert_eq!(
        decrypt_with(&kms, &blob, None, Some(reordered)).await,
        Ok(b"many".to_vec())
    );
    let mut missing_one = many.clone();
    missing_one.remove("tenant");
    assert_eq!(
        decrypt_with(&kms, &blob, None, Some(missing_one)).await,
        Err(invalid_ciphertext())
    );
}

#[tokio::test]
async fn every_flipped_bit_and_every_truncation_is_invalid_ciphertext() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    // A second key, so that a header naming "some other key" could in principle resolve.
    new_key(&kms).await;
    let context = ec(&[("k", "v")]);
    let blob = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("sixteen byte msg"))
        .set_encryption_context(Some(context.clone()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap()
        .into_inner();
    assert_eq!(
        decrypt_with(&kms, &blob, None, Some(context.clone())).await,
        Ok(b"sixteen byte msg".to_vec())
    );

    for i in 0..blob.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[i] ^= mask;
            assert_eq!(
                decrypt_with(&kms, &bad, None, Some(context.clone())).await,
                Err(invalid_ciphertext()),
                "byte {i} ^ {mask:#04x}, no KeyId"
            );
            // With the KeyId named, a corrupted key-id field in the header may instead be
            // reported as naming another key; nothing else is acceptable.
            let got = decrypt_with(&kms, &bad, Some(&id), Some(context.clone())).await;
            let code = got.expect_err("tampered blob decrypted").0;
            assert!(
                code == "InvalidCiphertextException" || code == "IncorrectKeyException",
                "byte {i} ^ {mask:#04x} with KeyId: {code}"
            );
        }
    }
    for len in 1..blob.len() {
        assert_eq!(
            decrypt_with(&kms, &blob[..len], None, Some(context.clone())).await,
            Err(invalid_ciphertext()),
            "truncated to {len}"
        );
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert_eq!(
        decrypt_with(&kms, &longer, None, Some(context.clone())).await,
        Err(invalid_ciphertext())
    );
    // Garbage that never was a ciphertext.
    for garbage in [
        vec![0u8; 1],
        vec![0xFF; 100],
        b"not a ciphertext at all".to_vec(),
    ] {
        assert_eq!(
            decrypt_with(&kms, &garbage, None, None).await,
            Err(invalid_ciphertext())
        );
    }
}

#[tokio::test]
async fn decrypt_with_another_key_id_is_incorrect_key() {
    let s = Server::start();
    let kms = s.kms();
    let k1 = new_key(&kms).await.key_id().to_string();
    let k2 = new_key(&kms).await.key_id().to_string();
    kms.create_alias()
        .alias_name("alias/two")
        .target_key_id(&k2)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&kms, &k1, b"for k1").await.into_inner();
    let incorrect = expected(
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
    );
    for other in [k2.clone(), key_arn(&k2), "alias/two".to_string()] {
        assert_eq!(
            decrypt_with(&kms, &blob, Some(&other), None).await,
            Err(incorrect.clone()),
            "KeyId {other}"
        );
        assert_eq!(
            failure(
                kms.re_encrypt()
                    .ciphertext_blob(Blob::new(blob.clone()))
                    .source_key_id(&other)
                    .destination_key_id(&k2)
                    .send()
                    .await
            ),
            incorrect,
            "SourceKeyId {other}"
        );
    }
    // A KeyId that does not exist is NotFound, before the ciphertext is looked at.
    assert_eq!(
        decrypt_with(&kms, &blob, Some(MISSING_UUID), None).await,
        Err(expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        ))
    );
    assert_eq!(
        decrypt_with(&kms, &blob, Some("alias/none"), None).await,
        Err(expected(
            "NotFoundException",
            "Alias arn:aws:kms:us-east-1:000000000000:alias/none is not found."
        ))
    );
    // The right key still works.
    assert_eq!(
        decrypt_with(&kms, &blob, Some(&k1), None).await,
        Ok(b"for k1".to_vec())
    );
}

#[tokio::test]
async fn re_encrypt_moves_a_ciphertext_to_another_key_and_context() {
    let s = Server::start();
    let kms = s.kms();
    let k1 = new_key(&kms).await;
    let k2 = new_key(&kms).await;
    let old_ec = ec(&[("stage", "old")]);
    let new_ec = ec(&[("stage", "new")]);
    let blob = kms
        .encrypt()
        .key_id(k1.key_id())
        .plaintext(Blob::new("moving"))
        .set_encryption_context(Some(old_ec.clone()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    let r = kms
        .re_encrypt()
        .ciphertext_blob(blob.clone())
        .set_source_encryption_context(Some(old_ec.clone()))
        .destination_key_id(k2.key_id())
        .set_destination_encryption_context(Some(new_ec.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.source_key_id(), Some(key_arn(k1.key_id()).as_str()));
    assert_eq!(r.key_id(), Some(key_arn(k2.key_id()).as_str()));
    assert_eq!(
        r.source_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(
        r.destination_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(r.source_key_material_id(), k1.current_key_material_id());
    assert_eq!(
        r.destination_key_material_id(),
        k2.current_key_material_id()
    );
    let moved = r.ciphertext_blob.unwrap().into_inner();
    assert_ne!(moved, blob.as_ref());
    assert_eq!(
        decrypt_with(&kms, &moved, None, Some(new_ec.clone())).await,
        Ok(b"moving".to_vec())
    );
    assert_eq!(
        decrypt_with(&kms, &moved, None, Some(old_ec.clone())).await,
        Err(invalid_ciphertext())
    );
    assert_eq!(
        decrypt_with(&kms, &moved, Some(k1.key_id()), Some(new_ec.clone()))
            .await
            .unwrap_err()
            .0,
        "IncorrectKeyException"
    );
    // The source ciphertext is untouched.
    assert_eq!(
        decrypt_with(&kms, blob.as_ref(), None, Some(old_ec.clone())).await,
        Ok(b"moving".to_vec())
    );

    // Same key, new context.
    let r = kms
        .re_encrypt()
        .ciphertext_blob(blob.clone())
        .set_source_encryption_context(Some(old_ec.clone()))
        .destination_key_id(k1.key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(r.key_id(), Some(key_arn(k1.key_id()).as_str()));
    assert_eq!(
        decrypt_with(&kms, r.ciphertext_blob().unwrap().as_ref(), None, None).await,
        Ok(b"moving".to_vec())
    );

    // Wrong source context.
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .destination_key_id(k2.key_id())
                .send()
                .await
        ),
        invalid_ciphertext()
    );
    // DestinationKeyId is required.
    assert_eq!(
        failure(kms.re_encrypt().ciphertext_blob(blob.clone()).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'destinationKeyId' failed to satisfy constraint: Member must not be null"
        )
    );
    // A disabled destination, then a disabled source.
    kms.disable_key().key_id(k2.key_id()).send().await.unwrap();
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .set_source_encryption_context(Some(old_ec.clone()))
                .destination_key_id(k2.key_id())
                .send()
                .await
        ),
        expected(
            "DisabledException",
            &format!("{} is disabled.", key_arn(k2.key_id()))
        )
    );
    kms.enable_key().key_id(k2.key_id()).send().await.unwrap();
    kms.disable_key().key_id(k1.key_id()).send().await.unwrap();
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .set_source_encryption_context(Some(old_ec.clone()))
                .destination_key_id(k2.key_id())
                .send()
                .await
        ),
        expected(
            "DisabledException",
            &format!("{} is disabled.", key_arn(k1.key_id()))
        )
    );
    // A destination that does not exist.
    kms.enable_key().key_id(k1.key_id()).send().await.unwrap();
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .set_source_encryption_context(Some(old_ec))
                .destination_key_id(MISSING_UUID)
                .send()
                .await
        ),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        )
    );
}

#[tokio::test]
async fn generate_data_key_sizes_and_round_trip() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let context = ec(&[("file", "report.pdf")]);
    for (spec, bytes, want) in [
        (Some(DataKeySpec::Aes256), None, 32usize),
        (Some(DataKeySpec::Aes128), None, 16),
        (None, Some(1), 1),
        (None, Some(64), 64),
        (None, Some(1024), 1024),
    ] {
        let r = kms
            .generate_data_key()
            .key_id(id)
            .set_key_spec(spec.clone())
            .set_number_of_bytes(bytes)
            .set_encryption_context(Some(context.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.key_id(), Some(key_arn(id).as_str()));
        assert_eq!(r.key_material_id(), key.current_key_material_id());
        let plaintext = r.plaintext.unwrap().into_inner();
        assert_eq!(plaintext.len(), want, "{spec:?} {bytes:?}");
        let blob = r.ciphertext_blob.unwrap().into_inner();
        assert_eq!(
            decrypt_with(&kms, &blob, None, Some(context.clone())).await,
            Ok(plaintext.clone())
        );
        assert_eq!(
            decrypt_with(&kms, &blob, None, None).await,
            Err(invalid_ciphertext())
        );
    }
    // Two data keys differ.
    let a = kms
        .generate_data_key()
        .key_id(id)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    let b = kms
        .generate_data_key()
        .key_id(id)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_ne!(a.plaintext, b.plaintext);
}

#[tokio::test]
async fn generate_data_key_without_plaintext() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    for (spec, bytes, want) in [
        (Some(DataKeySpec::Aes256), None, 32usize),
        (Some(DataKeySpec::Aes128), None, 16),
        (None, Some(7), 7),
    ] {
        let r = kms
            .generate_data_key_without_plaintext()
            .key_id(id)
            .set_key_spec(spec)
            .set_number_of_bytes(bytes)
            .set_encryption_context(Some(ec(&[("a", "b")])))
            .send()
            .await
            .unwrap();
        assert_eq!(r.key_id(), Some(key_arn(id).as_str()));
        assert_eq!(r.key_material_id(), key.current_key_material_id());
        let blob = r.ciphertext_blob.unwrap().into_inner();
        let plaintext = decrypt_with(&kms, &blob, None, Some(ec(&[("a", "b")])))
            .await
            .unwrap();
        assert_eq!(plaintext.len(), want);
    }
}

#[tokio::test]
async fn data_key_validation() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let too_small = "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1";
    let too_big = "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024";
    let either = "Please specify either number of bytes or key spec.";
    let cases: [(Option<DataKeySpec>, Option<i32>, &str); 4] = [
        (None, Some(0), too_small),
        (None, Some(1025), too_big),
        (Some(DataKeySpec::Aes256), Some(32), either),
        (None, None, either),
    ];
    for (spec, bytes, message) in cases {
        let got = failure(
            kms.generate_data_key()
                .key_id(&id)
                .set_key_spec(spec.clone())
                .set_number_of_bytes(bytes)
                .send()
                .await,
        );
        assert_eq!(
            got,
            expected("ValidationException", message),
            "{spec:?} {bytes:?}"
        );
        let got = failure(
            kms.generate_data_key_without_plaintext()
                .key_id(&id)
                .set_key_spec(spec.clone())
                .set_number_of_bytes(bytes)
                .send()
                .await,
        );
        assert_eq!(
            got,
            expected("ValidationException", message),
            "{spec:?} {bytes:?}"
        );
    }
    let (code, message) = failure(
        kms.generate_data_key()
            .key_id(&id)
            .key_spec(DataKeySpec::from("AES_512"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
    );
    assert_eq!(
        failure(kms.generate_data_key().number_of_bytes(32).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        )
    );
    assert_eq!(
        failure(
            kms.generate_data_key()
                .key_id("fake-key-id")
                .number_of_bytes(32)
                .send()
                .await
        ),
        expected("NotFoundException", "Invalid keyId 'fake-key-id'")
    );
}

#[tokio::test]
async fn generate_random() {
    let s = Server::start();
    let kms = s.kms();
    for n in [1, 32, 1024] {
        let r = kms
            .generate_random()
            .number_of_bytes(n)
            .send()
            .await
            .unwrap();
        assert_eq!(r.plaintext().unwrap().as_ref().len(), n as usize);
    }
    let a = kms
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    let b = kms
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_ne!(a.plaintext, b.plaintext);
    assert_ne!(a.plaintext().unwrap().as_ref(), &[0u8; 32]);

    assert_eq!(
        failure(kms.generate_random().send().await),
        expected("ValidationException", "NumberOfBytes is required.")
    );
    assert_eq!(
        failure(kms.generate_random().number_of_bytes(0).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    );
    assert_eq!(
        failure(kms.generate_random().number_of_bytes(1025).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
        )
    );
}

#[tokio::test]
async fn dry_run_answers_without_doing_anything() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let other = new_key(&kms).await.key_id().to_string();
    let blob = encrypt(&kms, &id, b"dry").await;
    let before = snapshot(&kms).await;
    let dry = expected(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    );
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    assert_eq!(
        failure(
            kms.decrypt()
                .ciphertext_blob(blob.clone())
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    assert_eq!(
        failure(
            kms.decrypt()
                .key_id(&id)
                .ciphertext_blob(blob.clone())
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    assert_eq!(
        failure(
            kms.generate_data_key()
                .key_id(&id)
                .key_spec(DataKeySpec::Aes256)
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    assert_eq!(
        failure(
            kms.generate_data_key_without_plaintext()
                .key_id(&id)
                .key_spec(DataKeySpec::Aes256)
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .destination_key_id(&other)
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    // DryRunModifiers (newer than this SDK, so patched into the JSON): IGNORE_CIPHERTEXT
    // authorizes the named key without looking at the ciphertext.
    let ignore = client(
        &s,
        Some(patch(
            serde_json::json!({"DryRunModifiers": ["IGNORE_CIPHERTEXT"]}),
        )),
    );
    assert_eq!(
        failure(
            ignore
                .decrypt()
                .key_id(&id)
                .ciphertext_blob(Blob::new("not a ciphertext"))
                .dry_run(true)
                .send()
                .await
        ),
        dry
    );
    let bogus = client(
        &s,
        Some(patch(serde_json::json!({"DryRunModifiers": ["BOGUS"]}))),
    );
    assert_eq!(
        failure(
            bogus
                .decrypt()
                .key_id(&id)
                .ciphertext_blob(blob.clone())
                .dry_run(true)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "1 validation error detected: Value 'BOGUS' at 'dryRunModifiers.1.member' failed to satisfy constraint: Member must satisfy enum value set: [IGNORE_CIPHERTEXT]"
        )
    );
    assert_eq!(snapshot(&kms).await, before);
    // A request that would fail validation says so, DryRun or not.
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new(vec![]))
                .dry_run(true)
                .send()
                .await
        )
        .0,
        "ValidationException"
    );
    // DryRun=false is an ordinary request.
    let r = kms
        .decrypt()
        .ciphertext_blob(blob)
        .dry_run(false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.plaintext().unwrap().as_ref(), b"dry");
}

#[tokio::test]
async fn keys_for_other_purposes_and_other_algorithms_are_refused() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let (code, message) = failure(
        kms.encrypt()
            .key_id(&id)
            .plaintext(Blob::new("x"))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidKeyUsageException", "{message}");
    let hmac = kms
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let arn = key_arn(hmac.key_id());
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(hmac.key_id())
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        expected(
            "InvalidKeyUsageException",
            &format!("{arn} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.")
        )
    );
    assert_eq!(
        failure(
            kms.generate_data_key()
                .key_id(hmac.key_id())
                .number_of_bytes(32)
                .send()
                .await
        ),
        expected(
            "InvalidKeyUsageException",
            &format!(
                "{arn} key usage is GENERATE_VERIFY_MAC which is not valid for GenerateDataKey."
            )
        )
    );
}

#[tokio::test]
async fn crypto_on_disabled_keys() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    let blob = encrypt(&kms, &id, b"x").await;
    kms.disable_key().key_id(&id).send().await.unwrap();
    let disabled = expected(
        "DisabledException",
        &format!("{} is disabled.", key_arn(&id)),
    );
    assert_eq!(
        failure(
            kms.generate_data_key_without_plaintext()
                .key_id(&id)
                .number_of_bytes(8)
                .send()
                .await
        ),
        disabled
    );
    assert_eq!(
        failure(
            kms.decrypt()
                .key_id(&id)
                .ciphertext_blob(blob.clone())
                .send()
                .await
        ),
        disabled
    );
    // DescribeKey and GenerateRandom do not care.
    describe(&kms, &id).await;
    kms.generate_random()
        .number_of_bytes(8)
        .send()
        .await
        .unwrap();
}
