//! Result vocabulary of the registry view: typed values with provenance, and lookups that keep
//! "absent", "unreadable" and "not provided" apart.

use serde::Serialize;

use crate::evidence::HiveKind;

/// The form the registry evidence came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceForm {
    /// A binary hive file read through nt-hive.
    Hive,
    /// A `.reg` export.
    RegExport,
    /// `reg query /s` text output.
    RegQuery,
    /// A Group Policy `Registry.pol` instruction (attribution only; never a registry source).
    PolicyFile,
}

/// Where a value was read: file, form, the key path exactly as it appears in the source, value
/// name and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RegProvenance {
    /// Input path relative to the capture root.
    pub file: String,
    pub form: SourceForm,
    pub hive: HiveKind,
    /// Key path as it appears in the source (e.g. `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\…`
    /// in a text export, `ControlSet001\…` inside a SYSTEM hive).
    pub key: String,
    /// Value name; empty for the default (`@`) value.
    pub value: String,
    /// Registry type name (`REG_DWORD`, …) or `REG_0xNNNNNNNN` for unknown types.
    #[serde(rename = "type")]
    pub value_type: String,
}

/// Decoded registry data. Unknown types keep their raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegData {
    #[serde(rename = "REG_NONE")]
    None(Vec<u8>),
    #[serde(rename = "REG_SZ")]
    Sz(String),
    #[serde(rename = "REG_EXPAND_SZ")]
    ExpandSz(String),
    #[serde(rename = "REG_BINARY")]
    Binary(Vec<u8>),
    #[serde(rename = "REG_DWORD")]
    Dword(u32),
    #[serde(rename = "REG_DWORD_BIG_ENDIAN")]
    DwordBigEndian(u32),
    #[serde(rename = "REG_LINK")]
    Link(String),
    #[serde(rename = "REG_MULTI_SZ")]
    MultiSz(Vec<String>),
    #[serde(rename = "REG_QWORD")]
    Qword(u64),
    /// Any other type number (resource lists, or non-standard types such as 0xFFFF0012).
    #[serde(rename = "REG_OTHER")]
    Other { type_code: u32, bytes: Vec<u8> },
}

impl RegData {
    /// The registry type number.
    pub fn type_code(&self) -> u32 {
        match self {
            RegData::None(_) => 0,
            RegData::Sz(_) => 1,
            RegData::ExpandSz(_) => 2,
            RegData::Binary(_) => 3,
            RegData::Dword(_) => 4,
            RegData::DwordBigEndian(_) => 5,
            RegData::Link(_) => 6,
            RegData::MultiSz(_) => 7,
            RegData::Qword(_) => 11,
            RegData::Other { type_code, .. } => *type_code,
        }
    }

    /// The registry type name (`REG_DWORD`), or `REG_0xNNNNNNNN` for types without a name.
    pub fn type_name(&self) -> String {
        type_name(self.type_code())
    }

    /// A number, from DWORD/QWORD, or from a string of decimal digits (policy values written as
    /// REG_SZ, see reference §1.3). `None` for anything else.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            RegData::Dword(v) | RegData::DwordBigEndian(v) => Some(u64::from(*v)),
            RegData::Qword(v) => Some(*v),
            RegData::Sz(s) | RegData::ExpandSz(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A string, from SZ/EXPAND_SZ/LINK.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            RegData::Sz(s) | RegData::ExpandSz(s) | RegData::Link(s) => Some(s),
            _ => None,
        }
    }
}

/// Name of a registry type number.
pub fn type_name(code: u32) -> String {
    match code {
        0 => "REG_NONE".into(),
        1 => "REG_SZ".into(),
        2 => "REG_EXPAND_SZ".into(),
        3 => "REG_BINARY".into(),
        4 => "REG_DWORD".into(),
        5 => "REG_DWORD_BIG_ENDIAN".into(),
        6 => "REG_LINK".into(),
        7 => "REG_MULTI_SZ".into(),
        8 => "REG_RESOURCE_LIST".into(),
        9 => "REG_FULL_RESOURCE_DESCRIPTOR".into(),
        10 => "REG_RESOURCE_REQUIREMENTS_LIST".into(),
        11 => "REG_QWORD".into(),
        other => format!("REG_0x{other:08X}"),
    }
}

/// A value read from the evidence, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RegValue {
    pub data: RegData,
    pub provenance: RegProvenance,
}

/// Why something that exists could not be read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Unreadable {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub reason: String,
}

/// The answer to "what is at this place in the registry?". The four outcomes are deliberately
/// distinct: a setting resolver treats `NotProvided` and `Unreadable` as *unknown*, and only
/// `Absent` as "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lookup<T> {
    /// Present in the evidence.
    Found(T),
    /// The evidence covers this place and it is not there.
    Absent,
    /// The evidence covers this place but it could not be read (damaged key, bad cell…).
    Unreadable(Unreadable),
    /// No evidence covers this place (the hive was not provided, or a text export does not
    /// include this key).
    NotProvided { hive: HiveKind },
}

impl<T> Lookup<T> {
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_found(self) -> Option<T> {
        match self {
            Lookup::Found(v) => Some(v),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Lookup<U> {
        match self {
            Lookup::Found(v) => Lookup::Found(f(v)),
            Lookup::Absent => Lookup::Absent,
            Lookup::Unreadable(u) => Lookup::Unreadable(u),
            Lookup::NotProvided { hive } => Lookup::NotProvided { hive },
        }
    }
}

/// A key read from the evidence: its subkey names and values, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView {
    pub hive: HiveKind,
    /// The key's canonical path as asked (relative to the hive root).
    pub path: String,
    /// Input path relative to the capture root.
    pub file: String,
    pub form: SourceForm,
    /// Key path as it appears in the source (see [`RegProvenance::key`]).
    pub source_key: String,
    /// The key's last-written time (hive files only: the `nk` cell's FILETIME; text exports do not
    /// carry it). Evidence for "this policy key last changed at" (reference §2.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_written: Option<jiff::Timestamp>,
    /// Subkey names as spelled in the source, in source order (hives: registry order).
    pub subkeys: Vec<String>,
    /// Values in source order. The default value has an empty name.
    pub values: Vec<RegValue>,
    /// Values or subkeys of this key that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

impl KeyView {
    /// A value of this key by name, compared case-insensitively.
    pub fn value(&self, name: &str) -> Option<&RegValue> {
        self.values
            .iter()
            .find(|v| super::paths::name_eq(&v.provenance.value, name))
    }
}

impl<T> Lookup<T> {
    /// A non-`Found` outcome carried over to another value type; `Found` becomes `Absent`.
    /// Meant for propagating "not there" outcomes (`Absent`, `Unreadable`, `NotProvided`).
    pub fn cast<U>(self) -> Lookup<U> {
        match self {
            Lookup::Found(_) | Lookup::Absent => Lookup::Absent,
            Lookup::Unreadable(u) => Lookup::Unreadable(u),
            Lookup::NotProvided { hive } => Lookup::NotProvided { hive },
        }
    }

    pub fn is_found(&self) -> bool {
        matches!(self, Lookup::Found(_))
    }
}
