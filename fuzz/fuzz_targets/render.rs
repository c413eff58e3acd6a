//! Fuzz target `render`: see `rdsdiag::fuzzing::render` and docs/reliability.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdsdiag::fuzzing::run("render", &common::scratch(), data);
});

mod common {
    /// One scratch folder per fuzzing process.
    pub fn scratch() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rdsdiag-fuzz-{}", std::process::id()))
    }
}
