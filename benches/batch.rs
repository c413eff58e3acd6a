//! Batch benchmark (issue 9): two generated corpora of session-host captures (hives plus EVTX
//! logs, hundreds of MB each) analysed by the real binary with `batch -j 1` and `-j 2`, with
//! captures/s, MB/s and peak RSS, next to `evtx_dump` dumping the same EVTX files in the same
//! run (best of three interleaved rounds); then the same at half the corpus size to show memory
//! stays flat. `typical` is shaped like a support bundle (session logs plus System, Security and
//! Application logs of everyday noise); `all-relevant` holds only records the diagnosis reads,
//! correlates and cites (the worst case). Each timed run starts with the corpus in the page cache.
//! Prints a Markdown table for docs/performance.md. Run through `benches/run-batch-bench.sh`
//! (installs evtx_dump).
//!
//! Environment: RDSDIAG_BENCH_CAPTURES (default 500), RDSDIAG_BENCH_EVENTS (session events per
//! LSM log in `all-relevant`, default 1200; `typical` scales its logs from it),
//! RDSDIAG_BENCH_CORPUS (`typical` or `all-relevant`: run one), RDSDIAG_BENCH_DIR (keep the
//! corpora there), RDSDIAG_BENCH_BIN (time this rdsdiag binary instead of the one just built).

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

/// The session events of one host: `events` LSM events (logon, shell, disconnect with reason,
/// logoff), a licensing event per session in RCM/Admin and a TermDD error per session for System.
fn session_logs(events: usize) -> (Vec<Ev>, Vec<Ev>, Vec<Ev>) {
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
            if session.is_multiple_of(5) { 257 } else { 0 },
        ));
        lsm.push(lsm_session(23, &iso(t + 62), session, &user, ""));
        rcm.push(rcm_licensing(&iso(t + 1), 1131, Some("LS01.contoso.local")));
        sys.push(termdd_56(&iso(t + 2), "203.0.113.7"));
        t += 70;
        session += 1;
    }
    (lsm, rcm, sys)
}

/// Everyday noise a real log holds: `n` events of providers and IDs the diagnosis does not read
/// (plus, in System, service state changes it does read), spread over the capture's days.
fn noise(channel: &str, n: usize) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            let t = iso(i * 7 % (27 * 1440));
            let e = match (channel, i % 10) {
                ("System", 0) => Ev::new("Service Control Manager", 7036)
                    .qualifiers(16384)
                    .event_data(&[("param1", "Windows Update"), ("param2", "running")]),
                ("System", 1..=4) => Ev::new("Microsoft-Windows-Kernel-General", 16).event_data(&[
                    ("HiveName", r"\??\C:\Users\u\ntuser.dat"),
                    ("KeysUpdated", "4"),
                ]),
                ("System", _) => Ev::new("Microsoft-Windows-DNS-Client", 1014).event_data(&[
                    ("QueryName", "wpad.contoso.local"),
                    ("AddressLength", "128"),
                ]),
                ("Security", 0..=1) => Ev::new("Microsoft-Windows-Security-Auditing", 4624)
                    .event_data(&[
                        ("TargetUserName", "svc-backup"),
                        ("TargetDomainName", "CONTOSO"),
                        ("LogonType", "3"),
                        ("IpAddress", "10.1.9.9"),
                    ]),
                ("Security", 2..=5) => Ev::new("Microsoft-Windows-Security-Auditing", 4688)
                    .event_data(&[
                        ("NewProcessName", r"C:\Windows\System32\svchost.exe"),
                        ("SubjectUserName", "RDSH$"),
                        ("TokenElevationType", "%%1936"),
                    ]),
                ("Security", _) => {
                    Ev::new("Microsoft-Windows-Security-Auditing", 5156).event_data(&[
                        (
                            "Application",
                            r"\device\harddiskvolume2\windows\system32\svchost.exe",
                        ),
                        ("SourceAddress", "10.1.2.3"),
                        ("DestAddress", "10.1.0.10"),
                        ("DestPort", "443"),
                    ])
                }
                (_, _) => Ev::new("Microsoft-Windows-Winlogon", 6000 + (i % 4) as u32)
                    .event_data(&[("Message", "winlogon notification subscriber")]),
            };
            e.channel(channel).time(&t)
        })
        .collect()
}

/// Which corpus: a typical support bundle, or every record relevant (the worst case).
#[derive(Clone, Copy, PartialEq)]
enum Corpus {
    Typical,
    AllRelevant,
}

/// One session host. `AllRelevant`: `events` session events in LSM, licensing events in RCM and
/// TermDD errors in System, nothing else (every record is read, correlated and cited). `Typical`:
/// session logs a quarter of that size plus System, Security and Application logs of everyday
/// noise, as in a TSS or KAPE bundle (most of whose records the diagnosis does not read).
fn machine(i: usize, events: usize, corpus: Corpus) -> Machine {
    let name = format!("RDSH{i:04}");
    let m = Machine::session_host(&name, Os::Server2019, Some("contoso.local"))
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()));
    let lsm_name = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
    let rcm_name = "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx";
    match corpus {
        Corpus::AllRelevant => {
            let (lsm, rcm, sys) = session_logs(events);
            m.log(lsm_name, lsm)
                .log(rcm_name, rcm)
                .log("System.evtx", sys)
        }
        Corpus::Typical => {
            let (lsm, rcm, mut sys) = session_logs(events / 4);
            sys.extend(noise("System", events / 3));
            m.log(lsm_name, lsm)
                .log(rcm_name, rcm)
                .log("System.evtx", sys)
                .log("Security.evtx", noise("Security", events / 2))
                .log("Application.evtx", noise("Application", events / 3))
        }
    }
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

/// Best of three runs of a command under /usr/bin/time: (least seconds, largest peak RSS in KiB).
/// The development machine is shared; single runs move by ±20 %.
fn timed(cmd: &mut Command) -> (f64, u64) {
    (0..3)
        .map(|_| timed_once(cmd))
        .fold((f64::MAX, 0), |(s, r), (s1, r1)| (s.min(s1), r.max(r1)))
}

/// Run a command once under /usr/bin/time; (seconds, peak RSS in KiB).
fn timed_once(cmd: &mut Command) -> (f64, u64) {
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
    let tmp = tempfile::tempdir().expect("tempdir");
    // RDSDIAG_BENCH_DIR keeps the generated corpora there (for profiling); default: a temp dir.
    let keep = std::env::var_os("RDSDIAG_BENCH_DIR").map(PathBuf::from);
    let base = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    // RDSDIAG_BENCH_CORPUS=typical|all-relevant runs one of them (default: both).
    let only = std::env::var("RDSDIAG_BENCH_CORPUS").ok();
    println!("| corpus | run | captures | data | wall | captures/s | MB/s | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (corpus, name) in [
        (Corpus::Typical, "typical"),
        (Corpus::AllRelevant, "all-relevant"),
    ] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let root = base.join(name);
        std::fs::create_dir_all(&root).expect("corpus dir");
        ratios.push((name, run_corpus(&root, corpus, name, captures, events)));
        if keep.is_none() {
            let _ = std::fs::remove_dir_all(&root);
        }
    }
    println!();
    for (name, r) in ratios {
        match r {
            Some((vs_dump1, vs_dump2, speedup)) => println!(
                "{name}: rdsdiag -j 1 / evtx_dump = {vs_dump1:.2}; rdsdiag -j 2 / evtx_dump = {vs_dump2:.2}; -j 2 speed-up over -j 1: {speedup:.2}×"
            ),
            None => println!(
                "{name}: evtx_dump not found: run benches/run-batch-bench.sh to install it"
            ),
        }
    }
}

/// Generate one corpus under `root`, time rdsdiag and evtx_dump over it, print the rows;
/// (rdsdiag -j 1 / evtx_dump, rdsdiag -j 2 / evtx_dump, -j 1 / -j 2) when evtx_dump is there.
fn run_corpus(
    root: &Path,
    corpus: Corpus,
    name: &str,
    captures: usize,
    events: usize,
) -> Option<(f64, f64, f64)> {
    // RDSDIAG_BENCH_BIN times another build (e.g. the binary before a change) on the same corpora.
    let bin = std::env::var("RDSDIAG_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_rdsdiag").to_string());
    let bin = bin.as_str();
    let start = Instant::now();
    for i in 0..captures {
        machine(i, events, corpus)
            .write_kape(&root.join(format!("RDSH{i:04}")))
            .expect("write");
    }
    let mut evtx_files = Vec::new();
    let evtx_bytes = dir_bytes(root, Some("evtx"), &mut evtx_files);
    let total = dir_bytes(root, None, &mut Vec::new());
    eprintln!(
        "{name}: generated {captures} captures, {:.1} MB ({:.1} MB EVTX in {} files) in {:.1} s",
        total as f64 / 1e6,
        evtx_bytes as f64 / 1e6,
        evtx_files.len(),
        start.elapsed().as_secs_f64()
    );
    let row = |run: &str, n: usize, bytes: u64, (secs, rss): (f64, u64)| {
        println!(
            "| {name} | {run} | {n} | {:.0} MB | {secs:.2} s | {:.0} | {:.0} | {:.0} MB |",
            bytes as f64 / 1e6,
            n as f64 / secs,
            bytes as f64 / 1e6 / secs,
            rss as f64 / 1024.0
        );
    };
    // evtx_dump over every EVTX file, one process per file (it takes one file at a time).
    let dump = evtx_dump();
    let list = root.join("evtx-files.txt");
    std::fs::write(
        &list,
        evtx_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("list");
    let script = dump.as_ref().map(|d| {
        format!(
            "while IFS= read -r f; do '{}' -o jsonl -t 1 \"$f\" > /dev/null || exit 1; done < '{}'",
            d.display(),
            list.display()
        )
    });
    // Rounds of (-j 1, -j 2, evtx_dump), best of each: interleaved so that a slow phase of the
    // shared machine does not fall on one row only.
    let best = |a: (f64, u64), b: (f64, u64)| (a.0.min(b.0), a.1.max(b.1));
    // The development machine reclaims cold page cache (DAMON): read the corpus before each run
    // so every tool reads from memory and the rows compare CPU work, not disk luck.
    let mut all_files = Vec::new();
    dir_bytes(root, None, &mut all_files);
    let warm = || {
        for f in &all_files {
            let _ = std::io::copy(
                &mut std::fs::File::open(f).expect("open"),
                &mut std::io::sink(),
            );
        }
    };
    let (mut j1, mut j2, mut dumped) = ((f64::MAX, 0), (f64::MAX, 0), (f64::MAX, 0));
    for _ in 0..3 {
        for (jobs, slot) in [("1", &mut j1), ("2", &mut j2)] {
            warm();
            let r = timed_once(
                Command::new(bin)
                    .args(["-j", jobs, "batch", "-q"])
                    .arg(root),
            );
            *slot = best(*slot, r);
        }
        if let Some(script) = &script {
            warm();
            dumped = best(
                dumped,
                timed_once(Command::new("bash").arg("-c").arg(script)),
            );
        }
    }
    let _ = std::fs::remove_file(&list);
    row("rdsdiag batch -j 1", captures, total, j1);
    row("rdsdiag batch -j 2", captures, total, j2);
    // Half the corpus: a sub-folder of the first half, to show memory does not grow with it.
    let half = tempfile::tempdir().expect("tempdir");
    for i in 0..captures / 2 {
        let n = format!("RDSH{i:04}");
        std::fs::rename(root.join(&n), half.path().join(&n)).expect("move");
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
        let n = format!("RDSH{i:04}");
        std::fs::rename(half.path().join(&n), root.join(&n)).expect("move back");
    }
    script.as_ref()?;
    row(
        "evtx_dump -o jsonl -t 1, every EVTX file",
        captures,
        evtx_bytes,
        dumped,
    );
    Some((j1.0 / dumped.0, j2.0 / dumped.0, j1.0 / j2.0))
}
