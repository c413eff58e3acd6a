//! Reading one hive file through nt-hive: key walks, value decoding (unknown types kept raw, big
//! data), and turning nt-hive errors into [`Unreadable`] with file and offset. The bytes are owned
//! here (already replayed when the hive was dirty); nt-hive borrows them per lookup.

use std::panic::{catch_unwind, AssertUnwindSafe};

use nt_hive::{Hive, KeyNode, KeyValue, KeyValueData, NtHiveError, NtHiveNameString};

use super::decode::decode;
use super::paths;
use super::types::{type_name, KeyView, Lookup, RegProvenance, RegValue, SourceForm, Unreadable};
use crate::evidence::HiveKind;

/// A hive file ready for lookups.
pub(crate) struct HiveSource {
    pub file: String,
    pub kind: HiveKind,
    pub bytes: Vec<u8>,
    /// `Select\Current` of this hive (SYSTEM only), resolved at load.
    pub ccs: Lookup<u32>,
    guard: NilGuard,
}

/// Key cells (hive-bins offsets, sorted) whose subkey or value lists hold offset 0xFFFFFFFF,
/// found by the integrity walk at load. nt-hive asserts (panics) on that offset, so lookups answer
/// `Unreadable` for those lists without handing them to nt-hive.
#[derive(Debug, Clone, Default)]
pub(crate) struct NilGuard {
    pub subkeys: Vec<u32>,
    pub values: Vec<u32>,
    /// Value cells whose data (or big-data segments) sit at 0xFFFFFFFF.
    pub data: Vec<u32>,
}

/// Offset of the value name inside a key value (`vk`) cell, from its signature.
const VK_NAME_OFFSET: usize = 20;

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

/// Offset of the key name inside a key node (`nk`) cell, from its signature.
const NK_NAME_OFFSET: usize = 76;
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
    pub fn new(file: String, kind: HiveKind, bytes: Vec<u8>, guard: NilGuard) -> HiveSource {
        let mut s = HiveSource {
            file,
            kind,
            bytes,
            ccs: Lookup::NotProvided { hive: kind },
            guard,
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

    /// Run `f` over the hive. nt-hive asserts on some malformed offsets; a panic there is turned
    /// into `Unreadable` instead of taking the process down.
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
                reason: "malformed hive structure (reader refused an invalid offset)".into(),
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

    /// Walk from the root; `Absent` when a component is missing. Returns the node and the path as
    /// spelled in the hive.
    fn walk<'h, 'b, S: AsRef<str>>(
        &self,
        hive: &'h Hive<&'b [u8]>,
        comps: &[S],
    ) -> Lookup<(Node<'h, 'b>, String)> {
        let mut node = match hive.root_key_node() {
            Ok(n) => n,
            Err(e) => return Lookup::Unreadable(self.unreadable(&e, "root key")),
        };
        let mut spelled: Vec<String> = Vec::with_capacity(comps.len());
        for c in comps {
            let c = c.as_ref();
            if let Some(u) = self.guarded(&node, &paths::join(&spelled), true) {
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

    /// File offset of a key node's `nk` signature, from the address of the key name nt-hive
    /// returns (it borrows our bytes at `nk + 76`), checked by the signature.
    fn nk_at(&self, node: &Node<'_, '_>) -> Option<usize> {
        let name = node.name().ok()?;
        let slice = match name {
            NtHiveNameString::Latin1(s) | NtHiveNameString::Utf16LE(s) => s,
        };
        let at = (slice.as_ptr() as usize).checked_sub(self.bytes.as_ptr() as usize)?;
        let nk = at.checked_sub(NK_NAME_OFFSET)?;
        (self.bytes.get(nk..nk + 2)? == b"nk").then_some(nk)
    }

    /// `Some(Unreadable)` when the integrity walk found offset 0xFFFFFFFF in this key's subkey
    /// list (`subkeys`) or value list (`!subkeys`): nt-hive would assert on it.
    fn guarded(&self, node: &Node<'_, '_>, key: &str, subkeys: bool) -> Option<Unreadable> {
        let list = if subkeys {
            &self.guard.subkeys
        } else {
            &self.guard.values
        };
        if list.is_empty() {
            return None;
        }
        let nk = self.nk_at(node)?;
        let cell = u32::try_from(nk.checked_sub(super::baseblock::BASE_BLOCK_SIZE + 4)?).ok()?;
        list.binary_search(&cell).ok()?;
        let what = if subkeys { "subkey" } else { "value" };
        Some(Unreadable {
            file: self.file.clone(),
            offset: Some(nk as u64 - 4),
            reason: format!(
                "key {}: its {what} list holds cell offset 0xFFFFFFFF (damaged hive)",
                if key.is_empty() { "(root)" } else { key }
            ),
        })
    }

    /// The last-written FILETIME of a key node. nt-hive 0.3 has no accessor; the key name it
    /// returns borrows our bytes at `nk + 76`, which locates the cell (checked by its signature).
    fn key_timestamp(&self, node: &Node<'_, '_>) -> Option<jiff::Timestamp> {
        filetime(super::baseblock::le64(&self.bytes, self.nk_at(node)? + 4))
    }

    /// `Some(Unreadable)` when the integrity walk found this value's data at offset 0xFFFFFFFF
    /// (located from the address of the name nt-hive returns, checked by the `vk` signature).
    fn data_guarded(&self, v: &KeyValue<'_, &[u8]>, what: &str) -> Option<Unreadable> {
        if self.guard.data.is_empty() {
            return None;
        }
        let slice = match v.name().ok()? {
            NtHiveNameString::Latin1(s) | NtHiveNameString::Utf16LE(s) => s,
        };
        let at = (slice.as_ptr() as usize).checked_sub(self.bytes.as_ptr() as usize)?;
        let vk = at.checked_sub(VK_NAME_OFFSET)?;
        if self.bytes.get(vk..vk + 2)? != b"vk" {
            return None;
        }
        let cell = u32::try_from(vk.checked_sub(super::baseblock::BASE_BLOCK_SIZE + 4)?).ok()?;
        self.guard.data.binary_search(&cell).ok()?;
        Some(Unreadable {
            file: self.file.clone(),
            offset: Some(vk as u64 - 4),
            reason: format!("{what}: its data is at cell offset 0xFFFFFFFF (damaged hive)"),
        })
    }

    fn read_value(&self, v: &KeyValue<'_, &[u8]>, key: &str) -> Result<RegValue, Unreadable> {
        let name = v
            .name()
            .map_err(|e| self.unreadable(&e, &format!("value name in {key}")))?
            .to_string_lossy();
        let what = || format!("value {name:?} in {key}");
        if let Some(u) = self.data_guarded(v, &what()) {
            return Err(u);
        }
        let type_code = match v.data_type() {
            Ok(t) => t as u32,
            Err(NtHiveError::UnsupportedKeyValueDataType { actual, .. }) => actual,
            Err(e) => return Err(self.unreadable(&e, &what())),
        };
        let bytes = if v.data_size() == 0 {
            Vec::new()
        } else {
            match v.data().map_err(|e| self.unreadable(&e, &what()))? {
                KeyValueData::Small(s) => s.to_vec(),
                KeyValueData::Big(slices) => {
                    let mut out = Vec::with_capacity(v.data_size() as usize);
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
            if let Some(u) = self.guarded(&node, &key, false) {
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
            let mut view = KeyView {
                hive: self.kind,
                path: asked.to_string(),
                file: self.file.clone(),
                form: SourceForm::Hive,
                source_key: key.clone(),
                last_written: self.key_timestamp(&node),
                subkeys: Vec::new(),
                values: Vec::new(),
                unreadable: Vec::new(),
            };
            let a_subkey = format!("a subkey of {key}");
            let subkeys_guard = self.guarded(&node, &key, true);
            let values_guard = self.guarded(&node, &key, false);
            view.unreadable.extend(subkeys_guard.iter().cloned());
            view.unreadable.extend(values_guard.iter().cloned());
            self.read_list(
                if subkeys_guard.is_some() {
                    None
                } else {
                    node.subkeys()
                },
                (&format!("subkeys of {key}"), &a_subkey),
                |k| {
                    k.name()
                        .map(|n| n.to_string_lossy())
                        .map_err(|e| self.unreadable(&e, &a_subkey))
                },
                (&mut view.subkeys, &mut view.unreadable),
            );
            self.read_list(
                if values_guard.is_some() {
                    None
                } else {
                    node.values()
                },
                (&format!("values of {key}"), &format!("a value of {key}")),
                |v| self.read_value(&v, &key),
                (&mut view.values, &mut view.unreadable),
            );
            Lookup::Found(view)
        })
    }
}
