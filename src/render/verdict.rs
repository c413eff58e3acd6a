//! The one-paragraph verdict that opens a capture's report: the most important finding first,
//! then how many more, then what the evidence could not decide. Plain words, no formatting, so
//! every renderer can use it.

use crate::diagnose::Severity;

use crate::report::{CaptureReport, CaptureStatus};

/// The verdict of one capture.
pub fn verdict(c: &CaptureReport) -> String {
    if c.status == CaptureStatus::Failed {
        return format!(
            "Not analysed: {}.",
            c.error.as_deref().unwrap_or("unknown error")
        );
    }
    let mut parts = Vec::new();
    match c.findings.first() {
        Some(top) => {
            parts.push(format!(
                "{} ({}, {}): {}",
                top.title,
                top.id,
                top.confidence_word(),
                top.explanation
            ));
            let rest = &c.findings[1..];
            if !rest.is_empty() {
                let errors = rest
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count();
                let warnings = rest
                    .iter()
                    .filter(|f| f.severity == Severity::Warning)
                    .count();
                let ids: Vec<&str> = rest.iter().map(|f| f.id).collect();
                parts.push(format!(
                    "Also {} more finding{} ({errors} error, {warnings} warning): {}.",
                    rest.len(),
                    if rest.len() == 1 { "" } else { "s" },
                    ids.join(", ")
                ));
            }
        }
        None => parts.push(
            "No RDS licensing or connection problem was found in the evidence provided.".into(),
        ),
    }
    if !c.mixed.is_empty() {
        let others: Vec<String> = c
            .mixed
            .iter()
            .map(|o| match o.events {
                0 => format!("{} ({} {})", o.name, o.named_by, o.files.join(", ")),
                n => format!(
                    "{} ({n} {}{} in {} file(s))",
                    o.name,
                    o.named_by.trim_end_matches('s'),
                    if n == 1 { "" } else { "s" },
                    o.files.len()
                ),
            })
            .collect();
        parts.push(format!(
            "This capture mixes evidence of other computers with the host's: {}. Their files share a folder with the host's, so they were not split off; give each machine's evidence separately for a per-machine analysis.",
            others.join("; ")
        ));
    }
    let (cut, files) = c
        .inputs
        .iter()
        .filter_map(|i| i.evtx.as_ref())
        .filter(|e| e.chunks_not_read_time_limit > 0)
        .fold((0, 0), |(n, f), e| {
            (n + e.chunks_not_read_time_limit, f + 1)
        });
    if cut > 0 {
        parts.push(format!(
            "The time limit was reached: {cut} event-log chunk(s) in {files} file(s) were not read, so their events are missing from this analysis (run again with a higher --time-limit)."
        ));
    }
    if !c.undecided.is_empty() {
        let gaps = missing_evidence(c);
        let n = c.undecided.len();
        let checks = if n == 1 { "check" } else { "checks" };
        parts.push(if gaps.is_empty() {
            format!("{n} {checks} could not be decided (see Findings).")
        } else {
            format!(
                "{n} {checks} could not be decided because evidence is missing: {} (see Findings).",
                gaps.join("; ")
            )
        });
    }
    for i in c.inputs.iter().filter(|i| {
        i.kind == crate::evidence::InputKind::Hive
            && i.status == crate::evidence::InputStatus::Rejected
            && i.hive
                .is_some_and(|h| h != crate::evidence::HiveKind::Other)
    }) {
        let hive = i.hive.map(|h| h.name()).unwrap_or_default();
        parts.push(format!(
            "The {hive} hive ({}) is unreadable, not missing: what it holds is unknown.",
            i.path
        ));
    }
    let damaged = c.input_summary.partial + c.input_summary.rejected;
    if damaged > 0 {
        parts.push(format!(
            "{damaged} of {} input files could only be read in part or not at all (see Inputs).",
            c.input_summary.total
        ));
    }
    parts.join(" ")
}

/// The distinct "… not provided" phrases of the undecided checks (`SOFTWARE hive not provided`,
/// `System log not provided`), in first-seen order, at most four.
fn missing_evidence(c: &CaptureReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in c.undecided.iter().flat_map(|u| &u.missing) {
        for seg in without_parentheses(m).split([';', ':', ',']) {
            if let Some(pos) = seg.find(" not provided") {
                let words: Vec<&str> = seg[..pos].split_whitespace().collect();
                let start = words.len().saturating_sub(4);
                let phrase = format!("{} not provided", words[start..].join(" "));
                if !words.is_empty() && !out.contains(&phrase) {
                    out.push(phrase);
                }
            }
        }
    }
    out.truncate(4);
    out
}

/// The text with every `( … )` part removed (file names, details).
fn without_parentheses(s: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
