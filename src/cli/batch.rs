//! `rdsdiag batch <ROOT>` and `rdsdiag merge <JSONL>...`: many captures in parallel, JSONL out
//! (one line per capture, then the fleet summary), shards and their merge.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::Value;

use rdsdiag::analyze::AnalyzeOptions;
use rdsdiag::batch::{self, Digest, FleetSummary, Shard};

use super::{show_error, write_stdout, Exit, LimitArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchFormat {
    /// One JSON object per line: each capture, then the fleet summary.
    Jsonl,
    /// A table of captures and the fleet summary, for people.
    Text,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// A folder holding captures: folders or zips (one per machine, any supported layout), grouped
    /// in sub-folders or not.
    #[arg(value_name = "ROOT")]
    pub root: PathBuf,
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    pub format: BatchFormat,
    /// Only the K-th of N deterministic parts of the captures (e.g. 2/8), for running a batch on
    /// several machines; combine the outputs with `rdsdiag merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Show a progress bar on stderr (default: when stderr is a terminal).
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    #[arg(long, hide = true)]
    pub no_progress: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSONL outputs of `rdsdiag batch` (shards), in any order.
    #[arg(required = true, value_name = "JSONL")]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    pub format: BatchFormat,
}

pub fn run_batch(args: &BatchArgs, quiet: bool) -> Exit {
    let mut paths = match batch::find_captures(&args.root) {
        Ok(p) => p,
        Err(e) => {
            show_error(
                e.to_string(),
                Some("ROOT must be a readable folder of captures".into()),
            );
            return Exit::InputError;
        }
    };
    if let Some(shard) = args.shard {
        paths.retain(|p| shard.contains(&relative(&args.root, p)));
    }
    let opts = AnalyzeOptions {
        capture: args.limits.capture_options(),
        time_limit: args.limits.time_limit(),
        ..AnalyzeOptions::default()
    };
    let show = !quiet && (args.progress || (!args.no_progress && std::io::stderr().is_terminal()));
    let bar = if show {
        let b = indicatif::ProgressBar::new(paths.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} captures {elapsed_precise} eta {eta}",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    // A panic inside a parser is caught per capture and reported in its line; keep the default
    // hook from printing it in the middle of the output.
    std::panic::set_hook(Box::new(|_| {}));
    // Lines go out as soon as their window is done (memory stays flat); only digests are kept
    // for the summary.
    let mut digests = Vec::with_capacity(paths.len());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut broken_pipe = false;
    let jsonl = args.format == BatchFormat::Jsonl;
    batch::run(
        &paths,
        &opts,
        &|| bar.inc(1),
        |report| {
            let text = batch::capture_line(&report);
            let digest = Digest::of_report(&report);
            (if jsonl { text } else { String::new() }, digest)
        },
        |(text, digest)| {
            if jsonl && !broken_pipe {
                broken_pipe = writeln!(out, "{text}").is_err();
            }
            digests.push(digest);
        },
    );
    let _ = std::panic::take_hook();
    bar.finish_and_clear();
    let summary = batch::summarize(&digests);
    let tail = summary_tail(args.format, &digests, &summary);
    if !broken_pipe {
        let _ = out.write_all(tail.as_bytes()).and_then(|_| out.flush());
    }
    exit_for(&summary)
}

pub fn run_merge(args: &MergeArgs) -> Exit {
    let mut lines = Vec::new();
    for f in &args.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                show_error(format!("{}: {e}", f.display()), None);
                return Exit::InputError;
            }
        };
        match batch::read_capture_lines(&text, &f.display().to_string()) {
            Ok(mut l) => lines.append(&mut l),
            Err(e) => {
                show_error(
                    e,
                    Some("merge reads the JSONL that `rdsdiag batch` writes".into()),
                );
                return Exit::InputError;
            }
        }
    }
    emit(&lines, args.format)
}

/// Print capture lines sorted by path, then the summary computed from the lines themselves.
pub fn emit(lines: &[Value], format: BatchFormat) -> Exit {
    let mut lines: Vec<&Value> = lines.iter().collect();
    lines.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    let digests: Vec<Digest> = lines.iter().map(|v| Digest::from_value(v)).collect();
    let summary = batch::summarize(&digests);
    let mut out = String::new();
    if format == BatchFormat::Jsonl {
        for l in &lines {
            out.push_str(&serde_json::to_string(l).unwrap_or_default());
            out.push('\n');
        }
    }
    out.push_str(&summary_tail(format, &digests, &summary));
    write_stdout(&out);
    exit_for(&summary)
}

/// What follows the capture lines: the summary line (JSONL) or the table and summary (text).
fn summary_tail(format: BatchFormat, digests: &[Digest], summary: &FleetSummary) -> String {
    match format {
        BatchFormat::Jsonl => {
            serde_json::to_string(&batch::summary_line(summary)).unwrap_or_default() + "\n"
        }
        BatchFormat::Text => render_text(digests, summary),
    }
}

fn exit_for(summary: &FleetSummary) -> Exit {
    if !summary.failed.is_empty() {
        Exit::InputError
    } else if !summary.findings.is_empty() || !summary.cross_findings.is_empty() {
        Exit::Problems
    } else {
        Exit::Clean
    }
}

fn path_of(v: &Value) -> &str {
    v.get("path").and_then(Value::as_str).unwrap_or("")
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

fn render_text(digests: &[Digest], s: &FleetSummary) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<40} {:<8} {:<16} {:<14} {:<30} FINDINGS\n",
        "CAPTURE", "STATUS", "COMPUTER", "LICENSING", "LICENSE SERVERS"
    ));
    for d in digests {
        out.push_str(&format!(
            "{:<40} {:<8} {:<16} {:<14} {:<30} {}\n",
            d.path,
            if d.failed.is_some() { "failed" } else { "ok" },
            d.computer.as_deref().unwrap_or("?"),
            d.licensing_mode,
            if d.license_servers.is_empty() {
                "-".to_string()
            } else {
                d.license_servers.join(",")
            },
            if let Some(e) = &d.failed {
                e.clone()
            } else {
                d.findings.join(" ")
            }
        ));
    }
    out.push_str(&format!(
        "\n{} captures: {} analysed, {} failed\n",
        s.captures,
        s.analysed,
        s.failed.len()
    ));
    for (id, n) in &s.findings {
        out.push_str(&format!("  {id}: {n} capture(s)\n"));
    }
    for (mode, n) in &s.licensing_modes {
        out.push_str(&format!("  licensing mode {mode}: {n} session host(s)\n"));
    }
    for u in &s.license_servers {
        out.push_str(&format!(
            "  license server {}: used by {} host(s); {}\n",
            u.server,
            u.used_by.len(),
            u.capture
                .as_deref()
                .map_or("not in this batch".to_string(), |c| format!("capture {c}"))
        ));
    }
    for c in &s.cross_findings {
        out.push_str(&format!(
            "  [{}] {} {}: {}\n",
            c.severity.name(),
            c.id,
            c.capture,
            c.explanation
        ));
    }
    out
}
