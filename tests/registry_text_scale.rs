//! The worst cases of the registry text parsers (issue 16), scaled down: thousands of values in one
//! key, a key chain as deep as the registry allows (and deeper), one hex value continued over
//! thousands of lines, thousands of `[-key]` deletions, and a very long line. Each parse used to be
//! quadratic; here each asserts the result is right (speed lives in `benches/registry.rs`).

use std::fmt::Write as _;

use rdsdiag::capture::Input;
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus, Problem};
use rdsdiag::registry::{query, KeyView, Lookup, RegData, RegistryView};
use rdsdiag_testsupport::regtext::{self, Encoding};

#[path = "common/registry_input.rs"]
mod registry_input;
use registry_input::input;

const HEADER: &str = "Windows Registry Editor Version 5.00\r\n\r\n";
const ROOT: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE";

fn load(name: &str, kind: InputKind, text: &str) -> (RegistryView, Input) {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut inputs = vec![input(
        tmp.path(),
        name,
        kind,
        None,
        &regtext::encode(text, Encoding::Utf16LeBom),
    )];
    let view = RegistryView::load(&inputs).apply_to(&mut inputs);
    let i = inputs.pop().expect("one input");
    (view, i)
}

fn key(view: &RegistryView, path: &str) -> KeyView {
    match view.key(HiveKind::Software, path) {
        Lookup::Found(k) => k,
        other => panic!("{path}: {other:?}"),
    }
}

fn dword(view: &RegistryView, path: &str, name: &str) -> Option<u32> {
    match view.value(HiveKind::Software, path, name) {
        Lookup::Found(v) => match v.data {
            RegData::Dword(d) => Some(d),
            other => panic!("{path}\\{name}: {other:?}"),
        },
        Lookup::Absent => None,
        other => panic!("{path}\\{name}: {other:?}"),
    }
}

fn codes(i: &Input) -> Vec<&str> {
    i.problems
        .iter()
        .map(|p: &Problem| p.code.as_str())
        .collect()
}

const VALUES: u32 = 3000;

#[test]
fn many_values_in_one_key_reg_export() {
    let mut t = format!("{HEADER}[{ROOT}\\Many]\r\n");
    for i in 0..VALUES {
        writeln!(t, "\"Value{i:05}\"=dword:{i:08x}\r").expect("write");
    }
    // A second section for the same key: overrides in another case keep their place, deletions
    // in another case remove, a new value goes last.
    writeln!(t, "\r\n[{}\\MANY]\r", ROOT.to_lowercase()).expect("write");
    t.push_str("\"VALUE00010\"=dword:0000ffff\r\n\"value00020\"=-\r\n\"Extra\"=dword:00000007\r\n");
    let (view, i) = load("many.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    let k = key(&view, "Many");
    assert_eq!(k.values.len(), VALUES as usize);
    assert_eq!(k.values[10].provenance.value, "VALUE00010");
    assert_eq!(k.values[10].data, RegData::Dword(0xffff));
    assert_eq!(k.values[20].provenance.value, "Value00021");
    assert_eq!(
        k.values.last().map(|v| v.provenance.value.as_str()),
        Some("Extra")
    );
    assert_eq!(dword(&view, "many", "value02999"), Some(2999));
    assert_eq!(dword(&view, "Many", "Value00010"), Some(0xffff));
    assert_eq!(dword(&view, "Many", "Value00020"), None);
    assert_eq!(dword(&view, "Many", "Value03000"), None);
}

#[test]
fn many_values_in_one_key_reg_query() {
    let mut t = format!("\r\n{ROOT}\\Many\r\n");
    for i in 0..VALUES {
        writeln!(t, "    Value{i:05}    REG_DWORD    0x{i:x}\r").expect("write");
    }
    // `reg query` never repeats a name; if a file does, the later line wins in place.
    t.push_str("    VALUE00005    REG_DWORD    0x77\r\n");
    let (view, i) = load("many.txt", InputKind::RegQuery, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    let k = key(&view, "Many");
    assert_eq!(k.values.len(), VALUES as usize);
    assert_eq!(k.values[5].data, RegData::Dword(0x77));
    for n in [0, 1234, VALUES - 1] {
        assert_eq!(dword(&view, "Many", &format!("vALUE{n:05}")), Some(n));
    }
}

/// `HKLM\SOFTWARE\L0\L1\…` down to `depth` levels below the hive root.
fn chain(depth: usize) -> String {
    let mut p = ROOT.to_string();
    for d in 0..depth {
        write!(p, "\\L{}", d % 10).expect("write");
    }
    p
}

#[test]
fn a_key_as_deep_as_the_registry_allows_is_read_and_a_chain_is_walked() {
    // One key exactly 512 levels below the hive root, and a chain of 100 keys each one level
    // deeper than the last (every line holds its full path, so the text grows with the square).
    let mut t = format!(
        "{HEADER}[{ROOT}]\r\n[{}]\r\n\"Depth\"=dword:00000200\r\n",
        chain(512)
    );
    let mut p = ROOT.to_string();
    for d in 0..100 {
        write!(p, "\\C{d}").expect("write");
        writeln!(t, "[{p}]\r\n\"Depth\"=dword:{:08x}\r", d + 1).expect("write");
    }
    let (view, i) = load("chain.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    let rel = |depth: usize| chain(depth)[ROOT.len() + 1..].to_string();
    assert_eq!(dword(&view, &rel(512), "depth"), Some(512));
    // Its ancestors were never key lines: covered (the hive root is), but absent.
    assert!(matches!(
        view.key(HiveKind::Software, &rel(300)),
        Lookup::Absent
    ));
    let c = |depth: usize| {
        (0..depth)
            .map(|d| format!("C{d}"))
            .collect::<Vec<_>>()
            .join("\\")
    };
    assert_eq!(dword(&view, &c(100), "Depth"), Some(100));
    assert_eq!(key(&view, &c(50)).subkeys, vec!["C50".to_string()]);
    // The recursive query walks the chain (iteratively) and serialises flat.
    let r = query::run(&view, ROOT, None, true).expect("key maps");
    assert_eq!(r.keys.len(), 101);
    assert!(serde_json::to_string(&r)
        .expect("json")
        .contains(r"C98\\C99"));
    drop(r);
    drop(view);
}

#[test]
fn a_key_deeper_than_the_limit_is_skipped_with_a_typed_problem() {
    let deep = chain(513);
    // A runaway path of 100,000 levels in one line (what the fuzzer met), and one just past the
    // limit; the keys above them still count.
    let runaway = format!("{ROOT}{}", "\\a".repeat(100_000));
    let t = format!(
        "{HEADER}[{ROOT}\\Top]\r\n\"X\"=dword:00000001\r\n\r\n[{deep}]\r\n\"Y\"=dword:00000002\r\n\r\n[{runaway}]\r\n\"Z\"=dword:00000003\r\n"
    );
    let (view, i) = load("deep.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Partial);
    let too_deep: Vec<&Problem> = i
        .problems
        .iter()
        .filter(|p| p.code == "reg-text-key-too-deep")
        .collect();
    assert_eq!(too_deep.len(), 2, "{:?}", codes(&i));
    assert!(too_deep[0]
        .message
        .starts_with("line 6: key nests deeper than 512 levels"));
    assert!(too_deep[1].message.starts_with("line 9: "));
    assert_eq!(dword(&view, "Top", "X"), Some(1));
    // Skipped: the export says nothing about it.
    assert!(matches!(
        view.value(HiveKind::Software, &chain(513)[ROOT.len() + 1..], "Y"),
        Lookup::NotProvided { .. }
    ));
    // Same through `reg query` text.
    let q = format!("\r\n{ROOT}\\Top\r\n    X    REG_DWORD    0x1\r\n\r\n{runaway}\r\n    Z    REG_DWORD    0x3\r\n");
    let (view, i) = load("deep.txt", InputKind::RegQuery, &q);
    assert_eq!(codes(&i), vec!["reg-text-key-too-deep"]);
    assert_eq!(dword(&view, "Top", "X"), Some(1));
}

#[test]
fn one_hex_value_over_thousands_of_continuation_lines() {
    let lines = 2000;
    let mut t = format!("{HEADER}[{ROOT}\\Hex]\r\n\"Blob\"=hex:00,\\\r\n");
    let mut want = vec![0u8];
    for l in 0..lines {
        let row: Vec<u8> = (0..25).map(|j| ((l * 7 + j) % 256) as u8).collect();
        let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
        // Blanks before the backslash and at the start of the next line are not data.
        writeln!(t, "  {} ,  \\\r", hex.join(",")).expect("write");
        want.extend(row);
    }
    t.push_str("  ff\r\n\"After\"=dword:00000001\r\n");
    want.push(0xff);
    let (view, i) = load("hex.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    match view.value(HiveKind::Software, "Hex", "Blob") {
        Lookup::Found(v) => assert!(v.data == RegData::Binary(want), "wrong bytes"),
        other => panic!("{other:?}"),
    }
    assert_eq!(dword(&view, "Hex", "After"), Some(1));
}

#[test]
fn a_line_of_megabytes_is_read() {
    let n = 150_000;
    let bytes: Vec<String> = (0..n).map(|i| format!("{:02x}", i % 251)).collect();
    let t = format!(
        "{HEADER}[{ROOT}\\Long]\r\n\"Blob\"=hex:{}\r\n\"S\"=\"{}\"\r\n",
        bytes.join(","),
        "x".repeat(100_000)
    );
    let (view, i) = load("long.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    match view.value(HiveKind::Software, "Long", "Blob") {
        Lookup::Found(v) => {
            let RegData::Binary(b) = v.data else {
                panic!("not binary")
            };
            assert_eq!(b.len(), n);
            assert!(b.iter().enumerate().all(|(i, &x)| x as usize == i % 251));
        }
        other => panic!("{other:?}"),
    }
    match view.value(HiveKind::Software, "Long", "S") {
        Lookup::Found(v) => assert!(v.data == RegData::Sz("x".repeat(100_000))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn thousands_of_deletions() {
    let n = 1000;
    let mut t = HEADER.to_string();
    for i in 0..n {
        writeln!(t, "[{ROOT}\\Del\\K{i:05}]\r\n\"V\"=dword:{i:08x}\r\n\r").expect("write");
        writeln!(
            t,
            "[{ROOT}\\Del\\K{i:05}\\Sub]\r\n\"W\"=dword:00000001\r\n\r"
        )
        .expect("write");
    }
    for i in (1..n).step_by(2) {
        writeln!(t, "[-{}\\DEL\\k{i:05}]\r\n\r", ROOT.to_lowercase()).expect("write");
    }
    // Deleted, then named again: a new, empty key; its old subkey stays gone.
    writeln!(t, "[{ROOT}\\Del\\K00001]\r\n\"New\"=dword:00000009\r").expect("write");
    // A deletion of something never written still covers it.
    writeln!(t, "[-{ROOT}\\Elsewhere]\r").expect("write");
    let (view, i) = load("del.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    for i in [0, 2, 998] {
        assert_eq!(dword(&view, &format!(r"Del\K{i:05}"), "V"), Some(i));
        assert_eq!(dword(&view, &format!(r"Del\K{i:05}\Sub"), "W"), Some(1));
    }
    for i in [3, 999] {
        assert!(matches!(
            view.key(HiveKind::Software, &format!(r"Del\K{i:05}")),
            Lookup::Absent
        ));
        assert!(matches!(
            view.key(HiveKind::Software, &format!(r"Del\K{i:05}\Sub")),
            Lookup::Absent
        ));
    }
    let k1 = key(&view, r"Del\K00001");
    assert_eq!(k1.values.len(), 1);
    assert!(k1.subkeys.is_empty());
    assert!(matches!(
        view.key(HiveKind::Software, r"Del\K00001\Sub"),
        Lookup::Absent
    ));
    assert!(matches!(
        view.key(HiveKind::Software, r"Elsewhere\X"),
        Lookup::Absent
    ));
    // The walk from the top sees the even keys, their subkeys, and the re-created one.
    let r = query::run(&view, &format!(r"{ROOT}\Del\K00000"), None, true).expect("key maps");
    assert_eq!(r.keys.len(), 2);
    // `Del` itself was never a key line: not part of the export.
    assert!(matches!(
        view.key(HiveKind::Software, "Del"),
        Lookup::NotProvided { .. }
    ));
}

#[test]
fn deleting_the_hive_root_forgets_everything_before_it() {
    let t = format!(
        "{HEADER}[{ROOT}\\A]\r\n\"V\"=dword:00000001\r\n[{ROOT}\\A\\B]\r\n[-{ROOT}]\r\n[{ROOT}\\A\\C]\r\n\"V\"=dword:00000002\r\n[{ROOT}\\A]\r\n"
    );
    let (view, i) = load("root.reg", InputKind::RegExport, &t);
    assert_eq!(i.status, InputStatus::Parsed, "{:?}", i.problems);
    assert_eq!(dword(&view, "A", "V"), None);
    assert_eq!(key(&view, "A").subkeys, vec!["C".to_string()]);
    assert_eq!(dword(&view, r"A\C", "V"), Some(2));
    assert!(matches!(
        view.key(HiveKind::Software, r"A\B"),
        Lookup::Absent
    ));
}
