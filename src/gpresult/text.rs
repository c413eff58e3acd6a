//! The text report (`gpresult /z`, also `/v`): read line by line.
//!
//! - `RSOP data for <user> on <computer> : Logging Mode`;
//! - `COMPUTER SETTINGS` / `USER SETTINGS` start each scope;
//! - `Applied Group Policy Objects` and a dashed line, then one GPO name per indented line;
//! - `The following GPOs were not applied because they were filtered out`, then GPO names, each
//!   followed by `Filtering:  <reason>`;
//! - setting entries: `GPO: <name>`, then `KeyName:` (registry settings) or `Folder Id:`
//!   (Administrative Templates) with the key path and value name, `Value:` with the data as
//!   comma-separated decimal bytes (a DWORD `4, 0, 0, 0`; a string in UTF-16LE bytes), `State:`.
//!
//! The text form does not give precedence: when several GPOs set one value, all are listed and
//! the winner is left to the XML form (or the machine's own policy key). The headings are English;
//! a report in another language yields no entries and says so. Linear, bounded by
//! [`super::MAX_ENTRIES`].

use super::{Entry, Gpo, Issue, Item, Report, Scope};

enum Section {
    None,
    Applied(usize),
    Filtered(usize),
}

struct Pending {
    gpo: String,
    offset: usize,
    key: Option<String>,
    data: Option<String>,
    state: Option<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `4, 0, 0, 0` → `4`; UTF-16LE string bytes → the string; other bytes → hex; not bytes → as is.
pub(super) fn decode_value(raw: &str) -> String {
    let raw = raw.trim();
    let bytes: Option<Vec<u8>> = raw
        .split(',')
        .map(|p| p.trim().parse::<u8>().ok())
        .collect();
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return raw.to_string();
    };
    let n = bytes.len();
    if n == 4 {
        return u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).to_string();
    }
    // A REG_SZ: UTF-16LE units up to a terminating NUL, all printable.
    if n >= 4 && n % 2 == 0 && bytes[n - 2..] == [0, 0] {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let text: String = char::decode_utf16(units.iter().copied())
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if !text.is_empty() && !text.chars().any(char::is_control) {
            return text;
        }
    }
    match n {
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes);
            u64::from_le_bytes(b).to_string()
        }
        _ => bytes.iter().map(|b| format!("{b:02X}")).collect(),
    }
}

fn field<'a>(trimmed: &'a str, name: &str) -> Option<&'a str> {
    let rest = trimmed.get(..name.len())?;
    rest.eq_ignore_ascii_case(name)
        .then(|| trimmed[name.len()..].trim())
}

fn flush(pending: &mut Option<Pending>, scope: Option<Scope>, report: &mut Report) {
    let Some(p) = pending.take() else {
        return;
    };
    let Some(path) = p.key else {
        return;
    };
    if report.total() >= super::MAX_ENTRIES {
        return;
    }
    let path = path.trim_matches('\\');
    let (key, value) = match path.rsplit_once('\\') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (path.to_string(), None),
    };
    report.entries.push(Entry {
        scope,
        gpo_guid: None,
        gpo_name: Some(p.gpo),
        precedence: None,
        item: Item::Registry {
            key,
            value,
            data: p.data.map(|d| decode_value(&d)),
            state: p.state,
        },
        offset: p.offset as u64,
    });
}

pub(super) fn read(s: &str, report: &mut Report) {
    let mut scope: Option<Scope> = None;
    let mut section = Section::None;
    let mut pending: Option<Pending> = None;
    let mut pos = 0usize;
    let mut full = false;
    for raw in s.split_inclusive('\n') {
        let offset = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\r', '\n']);
        let trimmed = line.trim();
        if !full && report.total() >= super::MAX_ENTRIES {
            full = true;
            report.issues.push(Issue {
                offset: offset as u64,
                message: format!(
                    "more than {} entries: the rest of the report is not read",
                    super::MAX_ENTRIES
                ),
            });
        }
        if full {
            break;
        }
        // List sections first: their lines are GPO names, not fields.
        match section {
            Section::Applied(h) => {
                if trimmed.is_empty() {
                    section = Section::None;
                    continue;
                }
                if trimmed.chars().all(|c| c == '-') {
                    continue;
                }
                if indent(line) > h {
                    {
                        report.gpos.push(Gpo {
                            scope,
                            name: trimmed.to_string(),
                            applied: true,
                            ..Gpo::default()
                        });
                    }
                    continue;
                }
                section = Section::None;
            }
            Section::Filtered(h) => {
                if trimmed.is_empty() || trimmed.chars().all(|c| c == '-') {
                    continue;
                }
                if indent(line) > h {
                    if let Some(reason) = field(trimmed, "Filtering:") {
                        if let Some(g) = report.gpos.last_mut() {
                            g.reason = Some(reason.to_string());
                        }
                    } else {
                        report.gpos.push(Gpo {
                            scope,
                            name: trimmed.to_string(),
                            applied: false,
                            ..Gpo::default()
                        });
                    }
                    continue;
                }
                section = Section::None;
            }
            Section::None => {}
        }
        if trimmed.is_empty() {
            flush(&mut pending, scope, report);
            continue;
        }
        if trimmed.eq_ignore_ascii_case("COMPUTER SETTINGS") {
            flush(&mut pending, scope, report);
            scope = Some(Scope::Computer);
        } else if trimmed.eq_ignore_ascii_case("USER SETTINGS") {
            flush(&mut pending, scope, report);
            scope = Some(Scope::User);
        } else if let Some(rest) = field(trimmed, "RSOP data for ") {
            if let Some((user, rest)) = rest.split_once(" on ") {
                report.user.get_or_insert_with(|| user.trim().to_string());
                let computer = rest.split(" : ").next().unwrap_or(rest).trim();
                report.computer.get_or_insert_with(|| computer.to_string());
            }
        } else if trimmed.eq_ignore_ascii_case("Applied Group Policy Objects") {
            section = Section::Applied(indent(line));
        } else if trimmed
            .to_ascii_lowercase()
            .starts_with("the following gpos were not applied")
        {
            section = Section::Filtered(indent(line));
        } else if let Some(name) = field(trimmed, "GPO:") {
            flush(&mut pending, scope, report);
            pending = Some(Pending {
                gpo: name.to_string(),
                offset,
                key: None,
                data: None,
                state: None,
            });
        } else if let Some(p) = pending.as_mut() {
            if let Some(k) = field(trimmed, "KeyName:").or_else(|| field(trimmed, "Folder Id:")) {
                p.key = Some(k.to_string());
            } else if let Some(v) = field(trimmed, "Value:") {
                p.data = Some(v.to_string());
            } else if let Some(v) = field(trimmed, "State:") {
                p.state = Some(v.to_string());
            }
        }
    }
    flush(&mut pending, scope, report);
    if report.gpos.is_empty() && report.entries.is_empty() {
        report.issues.push(Issue {
            offset: 0,
            message: "no applied GPO list and no setting found (a report in another language is not read)".into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::gpresult::GpresultForm;

    const SAMPLE: &str = "\r
Microsoft (R) Windows (R) Operating System Group Policy Result tool v2.0\r
RSOP data for CONTOSO\\admin on RDSH01 : Logging Mode\r
------------------------------------------------------\r
\r
COMPUTER SETTINGS\r
------------------\r
    Applied Group Policy Objects\r
    -----------------------------\r
        RDS-Servers-Baseline\r
        Default Domain Policy\r
\r
    The following GPOs were not applied because they were filtered out\r
    -------------------------------------------------------------------\r
        Workstation Settings\r
            Filtering:  Denied (Security)\r
\r
        Local Group Policy\r
            Filtering:  Not Applied (Empty)\r
\r
    Resultant Set Of Policies for Computer\r
    ---------------------------------------\r
        Administrative Templates\r
        ------------------------\r
            GPO: RDS-Servers-Baseline\r
                Folder Id: Software\\Policies\\Microsoft\\Windows NT\\Terminal Services\\LicensingMode\r
                Value:       4, 0, 0, 0\r
                State:       Enabled\r
\r
            GPO: Default Domain Policy\r
                KeyName:     Software\\Policies\\Microsoft\\Windows NT\\Terminal Services\\LicenseServers\r
                Value:       108, 0, 115, 0, 49, 0, 0, 0\r
                State:       Enabled\r
\r
USER SETTINGS\r
--------------\r
";

    #[test]
    fn reads_lists_and_entries() {
        let mut r = Report::new("t.txt", GpresultForm::Text);
        read(SAMPLE, &mut r);
        assert_eq!(r.computer.as_deref(), Some("RDSH01"));
        assert_eq!(r.user.as_deref(), Some(r"CONTOSO\admin"));
        let names: Vec<(&str, bool)> = r
            .gpos
            .iter()
            .map(|g| (g.name.as_str(), g.applied))
            .collect();
        assert_eq!(
            names,
            [
                ("RDS-Servers-Baseline", true),
                ("Default Domain Policy", true),
                ("Workstation Settings", false),
                ("Local Group Policy", false)
            ]
        );
        assert_eq!(r.gpos[2].reason.as_deref(), Some("Denied (Security)"));
        assert_eq!(r.entries.len(), 2);
        match &r.entries[0].item {
            Item::Registry {
                key,
                value,
                data,
                state,
            } => {
                assert!(key.ends_with("Terminal Services"));
                assert_eq!(value.as_deref(), Some("LicensingMode"));
                assert_eq!(data.as_deref(), Some("4"));
                assert_eq!(state.as_deref(), Some("Enabled"));
            }
            other => panic!("{other:?}"),
        }
        match &r.entries[1].item {
            Item::Registry { data, .. } => assert_eq!(data.as_deref(), Some("ls1")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            r.entries[0].gpo_name.as_deref(),
            Some("RDS-Servers-Baseline")
        );
        assert_eq!(r.entries[0].scope, Some(Scope::Computer));
        assert!(r.issues.is_empty());
        assert!(crate::capture::sniff::gpresult_form(SAMPLE.as_bytes(), "x").is_some());
    }

    #[test]
    fn other_text_yields_an_issue_not_a_panic() {
        let mut r = Report::new("t.txt", GpresultForm::Text);
        read("GPO:\nValue: \u{0}\nKeyName:\n", &mut r);
        assert!(r.entries.is_empty() || r.entries.len() == 1);
        assert_eq!(decode_value("1, 2"), "0102");
        assert_eq!(decode_value("x"), "x");
        assert_eq!(decode_value("300, 0, 0, 0"), "300, 0, 0, 0");
    }
}
