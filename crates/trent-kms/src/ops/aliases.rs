//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use serde::{Deserialize, Serialize};
use trent_store::{Alias, StoreError};

use crate::arn::{alias_arn, key_arn};
use crate::authz::Check;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keystate;
use crate::managed;
use crate::ops::{Empty, Page};
use crate::quotas::{MAX_ALIASES_PER_KEY, too_many_aliases};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::epoch_seconds;

fn alias_pattern(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'))
}

/// Model validation plus KMS's alias-name rules.
fn check_alias_name(name: &Option<String>) -> KmsResult<String> {
    Validator::new()
        .required("aliasName", name)
        .length("aliasName", name.as_deref(), 1, 256)
        .pattern(
            "aliasName",
            name.as_deref(),
            "^[a-zA-Z0-9:/_-]+$",
            alias_pattern,
        )
        .finish()?;
    let name = name.clone().unwrap_or_default();
    if !name.starts_with("alias/") {
        return Err(KmsError::validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name == "alias/" {
        return Err(KmsError::validation(
            "Alias name must have at least one character after the prefix \"alias/\".",
        ));
    }
    if name.starts_with(managed::ALIAS_PREFIX) {
        // AWS-managed aliases can never be created, changed or deleted by customers.
        return Err(KmsError::new(
            ErrorCode::NotAuthorized,
            managed::RESERVED_ALIAS_MESSAGE,
        ));
    }
    Ok(name)
}

fn target_key_id(id: &Option<String>) -> KmsResult<String> {
    Validator::new()
        .required("targetKeyId", id)
        .length("targetKeyId", id.as_deref(), 1, 2048)
        .finish()?;
    Ok(id.clone().unwrap_or_default())
}

fn alias_not_found(caller: &Call<'_>, name: &str) -> KmsError {
    KmsError::not_found(format!(
        "Alias {} is not found.",
        alias_arn(&caller.region, caller.account(), name)
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    alias_name: Option<String>,
    target_key_id: Option<String>,
}

/// The name of a new alias (CreateAlias, the seed file): the model's rules and KMS's.
pub(crate) fn check_new_alias_name(name: &Option<String>) -> KmsResult<String> {
    let name = check_alias_name(name)?;
    // The model's pattern allows ':' (it is shared with alias ARNs), KMS does not: alias names
    // are letters, digits, '/', '_' and '-'.
    if name.contains(':') {
        return Err(KmsError::validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    Ok(name)
}

/// An alias may move only between keys of the same key spec and usage (UpdateAlias, the seed
/// file); `arn` is the alias's.
pub(crate) fn check_alias_retarget(
    arn: &str,
    current: &trent_store::KeyRecord,
    new: &trent_store::KeyRecord,
) -> KmsResult<()> {
    if current.key_spec != new.key_spec || current.key_usage != new.key_usage {
        return Err(KmsError::validation(format!(
            "Alias {arn} cannot be changed from a key with KeySpec {} and KeyUsage {} to a key with KeySpec {} and KeyUsage {}.",
            current.key_spec, current.key_usage, new.key_spec, new.key_usage
        )));
    }
    Ok(())
}

pub fn create_alias(kms: &Kms, caller: &Call<'_>, r: AliasRequest) -> KmsResult<Empty> {
    let name = check_new_alias_name(&r.alias_name)?;
    let target = target_key_id(&r.target_key_id)?;
    let resolved = kms.resolve(caller, &target, Accept::KeyOnly)?;
    let arn = alias_arn(&caller.region, caller.account(), &name);
    kms.authorize(
        caller,
        &[
            Check::arn("kms:CreateAlias", arn.clone()),
            Check::key("kms:CreateAlias", &resolved.key),
        ],
    )?;
    crate::managed::refuse_change(&resolved.key)?;
    keystate::require(caller.key_states(), &resolved.key)?;
    let now = kms.now_ms();
    let created = kms.store.create_alias_within(
        &Alias {
            region: caller.region.clone(),
            account: caller.account().to_string(),
            alias_name: name,
            target_key_id: resolved.key.key_id.clone(),
            created_ms: now,
            updated_ms: now,
        },
        MAX_ALIASES_PER_KEY,
    );
    match created {
        Err(StoreError::AlreadyExists) => Err(KmsError::new(
            ErrorCode::AlreadyExists,
            format!("An alias with the name {arn} already exists"),
        )),
        Err(StoreError::NotFound) => Err(KmsError::not_found(format!(
            "Key '{}' does not exist",
            resolved.arn()
        ))),
        Err(StoreError::LimitExceeded(_)) => Err(too_many_aliases(
            &caller.region,
            caller.account(),
            &resolved.key.key_id,
        )),
        other => Ok(other?),
    }?;
    Ok(Empty {})
}

pub fn update_alias(kms: &Kms, caller: &Call<'_>, r: AliasRequest) -> KmsResult<Empty> {
    let name = check_alias_name(&r.alias_name)?;
    let target = target_key_id(&r.target_key_id)?;
    let new_key = kms.resolve(caller, &target, Accept::KeyOnly)?;
    let alias = kms
        .store
        .get_alias(&caller.region, caller.account(), &name)?
        .ok_or_else(|| alias_not_found(caller, &name))?;
    let current = kms
        .load_key(&caller.region, &alias.target_key_id)?
        .ok_or_else(|| alias_not_found(caller, &name))?;
    let arn = alias_arn(&caller.region, caller.account(), &name);
    kms.authorize(
        caller,
        &[
            Check::arn("kms:UpdateAlias", arn.clone()),
            Check::key("kms:UpdateAlias", &current),
            Check::key("kms:UpdateAlias", &new_key.key),
        ],
    )?;
    crate::managed::refuse_change(&new_key.key)?;
    keystate::require(caller.key_states(), &new_key.key)?;
    check_alias_retarget(&arn, &current, &new_key.key)?;
    match kms.store.update_alias_within(
        &caller.region,
        caller.account(),
        &name,
        &new_key.key.key_id,
        kms.now_ms(),
        MAX_ALIASES_PER_KEY,
    ) {
        Err(StoreError::NotFound) => Err(alias_not_found(caller, &name)),
        Err(StoreError::LimitExceeded(_)) => Err(too_many_aliases(
            &caller.region,
            caller.account(),
            &new_key.key.key_id,
        )),
        other => Ok(other?),
    }?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasRequest {
    alias_name: Option<String>,
}

pub fn delete_alias(kms: &Kms, caller: &Call<'_>, r: DeleteAliasRequest) -> KmsResult<Empty> {
    let name = check_alias_name(&r.alias_name)?;
    let alias = kms
        .store
        .get_alias(&caller.region, caller.account(), &name)?
        .ok_or_else(|| alias_not_found(caller, &name))?;
    let key = kms
        .load_key(&caller.region, &alias.target_key_id)?
        .ok_or_else(|| alias_not_found(caller, &name))?;
    kms.authorize(
        caller,
        &[
            Check::arn(
                "kms:DeleteAlias",
                alias_arn(&caller.region, caller.account(), &name),
            ),
            Check::key("kms:DeleteAlias", &key),
        ],
    )?;
    match kms
        .store
        .delete_alias(&caller.region, caller.account(), &name)
    {
        Err(StoreError::NotFound) => Err(alias_not_found(caller, &name)),
        other => Ok(other?),
    }?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesRequest {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    alias_name: String,
    alias_arn: String,
    /// Absent, with the dates, for a predefined alias of an AWS managed key that does not exist
    /// yet (as AWS lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    target_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_date: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    aliases: Vec<AliasListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_aliases(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListAliasesRequest,
) -> KmsResult<ListAliasesResponse> {
    Validator::new()
        .length("keyId", r.key_id.as_deref(), 1, 2048)
        .finish()?;
    let page = Page::parse(r.limit, r.marker.as_deref(), 50, 100)?;
    kms.authorize(caller, &[Check::account("kms:ListAliases")])?;
    let key_filter = match r.key_id.as_deref() {
        Some(id) => {
            let resolved = kms.resolve(caller, id, Accept::KeyOnly)?;
            if resolved.key.account != caller.account() {
                // Aliases are listed in the caller's account only.
                return Err(KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    key_arn(&caller.region, caller.account(), &resolved.key.key_id)
                )));
            }
            Some(resolved.key.key_id)
        }
        None => None,
    };
    let rows = kms.store.list_aliases(
        &caller.region,
        caller.account(),
        key_filter.as_deref(),
        page.after.as_deref(),
        page.limit + 1,
    )?;
    let mut entries: Vec<AliasListEntry> = rows
        .into_iter()
        .map(|a| AliasListEntry {
            alias_arn: alias_arn(&a.region, &a.account, &a.alias_name),
            alias_name: a.alias_name,
            target_key_id: Some(a.target_key_id),
            creation_date: Some(epoch_seconds(a.created_ms)),
            last_updated_date: Some(epoch_seconds(a.updated_ms)),
        })
        .collect();
    if key_filter.is_none() {
        // The predefined aliases of AWS managed keys not created yet, merged in name order: the
        // store's first `limit + 1` rows after the marker and these hold the page's rows.
        for service in managed::SERVICES.iter().filter(|s| s.predefined) {
            let name = service.alias_name();
            if page.after.as_ref().is_some_and(|after| &name <= after)
                || kms
                    .store
                    .get_alias(&caller.region, caller.account(), &name)?
                    .is_some()
            {
                continue;
            }
            entries.push(AliasListEntry {
                alias_arn: alias_arn(&caller.region, caller.account(), &name),
                alias_name: name,
                target_key_id: None,
                creation_date: None,
                last_updated_date: None,
            });
        }
        entries.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
        entries.truncate(page.limit + 1);
    }
    let (aliases, next_marker) = page.finish(entries, |a| a.alias_name.clone());
    Ok(ListAliasesResponse {
        truncated: next_marker.is_some(),
        next_marker,
        aliases,
    })
}
