//! Persistent state: keys, material versions, aliases, tags, policies, identities.
