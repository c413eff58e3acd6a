//! Issue 15: verdicts a support engineer can trust, on generated evidence shaped like the real
//! cases: licensing disconnect reasons without any other licensing log, a one-hour time limit,
//! the 60-minute rhythm where no cause can be named, other computers' events, and the verdict
//! field (problems, healthy, inconclusive) with the fleet counts.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rdsdiag::diagnose::Confidence;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::{CaptureReport, Verdict};
use rdsdiag::timeline::PatternKind;
use rdsdiag_testsupport::lic_scenarios::{
    cut_first_logons, healthy_host, hourly_sessions, rdsh, time_limit_host, LS01, LSM_LOG,
    RCM_ADMIN_LOG,
};
use rdsdiag_testsupport::scenario::{
    lsm_40, lsm_session, rcm_licensing, security_4624, Machine, Os,
};

fn write(machine: &Machine, dir: &Path) -> PathBuf {
    machine
        .write_kape(&dir.join(&machine.name))
        .expect("write capture")
}

fn analyse(machine: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    analyze_capture(&write(machine, dir.path()), &AnalyzeOptions::default())
}

/// A capture of the event logs alone (no hives): the configuration is unknown.
fn analyse_logs_only(machine: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write(machine, dir.path());
    let config = root.join("C/Windows/System32/config");
    std::fs::remove_dir_all(&config).expect("drop the hives");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn ids(r: &CaptureReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id).collect()
}

fn problems_verdict(r: &CaptureReport) {
    assert_eq!(
        r.verdict,
        Verdict::Problems,
        "{}",
        rdsdiag::render::verdict(r)
    );
    let text = rdsdiag::render::verdict(r);
    assert!(
        !text.contains("No RDS licensing or connection problem"),
        "{text}"
    );
}

#[test]
fn reason_258_without_any_licensing_log_names_no_cals_from_the_reason_alone() {
    // Four sessions cut with reason 258; no RCM Admin log, no license server capture.
    let (lsm, _) = cut_first_logons(4, 258, &[]);
    let r = analyse(
        &rdsh(Os::Server2019, 4, &[LS01])
            .with_ls_certificate()
            .log(LSM_LOG, lsm),
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-NO-CALS")
        .unwrap_or_else(|| panic!("no RDS-LIC-NO-CALS: {:?}", ids(&r)));
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.explanation.contains("Only the reason code was seen"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("258"), "{}", f.explanation);
    assert!(
        f.explanation.contains("license server's System log"),
        "names the log that would confirm it: {}",
        f.explanation
    );
    assert_eq!(f.evidence.len(), 4, "each disconnect cited");
    assert_eq!(
        r.timeline.as_ref().unwrap().summary.licensing_disconnects,
        4
    );
    problems_verdict(&r);
}

#[test]
fn reason_257_names_the_rule_the_configuration_decides() {
    let (lsm, _) = cut_first_logons(3, 257, &[]);
    // A license server is configured: it could not be reached.
    let configured = analyse(
        &rdsh(Os::Server2019, 2, &[LS01])
            .with_ls_certificate()
            .log(LSM_LOG, lsm.clone()),
    );
    assert!(
        ids(&configured).contains(&"RDS-LIC-SERVER-UNREACHABLE"),
        "{:?}",
        ids(&configured)
    );
    assert!(!ids(&configured).contains(&"RDS-LIC-NO-SERVER"));
    // None is configured anywhere: no license server (the configuration proves it).
    let none = analyse(&rdsh(Os::Server2019, 2, &[]).log(LSM_LOG, lsm.clone()));
    assert!(
        ids(&none).contains(&"RDS-LIC-NO-SERVER"),
        "{:?}",
        ids(&none)
    );
    assert!(!ids(&none).contains(&"RDS-LIC-SERVER-UNREACHABLE"));
    // No hives: which of the two cannot be told; the generic rule asks for the hives.
    let unknown = analyse_logs_only(&rdsh(Os::Server2019, 2, &[LS01]).log(LSM_LOG, lsm));
    let f = unknown
        .findings
        .iter()
        .find(|f| f.id == "RDS-LIC-DISCONNECT")
        .unwrap_or_else(|| panic!("{:?}", ids(&unknown)));
    assert!(
        f.explanation.contains("SYSTEM and SOFTWARE hives"),
        "{}",
        f.explanation
    );
    assert!(!ids(&unknown).contains(&"RDS-LIC-NO-SERVER"));
    for r in [&configured, &none, &unknown] {
        problems_verdict(r);
    }
}

#[test]
fn a_one_hour_time_limit_is_named_and_not_called_soft_enforcement() {
    // Windows Server 2019 with Per User has soft enforcement; the limit explains the rhythm.
    let r = analyse(&time_limit_host(Os::Server2019, 4, false, Some(3_600_000)));
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-CONN-TIME-LIMIT")
        .unwrap_or_else(|| panic!("{:?}", ids(&r)));
    assert_eq!(f.confidence, Confidence::Confirmed);
    for words in [
        "max_connection_time",
        "1 hour",
        "Group Policy",
        "disconnect reason 4",
    ] {
        assert!(f.explanation.contains(words), "{words}: {}", f.explanation);
    }
    assert!(
        !ids(&r).contains(&"RDS-LIC-SOFT-ENFORCEMENT"),
        "{:?}",
        ids(&r)
    );
    let t = r.timeline.as_ref().unwrap();
    let p = t
        .patterns
        .iter()
        .find(|p| p.kind == PatternKind::HourlyDisconnects)
        .expect("the rhythm is seen");
    assert!(
        p.summary.contains("disconnected every 60 minutes"),
        "{}",
        p.summary
    );
    assert!(!p.summary.to_lowercase().contains("soft"), "{}", p.summary);
    problems_verdict(&r);
}

#[test]
fn the_limit_from_the_events_alone_is_likely_and_says_where_it_could_be_set() {
    // RCM 20518 and reason 4, but no limit in the computer's policy or listener.
    let r = analyse(&time_limit_host(Os::Server2022, 4, true, None));
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-CONN-TIME-LIMIT")
        .unwrap_or_else(|| panic!("{:?}", ids(&r)));
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.explanation.contains("user policy or the user account"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("20518"), "{}", f.explanation);
}

#[test]
fn an_hourly_rhythm_without_a_cause_is_a_problem_named_neutrally() {
    // Windows Server 2022 (no soft enforcement), reason 0, no limit, no licensing events.
    let (lsm, _) = hourly_sessions(2, 0, None);
    let r = analyse(
        &rdsh(Os::Server2022, 4, &[LS01])
            .with_ls_certificate()
            .log(LSM_LOG, lsm),
    );
    assert!(
        !ids(&r).contains(&"RDS-LIC-SOFT-ENFORCEMENT"),
        "{:?}",
        ids(&r)
    );
    assert!(!ids(&r).contains(&"RDS-CONN-TIME-LIMIT"), "{:?}", ids(&r));
    problems_verdict(&r);
    let text = rdsdiag::render::verdict(&r);
    assert!(text.contains("disconnected every 60 minutes"), "{text}");
    assert!(text.contains("no rule could attribute"), "{text}");
}

#[test]
fn healthy_and_inconclusive_are_told_apart() {
    // A session host with its licensing, System and Security logs: every check can be decided
    // (without the Security log, refused RDP logons could not be ruled out).
    let complete = || {
        healthy_host(4)
            .log(
                "Security.evtx",
                vec![security_4624(
                    "2024-03-04T07:59:58Z",
                    rdsdiag_testsupport::lic_scenarios::ALICE,
                    10,
                    "10.0.0.21",
                )],
            )
            .log(
                RCM_ADMIN_LOG,
                vec![rcm_licensing(
                    "2024-03-04T07:00:00Z",
                    1129,
                    Some("2024-06-30"),
                )],
            )
            .rds_running("2024-03-04T07:00:00Z")
    };
    let healthy = analyse(&complete());
    let text = rdsdiag::render::verdict(&healthy);
    assert_eq!(
        healthy.verdict,
        Verdict::Healthy,
        "{text} {:?}",
        healthy.undecided
    );
    assert!(text.contains("every check could be decided"), "{text}");
    // The same logs without the hives: nothing found, but the evidence cannot rule one out.
    let logs_only = analyse_logs_only(&complete());
    assert_eq!(logs_only.verdict, Verdict::Inconclusive);
    let text = rdsdiag::render::verdict(&logs_only);
    assert!(text.contains("cannot rule one out"), "{text}");
    assert!(text.contains("not provided"), "{text}");
}

#[test]
fn other_computers_licensing_disconnects_never_count_for_this_host() {
    // RDSH01's capture holds a log whose sessions were written by RDSH02 with reason 258.
    let mut foreign = Vec::new();
    for (i, day) in ["2024-04-02", "2024-04-03", "2024-04-04"]
        .iter()
        .enumerate()
    {
        let s = 2 + i as u32;
        foreign.push(
            lsm_session(
                21,
                &format!("{day}T07:55:00Z"),
                s,
                r"CONTOSO\bob",
                "10.0.0.40",
            )
            .computer("RDSH02.contoso.local"),
        );
        foreign.push(lsm_40(&format!("{day}T07:55:04Z"), s, 258).computer("RDSH02.contoso.local"));
    }
    let r = analyse(
        &rdsh(Os::Server2019, 4, &[LS01])
            .with_ls_certificate()
            .log(LSM_LOG, foreign),
    );
    assert!(
        r.findings
            .iter()
            .all(|f| !f.id.starts_with("RDS-LIC-") || !f.explanation.contains("258")),
        "{:?}",
        r.findings
    );
    assert!(!ids(&r).contains(&"RDS-LIC-NO-CALS"), "{:?}", ids(&r));
    let t = r.timeline.as_ref().unwrap();
    assert_eq!(t.summary.licensing_disconnects, 0);
    assert!(t.patterns.is_empty(), "{:?}", t.patterns);
    assert_ne!(r.verdict, Verdict::Problems);
}

#[test]
fn the_fleet_summary_counts_verdicts_and_json_carries_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (lsm, _) = cut_first_logons(2, 258, &[]);
    write(
        &rdsh(Os::Server2019, 4, &[LS01])
            .with_ls_certificate()
            .log(LSM_LOG, lsm),
        &dir.path().join("a"),
    );
    write(&healthy_host(4), &dir.path().join("b"));
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["batch", "-q"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "a capture with problems");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let summary = lines.last().expect("summary line");
    assert_eq!(summary["record"], "fleet_summary");
    assert_eq!(summary["verdicts"]["problems"], 1, "{summary}");
    let verdicts: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["verdict"].as_str().expect("verdict on each capture line"))
        .collect();
    assert!(verdicts.contains(&"problems"), "{verdicts:?}");
}
