//! Host facts for RDS licensing (issue 6): which Windows version the host runs and how that
//! version enforces licensing, domain or workgroup, which RDS roles it has (with the signal used
//! and whether it is confirmed), and the licensing state left in the registry (licensing service,
//! grace-period timebomb, license-server certificate values, client MSLicensing store, license
//! server database path and workgroup-authentication override).
//!
//! Every fact says what it was read from, and says `unknown` — naming the hive — when the hive
//! that would hold it is not in the capture.

use serde::Serialize;

use super::Fact;
use crate::catalog::builds;
use crate::catalog::settings::catalog;
use crate::config::{KeyInfo, RegistrySource};
use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegData, RegProvenance, RegValue};

const CURRENT_VERSION: &str = r"Microsoft\Windows NT\CurrentVersion";
const TSPOL: &str = r"Policies\Microsoft\Windows NT\Terminal Services";
const RCM: &str = r"CurrentControlSet\Control\Terminal Server\RCM";
const LIC_CORE: &str = r"CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
const GRACE: &str = r"CurrentControlSet\Control\Terminal Server\RCM\GracePeriod";
const TSLS_SERVICE: &str = r"CurrentControlSet\Services\TermServLicensing";
const TSLS_PARAMS: &str = r"CurrentControlSet\Services\TermServLicensing\Parameters";
const TCPIP: &str = r"CurrentControlSet\Services\Tcpip\Parameters";
const COMPONENTS: &str = r"Microsoft\ServerManager\ServicingStorage\ServerComponentCache";
/// Group Policy history of the Administrative Templates (Registry) extension (S42, S43).
const GP_REGISTRY_HISTORY: &str =
    r"Microsoft\Windows\CurrentVersion\Group Policy\History\{35378EAC-683F-11D2-A89A-00C04FBBCFA2}";
const WINSTATIONS: &str = r"CurrentControlSet\Control\Terminal Server\WinStations";
const GPO_LIST: &str = r"Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\GPO-List";
const MSLICENSING: &str = r"Microsoft\MSLicensing";
const TIMEBOMB_PREFIX: &str = "L$RTMTIMEBOMB";
/// Values under RCM holding certificate material obtained from a license server (S11).
const X509_VALUES: [&str; 4] = [
    "Certificate",
    "X509 Certificate",
    "X509 Certificate ID",
    "X509 Certificate2",
];

/// Yes, no, or not decidable from the evidence provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    pub fn name(self) -> &'static str {
        match self {
            Tri::Yes => "yes",
            Tri::No => "no",
            Tri::Unknown => "unknown",
        }
    }
}

/// Whether something (a key, a value) is in the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub present: Tri,
    /// Where it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<RegProvenance>,
    /// Why it is unknown (the hive not provided, or unreadable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_because: Option<String>,
}

fn why<T>(l: &Lookup<T>) -> Option<String> {
    match l {
        Lookup::NotProvided { hive } => Some(format!("{hive} hive not provided")),
        Lookup::Unreadable(u) => Some(format!("unreadable in {}: {}", u.file, u.reason)),
        _ => None,
    }
}

impl Presence {
    fn of_key(l: &Lookup<KeyInfo>) -> Presence {
        Presence {
            present: match l {
                Lookup::Found(_) => Tri::Yes,
                Lookup::Absent => Tri::No,
                _ => Tri::Unknown,
            },
            provenance: l.found().map(KeyInfo::key_provenance),
            unknown_because: why(l),
        }
    }

    fn of_value(l: &Lookup<RegValue>) -> Presence {
        Presence {
            present: match l {
                Lookup::Found(_) => Tri::Yes,
                Lookup::Absent => Tri::No,
                _ => Tri::Unknown,
            },
            provenance: l.found().map(|v| v.provenance.clone()),
            unknown_because: why(l),
        }
    }
}

/// The Windows version of the host, mapped from the build number (`builds.tsv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowsVersion {
    /// `Windows Server 2019`, `Windows 10 1809`, or `Windows build N` for unknown builds; `None`
    /// when the SOFTWARE hive is not provided.
    pub name: Option<String>,
    pub build: Option<u32>,
    /// Server (`InstallationType` other than `Client`) or client; unknown without SOFTWARE.
    pub server: Tri,
    /// Soft enforcement (60-minute warning then disconnect) for Per Device and Per User CALs on
    /// this version (`None` when the version is not known or not a server).
    pub soft_enforcement_per_device: Option<bool>,
    pub soft_enforcement_per_user: Option<bool>,
    pub grace_days: Option<u32>,
    pub provenance: Vec<RegProvenance>,
    pub refs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_because: Option<String>,
}

/// One piece of evidence for a conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// What was looked at and what it shows.
    pub signal: String,
    /// Whether the signal's meaning is documented by a primary source (not UNCONFIRMED).
    pub confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<RegProvenance>,
    /// Reference source IDs, or `UNCONFIRMED: …`.
    pub src: &'static str,
}

/// Domain or workgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipKind {
    Domain,
    Workgroup,
    Unknown,
}

/// Domain membership, decided from heuristics (reference §2.5: never confirmed offline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub kind: MembershipKind,
    /// DNS domain name when one is recorded.
    pub domain: Option<String>,
    /// Always false today: every offline signal for membership is a heuristic.
    pub confirmed: bool,
    pub signals: Vec<Signal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_because: Vec<String>,
}

/// An RDS role (or the client side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    SessionHost,
    LicenseServer,
    ConnectionBroker,
    /// A client operating system (the machine that runs mstsc in client-side evidence).
    Client,
}

impl RoleKind {
    pub fn name(self) -> &'static str {
        match self {
            RoleKind::SessionHost => "session_host",
            RoleKind::LicenseServer => "license_server",
            RoleKind::ConnectionBroker => "connection_broker",
            RoleKind::Client => "client",
        }
    }
}

/// Whether the host has a role, with the signals that say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleFact {
    pub role: RoleKind,
    pub detected: Tri,
    /// At least one found signal is backed by a primary source.
    pub confirmed: bool,
    /// The signals that were found.
    pub signals: Vec<Signal>,
    /// Signal locations that could not be consulted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_because: Vec<String>,
}

/// The Remote Desktop Licensing service (`TermServLicensing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicensingService {
    /// The service key exists.
    pub installed: Presence,
    /// `Start` value.
    pub start_type: Fact<u64>,
    /// `boot`, `system`, `automatic`, `manual`, `disabled`, or `None` when not known.
    pub start_type_name: Option<String>,
    pub refs: Vec<String>,
}

/// The grace-period timebomb value under `RCM\GracePeriod` (not decoded: its layout is
/// UNCONFIRMED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraceTimebomb {
    pub present: Presence,
    pub note: &'static str,
}

/// Certificate values a session host stores after obtaining a license server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct X509Certificates {
    /// `X509 Certificate` present: the host has obtained a certificate from a license server
    /// (Microsoft's LS check script reads it so; S35).
    pub obtained_from_license_server: Tri,
    /// Each catalogued value and whether it is present.
    pub values: Vec<NamedPresence>,
}

/// A named value's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedPresence {
    pub name: &'static str,
    #[serde(flatten)]
    pub presence: Presence,
}

/// The client-side licensing store (`SOFTWARE\Microsoft\MSLicensing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsLicensing {
    pub present: Presence,
    /// `HardwareID\ClientHWID` present.
    pub hardware_id: Presence,
    /// Number of `Store\LICENSE…` subkeys; `None` when the store is absent or unknown.
    pub stored_licenses: Option<usize>,
    pub license_keys: Vec<String>,
}

/// The workgroup-authentication enforcement override of a license server (S17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkgroupAuthOverride {
    /// `DisableWorkgroupAuthEnforcement` value.
    pub value: Fact<u64>,
    /// `yes` when the value is 1 (enforcement disabled), `no` when absent or 0 (enforced on a
    /// patched license server), `unknown` without the SYSTEM hive.
    pub enforcement_disabled: Tri,
    pub refs: Vec<String>,
}

/// All host facts of issue 6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    pub windows_version: WindowsVersion,
    pub membership: Membership,
    pub roles: Vec<RoleFact>,
    pub licensing_service: LicensingService,
    pub grace_period_timebomb: GraceTimebomb,
    pub x509_certificates: X509Certificates,
    pub mslicensing: MsLicensing,
    /// `TermServLicensing\Parameters\DBPath` (UNCONFIRMED default and type).
    pub license_db_path: Fact<String>,
    pub workgroup_auth_override: WorkgroupAuthOverride,
    /// GPOs the Administrative Templates (Registry) extension applied: the candidates for any
    /// value found under the machine policy key (reference §8; per-value attribution is not
    /// possible offline).
    pub policy_gpos: PolicyGpos,
    /// Subkeys of `Control\Terminal Server\WinStations`: the RDP-Tcp listener whose settings
    /// are resolved, and any other listener (settings of other listeners are not resolved).
    pub listeners: Fact<Vec<String>>,
}

/// One GPO from the Group Policy history of the Registry client-side extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gpo {
    pub display_name: Option<String>,
    /// GPO GUID (`GPOName`).
    pub name: Option<String>,
    /// `LDAP://…` for domain GPOs, `LocalGPO` for local policy.
    pub ds_path: Option<String>,
    pub link: Option<String>,
    pub file_sys_path: Option<String>,
    /// Whether `ds_path` marks a domain GPO.
    pub domain: bool,
    pub provenance: RegProvenance,
}

/// The GPOs that could have written the machine policy key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyGpos {
    /// Whether the history key of the Registry extension is in the evidence.
    pub history: Presence,
    /// In the order of the history subkeys (application order).
    pub gpos: Vec<Gpo>,
    pub refs: Vec<String>,
}

impl HostFacts {
    /// The role fact of `role`.
    pub fn role(&self, role: RoleKind) -> Option<&RoleFact> {
        self.roles.iter().find(|r| r.role == role)
    }
}

fn string(d: &RegData) -> Option<String> {
    match d {
        RegData::MultiSz(items) => items.first().cloned(),
        other => other.as_str().map(|s| s.trim_end_matches('\0').to_string()),
    }
}

fn refs(s: &str) -> Vec<String> {
    s.split(", ").map(str::to_string).collect()
}

/// Read the host facts from a capture's registry.
pub fn host_facts<S: RegistrySource + ?Sized>(src: &S) -> HostFacts {
    let sw = |path: &str, name: &str| src.value(HiveKind::Software, path, name);
    let sys = |path: &str, name: &str| src.value(HiveKind::System, path, name);

    let windows_version = windows_version(src);
    let membership = membership(src);
    let roles = vec![
        session_host(src, &windows_version),
        license_server(src),
        connection_broker(src),
        client(src),
    ];

    let service_key = src.key(HiveKind::System, TSLS_SERVICE);
    let start_type = Fact::from_lookup(sys(TSLS_SERVICE, "Start"), RegData::as_u64);
    let start_type_name = start_type
        .value()
        .and_then(|n| catalog().value_name("service_start", *n))
        .map(|v| v.name.clone());

    let grace = src.key(HiveKind::System, GRACE);
    let grace_present = match &grace {
        Lookup::Found(k) => match k
            .values
            .iter()
            .find(|v| v.to_ascii_uppercase().starts_with(TIMEBOMB_PREFIX))
        {
            Some(name) => Presence::of_value(&sys(GRACE, name)),
            None => Presence {
                present: Tri::No,
                provenance: Some(k.key_provenance()),
                unknown_because: None,
            },
        },
        other => Presence::of_key(other),
    };

    let x509: Vec<NamedPresence> = X509_VALUES
        .iter()
        .map(|name| NamedPresence {
            name,
            presence: Presence::of_value(&sys(RCM, name)),
        })
        .collect();
    let obtained = x509
        .iter()
        .find(|v| v.name == "X509 Certificate")
        .map(|v| v.presence.present)
        .unwrap_or(Tri::Unknown);

    let ms_key = src.key(HiveKind::Software, MSLICENSING);
    let hwid = Presence::of_value(&sw(&format!(r"{MSLICENSING}\HardwareID"), "ClientHWID"));
    let (stored_licenses, license_keys) =
        match src.key(HiveKind::Software, &format!(r"{MSLICENSING}\Store")) {
            Lookup::Found(k) => {
                let keys: Vec<String> = k
                    .subkeys
                    .iter()
                    .filter(|s| s.to_ascii_uppercase().starts_with("LICENSE"))
                    .cloned()
                    .collect();
                (Some(keys.len()), keys)
            }
            Lookup::Absent if ms_key.found().is_some() => (Some(0), Vec::new()),
            _ => (None, Vec::new()),
        };

    let wg = Fact::from_lookup(
        sys(TSLS_PARAMS, "DisableWorkgroupAuthEnforcement"),
        RegData::as_u64,
    );
    let enforcement_disabled = match &wg {
        Fact::Found { value, .. } => {
            if *value == 1 {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        Fact::Absent => Tri::No,
        _ => Tri::Unknown,
    };

    HostFacts {
        windows_version,
        membership,
        roles,
        licensing_service: LicensingService {
            installed: Presence::of_key(&service_key),
            start_type,
            start_type_name,
            refs: refs("S35, S53"),
        },
        grace_period_timebomb: GraceTimebomb {
            present: grace_present,
            note: "blob not decoded: its layout is UNCONFIRMED",
        },
        x509_certificates: X509Certificates {
            obtained_from_license_server: obtained,
            values: x509,
        },
        mslicensing: MsLicensing {
            present: Presence::of_key(&ms_key),
            hardware_id: hwid,
            stored_licenses,
            license_keys,
        },
        license_db_path: Fact::from_lookup(sys(TSLS_PARAMS, "DBPath"), string),
        workgroup_auth_override: WorkgroupAuthOverride {
            value: wg,
            enforcement_disabled,
            refs: refs("S17"),
        },
        policy_gpos: policy_gpos(src),
        listeners: match src.key(HiveKind::System, WINSTATIONS) {
            Lookup::Found(k) => Fact::Found {
                provenance: k.key_provenance(),
                value: k.subkeys,
            },
            Lookup::Absent => Fact::Absent,
            Lookup::Unreadable(u) => Fact::Unreadable(u),
            Lookup::NotProvided { hive } => Fact::NotProvided { hive },
        },
    }
}

fn policy_gpos<S: RegistrySource + ?Sized>(src: &S) -> PolicyGpos {
    let history = src.key(HiveKind::Software, GP_REGISTRY_HISTORY);
    let mut gpos = Vec::new();
    if let Lookup::Found(k) = &history {
        let mut subkeys = k.subkeys.clone();
        // Numbered subkeys in numeric order (0, 1, … 10), others after.
        subkeys.sort_by_key(|n| (n.parse::<u64>().unwrap_or(u64::MAX), n.clone()));
        for sub in subkeys {
            let path = format!(r"{GP_REGISTRY_HISTORY}\{sub}");
            let get = |name: &str| {
                src.value(HiveKind::Software, &path, name)
                    .into_found()
                    .and_then(|v| string(&v.data))
            };
            let provenance = match src.key(HiveKind::Software, &path) {
                Lookup::Found(key) => key.key_provenance(),
                _ => continue,
            };
            let ds_path = get("DSPath");
            gpos.push(Gpo {
                display_name: get("DisplayName"),
                name: get("GPOName"),
                domain: ds_path
                    .as_deref()
                    .is_some_and(|d| d.to_ascii_uppercase().starts_with("LDAP://")),
                ds_path,
                link: get("Link"),
                file_sys_path: get("FileSysPath"),
                provenance,
            });
        }
    }
    PolicyGpos {
        history: Presence::of_key(&history),
        gpos,
        refs: refs("S42, S43"),
    }
}

fn windows_version<S: RegistrySource + ?Sized>(src: &S) -> WindowsVersion {
    let sw = |name: &str| src.value(HiveKind::Software, CURRENT_VERSION, name);
    let mut out = WindowsVersion {
        name: None,
        build: None,
        server: Tri::Unknown,
        soft_enforcement_per_device: None,
        soft_enforcement_per_user: None,
        grace_days: None,
        provenance: Vec::new(),
        refs: Vec::new(),
        notes: Vec::new(),
        unknown_because: None,
    };
    let build_lookup = match sw("CurrentBuildNumber") {
        Lookup::Absent => sw("CurrentBuild"),
        other => other,
    };
    let build = match &build_lookup {
        Lookup::Found(v) => {
            out.provenance.push(v.provenance.clone());
            let n = v.data.as_u64().and_then(|n| u32::try_from(n).ok());
            if n.is_none() {
                out.notes.push(format!(
                    "{}\\{} is not a build number",
                    v.provenance.key, v.provenance.value
                ));
            }
            n
        }
        other => {
            out.unknown_because = why(other).or_else(|| Some("no CurrentBuild value".into()));
            None
        }
    };
    out.build = build;
    let install_type = sw("InstallationType");
    let is_client = match &install_type {
        Lookup::Found(v) => {
            out.provenance.push(v.provenance.clone());
            Some(
                v.data
                    .as_str()
                    .is_some_and(|s| s.trim_end_matches('\0').eq_ignore_ascii_case("Client")),
            )
        }
        Lookup::Absent => None,
        _ => None,
    };
    if let Lookup::Found(v) = sw("EditionID") {
        if v.data
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("ServerRdsh"))
        {
            out.notes.push(
                "EditionID ServerRdsh: Windows Enterprise multi-session (UNCONFIRMED mapping)"
                    .into(),
            );
        }
    }
    let Some(build) = build else {
        return out;
    };
    let row = builds::lookup(build);
    match (row, is_client) {
        (Some(row), Some(true)) => {
            out.server = Tri::No;
            out.name = Some(
                row.client_name
                    .clone()
                    .unwrap_or_else(|| format!("Windows (build {build})")),
            );
            out.refs = row.src.ids().into_iter().map(str::to_string).collect();
        }
        (Some(row), client) => {
            out.server = Tri::Yes;
            if client.is_none() {
                out.notes.push(
                    "InstallationType absent: build found in the server table, assumed a server"
                        .into(),
                );
            }
            out.name = Some(row.server_name.clone());
            out.soft_enforcement_per_device = Some(row.soft_enforcement_per_device);
            out.soft_enforcement_per_user = Some(row.soft_enforcement_per_user);
            out.grace_days = Some(row.grace_days);
            out.refs = row.src.ids().into_iter().map(str::to_string).collect();
            if let Some(u) = row.src.unconfirmed() {
                out.notes.push(format!("UNCONFIRMED: {u}"));
            }
        }
        (None, client) => {
            out.server = match client {
                Some(true) => Tri::No,
                Some(false) => Tri::Yes,
                None => Tri::Unknown,
            };
            out.name = Some(format!("Windows build {build} (not in the build table)"));
        }
    }
    out
}

fn membership<S: RegistrySource + ?Sized>(src: &S) -> Membership {
    let mut signals = Vec::new();
    let mut unknown_because = Vec::new();
    let mut ldap = false;
    match src.key(HiveKind::Software, GPO_LIST) {
        Lookup::Found(list) => {
            for sub in &list.subkeys {
                let path = format!(r"{GPO_LIST}\{sub}");
                if let Lookup::Found(v) = src.value(HiveKind::Software, &path, "DSPath") {
                    if v.data
                        .as_str()
                        .is_some_and(|s| s.to_ascii_uppercase().starts_with("LDAP://"))
                    {
                        ldap = true;
                        signals.push(Signal {
                            signal: "a domain GPO (DSPath LDAP://…) was applied to the machine"
                                .into(),
                            confirmed: false,
                            provenance: Some(v.provenance),
                            src: "S43",
                        });
                        break;
                    }
                }
            }
        }
        Lookup::Absent => {}
        other => unknown_because.extend(why(&other).map(|w| format!("Group Policy state: {w}"))),
    }
    let mut domain = None;
    match src.value(HiveKind::System, TCPIP, "Domain") {
        Lookup::Found(v) => {
            let name = v
                .data
                .as_str()
                .map(|s| s.trim_end_matches('\0').trim().to_string());
            match name.filter(|s| !s.is_empty()) {
                Some(name) => {
                    signals.push(Signal {
                        signal: format!("Tcpip\\Parameters\\Domain is {name:?}"),
                        confirmed: false,
                        provenance: Some(v.provenance),
                        src: "S47",
                    });
                    domain = Some(name);
                }
                None => signals.push(Signal {
                    signal: "Tcpip\\Parameters\\Domain is empty".into(),
                    confirmed: false,
                    provenance: Some(v.provenance),
                    src: "S47",
                }),
            }
        }
        Lookup::Absent => {}
        other => unknown_because.extend(why(&other).map(|w| format!("Tcpip parameters: {w}"))),
    }
    let kind = if ldap || domain.is_some() {
        MembershipKind::Domain
    } else if unknown_because.is_empty() {
        MembershipKind::Workgroup
    } else {
        MembershipKind::Unknown
    };
    Membership {
        kind,
        domain,
        confirmed: false,
        signals,
        unknown_because,
    }
}

/// Collects the signals of one role.
struct RoleProbe {
    fact: RoleFact,
}

impl RoleProbe {
    fn new(role: RoleKind) -> Self {
        RoleProbe {
            fact: RoleFact {
                role,
                detected: Tri::No,
                confirmed: false,
                signals: Vec::new(),
                unknown_because: Vec::new(),
            },
        }
    }

    fn found(
        &mut self,
        signal: String,
        confirmed: bool,
        provenance: Option<RegProvenance>,
        src: &'static str,
    ) {
        self.fact.signals.push(Signal {
            signal,
            confirmed,
            provenance,
            src,
        });
    }

    fn unknown<T>(&mut self, what: &str, l: &Lookup<T>) {
        if let Some(w) = why(l) {
            self.fact.unknown_because.push(format!("{what}: {w}"));
        }
    }

    /// A key whose existence is the signal.
    fn key<S: RegistrySource + ?Sized>(
        &mut self,
        src: &S,
        hive: HiveKind,
        path: &str,
        signal: &str,
        confirmed: bool,
        refs: &'static str,
    ) {
        let l = src.key(hive, path);
        match &l {
            Lookup::Found(k) => {
                self.found(signal.into(), confirmed, Some(k.key_provenance()), refs)
            }
            _ => self.unknown(&format!("{hive}\\{path}"), &l),
        }
    }

    /// A Server Manager component cache entry with `InstallState` = 1.
    fn component<S: RegistrySource + ?Sized>(&mut self, src: &S, component: &str) {
        let path = format!(r"{COMPONENTS}\{component}");
        let l = src.value(HiveKind::Software, &path, "InstallState");
        match &l {
            Lookup::Found(v) if v.data.as_u64() == Some(1) => self.found(
                format!("Server Manager component {component} InstallState=1"),
                false,
                Some(v.provenance.clone()),
                "UNCONFIRMED: InstallState semantics from community code",
            ),
            _ => self.unknown(&format!("SOFTWARE\\{path}"), &l),
        }
    }

    fn finish(mut self) -> RoleFact {
        self.fact.detected = if !self.fact.signals.is_empty() {
            Tri::Yes
        } else if !self.fact.unknown_because.is_empty() {
            Tri::Unknown
        } else {
            Tri::No
        };
        self.fact.confirmed = self.fact.signals.iter().any(|s| s.confirmed);
        self.fact
    }
}

fn session_host<S: RegistrySource + ?Sized>(src: &S, version: &WindowsVersion) -> RoleFact {
    let mut p = RoleProbe::new(RoleKind::SessionHost);
    p.component(src, "RDS-RD-Server");
    for (hive, path, layer, refs) in [
        (HiveKind::Software, TSPOL, "policy", "S01, S14"),
        (HiveKind::System, LIC_CORE, "Server Manager", "S14"),
    ] {
        let l = src.value(hive, path, "LicensingMode");
        match &l {
            Lookup::Found(v) if matches!(v.data.as_u64(), Some(2) | Some(4)) => p.found(
                format!(
                    "licensing mode configured by {layer} (LicensingMode={})",
                    v.data.as_u64().unwrap_or_default()
                ),
                false,
                Some(v.provenance.clone()),
                refs,
            ),
            _ => p.unknown(&format!("{hive}\\{path}\\LicensingMode"), &l),
        }
    }
    if version.notes.iter().any(|n| n.contains("ServerRdsh")) {
        p.found(
            "EditionID ServerRdsh (multi-session)".into(),
            false,
            version.provenance.first().cloned(),
            "UNCONFIRMED: ServerRdsh = Enterprise multi-session",
        );
    }
    // Only a session host asks a license server for a certificate (S35 reads the value so).
    let l = src.value(HiveKind::System, RCM, "X509 Certificate");
    match &l {
        Lookup::Found(v) => p.found(
            "RCM\\X509 Certificate present: the host obtained a license server certificate".into(),
            false,
            Some(v.provenance.clone()),
            "S35",
        ),
        _ => p.unknown(&format!("SYSTEM\\{RCM}\\X509 Certificate"), &l),
    }
    p.finish()
}

fn license_server<S: RegistrySource + ?Sized>(src: &S) -> RoleFact {
    let mut p = RoleProbe::new(RoleKind::LicenseServer);
    p.key(
        src,
        HiveKind::System,
        TSLS_SERVICE,
        "service TermServLicensing (Remote Desktop Licensing) is installed",
        true,
        "S35",
    );
    p.key(
        src,
        HiveKind::Software,
        r"Microsoft\TermServLicensing",
        r"SOFTWARE\Microsoft\TermServLicensing exists",
        false,
        "S35, S51",
    );
    p.component(src, "RDS-Licensing");
    p.finish()
}

fn connection_broker<S: RegistrySource + ?Sized>(src: &S) -> RoleFact {
    let mut p = RoleProbe::new(RoleKind::ConnectionBroker);
    p.key(
        src,
        HiveKind::System,
        r"CurrentControlSet\Services\Tssdis",
        "service Tssdis (RD Connection Broker) is installed",
        false,
        "UNCONFIRMED: service name not re-verified",
    );
    p.component(src, "RDS-Connection-Broker");
    p.finish()
}

fn client<S: RegistrySource + ?Sized>(src: &S) -> RoleFact {
    let mut p = RoleProbe::new(RoleKind::Client);
    let l = src.value(HiveKind::Software, CURRENT_VERSION, "InstallationType");
    match &l {
        Lookup::Found(v)
            if v.data
                .as_str()
                .is_some_and(|s| s.trim_end_matches('\0').eq_ignore_ascii_case("Client")) =>
        {
            p.found(
                "InstallationType is Client (a client operating system)".into(),
                true,
                Some(v.provenance.clone()),
                "S47",
            )
        }
        _ => p.unknown(
            &format!("SOFTWARE\\{CURRENT_VERSION}\\InstallationType"),
            &l,
        ),
    }
    p.finish()
}
