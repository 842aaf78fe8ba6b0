//! The IAM policy language: parse, validate, evaluate, explain. Pure: no I/O, no KMS or HTTP knowledge.
