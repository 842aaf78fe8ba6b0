//! Concurrency (issue 20 item 3): many clients on one key at once. Grants created, retired and
//! revoked concurrently: no duplicate IDs or tokens, nothing lost, nothing revived. Deletion
//! scheduled, cancelled and the key re-enabled while others encrypt: an Encrypt that ran wholly
//! while the key was pending deletion or disabled never succeeds, and one that ran wholly while
//! it was enabled always does. Rotations racing each other stop at exactly the limit, and no
//! ciphertext made meanwhile is lost; tags added concurrently are all kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::GrantOperation;

use crate::support::kms::*;
use crate::support::{Server, err};

const ROOT: &str = "arn:aws:iam::000000000000:root";

async fn create_grant(kms: &Client, key: &str, n: usize) -> (String, String) {
    let out = kms
        .create_grant()
        .key_id(key)
        .name(format!("g{n}"))
        .grantee_principal(ROOT)
        .retiring_principal(ROOT)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    (
        out.grant_id().unwrap().to_string(),
        out.grant_token().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grants_created_retired_and_revoked_at_once_are_neither_lost_nor_revived() {
    const CLIENTS: usize = 8;
    const EACH: usize = 12;
    let s = Server::start();
    let key = new_key(&s.kms()).await.key_id().to_string();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (kms, key) = (client(&s, None), key.clone());
            tokio::spawn(async move {
                let (mut kept, mut removed) = (Vec::new(), Vec::new());
                for i in 0..EACH {
                    let (id, token) = create_grant(&kms, &key, c * EACH + i).await;
                    match i % 3 {
                        0 => {
                            kms.revoke_grant()
                                .key_id(&key)
                                .grant_id(&id)
                                .send()
                                .await
                                .unwrap();
                            removed.push((id, token));
                        }
                        1 => {
                            kms.retire_grant().grant_token(&token).send().await.unwrap();
                            removed.push((id, token));
                        }
                        _ => kept.push((id, token)),
                    }
                }
                (kept, removed)
            })
        })
        .collect();
    let (mut kept, mut removed) = (Vec::new(), Vec::new());
    for t in tasks {
        let (k, r) = t.await.unwrap();
        kept.extend(k);
        removed.extend(r);
    }
    let ids: BTreeSet<&String> = kept.iter().chain(&removed).map(|(id, _)| id).collect();
    let tokens: BTreeSet<&String> = kept.iter().chain(&removed).map(|(_, t)| t).collect();
    assert_eq!(ids.len(), CLIENTS * EACH, "duplicate grant IDs");
    assert_eq!(tokens.len(), CLIENTS * EACH, "duplicate grant tokens");

    let kms = s.kms();
    let mut listed = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_grants()
            .key_id(&key)
            .limit(10)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        listed.extend(
            page.grants()
                .iter()
                .map(|g| g.grant_id().unwrap().to_string()),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let expected: BTreeSet<String> = kept.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(listed, expected);
}

/// When a request ran: from before it was sent until its answer came back.
#[derive(Clone, Copy)]
struct Span(Instant, Instant);

/// An Encrypt: when it ran, and its error code if it failed.
type Outcome = (Span, Result<(), String>);

impl Span {
    fn within(self, from: Instant, to: Instant) -> bool {
        from <= self.0 && self.1 <= to
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_encrypt_succeeds_while_the_key_state_forbids_it() {
    const CYCLES: usize = 12;
    let s = Server::start();
    let key = new_key(&s.kms()).await.key_id().to_string();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let results: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let encryptors: Vec<_> = (0..6)
        .map(|_| {
            let (kms, key) = (client(&s, None), key.clone());
            let (done, results) = (Arc::clone(&done), Arc::clone(&results));
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let start = Instant::now();
                    let out = kms
                        .encrypt()
                        .key_id(&key)
                        .plaintext(Blob::new(b"x"))
                        .send()
                        .await;
                    let span = Span(start, Instant::now());
                    results
                        .lock()
                        .unwrap()
                        .push((span, out.map(drop).map_err(|e| err(e).0)));
                }
            })
        })
        .collect();

    // The driver: Enabled → PendingDeletion → Disabled → Enabled, each change's span recorded.
    let kms = client(&s, None);
    let mut changes: Vec<(&str, Span)> = Vec::new();
    let timed = |start: Instant| Span(start, Instant::now());
    for _ in 0..CYCLES {
        let t = Instant::now();
        kms.schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
        changes.push(("PendingDeletion", timed(t)));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let t = Instant::now();
        kms.cancel_key_deletion().key_id(&key).send().await.unwrap();
        changes.push(("Disabled", timed(t)));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let t = Instant::now();
        kms.enable_key().key_id(&key).send().await.unwrap();
        changes.push(("Enabled", timed(t)));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in encryptors {
        t.await.unwrap();
    }

    // Between the answer to one change and the start of the next, the state is known.
    let results = results.lock().unwrap();
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    for pair in changes.windows(2) {
        let ((state, change), (_, next)) = (pair[0], pair[1]);
        let expected = match state {
            "PendingDeletion" => Err("KMSInvalidStateException".to_string()),
            "Disabled" => Err("DisabledException".to_string()),
            _ => Ok(()),
        };
        for (span, outcome) in results.iter() {
            if span.within(change.1, next.0) {
                assert_eq!(outcome, &expected, "an Encrypt while the key was {state}");
                *checked.entry(state).or_default() += 1;
            }
        }
    }
    for state in ["PendingDeletion", "Disabled", "Enabled"] {
        assert!(
            checked.get(state).copied().unwrap_or(0) > 0,
            "no Encrypt ran wholly while the key was {state}: {checked:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_rotations_stop_at_the_limit_and_nothing_is_lost() {
    let s = Server::start();
    let kms = s.kms();
    let key = new_key(&kms).await.key_id().to_string();
    let rotated = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rotators: Vec<_> = (0..4)
        .map(|_| {
            let (kms, key, rotated) = (client(&s, None), key.clone(), Arc::clone(&rotated));
            tokio::spawn(async move {
                loop {
                    match kms.rotate_key_on_demand().key_id(&key).send().await {
                        Ok(_) => {
                            rotated.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(e) => {
                            assert_eq!(err(e).0, "LimitExceededException");
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    // Meanwhile: encryptions, and tags added by several clients (no lost update).
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (kms, key) = (client(&s, None), key.clone());
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..10 {
                    let plaintext = format!("{w}/{i}").into_bytes();
                    made.push((encrypt(&kms, &key, &plaintext).await, plaintext));
                    kms.tag_resource()
                        .key_id(&key)
                        .tags(tag(&format!("w{w}-{i}"), "v"))
                        .send()
                        .await
                        .unwrap();
                }
                made
            })
        })
        .collect();
    for t in rotators {
        t.await.unwrap();
    }
    let mut made = Vec::new();
    for t in workers {
        made.extend(t.await.unwrap());
    }
    assert_eq!(rotated.load(std::sync::atomic::Ordering::SeqCst), 25);
    let rotations = kms
        .list_key_rotations()
        .key_id(&key)
        .limit(100)
        .send()
        .await
        .unwrap();
    let ids: BTreeSet<&str> = rotations
        .rotations()
        .iter()
        .map(|r| r.key_material_id().unwrap())
        .collect();
    assert_eq!((rotations.rotations().len(), ids.len()), (25, 25));
    for (blob, plaintext) in &made {
        let out = kms
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.plaintext().unwrap().as_ref(), plaintext.as_slice());
    }
    assert_eq!(all_tags(&kms, &key, 50).await.len(), 40);
}
