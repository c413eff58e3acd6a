//! The HTML report (`gpresult /h`, the Group Policy Management report): read as its tables.
//! UNCONFIRMED layout (no Microsoft description of the report's markup was found; see
//! `docs/configuration.md`): the reader relies only on table headers and the heading text before a
//! table, never on classes or scripts:
//!
//! - `Computer Details`/`Computer Configuration` and `User Details`/`User Configuration` headings
//!   set the scope;
//! - under a GPO's name, a table headed `Link Location | Enforced | Link Status` lists where the
//!   applied GPO is linked; one headed `Link Location | Reason Denied` a GPO that did not apply; a
//!   two-column table with `Revision` (`AD (7), SYSVOL (7)`) and `Unique ID` rows its version and
//!   GUID;
//! - settings tables headed `Policy | Setting | … | Winning GPO` (Administrative Templates; a
//!   two-column table nested in the row after a policy row, or right after the table, holds its
//!   options) and `Setting | Value | Winning GPO` (extra registry settings, named by key path);
//!   a GPO heading may carry the GUID (`Name [{GUID}]`).
//!
//! The report shows only the winning GPO of each setting. Lenient about unclosed tags, linear,
//! table nesting bounded by [`super::MAX_DEPTH`]; `<script>` and `<style>` content is skipped.

use super::xml::unescape;
use super::{normalise_guid, Entry, Gpo, Issue, Item, Report, Scope};

/// Table cells read per file at most (a real report has thousands); past it the rest is not
/// read, with an issue at the offset.
const MAX_CELLS: usize = 1_000_000;

/// Text kept per cell at most.
const MAX_CELL_TEXT: usize = 1 << 16;

#[derive(Default)]
struct Table {
    /// The heading text before the table.
    context: String,
    rows: Vec<Vec<(String, bool)>>,
    row: Option<Vec<(String, bool)>>,
    cell: Option<(String, bool)>,
    offset: usize,
    /// Two-column tables nested in a row (a policy's options in a `colspan` row right after
    /// it): (number of rows completed before it, the name/value pairs).
    nested: Vec<(usize, Vec<(String, String)>)>,
}

impl Table {
    fn close_cell(&mut self) {
        if let Some((text, th)) = self.cell.take() {
            let text = collapse(&text);
            self.row.get_or_insert_with(Vec::new).push((text, th));
        }
    }

    fn close_row(&mut self) {
        self.close_cell();
        if let Some(row) = self.row.take() {
            if !row.is_empty() {
                self.rows.push(row);
            }
        }
    }
}

/// The byte position of `needle` (ASCII) in `hay`, ignoring ASCII case; linear in the distance.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct State<'r> {
    report: &'r mut Report,
    scope: Option<Scope>,
    last_text: String,
    /// Index of the last policy entry, while no heading text came after it (its options table
    /// follows directly).
    last_policy: Option<usize>,
    full: bool,
}

fn column(header: &[(String, bool)], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|(t, _)| t.eq_ignore_ascii_case(name))
}

fn yes_no(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "enabled" | "true" => Some(true),
        "no" | "disabled" | "false" => Some(false),
        _ => None,
    }
}

/// `AD (7), SYSVOL (7)` → (7, 7).
fn revisions(s: &str) -> (Option<u32>, Option<u32>) {
    let grab = |label: &str| {
        let lower = s.to_ascii_lowercase();
        let i = lower.find(label)? + label.len();
        let rest = s.get(i..)?.trim_start().strip_prefix('(')?;
        rest.split(')').next()?.trim().parse().ok()
    };
    (grab("ad"), grab("sysvol"))
}

impl State<'_> {
    fn room(&mut self, offset: usize) -> bool {
        if self.report.total() < super::MAX_ENTRIES {
            return true;
        }
        if !self.full {
            self.full = true;
            self.report.issues.push(Issue {
                offset: offset as u64,
                message: format!(
                    "more than {} entries: the rest of the report is not read",
                    super::MAX_ENTRIES
                ),
            });
        }
        false
    }

    fn text(&mut self, t: &str) {
        let t = collapse(t);
        if t.is_empty() {
            return;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("computer details") || lower.starts_with("computer configuration") {
            self.scope = Some(Scope::Computer);
        } else if lower.starts_with("user details") || lower.starts_with("user configuration") {
            self.scope = Some(Scope::User);
        }
        self.last_text = t;
        self.last_policy = None;
    }

    fn table(&mut self, t: Table) {
        let Some(header) = t.rows.first() else {
            return;
        };
        // A GPO heading may carry its GUID: `Name [{GUID}]`.
        let (name_of_gpo, heading_guid) = match t
            .context
            .strip_suffix("}]")
            .and_then(|s| s.rsplit_once(" [{"))
        {
            Some((name, guid)) => (
                name.to_string(),
                Some(normalise_guid(&format!("{{{guid}}}"))),
            ),
            None => (t.context.clone(), None),
        };
        if let (Some(link), true) = (column(header, "Link Location"), header.len() > 1) {
            let enforced = column(header, "Enforced");
            let status = column(header, "Link Status");
            let denied = column(header, "Reason Denied");
            for row in &t.rows[1..] {
                if !self.room(t.offset) {
                    return;
                }
                let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|(c, _)| c.clone());
                self.report.gpos.push(Gpo {
                    scope: self.scope,
                    name: name_of_gpo.clone(),
                    link: cell(Some(link)).filter(|c| !c.is_empty()),
                    enforced: cell(enforced).and_then(|c| yes_no(&c)),
                    link_enabled: cell(status).and_then(|c| yes_no(&c)),
                    applied: denied.is_none(),
                    reason: cell(denied),
                    guid: heading_guid.clone(),
                    ..Gpo::default()
                });
            }
            return;
        }
        if let Some(win) = column(header, "Winning GPO") {
            let state_col = column(header, "Setting");
            let value_col = column(header, "Value");
            let mut nested = t.nested.iter().peekable();
            for (i, row) in t.rows.iter().enumerate().skip(1) {
                if !self.room(t.offset) {
                    return;
                }
                // Options nested after this row (before the next completed row).
                let mut options = Vec::new();
                let next_is_options_row = t
                    .rows
                    .get(i + 1)
                    .is_none_or(|r| r.len() == 1 || r[0].0.is_empty());
                while let Some((at, opts)) = nested.peek() {
                    if *at < i {
                        nested.next();
                    } else if *at == i || (*at == i + 1 && next_is_options_row) {
                        options.extend(opts.iter().cloned());
                        nested.next();
                    } else {
                        break;
                    }
                }
                let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|(c, _)| c.clone());
                let Some(name) = cell(Some(0)).filter(|n| !n.is_empty()) else {
                    continue;
                };
                let gpo = cell(Some(win)).filter(|g| !g.is_empty());
                let registry = name.contains('\\');
                let item = if registry {
                    let (key, value) = match name.rsplit_once('\\') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (name.clone(), None),
                    };
                    Item::Registry {
                        key,
                        value,
                        data: cell(value_col).or_else(|| cell(state_col)),
                        state: None,
                    }
                } else {
                    Item::Policy {
                        name,
                        state: cell(state_col).unwrap_or_default(),
                        category: (!t.context.is_empty()).then(|| t.context.clone()),
                        options,
                    }
                };
                self.report.entries.push(Entry {
                    scope: self.scope,
                    gpo_guid: None,
                    gpo_name: gpo,
                    precedence: None,
                    item,
                    offset: t.offset as u64,
                });
                if !registry {
                    self.last_policy = Some(self.report.entries.len() - 1);
                }
            }
            return;
        }
        // A GPO's details: `Revision` and `Unique ID` rows.
        if t.rows.iter().all(|r| r.len() == 2)
            && t.rows.iter().any(|r| {
                r[0].0.eq_ignore_ascii_case("Unique ID") || r[0].0.eq_ignore_ascii_case("Revision")
            })
        {
            if let Some(g) = self
                .report
                .gpos
                .iter_mut()
                .rev()
                .take(16)
                .find(|g| g.name == name_of_gpo && g.scope == self.scope)
            {
                for r in &t.rows {
                    if r[0].0.eq_ignore_ascii_case("Unique ID") {
                        g.guid = Some(normalise_guid(&r[1].0));
                    } else if r[0].0.eq_ignore_ascii_case("Revision") {
                        let (ad, sysvol) = revisions(&r[1].0);
                        g.version_directory = ad;
                        g.version_sysvol = sysvol;
                    }
                }
            }
            return;
        }
        // The options of the policy row just before.
        if let Some(i) = self.last_policy {
            if t.rows.iter().all(|r| r.len() == 2) {
                if let Some(Item::Policy { options, .. }) =
                    self.report.entries.get_mut(i).map(|e| &mut e.item)
                {
                    for r in &t.rows {
                        options.push((r[0].0.trim_end_matches(':').to_string(), r[1].0.clone()));
                    }
                }
            }
        }
    }
}

/// Read the HTML report into `report`. `Err` when nothing of a gpresult report is in it.
pub(super) fn read(s: &str, report: &mut Report) -> Result<(), (usize, String)> {
    let mut state = State {
        report,
        scope: None,
        last_text: String::new(),
        last_policy: None,
        full: false,
    };
    let mut tables: Vec<Table> = Vec::new();
    let mut pos = 0usize;
    let mut stop: Option<(usize, String)> = None;
    // Every cell read is kept until its table closes: one budget per file bounds them.
    let mut cells = 0usize;
    while pos < s.len() {
        let rest = &s[pos..];
        if !rest.starts_with('<') {
            let len = rest.find('<').unwrap_or(rest.len());
            let text = unescape(&rest[..len]);
            match tables.last_mut() {
                Some(t) => {
                    if let Some((c, _)) = t.cell.as_mut() {
                        if c.len() < MAX_CELL_TEXT {
                            c.push_str(&text);
                        }
                    }
                }
                None => state.text(&text),
            }
            pos += len;
            continue;
        }
        if rest.starts_with("<!--") {
            pos += rest.find("-->").map_or(rest.len(), |i| i + 3);
            continue;
        }
        let (tag, end) = match rest.find('>') {
            Some(i) => (&rest[1..i], i + 1),
            None => (&rest[1..], rest.len()),
        };
        pos += end;
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("script" | "style", false) => {
                let close = format!("</{name}");
                pos += find_ci(&s[pos..], &close).unwrap_or(s.len() - pos);
            }
            ("table", false) => {
                if tables.len() >= super::MAX_DEPTH {
                    stop = Some((
                        pos,
                        format!("tables nested deeper than {}", super::MAX_DEPTH),
                    ));
                    break;
                }
                tables.push(Table {
                    context: state.last_text.clone(),
                    offset: pos - end,
                    ..Table::default()
                });
            }
            ("table", true) => {
                if let Some(mut t) = tables.pop() {
                    t.close_row();
                    match tables.last_mut() {
                        // A two-column table inside a table: the options of the row before.
                        Some(parent)
                            if !t.rows.is_empty() && t.rows.iter().all(|r| r.len() == 2) =>
                        {
                            let at = parent.rows.len();
                            if parent.nested.len() < super::MAX_ENTRIES {
                                parent.nested.push((
                                    at,
                                    t.rows
                                        .into_iter()
                                        .map(|r| {
                                            (
                                                r[0].0.trim_end_matches(':').to_string(),
                                                r[1].0.clone(),
                                            )
                                        })
                                        .collect(),
                                ));
                            }
                        }
                        _ => state.table(t),
                    }
                }
            }
            ("tr", false) => {
                if let Some(t) = tables.last_mut() {
                    t.close_row();
                    t.row = Some(Vec::new());
                }
            }
            ("tr", true) => {
                if let Some(t) = tables.last_mut() {
                    t.close_row();
                }
            }
            ("td" | "th", false) => {
                if let Some(t) = tables.last_mut() {
                    cells += 1;
                    if cells > MAX_CELLS {
                        stop = Some((pos - end, format!("more than {MAX_CELLS} table cells")));
                        break;
                    }
                    t.close_cell();
                    t.cell = Some((String::new(), name == "th"));
                }
            }
            ("td" | "th", true) => {
                if let Some(t) = tables.last_mut() {
                    t.close_cell();
                }
            }
            ("br" | "p" | "div", _) => {
                if let Some(t) = tables.last_mut() {
                    if let Some((c, _)) = t.cell.as_mut() {
                        if c.len() < MAX_CELL_TEXT {
                            c.push(' ');
                        }
                    }
                }
            }
            _ => {}
        }
    }
    while let Some(mut t) = tables.pop() {
        t.close_row();
        state.table(t);
    }
    let found = !report.gpos.is_empty() || !report.entries.is_empty();
    if let Some((pos, message)) = stop {
        report.issues.push(Issue {
            offset: pos as u64,
            message: format!("{message}; what came before it was read"),
        });
    }
    if !found {
        return Err((0, "no GPO list and no winning-GPO table: not a gpresult /h report (or one in another language)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::gpresult::GpresultForm;

    const SAMPLE: &str = r#"<!DOCTYPE html><html><head><script>var x = "<table>";</script><style>td{}</style></head><body>
<div>Computer Details</div>
<div>Applied GPOs</div>
<div>RDS-Servers-Baseline</div>
<table><tr><th>Link Location</th><th>Enforced</th><th>Link Status</th></tr><tr><td>contoso.com/RDS</td><td>Yes</td><td>Enabled</td></tr></table>
<table><tr><td>Revision</td><td>AD (7), SYSVOL (7)</td></tr><tr><td>Unique ID</td><td>{aaaa-bb}</td></tr></table>
<div>Denied GPOs</div>
<div>Workstation Settings</div>
<table><tr><th>Link Location</th><th>Reason Denied</th></tr><tr><td>contoso.com</td><td>Security</td></tr></table>
<div>Windows Components/Remote Desktop Services/Remote Desktop Session Host/Licensing</div>
<table><tr><th>Policy</th><th>Setting</th><th>Comment</th><th>Winning GPO</th></tr>
<tr><td>Set the Remote Desktop licensing mode</td><td>Enabled</td><td></td><td>RDS-Servers-Baseline</td></tr></table>
<table><tr><td>Specify the licensing mode for the RD Session Host server:</td><td>Per Device</td></tr></table>
<div>Extra Registry Settings</div>
<table><tr><th>Setting</th><th>Value</th><th>Winning GPO</th></tr><tr><td>Software\Policies\Microsoft\Windows NT\Terminal Services\MaxIdleTime</td><td>900000</td><td>Default Domain Policy</td></tr></table>
</body></html>"#;

    #[test]
    fn reads_gpo_and_settings_tables() {
        let mut r = Report::new("h.html", GpresultForm::Html);
        read(SAMPLE, &mut r).expect("reads");
        assert_eq!(r.gpos.len(), 2, "{:?}", r.gpos);
        let g = &r.gpos[0];
        assert_eq!(
            (g.name.as_str(), g.link.as_deref(), g.enforced),
            ("RDS-Servers-Baseline", Some("contoso.com/RDS"), Some(true))
        );
        assert_eq!(
            (g.guid.as_deref(), g.version_sysvol, g.applied),
            (Some("{AAAA-BB}"), Some(7), true)
        );
        assert_eq!(
            (r.gpos[1].applied, r.gpos[1].reason.as_deref()),
            (false, Some("Security"))
        );
        assert_eq!(r.entries.len(), 2);
        match &r.entries[0].item {
            Item::Policy {
                name,
                state,
                options,
                ..
            } => {
                assert_eq!(
                    (name.as_str(), state.as_str()),
                    ("Set the Remote Desktop licensing mode", "Enabled")
                );
                assert_eq!(options[0].1, "Per Device");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            r.entries[0].gpo_name.as_deref(),
            Some("RDS-Servers-Baseline")
        );
        assert_eq!(r.entries[0].scope, Some(Scope::Computer));
        match &r.entries[1].item {
            Item::Registry { value, data, .. } => {
                assert_eq!(
                    (value.as_deref(), data.as_deref()),
                    (Some("MaxIdleTime"), Some("900000"))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(crate::capture::sniff::gpresult_form(SAMPLE.as_bytes(), "x").is_some());
    }

    #[test]
    fn options_nested_in_the_next_row_belong_to_the_policy() {
        let html = r#"<html><body><div>Computer Configuration (Enabled)</div>
<table><tr><th>Policy</th><th>Setting</th><th>Winning GPO</th></tr>
<tr><td>Set the Remote Desktop licensing mode</td><td>Enabled</td><td>A</td></tr>
<tr><td colspan="3"><table><tr><td>Specify the licensing mode:</td><td>Per User</td></tr></table></td></tr>
<tr><td>Set time limit for disconnected sessions</td><td>Enabled</td><td>B</td></tr>
</table></body></html>"#;
        let mut r = Report::new("h.html", GpresultForm::Html);
        read(html, &mut r).expect("reads");
        assert_eq!(r.entries.len(), 2, "{:?}", r.entries);
        match &r.entries[0].item {
            Item::Policy { options, .. } => {
                assert_eq!(
                    options,
                    &[(
                        "Specify the licensing mode".to_string(),
                        "Per User".to_string()
                    )]
                )
            }
            other => panic!("{other:?}"),
        }
        match &r.entries[1].item {
            Item::Policy { options, .. } => assert!(options.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.entries[1].gpo_name.as_deref(), Some("B"));

        let html = "<html><div>Applied GPOs</div><div>Baseline [{ab-cd}]</div><table><tr><th>Link Location</th><th>Enforced</th></tr><tr><td>x.com</td><td>No</td></tr></table></html>";
        let mut r = Report::new("h.html", GpresultForm::Html);
        read(html, &mut r).expect("reads");
        assert_eq!(
            (r.gpos[0].name.as_str(), r.gpos[0].guid.as_deref()),
            ("Baseline", Some("{AB-CD}"))
        );
    }

    #[test]
    fn broken_markup_never_panics() {
        for s in [
            "<",
            "<table",
            "<table><tr><td>a",
            "<t\u{e9}ble>",
            "&",
            "<script>",
            "<!--",
        ] {
            let mut r = Report::new("h.html", GpresultForm::Html);
            let _ = read(s, &mut r);
        }
        let deep = "<table>".repeat(1000);
        let mut r = Report::new("h.html", GpresultForm::Html);
        let _ = read(&deep, &mut r);
        assert_eq!(revisions("AD (3), SYSVOL (4)"), (Some(3), Some(4)));
    }

    #[test]
    fn cells_past_the_budget_stop_the_read_with_an_issue() {
        // The sample, then one table row of more cells than a file may hold.
        let flood = format!(
            "{}<table><tr>{}</tr></table>",
            SAMPLE.trim_end_matches("</body></html>"),
            "<td>".repeat(MAX_CELLS + 10)
        );
        let mut r = Report::new("h.html", GpresultForm::Html);
        read(&flood, &mut r).expect("what came before is read");
        assert_eq!(r.gpos.len(), 2);
        let issue = r
            .issues
            .iter()
            .find(|i| i.message.contains("table cells"))
            .expect("an issue");
        assert!(issue.offset as usize > SAMPLE.len() - 20, "{issue:?}");
    }
}
