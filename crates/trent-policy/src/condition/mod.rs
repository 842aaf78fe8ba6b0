//! The Condition element: operators, compiled values and their evaluation (spec §3.4, §3.5).

mod values;

use std::cmp::Ordering;

pub(crate) use values::Decimal;
use values::{Cidr, DecimalBuf, decode_base64, parse_date, parse_request_ip};

use crate::arn::ArnPattern;
use crate::context::{ConditionContext, ContextValue, fold_key};
use crate::error::{ExpectedValue, Location, OverlyPermissiveTarget, PolicyError};
use crate::template::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

/// A condition operator's set qualifier (`ForAllValues:` / `ForAnyValue:`), exported as
/// `SetOperator` so analysers (lint) can tell multi-valued tests from single-valued ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    None,
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    base: Base,
    negated: bool,
    if_exists: bool,
    set: SetOp,
}

/// Operator names are case-sensitive, as in IAM's grammar.
fn base_operator(name: &str) -> Option<(Base, bool)> {
    use Base::*;
    Some(match name {
        "StringEquals" => (StringEquals, false),
        "StringNotEquals" => (StringEquals, true),
        "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
        "StringLike" => (StringLike, false),
        "StringNotLike" => (StringLike, true),
        "NumericEquals" => (Numeric(Cmp::Eq), false),
        "NumericNotEquals" => (Numeric(Cmp::Eq), true),
        "NumericLessThan" => (Numeric(Cmp::Lt), false),
        "NumericLessThanEquals" => (Numeric(Cmp::Le), false),
        "NumericGreaterThan" => (Numeric(Cmp::Gt), false),
        "NumericGreaterThanEquals" => (Numeric(Cmp::Ge), false),
        "DateEquals" => (Date(Cmp::Eq), false),
        "DateNotEquals" => (Date(Cmp::Eq), true),
        "DateLessThan" => (Date(Cmp::Lt), false),
        "DateLessThanEquals" => (Date(Cmp::Le), false),
        "DateGreaterThan" => (Date(Cmp::Gt), false),
        "DateGreaterThanEquals" => (Date(Cmp::Ge), false),
        "Bool" => (Bool, false),
        "BinaryEquals" => (BinaryEquals, false),
        "IpAddress" => (IpAddress, false),
        "NotIpAddress" => (IpAddress, true),
        "ArnEquals" | "ArnLike" => (Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Arn, true),
        "Null" => (Null, false),
        _ => return None,
    })
}

fn parse_operator(name: &str) -> Option<Operator> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOp::ForAllValues, r)
    } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOp::ForAnyValue, r)
    } else {
        (SetOp::None, name)
    };
    let (if_exists, rest) = match rest.strip_suffix("IfExists") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (base, negated) = base_operator(rest)?;
    // Null is itself the presence test: no IfExists and no set form.
    if base == Base::Null && (if_exists || set != SetOp::None) {
        return None;
    }
    Some(Operator {
        base,
        negated,
        if_exists,
        set,
    })
}

/// Policy values, compiled per operator family.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    /// String operators and Bool (which allows variables).
    Text(Vec<Template>),
    Numbers(Vec<DecimalBuf>),
    Dates(Vec<i128>),
    Binary(Vec<Vec<u8>>),
    Networks(Vec<Cidr>),
    Arns(Vec<ArnPattern>),
    /// `true` = the key must be absent.
    Null(Vec<bool>),
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parse every policy value with `parse`, failing on the first that does not parse.
fn parse_each<T>(
    raw: &[String],
    parse: fn(&str) -> Option<T>,
    expected: ExpectedValue,
    bad: &dyn Fn(&str, ExpectedValue) -> PolicyError,
) -> Result<Vec<T>, PolicyError> {
    raw.iter()
        .map(|v| parse(v).ok_or_else(|| bad(v, expected)))
        .collect()
}

/// One `operator: { key: values }` test. Readable by analysers through its accessors; only
/// the parser builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// As written, e.g. `ForAnyValue:StringLike`.
    pub(crate) operator: String,
    /// As written, e.g. `kms:EncryptionContext:AppName`.
    pub(crate) key: String,
    key_folded: String,
    op: Operator,
    values: Values,
    raw: Vec<String>,
}

impl Clause {
    /// The operator as written, e.g. `ForAnyValue:StringLike`.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The condition key as written, e.g. `kms:EncryptionContext:AppName`.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn set_operator(&self) -> SetOp {
        self.op.set
    }

    /// A `...Not...` operator: it admits every value but the listed ones, so it limits far less
    /// than its positive twin (an analyser must not count it as narrowing who may call).
    pub fn is_negated(&self) -> bool {
        self.op.negated
    }

    /// A `...IfExists` operator: true when the request lacks the key.
    pub fn if_exists(&self) -> bool {
        self.op.if_exists
    }

    /// The values as written in the document.
    pub fn values(&self) -> &[String] {
        &self.raw
    }

    pub(crate) fn compile(
        operator: &str,
        key: &str,
        raw: Vec<String>,
        variables: bool,
        location: &Location,
    ) -> Result<Self, PolicyError> {
        let op = parse_operator(operator).ok_or_else(|| PolicyError::UnknownConditionOperator {
            location: location.clone(),
            operator: operator.to_owned(),
        })?;
        let bad = |value: &str, reason: ExpectedValue| PolicyError::InvalidConditionValue {
            location: location.clone(),
            operator: operator.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let templates = |wildcards: bool, lowercase: bool| -> Vec<Template> {
            raw.iter()
                .map(|v| Template::parse(v, variables, wildcards, lowercase))
                .collect()
        };
        let values = match op.base {
            Base::StringEquals => Values::Text(templates(false, false)),
            Base::StringEqualsIgnoreCase => Values::Text(templates(false, true)),
            Base::StringLike => Values::Text(templates(true, false)),
            Base::Bool => {
                let ts = templates(false, true);
                for (t, v) in ts.iter().zip(&raw) {
                    if let Some(lit) = t.as_literal()
                        && lit != "true"
                        && lit != "false"
                    {
                        return Err(bad(v, ExpectedValue::Boolean));
                    }
                }
                Values::Text(ts)
            }
            Base::Numeric(_) => Values::Numbers(parse_each(
                &raw,
                DecimalBuf::parse,
                ExpectedValue::Number,
                &bad,
            )?),
            Base::Date(_) => {
                Values::Dates(parse_each(&raw, parse_date, ExpectedValue::Date, &bad)?)
            }
            Base::BinaryEquals => Values::Binary(parse_each(
                &raw,
                decode_base64,
                ExpectedValue::Base64,
                &bad,
            )?),
            Base::IpAddress => Values::Networks(parse_each(
                &raw,
                Cidr::parse,
                ExpectedValue::IpAddress,
                &bad,
            )?),
            Base::Arn => Values::Arns(
                raw.iter()
                    .map(|v| ArnPattern::parse(v, variables))
                    .collect(),
            ),
            Base::Null => Values::Null(parse_each(&raw, parse_bool, ExpectedValue::Boolean, &bad)?),
        };
        Ok(Clause {
            operator: operator.to_owned(),
            key: key.to_owned(),
            key_folded: fold_key(key),
            op,
            values,
            raw,
        })
    }

    /// KMS rejects ForAllValues on its single-valued, per-key families (spec §3.1).
    pub(crate) fn overly_permissive(&self) -> Option<OverlyPermissiveTarget> {
        if self.op.set != SetOp::ForAllValues {
            return None;
        }
        if self
            .key_folded
            .starts_with(crate::keys::ENCRYPTION_CONTEXT_PREFIX)
        {
            Some(OverlyPermissiveTarget::EncryptionContext)
        } else if self.key_folded.starts_with(crate::keys::REQUEST_TAG_PREFIX) {
            Some(OverlyPermissiveTarget::RequestTag)
        } else {
            None
        }
    }

    /// Does one request value match at least one policy value? Unparsable request values and
    /// policy values with an unresolved variable match nothing.
    fn any_match(&self, ctx: &ConditionContext, v: &str) -> bool {
        match (&self.values, self.op.base) {
            (Values::Text(ts), Base::StringEqualsIgnoreCase | Base::Bool) => {
                ts.iter().any(|t| t.matches(ctx, v, true))
            }
            (Values::Text(ts), _) => ts.iter().any(|t| t.matches(ctx, v, false)),
            (Values::Numbers(ns), Base::Numeric(cmp)) => {
                Decimal::parse(v).is_some_and(|x| ns.iter().any(|n| cmp.holds(x.cmp(&n.get()))))
            }
            (Values::Dates(ds), Base::Date(cmp)) => {
                parse_date(v).is_some_and(|x| ds.iter().any(|d| cmp.holds(x.cmp(d))))
            }
            (Values::Binary(bs), _) => decode_base64(v).is_some_and(|x| bs.contains(&x)),
            (Values::Networks(ns), _) => {
                parse_request_ip(v).is_some_and(|ip| ns.iter().any(|n| n.contains(ip)))
            }
            (Values::Arns(ps), _) => ps.iter().any(|p| p.matches(ctx, v)),
            _ => false,
        }
    }

    pub(crate) fn evaluate(&self, ctx: &ConditionContext) -> bool {
        let present = ctx.lookup_folded(&self.key_folded);
        if let Values::Null(wants) = &self.values {
            return wants
                .iter()
                .any(|&want_absent| want_absent != present.is_some());
        }
        let Some(value) = present else {
            return self.absent_result();
        };
        let negated = self.op.negated;
        let values = value.values();
        // Per request value, a positive operator asks "matches some policy value", a negated
        // one "matches none". Without a set operator a multi-valued key behaves as ForAnyValue
        // (spec §3.4.6); for a single value all three forms agree.
        match self.op.set {
            SetOp::None | SetOp::ForAnyValue => {
                values.iter().any(|v| negated != self.any_match(ctx, v))
            }
            SetOp::ForAllValues => values.iter().all(|v| negated != self.any_match(ctx, v)),
        }
    }

    fn absent_result(&self) -> bool {
        if self.op.if_exists {
            return true;
        }
        match self.op.set {
            SetOp::ForAllValues => true,
            SetOp::ForAnyValue => false,
            SetOp::None => self.op.negated,
        }
    }

    /// A short explanation of why [`Clause::evaluate`] returned false.
    pub(crate) fn failure_detail(&self, ctx: &ConditionContext) -> String {
        let present = ctx.lookup_folded(&self.key_folded);
        if let Values::Null(_) = &self.values {
            return match present {
                Some(_) => "the key is present in the request".to_owned(),
                None => "the key is absent from the request".to_owned(),
            };
        }
        let Some(value) = present else {
            return match self.op.set {
                SetOp::ForAnyValue => {
                    "the key is absent from the request, so no value can match".to_owned()
                }
                _ => "the key is absent from the request".to_owned(),
            };
        };
        let shown = |v: &ContextValue| match v {
            ContextValue::Single(s) => format!("{s:?}"),
            ContextValue::Multi(m) => format!("{m:?}"),
        };
        let mut detail = match (self.op.set, self.op.negated) {
            (SetOp::None, false) => format!(
                "request value {} matches none of {:?}",
                shown(value),
                self.raw
            ),
            (SetOp::None, true) => format!(
                "every request value in {} matches one of {:?}",
                shown(value),
                self.raw
            ),
            (SetOp::ForAnyValue, _) => format!(
                "no request value in {} satisfies the test against {:?}",
                shown(value),
                self.raw
            ),
            (SetOp::ForAllValues, negated) => {
                let bad = value
                    .values()
                    .iter()
                    .find(|v| negated == self.any_match(ctx, v));
                format!(
                    "request value {:?} fails the test against {:?}",
                    bad.map_or("", String::as_str),
                    self.raw
                )
            }
        };
        if !self.variables_resolvable(ctx) {
            detail.push_str(" (a policy variable has no value in the request)");
        }
        detail
    }

    fn variables_resolvable(&self, ctx: &ConditionContext) -> bool {
        match &self.values {
            Values::Text(ts) => ts.iter().all(|t| t.resolvable(ctx)),
            Values::Arns(ps) => ps.iter().all(|p| p.resolvable(ctx)),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        let op = parse_operator("ForAllValues:StringNotLikeIfExists").unwrap();
        assert_eq!(op.set, SetOp::ForAllValues);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.base, Base::StringLike);
        assert!(parse_operator("ArnEquals").is_some());
        for bad in [
            "stringequals",
            "NullIfExists",
            "ForAnyValue:Null",
            "StringEqualsIfExistsIfExists",
            "ForAllValues:ForAnyValue:StringEquals",
            "NumericNotLessThan",
            "BinaryNotEquals",
            "",
        ] {
            assert!(parse_operator(bad).is_none(), "{bad}");
        }
    }
}
