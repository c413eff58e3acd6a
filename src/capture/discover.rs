//! Walk a capture — a folder, a zip archive (read in place), or a loose file — and inventory each
//! file: relative path, kind and hive role by content, size, SHA-256. Hostile archives are refused
//! before anything is read from them; nothing is ever extracted or written.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::layout::{self, LayoutInfo};
use super::sniff::{self, HEAD_LEN};
use super::{Input, InputSource};
use crate::error::{Error, Result};
use crate::evidence::{InputKind, InputStatus, Problem, ProblemCode};

/// Limits that protect the run against hostile or absurd archives. All are options of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Most entries an archive may hold.
    pub max_zip_entries: usize,
    /// Most bytes an archive may declare once uncompressed, all entries together.
    pub max_zip_total_bytes: u64,
    /// Largest uncompressed-to-compressed ratio accepted for an entry larger than
    /// [`RATIO_MIN_BYTES`]. EVTX files with empty chunks compress very well, hence the generous
    /// default; zip bombs reach ratios in the thousands to millions.
    pub max_compression_ratio: u64,
    /// Largest single file read into memory (hives, zip entries). Larger hives are rejected.
    pub max_file_bytes: u64,
}

/// Entries smaller than this are never refused for their ratio.
pub const RATIO_MIN_BYTES: u64 = 1 << 20;

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            max_zip_entries: 100_000,
            max_zip_total_bytes: 64 << 30,
            max_compression_ratio: 1_000,
            max_file_bytes: 4 << 30,
        }
    }
}

/// One capture: the evidence of one machine, as given on the command line.
#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    /// The path as given.
    pub path: PathBuf,
    #[serde(flatten)]
    pub layout: LayoutInfo,
    pub inputs: Vec<Input>,
}

/// Find and inventory every file of the capture at `path`.
pub fn open(path: &Path, opts: &CaptureOptions) -> Result<Capture> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound { path: path.into() },
        _ => Error::io(path, e),
    })?;
    let root_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !meta.is_dir() && !meta.is_file() {
        return Err(Error::NotRegular {
            path: path.into(),
            kind: special_kind(&meta.file_type()),
        });
    }
    let zip = !meta.is_dir() && is_zip(path)?;
    let inputs = if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, path, &mut files)?;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files
            .into_par_iter()
            .map(|(rel, full, kind)| match kind {
                Walked::File => inventory_file(rel, full, opts),
                Walked::Symlink => {
                    ignored(rel, InputSource::File(full), "symbolic link: not followed")
                }
                Walked::Special(kind) => ignored(
                    rel,
                    InputSource::File(full),
                    &format!("{kind}, not a regular file: not opened"),
                ),
                Walked::Unreadable(e) => unreadable(rel, InputSource::File(full), &e),
            })
            .collect()
    } else if zip {
        inventory_zip(path, opts)?
    } else {
        loose_file(path, &root_name, opts)
    };
    let mut inputs = expand_archives(inputs, opts, 1);
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let rel: Vec<&str> = inputs.iter().map(|i| i.path.as_str()).collect();
    let layout = if meta.is_dir() || zip {
        layout::detect(&root_name, &rel)
    } else {
        layout::detect("", &[])
    };
    Ok(Capture {
        path: path.to_path_buf(),
        layout,
        inputs,
    })
}

/// A loose file, and for a loose hive its transaction logs beside it (`<name>.LOG`, `.LOG1`,
/// `.LOG2` in any case), as Registry Explorer and RECmd pick them up: without them a dirty hive
/// would be answered from its stale primary file.
fn loose_file(path: &Path, name: &str, opts: &CaptureOptions) -> Vec<Input> {
    let first = inventory_file(name.to_string(), path.to_path_buf(), opts);
    if first.kind != InputKind::Hive {
        return vec![first];
    }
    let mut inputs = vec![first];
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let wanted: Vec<String> = ["log", "log1", "log2"]
        .iter()
        .map(|ext| format!("{}.{ext}", name.to_ascii_lowercase()))
        .collect();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return inputs;
    };
    let mut logs: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            wanted
                .contains(&n.to_ascii_lowercase())
                .then(|| (n, e.path()))
        })
        .collect();
    logs.sort();
    inputs.extend(
        logs.into_iter()
            .map(|(n, full)| inventory_file(n, full, opts)),
    );
    inputs
}

enum Walked {
    File,
    Symlink,
    /// A FIFO, socket or device: never opened (a FIFO blocks until a writer comes).
    Special(&'static str),
    Unreadable(io::Error),
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf, Walked)>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let full = entry.path();
        let rel = full
            .strip_prefix(root)
            .unwrap_or(&full)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        match entry.file_type() {
            Ok(t) if t.is_symlink() => out.push((rel, full, Walked::Symlink)),
            Ok(t) if !t.is_dir() && !t.is_file() => {
                out.push((rel, full, Walked::Special(special_kind(&t))))
            }
            Ok(t) if t.is_dir() => {
                if let Err(Error::Io { source, .. }) = walk(root, &full, out) {
                    out.push((rel, full, Walked::Unreadable(source)));
                }
            }
            Ok(_) => out.push((rel, full, Walked::File)),
            Err(e) => out.push((rel, full, Walked::Unreadable(e))),
        }
    }
    Ok(())
}

/// What a file that is neither a folder nor a regular file is.
fn special_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = t;
    "a special file"
}

fn is_zip(path: &Path) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| Error::io(path, e))?;
    Ok(n == 4 && (&magic == b"PK\x03\x04" || &magic == b"PK\x05\x06"))
}

fn base_input(path: String, source: InputSource) -> Input {
    Input {
        path,
        kind: InputKind::Other,
        hive: None,
        hive_signal: None,
        bytes: 0,
        sha256: String::new(),
        status: InputStatus::Pending,
        problems: Vec::new(),
        evtx: None,
        source,
    }
}

fn ignored(path: String, source: InputSource, why: &str) -> Input {
    let mut input = base_input(path, source);
    input.status = InputStatus::Ignored;
    input
        .problems
        .push(Problem::info(ProblemCode::NotEvidence, why));
    input
}

fn unreadable(path: String, source: InputSource, e: &io::Error) -> Input {
    let mut input = base_input(path, source);
    input.status = InputStatus::Rejected;
    input.problems.push(Problem::error(
        ProblemCode::Unreadable,
        format!("cannot read: {e}"),
    ));
    input
}

fn inventory_file(rel: String, full: PathBuf, opts: &CaptureOptions) -> Input {
    let source = InputSource::File(full.clone());
    let file = match File::open(&full) {
        Ok(f) => f,
        Err(e) => return unreadable(rel, source, &e),
    };
    let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut input = base_input(rel, source);
    if let Err(e) = hash_and_sniff(file, declared, opts, &mut input) {
        input.status = InputStatus::Rejected;
        input.problems.push(Problem::error(
            ProblemCode::Unreadable,
            format!("cannot read: {e}"),
        ));
    }
    input
}

/// Read `reader` once: hash everything, sniff the head, and for hives keep the whole file to
/// recognise the hive's role. Sets kind, hive, bytes, sha256 and the initial status.
fn hash_and_sniff(
    mut reader: impl Read,
    declared: u64,
    opts: &CaptureOptions,
    input: &mut Input,
) -> io::Result<()> {
    let mut hasher = Sha256::new();
    let mut head = vec![0u8; HEAD_LEN];
    let n = read_up_to(&mut reader, &mut head)?;
    head.truncate(n);
    let mut sniffed = sniff::sniff_named(&head, &input.path);
    let mut total = n as u64;
    if sniffed.kind.hashed_by_reader() && n > 0 {
        // Event logs and registry text are hashed by their readers as they read them (each
        // file is read once); the pipeline hashes any that no reader read.
        input.hive = sniffed.hive;
        input.kind = sniffed.kind;
        input.bytes = declared;
        input.status = InputStatus::Pending;
        return Ok(());
    }
    hasher.update(&head);
    if sniffed.kind == InputKind::Hive && declared <= opts.max_file_bytes {
        let mut whole = head;
        (&mut reader)
            .take(opts.max_file_bytes + 1 - total)
            .read_to_end(&mut whole)?;
        hasher.update(&whole[n..]);
        total = whole.len() as u64;
        if total <= opts.max_file_bytes {
            sniffed = sniff::hive_role_named(&whole, &input.path);
        }
    } else {
        total += hash_into(&mut reader, &mut hasher)?;
    }
    input.kind = sniffed.kind;
    input.hive = sniffed.hive;
    input.hive_signal = sniffed.signal;
    input.bytes = total;
    input.sha256 = lower_hex(&hasher.finalize());
    if let Some(note) = sniffed.note {
        input
            .problems
            .push(Problem::info(ProblemCode::HiveRole, note));
    }
    input.status = match input.kind {
        _ if total == 0 && is_log_name(&input.path) => {
            input.problems.push(Problem::info(
                ProblemCode::EmptyLog,
                "empty transaction log (0 bytes): Windows leaves unused logs so; nothing to replay",
            ));
            InputStatus::Ignored
        }
        _ if total == 0 => {
            input.problems.push(Problem::warning(
                ProblemCode::EmptyFile,
                "empty file (0 bytes)",
            ));
            InputStatus::Rejected
        }
        InputKind::Hive if total > opts.max_file_bytes => {
            input.problems.push(Problem::error(
                ProblemCode::TooLarge,
                format!(
                    "hive larger than the limit of {} bytes",
                    opts.max_file_bytes
                ),
            ));
            InputStatus::Rejected
        }
        // Opened in place by `expand_archives`, which sets the final status.
        InputKind::Archive => InputStatus::Pending,
        InputKind::Other => {
            input.problems.push(Problem::info(
                ProblemCode::NotEvidence,
                "not a hive, hive log, EVTX log, .reg export or reg query output",
            ));
            InputStatus::Ignored
        }
        _ => InputStatus::Pending,
    };
    Ok(())
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An entry name that is absolute, has a drive letter, a NUL, or any `..` component.
fn escapes_archive(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.contains('\0')
        || name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[1] == b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

/// Whether a file name is a registry transaction log's (`.LOG`, `.LOG1`, `.LOG2`, any case).
fn is_log_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    [".log", ".log1", ".log2"].iter().any(|e| name.ends_with(e))
}

/// SHA-256 of everything `reader` yields, as lower-case hex (the form of [`Input::sha256`]).
pub fn sha256_of(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hash_into(&mut reader, &mut hasher)?;
    Ok(lower_hex(&hasher.finalize()))
}

/// Feed everything `reader` yields to `hasher`; the number of bytes.
fn hash_into(reader: &mut impl Read, hasher: &mut Sha256) -> io::Result<u64> {
    // 64 KiB: below the allocator's mmap threshold, so no page faults per file.
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let k = reader.read(&mut buf)?;
        if k == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..k]);
        total += k as u64;
    }
}

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    lower_hex(&Sha256::digest(bytes))
}

/// Bytes as lower-case hex (the form of every SHA-256 rdsdiag shows).
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Check the archive against the limits, then inventory its entries in place.
/// Archives inside a capture (a zip in a folder, a zip in a zip) are opened in place down to
/// this many levels; deeper ones are listed, not opened.
pub const MAX_NESTING: usize = 3;

/// Open every archive among `inputs` in place (nothing is extracted to disk): its entries join
/// the inventory as `<archive path>!/<entry>`, the archive limits apply to each archive, and
/// archives inside it are opened in turn, `depth` counting the levels.
fn expand_archives(inputs: Vec<Input>, opts: &CaptureOptions, depth: usize) -> Vec<Input> {
    let mut out = Vec::with_capacity(inputs.len());
    for mut input in inputs {
        if input.kind != InputKind::Archive || input.status != InputStatus::Pending {
            out.push(input);
            continue;
        }
        let entries = open_nested(&mut input, opts, depth);
        out.push(input);
        out.extend(expand_archives(entries, opts, depth + 1));
    }
    out
}

/// Open one archive input and inventory its entries; the archive's own status says what
/// happened (`parsed` with the count, or `rejected` with the reason).
fn open_nested(input: &mut Input, opts: &CaptureOptions, depth: usize) -> Vec<Input> {
    if depth > MAX_NESTING {
        input.status = InputStatus::Ignored;
        input.problems.push(Problem::info(
            ProblemCode::NestedArchive,
            format!("archive nested more than {MAX_NESTING} levels deep: not opened"),
        ));
        return Vec::new();
    }
    let label = input.display_path();
    let opened = match &input.source {
        InputSource::File(p) => open_zip_file(p).map(|z| (Box::new(z) as Box<dyn AnyZip>, None)),
        _ if input.bytes > opts.max_file_bytes => Err(Error::TooLarge {
            path: label.clone(),
            limit: opts.max_file_bytes,
        }),
        _ => input.read_all().and_then(|bytes| {
            zip::ZipArchive::new(io::Cursor::new(bytes))
                .map(|z| {
                    (
                        Box::new(z) as Box<dyn AnyZip>,
                        Some(Arc::new(input.clone())),
                    )
                })
                .map_err(|source| Error::Zip {
                    path: label.clone(),
                    source,
                })
        }),
    };
    let result = opened.and_then(|(mut zip, outer)| {
        let entries = zip.entries(&label, opts)?;
        Ok(entries
            .iter()
            .map(|entry| {
                let source = match (&outer, &input.source) {
                    (Some(outer), _) => InputSource::Nested {
                        outer: outer.clone(),
                        index: entry.0,
                    },
                    (None, InputSource::File(p)) => InputSource::Zip {
                        archive: Arc::new(p.clone()),
                        index: entry.0,
                    },
                    (None, _) => InputSource::Nested {
                        outer: Arc::new(input.clone()),
                        index: entry.0,
                    },
                };
                let path = format!("{}!/{}", input.path, entry.1);
                zip.inventory(entry, base_input(path, source), opts)
            })
            .collect::<Vec<_>>())
    });
    match result {
        Ok(entries) => {
            input.status = InputStatus::Parsed;
            input.problems.push(Problem::info(
                ProblemCode::NestedArchive,
                format!(
                    "archive opened in place: {} file(s), read where they are (nothing extracted)",
                    entries.len()
                ),
            ));
            entries
        }
        Err(e) => {
            input.status = InputStatus::Rejected;
            input.problems.push(Problem::error(
                ProblemCode::NestedArchive,
                format!("archive not opened: {e}"),
            ));
            Vec::new()
        }
    }
}

fn open_zip_file(p: &Path) -> Result<zip::ZipArchive<File>> {
    let file = File::open(p).map_err(|e| Error::io(p, e))?;
    zip::ZipArchive::new(file).map_err(|source| Error::Zip {
        path: p.to_path_buf(),
        source,
    })
}

/// A zip archive over a file or over bytes in memory, for the nested-archive walk.
trait AnyZip {
    fn entries(&mut self, label: &Path, opts: &CaptureOptions) -> Result<Vec<Entry>>;
    fn inventory(&mut self, entry: &Entry, input: Input, opts: &CaptureOptions) -> Input;
}

impl<R: Read + io::Seek> AnyZip for zip::ZipArchive<R> {
    fn entries(&mut self, label: &Path, opts: &CaptureOptions) -> Result<Vec<Entry>> {
        archive_entries(self, label, opts)
    }

    fn inventory(&mut self, entry: &Entry, input: Input, opts: &CaptureOptions) -> Input {
        inventory_entry(Ok(self), entry, input, opts)
    }
}

/// A capture that is only archives, each holding evidence (a zip of per-machine zips, a folder of
/// one zip per machine): one capture per archive, named `<capture>!<archive>`, with the
/// archive's entries as its inputs (paths relative to the archive). `None` when the capture
/// holds anything else, or fewer than two such archives.
pub fn split_archives(capture: &Capture) -> Option<Vec<Capture>> {
    let top: Vec<&Input> = capture
        .inputs
        .iter()
        .filter(|i| !i.path.contains("!/"))
        .collect();
    let holds_evidence = |archive: &Input| {
        let prefix = format!("{}!/", archive.path);
        capture
            .inputs
            .iter()
            .any(|i| i.path.starts_with(&prefix) && i.kind.is_evidence())
    };
    let only_archives = top.iter().all(|i| {
        i.kind == InputKind::Archive && i.status == InputStatus::Parsed && holds_evidence(i)
    });
    if top.len() < 2 || !only_archives {
        return None;
    }
    Some(
        top.iter()
            .map(|archive| {
                let prefix = format!("{}!/", archive.path);
                let inputs: Vec<Input> = capture
                    .inputs
                    .iter()
                    .filter_map(|i| {
                        let rest = i.path.strip_prefix(&prefix)?;
                        let mut i = i.clone();
                        i.path = rest.to_string();
                        Some(i)
                    })
                    .collect();
                let name = archive.path.rsplit('/').next().unwrap_or(&archive.path);
                let rel: Vec<&str> = inputs.iter().map(|i| i.path.as_str()).collect();
                Capture {
                    path: PathBuf::from(format!("{}!{}", capture.path.display(), archive.path)),
                    layout: layout::detect(name, &rel),
                    inputs,
                }
            })
            .collect(),
    )
}

/// One file entry of an archive: index, name, declared size, encrypted.
type Entry = (usize, String, u64, bool);

/// Check an archive against the limits before anything is read from it, and list its file
/// entries. `path` names the archive in errors.
fn archive_entries<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &Path,
    opts: &CaptureOptions,
) -> Result<Vec<Entry>> {
    let zip_err = |source| Error::Zip {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |reason: String| Error::ArchiveRefused {
        path: path.to_path_buf(),
        reason,
    };
    if archive.len() > opts.max_zip_entries {
        return Err(refuse(format!(
            "{} entries, more than the limit of {} (--max-zip-entries)",
            archive.len(),
            opts.max_zip_entries
        )));
    }
    let mut entries = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(zip_err)?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
        if entry.enclosed_name().is_none() || escapes_archive(&name) {
            return Err(refuse(format!(
                "entry {name:?} points outside the archive (absolute path or `..`); nothing was extracted"
            )));
        }
        let size = entry.size();
        total = total.saturating_add(size);
        if total > opts.max_zip_total_bytes {
            return Err(refuse(format!(
                "entries declare more than {} bytes uncompressed (--max-zip-bytes)",
                opts.max_zip_total_bytes
            )));
        }
        let compressed = entry.compressed_size().max(1);
        if size > RATIO_MIN_BYTES && size / compressed > opts.max_compression_ratio {
            return Err(refuse(format!(
                "entry {name:?} expands {}:1 ({} → {} bytes), above the limit of {}:1 (--max-zip-ratio): possible zip bomb",
                size / compressed,
                compressed,
                size,
                opts.max_compression_ratio
            )));
        }
        if entry.is_dir() {
            continue;
        }
        entries.push((index, name, size, entry.encrypted()));
    }
    Ok(entries)
}

/// Inventory one entry read from `archive`: hash and sniff it, bounded by its declared size.
fn inventory_entry<R: Read + io::Seek>(
    archive: std::result::Result<&mut zip::ZipArchive<R>, String>,
    (index, _, size, encrypted): &Entry,
    mut input: Input,
    opts: &CaptureOptions,
) -> Input {
    input.bytes = *size;
    let outcome = match (archive, encrypted) {
        (_, true) => Err("entry is encrypted".to_string()),
        (Err(e), _) => Err(e),
        (Ok(archive), false) => archive
            .by_index(*index)
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                let mut bounded = entry.take(*size + 1);
                hash_and_sniff(&mut bounded, *size, opts, &mut input).map_err(|e| e.to_string())
            }),
    };
    if let Err(e) = outcome {
        input.status = InputStatus::Rejected;
        input.problems.push(Problem::error(
            ProblemCode::Unreadable,
            format!("cannot read entry: {e}"),
        ));
    } else if input.bytes > *size {
        input.status = InputStatus::Rejected;
        input.problems.push(Problem::error(
            ProblemCode::ZipSizeMismatch,
            format!("entry inflates beyond its declared size of {size} bytes"),
        ));
    }
    input
}

fn inventory_zip(path: &Path, opts: &CaptureOptions) -> Result<Vec<Input>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|source| Error::Zip {
        path: path.to_path_buf(),
        source,
    })?;
    let entries = archive_entries(&mut archive, path, opts)?;
    let archive_path = Arc::new(path.to_path_buf());
    // Each rayon task opens its own handle on the archive; a ZipArchive is not shared.
    let chunk = entries
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(1);
    let inputs: Vec<Input> = entries
        .par_chunks(chunk)
        .flat_map_iter(|group| {
            let mut handle = File::open(archive_path.as_ref())
                .map_err(|e| e.to_string())
                .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
            group
                .iter()
                .map(|entry| {
                    let source = InputSource::Zip {
                        archive: archive_path.clone(),
                        index: entry.0,
                    };
                    let input = base_input(entry.1.clone(), source);
                    inventory_entry(handle.as_mut().map_err(|e| e.clone()), entry, input, opts)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut inputs = inputs;
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(inputs)
}
