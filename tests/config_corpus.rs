//! Effective configuration and host facts of a real Windows 10 SYSTEM hive from the development
//! corpus (`../shared/corpus/regipy/SYSTEM_2`, dirty, no logs), checked against the values an
//! independent tool (regipy) recorded in `FACTS.json`, and pinned as a snapshot.

use std::path::PathBuf;

use rdsdiag::capture::{self, CaptureOptions};
use rdsdiag::catalog::settings::SourceKind;
use rdsdiag::config::{names, resolve, SettingState, SettingValue};
use rdsdiag::evidence::HiveKind;
use rdsdiag::host::facts::{host_facts, Tri};
use rdsdiag::registry::RegistryView;
use rdsdiag::render::config::render_text;
use rdsdiag_testsupport::corpus;
use serde_json::Value;

/// The corpus folder (skipped, or failed under `RDSDIAG_REQUIRE_CORPUS=1`, when absent).
fn corpus() -> Option<PathBuf> {
    corpus::path("regipy/SYSTEM_2")?;
    corpus::path("")
}

#[test]
fn windows_10_system_hive_against_regipy_facts() {
    let Some(dir) = corpus() else { return };
    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("FACTS.json")).unwrap()).unwrap();
    let expected = facts["files"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.ends_with("SYSTEM_2"))
        .map(|(_, v)| v["facts_regipy"].clone())
        .unwrap();

    let mut cap = capture::open(&dir.join("regipy"), &CaptureOptions::default()).unwrap();
    cap.inputs.retain(|i| i.path.ends_with("SYSTEM_2"));
    let view = RegistryView::load(&cap.inputs).apply_to(&mut cap.inputs);
    let s = resolve(&view);

    // Licensing mode: RCM\Licensing Core value, SOFTWARE (policy) not provided.
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.state, SettingState::Unknown);
    assert_eq!(mode.source, Some(SourceKind::ServerManager));
    assert_eq!(
        mode.value.as_ref().unwrap().as_u64(),
        expected["LicensingMode"].as_u64()
    );
    assert_eq!(
        mode.decisive_unknowns().next().unwrap().hive,
        HiveKind::Software
    );
    // Terminal Server and listener values.
    let deny = s.get(names::DENY_CONNECTIONS).unwrap();
    assert_eq!(
        deny.value,
        Some(SettingValue::Flag(
            expected["fDenyTSConnections"].as_u64() == Some(1)
        ))
    );
    let rdp = &expected["rdp_tcp"];
    assert_eq!(
        s.get(names::SECURITY_LAYER)
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .as_u64(),
        rdp["SecurityLayer"].as_u64()
    );
    assert_eq!(
        s.get(names::MIN_ENCRYPTION_LEVEL)
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .as_u64(),
        rdp["MinEncryptionLevel"].as_u64()
    );
    assert_eq!(
        s.get(names::USER_AUTHENTICATION)
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .as_u64(),
        rdp["UserAuthentication"].as_u64()
    );
    assert_eq!(
        s.get(names::PORT_NUMBER)
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .as_u64(),
        rdp["PortNumber"].as_u64()
    );
    // fInheritMaxDisconnectionTime=1: the user account's setting applies.
    assert_eq!(rdp["fInheritMaxDisconnectionTime"].as_u64(), Some(1));
    let disc = s.get(names::MAX_DISCONNECTION_TIME).unwrap();
    assert_eq!(disc.state, SettingState::Unknown);
    // No server list anywhere in SYSTEM.
    assert!(expected["termservice_licenseservers_values"].is_null());
    assert!(s.get(names::LICENSE_SERVERS).unwrap().value.is_none());

    let f = host_facts(&view);
    assert_eq!(
        f.licensing_service.installed.present == Tri::Yes,
        expected["termservlicensing_present"].as_bool().unwrap()
    );
    assert_eq!(
        f.x509_certificates.obtained_from_license_server == Tri::Yes,
        expected["rcm_has_x509_certificate"].as_bool().unwrap()
    );
    assert_eq!(
        f.grace_period_timebomb.present.present == Tri::Yes,
        expected["rcm_graceperiod_present"].as_bool().unwrap()
    );
    assert_eq!(f.windows_version.name, None, "SOFTWARE not provided");

    insta::assert_snapshot!("corpus_system_2_text", render_text(&s));
    insta::assert_snapshot!(
        "corpus_system_2_facts",
        rdsdiag::render::host::render_text(&f)
    );
}
