//! Batch and fleet: find every capture below a root, analyse many captures on the one rayon pool
//! with each capture isolated (an unreadable, corrupt or panicking capture becomes a `failed`
//! line and the rest goes on), select deterministic shards, and rebuild the fleet summary and the
//! cross-capture correlation from the JSONL lines alone — so a merged set of shard outputs gives
//! byte-identical summaries to a single run.

mod digest;
mod fleet;
mod summary;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::capture::sniff;
use crate::error::{Error, Result};

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

/// Sort capture paths the way output lines are sorted (by the path as text).
pub fn sort_paths(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| a.to_string_lossy().cmp(&b.to_string_lossy()));
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
