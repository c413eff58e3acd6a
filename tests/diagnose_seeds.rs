//! The seed articles' licensing scenarios (`../shared/seeds` 000, 001, 002), each reproduced as a
//! whole bundle (KAPE folder, MSRD-Collect folder, zip) and read by the real pipeline or binary,
//! with the diagnosis ids each one must (and must not) produce.

use std::path::Path;

use assert_cmd::Command;
use rdsdiag::diagnose::Confidence;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::lic_scenarios::{
    cut_first_logons, healthy_sessions, hourly_sessions, soft_enforcement_host, vdi_host, LS01,
    LSM_LOG, RCM_ADMIN_LOG,
};
use rdsdiag_testsupport::scenario::{rcm_licensing, Machine, Os};

fn ids(r: &CaptureReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.id).collect()
}

fn licensing_ids(r: &CaptureReport) -> Vec<&'static str> {
    ids(r)
        .into_iter()
        .filter(|i| i.starts_with("RDS-LIC-"))
        .collect()
}

fn kape(m: &Machine, dir: &Path) -> CaptureReport {
    let root = m.write_kape(&dir.join(&m.name)).expect("write KAPE tree");
    analyze_capture(&root, &AnalyzeOptions::default())
}

/// Seed 000: "Your session will be disconnected in 60 minutes". A Windows Server 2019 session
/// host licensed Per Device cannot reach its license server; users are cut after an hour and
/// reconnect. Read from a KAPE folder.
#[test]
fn seed_000_sixty_minute_soft_enforcement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = kape(&soft_enforcement_host(Os::Server2019), dir.path());
    let found = ids(&r);
    assert!(found.contains(&"RDS-LIC-SOFT-ENFORCEMENT"), "{found:?}");
    assert!(found.contains(&"RDS-LIC-SERVER-UNREACHABLE"), "{found:?}");
    let soft = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-SOFT-ENFORCEMENT")
        .expect("found");
    assert_eq!(
        soft.confidence,
        Confidence::Likely,
        "no event proves soft enforcement"
    );
    assert!(
        soft.explanation.contains("Windows Server 2019"),
        "{}",
        soft.explanation
    );
    assert!(
        soft.explanation.contains("Per Device"),
        "{}",
        soft.explanation
    );
    let unreachable = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-SERVER-UNREACHABLE")
        .expect("found");
    assert!(
        unreachable.explanation.contains(LS01),
        "{}",
        unreachable.explanation
    );
    assert_eq!(unreachable.confidence, Confidence::Confirmed);
    // Configuration is fine: mode and server are set, so those rules stay silent.
    for quiet in [
        "RDS-LIC-MODE-NOT-CONFIGURED",
        "RDS-LIC-NO-SERVER",
        "RDS-LIC-GRACE-EXPIRED",
    ] {
        assert!(!found.contains(&quiet), "{quiet}: {found:?}");
    }
}

/// Seed 000, the article's version notes: Windows Server 2016 has soft enforcement for Per
/// Device, not for Per User; 2022 removed it. The same rhythm is judged by the version.
#[test]
fn seed_000_soft_enforcement_follows_the_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let per_device_2016 = kape(
        &soft_enforcement_host(Os::Server2016),
        &dir.path().join("a"),
    );
    assert!(ids(&per_device_2016).contains(&"RDS-LIC-SOFT-ENFORCEMENT"));

    let (lsm, rcm) = hourly_sessions(2, 0, Some(LS01));
    let per_user_2016 = Machine::session_host("RDSH01", Os::Server2016, Some("contoso.local"))
        .server_manager_licensing(4, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm);
    let r = kape(&per_user_2016, &dir.path().join("b"));
    assert!(
        !ids(&r).contains(&"RDS-LIC-SOFT-ENFORCEMENT"),
        "{:?}",
        ids(&r)
    );
    assert!(ids(&r).contains(&"RDS-LIC-SERVER-UNREACHABLE"));

    let r2022 = kape(
        &soft_enforcement_host(Os::Server2022),
        &dir.path().join("c"),
    );
    assert!(!ids(&r2022).contains(&"RDS-LIC-SOFT-ENFORCEMENT"));
    assert!(ids(&r2022).contains(&"RDS-LIC-SERVER-UNREACHABLE"));
}

/// Seed 001: non-persistent VDI with Per User licensing. The pool VM never obtained the
/// license server's X509 certificate; each first connection is cut with "no Remote Desktop
/// License Servers available" (reason 257). Read by the real binary from an MSRD-Collect folder.
#[test]
fn seed_001_non_persistent_vdi_without_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = vdi_host(false)
        .write_msrd(dir.path())
        .expect("write MSRD folder");
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary built")
        .args(["analyze", "--format", "json"])
        .arg(&root)
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let findings = json["captures"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let got: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(got.contains(&"RDS-LIC-VDI-NO-CERTIFICATE"), "{got:?}");
    assert!(got.contains(&"RDS-LIC-SERVER-UNREACHABLE"), "{got:?}");
    let vdi = findings
        .iter()
        .find(|f| f["id"] == "RDS-LIC-VDI-NO-CERTIFICATE")
        .expect("found");
    assert_eq!(vdi["confidence"], "likely");
    let text = vdi["explanation"].as_str().unwrap_or_default();
    assert!(
        text.contains("Per User") && text.contains("X509 Certificate"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "findings: exit code 1");

    // After the fix (the image carries the certificate) the VDI finding goes away.
    let fixed = vdi_host(true)
        .write_kape(&dir.path().join("fixed"))
        .expect("write");
    let r = analyze_capture(&fixed, &AnalyzeOptions::default());
    assert!(
        !ids(&r).contains(&"RDS-LIC-VDI-NO-CERTIFICATE"),
        "{:?}",
        ids(&r)
    );
}

/// Seed 002 ("RDS CAL license registry key"): a new session host whose
/// `RCM\Licensing Core\LicensingMode` is 5 ("the ghost code"), users refused with "no Remote
/// Desktop License Servers available" after the grace period (RCM 1069), the grace-period key
/// present. Read from a zip. The fix the article arrives at (LicensingMode 4, the host then
/// obtains the license server certificate) clears every licensing finding.
#[test]
fn seed_002_licensing_mode_5_and_expired_grace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grace = r"ControlSet001\Control\Terminal Server\RCM\GracePeriod";
    let (lsm, rcm) = cut_first_logons(2, 257, &[(1069, None)]);
    let mut rcm = rcm;
    rcm.insert(0, rcm_licensing("2024-03-01T07:00:00Z", 1068, None));
    let broken = Machine::session_host("RDSH02", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(5, &[LS01])
        .system_value(
            grace,
            "L$RTMTIMEBOMB_1320153D-8DA3-4e8e-B27B-0D888223A588",
            Data::Binary(vec![0x11; 16]),
        )
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm);
    let zip = broken
        .write_kape_zip(&dir.path().join("rdsh02.zip"))
        .expect("write zip");
    let r = analyze_capture(&zip, &AnalyzeOptions::default());
    let found = licensing_ids(&r);
    assert!(found.contains(&"RDS-LIC-MODE-NOT-CONFIGURED"), "{found:?}");
    assert!(found.contains(&"RDS-LIC-GRACE-EXPIRED"), "{found:?}");
    assert!(
        !found.contains(&"RDS-LIC-NO-SERVER"),
        "a server is configured: {found:?}"
    );
    let mode = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-MODE-NOT-CONFIGURED")
        .expect("found");
    assert_eq!(
        mode.confidence,
        Confidence::Confirmed,
        "RCM 1068/1069 prove it"
    );
    assert!(
        mode.explanation.contains("Not configured (5)"),
        "{}",
        mode.explanation
    );

    let fixed = Machine::session_host("RDSH02", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(4, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, healthy_sessions())
        .log(
            RCM_ADMIN_LOG,
            vec![rcm_licensing(
                "2024-03-01T07:00:00Z",
                1129,
                Some("2024-06-30"),
            )],
        );
    let zip = fixed
        .write_kape_zip(&dir.path().join("rdsh02-fixed.zip"))
        .expect("write zip");
    let r = analyze_capture(&zip, &AnalyzeOptions::default());
    assert!(licensing_ids(&r).is_empty(), "{:?}", r.findings);
}
