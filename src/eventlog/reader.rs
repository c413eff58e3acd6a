//! The chunk walk behind [`super::read_evtx`]: reads each 64 KiB chunk slot itself (so that it
//! can count empty, bad-magic, bad-checksum and cut-off chunks the crate passes over silently),
//! hands intact chunks to the `evtx` crate's record iterator, filters records early and keeps
//! the integrity account.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use evtx::{
    EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, EvtxRecord, HeaderFlags, ParserSettings,
};

use super::binxml::le_u32;
use super::normalize::{event_from_json, normalize_event_id, system_fields};
use super::system::{raw_text_string, FxMap, RawText, TemplateCache};
use super::{ChunkProblem, ChunkProblemKind, Event, EventFilter, EventLogError, EvtxReport};
use crate::evidence::{Deadline, Problem, ProblemCode};

const HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// An event record's signature (`**\0\0`).
const RECORD_MAGIC: [u8; 4] = *b"**\0\0";

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
        let h = &self.header;
        let slots = (self.size - HEADER_SIZE) / CHUNK_SIZE;
        let tail = (self.size - HEADER_SIZE) % CHUNK_SIZE;
        {
            let i = &mut self.report.integrity;
            i.file_bytes = self.size;
            i.version = format!("{}.{}", h.major_version, h.minor_version);
            i.header_checksum_ok = h.validate_checksum();
            i.dirty = h.flags.contains(HeaderFlags::DIRTY);
            i.full = h.flags.contains(HeaderFlags::FULL);
            i.declared_chunk_count = u64::from(h.chunk_count);
            i.chunk_slots = slots;
            i.truncated_tail_bytes = tail;
        }
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

        // Record order: start at the chunk holding the lowest record ID (a log that wrapped
        // around starts in the middle), as the crate and Windows do.
        let oldest = self.oldest_slot(slots);
        let mut order: Vec<Slot> = (oldest..slots).chain(0..oldest).map(Slot::Full).collect();
        if tail > 0 {
            order.push(Slot::CutOff(slots, tail as usize));
        }
        let mut deferred = Vec::new();
        let mut buf = Vec::with_capacity(CHUNK_SIZE as usize);
        let total = order.len();
        for (i, slot) in order.into_iter().enumerate() {
            if self.deadline.expired() {
                // What was sampled and deferred is not read either.
                self.stopped(slot, total - i + deferred.len());
                deferred.clear();
                break;
            }
            match self.chunk(slot, &mut buf, true)? {
                Sampled::Read => {}
                Sampled::Deferred => deferred.push(slot),
            }
        }
        if !deferred.is_empty() {
            if self.mixed_channels {
                // The file mixes channels: what was deferred must be read after all. Undo the
                // sampled first records' channel counts, they are counted when read.
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
                    self.chunk(slot, &mut buf, false)?;
                }
            } else {
                self.report.integrity.skipped_irrelevant = true;
                let ch = self
                    .file_channel
                    .clone()
                    .flatten()
                    .unwrap_or_else(|| "<none>".into());
                self.problem(Problem::info(
                    ProblemCode::EvtxSkippedIrrelevant,
                    format!("channel {ch} holds no catalogued event: {} chunk(s) sampled (first record each) and skipped", deferred.len()),
                ));
            }
        }
        // Record order (directly decoded and crate-rendered records of a chunk were collected
        // separately; a wrapped log was read from its oldest chunk).
        self.report.events.sort_by_key(|e| e.record_id);
        self.finish(tail);
        Ok(self.report)
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
            if first <= last && first < best.0 {
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
        let (number, cut_off) = match slot {
            Slot::Full(n) => (n, None),
            Slot::CutOff(n, len) => (n, Some(len)),
        };
        let chunk_offset = HEADER_SIZE + number * CHUNK_SIZE;
        let counted = sample; // integrity is counted on the first visit only
        if buf.iter().all(|&b| b == 0) {
            if counted && cut_off.is_none() {
                self.report.integrity.chunks_empty += 1;
            }
            return Ok(Sampled::Read);
        }
        if buf.len() < CHUNK_HEADER_SIZE || &buf[..8] != CHUNK_MAGIC {
            if counted && cut_off.is_none() {
                self.report.integrity.chunks_bad_magic += 1;
                self.report.integrity.chunk_problems.push(ChunkProblem {
                    chunk: number,
                    offset: chunk_offset,
                    kind: ChunkProblemKind::BadMagic,
                    detail: format!("no chunk signature (starts {:02x?})", &buf[..8]),
                });
                self.problem(
                    Problem::warning(
                        ProblemCode::EvtxChunkBadMagic,
                        format!("chunk {number} has no chunk signature and holds data: its records (if any) cannot be read"),
                    )
                    .at(chunk_offset),
                );
            }
            return Ok(Sampled::Read);
        }
        if let Some(len) = cut_off {
            if len < CHUNK_HEADER_SIZE {
                return Ok(Sampled::Read);
            }
        }
        let data = std::mem::take(buf);
        let mut cd = match EvtxChunkData::new(data, false) {
            Ok(cd) => cd,
            Err(e) => {
                if counted {
                    self.report.integrity.chunks_unparsable += 1;
                    self.report.integrity.chunk_problems.push(ChunkProblem {
                        chunk: number,
                        offset: chunk_offset,
                        kind: ChunkProblemKind::Unparsable,
                        detail: e.to_string(),
                    });
                    self.problem(
                        Problem::warning(
                            ProblemCode::EvtxChunkUnparsable,
                            format!("chunk {number}: header unreadable ({e})"),
                        )
                        .at(chunk_offset),
                    );
                }
                *buf = Vec::with_capacity(CHUNK_SIZE as usize);
                return Ok(Sampled::Read);
            }
        };
        let hdr = &cd.header;
        let declared = if hdr.first_event_record_id <= hdr.last_event_record_id {
            (hdr.last_event_record_id - hdr.first_event_record_id + 1).min(CHUNK_SIZE / 28)
        } else {
            0
        };
        let header_ok = cd.validate_header_checksum();
        let data_ok = cd.validate_data_checksum();
        let verified = header_ok && data_ok && cut_off.is_none();
        if counted {
            let i = &mut self.report.integrity;
            i.records_declared += declared;
            if cut_off.is_none() {
                i.chunks_found += 1;
                if number >= i.declared_chunk_count {
                    i.chunks_beyond_declared_count += 1;
                }
                if header_ok && data_ok {
                    i.chunks_valid += 1;
                } else {
                    i.chunks_bad_checksum += 1;
                }
            }
            if cut_off.is_none() && !header_ok {
                let stored = cd.header.header_chunk_checksum;
                let mut h = Vec::with_capacity(504);
                h.extend_from_slice(&cd.data[..120]);
                h.extend_from_slice(&cd.data[128..512]);
                let computed = evtx::checksum_ieee(&h);
                self.bad_checksum(number, chunk_offset, ChunkProblemKind::BadHeaderChecksum, format!("chunk header CRC32 invalid (stored {stored:#010x}, computed {computed:#010x})"), declared);
            }
            if cut_off.is_none() && !data_ok {
                let stored = cd.header.events_checksum;
                let end = (cd.header.free_space_offset as usize).min(cd.data.len());
                let detail = if end >= CHUNK_HEADER_SIZE {
                    let computed = evtx::checksum_ieee(&cd.data[CHUNK_HEADER_SIZE..end]);
                    format!("chunk data CRC32 invalid (stored {stored:#010x}, computed {computed:#010x})")
                } else {
                    format!(
                        "chunk free-space offset {} is invalid",
                        cd.header.free_space_offset
                    )
                };
                self.bad_checksum(
                    number,
                    chunk_offset,
                    ChunkProblemKind::BadDataChecksum,
                    detail,
                    declared,
                );
            }
            if let Some(len) = cut_off {
                self.report.integrity.chunk_problems.push(ChunkProblem {
                    chunk: number,
                    offset: chunk_offset,
                    kind: ChunkProblemKind::CutOff,
                    detail: format!("only {len} of 65536 bytes present"),
                });
            }
        }
        self.templates.clear();
        // Channel skip: sample the chunk's first record.
        if sample && self.filter.skips_channels() {
            let channel = match self.first_channel_raw(&cd.data) {
                Some(c) => Some(c),
                None => self.first_channel_crate(&mut cd),
            };
            if let Some(channel) = channel {
                match &self.file_channel {
                    None => self.file_channel = Some(channel.clone()),
                    Some(c) if *c != channel => self.mixed_channels = true,
                    Some(_) => {}
                }
                if let Some(ch) = &channel {
                    if !self.mixed_channels && !self.filter.channel_relevant(ch) {
                        *self
                            .report
                            .integrity
                            .channels
                            .entry(ch.clone())
                            .or_insert(0) += 1;
                        // Not read now; counted if and when it is read.
                        *buf = cd.data;
                        return Ok(Sampled::Deferred);
                    }
                }
            }
        }
        // Fast path: every record decided from its raw substitution values.
        let pre = self.prescan(&cd.data, &cd.header, number, chunk_offset, verified);
        if let Some(pre) = &pre {
            self.report.integrity.records_kept += pre.decoded;
            if pre.relevant.is_empty() {
                self.count_read(
                    pre.count,
                    0,
                    None,
                    number,
                    chunk_offset,
                    verified,
                    cut_off.is_some(),
                );
                *buf = cd.data;
                return Ok(Sampled::Read);
            }
        }
        let settings = Arc::clone(&self.settings);
        let mut chunk = match cd.parse(settings) {
            Ok(c) => c,
            Err(e) => {
                // Records decoded directly by the prescan are kept; the others are lost.
                let (read, lost) = match &pre {
                    Some(p) => (p.count - p.relevant.len() as u64, p.relevant.len() as u64),
                    None => (0, declared),
                };
                if counted {
                    let i = &mut self.report.integrity;
                    i.chunks_unparsable += 1;
                    i.chunk_problems.push(ChunkProblem {
                        chunk: number,
                        offset: chunk_offset,
                        kind: ChunkProblemKind::Unparsable,
                        detail: e.to_string(),
                    });
                }
                self.count_read(
                    read,
                    0,
                    None,
                    number,
                    chunk_offset,
                    verified,
                    cut_off.is_some(),
                );
                self.report.integrity.records_skipped += lost;
                self.problem(
                    Problem::warning(
                        ProblemCode::EvtxChunkUnparsable,
                        format!(
                            "chunk {number}: cannot be parsed ({e}); {lost} record(s) are lost"
                        ),
                    )
                    .at(chunk_offset),
                );
                *buf = Vec::with_capacity(CHUNK_SIZE as usize);
                return Ok(Sampled::Read);
            }
        };
        let mut errors = 0u64;
        let mut first_error: Option<String> = None;
        let mut read = 0u64;
        let mut relevant_left = pre.as_ref().map_or(0, |p| p.relevant.len());
        for rec in chunk.iter() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    // With a prescan, the record was walked already; only kept records the
                    // crate cannot give back count as lost (below).
                    if pre.is_none() {
                        errors += 1;
                        first_error.get_or_insert_with(|| error_chain(&e));
                    }
                    continue;
                }
            };
            let decided = match &pre {
                Some(p) => {
                    if p.relevant.binary_search(&rec.binxml_offset).is_err() {
                        read += 1;
                        continue;
                    }
                    relevant_left -= 1;
                    true
                }
                None => false,
            };
            if self.record(rec, number, chunk_offset, verified, decided) {
                read += 1;
            } else {
                errors += 1;
                first_error.get_or_insert_with(|| "record has no readable System/EventID".into());
            }
            if decided && relevant_left == 0 {
                // The rest of the chunk is irrelevant and was counted by the prescan.
                break;
            }
        }
        drop(chunk);
        if let Some(p) = &pre {
            // Kept records the crate's walk never reached are lost too.
            if relevant_left > 0 {
                errors += relevant_left as u64;
                first_error.get_or_insert_with(|| {
                    "a kept record could not be read back through the evtx crate".into()
                });
            }
            read = p.count.saturating_sub(errors);
        }
        self.count_read(
            read,
            errors,
            first_error,
            number,
            chunk_offset,
            verified,
            cut_off.is_some(),
        );
        *buf = cd.data;
        Ok(Sampled::Read)
    }

    #[allow(clippy::too_many_arguments)]
    fn count_read(
        &mut self,
        read: u64,
        errors: u64,
        first_error: Option<String>,
        number: u64,
        chunk_offset: u64,
        verified: bool,
        cut_off: bool,
    ) {
        let i = &mut self.report.integrity;
        i.records_read += read;
        i.records_skipped += errors;
        if !verified {
            i.records_unverified += read;
        }
        if cut_off {
            i.records_from_cut_off_chunk += read;
        }
        if errors > 0 {
            self.problem(
                Problem::warning(
                    ProblemCode::EvtxRecordsUnreadable,
                    format!(
                        "chunk {number}: {errors} record(s) could not be read (first: {})",
                        first_error.unwrap_or_default()
                    ),
                )
                .at(chunk_offset),
            );
        }
    }

    /// The channel of the record at the start of the chunk, from its raw values.
    fn first_channel_raw(&mut self, data: &[u8]) -> Option<Option<String>> {
        let size = le_u32(data, CHUNK_HEADER_SIZE + 4)? as usize;
        if data.get(CHUNK_HEADER_SIZE..CHUNK_HEADER_SIZE + 4)? != RECORD_MAGIC || size < 28 {
            return None;
        }
        let q = self
            .templates
            .quick_raw(data, CHUNK_HEADER_SIZE + 24, size - 28)?;
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
    /// unusual (then the crate's iterator and rendering decide).
    /// [`Self::prescan_inner`], undoing the events it decoded when it gives up.
    fn prescan(
        &mut self,
        data: &[u8],
        header: &EvtxChunkHeader,
        number: u64,
        chunk_offset: u64,
        verified: bool,
    ) -> Option<Prescan> {
        let mark = self.report.events.len();
        let r = self.prescan_inner(data, header, number, chunk_offset, verified);
        if r.is_none() {
            self.report.events.truncate(mark);
        }
        r
    }

    fn prescan_inner(
        &mut self,
        data: &[u8],
        header: &EvtxChunkHeader,
        number: u64,
        chunk_offset: u64,
        verified: bool,
    ) -> Option<Prescan> {
        let live_end = (header.free_space_offset as usize).min(data.len());
        // Room for the chunk's records at once (a record takes at least 28 of the chunk's bytes,
        // so this is bounded by the chunk, whatever its header claims).
        let declared = header
            .last_event_record_id
            .saturating_sub(header.first_event_record_id)
            .saturating_add(1);
        self.report
            .events
            .reserve((declared as usize).min(live_end / 28));
        let mut off = CHUNK_HEADER_SIZE;
        let mut pre = Prescan::default();
        let mut channels: Vec<(u32, u64)> = Vec::new();
        while off + 24 <= live_end {
            if data[off..off + 4] != RECORD_MAGIC {
                return None;
            }
            let size = le_u32(data, off + 4)? as usize;
            let id = u64::from_le_bytes(data.get(off + 8..off + 16)?.try_into().ok()?);
            if size < 28
                || off + size > live_end
                || id < header.first_event_record_id
                || id > header.last_event_record_id
            {
                return None;
            }
            let q = self.templates.quick_raw(data, off + 24, size - 28)?;
            let (raw, qualifiers) = (q.raw_event_id, q.qualifiers);
            let p = self.names.intern(&q.provider)?;
            let c = match &q.channel {
                Some(c) => self.names.intern(c)?,
                None => u32::MAX,
            };
            match channels.iter_mut().find(|(k, _)| *k == c) {
                Some((_, n)) => *n += 1,
                None => channels.push((c, 1)),
            }
            let (keep, canonical, norm_qualifiers) = match self.decisions.get(&(p, raw, qualifiers))
            {
                Some(&d) => d,
                None => {
                    let name = &self.names.strs[p as usize];
                    let (canonical, q) = normalize_event_id(name, raw, qualifiers);
                    let d = (self.filter.matches(name, canonical), canonical, q);
                    self.decisions.insert((p, raw, qualifiers), d);
                    d
                }
            };
            pre.count += 1;
            if keep {
                let decoded = if self.filter.crate_rendering() {
                    None
                } else {
                    self.templates.decode(data, &q)
                };
                match decoded {
                    Some(d) => {
                        let filetime =
                            u64::from_le_bytes(data.get(off + 16..off + 24)?.try_into().ok()?);
                        // A record header time out of range: let the crate decide (it refuses
                        // such records).
                        let header_time = jiff::Timestamp::from_nanosecond(
                            (i128::from(filetime) - 116_444_736_000_000_000) * 100,
                        )
                        .ok()?;
                        // The decision's normalisation, when the decoded System part agrees
                        // with the quick look (it always should).
                        let (event_id, qualifiers) = if (d.raw_event_id, d.qualifiers)
                            == (raw, qualifiers)
                            && *d.provider == *self.names.strs[p as usize]
                        {
                            (canonical, norm_qualifiers)
                        } else {
                            normalize_event_id(&d.provider, d.raw_event_id, d.qualifiers)
                        };
                        pre.decoded += 1;
                        self.report.events.push(Event {
                            time: d.time.unwrap_or(header_time),
                            record_id: id,
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
                            chunk: number,
                            offset: chunk_offset + off as u64,
                            verified,
                        });
                    }
                    None => pre.relevant.push((off + 24) as u64),
                }
            }
            if id == header.last_event_record_id {
                break;
            }
            off += size;
        }
        for (c, n) in channels {
            *self.chan_counts.entry(c).or_insert(0) += n;
        }
        Some(pre)
    }

    fn bad_checksum(
        &mut self,
        number: u64,
        offset: u64,
        kind: ChunkProblemKind,
        detail: String,
        declared: u64,
    ) {
        self.report.integrity.chunk_problems.push(ChunkProblem {
            chunk: number,
            offset,
            kind,
            detail: detail.clone(),
        });
        self.problem(
            Problem::warning(
                ProblemCode::EvtxChunkBadChecksum,
                format!("chunk {number}: {detail}; its records (up to {declared}) are kept and marked unverified"),
            )
            .at(offset),
        );
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
    fn record(
        &mut self,
        rec: EvtxRecord<'_>,
        chunk: u64,
        chunk_offset: u64,
        verified: bool,
        decided: bool,
    ) -> bool {
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
        let record_id = rec.event_record_id;
        let header_time = rec.timestamp;
        let offset = chunk_offset + rec.binxml_offset.saturating_sub(24);
        self.report.integrity.records_rendered += 1;
        let json = match rec.into_json_value() {
            Ok(j) => j.data,
            Err(_) => return false,
        };
        let Some(event) = event_from_json(
            &json,
            record_id,
            header_time,
            &self.label,
            chunk,
            offset,
            verified,
        ) else {
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
        if tail > 0 {
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
