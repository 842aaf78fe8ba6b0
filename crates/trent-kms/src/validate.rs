//! Request validation with the API model's constraints and AWS's message shapes:
//! `1 validation error detected: Value 'x' at 'keyId' failed to satisfy constraint: ...`.
//! Several violations are reported together, as AWS does (`2 validation errors detected: ...; ...`).

use crate::error::KmsError;

#[derive(Default)]
pub struct Validator {
    errors: Vec<String>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("Value '{v}' at '{member}'"),
            None => format!("Value at '{member}'"),
        };
        self.errors.push(format!(
            "{shown} failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member that is absent.
    pub fn required<T>(&mut self, member: &str, value: &Option<T>) -> &mut Self {
        if value.is_none() {
            self.errors.push(format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ));
        }
        self
    }

    /// String length in characters, as the model counts it.
    pub fn length(
        &mut self,
        member: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.size_bounds(Some(v), member, v.chars().count(), min, max);
        }
        self
    }

    /// Blob length; the value is never echoed (blobs may be secret, and AWS does not echo them).
    pub fn blob_length(
        &mut self,
        member: &str,
        value: Option<&[u8]>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.size_bounds(None, member, v.len(), min, max);
        }
        self
    }

    pub fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            let s = v.to_string();
            if v < min {
                self.push(
                    Some(&s),
                    member,
                    &format!("Member must have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.push(
                    Some(&s),
                    member,
                    &format!("Member must have value less than or equal to {max}"),
                );
            }
        }
        self
    }

    pub fn one_of(&mut self, member: &str, value: Option<&str>, allowed: &[&str]) -> &mut Self {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.push(
                Some(v),
                member,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
        self
    }

    /// A regular-expression constraint expressed as a predicate; `pattern` is the model's text.
    pub fn pattern(
        &mut self,
        member: &str,
        value: Option<&str>,
        pattern: &str,
        ok: impl Fn(&str) -> bool,
    ) -> &mut Self {
        if let Some(v) = value
            && !ok(v)
        {
            self.push(
                Some(v),
                member,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
        self
    }

    pub fn list_length<T>(
        &mut self,
        member: &str,
        value: Option<&[T]>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            self.size_bounds(None, member, v.len(), min, max);
        }
        self
    }

    /// A `KeyId`-shaped member (1 to 2048 characters), required or not.
    pub fn key_id(&mut self, member: &str, value: &Option<String>, required: bool) -> &mut Self {
        if required {
            self.required(member, value);
        }
        self.length(member, value.as_deref(), 1, 2048)
    }

    /// The model's length constraints, on characters, bytes or list members; `shown` is the value
    /// to echo (never a blob's).
    fn size_bounds(&mut self, shown: Option<&str>, member: &str, n: usize, min: usize, max: usize) {
        if n < min {
            self.push(
                shown,
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                shown,
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn finish(&mut self) -> Result<(), KmsError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(KmsError::validation(format!(
                "1 validation error detected: {}",
                self.errors[0]
            ))),
            n => Err(KmsError::validation(format!(
                "{n} validation errors detected: {}",
                self.errors.join("; ")
            ))),
        }
    }
}

/// `[\u0020-\u00FF]*`, the model's pattern for markers.
pub fn latin1_printable(s: &str) -> bool {
    s.chars().all(|c| ('\u{20}'..='\u{ff}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multiple_errors() {
        let e = Validator::new()
            .range("numberOfBytes", Some(2000), 1, 1024)
            .finish()
            .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
            )
        );
        let e = Validator::new()
            .required::<String>("keyId", &None)
            .blob_length("plaintext", Some(&[0u8; 4097]), 1, 4096)
            .finish()
            .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
            )
        );
        assert!(
            Validator::new()
                .one_of("keySpec", Some("AES_256"), &["AES_256"])
                .finish()
                .is_ok()
        );
    }
}
