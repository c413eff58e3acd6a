//! Disconnect reason codes as data: the server-side space (LSM event 40 `Reason`, RDP Set Error
//! Info, reference §11) and the separate client-side space (RDPClient event 1026 `Value`, §12),
//! each row with its meaning in our own words, a class, a licensing flag and its source, loaded
//! strictly from `reasons.tsv` so that a code is corrected by editing one row.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

/// The embedded reason-code table.
pub const REASONS_TSV: &str = include_str!("reasons.tsv");

/// The columns of `reasons.tsv`, in order.
pub const COLUMNS: [&str; 8] = [
    "space",
    "code",
    "name",
    "extended_name",
    "class",
    "licensing",
    "meaning",
    "source",
];

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

/// Errors of the reason-table loader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonTableError {
    #[error("reasons.tsv: no header line")]
    Empty,
    #[error("reasons.tsv: the header must be {expected:?}, found {found:?}")]
    BadHeader { expected: String, found: String },
    #[error("reasons.tsv line {line}: expected {expected} columns, found {found}")]
    ColumnCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("reasons.tsv line {line}: column {column}: {reason}")]
    BadValue {
        line: usize,
        column: &'static str,
        reason: String,
    },
    #[error("reasons.tsv line {line}: {space} code {code} is already defined on line {first}")]
    Duplicate {
        line: usize,
        first: usize,
        space: &'static str,
        code: String,
    },
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
    /// Parse a table. Lines starting with `#` and blank lines are comments; the first other line
    /// must be the header [`COLUMNS`].
    pub fn parse(text: &str) -> Result<ReasonTable, ReasonTableError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (_, header) = lines.next().ok_or(ReasonTableError::Empty)?;
        if header.split('\t').ne(COLUMNS.iter().copied()) {
            return Err(ReasonTableError::BadHeader {
                expected: COLUMNS.join("\t"),
                found: header.to_string(),
            });
        }
        let mut rows = Vec::new();
        let mut exact = BTreeMap::new();
        let mut ranges: BTreeMap<(CodeSpace, u32), usize> = BTreeMap::new();
        let mut line_of: Vec<usize> = Vec::new();
        for (line, text) in lines {
            let cols: Vec<&str> = text.split('\t').collect();
            if cols.len() != COLUMNS.len() {
                return Err(ReasonTableError::ColumnCount {
                    line,
                    expected: COLUMNS.len(),
                    found: cols.len(),
                });
            }
            let bad = |column: &'static str, reason: String| ReasonTableError::BadValue {
                line,
                column,
                reason,
            };
            let space = match cols[0].trim() {
                "server" => CodeSpace::Server,
                "client" => CodeSpace::Client,
                s => return Err(bad("space", format!("{s:?} is not server or client"))),
            };
            let code = cols[1].trim();
            let num = |s: &str| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| bad("code", format!("{s:?} is not a decimal number")))
            };
            let (first, last) = match code.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => {
                    let n = num(code)?;
                    (n, n)
                }
            };
            if first > last || (code.contains('-') && first == last) {
                return Err(bad(
                    "code",
                    format!("{code:?}: a range must be a-b with a < b"),
                ));
            }
            let opt = |s: &str| {
                let s = s.trim();
                (!s.is_empty() && s != "-").then(|| s.to_string())
            };
            let class = cols[4].trim();
            if !CLASSES.contains(&class) {
                return Err(bad(
                    "class",
                    format!("{class:?} is not one of {}", CLASSES.join(", ")),
                ));
            }
            let licensing = match cols[5].trim() {
                "yes" => true,
                "no" => false,
                s => return Err(bad("licensing", format!("{s:?} is not yes or no"))),
            };
            if licensing != LICENSING_CLASSES.contains(&class) {
                return Err(bad(
                    "licensing",
                    format!(
                        "licensing={} disagrees with class {class:?}",
                        cols[5].trim()
                    ),
                ));
            }
            let meaning = cols[6].trim();
            if meaning.is_empty() || meaning == "-" {
                return Err(bad("meaning", "empty".into()));
            }
            let source = cols[7].trim();
            let source_ok = !source.is_empty()
                && source.split(',').all(|s| {
                    let s = s.trim();
                    s.contains("UNCONFIRMED")
                        || (s.len() == 3
                            && s.starts_with('S')
                            && s[1..].chars().all(|c| c.is_ascii_digit()))
                });
            if !source_ok {
                return Err(bad(
                    "source",
                    format!("{source:?} is not a comma-separated list of S01…S60 or an UNCONFIRMED note"),
                ));
            }
            let idx = rows.len();
            if first == last {
                if let Some(&prev) = exact.get(&(space, first)) {
                    return Err(ReasonTableError::Duplicate {
                        line,
                        first: line_of[prev],
                        space: space.name(),
                        code: code.to_string(),
                    });
                }
                exact.insert((space, first), idx);
            } else {
                // Ranges of one space must not overlap one another.
                let overlapping = ranges.iter().find(|((s, _), &i)| {
                    let r: &ReasonDef = &rows[i];
                    *s == space && r.first <= last && first <= r.last
                });
                if let Some((_, &prev)) = overlapping {
                    return Err(ReasonTableError::Duplicate {
                        line,
                        first: line_of[prev],
                        space: space.name(),
                        code: code.to_string(),
                    });
                }
                ranges.insert((space, first), idx);
            }
            line_of.push(line);
            rows.push(ReasonDef {
                space,
                first,
                last,
                name: opt(cols[2]),
                extended_name: opt(cols[3]),
                class: class.to_string(),
                licensing,
                meaning: meaning.to_string(),
                source: source.to_string(),
            });
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

    fn table(rows: &str) -> Result<ReasonTable, ReasonTableError> {
        ReasonTable::parse(&format!("{}\n{rows}", COLUMNS.join("\t")))
    }

    #[test]
    fn loader_is_strict() {
        let ok = "server\t1\t-\t-\tadmin\tno\tm\tS26";
        assert!(table(ok).is_ok());
        assert!(matches!(
            table(&format!("{ok}\n{ok}")),
            Err(ReasonTableError::Duplicate { .. })
        ));
        assert!(matches!(
            table("server\t1-5\t-\t-\tadmin\tno\tm\tS26\nserver\t3-9\t-\t-\tadmin\tno\tm\tS26"),
            Err(ReasonTableError::Duplicate { .. })
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
            assert!(
                matches!(table(bad), Err(ReasonTableError::BadValue { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            table("server\t1"),
            Err(ReasonTableError::ColumnCount { .. })
        ));
        assert!(matches!(
            ReasonTable::parse("a\tb\n"),
            Err(ReasonTableError::BadHeader { .. })
        ));
        assert!(matches!(
            ReasonTable::parse("# only\n"),
            Err(ReasonTableError::Empty)
        ));
    }
}
