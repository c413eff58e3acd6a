//! Pattern detection over reconstructed sessions: licensing events around disconnects, the
//! 60-minute rhythm of disconnects, new sessions while the old one stayed active (keep-alive),
//! and bursts of security/protocol errors around disconnects. Each pattern cites its events.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

use crate::catalog::sources::Status;

use super::sessions::{same_user, user_key};
use super::{
    back, is_host, provider_short, shift, short_host, Disconnect, EventRef, IntervalCite,
    IntervalEnd, Pattern, PatternKind, Role, Session, TimelineEvent, TimelineOptions, MAX_EVIDENCE,
};

/// Indexes of the host's own events with `role` whose time is within `[from, to]` (events are
/// time-sorted within each clock epoch, and epochs follow each other). Events of other
/// computers never support a pattern of this host.
fn in_window(events: &[TimelineEvent], from: Timestamp, to: Timestamp, role: Role) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = events;
    while let Some(first) = rest.first() {
        let (epoch, after) = rest.split_at(rest.partition_point(|e| e.epoch == first.epoch));
        let start = epoch.partition_point(|e| e.time < from);
        out.extend(
            epoch[start..]
                .iter()
                .take_while(|e| e.time <= to)
                .filter(|e| e.role == role && !e.foreign_computer)
                .map(|e| e.index),
        );
        rest = after;
    }
    out
}

/// Whether any of these events comes from a confirmed row (see [`TimelineEvent::status`]).
fn any_confirmed(events: &[TimelineEvent], idx: &[usize]) -> bool {
    idx.iter().any(|&i| events[i].status == Status::Confirmed)
}

fn counts(events: &[TimelineEvent], idx: &[usize]) -> BTreeMap<String, usize> {
    let mut m: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for &i in idx {
        let e = &events[i];
        *m.entry((provider_short(&e.provider), e.event_id))
            .or_insert(0) += 1;
    }
    m.into_iter()
        .map(|((p, id), n)| (format!("{p} {id}"), n))
        .collect()
}

fn counts_text(m: &BTreeMap<String, usize>) -> String {
    m.iter()
        .map(|(k, n)| {
            if *n == 1 {
                k.clone()
            } else {
                format!("{k} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evidence list: anchor events first, then supporting ones, at most [`MAX_EVIDENCE`];
/// returned in timeline order with a flag when some were left out.
fn evidence(
    events: &[TimelineEvent],
    anchor: &[EventRef],
    support: &[usize],
) -> (Vec<EventRef>, bool) {
    let mut set: BTreeSet<usize> = BTreeSet::new();
    let mut truncated = false;
    for i in anchor
        .iter()
        .map(|r| r.index)
        .chain(support.iter().copied())
    {
        if set.contains(&i) {
            continue;
        }
        if set.len() >= MAX_EVIDENCE {
            truncated = true;
            break;
        }
        set.insert(i);
    }
    (
        set.into_iter().map(|i| events[i].event_ref()).collect(),
        truncated,
    )
}

/// At most five session keys, then how many more.
fn key_list(keys: &[String]) -> String {
    if keys.len() <= 5 {
        keys.join(", ")
    } else {
        format!("{}, … {} more", keys[..5].join(", "), keys.len() - 5)
    }
}

fn minutes(d: SignedDuration) -> String {
    let s = d.as_secs();
    if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn who(s: &Session) -> String {
    match &s.user {
        Some(u) => format!("session {} ({}, id {})", s.key, u, s.session_id),
        None => format!("session {} (id {})", s.key, s.session_id),
    }
}

fn reason_text(d: &Disconnect) -> String {
    match &d.reason {
        Some(r) => format!("reason {r}"),
        None => "no reason event".to_string(),
    }
}

/// Every pattern, sorted by (time, kind, first session).
pub(super) fn detect(
    events: &[TimelineEvent],
    sessions: &[Session],
    opts: &TimelineOptions,
) -> Vec<Pattern> {
    // Sessions of other computers (their records share the capture) are not this host's.
    let own: Vec<&Session> = sessions.iter().filter(|s| s.is_own(events)).collect();
    let sessions = own.as_slice();
    let mut out = Vec::new();
    licensing_disconnects(events, sessions, opts, &mut out);
    client_licensing_disconnects(events, opts, &mut out);
    hourly_disconnects(events, sessions, opts, &mut out);
    cannot_reconnect(events, sessions, &mut out);
    error_bursts(events, sessions, opts, &mut out);
    out.sort_by(|a, b| {
        (a.time, a.kind, a.sessions.first()).cmp(&(b.time, b.kind, b.sessions.first()))
    });
    out
}

/// RDP client logs (event 1026) whose disconnect code is a licensing one (client code space,
/// reference §12: 2056, 2312, 261, 265, 267): the client side of a licensing disconnect.
fn client_licensing_disconnects(
    events: &[TimelineEvent],
    opts: &TimelineOptions,
    out: &mut Vec<Pattern>,
) {
    for e in events
        .iter()
        .filter(|e| e.role == Role::ClientDisconnect && e.licensing_reason && !e.foreign_computer)
    {
        let lic = in_window(
            events,
            back(e.time, opts.licensing_window),
            shift(e.time, opts.licensing_after),
            Role::Licensing,
        );
        let c = counts(events, &lic);
        let mut summary = format!(
            "the RDP client was disconnected with client code {}",
            e.reason.as_deref().unwrap_or("?")
        );
        if !lic.is_empty() {
            summary.push_str(&format!(
                "; licensing events around it: {}",
                counts_text(&c)
            ));
        }
        let (evidence, evidence_truncated) = evidence(events, &[e.event_ref()], &lic);
        out.push(Pattern {
            kind: PatternKind::LicensingDisconnect,
            time: e.time,
            user: e.user.clone(),
            sessions: Vec::new(),
            summary,
            reason_code: e.reason_code,
            licensing_reason: true,
            intervals: Vec::new(),
            counts: c,
            supporting_events: lic.len(),
            evidence,
            evidence_truncated,
        });
    }
}

fn licensing_disconnects(
    events: &[TimelineEvent],
    sessions: &[&Session],
    opts: &TimelineOptions,
    out: &mut Vec<Pattern>,
) {
    for s in sessions {
        for d in &s.disconnects {
            if d.after_logoff && !d.licensing_reason {
                continue;
            }
            let lic = in_window(
                events,
                back(d.time, opts.licensing_window),
                shift(d.time, opts.licensing_after),
                Role::Licensing,
            );
            // An UNCONFIRMED licensing event adds context, never makes the pattern alone.
            if !d.licensing_reason && !any_confirmed(events, &lic) {
                continue;
            }
            let c = counts(events, &lic);
            let mut summary = format!("{} disconnected with {}", who(s), reason_text(d));
            if lic.is_empty() {
                summary.push_str("; the reason code itself is a licensing code");
            } else {
                summary.push_str(&format!(
                    "; licensing events from {} before to {} after: {}",
                    minutes(opts.licensing_window),
                    minutes(opts.licensing_after),
                    counts_text(&c)
                ));
            }
            let (evidence, evidence_truncated) = evidence(events, &d.events, &lic);
            out.push(Pattern {
                kind: PatternKind::LicensingDisconnect,
                time: d.time,
                user: s.user.clone(),
                sessions: vec![s.key.clone()],
                summary,
                reason_code: d.reason_code,
                licensing_reason: d.licensing_reason,
                intervals: Vec::new(),
                counts: c,
                supporting_events: lic.len(),
                evidence,
                evidence_truncated,
            });
        }
    }
}

/// A user's display name and their (session, interval index) hits.
type UserIntervals<'a> = (String, Vec<(&'a Session, usize)>);
/// Disconnects of one burst and the union of their errors.
type Burst<'a> = (Vec<(&'a Session, &'a Disconnect)>, BTreeSet<usize>);

fn hourly_disconnects(
    events: &[TimelineEvent],
    sessions: &[&Session],
    opts: &TimelineOptions,
    out: &mut Vec<Pattern>,
) {
    // Per user: connected intervals of about 60 minutes that ended in a disconnect.
    let mut by_user: BTreeMap<String, UserIntervals> = BTreeMap::new();
    for s in sessions {
        let Some(u) = &s.user else { continue };
        for (n, iv) in s.intervals.iter().enumerate() {
            let Some(end) = &iv.end else { continue };
            if iv.end_kind != IntervalEnd::Disconnect {
                continue;
            }
            let len = end.time.duration_since(iv.start.time);
            if len >= opts.hourly_min && len <= opts.hourly_max {
                by_user
                    .entry(user_key(u))
                    .or_insert_with(|| (u.clone(), Vec::new()))
                    .1
                    .push((s, n));
            }
        }
    }
    for (_, (user, mut hits)) in by_user {
        if hits.len() < opts.hourly_repeats.max(1) {
            continue;
        }
        hits.sort_by_key(|(s, n)| s.intervals[*n].start.index);
        let mut anchor = Vec::new();
        let mut cites = Vec::new();
        let mut keys = BTreeSet::new();
        for (s, n) in &hits {
            let iv = &s.intervals[*n];
            let Some(end) = &iv.end else { continue };
            anchor.push(iv.start.clone());
            anchor.push(end.clone());
            keys.insert(s.key.clone());
            let reason_code = iv
                .disconnect
                .and_then(|d| s.disconnects.get(d))
                .and_then(|d| {
                    for r in &d.events {
                        anchor.push(r.clone());
                    }
                    d.reason_code
                });
            cites.push(IntervalCite {
                session: s.key.clone(),
                start: iv.start.time,
                end: end.time,
                seconds: end.time.duration_since(iv.start.time).as_secs(),
                reason_code,
            });
        }
        let first = cites.first().map(|c| c.start).unwrap_or_default();
        let last = cites.last().map(|c| c.end).unwrap_or_default();
        let lic = in_window(
            events,
            back(first, opts.licensing_window),
            shift(last, opts.licensing_after),
            Role::Licensing,
        );
        let c = counts(events, &lic);
        let mut summary = format!(
            "{user}: disconnected every 60 minutes ({} connected intervals of {}–{} ended in a disconnect; {})",
            cites.len(),
            minutes(opts.hourly_min),
            minutes(opts.hourly_max),
            reasons_seen(&cites),
        );
        if lic.is_empty() {
            summary.push_str("; no licensing events in that period");
        } else {
            summary.push_str(&format!(
                "; licensing events in that period: {}",
                counts_text(&c)
            ));
        }
        let (evidence, evidence_truncated) = evidence(events, &anchor, &lic);
        out.push(Pattern {
            kind: PatternKind::HourlyDisconnects,
            time: first,
            user: Some(user),
            sessions: keys.into_iter().collect(),
            summary,
            reason_code: None,
            licensing_reason: false,
            intervals: cites,
            counts: c,
            supporting_events: lic.len(),
            evidence,
            evidence_truncated,
        });
    }
}

/// The disconnect reasons of the intervals, in words: `reason 4 ×3, no reason event ×1`.
fn reasons_seen(cites: &[IntervalCite]) -> String {
    let mut by: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    for c in cites {
        *by.entry(c.reason_code).or_insert(0) += 1;
    }
    by.into_iter()
        .map(|(code, n)| {
            let what = code.map_or("no reason event".to_string(), |c| format!("reason {c}"));
            if n == 1 {
                what
            } else {
                format!("{what} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The role of the last state-changing event of `s` strictly before `t`, with its index.
fn last_state_before(events: &[TimelineEvent], s: &Session, t_index: usize) -> Option<usize> {
    s.events
        .iter()
        .copied()
        .filter(|&i| i < t_index)
        .rfind(|&i| {
            matches!(
                events[i].role,
                Role::Logon
                    | Role::ShellStart
                    | Role::Reconnect
                    | Role::Disconnect
                    | Role::DisconnectedBy
                    | Role::DisconnectReason
                    | Role::TimeLimitDisconnect
                    | Role::Logoff
            )
        })
}

fn is_console(a: Option<&str>) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case("LOCAL"))
}

fn cannot_reconnect(events: &[TimelineEvent], sessions: &[&Session], out: &mut Vec<Pattern>) {
    // Sessions by (computer, user), in start order.
    let mut by_user: BTreeMap<(String, String), Vec<&Session>> = BTreeMap::new();
    for s in sessions {
        if let Some(u) = &s.user {
            let host = s.computer.as_deref().map(short_host).unwrap_or_default();
            by_user.entry((host, user_key(u))).or_default().push(s);
        }
    }
    for new in sessions {
        let (Some(logon), Some(user)) = (&new.logon, &new.user) else {
            continue;
        };
        let new_ev = &events[logon.index];
        if is_console(new_ev.address.as_deref()) {
            continue;
        }
        let host = new.computer.as_deref().map(short_host).unwrap_or_default();
        let Some(candidates) = by_user.get(&(host, user_key(user))) else {
            continue;
        };
        for old in candidates.iter().copied() {
            if old.key == new.key
                || old.start >= new_ev.time
                || !old.user.as_deref().is_some_and(|u| same_user(u, user))
            {
                continue;
            }
            let Some(last) = last_state_before(events, old, logon.index) else {
                continue;
            };
            let last_ev = &events[last];
            if !matches!(
                last_ev.role,
                Role::Logon | Role::ShellStart | Role::Reconnect
            ) {
                continue;
            }
            // The connect that made the old session active (its logon or last reconnect).
            let connect = old
                .events
                .iter()
                .copied()
                .rfind(|&i| i <= last && matches!(events[i].role, Role::Logon | Role::Reconnect))
                .unwrap_or(last);
            if is_console(events[connect].address.as_deref()) {
                continue;
            }
            // What became of the old session afterwards (e.g. a disconnect with reason 5 or 0).
            let later = old.events.iter().copied().find(|&i| {
                i > logon.index
                    && matches!(
                        events[i].role,
                        Role::Disconnect | Role::DisconnectReason | Role::Logoff
                    )
            });
            let mut anchor = vec![events[connect].event_ref(), logon.clone()];
            if last != connect {
                anchor.push(events[last].event_ref());
            }
            let mut summary = format!(
                "{user} got new {} while {} was still connected (no disconnect or logoff event in between)",
                who(new),
                who(old),
            );
            let mut reason_code = None;
            if let Some(l) = later {
                anchor.push(events[l].event_ref());
                // The disconnect cluster of the old session that contains `l`.
                if let Some(d) = old
                    .disconnects
                    .iter()
                    .find(|d| d.events.iter().any(|r| r.index == l))
                {
                    reason_code = d.reason_code;
                    for r in &d.events {
                        anchor.push(r.clone());
                    }
                    summary.push_str(&format!(
                        "; the old session was disconnected later with {}",
                        reason_text(d)
                    ));
                } else {
                    summary.push_str("; the old session ended later");
                }
            } else {
                summary.push_str("; the old session never disconnected in the evidence");
            }
            let (evidence, evidence_truncated) = evidence(events, &anchor, &[]);
            out.push(Pattern {
                kind: PatternKind::CannotReconnect,
                time: new_ev.time,
                user: Some(user.clone()),
                sessions: vec![old.key.clone(), new.key.clone()],
                summary,
                reason_code,
                licensing_reason: false,
                intervals: Vec::new(),
                counts: BTreeMap::new(),
                supporting_events: 0,
                evidence,
                evidence_truncated,
            });
        }
    }
}

fn error_bursts(
    events: &[TimelineEvent],
    sessions: &[&Session],
    opts: &TimelineOptions,
    out: &mut Vec<Pattern>,
) {
    // Each disconnect with enough errors around it…
    let mut hits: Vec<(&Session, &Disconnect, BTreeSet<usize>)> = Vec::new();
    for s in sessions {
        let host = s.computer.as_deref().map(short_host);
        for d in s.disconnects.iter().filter(|d| !d.after_logoff) {
            let errs: BTreeSet<usize> = in_window(
                events,
                back(d.time, opts.burst_window),
                shift(d.time, opts.burst_window),
                Role::SecurityError,
            )
            .into_iter()
            .filter(|&i| match (&host, events[i].computer.as_deref()) {
                (Some(h), Some(c)) => is_host(c, h),
                _ => true,
            })
            .collect();
            // At least one error from a confirmed row: UNCONFIRMED ones only add context.
            let confirmed = errs.iter().any(|&i| events[i].status == Status::Confirmed);
            if errs.len() >= opts.burst_min_events.max(1) && confirmed {
                hits.push((s, d, errs));
            }
        }
    }
    hits.sort_by_key(|(s, d, _)| (d.time, d.events.first().map(|r| r.index), s.key.clone()));
    // …and disconnects that share errors form one burst.
    let mut groups: Vec<Burst> = Vec::new();
    for (s, d, errs) in hits {
        match groups.last_mut() {
            Some((members, set)) if !set.is_disjoint(&errs) => {
                members.push((s, d));
                set.extend(errs);
            }
            _ => groups.push((vec![(s, d)], errs)),
        }
    }
    for (members, errs) in groups {
        let errs: Vec<usize> = errs.into_iter().collect();
        let c = counts(events, &errs);
        let Some((s0, d0)) = members.first() else {
            continue;
        };
        let mut keys: Vec<String> = Vec::new();
        let mut anchor: Vec<EventRef> = Vec::new();
        let mut codes = BTreeSet::new();
        let mut users = BTreeSet::new();
        for (s, d) in &members {
            if !keys.contains(&s.key) {
                keys.push(s.key.clone());
            }
            anchor.extend(d.events.iter().cloned());
            codes.insert(d.reason_code);
            if let Some(u) = &s.user {
                users.insert(u.clone());
            }
        }
        let head = if members.len() == 1 {
            format!("{} disconnected with {}", who(s0), reason_text(d0))
        } else {
            format!("{} disconnects ({})", members.len(), key_list(&keys))
        };
        let summary = format!(
            "{head}; {} security/protocol errors within {} either side: {}",
            errs.len(),
            minutes(opts.burst_window),
            counts_text(&c)
        );
        let (evidence, evidence_truncated) = evidence(events, &anchor, &errs);
        out.push(Pattern {
            kind: PatternKind::ErrorBurst,
            time: d0.time,
            user: if users.len() == 1 {
                users.into_iter().next()
            } else {
                None
            },
            sessions: keys,
            summary,
            reason_code: if codes.len() == 1 {
                d0.reason_code
            } else {
                None
            },
            licensing_reason: members.iter().any(|(_, d)| d.licensing_reason),
            intervals: Vec::new(),
            counts: c,
            supporting_events: errs.len(),
            evidence,
            evidence_truncated,
        });
    }
}
