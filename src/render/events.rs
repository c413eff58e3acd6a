//! `events`: the normalised events as one line each (text) or one JSON object per line.

use std::fmt::Write as _;

use crate::eventlog::Event;

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

/// The event's catalogued meaning with its placeholders filled from its fields (empty when the
/// event is not catalogued).
pub fn message(e: &Event) -> String {
    match e.catalog_entry() {
        Some(def) if def.name != "other" => def.fill(|f| e.fields.get(f).map(String::as_str)).0,
        _ => String::new(),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n', '\t'], " ")
}

/// One line per event: time, computer, provider, ID (raw in brackets when it differs), level,
/// catalogue name, fields, provenance; unverified events are marked.
pub fn render_text(events: &[Event]) -> String {
    render_text_with(events, &super::tz::OutputTz::utc(), 0)
}

/// As [`render_text`], times in `tz`, each line cut to `width` columns with `…` (0: whole lines;
/// `-v` and `--format jsonl`/`csv` give every field).
pub fn render_text_with(events: &[Event], tz: &super::tz::OutputTz, width: usize) -> String {
    let mut w = String::new();
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
        let line = format!(
            "{}  {}  {} {} {}  {}  {}  [{}#{}{}]",
            tz.format(e.time),
            e.computer.as_deref().unwrap_or("-"),
            short_provider(&e.provider),
            id,
            level_letter(e.level),
            name,
            fields.join(" "),
            e.file,
            e.record_id,
            if e.verified { "" } else { " UNVERIFIED" },
        );
        let _ = writeln!(w, "{}", super::width::elide(&line, width));
    }
    w
}

/// One JSON object per line (the [`Event`] serialisation).
pub fn render_jsonl(events: &[Event]) -> Result<String, super::json::JsonError> {
    let mut out = String::new();
    for e in events {
        out.push_str(&super::json::line(e)?);
        out.push('\n');
    }
    Ok(out)
}
