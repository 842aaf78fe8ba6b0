//! Tags through the real binary: TagResource, UntagResource, ListResourceTags (paginated), KMS's
//! tag rules and messages, and that a rejected tag request changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_kms::Client;

use crate::support::Server;
use crate::support::kms::*;

const MISSING_UUID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const TAG_CHARACTERS: &str = "Tag keys and values can contain only Unicode letters, digits, white space, and the characters _ . : / = + - @";

async fn tag_key(kms: &Client, key: &str, tags: &[(&str, &str)]) {
    let mut req = kms.tag_resource().key_id(key);
    for (k, v) in tags {
        req = req.tags(tag(k, v));
    }
    req.send().await.unwrap();
}

type Tags = Vec<(String, String)>;

fn pairs(tags: &[aws_sdk_kms::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect()
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn tag_untag_and_list() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let id = k.key_id();
    let r = kms.list_resource_tags().key_id(id).send().await.unwrap();
    assert!(r.tags().is_empty());
    assert!(!r.truncated());

    tag_key(
        &kms,
        id,
        &[("team", "payments"), ("env", "prod"), ("empty", "")],
    )
    .await;
    assert_eq!(
        pairs(&all_tags(&kms, id, 50).await),
        owned(&[("empty", ""), ("env", "prod"), ("team", "payments")])
    );
    // Tagging an existing key replaces its value; by key ARN too.
    tag_key(&kms, &key_arn(id), &[("env", "staging")]).await;
    assert_eq!(
        pairs(&all_tags(&kms, &key_arn(id), 50).await),
        owned(&[("empty", ""), ("env", "staging"), ("team", "payments")])
    );
    // Untagging removes the named keys; unknown keys are ignored.
    kms.untag_resource()
        .key_id(id)
        .tag_keys("env")
        .tag_keys("not-there")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(&all_tags(&kms, id, 50).await),
        owned(&[("empty", ""), ("team", "payments")])
    );
    kms.untag_resource()
        .key_id(key_arn(id))
        .tag_keys("empty")
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert!(all_tags(&kms, id, 50).await.is_empty());

    // Tags belong to one key.
    let other = new_key(&kms).await;
    tag_key(&kms, other.key_id(), &[("mine", "1")]).await;
    assert!(all_tags(&kms, id, 50).await.is_empty());
    // A disabled key can be tagged and untagged.
    kms.disable_key().key_id(id).send().await.unwrap();
    tag_key(&kms, id, &[("state", "off")]).await;
    assert_eq!(
        pairs(&all_tags(&kms, id, 50).await),
        owned(&[("state", "off")])
    );
    kms.untag_resource()
        .key_id(id)
        .tag_keys("state")
        .send()
        .await
        .unwrap();
    assert!(all_tags(&kms, id, 50).await.is_empty());
}

#[tokio::test]
async fn list_resource_tags_pages_with_limit_and_marker() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let id = k.key_id();
    let want: Vec<(String, String)> = (0..12)
        .map(|i| (format!("key-{i:02}"), format!("value-{i}")))
        .collect();
    let mut req = kms.tag_resource().key_id(id);
    for (key, value) in &want {
        req = req.tags(tag(key, value));
    }
    req.send().await.unwrap();

    let all = kms.list_resource_tags().key_id(id).send().await.unwrap();
    assert_eq!(pairs(all.tags()), want);
    assert!(!all.truncated());
    assert!(all.next_marker().is_none());

    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = kms
            .list_resource_tags()
            .key_id(id)
            .limit(5)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        sizes.push(page.tags().len());
        seen.extend(pairs(page.tags()));
        assert_eq!(page.truncated(), page.next_marker().is_some());
        match page.next_marker() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, [5, 5, 2]);
    assert_eq!(seen, want);
    assert_eq!(pairs(&all_tags(&kms, id, 1).await), want);
    let page = kms
        .list_resource_tags()
        .key_id(id)
        .limit(12)
        .send()
        .await
        .unwrap();
    assert_eq!(page.tags().len(), 12);
    assert!(!page.truncated());

    assert_eq!(
        failure(kms.list_resource_tags().key_id(id).limit(0).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    );
    for bogus in ["bogus!", "AAAA", "a2V5LTA0"] {
        let (code, _) = failure(
            kms.list_resource_tags()
                .key_id(id)
                .marker(bogus)
                .send()
                .await,
        );
        assert_eq!(code, "InvalidMarkerException", "marker {bogus:?}");
    }
}

#[tokio::test]
async fn tag_validation_and_rules_change_nothing() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let id = k.key_id();
    tag_key(&kms, id, &[("keep", "me")]).await;
    kms.create_alias()
        .alias_name("alias/t")
        .target_key_id(id)
        .send()
        .await
        .unwrap();
    let before = snapshot(&kms).await;

    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    let cases: Vec<(Tags, (String, String))> = vec![
        (
            vec![(long_key.clone(), "v".into())],
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
                ),
            ),
        ),
        (
            vec![("ok".into(), "v".into()), (long_key.clone(), "v".into())],
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{long_key}' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
                ),
            ),
        ),
        (
            vec![(String::new(), "v".into())],
            expected(
                "ValidationException",
                "1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ),
        ),
        (
            vec![("k".into(), long_value.clone())],
            expected(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
                ),
            ),
        ),
        (
            vec![("new".into(), "1".into()), ("aws:owner".into(), "x".into())],
            expected("TagException", "Tags beginning with aws: are reserved"),
        ),
        (
            vec![("dup".into(), "1".into()), ("dup".into(), "2".into())],
            expected("TagException", "Duplicate tag keys"),
        ),
        (
            vec![("nul\0key".into(), "v".into())],
            expected("TagException", TAG_CHARACTERS),
        ),
        (
            vec![("k".into(), "line\nbreak".into())],
            expected("TagException", TAG_CHARACTERS),
        ),
        (
            vec![("k".into(), "semi;colon".into())],
            expected("TagException", TAG_CHARACTERS),
        ),
        (
            (0..51)
                .map(|i| (format!("t{i}"), "v".to_string()))
                .collect(),
            expected("TagException", "Too many tags"),
        ),
    ];
    for (tags, want) in &cases {
        let mut req = kms.tag_resource().key_id(id);
        for (k, v) in tags {
            req = req.tags(tag(k, v));
        }
        assert_eq!(&failure(req.send().await), want, "{tags:?}");
    }
    assert_eq!(
        failure(kms.tag_resource().key_id(id).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"
        )
    );
    // Identification.
    let refused = expected(
        "InvalidArnException",
        "Key Aliases are not supported for this operation.",
    );
    for name in ["alias/t".to_string(), alias_arn("alias/t")] {
        assert_eq!(
            failure(
                kms.tag_resource()
                    .key_id(&name)
                    .tags(tag("a", "b"))
                    .send()
                    .await
            ),
            refused
        );
        assert_eq!(
            failure(
                kms.untag_resource()
                    .key_id(&name)
                    .tag_keys("keep")
                    .send()
                    .await
            ),
            refused
        );
        assert_eq!(
            failure(kms.list_resource_tags().key_id(&name).send().await),
            refused
        );
    }
    let missing = expected(
        "NotFoundException",
        &format!("Key '{}' does not exist", key_arn(MISSING_UUID)),
    );
    assert_eq!(
        failure(
            kms.tag_resource()
                .key_id(MISSING_UUID)
                .tags(tag("a", "b"))
                .send()
                .await
        ),
        missing
    );
    assert_eq!(
        failure(
            kms.untag_resource()
                .key_id(MISSING_UUID)
                .tag_keys("a")
                .send()
                .await
        ),
        missing
    );
    assert_eq!(
        failure(kms.list_resource_tags().key_id(MISSING_UUID).send().await),
        missing
    );
    // UntagResource validation.
    assert_eq!(
        failure(
            kms.untag_resource()
                .key_id(id)
                .tag_keys("aws:thing")
                .send()
                .await
        ),
        expected("TagException", "Tags beginning with aws: are reserved")
    );
    assert_eq!(
        failure(
            kms.untag_resource()
                .key_id(id)
                .tag_keys(&long_key)
                .send()
                .await
        ),
        expected(
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{long_key}' at 'tagKeys.1.member' failed to satisfy constraint: Member must have length less than or equal to 128"
            )
        )
    );
    assert_eq!(
        failure(kms.untag_resource().key_id(id).send().await),
        expected(
            "ValidationException",
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"
        )
    );
    assert_eq!(snapshot(&kms).await, before);

    // An empty list is valid (the model sets no minimum) and changes nothing.
    kms.tag_resource()
        .key_id(id)
        .set_tags(Some(Vec::new()))
        .send()
        .await
        .unwrap();
    assert_eq!(snapshot(&kms).await, before);

    // Every character of AWS's set is accepted: letters and digits of any script, spaces and
    // the punctuation listed; an empty value too.
    let accepted = [("Projekt Größe", "Ünïcode 値 ٣"), ("a_b.c:d/e=f+g-h@i", "")];
    tag_key(&kms, id, &accepted).await;
    let listed = kms.list_resource_tags().key_id(id).send().await.unwrap();
    for (k, v) in accepted {
        assert!(
            pairs(listed.tags()).contains(&(k.to_string(), v.to_string())),
            "{k}={v} missing from {:?}",
            listed.tags()
        );
    }
}

#[tokio::test]
async fn at_most_50_tags_per_key_and_an_over_limit_request_is_all_or_nothing() {
    let s = Server::start();
    let kms = s.kms();
    let k = new_key(&kms).await;
    let id = k.key_id();
    let mut req = kms.tag_resource().key_id(id);
    for i in 0..49 {
        req = req.tags(tag(&format!("t{i:02}"), "v"));
    }
    req.send().await.unwrap();
    let before = snapshot(&kms).await;

    // Two new keys would make 51: refused, and neither is applied.
    assert_eq!(
        failure(
            kms.tag_resource()
                .key_id(id)
                .tags(tag("new1", "x"))
                .tags(tag("new2", "x"))
                .send()
                .await
        ),
        expected("TagException", "Too many tags")
    );
    // Nor is a value change that came with them.
    assert_eq!(
        failure(
            kms.tag_resource()
                .key_id(id)
                .tags(tag("t00", "changed"))
                .tags(tag("new1", "x"))
                .tags(tag("new2", "x"))
                .send()
                .await
        ),
        expected("TagException", "Too many tags")
    );
    assert_eq!(snapshot(&kms).await, before);

    // The 50th is fine, and so is re-tagging at the limit.
    tag_key(&kms, id, &[("new1", "x")]).await;
    tag_key(&kms, id, &[("t00", "changed"), ("new1", "y")]).await;
    let tags = all_tags(&kms, id, 50).await;
    assert_eq!(tags.len(), 50);
    assert!(tags.contains(&tag("t00", "changed")));
    assert!(tags.contains(&tag("new1", "y")));
    let before = snapshot(&kms).await;
    assert_eq!(
        failure(
            kms.tag_resource()
                .key_id(id)
                .tags(tag("one-more", "x"))
                .send()
                .await
        ),
        expected("TagException", "Too many tags")
    );
    assert_eq!(snapshot(&kms).await, before);
    // Room again after untagging.
    kms.untag_resource()
        .key_id(id)
        .tag_keys("t01")
        .send()
        .await
        .unwrap();
    tag_key(&kms, id, &[("one-more", "x")]).await;
    assert_eq!(all_tags(&kms, id, 50).await.len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tagging_never_exceeds_the_limit_or_half_applies() {
    let s = Server::start();
    let kms = s.kms();
    let id = new_key(&kms).await.key_id().to_string();
    // Twelve requests of six new tags each race for 50 places: at most eight can win.
    let mut tasks = Vec::new();
    for r in 0..12 {
        let kms = kms.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = kms.tag_resource().key_id(&id);
            for t in 0..6 {
                req = req.tags(tag(&format!("r{r:02}-t{t}"), "v"));
            }
            req.send().await.map_err(err)
        }));
    }
    let mut winners = Vec::new();
    for (r, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(_) => winners.push(r),
            Err(e) => assert_eq!(e, expected("TagException", "Too many tags")),
        }
    }
    assert_eq!(winners.len(), 8, "winners {winners:?}");
    let tags = all_tags(&kms, &id, 50).await;
    assert_eq!(tags.len(), 48);
    // Every request applied all of its tags or none of them.
    for r in 0..12 {
        let mine = tags
            .iter()
            .filter(|t| t.tag_key().starts_with(&format!("r{r:02}-")))
            .count();
        assert_eq!(
            mine,
            if winners.contains(&r) { 6 } else { 0 },
            "request {r}"
        );
    }
}
