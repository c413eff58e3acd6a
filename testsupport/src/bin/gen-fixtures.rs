//! Regenerate the demo bundles under `fixtures/demo/` (the README's sample). Re-runnable: it
//! replaces `fixtures/demo/` and touches nothing else. The bundles are described in
//! `rdsdiag_testsupport::demo`; a test checks the committed files equal a fresh generation.
//!
//! `cargo run -p rdsdiag-testsupport --bin gen-fixtures`

use std::path::Path;

fn main() -> std::io::Result<()> {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
    if demo.exists() {
        std::fs::remove_dir_all(&demo)?;
    }
    rdsdiag_testsupport::demo::write_demo(&demo)?;
    println!("wrote {}", demo.display());
    Ok(())
}
