//! AWS Signature Version 4 verification. Pure: no HTTP framework, no storage.
