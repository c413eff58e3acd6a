//! Integration tests of the walking skeleton: the real binary inventories real and generated
//! evidence (kinds, SHA-256, statuses, host identity) and refuses hostile archives without writing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rdsdiag_testsupport::corpus;
use serde_json::Value;

/// The corpus folder (skipped, or failed under `RDSDIAG_REQUIRE_CORPUS=1`, when absent).
fn corpus() -> Option<PathBuf> {
    corpus::path("MANIFEST.tsv")?;
    corpus::path("")
}

fn rdsdiag() -> Command {
    Command::cargo_bin("rdsdiag").expect("binary built")
}

fn analyze_json(args: &[&str]) -> (Value, i32) {
    let out = rdsdiag()
        .args(["analyze", "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let code = out.status.code().expect("exit code");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, code)
}

/// (relative path, bytes, sha256, kind) rows of the corpus manifest.
fn manifest(corpus: &Path) -> Vec<(String, u64, String, String)> {
    let text = fs::read_to_string(corpus.join("MANIFEST.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().expect("bytes"),
                f[2].to_string(),
                f[7].to_string(),
            )
        })
        .collect()
}

#[test]
fn corpus_inventory_matches_manifest() {
    let Some(corpus) = corpus() else { return };
    let (json, code) = analyze_json(&[corpus.to_str().expect("utf8 path")]);
    assert!(code == 0 || code == 1, "exit {code}");
    assert_eq!(json["schema_version"], 2);
    // The corpus folder holds several machines' evidence: one capture per folder, each saying
    // how it was split; every file is in one capture or listed as outside them all.
    let captures = json["captures"].as_array().expect("captures");
    assert!(captures.len() > 1, "the corpus is split into captures");
    let mut inputs: Vec<Value> = Vec::new();
    for capture in captures {
        assert_eq!(capture["status"], "analysed", "{}", capture["path"]);
        assert_eq!(capture["split"]["by"], "collector_root");
        let prefix = Path::new(capture["path"].as_str().expect("path"))
            .strip_prefix(&corpus)
            .expect("below the corpus")
            .to_string_lossy()
            .replace('\\', "/");
        assert_eq!(
            capture["input_summary"]["total"],
            capture["inputs"].as_array().expect("inputs").len()
        );
        for i in capture["inputs"].as_array().expect("inputs") {
            let mut i = i.clone();
            let full = if prefix.is_empty() {
                i["path"].as_str().expect("path").to_string()
            } else {
                format!("{prefix}/{}", i["path"].as_str().expect("path"))
            };
            i["path"] = Value::String(full);
            inputs.push(i);
        }
    }
    let outside = captures[0]["split"]["outside"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rows = manifest(&corpus);
    assert_eq!(rows.len(), 18);
    for (path, bytes, sha, kind) in rows {
        let input = inputs
            .iter()
            .find(|i| i["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} not inventoried"));
        assert_eq!(input["bytes"], bytes, "{path}");
        assert_eq!(input["sha256"], sha.as_str(), "{path}");
        let want_kind = match kind.as_str() {
            "evtx" => "evtx",
            "hive" => "hive",
            "hive-log" => "hive_log",
            other => panic!("unexpected manifest kind {other}"),
        };
        assert_eq!(input["kind"], want_kind, "{path}");
        assert_ne!(
            input["status"], "pending",
            "{path}: every input ends in a final status"
        );
    }
    // Files that belong to no capture (README, MANIFEST, FACTS) are listed as outside them.
    for doc in ["README.md", "MANIFEST.tsv", "FACTS.json"] {
        assert!(
            outside.iter().any(|o| o == doc),
            "{doc} accounted for: {outside:?}"
        );
    }
}

#[test]
fn hive_roles_come_from_content() {
    let Some(corpus) = corpus() else { return };
    let (json, _) = analyze_json(&[corpus.join("regipy").to_str().expect("utf8")]);
    let inputs = json["captures"][0]["inputs"]
        .as_array()
        .expect("inputs")
        .clone();
    let role = |name: &str| {
        inputs
            .iter()
            .find(|i| i["path"] == name)
            .map(|i| i["hive"].clone())
            .expect("listed")
    };
    // SYSTEM_2's name says nothing; its root key is CsiTool-CreateHive-{0…}: the role is from content.
    assert_eq!(role("SYSTEM_2"), "SYSTEM");
    assert_eq!(role("transactions_NTUSER.DAT"), "NTUSER");
}

#[test]
fn computer_name_from_system_hive_matches_facts() {
    let Some(corpus) = corpus() else { return };
    let facts: Value =
        serde_json::from_str(&fs::read_to_string(corpus.join("FACTS.json")).expect("facts"))
            .expect("json");
    let want = facts["files"]["regipy/SYSTEM_2"]["expected"]["facts"]["computer_name"]
        .as_str()
        .expect("computer name in FACTS");
    let (json, _) = analyze_json(&[corpus.join("regipy/SYSTEM_2").to_str().expect("utf8")]);
    let host = &json["captures"][0]["host"];
    assert_eq!(host["computer_name"]["state"], "found");
    assert_eq!(host["computer_name"]["value"], want);
    assert_eq!(host["control_set"]["value"], "ControlSet001");
    // Only a SYSTEM hive was given: OS facts are "not provided", not empty.
    assert_eq!(host["os"]["product_name"]["state"], "not_provided");
    assert_eq!(host["os"]["product_name"]["hive"], "SOFTWARE");
    // Dirty with no transaction logs: the inventory says values may be stale.
    let input = &json["captures"][0]["inputs"][0];
    let problems = input["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["message"].as_str().unwrap_or("").contains("stale")),
        "{problems:?}"
    );
}

fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let file = fs::File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, opts).expect("entry");
        zip.write_all(data).expect("write");
    }
    zip.finish().expect("finish");
}

fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(tree(&p));
        }
        out.push(p);
    }
    out.sort();
    out
}

#[test]
fn zip_slip_is_refused_and_nothing_is_written() {
    let outer = tempfile::tempdir().expect("tempdir");
    let inner = outer.path().join("case");
    fs::create_dir(&inner).expect("mkdir");
    let zip = inner.join("bundle.zip");
    write_zip(
        &zip,
        &[("ok/System.evtx", b"ElfFile\0"), ("../evil.txt", b"pwned")],
    );
    let before = tree(outer.path());
    let out = rdsdiag()
        .current_dir(&inner)
        .args(["analyze", "--color", "never"])
        .arg(&zip)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bundle.zip"), "names the file: {stderr}");
    assert!(stderr.contains("../evil.txt"), "names the entry: {stderr}");
    assert!(stderr.contains("outside the archive"), "{stderr}");
    assert_eq!(tree(outer.path()), before, "nothing written anywhere");
}

#[test]
fn absolute_entry_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("abs.zip");
    write_zip(&zip, &[("/etc/evil", b"x")]);
    let (json, code) = analyze_json(&[zip.to_str().expect("utf8")]);
    assert_eq!(code, 2);
    assert_eq!(json["captures"][0]["status"], "failed");
    assert!(json["captures"][0]["error"]
        .as_str()
        .expect("error")
        .contains("outside the archive"));
}

#[test]
fn zip_limits_refuse_bombs_and_floods() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = dir.path().join("bomb.zip");
    let zeros = vec![0u8; 8 << 20];
    write_zip(&bomb, &[("System.evtx", &zeros)]);
    let (json, code) = analyze_json(&["--max-zip-ratio", "100", bomb.to_str().expect("utf8")]);
    assert_eq!(code, 2);
    let err = json["captures"][0]["error"].as_str().expect("error");
    assert!(
        err.contains("zip bomb") && err.contains("System.evtx"),
        "{err}"
    );

    let flood = dir.path().join("flood.zip");
    write_zip(&flood, &[("a", b"1"), ("b", b"2"), ("c", b"3")]);
    let (json, code) = analyze_json(&["--max-zip-entries", "2", flood.to_str().expect("utf8")]);
    assert_eq!(code, 2);
    assert!(json["captures"][0]["error"]
        .as_str()
        .expect("error")
        .contains("3 entries"));

    let (json, code) = analyze_json(&["--max-zip-bytes", "1000", bomb.to_str().expect("utf8")]);
    assert_eq!(code, 2);
    assert!(json["captures"][0]["error"]
        .as_str()
        .expect("error")
        .contains("uncompressed"));
}

#[test]
fn zip_is_read_in_place_with_hashes_of_the_entries() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("kape.zip");
    let system = fs::read(corpus.join("regipy/SYSTEM_2")).expect("hive");
    let lsm_rel = "dfir-artifact-museum/RathbunVM_W11/Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
    let lsm = fs::read(corpus.join(lsm_rel)).expect("evtx");
    write_zip(
        &zip,
        &[
            ("C/Windows/System32/config/SYSTEM", &system),
            ("C/Windows/System32/winevt/Logs/LSM.evtx", &lsm),
            ("notes.txt", b"collected by hand"),
        ],
    );
    let before = tree(dir.path());
    let (json, _) = analyze_json(&[zip.to_str().expect("utf8")]);
    assert_eq!(tree(dir.path()), before, "nothing extracted");
    let c = &json["captures"][0];
    assert_eq!(c["layout"], "kape");
    assert_eq!(c["host"]["computer_name"]["value"], "SENSEI");
    let sha = |rel: &str| {
        manifest(&corpus)
            .into_iter()
            .find(|r| r.0 == rel)
            .map(|r| r.2)
            .expect("in manifest")
    };
    let inputs = c["inputs"].as_array().expect("inputs");
    let find = |p: &str| {
        inputs
            .iter()
            .find(|i| i["path"] == p)
            .expect("listed")
            .clone()
    };
    assert_eq!(
        find("C/Windows/System32/config/SYSTEM")["sha256"],
        sha("regipy/SYSTEM_2").as_str()
    );
    assert_eq!(find("C/Windows/System32/config/SYSTEM")["hive"], "SYSTEM");
    assert_eq!(
        find("C/Windows/System32/winevt/Logs/LSM.evtx")["sha256"],
        sha(lsm_rel).as_str()
    );
    assert_eq!(find("notes.txt")["status"], "ignored");
}

#[test]
fn missing_path_is_an_input_error_naming_the_file() {
    let out = rdsdiag()
        .args(["analyze", "--color", "never", "no/such/bundle"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no/such/bundle"), "{stderr}");
}

#[test]
fn a_bad_capture_does_not_stop_the_others() {
    let Some(corpus) = corpus() else { return };
    let (json, code) = analyze_json(&[
        "no/such/bundle",
        corpus.join("regipy/SYSTEM_2").to_str().expect("utf8"),
    ]);
    assert_eq!(code, 2, "an input error outranks findings");
    assert_eq!(json["captures"][0]["status"], "failed");
    assert_eq!(json["captures"][1]["status"], "analysed");
    assert_eq!(
        json["captures"][1]["host"]["computer_name"]["value"],
        "SENSEI"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    rdsdiag().args(["analyze"]).assert().code(2);
    rdsdiag().args(["--help"]).assert().code(0);
    rdsdiag()
        .args(["analyze", "--format", "yaml", "x"])
        .assert()
        .code(2);
}

#[test]
fn velociraptor_zip_and_msrd_folder_layouts() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("Collection-RDSH01-2024-03-05.zip");
    let system = fs::read(corpus.join("regipy/SYSTEM_2")).expect("hive");
    write_zip(
        &zip,
        &[
            ("client_info.json", b"{\"Hostname\": \"sensei\"}"),
            ("uploads.json", b"[]"),
            ("uploads/auto/C%3A/Windows/System32/config/SYSTEM", &system),
        ],
    );
    let (json, _) = analyze_json(&[zip.to_str().expect("utf8")]);
    let c = &json["captures"][0];
    assert_eq!(c["layout"], "velociraptor");
    assert_eq!(c["host"]["computer_name"]["value"], "SENSEI");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/MSRD-Results-RDSH01");
    let (json, _) = analyze_json(&[demo.to_str().expect("utf8")]);
    let c = &json["captures"][0];
    assert_eq!(c["layout"], "msrd_collect");
    assert_eq!(c["computer_hint"], "RDSH01");
    // Registry from UTF-16 .reg exports named .txt, recognised by content.
    let kinds: Vec<&str> = c["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "reg_export").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(c["host"]["computer_name"]["value"], "RDSH01");
    assert_eq!(c["host"]["os"]["build"]["value"], "17763");
}
