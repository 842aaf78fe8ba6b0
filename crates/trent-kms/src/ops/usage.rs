//! GetKeyLastUsage, and recording the uses it reports (see `crate::usage`).

use serde::{Deserialize, Serialize};
use trent_store::KeyUsage;

use crate::authz::Check;
use crate::call::Call;
use crate::error::KmsResult;
use crate::keyref::Accept;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::epoch_seconds;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyLastUsageRequest {
    key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyLastUsageResponse {
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_last_usage: Option<KeyLastUsageData>,
    tracking_start_date: f64,
    key_creation_date: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyLastUsageData {
    operation: String,
    timestamp: f64,
    cloud_trail_event_id: String,
    kms_request_id: String,
}

pub fn get_key_last_usage(
    kms: &Kms,
    caller: &Call<'_>,
    r: GetKeyLastUsageRequest,
) -> KmsResult<GetKeyLastUsageResponse> {
    Validator::new().key_id("keyId", &r.key_id, true).finish()?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    let key = &resolved.key;
    kms.authorize(caller, &[Check::key("kms:GetKeyLastUsage", key)])?;
    let usage = match kms.usage.pending(&key.region, &key.key_id) {
        Some(u) => Some(u),
        None => kms.store.key_usage(&key.region, &key.key_id)?,
    };
    Ok(GetKeyLastUsageResponse {
        key_id: key.key_id.clone(),
        key_last_usage: usage.map(|u| KeyLastUsageData {
            operation: u.operation,
            timestamp: epoch_seconds(u.at_ms),
            cloud_trail_event_id: u.event_id,
            kms_request_id: u.request_id,
        }),
        // Trent tracks every key from its creation.
        tracking_start_date: epoch_seconds(key.created_ms),
        key_creation_date: epoch_seconds(key.created_ms),
    })
}

impl Kms {
    /// A cryptographic request succeeded with `keys`: records it as their last use, under the
    /// audit record's event and request IDs.
    pub fn note_key_use(
        &self,
        keys: &[(String, String)],
        operation: &str,
        event_id: &str,
        request_id: &str,
    ) {
        let now = self.now_ms();
        for (region, key_id) in keys {
            self.usage.record(KeyUsage {
                region: region.clone(),
                key_id: key_id.clone(),
                operation: operation.to_string(),
                at_ms: now,
                event_id: event_id.to_string(),
                request_id: request_id.to_string(),
            });
        }
    }

    /// Writes the recorded uses to the store (kept for the next try if that fails).
    pub fn flush_key_usage(&self) -> KmsResult<()> {
        let pending = self.usage.take();
        if pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.record_key_usage(&pending) {
            self.usage.restore(pending);
            return Err(e.into());
        }
        Ok(())
    }
}
