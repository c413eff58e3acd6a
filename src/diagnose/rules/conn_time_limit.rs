//! RDS-CONN-TIME-LIMIT: disconnects or logoffs at a configured idle, active-session or
//! disconnected-session time limit (reason 3/4, RCM 20515–20519, or sessions whose length is the
//! configured limit), naming the setting, its value and where it is set (reference §5.3, §15
//! "Admin time limit"). Which reason or event names which limit is `time_limits.tsv`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jiff::SignedDuration;

use super::lic_shared::{and_list, source_words};
use crate::catalog::settings::Refs;
use crate::catalog::settings::SourceKind;
use crate::catalog::table::{Key, Schema, TableError};
use crate::config::names::{MAX_CONNECTION_TIME, MAX_DISCONNECTION_TIME, MAX_IDLE_TIME};
use crate::config::{Setting, UnknownReason};
use crate::diagnose::common::{gpo_words, ref_evidence, setting_evidence, unknown_words};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::timeline::{EventRef, IntervalEnd, PatternKind, Role, Session};

pub struct TimeLimit;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-TIME-LIMIT",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Event, EvidenceKind::Registry],
    doc: include_str!("RDS-CONN-TIME-LIMIT.md"),
};

const TABLE: &str = include_str!("time_limits.tsv");

/// How far a session's length may be from the configured limit and still be "at the limit"
/// (reference §15: "exact limit ± 2 min"; Windows warns two minutes before).
const TOLERANCE: SignedDuration = SignedDuration::from_secs(120);
/// Events cited per limit.
const CITED: usize = 8;

/// What a row's evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A disconnect reason (server code space).
    Reason,
    /// A RemoteConnectionManager event id.
    Rcm,
}

/// One row of `time_limits.tsv`.
#[derive(Debug, Clone)]
struct LimitRow {
    evidence: Source,
    code: u32,
    setting: &'static str,
    logoff: bool,
}

static SCHEMA: Schema = Schema {
    table: "time_limits.tsv",
    columns: &["evidence", "code", "setting", "ends", "src"],
    keys: &[Key {
        name: "row for evidence and code",
        columns: &["evidence", "code"],
    }],
};

/// The three limits, in the order findings list them, with their words.
const LIMITS: [(&str, &str); 3] = [
    (MAX_CONNECTION_TIME, "active session limit"),
    (MAX_IDLE_TIME, "idle session limit"),
    (MAX_DISCONNECTION_TIME, "disconnected session limit"),
];

fn load(text: &str) -> Result<Vec<LimitRow>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        let evidence = row.keyword(
            "evidence",
            &[("reason", Source::Reason), ("rcm", Source::Rcm)],
        )?;
        let code = row.parse("code", "a number")?;
        let setting = row.keyword(
            "setting",
            &[
                (MAX_CONNECTION_TIME, MAX_CONNECTION_TIME),
                (MAX_IDLE_TIME, MAX_IDLE_TIME),
                (MAX_DISCONNECTION_TIME, MAX_DISCONNECTION_TIME),
            ],
        )?;
        let logoff = row.keyword("ends", &[("disconnect", false), ("logoff", true)])?;
        Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?;
        out.push(LimitRow {
            evidence,
            code,
            setting,
            logoff,
        });
    }
    Ok(out)
}

fn table() -> &'static [LimitRow] {
    static ROWS: OnceLock<Vec<LimitRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load(TABLE).unwrap_or_else(|e| panic!("embedded time limits table is invalid: {e}"))
    })
}

fn row(evidence: Source, code: u32) -> Option<&'static LimitRow> {
    table()
        .iter()
        .find(|r| r.evidence == evidence && r.code == code)
}

/// What the timeline shows for one limit.
#[derive(Default)]
struct Seen {
    /// `reason 4` / `RCM 20518` → count.
    signals: BTreeMap<String, usize>,
    /// Sessions whose length (or disconnected time) is the configured limit.
    at_limit: usize,
    sessions: BTreeSet<String>,
    logoffs: bool,
    refs: Vec<EventRef>,
}

impl Seen {
    fn signal(&mut self, what: String, session: Option<&str>, r: &EventRef, logoff: bool) {
        *self.signals.entry(what).or_insert(0) += 1;
        if let Some(s) = session {
            self.sessions.insert(s.to_string());
        }
        self.logoffs |= logoff;
        self.refs.push(r.clone());
    }

    fn is_empty(&self) -> bool {
        self.signals.is_empty() && self.at_limit == 0
    }
}

/// A limit's configured length, when the evidence decides it and it is not "never".
fn configured(s: Option<&Setting>) -> Option<SignedDuration> {
    let ms = s?.decided_value()?.as_u64()?;
    (ms > 0).then(|| SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX)))
}

fn near(len: SignedDuration, limit: SignedDuration) -> bool {
    (len - limit).abs() <= TOLERANCE
}

/// Sessions whose connected time or disconnected time is the configured limit.
fn at_limit(m: &Model<'_>, setting: &str, limit: SignedDuration, seen: &mut Seen) {
    for s in m.own_sessions() {
        let hits = match setting {
            MAX_CONNECTION_TIME => connected_at_limit(s, limit, seen),
            MAX_DISCONNECTION_TIME => disconnected_at_limit(s, limit, seen),
            _ => 0,
        };
        if hits > 0 {
            seen.at_limit += hits;
            seen.sessions.insert(s.key.clone());
        }
    }
}

fn connected_at_limit(s: &Session, limit: SignedDuration, seen: &mut Seen) -> usize {
    let mut n = 0;
    for iv in &s.intervals {
        let Some(end) = &iv.end else { continue };
        if matches!(iv.end_kind, IntervalEnd::Disconnect | IntervalEnd::Logoff)
            && near(end.time.duration_since(iv.start.time), limit)
        {
            n += 1;
            seen.refs.push(iv.start.clone());
            seen.refs.push(end.clone());
            seen.logoffs |= iv.end_kind == IntervalEnd::Logoff;
        }
    }
    n
}

fn disconnected_at_limit(s: &Session, limit: SignedDuration, seen: &mut Seen) -> usize {
    let (Some(logoff), Some(d)) = (&s.logoff, s.disconnects.iter().rfind(|d| !d.after_logoff))
    else {
        return 0;
    };
    if logoff.time > d.time && near(logoff.time.duration_since(d.time), limit) {
        seen.refs.extend(d.events.first().cloned());
        seen.refs.push(logoff.clone());
        seen.logoffs = true;
        1
    } else {
        0
    }
}

/// What the timeline shows per limit: reasons, RCM time-limit events and sessions at the limit.
fn observe(m: &Model<'_>) -> BTreeMap<&'static str, Seen> {
    let mut seen: BTreeMap<&'static str, Seen> = BTreeMap::new();
    for s in m.own_sessions() {
        for d in &s.disconnects {
            let Some(row) = d.reason_code.and_then(|c| row(Source::Reason, c)) else {
                continue;
            };
            if let Some(r) = d.reason_event(&m.timeline.events) {
                let what = format!("disconnect reason {}", row.code);
                seen.entry(row.setting)
                    .or_default()
                    .signal(what, Some(&s.key), r, row.logoff);
            }
        }
    }
    for e in m.timeline.events.iter().filter(|e| {
        matches!(e.role, Role::TimeLimitDisconnect | Role::TimeLimitLogoff) && !e.foreign_computer
    }) {
        if let Some(row) = row(Source::Rcm, u32::from(e.event_id)) {
            seen.entry(row.setting).or_default().signal(
                format!("RemoteConnectionManager event {}", e.event_id),
                e.session_key.as_deref(),
                &e.event_ref(),
                row.logoff,
            );
        }
    }
    for (name, _) in LIMITS {
        if let Some(limit) = configured(m.setting(name)) {
            let mut s = seen.remove(name).unwrap_or_default();
            at_limit(m, name, limit, &mut s);
            if !s.is_empty() {
                seen.insert(name, s);
            }
        }
    }
    seen
}

/// Where a limit is configured, in words, and the registry evidence for it.
fn configuration(s: Option<&Setting>, words: &str) -> (String, Vec<Evidence>, bool) {
    let Some(s) = s else {
        return (
            format!("Where the {words} is set is not resolved."),
            Vec::new(),
            false,
        );
    };
    let user_policy: Vec<String> = s
        .related
        .iter()
        .filter(|r| r.source == SourceKind::Policy)
        .map(|r| format!("{} in the user policy of {}", r.display, r.provenance.file))
        .collect();
    let user_account = s
        .unknown
        .iter()
        .any(|u| u.reason == UnknownReason::UserAccount);
    let mut text = match configured(Some(s)) {
        Some(_) => format!(
            "The {words} ({}) is {}, set by {}.",
            s.name,
            s.value_display,
            s.source.map_or("an unknown source", source_words)
        ),
        None if s.is_unknown() => format!(
            "Where the {words} ({}) is set cannot be told from this evidence: {}.",
            s.name,
            unknown_words(s).join("; ")
        ),
        None => format!(
            "The computer's policy and the RDP-Tcp listener set no {words} ({} = {}): the limit comes from user policy or the user account's own setting.",
            s.name, s.value_display
        ),
    };
    if !user_policy.is_empty() {
        text.push_str(&format!(
            " User policy sets it too: {} (computer policy wins over user policy).",
            and_list(&user_policy)
        ));
    }
    if user_account {
        text.push_str(" The listener defers to each user account's own time limits (Active Directory or the local SAM), which the hives do not hold.");
    }
    let decided = configured(Some(s)).is_some();
    let mut evidence = if decided || !s.is_unknown() {
        setting_evidence(s)
    } else {
        Vec::new()
    };
    // The GPO to change, when Group Policy sets the limit and its evidence tells which GPO.
    if decided && s.source == Some(SourceKind::Policy) {
        if let Some((words, ev)) = gpo_words(s) {
            text.push_str(&words);
            evidence.extend(ev);
        }
    }
    (text, evidence, decided)
}

impl Rule for TimeLimit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if m.own_sessions().next().is_none() {
            return Outcome::NotApplicable;
        }
        let seen = observe(m);
        if seen.is_empty() {
            return undecided_rhythm(m);
        }
        let mut lines = Vec::new();
        let mut evidence = Vec::new();
        let mut confirmed = false;
        for (name, words) in LIMITS {
            let Some(s) = seen.get(name) else { continue };
            let (config, reg, decided) = configuration(m.setting(name), words);
            let mut signals: Vec<String> = s
                .signals
                .iter()
                .map(|(w, n)| {
                    if *n == 1 {
                        w.clone()
                    } else {
                        format!("{w} ×{n}")
                    }
                })
                .collect();
            if s.at_limit > 0 {
                let what = if name == MAX_DISCONNECTION_TIME {
                    "logoff(s) that long after the disconnect"
                } else {
                    "connected span(s) that long"
                };
                signals.push(format!(
                    "{} {what} (the configured limit ±{} min)",
                    s.at_limit,
                    TOLERANCE.as_secs() / 60
                ));
            }
            let ended = if s.logoffs {
                "disconnected or logged off"
            } else {
                "disconnected"
            };
            lines.push(format!(
                "{} session(s) were {ended} at the {words}: {}. {config}",
                s.sessions.len().max(1),
                signals.join(", ")
            ));
            confirmed |= decided && !s.signals.is_empty();
            evidence.extend(reg);
            let mut refs = s.refs.clone();
            refs.sort();
            refs.dedup();
            evidence.extend(
                refs.iter()
                    .take(CITED)
                    .map(|r| ref_evidence(r, format!("{words}: {}", event_words(m, r)))),
            );
        }
        let rhythm = m
            .timeline
            .patterns_of(PatternKind::HourlyDisconnects)
            .next()
            .is_some();
        let mut explanation = lines.join(" ");
        if rhythm {
            explanation.push_str(" This explains the disconnects every 60 minutes: they are the time limit, not licensing.");
        }
        let confidence = if confirmed {
            Confidence::Confirmed
        } else {
            Confidence::Likely
        };
        Outcome::Found(vec![META.finding(confidence, explanation, evidence)])
    }
}

/// No time-limit evidence: undecided when a 60-minute rhythm is seen and the active-session
/// limit cannot be read (a one-hour limit would explain it), else a pass.
fn undecided_rhythm(m: &Model<'_>) -> Outcome {
    let rhythm = m
        .timeline
        .patterns_of(PatternKind::HourlyDisconnects)
        .next()
        .is_some();
    match m.setting(MAX_CONNECTION_TIME) {
        Some(s) if rhythm && s.is_unknown() => {
            let mut missing = unknown_words(s);
            missing.push(
                "a one-hour active session limit would explain the disconnects every 60 minutes"
                    .into(),
            );
            Outcome::Undecided(missing)
        }
        _ => Outcome::Pass,
    }
}

/// The cited event in short words (`LSM 40`, `RCM 20518`).
fn event_words(m: &Model<'_>, r: &EventRef) -> String {
    let mut w = format!(
        "{} {}",
        crate::timeline::provider_short(&r.provider),
        r.event_id
    );
    if let Some(e) = m.timeline.event(r) {
        if let Some(reason) = &e.reason {
            w.push_str(&format!(", reason {reason}"));
        }
        if let Some(k) = &e.session_key {
            w.push_str(&format!(", session {k}"));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads() {
        let rows = load(TABLE).expect("time_limits.tsv parses");
        assert!(rows.iter().any(|r| r.evidence == Source::Reason
            && r.code == 4
            && r.setting == MAX_CONNECTION_TIME));
    }

    #[test]
    fn rejects_bad_rows() {
        let head = "evidence\tcode\tsetting\tends\tsrc\n";
        assert!(load(&format!(
            "{head}reason\t4\tmax_connection_time\tdisconnect\tS26\n"
        ))
        .is_ok());
        assert!(load(&format!("{head}reason\t4\tmax_speed\tdisconnect\tS26\n")).is_err());
        assert!(load(&format!(
            "{head}reason\t4\tmax_connection_time\tvanish\tS26\n"
        ))
        .is_err());
        assert!(load(&format!(
            "{head}lsm\t4\tmax_connection_time\tdisconnect\tS26\n"
        ))
        .is_err());
    }
}
