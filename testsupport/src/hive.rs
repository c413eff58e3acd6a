//! Write registry hive files from readable Rust descriptions (through the `regf` crate), and make
//! them dirty with transaction logs — new format (`HvLE` entries) and old format (`DIRT` dirty
//! vector) — so that log replay is tested on generated data, not only on the corpus.

use regf::structures::DataType;
use regf::{HiveBuilder, KeyTreeNode, KeyTreeValue};

/// Registry data as a test describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    None(Vec<u8>),
    Sz(String),
    ExpandSz(String),
    Binary(Vec<u8>),
    Dword(u32),
    DwordBigEndian(u32),
    MultiSz(Vec<String>),
    Qword(u64),
    /// Any type number with raw bytes (resource lists, 0xFFFF0012, …).
    Raw {
        type_code: u32,
        bytes: Vec<u8>,
    },
}

fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    v.extend_from_slice(&[0, 0]);
    v
}

impl Data {
    pub fn type_code(&self) -> u32 {
        match self {
            Data::None(_) => 0,
            Data::Sz(_) => 1,
            Data::ExpandSz(_) => 2,
            Data::Binary(_) => 3,
            Data::Dword(_) => 4,
            Data::DwordBigEndian(_) => 5,
            Data::MultiSz(_) => 7,
            Data::Qword(_) => 11,
            Data::Raw { type_code, .. } => *type_code,
        }
    }

    /// The bytes as stored in a hive (strings UTF-16LE with terminating NULs).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Data::None(b) | Data::Binary(b) => b.clone(),
            Data::Sz(s) | Data::ExpandSz(s) => utf16z(s),
            Data::Dword(v) => v.to_le_bytes().to_vec(),
            Data::DwordBigEndian(v) => v.to_be_bytes().to_vec(),
            Data::Qword(v) => v.to_le_bytes().to_vec(),
            Data::MultiSz(items) => {
                let mut v = Vec::new();
                for s in items {
                    v.extend(utf16z(s));
                }
                v.extend_from_slice(&[0, 0]);
                v
            }
            Data::Raw { bytes, .. } => bytes.clone(),
        }
    }
}

/// A key with values and subkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub values: Vec<(String, Data)>,
    pub subkeys: Vec<Key>,
}

impl Key {
    pub fn new(name: &str) -> Key {
        Key {
            name: name.to_string(),
            values: Vec::new(),
            subkeys: Vec::new(),
        }
    }

    /// Builder style: add a value (empty name = default value).
    pub fn value(mut self, name: &str, data: Data) -> Key {
        self.values.push((name.to_string(), data));
        self
    }

    /// Builder style: add a subkey.
    pub fn key(mut self, key: Key) -> Key {
        self.subkeys.push(key);
        self
    }

    /// The key at a `\`-separated path below this one, created when missing (names compared
    /// case-insensitively).
    pub fn at(&mut self, path: &str) -> &mut Key {
        let mut cur = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let idx = match cur
                .subkeys
                .iter()
                .position(|k| k.name.to_uppercase() == part.to_uppercase())
            {
                Some(i) => i,
                None => {
                    cur.subkeys.push(Key::new(part));
                    cur.subkeys.len() - 1
                }
            };
            cur = &mut cur.subkeys[idx];
        }
        cur
    }

    /// Set a value at a path (replacing one of the same name).
    pub fn set(&mut self, path: &str, name: &str, data: Data) -> &mut Key {
        let k = self.at(path);
        match k
            .values
            .iter()
            .position(|(n, _)| n.to_uppercase() == name.to_uppercase())
        {
            Some(i) => k.values[i] = (name.to_string(), data),
            None => k.values.push((name.to_string(), data)),
        }
        self
    }

    /// Every key as (path relative to this key, key), depth first, this key first with path "".
    pub fn walk(&self) -> Vec<(String, &Key)> {
        let mut out = Vec::new();
        fn go<'a>(k: &'a Key, path: String, out: &mut Vec<(String, &'a Key)>) {
            out.push((path.clone(), k));
            for s in &k.subkeys {
                let p = if path.is_empty() {
                    s.name.clone()
                } else {
                    format!("{path}\\{}", s.name)
                };
                go(s, p, out);
            }
        }
        go(self, String::new(), &mut out);
        out
    }
}

fn to_tree(k: &Key) -> KeyTreeNode {
    KeyTreeNode {
        name: k.name.clone(),
        values: k
            .values
            .iter()
            .map(|(n, d)| KeyTreeValue {
                name: n.clone(),
                data_type: DataType::from(d.type_code()),
                data: d.bytes(),
            })
            .collect(),
        children: k.subkeys.iter().map(to_tree).collect(),
    }
}

/// Write a clean hive (format 1.5 or 1.6) whose root key is `root`.
pub fn build_hive(root: &Key) -> Vec<u8> {
    let mut b = HiveBuilder::from_tree(to_tree(root)).expect("regf accepts the tree");
    let mut bytes = b.to_bytes().expect("regf writes the hive");
    // Fixed, known sequence numbers and timestamp, so logs can be made to match.
    set_sequence(&mut bytes, 10, 10);
    bytes[12..20].copy_from_slice(&0x01D9_0000_0000_0000u64.to_le_bytes());
    fix_checksum(&mut bytes);
    bytes
}

/// A minimal SYSTEM hive tree: `Select` (Current/Default/LastKnownGood) and `ControlSet00N`.
pub fn system_tree(current: u32) -> Key {
    Key::new("CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}")
        .key(
            Key::new("Select")
                .value("Current", Data::Dword(current))
                .value("Default", Data::Dword(current))
                .value("Failed", Data::Dword(0))
                .value("LastKnownGood", Data::Dword(current)),
        )
        .key(Key::new(&format!("ControlSet{current:03}")))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Recompute the base-block checksum (XOR of the first 508 bytes; 0 → 1, !0 → !0 - 1).
pub fn fix_checksum(b: &mut [u8]) {
    let mut sum = b[..508].chunks_exact(4).fold(0u32, |a, c| {
        a ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])
    });
    if sum == 0 {
        sum = 1;
    } else if sum == u32::MAX {
        sum -= 1;
    }
    put32(b, 508, sum);
}

/// Set the base-block sequence numbers and fix the checksum.
pub fn set_sequence(b: &mut [u8], primary: u32, secondary: u32) {
    put32(b, 4, primary);
    put32(b, 8, secondary);
    fix_checksum(b);
}

fn hbins(b: &[u8]) -> &[u8] {
    let size = le32(b, 40) as usize;
    &b[4096..(4096 + size).min(b.len())]
}

/// Offsets (relative to the hive bins data) of `page`-sized pages where `new` differs from `old`.
fn changed_pages(old: &[u8], new: &[u8], page: usize) -> Vec<usize> {
    let (o, n) = (hbins(old), hbins(new));
    (0..n.len())
        .step_by(page)
        .filter(|&at| {
            let end = (at + page).min(n.len());
            o.get(at..end) != Some(&n[at..end])
        })
        .collect()
}

/// A dirty primary file with its transaction logs.
#[derive(Debug, Clone)]
pub struct DirtyHive {
    pub primary: Vec<u8>,
    /// `(".LOG1", bytes)`, `(".LOG2", bytes)` …: suffixes to append to the hive's file name.
    pub logs: Vec<(String, Vec<u8>)>,
}

fn log_base_block(new: &[u8], file_type: u32, seq: u32) -> Vec<u8> {
    let mut b = new[..512].to_vec();
    put32(&mut b, 28, file_type);
    put32(&mut b, 4, seq);
    put32(&mut b, 8, seq);
    fix_checksum(&mut b);
    b
}

/// The Marvin32 seed as Windows uses it for log entries. The specification writes it as the
/// decimal 14219357686671994754 "little-endian"; real logs (the corpus) validate with this value,
/// which `regf` 0.2's own log writer does not use, so entries are written here.
pub const LOG_MARVIN32_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

fn entry_bytes(new: &[u8], seq: u32, pages: &[usize]) -> Vec<u8> {
    let data = hbins(new);
    let raw = 40 + 8 * pages.len() + 4096 * pages.len();
    let size = raw.div_ceil(512) * 512;
    let mut e = Vec::with_capacity(size);
    e.extend_from_slice(b"HvLE");
    e.extend_from_slice(&(size as u32).to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&seq.to_le_bytes());
    e.extend_from_slice(&(data.len() as u32).to_le_bytes());
    e.extend_from_slice(&(pages.len() as u32).to_le_bytes());
    e.extend_from_slice(&[0; 16]);
    for &p in pages {
        e.extend_from_slice(&(p as u32).to_le_bytes());
        e.extend_from_slice(&4096u32.to_le_bytes());
    }
    for &p in pages {
        e.extend_from_slice(&data[p..p + 4096]);
    }
    e.resize(size, 0);
    let h1 = regf::structures::marvin32_hash(&e[40..], LOG_MARVIN32_SEED);
    e[24..32].copy_from_slice(&h1.to_le_bytes());
    let h2 = regf::structures::marvin32_hash(&e[..32], LOG_MARVIN32_SEED);
    e[32..40].copy_from_slice(&h2.to_le_bytes());
    e
}

/// Make `old` (a clean hive) the dirty primary file of a hive whose latest state is `new`: the
/// pages that differ go into `entries` new-format log entries with consecutive sequence numbers
/// starting at `seq`. With `split = Some(k)`, the first `k` entries go to `.LOG1` and the rest to
/// `.LOG2` (whose base block then starts at the sequence number of its first entry). The primary
/// file gets sequence numbers `seq + 1` and `seq` (dirty).
pub fn dirty_with_new_logs(
    old: &[u8],
    new: &[u8],
    seq: u32,
    entries: usize,
    split: Option<usize>,
) -> DirtyHive {
    let pages = changed_pages(old, new, 4096);
    let entries = entries.max(1);
    let per = pages.len().div_ceil(entries).max(1);
    let groups: Vec<Vec<usize>> = (0..entries)
        .map(|i| pages.iter().copied().skip(i * per).take(per).collect())
        .collect();
    let split = split.unwrap_or(entries).min(entries);
    let mut logs = Vec::new();
    for (suffix, range) in [(".LOG1", 0..split), (".LOG2", split..entries)] {
        if range.is_empty() {
            continue;
        }
        let first_seq = seq + range.start as u32;
        let mut log = log_base_block(new, 6, first_seq);
        for i in range {
            log.extend(entry_bytes(new, seq + i as u32, &groups[i]));
        }
        logs.push((suffix.to_string(), log));
    }
    let mut primary = old.to_vec();
    set_sequence(&mut primary, seq + 1, seq);
    DirtyHive { primary, logs }
}

/// Old-format (`DIRT`) log: one log holding every 512-byte page of `new` that differs from `old`.
/// The log's last-written timestamp equals the primary's, as the specification requires.
pub fn dirty_with_old_log(old: &[u8], new: &[u8], seq: u32) -> DirtyHive {
    let pages = changed_pages(old, new, 512);
    let data = hbins(new);
    let mut log = log_base_block(new, 1, seq);
    log[12..20].copy_from_slice(&old[12..20]);
    fix_checksum(&mut log);
    let bits = data.len() / 512;
    let mut bitmap = vec![0u8; bits.div_ceil(8)];
    for &p in &pages {
        let bit = p / 512;
        bitmap[bit / 8] |= 1 << (bit % 8);
    }
    log.extend_from_slice(b"DIRT");
    log.extend(&bitmap);
    log.resize(log.len().div_ceil(512) * 512, 0);
    for &p in &pages {
        log.extend_from_slice(&data[p..p + 512]);
    }
    let mut primary = old.to_vec();
    set_sequence(&mut primary, seq + 1, seq);
    DirtyHive {
        primary,
        logs: vec![(".LOG".to_string(), log)],
    }
}

/// Corrupt the `n`-th (0-based) `HvLE` entry of a new-format log so that its Hash-1 no longer
/// matches: replay must stop before it.
pub fn damage_log_entry(log: &mut [u8], n: usize) {
    let mut pos = 512;
    let mut i = 0;
    while pos + 40 <= log.len() && &log[pos..pos + 4] == b"HvLE" {
        let size = le32(log, pos + 4) as usize;
        if i == n {
            let at = (pos + size - 1).min(log.len() - 1);
            log[at] ^= 0xFF;
            return;
        }
        pos += size;
        i += 1;
    }
    panic!("log has no entry {n}");
}

/// Write the base block's embedded file name (UTF-16LE, at most 31 characters kept from the end)
/// and fix the checksum.
pub fn set_file_name(b: &mut [u8], name: &str) {
    let units: Vec<u16> = name.encode_utf16().collect();
    let tail = &units[units.len().saturating_sub(31)..];
    b[48..112].fill(0);
    for (i, u) in tail.iter().enumerate() {
        b[48 + 2 * i..50 + 2 * i].copy_from_slice(&u.to_le_bytes());
    }
    fix_checksum(b);
}

/// File offset of the `vk` cell of the value called `name` (ASCII name), if present.
pub fn find_value_cell(b: &[u8], name: &str) -> Option<usize> {
    let n = name.as_bytes();
    (4096..b.len().saturating_sub(20 + n.len())).find(|&p| {
        &b[p..p + 2] == b"vk"
            && usize::from(u16::from_le_bytes([b[p + 2], b[p + 3]])) == n.len()
            && &b[p + 20..p + 20 + n.len()] == n
    })
}

/// File offset of the `nk` cell of the key called `name` (ASCII name), if present.
pub fn find_key_cell(b: &[u8], name: &str) -> Option<usize> {
    let n = name.as_bytes();
    (4096..b.len().saturating_sub(76 + n.len())).find(|&p| {
        &b[p..p + 2] == b"nk"
            && usize::from(u16::from_le_bytes([b[p + 72], b[p + 73]])) == n.len()
            && &b[p + 76..p + 76 + n.len()] == n
    })
}

/// A chain of states: `states[0]` is the primary file (made dirty), and each later state is one
/// new-format log entry holding the pages that differ from the state before it (sequence numbers
/// `seq`, `seq + 1`, …), all in one `.LOG1`.
pub fn dirty_with_log_chain(states: &[Vec<u8>], seq: u32) -> DirtyHive {
    let last = states.last().expect("at least one state");
    assert!(
        states.iter().all(|s| s[36..40] == last[36..40]),
        "the states must share the root cell offset, as real hives do"
    );
    let mut log = log_base_block(last, 6, seq);
    for (i, pair) in states.windows(2).enumerate() {
        let pages = changed_pages(&pair[0], &pair[1], 4096);
        log.extend(entry_bytes(&pair[1], seq + i as u32, &pages));
    }
    let mut primary = states[0].clone();
    set_sequence(&mut primary, seq + 1, seq);
    DirtyHive {
        primary,
        logs: vec![(".LOG1".to_string(), log)],
    }
}

/// A copy of `hive` with the inline DWORD value `name` (ASCII) set to `v` in place — the kind of
/// small change a log entry carries. Panics if there is no such inline 4-byte value.
pub fn patch_inline_dword(hive: &[u8], name: &str, v: u32) -> Vec<u8> {
    let mut b = hive.to_vec();
    let vk = find_value_cell(&b, name).expect("value cell");
    assert_eq!(
        le32(&b, vk + 4),
        0x8000_0004,
        "{name} is an inline 4-byte value"
    );
    put32(&mut b, vk + 8, v);
    b
}

// ---- Damage helpers: hives that still open but hold garbage (issue 14, item 4). ----

/// File offset of the data of the cell at `cell` (an offset relative to the hive bins).
fn cell_data(cell: u32) -> usize {
    4096 + cell as usize + 4
}

/// File offset of the `index`-th element of the subkey list of the key called `key` (ASCII), for
/// `li`/`lf`/`lh` lists. Panics when the key has no such list element.
pub fn subkey_element_at(b: &[u8], key: &str, index: usize) -> usize {
    let nk = find_key_cell(b, key).expect("key cell");
    assert!(
        le32(b, nk + 20) > index as u32,
        "{key} has no subkey {index}"
    );
    let list = cell_data(le32(b, nk + 28));
    let stride = match &b[list..list + 2] {
        b"li" => 4,
        b"lf" | b"lh" => 8,
        sig => panic!("unexpected subkey list {sig:?}"),
    };
    list + 4 + index * stride
}

/// Overwrite the `index`-th element of `key`'s subkey list with `offset` (e.g. `0xFFFF_FFFF`,
/// an offset outside the hive bins, or a cell of the wrong type). The base block stays clean.
pub fn set_subkey_element(b: &mut [u8], key: &str, index: usize, offset: u32) {
    let at = subkey_element_at(b, key, index);
    put32(b, at, offset);
}

/// Overwrite the `index`-th element of `key`'s value list with `offset`.
pub fn set_value_element(b: &mut [u8], key: &str, index: usize, offset: u32) {
    let nk = find_key_cell(b, key).expect("key cell");
    assert!(
        le32(b, nk + 36) > index as u32,
        "{key} has no value {index}"
    );
    let list = cell_data(le32(b, nk + 40));
    put32(b, list + 4 * index, offset);
}

/// The hive-bins offset (as stored in lists) of the cell holding the key called `key`.
pub fn key_cell_offset(b: &[u8], key: &str) -> u32 {
    (find_key_cell(b, key).expect("key cell") - 4 - 4096) as u32
}

/// The hive-bins offset of the cell holding the value called `name`.
pub fn value_cell_offset(b: &[u8], name: &str) -> u32 {
    (find_value_cell(b, name).expect("value cell") - 4 - 4096) as u32
}

/// The hive-bins data size the base block promises (offset 0x28).
pub fn hbins_size(b: &[u8]) -> u32 {
    le32(b, 40)
}

/// Cut the file so that only `keep` bytes of its hive bins remain; the base block (clean, with a
/// correct checksum) still promises all of them.
pub fn truncate_hive_bins(b: &[u8], keep: usize) -> Vec<u8> {
    b[..(4096 + keep).min(b.len())].to_vec()
}

/// Change a byte of the base block's reserved area without fixing the checksum: the sequence
/// numbers still agree, only the checksum at 0x1FC is wrong.
pub fn break_checksum(b: &mut [u8]) {
    b[0x100] ^= 0x5A;
}

/// `regf` followed by `len - 4` bytes of deterministic garbage (a xorshift stream from `seed`).
pub fn regf_then_garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(b"regf");
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}
