//! Correlate: session timelines rebuilt from normalised events (logon, reconnects, disconnects
//! with their decoded reason, logoff, durations) and the patterns that explain disconnects
//! (licensing events around a disconnect, disconnects every 60 minutes, sessions that stay active
//! while the user gets a new one, bursts of security errors), each with the events that prove it.
//! See `docs/timeline.md`.

mod clock;
mod patterns;
pub mod roles;
mod sessions;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::catalog::events::catalog;
use crate::catalog::reasons::{self, CodeSpace};
use crate::catalog::sources::Status;
use crate::eventlog::{Event, Fields};
use crate::evidence::{Problem, ProblemCode};

pub use clock::{ClockChange, ClockDirection, ClockSighting};
pub use roles::Role;

/// Windows and thresholds of the correlation. Defaults come from reference §15 where it gives
/// one; the others are rdsdiag heuristics, documented in `docs/timeline.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineOptions {
    /// Events of one disconnect (LSM 24/39/40, RCM time-limit) belong together when they are at
    /// most this far from the first of them; also how long after a logoff the teardown events
    /// (39/40/24) still belong to the logged-off session. Default 10 s (§15: "same second to a
    /// few seconds").
    pub pair_window: SignedDuration,
    /// How long before a disconnect licensing events count as its cause. Default 5 min (§15:
    /// "minutes").
    pub licensing_window: SignedDuration,
    /// How long after a disconnect licensing events count as accompanying it. Default 1 min.
    pub licensing_after: SignedDuration,
    /// Shortest connected interval of the 60-minute rhythm (the signature of soft licensing
    /// enforcement and of a one-hour time limit alike). Default 55 min (§15).
    pub hourly_min: SignedDuration,
    /// Longest connected interval of the 60-minute rhythm. Default 65 min (§15).
    pub hourly_max: SignedDuration,
    /// How many such intervals one user needs. Default 2 ("repeating").
    pub hourly_repeats: usize,
    /// Security/protocol errors this far either side of a disconnect count towards a burst.
    /// Default 2 min.
    pub burst_window: SignedDuration,
    /// How many errors make a burst. Default 3.
    pub burst_min_events: usize,
    /// How long before a logon or reconnect an authentication event (RCM 1149, Security 4624
    /// type 10, 4778) is joined to it. Default 60 s (§15 "who/where").
    pub auth_window: SignedDuration,
    /// A record written earlier than its predecessor in the same log by more than this is a
    /// clock change (smaller steps back are ordinary jitter). Default 1 min.
    pub clock_tolerance: SignedDuration,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            pair_window: SignedDuration::from_secs(10),
            licensing_window: SignedDuration::from_mins(5),
            licensing_after: SignedDuration::from_mins(1),
            hourly_min: SignedDuration::from_mins(55),
            hourly_max: SignedDuration::from_mins(65),
            hourly_repeats: 2,
            burst_window: SignedDuration::from_mins(2),
            burst_min_events: 3,
            auth_window: SignedDuration::from_secs(60),
            clock_tolerance: SignedDuration::from_mins(1),
        }
    }
}

/// A pointer to one event: what evidence lists cite (file + record id + time).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EventRef {
    /// Position in [`Timeline::events`] (the sorted order).
    pub index: usize,
    /// Position of the event in the slice given to [`build`].
    pub input_index: usize,
    pub time: Timestamp,
    pub file: Arc<str>,
    pub record_id: u64,
    pub provider: Arc<str>,
    pub event_id: u16,
}

/// One event as the timeline shows it: the record's identity, its role, the session it was
/// joined to, its decoded reason and a message in our own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// Position in [`Timeline::events`].
    pub index: usize,
    /// Position of the event in the slice given to [`build`] (to get back the [`Event`]).
    pub input_index: usize,
    /// The clock epoch the record was written in: 0 before the first clock change, `k` after
    /// the `k`-th (see [`Timeline::clock_changes`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub epoch: u32,
    pub time: Timestamp,
    pub computer: Option<Arc<str>>,
    /// The record's Computer differs from the capture's host.
    pub foreign_computer: bool,
    pub channel: Option<Arc<str>>,
    pub provider: Arc<str>,
    pub event_id: u16,
    pub raw_event_id: u32,
    pub record_id: u64,
    pub file: Arc<str>,
    /// False when the record came from a damaged or cut-off chunk.
    pub verified: bool,
    pub role: Role,
    /// Windows session id named by the event.
    pub session: Option<u32>,
    /// The reconstructed session (`S1`, `S2`…) the event was joined to.
    pub session_key: Option<String>,
    pub user: Option<String>,
    pub address: Option<String>,
    pub reason_code: Option<u32>,
    pub reason_space: Option<CodeSpace>,
    /// The decoded reason (`257 (0x101) LICENSE_NO_LICENSE_SERVER: …`, or `unknown(n)`).
    pub reason: Option<String>,
    /// The reason code proves a licensing problem.
    pub licensing_reason: bool,
    /// Confirmed, or UNCONFIRMED (its role row or catalogue row says so): an unconfirmed event
    /// adds context to a pattern, never makes one alone.
    #[serde(skip)]
    pub status: Status,
    /// The event's fields (shared with the [`Event`], not copied).
    pub fields: Arc<Fields>,
}

impl TimelineEvent {
    /// What happened, in our own words (offline logs carry no message text): the catalogue's
    /// meaning, the catalogued fields the event carries, and the decoded reason. Made on demand
    /// (the analysis itself never needs it).
    pub fn message(&self) -> String {
        message_for(
            &self.provider,
            self.event_id,
            &self.fields,
            self.reason.as_deref(),
        )
    }

    pub fn event_ref(&self) -> EventRef {
        EventRef {
            index: self.index,
            input_index: self.input_index,
            time: self.time,
            file: self.file.clone(),
            record_id: self.record_id,
            provider: self.provider.clone(),
            event_id: self.event_id,
        }
    }
}

/// Where a session stood at the end of the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Only arbitration/state events: a connection that had not logged on yet.
    PreLogon,
    Active,
    Disconnected,
    LoggedOff,
    /// The connection ended (event 40/39) before anyone logged on.
    EndedBeforeLogon,
    /// A new logon reused the session id while this one was not logged off.
    Superseded,
}

/// Remarks about a reconstructed session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionFlag {
    /// The session's first events are not a logon (log began mid-session, rollover lost).
    LogonNotSeen,
    /// No logoff by the end of the evidence (or before the id was reused).
    LogoffNotSeen,
    /// A reconnect arrived while the session was connected (no disconnect event before it).
    ReconnectWithoutDisconnect,
    /// A new logon reused this session id before a logoff was seen (reboot, lost events).
    SupersededByNewLogon,
    /// The session's events come from more than one file (e.g. a log rollover).
    SpansFiles,
    /// Some events carry a Computer other than the capture host.
    ForeignComputer,
    /// Some events come from damaged chunks.
    UnverifiedRecords,
    /// The session was cut at a clock change: its events go on (or began) in another clock
    /// epoch, and are another session.
    CutAtClockChange,
    /// The events name more than one user.
    UserChanged,
}

/// How a connected interval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalEnd {
    Disconnect,
    Logoff,
    /// Another reconnect arrived without a disconnect in between.
    Reconnect,
    /// The session id was reused by a new logon.
    Superseded,
    /// Still connected at the end of the evidence.
    Open,
}

/// A span during which a client was connected: logon or reconnect → disconnect or logoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interval {
    pub start: EventRef,
    pub end: Option<EventRef>,
    pub end_kind: IntervalEnd,
    pub seconds: Option<i64>,
    /// Index into the session's `disconnects` when the interval ended by one.
    pub disconnect: Option<usize>,
}

/// Who started a disconnect, from LSM event 39 (`Source` vs `TargetSession`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Initiator {
    /// The session itself (the user).
    Own,
    /// Another session (an administrator, or the user reconnecting elsewhere).
    OtherSession,
    Unknown,
}

/// One disconnect: the LSM 24/39/40 (and RCM time-limit) events that belong together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disconnect {
    pub time: Timestamp,
    pub events: Vec<EventRef>,
    pub reason_code: Option<u32>,
    pub reason: Option<String>,
    /// `class` of the reason row (`licensing`, `user`, `neutral`…), `unknown`, or absent.
    pub reason_class: Option<String>,
    pub licensing_reason: bool,
    pub initiator: Initiator,
    /// Session id from event 39 `Source`.
    pub by_session: Option<u32>,
    /// The disconnect is the teardown of a logoff (not a break of a live connection).
    pub after_logoff: bool,
}

/// A session rebuilt from its events: one logon of one session id on one computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// `S1`, `S2`… in order of start.
    pub key: String,
    pub computer: Option<Arc<str>>,
    pub session_id: u32,
    pub user: Option<String>,
    /// Client addresses seen (LSM `Address`, then joined authentication events), first first.
    pub addresses: Vec<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub logon: Option<EventRef>,
    pub logoff: Option<EventRef>,
    pub state: SessionState,
    /// Logon to logoff, when both were seen.
    pub duration_seconds: Option<i64>,
    /// Sum of the closed connected intervals.
    pub connected_seconds: i64,
    pub intervals: Vec<Interval>,
    pub disconnects: Vec<Disconnect>,
    pub reconnects: Vec<EventRef>,
    pub flags: Vec<SessionFlag>,
    pub files: Vec<Arc<str>>,
    /// Indexes into [`Timeline::events`] of the events joined to the session.
    pub events: Vec<usize>,
}

impl Disconnect {
    /// The event that carries the disconnect's reason code (LSM 40), else its first event.
    pub fn reason_event(&self, events: &[TimelineEvent]) -> Option<&EventRef> {
        self.events
            .iter()
            .find(|r| {
                self.reason_code.is_some()
                    && events
                        .get(r.index)
                        .is_some_and(|e| e.reason_code == self.reason_code)
            })
            .or(self.events.first())
    }
}

impl Session {
    /// Whether the session is the capture host's: its first event does not name another
    /// computer (sessions of other computers whose records share the capture are not).
    pub fn is_own(&self, events: &[TimelineEvent]) -> bool {
        self.events
            .first()
            .is_none_or(|&i| events.get(i).is_none_or(|e| !e.foreign_computer))
    }
}

/// Per-user totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub user: String,
    pub sessions: Vec<String>,
    pub logons: usize,
    pub reconnects: usize,
    pub disconnects: usize,
    pub licensing_disconnects: usize,
    pub connected_seconds: i64,
}

/// Which pattern was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatternKind {
    /// A disconnect with a licensing reason code, or with licensing events shortly before or
    /// with it.
    LicensingDisconnect,
    /// Repeated connected intervals of about 60 minutes ending in a disconnect for one user: a
    /// rhythm, named neutrally; rules name the cause (a time limit, soft licensing enforcement).
    HourlyDisconnects,
    /// A user got a new session while the previous one never entered the disconnected state.
    CannotReconnect,
    /// Several security/protocol errors around a disconnect.
    ErrorBurst,
}

impl PatternKind {
    pub fn name(self) -> &'static str {
        match self {
            PatternKind::LicensingDisconnect => "licensing-disconnect",
            PatternKind::HourlyDisconnects => "hourly-disconnects",
            PatternKind::CannotReconnect => "cannot-reconnect",
            PatternKind::ErrorBurst => "error-burst",
        }
    }
}

/// A connected interval cited by an hourly-disconnects pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntervalCite {
    pub session: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub seconds: i64,
    pub reason_code: Option<u32>,
}

/// A pattern with the events that prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pattern {
    pub kind: PatternKind,
    /// When the pattern is anchored (the disconnect, the first interval, the new logon).
    pub time: Timestamp,
    pub user: Option<String>,
    /// Sessions involved.
    pub sessions: Vec<String>,
    /// One line in our own words.
    pub summary: String,
    /// Reason code of the disconnect, when the pattern is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u32>,
    /// Licensing-disconnect: the reason code itself is a licensing code.
    pub licensing_reason: bool,
    /// Intervals (soft enforcement).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<IntervalCite>,
    /// Supporting events counted by (provider short name, id), e.g. `RCM 1131` → 2.
    pub counts: BTreeMap<String, usize>,
    /// All supporting events found (evidence may list fewer, see `evidence_truncated`).
    pub supporting_events: usize,
    /// The events that prove the pattern, in timeline order.
    pub evidence: Vec<EventRef>,
    /// Evidence was capped at [`MAX_EVIDENCE`] events.
    pub evidence_truncated: bool,
}

/// The most events one pattern cites (the count of all is kept in `supporting_events`).
pub const MAX_EVIDENCE: usize = 50;

/// Counts for a quick summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimelineSummary {
    pub events: usize,
    pub sessions: usize,
    pub users: usize,
    pub logons: usize,
    pub disconnects: usize,
    /// Disconnects with a licensing reason in the host's own sessions (not other computers').
    pub licensing_disconnects: usize,
    pub reconnects: usize,
    pub sessions_without_logoff: usize,
    pub foreign_computer_events: usize,
    pub patterns: BTreeMap<String, usize>,
}

/// The whole correlated timeline of one capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The capture's host name used for the foreign-computer check, if known.
    pub host_computer: Option<String>,
    /// Per event of the slice given to [`build`] (by input index): whether its `Computer` is
    /// another machine. Decided once here, so rules do not compare names per event.
    #[serde(skip)]
    pub foreign_inputs: Vec<bool>,
    pub options: TimelineOptions,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub summary: TimelineSummary,
    /// Events per Computer value (`<none>` for records without one).
    pub computers: BTreeMap<String, usize>,
    /// Events per file.
    pub files: BTreeMap<String, usize>,
    pub sessions: Vec<Session>,
    pub users: Vec<UserSummary>,
    pub patterns: Vec<Pattern>,
    /// Changes of the host's clock that the logs' record order shows, in the order they
    /// happened.
    pub clock_changes: Vec<ClockChange>,
    /// What the reconstruction had to assume or drop (duplicates, events without session id…).
    pub notes: Vec<Problem>,
    /// Every event, sorted by (clock epoch, time, record id, file, offset).
    pub events: Vec<TimelineEvent>,
}

impl Timeline {
    /// The event an evidence reference points to.
    pub fn event(&self, r: &EventRef) -> Option<&TimelineEvent> {
        self.events.get(r.index)
    }

    /// The session with this key (`S1`…).
    pub fn session(&self, key: &str) -> Option<&Session> {
        // Keys are positional (`S1` is `sessions[0]`): no scan for the usual lookup.
        let at = key
            .strip_prefix('S')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.sessions.get(i))
            .filter(|s| s.key == key);
        at.or_else(|| self.sessions.iter().find(|s| s.key == key))
    }

    /// The patterns of one kind, in timeline order.
    pub fn patterns_of(&self, kind: PatternKind) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter().filter(move |p| p.kind == kind)
    }

    /// Every disconnect with its session, in session order (teardowns of a logoff included;
    /// see [`Disconnect::after_logoff`]).
    pub fn disconnects(&self) -> impl Iterator<Item = (&Session, &Disconnect)> {
        self.sessions
            .iter()
            .flat_map(|s| s.disconnects.iter().map(move |d| (s, d)))
    }

    /// The events that play `role`, in timeline order.
    pub fn events_with_role(&self, role: Role) -> impl Iterator<Item = &TimelineEvent> {
        self.events.iter().filter(move |e| e.role == role)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `t + d`, clamped to jiff's range instead of panicking (event times come from the evidence).
pub(crate) fn shift(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_add(d).unwrap_or(Timestamp::MAX)
}

/// `t - d`, clamped to jiff's range instead of panicking.
pub(crate) fn back(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_sub(d).unwrap_or(Timestamp::MIN)
}

/// The short (NetBIOS-like) form of a computer name, lower case: `CITADEL-DC01.c137.local` →
/// `citadel-dc01`.
pub(crate) fn short_host(name: &str) -> String {
    short_name(name).to_ascii_lowercase()
}

/// The short name as it is written (not lower-cased).
fn short_name(name: &str) -> &str {
    name.trim().split('.').next().unwrap_or_default()
}

/// Whether computer name `name` has the short name `short` (lower case, from [`short_host`]);
/// no allocation.
pub(crate) fn is_host(name: &str, short: &str) -> bool {
    short_name(name).eq_ignore_ascii_case(short)
}

/// Parse a session id or code as found in event fields (`"2"`, `"0x2"`).
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// A short provider label for counts and text (`LSM`, `RCM`, `RdpCoreTS`…).
pub(crate) fn provider_short(provider: &str) -> &str {
    // A log has a handful of providers and this runs per cited event: remember the answers.
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<(Box<str>, Option<&'static str>)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let hit = SEEN.with_borrow(|seen| {
        seen.iter()
            .find(|(p, _)| p.as_ref() == provider)
            .map(|(_, s)| *s)
    });
    let short = match hit {
        Some(s) => s,
        None => {
            let s = provider_short_uncached(provider);
            SEEN.with_borrow_mut(|seen| {
                if seen.len() < 64 {
                    seen.push((provider.into(), s));
                }
            });
            s
        }
    };
    short.unwrap_or(provider)
}

fn provider_short_uncached(provider: &str) -> Option<&'static str> {
    let known = [
        ("localsessionmanager", "LSM"),
        ("remoteconnectionmanager", "RCM"),
        ("rdpcorets", "RdpCoreTS"),
        ("terminalservices-licensing", "TS-Licensing"),
        ("clientactivexcore", "RDPClient"),
        ("security-auditing", "Security"),
        ("service control manager", "SCM"),
    ];
    known
        .iter()
        .find(|(k, _)| contains_ignore_ascii_case(provider, k))
        .map(|(_, v)| *v)
}

/// `hay` contains `needle` (lower-case ASCII), ignoring ASCII case; no allocation.
fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Build the timeline of one capture from its events (in any order, from any number of files).
///
/// `host_computer` is the capture's computer name (from the registry); events whose `Computer`
/// has another short name are flagged. Never panics on event content; never prints.
pub fn build(events: &[Event], host_computer: Option<&str>, opts: &TimelineOptions) -> Timeline {
    build_with_names(events, host_computer, &[], opts)
}

/// [`build`] for a host that went by other names too (renamed: its earlier names in the event
/// records), whose events are not flagged as another computer's.
pub fn build_with_names(
    events: &[Event],
    host_computer: Option<&str>,
    other_names: &[&str],
    opts: &TimelineOptions,
) -> Timeline {
    let mut notes = Vec::new();
    let host_short = host_computer.map(short_host).filter(|h| !h.is_empty());
    let also: Vec<String> = other_names.iter().map(|n| short_host(n)).collect();
    if host_short.is_none() {
        notes.push(Problem::info(
            ProblemCode::HostUnknown,
            "the capture's computer name is unknown: events from other computers are not flagged",
        ));
    }
    let clock = clock::analyse(events, opts.clock_tolerance);
    note_clock(&clock, opts.clock_tolerance, &mut notes);
    let order = in_time_order_once(events, &clock, &mut notes);
    let Correlated {
        events: mut tevents,
        computers,
        files,
        no_session_id,
    } = correlate(&order, &clock, host_short.as_deref(), &also);
    if no_session_id > 0 {
        notes.push(Problem::warning(
            ProblemCode::NoSessionId,
            format!("{no_session_id} session events carry no readable session id and were not joined to a session"),
        ));
    }
    let foreign = tevents.iter().filter(|e| e.foreign_computer).count();
    if foreign > 0 {
        notes.push(Problem::warning(
            ProblemCode::ForeignComputer,
            format!(
                "{foreign} events name a computer other than the capture host {}",
                host_computer.unwrap_or_default()
            ),
        ));
    }

    let mut sessions = sessions::reconstruct(&mut tevents, opts);
    sessions::join_related(&mut tevents, &mut sessions, opts);
    let users = sessions::user_summaries(&sessions);
    let patterns = patterns::detect(&tevents, &sessions, opts);
    let summary = summarize(&tevents, &sessions, users.len(), &patterns, foreign);
    let own_names: Vec<String> = host_short.iter().chain(&also).cloned().collect();
    let foreign_inputs = foreign_inputs(events, &tevents, &own_names);
    let (first, last) = if clock.changes.is_empty() {
        (
            tevents.first().map(|e| e.time),
            tevents.last().map(|e| e.time),
        )
    } else {
        // Ordered by epoch first: the span is the earliest and latest time written.
        (
            tevents.iter().map(|e| e.time).min(),
            tevents.iter().map(|e| e.time).max(),
        )
    };
    Timeline {
        host_computer: host_computer.map(str::to_string),
        foreign_inputs,
        options: opts.clone(),
        first,
        last,
        summary,
        computers: computers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        files: files.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        sessions,
        users,
        patterns,
        clock_changes: clock.changes,
        notes,
        events: tevents,
    }
}

/// Per input event, whether it names another computer: the timeline's flag for the events it
/// kept, the same name check for the duplicates it dropped.
fn foreign_inputs(events: &[Event], kept: &[TimelineEvent], own: &[String]) -> Vec<bool> {
    let mut seen = vec![false; events.len()];
    let mut foreign = vec![false; events.len()];
    for e in kept {
        seen[e.input_index] = true;
        foreign[e.input_index] = e.foreign_computer;
    }
    if !own.is_empty() {
        for (i, e) in events.iter().enumerate().filter(|(i, _)| !seen[*i]) {
            foreign[i] = e
                .computer
                .as_deref()
                .is_some_and(|c| !own.iter().any(|n| is_host(c, n)));
        }
    }
    foreign
}

/// The events with their input index in deterministic order (clock epoch, time, record id,
/// file, offset), each record once: the same record seen in two files (two bundles holding the
/// same log) keeps its first copy, with a note.
fn in_time_order_once<'e>(
    events: &'e [Event],
    clock: &clock::Clock,
    notes: &mut Vec<Problem>,
) -> Vec<(usize, &'e Event)> {
    let mut order: Vec<(usize, &Event)> = events.iter().enumerate().collect();
    order.sort_by(|(ia, a), (ib, b)| {
        (clock.epoch(*ia), a.time, a.record_id, &a.file, a.offset, ia).cmp(&(
            clock.epoch(*ib),
            b.time,
            b.record_id,
            &b.file,
            b.offset,
            ib,
        ))
    });
    // Copies of one record share (epoch, time, record id), so they sit in one run of the
    // sorted order (almost always of one event): compare within the run, no key set.
    let same_record = |(ia, a): &(usize, &Event), (ib, b): &(usize, &Event)| {
        clock.epoch(*ia) == clock.epoch(*ib)
            && a.time == b.time
            && a.record_id == b.record_id
            && a.event_id == b.event_id
            && a.provider == b.provider
            && a.channel == b.channel
            && a.computer == b.computer
            && a.fields == b.fields
    };
    let mut dup_files: Vec<&str> = Vec::new();
    let mut duplicates = 0usize;
    let mut kept = 0usize;
    let mut run_start = 0usize;
    for i in 0..order.len() {
        let cur = order[i];
        if kept > 0 {
            let last = order[kept - 1];
            if !(clock.epoch(last.0) == clock.epoch(cur.0)
                && last.1.time == cur.1.time
                && last.1.record_id == cur.1.record_id)
            {
                run_start = kept;
            }
        }
        if order[run_start..kept].iter().any(|k| same_record(k, &cur)) {
            duplicates += 1;
            dup_files.push(&cur.1.file);
        } else {
            order[kept] = cur;
            kept += 1;
        }
    }
    order.truncate(kept);
    if duplicates > 0 {
        dup_files.sort_unstable();
        dup_files.dedup();
        notes.push(Problem::info(
            ProblemCode::DuplicateRecords,
            format!(
                "{duplicates} records appear in more than one file and were counted once (duplicates in: {})",
                dup_files.join(", ")
            ),
        ));
    }
    order
}

/// The notes on the logs' record order: a clock change each, and the files whose records step
/// back by less than the clock tolerance (sorted by time).
fn note_clock(clock: &clock::Clock, tolerance: SignedDuration, notes: &mut Vec<Problem>) {
    for c in &clock.changes {
        notes.push(Problem::warning(
            ProblemCode::ClockChanged,
            format!(
                "{}; sessions are cut there and events after it are ordered after the ones before",
                c.describe()
            ),
        ));
    }
    if !clock.jittery_files.is_empty() {
        notes.push(Problem::info(
            ProblemCode::RecordsOutOfTimeOrder,
            format!(
                "records are not in time order within: {} (by at most {} s; sorted by time)",
                clock
                    .jittery_files
                    .iter()
                    .map(|f| &**f)
                    .collect::<Vec<_>>()
                    .join(", "),
                tolerance.as_secs()
            ),
        ));
    }
}

/// The events read through the role table, with counts per computer and per file.
struct Correlated<'e> {
    events: Vec<TimelineEvent>,
    /// Counted on borrowed names; owned keys are made once per distinct name.
    computers: BTreeMap<&'e str, usize>,
    files: BTreeMap<&'e str, usize>,
    /// Session-scoped events without a readable session id.
    no_session_id: usize,
}

/// Each event with its role, session, user, address and decoded reason (from `roles.tsv`), and
/// whether it names another computer than the capture host (`host_short`).
fn correlate<'e>(
    order: &[(usize, &'e Event)],
    clock: &clock::Clock,
    host_short: Option<&str>,
    also: &[String],
) -> Correlated<'e> {
    let roles = roles::roles();
    let mut out = Correlated {
        events: Vec::with_capacity(order.len()),
        computers: BTreeMap::new(),
        files: BTreeMap::new(),
        no_session_id: 0,
    };
    let mut last_computer: Option<(*const u8, bool)> = None;
    let mut statuses: HashMap<(usize, u16, usize), Status> = HashMap::new();
    let mut rows: HashMap<(usize, u16), Option<usize>> = HashMap::new();
    for (index, &(input_index, e)) in order.iter().enumerate() {
        let def = roles.lookup_cached(e, &mut rows);
        let role = def.map_or(Role::Other, |d| d.role);
        let session = def
            .and_then(|d| d.session.as_ref())
            .and_then(|f| f.get(e))
            .and_then(|s| parse_u32(&s));
        if role.is_session_scoped() && session.is_none() {
            out.no_session_id += 1;
        }
        let user = def.and_then(|d| d.user.as_ref()).and_then(|f| f.get(e));
        let address = def.and_then(|d| d.address.as_ref()).and_then(|f| f.get(e));
        let reason = def.map(|d| decode_reason(d, e)).unwrap_or_default();
        // Records of one provider share its name string: look each (provider, id, role row) up
        // once.
        let row = def.map_or(0, |d| std::ptr::from_ref(d) as usize);
        let status = *statuses
            .entry((e.provider.as_ptr() as usize, e.event_id, row))
            .or_insert_with(|| {
                catalog()
                    .status(&e.provider, e.event_id)
                    .max(def.map_or(Status::Confirmed, |d| d.status()))
            });
        // Consecutive records share their Computer string: decide once per string.
        let foreign = match (host_short, &e.computer) {
            (Some(h), Some(c)) => match last_computer {
                Some((p, f)) if std::ptr::eq(p, c.as_ptr()) => f,
                _ => {
                    let f = !is_host(c, h) && !also.iter().any(|a| is_host(c, a));
                    last_computer = Some((c.as_ptr(), f));
                    f
                }
            },
            _ => false,
        };
        *out.computers
            .entry(e.computer.as_deref().unwrap_or("<none>"))
            .or_insert(0) += 1;
        *out.files.entry(&e.file).or_insert(0) += 1;
        out.events.push(TimelineEvent {
            index,
            input_index,
            epoch: clock.epoch(input_index),
            time: e.time,
            computer: e.computer.clone(),
            foreign_computer: foreign,
            channel: e.channel.clone(),
            provider: e.provider.clone(),
            event_id: e.event_id,
            raw_event_id: e.raw_event_id,
            record_id: e.record_id,
            file: e.file.clone(),
            verified: e.verified,
            role,
            session,
            session_key: None,
            user,
            address,
            reason_code: reason.code,
            reason_space: reason.space,
            reason: reason.text,
            licensing_reason: reason.licensing,
            status,
            fields: Arc::clone(&e.fields),
        });
    }
    out
}

/// A reason code read from an event: the number, its space, its description (or
/// `unreadable(text)`) and whether it proves a licensing problem.
#[derive(Default)]
struct ReadReason {
    code: Option<u32>,
    space: Option<CodeSpace>,
    text: Option<String>,
    licensing: bool,
}

/// The reason code of `e` in the field and code space its role row names.
fn decode_reason(def: &roles::RoleDef, e: &Event) -> ReadReason {
    let (Some(field), Some(space)) = (def.reason.as_ref(), def.reason_space) else {
        return ReadReason::default();
    };
    let Some(text) = field.get(e) else {
        return ReadReason::default();
    };
    match reasons::decode_text(space, &text) {
        Some(d) => ReadReason {
            code: Some(d.code),
            space: Some(space),
            text: Some(d.describe()),
            licensing: d.licensing(),
        },
        None => ReadReason {
            code: None,
            space: Some(space),
            text: Some(format!("unreadable({text})")),
            licensing: false,
        },
    }
}

/// The counts of a timeline.
fn summarize(
    events: &[TimelineEvent],
    sessions: &[Session],
    users: usize,
    patterns: &[Pattern],
    foreign: usize,
) -> TimelineSummary {
    // Licensing disconnects are the host's own: sessions of other computers whose records share
    // the capture never count toward this host's problems.
    let disconnects = || sessions.iter().flat_map(|s| &s.disconnects);
    let own_disconnects = || {
        sessions
            .iter()
            .filter(|s| s.is_own(events))
            .flat_map(|s| &s.disconnects)
    };
    let mut summary = TimelineSummary {
        events: events.len(),
        sessions: sessions.len(),
        users,
        logons: sessions.iter().filter(|s| s.logon.is_some()).count(),
        disconnects: disconnects().filter(|d| !d.after_logoff).count(),
        licensing_disconnects: own_disconnects().filter(|d| d.licensing_reason).count(),
        reconnects: sessions.iter().map(|s| s.reconnects.len()).sum(),
        sessions_without_logoff: sessions
            .iter()
            .filter(|s| s.flags.contains(&SessionFlag::LogoffNotSeen))
            .count(),
        foreign_computer_events: foreign,
        patterns: BTreeMap::new(),
    };
    for p in patterns {
        *summary
            .patterns
            .entry(p.kind.name().to_string())
            .or_insert(0) += 1;
    }
    summary
}

/// The message of an event in our own words: the catalogue's meaning, the catalogued fields it
/// carries, and the decoded reason.
fn message_for(provider: &str, event_id: u16, fields: &Fields, reason: Option<&str>) -> String {
    let mut msg = match catalog().lookup(provider, event_id) {
        Some(def) if def.name != "other" => {
            let (mut m, rest) = def.fill(|f| fields.get(f).map(String::as_str));
            let vals: Vec<String> = rest
                .iter()
                .filter_map(|f| fields.get(f).map(|v| format!("{f}={}", v.trim())))
                .collect();
            if !vals.is_empty() {
                m.push_str(" [");
                m.push_str(&vals.join(", "));
                m.push(']');
            }
            m
        }
        _ => format!(
            "{} event {} (no catalogued meaning)",
            provider_short(provider),
            event_id
        ),
    };
    if let Some(r) = reason {
        msg.push_str("; reason ");
        msg.push_str(r);
    }
    msg
}
