//! The AWS query protocol's request side for STS and IAM: the service, the `Action=…` form
//! parameters, and the member validation AWS applies to them.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use trent_policy::{Policy, PolicyKind};

use super::wire::{IamError, IamResult};

pub const STS_VERSION: &str = "2011-06-15";
pub const IAM_VERSION: &str = "2010-05-08";

/// Which query-protocol service a request is for (from its SigV4 credential scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    Sts,
    Iam,
}

impl QueryService {
    pub fn version(self) -> &'static str {
        match self {
            QueryService::Sts => STS_VERSION,
            QueryService::Iam => IAM_VERSION,
        }
    }

    pub fn event_source(self) -> &'static str {
        match self {
            QueryService::Sts => "sts.amazonaws.com",
            QueryService::Iam => "iam.amazonaws.com",
        }
    }
}

/// The form parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required member; `member` is its name in AWS's messages (`userName`).
    pub(super) fn require(&self, name: &str, member: &str) -> IamResult<&str> {
        self.get(name).ok_or_else(|| IamError::missing(member))
    }

    /// `Prefix.member.N.field` for N = 1, 2, … until one is missing.
    pub(super) fn members(&self, prefix: &str, fields: &[&str]) -> Vec<Vec<Option<String>>> {
        let mut out = Vec::new();
        for n in 1.. {
            let row: Vec<Option<String>> = fields
                .iter()
                .map(|f| {
                    self.get(&format!("{prefix}.member.{n}.{f}"))
                        .map(str::to_string)
                })
                .collect();
            if row.iter().all(Option::is_none) {
                break;
            }
            out.push(row);
        }
        out
    }

    /// `Prefix.member.N` for N = 1, 2, … (a list of strings).
    pub(super) fn strings(&self, prefix: &str) -> Vec<String> {
        (1..)
            .map_while(|n| {
                self.get(&format!("{prefix}.member.{n}"))
                    .map(str::to_string)
            })
            .collect()
    }

    pub(super) fn tags(&self) -> IamResult<Vec<(String, String)>> {
        let mut tags = Vec::new();
        for row in self.members("Tags", &["Key", "Value"]) {
            let key = row[0]
                .clone()
                .ok_or_else(|| IamError::missing("tags.member.key"))?;
            let value = row[1].clone().unwrap_or_default();
            check_tag_key(&key, "tags.member.key")?;
            if value.chars().count() > 256 {
                return Err(IamError::constraint(
                    &value,
                    "tags.member.value",
                    "Member must have length less than or equal to 256",
                ));
            }
            tags.push((key, value));
        }
        if tags.len() > 50 {
            return Err(IamError::validation(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: \
                 Member must have length less than or equal to 50",
            ));
        }
        Ok(tags)
    }
}

pub(super) fn check_tag_key(key: &str, member: &str) -> IamResult<()> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(IamError::constraint(
            key,
            member,
            "Member must have length between 1 and 128",
        ));
    }
    Ok(())
}

/// What URL-encoding leaves alone in policy documents (RFC 3986 unreserved characters).
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Policy documents travel URL-encoded in IAM responses, as AWS sends them.
pub(super) fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE).to_string()
}

pub use crate::clock::iso8601;

pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

pub(super) fn check_name(value: &str, member: &str, max: usize) -> IamResult<()> {
    if value.is_empty() || value.chars().count() > max {
        return Err(IamError::constraint(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value.chars().all(is_name_char) {
        return Err(IamError::constraint(
            value,
            member,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

pub(super) fn check_path(value: &str, member: &str) -> IamResult<()> {
    let ok = value == "/"
        || (value.len() >= 2
            && value.len() <= 512
            && value.starts_with('/')
            && value.ends_with('/')
            && value.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(IamError::constraint(
            value,
            member,
            "Member must satisfy regular expression pattern: \
             (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ))
    }
}

/// A policy document of a request, or AWS's `MalformedPolicyDocument`.
pub(super) fn parse_document(document: &str, kind: PolicyKind) -> IamResult<Policy> {
    Policy::parse(document, kind).map_err(|e| IamError::malformed_policy(e.to_string()))
}

/// IAM names are unique case-insensitively (but keep the case they were created with).
pub(super) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_and_dates() {
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("alice+bob@x.com", "userName", 64).is_ok());
        let e = check_name("bad name", "userName", 64).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(check_name(&"a".repeat(65), "userName", 64).is_err());
        assert!(check_path("/", "path").is_ok());
        assert!(check_path("/eng/team/", "path").is_ok());
        assert!(check_path("eng/", "path").is_err());
        assert!(check_path("//", "path").is_ok());
    }

    #[test]
    fn member_lists() {
        let mut p = Params::default();
        for (k, v) in [
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
            ("Tags.member.2.Key", "env"),
            ("Tags.member.2.Value", ""),
        ] {
            p.0.insert(k.into(), v.into());
        }
        assert_eq!(
            p.tags().unwrap(),
            vec![("team".into(), "blue".into()), ("env".into(), "".into())]
        );
    }
}
