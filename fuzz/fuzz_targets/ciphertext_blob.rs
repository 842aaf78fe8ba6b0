//! The body is the harness `fuzz/harness/ciphertext_blob.rs`, shared with the seed replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trent_fuzz::ciphertext_blob::run(data);
});
