//! Placeholder; filled in with the evaluation benchmarks.
fn main() {}
