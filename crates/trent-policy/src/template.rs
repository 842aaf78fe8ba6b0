//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the escapes
//! `${*}`, `${?}`, `${$}`.
//!
//! A template is compiled once; per request only the variable values are looked up. Escapes
//! become literal text and therefore never act as wildcards. Under Version 2008-10-17 (or with no
//! Version) `${...}` is plain text.

use crate::context::{ConditionContext, ContextValue, fold_key};
use crate::glob::{Piece, fold, match_pieces};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    /// Folded key name: context lookups are case-insensitive.
    key: String,
    default: Option<String>,
}

/// A compiled string that may contain wildcards and policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    vars: Vec<Variable>,
}

/// Most templates have at most a handful of variables: resolve those on the stack.
const INLINE_VARS: usize = 4;

impl Template {
    /// `wildcards`: whether `*`/`?` are wildcards (StringLike, ARNs, actions) or plain text
    /// (StringEquals). `lowercase`: fold literal text (for case-insensitive matching).
    pub(crate) fn parse(text: &str, variables: bool, wildcards: bool, lowercase: bool) -> Self {
        let mut t = Template {
            pieces: Vec::new(),
            vars: Vec::new(),
        };
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some((token, len)) = parse_variable(&rest[2..])
            {
                match token {
                    VarToken::Escape(e) => lit.push(e),
                    VarToken::Var(var) => {
                        if !lit.is_empty() {
                            t.pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                        }
                        t.pieces.push(Piece::Var(t.vars.len()));
                        t.vars.push(var);
                    }
                }
                rest = &rest[2 + len..];
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' | '?' if wildcards => {
                    if !lit.is_empty() {
                        t.pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    if c == '?' {
                        t.pieces.push(Piece::One);
                    } else if t.pieces.last() != Some(&Piece::Star) {
                        t.pieces.push(Piece::Star);
                    }
                }
                _ if lowercase => lit.push(fold(c)),
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            t.pieces.push(Piece::Lit(lit));
        }
        t
    }

    /// The literal text, when the template has no wildcards and no variables.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_any(&self) -> bool {
        self.pieces == [Piece::Star]
    }

    /// Whether matching reads the request's context (a policy variable).
    pub(crate) fn has_variables(&self) -> bool {
        !self.vars.is_empty()
    }

    /// Does `text` match, with variables resolved from `ctx`? A variable with no value (and no
    /// default) makes the template match nothing.
    pub(crate) fn matches(&self, ctx: &ConditionContext, text: &str, ci: bool) -> bool {
        if self.vars.is_empty() {
            if let Some(lit) = self.as_literal() {
                return if ci {
                    crate::glob::eq_fold(lit, text)
                } else {
                    lit == text
                };
            }
            return match_pieces(&self.pieces, &[], text, ci);
        }
        if self.vars.len() <= INLINE_VARS {
            let mut buf = [""; INLINE_VARS];
            for (slot, var) in buf.iter_mut().zip(&self.vars) {
                match resolve(ctx, var) {
                    Some(v) => *slot = v,
                    None => return false,
                }
            }
            match_pieces(&self.pieces, &buf[..self.vars.len()], text, ci)
        } else {
            let mut buf = Vec::with_capacity(self.vars.len());
            for var in &self.vars {
                match resolve(ctx, var) {
                    Some(v) => buf.push(v),
                    None => return false,
                }
            }
            match_pieces(&self.pieces, &buf, text, ci)
        }
    }

    /// True if every variable has a value (or a default) in `ctx`.
    pub(crate) fn resolvable(&self, ctx: &ConditionContext) -> bool {
        self.vars.iter().all(|v| resolve(ctx, v).is_some())
    }
}

fn resolve<'a>(ctx: &'a ConditionContext, var: &'a Variable) -> Option<&'a str> {
    match ctx.lookup_folded(&var.key) {
        // Multi-valued keys cannot be used as variables.
        Some(ContextValue::Single(v)) => Some(v),
        _ => var.default.as_deref(),
    }
}

enum VarToken {
    Escape(char),
    Var(Variable),
}

/// Parse what follows `${`. Returns the token and how many bytes (including the closing `}`)
/// it used, or `None` if this is not a well-formed variable (then `${` is literal text).
fn parse_variable(after: &str) -> Option<(VarToken, usize)> {
    let close = after.find('}')?;
    let body = &after[..close];
    let used = close + 1;
    match body {
        "*" => return Some((VarToken::Escape('*'), used)),
        "?" => return Some((VarToken::Escape('?'), used)),
        "$" => return Some((VarToken::Escape('$'), used)),
        _ => {}
    }
    let (name, default) = match body.split_once(',') {
        None => (body.trim(), None),
        Some((name, default)) => {
            let d = default.trim();
            let quoted = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .filter(|inner| !inner.contains('\''))?;
            (name.trim(), Some(quoted.to_owned()))
        }
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '{' | '$' | '\'' | ',' | '*' | '?'));
    if !valid {
        return None;
    }
    Some((
        VarToken::Var(Variable {
            key: fold_key(name),
            default,
        }),
        used,
    ))
}

/// Split an ARN pattern on `:` into at most six segments (the last keeps further colons),
/// without splitting inside a `${...}` variable, whose name itself contains a colon.
pub(crate) fn split_arn(text: &str, variables: bool) -> Vec<&str> {
    let mut segments = Vec::with_capacity(6);
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && segments.len() < 5 {
        if variables
            && bytes[i] == b'$'
            && bytes.get(i + 1) == Some(&b'{')
            && let Some(close) = text[i..].find('}')
        {
            i += close + 1;
            continue;
        }
        if bytes[i] == b':' {
            segments.push(&text[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    segments.push(&text[start..]);
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ConditionContext {
        let mut c = ConditionContext::new();
        c.insert("aws:username", "alice");
        c.insert("aws:PrincipalTag/Team", "blue");
        c.insert("aws:TagKeys", vec!["a".to_owned(), "b".to_owned()]);
        c
    }

    #[test]
    fn variables_resolve_case_insensitively() {
        let t = Template::parse("home/${AWS:UserName}/*", true, true, false);
        assert!(t.matches(&ctx(), "home/alice/file", false));
        assert!(!t.matches(&ctx(), "home/bob/file", false));
    }

    #[test]
    fn defaults_apply_only_when_absent() {
        let t = Template::parse(
            "${aws:PrincipalTag/team, 'company-wide'}",
            true,
            false,
            false,
        );
        assert!(t.matches(&ctx(), "blue", false));
        let t = Template::parse(
            "${aws:PrincipalTag/dept, 'company-wide'}",
            true,
            false,
            false,
        );
        assert!(t.matches(&ctx(), "company-wide", false));
        let t = Template::parse("${aws:PrincipalTag/dept,'x y'}", true, false, false);
        assert!(t.matches(&ctx(), "x y", false));
    }

    #[test]
    fn missing_or_multivalued_variable_matches_nothing() {
        let t = Template::parse("${aws:PrincipalTag/dept}", true, true, false);
        assert!(!t.matches(&ctx(), "", false));
        assert!(!t.resolvable(&ctx()));
        let t = Template::parse("*${aws:TagKeys}*", true, true, false);
        assert!(!t.matches(&ctx(), "a", false));
    }

    #[test]
    fn escapes_stay_literal() {
        let t = Template::parse("a${*}b${?}c${$}", true, true, false);
        assert_eq!(t.as_literal(), Some("a*b?c$"));
        assert!(t.matches(&ctx(), "a*b?c$", false));
        assert!(!t.matches(&ctx(), "aXbYc$", false));
    }

    #[test]
    fn variables_are_text_when_disabled() {
        let t = Template::parse("${aws:username}", false, false, false);
        assert_eq!(t.as_literal(), Some("${aws:username}"));
        // Under 2008-10-17 the star inside an escape is an ordinary wildcard.
        let t = Template::parse("a${*}", false, true, false);
        assert!(t.matches(&ctx(), "a${xyz}", false));
    }

    #[test]
    fn malformed_variables_are_literal() {
        for s in ["${", "${}", "${ }", "${a b}", "${x, unquoted}", "$"] {
            let t = Template::parse(s, true, false, false);
            assert_eq!(t.as_literal(), Some(s), "{s}");
        }
    }

    #[test]
    fn arn_split_respects_variables() {
        assert_eq!(
            split_arn("arn:aws:kms:${aws:RequestedRegion}:1:key/a:b", true),
            [
                "arn",
                "aws",
                "kms",
                "${aws:RequestedRegion}",
                "1",
                "key/a:b"
            ]
        );
        assert_eq!(
            split_arn("arn:aws:kms:${aws:RequestedRegion}:1", false),
            ["arn", "aws", "kms", "${aws", "RequestedRegion}", "1"]
        );
        assert_eq!(split_arn("*", true), ["*"]);
    }
}
