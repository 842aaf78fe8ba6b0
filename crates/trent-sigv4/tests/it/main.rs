//! trent-sigv4's integration tests, one module per area, linked into a single test binary
//! (`cargo test -p trent-sigv4 --test it`; one area: `cargo test -p trent-sigv4 --test it -- vectors::`).
//!
//! Proptest keeps its regression seeds in `tests/proptest-regressions/<module>.txt`: its default
//! `SourceParallel` layout, which it finds from this `main.rs` (next to a lone `tests/*.rs` there
//! was no `main.rs`, so it fell back to `tests/<file>.proptest-regressions`).

mod fuzz_corpus;
mod rejections;
mod sdk_signer;
mod signing_key_cache;
mod vectors;
