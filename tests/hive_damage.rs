//! Damage that used to pass as clean (issue 14, item 4), on generated hives: garbage cells in
//! subkey and value lists, truncated hive bins, a bad base-block checksum (with and without a
//! transaction log to recover the base block from), and a file that starts with `regf` and then
//! holds garbage. Each shape is checked through the library (readings, lookups) and through the
//! real binary (`analyze --format json` input statuses, exit code).

use std::path::Path;

use assert_cmd::Command;
use rdsdiag::capture::{self, CaptureOptions, Input};
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::{Lookup, RegData, RegistryView};
use rdsdiag_testsupport::hive::{self, Data, Key};

const TS: &str = r"ControlSet001\Control\Terminal Server";

/// A SYSTEM tree with a `Terminal Server` key holding values and three subkeys, and enough
/// services to span several hive-bin pages.
fn system_tree() -> Key {
    let mut t = hive::system_tree(1);
    t.set(TS, "fDenyTSConnections", Data::Dword(0));
    t.set(TS, "TSUserEnabled", Data::Dword(0));
    t.set(
        &format!(r"{TS}\RCM\Licensing Core"),
        "LicensingMode",
        Data::Dword(4),
    );
    t.set(
        &format!(r"{TS}\WinStations\RDP-Tcp"),
        "PortNumber",
        Data::Dword(3389),
    );
    t.set(
        &format!(r"{TS}\AddIns\Clip Redirector"),
        "Name",
        Data::Sz("RDPClip".into()),
    );
    for i in 0..40 {
        t.set(
            &format!(r"ControlSet001\Services\Svc{i:02}"),
            "Blob",
            Data::Binary(vec![i as u8; 400]),
        );
    }
    t.set(
        r"ControlSet001\Control\ComputerName\ComputerName",
        "ComputerName",
        Data::Sz("RDSH01".into()),
    );
    t
}

fn clean() -> Vec<u8> {
    hive::build_hive(&system_tree())
}

/// Write `files` into a fresh folder and return it with its inventory.
fn capture_of(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<Input>) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let cap = capture::open(dir.path(), &CaptureOptions::default()).expect("inventory");
    (dir, cap.inputs)
}

/// Load the registry of a folder holding `files`: the inputs with the readings applied, and the
/// view.
fn load(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<Input>, RegistryView) {
    let (dir, mut inputs) = capture_of(files);
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    (dir, inputs, view)
}

fn named<'a>(inputs: &'a [Input], name: &str) -> &'a Input {
    inputs
        .iter()
        .find(|i| i.path == name)
        .unwrap_or_else(|| panic!("{name} listed: {inputs:?}"))
}

fn problem<'a>(i: &'a Input, code: &str) -> &'a rdsdiag::evidence::Problem {
    i.problems
        .iter()
        .find(|p| p.code.as_str() == code)
        .unwrap_or_else(|| panic!("{code} on {}: {:?}", i.path, i.problems))
}

fn codes(i: &Input) -> Vec<&'static str> {
    i.problems.iter().map(|p| p.code.as_str()).collect()
}

/// `analyze --format json` over a folder: exit code and the `SYSTEM` input's JSON.
fn analyze(dir: &Path) -> (i32, serde_json::Value, serde_json::Value) {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(["analyze", "--format", "json", &dir.display().to_string()])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json: {e}\n{}",
            String::from_utf8_lossy(&out.stderr).into_owned()
        )
    });
    let cap = v["captures"][0].clone();
    let system = cap["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["path"] == "SYSTEM")
        .expect("SYSTEM listed")
        .clone();
    (out.status.code().expect("exit code"), system, cap)
}

fn dword(view: &RegistryView, path: &str, name: &str) -> Lookup<u64> {
    view.value(HiveKind::System, path, name)
        .map(|v| v.data.as_u64().expect("number"))
}

#[test]
fn the_clean_hive_is_parsed_without_problems() {
    let (dir, inputs, view) = load(&[("SYSTEM", &clean())]);
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Parsed, "{:?}", system.problems);
    assert!(system.problems.is_empty(), "{:?}", system.problems);
    assert_eq!(
        dword(
            &view,
            r"CurrentControlSet\Control\Terminal Server\RCM\Licensing Core",
            "LicensingMode"
        ),
        Lookup::Found(4)
    );
    let (code, json, _) = analyze(dir.path());
    assert_eq!(json["status"], "parsed", "{json}");
    assert_eq!(code, 0, "the same hive undamaged exits 0");
}

/// Garbage in a subkey list of `Terminal Server`: each shape gives `partial` with the key path
/// and the cell offset, through the library and the binary.
#[test]
fn garbage_in_a_subkey_list_is_partial_with_key_and_offset() {
    let base = clean();
    let vk = hive::value_cell_offset(&base, "fDenyTSConnections");
    let root = hive::key_cell_offset(
        &base,
        "CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}",
    );
    let outside = hive::hbins_size(&base) + 0x1000;
    let shapes: [(&str, u32, &str); 4] = [
        ("0xFFFFFFFF", u32::MAX, "0xFFFFFFFF"),
        ("outside the hive bins", outside, "outside the hive bins"),
        ("a value cell", vk, "not a key node"),
        ("an ancestor (cycle)", root, "listed again"),
    ];
    for (shape, offset, says) in shapes {
        let mut b = base.clone();
        hive::set_subkey_element(&mut b, "Terminal Server", 1, offset);
        let (dir, inputs, view) = load(&[("SYSTEM", &b)]);
        let system = named(&inputs, "SYSTEM");
        assert_eq!(
            system.status,
            InputStatus::Partial,
            "{shape}: {:?}",
            system.problems
        );
        let p = problem(system, "hive-cells-damaged");
        assert!(
            p.message
                .contains(r"below key ControlSet001\Control\Terminal Server:"),
            "{shape}: {}",
            p.message
        );
        assert!(p.message.contains(says), "{shape}: {}", p.message);
        if offset != u32::MAX {
            assert!(
                p.message.contains(&format!("cell {offset:#x}")),
                "{shape}: {}",
                p.message
            );
            assert_eq!(p.offset, Some(4096 + u64::from(offset)), "{shape}");
        }
        // The rest of the hive still answers; nothing panics on the damaged list.
        assert_eq!(
            dword(
                &view,
                r"CurrentControlSet\Control\Terminal Server",
                "fDenyTSConnections"
            ),
            Lookup::Found(0),
            "{shape}"
        );
        let _ = view.key(
            HiveKind::System,
            r"CurrentControlSet\Control\Terminal Server",
        );
        let (code, json, _) = analyze(dir.path());
        assert_eq!(json["status"], "partial", "{shape}: {json}");
        assert!(
            json["problems"]
                .as_array()
                .expect("problems")
                .iter()
                .any(|p| p["code"] == "hive-cells-damaged"),
            "{shape}: {json}"
        );
        assert_eq!(code, 1, "{shape}: damaged evidence exits 1");
    }
}

#[test]
fn garbage_in_a_value_list_is_partial() {
    let mut b = clean();
    hive::set_value_element(&mut b, "Terminal Server", 0, 0x7FFF_FFF8);
    let (dir, inputs, _view) = load(&[("SYSTEM", &b)]);
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Partial);
    let p = problem(system, "hive-cells-damaged");
    assert!(
        p.message.contains(r"ControlSet001\Control\Terminal Server"),
        "{}",
        p.message
    );
    assert!(p.message.contains("cell 0x7ffffff8"), "{}", p.message);
    let (code, json, _) = analyze(dir.path());
    assert_eq!(json["status"], "partial", "{json}");
    assert_eq!(code, 1);
}

/// Several damages: the first is named, the rest counted.
#[test]
fn further_damage_is_counted() {
    let mut b = clean();
    hive::set_subkey_element(&mut b, "Terminal Server", 0, u32::MAX);
    hive::set_subkey_element(&mut b, "Terminal Server", 2, u32::MAX);
    hive::set_value_element(&mut b, "Select", 0, 0x7FFF_FFF8);
    let (_dir, inputs, _) = load(&[("SYSTEM", &b)]);
    let p = problem(named(&inputs, "SYSTEM"), "hive-cells-damaged");
    assert!(
        p.message.contains("; 2 more damaged cells"),
        "{}",
        p.message
    );
}

#[test]
fn truncated_hive_bins_are_partial() {
    let b = clean();
    let promised = hive::hbins_size(&b) as usize;
    assert!(promised >= 3 * 4096, "enough bins to cut: {promised}");
    // Cut the last page, or, when the root key lives there, just after the root's cell.
    let root = u32::from_le_bytes(b[36..40].try_into().expect("4")) as usize;
    let root_size = i32::from_le_bytes(b[4096 + root..4100 + root].try_into().expect("4"));
    let root_end = root + root_size.unsigned_abs() as usize;
    let keep = (promised - 4096).max(root_end);
    assert!(
        keep < promised,
        "room to cut after the root: {root_end} of {promised}"
    );
    let cut = hive::truncate_hive_bins(&b, keep);
    let (dir, inputs, _) = load(&[("SYSTEM", &cut)]);
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Partial, "{:?}", system.problems);
    let p = problem(system, "hive-truncated");
    assert!(
        p.message.starts_with(&format!(
            "truncated: {keep} of {promised} bytes of hive bins present"
        )),
        "{}",
        p.message
    );
    let (code, json, _) = analyze(dir.path());
    assert_eq!(json["status"], "partial", "{json}");
    assert_eq!(code, 1);
}

#[test]
fn a_bad_checksum_is_named_and_without_logs_the_hive_is_partial() {
    let mut b = clean();
    hive::break_checksum(&mut b);
    let (dir, inputs, view) = load(&[("SYSTEM", &b)]);
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Partial);
    let p = problem(system, "hive-base-block-checksum");
    assert!(
        p.message
            .starts_with("base block checksum is wrong: stored 0x"),
        "{}",
        p.message
    );
    assert_eq!(p.offset, Some(0x1FC));
    assert!(codes(system).contains(&"hive-dirty-no-logs"));
    // Read anyway, as it is.
    assert_eq!(
        dword(
            &view,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections"
        ),
        Lookup::Found(0)
    );
    let (code, json, _) = analyze(dir.path());
    assert_eq!(json["status"], "partial", "{json}");
    assert_eq!(code, 1);
}

/// The primary's base block is bad; its `.LOG1` has a valid one: the base block is recovered from
/// the log and the log's entries are replayed (yarp: `apply_new_log_files`, invalid base block).
#[test]
fn a_bad_checksum_with_a_valid_log_recovers_the_base_block_from_the_log() {
    let old = system_tree();
    let mut new = old.clone();
    new.set(TS, "fDenyTSConnections", Data::Dword(1));
    let dirty = hive::dirty_with_new_logs(
        &hive::build_hive(&old),
        &hive::build_hive(&new),
        30,
        1,
        None,
    );
    let mut primary = dirty.primary.clone();
    hive::break_checksum(&mut primary);
    let log = &dirty.logs[0].1;
    let (_dir, inputs, view) = load(&[("SYSTEM", &primary), ("SYSTEM.LOG1", log)]);
    let system = named(&inputs, "SYSTEM");
    let got = codes(system);
    assert!(got.contains(&"hive-base-block-checksum"), "{got:?}");
    assert!(got.contains(&"hive-base-block-recovered"), "{got:?}");
    assert!(got.contains(&"hive-log-replayed"), "{got:?}");
    assert_eq!(
        dword(
            &view,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections"
        ),
        Lookup::Found(1),
        "the log's state, not the stale primary's"
    );
    let p = problem(system, "hive-base-block-recovered");
    assert!(p.message.contains("SYSTEM.LOG1"), "{}", p.message);
    assert_eq!(named(&inputs, "SYSTEM.LOG1").status, InputStatus::Parsed);
}

/// `regf` then garbage, named `SYSTEM`: a hive input (not an ignored log), rejected with the
/// reason, and lookups in SYSTEM are unreadable (naming the file), not "not provided".
#[test]
fn regf_then_garbage_is_a_rejected_hive_and_its_kind_unreadable() {
    for name in ["SYSTEM", "system"] {
        let garbage = hive::regf_then_garbage(16 * 1024, 0x5EED);
        let (dir, inputs) = capture_of(&[(name, &garbage)]);
        let i = named(&inputs, name);
        assert_eq!(i.kind, InputKind::Hive, "{i:?}");
        assert_eq!(i.hive, Some(HiveKind::System), "{i:?}");
        assert!(
            problem(i, "hive-role")
                .message
                .contains("from the file's own name"),
            "{:?}",
            i.problems
        );
        let mut inputs = inputs;
        let view = RegistryView::load(&inputs).apply_to(&mut inputs);
        let i = named(&inputs, name);
        assert_eq!(i.status, InputStatus::Rejected);
        let p = problem(i, "hive-bad-base-block");
        assert!(
            p.message.starts_with("bad base block: file type "),
            "{}",
            p.message
        );
        assert!(p.message.contains("checksum"), "{}", p.message);
        for l in [
            view.value(
                HiveKind::System,
                r"CurrentControlSet\Control\Terminal Server",
                "fDenyTSConnections",
            )
            .cast::<()>(),
            view.key(HiveKind::System, r"Select").cast(),
            view.current_control_set().cast(),
        ] {
            match l {
                Lookup::Unreadable(u) => {
                    assert_eq!(u.file, name);
                    assert!(u.reason.contains("bad base block"), "{}", u.reason);
                }
                other => panic!("{name}: unreadable expected, got {other:?}"),
            }
        }
        // Another hive kind stays "not provided".
        assert!(matches!(
            view.value(
                HiveKind::Software,
                r"Microsoft\Windows NT\CurrentVersion",
                "ProductName"
            ),
            Lookup::NotProvided { .. }
        ));
        if name == "SYSTEM" {
            let (code, json, cap) = analyze(dir.path());
            assert_eq!(json["kind"], "hive", "{json}");
            assert_eq!(json["status"], "rejected", "{json}");
            assert_eq!(code, 1);
            let host = &cap["host"];
            for fact in [
                &host["computer_name"],
                &host["control_set"],
                &host["time_zone"]["key_name"],
            ] {
                assert_eq!(fact["state"], "unreadable", "not \"not provided\": {host}");
                assert_eq!(fact["file"], "SYSTEM", "{host}");
            }
            // The verdict says unreadable, never "not provided".
            let out = Command::cargo_bin("rdsdiag")
                .expect("binary")
                .args([
                    "analyze",
                    "--color",
                    "never",
                    &dir.path().display().to_string(),
                ])
                .output()
                .expect("runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains("The SYSTEM hive (SYSTEM) is unreadable, not missing"),
                "{text}"
            );
            assert!(!flat.contains("SYSTEM hive not provided"), "{text}");
        }
    }
}

/// A regf file whose base block names its hive keeps that name as the role's signal.
#[test]
fn regf_then_garbage_with_a_readable_stored_name_uses_it() {
    let mut garbage = hive::regf_then_garbage(16 * 1024, 7);
    hive::set_file_name(&mut garbage, r"\??\C:\Windows\System32\config\SOFTWARE");
    let (_dir, inputs) = capture_of(&[("blob.bin", &garbage)]);
    let i = named(&inputs, "blob.bin");
    assert_eq!(i.kind, InputKind::Hive);
    assert_eq!(i.hive, Some(HiveKind::Software), "{i:?}");
    assert!(
        problem(i, "hive-role")
            .message
            .contains("stored in the hive header"),
        "{:?}",
        i.problems
    );
}

/// A large generated hive walks in bounded time and is clean; the data is read back.
#[test]
fn a_hive_with_many_keys_walks_clean() {
    let mut t = hive::system_tree(1);
    for i in 0..3000 {
        t.set(
            &format!(r"ControlSet001\Services\S{i:04}"),
            "Start",
            Data::Dword(i),
        );
    }
    let (_dir, inputs, view) = load(&[("SYSTEM", &hive::build_hive(&t))]);
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Parsed, "{:?}", system.problems);
    assert!(matches!(
        view.value(
            HiveKind::System,
            r"CurrentControlSet\Services\S2999",
            "Start"
        )
        .into_found()
        .map(|v| v.data),
        Some(RegData::Dword(2999))
    ));
}

/// `regf` then garbage named like a log stays a log: the hive beside it answers, untouched.
#[test]
fn regf_then_garbage_named_as_a_log_stays_a_log() {
    let garbage = hive::regf_then_garbage(8 * 1024, 99);
    let (_dir, inputs, view) = load(&[("SYSTEM", &clean()), ("SYSTEM.LOG1", &garbage)]);
    let log = named(&inputs, "SYSTEM.LOG1");
    assert_eq!(log.kind, InputKind::HiveLog, "{log:?}");
    let system = named(&inputs, "SYSTEM");
    assert_eq!(system.status, InputStatus::Parsed, "{:?}", system.problems);
    assert_eq!(
        dword(
            &view,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections"
        ),
        Lookup::Found(0)
    );
}
