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

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
