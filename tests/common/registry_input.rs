//! Shared by the registry tests and benchmark (`#[path]`-included): turn bytes into a capture
//! input the way the capture layer inventories them, with the kind and hive role a test wants.

use std::path::Path;

use rdsdiag::capture::{self, CaptureOptions, Input};
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};

/// An input for `bytes` written at `dir/rel`, inventoried by the capture layer, with the kind and
/// hive role the test wants.
pub fn input(
    dir: &Path,
    rel: &str,
    kind: InputKind,
    hive: Option<HiveKind>,
    bytes: &[u8],
) -> Input {
    let full = dir.join(rel);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&full, bytes).expect("write");
    let cap = capture::open(&full, &CaptureOptions::default()).expect("inventory");
    let mut i = cap.inputs.into_iter().next().expect("one input");
    i.path = rel.to_string();
    i.kind = kind;
    i.hive = hive;
    i.status = InputStatus::Pending;
    i.problems.clear();
    i
}
