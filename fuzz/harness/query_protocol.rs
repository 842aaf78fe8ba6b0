//! Fuzz harness `query_protocol`: STS and IAM requests in the AWS query protocol (form-encoded
//! `Action=…` bodies), read as the server reads them (`trent_server::query_params`), the action
//! parsed (`QueryAction::parse`), and run in order against a fresh in-memory service
//! (`Kms::query`), so that every action's parameter reading and validation sees the input,
//! with the state earlier requests made (users, roles, policies, sessions). What must hold:
//! nothing panics; a parsed action is the one named, of the service asked; an unknown action
//! is `InvalidAction`; no request makes the service fail (an error is the sender's, 4xx).
//!
//! Input: one request a line, `<service>[@<caller>] <form body>[ <URL query>]`. The service is
//! `sts` or `iam`; the caller is the account's root user unless it is `@session` (the session
//! the last successful AssumeRole made) or `@<name>` (the IAM user of that name).
//!
//! Written once, used twice: by `fuzz/fuzz_targets/query_protocol.rs` and, for every seed of
//! `fuzz/corpus/query_protocol`, by `cargo test -p trent` (trent-server and trent-kms have no
//! integration tests of their own; the `trent` crate's test binary holds the server-level ones).

use std::sync::Arc;

use trent_crypto::RootKey;
use trent_kms::iam::{QueryAction, QueryService, Xml};
use trent_kms::{AuthzMode, Caller, Directory, Kms, ManualClock, Principal};
use trent_store::Store;

const ACCOUNT: &str = "111122223333";
/// 2026-01-01T00:00:00Z: a fixed clock, so that session expiry does not depend on the run.
const NOW_MS: i64 = 1_767_225_600_000;
const ROOT_KEY: [u8; 32] = *b"trent fuzz query protocol root!!";

/// What one input came to (for the replay test's checks that seeds stay meaningful).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests run, and how many of them succeeded.
    pub requests: usize,
    pub succeeded: usize,
}

pub fn run(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
    let kms = service();
    let mut session_key: Option<String> = None;
    let mut outcome = Outcome::default();
    for line in text.lines() {
        let mut fields = line.splitn(3, ' ');
        let target = fields.next().unwrap_or_default();
        let body = fields.next().unwrap_or_default();
        let query = fields.next();
        let (service_name, caller_name) = target.split_once('@').unwrap_or((target, ""));
        let service = if service_name == "sts" {
            QueryService::Sts
        } else {
            QueryService::Iam
        };

        let params = trent_server::query_params(query, body.as_bytes());
        let action_name = params.get("Action").unwrap_or_default();
        let action = QueryAction::parse(service, action_name);
        if let Some(action) = action {
            assert_eq!(action.name(), action_name);
            assert_eq!(action.service(), service);
            let prefix = match service {
                QueryService::Sts => "sts:",
                QueryService::Iam => "iam:",
            };
            assert_eq!(
                action.policy_action().strip_prefix(prefix),
                Some(action_name)
            );
        }

        let caller = caller(&kms, caller_name, session_key.as_deref());
        let result = kms.query(&caller, service, &params).result;
        outcome.requests += 1;
        match result {
            Ok(xml) => {
                assert!(action.is_some(), "{action_name:?} is no action, yet it ran");
                outcome.succeeded += 1;
                if action == Some(QueryAction::AssumeRole) {
                    session_key = find_text(&xml, "AccessKeyId").or(session_key);
                }
            }
            Err(e) => {
                if action.is_none() {
                    assert_eq!(e.code, "InvalidAction", "{e:?}");
                }
                assert!(!e.code.is_empty());
                assert!(
                    (400..500).contains(&e.status),
                    "{action_name}: the service failed: {e:?}"
                );
            }
        }
    }
    outcome
}

/// A service with nothing in it but an account, on a fixed clock.
fn service() -> Kms {
    let root_key = match RootKey::from_bytes(&ROOT_KEY) {
        Ok(key) => key,
        Err(e) => panic!("32 bytes are a root key: {e}"),
    };
    let mut directory = Directory::new();
    directory.add_account(ACCOUNT);
    Kms::new(
        Store::in_memory(),
        root_key,
        Arc::new(ManualClock::new(NOW_MS)),
        Arc::new(directory),
        AuthzMode::Enforce,
    )
}

/// The caller a line names: the root user, the last session, or an IAM user made earlier.
fn caller(kms: &Kms, name: &str, session_key: Option<&str>) -> Caller {
    let dir = kms.directory();
    let (principal, access_key_id) = match (name, session_key) {
        ("session", Some(key)) => match dir.access_key(key) {
            Some(k) => (k.principal.clone(), key.to_owned()),
            None => (Principal::root(ACCOUNT), "AKIAFUZZROOT".to_owned()),
        },
        ("", _) | ("session", None) => (Principal::root(ACCOUNT), "AKIAFUZZROOT".to_owned()),
        (user, _) => match dir
            .stored()
            .users
            .iter()
            .find(|u| u.account == ACCOUNT && u.name == user)
        {
            Some(u) => (trent_kms::iam::user_principal(u), "AKIAFUZZUSER".to_owned()),
            None => (Principal::root(ACCOUNT), "AKIAFUZZROOT".to_owned()),
        },
    };
    Caller {
        principal,
        region: "us-east-1".into(),
        access_key_id,
        source_ip: None,
        secure_transport: false,
        user_agent: Some("trent-fuzz".into()),
        via_service: None,
        request_id: "fuzz".into(),
    }
}

fn find_text(nodes: &[Xml], name: &str) -> Option<String> {
    nodes.iter().find_map(|node| match node {
        Xml::Text(n, value) if *n == name => Some(value.clone()),
        Xml::Text(..) => None,
        Xml::Node(_, children) => find_text(children, name),
    })
}
