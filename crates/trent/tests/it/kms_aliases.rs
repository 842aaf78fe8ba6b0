//! Aliases through the real binary: CreateAlias, UpdateAlias, DeleteAlias, ListAliases (with and
//! without KeyId, paginated), alias names and ARNs wherever AWS accepts them, AWS's alias-name
//! rules, and that every rejected alias request changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};

use crate::support::Server;
use crate::support::kms::*;

const MISSING_UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

async fn create_alias(kms: &aws_sdk_kms::Client, name: &str, target: &str) {
    kms.create_alias()
        .alias_name(name)
        .target_key_id(target)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_update_delete_alias() {
    let s = Server::start();
    let kms = s.kms();
    let k1 = new_key(&kms).await;
    let k2 = new_key(&kms).await;
    let before = now_secs();
    create_alias(&kms, "alias/orders", k1.key_id()).await;

    let listed = customer_aliases(&kms, None, 100).await;
    assert_eq!(listed.len(), 1);
    let a = &listed[0];
    assert_eq!(a.alias_name(), Some("alias/orders"));
    assert_eq!(a.alias_arn(), Some(alias_arn("alias/orders").as_str()));
    assert_eq!(a.target_key_id(), Some(k1.key_id()));
    let created = a.creation_date().unwrap().as_secs_f64();
    assert!((created - before).abs() < 5.0, "{created} vs {before}");
    assert_eq!(a.last_updated_date(), a.creation_date());

    // The alias name and the alias ARN both find the key for cryptographic operations.
    let r = kms
        .encrypt()
        .key_id("alias/orders")
        .plaintext(Blob::new("one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.key_id(), Some(key_arn(k1.key_id()).as_str()));
    let old_blob = r.ciphertext_blob.unwrap();
    let r = kms
        .encrypt()
        .key_id(alias_arn("alias/orders"))
        .plaintext(Blob::new("one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.key_id(), Some(key_arn(k1.key_id()).as_str()));

    // UpdateAlias points it at another key; ciphertexts of the old key still decrypt.
    std::thread::sleep(std::time::Duration::from_millis(20));
    kms.update_alias()
        .alias_name("alias/orders")
        .target_key_id(key_arn(k2.key_id()))
        .send()
        .await
        .unwrap();
    let listed = customer_aliases(&kms, None, 100).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target_key_id(), Some(k2.key_id()));
    assert_eq!(listed[0].creation_date(), a.creation_date());
    assert!(
        listed[0].last_updated_date().unwrap().as_secs_f64() > created,
        "LastUpdatedDate did not move: {listed:?}"
    );
    let r = kms
        .encrypt()
        .key_id("alias/orders")
        .plaintext(Blob::new("two"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.key_id(), Some(key_arn(k2.key_id()).as_str()));
    assert_eq!(describe(&kms, "alias/orders").await, k2);
    let d = kms
        .decrypt()
        .ciphertext_blob(old_blob)
        .send()
        .await
        .unwrap();
    assert_eq!(d.key_id(), Some(key_arn(k1.key_id()).as_str()));
    // Aliases are listed per key.
    assert!(all_aliases(&kms, Some(k1.key_id()), 100).await.is_empty());
    assert_eq!(all_aliases(&kms, Some(k2.key_id()), 100).await.len(), 1);

    kms.delete_alias()
        .alias_name("alias/orders")
        .send()
        .await
        .unwrap();
    assert!(customer_aliases(&kms, None, 100).await.is_empty());
    let gone = expected(
        "NotFoundException",
        "Alias arn:aws:kms:us-east-1:000000000000:alias/orders is not found.",
    );
    assert_eq!(
        failure(kms.describe_key().key_id("alias/orders").send().await),
        gone
    );
    assert_eq!(
        failure(kms.delete_alias().alias_name("alias/orders").send().await),
        gone
    );
    // The keys themselves are untouched.
    assert_eq!(describe(&kms, k1.key_id()).await, k1);
    // The name is free again.
    create_alias(&kms, "alias/orders", k1.key_id()).await;
}

#[tokio::test]
async fn one_key_can_have_several_aliases() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    for name in ["alias/a", "alias/b", "alias/c/d", "alias/x_y-Z/1"] {
        create_alias(&kms, name, k.key_id()).await;
        assert_eq!(describe(&kms, name).await, k);
    }
    let names: Vec<String> = all_aliases(&kms, Some(k.key_id()), 100)
        .await
        .iter()
        .map(|a| a.alias_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alias/a", "alias/b", "alias/c/d", "alias/x_y-Z/1"]);
}

#[tokio::test]
async fn alias_names_follow_aws_rules_and_rejections_change_nothing() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let other = new_key(&kms).await;
    create_alias(&kms, "alias/existing", k.key_id()).await;
    let before = snapshot(&kms).await;

    let no_prefix = expected(
        "ValidationException",
        "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
    );
    let long = format!("alias/{}", "a".repeat(251));
    let cases = [
        ("orders".to_string(), no_prefix.clone()),
        ("Alias/orders".to_string(), no_prefix.clone()),
        ("aliasorders".to_string(), no_prefix.clone()),
        (
            "alias/aws/orders".to_string(),
            expected(
                "NotAuthorizedException",
                "Cannot create, update or delete an alias with the reserved prefix 'alias/aws/'.",
            ),
        ),
        (
            "alias/has space".to_string(),
            expected(
                "ValidationException",
                "1 validation error detected: Value 'alias/has space' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
            ),
        ),
        (
            "alias/ümlaut".to_string(),
            expected(
                "ValidationException",
                "1 validation error detected: Value 'alias/ümlaut' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
            ),
        ),
        (
            long.clone(),
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{long}' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256"
                ),
            ),
        ),
        (
            String::new(),
            expected(
                "ValidationException",
                "1 validation error detected: Value '' at 'aliasName' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ),
        ),
        // The prefix alone names nothing (issue 20's probe found it accepted, and usable as a
        // KeyId).
        (
            "alias/".to_string(),
            expected(
                "ValidationException",
                "Alias name must have at least one character after the prefix \"alias/\".",
            ),
        ),
    ];
    for (name, want) in &cases {
        let got = failure(
            kms.create_alias()
                .alias_name(name)
                .target_key_id(k.key_id())
                .send()
                .await,
        );
        assert_eq!(&got, want, "CreateAlias {name:?}");
        let got = failure(
            kms.update_alias()
                .alias_name(name)
                .target_key_id(k.key_id())
                .send()
                .await,
        );
        assert_eq!(&got, want, "UpdateAlias {name:?}");
        let got = failure(kms.delete_alias().alias_name(name).send().await);
        assert_eq!(&got, want, "DeleteAlias {name:?}");
    }
    // The model's pattern allows ':', KMS does not (in names; alias ARNs have colons).
    assert_eq!(
        failure(
            kms.create_alias()
                .alias_name("alias/my:alias")
                .target_key_id(k.key_id())
                .send()
                .await
        ),
        expected(
            "ValidationException",
            "alias/my:alias contains invalid characters for an alias"
        )
    );
    assert_eq!(
        failure(
            kms.update_alias()
                .alias_name("alias/my:alias")
                .target_key_id(k.key_id())
                .send()
                .await
        ),
        expected(
            "NotFoundException",
            "Alias arn:aws:kms:us-east-1:000000000000:alias/my:alias is not found."
        )
    );
    // Missing members.
    assert_eq!(
        failure(kms.create_alias().target_key_id(k.key_id()).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null"
        )
    );
    assert_eq!(
        failure(kms.create_alias().alias_name("alias/new").send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null"
        )
    );
    // The name is taken.
    assert_eq!(
        failure(
            kms.create_alias()
                .alias_name("alias/existing")
                .target_key_id(other.key_id())
                .send()
                .await
        ),
        expected(
            "AlreadyExistsException",
            "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/existing already exists"
        )
    );
    assert_eq!(snapshot(&kms).await, before);

    // The longest name allowed works.
    let longest = format!("alias/{}", "a".repeat(250));
    create_alias(&kms, &longest, k.key_id()).await;
    assert_eq!(describe(&kms, &longest).await, k);
}

#[tokio::test]
async fn alias_targets_must_be_key_ids_or_key_arns() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    create_alias(&kms, "alias/first", k.key_id()).await;
    // A key ARN is a fine target.
    create_alias(&kms, "alias/by-arn", &key_arn(k.key_id())).await;
    assert_eq!(describe(&kms, "alias/by-arn").await, k);
    let before = snapshot(&kms).await;

    let refused = expected(
        "InvalidArnException",
        "Key Aliases are not supported for this operation.",
    );
    let missing = expected(
        "NotFoundException",
        &format!("Key '{}' does not exist", key_arn(MISSING_UUID)),
    );
    let cases = [
        ("alias/first".to_string(), refused.clone()),
        (alias_arn("alias/first"), refused.clone()),
        (MISSING_UUID.to_string(), missing.clone()),
        (key_arn(MISSING_UUID), missing.clone()),
        (
            "fake-key-id".to_string(),
            expected("NotFoundException", "Invalid keyId 'fake-key-id'"),
        ),
        (
            format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{}", k.key_id()),
            expected("NotFoundException", "Invalid arn eu-west-1"),
        ),
    ];
    for (target, want) in &cases {
        let got = failure(
            kms.create_alias()
                .alias_name("alias/second")
                .target_key_id(target)
                .send()
                .await,
        );
        assert_eq!(&got, want, "CreateAlias -> {target}");
        let got = failure(
            kms.update_alias()
                .alias_name("alias/first")
                .target_key_id(target)
                .send()
                .await,
        );
        assert_eq!(&got, want, "UpdateAlias -> {target}");
    }
    assert_eq!(snapshot(&kms).await, before);
}

#[tokio::test]
async fn update_alias_rules() {
    let s = Server::start();
    let kms = s.kms();
    let k1 = new_key(&kms).await;
    let k2 = new_key(&kms).await;
    let doomed = new_key(&kms).await;
    create_alias(&kms, "alias/a", k1.key_id()).await;
    create_alias(&kms, "alias/on-doomed", doomed.key_id()).await;
    kms.schedule_key_deletion()
        .key_id(doomed.key_id())
        .send()
        .await
        .unwrap();
    let before = snapshot(&kms).await;

    // An alias that does not exist.
    assert_eq!(
        failure(
            kms.update_alias()
                .alias_name("alias/nope")
                .target_key_id(k2.key_id())
                .send()
                .await
        ),
        expected(
            "NotFoundException",
            "Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found."
        )
    );
    // A destination key pending deletion is refused.
    assert_eq!(
        failure(
            kms.update_alias()
                .alias_name("alias/a")
                .target_key_id(doomed.key_id())
                .send()
                .await
        ),
        expected(
            "KMSInvalidStateException",
            &format!("{} is pending deletion.", key_arn(doomed.key_id()))
        )
    );
    // A key of another type cannot take over the alias.
    let hmac = kms
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let before_hmac = before;
    let (code, message) = failure(
        kms.update_alias()
            .alias_name("alias/a")
            .target_key_id(hmac.key_id())
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException", "{message}");
    let now = snapshot(&kms).await;
    assert_eq!(now.aliases, before_hmac.aliases);

    // A source key pending deletion is fine: the alias moves off it.
    kms.update_alias()
        .alias_name("alias/on-doomed")
        .target_key_id(k2.key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&kms, "alias/on-doomed").await, k2);
    // A disabled destination is fine too.
    kms.disable_key().key_id(k2.key_id()).send().await.unwrap();
    kms.update_alias()
        .alias_name("alias/a")
        .target_key_id(k2.key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        describe(&kms, "alias/a").await.key_id(),
        k2.key_id().to_string()
    );
}

#[tokio::test]
async fn create_alias_on_a_disabled_key_works() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    kms.disable_key().key_id(k.key_id()).send().await.unwrap();
    create_alias(&kms, "alias/off", k.key_id()).await;
    let (code, _) = failure(
        kms.encrypt()
            .key_id("alias/off")
            .plaintext(Blob::new("x"))
            .send()
            .await,
    );
    assert_eq!(code, "DisabledException");
}

#[tokio::test]
async fn list_aliases_pages_and_filters_by_key() {
    let s = Server::start();
    let kms = s.kms();
    let k1 = new_key(&kms).await;
    let k2 = new_key(&kms).await;
    let mut names = Vec::new();
    for i in 0..7 {
        let name = format!("alias/n{i}");
        let target = if i % 2 == 0 { k1.key_id() } else { k2.key_id() };
        create_alias(&kms, &name, target).await;
        names.push(name);
    }

    // Without a Limit: all of them, sorted by name, not truncated; the predefined aliases of
    // AWS managed keys (no target yet) come first by name.
    let names: Vec<String> = PREDEFINED_ALIASES
        .iter()
        .map(|a| a.to_string())
        .chain(names)
        .collect();
    let all = kms.list_aliases().send().await.unwrap();
    assert!(!all.truncated());
    assert!(all.next_marker().is_none());
    let listed: Vec<&str> = all
        .aliases()
        .iter()
        .map(|a| a.alias_name().unwrap())
        .collect();
    assert_eq!(listed, names);

    // Pages of 3.
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_aliases()
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        sizes.push(page.aliases().len());
        seen.extend(
            page.aliases()
                .iter()
                .map(|a| a.alias_name().unwrap().to_string()),
        );
        assert_eq!(page.truncated(), page.next_marker().is_some());
        match page.next_marker() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 3, 3, 3, 3, 3]);
    assert_eq!(seen, names);

    // With KeyId (key ID or key ARN), only that key's aliases, paginated too.
    let of_k1: Vec<String> = names[PREDEFINED_ALIASES.len()..]
        .iter()
        .step_by(2)
        .cloned()
        .collect();
    for key in [k1.key_id().to_string(), key_arn(k1.key_id())] {
        let got: Vec<String> = all_aliases(&kms, Some(&key), 1)
            .await
            .iter()
            .map(|a| {
                assert_eq!(a.target_key_id(), Some(k1.key_id()));
                a.alias_name().unwrap().to_string()
            })
            .collect();
        assert_eq!(got, of_k1, "KeyId {key}");
    }
    let page = kms
        .list_aliases()
        .key_id(k2.key_id())
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.aliases().len(), 2);
    assert!(page.truncated());

    // A key without aliases.
    let bare = new_key(&kms).await;
    let r = kms
        .list_aliases()
        .key_id(bare.key_id())
        .send()
        .await
        .unwrap();
    assert!(r.aliases().is_empty());
    assert!(!r.truncated());
}

#[tokio::test]
async fn list_aliases_errors() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    create_alias(&kms, "alias/a", k.key_id()).await;
    create_alias(&kms, "alias/b", k.key_id()).await;
    assert_eq!(
        failure(kms.list_aliases().key_id("alias/a").send().await),
        expected(
            "InvalidArnException",
            "Key Aliases are not supported for this operation."
        )
    );
    assert_eq!(
        failure(kms.list_aliases().key_id(MISSING_UUID).send().await),
        expected(
            "NotFoundException",
            &format!("Key '{}' does not exist", key_arn(MISSING_UUID))
        )
    );
    assert_eq!(
        failure(kms.list_aliases().key_id("fake-key-id").send().await),
        expected("NotFoundException", "Invalid keyId 'fake-key-id'")
    );
    assert_eq!(
        failure(kms.list_aliases().limit(0).send().await).0,
        "ValidationException"
    );
    let first = kms
        .list_aliases()
        .key_id(k.key_id())
        .limit(1)
        .send()
        .await
        .unwrap();
    assert!(first.truncated());
    let real = first.next_marker().unwrap().to_string();
    for bogus in ["bogus!", "AAAA", "YWxpYXMvYQ", "alias/a"] {
        assert_ne!(bogus, real);
        let (code, _) = failure(kms.list_aliases().marker(bogus).send().await);
        assert_eq!(code, "InvalidMarkerException", "marker {bogus:?}");
    }
    // The real marker still works.
    let second = kms
        .list_aliases()
        .key_id(k.key_id())
        .limit(1)
        .marker(real)
        .send()
        .await
        .unwrap();
    assert_eq!(second.aliases()[0].alias_name(), Some("alias/b"));
    assert!(!second.truncated());
}

#[tokio::test]
async fn aliases_work_in_every_cryptographic_operation() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let arn = key_arn(k.key_id());
    create_alias(&kms, "alias/crypto", k.key_id()).await;
    for name in ["alias/crypto".to_string(), alias_arn("alias/crypto")] {
        let dk = kms
            .generate_data_key()
            .key_id(&name)
            .number_of_bytes(32)
            .send()
            .await
            .unwrap();
        assert_eq!(dk.key_id(), Some(arn.as_str()));
        let dk2 = kms
            .generate_data_key_without_plaintext()
            .key_id(&name)
            .number_of_bytes(32)
            .send()
            .await
            .unwrap();
        assert_eq!(dk2.key_id(), Some(arn.as_str()));
        let d = kms
            .decrypt()
            .key_id(&name)
            .ciphertext_blob(dk.ciphertext_blob.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(d.key_id(), Some(arn.as_str()));
        assert_eq!(d.plaintext, dk.plaintext);
        let re = kms
            .re_encrypt()
            .ciphertext_blob(dk2.ciphertext_blob.unwrap())
            .source_key_id(&name)
            .destination_key_id(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(re.source_key_id(), Some(arn.as_str()));
        assert_eq!(re.key_id(), Some(arn.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_create_alias_has_exactly_one_winner() {
    let s = Server::start();
    let kms = s.kms();
    let mut keys = Vec::new();
    for _ in 0..8 {
        keys.push(new_key(&kms).await.key_id().to_string());
    }
    let mut tasks = Vec::new();
    for key in keys.clone() {
        let kms = kms.clone();
        tasks.push(tokio::spawn(async move {
            kms.create_alias()
                .alias_name("alias/contested")
                .target_key_id(&key)
                .send()
                .await
                .map(|_| key)
                .map_err(err)
        }));
    }
    let mut winner = None;
    for task in tasks {
        match task.await.unwrap() {
            Ok(key) => {
                assert!(winner.is_none(), "two winners");
                winner = Some(key);
            }
            Err(e) => assert_eq!(
                e,
                expected(
                    "AlreadyExistsException",
                    "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/contested already exists"
                )
            ),
        }
    }
    let winner = winner.expect("no winner");
    let aliases = customer_aliases(&kms, None, 100).await;
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0].target_key_id(), Some(winner.as_str()));
    assert_eq!(describe(&kms, "alias/contested").await.key_id(), winner);
}
