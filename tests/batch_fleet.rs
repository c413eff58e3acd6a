//! Batch and fleet through the real binary: cross-capture correlation on a generated farm (session
//! hosts and their license server), shards merged to byte-identical summaries, and isolation of
//! corrupt, empty, unreadable and hostile captures.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{lsm_40, termdd_56, Machine, Os};

fn rdsdiag() -> Command {
    Command::cargo_bin("rdsdiag").expect("binary")
}

fn host(name: &str, os: Os, domain: Option<&str>, servers: &str) -> Machine {
    Machine::session_host(name, os, domain)
        .server_manager_licensing(4, &[])
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz(servers.into()))
}

/// A farm: three session hosts and the license server LS01 (Windows Server 2016, contoso.local).
/// RDSH03 is in a workgroup; RDSH02 also names LS02, which is not in the batch.
fn farm(dir: &Path, ls_os: Os) {
    host(
        "RDSH01",
        Os::Server2022,
        Some("contoso.local"),
        "LS01.contoso.local",
    )
    .write_kape(&dir.join("RDSH01"))
    .expect("write");
    host(
        "RDSH02",
        Os::Server2016,
        Some("contoso.local"),
        "LS01, LS02.contoso.local",
    )
    .write_kape(&dir.join("RDSH02"))
    .expect("write");
    host("RDSH03", Os::Server2016, None, "ls01.contoso.local")
        .write_kape_zip(&dir.join("RDSH03.zip"))
        .expect("write");
    Machine::license_server("LS01", ls_os, Some("contoso.local"))
        .write_msrd(&dir.join("customer-a"))
        .expect("write");
}

fn batch(args: &[&str]) -> (Vec<Value>, Value, i32) {
    let out = rdsdiag().arg("batch").args(args).output().expect("runs");
    let (lines, summary) = batch_lines(out.stdout);
    (lines, summary, out.status.code().expect("code"))
}

/// Batch JSONL output: the capture lines and the summary line.
fn batch_lines(stdout: Vec<u8>) -> (Vec<Value>, Value) {
    let text = String::from_utf8(stdout).expect("utf8");
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let summary = lines.pop().expect("summary line");
    assert_eq!(summary["record"], "fleet_summary");
    (lines, summary)
}

fn cross<'a>(summary: &'a Value, id: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = summary["cross_findings"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["id"] == id)
        .map(|c| c["computer"].as_str().expect("computer"))
        .collect();
    v.sort();
    v
}

#[test]
fn farm_correlation_names_cross_domain_and_version_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    farm(dir.path(), Os::Server2016);
    let (lines, summary, _) = batch(&[dir.path().to_str().expect("utf8")]);
    assert_eq!(
        lines.len(),
        4,
        "three hosts and the license server, one line each"
    );
    assert!(lines
        .iter()
        .all(|l| l["record"] == "capture" && l["status"] == "analysed"));
    // Every line is the same object `analyze --format json` has per capture.
    assert!(lines
        .iter()
        .all(|l| l["host"]["computer_name"]["value"].is_string() && l["inputs"].is_array()));
    assert_eq!(
        cross(&summary, "RDS-LIC-VERSION-MISMATCH"),
        vec!["RDSH01"],
        "only the 2022 host is newer than LS01 (2016)"
    );
    assert_eq!(
        cross(&summary, "RDS-LIC-CROSS-DOMAIN"),
        vec!["RDSH03"],
        "the workgroup host"
    );
    assert_eq!(
        summary["servers_not_in_batch"],
        serde_json::json!(["ls02.contoso.local"])
    );
    let ls01 = summary["license_servers"]
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["server"] == "ls01")
        .expect("ls01 listed");
    assert!(ls01["capture"]
        .as_str()
        .expect("matched")
        .ends_with("MSRD-Results-LS01"));
    assert_eq!(summary["licensing_modes"]["per_user"], 3);
}

#[test]
fn farm_with_a_current_license_server_has_no_version_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    farm(dir.path(), Os::Server2022);
    let (_, summary, _) = batch(&[dir.path().to_str().expect("utf8")]);
    assert!(cross(&summary, "RDS-LIC-VERSION-MISMATCH").is_empty());
    assert_eq!(cross(&summary, "RDS-LIC-CROSS-DOMAIN"), vec!["RDSH03"]);
}

#[test]
fn shards_merge_to_the_same_summary_as_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    farm(dir.path(), Os::Server2016);
    Machine::session_host("RDSH04", Os::Server2019, Some("contoso.local"))
        .write_kape(&dir.path().join("more/RDSH04"))
        .expect("write");
    let root = dir.path().to_str().expect("utf8");
    let whole = rdsdiag()
        .args(["batch", root])
        .output()
        .expect("runs")
        .stdout;
    let out = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for k in 1..=3 {
        let shard = rdsdiag()
            .args(["batch", root, "--shard", &format!("{k}/3")])
            .output()
            .expect("runs")
            .stdout;
        let f = out.path().join(format!("shard{k}.jsonl"));
        std::fs::write(&f, shard).expect("write shard");
        files.push(f);
    }
    files.reverse();
    let merged = rdsdiag()
        .arg("merge")
        .args(&files)
        .output()
        .expect("runs")
        .stdout;
    assert_eq!(
        String::from_utf8_lossy(&merged),
        String::from_utf8_lossy(&whole),
        "merge of shards is byte-identical to one run"
    );
}

#[test]
fn bad_captures_are_reported_and_good_ones_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    Machine::session_host("GOOD1", Os::Server2019, Some("contoso.local"))
        .write_kape(&root.join("GOOD1"))
        .expect("write");
    Machine::session_host("GOOD2", Os::Server2019, Some("contoso.local"))
        .write_kape_zip(&root.join("GOOD2.zip"))
        .expect("write");
    std::fs::write(
        root.join("corrupt.zip"),
        b"PK\x03\x04 this is not really a zip",
    )
    .expect("write");
    std::fs::create_dir(root.join("empty")).expect("mkdir");
    let mut slip =
        zip::ZipWriter::new(std::fs::File::create(root.join("slip.zip")).expect("create"));
    slip.start_file("../../evil.evtx", zip::write::SimpleFileOptions::default())
        .expect("entry");
    slip.write_all(b"ElfFile\0").expect("write");
    slip.finish().expect("finish");
    let mut bomb =
        zip::ZipWriter::new(std::fs::File::create(root.join("bomb.zip")).expect("create"));
    bomb.start_file(
        "System.evtx",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )
    .expect("entry");
    bomb.write_all(&vec![0u8; 16 << 20]).expect("write");
    bomb.finish().expect("finish");
    // Permission denied: a folder nobody may read, and a capture one of whose hives nobody may
    // read. Root reads everything, so as root the binary runs as `nobody` (setpriv).
    let locked = root.join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    set_mode(&locked, 0o000);
    Machine::session_host("PARTLY", Os::Server2019, Some("contoso.local"))
        .write_kape(&root.join("PARTLY"))
        .expect("write");
    let hive = root.join("PARTLY/C/Windows/System32/config/SOFTWARE");
    set_mode(&hive, 0o000);
    // A FIFO: opening it would block for ever. One inside a good capture, one as a whole capture.
    let fifos = mkfifo(&root.join("GOOD1/pipe")) && mkfifo(&root.join("fifo-only/pipe"));

    let (lines, summary, code, unprivileged) =
        batch_unprivileged(root, &["--max-zip-ratio", "100"]);
    set_mode(&locked, 0o755);
    set_mode(&hive, 0o644);
    assert_eq!(code, 2, "some captures failed");
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l["path"].as_str().expect("path").ends_with(name))
            .unwrap_or_else(|| panic!("{name} has a line"))
    };
    let status = |name: &str| {
        let l = line(name);
        (
            l["status"].as_str().expect("status").to_string(),
            l["error"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(status("GOOD1").0, "analysed");
    assert_eq!(status("GOOD2.zip").0, "analysed");
    for (name, why) in [
        ("corrupt.zip", "zip"),
        ("empty", "no evidence found"),
        ("slip.zip", "outside the archive"),
        ("bomb.zip", "zip bomb"),
    ] {
        let (st, err) = status(name);
        assert_eq!(st, "failed", "{name}");
        assert!(err.contains(why), "{name}: {err}");
    }
    let (st, err) = status("locked");
    assert_eq!(st, "failed");
    let input = |capture: &str, file: &str| -> Value {
        line(capture)["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .find(|i| i["path"].as_str().is_some_and(|p| p.ends_with(file)))
            .cloned()
            .unwrap_or_else(|| panic!("{capture} lists {file}"))
    };
    if unprivileged {
        assert!(err.contains("Permission denied"), "{err}");
        // The capture with an unreadable hive is analysed; the hive is listed as rejected.
        assert_eq!(status("PARTLY").0, "analysed");
        let h = input("PARTLY", "config/SOFTWARE");
        assert_eq!(h["status"], "rejected", "{h}");
        assert!(h.to_string().contains("Permission denied"), "{h}");
    } else {
        eprintln!("note: running as root without setpriv: permission denial is not exercised");
    }
    let mut failed_expected = 5;
    if fifos {
        let p = input("GOOD1", "pipe");
        assert_eq!(p["status"], "ignored");
        assert!(p.to_string().contains("FIFO"), "{p}");
        assert_eq!(status("fifo-only").0, "failed");
        failed_expected += 1;
    }
    let failed: Vec<&str> = summary["failed"]
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["path"].as_str().expect("p"))
        .collect();
    assert_eq!(failed.len(), failed_expected, "{failed:?}");
    assert_eq!(summary["analysed"], 3);
}

/// `mkfifo path`; false where there is no mkfifo.
fn mkfifo(path: &Path) -> bool {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Run `batch <root> args…` as an unprivileged user: as root, through `setpriv` as `nobody`
/// (with a copy of the binary and the tree opened to others), so file permissions apply. The
/// last value says whether permissions applied (not root, or setpriv worked).
fn batch_unprivileged(root: &Path, args: &[&str]) -> (Vec<Value>, Value, i32, bool) {
    let root_str = root.to_str().expect("utf8");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        let (l, s, c) = batch(&[&[root_str], args].concat());
        return (l, s, c, true);
    }
    let bin = root.join("rdsdiag-bin");
    std::fs::copy(assert_cmd::cargo::cargo_bin("rdsdiag"), &bin).expect("copy binary");
    set_mode(&bin, 0o755);
    set_mode(root, 0o755);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .arg("batch")
        .arg(root)
        .args(args)
        .output();
    let _ = std::fs::remove_file(&bin);
    match out {
        Ok(o) if o.status.code().is_some_and(|c| c <= 2) && !o.stdout.is_empty() => {
            let code = o.status.code().expect("code");
            let (lines, summary) = batch_lines(o.stdout);
            (lines, summary, code, true)
        }
        _ => {
            let (l, s, c) = batch(&[&[root_str], args].concat());
            (l, s, c, false)
        }
    }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[test]
fn fleet_rules_are_documented() {
    for meta in rdsdiag::batch::FLEET_RULES {
        let doc = rdsdiag::diagnose::RuleDoc::parse(meta.doc).expect("page parses");
        assert_eq!(doc.id, meta.id);
        assert!(!doc.remedy_steps().is_empty() && !doc.links().is_empty());
    }
    let out = rdsdiag()
        .args(["explain", "RDS-LIC-VERSION-MISMATCH"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("## Remedy"));
}

#[test]
fn digest_of_a_report_equals_digest_of_its_line() {
    // The batch run digests the JSON form of the report parts a digest reads (not the whole
    // line); merge digests parsed lines. Both must agree, on analysed and on failed captures.
    let tmp = tempfile::tempdir().expect("tmp");
    farm(tmp.path(), Os::Server2016);
    std::fs::create_dir(tmp.path().join("empty")).expect("mkdir");
    let opts = rdsdiag::pipeline::AnalyzeOptions::default();
    // The farm's captures, an empty folder among them, and the demo bundle.
    let mut paths =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/RDSH01-kape")];
    for e in std::fs::read_dir(tmp.path()).expect("dir").flatten() {
        paths.push(e.path());
    }
    let (mut analysed, mut with_findings, mut failed) = (0, 0, 0);
    for p in &paths {
        let report = rdsdiag::pipeline::analyze_capture(p, &opts);
        let text = rdsdiag::render::json::capture_line(&report).expect("serialises");
        let parsed: Value = serde_json::from_str(&text).expect("line is JSON");
        assert_eq!(parsed["record"], "capture");
        let d = rdsdiag::batch::Digest::of_report(&report);
        assert_eq!(
            d,
            rdsdiag::batch::Digest::from_value(&parsed),
            "{}",
            p.display()
        );
        match d.failed {
            None => {
                analysed += 1;
                assert!(d.computer.is_some(), "{}", p.display());
                with_findings += usize::from(!d.findings.is_empty());
            }
            Some(_) => failed += 1,
        }
    }
    assert!(
        analysed >= 3 && with_findings >= 1 && failed == 1,
        "{analysed} {with_findings} {failed}"
    );
}

#[test]
fn time_limit_stops_readers_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().expect("tmp");
    farm(tmp.path(), Os::Server2016);
    for name in ["LOGS1", "LOGS2"] {
        Machine::session_host(name, Os::Server2019, Some("contoso.local"))
            .log(
                "System.evtx",
                vec![termdd_56("2024-03-01T10:00:00.0000000Z", "203.0.113.7")],
            )
            .log(
                "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                vec![lsm_40("2024-03-01T10:00:01.0000000Z", 2, 0)],
            )
            .write_kape(&tmp.path().join(name))
            .expect("write");
    }
    let root = tmp.path().to_str().expect("utf8");
    // A limit that has passed before the first chunk: every log stops at once, every capture is
    // still analysed (hives, configuration, diagnosis) and says what it did not read.
    let (lines, summary, code) = batch(&[root, "--time-limit", "0.000001"]);
    assert_eq!(summary["failed"].as_array().map(Vec::len), Some(0));
    assert_eq!(summary["analysed"], 6);
    assert_eq!(code, 1, "problems, not failures");
    let mut stopped = 0;
    for l in &lines {
        assert_eq!(l["status"], "analysed");
        for i in l["inputs"].as_array().expect("inputs") {
            if i["kind"] == "evtx" {
                assert_eq!(i["status"], "partial", "{i}");
                assert!(i["evtx"]["chunks_not_read_time_limit"].as_u64() > Some(0));
                assert!(i.to_string().contains("evtx-time-limit"), "{i}");
                stopped += 1;
            }
        }
    }
    assert!(stopped >= 4, "{stopped}");
    // Without the limit (the default is generous) nothing stops.
    let (lines, _, _) = batch(&[root]);
    assert!(!lines
        .iter()
        .any(|l| l.to_string().contains("evtx-time-limit")));
}
