//! Disconnect reason codes as data: the server-side space (LSM event 40 `Reason`, RDP Set Error
//! Info, reference §11) and the separate client-side space (RDPClient event 1026 `Value`, §12),
//! each row with its meaning in our own words, a class, a licensing flag and its source, loaded
//! strictly from `reasons.tsv` so that a code is corrected by editing one row.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use super::table::{Key, Row, Schema, TableError};

/// The embedded reason-code table.
pub const REASONS_TSV: &str = include_str!("reasons.tsv");

/// The declaration of `reasons.tsv`: its columns in order and its key.
pub static SCHEMA: Schema = Schema {
    table: "reasons.tsv",
    columns: &[
        "space",
        "code",
        "name",
        "extended_name",
        "class",
        "licensing",
        "meaning",
        "source",
    ],
    keys: &[Key {
        name: "code",
        columns: &["space", "code"],
    }],
};

/// Which code space a number belongs to. The two overlap numerically but mean different things
/// (server 260 = hardware-ID mismatch, client 260 = DNS lookup failure): always key by space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSpace {
    /// Server side: LSM event 40 `Reason`, MS-RDPBCGR `errorInfo`, `ExtendedDisconnectReasonCode`.
    Server,
    /// Client side: RDPClient event 1026 `Value`, mstsc `discReason`.
    Client,
}

impl CodeSpace {
    pub fn name(self) -> &'static str {
        match self {
            CodeSpace::Server => "server",
            CodeSpace::Client => "client",
        }
    }
}

/// The legal values of the `class` column.
pub const CLASSES: [&str; 24] = [
    "neutral",
    "admin",
    "time-limit",
    "reconnect",
    "server",
    "security",
    "auth",
    "user",
    "licensing",
    "broker",
    "protocol",
    "ambiguous",
    "name-resolution",
    "client-cal",
    "network",
    "availability",
    "certificate",
    "encryption",
    "nla",
    "fips",
    "account",
    "time",
    "version",
    "gateway",
];

/// Classes that mean a licensing problem; the `licensing` column must agree with them.
const LICENSING_CLASSES: [&str; 2] = ["licensing", "client-cal"];

/// One row: one code, or an inclusive range naming a family of codes without their own row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonDef {
    pub space: CodeSpace,
    pub first: u32,
    pub last: u32,
    /// MS-RDPBCGR `ERRINFO_` name (server) or client `discReason` name, when one is documented.
    pub name: Option<String>,
    /// `ExtendedDisconnectReasonCode` name, when one is documented.
    pub extended_name: Option<String>,
    /// One of [`CLASSES`].
    pub class: String,
    /// The code proves a licensing problem.
    pub licensing: bool,
    /// What the code means, in our own words.
    pub meaning: String,
    /// Source IDs of the reference (§18).
    pub source: String,
}

impl ReasonDef {
    /// Whether this row is a range (a family) rather than one code.
    pub fn is_range(&self) -> bool {
        self.first != self.last
    }
}

/// A code decoded against the table: the number, and the row that explains it if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub space: CodeSpace,
    pub code: u32,
    pub def: Option<&'static ReasonDef>,
}

impl Decoded {
    /// Whether the code proves a licensing problem (unknown codes do not).
    pub fn licensing(&self) -> bool {
        self.def.is_some_and(|d| d.licensing)
    }

    /// The class, or `unknown` when no row explains the code.
    pub fn class(&self) -> &'static str {
        self.def.map_or("unknown", |d| d.class.as_str())
    }

    /// A one-line explanation: `257 (0x101) LICENSE_NO_LICENSE_SERVER: No license server …`, or
    /// `unknown(70000)` when the table has no row for the code.
    pub fn describe(&self) -> String {
        let Some(d) = self.def else {
            return format!("unknown({})", self.code);
        };
        let name = if d.is_range() {
            None
        } else {
            d.name.as_deref().or(d.extended_name.as_deref())
        };
        match name {
            Some(n) => format!("{} (0x{:X}) {n}: {}", self.code, self.code, d.meaning),
            None => format!("{} (0x{:X}): {}", self.code, self.code, d.meaning),
        }
    }

    /// The meaning alone, or `unknown(n)`.
    pub fn meaning(&self) -> String {
        match self.def {
            Some(d) => d.meaning.clone(),
            None => format!("unknown({})", self.code),
        }
    }
}

/// The loaded table with lookups by space and code.
#[derive(Debug, Clone)]
pub struct ReasonTable {
    rows: Vec<ReasonDef>,
    /// Exact codes: (space, code) → row index.
    exact: BTreeMap<(CodeSpace, u32), usize>,
    /// Ranges: (space, first) → row index.
    ranges: BTreeMap<(CodeSpace, u32), usize>,
}

impl ReasonTable {
    /// Parse a table (through the strict loader of [`crate::catalog::table`]).
    pub fn parse(text: &str) -> Result<ReasonTable, TableError> {
        let mut rows: Vec<ReasonDef> = Vec::new();
        let mut exact = BTreeMap::new();
        let mut ranges: BTreeMap<(CodeSpace, u32), usize> = BTreeMap::new();
        let mut line_of: Vec<usize> = Vec::new();
        for row in SCHEMA.rows(text)? {
            let def = parse_row(&row)?;
            let idx = rows.len();
            if def.is_range() {
                // Ranges of one space must not overlap one another.
                let overlapping = ranges.values().find(|&&i| {
                    let r = &rows[i];
                    r.space == def.space && r.first <= def.last && def.first <= r.last
                });
                if let Some(&prev) = overlapping {
                    return Err(row.duplicate(
                        line_of[prev],
                        "overlapping range",
                        format!("{} {}", row.str("space"), row.str("code")),
                    ));
                }
                ranges.insert((def.space, def.first), idx);
            } else {
                exact.insert((def.space, def.first), idx);
            }
            line_of.push(row.line);
            rows.push(def);
        }
        Ok(ReasonTable {
            rows,
            exact,
            ranges,
        })
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[ReasonDef] {
        &self.rows
    }

    /// The row explaining `code` in `space`: its own row first, else the range containing it.
    pub fn lookup(&self, space: CodeSpace, code: u32) -> Option<&ReasonDef> {
        if let Some(&i) = self.exact.get(&(space, code)) {
            return Some(&self.rows[i]);
        }
        self.ranges
            .range(..=(space, code))
            .next_back()
            .map(|(_, &i)| &self.rows[i])
            .filter(|r| r.space == space && r.first <= code && code <= r.last)
    }
}

/// One row of the table, each cell checked.
fn parse_row(row: &Row<'_>) -> Result<ReasonDef, TableError> {
    let space = row.keyword(
        "space",
        &[("server", CodeSpace::Server), ("client", CodeSpace::Client)],
    )?;
    let (first, last) = code_range(row)?;
    let class = row.str("class");
    if !CLASSES.contains(&class) {
        return Err(row.error(
            "class",
            format!("{class:?} is not one of {}", CLASSES.join(", ")),
        ));
    }
    let licensing = row.yes_no("licensing")?;
    if licensing != LICENSING_CLASSES.contains(&class) {
        return Err(row.error(
            "licensing",
            format!(
                "licensing={} disagrees with class {class:?}",
                row.str("licensing")
            ),
        ));
    }
    let meaning = row
        .opt("meaning")
        .ok_or_else(|| row.error("meaning", "empty"))?;
    let source = row.str("source");
    crate::catalog::sources::Refs::parse(source).map_err(|m| row.error("source", m))?;
    Ok(ReasonDef {
        space,
        first,
        last,
        name: row.opt("name").map(str::to_string),
        extended_name: row.opt("extended_name").map(str::to_string),
        class: class.to_string(),
        licensing,
        meaning: meaning.to_string(),
        source: source.to_string(),
    })
}

/// The `code` column: one decimal code, or an inclusive range `a-b` with `a < b`.
fn code_range(row: &Row<'_>) -> Result<(u32, u32), TableError> {
    let code = row.str("code");
    let num = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| row.error("code", format!("{s:?} is not a decimal number")))
    };
    let (first, last) = match code.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(code)?, num(code)?),
    };
    if first > last || (code.contains('-') && first == last) {
        return Err(row.error("code", format!("{code:?}: a range must be a-b with a < b")));
    }
    Ok((first, last))
}

/// The embedded table (validated by this module's tests).
pub fn reasons() -> &'static ReasonTable {
    static TABLE: OnceLock<ReasonTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        ReasonTable::parse(REASONS_TSV)
            .unwrap_or_else(|e| panic!("embedded reason table is invalid: {e}"))
    })
}

/// Decode a code of `space` against the embedded table.
pub fn decode(space: CodeSpace, code: u32) -> Decoded {
    Decoded {
        space,
        code,
        def: reasons().lookup(space, code),
    }
}

/// Decode a code given as event text (`"257"`, `"0x101"`); `None` when it is not a number that
/// fits 32 bits.
pub fn decode_text(space: CodeSpace, text: &str) -> Option<Decoded> {
    let t = text.trim();
    let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok()?,
        None => t.parse::<u32>().ok()?,
    };
    Some(decode(space, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads() {
        let t = ReasonTable::parse(REASONS_TSV).unwrap();
        assert!(t.rows().len() > 60);
    }

    #[test]
    fn server_licensing_codes_are_exactly_256_to_267() {
        // Reference §11 classification rule: 256–267 ⇒ licensing disconnect.
        for code in 0..70_000u32 {
            let d = decode(CodeSpace::Server, code);
            assert_eq!(d.licensing(), (256..=267).contains(&code), "server {code}");
        }
    }

    #[test]
    fn spaces_are_kept_apart() {
        let s = decode(CodeSpace::Server, 260);
        let c = decode(CodeSpace::Client, 260);
        assert_eq!(s.class(), "licensing");
        assert_eq!(c.class(), "name-resolution");
        assert!(c.describe().contains("DNSLookupFailed"));
    }

    #[test]
    fn exact_rows_win_over_ranges_and_unknown_stays_unknown() {
        assert_eq!(
            decode(CodeSpace::Server, 0x1192)
                .def
                .and_then(|d| d.name.as_deref()),
            Some("DECRYPTFAILED")
        );
        assert_eq!(decode(CodeSpace::Server, 0x2000).class(), "protocol");
        assert_eq!(decode(CodeSpace::Server, 1030).class(), "broker");
        assert_eq!(decode(CodeSpace::Server, 13).describe(), "unknown(13)");
        assert_eq!(
            decode(CodeSpace::Server, 40_000).describe(),
            "unknown(40000)"
        );
        assert_eq!(
            decode(CodeSpace::Server, 257).describe(),
            "257 (0x101) LICENSE_NO_LICENSE_SERVER: No license server was available to the session host"
        );
        assert!(decode(CodeSpace::Client, 2312).licensing());
        assert!(decode(CodeSpace::Client, 50_331_700).class() == "gateway");
        assert_eq!(
            decode_text(CodeSpace::Server, "0x101").map(|d| d.code),
            Some(257)
        );
        assert!(decode_text(CodeSpace::Server, "abc").is_none());
        assert!(decode_text(CodeSpace::Server, "99999999999").is_none());
    }

    fn table(rows: &str) -> Result<ReasonTable, TableError> {
        ReasonTable::parse(&format!("{}\n{rows}", SCHEMA.columns.join("\t")))
    }

    #[test]
    fn loader_is_strict() {
        let ok = "server\t1\t-\t-\tadmin\tno\tm\tS26";
        assert!(table(ok).is_ok());
        assert!(matches!(
            table(&format!("{ok}\n{ok}")),
            Err(TableError::Duplicate { .. })
        ));
        assert!(matches!(
            table("server\t1-5\t-\t-\tadmin\tno\tm\tS26\nserver\t3-9\t-\t-\tadmin\tno\tm\tS26"),
            Err(TableError::Duplicate { .. })
        ));
        for bad in [
            "peer\t1\t-\t-\tadmin\tno\tm\tS26",
            "server\tx\t-\t-\tadmin\tno\tm\tS26",
            "server\t5-1\t-\t-\tadmin\tno\tm\tS26",
            "server\t1\t-\t-\tweird\tno\tm\tS26",
            "server\t1\t-\t-\tadmin\tmaybe\tm\tS26",
            "server\t1\t-\t-\tlicensing\tno\tm\tS26",
            "server\t1\t-\t-\tadmin\tno\t-\tS26",
            "server\t1\t-\t-\tadmin\tno\tm\tsomewhere",
        ] {
            assert!(matches!(table(bad), Err(TableError::Value { .. })), "{bad}");
        }
        assert!(matches!(
            table("server\t1"),
            Err(TableError::ColumnCount { .. })
        ));
        assert!(matches!(
            ReasonTable::parse("a\tb\n"),
            Err(TableError::UnknownColumn { .. })
        ));
        assert!(matches!(
            ReasonTable::parse("# only\n"),
            Err(TableError::NoHeader { .. })
        ));
    }
}
