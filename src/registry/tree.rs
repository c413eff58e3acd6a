//! The in-memory tree of one registry text export for one hive: keys by folded path, values in
//! file order, and the subtrees the export covers (rooted at the top-most keys it contains), so
//! that "not in this export" (not provided) and "absent" stay apart.

use std::collections::{HashMap, HashSet};

use super::paths;
use super::text::ParsedText;
use super::types::{type_name, KeyView, Lookup, RegData, RegProvenance, RegValue, SourceForm};
use crate::evidence::HiveKind;

#[derive(Debug, Clone)]
struct TextKey {
    /// Full path as written in the source.
    source_path: String,
    /// Subkeys as (folded, spelled) in first-seen order.
    subkeys: Vec<(String, String)>,
    values: Vec<(String, RegData)>,
}

/// One hive's part of a text export.
#[derive(Debug, Clone)]
pub(crate) struct TextTree {
    pub file: String,
    pub form: SourceForm,
    pub hive: HiveKind,
    keys: HashMap<String, TextKey>,
    /// Folded relative paths of every key mentioned (present or deleted).
    mentioned: HashSet<String>,
    /// Folded relative paths of the top-most mentioned keys.
    roots: HashSet<String>,
}

/// A key line that could not be mapped to a hive (e.g. `HKEY_CLASSES_ROOT`).
pub(crate) struct Unmapped {
    pub line: usize,
    pub reason: String,
}

/// Split a parsed export into one tree per hive.
pub(crate) fn build(
    file: &str,
    form: SourceForm,
    parsed: &ParsedText,
) -> (Vec<TextTree>, Vec<Unmapped>) {
    let mut trees: Vec<TextTree> = Vec::new();
    let mut unmapped = Vec::new();
    for k in &parsed.keys {
        let mapped = match paths::map_full_key(&k.path) {
            Ok(m) => m,
            Err(reason) => {
                unmapped.push(Unmapped {
                    line: k.line,
                    reason,
                });
                continue;
            }
        };
        let idx = match trees.iter().position(|t| t.hive == mapped.hive) {
            Some(i) => i,
            None => {
                trees.push(TextTree {
                    file: file.to_string(),
                    form,
                    hive: mapped.hive,
                    keys: HashMap::new(),
                    mentioned: HashSet::new(),
                    roots: HashSet::new(),
                });
                trees.len() - 1
            }
        };
        let tree = &mut trees[idx];
        let folded = paths::fold_path(&mapped.rel);
        tree.mentioned.insert(folded.clone());
        if k.deleted {
            let prefix = format!("{folded}\\");
            tree.keys
                .retain(|p, _| p != &folded && !(folded.is_empty() || p.starts_with(&prefix)));
            continue;
        }
        let entry = tree.keys.entry(folded).or_insert_with(|| TextKey {
            source_path: k.path.clone(),
            subkeys: Vec::new(),
            values: Vec::new(),
        });
        for v in &k.values {
            let pos = entry
                .values
                .iter()
                .position(|(n, _)| paths::name_eq(n, &v.name));
            match (&v.data, pos) {
                (Some(d), Some(p)) => entry.values[p] = (v.name.clone(), d.clone()),
                (Some(d), None) => entry.values.push((v.name.clone(), d.clone())),
                (None, Some(p)) => {
                    entry.values.remove(p);
                }
                (None, None) => {}
            }
        }
    }
    for tree in &mut trees {
        tree.finish();
    }
    (trees, unmapped)
}

fn parent(folded: &str) -> Option<&str> {
    if folded.is_empty() {
        return None;
    }
    Some(folded.rfind('\\').map(|i| &folded[..i]).unwrap_or(""))
}

impl TextTree {
    fn finish(&mut self) {
        self.roots = self
            .mentioned
            .iter()
            .filter(|p| {
                // Top-most: no ancestor is mentioned.
                let mut cur = parent(p);
                while let Some(a) = cur {
                    if self.mentioned.contains(a) {
                        return false;
                    }
                    cur = parent(a);
                }
                true
            })
            .cloned()
            .collect();
        let mut links: Vec<(String, String, String)> = Vec::new();
        for (p, k) in &self.keys {
            if let Some(par) = parent(p) {
                if self.keys.contains_key(par) {
                    let spelled = paths::split(&k.source_path)
                        .last()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    links.push((par.to_string(), p.clone(), spelled));
                }
            }
        }
        links.sort();
        for (par, child, spelled) in links {
            if let Some(pk) = self.keys.get_mut(&par) {
                let child_folded = child.rsplit('\\').next().unwrap_or("").to_string();
                if !pk.subkeys.iter().any(|(f, _)| *f == child_folded) {
                    pk.subkeys.push((child_folded, spelled));
                }
            }
        }
    }

    /// Whether this export covers the key at `folded` (it or an ancestor is a top-most key).
    pub fn covers(&self, folded: &str) -> bool {
        let mut cur = Some(folded);
        while let Some(p) = cur {
            if self.roots.contains(p) {
                return true;
            }
            cur = parent(p);
        }
        false
    }

    /// Whether this tree holds any key at all (used for `provides`).
    pub fn is_empty(&self) -> bool {
        self.mentioned.is_empty()
    }

    fn reg_value(&self, key: &TextKey, name: &str, data: &RegData) -> RegValue {
        RegValue {
            data: data.clone(),
            provenance: RegProvenance {
                file: self.file.clone(),
                form: self.form,
                hive: self.hive,
                key: key.source_path.clone(),
                value: name.to_string(),
                value_type: type_name(data.type_code()),
            },
        }
    }

    /// Value lookup at a folded path; the caller has checked coverage.
    pub fn value(&self, folded: &str, name: &str) -> Lookup<RegValue> {
        let Some(k) = self.keys.get(folded) else {
            return Lookup::Absent;
        };
        match k.values.iter().find(|(n, _)| paths::name_eq(n, name)) {
            Some((n, d)) => Lookup::Found(self.reg_value(k, n, d)),
            None => Lookup::Absent,
        }
    }

    pub fn key(&self, folded: &str, asked: &str) -> Lookup<KeyView> {
        let Some(k) = self.keys.get(folded) else {
            return Lookup::Absent;
        };
        Lookup::Found(KeyView {
            hive: self.hive,
            path: asked.to_string(),
            file: self.file.clone(),
            form: self.form,
            source_key: k.source_path.clone(),
            last_written: None,
            subkeys: k.subkeys.iter().map(|(_, s)| s.clone()).collect(),
            values: k
                .values
                .iter()
                .map(|(n, d)| self.reg_value(k, n, d))
                .collect(),
            unreadable: Vec::new(),
        })
    }

    /// Control-set numbers this export holds keys for (`ControlSet001` → 1).
    pub fn control_sets(&self) -> Vec<u32> {
        let mut nums: Vec<u32> = Vec::new();
        for p in &self.mentioned {
            let first = p.split('\\').next().unwrap_or("");
            if let Some(n) = paths::control_set_number(first) {
                if !nums.contains(&n) {
                    nums.push(n);
                }
            }
        }
        nums.sort_unstable();
        nums
    }
}
