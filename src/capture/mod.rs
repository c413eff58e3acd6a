//! Acquire: find the evidence files of a capture (a folder, a zip read in place, or a loose file),
//! recognise each file by content, recognise the bundle layout, and inventory every file with size,
//! SHA-256 and a status. Nothing is written beside the evidence; everything is opened read-only.

mod discover;
pub(crate) mod hive_guard;
pub mod layout;
pub mod roots;
pub mod sniff;

use std::path::PathBuf;
use std::sync::Arc;

pub use discover::{
    lower_hex, open, sha256_hex, sha256_of, split_archives, Capture, CaptureOptions,
    RATIO_MIN_BYTES,
};
pub use layout::{Layout, LayoutInfo};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::evidence::{HiveKind, InputKind, InputStatus, Problem, Reading};

/// Where an input's bytes live.
#[derive(Debug, Clone)]
pub enum InputSource {
    /// A file on disk.
    File(PathBuf),
    /// An entry of a zip archive, read in place.
    Zip { archive: Arc<PathBuf>, index: usize },
    /// An entry of a zip archive that is itself an entry of an archive: the archive's bytes come
    /// from `outer` (read into memory, bounded by its inventoried size) and the entry is read
    /// from them. Nothing is extracted to disk.
    Nested { outer: Arc<Input>, index: usize },
}

/// One file of a capture, as inventoried.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// Path relative to the capture root, with `/` separators, as it appears in the evidence.
    pub path: String,
    pub kind: InputKind,
    /// For hives and hive logs: which hive, recognised from content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hive: Option<HiveKind>,
    /// For hives: the content that decided the role (`SYSTEM: root holds Select and
    /// ControlSetNNN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hive_signal: Option<String>,
    pub bytes: u64,
    pub sha256: String,
    pub status: InputStatus,
    pub problems: Vec<Problem>,
    /// For EVTX inputs: the integrity account (chunks, records, damage) from the event-log reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evtx: Option<crate::evidence::Integrity>,
    #[serde(skip)]
    pub source: InputSource,
}

impl Input {
    /// Read the whole input into memory. The allocation is bounded by the size recorded in the
    /// inventory (a zip entry that inflates beyond its declared size is an error).
    pub fn read_all(&self) -> Result<Vec<u8>> {
        match &self.source {
            InputSource::File(p) => std::fs::read(p).map_err(|e| Error::io(p, e)),
            InputSource::Zip { archive, index } => {
                let file = std::fs::File::open(archive.as_ref())
                    .map_err(|e| Error::io(archive.as_ref(), e))?;
                self.read_entry(file, archive.as_ref(), *index)
            }
            InputSource::Nested { outer, index } => {
                let bytes = outer.read_all()?;
                self.read_entry(std::io::Cursor::new(bytes), &outer.display_path(), *index)
            }
        }
    }

    /// Read entry `index` of the zip archive in `reader` (named `archive` in errors), bounded
    /// by this input's inventoried size.
    fn read_entry<R: std::io::Read + std::io::Seek>(
        &self,
        reader: R,
        archive: &std::path::Path,
        index: usize,
    ) -> Result<Vec<u8>> {
        use std::io::Read;
        let zip_err = |source| Error::Zip {
            path: archive.to_path_buf(),
            source,
        };
        let mut zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
        let entry = zip.by_index(index).map_err(zip_err)?;
        let mut buf = Vec::with_capacity(self.bytes.min(1 << 30) as usize);
        entry
            .take(self.bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(self.display_path(), e))?;
        if buf.len() as u64 > self.bytes {
            return Err(Error::ArchiveEntry {
                path: archive.to_path_buf(),
                entry: self.path.clone(),
                reason: "inflates beyond its declared size".into(),
            });
        }
        Ok(buf)
    }

    /// Take in what a reader found: its status (when it sets one), its problems, its hash and
    /// its integrity account.
    pub fn apply(&mut self, reading: Reading) {
        if let Some(status) = reading.status {
            self.status = status;
        }
        self.problems.extend(reading.problems);
        if let Some(sha) = reading.sha256 {
            self.sha256 = sha;
        }
        if reading.evtx.is_some() {
            self.evtx = reading.evtx;
        }
    }

    /// Open the input for streaming: the file, or the zip entry read into memory (bounded by the
    /// inventoried size).
    pub fn open_stream(&self) -> Result<Box<dyn std::io::Read + Send>> {
        match &self.source {
            InputSource::File(p) => std::fs::File::open(p)
                .map(|f| Box::new(f) as Box<dyn std::io::Read + Send>)
                .map_err(|e| Error::io(p, e)),
            InputSource::Zip { .. } | InputSource::Nested { .. } => self
                .read_all()
                .map(|b| Box::new(std::io::Cursor::new(b)) as Box<dyn std::io::Read + Send>),
        }
    }

    /// A path for messages: the file on disk, or `archive.zip!entry`.
    pub fn display_path(&self) -> PathBuf {
        match &self.source {
            InputSource::File(p) => p.clone(),
            InputSource::Zip { archive, .. } => {
                let entry = self.path.rsplit("!/").next().unwrap_or(&self.path);
                PathBuf::from(format!("{}!{entry}", archive.display()))
            }
            InputSource::Nested { outer, .. } => {
                let entry = self.path.rsplit("!/").next().unwrap_or(&self.path);
                PathBuf::from(format!("{}!{entry}", outer.display_path().display()))
            }
        }
    }
}
