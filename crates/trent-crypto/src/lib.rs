//! All cryptography of Trent (the only user of aws-lc-rs): key material, ciphertext blobs, sealing.
