//! What a write changed, as the caches see it: a backend shared by several processes (PostgreSQL)
//! tells every process about the other processes' writes with these, so that each one forgets
//! what it cached of the data that changed (see `CachedStore` and `docs/architecture.md`,
//! "Several instances").

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One change, as coarse as the caches are: a key and everything that hangs off it, the aliases
/// of an account, the grants of a key, identities, or (when changes may have been missed)
/// everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A key in one Region: its record, material versions, tags, aliases or grants.
    Key { region: String, key_id: String },
    /// Aliases of an account in one Region.
    Aliases { region: String, account: String },
    /// Grants of a key (and their tokens).
    Grants { region: String, key_id: String },
    /// Identities: accounts, users, roles, policies, access keys or sessions.
    Identities,
    /// Anything may have changed: notifications may have been lost (the listening connection
    /// was down).
    Everything,
}

/// Called with every change another process made, on the backend's listening thread.
pub type ChangeListener = Arc<dyn Fn(&Change) + Send + Sync>;
