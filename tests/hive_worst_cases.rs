//! Worst cases for the hive reader (issue 16): hives and transaction logs that used to make nt-hive
//! assert (a root cell offset of 0xFFFFFFFF, 0xFFFFFFFF or a cell of size 0 in a list), make the
//! recursive `reg` walk run away (a subkey list naming the root, a key with an empty name) or
//! amplify a small file into a large answer (a leaf list or a big-data segment named twice, lists
//! shared by two keys), each generated from a small SYSTEM tree and patched.
//!
//! Every case runs through the real binary for `reg HKLM\SYSTEM --recurse`, `analyze` and
//! `config`: the exit code is 0, 1 or 2 (never a panic's 101 or an abort's 134), nothing says a
//! reader panicked, the damage is reported with its file offset, and the walk returns each key of
//! the file at most once. The same cases go through the library with a panic hook that counts:
//! nt-hive is never handed a cell it would panic on (the last-resort guards never fire).

use std::cell::Cell;
use std::path::Path;

use assert_cmd::Command;
use rdsdiag::capture::{self, CaptureOptions};
use rdsdiag::evidence::HiveKind;
use rdsdiag::registry::{query, Lookup, RegistryView};
use rdsdiag_testsupport::hive::{self, Data, Key};
use serde_json::Value;

const ROOT: &str = "CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}";
const TS: &str = r"ControlSet001\Control\Terminal Server";
const NIL: u32 = u32::MAX;

/// A SYSTEM tree with values of each storage kind (inline, a cell, big data), a key with more
/// subkeys than one leaf list holds (so its list is an `ri`), and a few levels.
fn tree() -> Key {
    let mut t = hive::system_tree(1);
    t.set(TS, "fDenyTSConnections", Data::Dword(0));
    t.set(TS, "Name", Data::Sz("x".repeat(40)));
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
        &format!(r"{TS}\RCM"),
        "Certificate",
        Data::Binary(vec![5; 20_000]),
    );
    for i in 0..1100 {
        t.set(
            &format!(r"ControlSet001\Services\S{i:04}"),
            "Start",
            Data::Dword(i % 5),
        );
    }
    t
}

fn count_keys(k: &Key) -> usize {
    k.walk().len()
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// File offset of the data of the cell at hive-bins offset `cell`.
fn data_of(cell: u32) -> usize {
    4096 + cell as usize + 4
}

/// File offset of a cell's size field.
fn file_offset(cell: u32) -> u64 {
    4096 + u64::from(cell)
}

/// The subkey-list cell of `key`.
fn subkey_list(b: &[u8], key: &str) -> u32 {
    le32(b, hive::find_key_cell(b, key).expect("key") + 28)
}

/// The big-data (`db`) cell of value `name`.
fn big_data(b: &[u8], name: &str) -> u32 {
    let vk = hive::find_value_cell(b, name).expect("value");
    let db = le32(b, vk + 8);
    assert_eq!(
        &b[data_of(db)..data_of(db) + 2],
        b"db",
        "{name} is big data"
    );
    db
}

/// What a case must show.
struct Expect {
    /// The problem code on the `SYSTEM` input.
    code: &'static str,
    /// The file offset that problem names.
    offset: u64,
    /// Words the problem's message holds.
    says: &'static str,
    /// A file offset the `reg --recurse` answer names (an unreadable list, a cycle), if any.
    reg_offset: Option<u64>,
}

struct Case {
    name: &'static str,
    files: Vec<(String, Vec<u8>)>,
    expect: Expect,
}

fn system(name: &'static str, b: Vec<u8>, expect: Expect) -> Case {
    Case {
        name,
        files: vec![("SYSTEM".into(), b)],
        expect,
    }
}

/// The generated worst cases, each with what it must report.
fn cases() -> Vec<Case> {
    let clean = hive::build_hive(&tree());
    let root = hive::key_cell_offset(&clean, ROOT);
    let ts = hive::key_cell_offset(&clean, "Terminal Server");
    let mut out = Vec::new();

    // nt-hive: `assert!(data_offset != u32::MAX)` on the root cell offset.
    let mut b = clean.clone();
    put32(&mut b, 36, NIL);
    hive::fix_checksum(&mut b);
    out.push(system(
        "root cell offset 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-no-root",
            offset: 36,
            says: "0xffffffff",
            reg_offset: Some(36),
        },
    ));

    // A cell whose size field is 0: nt-hive computes `size - 4` (an overflow panic in builds
    // with overflow checks, as the tests' binary is).
    let failed = hive::value_cell_offset(&clean, "Failed");
    let mut b = clean.clone();
    put32(&mut b, 4096 + failed as usize, 0);
    put32(&mut b, 36, failed);
    hive::fix_checksum(&mut b);
    out.push(system(
        "root cell of size 0",
        b,
        Expect {
            code: "hive-no-root",
            offset: 36,
            says: "root cell offset",
            reg_offset: Some(36),
        },
    ));

    let mut b = clean.clone();
    hive::set_subkey_element(&mut b, "Terminal Server", 0, NIL);
    out.push(system(
        "subkey-list element 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(ts),
            says: "0xFFFFFFFF",
            reg_offset: Some(file_offset(ts)),
        },
    ));

    let mut b = clean.clone();
    put32(&mut b, 4096 + failed as usize, 0);
    hive::set_subkey_element(&mut b, "Terminal Server", 0, failed);
    out.push(system(
        "subkey-list element at a cell of size 0",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(failed),
            says: "not allocated",
            reg_offset: Some(file_offset(ts)),
        },
    ));

    let mut b = clean.clone();
    hive::set_value_element(&mut b, "Terminal Server", 0, NIL);
    out.push(system(
        "value-list element 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(ts),
            says: "0xFFFFFFFF",
            reg_offset: Some(file_offset(ts)),
        },
    ));

    let name = hive::value_cell_offset(&clean, "Name");
    let mut b = clean.clone();
    put32(&mut b, data_of(name) + 8, NIL);
    out.push(system(
        "value data offset 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(name),
            says: "0xFFFFFFFF",
            reg_offset: Some(file_offset(name)),
        },
    ));

    // Big data: a segment named twice would read up to 65,535 × 16 KiB from one cell.
    let db = big_data(&clean, "Certificate");
    let segs = le32(&clean, data_of(db) + 4);
    let first_seg = le32(&clean, data_of(segs));
    let mut b = clean.clone();
    put32(&mut b, data_of(segs) + 4, first_seg);
    let cert = hive::value_cell_offset(&clean, "Certificate");
    out.push(system(
        "big-data segment named twice",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(first_seg),
            says: "used again",
            reg_offset: Some(file_offset(cert)),
        },
    ));

    let mut b = clean.clone();
    put32(&mut b, data_of(db) + 4, NIL);
    out.push(system(
        "big-data segment list 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(cert),
            says: "0xFFFFFFFF",
            reg_offset: Some(file_offset(cert)),
        },
    ));

    // An `ri` list: an item 0xFFFFFFFF, and every item naming the same leaf list.
    let services = hive::key_cell_offset(&clean, "Services");
    let ri = subkey_list(&clean, "Services");
    assert_eq!(
        &clean[data_of(ri)..data_of(ri) + 2],
        b"ri",
        "Services has an ri list"
    );
    let items = usize::from(u16::from_le_bytes([
        clean[data_of(ri) + 2],
        clean[data_of(ri) + 3],
    ]));
    assert!(items >= 2, "{items} leaf lists");
    let mut b = clean.clone();
    put32(&mut b, data_of(ri) + 4 + 4, NIL);
    out.push(system(
        "index-root item 0xFFFFFFFF",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(services),
            says: "0xFFFFFFFF",
            reg_offset: Some(file_offset(services)),
        },
    ));
    let leaf = le32(&clean, data_of(ri) + 4);
    let mut b = clean.clone();
    for i in 1..items {
        put32(&mut b, data_of(ri) + 4 + 4 * i, leaf);
    }
    out.push(system(
        "index-root items naming one leaf list",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(leaf),
            says: "listed again",
            reg_offset: Some(file_offset(services)),
        },
    ));

    // Cycles: a subkey-list element naming the root, and a key naming the root as each of its
    // subkeys (a walk by name doubles at each turn of the cycle).
    let mut b = clean.clone();
    hive::set_subkey_element(&mut b, "Terminal Server", 0, root);
    out.push(system(
        "subkey-list element naming the root",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(root),
            says: "listed again",
            reg_offset: Some(file_offset(root)),
        },
    ));
    let mut b = clean.clone();
    hive::set_subkey_element(&mut b, "Terminal Server", 0, root);
    hive::set_subkey_element(&mut b, "Terminal Server", 1, root);
    out.push(system(
        "a key listing the root twice",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(root),
            says: "listed again",
            reg_offset: Some(file_offset(root)),
        },
    ));

    // A key whose name has length 0: a walk by name takes it for its parent, for ever.
    let cs = hive::key_cell_offset(&clean, "Control");
    let mut b = clean.clone();
    b[data_of(cs) + 72..data_of(cs) + 74].copy_from_slice(&[0, 0]);
    out.push(system(
        "key with an empty name",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(cs),
            says: "empty name",
            reg_offset: Some(file_offset(cs)),
        },
    ));

    // Lists shared by two keys: the second key's list is not read again.
    let rcm = hive::key_cell_offset(&clean, "RCM");
    let mut b = clean.clone();
    let ts_values = le32(&b, data_of(ts) + 40);
    let ts_count = le32(&b, data_of(ts) + 36);
    put32(&mut b, data_of(rcm) + 36, ts_count);
    put32(&mut b, data_of(rcm) + 40, ts_values);
    out.push(system(
        "value list shared by two keys",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(ts_values),
            says: "shared with another key",
            reg_offset: Some(file_offset(rcm)),
        },
    ));

    out.extend(deep_chain());
    out.extend(dirt_logs());
    out
}

/// A chain of keys 600 levels deep (Windows allows 512, the root key counted: K510 is the 513th).
fn deep_chain() -> Vec<Case> {
    let mut t = hive::system_tree(1);
    let path: Vec<String> = (0..600).map(|i| format!("K{i:03}")).collect();
    t.set(
        &format!(r"ControlSet001\{}", path.join("\\")),
        "Deep",
        Data::Dword(1),
    );
    let b = hive::build_hive(&t);
    let k512 = hive::key_cell_offset(&b, "K510");
    vec![system(
        "keys 600 levels deep",
        b,
        Expect {
            code: "hive-cells-damaged",
            offset: file_offset(k512),
            says: "deeper than 512 levels",
            reg_offset: Some(file_offset(k512)),
        },
    )]
}

/// Old-format (`DIRT`) transaction logs whose dirty bitmap was tampered with: a few bits flipped
/// (the pages land in the wrong places; this pattern made the walk run past 15 s and 2 GiB
/// before), and a base block claiming a hive of 2 GiB.
fn dirt_logs() -> Vec<Case> {
    let mut t = hive::system_tree(1);
    t.set(TS, "fDenyTSConnections", Data::Dword(0));
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
    for i in 0..3000 {
        let svc = format!(r"ControlSet001\Services\Svc{i:04}");
        t.set(&svc, "Blob", Data::Binary(vec![(i % 251) as u8; 600]));
        t.set(&svc, "Start", Data::Dword(i));
    }
    t.set(
        r"ControlSet001\Control\Big",
        "Big",
        Data::Binary(vec![7; 100_000]),
    );
    let old = hive::build_hive(&t);
    t.set(TS, "fDenyTSConnections", Data::Dword(1));
    for i in (0..3000).step_by(7) {
        t.set(
            &format!(r"ControlSet001\Services\Svc{i:04}"),
            "Start",
            Data::Dword(i + 1),
        );
    }
    let new = hive::build_hive(&t);
    let d = hive::dirty_with_old_log(&old, &new, 20);
    let (suffix, log) = &d.logs[0];
    let bitmap = 512 + 4;
    let mut flipped = log.clone();
    for (at, x) in [
        (36, 4),
        (230, 1),
        (259, 8),
        (264, 2),
        (406, 4),
        (442, 1),
        (456, 64),
    ] {
        flipped[bitmap + at] ^= x;
    }
    let mut huge = log.clone();
    put32(&mut huge, 40, 0x7FFF_F000);
    hive::fix_checksum(&mut huge);
    for b in &mut huge[bitmap..bitmap + 4096] {
        *b = 0xFF;
    }
    let case = |name, log: Vec<u8>, code, says| Case {
        name,
        files: vec![
            ("SYSTEM".into(), d.primary.clone()),
            (format!("SYSTEM{suffix}"), log),
        ],
        expect: Expect {
            code,
            offset: 0,
            says,
            reg_offset: None,
        },
    };
    vec![
        case(
            "old-format log with bitmap bits flipped",
            flipped,
            "hive-log-replayed",
            "old-format log",
        ),
        case(
            "old-format log claiming a 2 GiB hive",
            huge,
            "hive-dirty-logs-not-applicable",
            "nothing to apply",
        ),
    ]
}

fn write(files: &[(String, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    dir
}

/// Run the binary: exit code, stdout as JSON, stderr.
fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: JSON: {e} (exit {code})\n{stderr}"));
    (code, json, stderr)
}

/// Nothing in the output says a reader panicked or failed internally.
fn no_panic(case: &str, cmd: &str, code: i32, out: &str, stderr: &str) {
    assert!(
        [0, 1, 2].contains(&code),
        "{case}: {cmd} exits {code}\n{stderr}"
    );
    for text in [out, stderr] {
        for word in [
            "panicked",
            "internal error",
            "hive-reader-failed",
            "reader failed",
        ] {
            assert!(!text.contains(word), "{case}: {cmd} says {word:?}:\n{text}");
        }
    }
}

/// Every `offset` field anywhere in a JSON value.
fn offsets(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            if let Some(o) = m.get("offset").and_then(Value::as_u64) {
                out.push(o);
            }
            m.values().for_each(|x| offsets(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| offsets(x, out)),
        _ => {}
    }
}

#[test]
fn every_command_reports_the_damage_without_panicking() {
    let limit = count_keys(&tree()) + 2100;
    // `DUMP=dir` also keeps every case in `dir/<case name>/` for measuring the release binary
    // (`docs/performance.md`, "Worst cases").
    let dump = std::env::var_os("DUMP").map(std::path::PathBuf::from);
    for case in cases() {
        let dir = write(&case.files);
        if let Some(root) = &dump {
            let keep = root.join(case.name.replace(' ', "_"));
            std::fs::create_dir_all(&keep).expect("mkdir");
            for (name, bytes) in &case.files {
                std::fs::write(keep.join(name), bytes).expect("write");
            }
        }
        let path = dir.path().display().to_string();
        let e = &case.expect;

        let (code, v, err) = run(&["analyze", "--format", "json", &path]);
        no_panic(case.name, "analyze", code, &v.to_string(), &err);
        assert_eq!(code, 1, "{}: damaged evidence exits 1\n{err}", case.name);
        let cap = &v["captures"][0];
        assert_ne!(cap["status"], "failed", "{}: {cap}", case.name);
        let system = cap["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .find(|i| i["path"] == "SYSTEM")
            .expect("SYSTEM listed");
        let p = system["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .find(|p| p["code"] == e.code)
            .unwrap_or_else(|| panic!("{}: {} on SYSTEM: {system}", case.name, e.code));
        assert!(
            p["message"].as_str().expect("message").contains(e.says),
            "{}: {p}",
            case.name
        );
        if e.code != "hive-log-replayed" && e.code != "hive-dirty-logs-not-applicable" {
            assert_eq!(p["offset"], e.offset, "{}: {p}", case.name);
        }

        let (code, v, err) = run(&["config", "--format", "json", &path]);
        no_panic(case.name, "config", code, &v.to_string(), &err);
        assert_eq!(code, 1, "{}: config of damaged evidence exits 1", case.name);
        assert_eq!(v["captures"][0]["status"], "analysed", "{}", case.name);

        let (code, v, err) = run(&[
            "reg",
            &path,
            r"HKLM\SYSTEM",
            "--recurse",
            "--format",
            "json",
        ]);
        no_panic(case.name, "reg", code, &v.to_string(), &err);
        assert!([0, 1].contains(&code), "{}: reg exits {code}", case.name);
        let keys = v["keys"].as_array().expect("keys");
        assert!(
            keys.len() <= limit,
            "{}: {} keys from a file holding at most {limit}",
            case.name,
            keys.len()
        );
        let mut seen: Vec<&str> = keys.iter().filter_map(|k| k["key"].as_str()).collect();
        let n = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), n, "{}: a key listed twice", case.name);
        if let Some(o) = e.reg_offset {
            let mut found = Vec::new();
            offsets(&v, &mut found);
            assert!(
                found.contains(&o),
                "{}: reg names offset {o:#x}; it names {found:x?}",
                case.name
            );
        }
    }
}

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

/// Through the library: loading and asking everything never reaches a panic, not even one a guard
/// would catch.
#[test]
fn the_reader_never_panics_on_the_worst_cases() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.with(|p| p.set(p.get() + 1));
        previous(info);
    }));
    for case in cases() {
        let dir = write(&case.files);
        let view = load(dir.path());
        for (path, name) in [
            (TS, "fDenyTSConnections"),
            (TS, "Name"),
            (r"ControlSet001\Control\Terminal Server\RCM", "Certificate"),
            (r"ControlSet001\Services\S0700", "Start"),
            ("Select", "Current"),
        ] {
            let _ = view.value(HiveKind::System, path, name);
            let _ = view.key(HiveKind::System, path);
        }
        let mut keys = 0;
        let state = view.walk(HiveKind::System, "", &mut |_| keys += 1);
        if matches!(state, Lookup::Found(())) {
            assert!(keys >= 1, "{}: the walk visits the key asked", case.name);
        }
        let r = query::run(&view, r"HKLM\SYSTEM", None, true).expect("key maps");
        let _ = rdsdiag::render::reg::render_text(&r);
        assert_eq!(
            PANICS.with(Cell::get),
            0,
            "{}: a reader panicked (and a guard caught it)",
            case.name
        );
    }
}

fn load(dir: &Path) -> RegistryView {
    let cap = capture::open(dir, &CaptureOptions::default()).expect("inventory");
    let mut inputs = cap.inputs;
    RegistryView::load(&inputs).apply_to(&mut inputs)
}
