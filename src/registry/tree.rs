//! The in-memory tree of one registry text export for one hive: keys by folded path, values in
//! file order, and the subtrees the export covers (rooted at the top-most keys it contains), so
//! that "not in this export" (not provided) and "absent" stay apart.
//!
//! Linear in the export: the tree is an arena of nodes, one per folded path component seen, found
//! through one map keyed by (parent node, folded name), so a key line costs one step per component
//! and no ancestor path is ever re-hashed; a key's values are found through a map keyed by the
//! folded value name, computed once; a `[-key]` deletion detaches the key's subtree in one step.
//! Nothing walks the tree recursively (no recursion in drop either: nodes live in one `Vec`), and a
//! key deeper than [`MAX_KEY_DEPTH`] is skipped with a problem on the input.

use std::collections::HashMap;

use super::paths;
use super::text::ParsedText;
use super::types::{type_name, KeyView, Lookup, RegData, RegProvenance, RegValue, SourceForm};
use crate::evidence::HiveKind;

/// Registry keys nest at most 512 levels (Microsoft, "Registry element size limits", S91): a text
/// key deeper than this below its hive root is skipped with `reg-text-key-too-deep`.
pub(crate) const MAX_KEY_DEPTH: usize = 512;

/// The root node (the hive root, folded path "").
const ROOT: usize = 0;

#[derive(Debug, Clone)]
struct TextKey {
    /// Full path as written in the source.
    source_path: String,
    /// Subkeys as (folded, spelled), ordered by folded name (filled by `finish`).
    subkeys: Vec<(String, String)>,
    /// Values in file order; `None` marks a value deleted while building (dropped by `finish`).
    values: Vec<Option<(String, RegData)>>,
    /// Folded value name → position in `values`.
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// A key line (present or deleted) names exactly this path.
    mentioned: bool,
    /// The key, when present (not deleted, or re-created after a deletion).
    key: Option<Box<TextKey>>,
}

/// One hive's part of a text export.
#[derive(Debug, Clone)]
pub(crate) struct TextTree {
    pub file: String,
    pub form: SourceForm,
    pub hive: HiveKind,
    /// Every path component seen; index [`ROOT`] is the hive root. A deleted subtree stays in the
    /// arena, unreachable (its size is bounded by the key lines that built it).
    nodes: Vec<Node>,
    /// (parent node, folded component) → child node.
    children: HashMap<(usize, String), usize>,
    /// Whether any key line (present or deleted) mapped to this tree.
    any_mentioned: bool,
    /// Control-set numbers of the first component of every mentioned path.
    control_sets: Vec<u32>,
}

/// A key line that could not be mapped to a hive (e.g. `HKEY_CLASSES_ROOT`), or that nests deeper
/// than [`MAX_KEY_DEPTH`].
pub(crate) struct Unmapped {
    pub line: usize,
    pub reason: String,
    /// The key nests too deep (else: its root is not a hive rdsdiag reads).
    pub too_deep: bool,
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
        // A runaway path is refused after one scan, before its components are copied; the hive
        // root takes one or two components, the rest is checked exactly once mapped.
        let comps = k.path.split('\\').filter(|c| !c.is_empty()).count();
        let mapped = if comps > MAX_KEY_DEPTH + 2 {
            None
        } else {
            match paths::map_full_key(&k.path) {
                Ok(m) => Some(m).filter(|m| m.rel.len() <= MAX_KEY_DEPTH),
                Err(reason) => {
                    unmapped.push(Unmapped {
                        line: k.line,
                        reason,
                        too_deep: false,
                    });
                    continue;
                }
            }
        };
        let Some(mapped) = mapped else {
            unmapped.push(Unmapped {
                line: k.line,
                reason: format!(
                    "key nests deeper than {MAX_KEY_DEPTH} levels below its hive root (the registry's limit): skipped with its values"
                ),
                too_deep: true,
            });
            continue;
        };
        let idx = match trees.iter().position(|t| t.hive == mapped.hive) {
            Some(i) => i,
            None => {
                trees.push(TextTree::new(file, form, mapped.hive));
                trees.len() - 1
            }
        };
        let tree = &mut trees[idx];
        let (node, edge) = tree.mention(&mapped.rel);
        if k.deleted {
            tree.delete(edge);
            continue;
        }
        let entry = tree.nodes[node].key.get_or_insert_with(|| {
            Box::new(TextKey {
                source_path: k.path.clone(),
                subkeys: Vec::new(),
                values: Vec::new(),
                index: HashMap::new(),
            })
        });
        for v in &k.values {
            let folded = paths::fold(&v.name);
            match (&v.data, entry.index.get(&folded).copied()) {
                (Some(d), Some(p)) => entry.values[p] = Some((v.name.clone(), d.clone())),
                (Some(d), None) => {
                    entry.index.insert(folded, entry.values.len());
                    entry.values.push(Some((v.name.clone(), d.clone())));
                }
                (None, Some(p)) => {
                    entry.values[p] = None;
                    entry.index.remove(&folded);
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

impl TextTree {
    fn new(file: &str, form: SourceForm, hive: HiveKind) -> TextTree {
        TextTree {
            file: file.to_string(),
            form,
            hive,
            nodes: vec![Node::default()],
            children: HashMap::new(),
            any_mentioned: false,
            control_sets: Vec::new(),
        }
    }

    /// The node of a relative path (components as spelled), created as needed, marked mentioned;
    /// with the edge that reaches it (`None` for the root).
    fn mention(&mut self, rel: &[String]) -> (usize, Option<(usize, String)>) {
        let mut cur = ROOT;
        let mut edge = None;
        for comp in rel {
            let key = (cur, paths::fold(comp));
            cur = match self.children.get(&key) {
                Some(&n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.children.insert(key.clone(), n);
                    n
                }
            };
            edge = Some(key);
        }
        self.nodes[cur].mentioned = true;
        self.any_mentioned = true;
        if let Some(n) = rel
            .first()
            .and_then(|c| paths::control_set_number(&paths::fold(c)))
        {
            if !self.control_sets.contains(&n) {
                self.control_sets.push(n);
            }
        }
        (cur, edge)
    }

    /// `[-key]` (reached through `edge`; `None`: the hive root): the key and everything below it
    /// are gone, keys named later are new. One step whatever the subtree's size: the edge is
    /// pointed at a fresh node, still mentioned (the export still covers everything below it);
    /// the old subtree stays in the arena, unreachable.
    fn delete(&mut self, edge: Option<(usize, String)>) {
        match edge {
            None => {
                self.nodes.truncate(1);
                self.nodes[ROOT].key = None;
                self.children = HashMap::new();
            }
            Some(edge) => {
                let n = self.nodes.len();
                self.nodes.push(Node {
                    mentioned: true,
                    key: None,
                });
                self.children.insert(edge, n);
            }
        }
    }

    fn finish(&mut self) {
        // Subkeys: every present key under a present parent, ordered by folded name.
        let mut links: Vec<(usize, &str, usize)> = self
            .children
            .iter()
            .filter(|((par, _), child)| {
                self.nodes[*par].key.is_some() && self.nodes[**child].key.is_some()
            })
            .map(|((par, name), child)| (*par, name.as_str(), *child))
            .collect();
        links.sort_unstable();
        let links: Vec<(usize, String, String)> = links
            .into_iter()
            .map(|(par, name, child)| {
                let spelled = self.nodes[child]
                    .key
                    .as_ref()
                    .and_then(|k| paths::split(&k.source_path).last().map(|s| s.to_string()))
                    .unwrap_or_default();
                (par, name.to_string(), spelled)
            })
            .collect();
        for (par, name, spelled) in links {
            if let Some(k) = self.nodes[par].key.as_mut() {
                k.subkeys.push((name, spelled));
            }
        }
        // Values: drop the deleted ones and index the rest by their final position.
        for node in &mut self.nodes {
            if let Some(k) = node.key.as_mut() {
                if k.values.iter().any(Option::is_none) {
                    k.values.retain(Option::is_some);
                    k.index.clear();
                    for (i, v) in k.values.iter().enumerate() {
                        if let Some((n, _)) = v {
                            k.index.insert(paths::fold(n), i);
                        }
                    }
                }
            }
        }
        self.control_sets.sort_unstable();
    }

    /// The node at a folded path, and whether it or an ancestor is mentioned (coverage).
    fn find(&self, folded: &str) -> (Option<usize>, bool) {
        let mut cur = ROOT;
        let mut covered = self.nodes[ROOT].mentioned;
        if folded.is_empty() {
            return (Some(ROOT), covered);
        }
        let mut probe = (ROOT, String::new());
        for comp in folded.split('\\') {
            probe.0 = cur;
            probe.1.clear();
            probe.1.push_str(comp);
            match self.children.get(&probe) {
                Some(&n) => cur = n,
                None => return (None, covered),
            }
            covered |= self.nodes[cur].mentioned;
        }
        (Some(cur), covered)
    }

    fn text_key(&self, folded: &str) -> Option<&TextKey> {
        self.find(folded)
            .0
            .and_then(|n| self.nodes[n].key.as_deref())
    }

    /// Whether this export covers the key at `folded` (it or an ancestor is a top-most key).
    pub fn covers(&self, folded: &str) -> bool {
        self.find(folded).1
    }

    /// Whether this tree holds any key at all (used for `provides`).
    pub fn is_empty(&self) -> bool {
        !self.any_mentioned
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
        let Some(k) = self.text_key(folded) else {
            return Lookup::Absent;
        };
        match k
            .index
            .get(&paths::fold(name))
            .and_then(|&i| k.values[i].as_ref())
        {
            Some((n, d)) => Lookup::Found(self.reg_value(k, n, d)),
            None => Lookup::Absent,
        }
    }

    pub fn key(&self, folded: &str, asked: &str) -> Lookup<KeyView> {
        let Some(k) = self.text_key(folded) else {
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
                .flatten()
                .map(|(n, d)| self.reg_value(k, n, d))
                .collect(),
            unreadable: Vec::new(),
        })
    }

    /// Control-set numbers this export holds keys for (`ControlSet001` → 1).
    pub fn control_sets(&self) -> Vec<u32> {
        self.control_sets.clone()
    }
}
