//! Realistic registry contents of RDS hosts, written once as data so the same scenario can be fed
//! to the resolver through an in-memory source, a hive file and registry text, and the answers
//! compared.
#![allow(dead_code)]

use rdsdiag::config::MemorySource;
use rdsdiag::evidence::HiveKind;
use rdsdiag::registry::{RegData, SourceForm};
use rdsdiag_testsupport::hive::{system_tree, Data, Key};

pub const TSPOL: &str = r"Policies\Microsoft\Windows NT\Terminal Services";
pub const LST: &str = r"CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
pub const TSROOT: &str = r"CurrentControlSet\Control\Terminal Server";
pub const RCM: &str = r"CurrentControlSet\Control\Terminal Server\RCM";
pub const LIC_CORE: &str = r"CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
pub const TSPARAM: &str = r"CurrentControlSet\Services\TermService\Parameters";
pub const FIPS: &str = r"CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy";
pub const CURRENT_VERSION: &str = r"Microsoft\Windows NT\CurrentVersion";

/// One registry value (path relative to the hive root, `CurrentControlSet` form for SYSTEM).
#[derive(Debug, Clone)]
pub struct Entry {
    pub hive: HiveKind,
    pub path: &'static str,
    pub name: &'static str,
    pub data: RegData,
}

fn sys(path: &'static str, name: &'static str, data: RegData) -> Entry {
    Entry {
        hive: HiveKind::System,
        path,
        name,
        data,
    }
}

fn sw(path: &'static str, name: &'static str, data: RegData) -> Entry {
    Entry {
        hive: HiveKind::Software,
        path,
        name,
        data,
    }
}

fn dw(n: u32) -> RegData {
    RegData::Dword(n)
}

fn sz(s: &str) -> RegData {
    RegData::Sz(s.to_string())
}

fn multi(items: &[&str]) -> RegData {
    RegData::MultiSz(items.iter().map(|s| s.to_string()).collect())
}

/// A Windows Server identity and an ordinary RDP-Tcp listener as Windows writes it.
fn base(build: &str, product: &str) -> Vec<Entry> {
    vec![
        sw(CURRENT_VERSION, "ProductName", sz(product)),
        sw(CURRENT_VERSION, "CurrentBuild", sz(build)),
        sw(CURRENT_VERSION, "CurrentBuildNumber", sz(build)),
        sw(CURRENT_VERSION, "InstallationType", sz("Server")),
        sw(CURRENT_VERSION, "EditionID", sz("ServerStandard")),
        sys(
            r"CurrentControlSet\Control\ComputerName\ComputerName",
            "ComputerName",
            sz("RDSH01"),
        ),
        sys(TSROOT, "fDenyTSConnections", dw(0)),
        sys(TSROOT, "TSEnabled", dw(1)),
        sys(LST, "SecurityLayer", dw(2)),
        sys(LST, "MinEncryptionLevel", dw(2)),
        sys(LST, "UserAuthentication", dw(1)),
        sys(LST, "fInheritMaxSessionTime", dw(1)),
        sys(LST, "fInheritMaxDisconnectionTime", dw(1)),
        sys(LST, "fInheritMaxIdleTime", dw(1)),
        sys(LST, "MaxConnectionTime", dw(0)),
        sys(LST, "MaxDisconnectionTime", dw(0)),
        sys(LST, "MaxIdleTime", dw(0)),
        sys(r"CurrentControlSet\Services\TermService", "Start", dw(3)),
        sys(
            r"CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy",
            "Enabled",
            dw(0),
        ),
    ]
}

/// Seed 000: a WS2019 session host whose GPO sets Per User and one license server, while Server
/// Manager had configured Per Device and another server ("I changed it in Server Manager and
/// nothing happened").
pub fn gpo_overrides_server_manager() -> Vec<Entry> {
    let mut e = base("17763", "Windows Server 2019 Standard");
    e.extend([
        sw(TSPOL, "LicensingMode", dw(4)),
        sw(
            TSPOL,
            "LicenseServers",
            sz("ls01.contoso.com, ls02.contoso.com"),
        ),
        sw(TSPOL, "fDenyTSConnections", dw(0)),
        sys(LIC_CORE, "LicensingMode", dw(2)),
        sys(
            r"CurrentControlSet\Services\TermService\Parameters\LicenseServers",
            "SpecifiedLicenseServers",
            multi(&["old-ls.contoso.com"]),
        ),
        sys(
            LST,
            "SSLCertificateSHA1Hash",
            RegData::Binary((0u8..20).map(|b| b.wrapping_mul(13)).collect()),
        ),
        sys(RCM, "X509 Certificate", RegData::Binary(vec![1, 2, 3])),
        sys(RCM, "X509 Certificate ID", RegData::Binary(vec![4, 5])),
        sys(
            r"CurrentControlSet\Control\Terminal Server\RCM\GracePeriod",
            "L$RTMTIMEBOMB_1320153D-8DA3-4e8e-B27B-0D888223A588",
            RegData::Binary(vec![0; 16]),
        ),
        sys(
            r"CurrentControlSet\Services\Tcpip\Parameters",
            "Domain",
            sz("contoso.com"),
        ),
        sw(GP_HISTORY_0, "DisplayName", sz("RDS Session Hosts")),
        sw(GP_HISTORY_0, "GPOName", sz("{6AC1786C-016F-11D2-945F-00C04FB984F9}")),
        sw(GP_HISTORY_0, "DSPath", sz("LDAP://CN=Machine,cn={6AC1786C-016F-11D2-945F-00C04FB984F9},cn=policies,cn=system,DC=contoso,DC=com")),
        sw(GP_HISTORY_0, "Link", sz("LDAP://OU=RDSH,DC=contoso,DC=com")),
        sw(GP_HISTORY_1, "DisplayName", sz("Local Group Policy")),
        sw(GP_HISTORY_1, "DSPath", sz("LocalGPO")),
        sw(GP_HISTORY_1, "Link", sz("Local")),
    ]);
    e
}

const GP_HISTORY_0: &str = r"Microsoft\Windows\CurrentVersion\Group Policy\History\{35378EAC-683F-11D2-A89A-00C04FBBCFA2}\0";
const GP_HISTORY_1: &str = r"Microsoft\Windows\CurrentVersion\Group Policy\History\{35378EAC-683F-11D2-A89A-00C04FBBCFA2}\1";

/// A GPO that is enabled with an empty server list, over a Server Manager list; licensing mode
/// set only in Server Manager (Per Device) on WS2016.
pub fn empty_policy_list() -> Vec<Entry> {
    let mut e = base("14393", "Windows Server 2016 Datacenter");
    e.extend([
        sw(TSPOL, "LicenseServers", sz("")),
        sys(LIC_CORE, "LicensingMode", dw(2)),
        sys(
            r"CurrentControlSet\Services\TermService\Parameters\LicenseServers\SpecifiedLicenseServers",
            "SpecifiedLicenseServers",
            multi(&["ls01.contoso.com"]),
        ),
    ]);
    e
}

/// Seed 003: keep-alive not configured (only the listener timeout Microsoft's reset writes),
/// FIPS enabled over an encryption policy, policy time limits (one written as REG_SZ "0" by a
/// disabled policy), a listener that uses its own idle limit.
pub fn fips_and_time_limits() -> Vec<Entry> {
    let mut e = base("20348", "Windows Server 2022 Standard");
    e.retain(|x| {
        !(x.name == "Enabled" || x.name == "fInheritMaxIdleTime" || x.name == "MaxIdleTime")
    });
    e.extend([
        sys(FIPS, "Enabled", dw(1)),
        sw(TSPOL, "MinEncryptionLevel", dw(3)),
        sw(TSPOL, "SecurityLayer", dw(1)),
        sw(TSPOL, "MaxDisconnectionTime", sz("0")),
        sw(TSPOL, "MaxConnectionTime", dw(28_800_000)),
        sw(TSPOL, "fResetBroken", dw(1)),
        sw(TSPOL, "fDisableAutoReconnect", dw(1)),
        sys(LST, "KeepAliveTimeout", dw(1)),
        sys(LST, "fInheritMaxIdleTime", dw(0)),
        sys(LST, "MaxIdleTime", dw(5_400_000)),
        sw(TSPOL, "LicensingMode", dw(2)),
        sw(TSPOL, "LicenseServers", sz("ls01")),
        sys(
            r"CurrentControlSet\Services\Tcpip\Parameters",
            "Domain",
            sz(""),
        ),
    ]);
    e
}

/// A session host on which licensing was never configured: mode 5, no server list, only the
/// legacy per-server subkeys left over; keep-alive enabled by policy.
pub fn not_configured_with_keep_alive() -> Vec<Entry> {
    let mut e = base("17763", "Windows Server 2019 Datacenter");
    e.extend([
        sys(LIC_CORE, "LicensingMode", dw(5)),
        sw(TSPOL, "KeepAliveEnable", dw(1)),
        sw(TSPOL, "KeepAliveInterval", dw(1)),
        sys(
            r"CurrentControlSet\Services\TermService\Parameters\LicenseServers\legacy-ls.contoso.com",
            "",
            sz(""),
        ),
    ]);
    e
}

/// All scenarios, by name.
pub fn all() -> Vec<(&'static str, Vec<Entry>)> {
    vec![
        (
            "gpo_overrides_server_manager",
            gpo_overrides_server_manager(),
        ),
        ("empty_policy_list", empty_policy_list()),
        ("fips_and_time_limits", fips_and_time_limits()),
        (
            "not_configured_with_keep_alive",
            not_configured_with_keep_alive(),
        ),
    ]
}

/// Which hives the capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hives {
    Both,
    SystemOnly,
    SoftwareOnly,
}

/// The scenario as an in-memory source.
pub fn memory(entries: &[Entry], hives: Hives) -> MemorySource {
    let mut m = MemorySource::new();
    let keep = |h: HiveKind| match hives {
        Hives::Both => h == HiveKind::System || h == HiveKind::Software,
        Hives::SystemOnly => h == HiveKind::System,
        Hives::SoftwareOnly => h == HiveKind::Software,
    };
    for h in [HiveKind::System, HiveKind::Software] {
        if keep(h) {
            m.provide(
                h,
                &format!("Windows/System32/config/{}", h.name()),
                SourceForm::Hive,
            );
        }
    }
    for e in entries.iter().filter(|e| keep(e.hive)) {
        m.set(e.hive, e.path, e.name, e.data.clone());
    }
    m
}

/// The scenario's values of one hive as a test-support key tree; `hive_file` puts SYSTEM values
/// under `ControlSet001` with `Select\Current` = 1 (as in a hive file), otherwise they stay under
/// `CurrentControlSet` (as in a live text export).
pub fn tree(entries: &[Entry], hive: HiveKind, hive_file: bool) -> Key {
    let mut root = match (hive, hive_file) {
        (HiveKind::System, true) => system_tree(1),
        _ => Key::new("ROOT"),
    };
    for e in entries.iter().filter(|e| e.hive == hive) {
        let path = if hive_file {
            e.path.replacen("CurrentControlSet", "ControlSet001", 1)
        } else {
            e.path.to_string()
        };
        let data = match &e.data {
            RegData::Dword(n) => Data::Dword(*n),
            RegData::Sz(s) => Data::Sz(s.clone()),
            RegData::ExpandSz(s) => Data::ExpandSz(s.clone()),
            RegData::Binary(b) => Data::Binary(b.clone()),
            RegData::MultiSz(items) => Data::MultiSz(items.clone()),
            RegData::Qword(q) => Data::Qword(*q),
            other => panic!("scenario data {other:?} has no writer"),
        };
        root.set(&path, e.name, data);
    }
    root
}

/// `HKEY_LOCAL_MACHINE\<HIVE>`.
pub fn text_root(hive: HiveKind) -> String {
    format!(r"HKEY_LOCAL_MACHINE\{}", hive.name())
}
