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

/// A rule page (Markdown) for a terminal: paragraphs and list items wrapped to `width` with
/// hanging indents, never inside a word, so rule ids, URLs and paths stay whole (0: as written).
pub fn explain_text(doc: &str, width: usize) -> String {
    let mut out = String::new();
    for line in doc.lines() {
        if width == 0 || line.trim().is_empty() || line.starts_with('#') || line.starts_with('|') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let marker_len = list_marker(line);
        let (first, rest) = line.split_at(marker_len);
        let pad = " ".repeat(marker_len);
        out.push_str(&super::width::fill_with(rest, width, first, &pad, false));
    }
    out
}

/// The length of a list marker (`- `, `12. `) at the start of `line`, with its indent.
fn list_marker(line: &str) -> usize {
    let indent = line.len() - line.trim_start().len();
    let t = &line[indent..];
    if t.starts_with("- ") || t.starts_with("* ") {
        return indent + 2;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && t[digits..].starts_with(". ") {
        return indent + digits + 2;
    }
    indent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_wraps_without_splitting_ids() {
        let doc = "# RDS-LIC-NO-SERVER: title\n\n1. see RDS-LIC-SERVER-UNREACHABLE and RDS-LIC-POLICY-OVERRIDES for the rest of it\n";
        let text = explain_text(doc, 30);
        assert!(text.contains("RDS-LIC-SERVER-UNREACHABLE"), "{text}");
        assert!(text.contains("RDS-LIC-POLICY-OVERRIDES"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("   ")), "{text}");
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= 30 || !l.contains(' ')),
            "{text}"
        );
    }
}
