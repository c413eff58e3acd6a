//! Batch and fleet: find every capture below a root, analyse many captures on the one rayon pool
//! with each capture isolated (an unreadable, corrupt or panicking capture becomes a `failed`
//! line and the rest goes on), select deterministic shards, and rebuild the fleet summary and the
//! cross-capture correlation from the JSONL lines alone — so a merged set of shard outputs gives
//! byte-identical summaries to a single run.

mod digest;
mod fleet;
mod summary;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::analyze::{analyze_capture, AnalyzeOptions};
use crate::capture::sniff;
use crate::error::{Error, Result};
use crate::report::CaptureReport;

pub use digest::Digest;
pub use fleet::{CrossFinding, FLEET_RULES};
pub use summary::{summarize, FleetSummary};

/// `--shard K/N`: the K-th of N deterministic parts of the captures (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/8")?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("K in {s:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("N in {s:?} is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("{s:?}: need 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether a capture (named by its path relative to the batch root) belongs to this shard.
    /// FNV-1a of the relative path: stable when other captures are added or removed.
    pub fn contains(&self, rel: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in rel.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// Names that mark a folder as a capture root (a collector layout), compared case-insensitively
/// with the folder's children.
const CAPTURE_MARKERS: &[&str] = &[
    "windows",
    "uploads",
    "client_info.json",
    "collection_context.json",
];

/// Every capture below `root`, sorted: each zip file, each folder that is a capture (it holds
/// evidence files or a collector layout), and each loose evidence file directly in `root`.
/// Folders that only group other folders (`customer/host/...`) are descended into, up to a few
/// levels.
pub fn find_captures(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    collect(root, 0, &mut out)?;
    sort_paths(&mut out);
    Ok(out)
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            // Unreadable entries become failed captures with their reason.
            Err(_) => {
                out.push(p);
                continue;
            }
        };
        if meta.is_dir() {
            if depth >= 4 || is_capture_dir(&p) {
                out.push(p);
            } else {
                collect(&p, depth + 1, out)?;
            }
        } else if meta.is_file() && (is_zip_name(&p) || depth == 0 && holds_evidence(&p)) {
            out.push(p);
        }
    }
    Ok(())
}

fn is_zip_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// A folder is a capture when it has a layout marker, an MSRD-Collect name, evidence files of its
/// own, or no subfolders at all (an empty or unreadable folder is reported, not skipped).
fn is_capture_dir(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("msrd-results-") {
        return true;
    }
    let Ok(rd) = std::fs::read_dir(p) else {
        return true;
    };
    let mut has_subdir = false;
    for e in rd.flatten() {
        let child = e.path();
        let cname = e.file_name().to_string_lossy().to_ascii_lowercase();
        if CAPTURE_MARKERS.contains(&cname.as_str())
            || cname.starts_with("msrd-results-") && child.is_dir()
        {
            return !cname.starts_with("msrd-results-");
        }
        if child.is_dir() {
            if is_drive_folder(&cname) && child.join("Windows").is_dir()
                || child.join("windows").is_dir()
            {
                return true;
            }
            has_subdir = true;
        } else if holds_evidence(&child) || is_zip_name(&child) {
            return true;
        }
    }
    !has_subdir
}

/// `C`, `c`, `C%3A`, `C:`: a drive folder as KAPE and Velociraptor write them.
fn is_drive_folder(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b[0].is_ascii_alphabetic() && matches!(&name[1..], "" | ":" | "%3a")
}

/// Whether a file's first bytes say it is evidence rdsdiag reads.
fn holds_evidence(p: &Path) -> bool {
    use std::io::Read;
    // Never open a FIFO, socket or device: opening a FIFO blocks until a writer comes.
    if !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = vec![0u8; 4096];
    let Ok(mut f) = std::fs::File::open(p) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    head.truncate(n);
    !matches!(
        sniff::sniff_head(&head).kind,
        crate::evidence::InputKind::Other | crate::evidence::InputKind::Archive
    )
}

/// Analyse one capture, isolated: a panic inside a parser becomes a `failed` report naming it.
pub fn run_one(path: &Path, opts: &AnalyzeOptions) -> CaptureReport {
    catch_unwind(AssertUnwindSafe(|| analyze_capture(path, opts))).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        CaptureReport::failed(
            path.to_path_buf(),
            format!("internal error while analysing (a parser panicked: {msg}); the rest of the batch went on"),
        )
    })
}

/// Analyse captures in parallel on the global pool, each isolated ([`run_one`]), turn each report
/// into what the caller keeps with `transform` (on the worker thread: serialising is part of the
/// parallel work), and hand the results to `sink` in the order of `paths`, on the calling thread.
///
/// The calling thread keeps a window of 16 captures per pool thread in flight (enough that a slow
/// capture rarely leaves a thread idle while the results after it wait): it spawns one
/// task per capture, and spawns the next one each time it hands a result to `sink`. There is no
/// barrier between groups of captures, memory stays flat however many captures there are, and
/// output order does not depend on timing. Tasks never block (a task blocking inside the pool can
/// end up stacked on top of the task it waits for, when a thread steals work during a nested
/// join). `on_done` is called after each capture (progress).
pub fn run<T: Send>(
    paths: &[PathBuf],
    opts: &AnalyzeOptions,
    on_done: &(dyn Fn() + Sync),
    transform: impl Fn(CaptureReport) -> T + Sync,
    mut sink: impl FnMut(T),
) {
    let window = (rayon::current_num_threads() * 16).max(32);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<T>)>();
    let mut lost = None;
    rayon::in_place_scope(|scope| {
        let transform = &transform;
        let spawn = |i: usize| {
            let tx = tx.clone();
            scope.spawn(move |_| {
                // run_one contains panics of the analysis; this also guards the transform, so a
                // result always arrives and the calling thread never waits for ever.
                let r = catch_unwind(AssertUnwindSafe(|| {
                    let r = transform(run_one(&paths[i], opts));
                    on_done();
                    r
                }))
                .ok();
                let _ = tx.send((i, r));
            });
        };
        let mut spawned = paths.len().min(window);
        (0..spawned).for_each(spawn);
        let mut pending = std::collections::BTreeMap::new();
        let mut next_out = 0usize;
        while next_out < paths.len() {
            let Ok((i, r)) = rx.recv() else { break };
            pending.insert(i, r);
            while let Some(r) = pending.remove(&next_out) {
                match r {
                    Some(r) => sink(r),
                    None => lost = lost.or(Some(next_out)),
                }
                next_out += 1;
                if spawned < paths.len() {
                    spawn(spawned);
                    spawned += 1;
                }
            }
        }
    });
    if let Some(i) = lost {
        panic!(
            "internal error: turning the report of {} into output panicked",
            paths[i].display()
        );
    }
}

/// Sort capture paths the way output lines are sorted (by the path as text).
pub fn sort_paths(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| a.to_string_lossy().cmp(&b.to_string_lossy()));
}

/// The JSONL line of one capture: the same object `analyze --format json` holds per capture, with
/// `"record": "capture"` added last. Serialised straight to text (no `Value` tree in between).
pub fn capture_line(report: &CaptureReport) -> String {
    let mut s = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    if s.ends_with('}') {
        s.pop();
        if !s.ends_with('{') {
            s.push(',');
        }
        s.push_str("\"record\":\"capture\"}");
    }
    s
}

/// The summary line: the fleet summary with `"record": "fleet_summary"` and the schema version.
pub fn summary_line(summary: &FleetSummary) -> Value {
    let mut v = serde_json::to_value(summary).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("record".into(), Value::String("fleet_summary".into()));
        map.insert(
            "schema_version".into(),
            Value::from(crate::report::SCHEMA_VERSION),
        );
    }
    v
}

/// Read capture lines from JSONL text (other records, such as summaries, are skipped). Errors name
/// the line.
pub fn read_capture_lines(text: &str, source: &str) -> std::result::Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{source}: line {}: not JSON: {e}", i + 1))?;
        match v.get("record").and_then(Value::as_str) {
            Some("capture") => out.push(v),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{source}: line {}: no \"record\" field: not rdsdiag batch output",
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Paths that do not exist: each capture fails at once (a cheap, real run of the pipeline).
    fn missing(n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| PathBuf::from(format!("no-such-capture-{i:03}")))
            .collect()
    }

    #[test]
    fn run_hands_results_over_in_input_order() {
        let paths = missing(97);
        let done = AtomicUsize::new(0);
        let mut seen = Vec::new();
        run(
            &paths,
            &AnalyzeOptions::default(),
            &|| {
                done.fetch_add(1, Ordering::Relaxed);
            },
            |r| {
                // Uneven work, so results arrive out of order.
                if r.path.to_string_lossy().ends_with('3') {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                (r.path, r.error.is_some())
            },
            |(p, failed)| seen.push((p, failed)),
        );
        assert_eq!(done.load(Ordering::Relaxed), paths.len());
        assert_eq!(
            seen.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
            paths
        );
        assert!(seen.iter().all(|(_, failed)| *failed));
    }

    #[test]
    fn a_panicking_transform_fails_the_run_instead_of_hanging_it() {
        let paths = missing(40);
        let r = catch_unwind(AssertUnwindSafe(|| {
            run(
                &paths,
                &AnalyzeOptions::default(),
                &|| {},
                |r| {
                    assert!(!r.path.ends_with("no-such-capture-005"), "boom");
                    r.path
                },
                |_| {},
            )
        }));
        let msg = r.expect_err("panics");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("no-such-capture-005"), "{msg}");
    }

    #[test]
    fn shards_partition_the_captures() {
        let names: Vec<String> = (0..300)
            .map(|i| format!("customer{}/host{i}", i % 7))
            .collect();
        let shards: Vec<Shard> = (1..=4)
            .map(|k| format!("{k}/4").parse().expect("shard"))
            .collect();
        for n in &names {
            assert_eq!(
                shards.iter().filter(|s| s.contains(n)).count(),
                1,
                "{n} is in exactly one shard"
            );
        }
        for s in &shards {
            let size = names.iter().filter(|n| s.contains(n)).count();
            assert!(
                (40..=110).contains(&size),
                "shard {s:?} holds {size} of 300"
            );
        }
    }

    #[test]
    fn shard_syntax_is_checked() {
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
    }

    #[test]
    fn capture_lines_are_read_back_and_foreign_lines_refused() {
        let text = "{\"record\":\"capture\",\"path\":\"a\"}\n\n{\"record\":\"fleet_summary\"}\n";
        assert_eq!(read_capture_lines(text, "f").expect("reads").len(), 1);
        let err = read_capture_lines("{\"path\":\"a\"}\n", "f.jsonl").expect_err("no record field");
        assert!(err.contains("f.jsonl: line 1"), "{err}");
        assert!(read_capture_lines("not json\n", "f")
            .expect_err("bad")
            .contains("line 1"));
    }
}
