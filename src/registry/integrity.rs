//! A bounded integrity walk of a whole hive at load: every key node, subkey list (`li`, `lf`,
//! `lh`, `ri`), value list, value cell and value data cell reachable from the root is checked
//! (offset inside the hive bins, aligned, allocated, big enough, right signature). nt-hive only
//! fails on such damage when a lookup reaches it, so a hive with garbage in a list it was never
//! asked about would otherwise pass as clean.
//!
//! Bounds: each cell is visited at most once (a bitmap over the hive bins, one bit per 8-byte
//! slot, so a list naming an ancestor cannot loop), the walk stops after as many cells as the hive
//! bins can hold (`len / 8`), and keys deeper than [`MAX_DEPTH`] are not descended into. Memory
//! is the bitmap (1/64 of the hive bins) plus one frame per level of the current path.

use super::baseblock::{le32, BaseBlock, BASE_BLOCK_SIZE};

/// Windows allows 512 levels of keys.
const MAX_DEPTH: usize = 512;
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
    pub what: String,
}

impl Damage {
    /// File offset of the damaged cell, when the stored offset can be one.
    pub fn file_offset(&self) -> Option<u64> {
        (self.cell != NIL).then(|| BASE_BLOCK_SIZE as u64 + u64::from(self.cell))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Integrity {
    pub first: Option<Damage>,
    /// Damages found after the first.
    pub more: usize,
    pub keys: usize,
    pub values: usize,
    /// Key cells (hive-bins offsets, sorted) whose subkey list is, or holds, offset 0xFFFFFFFF,
    /// on which nt-hive asserts: lookups must not hand such lists to it.
    pub nil_subkeys: Vec<u32>,
    /// The same for value lists (the list offset or an element).
    pub nil_values: Vec<u32>,
    /// Value cells (hive-bins offsets, sorted) whose data offset, big-data segment list or a
    /// segment is 0xFFFFFFFF.
    pub nil_data: Vec<u32>,
}

/// One level of the current path: the key's name and the subkeys still to visit.
struct Frame {
    name: String,
    children: Vec<u32>,
    next: usize,
}

struct Walker<'a> {
    /// The hive bins: the file after the base block, no longer than the base block says.
    bins: &'a [u8],
    visited: Vec<u64>,
    cells: usize,
    max_cells: usize,
    big_data: bool,
    /// The key cell being checked.
    current: u32,
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
        bins,
        visited: vec![0; bins.len() / 8 / 64 + 1],
        cells: 0,
        max_cells: bins.len() / 8,
        big_data: base.minor >= 4,
        current: NIL,
        out: Integrity::default(),
    };
    w.walk(base.root_cell);
    for v in [
        &mut w.out.nil_subkeys,
        &mut w.out.nil_values,
        &mut w.out.nil_data,
    ] {
        v.sort_unstable();
        v.dedup();
    }
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
        if at % 8 != 0 {
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
        if size < 8 || size % 8 != 0 {
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
            if let Some(f) = self.key(child, &frames) {
                frames.push(f);
            }
        }
    }

    /// Check the key node at `off` (a subkey of the last frame, or the root) and its value list;
    /// returns its frame with its subkeys to visit.
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
        self.current = off;
        let nvalues = le32(nk, NK_VALUES);
        if nvalues > 0 {
            self.values(le32(nk, NK_VALUE_LIST), nvalues, &here);
        }
        let mut children = Vec::new();
        let nsub = le32(nk, NK_SUBKEYS);
        if nsub > 0 {
            self.subkey_list(le32(nk, NK_SUBKEY_LIST), &here, &mut children, true);
        }
        Some(Frame {
            name,
            children,
            next: 0,
        })
    }

    fn nil_value(&mut self, off: u32) {
        if off == NIL {
            self.out.nil_values.push(self.current);
        }
    }

    fn values(&mut self, list: u32, count: u32, here: &dyn Fn() -> String) {
        self.nil_value(list);
        if !self.budget() || !self.first_visit(list) {
            return;
        }
        let need = (count as usize).saturating_mul(4);
        let cell = match self.cell(list, need) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, list, || format!("value list of {count} values: {e}"));
                return;
            }
        };
        for i in 0..count as usize {
            let vk = le32(cell, i * 4);
            if !self.budget() {
                return;
            }
            self.value(vk, here);
        }
    }

    fn value(&mut self, off: u32, here: &dyn Fn() -> String) {
        self.nil_value(off);
        if off != NIL && !self.first_visit(off) {
            return;
        }
        let vk = match self.cell(off, VK_NAME) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, off, || format!("value: {e}"));
                return;
            }
        };
        if &vk[..2] != b"vk" {
            let sig = String::from_utf8_lossy(&vk[..2]).into_owned();
            self.damage(here, off, || {
                format!("value cell {off:#x} is not a key value (signature {sig:?})")
            });
            return;
        }
        self.out.values += 1;
        let name_len = usize::from(le16(vk, VK_NAME_LEN));
        if vk.len() < VK_NAME + name_len {
            self.damage(here, off, || {
                format!("value cell {off:#x}: name of {name_len} bytes runs past the cell")
            });
            return;
        }
        let size = le32(vk, VK_DATA_SIZE);
        if size & 0x8000_0000 != 0 || size == 0 {
            return; // stored in the value cell itself
        }
        let data = le32(vk, VK_DATA);
        if data == NIL {
            self.out.nil_data.push(off);
        }
        if !self.budget() || (data != NIL && !self.first_visit(data)) {
            return;
        }
        if self.big_data && size > BIG_DATA_THRESHOLD {
            self.big(off, data, size, here);
        } else if let Err(e) = self.cell(data, size as usize) {
            self.damage(here, data, || format!("data of value cell {off:#x}: {e}"));
        }
    }

    /// A big data (`db`) record: its segment list and segments.
    fn big(&mut self, vk: u32, off: u32, size: u32, here: &dyn Fn() -> String) {
        let db = match self.cell(off, 8) {
            Ok(c) if &c[..2] == b"db" => c,
            Ok(c) => {
                let sig = String::from_utf8_lossy(&c[..2]).into_owned();
                self.damage(here, off, || {
                    format!("big data cell {off:#x} has signature {sig:?}, not \"db\"")
                });
                return;
            }
            Err(e) => {
                self.damage(here, off, || format!("big data of {size} bytes: {e}"));
                return;
            }
        };
        let count = usize::from(le16(db, 2));
        let list = le32(db, 4);
        if list == NIL {
            self.out.nil_data.push(vk);
        }
        if !self.first_visit(list) {
            return;
        }
        let segs = match self.cell(list, count * 4) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, list, || format!("big data segment list: {e}"));
                return;
            }
        };
        for i in 0..count {
            let seg = le32(segs, i * 4);
            if seg == NIL {
                self.out.nil_data.push(vk);
            }
            if !self.budget() || (seg != NIL && !self.first_visit(seg)) {
                return;
            }
            if let Err(e) = self.cell(seg, 0) {
                self.damage(here, seg, || format!("big data segment: {e}"));
            }
        }
    }

    /// A subkey list: its element offsets go to `children` (checked when visited). `ri` lists
    /// hold leaf lists (`li`, `lf`, `lh`), one level only.
    fn subkey_list(
        &mut self,
        off: u32,
        here: &dyn Fn() -> String,
        children: &mut Vec<u32>,
        top: bool,
    ) {
        if off == NIL {
            self.out.nil_subkeys.push(self.current);
        }
        if !self.budget() {
            return;
        }
        if off != NIL && !self.first_visit(off) {
            self.damage(here, off, || {
                format!("subkey list {off:#x} is listed again (a cycle or a shared cell)")
            });
            return;
        }
        let cell = match self.cell(off, 4) {
            Ok(c) => c,
            Err(e) => {
                self.damage(here, off, || format!("subkey list: {e}"));
                return;
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
                return;
            }
        };
        if cell.len() < 4 + count * stride {
            self.damage(here, off, || {
                format!(
                    "subkey list {off:#x} claims {count} elements, its cell holds {} bytes",
                    cell.len()
                )
            });
            return;
        }
        let is_root = &cell[..2] == b"ri";
        for i in 0..count {
            let element = le32(cell, 4 + i * stride);
            if element == NIL {
                self.out.nil_subkeys.push(self.current);
            }
            if is_root {
                self.subkey_list(element, here, children, false);
            } else {
                children.push(element);
            }
        }
    }
}
