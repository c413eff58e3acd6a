//! docs/scale-out.md's GNU parallel recipe, run as written: the shards it produces merge to the
//! same output as one `rdsdiag batch` run. Skipped (with a note) where GNU parallel is missing;
//! `.ci/run` installs it.

use std::path::Path;
use std::process::Command;

use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{Machine, Os};

/// The shell block that follows the `tested: gnu-parallel` marker.
fn recipe() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scale-out.md"))
            .expect("doc");
    let after = doc.split("tested: gnu-parallel").nth(1).expect("marker");
    let block = after.split("```sh\n").nth(1).expect("block");
    block.split("```").next().expect("end").to_string()
}

#[test]
fn gnu_parallel_recipe_merges_to_a_single_run() {
    let has_parallel = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_parallel {
        eprintln!("note: GNU parallel not installed; recipe not run (.ci/run installs it)");
        return;
    }
    let cases = tempfile::tempdir().expect("tempdir");
    for (i, name) in ["RDSH01", "RDSH02", "RDSH03", "RDSH04", "RDSH05"]
        .iter()
        .enumerate()
    {
        Machine::session_host(name, Os::Server2019, Some("contoso.local"))
            .policy("LicensingMode", Data::Dword(if i % 2 == 0 { 4 } else { 2 }))
            .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()))
            .write_kape(&cases.path().join(name))
            .expect("write");
    }
    Machine::license_server("LS01", Os::Server2016, Some("contoso.local"))
        .write_kape(&cases.path().join("LS01"))
        .expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("rdsdiag");
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = tempfile::tempdir().expect("home");
    // GNU parallel asks once for a citation; a `will-cite` file in its home folder says it is known.
    std::fs::create_dir_all(home.path().join(".parallel")).expect("mkdir");
    std::fs::write(home.path().join(".parallel/will-cite"), "").expect("will-cite");
    let status = Command::new("bash")
        .arg("-euc")
        .arg(recipe())
        .env("PATH", path)
        .env("HOME", home.path())
        .env("ROOT", cases.path())
        .env("OUT", out.path())
        .env("N", "3")
        .status()
        .expect("bash runs");
    assert!(status.success(), "the recipe runs");
    let merged = std::fs::read_to_string(out.path().join("fleet.jsonl")).expect("fleet.jsonl");
    let single = Command::new(&bin)
        .arg("batch")
        .arg(cases.path())
        .output()
        .expect("runs")
        .stdout;
    assert_eq!(merged, String::from_utf8_lossy(&single));
    assert!(
        merged.contains("RDS-LIC-VERSION-MISMATCH"),
        "the LS01 2016 / hosts 2019 pair is found across shards"
    );
    let shards = std::fs::read_dir(out.path()).expect("out").count();
    assert_eq!(shards, 4, "three shards and the merged file");
}
