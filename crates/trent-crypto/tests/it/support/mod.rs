//! Shared test fixtures: one generated key per spec, made once for the whole test
//! binary (RSA-4096 generation is slow).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use trent_crypto::{KeySpec, PrivateKeyMaterial};

pub fn key(spec: KeySpec) -> &'static PrivateKeyMaterial {
    static KEYS: OnceLock<Mutex<HashMap<KeySpec, &'static PrivateKeyMaterial>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    let mut keys = keys.lock().unwrap();
    keys.entry(spec)
        .or_insert_with(|| Box::leak(Box::new(PrivateKeyMaterial::generate(spec).unwrap())))
}

/// Every spec Trent implements (all but SM2).
pub fn implemented_specs() -> impl Iterator<Item = KeySpec> {
    KeySpec::ALL.iter().copied().filter(|s| *s != KeySpec::Sm2)
}

pub fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// Bits to flip in a value of `len` bytes: all of them for short values, a
/// spread of them (first, last, and every 61st) for long ones.
pub fn bits_to_flip(len: usize) -> Vec<usize> {
    let bits = len * 8;
    if bits <= 1024 {
        (0..bits).collect()
    } else {
        let mut v: Vec<usize> = (0..bits).step_by(61).collect();
        v.extend([1, 7, 8, bits - 1]);
        v
    }
}
