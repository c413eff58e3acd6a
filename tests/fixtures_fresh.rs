//! The committed demo bundles under `fixtures/demo/` are exactly what the generator writes, so
//! the README's sample never drifts from the code that describes it.

use std::collections::BTreeMap;
use std::path::Path;

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                go(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("below root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, root, &mut out);
    out
}

#[test]
fn committed_demo_equals_a_fresh_generation() {
    let fresh = tempfile::tempdir().expect("tempdir");
    rdsdiag_testsupport::demo::write_demo(fresh.path()).expect("generate");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let (a, b) = (files(&committed), files(fresh.path()));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "run `cargo run -p rdsdiag-testsupport --bin gen-fixtures`"
    );
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs from a fresh generation: run gen-fixtures"
        );
    }
}
