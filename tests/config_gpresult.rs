//! gpresult output and user policy in `config` (issue 19): generated bundles (a KAPE tree of a
//! session host) with gpresult reports of each form written from the documented formats
//! (`testsupport::gpresult`, `docs/configuration.md`) give the right winning and beaten GPO for
//! the licensing mode, the license servers and a time limit; user hives give per-user time limits
//! resolved with "computer policy wins" (R2); bundles without these files keep their answers.

use std::path::Path;

use assert_cmd::Command;
use rdsdiag::config::gpresult::{GpresultSummary, SettingChain};
use rdsdiag::config::user_policy::UserValueStatus;
use rdsdiag::config::UserPolicy;
use rdsdiag::evidence::{InputKind, InputStatus};
use rdsdiag::gpresult::Scope as GpScope;
use rdsdiag::pipeline::{self, Options};
use rdsdiag_testsupport::gpresult::{user_hive, Gpo, Report, Scope, Setting};
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{Machine, Os};

const DDP: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
const BASELINE: &str = "{6AC1786C-016F-11D2-945F-00C04FB98401}";
const DENIED: &str = "{0F3A6B1C-1D2E-4F50-8A9B-0C1D2E3F4A5B}";
const USERS_GPO: &str = "{7B2C9D40-AAAA-4BBB-8CCC-DDDDEEEEFFFF}";

/// The machine: computer policy holds what the winning GPO (RDS-Servers-Baseline) set.
fn machine() -> Machine {
    Machine::session_host("RDSH01", Os::Server2019, Some("contoso.com"))
        .policy("LicensingMode", Data::Dword(2))
        .policy("LicenseServers", Data::Sz("ls1.contoso.com".into()))
        .policy("MaxIdleTime", Data::Dword(900_000))
}

/// RDS-Servers-Baseline (linked to the RDS OU, applied last) beats the Default Domain Policy for
/// the licensing mode, the license servers and the idle limit; a user GPO sets a disconnection
/// limit; one GPO was filtered out.
fn report() -> Report {
    let c = Scope::Computer;
    Report {
        computer: r"CONTOSO\RDSH01$".into(),
        user: r"CONTOSO\alice".into(),
        gpos: vec![
            Gpo::applied(c, "Default Domain Policy", DDP, "contoso.com", 1, 12),
            Gpo::applied(c, "RDS-Servers-Baseline", BASELINE, "contoso.com/RDS", 2, 7).enforced(),
            Gpo::denied(
                c,
                "Workstation Settings",
                DENIED,
                "contoso.com",
                "Denied (Security)",
            ),
            Gpo::applied(
                Scope::User,
                "RDS-Users",
                USERS_GPO,
                "contoso.com/Users",
                1,
                3,
            ),
        ],
        soms: vec![
            (c, "contoso.com".into(), false),
            (c, "contoso.com/RDS".into(), true),
        ],
        settings: vec![
            Setting::policy(
                c,
                BASELINE,
                1,
                "Set the Remote Desktop licensing mode",
                &[(
                    "Specify the licensing mode for the RD Session Host server",
                    "Per Device",
                )],
            ),
            Setting::policy(
                c,
                DDP,
                2,
                "Set the Remote Desktop licensing mode",
                &[(
                    "Specify the licensing mode for the RD Session Host server",
                    "Per User",
                )],
            ),
            Setting::policy(
                c,
                BASELINE,
                1,
                "Use the specified Remote Desktop license servers",
                &[("License servers to use", "ls1.contoso.com")],
            ),
            Setting::policy(
                c,
                DDP,
                2,
                "Use the specified Remote Desktop license servers",
                &[("License servers to use", "ls-old.contoso.com")],
            ),
            Setting::value(c, BASELINE, 1, "MaxIdleTime", Data::Dword(900_000)),
            Setting::value(c, DDP, 2, "MaxIdleTime", Data::Dword(3_600_000)),
            // The text form names registry values only: the licensing values as values too.
            // 2 is Per Device and 4 Per User (values.tsv).
            Setting::value(c, BASELINE, 1, "LicensingMode", Data::Dword(2)),
            Setting::value(c, DDP, 2, "LicensingMode", Data::Dword(4)),
            Setting::value(
                c,
                BASELINE,
                1,
                "LicenseServers",
                Data::Sz("ls1.contoso.com".into()),
            ),
            Setting::value(
                c,
                DDP,
                2,
                "LicenseServers",
                Data::Sz("ls-old.contoso.com".into()),
            ),
            Setting::value(
                Scope::User,
                USERS_GPO,
                1,
                "MaxDisconnectionTime",
                Data::Dword(300_000),
            ),
        ],
    }
}

fn config_of(dir: &Path) -> rdsdiag::report::ConfigCapture {
    let mut r = pipeline::config(&[dir.to_path_buf()], &Options::default());
    assert_eq!(r.captures.len(), 1);
    r.captures.remove(0)
}

fn chain<'a>(gp: &'a GpresultSummary, setting: &str, scope: GpScope) -> &'a SettingChain {
    gp.settings
        .iter()
        .find(|c| c.setting == setting && c.scope == scope)
        .unwrap_or_else(|| panic!("no chain for {setting}: {:#?}", gp.settings))
}

/// The winner and the beaten GPOs of a chain, by name.
fn names(c: &SettingChain) -> (Option<&str>, Vec<&str>) {
    (
        c.winner.as_ref().map(|w| w.name.as_str()),
        c.beaten.iter().map(|b| b.name.as_str()).collect(),
    )
}

fn bundle(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    machine().write_kape(dir.path()).unwrap();
    for (path, bytes) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

#[test]
fn xml_form_gives_winner_and_beaten_gpo_with_link_and_version() {
    let dir = bundle(&[("RDSH01_GPResult.xml", report().xml_bytes())]);
    let c = config_of(dir.path());
    let input = c.inputs.iter().find(|i| i.path.ends_with(".xml")).unwrap();
    assert_eq!(
        (input.kind, input.status),
        (InputKind::Gpresult, InputStatus::Parsed)
    );
    let gp = c.gpresult.as_ref().expect("gpresult block");
    for setting in ["licensing_mode", "license_servers", "max_idle_time"] {
        let ch = chain(gp, setting, GpScope::Computer);
        assert_eq!(
            names(ch),
            (Some("RDS-Servers-Baseline"), vec!["Default Domain Policy"]),
            "{setting}"
        );
        let w = ch.winner.as_ref().unwrap();
        assert_eq!(w.guid.as_deref(), Some(BASELINE));
        assert_eq!(w.link.as_deref(), Some("contoso.com/RDS"));
        assert_eq!((w.version.as_deref(), w.enforced), (Some("7"), Some(true)));
        assert_eq!(ch.beaten[0].link.as_deref(), Some("contoso.com"));
        assert_eq!(ch.beaten[0].precedence, Some(2));
    }
    let mode = chain(gp, "licensing_mode", GpScope::Computer);
    assert_eq!(
        mode.policy.as_deref(),
        Some("Set the Remote Desktop licensing mode")
    );
    assert!(
        mode.winner.as_ref().unwrap().value.contains("Per Device"),
        "{mode:?}"
    );
    assert!(mode.beaten[0].value.contains("Per User"));
    let user = chain(gp, "max_disconnection_time", GpScope::User);
    assert_eq!(names(user), (Some("RDS-Users"), vec![]));
    // The GPO list: applied in application order, then the filtered one.
    let applied: Vec<&str> = gp
        .gpos
        .iter()
        .filter(|g| g.gpo.applied && g.gpo.scope == Some(GpScope::Computer))
        .map(|g| g.gpo.name.as_str())
        .collect();
    assert_eq!(applied, ["Default Domain Policy", "RDS-Servers-Baseline"]);
    assert!(gp
        .gpos
        .iter()
        .any(|g| !g.gpo.applied && g.gpo.name == "Workstation Settings"));
    assert!(gp
        .soms
        .iter()
        .any(|s| s.path == "contoso.com/RDS" && s.blocks_inheritance == Some(true)));
}

#[test]
fn text_form_names_the_winner_by_the_machines_own_value() {
    let text = rdsdiag_testsupport::gpresult::utf16le_bom(&report().text());
    let dir = bundle(&[("RDSH01-GPResult-Z.txt", text)]);
    let c = config_of(dir.path());
    let gp = c.gpresult.as_ref().expect("gpresult block");
    for setting in ["licensing_mode", "license_servers", "max_idle_time"] {
        let ch = chain(gp, setting, GpScope::Computer);
        assert_eq!(
            names(ch),
            (Some("RDS-Servers-Baseline"), vec!["Default Domain Policy"]),
            "{setting}: {ch:#?}"
        );
        assert!(ch.inferred, "the text form shows no precedence");
    }
    let applied: Vec<&str> = gp
        .gpos
        .iter()
        .filter(|g| g.gpo.applied)
        .map(|g| g.gpo.name.as_str())
        .collect();
    assert!(applied.contains(&"RDS-Servers-Baseline"), "{applied:?}");
    let denied = gp.gpos.iter().find(|g| !g.gpo.applied).unwrap();
    assert_eq!(denied.gpo.reason.as_deref(), Some("Denied (Security)"));
}

#[test]
fn text_form_without_a_matching_machine_value_leaves_the_order_open() {
    // The machine's policy holds a value neither GPO set: the text form cannot say which won.
    let dir = tempfile::tempdir().unwrap();
    machine()
        .policy("MaxIdleTime", Data::Dword(60_000))
        .write_kape(dir.path())
        .unwrap();
    std::fs::write(dir.path().join("gpresult.txt"), report().text()).unwrap();
    let c = config_of(dir.path());
    let ch = chain(
        c.gpresult.as_ref().unwrap(),
        "max_idle_time",
        GpScope::Computer,
    );
    assert!(ch.winner.is_none() && ch.beaten.is_empty(), "{ch:#?}");
    assert_eq!(ch.unordered.len(), 2);
}

#[test]
fn html_form_gives_the_winning_gpo() {
    let dir = bundle(&[(
        "RDSH01_SystemInfo/RDSH01_Gpresult.html",
        report().html().into_bytes(),
    )]);
    let c = config_of(dir.path());
    let gp = c.gpresult.as_ref().expect("gpresult block");
    for setting in ["licensing_mode", "license_servers", "max_idle_time"] {
        let ch = chain(gp, setting, GpScope::Computer);
        assert_eq!(
            ch.winner.as_ref().map(|w| w.name.as_str()),
            Some("RDS-Servers-Baseline"),
            "{setting}"
        );
        assert!(ch.beaten.is_empty(), "the HTML report names only winners");
        let w = ch.winner.as_ref().unwrap();
        assert_eq!(
            (w.guid.as_deref(), w.link.as_deref()),
            (Some(BASELINE), Some("contoso.com/RDS"))
        );
    }
    let mode = chain(gp, "licensing_mode", GpScope::Computer);
    assert!(
        mode.winner.as_ref().unwrap().value.contains("Per Device"),
        "{mode:?}"
    );
}

#[test]
fn damaged_gpresult_is_partial_or_rejected_with_its_offset() {
    let xml = report().xml();
    let cut = xml[..xml.find("<q4:RegistrySetting>").unwrap() + 40].to_string();
    let dir = bundle(&[
        ("cut_gpresult.xml", cut.into_bytes()),
        (
            "bad_gpresult.xml",
            b"<?xml version=\"1.0\"?>\n<Rsop><Other></Rsop>".to_vec(),
        ),
    ]);
    let c = config_of(dir.path());
    let cut = c
        .inputs
        .iter()
        .find(|i| i.path.ends_with("cut_gpresult.xml"))
        .unwrap();
    assert_eq!(cut.status, InputStatus::Partial, "{:?}", cut.problems);
    assert!(cut
        .problems
        .iter()
        .any(|p| p.code == "gpresult-damaged" && p.offset.is_some()));
    let bad = c
        .inputs
        .iter()
        .find(|i| i.path.ends_with("bad_gpresult.xml"))
        .unwrap();
    assert!(
        matches!(bad.status, InputStatus::Partial | InputStatus::Rejected),
        "{bad:?}"
    );
    // What the cut file holds before the damage is still used.
    let gp = c.gpresult.as_ref().expect("gpresult block");
    assert!(gp.settings.iter().any(|ch| ch.setting == "licensing_mode"));
}

fn user_policy_bundle() -> tempfile::TempDir {
    bundle(&[
        (
            "C/Users/alice/NTUSER.DAT",
            user_hive(&[
                ("MaxIdleTime", Data::Dword(1_800_000)),
                ("MaxDisconnectionTime", Data::Dword(300_000)),
            ]),
        ),
        (
            "C/Users/bob/NTUSER.DAT",
            user_hive(&[("MaxIdleTime", Data::Dword(600_000))]),
        ),
        ("C/Users/carol/NTUSER.DAT", user_hive(&[])),
    ])
}

#[test]
fn user_policy_time_limits_per_user_resolved_against_computer_policy() {
    let dir = user_policy_bundle();
    let c = config_of(dir.path());
    let up: &UserPolicy = c.user_policy.as_ref().expect("user policy block");
    let users: Vec<&str> = up.hives.iter().map(|h| h.user.as_str()).collect();
    assert_eq!(users, ["alice", "bob", "carol"]);

    // Idle limit: computer policy sets 15 minutes, so both users' values are overridden (R2).
    let idle = up
        .settings
        .iter()
        .find(|s| s.setting == "max_idle_time")
        .unwrap();
    assert!(
        idle.computer_policy
            .as_deref()
            .is_some_and(|v| v.contains("900000")),
        "{idle:?}"
    );
    let by_user: Vec<(&str, UserValueStatus)> = idle
        .users
        .iter()
        .map(|u| (u.user.as_str(), u.status))
        .collect();
    assert_eq!(
        by_user,
        [
            ("alice", UserValueStatus::OverriddenByComputerPolicy),
            ("bob", UserValueStatus::OverriddenByComputerPolicy)
        ]
    );
    assert!(idle.users_differ);
    assert_eq!(idle.not_set, ["carol"]);
    assert!(
        idle.users[0].display.contains("1800000"),
        "{:?}",
        idle.users[0]
    );

    // Disconnection limit: no computer policy, so alice's own value applies to alice.
    let disc = up
        .settings
        .iter()
        .find(|s| s.setting == "max_disconnection_time")
        .unwrap();
    assert_eq!(disc.computer_policy, None);
    assert_eq!(disc.users.len(), 1);
    assert_eq!(disc.users[0].status, UserValueStatus::Effective);
    assert!(disc.users[0].provenance.file.ends_with("alice/NTUSER.DAT"));
    assert!(
        !up.settings.iter().any(|s| s.setting == "licensing_mode"),
        "computer-only settings are not user policy"
    );
}

#[test]
fn config_text_and_json_show_gpo_chain_and_user_policy() {
    let dir = user_policy_bundle();
    std::fs::write(dir.path().join("RDSH01_GPResult.xml"), report().xml_bytes()).unwrap();
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .arg("config")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Group Policy (gpresult):"), "{text}");
    assert!(
        text.contains(&format!(
            "licensing_mode (computer) \"Set the Remote Desktop licensing mode\": set by 'RDS-Servers-Baseline' {BASELINE} linked to contoso.com/RDS, version 7, enforced"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "beat 'Default Domain Policy' {DDP} linked to contoso.com, version 12"
        )),
        "{text}"
    );
    assert!(
        text.contains("Blocks inheritance: contoso.com/RDS"),
        "{text}"
    );
    assert!(
        text.contains("'Workstation Settings': filtered out"),
        "{text}"
    );
    assert!(text.contains("User policy (3 user hives;"), "{text}");
    assert!(
        text.contains("alice: 30 minutes (1800000 ms) (overridden by computer policy)"),
        "{text}"
    );

    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["config", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cap = &json["captures"][0];
    let chains = cap["gpresult"]["settings"].as_array().unwrap();
    let mode = chains
        .iter()
        .find(|c| c["setting"] == "licensing_mode")
        .unwrap();
    assert_eq!(mode["winner"]["name"], "RDS-Servers-Baseline");
    assert_eq!(mode["beaten"][0]["guid"], DDP);
    assert_eq!(mode["form"], "xml");
    let idle = cap["user_policy"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["setting"] == "max_idle_time")
        .unwrap();
    assert_eq!(idle["users"][0]["status"], "overridden_by_computer_policy");
}

#[test]
fn bundles_without_gpresult_or_user_hives_keep_their_answers() {
    let plain = bundle(&[]);
    let with = bundle(&[
        ("RDSH01_GPResult.xml", report().xml_bytes()),
        ("RDSH01_Gpresult.html", report().html().into_bytes()),
    ]);
    let a = config_of(plain.path());
    let b = config_of(with.path());
    assert!(a.gpresult.is_none() && a.user_policy.is_none());
    // gpresult output attributes (settings.<name>.gpo), it never changes what was resolved.
    let without_gpo = |c: &rdsdiag::report::ConfigCapture| {
        let mut v = serde_json::to_value(&c.settings).unwrap();
        for s in v.as_object_mut().unwrap().values_mut() {
            s.as_object_mut().unwrap().remove("gpo");
        }
        v
    };
    assert_eq!(
        without_gpo(&a),
        without_gpo(&b),
        "gpresult output never changes the resolved settings"
    );
    let a_json = serde_json::to_value(&a.settings).unwrap();
    assert!(
        a_json
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.get("gpo").is_none()),
        "without Group Policy evidence no setting is attributed: {a_json}"
    );
    let json = serde_json::to_value(&a).unwrap();
    assert!(
        json.get("gpresult").is_none() && json.get("user_policy").is_none(),
        "{json}"
    );
    let text = rdsdiag::render::config::render_report(&rdsdiag::report::ConfigReport::new(vec![a]));
    assert!(
        !text.contains("Group Policy (gpresult)") && !text.contains("User policy"),
        "{text}"
    );
    // The machine holds policy values, so the report says once that no gpresult was provided.
    assert_eq!(text.matches("gpresult not provided").count(), 1, "{text}");
}

#[test]
fn mutated_reports_never_panic_and_keep_offsets_in_the_file() {
    use rdsdiag::gpresult::{parse, GpresultForm};
    let r = report();
    let samples = [
        r.xml_bytes(),
        r.xml().into_bytes(),
        r.text().into_bytes(),
        r.html().into_bytes(),
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for sample in &samples {
        for _ in 0..300 {
            let mut b = sample.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[i] = next() as u8,
                    1 => b.truncate(i),
                    _ => {
                        let j = (next() as usize) % b.len().max(1);
                        let chunk: Vec<u8> = b[j.min(i)..j.max(i)].to_vec();
                        b.splice(i..i, chunk.into_iter().take(256));
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            for form in [GpresultForm::Xml, GpresultForm::Text, GpresultForm::Html] {
                match parse("m", form, &b) {
                    Ok(rep) => {
                        for e in &rep.entries {
                            assert!(e.offset <= b.len() as u64);
                        }
                        for i in &rep.issues {
                            assert!(i.offset <= b.len() as u64);
                        }
                    }
                    Err(e) => assert!(e.offset <= b.len() as u64, "{e}"),
                }
            }
        }
    }
}

/// A real user hive of the public corpus (dirty, with its two logs): read, replayed and listed as
/// a user hive; it holds no RDS user policy.
#[test]
fn a_real_dirty_user_hive_is_listed_without_user_policy() {
    let Some(hive) = rdsdiag_testsupport::corpus::path("regipy/transactions_NTUSER.DAT") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let from = hive.parent().unwrap();
    for name in [
        "transactions_NTUSER.DAT",
        "transactions_ntuser.dat.log1",
        "transactions_ntuser.dat.log2",
    ] {
        std::fs::copy(from.join(name), dir.path().join(name)).unwrap();
    }
    let c = config_of(dir.path());
    let up = c
        .user_policy
        .as_ref()
        .expect("a user hive is in the capture");
    assert_eq!(up.hives.len(), 1);
    assert_eq!(up.hives[0].unreadable, None);
    assert!(up.settings.is_empty(), "{:?}", up.settings);
    assert!(c.gpresult.is_none());
}

#[test]
fn analyze_shows_the_gpo_chain_and_user_policy_in_markdown_json_and_text() {
    let dir = user_policy_bundle();
    std::fs::write(dir.path().join("RDSH01_GPResult.xml"), report().xml_bytes()).unwrap();
    let run = |format: &str| {
        let out = Command::cargo_bin("rdsdiag")
            .unwrap()
            .args(["analyze", "--format", format])
            .arg(dir.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let md = run("markdown");
    assert!(md.contains("### Group Policy (gpresult)"), "{md}");
    assert!(
        md.contains(&format!(
            "| licensing_mode | computer | RDS-Servers-Baseline {BASELINE} @ contoso.com/RDS v7 (enforced)"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!("Default Domain Policy {DDP} @ contoso.com v12")),
        "{md}"
    );
    assert!(md.contains("### User policy"), "{md}");
    assert!(
        md.contains(
            "| max_idle_time | alice | 30 minutes (1800000 ms) | overridden by computer policy |"
        ),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let cap = &json["captures"][0];
    assert_eq!(
        cap["gpresult"]["settings"][0]["winner"]["name"],
        "RDS-Servers-Baseline"
    );
    assert_eq!(
        cap["user_policy"]["hives"].as_array().map(Vec::len),
        Some(3)
    );
    let text = run("text");
    assert!(text.contains("Group Policy (gpresult):"), "{text}");
    assert!(text.contains("User policy (3 user hives;"), "{text}");
}

#[test]
fn a_report_that_disagrees_with_the_hives_says_so() {
    let agree = bundle(&[("RDSH01_GPResult.xml", report().xml_bytes())]);
    let c = config_of(agree.path());
    let idle = chain(
        c.gpresult.as_ref().unwrap(),
        "max_idle_time",
        GpScope::Computer,
    );
    assert_eq!(idle.matches_registry, Some(true));

    // The hives were collected after the idle limit changed: the report's winner no longer holds.
    let dir = tempfile::tempdir().unwrap();
    machine()
        .policy("MaxIdleTime", Data::Dword(60_000))
        .write_kape(dir.path())
        .unwrap();
    std::fs::write(dir.path().join("RDSH01_GPResult.xml"), report().xml_bytes()).unwrap();
    let c = config_of(dir.path());
    let idle = chain(
        c.gpresult.as_ref().unwrap(),
        "max_idle_time",
        GpScope::Computer,
    );
    assert_eq!(
        idle.winner.as_ref().map(|w| w.name.as_str()),
        Some("RDS-Servers-Baseline")
    );
    assert_eq!(idle.matches_registry, Some(false));
    let text = rdsdiag::render::config::render_gpresult(c.gpresult.as_ref().unwrap());
    assert!(
        text.contains("the computer policy key holds another value"),
        "{text}"
    );
    // The attribution does not name a GPO to change on the word of a report the hives deny.
    use rdsdiag::config::gpo::AttributionStatus;
    let a = gpo_of(&c, "max_idle_time");
    assert_eq!(a.status, AttributionStatus::ReportDisagrees);
    assert!(a.gpo_to_change().is_none());
    assert!(a
        .notes
        .iter()
        .any(|n| n.contains("older or newer than the hives")));
    let agreeing = config_of(agree.path());
    let a = gpo_of(&agreeing, "max_idle_time");
    assert_eq!(a.status, AttributionStatus::FromReport);
    assert!(a.gpo_to_change().is_some());
}

/// Many GPOs setting one value (a hostile or generated report) stay linear: every entry's GPO is
/// named through an index, duplicates are dropped through a set.
#[test]
fn many_gpos_on_one_setting_stay_linear() {
    let n = 10_000u32;
    let c = Scope::Computer;
    let mut r = report();
    r.gpos.clear();
    r.settings.clear();
    for i in 0..n {
        let guid = format!("{{00000000-0000-0000-0000-{i:012}}}");
        r.gpos.push(Gpo::applied(
            c,
            &format!("GPO {i}"),
            &guid,
            "contoso.com",
            i + 1,
            1,
        ));
        r.settings.push(Setting::value(
            c,
            &guid,
            i + 1,
            "MaxIdleTime",
            Data::Dword(i),
        ));
    }
    let started = std::time::Instant::now();
    let report = rdsdiag::gpresult::parse(
        "big.xml",
        rdsdiag::gpresult::GpresultForm::Xml,
        &r.xml_bytes(),
    )
    .unwrap();
    let gp = rdsdiag::config::gpresult::from_reports(&[report], None).unwrap();
    let ch = chain(&gp, "max_idle_time", GpScope::Computer);
    assert_eq!(ch.winner.as_ref().map(|w| w.name.as_str()), Some("GPO 0"));
    assert_eq!(ch.beaten.len(), n as usize - 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// The text blocks as people read them (reviewed snapshot).
#[test]
fn gpresult_and_user_policy_text_blocks() {
    let dir = user_policy_bundle();
    std::fs::write(dir.path().join("RDSH01_GPResult.xml"), report().xml_bytes()).unwrap();
    let c = config_of(dir.path());
    let text = format!(
        "{}\n{}",
        rdsdiag::render::config::render_gpresult(c.gpresult.as_ref().unwrap()),
        rdsdiag::render::config::render_user_policy(c.user_policy.as_ref().unwrap())
    );
    insta::assert_snapshot!("gpresult_and_user_policy_text", text);
}

/// The GPO a setting's attribution (`settings.<name>.gpo`) names, and the ones it beat.
fn attributed(c: &rdsdiag::report::ConfigCapture, setting: &str) -> (String, Vec<String>) {
    let s = c.settings.as_ref().unwrap().get(setting).unwrap();
    let a = s
        .gpo
        .as_ref()
        .unwrap_or_else(|| panic!("{setting} is not attributed: {s:#?}"));
    let name = |g: &rdsdiag::config::gpo::GpoRef| g.display_name.clone().unwrap_or_default();
    (
        a.winner.as_ref().map(|w| name(&w.gpo)).unwrap_or_default(),
        a.shadowed.iter().map(|l| name(&l.gpo)).collect(),
    )
}

#[test]
fn gpresult_feeds_the_attribution_when_the_pol_files_are_missing() {
    use rdsdiag::config::gpo::AttributionStatus;
    // No Registry.pol in the bundle and no GP history in the hive: only gpresult can tell.
    for (name, bytes, beaten) in [
        ("RDSH01_GPResult.xml", report().xml_bytes(), true),
        ("RDSH01_Gpresult.html", report().html().into_bytes(), false),
        ("RDSH01_OS_GPResult.txt", report().text().into_bytes(), true),
    ] {
        let dir = bundle(&[(name, bytes)]);
        let c = config_of(dir.path());
        for setting in ["licensing_mode", "license_servers", "max_idle_time"] {
            let a = c.settings.as_ref().unwrap().get(setting).unwrap();
            let a = a.gpo.as_ref().unwrap_or_else(|| panic!("{name} {setting}"));
            assert_eq!(a.status, AttributionStatus::FromReport, "{name} {setting}");
            let (winner, lost) = attributed(&c, setting);
            assert_eq!(winner, "RDS-Servers-Baseline", "{name} {setting}");
            if beaten {
                assert_eq!(lost, ["Default Domain Policy"], "{name} {setting}");
            }
            assert!(a.winner.as_ref().unwrap().file.ends_with(name));
            if setting == "max_idle_time" && !name.ends_with(".txt") {
                // The report's number, decoded for the setting like a registry value.
                assert_eq!(
                    a.winner.as_ref().unwrap().display,
                    "15 minutes (900000 ms)",
                    "{name}"
                );
            }
        }
        // The XML report's list of applied GPOs (the one form that gives the application
        // order) is the machine list the attribution used; the other forms give none.
        let gp = c.host.as_ref().unwrap().group_policy.as_ref().unwrap();
        assert!(gp.gpresult_missing().is_none());
        if !name.ends_with(".xml") {
            assert!(gp.machine_list().is_none(), "{name}: {gp:?}");
            continue;
        }
        let list = gp.machine_list().expect("a machine list");
        assert_eq!(
            serde_json::to_value(list.origin).unwrap(),
            serde_json::json!("gpresult"),
            "{name}"
        );
        let order: Vec<&str> = list
            .gpos
            .iter()
            .filter_map(|g| g.display_name.as_deref())
            .collect();
        assert!(
            order.ends_with(&["Default Domain Policy", "RDS-Servers-Baseline"]),
            "{name}: {order:?}"
        );
    }
    // The XML form shows the enforced link: the winner says so, in JSON and in text.
    let dir = bundle(&[("RDSH01_GPResult.xml", report().xml_bytes())]);
    let c = config_of(dir.path());
    let mode = c.settings.as_ref().unwrap().get("licensing_mode").unwrap();
    let w = &mode.gpo.as_ref().unwrap().winner.as_ref().unwrap().gpo;
    assert_eq!((w.enforced, w.version), (Some(true), Some(7)));
    let text = rdsdiag::render::config::render_report(&rdsdiag::report::ConfigReport::new(vec![c]));
    assert!(
        text.contains("'RDS-Servers-Baseline'") && text.contains("enforced"),
        "{text}"
    );
}

/// A KAPE tree whose SOFTWARE hive records the Default Domain Policy then RDS-Servers-Baseline
/// as applied, with both GPOs' cached Registry.pol (Per User, then Per Device), and with
/// `with_report` the XML gpresult report too.
fn pol_bundle(with_report: bool) -> tempfile::TempDir {
    use rdsdiag_testsupport::gpo::{self as tgpo, Instr, Place};
    const TSPOL: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";
    let ddp = tgpo::Gpo::domain("Default Domain Policy", DDP, "DC=contoso,DC=com", 12).sets(vec![
        Instr::Set(TSPOL.into(), "LicensingMode".into(), Data::Dword(4)),
    ]);
    let base = tgpo::Gpo::domain(
        "RDS-Servers-Baseline",
        BASELINE,
        "OU=RDS,DC=contoso,DC=com",
        7,
    )
    .sets(vec![Instr::Set(
        TSPOL.into(),
        "LicensingMode".into(),
        Data::Dword(2),
    )]);
    let m = tgpo::record_applied(machine(), "contoso.com", &[ddp.clone(), base.clone()]);
    let dir = tempfile::tempdir().unwrap();
    m.write_kape(dir.path()).unwrap();
    tgpo::write_files(
        dir.path(),
        "contoso.com",
        &[(&ddp, Place::MachineCache), (&base, Place::MachineCache)],
    )
    .unwrap();
    if with_report {
        std::fs::write(dir.path().join("RDSH01_GPResult.xml"), report().xml_bytes()).unwrap();
    }
    dir
}

#[test]
fn registry_pol_files_decide_and_gpresult_adds_the_enforced_link() {
    let write = pol_bundle;
    let plain = write(false);
    let with = write(true);
    let a = config_of(plain.path());
    let b = config_of(with.path());
    for c in [&a, &b] {
        assert_eq!(
            attributed(c, "licensing_mode"),
            (
                "RDS-Servers-Baseline".into(),
                vec!["Default Domain Policy".into()]
            )
        );
        let s = c.settings.as_ref().unwrap().get("licensing_mode").unwrap();
        assert_eq!(
            s.gpo.as_ref().unwrap().status,
            rdsdiag::config::gpo::AttributionStatus::Attributed
        );
    }
    let enforced = |c: &rdsdiag::report::ConfigCapture| {
        let s = c.settings.as_ref().unwrap().get("licensing_mode").unwrap();
        s.gpo
            .as_ref()
            .unwrap()
            .winner
            .as_ref()
            .unwrap()
            .gpo
            .enforced
    };
    assert_eq!(
        enforced(&a),
        None,
        "the hive does not record enforced links"
    );
    assert_eq!(enforced(&b), Some(true), "gpresult shows the enforced link");
    // Without gpresult output the reports say so, once per capture, in every format.
    let gp = a.host.as_ref().unwrap().group_policy.as_ref().unwrap();
    assert!(gp
        .gpresult_missing()
        .unwrap()
        .contains("gpresult not provided"));
    let report_a = rdsdiag::report::ConfigReport::new(vec![a]);
    let text = rdsdiag::render::config::render_report(&report_a);
    assert_eq!(text.matches("gpresult not provided").count(), 1, "{text}");
    let json = serde_json::to_value(&report_a).unwrap();
    let lists = &json["captures"][0]["host"]["group_policy"]["lists"];
    assert!(
        lists
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["origin"] == "gpresult" && l["state"] == "not_provided"),
        "{lists}"
    );
    let text_b =
        rdsdiag::render::config::render_report(&rdsdiag::report::ConfigReport::new(vec![b]));
    assert!(!text_b.contains("gpresult not provided"), "{text_b}");
}

#[test]
fn explain_a_setting_shows_its_whole_chain() {
    let dir = pol_bundle(true);
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["explain", "licensing_mode"])
        .arg(dir.path())
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{text}"
    );
    // The setting only, its evidence, every applied GPO's step, and gpresult's view.
    assert!(
        text.contains("licensing_mode") && !text.contains("max_idle_time"),
        "{text}"
    );
    assert!(text.contains("Evidence:"), "{text}");
    assert!(
        text.contains("1. 'Default Domain Policy'") && text.contains("2. 'RDS-Servers-Baseline'"),
        "{text}"
    );
    assert!(
        text.contains("which beat 'Default Domain Policy'"),
        "{text}"
    );
    assert!(text.contains("Group Policy (gpresult):"), "{text}");
    // An unknown setting is an input error naming the known ones.
    let bad = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["explain", "no_such_setting"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("licensing_mode"));
}

#[test]
fn html_report_shows_the_gpo_chain_and_says_gpresult_not_provided() {
    let dir = pol_bundle(false);
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["analyze", "--format", "html"])
        .arg(dir.path())
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.contains("<ul class=\"gpo\">"), "no GPO list");
    assert!(
        html.contains("licensing_mode: Per Device (2) from &#39;RDS-Servers-Baseline&#39;")
            || html
                .contains("licensing_mode: Per Device (2) from &#x27;RDS-Servers-Baseline&#x27;")
            || html.contains("licensing_mode: Per Device (2) from 'RDS-Servers-Baseline'"),
        "{html}"
    );
    assert!(html.contains("<li class=\"step\">1. "), "the chain's steps");
    assert_eq!(html.matches("gpresult not provided").count(), 1);
    // With the report, its block folds below and the line is gone.
    let with = pol_bundle(true);
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["analyze", "--format", "html"])
        .arg(with.path())
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.contains("<summary>Group Policy (gpresult)</summary>"));
    assert!(!html.contains("gpresult not provided"));
}

#[test]
fn gpresult_for_a_user_names_the_gpo_of_that_users_value() {
    // The report was run for CONTOSO\alice; RDS-Users sets her disconnection limit.
    let users = user_policy_bundle();
    let hive =
        |u: &str| std::fs::read(users.path().join(format!("C/Users/{u}/NTUSER.DAT"))).unwrap();
    let dir = bundle(&[
        ("RDSH01_GPResult.xml", report().xml_bytes()),
        ("C/Users/alice/NTUSER.DAT", hive("alice")),
        ("C/Users/bob/NTUSER.DAT", hive("bob")),
    ]);
    let c = config_of(dir.path());
    let up = c.user_policy.as_ref().expect("user policy");
    let disc = up
        .settings
        .iter()
        .find(|s| s.setting == "max_disconnection_time")
        .expect("alice sets it");
    let alice = disc.users.iter().find(|u| u.user == "alice").unwrap();
    let gpo = alice.gpo.as_deref().expect("the report names her GPO");
    assert!(gpo.starts_with("'RDS-Users' {7B2C9D40-"), "{gpo}");
    assert!(gpo.contains("RDSH01_GPResult.xml"), "{gpo}");
    // Bob's values have no report: no GPO is guessed for them.
    let idle = up
        .settings
        .iter()
        .find(|s| s.setting == "max_idle_time")
        .unwrap();
    assert!(idle.users.iter().all(|u| u.gpo.is_none()));
    let text = rdsdiag::render::config::render_user_policy(up);
    assert!(text.contains("set by 'RDS-Users'"), "{text}");
}

#[test]
fn a_partial_attribution_says_which_gpo_gpresult_names() {
    use rdsdiag::config::gpo::AttributionStatus;
    // The later GPO's file is missing: the pol files cannot decide, the report can.
    let dir = pol_bundle(true);
    std::fs::remove_file(dir.path().join(format!(
        "C/ProgramData/Microsoft/Group Policy/History/{BASELINE}/Machine/Registry.pol"
    )))
    .unwrap();
    let c = config_of(dir.path());
    let a = gpo_of(&c, "licensing_mode");
    assert_eq!(a.status, AttributionStatus::Partial);
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("gpresult (RDSH01_GPResult.xml) names 'RDS-Servers-Baseline'")),
        "{:?}",
        a.notes
    );
}

#[test]
fn a_soft_set_after_a_set_does_not_win() {
    use rdsdiag::config::gpo::{AttributionStatus, GpoOp};
    use rdsdiag_testsupport::gpo::{self as tgpo, Instr, Place};
    const TSPOL: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";
    let run = |first: Vec<Instr>, soft: u32| {
        let ddp =
            tgpo::Gpo::domain("Default Domain Policy", DDP, "DC=contoso,DC=com", 12).sets(first);
        let base = tgpo::Gpo::domain(
            "RDS-Servers-Baseline",
            BASELINE,
            "OU=RDS,DC=contoso,DC=com",
            7,
        )
        .sets(vec![Instr::Set(
            TSPOL.into(),
            "**soft.LicensingMode".into(),
            Data::Dword(soft),
        )]);
        let m = tgpo::record_applied(machine(), "contoso.com", &[ddp.clone(), base.clone()]);
        let dir = tempfile::tempdir().unwrap();
        m.write_kape(dir.path()).unwrap();
        tgpo::write_files(
            dir.path(),
            "contoso.com",
            &[(&ddp, Place::MachineCache), (&base, Place::MachineCache)],
        )
        .unwrap();
        let c = config_of(dir.path());
        c.settings
            .as_ref()
            .unwrap()
            .get("licensing_mode")
            .unwrap()
            .gpo
            .clone()
            .unwrap()
    };
    // The Default Domain Policy sets Per Device; the later soft set finds it present.
    let a = run(
        vec![Instr::Set(
            TSPOL.into(),
            "LicensingMode".into(),
            Data::Dword(2),
        )],
        4,
    );
    assert_eq!(a.status, AttributionStatus::Attributed);
    let w = a.winner.as_ref().unwrap();
    assert_eq!(
        (w.gpo.display_name.as_deref(), w.op),
        (Some("Default Domain Policy"), GpoOp::Set)
    );
    assert!(a.shadowed.is_empty(), "{:?}", a.shadowed);
    assert!(a
        .notes
        .iter()
        .any(|n| n.contains("'RDS-Servers-Baseline' sets it only if absent")));
    // Nothing set before it: the soft set writes the value and wins.
    let b = run(Vec::new(), 2);
    let w = b.winner.as_ref().unwrap();
    assert_eq!(
        (w.gpo.display_name.as_deref(), w.op),
        (Some("RDS-Servers-Baseline"), GpoOp::SoftSet)
    );
}

#[test]
fn a_display_name_two_gpos_share_names_no_guid() {
    // Active Directory lets two GPOs share a display name; the text form names GPOs by name only.
    let c = Scope::Computer;
    let r = Report {
        computer: r"CONTOSO\RDSH01$".into(),
        user: r"CONTOSO\alice".into(),
        gpos: vec![
            Gpo::applied(c, "RDS Settings", DDP, "contoso.com", 1, 12),
            Gpo::applied(c, "RDS Settings", BASELINE, "contoso.com/RDS", 2, 7),
        ],
        soms: vec![],
        settings: vec![Setting::value(
            c,
            BASELINE,
            1,
            "MaxIdleTime",
            Data::Dword(900_000),
        )],
    };
    let dir = bundle(&[("RDSH01_OS_GPResult.txt", r.text().into_bytes())]);
    let cap = config_of(dir.path());
    let idle = chain(
        cap.gpresult.as_ref().unwrap(),
        "max_idle_time",
        GpScope::Computer,
    );
    let w = idle.winner.as_ref().expect("one GPO sets it");
    assert_eq!(w.name, "RDS Settings");
    assert_eq!(
        (w.guid.as_deref(), w.link.as_deref()),
        (None, None),
        "{w:?}"
    );
}

#[test]
fn a_damaged_copy_does_not_hide_an_intact_one_and_odd_subkeys_are_not_gpos() {
    use rdsdiag::config::gpo::AttributionStatus;
    use rdsdiag_testsupport::gpo::REGISTRY_CSE;
    // The Baseline's most direct copy (the machine cache) is truncated; an intact copy sits in
    // a SYSVOL folder. The GP history also holds a subkey that is not a number.
    let dir = pol_bundle(false);
    let cached = dir.path().join(format!(
        "C/ProgramData/Microsoft/Group Policy/History/{BASELINE}/Machine/Registry.pol"
    ));
    let good = std::fs::read(&cached).unwrap();
    std::fs::write(&cached, &good[..good.len() - 5]).unwrap();
    let sysvol = dir.path().join(format!(
        "SYSVOL/contoso.com/Policies/{BASELINE}/Machine/Registry.pol"
    ));
    std::fs::create_dir_all(sysvol.parent().unwrap()).unwrap();
    std::fs::write(&sysvol, &good).unwrap();
    let c = config_of(dir.path());
    let a = gpo_of(&c, "licensing_mode");
    assert_eq!(a.status, AttributionStatus::Attributed, "{a:#?}");
    assert_eq!(
        attributed(&c, "licensing_mode"),
        (
            "RDS-Servers-Baseline".into(),
            vec!["Default Domain Policy".into()]
        )
    );
    assert!(
        a.winner.as_ref().unwrap().file.starts_with("SYSVOL/"),
        "{a:#?}"
    );

    // A non-numbered subkey with a GPOName is not taken as the last applied GPO.
    let m = rdsdiag_testsupport::gpo::record_applied(
        machine(),
        "contoso.com",
        &[rdsdiag_testsupport::gpo::Gpo::domain(
            "Default Domain Policy",
            DDP,
            "DC=contoso,DC=com",
            12,
        )],
    )
    .software_value(
        &format!(r"Microsoft\Windows\CurrentVersion\Group Policy\History\{REGISTRY_CSE}\S-1-5-18"),
        "GPOName",
        Data::Sz(BASELINE.into()),
    );
    let dir = tempfile::tempdir().unwrap();
    m.write_kape(dir.path()).unwrap();
    let c = config_of(dir.path());
    let gp = c.host.as_ref().unwrap().group_policy.as_ref().unwrap();
    let names: Vec<Option<&str>> = gp
        .machine_list()
        .unwrap()
        .gpos
        .iter()
        .map(|g| g.guid.as_deref())
        .collect();
    assert_eq!(names, [Some(DDP)]);
}

/// The Group Policy attribution of `setting` (it must have one).
fn gpo_of(c: &rdsdiag::report::ConfigCapture, setting: &str) -> rdsdiag::config::GpoAttribution {
    let s = c.settings.as_ref().unwrap().get(setting).unwrap();
    s.gpo
        .clone()
        .unwrap_or_else(|| panic!("{setting} is not attributed: {s:#?}"))
}
