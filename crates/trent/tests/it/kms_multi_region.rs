//! Multi-Region keys over the wire with aws-sdk-kms: ReplicateKey (shared key ID and material,
//! the replica's own policy, description, tags and state; ciphertexts and signatures crossing
//! Regions; every refusal creating nothing), UpdatePrimaryRegion, rotation of the primary
//! reaching its replicas (on demand, and automatically with the server's clock moved on), the
//! deletion of a primary waiting for its replicas (PendingReplicaDeletion), replicas of keys
//! with imported material, and the authorization of replication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    ImportType, KeySpec, KeyState, KeyUsageType, MultiRegionKeyType, OriginType,
    SigningAlgorithmSpec,
};
use serde_json::json;

use crate::kms_import::{random, try_import};
use crate::support::kms::*;
use crate::support::{REGION, Server};

const EU: &str = "eu-west-1";
const AP: &str = "ap-south-1";
const DAY: f64 = 86_400.0;

fn arn_in(region: &str, key_id: &str) -> String {
    arn_of(region, ACCOUNT, key_id)
}

fn arn_of(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

async fn multi_region_key(kms: &Client) -> String {
    kms.create_key()
        .multi_region(true)
        .description("primary")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// The (code, message) of a ReplicateKey that must fail.
pub(crate) async fn refused_replication(kms: &Client, key: &str, region: &str) -> (String, String) {
    failure(
        kms.replicate_key()
            .key_id(key)
            .replica_region(region)
            .send()
            .await,
    )
}

async fn replicate(kms: &Client, key: &str, region: &str) -> aws_sdk_kms::types::KeyMetadata {
    kms.replicate_key()
        .key_id(key)
        .replica_region(region)
        .send()
        .await
        .unwrap()
        .replica_key_metadata()
        .unwrap()
        .clone()
}

/// (type, primary Region, replica Regions) of a key's MultiRegionConfiguration.
fn configuration(m: &aws_sdk_kms::types::KeyMetadata) -> (MultiRegionKeyType, String, Vec<String>) {
    let c = m
        .multi_region_configuration()
        .expect("multi-Region keys show it");
    let account = m.aws_account_id().unwrap();
    let arn = |region: &str| arn_of(region, account, m.key_id());
    let primary = c.primary_key().unwrap();
    assert_eq!(primary.arn(), Some(arn(primary.region().unwrap()).as_str()));
    let replicas = c
        .replica_keys()
        .iter()
        .map(|r| {
            assert_eq!(r.arn(), Some(arn(r.region().unwrap()).as_str()));
            r.region().unwrap().to_string()
        })
        .collect();
    (
        c.multi_region_key_type().unwrap().clone(),
        primary.region().unwrap().to_string(),
        replicas,
    )
}

async fn decrypt_in(kms: &Client, ciphertext: &Blob, key: Option<&str>) -> Vec<u8> {
    let mut req = kms.decrypt().ciphertext_blob(ciphertext.clone());
    if let Some(key) = key {
        req = req.key_id(key);
    }
    req.send()
        .await
        .unwrap()
        .plaintext()
        .unwrap()
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn a_replica_shares_key_id_and_material_and_keeps_its_own_properties() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let key = multi_region_key(&us).await;
    assert!(key.starts_with("mrk-"));
    us.tag_resource()
        .key_id(&key)
        .tags(tag("home", "us"))
        .send()
        .await
        .unwrap();
    let from_us = encrypt(&us, &key, b"made in us-east-1").await;

    let out = us
        .replicate_key()
        .key_id(&key)
        .replica_region(EU)
        .description("the EU copy")
        .tags(tag("home", "eu"))
        .send()
        .await
        .unwrap();
    let m = out.replica_key_metadata().unwrap();
    assert_eq!(m.key_id(), key);
    assert_eq!(m.arn(), Some(arn_in(EU, &key).as_str()));
    assert_eq!(m.description(), Some("the EU copy"));
    // As AWS answers: still being made when ReplicateKey returns.
    assert_eq!(m.key_state(), Some(&KeyState::Creating));
    assert!(!m.enabled());
    assert!(m.multi_region().unwrap());
    assert_eq!(
        configuration(m),
        (
            MultiRegionKeyType::Replica,
            REGION.to_string(),
            vec![EU.to_string()]
        )
    );
    // The default key policy, as the replica has it.
    let policy = eu
        .get_key_policy()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .to_string();
    assert_eq!(out.replica_policy(), Some(policy.as_str()));
    assert!(policy.contains("\"Id\" : \"key-default-1\""), "{policy}");
    assert!(
        policy.contains(&format!("arn:aws:iam::{ACCOUNT}:root")),
        "{policy}"
    );
    assert_eq!(out.replica_tags(), [tag("home", "eu")]);

    // The replica answers in its own Region, enabled, with the primary's material.
    let replica = describe(&eu, &key).await;
    assert_eq!(replica.key_state(), Some(&KeyState::Enabled));
    assert_eq!(replica.description(), Some("the EU copy"));
    let primary = describe(&us, &key).await;
    assert_eq!(primary.description(), Some("primary"));
    assert_eq!(
        configuration(&primary),
        (
            MultiRegionKeyType::Primary,
            REGION.to_string(),
            vec![EU.to_string()]
        )
    );
    assert_eq!(
        replica.current_key_material_id(),
        primary.current_key_material_id()
    );
    // By key ID, by the replica's ARN, or with no key named: the ciphertext decrypts there.
    assert_eq!(
        decrypt_in(&eu, &from_us, Some(&key)).await,
        b"made in us-east-1"
    );
    assert_eq!(
        decrypt_in(&eu, &from_us, Some(&arn_in(EU, &key))).await,
        b"made in us-east-1"
    );
    assert_eq!(decrypt_in(&eu, &from_us, None).await, b"made in us-east-1");
    let from_eu = encrypt(&eu, &key, b"made in eu-west-1").await;
    assert_eq!(decrypt_in(&us, &from_eu, None).await, b"made in eu-west-1");
    // The primary's ARN names a key of another Region: not found through eu-west-1.
    let (code, _) = failure(
        eu.decrypt()
            .key_id(arn_in(REGION, &key))
            .ciphertext_blob(from_us.clone())
            .send()
            .await,
    );
    assert_eq!(code, "NotFoundException");

    // Tags, state and description are the replica's own.
    assert_eq!(all_tags(&eu, &key, 50).await, [tag("home", "eu")]);
    assert_eq!(all_tags(&us, &key, 50).await, [tag("home", "us")]);
    eu.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        describe(&us, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt_in(&us, &from_eu, None).await, b"made in eu-west-1");
    eu.enable_key().key_id(&key).send().await.unwrap();

    // A Region without a replica does not know the key.
    let ap = s.kms_as("test", "test", AP);
    let (code, message) = failure(ap.describe_key().key_id(&key).send().await);
    assert_eq!(code, "NotFoundException");
    assert_eq!(
        message,
        format!("Key '{}' does not exist", arn_in(AP, &key))
    );
    assert!(all_key_ids(&eu, 100).await.contains(&key));
}

#[tokio::test]
async fn refused_replications_create_nothing() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let ap = s.kms_as("test", "test", AP);
    let key = multi_region_key(&us).await;
    replicate(&us, &key, EU).await;
    let single = new_key(&us).await.key_id().to_string();

    // Only a multi-Region primary can be replicated.
    for (client, id, region) in [(&us, single.as_str(), REGION), (&eu, key.as_str(), EU)] {
        assert_eq!(
            refused_replication(client, id, AP).await,
            expected(
                "UnsupportedOperationException",
                &format!("{} is not a multi-Region primary key.", arn_in(region, id))
            )
        );
    }
    // One replica per Region; the primary's own Region has the key already.
    for region in [EU, REGION] {
        assert_eq!(
            refused_replication(&us, &key, region).await,
            expected(
                "AlreadyExistsException",
                &format!("{} already exists.", arn_in(region, &key))
            )
        );
    }
    let (code, message) = refused_replication(&us, &key, "EU-West-1").await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$"),
        "{message}"
    );
    // A policy that would lock the caller out, a reserved tag, a policy that does not parse.
    let lockout = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
        "Action": "kms:Encrypt", "Resource": "*"}]})
    .to_string();
    let (code, _) = failure(
        us.replicate_key()
            .key_id(&key)
            .replica_region(AP)
            .policy(lockout)
            .send()
            .await,
    );
    assert_eq!(code, "MalformedPolicyDocumentException");
    let (code, _) = failure(
        us.replicate_key()
            .key_id(&key)
            .replica_region(AP)
            .tags(tag("aws:reserved", "x"))
            .send()
            .await,
    );
    assert_eq!(code, "TagException");
    let (code, _) = failure(
        us.replicate_key()
            .key_id(&key)
            .replica_region(AP)
            .policy("{not json")
            .send()
            .await,
    );
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert_eq!(
        failure(ap.describe_key().key_id(&key).send().await).0,
        "NotFoundException"
    );
    assert!(all_key_ids(&ap, 100).await.is_empty());
    let (_, _, replicas) = configuration(&describe(&us, &key).await);
    assert_eq!(replicas, [EU]);

    // A disabled primary can still be replicated (one pending deletion cannot: see below).
    us.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        replicate(&us, &key, AP)
            .await
            .multi_region_configuration()
            .unwrap()
            .replica_keys()
            .len(),
        2
    );
}

#[tokio::test]
async fn asymmetric_and_hmac_replicas_share_their_material() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let signing = us
        .create_key()
        .multi_region(true)
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    replicate(&us, &signing, EU).await;
    let public = |c: Client| {
        let key = signing.clone();
        async move {
            c.get_public_key()
                .key_id(key)
                .send()
                .await
                .unwrap()
                .public_key()
                .unwrap()
                .clone()
        }
    };
    assert_eq!(public(us.clone()).await, public(eu.clone()).await);
    let signature = eu
        .sign()
        .key_id(&signing)
        .message(Blob::new(b"signed in the EU"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature()
        .unwrap()
        .clone();
    let verified = us
        .verify()
        .key_id(&signing)
        .message(Blob::new(b"signed in the EU"))
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid());

    let hmac = us
        .create_key()
        .multi_region(true)
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let m = replicate(&us, &hmac, EU).await;
    assert_eq!(m.current_key_material_id(), None);
    let mac = |c: &Client| {
        c.generate_mac()
            .key_id(&hmac)
            .message(Blob::new(b"m"))
            .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
            .send()
    };
    assert_eq!(mac(&us).await.unwrap().mac(), mac(&eu).await.unwrap().mac());
}

async fn rotation_status(kms: &Client, key: &str) -> (bool, Option<i32>, Option<f64>) {
    let s = kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap();
    (
        s.key_rotation_enabled(),
        s.rotation_period_in_days(),
        s.next_rotation_date().map(|d| d.as_secs_f64()),
    )
}

async fn rotations(kms: &Client, key: &str) -> Vec<(String, String)> {
    kms.list_key_rotations()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .rotations()
        .iter()
        .map(|r| {
            (
                r.key_material_id().unwrap().to_string(),
                r.rotation_type().unwrap().as_str().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_primary_rotates_for_its_replicas() {
    let data = tempfile::tempdir().unwrap();
    let (key, before, next) = {
        let s = Server::start_in(data.path(), None);
        let us = s.kms();
        let eu = s.kms_as("test", "test", EU);
        let key = multi_region_key(&us).await;
        replicate(&us, &key, EU).await;
        let before = encrypt(&us, &key, b"before any rotation").await;

        // Rotation is set on the primary and shared; a replica refuses to change it.
        let refused = expected(
            "UnsupportedOperationException",
            &format!("{} is not a multi-Region primary key.", arn_in(EU, &key)),
        );
        assert_eq!(
            failure(eu.enable_key_rotation().key_id(&key).send().await),
            refused
        );
        assert_eq!(
            failure(eu.disable_key_rotation().key_id(&key).send().await),
            refused
        );
        assert_eq!(
            failure(eu.rotate_key_on_demand().key_id(&key).send().await),
            refused
        );
        us.enable_key_rotation()
            .key_id(&key)
            .rotation_period_in_days(100)
            .send()
            .await
            .unwrap();
        let status = rotation_status(&eu, &key).await;
        assert_eq!(status, rotation_status(&us, &key).await);
        assert_eq!((status.0, status.1), (true, Some(100)));

        // On demand: the replica has the new material at once.
        us.rotate_key_on_demand().key_id(&key).send().await.unwrap();
        let history = rotations(&eu, &key).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].1, "ON_DEMAND");
        assert_eq!(history, rotations(&us, &key).await);
        let current = describe(&eu, &key)
            .await
            .current_key_material_id()
            .unwrap()
            .to_string();
        assert_eq!(current, history[0].0);
        assert_eq!(decrypt_in(&eu, &before, None).await, b"before any rotation");
        let after = encrypt(&eu, &key, b"after").await;
        assert_eq!(decrypt_in(&us, &after, None).await, b"after");
        let next = status.2.unwrap();
        s.stop();
        (key, before, next)
    };

    // 101 days later the primary rotated automatically, and its replica with it.
    let offset = (101.0 * DAY) as i64;
    let s = Server::start_in_with_args(
        data.path(),
        None,
        &["--test-clock-offset", &offset.to_string()],
    );
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let history = rotations(&eu, &key).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1].1, "AUTOMATIC");
    assert_eq!(history, rotations(&us, &key).await);
    assert_eq!(
        describe(&eu, &key).await.current_key_material_id(),
        Some(history[1].0.as_str())
    );
    let (enabled, period, new_next) = rotation_status(&eu, &key).await;
    assert_eq!((enabled, period), (true, Some(100)));
    assert!(new_next.unwrap() > next + 99.0 * DAY);
    assert_eq!(rotation_status(&us, &key).await.2, new_next);
    assert_eq!(decrypt_in(&eu, &before, None).await, b"before any rotation");
}

#[tokio::test]
async fn update_primary_region_swaps_primary_and_replica() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let ap = s.kms_as("test", "test", AP);
    let key = multi_region_key(&us).await;
    replicate(&us, &key, EU).await;
    replicate(&us, &key, AP).await;
    let ciphertext = encrypt(&us, &key, b"x").await;

    // Refusals first: none changes anything.
    assert_eq!(
        failure(
            eu.update_primary_region()
                .key_id(&key)
                .primary_region(AP)
                .send()
                .await
        ),
        expected(
            "UnsupportedOperationException",
            &format!("{} is not a multi-Region primary key.", arn_in(EU, &key))
        )
    );
    assert_eq!(
        failure(
            us.update_primary_region()
                .key_id(&key)
                .primary_region("sa-east-1")
                .send()
                .await
        ),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", arn_in("sa-east-1", &key))
        )
    );
    let (code, _) = failure(
        us.update_primary_region()
            .key_id(&key)
            .primary_region("nowhere")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        configuration(&describe(&ap, &key).await).1,
        REGION.to_string()
    );

    us.update_primary_region()
        .key_id(&key)
        .primary_region(EU)
        .send()
        .await
        .unwrap();
    assert_eq!(
        configuration(&describe(&eu, &key).await),
        (
            MultiRegionKeyType::Primary,
            EU.to_string(),
            vec![AP.to_string(), REGION.to_string()]
        )
    );
    for c in [&us, &ap] {
        assert_eq!(
            configuration(&describe(c, &key).await),
            (
                MultiRegionKeyType::Replica,
                EU.to_string(),
                vec![AP.to_string(), REGION.to_string()]
            )
        );
    }
    // The new primary is the one that replicates and rotates; data is untouched.
    assert_eq!(
        refused_replication(&us, &key, "sa-east-1").await.0,
        "UnsupportedOperationException"
    );
    assert_eq!(
        failure(us.rotate_key_on_demand().key_id(&key).send().await).0,
        "UnsupportedOperationException"
    );
    eu.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    assert_eq!(rotations(&us, &key).await, rotations(&ap, &key).await);
    assert_eq!(decrypt_in(&ap, &ciphertext, None).await, b"x");
    let sa = replicate(&eu, &key, "sa-east-1").await;
    assert_eq!(configuration(&sa).1, EU.to_string());
}

#[tokio::test]
async fn a_primary_is_deleted_only_after_its_replicas() {
    let data = tempfile::tempdir().unwrap();
    let key = {
        let s = Server::start_in(data.path(), None);
        let us = s.kms();
        let eu = s.kms_as("test", "test", EU);
        let key = multi_region_key(&us).await;
        replicate(&us, &key, EU).await;

        let scheduled = us
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
        assert_eq!(
            scheduled.key_state(),
            Some(&KeyState::PendingReplicaDeletion)
        );
        assert_eq!(scheduled.deletion_date(), None);
        assert_eq!(scheduled.pending_window_in_days(), Some(7));
        let m = describe(&us, &key).await;
        assert_eq!(m.key_state(), Some(&KeyState::PendingReplicaDeletion));
        assert_eq!(m.pending_deletion_window_in_days(), Some(7));
        assert_eq!(m.deletion_date(), None);
        assert!(!m.enabled());
        // Not usable, not replicable; cancelling brings it back disabled.
        let (code, _) = failure(
            us.encrypt()
                .key_id(&key)
                .plaintext(Blob::new(b"x"))
                .send()
                .await,
        );
        assert_eq!(code, "KMSInvalidStateException");
        let (code, _) = refused_replication(&us, &key, AP).await;
        assert_eq!(code, "KMSInvalidStateException");
        us.cancel_key_deletion().key_id(&key).send().await.unwrap();
        assert_eq!(
            describe(&us, &key).await.key_state(),
            Some(&KeyState::Disabled)
        );
        us.schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();

        // The replica is deleted on its own schedule.
        let replica = eu
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
        assert_eq!(replica.key_state(), Some(&KeyState::PendingDeletion));
        assert!(replica.deletion_date().is_some());
        s.stop();
        key
    };

    // 8 days on: the replica is gone, and the primary's own 7 days have begun.
    let later = |days: f64| {
        let offset = (days * DAY) as i64;
        Server::start_in_with_args(
            data.path(),
            None,
            &["--test-clock-offset", &offset.to_string()],
        )
    };
    {
        let s = later(8.0);
        let us = s.kms();
        let eu = s.kms_as("test", "test", EU);
        assert_eq!(
            failure(eu.describe_key().key_id(&key).send().await).0,
            "NotFoundException"
        );
        let m = describe(&us, &key).await;
        assert_eq!(m.key_state(), Some(&KeyState::PendingDeletion));
        let deletion = m.deletion_date().unwrap().as_secs_f64();
        assert!(
            (deletion - (now_secs() + 15.0 * DAY)).abs() < 600.0,
            "{deletion} vs {}",
            now_secs() + 15.0 * DAY
        );
        assert_eq!(
            configuration(&m),
            (MultiRegionKeyType::Primary, REGION.to_string(), vec![])
        );
        s.stop();
    }
    let s = later(16.0);
    assert_eq!(
        failure(s.kms().describe_key().key_id(&key).send().await).0,
        "NotFoundException"
    );
}

#[tokio::test]
async fn replicas_of_imported_keys_take_the_same_material() {
    let s = Server::start();
    let us = s.kms();
    let eu = s.kms_as("test", "test", EU);
    let key = us
        .create_key()
        .origin(OriginType::External)
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    // Nothing to replicate before the primary has material.
    assert_eq!(
        refused_replication(&us, &key, EU).await,
        expected(
            "KMSInvalidStateException",
            &format!("{} is pending import.", arn_in(REGION, &key))
        )
    );
    let material = random(32);
    let id = try_import(&us, &key, &material, None, None).await.unwrap();
    let ciphertext = encrypt(&us, &key, b"imported").await;

    let m = replicate(&us, &key, EU).await;
    assert_eq!(m.origin(), Some(&OriginType::External));
    assert_eq!(
        describe(&eu, &key).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    let (code, _) = failure(
        eu.decrypt()
            .ciphertext_blob(ciphertext.clone())
            .send()
            .await,
    );
    assert_eq!(code, "KMSInvalidStateException");
    // Other material, or new material, is refused; the primary's material is taken.
    let (code, _) = try_import(&eu, &key, &random(32), None, None)
        .await
        .unwrap_err();
    assert_eq!(code, "IncorrectKeyMaterialException");
    let (code, _) = try_import(&eu, &key, &material, Some(ImportType::NewKeyMaterial), None)
        .await
        .unwrap_err();
    assert_eq!(code, "UnsupportedOperationException");
    assert_eq!(
        describe(&eu, &key).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    assert_eq!(
        try_import(&eu, &key, &material, None, None).await.unwrap(),
        id
    );
    let replica = describe(&eu, &key).await;
    assert_eq!(replica.key_state(), Some(&KeyState::Enabled));
    assert_eq!(replica.current_key_material_id(), id.as_deref());
    assert_eq!(decrypt_in(&eu, &ciphertext, None).await, b"imported");
    // Deleting the replica's material leaves the primary's.
    eu.delete_imported_key_material()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&us, &key).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt_in(&us, &ciphertext, None).await, b"imported");
}

#[tokio::test]
async fn replication_is_authorized_on_the_primary_and_in_the_replica_region() {
    use crate::support::authz::{Toml, allow, allow_if, client as client_of, secret};
    const ROOT: &str = "AKMR_ROOT";
    const EU_ONLY: &str = "AKMR_EU_ONLY"; // ReplicateKey to eu-west-1 only, and CreateKey
    const NO_CREATE: &str = "AKMR_NO_CREATE"; // ReplicateKey, but not CreateKey
    let account = "111122223333";
    let toml = Toml::new()
        .account(account, ROOT)
        .user(
            "eu-only",
            EU_ONLY,
            &[],
            &[
                allow_if(
                    "kms:ReplicateKey",
                    "*",
                    json!({"StringEquals": {"kms:ReplicaRegion": EU}}),
                ),
                allow(json!(["kms:CreateKey", "kms:DescribeKey"]), "*"),
            ],
        )
        .user(
            "no-create",
            NO_CREATE,
            &[],
            &[allow("kms:ReplicateKey", "*")],
        )
        .build();
    let s = Server::start_with_config(&toml);
    let root = client_of(&s, ROOT);
    let key = multi_region_key(&root).await;
    let arn = format!("arn:aws:kms:{REGION}:{account}:key/{key}");

    let eu_only = client_of(&s, EU_ONLY);
    let (code, message) = refused_replication(&eu_only, &key, AP).await;
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("kms:ReplicateKey"), "{message}");
    assert!(message.contains(&arn), "{message}");
    let m = replicate(&eu_only, &key, EU).await;
    assert_eq!(configuration(&m).0, MultiRegionKeyType::Replica);

    let no_create = client_of(&s, NO_CREATE);
    let (code, message) = refused_replication(&no_create, &key, AP).await;
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("kms:CreateKey"), "{message}");
    let root_ap = s.kms_as(ROOT, &secret(ROOT), AP);
    assert_eq!(
        failure(root_ap.describe_key().key_id(&key).send().await).0,
        "NotFoundException"
    );

    // kms:MultiRegionKeyType tells a replica from its primary in policies.
    let root_eu = s.kms_as(ROOT, &secret(ROOT), EU);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:MultiRegionKeyType": "REPLICA"}}}]})
    .to_string();
    for c in [&root, &root_eu] {
        c.put_key_policy()
            .key_id(&key)
            .policy(&policy)
            .send()
            .await
            .unwrap();
    }
    encrypt(&root, &key, b"allowed on the primary").await;
    let (code, _) = failure(
        root_eu
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"denied on the replica"))
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");
}
