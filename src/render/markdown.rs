//! Markdown rendering of a report, for pasting into a support ticket: the same sections as the
//! text report (verdict, host, findings, configuration, timeline, inputs). Every string that
//! comes from the evidence is escaped, so a hostile value cannot break a table or inject links.

use std::fmt::Write;

use crate::config::SettingState;

use super::tz::{OutputTz, TzChoice};
use super::verdict;
use super::width::retime;
use crate::report::{CaptureReport, CaptureStatus, Report};

/// Escape text for Markdown tables and prose: `|`, `[`, `]`, `<`, `>`, backticks, `*`, `_` and
/// backslashes; newlines become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '[' | ']' | '<' | '>' | '`' | '\\' | '*' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Render the whole report.
pub fn render(report: &Report) -> String {
    render_with(report, &TzChoice::Utc)
}

/// The report with times in the `--tz` zone (per capture for `host`).
pub fn render_with(report: &Report, tz: &TzChoice) -> String {
    let mut out = String::new();
    let zone = match tz {
        TzChoice::Utc => "UTC".to_string(),
        TzChoice::Zone(z) => z.label().to_string(),
        TzChoice::Host => "each capture's own zone".to_string(),
    };
    let _ = writeln!(
        out,
        "<!-- rdsdiag {} · schema {} · times {zone} -->",
        report.tool.version, report.schema_version
    );
    for c in &report.captures {
        let (z, note) = tz.resolve(c.host.as_ref().map(|h| &h.identity.time_zone));
        render_capture(&mut out, c, &z, note);
    }
    out
}

fn render_capture(out: &mut String, c: &CaptureReport, tz: &OutputTz, tz_note: Option<String>) {
    let _ = writeln!(
        out,
        "\n## Capture `{}`\n",
        c.path.display().to_string().replace('`', "'")
    );
    if let Some(split) = &c.split {
        let _ = writeln!(out, "_{}_\n", escape(&super::split_text(split)));
    }
    let _ = writeln!(
        out,
        "**Verdict: {}.** {}\n",
        c.verdict.name(),
        escape(&retime(&verdict(c), tz))
    );
    if c.status == CaptureStatus::Failed {
        return;
    }
    if let Some(h) = &c.host {
        let id = &h.identity;
        let _ = writeln!(out, "### Host\n");
        let _ = writeln!(out, "| | |\n|---|---|");
        let row = |out: &mut String, k: &str, v: String| {
            let _ = writeln!(out, "| {k} | {} |", escape(&v));
        };
        row(out, "Computer", super::host::computer_name(id));
        if let Some(names) = super::host::names_in_logs(id) {
            row(out, "Names in the event records", names);
        }
        row(out, "OS", id.os.product_name.display());
        let build = match (id.os.build.value(), id.os.ubr.value()) {
            (Some(b), Some(u)) => format!("{b}.{u}"),
            _ => id.os.build.display(),
        };
        row(out, "Build", build);
        row(out, "Time zone", id.time_zone.key_name.display());
        row(out, "Times shown in", tz.label().to_string());
        if let Some(n) = &tz_note {
            row(out, "Note", n.clone());
        }
        for line in super::host::clock_change_lines(c) {
            row(out, "Clock", line);
        }
        if let Some(l) = &c.layout {
            row(out, "Layout", l.layout.name().to_string());
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Findings ({})\n", c.findings.len());
    if c.findings.is_empty() {
        let _ = writeln!(out, "None.\n");
    }
    for f in &c.findings {
        let _ = writeln!(
            out,
            "#### {} — {} ({}, {})\n",
            f.id,
            escape(f.title),
            f.severity.name(),
            f.confidence_word()
        );
        let _ = writeln!(out, "{}\n", escape(&retime(&f.explanation, tz)));
        let _ = writeln!(out, "Evidence:\n");
        for e in &f.evidence {
            let _ = writeln!(out, "- {}", e.line(&escape));
        }
        let _ = writeln!(out, "\nRemedy:\n");
        for (i, step) in f.remedy.iter().enumerate() {
            // Remedy text is ours (the rule page), not evidence: keep its Markdown.
            let _ = writeln!(out, "{}. {step}", i + 1);
        }
        if !f.links.is_empty() {
            let _ = writeln!(out, "\nReferences: {}", f.links.join(", "));
        }
        out.push('\n');
    }
    if !c.undecided.is_empty() {
        let _ = writeln!(out, "Could not decide:\n");
        for (missing, ids) in super::text::undecided_groups(c) {
            let _ = writeln!(out, "- {} ({})", escape(&missing), ids.join(", "));
        }
        out.push('\n');
    }
    if let Some(settings) = &c.settings {
        let _ = writeln!(out, "### Effective configuration\n");
        let _ = writeln!(
            out,
            "| setting | state | effective value | source | shadowed |\n|---|---|---|---|---|"
        );
        for s in settings.iter() {
            let value = match s.state {
                SettingState::Unknown if s.value.is_some() => {
                    format!("{} (if not overridden)", s.value_display)
                }
                SettingState::Unknown => "unknown".into(),
                _ => s.display.clone(),
            };
            let shadowed: Vec<String> = s
                .shadowed
                .iter()
                .map(|sh| format!("{}: {}", sh.source, sh.display))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                s.name,
                s.state.name(),
                escape(&value),
                s.source.map(|k| k.name()).unwrap_or("-"),
                escape(&if shadowed.is_empty() {
                    "-".into()
                } else {
                    shadowed.join("; ")
                })
            );
        }
        out.push('\n');
        let gp = super::config::gpo_section(settings, true, 0);
        if !gp.is_empty() {
            let _ = writeln!(
                out,
                "Group Policy (which GPO set each policy value; later-applied GPOs win):\n"
            );
            for line in gp.lines() {
                let depth = line.len() - line.trim_start().len();
                let bullet = if depth > 2 { "  - " } else { "- " };
                let _ = writeln!(out, "{bullet}{}", escape(line.trim()));
            }
            out.push('\n');
        }
    }
    if let Some(gp) = &c.gpresult {
        render_gpresult(out, gp);
    }
    if let Some(why) = super::config::gpresult_missing(c.gpresult.as_ref(), c.host.as_ref()) {
        let _ = writeln!(out, "### Group Policy (gpresult)\n\n{}.\n", escape(why));
    }
    if let Some(up) = &c.user_policy {
        render_user_policy(out, up);
    }
    if let Some(t) = &c.timeline {
        let s = &t.summary;
        let _ = writeln!(out, "### Timeline\n");
        let _ = writeln!(
            out,
            "{} relevant events; {} sessions of {} users; {} disconnects ({} with a licensing reason).\n",
            s.events, s.sessions, s.users, s.disconnects, s.licensing_disconnects
        );
        for p in &t.patterns {
            let _ = writeln!(
                out,
                "- {} at {}: {}",
                p.kind.name(),
                tz.format(p.time),
                escape(&p.summary)
            );
        }
        if !t.patterns.is_empty() {
            out.push('\n');
        }
    }
    let s = &c.input_summary;
    let _ = writeln!(
        out,
        "### Inputs\n\n{} files: {} parsed, {} partial, {} rejected, {} ignored.\n",
        s.total, s.parsed, s.partial, s.rejected, s.ignored
    );
    let _ = writeln!(
        out,
        "| status | kind | bytes | sha256 | path |\n|---|---|---|---|---|"
    );
    for i in &c.inputs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {} |",
            i.status.name(),
            i.kind.name(),
            i.bytes,
            i.sha256,
            escape(&i.path)
        );
    }
}

fn gpo_cell(g: &crate::config::gpresult::GpresultGpo) -> String {
    let mut s = g.name.clone();
    if let Some(guid) = &g.guid {
        s.push_str(&format!(" {guid}"));
    }
    if let Some(link) = &g.link {
        s.push_str(&format!(" @ {link}"));
    }
    if let Some(v) = &g.version {
        s.push_str(&format!(" v{v}"));
    }
    if g.enforced == Some(true) {
        s.push_str(" (enforced)");
    }
    if !g.value.is_empty() {
        s.push_str(&format!(": {}", g.value));
    }
    escape(&s)
}

/// Which GPO set each RDS setting and which it beat (gpresult output).
fn render_gpresult(out: &mut String, gp: &crate::config::GpresultSummary) {
    let _ = writeln!(out, "### Group Policy (gpresult)\n");
    for f in &gp.files {
        let _ = writeln!(out, "- {} ({})", escape(&f.file), f.form.switch());
    }
    out.push('\n');
    if gp.settings.is_empty() {
        let _ = writeln!(out, "No RDS policy setting in the gpresult output.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| setting | scope | winning GPO | beat | file |\n|---|---|---|---|---|"
    );
    for c in &gp.settings {
        let winner = match &c.winner {
            Some(w) if c.inferred => format!("{} (inferred)", gpo_cell(w)),
            Some(w) => gpo_cell(w),
            None if !c.unordered.is_empty() => format!(
                "one of: {} (no precedence in this form)",
                c.unordered
                    .iter()
                    .map(gpo_cell)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            None => "-".into(),
        };
        let beat = if c.beaten.is_empty() {
            "-".to_string()
        } else {
            c.beaten.iter().map(gpo_cell).collect::<Vec<_>>().join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ({}) |",
            c.setting,
            c.scope.name(),
            winner,
            beat,
            escape(&c.file),
            c.form.switch()
        );
    }
    out.push('\n');
}

/// Every user hive's RDS user policy, resolved with "computer policy wins".
fn render_user_policy(out: &mut String, up: &crate::config::UserPolicy) {
    let _ = writeln!(out, "### User policy\n");
    let _ = writeln!(
        out,
        "{} user hive(s); {}.\n",
        up.hives.len(),
        escape(&up.rule)
    );
    if up.settings.is_empty() {
        let _ = writeln!(out, "No user hive sets an RDS user policy.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| setting | user | value | status |\n|---|---|---|---|"
    );
    for s in &up.settings {
        for u in &s.users {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.setting,
                escape(&u.user),
                escape(&u.display),
                u.status.describe()
            );
        }
        if !s.not_set.is_empty() {
            let _ = writeln!(
                out,
                "| {} | {} | not set | - |",
                s.setting,
                escape(&s.not_set.join(", "))
            );
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn evidence_cannot_break_tables_or_inject_links() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("[x](http://evil)"), "\\[x\\](http://evil)");
        assert_eq!(escape("<script>"), "\\<script\\>");
        assert_eq!(escape("C:\\Win`x`\nnext"), "C:\\\\Win\\`x\\` next");
    }
}
