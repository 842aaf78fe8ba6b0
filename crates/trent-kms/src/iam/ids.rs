//! Identifiers in IAM's shapes: unique IDs (`AIDA…`, `AROA…`, `ANPA…`: prefix + 17 characters,
//! 21 in all), access key IDs (`AKIA…` long-term, `ASIA…` temporary: 20 characters), secrets
//! (40 characters) and session tokens.

use base64::Engine;

use crate::error::{KmsError, KmsResult};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn random_chars(n: usize) -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(n).map_err(KmsError::internal)?;
    // 256 is a multiple of 32: every character is equally likely.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// A new unique ID: `prefix` (`AIDA`, `AROA`, `ANPA`) + 17 random characters.
pub fn unique_id(prefix: &str) -> KmsResult<String> {
    Ok(format!("{prefix}{}", random_chars(17)?))
}

/// A new access key ID: `AKIA` (long-term) or `ASIA` (temporary) + 16 random characters.
pub fn access_key_id(prefix: &str) -> KmsResult<String> {
    Ok(format!("{prefix}{}", random_chars(16)?))
}

/// A new secret access key: 40 characters of base64 (30 random bytes).
pub fn secret_access_key() -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(30).map_err(KmsError::internal)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A new session token (opaque; 48 random bytes, base64).
pub fn session_token() -> KmsResult<String> {
    let bytes = trent_crypto::random_bytes(48).map_err(KmsError::internal)?;
    Ok(format!(
        "TRENT{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = unique_id("AROA").unwrap();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert!(id.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(access_key_id("ASIA").unwrap().len(), 20);
        assert_eq!(secret_access_key().unwrap().len(), 40);
        assert_ne!(session_token().unwrap(), session_token().unwrap());
    }
}
