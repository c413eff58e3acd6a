//! The fleet dashboard of `batch --html FILE` and `merge --html FILE`: counts per verdict, finding
//! id, licensing mode and Windows version; session hosts and their license servers with the
//! cross-capture findings; failed captures with their reasons; one section per host, linked from
//! everywhere it is named. Drawn from the digests and the fleet summary only (both computed from
//! the capture JSON), so a merge of shards writes the same page as a single run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{escape, page, severity_badge};
use crate::batch::{CrossFinding, Digest, FleetSummary};

/// The dashboard page.
pub fn render(digests: &[Digest], s: &FleetSummary) -> String {
    let mut ds: Vec<&Digest> = digests.iter().collect();
    ds.sort_by(|a, b| a.path.cmp(&b.path));
    let anchor: BTreeMap<&str, String> = ds
        .iter()
        .enumerate()
        .map(|(k, d)| (d.path.as_str(), format!("h{}", k + 1)))
        .collect();
    let link = |path: &str| -> String {
        let name = ds
            .iter()
            .find(|d| d.path == path)
            .and_then(|d| d.computer.clone())
            .unwrap_or_else(|| path.to_string());
        match anchor.get(path) {
            Some(a) => format!(
                "<a href=\"#{a}\" title=\"{}\">{}</a>",
                escape(path),
                escape(&name)
            ),
            None => escape(path),
        }
    };
    let header = vec![
        format!(
            "rdsdiag {} · {} captures: {} analysed, {} failed, {} with damaged evidence",
            env!("CARGO_PKG_VERSION"),
            s.captures,
            s.analysed,
            s.failed.len(),
            s.damaged
        ),
        "Built from the capture JSON lines alone: <code>rdsdiag merge --html</code> of shard outputs writes this same page.".to_string(),
    ];
    let mut b = String::new();
    b.push_str("<nav class=\"toc\"><a href=\"#verdicts\">Verdicts</a><a href=\"#findings\">Findings</a><a href=\"#servers\">License servers</a><a href=\"#failed\">Failed</a><a href=\"#hosts\">Hosts</a></nav>\n");

    b.push_str("<section id=\"verdicts\">\n<h2>Verdicts</h2>\n<div class=\"cards\">\n");
    for v in ["problems", "inconclusive", "healthy", "failed"] {
        let n = s.verdicts.get(v).copied().unwrap_or(0);
        let _ = writeln!(
            b,
            "<div class=\"card\" data-verdict=\"{v}\"><b>{n}</b>{v}</div>"
        );
    }
    let _ = writeln!(
        b,
        "<div class=\"card\"><b>{}</b>cross-capture findings</div>\n</div>\n</section>",
        s.cross_findings.len()
    );

    b.push_str("<section id=\"findings\" class=\"grid2\">\n<div>\n<h2>Findings</h2>\n");
    if s.findings.is_empty() && s.cross_findings_by_id.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str("<table>\n<thead><tr><th>finding</th><th class=\"num\">captures</th><th>hosts</th></tr></thead>\n<tbody>\n");
        for (id, n) in &s.findings {
            let hosts: Vec<String> = ds
                .iter()
                .filter(|d| d.findings.contains(id))
                .map(|d| link(&d.path))
                .collect();
            let _ = writeln!(
                b,
                "<tr data-finding=\"{0}\"><td><code>{0}</code></td><td class=\"num\">{n}</td><td class=\"wrap\">{1}</td></tr>",
                escape(id),
                hosts.join(", ")
            );
        }
        for (id, n) in &s.cross_findings_by_id {
            let hosts: Vec<String> = s
                .cross_findings
                .iter()
                .filter(|c| &c.id == id)
                .map(|c| link(&c.capture))
                .collect();
            let _ = writeln!(
                b,
                "<tr data-finding=\"{0}\"><td><code>{0}</code> <span class=\"muted\">(cross-capture)</span></td><td class=\"num\">{n}</td><td class=\"wrap\">{1}</td></tr>",
                escape(id),
                hosts.join(", ")
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</div>\n<div>\n<h2>Licensing modes</h2>\n");
    counts_table(&mut b, "mode (session hosts)", &s.licensing_modes);
    b.push_str("<h2>Windows versions</h2>\n");
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    for d in ds.iter().filter(|d| d.failed.is_none()) {
        *versions.entry(version_of(d)).or_insert(0) += 1;
    }
    counts_table(&mut b, "version (analysed captures)", &versions);
    b.push_str("</div>\n</section>\n");

    b.push_str("<section id=\"servers\">\n<h2>Session hosts and license servers</h2>\n");
    if s.license_servers.is_empty() {
        b.push_str("<p>No session host names a license server.</p>\n");
    } else {
        b.push_str("<div class=\"tablewrap\"><table>\n<thead><tr><th>license server</th><th>its capture</th><th>used by</th><th>cross-capture findings</th></tr></thead>\n<tbody>\n");
        for u in &s.license_servers {
            let cross: Vec<String> = s
                .cross_findings
                .iter()
                .filter(|c| c.license_server.eq_ignore_ascii_case(&u.server))
                .map(|c| {
                    format!(
                        "{} <code>{}</code> on {}",
                        severity_badge(c.severity),
                        escape(&c.id),
                        link(&c.capture)
                    )
                })
                .collect();
            let _ = writeln!(
                b,
                "<tr><td class=\"mono wrap\">{}</td><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td></tr>",
                escape(&u.server),
                u.capture
                    .as_deref()
                    .map_or("<span class=\"muted\">not in this batch</span>".to_string(), &link),
                u.used_by.iter().map(|p| link(p)).collect::<Vec<_>>().join(", "),
                if cross.is_empty() { "-".into() } else { cross.join("<br>") }
            );
        }
        b.push_str("</tbody></table></div>\n");
    }
    if !s.cross_findings.is_empty() {
        b.push_str("<h3>Cross-capture findings</h3>\n");
        for c in &s.cross_findings {
            cross_finding(&mut b, c, &link);
        }
    }
    b.push_str("</section>\n");

    b.push_str("<section id=\"failed\">\n<h2>Failed captures</h2>\n");
    if s.failed.is_empty() {
        b.push_str("<p>None: every capture was analysed.</p>\n");
    } else {
        b.push_str("<ul>\n");
        for f in &s.failed {
            let _ = writeln!(b, "<li>{}: {}</li>", link(&f.path), escape(&f.reason));
        }
        b.push_str("</ul>\n");
    }
    b.push_str("</section>\n");

    b.push_str("<section id=\"hosts\">\n<h2>Hosts</h2>\n<div class=\"filter hidden\" data-scope=\"hosts\"><label>Filter hosts <input type=\"search\" placeholder=\"name, verdict, finding, mode\"></label></div>\n");
    b.push_str("<div class=\"tablewrap\"><table>\n<thead><tr><th>host</th><th>verdict</th><th class=\"hide-narrow\">Windows</th><th>licensing</th><th class=\"hide-narrow\">license servers</th><th>findings</th></tr></thead>\n<tbody>\n");
    for d in &ds {
        let _ = writeln!(
            b,
            "<tr data-filter=\"{}\"><td class=\"wrap\">{}</td><td class=\"v-{v}\">{v}</td><td class=\"hide-narrow\">{}</td><td>{}</td><td class=\"wrap mono hide-narrow\">{}</td><td class=\"wrap\">{}</td></tr>",
            escape(&filter_of(d)),
            link(&d.path),
            escape(&version_of(d)),
            escape(&d.licensing_mode),
            escape(&d.license_servers.join(", ")),
            d.failed.as_deref().map_or_else(
                || d.findings.iter().map(|f| format!("<code>{}</code>", escape(f))).collect::<Vec<_>>().join(" "),
                |e| format!("failed: {}", escape(e))
            ),
            v = d.verdict.name()
        );
    }
    b.push_str("</tbody></table></div>\n");
    for d in &ds {
        host_section(&mut b, d, &anchor, s, &link);
    }
    b.push_str("</section>\n");
    page(
        &format!("rdsdiag fleet: {} captures", s.captures),
        &header,
        &b,
    )
}

fn counts_table(b: &mut String, what: &str, counts: &BTreeMap<String, usize>) {
    if counts.is_empty() {
        b.push_str("<p>None.</p>\n");
        return;
    }
    let _ = writeln!(
        b,
        "<table>\n<thead><tr><th>{what}</th><th class=\"num\">count</th></tr></thead>\n<tbody>"
    );
    for (k, n) in counts {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            escape(k)
        );
    }
    b.push_str("</tbody></table>\n");
}

fn version_of(d: &Digest) -> String {
    match (&d.version, d.build) {
        (Some(v), Some(b)) => format!("{v} (build {b})"),
        (Some(v), None) => v.clone(),
        (None, Some(b)) => format!("build {b}"),
        (None, None) => "unknown".into(),
    }
}

fn filter_of(d: &Digest) -> String {
    let mut parts = vec![
        d.path.clone(),
        d.verdict.name().to_string(),
        d.licensing_mode.clone(),
        version_of(d),
    ];
    parts.extend(d.computer.iter().cloned());
    parts.extend(d.findings.iter().cloned());
    parts.extend(d.license_servers.iter().cloned());
    parts.join(" ")
}

fn cross_finding(b: &mut String, c: &CrossFinding, link: &dyn Fn(&str) -> String) {
    let _ = writeln!(
        b,
        "<article class=\"finding sev-{sev}\" data-finding=\"{id}\">\n<h4>{} <span class=\"badge\">{}</span> <code class=\"fid\">{id}</code> {}</h4>\n<p>Session host {} · license server <span class=\"mono\">{}</span> ({})</p>\n<p>{}</p>",
        severity_badge(c.severity),
        match c.confidence {
            crate::diagnose::Confidence::Confirmed => "confirmed",
            crate::diagnose::Confidence::Likely => "likely",
        },
        escape(&c.title),
        link(&c.capture),
        escape(&c.license_server),
        link(&c.license_server_capture),
        escape(&c.explanation),
        sev = c.severity.name(),
        id = escape(&c.id)
    );
    if !c.remedy.is_empty() {
        b.push_str("<h5>Remedy</h5>\n<ol>\n");
        for r in &c.remedy {
            let _ = writeln!(b, "<li>{}</li>", super::prose(r));
        }
        b.push_str("</ol>\n");
    }
    if !c.links.is_empty() {
        let links: Vec<String> = c.links.iter().map(|l| super::doc_link(l)).collect();
        let _ = writeln!(b, "<p class=\"links\">References: {}</p>", links.join(", "));
    }
    b.push_str("</article>\n");
}

fn host_section(
    b: &mut String,
    d: &Digest,
    anchor: &BTreeMap<&str, String>,
    s: &FleetSummary,
    link: &dyn Fn(&str) -> String,
) {
    let id = anchor.get(d.path.as_str()).cloned().unwrap_or_default();
    let _ = writeln!(
        b,
        "<section class=\"host\" id=\"{id}\" data-verdict=\"{v}\">\n<h3>{} <span class=\"muted mono\">{}</span></h3>\n<dl class=\"facts\">\n<dt>Verdict</dt><dd class=\"v-{v}\">{v}</dd>",
        escape(d.computer.as_deref().unwrap_or("unknown computer")),
        escape(&d.path),
        v = d.verdict.name()
    );
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(e) = &d.failed {
        rows.push(("Failed", escape(e)));
    } else {
        let mut roles = Vec::new();
        if d.session_host {
            roles.push("session host");
        }
        if d.license_server {
            roles.push("license server");
        }
        rows.push((
            "Roles",
            if roles.is_empty() {
                "-".into()
            } else {
                roles.join(", ")
            },
        ));
        rows.push(("Windows", escape(&version_of(d))));
        rows.push((
            "Membership",
            escape(&match &d.domain {
                Some(dom) => format!("{} {dom}", d.membership),
                None => d.membership.clone(),
            }),
        ));
        rows.push(("Licensing mode", escape(&d.licensing_mode)));
        rows.push((
            "License servers",
            if d.license_servers.is_empty() {
                "-".into()
            } else {
                d.license_servers
                    .iter()
                    .map(|srv| {
                        let theirs = s
                            .license_servers
                            .iter()
                            .find(|u| u.server.eq_ignore_ascii_case(srv))
                            .and_then(|u| u.capture.as_deref());
                        match theirs {
                            Some(c) => format!("{} ({})", escape(srv), link(c)),
                            None => format!("{} (not in this batch)", escape(srv)),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ));
        rows.push((
            "Findings",
            if d.findings.is_empty() {
                "none".into()
            } else {
                d.findings
                    .iter()
                    .map(|f| format!("<code>{}</code>", escape(f)))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ));
        let cross: Vec<String> = s
            .cross_findings
            .iter()
            .filter(|c| c.capture == d.path || c.license_server_capture == d.path)
            .map(|c| {
                format!(
                    "<code>{}</code> ({} ↔ {})",
                    escape(&c.id),
                    link(&c.capture),
                    link(&c.license_server_capture)
                )
            })
            .collect();
        if !cross.is_empty() {
            rows.push(("Cross-capture", cross.join("<br>")));
        }
        if d.damaged {
            rows.push(("Evidence", "damaged or unreadable inputs".into()));
        }
    }
    for (k, v) in rows {
        let _ = writeln!(b, "<dt>{k}</dt><dd>{v}</dd>");
    }
    b.push_str("</dl>\n</section>\n");
}
