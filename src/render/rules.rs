//! `rules`: the rule list as text, Markdown or JSON.

use crate::report::RuleRow;

/// One line per rule: id, severity, title.
pub fn text(rows: &[RuleRow]) -> String {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("{:<width$}  {:<7}  {}\n", r.id, r.severity, r.title))
        .collect()
}

/// A Markdown table.
pub fn markdown(rows: &[RuleRow]) -> String {
    let mut s = String::from("| id | severity | title |\n|---|---|---|\n");
    for r in rows {
        s.push_str(&format!("| {} | {} | {} |\n", r.id, r.severity, r.title));
    }
    s
}
