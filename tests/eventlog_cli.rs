//! `rdsdiag events` end to end: filters, formats, exit codes, on the corpus capture and on a
//! generated damaged log.

use assert_cmd::Command;
use rdsdiag_testsupport::corpus;
use rdsdiag_testsupport::evtx::{self as w, Ev, EvtxBuilder};

const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";

fn capture() -> Option<std::path::PathBuf> {
    corpus::path("captures/CITADEL-DC01")
}

#[test]
fn events_by_id_as_text_and_jsonl() {
    let Some(cap) = capture() else {
        return;
    };
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("events")
        .arg(&cap)
        .args(["--id", "40"])
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(text
        .lines()
        .all(|l| l.contains(" 40 ") && l.contains("Reason=")));

    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("events")
        .arg(&cap)
        .args([
            "--provider",
            "RemoteConnectionManager",
            "--id",
            "1149",
            "--format",
            "jsonl",
        ])
        .args(["--since", "2020-09-19T03:00:00Z", "--until", "2020-09-20"])
        .assert()
        .code(0);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for l in &lines {
        assert_eq!(l["event_id"], 1149);
        assert!(l["fields"]["Param1"].is_string());
        assert!(l["time"].as_str().unwrap().starts_with("2020-09-19T03:"));
    }
}

#[test]
fn bad_time_is_a_usage_error() {
    let Some(cap) = capture() else {
        return;
    };
    Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("events")
        .arg(&cap)
        .args(["--since", "last week"])
        .assert()
        .code(2);
}

#[test]
fn damaged_log_reports_problems_on_stderr_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let evs = (0..150).map(|i| {
        Ev::new(LSM, 40)
            .channel("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational")
            .user_data(
                "EventXML",
                &[
                    ("Session", "2"),
                    ("Reason", if i == 0 { "258" } else { "0" }),
                ],
            )
    });
    let mut bytes = EvtxBuilder::new()
        .events(evs)
        .max_records_per_chunk(100)
        .build();
    w::corrupt_chunk_data_crc(&mut bytes, 0);
    let p = dir.path().join("lsm.evtx");
    std::fs::write(&p, bytes).unwrap();
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("events")
        .arg(&p)
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 150);
    assert!(stdout.lines().next().unwrap().contains("Reason=258") && stdout.contains("UNVERIFIED"));
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("evtx-chunk-bad-checksum"), "{stderr}");
}

#[test]
fn events_from_a_zipped_capture() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let evs = (0..20).map(|i| {
        Ev::new(LSM, if i % 2 == 0 { 21 } else { 23 })
            .channel("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational")
            .user_data("EventXML", &[("User", "CORP\\bob"), ("SessionID", "3")])
    });
    let bytes = EvtxBuilder::new().events(evs).build();
    let zpath = dir.path().join("bundle.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
    z.start_file::<_, ()>(
        "Logs/Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.write_all(&bytes).unwrap();
    z.finish().unwrap();
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("events")
        .arg(&zpath)
        .args(["--id", "23", "--format", "jsonl"])
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 10);
    assert!(stdout.contains("\"file\":\"Logs/Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx\""));
    // Nothing written next to the evidence.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
