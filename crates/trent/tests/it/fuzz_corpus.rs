//! Replays the seeds of the fuzz targets `kms_request` and `query_protocol` (`fuzz/corpus/`)
//! through the targets' own harnesses, so CI runs them without nightly or cargo-fuzz. They test
//! trent-kms and trent-server, which have no integration test binary of their own.

#[path = "../../../../fuzz/harness/kms_request.rs"]
mod kms_request;
#[path = "../../../../fuzz/harness/query_protocol.rs"]
mod query_protocol;
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

#[test]
fn replay_query_protocol_seeds() {
    let seeds = replay::replay("query_protocol", query_protocol::run);
    // Each hand-written seed is a sequence of real requests: most of them must succeed, or the
    // actions' success paths go untested.
    for seed in seeds.iter().filter(|s| s.hand_written) {
        let o = &seed.outcome;
        assert!(
            o.requests > 0 && o.succeeded * 2 >= o.requests,
            "{}: {o:?}",
            seed.name
        );
    }
}
