//! Read: one read-only view over the registry evidence of a capture — hive files (through nt-hive,
//! with transaction-log replay in memory) and registry text exports (`.reg`, `reg query /s`).
//!
//! Everything above this module asks the view for values by hive and canonical key path; it never
//! needs to know which form the evidence came in. See `types` for the result vocabulary and
//! `docs/registry.md` for the rules (precedence, coverage, control sets, replay).

mod baseblock;
pub mod decode;
mod hive;
mod integrity;
mod load;
mod paths;
pub mod pol;
pub mod query;
pub mod replay;
pub mod text;
mod tree;
mod types;

use serde::Serialize;

use crate::capture::Input;
use crate::evidence::{HiveKind, Reading};

use self::hive::HiveSource;
pub use self::paths::{control_set_name, control_set_number, map_full_key, MappedKey};
use self::tree::TextTree;
pub use types::{
    type_name, KeyView, Lookup, RegData, RegProvenance, RegValue, SourceForm, Unreadable,
};

/// Windows nests keys at most 512 levels deep; walks of text exports stop there.
pub const MAX_WALK_DEPTH: usize = 512;

/// What the integrity walk of a hive found (see [`check_cells`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCheck {
    /// Key nodes and value cells reached from the root.
    pub keys: usize,
    pub values: usize,
    /// The first damage: `(key path, message)`.
    pub first_damage: Option<(String, String)>,
    /// Damages after the first.
    pub more: usize,
}

/// The bounded integrity walk the loader runs on every hive (every key node, subkey list, value
/// list, value cell and data cell reachable from the root), on the bytes of a primary file as
/// they are. Exposed for benchmarks and tools; [`RegistryView::load`] reports its result as the
/// `hive-cells-damaged` problem.
pub fn check_cells(bytes: &[u8]) -> CellCheck {
    let r = integrity::check(bytes);
    CellCheck {
        keys: r.keys,
        values: r.values,
        first_damage: r.first.map(|d| (d.key, d.what)),
        more: r.more,
    }
}

/// How a hive source's bytes relate to the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HiveState {
    /// The base block says the file is consistent.
    Clean,
    /// Dirty; transaction logs were replayed in memory.
    Replayed,
    /// Dirty and not (fully) repaired: values may be stale.
    Stale,
}

/// One source the view answers from, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub file: String,
    pub form: SourceForm,
    pub hive: HiveKind,
    /// For hive files only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<HiveState>,
    /// Whether lookups use it (another hive file of the same kind may take precedence).
    pub used: bool,
}

/// A read-only view over every registry source of a capture. Owns its bytes; `Send + Sync`.
///
/// Precedence when several sources cover the same place: a hive file, then a `.reg` export, then
/// `reg query` text. Among hive files of one kind, a clean or replayed one wins over a stale one,
/// then one outside `RegBack`, then the lowest path; among text exports of one form, the first
/// covering file (by path) that has the value wins.
pub struct RegistryView {
    hives: Vec<HiveSource>,
    hive_states: Vec<(HiveState, bool)>,
    /// Hive files that were given but cannot be used, by kind: what no other source answers in
    /// that hive is `Unreadable`, not `NotProvided`.
    rejected: Vec<(HiveKind, Unreadable)>,
    texts: Vec<TextTree>,
    ccs: Lookup<u32>,
    /// Group Policy files of the capture (`Registry.pol`, `GPT.INI`), in input order.
    group_policy: Vec<pol::GpFile>,
}

impl std::fmt::Debug for RegistryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryView")
            .field("sources", &self.sources())
            .field("ccs", &self.ccs)
            .finish()
    }
}

/// What [`RegistryView::load`] returns: the view, and what was found about each registry input
/// (by its index in the inputs given), for the pipeline to apply to the inventory.
#[derive(Debug)]
pub struct RegistryLoad {
    pub view: RegistryView,
    pub readings: Vec<(usize, Reading)>,
}

impl RegistryLoad {
    /// Apply the readings to `inputs` (the slice given to `load`) and keep the view.
    pub fn apply_to(self, inputs: &mut [Input]) -> RegistryView {
        for (i, reading) in self.readings {
            inputs[i].apply(reading);
        }
        self.view
    }
}

impl RegistryView {
    /// The Group Policy files (`Registry.pol`, `GPT.INI`) the capture holds, in input order.
    pub fn group_policy_files(&self) -> &[pol::GpFile] {
        &self.group_policy
    }

    /// Read every hive, hive log and registry text input of a capture that the inventory left
    /// `pending`, each file once. Returns the view and, per input it read, a [`Reading`] with its
    /// status, problems and SHA-256. Never fails: unusable inputs are `Rejected`. The inputs are
    /// not changed; see [`RegistryLoad::apply_to`].
    pub fn load(inputs: &[Input]) -> RegistryLoad {
        load::load(inputs)
    }

    fn find_ccs(&self) -> Lookup<u32> {
        if let Some(h) = self.hives.iter().find(|h| h.kind == HiveKind::System) {
            return h.ccs.clone();
        }
        paths::current_control_set(self.or_rejected(
            HiveKind::System,
            self.text_lookup(HiveKind::System, &["Select"], |t, f| t.value(f, "Current")),
        ))
    }

    /// A rejected hive file of this kind turns "no source covers it" into "unreadable".
    fn or_rejected<T>(&self, hive: HiveKind, lookup: Lookup<T>) -> Lookup<T> {
        match lookup {
            Lookup::NotProvided { .. } => match self.rejected.iter().find(|(k, _)| *k == hive) {
                Some((_, u)) => Lookup::Unreadable(u.clone()),
                None => lookup,
            },
            other => other,
        }
    }

    /// Folded paths equivalent to `comps` in a text export: `CurrentControlSet` ↔ the current
    /// `ControlSetNNN` (both ways, through `Select\Current`).
    fn text_alternatives(&self, hive: HiveKind, comps: &[&str]) -> Vec<String> {
        let mut alts = vec![paths::fold_path(comps)];
        if hive == HiveKind::System {
            if let (Some(first), Lookup::Found(n)) = (comps.first(), &self.ccs) {
                let swap = if paths::is_current_control_set(first) {
                    Some(paths::control_set_name(*n))
                } else if paths::control_set_number(first) == Some(*n) {
                    Some("CurrentControlSet".to_string())
                } else {
                    None
                };
                if let Some(s) = swap {
                    let mut c: Vec<&str> = comps.to_vec();
                    c[0] = &s;
                    alts.push(paths::fold_path(&c));
                }
            }
        }
        alts
    }

    fn text_lookup<T>(
        &self,
        hive: HiveKind,
        comps: &[&str],
        f: impl Fn(&TextTree, &str) -> Lookup<T>,
    ) -> Lookup<T> {
        let alts = self.text_alternatives(hive, comps);
        for form in [SourceForm::RegExport, SourceForm::RegQuery] {
            let mut covered = false;
            let mut unreadable = None;
            for t in self
                .texts
                .iter()
                .filter(|t| t.form == form && t.hive == hive)
            {
                for a in &alts {
                    if t.covers(a) {
                        covered = true;
                        match f(t, a) {
                            Lookup::Found(v) => return Lookup::Found(v),
                            Lookup::Unreadable(u) => unreadable = unreadable.or(Some(u)),
                            _ => {}
                        }
                    }
                }
            }
            if let Some(u) = unreadable {
                return Lookup::Unreadable(u);
            }
            if covered {
                return Lookup::Absent;
            }
        }
        Lookup::NotProvided { hive }
    }

    fn hive_source(&self, hive: HiveKind) -> Option<&HiveSource> {
        self.hives.iter().find(|h| h.kind == hive)
    }

    /// A value by hive, canonical key path (relative to the hive root, `\`-separated,
    /// case-insensitive) and value name (empty = default value). `CurrentControlSet` resolves
    /// through `Select\Current`.
    pub fn value(&self, hive: HiveKind, path: &str, name: &str) -> Lookup<RegValue> {
        let comps = paths::split(path);
        if let Some(h) = self.hive_source(hive) {
            return h.value(&comps, name);
        }
        self.or_rejected(
            hive,
            self.text_lookup(hive, &comps, |t, f| t.value(f, name)),
        )
    }

    /// A key: subkey names and values, with provenance.
    pub fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyView> {
        let comps = paths::split(path);
        if let Some(h) = self.hive_source(hive) {
            return h.key(&comps, path);
        }
        self.or_rejected(hive, self.text_lookup(hive, &comps, |t, f| t.key(f, path)))
    }

    /// The key at `path` and every key below it, depth first (a key before its subkeys), each
    /// handed to `visit`; the outcome for the key at `path`. Bounded whatever the evidence holds:
    /// a hive is walked by key cell, each cell once (see [`hive::HiveSource::walk_tree`]); a text
    /// export is a tree, walked by path, each path once, at most [`MAX_WALK_DEPTH`] levels below
    /// `path`. Damage met on the way (a cycle, a key not entered) is reported in the
    /// `unreadable` list of the key whose subkey list holds it.
    pub fn walk(&self, hive: HiveKind, path: &str, visit: &mut dyn FnMut(KeyView)) -> Lookup<()> {
        let comps = paths::split(path);
        if let Some(h) = self.hive_source(hive) {
            return h.walk_tree(&comps, path, visit);
        }
        let top = match self.key(hive, path) {
            Lookup::Found(k) => k,
            other => return other.cast(),
        };
        let base = comps.len();
        let mut seen = std::collections::HashSet::new();
        seen.insert(paths::fold_path(&comps));
        let mut stack = vec![top];
        while let Some(mut k) = stack.pop() {
            let depth = paths::split(&k.path).len();
            let mut below = Vec::new();
            for s in &k.subkeys {
                let child = if k.path.is_empty() {
                    s.clone()
                } else {
                    format!("{}\\{s}", k.path)
                };
                let cc = paths::split(&child);
                let why = if cc.len() != depth + 1 {
                    format!("subkey {s:?} of {}: not a key name", k.path)
                } else if depth + 1 - base > MAX_WALK_DEPTH {
                    format!(
                        "subkey {s:?} of {}: more than {MAX_WALK_DEPTH} levels below the query",
                        k.path
                    )
                } else if !seen.insert(paths::fold_path(&cc)) {
                    continue; // listed twice: walked once
                } else {
                    match self.key(hive, &child) {
                        Lookup::Found(ck) => below.push(ck),
                        Lookup::Unreadable(u) => k.unreadable.push(u),
                        _ => {}
                    }
                    continue;
                };
                k.unreadable.push(Unreadable {
                    file: k.file.clone(),
                    offset: None,
                    reason: why,
                });
            }
            stack.extend(below.into_iter().rev());
            visit(k);
        }
        Lookup::Found(())
    }

    /// Every hive file of `kind` the capture holds, used or superseded, in precedence order, with
    /// whether it could be read (`None`) or why not. Per-user hives (NTUSER) are one per user, and
    /// only the first answers [`RegistryView::value`]; this lists them all.
    pub fn hive_files(&self, kind: HiveKind) -> Vec<(String, Option<Unreadable>)> {
        let mut out: Vec<(String, Option<Unreadable>)> = self
            .hives
            .iter()
            .filter(|h| h.kind == kind)
            .map(|h| (h.file.clone(), None))
            .collect();
        out.extend(
            self.rejected
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, u)| (u.file.clone(), Some(u.clone()))),
        );
        out
    }

    /// A value in one particular hive file (by its input path), for kinds with one file per user.
    /// `NotProvided` when no readable hive file has that path.
    pub fn value_in_file(&self, file: &str, path: &str, name: &str) -> Lookup<RegValue> {
        let comps = paths::split(path);
        match self.hives.iter().find(|h| h.file == file) {
            Some(h) => h.value(&comps, name),
            None => match self.rejected.iter().find(|(_, u)| u.file == file) {
                Some((_, u)) => Lookup::Unreadable(u.clone()),
                None => Lookup::NotProvided {
                    hive: HiveKind::Other,
                },
            },
        }
    }

    /// `SYSTEM\Select\Current`: the number of the current control set.
    pub fn current_control_set(&self) -> Lookup<u32> {
        self.ccs.clone()
    }

    /// Whether some source covers at least part of that hive.
    pub fn provides(&self, hive: HiveKind) -> bool {
        self.hive_source(hive).is_some()
            || self.texts.iter().any(|t| t.hive == hive && !t.is_empty())
    }

    /// The state (clean, replayed, stale) of the hive file that answers for `hive`, if a hive
    /// file does. A resolver can use it to label values from a stale hive.
    pub fn hive_state(&self, hive: HiveKind) -> Option<HiveState> {
        self.hives
            .iter()
            .zip(&self.hive_states)
            .find(|(h, (_, used))| h.kind == hive && *used)
            .map(|(_, (state, _))| *state)
    }

    /// The sources the view answers from, in precedence order.
    pub fn sources(&self) -> Vec<SourceInfo> {
        let mut out: Vec<SourceInfo> = self
            .hives
            .iter()
            .zip(&self.hive_states)
            .map(|(h, (state, used))| SourceInfo {
                file: h.file.clone(),
                form: SourceForm::Hive,
                hive: h.kind,
                state: Some(*state),
                used: *used,
            })
            .collect();
        out.extend(self.texts.iter().map(|t| SourceInfo {
            file: t.file.clone(),
            form: t.form,
            hive: t.hive,
            state: None,
            used: true,
        }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RegistryView>();
    }
}
