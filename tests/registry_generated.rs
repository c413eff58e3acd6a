//! The registry view on generated evidence: hives written by `regf`, made dirty with new- and
//! old-format transaction logs; text exports covering parts of a hive; precedence between
//! sources; damaged cells; unknown types, big data and large subkey lists.

use rdsdiag::capture::Input;
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::{Lookup, RegData, RegistryView, SourceForm};
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::regtext::{self, Encoding};

#[path = "common/registry_input.rs"]
mod registry_input;
use registry_input::input;

/// A SYSTEM hive file as an input.
fn system_hive(dir: &std::path::Path, rel: &str, bytes: &[u8]) -> Input {
    input(dir, rel, InputKind::Hive, Some(HiveKind::System), bytes)
}

/// A transaction log of a SYSTEM hive as an input.
fn system_log(dir: &std::path::Path, rel: &str, bytes: &[u8]) -> Input {
    input(dir, rel, InputKind::HiveLog, Some(HiveKind::System), bytes)
}

fn codes(i: &Input) -> Vec<&'static str> {
    i.problems.iter().map(|p| p.code.as_str()).collect()
}

/// An "old" and a "new" SYSTEM tree: changed, added and removed values and keys, enough data to
/// span several 4 KiB pages.
fn old_new() -> (Key, Key) {
    let mut old = hive::system_tree(1);
    let ts = r"ControlSet001\Control\Terminal Server";
    old.set(ts, "fDenyTSConnections", Data::Dword(1));
    old.set(ts, "Removed", Data::Sz("bye".into()));
    old.set(
        &format!(r"{ts}\RCM\Licensing Core"),
        "LicensingMode",
        Data::Dword(2),
    );
    for i in 0..60 {
        old.set(
            &format!(r"ControlSet001\Services\Svc{i:02}"),
            "Start",
            Data::Dword(3),
        );
        old.set(
            &format!(r"ControlSet001\Services\Svc{i:02}"),
            "Blob",
            Data::Binary(vec![i as u8; 300]),
        );
    }
    old.at(r"ControlSet001\Services\Gone");
    let mut new = old.clone();
    new.set(ts, "fDenyTSConnections", Data::Dword(0));
    new.at(ts).values.retain(|(n, _)| n != "Removed");
    new.set(
        &format!(r"{ts}\RCM\Licensing Core"),
        "LicensingMode",
        Data::Dword(4),
    );
    new.set(
        &format!(r"{ts}\RCM\GracePeriod"),
        "L$RTMTIMEBOMB",
        Data::Binary(vec![7; 64]),
    );
    new.set(r"ControlSet001\Services\Svc59", "Start", Data::Dword(4));
    new.at(r"ControlSet001\Services")
        .subkeys
        .retain(|k| k.name != "Gone");
    (old, new)
}

fn assert_new_state(view: &RegistryView) {
    let ts = r"CurrentControlSet\Control\Terminal Server";
    assert_eq!(
        view.value(HiveKind::System, ts, "fDenyTSConnections")
            .into_found()
            .expect("v")
            .data,
        RegData::Dword(0)
    );
    assert_eq!(view.value(HiveKind::System, ts, "Removed"), Lookup::Absent);
    assert_eq!(
        view.value(
            HiveKind::System,
            &format!(r"{ts}\RCM\Licensing Core"),
            "LicensingMode"
        )
        .into_found()
        .expect("v")
        .data,
        RegData::Dword(4)
    );
    assert!(view
        .key(HiveKind::System, &format!(r"{ts}\RCM\GracePeriod"))
        .is_found());
    assert_eq!(
        view.value(
            HiveKind::System,
            r"CurrentControlSet\Services\Svc59",
            "Start"
        )
        .into_found()
        .expect("v")
        .data,
        RegData::Dword(4)
    );
    assert_eq!(
        view.key(HiveKind::System, r"CurrentControlSet\Services\Gone"),
        Lookup::Absent
    );
}

fn assert_old_state(view: &RegistryView) {
    let ts = r"CurrentControlSet\Control\Terminal Server";
    assert_eq!(
        view.value(HiveKind::System, ts, "fDenyTSConnections")
            .into_found()
            .expect("v")
            .data,
        RegData::Dword(1)
    );
    assert!(view.value(HiveKind::System, ts, "Removed").is_found());
    assert!(view
        .key(HiveKind::System, r"CurrentControlSet\Services\Gone")
        .is_found());
}

#[test]
fn new_format_log_replay_in_memory_without_touching_the_evidence() {
    let (old, new) = old_new();
    let (old_b, new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    let dirty = hive::dirty_with_new_logs(&old_b, &new_b, 100, 3, None);
    let tmp = tempfile::tempdir().expect("tmp");
    // Lower-case log names, as the corpus has them.
    let mut inputs = vec![
        system_hive(tmp.path(), "C/config/SYSTEM", &dirty.primary),
        system_log(tmp.path(), "C/config/system.log1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        inputs[0].status,
        InputStatus::Parsed,
        "{:?}",
        inputs[0].problems
    );
    let msg = &inputs[0]
        .problems
        .iter()
        .find(|p| p.code == "hive-log-replayed")
        .expect("replayed")
        .message;
    assert!(
        msg.starts_with("replayed 3 entries from system.log1 (sequence 100–102"),
        "{msg}"
    );
    assert_eq!(inputs[1].status, InputStatus::Parsed);
    assert_new_state(&view);
    assert_eq!(
        view.sources()[0].state,
        Some(rdsdiag::registry::HiveState::Replayed)
    );
    // The evidence on disk is unchanged.
    assert_eq!(
        std::fs::read(tmp.path().join("C/config/SYSTEM")).expect("read"),
        dirty.primary
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("C/config"))
            .expect("dir")
            .count(),
        2
    );

    // The same dirty file without its log: stale values, and the view says so.
    let mut alone = vec![system_hive(tmp.path(), "C/config/SYSTEM", &dirty.primary)];
    let stale = RegistryView::load(&alone).apply_to(&mut alone);
    assert_eq!(codes(&alone[0]), vec!["hive-dirty-no-logs"]);
    assert_eq!(alone[0].status, InputStatus::Partial);
    assert_old_state(&stale);
}

#[test]
fn two_logs_continue_each_other_and_old_entries_are_skipped() {
    let (old, new) = old_new();
    let (old_b, new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    let dirty = hive::dirty_with_new_logs(&old_b, &new_b, 7, 4, Some(2));
    assert_eq!(dirty.logs.len(), 2);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &dirty.primary),
        system_log(tmp.path(), "SYSTEM.LOG2", &dirty.logs[1].1),
        system_log(tmp.path(), "SYSTEM.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let replayed: Vec<&str> = inputs[0]
        .problems
        .iter()
        .filter(|p| p.code == "hive-log-replayed")
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(replayed.len(), 2, "{:?}", inputs[0].problems);
    assert!(
        replayed[0].starts_with("replayed 2 entries from SYSTEM.LOG1 (sequence 7–8"),
        "{}",
        replayed[0]
    );
    assert!(
        replayed[1].starts_with("replayed 2 entries from SYSTEM.LOG2 (sequence 9–10"),
        "{}",
        replayed[1]
    );
    assert_new_state(&view);

    // A log whose entries are all older than the hive's sequence number is not needed.
    let later = hive::dirty_with_new_logs(&old_b, &new_b, 50, 1, None);
    let mut inputs = vec![
        system_hive(tmp.path(), "x/SYSTEM", &later.primary),
        system_log(tmp.path(), "x/SYSTEM.LOG1", &later.logs[0].1),
        system_log(tmp.path(), "x/SYSTEM.LOG2", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert!(
        codes(&inputs[2]).contains(&"hive-log-not-used"),
        "{:?}",
        inputs[2].problems
    );
    assert_eq!(inputs[0].status, InputStatus::Parsed);
    assert_new_state(&view);
}

#[test]
fn logs_of_a_hive_file_without_a_base_block_end_ignored() {
    let (old, new) = old_new();
    let dirty = hive::dirty_with_new_logs(
        &hive::build_hive(&old),
        &hive::build_hive(&new),
        100,
        3,
        None,
    );
    let mut broken = dirty.primary.clone();
    broken[..4].copy_from_slice(b"junk");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &broken),
        system_log(tmp.path(), "SYSTEM.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(inputs[0].status, InputStatus::Rejected);
    assert_eq!(codes(&inputs[0]), vec!["hive-bad-base-block"]);
    // Paired by name with a hive that cannot be read: not used, and says why (it does not stay
    // pending for the pipeline to guess about).
    assert_eq!(inputs[1].status, InputStatus::Ignored);
    assert_eq!(codes(&inputs[1]), vec!["hive-log-not-used"]);
    assert_eq!(
        inputs[1].problems[0].message,
        "not used: its hive file SYSTEM cannot be read"
    );
    assert!(!view.provides(HiveKind::System));
}

#[test]
fn damaged_log_entry_stops_replay_there() {
    // In-place changes, as Windows makes them: the layout (and the root cell) stays.
    let (mut old, _) = old_new();
    old.set(
        r"ControlSet001\Control\Terminal Server",
        "TSEnabled",
        Data::Dword(0),
    );
    let old_b = hive::build_hive(&old);
    let mid_b = hive::patch_inline_dword(&old_b, "fDenyTSConnections", 7);
    let new_b = hive::patch_inline_dword(&mid_b, "TSEnabled", 1);
    let states = [old_b, mid_b, new_b];
    let mut dirty = hive::dirty_with_log_chain(&states, 1);
    hive::damage_log_entry(&mut dirty.logs[0].1, 1);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &dirty.primary),
        system_log(tmp.path(), "SYSTEM.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let msg = &inputs[0]
        .problems
        .iter()
        .find(|p| p.code == "hive-log-replayed")
        .expect("replayed")
        .message;
    assert!(
        msg.starts_with("replayed 1 entries from SYSTEM.LOG1 (sequence 1–1"),
        "{msg}"
    );
    assert_eq!(inputs[0].status, InputStatus::Partial);
    assert!(codes(&inputs[0]).contains(&"hive-log-damaged"));
    let bad = inputs[1]
        .problems
        .iter()
        .find(|p| p.code == "hive-log-damaged")
        .expect("damage noted");
    assert!(
        bad.message.contains("log entry 2: hash mismatch"),
        "{}",
        bad.message
    );
    assert!(bad.offset.is_some());
    assert_eq!(inputs[1].status, InputStatus::Partial);
    // The state after the first entry.
    let ccs_ts = r"CurrentControlSet\Control\Terminal Server";
    let v = view.value(HiveKind::System, ccs_ts, "fDenyTSConnections");
    assert_eq!(
        v.into_found().expect("v").data,
        RegData::Dword(7),
        "{:?}",
        inputs[0].problems
    );
    assert_eq!(
        view.value(HiveKind::System, ccs_ts, "TSEnabled")
            .into_found()
            .expect("v")
            .data,
        RegData::Dword(0)
    );
    // Undamaged, the chain gives the final state.
    let clean = hive::dirty_with_log_chain(&states, 1);
    let mut inputs = vec![
        system_hive(tmp.path(), "b/SYSTEM", &clean.primary),
        system_log(tmp.path(), "b/SYSTEM.LOG1", &clean.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert!(msg_of(&inputs[0]).starts_with("replayed 2 entries"));
    assert_eq!(
        view.value(HiveKind::System, ccs_ts, "TSEnabled")
            .into_found()
            .expect("v")
            .data,
        RegData::Dword(1)
    );
    assert_eq!(
        view.value(HiveKind::System, ccs_ts, "fDenyTSConnections")
            .into_found()
            .expect("v")
            .data,
        RegData::Dword(7)
    );
}

fn msg_of(i: &Input) -> String {
    i.problems
        .iter()
        .find(|p| p.code == "hive-log-replayed")
        .map(|p| p.message.clone())
        .unwrap_or_default()
}

#[test]
fn replay_that_yields_an_unreadable_hive_falls_back_to_the_primary_file() {
    let (old, new) = old_new();
    let (old_b, new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    let mut dirty = hive::dirty_with_new_logs(&old_b, &new_b, 1, 3, None);
    // Entry 2 of 3 damaged: the first entry alone mixes two unrelated layouts.
    hive::damage_log_entry(&mut dirty.logs[0].1, 1);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &dirty.primary),
        system_log(tmp.path(), "SYSTEM.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_ne!(
        inputs[0].status,
        InputStatus::Rejected,
        "{:?}",
        inputs[0].problems
    );
    // Either the partial replay is readable, or the view fell back to the primary file and said so.
    if codes(&inputs[0]).contains(&"hive-replay-unreadable") {
        assert_old_state(&view);
    }
}

#[test]
fn old_format_log_replay() {
    let (old, new) = old_new();
    let (old_b, new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    let dirty = hive::dirty_with_old_log(&old_b, &new_b, 30);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &dirty.primary),
        system_log(tmp.path(), "SYSTEM.LOG", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let msg = &inputs[0]
        .problems
        .iter()
        .find(|p| p.code == "hive-log-replayed")
        .expect("replayed")
        .message;
    assert!(msg.contains("old-format log"), "{msg}");
    assert_eq!(
        inputs[0].status,
        InputStatus::Parsed,
        "{:?}",
        inputs[0].problems
    );
    assert_new_state(&view);
}

#[test]
fn logs_pair_by_embedded_file_name_when_names_do_not_match() {
    let (old, new) = old_new();
    let (mut old_b, mut new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    hive::set_file_name(&mut old_b, r"\SystemRoot\System32\Config\SYSTEM");
    hive::set_file_name(&mut new_b, r"\SystemRoot\System32\Config\SYSTEM");
    let dirty = hive::dirty_with_new_logs(&old_b, &new_b, 3, 1, None);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "host_SYSTEM.hiv", &dirty.primary),
        system_log(tmp.path(), "renamed-log-file.bin", &dirty.logs[0].1),
        system_log(tmp.path(), "other/orphan.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert!(
        codes(&inputs[0]).contains(&"hive-log-replayed"),
        "{:?}",
        inputs[0].problems
    );
    assert_eq!(inputs[2].status, InputStatus::Ignored);
    assert_new_state(&view);
}

#[test]
fn control_set_numbers_of_ten_and_more() {
    let mut t = hive::system_tree(12);
    t.set(
        r"ControlSet012\Control\Terminal Server",
        "fDenyTSConnections",
        Data::Dword(0),
    );
    t.set(
        r"ControlSet001\Control\Terminal Server",
        "fDenyTSConnections",
        Data::Dword(1),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![system_hive(tmp.path(), "SYSTEM", &hive::build_hive(&t))];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(view.current_control_set(), Lookup::Found(12));
    let v = view
        .value(
            HiveKind::System,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
        )
        .into_found()
        .expect("v");
    assert_eq!(v.data, RegData::Dword(0));
    assert_eq!(v.provenance.key, r"ControlSet012\Control\Terminal Server");
    assert_eq!(v.provenance.form, SourceForm::Hive);
    assert_eq!(v.provenance.value_type, "REG_DWORD");
}

#[test]
fn unknown_types_big_data_and_large_subkey_lists() {
    let mut t = Key::new("ROOT");
    t.set(
        "Software",
        "Odd",
        Data::Raw {
            type_code: 0xFFFF_0012,
            bytes: vec![1, 2, 3],
        },
    );
    t.set(
        "Software",
        "Res",
        Data::Raw {
            type_code: 8,
            bytes: vec![9; 16],
        },
    );
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    t.set("Software", "Big", Data::Binary(big.clone()));
    t.set("Software", "Empty", Data::Binary(Vec::new()));
    t.set("Software", "", Data::Sz("default".into()));
    for i in 0..3000 {
        t.at(&format!(r"Many\Key{i:04}"));
    }
    t.set(r"Many\Key2999", "Last", Data::Dword(2999));
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        "NTUSER.DAT",
        InputKind::Hive,
        Some(HiveKind::NtUser),
        &hive::build_hive(&t),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let odd = view
        .value(HiveKind::NtUser, "Software", "odd")
        .into_found()
        .expect("odd");
    assert_eq!(
        odd.data,
        RegData::Other {
            type_code: 0xFFFF_0012,
            bytes: vec![1, 2, 3]
        }
    );
    assert_eq!(odd.provenance.value_type, "REG_0xFFFF0012");
    assert_eq!(
        view.value(HiveKind::NtUser, "Software", "Res")
            .into_found()
            .expect("res")
            .provenance
            .value_type,
        "REG_RESOURCE_LIST"
    );
    assert_eq!(
        view.value(HiveKind::NtUser, "Software", "Big")
            .into_found()
            .expect("big")
            .data,
        RegData::Binary(big)
    );
    assert_eq!(
        view.value(HiveKind::NtUser, "Software", "Empty")
            .into_found()
            .expect("empty")
            .data,
        RegData::Binary(vec![])
    );
    assert_eq!(
        view.value(HiveKind::NtUser, "Software", "")
            .into_found()
            .expect("default")
            .data,
        RegData::Sz("default".into())
    );
    assert_eq!(
        view.value(HiveKind::NtUser, "Software", "Missing"),
        Lookup::Absent
    );
    assert_eq!(
        view.key(HiveKind::NtUser, "Many")
            .into_found()
            .expect("many")
            .subkeys
            .len(),
        3000
    );
    assert_eq!(
        view.value(HiveKind::NtUser, r"many\KEY2999", "last")
            .into_found()
            .expect("last")
            .data,
        RegData::Dword(2999)
    );
    assert_eq!(
        view.value(HiveKind::NtUser, r"Many\Key3000", "Last"),
        Lookup::Absent
    );
}

#[test]
fn damaged_cells_are_unreadable_with_file_and_offset_and_do_not_stop_the_rest() {
    let mut t = Key::new("ROOT");
    t.set("K", "Broken", Data::Sz("x".repeat(10)));
    t.set("K", "Fine", Data::Dword(5));
    t.set(r"Sub\Deeper", "V", Data::Dword(1));
    t.set("Other", "V", Data::Dword(2));
    let mut b = hive::build_hive(&t);
    let vk = hive::find_value_cell(&b, "Broken").expect("vk");
    b[vk] = b'X';
    let nk = hive::find_key_cell(&b, "Deeper").expect("nk");
    b[nk] = b'X';
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        "hive.dat",
        InputKind::Hive,
        Some(HiveKind::Software),
        &b,
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    match view.value(HiveKind::Software, "K", "Broken") {
        Lookup::Unreadable(u) => {
            assert_eq!(u.file, "hive.dat");
            assert_eq!(u.offset, Some(vk as u64));
        }
        other => panic!("expected unreadable, got {other:?}"),
    }
    let k = view
        .key(HiveKind::Software, "K")
        .into_found()
        .expect("key K");
    assert_eq!(k.unreadable.len(), 1);
    assert_eq!(k.unreadable[0].offset, Some(vk as u64));
    assert_eq!(k.value("Fine").expect("fine").data, RegData::Dword(5));
    match view.value(HiveKind::Software, r"Sub\Deeper", "V") {
        Lookup::Unreadable(u) => assert_eq!(u.offset, Some(nk as u64)),
        other => panic!("expected unreadable, got {other:?}"),
    }
    assert_eq!(
        view.value(HiveKind::Software, "Other", "V")
            .into_found()
            .expect("other")
            .data,
        RegData::Dword(2)
    );
}

fn ts_export(value: u32) -> Key {
    Key::new("Terminal Server")
        .value("fDenyTSConnections", Data::Dword(value))
        .key(
            Key::new("WinStations").key(Key::new("RDP-Tcp").value("PortNumber", Data::Dword(3389))),
        )
}

#[test]
fn text_exports_cover_only_their_subtrees() {
    let tmp = tempfile::tempdir().expect("tmp");
    let reg = regtext::reg_export(
        &ts_export(0),
        r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server",
        false,
    );
    let mut inputs = vec![input(
        tmp.path(),
        "PC_HKLM-System-CCS-Control-TerminalServer.txt",
        InputKind::RegExport,
        None,
        &regtext::encode(&reg, Encoding::Utf16LeBom),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        inputs[0].status,
        InputStatus::Parsed,
        "{:?}",
        inputs[0].problems
    );
    let ts = r"CurrentControlSet\Control\Terminal Server";
    let v = view
        .value(HiveKind::System, ts, "fDenyTSConnections")
        .into_found()
        .expect("found");
    assert_eq!(v.data, RegData::Dword(0));
    assert_eq!(v.provenance.form, SourceForm::RegExport);
    assert_eq!(
        v.provenance.key,
        r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server"
    );
    assert_eq!(
        view.value(HiveKind::System, ts, "TSEnabled"),
        Lookup::Absent
    );
    assert_eq!(
        view.value(
            HiveKind::System,
            &format!(r"{ts}\RCM\Licensing Core"),
            "LicensingMode"
        ),
        Lookup::Absent
    );
    assert_eq!(
        view.value(
            HiveKind::System,
            r"CurrentControlSet\Services\TermService",
            "Start"
        ),
        Lookup::NotProvided {
            hive: HiveKind::System
        }
    );
    assert_eq!(
        view.key(HiveKind::System, r"CurrentControlSet\Control"),
        Lookup::NotProvided {
            hive: HiveKind::System
        }
    );
    assert_eq!(
        view.key(HiveKind::System, ts)
            .into_found()
            .expect("ts")
            .subkeys,
        vec!["WinStations"]
    );
    assert_eq!(
        view.value(
            HiveKind::System,
            &format!(r"{ts}\winstations\rdp-tcp"),
            "portnumber"
        )
        .into_found()
        .expect("port")
        .data,
        RegData::Dword(3389)
    );
    assert!(view.provides(HiveKind::System));
    assert!(!view.provides(HiveKind::Software));
    // Without Select in the evidence, ControlSet001 cannot be tied to CurrentControlSet.
    assert_eq!(
        view.current_control_set(),
        Lookup::NotProvided {
            hive: HiveKind::System
        }
    );
    assert_eq!(
        view.value(
            HiveKind::System,
            r"ControlSet001\Control\Terminal Server",
            "fDenyTSConnections"
        ),
        Lookup::NotProvided {
            hive: HiveKind::System
        }
    );
}

#[test]
fn control_sets_map_both_ways_in_text_exports() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut sys = hive::system_tree(2);
    sys.at("ControlSet002")
        .subkeys
        .push(Key::new("Control").key(ts_export(0)));
    sys.at("ControlSet001")
        .subkeys
        .push(Key::new("Control").key(ts_export(1)));
    let reg = regtext::reg_export(&sys, r"HKEY_LOCAL_MACHINE\SYSTEM", false);
    let mut inputs = vec![input(
        tmp.path(),
        "system.reg",
        InputKind::RegExport,
        None,
        &regtext::encode(&reg, Encoding::Utf8),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(view.current_control_set(), Lookup::Found(2));
    let v = view
        .value(
            HiveKind::System,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
        )
        .into_found()
        .expect("v");
    assert_eq!(v.data, RegData::Dword(0));
    assert_eq!(
        v.provenance.key,
        r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\Terminal Server"
    );

    // A live export that says CurrentControlSet answers ControlSet00N queries when N is current.
    let live = regtext::reg_export(
        &ts_export(0),
        r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server",
        false,
    );
    let select = regtext::reg_export(
        &hive::system_tree(3).subkeys[0],
        r"HKEY_LOCAL_MACHINE\SYSTEM\Select",
        false,
    );
    let mut inputs = vec![
        input(
            tmp.path(),
            "live.reg",
            InputKind::RegExport,
            None,
            live.as_bytes(),
        ),
        input(
            tmp.path(),
            "select.reg",
            InputKind::RegExport,
            None,
            select.as_bytes(),
        ),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(view.current_control_set(), Lookup::Found(3));
    assert!(view
        .value(
            HiveKind::System,
            r"ControlSet003\Control\Terminal Server",
            "fDenyTSConnections"
        )
        .is_found());
    assert_eq!(
        view.value(
            HiveKind::System,
            r"ControlSet001\Control\Terminal Server",
            "fDenyTSConnections"
        ),
        Lookup::NotProvided {
            hive: HiveKind::System
        }
    );

    // Only ControlSet001 exported and no Select anywhere: assumed current, with a warning.
    let only = regtext::reg_export(
        &ts_export(1),
        r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Terminal Server",
        false,
    );
    let mut inputs = vec![input(
        tmp.path(),
        "cs1.reg",
        InputKind::RegExport,
        None,
        only.as_bytes(),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(view.current_control_set(), Lookup::Found(1));
    assert!(codes(&inputs[0]).contains(&"reg-ccs-assumed"));
    assert!(view
        .value(
            HiveKind::System,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections"
        )
        .is_found());
}

#[test]
fn precedence_hive_then_reg_then_reg_query() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut sys = hive::system_tree(1);
    sys.at("ControlSet001")
        .subkeys
        .push(Key::new("Control").key(ts_export(1)));
    let prefix = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server";
    let reg = regtext::reg_export(&ts_export(2), prefix, false);
    let query = regtext::reg_query(&ts_export(3).value("OnlyInQuery", Data::Dword(9)), prefix);
    let mk = |with_hive: bool| {
        let mut v = vec![
            input(
                tmp.path(),
                "q.txt",
                InputKind::RegQuery,
                None,
                &regtext::encode(&query, Encoding::Utf16LeBom),
            ),
            input(
                tmp.path(),
                "r.reg",
                InputKind::RegExport,
                None,
                &regtext::encode(&reg, Encoding::Utf16LeBom),
            ),
        ];
        if with_hive {
            v.push(system_hive(tmp.path(), "SYSTEM", &hive::build_hive(&sys)));
        }
        v
    };
    let ts = r"CurrentControlSet\Control\Terminal Server";
    let mut all = mk(true);
    let view = RegistryView::load(&all).apply_to(&mut all);
    let v = view
        .value(HiveKind::System, ts, "fDenyTSConnections")
        .into_found()
        .expect("v");
    assert_eq!(
        (v.data, v.provenance.form),
        (RegData::Dword(1), SourceForm::Hive)
    );
    // The hive covers everything: a value only in reg query text is absent.
    assert_eq!(
        view.value(HiveKind::System, ts, "OnlyInQuery"),
        Lookup::Absent
    );
    let mut texts = mk(false);
    let view = RegistryView::load(&texts).apply_to(&mut texts);
    let v = view
        .value(HiveKind::System, ts, "fDenyTSConnections")
        .into_found()
        .expect("v");
    assert_eq!(
        (v.data, v.provenance.form),
        (RegData::Dword(2), SourceForm::RegExport)
    );
    let forms: Vec<SourceForm> = view.sources().iter().map(|s| s.form).collect();
    assert_eq!(forms, vec![SourceForm::RegExport, SourceForm::RegQuery]);
    let mut query_only = vec![mk(false).remove(0)];
    let view = RegistryView::load(&query_only).apply_to(&mut query_only);
    let v = view
        .value(HiveKind::System, ts, "fDenyTSConnections")
        .into_found()
        .expect("v");
    assert_eq!(
        (v.data, v.provenance.form),
        (RegData::Dword(3), SourceForm::RegQuery)
    );
}

#[test]
fn user_hives_deletions_and_several_hives_in_one_text_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = "Windows Registry Editor Version 5.00\r\n\r\n\
[HKEY_USERS\\S-1-5-21-1-2-3-1001\\Software\\Policies\\Microsoft\\Windows NT\\Terminal Services]\r\n\
\"fDisableCdm\"=dword:00000001\r\n\"Gone\"=dword:00000001\r\n\"Gone\"=-\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services]\r\n\
\"LicenseServers\"=\"ls1.example.com,ls2\"\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\Client]\r\n\"x\"=dword:00000001\r\n\r\n\
[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\Client]\r\n\r\n\
[HKEY_CLASSES_ROOT\\.rdp]\r\n@=\"RDP.File\"\r\n";
    let mut inputs = vec![input(
        tmp.path(),
        "mixed.reg",
        InputKind::RegExport,
        None,
        &regtext::encode(text, Encoding::Utf16LeBom),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        inputs[0].status,
        InputStatus::Partial,
        "{:?}",
        inputs[0].problems
    );
    assert!(
        inputs[0]
            .problems
            .iter()
            .any(|p| p.code == "reg-text-key-skipped" && p.message.starts_with("line 16:")),
        "{:?}",
        inputs[0].problems
    );
    let pol = r"Software\Policies\Microsoft\Windows NT\Terminal Services";
    let v = view
        .value(HiveKind::NtUser, pol, "fDisableCdm")
        .into_found()
        .expect("user policy");
    assert_eq!(
        v.provenance.key,
        r"HKEY_USERS\S-1-5-21-1-2-3-1001\Software\Policies\Microsoft\Windows NT\Terminal Services"
    );
    assert_eq!(view.value(HiveKind::NtUser, pol, "Gone"), Lookup::Absent);
    let mpol = r"Policies\Microsoft\Windows NT\Terminal Services";
    assert_eq!(
        view.value(HiveKind::Software, mpol, "LicenseServers")
            .into_found()
            .expect("ls")
            .data,
        RegData::Sz("ls1.example.com,ls2".into())
    );
    assert_eq!(
        view.key(HiveKind::Software, &format!(r"{mpol}\Client")),
        Lookup::Absent
    );
    assert!(view
        .key(HiveKind::Software, mpol)
        .into_found()
        .expect("k")
        .subkeys
        .is_empty());
}

#[test]
fn several_hive_files_of_one_kind_prefer_clean_and_not_regback() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut a = hive::system_tree(1);
    a.set(r"ControlSet001\Control", "Which", Data::Sz("live".into()));
    let mut b = a.clone();
    b.set(
        r"ControlSet001\Control",
        "Which",
        Data::Sz("regback".into()),
    );
    let mut inputs = vec![
        system_hive(
            tmp.path(),
            "C/Windows/System32/config/RegBack/SYSTEM",
            &hive::build_hive(&b),
        ),
        system_hive(
            tmp.path(),
            "C/Windows/System32/config/SYSTEM",
            &hive::build_hive(&a),
        ),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        view.value(HiveKind::System, r"CurrentControlSet\Control", "Which")
            .into_found()
            .expect("v")
            .data,
        RegData::Sz("live".into())
    );
    assert!(codes(&inputs[0]).contains(&"hive-superseded"));
}

#[test]
fn malformed_text_yields_errors_naming_the_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let reg = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n\"Good\"=dword:00000001\r\n\"BadHex\"=hex:01,0g,02\r\n\"Cut\"=hex:01,02,\\\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X\\Y]\r\n\"AfterCut\"=dword:00000002\r\n";
    let mut bad_utf8 = reg.as_bytes().to_vec();
    bad_utf8.extend(b"\"Latin\"=\"caf\xe9\"\r\n");
    let query = "HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    A    REG_DWORD    0x1\r\n    B    REG_DWORD    nothex\r\n    C    REG_WHATEVER\r\n";
    let mut inputs = vec![
        input(
            tmp.path(),
            "a.reg",
            InputKind::RegExport,
            None,
            &regtext::encode(reg, Encoding::Utf16LeBom),
        ),
        input(tmp.path(), "b.reg", InputKind::RegExport, None, &bad_utf8),
        input(
            tmp.path(),
            "c.txt",
            InputKind::RegQuery,
            None,
            query.as_bytes(),
        ),
        input(
            tmp.path(),
            "d.reg",
            InputKind::RegExport,
            None,
            b"not a reg file\r\n",
        ),
        // A UTF-16 file cut in the middle of a character.
        input(
            tmp.path(),
            "e.reg",
            InputKind::RegExport,
            None,
            &regtext::encode(reg, Encoding::Utf16LeBom)[..101],
        ),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let lines = |i: &Input| {
        i.problems
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
    };
    let a = lines(&inputs[0]);
    assert!(
        a[0].starts_with("line 5: value \"BadHex\": bad hex byte \"0g\""),
        "{a:?}"
    );
    assert!(
        a[1].starts_with("line 6: value \"Cut\"") && a[1].contains("truncated"),
        "{a:?}"
    );
    assert_eq!(inputs[0].status, InputStatus::Partial);
    assert_eq!(
        view.value(HiveKind::Software, "X", "Good")
            .into_found()
            .expect("good")
            .data,
        RegData::Dword(1)
    );
    assert_eq!(
        view.value(HiveKind::Software, "X", "BadHex"),
        Lookup::Absent
    );
    assert!(view
        .value(HiveKind::Software, r"X\Y", "AfterCut")
        .is_found());
    let b = lines(&inputs[1]);
    assert!(
        b.iter().any(|m| m.starts_with("line 10: not valid UTF-8")),
        "{b:?}"
    );
    let c = lines(&inputs[2]);
    assert!(c[0].starts_with("line 3: value \"B\""), "{c:?}");
    assert!(
        c[1].starts_with("line 4: value line without a REG_<TYPE> token"),
        "{c:?}"
    );
    assert_eq!(inputs[3].status, InputStatus::Rejected);
    assert!(lines(&inputs[3])[0].starts_with("line 1: not a .reg export"));
    let e = lines(&inputs[4]);
    assert!(e.iter().any(|m| m.contains("half a character")), "{e:?}");
}

#[test]
fn reader_assertions_on_bad_offsets_become_unreadable() {
    let mut t = Key::new("ROOT");
    t.set("K", "Long", Data::Sz("y".repeat(40)));
    t.set("K", "Fine", Data::Dword(1));
    let mut b = hive::build_hive(&t);
    let vk = hive::find_value_cell(&b, "Long").expect("vk");
    // A non-inline value whose data offset is "none": nt-hive asserts on it.
    b[vk + 8..vk + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        "h",
        InputKind::Hive,
        Some(HiveKind::Software),
        &b,
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    match view.value(HiveKind::Software, "K", "Long") {
        Lookup::Unreadable(u) => assert_eq!(u.file, "h"),
        other => panic!("expected unreadable, got {other:?}"),
    }
    assert_eq!(
        view.value(HiveKind::Software, "K", "Fine")
            .into_found()
            .expect("fine")
            .data,
        RegData::Dword(1)
    );
}

#[test]
fn large_subkey_lists_use_index_roots() {
    let mut t = Key::new("ROOT");
    for i in 0..3000 {
        t.at(&format!(r"Many\Key{i:04}"));
    }
    let b = hive::build_hive(&t);
    // The generated hive really has an `ri` cell (so nt-hive's index-root path is exercised).
    let has_ri = (4096..b.len() - 8)
        .step_by(8)
        .any(|p| &b[p + 4..p + 6] == b"ri");
    assert!(has_ri, "regf wrote no ri list");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        "h",
        InputKind::Hive,
        Some(HiveKind::Software),
        &b,
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let k = view
        .key(HiveKind::Software, "Many")
        .into_found()
        .expect("many");
    assert_eq!(k.subkeys.len(), 3000);
    for i in (0..3000).step_by(97) {
        assert!(
            view.key(HiveKind::Software, &format!(r"Many\key{i:04}"))
                .is_found(),
            "{i}"
        );
    }
}

#[test]
fn damaged_base_block_is_recovered_from_the_log_or_read_as_is() {
    let (old, new) = old_new();
    let (old_b, new_b) = (hive::build_hive(&old), hive::build_hive(&new));
    let mut dirty = hive::dirty_with_new_logs(&old_b, &new_b, 40, 2, None);
    // Break the primary's checksum (a byte in the reserved part of the base block).
    dirty.primary[200] ^= 0x5A;
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![
        system_hive(tmp.path(), "SYSTEM", &dirty.primary),
        system_log(tmp.path(), "SYSTEM.LOG1", &dirty.logs[0].1),
    ];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let c = codes(&inputs[0]);
    assert!(c.contains(&"hive-base-block-recovered"), "{c:?}");
    assert!(c.contains(&"hive-log-replayed"), "{c:?}");
    assert_new_state(&view);

    // Sequence numbers equal but the checksum wrong, no logs: dirty, read as it is.
    let mut bad = old_b.clone();
    bad[200] ^= 0x5A;
    let mut inputs = vec![system_hive(tmp.path(), "b/SYSTEM", &bad)];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let p = inputs[0]
        .problems
        .iter()
        .find(|p| p.code == "hive-dirty-no-logs")
        .expect("dirty");
    assert!(p.message.contains("checksum"), "{}", p.message);
    assert!(
        codes(&inputs[0]).contains(&"hive-base-block"),
        "{:?}",
        inputs[0].problems
    );
    assert_old_state(&view);
}

#[test]
fn key_last_written_time_from_hives_only() {
    let mut t = Key::new("ROOT");
    t.set(
        r"Policies\Microsoft\Windows NT\Terminal Services",
        "LicensingMode",
        Data::Dword(4),
    );
    let mut b = hive::build_hive(&t);
    let nk = hive::find_key_cell(&b, "Terminal Services").expect("nk");
    // 2024-03-01T12:00:00Z as FILETIME.
    let ft: u64 = (1_709_294_400 + 11_644_473_600) * 10_000_000;
    b[nk + 4..nk + 12].copy_from_slice(&ft.to_le_bytes());
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        "SOFTWARE",
        InputKind::Hive,
        Some(HiveKind::Software),
        &b,
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let k = view
        .key(
            HiveKind::Software,
            r"Policies\Microsoft\Windows NT\Terminal Services",
        )
        .into_found()
        .expect("key");
    assert_eq!(
        k.last_written.map(|t| t.to_string()),
        Some("2024-03-01T12:00:00Z".to_string())
    );
    let reg = regtext::reg_export(&t, r"HKEY_LOCAL_MACHINE\SOFTWARE", false);
    let mut inputs = vec![input(
        tmp.path(),
        "s.reg",
        InputKind::RegExport,
        None,
        reg.as_bytes(),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    assert_eq!(
        view.key(HiveKind::Software, "Policies")
            .into_found()
            .expect("key")
            .last_written,
        None
    );
}
