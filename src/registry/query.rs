//! `rdsdiag reg`: `reg query` over offline evidence. Resolves a full key name
//! (`HKLM\SYSTEM\CurrentControlSet\…`) through the [`RegistryView`], returns a serialisable result,
//! and renders it as text that looks like `reg query` output, so support engineers can check a
//! value by hand whichever form (hive, `.reg`, `reg query` text) the evidence came in.

use serde::Serialize;

use super::paths;
use super::types::{KeyView, Lookup, RegValue, SourceForm, Unreadable};
use super::RegistryView;
use crate::evidence::HiveKind;

/// Why a query cannot be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{key}: {reason}")]
    BadKey { key: String, reason: String },
}

/// At most this many keys in one answer (a damaged hive can list a key twice under itself).
const MAX_KEYS: usize = 1_000_000;

/// Hive names accepted as the first component, as in the reference (`SYSTEM\CCS\…`).
const SHORT_ROOTS: &[(&str, HiveKind)] = &[
    ("SYSTEM", HiveKind::System),
    ("SOFTWARE", HiveKind::Software),
    ("SECURITY", HiveKind::Security),
    ("SAM", HiveKind::Sam),
    ("NTUSER", HiveKind::NtUser),
    ("USRCLASS", HiveKind::UsrClass),
];

/// How a hive is written at the front of full key names in output.
pub fn hive_root_name(hive: HiveKind) -> &'static str {
    match hive {
        HiveKind::System => r"HKEY_LOCAL_MACHINE\SYSTEM",
        HiveKind::Software => r"HKEY_LOCAL_MACHINE\SOFTWARE",
        HiveKind::Security => r"HKEY_LOCAL_MACHINE\SECURITY",
        HiveKind::Sam => r"HKEY_LOCAL_MACHINE\SAM",
        HiveKind::NtUser => "HKEY_CURRENT_USER",
        HiveKind::UsrClass => r"HKEY_CURRENT_USER\Software\Classes",
        HiveKind::Other => "OTHER",
    }
}

/// Map a key as a user types it to (hive, canonical path). Accepts full root names
/// (`HKEY_LOCAL_MACHINE\…`), abbreviations (`HKLM\…`, `HKCU\…`, `HKU\<SID>\…`), bare hive names
/// (`SYSTEM\…`), `/` as separator, and `CCS` for `CurrentControlSet`.
pub fn resolve_key(key: &str) -> Result<(HiveKind, String), QueryError> {
    let norm = key.trim().replace('/', "\\");
    let first = paths::split(&norm)
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let (hive, mut rel) = match SHORT_ROOTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&first))
    {
        Some((_, h)) => (
            *h,
            paths::split(&norm)
                .into_iter()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>(),
        ),
        None => {
            let m = paths::map_full_key(&norm).map_err(|reason| QueryError::BadKey {
                key: key.to_string(),
                reason,
            })?;
            (m.hive, m.rel)
        }
    };
    if hive == HiveKind::System && rel.first().is_some_and(|c| c.eq_ignore_ascii_case("CCS")) {
        rel[0] = "CurrentControlSet".into();
    }
    Ok((hive, paths::join(&rel)))
}

/// One key of the answer, with the values asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueriedKey {
    /// Full key name for display (`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\…`).
    pub key: String,
    pub file: String,
    pub form: SourceForm,
    /// Key path as it appears in the source.
    pub source_key: String,
    /// Last-written time of the key (hive files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_written: Option<jiff::Timestamp>,
    pub values: Vec<RegValue>,
    pub subkeys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

/// The outcome for the key (or value) asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QueryState {
    Found,
    Absent,
    Unreadable(Unreadable),
    NotProvided,
}

/// The answer to `rdsdiag reg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegQueryResult {
    /// The key as asked.
    pub query: String,
    pub hive: HiveKind,
    /// Canonical path relative to the hive root.
    pub path: String,
    /// The value asked for (empty = default value), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub recurse: bool,
    #[serde(flatten)]
    pub state: QueryState,
    /// The key and, with `recurse`, every key below it (depth first). With a value name, only
    /// keys holding that value.
    pub keys: Vec<QueriedKey>,
}

/// The key as `reg query` names it (`HKEY_LOCAL_MACHINE\\SYSTEM\\…`).
pub fn display_key(hive: HiveKind, path: &str) -> String {
    if path.is_empty() {
        hive_root_name(hive).to_string()
    } else {
        format!("{}\\{}", hive_root_name(hive), path)
    }
}

fn state_of<T>(l: &Lookup<T>) -> QueryState {
    match l {
        Lookup::Found(_) => QueryState::Found,
        Lookup::Absent => QueryState::Absent,
        Lookup::Unreadable(u) => QueryState::Unreadable(u.clone()),
        Lookup::NotProvided { .. } => QueryState::NotProvided,
    }
}

fn queried(hive: HiveKind, path: &str, k: KeyView, value: Option<&str>) -> QueriedKey {
    let values = match value {
        None => k.values,
        Some(name) => k
            .values
            .into_iter()
            .filter(|v| paths::name_eq(&v.provenance.value, name))
            .collect(),
    };
    QueriedKey {
        key: display_key(hive, path),
        file: k.file,
        form: k.form,
        source_key: k.source_key,
        last_written: k.last_written,
        values,
        subkeys: k.subkeys,
        unreadable: k.unreadable,
    }
}

/// Run a query. `value`: `None` for every value of the key; `Some("")`, `Some("@")` or
/// `Some("(Default)")` for the default value.
pub fn run(
    view: &RegistryView,
    key: &str,
    value: Option<&str>,
    recurse: bool,
) -> Result<RegQueryResult, QueryError> {
    let (hive, path) = resolve_key(key)?;
    let value = value.map(|v| {
        if v == "@" || v.eq_ignore_ascii_case("(Default)") {
            ""
        } else {
            v
        }
    });
    let top = view.key(hive, &path);
    let mut result = RegQueryResult {
        query: key.to_string(),
        hive,
        path: path.clone(),
        value: value.map(str::to_string),
        recurse,
        state: state_of(&top),
        keys: Vec::new(),
    };
    let Lookup::Found(k) = top else {
        return Ok(result);
    };
    if let (Some(name), false) = (value, recurse) {
        let v = view.value(hive, &path, name);
        result.state = state_of(&v);
        if v.is_found() {
            result.keys.push(queried(hive, &path, k, value));
        }
        return Ok(result);
    }
    // Depth-first, through the view's bounded walk: each key once, cycles and keys it does not
    // enter reported on the key that lists them.
    let mut found_value = false;
    let mut stopped = false;
    let mut first = Some(k);
    let mut take = |k: KeyView| {
        if result.keys.len() >= MAX_KEYS {
            stopped = true;
            return;
        }
        let p = k.path.clone();
        let q = queried(hive, &p, k, value);
        if value.is_none() || !q.values.is_empty() {
            found_value |= !q.values.is_empty();
            result.keys.push(q);
        }
    };
    if recurse {
        // The key itself was read above; the walk reads it again with its subkeys.
        let _ = first.take();
        match view.walk(hive, &path, &mut take) {
            Lookup::Found(()) => {}
            other => result.state = state_of(&other),
        }
    } else if let Some(k) = first.take() {
        take(k);
    }
    if stopped {
        if let Some(last) = result.keys.last_mut() {
            last.unreadable.push(Unreadable {
                file: last.file.clone(),
                offset: None,
                reason: format!("stopped after {MAX_KEYS} keys"),
            });
        }
    }
    if value.is_some() && !found_value {
        result.state = QueryState::Absent;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_key_spellings() {
        assert_eq!(
            resolve_key(r"HKLM\SYSTEM\CCS\Control").expect("ok"),
            (HiveKind::System, r"CurrentControlSet\Control".into())
        );
        assert_eq!(
            resolve_key("HKEY_LOCAL_MACHINE/SOFTWARE/Policies").expect("ok"),
            (HiveKind::Software, "Policies".into())
        );
        assert_eq!(
            resolve_key(r"system\Select").expect("ok"),
            (HiveKind::System, "Select".into())
        );
        assert_eq!(
            resolve_key(r"HKCU\Software").expect("ok"),
            (HiveKind::NtUser, "Software".into())
        );
        assert!(resolve_key(r"HKCR\.rdp").is_err());
    }
}
