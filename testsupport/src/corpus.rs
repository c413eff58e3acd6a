//! The shared development corpus (`../shared/corpus`, beside the checkout) for the tests that
//! read real evidence.
//!
//! A corpus test asks for the path it reads with [`path`]. When the path is absent the test is
//! skipped with a note on stderr, unless `RDSDIAG_REQUIRE_CORPUS=1` is set (CI sets it, having
//! `../shared` next to the checkout): then the test fails naming what is missing, so a corpus
//! test never passes without having checked anything. `RDSDIAG_CORPUS` points the tests at
//! another corpus folder.

use std::path::{Path, PathBuf};

/// Set to `1` to make an absent corpus a test failure instead of a skip.
pub const REQUIRE_VAR: &str = "RDSDIAG_REQUIRE_CORPUS";
/// Overrides where the corpus is (default: `../shared/corpus` beside the checkout).
pub const DIR_VAR: &str = "RDSDIAG_CORPUS";

/// The corpus folder: `RDSDIAG_CORPUS`, else `../shared/corpus` beside the checkout.
pub fn root() -> PathBuf {
    match std::env::var_os(DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("testsupport lives inside the checkout")
            .join("../shared/corpus"),
    }
}

/// Whether `RDSDIAG_REQUIRE_CORPUS=1` is set.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v.trim() == "1")
}

/// `rel` below the corpus (`""` for the corpus itself) when it exists. When it is absent: `None`
/// with a note on stderr (the caller returns, skipping the test), or a panic that fails the test
/// when `RDSDIAG_REQUIRE_CORPUS=1`.
pub fn path(rel: &str) -> Option<PathBuf> {
    path_in(&root(), rel, required())
}

/// [`path`] below an explicit corpus folder, with the requirement given.
pub fn path_in(root: &Path, rel: &str, required: bool) -> Option<PathBuf> {
    match locate(root, rel, required) {
        Ok(found) => found,
        Err(why) => panic!("{why}"),
    }
}

/// Where `rel` is below `root`: `Ok(Some)` when it exists, `Ok(None)` (with a note on stderr)
/// when it is absent and not required, `Err` saying what is missing when it is required.
pub fn locate(root: &Path, rel: &str, required: bool) -> Result<Option<PathBuf>, String> {
    let p = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    if p.exists() {
        return Ok(Some(p));
    }
    if required {
        return Err(format!(
            "corpus test cannot run: {} is absent and {REQUIRE_VAR}=1 requires the corpus \
             (put the shared corpus at {}, or point {DIR_VAR} at it)",
            p.display(),
            root.display()
        ));
    }
    eprintln!(
        "note: {} is absent; corpus test skipped (set {REQUIRE_VAR}=1 to make this a failure)",
        p.display()
    );
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> PathBuf {
        std::env::temp_dir().join("rdsdiag-no-such-corpus-7f3a")
    }

    #[test]
    fn absent_and_required_is_an_error_naming_the_path() {
        let e = locate(&missing(), "captures/X", true).unwrap_err();
        assert!(e.contains("rdsdiag-no-such-corpus-7f3a"), "{e}");
        assert!(e.contains("RDSDIAG_REQUIRE_CORPUS=1"), "{e}");
    }

    #[test]
    #[should_panic(expected = "RDSDIAG_REQUIRE_CORPUS=1 requires the corpus")]
    fn absent_and_required_fails_the_test() {
        path_in(&missing(), "regipy", true);
    }

    #[test]
    fn absent_and_not_required_is_skipped() {
        assert_eq!(locate(&missing(), "regipy", false), Ok(None));
    }

    #[test]
    fn present_is_found_whether_required_or_not() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        for required in [false, true] {
            assert_eq!(locate(here, "src", required), Ok(Some(here.join("src"))));
            assert_eq!(locate(here, "", required), Ok(Some(here.to_path_buf())));
        }
    }
}
