//! `rdsdiag events`: read every EVTX input of a capture with a filter built from the command
//! line (`--id`, `--provider`, `--since`, `--until`) and render the normalised events as text
//! or JSON Lines. The CLI only parses arguments and calls into this module.

use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;

use super::{read_input, Event, EventFilter, Integrity};
use crate::capture::Capture;
use crate::evidence::{InputKind, InputStatus, Problem};

/// Errors of the query's own arguments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("{value:?} is not a time: use RFC 3339 (2020-09-19T03:20:00Z), a UTC date-time (2020-09-19T03:20:00) or a date (2020-09-19)")]
    BadTime { value: String },
}

/// What to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Canonical EventIDs (empty: all catalogued).
    pub ids: Vec<u16>,
    /// Provider name parts, case-insensitive (empty: all).
    pub providers: Vec<String>,
    /// Keep events at or after this time.
    pub since: Option<jiff::Timestamp>,
    /// Keep events before this time.
    pub until: Option<jiff::Timestamp>,
}

impl Query {
    pub fn filter(&self) -> EventFilter {
        EventFilter::for_query(&self.ids, &self.providers)
    }

    pub fn in_window(&self, t: jiff::Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Parse a `--since`/`--until` value. Times without an offset are UTC.
pub fn parse_time(value: &str) -> Result<jiff::Timestamp, QueryError> {
    let v = value.trim();
    let bad = || QueryError::BadTime {
        value: value.to_string(),
    };
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = v.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    Err(bad())
}

/// One EVTX input of the capture, as read.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub path: String,
    pub status: InputStatus,
    pub integrity: Integrity,
    pub problems: Vec<Problem>,
}

/// The events of a capture that match a query, oldest first, and what each file yielded.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub events: Vec<Event>,
    pub files: Vec<FileResult>,
}

/// Read every EVTX input of `capture` (in parallel, one file per task) and select the events.
/// Each input's `status` and `problems` are updated.
pub fn run(capture: &mut Capture, query: &Query) -> QueryResult {
    let filter = query.filter();
    let per_file: Vec<(Vec<Event>, FileResult)> = capture
        .inputs
        .par_iter_mut()
        .filter(|i| i.kind == InputKind::Evtx)
        .map(|input| {
            let (report, reading) = read_input(input, &filter, crate::evidence::Deadline::none());
            input.apply(reading);
            let events: Vec<Event> = report
                .events
                .into_iter()
                .filter(|e| query.in_window(e.time))
                .collect();
            let file = FileResult {
                path: input.path.clone(),
                status: input.status,
                integrity: report.integrity,
                problems: report.problems,
            };
            (events, file)
        })
        .collect();
    let mut events = Vec::new();
    let mut files = Vec::new();
    for (e, f) in per_file {
        events.extend(e);
        files.push(f);
    }
    sort_events(&mut events);
    QueryResult { events, files }
}

/// Oldest first; ties by file and record ID (stable, reproducible output).
pub fn sort_events(events: &mut [Event]) {
    events.sort_by(|a, b| {
        (a.time, &a.file, a.record_id, a.offset).cmp(&(b.time, &b.file, b.record_id, b.offset))
    });
}

/// The level letter used in text output (`C`, `E`, `W`, `I`, `V`, `A` for LogAlways).
pub fn level_letter(level: Option<u8>) -> &'static str {
    match level {
        Some(0) => "A",
        Some(1) => "C",
        Some(2) => "E",
        Some(3) => "W",
        Some(4) => "I",
        Some(5) => "V",
        _ => "?",
    }
}

/// Shorten well-known provider names for text output.
fn short_provider(p: &str) -> &str {
    p.strip_prefix("Microsoft-Windows-TerminalServices-")
        .or_else(|| p.strip_prefix("Microsoft-Windows-RemoteDesktopServices-"))
        .or_else(|| p.strip_prefix("Microsoft-Windows-"))
        .unwrap_or(p)
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n', '\t'], " ")
}

/// One line per event: time, computer, provider, ID (raw in brackets when it differs), level,
/// catalogue name, fields, provenance; unverified events are marked.
pub fn render_text(events: &[Event], w: &mut dyn Write) -> std::io::Result<()> {
    for e in events {
        let id = if u32::from(e.event_id) == e.raw_event_id {
            e.event_id.to_string()
        } else {
            format!("{} (raw {})", e.event_id, e.raw_event_id)
        };
        let name = e.catalog_entry().map(|d| d.name.as_str()).unwrap_or("-");
        let fields: Vec<String> = e
            .fields
            .iter()
            .filter(|(k, _)| *k != "Binary")
            .map(|(k, v)| format!("{k}={}", one_line(v)))
            .collect();
        writeln!(
            w,
            "{}  {}  {} {} {}  {}  {}  [{}#{}{}]",
            e.time,
            e.computer.as_deref().unwrap_or("-"),
            short_provider(&e.provider),
            id,
            level_letter(e.level),
            name,
            fields.join(" "),
            e.file,
            e.record_id,
            if e.verified { "" } else { " UNVERIFIED" },
        )?;
    }
    Ok(())
}

/// One JSON object per line (the [`Event`] serialisation).
pub fn render_jsonl(events: &[Event], w: &mut dyn Write) -> std::io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut *w, e).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(
            parse_time("2020-09-19T03:20:00Z").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19T03:20:00").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19").unwrap().to_string(),
            "2020-09-19T00:00:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19T05:20:00+02:00").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn window_is_half_open() {
        let q = Query {
            since: Some(parse_time("2020-01-01").unwrap()),
            until: Some(parse_time("2020-01-02").unwrap()),
            ..Query::default()
        };
        assert!(q.in_window(parse_time("2020-01-01").unwrap()));
        assert!(!q.in_window(parse_time("2020-01-02").unwrap()));
    }
}
