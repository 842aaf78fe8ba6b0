//! ARNs of KMS resources.

/// The AWS partition a region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!(
        "arn:{}:kms:{region}:{account}:key/{key_id}",
        partition(region)
    )
}

/// `alias_name` includes its `alias/` prefix.
pub fn alias_arn(region: &str, account: &str, alias_name: &str) -> String {
    format!(
        "arn:{}:kms:{region}:{account}:{alias_name}",
        partition(region)
    )
}

/// The ARN of an account's root, as KMS prints it in IssuingAccount and default policies.
pub fn account_root_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// An AWS account ID: twelve digits.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A parsed `arn:partition:kms:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsArn {
    pub region: String,
    pub account: String,
    pub resource: String,
}

pub fn parse_kms_arn(s: &str) -> Option<KmsArn> {
    let mut parts = s.splitn(6, ':');
    let (arn, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" || service != "kms" || region.is_empty() || account.is_empty() {
        return None;
    }
    Some(KmsArn {
        region: region.to_string(),
        account: account.to_string(),
        resource: resource.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(
            key_arn("us-east-1", "111122223333", "k"),
            "arn:aws:kms:us-east-1:111122223333:key/k"
        );
        assert_eq!(
            alias_arn("cn-north-1", "1", "alias/a"),
            "arn:aws-cn:kms:cn-north-1:1:alias/a"
        );
        let p = parse_kms_arn("arn:aws:kms:eu-west-1:111122223333:alias/x:y").unwrap();
        assert_eq!(p.resource, "alias/x:y");
        assert!(parse_kms_arn("arn:aws:s3:::bucket").is_none());
    }
}
