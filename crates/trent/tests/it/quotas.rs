//! AWS's resource quotas over the wire (issue 20 item 4): customer managed keys per account and
//! Region (`--max-keys-per-region`; AWS managed keys do not count, replicas count in their
//! Region) and aliases per key, each refusal a `LimitExceededException` that changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::kms_multi_region::refused_replication;
use crate::support::kms::*;
use crate::support::{REGION, Server};

#[tokio::test]
async fn keys_per_region_are_limited_and_aws_managed_keys_do_not_count() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Server::start_in_with_args(
        &tmp.path().join("data"),
        None,
        &["--max-keys-per-region", "2"],
    );
    let kms = client(&s, None);
    let primary = kms
        .create_key()
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    new_key(&kms).await;
    let before = all_key_ids(&kms, 100).await;
    let refused = expected(
        "LimitExceededException",
        &format!(
            "The request was rejected because the account has 2 customer managed keys in \
             {REGION}, the most it can have."
        ),
    );
    assert_eq!(
        failure(kms.create_key().description("one too many").send().await),
        refused
    );
    assert_eq!(all_key_ids(&kms, 100).await, before);
    // The AWS managed key of a service is made all the same.
    let managed = describe(&kms, "alias/aws/s3").await;
    assert_eq!(managed.key_manager().unwrap().as_str(), "AWS");
    // Another Region has its own quota; a replica counts in its Region.
    let eu = client_as(&s, "test", "test", "eu-west-1", None);
    new_key(&eu).await;
    kms.replicate_key()
        .key_id(&primary)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let (code, message) = failure(eu.create_key().send().await);
    assert_eq!(code, "LimitExceededException");
    assert!(
        message.contains("2 customer managed keys in eu-west-1"),
        "{message}"
    );
    let (code, _) = refused_replication(&kms, &primary, "eu-west-1").await;
    // The Region already has the replica: that is what the second attempt is told.
    assert_eq!(code, "AlreadyExistsException");
    // A Region at its quota gets no replica.
    let ap = client_as(&s, "test", "test", "ap-south-1", None);
    new_key(&ap).await;
    new_key(&ap).await;
    let (code, message) = refused_replication(&kms, &primary, "ap-south-1").await;
    assert_eq!(code, "LimitExceededException");
    assert!(
        message.contains("2 customer managed keys in ap-south-1"),
        "{message}"
    );
    assert_eq!(all_key_ids(&ap, 100).await.len(), 2);
    eu.schedule_key_deletion()
        .key_id(&primary)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    // Keys pending deletion still count, as in AWS.
    assert_eq!(
        failure(eu.create_key().send().await).0,
        "LimitExceededException"
    );
}

#[tokio::test]
async fn a_key_has_at_most_fifty_aliases() {
    let s = Server::start();
    let kms = client(&s, None);
    let key = new_key(&kms).await.key_id().to_string();
    let other = new_key(&kms).await.key_id().to_string();
    for i in 0..50 {
        kms.create_alias()
            .alias_name(format!("alias/many-{i:02}"))
            .target_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    let refused = expected(
        "LimitExceededException",
        &format!(
            "The request was rejected because {} has 50 aliases, the most a key can have.",
            key_arn(&key)
        ),
    );
    assert_eq!(
        failure(
            kms.create_alias()
                .alias_name("alias/one-too-many")
                .target_key_id(&key)
                .send()
                .await
        ),
        refused
    );
    kms.create_alias()
        .alias_name("alias/elsewhere")
        .target_key_id(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        failure(
            kms.update_alias()
                .alias_name("alias/elsewhere")
                .target_key_id(&key)
                .send()
                .await
        ),
        refused
    );
    let aliases = customer_aliases(&kms, None, 100).await;
    assert_eq!(aliases.len(), 51);
    assert!(
        aliases
            .iter()
            .any(|a| a.alias_name() == Some("alias/elsewhere") && a.target_key_id() == Some(&other))
    );
    // Pointing an alias of the key at the key again is no new alias.
    kms.update_alias()
        .alias_name("alias/many-00")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    kms.delete_alias()
        .alias_name("alias/many-00")
        .send()
        .await
        .unwrap();
    kms.update_alias()
        .alias_name("alias/elsewhere")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
}
