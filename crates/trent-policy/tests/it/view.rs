//! The read-only statement view analysers (`trent lint`) use: conditions, principal element,
//! action and resource coverage, all read from the parsed model rather than re-parsed.

use trent_policy::{Policy, PolicyKind, PrincipalElement, SetOperator};

fn key_policy(statements: &str) -> Policy {
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    match Policy::parse(&text, PolicyKind::KeyPolicy) {
        Ok(p) => p,
        Err(e) => panic!("policy should parse: {e}"),
    }
}

#[test]
fn principal_everyone_and_names() {
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},
           {"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"]},
            "Action":"kms:*","Resource":"*"}"#,
    );
    let [everyone, named] = p.statements() else {
        panic!("two statements")
    };
    let PrincipalElement::Principal(set) = everyone.principal_element() else {
        panic!("Principal element")
    };
    assert!(set.is_everyone());
    assert!(set.aws_names().is_empty());
    let PrincipalElement::Principal(set) = named.principal_element() else {
        panic!("Principal element")
    };
    assert!(!set.is_everyone());
    assert_eq!(
        set.aws_names(),
        ["111122223333", "arn:aws:iam::111122223333:user/a"]
    );
}

#[test]
fn actions_and_resources_are_matched_as_evaluation_does() {
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
           {"Effect":"Allow","Principal":"*","NotAction":"kms:Decrypt",
            "Resource":"arn:aws:kms:us-east-1:111122223333:key/k"}"#,
    );
    let [all, not_decrypt] = p.statements() else {
        panic!("two statements")
    };
    assert!(all.covers_action("kms:CreateGrant"));
    assert!(all.covers_action("KMS:createGRANT"));
    assert!(all.covers_every_resource());
    assert!(!not_decrypt.covers_action("kms:Decrypt"));
    assert!(not_decrypt.covers_action("kms:Encrypt"));
    assert!(!not_decrypt.covers_every_resource());
}

#[test]
fn conditions_are_readable_as_written() {
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:CreateGrant","Resource":"*",
            "Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt"]},
                         "StringEquals":{"kms:CallerAccount":"111122223333"}}}"#,
    );
    let clauses = p.statements()[0].conditions();
    assert_eq!(clauses.len(), 2);
    let grant_ops = clauses
        .iter()
        .find(|c| c.key() == "kms:GrantOperations")
        .unwrap_or_else(|| panic!("kms:GrantOperations clause"));
    assert_eq!(grant_ops.operator(), "ForAllValues:StringEquals");
    assert_eq!(grant_ops.set_operator(), SetOperator::ForAllValues);
    assert_eq!(grant_ops.values(), ["Decrypt"]);
    let caller = clauses
        .iter()
        .find(|c| c.key() == "kms:CallerAccount")
        .unwrap_or_else(|| panic!("kms:CallerAccount clause"));
    assert_eq!(caller.set_operator(), SetOperator::None);
    assert!(!caller.is_negated() && !caller.if_exists());
}

#[test]
fn negated_and_if_exists_operators() {
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
            "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"111122223333"}}}"#,
    );
    let [clause] = p.statements()[0].conditions() else {
        panic!("one clause")
    };
    assert!(clause.is_negated());
    assert!(clause.if_exists());
}

#[test]
fn identity_policy_principal_is_implicit() {
    let p = match Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
        PolicyKind::IdentityPolicy,
    ) {
        Ok(p) => p,
        Err(e) => panic!("policy should parse: {e}"),
    };
    assert_eq!(
        p.statements()[0].principal_element(),
        PrincipalElement::Implicit
    );
}
