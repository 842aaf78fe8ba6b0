//! Key material rotation over the wire with aws-sdk-kms: EnableKeyRotation /
//! DisableKeyRotation / GetKeyRotationStatus, RotateKeyOnDemand and its limit, ListKeyRotations
//! (both views, paging), automatic rotation when the clock passes the rotation date (the server
//! restarted with its clock moved on), earlier ciphertexts decrypting after every rotation,
//! ReEncrypt moving them to the current material, and the errors for keys that cannot rotate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::Server;
use crate::support::kms::*;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{IncludeKeyMaterial, KeySpec, KeyUsageType, RotationType, Tag};

const DAY: f64 = 86_400.0;

/// The material version a ciphertext names in its header.
fn version_of(ciphertext: &Blob) -> u32 {
    trent_crypto::blob::parse_header(ciphertext.as_ref())
        .unwrap()
        .material_version
}

async fn status(kms: &Client, key: &str) -> (bool, Option<i32>, Option<f64>) {
    let s = kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap();
    assert_eq!(s.key_id(), Some(key));
    (
        s.key_rotation_enabled(),
        s.rotation_period_in_days(),
        s.next_rotation_date().map(|d| d.as_secs_f64()),
    )
}

async fn current_material_id(kms: &Client, key: &str) -> String {
    describe(kms, key)
        .await
        .current_key_material_id()
        .expect("symmetric keys show their current material")
        .to_string()
}

async fn decrypts(kms: &Client, ciphertext: &Blob, plaintext: &[u8]) {
    let out = kms
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext().unwrap().as_ref(), plaintext);
}

#[tokio::test]
async fn automatic_rotation_is_enabled_disabled_and_validated() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await.key_id().to_string();
    assert_eq!(status(&kms, &key).await, (false, None, None));

    kms.enable_key_rotation().key_id(&key).send().await.unwrap();
    let (enabled, period, next) = status(&kms, &key).await;
    assert_eq!((enabled, period), (true, Some(365)));
    let next = next.unwrap();
    assert!((next - (now_secs() + 365.0 * DAY)).abs() < 120.0, "{next}");

    // A new period keeps the schedule's anchor: next date = anchor + new period.
    kms.enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(180)
        .send()
        .await
        .unwrap();
    let (_, period, next_180) = status(&kms, &key).await;
    assert_eq!(period, Some(180));
    assert!((next_180.unwrap() - (next - 185.0 * DAY)).abs() < 1.0);

    for (days, bound) in [
        (89, "greater than or equal to 90"),
        (2561, "less than or equal to 2560"),
    ] {
        assert_eq!(
            failure(
                kms.enable_key_rotation()
                    .key_id(&key)
                    .rotation_period_in_days(days)
                    .send()
                    .await
            ),
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed \
                     to satisfy constraint: Member must have value {bound}"
                )
            )
        );
    }
    assert_eq!(
        status(&kms, &key).await.1,
        Some(180),
        "a refused call changes nothing"
    );

    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&kms, &key).await, (false, None, None));

    // The key ARN works too; an alias does not (as for the other key management operations).
    let arn = key_arn(&key);
    kms.enable_key_rotation().key_id(&arn).send().await.unwrap();
    assert!(status(&kms, &key).await.0);
    kms.create_alias()
        .alias_name("alias/rot")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let (code, _) = failure(kms.disable_key_rotation().key_id("alias/rot").send().await);
    assert_eq!(code, "InvalidArnException");
    assert!(status(&kms, &key).await.0);
}

#[tokio::test]
async fn on_demand_rotation_keeps_old_ciphertexts_and_re_encrypt_moves_them() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await.key_id().to_string();
    let first_material = current_material_id(&kms, &key).await;
    assert_eq!(first_material.len(), 64);
    assert!(first_material.bytes().all(|b| b.is_ascii_hexdigit()));
    let before = encrypt(&kms, &key, b"before").await;
    assert_eq!(version_of(&before), 1);

    let out = kms
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_id(), Some(key.as_str()));
    let second_material = current_material_id(&kms, &key).await;
    assert_ne!(first_material, second_material);
    // On-demand rotation does not turn automatic rotation on.
    assert_eq!(status(&kms, &key).await, (false, None, None));

    let after = encrypt(&kms, &key, b"after").await;
    assert_eq!(version_of(&after), 2);
    decrypts(&kms, &before, b"before").await;
    decrypts(&kms, &after, b"after").await;

    let moved = kms
        .re_encrypt()
        .ciphertext_blob(before.clone())
        .destination_key_id(&key)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    assert_eq!(version_of(&moved), 2, "ReEncrypt uses the current material");
    decrypts(&kms, &moved, b"before").await;

    kms.rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let third_material = current_material_id(&kms, &key).await;

    // ROTATIONS_ONLY (the default): the two rotations, oldest first.
    let list = kms.list_key_rotations().key_id(&key).send().await.unwrap();
    assert!(!list.truncated());
    let rotations = list.rotations();
    assert_eq!(rotations.len(), 2);
    for (entry, material) in rotations.iter().zip([&second_material, &third_material]) {
        assert_eq!(entry.key_id(), Some(key.as_str()));
        assert_eq!(entry.rotation_type(), Some(&RotationType::OnDemand));
        assert_eq!(entry.key_material_id(), Some(material.as_str()));
        let date = entry.rotation_date().unwrap().as_secs_f64();
        assert!((date - now_secs()).abs() < 120.0);
    }
    assert_eq!(
        rotations[1].key_material_state().map(|s| s.as_str()),
        Some("CURRENT")
    );
    assert_eq!(
        rotations[0].key_material_state().map(|s| s.as_str()),
        Some("NON_CURRENT")
    );

    // ALL_KEY_MATERIAL adds the original material (no rotation date or type), paged.
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_key_rotations()
            .key_id(&key)
            .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
            .limit(1)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(page.rotations().len(), 1);
        seen.push(page.rotations()[0].clone());
        if !page.truncated() {
            assert_eq!(page.next_marker(), None);
            break;
        }
        marker = page.next_marker().map(str::to_string);
        assert!(marker.is_some());
    }
    let ids: Vec<&str> = seen.iter().filter_map(|e| e.key_material_id()).collect();
    assert_eq!(ids, [&first_material, &second_material, &third_material]);
    assert_eq!(seen[0].rotation_type(), None);
    assert_eq!(seen[0].rotation_date(), None);

    let (code, _) = failure(
        kms.list_key_rotations()
            .key_id(&key)
            .marker("not-a-marker")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidMarkerException");
    decrypts(&kms, &before, b"before").await;
}

#[tokio::test]
async fn on_demand_rotations_stop_at_the_limit() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await.key_id().to_string();
    let mut ciphertexts = vec![encrypt(&kms, &key, b"v1").await];
    for i in 0..25 {
        kms.rotate_key_on_demand()
            .key_id(&key)
            .send()
            .await
            .unwrap();
        ciphertexts.push(encrypt(&kms, &key, format!("v{}", i + 2).as_bytes()).await);
    }
    let material = current_material_id(&kms, &key).await;
    assert_eq!(
        failure(kms.rotate_key_on_demand().key_id(&key).send().await),
        expected(
            "LimitExceededException",
            &format!(
                "The on-demand rotations limit has been reached for the given keyId. No more \
                 on-demand rotations can be performed for this key: {}",
                key_arn(&key)
            )
        )
    );
    assert_eq!(current_material_id(&kms, &key).await, material);
    for (i, c) in ciphertexts.iter().enumerate() {
        assert_eq!(version_of(c), i as u32 + 1);
        decrypts(&kms, c, format!("v{}", i + 1).as_bytes()).await;
    }
}

#[tokio::test]
async fn keys_that_cannot_rotate_get_aws_errors() {
    let s = Server::start();
    let kms = s.kms();
    let create = |spec: KeySpec, usage: KeyUsageType| {
        let kms = kms.clone();
        async move {
            kms.create_key()
                .key_spec(spec)
                .key_usage(usage)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
        }
    };
    let rsa = create(KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let hmac = create(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    // AWS shows CurrentKeyMaterialId for symmetric encryption keys only.
    assert_eq!(rsa.current_key_material_id(), None);
    assert_eq!(hmac.current_key_material_id(), None);
    assert_eq!(
        describe(&kms, hmac.key_id())
            .await
            .current_key_material_id(),
        None
    );

    for (meta, spec) in [(&rsa, "RSA_2048"), (&hmac, "HMAC_256")] {
        let id = meta.key_id();
        let refusal = expected(
            "UnsupportedOperationException",
            &format!(
                "{} key spec is {spec} which is not valid for this operation.",
                key_arn(id)
            ),
        );
        assert_eq!(
            failure(kms.enable_key_rotation().key_id(id).send().await),
            refusal
        );
        assert_eq!(
            failure(kms.disable_key_rotation().key_id(id).send().await),
            refusal
        );
        assert_eq!(
            failure(kms.rotate_key_on_demand().key_id(id).send().await),
            refusal
        );
        assert_eq!(
            failure(kms.list_key_rotations().key_id(id).send().await),
            refusal
        );
        // GetKeyRotationStatus answers `false` for them.
        assert_eq!(status(&kms, id).await, (false, None, None));
    }

    // A disabled key: DisabledException; pending deletion: KMSInvalidStateException.
    let key = new_key(&kms).await.key_id().to_string();
    kms.enable_key_rotation().key_id(&key).send().await.unwrap();
    kms.disable_key().key_id(&key).send().await.unwrap();
    let disabled = expected(
        "DisabledException",
        &format!("{} is disabled.", key_arn(&key)),
    );
    assert_eq!(
        failure(kms.disable_key_rotation().key_id(&key).send().await),
        disabled
    );
    assert_eq!(
        failure(kms.rotate_key_on_demand().key_id(&key).send().await),
        disabled
    );
    assert!(
        status(&kms, &key).await.0,
        "a disabled key keeps its schedule"
    );
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let pending = expected(
        "KMSInvalidStateException",
        &format!("{} is pending deletion.", key_arn(&key)),
    );
    assert_eq!(
        failure(kms.enable_key_rotation().key_id(&key).send().await),
        pending
    );
    assert_eq!(
        failure(kms.rotate_key_on_demand().key_id(&key).send().await),
        pending
    );
    assert_eq!(
        kms.list_key_rotations()
            .key_id(&key)
            .send()
            .await
            .unwrap()
            .rotations()
            .len(),
        0
    );

    let (code, message) = failure(kms.get_key_rotation_status().key_id("nope").send().await);
    assert_eq!(code, "NotFoundException", "{message}");
}

#[tokio::test]
async fn rotation_happens_when_its_date_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (key, idle, ciphertext, first_material, next) = {
        let s = Server::start_in(&data, None);
        let kms = s.kms();
        let key = new_key(&kms).await.key_id().to_string();
        kms.enable_key_rotation()
            .key_id(&key)
            .rotation_period_in_days(90)
            .send()
            .await
            .unwrap();
        // A disabled key is not rotated when its date passes.
        let idle = new_key(&kms).await.key_id().to_string();
        kms.enable_key_rotation()
            .key_id(&idle)
            .rotation_period_in_days(90)
            .send()
            .await
            .unwrap();
        kms.disable_key().key_id(&idle).send().await.unwrap();
        let ciphertext = encrypt(&kms, &key, b"from before the rotation").await;
        let first_material = current_material_id(&kms, &key).await;
        let next = status(&kms, &key).await.2.unwrap();
        s.stop();
        (key, idle, ciphertext, first_material, next)
    };

    // 91 days later.
    let offset = (91.0 * DAY) as i64;
    let s = Server::start_in_with_args(&data, None, &["--test-clock-offset", &offset.to_string()]);
    let kms = s.kms();
    let rotations = kms
        .list_key_rotations()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .rotations()
        .to_vec();
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].rotation_type(), Some(&RotationType::Automatic));
    let rotated_at = rotations[0].rotation_date().unwrap().as_secs_f64();
    assert!((rotated_at - (now_secs() + 91.0 * DAY)).abs() < 120.0);
    let second_material = current_material_id(&kms, &key).await;
    assert_ne!(second_material, first_material);
    assert_eq!(
        rotations[0].key_material_id(),
        Some(second_material.as_str())
    );

    // The schedule moves one period on; the old ciphertext still decrypts; new ones use the
    // new material.
    let (enabled, period, new_next) = status(&kms, &key).await;
    assert_eq!((enabled, period), (true, Some(90)));
    assert!(
        new_next.unwrap() > next + 89.0 * DAY,
        "{new_next:?} vs {next}"
    );
    decrypts(&kms, &ciphertext, b"from before the rotation").await;
    assert_eq!(version_of(&encrypt(&kms, &key, b"x").await), 2);

    let idle_rotations = kms.list_key_rotations().key_id(&idle).send().await.unwrap();
    assert_eq!(idle_rotations.rotations().len(), 0);
    assert!(status(&kms, &idle).await.0);
}

#[tokio::test]
async fn tag_keys_beginning_with_aws_are_reserved_in_any_case() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await.key_id().to_string();
    for reserved in ["aws:x", "AWS:x", "Aws:x", "aWs:x"] {
        let refused = expected("TagException", "Tags beginning with aws: are reserved");
        assert_eq!(
            failure(
                kms.tag_resource()
                    .key_id(&key)
                    .tags(
                        Tag::builder()
                            .tag_key(reserved)
                            .tag_value("v")
                            .build()
                            .unwrap()
                    )
                    .send()
                    .await
            ),
            refused
        );
        assert_eq!(
            failure(
                kms.create_key()
                    .tags(
                        Tag::builder()
                            .tag_key(reserved)
                            .tag_value("v")
                            .build()
                            .unwrap()
                    )
                    .send()
                    .await
            ),
            refused
        );
    }
    assert_eq!(all_tags(&kms, &key, 50).await, vec![]);
    // Not a prefix: allowed.
    kms.tag_resource()
        .key_id(&key)
        .tags(tag("awsx", "v"))
        .send()
        .await
        .unwrap();
}
