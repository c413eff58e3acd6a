//! Where the captures are: every capture below a folder (a collector tree, a folder of a
//! machine's files, a zip), so that a folder holding several machines' evidence is never read as
//! one machine. `analyze` and `batch` share this rule.

use std::path::{Path, PathBuf};

use super::sniff;
use crate::error::{Error, Result};

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

/// Whether a file is named as a zip archive.
pub fn is_zip_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// A folder is a capture when it has a layout marker, an MSRD-Collect name, evidence files of its
/// own, or no subfolders at all (an empty or unreadable folder is reported, not skipped).
pub fn is_capture_dir(p: &Path) -> bool {
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
    // Group Policy files alone (a SYSVOL copy) are no capture of a machine.
    !matches!(
        sniff::sniff_head(&head).kind,
        crate::evidence::InputKind::Other
            | crate::evidence::InputKind::Archive
            | crate::evidence::InputKind::PolicyFile
    )
}

/// Sort capture paths the way output lines are sorted (by the path as text).
pub fn sort_paths(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| a.to_string_lossy().cmp(&b.to_string_lossy()));
}

/// Files below `root` that are in none of `captures` (paths relative to `root`, `/`-separated,
/// sorted), so a split still accounts for every file. Symbolic links are listed, not followed.
pub fn files_outside(root: &Path, captures: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if captures.iter().any(|c| p.starts_with(c)) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}
