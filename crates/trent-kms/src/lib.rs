//! The KMS service: operations, key state machine, authorization. HTTP-free.
