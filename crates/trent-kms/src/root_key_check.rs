//! The root key's canary: a start with a root key other than the one the data was sealed under
//! (another `TRENT_ROOT_KEY`, a `root.key` from another data dir) is refused before anything is
//! read or sealed, instead of failing every cryptographic request later and sealing new keys
//! under the wrong root key.

use trent_store::StoreError;

use crate::materials::sealing_aad;
use crate::service::Kms;

/// What the canary seals, and what binds it to its purpose.
const CANARY: &[u8] = b"trent root key canary";
const CANARY_AAD: &[u8] = b"trent:root-key-canary";

#[derive(Debug, thiserror::Error)]
pub enum RootKeyCheckError {
    #[error(
        "the root key is not the one this data was sealed under (TRENT_ROOT_KEY set to another \
         key, or a root.key from another data dir?); start with the root key the data was \
         written with"
    )]
    Mismatch,
    #[error("cannot check the root key against the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot seal the root key's canary: {0}")]
    Crypto(#[from] trent_crypto::CryptoError),
}

impl Kms {
    /// Checks the root key against the store: the canary sealed at the first start must open
    /// under it. Data written before canaries existed is checked with any sealed material it
    /// holds, and then gets its canary; so does an empty store.
    pub fn check_root_key(&self) -> Result<(), RootKeyCheckError> {
        if let Some(sealed) = self.store.root_key_canary()? {
            return match self.root_key.unseal(&sealed, CANARY_AAD) {
                Ok(opened) if opened.as_slice() == CANARY => Ok(()),
                _ => Err(RootKeyCheckError::Mismatch),
            };
        }
        if let Some((key_id, material)) = self.store.any_sealed_material()? {
            let sealed = material.sealed.unwrap_or_default();
            if self
                .root_key
                .unseal(&sealed, &sealing_aad(&key_id, material.version))
                .is_err()
            {
                return Err(RootKeyCheckError::Mismatch);
            }
        }
        let canary = self.root_key.seal(CANARY, CANARY_AAD)?;
        match self.store.set_root_key_canary(&canary) {
            // Another instance on the same data set it first: check against that one.
            Err(StoreError::AlreadyExists) => self.check_root_key(),
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use trent_crypto::RootKey;
    use trent_store::Store;

    use super::*;
    use crate::test_support::{self, call};
    use crate::{ManualClock, Operation};

    fn kms(store: &Store, root: &RootKey) -> Kms {
        test_support::kms(store.clone(), root.clone(), Arc::new(ManualClock::new(0)))
    }

    #[test]
    fn the_canary_is_set_at_the_first_check_and_refuses_another_root_key() {
        let store = Store::in_memory();
        let root = RootKey::generate().unwrap();
        kms(&store, &root).check_root_key().unwrap();
        assert!(store.root_key_canary().unwrap().is_some());
        kms(&store, &root).check_root_key().unwrap();
        let other = RootKey::generate().unwrap();
        assert!(matches!(
            kms(&store, &other).check_root_key(),
            Err(RootKeyCheckError::Mismatch)
        ));
    }

    #[test]
    fn data_from_before_the_canary_is_checked_by_its_material() {
        let store = Store::in_memory();
        let root = RootKey::generate().unwrap();
        call(&kms(&store, &root), Operation::CreateKey, json!({})).unwrap();
        assert!(store.root_key_canary().unwrap().is_none());
        let other = RootKey::generate().unwrap();
        assert!(matches!(
            kms(&store, &other).check_root_key(),
            Err(RootKeyCheckError::Mismatch)
        ));
        assert!(store.root_key_canary().unwrap().is_none());
        kms(&store, &root).check_root_key().unwrap();
        assert!(store.root_key_canary().unwrap().is_some());
    }
}
