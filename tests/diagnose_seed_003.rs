//! Seed 003 end to end ("Remote desktop client disconnects and cannot reconnect to the same
//! session"): a whole session-host bundle whose users lose their connection, get a new session
//! while the old one stays active, and no keep-alive is configured. Read as a KAPE folder, an
//! MSRD-Collect folder and a zip (the last through the real binary), the diagnosis is
//! RDS-CONN-NO-KEEPALIVE and nothing about licensing. Variants pin the edges: keep-alive enabled
//! (no finding) and the SOFTWARE hive missing (undecided, not a guess).

use std::path::Path;

use assert_cmd::Command;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{lsm_39, lsm_40, lsm_session, Machine, Os};
use serde_json::Value;

const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const ID: &str = "RDS-CONN-NO-KEEPALIVE";

/// The seed's session host: licensing healthy (Per User, a license server, its certificate),
/// keep-alive not configured. alice and carol each lose a connection and land in a new session
/// while the old one stays active; dave disconnects and reconnects normally.
fn seed_003() -> Machine {
    let alice = r"CONTOSO\alice";
    let carol = r"CONTOSO\carol";
    let dave = r"CONTOSO\dave";
    Machine::session_host("RDSH03", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .log(
            LSM_FILE,
            vec![
                // dave: a normal disconnect and reconnect to the same session.
                lsm_session(21, "2024-05-06T07:50:00Z", 2, dave, "10.1.0.20"),
                lsm_session(22, "2024-05-06T07:50:04Z", 2, dave, "10.1.0.20"),
                lsm_39("2024-05-06T08:10:00Z", 2, 2),
                lsm_40("2024-05-06T08:10:00.1Z", 2, 11),
                lsm_session(24, "2024-05-06T08:10:00.2Z", 2, dave, "10.1.0.20"),
                lsm_session(25, "2024-05-06T08:40:00Z", 2, dave, "10.1.0.20"),
                // alice: her laptop drops off the network; session 3 stays active.
                lsm_session(21, "2024-05-06T08:00:00Z", 3, alice, "10.1.0.31"),
                lsm_session(22, "2024-05-06T08:00:05Z", 3, alice, "10.1.0.31"),
                lsm_session(21, "2024-05-06T09:15:00Z", 5, alice, "10.1.0.31"),
                lsm_session(22, "2024-05-06T09:15:06Z", 5, alice, "10.1.0.31"),
                // carol: the same, and her old session 4 is never disconnected.
                lsm_session(21, "2024-05-06T08:05:00Z", 4, carol, "10.1.0.44"),
                lsm_session(22, "2024-05-06T08:05:03Z", 4, carol, "10.1.0.44"),
                lsm_session(21, "2024-05-06T10:02:00Z", 6, carol, "10.1.0.44"),
                lsm_session(22, "2024-05-06T10:02:05Z", 6, carol, "10.1.0.44"),
                // Much later alice's orphaned session 3 is taken over.
                lsm_39("2024-05-06T11:00:00Z", 3, 5),
                lsm_40("2024-05-06T11:00:00.2Z", 3, 5),
                lsm_session(24, "2024-05-06T11:00:00.4Z", 3, alice, "10.1.0.31"),
            ],
        )
        .rds_running("2024-05-06T07:00:00Z")
}

fn kape(m: &Machine, dir: &Path) -> CaptureReport {
    let root = m.write_kape(&dir.join(&m.name)).expect("write KAPE");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn ids(r: &CaptureReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id).collect()
}

/// What every form of the bundle must show.
fn assert_seed_diagnosis(r: &CaptureReport, form: &str) {
    let found: Vec<_> = r.findings.iter().filter(|f| f.id == ID).collect();
    assert_eq!(
        found.len(),
        1,
        "{form}: findings {:?}; undecided {:?}",
        ids(r),
        r.undecided
    );
    assert!(
        r.findings.iter().all(|f| !f.id.starts_with("RDS-LIC-")),
        "{form}: no licensing finding on a host whose licensing is healthy: {:?}",
        ids(r)
    );
    let f = found[0];
    for needle in [
        "RDSH03",
        "not configured",
        "2 time(s)",
        r"CONTOSO\alice got session 5 at 2024-05-06T09:15:00Z while session 3",
        "from 10.1.0.31",
        "reason 5",
        r"CONTOSO\carol got session 6 at 2024-05-06T10:02:00Z while session 4",
        "never disconnected",
    ] {
        assert!(
            f.explanation.contains(needle),
            "{form}: {needle:?} not in {}",
            f.explanation
        );
    }
    assert!(
        !f.explanation.contains("dave"),
        "{form}: dave reconnected normally"
    );
    // Evidence: the keep-alive setting, and LSM events with file, record id and time.
    let json = serde_json::to_value(f).expect("serialise");
    let ev = json["evidence"].as_array().expect("evidence");
    assert!(ev.iter().any(|e| e["kind"] == "registry"
        && e["fact"]
            .as_str()
            .unwrap_or("")
            .starts_with("KeepAliveEnable not set")));
    let lsm: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "event").collect();
    assert!(lsm.len() >= 6, "{form}: {lsm:?}");
    for e in &lsm {
        assert!(
            e["file"]
                .as_str()
                .unwrap_or("")
                .contains("LocalSessionManager"),
            "{form}: {e}"
        );
        assert!(e["record_id"].as_u64().unwrap_or(0) > 0);
        assert!(e["time"].as_str().unwrap_or("").starts_with("2024-05-06T"));
    }
}

#[test]
fn kape_folder() {
    let dir = tempfile::tempdir().unwrap();
    assert_seed_diagnosis(&kape(&seed_003(), dir.path()), "KAPE");
}

#[test]
fn msrd_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = seed_003().write_msrd(dir.path()).expect("write MSRD");
    let r = analyze_capture(&root, &AnalyzeOptions::default());
    assert_seed_diagnosis(&r, "MSRD");
    // The setting was read from the .reg export (the default: no provenance), the events from
    // the MSRD event-log folder.
    let f = r.findings.iter().find(|f| f.id == ID).unwrap();
    let json = serde_json::to_string(f).unwrap();
    assert!(json.contains("RDSH03_EventLogs"), "{json}");
}

#[test]
fn zip_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let zip = seed_003()
        .write_kape_zip(&dir.path().join("RDSH03.zip"))
        .expect("write zip");
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["analyze", "--format", "json"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings exit 1: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let findings = v["captures"][0]["findings"].as_array().expect("findings");
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(ids.contains(&ID), "{ids:?}");
    assert!(ids.iter().all(|i| !i.starts_with("RDS-LIC-")), "{ids:?}");
    let f = findings.iter().find(|f| f["id"] == ID).unwrap();
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["confidence"], "likely");
    assert!(f["remedy"].as_array().is_some_and(|r| !r.is_empty()));
    // The text report leads with it too.
    let text = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("analyze")
        .arg(&zip)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(ID), "{text}");
}

#[test]
fn keep_alive_enabled_is_not_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    let m = seed_003()
        .policy("KeepAliveEnable", Data::Dword(1))
        .policy("KeepAliveInterval", Data::Dword(1));
    let r = kape(&m, dir.path());
    assert!(!ids(&r).contains(&ID), "{:?}", ids(&r));
}

#[test]
fn software_hive_missing_is_undecided_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let r = kape(&seed_003().without_software(), dir.path());
    assert!(!ids(&r).contains(&ID), "{:?}", ids(&r));
    let u = r.undecided.iter().find(|u| u.id == ID).expect("undecided");
    assert!(
        u.missing.iter().any(|m| m.contains("SOFTWARE")),
        "{:?}",
        u.missing
    );
}

#[test]
fn the_healthy_sessions_alone_are_not_diagnosed() {
    // Only dave's normal disconnect/reconnect: no new session while an old one stayed active.
    let dir = tempfile::tempdir().unwrap();
    let mut m = seed_003();
    m.logs.retain(|(f, _)| f != LSM_FILE);
    let m = m.log(
        LSM_FILE,
        vec![
            lsm_session(21, "2024-05-06T07:50:00Z", 2, r"CONTOSO\dave", "10.1.0.20"),
            lsm_session(22, "2024-05-06T07:50:04Z", 2, r"CONTOSO\dave", "10.1.0.20"),
            lsm_40("2024-05-06T08:10:00.1Z", 2, 11),
            lsm_session(
                24,
                "2024-05-06T08:10:00.2Z",
                2,
                r"CONTOSO\dave",
                "10.1.0.20",
            ),
            lsm_session(25, "2024-05-06T08:40:00Z", 2, r"CONTOSO\dave", "10.1.0.20"),
        ],
    );
    let r = kape(&m, dir.path());
    assert!(r.findings.is_empty(), "{:?}", ids(&r));
}
