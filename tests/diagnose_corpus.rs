//! Real captures of the shared corpus (`../shared/corpus`) produce no false licensing findings:
//! none of them is a session host with licensing trouble (a 2012 R2 domain controller with RDP
//! logons, a Windows 10 SYSTEM hive, loose System/LSM/RDP attack logs, damaged logs). Each
//! capture is analysed whole, as the CLI would; skipped with a note when the corpus is absent.

use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag_testsupport::corpus;

/// The captures as a user would point rdsdiag at them: the KAPE tree, the SYSTEM hive, each
/// folder of loose logs.
const CAPTURES: &[&str] = &[
    "captures/CITADEL-DC01",
    "regipy/SYSTEM_2",
    "python-evtx",
    "dfir-artifact-museum/RathbunVM_W11",
    "evtx-to-mitre-attack",
    "evtx-rs-samples",
];

#[test]
fn corpus_captures_have_no_false_licensing_findings() {
    let Some(dir) = corpus::path("") else { return };
    let mut analysed = 0;
    for rel in CAPTURES {
        let Some(path) = corpus::path(rel) else {
            continue;
        };
        let report = analyze_capture(&path, &AnalyzeOptions::default());
        assert!(report.error.is_none(), "{rel}: {:?}", report.error);
        let licensing: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.id.starts_with("RDS-LIC-"))
            .map(|f| (f.id, f.explanation.clone()))
            .collect();
        assert!(
            licensing.is_empty(),
            "{rel}: false licensing findings {licensing:#?}"
        );
        analysed += 1;
    }
    assert!(
        analysed > 0,
        "no corpus capture found under {}",
        dir.display()
    );
}

#[test]
fn citadel_is_not_judged_a_session_host_without_evidence() {
    // The domain controller's logs hold RDP logons but no licensing events, and its registry is
    // not in the capture: the licensing configuration rules cannot decide, and say why, rather
    // than report.
    let Some(path) = corpus::path("captures/CITADEL-DC01") else {
        return;
    };
    let report = analyze_capture(&path, &AnalyzeOptions::default());
    for id in [
        "RDS-LIC-MODE-NOT-CONFIGURED",
        "RDS-LIC-NO-SERVER",
        "RDS-LIC-VDI-NO-CERTIFICATE",
    ] {
        assert!(report.findings.iter().all(|f| f.id != id), "{id}");
        let missing = report
            .undecided
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.missing.join("; "))
            .unwrap_or_default();
        assert!(missing.contains("not provided"), "{id}: {missing:?}");
    }
}
