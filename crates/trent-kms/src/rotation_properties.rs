//! A property over random sequences of Encrypt, Decrypt, ReEncrypt, on-demand rotation, the
//! clock passing an automatic rotation date and replication of the (multi-Region) key into
//! another Region, each cryptographic step in any Region that has the key: every ciphertext made
//! at any point decrypts to its plaintext in every such Region for the key's whole life, new
//! ciphertexts name the current material version, ReEncrypt moves data to it, every replica has
//! the primary's rotations, and the 26th on-demand rotation is refused without changing
//! anything.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::json;
use trent_crypto::RootKey;
use trent_store::Store;

use crate::clock::DAY_MS;
use crate::ops::rotation::ON_DEMAND_ROTATION_LIMIT;
use crate::test_support::{self, call, call_in};
use crate::{ErrorCode, ManualClock, Operation};

/// The Regions the key can be replicated into, in order; the primary is in the first.
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"];

/// `where` picks a Region among those that have the key (modulo their number).
#[derive(Debug, Clone)]
enum Step {
    Encrypt(u8, usize),
    /// Decrypt the n-th ciphertext made so far (modulo their number).
    Decrypt(usize, usize),
    ReEncrypt(usize, usize),
    RotateOnDemand,
    /// Move the clock past the automatic rotation date (90 days) and sweep.
    AutomaticRotation,
    /// Replicate the key into the next Region of `REGIONS` (refused once every Region has it).
    Replicate,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<u8>(), any::<usize>()).prop_map(|(b, r)| Step::Encrypt(b, r)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(i, r)| Step::Decrypt(i, r)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, r)| Step::ReEncrypt(i, r)),
        2 => Just(Step::RotateOnDemand),
        1 => Just(Step::AutomaticRotation),
        1 => Just(Step::Replicate),
    ]
}

fn version_of(ciphertext: &str) -> u32 {
    let bytes = STANDARD.decode(ciphertext).unwrap();
    trent_crypto::blob::parse_header(&bytes)
        .unwrap()
        .material_version
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_ciphertext_decrypts_through_any_sequence_of_rotations(
        steps in proptest::collection::vec(step(), 1..60)
    ) {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let kms = test_support::kms(Store::in_memory(), RootKey::generate().unwrap(), clock.clone());
        let key = call(&kms, Operation::CreateKey, json!({"MultiRegion": true})).unwrap()
            ["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let mut replicated = 1usize;
        call(&kms, Operation::EnableKeyRotation, json!({"KeyId": key, "RotationPeriodInDays": 90}))
            .unwrap();
        let mut current = 1u32;
        let mut on_demand = 0usize;
        let mut made: Vec<(String, Vec<u8>)> = Vec::new();
        for step in steps {
            match step {
                Step::Encrypt(b, r) => {
                    let plaintext = vec![b; 1 + usize::from(b % 7)];
                    let out = call_in(&kms, REGIONS[r % replicated], Operation::Encrypt,
                        json!({"KeyId": key, "Plaintext": STANDARD.encode(&plaintext)})).unwrap();
                    let blob = out["CiphertextBlob"].as_str().unwrap().to_string();
                    prop_assert_eq!(version_of(&blob), current);
                    made.push((blob, plaintext));
                }
                Step::Decrypt(i, r) if !made.is_empty() => {
                    let (blob, plaintext) = &made[i % made.len()];
                    let out = call_in(&kms, REGIONS[r % replicated], Operation::Decrypt,
                        json!({"CiphertextBlob": blob})).unwrap();
                    prop_assert_eq!(out["Plaintext"].as_str().unwrap(), STANDARD.encode(plaintext));
                }
                Step::ReEncrypt(i, r) if !made.is_empty() => {
                    let (blob, plaintext) = made[i % made.len()].clone();
                    let out = call_in(&kms, REGIONS[r % replicated], Operation::ReEncrypt,
                        json!({"CiphertextBlob": blob, "DestinationKeyId": key})).unwrap();
                    let moved = out["CiphertextBlob"].as_str().unwrap().to_string();
                    prop_assert_eq!(version_of(&moved), current);
                    made.push((moved, plaintext));
                }
                Step::Decrypt(..) | Step::ReEncrypt(..) => {}
                Step::Replicate => {
                    let result = REGIONS.get(replicated).map(|region| {
                        call(&kms, Operation::ReplicateKey,
                            json!({"KeyId": key, "ReplicaRegion": region}))
                    });
                    match result {
                        Some(replica) => {
                            prop_assert!(replica.is_ok(), "{:?}", replica);
                            replicated += 1;
                        }
                        // Every Region has the key: the primary's own Region is taken.
                        None => prop_assert_eq!(
                            call(&kms, Operation::ReplicateKey,
                                json!({"KeyId": key, "ReplicaRegion": REGIONS[0]}))
                                .unwrap_err().code,
                            ErrorCode::AlreadyExists
                        ),
                    }
                }
                Step::RotateOnDemand => {
                    let result = call(&kms, Operation::RotateKeyOnDemand, json!({"KeyId": key}));
                    if on_demand < ON_DEMAND_ROTATION_LIMIT {
                        prop_assert!(result.is_ok(), "{:?}", result);
                        on_demand += 1;
                        current += 1;
                    } else {
                        prop_assert_eq!(result.unwrap_err().code, ErrorCode::LimitExceeded);
                    }
                }
                Step::AutomaticRotation => {
                    clock.advance_ms(91 * DAY_MS);
                    prop_assert_eq!(kms.rotate_due_keys().unwrap(), 1);
                    current += 1;
                }
            }
            let listed = |region| call_in(&kms, region, Operation::ListKeyRotations,
                json!({"KeyId": key, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 1000}))
                .unwrap();
            let primary = listed(REGIONS[0]);
            prop_assert_eq!(primary["Rotations"].as_array().unwrap().len(), current as usize);
            for region in &REGIONS[1..replicated] {
                prop_assert_eq!(&listed(region), &primary);
            }
        }
        for region in &REGIONS[..replicated] {
            for (blob, plaintext) in &made {
                let out = call_in(&kms, region, Operation::Decrypt,
                    json!({"CiphertextBlob": blob})).unwrap();
                prop_assert_eq!(out["Plaintext"].as_str().unwrap(), STANDARD.encode(plaintext));
            }
        }
    }
}
