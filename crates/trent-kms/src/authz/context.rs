//! The request context: the condition keys KMS populates for a request (spec §4.3).

use trent_crypto::EncryptionContext;
use trent_policy::{ConditionContext, ContextValue, Principal};
use trent_store::{Alias, KeyRecord, Tag};

use crate::identity::{Caller, PrincipalKind};

pub trait ContextExt {
    /// A copy with more keys (later pairs overwrite earlier ones).
    fn with_pairs(
        &self,
        pairs: impl IntoIterator<Item = (String, ContextValue)>,
    ) -> ConditionContext;
}

impl ContextExt for ConditionContext {
    fn with_pairs(
        &self,
        pairs: impl IntoIterator<Item = (String, ContextValue)>,
    ) -> ConditionContext {
        let mut c = self.clone();
        for (k, v) in pairs {
            c.insert(k, v);
        }
        c
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

fn iso8601(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Keys present on every request.
pub fn base(caller: &Caller, now_ms: i64) -> ConditionContext {
    let p = &caller.principal;
    let mut c = ConditionContext::new();
    c.insert("aws:CurrentTime", iso8601(now_ms));
    c.insert(
        "aws:EpochTime",
        ContextValue::number(now_ms.div_euclid(1000)),
    );
    c.insert("aws:SecureTransport", false);
    c.insert("aws:PrincipalAccount", p.account.as_str());
    c.insert("aws:PrincipalArn", p.principal_arn());
    c.insert(
        "aws:PrincipalType",
        match p.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User { .. } => "User",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
        },
    );
    c.insert("aws:userid", p.unique_id.as_str());
    if let PrincipalKind::User { name, .. } = &p.kind {
        c.insert("aws:username", name.as_str());
    }
    for (k, v) in &p.tags {
        c.insert(format!("aws:PrincipalTag/{k}"), v.as_str());
    }
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
    c.insert("aws:PrincipalIsAWSService", false);
    c.insert("kms:CallerAccount", p.account.as_str());
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
        pair("kms:MultiRegion", key.multi_region),
    ];
    if key.multi_region {
        v.push(pair("kms:MultiRegionKeyType", "PRIMARY"));
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
