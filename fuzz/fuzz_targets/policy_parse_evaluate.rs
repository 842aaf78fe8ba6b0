//! The body is the harness `fuzz/harness/policy_parse_evaluate.rs`, shared with the seed replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trent_fuzz::policy_parse_evaluate::run(data);
});
