//! Replays the seeds of the fuzz target `kms_request` (`fuzz/corpus/`) through the target's own
//! harness, so CI runs them without nightly or cargo-fuzz. It tests trent-kms, which has no
//! integration test binary of its own.

#[path = "../../../../fuzz/harness/kms_request.rs"]
mod kms_request;
#[path = "../../../../fuzz/harness/replay.rs"]
mod replay;

#[test]
fn replay_kms_request_seeds() {
    let seeds = replay::replay("kms_request", kms_request::run);
    // Each hand-written seed is a real request of some operation: it decodes for that one.
    for seed in seeds.iter().filter(|s| s.hand_written) {
        assert!(
            !seed.outcome.decoded.is_empty(),
            "{} decodes for no operation",
            seed.name
        );
    }
}
