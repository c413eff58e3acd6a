//! Property test of precedence: over random combinations of catalogued locations (set, absent,
//! condition failing, hive not provided), the winner is always the highest-precedence location
//! that is set, every other set location is in `shadowed` in order, and the state is `unknown`
//! exactly when a location above the winner could not be consulted.

use proptest::prelude::*;
use rdsdiag::catalog::settings::{
    catalog, Otherwise, Role, SettingDef, SettingKind, SourceDef, SourceKind, ValueFormat,
};
use rdsdiag::config::{resolve, MemorySource, SettingState, SettingValue};
use rdsdiag::evidence::HiveKind;
use rdsdiag::registry::RegData;

/// What the test does with one candidate location.
#[derive(Debug, Clone)]
enum Plan {
    Absent,
    /// Write a value; the seed picks which.
    Set(u32),
    /// Write a value and make the row's condition fail.
    ConditionFails(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Set,
    NotSet,
    Unknown,
}

fn candidates(def: &SettingDef) -> Vec<&SourceDef> {
    def.sources
        .iter()
        .filter(|r| r.role == Role::Candidate && r.source != SourceKind::Default)
        .collect()
}

fn names(seed: u32) -> Vec<String> {
    (0..=(seed % 3))
        .map(|i| format!("ls{}-{}.contoso.test", seed % 97, i))
        .collect()
}

/// Write `row` with data chosen by `seed`; returns whether the row is "set" (for the FIPS row a
/// 0 is not set: its condition is on itself).
fn write(m: &mut MemorySource, def: &SettingDef, row: &SourceDef, seed: u32) -> bool {
    let hive = row.hive.unwrap();
    let name = row.value.clone().unwrap_or_default();
    let own_condition = row
        .applies_when
        .as_ref()
        .is_some_and(|c| c.value.eq_ignore_ascii_case(&name));
    match row.format {
        ValueFormat::Dword => {
            let n = match def.kind {
                SettingKind::Flag | SettingKind::KeepAlive => seed % 2,
                SettingKind::Enum => {
                    let table = catalog().table(def.values.as_deref().unwrap()).unwrap();
                    table[(seed as usize) % table.len()].code as u32
                }
                _ => seed,
            };
            let n = if own_condition { seed % 2 } else { n };
            m.set(hive, &row.path, &name, RegData::Dword(n));
            if let Some(c) = &row.companion {
                m.set(hive, &row.path, c, RegData::Dword(seed % 1000 + 1));
            }
            !own_condition || u64::from(n) == row.applies_when.as_ref().unwrap().equals
        }
        ValueFormat::CommaList => {
            m.set(hive, &row.path, &name, RegData::Sz(names(seed).join(", ")));
            true
        }
        ValueFormat::String => {
            m.set(hive, &row.path, &name, RegData::Sz(names(seed)[0].clone()));
            true
        }
        ValueFormat::MultiSz => {
            m.set(hive, &row.path, &name, RegData::MultiSz(names(seed)));
            true
        }
        ValueFormat::SubkeyNames => {
            for n in names(seed) {
                m.add_key(hive, &format!("{}\\{}", row.path, n));
            }
            true
        }
        ValueFormat::BinaryHex => {
            m.set(
                hive,
                &row.path,
                &name,
                RegData::Binary(vec![(seed % 256) as u8; 20]),
            );
            true
        }
        ValueFormat::Literal => unreachable!("default rows are not written"),
    }
}

fn check_setting(
    def: &SettingDef,
    plans: &[Plan],
    software: bool,
    system: bool,
) -> Result<(), TestCaseError> {
    let rows = candidates(def);
    let mut m = MemorySource::new();
    if software {
        m.provide(
            HiveKind::Software,
            "SOFTWARE",
            rdsdiag::registry::SourceForm::Hive,
        );
    }
    if system {
        m.provide(
            HiveKind::System,
            "SYSTEM",
            rdsdiag::registry::SourceForm::Hive,
        );
    }
    let mut expect = Vec::new();
    for (row, plan) in rows.iter().zip(plans) {
        let provided = match row.hive.unwrap() {
            HiveKind::Software => software,
            _ => system,
        };
        let e = if !provided {
            Expect::Unknown
        } else {
            match plan {
                Plan::Absent => Expect::NotSet,
                Plan::Set(seed) => {
                    if let Some(c) = &row.applies_when {
                        if !c
                            .value
                            .eq_ignore_ascii_case(row.value.as_deref().unwrap_or(""))
                        {
                            m.set(
                                row.hive.unwrap(),
                                &row.path,
                                &c.value,
                                RegData::Dword(c.equals as u32),
                            );
                        }
                    }
                    if write(&mut m, def, row, *seed) {
                        Expect::Set
                    } else {
                        Expect::NotSet
                    }
                }
                Plan::ConditionFails(seed) => match &row.applies_when {
                    Some(c)
                        if !c
                            .value
                            .eq_ignore_ascii_case(row.value.as_deref().unwrap_or("")) =>
                    {
                        m.set(
                            row.hive.unwrap(),
                            &row.path,
                            &c.value,
                            RegData::Dword(c.equals as u32 + 1),
                        );
                        write(&mut m, def, row, *seed);
                        match row.otherwise {
                            Otherwise::Ignore => Expect::NotSet,
                            Otherwise::UserAccount => Expect::Unknown,
                        }
                    }
                    _ => Expect::NotSet,
                },
            }
        };
        expect.push(e);
    }

    let settings = resolve(&m);
    let got = settings.get(&def.name).unwrap();
    let winner = expect.iter().position(|e| *e == Expect::Set);
    let unknown_above = expect[..winner.unwrap_or(expect.len())].contains(&Expect::Unknown);
    let want_state = match (winner, unknown_above) {
        (_, true) => SettingState::Unknown,
        (Some(_), false) => SettingState::Set,
        (None, false) => SettingState::NotSet,
    };
    prop_assert_eq!(got.state, want_state, "{} {:?} {:?}", def.name, expect, got);
    match winner {
        Some(w) => {
            let row = rows[w];
            prop_assert_eq!(got.source, Some(row.source));
            let p = &got.provenance[0];
            if row.format == ValueFormat::SubkeyNames {
                prop_assert!(p
                    .key
                    .to_ascii_lowercase()
                    .starts_with(&row.path.to_ascii_lowercase()));
            } else {
                prop_assert!(
                    p.key.eq_ignore_ascii_case(&row.path),
                    "{} vs {}",
                    p.key,
                    row.path
                );
                prop_assert!(p.value.eq_ignore_ascii_case(row.value.as_deref().unwrap()));
            }
            if let Some(m) = &row.maps_to {
                prop_assert_eq!(
                    got.value.as_ref().and_then(SettingValue::as_u64),
                    m.parse().ok()
                );
            }
            // Every other set location, in precedence order, is shadowed.
            let want: Vec<(SourceKind, &str, Option<&str>)> = rows
                .iter()
                .zip(&expect)
                .skip(w + 1)
                .filter(|(_, e)| **e == Expect::Set)
                .map(|(r, _)| (r.source, r.path.as_str(), r.value.as_deref()))
                .collect();
            prop_assert_eq!(got.shadowed.len(), want.len(), "{:?}", got.shadowed);
            for (sh, (source, path, value)) in got.shadowed.iter().zip(want) {
                prop_assert_eq!(sh.source, source);
                let p = &sh.provenance[0];
                prop_assert!(p
                    .key
                    .to_ascii_lowercase()
                    .starts_with(&path.to_ascii_lowercase()));
                if !p.value.is_empty() {
                    prop_assert!(p.value.eq_ignore_ascii_case(value.unwrap()));
                }
            }
        }
        None => {
            prop_assert!(got.shadowed.is_empty());
            if want_state == SettingState::NotSet {
                prop_assert_eq!(got.source, Some(SourceKind::Default));
                prop_assert!(got.provenance.is_empty());
            } else {
                prop_assert!(got.value.is_none());
            }
        }
    }
    // Unknown locations are listed, decisive exactly when above the winner.
    let unknowns: Vec<usize> = expect
        .iter()
        .enumerate()
        .filter(|(_, e)| **e == Expect::Unknown)
        .map(|(i, _)| i)
        .collect();
    prop_assert_eq!(got.unknown.len(), unknowns.len(), "{:?}", got.unknown);
    for (u, i) in got.unknown.iter().zip(unknowns) {
        prop_assert_eq!(u.source, rows[i].source);
        prop_assert_eq!(u.decisive, winner.is_none_or(|w| i < w));
    }
    Ok(())
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        2 => Just(Plan::Absent),
        3 => any::<u32>().prop_map(Plan::Set),
        1 => any::<u32>().prop_map(Plan::ConditionFails),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn winner_is_highest_set_source_and_the_rest_are_shadowed(
        which in 0usize..64,
        plans in proptest::collection::vec(plan(), 12),
        software in prop::bool::weighted(0.8),
        system in prop::bool::weighted(0.8),
    ) {
        let settings = &catalog().settings;
        let def = &settings[which % settings.len()];
        prop_assume!(candidates(def).len() <= plans.len());
        check_setting(def, &plans, software, system)?;
    }
}

/// Every setting, every combination of "set" over its locations, both hives provided.
#[test]
fn exhaustive_set_combinations() {
    for def in &catalog().settings {
        let n = candidates(def).len();
        for mask in 0u32..(1 << n) {
            let plans: Vec<Plan> = (0..n)
                .map(|i| {
                    if mask & (1 << i) != 0 {
                        Plan::Set(i as u32 * 7 + 1 + mask)
                    } else {
                        Plan::Absent
                    }
                })
                .collect();
            check_setting(def, &plans, true, true)
                .unwrap_or_else(|e| panic!("{} mask {mask:b}: {e}", def.name));
        }
    }
}
