//! Fuzz harness `policy_parse_evaluate`: arbitrary bytes as each kind of policy; whatever parses
//! is evaluated against a few fixed requests and against one request the input describes, and
//! the explanation is rendered. Nothing may panic, and the allocation-free summary must agree
//! with the full evaluation.
//!
//! Input: `<policy document>` optionally followed by NUL and a request, one item a line:
//! principal ARN, action, resource, then condition keys as `name=value` (a name repeated makes
//! the key multi-valued). The principal's kind follows the ARN's shape.
//!
//! Written once, used twice: by `fuzz/fuzz_targets/policy_parse_evaluate.rs` and, for every
//! seed of `fuzz/corpus/policy_parse_evaluate`, by `cargo test -p trent-policy`.

use trent_policy::{
    ConditionContext, ContextValue, Policy, PolicyKind, Principal, PrincipalMatch, RequestContext,
};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// What one input came to (for the replay test's checks that seeds stay meaningful).
#[derive(Debug, Default)]
pub struct Outcome {
    /// How many of the three policy kinds accepted the document.
    pub accepted: usize,
    /// Whether the input described a request of its own.
    pub own_request: bool,
}

pub fn run(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::default();
    };
    let (document, request) = match text.split_once('\0') {
        Some((document, request)) => (document, Some(request)),
        None => (text, None),
    };
    let extra = document.get(..document.len().min(64)).unwrap_or("");
    let mut requests = fixed_requests(extra);
    requests.extend(request.map(described_request));
    let mut outcome = Outcome {
        accepted: 0,
        own_request: request.is_some(),
    };
    for kind in [
        PolicyKind::KeyPolicy,
        PolicyKind::IdentityPolicy,
        PolicyKind::TrustPolicy,
    ] {
        match Policy::parse(document, kind) {
            Ok(policy) => {
                outcome.accepted += 1;
                assert_eq!(policy.kind(), kind);
                let _ = policy.principal_arns();
                for req in &requests {
                    let eval = policy.evaluate(req);
                    let summary = policy.summarize(req);
                    assert_eq!(summary.explicit_deny, eval.explicit_deny().map(|s| s.index));
                    assert_eq!(summary.any_allow(), eval.any_allow().map(|s| s.index));
                    for class in [PrincipalMatch::Direct, PrincipalMatch::AccountLevel] {
                        assert_eq!(
                            summary.allow_with(class),
                            eval.allow_with(class).map(|s| s.index)
                        );
                    }
                    assert!(
                        eval.statements
                            .iter()
                            .all(|s| s.applies == s.mismatch.is_none())
                    );
                    assert_eq!(eval.statements.len(), policy.statements().len());
                    assert!(!eval.to_string().is_empty() || eval.statements.is_empty());
                    assert!(serde_json::to_string(&eval).is_ok());
                }
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                let _ = e.location();
                let _ = e.is_limit_exceeded();
            }
        }
    }
    outcome
}

/// Requests every input is evaluated against; `extra` (the start of the input) fills the
/// condition keys and, for the service principal, the action and resource.
fn fixed_requests(extra: &str) -> Vec<RequestContext<'static>> {
    let ctx = ConditionContext::new()
        .with("aws:SourceIp", extra)
        .with("aws:username", extra)
        .with("aws:CurrentTime", "2026-01-01T00:00:00Z")
        .with("aws:SecureTransport", true)
        .with("kms:EncryptionContext:app", extra)
        .with(
            "kms:EncryptionContextKeys",
            ContextValue::Multi(vec!["app".into(), extra.into()]),
        )
        .with("kms:CallerAccount", "111122223333");
    vec![
        RequestContext::new(
            Principal::assumed_role(
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "arn:aws:iam::111122223333:role/R",
            ),
            "kms:Decrypt",
            KEY_ARN,
        )
        .with_context(ctx.clone()),
        RequestContext::new(Principal::root("444455556666"), "kms:PutKeyPolicy", KEY_ARN),
        RequestContext::new(Principal::service("cloudtrail.amazonaws.com"), extra, extra)
            .with_context(ctx),
    ]
}

/// The request the input describes after its NUL.
fn described_request(text: &str) -> RequestContext<'static> {
    let mut lines = text.lines();
    let principal = principal(lines.next().unwrap_or_default());
    let action = lines.next().unwrap_or("kms:Decrypt");
    let resource = lines.next().unwrap_or(KEY_ARN);
    let mut ctx = ConditionContext::new();
    for line in lines {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        let value = match ctx.remove(name) {
            None => ContextValue::Single(value.to_owned()),
            Some(old) => {
                let mut values = old.values().to_vec();
                values.push(value.to_owned());
                ContextValue::Multi(values)
            }
        };
        ctx.insert(name, value);
    }
    RequestContext::new(principal, action, resource).with_context(ctx)
}

/// A caller of the kind the ARN's shape says.
fn principal(arn: &str) -> Principal {
    if let Some(account) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
    {
        Principal::root(account)
    } else if arn.contains(":assumed-role/") {
        // arn:aws:sts::<account>:assumed-role/<role>/<session>: the role is the part before the
        // session name.
        let role = arn
            .rsplit_once('/')
            .map_or(arn, |(role, _)| role)
            .replacen(":sts::", ":iam::", 1)
            .replacen(":assumed-role/", ":role/", 1);
        Principal::assumed_role(arn, &role)
    } else if arn.contains(":federated-user/") {
        Principal::federated_user(arn)
    } else if arn.ends_with(".amazonaws.com") {
        Principal::service(arn)
    } else {
        Principal::user(arn)
    }
}
