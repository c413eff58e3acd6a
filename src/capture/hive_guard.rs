//! What nt-hive assumes of the cells it follows, checked before it is handed a key node.
//!
//! nt-hive 0.3 validates most of what it reads and answers damage with an error, but it panics in
//! two places that a damaged hive reaches (read from its source, `hive.rs`
//! `cell_range_from_data_offset`):
//!
//! - `assert!(data_offset != u32::MAX)`: every cell offset it follows — the root cell, a subkey-list
//!   element, an index-root (`ri`) item, a value-list element, a value's data offset (also for
//!   data of size 0 that is not stored inline), a big-data (`db`) segment list and its segments;
//! - `cell_size - 4` on a cell whose size field is 0, which overflows in builds with overflow
//!   checks (debug and test builds).
//!
//! Everything else it reads is bounds-checked (`byte_subrange`), its `unwrap`s follow those checks,
//! its binary search only runs on lists it checked to hold at least one element, and its name
//! comparisons always order. So the one question before an operation on a node is: does any offset
//! the operation follows hit one of those two cases ([`hazard`])? The functions here answer it for
//! each operation, following the same cells nt-hive follows and stopping where nt-hive would
//! stop with an error. They also refuse the one amplification nt-hive has no bound for: an `ri`
//! list naming the same leaf list twice (65,535 items can name one leaf of 65,535 keys), and a
//! big-data value naming one segment twice (up to 1 GiB from one 16 KiB cell).
//!
//! `bytes` is always the whole hive file (base block first); offsets are relative to the hive bins,
//! as stored in the hive. The registry reader builds on these in its integrity walk
//! (`registry::integrity`); the sniffer uses them directly.

/// Size of the base block before the hive bins.
pub(crate) const BASE_BLOCK: usize = 4096;
/// The "no cell" offset.
pub(crate) const NIL: u32 = u32::MAX;
/// Value data larger than this is big data (`db`) for nt-hive, whatever the hive version.
pub(crate) const BIG_DATA_SEGMENT: u32 = 16_344;
/// Offset of the root cell offset in the base block.
const ROOT_CELL: usize = 36;
/// Key node (`nk`) fields, from the start of the cell's data.
pub(crate) const NK_SUBKEY_LIST: usize = 28;
pub(crate) const NK_VALUES: usize = 36;
pub(crate) const NK_VALUE_LIST: usize = 40;
pub(crate) const NK_NAME: usize = 76;
/// Key value (`vk`) fields.
pub(crate) const VK_DATA_SIZE: usize = 4;
pub(crate) const VK_DATA: usize = 8;
pub(crate) const VK_NAME: usize = 20;
/// Data stored in the data-offset field itself.
const DATA_INLINE: u32 = 0x8000_0000;

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

/// Whether nt-hive panics when it follows cell offset `off`: 0xFFFFFFFF, or a cell whose size
/// field is 0.
pub(crate) fn hazard(bytes: &[u8], off: u32) -> bool {
    if off == NIL {
        return true;
    }
    let at = BASE_BLOCK + off as usize;
    bytes.get(at..at + 4) == Some(&[0, 0, 0, 0][..])
}

/// The data of the cell at `off` as nt-hive sees it (allocated, size a multiple of 8, inside the
/// file), or `None` where nt-hive answers an error. Call only for offsets that are no [`hazard`].
fn nt_cell(bytes: &[u8], off: u32) -> Option<&[u8]> {
    let data = bytes.get(BASE_BLOCK..)?;
    let at = off as usize;
    let head = data.get(at..at.checked_add(4)?)?;
    let size = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if size >= 0 {
        return None;
    }
    let size = size.unsigned_abs() as usize;
    if !size.is_multiple_of(8) {
        return None;
    }
    data.get(at + 4..at.checked_add(size)?)
}

/// Whether `off` can be followed and, if so, what nt-hive finds there: `Err(())` on a hazard,
/// `Ok(None)` where nt-hive stops with an error, `Ok(Some(cell))` where it goes on.
fn follow(bytes: &[u8], off: u32) -> Result<Option<&[u8]>, ()> {
    if hazard(bytes, off) {
        Err(())
    } else {
        Ok(nt_cell(bytes, off))
    }
}

/// `Hive::root_key_node` is safe.
pub(crate) fn root_safe(bytes: &[u8]) -> bool {
    bytes.len() >= BASE_BLOCK && !hazard(bytes, le32(bytes, ROOT_CELL))
}

/// The key node at `nk` as nt-hive accepts it, or `None` (nt-hive would have refused it, so no
/// operation on it can happen).
fn key_node(bytes: &[u8], nk: u32) -> Option<&[u8]> {
    let cell = follow(bytes, nk).ok().flatten()?;
    (cell.len() >= NK_NAME && &cell[..2] == b"nk").then_some(cell)
}

/// `KeyNode::subkeys`, `subkey` and `subpath` on the key node at `nk` are safe: every element of
/// its subkey list (through an `ri` list: every item and every element of the leaf lists they
/// name) can be followed, and no leaf list is named twice.
pub(crate) fn subkeys_safe(bytes: &[u8], nk: u32) -> bool {
    let Some(node) = key_node(bytes, nk) else {
        return true;
    };
    let list = le32(node, NK_SUBKEY_LIST);
    if list == NIL {
        return true; // nt-hive: no subkeys
    }
    let Ok(cell) = follow(bytes, list) else {
        return false;
    };
    let Some(cell) = cell.filter(|c| c.len() >= 4) else {
        return true;
    };
    let count = usize::from(le16(cell, 2));
    match &cell[..2] {
        b"li" | b"lf" | b"lh" => leaf_safe(bytes, cell, false),
        b"ri" => {
            let Some(items) = cell.get(4..4 + count * 4) else {
                return true; // nt-hive: the items do not fit
            };
            let mut seen: Vec<u32> = Vec::with_capacity(count);
            for item in items.chunks_exact(4) {
                let item = u32::from_le_bytes([item[0], item[1], item[2], item[3]]);
                match follow(bytes, item) {
                    Err(()) => return false,
                    Ok(None) => {}
                    Ok(Some(leaf)) => {
                        if !leaf_safe(bytes, leaf, true) {
                            return false;
                        }
                    }
                }
                seen.push(item);
            }
            seen.sort_unstable();
            seen.windows(2).all(|w| w[0] != w[1])
        }
        _ => true, // nt-hive: not a subkey list
    }
}

/// The elements of a leaf list (`li`, `lf`, `lh`) nt-hive would follow are no hazard. `in_root`:
/// the list is named by an `ri` item (nt-hive refuses an empty one there).
fn leaf_safe(bytes: &[u8], cell: &[u8], in_root: bool) -> bool {
    let stride = match cell.get(..2) {
        Some(b"li") => 4,
        Some(b"lf") | Some(b"lh") => 8,
        _ => return true,
    };
    let count = usize::from(le16(cell, 2));
    if in_root && count == 0 {
        return true;
    }
    let Some(items) = cell.get(4..4 + count * stride) else {
        return true;
    };
    items
        .chunks_exact(stride)
        .all(|e| !hazard(bytes, u32::from_le_bytes([e[0], e[1], e[2], e[3]])))
}

/// `KeyNode::values` and `value` on the key node at `nk` are safe: the value list and every
/// element nt-hive would follow (the key's value count of them) can be followed.
pub(crate) fn values_safe(bytes: &[u8], nk: u32) -> bool {
    let Some(node) = key_node(bytes, nk) else {
        return true;
    };
    let list = le32(node, NK_VALUE_LIST);
    if list == NIL {
        return true; // nt-hive: no values
    }
    let Ok(cell) = follow(bytes, list) else {
        return false;
    };
    let Some(cell) = cell else {
        return true;
    };
    let count = le32(node, NK_VALUES) as usize;
    let Some(items) = count.checked_mul(4).and_then(|n| cell.get(..n)) else {
        return true; // nt-hive: the elements do not fit
    };
    items
        .chunks_exact(4)
        .all(|e| !hazard(bytes, u32::from_le_bytes([e[0], e[1], e[2], e[3]])))
}

/// `KeyValue::data` on the key value at `vk` is safe: its data offset can be followed and, for big
/// data, the segment list and every segment nt-hive reads, none of them named twice.
pub(crate) fn data_safe(bytes: &[u8], vk: u32) -> bool {
    let Some(cell) = follow(bytes, vk).ok().flatten() else {
        return true;
    };
    if cell.len() < VK_NAME || &cell[..2] != b"vk" {
        return true;
    }
    let size = le32(cell, VK_DATA_SIZE);
    if size & DATA_INLINE != 0 {
        return true;
    }
    let Ok(data) = follow(bytes, le32(cell, VK_DATA)) else {
        return false;
    };
    if size <= BIG_DATA_SEGMENT {
        return true;
    }
    let Some(db) = data.filter(|d| d.len() >= 8 && &d[..2] == b"db") else {
        return true;
    };
    let count = usize::from(le16(db, 2));
    if size as usize > count * BIG_DATA_SEGMENT as usize {
        return true; // nt-hive: too few segments
    }
    let Ok(list) = follow(bytes, le32(db, 4)) else {
        return false;
    };
    let Some(segs) = list.and_then(|l| l.get(..count * 4)) else {
        return true;
    };
    let needed = (size as usize).div_ceil(BIG_DATA_SEGMENT as usize);
    let mut seen: Vec<u32> = Vec::with_capacity(needed);
    for s in segs.chunks_exact(4).take(needed) {
        let s = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        if hazard(bytes, s) {
            return false;
        }
        seen.push(s);
    }
    seen.sort_unstable();
    seen.windows(2).all(|w| w[0] != w[1])
}

/// The cell offset (relative to the hive bins) of the key node or key value whose name nt-hive
/// returned as `name`: nt-hive borrows the name from `bytes` at `cell + 4 + name_at`. Checked by
/// the cell's signature `sig`.
pub(crate) fn cell_of(bytes: &[u8], name: &[u8], name_at: usize, sig: &[u8; 2]) -> Option<u32> {
    let at = (name.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let data = at.checked_sub(name_at)?;
    if bytes.get(data..data + 2)? != sig {
        return None;
    }
    u32::try_from(data.checked_sub(BASE_BLOCK + 4)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hive file: a base block whose root is at 0x20, then the cells given as (offset, bytes).
    fn hive(cells: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0u8; BASE_BLOCK + 0x1000];
        b[..4].copy_from_slice(b"regf");
        b[ROOT_CELL..ROOT_CELL + 4].copy_from_slice(&0x20u32.to_le_bytes());
        for (off, data) in cells {
            let at = BASE_BLOCK + *off as usize;
            let size = (data.len() + 4).div_ceil(8) * 8;
            b[at..at + 4].copy_from_slice(&(-(size as i32)).to_le_bytes());
            b[at + 4..at + 4 + data.len()].copy_from_slice(data);
        }
        b
    }

    fn nk(subkey_list: u32, values: u32, value_list: u32) -> Vec<u8> {
        let mut c = vec![0u8; NK_NAME + 4];
        c[..2].copy_from_slice(b"nk");
        c[NK_SUBKEY_LIST..NK_SUBKEY_LIST + 4].copy_from_slice(&subkey_list.to_le_bytes());
        c[NK_VALUES..NK_VALUES + 4].copy_from_slice(&values.to_le_bytes());
        c[NK_VALUE_LIST..NK_VALUE_LIST + 4].copy_from_slice(&value_list.to_le_bytes());
        c[72] = 4;
        c[NK_NAME..].copy_from_slice(b"ROOT");
        c
    }

    fn list(sig: &[u8; 2], elements: &[u32]) -> Vec<u8> {
        let mut c = sig.to_vec();
        c.extend((elements.len() as u16).to_le_bytes());
        for e in elements {
            c.extend(e.to_le_bytes());
            if sig != b"li" && sig != b"ri" {
                c.extend([0; 4]);
            }
        }
        c
    }

    #[test]
    fn the_root_offset_is_checked() {
        let mut b = hive(&[(0x20, nk(NIL, 0, NIL))]);
        assert!(root_safe(&b));
        b[ROOT_CELL..ROOT_CELL + 4].copy_from_slice(&NIL.to_le_bytes());
        assert!(!root_safe(&b));
        // A cell whose size field is 0.
        b[ROOT_CELL..ROOT_CELL + 4].copy_from_slice(&0x800u32.to_le_bytes());
        assert!(!root_safe(&b));
    }

    #[test]
    fn subkey_lists_with_nil_elements_or_repeated_leaves_are_unsafe() {
        let leaf = |e: &[u32]| list(b"lh", e);
        let safe = hive(&[(0x20, nk(0x100, 0, NIL)), (0x100, leaf(&[0x20]))]);
        assert!(subkeys_safe(&safe, 0x20));
        let nil = hive(&[(0x20, nk(0x100, 0, NIL)), (0x100, leaf(&[0x20, NIL]))]);
        assert!(!subkeys_safe(&nil, 0x20));
        let size0 = hive(&[(0x20, nk(0x100, 0, NIL)), (0x100, leaf(&[0x800]))]);
        assert!(!subkeys_safe(&size0, 0x20));
        let ri = |items: &[u32]| {
            hive(&[
                (0x20, nk(0x100, 0, NIL)),
                (0x100, list(b"ri", items)),
                (0x200, leaf(&[0x20])),
                (0x300, leaf(&[NIL])),
            ])
        };
        assert!(subkeys_safe(&ri(&[0x200]), 0x20));
        assert!(!subkeys_safe(&ri(&[0x200, 0x200]), 0x20), "a leaf twice");
        assert!(!subkeys_safe(&ri(&[0x300]), 0x20), "nil in a leaf");
        assert!(!subkeys_safe(&ri(&[NIL]), 0x20), "nil item");
        // Garbage nt-hive refuses with an error is no hazard.
        assert!(subkeys_safe(&ri(&[0x7000_0000]), 0x20));
        let junk = hive(&[
            (0x20, nk(0x100, 0, NIL)),
            (0x100, b"zz\x01\x00\xff\xff\xff\xff".to_vec()),
        ]);
        assert!(subkeys_safe(&junk, 0x20));
    }

    #[test]
    fn value_lists_and_data_are_checked() {
        let vk = |size: u32, data: u32| {
            let mut c = vec![0u8; VK_NAME];
            c[..2].copy_from_slice(b"vk");
            c[VK_DATA_SIZE..VK_DATA_SIZE + 4].copy_from_slice(&size.to_le_bytes());
            c[VK_DATA..VK_DATA + 4].copy_from_slice(&data.to_le_bytes());
            c
        };
        let values = |elements: &[u32], v: Vec<u8>| {
            let mut l = Vec::new();
            for e in elements {
                l.extend(e.to_le_bytes());
            }
            hive(&[
                (0x20, nk(NIL, elements.len() as u32, 0x100)),
                (0x100, l),
                (0x200, v),
            ])
        };
        assert!(values_safe(&values(&[0x200], vk(4, 0x300)), 0x20));
        assert!(!values_safe(&values(&[0x200, NIL], vk(4, 0x300)), 0x20));
        assert!(
            data_safe(&values(&[0x200], vk(0x8000_0004, NIL)), 0x200),
            "inline"
        );
        assert!(
            !data_safe(&values(&[0x200], vk(0, NIL)), 0x200),
            "size 0, not inline"
        );
        assert!(!data_safe(&values(&[0x200], vk(8, NIL)), 0x200));
        let big = |segments: &[u32]| {
            let mut db = b"db".to_vec();
            db.extend((segments.len() as u16).to_le_bytes());
            db.extend(0x500u32.to_le_bytes());
            let mut segs = Vec::new();
            for s in segments {
                segs.extend(s.to_le_bytes());
            }
            hive(&[
                (0x200, vk(2 * BIG_DATA_SEGMENT, 0x400)),
                (0x400, db),
                (0x500, segs),
                (0x600, vec![1; 8]),
                (0x700, vec![2; 8]),
            ])
        };
        assert!(data_safe(&big(&[0x600, 0x700]), 0x200));
        assert!(!data_safe(&big(&[0x600, 0x600]), 0x200), "a segment twice");
        assert!(!data_safe(&big(&[0x600, NIL]), 0x200));
    }
}
