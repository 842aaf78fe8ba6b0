//! Multi-Region keys: ReplicateKey and UpdatePrimaryRegion. How the keys of a set stay in step
//! is `crate::key_set`'s.

use serde::{Deserialize, Serialize};
use trent_store::{KeyManager, KeyRecord, KeyState, RelatedKey};

use crate::arn::{key_arn, partition};
use crate::authz::Check;
use crate::authz::context::request_tags;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::key_set::{not_a_primary, synchronize};
use crate::keyref::Accept;
use crate::keystate;
use crate::ops::Empty;
use crate::ops::keys::{check_new_key_policy, default_key_policy, validate_policy_member};
use crate::ops::tags::{TagEntry, check_tag_rules, validate_tags};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::KeyMetadata;

/// The model's `RegionType`: `^([a-z]+-){2,3}\d+$`, 1 to 32 characters.
fn validate_region(v: &mut Validator, member: &str, value: &Option<String>) {
    v.required(member, value)
        .length(member, value.as_deref(), 1, 32)
        .pattern(member, value.as_deref(), "^([a-z]+-){2,3}\\d+$", |s| {
            let parts: Vec<&str> = s.split('-').collect();
            let (number, words) = parts.split_last().unwrap_or((&"", &[]));
            (2..=3).contains(&words.len())
                && words
                    .iter()
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        });
}

/// The key a multi-Region operation starts from must be a primary.
fn primary_key(kms: &Kms, caller: &Call<'_>, key_id: &str) -> KmsResult<KeyRecord> {
    Ok(kms.resolve(caller, key_id, Accept::KeyOnly)?.key)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyRequest {
    key_id: Option<String>,
    replica_region: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    description: Option<String>,
    tags: Option<Vec<TagEntry>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyResponse {
    replica_key_metadata: KeyMetadata,
    replica_policy: String,
    replica_tags: Vec<TagEntry>,
}

pub fn replicate_key(
    kms: &Kms,
    caller: &Call<'_>,
    r: ReplicateKeyRequest,
) -> KmsResult<ReplicateKeyResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
    validate_region(&mut v, "replicaRegion", &r.replica_region);
    validate_policy_member(&mut v, r.policy.as_deref());
    v.length("description", r.description.as_deref(), 0, 8192);
    validate_tags(&mut v, r.tags.as_deref(), "tags");
    v.finish()?;
    let region = r.replica_region.unwrap_or_default();
    let tags = check_tag_rules(r.tags.as_deref().unwrap_or_default())?;
    let primary = primary_key(kms, caller, r.key_id.as_deref().unwrap_or_default())?;
    // kms:ReplicateKey on the primary (its key policy); kms:CreateKey, and kms:TagResource for
    // tags, in the replica's Region (IAM policies).
    let in_replica_region = |action| {
        Check::account(action)
            .with("aws:RequestedRegion", region.as_str())
            .with_all(request_tags(&tags))
    };
    let mut checks = vec![
        Check::key("kms:ReplicateKey", &primary).with("kms:ReplicaRegion", region.as_str()),
        in_replica_region("kms:CreateKey"),
    ];
    if !tags.is_empty() {
        checks.push(in_replica_region("kms:TagResource"));
    }
    kms.authorize(caller, &checks)?;
    if !primary.is_multi_region() || primary.is_replica() {
        return Err(not_a_primary(&primary));
    }
    if partition(&region) != partition(&primary.region) {
        return Err(KmsError::unsupported(format!(
            "{region} is not in the partition of {}: a replica must be in the same partition as \
             its primary key.",
            key_arn(&primary.region, &primary.account, &primary.key_id)
        )));
    }
    let imported = primary.origin == "EXTERNAL";
    let default_policy = r.policy.is_none();
    let mut replica = KeyRecord {
        region: region.clone(),
        created_ms: kms.now_ms(),
        description: r.description.unwrap_or_default(),
        key_state: if imported {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        },
        deletion_ms: None,
        pending_window_days: None,
        policy: r
            .policy
            .unwrap_or_else(|| default_key_policy(&region, &primary.account)),
        policy_principal_ids: None,
        key_manager: KeyManager::Customer,
        ..primary.clone()
    };
    if !default_policy {
        replica.policy_principal_ids = check_new_key_policy(
            kms,
            caller,
            &replica.policy,
            &replica,
            r.bypass_policy_lockout_safety_check,
        )?;
    }
    let states = caller.key_states();
    let related = kms.change_key_set(&primary, |mut set| {
        let stored = set.key();
        keystate::require(states, &stored.key)?;
        if stored.key.is_replica() {
            return Err(not_a_primary(&stored.key));
        }
        if imported && stored.materials.is_empty() {
            // Nothing to import into the replica yet: the primary's material decides what the
            // replica must be given.
            return Err(KmsError::invalid_state(format!(
                "{} is pending import.",
                key_arn(&stored.key.region, &stored.key.account, &stored.key.key_id)
            )));
        }
        if let Some(existing) = set.keys.iter().find(|k| k.key.region == region) {
            return Err(KmsError::new(
                ErrorCode::AlreadyExists,
                format!(
                    "{} already exists.",
                    key_arn(
                        &existing.key.region,
                        &existing.key.account,
                        &existing.key.key_id
                    )
                ),
            ));
        }
        // Counted while the set's transaction holds the store's writer: no key can be made in
        // between.
        if kms.store.count_customer_keys(&region, &replica.account)? >= kms.max_keys_per_region {
            return Err(crate::quotas::too_many_keys(
                &region,
                kms.max_keys_per_region,
            ));
        }
        let mut new = RelatedKey {
            key: replica.clone(),
            materials: Vec::new(),
            tags: tags.clone(),
        };
        synchronize(&set.keys[set.this], &mut new);
        set.keys.push(new);
        Ok(set.keys.iter().map(|k| k.key.clone()).collect::<Vec<_>>())
    })?;
    let replica = related
        .iter()
        .find(|k| k.region == region)
        .cloned()
        .ok_or_else(|| KmsError::internal("the new replica is not in its key set"))?;
    let mut metadata = kms.metadata(&replica)?;
    // As AWS answers: the replica is still being made when ReplicateKey returns. Trent has
    // finished by then, so the next DescribeKey shows it Enabled (or PendingImport).
    metadata.key_state = KeyState::Creating.as_str();
    metadata.enabled = false;
    Ok(ReplicateKeyResponse {
        replica_key_metadata: metadata,
        replica_policy: replica.policy,
        replica_tags: r.tags.unwrap_or_default(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePrimaryRegionRequest {
    key_id: Option<String>,
    primary_region: Option<String>,
}

pub fn update_primary_region(
    kms: &Kms,
    caller: &Call<'_>,
    r: UpdatePrimaryRegionRequest,
) -> KmsResult<Empty> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
    validate_region(&mut v, "primaryRegion", &r.primary_region);
    v.finish()?;
    let region = r.primary_region.unwrap_or_default();
    let primary = primary_key(kms, caller, r.key_id.as_deref().unwrap_or_default())?;
    let mut checks = vec![
        Check::key("kms:UpdatePrimaryRegion", &primary).with("kms:PrimaryRegion", region.as_str()),
    ];
    // kms:UpdatePrimaryRegion on the replica too (its own key policy), when it exists.
    let replica = kms
        .load_key(&region, &primary.key_id)?
        .filter(|k| k.account == primary.account && k.is_multi_region());
    if let Some(replica) = &replica {
        checks.push(
            Check::key("kms:UpdatePrimaryRegion", replica)
                .with("kms:PrimaryRegion", region.as_str()),
        );
    }
    kms.authorize(caller, &checks)?;
    if !primary.is_multi_region() || primary.is_replica() {
        return Err(not_a_primary(&primary));
    }
    if region == primary.region {
        return Err(KmsError::validation(format!(
            "{region} is already the primary Region of {}.",
            key_arn(&primary.region, &primary.account, &primary.key_id)
        )));
    }
    if replica.is_none() {
        return Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            key_arn(&region, &primary.account, &primary.key_id)
        )));
    }
    let states = caller.key_states();
    kms.change_key_set(&primary, |mut set| {
        let stored = &set.key().key;
        keystate::require(states, stored)?;
        if stored.is_replica() {
            return Err(not_a_primary(stored));
        }
        let new_primary = set
            .keys
            .iter()
            .find(|k| k.key.region == region)
            .ok_or_else(|| {
                KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    key_arn(&region, &primary.account, &primary.key_id)
                ))
            })?;
        keystate::require(states, &new_primary.key)?;
        for k in set.keys.iter_mut() {
            k.key.primary_region = Some(region.clone());
        }
        Ok(())
    })?;
    Ok(Empty {})
}
