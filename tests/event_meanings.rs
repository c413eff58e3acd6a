//! Event meanings that real logs proved wrong (issue 15), each on generated evidence shaped like
//! the real case: RemoteConnectionManager 1158 beside every connection (a connection, not
//! licensing; the RD Virtualization Host licensing event 50310 still is licensing), RdpCoreTS 227
//! routine traces around user disconnects (not counted) against 227 with failure values (counted),
//! RdpCoreTS 226 on an ordinary disconnect, and RCM 1056, the creation of the self-signed
//! certificate (not a certificate fault).

use rdsdiag::diagnose::Severity;
use rdsdiag::pipeline::{analyze_capture, timeline, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag::timeline::{PatternKind, Role};
use rdsdiag_testsupport::evtx::Ev;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{
    iso_shift, rcm_1056_self_signed, rcm_1158, rcm_licensing, rdpcore_139, rdpcore_226,
    rdpcore_227, termdd_56, user_disconnects, Machine, Os,
};

const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const RCM_ADMIN_FILE: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx";
const RDPCORE_FILE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx";
/// E_NOTIMPL, the value of the routine 227 traces ("Reverse Connection Listener Name not found").
const E_NOTIMPL: u32 = 0x8000_4001;
/// SEC_E_INTERNAL_ERROR, a failure value.
const SEC_E_INTERNAL_ERROR: u32 = 0x8009_0304;

/// A healthy session host whose users disconnect (reason 11) and log off (reason 12); `around`
/// gives `(file, event)` pairs for each disconnect time; `at_logon` for each logon time.
fn host(around: impl Fn(&str) -> Vec<(&'static str, Ev)>) -> Machine {
    let sessions = [
        (2, r"CONTOSO\bob", "10.0.0.5", 8, 11),
        (3, r"CONTOSO\alice", "10.0.0.6", 9, 12),
        (4, r"CONTOSO\bob", "10.0.0.5", 10, 11),
        (5, r"CONTOSO\carol", "10.0.0.7", 11, 12),
    ];
    let (lsm, times) = user_disconnects("2024-03-04", &sessions);
    let mut m = Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .policy("KeepAliveEnable", Data::Dword(1))
        .policy("KeepAliveInterval", Data::Dword(1))
        .log(LSM_FILE, lsm)
        .rds_running("2024-03-04T07:00:00Z")
        .log(RCM_ADMIN_FILE, vec![])
        .log(RDPCORE_FILE, vec![]);
    // 1158 beside every connection attempt, as on the real Windows 10 host.
    for &(_, _, address, hour, _) in &sessions {
        let t = format!("2024-03-04T{hour:02}:00:00Z");
        m = m.log(RCM_ADMIN_FILE, vec![rcm_1158(&iso_shift(&t, -2), address)]);
    }
    for t in &times {
        for (file, ev) in around(t) {
            m = m.log(file, vec![ev]);
        }
    }
    m
}

fn analyse(m: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn patterns(r: &CaptureReport, kind: PatternKind) -> Vec<&rdsdiag::timeline::Pattern> {
    r.timeline
        .as_ref()
        .expect("timeline")
        .patterns
        .iter()
        .filter(|p| p.kind == kind)
        .collect()
}

fn warnings(r: &CaptureReport) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{}: {}", f.id, f.explanation))
        .collect()
}

#[test]
fn rcm_1158_beside_every_connection_is_a_connection_not_licensing() {
    // Also around every disconnect, as the real host logged it for every attempt.
    let m = host(|t| {
        (0..4)
            .map(|k| {
                (
                    RCM_ADMIN_FILE,
                    rcm_1158(&iso_shift(t, -30 + 15 * k), "10.0.0.9"),
                )
            })
            .collect()
    });
    let r = analyse(&m);
    assert!(
        patterns(&r, PatternKind::LicensingDisconnect).is_empty(),
        "{:#?}",
        patterns(&r, PatternKind::LicensingDisconnect)
    );
    assert!(warnings(&r).is_empty(), "{:#?}", warnings(&r));
    assert!(
        !r.findings.iter().any(|f| f.id.starts_with("RDS-LIC-")),
        "{:#?}",
        r.findings
    );
    // Read as a connection with its address.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    let t = timeline(&root, &AnalyzeOptions::default()).expect("timeline");
    let e1158: Vec<_> = t
        .timeline
        .events
        .iter()
        .filter(|e| e.event_id == 1158)
        .collect();
    assert_eq!(e1158.len(), 20);
    assert!(e1158.iter().all(|e| e.role == Role::Connection));
    assert!(e1158
        .iter()
        .any(|e| e.address.as_deref() == Some("10.0.0.6")));
    assert!(
        e1158[0].message().contains("accepted a connection"),
        "{}",
        e1158[0].message()
    );
}

#[test]
fn rdvh_licensing_50310_beside_a_disconnect_still_is_licensing() {
    // The RD Virtualization Host event (raw 50310, the manifest ID whose low bits are 1158) keeps
    // its own ID and stays a licensing event: the fix did not hide real licensing evidence.
    let m = host(|t| {
        vec![(
            RCM_ADMIN_FILE,
            rcm_licensing(&iso_shift(t, -60), 1158, Some("LS01.contoso.local")),
        )]
    });
    let r = analyse(&m);
    let lic = patterns(&r, PatternKind::LicensingDisconnect);
    assert_eq!(lic.len(), 4, "{lic:#?}");
    assert!(
        lic.iter().all(|p| p.counts.contains_key("RCM 50310")),
        "{lic:#?}"
    );
}

#[test]
fn routine_227_traces_around_user_disconnects_are_not_security_errors() {
    let m = host(|t| {
        let mut v: Vec<(&'static str, Ev)> = (0..15)
            .map(|k| {
                (
                    RDPCORE_FILE,
                    rdpcore_227(
                        &iso_shift(t, -70 + 10 * k),
                        "'Reverse Connection Listener Name not found' in CUMRDPConnection::QueryProperty",
                        E_NOTIMPL,
                        "Error",
                    ),
                )
            })
            .collect();
        // 226 on the ordinary disconnect (ERROR_NETNAME_DELETED), as a real host logs it.
        v.push((RDPCORE_FILE, rdpcore_226(&iso_shift(t, 1), "0x80070040")));
        v.push((RDPCORE_FILE, rdpcore_226(&iso_shift(t, 2), "0x80070040")));
        v
    });
    let r = analyse(&m);
    assert!(
        !r.findings.iter().any(|f| f.id == "RDS-CONN-SECURITY-ERROR"),
        "{:#?}",
        r.findings
    );
    assert!(patterns(&r, PatternKind::ErrorBurst).is_empty());
    assert!(warnings(&r).is_empty(), "{:#?}", warnings(&r));
}

#[test]
fn failing_227_values_are_counted_beside_a_confirmed_error() {
    // Same host, same disconnects; one TermDD 56 (confirmed) per disconnect and three 227 traces:
    // with failure values the 227s count and make the burst, with E_NOTIMPL they do not.
    let with = |value: u32| {
        host(move |t| {
            let mut v: Vec<(&'static str, Ev)> =
                vec![("System.evtx", termdd_56(&iso_shift(t, -3), "10.0.0.5"))];
            for k in 0..3 {
                v.push((
                    RDPCORE_FILE,
                    rdpcore_227(&iso_shift(t, -2 + k), "Stream failure", value, "Error"),
                ));
            }
            v
        })
    };
    let r = analyse(&with(SEC_E_INTERNAL_ERROR));
    let bursts = patterns(&r, PatternKind::ErrorBurst);
    assert!(
        !bursts.is_empty(),
        "{:#?}",
        r.timeline.as_ref().map(|t| &t.patterns)
    );
    assert!(
        bursts
            .iter()
            .all(|p| p.counts.get("RdpCoreTS 227") == Some(&3)),
        "{bursts:#?}"
    );
    assert!(r.findings.iter().any(|f| f.id == "RDS-CONN-SECURITY-ERROR"));

    let r = analyse(&with(E_NOTIMPL));
    assert!(
        patterns(&r, PatternKind::ErrorBurst).is_empty(),
        "{:#?}",
        patterns(&r, PatternKind::ErrorBurst)
    );
    assert!(!r.findings.iter().any(|f| f.id == "RDS-CONN-SECURITY-ERROR"));
}

#[test]
fn failing_227_traces_alone_make_no_burst() {
    // 227's field meaning is UNCONFIRMED: even failure values only add context to a burst.
    let m = host(|t| {
        (0..6)
            .map(|k| {
                (
                    RDPCORE_FILE,
                    rdpcore_227(
                        &iso_shift(t, -3 + k),
                        "Stream failure",
                        SEC_E_INTERNAL_ERROR,
                        "Error",
                    ),
                )
            })
            .collect()
    });
    let r = analyse(&m);
    assert!(patterns(&r, PatternKind::ErrorBurst).is_empty());
    assert!(warnings(&r).is_empty(), "{:#?}", warnings(&r));
}

#[test]
fn rdpcore_139_security_layer_errors_count_with_their_address() {
    // 139's wording is confirmed: many from one address make a burst naming that address.
    let m = host(|t| {
        (0..5)
            .map(|k| {
                (
                    RDPCORE_FILE,
                    rdpcore_139(&iso_shift(t, -50 + 10 * k), "0x80090304", "194.61.24.102"),
                )
            })
            .collect()
    });
    let r = analyse(&m);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "RDS-CONN-SECURITY-ERROR")
        .expect("security error finding");
    assert!(f.explanation.contains("194.61.24.102"), "{}", f.explanation);
}

#[test]
fn rcm_1056_self_signed_certificate_creation_is_not_a_fault() {
    let m = host(|t| {
        (0..4)
            .map(|k| {
                (
                    "System.evtx",
                    rcm_1056_self_signed(
                        &iso_shift(t, -20 + 10 * k),
                        "RDSH01.contoso.local",
                        "5A1B0C3D4E5F60718293A4B5C6D7E8F901234567",
                    ),
                )
            })
            .collect()
    });
    let r = analyse(&m);
    for id in ["RDS-CONN-CERT-KEY", "RDS-CONN-SECURITY-ERROR"] {
        assert!(
            !r.findings.iter().any(|f| f.id == id),
            "{id}: {:#?}",
            r.findings
        );
    }
    assert!(patterns(&r, PatternKind::ErrorBurst).is_empty());
    assert!(warnings(&r).is_empty(), "{:#?}", warnings(&r));
    // The events were read, with their meaning.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    let t = timeline(&root, &AnalyzeOptions::default()).expect("timeline");
    let e: Vec<_> = t
        .timeline
        .events
        .iter()
        .filter(|e| e.event_id == 1056)
        .collect();
    assert_eq!(e.len(), 16);
    assert!(e[0].message().contains("self-signed"), "{}", e[0].message());
}
