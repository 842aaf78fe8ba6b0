//! The IAM policy language: parse, validate, evaluate, explain. Pure: no I/O, no KMS or HTTP
//! knowledge.
//!
//! [`Policy::parse`] validates a document under the rules of a [`PolicyKind`] and compiles it
//! (actions lowercased, wildcards, CIDRs, dates, numbers and base64 parsed once).
//! [`Policy::evaluate`] answers one [`RequestContext`] with a [`PolicyEvaluation`]: per
//! statement, whether it applied, how its principal matched ([`PrincipalMatch`]) and otherwise
//! the first [`Mismatch`]. [`Policy::summarize`] gives the deciding statements only, without
//! allocating. Combining key policy, identity policies and grants is the caller's job.
//!
//! Choices made where AWS documents nothing (spec marks **(I)** / **(?)**):
//! - Multi-valued key without a set operator: evaluated as `ForAnyValue`, for negated
//!   operators too (some request value must match none of the policy values); an absent key
//!   still makes a negated operator true (spec §3.4.3).
//! - An empty multi-valued key counts as absent (for `Null`, `...IfExists` and set operators).
//! - Request values an operator cannot parse (a non-number for `Numeric*`, ...) match nothing,
//!   so positive operators fail and negated ones succeed.
//! - `NotPrincipal`: a Deny spares a caller only if every link of its identity chain (account,
//!   role, session or user) is listed; an Allow reaches a caller only if no link is listed.
//!   Both statements match with class [`PrincipalMatch::Direct`], like `"*"`.
//! - `Federated` and `CanonicalUser` principals are accepted but match no modelled caller.
//! - Resource and `Arn*` patterns must have as many colon-separated parts (at most six) as the
//!   ARN; only a bare `*` matches anything, including the `*` of resource-less actions.
//! - Trust policies may not contain Resource/NotResource; their statements ignore the resource.
//! - Operator and element names are case-sensitive; condition-key and variable names are not.
//! - `Bool` accepts policy variables; Numeric, Date, Binary, IP and Null do not.
//! - `OverlyPermissiveCondition` text for tags fills AWS's documented template with "tag".
//!
//! ```
//! use trent_policy::{Policy, PolicyKind, Principal, PrincipalMatch, RequestContext};
//!
//! let policy = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!         "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
//!     PolicyKind::KeyPolicy,
//! )?;
//! let caller = Principal::user("arn:aws:iam::111122223333:user/alice");
//! let req = RequestContext::new(caller, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k");
//! let result = policy.evaluate(&req);
//! assert!(result.explicit_deny().is_none());
//! assert!(result.allow_with(PrincipalMatch::AccountLevel).is_some());
//! # Ok::<(), trent_policy::PolicyError>(())
//! ```

mod arn;
mod condition;
mod context;
mod error;
mod evaluate;
mod glob;
mod json;
mod keys;
mod model;
mod principal;
mod template;
mod validate;

pub use condition::{Clause, SetOp as SetOperator};
pub use context::{ConditionContext, ContextValue, RequestContext};
pub use error::{ExpectedValue, Location, OverlyPermissiveTarget, PolicyError};
pub use evaluate::{Mismatch, PolicyEvaluation, PolicySummary, StatementOutcome};
pub use glob::glob_match;
pub use keys::{KeyValues, key_values};
pub use model::{Effect, Policy, PolicyKind, PrincipalElement, Statement};
pub use principal::{Principal, PrincipalKind, PrincipalMatch, PrincipalSet};
pub use validate::KEY_POLICY_MAX_BYTES;
