//! The source IDs every table row cites: the reference's list (section 18 of
//! `docs/rds-reference.md`: S01…S55 and S60) and the sources rdsdiag added since
//! (`sources.tsv`, S61 and up). One validator for every table's source column.

use std::sync::OnceLock;

use serde::Serialize;

use crate::catalog::table::{Key, Schema, TableError};

const TABLE: &str = include_str!("sources.tsv");

/// One source added beyond the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    pub url: String,
    pub used_for: String,
}

static SCHEMA: Schema = Schema {
    table: "sources.tsv",
    columns: &["id", "url", "used_for"],
    keys: &[Key {
        name: "source id",
        columns: &["id"],
    }],
};

/// Parse the table (strict: ids are `S` and two or more digits, above the reference's range).
pub fn load(text: &str) -> Result<Vec<Source>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        let id = row.str("id");
        match number(id) {
            Some(n) if n > 60 => {}
            _ => return Err(row.error("id", format!("{id:?} is not S61 or above"))),
        }
        let url = row.str("url");
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(row.error("url", format!("{url:?} is not a URL")));
        }
        out.push(Source {
            id: id.to_string(),
            url: url.to_string(),
            used_for: row.str("used_for").to_string(),
        });
    }
    Ok(out)
}

/// The sources added beyond the reference.
pub fn added() -> &'static [Source] {
    static ROWS: OnceLock<Vec<Source>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load(TABLE).unwrap_or_else(|e| panic!("embedded sources table is invalid: {e}"))
    })
}

fn number(id: &str) -> Option<u32> {
    let d = id.strip_prefix('S')?;
    (d.len() >= 2 && d.bytes().all(|b| b.is_ascii_digit()))
        .then(|| d.parse().ok())
        .flatten()
}

/// Whether `id` (`S07`) names a source: the reference's S01…S55 and S60, or a row of
/// `sources.tsv`.
pub fn is_defined(id: &str) -> bool {
    match number(id) {
        Some(n) if (1..=55).contains(&n) || n == 60 => id.len() == 3,
        Some(_) => added().iter().any(|s| s.id == id),
        None => false,
    }
}

/// Whether a table row's fact is confirmed by its sources, or still marked UNCONFIRMED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Confirmed,
    /// The row may add context; it never raises a warning or error alone.
    Unconfirmed,
}

/// A table's source column, one grammar for every table: source IDs (`S29, S54`; the comma may
/// go without the space) and/or an UNCONFIRMED statement saying what is unknown
/// (`S54; UNCONFIRMED: wording`, or `UNCONFIRMED: …` alone). Every ID must be defined
/// ([`is_defined`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Refs {
    text: String,
    /// Decided once at parse: lookups per event must not search the text.
    status: Status,
}

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

    fn id_list(ids: &str) -> Vec<&str> {
        if ids.is_empty() {
            Vec::new()
        } else {
            ids.split(',').map(str::trim).collect()
        }
    }

    /// Parse and validate a source cell.
    pub fn parse(text: &str) -> Result<Refs, String> {
        let (ids, unconfirmed) = Self::parts(text);
        if unconfirmed.is_some_and(|u| u.trim().is_empty()) || text.trim() == "UNCONFIRMED:" {
            return Err("UNCONFIRMED must say what is unknown".into());
        }
        if ids.is_empty() && unconfirmed.is_none() {
            return Err("empty source".into());
        }
        for id in Self::id_list(ids) {
            if !is_defined(id) {
                return Err(format!(
                    "{id:?} is not a source ID defined in the reference (S01…S55, S60) or in sources.tsv (then optionally \"; UNCONFIRMED: …\")"
                ));
            }
        }
        Ok(Refs {
            text: text.to_string(),
            status: if unconfirmed.is_some() {
                Status::Unconfirmed
            } else {
                Status::Confirmed
            },
        })
    }

    /// The whole column text (what JSON shows).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The source IDs (`S01`, …) named.
    pub fn ids(&self) -> Vec<&str> {
        Self::id_list(Self::parts(&self.text).0)
    }

    /// The UNCONFIRMED statement, if any.
    pub fn unconfirmed(&self) -> Option<&str> {
        Self::parts(&self.text).1
    }

    /// Confirmed unless the cell carries an UNCONFIRMED statement.
    pub fn status(&self) -> Status {
        self.status
    }
}

impl Serialize for Refs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads() {
        let rows = load(TABLE).expect("sources.tsv parses");
        for r in &rows {
            assert!(is_defined(&r.id), "{}", r.id);
        }
    }

    #[test]
    fn reference_ids_and_added_ids() {
        assert!(is_defined("S01") && is_defined("S55") && is_defined("S60"));
        assert!(!is_defined("S56") && !is_defined("S1") && !is_defined("X01"));
        let head = "id\turl\tused_for\n";
        assert!(load(&format!("{head}S61\thttps://example.org\tx\n")).is_ok());
        assert!(load(&format!("{head}S12\thttps://example.org\tx\n")).is_err());
        assert!(load(&format!("{head}S61\tnot a url\tx\n")).is_err());
    }

    #[test]
    fn refs_grammar_and_status() {
        let r = Refs::parse("S29,S54").unwrap();
        assert_eq!(r.ids(), vec!["S29", "S54"]);
        assert_eq!(r.status(), Status::Confirmed);
        let r = Refs::parse("S54; UNCONFIRMED: wording").unwrap();
        assert_eq!(r.status(), Status::Unconfirmed);
        assert_eq!(r.unconfirmed(), Some("wording"));
        for bad in [
            "S54; wording UNCONFIRMED",
            "rdsdiag policy",
            "S56",
            "UNCONFIRMED: ",
            "",
            "S54; UNCONFIRMED: ",
        ] {
            assert!(Refs::parse(bad).is_err(), "{bad:?}");
        }
    }
}
