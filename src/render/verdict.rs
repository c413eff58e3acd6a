//! The one-paragraph verdict that opens a capture's report: the most important finding first,
//! then how many more, then what the evidence could not decide. Plain words, no formatting, so
//! every renderer can use it.

use crate::diagnose::{Finding, Severity};
use crate::report::{CaptureReport, CaptureStatus, Verdict};
use crate::timeline::Pattern;

/// The verdict of one capture.
pub fn verdict(c: &CaptureReport) -> String {
    compose(c, false)
}

/// The verdict for a terminal: the top finding by its title and id without its explanation
/// (the Findings section gives it), so the paragraph stays about five lines at 80 columns.
pub fn brief(c: &CaptureReport) -> String {
    compose(c, true)
}

fn compose(c: &CaptureReport, brief: bool) -> String {
    if c.status == CaptureStatus::Failed {
        return format!(
            "Not analysed: {}.",
            c.error.as_deref().unwrap_or("unknown error")
        );
    }
    let mut parts = Vec::new();
    let problems: Vec<&Finding> = c
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    match problems.first() {
        Some(top) => {
            parts.push(if brief {
                format!("{} ({}, {}).", top.title, top.id, top.confidence_word())
            } else {
                format!(
                    "{} ({}, {}): {}",
                    top.title,
                    top.id,
                    top.confidence_word(),
                    top.explanation
                )
            });
            let rest = &problems[1..];
            if !rest.is_empty() {
                let errors = rest
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count();
                let warnings = rest.len() - errors;
                let ids: Vec<&str> = rest.iter().map(|f| f.id).collect();
                parts.push(format!(
                    "Also {} more finding{} ({errors} error, {warnings} warning): {}.",
                    rest.len(),
                    if rest.len() == 1 { "" } else { "s" },
                    ids.join(", ")
                ));
            }
        }
        None => parts.push(without_findings(c)),
    }
    let notes: Vec<&str> = c
        .findings
        .iter()
        .filter(|f| f.severity < Severity::Warning)
        .map(|f| f.id)
        .collect();
    if !notes.is_empty() {
        parts.push(format!("For information: {}.", notes.join(", ")));
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

/// The opening sentence of a capture without a finding of warning severity: the verdict decides
/// it, so it never says "no problem" beside a licensing disconnect or a disconnect pattern.
fn without_findings(c: &CaptureReport) -> String {
    match c.verdict {
        Verdict::Problems => {
            let patterns: Vec<&Pattern> = c
                .timeline
                .as_ref()
                .map(|t| t.patterns.iter().collect())
                .unwrap_or_default();
            let shown: Vec<String> = patterns
                .iter()
                .take(MAX_PATTERNS)
                .map(|p| format!("{} ({})", p.summary, p.time))
                .collect();
            let more = match patterns.len().saturating_sub(MAX_PATTERNS) {
                0 => String::new(),
                n => format!("; and {n} more"),
            };
            format!(
                "The timeline shows a problem that no rule could attribute to a cause from this evidence: {}{more}.",
                shown.join("; ")
            )
        }
        Verdict::Healthy => {
            "No RDS licensing or connection problem was found in the evidence provided, and every check could be decided.".into()
        }
        _ => "No RDS licensing or connection problem was found, but the evidence cannot rule one out.".into(),
    }
}

/// Patterns a verdict without findings spells out.
const MAX_PATTERNS: usize = 2;

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
