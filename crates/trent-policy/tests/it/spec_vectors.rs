//! The policy-level side of spec §11 (rows 1-8 and 13), plus principal, action and resource
//! matching through whole policies. The authorizer combines these results; here we check that
//! each policy says what the authorizer needs to hear.

use crate::support::*;
use trent_policy::{
    ConditionContext, Effect, Mismatch, Policy, PolicyKind, Principal, PrincipalMatch,
};

const B: &str = "111122223333";
const A: &str = "444455556666";

fn default_plus(extra: &str) -> Policy {
    let base = default_key_policy(B);
    let text = base.replacen("} ]\n}", &format!("}}, {extra} ]\n}}"), 1);
    key(&text)
}

#[test]
fn row1_default_policy_only_delegates() {
    let kp = key(&default_key_policy(B));
    let r = kp.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.explicit_deny().is_none());
    assert!(r.allow_with(PrincipalMatch::Direct).is_none());
    let allow = r.allow_with(PrincipalMatch::AccountLevel).unwrap();
    assert_eq!(allow.sid.as_deref(), Some("Enable IAM User Permissions"));
}

#[test]
fn row2_identity_policy_allows_decrypt_on_account_keys() {
    let ip = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#,
    );
    let r = ip.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.allow_with(PrincipalMatch::Direct).is_some());
    let other_account_key = KEY_ARN.replace(B, A);
    let r = ip.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        &other_account_key,
        ConditionContext::new(),
    ));
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Resource));
    let r = ip.evaluate(&request(
        session_of("R", B),
        "kms:Encrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Action));
}

const ROLE_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"kms:Decrypt","Resource":"*"}]}"#;

#[test]
fn row3_role_statement_is_a_direct_grant_to_its_sessions() {
    let kp = key(ROLE_ONLY);
    let r = kp.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.allow_with(PrincipalMatch::Direct).is_some());
    assert!(r.allow_with(PrincipalMatch::AccountLevel).is_none());
}

#[test]
fn row4_other_role_gets_nothing() {
    let kp = key(ROLE_ONLY);
    let r = kp.evaluate(&request(
        session_of("R2", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.any_allow().is_none());
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Principal));
    assert_eq!(r.statements[0].principal_match, None);
}

#[test]
fn row5_negated_operator_on_missing_context_key_denies() {
    let kp = default_plus(
        r#"{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEquals":{"kms:EncryptionContext:app":"x"}}}"#,
    );
    let r = kp.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    let deny = r.explicit_deny().unwrap();
    assert_eq!(deny.index, 1);
    assert_eq!(deny.effect, Effect::Deny);
    // With the right context (key name in any case) the deny does not apply.
    let ctx = ConditionContext::new().with("kms:EncryptionContext:APP", "x");
    let r = kp.evaluate(&request(session_of("R", B), "kms:Decrypt", KEY_ARN, ctx));
    assert!(r.explicit_deny().is_none());
    assert!(
        matches!(&r.statements[1].mismatch, Some(Mismatch::Condition { operator, .. }) if operator == "StringNotEquals")
    );
    assert!(r.allow_with(PrincipalMatch::AccountLevel).is_some());
}

const EXTERNAL_DECRYPT: &str = r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:Decrypt","Resource":"*"}"#;

#[test]
fn row6_row7_external_account_is_account_level() {
    let kp = default_plus(EXTERNAL_DECRYPT);
    let caller = session_of("R", A);
    let r = kp.evaluate(&request(
        caller.clone(),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    let allow = r.allow_with(PrincipalMatch::AccountLevel).unwrap();
    assert_eq!(allow.index, 1);
    assert!(r.allow_with(PrincipalMatch::Direct).is_none());
    // The default statement names B, not A.
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Principal));
    // Row 7: A's identity policy allows Decrypt on the key's ARN.
    let ip = identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{KEY_ARN}"}}}}"#
    ));
    let r = ip.evaluate(&request(
        caller,
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.allow_with(PrincipalMatch::Direct).is_some());
}

#[test]
fn row8_external_account_statement_matches_at_policy_level() {
    // Whether ScheduleKeyDeletion may be used cross-account is the authorizer's rule (§2.2);
    // the policy reports an account-level allow and leaves that to it.
    let kp = default_plus(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:*","Resource":"*"}"#,
    );
    let r = kp.evaluate(&request(
        session_of("R", A),
        "kms:ScheduleKeyDeletion",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert_eq!(
        r.allow_with(PrincipalMatch::AccountLevel).map(|s| s.index),
        Some(1)
    );
    assert!(r.allow_with(PrincipalMatch::Direct).is_none());
}

#[test]
fn row13_lockout_candidate_does_not_allow_put_key_policy() {
    let candidate = key(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Encrypt","Resource":"*"}]}"#,
    );
    let r = candidate.evaluate(&request(
        Principal::root(B),
        "kms:PutKeyPolicy",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.any_allow().is_none());
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Action));
    assert_eq!(
        r.statements[0].principal_match,
        Some(PrincipalMatch::AccountLevel)
    );
    // The default policy passes the same check at the policy level.
    let r = key(&default_key_policy(B)).evaluate(&request(
        Principal::root(B),
        "kms:PutKeyPolicy",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.allow_with(PrincipalMatch::AccountLevel).is_some());
}

#[test]
fn actions_are_case_insensitive_globs() {
    let kp = key(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["KMS:describe*","kms:ReEncrypt*","kms:GenerateDataKey*","kms:Create*"],"Resource":"*"}]}"#,
    );
    let eval = |action: &str| {
        kp.evaluate(&request(
            session_of("R", B),
            action,
            KEY_ARN,
            ConditionContext::new(),
        ))
        .any_allow()
        .is_some()
    };
    for yes in [
        "kms:DescribeKey",
        "KMS:DESCRIBEKEY",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:CreateGrant",
        "kms:CreateAlias",
    ] {
        assert!(eval(yes), "{yes}");
    }
    for no in [
        "kms:Decrypt",
        "kms:ScheduleKeyDeletion",
        "iam:DescribeKey",
        "kms:describ",
    ] {
        assert!(!eval(no), "{no}");
    }
}

#[test]
fn not_action_and_not_resource() {
    let ip = identity(&format!(
        r#"{{"Statement":[{{"Effect":"Allow","NotAction":["kms:ScheduleKeyDeletion","kms:Delete*"],"NotResource":"arn:aws:kms:*:{A}:key/*"}}]}}"#
    ));
    let eval = |action: &str, resource: &str| {
        ip.evaluate(&request(
            Principal::user("arn:aws:iam::111122223333:user/u"),
            action,
            resource,
            ConditionContext::new(),
        ))
        .statements
        .remove(0)
    };
    assert!(eval("kms:Decrypt", KEY_ARN).applies);
    assert_eq!(
        eval("kms:DeleteAlias", KEY_ARN).mismatch,
        Some(Mismatch::Action)
    );
    assert_eq!(
        eval("KMS:schedulekeydeletion", KEY_ARN).mismatch,
        Some(Mismatch::Action)
    );
    assert_eq!(
        eval("kms:Decrypt", &KEY_ARN.replace(B, A)).mismatch,
        Some(Mismatch::Resource)
    );
    // NotResource does not exclude the resource-less "*".
    assert!(eval("kms:ListKeys", "*").applies);
}

#[test]
fn resource_star_and_resourceless_actions() {
    let ip = identity(
        r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"},{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}"#,
    );
    let r = ip.evaluate(&request(
        Principal::user("arn:aws:iam::111122223333:user/u"),
        "kms:CreateKey",
        "*",
        ConditionContext::new(),
    ));
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Resource));
    assert!(r.statements[1].applies);
}

#[test]
fn resource_variables() {
    let ip = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
    );
    let caller = || Principal::user("arn:aws:iam::111122223333:user/alice");
    let eval = |res: &str, ctx: ConditionContext| {
        ip.evaluate(&request(caller(), "s3:GetObject", res, ctx))
            .statements
            .remove(0)
    };
    let alice = || ConditionContext::new().with("aws:username", "alice");
    assert!(eval("arn:aws:s3:::home/alice/notes.txt", alice()).applies);
    assert_eq!(
        eval("arn:aws:s3:::home/bob/notes.txt", alice()).mismatch,
        Some(Mismatch::Resource)
    );
    // No value: the entry matches nothing, not even an empty path segment.
    assert_eq!(
        eval("arn:aws:s3:::home//notes.txt", ConditionContext::new()).mismatch,
        Some(Mismatch::Resource)
    );
    // 2008-10-17: the variable is literal text.
    let old = identity(
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
    );
    let r = old.evaluate(&request(
        caller(),
        "s3:GetObject",
        "arn:aws:s3:::home/${aws:username}/x",
        alice(),
    ));
    assert!(r.statements[0].applies);
}

#[test]
fn service_principals() {
    let kp = key(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*",
        "Condition":{"StringLike":{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:111122223333:trail/*"}}}]}"#,
    );
    let ctx = || {
        ConditionContext::new().with(
            "kms:EncryptionContext:aws:cloudtrail:arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
        )
    };
    let r = kp.evaluate(&request(
        Principal::service("cloudtrail.amazonaws.com"),
        "kms:GenerateDataKey",
        KEY_ARN,
        ctx(),
    ));
    assert!(r.allow_with(PrincipalMatch::Direct).is_some());
    // A user relayed by the service is not the service.
    let r = kp.evaluate(&request(
        session_of("R", B),
        "kms:GenerateDataKey",
        KEY_ARN,
        ctx(),
    ));
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Principal));
    let r = kp.evaluate(&request(
        Principal::service("lambda.amazonaws.com"),
        "kms:GenerateDataKey",
        KEY_ARN,
        ctx(),
    ));
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Principal));
}

#[test]
fn not_principal_deny_spares_only_fully_listed_callers() {
    let kp = key(r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":[
        "arn:aws:sts::111122223333:assumed-role/R/s","arn:aws:iam::111122223333:role/R","arn:aws:iam::111122223333:root"]},
        "Action":"kms:*","Resource":"*"}]}"#);
    let eval =
        |p: Principal| kp.evaluate(&request(p, "kms:Decrypt", KEY_ARN, ConditionContext::new()));
    assert!(eval(session_of("R", B)).explicit_deny().is_none());
    assert!(eval(session_of("R2", B)).explicit_deny().is_some());
    assert!(
        eval(Principal::user("arn:aws:iam::111122223333:user/u"))
            .explicit_deny()
            .is_some()
    );
    assert!(eval(session_of("R", A)).explicit_deny().is_some());
    assert!(eval(Principal::root(B)).explicit_deny().is_none());
}

#[test]
fn trust_policy_evaluation_ignores_resource() {
    let tp = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root","Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}}]}"#,
        PolicyKind::TrustPolicy,
    )
    .unwrap();
    let role = "arn:aws:iam::111122223333:role/Target";
    let ctx = ConditionContext::new().with("sts:ExternalId", "xyz");
    let r = tp.evaluate(&request(
        Principal::user("arn:aws:iam::444455556666:user/u"),
        "sts:AssumeRole",
        role,
        ctx.clone(),
    ));
    assert!(r.allow_with(PrincipalMatch::AccountLevel).is_some());
    let r = tp.evaluate(&request(
        Principal::service("lambda.amazonaws.com"),
        "sts:AssumeRole",
        role,
        ctx,
    ));
    assert!(r.allow_with(PrincipalMatch::Direct).is_some());
    assert_eq!(tp.principal_arns(), ["arn:aws:iam::444455556666:root"]);
}

#[test]
fn inert_key_policy_statements_never_apply() {
    let kp = key(
        r#"{"Statement":[{"Sid":"NoAction","Effect":"Deny","Principal":"*","Resource":"*"},{"Sid":"NoResource","Effect":"Deny","Principal":"*","Action":"kms:*"}]}"#,
    );
    let r = kp.evaluate(&request(
        session_of("R", B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.explicit_deny().is_none());
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Action));
    assert_eq!(r.statements[1].mismatch, Some(Mismatch::Resource));
}

#[test]
fn compiled_policies_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<trent_policy::PolicyEvaluation>();
    assert_send_sync::<trent_policy::PolicyError>();
}

#[test]
fn federated_users_and_roots() {
    let kp = key(r#"{"Statement":[
        {"Sid":"Fed","Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:federated-user/carol"},"Action":"kms:Decrypt","Resource":"*"},
        {"Sid":"Acct","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:Encrypt","Resource":"*"}]}"#);
    let carol = Principal::federated_user("arn:aws:sts::111122223333:federated-user/carol");
    assert_eq!(carol.account, "111122223333");
    let r = kp.evaluate(&request(
        carol.clone(),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert_eq!(
        r.allow_with(PrincipalMatch::Direct).map(|s| s.index),
        Some(0)
    );
    let r = kp.evaluate(&request(
        carol,
        "kms:Encrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert_eq!(
        r.allow_with(PrincipalMatch::AccountLevel).map(|s| s.index),
        Some(1)
    );
    // The root user is just another principal of its account here (spec §2.3 note 3).
    let r = kp.evaluate(&request(
        Principal::root(B),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert!(r.any_allow().is_none());
    let r = kp.evaluate(&request(
        Principal::root(B),
        "kms:Encrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    assert_eq!(
        r.allow_with(PrincipalMatch::AccountLevel).map(|s| s.index),
        Some(1)
    );
}

#[test]
fn context_from_iterator() {
    let ctx: ConditionContext = [("aws:SourceIp", "203.0.113.1"), ("AWS:username", "alice")]
        .into_iter()
        .collect();
    assert_eq!(ctx.len(), 2);
    assert_eq!(ctx.get("aws:USERNAME"), Some(&"alice".into()));
}
