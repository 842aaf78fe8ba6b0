//! Shared pieces of the `authz_*` integration tests: a builder for `trent.toml` with accounts,
//! users and role sessions, identity-policy documents, SDK clients per access key, and the
//! AccessDenied message templates of spec §7.2.

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use serde_json::{Value, json};

use super::Server;
use super::kms::{RawResponse, Rewrite, client_as};
pub use super::{REGION, err};

/// The key account of spec §11.
pub const B: &str = "111122223333";
/// The other account.
pub const A: &str = "444455556666";

/// The secret of a test access key (derived, so tests only name the key ID).
pub fn secret(access_key: &str) -> String {
    format!("{access_key}/secret")
}

/// A `trent.toml` under construction. Users and roles attach to the last account added.
#[derive(Default)]
pub struct Toml(String);

fn toml_policies(table: &str, policies: &[Value]) -> String {
    let mut s = String::new();
    for (i, p) in policies.iter().enumerate() {
        s.push_str(&format!(
            "[[{table}.policies]]\nname = \"p{i}\"\ndocument = '''{p}'''\n"
        ));
    }
    s
}

impl Toml {
    pub fn new() -> Toml {
        Toml::default()
    }

    /// An account whose root user has the access key `root_key`.
    pub fn account(mut self, id: &str, root_key: &str) -> Toml {
        self.0.push_str(&format!(
            "[[accounts]]\nid = \"{id}\"\n[[accounts.access_keys]]\naccess_key_id = \"{root_key}\"\nsecret_access_key = \"{}\"\n",
            secret(root_key)
        ));
        self
    }

    /// A user with one access key, tags and inline policies.
    pub fn user(self, name: &str, key: &str, tags: &[(&str, &str)], policies: &[Value]) -> Toml {
        self.user_at("/", name, key, tags, policies)
    }

    /// [`Toml::user`] with an IAM path (e.g. `/team/`).
    pub fn user_at(
        mut self,
        path: &str,
        name: &str,
        key: &str,
        tags: &[(&str, &str)],
        policies: &[Value],
    ) -> Toml {
        self.0.push_str(&format!(
            "[[accounts.users]]\nname = \"{name}\"\npath = \"{path}\"\n[[accounts.users.access_keys]]\naccess_key_id = \"{key}\"\nsecret_access_key = \"{}\"\n",
            secret(key)
        ));
        if !tags.is_empty() {
            self.0.push_str("[accounts.users.tags]\n");
            for (k, v) in tags {
                self.0.push_str(&format!("\"{k}\" = \"{v}\"\n"));
            }
        }
        self.0.push_str(&toml_policies("accounts.users", policies));
        self
    }

    /// A role with inline policies and one static session `session` using access key `key`.
    pub fn role(self, name: &str, session: &str, key: &str, policies: &[Value]) -> Toml {
        self.role_at("/", name, session, key, policies)
    }

    /// [`Toml::role`] with an IAM path (e.g. `/ops/`).
    pub fn role_at(
        mut self,
        path: &str,
        name: &str,
        session: &str,
        key: &str,
        policies: &[Value],
    ) -> Toml {
        self.0.push_str(&format!(
            "[[accounts.roles]]\nname = \"{name}\"\npath = \"{path}\"\n[[accounts.roles.sessions]]\nname = \"{session}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{}\"\n",
            secret(key)
        ));
        self.0.push_str(&toml_policies("accounts.roles", policies));
        self
    }

    pub fn build(self) -> String {
        self.0
    }
}

/// An identity policy with one statement.
pub fn allow(action: impl Into<Value>, resource: impl Into<Value>) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action.into(), "Resource": resource.into()}]
    })
}

/// An identity policy with one conditional statement.
pub fn allow_if(action: impl Into<Value>, resource: impl Into<Value>, condition: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Action": action.into(), "Resource": resource.into(),
            "Condition": condition
        }]
    })
}

/// An identity policy that denies.
pub fn deny(action: impl Into<Value>, resource: impl Into<Value>) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": action.into(), "Resource": resource.into()}]
    })
}

/// An identity policy that denies under a condition.
pub fn deny_if(action: impl Into<Value>, resource: impl Into<Value>, condition: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny", "Action": action.into(), "Resource": resource.into(),
            "Condition": condition
        }]
    })
}

/// `kms:*` on everything: an administrator's identity policy.
pub fn admin() -> Value {
    allow("kms:*", "*")
}

/// The root-delegation statement of the default key policy (spec §8.1).
pub fn root_statement(account: &str) -> Value {
    json!({
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": "kms:*",
        "Resource": "*"
    })
}

/// A key policy from statements.
pub fn key_policy(statements: Vec<Value>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

pub fn client(server: &Server, access_key: &str) -> Client {
    server.kms_as(access_key, &secret(access_key), REGION)
}

pub fn key_arn(account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{account}:key/{key_id}")
}

pub fn alias_arn(account: &str, alias: &str) -> String {
    format!("arn:aws:kms:{REGION}:{account}:{alias}")
}

pub fn user_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

pub fn session_arn(account: &str, role: &str, session: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
}

pub fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// Creates a key (default policy unless `policy`), returns its key ID.
pub async fn create_key(c: &Client, policy: Option<&str>, bypass: bool) -> String {
    let mut req = c.create_key();
    if let Some(p) = policy {
        req = req.policy(p);
    }
    if bypass {
        req = req.bypass_policy_lockout_safety_check(true);
    }
    req.send()
        .await
        .expect("create key")
        .key_metadata
        .expect("metadata")
        .key_id
}

/// Encrypts `data` under `key` (with an optional encryption context).
pub async fn encrypt(c: &Client, key: &str, ec: &[(&str, &str)]) -> Blob {
    let mut req = c.encrypt().key_id(key).plaintext(Blob::new(b"secret data"));
    for (k, v) in ec {
        req = req.encryption_context(*k, *v);
    }
    req.send()
        .await
        .expect("encrypt")
        .ciphertext_blob
        .expect("ciphertext")
}

/// `User: <caller> is not authorized to perform: <action>[ on resource: <arn>] <reason>`.
pub fn denied(caller: &str, action: &str, resource: Option<&str>, reason: Reason) -> String {
    let on = resource
        .map(|r| format!(" on resource: {r}"))
        .unwrap_or_default();
    let why = match reason {
        Reason::NoIdentity => {
            format!("because no identity-based policy allows the {action} action")
        }
        Reason::NoResource => {
            format!("because no resource-based policy allows the {action} action")
        }
        Reason::DenyResource => "with an explicit deny in a resource-based policy".to_string(),
        Reason::DenyIdentity => "with an explicit deny in an identity-based policy".to_string(),
    };
    format!("User: {caller} is not authorized to perform: {action}{on} {why}")
}

#[derive(Debug, Clone, Copy)]
pub enum Reason {
    NoIdentity,
    NoResource,
    DenyResource,
    DenyIdentity,
}

/// Asserts that `result` is an AccessDeniedException with exactly `message`.
#[track_caller]
pub fn assert_denied<T: std::fmt::Debug, E, R>(
    result: Result<T, aws_sdk_kms::error::SdkError<E, R>>,
    message: &str,
) where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = result.expect_err("expected AccessDeniedException");
    assert_eq!(
        err(e),
        ("AccessDeniedException".to_string(), message.to_string())
    );
}

/// Asserts that `result` failed with `code` and `message`.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug, E, R>(
    result: Result<T, aws_sdk_kms::error::SdkError<E, R>>,
    code: &str,
    message: &str,
) where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = result.expect_err(&format!("expected {code}"));
    assert_eq!(err(e), (code.to_string(), message.to_string()));
}

/// Records every response a client receives; [`OverrideHeader::last`] reads the last one's
/// `x-trent-authz-overridden` header.
#[derive(Debug, Clone, Default)]
pub struct OverrideHeader(Rewrite);

impl OverrideHeader {
    /// The header of the last response (None when absent).
    pub fn last(&self) -> Option<String> {
        self.last_response()
            .header("x-trent-authz-overridden")
            .map(str::to_string)
    }

    pub fn last_response(&self) -> RawResponse {
        self.0.last()
    }
}

/// A client for `access_key` (without retries) whose responses land in the returned recorder.
pub fn client_with_headers(server: &Server, access_key: &str) -> (Client, OverrideHeader) {
    let recorder = OverrideHeader::default();
    let client = client_as(
        server,
        access_key,
        &secret(access_key),
        REGION,
        Some(recorder.0.clone()),
    );
    (client, recorder)
}
