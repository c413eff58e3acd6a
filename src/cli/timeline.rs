//! `rdsdiag timeline <CAPTURE> [--format text|jsonl|timesketch] [--tz TZ]`: the capture's RDP
//! sessions rebuilt from its event logs, with the patterns that explain disconnects.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use jiff::SignedDuration;

use rdsdiag::analyze::{self, AnalyzeOptions};
use rdsdiag::evidence::ProblemSeverity;
use rdsdiag::host::HostIdentity;
use rdsdiag::timeline::{self, OutputTz, TimelineOptions};

use super::{show_error, write_stdout, Exit, LimitArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// Readable: patterns with their evidence, then each session with its events.
    Text,
    /// One JSON object per event (see docs/timeline.md).
    Jsonl,
    /// JSONL that Timesketch imports (message, datetime, timestamp_desc + fields).
    Timesketch,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// A capture: folder, .zip file or loose .evtx files' folder.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,
    /// Time zone of the output: UTC (default), an IANA name (Europe/Berlin) or an offset (+02:00).
    /// Only the rendering changes; the analysis is in UTC.
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    pub tz: String,
    /// How long before a disconnect licensing events count as its cause (e.g. 5m, 15m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub licensing_window: String,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run_timeline(args: &TimelineArgs, quiet: bool) -> Exit {
    let tz = match OutputTz::parse(&args.tz) {
        Ok(tz) => tz,
        Err(e) => {
            show_error(e.to_string(), None);
            return Exit::InputError;
        }
    };
    let window = match args.licensing_window.parse::<SignedDuration>() {
        Ok(w) if !w.is_negative() => w,
        _ => {
            show_error(
                format!(
                    "--licensing-window {:?} is not a duration",
                    args.licensing_window
                ),
                Some("use e.g. 5m, 90s or 1h".into()),
            );
            return Exit::InputError;
        }
    };
    let opts = AnalyzeOptions {
        capture: args.limits.capture_options(),
        time_limit: args.limits.time_limit(),
        ..AnalyzeOptions::default()
    };
    let analysis = match analyze::read_capture(&args.capture, &opts) {
        Ok(a) => a,
        Err(e) => {
            show_error(
                e.to_string(),
                Some("check the path; archives are refused when they are hostile or exceed the --max-zip-* limits".into()),
            );
            return Exit::InputError;
        }
    };
    let host = HostIdentity::read(&analysis.registry);
    let topts = TimelineOptions {
        licensing_window: window,
        ..TimelineOptions::default()
    };
    let t = timeline::build(
        &analysis.events,
        host.computer_name.value().map(String::as_str),
        &topts,
    );
    let rendered = match args.format {
        TimelineFormat::Text => timeline::render_text(&t, &tz),
        TimelineFormat::Jsonl => timeline::render_jsonl(&t, &tz),
        TimelineFormat::Timesketch => timeline::render_timesketch(&t, &tz),
    };
    if !quiet || args.format != TimelineFormat::Text {
        write_stdout(&rendered);
    }
    let damaged = analysis
        .capture
        .inputs
        .iter()
        .flat_map(|i| &i.problems)
        .any(|p| p.severity >= ProblemSeverity::Warning);
    if analysis.events.is_empty() && !quiet {
        eprintln!(
            "note: {}: no RDS-relevant events found",
            args.capture.display()
        );
    }
    if damaged || !t.patterns.is_empty() {
        Exit::Problems
    } else {
        Exit::Clean
    }
}
