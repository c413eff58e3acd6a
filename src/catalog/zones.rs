//! Windows time zone key names → IANA zone names as data (`windows_zones.tsv`, from CLDR's
//! windowsZones mapping), so `--tz host` can show times in the capture's own zone with its
//! daylight saving time.

use std::sync::OnceLock;

use super::settings::Refs;
use super::table::{Key, Schema, TableError};

const ZONES_TSV: &str = include_str!("windows_zones.tsv");

/// One Windows zone and the IANA zone it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsZone {
    pub windows: String,
    pub iana: String,
    pub src: Refs,
}

static SCHEMA: Schema = Schema {
    table: "windows_zones.tsv",
    columns: &["windows", "iana", "src"],
    keys: &[Key {
        name: "windows zone",
        columns: &["windows"],
    }],
};

/// Load a zone table from text.
pub fn load(text: &str) -> Result<Vec<WindowsZone>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        out.push(WindowsZone {
            windows: row.str("windows").to_string(),
            iana: row.str("iana").to_string(),
            src: Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?,
        });
    }
    Ok(out)
}

/// The embedded table (validated by this module's tests).
pub fn zones() -> &'static [WindowsZone] {
    static ZONES: OnceLock<Vec<WindowsZone>> = OnceLock::new();
    ZONES.get_or_init(|| {
        load(ZONES_TSV).unwrap_or_else(|e| panic!("embedded windows zone table is invalid: {e}"))
    })
}

/// The IANA zone of a Windows zone key name (case-insensitive, surrounding blanks and NULs
/// ignored).
pub fn iana_of(windows: &str) -> Option<&'static WindowsZone> {
    let w = windows.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    zones().iter().find(|z| z.windows.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_maps_common_zones() {
        assert!(zones().len() > 100);
        assert_eq!(
            iana_of("W. Europe Standard Time").unwrap().iana,
            "Europe/Berlin"
        );
        assert_eq!(
            iana_of("pacific standard time\0").unwrap().iana,
            "America/Los_Angeles"
        );
        assert!(iana_of("Mars Standard Time").is_none());
        for z in zones() {
            assert!(!z.iana.contains(' '), "{}", z.windows);
        }
    }
}
