//! A property over random sequences of Encrypt, Decrypt, ReEncrypt, on-demand rotation and the
//! clock passing an automatic rotation date: every ciphertext made at any point decrypts to its
//! plaintext for the key's whole life, new ciphertexts name the current material version,
//! ReEncrypt moves data to it, and the 26th on-demand rotation is refused without changing
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
use crate::test_support::{self, call};
use crate::{ErrorCode, ManualClock, Operation};

#[derive(Debug, Clone)]
enum Step {
    Encrypt(u8),
    /// Decrypt the n-th ciphertext made so far (modulo their number).
    Decrypt(usize),
    ReEncrypt(usize),
    RotateOnDemand,
    /// Move the clock past the automatic rotation date (90 days) and sweep.
    AutomaticRotation,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<u8>().prop_map(Step::Encrypt),
        3 => any::<usize>().prop_map(Step::Decrypt),
        2 => any::<usize>().prop_map(Step::ReEncrypt),
        2 => Just(Step::RotateOnDemand),
        1 => Just(Step::AutomaticRotation),
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
        let key = call(&kms, Operation::CreateKey, json!({})).unwrap()["KeyMetadata"]["KeyId"]
            .as_str().unwrap().to_string();
        call(&kms, Operation::EnableKeyRotation, json!({"KeyId": key, "RotationPeriodInDays": 90}))
            .unwrap();
        let mut current = 1u32;
        let mut on_demand = 0usize;
        let mut made: Vec<(String, Vec<u8>)> = Vec::new();
        for step in steps {
            match step {
                Step::Encrypt(b) => {
                    let plaintext = vec![b; 1 + usize::from(b % 7)];
                    let out = call(&kms, Operation::Encrypt,
                        json!({"KeyId": key, "Plaintext": STANDARD.encode(&plaintext)})).unwrap();
                    let blob = out["CiphertextBlob"].as_str().unwrap().to_string();
                    prop_assert_eq!(version_of(&blob), current);
                    made.push((blob, plaintext));
                }
                Step::Decrypt(i) if !made.is_empty() => {
                    let (blob, plaintext) = &made[i % made.len()];
                    let out = call(&kms, Operation::Decrypt, json!({"CiphertextBlob": blob})).unwrap();
                    prop_assert_eq!(out["Plaintext"].as_str().unwrap(), STANDARD.encode(plaintext));
                }
                Step::ReEncrypt(i) if !made.is_empty() => {
                    let (blob, plaintext) = made[i % made.len()].clone();
                    let out = call(&kms, Operation::ReEncrypt,
                        json!({"CiphertextBlob": blob, "DestinationKeyId": key})).unwrap();
                    let moved = out["CiphertextBlob"].as_str().unwrap().to_string();
                    prop_assert_eq!(version_of(&moved), current);
                    made.push((moved, plaintext));
                }
                Step::Decrypt(_) | Step::ReEncrypt(_) => {}
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
            let listed = call(&kms, Operation::ListKeyRotations,
                json!({"KeyId": key, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 1000})).unwrap();
            prop_assert_eq!(listed["Rotations"].as_array().unwrap().len(), current as usize);
        }
        for (blob, plaintext) in &made {
            let out = call(&kms, Operation::Decrypt, json!({"CiphertextBlob": blob})).unwrap();
            prop_assert_eq!(out["Plaintext"].as_str().unwrap(), STANDARD.encode(plaintext));
        }
    }
}
