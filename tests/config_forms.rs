//! The same registry contents read from hive files, a `.reg` export (UTF-16LE and UTF-8) and
//! `reg query /s` text, through the capture reader and the real registry view, give the same
//! effective configuration and host facts; captures with only SYSTEM, only registry text, or
//! both hives give the right `unknown` states.

mod config_scenarios;

use std::path::Path;

use config_scenarios::{text_root, tree, Entry};
use rdsdiag::capture::{self, CaptureOptions};
use rdsdiag::config::{resolve, SettingState, Settings};
use rdsdiag::evidence::HiveKind;
use rdsdiag::host::facts::{host_facts, HostFacts, Tri};
use rdsdiag::registry::{RegistryView, SourceForm};
use rdsdiag_testsupport::hive::build_hive;
use rdsdiag_testsupport::regtext::{encode, reg_export, reg_query, Encoding};

/// How the capture carries the registry.
#[derive(Debug, Clone, Copy)]
enum Form {
    Hives,
    RegUtf16,
    RegUtf8,
    RegQuery,
}

fn write_capture(dir: &Path, entries: &[Entry], form: Form, hives: &[HiveKind]) {
    for &hive in hives {
        match form {
            Form::Hives => {
                let bytes = build_hive(&tree(entries, hive, true));
                std::fs::write(dir.join(hive.name()), bytes).unwrap();
            }
            Form::RegUtf16 | Form::RegUtf8 => {
                let text = reg_export(&tree(entries, hive, false), &text_root(hive), false);
                let enc = match form {
                    Form::RegUtf16 => Encoding::Utf16LeBom,
                    _ => Encoding::Utf8,
                };
                std::fs::write(dir.join(format!("{}.reg", hive.name())), encode(&text, enc))
                    .unwrap();
            }
            Form::RegQuery => {
                let text = reg_query(&tree(entries, hive, false), &text_root(hive));
                std::fs::write(dir.join(format!("{}.txt", hive.name())), text).unwrap();
            }
        }
    }
}

fn read(entries: &[Entry], form: Form, hives: &[HiveKind]) -> (Settings, HostFacts, RegistryView) {
    let dir = tempfile::tempdir().unwrap();
    write_capture(dir.path(), entries, form, hives);
    let mut cap = capture::open(dir.path(), &CaptureOptions::default()).unwrap();
    let view = RegistryView::load(&cap.inputs).apply_to(&mut cap.inputs);
    (resolve(&view), host_facts(&view), view)
}

/// What must agree between forms: everything but where the value was read.
fn comparable(s: &Settings) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    for (_, setting) in v.as_object_mut().unwrap() {
        let o = setting.as_object_mut().unwrap();
        o.remove("provenance");
        o.remove("notes");
        o.remove("display");
        for sh in o.get_mut("shadowed").unwrap().as_array_mut().unwrap() {
            sh.as_object_mut().unwrap().remove("provenance");
        }
        for r in o.get_mut("related").unwrap().as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("provenance");
        }
        for u in o.get_mut("unknown").unwrap().as_array_mut().unwrap() {
            u.as_object_mut().unwrap().remove("detail");
        }
    }
    v
}

fn comparable_facts(f: &HostFacts) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                o.remove("provenance");
                for (_, x) in o.iter_mut() {
                    strip(x);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(f).unwrap();
    strip(&mut v);
    v
}

const BOTH: &[HiveKind] = &[HiveKind::System, HiveKind::Software];

#[test]
fn hive_and_text_forms_agree() {
    for (name, entries) in config_scenarios::all() {
        let (hive_settings, hive_facts, _) = read(&entries, Form::Hives, BOTH);
        // The hive result equals the in-memory result: the view and the fake answer alike.
        let mem = resolve(&config_scenarios::memory(
            &entries,
            config_scenarios::Hives::Both,
        ));
        assert_eq!(
            comparable(&hive_settings),
            comparable(&mem),
            "{name}: hive vs memory"
        );
        for form in [Form::RegUtf16, Form::RegUtf8, Form::RegQuery] {
            let (s, f, _) = read(&entries, form, BOTH);
            assert_eq!(
                comparable(&hive_settings),
                comparable(&s),
                "{name}: hive vs {form:?}"
            );
            assert_eq!(
                comparable_facts(&hive_facts),
                comparable_facts(&f),
                "{name}: facts hive vs {form:?}"
            );
        }
    }
}

#[test]
fn provenance_names_the_form_and_the_key_as_in_the_source() {
    let entries = config_scenarios::gpo_overrides_server_manager();
    let (s, _, _) = read(&entries, Form::Hives, BOTH);
    let mode = s.get("licensing_mode").unwrap();
    let sm = &mode.shadowed[0].provenance[0];
    assert_eq!(sm.form, SourceForm::Hive);
    assert!(sm.key.contains("ControlSet001"), "{}", sm.key);
    let (s, _, _) = read(&entries, Form::RegQuery, BOTH);
    let sm = &s.get("licensing_mode").unwrap().shadowed[0].provenance[0];
    assert_eq!(sm.form, SourceForm::RegQuery);
    assert!(sm.key.contains("CurrentControlSet"), "{}", sm.key);
}

#[test]
fn only_system_hive() {
    let entries = config_scenarios::gpo_overrides_server_manager();
    let (s, f, _) = read(&entries, Form::Hives, &[HiveKind::System]);
    let mode = s.get("licensing_mode").unwrap();
    assert_eq!(mode.state, SettingState::Unknown);
    assert_eq!(mode.value.as_ref().unwrap().enum_name(), Some("per_device"));
    assert_eq!(
        mode.decisive_unknowns().next().unwrap().hive,
        HiveKind::Software
    );
    assert_eq!(
        s.get("fips_algorithm_policy").unwrap().state,
        SettingState::Set
    );
    assert_eq!(s.get("keep_alive").unwrap().state, SettingState::Unknown);
    assert_eq!(f.windows_version.name, None);
    assert_eq!(f.x509_certificates.obtained_from_license_server, Tri::Yes);
}

#[test]
fn only_registry_text() {
    // A `reg query` of SOFTWARE only: the policy decides; SYSTEM locations are unknown.
    let entries = config_scenarios::gpo_overrides_server_manager();
    let (s, f, _) = read(&entries, Form::RegQuery, &[HiveKind::Software]);
    let mode = s.get("licensing_mode").unwrap();
    assert_eq!(mode.state, SettingState::Set);
    assert_eq!(mode.value.as_ref().unwrap().enum_name(), Some("per_user"));
    assert_eq!(mode.provenance[0].form, SourceForm::RegQuery);
    assert!(mode
        .unknown
        .iter()
        .all(|u| !u.decisive && u.hive == HiveKind::System));
    assert_eq!(
        s.get("min_encryption_level").unwrap().state,
        SettingState::Unknown
    );
    assert_eq!(
        f.windows_version.name.as_deref(),
        Some("Windows Server 2019")
    );
    assert_eq!(f.grace_period_timebomb.present.present, Tri::Unknown);
}

#[test]
fn text_export_of_only_the_rds_keys() {
    // A `.reg` export of the two keys support engineers usually export: the policy key and
    // `Control\Terminal Server`. Locations outside them (FIPS, TermService parameters) are
    // unknown, not "not set".
    let entries = config_scenarios::gpo_overrides_server_manager();
    let dir = tempfile::tempdir().unwrap();
    let pol = tree(&entries, HiveKind::Software, false);
    let pol_key = pol
        .walk()
        .into_iter()
        .find(|(p, _)| p == config_scenarios::TSPOL)
        .map(|(_, k)| k.clone())
        .unwrap();
    let sys = tree(&entries, HiveKind::System, false);
    let ts_key = sys
        .walk()
        .into_iter()
        .find(|(p, _)| p == config_scenarios::TSROOT)
        .map(|(_, k)| k.clone())
        .unwrap();
    let text = format!(
        "{}{}",
        reg_export(
            &pol_key,
            &format!(r"HKEY_LOCAL_MACHINE\SOFTWARE\{}", config_scenarios::TSPOL),
            false
        ),
        reg_export(
            &ts_key,
            &format!(r"HKEY_LOCAL_MACHINE\SYSTEM\{}", config_scenarios::TSROOT),
            false
        )
        .replacen("Windows Registry Editor Version 5.00\r\n\r\n", "", 1)
    );
    std::fs::write(
        dir.path().join("rds.reg"),
        encode(&text, Encoding::Utf16LeBom),
    )
    .unwrap();
    let mut cap = capture::open(dir.path(), &CaptureOptions::default()).unwrap();
    let view = RegistryView::load(&cap.inputs).apply_to(&mut cap.inputs);
    let s = resolve(&view);
    assert_eq!(s.get("licensing_mode").unwrap().state, SettingState::Set);
    assert_eq!(s.get("deny_connections").unwrap().state, SettingState::Set);
    assert_eq!(s.get("security_layer").unwrap().state, SettingState::Set);
    // FIPS lives under Control\Lsa, outside the export.
    assert_eq!(
        s.get("fips_algorithm_policy").unwrap().state,
        SettingState::Unknown
    );
    assert_eq!(
        s.get("min_encryption_level").unwrap().state,
        SettingState::Unknown
    );
    // Policy decides the server list even though TermService\Parameters is not exported.
    let servers = s.get("license_servers").unwrap();
    assert_eq!(servers.state, SettingState::Set);
    assert!(servers.unknown.iter().all(|u| !u.decisive));
}

mod random_forms {
    //! Random registry contents over every catalogued location, written as hives, `.reg` and
    //! `reg query` text: the effective configuration is the same whichever form is read.

    use super::*;
    use proptest::prelude::*;
    use rdsdiag::catalog::settings::{catalog, SourceKind, ValueFormat};
    use rdsdiag::registry::RegData;

    fn locations() -> Vec<(HiveKind, &'static str, &'static str, ValueFormat)> {
        let mut out = Vec::new();
        for def in &catalog().settings {
            for row in &def.sources {
                if row.source == SourceKind::Default {
                    continue;
                }
                let hive = row.hive.unwrap();
                if hive == HiveKind::NtUser {
                    continue;
                }
                let value = row.value.as_deref().unwrap_or("");
                out.push((hive, row.path.as_str(), value, row.format));
                if let Some(c) = &row.applies_when {
                    out.push((
                        hive,
                        row.path.as_str(),
                        c.value.as_str(),
                        ValueFormat::Dword,
                    ));
                }
                if let Some(c) = &row.companion {
                    out.push((hive, row.path.as_str(), c.as_str(), ValueFormat::Dword));
                }
            }
        }
        out
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5})?"
    }

    /// Data for a location: usually of the expected type, sometimes not.
    fn data(format: ValueFormat) -> BoxedStrategy<RegData> {
        let odd = prop_oneof![
            (0u32..10).prop_map(|n| RegData::Sz(n.to_string())),
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(RegData::Binary),
        ];
        match format {
            ValueFormat::Dword => prop_oneof![
                6 => (0u32..6).prop_map(RegData::Dword),
                2 => any::<u32>().prop_map(RegData::Dword),
                1 => odd,
            ]
            .boxed(),
            ValueFormat::CommaList => proptest::collection::vec(name(), 0..3)
                .prop_map(|v| RegData::Sz(v.join(", ")))
                .boxed(),
            ValueFormat::String => name().prop_map(RegData::Sz).boxed(),
            ValueFormat::MultiSz => prop_oneof![
                4 => proptest::collection::vec(name(), 1..3).prop_map(RegData::MultiSz),
                1 => name().prop_map(RegData::Sz),
            ]
            .boxed(),
            ValueFormat::BinaryHex => proptest::collection::vec(any::<u8>(), 20)
                .prop_map(RegData::Binary)
                .boxed(),
            ValueFormat::SubkeyNames | ValueFormat::Literal => Just(RegData::Dword(0)).boxed(),
        }
    }

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        let locs = locations();
        let per: Vec<BoxedStrategy<Option<Vec<Entry>>>> = locs
            .into_iter()
            .map(|(hive, path, value, format)| {
                let s: BoxedStrategy<Vec<Entry>> = if format == ValueFormat::SubkeyNames {
                    proptest::collection::vec(name(), 1..3)
                        .prop_map(move |names| {
                            names
                                .into_iter()
                                .map(|n| Entry {
                                    hive,
                                    // Leaked: test data lives for the whole test run.
                                    path: Box::leak(format!("{path}\\{n}").into_boxed_str()),
                                    name: "",
                                    data: RegData::Sz(String::new()),
                                })
                                .collect()
                        })
                        .boxed()
                } else {
                    data(format)
                        .prop_map(move |d| {
                            vec![Entry {
                                hive,
                                path,
                                name: value,
                                data: d,
                            }]
                        })
                        .boxed()
                };
                proptest::option::weighted(0.4, s).boxed()
            })
            .collect();
        per.prop_map(|chosen| {
            let mut all = vec![Entry {
                hive: HiveKind::Software,
                path: config_scenarios::CURRENT_VERSION,
                name: "ProductName",
                data: RegData::Sz("Windows Server 2019 Standard".into()),
            }];
            all.extend(chosen.into_iter().flatten().flatten());
            all
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn forms_agree_on_random_contents(entries in entries()) {
            let mem = resolve(&config_scenarios::memory(&entries, config_scenarios::Hives::Both));
            let want = comparable(&mem);
            for form in [Form::Hives, Form::RegUtf16, Form::RegQuery] {
                let (s, _, _) = read(&entries, form, BOTH);
                prop_assert_eq!(&comparable(&s), &want, "{:?}", form);
            }
        }
    }
}
