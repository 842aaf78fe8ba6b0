//! GenerateMac and VerifyMac with HMAC keys.

use serde::{Deserialize, Serialize};
use trent_crypto::MacAlgorithm;
use trent_store::KeyRecord;

use crate::authz::Check;
use crate::authz::context::request_alias;
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::{Accept, Resolved};
use crate::keyspec::MAC_ALGORITHMS;
use crate::keystate;
use crate::keystate::KeyStates;
use crate::materials::key_spec;
use crate::ops::asymmetric::{
    MAX_MESSAGE, MAX_SIGNATURE, incompatible, parse_name, validate_key_id,
};
use crate::ops::validate_grant_tokens;
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::Blob;

fn validate_mac_request(
    v: &mut Validator,
    key_id: &Option<String>,
    message: &Option<Blob>,
    algorithm: &Option<String>,
    grant_tokens: Option<&[String]>,
) {
    v.required("message", message).blob_length(
        "message",
        message.as_ref().map(|b| b.0.as_slice()),
        1,
        MAX_MESSAGE,
    );
    validate_key_id(v, key_id);
    v.required("macAlgorithm", algorithm).one_of(
        "macAlgorithm",
        algorithm.as_deref(),
        MAC_ALGORITHMS,
    );
    validate_grant_tokens(v, grant_tokens);
}

/// Resolution, authorization (then DryRun), state, usage and algorithm checks.
fn prepare(
    kms: &Kms,
    caller: &Call<'_>,
    action: &'static str,
    operation: &str,
    key_id: Option<&str>,
    algorithm: &str,
    dry_run: Option<bool>,
) -> KmsResult<(Resolved, MacAlgorithm)> {
    let resolved = kms.resolve(caller, key_id.unwrap_or_default(), Accept::KeyOrAlias)?;
    kms.authorize_dry_run(
        caller,
        &[Check::key(action, &resolved.key)
            .with("kms:MacAlgorithm", algorithm)
            .with_all(request_alias(resolved.via_alias.as_deref()))],
        dry_run,
    )?;
    let algorithm = check_mac_use(caller.key_states(), &resolved.key, operation, algorithm)?;
    Ok((resolved, algorithm))
}

fn check_mac_use(
    states: KeyStates,
    key: &KeyRecord,
    operation: &str,
    algorithm: &str,
) -> KmsResult<MacAlgorithm> {
    keystate::require(states, key)?;
    keystate::require_usage(key, "GENERATE_VERIFY_MAC", operation)?;
    let spec = key_spec(key)?;
    let algorithm: MacAlgorithm = parse_name(algorithm)?;
    if !spec.mac_algorithms().contains(&algorithm) {
        return Err(incompatible(algorithm.as_str(), spec));
    }
    Ok(algorithm)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacRequest {
    message: Option<Blob>,
    key_id: Option<String>,
    mac_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacResponse {
    mac: Blob,
    mac_algorithm: &'static str,
    key_id: String,
}

pub fn generate_mac(
    kms: &Kms,
    caller: &Call<'_>,
    r: GenerateMacRequest,
) -> KmsResult<GenerateMacResponse> {
    let mut v = Validator::new();
    validate_mac_request(
        &mut v,
        &r.key_id,
        &r.message,
        &r.mac_algorithm,
        r.grant_tokens.as_deref(),
    );
    v.finish()?;
    let (resolved, algorithm) = prepare(
        kms,
        caller,
        "kms:GenerateMac",
        "GenerateMac",
        r.key_id.as_deref(),
        r.mac_algorithm.as_deref().unwrap_or_default(),
        r.dry_run,
    )?;
    let material = kms.current_material(&resolved.key)?;
    let mac =
        trent_crypto::generate_mac(&material.key, algorithm, &r.message.unwrap_or_default().0)?;
    Ok(GenerateMacResponse {
        mac: Blob(mac),
        mac_algorithm: algorithm.as_str(),
        key_id: resolved.arn(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacRequest {
    message: Option<Blob>,
    key_id: Option<String>,
    mac_algorithm: Option<String>,
    mac: Option<Blob>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacResponse {
    key_id: String,
    mac_valid: bool,
    mac_algorithm: &'static str,
}

pub fn verify_mac(
    kms: &Kms,
    caller: &Call<'_>,
    r: VerifyMacRequest,
) -> KmsResult<VerifyMacResponse> {
    let mut v = Validator::new();
    validate_mac_request(
        &mut v,
        &r.key_id,
        &r.message,
        &r.mac_algorithm,
        r.grant_tokens.as_deref(),
    );
    v.required("mac", &r.mac).blob_length(
        "mac",
        r.mac.as_ref().map(|b| b.0.as_slice()),
        1,
        MAX_SIGNATURE,
    );
    v.finish()?;
    let (resolved, algorithm) = prepare(
        kms,
        caller,
        "kms:VerifyMac",
        "VerifyMac",
        r.key_id.as_deref(),
        r.mac_algorithm.as_deref().unwrap_or_default(),
        r.dry_run,
    )?;
    let material = kms.current_material(&resolved.key)?;
    let valid = trent_crypto::verify_mac(
        &material.key,
        algorithm,
        &r.message.unwrap_or_default().0,
        &r.mac.unwrap_or_default().0,
    )?;
    if !valid {
        // AWS sends this error without a message member.
        return Err(KmsError::bare(ErrorCode::KmsInvalidMac));
    }
    Ok(VerifyMacResponse {
        key_id: resolved.arn(),
        mac_valid: true,
        mac_algorithm: algorithm.as_str(),
    })
}
