//! Host identity: which machine a capture comes from (computer name from the SYSTEM hive, OS from
//! the SOFTWARE hive, the host's own time zone). Each fact keeps its provenance, and says "not
//! provided" when the hive that would hold it is missing — never an empty string.

use serde::Serialize;

use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegData, RegProvenance, RegistryView, Unreadable};

/// One fact read from the registry, or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fact<T> {
    Found {
        value: T,
        provenance: RegProvenance,
    },
    /// The evidence covers the place and the value is not there.
    Absent,
    Unreadable(Unreadable),
    /// No evidence covers the place: the hive (or the exported key) was not provided.
    NotProvided {
        hive: HiveKind,
    },
}

impl<T> Fact<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Found { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Convert a registry lookup, decoding the data with `decode`; data of an unexpected type is
    /// reported as unreadable with the type found.
    pub fn from_lookup(
        lookup: Lookup<crate::registry::RegValue>,
        decode: impl FnOnce(&RegData) -> Option<T>,
    ) -> Self {
        match lookup {
            Lookup::Found(v) => match decode(&v.data) {
                Some(value) => Fact::Found {
                    value,
                    provenance: v.provenance,
                },
                None => Fact::Unreadable(Unreadable {
                    file: v.provenance.file.clone(),
                    offset: None,
                    reason: format!(
                        "{}\\{} has unexpected type {}",
                        v.provenance.key,
                        v.provenance.value,
                        v.data.type_name()
                    ),
                }),
            },
            Lookup::Absent => Fact::Absent,
            Lookup::Unreadable(u) => Fact::Unreadable(u),
            Lookup::NotProvided { hive } => Fact::NotProvided { hive },
        }
    }
}

impl<T: std::fmt::Display> Fact<T> {
    /// Human wording for text output.
    pub fn display(&self) -> String {
        match self {
            Fact::Found { value, .. } => value.to_string(),
            Fact::Absent => "absent".into(),
            Fact::Unreadable(u) => format!("unreadable ({})", u.reason),
            Fact::NotProvided { hive } => format!("not provided ({hive} hive)"),
        }
    }
}

/// Which machine a capture comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostIdentity {
    /// `ControlSetNNN` chosen from `SYSTEM\Select\Current`.
    pub control_set: Fact<String>,
    pub computer_name: Fact<String>,
    pub os: OsIdentity,
    pub time_zone: TimeZone,
}

/// Operating system identity from `SOFTWARE\Microsoft\Windows NT\CurrentVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsIdentity {
    pub product_name: Fact<String>,
    pub build: Fact<String>,
    pub ubr: Fact<u64>,
    pub display_version: Fact<String>,
    pub edition: Fact<String>,
    pub installation_type: Fact<String>,
    /// `InstallDate` (Unix seconds) as RFC 3339 UTC.
    pub install_date: Fact<String>,
}

/// The host's configured time zone (`SYSTEM\CCS\Control\TimeZoneInformation`). Event times are
/// always shown in UTC unless `--tz` says otherwise; this is shown so a reader can relate them to
/// the customer's wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeZone {
    pub key_name: Fact<String>,
    /// Minutes to add to local time to get UTC (Windows `Bias`, as signed).
    pub bias_minutes: Fact<i64>,
}

const CURRENT_VERSION: &str = r"Microsoft\Windows NT\CurrentVersion";
const TIME_ZONE: &str = r"CurrentControlSet\Control\TimeZoneInformation";

fn string(d: &RegData) -> Option<String> {
    d.as_str().map(|s| s.trim_end_matches('\0').to_string())
}

impl HostIdentity {
    /// Read the identity facts from a capture's registry view.
    pub fn read(view: &RegistryView) -> Self {
        let sys = |path: &str, name: &str| view.value(HiveKind::System, path, name);
        let sw = |name: &str| view.value(HiveKind::Software, CURRENT_VERSION, name);
        let control_set = match view.current_control_set() {
            Lookup::Found(n) => {
                Fact::from_lookup(view.value(HiveKind::System, "Select", "Current"), |_| {
                    Some(format!("ControlSet{n:03}"))
                })
            }
            Lookup::Absent => Fact::Absent,
            Lookup::Unreadable(u) => Fact::Unreadable(u),
            Lookup::NotProvided { hive } => Fact::NotProvided { hive },
        };
        let build = match sw("CurrentBuildNumber") {
            Lookup::Absent => sw("CurrentBuild"),
            other => other,
        };
        HostIdentity {
            control_set,
            computer_name: Fact::from_lookup(
                sys(
                    r"CurrentControlSet\Control\ComputerName\ComputerName",
                    "ComputerName",
                ),
                string,
            ),
            os: OsIdentity {
                product_name: Fact::from_lookup(sw("ProductName"), string),
                build: Fact::from_lookup(build, string),
                ubr: Fact::from_lookup(sw("UBR"), RegData::as_u64),
                display_version: Fact::from_lookup(sw("DisplayVersion"), string),
                edition: Fact::from_lookup(sw("EditionID"), string),
                installation_type: Fact::from_lookup(sw("InstallationType"), string),
                install_date: Fact::from_lookup(sw("InstallDate"), |d| {
                    let secs = i64::try_from(d.as_u64()?).ok()?;
                    jiff::Timestamp::from_second(secs)
                        .ok()
                        .map(|t| t.to_string())
                }),
            },
            time_zone: TimeZone {
                key_name: Fact::from_lookup(sys(TIME_ZONE, "TimeZoneKeyName"), string),
                bias_minutes: Fact::from_lookup(sys(TIME_ZONE, "Bias"), |d| match d {
                    RegData::Dword(v) => Some(i64::from(*v as i32)),
                    other => other.as_u64().and_then(|v| i64::try_from(v).ok()),
                }),
            },
        }
    }
}
pub mod facts;
