//! The text forms of a simulation's [`Output`]: the short answer, and the `--explain` trace.

use std::fmt::Write as _;

use trent_policy::ContextValue;

use super::output::{Output, StatementOut};
use crate::authz::decide::StatementRef;

fn render_statements(out: &mut String, indent: &str, statements: &[StatementOut]) {
    if statements.is_empty() {
        let _ = writeln!(out, "{indent}(no statements)");
    }
    for s in statements {
        let statement = StatementRef {
            index: s.index,
            sid: s.sid.clone(),
        };
        let _ = writeln!(out, "{indent}{statement}: {}", s.why);
    }
}

impl Output {
    /// The decision line, then the AccessDenied message or what allowed the request.
    pub fn render_short(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.decision.as_str());
        match &self.message {
            Some(m) => {
                let _ = writeln!(out, "{m}");
            }
            None => {
                let _ = writeln!(out, "allowed by: {}", self.explanation.summary);
            }
        }
        out
    }

    /// `--explain`: the short form, then each source consulted, statement by statement, and the
    /// condition keys.
    pub fn render_explain(&self) -> String {
        let e = &self.explanation;
        let mut out = self.render_short();
        if self.message.is_some() {
            let _ = writeln!(out, "denied by: {}", e.summary);
        }
        let who = match &e.principal.role_arn {
            Some(role) => format!(
                "{} (session of {role}, account {})",
                e.principal.arn, e.principal.account
            ),
            None if e.principal.account.is_empty() => {
                format!("{} ({})", e.principal.arn, e.principal.kind)
            }
            None => format!(
                "{} ({}, account {})",
                e.principal.arn, e.principal.kind, e.principal.account
            ),
        };
        let _ = writeln!(out, "request: {who} -> {} on {}", e.action, e.resource);

        let rp = &e.resource_policy;
        if rp.consulted {
            let _ = writeln!(out, "{} ({}):", rp.label, rp.note);
            render_statements(&mut out, "  ", &rp.statements);
        } else {
            let _ = writeln!(out, "{}: {}", rp.label, rp.note);
        }

        let ip = &e.identity_policies;
        let _ = writeln!(out, "identity policies: {}", ip.note);
        if ip.policies.is_empty() && ip.consulted {
            let _ = writeln!(out, "  (the caller has none)");
        }
        for p in &ip.policies {
            let _ = writeln!(out, "  policy {:?}:", p.name);
            render_statements(&mut out, "    ", &p.statements);
        }

        let g = &e.grants;
        if g.grants.is_empty() {
            let _ = writeln!(out, "grants: {}", g.note);
        } else {
            let _ = writeln!(out, "grants:");
        }
        for grant in &g.grants {
            let name = grant
                .name
                .as_ref()
                .map(|n| format!(" (name {n:?})"))
                .unwrap_or_default();
            let verdict = match (&grant.mismatch, grant.account_grantee) {
                (None, true) => {
                    "matches (account grantee: IAM in the caller's account must also allow)"
                        .to_string()
                }
                (None, false) => "matches".to_string(),
                (Some(why), _) => format!("does not match: {why}"),
            };
            let _ = writeln!(
                out,
                "  grant {}{name} to {}: {verdict}",
                grant.grant_id, grant.grantee_principal
            );
        }

        let _ = writeln!(out, "condition keys:");
        for (k, v) in &e.context {
            let shown = match v {
                ContextValue::Single(s) => format!("{s:?}"),
                ContextValue::Multi(m) => format!("{m:?}"),
            };
            let _ = writeln!(out, "  {k} = {shown}");
        }
        out
    }
}
