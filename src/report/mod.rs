//! Report: the serialisable outcomes of the commands (`schema_version`ed JSON contract, see
//! `docs/json-contract.md`) and the one rule for how a run ended ([`RunStatus`]). Serialise-only
//! types: the render layer (`render`) turns them into every output format.

mod commands;
mod sessions;
mod status;

pub use commands::{
    ConfigCapture, ConfigReport, EventFile, EventsReport, RegReport, RuleRow, TimelineOutcome,
};
pub use sessions::{
    DisconnectClass, DisconnectReport, Marker, MarkerKind, RecordRef, SessionReport, CHART_CLASSES,
};
pub use status::{
    input_damaged, status_of, status_of_inputs, worst_severity, RunStatus, Verdict, VerdictInputs,
};

use std::path::PathBuf;

use serde::Serialize;

use crate::capture::{Input, LayoutInfo};
use crate::config::{GpresultSummary, Settings, UserPolicy};
use crate::diagnose::{Finding, Severity, Undecided};
use crate::evidence::InputStatus;
use crate::host::facts::HostFacts;
use crate::host::HostIdentity;
use crate::timeline::{ClockChange, Pattern, Timeline, TimelineSummary};

/// Version of the JSON contract. Bump it when a field changes meaning or disappears; adding fields
/// does not bump it.
pub const SCHEMA_VERSION: u32 = 2;

/// The whole result of `rdsdiag analyze`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// One entry per path given, in the order given.
    pub captures: Vec<CaptureReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Report {
    pub fn new(captures: Vec<CaptureReport>) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            captures,
        }
    }

    /// How the run ended: the worst of its captures.
    pub fn status(&self) -> RunStatus {
        self.captures
            .iter()
            .map(CaptureReport::status)
            .max()
            .unwrap_or(RunStatus::Clean)
    }
}

/// Analysis status of one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureStatus {
    Analysed,
    Failed,
}

/// How a capture was found when one path given held several captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// The path given.
    pub from: PathBuf,
    /// What told the captures apart.
    pub by: SplitBy,
    /// How many captures the path held.
    pub captures: usize,
    /// Files of the path given that belong to none of its captures (paths relative to it), so
    /// every file is still accounted for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
}

/// What told a path's captures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// Each is a collector tree (KAPE, Velociraptor, MSRD-Collect, TSS), a folder of one
    /// machine's files, or a zip.
    CollectorRoot,
    /// Each is an archive inside the path given (a zip of per-machine zips).
    Archive,
    /// Loose event logs of several computers: each capture is the logs whose records name one
    /// computer.
    EventComputer,
}

/// A computer other than the host whose evidence is in the capture, with no safe way to split
/// it off (its files share a folder with the host's): reported, never silently merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherComputer {
    /// NetBIOS name, upper case.
    pub name: String,
    /// What names it: `SYSTEM hive`, `event records`.
    pub named_by: &'static str,
    /// Files naming it (hives, or event logs with records of it).
    pub files: Vec<String>,
    /// Event records naming it (0 for a hive).
    pub events: u64,
}

/// Everything rdsdiag learned from one capture.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureReport {
    pub path: PathBuf,
    /// Set when this capture is one of several found in the path given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    pub status: CaptureStatus,
    /// What the analysis concluded: `problems`, `healthy`, `inconclusive` or `failed`
    /// ([`Verdict`]).
    pub verdict: Verdict,
    /// Why the capture could not be analysed (status `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of `error` (`not_found`, `archive_refused`, `internal`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<crate::error::FailureKind>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// Effective RDS configuration, `settings.<name>` (see `docs/configuration.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// Which GPO set each setting and which it beat, from gpresult output (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpresult: Option<GpresultSummary>,
    /// Every user hive's RDS user policy (absent without user hives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_policy: Option<UserPolicy>,
    /// Other computers whose evidence the capture mixes with the host's (see [`OtherComputer`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mixed: Vec<OtherComputer>,
    /// Diagnoses, most important first (`docs/rules/`).
    pub findings: Vec<Finding>,
    /// Rules the evidence could not decide, with what is missing.
    pub undecided: Vec<Undecided>,
    /// Summary of the session timeline (the full timeline: `rdsdiag timeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineReport>,
    /// Every file of the capture, sorted by path.
    pub inputs: Vec<Input>,
    pub input_summary: InputSummary,
}

impl CaptureReport {
    pub fn failed(path: PathBuf, error: String, kind: crate::error::FailureKind) -> Self {
        CaptureReport {
            path,
            split: None,
            status: CaptureStatus::Failed,
            verdict: Verdict::Failed,
            error: Some(error),
            error_kind: Some(kind),
            layout: None,
            host: None,
            settings: None,
            gpresult: None,
            user_policy: None,
            mixed: Vec::new(),
            findings: Vec::new(),
            undecided: Vec::new(),
            timeline: None,
            inputs: Vec::new(),
            input_summary: InputSummary::default(),
        }
    }

    /// What [`Verdict::decide`] reads from this report.
    pub fn verdict_inputs(&self) -> VerdictInputs {
        let summary = self.timeline.as_ref().map(|t| &t.summary);
        VerdictInputs {
            failed: self.error.is_some(),
            problem_findings: self
                .findings
                .iter()
                .any(|f| f.severity >= Severity::Warning),
            licensing_disconnects: summary.map_or(0, |s| s.licensing_disconnects),
            patterns: self.timeline.as_ref().map_or(0, |t| t.patterns.len()),
            undecided: !self.undecided.is_empty(),
            damaged: self.damaged(),
            mixed: !self.mixed.is_empty(),
        }
    }

    /// Whether an input of the capture is damaged or unreadable.
    pub fn damaged(&self) -> bool {
        status_of_inputs(&self.inputs) != RunStatus::Clean
    }

    /// Decide [`CaptureReport::verdict`] from what the report holds (call once it is complete).
    pub fn decided(mut self) -> Self {
        self.verdict = Verdict::decide(self.verdict_inputs());
        self
    }

    /// How this capture ended, by its verdict (see [`Verdict::run_status`]).
    pub fn status(&self) -> RunStatus {
        self.verdict
            .run_status(self.damaged(), !self.mixed.is_empty())
    }
}

/// What `analyze` says about the timeline: counts, time span, and the patterns with their
/// evidence.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineReport {
    /// First and last relevant event (UTC).
    pub first: Option<jiff::Timestamp>,
    pub last: Option<jiff::Timestamp>,
    pub summary: TimelineSummary,
    pub patterns: Vec<Pattern>,
    /// Changes of the host's clock the logs show (the host section names them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clock_changes: Vec<ClockChange>,
    /// The host's own sessions, in session order (sessions of other computers whose records
    /// share the capture are left out; `rdsdiag timeline` shows them).
    pub sessions: Vec<SessionReport>,
    /// The host's own licensing and service events and the clock changes, in time order: the
    /// markers of the session chart.
    pub markers: Vec<Marker>,
}

impl TimelineReport {
    /// The report part of a timeline (its patterns are moved, not copied).
    pub fn of(t: Timeline) -> Self {
        let sessions = SessionReport::all_own(&t);
        let markers = Marker::all_own(&t);
        TimelineReport {
            first: t.first,
            last: t.last,
            summary: t.summary,
            patterns: t.patterns,
            clock_changes: t.clock_changes,
            sessions,
            markers,
        }
    }

    /// The report part of a timeline that stays in use (`rdsdiag timeline --format html`).
    pub fn of_ref(t: &Timeline) -> Self {
        TimelineReport {
            first: t.first,
            last: t.last,
            summary: t.summary.clone(),
            patterns: t.patterns.clone(),
            clock_changes: t.clock_changes.clone(),
            sessions: SessionReport::all_own(t),
            markers: Marker::all_own(t),
        }
    }
}

/// Host identity and host facts, one JSON object (`captures[].host`).
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    #[serde(flatten)]
    pub identity: HostIdentity,
    #[serde(flatten)]
    pub facts: HostFacts,
    /// The applied GPOs and the Group Policy files of the capture, when it holds any (see
    /// `docs/configuration.md`, "Which GPO set it").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_policy: Option<crate::config::GroupPolicy>,
}

/// Counts of inputs per status, so a reader sees at once what was looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    pub total: usize,
    pub parsed: usize,
    pub partial: usize,
    pub rejected: usize,
    pub ignored: usize,
    /// Recognised as evidence but not read by any reader (should stay 0).
    pub pending: usize,
}

impl InputSummary {
    pub fn of(inputs: &[Input]) -> Self {
        let mut s = InputSummary {
            total: inputs.len(),
            ..Default::default()
        };
        for i in inputs {
            match i.status {
                InputStatus::Parsed => s.parsed += 1,
                InputStatus::Partial => s.partial += 1,
                InputStatus::Rejected => s.rejected += 1,
                InputStatus::Ignored => s.ignored += 1,
                InputStatus::Pending => s.pending += 1,
            }
        }
        s
    }
}
