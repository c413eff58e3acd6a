//! The pipeline for one capture and for many: acquire → read → (later: resolve → correlate →
//! diagnose) → report. This is the one place that runs work in parallel: captures, and the files
//! inside each capture, share the one global rayon pool (no nested pools, no per-file threads).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::capture::{self, CaptureOptions};
use crate::config;
use crate::diagnose;
use crate::eventlog::{self, Event, EventFilter};
use crate::evidence::{Deadline, InputKind, InputStatus, Problem, ProblemCode};
use crate::host::facts::host_facts;
use crate::host::HostIdentity;
use crate::registry::RegistryView;
use crate::report::{
    CaptureReport, CaptureStatus, HostReport, InputSummary, Report, TimelineReport,
};
use crate::timeline::{self, TimelineOptions};

/// Options for a run.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub capture: CaptureOptions,
    /// Which events the event-log reader keeps.
    pub events: EventFilter,
    /// Correlation windows of the timeline.
    pub timeline: TimelineOptions,
    /// How long the readers of one capture may take before they stop and report what they did
    /// not read (`None`: no limit). See [`Deadline`].
    pub time_limit: Option<std::time::Duration>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            capture: CaptureOptions::default(),
            events: EventFilter::rds(),
            timeline: TimelineOptions::default(),
            time_limit: None,
        }
    }
}

/// Everything read from one capture, before interpretation.
pub struct Analysis {
    pub capture: capture::Capture,
    pub registry: RegistryView,
    /// The relevant events of every EVTX input, sorted by (time, file, record id).
    pub events: Vec<Event>,
}

/// Open a capture and run the readers over its inputs. Input statuses and problems are updated in
/// place; every input ends in a final status.
pub fn read_capture(path: &Path, opts: &AnalyzeOptions) -> crate::Result<Analysis> {
    let deadline = Deadline::from_limit(opts.time_limit);
    let mut capture = capture::open(path, &opts.capture)?;
    let registry = RegistryView::load(&capture.inputs).apply_to(&mut capture.inputs);
    let mut events: Vec<Event> = capture
        .inputs
        .par_iter_mut()
        .filter(|i| i.kind == InputKind::Evtx && i.status == InputStatus::Pending)
        .flat_map_iter(|input| {
            let (report, reading) = eventlog::read_input(input, &opts.events, deadline);
            input.apply(reading);
            report.events
        })
        .collect();
    eventlog::query::sort_events(&mut events);
    finish_statuses(&mut capture.inputs);
    Ok(Analysis {
        capture,
        registry,
        events,
    })
}

/// Inputs that no reader took up keep `pending`; say so instead of leaving them silent.
fn finish_statuses(inputs: &mut [capture::Input]) {
    for input in inputs
        .iter_mut()
        .filter(|i| i.status == InputStatus::Pending)
    {
        let why = match input.kind {
            InputKind::HiveLog => {
                "transaction log not used: no dirty hive of the capture pairs with it"
            }
            _ => "recognised but not read by this version of rdsdiag",
        };
        input.status = InputStatus::Ignored;
        input
            .problems
            .push(Problem::info(ProblemCode::NotRead, why));
    }
}

/// Analyse one capture into its report. Never fails: a capture that cannot be opened becomes a
/// `failed` report with the reason.
pub fn analyze_capture(path: &Path, opts: &AnalyzeOptions) -> CaptureReport {
    let analysis = match read_capture(path, opts) {
        Ok(a) => a,
        Err(e) => return CaptureReport::failed(path.to_path_buf(), e.to_string()),
    };
    if !analysis.capture.inputs.iter().any(|i| is_evidence(i.kind)) {
        let mut failed = CaptureReport::failed(
            path.to_path_buf(),
            format!(
                "{}: no evidence found: none of its {} file(s) is a registry hive, registry export or event log",
                path.display(),
                analysis.capture.inputs.len()
            ),
        );
        failed.input_summary = InputSummary::of(&analysis.capture.inputs);
        failed.inputs = analysis.capture.inputs;
        return failed;
    }
    let host = HostReport {
        identity: HostIdentity::read(&analysis.registry),
        facts: host_facts(&analysis.registry),
    };
    let settings = config::resolve(&analysis.registry);
    let timeline = timeline::build(
        &analysis.events,
        host.identity.computer_name.value().map(String::as_str),
        &opts.timeline,
    );
    let diagnosis = diagnose::diagnose(&diagnose::Model {
        host: &host.identity,
        facts: &host.facts,
        settings: &settings,
        events: &analysis.events,
        timeline: &timeline,
        inputs: &analysis.capture.inputs,
    });
    let capture = analysis.capture;
    CaptureReport {
        path: capture.path,
        status: CaptureStatus::Analysed,
        error: None,
        layout: Some(capture.layout),
        host: Some(host),
        settings: Some(settings),
        findings: diagnosis.findings,
        undecided: diagnosis.undecided,
        timeline: Some(TimelineReport::of(timeline)),
        input_summary: InputSummary::of(&capture.inputs),
        inputs: capture.inputs,
    }
}

fn is_evidence(kind: InputKind) -> bool {
    matches!(
        kind,
        InputKind::Hive
            | InputKind::HiveLog
            | InputKind::Evtx
            | InputKind::RegExport
            | InputKind::RegQuery
    )
}

/// Analyse many captures in parallel; the report keeps the order of `paths`.
pub fn analyze(paths: &[PathBuf], opts: &AnalyzeOptions) -> Report {
    let captures = paths.par_iter().map(|p| analyze_capture(p, opts)).collect();
    Report::new(captures)
}
