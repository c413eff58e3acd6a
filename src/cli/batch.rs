//! `rdsdiag batch <ROOT>` and `rdsdiag merge <JSONL>...`: many captures in parallel, JSONL out
//! (one line per capture, then the fleet summary), shards and their merge.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::Value;

use rdsdiag::batch::{self, Digest, FleetSummary, Shard};
use rdsdiag::pipeline;
use rdsdiag::render;
use rdsdiag::report::CaptureReport;

use super::{finish, show_error, Exit, LimitArgs, Output};

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
    /// Also write the fleet dashboard, one self-contained HTML page, to FILE (docs/html-report.md).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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
    /// Also write the fleet dashboard to FILE: the same page `batch --html` writes.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run_batch(args: &BatchArgs, out: Output) -> Exit {
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
    let opts = args.limits.options();
    let bar = super::progress_bar(&out, args.progress, args.no_progress);
    bar.set_length(paths.len() as u64);
    // One zone for the fleet table: `host` cannot name one for captures of many hosts.
    let tz = if out.text.tz.is_host() {
        if args.format == BatchFormat::Text {
            out.note("note: --tz host: a batch spans many hosts; its text shows UTC\n");
        }
        render::OutputTz::utc()
    } else {
        out.zone(None)
    };
    // Lines go out as soon as their window is done (memory stays flat); only digests are kept
    // for the summary.
    let mut digests = Vec::with_capacity(paths.len());
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut broken_pipe = false;
    let mut render_error = None;
    let jsonl = args.format == BatchFormat::Jsonl;
    pipeline::batch(
        &paths,
        &opts,
        &|| bar.inc(1),
        |report| {
            let line = if jsonl {
                render::json::capture_line(&report)
            } else {
                Ok(String::new())
            };
            (line, Digest::of_report(&report))
        },
        |(line, digest)| {
            match line {
                Ok(text) if jsonl && !broken_pipe => {
                    broken_pipe = writeln!(stdout, "{text}").is_err();
                }
                Ok(_) => {}
                Err(e) => render_error = Some(e),
            }
            digests.push(digest);
        },
    );
    super::finish_progress(&bar);
    let summary = batch::summarize(&digests);
    let tail = summary_tail(args.format, &digests, &summary, &tz);
    let dashboard = write_dashboard(args.html.as_deref(), &digests, &summary);
    let written = match (tail, render_error) {
        (Ok(tail), None) => {
            if !broken_pipe {
                let _ = stdout
                    .write_all(tail.as_bytes())
                    .and_then(|_| stdout.flush());
            }
            true
        }
        (Err(e), _) | (_, Some(e)) => {
            show_error(
                format!("internal error: the output could not be written: {e}"),
                None,
            );
            false
        }
    };
    finish(written && dashboard, summary.status(&digests))
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
    lines.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    let digests: Vec<Digest> = lines.iter().map(Digest::from_value).collect();
    let summary = batch::summarize(&digests);
    if !write_dashboard(args.html.as_deref(), &digests, &summary) {
        return Exit::InputError;
    }
    let mut rendered = String::new();
    if args.format == BatchFormat::Jsonl {
        for l in &lines {
            match render::json::line(l) {
                Ok(s) => {
                    rendered.push_str(&s);
                    rendered.push('\n');
                }
                Err(e) => {
                    show_error(format!("internal error: {e}"), None);
                    return Exit::InputError;
                }
            }
        }
    }
    let tail = summary_tail(args.format, &digests, &summary, &render::OutputTz::utc())
        .map(|t| rendered + &t);
    let out = Output {
        text: Default::default(),
        quiet: false,
        list_width: 0,
    };
    finish(out.write(tail, false), summary.status(&digests))
}

/// `analyze --format jsonl`: the capture lines sorted by path, then the fleet summary, as
/// `batch` writes them.
pub fn jsonl_of_reports(reports: &[CaptureReport]) -> Result<String, render::json::JsonError> {
    let mut sorted: Vec<&CaptureReport> = reports.iter().collect();
    sorted.sort_by(|a, b| a.path.to_string_lossy().cmp(&b.path.to_string_lossy()));
    let mut out = String::new();
    let mut digests = Vec::with_capacity(sorted.len());
    for r in sorted {
        out.push_str(&render::json::capture_line(r)?);
        out.push('\n');
        digests.push(Digest::of_report(r));
    }
    let summary = batch::summarize(&digests);
    out.push_str(&summary_tail(
        BatchFormat::Jsonl,
        &digests,
        &summary,
        &render::OutputTz::utc(),
    )?);
    Ok(out)
}

/// What follows the capture lines: the summary line (JSONL) or the table and summary (text).
fn summary_tail(
    format: BatchFormat,
    digests: &[Digest],
    summary: &FleetSummary,
    tz: &render::OutputTz,
) -> Result<String, render::json::JsonError> {
    match format {
        BatchFormat::Jsonl => render::json::summary_line(summary).map(|s| s + "\n"),
        BatchFormat::Text => Ok(render::fleet::text_with(digests, summary, tz)),
    }
}

/// Write the fleet dashboard when `--html FILE` asked for it; false (after saying why) when the
/// file could not be written.
fn write_dashboard(path: Option<&Path>, digests: &[Digest], summary: &FleetSummary) -> bool {
    let Some(path) = path else {
        return true;
    };
    match std::fs::write(path, render::html::fleet::render(digests, summary)) {
        Ok(()) => true,
        Err(e) => {
            show_error(
                format!(
                    "{}: the fleet dashboard could not be written: {e}",
                    path.display()
                ),
                None,
            );
            false
        }
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
