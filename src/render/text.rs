//! Plain-text rendering of a report, for terminals and tickets. Colour is optional and limited to
//! status words; the text reads the same without it.

use std::fmt::Write;

use crate::capture::Input;
use crate::evidence::{InputStatus, ProblemSeverity};
use crate::host::{Fact, HostIdentity};

use crate::diagnose::{Evidence, Severity};
use crate::report::{CaptureReport, CaptureStatus, Report, TimelineReport};

use super::tz::{OutputTz, TzChoice};
use super::width::{fill, retime, without_source_tags};

/// How much to show, how wide, in which zone, and whether to colour it.
#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    pub color: bool,
    /// 0 = normal, 1 = `-v` (full text, hashes and paths, every problem), 2+ = more.
    pub verbose: u8,
    /// Columns to fit the text to (0: unlimited).
    pub width: usize,
    /// The zone times are written in.
    pub tz: TzChoice,
}

impl TextOptions {
    /// Text for people: source tags removed, times of the rules' text in the output zone.
    fn user_text(&self, s: &str, tz: &OutputTz) -> String {
        retime(&without_source_tags(s), tz)
    }
}

pub(crate) struct Paint {
    pub(crate) on: bool,
}

impl Paint {
    pub(crate) fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub(crate) fn bold(&self, s: &str) -> String {
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
pub fn render(report: &Report, opts: &TextOptions) -> String {
    let mut out = String::new();
    for (i, c) in report.captures.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_capture(&mut out, c, opts);
    }
    out
}

fn render_capture(out: &mut String, c: &CaptureReport, opts: &TextOptions) {
    let p = Paint { on: opts.color };
    let w = opts.width;
    out.push_str(&fill(
        &c.path.display().to_string(),
        w,
        &format!("{} ", p.bold("Capture")),
        "  ",
    ));
    if let Some(split) = &c.split {
        out.push_str(&fill(&super::split_text(split), w, "  ", "  "));
    }
    if c.status == CaptureStatus::Failed {
        // The reason is shown once, on stderr, by the command line.
        let _ = writeln!(
            out,
            "  {}",
            p.wrap("31", "not analysed (the error is on stderr)")
        );
        return;
    }
    let host_tz = c.host.as_ref().map(|h| &h.identity.time_zone);
    let (tz, tz_note) = opts.tz.resolve(host_tz);
    let _ = writeln!(out, "\n{}: {}", p.bold("Verdict"), c.verdict.name());
    let verdict = if opts.verbose > 0 {
        super::verdict(c)
    } else {
        super::verdict::brief(c)
    };
    out.push_str(&fill(&opts.user_text(&verdict, &tz), w, "  ", "  "));
    let _ = writeln!(out, "\n{}", p.bold("Host"));
    if let Some(l) = &c.layout {
        let text = format!("{} ({})", l.layout.name(), without_source_tags(&l.signal));
        out.push_str(&fill(&text, w, "  Layout:   ", "            "));
    }
    if let Some(h) = &c.host {
        render_host(out, &h.identity, c, &p, opts, &tz);
        if opts.verbose > 0 {
            for line in super::host::render_text(&h.facts).lines() {
                out.push_str(&fill(line, w, "  ", "      "));
            }
        }
    }
    if let Some(note) = tz_note {
        out.push_str(&fill(&note, w, "  Note:     ", "            "));
    }
    render_findings(out, c, opts, &p, &tz);
    if let Some(settings) = &c.settings {
        let _ = writeln!(out, "\n{}", p.bold("Effective configuration"));
        let ro = super::config::RenderOptions {
            evidence: opts.verbose > 0,
            chain: opts.verbose > 0,
            width: w.saturating_sub(2),
            source_tags: opts.verbose > 0,
        };
        for line in super::config::render_text_with(settings, ro).lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    if let Some(gp) = &c.gpresult {
        let _ = writeln!(out);
        for line in super::config::render_gpresult(gp).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(why) = super::config::gpresult_missing(c.gpresult.as_ref(), c.host.as_ref()) {
        let _ = writeln!(out);
        out.push_str(&fill(why, w, "  Group Policy: ", "    "));
    }
    if let Some(up) = &c.user_policy {
        let _ = writeln!(out);
        for line in super::config::render_user_policy(up).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(t) = &c.timeline {
        render_timeline(out, t, &p, opts, &tz);
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

/// The file name of a path (the full path under `-v`).
fn short_path(path: &str, verbose: bool) -> &str {
    if verbose {
        path
    } else {
        path.rsplit(['/', '\\']).next().unwrap_or(path)
    }
}

/// One evidence line for people: times in the output zone; under `-v` the full provider and path.
fn evidence_text(e: &Evidence, opts: &TextOptions, tz: &OutputTz) -> String {
    let v = opts.verbose > 0;
    match e {
        Evidence::Registry { fact, provenance } => match provenance {
            Some(pr) if v => format!(
                "{fact} — {} [{}] {}\\{}",
                pr.file, pr.hive, pr.key, pr.value
            ),
            Some(pr) => format!("{fact} — [{}] {}\\{}", pr.hive, pr.key, pr.value),
            None => fact.clone(),
        },
        Evidence::Event {
            time,
            file,
            record_id,
            provider,
            event_id,
            fact,
        } => {
            let provider: &str = if v {
                provider
            } else {
                crate::timeline::provider_short(provider)
            };
            let time = time
                .parse::<jiff::Timestamp>()
                .map_or_else(|_| time.to_string(), |t| tz.format_short(t));
            let fact = opts.user_text(fact, tz);
            // Facts usually start with their event ("RCM 1131: …"); name it once.
            let short = crate::timeline::provider_short(provider);
            let head = if fact.starts_with(&format!("{short} {event_id}")) {
                String::new()
            } else {
                format!("{provider} {event_id}: ")
            };
            format!("{time} {head}{fact} [{}#{record_id}]", short_path(file, v))
        }
    }
}

fn render_findings(
    out: &mut String,
    c: &CaptureReport,
    opts: &TextOptions,
    p: &Paint,
    tz: &OutputTz,
) {
    let w = opts.width;
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
        let head = format!(
            "[{sev}, {}] {} — {}",
            f.confidence_word(),
            p.bold(f.id),
            f.title
        );
        out.push_str(&fill(&head, w, "  ", "      "));
        out.push_str(&fill(
            &opts.user_text(&f.explanation, tz),
            w,
            "      ",
            "      ",
        ));
        let limit = if opts.verbose > 0 { usize::MAX } else { 5 };
        let _ = writeln!(out, "      Evidence:");
        for e in f.evidence.iter().take(limit) {
            out.push_str(&fill(
                &evidence_text(e, opts, tz),
                w,
                "        - ",
                "          ",
            ));
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
            let num = format!("        {}. ", i + 1);
            out.push_str(&fill(
                &opts.user_text(step, tz),
                w,
                &num,
                &" ".repeat(num.len()),
            ));
        }
        let _ = writeln!(out, "      More: rdsdiag explain {}", f.id);
    }
    if !c.undecided.is_empty() {
        let _ = writeln!(out, "  Could not decide (collect this to decide):");
        for (missing, ids) in undecided_groups(c) {
            let text = format!("{} ({})", opts.user_text(&missing, tz), ids.join(", "));
            out.push_str(&fill(&text, w, "    - ", "      "));
        }
    }
}

/// The "could not decide" list without repeats: each missing piece of evidence once, with the
/// checks it would decide, in first-seen order.
pub(crate) fn undecided_groups(c: &CaptureReport) -> Vec<(String, Vec<&'static str>)> {
    let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
    for u in &c.undecided {
        for m in &u.missing {
            match groups.iter_mut().find(|(g, _)| g == m) {
                Some((_, ids)) => {
                    if !ids.contains(&u.id) {
                        ids.push(u.id);
                    }
                }
                None => groups.push((m.clone(), vec![u.id])),
            }
        }
    }
    groups
}

fn render_timeline(
    out: &mut String,
    t: &TimelineReport,
    p: &Paint,
    opts: &TextOptions,
    tz: &OutputTz,
) {
    let w = opts.width;
    let s = &t.summary;
    let _ = writeln!(
        out,
        "\n{}",
        p.bold(&format!("Timeline (times in {})", tz.label()))
    );
    match (t.first, t.last) {
        (Some(a), Some(b)) => {
            let text = format!(
                "{} relevant events from {} to {}",
                s.events,
                tz.format_short(a),
                tz.format_short(b)
            );
            out.push_str(&fill(&text, w, "  ", "    "));
        }
        _ => {
            let _ = writeln!(out, "  no relevant events");
            return;
        }
    }
    let text = format!(
        "{} sessions of {} users: {} logons, {} reconnects, {} disconnects ({} with a licensing reason), {} without logoff",
        s.sessions, s.users, s.logons, s.reconnects, s.disconnects, s.licensing_disconnects, s.sessions_without_logoff
    );
    out.push_str(&fill(&text, w, "  ", "    "));
    if s.foreign_computer_events > 0 {
        let text = format!(
            "{} events name another computer than this host",
            s.foreign_computer_events
        );
        out.push_str(&fill(&text, w, "  ", "    "));
    }
    for pat in &t.patterns {
        let text = format!(
            "pattern {} at {}: {}",
            pat.kind.name(),
            tz.format_short(pat.time),
            opts.user_text(&pat.summary, tz)
        );
        out.push_str(&fill(&text, w, "  ", "    "));
    }
    let _ = writeln!(out, "  (full timeline: rdsdiag timeline <CAPTURE>)");
}

fn render_host(
    out: &mut String,
    h: &HostIdentity,
    c: &CaptureReport,
    p: &Paint,
    opts: &TextOptions,
    tz: &OutputTz,
) {
    let w = opts.width;
    let mut name = super::host::computer_name(h);
    if let (Some(hint), None) = (
        c.layout.as_ref().and_then(|l| l.computer_hint.as_ref()),
        h.computer_name.value(),
    ) {
        name = format!("{name}; the bundle is named for {hint}");
    }
    let _ = writeln!(out, "  Computer: {}", p.bold(&name));
    if let Some(names) = super::host::names_in_logs(h) {
        let names = opts.user_text(&names, tz);
        out.push_str(&fill(&names, w, "  Names in the event records: ", "      "));
    }
    let os = &h.os;
    if let Fact::NotProvided { hive } = &os.product_name {
        let _ = writeln!(out, "  OS:       not provided (no {hive} hive or export)");
    } else {
        let build = match (os.build.value(), os.ubr.value()) {
            (Some(b), Some(u)) => format!("{b}.{u}"),
            _ => os.build.display(),
        };
        let text = format!(
            "{}; build {}; edition {}; installation type {}",
            os.product_name.display(),
            build,
            os.edition.display(),
            os.installation_type.display()
        );
        out.push_str(&fill(&text, w, "  OS:       ", "            "));
    }
    if let Fact::Found { value, .. } = &h.os.install_date {
        let shown = value
            .parse::<jiff::Timestamp>()
            .map_or_else(|_| value.clone(), |t| tz.format_short(t));
        let _ = writeln!(out, "  Installed: {shown}");
    }
    let tz_name = match (&h.time_zone.key_name, h.time_zone.bias_minutes.value()) {
        (Fact::Found { value, .. }, Some(bias)) => format!("{value} (UTC{})", utc_offset(*bias)),
        (k, _) => k.display(),
    };
    let text = format!("{tz_name} (times below are in {})", tz.label());
    out.push_str(&fill(&text, w, "  Host time zone: ", "            "));
    for ch in c.timeline.iter().flat_map(|t| &t.clock_changes) {
        let mut line = ch.describe();
        if !tz.is_utc() {
            for t in [ch.from, ch.to] {
                line = line.replace(&t.to_string(), &tz.format_short(t));
            }
        }
        out.push_str(&fill(&line, w, "  Clock:    ", "            "));
    }
}

/// Windows `Bias` is UTC − local in minutes; show it as the usual UTC±hh:mm.
fn utc_offset(bias: i64) -> String {
    let off = -bias;
    let sign = if off < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
}

fn render_input(out: &mut String, i: &Input, opts: &TextOptions, p: &Paint) {
    let kind = match i.hive {
        Some(h) => format!("{}:{}", i.kind.name(), h),
        None => i.kind.name().to_string(),
    };
    let hash = if opts.verbose > 0 || i.sha256.len() < 12 {
        i.sha256.clone()
    } else {
        format!("{}…", &i.sha256[..12])
    };
    let head = format!(
        "{} {:<17} {:>10}  {:<13} ",
        p.status(i.status),
        kind,
        human_bytes(i.bytes),
        hash,
    );
    let room = opts
        .width
        .saturating_sub(4 + super::width::visible_len(&head));
    if opts.width == 0 || i.path.chars().count() <= room {
        let _ = writeln!(out, "    {head}{}", i.path);
    } else {
        let _ = writeln!(out, "    {}", head.trim_end());
        out.push_str(&fill(&i.path, opts.width, "        ", "        "));
    }
    for pr in &i.problems {
        let show = opts.verbose > 0 || pr.severity >= ProblemSeverity::Warning;
        if show {
            let at = pr
                .offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default();
            let text = format!("{}{at}: {}", pr.code, without_source_tags(&pr.message));
            out.push_str(&fill(&text, opts.width, "        - ", "          "));
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
