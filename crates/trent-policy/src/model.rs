//! The policy document model and its parser: from JSON text to compiled statements.

use std::fmt;

use serde::Serialize;

use crate::arn::ArnPattern;
use crate::condition::Clause;
use crate::error::{Location, PolicyError};
use crate::glob::{Piece, compile};
use crate::json::{Json, first_duplicate};
use crate::principal::PrincipalSet;
use crate::validate;

/// Which rules a document is validated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyKind {
    /// KMS key policy: Principal required, 32 KB, Latin-1 characters, KMS's set-operator check.
    /// Statements missing Action or Resource are accepted but never apply.
    KeyPolicy,
    /// IAM identity policy: no Principal; Action and Resource required.
    IdentityPolicy,
    /// IAM role trust policy: Principal required, no Resource.
    TrustPolicy,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::KeyPolicy => "key policy",
            PolicyKind::IdentityPolicy => "identity policy",
            PolicyKind::TrustPolicy => "trust policy",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalSpec {
    /// Identity policies: the principal is whoever the policy is attached to.
    Implicit,
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionSpec {
    pub(crate) negated: bool,
    /// Lowercased wildcard patterns.
    pub(crate) patterns: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceSpec {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ArnPattern>,
}

/// How a statement's Resource element is to be tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceRule {
    Spec(ResourceSpec),
    /// Key policy statement without Resource: accepted, never applies.
    Missing,
    /// Trust policies have no Resource: the role is the resource.
    NotApplicable,
}

/// A read-only view of a statement's Principal element, for analysers (lint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalElement<'a> {
    /// Identity policies: whoever the policy is attached to.
    Implicit,
    Principal(&'a PrincipalSet),
    NotPrincipal(&'a PrincipalSet),
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Zero-based position in the document.
    pub index: usize,
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: PrincipalSpec,
    /// `None`: key-policy statement without Action (never applies).
    pub(crate) action: Option<ActionSpec>,
    pub(crate) resource: ResourceRule,
    pub(crate) conditions: Vec<Clause>,
}

impl Statement {
    /// Whether evaluating this statement reads the request's condition context: it has a
    /// Condition, or a Resource with a policy variable. Principal and Action never do.
    pub fn reads_context(&self) -> bool {
        self.has_conditions()
            || matches!(&self.resource, ResourceRule::Spec(spec)
                if spec.patterns.iter().any(|p| p.has_variables()))
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// True for statements that can never apply (a key-policy statement missing Action or
    /// Resource).
    pub fn is_inert(&self) -> bool {
        self.action.is_none() || self.resource == ResourceRule::Missing
    }

    pub fn has_conditions(&self) -> bool {
        !self.conditions.is_empty()
    }

    /// The Condition element's tests, in document order.
    pub fn conditions(&self) -> &[Clause] {
        &self.conditions
    }

    pub fn principal_element(&self) -> PrincipalElement<'_> {
        match &self.principal {
            PrincipalSpec::Implicit => PrincipalElement::Implicit,
            PrincipalSpec::Principal(set) => PrincipalElement::Principal(set),
            PrincipalSpec::NotPrincipal(set) => PrincipalElement::NotPrincipal(set),
        }
    }

    /// Whether the Action/NotAction element covers `action` (matched as evaluation does:
    /// case-insensitively, with wildcards). A statement without Action covers nothing.
    pub fn covers_action(&self, action: &str) -> bool {
        self.action
            .as_ref()
            .is_some_and(|spec| crate::evaluate::action_matches(spec, action))
    }

    /// Whether the Resource element is a plain `*` (NotResource never covers everything; a
    /// trust policy's statements have no resource of their own).
    pub fn covers_every_resource(&self) -> bool {
        matches!(&self.resource, ResourceRule::Spec(spec)
            if !spec.negated && spec.patterns.contains(&ArnPattern::Any))
    }

    /// Whether the Principal element names `p`'s own ARN (a user's, or a role session's), not
    /// only its role, its account or everyone. Within an account, IAM lets such a resource-policy
    /// allow stand although the caller's permissions boundary or session policies do not allow
    /// (IAM policy evaluation logic); an allow that reaches a session through its role's ARN
    /// is limited by both.
    pub fn names_principal_exactly(&self, p: &crate::Principal) -> bool {
        matches!(&self.principal, PrincipalSpec::Principal(set) if set.names_exactly(p))
    }
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    pub(crate) version: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
    /// Whether any statement reads the condition context, known at parse time: asked on every
    /// authorization.
    reads_context: bool,
}

pub(crate) const VERSION_2012: &str = "2012-10-17";
const VERSION_2008: &str = "2008-10-17";

impl Policy {
    /// Whether evaluating this policy reads the request's condition context at all (see
    /// [`Statement::reads_context`]): when no policy of a question does, the authorizer need not
    /// build one.
    pub fn reads_context(&self) -> bool {
        self.reads_context
    }

    /// A policy with no statements: it allows nothing and denies nothing. What a permissions
    /// boundary naming a managed policy that no longer exists amounts to (it fails closed).
    pub fn empty(kind: PolicyKind) -> Policy {
        Policy {
            kind,
            version: Some(VERSION_2012.to_owned()),
            id: None,
            statements: Vec::new(),
            reads_context: false,
        }
    }

    /// Parse and validate `text` under the rules of `kind`.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        if kind == PolicyKind::KeyPolicy {
            validate::key_policy_text(text)?;
        }
        let json = Json::parse(text).map_err(|e| PolicyError::Syntax {
            message: e.to_string(),
        })?;
        let doc = Location::document();
        let Json::Object(members) = json else {
            return Err(PolicyError::InvalidType {
                location: doc,
                element: "policy document".to_owned(),
                expected: "a JSON object",
            });
        };
        if let Some(key) = first_duplicate(&members) {
            return Err(PolicyError::DuplicateKey {
                location: doc,
                element: "policy document".to_owned(),
                key: key.to_owned(),
            });
        }
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        for (name, value) in &members {
            match name.as_str() {
                "Version" => match value {
                    Json::String(v) if v == VERSION_2012 || v == VERSION_2008 => {
                        version = Some(v.clone());
                    }
                    other => {
                        return Err(PolicyError::InvalidVersion {
                            version: other
                                .as_scalar()
                                .unwrap_or_else(|| other.type_name().to_owned()),
                        });
                    }
                },
                "Id" => match value.as_scalar() {
                    Some(v) => id = Some(v),
                    None => return Err(invalid_type(&doc, "Id", "a string")),
                },
                "Statement" => statement = Some(value),
                other => {
                    return Err(PolicyError::UnknownElement {
                        location: doc,
                        element: other.to_owned(),
                    });
                }
            }
        }
        let statement = statement.ok_or(PolicyError::MissingElement {
            location: doc.clone(),
            element: "Statement",
        })?;
        let raw_statements: Vec<&Json> = match statement {
            Json::Array(items) => items.iter().collect(),
            one @ Json::Object(_) => vec![one],
            _ => {
                return Err(invalid_type(
                    &doc,
                    "Statement",
                    "an object or an array of objects",
                ));
            }
        };
        let variables = version.as_deref() == Some(VERSION_2012);
        let mut statements = Vec::with_capacity(raw_statements.len());
        for (index, raw) in raw_statements.into_iter().enumerate() {
            let st = parse_statement(index, raw, kind, variables)?;
            if kind == PolicyKind::IdentityPolicy
                && let Some(sid) = &st.sid
                && statements
                    .iter()
                    .any(|s: &Statement| s.sid.as_ref() == Some(sid))
            {
                return Err(PolicyError::DuplicateSid {
                    location: Location::statement(index, Some(sid)),
                    sid: sid.clone(),
                });
            }
            statements.push(st);
        }
        Ok(Policy {
            kind,
            version,
            id,
            reads_context: statements.iter().any(Statement::reads_context),
            statements,
        })
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Every AWS principal string named in Principal or NotPrincipal (account IDs, root, user,
    /// role, session and federated-user ARNs; not `*`), deduplicated, in document order.
    pub fn principal_arns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for st in &self.statements {
            let set = match &st.principal {
                PrincipalSpec::Principal(s) | PrincipalSpec::NotPrincipal(s) => s,
                PrincipalSpec::Implicit => continue,
            };
            for name in &set.aws_names {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
        }
        out
    }
}

fn invalid_type(location: &Location, element: &str, expected: &'static str) -> PolicyError {
    PolicyError::InvalidType {
        location: location.clone(),
        element: element.to_owned(),
        expected,
    }
}

/// A string, or a non-empty array of strings (numbers and booleans accepted as strings).
fn string_list(
    json: &Json,
    element: &str,
    location: &Location,
) -> Result<Vec<String>, PolicyError> {
    const EXPECTED: &str = "a string or a non-empty array of strings";
    match json {
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_scalar()
                    .ok_or_else(|| invalid_type(location, element, EXPECTED))
            })
            .collect(),
        other => other
            .as_scalar()
            .map(|s| vec![s])
            .ok_or_else(|| invalid_type(location, element, EXPECTED)),
    }
}

/// A condition value list: a scalar or an array of scalars (possibly empty).
fn condition_values(
    json: &Json,
    element: &str,
    location: &Location,
) -> Result<Vec<String>, PolicyError> {
    const EXPECTED: &str = "a string, number, boolean or an array of them";
    match json {
        Json::Array(items) => items
            .iter()
            .map(|i| {
                i.as_scalar()
                    .ok_or_else(|| invalid_type(location, element, EXPECTED))
            })
            .collect(),
        other => other
            .as_scalar()
            .map(|s| vec![s])
            .ok_or_else(|| invalid_type(location, element, EXPECTED)),
    }
}

fn parse_statement(
    index: usize,
    json: &Json,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let Json::Object(members) = json else {
        return Err(invalid_type(
            &Location::statement(index, None),
            "Statement",
            "an object",
        ));
    };
    // Look the Sid up first so that every error, even one before the Sid in the text, names it.
    let sid = members.iter().find_map(|(k, v)| match (k.as_str(), v) {
        ("Sid", v) => v.as_scalar(),
        _ => None,
    });
    let loc = Location::statement(index, sid.as_deref());
    if let Some(key) = first_duplicate(members) {
        return Err(PolicyError::DuplicateKey {
            location: loc,
            element: "Statement".to_owned(),
            key: key.to_owned(),
        });
    }
    let find = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    for (name, value) in members {
        match name.as_str() {
            "Sid" => {
                let Some(s) = value.as_scalar() else {
                    return Err(invalid_type(&loc, "Sid", "a string"));
                };
                if kind == PolicyKind::IdentityPolicy && !validate::iam_sid(&s) {
                    return Err(PolicyError::InvalidSid {
                        location: loc,
                        sid: s,
                    });
                }
            }
            "Effect" | "Principal" | "NotPrincipal" | "Action" | "NotAction" | "Resource"
            | "NotResource" | "Condition" => {}
            other => {
                return Err(PolicyError::UnknownElement {
                    location: loc,
                    element: other.to_owned(),
                });
            }
        }
    }
    for (first, second) in [
        ("Principal", "NotPrincipal"),
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
    ] {
        if find(first).is_some() && find(second).is_some() {
            return Err(PolicyError::ConflictingElements {
                location: loc,
                first,
                second,
            });
        }
    }

    let effect = match find("Effect") {
        None => {
            return Err(PolicyError::MissingElement {
                location: loc,
                element: "Effect",
            });
        }
        Some(Json::String(e)) if e == "Allow" => Effect::Allow,
        Some(Json::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(PolicyError::InvalidEffect {
                location: loc,
                effect: other
                    .as_scalar()
                    .unwrap_or_else(|| other.type_name().to_owned()),
            });
        }
    };

    let principal = match (kind, find("Principal"), find("NotPrincipal")) {
        (PolicyKind::IdentityPolicy, None, None) => PrincipalSpec::Implicit,
        (PolicyKind::IdentityPolicy, p, _) => {
            return Err(PolicyError::ForbiddenElement {
                location: loc,
                element: if p.is_some() {
                    "Principal"
                } else {
                    "NotPrincipal"
                },
                kind,
            });
        }
        (_, Some(p), _) => PrincipalSpec::Principal(PrincipalSet::parse(p, "Principal", &loc)?),
        (_, _, Some(p)) => {
            PrincipalSpec::NotPrincipal(PrincipalSet::parse(p, "NotPrincipal", &loc)?)
        }
        (_, None, None) => {
            return Err(PolicyError::MissingElement {
                location: loc,
                element: "Principal",
            });
        }
    };

    let action = match (find("Action"), find("NotAction")) {
        (Some(a), _) => Some(parse_actions(a, "Action", false, &loc)?),
        (_, Some(a)) => Some(parse_actions(a, "NotAction", true, &loc)?),
        (None, None) if kind == PolicyKind::KeyPolicy => None,
        (None, None) => {
            return Err(PolicyError::MissingElement {
                location: loc,
                element: "Action",
            });
        }
    };

    let resource = match (kind, find("Resource"), find("NotResource")) {
        (PolicyKind::TrustPolicy, None, None) => ResourceRule::NotApplicable,
        (PolicyKind::TrustPolicy, r, _) => {
            return Err(PolicyError::ForbiddenElement {
                location: loc,
                element: if r.is_some() {
                    "Resource"
                } else {
                    "NotResource"
                },
                kind,
            });
        }
        (_, Some(r), _) => {
            ResourceRule::Spec(parse_resources(r, "Resource", false, variables, &loc)?)
        }
        (_, _, Some(r)) => {
            ResourceRule::Spec(parse_resources(r, "NotResource", true, variables, &loc)?)
        }
        (PolicyKind::KeyPolicy, None, None) => ResourceRule::Missing,
        (_, None, None) => {
            return Err(PolicyError::MissingElement {
                location: loc,
                element: "Resource",
            });
        }
    };

    let conditions = match find("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c, kind, variables, &loc)?,
    };

    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_actions(
    json: &Json,
    element: &str,
    negated: bool,
    loc: &Location,
) -> Result<ActionSpec, PolicyError> {
    let list = string_list(json, element, loc)?;
    let mut patterns = Vec::with_capacity(list.len());
    for a in list {
        if !validate::action(&a) {
            return Err(PolicyError::InvalidAction {
                location: loc.clone(),
                action: a,
            });
        }
        patterns.push(compile(&a, true));
    }
    Ok(ActionSpec { negated, patterns })
}

fn parse_resources(
    json: &Json,
    element: &str,
    negated: bool,
    variables: bool,
    loc: &Location,
) -> Result<ResourceSpec, PolicyError> {
    let list = string_list(json, element, loc)?;
    let mut patterns = Vec::with_capacity(list.len());
    for r in list {
        let pattern = ArnPattern::parse(&r, variables);
        let valid =
            pattern == ArnPattern::Any || (r.starts_with("arn:") && pattern.segment_count() == 6);
        if !valid {
            return Err(PolicyError::InvalidResource {
                location: loc.clone(),
                resource: r,
            });
        }
        patterns.push(pattern);
    }
    Ok(ResourceSpec { negated, patterns })
}

fn parse_conditions(
    json: &Json,
    kind: PolicyKind,
    variables: bool,
    loc: &Location,
) -> Result<Vec<Clause>, PolicyError> {
    let Json::Object(operators) = json else {
        return Err(invalid_type(loc, "Condition", "an object"));
    };
    if let Some(key) = first_duplicate(operators) {
        return Err(PolicyError::DuplicateKey {
            location: loc.clone(),
            element: "Condition".to_owned(),
            key: key.to_owned(),
        });
    }
    let mut clauses = Vec::new();
    for (operator, body) in operators {
        let Json::Object(keys) = body else {
            return Err(invalid_type(loc, operator, "an object of condition keys"));
        };
        if let Some(key) = first_duplicate(keys) {
            return Err(PolicyError::DuplicateKey {
                location: loc.clone(),
                element: operator.clone(),
                key: key.to_owned(),
            });
        }
        for (key, values) in keys {
            if key.is_empty() {
                return Err(invalid_type(
                    loc,
                    operator,
                    "keyed by non-empty condition-key names",
                ));
            }
            let raw = condition_values(values, key, loc)?;
            let clause = Clause::compile(operator, key, raw, variables, loc)?;
            if kind == PolicyKind::KeyPolicy
                && let Some(target) = clause.overly_permissive()
            {
                return Err(PolicyError::OverlyPermissiveCondition {
                    location: loc.clone(),
                    operator: operator.clone(),
                    key: key.clone(),
                    target,
                });
            }
            clauses.push(clause);
        }
    }
    Ok(clauses)
}
