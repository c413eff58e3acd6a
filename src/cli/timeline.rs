//! `rdsdiag timeline <CAPTURE> [--format text|jsonl|timesketch|csv|sessions-csv] [--tz TZ]`: the capture's RDP
//! sessions rebuilt from its event logs, with the patterns that explain disconnects.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use jiff::SignedDuration;

use rdsdiag::pipeline;
use rdsdiag::render;
use rdsdiag::timeline::TimelineOptions;

use super::{finish, show_error, show_failure, Exit, LimitArgs, Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// Readable: patterns with their evidence, then each session with its events.
    Text,
    /// One JSON object per event (see docs/timeline.md).
    Jsonl,
    /// JSONL that Timesketch imports (message, datetime, timestamp_desc + fields).
    Timesketch,
    /// One self-contained HTML page with the session chart (docs/html-report.md).
    Html,
    /// One row per event, the JSONL columns (docs/csv.md).
    Csv,
    /// One row per reconstructed session (docs/csv.md).
    SessionsCsv,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// A capture: folder, .zip file or loose .evtx files' folder.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,
    /// How long before a disconnect licensing events count as its cause (e.g. 5m, 15m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub licensing_window: String,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run_timeline(args: &TimelineArgs, out: Output) -> Exit {
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
    let mut opts = args.limits.options();
    opts.timeline = TimelineOptions {
        licensing_window: window,
        ..TimelineOptions::default()
    };
    let outcome = match pipeline::timeline(&args.capture, &opts) {
        Ok(o) => o,
        Err(f) => {
            show_failure(&f);
            return Exit::InputError;
        }
    };
    let t = &outcome.timeline;
    let tz = out.zone(outcome.host_time_zone.as_ref());
    let (rendered, for_people) = match args.format {
        TimelineFormat::Text => (
            Ok(render::timeline::render_text_styled(
                t,
                &tz,
                out.text.color,
                out.list_width(),
            )),
            true,
        ),
        TimelineFormat::Jsonl => (Ok(render::timeline::render_jsonl(t, &tz)), false),
        TimelineFormat::Timesketch => (Ok(render::timeline::render_timesketch(t, &tz)), false),
        TimelineFormat::Html => (Ok(render::html::render_timeline(&outcome, &tz)), true),
        TimelineFormat::Csv => (render::csv::timeline_events(t, &tz), false),
        TimelineFormat::SessionsCsv => (render::csv::sessions(t, &tz), false),
    };
    let written = out.write(rendered, for_people);
    if outcome.events_read == 0 {
        out.note(&format!(
            "note: {}: no RDS-relevant events found\n",
            args.capture.display()
        ));
    }
    finish(written, outcome.status())
}
