//! Replays the seeds of the fuzz target `policy_parse_evaluate` (`fuzz/corpus/`) through the
//! target's own harness, so CI runs them without nightly or cargo-fuzz.

#[path = "../../../../fuzz/harness/policy_parse_evaluate.rs"]
mod harness;
#[path = "../../../../fuzz/harness/replay.rs"]
mod replay;

use trent_policy::{Policy, PolicyKind};

#[test]
fn replay_seed_corpus() {
    let seeds = replay::replay("policy_parse_evaluate", harness::run);
    let hand: Vec<_> = seeds.iter().filter(|s| s.hand_written).collect();
    let unparsed: Vec<&str> = hand
        .iter()
        .filter(|s| s.outcome.accepted == 0)
        .map(|s| s.name.as_str())
        .collect();
    // Most hand-written seeds are valid policies; a corpus that no longer parses would test
    // little.
    assert!(
        unparsed.len() * 3 <= hand.len(),
        "hand-written seeds that parse as no kind of policy: {unparsed:?}"
    );
    assert!(
        hand.iter()
            .any(|s| s.outcome.accepted > 0 && s.outcome.own_request),
        "no seed describes a request of its own"
    );
}

#[test]
fn seeds_are_accepted_or_rejected_as_intended() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/policy_parse_evaluate");
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
