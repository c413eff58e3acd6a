//! Reading one hive file through nt-hive: key walks, value decoding (unknown types kept raw, big
//! data), and turning nt-hive errors into [`Unreadable`] with file and offset. The bytes are owned
//! here (already replayed when the hive was dirty); nt-hive borrows them per lookup.

use std::panic::{catch_unwind, AssertUnwindSafe};

use nt_hive::{Hive, KeyNode, KeyValue, KeyValueData, NtHiveError, NtHiveNameString};

use super::baseblock::{le32, off, BASE_BLOCK_SIZE};
use super::decode::decode;
use super::integrity::Verified;
use super::paths;
use super::types::{type_name, KeyView, Lookup, RegProvenance, RegValue, SourceForm, Unreadable};
use crate::capture::hive_guard as guard;
use crate::evidence::HiveKind;

/// A hive file ready for lookups.
pub(crate) struct HiveSource {
    pub file: String,
    pub kind: HiveKind,
    pub bytes: Vec<u8>,
    /// `Select\Current` of this hive (SYSTEM only), resolved at load.
    pub ccs: Lookup<u32>,
    /// The cells the integrity walk verified at load: the only ones handed to nt-hive.
    verified: Verified,
}

/// The byte offset an nt-hive error points at, when it has one.
fn nt_offset(e: &NtHiveError) -> Option<u64> {
    use NtHiveError::*;
    match e {
        InvalidDataSize { offset, .. }
        | InvalidFourByteSignature { offset, .. }
        | InvalidHeaderSize { offset, .. }
        | InvalidSizeField { offset, .. }
        | InvalidSizeFieldAlignment { offset, .. }
        | InvalidTwoByteSignature { offset, .. }
        | UnallocatedCell { offset, .. }
        | UnsupportedKeyValueDataType { offset, .. } => Some(*offset as u64),
        _ => None,
    }
}

type Node<'h, 'b> = KeyNode<'h, &'b [u8]>;

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i64 = 11_644_473_600;

/// A FILETIME (100 ns since 1601) as a timestamp; `None` for 0 or out of range.
pub(crate) fn filetime(ft: u64) -> Option<jiff::Timestamp> {
    if ft == 0 {
        return None;
    }
    let secs = i64::try_from(ft / 10_000_000).ok()? - FILETIME_UNIX_OFFSET;
    let nanos = i32::try_from((ft % 10_000_000) * 100).ok()?;
    jiff::Timestamp::new(secs, nanos).ok()
}

impl HiveSource {
    pub fn new(file: String, kind: HiveKind, bytes: Vec<u8>, verified: Verified) -> HiveSource {
        let mut s = HiveSource {
            file,
            kind,
            bytes,
            ccs: Lookup::NotProvided { hive: kind },
            verified,
        };
        if kind == HiveKind::System {
            s.ccs = paths::current_control_set(s.value(&["Select"], "Current"));
        }
        s
    }

    fn unreadable(&self, e: &NtHiveError, what: &str) -> Unreadable {
        Unreadable {
            file: self.file.clone(),
            offset: nt_offset(e),
            reason: format!("{what}: {e}"),
        }
    }

    /// Run `f` over the hive. Lookups hand nt-hive only cells the integrity walk verified, so it
    /// does not assert; should a panic happen anyway (damage no check foresaw), the lookup answers
    /// `Unreadable` instead of failing the capture.
    fn with_hive<R>(&self, f: impl FnOnce(&Hive<&[u8]>) -> Lookup<R>) -> Lookup<R> {
        let hive = match Hive::without_validation(&self.bytes[..]) {
            Ok(h) => h,
            Err(e) => return Lookup::Unreadable(self.unreadable(&e, "base block")),
        };
        match catch_unwind(AssertUnwindSafe(|| f(&hive))) {
            Ok(r) => r,
            Err(_) => Lookup::Unreadable(Unreadable {
                file: self.file.clone(),
                offset: None,
                reason:
                    "the hive reader failed on damage it does not recognise (an internal error)"
                        .into(),
            }),
        }
    }

    /// Replace a leading `CurrentControlSet` by this hive's current control set.
    fn resolve<'p>(&self, comps: &[&'p str]) -> Result<Vec<std::borrow::Cow<'p, str>>, Lookup<()>> {
        let mut out: Vec<std::borrow::Cow<'p, str>> = comps
            .iter()
            .map(|c| std::borrow::Cow::Borrowed(*c))
            .collect();
        if self.kind == HiveKind::System
            && comps
                .first()
                .is_some_and(|c| paths::is_current_control_set(c))
        {
            match &self.ccs {
                Lookup::Found(n) => out[0] = std::borrow::Cow::Owned(paths::control_set_name(*n)),
                Lookup::Unreadable(u) => return Err(Lookup::Unreadable(u.clone())),
                _ => return Err(Lookup::Absent),
            }
        }
        Ok(out)
    }

    /// The root key node, when the integrity walk verified it (nt-hive asserts on some root
    /// offsets; only a verified root is handed to it).
    fn root<'h, 'b>(&self, hive: &'h Hive<&'b [u8]>) -> Lookup<Node<'h, 'b>> {
        let root = le32(&self.bytes, off::ROOT_CELL);
        if !guard::root_safe(&self.bytes) || self.verified.key(root).is_none() {
            return Lookup::Unreadable(Unreadable {
                file: self.file.clone(),
                offset: Some(off::ROOT_CELL as u64),
                reason: format!(
                    "root key: the root cell offset {root:#x} does not lead to a sound key node (damaged hive)"
                ),
            });
        }
        match hive.root_key_node() {
            Ok(n) => Lookup::Found(n),
            Err(e) => Lookup::Unreadable(self.unreadable(&e, "root key")),
        }
    }

    /// Walk from the root; `Absent` when a component is missing. Returns the node and the path as
    /// spelled in the hive.
    fn walk<'h, 'b, S: AsRef<str>>(
        &self,
        hive: &'h Hive<&'b [u8]>,
        comps: &[S],
    ) -> Lookup<(Node<'h, 'b>, String)> {
        let mut node = match self.root(hive) {
            Lookup::Found(n) => n,
            other => return other.cast(),
        };
        let mut spelled: Vec<String> = Vec::with_capacity(comps.len());
        for c in comps {
            let c = c.as_ref();
            if let Err(u) = self.allowed(&node, &paths::join(&spelled), Verified::SUBKEYS) {
                return Lookup::Unreadable(u);
            }
            match node.subkey(c) {
                None => return Lookup::Absent,
                Some(Err(e)) => {
                    spelled.push(c.to_string());
                    return Lookup::Unreadable(
                        self.unreadable(&e, &format!("key {}", paths::join(&spelled))),
                    );
                }
                Some(Ok(k)) => {
                    let name = k
                        .name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_else(|_| c.to_string());
                    spelled.push(name);
                    node = k;
                }
            }
        }
        Lookup::Found((node, paths::join(&spelled)))
    }

    /// The hive-bins offset of a key node's cell, from the address of the key name nt-hive
    /// returns (it borrows our bytes at `cell + 4 + 76`), checked by the `nk` signature.
    fn cell_of(&self, node: &Node<'_, '_>) -> Option<u32> {
        let name = match node.name().ok()? {
            NtHiveNameString::Latin1(s) | NtHiveNameString::Utf16LE(s) => s,
        };
        guard::cell_of(&self.bytes, name, guard::NK_NAME, b"nk")
    }

    /// File offset of a cell.
    fn file_offset(cell: u32) -> u64 {
        BASE_BLOCK_SIZE as u64 + u64::from(cell)
    }

    /// `Ok` when the integrity walk verified this key and `what` of it ([`Verified::SUBKEYS`],
    /// [`Verified::VALUES`]) may be handed to nt-hive; else why not, with the key cell's offset.
    fn allowed(&self, node: &Node<'_, '_>, key: &str, what: u8) -> Result<(), Unreadable> {
        let key = if key.is_empty() { "(root)" } else { key };
        let unreadable = |offset, reason| Unreadable {
            file: self.file.clone(),
            offset,
            reason,
        };
        let Some(cell) = self.cell_of(node) else {
            return Err(unreadable(
                None,
                format!("key {key}: its key node cannot be located (damaged name)"),
            ));
        };
        let at = Some(Self::file_offset(cell));
        match self.verified.key(cell) {
            None => Err(unreadable(
                at,
                format!(
                    "key {key}: key cell {cell:#x} lies below damaged structure (not verified)"
                ),
            )),
            Some(f) if f & what == 0 => {
                let list = if what == Verified::SUBKEYS {
                    "subkey"
                } else {
                    "value"
                };
                Err(unreadable(
                    at,
                    format!("key {key}: its {list} list is damaged (key cell {cell:#x})"),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// The last-written FILETIME of a key node. nt-hive 0.3 has no accessor; the key name it
    /// returns locates the cell.
    fn key_timestamp(&self, node: &Node<'_, '_>) -> Option<jiff::Timestamp> {
        let cell = self.cell_of(node)?;
        filetime(super::baseblock::le64(
            &self.bytes,
            BASE_BLOCK_SIZE + cell as usize + 4 + 4,
        ))
    }

    /// `Err(Unreadable)` unless the integrity walk verified this value's data (located from the
    /// address of the name nt-hive returns, checked by the `vk` signature).
    fn data_allowed(&self, v: &KeyValue<'_, &[u8]>, what: &str) -> Result<(), Unreadable> {
        let cell = v.name().ok().and_then(|n| {
            let name = match n {
                NtHiveNameString::Latin1(s) | NtHiveNameString::Utf16LE(s) => s,
            };
            guard::cell_of(&self.bytes, name, guard::VK_NAME, b"vk")
        });
        match cell {
            Some(c) if self.verified.data(c) => Ok(()),
            _ => Err(Unreadable {
                file: self.file.clone(),
                offset: cell.map(Self::file_offset),
                reason: format!("{what}: its data cells are damaged or used twice (damaged hive)"),
            }),
        }
    }

    fn read_value(&self, v: &KeyValue<'_, &[u8]>, key: &str) -> Result<RegValue, Unreadable> {
        let name = v
            .name()
            .map_err(|e| self.unreadable(&e, &format!("value name in {key}")))?
            .to_string_lossy();
        let what = || format!("value {name:?} in {key}");
        let type_code = match v.data_type() {
            Ok(t) => t as u32,
            Err(NtHiveError::UnsupportedKeyValueDataType { actual, .. }) => actual,
            Err(e) => return Err(self.unreadable(&e, &what())),
        };
        let bytes = if v.data_size() == 0 {
            Vec::new()
        } else {
            self.data_allowed(v, &what())?;
            match v.data().map_err(|e| self.unreadable(&e, &what()))? {
                KeyValueData::Small(s) => s.to_vec(),
                KeyValueData::Big(slices) => {
                    // The size field is only a claim: reserve no more than the file holds.
                    let mut out =
                        Vec::with_capacity((v.data_size() as usize).min(self.bytes.len()));
                    for s in slices {
                        out.extend_from_slice(s.map_err(|e| self.unreadable(&e, &what()))?);
                    }
                    out
                }
            }
        };
        Ok(RegValue {
            data: decode(type_code, &bytes),
            provenance: RegProvenance {
                file: self.file.clone(),
                form: SourceForm::Hive,
                hive: self.kind,
                key: key.to_string(),
                value: name,
                value_type: type_name(type_code),
            },
        })
    }

    /// Run `f` on the key at `comps` (a leading `CurrentControlSet` resolved) and its path as
    /// spelled in the hive; a missing or unreadable key answers for itself.
    fn at_key<T>(
        &self,
        comps: &[&str],
        f: impl FnOnce(Node<'_, '_>, String) -> Lookup<T>,
    ) -> Lookup<T> {
        let comps = match self.resolve(comps) {
            Ok(c) => c,
            Err(l) => return l.cast(),
        };
        self.with_hive(|hive| match self.walk(hive, &comps) {
            Lookup::Found((node, key)) => f(node, key),
            other => other.cast(),
        })
    }

    pub fn value(&self, comps: &[&str], name: &str) -> Lookup<RegValue> {
        self.at_key(comps, |node, key| {
            if let Err(u) = self.allowed(&node, &key, Verified::VALUES) {
                return Lookup::Unreadable(u);
            }
            self.value_of(&node, &key, name)
        })
    }

    fn value_of(&self, node: &Node<'_, '_>, key: &str, name: &str) -> Lookup<RegValue> {
        match node.value(name) {
            None => Lookup::Absent,
            Some(Err(e)) => {
                Lookup::Unreadable(self.unreadable(&e, &format!("value {name:?} in {key}")))
            }
            Some(Ok(v)) => match self.read_value(&v, key) {
                Ok(v) => Lookup::Found(v),
                Err(u) => Lookup::Unreadable(u),
            },
        }
    }

    /// Read a key's subkey or value list (`what`: the list, an item) item by item into `out.0`;
    /// what cannot be read goes to `out.1`, and does not stop the rest.
    fn read_list<L, X, T>(
        &self,
        list: Option<Result<L, NtHiveError>>,
        what: (&str, &str),
        read: impl Fn(X) -> Result<T, Unreadable>,
        out: (&mut Vec<T>, &mut Vec<Unreadable>),
    ) where
        L: IntoIterator<Item = Result<X, NtHiveError>>,
    {
        let (items, unreadable) = out;
        match list {
            None => {}
            Some(Err(e)) => unreadable.push(self.unreadable(&e, what.0)),
            Some(Ok(iter)) => {
                for item in iter {
                    match item
                        .map_err(|e| self.unreadable(&e, what.1))
                        .and_then(&read)
                    {
                        Ok(t) => items.push(t),
                        Err(u) => unreadable.push(u),
                    }
                }
            }
        }
    }

    pub fn key(&self, comps: &[&str], asked: &str) -> Lookup<KeyView> {
        self.at_key(comps, |node, key| {
            Lookup::Found(self.view_of(&node, asked.to_string(), key))
        })
    }

    /// The view of one key node: its subkey names and values, and what of them cannot be read.
    /// `path`: the key as asked; `key`: as spelled in the hive.
    fn view_of(&self, node: &Node<'_, '_>, path: String, key: String) -> KeyView {
        let mut view = KeyView {
            hive: self.kind,
            path,
            file: self.file.clone(),
            form: SourceForm::Hive,
            source_key: key.clone(),
            last_written: self.key_timestamp(node),
            subkeys: Vec::new(),
            values: Vec::new(),
            unreadable: Vec::new(),
        };
        let a_subkey = format!("a subkey of {key}");
        let subkeys = self.allowed(node, &key, Verified::SUBKEYS);
        let values = self.allowed(node, &key, Verified::VALUES);
        view.unreadable.extend(subkeys.clone().err());
        view.unreadable.extend(values.clone().err());
        self.read_list(
            subkeys.ok().and_then(|()| node.subkeys()),
            (&format!("subkeys of {key}"), &a_subkey),
            |k| {
                k.name()
                    .map(|n| n.to_string_lossy())
                    .map_err(|e| self.unreadable(&e, &a_subkey))
            },
            (&mut view.subkeys, &mut view.unreadable),
        );
        self.read_list(
            values.ok().and_then(|()| node.values()),
            (&format!("values of {key}"), &format!("a value of {key}")),
            |v| self.read_value(&v, &key),
            (&mut view.values, &mut view.unreadable),
        );
        view
    }

    /// The key at `comps` and every key below it, depth first (a key before its subkeys, subkeys
    /// in registry order), each handed to `visit`. Walks key cells, not names: each key cell is
    /// visited once, so a subkey list naming an ancestor (a cycle) or a key listed under two
    /// parents is walked once and reported on the key whose list repeats it; a key with an empty
    /// name, or one the integrity walk did not verify (below damage, deeper than 512 levels), is
    /// reported on its parent and not entered. What is visited is bounded by the keys the file
    /// holds. `asked`: the key as asked (paths below it are built from it).
    pub fn walk_tree(
        &self,
        comps: &[&str],
        asked: &str,
        visit: &mut dyn FnMut(KeyView),
    ) -> Lookup<()> {
        self.at_key(comps, |node, key| {
            let mut seen = std::collections::HashSet::new();
            seen.extend(self.cell_of(&node));
            let mut stack = vec![(node, asked.to_string(), key)];
            while let Some((node, path, key)) = stack.pop() {
                let mut view = self.view_of(&node, path, key);
                let mut below = Vec::new();
                if self
                    .allowed(&node, &view.source_key, Verified::SUBKEYS)
                    .is_ok()
                {
                    if let Some(Ok(subkeys)) = node.subkeys() {
                        for k in subkeys.flatten() {
                            if let Some(next) = self.enter(&k, &view, &mut seen) {
                                below.push((k, next.0, next.1));
                            } else if let Some(u) = self.not_entered(&k, &view, &seen) {
                                view.unreadable.push(u);
                            }
                        }
                    }
                }
                stack.extend(below.into_iter().rev());
                visit(view);
            }
            Lookup::Found(())
        })
    }

    /// The paths (as asked, as spelled) of subkey `k` of `parent` when the walk enters it: a
    /// verified key cell not seen before, with a name.
    fn enter(
        &self,
        k: &Node<'_, '_>,
        parent: &KeyView,
        seen: &mut std::collections::HashSet<u32>,
    ) -> Option<(String, String)> {
        let cell = self.cell_of(k)?;
        let name = k.name().ok()?.to_string_lossy();
        if name.is_empty() || self.verified.key(cell).is_none() || seen.contains(&cell) {
            return None;
        }
        seen.insert(cell);
        let join = |p: &str| {
            if p.is_empty() {
                name.clone()
            } else {
                format!("{p}\\{name}")
            }
        };
        Some((join(&parent.path), join(&parent.source_key)))
    }

    /// Why the walk does not enter subkey `k` of `parent` (see [`HiveSource::walk_tree`]).
    fn not_entered(
        &self,
        k: &Node<'_, '_>,
        parent: &KeyView,
        seen: &std::collections::HashSet<u32>,
    ) -> Option<Unreadable> {
        let key = if parent.source_key.is_empty() {
            "(root)"
        } else {
            &parent.source_key
        };
        let cell = self.cell_of(k);
        let why = match cell {
            None => "its key node cannot be located (damaged name)".to_string(),
            Some(c) if seen.contains(&c) => format!(
                "key cell {c:#x} is listed again (a cycle or a key under two parents): not walked again"
            ),
            Some(c) if k.name().is_ok_and(|n| n.is_empty()) => {
                format!("key cell {c:#x} has an empty name: not walked")
            }
            Some(c) => format!(
                "key cell {c:#x} lies below damaged structure or deeper than {} levels (not verified): not walked",
                super::integrity::MAX_DEPTH
            ),
        };
        Some(Unreadable {
            file: self.file.clone(),
            offset: cell.map(Self::file_offset),
            reason: format!("a subkey of {key}: {why}"),
        })
    }
}
