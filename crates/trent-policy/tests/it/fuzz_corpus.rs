//! Replays the fuzz seed corpus (fuzz/corpus/policy_parse_evaluate) through the same
//! parse + evaluate + explain steps as the fuzz target, so CI exercises it without nightly.
//! Keep in step with fuzz/fuzz_targets/policy_parse_evaluate.rs.

use std::path::Path;

use trent_policy::{ConditionContext, ContextValue, Policy, PolicyKind, Principal, RequestContext};

fn requests(extra: &str) -> Vec<RequestContext> {
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
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    vec![
        RequestContext::new(
            Principal::assumed_role(
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "arn:aws:iam::111122223333:role/R",
            ),
            "kms:Decrypt",
            key,
        )
        .with_context(ctx.clone()),
        RequestContext::new(Principal::root("444455556666"), "kms:PutKeyPolicy", key),
        RequestContext::new(Principal::service("cloudtrail.amazonaws.com"), extra, extra)
            .with_context(ctx),
    ]
}

/// One fuzz iteration; returns how many kinds accepted the input.
fn run_one(data: &[u8]) -> usize {
    let Ok(text) = std::str::from_utf8(data) else {
        return 0;
    };
    let extra = text.get(..text.len().min(64)).unwrap_or("");
    let mut accepted = 0;
    for kind in [
        PolicyKind::KeyPolicy,
        PolicyKind::IdentityPolicy,
        PolicyKind::TrustPolicy,
    ] {
        match Policy::parse(text, kind) {
            Ok(policy) => {
                accepted += 1;
                let _ = policy.principal_arns();
                for req in requests(extra) {
                    let eval = policy.evaluate(&req);
                    let summary = policy.summarize(&req);
                    assert_eq!(summary.explicit_deny, eval.explicit_deny().map(|s| s.index));
                    assert_eq!(summary.any_allow(), eval.any_allow().map(|s| s.index));
                    assert!(!eval.to_string().is_empty() || eval.statements.is_empty());
                    assert!(serde_json::to_string(&eval).is_ok());
                }
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                let _ = e.location();
            }
        }
    }
    accepted
}

#[test]
fn replay_seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/policy_parse_evaluate");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 12,
        "seed corpus too small: {}",
        entries.len()
    );
    let mut parsed = 0;
    for path in &entries {
        let data = std::fs::read(path).unwrap();
        let accepted = run_one(&data);
        // Mutations of each seed: truncations and a byte flip must not panic either.
        for cut in [data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
            run_one(&data[..cut]);
        }
        let mut flipped = data.clone();
        if let Some(b) = flipped.get_mut(data.len() / 2) {
            *b ^= 0x20;
        }
        run_one(&flipped);
        if accepted > 0 {
            parsed += 1;
        }
    }
    // Most seeds are valid policies; a corpus that no longer parses would test nothing.
    assert!(
        parsed >= 10,
        "only {parsed} of {} seeds parse",
        entries.len()
    );
}

#[test]
fn seeds_are_accepted_or_rejected_as_intended() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/policy_parse_evaluate");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(Policy::parse(&read("01-default-key-policy.json"), PolicyKind::KeyPolicy).is_ok());
    assert!(Policy::parse(&read("06-identity-kms.json"), PolicyKind::IdentityPolicy).is_ok());
    assert!(
        Policy::parse(
            &read("07-identity-variables.json"),
            PolicyKind::IdentityPolicy
        )
        .is_ok()
    );
    assert!(Policy::parse(&read("08-trust-policy.json"), PolicyKind::TrustPolicy).is_ok());
    for key_policy in [
        "02-console-key-policy.json",
        "03-cloudtrail-service.json",
        "04-encryption-context.json",
        "05-cross-account.json",
        "09-not-principal.json",
        "10-typed-conditions.json",
        "13-version-2008.json",
    ] {
        let r = Policy::parse(&read(key_policy), PolicyKind::KeyPolicy);
        assert!(r.is_ok(), "{key_policy}: {r:?}");
    }
    for bad in [
        "11-duplicate-keys.json",
        "12-overly-permissive.json",
        "14-partial-wildcard-principal.json",
    ] {
        assert!(
            Policy::parse(&read(bad), PolicyKind::KeyPolicy).is_err(),
            "{bad}"
        );
    }
}
