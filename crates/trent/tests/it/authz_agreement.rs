//! The authorizer and `trent policy simulate` must agree: the same requests are made against a
//! running server (identities from `trent.toml`, keys with specific key policies) and fed to
//! `trent policy simulate --json` as the equivalent JSON (the same identity-policy documents, the
//! same key policy, the same encryption context, the grants as ListGrants returns them). Both
//! must reach the expected decision, and every denial must carry the same AccessDenied message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use serde_json::{Value, json};

use crate::support::Server;
use crate::support::authz::*;

/// An identity of the test config: its access key, ARN and identity policies.
struct Identity {
    key: &'static str,
    arn: String,
    policies: Vec<Value>,
}

fn identity(key: &'static str, arn: String, policies: Vec<Value>) -> Identity {
    Identity { key, arn, policies }
}

struct Identities {
    b_root: Identity,
    alice: Identity, // B: kms:* on *
    bob: Identity,   // B: nothing
    carol: Identity, // B: Encrypt/Decrypt on B's keys, ListKeys and CreateKey
    dana: Identity,  // B: kms:* but an explicit deny of CreateKey
    r: Identity,     // B: session of role R, no policies
    r2: Identity,    // B: session of role R2, Decrypt on *
    a_root: Identity,
    ra: Identity,  // A: session of role RA, no policies
    dec: Identity, // A: session of role Dec, crypto and ScheduleKeyDeletion on B's keys
}

fn identities() -> Identities {
    let b_keys = format!("arn:aws:kms:us-east-1:{B}:key/*");
    Identities {
        b_root: identity("AKB_ROOT", root_arn(B), vec![]),
        alice: identity("AKB_ALICE", user_arn(B, "alice"), vec![admin()]),
        bob: identity("AKB_BOB", user_arn(B, "bob"), vec![]),
        carol: identity(
            "AKB_CAROL",
            user_arn(B, "carol"),
            vec![
                allow(json!(["kms:Decrypt", "kms:Encrypt"]), b_keys.clone()),
                allow(json!(["kms:ListKeys", "kms:CreateKey"]), "*"),
            ],
        ),
        dana: identity(
            "AKB_DANA",
            user_arn(B, "dana"),
            vec![admin(), deny("kms:CreateKey", "*")],
        ),
        r: identity("AKB_R", session_arn(B, "R", "s"), vec![]),
        r2: identity(
            "AKB_R2",
            session_arn(B, "R2", "s"),
            vec![allow("kms:Decrypt", "*")],
        ),
        a_root: identity("AKA_ROOT", root_arn(A), vec![]),
        ra: identity("AKA_RA", session_arn(A, "RA", "s"), vec![]),
        dec: identity(
            "AKA_DEC",
            session_arn(A, "Dec", "s"),
            vec![allow(
                json!(["kms:Decrypt", "kms:Encrypt", "kms:ScheduleKeyDeletion"]),
                format!("arn:aws:kms:us-east-1:{B}:key/*"),
            )],
        ),
    }
}

fn config(ids: &Identities) -> String {
    Toml::new()
        .account(B, ids.b_root.key)
        .user("alice", ids.alice.key, &[], &ids.alice.policies)
        .user("bob", ids.bob.key, &[], &ids.bob.policies)
        .user("carol", ids.carol.key, &[], &ids.carol.policies)
        .user("dana", ids.dana.key, &[], &ids.dana.policies)
        .role("R", "s", ids.r.key, &ids.r.policies)
        .role("R2", "s", ids.r2.key, &ids.r2.policies)
        .account(A, ids.a_root.key)
        .role("RA", "s", ids.ra.key, &ids.ra.policies)
        .role("Dec", "s", ids.dec.key, &ids.dec.policies)
        .build()
}

/// A request, as the SDK makes it and as simulate reads it.
enum Op {
    Decrypt {
        key_arn: String,
        ciphertext: Blob,
        ec: Vec<(&'static str, &'static str)>,
    },
    Encrypt {
        key_arn: String,
    },
    DescribeKey {
        key_arn: String,
    },
    ScheduleKeyDeletion {
        key_arn: String,
    },
    ListKeys,
    CreateKey,
}

impl Op {
    fn action(&self) -> &'static str {
        match self {
            Op::Decrypt { .. } => "kms:Decrypt",
            Op::Encrypt { .. } => "kms:Encrypt",
            Op::DescribeKey { .. } => "kms:DescribeKey",
            Op::ScheduleKeyDeletion { .. } => "kms:ScheduleKeyDeletion",
            Op::ListKeys => "kms:ListKeys",
            Op::CreateKey => "kms:CreateKey",
        }
    }

    fn resource(&self) -> &str {
        match self {
            Op::Decrypt { key_arn, .. }
            | Op::Encrypt { key_arn }
            | Op::DescribeKey { key_arn }
            | Op::ScheduleKeyDeletion { key_arn } => key_arn,
            Op::ListKeys | Op::CreateKey => "*",
        }
    }

    fn context(&self) -> Value {
        let mut context = serde_json::Map::new();
        if let Op::Decrypt { ec, .. } = self {
            for (k, v) in ec {
                context.insert(format!("kms:EncryptionContext:{k}"), json!(v));
            }
        }
        Value::Object(context)
    }

    /// Makes the request; `Err((code, message))` on failure.
    async fn call(&self, c: &Client) -> Result<(), (String, String)> {
        match self {
            Op::Decrypt {
                key_arn,
                ciphertext,
                ec,
            } => {
                let mut req = c
                    .decrypt()
                    .key_id(key_arn)
                    .ciphertext_blob(ciphertext.clone());
                for (k, v) in ec {
                    req = req.encryption_context(*k, *v);
                }
                req.send().await.map(|_| ()).map_err(err)
            }
            Op::Encrypt { key_arn } => c
                .encrypt()
                .key_id(key_arn)
                .plaintext(Blob::new(b"data"))
                .send()
                .await
                .map(|_| ())
                .map_err(err),
            Op::DescribeKey { key_arn } => c
                .describe_key()
                .key_id(key_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(err),
            Op::ScheduleKeyDeletion { key_arn } => c
                .schedule_key_deletion()
                .key_id(key_arn)
                .pending_window_in_days(7)
                .send()
                .await
                .map(|_| ())
                .map_err(err),
            Op::ListKeys => c.list_keys().send().await.map(|_| ()).map_err(err),
            Op::CreateKey => c.create_key().send().await.map(|_| ()).map_err(err),
        }
    }
}

struct Case<'a> {
    name: &'static str,
    who: &'a Identity,
    op: Op,
    /// The key policy as created; `None` for the default key policy (simulate supplies it).
    key_policy: Option<String>,
    /// The key's grants, as ListGrants returns them.
    grants: Vec<Value>,
    /// `Allow`, `ImplicitDeny` or `ExplicitDeny`.
    expected: &'static str,
}

fn simulate(input: &Value) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["policy", "simulate", "--json"])
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
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // 0 allowed, 1 denied; 2 would be an input error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "simulate failed on {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        out.status.code() == Some(0),
        answer["decision"] == "Allow",
        "exit status and decision disagree on {input}"
    );
    answer
}

/// Runs every case against the server and simulate; returns the disagreements.
async fn check(server: &Server, cases: &[Case<'_>]) -> Vec<String> {
    let mut problems = Vec::new();
    for case in cases {
        let server_result = case.op.call(&client(server, case.who.key)).await;
        let server_message = match &server_result {
            Ok(()) => None,
            Err((code, message)) if code == "AccessDeniedException" => Some(message.clone()),
            Err(other) => {
                problems.push(format!("{}: unexpected server error {other:?}", case.name));
                continue;
            }
        };
        let mut input = json!({
            "principal": case.who.arn,
            "action": case.op.action(),
            "resource": case.op.resource(),
            "context": case.op.context(),
            "identityPolicies": case.who.policies,
            "grants": case.grants,
        });
        if let Some(p) = &case.key_policy {
            input["resourcePolicy"] = json!(p);
        }
        let sim = simulate(&input);
        let sim_message = sim.get("message").and_then(Value::as_str);
        if sim["decision"] != case.expected {
            problems.push(format!(
                "{}: simulate decided {}, expected {}",
                case.name, sim["decision"], case.expected
            ));
        }
        if server_message.is_none() != (case.expected == "Allow") {
            problems.push(format!(
                "{}: the server {}, expected {}",
                case.name,
                server_message
                    .as_deref()
                    .map_or("allowed".to_string(), |m| format!("denied: {m}")),
                case.expected
            ));
        }
        if server_message.as_deref() != sim_message {
            problems.push(format!(
                "{}: messages differ\n  server:   {server_message:?}\n  simulate: {sim_message:?}",
                case.name
            ));
        }
    }
    problems
}

#[tokio::test]
async fn server_and_simulate_agree() {
    let ids = identities();
    let server = Server::start_with_config(&config(&ids));
    let alice = client(&server, ids.alice.key);
    let r = client(&server, ids.r.key);

    // Default key policy.
    let default_key = key_arn(B, &create_key(&alice, None, false).await);
    let default_ct = encrypt(&alice, &default_key, &[]).await;

    // Only role R, no root statement (fails the lockout check for alice: bypass).
    let role_only = key_policy(vec![json!({
        "Sid": "RoleR", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{B}:role/R")},
        "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"
    })]);
    let role_key = key_arn(B, &create_key(&alice, Some(&role_only), true).await);
    let role_ct = encrypt(&r, &role_key, &[]).await;

    // Default + an explicit deny of Decrypt without encryption context app=x.
    let ec_policy = key_policy(vec![
        root_statement(B),
        json!({
            "Sid": "RequireApp", "Effect": "Deny", "Principal": "*",
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:EncryptionContext:app": "x"}}
        }),
    ]);
    let ec_key = key_arn(B, &create_key(&alice, Some(&ec_policy), false).await);
    let ec_plain_ct = encrypt(&alice, &ec_key, &[]).await;
    let ec_app_ct = encrypt(&alice, &ec_key, &[("app", "x")]).await;

    // Shared with account A: crypto only, and everything.
    let share = |actions: Value| {
        key_policy(vec![
            root_statement(B),
            json!({"Sid": "ShareWithA", "Effect": "Allow", "Principal": {"AWS": A},
                   "Action": actions, "Resource": "*"}),
        ])
    };
    let shared_policy = share(json!(["kms:Decrypt", "kms:Encrypt"]));
    let shared_key = key_arn(B, &create_key(&alice, Some(&shared_policy), false).await);
    let shared_ct = encrypt(&alice, &shared_key, &[]).await;
    let all_policy = share(json!("kms:*"));
    let all_key = key_arn(B, &create_key(&alice, Some(&all_policy), false).await);

    let decrypt =
        |key_arn: &str, ciphertext: &Blob, ec: Vec<(&'static str, &'static str)>| Op::Decrypt {
            key_arn: key_arn.to_string(),
            ciphertext: ciphertext.clone(),
            ec,
        };
    let case = |name, who, op, key_policy: Option<&String>, expected| Case {
        name,
        who,
        op,
        key_policy: key_policy.cloned(),
        grants: Vec::new(),
        expected,
    };
    let cases = vec![
        // Default policy: IAM decides.
        case(
            "default policy, no IAM",
            &ids.bob,
            decrypt(&default_key, &default_ct, vec![]),
            None,
            "ImplicitDeny",
        ),
        case(
            "default policy, IAM allows",
            &ids.carol,
            decrypt(&default_key, &default_ct, vec![]),
            None,
            "Allow",
        ),
        case(
            "default policy, root user",
            &ids.b_root,
            decrypt(&default_key, &default_ct, vec![]),
            None,
            "Allow",
        ),
        case(
            "default policy, session without IAM",
            &ids.r,
            Op::DescribeKey {
                key_arn: default_key.clone(),
            },
            None,
            "ImplicitDeny",
        ),
        // Role-only key policy: Direct for R's sessions, nothing for anyone else.
        case(
            "role-only policy, session of R",
            &ids.r,
            decrypt(&role_key, &role_ct, vec![]),
            Some(&role_only),
            "Allow",
        ),
        case(
            "role-only policy, session of R2",
            &ids.r2,
            decrypt(&role_key, &role_ct, vec![]),
            Some(&role_only),
            "ImplicitDeny",
        ),
        case(
            "role-only policy, admin user",
            &ids.alice,
            decrypt(&role_key, &role_ct, vec![]),
            Some(&role_only),
            "ImplicitDeny",
        ),
        case(
            "role-only policy, root user",
            &ids.b_root,
            Op::Encrypt {
                key_arn: role_key.clone(),
            },
            Some(&role_only),
            "ImplicitDeny",
        ),
        case(
            "role-only policy, action not named",
            &ids.r,
            Op::DescribeKey {
                key_arn: role_key.clone(),
            },
            Some(&role_only),
            "ImplicitDeny",
        ),
        // Explicit deny on a missing encryption context.
        case(
            "deny without EC",
            &ids.carol,
            decrypt(&ec_key, &ec_plain_ct, vec![]),
            Some(&ec_policy),
            "ExplicitDeny",
        ),
        case(
            "deny without EC, EC given",
            &ids.carol,
            decrypt(&ec_key, &ec_app_ct, vec![("app", "x")]),
            Some(&ec_policy),
            "Allow",
        ),
        case(
            "deny without EC, also for root",
            &ids.b_root,
            decrypt(&ec_key, &ec_plain_ct, vec![]),
            Some(&ec_policy),
            "ExplicitDeny",
        ),
        // Cross-account by key ARN: both sides must allow.
        case(
            "cross-account, both allow",
            &ids.dec,
            decrypt(&shared_key, &shared_ct, vec![]),
            Some(&shared_policy),
            "Allow",
        ),
        case(
            "cross-account, caller IAM silent",
            &ids.ra,
            decrypt(&shared_key, &shared_ct, vec![]),
            Some(&shared_policy),
            "ImplicitDeny",
        ),
        case(
            "cross-account, root of A",
            &ids.a_root,
            Op::Encrypt {
                key_arn: shared_key.clone(),
            },
            Some(&shared_policy),
            "Allow",
        ),
        case(
            "cross-account, key policy silent",
            &ids.dec,
            decrypt(&default_key, &default_ct, vec![]),
            None,
            "ImplicitDeny",
        ),
        case(
            "cross-account, action outside the share",
            &ids.dec,
            Op::DescribeKey {
                key_arn: shared_key.clone(),
            },
            Some(&shared_policy),
            "ImplicitDeny",
        ),
        case(
            "cross-account ScheduleKeyDeletion",
            &ids.dec,
            Op::ScheduleKeyDeletion {
                key_arn: all_key.clone(),
            },
            Some(&all_policy),
            "ImplicitDeny",
        ),
        // Resource-less actions: IAM alone.
        case(
            "ListKeys, IAM allows",
            &ids.carol,
            Op::ListKeys,
            None,
            "Allow",
        ),
        case(
            "ListKeys, no IAM",
            &ids.bob,
            Op::ListKeys,
            None,
            "ImplicitDeny",
        ),
        case(
            "ListKeys, session without IAM",
            &ids.r,
            Op::ListKeys,
            None,
            "ImplicitDeny",
        ),
        case(
            "CreateKey, IAM allows",
            &ids.carol,
            Op::CreateKey,
            None,
            "Allow",
        ),
        case(
            "CreateKey, no IAM",
            &ids.bob,
            Op::CreateKey,
            None,
            "ImplicitDeny",
        ),
        case(
            "CreateKey, explicit deny",
            &ids.dana,
            Op::CreateKey,
            None,
            "ExplicitDeny",
        ),
        case(
            "CreateKey, root user",
            &ids.a_root,
            Op::CreateKey,
            None,
            "Allow",
        ),
    ];
    let problems = check(&server, &cases).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Spec §11 rows 9–12 through CreateGrant: the grants are given to simulate as ListGrants
/// returns them.
#[tokio::test]
async fn server_and_simulate_agree_on_grants() {
    let ids = identities();
    let server = Server::start_with_config(&config(&ids));
    let alice = client(&server, ids.alice.key);
    let key = create_key(&alice, None, false).await;
    let arn = key_arn(B, &key);
    alice
        .create_grant()
        .key_id(&key)
        .grantee_principal(format!("arn:aws:iam::{B}:role/R"))
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("app", "x")
                .build(),
        )
        .name("decrypt-app-x")
        .send()
        .await
        .unwrap();
    let grants: Vec<Value> = alice
        .list_grants()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .grants
        .unwrap_or_default()
        .iter()
        .map(|g| {
            let constraints = g.constraints.as_ref().map(|c| {
                json!({
                    "EncryptionContextSubset": c.encryption_context_subset,
                    "EncryptionContextEquals": c.encryption_context_equals,
                })
            });
            let mut v = json!({
                "KeyId": g.key_id,
                "GrantId": g.grant_id,
                "Name": g.name,
                "GranteePrincipal": g.grantee_principal,
                "RetiringPrincipal": g.retiring_principal,
                "IssuingAccount": g.issuing_account,
                "Operations": g.operations.iter().flatten().map(|o| o.as_str()).collect::<Vec<_>>(),
            });
            if let Some(c) = constraints {
                // Absent members are null in the JSON above: drop them.
                let c: serde_json::Map<String, Value> = c
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                v["Constraints"] = Value::Object(c);
            }
            let v: serde_json::Map<String, Value> = v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Value::Object(v)
        })
        .collect();
    assert_eq!(grants.len(), 1);

    let with_app = encrypt(&alice, &key, &[("app", "x"), ("v", "1")]).await;
    let upper = encrypt(&alice, &key, &[("APP", "x")]).await;
    let plain = encrypt(&alice, &key, &[]).await;
    let deny_r = key_policy(vec![
        root_statement(B),
        json!({"Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{B}:role/R")},
               "Action": "kms:Decrypt", "Resource": "*"}),
    ]);
    let decrypt = |ciphertext: &Blob, ec: Vec<(&'static str, &'static str)>| Op::Decrypt {
        key_arn: arn.clone(),
        ciphertext: ciphertext.clone(),
        ec,
    };
    let case = |name, who, op, expected| Case {
        name,
        who,
        op,
        key_policy: None,
        grants: grants.clone(),
        expected,
    };
    let mut cases = vec![
        case(
            "row 9: subset with extra pairs",
            &ids.r,
            decrypt(&with_app, vec![("app", "x"), ("v", "1")]),
            "Allow",
        ),
        case(
            "row 10: EC keys case-insensitive",
            &ids.r,
            decrypt(&upper, vec![("APP", "x")]),
            "Allow",
        ),
        case(
            "row 11: operation not granted",
            &ids.r,
            Op::DescribeKey {
                key_arn: arn.clone(),
            },
            "ImplicitDeny",
        ),
        case(
            "no EC for an EC constraint",
            &ids.r,
            decrypt(&plain, vec![]),
            "ImplicitDeny",
        ),
        case(
            "grant to another principal",
            &ids.r2,
            decrypt(&with_app, vec![("app", "x"), ("v", "1")]),
            "Allow",
        ),
    ];
    // R2 is allowed by its own IAM policy; a caller with neither IAM nor a grant is not.
    cases.push(case(
        "no grant, no IAM",
        &ids.bob,
        decrypt(&with_app, vec![("app", "x"), ("v", "1")]),
        "ImplicitDeny",
    ));
    let problems = check(&server, &cases).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Row 12: a key-policy deny beats the grant.
    alice
        .put_key_policy()
        .key_id(&key)
        .policy(&deny_r)
        .send()
        .await
        .unwrap();
    let row12 = vec![Case {
        name: "row 12: key-policy deny beats the grant",
        who: &ids.r,
        op: decrypt(&with_app, vec![("app", "x"), ("v", "1")]),
        key_policy: Some(deny_r.clone()),
        grants: grants.clone(),
        expected: "ExplicitDeny",
    }];
    let problems = check(&server, &row12).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
