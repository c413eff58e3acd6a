//! CSV for spreadsheets and Timeline Explorer, written with the `csv` crate (RFC 4180 quoting):
//! `events`, the timeline's events and sessions, `analyze` findings and `config` settings. The
//! columns are part of the output contract (`docs/csv.md`); times are ISO 8601 with their zone
//! (the `--tz` zone, UTC by default). One header row, then one row per item.

use csv::Writer;

use super::json::JsonError;
use super::tz::OutputTz;
use crate::eventlog::Event;
use crate::report::{ConfigReport, Report};
use crate::timeline::Timeline;

/// Columns of `events --format csv`.
pub const EVENT_COLUMNS: [&str; 13] = [
    "time",
    "computer",
    "channel",
    "provider",
    "event_id",
    "raw_event_id",
    "level",
    "name",
    "record_id",
    "file",
    "verified",
    "fields",
    "message",
];

/// Columns of `timeline --format csv` (one row per timeline event, the JSONL keys).
pub const TIMELINE_COLUMNS: [&str; 21] = [
    "time",
    "epoch",
    "computer",
    "foreign_computer",
    "channel",
    "provider",
    "event_id",
    "raw_event_id",
    "record_id",
    "file",
    "verified",
    "role",
    "session",
    "session_key",
    "user",
    "address",
    "reason_code",
    "reason_space",
    "reason",
    "licensing_reason",
    "message",
];

/// Columns of `timeline --format sessions-csv` (one row per reconstructed session).
pub const SESSION_COLUMNS: [&str; 16] = [
    "session_key",
    "session_id",
    "computer",
    "user",
    "addresses",
    "start",
    "end",
    "state",
    "logon",
    "logoff",
    "duration_seconds",
    "connected_seconds",
    "disconnects",
    "licensing_disconnects",
    "disconnect_reasons",
    "flags",
];

/// Columns of `analyze --format csv` (one row per finding of every capture).
pub const FINDING_COLUMNS: [&str; 9] = [
    "capture",
    "id",
    "severity",
    "confidence",
    "title",
    "explanation",
    "evidence",
    "remedy",
    "links",
];

/// Columns of `config --format csv` (one row per setting of every capture).
pub const CONFIG_COLUMNS: [&str; 9] = [
    "capture",
    "setting",
    "state",
    "value",
    "source",
    "shadowed",
    "file",
    "key",
    "value_name",
];

fn finish(w: Writer<Vec<u8>>) -> Result<String, JsonError> {
    let bytes = w
        .into_inner()
        .map_err(|e| <JsonError as serde::ser::Error>::custom(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| <JsonError as serde::ser::Error>::custom(e.to_string()))
}

fn err(e: csv::Error) -> JsonError {
    <JsonError as serde::ser::Error>::custom(e.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `events` as CSV.
pub fn events(events: &[Event], tz: &OutputTz) -> Result<String, JsonError> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(EVENT_COLUMNS).map_err(err)?;
    for e in events {
        let fields: Vec<String> = e
            .fields
            .iter()
            .filter(|(k, _)| *k != "Binary")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let def = e.catalog_entry();
        w.write_record([
            tz.format(e.time),
            opt(e.computer.as_deref()),
            opt(e.channel.as_deref()),
            e.provider.to_string(),
            e.event_id.to_string(),
            e.raw_event_id.to_string(),
            super::events::level_letter(e.level).to_string(),
            def.map(|d| d.name.clone()).unwrap_or_default(),
            e.record_id.to_string(),
            e.file.to_string(),
            e.verified.to_string(),
            fields.join("; "),
            super::events::message(e),
        ])
        .map_err(err)?;
    }
    finish(w)
}

/// The timeline's events as CSV, in timeline order.
pub fn timeline_events(t: &Timeline, tz: &OutputTz) -> Result<String, JsonError> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(TIMELINE_COLUMNS).map_err(err)?;
    for e in &t.events {
        w.write_record([
            tz.format(e.time),
            e.epoch.to_string(),
            opt(e.computer.as_deref()),
            e.foreign_computer.to_string(),
            opt(e.channel.as_deref()),
            e.provider.to_string(),
            e.event_id.to_string(),
            e.raw_event_id.to_string(),
            e.record_id.to_string(),
            e.file.to_string(),
            e.verified.to_string(),
            e.role.name().to_string(),
            opt(e.session),
            opt(e.session_key.as_deref()),
            opt(e.user.as_deref()),
            opt(e.address.as_deref()),
            opt(e.reason_code),
            e.reason_space.map(|s| kebab(&s)).unwrap_or_default(),
            opt(e.reason.as_deref()),
            e.licensing_reason.to_string(),
            e.message(),
        ])
        .map_err(err)?;
    }
    finish(w)
}

/// The timeline's sessions as CSV, one row per [`crate::timeline::Session`].
pub fn sessions(t: &Timeline, tz: &OutputTz) -> Result<String, JsonError> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(SESSION_COLUMNS).map_err(err)?;
    for s in &t.sessions {
        let reasons: Vec<String> = s
            .disconnects
            .iter()
            .map(|d| match (d.reason_code, &d.reason) {
                (_, Some(r)) => r.clone(),
                (Some(c), None) => c.to_string(),
                (None, None) => "no reason event".into(),
            })
            .collect();
        w.write_record([
            s.key.clone(),
            s.session_id.to_string(),
            opt(s.computer.as_deref()),
            opt(s.user.as_deref()),
            s.addresses.join(" "),
            tz.format(s.start),
            tz.format(s.end),
            kebab(&s.state),
            s.logon
                .as_ref()
                .map(|r| tz.format(r.time))
                .unwrap_or_default(),
            s.logoff
                .as_ref()
                .map(|r| tz.format(r.time))
                .unwrap_or_default(),
            opt(s.duration_seconds),
            s.connected_seconds.to_string(),
            s.disconnects.len().to_string(),
            s.disconnects
                .iter()
                .filter(|d| d.licensing_reason)
                .count()
                .to_string(),
            reasons.join(" | "),
            s.flags.iter().map(kebab).collect::<Vec<_>>().join(" "),
        ])
        .map_err(err)?;
    }
    finish(w)
}

/// Every finding of every capture as CSV (evidence lines and remedy steps joined by ` | `).
pub fn findings(report: &Report) -> Result<String, JsonError> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(FINDING_COLUMNS).map_err(err)?;
    for c in &report.captures {
        for f in &c.findings {
            let evidence: Vec<String> = f
                .evidence
                .iter()
                .map(|e| e.line(&|s| s.to_string()))
                .collect();
            w.write_record([
                c.path.display().to_string(),
                f.id.to_string(),
                kebab(&f.severity),
                f.confidence_word().to_string(),
                f.title.to_string(),
                f.explanation.clone(),
                evidence.join(" | "),
                f.remedy.join(" | "),
                f.links.join(" "),
            ])
            .map_err(err)?;
        }
    }
    finish(w)
}

/// Every setting of every capture as CSV, with where the winning value was read.
pub fn config(report: &ConfigReport) -> Result<String, JsonError> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(CONFIG_COLUMNS).map_err(err)?;
    for c in &report.captures {
        let Some(settings) = &c.settings else {
            continue;
        };
        for s in settings.iter() {
            let p = s.provenance.first();
            let shadowed: Vec<String> = s
                .shadowed
                .iter()
                .map(|sh| format!("{}: {}", sh.source, sh.display))
                .collect();
            w.write_record([
                c.path.display().to_string(),
                s.name.clone(),
                s.state.name().to_string(),
                s.display.clone(),
                s.source.map(|k| k.name().to_string()).unwrap_or_default(),
                shadowed.join(" | "),
                p.map(|p| p.file.clone()).unwrap_or_default(),
                p.map(|p| format!("[{}] {}", p.hive, p.key))
                    .unwrap_or_default(),
                p.map(|p| p.value.clone()).unwrap_or_default(),
            ])
            .map_err(err)?;
        }
    }
    finish(w)
}
