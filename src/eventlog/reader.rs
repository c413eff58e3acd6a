//! The chunk walk behind [`super::read_evtx`]: reads each 64 KiB chunk slot itself (so that it
//! can count empty, bad-magic, bad-checksum and cut-off chunks the crate passes over silently),
//! hands intact chunks to the `evtx` crate's record iterator, filters records early and keeps
//! the integrity account.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use evtx::{
    EvtxChunk, EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, EvtxRecord, HeaderFlags,
    ParserSettings,
};

use super::binxml::le_u32;
use super::decode::Decoded;
use super::normalize::{event_from_json, normalize_event_id, system_fields, RecordPlace};
use super::system::{raw_text_string, FxMap, RawQuick, RawText, TemplateCache};
use super::{ChunkProblem, ChunkProblemKind, Event, EventFilter, EventLogError, EvtxReport};
use crate::evidence::{Deadline, Problem, ProblemCode};

const HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// An event record's signature (`**\0\0`).
const RECORD_MAGIC: [u8; 4] = *b"**\0\0";
/// An event record's header (signature, size, record ID, time) before its BinXML; the record
/// ends with a copy of its size (4 bytes).
const RECORD_HEADER_SIZE: usize = 24;

/// Where a chunk's bytes came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Full(u64),
    /// The partial chunk after the last complete one; holds the number of bytes present.
    CutOff(u64, usize),
}

/// What sampling a chunk's first record decided.
enum Sampled {
    /// The chunk's records were read.
    Read,
    /// Not read: its first record is in an irrelevant channel.
    Deferred,
}

pub(crate) struct Reader<'f, R> {
    r: R,
    label: Arc<str>,
    filter: &'f EventFilter,
    header: EvtxFileHeader,
    size: u64,
    settings: Arc<ParserSettings>,
    report: EvtxReport,
    templates: TemplateCache,
    /// The channel of the first record of every chunk sampled so far (`Some(None)`: no channel).
    file_channel: Option<Option<String>>,
    mixed_channels: bool,
    /// Interned provider and channel names.
    names: Interner,
    /// Filter decisions by (provider, raw EventID, Qualifiers): (keep, canonical EventID,
    /// Qualifiers after normalisation).
    decisions: FxMap<(u32, u32, Option<u16>), Decision>,
    /// Records per interned channel (`u32::MAX`: none) counted by the prescan.
    chan_counts: FxMap<u32, u64>,
    deadline: Deadline,
    /// Whether the bytes after the last whole chunk are all zero (slack, not a cut-off chunk);
    /// `None` until they are read.
    tail_zero: Option<bool>,
}

/// A filter decision: (keep, canonical EventID, Qualifiers after normalisation).
type Decision = (bool, u16, Option<u16>);

/// Provider and channel names met in raw values (UTF-16LE bytes → index into `strs`).
#[derive(Default)]
struct Interner {
    map: FxMap<Vec<u8>, u32>,
    /// The last two names looked up, by their bytes (provider and channel alternate).
    recent: [Option<(Vec<u8>, u32)>; 2],
    next_recent: usize,
    strs: Vec<String>,
}

impl Interner {
    fn intern(&mut self, t: &RawText<'_>) -> Option<u32> {
        // Same bytes as a recent lookup (consecutive records repeat their provider and
        // channel): compare against the interned string's UTF-16 form without hashing.
        if let RawText::Utf16(b) = t {
            for r in self.recent.iter().flatten() {
                if r.0.as_slice() == *b {
                    return Some(r.1);
                }
            }
        }
        let key: std::borrow::Cow<'_, [u8]> = match t {
            RawText::Utf16(b) => std::borrow::Cow::Borrowed(*b),
            RawText::Static(s) => {
                std::borrow::Cow::Owned(s.encode_utf16().flat_map(u16::to_le_bytes).collect())
            }
        };
        let i = match self.map.get(key.as_ref()) {
            Some(&i) => i,
            None => {
                let s = raw_text_string(t)?;
                let i = self.strs.len() as u32;
                self.strs.push(s);
                self.map.insert(key.to_vec(), i);
                i
            }
        };
        self.recent[self.next_recent] = Some((key.into_owned(), i));
        self.next_recent = (self.next_recent + 1) % 2;
        Some(i)
    }
}

/// The result of [`Reader::prescan`].
#[derive(Default)]
struct Prescan {
    count: u64,
    /// Kept records decoded directly (already appended to the report's events).
    decoded: u64,
    /// BinXML offsets (in the chunk) of the records to keep, ascending.
    relevant: Vec<u64>,
}

/// The chunk being read: where it is and what its checks found.
#[derive(Clone, Copy)]
struct ChunkAt {
    number: u64,
    /// The chunk's byte offset in the file.
    offset: u64,
    /// The bytes present, for the cut-off chunk at the end of the file.
    cut_off: Option<usize>,
    /// Both CRC32s match and the chunk is whole.
    verified: bool,
    /// Integrity is counted on the first visit only (a deferred chunk is visited twice).
    first_visit: bool,
}

/// Records of a chunk read and lost, and why the first one was lost.
#[derive(Default)]
struct Tally {
    read: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn lost(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        self.first_error.get_or_insert_with(why);
    }
}

/// An event record's header, checked against the chunk: signature, size, record ID and time.
struct RawRecord {
    /// The record's offset in the chunk.
    offset: usize,
    size: usize,
    id: u64,
    filetime: u64,
}

impl RawRecord {
    /// The record at `off`; `None` when it is not a whole record of this chunk.
    fn at(data: &[u8], off: usize, live_end: usize, chunk: &EvtxChunkHeader) -> Option<Self> {
        if data.get(off..off + 4)? != RECORD_MAGIC {
            return None;
        }
        let size = le_u32(data, off + 4)? as usize;
        let id = u64::from_le_bytes(data.get(off + 8..off + 16)?.try_into().ok()?);
        let filetime = u64::from_le_bytes(data.get(off + 16..off + 24)?.try_into().ok()?);
        if size < RECORD_HEADER_SIZE + 4
            || off + size > live_end
            || id < chunk.first_event_record_id
            || id > chunk.last_event_record_id
        {
            return None;
        }
        Some(RawRecord {
            offset: off,
            size,
            id,
            filetime,
        })
    }
}

/// What the prescan learned about a record from its raw values.
struct Look {
    /// Interned provider and channel (`u32::MAX`: no channel).
    provider: u32,
    channel: u32,
    raw_event_id: u32,
    qualifiers: Option<u16>,
    keep: bool,
    /// The canonical EventID and the Qualifiers after normalisation.
    event_id: u16,
    norm_qualifiers: Option<u16>,
}

/// The records a chunk header declares: its record ID range, at most what a chunk can hold.
/// None when the range is empty (last below first: Windows writes first 1, last 0 in the only
/// chunk of a log with no record) or ends at ID 0, which no record has.
fn declared_records(h: &EvtxChunkHeader) -> u64 {
    let (first, last) = (h.first_event_record_id, h.last_event_record_id);
    if last < first || last == 0 {
        return 0;
    }
    (last - first + 1).min(CHUNK_SIZE / 28)
}

/// The text of a chunk header CRC32 failure.
fn header_crc_detail(cd: &EvtxChunkData) -> String {
    let stored = cd.header.header_chunk_checksum;
    let mut h = Vec::with_capacity(504);
    h.extend_from_slice(&cd.data[..120]);
    h.extend_from_slice(&cd.data[128..CHUNK_HEADER_SIZE]);
    let computed = evtx::checksum_ieee(&h);
    format!("chunk header CRC32 invalid (stored {stored:#010x}, computed {computed:#010x})")
}

/// The text of a chunk data CRC32 failure.
fn data_crc_detail(cd: &EvtxChunkData) -> String {
    let stored = cd.header.events_checksum;
    let end = (cd.header.free_space_offset as usize).min(cd.data.len());
    if end >= CHUNK_HEADER_SIZE {
        let computed = evtx::checksum_ieee(&cd.data[CHUNK_HEADER_SIZE..end]);
        format!("chunk data CRC32 invalid (stored {stored:#010x}, computed {computed:#010x})")
    } else {
        format!(
            "chunk free-space offset {} is invalid",
            cd.header.free_space_offset
        )
    }
}

/// A record whose declared size runs past the bytes its chunk has (the end of the chunk, or of
/// the file in a cut-off chunk): unreadable, since the bytes it claims are not there (the
/// buffer holds zeros after a cut). The crate may fail on it or give it back with zeroed values.
struct PastEnd {
    id: u64,
    /// The record's offset in the chunk and its declared size.
    start: u64,
    size: u64,
    /// The bytes the chunk has.
    room: u64,
}

impl PastEnd {
    /// The record at `start` (in the chunk) declaring `size` bytes, if it runs past the end.
    fn check(at: &ChunkAt, id: u64, start: u64, size: u64) -> Option<PastEnd> {
        let room = at.cut_off.map_or(CHUNK_SIZE, |len| len as u64);
        (start.saturating_add(size) > room).then_some(PastEnd {
            id,
            start,
            size,
            room,
        })
    }

    /// The record of the chunk's record walk (record after record from the chunk header, as
    /// the crate walks them) that runs past the end, if any.
    fn find(data: &[u8], header: &EvtxChunkHeader, at: &ChunkAt) -> Option<PastEnd> {
        let mut off = CHUNK_HEADER_SIZE;
        let end = (header.free_space_offset as usize).min(data.len());
        while off + RECORD_HEADER_SIZE <= end && data.get(off..off + 4)? == RECORD_MAGIC {
            let size = le_u32(data, off + 4)? as usize;
            let id = u64::from_le_bytes(data.get(off + 8..off + 16)?.try_into().ok()?);
            if let Some(p) = PastEnd::check(at, id, off as u64, size as u64) {
                return Some(p);
            }
            if size < RECORD_HEADER_SIZE + 4 || id == header.last_event_record_id {
                return None;
            }
            off += size;
        }
        None
    }

    fn detail(&self, at: &ChunkAt) -> String {
        let bound = if at.cut_off.is_some() {
            "the file"
        } else {
            "its chunk"
        };
        format!(
            "record {} at file offset {:#x} declares {} bytes, {} past the end of {bound}",
            self.id,
            at.offset + self.start,
            self.size,
            self.start + self.size - self.room
        )
    }
}

/// The record ID an error of the crate's record walk names.
fn error_record_id(e: &evtx::err::EvtxError) -> Option<u64> {
    use evtx::err::EvtxError;
    match e {
        EvtxError::FailedToReadRecordAt { source, .. } => error_record_id(source),
        EvtxError::FailedToParseRecord { record_id, .. } => Some(*record_id),
        _ => None,
    }
}

/// An error with its causes, `message | cause | cause` (as evtx_dump prints them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(" | ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn not_evtx(label: &str, reason: impl Into<String>) -> EventLogError {
    EventLogError::NotEvtx {
        path: label.to_string(),
        reason: reason.into(),
    }
}

impl<'f, R: Read + Seek> Reader<'f, R> {
    pub fn new(mut r: R, label: &str, filter: &'f EventFilter) -> Result<Self, EventLogError> {
        let io = |e| EventLogError::Io {
            path: label.to_string(),
            source: e,
        };
        let size = r.seek(SeekFrom::End(0)).map_err(io)?;
        if size < HEADER_SIZE {
            return Err(not_evtx(
                label,
                format!("{size} bytes, shorter than the 4096-byte file header"),
            ));
        }
        r.seek(SeekFrom::Start(0)).map_err(io)?;
        let header =
            EvtxFileHeader::from_stream(&mut r).map_err(|e| not_evtx(label, e.to_string()))?;
        Ok(Reader {
            r,
            label: label.into(),
            filter,
            header,
            size,
            settings: Arc::new(ParserSettings::new().num_threads(1).indent(false)),
            report: EvtxReport::default(),
            templates: TemplateCache::default(),
            file_channel: None,
            mixed_channels: false,
            names: Interner::default(),
            decisions: FxMap::default(),
            chan_counts: FxMap::default(),
            deadline: Deadline::none(),
            tail_zero: None,
        })
    }

    /// Stop reading chunks once `deadline` has passed (see [`Deadline`]).
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// The deadline passed before `slot`: say where reading stopped and what was left.
    fn stopped(&mut self, slot: Slot, left: usize) {
        let n = match slot {
            Slot::Full(n) | Slot::CutOff(n, _) => n,
        };
        self.report.integrity.chunks_not_read_time_limit = left as u64;
        self.problem(
            Problem::warning(
                ProblemCode::EvtxTimeLimit,
                format!(
                    "reading stopped at chunk {n}: the capture's time limit ({}) was reached; {left} chunk(s) from here on were not read",
                    self.deadline.describe()
                ),
            )
            .at(HEADER_SIZE + n * CHUNK_SIZE),
        );
    }

    fn problem(&mut self, p: Problem) {
        self.report.problems.push(p);
    }

    pub fn run(mut self) -> Result<EvtxReport, EventLogError> {
        let slots = (self.size - HEADER_SIZE) / CHUNK_SIZE;
        let tail = (self.size - HEADER_SIZE) % CHUNK_SIZE;
        self.account_file_header(slots, tail);
        let order = self.record_order(slots, tail);
        let mut buf = Vec::with_capacity(CHUNK_SIZE as usize);
        let deferred = self.read_chunks(order, &mut buf)?;
        if !deferred.is_empty() {
            if self.mixed_channels {
                self.read_deferred(deferred, &mut buf)?;
            } else {
                self.skip_irrelevant(deferred.len());
            }
        }
        // Record order (directly decoded and crate-rendered records of a chunk were collected
        // separately; a wrapped log was read from its oldest chunk).
        self.report.events.sort_by_key(|e| e.record_id);
        self.finish(tail);
        Ok(self.report)
    }

    /// The file header's part of the integrity account, and its problems.
    fn account_file_header(&mut self, slots: u64, tail: u64) {
        let h = &self.header;
        let i = &mut self.report.integrity;
        i.file_bytes = self.size;
        i.version = format!("{}.{}", h.major_version, h.minor_version);
        i.header_checksum_ok = h.validate_checksum();
        i.dirty = h.flags.contains(HeaderFlags::DIRTY);
        i.full = h.flags.contains(HeaderFlags::FULL);
        i.declared_chunk_count = u64::from(h.chunk_count);
        i.chunk_slots = slots;
        i.truncated_tail_bytes = tail;
        if !self.report.integrity.header_checksum_ok {
            let (s, c) = (self.header.checksum, self.header.computed_checksum);
            self.problem(Problem::warning(
                ProblemCode::EvtxHeaderBadChecksum,
                format!("file header CRC32 invalid (stored {s:#010x}, computed {c:#010x}); its counts are not trusted, chunks are read from their fixed offsets"),
            ));
        }
        if self.report.integrity.dirty {
            self.problem(Problem::info(
                ProblemCode::EvtxDirty,
                "the log was not closed cleanly (header flag DIRTY): header fields may be stale; every chunk slot is read, not only the declared ones",
            ));
        }
        if self.report.integrity.full {
            self.problem(Problem::info(
                ProblemCode::EvtxFull,
                "the log reached its maximum size (header flag FULL): older events may have been overwritten",
            ));
        }
    }

    /// Record order: start at the chunk holding the lowest record ID (a log that wrapped
    /// around starts in the middle), as the crate and Windows do; the cut-off chunk last.
    fn record_order(&mut self, slots: u64, tail: u64) -> Vec<Slot> {
        let oldest = self.oldest_slot(slots);
        let mut order: Vec<Slot> = (oldest..slots).chain(0..oldest).map(Slot::Full).collect();
        if tail > 0 {
            order.push(Slot::CutOff(slots, tail as usize));
        }
        order
    }

    /// Read the chunks in `order` until the deadline; returns the chunks deferred by the
    /// channel skip.
    fn read_chunks(
        &mut self,
        order: Vec<Slot>,
        buf: &mut Vec<u8>,
    ) -> Result<Vec<Slot>, EventLogError> {
        let mut deferred = Vec::new();
        let total = order.len();
        let tail = match order.last() {
            Some(&Slot::CutOff(_, len)) => len as u64,
            _ => 0,
        };
        for (i, slot) in order.into_iter().enumerate() {
            if self.deadline.expired() {
                // What was sampled and deferred is not read either; zero padding after the
                // last chunk is no chunk left unread.
                let mut left = total - i + deferred.len();
                if tail > 0 && self.tail_is_zero(tail) {
                    left -= 1;
                }
                if left > 0 {
                    self.stopped(slot, left);
                }
                deferred.clear();
                break;
            }
            if let Sampled::Deferred = self.chunk(slot, buf, true)? {
                deferred.push(slot);
            }
        }
        Ok(deferred)
    }

    /// The file mixes channels: what was deferred must be read after all. The sampled first
    /// records' channel counts are undone first, they are counted when read.
    fn read_deferred(
        &mut self,
        deferred: Vec<Slot>,
        buf: &mut Vec<u8>,
    ) -> Result<(), EventLogError> {
        if let Some(Some(ch)) = &self.file_channel {
            let channels = &mut self.report.integrity.channels;
            if let Some(n) = channels.get_mut(ch) {
                *n = n.saturating_sub(deferred.len() as u64);
                if *n == 0 {
                    channels.remove(ch);
                }
            }
        }
        let total = deferred.len();
        for (i, slot) in deferred.into_iter().enumerate() {
            if self.deadline.expired() {
                self.stopped(slot, total - i);
                break;
            }
            self.chunk(slot, buf, false)?;
        }
        Ok(())
    }

    /// Every sampled chunk showed the same irrelevant channel: the file is skipped.
    fn skip_irrelevant(&mut self, deferred: usize) {
        self.report.integrity.skipped_irrelevant = true;
        let ch = self
            .file_channel
            .clone()
            .flatten()
            .unwrap_or_else(|| "<none>".into());
        self.problem(Problem::info(
            ProblemCode::EvtxSkippedIrrelevant,
            format!("channel {ch} holds no catalogued event: {deferred} chunk(s) sampled (first record each) and skipped"),
        ));
    }

    /// The slot whose chunk header names the lowest first record ID.
    fn oldest_slot(&mut self, slots: u64) -> u64 {
        let mut best = (u64::MAX, 0);
        let mut head = [0u8; 40];
        for n in 0..slots {
            if self
                .r
                .seek(SeekFrom::Start(HEADER_SIZE + n * CHUNK_SIZE))
                .is_err()
                || self.r.read_exact(&mut head).is_err()
            {
                break;
            }
            if &head[..8] != CHUNK_MAGIC {
                continue;
            }
            let first = u64::from_le_bytes(head[24..32].try_into().unwrap_or_default());
            let last = u64::from_le_bytes(head[32..40].try_into().unwrap_or_default());
            if first <= last && last != 0 && first < best.0 {
                best = (first, n);
            }
        }
        best.1
    }

    fn read_slot(&mut self, slot: Slot, buf: &mut Vec<u8>) -> Result<(), EventLogError> {
        let (n, len) = match slot {
            Slot::Full(n) => (n, CHUNK_SIZE as usize),
            Slot::CutOff(n, len) => (n, len),
        };
        let io = |e| EventLogError::Io {
            path: self.label.to_string(),
            source: e,
        };
        buf.clear();
        buf.resize(CHUNK_SIZE as usize, 0);
        self.r
            .seek(SeekFrom::Start(HEADER_SIZE + n * CHUNK_SIZE))
            .map_err(io)?;
        self.r
            .read_exact(&mut buf[..len])
            .map_err(|e| EventLogError::Io {
                path: self.label.to_string(),
                source: e,
            })?;
        Ok(())
    }

    /// Read one chunk slot. With `sample`, a chunk whose first record is in an irrelevant
    /// channel is left unread (`Deferred`) and only its integrity is counted.
    fn chunk(
        &mut self,
        slot: Slot,
        buf: &mut Vec<u8>,
        sample: bool,
    ) -> Result<Sampled, EventLogError> {
        self.read_slot(slot, buf)?;
        if let Slot::CutOff(_, len) = slot {
            self.tail_zero = Some(buf[..len].iter().all(|&b| b == 0));
        }
        let (number, cut_off) = match slot {
            Slot::Full(n) => (n, None),
            Slot::CutOff(n, len) => (n, Some(len)),
        };
        let mut at = ChunkAt {
            number,
            offset: HEADER_SIZE + number * CHUNK_SIZE,
            cut_off,
            verified: false,
            first_visit: sample,
        };
        if !self.holds_chunk(buf, &at) {
            return Ok(Sampled::Read);
        }
        let Some(mut cd) = self.open_chunk(std::mem::take(buf), &at) else {
            *buf = Vec::with_capacity(CHUNK_SIZE as usize);
            return Ok(Sampled::Read);
        };
        let declared = self.check_chunk(&cd, &mut at);
        self.templates.clear();
        if sample && self.filter.skips_channels() {
            if let Sampled::Deferred = self.sample_first_channel(&mut cd) {
                // Not read now; counted if and when it is read.
                *buf = cd.data;
                return Ok(Sampled::Deferred);
            }
        }
        self.read_records(&mut cd, &at, declared);
        *buf = cd.data;
        Ok(Sampled::Read)
    }

    /// Whether the slot holds a chunk to read; counts an all-zero slot (`chunks_empty`) and one
    /// without the chunk signature (`chunks_bad_magic`), and passes over a cut-off chunk too
    /// short for its header.
    fn holds_chunk(&mut self, buf: &[u8], at: &ChunkAt) -> bool {
        let count = at.first_visit && at.cut_off.is_none();
        if buf.iter().all(|&b| b == 0) {
            if count {
                self.report.integrity.chunks_empty += 1;
            }
            return false;
        }
        if buf.len() < CHUNK_HEADER_SIZE || &buf[..8] != CHUNK_MAGIC {
            if count {
                let number = at.number;
                self.report.integrity.chunks_bad_magic += 1;
                self.chunk_problem(
                    at,
                    ChunkProblemKind::BadMagic,
                    format!("no chunk signature (starts {:02x?})", &buf[..8]),
                );
                self.problem(
                    Problem::warning(
                        ProblemCode::EvtxChunkBadMagic,
                        format!("chunk {number} has no chunk signature and holds data: its records (if any) cannot be read"),
                    )
                    .at(at.offset),
                );
            }
            return false;
        }
        !matches!(at.cut_off, Some(len) if len < CHUNK_HEADER_SIZE)
    }

    /// The chunk's header through the crate; `None` (counted as unparsable) when unreadable.
    fn open_chunk(&mut self, data: Vec<u8>, at: &ChunkAt) -> Option<EvtxChunkData> {
        match EvtxChunkData::new(data, false) {
            Ok(mut cd) => {
                // The crate's record errors then name the chunk and the file offset.
                cd.number = Some(at.number);
                Some(cd)
            }
            Err(e) => {
                if at.first_visit {
                    let number = at.number;
                    self.report.integrity.chunks_unparsable += 1;
                    self.chunk_problem(at, ChunkProblemKind::Unparsable, e.to_string());
                    self.problem(
                        Problem::warning(
                            ProblemCode::EvtxChunkUnparsable,
                            format!("chunk {number}: header unreadable ({e})"),
                        )
                        .at(at.offset),
                    );
                }
                None
            }
        }
    }

    /// Check the chunk's CRC32s (setting `at.verified`) and, on the first visit, count it in the
    /// integrity account. Returns the number of records its header declares.
    fn check_chunk(&mut self, cd: &EvtxChunkData, at: &mut ChunkAt) -> u64 {
        let declared = declared_records(&cd.header);
        let header_ok = cd.validate_header_checksum();
        let data_ok = cd.validate_data_checksum();
        at.verified = header_ok && data_ok && at.cut_off.is_none();
        if !at.first_visit {
            return declared;
        }
        let i = &mut self.report.integrity;
        i.records_declared += declared;
        let Some(len) = at.cut_off else {
            i.chunks_found += 1;
            if at.number >= i.declared_chunk_count {
                i.chunks_beyond_declared_count += 1;
            }
            if header_ok && data_ok {
                i.chunks_valid += 1;
            } else {
                i.chunks_bad_checksum += 1;
            }
            if !header_ok {
                let detail = header_crc_detail(cd);
                self.bad_checksum(at, ChunkProblemKind::BadHeaderChecksum, detail, declared);
            }
            if !data_ok {
                let detail = data_crc_detail(cd);
                self.bad_checksum(at, ChunkProblemKind::BadDataChecksum, detail, declared);
            }
            return declared;
        };
        self.chunk_problem(
            at,
            ChunkProblemKind::CutOff,
            format!("only {len} of 65536 bytes present"),
        );
        declared
    }

    /// Note what is wrong with the chunk in the integrity account.
    fn chunk_problem(&mut self, at: &ChunkAt, kind: ChunkProblemKind, detail: String) {
        self.report.integrity.chunk_problems.push(ChunkProblem {
            chunk: at.number,
            offset: at.offset,
            kind,
            detail,
        });
    }

    fn bad_checksum(
        &mut self,
        at: &ChunkAt,
        kind: ChunkProblemKind,
        detail: String,
        declared: u64,
    ) {
        let number = at.number;
        self.chunk_problem(at, kind, detail.clone());
        self.problem(
            Problem::warning(
                ProblemCode::EvtxChunkBadChecksum,
                format!("chunk {number}: {detail}; its records (up to {declared}) are kept and marked unverified"),
            )
            .at(at.offset),
        );
    }

    /// Channel skip: sample the chunk's first record. `Deferred` when the file has shown one
    /// channel so far and it is irrelevant (the sampled record's channel is counted).
    fn sample_first_channel(&mut self, cd: &mut EvtxChunkData) -> Sampled {
        let channel = match self.first_channel_raw(&cd.data) {
            Some(c) => Some(c),
            None => self.first_channel_crate(cd),
        };
        let Some(channel) = channel else {
            return Sampled::Read;
        };
        match &self.file_channel {
            None => self.file_channel = Some(channel.clone()),
            Some(c) if *c != channel => self.mixed_channels = true,
            Some(_) => {}
        }
        match channel {
            Some(ch) if !self.mixed_channels && !self.filter.channel_relevant(&ch) => {
                *self.report.integrity.channels.entry(ch).or_insert(0) += 1;
                Sampled::Deferred
            }
            _ => Sampled::Read,
        }
    }

    /// Read the chunk's records: decided (and kept ones decoded) from their raw values when the
    /// prescan understands every record; the crate's iterator for what remains.
    fn read_records(&mut self, cd: &mut EvtxChunkData, at: &ChunkAt, declared: u64) {
        let pre = self.prescan(&cd.data, &cd.header, at);
        if let Some(pre) = &pre {
            self.report.integrity.records_kept += pre.decoded;
            if pre.relevant.is_empty() {
                let tally = Tally {
                    read: pre.count,
                    ..Tally::default()
                };
                self.count_read(at, tally);
                return;
            }
        }
        let settings = Arc::clone(&self.settings);
        match cd.parse(settings) {
            Ok(mut chunk) => {
                let tally = self.crate_records(&mut chunk, at, pre.as_ref());
                self.count_read(at, tally);
            }
            Err(e) => self.records_lost_unparsable(at, pre.as_ref(), declared, &e.to_string()),
        }
    }

    /// The crate could not parse the chunk: records decoded directly by the prescan are kept,
    /// the others are lost.
    fn records_lost_unparsable(
        &mut self,
        at: &ChunkAt,
        pre: Option<&Prescan>,
        declared: u64,
        error: &str,
    ) {
        let (read, lost) = match pre {
            Some(p) => (p.count - p.relevant.len() as u64, p.relevant.len() as u64),
            None => (0, declared),
        };
        let number = at.number;
        if at.first_visit {
            let i = &mut self.report.integrity;
            i.chunks_unparsable += 1;
            self.chunk_problem(at, ChunkProblemKind::Unparsable, error.to_string());
        }
        let tally = Tally {
            read,
            ..Tally::default()
        };
        self.count_read(at, tally);
        self.report.integrity.records_skipped += lost;
        self.problem(
            Problem::warning(
                ProblemCode::EvtxChunkUnparsable,
                format!("chunk {number}: cannot be parsed ({error}); {lost} record(s) are lost"),
            )
            .at(at.offset),
        );
    }

    /// Walk the chunk's records through the crate: every record without a prescan, only the
    /// prescan's kept records that it could not decode otherwise.
    fn crate_records(
        &mut self,
        chunk: &mut EvtxChunk<'_>,
        at: &ChunkAt,
        pre: Option<&Prescan>,
    ) -> Tally {
        let mut t = Tally::default();
        let mut relevant_left = pre.map_or(0, |p| p.relevant.len());
        // A record running past the end is unreadable, whether the crate fails on it or not
        // (the prescan only accepts records that fit, so it matters without one).
        let past = match pre {
            None => PastEnd::find(chunk.data, chunk.header, at),
            Some(_) => None,
        };
        for rec in chunk.iter() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    // With a prescan, the record was walked already; only kept records the
                    // crate cannot give back count as lost (below).
                    if pre.is_none() {
                        match &past {
                            Some(p) if error_record_id(&e) == Some(p.id) => {
                                t.lost(|| p.detail(at));
                            }
                            _ => t.lost(|| error_chain(&e)),
                        }
                    }
                    continue;
                }
            };
            let start = rec.binxml_offset.saturating_sub(RECORD_HEADER_SIZE as u64);
            let size = u64::from(rec.binxml_size) + RECORD_HEADER_SIZE as u64 + 4;
            if let Some(p) = PastEnd::check(at, rec.event_record_id, start, size) {
                if pre.is_none() {
                    t.lost(|| p.detail(at));
                }
                continue;
            }
            let decided = match pre {
                Some(p) => {
                    if p.relevant.binary_search(&rec.binxml_offset).is_err() {
                        t.read += 1;
                        continue;
                    }
                    relevant_left -= 1;
                    true
                }
                None => false,
            };
            if self.record(rec, at, decided) {
                t.read += 1;
            } else {
                t.lost(|| "record has no readable System/EventID".into());
            }
            if decided && relevant_left == 0 {
                // The rest of the chunk is irrelevant and was counted by the prescan.
                break;
            }
        }
        if let Some(p) = pre {
            // Kept records the crate's walk never reached are lost too.
            if relevant_left > 0 {
                t.errors += relevant_left as u64;
                t.first_error.get_or_insert_with(|| {
                    "a kept record could not be read back through the evtx crate".into()
                });
            }
            t.read = p.count.saturating_sub(t.errors);
        }
        t
    }

    fn count_read(&mut self, at: &ChunkAt, t: Tally) {
        let i = &mut self.report.integrity;
        i.records_read += t.read;
        i.records_skipped += t.errors;
        if !at.verified {
            i.records_unverified += t.read;
        }
        if at.cut_off.is_some() {
            i.records_from_cut_off_chunk += t.read;
        }
        if t.errors > 0 {
            self.problem(
                Problem::warning(
                    ProblemCode::EvtxRecordsUnreadable,
                    format!(
                        "chunk {}: {} record(s) could not be read (first: {})",
                        at.number,
                        t.errors,
                        t.first_error.unwrap_or_default()
                    ),
                )
                .at(at.offset),
            );
        }
    }

    /// The channel of the record at the start of the chunk, from its raw values.
    fn first_channel_raw(&mut self, data: &[u8]) -> Option<Option<String>> {
        let size = le_u32(data, CHUNK_HEADER_SIZE + 4)? as usize;
        if data.get(CHUNK_HEADER_SIZE..CHUNK_HEADER_SIZE + 4)? != RECORD_MAGIC
            || size < RECORD_HEADER_SIZE + 4
        {
            return None;
        }
        let q = self.templates.quick_raw(
            data,
            CHUNK_HEADER_SIZE + RECORD_HEADER_SIZE,
            size - RECORD_HEADER_SIZE - 4,
        )?;
        match q.channel {
            None => Some(None),
            Some(c) => Some(Some(raw_text_string(&c)?)),
        }
    }

    /// The channel of the chunk's first readable record, through the crate.
    fn first_channel_crate(&mut self, cd: &mut EvtxChunkData) -> Option<Option<String>> {
        let mut chunk = cd.parse(Arc::clone(&self.settings)).ok()?;
        let rec = chunk.iter().find_map(Result::ok)?;
        Some(self.channel_of(&rec))
    }

    /// Walk the chunk's records and decide each from its raw values. `None` when any record is
    /// unusual (then the crate's iterator and rendering decide); the events it decoded are then
    /// undone.
    fn prescan(&mut self, data: &[u8], header: &EvtxChunkHeader, at: &ChunkAt) -> Option<Prescan> {
        let mark = self.report.events.len();
        let r = self.prescan_records(data, header, at);
        if r.is_none() {
            self.report.events.truncate(mark);
        }
        r
    }

    fn prescan_records(
        &mut self,
        data: &[u8],
        header: &EvtxChunkHeader,
        at: &ChunkAt,
    ) -> Option<Prescan> {
        // A cut-off chunk's records end where the file does (the buffer is zero-filled after).
        let live_end = (header.free_space_offset as usize).min(at.cut_off.unwrap_or(data.len()));
        // Room for the chunk's records at once (a record takes at least 28 of the chunk's bytes,
        // so this is bounded by the chunk, whatever its header claims).
        self.report
            .events
            .reserve((declared_records(header) as usize).min(live_end / 28));
        let mut off = CHUNK_HEADER_SIZE;
        let mut pre = Prescan::default();
        let mut channels: Vec<(u32, u64)> = Vec::new();
        while off + RECORD_HEADER_SIZE <= live_end {
            let rec = RawRecord::at(data, off, live_end, header)?;
            let q = self.templates.quick_raw(
                data,
                off + RECORD_HEADER_SIZE,
                rec.size - RECORD_HEADER_SIZE - 4,
            )?;
            let look = self.look(&q)?;
            match channels.iter_mut().find(|(k, _)| *k == look.channel) {
                Some((_, n)) => *n += 1,
                None => channels.push((look.channel, 1)),
            }
            pre.count += 1;
            if look.keep {
                let decoded = if self.filter.crate_rendering() {
                    None
                } else {
                    self.templates.decode(data, &q)
                };
                match decoded {
                    Some(d) => {
                        let event = self.decoded_event(d, &rec, &look, at)?;
                        pre.decoded += 1;
                        self.report.events.push(event);
                    }
                    None => pre.relevant.push((off + RECORD_HEADER_SIZE) as u64),
                }
            }
            if rec.id == header.last_event_record_id {
                break;
            }
            off += rec.size;
        }
        for (c, n) in channels {
            *self.chan_counts.entry(c).or_insert(0) += n;
        }
        Some(pre)
    }

    /// Intern a record's provider and channel and decide whether it is kept (decisions are
    /// cached per provider, raw EventID and Qualifiers).
    fn look(&mut self, q: &RawQuick<'_>) -> Option<Look> {
        let (raw, qualifiers) = (q.raw_event_id, q.qualifiers);
        let provider = self.names.intern(&q.provider)?;
        let channel = match &q.channel {
            Some(c) => self.names.intern(c)?,
            None => u32::MAX,
        };
        let (keep, event_id, norm_qualifiers) =
            match self.decisions.get(&(provider, raw, qualifiers)) {
                Some(&d) => d,
                None => {
                    let name = &self.names.strs[provider as usize];
                    let (canonical, q) = normalize_event_id(name, raw, qualifiers);
                    let d = (self.filter.matches(name, canonical), canonical, q);
                    self.decisions.insert((provider, raw, qualifiers), d);
                    d
                }
            };
        Some(Look {
            provider,
            channel,
            raw_event_id: raw,
            qualifiers,
            keep,
            event_id,
            norm_qualifiers,
        })
    }

    /// The event of a record decoded directly. `None` when its header time is out of range (the
    /// chunk then goes through the crate, which refuses such records).
    fn decoded_event(
        &self,
        d: Decoded,
        rec: &RawRecord,
        look: &Look,
        at: &ChunkAt,
    ) -> Option<Event> {
        let header_time = jiff::Timestamp::from_nanosecond(
            (i128::from(rec.filetime) - 116_444_736_000_000_000) * 100,
        )
        .ok()?;
        // The decision's normalisation, when the decoded System part agrees with the quick
        // look (it always should).
        let (event_id, qualifiers) = if (d.raw_event_id, d.qualifiers)
            == (look.raw_event_id, look.qualifiers)
            && *d.provider == *self.names.strs[look.provider as usize]
        {
            (look.event_id, look.norm_qualifiers)
        } else {
            normalize_event_id(&d.provider, d.raw_event_id, d.qualifiers)
        };
        Some(Event {
            time: d.time.unwrap_or(header_time),
            record_id: rec.id,
            provider: d.provider,
            provider_guid: d.provider_guid,
            channel: d.channel,
            computer: d.computer,
            level: d.level,
            event_id,
            raw_event_id: d.raw_event_id,
            qualifiers,
            activity_id: d.activity_id,
            user_sid: d.user_sid,
            fields: Arc::new(d.fields),
            file: self.label.clone(),
            chunk: at.number,
            offset: at.offset + rec.offset as u64,
            verified: at.verified,
        })
    }

    /// The channel of a record: from the template when possible, else from its rendering.
    fn channel_of(&mut self, rec: &EvtxRecord<'_>) -> Option<String> {
        if let Some(q) = self.templates.quick(rec) {
            return q.channel;
        }
        self.report.integrity.records_rendered += 1;
        let json = rec.clone().into_json_value().ok()?;
        system_fields(&json.data)?.channel
    }

    /// Filter, render and keep one record. Returns false when it could not be read.
    fn record(&mut self, rec: EvtxRecord<'_>, at: &ChunkAt, decided: bool) -> bool {
        let quick = if decided {
            None
        } else {
            self.templates.quick(&rec)
        };
        if let Some(q) = &quick {
            let ch = q.channel.clone().unwrap_or_else(|| "<none>".into());
            *self.report.integrity.channels.entry(ch).or_insert(0) += 1;
            let (canonical, _) = normalize_event_id(&q.provider, q.raw_event_id, q.qualifiers);
            if !self.filter.matches(&q.provider, canonical) {
                return true;
            }
        }
        let place = RecordPlace {
            record_id: rec.event_record_id,
            header_time: rec.timestamp,
            file: Arc::clone(&self.label),
            chunk: at.number,
            offset: at.offset + rec.binxml_offset.saturating_sub(RECORD_HEADER_SIZE as u64),
            verified: at.verified,
        };
        self.report.integrity.records_rendered += 1;
        let json = match rec.into_json_value() {
            Ok(j) => j.data,
            Err(_) => return false,
        };
        let Some(event) = event_from_json(&json, place) else {
            return false;
        };
        if quick.is_none() && !decided {
            let ch = event.channel.as_deref().unwrap_or("<none>").to_string();
            *self.report.integrity.channels.entry(ch).or_insert(0) += 1;
            if !self.filter.matches(&event.provider, event.event_id) {
                return true;
            }
        }
        self.report.integrity.records_kept += 1;
        self.report.events.push(event);
        true
    }

    /// Whether the `tail` bytes after the last whole chunk are all zero: known once the
    /// cut-off slot was read, else (reading stopped before it) read now, at most 64 KiB.
    fn tail_is_zero(&mut self, tail: u64) -> bool {
        if let Some(z) = self.tail_zero {
            return z;
        }
        let mut bytes = vec![0u8; tail.min(CHUNK_SIZE) as usize];
        let read = self.r.seek(SeekFrom::Start(self.size - tail)).is_ok()
            && self.r.read_exact(&mut bytes).is_ok();
        read && bytes.iter().all(|&b| b == 0)
    }

    fn finish(&mut self, tail: u64) {
        for (c, n) in std::mem::take(&mut self.chan_counts) {
            let name = if c == u32::MAX {
                "<none>".to_string()
            } else {
                self.names.strs[c as usize].clone()
            };
            *self.report.integrity.channels.entry(name).or_insert(0) += n;
        }
        let i = &self.report.integrity;
        let stale = i.chunks_beyond_declared_count;
        let declared_count = i.declared_chunk_count;
        let missing = i
            .records_declared
            .saturating_sub(i.records_read + i.records_skipped);
        let skipped = i.skipped_irrelevant;
        let from_cut = i.records_from_cut_off_chunk;
        if stale > 0 {
            self.problem(Problem::info(
                ProblemCode::EvtxStaleChunkCount,
                format!("the header declares {declared_count} chunk(s) but {stale} more hold records (a stale count): all of them were read; tools that trust the header miss these records"),
            ));
        }
        if missing > 0 && !skipped {
            self.problem(Problem::warning(
                ProblemCode::EvtxRecordsMissing,
                format!("the chunk headers declare {missing} more record(s) than could be found"),
            ));
        }
        if tail > 0 && self.tail_is_zero(tail) {
            // Zero-filled slack after the last chunk (copied logs often end so): not a cut-off
            // chunk, nothing lost.
            let i = &mut self.report.integrity;
            i.truncated_tail_bytes = 0;
            i.zero_padding_bytes = tail;
            self.problem(
                Problem::info(
                    ProblemCode::EvtxZeroPadding,
                    format!("{tail} bytes of zero padding after the last chunk (slack, not a cut-off chunk: nothing is lost)"),
                )
                .at(self.size - tail),
            );
        } else if tail > 0 {
            self.problem(
                Problem::warning(
                    ProblemCode::EvtxTruncatedTail,
                    format!("the file ends {tail} bytes into a chunk slot (a cut-off copy): {from_cut} record(s) were read from the partial chunk and marked unverified; the rest of it is lost"),
                )
                .at(self.size - tail),
            );
        }
    }
}
