//! The event catalogue as data: which (provider, EventID) pairs the RDS diagnosis reads, what
//! they mean, which fields to extract and where that knowledge comes from (`events.tsv`, built
//! from `rds-reference.md` §10). The loader is strict so that a bad edit fails the tests.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde::Serialize;

use super::sources::{Refs, Status};
use super::table::{Key, Row, Schema, Seen, TableError};

/// The embedded catalogue table.
pub const EVENTS_TSV: &str = include_str!("events.tsv");

/// The declaration of `events.tsv`: its columns in order and its key.
pub static SCHEMA: Schema = Schema {
    table: "events.tsv",
    columns: &[
        "provider", "event_id", "raw_ids", "channels", "level", "name", "meaning", "fields",
        "source",
    ],
    keys: &[Key {
        name: "row for provider and event",
        columns: &["provider", "event_id"],
    }],
};

/// Which events of a provider a catalogue row covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum EventIdSpec {
    /// One canonical EventID (§9.1).
    Id(u16),
    /// Every other event of the provider (`*`): kept and reported raw.
    Any,
}

/// One row of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDef {
    pub provider: String,
    pub event_id: EventIdSpec,
    /// Raw on-disk IDs that normalise to `event_id` (RCM manifest IDs ≥ 0xC000), if any.
    pub raw_ids: Vec<u16>,
    /// Channels the event is logged to (the first is the usual one).
    pub channels: Vec<String>,
    /// Documented level (`I`, `W`, `E`, `A`, combinations like `I|E`, or `-`): informative
    /// only; the record's own `System/Level` is what counts.
    pub level: String,
    /// A short kebab-case name (`session-logon`, `grace-expired-no-ls`).
    pub name: String,
    /// What the event means, in our own words.
    pub meaning: String,
    /// The fields to extract (`EventData`/`UserData` names, or `1`, `2`… for positional data).
    pub fields: Vec<String>,
    /// Source IDs (reference §18 or `sources.tsv`) and/or `UNCONFIRMED: …` (one grammar for
    /// every table, [`Refs`]).
    pub source: Refs,
}

impl EventDef {
    /// The meaning with its placeholders filled from the event's fields: each `ParamN` /
    /// `paramN` field the meaning names (as a whole word) is replaced by the field's value
    /// (trimmed; `(empty)` when blank). Returns the text and the catalogued fields it did not
    /// name, for the caller to list.
    pub fn fill<'v>(&self, get: impl Fn(&str) -> Option<&'v str>) -> (String, Vec<&str>) {
        let mut text = self.meaning.clone();
        let mut rest = Vec::new();
        for f in &self.fields {
            let placeholder = f.len() > 5
                && f.as_bytes()[..5].eq_ignore_ascii_case(b"param")
                && f[5..].bytes().all(|b| b.is_ascii_digit());
            match get(f) {
                Some(v) if placeholder && has_word(&text, f) => {
                    let v = v.trim();
                    text = replace_word(&text, f, if v.is_empty() { "(empty)" } else { v });
                }
                _ => rest.push(f.as_str()),
            }
        }
        (text, rest)
    }

    /// Whether the row's wording or mapping is marked unconfirmed by its source.
    pub fn unconfirmed(&self) -> bool {
        self.status() == Status::Unconfirmed
    }

    /// Confirmed, or UNCONFIRMED (may add context, never raises a warning or error alone).
    pub fn status(&self) -> Status {
        self.source.status()
    }
}

/// The loaded catalogue with its lookup indexes. Provider names compare case-insensitively.
#[derive(Debug, Clone)]
pub struct EventCatalog {
    defs: Vec<EventDef>,
    by_key: HashMap<(String, EventIdSpec), usize>,
    raw_map: HashMap<(String, u16), u16>,
}

fn key(provider: &str) -> String {
    provider.to_ascii_lowercase()
}

impl EventCatalog {
    /// Parse a catalogue table (through the strict loader of [`crate::catalog::table`]).
    pub fn parse(text: &str) -> Result<EventCatalog, TableError> {
        let mut defs = Vec::new();
        let mut by_key = HashMap::new();
        let mut raw_map: HashMap<(String, u16), u16> = HashMap::new();
        let mut raw_seen = Seen::default();
        let mut lines_of = Vec::new();
        for row in SCHEMA.rows(text)? {
            let def = parse_row(&row)?;
            if let EventIdSpec::Id(canonical) = def.event_id {
                for &raw in &def.raw_ids {
                    let rk = (key(&def.provider), raw);
                    raw_seen.insert(&row, rk.clone(), "raw ID", || {
                        format!("{raw} of {}", def.provider)
                    })?;
                    raw_map.insert(rk, canonical);
                }
            }
            by_key.insert((key(&def.provider), def.event_id), defs.len());
            lines_of.push(row.line);
            defs.push(def);
        }
        // A raw ID must not also be a canonical ID of its own row elsewhere.
        for (provider, raw) in raw_map.keys() {
            if let Some(&i) = by_key.get(&(provider.clone(), EventIdSpec::Id(*raw))) {
                return Err(TableError::Value {
                    table: SCHEMA.table,
                    line: lines_of[i],
                    column: "raw_ids",
                    message: format!("raw ID {raw} is also a canonical ID of {provider}"),
                });
            }
        }
        Ok(EventCatalog {
            defs,
            by_key,
            raw_map,
        })
    }

    /// All rows, in table order.
    pub fn defs(&self) -> &[EventDef] {
        &self.defs
    }

    /// The row for a provider's canonical EventID: its own row, else the provider's `*` row.
    pub fn lookup(&self, provider: &str, event_id: u16) -> Option<&EventDef> {
        let p = key(provider);
        self.by_key
            .get(&(p.clone(), EventIdSpec::Id(event_id)))
            .or_else(|| self.by_key.get(&(p, EventIdSpec::Any)))
            .map(|&i| &self.defs[i])
    }

    /// The row for exactly this key (no fallback to `*`).
    pub fn get(&self, provider: &str, event_id: EventIdSpec) -> Option<&EventDef> {
        self.by_key
            .get(&(key(provider), event_id))
            .map(|&i| &self.defs[i])
    }

    /// Whether a (provider, canonical id) is confirmed: its own row's status. An event that only
    /// a provider-wide `*` row (or no row) covers has no confirmed meaning.
    pub fn status(&self, provider: &str, event_id: u16) -> Status {
        self.get(provider, EventIdSpec::Id(event_id))
            .map_or(Status::Unconfirmed, EventDef::status)
    }

    /// The canonical ID the table gives a raw on-disk ID of a provider, if it lists it.
    pub fn canonical_for_raw(&self, provider: &str, raw: u16) -> Option<u16> {
        self.raw_map.get(&(key(provider), raw)).copied()
    }

    /// Every channel named in the table.
    pub fn channels(&self) -> BTreeSet<&str> {
        self.defs
            .iter()
            .flat_map(|d| d.channels.iter().map(String::as_str))
            .collect()
    }

    /// Every provider named in the table (as spelt there).
    pub fn providers(&self) -> BTreeSet<&str> {
        self.defs.iter().map(|d| d.provider.as_str()).collect()
    }
}

/// One row of the catalogue, each cell checked.
fn parse_row(row: &Row<'_>) -> Result<EventDef, TableError> {
    let provider = row.str("provider");
    if provider == "-" {
        return Err(row.error("provider", "empty"));
    }
    let event_id = match row.str("event_id") {
        "*" => EventIdSpec::Any,
        _ => EventIdSpec::Id(row.parse("event_id", "a 16-bit number or *")?),
    };
    let raw_ids = row
        .list("raw_ids")
        .into_iter()
        .map(|r| {
            r.parse::<u16>()
                .map_err(|_| row.error("raw_ids", format!("{r:?} is not a 16-bit number")))
        })
        .collect::<Result<Vec<u16>, TableError>>()?;
    if !raw_ids.is_empty() && event_id == EventIdSpec::Any {
        return Err(row.error("raw_ids", "a * row cannot have raw IDs"));
    }
    let channels = owned(row.list("channels"));
    if channels.is_empty() {
        return Err(row.error("channels", "at least one channel is required"));
    }
    let level = row.str("level");
    if !(level == "-"
        || level
            .split('|')
            .all(|l| matches!(l, "C" | "E" | "W" | "I" | "V" | "A")))
    {
        return Err(row.error(
            "level",
            format!("{level:?} is not C/E/W/I/V/A (|-joined) or -"),
        ));
    }
    let name = row.str("name");
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(row.error("name", format!("{name:?} is not kebab-case")));
    }
    let meaning = row
        .opt("meaning")
        .ok_or_else(|| row.error("meaning", "empty"))?;
    let source = Refs::parse(row.str("source")).map_err(|m| row.error("source", m))?;
    Ok(EventDef {
        provider: provider.to_string(),
        event_id,
        raw_ids,
        channels,
        level: level.to_string(),
        name: name.to_string(),
        meaning: meaning.to_string(),
        fields: owned(row.list("fields")),
        source,
    })
}

fn owned(items: Vec<&str>) -> Vec<String> {
    items.into_iter().map(str::to_string).collect()
}

/// The embedded catalogue, parsed once. The table ships inside the binary and is checked by the
/// tests, so a parse failure is a build defect, not bad input.
pub fn catalog() -> &'static EventCatalog {
    static CATALOG: OnceLock<EventCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        EventCatalog::parse(EVENTS_TSV)
            .expect("the embedded events.tsv is checked by the unit tests")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
    const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";

    #[test]
    fn embedded_table_loads() {
        let c = EventCatalog::parse(EVENTS_TSV).unwrap();
        assert!(c.defs().len() > 100);
        assert_eq!(c.lookup(LSM, 40).unwrap().fields, ["Session", "Reason"]);
        // Provider-wide fallback.
        assert_eq!(c.lookup(LSM, 54).unwrap().event_id, EventIdSpec::Any);
        assert!(c.lookup("Service Control Manager", 7045).is_none());
        assert_eq!(c.canonical_for_raw(RCM, 50282), Some(1130));
        assert_eq!(c.canonical_for_raw(&RCM.to_uppercase(), 50280), Some(1128));
        assert_eq!(c.canonical_for_raw(RCM, 1068), None);
    }

    #[test]
    fn every_licensing_raw_id_follows_the_mask_rule() {
        for d in catalog().defs() {
            if let EventIdSpec::Id(id) = d.event_id {
                for &raw in &d.raw_ids {
                    assert!(raw >= 0xC000);
                    assert_eq!(raw & 0x3FFF, id, "{d:?}");
                }
            }
        }
    }

    #[test]
    fn reference_section_10_is_covered() {
        let c = catalog();
        for (p, ids) in [
            (
                LSM,
                &[21u16, 22, 23, 24, 25, 36, 37, 38, 39, 40, 41, 42, 43, 53][..],
            ),
            (
                RCM,
                &[
                    261, 258, 259, 260, 262, 1149, 20499, 20500, 20515, 20516, 20517, 20518, 20519,
                    1143, 1028, 1043, 1061, 1062, 1063, 1064, 1068, 1069, 1128, 1129, 1130, 1131,
                    1132, 1133, 1152, 1158, 50304, 50312, 1003, 1004, 1011, 1006, 1050, 1051, 1056,
                    1057, 1058, 1067,
                ][..],
            ),
            (
                "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
                &[
                    97, 98, 99, 102, 103, 104, 131, 139, 140, 148, 151, 152, 153, 226, 227, 228,
                ][..],
            ),
            ("TermDD", &[50, 56][..]),
            ("Schannel", &[36870, 36871, 36874, 36887, 36888][..]),
            ("Service Control Manager", &[7031, 7034, 7036, 7040][..]),
            (
                "Microsoft-Windows-Security-Auditing",
                &[4624, 4625, 4778, 4779][..],
            ),
            (
                "Microsoft-Windows-TerminalServices-Licensing",
                &[
                    9, 12, 13, 14, 17, 18, 19, 20, 21, 22, 26, 37, 38, 44, 45, 4105, 4141, 4143,
                    4147, 8197,
                ][..],
            ),
            (
                "Microsoft-Windows-TerminalServices-ClientActiveXCore",
                &[1024, 1026, 1029, 1102, 1105][..],
            ),
        ] {
            for &id in ids {
                let d = c.get(p, EventIdSpec::Id(id));
                assert!(d.is_some(), "{p} {id} missing");
            }
        }
    }

    const HDR: &str =
        "provider\tevent_id\traw_ids\tchannels\tlevel\tname\tmeaning\tfields\tsource\n";

    #[test]
    fn rejects_duplicates() {
        let t =
            format!("{HDR}P\t1\t-\tSystem\tI\ta\tm\t-\tS01\np\t1\t-\tSystem\tI\tb\tm\t-\tS01\n");
        assert!(matches!(
            EventCatalog::parse(&t),
            Err(TableError::Duplicate {
                line: 3,
                first: 2,
                ..
            })
        ));
        let t = format!(
            "{HDR}P\t1\t50000\tSystem\tI\ta\tm\t-\tS01\nP\t2\t50000\tSystem\tI\tb\tm\t-\tS01\n"
        );
        assert!(matches!(
            EventCatalog::parse(&t),
            Err(TableError::Duplicate { key: "raw ID", .. })
        ));
    }

    #[test]
    fn rejects_unknown_or_missing_columns() {
        let t = HDR.replace("source", "source\textra");
        assert!(matches!(
            EventCatalog::parse(&t),
            Err(TableError::UnknownColumn { .. })
        ));
        let t = format!("{HDR}P\t1\t-\tSystem\tI\ta\tm\t-\n");
        assert!(matches!(
            EventCatalog::parse(&t),
            Err(TableError::ColumnCount { line: 2, .. })
        ));
        let t = format!("{HDR}P\t1\t-\tSystem\tI\ta\tm\t-\tS01\textra\n");
        assert!(matches!(
            EventCatalog::parse(&t),
            Err(TableError::ColumnCount { .. })
        ));
    }

    #[test]
    fn rejects_bad_values() {
        for row in [
            "P\t70000\t-\tSystem\tI\ta\tm\t-\tS01",
            "P\t1\tx\tSystem\tI\ta\tm\t-\tS01",
            "P\t1\t-\t-\tI\ta\tm\t-\tS01",
            "P\t1\t-\tSystem\tQ\ta\tm\t-\tS01",
            "P\t1\t-\tSystem\tI\tNot Kebab\tm\t-\tS01",
            "P\t1\t-\tSystem\tI\ta\t-\t-\tS01",
            "P\t1\t-\tSystem\tI\ta\tm\t-\t-",
            "P\t*\t50000\tSystem\tI\ta\tm\t-\tS01",
            "P\t1\t-\tSystem\tI\ta\tm\t-\tS99",
            "P\t1\t-\tSystem\tI\ta\tm\t-\tS54; wording UNCONFIRMED",
        ] {
            let t = format!("{HDR}{row}\n");
            assert!(
                matches!(EventCatalog::parse(&t), Err(TableError::Value { .. })),
                "{row}"
            );
        }
        assert_eq!(
            EventCatalog::parse("# only comments\n").unwrap_err(),
            TableError::NoHeader {
                table: "events.tsv"
            }
        );
    }
}

/// Whether `word` occurs in `text` not inside a longer word (so `Param1` is not `Param10`).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word)
        .any(|(i, _)| is_boundary(text, i, word.len()))
}

fn is_boundary(text: &str, i: usize, len: usize) -> bool {
    let before = text[..i].chars().next_back();
    let after = text[i + len..].chars().next();
    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(word) {
        if is_boundary(text, i, word.len()) {
            out.push_str(&text[last..i]);
            out.push_str(with);
            last = i + word.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod fill_tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_fields() {
        let def = catalog()
            .lookup(
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                1131,
            )
            .expect("1131 is catalogued");
        let (text, rest) = def.fill(|f| (f == "Param1").then_some(" LS01.contoso.local "));
        assert_eq!(
            text,
            "License server LS01.contoso.local is not available or cannot be contacted"
        );
        assert!(rest.is_empty());
        let (text, rest) = def.fill(|_| None);
        assert!(text.contains("Param1"));
        assert_eq!(rest, vec!["Param1"]);
        assert_eq!(replace_word("Param1 Param10", "Param1", "x"), "x Param10");
    }
}
