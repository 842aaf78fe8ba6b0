//! Validation: what each policy kind accepts and rejects, and what the errors carry.

use crate::support::*;
use trent_policy::{
    KEY_POLICY_MAX_BYTES, Location, OverlyPermissiveTarget, Policy, PolicyError, PolicyKind,
};

const INVALID_PRINCIPALS: &str = "Policy contains a statement with one or more invalid principals.";

fn key_err(text: &str) -> PolicyError {
    match Policy::parse(text, PolicyKind::KeyPolicy) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

fn stmt(body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#)
}

const OK_KEY_STMT: &str =
    r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#;

#[test]
fn default_key_policy_parses() {
    let p = key(&default_key_policy("111122223333"));
    assert_eq!(p.version(), Some("2012-10-17"));
    assert_eq!(p.id(), Some("key-default-1"));
    assert_eq!(p.statements().len(), 1);
    assert_eq!(p.statements()[0].sid(), Some("Enable IAM User Permissions"));
    assert_eq!(p.principal_arns(), ["arn:aws:iam::111122223333:root"]);
}

#[test]
fn duplicate_keys_are_rejected_at_every_level() {
    let cases = [
        (
            r#"{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}"#,
            "policy document",
            "Version",
        ),
        (
            &stmt(
                r#"{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#,
            ),
            "Statement",
            "Effect",
        ),
        (
            &stmt(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333","AWS":"444455556666"},"Action":"kms:*","Resource":"*"}"#,
            ),
            "Principal",
            "AWS",
        ),
        (
            &stmt(
                r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Bool":{"a":"true"},"Bool":{"b":"true"}}}"#,
            ),
            "Condition",
            "Bool",
        ),
        (
            &stmt(
                r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"k":"1","k":"2"}}}"#,
            ),
            "StringEquals",
            "k",
        ),
    ];
    for (text, want_element, want_key) in cases {
        match key_err(text) {
            PolicyError::DuplicateKey { element, key, .. } => {
                assert_eq!(
                    (element.as_str(), key.as_str()),
                    (want_element, want_key),
                    "{text}"
                );
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn effect_is_case_sensitive_and_required() {
    for effect in [r#""allow""#, r#""ALLOW""#, r#""Permit""#, "true", "1"] {
        let text = stmt(&format!(
            r#"{{"Effect":{effect},"Principal":"*","Action":"kms:*","Resource":"*"}}"#
        ));
        assert!(
            matches!(key_err(&text), PolicyError::InvalidEffect { .. }),
            "{effect}"
        );
    }
    let text = stmt(r#"{"Principal":"*","Action":"kms:*","Resource":"*"}"#);
    assert!(matches!(
        key_err(&text),
        PolicyError::MissingElement {
            element: "Effect",
            ..
        }
    ));
}

#[test]
fn conflicting_elements() {
    for (body, first) in [
        (
            r#"{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#,
            "Principal",
        ),
        (
            r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}"#,
            "Action",
        ),
        (
            r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","NotResource":"*"}"#,
            "Resource",
        ),
    ] {
        match key_err(&stmt(body)) {
            PolicyError::ConflictingElements { first: f, .. } => assert_eq!(f, first),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn invalid_principals_use_kms_text() {
    for principal in [
        r#"{"AWS":"arn:aws:iam::111122223333:role/*"}"#,
        r#"{"AWS":"arn:aws:iam::*:root"}"#,
        r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/*"}"#,
        r#"{"AWS":"1111*"}"#,
        r#"{"AWS":"arn:aws:iam::111122223333:group/Admins"}"#,
        r#"{"AWS":"not-an-arn"}"#,
        r#"{"Service":"*"}"#,
        r#""everyone""#,
        r#"{}"#,
    ] {
        let text = stmt(&format!(
            r#"{{"Sid":"S1","Effect":"Allow","Principal":{principal},"Action":"kms:*","Resource":"*"}}"#
        ));
        let err = key_err(&text);
        assert_eq!(err.to_string(), INVALID_PRINCIPALS, "{principal}");
        assert_eq!(
            err.location(),
            Some(&Location {
                statement: Some(0),
                sid: Some("S1".into())
            })
        );
    }
}

#[test]
fn principal_rules_per_kind() {
    let no_principal = stmt(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#);
    assert!(matches!(
        key_err(&no_principal),
        PolicyError::MissingElement {
            element: "Principal",
            ..
        }
    ));
    assert!(matches!(
        Policy::parse(
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            PolicyKind::TrustPolicy
        ),
        Err(PolicyError::MissingElement {
            element: "Principal",
            ..
        })
    ));
    assert!(Policy::parse(&no_principal, PolicyKind::IdentityPolicy).is_ok());
    for forbidden in [
        stmt(r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}"#),
        stmt(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#,
        ),
    ] {
        assert!(matches!(
            Policy::parse(&forbidden, PolicyKind::IdentityPolicy),
            Err(PolicyError::ForbiddenElement {
                kind: PolicyKind::IdentityPolicy,
                ..
            })
        ));
    }
    // NotPrincipal is accepted in key policies with IAM semantics.
    let np = stmt(
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/Bob","111122223333"]},"Action":"kms:*","Resource":"*"}"#,
    );
    assert_eq!(
        key(&np).principal_arns(),
        ["arn:aws:iam::111122223333:user/Bob", "111122223333"]
    );
}

#[test]
fn key_policy_size_limit() {
    let base = stmt(OK_KEY_STMT);
    let pad = KEY_POLICY_MAX_BYTES - base.len();
    let exact = format!("{base}{}", " ".repeat(pad));
    assert_eq!(exact.len(), KEY_POLICY_MAX_BYTES);
    assert!(Policy::parse(&exact, PolicyKind::KeyPolicy).is_ok());
    let over = format!("{exact} ");
    let err = key_err(&over);
    assert!(err.is_limit_exceeded());
    assert!(
        matches!(err, PolicyError::TooLarge { size, limit } if size == KEY_POLICY_MAX_BYTES + 1 && limit == KEY_POLICY_MAX_BYTES)
    );
    // Identity policies are not subject to the key-policy limit.
    let identity_big = format!(
        r#"{{"Statement":{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}}}{}"#,
        " ".repeat(KEY_POLICY_MAX_BYTES)
    );
    assert!(Policy::parse(&identity_big, PolicyKind::IdentityPolicy).is_ok());
}

#[test]
fn key_policy_character_set() {
    let latin1 = stmt(
        r#"{"Sid":"Clé de café ÿ","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}"#,
    );
    assert!(Policy::parse(&latin1, PolicyKind::KeyPolicy).is_ok());
    for bad in ["Ā", "€", "😀", "\u{7}"] {
        let text = stmt(&format!(
            r#"{{"Sid":"x{bad}","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#
        ));
        assert!(
            matches!(key_err(&text), PolicyError::InvalidCharacter { .. }),
            "{bad:?}"
        );
    }
    // The same text is fine outside key policies (Sid aside).
    let text = stmt(
        r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"k":"€"}}}"#,
    );
    assert!(Policy::parse(&text, PolicyKind::IdentityPolicy).is_ok());
}

#[test]
fn overly_permissive_condition() {
    let ec = stmt(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
        "Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:Department":"IT"}}}"#,
    );
    let err = key_err(&ec);
    assert_eq!(
        err.to_string(),
        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
    );
    assert!(matches!(
        err,
        PolicyError::OverlyPermissiveCondition {
            target: OverlyPermissiveTarget::EncryptionContext,
            ..
        }
    ));
    let tag = stmt(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:TagResource","Resource":"*",
        "Condition":{"ForAllValues:StringLikeIfExists":{"AWS:RequestTag/Project":"x*"}}}"#,
    );
    let err = key_err(&tag);
    assert!(
        err.to_string()
            .starts_with("OverlyPermissiveCondition: Using the ForAllValues set operator")
    );
    assert!(matches!(
        err,
        PolicyError::OverlyPermissiveCondition {
            target: OverlyPermissiveTarget::RequestTag,
            ..
        }
    ));
    // Allowed: ForAnyValue, multi-valued keys, and any of it outside key policies.
    for ok in [
        r#"{"ForAnyValue:StringEquals":{"kms:EncryptionContext:Department":"IT"}}"#,
        r#"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":"Department"}}"#,
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":"Project"}}"#,
    ] {
        let text = stmt(&format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{ok}}}"#
        ));
        assert!(Policy::parse(&text, PolicyKind::KeyPolicy).is_ok(), "{ok}");
    }
    let identity_ec = stmt(
        r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
        "Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:Department":"IT"}}}"#,
    );
    assert!(Policy::parse(&identity_ec, PolicyKind::IdentityPolicy).is_ok());
}

#[test]
fn missing_action_or_resource() {
    let no_action = stmt(r#"{"Effect":"Allow","Principal":"*","Resource":"*"}"#);
    let no_resource = stmt(r#"{"Effect":"Allow","Principal":"*","Action":"kms:*"}"#);
    // Key policies accept them; the statements are inert.
    for text in [&no_action, &no_resource] {
        let p = key(text);
        assert!(p.statements()[0].is_inert());
    }
    assert!(matches!(
        Policy::parse(
            &stmt(r#"{"Effect":"Allow","Resource":"*"}"#),
            PolicyKind::IdentityPolicy
        ),
        Err(PolicyError::MissingElement {
            element: "Action",
            ..
        })
    ));
    assert!(matches!(
        Policy::parse(
            &stmt(r#"{"Effect":"Allow","Action":"kms:*"}"#),
            PolicyKind::IdentityPolicy
        ),
        Err(PolicyError::MissingElement {
            element: "Resource",
            ..
        })
    ));
    assert!(matches!(
        Policy::parse(
            &stmt(r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}"#),
            PolicyKind::TrustPolicy
        ),
        Err(PolicyError::ForbiddenElement {
            element: "Resource",
            kind: PolicyKind::TrustPolicy,
            ..
        })
    ));
}

#[test]
fn document_level_errors() {
    assert!(matches!(key_err("not json"), PolicyError::Syntax { .. }));
    assert!(matches!(key_err("[]"), PolicyError::InvalidType { .. }));
    assert!(matches!(
        key_err(r#"{"Version":"2012-10-17"}"#),
        PolicyError::MissingElement {
            element: "Statement",
            ..
        }
    ));
    assert!(matches!(
        key_err(r#"{"Version":"2012-10-18","Statement":[]}"#),
        PolicyError::InvalidVersion { .. }
    ));
    assert!(matches!(
        key_err(r#"{"Version":"2012-10-17","Statement":[],"Extra":1}"#),
        PolicyError::UnknownElement { .. }
    ));
    assert!(matches!(
        key_err(r#"{"Statement":"x"}"#),
        PolicyError::InvalidType { .. }
    ));
    assert!(matches!(
        key_err(r#"{"Statement":["x"]}"#),
        PolicyError::InvalidType { .. }
    ));
    // A single statement object is fine, as is a missing Version.
    assert!(
        Policy::parse(
            &format!(r#"{{"Statement":{OK_KEY_STMT}}}"#),
            PolicyKind::KeyPolicy
        )
        .is_ok()
    );
}

#[test]
fn statement_level_errors_point_at_the_statement() {
    let text = format!(
        r#"{{"Statement":[{OK_KEY_STMT},{{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Colour":"blue","Sid":"Second"}}]}}"#
    );
    let err = key_err(&text);
    assert!(matches!(&err, PolicyError::UnknownElement { element, .. } if element == "Colour"));
    assert_eq!(
        err.location(),
        Some(&Location {
            statement: Some(1),
            sid: Some("Second".into())
        })
    );
    assert!(
        err.to_string().starts_with("statement 1 (Sid \"Second\")"),
        "{err}"
    );

    let bad = |body: &str| key_err(&stmt(body));
    assert!(matches!(
        bad(r#"{"Effect":"Allow","Principal":"*","Action":"Decrypt","Resource":"*"}"#),
        PolicyError::InvalidAction { .. }
    ));
    assert!(matches!(
        bad(r#"{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}"#),
        PolicyError::InvalidType { .. }
    ));
    assert!(matches!(
        bad(r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"key/1"}"#),
        PolicyError::InvalidResource { .. }
    ));
    assert!(matches!(
        bad(r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"arn:aws:kms:*"}"#),
        PolicyError::InvalidResource { .. }
    ));
    assert!(matches!(
        bad(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}"#
        ),
        PolicyError::UnknownConditionOperator { .. }
    ));
    assert!(matches!(
        bad(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":"a"}}"#
        ),
        PolicyError::InvalidType { .. }
    ));
    assert!(matches!(
        bad(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"a":{"b":1}}}}"#
        ),
        PolicyError::InvalidType { .. }
    ));
    for (op, value) in [
        ("NumericEquals", r#""ten""#),
        ("DateLessThan", r#""someday""#),
        ("IpAddress", r#""10.0.0.0/33""#),
        ("BinaryEquals", r#""%%%""#),
        ("Bool", r#""yes""#),
        ("Null", r#""maybe""#),
        ("NumericEquals", r#""${aws:username}""#),
    ] {
        let text = stmt(&format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"{op}":{{"k":{value}}}}}}}"#
        ));
        match key_err(&text) {
            PolicyError::InvalidConditionValue { operator, key, .. } => {
                assert_eq!((operator.as_str(), key.as_str()), (op, "k"))
            }
            other => panic!("{op}: {other:?}"),
        }
    }
}

#[test]
fn sid_rules() {
    let spaced = stmt(
        r#"{"Sid":"Allow use of the key","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}"#,
    );
    assert!(Policy::parse(&spaced, PolicyKind::KeyPolicy).is_ok());
    let spaced_identity =
        stmt(r#"{"Sid":"Allow use","Effect":"Allow","Action":"kms:*","Resource":"*"}"#);
    assert!(matches!(
        Policy::parse(&spaced_identity, PolicyKind::IdentityPolicy),
        Err(PolicyError::InvalidSid { .. })
    ));
    let dup = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"kms:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#;
    assert!(matches!(
        Policy::parse(dup, PolicyKind::IdentityPolicy),
        Err(PolicyError::DuplicateSid { .. })
    ));
}

#[test]
fn scalars_are_accepted_where_strings_are_expected() {
    let text = stmt(
        r#"{"Effect":"Allow","Principal":{"AWS":111122223333},"Action":"kms:*","Resource":"*",
        "Condition":{"Bool":{"kms:GrantIsForAWSResource":true},"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":30}}}"#,
    );
    let p = key(&text);
    assert_eq!(p.principal_arns(), ["111122223333"]);
    let numeric_sid =
        r#"{"Id":7,"Statement":[{"Sid":1,"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    let p = Policy::parse(numeric_sid, PolicyKind::IdentityPolicy).unwrap();
    assert_eq!((p.id(), p.statements()[0].sid()), (Some("7"), Some("1")));
    let object_sid =
        r#"{"Statement":[{"Sid":{},"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    assert!(matches!(
        Policy::parse(object_sid, PolicyKind::IdentityPolicy),
        Err(PolicyError::InvalidType { .. })
    ));
}

#[test]
fn error_messages_read_well() {
    let text =
        stmt(r#"{"Sid":"S","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}"#);
    let err = Policy::parse(&text, PolicyKind::IdentityPolicy).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"statement 0 (Sid "S"): identity policy statements cannot contain Principal"#
    );
    let err = key_err(&stmt(
        r#"{"Effect":"allow","Principal":"*","Action":"kms:*","Resource":"*"}"#,
    ));
    assert_eq!(
        err.to_string(),
        r#"statement 0: invalid Effect "allow" (must be exactly "Allow" or "Deny")"#
    );
    let err = key_err(&stmt(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"soon"}}}"#,
    ));
    assert_eq!(
        err.to_string(),
        r#"statement 0: invalid value "soon" for NumericLessThan on kms:ScheduleKeyDeletionPendingWindowInDays: expected an integer or decimal number"#
    );
}
