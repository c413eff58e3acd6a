//! The one staged pipeline every command runs through: **acquire** (inventory a capture) →
//! **read** (registry view, event logs) → **resolve** (host, effective configuration) →
//! **correlate** (timeline) → **diagnose**. Each command is one call here that runs the stages it
//! needs and returns a typed outcome (see `report`) carrying its problems; the CLI only renders
//! it and maps [`crate::report::RunStatus`] to an exit code.
//!
//! This is the one place that runs captures in parallel (one global rayon pool over captures and
//! files; no nested pools), and the one place that isolates a capture: a panic inside a parser
//! becomes a failed capture naming it, and the rest of the run goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::capture::{self, Capture, CaptureOptions, Input};
use crate::config;
use crate::diagnose;
use crate::eventlog::{self, query::Query, Event, EventFilter};
use crate::evidence::{Deadline, InputKind, InputStatus, Problem, ProblemCode, Reading};
use crate::host::facts::host_facts;
use crate::host::{self, HostIdentity};
use crate::registry::{self, RegistryView};
use crate::report::{
    CaptureReport, CaptureStatus, ConfigCapture, ConfigReport, EventsReport, HostReport,
    InputSummary, OtherComputer, RegReport, Report, RuleRow, Split, SplitBy, TimelineOutcome,
    TimelineReport, Verdict,
};
use crate::timeline::{self, TimelineOptions};

/// Options of a run, shared by every command.
#[derive(Debug, Clone)]
pub struct Options {
    pub capture: CaptureOptions,
    /// Which events the event-log reader keeps.
    pub events: EventFilter,
    /// Correlation windows of the timeline.
    pub timeline: TimelineOptions,
    /// How long the readers of one capture may take before they stop and report what they did
    /// not read (`None`: no limit). See [`Deadline`].
    pub time_limit: Option<std::time::Duration>,
}

/// The name the first build-out used; kept for callers of the library.
pub type AnalyzeOptions = Options;

impl Default for Options {
    fn default() -> Self {
        Options {
            capture: CaptureOptions::default(),
            events: EventFilter::rds(),
            timeline: TimelineOptions::default(),
            time_limit: None,
        }
    }
}

/// Which readers a command needs. Inputs whose reader does not run are listed as not read by
/// this command (an info note, not damage), so every input still ends in a final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readers {
    pub registry: bool,
    pub events: bool,
}

impl Readers {
    pub const ALL: Readers = Readers {
        registry: true,
        events: true,
    };
    pub const REGISTRY: Readers = Readers {
        registry: true,
        events: false,
    };
    pub const EVENTS: Readers = Readers {
        registry: false,
        events: true,
    };
}

/// Everything read from one capture, before interpretation.
pub struct Evidence {
    pub capture: Capture,
    pub registry: RegistryView,
    /// The relevant events of every EVTX input, sorted by (time, file, record id).
    pub events: Vec<Event>,
    /// Every gpresult report of the capture that could be read (read with the registry).
    pub gpresult: Vec<crate::gpresult::Report>,
}

/// Why a capture could not be analysed: it could not be opened (missing, refused archive, not
/// readable) or a parser panicked on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: PathBuf,
    pub reason: String,
    pub kind: crate::error::FailureKind,
}

impl Failure {
    fn of(path: &Path, e: &crate::Error) -> Failure {
        Failure {
            path: path.to_path_buf(),
            reason: e.to_string(),
            kind: e.kind(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

// ---------------------------------------------------------------------------------------------
// Stages.

/// Acquire and read: open the capture and run the readers it needs over its inputs. Every input
/// ends in a final status and has its SHA-256 (readers hash what they read; the rest is hashed
/// here).
pub fn read_capture(path: &Path, opts: &Options, readers: Readers) -> crate::Result<Evidence> {
    let capture = capture::open(path, &opts.capture)?;
    Ok(read_acquired(capture, opts, readers))
}

/// Read: run the readers a command needs over an acquired capture.
pub fn read_acquired(mut capture: Capture, opts: &Options, readers: Readers) -> Evidence {
    let deadline = Deadline::from_limit(opts.time_limit);
    let registry = if readers.registry {
        RegistryView::load(&capture.inputs).apply_to(&mut capture.inputs)
    } else {
        RegistryView::load(&[]).view
    };
    let mut events = Vec::new();
    if readers.events {
        events = read_event_logs(&mut capture.inputs, &opts.events, deadline);
    }
    let gpresult = read_gpresult(&mut capture.inputs, readers.registry);
    finish_inputs(&mut capture.inputs, readers);
    Evidence {
        capture,
        registry,
        events,
        gpresult,
    }
}

/// Read every pending gpresult input (read with the registry: it is configuration evidence) and
/// apply what the reader found to it; the reports that could be read, in path order.
fn read_gpresult(inputs: &mut [Input], registry: bool) -> Vec<crate::gpresult::Report> {
    inputs
        .par_iter_mut()
        .filter(|i| i.kind == InputKind::Gpresult && i.status == InputStatus::Pending)
        .filter_map(|input| {
            if !registry {
                input.apply(Reading::new(
                    InputStatus::Ignored,
                    vec![Problem::info(
                        ProblemCode::NotRead,
                        "gpresult output not read by this command",
                    )],
                ));
                return None;
            }
            let (report, reading) = crate::gpresult::read_input(input);
            input.apply(reading);
            report
        })
        .collect()
}

/// Read every pending EVTX input (one task per file on the global pool) and apply what each
/// reader found to its input.
fn read_event_logs(inputs: &mut [Input], filter: &EventFilter, deadline: Deadline) -> Vec<Event> {
    let mut events: Vec<Event> = inputs
        .par_iter_mut()
        .filter(|i| i.kind == InputKind::Evtx && i.status == InputStatus::Pending)
        .flat_map_iter(|input| {
            let (report, reading) = eventlog::read_input(input, filter, deadline);
            input.apply(reading);
            report.events
        })
        .collect();
    eventlog::query::sort_events(&mut events);
    events
}

/// Inputs no reader took up get a final status with the reason; inputs no reader hashed are
/// hashed now (each file is still read once).
fn finish_inputs(inputs: &mut [Input], readers: Readers) {
    inputs.par_iter_mut().for_each(|input| {
        if input.status == InputStatus::Pending {
            let why = match input.kind {
                InputKind::HiveLog if readers.registry => {
                    "transaction log not used: no dirty hive of the capture pairs with it"
                }
                InputKind::Evtx if !readers.events => "event log not read by this command",
                kind if (kind.is_registry() || kind.is_group_policy()) && !readers.registry => {
                    "registry evidence not read by this command"
                }
                _ => "recognised but not read by this version of rdsdiag",
            };
            input.status = InputStatus::Ignored;
            input
                .problems
                .push(Problem::info(ProblemCode::NotRead, why));
        }
        if input.sha256.is_empty() && input.kind.hashed_by_reader() {
            match input.open_stream().and_then(|r| {
                capture::sha256_of(r).map_err(|e| crate::Error::io(input.display_path(), e))
            }) {
                Ok(sha) => input.sha256 = sha,
                Err(e) => input.problems.push(Problem::warning(
                    ProblemCode::Unreadable,
                    format!("cannot hash: {e}"),
                )),
            }
        }
    });
}

/// Resolve: the host's identity and facts, the effective RDS configuration with its Group
/// Policy attribution, and what the gpresult output says.
fn resolve(
    registry: &RegistryView,
    reports: &[crate::gpresult::Report],
) -> (
    HostReport,
    config::Settings,
    Option<config::GpresultSummary>,
) {
    let resolved = config::resolve_capture(registry, reports);
    let host = HostReport {
        identity: HostIdentity::read(registry),
        facts: host_facts(registry),
        group_policy: resolved.group_policy,
    };
    (host, resolved.settings, resolved.gpresult)
}

/// Run `f` with a capture isolated: a panic inside it becomes a [`Failure`] naming the capture.
pub fn isolated<T>(path: &Path, f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(Failure {
            path: path.to_path_buf(),
            reason: format!(
                "internal error while analysing (a parser panicked: {msg}); the rest of the run went on"
            ),
            kind: crate::error::FailureKind::Internal,
        })
    })
}

/// [`read_capture`], isolated, with errors as [`Failure`].
fn read_isolated(path: &Path, opts: &Options, readers: Readers) -> Result<Evidence, Failure> {
    isolated(path, || {
        read_capture(path, opts, readers).map_err(|e| Failure::of(path, &e))
    })
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// `analyze`: one capture through every stage into its report. Never fails: a capture that
/// cannot be opened, or whose parser panicked, becomes a `failed` report with the reason.
pub fn analyze_capture(path: &Path, opts: &Options) -> CaptureReport {
    isolated(path, || {
        Ok(analyze_evidence(
            path,
            read_isolated(path, opts, Readers::ALL)?,
            opts,
        ))
    })
    .unwrap_or_else(|f| CaptureReport::failed(f.path, f.reason, f.kind))
}

/// `analyze` of one path: the capture there, or — when it is only archives of evidence (a zip of
/// per-machine zips) — one report per archive, each isolated.
pub fn analyze_path(path: &Path, opts: &Options) -> Vec<CaptureReport> {
    let acquired = isolated(path, || {
        capture::open(path, &opts.capture).map_err(|e| Failure::of(path, &e))
    });
    let capture = match acquired {
        Ok(c) => c,
        Err(f) => return vec![CaptureReport::failed(f.path, f.reason, f.kind)],
    };
    let parts: Vec<(Capture, Option<Split>)> = match capture::split_archives(&capture) {
        Some(parts) => {
            let n = parts.len();
            parts
                .into_iter()
                .map(|c| {
                    let split = Split {
                        from: path.to_path_buf(),
                        by: SplitBy::Archive,
                        captures: n,
                        outside: Vec::new(),
                    };
                    (c, Some(split))
                })
                .collect()
        }
        None => vec![(capture, None)],
    };
    parts
        .into_par_iter()
        .flat_map_iter(|(c, split)| {
            let p = c.path.clone();
            isolated(&p, || {
                let evidence = read_acquired(c, opts, Readers::ALL);
                Ok(match split_by_logs(&evidence) {
                    Some(parts) => {
                        let n = parts.len();
                        parts
                            .into_iter()
                            .map(|(e, outside)| {
                                let p = e.capture.path.clone();
                                let mut r = analyze_evidence(&p, e, opts);
                                r.split = Some(Split {
                                    from: path.to_path_buf(),
                                    by: SplitBy::EventComputer,
                                    captures: n,
                                    outside: outside.clone(),
                                });
                                r
                            })
                            .collect()
                    }
                    None => {
                        let mut r = analyze_evidence(&p, evidence, opts);
                        r.split = split;
                        vec![r]
                    }
                })
            })
            .unwrap_or_else(|f| vec![CaptureReport::failed(f.path, f.reason, f.kind)])
        })
        .collect()
}

/// Loose event logs of several computers (no registry evidence to tie them together), each
/// file's records naming one computer: one capture per computer, named `<path> (<COMPUTER>)`,
/// with the files whose records name none listed as outside them all. `None` when there is no
/// such safe split.
fn split_by_logs(evidence: &Evidence) -> Option<Vec<(Evidence, Vec<String>)>> {
    use std::collections::{BTreeMap, BTreeSet};
    let inputs = &evidence.capture.inputs;
    if inputs.iter().any(|i| i.kind.is_registry()) {
        return None;
    }
    let mut names_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for e in &evidence.events {
        if let Some(c) = e.computer.as_deref().filter(|c| !c.trim().is_empty()) {
            names_of
                .entry(&e.file)
                .or_default()
                .insert(host::netbios(c));
        }
    }
    let mut machines: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (file, names) in &names_of {
        if names.len() != 1 {
            return None;
        }
        let name = names.iter().next().cloned().unwrap_or_default();
        machines.entry(name).or_default().insert(file);
    }
    if machines.len() < 2 {
        return None;
    }
    let outside: Vec<String> = inputs
        .iter()
        .filter(|i| !names_of.contains_key(i.path.as_str()))
        .map(|i| i.path.clone())
        .collect();
    let parts = machines
        .iter()
        .map(|(name, files)| {
            let capture = Capture {
                path: PathBuf::from(format!("{} ({name})", evidence.capture.path.display())),
                layout: evidence.capture.layout.clone(),
                inputs: inputs
                    .iter()
                    .filter(|i| files.contains(i.path.as_str()))
                    .cloned()
                    .collect(),
            };
            let events = evidence
                .events
                .iter()
                .filter(|e| files.contains(e.file.as_ref()))
                .cloned()
                .collect();
            let part = Evidence {
                capture,
                registry: RegistryView::load(&[]).view,
                events,
                gpresult: Vec::new(),
            };
            (part, outside.clone())
        })
        .collect();
    Some(parts)
}

fn analyze_evidence(path: &Path, evidence: Evidence, opts: &Options) -> CaptureReport {
    if !evidence.capture.inputs.iter().any(|i| i.kind.is_evidence()) {
        let mut failed = CaptureReport::failed(
            path.to_path_buf(),
            format!(
                "{}: no evidence found: none of its {} file(s) is a registry hive, registry export or event log",
                path.display(),
                evidence.capture.inputs.len()
            ),
            crate::error::FailureKind::NoEvidence,
        );
        failed.input_summary = InputSummary::of(&evidence.capture.inputs);
        failed.inputs = evidence.capture.inputs;
        return failed;
    }
    let (mut host, settings, gpresult) = resolve(&evidence.registry, &evidence.gpresult);
    host.identity.names_in_logs = host::names_in_logs(
        &evidence.events,
        host.identity.computer_name.value().map(String::as_str),
    );
    let names = host.identity.own_names();
    let timeline = timeline::build_with_names(
        &evidence.events,
        names.first().copied(),
        names.get(1..).unwrap_or_default(),
        &opts.timeline,
    );
    let diagnosis = diagnose::diagnose(&diagnose::Model {
        host: &host.identity,
        facts: &host.facts,
        settings: &settings,
        events: &evidence.events,
        timeline: &timeline,
        inputs: &evidence.capture.inputs,
    });
    let mixed = other_computers(&host.identity, &evidence);
    let mut user_policy = config::user_policy::read(&evidence.registry, &settings);
    if let (Some(up), Some(gp)) = (user_policy.as_mut(), gpresult.as_ref()) {
        up.attach_gpresult(gp);
    }
    let capture = evidence.capture;
    CaptureReport {
        path: capture.path,
        split: None,
        status: CaptureStatus::Analysed,
        verdict: Verdict::Inconclusive,
        error: None,
        error_kind: None,
        layout: Some(capture.layout),
        host: Some(host),
        settings: Some(settings),
        gpresult,
        user_policy,
        mixed,
        findings: diagnosis.findings,
        undecided: diagnosis.undecided,
        timeline: Some(TimelineReport::of(timeline)),
        input_summary: InputSummary::of(&capture.inputs),
        inputs: capture.inputs,
    }
    .decided()
}

/// The other computers whose evidence a capture mixes with the host's: SYSTEM hives naming
/// another computer, and event records of another computer (not an earlier or later name of the
/// host), with the files and records naming each.
fn other_computers(host: &HostIdentity, evidence: &Evidence) -> Vec<OtherComputer> {
    let own: Vec<String> = host.own_names().iter().map(|n| host::netbios(n)).collect();
    let mut out: Vec<OtherComputer> = Vec::new();
    let systems: Vec<&Input> = evidence
        .capture
        .inputs
        .iter()
        .filter(|i| i.kind == InputKind::Hive && i.hive == Some(crate::evidence::HiveKind::System))
        .collect();
    if systems.len() > 1 {
        for input in systems {
            // Read this hive alone (as the loader reads an input it has not seen yet).
            let mut alone = input.clone();
            alone.status = InputStatus::Pending;
            let one = RegistryView::load(std::slice::from_ref(&alone)).view;
            let Some(name) = HostIdentity::read(&one)
                .computer_name
                .value()
                .map(|n| host::netbios(n))
            else {
                continue;
            };
            if own.contains(&name) {
                continue;
            }
            match out.iter_mut().find(|o| o.name == name) {
                Some(o) => o.files.push(input.path.clone()),
                None => out.push(OtherComputer {
                    name,
                    named_by: "SYSTEM hive",
                    files: vec![input.path.clone()],
                    events: 0,
                }),
            }
        }
    }
    for n in host
        .names_in_logs
        .iter()
        .filter(|n| n.relation == host::NameRelation::OtherComputer)
    {
        let mut files: Vec<String> = evidence
            .events
            .iter()
            .filter(|e| {
                e.computer
                    .as_deref()
                    .is_some_and(|c| host::netbios(c) == n.name)
            })
            .map(|e| e.file.to_string())
            .collect();
        files.sort();
        files.dedup();
        out.push(OtherComputer {
            name: n.name.clone(),
            named_by: "event records",
            files,
            events: n.events,
        });
    }
    out
}

/// The captures a path holds: the path itself; or, for a folder with no evidence of its own
/// that holds several captures (collector trees, folders of one machine's files, zips), each of
/// them, with how they were told apart. `batch` finds captures by the same rule.
pub fn captures_in(path: &Path) -> Vec<(PathBuf, Option<Split>)> {
    let whole = || vec![(path.to_path_buf(), None)];
    if !path.is_dir() || capture::roots::is_capture_dir(path) {
        return whole();
    }
    let Ok(found) = capture::roots::find_captures(path) else {
        return whole();
    };
    let separable = found.len() >= 2
        && found
            .iter()
            .all(|p| p.is_dir() || capture::roots::is_zip_name(p));
    if !separable {
        return whole();
    }
    let n = found.len();
    let outside = capture::roots::files_outside(path, &found);
    found
        .into_iter()
        .map(|p| {
            let split = Split {
                from: path.to_path_buf(),
                by: SplitBy::CollectorRoot,
                captures: n,
                outside: outside.clone(),
            };
            (p, Some(split))
        })
        .collect()
}

/// `analyze`: many paths in parallel, each split into the captures it holds
/// ([`captures_in`]); the report keeps the order of `paths`, then of the captures found.
pub fn analyze(paths: &[PathBuf], opts: &Options) -> Report {
    analyze_with_progress(paths, opts, &|_| {})
}

/// How far `analyze` is, for a progress display: the library never prints, the caller shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The captures found in the paths given, before any is read.
    Found { captures: usize },
    /// A capture started.
    Started { path: PathBuf },
    /// A capture is done (its reports are ready).
    Done { path: PathBuf },
}

/// `analyze`, calling `progress` (from any worker thread) as captures are found, start and end.
pub fn analyze_with_progress(
    paths: &[PathBuf],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Report {
    let expanded: Vec<(PathBuf, Option<Split>)> =
        paths.iter().flat_map(|p| captures_in(p)).collect();
    progress(Progress::Found {
        captures: expanded.len(),
    });
    let captures: Vec<Vec<CaptureReport>> = expanded
        .par_iter()
        .map(|(p, split)| {
            progress(Progress::Started { path: p.clone() });
            let _done = DoneGuard(progress, p);
            let mut reports = analyze_path(p, opts);
            if split.is_some() {
                for r in &mut reports {
                    r.split = r.split.take().or_else(|| split.clone());
                }
            }
            reports
        })
        .collect();
    Report::new(captures.into_iter().flatten().collect())
}

/// Reports a capture done when dropped, even when its analysis unwinds.
struct DoneGuard<'a>(&'a (dyn Fn(Progress) + Sync), &'a PathBuf);

impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        (self.0)(Progress::Done {
            path: self.1.clone(),
        });
    }
}

/// The one capture at `path`, for the commands that read one: a path holding several captures is
/// refused with their names (reading them as one would mix machines).
fn single_capture(path: &Path) -> Result<(), Failure> {
    let found = captures_in(path);
    if found.len() < 2 {
        return Ok(());
    }
    let names: Vec<String> = found.iter().map(|(p, _)| p.display().to_string()).collect();
    Err(Failure {
        path: path.to_path_buf(),
        reason: format!(
            "{} holds {} captures (several machines' evidence); give one of them: {}",
            path.display(),
            names.len(),
            names.join(", ")
        ),
        kind: crate::error::FailureKind::SeveralCaptures,
    })
}

/// `config`: the effective configuration and host facts of each capture (registry evidence
/// only), in parallel, each capture isolated; a path holding several captures is split as
/// `analyze` splits it.
pub fn config(paths: &[PathBuf], opts: &Options) -> ConfigReport {
    let paths: Vec<PathBuf> = paths
        .iter()
        .flat_map(|p| captures_in(p))
        .map(|(p, _)| p)
        .collect();
    let captures = paths
        .par_iter()
        .map(|path| {
            isolated(path, || {
                let evidence = read_isolated(path, opts, Readers::REGISTRY)?;
                let (host, settings, gpresult) = resolve(&evidence.registry, &evidence.gpresult);
                let mut user_policy = config::user_policy::read(&evidence.registry, &settings);
                if let (Some(up), Some(gp)) = (user_policy.as_mut(), gpresult.as_ref()) {
                    up.attach_gpresult(gp);
                }
                Ok(
                    ConfigCapture::analysed(path.clone(), host, settings, evidence.capture.inputs)
                        .with_policy(gpresult, user_policy),
                )
            })
            .unwrap_or_else(|f| ConfigCapture::failed(f.path, f.reason, f.kind))
        })
        .collect();
    ConfigReport::new(captures)
}

/// `events`: the normalised events of a capture's EVTX inputs that match `query`, oldest first,
/// with what each file yielded.
pub fn events(path: &Path, query: &Query, opts: &Options) -> Result<EventsReport, Failure> {
    let opts = Options {
        events: query.filter(),
        ..opts.clone()
    };
    single_capture(path)?;
    isolated(path, || {
        let evidence = read_isolated(path, &opts, Readers::EVENTS)?;
        let events = evidence
            .events
            .into_iter()
            .filter(|e| query.in_window(e.time))
            .collect();
        Ok(EventsReport::new(path, events, evidence.capture.inputs))
    })
}

/// `timeline`: the capture's sessions rebuilt from its event logs, with the patterns that
/// explain disconnects (the registry is read for the host's name).
pub fn timeline(path: &Path, opts: &Options) -> Result<TimelineOutcome, Failure> {
    single_capture(path)?;
    isolated(path, || {
        let evidence = read_isolated(path, opts, Readers::ALL)?;
        let mut host = HostIdentity::read(&evidence.registry);
        host.names_in_logs = host::names_in_logs(
            &evidence.events,
            host.computer_name.value().map(String::as_str),
        );
        let names = host.own_names();
        let timeline = timeline::build_with_names(
            &evidence.events,
            names.first().copied(),
            names.get(1..).unwrap_or_default(),
            &opts.timeline,
        );
        let mut outcome = TimelineOutcome::new(
            path,
            timeline,
            evidence.events.len(),
            evidence.capture.inputs,
        );
        outcome.host_time_zone = Some(host.time_zone);
        Ok(outcome)
    })
}

/// The host's time zone from the capture's SYSTEM hive (registry only), for `--tz host` on the
/// commands that do not read the registry themselves (`events`, `reg` reads it anyway).
pub fn host_time_zone(path: &Path, opts: &Options) -> Result<host::TimeZone, Failure> {
    single_capture(path)?;
    isolated(path, || {
        let evidence = read_isolated(path, opts, Readers::REGISTRY)?;
        Ok(HostIdentity::read(&evidence.registry).time_zone)
    })
}

/// What `reg` asks: a key, optionally one value, optionally recursive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegQuery {
    pub key: String,
    pub value: Option<String>,
    pub recurse: bool,
}

/// Why `reg` could not answer.
#[derive(Debug)]
pub enum RegError {
    /// The capture could not be read.
    Capture(Failure),
    /// The key is not one rdsdiag can look up.
    Key(registry::query::QueryError),
}

/// `reg`: `reg query` over the capture's registry evidence.
pub fn reg(path: &Path, q: &RegQuery, opts: &Options) -> Result<RegReport, RegError> {
    single_capture(path).map_err(RegError::Capture)?;
    let evidence = read_isolated(path, opts, Readers::REGISTRY).map_err(RegError::Capture)?;
    let answer = isolated(path, || {
        Ok(registry::query::run(
            &evidence.registry,
            &q.key,
            q.value.as_deref(),
            q.recurse,
        ))
    })
    .map_err(RegError::Capture)?
    .map_err(RegError::Key)?;
    Ok(RegReport::new(path, answer, evidence.capture.inputs))
}

/// Every rule: the per-capture rules, then the fleet rules of `batch`.
pub fn all_rules() -> impl Iterator<Item = &'static diagnose::RuleMeta> {
    diagnose::rules::RULES
        .iter()
        .map(|r| r.meta())
        .chain(crate::batch::FLEET_RULES.iter().copied())
}

/// `rules`: one row per rule.
pub fn rules() -> Vec<RuleRow> {
    all_rules()
        .map(|m| {
            let doc = m.parsed();
            RuleRow {
                id: m.id,
                severity: m.severity.name(),
                title: doc.title.clone(),
                links: doc.links(),
            }
        })
        .collect()
}

/// `explain`: a rule by id (case-insensitive), or the known ids.
pub fn explain(id: &str) -> Result<&'static diagnose::RuleMeta, Vec<&'static str>> {
    all_rules()
        .find(|m| m.id.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| all_rules().map(|m| m.id).collect())
}

/// Analyse captures in parallel on the global pool, each isolated ([`analyze_path`]; a path may hold several captures), turn each report
/// into what the caller keeps with `transform` (on the worker thread: serialising is part of the
/// parallel work), and hand the results to `sink` in the order of `paths`, on the calling thread.
///
/// The calling thread keeps a window of 16 captures per pool thread in flight (enough that a slow
/// capture rarely leaves a thread idle while the results after it wait): it spawns one
/// task per capture, and spawns the next one each time it hands a result to `sink`. There is no
/// barrier between groups of captures, memory stays flat however many captures there are, and
/// output order does not depend on timing. Tasks never block (a task blocking inside the pool can
/// end up stacked on top of the task it waits for, when a thread steals work during a nested
/// join). `on_done` is called after each capture (progress).
pub fn batch<T: Send>(
    paths: &[PathBuf],
    opts: &Options,
    on_done: &(dyn Fn() + Sync),
    transform: impl Fn(CaptureReport) -> T + Sync,
    mut sink: impl FnMut(T),
) {
    let window = (rayon::current_num_threads() * 16).max(32);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Option<Vec<T>>)>();
    let mut lost = None;
    rayon::in_place_scope(|scope| {
        let transform = &transform;
        let spawn = |i: usize| {
            let tx = tx.clone();
            scope.spawn(move |_| {
                // analyze_path contains panics of the analysis; this also guards the transform, so a
                // result always arrives and the calling thread never waits for ever.
                let r = catch_unwind(AssertUnwindSafe(|| {
                    // A path may hold several captures (a zip of per-machine zips).
                    let r: Vec<T> = analyze_path(&paths[i], opts)
                        .into_iter()
                        .map(transform)
                        .collect();
                    on_done();
                    r
                }))
                .ok();
                let _ = tx.send((i, r));
            });
        };
        let mut spawned = paths.len().min(window);
        (0..spawned).for_each(spawn);
        let mut pending = std::collections::BTreeMap::new();
        let mut next_out = 0usize;
        while next_out < paths.len() {
            let Ok((i, r)) = rx.recv() else { break };
            pending.insert(i, r);
            while let Some(r) = pending.remove(&next_out) {
                match r {
                    Some(r) => r.into_iter().for_each(&mut sink),
                    None => lost = lost.or(Some(next_out)),
                }
                next_out += 1;
                if spawned < paths.len() {
                    spawn(spawned);
                    spawned += 1;
                }
            }
        }
    });
    if let Some(i) = lost {
        panic!(
            "internal error: turning the report of {} into output panicked",
            paths[i].display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Paths that do not exist: each capture fails at once (a cheap, real run of the pipeline).
    fn missing(n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| PathBuf::from(format!("no-such-capture-{i:03}")))
            .collect()
    }

    #[test]
    fn run_hands_results_over_in_input_order() {
        let paths = missing(97);
        let done = AtomicUsize::new(0);
        let mut seen = Vec::new();
        batch(
            &paths,
            &Options::default(),
            &|| {
                done.fetch_add(1, Ordering::Relaxed);
            },
            |r| {
                // Uneven work, so results arrive out of order.
                if r.path.to_string_lossy().ends_with('3') {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                (r.path, r.error.is_some())
            },
            |(p, failed)| seen.push((p, failed)),
        );
        assert_eq!(done.load(Ordering::Relaxed), paths.len());
        assert_eq!(
            seen.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
            paths
        );
        assert!(seen.iter().all(|(_, failed)| *failed));
    }

    #[test]
    fn a_panicking_transform_fails_the_run_instead_of_hanging_it() {
        let paths = missing(40);
        let r = catch_unwind(AssertUnwindSafe(|| {
            batch(
                &paths,
                &Options::default(),
                &|| {},
                |r| {
                    assert!(!r.path.ends_with("no-such-capture-005"), "boom");
                    r.path
                },
                |_| {},
            )
        }));
        let msg = r.expect_err("panics");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("no-such-capture-005"), "{msg}");
    }

    #[test]
    fn a_panic_becomes_a_failure_naming_the_capture() {
        let r: Result<(), Failure> = isolated(Path::new("cap.zip"), || panic!("boom at 0x40"));
        let f = r.expect_err("isolated");
        assert_eq!(f.path, Path::new("cap.zip"));
        assert!(
            f.reason.contains("a parser panicked: boom at 0x40"),
            "{}",
            f.reason
        );
    }

    #[test]
    fn analyze_isolates_each_capture() {
        let paths = missing(3);
        let report = analyze(&paths, &Options::default());
        assert_eq!(report.captures.len(), 3);
        assert!(report.captures.iter().all(|c| c.error.is_some()));
        assert_eq!(report.status(), crate::report::RunStatus::Failed);
    }
}
