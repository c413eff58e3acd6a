//! Read: one read-only view over the registry evidence of a capture — hive files (through nt-hive,
//! with transaction-log replay in memory) and registry text exports (`.reg`, `reg query /s`).
//!
//! Everything above this module asks the view for values by hive and canonical key path; it never
//! needs to know which form the evidence came in. See `types` for the result vocabulary and
//! `docs/registry.md` for the rules (precedence, coverage, control sets, replay).

mod baseblock;
pub mod decode;
mod hive;
mod paths;
pub mod query;
pub mod replay;
pub mod text;
mod tree;
mod types;

use serde::Serialize;

use crate::capture::Input;
use crate::evidence::{HiveKind, InputKind, InputStatus, Problem, ProblemCode, Reading};

use self::baseblock::BaseBlock;
use self::hive::HiveSource;
pub use self::paths::{control_set_name, control_set_number, map_full_key, MappedKey};
use self::tree::TextTree;
pub use types::{
    type_name, KeyView, Lookup, RegData, RegProvenance, RegValue, SourceForm, Unreadable,
};

/// At most this many line problems are recorded per text file (then one summary problem).
const MAX_LINE_PROBLEMS: usize = 50;

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
    texts: Vec<TextTree>,
    ccs: Lookup<u32>,
}

impl std::fmt::Debug for RegistryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryView")
            .field("sources", &self.sources())
            .field("ccs", &self.ccs)
            .finish()
    }
}

fn dir_and_name(path: &str) -> (&str, &str) {
    match path.rfind(['/', '\\']) {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `SYSTEM.LOG1` → (`SYSTEM`, 1); `.LOG` → 0. Case-insensitive.
fn log_stem(name: &str) -> Option<(&str, u8)> {
    let dot = name.rfind('.')?;
    let ext = name[dot + 1..].to_ascii_uppercase();
    let n = match ext.as_str() {
        "LOG" => 0,
        "LOG1" => 1,
        "LOG2" => 2,
        _ => return None,
    };
    Some((&name[..dot], n))
}

struct LoadedLog {
    input: usize,
    order: u8,
    bytes: Vec<u8>,
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
    /// Read every hive, hive log and registry text input of a capture. Returns the view and, per
    /// input it read, a [`Reading`] with its status and problems. Never fails: unusable inputs are
    /// `Rejected`.
    pub fn load(inputs: &[Input]) -> RegistryLoad {
        // Bridge: the loader below still works on a scratch copy of the inventory.
        let mut scratch: Vec<Input> = inputs.to_vec();
        let view = Self::load_mut(&mut scratch);
        let readings = scratch
            .into_iter()
            .enumerate()
            .filter_map(|(i, after)| {
                let before = &inputs[i];
                let new_problems = after.problems[before.problems.len()..].to_vec();
                (after.status != before.status || !new_problems.is_empty()).then(|| {
                    (
                        i,
                        Reading {
                            status: Some(after.status),
                            problems: new_problems,
                            ..Reading::default()
                        },
                    )
                })
            })
            .collect();
        RegistryLoad { view, readings }
    }

    fn load_mut(inputs: &mut [Input]) -> RegistryView {
        let mut hives: Vec<(HiveSource, HiveState, String)> = Vec::new();
        let mut texts: Vec<TextTree> = Vec::new();

        // --- Pair logs with hives: by name (SYSTEM ↔ SYSTEM.LOG1), else by the embedded file name.
        let hive_idx: Vec<usize> = (0..inputs.len())
            .filter(|&i| inputs[i].kind == InputKind::Hive)
            .collect();
        let log_idx: Vec<usize> = (0..inputs.len())
            .filter(|&i| inputs[i].kind == InputKind::HiveLog)
            .collect();
        let mut log_owner: Vec<Option<usize>> = vec![None; log_idx.len()];
        let mut log_order: Vec<u8> = vec![0; log_idx.len()];
        let mut log_bytes: Vec<Option<Vec<u8>>> = vec![None; log_idx.len()];
        let mut hive_bytes: Vec<Option<Vec<u8>>> = vec![None; hive_idx.len()];
        for (h, &hi) in hive_idx.iter().enumerate() {
            match inputs[hi].read_all() {
                Ok(b) => hive_bytes[h] = Some(b),
                Err(e) => {
                    inputs[hi].status = InputStatus::Rejected;
                    inputs[hi]
                        .problems
                        .push(Problem::error(ProblemCode::HiveUnreadable, e.to_string()));
                }
            }
        }
        for (l, &li) in log_idx.iter().enumerate() {
            let (dir, name) = dir_and_name(&inputs[li].path);
            if let Some((stem, n)) = log_stem(name) {
                log_order[l] = n;
                log_owner[l] = hive_idx.iter().position(|&hi| {
                    let (hd, hn) = dir_and_name(&inputs[hi].path);
                    hd == dir && hn.eq_ignore_ascii_case(stem)
                });
            }
            match inputs[li].read_all() {
                Ok(b) => log_bytes[l] = Some(b),
                Err(e) => {
                    inputs[li].status = InputStatus::Rejected;
                    inputs[li].problems.push(Problem::error(
                        ProblemCode::HiveLogUnreadable,
                        e.to_string(),
                    ));
                    continue;
                }
            }
            if log_owner[l].is_none() {
                // Content: same folder, same embedded file name in the base block.
                let lb = log_bytes[l].as_deref().and_then(BaseBlock::parse);
                let candidates: Vec<usize> = hive_idx
                    .iter()
                    .enumerate()
                    .filter(|(h, &hi)| {
                        let (hd, _) = dir_and_name(&inputs[hi].path);
                        let hb = hive_bytes[*h].as_deref().and_then(BaseBlock::parse);
                        hd == dir
                            && matches!((&lb, &hb), (Some(a), Some(b)) if !a.file_name.is_empty() && a.file_name.eq_ignore_ascii_case(&b.file_name))
                    })
                    .map(|(h, _)| h)
                    .collect();
                if candidates.len() == 1 {
                    log_owner[l] = Some(candidates[0]);
                }
            }
        }

        // --- Hives: replay when dirty.
        for (h, &hi) in hive_idx.iter().enumerate() {
            let Some(mut bytes) = hive_bytes[h].take() else {
                continue;
            };
            let kind = inputs[hi].hive.unwrap_or(HiveKind::Other);
            let file = inputs[hi].path.clone();
            let Some(base) = BaseBlock::parse(&bytes) else {
                inputs[hi].status = InputStatus::Rejected;
                inputs[hi].problems.push(
                    Problem::error(ProblemCode::HiveBadBaseBlock, "no regf base block").at(0),
                );
                continue;
            };
            let mut logs: Vec<LoadedLog> = Vec::new();
            for (l, owner) in log_owner.iter().enumerate() {
                if *owner == Some(h) {
                    if let Some(b) = log_bytes[l].take() {
                        logs.push(LoadedLog {
                            input: log_idx[l],
                            order: log_order[l],
                            bytes: b,
                        });
                    }
                }
            }
            logs.sort_by(|a, b| {
                a.order
                    .cmp(&b.order)
                    .then_with(|| inputs[a.input].path.cmp(&inputs[b.input].path))
            });
            let mut state = HiveState::Clean;
            let mut original: Option<Vec<u8>> = None;
            if base.is_dirty() {
                let why = if base.primary_seq != base.secondary_seq {
                    format!(
                        "sequence numbers {} and {} differ",
                        base.primary_seq, base.secondary_seq
                    )
                } else {
                    "base block checksum is wrong".to_string()
                };
                if logs.is_empty() {
                    state = HiveState::Stale;
                    inputs[hi].problems.push(Problem::warning(
                        ProblemCode::HiveDirtyNoLogs,
                        format!("dirty ({why}), no transaction logs: values may be stale"),
                    ));
                } else {
                    original = Some(bytes.clone());
                    let names: Vec<String> =
                        logs.iter().map(|l| inputs[l.input].path.clone()).collect();
                    let report = {
                        let log_inputs: Vec<replay::LogInput> = logs
                            .iter()
                            .zip(&names)
                            .map(|(l, n)| replay::LogInput {
                                name: n,
                                bytes: &l.bytes,
                            })
                            .collect();
                        replay::replay(&mut bytes, &log_inputs)
                    };
                    for u in &report.used {
                        let log_name = dir_and_name(&names[u.log]).1;
                        let msg = match (u.first_seq, u.last_seq) {
                            (Some(a), Some(b)) => format!(
                                "replayed {} entries from {log_name} (sequence {a}–{b}, {} pages)",
                                u.entries, u.pages
                            ),
                            _ => format!(
                                "replayed {} dirty pages from {log_name} (old-format log)",
                                u.pages
                            ),
                        };
                        inputs[hi]
                            .problems
                            .push(Problem::info(ProblemCode::HiveLogReplayed, msg.clone()));
                        let li = logs[u.log].input;
                        inputs[li].status = InputStatus::Parsed;
                        inputs[li]
                            .problems
                            .push(Problem::info(ProblemCode::HiveLogReplayed, msg));
                    }
                    for n in &report.notes {
                        let li = logs[n.log].input;
                        let mut p = if n.damaged {
                            Problem::warning(ProblemCode::HiveLogDamaged, n.message.clone())
                        } else {
                            Problem::info(ProblemCode::HiveLogNotUsed, n.message.clone())
                        };
                        if let Some(o) = n.offset {
                            p = p.at(o);
                        }
                        inputs[li].problems.push(p);
                    }
                    for l in &logs {
                        let li = l.input;
                        if inputs[li].status == InputStatus::Pending {
                            let damaged = report
                                .notes
                                .iter()
                                .any(|n| logs[n.log].input == li && n.damaged);
                            let used = report.used.iter().any(|u| logs[u.log].input == li);
                            inputs[li].status = match (used, damaged) {
                                (true, true) => InputStatus::Partial,
                                (true, false) | (false, false) => InputStatus::Parsed,
                                (false, true) => InputStatus::Rejected,
                            };
                        } else if report
                            .notes
                            .iter()
                            .any(|n| logs[n.log].input == li && n.damaged)
                        {
                            inputs[li].status = InputStatus::Partial;
                        }
                    }
                    if report.base_block_recovered {
                        inputs[hi].problems.push(Problem::warning(
                            ProblemCode::HiveBaseBlockRecovered,
                            "base block damaged: recovered from a transaction log",
                        ));
                    }
                    // A damaged part of a log that was applied means later changes are lost; a
                    // log that is unusable as a whole is only reported on that log.
                    if report
                        .notes
                        .iter()
                        .any(|n| n.damaged && report.used.iter().any(|u| u.log == n.log))
                    {
                        inputs[hi].problems.push(Problem::warning(
                            ProblemCode::HiveLogDamaged,
                            "a transaction log is damaged: replay stopped before its bad part, later changes are lost: values may be stale",
                        ));
                    }
                    let after = BaseBlock::parse(&bytes);
                    if report.applied_anything() && after.as_ref().is_some_and(|b| !b.is_dirty()) {
                        state = HiveState::Replayed;
                    } else {
                        state = HiveState::Stale;
                        inputs[hi].problems.push(Problem::warning(
                            ProblemCode::HiveDirtyLogsNotApplicable,
                            format!("dirty ({why}); the transaction logs hold nothing to apply: values may be stale"),
                        ));
                    }
                }
            } else {
                for l in &logs {
                    inputs[l.input].status = InputStatus::Parsed;
                    inputs[l.input].problems.push(Problem::info(
                        ProblemCode::HiveLogNotNeeded,
                        "not needed: the hive is clean",
                    ));
                }
            }
            // Strict validation after replay; read anyway on failure, but say so.
            match nt_hive::Hive::new(&bytes[..]) {
                Ok(_) => {}
                Err(nt_hive::NtHiveError::SequenceNumberMismatch { .. }) => {}
                Err(e) => inputs[hi].problems.push(Problem::warning(
                    ProblemCode::HiveBaseBlock,
                    format!("base block: {e}"),
                )),
            }
            let root_ok = |b: &[u8]| {
                nt_hive::Hive::without_validation(b).is_ok_and(|h| h.root_key_node().is_ok())
            };
            if let Some(orig) = original.filter(|o| !root_ok(&bytes) && root_ok(o)) {
                bytes = orig;
                state = HiveState::Stale;
                inputs[hi].problems.push(Problem::warning(
                    ProblemCode::HiveReplayUnreadable,
                    "the replayed hive cannot be read; reading the primary file as it is: values may be stale",
                ));
            }
            if !root_ok(&bytes) {
                inputs[hi].status = InputStatus::Rejected;
                inputs[hi].problems.push(Problem::error(
                    ProblemCode::HiveNoRoot,
                    "the root key cannot be read",
                ));
                continue;
            }
            let log_damaged = inputs[hi]
                .problems
                .iter()
                .any(|p| p.code == ProblemCode::HiveLogDamaged);
            inputs[hi].status = if state == HiveState::Stale || log_damaged {
                InputStatus::Partial
            } else {
                InputStatus::Parsed
            };
            hives.push((HiveSource::new(file.clone(), kind, bytes), state, file));
        }
        for (l, owner) in log_owner.iter().enumerate() {
            let li = log_idx[l];
            if owner.is_none() && inputs[li].status == InputStatus::Pending {
                inputs[li].status = InputStatus::Ignored;
                inputs[li].problems.push(Problem::info(
                    ProblemCode::HiveLogOrphan,
                    "no hive file for this transaction log in the capture",
                ));
            }
        }

        // --- Text exports.
        for inp in inputs.iter_mut() {
            let form = match inp.kind {
                InputKind::RegExport => SourceForm::RegExport,
                InputKind::RegQuery => SourceForm::RegQuery,
                _ => continue,
            };
            let bytes = match inp.read_all() {
                Ok(b) => b,
                Err(e) => {
                    inp.status = InputStatus::Rejected;
                    inp.problems.push(Problem::error(
                        ProblemCode::RegTextUnreadable,
                        e.to_string(),
                    ));
                    continue;
                }
            };
            let parsed = match form {
                SourceForm::RegExport => text::parse_reg_export(&bytes),
                _ => Ok(text::parse_reg_query(&bytes)),
            };
            let parsed = match parsed {
                Ok(p) => p,
                Err(e) => {
                    inp.status = InputStatus::Rejected;
                    inp.problems
                        .push(Problem::error(ProblemCode::RegTextInvalid, e.to_string()));
                    continue;
                }
            };
            let (trees, unmapped) = tree::build(&inp.path, form, &parsed);
            let mut line_problems: Vec<Problem> = parsed
                .errors
                .iter()
                .map(|e| Problem::warning(ProblemCode::RegTextLine, e.to_string()))
                .collect();
            line_problems.extend(unmapped.iter().map(|u| {
                Problem::warning(
                    ProblemCode::RegTextKeySkipped,
                    format!("line {}: {}", u.line, u.reason),
                )
            }));
            let total = line_problems.len();
            inp.problems
                .extend(line_problems.into_iter().take(MAX_LINE_PROBLEMS));
            if total > MAX_LINE_PROBLEMS {
                inp.problems.push(Problem::warning(
                    ProblemCode::RegTextLine,
                    format!(
                        "{} more line problems not listed",
                        total - MAX_LINE_PROBLEMS
                    ),
                ));
            }
            let has_keys = trees.iter().any(|t| !t.is_empty());
            inp.status = match (has_keys, total) {
                (false, _) => InputStatus::Rejected,
                (true, 0) => InputStatus::Parsed,
                (true, _) => InputStatus::Partial,
            };
            if !has_keys {
                inp.problems
                    .push(Problem::error(ProblemCode::RegTextEmpty, "no usable keys"));
            }
            texts.extend(trees);
        }

        // --- Order sources by precedence.
        hives.sort_by(|a, b| {
            let rank = |s: &(HiveSource, HiveState, String)| {
                (
                    s.0.kind,
                    s.1 == HiveState::Stale,
                    s.2.to_ascii_lowercase().contains("regback"),
                    s.2.clone(),
                )
            };
            rank(a).cmp(&rank(b))
        });
        let mut hive_states = Vec::with_capacity(hives.len());
        let mut seen: Vec<HiveKind> = Vec::new();
        for (src, state, _) in &hives {
            let used = !seen.contains(&src.kind);
            if used {
                seen.push(src.kind);
            } else if let Some(inp) = inputs
                .iter_mut()
                .find(|x| x.path == src.file && x.kind == InputKind::Hive)
            {
                inp.problems.push(Problem::info(
                    ProblemCode::HiveSuperseded,
                    format!(
                        "another {} hive file takes precedence for lookups",
                        src.kind
                    ),
                ));
            }
            hive_states.push((*state, used));
        }
        texts.sort_by(|a, b| (a.form, &a.file).cmp(&(b.form, &b.file)));

        let mut view = RegistryView {
            hives: hives.into_iter().map(|(s, _, _)| s).collect(),
            hive_states,
            texts,
            ccs: Lookup::NotProvided {
                hive: HiveKind::System,
            },
        };
        view.ccs = view.find_ccs();
        if !view.ccs.is_found() && !view.hives.iter().any(|h| h.kind == HiveKind::System) {
            // Text exports without `Select`: when they hold exactly one control set, take it as
            // the current one, and say so.
            let mut nums: Vec<u32> = Vec::new();
            for t in view.texts.iter().filter(|t| t.hive == HiveKind::System) {
                for n in t.control_sets() {
                    if !nums.contains(&n) {
                        nums.push(n);
                    }
                }
            }
            if let [n] = nums[..] {
                view.ccs = Lookup::Found(n);
                for t in view
                    .texts
                    .iter()
                    .filter(|t| t.hive == HiveKind::System && t.control_sets().contains(&n))
                {
                    if let Some(inp) = inputs.iter_mut().find(|x| x.path == t.file) {
                        inp.problems.push(Problem::warning(
                            ProblemCode::RegCcsAssumed,
                            format!("no Select\\Current in the evidence: assuming {} (the only control set exported) is the current one", paths::control_set_name(n)),
                        ));
                    }
                }
            }
        }
        view
    }

    fn find_ccs(&self) -> Lookup<u32> {
        if let Some(h) = self.hives.iter().find(|h| h.kind == HiveKind::System) {
            return h.ccs.clone();
        }
        match self.text_lookup(HiveKind::System, &["Select"], |t, f| t.value(f, "Current")) {
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
        self.text_lookup(hive, &comps, |t, f| t.value(f, name))
    }

    /// A key: subkey names and values, with provenance.
    pub fn key(&self, hive: HiveKind, path: &str) -> Lookup<KeyView> {
        let comps = paths::split(path);
        if let Some(h) = self.hive_source(hive) {
            return h.key(&comps, path);
        }
        self.text_lookup(hive, &comps, |t, f| t.key(f, path))
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

    #[test]
    fn log_names() {
        assert_eq!(log_stem("SYSTEM.LOG1"), Some(("SYSTEM", 1)));
        assert_eq!(
            log_stem("transactions_ntuser.dat.log2"),
            Some(("transactions_ntuser.dat", 2))
        );
        assert_eq!(log_stem("ntuser.dat.LOG"), Some(("ntuser.dat", 0)));
        assert_eq!(log_stem("SYSTEM"), None);
        assert_eq!(dir_and_name("a/b/SYSTEM"), ("a/b", "SYSTEM"));
    }
}
