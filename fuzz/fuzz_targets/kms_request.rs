//! The body is the harness `fuzz/harness/kms_request.rs`, shared with the seed replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trent_fuzz::kms_request::run(data);
});
