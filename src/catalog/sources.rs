//! The source IDs every table row cites: the reference's list (section 18 of
//! `docs/rds-reference.md`: S01…S55 and S60) and the sources rdsdiag added since
//! (`sources.tsv`, S61 and up). One validator for every table's source column.

use std::sync::OnceLock;

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
}
