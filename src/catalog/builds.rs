//! Windows builds as data: build number → Windows Server version name, the client release that
//! shares the build, and the RDS licensing behaviour of that version (soft enforcement, grace),
//! loaded strictly from `builds.tsv` so version facts are corrected in one row.

use std::sync::OnceLock;

use serde::Serialize;

use super::settings::Refs;
use super::table::{Key, Schema, TableError};

const BUILDS_TSV: &str = include_str!("builds.tsv");

/// One known Windows build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    pub build: u32,
    /// Product name of the server release (`Windows Server 2019`).
    pub server_name: String,
    /// NT version (`10.0`).
    pub version: String,
    /// Client release sharing the build (`Windows 10 1809`), if any.
    pub client_name: Option<String>,
    /// Soft enforcement (60-minute warning then disconnect) for Per Device licensing.
    pub soft_enforcement_per_device: bool,
    /// Soft enforcement for Per User licensing.
    pub soft_enforcement_per_user: bool,
    pub grace_days: u32,
    pub src: Refs,
}

/// The embedded build table (validated by this module's tests).
pub fn builds() -> &'static [BuildInfo] {
    static BUILDS: OnceLock<Vec<BuildInfo>> = OnceLock::new();
    BUILDS.get_or_init(|| {
        load(BUILDS_TSV).unwrap_or_else(|e| panic!("embedded build table is invalid: {e}"))
    })
}

/// The row for exactly this build number.
pub fn lookup(build: u32) -> Option<&'static BuildInfo> {
    builds().iter().find(|b| b.build == build)
}

/// The declaration of `builds.tsv`.
static SCHEMA: Schema = Schema {
    table: "builds.tsv",
    columns: &[
        "build",
        "server_name",
        "version",
        "client_name",
        "soft_device",
        "soft_user",
        "grace_days",
        "src",
    ],
    keys: &[Key {
        name: "build",
        columns: &["build"],
    }],
};

/// Load a build table from text.
pub fn load(text: &str) -> Result<Vec<BuildInfo>, TableError> {
    let mut out: Vec<BuildInfo> = Vec::new();
    for row in SCHEMA.rows(text)? {
        let build: u32 = row.parse("build", "a number")?;
        if out.last().is_some_and(|b| b.build > build) {
            return Err(row.error("build", "builds must be in ascending order"));
        }
        out.push(BuildInfo {
            build,
            server_name: row.str("server_name").to_string(),
            version: row.str("version").to_string(),
            client_name: row.opt("client_name").map(str::to_string),
            soft_enforcement_per_device: row.yes_no("soft_device")?,
            soft_enforcement_per_user: row.yes_no("soft_user")?,
            grace_days: row.parse("grace_days", "a number")?,
            src: Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads() {
        let b = load(BUILDS_TSV).unwrap();
        assert!(b.len() >= 8);
        let ws2019 = lookup(17763).unwrap();
        assert_eq!(ws2019.server_name, "Windows Server 2019");
        assert!(ws2019.soft_enforcement_per_device && ws2019.soft_enforcement_per_user);
        let ws2016 = lookup(14393).unwrap();
        assert!(ws2016.soft_enforcement_per_device && !ws2016.soft_enforcement_per_user);
        assert!(!lookup(20348).unwrap().soft_enforcement_per_device);
        assert!(lookup(1).is_none());
    }

    #[test]
    fn rejects_bad_rows() {
        let h =
            "build\tserver_name\tversion\tclient_name\tsoft_device\tsoft_user\tgrace_days\tsrc\n";
        for (rows, want) in [
            ("x\tA\t1\t-\tno\tno\t120\tS01\n", "not a number"),
            (
                "2\tA\t1\t-\tno\tno\t120\tS01\n1\tA\t1\t-\tno\tno\t120\tS01\n",
                "ascending",
            ),
            (
                "1\tA\t1\t-\tno\tno\t120\tS01\n1\tA\t1\t-\tno\tno\t120\tS01\n",
                "duplicate",
            ),
            ("1\tA\t1\t-\tmaybe\tno\t120\tS01\n", "yes or no"),
            ("1\tA\t1\t-\tno\tno\t120\t-\n", "source"),
        ] {
            let e = load(&format!("{h}{rows}")).unwrap_err();
            assert!(e.to_string().contains(want), "{want}: {e}");
        }
    }
}
