//! The IAM policy language: parse, validate, evaluate, explain. Pure: no I/O, no KMS or HTTP
//! knowledge.
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
mod model;
mod principal;
mod template;
mod validate;

pub use context::{ConditionContext, ContextValue, RequestContext};
pub use error::{ExpectedValue, Location, OverlyPermissiveTarget, PolicyError};
pub use evaluate::{Mismatch, PolicyEvaluation, PolicySummary, StatementOutcome};
pub use glob::glob_match;
pub use model::{Effect, Policy, PolicyKind, Statement};
pub use principal::{Principal, PrincipalKind, PrincipalMatch};
pub use validate::KEY_POLICY_MAX_BYTES;
