//! Evaluation of a compiled policy against one request, with a per-statement explanation.

use std::fmt;

use serde::Serialize;

use crate::condition::Clause;
use crate::context::RequestContext;
use crate::glob::match_pieces;
use crate::model::{ActionSpec, Effect, Policy, PrincipalSpec, ResourceRule, Statement};
use crate::principal::PrincipalMatch;

impl fmt::Display for PrincipalMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalMatch::Direct => "direct",
            PrincipalMatch::AccountLevel => "account-level",
        })
    }
}

/// The first element of a statement that did not match the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "element")]
pub enum Mismatch {
    Principal,
    /// The action is outside Action (or inside NotAction), or the statement has no Action.
    Action,
    /// The resource is outside Resource (or inside NotResource), or the statement has none.
    Resource,
    Condition {
        operator: String,
        key: String,
        detail: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Principal => f.write_str("the principal does not match"),
            Mismatch::Action => f.write_str("the action does not match"),
            Mismatch::Resource => f.write_str("the resource does not match"),
            Mismatch::Condition {
                operator,
                key,
                detail,
            } => write!(f, "condition {operator} on {key} is not met: {detail}"),
        }
    }
}

/// What one statement did for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementOutcome {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// Principal, action, resource and every condition matched.
    pub applies: bool,
    /// How the principal matched, when it did (set even if a later element failed).
    pub principal_match: Option<PrincipalMatch>,
    /// The first thing that failed; `None` exactly when `applies`.
    pub mismatch: Option<Mismatch>,
}

impl fmt::Display for StatementOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement {}", self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        match (&self.mismatch, self.principal_match) {
            (None, Some(m)) => write!(f, ": {} applies ({m} principal match)", self.effect),
            (None, None) => write!(f, ": {} applies", self.effect),
            (Some(why), _) => write!(f, ": {} does not apply: {why}", self.effect),
        }
    }
}

/// The outcome of every statement of a policy, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyEvaluation {
    pub statements: Vec<StatementOutcome>,
}

impl PolicyEvaluation {
    /// The first applying Deny.
    pub fn explicit_deny(&self) -> Option<&StatementOutcome> {
        self.statements
            .iter()
            .find(|s| s.applies && s.effect == Effect::Deny)
    }

    /// The first applying Allow whose principal matched with class `m`. Identity-policy
    /// statements always match with [`PrincipalMatch::Direct`].
    pub fn allow_with(&self, m: PrincipalMatch) -> Option<&StatementOutcome> {
        self.statements
            .iter()
            .find(|s| s.applies && s.effect == Effect::Allow && s.principal_match == Some(m))
    }

    /// The first applying Allow of any principal class.
    pub fn any_allow(&self) -> Option<&StatementOutcome> {
        self.statements
            .iter()
            .find(|s| s.applies && s.effect == Effect::Allow)
    }

    /// All applying statements.
    pub fn applying(&self) -> impl Iterator<Item = &StatementOutcome> {
        self.statements.iter().filter(|s| s.applies)
    }
}

impl fmt::Display for PolicyEvaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

pub(crate) fn action_matches(spec: &ActionSpec, action: &str) -> bool {
    let hit = spec
        .patterns
        .iter()
        .any(|p| match_pieces(p, &[], action, true));
    hit != spec.negated
}

/// The principal match class, or `None` if the statement does not reach the caller.
fn principal_class(st: &Statement, req: &RequestContext) -> Option<PrincipalMatch> {
    match &st.principal {
        PrincipalSpec::Implicit => Some(PrincipalMatch::Direct),
        PrincipalSpec::Principal(set) => set.match_class(&req.principal),
        PrincipalSpec::NotPrincipal(set) => set
            .not_principal_applies(&req.principal, st.effect == Effect::Deny)
            .then_some(PrincipalMatch::Direct),
    }
}

/// The first element that failed, borrowed: building the explanation strings is left to
/// [`Statement::evaluate`] so that [`Policy::summarize`] allocates nothing.
enum Failure<'a> {
    Principal,
    Action,
    Resource,
    Condition(&'a Clause),
}

fn check<'a>(
    st: &'a Statement,
    req: &RequestContext,
) -> (Option<PrincipalMatch>, Option<Failure<'a>>) {
    let Some(class) = principal_class(st, req) else {
        return (None, Some(Failure::Principal));
    };
    let failure = (|| {
        match &st.action {
            Some(spec) if action_matches(spec, &req.action) => {}
            _ => return Some(Failure::Action),
        }
        match &st.resource {
            ResourceRule::NotApplicable => {}
            ResourceRule::Missing => return Some(Failure::Resource),
            ResourceRule::Spec(spec) => {
                let hit = spec
                    .patterns
                    .iter()
                    .any(|p| p.matches(&req.context, &req.resource));
                if hit == spec.negated {
                    return Some(Failure::Resource);
                }
            }
        }
        st.conditions
            .iter()
            .find(|c| !c.evaluate(&req.context))
            .map(Failure::Condition)
    })();
    (Some(class), failure)
}

/// Which statements decided the request, without the per-statement explanation. Use it on hot
/// paths; call [`Policy::evaluate`] when the explanation is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PolicySummary {
    /// Index of the first applying Deny.
    pub explicit_deny: Option<usize>,
    /// Index of the first applying Allow with a Direct principal match.
    pub allow_direct: Option<usize>,
    /// Index of the first applying Allow with an AccountLevel principal match.
    pub allow_account_level: Option<usize>,
}

impl PolicySummary {
    /// The first applying Allow of the given class (same contract as
    /// [`PolicyEvaluation::allow_with`]).
    pub fn allow_with(&self, m: PrincipalMatch) -> Option<usize> {
        match m {
            PrincipalMatch::Direct => self.allow_direct,
            PrincipalMatch::AccountLevel => self.allow_account_level,
        }
    }

    /// The first applying Allow of either class.
    pub fn any_allow(&self) -> Option<usize> {
        match (self.allow_direct, self.allow_account_level) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Statement {
    /// Evaluate this statement alone.
    pub fn evaluate(&self, req: &RequestContext) -> StatementOutcome {
        let (principal_match, failure) = check(self, req);
        let mismatch = failure.map(|f| match f {
            Failure::Principal => Mismatch::Principal,
            Failure::Action => Mismatch::Action,
            Failure::Resource => Mismatch::Resource,
            Failure::Condition(c) => Mismatch::Condition {
                operator: c.operator.clone(),
                key: c.key.clone(),
                detail: c.failure_detail(&req.context),
            },
        });
        StatementOutcome {
            index: self.index,
            sid: self.sid.clone(),
            effect: self.effect,
            applies: mismatch.is_none(),
            principal_match,
            mismatch,
        }
    }
}

impl Policy {
    /// Evaluate every statement against `req`.
    pub fn evaluate(&self, req: &RequestContext) -> PolicyEvaluation {
        PolicyEvaluation {
            statements: self.statements.iter().map(|s| s.evaluate(req)).collect(),
        }
    }

    /// The deciding statements only; allocation-free. Agrees with [`Policy::evaluate`]:
    /// `summarize(r).explicit_deny == evaluate(r).explicit_deny().map(|s| s.index)`, and so on.
    pub fn summarize(&self, req: &RequestContext) -> PolicySummary {
        let mut out = PolicySummary::default();
        for st in &self.statements {
            let wanted = match st.effect {
                Effect::Deny => out.explicit_deny.is_none(),
                Effect::Allow => out.allow_direct.is_none() || out.allow_account_level.is_none(),
            };
            if !wanted {
                continue;
            }
            let (Some(class), None) = check(st, req) else {
                continue;
            };
            let slot = match (st.effect, class) {
                (Effect::Deny, _) => &mut out.explicit_deny,
                (Effect::Allow, PrincipalMatch::Direct) => &mut out.allow_direct,
                (Effect::Allow, PrincipalMatch::AccountLevel) => &mut out.allow_account_level,
            };
            slot.get_or_insert(st.index);
        }
        out
    }
}
