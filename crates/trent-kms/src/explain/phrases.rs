//! Phrases the tree, the causes and the access report's paths share, so that a grant or an IAM
//! allow is named the same way everywhere. (A statement is named by `StatementRef`'s `Display`.)

use crate::authz::decide::IdentityAllow;

/// `grant ID ("name")`.
pub(super) fn grant_text(id: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("grant {id} ({n:?})"),
        None => format!("grant {id}"),
    }
}

/// What the IAM side of an allow rested on, in words.
pub(super) fn identity_allow_text(i: &IdentityAllow) -> String {
    match i {
        IdentityAllow::RootUser => "the account's root user passes the IAM side".to_string(),
        IdentityAllow::IdentityPolicy { policy, statement } => {
            format!("identity policy {policy:?} {statement} allows")
        }
    }
}
