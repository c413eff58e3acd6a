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

use super::table::{Key, Row, Schema, TableError};

const SETTINGS_TSV: &str = include_str!("settings.tsv");
const SOURCES_TSV: &str = include_str!("setting_sources.tsv");
const VALUES_TSV: &str = include_str!("values.tsv");

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

pub use super::sources::Refs;

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
pub fn load(settings: &str, sources: &str, values: &str) -> Result<SettingsCatalog, TableError> {
    let tables = load_values(values)?;
    let mut settings = load_settings(settings, &tables)?;
    load_sources(sources, &mut settings, &tables)?;
    Ok(SettingsCatalog { settings, tables })
}

/// The declaration of `values.tsv`.
static VALUES: Schema = Schema {
    table: "values.tsv",
    columns: &["table", "code", "name", "label", "src"],
    keys: &[
        Key {
            name: "code",
            columns: &["table", "code"],
        },
        Key {
            name: "name",
            columns: &["table", "name"],
        },
    ],
};

/// The declaration of `settings.tsv`.
static SETTINGS: Schema = Schema {
    table: "settings.tsv",
    columns: &["setting", "kind", "values", "unit", "summary", "src"],
    keys: &[Key {
        name: "setting",
        columns: &["setting"],
    }],
};

/// The declaration of `setting_sources.tsv` (no key: a location is unique per setting, which
/// [`check_location_unique`] compares case-insensitively).
static SOURCES: Schema = Schema {
    table: "setting_sources.tsv",
    columns: &[
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
    ],
    keys: &[],
};

/// The `src` column of a row.
fn refs(row: &Row<'_>) -> Result<Refs, TableError> {
    Refs::parse(row.str("src")).map_err(|m| row.error("src", m))
}

fn opt(row: &Row<'_>, column: &str) -> Option<String> {
    row.opt(column).map(str::to_string)
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn load_values(text: &str) -> Result<BTreeMap<String, Vec<ValueName>>, TableError> {
    let mut tables: BTreeMap<String, Vec<ValueName>> = BTreeMap::new();
    for row in VALUES.rows(text)? {
        for column in ["table", "name"] {
            if !is_snake(row.str(column)) {
                return Err(row.error(column, "table and name must be snake_case"));
            }
        }
        let code: u64 = row.parse("code", "a decimal number")?;
        let src = refs(&row)?;
        tables
            .entry(row.str("table").to_string())
            .or_default()
            .push(ValueName {
                code,
                name: row.str("name").to_string(),
                label: row.str("label").to_string(),
                src,
            });
    }
    Ok(tables)
}

fn load_settings(
    text: &str,
    tables: &BTreeMap<String, Vec<ValueName>>,
) -> Result<Vec<SettingDef>, TableError> {
    let mut out: Vec<SettingDef> = Vec::new();
    for row in SETTINGS.rows(text)? {
        let name = row.str("setting");
        if !is_snake(name) {
            return Err(row.error("setting", format!("{name:?} must be snake_case")));
        }
        let kind = row.keyword("kind", SettingKind::ALL)?;
        let values = opt(&row, "values");
        match &values {
            Some(t) => {
                let table = tables.get(t).ok_or_else(|| {
                    row.error("values", format!("unknown value table {t:?} (values.tsv)"))
                })?;
                if matches!(kind, SettingKind::Flag | SettingKind::KeepAlive)
                    && !(table.iter().any(|v| v.code == 0) && table.iter().any(|v| v.code == 1))
                {
                    return Err(
                        row.error("values", format!("flag table {t} must name codes 0 and 1"))
                    );
                }
            }
            None => {
                if matches!(
                    kind,
                    SettingKind::Flag | SettingKind::Enum | SettingKind::KeepAlive
                ) {
                    return Err(row.error("values", "this kind needs a value table"));
                }
            }
        }
        let unit = opt(&row, "unit");
        if let Some(u) = &unit {
            if u != "ms" && u != "minutes" {
                return Err(row.error(
                    "unit",
                    format!("unknown unit {u:?}; expected ms, minutes or -"),
                ));
            }
        }
        out.push(SettingDef {
            name: name.to_string(),
            kind,
            values,
            unit,
            summary: row.str("summary").to_string(),
            src: refs(&row)?,
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
) -> Result<(), TableError> {
    let mut order = Contiguous::default();
    for row in SOURCES.rows(text)? {
        let name = row.str("setting");
        order.check(&row, name)?;
        let def = settings
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                row.error(
                    "setting",
                    format!("unknown setting {name:?} (not in settings.tsv)"),
                )
            })?;
        if def.default_row().is_some() {
            return Err(row.row_error(format!(
                "setting {name}: rows after its default row (the default must be last)"
            )));
        }
        let table = def
            .values
            .as_deref()
            .and_then(|t| tables.get(t))
            .map(Vec::as_slice);
        let source = read_source_row(&row, def, table)?;
        def.sources.push(source);
    }
    check_every_setting_located(settings)
}

/// The rows of one setting must be contiguous.
#[derive(Default)]
struct Contiguous {
    finished: BTreeSet<String>,
    current: Option<String>,
}

impl Contiguous {
    fn check(&mut self, row: &Row<'_>, name: &str) -> Result<(), TableError> {
        if self.current.as_deref() == Some(name) {
            return Ok(());
        }
        if let Some(prev) = self.current.take() {
            self.finished.insert(prev);
        }
        if self.finished.contains(name) {
            return Err(row.error(
                "setting",
                format!("rows of setting {name} must be contiguous (it appeared earlier)"),
            ));
        }
        self.current = Some(name.to_string());
        Ok(())
    }
}

/// One row of `setting_sources.tsv` for `def`, checked against the setting it locates.
fn read_source_row(
    row: &Row<'_>,
    def: &SettingDef,
    table: Option<&[ValueName]>,
) -> Result<SourceDef, TableError> {
    let source = row.keyword("source", SourceKind::ALL)?;
    let role = row.keyword(
        "role",
        &[("candidate", Role::Candidate), ("related", Role::Related)],
    )?;
    let format = read_format(row, def.kind, role)?;
    let inverted = row.yes_no("inverted")?;
    if inverted && def.kind != SettingKind::Flag {
        return Err(row.error("inverted", "only flag settings can be inverted"));
    }
    let src = refs(row)?;
    let note = opt(row, "note");
    let is_default = source == SourceKind::Default;
    let hive = read_hive(row, is_default, role)?;
    let path = read_path(row, is_default)?;
    let value = opt(row, "value");
    if is_default {
        check_default_row(row, def.kind, table, format, role, value.as_deref(), &note)?;
    } else {
        check_location(row, def, format, hive, &path, value.as_deref())?;
    }
    let (applies_when, otherwise) = read_condition(row)?;
    if is_default && applies_when.is_some() {
        return Err(row.error("applies_when", "default row cannot have applies_when"));
    }
    let maps_to = read_maps_to(row, def.kind, table, is_default)?;
    let companion = opt(row, "companion");
    if companion.is_some()
        != (def.kind == SettingKind::KeepAlive && !is_default && role == Role::Candidate)
    {
        return Err(row.error(
            "companion",
            "companion is required for keep_alive candidate rows and allowed nowhere else",
        ));
    }
    if role == Role::Candidate && !is_default {
        check_precedence(row, def, source)?;
    }
    Ok(SourceDef {
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
        line: row.line,
    })
}

/// The `format` column, which must suit the setting's kind (related rows may also be read raw).
fn read_format(row: &Row<'_>, kind: SettingKind, role: Role) -> Result<ValueFormat, TableError> {
    let format = row.keyword("format", ValueFormat::ALL)?;
    let related_raw =
        role == Role::Related && matches!(format, ValueFormat::Dword | ValueFormat::String);
    if !format.suits(kind) && !related_raw {
        return Err(row.error(
            "format",
            format!(
                "format {} does not suit a {kind:?} setting",
                row.str("format")
            ),
        ));
    }
    Ok(format)
}

/// The `hive` column: `-` for the default row, else SOFTWARE, SYSTEM, or NTUSER (related only).
fn read_hive(row: &Row<'_>, is_default: bool, role: Role) -> Result<Option<HiveKind>, TableError> {
    let err = |message: String| Err(row.error("hive", message));
    match (is_default, row.str("hive")) {
        (true, "-") => Ok(None),
        (true, other) => err(format!("default row must have hive -, found {other:?}")),
        (false, "SOFTWARE") => Ok(Some(HiveKind::Software)),
        (false, "SYSTEM") => Ok(Some(HiveKind::System)),
        (false, "NTUSER") if role == Role::Related => Ok(Some(HiveKind::NtUser)),
        (false, "NTUSER") => {
            err("NTUSER locations are per user: only role related is allowed".into())
        }
        (false, other) => err(format!(
            "unknown hive {other:?}; expected SOFTWARE, SYSTEM or NTUSER (related rows only)"
        )),
    }
}

/// The `path` column: `-` for the default row, else a key path relative to the hive root.
fn read_path(row: &Row<'_>, is_default: bool) -> Result<String, TableError> {
    let p = row.str("path");
    if is_default {
        return match p {
            "-" => Ok(String::new()),
            _ => Err(row.error("path", "default row must have path -")),
        };
    }
    if p == "-" || p.starts_with('\\') || p.ends_with('\\') || p.contains("\\\\") {
        return Err(row.error("path", format!("bad key path {p:?}")));
    }
    let upper = p.to_ascii_uppercase();
    if upper.starts_with("HKEY") || upper.starts_with("HKLM") {
        return Err(row.error("path", "key path must be relative to the hive root"));
    }
    Ok(p.to_string())
}

/// The default row: format literal, role candidate, and a literal that suits the kind or a note
/// that says what the default is.
fn check_default_row(
    row: &Row<'_>,
    kind: SettingKind,
    table: Option<&[ValueName]>,
    format: ValueFormat,
    role: Role,
    value: Option<&str>,
    note: &Option<String>,
) -> Result<(), TableError> {
    if format != ValueFormat::Literal || role != Role::Candidate {
        return Err(row.row_error("default row must have format literal and role candidate"));
    }
    match value {
        Some(v) => check_literal(kind, table, v).map_err(|m| row.error("value", m)),
        None if note.is_none() => Err(row.error(
            "note",
            "default row without a value needs a note (its display text)",
        )),
        None => Ok(()),
    }
}

/// A location row: a value name (unless subkey names are read), read once per setting.
fn check_location(
    row: &Row<'_>,
    def: &SettingDef,
    format: ValueFormat,
    hive: Option<HiveKind>,
    path: &str,
    value: Option<&str>,
) -> Result<(), TableError> {
    if format == ValueFormat::Literal {
        return Err(row.error("format", "format literal is only for default rows"));
    }
    if value.is_none() && format != ValueFormat::SubkeyNames {
        return Err(row.error("value", "value name required (- only for subkey_names)"));
    }
    // The same value may serve two settings (FIPS), but one setting reads it once.
    if def.sources.iter().any(|s| {
        s.hive == hive
            && s.format == format
            && s.path.eq_ignore_ascii_case(path)
            && s.value.as_deref().map(str::to_ascii_lowercase) == value.map(str::to_ascii_lowercase)
    }) {
        return Err(row.row_error(format!("duplicate location for setting {}", def.name)));
    }
    Ok(())
}

/// The `applies_when` condition (`Name=N`) and what happens when it does not hold.
fn read_condition(row: &Row<'_>) -> Result<(Option<Condition>, Otherwise), TableError> {
    let applies_when = match row.opt("applies_when") {
        None => None,
        Some(cond) => {
            let bad =
                |what: &str| row.error("applies_when", format!("applies_when {cond:?}{what}"));
            let (v, n) = cond.split_once('=').ok_or_else(|| bad(" must be Name=N"))?;
            let equals = n.parse().map_err(|_| bad(": N must be a number"))?;
            Some(Condition {
                value: v.to_string(),
                equals,
            })
        }
    };
    let err = |message: String| Err(row.error("otherwise", message));
    let otherwise = match (row.str("otherwise"), applies_when.is_some()) {
        ("-", false) | ("ignore", true) => Otherwise::Ignore,
        ("user_account", true) => Otherwise::UserAccount,
        ("-", true) => return err("applies_when needs otherwise (ignore or user_account)".into()),
        (o, false) => return err(format!("otherwise {o:?} without applies_when")),
        (o, true) => {
            return err(format!(
                "unknown otherwise {o:?}; expected ignore or user_account"
            ))
        }
    };
    Ok((applies_when, otherwise))
}

/// The `maps_to` literal: not on the default row, and suiting the kind.
fn read_maps_to(
    row: &Row<'_>,
    kind: SettingKind,
    table: Option<&[ValueName]>,
    is_default: bool,
) -> Result<Option<String>, TableError> {
    let Some(m) = row.opt("maps_to") else {
        return Ok(None);
    };
    if is_default {
        return Err(row.error(
            "maps_to",
            "default row cannot have maps_to (put the value in value)",
        ));
    }
    check_literal(kind, table, m).map_err(|e| row.error("maps_to", e))?;
    Ok(Some(m.to_string()))
}

/// Candidate rows are listed in precedence order.
fn check_precedence(row: &Row<'_>, def: &SettingDef, source: SourceKind) -> Result<(), TableError> {
    let Some(prev) = def.sources.iter().rev().find(|s| s.role == Role::Candidate) else {
        return Ok(());
    };
    if prev.source <= source {
        return Ok(());
    }
    Err(row.error(
        "source",
        format!(
            "precedence order: {} cannot follow {} (order: {})",
            source.name(),
            prev.source.name(),
            SourceKind::ALL
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" > ")
        ),
    ))
}

/// Every setting ends with a default row and has at least one location to read.
fn check_every_setting_located(settings: &[SettingDef]) -> Result<(), TableError> {
    for def in settings {
        if def.default_row().is_none() {
            return Err(SOURCES.error(format!(
                "setting {} has no default row (it must end with one)",
                def.name
            )));
        }
        if !def
            .sources
            .iter()
            .any(|s| s.role == Role::Candidate && s.source != SourceKind::Default)
        {
            return Err(SOURCES.error(format!("setting {} has no location to read", def.name)));
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

    fn with_sources(rows: &str) -> Result<SettingsCatalog, TableError> {
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
                "not a source ID defined",
            ),
            (
                format!("{POL}{}{DEF}", SM.replace("S14", "S57")),
                "not a source ID defined",
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
                "column inverted: must be yes or no",
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
        assert!(e.to_string().contains("duplicate code"), "{e}");
        let e = load_values(&format!("{vhdr}t\t1\ta\tA\tS01\nt\t2\ta\tB\tS01\n")).unwrap_err();
        assert!(e.to_string().contains("duplicate name"), "{e}");
        let e = load_values("table\tcode\n").unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
        let tables = load_values(VALUES_TSV).unwrap();
        let shdr = "setting\tkind\tvalues\tunit\tsummary\tsrc\n";
        let e = load_settings(&format!("{shdr}a\tflag\t-\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.to_string().contains("needs a value table"), "{e}");
        let e = load_settings(&format!("{shdr}a\tflag\tnope\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.to_string().contains("unknown value table"), "{e}");
        let e = load_settings(&format!("{shdr}a\tflagg\tfips\t-\tx\tS01\n"), &tables).unwrap_err();
        assert!(e.to_string().contains("unknown kind"), "{e}");
        let e = load_settings(
            &format!("{shdr}a\tflag\tfips\t-\tx\tS01\na\tflag\tfips\t-\tx\tS01\n"),
            &tables,
        )
        .unwrap_err();
        assert!(e.to_string().contains("duplicate setting"), "{e}");
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
