//! The small registry interface the resolver needs, so configuration can be resolved from the real
//! registry view or from an in-memory source (tests, examples) with the same four-way answers:
//! found, absent, unreadable, not provided.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegData, RegProvenance, RegValue, SourceForm, Unreadable};

/// A key as seen by the resolver: its subkey and value names, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub subkeys: Vec<String>,
    pub values: Vec<String>,
    /// Input path relative to the capture root.
    pub file: String,
    pub form: SourceForm,
    pub hive: HiveKind,
    /// Key path as it appears in the source.
    pub key: String,
}

impl KeyInfo {
    /// Provenance for a subkey of this key (used when subkey names are the data).
    pub fn subkey_provenance(&self, subkey: &str) -> RegProvenance {
        RegProvenance {
            file: self.file.clone(),
            form: self.form,
            hive: self.hive,
            key: format!("{}\\{}", self.key, subkey),
            value: String::new(),
            value_type: "(subkey)".into(),
        }
    }

    /// Provenance for the key itself (used when the key's existence is the signal).
    pub fn key_provenance(&self) -> RegProvenance {
        RegProvenance {
            file: self.file.clone(),
            form: self.form,
            hive: self.hive,
            key: self.key.clone(),
            value: String::new(),
            value_type: "(key)".into(),
        }
    }
}

/// Read access to the registry evidence of one capture. Paths are relative to the hive root,
/// `\`-separated and case-insensitive; `CurrentControlSet` is resolved by the implementation.
pub trait RegistrySource {
    /// A value of a key.
    fn value(&self, hive: HiveKind, path: &str, name: &str) -> Lookup<RegValue>;
    /// A key's subkey and value names.
    fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyInfo>;
    /// Whether any evidence of `hive` was provided (a text export may cover only part of it).
    fn provides(&self, hive: HiveKind) -> bool;
}

impl<T: RegistrySource + ?Sized> RegistrySource for &T {
    fn value(&self, hive: HiveKind, path: &str, name: &str) -> Lookup<RegValue> {
        (**self).value(hive, path, name)
    }
    fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyInfo> {
        (**self).key(hive, path)
    }
    fn provides(&self, hive: HiveKind) -> bool {
        (**self).provides(hive)
    }
}

#[derive(Debug, Clone, Default)]
struct MemKey {
    /// Path with its original case.
    path: String,
    values: Vec<(String, RegData)>,
    unreadable: Option<String>,
}

#[derive(Debug, Clone)]
struct MemHive {
    file: String,
    form: SourceForm,
    /// `None`: the whole hive is covered; otherwise only these subtrees (lower-case prefixes),
    /// as in a text export of a few keys.
    covered: Option<Vec<String>>,
    /// Keyed by lower-case path.
    keys: BTreeMap<String, MemKey>,
}

/// An in-memory registry: hives that were "provided", with keys and values. Hives never
/// provided answer `NotProvided`; with [`MemorySource::cover`] a hive can cover only some
/// subtrees, like a text export. Used by tests; also handy for examples.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    hives: BTreeMap<HiveKind, MemHive>,
}

fn norm(path: &str) -> String {
    path.trim_matches('\\').to_ascii_lowercase()
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare `hive` provided as `file` in `form` (an empty hive until values are added).
    pub fn provide(&mut self, hive: HiveKind, file: &str, form: SourceForm) -> &mut Self {
        let h = self.hives.entry(hive).or_insert_with(|| MemHive {
            file: file.to_string(),
            form,
            covered: None,
            keys: BTreeMap::new(),
        });
        h.file = file.to_string();
        h.form = form;
        self
    }

    fn hive_mut(&mut self, hive: HiveKind) -> &mut MemHive {
        self.hives.entry(hive).or_insert_with(|| MemHive {
            file: format!("config/{}", hive.name()),
            form: SourceForm::Hive,
            covered: None,
            keys: BTreeMap::new(),
        })
    }

    /// Restrict `hive` to the subtree at `path` (call repeatedly to cover several subtrees).
    pub fn cover(&mut self, hive: HiveKind, path: &str) -> &mut Self {
        let h = self.hive_mut(hive);
        h.covered.get_or_insert_with(Vec::new).push(norm(path));
        self
    }

    /// Create a key (and its parents).
    pub fn add_key(&mut self, hive: HiveKind, path: &str) -> &mut Self {
        let h = self.hive_mut(hive);
        let parts: Vec<&str> = path.trim_matches('\\').split('\\').collect();
        for i in 1..=parts.len() {
            let p = parts[..i].join("\\");
            h.keys.entry(norm(&p)).or_insert_with(|| MemKey {
                path: p,
                ..MemKey::default()
            });
        }
        self
    }

    /// Set a value (creating the key and its parents); replaces a value of the same name.
    pub fn set(&mut self, hive: HiveKind, path: &str, name: &str, data: RegData) -> &mut Self {
        self.add_key(hive, path);
        let h = self.hive_mut(hive);
        if let Some(k) = h.keys.get_mut(&norm(path)) {
            k.values.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            k.values.push((name.to_string(), data));
        }
        self
    }

    /// Mark a key as present but unreadable.
    pub fn set_unreadable(&mut self, hive: HiveKind, path: &str, reason: &str) -> &mut Self {
        self.add_key(hive, path);
        let h = self.hive_mut(hive);
        if let Some(k) = h.keys.get_mut(&norm(path)) {
            k.unreadable = Some(reason.to_string());
        }
        self
    }

    fn locate(
        &self,
        hive: HiveKind,
        path: &str,
    ) -> Result<(&MemHive, Option<&MemKey>), Lookup<()>> {
        let Some(h) = self.hives.get(&hive) else {
            return Err(Lookup::NotProvided { hive });
        };
        let p = norm(path);
        if let Some(cov) = &h.covered {
            let inside = cov
                .iter()
                .any(|c| p == *c || p.starts_with(&format!("{c}\\")) || c.is_empty());
            if !inside {
                return Err(Lookup::NotProvided { hive });
            }
        }
        // An unreadable ancestor makes everything below it unreadable.
        let mut prefix = String::new();
        for part in p.split('\\') {
            if !prefix.is_empty() {
                prefix.push('\\');
            }
            prefix.push_str(part);
            if let Some(reason) = h.keys.get(&prefix).and_then(|k| k.unreadable.as_ref()) {
                return Err(Lookup::Unreadable(Unreadable {
                    file: h.file.clone(),
                    offset: None,
                    reason: reason.clone(),
                }));
            }
        }
        Ok((h, h.keys.get(&p)))
    }
}

/// Re-type a lookup that is known not to be `Found`.
fn not_found<T>(l: Lookup<()>) -> Lookup<T> {
    match l {
        Lookup::Found(()) | Lookup::Absent => Lookup::Absent,
        Lookup::Unreadable(u) => Lookup::Unreadable(u),
        Lookup::NotProvided { hive } => Lookup::NotProvided { hive },
    }
}

impl RegistrySource for MemorySource {
    fn provides(&self, hive: HiveKind) -> bool {
        self.hives.contains_key(&hive)
    }

    fn value(&self, hive: HiveKind, path: &str, name: &str) -> Lookup<RegValue> {
        let (h, key) = match self.locate(hive, path) {
            Ok(x) => x,
            Err(e) => return not_found(e),
        };
        let Some(key) = key else {
            return Lookup::Absent;
        };
        match key
            .values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((n, data)) => Lookup::Found(RegValue {
                data: data.clone(),
                provenance: RegProvenance {
                    file: h.file.clone(),
                    form: h.form,
                    hive,
                    key: key.path.clone(),
                    value: n.clone(),
                    value_type: data.type_name(),
                },
            }),
            None => Lookup::Absent,
        }
    }

    fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyInfo> {
        let (h, key) = match self.locate(hive, path) {
            Ok(x) => x,
            Err(e) => return not_found(e),
        };
        let Some(key) = key else {
            return Lookup::Absent;
        };
        let p = norm(path);
        let subkeys = h
            .keys
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&p)?.strip_prefix('\\')?;
                (!rest.contains('\\')).then(|| v.path.rsplit('\\').next().unwrap_or("").to_string())
            })
            .collect();
        Lookup::Found(KeyInfo {
            subkeys,
            values: key.values.iter().map(|(n, _)| n.clone()).collect(),
            file: h.file.clone(),
            form: h.form,
            hive,
            key: key.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_answers() {
        let mut m = MemorySource::new();
        m.set(HiveKind::System, r"A\B", "V", RegData::Dword(1));
        m.set_unreadable(HiveKind::System, r"A\Bad", "bad cell");
        assert!(matches!(
            m.value(HiveKind::System, r"a\b", "v"),
            Lookup::Found(_)
        ));
        assert_eq!(m.value(HiveKind::System, r"A\B", "W"), Lookup::Absent);
        assert_eq!(m.value(HiveKind::System, r"A\C", "V"), Lookup::Absent);
        assert!(matches!(
            m.value(HiveKind::System, r"A\Bad\X", "V"),
            Lookup::Unreadable(_)
        ));
        assert_eq!(
            m.value(HiveKind::Software, r"A", "V"),
            Lookup::NotProvided {
                hive: HiveKind::Software
            }
        );
        let k = m.key(HiveKind::System, "A").into_found().unwrap();
        assert_eq!(k.subkeys, vec!["B".to_string(), "Bad".to_string()]);
    }

    #[test]
    fn coverage_limits_a_text_export() {
        let mut m = MemorySource::new();
        m.provide(HiveKind::System, "reg.txt", SourceForm::RegQuery);
        m.cover(HiveKind::System, r"X\Y");
        m.set(HiveKind::System, r"X\Y\Z", "V", RegData::Dword(1));
        assert!(matches!(
            m.value(HiveKind::System, r"X\Y\Z", "V"),
            Lookup::Found(_)
        ));
        assert_eq!(m.value(HiveKind::System, r"X\Y", "Q"), Lookup::Absent);
        assert_eq!(
            m.value(HiveKind::System, r"X\Other", "V"),
            Lookup::NotProvided {
                hive: HiveKind::System
            }
        );
    }
}
