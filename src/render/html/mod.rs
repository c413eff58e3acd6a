//! HTML: one self-contained file per report (docs/html-report.md). Inline CSS and inline SVG, a
//! tiny inline script for filtering that nothing needs, and a Content-Security-Policy that lets
//! the page load nothing at all (the script is allowed by its hash), so it works offline and as a
//! ticket attachment. Every string that comes from the evidence goes through [`escape`].
//!
//! - [`render`]: the analyze report (verdict, findings, session chart, configuration, host,
//!   inputs, in that order);
//! - [`render_timeline`]: `rdsdiag timeline --format html` (the chart and the sessions);
//! - [`fleet::render`]: the dashboard of `batch --html` and `merge --html`.

mod chart;
pub mod fleet;

use std::fmt::Write as _;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use super::OutputTz;
use crate::capture::Input;
use crate::config::{SettingState, Settings};
use crate::diagnose::{Evidence, Finding, Severity};
use crate::host::{Fact, HostIdentity};
use crate::report::{
    CaptureReport, CaptureStatus, Report, SessionReport, TimelineOutcome, TimelineReport,
};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("filter.js");

/// Escape text for HTML element content and quoted attribute values: `& < > " '` become
/// character references; control characters other than newline and tab are shown as `\u{..}`
/// text, so nothing from the evidence can open a tag, close an attribute or hide itself.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// A link target we write: only `https://` and `http://` documentation links (rule pages);
/// anything else is shown as text, never as a link.
fn doc_link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!(
            "<a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a>",
            escape(url)
        )
    } else {
        format!("<code>{}</code>", escape(url))
    }
}

/// Text we wrote ourselves (rule pages' remedy steps): escaped, then `code` spans.
fn prose(s: &str) -> String {
    let e = escape(s);
    let mut out = String::with_capacity(e.len());
    let mut parts = e.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let rest: Vec<&str> = parts.collect();
    // An odd number of backticks leaves the last one as text.
    let pairs = rest.len() / 2 * 2;
    for (i, p) in rest.iter().enumerate() {
        if i < pairs {
            if i % 2 == 0 {
                let _ = write!(out, "<code>{p}");
            } else {
                let _ = write!(out, "</code>{p}");
            }
        } else {
            let _ = write!(out, "`{p}");
        }
    }
    out
}

/// Standard base64 (for the script's hash in the Content-Security-Policy).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The Content-Security-Policy of every page: nothing may be loaded from anywhere; inline
/// styles, `data:` images, and only our own script (by the SHA-256 of its exact text, which
/// [`page`] writes with nothing around it) may run.
fn csp() -> String {
    let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'"
    )
}

/// The page around a body: head with the policy, the style sheet, the header lines, and the
/// script at the end.
fn page(title: &str, header: &[String], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"generator\" content=\"rdsdiag {}\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<header class=\"page\">\n<h1>{}</h1>\n",
        csp(),
        env!("CARGO_PKG_VERSION"),
        escape(title),
        escape(title)
    );
    for line in header {
        let _ = writeln!(out, "<p>{line}</p>");
    }
    out.push_str("</header>\n<main>\n");
    out.push_str(body);
    let _ = write!(
        out,
        "<footer>Written by rdsdiag {} offline from the evidence; this file loads nothing from anywhere (docs/html-report.md).</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// `2024-03-04 08:02:11Z` (or `+01:00`): the output zone's time to the second.
pub(crate) fn when(tz: &OutputTz, t: Timestamp) -> String {
    let full = tz.format(t);
    match (full.get(..19), full.get(27..)) {
        (Some(dt), Some(zone)) if full.get(19..20) == Some(".") => {
            format!("{} {}", &dt[..10], &dt[11..]) + zone
        }
        _ => full,
    }
}

/// The offset of the output zone at `t`, in seconds (from its written form).
pub(crate) fn offset_seconds(tz: &OutputTz, t: Timestamp) -> i64 {
    let full = tz.format(t);
    let Some(zone) = full.get(27..) else {
        return 0;
    };
    let b = zone.as_bytes();
    if b.len() == 6 && (b[0] == b'+' || b[0] == b'-') {
        let h: i64 = zone[1..3].parse().unwrap_or(0);
        let m: i64 = zone[4..6].parse().unwrap_or(0);
        let s = h * 3600 + m * 60;
        if b[0] == b'-' {
            -s
        } else {
            s
        }
    } else {
        0
    }
}

/// A file as shown: its last path component, the whole path in the title.
fn file_cell(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    format!(
        "<span class=\"mono\" title=\"{}\">{}</span>",
        escape(file),
        escape(base)
    )
}

/// The host's zone, for the line beside the output zone.
fn host_zone(h: &HostIdentity) -> String {
    zone_words(&h.time_zone)
}

/// A host's zone as the SYSTEM hive names it, with its standard offset.
fn zone_words(z: &crate::host::TimeZone) -> String {
    match (&z.key_name, z.bias_minutes.value()) {
        (Fact::Found { value, .. }, Some(bias)) => {
            let off = -*bias;
            let sign = if off < 0 { '-' } else { '+' };
            format!(
                "{value} (UTC{sign}{:02}:{:02} standard time)",
                off.abs() / 60,
                off.abs() % 60
            )
        }
        (k, _) => k.display(),
    }
}

fn times_line(tz: &OutputTz, host: Option<String>) -> String {
    let host = host.map_or_else(
        || "the host's zone is not known from this output".to_string(),
        |h| format!("host zone: {}", escape(&h)),
    );
    format!(
        "Times in <b>{}</b> ({host}); the analysis itself is in UTC.",
        escape(tz.label())
    )
}

/// The analyze report as one HTML page, its times in the zone `choice` names; `--tz host`
/// resolves per capture from its SYSTEM hive's zone (UTC, with a note, where it is not known).
pub fn render(report: &Report, choice: &super::TzChoice) -> String {
    let zones: Vec<OutputTz> = report
        .captures
        .iter()
        .map(|c| {
            choice
                .resolve(c.host.as_ref().map(|h| &h.identity.time_zone))
                .0
        })
        .collect();
    let first = zones
        .first()
        .cloned()
        .unwrap_or_else(|| choice.resolve(None).0);
    let all_same = zones.iter().all(|z| z.label() == first.label());
    let tz = &first;
    let title = match report.captures.as_slice() {
        [one] => format!(
            "rdsdiag report: {}",
            one.host
                .as_ref()
                .map(|h| super::host::computer_name(&h.identity))
                .unwrap_or_else(|| one.path.display().to_string())
        ),
        many => format!("rdsdiag report: {} captures", many.len()),
    };
    let host = report
        .captures
        .iter()
        .find_map(|c| c.host.as_ref().map(|h| host_zone(&h.identity)));
    let header = vec![
        format!(
            "rdsdiag {} · JSON schema {} · {} capture(s)",
            escape(report.tool.version),
            report.schema_version,
            report.captures.len()
        ),
        if all_same {
            times_line(tz, host)
        } else {
            "Times in each capture's own zone (each capture says which); the analysis itself is in UTC."
                .to_string()
        },
    ];
    let mut body = String::new();
    if report.captures.len() > 1 {
        body.push_str("<nav class=\"toc\">Captures: ");
        for (k, c) in report.captures.iter().enumerate() {
            let _ = write!(
                body,
                "<a href=\"#c{}\">{}</a> ",
                k + 1,
                escape(&c.path.display().to_string())
            );
        }
        body.push_str("</nav>\n");
    }
    for ((k, c), tz) in report.captures.iter().enumerate().zip(&zones) {
        if !all_same {
            let _ = writeln!(
                body,
                "<p class=\"muted\">Times of the next capture in <b>{}</b>.</p>",
                escape(tz.label())
            );
        }
        capture(&mut body, c, &format!("c{}", k + 1), tz);
    }
    page(&title, &header, &body)
}

fn capture(out: &mut String, c: &CaptureReport, id: &str, tz: &OutputTz) {
    let _ = writeln!(
        out,
        "<section class=\"capture\" id=\"{id}\">\n<h2>Capture <span class=\"mono\">{}</span></h2>",
        escape(&c.path.display().to_string())
    );
    if let Some(split) = &c.split {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{}</p>",
            escape(&super::split_text(split))
        );
    }
    if c.status != CaptureStatus::Failed {
        let _ = writeln!(
        out,
        "<nav class=\"toc\"><a href=\"#{id}-verdict\">Verdict</a><a href=\"#{id}-findings\">Findings</a><a href=\"#{id}-timeline\">Sessions</a><a href=\"#{id}-config\">Configuration</a><a href=\"#{id}-host\">Host</a><a href=\"#{id}-inputs\">Inputs</a></nav>"
        );
    }
    let _ = writeln!(
        out,
        "<section id=\"{id}-verdict\" class=\"verdict v-{v}\" data-verdict=\"{v}\">\n<h3>Verdict: <span class=\"verdict-word\">{v}</span></h3>\n<p class=\"verdict-text\">{}</p>\n</section>",
        escape(&super::verdict(c)),
        v = c.verdict.name()
    );
    if c.status != CaptureStatus::Failed {
        findings(out, c, id, tz);
        let _ = writeln!(out, "<section id=\"{id}-timeline\">\n<h3>Sessions</h3>");
        match &c.timeline {
            Some(t) => timeline_section(
                out,
                t,
                id,
                tz,
                c.host.as_ref().map(|h| host_zone(&h.identity)),
            ),
            None => out.push_str("<p>No timeline.</p>\n"),
        }
        out.push_str("</section>\n");
        let _ = writeln!(
            out,
            "<section id=\"{id}-config\">\n<h3>Effective configuration</h3>"
        );
        match &c.settings {
            Some(s) => settings(out, s),
            None => out.push_str("<p>Not resolved.</p>\n"),
        }
        group_policy(out, c);
        out.push_str("</section>\n");
        host(out, c, id);
    }
    inputs(out, c, id);
    out.push_str("</section>\n");
}

fn severity_badge(s: Severity) -> String {
    format!("<span class=\"badge b-{0}\">{0}</span>", s.name())
}

fn findings(out: &mut String, c: &CaptureReport, id: &str, tz: &OutputTz) {
    let _ = writeln!(
        out,
        "<section id=\"{id}-findings\">\n<h3>Findings ({})</h3>",
        c.findings.len()
    );
    if c.findings.is_empty() {
        out.push_str("<p>None.</p>\n");
    }
    for (k, f) in c.findings.iter().enumerate() {
        finding(out, f, id, tz, k == 0);
    }
    if !c.undecided.is_empty() {
        out.push_str("<h4>Could not decide (collect this to decide)</h4>\n<ul>\n");
        for u in &c.undecided {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(u.id),
                escape(&u.missing.join("; "))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// Evidence items shown before the rest folds into a `<details>`.
const EVIDENCE_SHOWN: usize = 12;

/// A finding: its head and explanation always shown; evidence, remedy and links open for the
/// first (most important) finding and one click away for the others (the script opens them all
/// for printing).
fn finding(out: &mut String, f: &Finding, id: &str, tz: &OutputTz, open: bool) {
    let _ = writeln!(
        out,
        "<article class=\"finding sev-{sev}\" id=\"{id}-{fid}\" data-finding=\"{fid}\">\n<h4>{} <span class=\"badge\">{}</span> <code class=\"fid\">{fid}</code> {}</h4>\n<p>{}</p>",
        severity_badge(f.severity),
        f.confidence_word(),
        escape(f.title),
        escape(&f.explanation),
        sev = f.severity.name(),
        fid = escape(f.id),
    );
    let _ = writeln!(
        out,
        "<details class=\"detail\"{}><summary>Evidence ({}), remedy ({} steps){}</summary>",
        if open { " open" } else { "" },
        f.evidence.len(),
        f.remedy.len(),
        if f.links.is_empty() {
            ""
        } else {
            ", references"
        }
    );
    out.push_str("<h5>Evidence</h5>\n<ul class=\"evidence\">\n");
    for (i, e) in f.evidence.iter().enumerate() {
        if i == EVIDENCE_SHOWN {
            let _ = writeln!(
                out,
                "</ul>\n<details><summary>{} more</summary>\n<ul class=\"evidence\">",
                f.evidence.len() - EVIDENCE_SHOWN
            );
        }
        let _ = writeln!(out, "<li>{}</li>", evidence(e, tz));
    }
    out.push_str("</ul>\n");
    if f.evidence.len() > EVIDENCE_SHOWN {
        out.push_str("</details>\n");
    }
    if !f.remedy.is_empty() {
        out.push_str("<h5>Remedy</h5>\n<ol>\n");
        for step in &f.remedy {
            let _ = writeln!(out, "<li>{}</li>", prose(step));
        }
        out.push_str("</ol>\n");
    }
    if !f.links.is_empty() {
        let links: Vec<String> = f.links.iter().map(|l| doc_link(l)).collect();
        let _ = writeln!(
            out,
            "<p class=\"links\">References: {}</p>",
            links.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">More: <code>rdsdiag explain {}</code></p>\n</details>\n</article>",
        escape(f.id)
    );
}

fn evidence(e: &Evidence, tz: &OutputTz) -> String {
    match e {
        Evidence::Registry { fact, provenance } => match provenance {
            Some(p) => format!(
                "{} — <span class=\"mono\">{}</span> [{}] <span class=\"mono\">{}\\{}</span>",
                escape(fact),
                escape(&p.file),
                escape(&p.hive.to_string()),
                escape(&p.key),
                escape(&p.value)
            ),
            None => escape(fact),
        },
        Evidence::Event {
            time,
            file,
            record_id,
            provider,
            event_id,
            fact,
        } => {
            let shown = time
                .parse::<Timestamp>()
                .map(|t| when(tz, t))
                .unwrap_or_else(|_| time.clone());
            format!(
                "<span class=\"mono\">{}</span> {} {event_id}, {} record {record_id}: {}",
                escape(&shown),
                escape(crate::timeline::provider_short(provider)),
                file_cell(file),
                escape(fact)
            )
        }
    }
}

fn timeline_section(
    out: &mut String,
    t: &TimelineReport,
    id: &str,
    tz: &OutputTz,
    host_zone: Option<String>,
) {
    let s = &t.summary;
    match (t.first, t.last) {
        (Some(a), Some(b)) => {
            let _ = writeln!(
                out,
                "<p>{} relevant events from {} to {}: {} sessions of {} users, {} logons, {} reconnects, {} disconnects ({} with a licensing reason), {} without logoff.</p>",
                s.events,
                escape(&when(tz, a)),
                escape(&when(tz, b)),
                s.sessions,
                s.users,
                s.logons,
                s.reconnects,
                s.disconnects,
                s.licensing_disconnects,
                s.sessions_without_logoff
            );
        }
        _ => out.push_str("<p>No relevant events.</p>\n"),
    }
    if s.sessions > t.sessions.len() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} session(s) of other computers whose records share the capture are not drawn (<code>rdsdiag timeline</code> lists them).</p>",
            s.sessions - t.sessions.len()
        );
    }
    let scope = format!("{id}-sessions");
    let _ = writeln!(out, "<div id=\"{scope}\">");
    chart::filter_controls(out, &scope);
    chart::render(out, t, id, tz);
    let _ = writeln!(out, "<p class=\"muted\">{}</p>", times_line(tz, host_zone));
    patterns(out, t, tz);
    sessions_table(out, &t.sessions, tz);
    out.push_str("</div>\n");
}

/// Patterns listed before the rest folds away (the chart highlights them all).
const PATTERNS_SHOWN: usize = 8;

fn patterns(out: &mut String, t: &TimelineReport, tz: &OutputTz) {
    if t.patterns.is_empty() {
        return;
    }
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in &t.patterns {
        *kinds.entry(p.kind.name()).or_insert(0) += 1;
    }
    let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        out,
        "<h4>Patterns ({})</h4>\n<ul class=\"patterns\">",
        counts.join(", ")
    );
    for (i, p) in t.patterns.iter().enumerate() {
        if i == PATTERNS_SHOWN {
            let _ = writeln!(
                out,
                "</ul>\n<details><summary>{} more patterns</summary>\n<ul class=\"patterns\">",
                t.patterns.len() - PATTERNS_SHOWN
            );
        }
        let _ = writeln!(
            out,
            "<li data-pattern=\"{k}\"><b>{k}</b> at {}: {} <span class=\"muted\">(sessions {})</span></li>",
            escape(&when(tz, p.time)),
            escape(&p.summary),
            escape(&p.sessions.join(" ")),
            k = p.kind.name()
        );
    }
    out.push_str("</ul>\n");
    if t.patterns.len() > PATTERNS_SHOWN {
        out.push_str("</details>\n");
    }
}

/// Session rows listed in the table; the chart and the JSON hold them all.
pub(crate) const TABLE_ROWS: usize = 500;

fn sessions_table(out: &mut String, sessions: &[SessionReport], tz: &OutputTz) {
    if sessions.is_empty() {
        return;
    }
    let open = if sessions.len() <= 40 { " open" } else { "" };
    let _ = writeln!(
        out,
        "<details class=\"sessions\"{open}><summary>Sessions ({})</summary>\n<div class=\"tablewrap\"><table>\n<thead><tr><th>session</th><th>user</th><th class=\"hide-narrow\">address</th><th>start</th><th>end</th><th>state</th><th>disconnects (reason)</th><th class=\"hide-narrow\">records</th></tr></thead>\n<tbody>",
        sessions.len()
    );
    for s in sessions.iter().take(TABLE_ROWS) {
        let dis: Vec<String> = s
            .disconnects
            .iter()
            .map(|d| {
                format!(
                    "<span data-class=\"{c}\"><span class=\"sw\" style=\"background:var(--c-{c})\" title=\"{c}\"></span>{} {}{}</span>",
                    escape(&when(tz, d.time)),
                    escape(d.reason.as_deref().unwrap_or("no reason event")),
                    if d.after_logoff { " (logoff teardown)" } else { "" },
                    c = d.class.name()
                )
            })
            .collect();
        let mut records: Vec<String> = Vec::new();
        if let Some(l) = &s.logon {
            records.push(format!("logon {}#{}", file_cell(&l.file), l.record_id));
        }
        if let Some(l) = &s.logoff {
            records.push(format!("logoff {}#{}", file_cell(&l.file), l.record_id));
        }
        let _ = writeln!(
            out,
            "<tr data-filter=\"{}\"><td><b>{}</b> <span class=\"muted\">id {}</span></td><td class=\"wrap\">{}</td><td class=\"wrap hide-narrow\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap hide-narrow\">{}</td></tr>",
            escape(&filter_text(s)),
            escape(&s.id),
            s.session_id,
            escape(s.user.as_deref().unwrap_or("-")),
            escape(s.address.as_deref().unwrap_or("-")),
            escape(&when(tz, s.start)),
            escape(&when(tz, s.end)),
            state_name(s),
            if dis.is_empty() { "-".to_string() } else { dis.join("<br>") },
            records.join("<br>")
        );
    }
    out.push_str("</tbody></table></div>\n");
    if sessions.len() > TABLE_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">The first {TABLE_ROWS} of {} sessions are listed; the chart draws them all, and <code>--format json</code> (<code>timeline.sessions</code>) or <code>rdsdiag timeline</code> lists every one.</p>",
            sessions.len()
        );
    }
    out.push_str("</details>\n");
}

/// What the filter box matches for a session: its id, user, addresses, state and reasons.
pub(crate) fn filter_text(s: &SessionReport) -> String {
    let mut parts = vec![s.id.clone(), state_name(s).to_string()];
    parts.extend(s.user.iter().cloned());
    parts.extend(s.address.iter().cloned());
    parts.extend(s.addresses.iter().cloned());
    for d in &s.disconnects {
        parts.push(d.class.name().to_string());
        parts.extend(d.reason.iter().cloned());
    }
    parts.join(" ")
}

pub(crate) fn state_name(s: &SessionReport) -> &'static str {
    use crate::timeline::SessionState as S;
    match s.state {
        S::PreLogon => "pre-logon",
        S::Active => "active",
        S::Disconnected => "disconnected",
        S::LoggedOff => "logged-off",
        S::EndedBeforeLogon => "ended-before-logon",
        S::Superseded => "superseded",
    }
}

fn settings(out: &mut String, settings: &Settings) {
    out.push_str("<div class=\"tablewrap\"><table>\n<thead><tr><th>setting</th><th>state</th><th>effective value</th><th>source (winner)</th><th>shadowed</th><th>unknown</th></tr></thead>\n<tbody>\n");
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
            .map(|sh| escape(&format!("{}: {}", sh.source, sh.display)))
            .collect();
        let unknown: Vec<String> = s
            .unknown
            .iter()
            .filter(|u| u.decisive)
            .map(|u| escape(&format!("{}: {}", u.source, u.detail)))
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"setting-{}\"><td><code>{}</code></td><td>{}</td><td class=\"wrap\">{}</td><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td></tr>",
            s.state.name(),
            escape(&s.name),
            s.state.name().replace('_', " "),
            escape(&value),
            s.source.map(|k| k.name()).unwrap_or("-"),
            if shadowed.is_empty() { "-".into() } else { shadowed.join("<br>") },
            if unknown.is_empty() { "-".into() } else { unknown.join("<br>") },
        );
    }
    out.push_str("</tbody></table></div>\n");
    let notes: Vec<String> = settings
        .iter()
        .flat_map(|s| {
            s.notes
                .iter()
                .map(move |n| format!("<li><code>{}</code>: {}</li>", escape(&s.name), escape(n)))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Notes ({})</summary>\n<ul>\n{}\n</ul>\n</details>",
            notes.len(),
            notes.join("\n")
        );
    }
}

/// Which GPO set each policy value (and which it beat), the gpresult output's own view (or
/// that none was provided) and the user policy: the same text as `config`, as lists.
fn group_policy(out: &mut String, c: &CaptureReport) {
    use super::config as cfg;
    if let Some(s) = &c.settings {
        let gp = cfg::gpo_section(s, true, 0);
        if !gp.is_empty() {
            out.push_str("<h4>Group Policy</h4>\n<p>Which GPO set each policy value; later-applied GPOs win.</p>\n<ul class=\"gpo\">\n");
            for line in gp.lines() {
                let depth = line.len() - line.trim_start().len();
                let class = if depth > 2 { " class=\"step\"" } else { "" };
                let _ = writeln!(out, "<li{class}>{}</li>", escape(line.trim()));
            }
            out.push_str("</ul>\n");
        }
    }
    if let Some(g) = &c.gpresult {
        let _ = writeln!(
            out,
            "<details><summary>Group Policy (gpresult)</summary>\n<pre>{}</pre>\n</details>",
            escape(&cfg::render_gpresult(g))
        );
    }
    if let Some(why) = cfg::gpresult_missing(c.gpresult.as_ref(), c.host.as_ref()) {
        let _ = writeln!(out, "<p>Group Policy: {}</p>", escape(why));
    }
    if let Some(up) = &c.user_policy {
        let _ = writeln!(
            out,
            "<details><summary>User policy</summary>\n<pre>{}</pre>\n</details>",
            escape(&cfg::render_user_policy(up))
        );
    }
}

fn host(out: &mut String, c: &CaptureReport, id: &str) {
    let _ = writeln!(out, "<section id=\"{id}-host\">\n<h3>Host</h3>");
    let Some(h) = &c.host else {
        out.push_str("<p>Unknown.</p>\n</section>\n");
        return;
    };
    let ident = &h.identity;
    let mut rows: Vec<(&str, String)> = vec![("Computer", super::host::computer_name(ident))];
    if let Some(names) = super::host::names_in_logs(ident) {
        rows.push(("Names in the event records", names));
    }
    rows.push(("OS", ident.os.product_name.display()));
    let build = match (ident.os.build.value(), ident.os.ubr.value()) {
        (Some(b), Some(u)) => format!("{b}.{u}"),
        _ => ident.os.build.display(),
    };
    rows.push(("Build", build));
    rows.push(("Time zone", host_zone(ident)));
    for line in super::host::clock_change_lines(c) {
        rows.push(("Clock", line));
    }
    if let Some(l) = &c.layout {
        rows.push(("Layout", format!("{} ({})", l.layout.name(), l.signal)));
    }
    out.push_str("<dl class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    out.push_str("</dl>\n");
    let _ = writeln!(
        out,
        "<h4>Host facts</h4>\n<pre>{}</pre>\n</section>",
        escape(&super::host::render_text(&h.facts))
    );
}

fn inputs(out: &mut String, c: &CaptureReport, id: &str) {
    let s = &c.input_summary;
    let _ = writeln!(
        out,
        "<section id=\"{id}-inputs\">\n<h3>Inputs</h3>\n<p>{} files: {} parsed, {} partial, {} rejected, {} ignored.</p>",
        s.total, s.parsed, s.partial, s.rejected, s.ignored
    );
    if c.inputs.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<div class=\"tablewrap\"><table>\n<thead><tr><th>status</th><th>kind</th><th class=\"num\">bytes</th><th class=\"hide-narrow\">sha256</th><th>path</th><th>integrity and problems</th></tr></thead>\n<tbody>\n");
    for i in &c.inputs {
        input_row(out, i);
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn input_row(out: &mut String, i: &Input) {
    let kind = match i.hive {
        Some(h) => format!("{}:{}", i.kind.name(), h),
        None => i.kind.name().to_string(),
    };
    let short = i.sha256.get(..12).unwrap_or(&i.sha256);
    let mut notes: Vec<String> = Vec::new();
    if let Some(e) = &i.evtx {
        notes.push(format!(
            "{} of {} chunks valid, {} records read, {} unverified, {} skipped{}",
            e.chunks_valid,
            e.chunks_found,
            e.records_read,
            e.records_unverified,
            e.records_skipped,
            if e.chunks_not_read_time_limit > 0 {
                format!(
                    ", {} chunks not read (time limit)",
                    e.chunks_not_read_time_limit
                )
            } else {
                String::new()
            }
        ));
    }
    for p in &i.problems {
        notes.push(escape(&format!(
            "{} {}{}: {}",
            match p.severity {
                crate::evidence::ProblemSeverity::Info => "info",
                crate::evidence::ProblemSeverity::Warning => "warning",
                crate::evidence::ProblemSeverity::Error => "error",
            },
            p.code,
            p.offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default(),
            p.message
        )));
    }
    let _ = writeln!(
        out,
        "<tr><td class=\"st-{st}\">{st}</td><td>{}</td><td class=\"num\">{}</td><td class=\"mono hide-narrow\" title=\"{}\">{}</td><td class=\"wrap mono\">{}</td><td class=\"wrap\">{}</td></tr>",
        escape(&kind),
        i.bytes,
        escape(&i.sha256),
        escape(short),
        escape(&i.path),
        notes.join("<br>"),
        st = i.status.name()
    );
}

/// `rdsdiag timeline --format html`: the chart and the sessions of one capture (the host's own
/// sessions; the text format lists the others).
pub fn render_timeline(o: &TimelineOutcome, tz: &OutputTz) -> String {
    let t = TimelineReport::of_ref(&o.timeline);
    let header = vec![
        format!(
            "rdsdiag {} · capture <span class=\"mono\">{}</span> · host {}",
            env!("CARGO_PKG_VERSION"),
            escape(&o.path.display().to_string()),
            escape(o.timeline.host_computer.as_deref().unwrap_or("unknown"))
        ),
        times_line(tz, o.host_time_zone.as_ref().map(zone_words)),
    ];
    let mut body = String::new();
    body.push_str("<section id=\"c1-timeline\">\n<h2>Sessions</h2>\n");
    timeline_section(
        &mut body,
        &t,
        "c1",
        tz,
        o.host_time_zone.as_ref().map(zone_words),
    );
    body.push_str("</section>\n");
    page(
        &format!(
            "rdsdiag timeline: {}",
            o.timeline
                .host_computer
                .as_deref()
                .unwrap_or("unknown host")
        ),
        &header,
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_text_never_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("a&b 'c'"), "a&amp;b &#39;c&#39;");
        assert_eq!(escape("x\u{0}y\u{1b}"), "x\\u{0}y\\u{1b}");
    }

    #[test]
    fn only_web_links_become_links() {
        assert!(doc_link("https://learn.microsoft.com/x").starts_with("<a href=\"https://"));
        assert_eq!(
            doc_link("javascript:alert(1)"),
            "<code>javascript:alert(1)</code>"
        );
        assert!(!doc_link("https://x/\"onmouseover=\"a").contains("\"onmouseover"));
    }

    #[test]
    fn prose_keeps_code_spans_and_escapes() {
        assert_eq!(
            prose("run `gpupdate` <now>"),
            "run <code>gpupdate</code> &lt;now&gt;"
        );
        assert_eq!(prose("odd ` tick"), "odd ` tick");
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn short_times_in_the_output_zone() {
        let t: Timestamp = "2024-03-04T08:02:11.1234567Z".parse().unwrap();
        assert_eq!(when(&OutputTz::utc(), t), "2024-03-04 08:02:11Z");
        let p = OutputTz::parse("+01:00").unwrap();
        assert_eq!(when(&p, t), "2024-03-04 09:02:11+01:00");
        assert_eq!(offset_seconds(&p, t), 3600);
        assert_eq!(
            offset_seconds(&OutputTz::parse("-05:30").unwrap(), t),
            -19800
        );
        assert_eq!(offset_seconds(&OutputTz::utc(), t), 0);
    }
}
