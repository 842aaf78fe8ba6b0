//! `trent policy simulate`: the real binary, fed through stdin or a file. Covers the spec §11
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! vectors that need no server (1–12), the general IAM rules, `--explain` and `--json` output, and
//! invalid inputs (one-line errors, non-zero exit).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const B: &str = "111122223333";
const A: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const SESSION_R: &str = "arn:aws:sts::111122223333:assumed-role/R/s";
const SESSION_R2: &str = "arn:aws:sts::111122223333:assumed-role/R2/s";
const ROLE_R: &str = "arn:aws:iam::111122223333:role/R";
const SESSION_A: &str = "arn:aws:sts::444455556666:assumed-role/RA/s";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .arg("policy")
        .arg("simulate")
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `--json` on stdin; the run must answer, with exit status 0 for an allow and 1 for a deny.
fn simulate(input: &Value) -> Value {
    let r = run(&["--json"], &input.to_string());
    let out: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", r.stdout, r.stderr));
    let allowed = out["decision"] == "Allow";
    assert_eq!(r.code, i32::from(!allowed), "stderr: {}", r.stderr);
    out
}

/// A run that must fail: returns its one-line error.
fn error(args: &[&str], stdin: &str) -> String {
    let r = run(args, stdin);
    assert_eq!(
        r.code, 2,
        "expected an input error, got stdout {}",
        r.stdout
    );
    assert!(r.stdout.is_empty(), "stdout on error: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {:?}", r.stderr);
    assert!(lines[0].starts_with("trent: "), "{}", lines[0]);
    lines[0].to_string()
}

fn default_statement(account: &str) -> Value {
    json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
           "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
           "Action": "kms:*", "Resource": "*"})
}

fn key_policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn iam(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn denied(action: &str, resource: &str, principal: &str, context: &str) -> String {
    let on = if resource == "*" {
        String::new()
    } else {
        format!(" on resource: {resource}")
    };
    format!("User: {principal} is not authorized to perform: {action}{on} {context}")
}

fn no_identity(action: &str) -> String {
    format!("because no identity-based policy allows the {action} action")
}

fn no_resource(action: &str) -> String {
    format!("because no resource-based policy allows the {action} action")
}

const EXPLICIT_RESOURCE: &str = "with an explicit deny in a resource-based policy";
const EXPLICIT_IDENTITY: &str = "with an explicit deny in an identity-based policy";

fn assert_decision(out: &Value, decision: &str, message: Option<&str>) {
    assert_eq!(out["decision"], decision, "{out:#}");
    match message {
        Some(m) => {
            assert_eq!(out["message"], m, "{out:#}");
            assert!(out.get("deniedBy").is_some(), "{out:#}");
            assert!(out.get("allowedBy").is_none(), "{out:#}");
        }
        None => {
            assert!(out.get("message").is_none(), "{out:#}");
            assert!(out.get("allowedBy").is_some(), "{out:#}");
            assert!(out.get("deniedBy").is_none(), "{out:#}");
        }
    }
}

// ---- spec §11, rows 1–8 -----------------------------------------------------------------------

#[test]
fn row1_default_policy_without_iam_is_denied_for_identity_reasons() {
    let out = simulate(&json!({"principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY}));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:Decrypt",
            KEY,
            SESSION_R,
            &no_identity("kms:Decrypt"),
        )),
    );
    assert_eq!(out["deniedBy"]["kind"], "noIdentityBasedAllow");
    // With no resourcePolicy, a key has the default key policy.
    assert_eq!(out["explanation"]["resourcePolicy"]["source"], "default");
}

#[test]
fn row2_default_policy_with_iam_allow() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:Decrypt", "arn:aws:kms:*:111122223333:key/*")],
        "resourcePolicy": key_policy(vec![default_statement(B)]),
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "keyPolicyDelegatesToIam");
    assert_eq!(out["allowedBy"]["statement"]["index"], 0);
    assert_eq!(
        out["allowedBy"]["identity"]["policy"],
        "identityPolicies[0]"
    );
}

fn role_only_policy() -> Value {
    key_policy(vec![
        json!({"Effect": "Allow", "Principal": {"AWS": ROLE_R},
                           "Action": "kms:Decrypt", "Resource": "*"}),
    ])
}

#[test]
fn row3_role_named_in_key_policy_needs_no_iam() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": role_only_policy(),
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "keyPolicyAllows");
    assert_eq!(
        out["explanation"]["identityPolicies"]["consulted"], false,
        "{out:#}"
    );
}

#[test]
fn row4_other_role_is_denied_for_resource_reasons() {
    let out = simulate(&json!({
        "principal": SESSION_R2, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:Decrypt", "*")],
        "resourcePolicy": role_only_policy(),
    }));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:Decrypt",
            KEY,
            SESSION_R2,
            &no_resource("kms:Decrypt"),
        )),
    );
    assert_eq!(out["deniedBy"]["kind"], "noResourceBasedAllow");
}

fn deny_without_ec_policy() -> Value {
    key_policy(vec![
        default_statement(B),
        json!({"Sid": "RequireApp", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
               "Resource": "*",
               "Condition": {"StringNotEquals": {"kms:EncryptionContext:app": "x"}}}),
    ])
}

#[test]
fn row5_negated_condition_on_missing_ec_denies_explicitly() {
    let base = json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:*", "*")],
        "resourcePolicy": deny_without_ec_policy(),
    });
    let out = simulate(&base);
    assert_decision(
        &out,
        "ExplicitDeny",
        Some(&denied("kms:Decrypt", KEY, SESSION_R, EXPLICIT_RESOURCE)),
    );
    assert_eq!(out["deniedBy"]["kind"], "keyPolicyDenies");
    assert_eq!(out["deniedBy"]["statement"]["sid"], "RequireApp");

    // With the required encryption context the deny does not apply.
    let mut with_ec = base.clone();
    with_ec["context"] = json!({"kms:EncryptionContext:app": "x"});
    assert_decision(&simulate(&with_ec), "Allow", None);
    // Another value: denied again.
    with_ec["context"] = json!({"kms:EncryptionContext:app": "y"});
    assert_eq!(simulate(&with_ec)["decision"], "ExplicitDeny");
}

#[test]
fn explicit_deny_in_identity_policy_on_missing_ec() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [
            iam("kms:*", "*"),
            {"name": "require-ec", "document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"Null": {"kms:EncryptionContextKeys": "true"}}}]}},
        ],
    }));
    assert_decision(
        &out,
        "ExplicitDeny",
        Some(&denied("kms:Decrypt", KEY, SESSION_R, EXPLICIT_IDENTITY)),
    );
    assert_eq!(out["deniedBy"]["kind"], "identityPolicyDenies");
    assert_eq!(out["deniedBy"]["policy"], "require-ec");
}

fn cross_account_policy(action: &str) -> Value {
    key_policy(vec![
        default_statement(B),
        json!({"Effect": "Allow", "Principal": {"AWS": A}, "Action": action, "Resource": "*"}),
    ])
}

#[test]
fn row6_cross_account_without_caller_iam_is_denied_for_identity_reasons() {
    let out = simulate(&json!({
        "principal": SESSION_A, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": cross_account_policy("kms:Decrypt"),
    }));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:Decrypt",
            KEY,
            SESSION_A,
            &no_identity("kms:Decrypt"),
        )),
    );
}

#[test]
fn row7_cross_account_with_both_sides() {
    let out = simulate(&json!({
        "principal": SESSION_A, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:Decrypt", KEY)],
        "resourcePolicy": cross_account_policy("kms:Decrypt"),
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "keyPolicyDelegatesToIam");
    assert_eq!(out["allowedBy"]["statement"]["index"], 1);
}

#[test]
fn row8_schedule_key_deletion_is_not_a_cross_account_action() {
    let out = simulate(&json!({
        "principal": SESSION_A, "action": "kms:ScheduleKeyDeletion", "resource": KEY,
        "identityPolicies": [iam("kms:ScheduleKeyDeletion", KEY)],
        "resourcePolicy": cross_account_policy("kms:*"),
    }));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:ScheduleKeyDeletion",
            KEY,
            SESSION_A,
            &no_resource("kms:ScheduleKeyDeletion"),
        )),
    );
    assert_eq!(out["deniedBy"]["kind"], "notCrossAccountAction");
}

// ---- spec §11, rows 9–12 (grants) ---------------------------------------------------------------

fn grant_to_r() -> Value {
    json!({"GrantId": "g1", "GranteePrincipal": ROLE_R, "Operations": ["Decrypt"],
           "Constraints": {"EncryptionContextSubset": {"app": "x"}}})
}

#[test]
fn row9_grant_with_subset_constraint_allows_extra_pairs() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "context": {"kms:EncryptionContext:app": "x", "kms:EncryptionContext:v": "1"},
        "grants": [grant_to_r()],
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "grant");
    assert!(out["allowedBy"].to_string().contains("\"g1\""), "{out:#}");
    let g = &out["explanation"]["grants"]["grants"][0];
    assert_eq!(g["applies"], true);
    assert_eq!(g["granteeMatches"], true);
}

#[test]
fn row10_grant_ec_keys_are_case_insensitive() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "context": {"kms:EncryptionContext:APP": "x"},
        "grants": [grant_to_r()],
    }));
    assert_decision(&out, "Allow", None);
    // Values stay case-sensitive.
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "context": {"kms:EncryptionContext:app": "X"},
        "grants": [grant_to_r()],
    }));
    assert_eq!(out["decision"], "ImplicitDeny");
}

#[test]
fn row11_operation_outside_the_grant_is_denied() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:DescribeKey", "resource": KEY,
        "grants": [grant_to_r()],
    }));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:DescribeKey",
            KEY,
            SESSION_R,
            &no_identity("kms:DescribeKey"),
        )),
    );
    let g = &out["explanation"]["grants"]["grants"][0];
    assert_eq!(g["applies"], false);
    assert_eq!(
        g["mismatch"],
        "the grant's operations [Decrypt] do not include DescribeKey"
    );
}

#[test]
fn row12_key_policy_deny_beats_a_grant() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "context": {"kms:EncryptionContext:app": "x"},
        "resourcePolicy": key_policy(vec![
            default_statement(B),
            json!({"Effect": "Deny", "Principal": {"AWS": ROLE_R}, "Action": "kms:Decrypt",
                   "Resource": "*"}),
        ]),
        "grants": [grant_to_r()],
    }));
    assert_decision(
        &out,
        "ExplicitDeny",
        Some(&denied("kms:Decrypt", KEY, SESSION_R, EXPLICIT_RESOURCE)),
    );
}

#[test]
fn grants_without_ec_for_another_key_or_another_grantee_do_not_apply() {
    let request = |grant: Value, context: Value| {
        simulate(&json!({
            "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
            "context": context, "grants": [grant],
        }))
    };
    // No encryption context: a non-empty Subset constraint is not met.
    let out = request(grant_to_r(), json!({}));
    assert_eq!(out["decision"], "ImplicitDeny");
    // A grant for another key.
    let mut other_key = grant_to_r();
    other_key["KeyId"] = json!("arn:aws:kms:us-east-1:111122223333:key/other");
    let out = request(other_key, json!({"kms:EncryptionContext:app": "x"}));
    assert_eq!(out["decision"], "ImplicitDeny");
    // The key ID alone names this key.
    let mut by_id = grant_to_r();
    by_id["KeyId"] = json!(KEY_ID);
    assert_eq!(
        request(by_id, json!({"kms:EncryptionContext:app": "x"}))["decision"],
        "Allow"
    );
    // Another grantee: resource-based reason (nothing names the caller).
    let out = simulate(&json!({
        "principal": SESSION_R2, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": role_only_policy(),
        "context": {"kms:EncryptionContext:app": "x"}, "grants": [grant_to_r()],
    }));
    assert_eq!(out["deniedBy"]["kind"], "noResourceBasedAllow");
}

#[test]
fn grants_count_only_for_actions_a_grant_can_allow() {
    // As in the server: a grant naming the caller does not turn a resource-based denial of a
    // non-grantable action into an identity-based one.
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:ScheduleKeyDeletion", "resource": KEY,
        "resourcePolicy": role_only_policy(),
        "grants": [grant_to_r()],
    }));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:ScheduleKeyDeletion",
            KEY,
            SESSION_R,
            &no_resource("kms:ScheduleKeyDeletion"),
        )),
    );
    let g = &out["explanation"]["grants"];
    assert_eq!(g["consulted"], false);
    assert_eq!(g["grants"], json!([]));
    assert_eq!(
        g["note"],
        "not consulted: no grant can allow kms:ScheduleKeyDeletion"
    );
}

// ---- principals and condition keys ----------------------------------------------------------------

#[test]
fn root_user_passes_the_iam_side_but_not_without_the_account_statement() {
    let root = format!("arn:aws:iam::{B}:root");
    let out = simulate(&json!({"principal": root, "action": "kms:Decrypt", "resource": KEY}));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["identity"]["kind"], "rootUser");
    let out = simulate(&json!({
        "principal": root, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": role_only_policy(),
    }));
    assert_eq!(out["decision"], "ImplicitDeny");
}

#[test]
fn service_principal_named_in_the_key_policy_is_allowed_alone() {
    let policy = key_policy(vec![
        default_statement(B),
        json!({"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
               "Action": "kms:GenerateDataKey*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:SourceAccount": B}}}),
    ]);
    let mut input = json!({
        "principal": "cloudtrail.amazonaws.com", "action": "kms:GenerateDataKey",
        "resource": KEY, "resourcePolicy": policy, "context": {"aws:SourceAccount": B},
    });
    let out = simulate(&input);
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "keyPolicyAllows");
    assert_eq!(out["explanation"]["principal"]["type"], "Service");
    input["context"] = json!({"aws:SourceAccount": A});
    let out = simulate(&input);
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:GenerateDataKey",
            KEY,
            "cloudtrail.amazonaws.com",
            &no_resource("kms:GenerateDataKey"),
        )),
    );
}

#[test]
fn standard_condition_keys_are_populated_unless_the_input_sets_them() {
    let user = format!("arn:aws:iam::{B}:user/dev/alice");
    let policy = key_policy(vec![json!({
        "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/team": "a", "aws:username": "alice",
                             "aws:PrincipalType": "User", "kms:CallerAccount": B,
                             "aws:PrincipalAccount": B},
            "ArnEquals": {"aws:PrincipalArn": user},
        }
    })]);
    let input = json!({
        "principal": user, "principalTags": {"team": "a"}, "action": "kms:Decrypt",
        "resource": KEY, "resourcePolicy": policy,
    });
    let out = simulate(&input);
    assert_decision(&out, "Allow", None);
    let context = &out["explanation"]["context"];
    assert_eq!(context["aws:username"], "alice");
    assert_eq!(context["aws:PrincipalTag/team"], "a");
    assert_eq!(context["aws:PrincipalArn"], user);

    // The input's context wins.
    let mut overridden = input.clone();
    overridden["context"] = json!({"aws:PrincipalTag/team": "b"});
    let out = simulate(&overridden);
    assert_eq!(out["decision"], "ImplicitDeny");
    assert_eq!(out["explanation"]["context"]["aws:PrincipalTag/team"], "b");

    // Sessions: aws:PrincipalArn is the role ARN (with its path when roleArn gives it).
    let session = json!({
        "principal": SESSION_R, "roleArn": "arn:aws:iam::111122223333:role/team/R",
        "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": key_policy(vec![json!({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/team/R"},
            "Action": "kms:Decrypt", "Resource": "*"})]),
    });
    let out = simulate(&session);
    assert_decision(&out, "Allow", None);
    assert_eq!(
        out["explanation"]["context"]["aws:PrincipalArn"],
        "arn:aws:iam::111122223333:role/team/R"
    );
    assert_eq!(
        out["explanation"]["context"]["aws:PrincipalType"],
        "AssumedRole"
    );
    assert!(out["explanation"]["context"].get("aws:username").is_none());
}

#[test]
fn encryption_context_keys_are_derived_and_policy_variables_resolve() {
    let user = format!("arn:aws:iam::{B}:user/alice");
    let out = simulate(&json!({
        "principal": user, "action": "kms:Encrypt", "resource": KEY,
        "context": {"kms:EncryptionContext:owner": "alice", "aws:SourceIp": "10.0.0.1"},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"},
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["owner"]},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}],
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(
        out["explanation"]["context"]["kms:EncryptionContextKeys"],
        json!(["owner"])
    );
}

#[test]
fn federated_user_principal() {
    let fed = format!("arn:aws:sts::{B}:federated-user/bob");
    let out = simulate(&json!({
        "principal": fed, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": key_policy(vec![json!({"Effect": "Allow", "Principal": {"AWS": fed},
                                                 "Action": "kms:Decrypt", "Resource": "*"})]),
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["explanation"]["principal"]["type"], "FederatedUser");
    assert_eq!(
        out["explanation"]["context"]["aws:PrincipalType"],
        "FederatedUser"
    );
}

// ---- resource-less KMS actions and the general IAM rules ---------------------------------------

#[test]
fn resource_less_kms_actions_follow_iam_alone() {
    let user = format!("arn:aws:iam::{B}:user/alice");
    let out = simulate(&json!({"principal": user, "action": "kms:ListKeys", "resource": "*"}));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "kms:ListKeys",
            "*",
            &user,
            &no_identity("kms:ListKeys"),
        )),
    );
    let out = simulate(&json!({
        "principal": user, "action": "kms:CreateKey", "resource": "*",
        "identityPolicies": [iam("kms:CreateKey", "*")],
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "identityAllows");
    let out = simulate(&json!({
        "principal": user, "action": "kms:CreateKey", "resource": "*",
        "identityPolicies": [iam("kms:*", "*"), {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*"}]}],
    }));
    assert_decision(
        &out,
        "ExplicitDeny",
        Some(&denied("kms:CreateKey", "*", &user, EXPLICIT_IDENTITY)),
    );
    // Action names are case-insensitive; messages use AWS's spelling.
    let out = simulate(&json!({"principal": user, "action": "KMS:listkeys", "resource": "*"}));
    assert_eq!(out["explanation"]["action"], "kms:ListKeys");
}

fn bucket_policy(principal: &str, effect: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": effect,
        "Principal": {"AWS": principal}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/*"}]})
}

#[test]
fn general_iam_rules_same_account_and_cross_account() {
    let object = "arn:aws:s3:::bucket/file";
    let alice = format!("arn:aws:iam::{B}:user/alice");
    let carol = format!("arn:aws:iam::{A}:user/carol");
    let get = |principal: &str, identity: Vec<Value>, policy: Option<Value>| {
        let mut input = json!({"principal": principal, "action": "s3:GetObject",
                               "resource": object, "resourceAccount": B,
                               "identityPolicies": identity});
        if let Some(p) = policy {
            input["resourcePolicy"] = p;
        }
        simulate(&input)
    };
    // Same account: an identity policy alone is enough...
    let out = get(&alice, vec![iam("s3:GetObject", "*")], None);
    assert_decision(&out, "Allow", None);
    assert_eq!(out["explanation"]["rules"], "iam");
    // ...and so is a resource policy naming the caller.
    let out = get(&alice, vec![], Some(bucket_policy(&alice, "Allow")));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "resourcePolicyAllows");
    // Neither: identity-based reason.
    let out = get(&alice, vec![], None);
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "s3:GetObject",
            object,
            &alice,
            &no_identity("s3:GetObject"),
        )),
    );
    // Cross-account: the resource policy alone is not enough...
    let out = get(&carol, vec![], Some(bucket_policy(A, "Allow")));
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "s3:GetObject",
            object,
            &carol,
            &no_identity("s3:GetObject"),
        )),
    );
    // ...nor IAM alone...
    let out = get(&carol, vec![iam("s3:GetObject", "*")], None);
    assert_decision(
        &out,
        "ImplicitDeny",
        Some(&denied(
            "s3:GetObject",
            object,
            &carol,
            &no_resource("s3:GetObject"),
        )),
    );
    // ...but both are.
    let out = get(
        &carol,
        vec![iam("s3:GetObject", "*")],
        Some(bucket_policy(A, "Allow")),
    );
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "resourcePolicyAndIdentityAllow");
    // An explicit deny in the resource policy wins.
    let out = get(
        &alice,
        vec![iam("s3:*", "*")],
        Some(bucket_policy("*", "Deny")),
    );
    assert_decision(
        &out,
        "ExplicitDeny",
        Some(&denied("s3:GetObject", object, &alice, EXPLICIT_RESOURCE)),
    );
}

// ---- output forms ---------------------------------------------------------------------------------

fn row4_input() -> Value {
    json!({
        "principal": SESSION_R2, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [{"name": "decrypt-all", "document": iam("kms:Decrypt", "*")}],
        "resourcePolicy": role_only_policy(),
        "grants": [grant_to_r()],
    })
}

#[test]
fn plain_output_is_the_decision_and_the_message() {
    let r = run(&[], &row4_input().to_string());
    // Exit status: 1 for a denial, 0 for an allow (below).
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ImplicitDeny",
            denied("kms:Decrypt", KEY, SESSION_R2, &no_resource("kms:Decrypt")).as_str()
        ]
    );
    let r = run(
        &[],
        &json!({"principal": format!("arn:aws:iam::{B}:root"),
                             "action": "kms:Decrypt", "resource": KEY})
        .to_string(),
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("Allow\nallowed by: "), "{}", r.stdout);
}

#[test]
fn explain_traces_every_policy_statement_and_grant() {
    let r = run(&["--explain"], &row4_input().to_string());
    assert_eq!(r.code, 1, "a denial: {}", r.stderr);
    let text = r.stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ImplicitDeny");
    assert_eq!(
        lines[1],
        denied("kms:Decrypt", KEY, SESSION_R2, &no_resource("kms:Decrypt"))
    );
    for expected in [
        "key policy (from the input):",
        "  statement 0: Allow does not apply: the principal does not match",
        "identity policies: not consulted: the key policy does not delegate to account 111122223333",
        "  policy \"decrypt-all\":",
        "    statement 0: Allow applies (direct principal match)",
        "grants:",
        "  grant g1 to arn:aws:iam::111122223333:role/R: does not match: the grantee arn:aws:iam::111122223333:role/R is not the caller",
        "condition keys:",
        "  aws:PrincipalArn = \"arn:aws:iam::111122223333:role/R2\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    // An allowing delegation names both sides; a condition that fails is explained.
    let mut input = json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:*", "*")],
        "resourcePolicy": deny_without_ec_policy(),
        "context": {"kms:EncryptionContext:app": "x"},
        "grants": [grant_to_r()],
    });
    let text = run(&["--explain"], &input.to_string()).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Allow");
    assert_eq!(
        lines[1],
        "allowed by: key policy statement 0 (Sid \"Enable IAM User Permissions\") together with identity policy \"identityPolicies[0]\" statement 0"
    );
    for expected in [
        "  statement 0 (Sid \"Enable IAM User Permissions\"): Allow applies (account-level principal match)",
        "  statement 1 (Sid \"RequireApp\"): Deny does not apply: condition StringNotEquals on kms:EncryptionContext:app is not met",
        "identity policies: consulted: the key policy delegates to account 111122223333",
        "  grant g1 to arn:aws:iam::111122223333:role/R: matches",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    input["context"] = json!({});
    let text = run(&["--explain"], &input.to_string()).stdout;
    assert!(text.starts_with("ExplicitDeny\n"), "{text}");
    assert!(
        text.contains("denied by: key policy statement 1 (Sid \"RequireApp\") denies explicitly"),
        "{text}"
    );
    assert!(
        text.contains("identity policies: not consulted: the key policy denies explicitly"),
        "{text}"
    );
    assert!(
        text.contains("does not match: the EncryptionContextSubset constraint requires app=x"),
        "{text}"
    );

    // Resource-less: no key policy, no grants.
    let text = run(
        &["--explain"],
        &json!({"principal": SESSION_R, "action": "kms:ListKeys", "resource": "*"}).to_string(),
    )
    .stdout;
    assert!(text.starts_with("ImplicitDeny\n"), "{text}");
    assert!(
        text.contains("key policy: not consulted: kms:ListKeys has no resource"),
        "{text}"
    );
    assert!(text.contains("grants: not consulted"), "{text}");
}

#[test]
fn json_output_shape() {
    let out = simulate(&row4_input());
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for k in ["decision", "deniedBy", "message", "explanation"] {
        assert!(out.get(k).is_some(), "{k} missing: {out:#}");
    }
    let e = &out["explanation"];
    assert_eq!(e["rules"], "kms-key");
    assert_eq!(e["action"], "kms:Decrypt");
    assert_eq!(e["resource"], KEY);
    assert_eq!(e["resourceAccount"], B);
    assert_eq!(
        e["principal"],
        json!({"arn": SESSION_R2, "account": B, "type": "AssumedRole",
               "roleArn": "arn:aws:iam::111122223333:role/R2"})
    );
    let kp = &e["resourcePolicy"];
    assert_eq!(kp["label"], "key policy");
    assert_eq!(kp["source"], "input");
    assert_eq!(kp["statements"][0]["applies"], false);
    assert_eq!(kp["statements"][0]["mismatch"]["element"], "Principal");
    let ip = &e["identityPolicies"];
    assert_eq!(ip["consulted"], false);
    assert_eq!(ip["policies"][0]["name"], "decrypt-all");
    assert_eq!(ip["policies"][0]["statements"][0]["applies"], true);
    assert_eq!(e["grants"]["grants"][0]["grantId"], "g1");
    assert_eq!(e["grants"]["grants"][0]["granteeMatches"], false);
    assert!(e["context"].is_object());
}

#[test]
fn statement_explanations_do_not_depend_on_the_sid() {
    // Key-policy Sids may contain spaces and colons.
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": key_policy(vec![json!({"Sid": "Role R: decrypt", "Effect": "Allow",
            "Principal": {"AWS": ROLE_R}, "Action": "kms:Decrypt", "Resource": "*"})]),
    }));
    let st = &out["explanation"]["resourcePolicy"]["statements"][0];
    assert_eq!(st["sid"], "Role R: decrypt");
    assert_eq!(st["why"], "Allow applies (direct principal match)");
}

#[test]
fn input_from_a_file_stdin_or_dash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.json");
    std::fs::write(&path, row4_input().to_string()).unwrap();
    let from_file = run(&["--json", path.to_str().unwrap()], "");
    let from_dash = run(&["--json", "-"], &row4_input().to_string());
    // A denial either way (exit status 1).
    assert_eq!(from_file.code, 1, "{}", from_file.stderr);
    assert_eq!(from_dash.code, 1, "{}", from_dash.stderr);
    let a: Value = serde_json::from_str(&from_file.stdout).unwrap();
    let b: Value = serde_json::from_str(&from_dash.stdout).unwrap();
    assert_eq!(a["message"], b["message"]);
    assert_eq!(a["decision"], "ImplicitDeny");

    let missing = dir.path().join("missing.json");
    let e = error(&[missing.to_str().unwrap()], "");
    assert!(
        e.contains("cannot read") && e.contains("missing.json"),
        "{e}"
    );
}

#[test]
fn policies_may_be_given_as_json_strings() {
    let out = simulate(&json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": role_only_policy().to_string(),
        "identityPolicies": [{"name": "p", "document": iam("kms:Decrypt", "*").to_string()}],
    }));
    assert_decision(&out, "Allow", None);
}

// ---- invalid input ----------------------------------------------------------------------------------

#[test]
fn invalid_inputs_fail_with_one_line() {
    let ok = json!({"principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY});
    let with = |k: &str, v: Value| {
        let mut i = ok.clone();
        i[k] = v;
        i.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "trent: no input"),
        (
            "{\"principal\": ".to_string(),
            "trent: the input is not valid JSON",
        ),
        ("[1, 2]".to_string(), "trent: invalid input"),
        (
            json!({"action": "kms:Decrypt", "resource": KEY}).to_string(),
            "missing field `principal`",
        ),
        (
            with("principal", json!("bob")),
            "unknown principal form \"bob\"",
        ),
        (
            with("principal", json!("arn:aws:iam::111122223333:group/devs")),
            "unknown principal form",
        ),
        (
            with("principal", json!("arn:aws:iam::1:user/alice")),
            "unknown principal form",
        ),
        (
            with("principal", json!(ROLE_R)),
            "is a role, which cannot make requests",
        ),
        (
            with("action", json!("kms:Decrpyt")),
            "unknown KMS action \"kms:Decrpyt\"",
        ),
        (with("action", json!("kms:*")), "must be one action"),
        (with("resource", json!("key/1")), "must be \"*\" or an ARN"),
        (
            with("identityPolicy", json!([])),
            "unknown field `identityPolicy`",
        ),
        (
            with("context", json!({"aws:SourceIp": {"a": 1}})),
            "context key \"aws:SourceIp\"",
        ),
        (
            with(
                "identityPolicies",
                json!([{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*"}]}]),
            ),
            "identityPolicies[0] is not a valid identity policy: statement 0: missing required element Resource",
        ),
        (
            with(
                "resourcePolicy",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"},
                    "Action": "kms:*", "Resource": "*"}]}),
            ),
            "resourcePolicy is not a valid key policy: Policy contains a statement with one or more invalid principals. (statement 0: \"arn:aws:iam::111122223333:role/*\")",
        ),
        (
            with(
                "resourcePolicy",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Permit"}]}),
            ),
            "invalid Effect \"Permit\"",
        ),
        (
            with(
                "grants",
                json!([{"GrantId": "g", "GranteePrincipal": ROLE_R, "Operations": ["Dance"]}]),
            ),
            "grants[0]: \"Dance\" is not a grant operation",
        ),
        (
            with(
                "grants",
                json!([{"GrantId": "g", "GranteePrincipal": ROLE_R, "Operations": ["Decrypt"],
                                   "Constraints": {"EncryptionContextSubset": {}, "EncryptionContextEquals": {}}}]),
            ),
            "More than one constraint supplied",
        ),
        (
            with(
                "grants",
                json!([{"GrantId": "g", "GranteePrincipal": ROLE_R, "Operations": ["Decrypt"],
                                   "Constraints": {"EncryptionContextSubet": {}}}]),
            ),
            "unknown field `EncryptionContextSubet`",
        ),
    ];
    for (input, expected) in cases {
        let e = error(&[], &input);
        assert!(
            e.contains(expected),
            "input {input}: expected {expected:?} in {e:?}"
        );
    }
}

// ---- guardrails: permissions boundaries, SCPs, RCPs, session policies ---------------------------

#[test]
fn a_permissions_boundary_limits_identity_policies_but_not_a_key_policy_naming_the_user() {
    let user = "arn:aws:iam::111122223333:user/alice";
    let base = json!({
        "principal": user, "action": "kms:Decrypt", "resource": KEY,
        "identityPolicies": [iam("kms:*", "*")],
        "permissionsBoundary": {"name": "EncryptOnly", "document": iam("kms:Encrypt", "*")},
    });
    let out = simulate(&base);
    let message = denied(
        "kms:Decrypt",
        KEY,
        user,
        "because no permissions boundary allows the kms:Decrypt action",
    );
    assert_decision(&out, "ImplicitDeny", Some(&message));
    assert_eq!(
        out["deniedBy"]["guardrail"], "permissionsBoundary",
        "{out:#}"
    );
    let boundary = &out["explanation"]["guardrails"][0];
    assert_eq!(boundary["name"], "EncryptOnly", "{out:#}");
    assert_eq!(boundary["guardrail"], "permissionsBoundary", "{out:#}");

    let mut within = base.clone();
    within["action"] = "kms:Encrypt".into();
    assert_decision(&simulate(&within), "Allow", None);

    // A key-policy statement naming the user's own ARN is not limited by the boundary.
    let mut named = base.clone();
    named["identityPolicies"] = json!([]);
    named["resourcePolicy"] = key_policy(vec![json!({"Effect": "Allow",
        "Principal": {"AWS": user}, "Action": "kms:Decrypt", "Resource": "*"})]);
    assert_decision(&simulate(&named), "Allow", None);
}

#[test]
fn session_policies_limit_a_key_policy_naming_the_role_but_not_one_naming_the_session() {
    let narrow = [iam("kms:Encrypt", "*")];
    let mut by_role = json!({
        "principal": SESSION_R, "action": "kms:Decrypt", "resource": KEY,
        "resourcePolicy": role_only_policy(),
        "sessionPolicies": narrow,
    });
    let message = denied(
        "kms:Decrypt",
        KEY,
        SESSION_R,
        "because no session policy allows the kms:Decrypt action",
    );
    assert_decision(&simulate(&by_role), "ImplicitDeny", Some(&message));
    by_role["resourcePolicy"] = key_policy(vec![json!({"Effect": "Allow",
        "Principal": {"AWS": SESSION_R}, "Action": "kms:Decrypt", "Resource": "*"})]);
    assert_decision(&simulate(&by_role), "Allow", None);
    // Only role sessions have session policies.
    let e = error(
        &[],
        &json!({"principal": "arn:aws:iam::111122223333:user/alice", "action": "kms:Decrypt",
                "resource": KEY, "sessionPolicies": narrow})
        .to_string(),
    );
    assert!(e.contains("sessionPolicies"), "{e}");
}

#[test]
fn scps_must_allow_at_every_level_and_their_deny_wins() {
    let full = iam("*", "*");
    let input = |scps: Value, action: &str| {
        json!({
            "principal": SESSION_R, "action": action, "resource": KEY,
            "resourcePolicy": role_only_policy(),
            "serviceControlPolicies": scps,
        })
    };
    let levels = json!([
        {"name": "FullAWSAccess", "target": "r-ab12", "document": full},
        {"name": "KmsReadOnly", "target": "ou-ab12-11111111",
         "document": iam("kms:Describe*", "*")},
    ]);
    let out = simulate(&input(levels, "kms:Decrypt"));
    let message = denied(
        "kms:Decrypt",
        KEY,
        SESSION_R,
        "because no service control policy allows the kms:Decrypt action",
    );
    assert_decision(&out, "ImplicitDeny", Some(&message));
    assert_eq!(out["deniedBy"]["level"], "ou-ab12-11111111", "{out:#}");

    let deny = json!([
        {"name": "FullAWSAccess", "document": full},
        {"name": "NoDecrypt", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}},
    ]);
    let out = simulate(&input(deny.clone(), "kms:Decrypt"));
    let message = denied(
        "kms:Decrypt",
        KEY,
        SESSION_R,
        "with an explicit deny in a service control policy",
    );
    assert_decision(&out, "ExplicitDeny", Some(&message));
    assert_eq!(out["deniedBy"]["policy"], "NoDecrypt", "{out:#}");
    // No level lacks an allow for another action: the key policy decides.
    let message = denied("kms:Encrypt", KEY, SESSION_R, &no_resource("kms:Encrypt"));
    assert_decision(
        &simulate(&input(deny, "kms:Encrypt")),
        "ImplicitDeny",
        Some(&message),
    );
}

#[test]
fn an_rcp_denies_explicitly_and_allows_nothing() {
    let rcp = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
        "Action": "kms:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": B}}}]});
    let input = |principal: &str, identity: Value| {
        json!({
            "principal": principal, "action": "kms:Decrypt", "resource": KEY,
            "resourcePolicy": key_policy(vec![default_statement(B), default_statement(A)]),
            "identityPolicies": [identity],
            "resourceControlPolicies": [{"name": "IdentityPerimeter", "document": rcp}],
        })
    };
    assert_decision(
        &simulate(&input(
            "arn:aws:iam::111122223333:user/bob",
            iam("kms:Decrypt", "*"),
        )),
        "Allow",
        None,
    );
    let out = simulate(&input(SESSION_A, iam("kms:Decrypt", "*")));
    let message = denied(
        "kms:Decrypt",
        KEY,
        SESSION_A,
        "with an explicit deny in a resource control policy",
    );
    assert_decision(&out, "ExplicitDeny", Some(&message));
}

// ---- rules that hold whatever the policies say -------------------------------------------------

#[test]
fn get_caller_identity_is_allowed_even_under_an_explicit_deny() {
    let deny_all = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
    let out = simulate(&json!({
        "principal": "arn:aws:iam::111122223333:user/alice",
        "action": "sts:GetCallerIdentity", "resource": "*",
        "identityPolicies": [deny_all],
    }));
    assert_decision(&out, "Allow", None);
    assert_eq!(out["allowedBy"]["kind"], "noPermissionRequired", "{out:#}");
}

#[test]
fn assuming_a_role_of_the_same_account_needs_its_trust_policy() {
    let user = "arn:aws:iam::111122223333:user/alice";
    let mut input = json!({
        "principal": user, "action": "sts:AssumeRole", "resource": ROLE_R,
        "identityPolicies": [iam("sts:AssumeRole", "*")],
    });
    // An identity policy alone is not enough (no trust policy given: nobody may assume).
    let message = denied(
        "sts:AssumeRole",
        ROLE_R,
        user,
        &no_resource("sts:AssumeRole"),
    );
    assert_decision(&simulate(&input), "ImplicitDeny", Some(&message));
    // A trust policy delegating to the account: the identity policy must allow too.
    input["resourcePolicy"] = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{B}:root")}, "Action": "sts:AssumeRole"}]});
    assert_decision(&simulate(&input), "Allow", None);
    input["identityPolicies"] = json!([]);
    let message = denied(
        "sts:AssumeRole",
        ROLE_R,
        user,
        &no_identity("sts:AssumeRole"),
    );
    assert_decision(&simulate(&input), "ImplicitDeny", Some(&message));
    // A trust policy is parsed as one: a Resource element is refused.
    input["resourcePolicy"]["Statement"][0]["Resource"] = "*".into();
    let e = error(&[], &input.to_string());
    assert!(e.contains("resourcePolicy"), "{e}");
}

#[test]
fn aliases_of_aws_managed_keys_cannot_be_changed_whatever_the_policies_say() {
    for action in ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"] {
        let out = simulate(&json!({
            "principal": format!("arn:aws:iam::{B}:root"), "action": action,
            "resource": "arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
            "identityPolicies": [iam("kms:*", "*")],
        }));
        assert_eq!(out["decision"], "ImplicitDeny", "{out:#}");
        assert_eq!(out["deniedBy"]["kind"], "reservedAlias", "{out:#}");
        assert_eq!(
            out["message"],
            "Cannot create, update or delete an alias with the reserved prefix 'alias/aws/'.",
            "{out:#}"
        );
    }
    // Other aliases follow the policies.
    let out = simulate(&json!({
        "principal": format!("arn:aws:iam::{B}:root"), "action": "kms:CreateAlias",
        "resource": "arn:aws:kms:us-east-1:111122223333:alias/awsome",
        "identityPolicies": [iam("kms:*", "*")],
    }));
    assert_decision(&out, "Allow", None);
}
