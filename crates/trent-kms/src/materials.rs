//! Key material: generation, sealing under the root key, and a cache of unsealed material so the
//! hot path (Encrypt/Decrypt) does not unseal on every request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use trent_crypto::{RootKey, SymmetricKey};
use trent_store::KeyMaterial;

use crate::error::{KmsError, KmsResult};

type CacheKey = (String, String, u32);

#[derive(Default)]
pub struct MaterialCache {
    entries: RwLock<HashMap<CacheKey, Arc<SymmetricKey>>>,
}

/// Binds sealed material to the key and version it belongs to, so sealed blobs cannot be swapped
/// between keys in the database. Region and account are left out: data moved between regions
/// must not be orphaned.
pub fn sealing_aad(key_id: &str, version: u32) -> Vec<u8> {
    format!("trent:key-material:{key_id}:{version}").into_bytes()
}

/// A fresh 32-byte symmetric key, sealed for storage.
pub fn new_symmetric_material(
    root: &RootKey,
    key_id: &str,
    version: u32,
    now_ms: i64,
) -> KmsResult<KeyMaterial> {
    let key = SymmetricKey::generate()?;
    let sealed = root.seal(key.as_bytes(), &sealing_aad(key_id, version))?;
    Ok(KeyMaterial {
        version,
        material_id: hex_id()?,
        sealed,
        created_ms: now_ms,
    })
}

/// A 64-hex-digit identifier, the shape AWS uses for key material IDs.
pub fn hex_id() -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(32)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl MaterialCache {
    pub fn get_or_unseal(
        &self,
        root: &RootKey,
        region: &str,
        key_id: &str,
        material: &KeyMaterial,
    ) -> KmsResult<Arc<SymmetricKey>> {
        let cache_key = (region.to_string(), key_id.to_string(), material.version);
        if let Some(k) = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cache_key)
        {
            return Ok(Arc::clone(k));
        }
        let bytes = root
            .unseal(&material.sealed, &sealing_aad(key_id, material.version))
            .map_err(|e| KmsError::internal(format!("cannot unseal material of {key_id}: {e}")))?;
        let key = Arc::new(SymmetricKey::from_bytes(&bytes)?);
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cache_key, Arc::clone(&key));
        Ok(key)
    }

    pub fn evict_key(&self, region: &str, key_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(r, k, _), _| !(r == region && k == key_id));
    }
}
