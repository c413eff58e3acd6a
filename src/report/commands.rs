//! The outcomes of the commands other than `analyze`: serialise-only types the render layer
//! turns into every format, each with its [`RunStatus`] by the one rule in `status.rs`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::status::{status_of_inputs, RunStatus};
use super::{HostReport, SCHEMA_VERSION};
use crate::capture::Input;
use crate::config::{GpresultSummary, Settings, UserPolicy};
use crate::eventlog::Event;
use crate::evidence::{InputKind, InputStatus, Integrity, Problem};
use crate::registry::query::{QueryState, RegQueryResult};
use crate::timeline::Timeline;

/// `config`: one entry per capture given, in the order given.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    pub schema_version: u32,
    pub captures: Vec<ConfigCapture>,
}

impl ConfigReport {
    pub fn new(captures: Vec<ConfigCapture>) -> Self {
        ConfigReport {
            schema_version: SCHEMA_VERSION,
            captures,
        }
    }

    pub fn status(&self) -> RunStatus {
        self.captures
            .iter()
            .map(|c| match &c.error {
                Some(_) => RunStatus::Failed,
                None => status_of_inputs(&c.inputs),
            })
            .max()
            .unwrap_or(RunStatus::Clean)
    }
}

/// The configuration of one capture.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigCapture {
    pub path: PathBuf,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of `error` (`not_found`, `archive_refused`, `internal`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<crate::error::FailureKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// What gpresult output says: applied GPOs, and per setting the winning GPO and the ones it
    /// beat. Absent when the capture holds no gpresult output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpresult: Option<GpresultSummary>,
    /// User policy of every user hive, resolved against computer policy. Absent when the capture
    /// holds no user hive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_policy: Option<UserPolicy>,
    /// The capture's files as read (for the status; `analyze` shows them).
    #[serde(skip)]
    pub inputs: Vec<Input>,
}

impl ConfigCapture {
    pub fn analysed(
        path: PathBuf,
        host: HostReport,
        settings: Settings,
        inputs: Vec<Input>,
    ) -> Self {
        ConfigCapture {
            path,
            status: "analysed",
            error: None,
            error_kind: None,
            host: Some(host),
            settings: Some(settings),
            gpresult: None,
            user_policy: None,
            inputs,
        }
    }

    /// The gpresult and user-policy blocks.
    pub fn with_policy(
        mut self,
        gpresult: Option<GpresultSummary>,
        user_policy: Option<UserPolicy>,
    ) -> Self {
        self.gpresult = gpresult;
        self.user_policy = user_policy;
        self
    }

    pub fn failed(path: PathBuf, error: String, kind: crate::error::FailureKind) -> Self {
        ConfigCapture {
            path,
            status: "failed",
            error: Some(error),
            error_kind: Some(kind),
            host: None,
            settings: None,
            gpresult: None,
            user_policy: None,
            inputs: Vec::new(),
        }
    }
}

/// One EVTX input of the capture, as read by `events`.
#[derive(Debug, Clone, Serialize)]
pub struct EventFile {
    pub path: String,
    pub status: InputStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Integrity>,
    pub problems: Vec<Problem>,
}

/// `events`: the matching events, oldest first, and what each EVTX file yielded.
#[derive(Debug, Clone, Serialize)]
pub struct EventsReport {
    pub schema_version: u32,
    pub path: PathBuf,
    pub events: Vec<Event>,
    pub files: Vec<EventFile>,
}

impl EventsReport {
    pub fn new(path: &Path, events: Vec<Event>, inputs: Vec<Input>) -> Self {
        let files = inputs
            .into_iter()
            .filter(|i| i.kind == InputKind::Evtx)
            .map(|i| EventFile {
                path: i.path,
                status: i.status,
                integrity: i.evtx,
                problems: i.problems,
            })
            .collect();
        EventsReport {
            schema_version: SCHEMA_VERSION,
            path: path.to_path_buf(),
            events,
            files,
        }
    }

    pub fn status(&self) -> RunStatus {
        super::status::status_of(self.files.iter().map(|f| (f.status, f.problems.as_slice())))
    }
}

/// `timeline`: the full timeline of one capture.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineOutcome {
    pub schema_version: u32,
    pub path: PathBuf,
    pub timeline: Timeline,
    /// Relevant events read (0: the capture holds no RDS-relevant event).
    pub events_read: usize,
    #[serde(skip)]
    pub inputs: Vec<Input>,
    /// The host's time zone from the SYSTEM hive (for `--tz host`; not part of the JSON).
    #[serde(skip)]
    pub host_time_zone: Option<crate::host::TimeZone>,
}

impl TimelineOutcome {
    pub fn new(path: &Path, timeline: Timeline, events_read: usize, inputs: Vec<Input>) -> Self {
        TimelineOutcome {
            schema_version: SCHEMA_VERSION,
            path: path.to_path_buf(),
            timeline,
            events_read,
            inputs,
            host_time_zone: None,
        }
    }

    /// Damaged evidence, or a pattern that explains disconnects, needs attention.
    pub fn status(&self) -> RunStatus {
        status_of_inputs(&self.inputs).max(if self.timeline.patterns.is_empty() {
            RunStatus::Clean
        } else {
            RunStatus::Attention
        })
    }
}

/// `reg`: the answer to a `reg query` over the capture's registry evidence.
#[derive(Debug, Clone, Serialize)]
pub struct RegReport {
    #[serde(flatten)]
    pub answer: RegQueryResult,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    pub inputs: Vec<Input>,
}

impl RegReport {
    pub fn new(path: &Path, answer: RegQueryResult, inputs: Vec<Input>) -> Self {
        RegReport {
            answer,
            path: path.to_path_buf(),
            inputs,
        }
    }

    /// Damaged registry evidence, or a key or value that is not there, needs attention (as
    /// `reg query` exits 1 when it finds nothing).
    pub fn status(&self) -> RunStatus {
        status_of_inputs(&self.inputs).max(match self.answer.state {
            QueryState::Found => RunStatus::Clean,
            _ => RunStatus::Attention,
        })
    }
}

/// `rules`: one row per rule (per-capture rules, then the fleet rules of `batch`).
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    pub id: &'static str,
    pub severity: &'static str,
    pub title: String,
    pub links: Vec<String>,
}
