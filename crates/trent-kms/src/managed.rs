//! AWS managed keys: the key KMS creates for an account and region the first time
//! `alias/aws/<service>` is used (Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
//! ReEncrypt's destination, DescribeKey), with the description, key policy and yearly rotation
//! AWS gives it. The account can read and (through the service) use it, never change it.
//!
//! A first use is prepared while the request is resolved ([`Kms::prepare_managed_key`]: the key
//! as it would be, not stored), authorized against that key's policy like any key, and stored
//! only once nothing can refuse the request any more ([`Kms::store_prepared`]), so a refused
//! request creates nothing. Until it is stored, the prepared key is kept ([`PreparedKeys`]):
//! every use prepares the same key ID, so the key ARN in an AccessDenied message of a refused
//! first use is the ARN the key gets. Concurrent first uses may still store it together; the
//! alias insert of `Backend::create_key_with_alias` lets exactly one of them write it, and the
//! others use that one.

use std::collections::HashMap;
use std::sync::Mutex;

use trent_store::{Alias, KeyManager, KeyMaterial, KeyRecord, KeyState, StoreError};

use crate::arn::{account_root_arn, key_arn, partition};
use crate::clock::DAY_MS;
use crate::error::{KmsError, KmsResult};
use crate::keyref::Resolved;
use crate::materials::{new_key_id, new_material};
use crate::service::Kms;

/// AWS rotates the material of every AWS managed key every year (it cannot be changed).
pub const ROTATION_PERIOD_DAYS: u32 = 365;

/// A service that has an AWS managed key.
#[derive(Debug)]
pub struct ManagedService {
    /// The name after `alias/aws/`.
    pub alias_suffix: &'static str,
    /// The first label of the service's `kms:ViaService` value,
    /// `<endpoint>.<region>.amazonaws.com` (EBS calls KMS through EC2).
    pub endpoint: &'static str,
    /// How the key policy's first statement names the service.
    pub display_name: &'static str,
    /// What the description says the key protects.
    pub protects: &'static str,
    /// The number in the key policy's `Id`, `auto-<alias suffix>-<n>`.
    pub policy_version: u8,
    /// Whether the alias is predefined: ListAliases shows it, without a target, before the key
    /// exists (as AWS does in every account for these fourteen).
    pub predefined: bool,
}

const fn service(
    alias_suffix: &'static str,
    endpoint: &'static str,
    display_name: &'static str,
    protects: &'static str,
    policy_version: u8,
    predefined: bool,
) -> ManagedService {
    ManagedService {
        alias_suffix,
        endpoint,
        display_name,
        protects,
        policy_version,
        predefined,
    }
}

/// The services whose `alias/aws/<service>` Trent knows, ordered by alias. Any other name after
/// `alias/aws/` is an alias that does not exist (NotFoundException).
pub const SERVICES: &[ManagedService] = &[
    service("acm", "acm", "ACM", "ACM private keys", 1, true),
    service("backup", "backup", "AWS Backup", "backups", 1, false),
    service(
        "codecommit",
        "codecommit",
        "CodeCommit",
        "CodeCommit repositories",
        1,
        false,
    ),
    service(
        "dynamodb",
        "dynamodb",
        "Amazon DynamoDB",
        "DynamoDB data",
        1,
        true,
    ),
    service("ebs", "ec2", "EBS", "EBS volumes", 2, true),
    service(
        "elasticfilesystem",
        "elasticfilesystem",
        "EFS",
        "EFS filesystems",
        1,
        true,
    ),
    service(
        "es",
        "es",
        "Amazon OpenSearch Service",
        "OpenSearch data",
        1,
        true,
    ),
    service("glue", "glue", "AWS Glue", "Glue data", 1, true),
    service(
        "kinesis",
        "kinesis",
        "Amazon Kinesis",
        "Kinesis data",
        1,
        false,
    ),
    service(
        "kinesisvideo",
        "kinesisvideo",
        "Kinesis Video Streams",
        "Kinesis Video Streams data",
        1,
        true,
    ),
    service(
        "lambda",
        "lambda",
        "AWS Lambda",
        "Lambda functions",
        1,
        true,
    ),
    service("rds", "rds", "RDS", "RDS database volumes", 2, true),
    service(
        "redshift",
        "redshift",
        "Redshift",
        "Redshift clusters",
        1,
        true,
    ),
    service("s3", "s3", "S3", "S3 objects", 2, true),
    service(
        "secretsmanager",
        "secretsmanager",
        "AWS Secrets Manager",
        "Secrets Manager data",
        1,
        true,
    ),
    service("sns", "sns", "Amazon SNS", "SNS data", 1, false),
    service("sqs", "sqs", "Amazon SQS", "SQS messages", 1, false),
    service(
        "ssm",
        "ssm",
        "AWS Systems Manager",
        "SSM parameters",
        1,
        true,
    ),
    service("xray", "xray", "AWS X-Ray", "X-Ray data", 1, true),
];

/// The prefix reserved for the aliases of AWS managed keys.
pub const ALIAS_PREFIX: &str = "alias/aws/";

/// What changing an alias with [`ALIAS_PREFIX`] answers (NotAuthorizedException), whatever
/// the policies say.
pub const RESERVED_ALIAS_MESSAGE: &str =
    "Cannot create, update or delete an alias with the reserved prefix 'alias/aws/'.";

/// The service of an AWS managed key's alias, if Trent knows it.
pub fn service_of_alias(alias_name: &str) -> Option<&'static ManagedService> {
    let suffix = alias_name.strip_prefix(ALIAS_PREFIX)?;
    SERVICES.iter().find(|s| s.alias_suffix == suffix)
}

impl ManagedService {
    pub fn alias_name(&self) -> String {
        format!("{ALIAS_PREFIX}{}", self.alias_suffix)
    }

    /// The `kms:ViaService` value of the service's requests in `region`.
    pub fn via_service(&self, region: &str) -> String {
        format!("{}.{region}.amazonaws.com", self.endpoint)
    }

    pub fn description(&self) -> String {
        format!(
            "Default key that protects my {} when no other key is defined",
            self.protects
        )
    }

    /// The key policy AWS attaches: the account's principals may use the key through the
    /// service (`kms:ViaService`, `kms:CallerAccount`), and the account may read it and revoke
    /// its grants through IAM. In AWS's serialization, like the default key policy.
    pub fn key_policy(&self, region: &str, account: &str) -> String {
        format!(
            "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"auto-{suffix}-{version}\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Allow access through {name} for all principals in the account that are authorized to use {name}\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"*\"\n    }},\n    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", \"kms:GenerateDataKey*\", \"kms:CreateGrant\", \"kms:DescribeKey\" ],\n    \"Resource\" : \"*\",\n    \"Condition\" : {{\n      \"StringEquals\" : {{\n        \"kms:CallerAccount\" : \"{account}\",\n        \"kms:ViaService\" : \"{via}\"\n      }}\n    }}\n  }}, {{\n    \"Sid\" : \"Allow direct access to key metadata to the account\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"{root}\"\n    }},\n    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\", \"kms:RevokeGrant\" ],\n    \"Resource\" : \"*\"\n  }} ]\n}}",
            suffix = self.alias_suffix,
            version = self.policy_version,
            name = self.display_name,
            via = self.via_service(region),
            root = account_root_arn(partition(region), account),
        )
    }
}

/// An AWS managed key made for a request that used its alias first, not stored yet.
#[derive(Debug, Clone)]
pub struct PreparedKey {
    key: KeyRecord,
    material: KeyMaterial,
    alias: Alias,
}

impl PreparedKey {
    pub fn key(&self) -> &KeyRecord {
        &self.key
    }

    /// The key as stored at `now_ms`: created then, first rotation a period later.
    fn dated(mut self, now_ms: i64) -> PreparedKey {
        self.key.created_ms = now_ms;
        self.key.next_rotation_ms = Some(now_ms + i64::from(ROTATION_PERIOD_DAYS) * DAY_MS);
        self.material.created_ms = now_ms;
        self.alias.created_ms = now_ms;
        self.alias.updated_ms = now_ms;
        self
    }
}

/// (region, account, alias name) of an AWS managed key not stored yet.
type PreparedId = (String, String, String);

/// The AWS managed keys prepared and not stored yet (their first uses were refused, or are in
/// flight), so that every use names the same key until one stores it.
#[derive(Default)]
pub struct PreparedKeys(Mutex<HashMap<PreparedId, PreparedKey>>);

/// With this many prepared keys (a caller naming many regions), all are forgotten: their key IDs
/// were promised only in refusals, and a later first use prepares another.
const MAX_PREPARED_KEYS: usize = 1024;

impl PreparedKeys {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<PreparedId, PreparedKey>> {
        // A panic cannot leave the map half-changed: each change is one insert or remove.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_or_insert(
        &self,
        id: PreparedId,
        make: impl FnOnce() -> KmsResult<PreparedKey>,
    ) -> KmsResult<PreparedKey> {
        let mut entries = self.entries();
        if let Some(p) = entries.get(&id) {
            return Ok(p.clone());
        }
        if entries.len() >= MAX_PREPARED_KEYS {
            entries.clear();
        }
        let p = make()?;
        entries.insert(id, p.clone());
        Ok(p)
    }

    fn forget(&self, alias: &Alias) {
        self.entries().remove(&(
            alias.region.clone(),
            alias.account.clone(),
            alias.alias_name.clone(),
        ));
    }
}

/// Refuses to change an AWS managed key (policy, state, description, tags, rotation, aliases).
/// Called after authorization: the key policy already refuses all of these (AccessDenied, as in
/// AWS), so this answers only requests that `--authz audit|off` let through.
pub fn refuse_change(key: &KeyRecord) -> KmsResult<()> {
    if key.key_manager != KeyManager::Aws {
        return Ok(());
    }
    Err(KmsError::unsupported(format!(
        "{} is an AWS managed key: AWS manages its policy, state, description, tags, aliases \
         and rotation.",
        key_arn(&key.region, &key.account, &key.key_id)
    )))
}

impl Kms {
    /// The AWS managed key `alias_name` names in the caller's account and region, made for its
    /// first use but not stored: `None` if the name is not one of [`SERVICES`].
    pub(crate) fn prepare_managed_key(
        &self,
        region: &str,
        account: &str,
        alias_name: &str,
    ) -> KmsResult<Option<PreparedKey>> {
        let Some(service) = service_of_alias(alias_name) else {
            return Ok(None);
        };
        let id = (
            region.to_string(),
            account.to_string(),
            alias_name.to_string(),
        );
        let prepared = self.prepared_keys.get_or_insert(id, || {
            let key_id = new_key_id(false)?;
            let now = self.now_ms();
            let material = new_material(
                &self.root_key,
                trent_crypto::KeySpec::SymmetricDefault,
                &key_id,
                1,
                now,
            )?;
            let key = KeyRecord {
                region: region.to_string(),
                key_id: key_id.clone(),
                account: account.to_string(),
                created_ms: now,
                description: service.description(),
                key_spec: "SYMMETRIC_DEFAULT".to_string(),
                key_usage: "ENCRYPT_DECRYPT".to_string(),
                origin: "AWS_KMS".to_string(),
                key_state: KeyState::Enabled,
                deletion_ms: None,
                pending_window_days: None,
                policy: service.key_policy(region, account),
                primary_region: None,
                current_material: 1,
                policy_principal_ids: None,
                rotation_period_days: Some(ROTATION_PERIOD_DAYS),
                next_rotation_ms: None,
                key_manager: KeyManager::Aws,
            };
            let alias = Alias {
                region: region.to_string(),
                account: account.to_string(),
                alias_name: alias_name.to_string(),
                target_key_id: key_id,
                created_ms: now,
                updated_ms: now,
            };
            Ok(PreparedKey {
                key,
                material,
                alias,
            }
            .dated(now))
        })?;
        Ok(Some(prepared))
    }

    /// Once the request is authorized: stores the AWS managed key `resolved` prepared, if it
    /// did. If a concurrent first use stored one first, that one is the account's key and the
    /// request goes on with it.
    pub(crate) fn store_prepared(&self, mut resolved: Resolved) -> KmsResult<Resolved> {
        let Some(prepared) = resolved.prepared.take() else {
            return Ok(resolved);
        };
        let PreparedKey {
            key,
            material,
            alias,
        } = prepared.dated(self.now_ms());
        let stored = self.store.create_key_with_alias(&key, &material, &alias);
        // Stored now, by this request or a concurrent one: nothing to promise any more.
        if matches!(stored, Ok(()) | Err(StoreError::AlreadyExists)) {
            self.prepared_keys.forget(&alias);
        }
        match stored {
            Ok(()) => {
                tracing::info!(region = %key.region, account = %key.account,
                    key_id = %key.key_id, alias = %alias.alias_name, "AWS managed key created");
                resolved.key = key;
            }
            Err(StoreError::AlreadyExists) => {
                let target = self
                    .store
                    .get_alias(&alias.region, &alias.account, &alias.alias_name)?
                    .map(|a| a.target_key_id);
                let existing = match target {
                    Some(id) => self.load_key(&alias.region, &id)?,
                    None => None,
                };
                let existing = existing.ok_or_else(|| {
                    KmsError::internal(format!("{} was taken, but names no key", alias.alias_name))
                })?;
                resolved.key = existing;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_ordered_unique_and_reserved() {
        let names: Vec<String> = SERVICES.iter().map(ManagedService::alias_name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(SERVICES.iter().filter(|s| s.predefined).count(), 14);
        assert!(service_of_alias("alias/aws/s3").is_some());
        assert!(service_of_alias("alias/aws/nope").is_none());
        assert!(service_of_alias("alias/s3").is_none());
    }

    #[test]
    fn every_key_policy_parses_as_a_key_policy() {
        for s in SERVICES {
            let text = s.key_policy("eu-west-1", "111122223333");
            let policy = trent_policy::Policy::parse(&text, trent_policy::PolicyKind::KeyPolicy);
            assert!(policy.is_ok(), "{}: {policy:?}", s.alias_suffix);
            let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert_eq!(
                json["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"],
                format!("{}.eu-west-1.amazonaws.com", s.endpoint)
            );
        }
    }
}
