//! gpresult output and user hives with user policy, written from readable descriptions for tests.
//!
//! The layouts follow what `docs/configuration.md` ("gpresult") documents with its sources:
//! `gpresult /x` is an `Rsop` XML document in UTF-16LE with a BOM and `encoding="utf-16"`
//! (`ComputerResults`/`UserResults` with `GPO` entries and `ExtensionData` settings carrying the
//! setting GPO's `Identifier` and `Precedence`, S110, S112); `gpresult /z` is the English text
//! report (`Applied Group Policy Objects`, `GPO:` / `KeyName:` / `Value:` / `State:` entries with
//! the data as comma-separated bytes); `gpresult /h` is the HTML report read as tables
//! (UNCONFIRMED markup: GPO headings with `Link Location` tables, settings tables with a
//! `Winning GPO` column).

use crate::hive::{Data, Key};
use crate::scenario::stable_hive;

/// Computer or user configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Computer,
    User,
}

/// One GPO of the report's list.
#[derive(Debug, Clone)]
pub struct Gpo {
    pub scope: Scope,
    pub name: String,
    pub guid: String,
    pub link: String,
    /// Order of application (1 first); 0: not applied.
    pub applied_order: u32,
    pub version: u32,
    pub enforced: bool,
    /// Why it did not apply (`Denied (Security)`), for GPOs with `applied_order` 0.
    pub denied: Option<String>,
}

impl Gpo {
    pub fn applied(
        scope: Scope,
        name: &str,
        guid: &str,
        link: &str,
        order: u32,
        version: u32,
    ) -> Gpo {
        Gpo {
            scope,
            name: name.into(),
            guid: guid.into(),
            link: link.into(),
            applied_order: order,
            version,
            enforced: false,
            denied: None,
        }
    }

    pub fn enforced(mut self) -> Gpo {
        self.enforced = true;
        self
    }

    pub fn denied(scope: Scope, name: &str, guid: &str, link: &str, reason: &str) -> Gpo {
        Gpo {
            scope,
            name: name.into(),
            guid: guid.into(),
            link: link.into(),
            applied_order: 0,
            version: 1,
            enforced: false,
            denied: Some(reason.into()),
        }
    }
}

/// What a setting entry sets.
#[derive(Debug, Clone)]
pub enum What {
    /// An Administrative Templates policy: display name, state, options (name, value).
    Policy {
        name: String,
        state: String,
        options: Vec<(String, String)>,
    },
    /// A registry value under `Software\Policies\Microsoft\Windows NT\Terminal Services`.
    Value { name: String, data: Data },
}

/// One setting as one GPO set it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub scope: Scope,
    /// The GPO's GUID (must be one of the report's GPOs).
    pub gpo: String,
    /// 1: won; 2, 3…: lost to it.
    pub precedence: u32,
    pub what: What,
}

impl Setting {
    pub fn policy(
        scope: Scope,
        gpo: &str,
        precedence: u32,
        name: &str,
        options: &[(&str, &str)],
    ) -> Setting {
        Setting {
            scope,
            gpo: gpo.into(),
            precedence,
            what: What::Policy {
                name: name.into(),
                state: "Enabled".into(),
                options: options
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            },
        }
    }

    pub fn value(scope: Scope, gpo: &str, precedence: u32, name: &str, data: Data) -> Setting {
        Setting {
            scope,
            gpo: gpo.into(),
            precedence,
            what: What::Value {
                name: name.into(),
                data,
            },
        }
    }
}

/// A whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub computer: String,
    pub user: String,
    pub gpos: Vec<Gpo>,
    /// (scope, SOM path, blocks inheritance).
    pub soms: Vec<(Scope, String, bool)>,
    pub settings: Vec<Setting>,
}

pub const TS_KEY: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn data_text(d: &Data) -> String {
    match d {
        Data::Dword(n) => n.to_string(),
        Data::Sz(s) | Data::ExpandSz(s) => s.clone(),
        Data::MultiSz(l) => l.join(", "),
        other => other.bytes().iter().map(|b| format!("{b:02X}")).collect(),
    }
}

/// `gpresult /z` shows data as comma-separated decimal bytes.
fn data_bytes(d: &Data) -> String {
    d.bytes()
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    fn gpo(&self, guid: &str) -> &Gpo {
        self.gpos
            .iter()
            .find(|g| g.guid.eq_ignore_ascii_case(guid))
            .expect("settings name GPOs of the report")
    }

    /// The `gpresult /x` XML text.
    pub fn xml(&self) -> String {
        const TYPES: &str = "http://www.microsoft.com/GroupPolicy/Types";
        const BASE: &str = "http://www.microsoft.com/GroupPolicy/Settings/Base";
        let mut x = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<Rsop xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://www.microsoft.com/GroupPolicy/Rsop\">\r\n  <ReadTime>2026-11-30T10:00:00.0000000Z</ReadTime>\r\n  <DataType>LoggedData</DataType>\r\n",
        );
        for (scope, tag, name) in [
            (Scope::Computer, "ComputerResults", &self.computer),
            (Scope::User, "UserResults", &self.user),
        ] {
            x += &format!("  <{tag}>\r\n    <Name>{}</Name>\r\n", esc(name));
            for (i, (_, path, blocks)) in self.soms.iter().filter(|s| s.0 == scope).enumerate() {
                x += &format!(
                    "    <SearchedSOM><Path>{}</Path><Type>OU</Type><Order>{}</Order><BlocksInheritance>{blocks}</BlocksInheritance><Blocked>false</Blocked><Reason>Normal</Reason></SearchedSOM>\r\n",
                    esc(path),
                    i + 1
                );
            }
            for g in self.gpos.iter().filter(|g| g.scope == scope) {
                x += &format!(
                    "    <GPO>\r\n      <Name>{}</Name>\r\n      <Path>\r\n        <Identifier xmlns=\"{TYPES}\">{}</Identifier>\r\n        <Domain xmlns=\"{TYPES}\">contoso.com</Domain>\r\n      </Path>\r\n      <VersionDirectory>{v}</VersionDirectory>\r\n      <VersionSysvol>{v}</VersionSysvol>\r\n      <Enabled>true</Enabled>\r\n      <IsValid>true</IsValid>\r\n      <FilterAllowed>{}</FilterAllowed>\r\n      <AccessDenied>false</AccessDenied>\r\n      <Link>\r\n        <SOMPath>{}</SOMPath>\r\n        <SOMOrder>1</SOMOrder>\r\n        <AppliedOrder>{}</AppliedOrder>\r\n        <LinkOrder>1</LinkOrder>\r\n        <Enabled>true</Enabled>\r\n        <NoOverride>{}</NoOverride>\r\n      </Link>\r\n    </GPO>\r\n",
                    esc(&g.name),
                    esc(&g.guid),
                    g.denied.is_none(),
                    esc(&g.link),
                    g.applied_order,
                    g.enforced,
                    v = g.version,
                );
            }
            let settings: Vec<&Setting> =
                self.settings.iter().filter(|s| s.scope == scope).collect();
            if !settings.is_empty() {
                x += "    <ExtensionData>\r\n      <Extension xmlns:q4=\"http://www.microsoft.com/GroupPolicy/Settings/Registry\" xsi:type=\"q4:RegistrySettings\" xmlns=\"http://www.microsoft.com/GroupPolicy/Settings\">\r\n";
                for s in settings {
                    let head = format!(
                        "          <GPO xmlns=\"{BASE}\">\r\n            <Identifier xmlns=\"{TYPES}\">{}</Identifier>\r\n            <Domain xmlns=\"{TYPES}\">contoso.com</Domain>\r\n          </GPO>\r\n          <Precedence xmlns=\"{BASE}\">{}</Precedence>\r\n",
                        esc(&s.gpo),
                        s.precedence
                    );
                    match &s.what {
                        What::Policy {
                            name,
                            state,
                            options,
                        } => {
                            x += "        <q4:Policy>\r\n";
                            x += &head;
                            x += &format!(
                                "          <q4:Name>{}</q4:Name>\r\n          <q4:State>{}</q4:State>\r\n          <q4:Explain>Explain text.</q4:Explain>\r\n          <q4:Supported>At least Windows Server 2008 R2</q4:Supported>\r\n          <q4:Category>Windows Components/Remote Desktop Services/Remote Desktop Session Host</q4:Category>\r\n",
                                esc(name),
                                esc(state)
                            );
                            for (n, v) in options {
                                x += &format!(
                                    "          <q4:DropDownList>\r\n            <q4:Name>{}</q4:Name>\r\n            <q4:State>Enabled</q4:State>\r\n            <q4:Value>\r\n              <q4:Name>{}</q4:Name>\r\n            </q4:Value>\r\n          </q4:DropDownList>\r\n",
                                    esc(n),
                                    esc(v)
                                );
                            }
                            x += "        </q4:Policy>\r\n";
                        }
                        What::Value { name, data } => {
                            let tag = if matches!(data, Data::Dword(_)) {
                                "Number"
                            } else {
                                "String"
                            };
                            x += "        <q4:RegistrySetting>\r\n";
                            x += &head;
                            x += &format!(
                                "          <q4:KeyPath>{}</q4:KeyPath>\r\n          <q4:Value>\r\n            <q4:Name>{}</q4:Name>\r\n            <q4:{tag}>{}</q4:{tag}>\r\n          </q4:Value>\r\n        </q4:RegistrySetting>\r\n",
                                esc(TS_KEY),
                                esc(name),
                                esc(&data_text(data))
                            );
                        }
                    }
                }
                x += "      </Extension>\r\n      <Name xmlns=\"http://www.microsoft.com/GroupPolicy/Settings\">Registry</Name>\r\n    </ExtensionData>\r\n";
            }
            x += &format!("  </{tag}>\r\n");
        }
        x += "</Rsop>\r\n";
        x
    }

    /// The `gpresult /x` file: UTF-16LE with a BOM.
    pub fn xml_bytes(&self) -> Vec<u8> {
        utf16le_bom(&self.xml())
    }

    /// The `gpresult /z` text. Only registry values appear as `KeyName:` entries (a text report
    /// names Administrative Templates settings by key too: `Folder Id:`); every GPO that sets a
    /// value is listed, as the text form does not say which won.
    pub fn text(&self) -> String {
        let mut t = format!(
            "\r\nMicrosoft (R) Windows (R) Operating System Group Policy Result tool v2.0\r\n\u{a9} Microsoft Corporation. All rights reserved.\r\n\r\nCreated on 30.11.2026 at 10:00:00\r\n\r\n\r\nRSOP data for {} on {} : Logging Mode\r\n------------------------------------------------\r\n\r\n",
            self.user, self.computer
        );
        for (scope, title) in [
            (Scope::Computer, "COMPUTER SETTINGS"),
            (Scope::User, "USER SETTINGS"),
        ] {
            t += &format!("{title}\r\n{}\r\n", "-".repeat(title.len()));
            let mut applied: Vec<&Gpo> = self
                .gpos
                .iter()
                .filter(|g| g.scope == scope && g.applied_order > 0)
                .collect();
            applied.sort_by_key(|g| g.applied_order);
            t += "    Applied Group Policy Objects\r\n    -----------------------------\r\n";
            for g in &applied {
                t += &format!("        {}\r\n", g.name);
            }
            t += "\r\n";
            let denied: Vec<&Gpo> = self
                .gpos
                .iter()
                .filter(|g| g.scope == scope && g.applied_order == 0)
                .collect();
            if !denied.is_empty() {
                t += "    The following GPOs were not applied because they were filtered out\r\n    -------------------------------------------------------------------\r\n";
                for g in denied {
                    t += &format!(
                        "        {}\r\n            Filtering:  {}\r\n\r\n",
                        g.name,
                        g.denied.as_deref().unwrap_or("Not Applied (Empty)")
                    );
                }
            }
            let name = if scope == Scope::Computer {
                "Computer"
            } else {
                "User"
            };
            t += &format!("    Resultant Set Of Policies for {name}\r\n    ----------------------------------\r\n\r\n        Registry Settings\r\n        -----------------\r\n");
            for s in self.settings.iter().filter(|s| s.scope == scope) {
                if let What::Value { name, data } = &s.what {
                    t += &format!(
                        "            GPO: {}\r\n                KeyName:     {TS_KEY}\\{name}\r\n                Value:       {}\r\n                State:       Enabled\r\n\r\n",
                        self.gpo(&s.gpo).name,
                        data_bytes(data)
                    );
                }
            }
            t += "\r\n";
        }
        t
    }

    /// The `gpresult /h` HTML text: only the winning GPO of each setting.
    pub fn html(&self) -> String {
        let mut h = String::from("<!DOCTYPE html><html><head><title>Group Policy Results</title><script type=\"text/javascript\">function toggle(e){}</script></head><body>\r\n");
        for (scope, title) in [
            (Scope::Computer, "Computer Details"),
            (Scope::User, "User Details"),
        ] {
            h += &format!(
                "<div class=\"he0\">{title}</div>\r\n<div class=\"he1\">Applied GPOs</div>\r\n"
            );
            for g in self
                .gpos
                .iter()
                .filter(|g| g.scope == scope && g.applied_order > 0)
            {
                h += &format!(
                    "<div class=\"he4h\">{}</div>\r\n<table class=\"info3\"><tr><th>Link Location</th><th>Enforced</th><th>Link Status</th></tr><tr><td>{}</td><td>{}</td><td>Enabled</td></tr></table>\r\n<table class=\"info3\"><tr><td>Revision</td><td>AD ({v}), SYSVOL ({v})</td></tr><tr><td>Unique ID</td><td>{}</td></tr></table>\r\n",
                    esc(&g.name),
                    esc(&g.link),
                    if g.enforced { "Yes" } else { "No" },
                    esc(&g.guid),
                    v = g.version
                );
            }
            h += "<div class=\"he1\">Denied GPOs</div>\r\n";
            for g in self
                .gpos
                .iter()
                .filter(|g| g.scope == scope && g.applied_order == 0)
            {
                h += &format!(
                    "<div class=\"he4h\">{}</div>\r\n<table class=\"info3\"><tr><th>Link Location</th><th>Reason Denied</th></tr><tr><td>{}</td><td>{}</td></tr></table>\r\n",
                    esc(&g.name),
                    esc(&g.link),
                    esc(g.denied.as_deref().unwrap_or("Empty"))
                );
            }
            let config = if scope == Scope::Computer {
                "Computer Configuration (Enabled)"
            } else {
                "User Configuration (Enabled)"
            };
            h += &format!("<div class=\"he0\">{config}</div>\r\n<div class=\"he3\">Windows Components/Remote Desktop Services/Remote Desktop Session Host</div>\r\n");
            for s in self
                .settings
                .iter()
                .filter(|s| s.scope == scope && s.precedence == 1)
            {
                let gpo = esc(&self.gpo(&s.gpo).name);
                match &s.what {
                    What::Policy {
                        name,
                        state,
                        options,
                    } => {
                        h += &format!(
                            "<table class=\"info3\"><tr><th>Policy</th><th>Setting</th><th>Comment</th><th>Winning GPO</th></tr><tr><td>{}</td><td>{}</td><td></td><td>{gpo}</td></tr>",
                            esc(name),
                            esc(state)
                        );
                        // The options in a row spanning the table, right after the policy.
                        if !options.is_empty() {
                            h += "<tr><td colspan=\"4\"><table class=\"subtable\">";
                            for (n, v) in options {
                                h += &format!("<tr><td>{}:</td><td>{}</td></tr>", esc(n), esc(v));
                            }
                            h += "</table></td></tr>";
                        }
                        h += "</table>\r\n";
                    }
                    What::Value { name, data } => {
                        h += &format!(
                            "<div class=\"he3\">Extra Registry Settings</div>\r\n<table class=\"info3\"><tr><th>Setting</th><th>Value</th><th>Winning GPO</th></tr><tr><td>{}\\{}</td><td>{}</td><td>{gpo}</td></tr></table>\r\n",
                            esc(TS_KEY),
                            esc(name),
                            esc(&data_text(data))
                        );
                    }
                }
            }
        }
        h += "</body></html>\r\n";
        h
    }
}

/// UTF-16LE with a byte-order mark.
pub fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// A user hive (NTUSER.DAT) with the given user-policy values under
/// `Software\Policies\Microsoft\Windows NT\Terminal Services` (recognised as NTUSER by its root:
/// `Software` with `Environment` and `Control Panel`).
pub fn user_hive(policy: &[(&str, Data)]) -> Vec<u8> {
    let mut root = Key::new("ROOT");
    root.set(
        "Environment",
        "TEMP",
        Data::ExpandSz(r"%USERPROFILE%\AppData\Local\Temp".into()),
    );
    root.set(
        r"Control Panel\Desktop",
        "Wallpaper",
        Data::Sz(String::new()),
    );
    root.at(r"Software\Microsoft\Windows\CurrentVersion");
    for (name, data) in policy {
        root.set(TS_KEY, name, data.clone());
    }
    stable_hive(&root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_utf16_with_bom_and_declares_it() {
        let r = Report {
            computer: "C".into(),
            user: "U".into(),
            gpos: vec![Gpo::applied(Scope::Computer, "A & B", "{1}", "x", 1, 1)],
            soms: vec![],
            settings: vec![],
        };
        let b = r.xml_bytes();
        assert_eq!(&b[..2], &[0xFF, 0xFE]);
        assert!(r.xml().contains("encoding=\"utf-16\""));
        assert!(r.xml().contains("A &amp; B"));
    }
}
