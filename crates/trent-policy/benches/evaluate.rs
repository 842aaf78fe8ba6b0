//! Evaluation cost: a realistic 10-statement key policy with conditions, and a 100-statement
//! identity policy. Parsing is measured separately to show what evaluation no longer pays for.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use trent_policy::{ConditionContext, ContextValue, Policy, PolicyKind, Principal, RequestContext};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const KEY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/KeyAdmin", "arn:aws:iam::111122223333:user/ops/alice"]},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*",
     "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"]},
                   "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["aws:s3:arn", "aws:rds:db-id"]}}},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    {"Sid": "Partner account", "Effect": "Allow", "Principal": {"AWS": "444455556666"},
     "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
     "Condition": {"StringEquals": {"kms:CallerAccount": "444455556666"}}},
    {"Sid": "Per-user context", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}", "kms:CallerAccount": "111122223333"}}},
    {"Sid": "Office network only", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"NotIpAddressIfExists": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                   "BoolIfExists": {"aws:ViaAWSService": "false"}}},
    {"Sid": "Require TLS", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "No deletion before 2030", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion",
     "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                                    "NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": 30}}},
    {"Sid": "Only tagged sessions", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringNotLike": {"aws:PrincipalTag/team": ["pay*", "ledger-?"]},
                   "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/App*"}}}
  ]
}"#;

fn identity_policy() -> String {
    let services = [
        "s3", "dynamodb", "sqs", "sns", "ec2", "lambda", "logs", "ssm", "kms", "iam",
    ];
    let statements: Vec<String> = (0..100)
        .map(|i| {
            let svc = services[i % services.len()];
            let condition = match i % 4 {
                0 => r#","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#.to_owned(),
                1 => format!(r#","Condition":{{"StringLike":{{"aws:PrincipalTag/project":"proj-{i}*"}}}}"#),
                2 => r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#.to_owned(),
                _ => String::new(),
            };
            format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":["{svc}:Get*","{svc}:List*","{svc}:Describe{i}"],"Resource":"arn:aws:{svc}:*:111122223333:thing/{i}/*"{condition}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn key_request() -> RequestContext<'static> {
    let principal = Principal::assumed_role(
        "arn:aws:sts::111122223333:assumed-role/App/i-0abc",
        "arn:aws:iam::111122223333:role/App",
    );
    let ctx = ConditionContext::new()
        .with("aws:SourceIp", "203.0.113.10")
        .with("aws:SecureTransport", true)
        .with("aws:ViaAWSService", false)
        .with("aws:CurrentTime", "2026-05-01T12:00:00Z")
        .with("aws:PrincipalArn", "arn:aws:iam::111122223333:role/App")
        .with("aws:PrincipalTag/team", "payments")
        .with("kms:CallerAccount", "111122223333")
        .with("kms:ViaService", "s3.us-east-1.amazonaws.com")
        .with(
            "kms:EncryptionContext:aws:s3:arn",
            "arn:aws:s3:::bucket/object",
        )
        .with(
            "kms:EncryptionContextKeys",
            ContextValue::from(vec!["aws:s3:arn"]),
        );
    RequestContext::new(principal, "kms:Decrypt", KEY_ARN).with_context(ctx)
}

fn identity_request() -> RequestContext<'static> {
    let ctx = ConditionContext::new()
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:PrincipalTag/project", "proj-77-x");
    RequestContext::new(
        Principal::user("arn:aws:iam::111122223333:user/alice"),
        "sqs:GetQueueAttributes",
        "arn:aws:sqs:us-east-1:111122223333:thing/92/q",
    )
    .with_context(ctx)
}

fn benches(c: &mut Criterion) {
    let key_policy = match Policy::parse(KEY_POLICY, PolicyKind::KeyPolicy) {
        Ok(p) => p,
        Err(e) => panic!("bench key policy: {e}"),
    };
    let identity_text = identity_policy();
    let identity = match Policy::parse(&identity_text, PolicyKind::IdentityPolicy) {
        Ok(p) => p,
        Err(e) => panic!("bench identity policy: {e}"),
    };
    let kreq = key_request();
    let ireq = identity_request();
    // Guard against benchmarking a trivially short-circuited path.
    assert!(key_policy.evaluate(&kreq).any_allow().is_some());
    assert!(identity.evaluate(&ireq).any_allow().is_some());

    c.bench_function("evaluate/key_policy_10_statements", |b| {
        b.iter(|| black_box(&key_policy).evaluate(black_box(&kreq)))
    });
    c.bench_function("evaluate/identity_policy_100_statements", |b| {
        b.iter(|| black_box(&identity).evaluate(black_box(&ireq)))
    });
    c.bench_function("summarize/key_policy_10_statements", |b| {
        b.iter(|| black_box(&key_policy).summarize(black_box(&kreq)))
    });
    c.bench_function("summarize/identity_policy_100_statements", |b| {
        b.iter(|| black_box(&identity).summarize(black_box(&ireq)))
    });
    c.bench_function("parse/key_policy_10_statements", |b| {
        b.iter(|| Policy::parse(black_box(KEY_POLICY), PolicyKind::KeyPolicy))
    });
}

criterion_group!(policy, benches);
criterion_main!(policy);
