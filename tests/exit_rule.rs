//! The one exit rule: every command, in every format, over the same capture, ends with the same
//! exit code; damaged evidence is never a clean exit; `--time-limit` is honoured by every command
//! that reads evidence.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rdsdiag_testsupport::evtx::{chunk_count, corrupt_chunk_data_crc};
use rdsdiag_testsupport::hive::{fix_checksum, set_sequence};
use rdsdiag_testsupport::lic_scenarios::healthy_host;

const KEY: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";

/// Every command that reads a capture, with every output format it has.
fn invocations(capture: &Path, batch_root: &Path) -> Vec<Vec<String>> {
    let c = capture.display().to_string();
    let root = batch_root.display().to_string();
    let mut runs = Vec::new();
    let mut add = |args: &[&str]| runs.push(args.iter().map(|s| s.to_string()).collect());
    for f in ["text", "json", "markdown", "jsonl", "html"] {
        add(&["analyze", "--format", f, &c]);
    }
    for f in ["text", "jsonl"] {
        add(&["events", "--format", f, &c]);
    }
    for f in ["text", "json"] {
        add(&["config", "--format", f, &c]);
        add(&["reg", "--format", f, &c, KEY]);
    }
    for f in ["text", "jsonl", "timesketch", "html"] {
        add(&["timeline", "--format", f, &c]);
    }
    for f in ["jsonl", "text"] {
        add(&["batch", "--format", f, &root]);
    }
    runs
}

fn code(args: &[String]) -> i32 {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    out.status.code().expect("exit code")
}

/// A healthy session host (no finding, no disconnect pattern) written as a KAPE capture inside
/// its own batch root.
fn healthy_capture(dir: &Path) -> PathBuf {
    healthy_host(4)
        .write_kape(&dir.join("batch").join("RDSH01"))
        .expect("write capture")
}

fn evtx_files(capture: &Path) -> Vec<PathBuf> {
    let logs = capture.join("C/Windows/System32/winevt/Logs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(logs)
        .expect("logs")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

/// Damage one chunk of every event log (a bad data checksum: records kept, marked unverified)
/// and make the SYSTEM hive dirty with no transaction log (values may be stale).
fn damage(capture: &Path) {
    for f in evtx_files(capture) {
        let mut bytes = std::fs::read(&f).expect("read");
        assert!(chunk_count(&bytes) >= 1);
        corrupt_chunk_data_crc(&mut bytes, 0);
        std::fs::write(&f, bytes).expect("write");
    }
    let system = capture.join("C/Windows/System32/config/SYSTEM");
    let mut hive = std::fs::read(&system).expect("read");
    set_sequence(&mut hive, 7, 6);
    fix_checksum(&mut hive);
    std::fs::write(&system, hive).expect("write");
}

#[test]
fn a_damaged_capture_exits_1_with_every_command_and_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = healthy_capture(dir.path());
    damage(&capture);
    for args in invocations(&capture, &dir.path().join("batch")) {
        assert_eq!(code(&args), 1, "rdsdiag {}", args.join(" "));
    }
}

#[test]
fn the_exit_code_does_not_depend_on_the_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = healthy_capture(dir.path());
    let runs = invocations(&capture, &dir.path().join("batch"));
    let mut by_command: std::collections::BTreeMap<String, Vec<(i32, String)>> = Default::default();
    for args in &runs {
        by_command
            .entry(args[0].clone())
            .or_default()
            .push((code(args), args.join(" ")));
    }
    for (command, codes) in &by_command {
        assert!(
            codes.iter().all(|(c, _)| *c == codes[0].0),
            "{command}: {codes:?}"
        );
    }
    // A healthy capture: the readers find nothing wrong.
    for command in ["events", "config", "reg"] {
        assert_eq!(by_command[command][0].0, 0, "{command}");
    }
}

#[test]
fn a_missing_capture_exits_2_with_every_command_and_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-capture");
    for args in invocations(&missing, &missing) {
        assert_eq!(code(&args), 2, "rdsdiag {}", args.join(" "));
    }
}

#[test]
fn every_evidence_reading_command_honours_the_time_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = healthy_capture(dir.path());
    let c = capture.display().to_string();
    let root = dir.path().join("batch").display().to_string();
    // A limit that has passed before the first chunk: the event-log readers stop at once, say so,
    // and the run is not clean.
    let tiny = "0.000000001";
    for args in [
        vec!["analyze", "--format", "json", "--time-limit", tiny, &c],
        vec!["batch", "--time-limit", tiny, &root],
    ] {
        let out = Command::cargo_bin("rdsdiag")
            .expect("binary")
            .args(&args)
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("evtx-time-limit"), "{args:?}");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    for args in [
        vec!["events", "--time-limit", tiny, &c],
        vec!["timeline", "--time-limit", tiny, &c],
    ] {
        let out = Command::cargo_bin("rdsdiag")
            .expect("binary")
            .args(&args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    }
    let events = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(["events", "--time-limit", tiny, &c])
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&events.stderr).contains("evtx-time-limit"),
        "events names the time limit on stderr"
    );
    // The registry readers are bounded by the file; with the same limit they answer in full.
    for args in [
        vec!["config", "--time-limit", tiny, &c],
        vec!["reg", "--time-limit", tiny, &c, KEY],
    ] {
        assert_eq!(
            code(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            0,
            "{args:?}"
        );
    }
    // Without a limit the same capture is clean for the event readers.
    assert_eq!(code(&["events".into(), c.clone()]), 0);
}
