//! Edges of the service, client and connection rules beyond their registry fixtures, each through
//! the real pipeline (generated KAPE capture → analyze_capture): role gates (license-server rules
//! never fire on session hosts and vice versa), what proves and what only suggests (confidence),
//! and "undecided, not a guess" when a hive or log is missing. A healthy host with every log gets
//! none of these findings and nothing undecided from them.

use rdsdiag::diagnose::Confidence;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::rule_fixtures::{dropped_session, keepalive_sessions};
use rdsdiag_testsupport::scenario::{
    ls_event, lsm_40, lsm_session, rcm_system, rdp_client_1026, schannel_36870, scm_7036,
    termdd_56, Machine, Os,
};

const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const MINE: [&str; 7] = [
    "RDS-LIC-SERVICE-DOWN",
    "RDS-LIC-WORKGROUP-AUTH",
    "RDS-LIC-CLIENT-CACHE",
    "RDS-CONN-NO-KEEPALIVE",
    "RDS-CONN-SECURITY-ERROR",
    "RDS-CONN-FIPS-OVERRIDE",
    "RDS-CONN-CERT-KEY",
];

fn analyse(m: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn found<'r>(r: &'r CaptureReport, id: &str) -> Option<&'r rdsdiag::diagnose::Finding> {
    r.findings.iter().find(|f| f.id == id)
}

fn undecided<'r>(r: &'r CaptureReport, id: &str) -> Option<&'r Vec<String>> {
    r.undecided.iter().find(|u| u.id == id).map(|u| &u.missing)
}

fn healthy_session_host() -> Machine {
    Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .policy("KeepAliveEnable", Data::Dword(1))
        .policy("KeepAliveInterval", Data::Dword(1))
        .log(LSM_FILE, dropped_session())
        .rds_running("2024-03-01T07:00:00Z")
}

#[test]
fn a_healthy_session_host_gets_nothing_from_these_rules() {
    let r = analyse(&healthy_session_host());
    for id in MINE {
        assert!(found(&r, id).is_none(), "{id} on a healthy host");
        assert!(
            undecided(&r, id).is_none(),
            "{id} undecided on a complete capture: {:?}",
            undecided(&r, id)
        );
    }
}

#[test]
fn license_server_rules_do_not_fire_on_session_hosts() {
    // A workgroup session host whose System log mentions the licensing service stopping (a
    // leftover display name) is still no license server.
    let m = Machine::session_host("RDSH09", Os::Server2019, None)
        .server_manager_licensing(2, &["LS01"])
        .log(
            "System.evtx",
            vec![scm_7036(
                "2024-03-01T09:00:00Z",
                "Remote Desktop Licensing",
                "stopped",
            )],
        );
    let r = analyse(&m);
    for id in ["RDS-LIC-SERVICE-DOWN", "RDS-LIC-WORKGROUP-AUTH"] {
        assert!(
            found(&r, id).is_none() && undecided(&r, id).is_none(),
            "{id}: {:?}",
            r.findings
        );
    }
}

#[test]
fn session_host_rules_do_not_fire_on_license_servers_or_clients() {
    let ls = analyse(
        &Machine::license_server("LS01", Os::Server2019, Some("contoso.local")).log(
            "System.evtx",
            vec![scm_7036(
                "2024-03-01T07:00:00Z",
                "Remote Desktop Licensing",
                "running",
            )],
        ),
    );
    let client = analyse(&Machine::new("PC042", Os::Windows11, Some("contoso.local")));
    for r in [&ls, &client] {
        assert!(found(r, "RDS-CONN-NO-KEEPALIVE").is_none());
        assert!(
            undecided(r, "RDS-CONN-NO-KEEPALIVE").is_none(),
            "{:?}",
            r.undecided
        );
    }
    for id in ["RDS-LIC-SERVICE-DOWN", "RDS-LIC-WORKGROUP-AUTH"] {
        assert!(found(&client, id).is_none() && undecided(&client, id).is_none());
    }
    assert!(found(&ls, "RDS-LIC-SERVICE-DOWN").is_none());
    assert!(
        found(&ls, "RDS-LIC-WORKGROUP-AUTH").is_none(),
        "domain license server"
    );
}

#[test]
fn service_down_cannot_start_manual_and_missing_log() {
    // Licensing event 37 after the last start: confirmed, and the error is named.
    let m = Machine::license_server("LS01", Os::Server2019, Some("contoso.local")).log(
        "System.evtx",
        vec![
            scm_7036(
                "2024-03-01T07:00:00Z",
                "Remote Desktop Licensing",
                "running",
            ),
            scm_7036(
                "2024-03-01T08:00:00Z",
                "Remote Desktop Licensing",
                "stopped",
            ),
            ls_event("2024-03-01T08:00:05Z", 37, &["0x80070005"]),
        ],
    );
    let r = analyse(&m);
    let f = found(&r, "RDS-LIC-SERVICE-DOWN").expect("finding");
    assert_eq!(f.confidence, Confidence::Confirmed);
    assert!(
        f.explanation
            .contains("could not start at 2024-03-01T08:00:05Z"),
        "{}",
        f.explanation
    );
    // Manual start and a System log that never shows it running: likely only.
    let manual = Machine::license_server("LS01", Os::Server2019, Some("contoso.local"))
        .system_value(
            r"ControlSet001\Services\TermServLicensing",
            "Start",
            Data::Dword(3),
        )
        .rds_running("2024-03-01T07:00:00Z");
    let r = analyse(&manual);
    let f = found(&r, "RDS-LIC-SERVICE-DOWN").expect("finding");
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(f.explanation.contains("manual"), "{}", f.explanation);
    // The same without any System log: undecided.
    let mut no_log = manual.clone();
    no_log.logs.clear();
    let r = analyse(&no_log);
    assert!(found(&r, "RDS-LIC-SERVICE-DOWN").is_none());
    assert!(undecided(&r, "RDS-LIC-SERVICE-DOWN").is_some_and(|m| m[0].contains("System log")));
}

#[test]
fn client_cache_seen_from_the_session_host() {
    let m = healthy_session_host().log(
        LSM_FILE,
        vec![
            lsm_session(21, "2024-03-01T11:00:00Z", 7, r"CONTOSO\erin", "10.0.0.40"),
            lsm_40("2024-03-01T11:00:02Z", 7, 265),
            lsm_session(
                24,
                "2024-03-01T11:00:02.2Z",
                7,
                r"CONTOSO\erin",
                "10.0.0.40",
            ),
        ],
    );
    let r = analyse(&m);
    let f = found(&r, "RDS-LIC-CLIENT-CACHE").expect("finding");
    assert_eq!(f.confidence, Confidence::Confirmed);
    for needle in [
        "RDSH01",
        "265",
        "could not be upgraded or renewed",
        r"CONTOSO\erin from 10.0.0.40",
    ] {
        assert!(
            f.explanation.contains(needle),
            "{needle}: {}",
            f.explanation
        );
    }
    // A client with a store but without its RDPClient log: undecided.
    let client = Machine::new("PC042", Os::Windows11, Some("contoso.local")).with_mslicensing(1);
    let r = analyse(&client);
    assert!(found(&r, "RDS-LIC-CLIENT-CACHE").is_none());
    assert!(undecided(&r, "RDS-LIC-CLIENT-CACHE").is_some());
    // With the log and only a network error: nothing.
    let r = analyse(&client.log(
        "Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
        vec![rdp_client_1026(
            "2024-03-01T09:00:00Z",
            2308,
            "Socket closed",
        )],
    ));
    assert!(
        found(&r, "RDS-LIC-CLIENT-CACHE").is_none()
            && undecided(&r, "RDS-LIC-CLIENT-CACHE").is_none()
    );
}

#[test]
fn keep_alive_without_the_session_log_is_undecided() {
    let m = Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate();
    let r = analyse(&m);
    let missing = undecided(&r, "RDS-CONN-NO-KEEPALIVE").expect("undecided");
    assert!(missing[0].contains("LocalSessionManager"), "{missing:?}");
    // With the session log showing the symptom it is found.
    let r = analyse(&m.log(LSM_FILE, keepalive_sessions()));
    assert!(found(&r, "RDS-CONN-NO-KEEPALIVE").is_some());
}

#[test]
fn cert_key_from_schannel_alone_is_only_likely() {
    let m = healthy_session_host().log("System.evtx", vec![schannel_36870("2024-03-01T09:00:00Z")]);
    let r = analyse(&m);
    let f = found(&r, "RDS-CONN-CERT-KEY").expect("finding");
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.explanation.contains("does not name the service"),
        "{}",
        f.explanation
    );
    let with_rcm = healthy_session_host().log(
        "System.evtx",
        vec![
            schannel_36870("2024-03-01T09:00:00Z"),
            rcm_system("2024-03-01T09:00:01Z", 1058, &["0x8009030d"]),
        ],
    );
    let f = analyse(&with_rcm);
    let f = found(&f, "RDS-CONN-CERT-KEY").expect("finding").clone();
    assert_eq!(f.confidence, Confidence::Confirmed);
    assert!(f.explanation.contains("RCM 1058"), "{}", f.explanation);
}

#[test]
fn security_error_with_rcm_1050_is_confirmed_and_names_fips() {
    let m = healthy_session_host()
        .system_value(
            r"ControlSet001\Control\Lsa\FipsAlgorithmPolicy",
            "Enabled",
            Data::Dword(1),
        )
        .log(
            "System.evtx",
            vec![
                termdd_56("2024-03-01T09:29:10Z", "10.0.0.5"),
                termdd_56("2024-03-01T09:29:20Z", "10.0.0.5"),
                rcm_system("2024-03-01T09:29:30Z", 1050, &["RDP-Tcp", "4", "2"]),
            ],
        );
    let r = analyse(&m);
    let f = found(&r, "RDS-CONN-SECURITY-ERROR").expect("finding");
    assert_eq!(f.confidence, Confidence::Confirmed);
    for needle in [
        "RCM 1050",
        "FIPS algorithm policy is enabled",
        "encryption level: FIPS Compliant",
    ] {
        assert!(
            f.explanation.contains(needle),
            "{needle}: {}",
            f.explanation
        );
    }
    // The FIPS override itself is its own finding, citing the listener level it overrides.
    let fips = found(&r, "RDS-CONN-FIPS-OVERRIDE").expect("fips finding");
    assert!(
        fips.explanation
            .contains("Client Compatible (2) set by the RDP-Tcp listener"),
        "{}",
        fips.explanation
    );
    assert!(
        fips.explanation.contains("1 event(s) show its effect"),
        "{}",
        fips.explanation
    );
}

#[test]
fn workgroup_auth_is_undecided_when_membership_cannot_be_read() {
    // Without SOFTWARE the applied-GPO list is unknown, so "workgroup" is not decidable.
    let r = analyse(&Machine::license_server("LS02", Os::Server2022, None).without_software());
    assert!(found(&r, "RDS-LIC-WORKGROUP-AUTH").is_none());
    let missing = undecided(&r, "RDS-LIC-WORKGROUP-AUTH").expect("undecided");
    assert!(
        missing.iter().any(|m| m.contains("SOFTWARE")),
        "{missing:?}"
    );
    // With both hives the finding is likely and says the UBR list is unconfirmed.
    let r = analyse(&Machine::license_server("LS02", Os::Server2022, None));
    let f = found(&r, "RDS-LIC-WORKGROUP-AUTH").expect("finding");
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.explanation.contains("UNCONFIRMED") && f.explanation.contains("20348"),
        "{}",
        f.explanation
    );
}

#[test]
fn service_down_recognises_a_localised_log_by_the_service_key_in_the_binary_data() {
    // German display name and state word; the binary data carries `TermServLicensing/1`
    // (UTF-16LE, stopped). Built as a named field because the EVTX writer has no Binary element.
    let hex: String = "TermServLicensing/1\0"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .map(|b| format!("{b:02X}"))
        .collect();
    let stopped = rdsdiag_testsupport::evtx::Ev::new("Service Control Manager", 7036)
        .channel("System")
        .time("2024-03-01T09:00:00Z")
        .event_data(&[
            ("param1", "Remotedesktoplizenzierung"),
            ("param2", "Beendet"),
            ("Binary", &hex),
        ]);
    let m = Machine::license_server("LS01", Os::Server2019, Some("contoso.local"))
        .log("System.evtx", vec![stopped]);
    let r = analyse(&m);
    let f = found(&r, "RDS-LIC-SERVICE-DOWN").expect("finding");
    assert_eq!(f.confidence, Confidence::Confirmed);
    assert!(
        f.explanation
            .contains("was stopped at 2024-03-01T09:00:00Z"),
        "{}",
        f.explanation
    );
}
