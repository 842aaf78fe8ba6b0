//! Hypothetical requests (`trent explain --as … --action …`, `POST /_trent/explain`): the
//! principal a request would be made as, and its decision against the live state, made by the
//! very authorizer real requests go through (`Kms::decide_check`), so an explanation can never
//! describe a rule the server does not apply.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::authz::context::{encryption_context, request_alias};
use crate::authz::{Check, Decision};
use crate::error::{KmsError, KmsResult};
use crate::identity::{Caller, Directory, Principal, PrincipalKind};
use crate::keyref::Accept;
use crate::service::Kms;
use trent_store::KeyRecord;

/// Actions whose checks carry `kms:EncryptionAlgorithm`.
fn takes_encryption_algorithm(action: &str) -> bool {
    matches!(
        action,
        "kms:Encrypt" | "kms:Decrypt" | "kms:ReEncryptFrom" | "kms:ReEncryptTo"
    ) || action.starts_with("kms:GenerateDataKey")
}

/// A request that was not made: who, what, on which key, with which context.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HypotheticalRequest {
    /// e.g. `kms:Decrypt` (case-insensitive).
    pub action: String,
    /// Key ID, key ARN, alias name or alias ARN; absent for resource-less actions.
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub encryption_context: BTreeMap<String, String>,
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// `kms:EncryptionAlgorithm` (default `SYMMETRIC_DEFAULT` where it applies).
    #[serde(default)]
    pub encryption_algorithm: Option<String>,
}

/// The canonical spelling of a KMS action (matched case-insensitively, as IAM does).
pub fn canonical_action(action: &str) -> Option<&'static str> {
    crate::operation::key_actions()
        .chain(crate::operation::account_actions())
        .find(|a| a.eq_ignore_ascii_case(action))
}

/// The principal a hypothetical request is made as: one the directory knows (a user, role
/// session or account root with credentials, a declared user, the root of a declared account),
/// or a declared role, for which a session named `trent-explain` is assumed (a configured
/// session of the role is used instead when there is one, with its tags).
pub fn hypothetical_principal(directory: &Directory, arn: &str) -> Option<Principal> {
    if let Some(p) = directory.principal_by_arn(arn) {
        return Some(p.clone());
    }
    if let Some(rest) = arn.strip_prefix("arn:aws:sts::") {
        return session_of_known_role(directory, rest);
    }
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    if resource == "root" {
        return directory
            .has_account(account)
            .then(|| Principal::root(account));
    }
    if !directory.has_principal(arn) {
        return None;
    }
    let (kind, path_and_name) = resource.split_once('/')?;
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name.to_string()),
        None => ("/".to_string(), path_and_name.to_string()),
    };
    match kind {
        "user" => Some(Principal {
            account: account.to_string(),
            arn: arn.to_string(),
            kind: PrincipalKind::User {
                name: name.clone(),
                path,
            },
            unique_id: format!("AIDA{}", name.to_ascii_uppercase()),
            tags: BTreeMap::new(),
        }),
        "role" => {
            let configured = directory.principals().into_iter().find(|p| {
                matches!(&p.kind, PrincipalKind::AssumedRole { role_arn, .. } if role_arn == arn)
            });
            if let Some(p) = configured {
                return Some(p.clone());
            }
            let session = "trent-explain";
            Some(Principal {
                account: account.to_string(),
                arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
                kind: PrincipalKind::AssumedRole {
                    role_arn: arn.to_string(),
                    role_name: name.clone(),
                    session_name: session.to_string(),
                },
                unique_id: format!("AROA{}:{session}", name.to_ascii_uppercase()),
                tags: BTreeMap::new(),
            })
        }
        _ => None,
    }
}

/// Any session of a role Trent knows (configured or created through IAM), named as STS names it:
/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (`rest` is what follows `arn:aws:sts::`).
/// The session ARN carries no path; the role is found by name in the account.
fn session_of_known_role(directory: &Directory, rest: &str) -> Option<Principal> {
    let (account, resource) = rest.split_once(':')?;
    let (role_name, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
    if role_name.is_empty() || session.is_empty() || session.contains('/') {
        return None;
    }
    let role_arn = directory.role_arn_named(account, role_name)?;
    let role_id = directory
        .unique_id_of(role_arn)
        .map(str::to_string)
        .unwrap_or_else(|| format!("AROA{}", role_name.to_ascii_uppercase()));
    Some(Principal {
        account: account.to_string(),
        arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
        kind: PrincipalKind::AssumedRole {
            role_arn: role_arn.to_string(),
            role_name: role_name.to_string(),
            session_name: session.to_string(),
        },
        unique_id: format!("{role_id}:{session}"),
        tags: BTreeMap::new(),
    })
}

/// A caller for a principal in `region` that makes no request of its own (hypothetical
/// requests, access reports).
pub fn hypothetical_caller(principal: Principal, region: &str) -> Caller {
    Caller {
        principal,
        region: region.to_string(),
        access_key_id: String::new(),
        source_ip: None,
        secure_transport: false,
        user_agent: None,
        via_service: None,
        request_id: String::new(),
    }
}

impl Kms {
    /// Resolves a `KeyId` (key ID, key ARN, alias name or alias ARN) as `caller` would.
    pub fn resolve_key(&self, caller: &Caller, key_ref: &str) -> KmsResult<KeyRecord> {
        Ok(self.resolve(caller, key_ref, Accept::KeyOrAlias)?.key)
    }

    /// Decides a request `caller` did not make, against the live state, with the very same
    /// authorizer as real requests. Nothing is recorded for the caller, and the decision is
    /// made whatever the server's `--authz` mode.
    pub fn explain(&self, caller: &Caller, request: &HypotheticalRequest) -> KmsResult<Decision> {
        let action = canonical_action(&request.action).ok_or_else(|| {
            KmsError::validation(format!(
                "{} is not a KMS action that Trent can explain",
                request.action
            ))
        })?;
        if request.grant_tokens.len() > 10 {
            return Err(KmsError::validation(
                "At most 10 grant tokens can be given.",
            ));
        }
        let ec: trent_crypto::EncryptionContext = request.encryption_context.clone();
        if crate::operation::account_actions().any(|a| a == action) {
            return self.decide_check(caller, &Check::account(action), None);
        }
        let key_ref = request.key_id.as_deref().ok_or_else(|| {
            KmsError::validation(format!("{action} is checked against a key: give its KeyId"))
        })?;
        let resolved = self.resolve(caller, key_ref, Accept::KeyOrAlias)?;
        let mut check = Check::key(action, &resolved.key)
            .with_all(encryption_context(&ec))
            .with_grant_context(&ec)
            .with_all(request_alias(resolved.via_alias.as_deref()));
        if takes_encryption_algorithm(action) {
            check = check.with(
                "kms:EncryptionAlgorithm",
                request
                    .encryption_algorithm
                    .clone()
                    .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_string()),
            );
        }
        self.decide_check(caller, &check, None)
    }
}
