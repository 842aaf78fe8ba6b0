//! TagResource, UntagResource, ListResourceTags and the tag rules shared with CreateKey.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use trent_store::{StoreError, Tag};

use crate::authz::Check;
use crate::authz::context::request_tags;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keystate;
use crate::ops::{Empty, Page};
use crate::service::Kms;
use crate::validate::Validator;

/// Tags per key (KMS quota).
pub const MAX_TAGS_PER_KEY: usize = 50;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagEntry {
    pub tag_key: Option<String>,
    pub tag_value: Option<String>,
}

/// Model constraints on a tag list member (`tags.1.member.tagKey`, …).
pub fn validate_tags(v: &mut Validator, tags: Option<&[TagEntry]>, member: &str) {
    for (i, t) in tags.unwrap_or_default().iter().enumerate() {
        let at = format!("{member}.{}.member", i + 1);
        v.required(&format!("{at}.tagKey"), &t.tag_key)
            .required(&format!("{at}.tagValue"), &t.tag_value)
            .length(&format!("{at}.tagKey"), t.tag_key.as_deref(), 1, 128)
            .length(&format!("{at}.tagValue"), t.tag_value.as_deref(), 0, 256);
    }
}

/// Tag keys AWS keeps for itself: `aws:` in any letter case.
fn reserved_tag_key(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// AWS's tag character set (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`): letters, digits, spaces and
/// `_ . : / = + - @`. Control characters (NUL, tab, newline) are outside it.
fn tag_character(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

const TAG_CHARACTERS: &str = "Tag keys and values can contain only Unicode letters, digits, \
     white space, and the characters _ . : / = + - @";

fn tag_error(message: &str) -> KmsError {
    KmsError::new(ErrorCode::Tag, message)
}

/// KMS's own tag rules (TagException), after model validation.
pub fn check_tag_rules(tags: &[TagEntry]) -> KmsResult<Vec<Tag>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(tags.len());
    for t in tags {
        let key = t.tag_key.clone().unwrap_or_default();
        if reserved_tag_key(&key) {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        let value = t.tag_value.as_deref().unwrap_or_default();
        if !key.chars().chain(value.chars()).all(tag_character) {
            return Err(tag_error(TAG_CHARACTERS));
        }
        if !seen.insert(key.clone()) {
            return Err(tag_error("Duplicate tag keys"));
        }
        out.push(Tag {
            key,
            value: value.to_string(),
        });
    }
    if out.len() > MAX_TAGS_PER_KEY {
        return Err(tag_error("Too many tags"));
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    key_id: Option<String>,
    tags: Option<Vec<TagEntry>>,
}

pub fn tag_resource(kms: &Kms, caller: &Call<'_>, r: TagResourceRequest) -> KmsResult<Empty> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true).required("tags", &r.tags);
    validate_tags(&mut v, r.tags.as_deref(), "tags");
    v.finish()?;
    let tags = check_tag_rules(r.tags.as_deref().unwrap_or_default())?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    kms.authorize(
        caller,
        &[Check::key("kms:TagResource", &resolved.key).with_all(request_tags(&tags))],
    )?;
    crate::managed::refuse_change(&resolved.key)?;
    keystate::require(caller.key_states(), &resolved.key)?;
    match kms.store.tag_key(
        &resolved.key.region,
        &resolved.key.key_id,
        &tags,
        MAX_TAGS_PER_KEY,
    ) {
        Err(StoreError::LimitExceeded(_)) => Err(tag_error("Too many tags")),
        other => Ok(other?),
    }?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    key_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub fn untag_resource(kms: &Kms, caller: &Call<'_>, r: UntagResourceRequest) -> KmsResult<Empty> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true)
        .required("tagKeys", &r.tag_keys);
    for (i, k) in r.tag_keys.as_deref().unwrap_or_default().iter().enumerate() {
        v.length(&format!("tagKeys.{}.member", i + 1), Some(k), 1, 128);
    }
    v.finish()?;
    let keys = r.tag_keys.unwrap_or_default();
    if keys.iter().any(|k| reserved_tag_key(k)) {
        return Err(tag_error("Tags beginning with aws: are reserved"));
    }
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    kms.authorize(
        caller,
        &[Check::key("kms:UntagResource", &resolved.key).with("aws:TagKeys", keys.clone())],
    )?;
    crate::managed::refuse_change(&resolved.key)?;
    keystate::require(caller.key_states(), &resolved.key)?;
    kms.store
        .untag_key(&resolved.key.region, &resolved.key.key_id, &keys)?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsRequest {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut {
    tag_key: String,
    tag_value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    tags: Vec<TagOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_resource_tags(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListResourceTagsRequest,
) -> KmsResult<ListResourceTagsResponse> {
    Validator::new().key_id("keyId", &r.key_id, true).finish()?;
    let page = Page::parse(r.limit, r.marker.as_deref(), 50, 50)?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    kms.authorize(caller, &[Check::key("kms:ListResourceTags", &resolved.key)])?;
    // At most 50 tags per key: paging in memory is simplest and cheap.
    let rows: Vec<Tag> = kms
        .store
        .tags(&resolved.key.region, &resolved.key.key_id)?
        .into_iter()
        .filter(|t| {
            page.after
                .as_deref()
                .is_none_or(|after| t.key.as_str() > after)
        })
        .take(page.limit + 1)
        .collect();
    let (rows, next_marker) = page.finish(rows, |t| t.key.clone());
    Ok(ListResourceTagsResponse {
        truncated: next_marker.is_some(),
        next_marker,
        tags: rows
            .into_iter()
            .map(|t| TagOut {
                tag_key: t.key,
                tag_value: t.value,
            })
            .collect(),
    })
}
