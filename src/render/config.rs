//! Text rendering of the effective configuration: the `config` table (setting, state, effective
//! value, source, shadowed) followed by the notes and evidence that explain it. Returns a
//! `String`; the CLI decides where it goes.

use std::fmt::Write as _;

use crate::catalog::gpresult::GpresultForm;
use crate::config::gpresult::{GpresultGpo, ListedGpo};
use crate::config::{GpresultSummary, SettingState, Settings, UserPolicy};
use crate::gpresult::Scope;
use crate::report::ConfigReport;

/// Column titles of the table.
const HEADERS: [&str; 5] = ["SETTING", "STATE", "EFFECTIVE VALUE", "SOURCE", "SHADOWED"];

/// Options for [`render_text_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// List where each winning value was read (file, key, value).
    pub evidence: bool,
    /// Show, per setting a GPO set, every applied GPO's step (the `explain` chain).
    pub chain: bool,
    /// Columns to fit (0: unlimited). A table wider than this becomes one entry per setting.
    pub width: usize,
    /// Keep the source tags (`(S14)`) in notes.
    pub source_tags: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            evidence: true,
            chain: false,
            width: 0,
            source_tags: true,
        }
    }
}

/// The `config` table with notes and evidence.
pub fn render_text(settings: &Settings) -> String {
    render_text_with(settings, RenderOptions::default())
}

/// One line of text: control characters from the evidence are shown escaped, so a hostile value
/// cannot break the table or the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The `config` table, with the sections chosen by `opts`.
pub fn render_text_with(settings: &Settings, opts: RenderOptions) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for s in settings.iter() {
        let state = s.state.name().replace('_', " ");
        let value = match (s.state, &s.value) {
            (SettingState::Unknown, None) => "unknown".to_string(),
            (SettingState::Unknown, Some(_)) => format!("{} (if not overridden)", s.value_display),
            _ => s.display.clone(),
        };
        let source = s
            .source
            .map(|k| k.name().to_string())
            .unwrap_or_else(|| "-".into());
        let shadowed = if s.shadowed.is_empty() {
            "-".to_string()
        } else {
            s.shadowed
                .iter()
                .map(|sh| format!("{}: {}", sh.source, sh.display))
                .collect::<Vec<_>>()
                .join("; ")
        };
        rows.push([
            s.name.clone(),
            state,
            clean(&value),
            source,
            clean(&shadowed),
        ]);
    }

    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let table_width: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let fill =
        |text: &str, first: &str, rest: &str| super::width::fill(text, opts.width, first, rest);
    let user = |text: &str| {
        if opts.source_tags {
            text.to_string()
        } else {
            super::width::without_source_tags(text)
        }
    };
    let line = |out: &mut String, cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    if opts.width == 0 || table_width <= opts.width {
        line(&mut out, HEADERS);
        for r in &rows {
            line(&mut out, [&r[0], &r[1], &r[2], &r[3], &r[4]]);
        }
    } else {
        // Too wide for the terminal: one entry per setting, the value first.
        for r in &rows {
            let how = if r[3] == "-" {
                r[1].clone()
            } else {
                format!("{}, {}", r[1], r[3])
            };
            out.push_str(&fill(&format!("{}: {}  ({how})", r[0], r[2]), "", "    "));
            if r[4] != "-" {
                out.push_str(&fill(&format!("shadows {}", r[4]), "    ", "      "));
            }
        }
    }

    let mut notes = String::new();
    // Decisive unknowns, grouped: one missing hive usually affects many settings.
    let mut unknown: Vec<(String, Vec<&str>)> = Vec::new();
    for s in settings.iter() {
        for u in s.unknown.iter().filter(|u| u.decisive) {
            let why = format!("{} unknown: {}", u.source, clean(&u.detail));
            match unknown.iter_mut().find(|(w, _)| *w == why) {
                // A setting with several rows of one source (license_servers) is named once.
                Some((_, names)) if names.last() == Some(&s.name.as_str()) => {}
                Some((_, names)) => names.push(&s.name),
                None => unknown.push((why, vec![&s.name])),
            }
        }
    }
    for (why, names) in &unknown {
        notes.push_str(&fill(
            &format!("{}: {}", names.join(", "), user(why)),
            "  ",
            "    ",
        ));
    }
    for s in settings.iter() {
        for n in &s.notes {
            notes.push_str(&fill(
                &format!("{}: {}", s.name, user(&clean(n))),
                "  ",
                "    ",
            ));
        }
        for r in &s.related {
            let text = format!(
                "{}: related {} {}\\{} = {}{}",
                s.name,
                r.source,
                clean(&r.provenance.key),
                clean(&r.provenance.value),
                clean(&r.display),
                if r.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", user(&clean(&r.note)))
                }
            );
            notes.push_str(&fill(&text, "  ", "    "));
        }
        for u in s.unknown.iter().filter(|u| !u.decisive) {
            let text = format!(
                "{}: lower-precedence {} not checked: {}",
                s.name,
                u.source,
                user(&clean(&u.detail))
            );
            notes.push_str(&fill(&text, "  ", "    "));
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes:\n");
        out.push_str(&notes);
    }

    let gp = gpo_section(settings, opts.chain, opts.width);
    if !gp.is_empty() {
        out.push_str("\nGroup Policy (which GPO set each policy value; later-applied GPOs win):\n");
        out.push_str(&gp);
    }

    if opts.evidence {
        let mut ev = String::new();
        let line = |ev: &mut String, label: &str, p: &crate::registry::RegProvenance| {
            let text = format!(
                "{label}: {} [{}] {}{}{} ({})",
                clean(&p.file),
                p.hive,
                clean(&p.key),
                if p.value.is_empty() { "" } else { "\\" },
                clean(&p.value),
                p.value_type
            );
            ev.push_str(&fill(&text, "  ", "    "));
        };
        for s in settings.iter() {
            for p in &s.provenance {
                line(&mut ev, &s.name, p);
            }
            for sh in &s.shadowed {
                for p in &sh.provenance {
                    line(&mut ev, &format!("{} (shadowed {})", s.name, sh.source), p);
                }
            }
        }
        if !ev.is_empty() {
            out.push_str("\nEvidence:\n");
            out.push_str(&ev);
        }
    }
    out
}

/// One line per setting whose machine-policy value the Group Policy evidence speaks of: the GPO
/// that wrote it and the GPOs it beat, or what is missing; with `chain`, every applied GPO's step.
/// Fitted to `width` columns (0: unlimited).
pub fn gpo_section(settings: &Settings, chain: bool, width: usize) -> String {
    use crate::config::gpo::{AttributionStatus, GpoOp};
    let fill = |text: &str, first: &str, rest: &str| super::width::fill(text, width, first, rest);
    let mut out = String::new();
    for s in settings.iter() {
        let Some(a) = &s.gpo else { continue };
        let head = match (&a.winner, a.status) {
            (_, AttributionStatus::PolFilesNotProvided) => {
                "set by Group Policy; the applied GPOs' Registry.pol files were not provided"
                    .to_string()
            }
            (None, AttributionStatus::GpoListUnknown) => {
                "the list of applied GPOs is not in the evidence".to_string()
            }
            (None, _) => "no applied GPO's Registry.pol sets it".to_string(),
            (Some(w), status) => {
                let what = match w.op {
                    GpoOp::Delete => format!("deleted by {}", w.gpo.describe()),
                    GpoOp::SoftSet => {
                        format!("{} (if absent) from {}", w.display, w.gpo.describe())
                    }
                    GpoOp::Set => format!("{} from {}", w.display, w.gpo.describe()),
                };
                let beat = if a.shadowed.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", which beat {}",
                        a.shadowed
                            .iter()
                            .map(|l| format!("{} ({})", l.gpo.label(), l.display))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let open = match status {
                    AttributionStatus::Partial => {
                        " [not final: a later GPO's Registry.pol is missing]"
                    }
                    AttributionStatus::ReportDisagrees => {
                        " [per the gpresult report, which disagrees with the hives]"
                    }
                    _ => "",
                };
                format!("{what}{beat}{open}")
            }
        };
        out.push_str(&fill(
            &format!("{}: {}", s.name, clean(&head)),
            "  ",
            "      ",
        ));
        for n in &a.notes {
            out.push_str(&fill(&format!("note: {}", clean(n)), "    ", "      "));
        }
        if chain {
            for step in &a.chain {
                out.push_str(&fill(&clean(step), "    ", "      "));
            }
            for u in &a.unplaced {
                let text = format!(
                    "not in the applied list: {} {} ({})",
                    u.gpo.label(),
                    clean(&u.display),
                    clean(&u.file)
                );
                out.push_str(&fill(&text, "    ", "      "));
            }
        }
    }
    out
}

/// Every capture's configuration table and host facts.
pub fn render_report(report: &ConfigReport) -> String {
    render_report_with(report, RenderOptions::default())
}

/// Every capture's configuration table and host facts, fitted to `opts.width`.
pub fn render_report_with(report: &ConfigReport, opts: RenderOptions) -> String {
    let mut out = String::new();
    for (i, c) in report.captures.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("Capture: {}\n", c.path.display()));
        if let Some(e) = &c.error {
            // Shown once, on stderr, by the command line.
            let _ = e;
            out.push_str("  not read (the error is on stderr)\n");
            continue;
        }
        if let Some(h) = &c.host {
            out.push_str(&format!(
                "Computer name:            {}\n",
                clean(&h.identity.computer_name.display())
            ));
            for line in super::host::render_text(&h.facts).lines() {
                out.push_str(&super::width::fill(line, opts.width, "", "    "));
            }
        }
        if let Some(s) = &c.settings {
            out.push('\n');
            out.push_str(&render_text_with(s, opts));
        }
        if let Some(gp) = &c.gpresult {
            out.push('\n');
            out.push_str(&render_gpresult(gp));
        }
        if let Some(why) = gpresult_missing(c.gpresult.as_ref(), c.host.as_ref()) {
            out.push('\n');
            out.push_str(&super::width::fill(
                why,
                opts.width,
                "Group Policy: ",
                "    ",
            ));
        }
        if let Some(up) = &c.user_policy {
            out.push('\n');
            out.push_str(&render_user_policy(up));
        }
    }
    out
}

/// `explain <SETTING> <CAPTURE>...`: for each capture, the setting's row with every note, the
/// evidence and the Group Policy chain (each applied GPO's step), what the gpresult output says
/// of it (with the applied GPOs it lists) or that there is none, and each user's value.
pub fn explain_setting(report: &ConfigReport, name: &str, width: usize) -> String {
    let mut out = String::new();
    for (i, c) in report.captures.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("Capture: {}\n", c.path.display()));
        if c.error.is_some() {
            out.push_str("  not read (the error is on stderr)\n");
            continue;
        }
        let Some(s) = c.settings.as_ref().and_then(|s| s.get(name)) else {
            out.push_str("  not resolved\n");
            continue;
        };
        let one = Settings {
            settings: vec![s.clone()],
        };
        let opts = RenderOptions {
            evidence: true,
            chain: true,
            width,
            source_tags: true,
        };
        out.push_str(&render_text_with(&one, opts));
        if let Some(gp) = &c.gpresult {
            let mut only = gp.clone();
            only.settings.retain(|ch| ch.setting == name);
            only.unmapped.clear();
            out.push('\n');
            if only.settings.is_empty() {
                out.push_str("gpresult: the report does not name this setting\n");
            } else {
                out.push_str(&render_gpresult(&only));
            }
        }
        if let Some(why) = gpresult_missing(c.gpresult.as_ref(), c.host.as_ref()) {
            out.push('\n');
            out.push_str(&super::width::fill(why, width, "Group Policy: ", "    "));
        }
        if let Some(up) = &c.user_policy {
            let mut only = up.clone();
            only.settings.retain(|u| u.setting == name);
            if !only.settings.is_empty() {
                out.push('\n');
                out.push_str(&render_user_policy(&only));
            }
        }
    }
    out
}

/// "gpresult not provided …" when a capture with Group Policy evidence holds no gpresult output
/// (`None` when it holds some, or has no Group Policy evidence to speak of).
pub fn gpresult_missing<'a>(
    gpresult: Option<&GpresultSummary>,
    host: Option<&'a crate::report::HostReport>,
) -> Option<&'a str> {
    if gpresult.is_some() {
        return None;
    }
    host?.group_policy.as_ref()?.gpresult_missing()
}

fn gpo_words(g: &GpresultGpo) -> String {
    let mut s = format!("'{}'", clean(&g.name));
    if let Some(guid) = &g.guid {
        s.push_str(&format!(" {}", clean(guid)));
    }
    if let Some(link) = &g.link {
        s.push_str(&format!(" linked to {}", clean(link)));
    }
    if let Some(v) = &g.version {
        s.push_str(&format!(", version {}", clean(v)));
    }
    if g.enforced == Some(true) {
        s.push_str(", enforced");
    }
    if !g.value.is_empty() {
        s.push_str(&format!(" [{}]", clean(&g.value)));
    }
    s
}

/// The gpresult block: files, applied GPOs in order, and per setting the winning GPO and the
/// ones it beat.
pub fn render_gpresult(gp: &GpresultSummary) -> String {
    let mut out = String::from("Group Policy (gpresult):\n");
    for f in &gp.files {
        let mut about = Vec::new();
        if let Some(c) = &f.computer {
            about.push(format!("computer {}", clean(c)));
        }
        if let Some(u) = &f.user {
            about.push(format!("user {}", clean(u)));
        }
        let _ = writeln!(
            out,
            "  file: {} ({}{})",
            clean(&f.file),
            f.form.switch(),
            if about.is_empty() {
                String::new()
            } else {
                format!("; {}", about.join(", "))
            }
        );
    }
    for scope in [Scope::Computer, Scope::User] {
        let applied: Vec<&ListedGpo> = gp
            .gpos
            .iter()
            .filter(|g| g.gpo.applied && g.gpo.scope.unwrap_or(Scope::Computer) == scope)
            .collect();
        let denied: Vec<&ListedGpo> = gp
            .gpos
            .iter()
            .filter(|g| !g.gpo.applied && g.gpo.scope.unwrap_or(Scope::Computer) == scope)
            .collect();
        if !applied.is_empty() {
            let ordered = applied.iter().all(|g| g.gpo.applied_order.is_some());
            let _ = writeln!(
                out,
                "  Applied GPOs ({}), {}:",
                scope.name(),
                if ordered {
                    "first applied first (a later GPO wins a conflict unless an earlier link is enforced)"
                } else {
                    "as the report lists them (this form gives no application order)"
                }
            );
            for (i, g) in applied.iter().enumerate() {
                let r = GpresultGpo {
                    name: g.gpo.name.clone(),
                    guid: g.gpo.guid.clone(),
                    link: g.gpo.link.clone(),
                    version: g
                        .gpo
                        .version_sysvol
                        .or(g.gpo.version_directory)
                        .map(|v| v.to_string()),
                    enforced: g.gpo.enforced,
                    precedence: None,
                    value: String::new(),
                };
                let _ = writeln!(out, "    {}. {}", i + 1, gpo_words(&r));
            }
        }
        if !denied.is_empty() {
            let _ = writeln!(out, "  Not applied ({}):", scope.name());
            for g in denied {
                let _ = writeln!(
                    out,
                    "    '{}'{}",
                    clean(&g.gpo.name),
                    g.gpo
                        .reason
                        .as_deref()
                        .map(|r| format!(": {}", clean(r)))
                        .or_else(|| match (g.gpo.filter_allowed, g.gpo.access_denied) {
                            (_, Some(true)) => Some(": access denied".into()),
                            (Some(false), _) => Some(": filtered out".into()),
                            _ => None,
                        })
                        .unwrap_or_default()
                );
            }
        }
    }
    for som in gp
        .soms
        .iter()
        .filter(|s| s.blocks_inheritance == Some(true))
    {
        let _ = writeln!(out, "  Blocks inheritance: {}", clean(&som.path));
    }
    if gp.settings.is_empty() {
        out.push_str("  No RDS policy setting in the gpresult output.\n");
    } else {
        out.push_str("  RDS settings:\n");
    }
    for c in &gp.settings {
        let policy = c
            .policy
            .as_deref()
            .map(|p| format!(" \"{}\"", clean(p)))
            .unwrap_or_default();
        let winner = match &c.winner {
            Some(w) => format!("set by {}", gpo_words(w)),
            None if !c.unordered.is_empty() => format!(
                "set by {} (this form shows no precedence)",
                c.unordered
                    .iter()
                    .map(gpo_words)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "no GPO named".to_string(),
        };
        let _ = writeln!(
            out,
            "    {} ({}){policy}: {winner} [{}, {}]",
            c.setting,
            c.scope.name(),
            clean(&c.file),
            c.form.switch()
        );
        for b in &c.beaten {
            let _ = writeln!(out, "      beat {}", gpo_words(b));
        }
        if c.matches_registry == Some(false) {
            let _ = writeln!(
                out,
                "      (the computer policy key holds another value: the gpresult output and the hives are not from the same time)"
            );
        }
        if c.inferred {
            let _ = writeln!(
                out,
                "      (this form shows no precedence: the winner is the GPO whose value the computer policy key holds)"
            );
        }
        if c.form == GpresultForm::Html && c.winner.is_some() {
            let _ = writeln!(out, "      (the HTML report names only the winning GPO)");
        }
    }
    if !gp.unmapped.is_empty() {
        let _ = writeln!(
            out,
            "  Terminal Services policies not mapped to a setting: {}",
            gp.unmapped
                .iter()
                .map(|u| clean(u))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    out
}

/// The user-policy block: per setting, each user's value and whether it applies.
pub fn render_user_policy(up: &UserPolicy) -> String {
    let mut out = format!(
        "User policy ({} user hive{}; {}):\n",
        up.hives.len(),
        if up.hives.len() == 1 { "" } else { "s" },
        up.rule
    );
    for h in up.hives.iter().filter(|h| h.unreadable.is_some()) {
        let _ = writeln!(
            out,
            "  {} ({}): unreadable: {}",
            clean(&h.user),
            clean(&h.file),
            clean(h.unreadable.as_deref().unwrap_or_default())
        );
    }
    if up.settings.is_empty() {
        out.push_str("  No user hive sets an RDS user policy.\n");
    }
    for s in &up.settings {
        let _ = writeln!(
            out,
            "  {}{}{}:",
            s.setting,
            s.computer_policy
                .as_deref()
                .map(|c| format!(" (computer policy: {})", clean(c)))
                .unwrap_or_default(),
            if s.users_differ { ", users differ" } else { "" }
        );
        for u in &s.users {
            let _ = writeln!(
                out,
                "    {}: {} ({}) [{}]",
                clean(&u.user),
                clean(&u.display),
                u.status.describe(),
                clean(&u.provenance.file)
            );
            if let Some(g) = &u.gpo {
                let _ = writeln!(out, "      set by {}", clean(g));
            }
        }
        if !s.not_set.is_empty() {
            let _ = writeln!(
                out,
                "    not set: {}",
                s.not_set
                    .iter()
                    .map(|u| clean(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{resolve, MemorySource};
    use crate::evidence::HiveKind;
    use crate::registry::RegData;

    #[test]
    fn evidence_text_cannot_break_the_table() {
        let mut m = MemorySource::new();
        m.set(
            HiveKind::Software,
            r"Policies\Microsoft\Windows NT\Terminal Services",
            "LicenseServers",
            RegData::Sz("ls1\u{1b}[31m\nFAKE ROW".into()),
        );
        let text = render_text(&resolve(&m));
        assert!(!text.contains('\u{1b}'));
        assert!(!text.lines().any(|l| l.starts_with("FAKE ROW")), "{text}");
        assert!(text.contains(r"\u{1b}[31m\nFAKE ROW"), "{text}");
    }

    #[test]
    fn a_setting_with_several_unknown_rows_of_one_source_is_named_once_in_the_notes() {
        // No hive at all: license_servers has several Server Manager rows, all not provided.
        let text = render_text_with(
            &resolve(&MemorySource::new()),
            RenderOptions {
                width: 0,
                ..Default::default()
            },
        );
        let note = text
            .lines()
            .find(|l| l.contains("server_manager unknown"))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(note.matches("license_servers").count(), 1, "{note}");
    }
}
