//! Transaction-log replay for dirty hives, in memory: nt-hive has none. Follows Maxim Suhanov's
//! "Windows registry file format specification" (sections "Format of transaction log files",
//! "Dirty state of a hive", "Multiple transaction log files") and yarp's recovery order. New
//! format (`HvLE` log entries, Windows 8.1+) and old format (`DIRT` dirty vector) are supported.
//! The evidence is never written: the caller hands a copy of the primary file's bytes.

use super::baseblock::{
    self, off, BaseBlock, BASE_BLOCK_SIZE, FILE_TYPE_LOG_NEW, FILE_TYPE_LOG_OLD,
};

/// Seed of the Marvin32 hashes of new-format log entries (specification, log entries note 3).
const MARVIN32_SEED: u64 = 0x82EF_4D88_7A4E_55C5;
const LOG_ENTRY_HEADER: usize = 40;
const SECTOR: usize = 512;
/// Hive bins data grows in 4 KiB steps.
const HBIN_ALIGN: u32 = 4096;
/// Refuse to grow a hive beyond this while replaying (a bogus size field must not exhaust memory).
const MAX_HBINS_SIZE: u32 = 2 << 30;

/// A transaction log handed to [`replay`].
pub struct LogInput<'a> {
    /// Name for messages (the input path).
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// What one log contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogUse {
    /// Index into the `logs` slice given to [`replay`].
    pub log: usize,
    /// Entries applied (new format), or 1 for an old-format log.
    pub entries: usize,
    pub first_seq: Option<u32>,
    pub last_seq: Option<u32>,
    /// Dirty pages written.
    pub pages: usize,
}

/// A note about a log (why it was not used, where its entries stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogNote {
    pub log: usize,
    /// Whether the log itself is damaged (as opposed to simply not needed).
    pub damaged: bool,
    pub message: String,
    pub offset: Option<u64>,
}

/// Result of [`replay`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub used: Vec<LogUse>,
    pub notes: Vec<LogNote>,
    /// Whether the base block was taken from a log because the primary's was damaged.
    pub base_block_recovered: bool,
    /// The log (index into `logs`) whose base block replaced the primary's.
    pub base_block_from: Option<usize>,
}

impl ReplayReport {
    pub fn applied_anything(&self) -> bool {
        self.used.iter().any(|u| u.pages > 0 || u.entries > 0)
    }
}

/// Marvin32 (as used by the registry's log entries), returning the 64-bit state `hi << 32 | lo`.
pub fn marvin32(data: &[u8], seed: u64) -> u64 {
    fn mix(lo: &mut u32, hi: &mut u32, v: u32) {
        *lo = lo.wrapping_add(v);
        *hi ^= *lo;
        *lo = lo.rotate_left(20).wrapping_add(*hi);
        *hi = hi.rotate_left(9) ^ *lo;
        *lo = lo.rotate_left(27).wrapping_add(*hi);
        *hi = hi.rotate_left(19);
    }
    let mut lo = seed as u32;
    let mut hi = (seed >> 32) as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        mix(
            &mut lo,
            &mut hi,
            u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        );
    }
    let rest = chunks.remainder();
    let last = match rest.len() {
        0 => 0x80,
        1 => 0x8000 | u32::from(rest[0]),
        2 => 0x80_0000 | u32::from(u16::from_le_bytes([rest[0], rest[1]])),
        _ => 0x8000_0000 | u32::from(rest[0]) | u32::from(rest[1]) << 8 | u32::from(rest[2]) << 16,
    };
    mix(&mut lo, &mut hi, last);
    mix(&mut lo, &mut hi, 0);
    (u64::from(hi) << 32) | u64::from(lo)
}

/// `a` comes before `b` in the wrapping 32-bit sequence-number space.
fn seq_before(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) <= 0x7FFF_FFFF
}

/// One validated new-format log entry.
struct Entry<'a> {
    seq: u32,
    hbins_size: u32,
    /// (offset relative to hive bins data, page bytes)
    pages: Vec<(u32, &'a [u8])>,
}

/// Read the valid, contiguous entries of a new-format log. Stops at the first entry that is not
/// `HvLE` (normal end: the rest of the file is old or empty space), and at the first bogus one
/// (bad hash, size, sequence): only the entries before it count (specification, note 7).
fn new_log_entries<'a>(
    bytes: &'a [u8],
    first_seq: u32,
    max_hbins: u64,
) -> (Vec<Entry<'a>>, Option<(String, u64)>) {
    let mut entries = Vec::new();
    let mut pos = SECTOR;
    let mut expected = first_seq;
    loop {
        let Some(head) = bytes.get(pos..pos + LOG_ENTRY_HEADER) else {
            return (entries, None);
        };
        if &head[..4] != b"HvLE" {
            return (entries, None);
        }
        let size = baseblock::le32(head, 4) as usize;
        let seq = baseblock::le32(head, 12);
        let hbins_size = baseblock::le32(head, 16);
        let count = baseblock::le32(head, 20) as usize;
        let at = pos as u64;
        if seq != expected {
            // An older entry left over from before a log rotation: the normal end of the chain.
            return (entries, None);
        }
        let bad = |why: String| Some((why, at));
        if size < LOG_ENTRY_HEADER || !size.is_multiple_of(SECTOR) {
            return (entries, bad(format!("log entry {seq}: bad size {size}")));
        }
        let Some(entry) = bytes.get(pos..pos + size) else {
            return (
                entries,
                bad(format!("log entry {seq}: cut short (size {size})")),
            );
        };
        if u64::from(hbins_size) > max_hbins {
            return (
                entries,
                bad(format!(
                    "log entry {seq}: hive bins data size {hbins_size} is larger than the hive and its logs can hold"
                )),
            );
        }
        if !hbins_size.is_multiple_of(HBIN_ALIGN) || hbins_size == 0 || hbins_size > MAX_HBINS_SIZE
        {
            return (
                entries,
                bad(format!(
                    "log entry {seq}: bad hive bins data size {hbins_size}"
                )),
            );
        }
        let hash1 = baseblock::le64(entry, 24);
        let hash2 = baseblock::le64(entry, 32);
        if marvin32(&entry[LOG_ENTRY_HEADER..], MARVIN32_SEED) != hash1
            || marvin32(&entry[..32], MARVIN32_SEED) != hash2
        {
            return (entries, bad(format!("log entry {seq}: hash mismatch")));
        }
        let refs_end = count
            .checked_mul(8)
            .and_then(|n| n.checked_add(LOG_ENTRY_HEADER));
        let Some(refs_end) = refs_end.filter(|&e| e <= size) else {
            return (
                entries,
                bad(format!(
                    "log entry {seq}: {count} page references do not fit"
                )),
            );
        };
        let mut pages = Vec::with_capacity(count);
        let mut data_pos = refs_end;
        for i in 0..count {
            let r = LOG_ENTRY_HEADER + i * 8;
            let page_off = baseblock::le32(entry, r);
            let page_size = baseblock::le32(entry, r + 4) as usize;
            let fits_hive = u64::from(page_off) + page_size as u64 <= u64::from(hbins_size);
            let Some(page) = entry
                .get(data_pos..data_pos + page_size)
                .filter(|_| fits_hive && page_size > 0)
            else {
                return (
                    entries,
                    bad(format!("log entry {seq}: dirty page {i} out of bounds")),
                );
            };
            pages.push((page_off, page));
            data_pos += page_size;
        }
        entries.push(Entry {
            seq,
            hbins_size,
            pages,
        });
        expected = expected.wrapping_add(1);
        pos += size;
    }
}

fn write_page(hive: &mut Vec<u8>, rel_off: u32, page: &[u8]) {
    let start = BASE_BLOCK_SIZE + rel_off as usize;
    let end = start + page.len();
    if hive.len() < end {
        hive.resize(end, 0);
    }
    hive[start..end].copy_from_slice(page);
}

/// Replay `logs` onto `hive` (a copy of a dirty primary file). Logs that are not needed, not
/// eligible, or damaged are reported in `notes`; nothing here fails hard. After replay the base
/// block is made consistent (sequence numbers, hive bins size, checksum) so that a strict reader
/// accepts it.
pub fn replay(hive: &mut Vec<u8>, logs: &[LogInput<'_>]) -> ReplayReport {
    let mut report = ReplayReport::default();
    if hive.len() < BASE_BLOCK_SIZE {
        hive.resize(BASE_BLOCK_SIZE, 0);
    }
    let parsed: Vec<Option<BaseBlock>> = logs.iter().map(|l| BaseBlock::parse(l.bytes)).collect();
    for (i, p) in parsed.iter().enumerate() {
        let note = match p {
            None => Some("not a transaction log (no regf base block)".to_string()),
            Some(b) if !b.checksum_ok => Some("log base block checksum is wrong".to_string()),
            Some(b) if b.primary_seq != b.secondary_seq => Some(format!(
                "log is itself incomplete (sequence numbers {} and {})",
                b.primary_seq, b.secondary_seq
            )),
            Some(b)
                if b.file_type != FILE_TYPE_LOG_NEW
                    && !FILE_TYPE_LOG_OLD.contains(&b.file_type) =>
            {
                Some(format!("unexpected file type {} for a log", b.file_type))
            }
            _ => None,
        };
        if let Some(message) = note {
            report.notes.push(LogNote {
                log: i,
                damaged: true,
                message,
                offset: Some(0),
            });
        }
    }
    let usable = |i: usize| {
        parsed[i]
            .as_ref()
            .filter(|b| b.checksum_ok && b.primary_seq == b.secondary_seq)
            .cloned()
    };

    let mut primary = BaseBlock::parse(hive);
    if primary.as_ref().is_none_or(|b| !b.checksum_ok) {
        // Recover the base block from the newest valid log (specification, note 6 / old format note 4).
        let newest = (0..logs.len())
            .filter_map(|i| usable(i).map(|b| (i, b)))
            .max_by(|a, b| {
                if seq_before(a.1.primary_seq, b.1.primary_seq) {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            });
        if let Some((i, b)) = newest {
            let n = SECTOR.min(logs[i].bytes.len());
            hive[..n].copy_from_slice(&logs[i].bytes[..n]);
            baseblock::put32(hive, off::FILE_TYPE, baseblock::FILE_TYPE_PRIMARY);
            baseblock::fix_checksum(hive);
            report.base_block_recovered = true;
            report.base_block_from = Some(i);
            primary = Some(b);
        }
    }
    let Some(primary) = primary else {
        return report;
    };

    let new_logs: Vec<(usize, BaseBlock)> = (0..logs.len())
        .filter_map(|i| {
            usable(i)
                .filter(|b| b.file_type == FILE_TYPE_LOG_NEW)
                .map(|b| (i, b))
        })
        .collect();
    let old_logs: Vec<(usize, BaseBlock)> = (0..logs.len())
        .filter_map(|i| {
            usable(i)
                .filter(|b| FILE_TYPE_LOG_OLD.contains(&b.file_type))
                .map(|b| (i, b))
        })
        .collect();

    if !new_logs.is_empty() {
        replay_new(hive, &primary, logs, &new_logs, &mut report);
    } else if !old_logs.is_empty() {
        replay_old(hive, &primary, logs, &old_logs, &mut report);
    }
    report
}

fn replay_new(
    hive: &mut Vec<u8>,
    primary: &BaseBlock,
    logs: &[LogInput<'_>],
    new_logs: &[(usize, BaseBlock)],
    report: &mut ReplayReport,
) {
    // A hive only grows by pages the logs carry: bound the size a log entry may declare, so a
    // bogus size field cannot make us allocate gigabytes.
    let max_hbins = (hive.len().saturating_sub(BASE_BLOCK_SIZE) as u64)
        + logs.iter().map(|l| l.bytes.len() as u64).sum::<u64>();
    // Logs in sequence order (yarp: the "starting log" has the lower base-block sequence number).
    let mut order: Vec<&(usize, BaseBlock)> = new_logs.iter().collect();
    order.sort_by(|a, b| {
        if seq_before(a.1.primary_seq, b.1.primary_seq) {
            std::cmp::Ordering::Less
        } else if a.1.primary_seq == b.1.primary_seq {
            a.0.cmp(&b.0)
        } else {
            std::cmp::Ordering::Greater
        }
    });
    // The chain starts at the primary file's secondary sequence number: entries older than that
    // are already in the primary file.
    let start = primary.secondary_seq;
    let mut next: Option<u32> = None;
    let mut last_base: Option<&BaseBlock> = None;
    let mut hbins_size = primary.hbins_size;
    for (i, base) in order.iter().map(|(i, b)| (*i, b)) {
        let (entries, stop) = new_log_entries(logs[i].bytes, base.primary_seq, max_hbins);
        if let Some((message, offset)) = stop {
            report.notes.push(LogNote {
                log: i,
                damaged: true,
                message: format!("{message}; later entries ignored"),
                offset: Some(offset),
            });
        }
        let applicable: Vec<&Entry> = entries
            .iter()
            .filter(|e| !seq_before(e.seq, start))
            .filter(|e| next.is_none_or(|n| !seq_before(e.seq, n)))
            .collect();
        let Some(first) = applicable.first() else {
            let message = match entries.last() {
                None => "holds no valid log entries".to_string(),
                Some(l) => format!(
                    "not needed: its entries ({}–{}) are older than the hive's sequence number {}",
                    entries[0].seq, l.seq, start
                ),
            };
            report.notes.push(LogNote {
                log: i,
                damaged: false,
                message,
                offset: None,
            });
            continue;
        };
        if let Some(n) = next {
            if first.seq != n {
                report.notes.push(LogNote {
                    log: i,
                    damaged: false,
                    message: format!(
                        "not used: its entries start at {} but {} was expected",
                        first.seq, n
                    ),
                    offset: None,
                });
                continue;
            }
        }
        let mut pages = 0;
        for e in &applicable {
            for (rel, page) in &e.pages {
                write_page(hive, *rel, page);
                pages += 1;
            }
            hbins_size = e.hbins_size;
        }
        let last_seq = applicable.last().map(|e| e.seq).unwrap_or(first.seq);
        report.used.push(LogUse {
            log: i,
            entries: applicable.len(),
            first_seq: Some(first.seq),
            last_seq: Some(last_seq),
            pages,
        });
        next = Some(last_seq.wrapping_add(1));
        last_base = Some(base);
    }
    if let (Some(n), Some(lb)) = (next, last_base) {
        let last_seq = n.wrapping_sub(1);
        finish_base_block(hive, last_seq, hbins_size, Some(lb));
    }
}

fn replay_old(
    hive: &mut Vec<u8>,
    primary: &BaseBlock,
    logs: &[LogInput<'_>],
    old_logs: &[(usize, BaseBlock)],
    report: &mut ReplayReport,
) {
    for (i, base) in old_logs {
        let i = *i;
        if base.last_written < primary.last_written {
            report.notes.push(LogNote {
                log: i,
                damaged: false,
                message: "not applicable: older than the hive (last-written timestamps)".into(),
                offset: None,
            });
            continue;
        }
        let max_hbins =
            hive.len().saturating_sub(BASE_BLOCK_SIZE) as u64 + logs[i].bytes.len() as u64;
        if base.hbins_size % HBIN_ALIGN != 0
            || base.hbins_size > MAX_HBINS_SIZE
            || u64::from(base.hbins_size) > max_hbins
        {
            report.notes.push(LogNote {
                log: i,
                damaged: true,
                message: format!("bad hive bins data size {}", base.hbins_size),
                offset: Some(off::HBINS_SIZE as u64),
            });
            continue;
        }
        let bytes = logs[i].bytes;
        let copy = SECTOR * base.clustering.clamp(1, 8) as usize;
        let bits = (base.hbins_size / 512) as usize;
        let bitmap_len = bits.div_ceil(8);
        let Some(dv) = bytes
            .get(copy..copy + 4 + bitmap_len)
            .filter(|d| &d[..4] == b"DIRT")
        else {
            report.notes.push(LogNote {
                log: i,
                damaged: true,
                message: "no DIRT dirty vector".into(),
                offset: Some(copy as u64),
            });
            continue;
        };
        let bitmap = &dv[4..];
        let mut page_pos = copy + (4 + bitmap_len).div_ceil(copy) * copy;
        let mut pages = 0;
        let mut damaged = None;
        for bit in 0..bits {
            if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
                continue;
            }
            let Some(page) = bytes.get(page_pos..page_pos + SECTOR) else {
                damaged = Some(page_pos as u64);
                break;
            };
            write_page(hive, (bit * SECTOR) as u32, page);
            pages += 1;
            page_pos += SECTOR;
        }
        if let Some(at) = damaged {
            report.notes.push(LogNote {
                log: i,
                damaged: true,
                message: "dirty pages cut short".into(),
                offset: Some(at),
            });
        }
        report.used.push(LogUse {
            log: i,
            entries: 1,
            first_seq: None,
            last_seq: None,
            pages,
        });
        finish_base_block(hive, primary.primary_seq, base.hbins_size, Some(base));
        return;
    }
}

/// Make the base block consistent after replay: synchronised sequence numbers, the hive bins size
/// of the last entry, root cell and timestamp from the log's base-block copy, checksum.
fn finish_base_block(hive: &mut Vec<u8>, seq: u32, hbins_size: u32, log_base: Option<&BaseBlock>) {
    let need = BASE_BLOCK_SIZE + hbins_size as usize;
    if hive.len() < need {
        hive.resize(need, 0);
    }
    baseblock::put32(hive, off::PRIMARY_SEQ, seq);
    baseblock::put32(hive, off::SECONDARY_SEQ, seq);
    baseblock::put32(hive, off::HBINS_SIZE, hbins_size);
    baseblock::put32(hive, off::FILE_TYPE, baseblock::FILE_TYPE_PRIMARY);
    if let Some(b) = log_base {
        baseblock::put32(hive, off::ROOT_CELL, b.root_cell);
        if let Some(dst) = hive.get_mut(off::LAST_WRITTEN..off::LAST_WRITTEN + 8) {
            dst.copy_from_slice(&b.last_written.to_le_bytes());
        }
    }
    baseblock::fix_checksum(hive);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marvin32_is_order_sensitive_and_covers_tails() {
        let a = marvin32(b"abcd", MARVIN32_SEED);
        assert_ne!(a, marvin32(b"abdc", MARVIN32_SEED));
        assert_ne!(
            marvin32(b"abcde", MARVIN32_SEED),
            marvin32(b"abcdf", MARVIN32_SEED)
        );
        assert_ne!(marvin32(b"", MARVIN32_SEED), marvin32(b"\0", MARVIN32_SEED));
    }

    #[test]
    fn sequence_order_wraps() {
        assert!(seq_before(1, 2));
        assert!(!seq_before(2, 1));
        assert!(seq_before(u32::MAX, 0));
        assert!(!seq_before(5, 5));
    }
}
