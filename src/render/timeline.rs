//! The timeline's output formats: a readable per-session text, JSONL with one event per line,
//! and Timesketch-importable JSONL; plus the output time zone (UTC by default, IANA names or
//! fixed offsets on request), which only changes how times are written, never the analysis.
//!
//! # JSONL contract (`render_jsonl`)
//! One JSON object per line, one line per event in timeline order, with the keys `time` (RFC
//! 3339 in the chosen zone, 100 ns digits), `computer`, `foreign_computer`, `channel`,
//! `provider`, `event_id` (canonical), `raw_event_id`, `record_id`, `file`, `verified`, `role`,
//! `session` (Windows session id), `session_key` (reconstructed session, `S1`…), `user`,
//! `address`, `reason_code`, `reason_space`, `reason`, `licensing_reason`, `message`. Absent
//! values are `null`.
//!
//! # Timesketch contract (`render_timesketch`)
//! One JSON object per line with Timesketch's required `message`, `datetime` (ISO 8601 with
//! offset) and `timestamp_desc`, plus `timestamp` (microseconds since the Unix epoch),
//! `data_type`, and the JSONL fields that have a value. Events come first (data type
//! `rdsdiag:timeline:event`), then one line per pattern (`rdsdiag:timeline:pattern`).

use std::fmt::Write as _;

use serde::Serialize;

pub use super::tz::{OutputTz, TzError};
use crate::timeline::{
    provider_short, Pattern, Role, Session, SessionState, Timeline, TimelineEvent,
};

fn duration_text(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, s) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn event_line(out: &mut String, tz: &OutputTz, e: &TimelineEvent, indent: &str) {
    let mark = if e.foreign_computer { " !" } else { "" };
    let _ = write!(
        out,
        "{indent}{}  {} {} {}{mark}",
        tz.format(e.time),
        provider_short(&e.provider),
        e.event_id,
        e.role.name()
    );
    if let Some(u) = &e.user {
        let _ = write!(out, "  user={u}");
    }
    if let Some(a) = &e.address {
        let _ = write!(out, "  address={a}");
    }
    if let Some(r) = &e.reason {
        let _ = write!(out, "  reason {r}");
    }
    let file = e.file.rsplit(['/', '\\']).next().unwrap_or(&e.file);
    let _ = writeln!(out, "  [{file}#{}]", e.record_id);
}

fn session_block(out: &mut String, t: &Timeline, tz: &OutputTz, s: &Session) {
    let _ = write!(out, "{}  session id {}", s.key, s.session_id);
    if let Some(u) = &s.user {
        let _ = write!(out, "  {u}");
    }
    if let Some(c) = &s.computer {
        let _ = write!(out, "  on {c}");
    }
    if !s.addresses.is_empty() {
        let _ = write!(out, "  from {}", s.addresses.join(", "));
    }
    let _ = writeln!(out);
    let _ = write!(
        out,
        "    {} → {}  state {}",
        tz.format(s.start),
        tz.format(s.end),
        kebab(&s.state)
    );
    if let Some(d) = s.duration_seconds {
        let _ = write!(out, "  logon→logoff {}", duration_text(d));
    }
    if s.connected_seconds > 0 {
        let _ = write!(out, "  connected {}", duration_text(s.connected_seconds));
    }
    let _ = writeln!(out);
    if !s.flags.is_empty() {
        let flags: Vec<String> = s.flags.iter().map(kebab).collect();
        let _ = writeln!(out, "    flags: {}", flags.join(", "));
    }
    for iv in &s.intervals {
        let end = match &iv.end {
            Some(e) => tz.format(e.time),
            None => "…".to_string(),
        };
        let _ = write!(
            out,
            "    connected {} → {} ({}",
            tz.format(iv.start.time),
            end,
            kebab(&iv.end_kind)
        );
        if let Some(secs) = iv.seconds {
            let _ = write!(out, ", {}", duration_text(secs));
        }
        let _ = writeln!(out, ")");
    }
    for d in &s.disconnects {
        let _ = write!(out, "    disconnect {}", tz.format(d.time));
        match &d.reason {
            Some(r) => {
                let _ = write!(out, "  reason {r}");
            }
            None => {
                let _ = write!(out, "  no reason event");
            }
        }
        if d.licensing_reason {
            let _ = write!(out, "  LICENSING");
        }
        if let Some(b) = d.by_session {
            let _ = write!(out, "  by session {b} ({})", kebab(&d.initiator));
        }
        if d.after_logoff {
            let _ = write!(out, "  (logoff teardown)");
        }
        let _ = writeln!(out);
    }
    for &i in &s.events {
        if let Some(e) = t.events.get(i) {
            event_line(out, tz, e, "      ");
        }
    }
}

/// [`render_text`] for a terminal: lines longer than `width` wrap under their indent (0:
/// unlimited), and with `color` the headings, patterns, licensing disconnects and events of other
/// computers stand out. The words are the same without colour.
pub fn render_text_styled(t: &Timeline, tz: &OutputTz, color: bool, width: usize) -> String {
    let paint = super::text::Paint { on: color };
    let mut out = String::new();
    for line in render_text(t, tz).lines() {
        let indent = line.len() - line.trim_start().len();
        let pad = " ".repeat(indent);
        let rest = " ".repeat(indent + 4);
        let fitted = super::width::fill(line.trim_start(), width, &pad, &rest);
        for l in fitted.lines() {
            out.push_str(&colour_line(&paint, l, indent == 0 && !l.is_empty()));
            out.push('\n');
        }
    }
    out
}

fn colour_line(p: &super::text::Paint, l: &str, heading: bool) -> String {
    if !p.on {
        return l.to_string();
    }
    if heading {
        return p.bold(l);
    }
    let mut s = l.to_string();
    if let Some(rest) = s.trim_start().strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let tag = format!("[{}]", &rest[..end]);
            s = s.replacen(&tag, &p.wrap("1;33", &tag), 1);
        }
    }
    s = s.replace("LICENSING", &p.wrap("1;31", "LICENSING"));
    if s.trim_start().starts_with("disconnect ") {
        s = s.replacen("disconnect", &p.wrap("33", "disconnect"), 1);
    }
    if let Some(i) = s.find(" !  ") {
        s.replace_range(i..i + 2, &p.wrap("35", " !"));
    }
    s
}

/// A readable timeline: header, patterns with their evidence, sessions with their events,
/// users, notes. Times in `tz`, labelled.
pub fn render_text(t: &Timeline, tz: &OutputTz) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Session timeline (times in {})", tz.label());
    match &t.host_computer {
        Some(h) => {
            let _ = writeln!(
                out,
                "Host: {h} (events naming another computer are marked !)"
            );
        }
        None => {
            let _ = writeln!(out, "Host: unknown (events are not checked against it)");
        }
    }
    let span = match (t.first, t.last) {
        (Some(a), Some(b)) => format!(", {} → {}", tz.format(a), tz.format(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "Evidence: {} events from {} files{span}",
        t.summary.events,
        t.files.len()
    );
    let s = &t.summary;
    let _ = writeln!(
        out,
        "Sessions: {}  users: {}  logons: {}  disconnects: {} ({} licensing)  reconnects: {}  without logoff: {}",
        s.sessions, s.users, s.logons, s.disconnects, s.licensing_disconnects, s.reconnects, s.sessions_without_logoff
    );
    if !t.clock_changes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Clock changes (sessions are cut there; events are ordered by clock epoch, then time)"
        );
        for (k, c) in t.clock_changes.iter().enumerate() {
            let _ = writeln!(
                out,
                "  #{}: {} → {} ({}, {:+} s), first record after it: {}#{}",
                k + 1,
                tz.format(c.from),
                tz.format(c.to),
                kebab(&c.direction),
                c.seconds,
                c.file,
                c.record_id
            );
            for s in &c.seen_in {
                let _ = writeln!(
                    out,
                    "      {}: #{} at {} → #{} at {}",
                    s.file,
                    s.before_record_id,
                    tz.format(s.from),
                    s.record_id,
                    tz.format(s.to)
                );
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Patterns");
    if t.patterns.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for p in &t.patterns {
        pattern_block(&mut out, t, tz, p);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Sessions");
    if t.sessions.is_empty() {
        let _ = writeln!(out, "  none reconstructed");
    }
    // Connections that never logged on (scans, brute force, logon-screen timeouts) are listed
    // compactly once there are many.
    let attempts: Vec<&Session> = t.sessions.iter().filter(|s| is_attempt(s)).collect();
    let compact = attempts.len() > TEXT_ATTEMPT_BLOCKS;
    for s in &t.sessions {
        if !(compact && is_attempt(s)) {
            session_block(&mut out, t, tz, s);
        }
    }
    if compact {
        attempts_block(&mut out, tz, &attempts);
    }
    let loose: Vec<&TimelineEvent> = t
        .events
        .iter()
        .filter(|e| {
            e.session_key.is_none()
                && matches!(
                    e.role,
                    Role::Licensing | Role::SecurityError | Role::ClientDisconnect | Role::Service
                )
        })
        .collect();
    if !loose.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Licensing, security, client and service events outside sessions ({})",
            loose.len()
        );
        let mut by_event: std::collections::BTreeMap<String, usize> = Default::default();
        for e in &loose {
            *by_event
                .entry(format!(
                    "{} {} {}",
                    provider_short(&e.provider),
                    e.event_id,
                    e.role.name()
                ))
                .or_insert(0) += 1;
        }
        for (k, n) in &by_event {
            let _ = writeln!(out, "  {k}: {n}");
        }
        for e in loose.iter().take(TEXT_LOOSE_LINES) {
            event_line(&mut out, tz, e, "  ");
        }
        if loose.len() > TEXT_LOOSE_LINES {
            let _ = writeln!(
                out,
                "  … {} more (see --format jsonl)",
                loose.len() - TEXT_LOOSE_LINES
            );
        }
    }
    if !t.users.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Users");
        for u in &t.users {
            let _ = writeln!(
                out,
                "  {}: {} sessions ({}), {} logons, {} reconnects, {} disconnects ({} licensing), connected {}",
                u.user,
                u.sessions.len(),
                u.sessions.join(" "),
                u.logons,
                u.reconnects,
                u.disconnects,
                u.licensing_disconnects,
                duration_text(u.connected_seconds)
            );
        }
    }
    if !t.notes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Notes");
        for n in &t.notes {
            let _ = writeln!(out, "  {} {}: {}", kebab(&n.severity), n.code, n.message);
        }
    }
    out
}

fn pattern_block(out: &mut String, t: &Timeline, tz: &OutputTz, p: &Pattern) {
    let _ = writeln!(
        out,
        "  [{}] {}  {}",
        p.kind.name(),
        tz.format(p.time),
        p.summary
    );
    // Session events (the anchors) all; supporting events up to a few.
    let mut shown_support = 0usize;
    let mut hidden = 0usize;
    for r in &p.evidence {
        let Some(e) = t.events.get(r.index) else {
            continue;
        };
        if e.role.is_session_scoped() || shown_support < TEXT_SUPPORT_LINES {
            if !e.role.is_session_scoped() {
                shown_support += 1;
            }
            event_line(out, tz, e, "      ");
        } else {
            hidden += 1;
        }
    }
    if hidden > 0 || p.evidence_truncated {
        let _ = writeln!(
            out,
            "      … {} more supporting events not shown ({} in all; see --format jsonl)",
            p.supporting_events.saturating_sub(shown_support),
            p.supporting_events
        );
    }
}

/// A session that never logged on.
fn is_attempt(s: &Session) -> bool {
    s.logon.is_none()
        && matches!(
            s.state,
            SessionState::EndedBeforeLogon | SessionState::PreLogon
        )
}

fn attempts_block(out: &mut String, tz: &OutputTz, attempts: &[&Session]) {
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for s in attempts {
        let r = s
            .disconnects
            .first()
            .and_then(|d| d.reason.clone())
            .unwrap_or_else(|| "no reason event".into());
        *reasons.entry(r).or_insert(0) += 1;
    }
    let _ = writeln!(
        out,
        "Connections that ended before a logon: {}",
        attempts.len()
    );
    for (r, n) in &reasons {
        let _ = writeln!(out, "    {n} × reason {r}");
    }
    for s in attempts.iter().take(TEXT_ATTEMPT_LINES) {
        let reason = s
            .disconnects
            .first()
            .and_then(|d| d.reason_code)
            .map_or_else(|| "-".to_string(), |c| c.to_string());
        let _ = writeln!(
            out,
            "    {}  {}  session id {}  reason {}{}",
            s.key,
            tz.format(s.start),
            s.session_id,
            reason,
            s.user
                .as_deref()
                .map(|u| format!("  {u}"))
                .unwrap_or_default()
        );
    }
    if attempts.len() > TEXT_ATTEMPT_LINES {
        let _ = writeln!(
            out,
            "    … {} more (see --format jsonl)",
            attempts.len() - TEXT_ATTEMPT_LINES
        );
    }
}

/// Up to this many connections that never logged on get a full block in text output.
const TEXT_ATTEMPT_BLOCKS: usize = 10;
/// Lines listing such connections once they are summarised.
const TEXT_ATTEMPT_LINES: usize = 20;
/// Supporting events listed per pattern in text output.
const TEXT_SUPPORT_LINES: usize = 5;
/// Events outside sessions listed in text output.
const TEXT_LOOSE_LINES: usize = 20;

#[derive(Serialize)]
struct JsonlLine<'a> {
    time: String,
    /// The clock epoch, only after a clock change (docs/timeline.md "Clock changes").
    #[serde(skip_serializing_if = "is_zero")]
    epoch: u32,
    computer: Option<&'a str>,
    foreign_computer: bool,
    channel: Option<&'a str>,
    provider: &'a str,
    event_id: u16,
    raw_event_id: u32,
    record_id: u64,
    file: &'a str,
    verified: bool,
    role: Role,
    session: Option<u32>,
    session_key: Option<&'a str>,
    user: Option<&'a str>,
    address: Option<&'a str>,
    reason_code: Option<u32>,
    reason_space: Option<crate::catalog::reasons::CodeSpace>,
    reason: Option<&'a str>,
    licensing_reason: bool,
    message: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn jsonl_line<'a>(e: &'a TimelineEvent, tz: &OutputTz) -> JsonlLine<'a> {
    JsonlLine {
        time: tz.format(e.time),
        epoch: e.epoch,
        computer: e.computer.as_deref(),
        foreign_computer: e.foreign_computer,
        channel: e.channel.as_deref(),
        provider: &e.provider,
        event_id: e.event_id,
        raw_event_id: e.raw_event_id,
        record_id: e.record_id,
        file: &e.file,
        verified: e.verified,
        role: e.role,
        session: e.session,
        session_key: e.session_key.as_deref(),
        user: e.user.as_deref(),
        address: e.address.as_deref(),
        reason_code: e.reason_code,
        reason_space: e.reason_space,
        reason: e.reason.as_deref(),
        licensing_reason: e.licensing_reason,
        message: e.message(),
    }
}

/// One JSON object per event, in timeline order (see the module docs for the keys).
pub fn render_jsonl(t: &Timeline, tz: &OutputTz) -> String {
    let mut out = String::new();
    for e in &t.events {
        if let Ok(s) = serde_json::to_string(&jsonl_line(e, tz)) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

#[derive(Serialize)]
struct SketchEvent<'a> {
    message: &'a str,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    data_type: &'static str,
    #[serde(flatten)]
    fields: SketchFields<'a>,
}

#[derive(Serialize)]
struct SketchFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    computer: Option<&'a str>,
    foreign_computer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    provider: &'a str,
    event_id: u16,
    raw_event_id: u32,
    record_id: u64,
    file: &'a str,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct SketchPattern<'a> {
    message: &'a str,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    data_type: &'static str,
    pattern: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    sessions: String,
    evidence: Vec<String>,
}

#[derive(Serialize)]
struct SketchClock<'a> {
    message: &'a str,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    data_type: &'static str,
    direction: crate::timeline::ClockDirection,
    from: String,
    seconds: i64,
    evidence: Vec<String>,
}

/// Timesketch JSONL: every event, then every clock change, then every pattern (see the module docs).
pub fn render_timesketch(t: &Timeline, tz: &OutputTz) -> String {
    let mut out = String::new();
    for e in &t.events {
        let message = e.message();
        let line = SketchEvent {
            message: &message,
            datetime: tz.format(e.time),
            timestamp: e.time.as_microsecond(),
            timestamp_desc: "Event Recorded",
            data_type: "rdsdiag:timeline:event",
            fields: SketchFields {
                computer: e.computer.as_deref(),
                foreign_computer: e.foreign_computer,
                channel: e.channel.as_deref(),
                provider: &e.provider,
                event_id: e.event_id,
                raw_event_id: e.raw_event_id,
                record_id: e.record_id,
                file: &e.file,
                role: e.role,
                session: e.session,
                session_key: e.session_key.as_deref(),
                user: e.user.as_deref(),
                address: e.address.as_deref(),
                reason_code: e.reason_code,
                reason: e.reason.as_deref(),
            },
        };
        if let Ok(s) = serde_json::to_string(&line) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    for c in &t.clock_changes {
        let message = c.describe();
        let line = SketchClock {
            message: &message,
            datetime: tz.format(c.to),
            timestamp: c.to.as_microsecond(),
            timestamp_desc: "Clock Change",
            data_type: "rdsdiag:timeline:clock-change",
            direction: c.direction,
            from: tz.format(c.from),
            seconds: c.seconds,
            evidence: c
                .seen_in
                .iter()
                .map(|s| format!("{}#{}", s.file, s.record_id))
                .collect(),
        };
        if let Ok(s) = serde_json::to_string(&line) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    for p in &t.patterns {
        let line = SketchPattern {
            message: &p.summary,
            datetime: tz.format(p.time),
            timestamp: p.time.as_microsecond(),
            timestamp_desc: "Pattern Anchor",
            data_type: "rdsdiag:timeline:pattern",
            pattern: p.kind.name(),
            user: p.user.as_deref(),
            sessions: p.sessions.join(" "),
            evidence: p
                .evidence
                .iter()
                .map(|r| format!("{}#{}", r.file, r.record_id))
                .collect(),
        };
        if let Ok(s) = serde_json::to_string(&line) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(3599), "59m 59s");
        assert_eq!(duration_text(3600), "1h 0m 0s");
        assert_eq!(duration_text(90_061), "1d 1h 1m");
        assert_eq!(duration_text(-5), "0s");
    }
}
