//! Replays the seeds of the fuzz target `ciphertext_blob` (`fuzz/corpus/`) through the target's
//! own harness, so CI runs them without nightly or cargo-fuzz.

#[path = "../../../../fuzz/harness/ciphertext_blob.rs"]
mod harness;
#[path = "../../../../fuzz/harness/replay.rs"]
mod replay;

#[test]
fn replay_seed_corpus() {
    let seeds = replay::replay("ciphertext_blob", harness::run);
    // Some hand-written seeds are blobs made under the harness's key: its decryption path
    // stays tested.
    let decrypted: Vec<&str> = seeds
        .iter()
        .filter(|s| s.hand_written && s.outcome.header_parsed && s.outcome.decrypted)
        .map(|s| s.name.as_str())
        .collect();
    assert!(decrypted.len() >= 3, "seeds that decrypt: {decrypted:?}");
    assert!(
        seeds
            .iter()
            .any(|s| s.outcome.header_parsed && !s.outcome.decrypted),
        "no seed is a well-formed blob that does not decrypt"
    );
}
