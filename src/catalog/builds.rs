//! Windows builds as data: build number → Windows Server version name, the client release that
//! shares the build, and the RDS licensing behaviour of that version (soft enforcement, grace),
//! loaded strictly from `builds.tsv` so version facts are corrected in one row.

use std::sync::OnceLock;

use serde::Serialize;

use super::settings::{tsv_rows, CatalogError, Refs};

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

/// Load a build table from text.
pub fn load(text: &str) -> Result<Vec<BuildInfo>, CatalogError> {
    const FILE: &str = "builds.tsv";
    let header = [
        "build",
        "server_name",
        "version",
        "client_name",
        "soft_device",
        "soft_user",
        "grace_days",
        "src",
    ];
    let mut out: Vec<BuildInfo> = Vec::new();
    for (line, c) in tsv_rows(FILE, text, &header)? {
        let err = |message: String| CatalogError {
            file: FILE,
            line,
            message,
        };
        let build: u32 = c[0]
            .parse()
            .map_err(|_| err(format!("build {:?} is not a number", c[0])))?;
        if out.iter().any(|b| b.build == build) {
            return Err(err(format!("duplicate build {build}")));
        }
        if out.last().is_some_and(|b| b.build > build) {
            return Err(err("builds must be in ascending order".into()));
        }
        let yes_no = |cell: &str, col: &str| match cell {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(err(format!("{col} must be yes or no, found {other:?}"))),
        };
        let soft_enforcement_per_device = yes_no(c[4], "soft_device")?;
        let soft_enforcement_per_user = yes_no(c[5], "soft_user")?;
        let grace_days = c[6]
            .parse()
            .map_err(|_| err(format!("grace_days {:?} is not a number", c[6])))?;
        let src = Refs::parse(c[7]).map_err(err)?;
        out.push(BuildInfo {
            build,
            server_name: c[1].to_string(),
            version: c[2].to_string(),
            client_name: (c[3] != "-").then(|| c[3].to_string()),
            soft_enforcement_per_device,
            soft_enforcement_per_user,
            grace_days,
            src,
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
