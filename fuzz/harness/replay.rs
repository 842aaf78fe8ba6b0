//! Replays the committed seeds of a fuzz target (`fuzz/corpus/<target>/`) through its harness,
//! so that the workspace's ordinary `cargo test` keeps them green without nightly or
//! cargo-fuzz. Included with `#[path]` by each replay test, next to the harness it replays.

use std::path::Path;

/// One seed and what the harness made of it.
pub struct Seed<T> {
    pub name: String,
    /// Written by hand (a realistic input with a descriptive name), not kept from a fuzzing run
    /// by a corpus merge (libFuzzer's `-merge=1`, as `cargo fuzz cmin` runs it), which names a
    /// file by the SHA-1 of its content.
    pub hand_written: bool,
    pub outcome: T,
}

/// Runs `harness` on every seed of `target`, in file-name order, and on a few cheap mutations
/// of each (truncations, one flipped bit), which must not panic either. Returns what the
/// harness made of each seed itself.
pub fn replay<T>(target: &str, harness: impl Fn(&[u8]) -> T) -> Vec<Seed<T>> {
    // Every workspace crate is `crates/<name>`, so the corpus is two levels up.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths
        .iter()
        .map(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for cut in [data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
                harness(&data[..cut]);
            }
            let mut flipped = data.clone();
            if let Some(b) = flipped.get_mut(data.len() / 2) {
                *b ^= 0x20;
            }
            harness(&flipped);
            let generated = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
            Seed {
                outcome: harness(&data),
                hand_written: !generated,
                name,
            }
        })
        .collect()
}
