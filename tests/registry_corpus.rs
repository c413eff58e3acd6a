//! The registry view against the real hives of the development corpus (`../shared/corpus`), whose
//! expected values were computed by independent tools (`FACTS.json`): a clean read of a dirty
//! SYSTEM hive without logs, and replay of new-format (HvLE) transaction logs on a dirty NTUSER.

use std::path::{Path, PathBuf};

use rdsdiag::capture::{self, CaptureOptions, Input};
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::{Lookup, RegData, RegistryView, SourceForm};
use rdsdiag_testsupport::corpus;
use serde_json::Value;

/// The corpus folder (skipped, or failed under `RDSDIAG_REQUIRE_CORPUS=1`, when absent).
fn corpus() -> Option<PathBuf> {
    corpus::path("regipy")?;
    corpus::path("")
}

fn facts(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("FACTS.json")).expect("FACTS.json readable");
    serde_json::from_str(&text).expect("FACTS.json is JSON")
}

fn inputs(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<Input> {
    let cap = capture::open(&dir.join("regipy"), &CaptureOptions::default())
        .expect("corpus folder opens");
    cap.inputs.into_iter().filter(|i| keep(&i.path)).collect()
}

fn input<'a>(inputs: &'a [Input], name: &str) -> &'a Input {
    inputs
        .iter()
        .find(|i| i.path.ends_with(name))
        .unwrap_or_else(|| panic!("{name} in capture"))
}

/// Compare a registry value with a FACTS.json value (numbers, strings, string lists, null = absent).
fn assert_matches(got: &Lookup<rdsdiag::registry::RegValue>, want: &Value, what: &str) {
    match want {
        Value::Null => assert_eq!(got, &Lookup::Absent, "{what}"),
        Value::Number(n) => {
            let v = got.found().unwrap_or_else(|| panic!("{what}: {got:?}"));
            assert_eq!(v.data.as_u64(), n.as_u64(), "{what}: {:?}", v.data);
            assert!(
                matches!(v.data, RegData::Dword(_) | RegData::Qword(_)),
                "{what}: {:?}",
                v.data
            );
        }
        Value::String(s) if s == "<absent>" || s == "<key absent>" => {
            assert_eq!(got, &Lookup::Absent, "{what}")
        }
        Value::String(s) => {
            let v = got.found().unwrap_or_else(|| panic!("{what}: {got:?}"));
            assert_eq!(v.data.as_str(), Some(s.as_str()), "{what}");
        }
        Value::Array(items) => {
            let v = got.found().unwrap_or_else(|| panic!("{what}: {got:?}"));
            let want: Vec<String> = items
                .iter()
                .map(|i| i.as_str().expect("string item").to_string())
                .collect();
            assert_eq!(v.data, RegData::MultiSz(want), "{what}");
        }
        other => panic!("{what}: unexpected fact {other}"),
    }
}

#[test]
fn system_2_gives_the_facts_and_says_it_may_be_stale() {
    let Some(dir) = corpus() else { return };
    let facts = facts(&dir);
    let f = &facts["files"]["regipy/SYSTEM_2"]["facts_regipy"];
    let mut inputs = inputs(&dir, |p| p.ends_with("SYSTEM_2"));
    assert_eq!(inputs[0].hive, Some(HiveKind::System));
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let sys = input(&inputs, "SYSTEM_2");
    assert_eq!(sys.status, InputStatus::Partial);
    let stale = sys
        .problems
        .iter()
        .find(|p| p.code == "hive-dirty-no-logs")
        .expect("stale problem");
    assert!(stale.message.contains("may be stale"), "{}", stale.message);
    assert!(
        stale.message.contains("205") && stale.message.contains("204"),
        "{}",
        stale.message
    );

    assert!(view.provides(HiveKind::System));
    assert!(!view.provides(HiveKind::Software));
    assert_eq!(
        view.hive_state(HiveKind::System),
        Some(rdsdiag::registry::HiveState::Stale)
    );
    assert_eq!(view.hive_state(HiveKind::Software), None);
    assert_eq!(
        view.current_control_set(),
        Lookup::Found(f["select"]["Current"].as_u64().expect("n") as u32)
    );
    for (name, v) in f["select"].as_object().expect("select") {
        assert_matches(&view.value(HiveKind::System, "Select", name), v, name);
    }
    let root = view
        .key(HiveKind::System, "")
        .into_found()
        .expect("root key");
    let want_root: Vec<&str> = f["root_subkeys"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().expect("s"))
        .collect();
    assert_eq!(sorted(&root.subkeys), sorted(&want_root));
    assert_eq!(root.source_key, "");

    let ccs = r"CurrentControlSet";
    assert_matches(
        &view.value(
            HiveKind::System,
            &format!(r"{ccs}\Control\ComputerName\ComputerName"),
            "ComputerName",
        ),
        &f["computer_name"],
        "computer name",
    );
    for (name, v) in f["tcpip_parameters"].as_object().expect("tcpip") {
        assert_matches(
            &view.value(
                HiveKind::System,
                &format!(r"{ccs}\Services\Tcpip\Parameters"),
                name,
            ),
            v,
            name,
        );
    }
    assert_matches(
        &view.value(
            HiveKind::System,
            &format!(r"{ccs}\Services\TermService"),
            "Start",
        ),
        &f["termservice_start"],
        "TermService",
    );
    assert_eq!(f["termservlicensing_present"], Value::Bool(false));
    assert_eq!(
        view.key(
            HiveKind::System,
            &format!(r"{ccs}\Services\TermServLicensing")
        ),
        Lookup::Absent
    );

    let ts = view
        .key(HiveKind::System, &format!(r"{ccs}\Control\Terminal Server"))
        .into_found()
        .expect("TS key");
    assert_eq!(ts.source_key, r"ControlSet001\Control\Terminal Server");
    assert_eq!(ts.form, SourceForm::Hive);
    let want_ts = f["terminal_server_values"].as_object().expect("ts values");
    for (name, v) in want_ts {
        let got = view.value(
            HiveKind::System,
            &format!(r"{ccs}\Control\Terminal Server"),
            name,
        );
        assert_matches(&got, &v["value"], name);
        let got = got.into_found().expect("found");
        assert_eq!(
            got.provenance.value_type,
            v["type"].as_str().expect("type"),
            "{name}"
        );
        assert_eq!(got.provenance.key, r"ControlSet001\Control\Terminal Server");
        assert!(ts.value(name).is_some(), "{name} listed in the key view");
    }
    // Case-insensitive names and paths.
    assert_matches(
        &view.value(
            HiveKind::System,
            r"currentcontrolset\CONTROL\terminal server",
            "FDENYTSCONNECTIONS",
        ),
        &f["fDenyTSConnections"],
        "case",
    );
    let lc = format!(r"{ccs}\Control\Terminal Server\RCM\Licensing Core");
    for (name, v) in f["licensing_core_values"].as_object().expect("lc") {
        assert_matches(&view.value(HiveKind::System, &lc, name), &v["value"], name);
    }
    // Key last-written time, as a hand walk of the hive's nk cell gives it (not in FACTS.json).
    let lc_key = view
        .key(HiveKind::System, &lc)
        .into_found()
        .expect("Licensing Core");
    assert_eq!(
        lc_key.last_written.map(|t| t.to_string()).as_deref(),
        Some("2014-03-18T10:18:07.5246177Z")
    );
    let rcm = view
        .key(
            HiveKind::System,
            &format!(r"{ccs}\Control\Terminal Server\RCM"),
        )
        .into_found()
        .expect("RCM");
    assert_eq!(rcm.subkeys, vec!["Licensing Core"]);
    assert!(rcm.values.is_empty());
    assert_eq!(
        view.value(
            HiveKind::System,
            &format!(r"{ccs}\Control\Terminal Server\RCM\GracePeriod"),
            "x"
        ),
        Lookup::Absent
    );
    for (name, v) in f["rdp_tcp"].as_object().expect("rdp-tcp") {
        assert_matches(
            &view.value(
                HiveKind::System,
                &format!(r"{ccs}\Control\Terminal Server\WinStations\RDP-Tcp"),
                name,
            ),
            v,
            name,
        );
    }
    // The explicit control set gives the same, and a hive not given is not provided.
    assert_matches(
        &view.value(
            HiveKind::System,
            r"ControlSet001\Control\Terminal Server",
            "fDenyTSConnections",
        ),
        &f["fDenyTSConnections"],
        "cs001",
    );
    assert_eq!(
        view.value(HiveKind::Software, "Microsoft", "x"),
        Lookup::NotProvided {
            hive: HiveKind::Software
        }
    );
}

/// Registry order (upper-case) and FACTS order (Python's sort) differ; compare as sets.
fn sorted<S: AsRef<str>>(v: &[S]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.as_ref().to_string()).collect();
    out.sort();
    out
}

fn probes(facts: &Value) -> &Vec<Value> {
    facts["files"]["regipy/transactions_NTUSER.DAT"]["expected"]
        ["replay_probes_agreed_by_yarp_and_regipy"]
        .as_array()
        .expect("probes")
}

#[test]
fn dirty_ntuser_with_logs_gives_post_replay_values() {
    let Some(dir) = corpus() else { return };
    let facts = facts(&dir);
    let mut inputs = inputs(&dir, |p| {
        p.to_ascii_lowercase().contains("transactions_ntuser")
    });
    assert_eq!(inputs.len(), 3);
    for i in &mut inputs {
        // The capture layer recognises the role; the view needs NTUSER for these lookups.
        if i.kind == InputKind::Hive {
            assert_eq!(i.hive, Some(HiveKind::NtUser), "role of {}", i.path);
        }
    }
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        view.hive_state(HiveKind::NtUser),
        Some(rdsdiag::registry::HiveState::Replayed)
    );
    let hive = input(&inputs, "transactions_NTUSER.DAT");
    assert_eq!(hive.status, InputStatus::Parsed, "{:?}", hive.problems);
    let replayed: Vec<&str> = hive
        .problems
        .iter()
        .filter(|p| p.code == "hive-log-replayed")
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(replayed.len(), 1, "{:?}", hive.problems);
    assert!(
        replayed[0]
            .starts_with("replayed 23 entries from transactions_ntuser.dat.log1 (sequence 566–588"),
        "{}",
        replayed[0]
    );
    let log2 = input(&inputs, "transactions_ntuser.dat.log2");
    assert!(
        log2.problems.iter().any(|p| p.code == "hive-log-not-used"),
        "{:?}",
        log2.problems
    );
    assert_eq!(
        input(&inputs, "transactions_ntuser.dat.log1").status,
        InputStatus::Parsed
    );

    let list = probes(&facts);
    assert!(list.len() >= 10);
    for p in list {
        let key = p["key"].as_str().expect("key");
        let name = p["value"].as_str().expect("value");
        assert_matches(
            &view.value(HiveKind::NtUser, key, name),
            &p["after_replay"],
            &format!("{key}\\{name} after replay"),
        );
    }
    let root = view.key(HiveKind::NtUser, "").into_found().expect("root");
    let want: Vec<&str> = facts["files"]["regipy/transactions_NTUSER.DAT"]["regipy_replay"]
        ["facts_after"]["root_subkeys"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().expect("s"))
        .collect();
    assert_eq!(sorted(&root.subkeys), sorted(&want));
    // A key the replay added.
    let added = &facts["files"]["regipy/transactions_NTUSER.DAT"]["replay_diff_yarp"]
        ["sample_added_keys"][0];
    assert!(view
        .key(HiveKind::NtUser, added.as_str().expect("s"))
        .is_found());
}

#[test]
fn dirty_ntuser_without_logs_reads_the_stale_values() {
    let Some(dir) = corpus() else { return };
    let facts = facts(&dir);
    let mut inputs = inputs(&dir, |p| p.ends_with("transactions_NTUSER.DAT"));
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert!(inputs[0]
        .problems
        .iter()
        .any(|p| p.code == "hive-dirty-no-logs"));
    for p in probes(&facts) {
        let key = p["key"].as_str().expect("key");
        let name = p["value"].as_str().expect("value");
        assert_matches(
            &view.value(HiveKind::NtUser, key, name),
            &p["before_replay"],
            &format!("{key}\\{name} without replay"),
        );
    }
}
