//! An explanation as it is serialized (the `/_trent/explain` answer, the audit log's
//! `trentAuthorization.decisions`) and read back by the CLI, with its one text form.

use serde::{Deserialize, Serialize};

use crate::authz::decide::StatementRef;

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
    /// For an implicit denial: what came closest to allowing it, and what was missing,
    /// nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub why_not: Vec<String>,
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
    pub(super) fn new(source: &str, effect: &str, why: impl Into<String>) -> Cause {
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

    pub(super) fn statement(mut self, s: &StatementRef) -> Cause {
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
    pub(super) fn leaf(text: impl Into<String>) -> Node {
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
        if !self.why_not.is_empty() {
            out.push_str("why not: what came closest to allowing it\n");
            for line in &self.why_not {
                out.push_str(&format!("  - {line}\n"));
            }
        }
        if let Some(m) = &self.aws_message {
            out.push_str(&format!("AccessDeniedException: {m}\n"));
        }
        out
    }
}
