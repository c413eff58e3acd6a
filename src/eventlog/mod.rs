//! Read: the event-log layer. Streams EVTX files through the `evtx` crate one chunk at a time,
//! keeps only the records the diagnosis needs (decided from provider and EventID before any
//! rendering), normalises them into [`Event`]s, and keeps an [`Integrity`] account of everything
//! that could not be read or trusted. See `docs/eventlog.md`.

mod binxml;
mod decode;
mod fields;
pub use fields::utf16le_hex_text;
mod hashing;
mod normalize;
pub mod query;
mod reader;
mod system;

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::sync::Arc;

use serde::Serialize;

use crate::capture::{Input, InputSource};
use crate::catalog::events::{catalog, EventDef};
pub use crate::evidence::{ChunkProblem, ChunkProblemKind, Integrity};
use crate::evidence::{Deadline, InputStatus, Problem, ProblemCode, Reading};

pub use fields::Fields;
pub use normalize::{normalize_event_id, RCM_PROVIDER};

/// Errors that stop a whole file from being read (everything else becomes a [`Problem`]).
#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an EVTX file: {reason}")]
    NotEvtx { path: String, reason: String },
    #[error(transparent)]
    Input(#[from] crate::error::Error),
}

/// Which records to keep. Built from the event catalogue (`src/catalog/events.tsv`).
#[derive(Debug, Clone)]
pub struct EventFilter {
    /// Keep only events the catalogue lists (a provider's `*` row lists all its events).
    catalogued_only: bool,
    /// Canonical EventIDs to keep (`None`: any).
    ids: Option<BTreeSet<u16>>,
    /// Provider name parts to keep, lower case (`None`: any). A provider matches when its name
    /// contains one of them, case-insensitively.
    providers: Option<Vec<String>>,
    /// Channels whose files may hold kept events (`None`: never skip a file by its channel).
    channels: Option<BTreeSet<String>>,
    skip_channels: bool,
    /// Render every kept record through the crate (no direct decoding); for tests.
    crate_rendering: bool,
}

impl EventFilter {
    /// Every catalogued event: what the RDS diagnosis reads. Files whose channel the catalogue
    /// does not name are skipped quickly.
    pub fn rds() -> EventFilter {
        let cat = catalog();
        let mut channels: BTreeSet<String> =
            cat.channels().into_iter().map(str::to_lowercase).collect();
        // A provider's own channels (`<provider>/<anything>`) may hold its events too.
        for p in cat.providers() {
            channels.insert(format!("{}/*", p.to_lowercase()));
        }
        EventFilter {
            catalogued_only: true,
            ids: None,
            providers: None,
            channels: Some(channels),
            skip_channels: true,
            crate_rendering: false,
        }
    }

    /// Every record of every file (no filtering, no file skipping).
    pub fn all() -> EventFilter {
        EventFilter {
            catalogued_only: false,
            ids: None,
            providers: None,
            channels: None,
            skip_channels: false,
            crate_rendering: false,
        }
    }

    /// Keep only these canonical EventIDs (adds to earlier `with_ids`).
    pub fn with_ids(mut self, ids: impl IntoIterator<Item = u16>) -> EventFilter {
        let set = self.ids.get_or_insert_with(BTreeSet::new);
        set.extend(ids);
        self
    }

    /// Keep only providers whose name contains one of these parts (case-insensitive).
    pub fn with_providers<S: AsRef<str>>(
        mut self,
        parts: impl IntoIterator<Item = S>,
    ) -> EventFilter {
        let v = self.providers.get_or_insert_with(Vec::new);
        v.extend(parts.into_iter().map(|p| p.as_ref().to_lowercase()));
        self
    }

    /// Turn the quick skip of files with an irrelevant channel on or off.
    pub fn skip_irrelevant_channels(mut self, on: bool) -> EventFilter {
        self.skip_channels = on;
        self
    }

    /// Render every kept record through the `evtx` crate instead of decoding it directly from
    /// its substitution values (slower; the tests compare both).
    #[doc(hidden)]
    pub fn render_with_crate(mut self, on: bool) -> EventFilter {
        self.crate_rendering = on;
        self
    }

    pub(crate) fn crate_rendering(&self) -> bool {
        self.crate_rendering
    }

    /// `rdsdiag events --id/--provider`: the catalogued events, narrowed.
    pub fn for_query(ids: &[u16], providers: &[String]) -> EventFilter {
        let mut f = EventFilter::rds();
        if !ids.is_empty() {
            f = f.with_ids(ids.iter().copied());
        }
        if !providers.is_empty() {
            f = f.with_providers(providers);
        }
        f
    }

    /// Whether a record with this provider and canonical EventID is kept.
    pub fn matches(&self, provider: &str, event_id: u16) -> bool {
        if let Some(ids) = &self.ids {
            if !ids.contains(&event_id) {
                return false;
            }
        }
        if let Some(parts) = &self.providers {
            let p = provider.to_lowercase();
            if !parts.iter().any(|part| p.contains(part.as_str())) {
                return false;
            }
        }
        !self.catalogued_only || catalog().lookup(provider, event_id).is_some()
    }

    /// Whether a file whose records are all in `channel` may hold kept events.
    pub fn channel_relevant(&self, channel: &str) -> bool {
        if !self.skip_channels {
            return true;
        }
        let Some(set) = &self.channels else {
            return true;
        };
        let c = channel.to_lowercase();
        if set.contains(&c) {
            return true;
        }
        match c.split_once('/') {
            Some((family, _)) => set.contains(&format!("{family}/*")),
            None => false,
        }
    }

    /// Whether this filter may skip files by channel at all.
    pub fn skips_channels(&self) -> bool {
        self.skip_channels && self.channels.is_some()
    }
}

/// A normalised event record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `System/TimeCreated@SystemTime` (UTC, 100 ns precision kept); the record header's time
    /// when the record has none.
    pub time: jiff::Timestamp,
    pub record_id: u64,
    pub provider: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_guid: Option<Arc<str>>,
    pub channel: Option<Arc<str>>,
    pub computer: Option<Arc<str>>,
    pub level: Option<u8>,
    /// Canonical 16-bit EventID (reference §9.1).
    pub event_id: u16,
    /// The EventID as stored in the record.
    pub raw_event_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<u16>,
    /// `System/Correlation@ActivityID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// `System/Security@UserID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    /// `EventData` named values, positional `Data` as "1", "2"…, `Binary` (hex), and `UserData`
    /// element values. Shared with the timeline (not copied).
    pub fields: Arc<Fields>,
    /// The input's path in the capture.
    pub file: Arc<str>,
    /// The chunk's number in the file.
    pub chunk: u64,
    /// The record's byte offset in the file.
    pub offset: u64,
    /// False when the record comes from a chunk whose CRC32s do not match, or from a cut-off
    /// chunk at the end of the file.
    pub verified: bool,
}

impl Event {
    /// The catalogue row of this event, if any.
    pub fn catalog_entry(&self) -> Option<&'static EventDef> {
        catalog().lookup(&self.provider, self.event_id)
    }

    /// A field value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The result of reading one EVTX file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvtxReport {
    pub events: Vec<Event>,
    pub integrity: Integrity,
    /// Problems met (also attached to the input by [`read_input`]).
    pub problems: Vec<Problem>,
}

impl EvtxReport {
    /// The status an input with this report has.
    pub fn status(&self) -> InputStatus {
        use crate::evidence::ProblemSeverity;
        if self
            .problems
            .iter()
            .any(|p| p.severity >= ProblemSeverity::Warning)
        {
            InputStatus::Partial
        } else {
            InputStatus::Parsed
        }
    }
}

/// Read an EVTX input of a capture with `filter`, stopping before the next chunk once
/// `deadline` has passed (recorded as an `evtx-time-limit` problem; the input becomes `partial`).
/// Returns the kept events and what was found about the input; the input itself is not touched.
/// Files on disk are streamed; zip entries are read into memory first. Each file is read once:
/// when the inventory has not hashed the input (`input.sha256` empty), its SHA-256 is computed
/// from the bytes the reader reads (bytes it did not need, e.g. after the time limit, are hashed
/// at the end) and returned in [`Reading::sha256`]; `None` when the input was hashed already or
/// could not be read to its end.
pub fn read_input(
    input: &Input,
    filter: &EventFilter,
    deadline: Deadline,
) -> (EvtxReport, Reading) {
    let label = input.path.clone();
    let read = |r: Box<dyn ReadSeek + '_>| {
        let mut hashing = if input.sha256.is_empty() {
            hashing::HashingReader::new(r)
        } else {
            hashing::HashingReader::pass_through(r)
        };
        let result = reader::Reader::new(&mut hashing, &label, filter)
            .and_then(|r| r.with_deadline(deadline).run());
        let sha256 = match &result {
            Err(EventLogError::Io { .. }) => None,
            _ => hashing.finish(),
        };
        (result, sha256)
    };
    let (result, sha256) = match &input.source {
        InputSource::File(p) => match std::fs::File::open(p) {
            // Unbuffered: chunks are read 64 KiB at a time, chunk headers a few bytes at a time.
            Ok(f) => read(Box::new(f)),
            Err(e) => (
                Err(EventLogError::Io {
                    path: p.display().to_string(),
                    source: e,
                }),
                None,
            ),
        },
        InputSource::Zip { .. } | InputSource::Nested { .. } => match input.read_all() {
            Ok(bytes) => read(Box::new(std::io::Cursor::new(bytes))),
            Err(e) => (Err(EventLogError::Input(e)), None),
        },
    };
    match result {
        Ok(report) => {
            let reading = Reading {
                status: Some(report.status()),
                problems: report.problems.clone(),
                sha256,
                evtx: Some(report.integrity.clone()),
            };
            (report, reading)
        }
        Err(e) => {
            let code = match e {
                EventLogError::NotEvtx { .. } => ProblemCode::EvtxNotReadable,
                _ => ProblemCode::EvtxIoError,
            };
            let problem = Problem::error(code, e.to_string());
            let reading = Reading {
                sha256,
                ..Reading::new(InputStatus::Rejected, vec![problem.clone()])
            };
            let report = EvtxReport {
                problems: vec![problem],
                ..EvtxReport::default()
            };
            (report, reading)
        }
    }
}

/// A seekable byte source (a file, or a zip entry read into memory).
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Read one EVTX file at `path` (a convenience for tools and tests).
pub fn read_path(
    path: &std::path::Path,
    filter: &EventFilter,
) -> Result<EvtxReport, EventLogError> {
    let f = std::fs::File::open(path).map_err(|e| EventLogError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    read_evtx(f, &path.display().to_string(), filter)
}

/// Read an EVTX stream. `label` is used as [`Event::file`] and in messages.
pub fn read_evtx<R: Read + Seek>(
    reader: R,
    label: &str,
    filter: &EventFilter,
) -> Result<EvtxReport, EventLogError> {
    reader::Reader::new(reader, label, filter)?.run()
}
