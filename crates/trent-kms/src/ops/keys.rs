//! Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/Disable, deletion, description,
//! key policies.

use serde::{Deserialize, Serialize};
use trent_store::{KeyManager, KeyRecord, KeyState};

use crate::arn::{account_root_arn, key_arn, partition};
use crate::authz::context::{request_alias, request_tags};
use crate::authz::{Check, policy_error};
use crate::call::Call;
use crate::clock::DAY_MS;
use crate::error::{KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keyspec::{KEY_SPECS, KEY_USAGES, ORIGINS, allowed_usages};
use crate::keystate;
use crate::materials::{new_key_id, new_material};
use crate::ops::tags::{TagEntry, validate_tags};
use crate::ops::{Empty, Page};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::{KeyMetadata, epoch_seconds};

/// The default key policy of §8.1, byte for byte as AWS returns it.
pub fn default_key_policy(region: &str, account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"{}\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        account_root_arn(partition(region), account)
    )
}

/// Key policies are limited to 32 KB although the model allows more (spec §3.1).
const MAX_KEY_POLICY_BYTES: usize = 32 * 1024;

pub(crate) fn validate_policy_member(v: &mut Validator, policy: Option<&str>) {
    v.length("policy", policy, 1, 131072).pattern(
        "policy",
        policy,
        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        |s| {
            s.chars()
                .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        },
    );
}

fn malformed(message: &str) -> KmsError {
    KmsError::new(crate::ErrorCode::MalformedPolicyDocument, message)
}

/// Whether a principal named in a key policy exists. Trent can only know the identities of the
/// accounts it holds; principals of other accounts are taken on trust.
fn principal_exists(kms: &Kms, name: &str) -> bool {
    let Some(rest) = name.strip_prefix("arn:") else {
        return true; // account IDs and service names
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let (Some(service), Some(account), Some(resource)) = (parts.get(1), parts.get(3), parts.get(4))
    else {
        return false;
    };
    if *service != "iam" || !kms.directory().has_account(account) {
        return true;
    }
    if *resource == "root" {
        return true;
    }
    if resource.starts_with("user/") || resource.starts_with("role/") {
        return kms.directory().has_principal(name);
    }
    true
}

/// Validates a key policy before it is stored (CreateKey, PutKeyPolicy): size and syntax, that
/// the principals exist, and the lockout safety check of spec §8.2 against `key` as it would be
/// with the new policy.
pub(crate) fn check_new_key_policy(
    kms: &Kms,
    caller: &Call<'_>,
    text: &str,
    key: &KeyRecord,
    bypass_lockout_check: Option<bool>,
) -> KmsResult<Option<String>> {
    let (policy, ids) = check_key_policy_document(kms, text)?;
    if bypass_lockout_check != Some(true) {
        let mut candidate = key.clone();
        candidate.policy_principal_ids = ids.clone();
        let decision = kms.decide_check(
            caller,
            &Check::key("kms:PutKeyPolicy", &candidate),
            Some(&policy),
        )?;
        if !decision.is_allowed() {
            caller.record_lockout_check(decision);
            return Err(malformed(
                "The new key policy will not allow you to update the key policy in the future.",
            ));
        }
    }
    Ok(ids)
}

/// The checks of a key policy that do not depend on who sets it (CreateKey, PutKeyPolicy, the
/// seed file): size, syntax, and that the principals it names exist. Returns the policy and the
/// unique IDs of the principals it names, as stored with the key.
pub(crate) fn check_key_policy_document(
    kms: &Kms,
    text: &str,
) -> KmsResult<(trent_policy::Policy, Option<String>)> {
    if text.len() > MAX_KEY_POLICY_BYTES {
        return Err(KmsError::new(
            crate::ErrorCode::LimitExceeded,
            format!("The key policy exceeds the maximum size of {MAX_KEY_POLICY_BYTES} bytes."),
        ));
    }
    let policy = trent_policy::Policy::parse(text, trent_policy::PolicyKind::KeyPolicy)
        .map_err(|e| policy_error(&e))?;
    if policy
        .principal_arns()
        .into_iter()
        .any(|p| !principal_exists(kms, p))
    {
        return Err(malformed(
            "Policy contains a statement with one or more invalid principals.",
        ));
    }
    let ids = policy_principal_ids(kms, &policy)?;
    Ok((policy, ids))
}

/// The unique IDs of the users and roles a key policy names in the accounts Trent holds, as
/// stored with the key (JSON object ARN -> unique ID); `None` when it names none. A user or
/// role deleted and recreated with the same name gets a new unique ID and no longer matches.
fn policy_principal_ids(kms: &Kms, policy: &trent_policy::Policy) -> KmsResult<Option<String>> {
    let directory = kms.directory();
    let ids: std::collections::BTreeMap<&str, &str> = policy
        .principal_arns()
        .into_iter()
        .filter_map(|arn| directory.unique_id_of(arn).map(|id| (arn, id)))
        .collect();
    if ids.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&ids)
        .map(Some)
        .map_err(KmsError::internal)
}

impl Kms {
    pub(crate) fn metadata(&self, key: &KeyRecord) -> KmsResult<KeyMetadata> {
        let material = self
            .store
            .material(&key.region, &key.key_id, key.current_material)?;
        let related = if key.is_multi_region() {
            self.store.related_keys(&key.account, &key.key_id)?
        } else {
            Vec::new()
        };
        Ok(KeyMetadata::of(key, material.as_ref(), &related))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    pub(crate) policy: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) key_usage: Option<String>,
    pub(crate) customer_master_key_spec: Option<String>,
    pub(crate) key_spec: Option<String>,
    pub(crate) origin: Option<String>,
    pub(crate) custom_key_store_id: Option<String>,
    pub(crate) bypass_policy_lockout_safety_check: Option<bool>,
    pub(crate) tags: Option<Vec<TagEntry>>,
    pub(crate) multi_region: Option<bool>,
    pub(crate) xks_key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    key_metadata: KeyMetadata,
}

/// What CreateKey checks before authorization (the seed file checks its keys the same way): the
/// members, KeySpec and KeyUsage with their defaults and each other, and the tags. Returns the
/// key spec, the key usage and the tags.
pub(crate) fn check_create_key(
    r: &CreateKeyRequest,
) -> KmsResult<(String, String, Vec<trent_store::Tag>)> {
    let mut v = Validator::new();
    validate_policy_member(&mut v, r.policy.as_deref());
    v.length("description", r.description.as_deref(), 0, 8192)
        .one_of("keyUsage", r.key_usage.as_deref(), KEY_USAGES)
        .one_of(
            "customerMasterKeySpec",
            r.customer_master_key_spec.as_deref(),
            KEY_SPECS,
        )
        .one_of("keySpec", r.key_spec.as_deref(), KEY_SPECS)
        .one_of("origin", r.origin.as_deref(), ORIGINS)
        .length("customKeyStoreId", r.custom_key_store_id.as_deref(), 1, 64)
        .length("xksKeyId", r.xks_key_id.as_deref(), 1, 128);
    validate_tags(&mut v, r.tags.as_deref(), "tags");
    v.finish()?;

    if r.key_spec.is_some() && r.customer_master_key_spec.is_some() {
        return Err(KmsError::validation(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
        ));
    }
    let spec = r
        .key_spec
        .clone()
        .or(r.customer_master_key_spec.clone())
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_string());
    let usage = match r.key_usage.clone() {
        Some(u) => u,
        None if spec == "SYMMETRIC_DEFAULT" => "ENCRYPT_DECRYPT".to_string(),
        None => {
            return Err(KmsError::validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ));
        }
    };
    if !allowed_usages(&spec).contains(&usage.as_str()) {
        return Err(KmsError::validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec}"
        )));
    }
    let tags = crate::ops::tags::check_tag_rules(r.tags.as_deref().unwrap_or_default())?;
    Ok((spec, usage, tags))
}

/// What CreateKey refuses after authorization: what Trent does not support. Returns the key
/// spec as the crypto layer names it.
pub(crate) fn check_supported_key(
    r: &CreateKeyRequest,
    origin: &str,
    spec: &str,
) -> KmsResult<trent_crypto::KeySpec> {
    if !matches!(origin, "AWS_KMS" | "EXTERNAL") {
        return Err(KmsError::unsupported(format!(
            "Origin {origin} is not supported by this version of Trent."
        )));
    }
    if r.custom_key_store_id.is_some() || r.xks_key_id.is_some() {
        return Err(KmsError::unsupported(
            "Custom key stores are not supported by this version of Trent.",
        ));
    }
    let crypto_spec: trent_crypto::KeySpec = crate::ops::asymmetric::parse_name(spec)?;
    if crypto_spec == trent_crypto::KeySpec::Sm2 {
        return Err(KmsError::unsupported(
            "KeySpec SM2 is available only in AWS China Regions and is not supported by Trent.",
        ));
    }
    Ok(crypto_spec)
}

/// A new customer managed key as CreateKey makes it: the default key policy unless `policy`
/// is given, `Enabled` with its first material or `PendingImport` without, no rotation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_key_record(
    region: &str,
    account: &str,
    key_id: String,
    now: i64,
    (spec, usage, origin): (String, String, String),
    policy: Option<String>,
    description: Option<String>,
    has_material: bool,
    primary_region: Option<String>,
) -> KeyRecord {
    KeyRecord {
        policy: policy.unwrap_or_else(|| default_key_policy(region, account)),
        region: region.to_string(),
        key_id,
        account: account.to_string(),
        created_ms: now,
        description: description.unwrap_or_default(),
        key_spec: spec,
        key_usage: usage,
        origin,
        key_state: if has_material {
            KeyState::Enabled
        } else {
            KeyState::PendingImport
        },
        deletion_ms: None,
        pending_window_days: None,
        primary_region,
        current_material: u32::from(has_material),
        policy_principal_ids: None,
        rotation_period_days: None,
        next_rotation_ms: None,
        key_manager: KeyManager::Customer,
    }
}

pub fn create_key(
    kms: &Kms,
    caller: &Call<'_>,
    r: CreateKeyRequest,
) -> KmsResult<KeyMetadataResponse> {
    let (spec, usage, tags) = check_create_key(&r)?;
    let origin = r.origin.clone().unwrap_or_else(|| "AWS_KMS".to_string());

    let multi_region = r.multi_region.unwrap_or(false);
    let mut properties = vec![
        ("kms:KeySpec".to_string(), spec.as_str().into()),
        (
            "kms:CustomerMasterKeySpec".to_string(),
            spec.as_str().into(),
        ),
        ("kms:KeyUsage".to_string(), usage.as_str().into()),
        (
            "kms:CustomerMasterKeyUsage".to_string(),
            usage.as_str().into(),
        ),
        ("kms:KeyOrigin".to_string(), origin.as_str().into()),
        ("kms:MultiRegion".to_string(), multi_region.into()),
    ];
    if multi_region {
        properties.push(("kms:MultiRegionKeyType".to_string(), "PRIMARY".into()));
    }
    if let Some(b) = r.bypass_policy_lockout_safety_check {
        properties.push(("kms:BypassPolicyLockoutSafetyCheck".to_string(), b.into()));
    }
    let mut checks = vec![
        Check::account("kms:CreateKey")
            .with_all(properties.clone())
            .with_all(request_tags(&tags)),
    ];
    if !tags.is_empty() {
        checks.push(
            Check::account("kms:TagResource")
                .with_all(properties)
                .with_all(request_tags(&tags)),
        );
    }
    kms.authorize(caller, &checks)?;
    let crypto_spec = check_supported_key(&r, &origin, &spec)?;
    let region = caller.region.clone();
    let account = caller.account().to_string();
    let key_id = new_key_id(multi_region)?;
    let now = kms.now_ms();
    // A key of EXTERNAL origin has no material until ImportKeyMaterial gives it some.
    let material = if origin == "EXTERNAL" {
        None
    } else {
        Some(new_material(&kms.root_key, crypto_spec, &key_id, 1, now)?)
    };
    let default_policy = r.policy.is_none();
    let mut key = new_key_record(
        &region,
        &account,
        key_id,
        now,
        (spec, usage, origin),
        r.policy,
        r.description,
        material.is_some(),
        multi_region.then(|| caller.region.clone()),
    );
    if !default_policy {
        key.policy_principal_ids = check_new_key_policy(
            kms,
            caller,
            &key.policy,
            &key,
            r.bypass_policy_lockout_safety_check,
        )?;
    }
    match kms
        .store
        .create_key_within(&key, material.as_ref(), &tags, kms.max_keys_per_region)
    {
        Err(trent_store::StoreError::LimitExceeded(_)) => Err(crate::quotas::too_many_keys(
            &key.region,
            kms.max_keys_per_region,
        )),
        other => Ok(other?),
    }?;
    Ok(KeyMetadataResponse {
        key_metadata: KeyMetadata::of(&key, material.as_ref(), std::slice::from_ref(&key)),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyRequest {
    key_id: Option<String>,
    grant_tokens: Option<Vec<String>>,
}

pub fn describe_key(
    kms: &Kms,
    caller: &Call<'_>,
    r: DescribeKeyRequest,
) -> KmsResult<KeyMetadataResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
    crate::ops::validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;
    let key_id = r.key_id.unwrap_or_default();
    // DescribeKey of `alias/aws/<service>` creates the AWS managed key, as in AWS (Terraform's
    // `data "aws_kms_key"` relies on it).
    let resolved = kms.resolve(caller, &key_id, Accept::CreatingManaged)?;
    kms.authorize(
        caller,
        &[Check::key("kms:DescribeKey", &resolved.key)
            .with_all(request_alias(resolved.via_alias.as_deref()))],
    )?;
    let resolved = kms.store_prepared(resolved)?;
    Ok(KeyMetadataResponse {
        key_metadata: kms.metadata(&resolved.key)?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    key_id: String,
    key_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_keys(kms: &Kms, caller: &Call<'_>, r: ListKeysRequest) -> KmsResult<ListKeysResponse> {
    let page = Page::parse(r.limit, r.marker.as_deref(), 100, 1000)?;
    kms.authorize(caller, &[Check::account("kms:ListKeys")])?;
    let now = kms.now_ms();
    let rows = kms.store.list_keys(
        &caller.region,
        caller.account(),
        page.after.as_deref(),
        page.limit + 1,
    )?;
    // Keys whose waiting period has passed are gone even if the sweeper has not run yet.
    let rows: Vec<KeyRecord> = rows
        .into_iter()
        .filter(|k| {
            !(k.key_state == KeyState::PendingDeletion && k.deletion_ms.is_some_and(|d| d <= now))
        })
        .collect();
    let (rows, next_marker) = page.finish(rows, |k| k.key_id.clone());
    Ok(ListKeysResponse {
        truncated: next_marker.is_some(),
        next_marker,
        keys: rows
            .into_iter()
            .map(|k| KeyListEntry {
                key_arn: key_arn(&k.region, &k.account, &k.key_id),
                key_id: k.key_id,
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    key_id: Option<String>,
}

fn required_key_id(key_id: &Option<String>) -> KmsResult<String> {
    Validator::new().key_id("keyId", key_id, true).finish()?;
    Ok(key_id.clone().unwrap_or_default())
}

/// Resolves the key (key ID or ARN) and authorizes `action` on it with `context`; AWS managed
/// keys are refused, as nobody may change them.
fn key_to_change(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: &str,
    action: &'static str,
    context: Vec<(String, trent_policy::ContextValue)>,
) -> KmsResult<KeyRecord> {
    let resolved = kms.resolve(caller, key_id, Accept::KeyOnly)?;
    kms.authorize(
        caller,
        &[Check::key(action, &resolved.key).with_all(context)],
    )?;
    crate::managed::refuse_change(&resolved.key)?;
    Ok(resolved.key)
}

/// Resolves, authorizes, then applies `change` to the key in one transaction (so a concurrent
/// request cannot slip between the state check and the write).
fn modify(
    kms: &Kms,
    caller: &Call<'_>,
    key_id: &str,
    action: &'static str,
    context: Vec<(String, trent_policy::ContextValue)>,
    change: impl FnOnce(&mut KeyRecord) -> KmsResult<()>,
) -> KmsResult<KeyRecord> {
    let key = key_to_change(kms, caller, key_id, action, context)?;
    kms.store.modify_key(&key.region, &key.key_id, |k| {
        change(k)?;
        Ok::<_, KmsError>(k.clone())
    })
}

pub fn enable_key(kms: &Kms, caller: &Call<'_>, r: KeyIdRequest) -> KmsResult<Empty> {
    let key_id = required_key_id(&r.key_id)?;
    modify(kms, caller, &key_id, "kms:EnableKey", Vec::new(), |k| {
        keystate::require(caller.key_states(), k)?;
        k.key_state = KeyState::Enabled;
        Ok(())
    })?;
    Ok(Empty {})
}

pub fn disable_key(kms: &Kms, caller: &Call<'_>, r: KeyIdRequest) -> KmsResult<Empty> {
    let key_id = required_key_id(&r.key_id)?;
    modify(kms, caller, &key_id, "kms:DisableKey", Vec::new(), |k| {
        keystate::require(caller.key_states(), k)?;
        k.key_state = KeyState::Disabled;
        Ok(())
    })?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    key_id: Option<String>,
    pending_window_in_days: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionResponse {
    key_id: String,
    /// Absent for a multi-Region primary with replicas: its waiting period has not begun.
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    key_state: &'static str,
    pending_window_in_days: i64,
}

pub fn schedule_key_deletion(
    kms: &Kms,
    caller: &Call<'_>,
    r: ScheduleKeyDeletionRequest,
) -> KmsResult<ScheduleKeyDeletionResponse> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        // The model allows 1-365; KMS itself accepts 7-30.
        .range("pendingWindowInDays", r.pending_window_in_days, 7, 30)
        .finish()?;
    let days = r.pending_window_in_days.unwrap_or(30);
    let key = key_to_change(
        kms,
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        "kms:ScheduleKeyDeletion",
        vec![(
            "kms:ScheduleKeyDeletionPendingWindowInDays".to_string(),
            trent_policy::ContextValue::number(days),
        )],
    )?;
    let key = schedule_deletion(kms, &key, days, caller.key_states())?;
    Ok(ScheduleKeyDeletionResponse {
        key_id: key_arn(&key.region, &key.account, &key.key_id),
        deletion_date: key.deletion_ms.map(epoch_seconds),
        key_state: key.key_state.as_str(),
        pending_window_in_days: days,
    })
}

/// Schedules the deletion of `key` in `days` days, if its state is one of `states`
/// (ScheduleKeyDeletion, and the seed file's pruning). Returns the key as stored.
pub(crate) fn schedule_deletion(
    kms: &Kms,
    key: &KeyRecord,
    days: i64,
    states: keystate::KeyStates,
) -> KmsResult<KeyRecord> {
    let deletion_ms = kms.now_ms() + days * DAY_MS;
    // Decided in the set's transaction: a replica made meanwhile must hold the primary back.
    kms.change_key_set(key, |mut set| {
        let waits_for_replicas = !set.key().key.is_replica() && set.has_replicas();
        let k = &mut set.key().key;
        keystate::require(states, k)?;
        if waits_for_replicas {
            // The waiting period begins when the last replica is deleted.
            k.key_state = KeyState::PendingReplicaDeletion;
            k.deletion_ms = None;
        } else {
            k.key_state = KeyState::PendingDeletion;
            k.deletion_ms = Some(deletion_ms);
        }
        k.pending_window_days = Some(days);
        Ok(k.clone())
    })
}

/// A key whose deletion is cancelled (CancelKeyDeletion, the seed file) comes back disabled,
/// not enabled (spec §6.2); a key of EXTERNAL origin without its current material comes back
/// waiting for it.
pub(crate) fn cancel_deletion(kms: &Kms, k: &mut KeyRecord) -> KmsResult<()> {
    k.key_state = if kms.has_current_material(k)? {
        KeyState::Disabled
    } else {
        KeyState::PendingImport
    };
    k.deletion_ms = None;
    k.pending_window_days = None;
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyArnResponse {
    key_id: String,
}

pub fn cancel_key_deletion(
    kms: &Kms,
    caller: &Call<'_>,
    r: KeyIdRequest,
) -> KmsResult<KeyArnResponse> {
    let key_id = required_key_id(&r.key_id)?;
    let key = modify(
        kms,
        caller,
        &key_id,
        "kms:CancelKeyDeletion",
        Vec::new(),
        |k| {
            keystate::require(caller.key_states(), k)?;
            cancel_deletion(kms, k)
        },
    )?;
    Ok(KeyArnResponse {
        key_id: key_arn(&key.region, &key.account, &key.key_id),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionRequest {
    key_id: Option<String>,
    description: Option<String>,
}

pub fn update_key_description(
    kms: &Kms,
    caller: &Call<'_>,
    r: UpdateKeyDescriptionRequest,
) -> KmsResult<Empty> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .required("description", &r.description)
        .length("description", r.description.as_deref(), 0, 8192)
        .finish()?;
    let description = r.description.unwrap_or_default();
    modify(
        kms,
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        "kms:UpdateKeyDescription",
        Vec::new(),
        |k| {
            keystate::require(caller.key_states(), k)?;
            k.description = description;
            Ok(())
        },
    )?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    key_id: Option<String>,
    policy_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyResponse {
    policy: String,
    policy_name: &'static str,
}

fn validate_policy_name(v: &mut Validator, name: Option<&str>) {
    v.length("policyName", name, 1, 128)
        .pattern("policyName", name, "[\\w]+", |s| {
            s.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
}

pub fn get_key_policy(
    kms: &Kms,
    caller: &Call<'_>,
    r: GetKeyPolicyRequest,
) -> KmsResult<GetKeyPolicyResponse> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true);
    validate_policy_name(&mut v, r.policy_name.as_deref());
    v.finish()?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    kms.authorize(caller, &[Check::key("kms:GetKeyPolicy", &resolved.key)])?;
    if r.policy_name.as_deref().is_some_and(|n| n != "default") {
        return Err(KmsError::not_found("No such policy exists"));
    }
    Ok(GetKeyPolicyResponse {
        policy: resolved.key.policy,
        policy_name: "default",
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesRequest {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    policy_names: Vec<&'static str>,
    truncated: bool,
}

pub fn list_key_policies(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListKeyPoliciesRequest,
) -> KmsResult<ListKeyPoliciesResponse> {
    Validator::new().key_id("keyId", &r.key_id, true).finish()?;
    Page::parse(r.limit, r.marker.as_deref(), 100, 1000)?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    kms.authorize(caller, &[Check::key("kms:ListKeyPolicies", &resolved.key)])?;
    Ok(ListKeyPoliciesResponse {
        policy_names: vec!["default"],
        truncated: false,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    key_id: Option<String>,
    policy_name: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
}

pub fn put_key_policy(kms: &Kms, caller: &Call<'_>, r: PutKeyPolicyRequest) -> KmsResult<Empty> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true)
        .required("policy", &r.policy);
    validate_policy_name(&mut v, r.policy_name.as_deref());
    validate_policy_member(&mut v, r.policy.as_deref());
    v.finish()?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    let bypass = r.bypass_policy_lockout_safety_check;
    let context = bypass
        .map(|b| vec![("kms:BypassPolicyLockoutSafetyCheck".to_string(), b.into())])
        .unwrap_or_default();
    kms.authorize(
        caller,
        &[Check::key("kms:PutKeyPolicy", &resolved.key).with_all(context)],
    )?;
    crate::managed::refuse_change(&resolved.key)?;
    if r.policy_name.as_deref().is_some_and(|n| n != "default") {
        return Err(KmsError::validation(
            "PolicyName must be default: a key has exactly one key policy.",
        ));
    }
    let text = r.policy.unwrap_or_default();
    let mut candidate = resolved.key.clone();
    candidate.policy = text.clone();
    let ids = check_new_key_policy(kms, caller, &text, &candidate, bypass)?;
    // Stored byte for byte: GetKeyPolicy returns exactly what was put.
    kms.store
        .modify_key(&resolved.key.region, &resolved.key.key_id, |k| {
            k.policy = text;
            k.policy_principal_ids = ids;
            Ok::<_, KmsError>(())
        })?;
    Ok(Empty {})
}
