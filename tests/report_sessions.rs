//! `timeline.sessions[]` and `timeline.markers[]` of the analyze JSON on a generated host: the
//! host's own sessions only, each step with the record it rests on, disconnects with their decoded
//! reason, catalogue class and chart class; licensing and service events of the host (never of
//! another computer) as markers; the same bytes from the same evidence.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use rdsdiag_testsupport::scenario::{
    log_file_of, lsm_40, lsm_session, rcm_licensing, rcm_time_limit, scm_7036, scm_7040, Machine,
    Os, LSM_CHANNEL, RCM_ADMIN, RCM_OPERATIONAL,
};

const ALICE: &str = r"CONTOSO\alice";

fn at(day: u32, h: u32, m: u32) -> String {
    format!("2024-03-{day:02}T{h:02}:{m:02}:00.0000000Z")
}

/// Alice: day 4 a licensing disconnect (258), a reconnect, a logoff; day 5 an idle time limit
/// (reason 3); day 6 a disconnect by an administrator (1) and one by the user (11). Bob's session
/// on RDSH02 shares the log. A licensing and a service event of the host, one licensing event of
/// RDSH02.
fn capture(dir: &Path) -> std::path::PathBuf {
    let mut lsm = vec![
        lsm_session(21, &at(4, 8, 0), 2, ALICE, "10.0.0.21"),
        lsm_40(&at(4, 9, 0), 2, 258),
        lsm_session(24, &at(4, 9, 0), 2, ALICE, "10.0.0.21"),
        lsm_session(25, &at(4, 9, 5), 2, ALICE, "10.0.0.22"),
        lsm_session(23, &at(4, 9, 30), 2, ALICE, "10.0.0.22"),
        lsm_session(21, &at(5, 8, 0), 3, ALICE, "10.0.0.21"),
        lsm_40(&at(5, 9, 0), 3, 3),
        lsm_session(24, &at(5, 9, 0), 3, ALICE, "10.0.0.21"),
        lsm_session(21, &at(6, 8, 0), 4, ALICE, "10.0.0.21"),
        lsm_40(&at(6, 8, 30), 4, 1),
        lsm_session(24, &at(6, 8, 30), 4, ALICE, "10.0.0.21"),
        lsm_session(25, &at(6, 8, 40), 4, ALICE, "10.0.0.21"),
        lsm_40(&at(6, 9, 0), 4, 11),
        lsm_session(24, &at(6, 9, 0), 4, ALICE, "10.0.0.21"),
    ];
    lsm.push(lsm_session(21, &at(4, 10, 0), 7, r"CONTOSO\bob", "10.0.0.40").computer("RDSH02"));
    lsm.push(lsm_40(&at(4, 10, 5), 7, 258).computer("RDSH02"));
    Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
        .log(&log_file_of(LSM_CHANNEL), lsm)
        .log(
            &log_file_of(RCM_ADMIN),
            vec![
                rcm_licensing(&at(4, 8, 59), 1131, Some("LS01.contoso.local")),
                rcm_licensing(&at(4, 10, 4), 1131, Some("LS09.contoso.local")).computer("RDSH02"),
            ],
        )
        .log(
            &log_file_of(RCM_OPERATIONAL),
            vec![rcm_time_limit(&at(5, 9, 0), 20516, 3)],
        )
        .log(
            "System.evtx",
            vec![
                scm_7036(&at(4, 7, 0), "Remote Desktop Services", "running"),
                // Another service: not a marker.
                scm_7036(&at(4, 7, 1), "Windows Update", "running"),
                // The licensing service on a German host: found by its key name.
                scm_7040(
                    &at(5, 7, 0),
                    "Remotedesktoplizenzierung",
                    "Automatisch starten",
                    "Deaktiviert",
                    "TermServLicensing",
                ),
            ],
        )
        .write_kape(&dir.join("RDSH01"))
        .expect("write")
}

fn analyze_json(path: &Path) -> String {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .expect("runs");
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn sessions_and_markers_in_the_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = capture(dir.path());
    let text = analyze_json(&path);
    assert_eq!(
        text,
        analyze_json(&path),
        "the same evidence, the same JSON"
    );
    let v: Value = serde_json::from_str(&text).expect("json");
    let t = &v["captures"][0]["timeline"];
    let sessions = t["sessions"].as_array().expect("sessions");
    assert_eq!(
        sessions.len(),
        3,
        "alice's three sessions, not bob's on RDSH02: {sessions:#?}"
    );
    assert!(sessions.iter().all(|s| s["user"] == ALICE));
    let ids: Vec<&str> = sessions
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.dedup();
    assert_eq!(ids.len(), sorted.len(), "ids are unique");

    let lsm_file = |r: &Value| {
        r["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("LocalSessionManager%4Operational.evtx"))
            && r["record_id"].as_u64().is_some_and(|n| n > 0)
    };
    let first = &sessions[0];
    assert_eq!(first["session_id"], 2);
    assert_eq!(first["address"], "10.0.0.21");
    assert_eq!(
        first["addresses"],
        serde_json::json!(["10.0.0.21", "10.0.0.22"])
    );
    assert_eq!(first["state"], "logged-off");
    assert_eq!(first["logon"]["event_id"], 21);
    assert!(lsm_file(&first["logon"]));
    assert_eq!(first["logoff"]["event_id"], 23);
    assert_eq!(first["reconnects"][0]["event_id"], 25);
    let d = &first["disconnects"][0];
    assert_eq!(d["reason_code"], 258);
    assert_eq!(d["reason_class"], "licensing");
    assert_eq!(d["class"], "licensing");
    assert_eq!(d["licensing_reason"], true);
    assert!(d["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("258 (0x102)")));
    assert_eq!(
        d["evidence"][0]["event_id"], 40,
        "the record with the reason first"
    );
    assert!(lsm_file(&d["evidence"][0]));

    let second = &sessions[1];
    let d = &second["disconnects"][0];
    assert_eq!(d["reason_code"], 3);
    assert_eq!(d["class"], "time-limit");
    assert!(second["logoff"].is_null());

    let third = &sessions[2];
    let classes: Vec<&str> = third["disconnects"]
        .as_array()
        .expect("disconnects")
        .iter()
        .map(|d| d["class"].as_str().expect("class"))
        .collect();
    assert_eq!(classes, ["admin", "user"]);

    let markers = t["markers"].as_array().expect("markers");
    let kinds: Vec<(&str, u64)> = markers
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().expect("kind"),
                m["evidence"]["event_id"].as_u64().expect("id"),
            )
        })
        .collect();
    assert!(kinds.contains(&("service", 7036)), "{kinds:?}");
    assert!(
        kinds.contains(&("service", 7040)),
        "found by key: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| k.0 == "service").count(),
        2,
        "Windows Update is no marker: {markers:#?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == ("licensing", 1131)).count(),
        1,
        "the host's 1131, not RDSH02's: {markers:#?}"
    );
    assert!(markers
        .iter()
        .all(|m| !m["what"].as_str().unwrap_or("").contains("LS09")));
    let times: Vec<&str> = markers
        .iter()
        .map(|m| m["time"].as_str().expect("time"))
        .collect();
    let mut ordered = times.clone();
    ordered.sort();
    assert_eq!(times, ordered, "markers in time order");
}
