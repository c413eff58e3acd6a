//! `rdsdiag timeline` end to end: a generated KAPE-style capture (SYSTEM hive with the computer
//! name, real EVTX files) through the real binary, in each format, with time zones and exit
//! codes; and the real CITADEL-DC01 logs when the shared corpus is present.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rdsdiag_testsupport::corpus;
use rdsdiag_testsupport::scenario::{lsm_39, lsm_40, lsm_session, rcm_licensing, Machine, Os};

const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const RCM_ADMIN_FILE: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx";
const USER: &str = "CONTOSO\\alice";

fn rdsdiag() -> Command {
    Command::cargo_bin("rdsdiag").unwrap()
}

/// A session host whose user is cut off after ~60 minutes three times, with a licensing
/// warning, and one event from another computer.
fn soft_enforcement_capture(dir: &Path) -> PathBuf {
    let mut lsm = Vec::new();
    let starts = ["08:00:00", "09:02:00", "10:05:00"];
    let ends = ["09:00:05", "10:02:04", "11:04:30"];
    for (n, (s, e)) in starts.iter().zip(ends).enumerate() {
        let id = if n == 0 { 21 } else { 25 };
        lsm.push(lsm_session(
            id,
            &format!("2024-03-01T{s}Z"),
            2,
            USER,
            "10.0.0.5",
        ));
        let t = format!("2024-03-01T{e}Z");
        lsm.push(lsm_39(&t, 2, 2));
        lsm.push(lsm_40(&t, 2, 0));
        lsm.push(lsm_session(24, &t, 2, USER, "10.0.0.5"));
    }
    lsm.push(
        lsm_session(21, "2024-03-01T12:00:00Z", 7, "CONTOSO\\bob", "10.0.0.9")
            .computer("OTHERHOST"),
    );
    let m = Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
        .log(LSM_FILE, lsm)
        .log(
            RCM_ADMIN_FILE,
            vec![rcm_licensing("2024-03-01T07:59:00Z", 1130, None)],
        );
    m.write_kape(&dir.join("RDSH01")).unwrap()
}

fn quiet_capture(dir: &Path) -> PathBuf {
    let m = Machine::session_host("RDSH02", Os::Server2019, Some("contoso.local")).log(
        LSM_FILE,
        vec![
            lsm_session(21, "2024-03-01T08:00:00Z", 2, USER, "10.0.0.5"),
            lsm_session(23, "2024-03-01T08:30:00Z", 2, USER, ""),
        ],
    );
    m.write_kape(&dir.join("RDSH02")).unwrap()
}

#[test]
fn text_names_host_zone_sessions_and_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let cap = soft_enforcement_capture(dir.path());
    let out = rdsdiag().arg("timeline").arg(&cap).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a pattern was found");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Session timeline (times in UTC)\nHost: RDSH01"),
        "{text}"
    );
    assert!(text.contains("[hourly-disconnects]"), "{text}");
    assert!(
        text.contains(
            "CONTOSO\\alice: disconnected every 60 minutes (3 connected intervals of 55 min–65 min"
        ),
        "{text}"
    );
    assert!(text.contains("RCM 1130"), "{text}");
    // The event of another computer is marked.
    assert!(text.contains("LSM 21 logon !  user=CONTOSO\\bob"), "{text}");
    assert!(
        text.contains("flags: logoff-not-seen, foreign-computer"),
        "{text}"
    );
}

#[test]
fn formats_and_time_zones() {
    let dir = tempfile::tempdir().unwrap();
    let cap = soft_enforcement_capture(dir.path());
    let out = rdsdiag()
        .args(["timeline", "--format", "timesketch", "--tz", "+02:00"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ts = String::from_utf8(out.stdout).unwrap();
    let mut patterns = 0;
    for l in ts.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in ["message", "datetime", "timestamp_desc"] {
            assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {l}");
        }
        assert!(v["datetime"].as_str().unwrap().ends_with("+02:00"), "{l}");
        if v["data_type"] == "rdsdiag:timeline:pattern" {
            patterns += 1;
            assert_eq!(v["pattern"], "hourly-disconnects");
        }
    }
    assert_eq!(patterns, 1);
    let out = rdsdiag()
        .args(["timeline", "--format", "jsonl"])
        .arg(&cap)
        .output()
        .unwrap();
    let jsonl = String::from_utf8(out.stdout).unwrap();
    assert_eq!(jsonl.lines().count(), 3 * 4 + 1 + 1);
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["event_id"], 1130);
    assert_eq!(first["raw_event_id"], 50282);
    assert_eq!(first["time"], "2024-03-01T07:59:00.0000000Z");
    assert_eq!(first["role"], "licensing");
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = quiet_capture(dir.path());
    rdsdiag().arg("timeline").arg(&quiet).assert().code(0);
    rdsdiag()
        .args(["timeline", "--tz", "Nowhere/Land"])
        .arg(&quiet)
        .assert()
        .code(2);
    rdsdiag()
        .args(["timeline", "--licensing-window", "soon"])
        .arg(&quiet)
        .assert()
        .code(2);
    rdsdiag()
        .arg("timeline")
        .arg(dir.path().join("missing"))
        .assert()
        .code(2);
}

#[test]
fn citadel_corpus_through_the_binary() {
    let Some(cap) = corpus::path("captures/CITADEL-DC01") else {
        return;
    };
    let out = rdsdiag()
        .args(["timeline", "--format", "timesketch"])
        .arg(&cap)
        .output()
        .unwrap();
    let ts = String::from_utf8(out.stdout).unwrap();
    assert!(ts.lines().count() > 6000);
    for l in ts.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in ["message", "datetime", "timestamp_desc"] {
            assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {l}");
        }
    }
    let out = rdsdiag().arg("timeline").arg(&cap).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Sessions: 16  users: 2  logons: 13"),
        "{text}"
    );
}
