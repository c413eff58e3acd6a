//! Key-path handling shared by every source: splitting, case-insensitive comparison, the
//! `CurrentControlSet` ↔ `ControlSetNNN` mapping, and the root keys of text exports
//! (`HKEY_LOCAL_MACHINE\SYSTEM` → SYSTEM hive, `HKEY_USERS\<SID>` → NTUSER …; reference §1.2).

use super::types::{Lookup, RegValue, Unreadable};
use crate::evidence::HiveKind;

/// Registry names compare case-insensitively (reference §1.2).
pub fn fold(s: &str) -> String {
    s.to_uppercase()
}

/// Without allocating when both names are ASCII (then upper-casing is ASCII upper-casing).
pub fn name_eq(a: &str, b: &str) -> bool {
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    fold(a) == fold(b)
}

/// Split a `\`-separated path into its non-empty components.
pub fn split(path: &str) -> Vec<&str> {
    path.split('\\').filter(|c| !c.is_empty()).collect()
}

/// Join components with `\`.
pub fn join<S: AsRef<str>>(comps: &[S]) -> String {
    let mut out = String::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            out.push('\\');
        }
        out.push_str(c.as_ref());
    }
    out
}

/// The folded form of a path used as a map key.
pub fn fold_path<S: AsRef<str>>(comps: &[S]) -> String {
    fold(&join(comps))
}

pub fn is_current_control_set(comp: &str) -> bool {
    comp.eq_ignore_ascii_case("CurrentControlSet")
}

/// `ControlSet001` → 1 (any number of digits: `ControlSet010` → 10).
pub fn control_set_number(comp: &str) -> Option<u32> {
    let rest = comp
        .get(..10)
        .filter(|p| p.eq_ignore_ascii_case("ControlSet"))
        .and(comp.get(10..))?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The key name of control set `n` (`ControlSet%03d`).
pub fn control_set_name(n: u32) -> String {
    format!("ControlSet{n:03}")
}

/// The current control set from a lookup of `Select\Current`: a number, else `Unreadable`
/// naming the file and the type found.
pub(crate) fn current_control_set(select: Lookup<RegValue>) -> Lookup<u32> {
    match select {
        Lookup::Found(v) => match v.data.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Lookup::Found(n),
            None => Lookup::Unreadable(Unreadable {
                file: v.provenance.file.clone(),
                offset: None,
                reason: format!("Select\\Current is not a number ({})", v.data.type_name()),
            }),
        },
        other => other.cast(),
    }
}

/// Root keys of full registry paths, as written in text exports. Facts as data.
const MACHINE_ROOTS: &[&str] = &["HKEY_LOCAL_MACHINE", "HKLM"];
const USER_ROOTS: &[&str] = &["HKEY_CURRENT_USER", "HKCU"];
const USERS_ROOTS: &[&str] = &["HKEY_USERS", "HKU"];
const MACHINE_HIVES: &[(&str, HiveKind)] = &[
    ("SYSTEM", HiveKind::System),
    ("SOFTWARE", HiveKind::Software),
    ("SECURITY", HiveKind::Security),
    ("SAM", HiveKind::Sam),
];

/// A full key path of a text export mapped to a hive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedKey {
    pub hive: HiveKind,
    /// Components below the hive root, as spelled in the source.
    pub rel: Vec<String>,
}

/// Map `HKEY_LOCAL_MACHINE\SYSTEM\…` (or `HKLM\…`, `HKEY_CURRENT_USER\…`, `HKEY_USERS\<SID>\…`)
/// to a hive and a relative path. `Err` names why the root is not a hive rdsdiag reads.
pub fn map_full_key(path: &str) -> Result<MappedKey, String> {
    let comps = split(path);
    let Some(root) = comps.first() else {
        return Err("empty key path".into());
    };
    let is = |set: &[&str]| set.iter().any(|r| r.eq_ignore_ascii_case(root));
    let rel = |from: usize| {
        comps
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    if is(MACHINE_ROOTS) {
        let Some(sub) = comps.get(1) else {
            return Err(format!("{root} itself is not a hive"));
        };
        return MACHINE_HIVES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(sub))
            .map(|(_, hive)| MappedKey {
                hive: *hive,
                rel: rel(2),
            })
            .ok_or_else(|| format!("{root}\\{sub} is not a hive file rdsdiag reads"));
    }
    if is(USER_ROOTS) {
        return Ok(MappedKey {
            hive: HiveKind::NtUser,
            rel: rel(1),
        });
    }
    if is(USERS_ROOTS) {
        let Some(sid) = comps.get(1) else {
            return Err(format!("{root} itself is not a hive"));
        };
        let hive = if sid.to_ascii_uppercase().ends_with("_CLASSES") {
            HiveKind::UsrClass
        } else {
            HiveKind::NtUser
        };
        return Ok(MappedKey { hive, rel: rel(2) });
    }
    Err(format!("{root} is not a hive root rdsdiag reads"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_roots() {
        let m = map_full_key(r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control").expect("maps");
        assert_eq!(m.hive, HiveKind::System);
        assert_eq!(m.rel, vec!["CurrentControlSet", "Control"]);
        assert_eq!(
            map_full_key(r"hklm\software").expect("maps").rel,
            Vec::<String>::new()
        );
        assert_eq!(
            map_full_key(r"HKEY_USERS\S-1-5-21-1\Software")
                .expect("maps")
                .hive,
            HiveKind::NtUser
        );
        assert_eq!(
            map_full_key(r"HKEY_USERS\S-1-5-21-1_Classes\x")
                .expect("maps")
                .hive,
            HiveKind::UsrClass
        );
        assert_eq!(
            map_full_key(r"HKEY_CURRENT_USER\Software")
                .expect("maps")
                .rel,
            vec!["Software"]
        );
        assert!(map_full_key(r"HKEY_CLASSES_ROOT\.txt").is_err());
        assert!(map_full_key(r"HKEY_LOCAL_MACHINE\HARDWARE").is_err());
    }

    #[test]
    fn control_sets() {
        assert_eq!(control_set_number("ControlSet001"), Some(1));
        assert_eq!(control_set_number("controlset012"), Some(12));
        assert_eq!(control_set_number("ControlSet"), None);
        assert_eq!(control_set_number("ControlSetX"), None);
        assert_eq!(control_set_name(10), "ControlSet010");
        assert!(name_eq("WinStations", "Winstations"));
        assert!(!name_eq("WinStations", "WinStation"));
        assert!(name_eq("straße", "STRASSE"));
        assert!(name_eq("É", "é"));
    }
}
