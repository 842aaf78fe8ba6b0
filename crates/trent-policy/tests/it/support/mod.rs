use trent_policy::{ConditionContext, Policy, PolicyKind, Principal, RequestContext};

pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub fn default_key_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

pub fn session_of(role: &str, account: &str) -> Principal {
    Principal::assumed_role(
        &format!("arn:aws:sts::{account}:assumed-role/{role}/s"),
        &format!("arn:aws:iam::{account}:role/{role}"),
    )
}

pub fn key(text: &str) -> Policy {
    Policy::parse(text, PolicyKind::KeyPolicy).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn identity(text: &str) -> Policy {
    Policy::parse(text, PolicyKind::IdentityPolicy).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn request(
    principal: Principal,
    action: &str,
    resource: &str,
    ctx: ConditionContext,
) -> RequestContext<'static> {
    RequestContext::new(principal, action, resource).with_context(ctx)
}
