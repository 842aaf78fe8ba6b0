//! Access reports (`trent access <key>`, `POST /_trent/access`): who can do what with a key and
//! through which path. Every path comes from a decision of the authorizer (each identity Trent
//! knows, asked about each key action); the key policy's statements and the grants are listed
//! as written.

use std::collections::BTreeMap;

use serde_json::Value;

use super::access_paths::{PathContext, PathKey, paths_of};
use super::access_report::{
    AccessPath, AccessReport, Delegation, GrantSummary, IdentityAccess, PolicyStatement,
};
use super::hypothetical::{hypothetical_caller, hypothetical_principal};
use crate::arn::{is_account_id, key_arn};
use crate::authz::decide::StatementRef;
use crate::authz::{Check, grants::parse_constraints};
use crate::error::KmsResult;
use crate::identity::Principal;
use crate::service::Kms;
use trent_store::KeyRecord;

/// Every action checked against a KMS key (spec §2.2): what `trent access` asks about. From the
/// operation table.
pub fn key_actions() -> Vec<&'static str> {
    crate::operation::key_actions().collect()
}

/// What `trent access --principal/--action` narrows the report's identities to.
#[derive(Debug, Default, Clone)]
pub struct AccessFilter {
    /// Only this principal (any principal explain accepts, e.g. a session of a known role).
    pub principal: Option<Principal>,
    /// Only this key action (canonical spelling, see `canonical_action`).
    pub action: Option<&'static str>,
}

impl Kms {
    /// Who can do what with `key`, and through which path (spec §2.3, §5): the key policy's
    /// statements, the delegations to accounts (with the identities Trent knows that use them),
    /// every grant, and for every identity of the directory the key actions it is allowed.
    /// Identity-policy names of principals outside `viewer_account` are not shown.
    pub fn access_report(
        &self,
        key: &KeyRecord,
        viewer_account: &str,
        filter: &AccessFilter,
    ) -> KmsResult<AccessReport> {
        let arn = key_arn(&key.region, &key.account, &key.key_id);
        let statements = policy_statements(&key.policy);
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

        // Every identity Trent knows (or the one asked about), asked about every key action
        // (or the one asked about).
        let directory = self.directory();
        let subjects = match &filter.principal {
            Some(p) => vec![p.clone()],
            None => self.known_subjects(),
        };
        let actions: Vec<&str> = match filter.action {
            Some(a) => vec![a],
            None => crate::operation::key_actions().collect(),
        };
        let mut identities = Vec::new();
        for principal in subjects {
            let caller = hypothetical_caller(principal, &key.region);
            let cx = PathContext {
                key_policy: &statements,
                identity_policies: directory.identity_policies(&caller.principal),
                subject_kind: &caller.principal.kind,
                hide_identity: caller.principal.account != viewer_account,
            };
            let mut paths: BTreeMap<PathKey, Vec<String>> = BTreeMap::new();
            for action in &actions {
                let check = Check::key(action, key);
                let decision = self.decide_check(&caller, &check, None)?;
                for path in paths_of(&decision, &cx) {
                    paths.entry(path).or_default().push(action.to_string());
                }
            }
            if !paths.is_empty() {
                identities.push(IdentityAccess {
                    principal: caller.principal.arn.clone(),
                    account: caller.principal.account.clone(),
                    paths: paths
                        .into_iter()
                        .map(|(p, actions)| AccessPath {
                            via: p.via,
                            condition: p.condition,
                            denied: p.denied,
                            actions,
                        })
                        .collect(),
                });
            }
        }

        let delegations = statements
            .iter()
            .filter(|s| s.effect == "Allow")
            .flat_map(|s| {
                s.accounts.iter().map(|account| {
                    // The path `reason_text` gives an allow through this delegation.
                    let via_prefix = format!(
                        "key policy {} delegates;",
                        StatementRef {
                            index: s.index,
                            sid: s.sid.clone(),
                        }
                    );
                    let users = identities
                        .iter()
                        .filter(|i| &i.account == account)
                        .filter_map(|i| {
                            let actions: Vec<String> = i
                                .paths
                                .iter()
                                .filter(|p| {
                                    !p.denied
                                        && p.condition.is_none()
                                        && p.via.starts_with(&via_prefix)
                                })
                                .flat_map(|p| p.actions.clone())
                                .collect();
                            (!actions.is_empty()).then(|| IdentityAccess {
                                principal: i.principal.clone(),
                                account: i.account.clone(),
                                paths: vec![AccessPath {
                                    via: "identity policies".into(),
                                    condition: None,
                                    denied: false,
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
    if is_account_id(p) {
        return Some(p.to_string());
    }
    let rest = p.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    (parts.len() == 5 && parts[1] == "iam" && parts[4] == "root").then(|| parts[3].to_string())
}

/// The statements of a stored policy (key or identity policy), as written (the document was
/// validated when saved).
pub(super) fn policy_statements(document: &str) -> Vec<PolicyStatement> {
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
