//! Plain-text rendering of a report, for terminals and tickets. Colour is optional and limited to
//! status words; the text reads the same without it.

use std::fmt::Write;

use crate::capture::Input;
use crate::evidence::{InputStatus, ProblemSeverity};
use crate::host::{Fact, HostIdentity};

use crate::diagnose::Severity;
use crate::report::{CaptureReport, CaptureStatus, Report, TimelineReport};

/// How much to show and whether to colour it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    pub color: bool,
    /// 0 = normal, 1 = `-v` (full hashes, every problem), 2+ = more.
    pub verbose: u8,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn status(&self, st: InputStatus) -> String {
        let code = match st {
            InputStatus::Parsed => "32",
            InputStatus::Partial => "33",
            InputStatus::Rejected => "31",
            InputStatus::Ignored | InputStatus::Pending => "2",
        };
        self.wrap(code, &format!("{:<8}", st.name()))
    }
}

/// Render the whole report.
pub fn render(report: &Report, opts: TextOptions) -> String {
    let mut out = String::new();
    for (i, c) in report.captures.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_capture(&mut out, c, opts);
    }
    out
}

fn render_capture(out: &mut String, c: &CaptureReport, opts: TextOptions) {
    let p = Paint { on: opts.color };
    let _ = writeln!(out, "{} {}", p.bold("Capture"), c.path.display());
    if let Some(split) = &c.split {
        let _ = writeln!(out, "  {}", super::split_text(split));
    }
    if c.status == CaptureStatus::Failed {
        let _ = writeln!(
            out,
            "  {} {}",
            p.wrap("31", "failed:"),
            c.error.as_deref().unwrap_or("unknown error")
        );
        return;
    }
    let _ = writeln!(out, "\n{}: {}", p.bold("Verdict"), c.verdict.name());
    let _ = writeln!(out, "{}", indent(&wrap(&super::verdict(c), 96), "  "));
    let _ = writeln!(out, "\n{}", p.bold("Host"));
    if let Some(l) = &c.layout {
        let _ = writeln!(out, "  Layout:   {} ({})", l.layout.name(), l.signal);
    }
    if let Some(h) = &c.host {
        render_host(out, &h.identity, c, &p);
        if opts.verbose > 0 {
            for line in super::host::render_text(&h.facts).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    render_findings(out, c, opts, &p);
    if let Some(settings) = &c.settings {
        let _ = writeln!(out, "\n{}", p.bold("Effective configuration"));
        let ro = super::config::RenderOptions {
            evidence: opts.verbose > 0,
            chain: opts.verbose > 0,
        };
        for line in super::config::render_text_with(settings, ro).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(t) = &c.timeline {
        render_timeline(out, t, &p);
    }
    let s = &c.input_summary;
    let _ = writeln!(out, "\n{}", p.bold("Inputs"));
    let _ = writeln!(
        out,
        "  {} files: {} parsed, {} partial, {} rejected, {} ignored",
        s.total, s.parsed, s.partial, s.rejected, s.ignored
    );
    for input in &c.inputs {
        render_input(out, input, opts, &p);
    }
}

fn render_findings(out: &mut String, c: &CaptureReport, opts: TextOptions, p: &Paint) {
    let _ = writeln!(
        out,
        "\n{}",
        p.bold(&format!("Findings ({})", c.findings.len()))
    );
    if c.findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for f in &c.findings {
        let sev = match f.severity {
            Severity::Error => p.wrap("31", "error"),
            Severity::Warning => p.wrap("33", "warning"),
            Severity::Info => p.wrap("36", "info"),
        };
        let _ = writeln!(
            out,
            "  [{sev}, {}] {} — {}",
            f.confidence_word(),
            p.bold(f.id),
            f.title
        );
        let _ = writeln!(out, "{}", indent(&wrap(&f.explanation, 92), "      "));
        let limit = if opts.verbose > 0 { usize::MAX } else { 5 };
        let _ = writeln!(out, "      Evidence:");
        for e in f.evidence.iter().take(limit) {
            let _ = writeln!(out, "        - {}", e.line(&|s| s.to_string()));
        }
        if f.evidence.len() > limit {
            let _ = writeln!(
                out,
                "        … and {} more (-v shows all)",
                f.evidence.len() - limit
            );
        }
        let _ = writeln!(out, "      Remedy:");
        for (i, step) in f.remedy.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}",
                indent(&wrap(&format!("{}. {step}", i + 1), 88), "        ")
            );
        }
        let _ = writeln!(out, "      More: rdsdiag explain {}", f.id);
    }
    if !c.undecided.is_empty() {
        let _ = writeln!(out, "  Could not decide (collect this to decide):");
        for u in &c.undecided {
            let _ = writeln!(out, "    {}: {}", u.id, u.missing.join("; "));
        }
    }
}

fn render_timeline(out: &mut String, t: &TimelineReport, p: &Paint) {
    let s = &t.summary;
    let _ = writeln!(out, "\n{}", p.bold("Timeline (UTC)"));
    match (t.first, t.last) {
        (Some(a), Some(b)) => {
            let _ = writeln!(out, "  {} relevant events from {a} to {b}", s.events);
        }
        _ => {
            let _ = writeln!(out, "  no relevant events");
            return;
        }
    }
    let _ = writeln!(
        out,
        "  {} sessions of {} users: {} logons, {} reconnects, {} disconnects ({} with a licensing reason), {} without logoff",
        s.sessions, s.users, s.logons, s.reconnects, s.disconnects, s.licensing_disconnects, s.sessions_without_logoff
    );
    if s.foreign_computer_events > 0 {
        let _ = writeln!(
            out,
            "  {} events name another computer than this host",
            s.foreign_computer_events
        );
    }
    for pat in &t.patterns {
        let _ = writeln!(
            out,
            "  pattern {} at {}: {}",
            pat.kind.name(),
            pat.time,
            pat.summary
        );
    }
    let _ = writeln!(out, "  (full timeline: rdsdiag timeline <CAPTURE>)");
}

/// Greedy word wrap at `width` columns.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if line > 0 && line + 1 + w > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += w;
    }
    out
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_host(out: &mut String, h: &HostIdentity, c: &CaptureReport, p: &Paint) {
    let mut name = super::host::computer_name(h);
    if let (Some(hint), None) = (
        c.layout.as_ref().and_then(|l| l.computer_hint.as_ref()),
        h.computer_name.value(),
    ) {
        name = format!("{name}; the bundle is named for {hint}");
    }
    let _ = writeln!(out, "  Computer: {}", p.bold(&name));
    if let Some(names) = super::host::names_in_logs(h) {
        let _ = writeln!(out, "  Names in the event records: {names}");
    }
    let os = &h.os;
    if let Fact::NotProvided { hive } = &os.product_name {
        let _ = writeln!(out, "  OS:       not provided (no {hive} hive or export)");
    } else {
        let build = match (os.build.value(), os.ubr.value()) {
            (Some(b), Some(u)) => format!("{b}.{u}"),
            _ => os.build.display(),
        };
        let _ = writeln!(
            out,
            "  OS:       {}; build {}; edition {}; installation type {}",
            os.product_name.display(),
            build,
            os.edition.display(),
            os.installation_type.display()
        );
    }
    if let Fact::Found { value, .. } = &h.os.install_date {
        let _ = writeln!(out, "  Installed: {value}");
    }
    let tz = match (&h.time_zone.key_name, h.time_zone.bias_minutes.value()) {
        (Fact::Found { value, .. }, Some(bias)) => format!("{value} (UTC{})", utc_offset(*bias)),
        (k, _) => k.display(),
    };
    let _ = writeln!(out, "  Host time zone: {tz} (times below are UTC)");
    for line in super::host::clock_change_lines(c) {
        let _ = writeln!(out, "  Clock:    {line}");
    }
}

/// Windows `Bias` is UTC − local in minutes; show it as the usual UTC±hh:mm.
fn utc_offset(bias: i64) -> String {
    let off = -bias;
    let sign = if off < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
}

fn render_input(out: &mut String, i: &Input, opts: TextOptions, p: &Paint) {
    let kind = match i.hive {
        Some(h) => format!("{}:{}", i.kind.name(), h),
        None => i.kind.name().to_string(),
    };
    let hash = if opts.verbose > 0 || i.sha256.len() < 12 {
        i.sha256.clone()
    } else {
        format!("{}…", &i.sha256[..12])
    };
    let _ = writeln!(
        out,
        "    {} {:<17} {:>10}  {:<13} {}",
        p.status(i.status),
        kind,
        human_bytes(i.bytes),
        hash,
        i.path
    );
    for pr in &i.problems {
        let show = opts.verbose > 0 || pr.severity >= ProblemSeverity::Warning;
        if show {
            let at = pr
                .offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default();
            let _ = writeln!(out, "        - {}{at}: {}", pr.code, pr.message);
        }
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_sizes() {
        assert_eq!(utc_offset(-60), "+01:00");
        assert_eq!(utc_offset(300), "-05:00");
        assert_eq!(utc_offset(-330), "+05:30");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
