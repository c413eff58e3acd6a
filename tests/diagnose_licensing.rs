//! The licensing rules' principles on generated captures: healthy session hosts and machines
//! without the session-host role get no licensing findings; look-alikes of soft enforcement
//! (a one-hour time limit, time-limit disconnects, no licensing trouble) are ruled out; missing
//! evidence gives `undecided` with what is missing, not a finding; confidence follows §16.

use rdsdiag::diagnose::Confidence;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::lic_scenarios::{
    healthy_host, healthy_sessions, hourly_sessions, rdsh, soft_enforcement_host, LS01, LSM_LOG,
    RCM_ADMIN_LOG,
};
use rdsdiag_testsupport::scenario::{rcm_licensing, Machine, Os, RDP_TCP};

fn analyse(m: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn lic(r: &CaptureReport) -> Vec<&'static str> {
    r.findings
        .iter()
        .map(|f| f.id)
        .filter(|i| i.starts_with("RDS-LIC-"))
        .collect()
}

fn has(r: &CaptureReport, id: &str) -> bool {
    r.findings.iter().any(|f| f.id == id)
}

/// The timeline saw the 60-minute rhythm (so a missing finding is the rule's judgement).
fn rhythm_seen(r: &CaptureReport) -> bool {
    r.timeline.as_ref().is_some_and(|t| {
        t.patterns
            .iter()
            .any(|p| p.kind == rdsdiag::timeline::PatternKind::HourlyDisconnects)
    })
}

fn undecided<'r>(r: &'r CaptureReport, id: &str) -> Option<&'r Vec<String>> {
    r.undecided.iter().find(|u| u.id == id).map(|u| &u.missing)
}

/// An RCM Admin log with one harmless record, so "no licensing event" is meaningful.
fn quiet_rcm_log() -> Vec<rdsdiag_testsupport::evtx::Ev> {
    vec![rcm_licensing("2024-03-04T07:00:00Z", 1062, None)]
}

#[test]
fn a_healthy_session_host_gets_no_licensing_finding_nor_undecided() {
    let m = healthy_host(4).log(RCM_ADMIN_LOG, quiet_rcm_log());
    let r = analyse(&m);
    assert!(lic(&r).is_empty(), "{:?}", r.findings);
    let lic_undecided: Vec<_> = r
        .undecided
        .iter()
        .filter(|u| u.id.starts_with("RDS-LIC-") && u.id != "RDS-LIC-SERVICE-DOWN")
        .collect();
    assert!(lic_undecided.is_empty(), "{lic_undecided:?}");
}

#[test]
fn machines_without_the_session_host_role_get_no_session_host_findings() {
    // A plain server in Remote Desktop for Administration mode, no license server, logs with
    // licensing noise: mode 1 is normal there.
    let admin = Machine::new("FS01", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(1, &[])
        .log(LSM_LOG, healthy_sessions())
        .log(RCM_ADMIN_LOG, quiet_rcm_log());
    let r = analyse(&admin);
    assert!(lic(&r).is_empty(), "{:?}", r.findings);

    // A Windows client with no RDS configuration at all.
    let client = Machine::new("PC07", Os::Windows11, Some("contoso.local"));
    let r = analyse(&client);
    assert!(lic(&r).is_empty(), "{:?}", r.findings);
}

#[test]
fn a_session_host_that_is_its_own_license_server_needs_no_server_list() {
    // The TermServLicensing service key makes the host a license server (S35).
    let m = rdsh(Os::Server2019, 2, &[]).with_ls_certificate();
    let m = m
        .system_value(
            r"ControlSet001\Services\TermServLicensing",
            "Start",
            Data::Dword(2),
        )
        .log(RCM_ADMIN_LOG, quiet_rcm_log());
    let r = analyse(&m);
    assert!(!has(&r, "RDS-LIC-NO-SERVER"), "{:?}", r.findings);
}

#[test]
fn mode_not_configured_without_logs_is_likely_and_with_1068_confirmed() {
    let m = rdsh(Os::Server2019, 5, &[LS01]).with_ls_certificate();
    let r = analyse(&m);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-MODE-NOT-CONFIGURED")
        .expect("found from the registry alone");
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(f
        .explanation
        .contains("No RemoteConnectionManager event 1068/1069"));
}

#[test]
fn without_the_software_hive_the_configuration_rules_say_what_is_missing() {
    let m = soft_enforcement_host(Os::Server2019).without_software();
    let r = analyse(&m);
    for id in ["RDS-LIC-MODE-NOT-CONFIGURED", "RDS-LIC-NO-SERVER"] {
        assert!(!has(&r, id), "{id}: {:?}", r.findings);
        let missing = undecided(&r, id).unwrap_or_else(|| panic!("{id} undecided"));
        assert!(
            missing
                .iter()
                .any(|w| w.contains("SOFTWARE hive not provided")),
            "{id}: {missing:?}"
        );
    }
    // The version decides soft enforcement: unknown without SOFTWARE.
    assert!(!has(&r, "RDS-LIC-SOFT-ENFORCEMENT"));
    let missing = undecided(&r, "RDS-LIC-SOFT-ENFORCEMENT").expect("undecided");
    assert!(
        missing.iter().any(|w| w.contains("Windows version unknown")
            && w.contains("Windows Server 2016 (Per Device)")
            && w.contains("Windows Server 2019 (Per Device and Per User)")),
        "{missing:?}"
    );
    // Events alone still prove the unreachable server.
    assert!(has(&r, "RDS-LIC-SERVER-UNREACHABLE"));
}

#[test]
fn a_one_hour_connection_limit_is_not_soft_enforcement() {
    let m =
        soft_enforcement_host(Os::Server2019).policy("MaxConnectionTime", Data::Dword(3_600_000));
    let r = analyse(&m);
    assert!(rhythm_seen(&r));
    assert!(!has(&r, "RDS-LIC-SOFT-ENFORCEMENT"), "{:?}", r.findings);
    assert!(has(&r, "RDS-LIC-SERVER-UNREACHABLE"));
}

#[test]
fn time_limit_disconnects_are_not_soft_enforcement() {
    // The same rhythm, but every disconnect says "active session limit reached" (reason 4).
    let (lsm, rcm) = hourly_sessions(2, 4, Some(LS01));
    let m = rdsh(Os::Server2019, 2, &[LS01])
        .with_ls_certificate()
        .system_value(RDP_TCP, "fInheritMaxSessionTime", Data::Dword(1))
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm);
    let r = analyse(&m);
    assert!(rhythm_seen(&r));
    assert!(!has(&r, "RDS-LIC-SOFT-ENFORCEMENT"), "{:?}", r.findings);
    assert!(has(&r, "RDS-LIC-SERVER-UNREACHABLE"));
}

#[test]
fn an_hourly_rhythm_without_licensing_trouble_is_not_soft_enforcement() {
    let (lsm, _) = hourly_sessions(2, 0, None);
    let m = rdsh(Os::Server2019, 2, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, quiet_rcm_log());
    let r = analyse(&m);
    assert!(rhythm_seen(&r));
    assert!(lic(&r).is_empty(), "{:?}", r.findings);
}

#[test]
fn unreachable_names_every_server_with_counts_and_a_foreign_domain() {
    let rcm = vec![
        rcm_licensing("2024-03-04T08:00:00Z", 1131, Some(LS01)),
        rcm_licensing("2024-03-04T09:00:00Z", 1131, Some(LS01)),
        rcm_licensing("2024-03-04T10:00:00Z", 1043, Some("LS02.fabrikam.com")),
    ];
    let m = rdsh(Os::Server2019, 2, &[LS01, "LS02.fabrikam.com"])
        .with_ls_certificate()
        .log(RCM_ADMIN_LOG, rcm);
    let r = analyse(&m);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-SERVER-UNREACHABLE")
        .expect("found");
    assert!(
        f.explanation.contains("LS01.contoso.local 2 times between"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("RCM 1043 ×1"), "{}", f.explanation);
    assert!(
        f.explanation.contains("in DNS domain fabrikam.com"),
        "{}",
        f.explanation
    );
    assert!(
        !f.explanation.contains("contoso.local while"),
        "{}",
        f.explanation
    );
}

#[test]
fn grace_expired_is_resolved_when_a_license_is_issued_afterwards() {
    // A host that is also the license server: 1128, then the server issues a CAL.
    let m = rdsh(Os::Server2019, 2, &[LS01])
        .log(
            RCM_ADMIN_LOG,
            vec![rcm_licensing("2024-05-02T07:55:02Z", 1128, None)],
        )
        .log(
            "System.evtx",
            vec![rdsdiag_testsupport::scenario::ls_event(
                "2024-05-02T09:00:00Z",
                4147,
                &["Windows Server 2019 - RDS Per Device CAL", "PC07"],
            )],
        );
    let r = analyse(&m);
    assert!(!has(&r, "RDS-LIC-GRACE-EXPIRED"), "{:?}", r.findings);
}

/// RDS-LIC-SERVER-UNREACHABLE on a Per Device host whose two first logons are cut with
/// `reason` seconds after RCM 1131 for LS01 (the failures themselves are proven).
fn unreachable_after_1131(reason: u32) -> rdsdiag::diagnose::Finding {
    let (lsm, rcm) =
        rdsdiag_testsupport::lic_scenarios::cut_first_logons(2, reason, &[(1131, Some(LS01))]);
    let m = rdsh(Os::Server2019, 2, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm);
    analyse(&m)
        .findings
        .into_iter()
        .find(|f| f.id == "RDS-LIC-SERVER-UNREACHABLE")
        .expect("the failures themselves are proven")
}

#[test]
fn user_disconnects_after_a_license_server_failure_are_not_linked_to_it() {
    // The user disconnects herself (reason 11) seconds after each RCM 1131.
    let f = unreachable_after_1131(11);
    assert!(
        !f.explanation
            .contains("disconnect(s) in the timeline follow"),
        "{}",
        f.explanation
    );

    // With reason 257 the same disconnects are linked.
    let f = unreachable_after_1131(257);
    assert!(
        f.explanation
            .contains("2 disconnect(s) in the timeline follow"),
        "{}",
        f.explanation
    );
}

#[test]
fn no_cals_on_a_host_that_is_also_the_license_server_compares_mode_and_cal_type() {
    // Per User host asking its own license server; the server reports no Per Device CALs.
    let m = rdsh(Os::Server2019, 4, &[LS01])
        .with_ls_certificate()
        .system_value(
            r"ControlSet001\Services\TermServLicensing",
            "Start",
            Data::Dword(2),
        )
        .log(
            "System.evtx",
            rdsdiag_testsupport::lic_scenarios::ls_no_licences(
                2,
                "Windows Server 2019 - RDS Per Device CAL",
                "RDSH01",
            ),
        );
    let r = analyse(&m);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-NO-CALS")
        .expect("found");
    assert_eq!(f.confidence, Confidence::Confirmed);
    assert!(
        f.explanation.contains("licenses Per User (4)"),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("asked for per device licences"),
        "{}",
        f.explanation
    );
}
