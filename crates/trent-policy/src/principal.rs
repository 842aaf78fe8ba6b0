//! Callers and the `Principal` / `NotPrincipal` element (spec §1.2).

use serde::Serialize;

use crate::error::{Location, PolicyError};
use crate::json::{Json, first_duplicate};

/// What kind of identity made the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    User,
    /// A role session; `role_arn` is the full role ARN (with path), which a policy naming the
    /// role matches.
    AssumedRole {
        role_arn: String,
    },
    FederatedUser,
    /// An AWS service acting as itself; `Principal::arn` is its name, e.g. `lambda.amazonaws.com`.
    Service,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub arn: String,
    pub account: String,
    pub kind: PrincipalKind,
}

/// The account field (fifth colon-separated part) of an ARN.
fn arn_account(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

impl Principal {
    pub fn new(arn: impl Into<String>, account: impl Into<String>, kind: PrincipalKind) -> Self {
        Self {
            arn: arn.into(),
            account: account.into(),
            kind,
        }
    }

    /// The root user of `account` (partition `aws`).
    pub fn root(account: &str) -> Self {
        Self::new(
            format!("arn:aws:iam::{account}:root"),
            account,
            PrincipalKind::Root,
        )
    }

    /// An IAM user; the account is taken from the ARN.
    pub fn user(arn: &str) -> Self {
        Self::new(arn, arn_account(arn), PrincipalKind::User)
    }

    /// A session of `role_arn`; the account is taken from the session ARN.
    pub fn assumed_role(session_arn: &str, role_arn: &str) -> Self {
        Self::new(
            session_arn,
            arn_account(session_arn),
            PrincipalKind::AssumedRole {
                role_arn: role_arn.to_owned(),
            },
        )
    }

    pub fn federated_user(arn: &str) -> Self {
        Self::new(arn, arn_account(arn), PrincipalKind::FederatedUser)
    }

    /// A service principal such as `cloudtrail.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        Self::new(name, "", PrincipalKind::Service)
    }
}

/// How a statement's principal element matched the caller (spec §1.2, §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PrincipalMatch {
    /// The caller itself, its role, or everyone (`*`, `NotPrincipal`).
    Direct,
    /// The caller's account (`111122223333` or `arn:aws:iam::111122223333:root`): delegation to
    /// the account's IAM policies, not a grant by itself.
    AccountLevel,
}

/// One compiled entry of a Principal/NotPrincipal element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Any,
    Account(String),
    /// A user, role, role-session or federated-user ARN.
    Arn(String),
    Service(String),
    /// `Federated` and `CanonicalUser`: valid in documents, but no caller modelled here is one.
    Unmatchable,
}

/// A compiled Principal or NotPrincipal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalSet {
    entries: Vec<Entry>,
    /// Every AWS principal string as written (except `*`), for existence checks.
    pub(crate) aws_names: Vec<String>,
}

impl PrincipalSet {
    /// Whether the element reaches everyone: `"*"` or `{"AWS": "*"}`.
    pub fn is_everyone(&self) -> bool {
        self.entries.iter().any(|e| matches!(e, Entry::Any))
    }

    /// Every AWS principal as written (account IDs, root and other ARNs), except `*`.
    pub fn aws_names(&self) -> &[String] {
        &self.aws_names
    }

    pub(crate) fn parse(
        json: &Json,
        element: &'static str,
        location: &Location,
    ) -> Result<Self, PolicyError> {
        let invalid = |principal: String| PolicyError::InvalidPrincipal {
            location: location.clone(),
            element,
            principal,
        };
        let mut set = PrincipalSet {
            entries: Vec::new(),
            aws_names: Vec::new(),
        };
        let members = match json {
            Json::String(s) if s == "*" => {
                set.entries.push(Entry::Any);
                return Ok(set);
            }
            Json::Object(members) if !members.is_empty() => members,
            other => return Err(invalid(other.as_scalar().unwrap_or_default())),
        };
        if let Some(key) = first_duplicate(members) {
            return Err(PolicyError::DuplicateKey {
                location: location.clone(),
                element: element.to_owned(),
                key: key.to_owned(),
            });
        }
        for (kind, value) in members {
            let values: Vec<String> = match value {
                Json::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|i| i.as_scalar().ok_or_else(|| invalid(String::new())))
                    .collect::<Result<_, _>>()?,
                Json::Array(_) => return Err(invalid(String::new())),
                scalar => vec![scalar.as_scalar().ok_or_else(|| invalid(String::new()))?],
            };
            for v in values {
                let entry = match kind.as_str() {
                    "AWS" => {
                        let e = parse_aws(&v).ok_or_else(|| invalid(v.clone()))?;
                        if e != Entry::Any {
                            set.aws_names.push(v);
                        }
                        e
                    }
                    "Service" if plain(&v) => Entry::Service(v),
                    "Federated" | "CanonicalUser" if plain(&v) => Entry::Unmatchable,
                    _ => return Err(invalid(v)),
                };
                set.entries.push(entry);
            }
        }
        Ok(set)
    }

    /// The best match class of any entry: a Direct entry beats an account entry.
    pub(crate) fn match_class(&self, p: &Principal) -> Option<PrincipalMatch> {
        let mut best = None;
        for e in &self.entries {
            match e {
                Entry::Any => return Some(PrincipalMatch::Direct),
                Entry::Arn(arn) if is_aws(p) && (p.arn == *arn || role_of(p) == Some(arn)) => {
                    return Some(PrincipalMatch::Direct);
                }
                Entry::Service(name) if is_service_named(p, name) => {
                    return Some(PrincipalMatch::Direct);
                }
                Entry::Account(a) if is_aws(p) && p.account == *a => {
                    best = Some(PrincipalMatch::AccountLevel);
                }
                _ => {}
            }
        }
        best
    }

    /// Whether an entry is `p`'s own ARN (see [`crate::Statement::names_principal_exactly`]).
    pub(crate) fn names_exactly(&self, p: &Principal) -> bool {
        is_aws(p)
            && self
                .entries
                .iter()
                .any(|e| matches!(e, Entry::Arn(arn) if *arn == p.arn))
    }

    /// NotPrincipal. IAM may evaluate a caller as each link of its chain: the account, then the
    /// role, then the session (spec §1.2). We take the safe reading for each effect: a Deny
    /// spares the caller only when every link is listed; an Allow reaches the caller only when
    /// no link is listed.
    pub(crate) fn not_principal_applies(&self, p: &Principal, deny: bool) -> bool {
        let facets = facets(p);
        let covered = |f: &Facet<'_>| self.entries.iter().any(|e| covers(e, f));
        if deny {
            !facets.iter().all(covered)
        } else {
            !facets.iter().any(covered)
        }
    }
}

fn is_aws(p: &Principal) -> bool {
    p.kind != PrincipalKind::Service
}

fn role_of(p: &Principal) -> Option<&String> {
    match &p.kind {
        PrincipalKind::AssumedRole { role_arn } => Some(role_arn),
        _ => None,
    }
}

fn is_service_named(p: &Principal, name: &str) -> bool {
    p.kind == PrincipalKind::Service && p.arn.eq_ignore_ascii_case(name)
}

enum Facet<'a> {
    Account(&'a str),
    Arn(&'a str),
    Service(&'a str),
}

fn facets(p: &Principal) -> Vec<Facet<'_>> {
    match &p.kind {
        PrincipalKind::Service => vec![Facet::Service(&p.arn)],
        PrincipalKind::Root => vec![Facet::Account(&p.account)],
        PrincipalKind::User | PrincipalKind::FederatedUser => {
            vec![Facet::Account(&p.account), Facet::Arn(&p.arn)]
        }
        PrincipalKind::AssumedRole { role_arn } => vec![
            Facet::Account(&p.account),
            Facet::Arn(role_arn),
            Facet::Arn(&p.arn),
        ],
    }
}

fn covers(e: &Entry, f: &Facet<'_>) -> bool {
    match (e, f) {
        (Entry::Any, _) => true,
        (Entry::Account(a), Facet::Account(b)) => a == b,
        (Entry::Arn(a), Facet::Arn(b)) => a == b,
        (Entry::Service(a), Facet::Service(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// Non-empty and free of wildcards: partial wildcards are never valid in principals.
fn plain(v: &str) -> bool {
    !v.is_empty() && !v.contains(['*', '?'])
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Classify an `AWS` principal value, or `None` if it is not a valid principal.
fn parse_aws(v: &str) -> Option<Entry> {
    if v == "*" {
        return Some(Entry::Any);
    }
    if !plain(v) {
        return None;
    }
    if is_account_id(v) {
        return Some(Entry::Account(v.to_owned()));
    }
    let mut parts = v.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let partition_ok = !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    if arn != "arn" || !partition_ok || !region.is_empty() || !is_account_id(account) {
        return None;
    }
    let name_ok = |s: &str| !s.is_empty() && !s.ends_with('/') && !s.starts_with('/');
    let valid = match service {
        "iam" => {
            if resource == "root" {
                return Some(Entry::Account(account.to_owned()));
            }
            ["user/", "role/"]
                .iter()
                .any(|p| resource.strip_prefix(p).is_some_and(name_ok))
        }
        "sts" => {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                matches!(rest.split_once('/'), Some((role, session)) if !role.is_empty() && !session.is_empty() && !session.contains('/'))
            } else {
                resource
                    .strip_prefix("federated-user/")
                    .is_some_and(|n| !n.is_empty() && !n.contains('/'))
            }
        }
        _ => false,
    };
    valid.then(|| Entry::Arn(v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(json: &str) -> Result<PrincipalSet, PolicyError> {
        PrincipalSet::parse(
            &Json::parse(json).unwrap(),
            "Principal",
            &Location::document(),
        )
    }

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/R/s";
    const ROLE: &str = "arn:aws:iam::111122223333:role/path/R";

    fn session() -> Principal {
        Principal::assumed_role(SESSION, ROLE)
    }

    #[test]
    fn valid_and_invalid_aws_values() {
        for ok in [
            "*",
            "111122223333",
            "arn:aws:iam::111122223333:root",
            "arn:aws-cn:iam::111122223333:user/division/bob",
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:sts::111122223333:assumed-role/R/s",
            "arn:aws:sts::111122223333:federated-user/fed",
        ] {
            assert!(parse_aws(ok).is_some(), "{ok}");
        }
        for bad in [
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::*:root",
            "arn:aws:sts::111122223333:assumed-role/R/*",
            "arn:aws:iam::111122223333:group/admins",
            "11112222333",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:s3:::bucket",
            "arn:aws:iam:us-east-1:111122223333:root",
            "bob",
            "",
        ] {
            assert!(parse_aws(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn match_classes() {
        let s = session();
        assert_eq!(
            set(r#""*""#).unwrap().match_class(&s),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            set(r#"{"AWS":"*"}"#).unwrap().match_class(&s),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            set(r#"{"AWS":"111122223333"}"#).unwrap().match_class(&s),
            Some(PrincipalMatch::AccountLevel)
        );
        assert_eq!(
            set(&format!(
                r#"{{"AWS":["arn:aws:iam::111122223333:root","{ROLE}"]}}"#
            ))
            .unwrap()
            .match_class(&s),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            set(&format!(r#"{{"AWS":"{SESSION}"}}"#))
                .unwrap()
                .match_class(&s),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            set(r#"{"AWS":"arn:aws:iam::111122223333:role/path/R2"}"#)
                .unwrap()
                .match_class(&s),
            None
        );
        assert_eq!(
            set(r#"{"AWS":"444455556666"}"#).unwrap().match_class(&s),
            None
        );
        // Service entries match only the service itself, never a user relayed by it.
        let svc = set(r#"{"Service":"lambda.amazonaws.com"}"#).unwrap();
        assert_eq!(svc.match_class(&s), None);
        assert_eq!(
            svc.match_class(&Principal::service("lambda.amazonaws.com")),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            set(r#"{"AWS":"111122223333"}"#)
                .unwrap()
                .match_class(&Principal::new(
                    "x.amazonaws.com",
                    "111122223333",
                    PrincipalKind::Service
                )),
            None
        );
    }

    #[test]
    fn user_name_is_case_sensitive() {
        let s = set(r#"{"AWS":"arn:aws:iam::111122223333:user/Bob"}"#).unwrap();
        assert!(
            s.match_class(&Principal::user("arn:aws:iam::111122223333:user/Bob"))
                .is_some()
        );
        assert!(
            s.match_class(&Principal::user("arn:aws:iam::111122223333:user/bob"))
                .is_none()
        );
    }

    #[test]
    fn not_principal_chain() {
        let s = session();
        let all = set(&format!(
            r#"{{"AWS":["{SESSION}","{ROLE}","arn:aws:iam::111122223333:root"]}}"#
        ))
        .unwrap();
        assert!(!all.not_principal_applies(&s, true));
        assert!(!all.not_principal_applies(&s, false));
        let only_session = set(&format!(r#"{{"AWS":"{SESSION}"}}"#)).unwrap();
        // A Deny still reaches the session through its role and account...
        assert!(only_session.not_principal_applies(&s, true));
        // ...and an Allow does not reach it.
        assert!(!only_session.not_principal_applies(&s, false));
        let other = set(r#"{"AWS":"444455556666"}"#).unwrap();
        assert!(other.not_principal_applies(&s, true));
        assert!(other.not_principal_applies(&s, false));
    }

    #[test]
    fn structural_errors() {
        for bad in [
            r#""bob""#,
            r#"{}"#,
            r#"["*"]"#,
            r#"{"AWS":[]}"#,
            r#"{"Group":"x"}"#,
            r#"{"Service":"*.amazonaws.com"}"#,
            r#"{"AWS":{"x":1}}"#,
        ] {
            assert!(
                matches!(set(bad), Err(PolicyError::InvalidPrincipal { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            set(r#"{"AWS":"111122223333","AWS":"444455556666"}"#),
            Err(PolicyError::DuplicateKey { .. })
        ));
        let s = set(r#"{"AWS":[111122223333,"*"],"Federated":"cognito-identity.amazonaws.com"}"#)
            .unwrap();
        assert_eq!(s.aws_names, ["111122223333"]);
    }
}
