//! Parse arbitrary bytes as each kind of policy; evaluate whatever parses against a few
//! requests, and render the explanation. Nothing may panic.
//!
//! Keep in step with crates/trent-policy/tests/it/fuzz_corpus.rs, which replays the seed corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trent_policy::{
    ConditionContext, ContextValue, Policy, PolicyKind, Principal, RequestContext,
};

fn requests(extra: &str) -> Vec<RequestContext> {
    let ctx = ConditionContext::new()
        .with("aws:SourceIp", extra)
        .with("aws:username", extra)
        .with("aws:CurrentTime", "2026-01-01T00:00:00Z")
        .with("aws:SecureTransport", true)
        .with("kms:EncryptionContext:app", extra)
        .with("kms:EncryptionContextKeys", ContextValue::Multi(vec!["app".into(), extra.into()]))
        .with("kms:CallerAccount", "111122223333");
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    vec![
        RequestContext::new(
            Principal::assumed_role("arn:aws:sts::111122223333:assumed-role/R/s", "arn:aws:iam::111122223333:role/R"),
            "kms:Decrypt",
            key,
        )
        .with_context(ctx.clone()),
        RequestContext::new(Principal::root("444455556666"), "kms:PutKeyPolicy", key),
        RequestContext::new(Principal::service("cloudtrail.amazonaws.com"), extra, extra).with_context(ctx),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let extra = text.get(..text.len().min(64)).unwrap_or("");
    for kind in [PolicyKind::KeyPolicy, PolicyKind::IdentityPolicy, PolicyKind::TrustPolicy] {
        match Policy::parse(text, kind) {
            Ok(policy) => {
                let _ = policy.principal_arns();
                for req in requests(extra) {
                    let eval = policy.evaluate(&req);
                    let summary = policy.summarize(&req);
                    assert_eq!(summary.explicit_deny, eval.explicit_deny().map(|s| s.index));
                    assert_eq!(summary.any_allow(), eval.any_allow().map(|s| s.index));
                    let _ = eval.to_string();
                    let _ = serde_json::to_string(&eval);
                }
            }
            Err(e) => {
                let _ = e.to_string();
                let _ = e.location();
            }
        }
    }
});
