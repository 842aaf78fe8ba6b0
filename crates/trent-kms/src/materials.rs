//! Key material of every key spec: generation, sealing under the root key, and a cache of
//! unsealed, *parsed* material so that the hot paths (Encrypt/Decrypt, Sign/Verify,
//! GenerateMac/VerifyMac) neither unseal nor parse on every request. Parsing an RSA private key
//! costs hundreds of microseconds; a cache hit costs a hash lookup and an `Arc` clone.
//!
//! The sealed form of every spec is [`PrivateKeyMaterial::to_bytes`] (the raw 32 bytes for
//! SYMMETRIC_DEFAULT, exactly what earlier versions sealed; the raw key for HMAC; PKCS#8 DER for
//! RSA, ECC, Ed25519 and ML-DSA), sealed with AES-256-GCM under the root key and bound to the key
//! ID and version. The database never holds plaintext key material.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use trent_crypto::{KeySpec, PrivateKeyMaterial, RootKey};
use trent_store::{KeyMaterial, KeyRecord};

use crate::error::{KmsError, KmsResult};

type CacheKey = (String, String, u32);

/// One version of a key's material, unsealed and parsed, with its public ID.
pub struct Material {
    pub key: PrivateKeyMaterial,
    /// `KeyMaterialId` of the API.
    pub material_id: String,
}

#[derive(Default)]
pub struct MaterialCache {
    entries: RwLock<HashMap<CacheKey, Arc<Material>>>,
}

/// Binds sealed material to the key and version it belongs to, so sealed blobs cannot be swapped
/// between keys in the database. Region and account are left out: data moved between regions
/// must not be orphaned.
pub fn sealing_aad(key_id: &str, version: u32) -> Vec<u8> {
    format!("trent:key-material:{key_id}:{version}").into_bytes()
}

/// The key spec of a stored key, as the crypto layer names it.
pub fn key_spec(key: &KeyRecord) -> KmsResult<KeySpec> {
    KeySpec::from_str(&key.key_spec).map_err(|_| {
        KmsError::internal(format!(
            "key {} has key spec {:?}",
            key.key_id, key.key_spec
        ))
    })
}

/// Fresh key material of `spec`, sealed for storage.
pub fn new_material(
    root: &RootKey,
    spec: KeySpec,
    key_id: &str,
    version: u32,
    now_ms: i64,
) -> KmsResult<KeyMaterial> {
    let material = PrivateKeyMaterial::generate(spec)?;
    let sealed = root.seal(&material.to_bytes(), &sealing_aad(key_id, version))?;
    Ok(KeyMaterial::new(version, hex_id()?, sealed, now_ms))
}

/// A new key ID: a random UUID, or `mrk-` and 32 hex digits for a multi-Region key.
pub fn new_key_id(multi_region: bool) -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(16)?;
    if multi_region {
        return Ok(format!(
            "mrk-{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
    }
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&bytes);
    Ok(uuid::Builder::from_random_bytes(raw)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// A 64-hex-digit identifier, the shape AWS uses for key material IDs.
pub fn hex_id() -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(32)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl MaterialCache {
    pub(crate) fn get(&self, cache_key: &CacheKey) -> Option<Arc<Material>> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(cache_key)
            .cloned()
    }

    /// Unseals and parses stored material of `spec`, or returns the cached copy.
    pub fn get_or_unseal(
        &self,
        root: &RootKey,
        region: &str,
        key_id: &str,
        spec: KeySpec,
        stored: &KeyMaterial,
    ) -> KmsResult<Arc<Material>> {
        let cache_key = (region.to_string(), key_id.to_string(), stored.version);
        if let Some(m) = self.get(&cache_key) {
            return Ok(m);
        }
        let material = Arc::new(unseal(root, key_id, spec, stored)?);
        // Two requests may race to unseal the same version; both results are equal and the
        // second insert only replaces an identical entry.
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cache_key, Arc::clone(&material));
        Ok(material)
    }

    /// Forgets every unsealed material (another instance's changes are unknown).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub fn evict_key(&self, region: &str, key_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(r, k, _), _| !(r == region && k == key_id));
    }
}

fn unseal(
    root: &RootKey,
    key_id: &str,
    spec: KeySpec,
    stored: &KeyMaterial,
) -> KmsResult<Material> {
    let sealed = stored.sealed.as_deref().ok_or_else(|| {
        KmsError::internal(format!(
            "material version {} of {key_id} is not imported",
            stored.version
        ))
    })?;
    let bytes = root
        .unseal(sealed, &sealing_aad(key_id, stored.version))
        .map_err(|e| KmsError::internal(format!("cannot unseal material of {key_id}: {e}")))?;
    let key = PrivateKeyMaterial::from_bytes(spec, &bytes).map_err(|e| {
        KmsError::internal(format!(
            "sealed material of {key_id} does not parse as {spec}: {e}"
        ))
    })?;
    Ok(Material {
        key,
        material_id: stored.material_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_material_round_trips_for_every_spec_and_is_bound_to_its_key() {
        let root = RootKey::generate().unwrap();
        for &spec in KeySpec::ALL {
            if matches!(
                spec,
                KeySpec::Sm2 | KeySpec::Rsa3072 | KeySpec::Rsa4096 // slow and same code path
            ) {
                continue;
            }
            let stored = new_material(&root, spec, "k1", 1, 0).unwrap();
            let sealed = stored.sealed.clone().unwrap();
            let raw = root.unseal(&sealed, &sealing_aad("k1", 1)).unwrap();
            // AES-GCM: version byte, nonce and tag around a ciphertext as long as the material.
            assert_eq!(sealed.len(), 1 + 12 + raw.len() + 16, "{spec}");
            assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
            let cache = MaterialCache::default();
            let m = cache
                .get_or_unseal(&root, "r", "k1", spec, &stored)
                .unwrap();
            assert_eq!(m.key.spec(), spec);
            assert_eq!(m.key.to_bytes().as_slice(), raw.as_slice());
            assert_eq!(m.material_id, stored.material_id);
            // Same entry on the second call: parsed once.
            let again = cache
                .get_or_unseal(&root, "r", "k1", spec, &stored)
                .unwrap();
            assert!(Arc::ptr_eq(&m, &again));
            // Bound to key and version.
            let other = MaterialCache::default();
            assert!(
                other
                    .get_or_unseal(&root, "r", "k2", spec, &stored)
                    .is_err()
            );
        }
    }

    #[test]
    fn symmetric_material_is_sealed_as_the_raw_32_bytes() {
        let root = RootKey::generate().unwrap();
        let stored = new_material(&root, KeySpec::SymmetricDefault, "k", 3, 0).unwrap();
        let raw = root
            .unseal(stored.sealed.as_deref().unwrap(), &sealing_aad("k", 3))
            .unwrap();
        assert_eq!(raw.len(), 32);
        let parsed = PrivateKeyMaterial::from_bytes(KeySpec::SymmetricDefault, &raw).unwrap();
        assert_eq!(parsed.as_symmetric().unwrap().as_bytes(), raw.as_slice());
    }
}
