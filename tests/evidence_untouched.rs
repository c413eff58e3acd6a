//! Evidence stays untouched: the real binary runs `analyze`, `reg`, `events`, `timeline` and
//! `batch` over a read-only copy of part of the public corpus (a KAPE-like capture of RDS event
//! logs, a dirty NTUSER hive with the transaction logs its replay needs, the demo captures as a
//! folder and as a zip), and afterwards every file and folder under it has the same size, mtime,
//! permissions and SHA-256, nothing was created or removed under it, and nothing appeared beside
//! it or beside its parent folder (the working directory of every run).
//!
//! The copy is made read-only (`chmod -R a-w`); as root, permissions do not stop a write, so the
//! before/after comparison is what proves it there.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rdsdiag_testsupport::corpus;

/// What is recorded of one path below a root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: &'static str,
    size: u64,
    mtime: std::time::SystemTime,
    mode: u32,
    sha256: Option<String>,
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for e in std::fs::read_dir(dir).expect("listable") {
            let p = e.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("stat");
            let kind = if meta.is_dir() {
                "dir"
            } else if meta.is_file() {
                "file"
            } else {
                "other"
            };
            let sha256 = meta
                .is_file()
                .then(|| rdsdiag::capture::sha256_hex(&std::fs::read(&p).expect("readable")));
            out.insert(
                p.strip_prefix(root).expect("below root").to_path_buf(),
                Entry {
                    kind,
                    size: meta.len(),
                    mtime: meta.modified().expect("mtime"),
                    mode: meta.permissions().mode(),
                    sha256,
                },
            );
            if meta.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The names directly in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("listable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("has a parent")).expect("mkdir");
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("listable") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("named"));
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            copy(&p, &dest);
        }
    }
}

fn zip_tree(from: &Path, to: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(to).expect("create zip"));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    fn add<W: Write + std::io::Seek>(
        zip: &mut zip::ZipWriter<W>,
        opts: zip::write::SimpleFileOptions,
        base: &Path,
        dir: &Path,
    ) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("listable")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                add(zip, opts, base, &p);
            } else {
                let name = p.strip_prefix(base).expect("below").to_string_lossy();
                zip.start_file(name.replace('\\', "/"), opts)
                    .expect("entry");
                zip.write_all(&std::fs::read(&p).expect("read"))
                    .expect("write");
            }
        }
    }
    add(&mut zip, opts, from, from);
    zip.finish().expect("finish zip");
}

fn set_writable(root: &Path, writable: bool) {
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("listable") {
                stack.push(e.expect("entry").path());
            }
        }
        all.push(p);
    }
    // Folders last when making read-only (their entries are still reachable), first otherwise.
    if writable {
        all.reverse();
    }
    for p in all {
        let mut perm = std::fs::metadata(&p).expect("stat").permissions();
        let mode = perm.mode();
        perm.set_mode(if writable {
            mode | 0o200
        } else {
            mode & !0o222
        });
        std::fs::set_permissions(&p, perm).expect("chmod");
    }
}

/// Run the binary with `args` in `cwd`; it must end with 0 (clean) or 1 (problems found).
fn run(cwd: &Path, args: &[&str]) {
    let out = Command::cargo_bin("rdsdiag")
        .expect("binary built")
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("runs");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "rdsdiag {args:?} exited {code:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty(), "rdsdiag {args:?} printed nothing");
}

#[test]
fn no_command_creates_or_changes_anything_in_or_beside_the_evidence() {
    let Some(root) = corpus::path("") else { return };
    let Some(logs) = corpus::path("captures/CITADEL-DC01/C/Windows/System32/winevt/Logs") else {
        return;
    };
    let Some(ntuser) = corpus::path("regipy/transactions_NTUSER.DAT") else {
        return;
    };
    let outer = tempfile::tempdir().expect("temp dir");
    // outer/case/evidence/…: the runs start in outer/case, the evidence's parent.
    let case = outer.path().join("case");
    let evidence = case.join("evidence");
    let dc = evidence.join("CITADEL-DC01/C/Windows/System32/winevt/Logs");
    for name in [
        "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
    ] {
        copy(&logs.join(name), &dc.join(name));
    }
    let user = evidence.join("NTUSER");
    copy(&ntuser, &user.join("NTUSER.DAT"));
    for log in [
        "transactions_ntuser.dat.log1",
        "transactions_ntuser.dat.log2",
    ] {
        let suffix = log.rsplit('.').next().expect("suffix");
        copy(
            &root.join("regipy").join(log),
            &user.join(format!("NTUSER.DAT.{suffix}")),
        );
    }
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    copy_tree(&demo.join("RDSH01-kape"), &evidence.join("RDSH01-kape"));
    zip_tree(
        &demo.join("MSRD-Results-RDSH01"),
        &evidence.join("MSRD-Results-RDSH01.zip"),
    );

    set_writable(&evidence, false);
    let before = snapshot(&evidence);
    let (outer_before, case_before) = (listing(outer.path()), listing(&case));
    assert!(before.len() >= 15, "the copy is incomplete: {before:#?}");
    assert!(
        before.values().all(|e| e.mode & 0o222 == 0),
        "the copy is not read-only"
    );

    let ev = |rel: &str| evidence.join(rel).to_string_lossy().into_owned();
    let (all, dc, user, kape, zip) = (
        ev(""),
        ev("CITADEL-DC01"),
        ev("NTUSER"),
        ev("RDSH01-kape"),
        ev("MSRD-Results-RDSH01.zip"),
    );
    run(&case, &["analyze", &all]);
    run(&case, &["analyze", "--format", "json", &user, &kape, &zip]);
    run(&case, &["reg", &user, "HKCU", "--recurse"]);
    run(
        &case,
        &["reg", "--format", "json", &kape, r"HKLM\SYSTEM", "-s"],
    );
    run(
        &case,
        &[
            "reg",
            &zip,
            r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
        ],
    );
    run(&case, &["events", &dc]);
    run(&case, &["events", &zip]);
    run(&case, &["timeline", &dc]);
    run(&case, &["timeline", &kape]);
    run(&case, &["batch", &all]);
    run(&case, &["batch", "--format", "text", &all]);

    let after = snapshot(&evidence);
    let changed: Vec<String> = before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|p| before.get(*p) != after.get(*p))
        .map(|p| format!("{}: {:?} -> {:?}", p.display(), before.get(p), after.get(p)))
        .collect();
    assert!(changed.is_empty(), "the evidence changed: {changed:#?}");
    assert_eq!(
        listing(&case),
        case_before,
        "a file appeared beside the evidence"
    );
    assert_eq!(
        listing(outer.path()),
        outer_before,
        "a file appeared beside the evidence's parent folder"
    );
    set_writable(&evidence, true);
}
