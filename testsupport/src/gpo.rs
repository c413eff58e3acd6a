//! Group Policy evidence from readable descriptions, built from the documented formats:
//! `Registry.pol` (PReg: `PReg`, version 1, then `[key;value;type;size;data]` instructions in
//! UTF-16LE; S40, S41), `GPT.INI` (`[General]` `Version=`, `displayName=`; S100, S107), and the
//! SOFTWARE hive's record of the applied GPOs (`Group Policy\History\{35378EAC-…}\<n>` and
//! `Group Policy\State\Machine\GPO-List\<n>` with `DisplayName`, `GPOName`, `DSPath`, `Link`,
//! `FileSysPath`, `Version`; S43), and the places a bundle holds the files (the local GPO, the
//! machine's cache under ProgramData, a SYSVOL copy).

use std::path::{Path, PathBuf};

use crate::hive::Data;
use crate::scenario::Machine;

/// The Registry extension's GUID (S42).
pub const REGISTRY_CSE: &str = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}";
/// The Default Domain Policy's well-known GUID.
pub const DEFAULT_DOMAIN_POLICY: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";
/// The machine Terminal Services policy key as a Registry.pol names it (below HKLM).
pub const TS_POLICY_KEY: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";

/// One Registry.pol instruction.
#[derive(Debug, Clone)]
pub enum Instr {
    /// `[key;name;type;size;data]`.
    Set(String, String, Data),
    /// `[key;**del.name;REG_SZ;2;" "]` (a disabled policy as gpedit writes it).
    Del(String, String),
    /// `[key;**delvals.;…]`.
    DelVals(String),
    /// `[key;**DeleteValues;REG_SZ;…;"a;b"]`.
    DeleteValues(String, Vec<String>),
    /// `[key;**DeleteKeys;REG_SZ;…;"a;b"]`.
    DeleteKeys(String, Vec<String>),
}

impl Instr {
    /// A value set under the Terminal Services policy key.
    pub fn ts(name: &str, data: Data) -> Instr {
        Instr::Set(TS_POLICY_KEY.into(), name.into(), data)
    }

    /// A value deleted under the Terminal Services policy key.
    pub fn ts_del(name: &str) -> Instr {
        Instr::Del(TS_POLICY_KEY.into(), name.into())
    }
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn ch(c: char) -> [u8; 2] {
    (c as u16).to_le_bytes()
}

fn instruction(key: &str, value: &str, type_code: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(ch('['));
    v.extend(utf16z(key));
    v.extend(ch(';'));
    v.extend(utf16z(value));
    v.extend(ch(';'));
    v.extend(type_code.to_le_bytes());
    v.extend(ch(';'));
    v.extend((data.len() as u32).to_le_bytes());
    v.extend(ch(';'));
    v.extend(data);
    v.extend(ch(']'));
    v
}

/// A Registry.pol holding `instrs` in order.
pub fn registry_pol(instrs: &[Instr]) -> Vec<u8> {
    let mut out = b"PReg".to_vec();
    out.extend(1u32.to_le_bytes());
    for i in instrs {
        out.extend(match i {
            Instr::Set(k, n, d) => instruction(k, n, d.type_code(), &d.bytes()),
            Instr::Del(k, n) => instruction(k, &format!("**del.{n}"), 1, &utf16z(" ")),
            Instr::DelVals(k) => instruction(k, "**delvals.", 1, &utf16z(" ")),
            Instr::DeleteValues(k, names) => {
                instruction(k, "**DeleteValues", 1, &utf16z(&names.join(";")))
            }
            Instr::DeleteKeys(k, names) => {
                instruction(k, "**DeleteKeys", 1, &utf16z(&names.join(";")))
            }
        });
    }
    out
}

/// A `GPT.INI` with `Version=version` (and `displayName=` when given), CRLF line ends.
pub fn gpt_ini(version: u32, display_name: Option<&str>) -> Vec<u8> {
    let mut s = format!("[General]\r\nVersion={version}\r\n");
    if let Some(n) = display_name {
        s.push_str(&format!("displayName={n}\r\n"));
    }
    s.into_bytes()
}

/// A GPO as a generated bundle knows it.
#[derive(Debug, Clone)]
pub struct Gpo {
    pub display_name: String,
    /// Braced GUID; ignored for the local GPO.
    pub guid: String,
    /// `LDAP://OU=…` for domain GPOs; `Local` for the local GPO.
    pub link: String,
    pub version: u32,
    pub local: bool,
    /// The machine Registry.pol's instructions.
    pub machine: Vec<Instr>,
}

impl Gpo {
    /// A domain GPO linked to `link` (a distinguished name).
    pub fn domain(display_name: &str, guid: &str, link: &str, version: u32) -> Gpo {
        Gpo {
            display_name: display_name.into(),
            guid: guid.to_uppercase(),
            link: format!("LDAP://{link}"),
            version,
            local: false,
            machine: Vec::new(),
        }
    }

    /// The local GPO.
    pub fn local(version: u32) -> Gpo {
        Gpo {
            display_name: "Local Group Policy".into(),
            guid: "Local Group Policy".into(),
            link: "Local".into(),
            version,
            local: true,
            machine: Vec::new(),
        }
    }

    /// With these machine Registry.pol instructions.
    pub fn sets(mut self, instrs: Vec<Instr>) -> Gpo {
        self.machine = instrs;
        self
    }

    fn ds_path(&self, domain_dn: &str) -> String {
        if self.local {
            "LocalGPO".into()
        } else {
            format!(
                "LDAP://CN=Machine,cn={},cn=policies,cn=system,{domain_dn}",
                self.guid
            )
        }
    }

    fn file_sys_path(&self, domain: &str) -> String {
        if self.local {
            r"C:\Windows\System32\GroupPolicy\Machine".into()
        } else {
            format!(r"\\{domain}\SysVol\{domain}\Policies\{}\Machine", self.guid)
        }
    }
}

/// `contoso.local` → `DC=contoso,DC=local`.
fn domain_dn(domain: &str) -> String {
    domain
        .split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Record `gpos` (in application order) as applied by the Registry extension and in the
/// machine's GP state list of `machine`'s SOFTWARE hive.
pub fn record_applied(machine: Machine, domain: &str, gpos: &[Gpo]) -> Machine {
    let dn = domain_dn(domain);
    let mut m = machine;
    for base in [
        format!(r"Microsoft\Windows\CurrentVersion\Group Policy\History\{REGISTRY_CSE}"),
        r"Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\GPO-List".to_string(),
    ] {
        for (i, g) in gpos.iter().enumerate() {
            let k = format!(r"{base}\{i}");
            m = m
                .software_value(&k, "DisplayName", Data::Sz(g.display_name.clone()))
                .software_value(&k, "GPOName", Data::Sz(g.guid.clone()))
                .software_value(&k, "DSPath", Data::Sz(g.ds_path(&dn)))
                .software_value(&k, "FileSysPath", Data::Sz(g.file_sys_path(domain)))
                .software_value(&k, "Link", Data::Sz(g.link.clone()))
                .software_value(&k, "Version", Data::Dword(g.version))
                .software_value(&k, "Options", Data::Dword(0));
        }
    }
    m
}

/// Where a bundle holds a GPO's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The machine's cache: `C/ProgramData/Microsoft/Group Policy/History/{GUID}/Machine/`
    /// (the local GPO: `C/Windows/System32/GroupPolicy/Machine/`).
    MachineCache,
    /// A SYSVOL copy beside the machine's tree: `SYSVOL/<domain>/Policies/{GUID}/` with
    /// `GPT.INI` (the local GPO: as for `MachineCache`).
    Sysvol,
}

/// Write each GPO's machine Registry.pol (and, for SYSVOL copies, its GPT.INI) below a KAPE tree
/// at `dir`; the files written, relative to `dir`.
pub fn write_files(
    dir: &Path,
    domain: &str,
    gpos: &[(&Gpo, Place)],
) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (g, place) in gpos {
        let folder = if g.local {
            PathBuf::from("C/Windows/System32/GroupPolicy")
        } else {
            match place {
                Place::MachineCache => {
                    PathBuf::from("C/ProgramData/Microsoft/Group Policy/History").join(&g.guid)
                }
                Place::Sysvol => PathBuf::from("SYSVOL")
                    .join(domain)
                    .join("Policies")
                    .join(&g.guid),
            }
        };
        let pol = folder.join("Machine").join("Registry.pol");
        std::fs::create_dir_all(dir.join(folder.join("Machine")))?;
        std::fs::write(dir.join(&pol), registry_pol(&g.machine))?;
        written.push(pol);
        if *place == Place::Sysvol && !g.local {
            let ini = folder.join("GPT.INI");
            std::fs::write(dir.join(&ini), gpt_ini(g.version, Some(&g.display_name)))?;
            written.push(ini);
        }
    }
    Ok(written)
}
