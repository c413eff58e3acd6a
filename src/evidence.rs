//! Shared vocabulary for evidence: what kind of file an input is, which hive it holds, how far it
//! could be read, and the non-fatal problems met while reading it.

use serde::Serialize;

/// Which registry hive a hive file (or a registry text export) holds, decided from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HiveKind {
    System,
    Software,
    Security,
    Sam,
    #[serde(rename = "NTUSER")]
    NtUser,
    #[serde(rename = "USRCLASS")]
    UsrClass,
    /// A hive whose role could not be recognised from its content.
    Other,
}

impl HiveKind {
    /// The name used in `HKEY_LOCAL_MACHINE\<NAME>` and in output.
    pub fn name(self) -> &'static str {
        match self {
            HiveKind::System => "SYSTEM",
            HiveKind::Software => "SOFTWARE",
            HiveKind::Security => "SECURITY",
            HiveKind::Sam => "SAM",
            HiveKind::NtUser => "NTUSER",
            HiveKind::UsrClass => "USRCLASS",
            HiveKind::Other => "OTHER",
        }
    }
}

impl std::fmt::Display for HiveKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an input file is, recognised by content (magic bytes, headers), never by name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A registry hive file (`regf` base block, primary file type).
    Hive,
    /// A registry transaction log (`.LOG`, `.LOG1`, `.LOG2`: `regf` base block, log file type).
    HiveLog,
    /// An EVTX event log (`ElfFile\0`).
    Evtx,
    /// A `.reg` export (`Windows Registry Editor Version 5.00` or `REGEDIT4`).
    RegExport,
    /// Text output of `reg query <key> /s`.
    RegQuery,
    /// A zip archive inside a capture (not opened: pass it as its own path).
    Archive,
    /// Anything else (collector logs, renderings, screenshots…).
    Other,
}

impl InputKind {
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Hive => "hive",
            InputKind::HiveLog => "hive_log",
            InputKind::Evtx => "evtx",
            InputKind::RegExport => "reg_export",
            InputKind::RegQuery => "reg_query",
            InputKind::Archive => "archive",
            InputKind::Other => "other",
        }
    }
}

/// How far an input could be used. Every input of a capture ends in one of these states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Recognised but not yet read by a reader (only seen before the readers ran).
    Pending,
    /// Read completely.
    Parsed,
    /// Read, but some of it could not be used (see `problems`).
    Partial,
    /// Not usable at all (see `problems`).
    Rejected,
    /// Not evidence that rdsdiag reads (see `problems` for why).
    Ignored,
}

impl InputStatus {
    pub fn name(self) -> &'static str {
        match self {
            InputStatus::Pending => "pending",
            InputStatus::Parsed => "parsed",
            InputStatus::Partial => "partial",
            InputStatus::Rejected => "rejected",
            InputStatus::Ignored => "ignored",
        }
    }
}

/// How bad a problem is for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemSeverity {
    /// Worth knowing; nothing was lost (e.g. "replayed 12 log entries").
    Info,
    /// Something was lost or may be stale.
    Warning,
    /// The input (or part of it) could not be used.
    Error,
}

/// A non-fatal problem met while reading an input. Readers record these on the result instead of
/// printing them. `code` is a stable machine-readable identifier (kebab-case).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub severity: ProblemSeverity,
    pub code: &'static str,
    pub message: String,
    /// Byte offset in the file, when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Problem {
    pub fn new(severity: ProblemSeverity, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            severity,
            code,
            message: message.into(),
            offset: None,
        }
    }

    pub fn info(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Info, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Warning, code, message)
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Error, code, message)
    }

    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

/// When a capture's readers must stop: the guard that keeps one slow or hostile file from
/// stalling a batch. Cooperative: readers check it between bounded steps (an EVTX chunk of
/// 64 KiB), stop, and record what they did not read as a problem on the input; the rest of the
/// analysis goes on with what was read. No threads, no signals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline {
    at: Option<std::time::Instant>,
    limit: Option<std::time::Duration>,
}

impl Deadline {
    /// Never expires.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// Expires `limit` from now.
    pub fn after(limit: std::time::Duration) -> Deadline {
        Deadline {
            at: std::time::Instant::now().checked_add(limit),
            limit: Some(limit),
        }
    }

    /// `after(limit)`, or `none()` without a limit.
    pub fn from_limit(limit: Option<std::time::Duration>) -> Deadline {
        limit.map_or_else(Deadline::none, Deadline::after)
    }

    pub fn expired(&self) -> bool {
        self.at.is_some_and(|at| std::time::Instant::now() >= at)
    }

    /// The limit, in words for messages (`90 s`).
    pub fn describe(&self) -> String {
        match self.limit {
            Some(l) => format!("{} s", l.as_secs_f64()),
            None => "none".into(),
        }
    }
}
