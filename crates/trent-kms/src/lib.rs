//! The KMS service: operations, key state machine, authorization. HTTP-free:
//! [`Kms::call`] takes an authenticated [`Caller`], an [`Operation`] and the JSON request body,
//! and returns an [`Outcome`]: the JSON response or a [`KmsError`] that the HTTP layer renders,
//! with the authorization decisions made for the request.

pub mod arn;
#[cfg(test)]
mod at_rest_tests;
mod authorizer;
pub mod authz;
pub mod call;
pub mod clock;
#[cfg(test)]
mod deletion_tests;
pub mod error;
pub mod explain;
pub mod iam;
pub mod identity;
mod key_set;
mod keyref;
pub mod keyspec;
mod keystate;
pub mod managed;
mod materials;
pub mod operation;
mod ops;
mod pipeline;
pub mod quotas;
mod remote_changes;
pub mod root_key_check;
#[cfg(test)]
mod rotation_properties;
pub mod seed;
mod service;
pub mod simulate;
#[cfg(test)]
mod test_support;
mod usage;
pub mod validate;
pub mod wire;

pub use authz::AuthzMode;
pub use call::{Authorization, Call, Outcome};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ErrorCode, KmsError, KmsResult};
pub use identity::{Caller, Directory, Principal, PrincipalKind};
pub use operation::Operation;
pub use ops::keys::default_key_policy;
pub use service::Kms;
pub use trent_store::iam as iam_store;
