//! gpresult facts as data: where collectors keep gpresult output (`gpresult_files.tsv`) and which
//! Administrative Templates policy, by the display name gpresult shows, writes which RDS setting
//! (`gp_policies.tsv`). Both loaded strictly, each row with its source.

use std::sync::OnceLock;

use serde::Serialize;

use super::settings::{catalog, Refs};
use super::table::{Key, Schema, TableError};

const FILES_TSV: &str = include_str!("gpresult_files.tsv");
const POLICIES_TSV: &str = include_str!("gp_policies.tsv");

/// Which gpresult switch wrote a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpresultForm {
    /// `gpresult /x`: the RSoP XML report.
    Xml,
    /// `gpresult /z` or `/v`: the text report.
    Text,
    /// `gpresult /h`: the HTML report.
    Html,
}

impl GpresultForm {
    pub fn name(self) -> &'static str {
        match self {
            GpresultForm::Xml => "xml",
            GpresultForm::Text => "text",
            GpresultForm::Html => "html",
        }
    }

    /// The switch that writes this form, for people.
    pub fn switch(self) -> &'static str {
        match self {
            GpresultForm::Xml => "gpresult /x",
            GpresultForm::Text => "gpresult /z (or /v)",
            GpresultForm::Html => "gpresult /h",
        }
    }
}

/// One file-name signature of `gpresult_files.tsv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSignature {
    /// `msrd_collect`, `tss` or `any`.
    pub collector: String,
    /// Lower-case end of the file name.
    pub suffix: String,
    pub form: GpresultForm,
    pub src: Refs,
}

/// Which policy scope a policy belongs to (the ADMX class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    Computer,
    User,
    Both,
}

/// One row of `gp_policies.tsv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyName {
    /// The English display name.
    pub policy: String,
    pub scope: PolicyScope,
    /// A setting of `settings.tsv`.
    pub setting: String,
    /// The value the policy writes under `Software\Policies\Microsoft\Windows NT\Terminal Services`.
    pub value: String,
    pub src: Refs,
}

/// The key every policy of `gp_policies.tsv` writes to, relative to the hive root.
pub const TS_POLICY_KEY: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";

static FILES: Schema = Schema {
    table: "gpresult_files.tsv",
    columns: &["collector", "suffix", "form", "src"],
    keys: &[Key {
        name: "file-name suffix",
        columns: &["suffix"],
    }],
};

static POLICIES: Schema = Schema {
    table: "gp_policies.tsv",
    columns: &["policy", "scope", "setting", "value", "src"],
    keys: &[Key {
        name: "policy",
        columns: &["policy"],
    }],
};

fn refs(row: &super::table::Row<'_>) -> Result<Refs, TableError> {
    Refs::parse(row.str("src")).map_err(|e| row.error("src", e))
}

/// Parse `gpresult_files.tsv`.
pub fn load_files(text: &str) -> Result<Vec<FileSignature>, TableError> {
    let mut out = Vec::new();
    for row in FILES.rows(text)? {
        let collector = row.keyword(
            "collector",
            &[
                ("msrd_collect", "msrd_collect"),
                ("tss", "tss"),
                ("any", "any"),
            ],
        )?;
        let suffix = row.str("suffix");
        if suffix.is_empty() || suffix != suffix.to_ascii_lowercase() {
            return Err(row.error("suffix", "must be a non-empty lower-case file-name end"));
        }
        let form = row.keyword(
            "form",
            &[
                ("xml", GpresultForm::Xml),
                ("text", GpresultForm::Text),
                ("html", GpresultForm::Html),
            ],
        )?;
        out.push(FileSignature {
            collector: collector.to_string(),
            suffix: suffix.to_string(),
            form,
            src: refs(&row)?,
        });
    }
    Ok(out)
}

/// Parse `gp_policies.tsv`; every setting must be one of `settings.tsv`.
pub fn load_policies(text: &str) -> Result<Vec<PolicyName>, TableError> {
    let mut out = Vec::new();
    for row in POLICIES.rows(text)? {
        let setting = row.str("setting");
        if catalog().setting(setting).is_none() {
            return Err(row.error("setting", format!("{setting:?} is not in settings.tsv")));
        }
        out.push(PolicyName {
            policy: row.str("policy").to_string(),
            scope: row.keyword(
                "scope",
                &[
                    ("computer", PolicyScope::Computer),
                    ("user", PolicyScope::User),
                    ("both", PolicyScope::Both),
                ],
            )?,
            setting: setting.to_string(),
            value: row.str("value").to_string(),
            src: refs(&row)?,
        });
    }
    Ok(out)
}

/// The embedded file-name signatures.
pub fn files() -> &'static [FileSignature] {
    static ROWS: OnceLock<Vec<FileSignature>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load_files(FILES_TSV)
            .unwrap_or_else(|e| panic!("embedded gpresult file table is invalid: {e}"))
    })
}

/// The embedded policy names.
pub fn policies() -> &'static [PolicyName] {
    static ROWS: OnceLock<Vec<PolicyName>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load_policies(POLICIES_TSV)
            .unwrap_or_else(|e| panic!("embedded policy name table is invalid: {e}"))
    })
}

/// The signature a file name (any path; the last component counts) matches: the longest suffix
/// wins, so a collector's own name beats the generic `any` rows.
pub fn signature_of(path: &str) -> Option<&'static FileSignature> {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    files()
        .iter()
        .filter(|s| name.ends_with(&s.suffix))
        .max_by_key(|s| s.suffix.len())
}

/// The policy with this display name (case-insensitive, surrounding spaces ignored).
pub fn policy_named(name: &str) -> Option<&'static PolicyName> {
    let name = name.trim();
    policies()
        .iter()
        .find(|p| p.policy.eq_ignore_ascii_case(name))
}

/// The policy that writes this value of the Terminal Services policy key (case-insensitive).
pub fn policy_for_value(value: &str) -> Option<&'static PolicyName> {
    policies()
        .iter()
        .find(|p| p.value.eq_ignore_ascii_case(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_load() {
        assert!(files().len() >= 5);
        assert!(policies().iter().any(|p| p.setting == "licensing_mode"));
    }

    #[test]
    fn the_longest_suffix_decides() {
        let s = signature_of(r"MSRD-Results-X\X_SystemInfo\X_Gpresult.html").expect("match");
        assert_eq!(s.collector, "msrd_collect");
        assert_eq!(s.form, GpresultForm::Html);
        assert_eq!(
            signature_of("out/gpresult.xml").map(|s| s.form),
            Some(GpresultForm::Xml)
        );
        assert!(signature_of("notes.txt").is_none());
    }

    #[test]
    fn bad_rows_are_refused() {
        let bad = "collector\tsuffix\tform\tsrc\nmsrd\tx.htm\thtml\tS110\n";
        assert!(load_files(bad).is_err());
        let bad = "policy\tscope\tsetting\tvalue\tsrc\nX\tcomputer\tno_such\tV\tS01\n";
        assert!(load_policies(bad).is_err());
        let bad = "collector\tsuffix\tform\tsrc\ntss\tX.htm\thtml\tS110\n";
        assert!(load_files(bad).is_err());
    }

    #[test]
    fn policy_lookup_ignores_case() {
        assert_eq!(
            policy_named("set the remote desktop LICENSING mode ").map(|p| p.value.as_str()),
            Some("LicensingMode")
        );
        assert_eq!(
            policy_for_value("maxidletime").map(|p| p.setting.as_str()),
            Some("max_idle_time")
        );
    }
}
