//! Helpers shared by the service, client and connection rules (not a rule): the host's name for
//! explanations, timeline event references as evidence, and settings in words.

use crate::config::Setting;
use crate::diagnose::{Evidence, Model};
use crate::timeline::EventRef;

/// The host's name for explanations: the computer name from the SYSTEM hive, else the computer
/// most events name, else `fallback`.
pub fn host_name(m: &Model<'_>, fallback: &str) -> String {
    if let Some(n) = m.host.computer_name.value() {
        return n.clone();
    }
    m.timeline
        .computers
        .iter()
        .filter(|(c, _)| !c.starts_with('<') && !c.trim().is_empty())
        .max_by_key(|(_, n)| **n)
        .map(|(c, _)| format!("{c} (name from the event logs)"))
        .unwrap_or_else(|| fallback.to_string())
}

/// Evidence for a timeline event reference, worded with the timeline's message.
pub fn ref_evidence(m: &Model<'_>, r: &EventRef) -> Evidence {
    let message = m
        .timeline
        .events
        .get(r.index)
        .map(|t| t.message())
        .unwrap_or_default();
    crate::diagnose::common::ref_evidence(r, message)
}

/// `label: value (from source)`, or `label: unknown (SYSTEM hive not provided)`.
pub fn setting_text(s: Option<&Setting>, label: &str) -> String {
    let Some(s) = s else {
        return format!("{label}: not resolved");
    };
    if s.is_unknown() {
        let mut why: Vec<String> = Vec::new();
        for u in s.decisive_unknowns() {
            let w = match u.reason {
                crate::config::UnknownReason::NotProvided => {
                    format!("{} hive not provided", u.hive)
                }
                _ => u.detail.clone(),
            };
            if !why.contains(&w) {
                why.push(w);
            }
        }
        return format!("{label}: unknown ({})", why.join("; "));
    }
    match s.source {
        Some(src) => format!(
            "{label}: {} (from {})",
            s.value_display,
            src.name().replace('_', " ")
        ),
        None => format!("{label}: {}", s.display),
    }
}
