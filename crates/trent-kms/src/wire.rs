//! JSON 1.1 value shapes shared by several operations: base64 blobs, epoch-second timestamps,
//! `KeyMetadata`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use trent_store::{KeyMaterial, KeyRecord, KeyState};

use crate::arn::key_arn;
use crate::keyspec;

/// A binary member: base64 in JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob(<{} bytes>)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|_| serde::de::Error::custom("Invalid base64 encoding of a blob member"))
    }
}

/// Epoch seconds with millisecond precision, as AWS JSON 1.1 sends timestamps.
pub fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: &'static str,
    pub primary_key: MultiRegionKey,
    pub replica_keys: Vec<MultiRegionKey>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    pub origin: String,
    pub key_manager: &'static str,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<&'static str>>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
}

/// `ExpirationModel` of imported material.
pub fn expiration_model(material: &KeyMaterial) -> &'static str {
    if material.valid_to_ms.is_some() {
        "KEY_MATERIAL_EXPIRES"
    } else {
        "KEY_MATERIAL_DOES_NOT_EXPIRE"
    }
}

impl MultiRegionConfiguration {
    /// The configuration of a multi-Region `key` whose set is `related` (every key with its ID
    /// in its account, `key` included); `None` for a single-Region key.
    fn of(key: &KeyRecord, related: &[KeyRecord]) -> Option<MultiRegionConfiguration> {
        let primary_region = key.primary_region.as_deref()?;
        let entry = |k: &KeyRecord| MultiRegionKey {
            arn: key_arn(&k.region, &k.account, &k.key_id),
            region: k.region.clone(),
        };
        Some(MultiRegionConfiguration {
            multi_region_key_type: if key.is_replica() {
                "REPLICA"
            } else {
                "PRIMARY"
            },
            primary_key: MultiRegionKey {
                arn: key_arn(primary_region, &key.account, &key.key_id),
                region: primary_region.to_string(),
            },
            replica_keys: related
                .iter()
                .filter(|k| k.region != primary_region)
                .map(entry)
                .collect(),
        })
    }
}

impl KeyMetadata {
    /// The metadata of `key` whose current material version is `current` (`None` before the
    /// first import into a key of `EXTERNAL` origin); `related` are the keys of its multi-Region
    /// set (empty for a single-Region key).
    pub fn of(
        key: &KeyRecord,
        current: Option<&KeyMaterial>,
        related: &[KeyRecord],
    ) -> KeyMetadata {
        // Keys with imported material show its expiry while it is imported.
        let imported = current.filter(|m| key.origin == "EXTERNAL" && m.sealed.is_some());
        let arn = key_arn(&key.region, &key.account, &key.key_id);
        let algorithms = keyspec::algorithms(&key.key_spec, &key.key_usage);
        KeyMetadata {
            aws_account_id: key.account.clone(),
            key_id: key.key_id.clone(),
            multi_region_configuration: MultiRegionConfiguration::of(key, related),
            arn,
            creation_date: epoch_seconds(key.created_ms),
            enabled: key.key_state == KeyState::Enabled,
            description: key.description.clone(),
            key_usage: key.key_usage.clone(),
            key_state: key.key_state.as_str(),
            deletion_date: key.deletion_ms.map(epoch_seconds),
            origin: key.origin.clone(),
            key_manager: key.key_manager.as_str(),
            customer_master_key_spec: key.key_spec.clone(),
            key_spec: key.key_spec.clone(),
            encryption_algorithms: algorithms.encryption,
            signing_algorithms: algorithms.signing,
            mac_algorithms: algorithms.mac,
            key_agreement_algorithms: algorithms.key_agreement,
            multi_region: key.is_multi_region(),
            // AWS shows the window only for multi-Region primaries awaiting replica deletion.
            pending_deletion_window_in_days: (key.key_state == KeyState::PendingReplicaDeletion)
                .then_some(key.pending_window_days)
                .flatten(),
            // AWS shows it for symmetric encryption keys only (not asymmetric, not HMAC).
            current_key_material_id: current
                .filter(|_| key.key_spec == "SYMMETRIC_DEFAULT")
                .map(|m| m.material_id.clone()),
            expiration_model: imported.map(expiration_model),
            valid_to: imported.and_then(|m| m.valid_to_ms).map(epoch_seconds),
        }
    }
}
