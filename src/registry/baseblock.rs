//! The hive base block (`regf` header): sequence numbers, sizes, checksum. Shared by the hive
//! reader (dirty detection) and the transaction-log replay, which rewrites it in memory.

/// Size of the base block at the start of a primary hive file.
pub(crate) const BASE_BLOCK_SIZE: usize = 4096;
/// Bytes covered by the XOR checksum (the checksum itself sits at offset 508).
const CHECKSUM_OFFSET: usize = 508;

/// Field offsets (Suhanov, "Windows registry file format specification", base block table).
pub(crate) mod off {
    pub const PRIMARY_SEQ: usize = 4;
    pub const SECONDARY_SEQ: usize = 8;
    pub const LAST_WRITTEN: usize = 12;
    pub const MAJOR: usize = 20;
    pub const MINOR: usize = 24;
    pub const FILE_TYPE: usize = 28;
    pub const ROOT_CELL: usize = 36;
    pub const HBINS_SIZE: usize = 40;
    pub const CLUSTERING: usize = 44;
    pub const FILE_NAME: usize = 48;
    pub const FILE_NAME_LEN: usize = 64;
    pub const CHECKSUM: usize = super::CHECKSUM_OFFSET;
}

/// File type values of the base block.
pub(crate) const FILE_TYPE_PRIMARY: u32 = 0;
pub(crate) const FILE_TYPE_LOG_OLD: [u32; 2] = [1, 2];
pub(crate) const FILE_TYPE_LOG_NEW: u32 = 6;

/// The parsed fields rdsdiag needs from a base block (primary file or log file copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseBlock {
    pub primary_seq: u32,
    pub secondary_seq: u32,
    pub last_written: u64,
    pub major: u32,
    pub minor: u32,
    pub file_type: u32,
    pub root_cell: u32,
    pub hbins_size: u32,
    pub clustering: u32,
    /// The embedded file name (last characters of the path the hive was loaded from).
    pub file_name: String,
    pub checksum_ok: bool,
    /// The checksum stored at 0x1FC, and the XOR-32 of the first 508 bytes.
    pub checksum_stored: u32,
    pub checksum_computed: u32,
}

impl BaseBlock {
    /// Parse the first 512 bytes of `bytes`; `None` when they are too short or lack `regf`.
    pub fn parse(bytes: &[u8]) -> Option<BaseBlock> {
        if bytes.len() < 512 || &bytes[..4] != b"regf" {
            return None;
        }
        let name_raw = &bytes[off::FILE_NAME..off::FILE_NAME + off::FILE_NAME_LEN];
        let units: Vec<u16> = name_raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        Some(BaseBlock {
            primary_seq: le32(bytes, off::PRIMARY_SEQ),
            secondary_seq: le32(bytes, off::SECONDARY_SEQ),
            last_written: le64(bytes, off::LAST_WRITTEN),
            major: le32(bytes, off::MAJOR),
            minor: le32(bytes, off::MINOR),
            file_type: le32(bytes, off::FILE_TYPE),
            root_cell: le32(bytes, off::ROOT_CELL),
            hbins_size: le32(bytes, off::HBINS_SIZE),
            clustering: le32(bytes, off::CLUSTERING),
            file_name: String::from_utf16_lossy(&units),
            checksum_ok: checksum(bytes) == le32(bytes, off::CHECKSUM),
            checksum_stored: le32(bytes, off::CHECKSUM),
            checksum_computed: checksum(bytes),
        })
    }

    /// Only file types 0 (primary file) and 1, 2, 6 (transaction logs) exist.
    pub fn file_type_valid(&self) -> bool {
        self.file_type == FILE_TYPE_PRIMARY
            || self.file_type == FILE_TYPE_LOG_NEW
            || FILE_TYPE_LOG_OLD.contains(&self.file_type)
    }

    /// Hive-bins bytes the base block promises and the file does not hold: `(present, promised)`
    /// when the file of `len` bytes is shorter than the base block says.
    pub fn truncation(&self, len: usize) -> Option<(u64, u64)> {
        let promised = u64::from(self.hbins_size);
        let present = (len as u64).saturating_sub(BASE_BLOCK_SIZE as u64);
        (present < promised).then_some((present, promised))
    }

    /// Dirty: sequence numbers differ, or the checksum is wrong (specification, "Dirty state").
    pub fn is_dirty(&self) -> bool {
        self.primary_seq != self.secondary_seq || !self.checksum_ok
    }
}

/// XOR-32 of the first 508 bytes, with 0 → 1 and 0xFFFFFFFF → 0xFFFFFFFE. `bytes` must hold at
/// least 512 bytes (callers check).
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    let mut sum = bytes[..CHECKSUM_OFFSET]
        .chunks_exact(4)
        .fold(0u32, |acc, c| {
            acc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        });
    if sum == 0 {
        sum = 1;
    } else if sum == u32::MAX {
        sum = u32::MAX - 1;
    }
    sum
}

/// Recompute and store the checksum of a base block held in `bytes[..512]`.
pub(crate) fn fix_checksum(bytes: &mut [u8]) {
    let sum = checksum(bytes);
    put32(bytes, off::CHECKSUM, sum);
}

/// Little-endian u32 at `at`; 0 when out of range (callers check lengths first).
pub(crate) fn le32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

pub(crate) fn le64(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .unwrap_or(0)
}

pub(crate) fn put32(bytes: &mut [u8], at: usize, v: u32) {
    if let Some(dst) = bytes.get_mut(at..at + 4) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_roundtrip_and_dirty() {
        let mut b = vec![0u8; 4096];
        b[..4].copy_from_slice(b"regf");
        put32(&mut b, off::PRIMARY_SEQ, 5);
        put32(&mut b, off::SECONDARY_SEQ, 5);
        fix_checksum(&mut b);
        let bb = BaseBlock::parse(&b).expect("regf");
        assert!(bb.checksum_ok);
        assert!(!bb.is_dirty());
        put32(&mut b, off::PRIMARY_SEQ, 6);
        let bb = BaseBlock::parse(&b).expect("regf");
        assert!(bb.is_dirty());
        assert!(!bb.checksum_ok);
        assert!(BaseBlock::parse(&b[..100]).is_none());
    }
}
