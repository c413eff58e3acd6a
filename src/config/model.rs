//! The effective-configuration model: per setting its state (set / not set / unknown), the
//! winning value with provenance, and every lower-precedence value it shadows. This is the serde
//! shape of `captures[].settings.<name>` in JSON and what diagnoses read.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::catalog::settings::SourceKind;
use crate::evidence::HiveKind;
use crate::registry::RegProvenance;

/// Whether the evidence decides a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingState {
    /// A location holds a value, and nothing of higher precedence is missing from the evidence.
    Set,
    /// Every location was checked and none holds a value: the built-in default (if known) applies.
    NotSet,
    /// A location that could decide the setting was not provided, is unreadable, or lies outside
    /// offline evidence (per-user account settings). `unknown` says which; `value`, when present,
    /// is the best value the provided evidence shows (it applies unless the missing source
    /// overrides it).
    Unknown,
}

impl SettingState {
    pub fn name(self) -> &'static str {
        match self {
            SettingState::Set => "set",
            SettingState::NotSet => "not_set",
            SettingState::Unknown => "unknown",
        }
    }
}

/// A decoded setting value. JSON: a flag is `true`/`false`, a duration a number of
/// milliseconds, a count a number, a list an array of strings, a thumbprint a hex string, an enum
/// `{"code": 4, "name": "per_user"}`, keep-alive `{"enabled": true, "interval_minutes": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    Flag(bool),
    Enum {
        code: u64,
        /// `None` when the code is not named in the catalogue (invalid or undocumented).
        name: Option<String>,
    },
    DurationMs(u64),
    Count(u64),
    ServerList(Vec<String>),
    Thumbprint(String),
    KeepAlive {
        enabled: bool,
        interval_minutes: Option<u64>,
    },
}

impl SettingValue {
    pub fn as_flag(&self) -> Option<bool> {
        match self {
            SettingValue::Flag(b) => Some(*b),
            SettingValue::KeepAlive { enabled, .. } => Some(*enabled),
            _ => None,
        }
    }

    /// The number: an enum code, a duration in ms, or a flag as 0/1.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            SettingValue::Enum { code, .. } => Some(*code),
            SettingValue::DurationMs(ms) | SettingValue::Count(ms) => Some(*ms),
            SettingValue::Flag(b) => Some(u64::from(*b)),
            _ => None,
        }
    }

    /// The enum value's catalogue name (`per_user`).
    pub fn enum_name(&self) -> Option<&str> {
        match self {
            SettingValue::Enum { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            SettingValue::ServerList(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            SettingValue::Thumbprint(s) => Some(s),
            _ => None,
        }
    }
}

/// A lower-precedence location that also holds a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shadowed {
    pub source: SourceKind,
    pub value: SettingValue,
    pub display: String,
    pub provenance: Vec<RegProvenance>,
}

/// A location whose content is not known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownSource {
    pub source: SourceKind,
    pub hive: HiveKind,
    /// Key path relative to the hive root (as catalogued).
    pub key: String,
    /// Value name, when the location is a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Why it is not known: `not_provided`, `unreadable`, `user_account`.
    pub reason: UnknownReason,
    /// Human explanation naming the hive or file.
    pub detail: String,
    /// Whether this location ranks above the winner (or there is no winner), i.e. whether it
    /// makes the setting unknown. Lower-ranked unknown locations only make `shadowed` incomplete.
    pub decisive: bool,
}

/// Why a location's content is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// The hive (or the exported key) was not in the capture.
    NotProvided,
    /// The hive holds the place but it could not be read.
    Unreadable,
    /// The listener defers to the per-user account setting, stored in AD/SAM, not in the hives.
    UserAccount,
}

/// A value reported beside a setting that does not compete in its precedence (for example the
/// listener `KeepAliveTimeout`, or the certificate template policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub source: SourceKind,
    pub display: String,
    pub provenance: RegProvenance,
    pub note: String,
}

/// One resolved setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// Catalogue name (the JSON object key, not repeated inside).
    #[serde(skip)]
    pub name: String,
    pub state: SettingState,
    /// The winning value; `null` when nothing (not even a known default) gives one.
    pub value: Option<SettingValue>,
    /// Human wording of the result.
    pub display: String,
    /// Human wording of `value` alone (without the "unless overridden" of unknown results); when
    /// there is no value, what stands for it ("not configured at any layer", "unknown").
    #[serde(skip)]
    pub value_display: String,
    /// The layer the value comes from.
    pub source: Option<SourceKind>,
    /// Where the value was read (empty for defaults; two entries for keep-alive).
    pub provenance: Vec<RegProvenance>,
    /// Every lower-precedence location that also holds a value, in precedence order.
    pub shadowed: Vec<Shadowed>,
    /// Locations that could not be consulted.
    pub unknown: Vec<UnknownSource>,
    pub related: Vec<Related>,
    /// Explanations: overrides, type mismatches, ignored values, UNCONFIRMED facts used.
    pub notes: Vec<String>,
    /// Which GPO wrote the machine-policy value and which it beat (only when the capture holds
    /// Group Policy evidence that speaks of it; see `config::gpo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpo: Option<super::gpo::GpoAttribution>,
    /// Reference source IDs (`docs/rds-reference.md` §18) behind the winning location.
    pub refs: Vec<String>,
    /// The winning location (or default) rests on an UNCONFIRMED fact of the reference: a
    /// diagnosis built on it should say "likely", not "confirmed". The note says what is unknown.
    pub unconfirmed: bool,
}

impl Setting {
    pub fn is_set(&self) -> bool {
        self.state == SettingState::Set
    }

    pub fn is_unknown(&self) -> bool {
        self.state == SettingState::Unknown
    }

    /// The value only when the evidence decides it (set, or not set with a known default).
    pub fn decided_value(&self) -> Option<&SettingValue> {
        match self.state {
            SettingState::Unknown => None,
            _ => self.value.as_ref(),
        }
    }

    /// The unknown locations that make the setting unknown.
    pub fn decisive_unknowns(&self) -> impl Iterator<Item = &UnknownSource> {
        self.unknown.iter().filter(|u| u.decisive)
    }
}

/// All resolved settings of a capture, in catalogue order. Serialises as a JSON object keyed by
/// setting name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub settings: Vec<Setting>,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.settings.iter()
    }
}

impl Serialize for Settings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.settings.len()))?;
        for s in &self.settings {
            map.serialize_entry(&s.name, s)?;
        }
        map.end()
    }
}

/// Setting names as constants, for code that reads particular settings (checked against the
/// catalogue by a test).
pub mod names {
    pub const LICENSING_MODE: &str = "licensing_mode";
    pub const LICENSE_SERVERS: &str = "license_servers";
    pub const KEEP_ALIVE: &str = "keep_alive";
    pub const AUTO_RECONNECT: &str = "auto_reconnect";
    pub const MAX_DISCONNECTION_TIME: &str = "max_disconnection_time";
    pub const MAX_IDLE_TIME: &str = "max_idle_time";
    pub const MAX_CONNECTION_TIME: &str = "max_connection_time";
    pub const RESET_BROKEN: &str = "reset_broken";
    pub const SECURITY_LAYER: &str = "security_layer";
    pub const MIN_ENCRYPTION_LEVEL: &str = "min_encryption_level";
    pub const USER_AUTHENTICATION: &str = "user_authentication";
    pub const FIPS_ALGORITHM_POLICY: &str = "fips_algorithm_policy";
    pub const DENY_CONNECTIONS: &str = "deny_connections";
    pub const CERTIFICATE: &str = "certificate";
    pub const MAX_INSTANCE_COUNT: &str = "max_instance_count";
    pub const SINGLE_SESSION_PER_USER: &str = "single_session_per_user";
    pub const DRAIN_MODE: &str = "drain_mode";
    pub const LISTENER_ENABLED: &str = "listener_enabled";
    pub const PORT_NUMBER: &str = "port_number";

    /// Every name above.
    pub const ALL: &[&str] = &[
        LICENSING_MODE,
        LICENSE_SERVERS,
        KEEP_ALIVE,
        AUTO_RECONNECT,
        MAX_DISCONNECTION_TIME,
        MAX_IDLE_TIME,
        MAX_CONNECTION_TIME,
        RESET_BROKEN,
        SECURITY_LAYER,
        MIN_ENCRYPTION_LEVEL,
        USER_AUTHENTICATION,
        FIPS_ALGORITHM_POLICY,
        DENY_CONNECTIONS,
        CERTIFICATE,
        MAX_INSTANCE_COUNT,
        SINGLE_SESSION_PER_USER,
        DRAIN_MODE,
        LISTENER_ENABLED,
        PORT_NUMBER,
    ];
}
