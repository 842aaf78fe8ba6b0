//! Explanations of authorization decisions, hypothetical requests and key access reports: what
//! `trent explain`, `trent access` and the audit log's `trentAuthorization` member say.
//!
//! Nothing here decides anything on its own: hypothetical requests go through the same
//! [`Kms::decide_check`] as real ones, and [`explanation`] only reads a [`Decision`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trent_policy::PrincipalMatch;

use crate::arn::{key_arn, parse_kms_arn};
use crate::authz::context::{encryption_context, request_alias};
use crate::authz::decide::{IdentityAllow, Reason, StatementRef};
use crate::authz::{Check, Decision, Outcome, grants::parse_constraints};
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::{Caller, Directory, Principal, PrincipalKind};
use crate::keyref::Accept;
use crate::operation::grant_operation;
use crate::service::Kms;
use trent_store::KeyRecord;

/// The action that lets a principal use Trent's explain and access APIs (besides the root user
/// of the key's account).
pub const EXPLAIN_ACTION: &str = "trent:Explain";

/// Every action checked against a KMS key (spec §2.2): what `trent access` asks about. From the
/// operation table.
pub fn key_actions() -> Vec<&'static str> {
    crate::operation::key_actions().collect()
}

/// Actions whose checks carry `kms:EncryptionAlgorithm`.
fn takes_encryption_algorithm(action: &str) -> bool {
    matches!(
        action,
        "kms:Encrypt" | "kms:Decrypt" | "kms:ReEncryptFrom" | "kms:ReEncryptTo"
    ) || action.starts_with("kms:GenerateDataKey")
}

/// A request that was not made: who, what, on which key, with which context.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HypotheticalRequest {
    /// e.g. `kms:Decrypt` (case-insensitive).
    pub action: String,
    /// Key ID, key ARN, alias name or alias ARN; absent for resource-less actions.
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub encryption_context: BTreeMap<String, String>,
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// `kms:EncryptionAlgorithm` (default `SYMMETRIC_DEFAULT` where it applies).
    #[serde(default)]
    pub encryption_algorithm: Option<String>,
}

/// The canonical spelling of a KMS action (matched case-insensitively, as IAM does).
pub fn canonical_action(action: &str) -> Option<&'static str> {
    crate::operation::key_actions()
        .chain(crate::operation::account_actions())
        .find(|a| a.eq_ignore_ascii_case(action))
}

/// The principal a hypothetical request is made as: one the directory knows (a user, role
/// session or account root with credentials, a declared user, the root of a declared account),
/// or a declared role, for which a session named `trent-explain` is assumed (a configured
/// session of the role is used instead when there is one, with its tags).
pub fn hypothetical_principal(directory: &Directory, arn: &str) -> Option<Principal> {
    if let Some(p) = directory.principal_by_arn(arn) {
        return Some(p.clone());
    }
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    if resource == "root" {
        return directory
            .has_account(account)
            .then(|| Principal::root(account));
    }
    if !directory.has_principal(arn) {
        return None;
    }
    let (kind, path_and_name) = resource.split_once('/')?;
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name.to_string()),
        None => ("/".to_string(), path_and_name.to_string()),
    };
    match kind {
        "user" => Some(Principal {
            account: account.to_string(),
            arn: arn.to_string(),
            kind: PrincipalKind::User {
                name: name.clone(),
                path,
            },
            unique_id: format!("AIDA{}", name.to_ascii_uppercase()),
            tags: BTreeMap::new(),
        }),
        "role" => {
            let configured = directory.principals().into_iter().find(|p| {
                matches!(&p.kind, PrincipalKind::AssumedRole { role_arn, .. } if role_arn == arn)
            });
            if let Some(p) = configured {
                return Some(p.clone());
            }
            let session = "trent-explain";
            Some(Principal {
                account: account.to_string(),
                arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
                kind: PrincipalKind::AssumedRole {
                    role_arn: arn.to_string(),
                    role_name: name.clone(),
                    session_name: session.to_string(),
                },
                unique_id: format!("AROA{}:{session}", name.to_ascii_uppercase()),
                tags: BTreeMap::new(),
            })
        }
        _ => None,
    }
}

/// A caller for a principal in `region` that makes no request of its own (hypothetical
/// requests, access reports).
pub fn hypothetical_caller(principal: Principal, region: &str) -> Caller {
    Caller {
        principal,
        region: region.to_string(),
        access_key_id: String::new(),
        source_ip: None,
        user_agent: None,
        via_service: None,
    }
}

impl Kms {
    /// Resolves a `KeyId` (key ID, key ARN, alias name or alias ARN) as `caller` would.
    pub fn resolve_key(&self, caller: &Caller, key_ref: &str) -> KmsResult<KeyRecord> {
        Ok(self.resolve(caller, key_ref, Accept::KeyOrAlias)?.key)
    }

    /// Decides a request `caller` did not make, against the live state, with the very same
    /// authorizer as real requests. Nothing is recorded for the caller, and the decision is
    /// made whatever the server's `--authz` mode.
    pub fn explain(&self, caller: &Caller, request: &HypotheticalRequest) -> KmsResult<Decision> {
        let action = canonical_action(&request.action).ok_or_else(|| {
            KmsError::validation(format!(
                "{} is not a KMS action that Trent can explain",
                request.action
            ))
        })?;
        if request.grant_tokens.len() > 10 {
            return Err(KmsError::validation(
                "At most 10 grant tokens can be given.",
            ));
        }
        let ec: trent_crypto::EncryptionContext = request.encryption_context.clone();
        if crate::operation::account_actions().any(|a| a == action) {
            return self.decide_check(caller, &Check::account(action), None);
        }
        let key_ref = request.key_id.as_deref().ok_or_else(|| {
            KmsError::validation(format!("{action} is checked against a key: give its KeyId"))
        })?;
        let resolved = self.resolve(caller, key_ref, Accept::KeyOrAlias)?;
        let mut check = Check::key(action, &resolved.key)
            .with_all(encryption_context(&ec))
            .with_grant_context(&ec)
            .with_all(request_alias(resolved.via_alias.as_deref()));
        if takes_encryption_algorithm(action) {
            check = check.with(
                "kms:EncryptionAlgorithm",
                request
                    .encryption_algorithm
                    .clone()
                    .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_string()),
            );
        }
        self.decide_check(caller, &check, None)
    }

    /// Whether `requester` may see explanations and access reports about a resource of
    /// `account` (`resource` is a key ARN, or `*`): the requester must belong to that account and
    /// be its root user or be allowed `trent:Explain` on the resource by its identity policies.
    pub fn authorize_explain(
        &self,
        requester: &crate::call::Call<'_>,
        account: &str,
        resource: &str,
    ) -> KmsResult<()> {
        let decision = self.decide_check(
            requester,
            &Check::arn(EXPLAIN_ACTION, resource.to_string()),
            None,
        )?;
        let allowed = decision.is_allowed();
        let message = decision.denial_message(requester.arn());
        requester.record(decision);
        if requester.account() != account {
            return Err(KmsError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {EXPLAIN_ACTION} on resource: {resource} because it belongs to account {account}",
                    requester.arn()
                ),
            ));
        }
        if allowed {
            Ok(())
        } else {
            Err(KmsError::new(ErrorCode::AccessDenied, message))
        }
    }

    /// Who can do what with `key`, and through which path (spec §2.3, §5): the key policy's
    /// statements, the delegations to accounts (with the identities Trent knows that use them),
    /// every grant, and for every identity of the directory the key actions it is allowed.
    /// Identity-policy names of principals outside `viewer_account` are not shown.
    pub fn access_report(&self, key: &KeyRecord, viewer_account: &str) -> KmsResult<AccessReport> {
        let arn = key_arn(&key.region, &key.account, &key.key_id);
        let statements = key_policy_statements(&key.policy);
        let mut grants = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list_grants(
                &key.region,
                &key.key_id,
                None,
                None,
                after.as_deref(),
                500,
            )?;
            let Some(last) = page.last() else { break };
            after = Some(last.grant_id.clone());
            for g in &page {
                grants.push(GrantSummary {
                    grant_id: g.grant_id.clone(),
                    name: g.name.clone(),
                    grantee_principal: g
                        .grantee_principal
                        .clone()
                        .or_else(|| g.grantee_service_principal.clone())
                        .unwrap_or_default(),
                    operations: g.operations.clone(),
                    constraints: serde_json::to_value(parse_constraints(g.constraints.as_deref())?)
                        .ok()
                        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty())),
                    retiring_principal: g
                        .retiring_principal
                        .clone()
                        .or_else(|| g.retiring_service_principal.clone()),
                    issuing_account: g.issuing_account.clone(),
                    creation_date: g.created_ms / 1000,
                });
            }
            if page.len() < 500 {
                break;
            }
        }

        // Every identity Trent knows, asked about every key action.
        let mut identities = Vec::new();
        for principal in self.known_subjects() {
            let caller = hypothetical_caller(principal, &key.region);
            let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for action in crate::operation::key_actions() {
                let check = Check::key(action, key);
                let decision = self.decide_check(&caller, &check, None)?;
                if decision.is_allowed() {
                    let hide = caller.principal.account != viewer_account;
                    paths
                        .entry(reason_text(&decision.reason, hide))
                        .or_default()
                        .push(action.to_string());
                }
            }
            if !paths.is_empty() {
                identities.push(IdentityAccess {
                    principal: caller.principal.arn.clone(),
                    account: caller.principal.account.clone(),
                    paths: paths
                        .into_iter()
                        .map(|(via, actions)| AccessPath { via, actions })
                        .collect(),
                });
            }
        }

        let delegations = statements
            .iter()
            .filter(|s| s.effect == "Allow")
            .flat_map(|s| {
                s.accounts.iter().map(|account| {
                    let via_prefix = format!(
                        "key policy {} delegates;",
                        statement_text(&StatementRef {
                            index: s.index,
                            sid: s.sid.clone(),
                        })
                    );
                    let users = identities
                        .iter()
                        .filter(|i| &i.account == account)
                        .filter_map(|i| {
                            let actions: Vec<String> = i
                                .paths
                                .iter()
                                .filter(|p| p.via.starts_with(&via_prefix))
                                .flat_map(|p| p.actions.clone())
                                .collect();
                            (!actions.is_empty()).then(|| IdentityAccess {
                                principal: i.principal.clone(),
                                account: i.account.clone(),
                                paths: vec![AccessPath {
                                    via: "identity policies".into(),
                                    actions,
                                }],
                            })
                        })
                        .collect();
                    Delegation {
                        account: account.clone(),
                        statement: s.index,
                        sid: s.sid.clone(),
                        actions: s.actions.clone(),
                        not_actions: s.not_actions.clone(),
                        conditions: s.conditions.clone(),
                        known_identities: users,
                    }
                })
            })
            .collect();

        Ok(AccessReport {
            key_arn: arn,
            key_account: key.account.clone(),
            key_state: key.key_state.to_string(),
            key_policy: statements,
            delegations,
            grants,
            identities,
        })
    }

    /// Every principal the directory knows, once: its credentialed principals, the roots of its
    /// accounts, and a session of each declared role.
    fn known_subjects(&self) -> Vec<Principal> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |p: Principal, out: &mut Vec<Principal>| {
            if seen.insert(p.arn.clone()) {
                out.push(p);
            }
        };
        let directory = self.directory();
        for p in directory.principals() {
            push(p.clone(), &mut out);
        }
        for account in directory.accounts() {
            push(Principal::root(account), &mut out);
        }
        for arn in directory.declared_arns() {
            if let Some(p) = hypothetical_principal(&directory, arn) {
                push(p, &mut out);
            }
        }
        out.sort_by(|a, b| a.arn.cmp(&b.arn));
        out
    }
}

// ---- access report -------------------------------------------------------------------------------

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
    /// For every identity Trent knows, the key actions it is allowed (without request-specific
    /// context such as an encryption context) and the path that allows them.
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
    pub actions: Vec<String>,
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn account_of_principal(p: &str) -> Option<String> {
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p.to_string());
    }
    let rest = p.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    (parts.len() == 5 && parts[1] == "iam" && parts[4] == "root").then(|| parts[3].to_string())
}

/// The statements of a stored key policy, as written (the document was validated when saved).
fn key_policy_statements(document: &str) -> Vec<PolicyStatement> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let (negated, principal) = match (s.get("Principal"), s.get("NotPrincipal")) {
                (Some(p), _) => (false, Some(p)),
                (None, Some(p)) => (true, Some(p)),
                (None, None) => (false, None),
            };
            let mut principals = Vec::new();
            match principal {
                Some(Value::String(s)) => principals.push(s.clone()),
                Some(Value::Object(map)) => {
                    for (kind, v) in map {
                        for p in string_list(Some(v)) {
                            principals.push(if kind == "AWS" {
                                p
                            } else {
                                format!("{kind}:{p}")
                            });
                        }
                    }
                }
                _ => {}
            }
            let accounts = if negated {
                Vec::new()
            } else {
                principals
                    .iter()
                    .filter_map(|p| account_of_principal(p))
                    .collect()
            };
            if negated {
                principals = principals.into_iter().map(|p| format!("not {p}")).collect();
            }
            PolicyStatement {
                index,
                sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect: s
                    .get("Effect")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                principals,
                accounts,
                actions: string_list(s.get("Action")),
                not_actions: string_list(s.get("NotAction")),
                conditions: s.get("Condition").cloned(),
            }
        })
        .collect()
}

// ---- explanations --------------------------------------------------------------------------------

/// A decision in words: the first line, what caused it, and a tree of the three sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub action: String,
    pub resource: String,
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub outcome: String,
    pub allowed: bool,
    /// The decision and its cause in one line.
    pub summary: String,
    /// What decided: for an allow the statement or grant that allowed; for an explicit deny the
    /// denying statement; for an implicit deny each source that did not allow, and why.
    pub causes: Vec<Cause>,
    /// Key policy, identity policies, grants.
    pub tree: Vec<Node>,
    /// The AccessDeniedException message the request gets (denials only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aws_message: Option<String>,
}

/// One cause of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `keyPolicy`, `identityPolicy`, `grant`, `crossAccount` or `rootUser`.
    pub source: String,
    /// `allows`, `delegates`, `denies`, `doesNotAllow`.
    pub effect: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub statement: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// Identity policy name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant_name: Option<String>,
    pub why: String,
}

impl Cause {
    fn new(source: &str, effect: &str, why: impl Into<String>) -> Cause {
        Cause {
            source: source.into(),
            effect: effect.into(),
            statement: None,
            sid: None,
            policy: None,
            grant_id: None,
            grant_name: None,
            why: why.into(),
        }
    }

    fn statement(mut self, s: &StatementRef) -> Cause {
        self.statement = Some(s.index);
        self.sid = s.sid.clone();
        self
    }
}

/// A line of the explanation tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub children: Vec<Node>,
}

impl Node {
    fn leaf(text: impl Into<String>) -> Node {
        Node {
            text: text.into(),
            children: Vec::new(),
        }
    }
}

/// Renders a tree with box-drawing branches, one node per line.
pub fn render_tree(nodes: &[Node]) -> String {
    fn walk(nodes: &[Node], prefix: &str, out: &mut String) {
        for (i, n) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            out.push_str(prefix);
            out.push_str(if last { "└─ " } else { "├─ " });
            out.push_str(&n.text);
            out.push('\n');
            let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
            walk(&n.children, &child_prefix, out);
        }
    }
    let mut out = String::new();
    walk(nodes, "", &mut out);
    out
}

impl Explanation {
    /// The human form: the summary, the tree, and the AWS message of a denial.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n{}", self.summary, render_tree(&self.tree));
        if let Some(m) = &self.aws_message {
            out.push_str(&format!("AccessDeniedException: {m}\n"));
        }
        out
    }
}

fn statement_text(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("statement {} (Sid {sid:?})", s.index),
        None => format!("statement {}", s.index),
    }
}

fn grant_text(id: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("grant {id} ({n:?})"),
        None => format!("grant {id}"),
    }
}

fn identity_allow_text(i: &IdentityAllow) -> String {
    match i {
        IdentityAllow::RootUser => "the account's root user passes the IAM side".to_string(),
        IdentityAllow::IdentityPolicy { policy, statement } => {
            format!(
                "identity policy {policy:?} {} allows",
                statement_text(statement)
            )
        }
    }
}

/// The path a reason names, for access reports.
fn reason_text(r: &Reason, hide_identity: bool) -> String {
    let identity_allow_text = |i: &IdentityAllow| match i {
        IdentityAllow::IdentityPolicy { .. } if hide_identity => {
            "an identity policy allows".to_string()
        }
        other => identity_allow_text(other),
    };
    match r {
        Reason::KeyPolicyAllows { statement } => {
            format!("key policy {}", statement_text(statement))
        }
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => format!(
            "key policy {} delegates; {}",
            statement_text(statement),
            identity_allow_text(identity)
        ),
        Reason::IdentityAllows { identity } => identity_allow_text(identity),
        Reason::Grant { grant_id, name } => grant_text(grant_id, name.as_deref()),
        other => format!("{other:?}"),
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "Allow",
        Outcome::ExplicitDeny => "ExplicitDeny",
        Outcome::ImplicitDeny => "ImplicitDeny",
    }
}

/// Who the subject is, in words: its ARN, and its role for sessions.
fn subject_names(p: &Principal) -> String {
    match &p.kind {
        PrincipalKind::AssumedRole { role_arn, .. } => format!("{} (role {role_arn})", p.arn),
        _ => p.arn.clone(),
    }
}

/// Explains `d`, a decision made for `subject`. With `hide_identity`, the subject's identity
/// policies are summarized without names or statements (they belong to an account the reader
/// may not inspect).
pub fn explanation(d: &Decision, subject: &Principal, hide_identity: bool) -> Explanation {
    let account = subject.account.as_str();
    let key_account = parse_kms_arn(&d.resource).map(|a| a.account);
    let mut causes = Vec::new();
    let mut tree = Vec::new();

    // ---- key policy
    let mut delegation_mismatch: Option<String> = None;
    let mut names_subject = false;
    if let Some(kp) = &d.key_policy {
        let children: Vec<Node> = kp
            .statements
            .iter()
            .map(|s| Node::leaf(s.to_string()))
            .collect();
        names_subject = kp
            .statements
            .iter()
            .any(|s| s.principal_match == Some(PrincipalMatch::Direct));
        if let Some(s) = kp
            .statements
            .iter()
            .find(|s| s.principal_match == Some(PrincipalMatch::AccountLevel) && !s.applies)
        {
            delegation_mismatch = Some(format!(
                "{}: {}",
                statement_text(&StatementRef {
                    index: s.index,
                    sid: s.sid.clone()
                }),
                s.mismatch
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_default()
            ));
        }
        let delegates = kp
            .statements
            .iter()
            .any(|s| s.principal_match == Some(PrincipalMatch::AccountLevel) && s.applies);
        let title = match &d.reason {
            Reason::KeyPolicyDenies { statement } => {
                format!(
                    "key policy: {} explicitly denies",
                    statement_text(statement)
                )
            }
            Reason::KeyPolicyAllows { statement } => format!(
                "key policy: {} allows {} directly",
                statement_text(statement),
                subject.arn
            ),
            Reason::KeyPolicyDelegatesToIam { statement, .. } => format!(
                "key policy: {} delegates to account {account}",
                statement_text(statement)
            ),
            _ if !names_subject && !delegates => format!(
                "key policy: no statement names {} and the key policy does not delegate to account {account}",
                subject_names(subject)
            ),
            _ if delegates => format!(
                "key policy: no statement names {} directly; it delegates to account {account}",
                subject.arn
            ),
            _ => format!(
                "key policy: no statement allows {} for {}",
                d.action, subject.arn
            ),
        };
        tree.push(Node {
            text: title,
            children,
        });
    }

    // ---- identity policies
    let identity_children: Vec<Node> = if hide_identity {
        vec![Node::leaf(format!(
            "(statements hidden: the policies belong to account {account})"
        ))]
    } else {
        d.identity_policies
            .iter()
            .map(|p| Node {
                text: format!("policy {:?}", p.name),
                children: p
                    .evaluation
                    .statements
                    .iter()
                    .map(|s| Node::leaf(s.to_string()))
                    .collect(),
            })
            .collect()
    };
    let identity_title = match &d.reason {
        Reason::IdentityPolicyDenies { policy, statement } => {
            if hide_identity {
                "identity policies: an identity policy explicitly denies".to_string()
            } else {
                format!(
                    "identity policies: policy {policy:?} {} explicitly denies",
                    statement_text(statement)
                )
            }
        }
        Reason::KeyPolicyDenies { .. } => {
            "identity policies: not needed: the key policy denies".to_string()
        }
        Reason::NotCrossAccountAction => format!(
            "identity policies: not consulted: {} cannot be used on a key of another account",
            d.action
        ),
        Reason::KeyPolicyAllows { .. } => {
            "identity policies: not needed: the key policy names the caller directly".to_string()
        }
        Reason::KeyPolicyDelegatesToIam { identity, .. } | Reason::IdentityAllows { identity } => {
            match identity {
                IdentityAllow::RootUser => format!(
                    "identity policies: the root user of account {account} passes the IAM side implicitly"
                ),
                IdentityAllow::IdentityPolicy { .. } if hide_identity => {
                    "identity policies: an identity policy allows".to_string()
                }
                other => format!("identity policies: {}", identity_allow_text(other)),
            }
        }
        _ if !d.identity_consulted => match &delegation_mismatch {
            Some(why) => format!(
                "identity policies: not consulted: the key policy's delegation to account {account} does not cover this request ({why})"
            ),
            None => format!(
                "identity policies: not consulted: the key policy does not delegate to account {account}"
            ),
        },
        _ if subject.kind == PrincipalKind::Root => format!(
            "identity policies: the root user of account {account} passes the IAM side implicitly"
        ),
        _ => format!("identity policies: no identity policy allows {}", d.action),
    };
    let identity_children =
        if d.identity_consulted || matches!(d.reason, Reason::IdentityPolicyDenies { .. }) {
            if identity_children.is_empty() && subject.kind != PrincipalKind::Root {
                vec![Node::leaf(format!(
                    "{} has no identity policies",
                    subject.principal_arn()
                ))]
            } else {
                identity_children
            }
        } else {
            Vec::new()
        };
    tree.push(Node {
        text: identity_title,
        children: identity_children,
    });

    // ---- grants
    if d.key_policy.is_some() {
        let children: Vec<Node> = d
            .grants
            .iter()
            .map(|g| {
                let head = format!(
                    "{} for {}",
                    grant_text(&g.grant_id, g.name.as_deref()),
                    g.grantee_principal
                );
                Node::leaf(match &g.mismatch {
                    None if g.account_grantee => {
                        format!("{head}: matches (an account grantee: IAM must allow too)")
                    }
                    None => format!("{head}: matches"),
                    Some(why) => format!("{head}: does not apply: {why}"),
                })
            })
            .collect();
        let title = match (&d.reason, grant_operation(&d.action)) {
            (Reason::Grant { grant_id, name }, _) => {
                format!(
                    "grants: {} allows it",
                    grant_text(grant_id, name.as_deref())
                )
            }
            (_, None) => format!("grants: none considered: {} cannot be granted", d.action),
            _ if d.grants.is_empty() => format!(
                "grants: no grant matches: no grant of this key names {}, its role or its account",
                subject.arn
            ),
            _ if d.grants.iter().any(|g| g.applies) => {
                "grants: a grant matches, but not needed or not sufficient".to_string()
            }
            _ => "grants: no grant matches".to_string(),
        };
        tree.push(Node {
            text: title,
            children,
        });
    }

    // ---- causes and the summary line
    let on = if d.resource == "*" {
        String::new()
    } else {
        format!(" on {}", d.resource)
    };
    let head = format!(
        "{} {}{on} for {}",
        match d.outcome {
            Outcome::Allow => "ALLOW",
            Outcome::ExplicitDeny => "DENY (explicit)",
            Outcome::ImplicitDeny => "DENY (implicit)",
        },
        d.action,
        subject.arn
    );
    let why = match &d.reason {
        Reason::KeyPolicyAllows { statement } => {
            causes.push(
                Cause::new(
                    "keyPolicy",
                    "allows",
                    "names the caller, its role, or everyone",
                )
                .statement(statement),
            );
            format!("key policy {} allows it", statement_text(statement))
        }
        Reason::KeyPolicyDelegatesToIam {
            statement,
            identity,
        } => {
            causes.push(
                Cause::new("keyPolicy", "delegates", format!("names account {account}"))
                    .statement(statement),
            );
            causes.push(identity_cause(identity, hide_identity));
            format!(
                "key policy {} delegates to account {account} and {}",
                statement_text(statement),
                if hide_identity {
                    "an identity policy allows".to_string()
                } else {
                    identity_allow_text(identity)
                }
            )
        }
        Reason::IdentityAllows { identity } => {
            causes.push(identity_cause(identity, hide_identity));
            if hide_identity {
                "an identity policy allows it".to_string()
            } else {
                identity_allow_text(identity)
            }
        }
        Reason::Grant { grant_id, name } => {
            let mut c = Cause::new(
                "grant",
                "allows",
                "grantee, operation and constraints match",
            );
            c.grant_id = Some(grant_id.clone());
            c.grant_name = name.clone();
            causes.push(c);
            format!("{} allows it", grant_text(grant_id, name.as_deref()))
        }
        Reason::KeyPolicyDenies { statement } => {
            causes.push(
                Cause::new("keyPolicy", "denies", "an explicit deny beats every allow")
                    .statement(statement),
            );
            format!("explicit deny in key policy {}", statement_text(statement))
        }
        Reason::IdentityPolicyDenies { policy, statement } => {
            let mut c = Cause::new(
                "identityPolicy",
                "denies",
                "an explicit deny beats every allow",
            );
            if !hide_identity {
                c = c.statement(statement);
                c.policy = Some(policy.clone());
            }
            causes.push(c);
            if hide_identity {
                "explicit deny in an identity policy".to_string()
            } else {
                format!(
                    "explicit deny in identity policy {policy:?} {}",
                    statement_text(statement)
                )
            }
        }
        Reason::NotCrossAccountAction => {
            causes.push(Cause::new(
                "crossAccount",
                "doesNotAllow",
                format!(
                    "{} cannot be used on a key of another account ({} is not {})",
                    d.action,
                    account,
                    key_account.as_deref().unwrap_or("?")
                ),
            ));
            format!("{} cannot be used across accounts", d.action)
        }
        Reason::SessionPolicyDenies { policy, statement } => {
            let mut c = Cause::new(
                "sessionPolicy",
                "denies",
                "an explicit deny beats every allow",
            );
            c = c.statement(statement);
            c.policy = Some(policy.clone());
            causes.push(c);
            format!("explicit deny in {policy} {}", statement_text(statement))
        }
        Reason::NoSessionPolicyAllow => {
            causes.push(Cause::new(
                "sessionPolicy",
                "doesNotAllow",
                "the role session has session policies and none of them allows the action",
            ));
            "no session policy of the role session allows it".to_string()
        }
        Reason::NoResourceBasedAllow | Reason::NoIdentityBasedAllow => {
            implicit_deny_causes(d, subject, names_subject, &delegation_mismatch, &mut causes)
        }
    };
    let allowed = d.outcome == Outcome::Allow;
    Explanation {
        action: d.action.clone(),
        resource: d.resource.clone(),
        outcome: outcome_name(d.outcome).to_string(),
        allowed,
        summary: format!("{head}: {why}"),
        causes,
        tree,
        aws_message: (!allowed).then(|| d.denial_message(&subject.arn)),
    }
}

fn identity_cause(identity: &IdentityAllow, hide: bool) -> Cause {
    match identity {
        IdentityAllow::RootUser => Cause::new(
            "rootUser",
            "allows",
            "the root user passes the IAM side implicitly",
        ),
        IdentityAllow::IdentityPolicy { .. } if hide => {
            Cause::new("identityPolicy", "allows", "an identity policy allows")
        }
        IdentityAllow::IdentityPolicy { policy, statement } => {
            let mut c = Cause::new("identityPolicy", "allows", "allows the action on the key")
                .statement(statement);
            c.policy = Some(policy.clone());
            c
        }
    }
}

/// Each source that did not allow, and why; the summary's reason.
fn implicit_deny_causes(
    d: &Decision,
    subject: &Principal,
    names_subject: bool,
    delegation_mismatch: &Option<String>,
    causes: &mut Vec<Cause>,
) -> String {
    let account = subject.account.as_str();
    let mut parts = Vec::new();
    if d.key_policy.is_none() {
        causes.push(Cause::new(
            "identityPolicy",
            "doesNotAllow",
            format!("no identity policy allows {} on {}", d.action, d.resource),
        ));
        return format!("no identity policy allows {}", d.action);
    }
    let delegates = d.identity_consulted;
    let delegation = d.key_policy.as_ref().and_then(|kp| {
        kp.statements
            .iter()
            .find(|s| s.applies && s.principal_match == Some(PrincipalMatch::AccountLevel))
    });
    if let Some(s) = delegation {
        causes.push(
            Cause::new(
                "keyPolicy",
                "delegates",
                format!("names account {account}: IAM decides"),
            )
            .statement(&StatementRef {
                index: s.index,
                sid: s.sid.clone(),
            }),
        );
    } else if names_subject {
        causes.push(Cause::new(
            "keyPolicy",
            "doesNotAllow",
            "a statement names the caller but does not apply to this request",
        ));
        parts.push("no key-policy statement that names the caller applies".to_string());
    } else {
        causes.push(Cause::new(
            "keyPolicy",
            "doesNotAllow",
            format!("no statement names {}", subject.arn),
        ));
        parts.push("no key-policy statement names the caller".to_string());
    }
    if delegates {
        if subject.kind != PrincipalKind::Root {
            causes.push(Cause::new(
                "identityPolicy",
                "doesNotAllow",
                format!("no identity policy allows {}", d.action),
            ));
            parts.push(format!(
                "the key policy delegates to account {account} but no identity policy allows {}",
                d.action
            ));
        }
    } else {
        let why = match delegation_mismatch {
            Some(m) => format!(
                "the key policy's delegation to account {account} does not cover this request ({m})"
            ),
            None => format!("the key policy does not delegate to account {account}"),
        };
        causes.push(Cause::new(
            "identityPolicy",
            "doesNotAllow",
            format!("not consulted: {why}"),
        ));
        parts.push(format!("{why}, so identity policies were not consulted"));
    }
    if grant_operation(&d.action).is_some() {
        let why = if d.grants.is_empty() {
            "no grant of this key names the caller, its role or its account".to_string()
        } else {
            d.grants
                .iter()
                .map(|g| {
                    format!(
                        "{}: {}",
                        grant_text(&g.grant_id, g.name.as_deref()),
                        g.mismatch
                            .clone()
                            .unwrap_or_else(|| "the grantee account's IAM does not allow".into())
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        causes.push(Cause::new("grant", "doesNotAllow", why));
        parts.push("no grant matches".to_string());
    }
    parts.join("; ")
}

/// Explanations of every decision a request recorded, for the audit log.
pub fn explanations(decisions: &[Decision], subject: &Principal) -> Vec<Explanation> {
    decisions
        .iter()
        .map(|d| explanation(d, subject, false))
        .collect()
}

/// The ARN of the key a decision is about, if it is about a key.
pub fn decision_key_arn(d: &Decision) -> Option<&str> {
    parse_kms_arn(&d.resource)
        .is_some_and(|a| a.resource.starts_with("key/"))
        .then_some(d.resource.as_str())
}
