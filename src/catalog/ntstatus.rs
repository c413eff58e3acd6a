//! Logon failure status codes (NTSTATUS, Security 4625 `Status`/`SubStatus`) as data: what each
//! code says in our own words, its class (the account is not allowed, the account's state, bad
//! credentials, or the logon could not be checked) and what to do, per logon type where the
//! meaning differs (Remote Desktop 10, network/NLA 3), loaded strictly from `ntstatus.tsv` so a
//! code is corrected by editing one row.

use std::sync::OnceLock;

use serde::Serialize;

use super::table::{Key, Row, Schema, TableError};

/// The embedded status table.
pub const NTSTATUS_TSV: &str = include_str!("ntstatus.tsv");

/// The declaration of `ntstatus.tsv`: its columns in order and its key.
pub static SCHEMA: Schema = Schema {
    table: "ntstatus.tsv",
    columns: &[
        "status",
        "logon_type",
        "class",
        "meaning",
        "remedy",
        "source",
    ],
    keys: &[Key {
        name: "row for status and logon type",
        columns: &["status", "logon_type"],
    }],
};

/// Which side of the logon-denied rule a code falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// A right or a restriction refuses the account (a configuration cause with a remedy).
    NotAllowed,
    /// The account is disabled, expired, locked out, or its password must change.
    AccountState,
    /// Wrong user name or password.
    BadCredentials,
    /// The logon could not be checked (no domain controller, clock skew, trust).
    Infrastructure,
}

impl FailureClass {
    /// Whether the account (or the infrastructure), not the password, refused the logon.
    pub fn is_refusal(self) -> bool {
        !matches!(self, FailureClass::BadCredentials)
    }

    pub fn name(self) -> &'static str {
        match self {
            FailureClass::NotAllowed => "not-allowed",
            FailureClass::AccountState => "account-state",
            FailureClass::BadCredentials => "bad-credentials",
            FailureClass::Infrastructure => "infrastructure",
        }
    }
}

/// One row: a status code (for one logon type, or any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusDef {
    pub status: u32,
    /// `None`: any logon type without its own row.
    pub logon_type: Option<u32>,
    pub class: FailureClass,
    /// What the code says, our words.
    pub meaning: String,
    /// What to do, our words (`None` for bad credentials).
    pub remedy: Option<String>,
    pub source: String,
}

/// The loaded table.
#[derive(Debug, Clone)]
pub struct StatusTable {
    rows: Vec<StatusDef>,
}

impl StatusTable {
    /// Parse a table (through the strict loader of [`crate::catalog::table`]).
    pub fn parse(text: &str) -> Result<StatusTable, TableError> {
        let rows = SCHEMA
            .rows(text)?
            .iter()
            .map(parse_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StatusTable { rows })
    }

    pub fn rows(&self) -> &[StatusDef] {
        &self.rows
    }

    /// The row for `status` at `logon_type`: the logon type's own row first, else the `*` row.
    pub fn lookup(&self, status: u32, logon_type: Option<u32>) -> Option<&StatusDef> {
        self.rows
            .iter()
            .find(|r| r.status == status && r.logon_type.is_some() && r.logon_type == logon_type)
            .or_else(|| {
                self.rows
                    .iter()
                    .find(|r| r.status == status && r.logon_type.is_none())
            })
    }

    /// The code a 4625 is explained by and its row: `SubStatus` when it is non-zero and known,
    /// else `Status` when known, else the more specific of the two without a row.
    pub fn decode(
        &self,
        status: Option<&str>,
        sub_status: Option<&str>,
        logon_type: Option<u32>,
    ) -> Option<(u32, Option<&StatusDef>)> {
        let sub = sub_status.and_then(parse_code).filter(|c| *c != 0);
        let main = status.and_then(parse_code).filter(|c| *c != 0);
        for code in [sub, main].into_iter().flatten() {
            if let Some(def) = self.lookup(code, logon_type) {
                return Some((code, Some(def)));
            }
        }
        sub.or(main).map(|c| (c, None))
    }
}

/// `0xC000006D` (any case, with or without `0x`) as a number.
pub fn parse_code(text: &str) -> Option<u32> {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u32::from_str_radix(hex, 16).ok()
}

fn parse_row(row: &Row<'_>) -> Result<StatusDef, TableError> {
    let cell = row.str("status");
    let status = match cell.strip_prefix("0x") {
        Some(h) if h.len() == 8 => u32::from_str_radix(h, 16).ok(),
        _ => None,
    }
    .ok_or_else(|| row.error("status", format!("{cell:?} is not 0x and 8 hex digits")))?;
    let logon_type = match row.str("logon_type") {
        "*" => None,
        _ => Some(row.parse::<u32>("logon_type", "a logon type number or *")?),
    };
    let class = row.keyword(
        "class",
        &[
            ("not-allowed", FailureClass::NotAllowed),
            ("account-state", FailureClass::AccountState),
            ("bad-credentials", FailureClass::BadCredentials),
            ("infrastructure", FailureClass::Infrastructure),
        ],
    )?;
    let remedy = row.opt("remedy").map(str::to_string);
    if remedy.is_some() == (class == FailureClass::BadCredentials) {
        return Err(row.error(
            "remedy",
            "bad-credentials rows have no remedy (\"-\"); every other class has one",
        ));
    }
    let source = row.str("source");
    if !source
        .split(',')
        .all(|s| crate::catalog::sources::is_defined(s.trim()))
    {
        return Err(row.error(
            "source",
            format!("{source:?} is not a comma-separated list of defined source ids"),
        ));
    }
    Ok(StatusDef {
        status,
        logon_type,
        class,
        meaning: row.str("meaning").to_string(),
        remedy,
        source: source.to_string(),
    })
}

/// The embedded table (validated by this module's tests).
pub fn statuses() -> &'static StatusTable {
    static TABLE: OnceLock<StatusTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        StatusTable::parse(NTSTATUS_TSV)
            .unwrap_or_else(|e| panic!("embedded status table is invalid: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "status\tlogon_type\tclass\tmeaning\tremedy\tsource\n";

    #[test]
    fn embedded_table_loads_with_every_class() {
        let t = StatusTable::parse(NTSTATUS_TSV).expect("ntstatus.tsv parses");
        for class in [
            FailureClass::NotAllowed,
            FailureClass::AccountState,
            FailureClass::BadCredentials,
            FailureClass::Infrastructure,
        ] {
            assert!(t.rows().iter().any(|r| r.class == class), "{class:?}");
        }
    }

    #[test]
    fn the_logon_type_row_wins_over_the_star_row() {
        let t = statuses();
        let rdp = t.lookup(0xC000015B, Some(10)).unwrap();
        let nla = t.lookup(0xC000015B, Some(3)).unwrap();
        let other = t.lookup(0xC000015B, Some(2)).unwrap();
        assert!(rdp
            .remedy
            .as_deref()
            .unwrap()
            .contains("Remote Desktop Users"));
        assert!(nla.meaning.contains("Network Level Authentication"));
        assert_eq!(other.logon_type, None);
    }

    #[test]
    fn sub_status_explains_first_then_status() {
        let t = statuses();
        let (code, def) = t
            .decode(Some("0xc000006d"), Some("0xc000006a"), Some(3))
            .unwrap();
        assert_eq!(code, 0xC000006A);
        assert_eq!(def.unwrap().class, FailureClass::BadCredentials);
        let (code, def) = t.decode(Some("0xC0000234"), Some("0x0"), Some(10)).unwrap();
        assert_eq!(code, 0xC0000234);
        assert_eq!(def.unwrap().class, FailureClass::AccountState);
        // An unknown sub-status falls back to a known status.
        let (code, _) = t
            .decode(Some("0xC000006D"), Some("0xC0009999"), Some(10))
            .unwrap();
        assert_eq!(code, 0xC000006D);
        // Nothing known: the more specific code, without a row.
        assert_eq!(
            t.decode(Some("0xC0001111"), Some("0xC0009999"), None),
            Some((0xC0009999, None))
        );
        assert_eq!(t.decode(Some("0x0"), None, None), None);
    }

    #[test]
    fn rows_are_checked() {
        let ok = "0xC0000072\t*\taccount-state\tdisabled\tenable it\tS80\n";
        assert!(StatusTable::parse(&format!("{HDR}{ok}")).is_ok());
        for bad in [
            "C0000072\t*\taccount-state\tdisabled\tenable it\tS80\n",
            "0xC0000072\tten\taccount-state\tdisabled\tenable it\tS80\n",
            "0xC0000072\t*\tnope\tdisabled\tenable it\tS80\n",
            "0xC0000072\t*\taccount-state\tdisabled\t-\tS80\n",
            "0xC000006A\t*\tbad-credentials\twrong\tretype it\tS80\n",
            "0xC0000072\t*\taccount-state\tdisabled\tenable it\tS99\n",
        ] {
            assert!(StatusTable::parse(&format!("{HDR}{bad}")).is_err(), "{bad}");
        }
        assert!(
            StatusTable::parse(&format!("{HDR}{ok}{ok}")).is_err(),
            "duplicate"
        );
    }
}
