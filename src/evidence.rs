//! Shared vocabulary for evidence: what kind of file an input is, which hive it holds, how far it
//! could be read, and the non-fatal problems met while reading it.

use std::collections::BTreeMap;

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
    /// gpresult output: the XML (`/x`), text (`/z`, `/v`) or HTML (`/h`) report (read with the
    /// registry evidence; alone it is not evidence of a host).
    Gpresult,
    /// A `.reg` export (`Windows Registry Editor Version 5.00` or `REGEDIT4`).
    RegExport,
    /// Text output of `reg query <key> /s`.
    RegQuery,
    /// A Group Policy `Registry.pol` (PReg: `PReg` + version 1).
    PolicyFile,
    /// A GPO's `GPT.INI` (by name, with a `[General]` section).
    GptIni,
    /// A zip archive inside a capture (not opened: pass it as its own path).
    Archive,
    /// Anything else (collector logs, renderings, screenshots…).
    Other,
}

impl InputKind {
    /// Evidence rdsdiag reads: registry evidence and event logs. Group Policy files are read
    /// with the registry (see [`InputKind::is_group_policy`]) but alone are not evidence of a
    /// host.
    pub fn is_evidence(self) -> bool {
        self.is_registry() || self == InputKind::Evtx
    }

    /// Group Policy files read with the registry evidence: `Registry.pol` and `GPT.INI`.
    pub fn is_group_policy(self) -> bool {
        matches!(self, InputKind::PolicyFile | InputKind::GptIni)
    }

    /// Read whole by its reader, which hashes it as it reads (event logs, registry text): the
    /// inventory only sniffs its head, and the pipeline hashes any that no reader read.
    pub fn hashed_by_reader(self) -> bool {
        matches!(
            self,
            InputKind::Evtx
                | InputKind::RegExport
                | InputKind::RegQuery
                | InputKind::PolicyFile
                | InputKind::GptIni
        )
    }

    /// Registry evidence: hives, their transaction logs and registry text exports.
    pub fn is_registry(self) -> bool {
        matches!(
            self,
            InputKind::Hive | InputKind::HiveLog | InputKind::RegExport | InputKind::RegQuery
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            InputKind::Hive => "hive",
            InputKind::HiveLog => "hive_log",
            InputKind::Evtx => "evtx",
            InputKind::Gpresult => "gpresult",
            InputKind::RegExport => "reg_export",
            InputKind::RegQuery => "reg_query",
            InputKind::PolicyFile => "policy_file",
            InputKind::GptIni => "gpt_ini",
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

/// The stable, machine-readable identifier of a [`Problem`] (kebab-case in JSON and text). The
/// list is closed: a new kind of problem gets a new variant here, so codes are never misspelt and
/// can be matched exhaustively.
macro_rules! problem_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemCode {
            $($(#[$doc])* $variant,)*
        }

        impl ProblemCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The stable string used in JSON and text (`evtx-time-limit`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $code,)*
                }
            }
        }
    };
}

problem_codes! {
    ClockChanged = "clock-changed",
    DuplicateRecords = "duplicate-records",
    EmptyFile = "empty-file",
    EmptyLog = "empty-log",
    EvtxChunkBadChecksum = "evtx-chunk-bad-checksum",
    EvtxChunkBadMagic = "evtx-chunk-bad-magic",
    EvtxChunkUnparsable = "evtx-chunk-unparsable",
    EvtxDirty = "evtx-dirty",
    EvtxFull = "evtx-full",
    EvtxHeaderBadChecksum = "evtx-header-bad-checksum",
    EvtxIoError = "evtx-io-error",
    EvtxNotReadable = "evtx-not-readable",
    EvtxRecordsMissing = "evtx-records-missing",
    EvtxRecordsUnreadable = "evtx-records-unreadable",
    EvtxSkippedIrrelevant = "evtx-skipped-irrelevant",
    EvtxStaleChunkCount = "evtx-stale-chunk-count",
    EvtxTimeLimit = "evtx-time-limit",
    EvtxTruncatedTail = "evtx-truncated-tail",
    EvtxZeroPadding = "evtx-zero-padding",
    ForeignComputer = "foreign-computer",
    GpresultDamaged = "gpresult-damaged",
    GpresultInvalid = "gpresult-invalid",
    HiveBadBaseBlock = "hive-bad-base-block",
    HiveBaseBlock = "hive-base-block",
    HiveBaseBlockChecksum = "hive-base-block-checksum",
    HiveBaseBlockRecovered = "hive-base-block-recovered",
    HiveCellsDamaged = "hive-cells-damaged",
    HiveDirtyLogsNotApplicable = "hive-dirty-logs-not-applicable",
    HiveDirtyNoLogs = "hive-dirty-no-logs",
    HiveLogDamaged = "hive-log-damaged",
    HiveLogNotNeeded = "hive-log-not-needed",
    HiveLogNotUsed = "hive-log-not-used",
    HiveLogOrphan = "hive-log-orphan",
    HiveLogReplayed = "hive-log-replayed",
    HiveLogUnreadable = "hive-log-unreadable",
    HiveNoRoot = "hive-no-root",
    HiveReaderFailed = "hive-reader-failed",
    HiveReplayUnreadable = "hive-replay-unreadable",
    HiveRole = "hive-role",
    HiveSuperseded = "hive-superseded",
    HiveTruncated = "hive-truncated",
    HiveUnreadable = "hive-unreadable",
    HostUnknown = "host-unknown",
    NestedArchive = "nested-archive",
    NoSessionId = "no-session-id",
    NotEvidence = "not-evidence",
    NotRead = "not-read",
    PolicyFileInvalid = "policy-file-invalid",
    PolicyFileUnreadable = "policy-file-unreadable",
    GptIniInvalid = "gpt-ini-invalid",
    RecordsOutOfTimeOrder = "records-out-of-time-order",
    RegCcsAssumed = "reg-ccs-assumed",
    RegTextEmpty = "reg-text-empty",
    RegTextInvalid = "reg-text-invalid",
    RegTextKeySkipped = "reg-text-key-skipped",
    RegTextKeyTooDeep = "reg-text-key-too-deep",
    RegTextLine = "reg-text-line",
    RegTextUnreadable = "reg-text-unreadable",
    TooLarge = "too-large",
    Unreadable = "unreadable",
    ZipSizeMismatch = "zip-size-mismatch",
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Codes order by their string, so sorted problems read the same as before the codes were typed.
impl Ord for ProblemCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ProblemCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<&str> for ProblemCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A non-fatal problem met while reading an input. Readers record these on the result instead of
/// printing them. `code` is a stable machine-readable identifier (kebab-case).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub severity: ProblemSeverity,
    pub code: ProblemCode,
    pub message: String,
    /// Byte offset in the file, when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Problem {
    pub fn new(severity: ProblemSeverity, code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            severity,
            code,
            message: message.into(),
            offset: None,
        }
    }

    pub fn info(code: ProblemCode, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Info, code, message)
    }

    pub fn warning(code: ProblemCode, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Warning, code, message)
    }

    pub fn error(code: ProblemCode, message: impl Into<String>) -> Self {
        Self::new(ProblemSeverity::Error, code, message)
    }

    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

/// What a reader found about one input: the status it ends in, the problems met, and what it
/// learned on the way. Readers return readings; only the pipeline applies them to the inventory
/// (`capture::Input::apply`), so no reader mutates the inventory and no module below the pipeline
/// needs to know about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The status the input ends in (`None`: leave it as the inventory has it).
    pub status: Option<InputStatus>,
    pub problems: Vec<Problem>,
    /// The SHA-256 of the input, when the reader hashed the bytes as it read them (each file is
    /// read once).
    pub sha256: Option<String>,
    /// For EVTX inputs: the integrity account.
    pub evtx: Option<Integrity>,
}

impl Reading {
    /// A reading that sets `status` with `problems`.
    pub fn new(status: InputStatus, problems: Vec<Problem>) -> Reading {
        Reading {
            status: Some(status),
            problems,
            ..Reading::default()
        }
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

/// What was wrong with a chunk (kebab-case in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChunkProblemKind {
    /// The chunk header's CRC32 does not match.
    BadHeaderChecksum,
    /// The records' CRC32 does not match.
    BadDataChecksum,
    /// The chunk does not start with `ElfChnk`.
    BadMagic,
    /// The chunk's header or string table could not be parsed.
    Unparsable,
    /// The chunk is cut off by the end of the file.
    CutOff,
}

impl ChunkProblemKind {
    /// The stable string used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkProblemKind::BadHeaderChecksum => "bad-header-checksum",
            ChunkProblemKind::BadDataChecksum => "bad-data-checksum",
            ChunkProblemKind::BadMagic => "bad-magic",
            ChunkProblemKind::Unparsable => "unparsable",
            ChunkProblemKind::CutOff => "cut-off",
        }
    }
}

impl PartialEq<&str> for ChunkProblemKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One chunk that could not be fully trusted or read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkProblem {
    pub chunk: u64,
    pub offset: u64,
    pub kind: ChunkProblemKind,
    pub detail: String,
}

/// What could and could not be read from one EVTX file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Integrity {
    pub file_bytes: u64,
    /// Format version from the file header (`3.1`, `3.2`).
    pub version: String,
    pub header_checksum_ok: bool,
    /// Header flag DIRTY: the log was not closed cleanly; header fields may be stale.
    pub dirty: bool,
    /// Header flag FULL: the log reached its maximum size.
    pub full: bool,
    /// The chunk count the file header declares.
    pub declared_chunk_count: u64,
    /// Complete 64 KiB chunk slots the file has room for.
    pub chunk_slots: u64,
    /// Chunks holding records (valid magic, not all zero).
    pub chunks_found: u64,
    /// Chunks found whose header and data CRC32s match.
    pub chunks_valid: u64,
    pub chunks_bad_checksum: u64,
    pub chunks_bad_magic: u64,
    pub chunks_empty: u64,
    /// Chunks whose string table or header could not be parsed.
    pub chunks_unparsable: u64,
    /// Chunks with records at or past the declared chunk count (a stale header count).
    pub chunks_beyond_declared_count: u64,
    /// Records the chunk headers declare (sum of their record ID ranges).
    pub records_declared: u64,
    /// Records read (relevant or not).
    pub records_read: u64,
    /// Records that could not be read (errors), plus those of unparsable chunks.
    pub records_skipped: u64,
    /// Records read from chunks with a bad checksum or from a cut-off chunk.
    pub records_unverified: u64,
    /// Records kept by the filter.
    pub records_kept: u64,
    /// Records rendered to decide or to keep them (the early filter avoids rendering the rest).
    pub records_rendered: u64,
    /// Bytes after the last complete chunk holding data (a cut-off copy).
    pub truncated_tail_bytes: u64,
    /// Bytes after the last complete chunk that are all zero (slack, e.g. of a copied log; not
    /// a cut-off chunk, nothing lost). Counted here instead of in `truncated_tail_bytes`.
    pub zero_padding_bytes: u64,
    /// Records read from the cut-off partial chunk at the end (also counted as unverified).
    pub records_from_cut_off_chunk: u64,
    /// Records per channel (`<none>` for records without one). For a skipped file: the records
    /// sampled to decide.
    pub channels: BTreeMap<String, u64>,
    /// The file was skipped after sampling: its channel holds no catalogued event.
    pub skipped_irrelevant: bool,
    /// Chunks left unread because the capture's time limit was reached (0: none).
    pub chunks_not_read_time_limit: u64,
    pub chunk_problems: Vec<ChunkProblem>,
}
