//! A bounded integrity walk of a whole hive at load: every key node, subkey list (`li`, `lf`,
//! `lh`, `ri`), value list, value cell and value data cell reachable from the root is checked
//! (offset inside the hive bins, aligned, allocated, big enough, right signature). nt-hive only
//! fails on such damage when a lookup reaches it, so a hive with garbage in a list it was never
//! asked about would otherwise pass as clean.
//!
//! The walk also decides what lookups may hand to nt-hive ([`Verified`]): only key nodes it
//! reached and checked, and on each only the operations nt-hive can do without panicking
//! (`capture::hive_guard` says which) and without amplifying a small file into a large answer.
//! A cell reached a second time is damage, not only a stop: a subkey or value list shared by two
//! keys, a leaf list named twice by an `ri` list, a value cell listed twice, a data cell or a
//! big-data segment used twice. The key whose list holds the repeat answers `Unreadable` for that
//! list, so every subkey name, value and data byte a lookup returns comes from a cell of its own,
//! and what a whole-hive walk returns is bounded by the file's size.
//!
//! Bounds: each cell is visited at most once (a bitmap over the hive bins, one bit per 8-byte
//! slot, so a list naming an ancestor cannot loop), the walk stops after as many cells as the hive
//! bins can hold (`len / 8`), and keys deeper than [`MAX_DEPTH`] are not descended into. Memory
//! is the bitmap (1/64 of the hive bins), one frame per level of the current path, and the list
//! of verified cells (8 bytes per key, 4 per value).

use super::baseblock::{le32, BaseBlock, BASE_BLOCK_SIZE};
use crate::capture::hive_guard as guard;

/// Windows allows 512 levels of keys.
pub(crate) const MAX_DEPTH: usize = 512;
/// Offsets of fields inside a key node (`nk`) cell's data (Suhanov, "Key node").
const NK_SUBKEYS: usize = 20;
const NK_SUBKEY_LIST: usize = 28;
const NK_VALUES: usize = 36;
const NK_VALUE_LIST: usize = 40;
const NK_FLAGS: usize = 2;
const NK_NAME_LEN: usize = 72;
const NK_NAME: usize = 76;
/// Key name stored as Latin-1 (`KEY_COMP_NAME`), else UTF-16LE.
const KEY_COMP_NAME: u16 = 0x20;
/// Key value (`vk`) fields.
const VK_NAME_LEN: usize = 2;
const VK_DATA_SIZE: usize = 4;
const VK_DATA: usize = 8;
const VK_NAME: usize = 20;
/// Data larger than this is stored as big data (`db`) in hives of version 1.4 and later.
const BIG_DATA_THRESHOLD: u32 = 16_344;
const NIL: u32 = u32::MAX;

/// The first damage found, and how many more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Path of the key whose structure holds the damage (`""` = the root key).
    pub key: String,
    /// Offset of the damaged cell relative to the hive bins (as stored in the hive), or `NIL`.
    pub cell: u32,
    /// When `cell` is `NIL`: the cell holding that offset (the key whose list or the value whose
    /// data field names it), so the damage still has a place in the file.
    pub holder: Option<u32>,
    pub what: String,
}

impl Damage {
    /// File offset of the damaged cell, when the stored offset can be one.
    pub fn file_offset(&self) -> Option<u64> {
        (self.cell != NIL).then(|| BASE_BLOCK_SIZE as u64 + u64::from(self.cell))
    }

    /// File offset of the cell that holds the offset 0xFFFFFFFF, when `cell` is `NIL`.
    pub fn holder_offset(&self) -> Option<u64> {
        self.holder
            .filter(|_| self.cell == NIL)
            .map(|h| BASE_BLOCK_SIZE as u64 + u64::from(h))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Integrity {
    pub first: Option<Damage>,
    /// Damages found after the first.
    pub more: usize,
    pub keys: usize,
    pub values: usize,
    /// What lookups may hand to nt-hive.
    pub verified: Verified,
}

/// The cells the walk reached and checked, and what may be done on each: lookups hand nt-hive
/// only these. A key cell that is not listed (not reached from the root, below damage the walk
/// stopped at, deeper than [`MAX_DEPTH`], an empty name) answers `Unreadable`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Verified {
    /// Key cells (hive-bins offsets, sorted) with what may be read: [`Verified::SUBKEYS`],
    /// [`Verified::VALUES`].
    keys: Vec<(u32, u8)>,
    /// Value cells (sorted) whose data may be read.
    data: Vec<u32>,
}

impl Verified {
    /// The key's subkey list may be read (listed, looked up in).
    pub const SUBKEYS: u8 = 1;
    /// The key's value list may be read.
    pub const VALUES: u8 = 2;

    /// What may be read of the key node at `cell`; `None` when the walk did not verify it.
    pub fn key(&self, cell: u32) -> Option<u8> {
        self.keys
            .binary_search_by_key(&cell, |(c, _)| *c)
            .ok()
            .map(|i| self.keys[i].1)
    }

    /// Whether the data of the value cell at `cell` may be read.
    pub fn data(&self, cell: u32) -> bool {
        self.data.binary_search(&cell).is_ok()
    }
}

/// One level of the current path: the key's name and the subkeys still to visit.
struct Frame {
    /// The key's cell.
    cell: u32,
    name: String,
    children: Vec<u32>,
    next: usize,
}

struct Walker<'a> {
    /// The whole file, as nt-hive sees it.
    file: &'a [u8],
    /// The hive bins: the file after the base block, no longer than the base block says.
    bins: &'a [u8],
    visited: Vec<u64>,
    cells: usize,
    max_cells: usize,
    big_data: bool,
    /// The key or value cell being checked: where an offset 0xFFFFFFFF found now is stored.
    holder: u32,
    out: Integrity,
}

/// Walk the hive in `bytes` (a primary file, possibly replayed) from its root cell.
pub(crate) fn check(bytes: &[u8]) -> Integrity {
    let Some(base) = BaseBlock::parse(bytes) else {
        return Integrity::default();
    };
    let end = bytes
        .len()
        .min(BASE_BLOCK_SIZE.saturating_add(base.hbins_size as usize));
    let bins = bytes.get(BASE_BLOCK_SIZE..end).unwrap_or(&[]);
    let mut w = Walker {
        file: bytes,
        bins,
        visited: vec![0; bins.len() / 8 / 64 + 1],
        cells: 0,
        max_cells: bins.len() / 8,
        big_data: base.minor >= 4,
        holder: NIL,
        out: Integrity::default(),
    };
    if guard::root_safe(bytes) {
        w.walk(base.root_cell);
    } else {
        w.damage(
            || "(root cell)".into(),
            base.root_cell,
            || "the base block's root cell offset cannot be followed".into(),
        );
    }
    w.out.verified.keys.sort_unstable_by_key(|(c, _)| *c);
    w.out.verified.data.sort_unstable();
    w.out
}

fn path_of(frames: &[Frame], last: Option<&str>) -> String {
    let mut parts: Vec<&str> = frames.iter().skip(1).map(|f| f.name.as_str()).collect();
    if let Some(l) = last {
        if !frames.is_empty() {
            parts.push(l);
        }
    }
    parts.join("\\")
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

impl<'a> Walker<'a> {
    fn damage(&mut self, key: impl FnOnce() -> String, cell: u32, what: impl FnOnce() -> String) {
        if self.out.first.is_none() {
            self.out.first = Some(Damage {
                key: key(),
                cell,
                holder: (cell == NIL && self.holder != NIL).then_some(self.holder),
                what: what(),
            });
        } else {
            self.out.more += 1;
        }
    }

    /// Mark a cell visited; false when it was already.
    fn first_visit(&mut self, off: u32) -> bool {
        let slot = off as usize / 8;
        let (word, bit) = (slot / 64, slot % 64);
        match self.visited.get_mut(word) {
            Some(w) if *w & (1 << bit) != 0 => false,
            Some(w) => {
                *w |= 1 << bit;
                true
            }
            None => true,
        }
    }

    /// The data of the allocated cell at `off` (relative to the hive bins), at least `min` bytes.
    fn cell(&self, off: u32, min: usize) -> Result<&'a [u8], String> {
        if off == NIL {
            return Err("offset 0xFFFFFFFF (no cell)".into());
        }
        let at = off as usize;
        if !at.is_multiple_of(8) {
            return Err(format!("offset {off:#x} is not 8-byte aligned"));
        }
        let Some(head) = self.bins.get(at..at + 4) else {
            return Err(format!(
                "offset {off:#x} lies outside the hive bins ({} bytes)",
                self.bins.len()
            ));
        };
        let size = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if size >= 0 {
            return Err(format!(
                "cell {off:#x} is not allocated (size field {size})"
            ));
        }
        let size = size.unsigned_abs() as usize;
        if size < 8 || !size.is_multiple_of(8) {
            return Err(format!("cell {off:#x} has a bad size {size}"));
        }
        let Some(data) = self.bins.get(at + 4..at + size) else {
            return Err(format!(
                "cell {off:#x} ({size} bytes) runs past the end of the hive bins"
            ));
        };
        if data.len() < min {
            return Err(format!(
                "cell {off:#x} holds {} bytes, {min} needed",
                data.len()
            ));
        }
        Ok(data)
    }

    fn budget(&mut self) -> bool {
        self.cells += 1;
        self.cells <= self.max_cells
    }

    fn walk(&mut self, root: u32) {
        let mut frames: Vec<Frame> = Vec::new();
        if let Some(f) = self.key(root, &frames) {
            frames.push(f);
        }
        while let Some(top) = frames.last_mut() {
            if top.next == top.children.len() {
                frames.pop();
                continue;
            }
            let child = top.children[top.next];
            top.next += 1;
            if !self.budget() {
                self.damage(
                    || path_of(&frames, None),
                    child,
                    || "more cells than the hive bins can hold: walk stopped".into(),
                );
                return;
            }
            if frames.len() >= MAX_DEPTH {
                self.damage(
                    || path_of(&frames, None),
                    child,
                    || format!("keys nested deeper than {MAX_DEPTH} levels"),
                );
                continue;
            }
            self.holder = frames.last().map_or(NIL, |f| f.cell);
            if let Some(f) = self.key(child, &frames) {
                frames.push(f);
            }
        }
    }

    /// Check the key node at `off` (a subkey of the last frame, or the root) and its value list;
    /// returns its frame with its subkeys to visit. A key it returns is verified, with what may
    /// be read of it.
    fn key(&mut self, off: u32, frames: &[Frame]) -> Option<Frame> {
        let parent = || {
            if frames.is_empty() {
                "(root cell)".to_string()
            } else {
                path_of(frames, None)
            }
        };
        let nk = match self.cell(off, 2) {
            Ok(d) => d,
            Err(e) => {
                self.damage(parent, off, || format!("subkey: {e}"));
                return None;
            }
        };
        if &nk[..2] != b"nk" {
            let sig = String::from_utf8_lossy(&nk[..2]).into_owned();
            self.damage(parent, off, || {
                format!("subkey cell {off:#x} is not a key node (signature {sig:?})")
            });
            return None;
        }
        if nk.len() < NK_NAME {
            let n = nk.len();
            self.damage(parent, off, || {
                format!("key cell {off:#x} holds {n} bytes, {NK_NAME} needed")
            });
            return None;
        }
        if !self.first_visit(off) {
            self.damage(parent, off, || {
                format!("key cell {off:#x} is listed again (a cycle or a shared cell)")
            });
            return None;
        }
        self.out.keys += 1;
        let len = usize::from(le16(nk, NK_NAME_LEN));
        let Some(raw) = nk.get(NK_NAME..NK_NAME + len) else {
            self.damage(parent, off, || {
                format!("key cell {off:#x}: name of {len} bytes runs past the cell")
            });
            return None;
        };
        if len == 0 && !frames.is_empty() {
            // No path can name it, and a walk by name would take it for its parent.
            self.damage(parent, off, || {
                format!("key cell {off:#x} has an empty name")
            });
            return None;
        }
        let name = if le16(nk, NK_FLAGS) & KEY_COMP_NAME != 0 {
            raw.iter().map(|&b| b as char).collect()
        } else {
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        };
        let here = || path_of(frames, Some(&name));
        let here = || {
            let p = here();
            if p.is_empty() {
                "(root)".to_string()
            } else {
                p
            }
        };
        self.holder = off;
        let mut flags = 0;
        let nvalues = le32(nk, NK_VALUES);
        let value_list = le32(nk, NK_VALUE_LIST);
        let values_ok = if nvalues == 0 {
            // nt-hive still follows a list offset that is not 0xFFFFFFFF.
            value_list == NIL || !guard::hazard(self.file, value_list)
        } else {
            self.values(value_list, nvalues, &here) && guard::values_safe(self.file, off)
        };
        if values_ok {
            flags |= Verified::VALUES;
        }
        self.holder = off;
        let mut children = Vec::new();
        let nsub = le32(nk, NK_SUBKEYS);
        let list = le32(nk, NK_SUBKEY_LIST);
        let subkeys_ok = if list == NIL {
            if nsub > 0 {
                self.damage(here, NIL, || {
                    format!("key cell {off:#x} counts {nsub} subkeys but has no subkey list (offset 0xFFFFFFFF)")
                });
            }
            nsub == 0
        } else {
            // nt-hive reads a list that is there whatever the count says, so the walk does too.
            self.subkey_list(list, &here, &mut children, true)
                && guard::subkeys_safe(self.file, off)
        };
        if subkeys_ok {
            flags |= Verified::SUBKEYS;
        }
        self.out.verified.keys.push((off, flags));
        Some(Frame {
            cell: off,
            name,
            children,
            next: 0,
        })
    }

    /// A value list of `count` values; false when the list must not be read: missing although
    /// the key counts values, shared with another key, or listing a value cell twice (nt-hive
    /// would read it again). Other damage is reported and left to nt-hive, which answers it with
    /// an error; a damaged value cell only makes that value unreadable.
    fn values(&mut self, list: u32, count: u32, here: &dyn Fn() -> String) -> bool {
        if !self.budget() {
            return false;
        }
        if list != NIL && !self.first_visit(list) {
            self.damage(here, list, || {
                format!("value list {list:#x} is listed again (shared with another key)")
            });
            return false;
        }
        let need = (count as usize).saturating_mul(4);
        let cell = match self.cell(list, need) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, list, || format!("value list of {count} values: {e}"));
                // nt-hive refuses this list with an error (or, where it reads more leniently,
                // meets value cells this walk did not verify); with no list, values are missing.
                return list != NIL;
            }
        };
        let mut ok = true;
        for i in 0..count as usize {
            let vk = le32(cell, i * 4);
            if !self.budget() {
                return false;
            }
            ok &= self.value(vk, here);
        }
        ok
    }

    /// A value cell; verified (its data may be read) when it and its data are sound. False when
    /// the cell was listed before (the list that repeats it must not be read).
    fn value(&mut self, off: u32, here: &dyn Fn() -> String) -> bool {
        if off != NIL && !self.first_visit(off) {
            self.damage(here, off, || {
                format!("value cell {off:#x} is listed again (twice, or by another key)")
            });
            return false;
        }
        let vk = match self.cell(off, VK_NAME) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, off, || format!("value: {e}"));
                return true;
            }
        };
        if &vk[..2] != b"vk" {
            let sig = String::from_utf8_lossy(&vk[..2]).into_owned();
            self.damage(here, off, || {
                format!("value cell {off:#x} is not a key value (signature {sig:?})")
            });
            return true;
        }
        self.out.values += 1;
        let name_len = usize::from(le16(vk, VK_NAME_LEN));
        if vk.len() < VK_NAME + name_len {
            self.damage(here, off, || {
                format!("value cell {off:#x}: name of {name_len} bytes runs past the cell")
            });
            return true;
        }
        let size = le32(vk, VK_DATA_SIZE);
        let data = le32(vk, VK_DATA);
        let key_cell = std::mem::replace(&mut self.holder, off);
        let sound = if size & 0x8000_0000 != 0 || size == 0 {
            true // stored in the value cell itself, or nothing to read
        } else if !self.budget() {
            false
        } else if data != NIL && !self.first_visit(data) {
            self.damage(here, data, || {
                format!("data cell {data:#x} of value cell {off:#x} is used again (shared with another value)")
            });
            false
        } else if self.big_data && size > BIG_DATA_THRESHOLD {
            self.big(data, size, here)
        } else if let Err(e) = self.cell(data, size as usize) {
            self.damage(here, data, || format!("data of value cell {off:#x}: {e}"));
            false
        } else {
            true
        };
        self.holder = key_cell;
        if sound && guard::data_safe(self.file, off) {
            self.out.verified.data.push(off);
        }
        true
    }

    /// A big data (`db`) record: its segment list and segments, each used once.
    fn big(&mut self, off: u32, size: u32, here: &dyn Fn() -> String) -> bool {
        let db = match self.cell(off, 8) {
            Ok(c) if &c[..2] == b"db" => c,
            Ok(c) => {
                let sig = String::from_utf8_lossy(&c[..2]).into_owned();
                self.damage(here, off, || {
                    format!("big data cell {off:#x} has signature {sig:?}, not \"db\"")
                });
                return false;
            }
            Err(e) => {
                self.damage(here, off, || format!("big data of {size} bytes: {e}"));
                return false;
            }
        };
        let count = usize::from(le16(db, 2));
        let list = le32(db, 4);
        if list != NIL && !self.first_visit(list) {
            self.damage(here, list, || {
                format!("big data segment list {list:#x} is used again")
            });
            return false;
        }
        let segs = match self.cell(list, count * 4) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, list, || format!("big data segment list: {e}"));
                return false;
            }
        };
        for i in 0..count {
            let seg = le32(segs, i * 4);
            if !self.budget() {
                return false;
            }
            if seg != NIL && !self.first_visit(seg) {
                self.damage(here, seg, || {
                    format!("big data segment {seg:#x} is used again")
                });
                return false;
            }
            if let Err(e) = self.cell(seg, 0) {
                self.damage(here, seg, || format!("big data segment: {e}"));
                return false;
            }
        }
        true
    }

    /// A subkey list: its element offsets go to `children` (checked when visited). `ri` lists
    /// hold leaf lists (`li`, `lf`, `lh`), one level only. False when the list must not be read:
    /// shared with another key or named twice (nt-hive would list its keys again each time), or
    /// the walk ran out of budget. Other damage is reported and left to nt-hive, which answers it
    /// with an error; keys it reads past such damage were not verified, so lookups stop there.
    fn subkey_list(
        &mut self,
        off: u32,
        here: &dyn Fn() -> String,
        children: &mut Vec<u32>,
        top: bool,
    ) -> bool {
        if !self.budget() {
            return false;
        }
        if off != NIL && !self.first_visit(off) {
            self.damage(here, off, || {
                format!("subkey list {off:#x} is listed again (a cycle or a shared cell)")
            });
            return false;
        }
        let cell = match self.cell(off, 4) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, off, || format!("subkey list: {e}"));
                return true;
            }
        };
        let count = usize::from(le16(cell, 2));
        let stride = match &cell[..2] {
            b"li" => 4,
            b"lf" | b"lh" => 8,
            b"ri" if top => 4,
            sig => {
                let sig = String::from_utf8_lossy(sig).into_owned();
                self.damage(here, off, || {
                    format!("cell {off:#x} is not a subkey list (signature {sig:?})")
                });
                return true;
            }
        };
        if cell.len() < 4 + count * stride {
            self.damage(here, off, || {
                format!(
                    "subkey list {off:#x} claims {count} elements, its cell holds {} bytes",
                    cell.len()
                )
            });
            return true;
        }
        let is_root = &cell[..2] == b"ri";
        let mut ok = true;
        for i in 0..count {
            let element = le32(cell, 4 + i * stride);
            if is_root {
                ok &= self.subkey_list(element, here, children, false);
            } else {
                children.push(element);
            }
        }
        ok
    }
}
