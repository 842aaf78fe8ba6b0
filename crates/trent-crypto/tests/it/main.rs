//! trent-crypto's integration tests, one module per area, linked into a single test binary
//! (`cargo test -p trent-crypto --test it`; one area: `cargo test -p trent-crypto --test it -- blob::`).

mod support;

mod aes_gcm_oracle;
mod blob;
mod blob_never_panics;
mod fuzz_corpus;
mod interop_ecc;
mod interop_hmac;
mod interop_mldsa;
mod interop_rsa;
mod key_material;
mod root_key;
mod sign_verify;
