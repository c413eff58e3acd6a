//! Batch benchmark (issue 9): a generated corpus of session-host captures (hives plus EVTX logs,
//! hundreds of MB in all) analysed by the real binary with `batch -j 1` and `-j 2`, with captures/s,
//! MB/s and peak RSS, next to `evtx_dump` dumping the same EVTX files in the same run; then the
//! same at half the corpus size to show memory stays flat. Prints a Markdown table for
//! docs/performance.md. Run through `benches/run-batch-bench.sh` (installs evtx_dump).
//!
//! Environment: RDSDIAG_BENCH_CAPTURES (default 500), RDSDIAG_BENCH_EVENTS (events per log,
//! default 1200: about 500 KB of EVTX per capture).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rdsdiag_testsupport::evtx::Ev;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{lsm_40, lsm_session, rcm_licensing, termdd_56, Machine, Os};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn iso(base_min: usize) -> String {
    let (d, rest) = (base_min / 1440, base_min % 1440);
    format!(
        "2024-03-{:02}T{:02}:{:02}:07.1234567Z",
        1 + d % 28,
        rest / 60,
        rest % 60
    )
}

/// One session host with `events` events in each of two logs and some noise in a third.
fn machine(i: usize, events: usize) -> Machine {
    let name = format!("RDSH{i:04}");
    let mut lsm: Vec<Ev> = Vec::with_capacity(events);
    let mut rcm = Vec::new();
    let mut sys = Vec::new();
    let mut t = 0;
    let mut session = 2u32;
    while lsm.len() + 5 <= events {
        let user = format!(r"CONTOSO\user{}", session % 17);
        lsm.push(lsm_session(21, &iso(t), session, &user, "10.1.2.3"));
        lsm.push(lsm_session(22, &iso(t), session, &user, "10.1.2.3"));
        lsm.push(lsm_session(24, &iso(t + 60), session, &user, "10.1.2.3"));
        lsm.push(lsm_40(
            &iso(t + 60),
            session,
            if session % 5 == 0 { 257 } else { 0 },
        ));
        lsm.push(lsm_session(23, &iso(t + 62), session, &user, ""));
        rcm.push(rcm_licensing(&iso(t + 1), 1131, Some("LS01.contoso.local")));
        sys.push(termdd_56(&iso(t + 2), "203.0.113.7"));
        t += 70;
        session += 1;
    }
    Machine::session_host(&name, Os::Server2019, Some("contoso.local"))
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()))
        .log(
            "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
            lsm,
        )
        .log(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx",
            rcm,
        )
        .log("System.evtx", sys)
}

fn dir_bytes(p: &Path, ext: Option<&str>, files: &mut Vec<PathBuf>) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            n += dir_bytes(&path, ext, files);
        } else if ext.is_none_or(|x| path.extension().is_some_and(|e| e == x)) {
            n += e.metadata().map(|m| m.len()).unwrap_or(0);
            files.push(path);
        }
    }
    n
}

/// Run a command under /usr/bin/time; (seconds, peak RSS in KiB).
fn timed(cmd: &mut Command) -> (f64, u64) {
    let rss_file = std::env::temp_dir().join(format!("rdsdiag-bench-rss-{}", std::process::id()));
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    wrapped.stdout(std::process::Stdio::null());
    let start = Instant::now();
    let status = wrapped.status().expect("runs");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        status.code().is_some_and(|c| c <= 2),
        "command failed: {status}"
    );
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    (secs, rss)
}

fn evtx_dump() -> Option<PathBuf> {
    let mut c = vec![PathBuf::from("evtx_dump")];
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        c.push(Path::new(&home).join("bin/evtx_dump"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        c.push(Path::new(&home).join(".cargo/bin/evtx_dump"));
    }
    c.into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn main() {
    let captures = env_usize("RDSDIAG_BENCH_CAPTURES", 500);
    let events = env_usize("RDSDIAG_BENCH_EVENTS", 1200);
    let bin = env!("CARGO_BIN_EXE_rdsdiag");
    let tmp = tempfile::tempdir().expect("tempdir");
    // RDSDIAG_BENCH_DIR keeps the generated corpus there (for profiling); default: a temp dir.
    let keep = std::env::var_os("RDSDIAG_BENCH_DIR").map(PathBuf::from);
    let root_path = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root_path).expect("corpus dir");
    struct Root(PathBuf);
    impl Root {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    let root = Root(root_path);
    let start = Instant::now();
    for i in 0..captures {
        machine(i, events)
            .write_kape(&root.path().join(format!("RDSH{i:04}")))
            .expect("write");
    }
    let mut evtx_files = Vec::new();
    let evtx_bytes = dir_bytes(root.path(), Some("evtx"), &mut evtx_files);
    let total = dir_bytes(root.path(), None, &mut Vec::new());
    eprintln!(
        "generated {captures} captures, {:.1} MB ({:.1} MB EVTX in {} files) in {:.1} s",
        total as f64 / 1e6,
        evtx_bytes as f64 / 1e6,
        evtx_files.len(),
        start.elapsed().as_secs_f64()
    );
    println!("| run | captures | data | wall | captures/s | MB/s | peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, n: usize, bytes: u64, (secs, rss): (f64, u64)| {
        println!(
            "| {name} | {n} | {:.0} MB | {secs:.2} s | {:.0} | {:.0} | {:.0} MB |",
            bytes as f64 / 1e6,
            n as f64 / secs,
            bytes as f64 / 1e6 / secs,
            rss as f64 / 1024.0
        );
    };
    let mut results = Vec::new();
    for jobs in ["1", "2"] {
        let r = timed(
            Command::new(bin)
                .args(["-j", jobs, "batch", "-q"])
                .arg(root.path()),
        );
        row(&format!("rdsdiag batch -j {jobs}"), captures, total, r);
        results.push(r.0);
    }
    // Half the corpus: a sub-folder of the first half, to show memory does not grow with it.
    let half = tempfile::tempdir().expect("tempdir");
    for i in 0..captures / 2 {
        let name = format!("RDSH{i:04}");
        std::fs::rename(root.path().join(&name), half.path().join(&name)).expect("move");
    }
    let half_bytes = dir_bytes(half.path(), None, &mut Vec::new());
    row(
        "rdsdiag batch -j 2 (half the corpus)",
        captures / 2,
        half_bytes,
        timed(
            Command::new(bin)
                .args(["-j", "2", "batch", "-q"])
                .arg(half.path()),
        ),
    );
    for i in 0..captures / 2 {
        let name = format!("RDSH{i:04}");
        std::fs::rename(half.path().join(&name), root.path().join(&name)).expect("move back");
    }
    match evtx_dump() {
        Some(dump) => {
            let list = root.path().join("evtx-files.txt");
            let mut files = Vec::new();
            dir_bytes(root.path(), Some("evtx"), &mut files);
            std::fs::write(
                &list,
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .expect("list");
            let script = format!(
                "while IFS= read -r f; do '{}' -o jsonl -t 1 \"$f\" > /dev/null || exit 1; done < '{}'",
                dump.display(),
                list.display()
            );
            let r = timed(Command::new("bash").arg("-c").arg(&script));
            row(
                "evtx_dump -o jsonl -t 1, every EVTX file",
                captures,
                evtx_bytes,
                r,
            );
            println!(
                "\nrdsdiag -j 1 / evtx_dump: {:.2}; -j 2 speed-up over -j 1: {:.2}×",
                results[0] / r.0,
                results[0] / results[1]
            );
        }
        None => println!("\n> evtx_dump not found: run benches/run-batch-bench.sh to install it"),
    }
}
