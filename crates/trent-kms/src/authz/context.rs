//! The request context: the condition keys KMS populates for a request (spec §4.3).

use std::collections::BTreeMap;

use trent_crypto::EncryptionContext;
use trent_policy::{ConditionContext, ContextValue, Principal};
use trent_store::{Alias, KeyRecord, Tag};

use crate::clock::iso8601;
use crate::identity::{Caller, PrincipalKind};

pub trait ContextExt {
    /// The context with more keys (later pairs overwrite earlier ones). Takes the context by
    /// value: a request's context is built once per check, and a copy is the caller's choice
    /// (`clone()`), never a hidden cost of adding keys.
    fn with_pairs(self, pairs: impl IntoIterator<Item = (String, ContextValue)>) -> Self;
}

impl ContextExt for ConditionContext {
    fn with_pairs(mut self, pairs: impl IntoIterator<Item = (String, ContextValue)>) -> Self {
        for (k, v) in pairs {
            self.insert(k, v);
        }
        self
    }
}

/// The caller as the policy engine sees it.
pub fn policy_principal(caller: &Caller) -> Principal {
    let p = &caller.principal;
    match &p.kind {
        PrincipalKind::Root => {
            Principal::new(&p.arn, &p.account, trent_policy::PrincipalKind::Root)
        }
        PrincipalKind::User { .. } => {
            Principal::new(&p.arn, &p.account, trent_policy::PrincipalKind::User)
        }
        PrincipalKind::AssumedRole { role_arn, .. } => Principal::new(
            &p.arn,
            &p.account,
            trent_policy::PrincipalKind::AssumedRole {
                role_arn: role_arn.clone(),
            },
        ),
    }
}

/// `aws:CurrentTime` and `aws:EpochTime` at `now_ms`.
pub fn time_keys(now_ms: i64) -> Vec<(String, ContextValue)> {
    vec![
        pair("aws:CurrentTime", iso8601(now_ms)),
        pair(
            "aws:EpochTime",
            ContextValue::number(now_ms.div_euclid(1000)),
        ),
    ]
}

/// The keys that describe the caller (spec §4.2): `aws:PrincipalArn` (the role ARN for
/// sessions), `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username` (users only),
/// `aws:PrincipalTag/*`, `aws:PrincipalIsAWSService`, `kms:CallerAccount`; for a service
/// principal `aws:PrincipalIsAWSService` and `aws:PrincipalServiceName` only. Shared by the
/// server and `trent policy simulate`, so both see the same keys.
pub fn principal_keys(
    p: &Principal,
    tags: &BTreeMap<String, String>,
) -> Vec<(String, ContextValue)> {
    use trent_policy::PrincipalKind as K;
    let (principal_type, principal_arn) = match &p.kind {
        K::Service => {
            return vec![
                pair("aws:PrincipalIsAWSService", true),
                pair("aws:PrincipalServiceName", p.arn.as_str()),
            ];
        }
        K::Root => ("Account", p.arn.as_str()),
        K::User => ("User", p.arn.as_str()),
        K::AssumedRole { role_arn } => ("AssumedRole", role_arn.as_str()),
        K::FederatedUser => ("FederatedUser", p.arn.as_str()),
    };
    let mut v = vec![
        pair("aws:PrincipalAccount", p.account.as_str()),
        pair("aws:PrincipalArn", principal_arn),
        pair("aws:PrincipalType", principal_type),
        pair("aws:PrincipalIsAWSService", false),
        pair("kms:CallerAccount", p.account.as_str()),
    ];
    if p.kind == K::User
        && let Some(name) = p.arn.rsplit('/').next()
    {
        v.push(pair("aws:username", name));
    }
    v.extend(
        tags.iter()
            .map(|(k, val)| pair(&format!("aws:PrincipalTag/{k}"), val.as_str())),
    );
    v
}

/// Keys present on every request.
pub fn base(caller: &Caller, now_ms: i64) -> ConditionContext {
    let p = &caller.principal;
    let mut c = ConditionContext::new()
        .with_pairs(time_keys(now_ms))
        .with_pairs(principal_keys(&policy_principal(caller), &p.tags));
    c.insert("aws:SecureTransport", caller.secure_transport);
    c.insert("aws:userid", p.unique_id.as_str());
    if let Some(ip) = caller.source_ip {
        c.insert("aws:SourceIp", ip.to_string());
    }
    if let Some(ua) = &caller.user_agent {
        c.insert("aws:UserAgent", ua.as_str());
    }
    c.insert("aws:RequestedRegion", caller.region.as_str());
    c.insert("aws:ViaAWSService", caller.via_service.is_some());
    if let Some(service) = &caller.via_service {
        c.insert("kms:ViaService", service.as_str());
        // aws:CalledVia names the service without its region.
        let short = service
            .split('.')
            .next()
            .map(|s| format!("{s}.amazonaws.com"))
            .unwrap_or_default();
        c.insert("aws:CalledVia", vec![short.clone()]);
        c.insert("aws:CalledViaFirst", short.as_str());
        c.insert("aws:CalledViaLast", short.as_str());
    }
    c
}

fn pair(k: &str, v: impl Into<ContextValue>) -> (String, ContextValue) {
    (k.to_string(), v.into())
}

/// Properties of the key that both key policies and IAM policies can test.
pub fn key_properties(key: &KeyRecord) -> Vec<(String, ContextValue)> {
    let mut v = vec![
        pair("kms:KeySpec", key.key_spec.as_str()),
        pair("kms:CustomerMasterKeySpec", key.key_spec.as_str()),
        pair("kms:KeyUsage", key.key_usage.as_str()),
        pair("kms:CustomerMasterKeyUsage", key.key_usage.as_str()),
        pair("kms:KeyOrigin", key.origin.as_str()),
        pair("kms:MultiRegion", key.is_multi_region()),
    ];
    if key.is_multi_region() {
        let kind = if key.is_replica() {
            "REPLICA"
        } else {
            "PRIMARY"
        };
        v.push(pair("kms:MultiRegionKeyType", kind));
    }
    v
}

/// `aws:ResourceTag/*` and `kms:ResourceAliases`: honoured in IAM policies only (spec §4.2).
pub fn iam_only_key_properties(tags: &[Tag], aliases: &[Alias]) -> Vec<(String, ContextValue)> {
    let mut v: Vec<(String, ContextValue)> = tags
        .iter()
        .map(|t| pair(&format!("aws:ResourceTag/{}", t.key), t.value.as_str()))
        .collect();
    if !aliases.is_empty() {
        v.push(pair(
            "kms:ResourceAliases",
            aliases
                .iter()
                .map(|a| a.alias_name.clone())
                .collect::<Vec<String>>(),
        ));
    }
    v
}

/// `kms:EncryptionContext:<k>` and `kms:EncryptionContextKeys`, only for a non-empty context.
pub fn encryption_context(ec: &EncryptionContext) -> Vec<(String, ContextValue)> {
    if ec.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<(String, ContextValue)> = ec
        .iter()
        .map(|(k, val)| pair(&format!("kms:EncryptionContext:{k}"), val.as_str()))
        .collect();
    v.push(pair(
        "kms:EncryptionContextKeys",
        ec.keys().cloned().collect::<Vec<String>>(),
    ));
    v
}

/// `aws:RequestTag/*` and `aws:TagKeys` for the tags a request carries.
pub fn request_tags(tags: &[Tag]) -> Vec<(String, ContextValue)> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<(String, ContextValue)> = tags
        .iter()
        .map(|t| pair(&format!("aws:RequestTag/{}", t.key), t.value.as_str()))
        .collect();
    v.push(pair(
        "aws:TagKeys",
        tags.iter().map(|t| t.key.clone()).collect::<Vec<String>>(),
    ));
    v
}

/// `kms:RequestAlias` when the request named the key through an alias.
pub fn request_alias(alias: Option<&str>) -> Vec<(String, ContextValue)> {
    alias
        .map(|a| vec![pair("kms:RequestAlias", a)])
        .unwrap_or_default()
}
