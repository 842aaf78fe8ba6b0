//! What of a request and its response the log may show: `requestParameters` keeps an
//! allowlist of request members, `responseElements` the management metadata of the operation
//! table's row; everything else (plaintexts, ciphertexts, key material, tokens) is left out.

use serde_json::{Map, Value};
use trent_kms::Operation;

/// CloudTrail's placeholder for values it never shows.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Request members CloudTrail shows for KMS (PascalCase as on the wire). Everything else —
/// Plaintext, CiphertextBlob, Message, Signature, Mac, PublicKey, key material, import tokens,
/// recipients, unknown members — is left out.
const REQUEST_MEMBERS: &[&str] = &[
    "Action",
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomKeyStoreId",
    "CustomerMasterKeySpec",
    "Description",
    "DestinationEncryptionAlgorithm",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "DryRun",
    "DryRunModifiers",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "ExpirationModel",
    "GrantId",
    "GranteePrincipal",
    "GranteeServicePrincipal",
    "ImportType",
    "IncludeKeyMaterial",
    "KeyAgreementAlgorithm",
    "KeyId",
    "KeyMaterialDescription",
    "KeyMaterialId",
    "KeyPairSpec",
    "KeySpec",
    "KeyUsage",
    "Limit",
    "MacAlgorithm",
    "Marker",
    "MessageType",
    "MultiRegion",
    "Name",
    "NumberOfBytes",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "Principal",
    "RetiringPrincipal",
    "RetiringServicePrincipal",
    "RotationPeriodInDays",
    "SigningAlgorithm",
    "SourceEncryptionAlgorithm",
    "SourceEncryptionContext",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
    "ValidTo",
    "WrappingAlgorithm",
    "WrappingKeySpec",
];

/// Members whose presence is shown but whose value never is.
const HIDDEN_MEMBERS: &[&str] = &["GrantToken", "GrantTokens"];

fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Renames the member names of an object (not of user-keyed maps inside it) to lowerCamelCase.
fn camel_members(v: &Value, depth: usize) -> Value {
    match v {
        Value::Object(m) if depth > 0 => Value::Object(
            m.iter()
                .map(|(k, v)| (lower_camel(k), camel_members(v, depth - 1)))
                .collect(),
        ),
        Value::Array(a) if depth > 0 => {
            Value::Array(a.iter().map(|v| camel_members(v, depth)).collect())
        }
        other => other.clone(),
    }
}

/// `requestParameters`: the allowlisted members, renamed as CloudTrail names them.
pub fn request_parameters(request: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = request else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in m {
        if REQUEST_MEMBERS.contains(&k.as_str()) {
            let v = match k.as_str() {
                // Tags: [{TagKey, TagValue}] → [{tagKey, tagValue}]; Constraints: the three
                // constraint names, not the encryption-context keys inside them.
                "Tags" | "Constraints" => camel_members(v, 1),
                _ => v.clone(),
            };
            out.insert(lower_camel(k), v);
        } else if HIDDEN_MEMBERS.contains(&k.as_str()) {
            let v = match v {
                Value::Array(a) => Value::Array(a.iter().map(|_| HIDDEN.into()).collect()),
                _ => HIDDEN.into(),
            };
            out.insert(lower_camel(k), v);
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// `responseElements`: key and grant management metadata only; `null` for everything else
/// (cryptographic operations, reads), as CloudTrail.
pub fn response_elements(op: Option<Operation>, response: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = response else {
        return Value::Null;
    };
    let members = op.map_or(&[][..], |op| op.spec().audit_response);
    let out: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| members.contains(&k.as_str()))
        .map(|(k, v)| (lower_camel(k), camel_members(v, 8)))
        .collect();
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parameters_keep_only_safe_members() {
        let req = serde_json::json!({
            "KeyId": "alias/x",
            "Plaintext": "c2VjcmV0",
            "CiphertextBlob": "AAAA",
            "EncryptionContext": {"Dept": "a"},
            "GrantTokens": ["tok1", "tok2"],
            "Constraints": {"EncryptionContextEquals": {"Key": "v"}},
            "Tags": [{"TagKey": "k", "TagValue": "v"}],
            "Unknown": 1
        });
        let p = request_parameters(Some(&req));
        assert_eq!(
            p,
            serde_json::json!({
                "keyId": "alias/x",
                "encryptionContext": {"Dept": "a"},
                "grantTokens": [HIDDEN, HIDDEN],
                "constraints": {"encryptionContextEquals": {"Key": "v"}},
                "tags": [{"tagKey": "k", "tagValue": "v"}]
            })
        );
        assert_eq!(
            request_parameters(Some(&serde_json::json!({"Plaintext": "x"}))),
            Value::Null
        );
    }

    #[test]
    fn response_elements_for_management_only() {
        let r = serde_json::json!({"KeyId": "k", "Plaintext": "x", "CiphertextBlob": "y"});
        assert_eq!(
            response_elements(Some(Operation::GenerateDataKey), Some(&r)),
            Value::Null
        );
        let r = serde_json::json!({"GrantId": "g", "GrantToken": "t"});
        assert_eq!(
            response_elements(Some(Operation::CreateGrant), Some(&r)),
            serde_json::json!({"grantId": "g"})
        );
    }
}
