//! One module per operation group. Each handler validates, resolves, authorizes, checks key
//! state, and only then acts.

pub mod aliases;
pub mod asymmetric;
pub mod crypto;
pub mod data_key_pair;
pub mod grants;
pub mod import;
pub mod keys;
pub mod mac;
pub mod multi_region;
pub mod rotation;
pub mod tags;
pub mod usage;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::validate::{Validator, latin1_printable};

/// What every marker Trent issues starts with (before base64url), so that a marker it did not
/// issue is refused with InvalidMarkerException instead of being read as a position.
const MARKER_PREFIX: &str = "trent-marker:";

/// Pagination: `Limit` and `Marker` validated like the model, the marker made opaque.
pub struct Page {
    pub limit: usize,
    pub after: Option<String>,
}

impl Page {
    /// `max` is what one page holds at most; the model allows asking for up to 1000.
    pub fn parse(
        limit: Option<i64>,
        marker: Option<&str>,
        default: usize,
        max: usize,
    ) -> KmsResult<Page> {
        Validator::new()
            .range("limit", limit, 1, 1000)
            .length("marker", marker, 1, 1024)
            .pattern("marker", marker, "[\\u0020-\\u00FF]*", latin1_printable)
            .finish()?;
        let after = marker
            .map(|m| {
                URL_SAFE_NO_PAD
                    .decode(m)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.strip_prefix(MARKER_PREFIX).map(str::to_string))
                    .ok_or_else(|| {
                        KmsError::new(ErrorCode::InvalidMarker, "The marker is not valid.")
                    })
            })
            .transpose()?;
        let limit = limit.map_or(default, |l| (l as usize).min(max));
        Ok(Page { limit, after })
    }

    /// Splits a result fetched with `limit + 1` rows into the page and its `NextMarker`.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        last_id: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() > self.limit {
            rows.truncate(self.limit);
            let marker = rows
                .last()
                .map(|r| URL_SAFE_NO_PAD.encode(format!("{MARKER_PREFIX}{}", last_id(r))));
            (rows, marker)
        } else {
            (rows, None)
        }
    }
}

/// Validation shared by every operation that takes `GrantTokens`.
pub fn validate_grant_tokens(v: &mut Validator, tokens: Option<&[String]>) {
    v.list_length("grantTokens", tokens, 0, 10);
    for (i, t) in tokens.unwrap_or_default().iter().enumerate() {
        v.length(&format!("grantTokens.{}.member", i + 1), Some(t), 1, 8192);
    }
}

/// An empty JSON object, for operations without output members.
#[derive(serde::Serialize)]
pub struct Empty {}
