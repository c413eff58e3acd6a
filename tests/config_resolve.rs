//! Behaviour of the resolver on realistic registry contents: winners, shadowed values, unknown
//! states when a hive is missing, cross-setting overrides and value decoding.

mod config_scenarios;

use config_scenarios::{memory, Hives};
use rdsdiag::catalog::settings::{catalog, SourceKind};
use rdsdiag::config::{names, resolve, MemorySource, SettingState, SettingValue, UnknownReason};
use rdsdiag::evidence::HiveKind;
use rdsdiag::registry::{RegData, SourceForm};

fn value(s: &rdsdiag::config::Settings, name: &str) -> SettingValue {
    s.get(name).unwrap().value.clone().unwrap()
}

#[test]
fn names_match_the_catalogue() {
    let cat: Vec<&str> = catalog().settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(cat, names::ALL);
}

#[test]
fn policy_wins_and_server_manager_is_shadowed() {
    let s = resolve(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::Both,
    ));
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.state, SettingState::Set);
    assert_eq!(mode.source, Some(SourceKind::Policy));
    assert_eq!(mode.value.as_ref().unwrap().enum_name(), Some("per_user"));
    assert_eq!(mode.display, "Per User (4)");
    assert_eq!(mode.shadowed.len(), 1);
    assert_eq!(mode.shadowed[0].source, SourceKind::ServerManager);
    assert_eq!(mode.shadowed[0].value.enum_name(), Some("per_device"));
    assert_eq!(mode.provenance[0].value, "LicensingMode");
    assert!(mode.refs.contains(&"S14".to_string()));

    let servers = s.get(names::LICENSE_SERVERS).unwrap();
    assert_eq!(
        servers.value.as_ref().unwrap().as_list().unwrap(),
        ["ls01.contoso.com", "ls02.contoso.com"]
    );
    assert_eq!(
        servers.shadowed[0].value.as_list().unwrap(),
        ["old-ls.contoso.com"]
    );

    let cert = s.get(names::CERTIFICATE).unwrap();
    assert_eq!(cert.source, Some(SourceKind::Listener));
    assert_eq!(cert.value.as_ref().unwrap().as_str().unwrap().len(), 40);

    let deny = s.get(names::DENY_CONNECTIONS).unwrap();
    assert_eq!(deny.value, Some(SettingValue::Flag(false)));
    assert_eq!(deny.shadowed[0].source, SourceKind::TerminalServer);

    // Listener defers to the user account for time limits: unknown offline.
    let idle = s.get(names::MAX_IDLE_TIME).unwrap();
    assert_eq!(idle.state, SettingState::Unknown);
    assert_eq!(idle.unknown[0].reason, UnknownReason::UserAccount);
    assert!(
        idle.unknown[0].detail.contains("fInheritMaxIdleTime=1"),
        "{}",
        idle.unknown[0].detail
    );
}

#[test]
fn empty_policy_list_wins_over_server_manager_list() {
    let s = resolve(&memory(&config_scenarios::empty_policy_list(), Hives::Both));
    let servers = s.get(names::LICENSE_SERVERS).unwrap();
    assert_eq!(servers.state, SettingState::Set);
    assert_eq!(servers.source, Some(SourceKind::Policy));
    assert_eq!(servers.value, Some(SettingValue::ServerList(vec![])));
    assert!(servers.notes.iter().any(|n| n.contains("names no server")));
    // The subkey variant of the Server Manager location is found and shadowed.
    assert_eq!(servers.shadowed.len(), 1);
    assert!(servers.shadowed[0].provenance[0]
        .key
        .ends_with(r"LicenseServers\SpecifiedLicenseServers"));
    // Licensing mode only in Server Manager: set from there.
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.source, Some(SourceKind::ServerManager));
    assert!(mode.shadowed.is_empty());
}

#[test]
fn fips_overrides_encryption_level_with_an_explanation() {
    let s = resolve(&memory(
        &config_scenarios::fips_and_time_limits(),
        Hives::Both,
    ));
    let enc = s.get(names::MIN_ENCRYPTION_LEVEL).unwrap();
    assert_eq!(enc.source, Some(SourceKind::SecurityPolicy));
    assert_eq!(
        enc.value.as_ref().unwrap().enum_name(),
        Some("fips_compliant")
    );
    assert_eq!(enc.provenance[0].key, config_scenarios::FIPS);
    let shadowed: Vec<_> = enc.shadowed.iter().map(|x| x.source).collect();
    assert_eq!(shadowed, [SourceKind::Policy, SourceKind::Listener]);
    assert!(enc
        .notes
        .iter()
        .any(|n| n.contains("overrides the encryption level")));
    assert_eq!(
        value(&s, names::FIPS_ALGORITHM_POLICY),
        SettingValue::Flag(true)
    );

    // Policy REG_SZ "0" is read as 0 with a type-mismatch note.
    let disc = s.get(names::MAX_DISCONNECTION_TIME).unwrap();
    assert_eq!(disc.value, Some(SettingValue::DurationMs(0)));
    assert_eq!(disc.display, "Never (0 ms)");
    assert!(disc.notes.iter().any(|n| n.contains("type mismatch")));
    assert_eq!(
        value(&s, names::MAX_CONNECTION_TIME),
        SettingValue::DurationMs(28_800_000)
    );
    // Listener with fInheritMaxIdleTime=0 uses its own limit.
    let idle = s.get(names::MAX_IDLE_TIME).unwrap();
    assert_eq!(idle.state, SettingState::Set);
    assert_eq!(idle.source, Some(SourceKind::Listener));
    assert_eq!(idle.display, "90 minutes (5400000 ms)");

    // Inverted flag: fDisableAutoReconnect=1 => auto_reconnect false.
    assert_eq!(value(&s, names::AUTO_RECONNECT), SettingValue::Flag(false));
    assert_eq!(value(&s, names::RESET_BROKEN), SettingValue::Flag(true));

    // Keep-alive: not set; the listener timeout is related, not a winner.
    let ka = s.get(names::KEEP_ALIVE).unwrap();
    assert_eq!(ka.state, SettingState::NotSet);
    assert_eq!(ka.source, Some(SourceKind::Default));
    assert_eq!(
        ka.value,
        Some(SettingValue::KeepAlive {
            enabled: false,
            interval_minutes: None
        })
    );
    assert_eq!(ka.related.len(), 1);
    assert_eq!(ka.related[0].provenance.value, "KeepAliveTimeout");
}

#[test]
fn fips_disabled_does_not_override() {
    let mut m = MemorySource::new();
    m.set(
        HiveKind::System,
        config_scenarios::FIPS,
        "Enabled",
        RegData::Dword(0),
    );
    m.set(
        HiveKind::Software,
        config_scenarios::TSPOL,
        "MinEncryptionLevel",
        RegData::Dword(3),
    );
    let s = resolve(&m);
    let enc = s.get(names::MIN_ENCRYPTION_LEVEL).unwrap();
    assert_eq!(enc.source, Some(SourceKind::Policy));
    assert_eq!(enc.value.as_ref().unwrap().enum_name(), Some("high"));
    assert!(enc.shadowed.is_empty());
    assert!(
        !enc.notes.iter().any(|n| n.contains("FIPS")),
        "{:?}",
        enc.notes
    );
}

#[test]
fn keep_alive_policy_and_legacy_servers() {
    let s = resolve(&memory(
        &config_scenarios::not_configured_with_keep_alive(),
        Hives::Both,
    ));
    assert_eq!(
        value(&s, names::KEEP_ALIVE),
        SettingValue::KeepAlive {
            enabled: true,
            interval_minutes: Some(1)
        }
    );
    let ka = s.get(names::KEEP_ALIVE).unwrap();
    assert_eq!(ka.provenance.len(), 2);
    assert_eq!(ka.display, "Keep-alive enabled, interval 1 minute");
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(
        mode.value.as_ref().unwrap().enum_name(),
        Some("not_configured")
    );
    let servers = s.get(names::LICENSE_SERVERS).unwrap();
    assert_eq!(servers.source, Some(SourceKind::Legacy));
    assert_eq!(
        servers.value.as_ref().unwrap().as_list().unwrap(),
        ["legacy-ls.contoso.com"]
    );
    assert!(servers.notes.iter().any(|n| n.starts_with("UNCONFIRMED")));
    assert!(servers.unconfirmed);
    assert!(!s.get(names::KEEP_ALIVE).unwrap().unconfirmed);
}

#[test]
fn system_only_makes_policy_settings_unknown() {
    let s = resolve(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::SystemOnly,
    ));
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.state, SettingState::Unknown);
    // The best the SYSTEM hive shows is still reported, with what is missing.
    assert_eq!(mode.source, Some(SourceKind::ServerManager));
    assert_eq!(mode.value.as_ref().unwrap().enum_name(), Some("per_device"));
    assert!(mode.decided_value().is_none());
    let u: Vec<_> = mode.decisive_unknowns().collect();
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].hive, HiveKind::Software);
    assert_eq!(u[0].reason, UnknownReason::NotProvided);
    assert!(
        mode.display.contains("SOFTWARE hive not provided"),
        "{}",
        mode.display
    );
    // Settings that live only in SYSTEM are decided.
    let fips = s.get(names::FIPS_ALGORITHM_POLICY).unwrap();
    assert_eq!(fips.state, SettingState::Set);
    // Keep-alive lives only in policy: unknown without a value.
    let ka = s.get(names::KEEP_ALIVE).unwrap();
    assert_eq!(ka.state, SettingState::Unknown);
    assert!(ka.value.is_none());
    // The certificate is read from the listener only (the template policy is related).
    assert_eq!(s.get(names::CERTIFICATE).unwrap().state, SettingState::Set);
}

#[test]
fn software_only_decides_policy_winners_and_leaves_the_rest_unknown() {
    let s = resolve(&memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::SoftwareOnly,
    ));
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(
        mode.state,
        SettingState::Set,
        "policy decides even without SYSTEM"
    );
    assert_eq!(mode.unknown.len(), 1);
    assert!(!mode.unknown[0].decisive);
    let fips = s.get(names::FIPS_ALGORITHM_POLICY).unwrap();
    assert_eq!(fips.state, SettingState::Unknown);
    // FIPS could override the encryption level: unknown too.
    let enc = s.get(names::MIN_ENCRYPTION_LEVEL).unwrap();
    assert_eq!(enc.state, SettingState::Unknown);
    assert_eq!(enc.unknown[0].source, SourceKind::SecurityPolicy);
}

#[test]
fn text_export_covering_only_policies_is_unknown_elsewhere() {
    // A `reg query` of the policy key only: the SOFTWARE hive is "provided" for that subtree.
    let mut m = MemorySource::new();
    m.provide(HiveKind::Software, "reg-policies.txt", SourceForm::RegQuery);
    m.cover(HiveKind::Software, config_scenarios::TSPOL);
    m.set(
        HiveKind::Software,
        config_scenarios::TSPOL,
        "KeepAliveEnable",
        RegData::Dword(1),
    );
    m.set(
        HiveKind::Software,
        config_scenarios::TSPOL,
        "KeepAliveInterval",
        RegData::Dword(2),
    );
    let s = resolve(&m);
    let ka = s.get(names::KEEP_ALIVE).unwrap();
    assert_eq!(ka.state, SettingState::Set);
    assert_eq!(ka.provenance[0].form, SourceForm::RegQuery);
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.state, SettingState::Unknown);
    assert!(mode.value.is_none());
}

#[test]
fn unreadable_key_is_unknown_not_unset() {
    let mut m = MemorySource::new();
    m.provide(HiveKind::Software, "SOFTWARE", SourceForm::Hive);
    m.set_unreadable(
        HiveKind::System,
        config_scenarios::LIC_CORE,
        "bad cell at 0x1020",
    );
    let s = resolve(&m);
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(mode.state, SettingState::Unknown);
    assert_eq!(mode.unknown[0].reason, UnknownReason::Unreadable);
    assert!(mode.unknown[0].detail.contains("bad cell"));
}

#[test]
fn nothing_set_gives_defaults() {
    let mut m = MemorySource::new();
    m.provide(HiveKind::Software, "SOFTWARE", SourceForm::Hive);
    m.provide(HiveKind::System, "SYSTEM", SourceForm::Hive);
    let s = resolve(&m);
    for setting in s.iter() {
        assert_eq!(setting.state, SettingState::NotSet, "{}", setting.name);
        assert_eq!(setting.source, Some(SourceKind::Default));
        assert!(!setting.display.is_empty(), "{}", setting.name);
    }
    assert_eq!(s.get(names::LICENSING_MODE).unwrap().value, None);
    assert_eq!(
        value(&s, names::USER_AUTHENTICATION),
        SettingValue::Flag(true)
    );
    assert_eq!(value(&s, names::MAX_IDLE_TIME), SettingValue::DurationMs(0));
}

#[test]
fn odd_data_is_noted_not_fatal() {
    let mut m = MemorySource::new();
    m.provide(HiveKind::System, "SYSTEM", SourceForm::Hive);
    let pol = config_scenarios::TSPOL;
    m.set(HiveKind::Software, pol, "LicensingMode", RegData::Dword(7));
    m.set(
        HiveKind::Software,
        pol,
        "SecurityLayer",
        RegData::Binary(vec![1]),
    );
    m.set(
        HiveKind::Software,
        pol,
        "LicenseServers",
        RegData::Sz("a;b, c".into()),
    );
    m.set(
        HiveKind::Software,
        pol,
        "fDenyTSConnections",
        RegData::Dword(2),
    );
    m.set(
        HiveKind::System,
        config_scenarios::LST,
        "SSLCertificateSHA1Hash",
        RegData::Binary(vec![0xAB; 3]),
    );
    let s = resolve(&m);
    let mode = s.get(names::LICENSING_MODE).unwrap();
    assert_eq!(
        mode.value,
        Some(SettingValue::Enum {
            code: 7,
            name: None
        })
    );
    assert_eq!(mode.display, "undocumented value 7");
    let layer = s.get(names::SECURITY_LAYER).unwrap();
    assert_eq!(layer.state, SettingState::NotSet);
    assert!(layer.notes.iter().any(|n| n.contains("REG_BINARY")));
    let servers = s.get(names::LICENSE_SERVERS).unwrap();
    assert_eq!(
        servers.value.as_ref().unwrap().as_list().unwrap(),
        ["a;b", "c"]
    );
    assert!(servers.notes.iter().any(|n| n.contains("';'")));
    assert_eq!(value(&s, names::DENY_CONNECTIONS), SettingValue::Flag(true));
    let cert = s.get(names::CERTIFICATE).unwrap();
    assert_eq!(cert.value.as_ref().unwrap().as_str(), Some("ABABAB"));
    assert!(cert.notes.iter().any(|n| n.contains("3 bytes")));
}

#[test]
fn every_setting_is_documented() {
    let doc = include_str!("../docs/configuration.md");
    for s in &catalog().settings {
        assert!(
            doc.contains(&format!("`{}`", s.name)),
            "docs/configuration.md lacks {}",
            s.name
        );
    }
}

#[test]
fn user_policy_is_reported_beside_never_resolved() {
    let mut m = memory(
        &config_scenarios::gpo_overrides_server_manager(),
        Hives::Both,
    );
    m.provide(HiveKind::NtUser, "Users/alice/NTUSER.DAT", SourceForm::Hive);
    m.set(
        HiveKind::NtUser,
        r"Software\Policies\Microsoft\Windows NT\Terminal Services",
        "MaxIdleTime",
        RegData::Dword(900_000),
    );
    let s = resolve(&m);
    let idle = s.get(names::MAX_IDLE_TIME).unwrap();
    // Still decided by what applies to every user (here: unknown, the listener defers to the
    // user account); the user policy is shown beside it.
    assert_eq!(idle.state, SettingState::Unknown);
    assert_eq!(idle.related.len(), 1);
    assert_eq!(idle.related[0].source, SourceKind::Policy);
    assert_eq!(idle.related[0].provenance.hive, HiveKind::NtUser);
    assert_eq!(idle.related[0].provenance.file, "Users/alice/NTUSER.DAT");
    // Without a user hive nothing changes and nothing becomes unknown because of it.
    let s = resolve(&memory(
        &config_scenarios::fips_and_time_limits(),
        Hives::Both,
    ));
    let idle = s.get(names::MAX_IDLE_TIME).unwrap();
    assert_eq!(idle.state, SettingState::Set);
    assert!(idle.related.is_empty());
}
