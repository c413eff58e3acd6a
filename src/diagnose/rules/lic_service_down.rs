//! RDS-LIC-SERVICE-DOWN: the Remote Desktop Licensing service (`TermServLicensing`) of a license
//! server is disabled, or was stopped (or failed to start) and not started again (reference D9).

use crate::diagnose::common::event_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::host::facts::{RoleKind, Tri};
use crate::host::Fact;

use super::conn_shared::host_name;

pub struct ServiceDown;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-SERVICE-DOWN",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-SERVICE-DOWN.md"),
};

const SCM: &str = "Service Control Manager";
const LICENSING: &str = "Microsoft-Windows-TerminalServices-Licensing";
/// The service key name (not localised; SCM 7040 `param4`, S29/S35).
const SERVICE_KEY: &str = "TermServLicensing";
/// The English display name (SCM 7036/7031/7034 `param1` is localised, S29).
const DISPLAY_NAME: &str = "Remote Desktop Licensing";
/// `Start` values (reference §2.1, S53).
const START_MANUAL: u64 = 3;
const START_DISABLED: u64 = 4;
/// Most events one finding cites.
const MAX_EVENTS: usize = 12;

/// What one event says about the service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopped,
    Crashed,
    CannotStart,
}

/// Decode `Binary` hex of UTF-16LE text (SCM 7036 carries `<service key>/<state>` there).
fn binary_text(e: &Event) -> Option<String> {
    e.fields
        .get("Binary")
        .map(|hex| crate::eventlog::utf16le_hex_text(hex))
}

fn field<'e>(e: &'e Event, name: &str) -> &'e str {
    e.fields.get(name).map(|s| s.trim()).unwrap_or("")
}

fn is_service(e: &Event) -> bool {
    field(e, "param1").eq_ignore_ascii_case(DISPLAY_NAME)
        || field(e, "param4").eq_ignore_ascii_case(SERVICE_KEY)
        || binary_text(e).is_some_and(|t| {
            t.to_ascii_lowercase()
                .starts_with(&format!("{}/", SERVICE_KEY.to_ascii_lowercase()))
        })
}

/// The state a service event reports, if it is about the licensing service.
fn state_of(e: &Event) -> Option<State> {
    if e.provider.eq_ignore_ascii_case(LICENSING) && e.event_id == 37 {
        return Some(State::CannotStart);
    }
    if !e.provider.eq_ignore_ascii_case(SCM) || !is_service(e) {
        return None;
    }
    match e.event_id {
        7031 | 7034 => Some(State::Crashed),
        7036 => {
            let word = field(e, "param2").to_ascii_lowercase();
            let code = binary_text(e).and_then(|t| t.rsplit('/').next().map(str::to_string));
            if word == "running" || code.as_deref() == Some("4") {
                Some(State::Running)
            } else if word == "stopped" || code.as_deref() == Some("1") {
                Some(State::Stopped)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn describe(e: &Event, s: State) -> String {
    match s {
        State::Running => format!("{DISPLAY_NAME} entered the running state"),
        State::Stopped => format!("{DISPLAY_NAME} entered the stopped state"),
        State::Crashed => format!("{DISPLAY_NAME} terminated unexpectedly"),
        State::CannotStart => {
            let err = field(e, "1");
            if err.is_empty() {
                "the licensing service cannot start (TermServLicensing key or database path permissions)".into()
            } else {
                format!("the licensing service cannot start (error {err}; check permissions on the TermServLicensing key and the database path)")
            }
        }
    }
}

impl Rule for ServiceDown {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if m.role(RoleKind::LicenseServer) == Tri::No {
            return Outcome::NotApplicable;
        }
        if let Err(outcome) = installed(m) {
            return outcome;
        }
        let svc = &m.facts.licensing_service;
        let host = host_name(m, "this license server");
        let start = svc.start_type.value().copied();
        let start_name = svc
            .start_type_name
            .clone()
            .unwrap_or_else(|| svc.start_type.display());

        // The service's state events, in time order, and start-type changes.
        let states: Vec<(&Event, State)> = m
            .events
            .iter()
            .filter_map(|e| state_of(e).map(|s| (e, s)))
            .collect();
        let changes: Vec<&Event> = m
            .events_of(SCM, &[7040])
            .filter(|e| is_service(e))
            .collect();
        let last = states.last().copied();
        let cited = cite(m, &start_name, &states, &changes);

        if start == Some(START_DISABLED) {
            return disabled(&host, last, cited);
        }
        if let Some((e, s)) = last.filter(|(_, s)| *s != State::Running) {
            return stopped(m, &host, &start_name, e, s, cited);
        }
        if start == Some(START_MANUAL) && last.is_none() {
            return manual_never_running(m, &host, cited);
        }
        if !m.has_channel("System") && last.is_none() {
            return Outcome::Undecided(vec![format!(
                "System log not provided: stops of the {SERVICE_KEY} service (SCM 7036/7040, Licensing 37) cannot be seen"
            )]);
        }
        Outcome::Pass
    }
}

/// Whether the licensing service is installed: go on when it is, not applicable when it is
/// not, undecided (with why) when that cannot be read.
fn installed(m: &Model<'_>) -> Result<(), Outcome> {
    let installed = &m.facts.licensing_service.installed;
    match installed.present {
        Tri::No => Err(Outcome::NotApplicable),
        Tri::Unknown => Err(Outcome::Undecided(vec![format!(
            "licensing service (SYSTEM\\CurrentControlSet\\Services\\{SERVICE_KEY}): {}",
            installed.unknown_because.as_deref().unwrap_or("not known")
        )])),
        Tri::Yes => Ok(()),
    }
}

/// The evidence of a finding (the start type, the start-type changes and the state events from
/// the last stop or failure on, at most [`MAX_EVENTS`]) and the sentences that go with it.
struct Cited {
    evidence: Vec<Evidence>,
    /// ` The System log shows N start-type change(s), …`, or empty.
    changes_text: String,
    /// ` (N events; the last 12 are cited.)`, or empty.
    capped: String,
}

impl Cited {
    /// The finding: `head`, then the start-type changes and, when `with_cap`, how many events
    /// were left uncited.
    fn finding(self, confidence: Confidence, head: String, with_cap: bool) -> Outcome {
        let cap = if with_cap { self.capped.as_str() } else { "" };
        let explanation = format!("{head}{}{cap}", self.changes_text);
        Outcome::Found(vec![META.finding(confidence, explanation, self.evidence)])
    }
}

fn cite(m: &Model<'_>, start_name: &str, states: &[(&Event, State)], changes: &[&Event]) -> Cited {
    let svc = &m.facts.licensing_service;
    let mut evidence = Vec::new();
    if let Fact::Found { value, provenance } = &svc.start_type {
        evidence.push(Evidence::Registry {
            fact: format!("{SERVICE_KEY} Start = {value} ({start_name})"),
            provenance: Some(provenance.clone()),
        });
    }
    // Cite the start-type changes and the state events from the last stop/failure on.
    let from = states
        .iter()
        .rposition(|(_, s)| *s == State::Running)
        .map_or(0, |i| i + 1);
    let mut cited: Vec<(&Event, String)> = changes
        .iter()
        .map(|e| {
            (
                *e,
                format!(
                    "start type of {} changed from {} to {}",
                    SERVICE_KEY,
                    field(e, "param2"),
                    field(e, "param3")
                ),
            )
        })
        .chain(
            states[from.min(states.len())..]
                .iter()
                .map(|(e, s)| (*e, describe(e, *s))),
        )
        .collect();
    cited.sort_by_key(|(e, _)| (e.time, e.record_id));
    let n_cited = cited.len();
    evidence.extend(
        cited
            .iter()
            .rev()
            .take(MAX_EVENTS)
            .rev()
            .map(|(e, f)| event_evidence(e, f.clone())),
    );
    let changes_text = match changes.last() {
        None => String::new(),
        Some(last_change) => format!(
            " The System log shows {} start-type change(s), the last at {} from {} to {}.",
            changes.len(),
            last_change.time,
            field(last_change, "param2"),
            field(last_change, "param3")
        ),
    };
    let capped = if n_cited > MAX_EVENTS {
        format!(" ({n_cited} events; the last {MAX_EVENTS} are cited.)")
    } else {
        String::new()
    };
    Cited {
        evidence,
        changes_text,
        capped,
    }
}

/// The service is disabled (Start = 4), with its last state seen.
fn disabled(host: &str, last: Option<(&Event, State)>, cited: Cited) -> Outcome {
    let stopped_text = match last {
        Some((e, s)) if s != State::Running => format!(
            " The System log shows it {} at {} and not running again.",
            match s {
                State::CannotStart => "unable to start",
                State::Crashed => "terminated unexpectedly",
                _ => "stopped",
            },
            e.time
        ),
        Some((e, _)) => format!(
            " The System log last shows it running at {}; it will not start again after a restart.",
            e.time
        ),
        None => String::new(),
    };
    cited.finding(
        Confidence::Confirmed,
        format!(
            "On {host} the Remote Desktop Licensing service ({SERVICE_KEY}) is disabled (Start = 4): it cannot run, so this license server issues no licences and answers no session host.{stopped_text}"
        ),
        true,
    )
}

/// The service's last state is stopped, crashed or cannot start, and it never runs again.
fn stopped(
    m: &Model<'_>,
    host: &str,
    start_name: &str,
    e: &Event,
    s: State,
    cited: Cited,
) -> Outcome {
    let how = match s {
        State::CannotStart => format!("could not start at {} (Licensing event 37)", e.time),
        State::Crashed => {
            format!("terminated unexpectedly at {} (SCM {})", e.time, e.event_id)
        }
        _ => format!("was stopped at {} (SCM 7036)", e.time),
    };
    let log_end = m
        .events
        .last()
        .map(|l| l.time.to_string())
        .unwrap_or_default();
    cited.finding(
        Confidence::Confirmed,
        format!(
            "On {host} the Remote Desktop Licensing service ({SERVICE_KEY}, start type {start_name}) {how} and the event logs, which run to {log_end}, never show it running again: session hosts that use this license server get no licences while it is down."
        ),
        true,
    )
}

/// Start type manual and no state event: likely never running, when the System log was provided.
fn manual_never_running(m: &Model<'_>, host: &str, cited: Cited) -> Outcome {
    if !m.has_channel("System") {
        return Outcome::Undecided(vec![format!(
            "{SERVICE_KEY} start type is manual (Start = 3) and the System log is not provided: whether the service runs cannot be seen"
        )]);
    }
    let mut system = m.own_events().filter(|e| {
        e.channel
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("System"))
    });
    let first = system.next().map(|e| e.time.to_string());
    let end = system
        .next_back()
        .map(|e| e.time.to_string())
        .or_else(|| first.clone());
    let span = match (first, end) {
        (Some(a), Some(b)) => format!("System log ({a} to {b})"),
        _ => "System log (no relevant events in it)".to_string(),
    };
    cited.finding(
        Confidence::Likely,
        format!(
            "On {host} the Remote Desktop Licensing service ({SERVICE_KEY}) has start type manual (Start = 3): it does not start with Windows, and the {span} never shows it running. Session hosts get no licences while it is not running."
        ),
        false,
    )
}
