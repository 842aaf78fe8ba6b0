//! The service object and operation dispatch.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use trent_crypto::RootKey;
use trent_store::Store;

use crate::authz::{AuthzMode, PolicyCache};
use crate::clock::Clock;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::identity::Directory;
use crate::materials::MaterialCache;
use crate::operation::Operation;
use crate::ops;

pub struct Kms {
    pub(crate) store: Store,
    pub(crate) root_key: RootKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) materials: MaterialCache,
    pub(crate) directory: crate::iam::DirectoryCell,
    pub(crate) policies: PolicyCache,
    pub(crate) authz_mode: AuthzMode,
}

/// Decodes the request body (an empty body is `{}`), runs the handler, encodes the response.
fn handle<Req: DeserializeOwned, Resp: Serialize>(
    body: &[u8],
    f: impl FnOnce(Req) -> KmsResult<Resp>,
) -> KmsResult<Value> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let request: Req = serde_json::from_slice(body)
        .map_err(|e| KmsError::new(ErrorCode::Serialization, serialization_message(&e)))?;
    let response = f(request)?;
    serde_json::to_value(response).map_err(KmsError::internal)
}

/// serde's messages carry line/column noise; keep the part a client can act on.
fn serialization_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl Kms {
    pub fn new(
        store: Store,
        root_key: RootKey,
        clock: Arc<dyn Clock>,
        directory: Arc<Directory>,
        authz_mode: AuthzMode,
    ) -> Kms {
        Kms {
            store,
            root_key,
            clock,
            materials: MaterialCache::default(),
            directory: crate::iam::DirectoryCell::new(directory),
            policies: PolicyCache::default(),
            authz_mode,
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Runs one operation for an authenticated caller.
    pub fn call(&self, caller: &Caller, op: Operation, body: &[u8]) -> KmsResult<Value> {
        use Operation::*;
        match op {
            CreateKey => handle(body, |r| ops::keys::create_key(self, caller, r)),
            DescribeKey => handle(body, |r| ops::keys::describe_key(self, caller, r)),
            ListKeys => handle(body, |r| ops::keys::list_keys(self, caller, r)),
            EnableKey => handle(body, |r| ops::keys::enable_key(self, caller, r)),
            DisableKey => handle(body, |r| ops::keys::disable_key(self, caller, r)),
            ScheduleKeyDeletion => {
                handle(body, |r| ops::keys::schedule_key_deletion(self, caller, r))
            }
            CancelKeyDeletion => handle(body, |r| ops::keys::cancel_key_deletion(self, caller, r)),
            UpdateKeyDescription => {
                handle(body, |r| ops::keys::update_key_description(self, caller, r))
            }
            GetKeyPolicy => handle(body, |r| ops::keys::get_key_policy(self, caller, r)),
            PutKeyPolicy => handle(body, |r| ops::keys::put_key_policy(self, caller, r)),
            ListKeyPolicies => handle(body, |r| ops::keys::list_key_policies(self, caller, r)),
            CreateAlias => handle(body, |r| ops::aliases::create_alias(self, caller, r)),
            UpdateAlias => handle(body, |r| ops::aliases::update_alias(self, caller, r)),
            DeleteAlias => handle(body, |r| ops::aliases::delete_alias(self, caller, r)),
            ListAliases => handle(body, |r| ops::aliases::list_aliases(self, caller, r)),
            TagResource => handle(body, |r| ops::tags::tag_resource(self, caller, r)),
            UntagResource => handle(body, |r| ops::tags::untag_resource(self, caller, r)),
            ListResourceTags => handle(body, |r| ops::tags::list_resource_tags(self, caller, r)),
            CreateGrant => handle(body, |r| ops::grants::create_grant(self, caller, r)),
            ListGrants => handle(body, |r| ops::grants::list_grants(self, caller, r)),
            ListRetirableGrants => handle(body, |r| {
                ops::grants::list_retirable_grants(self, caller, r)
            }),
            RetireGrant => handle(body, |r| ops::grants::retire_grant(self, caller, r)),
            RevokeGrant => handle(body, |r| ops::grants::revoke_grant(self, caller, r)),
            Encrypt => handle(body, |r| ops::crypto::encrypt(self, caller, r)),
            Decrypt => handle(body, |r| ops::crypto::decrypt(self, caller, r)),
            ReEncrypt => handle(body, |r| ops::crypto::re_encrypt(self, caller, r)),
            GenerateDataKey => handle(body, |r| ops::crypto::generate_data_key(self, caller, r)),
            GenerateDataKeyWithoutPlaintext => handle(body, |r| {
                ops::crypto::generate_data_key_without_plaintext(self, caller, r)
            }),
            GenerateRandom => handle(body, |r| ops::crypto::generate_random(self, caller, r)),
            GetPublicKey => handle(body, |r| ops::asymmetric::get_public_key(self, caller, r)),
            Sign => handle(body, |r| ops::asymmetric::sign(self, caller, r)),
            Verify => handle(body, |r| ops::asymmetric::verify(self, caller, r)),
            DeriveSharedSecret => handle(body, |r| {
                ops::asymmetric::derive_shared_secret(self, caller, r)
            }),
            GenerateMac => handle(body, |r| ops::mac::generate_mac(self, caller, r)),
            VerifyMac => handle(body, |r| ops::mac::verify_mac(self, caller, r)),
            GenerateDataKeyPair => handle(body, |r| {
                ops::data_key_pair::generate_data_key_pair(self, caller, r)
            }),
            GenerateDataKeyPairWithoutPlaintext => handle(body, |r| {
                ops::data_key_pair::generate_data_key_pair_without_plaintext(self, caller, r)
            }),
            other => Err(KmsError::unsupported(format!(
                "{} is not supported by this version of Trent.",
                other.name()
            ))),
        }
    }

    /// Deletes every key whose deletion window has passed. Returns how many were deleted.
    pub fn purge_due_keys(&self) -> KmsResult<usize> {
        let due = self.store.keys_due_for_deletion(self.now_ms())?;
        for (region, key_id) in &due {
            self.store.delete_key(region, key_id)?;
            self.materials.evict_key(region, key_id);
            tracing::info!(%region, %key_id, "key deleted at the end of its waiting period");
        }
        Ok(due.len())
    }
}
