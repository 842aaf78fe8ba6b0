//! Wildcard matching: `*` is any sequence (possibly empty), `?` exactly one character.
//!
//! Patterns are compiled once into [`Piece`]s. Literal runs stay whole strings, and the
//! characters an escape such as `${*}` produced are ordinary literal text here, so they can never
//! act as wildcards. Matching is the classic single-backtrack-point algorithm: linear memory and
//! O(pattern × text) time, so hostile patterns cannot blow up.

/// One compiled pattern element. `Var(i)` is the i-th policy variable, resolved per request and
/// then matched literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(String),
    Star,
    One,
    Var(usize),
}

/// Fold a character for case-insensitive comparison. Single-character lowercase mappings only:
/// the few characters that lowercase to several (e.g. 'İ') compare as themselves.
#[inline]
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }
}

/// Case-insensitive string equality without allocating.
pub(crate) fn eq_fold(a: &str, b: &str) -> bool {
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q || fold(p) == fold(q) => {}
            _ => return false,
        }
    }
}

/// If `text` starts with `lit`, the number of bytes of `text` that matched.
#[inline]
fn prefix_len(lit: &str, text: &str, ci: bool) -> Option<usize> {
    if !ci {
        return text.starts_with(lit).then_some(lit.len());
    }
    let mut consumed = 0;
    let mut t = text.chars();
    for p in lit.chars() {
        let c = t.next()?;
        if c != p && fold(c) != fold(p) {
            return None;
        }
        consumed += c.len_utf8();
    }
    Some(consumed)
}

/// Match `text` against compiled pieces. `vars[i]` is the resolved value of `Piece::Var(i)`.
pub(crate) fn match_pieces(pieces: &[Piece], vars: &[&str], text: &str, ci: bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where to resume after the most recent `*`: (piece after the star, text position it covers up to).
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if let Some(piece) = pieces.get(pi) {
            let rest = &text[ti..];
            let advanced = match piece {
                Piece::Star => {
                    backtrack = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                Piece::One => rest.chars().next().map(char::len_utf8),
                Piece::Lit(s) => prefix_len(s, rest, ci),
                Piece::Var(i) => match vars.get(*i) {
                    Some(v) => prefix_len(v, rest, ci),
                    None => return false,
                },
            };
            if let Some(n) = advanced {
                ti += n;
                pi += 1;
                continue;
            }
        } else if ti == text.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character, or give up.
        let Some((resume, covered)) = backtrack else {
            return false;
        };
        let Some(c) = text[covered..].chars().next() else {
            return false;
        };
        let covered = covered + c.len_utf8();
        backtrack = Some((resume, covered));
        pi = resume;
        ti = covered;
    }
}

/// Compile a plain wildcard pattern (no policy variables).
pub(crate) fn compile(pattern: &str, lowercase: bool) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    for c in pattern.chars() {
        match c {
            '*' | '?' => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                // Consecutive stars are equivalent to one.
                if c == '?' {
                    pieces.push(Piece::One);
                } else if pieces.last() != Some(&Piece::Star) {
                    pieces.push(Piece::Star);
                }
            }
            _ if lowercase => lit.push(fold(c)),
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    pieces
}

/// Match `text` against a wildcard `pattern` (`*`, `?`), optionally ignoring case.
///
/// Convenience for callers and tests; evaluation uses patterns compiled at parse time.
pub fn glob_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    match_pieces(&compile(pattern, false), &[], text, case_insensitive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool, bool)] = &[
            ("", "", false, true),
            ("", "a", false, false),
            ("*", "", false, true),
            ("*", "anything:at/all", false, true),
            ("?", "", false, false),
            ("?", "é", false, true),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("kms:Describe*", "kms:DescribeKey", false, true),
            ("kms:describe*", "KMS:DescribeKey", true, true),
            ("kms:describe*", "KMS:DescribeKey", false, false),
            ("*Key", "kms:DescribeKey", false, true),
            ("*Key", "kms:DescribeKeys", false, false),
            ("a*b*c", "aXbYc", false, true),
            ("a*b*c", "aXbY", false, false),
            (
                "a*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
                false,
            ),
            ("**", "x", false, true),
            ("*?", "", false, false),
            ("*?", "x", false, true),
            ("ÄB*", "äbc", true, true),
        ];
        for &(p, t, ci, want) in cases {
            assert_eq!(glob_match(p, t, ci), want, "{p:?} vs {t:?} ci={ci}");
        }
    }

    #[test]
    fn eq_fold_is_case_insensitive_equality() {
        assert!(eq_fold("Production", "PRODUCTION"));
        assert!(eq_fold("Ébène", "éBÈNE"));
        assert!(!eq_fold("abc", "abcd"));
        assert!(!eq_fold("abd", "abc"));
    }
}
