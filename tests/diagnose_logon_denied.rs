//! RDS-CONN-LOGON-DENIED on generated evidence through the real pipeline (KAPE capture written by
//! testsupport → analyze_capture): every status code of the NTSTATUS table on a logon type 10
//! failure lands on its side (account refused vs bad credentials) with its wording; 4825; NLA
//! failures (logon type 3) count only beside an RDP connection and take its address; a burst from
//! many public addresses reads as password guessing against an exposed RDP port, not as a
//! configuration cause; other computers' events never count; a healthy capture gets nothing; a
//! missing Security log is undecided only where RDP was used. And the real corpus capture
//! CITADEL-DC01 (RDP brute force, then a logon from the same address).

use rdsdiag::catalog::ntstatus::{statuses, FailureClass};
use rdsdiag::diagnose::{Confidence, Finding, Severity};
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag_testsupport::corpus;
use rdsdiag_testsupport::evtx::Ev;
use rdsdiag_testsupport::rule_fixtures::dropped_session;
use rdsdiag_testsupport::scenario::{
    rdpcore_131, rdpcore_140, security_4624, security_4625, security_4825, Machine, Os, RCM,
    RCM_OPERATIONAL,
};

const ID: &str = "RDS-CONN-LOGON-DENIED";
const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const RDPCORE_FILE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx";

fn host() -> Machine {
    Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .log(LSM_FILE, dropped_session())
}

fn with_security(events: Vec<Ev>) -> Machine {
    host().log("Security.evtx", events)
}

fn analyse(m: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn mine(r: &CaptureReport) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.id == ID).collect()
}

/// The finding about accounts refused (warning, confirmed), if any.
fn refused(r: &CaptureReport) -> Option<&Finding> {
    mine(r).into_iter().find(|f| {
        f.explanation
            .contains("were refused for a reason other than a wrong password")
    })
}

/// The finding about bad credentials or guessing (and undecoded codes), if any.
fn guessing(r: &CaptureReport) -> Option<&Finding> {
    mine(r)
        .into_iter()
        .find(|f| f.explanation.contains("Remote Desktop logon(s) failed"))
}

fn undecided(r: &CaptureReport) -> Option<&Vec<String>> {
    r.undecided.iter().find(|u| u.id == ID).map(|u| &u.missing)
}

#[test]
fn every_status_code_of_the_table_lands_on_its_side_with_its_wording() {
    let mut checked = 0;
    for row in statuses().rows() {
        // The row a logon type 10 failure with this code is explained by (a "*" row whose code
        // has its own type-10 row is checked through that one).
        if statuses().lookup(row.status, Some(10)) != Some(row) {
            continue;
        }
        let code = format!("0x{:08x}", row.status);
        // Windows writes the detail in SubStatus under a generic Status for the password and
        // restriction codes, and the code alone in Status for the others.
        let (status, sub) = match row.class {
            FailureClass::BadCredentials if row.status != 0xC000006D => {
                ("0xc000006d".to_string(), code.clone())
            }
            _ => (code.clone(), "0x0".to_string()),
        };
        let r = analyse(&with_security(vec![security_4625(
            "2024-03-01T09:10:00Z",
            r"CONTOSO\dave",
            10,
            "10.0.0.9",
            &status,
            &sub,
        )]));
        let upper = format!("0x{:08X}", row.status);
        match row.class {
            FailureClass::BadCredentials => {
                assert!(
                    refused(&r).is_none(),
                    "{code}: bad credentials are no refusal"
                );
                let f = guessing(&r).unwrap_or_else(|| panic!("{code}: {:?}", mine(&r)));
                assert_eq!(f.severity, Severity::Info, "{code}");
                assert!(f.explanation.contains(r"CONTOSO\dave"), "{code}");
                assert!(
                    f.explanation.contains("not a fault of the server"),
                    "{code}"
                );
                assert!(
                    f.evidence
                        .iter()
                        .any(|e| format!("{e:?}").contains(&row.meaning)),
                    "{code}: {:?}",
                    f.evidence
                );
            }
            _ => {
                assert!(
                    guessing(&r).is_none(),
                    "{code}: a refusal is no bad password"
                );
                let f = refused(&r).unwrap_or_else(|| panic!("{code}: {:?}", mine(&r)));
                assert_eq!(f.severity, Severity::Warning, "{code}");
                assert_eq!(f.confidence, Confidence::Confirmed, "{code}");
                assert!(f.explanation.contains(r"CONTOSO\dave"), "{code}");
                assert!(
                    f.explanation.contains(&row.meaning),
                    "{code}: {}",
                    f.explanation
                );
                assert!(f.explanation.contains(&upper), "{code}: {}", f.explanation);
                let remedy = row.remedy.as_deref().expect("refusal rows have a remedy");
                assert!(f.explanation.contains(remedy), "{code}: {}", f.explanation);
                assert!(f.explanation.contains("10.0.0.9"), "{code}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} rows checked");
}

#[test]
fn a_not_allowed_account_gets_the_remote_desktop_right_as_remedy() {
    let r = analyse(&with_security(vec![
        security_4625(
            "2024-03-01T09:10:00Z",
            r"CONTOSO\carol",
            10,
            "10.0.0.9",
            "0xc000015b",
            "0x0",
        ),
        security_4625(
            "2024-03-01T09:12:00Z",
            r"CONTOSO\carol",
            10,
            "10.0.0.9",
            "0xC000015B",
            "0x0",
        ),
    ]));
    let f = refused(&r).expect("refused");
    assert!(f
        .explanation
        .contains("Allow log on through Remote Desktop Services"));
    assert!(f.explanation.contains("Remote Desktop Users"));
    assert!(f.explanation.contains("×2"), "{}", f.explanation);
    assert!(!f.explanation.contains("scanning") && !f.explanation.contains("guessing"));
    assert_eq!(f.evidence.len(), 2);
    assert!(f
        .remedy
        .iter()
        .any(|s| s.contains("Allow log on through Remote Desktop Services")));
    assert!(guessing(&r).is_none());
}

#[test]
fn nla_refusal_names_the_network_logon_rights() {
    // With NLA the same code arrives as logon type 3 beside the RDP connection.
    let r = analyse(
        &with_security(vec![security_4625(
            "2024-03-01T09:10:00.2Z",
            r"CONTOSO\carol",
            3,
            "-",
            "0xc000015b",
            "0x0",
        )])
        .log(
            RDPCORE_FILE,
            vec![rdpcore_131("2024-03-01T09:10:00.1Z", "10.0.0.9:50110")],
        ),
    );
    let f = refused(&r).expect("refused");
    assert!(
        f.explanation
            .contains("Access this computer from the network"),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("10.0.0.9"),
        "address from RdpCoreTS 131: {}",
        f.explanation
    );
}

#[test]
fn event_4825_is_a_refusal_with_user_and_address() {
    let r = analyse(&with_security(vec![security_4825(
        "2024-03-01T09:10:00Z",
        r"CONTOSO\erin",
        "10.0.0.12",
    )]));
    let f = refused(&r).expect("refused");
    assert!(f.explanation.contains(r"CONTOSO\erin"), "{}", f.explanation);
    assert!(f.explanation.contains("10.0.0.12"));
    assert!(f.explanation.contains("Remote Desktop Users"));
    assert!(f.explanation.contains("4825"));
}

#[test]
fn nla_failures_count_only_beside_an_rdp_connection_and_once_with_140() {
    // Two NLA failures of frank from 10.0.0.20, each with its RdpCoreTS 131 and 140; one failed
    // file-share logon (type 3) an hour later with no RDP connection near it.
    let r = analyse(
        &with_security(vec![
            security_4625(
                "2024-03-01T09:10:00.3Z",
                "frank",
                3,
                "-",
                "0xc000006d",
                "0xc000006a",
            ),
            security_4625(
                "2024-03-01T09:10:05.3Z",
                "frank",
                3,
                "-",
                "0xc000006d",
                "0xc000006a",
            ),
            security_4625(
                "2024-03-01T10:30:00Z",
                "grace",
                3,
                "10.0.0.30",
                "0xc000006d",
                "0xc000006a",
            ),
        ])
        .log(
            RDPCORE_FILE,
            vec![
                rdpcore_131("2024-03-01T09:10:00.1Z", "10.0.0.20:50000"),
                rdpcore_140("2024-03-01T09:10:00.4Z", "10.0.0.20"),
                rdpcore_131("2024-03-01T09:10:05.1Z", "10.0.0.20:50002"),
                rdpcore_140("2024-03-01T09:10:05.4Z", "10.0.0.20"),
            ],
        ),
    );
    let f = guessing(&r).expect("bad credentials");
    assert!(
        f.explanation.contains(" 2 Remote Desktop logon(s)"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("10.0.0.20 ×2"), "{}", f.explanation);
    assert!(!f.explanation.contains("grace"), "{}", f.explanation);
    assert!(!f.explanation.contains("10.0.0.30"), "{}", f.explanation);
    assert!(f.explanation.contains("mistyped"), "{}", f.explanation);
    assert_eq!(f.severity, Severity::Info);
}

#[test]
fn a_burst_from_many_public_addresses_is_guessing_against_exposed_rdp_not_a_configuration_cause() {
    let mut events = Vec::new();
    for i in 0..30u32 {
        let ip = format!("185.220.{}.{}", 100 + i % 6, 10 + i);
        events.push(rdpcore_140(
            &format!("2024-03-01T02:{:02}:{:02}Z", i / 6, (i * 7) % 60),
            &ip,
        ));
    }
    let r = analyse(&host().log(RDPCORE_FILE, events));
    assert!(refused(&r).is_none());
    let f = guessing(&r).unwrap_or_else(|| panic!("{:?} {:?}", r.findings, r.undecided));
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.explanation.contains("password guessing"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("reachable from the internet"));
    assert!(
        f.explanation.contains("30 public addresses"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("not a fault of the server"));
    assert!(
        !f.explanation.contains("Remedy:"),
        "no configuration remedy: {}",
        f.explanation
    );
    assert!(
        f.explanation.contains("Security log was not provided"),
        "{}",
        f.explanation
    );
}

#[test]
fn guessing_followed_by_a_logon_from_the_same_address_is_a_possible_compromise() {
    let mut sec = Vec::new();
    for i in 0..12u32 {
        sec.push(security_4625(
            &format!("2024-03-01T02:00:{:02}Z", i * 2),
            "Administrator",
            10,
            "203.0.113.50",
            "0xc000006d",
            "0xc000006a",
        ));
    }
    sec.push(security_4624(
        "2024-03-01T02:00:30Z",
        r"CONTOSO\Administrator",
        10,
        "203.0.113.50",
    ));
    let r = analyse(&with_security(sec));
    let f = guessing(&r).expect("guessing");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.explanation.contains("possible compromise"),
        "{}",
        f.explanation
    );
    assert!(f
        .explanation
        .contains(r"as CONTOSO\Administrator from 203.0.113.50"));
    // The same failures without the later logon stay information.
    let r = analyse(&with_security(
        (0..12u32)
            .map(|i| {
                security_4625(
                    &format!("2024-03-01T02:00:{:02}Z", i * 2),
                    "Administrator",
                    10,
                    "203.0.113.50",
                    "0xc000006d",
                    "0xc000006a",
                )
            })
            .collect(),
    ));
    let f = guessing(&r).expect("guessing");
    assert_eq!(f.severity, Severity::Info);
    assert!(!f.explanation.contains("compromise"));
}

#[test]
fn events_of_other_computers_never_count() {
    let r = analyse(&with_security(vec![
        security_4625(
            "2024-03-01T09:10:00Z",
            r"CONTOSO\carol",
            10,
            "10.0.0.9",
            "0xc000015b",
            "0x0",
        )
        .computer("OTHERPC.contoso.local"),
        security_4825("2024-03-01T09:11:00Z", r"CONTOSO\erin", "10.0.0.12")
            .computer("OTHERPC.contoso.local"),
    ]));
    assert!(mine(&r).is_empty(), "{:?}", mine(&r));
    assert!(undecided(&r).is_none());
}

#[test]
fn a_healthy_capture_gets_nothing() {
    let r = analyse(&with_security(vec![security_4624(
        "2024-03-01T08:59:58Z",
        r"CONTOSO\bob",
        10,
        "10.0.0.5",
    )]));
    assert!(mine(&r).is_empty(), "{:?}", mine(&r));
    assert!(undecided(&r).is_none(), "{:?}", undecided(&r));
}

#[test]
fn without_the_security_log_it_is_undecided_only_where_rdp_was_used() {
    let r = analyse(&host());
    assert!(mine(&r).is_empty());
    let missing = undecided(&r).expect("undecided").join("; ");
    assert!(missing.contains("Security log not provided"), "{missing}");
    // No RDP activity at all: nothing to decide.
    let quiet = Machine::session_host("RDSH02", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate();
    let r = analyse(&quiet);
    assert!(mine(&r).is_empty());
    assert!(undecided(&r).is_none(), "{:?}", undecided(&r));
}

#[test]
fn citadel_brute_force_then_logon_is_reported_as_exposure_and_possible_compromise() {
    let Some(path) = corpus::path("captures/CITADEL-DC01") else {
        return;
    };
    let r = analyze_capture(&path, &AnalyzeOptions::default());
    assert!(
        refused(&r).is_none(),
        "no account was refused: {:?}",
        refused(&r)
    );
    let f = guessing(&r).expect("the brute force");
    assert!(
        f.explanation.contains("194.61.24.102 ×95"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("Administrator"));
    assert!(f.explanation.contains("reachable from the internet"));
    assert!(f.explanation.contains("possible compromise"));
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn a_status_code_the_table_does_not_know_is_reported_as_such_never_as_a_cause() {
    let r = analyse(&with_security(vec![security_4625(
        "2024-03-01T09:10:00Z",
        r"CONTOSO\dave",
        10,
        "10.0.0.9",
        "0xc0001234",
        "0x0",
    )]));
    assert!(refused(&r).is_none());
    let f = guessing(&r).expect("reported");
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.explanation.contains("does not decode (0xC0001234 ×1)"),
        "{}",
        f.explanation
    );
    assert!(
        !f.explanation.contains("wrong user name or password"),
        "{}",
        f.explanation
    );
}

#[test]
fn the_real_4825_sample_names_the_account_and_address() {
    let Some(path) = corpus::path(
        "evtx-to-mitre-attack/ID4825-Denied RDP connection with valid credentials.evtx",
    ) else {
        return;
    };
    let r = analyze_capture(&path, &AnalyzeOptions::default());
    let f = refused(&r).expect("refused");
    assert!(
        f.explanation.contains(r"OFFSEC\svc6test1"),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("×2 from 10.23.23.9"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("Remote Desktop Users"));
    assert!(guessing(&r).is_none());
}

#[test]
fn a_network_failure_from_another_address_beside_an_rdp_connection_does_not_count() {
    // henry's file-share logon from 10.0.0.40 fails one second after an RDP connection from
    // 10.0.0.20 (RdpCoreTS 131) and a listener connection (RCM 261, no address).
    let r = analyse(
        &with_security(vec![security_4625(
            "2024-03-01T09:10:01Z",
            r"CONTOSO\henry",
            3,
            "10.0.0.40",
            "0xc000015b",
            "0x0",
        )])
        .log(
            RDPCORE_FILE,
            vec![rdpcore_131("2024-03-01T09:10:00Z", "10.0.0.20:50000")],
        )
        .log(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            vec![Ev::new(RCM, 261)
                .channel(RCM_OPERATIONAL)
                .time("2024-03-01T09:10:00Z")
                .user_data("EventXML", &[("listenerName", "RDP-Tcp")])],
        ),
    );
    assert!(mine(&r).is_empty(), "{:?}", mine(&r));
    // The same failure without an address (how NLA logs it) is tied to the RDP connection.
    let r = analyse(
        &with_security(vec![security_4625(
            "2024-03-01T09:10:01Z",
            r"CONTOSO\henry",
            3,
            "-",
            "0xc000015b",
            "0x0",
        )])
        .log(
            RDPCORE_FILE,
            vec![rdpcore_131("2024-03-01T09:10:00Z", "10.0.0.20:50000")],
        ),
    );
    let f = refused(&r).expect("refused");
    assert!(
        f.explanation.contains("from 10.0.0.20"),
        "{}",
        f.explanation
    );
}
