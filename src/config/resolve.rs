//! Resolution: walk each catalogued setting's locations in precedence order, decode what the
//! evidence holds, and decide the winner, what it shadows, and what is unknown. The code knows no
//! particular setting; every fact (locations, order, inversions, conditions, defaults, value
//! names) comes from `crate::catalog::settings`.

use crate::catalog::settings::{
    catalog, Otherwise, Role, SettingDef, SettingKind, SettingsCatalog, SourceDef, SourceKind,
    ValueFormat,
};
use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegData, RegProvenance, RegValue};

use super::model::{
    Related, Setting, SettingState, SettingValue, Settings, Shadowed, UnknownReason, UnknownSource,
};
use super::source::RegistrySource;

/// Resolve every catalogued setting from a capture's registry evidence.
pub fn resolve<S: RegistrySource + ?Sized>(source: &S) -> Settings {
    resolve_with(source, catalog())
}

/// Resolve with an explicit catalogue (tests use small catalogues).
pub fn resolve_with<S: RegistrySource + ?Sized>(source: &S, cat: &SettingsCatalog) -> Settings {
    Settings {
        settings: cat
            .settings
            .iter()
            .map(|def| resolve_setting(source, cat, def))
            .collect(),
    }
}

/// What one location contributes.
enum Outcome {
    Found {
        value: SettingValue,
        provenance: Vec<RegProvenance>,
        notes: Vec<String>,
    },
    NotSet {
        notes: Vec<String>,
    },
    Unknown {
        reason: UnknownReason,
        detail: String,
    },
}

/// `SOFTWARE\Policies\…\LicenseServers` style location text for messages.
fn location(row: &SourceDef, name: Option<&str>) -> String {
    let hive = row.hive.map(HiveKind::name).unwrap_or("-");
    match name {
        Some(n) => format!("{hive}\\{}\\{n}", row.path),
        None => format!("{hive}\\{}", row.path),
    }
}

fn unknown_from<S: RegistrySource + ?Sized, T>(
    src: &S,
    lookup: &Lookup<T>,
    row: &SourceDef,
) -> Option<Outcome> {
    match lookup {
        Lookup::NotProvided { hive } => Some(Outcome::Unknown {
            reason: UnknownReason::NotProvided,
            detail: if src.provides(*hive) {
                format!(
                    "the {hive} evidence provided does not include {}",
                    location(row, None)
                )
            } else {
                format!("{hive} hive not provided")
            },
        }),
        Lookup::Unreadable(u) => Some(Outcome::Unknown {
            reason: UnknownReason::Unreadable,
            detail: format!(
                "{} unreadable in {}: {}",
                location(row, None),
                u.file,
                u.reason
            ),
        }),
        _ => None,
    }
}

/// A number from DWORD/QWORD, or from decimal digits in a string (noted as a type mismatch).
fn number(v: &RegValue, notes: &mut Vec<String>) -> Option<u64> {
    match &v.data {
        RegData::Dword(_) | RegData::DwordBigEndian(_) | RegData::Qword(_) => v.data.as_u64(),
        RegData::Sz(s) | RegData::ExpandSz(s) => {
            let n = v.data.as_u64()?;
            notes.push(format!(
                "{}\\{} is {} {:?}, read as the number {n} (type mismatch; the ADMX writes REG_SZ \"0\" for some disabled time limits)",
                v.provenance.key,
                v.provenance.value,
                v.data.type_name(),
                s
            ));
            Some(n)
        }
        _ => None,
    }
}

fn wrong_type(v: &RegValue, expected: &str) -> Outcome {
    Outcome::NotSet {
        notes: vec![format!(
            "{}\\{} has type {}, expected {expected}: ignored (UNCONFIRMED how Windows treats it)",
            v.provenance.key,
            v.provenance.value,
            v.data.type_name()
        )],
    }
}

/// Parse a catalogue literal (default value or `maps_to`) for a setting.
fn literal(cat: &SettingsCatalog, def: &SettingDef, text: &str) -> Option<SettingValue> {
    match def.kind {
        SettingKind::Flag => match text {
            "0" => Some(SettingValue::Flag(false)),
            "1" => Some(SettingValue::Flag(true)),
            _ => None,
        },
        SettingKind::KeepAlive => match text {
            "0" => Some(SettingValue::KeepAlive {
                enabled: false,
                interval_minutes: None,
            }),
            "1" => Some(SettingValue::KeepAlive {
                enabled: true,
                interval_minutes: None,
            }),
            _ => None,
        },
        SettingKind::Enum => text.parse().ok().map(|code| enum_value(cat, def, code)),
        SettingKind::DurationMs => text.parse().ok().map(SettingValue::DurationMs),
        SettingKind::Count => text.parse().ok().map(SettingValue::Count),
        SettingKind::ServerList => Some(SettingValue::ServerList(split_list(text, ','))),
        SettingKind::Thumbprint => Some(SettingValue::Thumbprint(text.to_ascii_uppercase())),
    }
}

fn enum_value(cat: &SettingsCatalog, def: &SettingDef, code: u64) -> SettingValue {
    let name = def
        .values
        .as_deref()
        .and_then(|t| cat.value_name(t, code))
        .map(|v| v.name.clone());
    SettingValue::Enum { code, name }
}

fn split_list(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Read one candidate location.
fn read_row<S: RegistrySource + ?Sized>(
    src: &S,
    cat: &SettingsCatalog,
    def: &SettingDef,
    row: &SourceDef,
) -> Outcome {
    let Some(hive) = row.hive else {
        return Outcome::NotSet { notes: Vec::new() };
    };
    let mut notes = Vec::new();

    // The row's condition comes first: a listener that defers to the user account makes the
    // setting unknown whether or not it also holds a value.
    if let Some(stop) = check_condition(src, row, hive, &mut notes) {
        return stop;
    }
    if row.format == ValueFormat::SubkeyNames {
        return read_subkey_names(src, row, hive, notes);
    }

    let Some(name) = row.value.as_deref() else {
        return Outcome::NotSet { notes };
    };
    let lookup = src.value(hive, &row.path, name);
    if let Some(u) = unknown_from(src, &lookup, row) {
        return u;
    }
    let Lookup::Found(v) = lookup else {
        return Outcome::NotSet { notes };
    };
    let mut provenance = vec![v.provenance.clone()];
    let mut value = match decode(cat, def, row, &v, &mut notes) {
        Ok(value) => value,
        Err(not_set) => return not_set,
    };
    if let SettingValue::KeepAlive {
        enabled,
        interval_minutes,
    } = &mut value
    {
        *interval_minutes =
            keep_alive_interval(src, row, hive, *enabled, &mut provenance, &mut notes);
    }
    let value = match row.maps_to.as_deref().and_then(|m| literal(cat, def, m)) {
        Some(mapped) => mapped,
        None => value,
    };
    Outcome::Found {
        value,
        provenance,
        notes,
    }
}

/// The row's `applies_when` condition: `Some` outcome when it stops the row (unknown evidence,
/// the user account's setting applies, or the row does not apply); `None` to read on.
fn check_condition<S: RegistrySource + ?Sized>(
    src: &S,
    row: &SourceDef,
    hive: HiveKind,
    notes: &mut Vec<String>,
) -> Option<Outcome> {
    let cond = row.applies_when.as_ref()?;
    let lookup = src.value(hive, &row.path, &cond.value);
    if let Some(u) = unknown_from(src, &lookup, row) {
        return Some(u);
    }
    let Lookup::Found(v) = &lookup else {
        return None;
    };
    let mut ignore = Vec::new();
    match number(v, &mut ignore) {
        Some(n) if n == cond.equals => None,
        Some(n) => Some(match row.otherwise {
            Otherwise::UserAccount => Outcome::Unknown {
                reason: UnknownReason::UserAccount,
                detail: format!(
                    "{}\\{}={n}: the user account's own setting applies (Active Directory or local SAM, not in offline hives; UNCONFIRMED mapping, R8)",
                    v.provenance.key, v.provenance.value
                ),
            },
            Otherwise::Ignore => {
                let own = row
                    .value
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(&cond.value));
                if !own {
                    notes.push(format!(
                        "{} does not apply: {}\\{}={n}",
                        location(row, row.value.as_deref()),
                        v.provenance.key,
                        v.provenance.value
                    ));
                }
                Outcome::NotSet {
                    notes: std::mem::take(notes),
                }
            }
        }),
        None => {
            notes.push(format!(
                "{}\\{} has type {}: condition {}={} not evaluated, location read anyway",
                v.provenance.key,
                v.provenance.value,
                v.data.type_name(),
                cond.value,
                cond.equals
            ));
            None
        }
    }
}

/// A `subkey_names` location: the names of the key's subkeys (but the one the row skips).
fn read_subkey_names<S: RegistrySource + ?Sized>(
    src: &S,
    row: &SourceDef,
    hive: HiveKind,
    notes: Vec<String>,
) -> Outcome {
    let lookup = src.key(hive, &row.path);
    if let Some(u) = unknown_from(src, &lookup, row) {
        return u;
    }
    let Lookup::Found(key) = lookup else {
        return Outcome::NotSet { notes };
    };
    let names: Vec<&String> = key
        .subkeys
        .iter()
        .filter(|s| {
            row.value
                .as_deref()
                .is_none_or(|skip| !s.eq_ignore_ascii_case(skip))
        })
        .collect();
    if names.is_empty() {
        return Outcome::NotSet { notes };
    }
    Outcome::Found {
        provenance: names.iter().map(|n| key.subkey_provenance(n)).collect(),
        value: SettingValue::ServerList(names.into_iter().cloned().collect()),
        notes,
    }
}

/// A value of a policy location decoded for the setting as [`read_row`] would (the row's
/// `maps_to` applied); `None` for data of the wrong type. Used for Registry.pol instructions.
pub(super) fn decode_for(
    cat: &SettingsCatalog,
    def: &SettingDef,
    row: &SourceDef,
    v: &RegValue,
    notes: &mut Vec<String>,
) -> Option<SettingValue> {
    let value = decode(cat, def, row, v, notes).ok()?;
    Some(
        match row.maps_to.as_deref().and_then(|m| literal(cat, def, m)) {
            Some(mapped) => mapped,
            None => value,
        },
    )
}

/// A number, or the "wrong type" outcome naming what was `expected`.
fn number_or(v: &RegValue, notes: &mut Vec<String>, expected: &str) -> Result<u64, Outcome> {
    number(v, notes).ok_or_else(|| wrong_type(v, expected))
}

/// The stored value `v` decoded for the setting's kind (a keep-alive without its interval, which
/// [`keep_alive_interval`] reads); `Err` is the outcome of a value of the wrong type.
fn decode(
    cat: &SettingsCatalog,
    def: &SettingDef,
    row: &SourceDef,
    v: &RegValue,
    notes: &mut Vec<String>,
) -> Result<SettingValue, Outcome> {
    Ok(match def.kind {
        SettingKind::Flag => {
            let n = number_or(v, notes, "a number")?;
            if n > 1 {
                notes.push(format!(
                    "{}\\{}={n}: a flag is 0 or 1; read as set",
                    v.provenance.key, v.provenance.value
                ));
            }
            SettingValue::Flag((n != 0) != row.inverted)
        }
        SettingKind::Enum => {
            let n = number_or(v, notes, "a number")?;
            let value = enum_value(cat, def, n);
            if value.enum_name().is_none() {
                notes.push(format!(
                    "{}\\{}={n} is not a documented value",
                    v.provenance.key, v.provenance.value
                ));
            }
            value
        }
        SettingKind::DurationMs => {
            SettingValue::DurationMs(number_or(v, notes, "a number of milliseconds")?)
        }
        SettingKind::Count => SettingValue::Count(number_or(v, notes, "a number")?),
        SettingKind::KeepAlive => {
            let n = number_or(v, notes, "a number")?;
            SettingValue::KeepAlive {
                enabled: n != 0,
                interval_minutes: None,
            }
        }
        SettingKind::ServerList => SettingValue::ServerList(server_list(v, row.format, notes)?),
        SettingKind::Thumbprint => {
            let RegData::Binary(bytes) = &v.data else {
                return Err(wrong_type(v, "REG_BINARY"));
            };
            if bytes.len() != 20 {
                notes.push(format!(
                    "{}\\{} is {} bytes long; a SHA-1 thumbprint has 20",
                    v.provenance.key,
                    v.provenance.value,
                    bytes.len()
                ));
            }
            SettingValue::Thumbprint(hex(bytes))
        }
    })
}

/// The keep-alive interval read from the row's companion value, beside the switch `enabled`.
fn keep_alive_interval<S: RegistrySource + ?Sized>(
    src: &S,
    row: &SourceDef,
    hive: HiveKind,
    enabled: bool,
    provenance: &mut Vec<RegProvenance>,
    notes: &mut Vec<String>,
) -> Option<u64> {
    let companion = row.companion.as_ref()?;
    match src.value(hive, &row.path, companion) {
        Lookup::Found(c) => match number(&c, notes) {
            Some(m) => {
                provenance.push(c.provenance);
                Some(m)
            }
            None => {
                notes.push(format!(
                    "{}\\{} has type {}: interval ignored",
                    c.provenance.key,
                    c.provenance.value,
                    c.data.type_name()
                ));
                None
            }
        },
        _ if enabled => {
            notes.push(format!(
                "{} is absent: keep-alive enabled without an interval",
                location(row, Some(companion))
            ));
            None
        }
        _ => None,
    }
}

/// A server list in the form the location stores it, type mismatches read and noted.
fn server_list(
    v: &RegValue,
    format: ValueFormat,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, Outcome> {
    let items = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let list = match (&v.data, format) {
        (RegData::Sz(s) | RegData::ExpandSz(s), ValueFormat::CommaList) => {
            if s.contains(';') {
                notes.push(format!(
                    "{}\\{} contains ';' (UNCONFIRMED whether Windows accepts it as a separator; only ',' splits)",
                    v.provenance.key, v.provenance.value
                ));
            }
            split_list(s, ',')
        }
        (RegData::Sz(s) | RegData::ExpandSz(s), ValueFormat::String) => split_list(s, '\u{0}'),
        (RegData::MultiSz(list), ValueFormat::MultiSz) => items(list),
        (RegData::MultiSz(list), _) => {
            notes.push(format!(
                "{}\\{} is REG_MULTI_SZ where {} is expected (type mismatch); items read in order",
                v.provenance.key,
                v.provenance.value,
                if format == ValueFormat::CommaList {
                    "a comma-separated REG_SZ"
                } else {
                    "REG_SZ"
                }
            ));
            items(list)
        }
        (RegData::Sz(s) | RegData::ExpandSz(s), _) => {
            notes.push(format!(
                "{}\\{} is {} where REG_MULTI_SZ is expected (type mismatch); read as a comma-separated list",
                v.provenance.key,
                v.provenance.value,
                v.data.type_name()
            ));
            split_list(s, ',')
        }
        _ => return Err(wrong_type(v, "a string list")),
    };
    if list.is_empty() {
        notes.push(format!(
            "{}\\{} is present but names no server",
            v.provenance.key, v.provenance.value
        ));
    }
    Ok(list)
}

/// Human wording of a value.
pub fn display_value(cat: &SettingsCatalog, def: &SettingDef, value: &SettingValue) -> String {
    let label = |code: u64| {
        def.values
            .as_deref()
            .and_then(|t| cat.value_name(t, code))
            .map(|v| v.label.clone())
    };
    match value {
        SettingValue::Flag(b) => label(u64::from(*b)).unwrap_or_else(|| b.to_string()),
        SettingValue::Enum { code, .. } => match label(*code) {
            Some(l) => format!("{l} ({code})"),
            None => format!("undocumented value {code}"),
        },
        SettingValue::DurationMs(ms) => {
            let text = label(*ms).unwrap_or_else(|| duration(*ms));
            format!("{text} ({ms} ms)")
        }
        SettingValue::Count(n) => match label(*n) {
            Some(l) => format!("{l} ({n})"),
            None => n.to_string(),
        },
        SettingValue::ServerList(list) if list.is_empty() => "(empty list: no server named)".into(),
        SettingValue::ServerList(list) => list.join(", "),
        SettingValue::Thumbprint(t) if t.is_empty() => "(empty)".into(),
        SettingValue::Thumbprint(t) => t.clone(),
        SettingValue::KeepAlive {
            enabled,
            interval_minutes,
        } => {
            let base = label(u64::from(*enabled)).unwrap_or_else(|| enabled.to_string());
            match (enabled, interval_minutes) {
                (true, Some(1)) => format!("{base}, interval 1 minute"),
                (true, Some(m)) => format!("{base}, interval {m} minutes"),
                (true, None) => format!("{base}, interval not set"),
                (false, _) => base,
            }
        }
    }
}

/// A millisecond count in words, for values that are not in the time-limit list.
fn duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
    ];
    for (size, unit) in UNITS {
        if ms >= size && ms.is_multiple_of(size) {
            let n = ms / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{ms} milliseconds")
}

/// A related location, shown raw (it may hold another kind of data than the setting: a template
/// name, a listener timeout).
fn read_related<S: RegistrySource + ?Sized>(src: &S, row: &SourceDef) -> Option<Related> {
    let v = src
        .value(row.hive?, &row.path, row.value.as_deref()?)
        .into_found()?;
    let display = match &v.data {
        RegData::Sz(s) | RegData::ExpandSz(s) => s.clone(),
        RegData::MultiSz(items) => items.join(", "),
        RegData::Binary(b) => hex(b),
        other => other
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or_else(|| other.type_name()),
    };
    Some(Related {
        source: row.source,
        display,
        provenance: v.provenance,
        note: row.note.clone().unwrap_or_default(),
    })
}

fn refs(row: &SourceDef) -> Vec<String> {
    row.src.ids().into_iter().map(str::to_string).collect()
}

fn unconfirmed_note(row: &SourceDef, what: &str) -> Option<String> {
    row.src
        .unconfirmed()
        .map(|u| format!("UNCONFIRMED ({what}): {u}"))
}

fn resolve_setting<S: RegistrySource + ?Sized>(
    src: &S,
    cat: &SettingsCatalog,
    def: &SettingDef,
) -> Setting {
    let mut out = Setting {
        name: def.name.clone(),
        state: SettingState::NotSet,
        value: None,
        display: String::new(),
        value_display: String::new(),
        source: None,
        provenance: Vec::new(),
        shadowed: Vec::new(),
        unknown: Vec::new(),
        related: Vec::new(),
        notes: Vec::new(),
        gpo: None,
        refs: Vec::new(),
        unconfirmed: false,
    };
    let mut winner: Option<(&SourceDef, SettingValue, Vec<RegProvenance>)> = None;

    for row in &def.sources {
        if row.role == Role::Related {
            out.related.extend(read_related(src, row));
            continue;
        }
        if row.source == SourceKind::Default {
            if winner.is_some() {
                continue;
            }
            apply_default(&mut out, cat, def, row);
            continue;
        }
        match read_row(src, cat, def, row) {
            Outcome::Found {
                value,
                provenance,
                notes,
            } => {
                out.notes.extend(notes);
                if winner.is_none() {
                    out.notes
                        .extend(unconfirmed_note(row, &location(row, row.value.as_deref())));
                    winner = Some((row, value, provenance));
                } else {
                    out.shadowed.push(Shadowed {
                        source: row.source,
                        display: display_value(cat, def, &value),
                        value,
                        provenance,
                    });
                }
            }
            Outcome::NotSet { notes } => out.notes.extend(notes),
            Outcome::Unknown { reason, detail } => {
                let hive = row.hive.unwrap_or(HiveKind::Other);
                out.unknown.push(UnknownSource {
                    source: row.source,
                    hive,
                    key: row.path.clone(),
                    value: row
                        .value
                        .clone()
                        .filter(|_| row.format != ValueFormat::SubkeyNames),
                    reason,
                    detail,
                    decisive: winner.is_none(),
                });
            }
        }
    }

    conclude(&mut out, cat, def, winner);
    out
}

/// No location set the setting: the built-in default applies, unless a location that could
/// have overridden it is unknown.
fn apply_default(out: &mut Setting, cat: &SettingsCatalog, def: &SettingDef, row: &SourceDef) {
    out.refs = refs(row);
    if out.unknown.iter().any(|u| u.decisive) {
        out.state = SettingState::Unknown;
        return;
    }
    out.state = SettingState::NotSet;
    out.source = Some(SourceKind::Default);
    out.value = row.value.as_deref().and_then(|v| literal(cat, def, v));
    match &out.value {
        Some(v) => {
            out.display = display_value(cat, def, v);
            out.value_display = out.display.clone();
            out.notes.extend(row.note.clone());
        }
        None => {
            out.display = row.note.clone().unwrap_or_default();
            out.value_display = out.display.clone();
        }
    }
    out.notes.extend(unconfirmed_note(row, "default"));
    out.unconfirmed = row.src.unconfirmed().is_some();
}

/// The winning location's value (unknown when a higher location could not be consulted), or
/// the unknown state's wording; the references of the result.
fn conclude(
    out: &mut Setting,
    cat: &SettingsCatalog,
    def: &SettingDef,
    winner: Option<(&SourceDef, SettingValue, Vec<RegProvenance>)>,
) {
    let decisive: Vec<&UnknownSource> = out.unknown.iter().filter(|u| u.decisive).collect();
    let missing = decisive
        .iter()
        .map(|u| format!("{} unknown: {}", u.source, u.detail))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some((row, value, provenance)) = winner {
        // A winning row's explanation matters when it overrides something: a shadowed value,
        // or another setting (FIPS stands for an encryption level).
        if !out.shadowed.is_empty() || row.maps_to.is_some() {
            out.notes.splice(0..0, row.note.clone());
        }
        let display = display_value(cat, def, &value);
        out.value_display = display.clone();
        out.state = if decisive.is_empty() {
            SettingState::Set
        } else {
            SettingState::Unknown
        };
        out.display = if decisive.is_empty() {
            display
        } else {
            format!(
                "{display} from {}, unless overridden ({missing})",
                row.source
            )
        };
        out.source = Some(row.source);
        out.value = Some(value);
        out.provenance = provenance;
        out.refs = refs(row);
        out.unconfirmed = row.src.unconfirmed().is_some();
    } else if out.state == SettingState::Unknown {
        out.display = format!("unknown: {missing}");
        out.value_display = "unknown".into();
    }
    if out.refs.is_empty() {
        out.refs = def.src.ids().into_iter().map(str::to_string).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(duration(5_400_000), "90 minutes");
        assert_eq!(duration(7_200_000), "2 hours");
        assert_eq!(duration(86_400_000), "1 day");
        assert_eq!(duration(1_500), "1500 milliseconds");
        assert_eq!(duration(1_000), "1 second");
    }

    #[test]
    fn lists_split_and_trim() {
        assert_eq!(split_list(" a, b ,,c ", ','), ["a", "b", "c"]);
        assert!(split_list("", ',').is_empty());
        assert_eq!(hex(&[0x0a, 0xff]), "0AFF");
    }
}
