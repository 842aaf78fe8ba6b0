//! The request side of an evaluation: who asks, for what, on which resource, with which
//! condition keys.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;

use crate::principal::Principal;

/// Condition-key names compare case-insensitively, including the part after
/// `kms:EncryptionContext:` or `aws:PrincipalTag/`, so both sides are folded the same way.
pub(crate) fn fold_key(name: &str) -> String {
    name.to_lowercase()
}

/// [`fold_key`] of a name already owned, folded in place when it is ASCII (nearly always): a
/// request's context is built with about 25 keys per check.
fn fold_owned(mut name: String) -> String {
    if name.is_ascii() {
        name.make_ascii_lowercase();
        name
    } else {
        name.to_lowercase()
    }
}

/// The value of one condition key in the request. Everything is a string: booleans are
/// `"true"`/`"false"`, numbers their decimal form, dates ISO-8601 or epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    pub fn bool(b: bool) -> Self {
        Self::Single(if b { "true" } else { "false" }.to_owned())
    }

    pub fn number(n: impl std::fmt::Display) -> Self {
        Self::Single(n.to_string())
    }

    /// The values as a slice: one element for `Single`.
    pub fn values(&self) -> &[String] {
        match self {
            Self::Single(v) => std::slice::from_ref(v),
            Self::Multi(v) => v,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        Self::Single(v.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        Self::Single(v)
    }
}

impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        Self::bool(v)
    }
}

impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        Self::number(v)
    }
}

impl From<u64> for ContextValue {
    fn from(v: u64) -> Self {
        Self::number(v)
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        Self::Multi(v)
    }
}

impl From<Vec<&str>> for ContextValue {
    fn from(v: Vec<&str>) -> Self {
        Self::Multi(v.into_iter().map(str::to_owned).collect())
    }
}

/// Condition keys of a request, looked up case-insensitively by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionContext {
    entries: HashMap<String, ContextValue>,
}

impl ConditionContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a key (replacing any value under the same name in any case); returns the old value.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<ContextValue>,
    ) -> Option<ContextValue> {
        self.entries.insert(fold_owned(name.into()), value.into())
    }

    /// Builder form of [`ConditionContext::insert`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.insert(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&ContextValue> {
        self.entries.get(&fold_key(name))
    }

    pub fn remove(&mut self, name: &str) -> Option<ContextValue> {
        self.entries.remove(&fold_key(name))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.entries.contains_key(&fold_key(name))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys (in folded, lowercase form) and values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Lookup by an already-folded name. An empty multi-valued key counts as absent: the KMS
    /// context only sets `kms:EncryptionContextKeys` when there is an encryption context.
    pub(crate) fn lookup_folded(&self, folded: &str) -> Option<&ContextValue> {
        match self.entries.get(folded) {
            Some(ContextValue::Multi(v)) if v.is_empty() => None,
            other => other,
        }
    }
}

impl<K: Into<String>, V: Into<ContextValue>> FromIterator<(K, V)> for ConditionContext {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ctx = Self::new();
        for (k, v) in iter {
            ctx.insert(k, v);
        }
        ctx
    }
}

/// One authorization question: may `principal` perform `action` on `resource`? Owned
/// ([`RequestContext::new`]) or borrowed from the caller ([`RequestContext::borrowed`]): the
/// server asks one question of several policies per request and does not copy its condition
/// context for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext<'a> {
    pub principal: Cow<'a, Principal>,
    /// e.g. `kms:Decrypt`; matched case-insensitively.
    pub action: Cow<'a, str>,
    /// The resource ARN, or `*` for actions that have no resource.
    pub resource: Cow<'a, str>,
    pub context: Cow<'a, ConditionContext>,
}

impl RequestContext<'static> {
    pub fn new(
        principal: Principal,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            principal: Cow::Owned(principal),
            action: Cow::Owned(action.into()),
            resource: Cow::Owned(resource.into()),
            context: Cow::Owned(ConditionContext::new()),
        }
    }

    /// Builder: replace the condition context.
    pub fn with_context(mut self, context: ConditionContext) -> Self {
        self.context = Cow::Owned(context);
        self
    }
}

impl<'a> RequestContext<'a> {
    pub fn borrowed(
        principal: &'a Principal,
        action: &'a str,
        resource: &'a str,
        context: &'a ConditionContext,
    ) -> Self {
        Self {
            principal: Cow::Borrowed(principal),
            action: Cow::Borrowed(action),
            resource: Cow::Borrowed(resource),
            context: Cow::Borrowed(context),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_including_suffix() {
        let mut c = ConditionContext::new();
        c.insert("kms:EncryptionContext:AppName", "x");
        assert_eq!(c.get("KMS:encryptioncontext:appname"), Some(&"x".into()));
        assert!(c.contains_key("kms:encryptioncontext:APPNAME"));
        assert_eq!(
            c.insert("KMS:ENCRYPTIONCONTEXT:APPNAME", "y"),
            Some("x".into())
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn empty_multi_counts_as_absent_for_evaluation() {
        let c = ConditionContext::new().with("aws:TagKeys", Vec::<String>::new());
        assert!(c.get("aws:TagKeys").is_some());
        assert!(c.lookup_folded("aws:tagkeys").is_none());
    }

    #[test]
    fn helpers_normalize_to_strings() {
        assert_eq!(
            ContextValue::from(true),
            ContextValue::Single("true".into())
        );
        assert_eq!(ContextValue::from(42i64), ContextValue::Single("42".into()));
        assert_eq!(ContextValue::from(vec!["a", "b"]).values(), ["a", "b"]);
    }
}
