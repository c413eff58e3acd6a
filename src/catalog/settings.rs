//! The RDS settings catalogue as data: which settings exist, where each is stored in precedence
//! order, and what stored numbers mean — loaded strictly from the TSV files beside this module so
//! a fact can be corrected without touching the resolver (`crate::config`).
//!
//! Three embedded files:
//! - `settings.tsv`: one row per setting (kind, value-name table, unit, summary, source);
//! - `setting_sources.tsv`: one row per location of a setting, highest precedence first;
//! - `values.tsv`: value-name tables (`LicensingMode` 2 ⇒ Per Device, …).
//!
//! Loading is strict: exact headers, exact column counts, no empty cells (`-` means none), known
//! keywords only, no duplicates, every row with a source column that names reference IDs
//! (`S01`…`S60`) or says `UNCONFIRMED: …`, and cross-references checked (a setting's table must
//! exist, a source row's setting must exist, formats must suit the setting's kind).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Serialize;

use crate::evidence::HiveKind;

const SETTINGS_TSV: &str = include_str!("settings.tsv");
const SOURCES_TSV: &str = include_str!("setting_sources.tsv");
const VALUES_TSV: &str = include_str!("values.tsv");

/// A problem in a catalogue file, with the file and line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CatalogError {
    pub file: &'static str,
    /// 1-based line number (0 when the problem concerns the whole file).
    pub line: usize,
    pub message: String,
}

/// What kind of value a setting holds; decides how stored data is decoded and displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// A 0/1 switch (DWORD).
    Flag,
    /// A DWORD with named values.
    Enum,
    /// Milliseconds; 0 means no limit.
    DurationMs,
    /// An ordered list of server names.
    ServerList,
    /// A certificate thumbprint (REG_BINARY rendered as hex).
    Thumbprint,
    /// An on/off switch with an interval in minutes read beside it.
    KeepAlive,
    /// A plain number (a count, a port); the value table, if any, names special values.
    Count,
}

impl SettingKind {
    const ALL: &'static [(&'static str, SettingKind)] = &[
        ("flag", SettingKind::Flag),
        ("enum", SettingKind::Enum),
        ("duration_ms", SettingKind::DurationMs),
        ("server_list", SettingKind::ServerList),
        ("thumbprint", SettingKind::Thumbprint),
        ("keep_alive", SettingKind::KeepAlive),
        ("count", SettingKind::Count),
    ];
}

/// The precedence layers of reference §3.1, highest precedence first (the derived order is the
/// precedence order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A Security Options policy stored outside the RDS keys (FIPS algorithm policy).
    SecurityPolicy,
    /// Computer Group Policy under `SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`.
    Policy,
    /// The `RDP-Tcp` listener under `WinStations`.
    Listener,
    /// Server Manager / RDMS / WMI locations (`RCM\Licensing Core`, `TermService\Parameters`).
    ServerManager,
    /// Older locations kept for compatibility (UNCONFIRMED whether current Windows reads them).
    Legacy,
    /// Server-wide values directly under `Control\Terminal Server`.
    TerminalServer,
    /// The built-in default.
    Default,
}

impl SourceKind {
    const ALL: &'static [(&'static str, SourceKind)] = &[
        ("security_policy", SourceKind::SecurityPolicy),
        ("policy", SourceKind::Policy),
        ("listener", SourceKind::Listener),
        ("server_manager", SourceKind::ServerManager),
        ("legacy", SourceKind::Legacy),
        ("terminal_server", SourceKind::TerminalServer),
        ("default", SourceKind::Default),
    ];

    /// The name used in output (`policy`, `server_manager`, …).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("default")
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a location stores the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// A number: REG_DWORD/REG_QWORD, or decimal digits in a string (flagged as a type mismatch).
    Dword,
    /// A single string (REG_SZ/REG_EXPAND_SZ).
    String,
    /// A REG_SZ list separated by commas, order = priority.
    CommaList,
    /// A REG_MULTI_SZ list, order = priority.
    MultiSz,
    /// The names of the key's subkeys (legacy per-server subkeys).
    SubkeyNames,
    /// REG_BINARY rendered as upper-case hex.
    BinaryHex,
    /// The built-in default of a `default` row.
    Literal,
}

impl ValueFormat {
    const ALL: &'static [(&'static str, ValueFormat)] = &[
        ("dword", ValueFormat::Dword),
        ("string", ValueFormat::String),
        ("comma_list", ValueFormat::CommaList),
        ("multi_sz", ValueFormat::MultiSz),
        ("subkey_names", ValueFormat::SubkeyNames),
        ("binary_hex", ValueFormat::BinaryHex),
        ("literal", ValueFormat::Literal),
    ];

    fn suits(self, kind: SettingKind) -> bool {
        use SettingKind as K;
        use ValueFormat as F;
        matches!(
            (kind, self),
            (_, F::Literal)
                | (
                    K::Flag | K::Enum | K::DurationMs | K::KeepAlive | K::Count,
                    F::Dword
                )
                | (
                    K::ServerList,
                    F::CommaList | F::MultiSz | F::SubkeyNames | F::String
                )
                | (K::Thumbprint, F::BinaryHex)
        )
    }
}

/// What happens when a row's `applies_when` condition does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Otherwise {
    /// The row does not apply; precedence continues with the next row.
    Ignore,
    /// The per-user account setting (AD/SAM) applies instead, which offline evidence does not
    /// hold: the setting becomes unknown unless a higher row decided it.
    UserAccount,
}

/// Whether a row competes in precedence or is only reported beside the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Candidate,
    Related,
}

/// The `src` column: reference source IDs and/or an UNCONFIRMED statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Refs(String);

impl Refs {
    /// Split into the ID list and the UNCONFIRMED statement.
    fn parts(text: &str) -> (&str, Option<&str>) {
        if let Some(rest) = text.strip_prefix("UNCONFIRMED: ") {
            return ("", Some(rest));
        }
        match text.split_once("; UNCONFIRMED: ") {
            Some((ids, rest)) => (ids, Some(rest)),
            None => (text, None),
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Refs, String> {
        let (ids, unconfirmed) = Self::parts(text);
        if unconfirmed.is_some_and(|u| u.trim().is_empty()) || text.trim() == "UNCONFIRMED:" {
            return Err("UNCONFIRMED must say what is unknown".into());
        }
        if ids.is_empty() && unconfirmed.is_none() {
            return Err("empty source".into());
        }
        if !ids.is_empty() {
            for id in ids.split(", ") {
                let n = id
                    .strip_prefix('S')
                    .filter(|d| d.len() == 2)
                    .and_then(|d| d.parse::<u8>().ok())
                    .ok_or_else(|| {
                        format!("{id:?} is not a source ID (S01…S60, then optionally \"; UNCONFIRMED: …\")")
                    })?;
                // Reference §18 defines S01…S55 and S60.
                if !((1..=55).contains(&n) || n == 60) {
                    return Err(format!(
                        "{id:?} is not defined in the reference (S01…S55, S60)"
                    ));
                }
            }
        }
        Ok(Refs(text.to_string()))
    }

    /// The whole column text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The source IDs (`S01`, …) named.
    pub fn ids(&self) -> Vec<&str> {
        let (ids, _) = Self::parts(&self.0);
        if ids.is_empty() {
            Vec::new()
        } else {
            ids.split(", ").collect()
        }
    }

    /// The UNCONFIRMED statement, if any.
    pub fn unconfirmed(&self) -> Option<&str> {
        Self::parts(&self.0).1
    }
}

/// One named value of a value-name table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueName {
    pub code: u64,
    /// Stable snake_case name used in JSON.
    pub name: String,
    /// Human label.
    pub label: String,
    pub src: Refs,
}

/// A condition `Name=N` on another value of the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub value: String,
    pub equals: u64,
}

/// One location of a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDef {
    pub source: SourceKind,
    /// `None` for the default row.
    pub hive: Option<HiveKind>,
    /// Key path relative to the hive root (empty for the default row).
    pub path: String,
    /// Value name; for `subkey_names` a subkey name to ignore; for the default row the literal.
    pub value: Option<String>,
    pub format: ValueFormat,
    pub inverted: bool,
    pub applies_when: Option<Condition>,
    pub otherwise: Otherwise,
    /// The setting value this row stands for when it applies (literal text).
    pub maps_to: Option<String>,
    pub companion: Option<String>,
    pub role: Role,
    pub src: Refs,
    pub note: Option<String>,
    /// Line in `setting_sources.tsv`, for messages.
    pub line: usize,
}

/// One setting with its locations, highest precedence first (the last is the `default` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingDef {
    pub name: String,
    pub kind: SettingKind,
    pub values: Option<String>,
    pub unit: Option<String>,
    pub summary: String,
    pub src: Refs,
    pub sources: Vec<SourceDef>,
}

impl SettingDef {
    /// The `default` row (always present and last after loading).
    pub fn default_row(&self) -> Option<&SourceDef> {
        self.sources
            .last()
            .filter(|s| s.source == SourceKind::Default)
    }
}

/// The loaded catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsCatalog {
    /// In output order (the order of `settings.tsv`).
    pub settings: Vec<SettingDef>,
    pub tables: BTreeMap<String, Vec<ValueName>>,
}

impl SettingsCatalog {
    pub fn setting(&self, name: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn table(&self, name: &str) -> Option<&[ValueName]> {
        self.tables.get(name).map(Vec::as_slice)
    }

    /// The named value `code` of `table`.
    pub fn value_name(&self, table: &str, code: u64) -> Option<&ValueName> {
        self.table(table)?.iter().find(|v| v.code == code)
    }
}

/// The embedded catalogue. The embedded files are validated by this module's tests, so a build
/// that passes `cargo test` cannot fail here.
pub fn catalog() -> &'static SettingsCatalog {
    static CATALOG: OnceLock<SettingsCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        load(SETTINGS_TSV, SOURCES_TSV, VALUES_TSV)
            .unwrap_or_else(|e| panic!("embedded settings catalogue is invalid: {e}"))
    })
}

/// Load a catalogue from the three files' text (used for the embedded files and by tests that
/// check the loader rejects bad rows).
pub fn load(settings: &str, sources: &str, values: &str) -> Result<SettingsCatalog, CatalogError> {
    let tables = load_values(values)?;
    let mut settings = load_settings(settings, &tables)?;
    load_sources(sources, &mut settings, &tables)?;
    Ok(SettingsCatalog { settings, tables })
}

/// Rows of a TSV file: `#` lines are comments, the first other line must be `header`.
pub(crate) fn tsv_rows<'a>(
    file: &'static str,
    text: &'a str,
    header: &[&str],
) -> Result<Vec<(usize, Vec<&'a str>)>, CatalogError> {
    let err = |line, message: String| CatalogError {
        file,
        line,
        message,
    };
    let mut rows = Vec::new();
    let mut saw_header = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = raw.split('\t').collect();
        if !saw_header {
            if cells != header {
                return Err(err(
                    line,
                    format!("header must be {:?}, found {:?}", header.join("\t"), raw),
                ));
            }
            saw_header = true;
            continue;
        }
        if cells.len() != header.len() {
            return Err(err(
                line,
                format!(
                    "expected {} tab-separated columns, found {}",
                    header.len(),
                    cells.len()
                ),
            ));
        }
        if let Some((j, _)) = cells
            .iter()
            .enumerate()
            .find(|(_, c)| c.trim().is_empty() || c.trim() != **c)
        {
            return Err(err(
                line,
                format!(
                    "column {:?} is empty or has surrounding spaces (write - for none)",
                    header[j]
                ),
            ));
        }
        rows.push((line, cells));
    }
    if !saw_header {
        return Err(err(0, "no header line".into()));
    }
    Ok(rows)
}

fn keyword<T: Copy>(
    file: &'static str,
    line: usize,
    column: &str,
    text: &str,
    table: &[(&str, T)],
) -> Result<T, CatalogError> {
    table
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| CatalogError {
            file,
            line,
            message: format!(
                "unknown {column} {text:?}; expected one of: {}",
                table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })
}

fn opt(cell: &str) -> Option<String> {
    (cell != "-").then(|| cell.to_string())
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn load_values(text: &str) -> Result<BTreeMap<String, Vec<ValueName>>, CatalogError> {
    const FILE: &str = "values.tsv";
    let mut tables: BTreeMap<String, Vec<ValueName>> = BTreeMap::new();
    for (line, c) in tsv_rows(FILE, text, &["table", "code", "name", "label", "src"])? {
        let err = |message: String| CatalogError {
            file: FILE,
            line,
            message,
        };
        if !is_snake(c[0]) || !is_snake(c[2]) {
            return Err(err("table and name must be snake_case".into()));
        }
        let code: u64 = c[1]
            .parse()
            .map_err(|_| err(format!("code {:?} is not a decimal number", c[1])))?;
        let src = Refs::parse(c[4]).map_err(err)?;
        let table = tables.entry(c[0].to_string()).or_default();
        if table.iter().any(|v| v.code == code) {
            return Err(err(format!("duplicate code {code} in table {}", c[0])));
        }
        if table.iter().any(|v| v.name == c[2]) {
            return Err(err(format!("duplicate name {} in table {}", c[2], c[0])));
        }
        table.push(ValueName {
            code,
            name: c[2].to_string(),
            label: c[3].to_string(),
            src,
        });
    }
    Ok(tables)
}

fn load_settings(
    text: &str,
    tables: &BTreeMap<String, Vec<ValueName>>,
) -> Result<Vec<SettingDef>, CatalogError> {
    const FILE: &str = "settings.tsv";
    let mut out: Vec<SettingDef> = Vec::new();
    let header = ["setting", "kind", "values", "unit", "summary", "src"];
    for (line, c) in tsv_rows(FILE, text, &header)? {
        let err = |message: String| CatalogError {
            file: FILE,
            line,
            message,
        };
        if !is_snake(c[0]) {
            return Err(err(format!("setting name {:?} must be snake_case", c[0])));
        }
        if out.iter().any(|s| s.name == c[0]) {
            return Err(err(format!("duplicate setting {}", c[0])));
        }
        let kind = keyword(FILE, line, "kind", c[1], SettingKind::ALL)?;
        let values = opt(c[2]);
        match &values {
            Some(t) => {
                let table = tables
                    .get(t)
                    .ok_or_else(|| err(format!("unknown value table {t:?} (values.tsv)")))?;
                if matches!(kind, SettingKind::Flag | SettingKind::KeepAlive)
                    && !(table.iter().any(|v| v.code == 0) && table.iter().any(|v| v.code == 1))
                {
                    return Err(err(format!("flag table {t} must name codes 0 and 1")));
                }
            }
            None => {
                if matches!(
                    kind,
                    SettingKind::Flag | SettingKind::Enum | SettingKind::KeepAlive
                ) {
                    return Err(err("this kind needs a value table".into()));
                }
            }
        }
        let unit = opt(c[3]);
        if let Some(u) = &unit {
            if u != "ms" && u != "minutes" {
                return Err(err(format!(
                    "unknown unit {u:?}; expected ms, minutes or -"
                )));
            }
        }
        let src = Refs::parse(c[5]).map_err(err)?;
        out.push(SettingDef {
            name: c[0].to_string(),
            kind,
            values,
            unit,
            summary: c[4].to_string(),
            src,
            sources: Vec::new(),
        });
    }
    Ok(out)
}

/// Check that a literal (default row value or `maps_to`) suits the setting's kind.
fn check_literal(kind: SettingKind, table: Option<&[ValueName]>, text: &str) -> Result<(), String> {
    match kind {
        SettingKind::Flag | SettingKind::KeepAlive => {
            if text == "0" || text == "1" {
                Ok(())
            } else {
                Err(format!("literal {text:?} must be 0 or 1"))
            }
        }
        SettingKind::Enum => {
            let code: u64 = text
                .parse()
                .map_err(|_| format!("literal {text:?} is not a number"))?;
            if table.is_some_and(|t| t.iter().any(|v| v.code == code)) {
                Ok(())
            } else {
                Err(format!("literal {code} is not named in the value table"))
            }
        }
        SettingKind::DurationMs => text
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("literal {text:?} is not a number of milliseconds")),
        SettingKind::Count => text
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("literal {text:?} is not a number")),
        SettingKind::ServerList => Ok(()),
        SettingKind::Thumbprint => {
            if text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(())
            } else {
                Err(format!("literal {text:?} is not a 40-digit hex thumbprint"))
            }
        }
    }
}

fn load_sources(
    text: &str,
    settings: &mut [SettingDef],
    tables: &BTreeMap<String, Vec<ValueName>>,
) -> Result<(), CatalogError> {
    const FILE: &str = "setting_sources.tsv";
    let header = [
        "setting",
        "source",
        "hive",
        "path",
        "value",
        "format",
        "inverted",
        "applies_when",
        "otherwise",
        "maps_to",
        "companion",
        "role",
        "src",
        "note",
    ];
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    for (line, c) in tsv_rows(FILE, text, &header)? {
        let err = |message: String| CatalogError {
            file: FILE,
            line,
            message,
        };
        let name = c[0];
        if current.as_deref() != Some(name) {
            if let Some(prev) = current.take() {
                finished.insert(prev);
            }
            if finished.contains(name) {
                return Err(err(format!(
                    "rows of setting {name} must be contiguous (it appeared earlier)"
                )));
            }
            current = Some(name.to_string());
        }
        let def = settings
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| err(format!("unknown setting {name:?} (not in settings.tsv)")))?;
        if def.default_row().is_some() {
            return Err(err(format!(
                "setting {name}: rows after its default row (the default must be last)"
            )));
        }
        let source = keyword(FILE, line, "source", c[1], SourceKind::ALL)?;
        let role = keyword(
            FILE,
            line,
            "role",
            c[11],
            &[("candidate", Role::Candidate), ("related", Role::Related)],
        )?;
        let format = keyword(FILE, line, "format", c[5], ValueFormat::ALL)?;
        let related_raw =
            role == Role::Related && matches!(format, ValueFormat::Dword | ValueFormat::String);
        if !format.suits(def.kind) && !related_raw {
            return Err(err(format!(
                "format {} does not suit a {:?} setting",
                c[5], def.kind
            )));
        }
        let inverted = match c[6] {
            "yes" => true,
            "no" => false,
            other => return Err(err(format!("inverted must be yes or no, found {other:?}"))),
        };
        if inverted && def.kind != SettingKind::Flag {
            return Err(err("only flag settings can be inverted".into()));
        }
        let src = Refs::parse(c[12]).map_err(err)?;
        let note = opt(c[13]);
        let table = def
            .values
            .as_deref()
            .and_then(|t| tables.get(t))
            .map(Vec::as_slice);

        let is_default = source == SourceKind::Default;
        let hive = match (is_default, c[2]) {
            (true, "-") => None,
            (true, other) => {
                return Err(err(format!(
                    "default row must have hive -, found {other:?}"
                )))
            }
            (false, "SOFTWARE") => Some(HiveKind::Software),
            (false, "SYSTEM") => Some(HiveKind::System),
            (false, "NTUSER") if role == Role::Related => Some(HiveKind::NtUser),
            (false, "NTUSER") => {
                return Err(err(
                    "NTUSER locations are per user: only role related is allowed".into(),
                ))
            }
            (false, other) => {
                return Err(err(format!(
                "unknown hive {other:?}; expected SOFTWARE, SYSTEM or NTUSER (related rows only)"
            )))
            }
        };
        let path = match (is_default, c[3]) {
            (true, "-") => String::new(),
            (true, _) => return Err(err("default row must have path -".into())),
            (false, p) => {
                if p == "-" || p.starts_with('\\') || p.ends_with('\\') || p.contains("\\\\") {
                    return Err(err(format!("bad key path {p:?}")));
                }
                if p.to_ascii_uppercase().starts_with("HKEY")
                    || p.to_ascii_uppercase().starts_with("HKLM")
                {
                    return Err(err("key path must be relative to the hive root".into()));
                }
                p.to_string()
            }
        };
        let value = opt(c[4]);
        if is_default {
            if format != ValueFormat::Literal || role != Role::Candidate {
                return Err(err(
                    "default row must have format literal and role candidate".into(),
                ));
            }
            if let Some(v) = &value {
                check_literal(def.kind, table, v).map_err(err)?;
            } else if note.is_none() {
                return Err(err(
                    "default row without a value needs a note (its display text)".into(),
                ));
            }
        } else {
            if format == ValueFormat::Literal {
                return Err(err("format literal is only for default rows".into()));
            }
            if value.is_none() && format != ValueFormat::SubkeyNames {
                return Err(err("value name required (- only for subkey_names)".into()));
            }
            // The same value may serve two settings (FIPS), but one setting reads it once.
            if def.sources.iter().any(|s| {
                s.hive == hive
                    && s.format == format
                    && s.path.eq_ignore_ascii_case(&path)
                    && s.value.as_deref().map(str::to_ascii_lowercase)
                        == value.as_deref().map(str::to_ascii_lowercase)
            }) {
                return Err(err(format!("duplicate location for setting {name}")));
            }
        }
        let applies_when = match c[7] {
            "-" => None,
            cond => {
                let (v, n) = cond
                    .split_once('=')
                    .ok_or_else(|| err(format!("applies_when {cond:?} must be Name=N")))?;
                let equals = n
                    .parse()
                    .map_err(|_| err(format!("applies_when {cond:?}: N must be a number")))?;
                Some(Condition {
                    value: v.to_string(),
                    equals,
                })
            }
        };
        let otherwise = match (c[8], applies_when.is_some()) {
            ("-", false) => Otherwise::Ignore,
            ("ignore", true) => Otherwise::Ignore,
            ("user_account", true) => Otherwise::UserAccount,
            ("-", true) => {
                return Err(err(
                    "applies_when needs otherwise (ignore or user_account)".into()
                ))
            }
            (o, false) => return Err(err(format!("otherwise {o:?} without applies_when"))),
            (o, true) => {
                return Err(err(format!(
                    "unknown otherwise {o:?}; expected ignore or user_account"
                )))
            }
        };
        if is_default && applies_when.is_some() {
            return Err(err("default row cannot have applies_when".into()));
        }
        let maps_to = opt(c[9]);
        if let Some(m) = &maps_to {
            if is_default {
                return Err(err(
                    "default row cannot have maps_to (put the value in value)".into(),
                ));
            }
            check_literal(def.kind, table, m).map_err(err)?;
        }
        let companion = opt(c[10]);
        if companion.is_some()
            != (def.kind == SettingKind::KeepAlive
                && source != SourceKind::Default
                && role == Role::Candidate)
        {
            return Err(err(
                "companion is required for keep_alive candidate rows and allowed nowhere else"
                    .into(),
            ));
        }
        if role == Role::Candidate && !is_default {
            if let Some(prev) = def.sources.iter().rev().find(|s| s.role == Role::Candidate) {
                if prev.source > source {
                    return Err(err(format!(
                        "precedence order: {} cannot follow {} (order: {})",
                        source.name(),
                        prev.source.name(),
                        SourceKind::ALL
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(" > ")
                    )));
                }
            }
        }
        def.sources.push(SourceDef {
            source,
            hive,
            path,
            value,
            format,
            inverted,
            applies_when,
            otherwise,
            maps_to,
            companion,
            role,
            src,
            note,
            line,
        });
    }
    for def in settings.iter() {
        if def.default_row().is_none() {
            return Err(CatalogError {
                file: FILE,
                line: 0,
                message: format!(
                    "setting {} has no default row (it must end with one)",
                    def.name
                ),
            });
        }
        if !def
            .sources
            .iter()
            .any(|s| s.role == Role::Candidate && s.source != SourceKind::Default)
        {
            return Err(CatalogError {
                file: FILE,
                line: 0,
                message: format!("setting {} has no location to read", def.name),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_loads() {
        let c = load(SETTINGS_TSV, SOURCES_TSV, VALUES_TSV).unwrap();
        assert!(c.settings.len() >= 14);
        for name in [
            "licensing_mode",
            "license_servers",
            "keep_alive",
            "auto_reconnect",
            "max_disconnection_time",
            "max_idle_time",
            "max_connection_time",
            "reset_broken",
            "security_layer",
            "min_encryption_level",
            "user_authentication",
            "fips_algorithm_policy",
            "deny_connections",
            "certificate",
        ] {
            assert!(c.setting(name).is_some(), "{name}");
        }
        assert_eq!(c.value_name("licensing_mode", 4).unwrap().name, "per_user");
    }

    fn with_sources(rows: &str) -> Result<SettingsCatalog, CatalogError> {
        let settings =
            "setting\tkind\tvalues\tunit\tsummary\tsrc\nmode\tenum\tlicensing_mode\t-\tx\tS01\n";
        let header = "setting\tsource\thive\tpath\tvalue\tformat\tinverted\tapplies_when\totherwise\tmaps_to\tcompanion\trole\tsrc\tnote\n";
        load(settings, &format!("{header}{rows}"), VALUES_TSV)
    }

    const POL: &str =
        "mode\tpolicy\tSOFTWARE\tA\\B\tLicensingMode\tdword\tno\t-\t-\t-\t-\tcandidate\tS01\t-\n";
    const SM: &str = "mode\tserver_manager\tSYSTEM\tC\\D\tLicensingMode\tdword\tno\t-\t-\t-\t-\tcandidate\tS14\t-\n";
    const DEF: &str =
        "mode\tdefault\t-\t-\t-\tliteral\tno\t-\t-\t-\t-\tcandidate\tS14\tnot configured\n";

    #[test]
    fn minimal_catalogue_loads() {
        let c = with_sources(&format!("{POL}{SM}{DEF}")).unwrap();
        assert_eq!(c.settings[0].sources.len(), 3);
    }

    #[test]
    fn rejects_bad_rows() {
        let cases: Vec<(String, &str)> = vec![
            (format!("{SM}{POL}{DEF}"), "precedence order"),
            (format!("{POL}{SM}"), "no default row"),
            (format!("{POL}{POL}{DEF}"), "duplicate location"),
            (format!("{POL}{DEF}{SM}"), "after its default row"),
            (format!("{POL}{}{DEF}", SM.replace("S14", "")), "empty"),
            (
                format!("{POL}{}{DEF}", SM.replace("S14", "S99")),
                "not defined",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("S14", "S57")),
                "not defined",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("S14", "maybe")),
                "not a source ID",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("S14", "UNCONFIRMED: ")),
                "empty",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("server_manager", "registry")),
                "unknown source",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("SYSTEM", "NTUSER")),
                "only role related",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("SYSTEM", "SAM")),
                "unknown hive",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("dword", "multi_sz")),
                "does not suit",
            ),
            (
                format!("{POL}{SM}{}", DEF.replace("\t-\tliteral", "\t9\tliteral")),
                "not named",
            ),
            (
                format!("{POL}{SM}{}", DEF.replace("not configured", "-")),
                "needs a note",
            ),
            (
                format!("{}{SM}{DEF}", POL.replace("mode\t", "other\t")),
                "unknown setting",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("\tno\t", "\tmaybe\t")),
                "inverted must be",
            ),
            (
                format!(
                    "{POL}{}{DEF}",
                    SM.replace("\t-\t-\t-\t-\tcandidate", "\tX\t-\t-\t-\tcandidate")
                ),
                "must be Name=N",
            ),
            (
                format!(
                    "{POL}{}{DEF}",
                    SM.replace("\t-\t-\t-\t-\tcandidate", "\t-\tignore\t-\t-\tcandidate")
                ),
                "without applies_when",
            ),
            (
                format!(
                    "{POL}{}{DEF}",
                    SM.replace("\t-\tcandidate", "\tInterval\tcandidate")
                ),
                "companion",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("C\\D", "HKLM\\C")),
                "relative",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("\tS14\t-", "\tS14")),
                "columns",
            ),
        ];
        for (rows, want) in cases {
            let e = with_sources(&rows).expect_err(want);
            assert!(
                e.to_string().contains(want),
                "expected {want:?}, got {e} for\n{rows}"
            );
        }
    }

    #[test]
    fn rejects_bad_settings_and_values() {
        let vhdr = "table\tcode\tname\tlabel\tsrc\n";
        let e = load_values(&format!("{vhdr}t\t1\ta\tA\tS01\nt\t1\tb\tB\tS01\n")).unwrap_err();
        assert!(e.message.contains("duplicate code"), "{e}");
        let e = load_values(&format!("{vhdr}t\t1\ta\tA\tS01\nt\t2\ta\tB\tS01\n")).unwrap_err();
        assert!(e.message.contains("duplicate name"), "{e}");
        let e = load_values("table\tcode\n").unwrap_err();
        assert!(e.message.contains("header"), "{e}");
        let tables = load_values(VALUES_TSV).unwrap();
        let shdr = "setting\tkind\tvalues\tunit\tsummary\tsrc\n";
        let e = load_settings(&format!("{shdr}a\tflag\t-\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.message.contains("needs a value table"), "{e}");
        let e = load_settings(&format!("{shdr}a\tflag\tnope\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.message.contains("unknown value table"), "{e}");
        let e = load_settings(&format!("{shdr}a\tflagg\tfips\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.message.contains("unknown kind"), "{e}");
        let e = load_settings(
            &format!("{shdr}a\tflag\tfips\t-\tx\tS01\na\tflag\tfips\t-\tx\tS01\n"),
            &tables,
        )
        .unwrap_err();
        assert!(e.message.contains("duplicate setting"), "{e}");
        assert!(load_settings(
            &format!("{shdr}a\tenum\tsecurity_layer\t-\tx\tS01\n"),
            &tables
        )
        .is_ok());
    }

    #[test]
    fn refs_parse() {
        let r = Refs::parse("S01, S14; UNCONFIRMED: x").unwrap();
        assert_eq!(r.ids(), vec!["S01", "S14"]);
        assert_eq!(r.unconfirmed(), Some("x"));
        let r = Refs::parse("UNCONFIRMED: y").unwrap();
        assert!(r.ids().is_empty());
        assert!(Refs::parse("S1").is_err());
        assert!(Refs::parse("S01; S02").is_err());
    }

    #[test]
    fn every_row_cites_a_source() {
        for s in &catalog().settings {
            assert!(!s.src.as_str().is_empty());
            for row in &s.sources {
                assert!(!row.src.as_str().is_empty(), "{}:{}", s.name, row.line);
            }
        }
    }
}
