//! Document-level checks KMS applies to key policies before parsing (spec §3.1).

use crate::error::PolicyError;

/// KMS's key-policy size limit, in bytes. Exceeding it is a `LimitExceededException`.
pub const KEY_POLICY_MAX_BYTES: usize = 32_768;

/// Size, then character set `[\u0009\u000A\u000D\u0020-\u00FF]`.
pub(crate) fn key_policy_text(text: &str) -> Result<(), PolicyError> {
    if text.len() > KEY_POLICY_MAX_BYTES {
        return Err(PolicyError::TooLarge {
            size: text.len(),
            limit: KEY_POLICY_MAX_BYTES,
        });
    }
    if let Some((offset, ch)) = text
        .char_indices()
        .find(|&(_, c)| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        return Err(PolicyError::InvalidCharacter { offset, ch });
    }
    Ok(())
}

/// IAM (identity-policy) Sids are alphanumeric; key policies allow spaces and more.
pub(crate) fn iam_sid(sid: &str) -> bool {
    sid.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `*`, or `service:pattern` with a plain service prefix.
pub(crate) fn action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    match a.split_once(':') {
        Some((service, name)) => {
            !service.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !name.is_empty()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_is_inclusive() {
        let exact = format!("{{{}}}", " ".repeat(KEY_POLICY_MAX_BYTES - 2));
        assert!(key_policy_text(&exact).is_ok());
        let over = format!("{{{}}}", " ".repeat(KEY_POLICY_MAX_BYTES - 1));
        assert_eq!(
            key_policy_text(&over),
            Err(PolicyError::TooLarge {
                size: KEY_POLICY_MAX_BYTES + 1,
                limit: KEY_POLICY_MAX_BYTES
            })
        );
    }

    #[test]
    fn character_set() {
        assert!(key_policy_text("{\t\r\n \"é\u{FF}\"}").is_ok());
        assert_eq!(
            key_policy_text("{\"a\u{100}\"}"),
            Err(PolicyError::InvalidCharacter {
                offset: 3,
                ch: '\u{100}'
            })
        );
        assert!(key_policy_text("{\u{7}}").is_err());
        assert!(key_policy_text("{\"😀\"}").is_err());
    }

    #[test]
    fn actions() {
        for ok in [
            "*",
            "kms:Decrypt",
            "kms:*",
            "KMS:describe*",
            "s3-object-lambda:Get?bject",
        ] {
            assert!(action(ok), "{ok}");
        }
        for bad in ["Decrypt", "kms:", ":Decrypt", "km*:Decrypt", "", "**"] {
            assert!(!action(bad), "{bad}");
        }
    }
}
