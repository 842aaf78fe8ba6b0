//! trent-policy's integration tests, one module per area, linked into a single test binary
//! (`cargo test -p trent-policy --test it`; one area: `cargo test -p trent-policy --test it -- operators::`).
//!
//! Proptest keeps its regression seeds in `tests/proptest-regressions/<module>.txt`: its default
//! `SourceParallel` layout, which it finds from this `main.rs`.

mod support;

mod explain;
mod fuzz_corpus;
mod operators;
mod parse_errors;
mod properties;
mod spec_vectors;
mod view;
