//! Loading the registry evidence of a capture into a [`RegistryView`], in named stages:
//! read each file once (hashing its bytes) → pair transaction logs with their hives → replay dirty
//! hives in memory → choose the hive file that answers for each kind → load the text exports →
//! find the current control set. The inputs are only read: what the loader finds about each one
//! is returned as a [`Reading`].

use super::baseblock::{self, off, BaseBlock};
use super::hive::HiveSource;
use super::integrity;
use super::tree::{self, TextTree};
use super::{
    paths, replay, text, HiveState, Lookup, RegistryLoad, RegistryView, SourceForm, Unreadable,
};
use crate::capture::sha256_hex;
use crate::capture::Input;
use crate::evidence::{
    HiveKind, InputKind, InputStatus, Problem, ProblemCode, ProblemSeverity, Reading,
};

/// At most this many line problems are recorded per text file (then one summary problem).
const MAX_LINE_PROBLEMS: usize = 50;

/// One input of the capture being read, and the reading being built for it.
struct Read<'a> {
    index: usize,
    input: &'a Input,
    reading: Reading,
}

impl Read<'_> {
    fn done(self) -> (usize, Reading) {
        (self.index, self.reading)
    }
}

/// A hive file: its bytes, the transaction logs paired with it, and its reading.
struct HiveFile<'a> {
    read: Read<'a>,
    kind: HiveKind,
    /// `None` when the file could not be read (the reading says why).
    bytes: Option<Vec<u8>>,
    base: Option<BaseBlock>,
    logs: Vec<LogFile<'a>>,
}

/// A transaction log that could be read: its bytes and its reading.
struct LogFile<'a> {
    read: Read<'a>,
    /// 0 for `.LOG`, 1 for `.LOG1`, 2 for `.LOG2`; logs of one hive are replayed in this order.
    order: u8,
    bytes: Vec<u8>,
}

/// A text export that could be read.
struct TextFile<'a> {
    read: Read<'a>,
    form: SourceForm,
    bytes: Vec<u8>,
}

/// A hive file whose root key can be read, with the state its bytes are in.
struct OpenHive<'a> {
    read: Read<'a>,
    source: HiveSource,
    state: HiveState,
}

/// What the first stage found: every registry input, read once.
#[derive(Default)]
struct Files<'a> {
    hives: Vec<HiveFile<'a>>,
    logs: Vec<LogFile<'a>>,
    texts: Vec<TextFile<'a>>,
    /// Inputs that are finished already (unreadable logs and texts, Group Policy files).
    done: Vec<(usize, Reading)>,
    /// Group Policy files, read and parsed.
    group_policy: Vec<super::pol::GpFile>,
}

/// Read every hive, hive log and registry text input the inventory left `pending`. Returns the
/// view and one reading per input read.
pub(super) fn load(inputs: &[Input]) -> RegistryLoad {
    let mut files = read_files(inputs);
    let mut readings = std::mem::take(&mut files.done);
    let orphans = pair_logs(&mut files.hives, files.logs);
    let mut opened = Vec::new();
    let mut rejected = Vec::new();
    for hive in files.hives {
        let (index, kind, file) = (hive.read.index, hive.kind, hive.read.input.path.clone());
        let (open, done) = open_isolated(hive);
        if open.is_none() {
            rejected.extend(rejected_hive(index, kind, file, &done));
        }
        opened.extend(open);
        readings.extend(done);
    }
    readings.extend(orphans.into_iter().map(orphan_log));
    let (hives, hive_states, done) = rank_hives(opened);
    readings.extend(done);
    let (texts, mut text_reads) = load_texts(files.texts);
    let mut view = RegistryView {
        hives,
        hive_states,
        rejected,
        texts,
        ccs: Lookup::NotProvided {
            hive: HiveKind::System,
        },
        group_policy: files.group_policy,
    };
    view.ccs = view.find_ccs();
    assume_control_set(&mut view, &mut text_reads);
    readings.extend(text_reads.into_iter().map(Read::done));
    readings.sort_by_key(|(i, _)| *i);
    RegistryLoad { view, readings }
}

/// A hive file of a known kind that cannot be used: lookups in its hive that no other source
/// answers are `Unreadable` (naming the file and why), not `NotProvided`.
fn rejected_hive(
    index: usize,
    kind: HiveKind,
    file: String,
    done: &[(usize, Reading)],
) -> Option<(HiveKind, Unreadable)> {
    if kind == HiveKind::Other {
        return None;
    }
    let (_, reading) = done.iter().find(|(i, _)| *i == index)?;
    let problem = reading
        .problems
        .iter()
        .rev()
        .find(|p| p.severity == ProblemSeverity::Error)?;
    Some((
        kind,
        Unreadable {
            file,
            offset: problem.offset,
            reason: format!("hive file rejected: {}", problem.message),
        },
    ))
}

/// Read an input whole and hash what was read. `None` when it cannot be read: the reading is then
/// `Rejected` with `code`.
fn read_hashed(index: usize, input: &Input, code: ProblemCode) -> (Read<'_>, Option<Vec<u8>>) {
    let (reading, bytes) = match input.read_all() {
        Ok(bytes) => (
            Reading {
                sha256: Some(sha256_hex(&bytes)),
                ..Reading::default()
            },
            Some(bytes),
        ),
        Err(e) => (
            Reading::new(
                InputStatus::Rejected,
                vec![Problem::error(code, e.to_string())],
            ),
            None,
        ),
    };
    let read = Read {
        index,
        input,
        reading,
    };
    (read, bytes)
}

/// Stage 1: read each registry input once. Inputs the inventory has already decided about (e.g. a
/// hive over the size limit, `rejected`) are not read.
fn read_files(inputs: &[Input]) -> Files<'_> {
    let mut files = Files::default();
    for (index, input) in inputs.iter().enumerate() {
        if input.status != InputStatus::Pending {
            continue;
        }
        match input.kind {
            InputKind::Hive => files.add_hive(index, input),
            InputKind::HiveLog => files.add_log(index, input),
            InputKind::RegExport => files.add_text(index, input, SourceForm::RegExport),
            InputKind::RegQuery => files.add_text(index, input, SourceForm::RegQuery),
            InputKind::PolicyFile | InputKind::GptIni => files.add_group_policy(index, input),
            _ => {}
        }
    }
    files
}

impl<'a> Files<'a> {
    /// A hive file is kept even when it cannot be read: logs named after it are still its own.
    fn add_hive(&mut self, index: usize, input: &'a Input) {
        let (read, bytes) = read_hashed(index, input, ProblemCode::HiveUnreadable);
        self.hives.push(HiveFile {
            read,
            kind: input.hive.unwrap_or(HiveKind::Other),
            base: bytes.as_deref().and_then(BaseBlock::parse),
            bytes,
            logs: Vec::new(),
        });
    }

    fn add_log(&mut self, index: usize, input: &'a Input) {
        match read_hashed(index, input, ProblemCode::HiveLogUnreadable) {
            (read, Some(bytes)) => {
                let order = log_stem(dir_and_name(&input.path).1).map_or(0, |(_, n)| n);
                self.logs.push(LogFile { read, order, bytes });
            }
            (read, None) => self.done.push(read.done()),
        }
    }

    fn add_text(&mut self, index: usize, input: &'a Input, form: SourceForm) {
        match read_hashed(index, input, ProblemCode::RegTextUnreadable) {
            (read, Some(bytes)) => self.texts.push(TextFile { read, form, bytes }),
            (read, None) => self.done.push(read.done()),
        }
    }
}

/// Group Policy files larger than this are not read (a real Registry.pol is kilobytes).
const MAX_GP_FILE_BYTES: u64 = 64 << 20;

impl Files<'_> {
    /// A `Registry.pol` or `GPT.INI`: read, hashed and parsed here (they are small); the reading
    /// says whether it is whole (`parsed`), damaged after some entries (`partial`, with the
    /// offset) or unusable (`rejected`).
    fn add_group_policy(&mut self, index: usize, input: &Input) {
        use super::pol::{read_gp_file, GpContent};
        let gpt = input.kind == InputKind::GptIni;
        if input.bytes > MAX_GP_FILE_BYTES {
            self.done.push((
                index,
                Reading::new(
                    InputStatus::Rejected,
                    vec![Problem::error(
                        ProblemCode::TooLarge,
                        format!(
                            "Group Policy file larger than {MAX_GP_FILE_BYTES} bytes: not read"
                        ),
                    )],
                ),
            ));
            return;
        }
        let (mut read, bytes) = read_hashed(index, input, ProblemCode::PolicyFileUnreadable);
        let Some(bytes) = bytes else {
            // Kept as a file that could not be read, so its GPO counts as unreadable, not as
            // not provided.
            let reason = read
                .reading
                .problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_default();
            let mut file = read_gp_file(&input.path, &[], gpt);
            file.content = if gpt {
                GpContent::Unusable(reason)
            } else {
                GpContent::Policy(super::pol::PolicyFile {
                    entries: Vec::new(),
                    error: Some(super::pol::PolError {
                        file: input.path.clone(),
                        offset: 0,
                        reason: format!("cannot be read: {reason}"),
                    }),
                })
            };
            self.group_policy.push(file);
            self.done.push(read.done());
            return;
        };
        let file = read_gp_file(&input.path, &bytes, gpt);
        let mut problems = Vec::new();
        let status = match &file.content {
            GpContent::Policy(p) => match &p.error {
                None => InputStatus::Parsed,
                Some(e) => {
                    let mut problem = Problem::new(
                        if p.entries.is_empty() {
                            ProblemSeverity::Error
                        } else {
                            ProblemSeverity::Warning
                        },
                        ProblemCode::PolicyFileInvalid,
                        format!(
                            "{} ({} instruction(s) read before it)",
                            e.reason,
                            p.entries.len()
                        ),
                    );
                    problem.offset = Some(e.offset);
                    problems.push(problem);
                    if p.entries.is_empty() {
                        InputStatus::Rejected
                    } else {
                        InputStatus::Partial
                    }
                }
            },
            GpContent::GptIni(_) => InputStatus::Parsed,
            GpContent::Unusable(why) => {
                problems.push(Problem::error(ProblemCode::GptIniInvalid, why.clone()));
                InputStatus::Rejected
            }
        };
        if file.artifact.is_none() && status != InputStatus::Rejected {
            problems.push(Problem::info(
                ProblemCode::NotRead,
                "its path names no GPO (not …/GroupPolicy/Machine|User/ nor a {GPO-GUID} folder): read, but not attributed to a GPO",
            ));
        }
        read.reading.status = Some(status);
        read.reading.problems = problems;
        self.group_policy.push(file);
        self.done.push(read.done());
    }
}

fn dir_and_name(path: &str) -> (&str, &str) {
    match path.rfind(['/', '\\']) {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `SYSTEM.LOG1` → (`SYSTEM`, 1); `.LOG` → 0. Case-insensitive.
fn log_stem(name: &str) -> Option<(&str, u8)> {
    let dot = name.rfind('.')?;
    let ext = name[dot + 1..].to_ascii_uppercase();
    let n = match ext.as_str() {
        "LOG" => 0,
        "LOG1" => 1,
        "LOG2" => 2,
        _ => return None,
    };
    Some((&name[..dot], n))
}

/// The hive a log belongs to: by name in the same folder (`SYSTEM` ↔ `SYSTEM.LOG1`, any case),
/// else by the file name embedded in both base blocks (same folder, exactly one candidate).
fn owner_of(log: &LogFile<'_>, hives: &[HiveFile<'_>]) -> Option<usize> {
    let (dir, name) = dir_and_name(&log.read.input.path);
    let in_dir = |h: &HiveFile<'_>| dir_and_name(&h.read.input.path).0 == dir;
    if let Some((stem, _)) = log_stem(name) {
        let by_name = hives.iter().position(|h| {
            in_dir(h)
                && dir_and_name(&h.read.input.path)
                    .1
                    .eq_ignore_ascii_case(stem)
        });
        if by_name.is_some() {
            return by_name;
        }
    }
    let embedded = BaseBlock::parse(&log.bytes)
        .map(|b| b.file_name)
        .filter(|n| !n.is_empty())?;
    let mut candidates = hives.iter().enumerate().filter(|(_, h)| {
        in_dir(h)
            && h.base
                .as_ref()
                .is_some_and(|b| b.file_name.eq_ignore_ascii_case(&embedded))
    });
    match (candidates.next(), candidates.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// Stage 2: hand each log to its hive, in replay order. Returns the logs no hive claims.
fn pair_logs<'a>(hives: &mut [HiveFile<'a>], logs: Vec<LogFile<'a>>) -> Vec<LogFile<'a>> {
    let mut orphans = Vec::new();
    for log in logs {
        match owner_of(&log, hives) {
            Some(h) => hives[h].logs.push(log),
            None => orphans.push(log),
        }
    }
    for h in hives.iter_mut() {
        h.logs
            .sort_by(|a, b| (a.order, &a.read.input.path).cmp(&(b.order, &b.read.input.path)));
    }
    orphans
}

fn orphan_log(mut log: LogFile<'_>) -> (usize, Reading) {
    log.read.reading.status = Some(InputStatus::Ignored);
    log.read.reading.problems.push(Problem::info(
        ProblemCode::HiveLogOrphan,
        "no hive file for this transaction log in the capture",
    ));
    log.read.done()
}

/// How a hive file came out of replay.
struct Replay {
    state: HiveState,
    /// A log that was applied is damaged: changes after its bad part are lost.
    lost_changes: bool,
    /// When logs were replayed: the primary file as it is, to fall back on when the replayed
    /// bytes cannot be read.
    original: Option<Vec<u8>>,
}

/// Stage 3: bring one hive file to the state it is best read in (replaying its logs when it is
/// dirty) and check that its root key can be read. Returns the hive when it can be used, and the
/// readings of the hive (when it cannot) and of its logs.
fn open_hive(mut hive: HiveFile<'_>) -> (Option<OpenHive<'_>>, Vec<(usize, Reading)>) {
    let (mut bytes, base) = match (hive.bytes.take(), hive.base.take()) {
        (Some(bytes), Some(base)) if base.file_type == baseblock::FILE_TYPE_PRIMARY => {
            (bytes, base)
        }
        (Some(_), Some(base)) => {
            let problem = Problem::error(ProblemCode::HiveBadBaseBlock, bad_base_block(&base))
                .at(off::FILE_TYPE as u64);
            return (None, unusable_hive(hive, Some(problem)));
        }
        (bytes, _) => {
            let problem = bytes
                .is_some()
                .then(|| Problem::error(ProblemCode::HiveBadBaseBlock, "no regf base block").at(0));
            return (None, unusable_hive(hive, problem));
        }
    };
    let mut damaged = false;
    if !base.checksum_ok {
        hive.read.reading.problems.push(
            Problem::warning(
                ProblemCode::HiveBaseBlockChecksum,
                format!(
                    "base block checksum is wrong: stored {:#010x}, the XOR-32 of the first 508 bytes is {:#010x}",
                    base.checksum_stored, base.checksum_computed
                ),
            )
            .at(off::CHECKSUM as u64),
        );
    }
    if let Some((present, promised)) = base.truncation(bytes.len()) {
        damaged = true;
        hive.read.reading.problems.push(
            Problem::warning(
                ProblemCode::HiveTruncated,
                format!(
                    "truncated: {present} of {promised} bytes of hive bins present (the base block promises {promised})"
                ),
            )
            .at(bytes.len() as u64),
        );
    }
    let replay = bring_up_to_date(&mut hive, &base, &mut bytes);
    let mut done: Vec<(usize, Reading)> = hive.logs.drain(..).map(|l| l.read.done()).collect();
    let problems = &mut hive.read.reading.problems;
    let Some(state) = check_readable(problems, &mut bytes, replay.state, replay.original, damaged)
    else {
        let root = baseblock::le32(&bytes, off::ROOT_CELL);
        reject(
            &mut hive.read,
            Problem::error(
                ProblemCode::HiveNoRoot,
                format!("the root key cannot be read: the base block's root cell offset {root:#x} does not lead to a key node"),
            )
            .at(off::ROOT_CELL as u64),
        );
        done.push(hive.read.done());
        return (None, done);
    };
    let cells = integrity::check(&bytes);
    damaged |= report_cells(problems, &cells);
    hive.read.reading.status = Some(
        if state == HiveState::Stale || replay.lost_changes || damaged {
            InputStatus::Partial
        } else {
            InputStatus::Parsed
        },
    );
    let source = HiveSource::new(
        hive.read.input.path.clone(),
        hive.kind,
        bytes,
        cells.verified,
    );
    let open = OpenHive {
        read: hive.read,
        source,
        state,
    };
    (Some(open), done)
}

/// [`open_hive`], with a panic inside it (a reader bug on damage no check foresaw; the checks
/// before nt-hive are meant to leave none) turned into a rejected hive with a `hive-reader-failed`
/// problem, its logs not used, so the rest of the capture is still read.
fn open_isolated(hive: HiveFile<'_>) -> (Option<OpenHive<'_>>, Vec<(usize, Reading)>) {
    let index = hive.read.index;
    let sha256 = hive.read.reading.sha256.clone();
    let logs: Vec<(usize, Option<String>)> = hive
        .logs
        .iter()
        .map(|l| (l.read.index, l.read.reading.sha256.clone()))
        .collect();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_hive(hive))).unwrap_or_else(
        |panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown");
            let mut done = vec![(
                index,
                Reading {
                    sha256,
                    ..Reading::new(
                        InputStatus::Rejected,
                        vec![Problem::error(
                            ProblemCode::HiveReaderFailed,
                            format!("the hive reader failed on damage it does not recognise ({msg}); the rest of the capture was read"),
                        )],
                    )
                },
            )];
            done.extend(logs.into_iter().map(|(i, sha256)| {
                (
                    i,
                    Reading {
                        sha256,
                        ..Reading::new(
                            InputStatus::Ignored,
                            vec![Problem::info(
                                ProblemCode::HiveLogNotUsed,
                                "not used: the reader failed on its hive file",
                            )],
                        )
                    },
                )
            }));
            (None, done)
        },
    )
}

/// Why a file that starts with `regf` is not a primary hive file.
fn bad_base_block(base: &BaseBlock) -> String {
    let checksum = if base.checksum_ok {
        "checksum correct".to_string()
    } else {
        format!(
            "checksum stored {:#010x}, computed {:#010x}",
            base.checksum_stored, base.checksum_computed
        )
    };
    let kind = if base.file_type_valid() {
        "a transaction log's, not a primary file's"
    } else {
        "not a registry file type (0 primary, 1, 2, 6 logs)"
    };
    format!(
        "bad base block: file type {} ({kind}); {checksum}",
        base.file_type
    )
}

/// The integrity walk over the bytes lookups will use: the first damaged cell (key path and
/// offset) and a count of the rest. Returns whether anything is damaged.
fn report_cells(problems: &mut Vec<Problem>, report: &integrity::Integrity) -> bool {
    let Some(first) = &report.first else {
        return false;
    };
    let key = if first.key.is_empty() {
        "(root)".to_string()
    } else {
        first.key.clone()
    };
    let at = match (first.file_offset(), first.holder_offset()) {
        (Some(o), _) => format!("cell {:#x} (file offset {o:#x})", first.cell),
        (None, Some(h)) => {
            format!("cell offset 0xFFFFFFFF, named by the cell at file offset {h:#x}")
        }
        (None, None) => "cell offset 0xFFFFFFFF".to_string(),
    };
    let more = match report.more {
        0 => String::new(),
        n => format!("; {n} more damaged cells"),
    };
    let mut p = Problem::warning(
        ProblemCode::HiveCellsDamaged,
        format!(
            "damaged hive structure below key {key}: {at}: {}{more}; lookups there are unreadable",
            first.what
        ),
    );
    if let Some(o) = first.file_offset().or(first.holder_offset()) {
        p = p.at(o);
    }
    problems.push(p);
    true
}

/// A hive file that could not be read (its reading says so already) or has a bad base block
/// (`problem`): rejected, and its logs cannot be used.
fn unusable_hive(mut hive: HiveFile<'_>, problem: Option<Problem>) -> Vec<(usize, Reading)> {
    if let Some(problem) = problem {
        reject(&mut hive.read, problem);
    }
    let name = dir_and_name(&hive.read.input.path).1;
    let mut done: Vec<(usize, Reading)> = hive
        .logs
        .into_iter()
        .map(|mut l| {
            l.read.reading.status = Some(InputStatus::Ignored);
            l.read.reading.problems.push(Problem::info(
                ProblemCode::HiveLogNotUsed,
                format!("not used: its hive file {name} cannot be read"),
            ));
            l.read.done()
        })
        .collect();
    done.push(hive.read.done());
    done
}

/// A clean hive needs none of its logs; a dirty one without logs is stale; else replay.
fn bring_up_to_date(hive: &mut HiveFile<'_>, base: &BaseBlock, bytes: &mut Vec<u8>) -> Replay {
    let not_replayed = |state| Replay {
        state,
        lost_changes: false,
        original: None,
    };
    if !base.is_dirty() {
        logs_not_needed(&mut hive.logs);
        not_replayed(HiveState::Clean)
    } else if hive.logs.is_empty() {
        hive.read.reading.problems.push(Problem::warning(
            ProblemCode::HiveDirtyNoLogs,
            format!(
                "dirty ({}), no transaction logs: values may be stale",
                dirty_reason(base)
            ),
        ));
        not_replayed(HiveState::Stale)
    } else {
        replay_logs(hive, base, bytes)
    }
}

/// Validate the (replayed) bytes strictly, saying so when that fails (they are read anyway; a
/// `truncated` file's hive-bins size is already reported), and
/// fall back on the primary file as it is when the replayed bytes have no readable root. Returns
/// the state the bytes are in, or `None` when the root key cannot be read at all.
fn check_readable(
    problems: &mut Vec<Problem>,
    bytes: &mut Vec<u8>,
    state: HiveState,
    original: Option<Vec<u8>>,
    truncated: bool,
) -> Option<HiveState> {
    match nt_hive::Hive::new(&bytes[..]) {
        Ok(_) | Err(nt_hive::NtHiveError::SequenceNumberMismatch { .. }) => {}
        // Said already, as `hive-truncated`.
        Err(nt_hive::NtHiveError::InvalidSizeField { offset, .. })
            if truncated && offset == off::HBINS_SIZE => {}
        Err(e) => problems.push(Problem::warning(
            ProblemCode::HiveBaseBlock,
            format!("base block: {e}"),
        )),
    }
    if root_readable(bytes) {
        return Some(state);
    }
    let original = original.filter(|o| root_readable(o))?;
    *bytes = original;
    problems.push(Problem::warning(
        ProblemCode::HiveReplayUnreadable,
        "the replayed hive cannot be read; reading the primary file as it is: values may be stale",
    ));
    Some(HiveState::Stale)
}

fn reject(read: &mut Read<'_>, problem: Problem) {
    read.reading.status = Some(InputStatus::Rejected);
    read.reading.problems.push(problem);
}

/// nt-hive can open the root key node (asked only when it would not assert on the root offset).
fn root_readable(bytes: &[u8]) -> bool {
    crate::capture::hive_guard::root_safe(bytes)
        && nt_hive::Hive::without_validation(bytes).is_ok_and(|h| h.root_key_node().is_ok())
}

fn dirty_reason(base: &BaseBlock) -> String {
    if base.primary_seq != base.secondary_seq {
        format!(
            "sequence numbers {} and {} differ",
            base.primary_seq, base.secondary_seq
        )
    } else {
        "base block checksum is wrong".to_string()
    }
}

fn logs_not_needed(logs: &mut [LogFile<'_>]) {
    for l in logs {
        l.read.reading.status = Some(InputStatus::Parsed);
        l.read.reading.problems.push(Problem::info(
            ProblemCode::HiveLogNotNeeded,
            "not needed: the hive is clean",
        ));
    }
}

/// Replay the logs of a dirty hive on `bytes` (a copy of the primary file) and record what each
/// log contributed on the hive's and the logs' readings.
fn replay_logs(hive: &mut HiveFile<'_>, base: &BaseBlock, bytes: &mut Vec<u8>) -> Replay {
    let original = bytes.clone();
    let report = {
        let log_inputs: Vec<replay::LogInput> = hive
            .logs
            .iter()
            .map(|l| replay::LogInput {
                name: &l.read.input.path,
                bytes: &l.bytes,
            })
            .collect();
        replay::replay(bytes, &log_inputs)
    };
    let problems = &mut hive.read.reading.problems;
    for u in &report.used {
        let log = &mut hive.logs[u.log].read;
        let msg = replayed_message(u, dir_and_name(&log.input.path).1);
        problems.push(Problem::info(ProblemCode::HiveLogReplayed, msg.clone()));
        log.reading
            .problems
            .push(Problem::info(ProblemCode::HiveLogReplayed, msg));
    }
    for n in &report.notes {
        let mut p = if n.damaged {
            Problem::warning(ProblemCode::HiveLogDamaged, n.message.clone())
        } else {
            Problem::info(ProblemCode::HiveLogNotUsed, n.message.clone())
        };
        if let Some(o) = n.offset {
            p = p.at(o);
        }
        hive.logs[n.log].read.reading.problems.push(p);
    }
    let mut lost_changes = false;
    for (i, l) in hive.logs.iter_mut().enumerate() {
        let used = report.used.iter().any(|u| u.log == i);
        let damaged = report.notes.iter().any(|n| n.log == i && n.damaged);
        // A damaged part of a log that was applied means later changes are lost; a log that is
        // unusable as a whole is only reported on that log.
        lost_changes |= used && damaged;
        l.read.reading.status = Some(match (used, damaged) {
            (true, true) => InputStatus::Partial,
            (false, true) => InputStatus::Rejected,
            (_, false) => InputStatus::Parsed,
        });
    }
    if report.base_block_recovered {
        let from = report
            .base_block_from
            .map(|i| dir_and_name(&hive.logs[i].read.input.path).1)
            .unwrap_or("a transaction log");
        problems.push(Problem::warning(
            ProblemCode::HiveBaseBlockRecovered,
            format!(
                "base block damaged: recovered from {from} (the newest log with a valid base block, as yarp and Windows do)"
            ),
        ));
    }
    if lost_changes {
        problems.push(Problem::warning(
            ProblemCode::HiveLogDamaged,
            "a transaction log is damaged: replay stopped before its bad part, later changes are lost: values may be stale",
        ));
    }
    let consistent = BaseBlock::parse(bytes).is_some_and(|b| !b.is_dirty());
    let state = if report.applied_anything() && consistent {
        HiveState::Replayed
    } else {
        problems.push(Problem::warning(
            ProblemCode::HiveDirtyLogsNotApplicable,
            format!(
                "dirty ({}); the transaction logs hold nothing to apply: values may be stale",
                dirty_reason(base)
            ),
        ));
        HiveState::Stale
    };
    Replay {
        state,
        lost_changes,
        original: Some(original),
    }
}

fn replayed_message(u: &replay::LogUse, log_name: &str) -> String {
    match (u.first_seq, u.last_seq) {
        (Some(a), Some(b)) => format!(
            "replayed {} entries from {log_name} (sequence {a}–{b}, {} pages)",
            u.entries, u.pages
        ),
        _ => format!(
            "replayed {} dirty pages from {log_name} (old-format log)",
            u.pages
        ),
    }
}

/// Stage 4: order the hive files by precedence (per kind: clean or replayed before stale, outside
/// `RegBack` before inside, then by path); the first of each kind answers, the others are noted
/// as superseded.
#[allow(clippy::type_complexity)]
fn rank_hives(
    mut opened: Vec<OpenHive<'_>>,
) -> (
    Vec<HiveSource>,
    Vec<(HiveState, bool)>,
    Vec<(usize, Reading)>,
) {
    opened.sort_by_cached_key(|h| {
        let file = &h.source.file;
        (
            h.source.kind,
            h.state == HiveState::Stale,
            file.to_ascii_lowercase().contains("regback"),
            file.clone(),
        )
    });
    let mut seen: Vec<HiveKind> = Vec::new();
    let mut sources = Vec::with_capacity(opened.len());
    let mut states = Vec::with_capacity(opened.len());
    let mut done = Vec::with_capacity(opened.len());
    for mut h in opened {
        let used = !seen.contains(&h.source.kind);
        if used {
            seen.push(h.source.kind);
        } else {
            h.read.reading.problems.push(Problem::info(
                ProblemCode::HiveSuperseded,
                format!(
                    "another {} hive file takes precedence for lookups",
                    h.source.kind
                ),
            ));
        }
        states.push((h.state, used));
        sources.push(h.source);
        done.push(h.read.done());
    }
    (sources, states, done)
}

/// Stage 5: parse the text exports into one tree per hive each, sorted by form, then path.
fn load_texts(files: Vec<TextFile<'_>>) -> (Vec<TextTree>, Vec<Read<'_>>) {
    let mut trees = Vec::new();
    let mut reads = Vec::with_capacity(files.len());
    for mut f in files {
        trees.extend(load_text(&mut f.read, f.form, &f.bytes));
        reads.push(f.read);
    }
    trees.sort_by(|a, b| (a.form, &a.file).cmp(&(b.form, &b.file)));
    (trees, reads)
}

fn load_text(read: &mut Read<'_>, form: SourceForm, bytes: &[u8]) -> Vec<TextTree> {
    let parsed = match form {
        SourceForm::RegExport => text::parse_reg_export(bytes),
        _ => Ok(text::parse_reg_query(bytes)),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            reject(
                read,
                Problem::error(ProblemCode::RegTextInvalid, e.to_string()),
            );
            return Vec::new();
        }
    };
    let (trees, unmapped) = tree::build(&read.input.path, form, &parsed);
    let mut line_problems: Vec<Problem> = parsed
        .errors
        .iter()
        .map(|e| Problem::warning(ProblemCode::RegTextLine, e.to_string()))
        .collect();
    line_problems.extend(unmapped.iter().map(|u| {
        Problem::warning(
            if u.too_deep {
                ProblemCode::RegTextKeyTooDeep
            } else {
                ProblemCode::RegTextKeySkipped
            },
            format!("line {}: {}", u.line, u.reason),
        )
    }));
    let total = line_problems.len();
    let problems = &mut read.reading.problems;
    problems.extend(line_problems.into_iter().take(MAX_LINE_PROBLEMS));
    if total > MAX_LINE_PROBLEMS {
        problems.push(Problem::warning(
            ProblemCode::RegTextLine,
            format!(
                "{} more line problems not listed",
                total - MAX_LINE_PROBLEMS
            ),
        ));
    }
    let has_keys = trees.iter().any(|t| !t.is_empty());
    read.reading.status = Some(match (has_keys, total) {
        (false, _) => InputStatus::Rejected,
        (true, 0) => InputStatus::Parsed,
        (true, _) => InputStatus::Partial,
    });
    if !has_keys {
        problems.push(Problem::error(ProblemCode::RegTextEmpty, "no usable keys"));
    }
    trees
}

/// Stage 6: without a SYSTEM hive and without `Select\Current` in the exports, text exports that
/// hold exactly one control set have it taken as the current one, with a warning on each.
fn assume_control_set(view: &mut RegistryView, text_reads: &mut [Read<'_>]) {
    if view.ccs.is_found() || view.hives.iter().any(|h| h.kind == HiveKind::System) {
        return;
    }
    let system = || view.texts.iter().filter(|t| t.hive == HiveKind::System);
    let mut nums: Vec<u32> = Vec::new();
    for n in system().flat_map(|t| t.control_sets()) {
        if !nums.contains(&n) {
            nums.push(n);
        }
    }
    let [n] = nums[..] else {
        return;
    };
    for t in system().filter(|t| t.control_sets().contains(&n)) {
        if let Some(r) = text_reads.iter_mut().find(|r| r.input.path == t.file) {
            r.reading.problems.push(Problem::warning(
                ProblemCode::RegCcsAssumed,
                format!("no Select\\Current in the evidence: assuming {} (the only control set exported) is the current one", paths::control_set_name(n)),
            ));
        }
    }
    view.ccs = Lookup::Found(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names() {
        assert_eq!(log_stem("SYSTEM.LOG1"), Some(("SYSTEM", 1)));
        assert_eq!(
            log_stem("transactions_ntuser.dat.log2"),
            Some(("transactions_ntuser.dat", 2))
        );
        assert_eq!(log_stem("ntuser.dat.LOG"), Some(("ntuser.dat", 0)));
        assert_eq!(log_stem("SYSTEM"), None);
        assert_eq!(dir_and_name("a/b/SYSTEM"), ("a/b", "SYSTEM"));
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
