//! Scheduled deletion with an injected clock: the key lives through its waiting period, and is
//! really gone (record, material, aliases) once the period has passed.

use std::sync::Arc;

use serde_json::json;
use trent_crypto::RootKey;
use trent_store::Store;

use crate::clock::DAY_MS;
use crate::test_support::{self, call};
use crate::{ErrorCode, ManualClock, Operation};

#[test]
fn key_is_deleted_when_its_waiting_period_passes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let kms = test_support::kms(
        Store::open(&dir.path().join("trent.db")).unwrap(),
        RootKey::generate().unwrap(),
        clock.clone(),
    );
    let key = call(&kms, Operation::CreateKey, json!({})).unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &kms,
        Operation::CreateAlias,
        json!({"AliasName": "alias/doomed", "TargetKeyId": key}),
    )
    .unwrap();
    let scheduled = call(
        &kms,
        Operation::ScheduleKeyDeletion,
        json!({"KeyId": key, "PendingWindowInDays": 7}),
    )
    .unwrap();
    assert_eq!(
        scheduled["DeletionDate"],
        json!(1_700_000_000.0 + 7.0 * 86_400.0)
    );

    // One millisecond before the deletion date, the key is still there, pending deletion.
    clock.advance_ms(7 * DAY_MS - 1);
    assert_eq!(kms.purge_due_keys().unwrap(), 0);
    let described = call(&kms, Operation::DescribeKey, json!({"KeyId": key})).unwrap();
    assert_eq!(described["KeyMetadata"]["KeyState"], "PendingDeletion");

    // At the deletion date the sweeper deletes it: NotFound, no alias, no material left.
    clock.advance_ms(1);
    assert_eq!(kms.purge_due_keys().unwrap(), 1);
    let err = call(&kms, Operation::DescribeKey, json!({"KeyId": key})).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(
        err.message.as_deref(),
        Some(format!("Key 'arn:aws:kms:us-east-1:111122223333:key/{key}' does not exist").as_str())
    );
    // (Only the predefined aliases of AWS managed keys remain, which name no key yet.)
    let aliases = call(&kms, Operation::ListAliases, json!({})).unwrap();
    let aliases = aliases["Aliases"].as_array().unwrap();
    assert!(
        aliases.iter().all(|a| a.get("TargetKeyId").is_none()),
        "{aliases:?}"
    );
    assert!(kms.store.material("us-east-1", &key, 1).unwrap().is_none());
    let keys = call(&kms, Operation::ListKeys, json!({})).unwrap();
    assert_eq!(keys["Keys"], json!([]));
}

#[test]
fn a_due_key_is_gone_even_before_the_sweeper_runs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let kms = test_support::kms(
        Store::open(&dir.path().join("trent.db")).unwrap(),
        RootKey::generate().unwrap(),
        clock.clone(),
    );
    let key = call(&kms, Operation::CreateKey, json!({})).unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    call(&kms, Operation::ScheduleKeyDeletion, json!({"KeyId": key})).unwrap();
    clock.advance_ms(30 * DAY_MS);
    let err = call(
        &kms,
        Operation::Encrypt,
        json!({"KeyId": key, "Plaintext": "aGk="}),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(
        kms.purge_due_keys().unwrap(),
        0,
        "already deleted on access"
    );
}
