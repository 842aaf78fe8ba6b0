//! Explanations of authorization decisions, hypothetical requests and key access reports: what
//! `trent explain`, `trent access` and the audit log's `trentAuthorization` member say.
//!
//! Nothing here decides anything on its own: hypothetical requests and access reports go
//! through the same `Kms::decide_check` as real requests, and [`explanation`] only reads the
//! [`Decision`] that decided.
//!
//! - `hypothetical`: a request that was not made, decided against the live state.
//! - `permission`: who may read explanations and access reports (`trent:Explain`).
//! - `from_decision`: a decision into an [`Explanation`], through `tree` (the key policy,
//!   identity policies and grants, statement by statement) and `causes` (the summary line and
//!   what decided), in the words of `phrases`.
//! - `why_not`: for a denial, the nearest misses (what was missing), from the decision too.
//! - `explanation`: the serialized explanation and its text form.
//! - `access` and `access_report`: who can do what with a key, and the report's serialized form.
//!
//! [`Decision`]: crate::authz::Decision

mod access;
mod access_paths;
mod access_report;
mod causes;
mod explanation;
mod from_decision;
mod hypothetical;
mod permission;
mod phrases;
mod tree;
mod why_not;

pub use access::{AccessFilter, key_actions};
pub use access_report::{
    AccessPath, AccessReport, Delegation, GrantSummary, IdentityAccess, PolicyStatement,
};
pub use explanation::{Cause, Explanation, Node, render_tree};
pub use from_decision::{decision_key_arn, explanation, explanations};
pub use hypothetical::{
    HypotheticalRequest, canonical_action, hypothetical_caller, hypothetical_principal,
};
pub use permission::EXPLAIN_ACTION;
