//! Group Policy attribution end to end on generated bundles: a session host whose SOFTWARE hive
//! records three applied GPOs (the local GPO, 'Default Domain Policy' linked to the domain,
//! 'RDS-Servers-Baseline' linked to OU=RDS), with their Registry.pol files in the machine's cache
//! or in a SYSVOL copy, or missing. `config` must name the GPO that wrote each value and the
//! earlier GPOs that set it too and lost; without the files the answers stay as they were.

use std::path::Path;

use rdsdiag::config::gpo::{AttributionStatus, GpoOp};
use rdsdiag::config::Setting;
use rdsdiag::pipeline::{self, Options};
use rdsdiag_testsupport::gpo::{self, Gpo, Instr, Place, DEFAULT_DOMAIN_POLICY};
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{Machine, Os};

const DOMAIN: &str = "contoso.local";
const BASELINE: &str = "{6A2C2E1B-7F43-4C1E-9C6B-0D1E2F3A4B5C}";

fn sz(s: &str) -> Data {
    Data::Sz(s.into())
}

/// The three GPOs in application order: local, domain, OU (S101, S102).
fn gpos() -> Vec<Gpo> {
    vec![
        Gpo::local(2).sets(vec![Instr::ts("MaxIdleTime", Data::Dword(3_600_000))]),
        Gpo::domain(
            "Default Domain Policy",
            DEFAULT_DOMAIN_POLICY,
            "DC=contoso,DC=local",
            7,
        )
        .sets(vec![
            Instr::ts("LicensingMode", Data::Dword(4)),
            Instr::ts("LicenseServers", sz("ls-old.contoso.local")),
            Instr::ts("MaxDisconnectionTime", Data::Dword(60_000)),
        ]),
        Gpo::domain(
            "RDS-Servers-Baseline",
            BASELINE,
            "OU=RDS,DC=contoso,DC=local",
            65_539,
        )
        .sets(vec![
            Instr::ts("LicensingMode", Data::Dword(2)),
            Instr::ts(
                "LicenseServers",
                sz("ls01.contoso.local,ls02.contoso.local"),
            ),
            Instr::ts("MaxDisconnectionTime", Data::Dword(10_800_000)),
            Instr::ts_del("fSingleSessionPerUser"),
        ]),
    ]
}

/// The machine with the merged policy the three GPOs leave in the registry.
fn machine(record: bool) -> Machine {
    let m = Machine::session_host("RDSH01", Os::Server2019, Some(DOMAIN))
        .policy("LicensingMode", Data::Dword(2))
        .policy(
            "LicenseServers",
            sz("ls01.contoso.local,ls02.contoso.local"),
        )
        .policy("MaxDisconnectionTime", Data::Dword(10_800_000))
        .policy("MaxIdleTime", Data::Dword(3_600_000));
    if record {
        gpo::record_applied(m, DOMAIN, &gpos())
    } else {
        m
    }
}

fn config_of(dir: &Path) -> rdsdiag::report::ConfigCapture {
    let report = pipeline::config(&[dir.to_path_buf()], &Options::default());
    assert_eq!(report.captures.len(), 1, "{:?}", report.captures);
    report.captures.into_iter().next().unwrap()
}

fn setting<'a>(c: &'a rdsdiag::report::ConfigCapture, name: &str) -> &'a Setting {
    c.settings.as_ref().unwrap().get(name).unwrap()
}

fn bundle(record: bool, files: &[(usize, Place)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    machine(record).write_kape(dir.path()).unwrap();
    let all = gpos();
    let chosen: Vec<(&Gpo, Place)> = files.iter().map(|(i, p)| (&all[*i], *p)).collect();
    gpo::write_files(dir.path(), DOMAIN, &chosen).unwrap();
    dir
}

fn winner_name(s: &Setting) -> Option<String> {
    s.gpo.as_ref()?.winner.as_ref()?.gpo.display_name.clone()
}

fn shadowed_names(s: &Setting) -> Vec<String> {
    s.gpo
        .as_ref()
        .map(|a| {
            a.shadowed
                .iter()
                .map(|v| v.gpo.display_name.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cached_pol_files_name_the_winner_and_the_losers() {
    let dir = bundle(
        true,
        &[
            (0, Place::MachineCache),
            (1, Place::MachineCache),
            (2, Place::MachineCache),
        ],
    );
    let c = config_of(dir.path());

    let mode = setting(&c, "licensing_mode");
    assert_eq!(mode.value.as_ref().and_then(|v| v.as_u64()), Some(2));
    let a = mode.gpo.as_ref().expect("licensing mode is attributed");
    assert_eq!(a.status, AttributionStatus::Attributed);
    let w = a.winner.as_ref().unwrap();
    assert_eq!(w.gpo.display_name.as_deref(), Some("RDS-Servers-Baseline"));
    assert_eq!(w.gpo.guid.as_deref(), Some(BASELINE));
    assert_eq!(
        w.gpo.link.as_deref(),
        Some("LDAP://OU=RDS,DC=contoso,DC=local")
    );
    assert_eq!(w.gpo.version, Some(65_539));
    assert_eq!(w.op, GpoOp::Set);
    assert!(
        w.file
            .ends_with(&format!("{BASELINE}/Machine/Registry.pol")),
        "{}",
        w.file
    );
    assert_eq!(shadowed_names(mode), ["Default Domain Policy"]);
    assert_eq!(
        a.shadowed[0].value.as_ref().and_then(|v| v.as_u64()),
        Some(4),
        "the loser's own value (Per User) is shown"
    );
    assert_eq!(
        a.gpo_to_change().and_then(|g| g.guid.as_deref()),
        Some(BASELINE)
    );
    assert_eq!(a.chain.len(), 3, "{:?}", a.chain);
    assert!(a.notes.is_empty(), "{:?}", a.notes);

    let servers = setting(&c, "license_servers");
    assert_eq!(
        winner_name(servers).as_deref(),
        Some("RDS-Servers-Baseline")
    );
    assert_eq!(shadowed_names(servers), ["Default Domain Policy"]);
    assert_eq!(
        servers.gpo.as_ref().unwrap().shadowed[0]
            .value
            .as_ref()
            .and_then(|v| v.as_list().map(|l| l.to_vec())),
        Some(vec!["ls-old.contoso.local".to_string()])
    );

    let disc = setting(&c, "max_disconnection_time");
    assert_eq!(winner_name(disc).as_deref(), Some("RDS-Servers-Baseline"));
    assert_eq!(shadowed_names(disc), ["Default Domain Policy"]);

    let idle = setting(&c, "max_idle_time");
    let a = idle.gpo.as_ref().unwrap();
    assert!(a.winner.as_ref().unwrap().gpo.local, "{a:?}");
    assert!(a.shadowed.is_empty());

    // A policy only deleted by a GPO, and absent from the registry: the deletion is the last word.
    let single = setting(&c, "single_session_per_user");
    let a = single.gpo.as_ref().unwrap();
    assert_eq!(a.winner.as_ref().unwrap().op, GpoOp::Delete);

    // Every pol file is listed as read; the GPO list comes from the Registry extension's history.
    let gp = c.host.as_ref().unwrap().group_policy.as_ref().unwrap();
    assert_eq!(gp.files.len(), 3);
    assert!(
        gp.files.iter().all(|f| f.status == "parsed"),
        "{:?}",
        gp.files
    );
    assert_eq!(gp.lists[0].gpos.len(), 3);
}

#[test]
fn a_sysvol_copy_gives_the_same_winners_and_its_gpt_ini_version() {
    let dir = bundle(
        true,
        &[(0, Place::Sysvol), (1, Place::Sysvol), (2, Place::Sysvol)],
    );
    let c = config_of(dir.path());
    for name in [
        "licensing_mode",
        "license_servers",
        "max_disconnection_time",
    ] {
        let s = setting(&c, name);
        assert_eq!(
            winner_name(s).as_deref(),
            Some("RDS-Servers-Baseline"),
            "{name}"
        );
        assert_eq!(shadowed_names(s), ["Default Domain Policy"], "{name}");
    }
    let gp = c.host.as_ref().unwrap().group_policy.as_ref().unwrap();
    let baseline = gp.lists[0]
        .gpos
        .iter()
        .find(|g| g.guid.as_deref() == Some(BASELINE))
        .unwrap();
    assert_eq!(baseline.gpt_ini_version, Some(65_539));
    assert!(gp
        .files
        .iter()
        .any(|f| f.artifact == Some("gpt_ini") && f.version == Some(65_539)));
}

#[test]
fn without_pol_files_the_applied_gpos_are_named_and_the_answers_do_not_change() {
    let with = config_of(
        bundle(
            true,
            &[
                (0, Place::MachineCache),
                (1, Place::MachineCache),
                (2, Place::MachineCache),
            ],
        )
        .path(),
    );
    let without = config_of(bundle(true, &[]).path());
    let bare = config_of(bundle(false, &[]).path());
    for (a, b) in with
        .settings
        .as_ref()
        .unwrap()
        .iter()
        .zip(without.settings.as_ref().unwrap().iter())
    {
        assert_eq!(
            (&a.state, &a.value, &a.source, &a.display, &a.shadowed),
            (&b.state, &b.value, &b.source, &b.display, &b.shadowed),
            "{}",
            a.name
        );
    }
    let mode = setting(&without, "licensing_mode").gpo.as_ref().unwrap();
    assert_eq!(mode.status, AttributionStatus::PolFilesNotProvided);
    assert!(mode.winner.is_none());
    assert_eq!(mode.missing.len(), 3);
    assert!(mode.gpo_to_change().is_none());
    assert!(
        mode.notes[0].contains("'RDS-Servers-Baseline'"),
        "{:?}",
        mode.notes
    );
    // A setting no policy location holds gets no attribution.
    assert!(setting(&without, "drain_mode").gpo.is_none());
    // No GPO list and no Group Policy file: no setting is attributed; the policy values alone
    // only make the model say what is not known (the list absent, gpresult not provided).
    if let Some(gp) = &bare.host.as_ref().unwrap().group_policy {
        assert!(gp.files.is_empty() && gp.machine_list().is_none(), "{gp:?}");
        assert!(gp.gpresult_missing().is_some());
    }
    assert!(bare
        .settings
        .as_ref()
        .unwrap()
        .iter()
        .all(|s| s.gpo.is_none()));
}

#[test]
fn a_missing_later_gpo_leaves_the_winner_open() {
    // Only the local GPO's and the Default Domain Policy's files: the OU GPO applied after them
    // could override what they set.
    let dir = bundle(true, &[(0, Place::MachineCache), (1, Place::MachineCache)]);
    let c = config_of(dir.path());
    let a = setting(&c, "licensing_mode").gpo.as_ref().unwrap();
    assert_eq!(a.status, AttributionStatus::Partial);
    assert_eq!(
        a.winner.as_ref().unwrap().gpo.display_name.as_deref(),
        Some("Default Domain Policy")
    );
    assert!(a.gpo_to_change().is_none());
    let m = &a.missing[0];
    assert_eq!(m.gpo.guid.as_deref(), Some(BASELINE));
    assert_eq!(m.reason, "not_provided");
    assert!(m.after_winner);
    // The registry's value (Per Device) is not what the Default Domain Policy sets: noted.
    assert!(
        a.notes.iter().any(|n| n.contains("the registry holds")),
        "{:?}",
        a.notes
    );
}

#[test]
fn a_damaged_pol_file_is_partial_with_its_offset_and_counts_as_unreadable() {
    let dir = bundle(
        true,
        &[
            (0, Place::MachineCache),
            (1, Place::MachineCache),
            (2, Place::MachineCache),
        ],
    );
    let pol = dir.path().join(format!(
        "C/ProgramData/Microsoft/Group Policy/History/{BASELINE}/Machine/Registry.pol"
    ));
    let bytes = std::fs::read(&pol).unwrap();
    // Cut inside the first instruction: nothing of the file can be read.
    std::fs::write(&pol, &bytes[..20]).unwrap();
    let report = pipeline::config(&[dir.path().to_path_buf()], &Options::default());
    let c = &report.captures[0];
    let input = c
        .inputs
        .iter()
        .find(|i| {
            i.path
                .ends_with(&format!("{BASELINE}/Machine/Registry.pol"))
        })
        .unwrap();
    assert_eq!(input.status.name(), "rejected");
    let p = &input.problems[0];
    assert_eq!(p.code.as_str(), "policy-file-invalid");
    assert!(p.offset.is_some());
    let a = setting(c, "licensing_mode").gpo.as_ref().unwrap();
    assert_eq!(a.status, AttributionStatus::Partial);
    assert!(a
        .missing
        .iter()
        .any(|m| m.reason == "unreadable" && m.gpo.guid.as_deref() == Some(BASELINE)));
}

fn analyze(dir: &Path) -> rdsdiag::report::CaptureReport {
    let report = pipeline::analyze(&[dir.to_path_buf()], &Options::default());
    report.captures.into_iter().next().unwrap()
}

fn explanation(c: &rdsdiag::report::CaptureReport, id: &str) -> String {
    c.findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} finding: {:?}", c.findings))
        .explanation
        .clone()
}

#[test]
fn the_policy_override_finding_names_the_gpo_to_change() {
    let write = |files: &[(usize, Place)]| {
        let dir = tempfile::tempdir().unwrap();
        // The positive fixture of RDS-LIC-POLICY-OVERRIDES, with the GPOs that set the policy.
        let m = gpo::record_applied(
            machine(false).server_manager_licensing(4, &["ls-sm.contoso.local"]),
            DOMAIN,
            &gpos(),
        );
        m.write_kape(dir.path()).unwrap();
        let all = gpos();
        let chosen: Vec<(&Gpo, Place)> = files.iter().map(|(i, p)| (&all[*i], *p)).collect();
        gpo::write_files(dir.path(), DOMAIN, &chosen).unwrap();
        dir
    };
    let with = write(&[
        (0, Place::MachineCache),
        (1, Place::MachineCache),
        (2, Place::MachineCache),
    ]);
    let text = explanation(&analyze(with.path()), "RDS-LIC-POLICY-OVERRIDES");
    assert!(
        text.contains("edit the GPO 'RDS-Servers-Baseline' {6A2C2E1B-7F43-4C1E-9C6B-0D1E2F3A4B5C}, linked to OU=RDS,DC=contoso,DC=local"),
        "{text}"
    );
    assert!(
        text.contains("'Default Domain Policy' (Per User (4))"),
        "{text}"
    );
    let c = analyze(with.path());
    let f = c
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-POLICY-OVERRIDES")
        .unwrap();
    let json = serde_json::to_string(&f.evidence).unwrap();
    assert!(json.contains("Registry.pol"), "{json}");

    let without = write(&[]);
    let text = explanation(&analyze(without.path()), "RDS-LIC-POLICY-OVERRIDES");
    assert!(
        text.contains("Registry.pol files were not provided"),
        "{text}"
    );
    assert!(!text.contains("edit the GPO"), "{text}");

    let bare = tempfile::tempdir().unwrap();
    machine(false)
        .server_manager_licensing(4, &["ls-sm.contoso.local"])
        .write_kape(bare.path())
        .unwrap();
    let text = explanation(&analyze(bare.path()), "RDS-LIC-POLICY-OVERRIDES");
    assert!(
        !text.contains("GPO"),
        "without Group Policy evidence the finding is as before: {text}"
    );
}

#[test]
fn the_time_limit_finding_names_the_gpo_that_sets_the_limit() {
    // The positive fixture of RDS-CONN-TIME-LIMIT (a one-hour active session limit in computer
    // policy), with two GPOs setting MaxConnectionTime: the OU GPO's one hour wins.
    let local = Gpo::local(1).sets(vec![Instr::ts(
        "MaxConnectionTime",
        Data::Dword(28_800_000),
    )]);
    let ou = Gpo::domain(
        "RDS-Servers-Baseline",
        BASELINE,
        "OU=RDS,DC=contoso,DC=local",
        4,
    )
    .sets(vec![Instr::ts("MaxConnectionTime", Data::Dword(3_600_000))]);
    let m = rdsdiag_testsupport::lic_scenarios::time_limit_host(
        Os::Server2019,
        4,
        true,
        Some(3_600_000),
    );
    let m = gpo::record_applied(m, DOMAIN, &[local.clone(), ou.clone()]);
    let dir = tempfile::tempdir().unwrap();
    m.write_kape(dir.path()).unwrap();
    gpo::write_files(
        dir.path(),
        DOMAIN,
        &[(&local, Place::MachineCache), (&ou, Place::Sysvol)],
    )
    .unwrap();
    let text = explanation(&analyze(dir.path()), "RDS-CONN-TIME-LIMIT");
    assert!(
        text.contains("edit the GPO 'RDS-Servers-Baseline'"),
        "{text}"
    );
    assert!(text.contains("'Local Group Policy' (8 hours"), "{text}");
}

#[test]
fn the_gpo_list_is_absent_unreadable_or_not_provided_and_says_so() {
    use rdsdiag::catalog::settings::catalog;
    use rdsdiag::config::{gpo::attribute, resolve, GroupPolicy, MemorySource};
    use rdsdiag::evidence::HiveKind;
    use rdsdiag::registry::pol::read_gp_file;
    use rdsdiag::registry::RegData;

    let ts = r"Policies\Microsoft\Windows NT\Terminal Services";
    let history = r"Microsoft\Windows\CurrentVersion\Group Policy\History\{35378EAC-683F-11D2-A89A-00C04FBBCFA2}";
    let pol = gpo::registry_pol(&[Instr::ts("LicensingMode", Data::Dword(2))]);
    let file = read_gp_file(
        &format!("SYSVOL/contoso.local/Policies/{BASELINE}/Machine/Registry.pol"),
        &pol,
        false,
    );
    let status_and_chain = |m: &MemorySource| {
        let mut settings = resolve(m);
        let gp = GroupPolicy::read(m, std::slice::from_ref(&file));
        attribute(&mut settings, catalog(), &gp);
        let a = settings.get("licensing_mode").unwrap().gpo.clone().unwrap();
        (a.status, a.chain.join(" | "), a.unplaced.len())
    };

    // SOFTWARE not provided: the list is unknown, the file that sets the value is unplaced.
    let mut m = MemorySource::new();
    m.provide(
        HiveKind::System,
        "SYSTEM",
        rdsdiag::registry::SourceForm::Hive,
    );
    let (status, chain, unplaced) = status_and_chain(&m);
    assert_eq!(status, AttributionStatus::GpoListUnknown);
    assert!(
        chain.contains("not provided (SOFTWARE hive not provided)"),
        "{chain}"
    );
    assert_eq!(unplaced, 1);

    // SOFTWARE provided with the policy value but no Group Policy history: absent.
    m.set(HiveKind::Software, ts, "LicensingMode", RegData::Dword(2));
    let (status, chain, _) = status_and_chain(&m);
    assert_eq!(status, AttributionStatus::GpoListUnknown);
    assert!(chain.contains("absent"), "{chain}");

    // The history key is there but cannot be read: unreadable.
    m.set_unreadable(HiveKind::Software, history, "bad cell");
    let (status, chain, _) = status_and_chain(&m);
    assert_eq!(status, AttributionStatus::GpoListUnknown);
    assert!(chain.contains("unreadable"), "{chain}");
}

#[test]
fn the_cli_shows_the_gpo_in_text_json_markdown_and_the_chain_with_v() {
    use assert_cmd::Command;
    let dir = bundle(
        true,
        &[
            (0, Place::MachineCache),
            (1, Place::MachineCache),
            (2, Place::Sysvol),
        ],
    );
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("rdsdiag")
            .unwrap()
            .args(args)
            .arg(dir.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&["config"]);
    assert!(
        text.contains("licensing_mode: Per Device (2) from 'RDS-Servers-Baseline'"),
        "{text}"
    );
    assert!(
        text.contains("which beat 'Default Domain Policy' (Per User (4))"),
        "{text}"
    );
    assert!(
        !text.contains("1. 'Local Group Policy'"),
        "no chain without -v: {text}"
    );
    let verbose = run(&["-v", "config"]);
    assert!(
        verbose.contains("2. 'Default Domain Policy' {31B2F340-016D-11D2-945F-00C04FB984F9}, linked to DC=contoso,DC=local, version 7: sets Per User (4)"),
        "{verbose}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(&["config", "--format", "json"])).unwrap();
    let gpo = &json["captures"][0]["settings"]["licensing_mode"]["gpo"];
    assert_eq!(gpo["status"], "attributed");
    assert_eq!(gpo["winner"]["gpo"]["guid"], BASELINE);
    assert_eq!(
        gpo["shadowed"][0]["gpo"]["display_name"],
        "Default Domain Policy"
    );
    assert_eq!(gpo["shadowed"][0]["value"]["code"], 4);
    let files = json["captures"][0]["host"]["group_policy"]["files"]
        .as_array()
        .unwrap();
    assert!(files.iter().any(|f| f["where"] == "local_gpo"));
    assert!(files.iter().any(|f| f["where"] == "history_cache"));
    assert!(files.iter().any(|f| f["where"] == "gpo_folder"));
    let md = run(&["analyze", "--format", "markdown"]);
    assert!(
        md.contains("Group Policy (which GPO set each policy value"),
        "{md}"
    );
    assert!(md.contains("'RDS-Servers-Baseline'"), "{md}");
    let analyzed: serde_json::Value =
        serde_json::from_str(&run(&["analyze", "--format", "json"])).unwrap();
    let kinds: Vec<&str> = analyzed["captures"][0]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "policy_file").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "gpt_ini").count(),
        1,
        "{kinds:?}"
    );
}

#[test]
fn the_application_order_not_the_file_decides_the_winner() {
    // The same files, but the history records the OU GPO before the Default Domain Policy: the
    // recorded order is taken as the application order, so the Default Domain Policy wins.
    let dir = tempfile::tempdir().unwrap();
    let all = gpos();
    let swapped = [all[0].clone(), all[2].clone(), all[1].clone()];
    gpo::record_applied(machine(false), DOMAIN, &swapped)
        .write_kape(dir.path())
        .unwrap();
    gpo::write_files(
        dir.path(),
        DOMAIN,
        &[
            (&all[0], Place::MachineCache),
            (&all[1], Place::MachineCache),
            (&all[2], Place::MachineCache),
        ],
    )
    .unwrap();
    let c = config_of(dir.path());
    let a = setting(&c, "licensing_mode").gpo.as_ref().unwrap();
    assert_eq!(
        a.winner.as_ref().unwrap().gpo.display_name.as_deref(),
        Some("Default Domain Policy")
    );
    assert_eq!(
        shadowed_names(setting(&c, "licensing_mode")),
        ["RDS-Servers-Baseline"]
    );
    // The registry holds what the OU GPO sets: the files and the registry disagree, noted.
    assert!(
        a.notes.iter().any(|n| n.contains("the registry holds")),
        "{:?}",
        a.notes
    );
}

mod pol_parser {
    use proptest::prelude::*;
    use rdsdiag::registry::pol::parse;
    use rdsdiag_testsupport::gpo::{registry_pol, Instr};
    use rdsdiag_testsupport::hive::Data;

    proptest! {
        /// Any bytes after a valid header: no panic, instructions in file order inside the file,
        /// and damage named with an offset inside the file.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = b"PReg\x01\0\0\0".to_vec();
            bytes.extend(&body);
            let p = parse(&bytes, "Registry.pol");
            let mut last = 0;
            for e in &p.entries {
                prop_assert!(e.offset >= last && (e.offset as usize) < bytes.len());
                last = e.offset + 1;
            }
            if let Some(e) = &p.error {
                prop_assert!(e.offset as usize <= bytes.len());
            }
        }

        /// Generated files read back whole, one entry per instruction, whatever is cut off a copy.
        #[test]
        fn generated_files_round_trip(n in 0u32..20, cut in 0usize..400) {
            let instrs: Vec<Instr> = (0..n)
                .map(|i| Instr::ts(&format!("V{i}"), Data::Dword(i)))
                .collect();
            let bytes = registry_pol(&instrs);
            let p = parse(&bytes, "x");
            prop_assert!(p.error.is_none());
            prop_assert_eq!(p.entries.len(), n as usize);
            let cut = cut.min(bytes.len());
            let q = parse(&bytes[..bytes.len() - cut], "x");
            prop_assert!(q.entries.len() <= n as usize);
        }
    }
}

#[test]
fn a_pol_file_damaged_after_some_instructions_is_used_up_to_the_damage() {
    let dir = bundle(
        true,
        &[
            (0, Place::MachineCache),
            (1, Place::MachineCache),
            (2, Place::MachineCache),
        ],
    );
    let pol = dir.path().join(format!(
        "C/ProgramData/Microsoft/Group Policy/History/{BASELINE}/Machine/Registry.pol"
    ));
    let bytes = std::fs::read(&pol).unwrap();
    // Keep the first instruction (LicensingMode) whole and 10 bytes of the second.
    let first = gpo::registry_pol(&gpos()[2].machine[..1]).len();
    std::fs::write(&pol, &bytes[..first + 10]).unwrap();
    let report = pipeline::config(&[dir.path().to_path_buf()], &Options::default());
    let c = &report.captures[0];
    let input = c
        .inputs
        .iter()
        .find(|i| {
            i.path
                .ends_with(&format!("{BASELINE}/Machine/Registry.pol"))
        })
        .unwrap();
    assert_eq!(input.status.name(), "partial");
    // The offset names the instruction the file ends in.
    assert_eq!(input.problems[0].offset, Some(first as u64));

    // The instruction before the damage still wins, with a note that the rest is unknown.
    let mode = setting(c, "licensing_mode").gpo.as_ref().unwrap();
    assert_eq!(mode.status, AttributionStatus::Attributed);
    assert_eq!(
        winner_name(setting(c, "licensing_mode")).as_deref(),
        Some("RDS-Servers-Baseline")
    );
    assert!(
        mode.notes
            .iter()
            .any(|n| n.contains("damaged after the instruction read")),
        "{:?}",
        mode.notes
    );
    // The value after the damage: the OU GPO's file is unreadable there, so it may still win.
    let servers = setting(c, "license_servers").gpo.as_ref().unwrap();
    assert_eq!(servers.status, AttributionStatus::Partial);
    assert_eq!(
        servers.winner.as_ref().unwrap().gpo.display_name.as_deref(),
        Some("Default Domain Policy")
    );
    assert!(servers.missing.iter().any(|m| m.reason == "unreadable"
        && m.after_winner
        && m.gpo.guid.as_deref() == Some(BASELINE)));
}

#[test]
fn group_policy_section_snapshot() {
    let dir = bundle(
        true,
        &[
            (0, Place::MachineCache),
            (1, Place::MachineCache),
            (2, Place::Sysvol),
        ],
    );
    let c = config_of(dir.path());
    let text = rdsdiag::render::config::gpo_section(c.settings.as_ref().unwrap(), true, 0);
    insta::assert_snapshot!("config_gpo_section", text);
}
