//! The body is the harness `fuzz/harness/sigv4.rs`, shared with the seed replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trent_fuzz::sigv4::run(data);
});
