//! "Why not": for an implicit denial, what came closest to allowing it and what was missing —
//! a retired grant that would have allowed it, a grant for the caller whose operation or
//! constraint did not fit, a key-policy statement naming the caller whose action or condition
//! did not match, an identity-policy allow the key policy gave no effect. Read from the
//! decision only, like the tree; nearest first.

use trent_policy::{Effect, Mismatch, PrincipalMatch, StatementOutcome};

use super::phrases::grant_text;
use super::tree::ended_text;
use crate::authz::decide::StatementRef;
use crate::authz::{Decision, Outcome};
use crate::identity::Principal;

/// At most this many lines: the nearest misses, not a second tree.
const MAX_LINES: usize = 5;

/// How near a miss is, nearest first: a grant that ended, then what the request's context or
/// resource did not meet (the caller and the action were right), then the wrong action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Nearness {
    Ended,
    Context,
    Action,
}

fn nearness(m: Option<&Mismatch>) -> Nearness {
    match m {
        Some(Mismatch::Action) => Nearness::Action,
        _ => Nearness::Context,
    }
}

/// The nearest misses of `d` (empty unless it is an implicit denial). With `hide_identity`,
/// identity policies are not named.
pub(super) fn why_not(d: &Decision, subject: &Principal, hide_identity: bool) -> Vec<String> {
    if d.outcome != Outcome::ImplicitDeny {
        return Vec::new();
    }
    let mut lines: Vec<(Nearness, String)> = Vec::new();
    for e in &d.ended_grants {
        lines.push((
            Nearness::Ended,
            format!(
                "{} would have allowed it, but {}",
                grant_text(&e.grant.grant_id, e.grant.name.as_deref()),
                ended_text(e)
            ),
        ));
    }
    for g in d.grants.iter().filter(|g| g.grantee_matches) {
        let grant = grant_text(&g.grant_id, g.name.as_deref());
        // Constraints are checked only once grantee and operation matched.
        let near = if g.constraints.iter().any(|c| !c.satisfied) {
            Nearness::Context
        } else {
            Nearness::Action
        };
        match &g.mismatch {
            Some(why) => lines.push((near, format!("{grant} is for the caller, but {why}"))),
            None if g.account_grantee => lines.push((
                Nearness::Context,
                format!(
                    "{grant} is for account {}, but no identity policy of the caller allows {}",
                    subject.account, d.action
                ),
            )),
            None => {}
        }
    }
    if let Some(kp) = &d.key_policy {
        for s in kp.statements.iter().filter(|s| near_miss(s)) {
            let whom = match s.principal_match {
                Some(PrincipalMatch::AccountLevel) => {
                    format!("delegates to account {}", subject.account)
                }
                _ => "names the caller".to_string(),
            };
            lines.push((
                nearness(s.mismatch.as_ref()),
                format!(
                    "key policy {} {whom}, but {}",
                    StatementRef::of(s),
                    mismatch_text(s)
                ),
            ));
        }
    }
    if !hide_identity {
        for p in &d.identity_policies {
            for s in &p.evaluation.statements {
                if s.effect == Effect::Allow && s.applies && !d.identity_consulted {
                    lines.push((Nearness::Context, format!(
                        "identity policy {:?} {} allows {}, but the key policy does not delegate to account {}, so identity policies do not count",
                        p.name,
                        StatementRef::of(s),
                        d.action,
                        subject.account
                    )));
                } else if near_miss(s) && !matches!(s.mismatch, Some(Mismatch::Action)) {
                    lines.push((
                        Nearness::Context,
                        format!(
                            "identity policy {:?} {} is for {}, but {}",
                            p.name,
                            StatementRef::of(s),
                            d.action,
                            mismatch_text(s)
                        ),
                    ));
                }
            }
        }
    }
    // Stable: within one nearness, the order of the tree (grants that ended, grants, key
    // policy, identity policies).
    lines.sort_by_key(|(near, _)| *near);
    lines
        .into_iter()
        .take(MAX_LINES)
        .map(|(_, line)| line)
        .collect()
}

/// An Allow statement whose principal matched but a later element did not.
fn near_miss(s: &StatementOutcome) -> bool {
    s.effect == Effect::Allow
        && !s.applies
        && s.principal_match.is_some()
        && !matches!(s.mismatch, Some(Mismatch::Principal))
}

fn mismatch_text(s: &StatementOutcome) -> String {
    s.mismatch
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default()
}
