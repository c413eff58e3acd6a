//! Rule documentation: one Markdown page per rule with fixed headings, embedded in the binary.
//! `rdsdiag explain`, `docs/rules/*.md` and the remedy/links of each finding all come from it.

/// The headings every rule page has, in this order.
pub const HEADINGS: [&str; 6] = [
    "What it checks",
    "Why it matters",
    "Evidence used",
    "Example",
    "Remedy",
    "References",
];

/// A parsed rule page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    /// The id in the page's title line (`# RDS-LIC-NO-SERVER: …`).
    pub id: String,
    pub title: String,
    /// `(heading, body)` in page order.
    pub sections: Vec<(String, String)>,
}

impl RuleDoc {
    /// Parse a page. Errors say what is wrong, for the meta-test.
    pub fn parse(text: &str) -> Result<RuleDoc, String> {
        let mut lines = text.lines();
        let first = lines.next().ok_or("empty page")?;
        let title_line = first
            .strip_prefix("# ")
            .ok_or("the first line must be `# <ID>: <title>`")?;
        let (id, title) = title_line
            .split_once(": ")
            .ok_or("the first line must be `# <ID>: <title>`")?;
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in lines {
            if let Some(h) = line.strip_prefix("## ") {
                sections.push((h.trim().to_string(), String::new()));
            } else if let Some((_, body)) = sections.last_mut() {
                body.push_str(line);
                body.push('\n');
            } else if !line.trim().is_empty() {
                return Err(format!("text before the first section: {line:?}"));
            }
        }
        for (_, body) in &mut sections {
            *body = body.trim().to_string();
        }
        let names: Vec<&str> = sections.iter().map(|(h, _)| h.as_str()).collect();
        if names != HEADINGS {
            return Err(format!("sections must be {HEADINGS:?}, found {names:?}"));
        }
        if let Some((h, _)) = sections.iter().find(|(_, b)| b.is_empty()) {
            return Err(format!("section {h:?} is empty"));
        }
        Ok(RuleDoc {
            id: id.trim().to_string(),
            title: title.trim().to_string(),
            sections,
        })
    }

    pub fn section(&self, heading: &str) -> &str {
        self.sections
            .iter()
            .find(|(h, _)| h == heading)
            .map(|(_, b)| b.as_str())
            .unwrap_or("")
    }

    /// Remedy steps: the items of the Remedy section's numbered or bulleted list (continuation
    /// lines joined), or the whole section as one step.
    pub fn remedy_steps(&self) -> Vec<String> {
        list_items(self.section("Remedy"))
    }

    /// Links: every `http(s)://` URL in the References section.
    pub fn links(&self) -> Vec<String> {
        self.section("References")
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '(' || c == ')')
            .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
            .map(|w| w.trim_end_matches(['.', ',']).to_string())
            .collect()
    }
}

fn list_items(body: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let marker = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| {
                let digits = t.chars().take_while(char::is_ascii_digit).count();
                (digits > 0)
                    .then(|| t[digits..].strip_prefix(". "))
                    .flatten()
            });
        match (marker, items.last_mut()) {
            (Some(item), _) => items.push(item.to_string()),
            (None, Some(last)) if !t.is_empty() => {
                last.push(' ');
                last.push_str(t);
            }
            _ => {}
        }
    }
    if items.is_empty() && !body.trim().is_empty() {
        items.push(body.trim().replace('\n', " "));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# RDS-X-Y: A title\n\n## What it checks\nA.\n\n## Why it matters\nB.\n\n## Evidence used\nC.\n\n## Example\nD.\n\n## Remedy\n1. First step\n   continued.\n2. Second.\n\n## References\n- [doc](https://learn.microsoft.com/x).\n- <https://example.org/y>\n";

    #[test]
    fn parses_a_page() {
        let d = RuleDoc::parse(PAGE).expect("parses");
        assert_eq!(d.id, "RDS-X-Y");
        assert_eq!(d.title, "A title");
        assert_eq!(d.remedy_steps(), vec!["First step continued.", "Second."]);
        assert_eq!(
            d.links(),
            vec!["https://learn.microsoft.com/x", "https://example.org/y"]
        );
    }

    #[test]
    fn rejects_missing_or_empty_sections() {
        let missing = PAGE.replace("## Example\nD.\n\n", "");
        assert!(RuleDoc::parse(&missing)
            .unwrap_err()
            .contains("sections must be"));
        let empty = PAGE.replace("D.", "");
        assert!(RuleDoc::parse(&empty).unwrap_err().contains("empty"));
        assert!(RuleDoc::parse("no title").is_err());
    }
}
