//! Authorization cost through the service (no HTTP): one decision with the default key policy
//! and five identity policies, and Decrypt allowed by a grant on keys holding 1, 1,000 and
//! 50,000 grants (to other grantees) — the figure must stay flat.

#![allow(clippy::unwrap_used)] // benchmark setup: a failure is a broken benchmark

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use trent_crypto::RootKey;
use trent_kms::{
    AuthzMode, Caller, Directory, Kms, Operation, Principal, PrincipalKind, SystemClock,
};
use trent_store::{GrantRecord, Store};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn caller(principal: Principal) -> Caller {
    Caller {
        principal,
        region: REGION.into(),
        access_key_id: "AKIABENCH".into(),
        source_ip: Some("127.0.0.1".parse().unwrap()),
        secure_transport: false,
        user_agent: None,
        via_service: None,
        request_id: String::new(),
    }
}

fn user() -> Principal {
    Principal {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/bench"),
        kind: PrincipalKind::User {
            name: "bench".into(),
            path: "/".into(),
        },
        unique_id: "AIDABENCH".into(),
        tags: BTreeMap::new(),
    }
}

fn session(role: &str) -> Principal {
    Principal {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s"),
        kind: PrincipalKind::AssumedRole {
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
            role_name: role.into(),
            session_name: "s".into(),
        },
        unique_id: "AROABENCH:s".into(),
        tags: BTreeMap::new(),
    }
}

fn service(dir: Directory) -> (Kms, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("bench.db")).unwrap();
    let kms = Kms::new(
        store,
        RootKey::generate().unwrap(),
        Arc::new(SystemClock),
        Arc::new(dir),
        AuthzMode::Enforce,
    );
    (kms, tmp)
}

fn call(kms: &Kms, c: &Caller, op: Operation, body: Value) -> Value {
    kms.call(c, op, &serde_json::to_vec(&body).unwrap())
        .result
        .unwrap()
}

fn decision_with_identity_policies(c: &mut Criterion) {
    let mut dir = Directory::new();
    dir.add_account(ACCOUNT);
    let u = user();
    dir.add_principal(&u.arn);
    for i in 0..4 {
        let doc = json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":format!("arn:aws:s3:::bucket-{i}/*")},
            {"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]});
        dir.add_identity_policy(&u.arn, &format!("p{i}"), &doc.to_string())
            .unwrap();
    }
    let kms_doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:DescribeKey","kms:Encrypt","kms:Decrypt"],
        "Resource":format!("arn:aws:kms:*:{ACCOUNT}:key/*"),"Condition":{"StringEquals":{"aws:PrincipalTag/team":"x"}}},
        {"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]});
    dir.add_identity_policy(&u.arn, "kms", &kms_doc.to_string())
        .unwrap();
    let (kms, _tmp) = service(dir);
    let root = caller(Principal::root(ACCOUNT));
    let key = call(&kms, &root, Operation::CreateKey, json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let body = serde_json::to_vec(&json!({"KeyId": key})).unwrap();
    let u = caller(user());
    c.bench_function(
        "DescribeKey: default key policy + 5 identity policies",
        |b| b.iter(|| black_box(kms.call(&u, Operation::DescribeKey, &body).result.unwrap())),
    );
}

fn decrypt_via_grant(c: &mut Criterion) {
    let mut dir = Directory::new();
    dir.add_account(ACCOUNT);
    dir.add_principal(&format!("arn:aws:iam::{ACCOUNT}:role/admin"));
    let admin_policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]});
    dir.add_identity_policy(
        &format!("arn:aws:iam::{ACCOUNT}:role/admin"),
        "admin",
        &admin_policy.to_string(),
    )
    .unwrap();
    dir.add_principal(&format!("arn:aws:iam::{ACCOUNT}:role/app"));
    let (kms, tmp) = service(dir);
    let admin = caller(session("admin"));
    let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":format!("arn:aws:iam::{ACCOUNT}:role/admin")},"Action":"kms:*","Resource":"*"}]});
    let mut group = c.benchmark_group("Decrypt allowed by a grant");
    for total in [1usize, 1_000, 50_000] {
        let key = call(
            &kms,
            &admin,
            Operation::CreateKey,
            json!({"Policy": policy.to_string()}),
        )["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        call(
            &kms,
            &admin,
            Operation::CreateGrant,
            json!({"KeyId": key, "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:role/app"), "Operations": ["Decrypt"]}),
        );
        let others: Vec<(GrantRecord, String)> = (1..total)
            .map(|i| {
                (
                    GrantRecord {
                        region: REGION.into(),
                        key_id: key.clone(),
                        grant_id: format!("{i:064x}"),
                        name: None,
                        created_ms: 0,
                        grantee_principal: Some(format!("arn:aws:iam::{ACCOUNT}:role/other-{i}")),
                        grantee_service_principal: None,
                        retiring_principal: None,
                        retiring_service_principal: None,
                        issuing_account: format!("arn:aws:iam::{ACCOUNT}:root"),
                        operations: vec!["Encrypt".into(), "Decrypt".into()],
                        constraints: None,
                        grantee_unique_id: None,
                        retiring_unique_id: None,
                        created_by: None,
                        created_request_id: None,
                    },
                    format!("token-{key}-{i}"),
                )
            })
            .collect();
        let store = Store::open(&tmp.path().join("bench.db")).unwrap();
        store.import_grants(&others).unwrap();
        drop(store);
        // The service's own store caches grants per (key, grantee); other grantees' grants
        // imported behind its back are exactly the ones it must never have to look at.
        let app = caller(session("app"));
        let blob = call(
            &kms,
            &admin,
            Operation::Encrypt,
            json!({"KeyId": key, "Plaintext": "AAECAwQFBgcICQoLDA0ODw=="}),
        )["CiphertextBlob"]
            .clone();
        let body = serde_json::to_vec(&json!({"CiphertextBlob": blob})).unwrap();
        group.bench_function(format!("{total} grants on the key"), |b| {
            b.iter(|| black_box(kms.call(&app, Operation::Decrypt, &body).result.unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, decision_with_identity_policies, decrypt_via_grant);
criterion_main!(benches);
