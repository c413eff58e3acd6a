//! `batch` and `merge` for people: a table of captures, then the fleet summary.

use crate::batch::{Digest, FleetSummary};

/// The captures table and the fleet summary.
pub fn text(digests: &[Digest], s: &FleetSummary) -> String {
    text_with(digests, s, &super::tz::OutputTz::utc())
}

/// As [`text`], the times in the cross-capture findings in `tz`.
pub fn text_with(digests: &[Digest], s: &FleetSummary, tz: &super::tz::OutputTz) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<40} {:<12} {:<16} {:<14} {:<30} FINDINGS\n",
        "CAPTURE", "VERDICT", "COMPUTER", "LICENSING", "LICENSE SERVERS"
    ));
    for d in digests {
        out.push_str(&format!(
            "{:<40} {:<12} {:<16} {:<14} {:<30} {}\n",
            d.path,
            d.verdict.name(),
            d.computer.as_deref().unwrap_or("?"),
            d.licensing_mode,
            if d.license_servers.is_empty() {
                "-".to_string()
            } else {
                d.license_servers.join(",")
            },
            if let Some(e) = &d.failed {
                e.clone()
            } else {
                d.findings.join(" ")
            }
        ));
    }
    out.push_str(&format!(
        "\n{} captures: {} analysed, {} failed\n",
        s.captures,
        s.analysed,
        s.failed.len()
    ));
    let verdicts: Vec<String> = s.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    out.push_str(&format!("  verdicts: {}\n", verdicts.join(", ")));
    for (id, n) in &s.findings {
        out.push_str(&format!("  {id}: {n} capture(s)\n"));
    }
    for (mode, n) in &s.licensing_modes {
        out.push_str(&format!("  licensing mode {mode}: {n} session host(s)\n"));
    }
    for u in &s.license_servers {
        out.push_str(&format!(
            "  license server {}: used by {} host(s); {}\n",
            u.server,
            u.used_by.len(),
            u.capture
                .as_deref()
                .map_or("not in this batch".to_string(), |c| format!("capture {c}"))
        ));
    }
    for c in &s.cross_findings {
        out.push_str(&format!(
            "  [{}] {} {}: {}\n",
            c.severity.name(),
            c.id,
            c.capture,
            super::width::retime(&c.explanation, tz)
        ));
    }
    out
}
