//! Operations as data: one table with a row per operation of the KMS API model
//! (`TrentService`, 2014-11-01), implemented or not. The `X-Amz-Target` is parsed into an
//! [`Operation`] before dispatch, and its row is what dispatch, request decoding, audit
//! (event name, `readOnly`, what is synced, what is logged), authorization (actions, resource,
//! grants, cross-account use), DryRun, key states, explain/access/simulate's action lists and
//! the `UnsupportedOperationException` answer all read.
//!
//! The table is a macro invocation rather than a `const` array because one row must produce
//! three things that Rust cannot derive from an array: the enum variant, its data, and a typed
//! handler (the request and response types differ per operation, so the row names the handler
//! function and the macro wraps it in the one decoding step). Adding an operation is one row
//! here plus one handler function in `ops/`.
//!
//! Columns: name, `kms:` actions, resource kind, flags (`grant`: a grant can allow it,
//! `cross_account`: usable on another account's key, `dry_run`: takes `DryRun`), key states,
//! effect, audit response members, and the handler (`unsupported` for operations not built yet).

mod spec;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use spec::{Effect, OperationSpec, ResourceKind};

use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keystate::KeyStates;
use crate::ops::{
    aliases, asymmetric, crypto, data_key_pair, grants, import, keys, mac, multi_region, rotation,
    tags, usage,
};
use crate::service::Kms;

/// A decoded request runs through its handler; the response is encoded back to JSON.
pub type Handler = fn(&Kms, &Call<'_>, &Value) -> KmsResult<Value>;

/// The base row that each table row's flags modify.
const ROW: OperationSpec = OperationSpec {
    name: "",
    actions: &[],
    resource: ResourceKind::None,
    grant: false,
    cross_account: false,
    dry_run: false,
    key_states: KeyStates::NoKey,
    effect: Effect::Change,
    audit_response: &[],
};

macro_rules! operations {
    ($(
        $name:ident: [$($action:literal),+], $resource:ident, [$($flag:ident),*], $states:ident,
            $effect:ident, [$($member:literal),*] => $handler:ident $(:: $function:ident)?;
    )*) => {
        /// Every operation of the KMS API model (`TrentService`, 2014-11-01).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            /// The operation's row of the table.
            pub fn spec(self) -> &'static OperationSpec {
                match self {
                    $(Operation::$name => {
                        const SPEC: OperationSpec = {
                            let mut spec = ROW;
                            spec.name = stringify!($name);
                            spec.actions = &[$($action),+];
                            spec.resource = ResourceKind::$resource;
                            spec.key_states = KeyStates::$states;
                            spec.effect = Effect::$effect;
                            spec.audit_response = &[$($member),*];
                            $(spec.$flag = true;)*
                            spec
                        };
                        &SPEC
                    })*
                }
            }

            /// The handler, or `None` for an operation Trent does not implement yet.
            pub fn handler(self) -> Option<Handler> {
                match self {
                    $(Operation::$name => handler!($handler $(:: $function)?)),*
                }
            }

            /// Decodes a JSON 1.1 request body into this operation's typed request, exactly as
            /// [`Kms::call`] does before it runs the handler, but runs nothing: no
            /// authorization, no store, no crypto. `None` for an operation without a handler
            /// (its body is never decoded into a type). For fuzzing and tests.
            pub fn decode_request(self, body: &[u8]) -> Option<KmsResult<()>> {
                match self {
                    $(Operation::$name => decoder!(body, $handler $(:: $function)?)),*
                }
            }

            /// Parses an operation name (the part of the target after `TrentService.`).
            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $(stringify!($name) => Some(Operation::$name),)* _ => None }
            }
        }
    };
}

macro_rules! handler {
    (unsupported) => {
        None
    };
    ($module:ident :: $function:ident) => {
        Some(|kms, call, request| run(request, |r| $module::$function(kms, call, r)))
    };
}

macro_rules! decoder {
    ($body:ident, unsupported) => {
        None
    };
    ($body:ident, $module:ident :: $function:ident) => {
        Some(
            crate::pipeline::decode($body)
                .and_then(|request| decode_for(&request, $module::$function)),
        )
    };
}

operations! {
    CancelKeyDeletion: ["kms:CancelKeyDeletion"], Key, [], PendingDeletion, Change, ["KeyId"]
        => keys::cancel_key_deletion;
    ConnectCustomKeyStore: ["kms:ConnectCustomKeyStore"], CustomKeyStore, [], NoKey, Change, []
        => unsupported;
    CreateAlias: ["kms:CreateAlias"], Alias, [], NotPendingDeletion, Change, []
        => aliases::create_alias;
    CreateCustomKeyStore: ["kms:CreateCustomKeyStore"], CustomKeyStore, [], NoKey, Change, []
        => unsupported;
    CreateGrant: ["kms:CreateGrant"], Key, [grant, cross_account, dry_run], Usable, Change,
        ["GrantId"] => grants::create_grant;
    CreateKey: ["kms:CreateKey"], None, [], NoKey, Change, ["KeyMetadata"] => keys::create_key;
    Decrypt: ["kms:Decrypt"], Key, [grant, cross_account, dry_run], Usable, Crypto, []
        => crypto::decrypt;
    DeleteAlias: ["kms:DeleteAlias"], Alias, [], Any, Change, [] => aliases::delete_alias;
    DeleteCustomKeyStore: ["kms:DeleteCustomKeyStore"], CustomKeyStore, [], NoKey, Change, []
        => unsupported;
    DeleteImportedKeyMaterial: ["kms:DeleteImportedKeyMaterial"], Key, [], NotPendingDeletion,
        Change, ["KeyId", "KeyMaterialId"] => import::delete_imported_key_material;
    DeriveSharedSecret: ["kms:DeriveSharedSecret"], Key, [grant, cross_account, dry_run], Usable,
        Crypto, [] => asymmetric::derive_shared_secret;
    DescribeCustomKeyStores: ["kms:DescribeCustomKeyStores"], CustomKeyStore, [], NoKey, Read, []
        => unsupported;
    DescribeKey: ["kms:DescribeKey"], Key, [grant, cross_account], Any, Read, []
        => keys::describe_key;
    DisableKey: ["kms:DisableKey"], Key, [], Toggleable, Change, [] => keys::disable_key;
    DisableKeyRotation: ["kms:DisableKeyRotation"], Key, [], Enabled, Change, []
        => rotation::disable_key_rotation;
    DisconnectCustomKeyStore: ["kms:DisconnectCustomKeyStore"], CustomKeyStore, [], NoKey, Change,
        [] => unsupported;
    EnableKey: ["kms:EnableKey"], Key, [], Toggleable, Change, [] => keys::enable_key;
    EnableKeyRotation: ["kms:EnableKeyRotation"], Key, [], Enabled, Change, []
        => rotation::enable_key_rotation;
    Encrypt: ["kms:Encrypt"], Key, [grant, cross_account, dry_run], Usable, Crypto, []
        => crypto::encrypt;
    GenerateDataKey: ["kms:GenerateDataKey"], Key, [grant, cross_account, dry_run], Usable, Crypto,
        [] => crypto::generate_data_key;
    GenerateDataKeyPair: ["kms:GenerateDataKeyPair"], Key, [grant, cross_account, dry_run], Usable,
        Crypto, [] => data_key_pair::generate_data_key_pair;
    GenerateDataKeyPairWithoutPlaintext: ["kms:GenerateDataKeyPairWithoutPlaintext"], Key,
        [grant, cross_account, dry_run], Usable, Crypto, []
        => data_key_pair::generate_data_key_pair_without_plaintext;
    GenerateDataKeyWithoutPlaintext: ["kms:GenerateDataKeyWithoutPlaintext"], Key,
        [grant, cross_account, dry_run], Usable, Crypto, []
        => crypto::generate_data_key_without_plaintext;
    GenerateMac: ["kms:GenerateMac"], Key, [grant, cross_account, dry_run], Usable, Crypto, []
        => mac::generate_mac;
    GenerateRandom: ["kms:GenerateRandom"], None, [], NoKey, Crypto, []
        => crypto::generate_random;
    GetKeyLastUsage: ["kms:GetKeyLastUsage"], Key, [], Any, Read, [] => usage::get_key_last_usage;
    GetKeyPolicy: ["kms:GetKeyPolicy"], Key, [], Any, Read, [] => keys::get_key_policy;
    GetKeyRotationStatus: ["kms:GetKeyRotationStatus"], Key, [cross_account], Any, Read, []
        => rotation::get_key_rotation_status;
    GetParametersForImport: ["kms:GetParametersForImport"], Key, [], NotPendingDeletion, Change,
        ["KeyId", "ParametersValidTo"] => import::get_parameters_for_import;
    GetPublicKey: ["kms:GetPublicKey"], Key, [grant, cross_account], Usable, Read, []
        => asymmetric::get_public_key;
    ImportKeyMaterial: ["kms:ImportKeyMaterial"], Key, [], NotPendingDeletion, Change,
        ["KeyId", "KeyMaterialId"] => import::import_key_material;
    ListAliases: ["kms:ListAliases"], None, [], NoKey, Read, [] => aliases::list_aliases;
    ListGrants: ["kms:ListGrants"], Key, [cross_account], Any, Read, [] => grants::list_grants;
    ListKeyPolicies: ["kms:ListKeyPolicies"], Key, [], Any, Read, [] => keys::list_key_policies;
    ListKeyRotations: ["kms:ListKeyRotations"], Key, [], Any, Read, []
        => rotation::list_key_rotations;
    ListKeys: ["kms:ListKeys"], None, [], NoKey, Read, [] => keys::list_keys;
    ListResourceTags: ["kms:ListResourceTags"], Key, [], Any, Read, [] => tags::list_resource_tags;
    ListRetirableGrants: ["kms:ListRetirableGrants"], None, [], NoKey, Read, []
        => grants::list_retirable_grants;
    PutKeyPolicy: ["kms:PutKeyPolicy"], Key, [], Any, Change, [] => keys::put_key_policy;
    ReEncrypt: ["kms:ReEncryptFrom", "kms:ReEncryptTo"], Key, [grant, cross_account, dry_run],
        Usable, Crypto, [] => crypto::re_encrypt;
    ReplicateKey: ["kms:ReplicateKey"], Key, [], NotPendingDeletion, Change, ["ReplicaKeyMetadata"]
        => multi_region::replicate_key;
    RetireGrant: ["kms:RetireGrant"], Key, [grant, cross_account, dry_run], Any, Change, []
        => grants::retire_grant;
    RevokeGrant: ["kms:RevokeGrant"], Key, [cross_account, dry_run], Any, Change, []
        => grants::revoke_grant;
    RotateKeyOnDemand: ["kms:RotateKeyOnDemand"], Key, [], Enabled, Change, []
        => rotation::rotate_key_on_demand;
    ScheduleKeyDeletion: ["kms:ScheduleKeyDeletion"], Key, [], NotPendingDeletion, Change,
        ["KeyId", "DeletionDate", "KeyState", "PendingWindowInDays"] => keys::schedule_key_deletion;
    Sign: ["kms:Sign"], Key, [grant, cross_account, dry_run], Usable, Crypto, [] => asymmetric::sign;
    TagResource: ["kms:TagResource"], Key, [], NotPendingDeletion, Change, []
        => tags::tag_resource;
    UntagResource: ["kms:UntagResource"], Key, [], NotPendingDeletion, Change, []
        => tags::untag_resource;
    UpdateAlias: ["kms:UpdateAlias"], Alias, [], NotPendingDeletion, Change, []
        => aliases::update_alias;
    UpdateCustomKeyStore: ["kms:UpdateCustomKeyStore"], CustomKeyStore, [], NoKey, Change, []
        => unsupported;
    UpdateKeyDescription: ["kms:UpdateKeyDescription"], Key, [], NotPendingDeletion, Change, []
        => keys::update_key_description;
    UpdatePrimaryRegion: ["kms:UpdatePrimaryRegion"], Key, [], NotPendingDeletion, Change, []
        => multi_region::update_primary_region;
    Verify: ["kms:Verify"], Key, [grant, cross_account, dry_run], Usable, Crypto, []
        => asymmetric::verify;
    VerifyMac: ["kms:VerifyMac"], Key, [grant, cross_account, dry_run], Usable, Crypto, []
        => mac::verify_mac;
}

/// Actions that no operation of the API performs but that IAM policies can name and KMS checks
/// (`SynchronizeMultiRegionKey` is KMS's own, for replicas of multi-Region keys).
pub const ACTIONS_WITHOUT_OPERATION: &[&str] = &["kms:SynchronizeMultiRegionKey"];

/// The JSON 1.1 target prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

impl Operation {
    /// The operation's API name, e.g. `"Encrypt"`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Parses a full `X-Amz-Target` header value such as `TrentService.Encrypt`.
    pub fn from_target(target: &str) -> Option<Operation> {
        target
            .strip_prefix(TARGET_PREFIX)
            .and_then(Operation::from_name)
    }

    /// Operations that only read state (CloudTrail's `readOnly`).
    pub fn is_read_only(self) -> bool {
        self.spec().is_read_only()
    }

    /// The operation performing `action`, if any.
    pub fn of_action(action: &str) -> Option<Operation> {
        Operation::ALL
            .iter()
            .copied()
            .find(|op| op.spec().actions.contains(&action))
    }
}

/// Every `kms:` action, each once, in the order of the table: the actions of every operation
/// (ReEncrypt's two), then the actions no operation performs.
pub fn all_actions() -> impl Iterator<Item = &'static str> {
    Operation::ALL
        .iter()
        .flat_map(|op| op.spec().actions.iter().copied())
        .chain(ACTIONS_WITHOUT_OPERATION.iter().copied())
}

/// Every action checked against a KMS key (spec §2.2): what `trent access` asks about.
pub fn key_actions() -> impl Iterator<Item = &'static str> {
    actions_where(|s| matches!(s.resource, ResourceKind::Key | ResourceKind::Alias))
}

/// Actions decided by the caller's IAM policies alone (no key resource).
pub fn account_actions() -> impl Iterator<Item = &'static str> {
    actions_where(|s| {
        matches!(
            s.resource,
            ResourceKind::None | ResourceKind::CustomKeyStore
        )
    })
}

fn actions_where(keep: fn(&OperationSpec) -> bool) -> impl Iterator<Item = &'static str> {
    Operation::ALL
        .iter()
        .map(|op| op.spec())
        .filter(move |s| keep(s))
        .flat_map(|s| s.actions.iter().copied())
}

/// The operations a grant can allow: the wire model's `GrantOperation` enum, in the model's
/// order (AWS lists the values in that order in validation messages). The table's `grant`
/// column says the same of each operation; a test keeps the two in agreement.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Whether `action` works on a key of another account (spec §2.2, column XA).
pub fn is_cross_account_action(action: &str) -> bool {
    Operation::of_action(action).is_some_and(|op| op.spec().cross_account)
}

/// The grant operation `action` corresponds to, if grants can allow it (spec §5.1).
pub fn grant_operation(action: &str) -> Option<&'static str> {
    let op = Operation::of_action(action)?;
    if !op.spec().grant {
        return None;
    }
    op.spec()
        .actions
        .iter()
        .find(|a| **a == action)
        .and_then(|a| a.strip_prefix("kms:"))
}

/// Decodes the request (already parsed once into JSON by the pipeline) into the handler's type,
/// runs the handler, encodes the response.
fn run<Req: DeserializeOwned, Resp: Serialize>(
    request: &Value,
    f: impl FnOnce(Req) -> KmsResult<Resp>,
) -> KmsResult<Value> {
    let response = f(decode(request)?)?;
    serde_json::to_value(response).map_err(KmsError::internal)
}

/// The one decoding step of every handler's request type.
fn decode<Req: DeserializeOwned>(request: &Value) -> KmsResult<Req> {
    Req::deserialize(request)
        .map_err(|e| KmsError::new(ErrorCode::Serialization, serialization_message(&e)))
}

/// Decodes `request` into the request type of `handler` (its signature names the type) without
/// calling the handler: [`Operation::decode_request`].
fn decode_for<Req: DeserializeOwned, Resp>(
    request: &Value,
    _handler: fn(&Kms, &Call<'_>, Req) -> KmsResult<Resp>,
) -> KmsResult<()> {
    decode::<Req>(request).map(drop)
}

/// serde's messages carry line/column noise; keep the part a client can act on.
pub(crate) fn serialization_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            let target = format!("{TARGET_PREFIX}{}", op.name());
            assert_eq!(Operation::from_target(&target), Some(*op));
        }
        assert_eq!(Operation::ALL.len(), 54);
        assert_eq!(Operation::from_target("TrentService.encrypt"), None);
        assert_eq!(Operation::from_target("Encrypt"), None);
    }

    #[test]
    fn every_action_belongs_to_one_operation() {
        let actions: Vec<&str> = all_actions().collect();
        for a in &actions {
            assert!(a.starts_with("kms:"), "{a}");
            assert_eq!(actions.iter().filter(|b| *b == a).count(), 1, "{a}");
        }
        assert_eq!(
            Operation::of_action("kms:ReEncryptTo"),
            Some(Operation::ReEncrypt)
        );
        assert_eq!(grant_operation("kms:ReEncryptFrom"), Some("ReEncryptFrom"));
        assert_eq!(grant_operation("kms:RevokeGrant"), None);
        assert!(is_cross_account_action("kms:RevokeGrant"));
        assert!(!is_cross_account_action("kms:PutKeyPolicy"));
        assert!(!is_cross_account_action("kms:SynchronizeMultiRegionKey"));
    }

    #[test]
    fn grant_operations_are_the_grant_column() {
        let mut column: Vec<&str> = actions_where(|s| s.grant)
            .filter_map(|a| a.strip_prefix("kms:"))
            .collect();
        let mut listed = GRANT_OPERATIONS.to_vec();
        column.sort_unstable();
        listed.sort_unstable();
        assert_eq!(column, listed);
    }

    #[test]
    fn grants_and_dry_run_go_with_authorization_by_key() {
        for op in Operation::ALL {
            let s = op.spec();
            if s.grant {
                assert_eq!(s.resource, ResourceKind::Key, "{}", s.name);
            }
            if s.key_states == KeyStates::NoKey {
                assert!(
                    matches!(
                        s.resource,
                        ResourceKind::None | ResourceKind::CustomKeyStore
                    ),
                    "{}",
                    s.name
                );
            }
        }
    }
}

/// The table against the botocore KMS model (`data/kms/2014-11-01/service-2.json`), read through
/// the installed botocore (`scripts/test` installs it into `.venv`): every operation present
/// exactly once, DryRun and grant columns as the model says, and every member of every
/// implemented operation's input accepted by its decoder.
#[cfg(test)]
mod model_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn model() -> Value {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, botocore.loaders as l; \
                 print(json.dumps(l.Loader().load_service_model('kms', 'service-2')))",
            ])
            .output()
            .expect("python3 must be installed (scripts/test puts the .venv first on PATH)");
        assert!(
            out.status.success(),
            "botocore is needed for this test (pip install botocore): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A value of the model's shape: the first enum value for enums, base64 for blobs.
    fn example(shapes: &Value, name: &str, depth: usize) -> Value {
        let shape = &shapes[name];
        match shape["type"].as_str().unwrap() {
            "string" => match shape["enum"].as_array() {
                Some(values) => values[0].clone(),
                None => json!("x"),
            },
            "blob" => json!("eA=="),
            "integer" | "long" => json!(1),
            "boolean" => json!(true),
            "timestamp" => json!(1_700_000_000),
            "list" if depth > 0 => {
                json!([example(
                    shapes,
                    shape["member"]["shape"].as_str().unwrap(),
                    depth - 1
                )])
            }
            "map" if depth > 0 => json!({
                "k": example(shapes, shape["value"]["shape"].as_str().unwrap(), depth - 1)
            }),
            "structure" if depth > 0 => Value::Object(
                shape["members"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(m, s)| {
                        let member = example(shapes, s["shape"].as_str().unwrap(), depth - 1);
                        (m.clone(), member)
                    })
                    .collect(),
            ),
            "list" => json!([]),
            _ => json!({}),
        }
    }

    #[test]
    fn the_table_is_the_model() {
        let model = model();
        let operations = model["operations"].as_object().unwrap();
        let shapes = &model["shapes"];
        let mut names: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
        names.sort_unstable();
        let mut modelled: Vec<&str> = operations.keys().map(String::as_str).collect();
        modelled.sort_unstable();
        assert_eq!(names, modelled, "one row per operation of the model");

        let grant_enum: Vec<&str> = shapes["GrantOperation"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(GRANT_OPERATIONS, grant_enum.as_slice());

        for op in Operation::ALL {
            let spec = op.spec();
            let input = operations[spec.name]["input"]["shape"].as_str().unwrap();
            let members = shapes[input]["members"].as_object().unwrap();
            assert_eq!(
                spec.dry_run,
                members.contains_key("DryRun"),
                "DryRun column of {}",
                spec.name
            );
            assert_eq!(
                spec.grant,
                spec.actions
                    .iter()
                    .any(|a| grant_enum.contains(&a.trim_start_matches("kms:"))),
                "grant column of {}",
                spec.name
            );
        }
    }

    /// Every member the model defines decodes (types as the model says); an unknown member is
    /// ignored, as AWS's JSON protocol does. Each implemented operation runs through the real
    /// pipeline with a request holding every member of its input shape: it may fail on
    /// validation, lookup or authorization, never on decoding.
    #[test]
    fn decoders_accept_every_model_member() {
        let model = model();
        let shapes = &model["shapes"];
        let dir = tempfile::tempdir().unwrap();
        let kms = Kms::new(
            trent_store::Store::open(&dir.path().join("trent.db")).unwrap(),
            trent_crypto::RootKey::generate().unwrap(),
            std::sync::Arc::new(crate::SystemClock),
            std::sync::Arc::new(crate::Directory::new()),
            crate::AuthzMode::Enforce,
        );
        let caller = crate::Caller {
            principal: crate::Principal::root("111122223333"),
            region: "us-east-1".into(),
            access_key_id: "AKIATEST".into(),
            source_ip: None,
            secure_transport: false,
            user_agent: None,
            via_service: None,
            request_id: String::new(),
        };
        let mut checked = 0;
        for op in Operation::ALL {
            if op.handler().is_none() {
                continue;
            }
            let input = model["operations"][op.name()]["input"]["shape"]
                .as_str()
                .unwrap();
            let mut request = example(shapes, input, 3);
            request["SomeMemberAwsMayAddLater"] = json!("ignored");
            let outcome = kms.call(&caller, *op, &serde_json::to_vec(&request).unwrap());
            if let Err(e) = &outcome.result {
                assert_ne!(
                    e.code,
                    ErrorCode::Serialization,
                    "{}: {request} does not decode: {e:?}",
                    op.name()
                );
            }
            assert_eq!(outcome.request.as_ref(), Some(&request));
            checked += 1;
        }
        assert!(checked >= 37, "{checked}");
    }

    /// The README's operations table lists every operation once, and says "not yet" of exactly
    /// the operations without a handler.
    #[test]
    fn the_readme_table_is_the_table() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        )
        .unwrap();
        let section = readme.split("\n## Operations\n").nth(1).unwrap();
        let section = section.split("\n## ").next().unwrap();
        let mut listed: Vec<(String, bool)> = Vec::new();
        for row in section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| operation"))
        {
            let cells: Vec<&str> = row.split(" | ").collect();
            let not_yet = cells[1].starts_with("not yet");
            for name in cells[0].trim_start_matches("| ").split(", ") {
                let name = name.split(' ').next().unwrap();
                listed.push((name.to_string(), not_yet));
            }
        }
        for op in Operation::ALL {
            let rows: Vec<&(String, bool)> =
                listed.iter().filter(|(n, _)| n == op.name()).collect();
            assert_eq!(rows.len(), 1, "{} in the README's table", op.name());
            assert_eq!(
                rows[0].1,
                op.handler().is_none(),
                "README status of {}",
                op.name()
            );
        }
        assert_eq!(listed.len(), Operation::ALL.len());
    }
}
