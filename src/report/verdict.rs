//! The one-paragraph verdict that opens a capture's report: the most important finding first,
//! then how many more, then what the evidence could not decide. Plain words, no formatting, so
//! every renderer can use it.

use crate::diagnose::Severity;

use super::{CaptureReport, CaptureStatus};

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
                top.title, top.id, top.confidence_word(), top.explanation
            ));
            let rest = &c.findings[1..];
            if !rest.is_empty() {
                let errors = rest.iter().filter(|f| f.severity == Severity::Error).count();
                let warnings = rest.iter().filter(|f| f.severity == Severity::Warning).count();
                let ids: Vec<&str> = rest.iter().map(|f| f.id).collect();
                parts.push(format!(
                    "Also {} more finding{} ({errors} error, {warnings} warning): {}.",
                    rest.len(),
                    if rest.len() == 1 { "" } else { "s" },
                    ids.join(", ")
                ));
            }
        }
        None => parts.push("No RDS licensing or connection problem was found in the evidence provided.".into()),
    }
    if !c.undecided.is_empty() {
        let mut missing: Vec<&str> = c
            .undecided
            .iter()
            .flat_map(|u| u.missing.iter().map(String::as_str))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let shown: Vec<&str> = missing.iter().take(3).copied().collect();
        parts.push(format!(
            "{} check{} could not be decided: {}{}.",
            c.undecided.len(),
            if c.undecided.len() == 1 { "" } else { "s" },
            shown.join("; "),
            if missing.len() > shown.len() {
                format!("; and {} more", missing.len() - shown.len())
            } else {
                String::new()
            }
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
