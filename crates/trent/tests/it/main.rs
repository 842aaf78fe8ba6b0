//! trent's integration tests, one module per area, linked into a single test binary: most start
//! the real `trent` binary (each test its own server on 127.0.0.1:0 with its own data dir) and
//! talk to it with the AWS SDK, raw HTTP or the CLI. `cargo test -p trent --test it` runs them all;
//! one area: `cargo test -p trent --test it -- kms_keys::`.

mod support;

mod audit;
mod authz_agreement;
mod authz_conditions;
mod authz_cross_account;
mod authz_key_policy;
mod authz_modes;
mod authz_operations;
mod authz_principals;
mod aws_managed_keys;
mod concurrency;
mod config;
mod connection_limits;
mod crash_safety;
mod e2e_scripts;
mod explain;
mod fuzz_corpus;
mod grants;
mod in_memory;
mod key_types_errors;
mod key_types_interop;
mod kms_aliases;
mod kms_auth;
mod kms_crypto;
mod kms_import;
mod kms_keys;
mod kms_multi_region;
mod kms_rotation;
mod kms_tags;
mod persistence;
mod policy_simulate;
mod quotas;
mod seed_file;
mod server_log;
mod shared_database;
mod sts_cross_account;
