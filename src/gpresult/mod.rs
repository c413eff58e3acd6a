//! Read gpresult output as collectors keep it: the RSoP XML report (`gpresult /x`), the text
//! report (`gpresult /z` or `/v`) and the HTML report (`gpresult /h`). Each parser is linear in the
//! file, bounded (nesting depth, entry counts), never panics, and reports what it could not read
//! with the file and offset. Readers never interpret policy: they say which GPOs applied and which
//! GPO set each policy setting, with its precedence where the form shows it; `config` ties them to
//! the RDS settings. See `docs/configuration.md` ("gpresult").

mod decode;
mod html;
mod text;
mod xml;

use serde::Serialize;

use crate::capture::Input;
use crate::evidence::{InputStatus, Problem, ProblemCode, Reading};

pub use crate::catalog::gpresult::GpresultForm;
pub use decode::decode_text;

/// Most entries (GPOs, SOMs and settings together) read from one file: a report of a real
/// machine holds a few thousand; more is garbage or hostile, and the rest is reported unread.
pub const MAX_ENTRIES: usize = 200_000;

/// Deepest element nesting the XML and HTML readers follow.
pub const MAX_DEPTH: usize = 256;

/// Computer or user configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Computer,
    User,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Computer => "computer",
            Scope::User => "user",
        }
    }
}

/// One GPO as the report lists it (applied or not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Gpo {
    pub scope: Option<Scope>,
    /// Display name.
    pub name: String,
    /// `{GUID}` in upper case, or `LocalGPO`, where the form shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Where the GPO is linked (SOM path: `contoso.com/RDS`, `Local`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub som_order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_order: Option<u32>,
    /// Order of application (1 first; 0: not applied), as the XML report gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_enabled: Option<bool>,
    /// The link is enforced (`NoOverride`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Version in Active Directory and in SYSVOL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_directory: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_sysvol: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_valid: Option<bool>,
    /// Security and WMI filtering let it apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_allowed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_denied: Option<bool>,
    /// Whether the GPO applied: the report says so, or the XML's `AppliedOrder` > 0.
    pub applied: bool,
    /// Why it did not apply, as the report words it (text and HTML forms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One scope of management the policy engine searched (XML form: `SearchedSOM`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Som {
    pub scope: Option<Scope>,
    pub path: String,
    /// `Local`, `Site`, `Domain`, `OU`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks_inheritance: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a policy entry sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// An Administrative Templates policy, by its display name.
    Policy {
        name: String,
        /// `Enabled`, `Disabled`.
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        /// The policy's options (name, value as shown).
        options: Vec<(String, String)>,
    },
    /// A registry value the report names by key (extra registry settings; the text form).
    Registry {
        /// Key path relative to the hive root (`Software\Policies\…`).
        key: String,
        /// Value name (`None`: the key itself).
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        /// The data as the report shows it (a DWORD as its decimal number).
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
}

/// One setting as one GPO set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub scope: Option<Scope>,
    /// The GPO's `{GUID}` (XML form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpo_guid: Option<String>,
    /// The GPO's name (text and HTML forms; the XML form names it through the GPO list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpo_name: Option<String>,
    /// 1: this GPO's value won; 2, 3…: the GPOs it beat, in order (XML form only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedence: Option<u32>,
    pub item: Item,
    /// Byte offset of the entry in the file.
    pub offset: u64,
}

/// A problem met in one gpresult file (reported on the input, with its offset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub offset: u64,
    pub message: String,
}

/// What one gpresult file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Input path relative to the capture root.
    pub file: String,
    pub form: GpresultForm,
    /// The computer and the user the report is for, as it names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub gpos: Vec<Gpo>,
    pub soms: Vec<Som>,
    pub entries: Vec<Entry>,
    /// Parts that could not be read (the rest was).
    pub issues: Vec<Issue>,
}

impl Report {
    fn new(file: &str, form: GpresultForm) -> Report {
        Report {
            file: file.to_string(),
            form,
            computer: None,
            user: None,
            gpos: Vec::new(),
            soms: Vec::new(),
            entries: Vec::new(),
            issues: Vec::new(),
        }
    }

    fn total(&self) -> usize {
        self.gpos.len() + self.soms.len() + self.entries.len()
    }

    /// The GPO of a scope with this GUID (case-insensitive).
    pub fn gpo_by_guid(&self, scope: Option<Scope>, guid: &str) -> Option<&Gpo> {
        let find = |s: Option<Scope>| {
            self.gpos.iter().find(|g| {
                g.scope == s
                    && g.guid
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(guid))
            })
        };
        find(scope).or_else(|| {
            self.gpos.iter().find(|g| {
                g.guid
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(guid))
            })
        })
    }

    /// The GPO of a scope with this name (case-insensitive).
    pub fn gpo_by_name(&self, scope: Option<Scope>, name: &str) -> Option<&Gpo> {
        self.gpos
            .iter()
            .find(|g| g.scope == scope && g.name.eq_ignore_ascii_case(name))
            .or_else(|| self.gpos.iter().find(|g| g.name.eq_ignore_ascii_case(name)))
    }
}

/// A gpresult file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason} (at byte {offset})")]
pub struct ParseError {
    pub file: String,
    pub offset: u64,
    pub reason: String,
}

/// Recognise gpresult output by its content (see [`crate::capture::sniff::gpresult_form`]).
pub fn sniff(head: &[u8], path: &str) -> Option<GpresultForm> {
    crate::capture::sniff::gpresult_form(head, path)
}

/// Largest gpresult file read (a real report is a few MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Read one gpresult input of a capture: its report (when it could be read at all) and the
/// reading (status, problems) for the pipeline to apply. The inventory hashed the file.
pub fn read_input(input: &Input) -> (Option<Report>, Reading) {
    use std::io::Read as _;

    let mut bytes = Vec::new();
    let read = input.open_stream().and_then(|r| {
        r.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| crate::Error::io(input.display_path(), e))
    });
    if let Err(e) = read {
        return (
            None,
            Reading::new(
                InputStatus::Rejected,
                vec![Problem::error(ProblemCode::Unreadable, e.to_string())],
            ),
        );
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return (
            None,
            Reading::new(
                InputStatus::Rejected,
                vec![Problem::error(
                    ProblemCode::TooLarge,
                    format!("gpresult file larger than {MAX_FILE_BYTES} bytes: not read"),
                )],
            ),
        );
    }
    let head = &bytes[..bytes.len().min(crate::capture::sniff::HEAD_LEN)];
    let Some(form) = sniff(head, &input.path) else {
        return (
            None,
            Reading::new(
                InputStatus::Rejected,
                vec![Problem::error(
                    ProblemCode::GpresultInvalid,
                    "no longer recognised as gpresult output",
                )],
            ),
        );
    };
    match parse(&input.path, form, &bytes) {
        Ok(report) => {
            let problems: Vec<Problem> = report
                .issues
                .iter()
                .map(|i| {
                    Problem::warning(
                        ProblemCode::GpresultDamaged,
                        format!("{} report: {}", form.switch(), i.message),
                    )
                    .at(i.offset)
                })
                .collect();
            let status = if problems.is_empty() {
                InputStatus::Parsed
            } else {
                InputStatus::Partial
            };
            (Some(report), Reading::new(status, problems))
        }
        Err(e) => (
            None,
            Reading::new(
                InputStatus::Rejected,
                vec![Problem::error(
                    ProblemCode::GpresultInvalid,
                    format!("{} report: {}", form.switch(), e.reason),
                )
                .at(e.offset)],
            ),
        ),
    }
}

/// Read one gpresult file of a known form.
pub fn parse(file: &str, form: GpresultForm, bytes: &[u8]) -> Result<Report, ParseError> {
    let decoded = decode::Decoded::new(bytes).ok_or_else(|| ParseError {
        file: file.to_string(),
        offset: 0,
        reason: "not text in UTF-8 or UTF-16".into(),
    })?;
    let mut report = Report::new(file, form);
    let result = match form {
        GpresultForm::Xml => xml::read(&decoded.text, &mut report),
        GpresultForm::Text => {
            text::read(&decoded.text, &mut report);
            Ok(())
        }
        GpresultForm::Html => html::read(&decoded.text, &mut report),
    };
    // Offsets inside the parsers are positions in the decoded text; report file offsets.
    let mut mapper = decoded.mapper();
    for e in &mut report.entries {
        e.offset = mapper.map(e.offset as usize);
    }
    let mut mapper = decoded.mapper();
    for i in &mut report.issues {
        i.offset = mapper.map(i.offset as usize);
    }
    match result {
        Ok(()) => Ok(report),
        Err((pos, reason)) => Err(ParseError {
            file: file.to_string(),
            offset: decoded.file_offset(pos),
            reason,
        }),
    }
}

/// Upper-case a `{GUID}`; other identifiers (`LocalGPO`) stay as they are.
fn normalise_guid(s: &str) -> String {
    let s = s.trim();
    if s.starts_with('{') && s.ends_with('}') {
        s.to_ascii_uppercase()
    } else {
        s.to_string()
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_each_form_and_nothing_else() {
        assert_eq!(
            sniff(
                b"<?xml version=\"1.0\"?>\n<Rsop xmlns=\"x\"></Rsop>",
                "a.xml"
            ),
            Some(GpresultForm::Xml)
        );
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><Other/>", "gpresult.xml"),
            None
        );
        assert_eq!(sniff(b"hello world", "gpresult.txt"), None);
        assert_eq!(sniff(b"", "x"), None);
        assert_eq!(sniff(&[0xff, 0xfe, 0x00], "x"), None);
        assert_eq!(sniff(b"<html><body>x</body></html>", "page.html"), None);
        assert_eq!(
            sniff(
                b"<html><body>x</body></html>",
                "PC_SystemInfo/PC_Gpresult.html"
            ),
            Some(GpresultForm::Html)
        );
    }

    #[test]
    fn guid_case_is_folded() {
        assert_eq!(normalise_guid(" {ab-cd} "), "{AB-CD}");
        assert_eq!(normalise_guid("LocalGPO"), "LocalGPO");
    }
}
