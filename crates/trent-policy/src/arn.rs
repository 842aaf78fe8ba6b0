//! ARN patterns, used by Resource/NotResource and the Arn* condition operators.
//!
//! An ARN is split on `:` into at most six parts, the sixth keeping any further colons, and
//! compared part by part with a case-sensitive wildcard match. So `*` cannot run across a colon
//! except inside the resource part, unlike a plain `StringLike` on the whole string.

use crate::context::ConditionContext;
use crate::template::{Template, split_arn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArnPattern {
    /// `*`: everything, including the `*` resource of resource-less actions.
    Any,
    Segments(Vec<Template>),
}

impl ArnPattern {
    /// Whether matching reads the request's context (a policy variable in a segment).
    pub(crate) fn has_variables(&self) -> bool {
        match self {
            ArnPattern::Any => false,
            ArnPattern::Segments(segments) => segments.iter().any(Template::has_variables),
        }
    }

    pub(crate) fn parse(text: &str, variables: bool) -> Self {
        let segments: Vec<Template> = split_arn(text, variables)
            .into_iter()
            .map(|s| Template::parse(s, variables, true, false))
            .collect();
        match segments.as_slice() {
            [only] if only.is_any() => ArnPattern::Any,
            _ => ArnPattern::Segments(segments),
        }
    }

    /// Number of colon-separated parts (1 for `*`).
    pub(crate) fn segment_count(&self) -> usize {
        match self {
            ArnPattern::Any => 1,
            ArnPattern::Segments(s) => s.len(),
        }
    }

    pub(crate) fn matches(&self, ctx: &ConditionContext, text: &str) -> bool {
        let ArnPattern::Segments(segments) = self else {
            return true;
        };
        // Both sides are cut into at most six parts; a pattern and an ARN with a different
        // number of parts never match (a short pattern does not absorb the rest).
        if text.splitn(6, ':').count() != segments.len() {
            return false;
        }
        segments
            .iter()
            .zip(text.splitn(6, ':'))
            .all(|(seg, part)| seg.matches(ctx, part, false))
    }

    /// True if any variable in the pattern has no value in `ctx` (then the pattern matches
    /// nothing).
    pub(crate) fn resolvable(&self, ctx: &ConditionContext) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Segments(s) => s.iter().all(|t| t.resolvable(ctx)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        ArnPattern::parse(pattern, true).matches(&ConditionContext::new(), text)
    }

    #[test]
    fn segment_globbing() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd";
        assert!(m("*", key));
        assert!(m("*", "*"));
        assert!(m(key, key));
        assert!(m("arn:aws:kms:*:111122223333:key/*", key));
        assert!(m("arn:aws:kms:us-east-?:111122223333:key/*", key));
        assert!(!m("arn:aws:kms:*:444455556666:key/*", key));
        assert!(!m("arn:aws:kms:*:111122223333:alias/*", key));
        assert!(m("arn:aws:kms:us-east-1:111122223333:*", key));
        assert!(!m("arn:aws:kms:*:111122223333:key/*", "*"));
        // Case-sensitive.
        assert!(!m("arn:aws:kms:*:111122223333:KEY/*", key));
    }

    #[test]
    fn star_does_not_cross_segments_but_resource_keeps_colons() {
        // The spec's example: per-segment matching refuses what StringLike would accept.
        let p = "arn:aws:svc:*:111122223333:finance/*";
        assert!(!m(
            p,
            "arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/x"
        ));
        assert!(m(p, "arn:aws:svc:us-east-2:111122223333:finance/a:b:c"));
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b"));
        assert!(!m("arn:aws:s3:::bucket/*", "arn:aws:s3:::other/a"));
    }

    #[test]
    fn segment_counts_must_agree() {
        assert!(!m("arn:aws:kms:*", "arn:aws:kms:us-east-1:1:key/x"));
        assert!(!m("arn:aws:kms:*:*:*", "arn:aws:kms:us-east-1"));
        assert!(!m("arn:*:*:*:*:*", "arn:aws"));
        assert!(m("arn:*:*:*:*:*", "arn:a:b:c:d:e"));
    }

    #[test]
    fn variables_in_resource_part() {
        let ctx = ConditionContext::new().with("aws:username", "alice");
        let p = ArnPattern::parse("arn:aws:s3:::home/${aws:username}/*", true);
        assert!(p.matches(&ctx, "arn:aws:s3:::home/alice/x"));
        assert!(!p.matches(&ctx, "arn:aws:s3:::home/bob/x"));
        let empty = ConditionContext::new();
        assert!(!p.resolvable(&empty));
        assert!(!p.matches(&empty, "arn:aws:s3:::home//x"));
    }
}
