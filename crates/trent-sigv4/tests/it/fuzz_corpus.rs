//! Replays the seeds of the fuzz target `sigv4` (`fuzz/corpus/`) through the target's own
//! harness, so CI runs them without nightly or cargo-fuzz.

#[path = "../../../../fuzz/harness/sigv4.rs"]
mod harness;
#[path = "../../../../fuzz/harness/replay.rs"]
mod replay;

#[test]
fn replay_seed_corpus() {
    let seeds = replay::replay("sigv4", harness::run);
    let hand: Vec<_> = seeds.iter().filter(|s| s.hand_written).collect();
    let unparsed: Vec<&str> = hand
        .iter()
        .filter(|s| !s.outcome.parsed)
        .map(|s| s.name.as_str())
        .collect();
    let unverified: Vec<&str> = hand
        .iter()
        .filter(|s| !s.outcome.verified_as_sent)
        .map(|s| s.name.as_str())
        .collect();
    // The hand-written seeds are requests signed with the suite's credentials: most must
    // verify as sent, or the harness's success path goes untested.
    assert!(
        unparsed.len() * 3 <= hand.len(),
        "hand-written seeds that do not parse: {unparsed:?}"
    );
    assert!(
        unverified.len() * 2 <= hand.len(),
        "hand-written seeds that do not verify: {unverified:?}"
    );
}

#[test]
fn the_harness_credentials_are_the_suites() {
    assert_eq!(harness::ACCESS_KEY, "AKIDEXAMPLE");
    assert_eq!(harness::SECRET, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
}
