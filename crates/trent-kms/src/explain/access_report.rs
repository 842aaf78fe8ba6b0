//! The access report as it is serialized: the key policy's statements as written, the
//! delegations to accounts, the grants, and what each known identity is allowed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `trent access <key>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessReport {
    pub key_arn: String,
    pub key_account: String,
    pub key_state: String,
    /// Every statement of the key policy, with the principals it names.
    pub key_policy: Vec<PolicyStatement>,
    /// Allow statements naming an account: any principal of it whose IAM policies allow.
    pub delegations: Vec<Delegation>,
    pub grants: Vec<GrantSummary>,
    /// For every identity Trent knows, the key actions it is allowed and the path that allows
    /// them: unconditionally (whatever the request's context), only when a condition is met
    /// (a grant's constraints, a statement's Condition), and the denies that cut them.
    pub identities: Vec<IdentityAccess>,
}

/// One key-policy statement as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatement {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: String,
    /// The `Principal` (or `NotPrincipal`, prefixed `not `) entries, as written.
    pub principals: Vec<String>,
    /// Accounts the statement names (`arn:aws:iam::A:root` or `A`): delegation to IAM.
    pub accounts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub not_actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    pub account: String,
    pub statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub not_actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Value>,
    /// Identities of that account that Trent knows whose IAM policies do allow, with what.
    pub known_identities: Vec<IdentityAccess>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSummary {
    pub grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub grantee_principal: String,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    pub issuing_account: String,
    /// Epoch seconds.
    pub creation_date: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityAccess {
    pub principal: String,
    pub account: String,
    pub paths: Vec<AccessPath>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPath {
    /// e.g. `key policy statement 0 (Sid "admin")`, `grant 0c23… ("name")`.
    pub via: String,
    /// Set when the path allows (or denies) only requests meeting a condition: a grant's
    /// constraints, or a policy statement's `Condition` as written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub condition: Option<String>,
    /// The path denies these actions (an explicit deny, or with `condition` one that cuts the
    /// identity's access when its condition is met).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub denied: bool,
    pub actions: Vec<String>,
}
