//! Typed library errors. Each variant names the file (and where it helps, the entry or offset).
//! Rendering (miette, colours) happens only at the CLI edge.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no such file or folder")]
    NotFound { path: PathBuf },
    #[error("{path}: {kind}, not a regular file or folder: not opened")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path}: refused archive: {reason}")]
    ArchiveRefused { path: PathBuf, reason: String },
    #[error("{path}: entry {entry:?}: {reason}")]
    ArchiveEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("{path}: input is larger than the limit of {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
}

/// What kind of failure stopped a capture: the CLI picks its hint by this, never by the
/// wording; JSON carries it as `error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The path does not exist.
    NotFound,
    /// A device, socket or other special file.
    NotRegular,
    /// The file is not a readable zip archive.
    NotZip,
    /// An archive (or one of its entries) was refused: unsafe names, or over the limits.
    ArchiveRefused,
    /// A file is larger than `--max-file-bytes`.
    TooLarge,
    /// The operating system refused to read it.
    PermissionDenied,
    /// Any other read error.
    Io,
    /// A command that reads one capture was given a folder holding several.
    SeveralCaptures,
    /// The folder holds no registry hive, registry export or event log.
    NoEvidence,
    /// A parser panicked: a bug in rdsdiag.
    Internal,
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> FailureKind {
        match self {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                FailureKind::PermissionDenied
            }
            Error::Io { .. } => FailureKind::Io,
            Error::NotFound { .. } => FailureKind::NotFound,
            Error::NotRegular { .. } => FailureKind::NotRegular,
            Error::Zip { .. } => FailureKind::NotZip,
            Error::ArchiveRefused { .. } | Error::ArchiveEntry { .. } => {
                FailureKind::ArchiveRefused
            }
            Error::TooLarge { .. } => FailureKind::TooLarge,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
