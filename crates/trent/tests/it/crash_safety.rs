//! Crash safety (issue 20 item 2): write bursts of every kind (keys, aliases, grants, key
//! policies, imports, rotations, encryptions) from several clients, the server killed with
//! SIGKILL at a random moment, restarted on the same data, three rounds. After each restart
//! every acknowledged write is there, nothing is half-written (every key is whole: describable,
//! usable if enabled; every alias names a key), every acknowledged ciphertext decrypts, and
//! every acknowledged request has its complete audit line. Run on the embedded store and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kms::Client;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, GrantOperation, KeyState, OriginType, WrappingKeySpec,
};
use rand::Rng;
use rsa::pkcs8::DecodePublicKey;
use serde_json::Value;

use crate::kms_import::{random, wrap};
use crate::support::Server;
use crate::support::kms::*;

const WORKERS: usize = 4;
const ROUNDS: usize = 3;

/// What the server acknowledged (answered 200 to), across rounds.
#[derive(Default)]
struct Acked {
    keys: BTreeSet<String>,
    /// alias name → target key ID
    aliases: BTreeMap<String, String>,
    /// (key ID, grant ID)
    grants: Vec<(String, String)>,
    /// key ID → the key policy last put
    policies: BTreeMap<String, String>,
    /// key ID → on-demand rotations acknowledged
    rotations: BTreeMap<String, usize>,
    ciphertexts: Vec<(Blob, Vec<u8>)>,
    /// keys of EXTERNAL origin whose import was acknowledged
    imported: BTreeSet<String>,
    request_ids: BTreeSet<String>,
}

fn policy_with(sid: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// One worker: writes until the server stops answering. Each acknowledged write is recorded
/// before the next request is sent.
async fn burst(kms: Client, worker: usize, round: usize, acked: Arc<Mutex<Acked>>) {
    let record = |f: &mut dyn FnMut(&mut Acked)| f(&mut acked.lock().unwrap());
    for n in 0.. {
        let Ok(out) = kms.create_key().description("crash").send().await else {
            return;
        };
        let key = out.key_metadata().unwrap().key_id().to_string();
        let rid = out.request_id().unwrap().to_string();
        record(&mut |a| {
            a.keys.insert(key.clone());
            a.request_ids.insert(rid.clone());
        });

        let plaintext = format!("round {round} worker {worker} n {n}").into_bytes();
        let Ok(out) = kms
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(plaintext.clone()))
            .send()
            .await
        else {
            return;
        };
        record(&mut |a| {
            a.ciphertexts
                .push((out.ciphertext_blob().unwrap().clone(), plaintext.clone()))
        });

        let alias = format!("alias/crash-{round}-{worker}-{n}");
        let Ok(out) = kms
            .create_alias()
            .alias_name(&alias)
            .target_key_id(&key)
            .send()
            .await
        else {
            return;
        };
        let rid = out.request_id().unwrap().to_string();
        record(&mut |a| {
            a.aliases.insert(alias.clone(), key.clone());
            a.request_ids.insert(rid.clone());
        });

        let Ok(out) = kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:root"))
            .operations(GrantOperation::Decrypt)
            .send()
            .await
        else {
            return;
        };
        let (grant, rid) = (
            out.grant_id().unwrap().to_string(),
            out.request_id().unwrap().to_string(),
        );
        record(&mut |a| {
            a.grants.push((key.clone(), grant.clone()));
            a.request_ids.insert(rid.clone());
        });

        let policy = policy_with(&format!("crash{round}x{worker}x{n}"));
        let Ok(out) = kms
            .put_key_policy()
            .key_id(&key)
            .policy(&policy)
            .send()
            .await
        else {
            return;
        };
        let rid = out.request_id().unwrap().to_string();
        record(&mut |a| {
            a.policies.insert(key.clone(), policy.clone());
            a.request_ids.insert(rid.clone());
        });

        let Ok(out) = kms.rotate_key_on_demand().key_id(&key).send().await else {
            return;
        };
        let rid = out.request_id().unwrap().to_string();
        record(&mut |a| {
            *a.rotations.entry(key.clone()).or_default() += 1;
            a.request_ids.insert(rid.clone());
        });

        if n % 3 == 0 {
            let Ok(out) = kms.create_key().origin(OriginType::External).send().await else {
                return;
            };
            let external = out.key_metadata().unwrap().key_id().to_string();
            record(&mut |a| {
                a.keys.insert(external.clone());
            });
            let Ok(params) = kms
                .get_parameters_for_import()
                .key_id(&external)
                .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
                .wrapping_key_spec(WrappingKeySpec::Rsa2048)
                .send()
                .await
            else {
                return;
            };
            let public =
                rsa::RsaPublicKey::from_public_key_der(params.public_key().unwrap().as_ref())
                    .unwrap();
            let imported = kms
                .import_key_material()
                .key_id(&external)
                .import_token(params.import_token().unwrap().clone())
                .encrypted_key_material(wrap(&public, &random(32)))
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
                .await;
            let Ok(out) = imported else {
                return;
            };
            let rid = out.request_id().unwrap().to_string();
            record(&mut |a| {
                a.imported.insert(external.clone());
                a.request_ids.insert(rid.clone());
            });
        }
    }
}

/// Everything acknowledged is there, and nothing is half-written.
async fn verify(kms: &Client, acked: &Acked, audit: &str) {
    let listed: BTreeSet<String> = all_key_ids(kms, 1000).await.into_iter().collect();
    assert!(
        acked.keys.is_subset(&listed),
        "acknowledged keys missing: {:?}",
        acked.keys.difference(&listed).collect::<Vec<_>>()
    );
    for key in &listed {
        let m = describe(kms, key).await;
        match m.key_state() {
            // Whole: its material is there.
            Some(KeyState::Enabled) => {
                encrypt(kms, key, b"whole").await;
            }
            // A key of EXTERNAL origin whose import was not acknowledged.
            Some(KeyState::PendingImport) => assert!(!acked.imported.contains(key), "{key}"),
            other => panic!("{key} is {other:?}"),
        }
    }
    for key in &acked.imported {
        assert_eq!(
            describe(kms, key).await.key_state(),
            Some(&KeyState::Enabled)
        );
    }
    let aliases: BTreeMap<String, String> = all_aliases(kms, None, 100)
        .await
        .into_iter()
        .filter_map(|a| Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string())))
        .collect();
    for (name, target) in &aliases {
        assert!(
            listed.contains(target),
            "{name} names a missing key {target}"
        );
    }
    for (name, target) in &acked.aliases {
        assert_eq!(aliases.get(name), Some(target), "{name}");
    }
    for (key, grant) in &acked.grants {
        let grants = kms.list_grants().key_id(key).send().await.unwrap();
        assert!(
            grants.grants().iter().any(|g| g.grant_id() == Some(grant)),
            "grant {grant} of {key} is missing"
        );
    }
    for (key, policy) in &acked.policies {
        let stored = kms.get_key_policy().key_id(key).send().await.unwrap();
        assert_eq!(stored.policy(), Some(policy.as_str()), "{key}");
    }
    for (key, count) in &acked.rotations {
        let listed = kms.list_key_rotations().key_id(key).send().await.unwrap();
        // A rotation may have committed without its answer getting out: one at most per key.
        let stored = listed.rotations().len();
        assert!(
            stored == *count || stored == count + 1,
            "{key}: {stored} vs {count}"
        );
    }
    for (blob, plaintext) in &acked.ciphertexts {
        let out = kms
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.plaintext().unwrap().as_ref(), plaintext.as_slice());
    }
    let mut audited = BTreeSet::new();
    for line in audit.lines() {
        let r: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("an audit line does not parse ({e}): {line}"));
        audited.insert(r["requestID"].as_str().unwrap().to_string());
    }
    let unaudited: Vec<_> = acked.request_ids.difference(&audited).collect();
    assert!(
        unaudited.is_empty(),
        "acknowledged but not audited: {unaudited:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_survives_sigkill() {
    sigkill_rounds(&[]).await;
}

/// The same on the PostgreSQL backend: the data dir keeps only the root key and the audit log.
#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_write_survives_sigkill_on_postgres() {
    let Some(db) = trent_store::scratch::ScratchDatabase::from_env() else {
        return;
    };
    sigkill_rounds(&["--database", db.url()]).await;
}

/// [`ROUNDS`] rounds of bursts, SIGKILL, restart and check, on servers started with
/// `extra_args`.
async fn sigkill_rounds(extra_args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let acked = Arc::new(Mutex::new(Acked::default()));
    for round in 0..ROUNDS {
        let s = Server::start_in_with_args(&data, None, extra_args);
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(burst(client(&s, None), w, round, Arc::clone(&acked))))
            .collect();
        let wait = rand::thread_rng().gen_range(400..1600);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        drop(s); // SIGKILL, while the workers keep sending
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .unwrap()
                .unwrap();
        }

        let s = Server::start_in_with_args(&data, None, extra_args);
        let kms = client(&s, None);
        let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
        // The workers are done: the record is taken out for the check and put back after.
        let done = std::mem::take(&mut *acked.lock().unwrap());
        assert!(
            !done.keys.is_empty(),
            "round {round}: nothing was acknowledged"
        );
        verify(&kms, &done, &audit).await;
        *acked.lock().unwrap() = done;
        assert!(s.stop().success());
    }
    let acked = acked.lock().unwrap();
    eprintln!(
        "{ROUNDS} SIGKILL rounds {extra_args:?}: {} keys, {} aliases, {} grants, {} policies, {} rotations, \
         {} imports, {} ciphertexts acknowledged and found",
        acked.keys.len(),
        acked.aliases.len(),
        acked.grants.len(),
        acked.policies.len(),
        acked.rotations.values().sum::<usize>(),
        acked.imported.len(),
        acked.ciphertexts.len()
    );
}
