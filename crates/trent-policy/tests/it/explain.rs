//! The explanation: first mismatch per statement, human lines and JSON.

use crate::support::*;
use trent_policy::{ConditionContext, Mismatch, PrincipalMatch};

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:*","Resource":"*"},
  {"Sid":"Use","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
   "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"},"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"bucket"}}},
  {"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"},
  {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}
]}"#;

#[test]
fn first_mismatch_per_statement() {
    let p = key(POLICY);
    let ctx = ConditionContext::new().with("kms:ViaService", "ec2.us-east-1.amazonaws.com");
    let r = p.evaluate(&request(
        session_of("R", "111122223333"),
        "kms:Decrypt",
        KEY_ARN,
        ctx,
    ));
    assert_eq!(r.statements.len(), 4);
    assert_eq!(r.statements[0].mismatch, Some(Mismatch::Principal));
    // Principal and action match; the first condition clause fails, not the second.
    let s1 = &r.statements[1];
    assert_eq!(s1.principal_match, Some(PrincipalMatch::Direct));
    match &s1.mismatch {
        Some(Mismatch::Condition {
            operator,
            key,
            detail,
        }) => {
            assert_eq!(operator, "StringEquals");
            assert_eq!(key, "kms:ViaService");
            assert!(detail.contains("ec2.us-east-1.amazonaws.com"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.statements[2].mismatch, Some(Mismatch::Action));
    assert!(r.statements[3].applies);
    assert_eq!(
        r.statements[3].principal_match,
        Some(PrincipalMatch::AccountLevel)
    );
    assert_eq!(r.any_allow().map(|s| s.index), Some(3));

    let text = r.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        r#"statement 0 (Sid "Admins"): Allow does not apply: the principal does not match"#
    );
    assert!(lines[1].starts_with(r#"statement 1 (Sid "Use"): Allow does not apply: condition StringEquals on kms:ViaService is not met: "#), "{}", lines[1]);
    assert_eq!(
        lines[2],
        "statement 2: Deny does not apply: the action does not match"
    );
    assert_eq!(
        lines[3],
        r#"statement 3 (Sid "Root"): Allow applies (account-level principal match)"#
    );
}

#[test]
fn absent_key_explanation() {
    let p = key(POLICY);
    let ctx = ConditionContext::new().with("kms:ViaService", "s3.us-east-1.amazonaws.com");
    let r = p.evaluate(&request(
        session_of("R", "111122223333"),
        "kms:Decrypt",
        KEY_ARN,
        ctx,
    ));
    match &r.statements[1].mismatch {
        Some(Mismatch::Condition {
            operator,
            key,
            detail,
        }) => {
            assert_eq!(operator, "ForAnyValue:StringEquals");
            assert_eq!(key, "kms:EncryptionContextKeys");
            assert!(detail.contains("absent"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_output() {
    let p = key(POLICY);
    let r = p.evaluate(&request(
        session_of("Admin", "111122223333"),
        "kms:ScheduleKeyDeletion",
        KEY_ARN,
        ConditionContext::new(),
    ));
    let json = serde_json::to_value(&r).unwrap();
    let s = &json["statements"];
    assert_eq!(s[0]["sid"], "Admins");
    assert_eq!(s[0]["effect"], "Allow");
    assert_eq!(s[0]["applies"], true);
    assert_eq!(s[0]["principal_match"], "Direct");
    assert!(s[0]["mismatch"].is_null());
    assert_eq!(s[1]["mismatch"]["element"], "Principal");
    assert_eq!(s[2]["applies"], true);
    assert_eq!(s[2]["effect"], "Deny");
    assert_eq!(r.explicit_deny().map(|d| d.index), Some(2));
    let denied = p.evaluate(&request(
        session_of("R", "111122223333"),
        "kms:Decrypt",
        KEY_ARN,
        ConditionContext::new(),
    ));
    let json = serde_json::to_value(&denied).unwrap();
    let m = &json["statements"][1]["mismatch"];
    assert_eq!(m["element"], "Condition");
    assert_eq!(m["operator"], "StringEquals");
    assert_eq!(m["key"], "kms:ViaService");
    assert!(m["detail"].as_str().unwrap().contains("absent"));
}

#[test]
fn unresolved_variable_is_called_out() {
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}}}"#,
    );
    let ctx = ConditionContext::new().with("kms:EncryptionContext:user", "alice");
    let r = p.evaluate(&request(
        session_of("R", "111122223333"),
        "kms:Decrypt",
        KEY_ARN,
        ctx,
    ));
    let line = r.statements[0].to_string();
    assert!(line.contains("policy variable has no value"), "{line}");
}
