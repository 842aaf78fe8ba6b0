//! Key lifecycle through the real binary: CreateKey, DescribeKey, ListKeys, EnableKey,
//! DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription, GetKeyPolicy and
//! ListKeyPolicies; key identification, NotFound messages, key states, pagination, validation,
//! and that a rejected request changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::primitives::Blob;
#[allow(deprecated)]
use aws_sdk_kms::types::CustomerMasterKeySpec;
use aws_sdk_kms::types::{
    EncryptionAlgorithmSpec, KeyManagerType, KeySpec, KeyState, KeyUsageType, OriginType,
};

use crate::support::Server;
use crate::support::kms::*;

const MISSING_UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

// CustomerMasterKeySpec is deprecated but still part of KeyMetadata and CreateKey.
#[allow(deprecated)]
#[tokio::test]
async fn create_key_returns_complete_metadata_and_describe_key_agrees() {
    let s = Server::start();
    let kms = s.kms();
    let before = now_secs();
    let created = kms
        .create_key()
        .description("orders database")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let after = now_secs();

    let id = created.key_id();
    assert!(is_uuid(id), "key id {id}");
    assert_eq!(created.arn(), Some(key_arn(id).as_str()));
    assert_eq!(created.aws_account_id(), Some(ACCOUNT));
    let created_at = created.creation_date().unwrap().as_secs_f64();
    assert!(
        created_at >= before - 1.0 && created_at <= after + 1.0,
        "CreationDate {created_at} not within [{before}, {after}]"
    );
    assert!(created.enabled());
    assert_eq!(created.description(), Some("orders database"));
    assert_eq!(created.key_state(), Some(&KeyState::Enabled));
    assert_eq!(created.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(
        created.customer_master_key_spec(),
        Some(&CustomerMasterKeySpec::SymmetricDefault)
    );
    assert_eq!(created.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(
        created.encryption_algorithms(),
        &[EncryptionAlgorithmSpec::SymmetricDefault]
    );
    assert!(created.signing_algorithms().is_empty());
    assert!(created.mac_algorithms().is_empty());
    assert_eq!(created.origin(), Some(&OriginType::AwsKms));
    assert_eq!(created.key_manager(), Some(&KeyManagerType::Customer));
    assert_eq!(created.multi_region(), Some(false));
    assert!(created.multi_region_configuration().is_none());
    assert!(created.deletion_date().is_none());
    assert!(created.pending_deletion_window_in_days().is_none());
    assert!(
        created
            .current_key_material_id()
            .is_some_and(|m| !m.is_empty()),
        "CurrentKeyMaterialId missing: {created:?}"
    );

    assert_eq!(describe(&kms, id).await, created);

    // A second key is a different key with different material.
    let other = new_key(&kms).await;
    assert_ne!(other.key_id(), id);
    assert_ne!(
        other.current_key_material_id(),
        created.current_key_material_id()
    );
    // No description means an empty one, as AWS reports it.
    assert_eq!(other.description(), Some(""));
}

#[tokio::test]
async fn multi_region_key_has_mrk_id_and_primary_configuration() {
    let s = Server::start();
    let kms = s.kms();
    let key = kms
        .create_key()
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let id = key.key_id();
    assert!(
        id.strip_prefix("mrk-")
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "{id}"
    );
    assert_eq!(key.multi_region(), Some(true));
    let conf = key.multi_region_configuration().unwrap();
    assert_eq!(
        conf.multi_region_key_type().map(|t| t.as_str()),
        Some("PRIMARY")
    );
    assert_eq!(
        conf.primary_key().unwrap().arn(),
        Some(key_arn(id).as_str())
    );
    assert_eq!(conf.primary_key().unwrap().region(), Some(REGION));
    assert!(conf.replica_keys().is_empty());
    // mrk- IDs are accepted wherever key IDs are.
    assert_eq!(describe(&kms, id).await, key);
    encrypt(&kms, id, b"x").await;
}

#[tokio::test]
async fn describe_key_accepts_key_id_key_arn_alias_name_and_alias_arn() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    kms.create_alias()
        .alias_name("alias/orders")
        .target_key_id(id)
        .send()
        .await
        .unwrap();
    for name in [
        id.to_string(),
        key_arn(id),
        "alias/orders".to_string(),
        alias_arn("alias/orders"),
    ] {
        assert_eq!(describe(&kms, &name).await, key, "DescribeKey {name}");
    }
}

#[tokio::test]
async fn not_found_messages_name_what_was_asked_for() {
    let s = Server::start();
    let kms = s.kms();
    let real = new_key(&kms).await.key_id().to_string();
    // The ARN of a real key, but in another partition.
    let other_partition = format!("arn:aws-cn:kms:us-east-1:{ACCOUNT}:key/{real}");
    let cases = [
        (
            other_partition.clone(),
            format!("Invalid arn {other_partition}"),
        ),
        (
            "fake-key-id".to_string(),
            "Invalid keyId 'fake-key-id'".to_string(),
        ),
        (
            "mrk-fake-key-id".to_string(),
            "Invalid keyId 'mrk-fake-key-id'".to_string(),
        ),
        (
            "134f2428cec14b25a1ae9048164dba47".to_string(),
            "Invalid keyId '134f2428cec14b25a1ae9048164dba47'".to_string(),
        ),
        (
            MISSING_UUID.to_string(),
            format!("Key '{}' does not exist", key_arn(MISSING_UUID)),
        ),
        (
            key_arn(MISSING_UUID),
            format!("Key '{}' does not exist", key_arn(MISSING_UUID)),
        ),
        (
            "alias/x".to_string(),
            "Alias arn:aws:kms:us-east-1:000000000000:alias/x is not found.".to_string(),
        ),
        (
            alias_arn("alias/x"),
            "Alias arn:aws:kms:us-east-1:000000000000:alias/x is not found.".to_string(),
        ),
        (
            format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{MISSING_UUID}"),
            "Invalid arn eu-west-1".to_string(),
        ),
    ];
    for (key_id, message) in cases {
        let got = failure(kms.describe_key().key_id(&key_id).send().await);
        assert_eq!(got, expected("NotFoundException", &message), "{key_id}");
        // The same rules hold for a cryptographic operation.
        let got = failure(
            kms.encrypt()
                .key_id(&key_id)
                .plaintext(Blob::new("x"))
                .send()
                .await,
        );
        assert_eq!(got, expected("NotFoundException", &message), "{key_id}");
    }
    assert_eq!(
        failure(kms.describe_key().send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[tokio::test]
async fn list_keys_pages_with_limit_and_marker() {
    let s = Server::start();
    let kms = s.kms();
    let first = kms.list_keys().send().await.unwrap();
    assert!(first.keys().is_empty());
    assert!(!first.truncated());
    assert!(first.next_marker().is_none());

    let mut created: Vec<String> = Vec::new();
    for _ in 0..7 {
        created.push(new_key(&kms).await.key_id().to_string());
    }
    created.sort();

    // Without a Limit every key fits on one page.
    let all = kms.list_keys().send().await.unwrap();
    assert!(!all.truncated());
    assert!(all.next_marker().is_none());
    let ids: Vec<&str> = all.keys().iter().map(|k| k.key_id().unwrap()).collect();
    assert_eq!(ids, created.iter().map(String::as_str).collect::<Vec<_>>());
    for k in all.keys() {
        assert_eq!(k.key_arn(), Some(key_arn(k.key_id().unwrap()).as_str()));
    }

    // Pages of 3: 3 + 3 + 1, Truncated and NextMarker on all but the last.
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_keys()
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        sizes.push(page.keys().len());
        seen.extend(page.keys().iter().map(|k| k.key_id().unwrap().to_string()));
        assert_eq!(page.truncated(), page.next_marker().is_some());
        match page.next_marker() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, created);
    // Exactly one page's worth: not truncated.
    let page = kms.list_keys().limit(7).send().await.unwrap();
    assert_eq!(page.keys().len(), 7);
    assert!(!page.truncated());
    assert_eq!(all_key_ids(&kms, 2).await, created);
    assert_eq!(all_key_ids(&kms, 1).await, created);
}

#[tokio::test]
async fn list_keys_rejects_bad_limits_and_markers() {
    let s = Server::start();
    let kms = s.kms();
    for _ in 0..3 {
        new_key(&kms).await;
    }
    assert_eq!(
        failure(kms.list_keys().limit(0).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    );
    assert_eq!(
        failure(kms.list_keys().limit(1001).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"
        )
    );
    // Markers Trent never issued, including ones that look like its own (base64url text) and
    // real key IDs, are refused.
    let real = kms.list_keys().limit(1).send().await.unwrap();
    let id = real.keys()[0].key_id().unwrap().to_string();
    for bogus in ["bogus!", "not-a-marker", "AAAA", "YWJj", id.as_str()] {
        let (code, _) = failure(kms.list_keys().marker(bogus).send().await);
        assert_eq!(code, "InvalidMarkerException", "marker {bogus:?}");
    }
}

#[tokio::test]
async fn disable_and_enable_key() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let arn = key_arn(id);
    let blob = encrypt(&kms, id, b"secret").await;

    kms.disable_key().key_id(id).send().await.unwrap();
    let d = describe(&kms, id).await;
    assert!(!d.enabled());
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    // Disabling twice is fine.
    kms.disable_key().key_id(&arn).send().await.unwrap();

    let disabled = expected("DisabledException", &format!("{arn} is disabled."));
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(id)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        disabled
    );
    assert_eq!(
        failure(kms.decrypt().ciphertext_blob(blob.clone()).send().await),
        disabled
    );
    assert_eq!(
        failure(
            kms.generate_data_key()
                .key_id(id)
                .number_of_bytes(32)
                .send()
                .await
        ),
        disabled
    );

    kms.enable_key().key_id(&arn).send().await.unwrap();
    let e = describe(&kms, id).await;
    assert!(e.enabled());
    assert_eq!(e.key_state(), Some(&KeyState::Enabled));
    // Everything but the state is as it was.
    assert_eq!(e, key);
    let plain = kms.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"secret");
    // Enabling an enabled key is fine.
    kms.enable_key().key_id(id).send().await.unwrap();
}

#[tokio::test]
async fn management_operations_refuse_aliases_and_change_nothing() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/a")
        .target_key_id(key.key_id())
        .send()
        .await
        .unwrap();
    let before = snapshot(&kms).await;
    let refused = expected(
        "InvalidArnException",
        "Key Aliases are not supported for this operation.",
    );
    for name in ["alias/a".to_string(), alias_arn("alias/a")] {
        let n = name.as_str();
        assert_eq!(
            failure(kms.disable_key().key_id(n).send().await),
            refused,
            "DisableKey {n}"
        );
        assert_eq!(
            failure(kms.enable_key().key_id(n).send().await),
            refused,
            "EnableKey {n}"
        );
        assert_eq!(
            failure(kms.schedule_key_deletion().key_id(n).send().await),
            refused,
            "ScheduleKeyDeletion {n}"
        );
        assert_eq!(
            failure(kms.cancel_key_deletion().key_id(n).send().await),
            refused,
            "CancelKeyDeletion {n}"
        );
        assert_eq!(
            failure(
                kms.update_key_description()
                    .key_id(n)
                    .description("changed")
                    .send()
                    .await
            ),
            refused,
            "UpdateKeyDescription {n}"
        );
        assert_eq!(
            failure(kms.get_key_policy().key_id(n).send().await),
            refused,
            "GetKeyPolicy {n}"
        );
        assert_eq!(
            failure(kms.list_key_policies().key_id(n).send().await),
            refused,
            "ListKeyPolicies {n}"
        );
        // Even an alias that does not exist is refused for its form, not looked up.
        assert_eq!(
            failure(kms.disable_key().key_id("alias/nope").send().await),
            refused
        );
    }
    assert_eq!(snapshot(&kms).await, before);
}

#[tokio::test]
async fn schedule_key_deletion_defaults_to_30_days() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let now = now_secs();
    let r = kms.schedule_key_deletion().key_id(id).send().await.unwrap();
    assert_eq!(r.key_id(), Some(key_arn(id).as_str()));
    assert_eq!(r.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(r.pending_window_in_days(), Some(30));
    let deletion = r.deletion_date().unwrap().as_secs_f64();
    let expected_at = now + 30.0 * 86400.0;
    assert!(
        (deletion - expected_at).abs() < 60.0,
        "DeletionDate {deletion}, expected about {expected_at}"
    );

    let d = describe(&kms, id).await;
    assert_eq!(d.key_state(), Some(&KeyState::PendingDeletion));
    assert!(!d.enabled());
    assert_eq!(d.deletion_date(), r.deletion_date());
    // Only multi-Region primaries awaiting replica deletion show the window.
    assert!(d.pending_deletion_window_in_days().is_none());
    // A key pending deletion is still listed.
    assert_eq!(all_key_ids(&kms, 100).await, vec![id.to_string()]);
}

#[tokio::test]
async fn schedule_key_deletion_window_must_be_7_to_30_days() {
    let s = Server::start();
    let kms = s.kms();
    let seven = new_key(&kms).await;
    let thirty = new_key(&kms).await;
    let victim = new_key(&kms).await;

    let now = now_secs();
    let r = kms
        .schedule_key_deletion()
        .key_id(seven.key_id())
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(r.pending_window_in_days(), Some(7));
    let at = r.deletion_date().unwrap().as_secs_f64();
    assert!((at - (now + 7.0 * 86400.0)).abs() < 60.0, "{at}");
    let r = kms
        .schedule_key_deletion()
        .key_id(thirty.key_id())
        .pending_window_in_days(30)
        .send()
        .await
        .unwrap();
    assert_eq!(r.pending_window_in_days(), Some(30));

    let before = snapshot(&kms).await;
    for (days, constraint) in [
        (6, "Member must have value greater than or equal to 7"),
        (0, "Member must have value greater than or equal to 7"),
        (-1, "Member must have value greater than or equal to 7"),
        (31, "Member must have value less than or equal to 30"),
        (365, "Member must have value less than or equal to 30"),
    ] {
        let got = failure(
            kms.schedule_key_deletion()
                .key_id(victim.key_id())
                .pending_window_in_days(days)
                .send()
                .await,
        );
        assert_eq!(
            got,
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: {constraint}"
                )
            )
        );
    }
    assert_eq!(snapshot(&kms).await, before);
    assert_eq!(
        describe(&kms, victim.key_id()).await.key_state(),
        Some(&KeyState::Enabled)
    );
}

#[tokio::test]
async fn a_key_pending_deletion_refuses_use_and_changes_but_can_be_read() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let arn = key_arn(id);
    kms.tag_resource()
        .key_id(id)
        .tags(tag("team", "payments"))
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/doomed")
        .target_key_id(id)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&kms, id, b"data").await;
    kms.schedule_key_deletion()
        .key_id(id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let before = snapshot(&kms).await;

    let pending = expected(
        "KMSInvalidStateException",
        &format!("{arn} is pending deletion."),
    );
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(id)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id("alias/doomed")
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(kms.decrypt().ciphertext_blob(blob.clone()).send().await),
        pending
    );
    assert_eq!(
        failure(
            kms.generate_data_key()
                .key_id(id)
                .number_of_bytes(16)
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.generate_data_key_without_plaintext()
                .key_id(id)
                .number_of_bytes(16)
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.re_encrypt()
                .ciphertext_blob(blob.clone())
                .destination_key_id(id)
                .send()
                .await
        ),
        pending
    );
    assert_eq!(failure(kms.enable_key().key_id(id).send().await), pending);
    assert_eq!(failure(kms.disable_key().key_id(id).send().await), pending);
    assert_eq!(
        failure(
            kms.schedule_key_deletion()
                .key_id(id)
                .pending_window_in_days(30)
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.update_key_description()
                .key_id(id)
                .description("new")
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.tag_resource()
                .key_id(id)
                .tags(tag("x", "y"))
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.untag_resource()
                .key_id(id)
                .tag_keys("team")
                .send()
                .await
        ),
        pending
    );
    assert_eq!(
        failure(
            kms.create_alias()
                .alias_name("alias/another")
                .target_key_id(id)
                .send()
                .await
        ),
        pending
    );
    assert_eq!(snapshot(&kms).await, before);

    // Reads work in every state (the snapshot above used DescribeKey, ListResourceTags,
    // GetKeyPolicy, ListAliases and ListKeys); so does ListKeyPolicies.
    let p = kms.list_key_policies().key_id(id).send().await.unwrap();
    assert_eq!(p.policy_names(), ["default"]);
    // Deleting the alias of a key pending deletion is allowed.
    kms.delete_alias()
        .alias_name("alias/doomed")
        .send()
        .await
        .unwrap();
    assert!(customer_aliases(&kms, None, 100).await.is_empty());
}

#[tokio::test]
async fn cancel_key_deletion_leaves_the_key_disabled() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let arn = key_arn(id);

    // Not pending deletion: Enabled, then Disabled.
    let not_pending = expected(
        "KMSInvalidStateException",
        &format!("{arn} is not pending deletion."),
    );
    assert_eq!(
        failure(kms.cancel_key_deletion().key_id(id).send().await),
        not_pending
    );
    kms.disable_key().key_id(id).send().await.unwrap();
    let before = snapshot(&kms).await;
    assert_eq!(
        failure(kms.cancel_key_deletion().key_id(id).send().await),
        not_pending
    );
    assert_eq!(snapshot(&kms).await, before);
    kms.enable_key().key_id(id).send().await.unwrap();

    kms.schedule_key_deletion().key_id(id).send().await.unwrap();
    let r = kms.cancel_key_deletion().key_id(&arn).send().await.unwrap();
    assert_eq!(r.key_id(), Some(arn.as_str()));
    let d = describe(&kms, id).await;
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    assert!(!d.enabled());
    assert!(d.deletion_date().is_none());
    assert_eq!(
        failure(
            kms.encrypt()
                .key_id(id)
                .plaintext(Blob::new("x"))
                .send()
                .await
        ),
        expected("DisabledException", &format!("{arn} is disabled."))
    );
    kms.enable_key().key_id(id).send().await.unwrap();
    assert_eq!(describe(&kms, id).await, key);
    encrypt(&kms, id, b"back").await;

    // A second cancel finds nothing to cancel.
    assert_eq!(
        failure(kms.cancel_key_deletion().key_id(id).send().await),
        not_pending
    );
    // A key that does not exist.
    assert_eq!(
        failure(kms.cancel_key_deletion().key_id(MISSING_UUID).send().await),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        )
    );
}

#[tokio::test]
async fn update_key_description() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    kms.update_key_description()
        .key_id(id)
        .description("first")
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&kms, id).await.description(), Some("first"));
    kms.update_key_description()
        .key_id(key_arn(id))
        .description("é".repeat(8192))
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&kms, id).await.description(),
        Some("é".repeat(8192).as_str())
    );
    kms.update_key_description()
        .key_id(id)
        .description("")
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&kms, id).await.description(), Some(""));
    kms.update_key_description()
        .key_id(id)
        .description("kept")
        .send()
        .await
        .unwrap();

    let before = snapshot(&kms).await;
    let long = "d".repeat(8193);
    assert_eq!(
        failure(
            kms.update_key_description()
                .key_id(id)
                .description(&long)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"
            )
        )
    );
    assert_eq!(
        failure(kms.update_key_description().key_id(id).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null"
        )
    );
    assert_eq!(
        failure(
            kms.update_key_description()
                .key_id(MISSING_UUID)
                .description("x")
                .send()
                .await
        ),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        )
    );
    assert_eq!(snapshot(&kms).await, before);
    assert_eq!(describe(&kms, id).await.description(), Some("kept"));
}

#[tokio::test]
async fn default_key_policy_is_the_exact_aws_text() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await;
    let id = key.key_id();
    let policy = "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::000000000000:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";
    for key_id in [id.to_string(), key_arn(id)] {
        let r = kms.get_key_policy().key_id(&key_id).send().await.unwrap();
        assert_eq!(r.policy(), Some(policy));
        assert_eq!(r.policy_name(), Some("default"));
        let r = kms
            .get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send()
            .await
            .unwrap();
        assert_eq!(r.policy(), Some(policy));
    }
    let (code, _) = failure(
        kms.get_key_policy()
            .key_id(id)
            .policy_name("other")
            .send()
            .await,
    );
    assert_eq!(code, "NotFoundException");
    assert_eq!(
        failure(
            kms.get_key_policy()
                .key_id(id)
                .policy_name("not valid!")
                .send()
                .await
        )
        .0,
        "ValidationException"
    );
    assert_eq!(
        failure(kms.get_key_policy().key_id(MISSING_UUID).send().await),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        )
    );

    let r = kms.list_key_policies().key_id(id).send().await.unwrap();
    assert_eq!(r.policy_names(), ["default"]);
    assert!(!r.truncated());
    assert!(r.next_marker().is_none());
    let r = kms
        .list_key_policies()
        .key_id(key_arn(id))
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.policy_names(), ["default"]);
    assert_eq!(
        failure(kms.list_key_policies().key_id(MISSING_UUID).send().await).0,
        "NotFoundException"
    );
}

#[allow(deprecated)]
#[tokio::test]
async fn create_key_validation_creates_nothing() {
    let s = Server::start();
    let kms = s.kms();
    new_key(&kms).await;
    let before = snapshot(&kms).await;

    let long = "d".repeat(8193);
    assert_eq!(
        failure(kms.create_key().description(&long).send().await),
        expected(
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192"
            )
        )
    );
    assert_eq!(
        failure(kms.create_key().key_spec(KeySpec::Rsa2048).send().await),
        expected(
            "ValidationException",
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
        )
    );
    assert_eq!(
        failure(
            kms.create_key()
                .key_spec(KeySpec::Rsa2048)
                .key_usage(KeyUsageType::KeyAgreement)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
        )
    );
    assert_eq!(
        failure(
            kms.create_key()
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT"
        )
    );
    let (code, message) = failure(
        kms.create_key()
            .key_spec(KeySpec::from("AES_512"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with(
            "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ["
        ),
        "{message}"
    );
    let (code, message) = failure(
        kms.create_key()
            .key_usage(KeyUsageType::from("DECRYPT_ONLY"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("at 'keyUsage'"), "{message}");
    assert_eq!(
        failure(
            kms.create_key()
                .key_spec(KeySpec::SymmetricDefault)
                .customer_master_key_spec(CustomerMasterKeySpec::SymmetricDefault)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated."
        )
    );
    // Key specs Trent does not offer.
    let (code, message) = failure(
        kms.create_key()
            .key_spec(KeySpec::Sm2)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .send()
            .await,
    );
    assert_eq!(code, "UnsupportedOperationException", "{message}");
    assert!(message.contains("SM2"), "{message}");
    // Custom key stores are not built yet (EXTERNAL origin is: tests in kms_import.rs).
    for origin in [OriginType::AwsCloudhsm, OriginType::ExternalKeyStore] {
        let (code, message) = failure(kms.create_key().origin(origin).send().await);
        assert_eq!(code, "UnsupportedOperationException", "{message}");
    }
    // Bad tags: nothing is created either.
    assert_eq!(
        failure(kms.create_key().tags(tag("aws:owner", "x")).send().await),
        expected("TagException", "Tags beginning with aws: are reserved")
    );
    assert_eq!(
        failure(
            kms.create_key()
                .tags(tag("a", "1"))
                .tags(tag("a", "2"))
                .send()
                .await
        ),
        expected("TagException", "Duplicate tag keys")
    );
    let mut too_many = kms.create_key();
    for i in 0..51 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(
        failure(too_many.send().await),
        expected("TagException", "Too many tags")
    );
    // A malformed policy.
    assert_eq!(
        failure(kms.create_key().policy("not json").send().await).0,
        "MalformedPolicyDocumentException"
    );

    assert_eq!(snapshot(&kms).await, before);
}

#[tokio::test]
async fn create_key_with_tags_and_description() {
    let s = Server::start();
    let kms = s.kms();
    let mut req = kms.create_key().description("tagged");
    for i in 0..50 {
        req = req.tags(tag(&format!("k{i:02}"), &format!("v{i}")));
    }
    let key = req.send().await.unwrap().key_metadata.unwrap();
    let tags = all_tags(&kms, key.key_id(), 50).await;
    assert_eq!(tags.len(), 50);
    assert_eq!(tags[0], tag("k00", "v0"));
    assert_eq!(tags[49], tag("k49", "v49"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_keep_the_state_machine_consistent() {
    let s = Server::start();
    let kms = s.kms();
    // Parallel CreateKey: all distinct, all listed.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let kms = kms.clone();
        tasks.push(tokio::spawn(async move {
            new_key(&kms).await.key_id().to_string()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    assert_eq!(all_key_ids(&kms, 5).await, ids);

    // Parallel ScheduleKeyDeletion of one key: exactly one succeeds.
    let id = ids[0].clone();
    let mut tasks = Vec::new();
    for days in 7..=16 {
        let kms = kms.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            kms.schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(days)
                .send()
                .await
                .map(|r| r.deletion_date().cloned())
                .map_err(err)
        }));
    }
    let pending = expected(
        "KMSInvalidStateException",
        &format!("{} is pending deletion.", key_arn(&id)),
    );
    let mut scheduled = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(date) => scheduled.push(date),
            Err(e) => assert_eq!(e, pending),
        }
    }
    assert_eq!(scheduled.len(), 1);
    assert_eq!(
        describe(&kms, &id).await.deletion_date(),
        scheduled[0].as_ref()
    );

    // Parallel CancelKeyDeletion: exactly one succeeds, the key ends Disabled.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let kms = kms.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            kms.cancel_key_deletion()
                .key_id(&id)
                .send()
                .await
                .map(|_| ())
                .map_err(err)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(
                e,
                expected(
                    "KMSInvalidStateException",
                    &format!("{} is not pending deletion.", key_arn(&id))
                )
            ),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        describe(&kms, &id).await.key_state(),
        Some(&KeyState::Disabled)
    );
}

#[tokio::test]
async fn a_disabled_key_can_still_be_managed() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    kms.disable_key().key_id(&id).send().await.unwrap();
    kms.update_key_description()
        .key_id(&id)
        .description("off but managed")
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&id)
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/off")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let p = kms.get_key_policy().key_id(&id).send().await.unwrap();
    assert!(p.policy().is_some());
    let d = describe(&kms, "alias/off").await;
    assert_eq!(d.description(), Some("off but managed"));
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    // A disabled key can be scheduled for deletion, and comes back disabled.
    let r = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(r.key_state(), Some(&KeyState::PendingDeletion));
    kms.cancel_key_deletion().key_id(&id).send().await.unwrap();
    let d = describe(&kms, &id).await;
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    assert_eq!(d.description(), Some("off but managed"));
    assert_eq!(all_tags(&kms, &id, 50).await, vec![tag("k", "v")]);
}
