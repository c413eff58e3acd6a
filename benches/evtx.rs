//! Benchmark of the event-log layer (issue 5): records/s and MB/s of rdsdiag's reader with and
//! without the early filter, side by side with `evtx_dump` on the same files, on a large
//! generated log and on the real corpus. A plain `main` (harness = false) printing a markdown
//! table; run it with `benches/run-evtx-bench.sh` (or `cargo bench --bench evtx`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdsdiag::eventlog::{read_path, EventFilter};
use rdsdiag_testsupport::evtx::{Ev, EvtxBuilder};

const RUNS: usize = 3;

struct Set {
    name: String,
    files: Vec<PathBuf>,
    bytes: u64,
    records: u64,
}

/// The best of `RUNS` wall times of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn evtx_dump() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("evtx_dump")];
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(Path::new(&home).join("bin/evtx_dump"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/evtx_dump"));
    }
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn dump_all(exe: &Path, files: &[PathBuf], threads: &str) {
    for f in files {
        let _ = Command::new(exe)
            .args(["-o", "jsonl", "-t", threads])
            .arg(f)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn generated(dir: &Path) -> Vec<Set> {
    const SEC: &str = "Microsoft-Windows-Security-Auditing";
    // A Security-like log: 1 in 10 records is a catalogued logon (4624), the rest are not.
    let n = 200_000;
    let events = (0..n).map(|i| {
        let id = if i % 10 == 0 { 4624 } else { 4688 };
        Ev::new(SEC, id)
            .channel("Security")
            .computer("RDSH01.corp.example")
            .event_data(&[
                ("SubjectUserSid", "S-1-5-18"),
                ("SubjectUserName", "RDSH01$"),
                ("TargetUserName", "alice"),
                ("LogonType", if i % 20 == 0 { "10" } else { "3" }),
                ("IpAddress", "10.0.0.5"),
                ("ProcessName", "C:\\Windows\\System32\\svchost.exe"),
                ("Index", &i.to_string()),
            ])
    });
    let mixed = dir.join("generated-security.evtx");
    std::fs::write(&mixed, EvtxBuilder::new().events(events).build()).expect("write bench log");
    // A log of an irrelevant channel (skipped after sampling).
    let app = (0..n).map(|i| {
        Ev::new("Application Error", 1000)
            .channel("Application")
            .data(&[
                "app.exe",
                "1.0.0.0",
                &i.to_string(),
                "ntdll.dll",
                "c0000005",
            ])
    });
    let other = dir.join("generated-application.evtx");
    std::fs::write(&other, EvtxBuilder::new().events(app).build()).expect("write bench log");
    vec![
        set("generated Security-like, 10% relevant", vec![mixed]),
        set("generated Application (irrelevant channel)", vec![other]),
    ]
}

fn set(name: &str, files: Vec<PathBuf>) -> Set {
    let bytes = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let records = files
        .iter()
        .map(|f| {
            read_path(f, &EventFilter::all())
                .map(|r| r.integrity.records_read)
                .unwrap_or(0)
        })
        .sum();
    Set {
        name: name.to_string(),
        files,
        bytes,
        records,
    }
}

fn corpus() -> Vec<Set> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(text) = std::fs::read_to_string(root.join("MANIFEST.tsv")) else {
        return Vec::new();
    };
    let files: Vec<PathBuf> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.get(7) == Some(&"evtx")).then(|| root.join(cols[0]))
        })
        .collect();
    let security: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.ends_with("Security.evtx"))
        .cloned()
        .collect();
    vec![
        set("corpus: all 14 EVTX files", files),
        set("corpus: CITADEL-DC01 Security.evtx", security),
    ]
}

fn row(label: &str, s: &Set, d: Duration) -> String {
    let secs = d.as_secs_f64().max(1e-9);
    format!(
        "| {} | {} | {:.1} | {:.0} | {:.1} |",
        s.name,
        label,
        secs * 1000.0,
        s.records as f64 / secs,
        s.bytes as f64 / secs / 1e6
    )
}

fn main() {
    // Profiling aid: `EVTX_BENCH_PROFILE=<file> target/release/deps/evtx-*` reads one file in a loop.
    if let Some(f) = std::env::var_os("EVTX_BENCH_PROFILE") {
        if !Path::new(&f).exists() {
            // Write the generated logs into that folder instead.
            generated(Path::new(&f).parent().unwrap_or(Path::new(".")));
            return;
        }
        let filter = match std::env::var("EVTX_BENCH_FILTER").as_deref() {
            Ok("all") => EventFilter::all(),
            Ok("none") => EventFilter::for_query(&[u16::MAX], &[]),
            Ok("crate") => EventFilter::rds().render_with_crate(true),
            _ => EventFilter::rds().skip_irrelevant_channels(false),
        };
        let runs: usize = std::env::var("EVTX_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        for _ in 0..runs {
            let _ = read_path(Path::new(&f), &filter);
        }
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sets = generated(dir.path());
    let corpus_sets = corpus();
    if corpus_sets.is_empty() {
        println!("> note: ../shared/corpus is absent; corpus rows skipped\n");
    }
    sets.extend(corpus_sets);
    let dump = evtx_dump();
    println!("| input | reader | best of {RUNS} (ms) | records/s | MB/s |");
    println!("|---|---|---:|---:|---:|");
    for s in &sets {
        let rds = EventFilter::rds();
        let kept: u64 = s
            .files
            .iter()
            .map(|f| {
                read_path(f, &rds)
                    .map(|r| r.integrity.records_kept)
                    .unwrap_or(0)
            })
            .sum();
        let d = best(|| {
            for f in &s.files {
                let _ = read_path(f, &rds);
            }
        });
        println!(
            "{} ({} records, {} kept)",
            row("rdsdiag, early filter (rds)", s, d),
            s.records,
            kept
        );
        let nskip = EventFilter::rds().skip_irrelevant_channels(false);
        let d = best(|| {
            for f in &s.files {
                let _ = read_path(f, &nskip);
            }
        });
        println!("{}", row("rdsdiag, early filter, no channel skip", s, d));
        let all = EventFilter::all();
        let d = best(|| {
            for f in &s.files {
                let _ = read_path(f, &all);
            }
        });
        println!(
            "{}",
            row("rdsdiag, no filter (every record normalised)", s, d)
        );
        match &dump {
            Some(exe) => {
                let d = best(|| dump_all(exe, &s.files, "1"));
                println!("{}", row("evtx_dump -o jsonl -t 1", s, d));
                let d = best(|| dump_all(exe, &s.files, "0"));
                println!("{}", row("evtx_dump -o jsonl (all cores)", s, d));
            }
            None => println!("| {} | evtx_dump | n/a | n/a | n/a |", s.name),
        }
    }
    if dump.is_none() {
        println!("\n> note: evtx_dump not found on PATH or in ~/.cargo/bin; run benches/run-evtx-bench.sh to install it");
    }
    println!(
        "\nMachine: {} logical CPUs; each reader uses one thread unless stated.",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
}
