//! The fuzz harnesses, one module per target. Each depends only on the workspace crates and
//! their public APIs, so that the workspace's replay tests can include the same file with
//! `#[path]` and run the committed seeds under `cargo test`. (`replay.rs`, next to them, is the
//! replay tests' seed loader and not part of this crate.)

pub mod ciphertext_blob;
pub mod kms_request;
pub mod policy_parse_evaluate;
pub mod query_protocol;
pub mod sigv4;
