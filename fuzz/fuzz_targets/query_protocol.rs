//! The body is the harness `fuzz/harness/query_protocol.rs`, shared with the seed replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trent_fuzz::query_protocol::run(data);
});
