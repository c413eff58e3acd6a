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
    /// The computer names the event records carry (their `Computer` field), most frequent first;
    /// the FQDN and NetBIOS forms of one name are counted together. Several names: the machine
    /// was renamed (or the logs come from several machines).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names_in_logs: Vec<LogName>,
}

/// One computer name as the event records carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogName {
    /// NetBIOS form, upper case (`RDSH01`).
    pub name: String,
    /// The spellings seen (`rdsh01.contoso.local`, `RDSH01`), sorted.
    pub spellings: Vec<String>,
    /// Records naming it.
    pub events: u64,
    pub first_seen: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
    /// How this name relates to the host.
    pub relation: NameRelation,
    /// The event-log files whose records carry it.
    #[serde(skip)]
    pub files: std::collections::BTreeSet<String>,
}

/// How a name in the event records relates to the capture's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameRelation {
    /// The host's name (the SYSTEM hive's, else the most frequent).
    Host,
    /// Used only before the host's name appears, in the same log files as the host's name: the
    /// machine was renamed (a log of one machine never carries two names at once).
    EarlierName,
    /// Anything else: another computer.
    OtherComputer,
}

/// Where the host's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// `SYSTEM\CCS\Control\ComputerName\ComputerName`.
    Registry,
    /// The most frequent `Computer` of the event records (no SYSTEM hive name).
    EventLogs,
}

/// The NetBIOS form of a computer name: its first label, upper case.
pub fn netbios(name: &str) -> String {
    name.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The computer names of `events`, most frequent first (ties by name), each with its relation to
/// the host: `registry_name` (the SYSTEM hive's) when known, else the most frequent name.
pub fn names_in_logs(
    events: &[crate::eventlog::Event],
    registry_name: Option<&str>,
) -> Vec<LogName> {
    use std::collections::{BTreeMap, BTreeSet};
    // First per spelling, borrowing the records' names (no allocation per record) ...
    struct Seen<'e> {
        events: u64,
        first: jiff::Timestamp,
        last: jiff::Timestamp,
        files: BTreeSet<&'e str>,
    }
    let mut by_spelling: BTreeMap<&str, Seen<'_>> = BTreeMap::new();
    for e in events {
        let Some(raw) = e.computer.as_deref().filter(|c| !c.trim().is_empty()) else {
            continue;
        };
        let seen = by_spelling.entry(raw).or_insert(Seen {
            events: 0,
            first: e.time,
            last: e.time,
            files: BTreeSet::new(),
        });
        seen.events += 1;
        seen.first = seen.first.min(e.time);
        seen.last = seen.last.max(e.time);
        seen.files.insert(&e.file);
    }
    // ... then the spellings of one NetBIOS name together.
    let mut by_name: BTreeMap<String, LogName> = BTreeMap::new();
    for (raw, seen) in by_spelling {
        let key = netbios(raw);
        let entry = by_name.entry(key.clone()).or_insert_with(|| LogName {
            name: key,
            spellings: Vec::new(),
            events: 0,
            first_seen: seen.first,
            last_seen: seen.last,
            relation: NameRelation::OtherComputer,
            files: Default::default(),
        });
        entry.events += seen.events;
        entry.first_seen = entry.first_seen.min(seen.first);
        entry.last_seen = entry.last_seen.max(seen.last);
        entry.spellings.push(raw.to_string());
        entry
            .files
            .extend(seen.files.into_iter().map(str::to_string));
    }
    let mut names: Vec<LogName> = by_name.into_values().collect();
    names.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    classify(&mut names, registry_name.map(netbios));
    names
}

/// Set each name's relation to the host: the host's own name; names used only before it, in the
/// same log files, whose periods do not overlap each other (a rename); the rest other computers.
fn classify(names: &mut [LogName], host: Option<String>) {
    let host = host.or_else(|| names.first().map(|n| n.name.clone()));
    let Some(host) = host else { return };
    let Some((own_first, own_files)) = names
        .iter()
        .find(|n| n.name == host)
        .map(|n| (n.first_seen, n.files.clone()))
    else {
        return;
    };
    let mut taken: Vec<(jiff::Timestamp, jiff::Timestamp)> = Vec::new();
    for n in names.iter_mut() {
        if n.name == host {
            n.relation = NameRelation::Host;
            continue;
        }
        let overlaps = taken
            .iter()
            .any(|(f, l)| n.first_seen <= *l && *f <= n.last_seen);
        let same_logs = n.files.iter().any(|f| own_files.contains(f));
        n.relation = if !overlaps && same_logs && n.last_seen < own_first {
            taken.push((n.first_seen, n.last_seen));
            NameRelation::EarlierName
        } else {
            NameRelation::OtherComputer
        };
    }
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
    /// The host's name and where it came from: the SYSTEM hive's, else the most frequent name
    /// of the event records.
    pub fn name(&self) -> Option<(&str, NameSource)> {
        match (&self.computer_name, self.names_in_logs.first()) {
            (Fact::Found { value, .. }, _) => Some((value.as_str(), NameSource::Registry)),
            (_, Some(l)) => Some((l.name.as_str(), NameSource::EventLogs)),
            _ => None,
        }
    }

    /// When the SYSTEM hive names the machine and no event record carries that name: the
    /// wording of the conflict.
    pub fn name_conflict(&self) -> Option<String> {
        let hive = self.computer_name.value()?;
        let logs = self.names_in_logs.first()?;
        let own = self
            .names_in_logs
            .iter()
            .any(|n| n.relation == NameRelation::Host);
        (!own).then(|| {
            format!(
                "the SYSTEM hive names the computer {hive}, but no event record does; most ({} records) name {}",
                logs.events, logs.name
            )
        })
    }

    /// Every name the host went by: its own and its earlier names (for telling its events from
    /// other computers').
    pub fn own_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.name().map(|(n, _)| n).into_iter().collect();
        v.extend(
            self.names_in_logs
                .iter()
                .filter(|n| n.relation == NameRelation::EarlierName)
                .map(|n| n.name.as_str()),
        );
        v
    }

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
            names_in_logs: Vec::new(),
        }
    }
}
pub mod facts;
