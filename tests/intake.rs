//! Evidence intake on generated evidence of the shapes real bundles take: a loose hive with its
//! transaction logs beside it, an empty `.LOG2`, a user's `Software` key exported as a hive, and
//! a host named only by its event records (renamed once, with another machine's records mixed in).

use std::path::Path;

use assert_cmd::Command;
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::host::NameRelation;
use rdsdiag::pipeline::{analyze_capture, Options};
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::scenario::{lsm_session, Machine, Os};

const TS: &str = r"ControlSet001\Control\Terminal Server";
const LSM_LOG: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";

/// One logon of alice, for captures whose timeline only needs an event.
fn one_logon() -> rdsdiag_testsupport::evtx::Ev {
    lsm_session(21, "2024-03-02T08:00:00Z", 2, "alice", "10.0.0.5")
}

fn rdsdiag(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `analyze --format json` of one path: exit code, the captures, stderr.
fn analyze_captures(path: &str) -> (i32, Vec<serde_json::Value>, String) {
    let (code, json, err) = rdsdiag(&["analyze", "--format", "json", path]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let caps = v["captures"].as_array().expect("captures").clone();
    (code, caps, err)
}

/// A SYSTEM hive whose primary file says fDenyTSConnections = 1 and whose transaction log brings
/// it up to 0.
fn dirty_system(dir: &Path, log_name: &str) -> std::path::PathBuf {
    let mut old = hive::system_tree(1);
    old.set(TS, "fDenyTSConnections", Data::Dword(1));
    for i in 0..20 {
        old.set(
            &format!(r"ControlSet001\Services\Svc{i:02}"),
            "Blob",
            Data::Binary(vec![i as u8; 300]),
        );
    }
    let mut new = old.clone();
    new.set(TS, "fDenyTSConnections", Data::Dword(0));
    let dirty = hive::dirty_with_new_logs(
        &hive::build_hive(&old),
        &hive::build_hive(&new),
        40,
        2,
        None,
    );
    let primary = dir.join("SYSTEM");
    std::fs::write(&primary, &dirty.primary).expect("write");
    std::fs::write(dir.join(log_name), &dirty.logs[0].1).expect("write");
    primary
}

#[test]
fn a_loose_hive_is_read_with_the_logs_beside_it() {
    for log_name in ["SYSTEM.LOG1", "system.log1", "System.Log1"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let primary = dirty_system(dir.path(), log_name);
        // Windows leaves the unused log empty.
        std::fs::write(dir.path().join("SYSTEM.LOG2"), b"").expect("write");
        let p = primary.display().to_string();
        let key = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
        let (code, out, err) = rdsdiag(&["reg", &p, key, "fDenyTSConnections"]);
        assert!(
            out.contains("fDenyTSConnections    REG_DWORD    0x0"),
            "{log_name}: answered from the replayed hive, not the stale primary:\n{out}{err}"
        );
        assert_eq!(code, 0, "{log_name}: {err}");
        // The inventory lists the logs: the one replayed, and the empty one as a note.
        let (_, caps, _) = analyze_captures(&p);
        let inputs = caps[0]["inputs"].as_array().expect("inputs");
        let by_name = |n: &str| {
            inputs
                .iter()
                .find(|i| i["path"] == n)
                .unwrap_or_else(|| panic!("{n} listed: {inputs:?}"))
        };
        assert_eq!(by_name(log_name)["status"], "parsed");
        let empty = by_name("SYSTEM.LOG2");
        assert_eq!(empty["status"], "ignored", "an empty log is not rejected");
        assert_eq!(empty["problems"][0]["severity"], "info");
        assert_eq!(empty["problems"][0]["code"], "empty-log");
    }
}

#[test]
fn an_empty_file_that_is_not_a_log_is_still_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("SYSTEM"), b"").expect("write");
    let cap =
        rdsdiag::capture::open(&dir.path().join("SYSTEM"), &Default::default()).expect("inventory");
    assert_eq!(cap.inputs[0].status, InputStatus::Rejected);
    assert_eq!(cap.inputs[0].problems[0].code, "empty-file");
}

#[test]
fn a_users_software_key_is_not_the_machine_software_hive() {
    let dir = tempfile::tempdir().expect("tempdir");
    // HKCU\Software exported as a hive: Microsoft\Windows NT\CurrentVersion exists (Winlogon,
    // Windows) but holds no ProductName or CurrentBuild.
    let mut user = Key::new("Software");
    user.set(
        r"Microsoft\Windows NT\CurrentVersion\Winlogon",
        "ExcludeProfileDirs",
        Data::Sz("AppData".into()),
    );
    user.set(
        r"Policies\Microsoft\Windows NT\Terminal Services",
        "LicensingMode",
        Data::Dword(4),
    );
    std::fs::write(dir.path().join("SOFTWARE"), hive::build_hive(&user)).expect("write");
    // The machine's SOFTWARE hive, for comparison.
    let machine = Machine::new("RDSH01", Os::Server2019, None);
    let sw = hive::build_hive(machine.software.as_ref().expect("software"));
    std::fs::create_dir(dir.path().join("machine")).expect("mkdir");
    std::fs::write(dir.path().join("machine/SOFTWARE"), sw).expect("write");

    let cap = rdsdiag::capture::open(dir.path(), &Default::default()).expect("inventory");
    let find = |p: &str| cap.inputs.iter().find(|i| i.path == p).expect("listed");
    let user_input = find("SOFTWARE");
    assert_eq!(user_input.kind, InputKind::Hive);
    assert_eq!(user_input.hive, Some(HiveKind::Other), "{user_input:?}");
    assert!(
        user_input
            .problems
            .iter()
            .any(|p| p.message.contains("user's Software key")),
        "{:?}",
        user_input.problems
    );
    let machine_input = find("machine/SOFTWARE");
    assert_eq!(machine_input.hive, Some(HiveKind::Software));
    assert_eq!(
        machine_input.hive_signal.as_deref(),
        Some(r"SOFTWARE: Microsoft\Windows NT\CurrentVersion holds ProductName or CurrentBuild")
    );
}

#[test]
fn the_host_is_named_from_the_event_records_with_its_earlier_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alice = r"CONTOSO\alice";
    let mut events = Vec::new();
    // Set up as WIN-8H2K, renamed RDSH01 a day later; another machine's record in between.
    for (i, t) in ["2024-03-01T08:00:00Z", "2024-03-01T09:00:00Z"]
        .iter()
        .enumerate()
    {
        events.push(lsm_session(21, t, i as u32 + 1, alice, "10.0.0.5").computer("WIN-8H2K"));
    }
    for (i, t) in [
        "2024-03-02T08:00:00Z",
        "2024-03-02T09:00:00Z",
        "2024-03-03T08:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        events.push(
            lsm_session(21, t, i as u32 + 3, alice, "10.0.0.5").computer("rdsh01.contoso.local"),
        );
    }
    events.push(lsm_session(21, "2024-03-02T10:00:00Z", 9, alice, "10.0.0.6").computer("RDSH02"));
    let machine =
        Machine::new("RDSH01", Os::Server2019, Some("contoso.local")).log(LSM_LOG, events);
    let root = machine.write_kape(&dir.path().join("cap")).expect("write");
    std::fs::remove_dir_all(root.join("C/Windows/System32/config")).expect("no hives");

    let report = analyze_capture(&root, &Options::default());
    let host = &report.host.as_ref().expect("host").identity;
    assert_eq!(
        host.name(),
        Some(("RDSH01", rdsdiag::host::NameSource::EventLogs))
    );
    let names: Vec<(&str, NameRelation, u64)> = host
        .names_in_logs
        .iter()
        .map(|n| (n.name.as_str(), n.relation, n.events))
        .collect();
    assert_eq!(
        names,
        [
            ("RDSH01", NameRelation::Host, 3),
            ("WIN-8H2K", NameRelation::EarlierName, 2),
            ("RDSH02", NameRelation::OtherComputer, 1),
        ]
    );
    assert_eq!(
        host.names_in_logs[0].spellings,
        ["rdsh01.contoso.local"],
        "FQDN and NetBIOS forms are one name"
    );
    assert!(
        host.name_conflict().is_none(),
        "no hive: nothing to conflict with"
    );

    let (_, text, _) = rdsdiag(&["analyze", "--color", "never", &root.display().to_string()]);
    assert!(
        text.contains("Computer: RDSH01 (from the event records' Computer field"),
        "{text}"
    );
    assert!(text.contains("WIN-8H2K (earlier name; 2 records"), "{text}");
}

#[test]
fn a_conflict_between_hive_and_logs_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = Machine::new("RDSH01", Os::Server2019, None).log(
        LSM_LOG,
        vec![lsm_session(21, "2024-03-02T08:00:00Z", 2, "alice", "10.0.0.5").computer("RDSH07")],
    );
    let root = machine.write_kape(&dir.path().join("cap")).expect("write");
    let report = analyze_capture(&root, &Options::default());
    let host = &report.host.as_ref().expect("host").identity;
    assert_eq!(
        host.name(),
        Some(("RDSH01", rdsdiag::host::NameSource::Registry))
    );
    let conflict = host.name_conflict().expect("conflict");
    assert!(
        conflict.contains("RDSH01") && conflict.contains("RDSH07"),
        "{conflict}"
    );
}

/// Three machines' KAPE trees in one folder, as a support engineer receives them.
fn three_machines(dir: &Path) -> std::path::PathBuf {
    let case = dir.join("case");
    for name in ["RDSH01", "RDSH02", "LS01"] {
        Machine::new(name, Os::Server2019, Some("contoso.local"))
            .log(LSM_LOG, vec![one_logon()])
            .write_kape(&case.join(format!("{name}-kape")))
            .expect("write");
    }
    case
}

#[test]
fn a_folder_of_several_machines_is_split_into_one_capture_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = three_machines(dir.path());
    let c = case.display().to_string();
    let (_, caps, err) = analyze_captures(&c);
    let names: Vec<&str> = caps
        .iter()
        .map(|c| c["host"]["computer_name"]["value"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["LS01", "RDSH01", "RDSH02"], "{err}");
    for cap in &caps {
        assert_eq!(cap["split"]["by"], "collector_root");
        assert_eq!(cap["split"]["captures"], 3);
        assert_eq!(cap["split"]["from"], c.as_str());
        // No machine's events are counted under another.
        assert_eq!(cap["timeline"]["summary"]["foreign_computer_events"], 0);
        assert_eq!(cap["timeline"]["summary"]["events"], 1);
    }
    let (_, text, _) = rdsdiag(&["analyze", "--color", "never", &c]);
    assert_eq!(
        text.matches("one of 3 captures found in").count(),
        3,
        "{text}"
    );
    // batch finds the same captures.
    let (_, lines, _) = rdsdiag(&["batch", &c]);
    assert_eq!(lines.matches("\"record\":\"capture\"").count(), 3);
    // Commands that read one capture refuse to mix them, naming them.
    for cmd in ["timeline", "events"] {
        let (code, _, err) = rdsdiag(&[cmd, &c]);
        assert_eq!(code, 2, "{cmd}");
        assert!(
            err.contains("holds 3 captures") && err.contains("RDSH02-kape"),
            "{err}"
        );
    }
    // config splits as analyze does.
    let (_, cfg, _) = rdsdiag(&["config", "--format", "json", &c]);
    let v: serde_json::Value = serde_json::from_str(&cfg).expect("json");
    assert_eq!(v["captures"].as_array().expect("captures").len(), 3);
}

#[test]
fn one_machines_tree_is_not_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Machine::new("RDSH01", Os::Server2019, None)
        .write_kape(&dir.path().join("RDSH01-kape"))
        .expect("write");
    let (_, caps, _) = analyze_captures(&root.display().to_string());
    assert_eq!(caps.len(), 1);
    assert!(caps[0].get("split").is_none());
}

#[test]
fn loose_files_of_two_computers_are_reported_as_mixed_never_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let loose = dir.path().join("loose");
    std::fs::create_dir(&loose).expect("mkdir");
    let one = Machine::new("RDSH01", Os::Server2019, None);
    let two = Machine::new("RDSH02", Os::Server2019, None);
    std::fs::write(loose.join("SYSTEM"), hive::build_hive(&one.system)).expect("write");
    std::fs::write(loose.join("RDSH02_SYSTEM"), hive::build_hive(&two.system)).expect("write");
    let mut events: Vec<_> = (0..3)
        .map(|i| {
            lsm_session(
                21,
                &format!("2024-03-02T0{i}:00:00Z"),
                2,
                "alice",
                "10.0.0.5",
            )
            .computer("RDSH01")
        })
        .collect();
    events.push(lsm_session(21, "2024-03-02T01:30:00Z", 3, "bob", "10.0.0.6").computer("RDSH02"));
    let log = rdsdiag_testsupport::evtx::EvtxBuilder::new()
        .events(events)
        .build();
    std::fs::write(loose.join("LSM.evtx"), log).expect("write");

    let l = loose.display().to_string();
    let (code, caps, _) = analyze_captures(&l);
    assert_eq!(caps.len(), 1, "loose files of one folder: no safe split");
    let mixed = caps[0]["mixed"].as_array().expect("mixed reported");
    let seen: Vec<(&str, &str, u64)> = mixed
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name"),
                m["named_by"].as_str().expect("named_by"),
                m["events"].as_u64().expect("events"),
            )
        })
        .collect();
    // Which hive wins is the view's precedence (lowest path); the other computer is reported
    // with the files and records that name it.
    let host = caps[0]["host"]["computer_name"]["value"]
        .as_str()
        .expect("host");
    let (other, other_events) = if host == "RDSH01" {
        ("RDSH02", 1)
    } else {
        ("RDSH01", 3)
    };
    assert_eq!(
        seen,
        [
            (other, "SYSTEM hive", 0),
            (other, "event records", other_events)
        ]
    );
    assert_eq!(code, 1, "a mixed capture is not clean");
    let (_, text, _) = rdsdiag(&["analyze", "--color", "never", &l]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("mixes evidence of other computers"),
        "the verdict says so: {text}"
    );
}

/// A zip file's bytes holding `files` (name, bytes).
fn zip_bytes(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), opts).expect("entry");
        w.write_all(bytes).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// A machine's KAPE tree as zip bytes.
fn kape_zip(name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.zip"));
    Machine::new(name, Os::Server2019, None)
        .log(LSM_LOG, vec![one_logon()])
        .write_kape_zip(&path)
        .expect("zip");
    std::fs::read(path).expect("read")
}

#[test]
fn a_zip_inside_a_capture_folder_is_opened_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cap = dir.path().join("RDSH01");
    std::fs::create_dir(&cap).expect("mkdir");
    std::fs::write(cap.join("notes.txt"), "collected by hand").expect("write");
    std::fs::write(cap.join("RDSH01.zip"), kape_zip("RDSH01")).expect("write");
    let before: Vec<_> = std::fs::read_dir(&cap).expect("dir").collect();
    let report = analyze_capture(&cap, &Options::default());
    assert_eq!(
        std::fs::read_dir(&cap).expect("dir").count(),
        before.len(),
        "nothing is extracted beside the evidence"
    );
    let host = &report.host.as_ref().expect("host").identity;
    assert_eq!(
        host.computer_name.value().map(String::as_str),
        Some("RDSH01")
    );
    let archive = report
        .inputs
        .iter()
        .find(|i| i.path == "RDSH01.zip")
        .expect("archive listed");
    assert_eq!(archive.status, InputStatus::Parsed);
    let system = report
        .inputs
        .iter()
        .find(|i| i.path == "RDSH01.zip!/C/Windows/System32/config/SYSTEM")
        .expect("entry listed under the archive");
    assert_eq!(system.status, InputStatus::Parsed);
    assert_eq!(
        report.timeline.as_ref().expect("timeline").summary.events,
        1
    );
}

#[test]
fn a_zip_of_per_machine_zips_is_one_capture_per_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outer = zip_bytes(&[
        ("RDSH01.zip".into(), kape_zip("RDSH01")),
        ("RDSH02.zip".into(), kape_zip("RDSH02")),
    ]);
    let path = dir.path().join("customer.zip");
    std::fs::write(&path, outer).expect("write");
    let p = path.display().to_string();
    let (_, caps, err) = analyze_captures(&p);
    let names: Vec<&str> = caps
        .iter()
        .map(|c| c["host"]["computer_name"]["value"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(names, ["RDSH01", "RDSH02"], "{err}");
    for c in &caps {
        assert_eq!(c["split"]["by"], "archive");
        assert_eq!(c["status"], "analysed");
        assert_eq!(c["layout"], "kape");
    }
    assert_eq!(caps[1]["path"], format!("{p}!RDSH02.zip"));
    // The same rule in batch.
    let (_, lines, _) = rdsdiag(&["batch", &dir.path().display().to_string()]);
    assert_eq!(
        lines.matches("\"record\":\"capture\"").count(),
        2,
        "{lines}"
    );
}

#[test]
fn archives_nested_too_deep_are_listed_not_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = kape_zip("RDSH01");
    for level in 0..4 {
        bytes = zip_bytes(&[(format!("level{level}.zip"), bytes)]);
    }
    let path = dir.path().join("deep.zip");
    std::fs::write(&path, bytes).expect("write");
    let cap = rdsdiag::capture::open(&path, &Default::default()).expect("inventory");
    let deepest = cap
        .inputs
        .iter()
        .filter(|i| i.kind == InputKind::Archive)
        .max_by_key(|i| i.path.matches("!/").count())
        .expect("archives");
    assert_eq!(deepest.status, InputStatus::Ignored, "{:?}", cap.inputs);
    assert!(deepest.problems[0].message.contains("more than 3 levels"));
}

#[test]
fn the_archive_limits_apply_at_every_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The outer zip holds one entry; the inner one three (SYSTEM, SOFTWARE, one log).
    let path = dir.path().join("outer.zip");
    std::fs::write(
        &path,
        zip_bytes(&[("RDSH01.zip".into(), kape_zip("RDSH01"))]),
    )
    .expect("write");
    let opts = rdsdiag::capture::CaptureOptions {
        max_zip_entries: 2,
        ..Default::default()
    };
    let cap = rdsdiag::capture::open(&path, &opts).expect("the outer archive is within limits");
    let inner = cap
        .inputs
        .iter()
        .find(|i| i.path == "RDSH01.zip")
        .expect("inner listed");
    assert_eq!(inner.status, InputStatus::Rejected);
    assert!(
        inner.problems[0].message.contains("--max-zip-entries"),
        "{:?}",
        inner.problems
    );
    assert_eq!(
        cap.inputs.len(),
        1,
        "nothing of the refused archive was read"
    );
}

#[test]
fn corpus_citadel_dc01_is_named_from_its_logs_with_both_earlier_names() {
    let Some(root) = rdsdiag_testsupport::corpus::path("captures/CITADEL-DC01") else {
        return;
    };
    let report = analyze_capture(&root, &Options::default());
    let host = &report.host.as_ref().expect("host").identity;
    assert_eq!(
        host.name(),
        Some(("CITADEL-DC01", rdsdiag::host::NameSource::EventLogs))
    );
    let names: Vec<(&str, NameRelation)> = host
        .names_in_logs
        .iter()
        .map(|n| (n.name.as_str(), n.relation))
        .collect();
    assert_eq!(
        names,
        [
            ("CITADEL-DC01", NameRelation::Host),
            ("WIN-E0PO207ERMD", NameRelation::EarlierName),
            ("WIN-HRJHA99CCDO", NameRelation::EarlierName),
        ]
    );
    assert!(report.mixed.is_empty(), "a renamed machine is not mixed");
    assert_eq!(
        report
            .timeline
            .as_ref()
            .expect("timeline")
            .summary
            .foreign_computer_events,
        0
    );
}

#[test]
fn loose_event_logs_of_two_computers_are_one_capture_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let loose = dir.path().join("logs");
    std::fs::create_dir(&loose).expect("mkdir");
    for (file, computer, n) in [
        ("a.evtx", "RDSH01", 2),
        ("b.evtx", "rdsh02.contoso.local", 3),
    ] {
        let events: Vec<_> = (0..n)
            .map(|i| {
                lsm_session(
                    21,
                    &format!("2024-03-02T0{i}:00:00Z"),
                    2,
                    "alice",
                    "10.0.0.5",
                )
                .computer(computer)
            })
            .collect();
        let log = rdsdiag_testsupport::evtx::EvtxBuilder::new()
            .events(events)
            .build();
        std::fs::write(loose.join(file), log).expect("write");
    }
    std::fs::write(loose.join("notes.txt"), "by hand").expect("write");
    let l = loose.display().to_string();
    let (_, caps, err) = analyze_captures(&l);
    let seen: Vec<(&str, u64)> = caps
        .iter()
        .map(|c| {
            (
                c["path"].as_str().expect("path"),
                c["timeline"]["summary"]["events"].as_u64().expect("events"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (format!("{l} (RDSH01)").as_str(), 2),
            (format!("{l} (RDSH02)").as_str(), 3)
        ],
        "{err}"
    );
    for c in &caps {
        assert_eq!(c["split"]["by"], "event_computer");
        assert_eq!(c["split"]["outside"], serde_json::json!(["notes.txt"]));
        assert!(c.get("mixed").is_none());
    }
}
