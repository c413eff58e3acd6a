//! The RSoP XML report (`gpresult /x`): a small pull tokenizer (no DTDs, no entity definitions,
//! elements matched by local name so the `q1:`…`q9:` prefixes the report gives each extension do
//! not matter) and the reader of the parts rdsdiag uses:
//!
//! - `Rsop/ComputerResults|UserResults/Name`: the computer or user;
//! - `…/GPO`: `Name`, `Path/Identifier` (`{GUID}` or `LocalGPO`), `Path/Domain`, `VersionDirectory`,
//!   `VersionSysvol`, `Enabled`, `IsValid`, `FilterAllowed`, `AccessDenied`, and `Link/SOMPath`,
//!   `SOMOrder`, `AppliedOrder` (0: not applied), `LinkOrder`, `Enabled`, `NoOverride` (enforced);
//! - `…/SearchedSOM`: `Path`, `Type`, `Order`, `BlocksInheritance`, `Blocked`, `Reason`;
//! - `…/ExtensionData/Extension/Policy` (Administrative Templates: `Name`, `State`, `Category`,
//!   options such as `DropDownList`/`Numeric`/`EditText` with `Name` and `Value`) and
//!   `…/Extension/RegistrySetting` (`KeyPath`, `Value/Name`, `Value/Number|String`), each with the
//!   `GPO/Identifier` that set it and its `Precedence` (1 won; 2, 3… lost to it).
//!
//! Linear in the input; nesting is bounded by [`super::MAX_DEPTH`]; damage stops the reader with an
//! issue at its offset and keeps what was read before it.

use super::{normalise_guid, parse_bool, parse_u32, Entry, Gpo, Item, Report, Scope, Som};

/// One token of the XML text.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A start tag: local name, and whether it closes itself (`<a/>`).
    Start(&'a str, bool),
    End(&'a str),
    Text(String),
}

type Failure = (usize, String);

struct Tokenizer<'a> {
    s: &'a str,
    pos: usize,
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Replace the five predefined entities and character references; anything else stays as text.
pub(super) fn unescape(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let n = if let Some(h) =
                        name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
                    {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        name.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl<'a> Tokenizer<'a> {
    fn skip_past(&mut self, end: &str, what: &str) -> Result<(), Failure> {
        match self.s[self.pos..].find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err((
                self.pos,
                format!("{what} is not closed before the end of the file"),
            )),
        }
    }

    /// The next token and the position it starts at.
    fn next(&mut self) -> Result<Option<(usize, Token<'a>)>, Failure> {
        loop {
            let start = self.pos;
            let rest = &self.s[self.pos..];
            if rest.is_empty() {
                return Ok(None);
            }
            if !rest.starts_with('<') {
                let len = rest.find('<').unwrap_or(rest.len());
                self.pos += len;
                return Ok(Some((start, Token::Text(unescape(&rest[..len])))));
            }
            if rest.starts_with("<?") {
                self.skip_past("?>", "a processing instruction")?;
                continue;
            }
            if rest.starts_with("<!--") {
                self.skip_past("-->", "a comment")?;
                continue;
            }
            if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let Some(i) = body.find("]]>") else {
                    return Err((start, "a CDATA section is not closed".into()));
                };
                self.pos += "<![CDATA[".len() + i + 3;
                return Ok(Some((start, Token::Text(body[..i].to_string()))));
            }
            if rest.starts_with("<!") {
                self.skip_past(">", "a declaration")?;
                continue;
            }
            // A tag: find its end outside quoted attribute values.
            let bytes = rest.as_bytes();
            let mut quote = None;
            let mut end = None;
            for (i, &b) in bytes.iter().enumerate().skip(1) {
                match (quote, b) {
                    (Some(q), _) if b == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(b),
                    (None, b'>') => {
                        end = Some(i);
                        break;
                    }
                    (None, b'<') => return Err((start + i, "'<' inside a tag".into())),
                    _ => {}
                }
            }
            let Some(end) = end else {
                return Err((
                    start,
                    "a tag is not closed before the end of the file".into(),
                ));
            };
            self.pos += end + 1;
            let inner = &rest[1..end];
            if let Some(name) = inner.strip_prefix('/') {
                return Ok(Some((start, Token::End(local(name.trim())))));
            }
            let empty = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let name_len = inner
                .find(|c: char| c.is_whitespace())
                .unwrap_or(inner.len());
            let name = &inner[..name_len];
            if name.is_empty() {
                return Err((start, "a tag without a name".into()));
            }
            return Ok(Some((start, Token::Start(local(name), empty))));
        }
    }
}

/// What is being read.
enum Open {
    Gpo(Gpo),
    Som(Som),
    Entry(EntryBuilder),
}

#[derive(Default)]
struct EntryBuilder {
    registry: bool,
    offset: usize,
    guid: Option<String>,
    precedence: Option<u32>,
    name: String,
    state: String,
    category: Option<String>,
    options: Vec<OptionBuilder>,
    key: String,
    value: Option<String>,
    data: Option<String>,
}

#[derive(Default)]
struct OptionBuilder {
    name: String,
    values: Vec<String>,
    state: Option<String>,
}

const POLICY_FIELDS: &[&str] = &[
    "GPO",
    "Precedence",
    "Name",
    "State",
    "Explain",
    "Supported",
    "Category",
];

struct Reader<'r> {
    report: &'r mut Report,
    names: Vec<String>,
    scope: Option<Scope>,
    results_depth: Option<usize>,
    open: Option<(usize, Open)>,
    saw_root: bool,
    full: bool,
}

impl Reader<'_> {
    fn start(&mut self, name: &str, pos: usize) {
        let depth = self.names.len();
        if depth == 0 && name == "Rsop" {
            self.saw_root = true;
        }
        let parent = self.names.last().cloned().unwrap_or_default();
        let parent = parent.as_str();
        if parent == "Rsop" && (name == "ComputerResults" || name == "UserResults") {
            self.scope = Some(if name == "ComputerResults" {
                Scope::Computer
            } else {
                Scope::User
            });
            self.results_depth = Some(depth);
        }
        let at_results = self.results_depth.is_some_and(|d| d + 1 == depth);
        if self.open.is_none() && !self.full {
            if at_results && name == "GPO" {
                self.open = Some((
                    depth,
                    Open::Gpo(Gpo {
                        scope: self.scope,
                        ..Gpo::default()
                    }),
                ));
            } else if at_results && name == "SearchedSOM" {
                self.open = Some((
                    depth,
                    Open::Som(Som {
                        scope: self.scope,
                        ..Som::default()
                    }),
                ));
            } else if parent == "Extension" && (name == "Policy" || name == "RegistrySetting") {
                self.open = Some((
                    depth,
                    Open::Entry(EntryBuilder {
                        registry: name == "RegistrySetting",
                        offset: pos,
                        ..EntryBuilder::default()
                    }),
                ));
            }
        } else if let Some((d, Open::Entry(e))) = &mut self.open {
            if *d + 1 == depth && !e.registry && !POLICY_FIELDS.contains(&name) {
                e.options.push(OptionBuilder::default());
            }
        }
        self.names.push(name.to_string());
    }

    fn end(&mut self, text: &str) {
        let depth = self.names.len() - 1;
        // The element path relative to the open object, this element included.
        if let Some((d, _)) = &self.open {
            let d = *d;
            if depth == d {
                self.close();
            } else if depth > d {
                let rel: Vec<&str> = self.names[d + 1..].iter().map(String::as_str).collect();
                let rel = rel.join("/");
                if let Some((_, open)) = &mut self.open {
                    fill(open, &rel, text);
                }
            }
        } else if self.results_depth.is_some_and(|r| r + 1 == depth) && self.names[depth] == "Name"
        {
            let slot = match self.scope {
                Some(Scope::User) => &mut self.report.user,
                _ => &mut self.report.computer,
            };
            slot.get_or_insert_with(|| text.to_string());
        }
        if self.results_depth == Some(depth) {
            self.results_depth = None;
            self.scope = None;
        }
        self.names.pop();
    }

    fn close(&mut self) {
        let Some((_, open)) = self.open.take() else {
            return;
        };
        if self.report.total() >= super::MAX_ENTRIES {
            if !self.full {
                self.full = true;
                self.report.issues.push(super::Issue {
                    offset: 0,
                    message: format!(
                        "more than {} entries: the rest of the report is not read",
                        super::MAX_ENTRIES
                    ),
                });
            }
            return;
        }
        match open {
            Open::Gpo(mut g) => {
                g.applied = g.applied_order.is_some_and(|o| o > 0);
                self.report.gpos.push(g);
            }
            Open::Som(s) => self.report.soms.push(s),
            Open::Entry(e) => {
                let item = if e.registry {
                    Item::Registry {
                        key: e.key,
                        value: e.value,
                        data: e.data,
                        state: None,
                    }
                } else {
                    Item::Policy {
                        name: e.name,
                        state: e.state,
                        category: e.category,
                        options: e
                            .options
                            .into_iter()
                            .filter(|o| !o.name.is_empty())
                            .map(|o| {
                                let v = if o.values.is_empty() {
                                    o.state.unwrap_or_default()
                                } else {
                                    o.values.join(", ")
                                };
                                (o.name, v)
                            })
                            .collect(),
                    }
                };
                self.report.entries.push(Entry {
                    scope: self.scope,
                    gpo_guid: e.guid,
                    gpo_name: None,
                    precedence: e.precedence,
                    item,
                    offset: e.offset as u64,
                });
            }
        }
    }
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn fill(open: &mut Open, rel: &str, text: &str) {
    match open {
        Open::Gpo(g) => match rel {
            "Name" if g.name.is_empty() => g.name = text.to_string(),
            "Path/Identifier" => set(&mut g.guid, Some(normalise_guid(text))),
            "Path/Domain" => set(&mut g.domain, Some(text.to_string())),
            "VersionDirectory" => set(&mut g.version_directory, parse_u32(text)),
            "VersionSysvol" => set(&mut g.version_sysvol, parse_u32(text)),
            "Enabled" => set(&mut g.enabled, parse_bool(text)),
            "IsValid" => set(&mut g.is_valid, parse_bool(text)),
            "FilterAllowed" => set(&mut g.filter_allowed, parse_bool(text)),
            "AccessDenied" => set(&mut g.access_denied, parse_bool(text)),
            "Link/SOMPath" => set(&mut g.link, Some(text.to_string())),
            "Link/SOMOrder" => set(&mut g.som_order, parse_u32(text)),
            "Link/AppliedOrder" => set(&mut g.applied_order, parse_u32(text)),
            "Link/LinkOrder" => set(&mut g.link_order, parse_u32(text)),
            "Link/Enabled" => set(&mut g.link_enabled, parse_bool(text)),
            "Link/NoOverride" => set(&mut g.enforced, parse_bool(text)),
            _ => {}
        },
        Open::Som(s) => match rel {
            "Path" => s.path = text.to_string(),
            "Type" => set(&mut s.kind, Some(text.to_string())),
            "Order" => set(&mut s.order, parse_u32(text)),
            "BlocksInheritance" => set(&mut s.blocks_inheritance, parse_bool(text)),
            "Blocked" => set(&mut s.blocked, parse_bool(text)),
            "Reason" => set(&mut s.reason, Some(text.to_string())),
            _ => {}
        },
        Open::Entry(e) => match rel {
            "GPO/Identifier" => set(&mut e.guid, Some(normalise_guid(text))),
            "Precedence" => set(&mut e.precedence, parse_u32(text)),
            "Name" if !e.registry => e.name = text.to_string(),
            "State" if !e.registry => e.state = text.to_string(),
            "Category" => set(&mut e.category, Some(text.to_string())),
            "KeyPath" => e.key = text.to_string(),
            "Value/Name" if e.registry => set(&mut e.value, Some(text.to_string())),
            _ if e.registry => {
                if let Some(kind) = rel.strip_prefix("Value/") {
                    if kind != "Name" && !text.is_empty() {
                        set(&mut e.data, Some(text.to_string()));
                    }
                }
            }
            _ => {
                // An option of the policy: `<X><Name/>…<Value>…</Value><State/></X>`.
                let mut parts = rel.splitn(2, '/');
                let (Some(_x), Some(field)) = (parts.next(), parts.next()) else {
                    return;
                };
                let Some(o) = e.options.last_mut() else {
                    return;
                };
                if field == "Name" {
                    o.name = text.to_string();
                } else if field == "State" {
                    o.state = Some(text.to_string());
                } else if (field == "Value" || field.starts_with("Value/")) && !text.is_empty() {
                    o.values.push(text.to_string());
                }
            }
        },
    }
}

/// Read the XML report into `report`. `Err` only when the file is not an RSoP report at all.
pub(super) fn read(s: &str, report: &mut Report) -> Result<(), Failure> {
    let mut tok = Tokenizer { s, pos: 0 };
    let mut reader = Reader {
        report,
        names: Vec::new(),
        scope: None,
        results_depth: None,
        open: None,
        saw_root: false,
        full: false,
    };
    let mut text = String::new();
    let mut stop: Option<Failure> = None;
    loop {
        let (pos, token) = match tok.next() {
            Ok(Some(t)) => t,
            Ok(None) => break,
            Err(f) => {
                stop = Some(f);
                break;
            }
        };
        match token {
            Token::Text(t) => {
                if text.len() < 1 << 20 {
                    text.push_str(&t);
                }
            }
            Token::Start(name, empty) => {
                if reader.names.len() >= super::MAX_DEPTH {
                    stop = Some((
                        pos,
                        format!("elements nested deeper than {}", super::MAX_DEPTH),
                    ));
                    break;
                }
                if reader.names.is_empty() && name != "Rsop" {
                    stop = Some((pos, format!("the root element is <{name}>, not <Rsop>")));
                    break;
                }
                text.clear();
                reader.start(name, pos);
                if empty {
                    reader.end("");
                }
            }
            Token::End(name) => {
                match reader.names.last() {
                    Some(open) if open == name => {}
                    Some(open) => {
                        stop = Some((pos, format!("</{name}> does not close <{open}>")));
                        break;
                    }
                    None => {
                        stop = Some((pos, format!("</{name}> without a start tag")));
                        break;
                    }
                }
                let t = text.trim().to_string();
                reader.end(&t);
                text.clear();
            }
        }
    }
    if stop.is_none() {
        if let Some(open) = reader.names.last() {
            stop = Some((s.len(), format!("the file ends inside <{open}>")));
        }
    }
    let saw_root = reader.saw_root;
    if let Some((pos, message)) = stop {
        if !saw_root {
            return Err((pos, message));
        }
        report.issues.push(super::Issue {
            offset: pos as u64,
            message: format!("{message}; what came before it was read"),
        });
    } else if !saw_root {
        return Err((0, "no <Rsop> element: not a gpresult /x report".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::gpresult::GpresultForm;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="utf-16"?>
<Rsop xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://www.microsoft.com/GroupPolicy/Rsop">
  <ComputerResults>
    <Name>CONTOSO\RDSH01$</Name>
    <SearchedSOM><Path>contoso.com/RDS</Path><Type>OU</Type><Order>4</Order><BlocksInheritance>true</BlocksInheritance><Blocked>false</Blocked><Reason>Normal</Reason></SearchedSOM>
    <GPO>
      <Name>RDS-Servers-Baseline</Name>
      <Path><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{aaaaaaaa-1111-2222-3333-444444444444}</Identifier><Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">contoso.com</Domain></Path>
      <VersionDirectory>7</VersionDirectory><VersionSysvol>7</VersionSysvol><Enabled>true</Enabled>
      <IsValid>true</IsValid><FilterAllowed>true</FilterAllowed><AccessDenied>false</AccessDenied>
      <Link><SOMPath>contoso.com/RDS</SOMPath><SOMOrder>1</SOMOrder><AppliedOrder>2</AppliedOrder><LinkOrder>1</LinkOrder><Enabled>true</Enabled><NoOverride>true</NoOverride></Link>
    </GPO>
    <ExtensionData>
      <Extension xmlns:q4="http://www.microsoft.com/GroupPolicy/Settings/Registry" xsi:type="q4:RegistrySettings">
        <q4:Policy>
          <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base"><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{AAAAAAAA-1111-2222-3333-444444444444}</Identifier></GPO>
          <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">1</Precedence>
          <q4:Name>Set the Remote Desktop licensing mode</q4:Name>
          <q4:State>Enabled</q4:State>
          <q4:Explain>Text &amp; more</q4:Explain>
          <q4:DropDownList><q4:Name>Specify the licensing mode for the RD Session Host server</q4:Name><q4:State>Enabled</q4:State><q4:Value><q4:Name>Per Device</q4:Name></q4:Value></q4:DropDownList>
        </q4:Policy>
        <q4:RegistrySetting>
          <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base"><Identifier>{BBBB}</Identifier></GPO>
          <Precedence>2</Precedence>
          <q4:KeyPath>Software\Policies\Microsoft\Windows NT\Terminal Services</q4:KeyPath>
          <q4:Value><q4:Name>LicensingMode</q4:Name><q4:Number>4</q4:Number></q4:Value>
        </q4:RegistrySetting>
      </Extension>
      <Name>Registry</Name>
    </ExtensionData>
  </ComputerResults>
</Rsop>"#;

    fn read_str(s: &str) -> Result<Report, Failure> {
        let mut r = Report::new("x.xml", GpresultForm::Xml);
        read(s, &mut r).map(|()| r)
    }

    #[test]
    fn reads_gpos_soms_and_settings() {
        let r = read_str(SAMPLE).expect("reads");
        assert_eq!(r.computer.as_deref(), Some(r"CONTOSO\RDSH01$"));
        assert_eq!(r.gpos.len(), 1);
        let g = &r.gpos[0];
        assert_eq!(g.name, "RDS-Servers-Baseline");
        assert_eq!(
            g.guid.as_deref(),
            Some("{AAAAAAAA-1111-2222-3333-444444444444}")
        );
        assert_eq!(
            (g.link.as_deref(), g.enforced, g.applied),
            (Some("contoso.com/RDS"), Some(true), true)
        );
        assert_eq!((g.version_directory, g.version_sysvol), (Some(7), Some(7)));
        assert_eq!(r.soms[0].blocks_inheritance, Some(true));
        assert_eq!(r.entries.len(), 2);
        match &r.entries[0].item {
            Item::Policy {
                name,
                state,
                options,
                ..
            } => {
                assert_eq!(name, "Set the Remote Desktop licensing mode");
                assert_eq!(state, "Enabled");
                assert_eq!(
                    options,
                    &[(
                        "Specify the licensing mode for the RD Session Host server".to_string(),
                        "Per Device".to_string()
                    )]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.entries[0].precedence, Some(1));
        assert_eq!(r.entries[0].scope, Some(Scope::Computer));
        match &r.entries[1].item {
            Item::Registry {
                key, value, data, ..
            } => {
                assert!(key.ends_with("Terminal Services"));
                assert_eq!(
                    (value.as_deref(), data.as_deref()),
                    (Some("LicensingMode"), Some("4"))
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.entries[1].precedence, Some(2));
        assert!(r.issues.is_empty());
    }

    #[test]
    fn damage_keeps_what_came_before() {
        let cut = &SAMPLE[..SAMPLE.find("<q4:RegistrySetting>").unwrap() + 25];
        let r = read_str(cut).expect("partial");
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
        let bad = SAMPLE.replace("</VersionSysvol>", "</Other>");
        let r = read_str(&bad).expect("partial");
        assert!(r.issues[0].message.contains("does not close"));
        assert!(read_str("<NotRsop/>").is_err());
        assert!(read_str("").is_err());
        assert!(read_str("<Rsop").is_err());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("<Rsop>{}", "<a>".repeat(10_000));
        let r = read_str(&deep).expect("partial");
        assert!(r.issues[0].message.contains("deeper"));
    }

    #[test]
    fn entities() {
        assert_eq!(
            unescape("a &lt;b&gt; &amp;&#65;&#x42; &bogus; &"),
            "a <b> &AB &bogus; &"
        );
    }
}
