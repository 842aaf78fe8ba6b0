//! Every condition operator, positive and negated, with IfExists, missing keys, multi-valued
//! keys, set operators and Null, evaluated through a whole identity policy.

use crate::support::*;
use trent_policy::{ConditionContext, ContextValue, Mismatch, Principal};

/// What the request carries under the key being tested.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    Absent,
    One(&'a str),
    Many(&'a [&'a str]),
}

const KEY: &str = "test:Key";

fn applies_with_version(
    version: &str,
    operator: &str,
    values: &str,
    ctx: Ctx<'_>,
    extra: &[(&str, &str)],
) -> bool {
    let text = format!(
        r#"{{"Version":"{version}","Statement":{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
            "Condition":{{"{operator}":{{"{KEY}":{values}}}}}}}}}"#
    );
    let policy = identity(&text);
    let mut c = ConditionContext::new();
    match ctx {
        Ctx::Absent => {}
        Ctx::One(v) => {
            c.insert(KEY, v);
        }
        Ctx::Many(vs) => {
            c.insert(
                KEY,
                ContextValue::Multi(vs.iter().map(|s| s.to_string()).collect()),
            );
        }
    }
    for (k, v) in extra {
        c.insert(*k, *v);
    }
    let req = request(
        Principal::user("arn:aws:iam::111122223333:user/alice"),
        "kms:Decrypt",
        KEY_ARN,
        c,
    );
    let outcome = &policy.evaluate(&req).statements[0];
    // A failed statement must blame the condition, never another element.
    if !outcome.applies {
        assert!(
            matches!(&outcome.mismatch, Some(Mismatch::Condition { operator: o, key, .. }) if o == operator && key == KEY),
            "{:?}",
            outcome.mismatch
        );
    }
    outcome.applies
}

fn applies(operator: &str, values: &str, ctx: Ctx<'_>) -> bool {
    applies_with_version("2012-10-17", operator, values, ctx, &[])
}

use Ctx::{Absent, Many, One};

#[test]
fn operator_table() {
    let rows: &[(&str, &str, Ctx<'_>, bool)] = &[
        // String, case-sensitive.
        ("StringEquals", r#""x""#, One("x"), true),
        ("StringEquals", r#""x""#, One("X"), false),
        ("StringEquals", r#""x""#, Absent, false),
        ("StringEquals", r#"["x","y"]"#, One("y"), true),
        ("StringEquals", r#""*""#, One("anything"), false),
        ("StringEquals", r#""*""#, One("*"), true),
        ("StringEquals", r#""x""#, Many(&["a", "x"]), true),
        ("StringEquals", r#""x""#, Many(&["a", "b"]), false),
        ("StringEquals", r#"[]"#, One("x"), false),
        ("StringNotEquals", r#""x""#, One("x"), false),
        ("StringNotEquals", r#""x""#, One("y"), true),
        ("StringNotEquals", r#""x""#, Absent, true),
        ("StringNotEquals", r#"["x","y"]"#, One("y"), false),
        ("StringNotEquals", r#"["x","y"]"#, One("z"), true),
        // Multi-valued without a set operator: ForAnyValue, per-value "matches none".
        ("StringNotEquals", r#""x""#, Many(&["a", "x"]), true),
        ("StringNotEquals", r#""x""#, Many(&["a", "b"]), true),
        ("StringNotEquals", r#""x""#, Many(&["x", "x"]), false),
        ("StringNotEquals", r#"["x","a"]"#, Many(&["a", "x"]), false),
        ("StringNotLike", r#""a*""#, Many(&["ab", "b"]), true),
        ("StringNotLike", r#""a*""#, Many(&["ab", "ac"]), false),
        (
            "NotIpAddress",
            r#""10.0.0.0/8""#,
            Many(&["10.0.0.1", "192.0.2.1"]),
            true,
        ),
        ("StringEqualsIgnoreCase", r#""Prod""#, One("PROD"), true),
        ("StringEqualsIgnoreCase", r#""Prod""#, One("dev"), false),
        ("StringEqualsIgnoreCase", r#""Prod""#, Absent, false),
        ("StringNotEqualsIgnoreCase", r#""Prod""#, One("pRoD"), false),
        ("StringNotEqualsIgnoreCase", r#""Prod""#, One("dev"), true),
        ("StringNotEqualsIgnoreCase", r#""Prod""#, Absent, true),
        ("StringLike", r#""a*c?""#, One("abbcd"), true),
        ("StringLike", r#""a*c?""#, One("ac"), false),
        ("StringLike", r#""a*c?""#, One("Abbcd"), false),
        ("StringLike", r#""a*""#, Absent, false),
        ("StringLike", r#""a*""#, Many(&["x", "ab"]), true),
        ("StringNotLike", r#""a*""#, One("abc"), false),
        ("StringNotLike", r#""a*""#, One("bcd"), true),
        ("StringNotLike", r#""a*""#, Absent, true),
        ("StringEqualsIfExists", r#""x""#, Absent, true),
        ("StringEqualsIfExists", r#""x""#, One("y"), false),
        ("StringEqualsIfExists", r#""x""#, One("x"), true),
        ("StringNotEqualsIfExists", r#""x""#, Absent, true),
        ("StringNotEqualsIfExists", r#""x""#, One("x"), false),
        ("StringLikeIfExists", r#""a*""#, One("b"), false),
        // Numbers: integer and decimal, JSON numbers accepted.
        ("NumericEquals", r#""10""#, One("10"), true),
        ("NumericEquals", r#""10""#, One("10.0"), true),
        ("NumericEquals", r#""10""#, One("010"), true),
        ("NumericEquals", r#"10"#, One("11"), false),
        ("NumericEquals", r#""10""#, One("ten"), false),
        ("NumericEquals", r#""10""#, Absent, false),
        ("NumericNotEquals", r#""10""#, One("10"), false),
        ("NumericNotEquals", r#""10""#, One("11"), true),
        ("NumericNotEquals", r#""10""#, Absent, true),
        ("NumericLessThan", r#""10""#, One("9.99"), true),
        ("NumericLessThan", r#""10""#, One("10"), false),
        ("NumericLessThan", r#""10""#, One("-1"), true),
        ("NumericLessThanEquals", r#"10"#, One("10"), true),
        ("NumericLessThanEquals", r#""10""#, One("10.01"), false),
        (
            "NumericLessThanEquals",
            r#""1546257599.0""#,
            One("1546257599"),
            true,
        ),
        ("NumericGreaterThan", r#""10""#, One("10.5"), true),
        ("NumericGreaterThan", r#""10""#, One("10"), false),
        ("NumericGreaterThanEquals", r#"10.5"#, One("10.5"), true),
        ("NumericGreaterThanEquals", r#""10""#, One("9"), false),
        ("NumericLessThanIfExists", r#""10""#, Absent, true),
        ("NumericLessThanIfExists", r#""10""#, One("11"), false),
        // Dates: ISO-8601 and epoch seconds on either side.
        (
            "DateEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("1577836800"),
            true,
        ),
        (
            "DateEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("2020-01-01T00:00:00Z"),
            true,
        ),
        (
            "DateEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("2020-01-01T00:00:01Z"),
            false,
        ),
        (
            "DateEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("tomorrow"),
            false,
        ),
        (
            "DateNotEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("1577836800"),
            false,
        ),
        (
            "DateNotEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("1577836801"),
            true,
        ),
        ("DateNotEquals", r#""2020-01-01T00:00:00Z""#, Absent, true),
        (
            "DateLessThan",
            r#""2020-01-01T00:00:00Z""#,
            One("2019-12-31T23:59:59Z"),
            true,
        ),
        (
            "DateLessThan",
            r#""2020-01-01T00:00:00Z""#,
            One("2020-01-01T00:00:00Z"),
            false,
        ),
        ("DateLessThan", r#""2020-01-01T00:00:00Z""#, Absent, false),
        (
            "DateLessThanEquals",
            r#""2020-01-01T00:00:00Z""#,
            One("2020-01-01T00:00:00Z"),
            true,
        ),
        (
            "DateGreaterThan",
            r#""2020-01-01T00:00:00Z""#,
            One("2020-06-01"),
            true,
        ),
        (
            "DateGreaterThan",
            r#""2020-01-01T00:00:00Z""#,
            One("2019-06-01"),
            false,
        ),
        (
            "DateGreaterThanEquals",
            r#""1577836800""#,
            One("2020-01-01T00:00:00Z"),
            true,
        ),
        (
            "DateGreaterThanEqualsIfExists",
            r#""1577836800""#,
            Absent,
            true,
        ),
        // Bool, case-insensitive, JSON booleans accepted.
        ("Bool", r#""true""#, One("true"), true),
        ("Bool", r#"true"#, One("TRUE"), true),
        ("Bool", r#""true""#, One("false"), false),
        ("Bool", r#""true""#, Absent, false),
        ("Bool", r#"false"#, One("false"), true),
        ("BoolIfExists", r#"false"#, Absent, true),
        ("BoolIfExists", r#"false"#, One("true"), false),
        // Binary.
        (
            "BinaryEquals",
            r#""QmluYXJ5VmFsdWU=""#,
            One("QmluYXJ5VmFsdWU="),
            true,
        ),
        (
            "BinaryEquals",
            r#""QmluYXJ5VmFsdWU=""#,
            One("b3RoZXI="),
            false,
        ),
        (
            "BinaryEquals",
            r#""QmluYXJ5VmFsdWU=""#,
            One("not base64!"),
            false,
        ),
        ("BinaryEquals", r#""QmluYXJ5VmFsdWU=""#, Absent, false),
        (
            "BinaryEqualsIfExists",
            r#""QmluYXJ5VmFsdWU=""#,
            Absent,
            true,
        ),
        // IP addresses and CIDR blocks.
        ("IpAddress", r#""203.0.113.0/24""#, One("203.0.113.5"), true),
        (
            "IpAddress",
            r#""203.0.113.0/24""#,
            One("198.51.100.1"),
            false,
        ),
        ("IpAddress", r#""203.0.113.0/24""#, One("garbage"), false),
        ("IpAddress", r#""203.0.113.0/24""#, Absent, false),
        ("IpAddress", r#""2001:db8::/32""#, One("2001:db8::1"), true),
        ("IpAddress", r#""192.0.2.7""#, One("192.0.2.7"), true),
        ("IpAddress", r#""192.0.2.7""#, One("192.0.2.8"), false),
        ("IpAddress", r#""2001:db8::7""#, One("2001:db8::8"), false),
        (
            "IpAddress",
            r#"["10.0.0.0/8","2001:db8::/32"]"#,
            One("2001:db8::5"),
            true,
        ),
        (
            "NotIpAddress",
            r#""203.0.113.0/24""#,
            One("203.0.113.5"),
            false,
        ),
        ("NotIpAddress", r#""203.0.113.0/24""#, One("10.0.0.1"), true),
        ("NotIpAddress", r#""203.0.113.0/24""#, Absent, true),
        (
            "NotIpAddressIfExists",
            r#""203.0.113.0/24""#,
            One("203.0.113.9"),
            false,
        ),
        // ARNs, per segment.
        (
            "ArnLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            One("arn:aws:iam::111122223333:role/R"),
            true,
        ),
        (
            "ArnLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            One("arn:aws:iam::444455556666:role/R"),
            false,
        ),
        (
            "ArnLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            Absent,
            false,
        ),
        (
            "ArnEquals",
            r#""arn:aws:iam::*:role/R""#,
            One("arn:aws:iam::111122223333:role/R"),
            true,
        ),
        (
            "ArnEquals",
            r#""arn:aws:iam::111122223333:role/R""#,
            One("arn:aws:iam::111122223333:role/r"),
            false,
        ),
        (
            "ArnNotLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            One("arn:aws:iam::111122223333:role/R"),
            false,
        ),
        (
            "ArnNotLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            One("arn:aws:iam::444455556666:role/R"),
            true,
        ),
        (
            "ArnNotLike",
            r#""arn:aws:iam::111122223333:role/*""#,
            Absent,
            true,
        ),
        (
            "ArnNotEquals",
            r#""arn:aws:iam::111122223333:role/R""#,
            One("arn:aws:iam::111122223333:role/R"),
            false,
        ),
        (
            "ArnLike",
            r#""arn:aws:svc:*:111122223333:finance/*""#,
            One("arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x"),
            false,
        ),
        (
            "StringLike",
            r#""arn:aws:svc:*:111122223333:finance/*""#,
            One("arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x"),
            true,
        ),
        (
            "ArnLikeIfExists",
            r#""arn:aws:iam::111122223333:role/*""#,
            Absent,
            true,
        ),
        // Null.
        ("Null", r#""true""#, Absent, true),
        ("Null", r#"true"#, One("x"), false),
        ("Null", r#""false""#, One("x"), true),
        ("Null", r#"false"#, Absent, false),
        ("Null", r#"false"#, Many(&[]), false),
        ("Null", r#"true"#, Many(&[]), true),
        // Set operators.
        (
            "ForAllValues:StringEquals",
            r#"["a","b"]"#,
            Many(&["a"]),
            true,
        ),
        (
            "ForAllValues:StringEquals",
            r#"["a","b"]"#,
            Many(&["a", "b"]),
            true,
        ),
        (
            "ForAllValues:StringEquals",
            r#"["a","b"]"#,
            Many(&["a", "c"]),
            false,
        ),
        ("ForAllValues:StringEquals", r#"["a","b"]"#, Absent, true),
        ("ForAllValues:StringEquals", r#"["a","b"]"#, Many(&[]), true),
        ("ForAllValues:StringEquals", r#"["a"]"#, One("a"), true),
        ("ForAllValues:StringEquals", r#"["a"]"#, One("b"), false),
        (
            "ForAnyValue:StringEquals",
            r#"["a","b"]"#,
            Many(&["c", "b"]),
            true,
        ),
        (
            "ForAnyValue:StringEquals",
            r#"["a","b"]"#,
            Many(&["c"]),
            false,
        ),
        ("ForAnyValue:StringEquals", r#"["a","b"]"#, Absent, false),
        ("ForAnyValue:StringEquals", r#"["a","b"]"#, Many(&[]), false),
        ("ForAnyValue:StringEquals", r#"["a"]"#, One("a"), true),
        (
            "ForAllValues:StringNotEquals",
            r#"["a"]"#,
            Many(&["b", "c"]),
            true,
        ),
        (
            "ForAllValues:StringNotEquals",
            r#"["a"]"#,
            Many(&["a", "b"]),
            false,
        ),
        ("ForAllValues:StringNotEquals", r#"["a"]"#, Absent, true),
        (
            "ForAnyValue:StringNotEquals",
            r#"["a"]"#,
            Many(&["a", "b"]),
            true,
        ),
        (
            "ForAnyValue:StringNotEquals",
            r#"["a"]"#,
            Many(&["a"]),
            false,
        ),
        ("ForAnyValue:StringNotEquals", r#"["a"]"#, Absent, false),
        (
            "ForAllValues:StringLike",
            r#"["a*"]"#,
            Many(&["ab", "ac"]),
            true,
        ),
        (
            "ForAllValues:StringLike",
            r#"["a*"]"#,
            Many(&["ab", "bc"]),
            false,
        ),
        (
            "ForAnyValue:StringLike",
            r#"["a*"]"#,
            Many(&["xb", "ac"]),
            true,
        ),
        ("ForAnyValue:StringEqualsIfExists", r#"["a"]"#, Absent, true),
        (
            "ForAnyValue:StringEqualsIfExists",
            r#"["a"]"#,
            Many(&["b"]),
            false,
        ),
        (
            "ForAllValues:StringEqualsIgnoreCase",
            r#"["Decrypt","Encrypt"]"#,
            Many(&["decrypt", "ENCRYPT"]),
            true,
        ),
        (
            "ForAnyValue:NumericLessThan",
            r#""5""#,
            Many(&["10", "3"]),
            true,
        ),
        (
            "ForAllValues:NumericLessThan",
            r#""5""#,
            Many(&["10", "3"]),
            false,
        ),
        (
            "ForAnyValue:IpAddress",
            r#""10.0.0.0/8""#,
            Many(&["192.0.2.1", "10.1.2.3"]),
            true,
        ),
        (
            "ForAllValues:ArnLike",
            r#""arn:aws:iam::1:role/*""#,
            Many(&["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]),
            true,
        ),
    ];
    let mut failures = Vec::new();
    for (i, &(op, values, ctx, want)) in rows.iter().enumerate() {
        if applies(op, values, ctx) != want {
            failures.push(format!("row {i}: {op} {values} expected {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn variables_in_condition_values() {
    let user = [("aws:username", "alice")];
    let v = "2012-10-17";
    assert!(applies_with_version(
        v,
        "StringEquals",
        r#""${aws:username}""#,
        One("alice"),
        &user
    ));
    assert!(!applies_with_version(
        v,
        "StringEquals",
        r#""${aws:username}""#,
        One("bob"),
        &user
    ));
    // No value: positive operators fail, negated ones match.
    assert!(!applies_with_version(
        v,
        "StringEquals",
        r#""${aws:username}""#,
        One("alice"),
        &[]
    ));
    assert!(!applies_with_version(
        v,
        "StringLike",
        r#""*${aws:username}*""#,
        One("alice"),
        &[]
    ));
    assert!(applies_with_version(
        v,
        "StringNotEquals",
        r#""${aws:username}""#,
        One("alice"),
        &[]
    ));
    assert!(applies_with_version(
        v,
        "StringNotLike",
        r#""${aws:username}*""#,
        One("alice"),
        &[]
    ));
    // Defaults.
    let def = r#""${aws:PrincipalTag/team, 'company-wide'}""#;
    assert!(applies_with_version(
        v,
        "StringEquals",
        def,
        One("company-wide"),
        &[]
    ));
    assert!(applies_with_version(
        v,
        "StringEquals",
        def,
        One("blue"),
        &[("aws:principaltag/TEAM", "blue")]
    ));
    // Variable names are case-insensitive.
    assert!(applies_with_version(
        v,
        "StringEquals",
        r#""${AWS:UserName}""#,
        One("alice"),
        &user
    ));
    // Escapes are literal, not wildcards.
    assert!(applies_with_version(
        v,
        "StringLike",
        r#""a${*}""#,
        One("a*"),
        &[]
    ));
    assert!(!applies_with_version(
        v,
        "StringLike",
        r#""a${*}""#,
        One("ab"),
        &[]
    ));
    assert!(applies_with_version(
        v,
        "StringLike",
        r#""${$}{x}${?}""#,
        One("${x}?"),
        &[]
    ));
    // ARN operators take variables too.
    assert!(applies_with_version(
        v,
        "ArnLike",
        r#""arn:aws:iam::111122223333:user/${aws:username}""#,
        One("arn:aws:iam::111122223333:user/alice"),
        &user
    ));
    // Bool accepts variables (spec §10 #13).
    assert!(applies_with_version(
        v,
        "Bool",
        r#""${aws:PrincipalTag/mfa}""#,
        One("true"),
        &[("aws:PrincipalTag/mfa", "true")]
    ));
    // Without Version 2012-10-17, ${...} is text.
    assert!(applies_with_version(
        "2008-10-17",
        "StringEquals",
        r#""${aws:username}""#,
        One("${aws:username}"),
        &user
    ));
    assert!(!applies_with_version(
        "2008-10-17",
        "StringEquals",
        r#""${aws:username}""#,
        One("alice"),
        &user
    ));
}

#[test]
fn condition_key_names_are_case_insensitive_values_are_not() {
    let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:AppName":"App"}}}}"#;
    let p = identity(text);
    let caller = || Principal::user("arn:aws:iam::111122223333:user/alice");
    let ok = ConditionContext::new().with("KMS:encryptioncontext:APPNAME", "App");
    assert!(
        p.evaluate(&request(caller(), "kms:Decrypt", KEY_ARN, ok))
            .any_allow()
            .is_some()
    );
    let wrong_case_value = ConditionContext::new().with("kms:EncryptionContext:AppName", "app");
    assert!(
        p.evaluate(&request(caller(), "kms:Decrypt", KEY_ARN, wrong_case_value))
            .any_allow()
            .is_none()
    );
}

#[test]
fn clauses_and_and_values_or() {
    let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*",
        "Condition":{"StringEquals":{"a":["1","2"],"b":"x"},"Bool":{"c":"true"}}}}"#;
    let p = identity(text);
    let caller = || Principal::user("arn:aws:iam::111122223333:user/alice");
    let ctx = |a: &str, b: &str, c: &str| {
        ConditionContext::new()
            .with("a", a)
            .with("b", b)
            .with("c", c)
    };
    let eval = |c| p.evaluate(&request(caller(), "kms:Decrypt", KEY_ARN, c));
    assert!(eval(ctx("2", "x", "true")).any_allow().is_some());
    assert!(eval(ctx("1", "x", "true")).any_allow().is_some());
    let r = eval(ctx("3", "x", "true"));
    assert!(
        matches!(&r.statements[0].mismatch, Some(Mismatch::Condition { key, .. }) if key == "a")
    );
    let r = eval(ctx("1", "y", "true"));
    assert!(
        matches!(&r.statements[0].mismatch, Some(Mismatch::Condition { key, .. }) if key == "b")
    );
    let r = eval(ctx("1", "x", "false"));
    assert!(
        matches!(&r.statements[0].mismatch, Some(Mismatch::Condition { operator, .. }) if operator == "Bool")
    );
}
