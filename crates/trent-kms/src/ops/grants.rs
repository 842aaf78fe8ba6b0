//! CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant (spec §5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::{Deserialize, Serialize};
use trent_policy::ContextValue;
use trent_store::{GrantEnd, GrantEnding, GrantRecord, KeyRecord, StoreError};

use crate::arn::{account_root_arn, key_arn, partition};
use crate::authz::grants::{grantee_match, parse_constraints};
use crate::authz::{Check, ChildGrant, GrantConstraints, Outcome};
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::keyref::Accept;
use crate::keystate;
use crate::materials::hex_id;
use crate::operation::GRANT_OPERATIONS;
use crate::ops::{Page, validate_grant_tokens};
use crate::service::Kms;
use crate::validate::Validator;
use crate::wire::epoch_seconds;

/// Grants per customer managed key (KMS quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;

fn principal_pattern(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c))
}

fn service_principal_pattern(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 3
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn name_pattern(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'))
}

fn source_arn_pattern(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && !parts[2].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
}

/// Which grant operations a key of this spec and usage supports (spec §5.2 table).
fn valid_operations(key: &KeyRecord) -> &'static [&'static str] {
    match (key.key_spec.as_str(), key.key_usage.as_str()) {
        ("SYMMETRIC_DEFAULT", _) => &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        (_, "ENCRYPT_DECRYPT") => &[
            "Encrypt",
            "Decrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        (_, "SIGN_VERIFY") => &[
            "Sign",
            "Verify",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        (_, "GENERATE_VERIFY_MAC") => &[
            "GenerateMac",
            "VerifyMac",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        (_, "KEY_AGREEMENT") => &[
            "DeriveSharedSecret",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        _ => &["CreateGrant", "RetireGrant", "DescribeKey"],
    }
}

/// A principal a grant may name: it must have a valid shape, and in accounts Trent holds, exist.
fn check_grant_principal(kms: &Kms, member: &str, principal: &str) -> KmsResult<()> {
    let invalid = || {
        KmsError::new(
            ErrorCode::InvalidArn,
            format!("{member} {principal} is not a valid principal."),
        )
    };
    // Account IDs, and service principals such as `lambda.ap-northeast-1.amazonaws.com` (AWS
    // services name themselves as retiring principal of the grants they create).
    if (principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()))
        || (!principal.starts_with("arn:") && service_principal_pattern(principal))
    {
        return Ok(());
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(invalid());
    }
    let (service, account, resource) = (parts[2], parts[4], parts[5]);
    let known = kms.directory().has_account(account);
    let ok = match service {
        "iam" if resource == "root" => true,
        "iam" if resource.starts_with("user/") || resource.starts_with("role/") => {
            !known || kms.directory().has_principal(principal)
        }
        "sts" if resource.starts_with("assumed-role/") => {
            let mut it = resource.splitn(3, '/').skip(1);
            match (it.next(), it.next()) {
                (Some(role), Some(session)) if !role.is_empty() && !session.is_empty() => {
                    !known || kms.directory().has_role_named(account, role)
                }
                _ => false,
            }
        }
        "sts" => resource.starts_with("federated-user/"),
        _ => false,
    };
    if ok { Ok(()) } else { Err(invalid()) }
}

pub(crate) fn new_grant_token() -> KmsResult<String> {
    Ok(STANDARD_NO_PAD.encode(trent_crypto::random_bytes(48)?))
}

// ---- CreateGrant ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantRequest {
    pub(crate) key_id: Option<String>,
    pub(crate) grantee_principal: Option<String>,
    pub(crate) grantee_service_principal: Option<String>,
    pub(crate) retiring_principal: Option<String>,
    pub(crate) retiring_service_principal: Option<String>,
    pub(crate) operations: Option<Vec<String>>,
    pub(crate) constraints: Option<GrantConstraints>,
    pub(crate) grant_tokens: Option<Vec<String>>,
    pub(crate) name: Option<String>,
    pub(crate) dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantResponse {
    grant_token: String,
    grant_id: String,
}

/// What CreateGrant checks before it resolves the key (the seed file checks its grants the same
/// way): the members and how they go together. Normalize `constraints` first with
/// [`GrantConstraints::without_empty_alternative`].
pub(crate) fn validate_create_grant(r: &CreateGrantRequest) -> KmsResult<()> {
    let mut v = Validator::new();
    v.key_id("keyId", &r.key_id, true)
        .required("operations", &r.operations);
    for (member, value) in [
        ("granteePrincipal", &r.grantee_principal),
        ("retiringPrincipal", &r.retiring_principal),
    ] {
        v.length(member, value.as_deref(), 1, 256).pattern(
            member,
            value.as_deref(),
            "^[\\w+=,.@:/-]+$",
            principal_pattern,
        );
    }
    for (member, value) in [
        ("granteeServicePrincipal", &r.grantee_service_principal),
        ("retiringServicePrincipal", &r.retiring_service_principal),
    ] {
        v.length(member, value.as_deref(), 1, 128).pattern(
            member,
            value.as_deref(),
            "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$",
            service_principal_pattern,
        );
    }
    v.length("name", r.name.as_deref(), 1, 256).pattern(
        "name",
        r.name.as_deref(),
        "^[a-zA-Z0-9:/_-]+$",
        name_pattern,
    );
    for (i, op) in r
        .operations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        v.one_of(
            &format!("operations.{}.member", i + 1),
            Some(op),
            GRANT_OPERATIONS,
        );
    }
    let source_arn = r.constraints.as_ref().and_then(|c| c.source_arn.as_deref());
    v.length("constraints.sourceArn", source_arn, 20, 512)
        .pattern(
            "constraints.sourceArn",
            source_arn,
            "^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$",
            source_arn_pattern,
        );
    validate_grant_tokens(&mut v, r.grant_tokens.as_deref());
    v.finish()?;

    match (&r.grantee_principal, &r.grantee_service_principal) {
        (None, None) => {
            return Err(KmsError::validation(
                "You must specify either GranteePrincipal or GranteeServicePrincipal.",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(KmsError::validation(
                "You cannot specify both GranteePrincipal and GranteeServicePrincipal.",
            ));
        }
        _ => {}
    }
    if r.retiring_principal.is_some() && r.retiring_service_principal.is_some() {
        return Err(KmsError::validation(
            "You cannot specify both RetiringPrincipal and RetiringServicePrincipal.",
        ));
    }
    let operations = r.operations.as_deref().unwrap_or_default();
    if operations.is_empty() {
        return Err(KmsError::validation(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if operations.iter().all(|o| o == "CreateGrant") {
        return Err(KmsError::validation(
            "Grants must not contain only the CreateGrant operation.",
        ));
    }
    if let Some(c) = &r.constraints
        && c.encryption_context_equals.is_some()
        && c.encryption_context_subset.is_some()
    {
        return Err(KmsError::validation("More than one constraint supplied"));
    }
    if r.grantee_service_principal.is_some()
        && (r
            .constraints
            .as_ref()
            .and_then(|c| c.source_arn.as_ref())
            .is_none()
            || (r.retiring_principal.is_none() && r.retiring_service_principal.is_none()))
    {
        return Err(KmsError::validation(
            "A grant for a GranteeServicePrincipal requires a SourceArn constraint and a retiring principal.",
        ));
    }
    Ok(())
}

/// Condition keys of CreateGrant (spec §4.1), from the request.
fn create_grant_context(
    r: &CreateGrantRequest,
    operations: &[String],
    via_service: bool,
) -> Vec<(String, ContextValue)> {
    let mut c: Vec<(String, ContextValue)> = vec![
        ("kms:GrantOperations".into(), operations.to_vec().into()),
        // True only when an AWS service makes the call for one of its resources.
        ("kms:GrantIsForAWSResource".into(), via_service.into()),
    ];
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            c.push((k.to_string(), v.as_str().into()));
        }
    };
    add("kms:GranteePrincipal", &r.grantee_principal);
    add("kms:RetiringPrincipal", &r.retiring_principal);
    add("kms:GranteeServicePrincipal", &r.grantee_service_principal);
    add(
        "kms:RetiringServicePrincipal",
        &r.retiring_service_principal,
    );
    if let Some(constraints) = &r.constraints {
        if let Some(arn) = &constraints.source_arn {
            c.push(("kms:GrantConstraintSourceArn".into(), arn.as_str().into()));
        }
        let kind = if constraints.encryption_context_equals.is_some() {
            Some("EncryptionContextEquals")
        } else if constraints.encryption_context_subset.is_some() {
            Some("EncryptionContextSubset")
        } else {
            None
        };
        if let Some(kind) = kind {
            c.push(("kms:GrantConstraintType".into(), kind.into()));
        }
        if let Some(ec) = constraints.encryption_context() {
            c.extend(crate::authz::context::encryption_context(ec));
        }
    }
    c
}

pub fn create_grant(
    kms: &Kms,
    caller: &Call<'_>,
    mut r: CreateGrantRequest,
) -> KmsResult<CreateGrantResponse> {
    r.constraints = r
        .constraints
        .map(GrantConstraints::without_empty_alternative);
    validate_create_grant(&r)?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    let key = &resolved.key;
    let operations = r.operations.clone().unwrap_or_default();
    let constraints = r.constraints.clone().unwrap_or_default();
    let child_context = constraints
        .encryption_context()
        .cloned()
        .unwrap_or_default();
    kms.authorize_dry_run(
        caller,
        &[Check::key("kms:CreateGrant", key)
            .with_all(create_grant_context(
                &r,
                &operations,
                caller.via_service.is_some(),
            ))
            .with_grant_context(&child_context)
            .with_child_grant(ChildGrant {
                operations: operations.clone(),
                constraints: constraints.clone(),
            })],
        r.dry_run,
    )?;
    keystate::require(caller.key_states(), key)?;
    check_grant_for_key(kms, key, &r)?;
    let mut record = grant_record(
        kms,
        key,
        &r,
        account_root_arn(partition(&caller.region), caller.account()),
    )?;
    record.created_by = Some(caller.made_by());
    record.created_request_id = (!caller.request_id.is_empty()).then(|| caller.request_id.clone());
    let token = new_grant_token()?;
    let grant_id = match kms.store.create_grant(&record, &token, MAX_GRANTS_PER_KEY) {
        Err(StoreError::LimitExceeded(_)) => Err(KmsError::new(
            ErrorCode::LimitExceeded,
            format!(
                "The grant limit of {MAX_GRANTS_PER_KEY} grants for key {} has been reached.",
                resolved.arn()
            ),
        )),
        other => Ok(other?),
    }?;
    Ok(CreateGrantResponse {
        grant_token: token,
        grant_id,
    })
}

/// What CreateGrant checks once it has the key (the seed file checks its grants against the
/// key they are for the same way): operations the key supports, encryption-context constraints
/// only on symmetric encryption keys, principals that exist.
pub(crate) fn check_grant_for_key(
    kms: &Kms,
    key: &KeyRecord,
    r: &CreateGrantRequest,
) -> KmsResult<()> {
    let operations = r.operations.as_deref().unwrap_or_default();
    let supported = valid_operations(key);
    let unsupported: Vec<&str> = operations
        .iter()
        .map(String::as_str)
        .filter(|o| !supported.contains(o))
        .collect();
    if !unsupported.is_empty() {
        return Err(KmsError::validation(format!(
            "Grant operations [{}] are not valid for key {} (KeySpec {}, KeyUsage {}).",
            unsupported.join(", "),
            key_arn(&key.region, &key.account, &key.key_id),
            key.key_spec,
            key.key_usage
        )));
    }
    if r.constraints
        .as_ref()
        .is_some_and(|c| c.encryption_context().is_some())
        && key.key_spec != "SYMMETRIC_DEFAULT"
    {
        return Err(KmsError::validation(
            "Encryption context constraints are valid only in a grant for a symmetric encryption KMS key.",
        ));
    }
    for (member, p) in [
        ("GranteePrincipal", &r.grantee_principal),
        ("RetiringPrincipal", &r.retiring_principal),
    ] {
        if let Some(p) = p {
            check_grant_principal(kms, member, p)?;
        }
    }
    Ok(())
}

/// The grant a checked CreateGrant request makes on `key`, issued by `issuing_account` (the
/// ARN of the account root of the caller), with a new grant ID.
pub(crate) fn grant_record(
    kms: &Kms,
    key: &KeyRecord,
    r: &CreateGrantRequest,
    issuing_account: String,
) -> KmsResult<GrantRecord> {
    let constraints = r.constraints.clone().unwrap_or_default();
    // The unique IDs of the user or role principals, when Trent knows them: a principal deleted
    // and recreated with the same name is not the grantee (as in AWS).
    let directory = kms.directory();
    let unique_id = |p: &Option<String>| {
        p.as_deref()
            .and_then(|arn| directory.unique_id_for_principal_arn(arn))
            .map(str::to_string)
    };
    Ok(GrantRecord {
        region: key.region.clone(),
        key_id: key.key_id.clone(),
        grant_id: hex_id()?,
        name: r.name.clone(),
        created_ms: kms.now_ms(),
        grantee_principal: r.grantee_principal.clone(),
        grantee_service_principal: r.grantee_service_principal.clone(),
        retiring_principal: r.retiring_principal.clone(),
        retiring_service_principal: r.retiring_service_principal.clone(),
        issuing_account,
        operations: r.operations.clone().unwrap_or_default(),
        constraints: (!constraints.is_empty())
            .then(|| serde_json::to_string(&constraints))
            .transpose()
            .map_err(KmsError::internal)?,
        grantee_unique_id: unique_id(&r.grantee_principal),
        retiring_unique_id: unique_id(&r.retiring_principal),
        // The caller sets who made it: a request's principal, or nobody for the seed file.
        created_by: None,
        created_request_id: None,
    })
}

// ---- ListGrants ----------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    key_id: String,
    grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    creation_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    grantee_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grantee_service_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retiring_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retiring_service_principal: Option<String>,
    issuing_account: String,
    operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<GrantConstraints>,
}

/// How a grant shows a principal it recorded the unique ID of: as in AWS, once that user or role
/// no longer exists, as the raw unique ID (a user or role recreated since keeps its ARN shown).
fn shown_principal(
    directory: &crate::identity::Directory,
    arn: Option<String>,
    unique_id: Option<String>,
) -> Option<String> {
    match (arn, unique_id) {
        (Some(arn), Some(id)) if directory.unique_id_for_principal_arn(&arn).is_none() => Some(id),
        (arn, _) => arn,
    }
}

fn list_entry(
    g: GrantRecord,
    account: &str,
    directory: &crate::identity::Directory,
) -> KmsResult<GrantListEntry> {
    let constraints = parse_constraints(g.constraints.as_deref())?;
    Ok(GrantListEntry {
        key_id: key_arn(&g.region, account, &g.key_id),
        grant_id: g.grant_id,
        name: g.name,
        creation_date: epoch_seconds(g.created_ms),
        grantee_principal: shown_principal(directory, g.grantee_principal, g.grantee_unique_id),
        grantee_service_principal: g.grantee_service_principal,
        retiring_principal: shown_principal(directory, g.retiring_principal, g.retiring_unique_id),
        retiring_service_principal: g.retiring_service_principal,
        issuing_account: g.issuing_account,
        operations: g.operations,
        constraints: (!constraints.is_empty()).then_some(constraints),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsResponse {
    grants: Vec<GrantListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsRequest {
    limit: Option<i64>,
    marker: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
}

pub fn list_grants(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListGrantsRequest,
) -> KmsResult<ListGrantsResponse> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .length("grantId", r.grant_id.as_deref(), 1, 128)
        .length("granteePrincipal", r.grantee_principal.as_deref(), 1, 256)
        .finish()?;
    let page = Page::parse(r.limit, r.marker.as_deref(), 50, 100)?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    let key = &resolved.key;
    kms.authorize(
        caller,
        &[Check::key("kms:ListGrants", key)
            .with("kms:GrantIsForAWSResource", caller.via_service.is_some())],
    )?;
    let grantee = r
        .grantee_principal
        .as_deref()
        .or(r.grantee_service_principal.as_deref());
    let rows = kms.store.list_grants(
        &key.region,
        &key.key_id,
        r.grant_id.as_deref(),
        grantee,
        page.after.as_deref(),
        page.limit + 1,
    )?;
    let (rows, next_marker) = page.finish(rows, |g| g.grant_id.clone());
    let directory = kms.directory();
    Ok(ListGrantsResponse {
        truncated: next_marker.is_some(),
        next_marker,
        grants: rows
            .into_iter()
            .map(|g| list_entry(g, &key.account, &directory))
            .collect::<KmsResult<_>>()?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsRequest {
    limit: Option<i64>,
    marker: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
}

pub fn list_retirable_grants(
    kms: &Kms,
    caller: &Call<'_>,
    r: ListRetirableGrantsRequest,
) -> KmsResult<ListGrantsResponse> {
    Validator::new()
        .length("retiringPrincipal", r.retiring_principal.as_deref(), 1, 256)
        .length(
            "retiringServicePrincipal",
            r.retiring_service_principal.as_deref(),
            1,
            128,
        )
        .finish()?;
    let principal = match (&r.retiring_principal, &r.retiring_service_principal) {
        (Some(p), None) | (None, Some(p)) => p.clone(),
        _ => {
            return Err(KmsError::validation(
                "You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.",
            ));
        }
    };
    let page = Page::parse(r.limit, r.marker.as_deref(), 50, 100)?;
    // IAM only, in the caller's account: the resource is the retiring principal itself.
    kms.authorize(caller, &[Check::account("kms:ListRetirableGrants")])?;
    let rows = kms.store.list_retirable_grants(
        &caller.region,
        &principal,
        page.after.as_deref(),
        page.limit + 1,
    )?;
    let (rows, next_marker) = page.finish(rows, |g| format!("{}/{}", g.key_id, g.grant_id));
    let directory = kms.directory();
    let mut grants = Vec::with_capacity(rows.len());
    for g in rows {
        let account = kms
            .load_key(&g.region, &g.key_id)?
            .map(|k| k.account)
            .unwrap_or_default();
        grants.push(list_entry(g, &account, &directory)?);
    }
    Ok(ListGrantsResponse {
        truncated: next_marker.is_some(),
        next_marker,
        grants,
    })
}

// ---- RetireGrant / RevokeGrant -------------------------------------------------------------------

fn grant_not_found(grant_id: &str) -> KmsError {
    KmsError::not_found(format!("Grant ID {grant_id} not found"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantRequest {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

/// Who may retire a grant (spec §5.7): its retiring principal, its grantee when the grant
/// includes RetireGrant, or, with an IAM allow of kms:RetireGrant, principals of the issuing
/// account, of the key's account, or of a retiring account. An IAM deny always blocks.
fn may_retire(kms: &Kms, caller: &Call<'_>, g: &GrantRecord, key: &KeyRecord) -> KmsResult<bool> {
    let arn = key_arn(&key.region, &key.account, &key.key_id);
    let iam = kms.decide_check(caller, &Check::arn("kms:RetireGrant", arn.clone()), None)?;
    let iam_allows = iam.outcome == Outcome::Allow;
    let denied_message =
        (iam.outcome == Outcome::ExplicitDeny).then(|| iam.denial_message(caller.arn()));
    caller.record(iam);
    if let Some(message) = denied_message {
        return Err(KmsError::new(ErrorCode::AccessDenied, message));
    }
    let principal = crate::authz::context::policy_principal(caller);
    // A user or role deleted and recreated with the same name is not the principal the grant
    // recorded (unique IDs differ).
    let matches = |p: &Option<String>, recorded: &Option<String>| {
        p.as_deref()
            .and_then(|p| grantee_match(p, &principal))
            .filter(|_| {
                crate::authz::recreated_grantee(
                    p.as_deref(),
                    recorded.as_deref(),
                    &caller.principal,
                )
                .is_none()
            })
    };
    let retiring = matches(&g.retiring_principal, &g.retiring_unique_id);
    let direct = retiring == Some(false)
        || (g.operations.iter().any(|o| o == "RetireGrant")
            && matches(&g.grantee_principal, &g.grantee_unique_id) == Some(false));
    let issuing_account = g.issuing_account.split(':').nth(4).unwrap_or_default();
    let delegated = iam_allows
        && (retiring == Some(true)
            || caller.account() == issuing_account
            || caller.account() == key.account);
    Ok(direct || delegated)
}

pub fn retire_grant(
    kms: &Kms,
    caller: &Call<'_>,
    r: RetireGrantRequest,
) -> KmsResult<crate::ops::Empty> {
    Validator::new()
        .length("grantToken", r.grant_token.as_deref(), 1, 8192)
        .key_id("keyId", &r.key_id, false)
        .length("grantId", r.grant_id.as_deref(), 1, 128)
        .finish()?;
    let grant = match (&r.grant_token, &r.key_id, &r.grant_id) {
        (Some(token), _, _) => kms.store.grant_by_token(token)?.ok_or_else(|| {
            KmsError::new(
                ErrorCode::InvalidGrantToken,
                "The grant token is not valid.",
            )
        })?,
        (None, Some(key_id), Some(grant_id)) => {
            let resolved = kms.resolve(caller, key_id, Accept::KeyOnly)?;
            kms.store
                .get_grant(&resolved.key.region, &resolved.key.key_id, grant_id)?
                .ok_or_else(|| grant_not_found(grant_id))?
        }
        _ => {
            return Err(KmsError::validation(
                "You must specify either a GrantToken, or a KeyId and a GrantId.",
            ));
        }
    };
    let key = kms
        .load_key(&grant.region, &grant.key_id)?
        .ok_or_else(|| grant_not_found(&grant.grant_id))?;
    if !may_retire(kms, caller, &grant, &key)? {
        return Err(KmsError::new(
            ErrorCode::AccessDenied,
            format!(
                "User: {} is not authorized to perform: kms:RetireGrant on resource: {} because no resource-based policy allows the kms:RetireGrant action",
                caller.arn(),
                key_arn(&key.region, &key.account, &key.key_id)
            ),
        ));
    }
    if r.dry_run == Some(true) {
        return Err(KmsError::dry_run());
    }
    match kms.store.end_grant(
        &grant.region,
        &grant.key_id,
        &grant.grant_id,
        &ending(kms, caller, GrantEnd::Retired),
    ) {
        Err(StoreError::NotFound) => Err(grant_not_found(&grant.grant_id)),
        other => Ok(other?),
    }?;
    Ok(crate::ops::Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantRequest {
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub fn revoke_grant(
    kms: &Kms,
    caller: &Call<'_>,
    r: RevokeGrantRequest,
) -> KmsResult<crate::ops::Empty> {
    Validator::new()
        .key_id("keyId", &r.key_id, true)
        .required("grantId", &r.grant_id)
        .length("grantId", r.grant_id.as_deref(), 1, 128)
        .finish()?;
    let resolved = kms.resolve(
        caller,
        r.key_id.as_deref().unwrap_or_default(),
        Accept::KeyOnly,
    )?;
    let key = &resolved.key;
    kms.authorize_dry_run(
        caller,
        &[Check::key("kms:RevokeGrant", key)
            .with("kms:GrantIsForAWSResource", caller.via_service.is_some())],
        r.dry_run,
    )?;
    let grant_id = r.grant_id.unwrap_or_default();
    match kms.store.end_grant(
        &key.region,
        &key.key_id,
        &grant_id,
        &ending(kms, caller, GrantEnd::Revoked),
    ) {
        Err(StoreError::NotFound) => Err(grant_not_found(&grant_id)),
        other => Ok(other?),
    }?;
    Ok(crate::ops::Empty {})
}

/// Who ends a grant `how`, and when: kept with the ended grant for explanations.
fn ending(kms: &Kms, caller: &Call<'_>, how: GrantEnd) -> GrantEnding {
    GrantEnding {
        how,
        by: caller.made_by(),
        at_ms: kms.now_ms(),
        request_id: (!caller.request_id.is_empty()).then(|| caller.request_id.clone()),
    }
}
