//! The command-line edge: clap definitions, output selection, colour, and miette rendering of
//! errors. Nothing below this module prints.

mod batch;
mod config;
mod exit;
mod reg;
mod rules;
mod size;
mod timeline;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use miette::{Diagnostic, Report as MietteReport};

use rdsdiag::capture::CaptureOptions;
use rdsdiag::error::FailureKind;
use rdsdiag::pipeline::{self, Options};
use rdsdiag::render::{self, text::TextOptions, OutputTz, TzChoice};
use rdsdiag::report::RunStatus;

pub use exit::Exit;

/// Offline diagnosis of Windows Remote Desktop Services licensing and connection problems from
/// registry hives, registry exports and EVTX logs. Times are UTC unless --tz says otherwise.
///
/// Text output fits the terminal's width (COLUMNS overrides it; 80 when not a terminal; COLUMNS=0
/// never wraps); -v shows full lines and every detail, and JSON always holds the full text.
#[derive(Debug, Parser)]
#[command(name = "rdsdiag", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More detail (-v: full hashes and every problem).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print nothing on success; only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to colour text output (auto: on a terminal unless NO_COLOR is set; always and never
    /// win over NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Time zone of the times shown: UTC (default), an IANA name (Europe/Berlin), an offset
    /// (+02:00), or host (the capture's own zone from its SYSTEM hive, with daylight saving
    /// time). Only the rendering changes; report JSON stays UTC.
    #[arg(long, value_name = "TZ", default_value = "UTC", global = true)]
    pub tz: String,
    /// Worker threads for captures and files (default: one per core). One pool serves the run.
    #[arg(short = 'j', long, global = true, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    Text,
    Json,
    /// The same report as Markdown, for a support ticket.
    Markdown,
    /// One row per finding (docs/csv.md).
    Csv,
    /// One JSON line per capture, then the fleet summary with cross-capture correlation (as
    /// `rdsdiag batch`).
    Jsonl,
    /// One self-contained HTML page (inline CSS and SVG, loads nothing): verdict, findings,
    /// session chart, configuration, host, inputs (docs/html-report.md).
    Html,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse captures (folders, zips or loose files) and report what they hold and what is wrong.
    Analyze(AnalyzeArgs),
    /// List the normalised RDS-relevant events of a capture's EVTX logs (oldest first).
    Events(EventsArgs),
    /// Show the effective RDS configuration (setting, value, source, shadowed) and host facts.
    Config(config::ConfigArgs),
    /// Query a key or value of the capture's registry evidence, like `reg query` (hive files,
    /// .reg exports and reg query text alike).
    Reg(reg::RegArgs),
    /// Analyse every capture below a folder in parallel: JSONL per capture, then a fleet summary
    /// with cross-capture correlation.
    Batch(batch::BatchArgs),
    /// Rebuild the fleet summary from the JSONL of several `batch --shard` runs.
    Merge(batch::MergeArgs),
    /// List the diagnosis rules.
    Rules(rules::RulesArgs),
    /// Print a rule's documentation: what it checks, why it matters, evidence, remedy.
    Explain(rules::ExplainArgs),
    /// Rebuild the capture's RDP sessions from its event logs and show the patterns that explain
    /// disconnects (licensing, 60-minute soft enforcement, keep-alive, security errors).
    Timeline(timeline::TimelineArgs),
    /// Print a shell completion script (e.g. `source <(rdsdiag completions bash)`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff; `rdsdiag man | man -l -`).
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    Text,
    Jsonl,
    /// One row per event (docs/csv.md).
    Csv,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// A capture: folder, .zip file or loose .evtx file.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// Only this canonical EventID (repeatable).
    #[arg(long = "id", value_name = "N")]
    pub ids: Vec<u16>,
    /// Only providers whose name contains this text, case-insensitive (repeatable).
    #[arg(long = "provider", value_name = "P")]
    pub providers: Vec<String>,
    /// Only events at or after this time (RFC 3339, or a UTC date-time or date).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events before this time.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EventsFormat::Text)]
    pub format: EventsFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits applied to archives and files, shared by every command that opens captures.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Refuse archives with more entries than this.
    #[arg(long, default_value_t = CaptureOptions::default().max_zip_entries)]
    pub max_zip_entries: usize,
    /// Refuse archives whose entries declare more uncompressed bytes than this in total
    /// (64GiB, 500MB, or bytes).
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size, default_value = MAX_ZIP_BYTES)]
    pub max_zip_bytes: u64,
    /// Refuse archives with an entry (over 1 MiB) that expands more than this ratio.
    #[arg(long, default_value_t = CaptureOptions::default().max_compression_ratio)]
    pub max_zip_ratio: u64,
    /// Reject single files (hives, zip entries) larger than this (4GiB, 10MiB, or bytes).
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size, default_value = MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Seconds the event-log readers of one capture may take; past it they stop, say in the
    /// report which chunks were not read, and the analysis goes on (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub time_limit: f64,
}

/// The defaults of the size limits as people type them (`CaptureOptions::default()`; a test
/// checks they agree).
const MAX_ZIP_BYTES: &str = "64GiB";
const MAX_FILE_BYTES: &str = "4GiB";

impl LimitArgs {
    pub fn capture_options(&self) -> CaptureOptions {
        CaptureOptions {
            max_zip_entries: self.max_zip_entries,
            max_zip_total_bytes: self.max_zip_bytes,
            max_compression_ratio: self.max_zip_ratio,
            max_file_bytes: self.max_file_bytes,
        }
    }

    /// `--time-limit` as a duration (`None` for 0, negative or not a number).
    pub fn time_limit(&self) -> Option<std::time::Duration> {
        (self.time_limit.is_finite() && self.time_limit > 0.0)
            .then(|| std::time::Duration::try_from_secs_f64(self.time_limit).ok())
            .flatten()
    }

    /// The pipeline options these limits give.
    pub fn options(&self) -> Options {
        Options {
            capture: self.capture_options(),
            time_limit: self.time_limit(),
            ..Options::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Captures: folders, .zip files or loose files (hives, .reg/reg query text, .evtx).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Show progress on stderr (default: when stderr is a terminal).
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    #[arg(long, hide = true)]
    pub no_progress: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// An error shown through miette, naming the file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(rdsdiag::input))]
struct InputDiagnostic {
    message: String,
    #[help]
    help: Option<String>,
}

fn show_error(message: String, help: Option<String>) {
    let report = MietteReport::new(InputDiagnostic { message, help });
    eprintln!("{report:?}");
}

/// A capture that could not be opened or read: the error once, on stderr, with the hint that
/// fits its kind.
fn show_capture_error(message: &str, kind: Option<FailureKind>) {
    show_error(
        message.to_string(),
        kind.and_then(capture_hint).map(str::to_string),
    );
}

/// [`show_capture_error`] for a [`pipeline::Failure`].
fn show_failure(f: &pipeline::Failure) {
    show_capture_error(&f.reason, Some(f.kind));
}

/// The hint for each kind of capture failure.
fn capture_hint(kind: FailureKind) -> Option<&'static str> {
    Some(match kind {
        FailureKind::NotFound => "check the path",
        FailureKind::ArchiveRefused => "archives with `..` or absolute names are refused; archives over the limits can be read with higher --max-zip-entries, --max-zip-bytes or --max-zip-ratio",
        FailureKind::TooLarge => "raise --max-file-bytes (e.g. 16GiB) if the file is genuine",
        FailureKind::NotZip => "the file is not a zip archive or is damaged; extract it with another tool and give the folder",
        FailureKind::NotRegular => "give a folder, a zip file or evidence files",
        FailureKind::SeveralCaptures => "give one capture, or use `rdsdiag analyze` or `rdsdiag batch` for several",
        FailureKind::Internal => "this is a bug in rdsdiag: please report it with the capture if you can",
        FailureKind::PermissionDenied => "check that the files are readable by this user",
        FailureKind::NoEvidence => "give the folder that holds the hives (config/SYSTEM, SOFTWARE), .reg exports or .evtx logs",
        FailureKind::Io => return None,
    })
}

/// The columns reports fit to: `COLUMNS` when set (0: never wrap), else the terminal's width,
/// else 80 (a report in a file or pipe reads well in tickets and review tools).
fn output_width() -> usize {
    terminal_or_columns().unwrap_or(80)
}

/// `COLUMNS` when set, else the width of the terminal stdout is, else `None`.
fn terminal_or_columns() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return Some(n);
    }
    if std::io::stdout().is_terminal() {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return Some(usize::from(w));
        }
    }
    None
}

/// `--version`: the program and the catalogue it carries.
fn version_text() -> String {
    format!(
        "{} (catalogue {}: {} rows, {} rules)",
        env!("CARGO_PKG_VERSION"),
        rdsdiag::catalog::version(),
        rdsdiag::catalog::rows(),
        pipeline::rules().len()
    )
}

/// The clap command with the version text.
pub fn command() -> clap::Command {
    let v: &'static str = Box::leak(version_text().into_boxed_str());
    Cli::command().version(v)
}

/// Parse arguments, run, and return the exit code.
pub fn run() -> std::process::ExitCode {
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Clean
                }
                _ => Exit::InputError,
            }
            .into();
        }
    };
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    if matches!(cli.color, ColorChoice::Auto) && std::env::var_os("NO_COLOR").is_none() {
        miette::set_hook(Box::new(move |_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .color(std::io::stderr().is_terminal())
                    .build(),
            )
        }))
        .ok();
    } else {
        miette::set_hook(Box::new(move |_| {
            Box::new(miette::MietteHandlerOpts::new().color(color).build())
        }))
        .ok();
    }
    if let Some(n) = cli.jobs {
        // The one rayon pool of the program; nothing else builds a pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    // A panic inside a parser is caught per capture by the pipeline and reported as a failed
    // capture; keep the default hook from printing it in the middle of the output.
    std::panic::set_hook(Box::new(|_| {}));
    let tz = match TzChoice::parse(&cli.tz) {
        Ok(tz) => tz,
        Err(e) => {
            show_error(
                e.to_string(),
                Some("e.g. --tz UTC, --tz Europe/Berlin, --tz +02:00 or --tz host".into()),
            );
            return Exit::InputError.into();
        }
    };
    let out = Output {
        text: TextOptions {
            color,
            verbose: cli.verbose,
            width: output_width(),
            tz,
        },
        quiet: cli.quiet,
        list_width: terminal_or_columns().unwrap_or(0),
    };
    let exit = match &cli.command {
        Command::Analyze(args) => run_analyze(args, out),
        Command::Events(args) => run_events(args, out),
        Command::Config(args) => config::run_config(args, out),
        Command::Reg(args) => reg::run_reg(args, out),
        Command::Timeline(args) => timeline::run_timeline(args, out),
        Command::Batch(args) => batch::run_batch(args, out),
        Command::Merge(args) => batch::run_merge(args),
        Command::Rules(args) => rules::run_rules(args),
        Command::Explain(args) => rules::run_explain(args, &out),
        Command::Completions(args) => {
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut command(), "rdsdiag", &mut buf);
            write_stdout(&String::from_utf8_lossy(&buf));
            Exit::Clean
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(command()).render(&mut buf) {
                Ok(()) => {
                    write_stdout(&String::from_utf8_lossy(&buf));
                    Exit::Clean
                }
                Err(e) => {
                    show_error(
                        format!("internal error: the manual page could not be written: {e}"),
                        None,
                    );
                    Exit::InputError
                }
            }
        }
    };
    exit.into()
}

/// How output is written: colour, detail, width and zone of text, and `-q`.
#[derive(Debug, Clone)]
pub struct Output {
    pub text: TextOptions,
    /// `-q`: formats for people (text, Markdown) and notes on stderr are not written; formats for
    /// tools (JSON, JSONL, Timesketch) still are, since they were asked for.
    pub quiet: bool,
    /// The width of listings (`events`, `timeline`, `config`, `explain`): the terminal's or
    /// `COLUMNS`; 0 (whole lines) when piped without `COLUMNS`, so `grep` sees every field.
    pub list_width: usize,
}

impl Output {
    /// Write what a command rendered: `for_people` output is skipped under `-q`. A rendering
    /// error (a bug) is shown and fails the run.
    fn write(&self, rendered: Result<String, render::json::JsonError>, for_people: bool) -> bool {
        match rendered {
            Ok(s) => {
                if !(self.quiet && for_people) {
                    write_stdout(&s);
                }
                true
            }
            Err(e) => {
                show_error(
                    format!("internal error: the output could not be written: {e}"),
                    None,
                );
                false
            }
        }
    }

    /// The output zone for a capture with host zone `host`, its note written to stderr.
    fn zone(&self, host: Option<&rdsdiag::host::TimeZone>) -> OutputTz {
        let (tz, note) = self.text.tz.resolve(host);
        if let Some(n) = note {
            self.note(&format!("note: {n}\n"));
        }
        tz
    }

    /// The width for lines of a listing: unlimited under `-v` (full text), else the terminal's
    /// (or `COLUMNS`); whole lines into a pipe or file.
    fn list_width(&self) -> usize {
        if self.text.verbose > 0 {
            0
        } else {
            self.list_width
        }
    }

    /// Write notes to stderr unless `-q`.
    fn note(&self, text: &str) {
        if !self.quiet && !text.is_empty() {
            eprint!("{text}");
        }
    }
}

/// The exit code of a run: the one rule, from the outcome's [`RunStatus`]; a rendering failure
/// is an internal error.
fn finish(written: bool, status: RunStatus) -> Exit {
    if written {
        Exit::from(status)
    } else {
        Exit::InputError
    }
}

/// A progress display on stderr for long runs: shown on a terminal, or when forced.
pub(crate) fn progress_bar(out: &Output, force: bool, suppress: bool) -> indicatif::ProgressBar {
    let show = !out.quiet && (force || (!suppress && std::io::stderr().is_terminal()));
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        // Forced into a pipe or file: a line per update, at most once a second.
        b.set_draw_target(indicatif::ProgressDrawTarget::term_like_with_hz(
            Box::new(StderrLog),
            1,
        ));
    }
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos}/{len} captures {elapsed_precise} {wide_msg}",
    ) {
        b.set_style(style);
    }
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    b
}

/// End a progress display: cleared on a terminal, its last state kept in a log.
pub(crate) fn finish_progress(bar: &indicatif::ProgressBar) {
    if std::io::stderr().is_terminal() {
        bar.finish_and_clear();
    } else {
        bar.finish();
    }
}

/// Progress written as plain lines to stderr (when `--progress` is forced off a terminal).
#[derive(Debug)]
struct StderrLog;

impl indicatif::TermLike for StderrLog {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        writeln!(std::io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        write!(std::io::stderr(), "{s}")
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn run_analyze(args: &AnalyzeArgs, out: Output) -> Exit {
    let bar = progress_bar(&out, args.progress, args.no_progress);
    let report =
        pipeline::analyze_with_progress(&args.paths, &args.limits.options(), &|p| match p {
            pipeline::Progress::Found { captures } => bar.set_length(captures as u64),
            pipeline::Progress::Started { path } => bar.set_message(path.display().to_string()),
            pipeline::Progress::Done { .. } => bar.inc(1),
        });
    finish_progress(&bar);
    for c in &report.captures {
        if let Some(e) = &c.error {
            show_capture_error(e, c.error_kind);
        }
    }
    let (rendered, for_people) = match args.format {
        AnalyzeFormat::Json => (render::json::pretty(&report), false),
        AnalyzeFormat::Text => (Ok(render::text::render(&report, &out.text)), true),
        AnalyzeFormat::Markdown => (
            Ok(render::markdown::render_with(&report, &out.text.tz)),
            true,
        ),
        AnalyzeFormat::Jsonl => (batch::jsonl_of_reports(&report.captures), false),
        AnalyzeFormat::Html => (Ok(render::html::render(&report, &out.text.tz)), true),
        AnalyzeFormat::Csv => (render::csv::findings(&report), false),
    };
    finish(out.write(rendered, for_people), report.status())
}

fn run_events(args: &EventsArgs, out: Output) -> Exit {
    use rdsdiag::eventlog::query;
    let mut q = query::Query {
        ids: args.ids.clone(),
        providers: args.providers.clone(),
        ..query::Query::default()
    };
    for (value, slot) in [(&args.since, &mut q.since), (&args.until, &mut q.until)] {
        if let Some(v) = value {
            match query::parse_time(v) {
                Ok(t) => *slot = Some(t),
                Err(e) => {
                    show_error(e.to_string(), None);
                    return Exit::InputError;
                }
            }
        }
    }
    let report = match pipeline::events(&args.capture, &q, &args.limits.options()) {
        Ok(r) => r,
        Err(f) => {
            show_failure(&f);
            return Exit::InputError;
        }
    };
    let host = if out.text.tz.is_host() {
        pipeline::host_time_zone(&args.capture, &args.limits.options()).ok()
    } else {
        None
    };
    let tz = out.zone(host.as_ref());
    let (rendered, for_people) = match args.format {
        EventsFormat::Text => (
            Ok(render::events::render_text_with(
                &report.events,
                &tz,
                out.list_width(),
            )),
            true,
        ),
        EventsFormat::Jsonl => (render::events::render_jsonl(&report.events), false),
        EventsFormat::Csv => (render::csv::events(&report.events, &tz), false),
    };
    let written = out.write(rendered, for_people);
    out.note(&render::notes::warnings(
        report
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.problems.as_slice())),
    ));
    if report.files.is_empty() {
        out.note(&format!(
            "note: {}: no EVTX file found\n",
            args.capture.display()
        ));
    }
    finish(written, report.status())
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
}
