//! Host facts of issue 6 on realistic registry contents: version mapping and soft-enforcement
//! facts, membership heuristics, roles with their signals, licensing state values, and `unknown`
//! when the hive that would hold a fact is missing.

mod config_scenarios;

use config_scenarios::{memory, Hives};
use rdsdiag::config::MemorySource;
use rdsdiag::evidence::HiveKind;
use rdsdiag::host::facts::{host_facts, MembershipKind, RoleKind, Tri};
use rdsdiag::registry::{RegData, SourceForm};

#[test]
fn session_host_2019_in_a_domain() {
    let f = host_facts(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::Both,
    ));
    assert_eq!(
        f.windows_version.name.as_deref(),
        Some("Windows Server 2019")
    );
    assert_eq!(f.windows_version.build, Some(17763));
    assert_eq!(f.windows_version.server, Tri::Yes);
    assert_eq!(f.windows_version.soft_enforcement_per_device, Some(true));
    assert_eq!(f.windows_version.soft_enforcement_per_user, Some(true));
    assert_eq!(f.membership.kind, MembershipKind::Domain);
    assert_eq!(f.membership.domain.as_deref(), Some("contoso.com"));
    let rdsh = f.role(RoleKind::SessionHost).unwrap();
    assert_eq!(rdsh.detected, Tri::Yes);
    assert!(!rdsh.confirmed);
    assert_eq!(f.role(RoleKind::LicenseServer).unwrap().detected, Tri::No);
    assert_eq!(f.role(RoleKind::Client).unwrap().detected, Tri::No);
    assert_eq!(f.grace_period_timebomb.present.present, Tri::Yes);
    assert_eq!(f.x509_certificates.obtained_from_license_server, Tri::Yes);
    assert_eq!(f.licensing_service.installed.present, Tri::No);
    assert_eq!(f.mslicensing.present.present, Tri::No);
    assert_eq!(f.workgroup_auth_override.enforcement_disabled, Tri::No);
    let gpos = &f.policy_gpos.gpos;
    assert_eq!(gpos.len(), 2);
    assert_eq!(gpos[0].display_name.as_deref(), Some("RDS Session Hosts"));
    assert!(gpos[0].domain);
    assert!(!gpos[1].domain);
    insta::assert_json_snapshot!("facts_session_host_2019", f);
    insta::assert_snapshot!(
        "facts_session_host_2019_text",
        rdsdiag::render::host::render_text(&f)
    );
}

#[test]
fn workgroup_license_server_2022_with_override() {
    let mut m = memory(&config_scenarios::fips_and_time_limits(), Hives::Both);
    let params = r"CurrentControlSet\Services\TermServLicensing\Parameters";
    m.set(
        HiveKind::System,
        r"CurrentControlSet\Services\TermServLicensing",
        "Start",
        RegData::Dword(4),
    );
    m.set(
        HiveKind::System,
        params,
        "DisableWorkgroupAuthEnforcement",
        RegData::Dword(1),
    );
    m.set(
        HiveKind::System,
        params,
        "DBPath",
        RegData::ExpandSz(r"%SystemRoot%\System32\LServer".into()),
    );
    let f = host_facts(&m);
    assert_eq!(
        f.windows_version.name.as_deref(),
        Some("Windows Server 2022")
    );
    assert_eq!(f.windows_version.soft_enforcement_per_device, Some(false));
    assert_eq!(f.membership.kind, MembershipKind::Workgroup);
    let ls = f.role(RoleKind::LicenseServer).unwrap();
    assert_eq!(ls.detected, Tri::Yes);
    assert!(ls.confirmed);
    assert_eq!(
        f.licensing_service.start_type_name.as_deref(),
        Some("disabled")
    );
    assert_eq!(f.workgroup_auth_override.enforcement_disabled, Tri::Yes);
    assert_eq!(
        f.license_db_path.value().map(String::as_str),
        Some(r"%SystemRoot%\System32\LServer")
    );
    assert_eq!(f.x509_certificates.obtained_from_license_server, Tri::No);
    insta::assert_snapshot!(
        "facts_license_server_2022_text",
        rdsdiag::render::host::render_text(&f)
    );
}

#[test]
fn client_with_mslicensing_store() {
    let mut m = MemorySource::new();
    m.provide(HiveKind::System, "SYSTEM", SourceForm::Hive);
    let cv = config_scenarios::CURRENT_VERSION;
    m.set(
        HiveKind::Software,
        cv,
        "CurrentBuildNumber",
        RegData::Sz("17763".into()),
    );
    m.set(
        HiveKind::Software,
        cv,
        "InstallationType",
        RegData::Sz("Client".into()),
    );
    m.set(
        HiveKind::Software,
        r"Microsoft\MSLicensing\HardwareID",
        "ClientHWID",
        RegData::Binary(vec![1; 20]),
    );
    m.add_key(
        HiveKind::Software,
        r"Microsoft\MSLicensing\Store\LICENSE000",
    );
    m.add_key(
        HiveKind::Software,
        r"Microsoft\MSLicensing\Store\LICENSE001",
    );
    let f = host_facts(&m);
    assert_eq!(f.windows_version.name.as_deref(), Some("Windows 10 1809"));
    assert_eq!(f.windows_version.server, Tri::No);
    assert_eq!(f.windows_version.soft_enforcement_per_device, None);
    let client = f.role(RoleKind::Client).unwrap();
    assert_eq!(client.detected, Tri::Yes);
    assert!(client.confirmed);
    assert_eq!(f.role(RoleKind::SessionHost).unwrap().detected, Tri::No);
    assert_eq!(f.mslicensing.present.present, Tri::Yes);
    assert_eq!(f.mslicensing.hardware_id.present, Tri::Yes);
    assert_eq!(f.mslicensing.stored_licenses, Some(2));
}

#[test]
fn missing_hives_make_facts_unknown() {
    let f = host_facts(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::SystemOnly,
    ));
    assert_eq!(f.windows_version.name, None);
    assert!(f
        .windows_version
        .unknown_because
        .as_deref()
        .unwrap()
        .contains("SOFTWARE"));
    assert_eq!(f.mslicensing.present.present, Tri::Unknown);
    assert_eq!(f.role(RoleKind::Client).unwrap().detected, Tri::Unknown);
    // The SYSTEM hive still decides the session-host signal from Server Manager.
    assert_eq!(f.role(RoleKind::SessionHost).unwrap().detected, Tri::Yes);
    let f = host_facts(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::SoftwareOnly,
    ));
    assert_eq!(f.grace_period_timebomb.present.present, Tri::Unknown);
    assert_eq!(
        f.x509_certificates.obtained_from_license_server,
        Tri::Unknown
    );
    assert_eq!(f.workgroup_auth_override.enforcement_disabled, Tri::Unknown);
    assert_eq!(f.licensing_service.installed.present, Tri::Unknown);
    assert_eq!(f.membership.kind, MembershipKind::Unknown);
    insta::assert_snapshot!(
        "facts_software_only_text",
        rdsdiag::render::host::render_text(&f)
    );
}

#[test]
fn unknown_build_is_named_not_guessed() {
    let mut m = MemorySource::new();
    m.set(
        HiveKind::Software,
        config_scenarios::CURRENT_VERSION,
        "CurrentBuild",
        RegData::Sz("99999".into()),
    );
    let f = host_facts(&m);
    assert_eq!(
        f.windows_version.name.as_deref(),
        Some("Windows build 99999 (not in the build table)")
    );
    assert_eq!(f.windows_version.soft_enforcement_per_device, None);
}
