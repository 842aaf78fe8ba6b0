//! Whether one grant allows one request (spec §5.4). Pure: the grant and the request are passed
//! in; the caller looks grants up by (key, grantee) so cost does not grow with the key's grants.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trent_policy::{Principal, PrincipalKind};

use super::decide::{ConstraintCheck, GrantOutcome};

/// `Constraints` of a grant, as the API shapes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

/// Stored constraints (JSON) back into their type.
pub fn parse_constraints(json: Option<&str>) -> Result<GrantConstraints, crate::KmsError> {
    match json {
        None => Ok(GrantConstraints::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| crate::KmsError::internal(format!("stored grant constraints: {e}"))),
    }
}

impl GrantConstraints {
    /// The encryption-context map of the constraint, whichever kind it is.
    pub fn encryption_context(&self) -> Option<&BTreeMap<String, String>> {
        self.encryption_context_equals
            .as_ref()
            .or(self.encryption_context_subset.as_ref())
    }

    /// The constraints with an empty map dropped when it comes next to the other one. SDKs that
    /// send an unset map member as `{}` give both (the Terraform AWS provider sends
    /// `EncryptionContextSubset: {}` with every `encryption_context_equals` constraint, and
    /// `EncryptionContextEquals: {}` with every `encryption_context_subset` one), and AWS takes
    /// that as the one non-empty constraint, not "More than one constraint supplied". An empty
    /// subset allows every context, so dropping it changes nothing; an empty
    /// EncryptionContextEquals is dropped only next to a non-empty EncryptionContextSubset.
    pub fn without_empty_alternative(mut self) -> Self {
        let empty =
            |m: &Option<BTreeMap<String, String>>| m.as_ref().is_some_and(BTreeMap::is_empty);
        if self.encryption_context_equals.is_some() && empty(&self.encryption_context_subset) {
            self.encryption_context_subset = None;
        } else if empty(&self.encryption_context_equals)
            && self
                .encryption_context_subset
                .as_ref()
                .is_some_and(|m| !m.is_empty())
        {
            self.encryption_context_equals = None;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.encryption_context_equals.is_none()
            && self.encryption_context_subset.is_none()
            && self.source_arn.is_none()
    }
}

/// A parent grant (one that includes CreateGrant) may only create grants that are at most as
/// permissive: a subset of its operations and constraints at least as strict (§5.3).
pub fn narrowing_violation(
    parent_operations: &[String],
    parent: &GrantConstraints,
    child: &super::ChildGrant,
) -> Option<String> {
    if let Some(op) = child
        .operations
        .iter()
        .find(|op| !parent_operations.contains(op))
    {
        return Some(format!(
            "the parent grant does not include {op}, which the new grant asks for"
        ));
    }
    let c = &child.constraints;
    if let Some(equals) = &parent.encryption_context_equals
        && c.encryption_context_equals.as_ref() != Some(equals)
    {
        return Some(
            "the parent grant's EncryptionContextEquals constraint must be repeated exactly".into(),
        );
    }
    if let Some(subset) = &parent.encryption_context_subset {
        let Some(child_ec) = c.encryption_context() else {
            return Some(
                "the parent grant has an EncryptionContextSubset constraint; the new grant needs one at least as strict".into(),
            );
        };
        if let Some((k, v)) = subset
            .iter()
            .find(|(k, v)| ec_lookup(child_ec, k).is_none_or(|x| x != *v))
        {
            return Some(format!(
                "the new grant's constraint drops {k}={v} required by the parent grant"
            ));
        }
    }
    if let Some(arn) = &parent.source_arn
        && c.source_arn.as_ref() != Some(arn)
    {
        return Some("the parent grant's SourceArn constraint must be repeated".into());
    }
    None
}

/// The parts of a grant that decide whether it applies.
pub struct GrantView<'a> {
    pub grant_id: &'a str,
    pub name: Option<&'a str>,
    pub grantee_principal: Option<&'a str>,
    pub grantee_service_principal: Option<&'a str>,
    pub operations: &'a [String],
    pub constraints: &'a GrantConstraints,
    /// Who made the grant, when, and in which request: carried into the outcome for
    /// explanations, never part of the decision.
    pub created_by: Option<&'a str>,
    pub created_ms: i64,
    pub created_request_id: Option<&'a str>,
}

/// What the request brings that grants look at.
pub struct GrantRequest<'a> {
    pub principal: &'a Principal,
    /// The grant operation name: `Decrypt`, `ReEncryptFrom`, `ReEncryptTo`, `CreateGrant`, …
    pub operation: &'a str,
    /// The request's encryption context (the source or destination one for ReEncrypt).
    pub encryption_context: Option<&'a BTreeMap<String, String>>,
    /// `aws:SourceArn` when a service calls on behalf of a resource.
    pub source_arn: Option<&'a str>,
}

/// Operations that take an encryption context, where EC constraints apply (spec §5.4.4).
fn takes_encryption_context(operation: &str) -> bool {
    matches!(
        operation,
        "Encrypt"
            | "Decrypt"
            | "ReEncryptFrom"
            | "ReEncryptTo"
            | "GenerateDataKey"
            | "GenerateDataKeyWithoutPlaintext"
            | "GenerateDataKeyPair"
            | "GenerateDataKeyPairWithoutPlaintext"
            | "CreateGrant"
    )
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// How a grantee principal relates to the caller: `Some(false)` direct match, `Some(true)` the
/// grantee is the caller's account, `None` no match.
pub fn grantee_match(grantee: &str, p: &Principal) -> Option<bool> {
    let is_account_grantee = (grantee.len() == 12 && grantee.bytes().all(|b| b.is_ascii_digit()))
        || (grantee.starts_with("arn:")
            && grantee.ends_with(":root")
            && grantee.contains(":iam::"));
    if is_account_grantee {
        let account = if grantee.starts_with("arn:") {
            account_of(grantee).unwrap_or_default()
        } else {
            grantee
        };
        return (account == p.account).then_some(true);
    }
    if grantee == p.arn {
        return Some(false);
    }
    match &p.kind {
        PrincipalKind::AssumedRole { role_arn } if grantee == role_arn => Some(false),
        _ => None,
    }
}

/// EC keys compare case-insensitively, values case-sensitively (current API reference).
pub(crate) fn ec_lookup<'a>(ec: &'a BTreeMap<String, String>, key: &str) -> Option<&'a String> {
    ec.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Each constraint of the grant checked against the request, in the order SourceArn,
/// EncryptionContextEquals, EncryptionContextSubset (the first failing one is the grant's
/// mismatch).
fn constraint_checks(c: &GrantConstraints, r: &GrantRequest<'_>) -> Vec<ConstraintCheck> {
    let mut checks = Vec::new();
    if let Some(arn) = &c.source_arn {
        let satisfied = r.operation == "RetireGrant" || r.source_arn == Some(arn.as_str());
        checks.push(ConstraintCheck {
            constraint: format!("SourceArn {arn}"),
            satisfied,
            detail: (!satisfied).then(|| {
                format!(
                    "the SourceArn constraint requires the request to be made on behalf of {arn}"
                )
            }),
        });
    }
    let empty = BTreeMap::new();
    let ec = r.encryption_context.unwrap_or(&empty);
    let takes_ec = takes_encryption_context(r.operation);
    let not_checked = || format!("not checked: {} takes no encryption context", r.operation);
    if let Some(equals) = &c.encryption_context_equals {
        let satisfied = !takes_ec
            || (equals.len() == ec.len()
                && equals
                    .iter()
                    .all(|(k, v)| ec_lookup(ec, k).is_some_and(|x| x == v)));
        checks.push(ConstraintCheck {
            constraint: format!("EncryptionContextEquals {}", render_ec(equals)),
            satisfied,
            detail: Some(if !takes_ec {
                not_checked()
            } else if satisfied {
                "the request's encryption context is exactly this".to_string()
            } else {
                format!(
                    "the EncryptionContextEquals constraint {} does not equal the request's encryption context {}",
                    render_ec(equals),
                    render_ec(ec)
                )
            }),
        });
    }
    if let Some(subset) = &c.encryption_context_subset {
        let missing = subset
            .iter()
            .find(|(k, v)| ec_lookup(ec, k).is_none_or(|x| x != *v));
        let satisfied = !takes_ec || missing.is_none();
        checks.push(ConstraintCheck {
            constraint: format!("EncryptionContextSubset {}", render_ec(subset)),
            satisfied,
            detail: Some(match missing {
                _ if !takes_ec => not_checked(),
                None => format!(
                    "the request's encryption context {} includes every pair",
                    render_ec(ec)
                ),
                Some((k, v)) => format!(
                    "the EncryptionContextSubset constraint requires {k}={v} in the encryption context, which has {}",
                    render_ec(ec)
                ),
            }),
        });
    }
    checks
}

fn render_ec(ec: &BTreeMap<String, String>) -> String {
    serde_json::to_string(ec).unwrap_or_default()
}

pub fn evaluate_grant(g: &GrantView<'_>, r: &GrantRequest<'_>) -> GrantOutcome {
    let grantee = g
        .grantee_principal
        .or(g.grantee_service_principal)
        .unwrap_or_default();
    let matched = match (g.grantee_principal, g.grantee_service_principal) {
        (Some(p), _) => grantee_match(p, r.principal),
        (None, Some(service)) => (r.principal.kind == PrincipalKind::Service
            && r.principal.arn == service)
            .then_some(false),
        (None, None) => None,
    };
    let mut outcome = GrantOutcome {
        grant_id: g.grant_id.to_string(),
        name: g.name.map(str::to_string),
        grantee_principal: grantee.to_string(),
        grantee_matches: matched.is_some(),
        account_grantee: matched == Some(true),
        applies: false,
        mismatch: None,
        constraints: Vec::new(),
        created_by: g.created_by.map(str::to_string),
        created_ms: g.created_ms,
        created_request_id: g.created_request_id.map(str::to_string),
    };
    outcome.mismatch = if matched.is_none() {
        Some(format!("the grantee {grantee} is not the caller"))
    } else if !g.operations.iter().any(|o| o == r.operation) {
        Some(format!(
            "the grant's operations [{}] do not include {}",
            g.operations.join(", "),
            r.operation
        ))
    } else {
        outcome.constraints = constraint_checks(g.constraints, r);
        outcome
            .constraints
            .iter()
            .find(|c| !c.satisfied)
            .and_then(|c| c.detail.clone())
    };
    outcome.applies = outcome.mismatch.is_none();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn check(
        grantee: &str,
        ops: &[&str],
        c: GrantConstraints,
        p: &Principal,
        op: &str,
        request_ec: Option<&BTreeMap<String, String>>,
    ) -> GrantOutcome {
        let ops: Vec<String> = ops.iter().map(|s| s.to_string()).collect();
        evaluate_grant(
            &GrantView {
                grant_id: "g",
                name: None,
                grantee_principal: Some(grantee),
                grantee_service_principal: None,
                operations: &ops,
                constraints: &c,
                created_by: None,
                created_ms: 0,
                created_request_id: None,
            },
            &GrantRequest {
                principal: p,
                operation: op,
                encryption_context: request_ec,
                source_arn: None,
            },
        )
    }

    #[test]
    fn role_grantee_matches_sessions_and_subset_constraint() {
        let session = Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/R/s",
            "arn:aws:iam::111122223333:role/R",
        );
        let subset = GrantConstraints {
            encryption_context_subset: Some(ec(&[("app", "x")])),
            ..Default::default()
        };
        let role = "arn:aws:iam::111122223333:role/R";
        // §11 row 9: extra pairs are fine.
        assert!(
            check(
                role,
                &["Decrypt"],
                subset.clone(),
                &session,
                "Decrypt",
                Some(&ec(&[("app", "x"), ("v", "1")]))
            )
            .applies
        );
        // §11 row 10: keys are case-insensitive.
        assert!(
            check(
                role,
                &["Decrypt"],
                subset.clone(),
                &session,
                "Decrypt",
                Some(&ec(&[("APP", "x")]))
            )
            .applies
        );
        // values are case-sensitive; no EC fails a non-empty constraint.
        assert!(
            !check(
                role,
                &["Decrypt"],
                subset.clone(),
                &session,
                "Decrypt",
                Some(&ec(&[("app", "X")]))
            )
            .applies
        );
        assert!(
            !check(
                role,
                &["Decrypt"],
                subset.clone(),
                &session,
                "Decrypt",
                None
            )
            .applies
        );
        // §11 row 11: operation not granted.
        let o = check(
            role,
            &["Decrypt"],
            subset.clone(),
            &session,
            "DescribeKey",
            None,
        );
        assert!(!o.applies && o.grantee_matches);
        // constraints do not apply to DescribeKey.
        assert!(
            check(
                role,
                &["DescribeKey"],
                subset,
                &session,
                "DescribeKey",
                None
            )
            .applies
        );
        // another role's session is not the grantee.
        let other = Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/R2/s",
            "arn:aws:iam::111122223333:role/R2",
        );
        let o = check(
            role,
            &["Decrypt"],
            GrantConstraints::default(),
            &other,
            "Decrypt",
            None,
        );
        assert!(!o.grantee_matches && !o.applies);
    }

    #[test]
    fn equals_constraint_and_session_and_account_grantees() {
        let session = Principal::assumed_role(
            "arn:aws:sts::012345678901:assumed-role/test-role/test",
            "arn:aws:iam::012345678901:role/test-role",
        );
        let equals = GrantConstraints {
            encryption_context_equals: Some(ec(&[("aws:lambda:FunctionArn", "f")])),
            ..Default::default()
        };
        let g = "arn:aws:sts::012345678901:assumed-role/test-role/test";
        assert!(
            check(
                g,
                &["Decrypt"],
                equals.clone(),
                &session,
                "Decrypt",
                Some(&ec(&[("aws:lambda:FunctionArn", "f")]))
            )
            .applies
        );
        assert!(
            !check(
                g,
                &["Decrypt"],
                equals.clone(),
                &session,
                "Decrypt",
                Some(&ec(&[("aws:lambda:FunctionArn", "f"), ("x", "y")]))
            )
            .applies
        );
        assert!(!check(g, &["Decrypt"], equals, &session, "Decrypt", None).applies);
        let o = check(
            "012345678901",
            &["Decrypt"],
            GrantConstraints::default(),
            &session,
            "Decrypt",
            None,
        );
        assert!(o.applies && o.account_grantee);
        let o = check(
            "arn:aws:iam::999999999999:root",
            &["Decrypt"],
            GrantConstraints::default(),
            &session,
            "Decrypt",
            None,
        );
        assert!(!o.grantee_matches);
    }
}
