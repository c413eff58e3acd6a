//! Session reconstruction: a state machine per (computer, session id) over the sorted events,
//! splitting reused session ids into separate sessions, clustering the events of each
//! disconnect, measuring connected intervals, and joining authentication events to the logon or
//! reconnect they precede.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

use super::{
    back, is_host, shift, short_host, Disconnect, Initiator, Interval, IntervalEnd, Role, Session,
    SessionFlag, SessionState, TimelineEvent, TimelineOptions, UserSummary,
};
use crate::catalog::reasons;

/// A session while it is being built.
struct Draft {
    computer: Option<Arc<str>>,
    session_id: u32,
    /// The clock epoch of its events (a session never spans a clock change).
    epoch: u32,
    /// The last LSM 40 (time, reason code): Windows writes it twice for one takeover.
    last_reason: Option<(Timestamp, Option<u32>)>,
    state: SessionState,
    events: Vec<usize>,
    logon: Option<usize>,
    logoff: Option<usize>,
    /// When the session closed (logoff, or connection ended before logon).
    closed_at: Option<Timestamp>,
    /// Start of the open connected interval.
    open_interval: Option<usize>,
    intervals: Vec<(usize, Option<usize>, IntervalEnd)>,
    reconnects: Vec<usize>,
    flags: BTreeSet<SessionFlag>,
}

impl Draft {
    fn new(computer: Option<Arc<str>>, session_id: u32, epoch: u32) -> Draft {
        Draft {
            computer,
            session_id,
            epoch,
            last_reason: None,
            state: SessionState::PreLogon,
            events: Vec::new(),
            logon: None,
            logoff: None,
            closed_at: None,
            open_interval: None,
            intervals: Vec::new(),
            reconnects: Vec::new(),
            flags: BTreeSet::new(),
        }
    }

    fn closed(&self) -> bool {
        matches!(
            self.state,
            SessionState::LoggedOff | SessionState::EndedBeforeLogon | SessionState::Superseded
        )
    }

    fn close_interval(&mut self, end: Option<usize>, kind: IntervalEnd) {
        if let Some(start) = self.open_interval.take() {
            self.intervals.push((start, end, kind));
        }
    }
}

fn is_disconnect_family(role: Role) -> bool {
    matches!(
        role,
        Role::Disconnect
            | Role::DisconnectedBy
            | Role::DisconnectReason
            | Role::TimeLimitDisconnect
    )
}

/// Rebuild sessions from the sorted events; sets `session_key` on every joined event.
pub(super) fn reconstruct(events: &mut [TimelineEvent], opts: &TimelineOptions) -> Vec<Session> {
    let mut drafts: Vec<Draft> = Vec::new();
    // Open sessions by (host number, session id); hosts by short name, lower case.
    let mut open: HashMap<(u32, u32), usize> = HashMap::new();
    let mut hosts: HashMap<String, u32> = HashMap::new();
    // Consecutive events mostly share one Computer value (the same shared name).
    let mut last_host: Option<(Option<Arc<str>>, u32)> = None;

    for (i, ev) in events.iter().enumerate() {
        let role = ev.role;
        if !role.is_session_scoped() {
            continue;
        }
        let Some(sid) = ev.session else { continue };
        let host = match &last_host {
            Some((c, n)) if same_name(c, &ev.computer) => *n,
            _ => {
                let name = ev.computer.as_deref().map(short_host).unwrap_or_default();
                let next = hosts.len() as u32;
                let n = *hosts.entry(name).or_insert(next);
                last_host = Some((ev.computer.clone(), n));
                n
            }
        };
        let key = (host, sid);
        let t = ev.time;
        let cur = open.get(&key).copied();
        let in_teardown = |d: &Draft| {
            d.closed()
                && d.closed_at
                    .is_some_and(|c| t.duration_since(c) <= opts.pair_window)
        };
        let start_new = |drafts: &mut Vec<Draft>, open: &mut HashMap<(u32, u32), usize>| {
            drafts.push(Draft::new(ev.computer.clone(), sid, ev.epoch));
            open.insert(key, drafts.len() - 1);
            drafts.len() - 1
        };
        let idx = match cur {
            None => start_new(&mut drafts, &mut open),
            Some(c) if drafts[c].epoch != ev.epoch => {
                // The clock changed: the old session ends here, the events go on in another.
                let cut = !drafts[c].closed();
                let n = start_new(&mut drafts, &mut open);
                if cut {
                    drafts[c].flags.insert(SessionFlag::CutAtClockChange);
                    drafts[n].flags.insert(SessionFlag::CutAtClockChange);
                }
                n
            }
            Some(c) => {
                let d = &drafts[c];
                let needs_new = match role {
                    Role::ArbitrationBegin => d.closed(),
                    Role::Logon => {
                        d.closed() || d.logon.is_some() || d.state != SessionState::PreLogon
                    }
                    Role::ShellStart | Role::Reconnect | Role::Logoff => d.closed(),
                    _ => d.closed() && !in_teardown(d),
                };
                if needs_new {
                    if !d.closed() {
                        // A logon reused the id while the old session was still open.
                        let d = &mut drafts[c];
                        d.close_interval(Some(i), IntervalEnd::Superseded);
                        d.state = SessionState::Superseded;
                        d.flags.insert(SessionFlag::SupersededByNewLogon);
                        d.flags.insert(SessionFlag::LogoffNotSeen);
                    }
                    start_new(&mut drafts, &mut open)
                } else {
                    c
                }
            }
        };
        let d = &mut drafts[idx];
        d.events.push(i);
        if d.closed() {
            // Teardown of a logoff: joined, no state change.
            continue;
        }
        if role == Role::DisconnectReason {
            // The second LSM 40 of a pair (same reason within the pair window) repeats the
            // first: no state change, even after a reconnect in between.
            let repeat = d.last_reason.is_some_and(|(lt, lc)| {
                lc == ev.reason_code && t.duration_since(lt) <= opts.pair_window
            });
            d.last_reason = Some((t, ev.reason_code));
            if repeat {
                continue;
            }
        }
        match role {
            Role::Logon => {
                d.logon = Some(i);
                d.state = SessionState::Active;
                d.open_interval = Some(i);
            }
            Role::ShellStart if d.state == SessionState::PreLogon => {
                if d.logon.is_none() {
                    d.flags.insert(SessionFlag::LogonNotSeen);
                }
                d.state = SessionState::Active;
                d.open_interval = Some(i);
            }
            Role::Reconnect => {
                match d.state {
                    SessionState::Active => {
                        d.flags.insert(SessionFlag::ReconnectWithoutDisconnect);
                        d.close_interval(Some(i), IntervalEnd::Reconnect);
                    }
                    SessionState::PreLogon if d.logon.is_none() => {
                        d.flags.insert(SessionFlag::LogonNotSeen);
                    }
                    _ => {}
                }
                d.reconnects.push(i);
                d.state = SessionState::Active;
                d.open_interval = Some(i);
            }
            Role::Disconnect
            | Role::DisconnectedBy
            | Role::DisconnectReason
            | Role::TimeLimitDisconnect => match d.state {
                SessionState::Active => {
                    d.close_interval(Some(i), IntervalEnd::Disconnect);
                    d.state = SessionState::Disconnected;
                }
                SessionState::PreLogon => {
                    if role == Role::Disconnect {
                        // LSM 24 names a user: the logon happened before the evidence.
                        d.flags.insert(SessionFlag::LogonNotSeen);
                        d.state = SessionState::Disconnected;
                    } else if role == Role::DisconnectReason {
                        d.state = SessionState::EndedBeforeLogon;
                        d.closed_at = Some(t);
                    }
                }
                _ => {}
            },
            Role::Logoff => {
                if d.logon.is_none() && !d.flags.contains(&SessionFlag::LogonNotSeen) {
                    d.flags.insert(SessionFlag::LogonNotSeen);
                }
                d.close_interval(Some(i), IntervalEnd::Logoff);
                d.logoff = Some(i);
                d.state = SessionState::LoggedOff;
                d.closed_at = Some(t);
            }
            _ => {}
        }
    }

    // Finish: order by start, give keys, build the public records.
    drafts.sort_by_key(|d| d.events.first().copied().unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(drafts.len());
    for (n, mut d) in drafts.into_iter().enumerate() {
        let key = format!("S{}", n + 1);
        if matches!(d.state, SessionState::Active | SessionState::Disconnected) {
            d.flags.insert(SessionFlag::LogoffNotSeen);
        }
        d.close_interval(None, IntervalEnd::Open);
        for &i in &d.events {
            events[i].session_key = Some(key.clone());
        }
        out.push(finish(d, key, events, opts));
    }
    out
}

fn finish(d: Draft, key: String, events: &[TimelineEvent], opts: &TimelineOptions) -> Session {
    let r = |i: usize| events[i].event_ref();
    let first = d
        .events
        .first()
        .map_or(Timestamp::UNIX_EPOCH, |&i| events[i].time);
    let last = d.events.last().map_or(first, |&i| events[i].time);

    // Disconnect clusters.
    let mut disconnects: Vec<Disconnect> = Vec::new();
    let mut cluster_of: HashMap<usize, usize> = HashMap::new();
    let logoff_time = d.logoff.map(|i| events[i].time);
    for &i in &d.events {
        let e = &events[i];
        if !is_disconnect_family(e.role) {
            continue;
        }
        // One of each role per disconnect, except LSM 40, which Windows writes twice for one
        // takeover: a second 40 with the same reason joins.
        let join = disconnects.last().is_some_and(|c| {
            e.time.duration_since(c.time) <= opts.pair_window
                && c.events.iter().all(|x| {
                    let o = &events[x.index];
                    o.role != e.role
                        || (e.role == Role::DisconnectReason && o.reason_code == e.reason_code)
                })
        });
        if !join {
            disconnects.push(Disconnect {
                time: e.time,
                events: Vec::new(),
                reason_code: None,
                reason: None,
                reason_class: None,
                licensing_reason: false,
                initiator: Initiator::Unknown,
                by_session: None,
                after_logoff: logoff_time.is_some_and(|l| l <= e.time),
            });
        }
        let n = disconnects.len() - 1;
        cluster_of.insert(i, n);
        let c = &mut disconnects[n];
        c.events.push(r(i));
        if e.role == Role::DisconnectReason {
            if let (Some(code), Some(space)) = (e.reason_code, e.reason_space) {
                let dec = reasons::decode(space, code);
                c.reason_code = Some(code);
                c.reason = e.reason.clone();
                c.reason_class = Some(dec.class().to_string());
                c.licensing_reason = dec.licensing();
            } else if e.reason.is_some() {
                c.reason = e.reason.clone();
            }
        }
        if e.role == Role::DisconnectedBy {
            let by = e.fields.get("Source").and_then(|s| super::parse_u32(s));
            c.by_session = by;
            c.initiator = match by {
                Some(b) if b == d.session_id => Initiator::Own,
                Some(_) => Initiator::OtherSession,
                None => Initiator::Unknown,
            };
        }
    }

    let intervals: Vec<Interval> = d
        .intervals
        .iter()
        .map(|&(s, e, kind)| Interval {
            start: r(s),
            end: e.map(r),
            end_kind: kind,
            seconds: e.map(|e| events[e].time.duration_since(events[s].time).as_secs()),
            disconnect: e.and_then(|e| cluster_of.get(&e).copied()),
        })
        .collect();
    let connected_seconds = intervals.iter().filter_map(|i| i.seconds).sum();

    let mut users: Vec<String> = Vec::new();
    let mut addresses: Vec<String> = Vec::new();
    let mut files: BTreeSet<Arc<str>> = BTreeSet::new();
    let mut flags = d.flags;
    for &i in &d.events {
        let e = &events[i];
        if let Some(u) = &e.user {
            if !users.iter().any(|x| x.eq_ignore_ascii_case(u)) {
                users.push(u.clone());
            }
        }
        if let Some(a) = &e.address {
            if !addresses.contains(a) {
                addresses.push(a.clone());
            }
        }
        files.insert(e.file.clone());
        if e.foreign_computer {
            flags.insert(SessionFlag::ForeignComputer);
        }
        if !e.verified {
            flags.insert(SessionFlag::UnverifiedRecords);
        }
    }
    if files.len() > 1 {
        flags.insert(SessionFlag::SpansFiles);
    }
    if users.len() > 1 {
        flags.insert(SessionFlag::UserChanged);
    }
    let duration_seconds = match (d.logon, d.logoff) {
        (Some(a), Some(b)) => Some(events[b].time.duration_since(events[a].time).as_secs()),
        _ => None,
    };
    Session {
        key,
        computer: d.computer,
        session_id: d.session_id,
        user: users.into_iter().next(),
        addresses,
        start: first,
        end: last,
        logon: d.logon.map(r),
        logoff: d.logoff.map(r),
        state: d.state,
        duration_seconds,
        connected_seconds,
        intervals,
        disconnects,
        reconnects: d.reconnects.iter().map(|&i| r(i)).collect(),
        flags: flags.into_iter().collect(),
        files: files.into_iter().collect(),
        events: d.events,
    }
}

/// `DOMAIN\user` split into lower-case (domain's first label, user).
/// Two optional shared names hold the same text (pointer equality first).
fn same_name(a: &Option<Arc<str>>, b: &Option<Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

/// (short domain, user) as written; compare ignoring ASCII case.
fn user_parts(u: &str) -> (&str, &str) {
    let u = u.trim();
    match u.rsplit_once('\\') {
        Some((dom, user)) => (dom.split('.').next().unwrap_or_default(), user),
        None => match u.split_once('@') {
            Some((user, dom)) => (dom.split('.').next().unwrap_or_default(), user),
            None => ("", u),
        },
    }
}

/// Whether two user names denote the same account (domain compared when both have one).
pub(super) fn same_user(a: &str, b: &str) -> bool {
    let (da, ua) = user_parts(a);
    let (db, ub) = user_parts(b);
    !ua.is_empty()
        && ua.eq_ignore_ascii_case(ub)
        && (da.is_empty() || db.is_empty() || da.eq_ignore_ascii_case(db))
}

/// A case-insensitive key for grouping sessions by user.
pub(super) fn user_key(u: &str) -> String {
    let (d, u) = user_parts(u);
    if d.is_empty() {
        u.to_ascii_lowercase()
    } else {
        format!("{d}\\{u}").to_ascii_lowercase()
    }
}

/// Join authentication and window-station events to the session they belong to (reference §15
/// "who/where"): RCM 1149 and Security 4624 type 10 to the next arbitration (LSM 41), logon
/// or reconnect of the same user within `auth_window` (so attempts that never logged on keep
/// their own authentication); Security 4778 to the nearest reconnect or logon of the same user
/// within `auth_window` either side; Security 4779 to a disconnect of the same user within
/// `pair_window`. Adds their addresses to the session.
pub(super) fn join_related(
    events: &mut [TimelineEvent],
    sessions: &mut [Session],
    opts: &TimelineOptions,
) {
    let by_key: HashMap<String, usize> = sessions
        .iter()
        .enumerate()
        .map(|(n, s)| (s.key.clone(), n))
        .collect();
    let mut joins: Vec<(usize, usize)> = Vec::new();
    // Events are time-sorted within each clock epoch: joins look within the event's epoch.
    let mut epoch_range = 0..0;
    for i in 0..events.len() {
        let e = &events[i];
        if i >= epoch_range.end {
            let end = i + events[i..].partition_point(|x| x.epoch == e.epoch);
            epoch_range = i..end;
        }
        let Some(user) = e.user.as_deref() else {
            continue;
        };
        let epoch = &events[epoch_range.clone()];
        let host = e.computer.as_deref().map(short_host).unwrap_or_default();
        let same = |x: &TimelineEvent| {
            x.session_key.is_some()
                && x.user.as_deref().is_some_and(|u| same_user(u, user))
                && x.computer
                    .as_deref()
                    .map_or(host.is_empty(), |c| is_host(c, &host))
        };
        // The nearest event of `roles` within `w` either side (earlier wins a tie).
        let nearest = |roles: &[Role], w: jiff::SignedDuration| {
            epoch[epoch.partition_point(|x| x.time < back(e.time, w))..]
                .iter()
                .take_while(|x| x.time <= shift(e.time, w))
                .filter(|x| roles.contains(&x.role) && same(x))
                .min_by_key(|x| (x.time.duration_since(e.time).abs(), x.index))
        };
        let target = match e.role {
            // Logged before the session's arbitration/logon: join the next one.
            Role::Authenticated | Role::LogonAudit => events[i..epoch_range.end]
                .iter()
                .take_while(|x| x.time.duration_since(e.time) <= opts.auth_window)
                .find(|x| {
                    matches!(
                        x.role,
                        Role::ArbitrationBegin | Role::Logon | Role::Reconnect
                    ) && same(x)
                }),
            // Logged around the LSM event it mirrors, before or after it.
            Role::WindowStationReconnect => {
                nearest(&[Role::Reconnect, Role::Logon], opts.auth_window)
            }
            Role::WindowStationDisconnect => nearest(&[Role::Disconnect], opts.pair_window),
            _ => None,
        };
        if let Some(s) = target
            .and_then(|x| x.session_key.as_ref())
            .and_then(|k| by_key.get(k))
        {
            joins.push((i, *s));
        }
    }
    for (i, s) in joins {
        let sess = &mut sessions[s];
        events[i].session_key = Some(sess.key.clone());
        if let Some(a) = &events[i].address {
            if !sess.addresses.contains(a) && a != "-" {
                sess.addresses.push(a.clone());
            }
        }
        if let Err(pos) = sess.events.binary_search(&i) {
            sess.events.insert(pos, i);
        }
        if !sess.files.contains(&events[i].file) {
            sess.files.push(events[i].file.clone());
            sess.files.sort();
        }
    }
}

/// Totals per user, ordered by user key.
pub(super) fn user_summaries(sessions: &[Session]) -> Vec<UserSummary> {
    let mut by: BTreeMap<String, UserSummary> = BTreeMap::new();
    for s in sessions {
        let Some(u) = &s.user else { continue };
        let e = by.entry(user_key(u)).or_insert_with(|| UserSummary {
            user: u.clone(),
            sessions: Vec::new(),
            logons: 0,
            reconnects: 0,
            disconnects: 0,
            licensing_disconnects: 0,
            connected_seconds: 0,
        });
        e.sessions.push(s.key.clone());
        e.logons += usize::from(s.logon.is_some());
        e.reconnects += s.reconnects.len();
        e.disconnects += s.disconnects.iter().filter(|d| !d.after_logoff).count();
        e.licensing_disconnects += s.disconnects.iter().filter(|d| d.licensing_reason).count();
        e.connected_seconds += s.connected_seconds;
    }
    by.into_values().collect()
}
