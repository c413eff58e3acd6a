//! One CLI snapshot per `analyze --format` on the demo bundle (a broken host), one on a healthy
//! generated host, and the failed-capture rendering: the renderers are pinned the same way.

use assert_cmd::Command;

use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{Machine, Os};

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "80")
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("runs");
    String::from_utf8(out.stdout).expect("utf8")
}

const DEMO: &str = "fixtures/demo/RDSH01-kape";

#[test]
fn demo_text() {
    // At 80 columns (run sets COLUMNS): every line fits, long paths wrap.
    let text = run(&["analyze", "--color", "never", DEMO]);
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn demo_markdown() {
    insta::assert_snapshot!(run(&["analyze", "--format", "markdown", DEMO]));
}

#[test]
fn demo_json() {
    insta::assert_snapshot!(run(&["analyze", "--format", "json", DEMO]));
}

#[test]
fn demo_jsonl_reuses_the_json_capture_object() {
    let jsonl = run(&["analyze", "--format", "jsonl", DEMO]);
    let json: serde_json::Value =
        serde_json::from_str(&run(&["analyze", "--format", "json", DEMO])).expect("json");
    let mut lines = jsonl.lines();
    let mut capture: serde_json::Value =
        serde_json::from_str(lines.next().expect("capture line")).expect("line");
    assert_eq!(capture["record"], "capture");
    capture.as_object_mut().expect("object").remove("record");
    assert_eq!(
        capture, json["captures"][0],
        "the JSONL capture line is the JSON capture object"
    );
    let summary: serde_json::Value =
        serde_json::from_str(lines.next().expect("summary")).expect("summary");
    assert_eq!(summary["record"], "fleet_summary");
    insta::assert_json_snapshot!(summary);
}

#[test]
fn healthy_host_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("RDSH09");
    Machine::session_host("RDSH09", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .policy("KeepAliveEnable", Data::Dword(1))
        .policy("KeepAliveInterval", Data::Dword(1))
        .with_ls_certificate()
        .write_kape(&path)
        .expect("write");
    let text = run(&["analyze", "--color", "never", path.to_str().expect("utf8")]);
    let text = text.replace(dir.path().to_str().expect("utf8"), "<tmp>");
    assert!(
        text.contains("No RDS licensing or connection problem was found"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn failed_capture_in_every_format() {
    for format in ["text", "markdown", "json"] {
        let out = Command::cargo_bin("rdsdiag")
            .expect("binary")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["analyze", "--color", "never", "--format", format])
            .arg("no/such/capture")
            .output()
            .expect("runs");
        let stdout = String::from_utf8(out.stdout).expect("utf8");
        let stderr = String::from_utf8(out.stderr).expect("utf8");
        assert!(stdout.contains("no/such/capture"), "{format}: {stdout}");
        // The error is shown once on stderr, with the hint that fits it.
        assert_eq!(
            stderr.matches("no such file or folder").count(),
            1,
            "{format}: {stderr}"
        );
        assert!(stderr.contains("check the path"), "{format}: {stderr}");
        assert!(!stderr.contains("hostile"), "{format}: {stderr}");
        if format == "text" {
            assert!(!stdout.contains("no such file or folder"), "{stdout}");
        } else {
            // Tickets and tools keep the reason with the capture.
            assert!(
                stdout.contains("no such file or folder"),
                "{format}: {stdout}"
            );
        }
        if format == "json" {
            // The kind is typed: tools (and the CLI's hints) never parse the wording.
            assert!(stdout.contains("\"error_kind\": \"not_found\""), "{stdout}");
        }
    }
}

#[test]
fn a_folder_without_evidence_fails_with_its_kind_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing to see").unwrap();
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(["analyze", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["captures"][0]["error_kind"], "no_evidence", "{json}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no evidence found"), "{stderr}");
    assert!(
        stderr.contains("give the folder that holds the hives"),
        "{stderr}"
    );
}
