//! Where Group Policy leaves offline evidence of which GPO set a policy value, as data: the
//! registry keys that list the applied GPOs in application order (with the value names read),
//! and the file-path patterns that make a bundle's `Registry.pol` or `GPT.INI` the file of the
//! local GPO or of the GPO a GUID names. Loaded strictly from `group_policy.tsv`.

use std::sync::OnceLock;

use serde::Serialize;

use super::sources::Refs;
use super::table::{Key, Schema, TableError};

const TABLE: &str = include_str!("group_policy.tsv");

/// What an artifact row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A registry key with one numbered subkey per applied GPO.
    GpoList,
    /// A `Registry.pol` file.
    PolicyFile,
    /// A GPO's `GPT.INI`.
    GptIni,
}

/// Computer or user policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Machine,
    User,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Machine => "machine",
            Scope::User => "user",
        }
    }
}

/// The value names a GPO-list row reads from each numbered subkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListValues {
    pub display_name: String,
    pub gpo_name: String,
    pub link: String,
    pub file_sys_path: String,
    pub ds_path: String,
    pub version: String,
    pub gpo_link: String,
    pub options: String,
}

/// One row of `group_policy.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub kind: ArtifactKind,
    /// `None` for `any` (files take the scope from their `{scope}` folder).
    pub scope: Option<Scope>,
    /// Key path (GPO lists) or path pattern (files).
    pub path: String,
    pub values: Option<ListValues>,
    pub src: Refs,
    pub meaning: String,
}

/// What a file path says: which artifact it is, the GPO GUID and the scope it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMatch {
    pub artifact: &'static Artifact,
    /// Upper-case braced GUID from the `{GUID}` component; `None` for the local GPO.
    pub guid: Option<String>,
    pub scope: Option<Scope>,
}

static SCHEMA: Schema = Schema {
    table: "group_policy.tsv",
    columns: &[
        "name", "kind", "scope", "hive", "path", "values", "src", "meaning",
    ],
    keys: &[Key {
        name: "artifact name",
        columns: &["name"],
    }],
};

/// Load the table from text.
pub fn load(text: &str) -> Result<Vec<Artifact>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        let kind = row.keyword(
            "kind",
            &[
                ("gpo_list", ArtifactKind::GpoList),
                ("policy_file", ArtifactKind::PolicyFile),
                ("gpt_ini", ArtifactKind::GptIni),
            ],
        )?;
        let scope = row.keyword(
            "scope",
            &[
                ("machine", Some(Scope::Machine)),
                ("user", Some(Scope::User)),
                ("any", None),
            ],
        )?;
        let hive = row.opt("hive");
        let path = row.str("path").to_string();
        let values = match (kind, row.opt("values")) {
            (ArtifactKind::GpoList, Some(v)) => {
                let names: Vec<&str> = v.split(',').map(str::trim).collect();
                let [display_name, gpo_name, link, file_sys_path, ds_path, version, gpo_link, options] =
                    names[..]
                else {
                    return Err(row.error("values", "a GPO list names exactly 8 values"));
                };
                Some(ListValues {
                    display_name: display_name.into(),
                    gpo_name: gpo_name.into(),
                    link: link.into(),
                    file_sys_path: file_sys_path.into(),
                    ds_path: ds_path.into(),
                    version: version.into(),
                    gpo_link: gpo_link.into(),
                    options: options.into(),
                })
            }
            (ArtifactKind::GpoList, None) => {
                return Err(row.error("values", "a GPO list names the values it reads"))
            }
            (_, Some(_)) => return Err(row.error("values", "only GPO lists name values")),
            (_, None) => None,
        };
        match (kind, hive) {
            (ArtifactKind::GpoList, Some("SOFTWARE")) => {}
            (ArtifactKind::GpoList, _) => {
                return Err(row.error("hive", "a GPO list is a key of the SOFTWARE hive"))
            }
            (_, None) => {}
            (_, Some(_)) => return Err(row.error("hive", "a file row has no hive")),
        }
        if kind != ArtifactKind::GpoList && !path.contains('/') {
            return Err(row.error("path", "a file pattern is `/`-separated"));
        }
        out.push(Artifact {
            name: row.str("name").to_string(),
            kind,
            scope,
            path,
            values,
            src: Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?,
            meaning: row.str("meaning").to_string(),
        });
    }
    Ok(out)
}

/// The embedded table.
pub fn artifacts() -> &'static [Artifact] {
    static ROWS: OnceLock<Vec<Artifact>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load(TABLE).unwrap_or_else(|e| panic!("embedded group policy table is invalid: {e}"))
    })
}

/// The GPO-list rows, in table order (the first present is used).
pub fn gpo_lists() -> impl Iterator<Item = &'static Artifact> {
    artifacts()
        .iter()
        .filter(|a| a.kind == ArtifactKind::GpoList)
}

/// The row named `name`.
pub fn artifact(name: &str) -> Option<&'static Artifact> {
    artifacts().iter().find(|a| a.name == name)
}

/// Whether `s` is a braced GUID (`{8-4-4-4-12}` hex digits).
pub fn is_braced_guid(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Captures while matching one pattern.
#[derive(Default, Clone)]
struct Caps {
    guid: Option<String>,
    scope: Option<Scope>,
}

/// Match `pat` against the whole of `path` (both as components); `**` matches any run.
fn match_here(pat: &[&str], path: &[&str], caps: &mut Caps) -> bool {
    let Some((&p, rest)) = pat.split_first() else {
        return path.is_empty();
    };
    if p == "**" {
        // One `**` per pattern (checked by the table test), so this stays linear per start.
        return (0..=path.len()).any(|skip| {
            let mut c = caps.clone();
            let ok = match_here(rest, &path[skip..], &mut c);
            if ok {
                *caps = c;
            }
            ok
        });
    }
    let Some((&comp, more)) = path.split_first() else {
        return false;
    };
    let ok = match p {
        "{GUID}" if is_braced_guid(comp) => {
            caps.guid = Some(comp.to_ascii_uppercase());
            true
        }
        "{scope}" if comp.eq_ignore_ascii_case("machine") => {
            caps.scope = Some(Scope::Machine);
            true
        }
        "{scope}" if comp.eq_ignore_ascii_case("user") => {
            caps.scope = Some(Scope::User);
            true
        }
        "{GUID}" | "{scope}" => false,
        lit => lit.eq_ignore_ascii_case(comp),
    };
    ok && match_here(rest, more, caps)
}

/// Which Group Policy file a bundle path (`/` or `\` separated) is, if any: the first file row
/// whose pattern matches the end of the path.
pub fn classify_file(path: &str) -> Option<FileMatch> {
    let comps: Vec<&str> = path.split(['/', '\\']).filter(|c| !c.is_empty()).collect();
    // Only the last components can matter (bounded work on deep paths).
    let comps = &comps[comps.len().saturating_sub(16)..];
    for a in artifacts()
        .iter()
        .filter(|a| a.kind != ArtifactKind::GpoList)
    {
        let pat: Vec<&str> = a.path.split('/').collect();
        for start in 0..comps.len() {
            let mut caps = Caps::default();
            if match_here(&pat, &comps[start..], &mut caps) {
                return Some(FileMatch {
                    artifact: a,
                    guid: caps.guid,
                    scope: caps.scope.or(a.scope),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_and_each_pattern_has_at_most_one_double_star() {
        let rows = artifacts();
        assert!(rows.iter().any(|a| a.kind == ArtifactKind::GpoList));
        for a in rows {
            assert!(a.path.matches("**").count() <= 1, "{}", a.name);
        }
    }

    #[test]
    fn files_are_classified_by_the_end_of_their_path() {
        let g = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
        let m = classify_file(&format!(
            "C/ProgramData/Microsoft/Group Policy/History/{}/Machine/Registry.pol",
            g.to_lowercase()
        ))
        .unwrap();
        assert_eq!(m.artifact.name, "history_cache");
        assert_eq!(m.guid.as_deref(), Some(g));
        assert_eq!(m.scope, Some(Scope::Machine));
        let m = classify_file(&format!(
            r"C\Windows\System32\GroupPolicy\DataStore\0\sysvol\contoso.local\Policies\{g}\User\registry.pol"
        ))
        .unwrap();
        assert_eq!(m.artifact.name, "datastore_cache");
        assert_eq!(m.scope, Some(Scope::User));
        let m =
            classify_file(&format!("SYSVOL/contoso/Policies/{g}/MACHINE/Registry.pol")).unwrap();
        assert_eq!(m.artifact.name, "gpo_folder");
        let m = classify_file("C/Windows/System32/GroupPolicy/Machine/Registry.pol").unwrap();
        assert_eq!(m.artifact.name, "local_gpo");
        assert_eq!(m.guid, None);
        let m = classify_file(&format!("Policies/{g}/GPT.INI")).unwrap();
        assert_eq!(m.artifact.name, "gpt_ini");
        assert!(classify_file("C/Windows/Registry.pol").is_none());
        assert!(classify_file("x/{not-a-guid}/Machine/Registry.pol").is_none());
        assert!(classify_file("GPT.INI").is_none());
    }

    #[test]
    fn guids_are_checked_digit_by_digit() {
        assert!(is_braced_guid("{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"));
        assert!(!is_braced_guid("35378EAC-683F-11D2-A89A-00C04FBBCFA2"));
        assert!(!is_braced_guid("{35378EAC-683F-11D2-A89A-00C04FBBCFAZ}"));
    }
}
