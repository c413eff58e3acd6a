//! Property test: one random tree written as a hive, as `.reg` (UTF-16LE with BOM and UTF-8) and
//! as `reg query /s` text (UTF-16LE and UTF-8) reads back as identical keys and values through the
//! registry view, whichever form it came in.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rdsdiag::capture::Input;
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::decode::decode;
use rdsdiag::registry::{Lookup, RegData, RegistryView, SourceForm};
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::regtext::{self, Encoding};

const PREFIX: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE";

fn name() -> impl Strategy<Value = String> {
    // Spaces inside names, never doubled or at the ends (reg query separates fields by four).
    "[A-Za-z0-9_.é-]{1,4}( [A-Za-z0-9_.é-]{1,4}){0,2}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -'*-~éü€]{0,24}".prop_filter("no field separator", |s| !s.contains("    "))
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        text().prop_map(Data::Sz),
        text().prop_map(Data::ExpandSz),
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(Data::Binary),
        any::<u32>().prop_map(Data::Dword),
        any::<u32>().prop_map(Data::DwordBigEndian),
        any::<u64>().prop_map(Data::Qword),
        proptest::collection::vec("[A-Za-z0-9 .é-]{1,10}", 0..4).prop_map(Data::MultiSz),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Data::None),
        (
            prop_oneof![Just(8u32), Just(10), Just(0x20), Just(0xFFFF_0012)],
            proptest::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(type_code, bytes)| Data::Raw { type_code, bytes }),
    ]
}

fn tree() -> impl Strategy<Value = Key> {
    let key_path = proptest::collection::vec(name(), 0..4);
    let value = (prop_oneof![1 => Just(String::new()), 6 => name()], data());
    proptest::collection::vec((key_path, proptest::collection::vec(value, 0..4)), 1..8).prop_map(
        |entries| {
            let mut root = Key::new("ROOT");
            for (path, values) in entries {
                let p = path.join("\\");
                root.at(&p);
                for (n, d) in values {
                    root.set(&p, &n, d);
                }
            }
            root
        },
    )
}

#[path = "common/registry_input.rs"]
mod registry_input;
use registry_input::input;

fn fold(s: &str) -> String {
    s.to_uppercase()
}

/// What the view should give for each key: folded subkey names and folded value name → data.
fn expected(root: &Key) -> Vec<(String, Vec<String>, BTreeMap<String, RegData>)> {
    root.walk()
        .into_iter()
        .map(|(path, k)| {
            let mut subs: Vec<String> = k.subkeys.iter().map(|s| fold(&s.name)).collect();
            subs.sort();
            let values = k
                .values
                .iter()
                .map(|(n, d)| (fold(n), decode(d.type_code(), &d.bytes())))
                .collect();
            (path, subs, values)
        })
        .collect()
}

fn check(view: &RegistryView, root: &Key, form: SourceForm) -> Result<(), TestCaseError> {
    for (path, subs, values) in expected(root) {
        let k = match view.key(HiveKind::Software, &path) {
            Lookup::Found(k) => k,
            other => {
                return Err(TestCaseError::fail(format!(
                    "{form:?}: key {path:?}: {other:?}"
                )))
            }
        };
        prop_assert_eq!(k.form, form);
        let mut got_subs: Vec<String> = k.subkeys.iter().map(|s| fold(s)).collect();
        got_subs.sort();
        prop_assert_eq!(&got_subs, &subs, "{:?}: subkeys of {:?}", form, path);
        let got: BTreeMap<String, RegData> = k
            .values
            .iter()
            .map(|v| (fold(&v.provenance.value), v.data.clone()))
            .collect();
        prop_assert_eq!(&got, &values, "{:?}: values of {:?}", form, path);
        for (n, d) in &values {
            let v = view.value(HiveKind::Software, &path, n);
            prop_assert_eq!(
                v.found().map(|v| &v.data),
                Some(d),
                "{:?}: {:?}\\{:?}",
                form,
                path,
                n
            );
        }
        prop_assert_eq!(
            view.value(HiveKind::Software, &path, "no such value"),
            Lookup::Absent
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn same_tree_same_values_in_every_form(root in tree()) {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path();
        let reg = regtext::reg_export(&root, PREFIX, false);
        let query = regtext::reg_query(&root, PREFIX);
        let variants: Vec<(Input, SourceForm)> = vec![
            (input(dir, "SOFTWARE", InputKind::Hive, Some(HiveKind::Software), &hive::build_hive(&root)), SourceForm::Hive),
            (input(dir, "u16.reg", InputKind::RegExport, None, &regtext::encode(&reg, Encoding::Utf16LeBom)), SourceForm::RegExport),
            (input(dir, "u8.reg", InputKind::RegExport, None, &regtext::encode(&reg, Encoding::Utf8)), SourceForm::RegExport),
            (input(dir, "q16.txt", InputKind::RegQuery, None, &regtext::encode(&query, Encoding::Utf16LeBom)), SourceForm::RegQuery),
            (input(dir, "q8.txt", InputKind::RegQuery, None, &regtext::encode(&query, Encoding::Utf8)), SourceForm::RegQuery),
        ];
        for (inp, form) in variants {
            let mut inputs = vec![inp];
            let view = RegistryView::load(&inputs).apply_to(&mut inputs);
            prop_assert_eq!(inputs[0].status, InputStatus::Parsed, "{:?}: {:?}", form, inputs[0].problems);
            check(&view, &root, form)?;
        }
    }
}
