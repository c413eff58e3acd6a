//! `Registry.pol` (PReg) files: the registry half of a Group Policy Object (reference §8.1, S40,
//! S41). A header (`PReg`, then the version DWORD 1) and a flat list of instructions
//! `[key;value;type;size;data]`, where the brackets and semicolons are UTF-16LE characters, key
//! and value are NUL-terminated UTF-16LE strings, type and size are DWORDs and data is `size`
//! raw bytes. Value names starting `**` are operations (`**del.<name>` deletes a value,
//! `**delvals.` every value of the key, `**DeleteValues` and `**DeleteKeys` the `;`-separated
//! lists in the data, `**soft.<name>` writes only when the value is absent, `**SecureKey`
//! secures the key).
//!
//! The parser is linear in the file: every length is checked against the bytes that remain
//! before anything is sliced or allocated, and it never panics. Damage stops the parse: the
//! entries before it are kept and the error names the file and the byte offset.
//!
//! Like every reader, this says only what the file holds; which GPO wins is decided in
//! `config`.

use serde::Serialize;

use super::decode::decode;
use super::RegData;

/// `PReg` — the signature (0x67655250 little-endian).
pub const SIGNATURE: &[u8; 4] = b"PReg";
/// The only version the format defines.
pub const VERSION: u32 = 1;

/// What an instruction does to the registry, decoded from its value name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PolOp {
    /// Set the value (a plain value name).
    Set { value: String },
    /// `**soft.<name>`: set the value only when it does not exist yet.
    SoftSet { value: String },
    /// `**del.<name>`: delete one value.
    DeleteValue { value: String },
    /// `**delvals.` (also `**DelVals`): delete every value of the key.
    DeleteAllValues,
    /// `**DeleteValues`: delete the `;`-separated values named in the data.
    DeleteValues { values: Vec<String> },
    /// `**DeleteKeys`: delete the `;`-separated subkeys named in the data.
    DeleteKeys { keys: Vec<String> },
    /// `**SecureKey`: secure the key (no value is written).
    SecureKey,
    /// Another `**` name this version does not know: reported, never applied.
    Unknown { name: String },
}

/// One `[key;value;type;size;data]` instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolEntry {
    /// Byte offset of the opening `[`.
    pub offset: u64,
    /// Key path below HKLM (machine) or HKCU (user), as stored.
    pub key: String,
    /// The value field as stored (with any `**` prefix).
    pub value_name: String,
    pub type_code: u32,
    pub data: RegData,
    pub op: PolOp,
}

/// Damage that stopped the parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}: {reason} at byte offset {offset}")]
pub struct PolError {
    pub file: String,
    pub offset: u64,
    pub reason: String,
}

/// A parsed `Registry.pol`: the entries read, and the damage that stopped the parse, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyFile {
    pub entries: Vec<PolEntry>,
    /// `Some` when the file is not a PReg file (no entries) or is damaged after `entries`.
    pub error: Option<PolError>,
}

/// What one file does to one value, after all of its instructions in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect<'a> {
    /// The file writes the value (the last writing instruction).
    Set(&'a PolEntry),
    /// The file writes the value only if absent (`**soft.`).
    SoftSet(&'a PolEntry),
    /// The file deletes the value (the last deleting instruction).
    Deleted(&'a PolEntry),
}

impl<'a> Effect<'a> {
    pub fn entry(&self) -> &'a PolEntry {
        match self {
            Effect::Set(e) | Effect::SoftSet(e) | Effect::Deleted(e) => e,
        }
    }
}

impl PolicyFile {
    /// What the file does, in order, to value `name` of `key` (`None`: nothing). One pass over
    /// the instructions, without allocating per instruction.
    pub fn effect_on(&self, key: &str, name: &str) -> Option<Effect<'_>> {
        let want = key.trim_matches('\\');
        let mut out = None;
        for e in &self.entries {
            let on_key = e.key.trim_matches('\\').eq_ignore_ascii_case(want);
            match &e.op {
                PolOp::Set { value } if on_key && value.eq_ignore_ascii_case(name) => {
                    out = Some(Effect::Set(e))
                }
                // `**soft.` writes only if the value is absent: after a set in this file it does
                // nothing; after a deletion in this file it writes (a set); first in the file it
                // depends on what earlier GPOs left (the attribution decides).
                PolOp::SoftSet { value } if on_key && value.eq_ignore_ascii_case(name) => {
                    out = match out {
                        None => Some(Effect::SoftSet(e)),
                        Some(Effect::Deleted(_)) => Some(Effect::Set(e)),
                        kept @ Some(Effect::Set(_) | Effect::SoftSet(_)) => kept,
                    }
                }
                PolOp::DeleteValue { value } if on_key && value.eq_ignore_ascii_case(name) => {
                    out = Some(Effect::Deleted(e))
                }
                PolOp::DeleteAllValues if on_key => out = Some(Effect::Deleted(e)),
                PolOp::DeleteValues { values }
                    if on_key && values.iter().any(|v| v.eq_ignore_ascii_case(name)) =>
                {
                    out = Some(Effect::Deleted(e))
                }
                PolOp::DeleteKeys { keys } if deletes_key(&e.key, keys, want) => {
                    out = Some(Effect::Deleted(e))
                }
                _ => {}
            }
        }
        out
    }
}

/// Whether `**DeleteKeys` of `base` naming `subkeys` deletes `key` (the subkey itself or a key
/// below it).
fn deletes_key(base: &str, subkeys: &[String], key: &str) -> bool {
    let base = base.trim_matches('\\');
    let Some(rest) = key
        .get(..base.len())
        .filter(|head| head.eq_ignore_ascii_case(base))
        .and_then(|_| key.get(base.len()..))
        .and_then(|r| r.strip_prefix('\\'))
    else {
        return false;
    };
    subkeys.iter().any(|sub| {
        let sub = sub.trim_matches('\\');
        !sub.is_empty()
            && rest
                .get(..sub.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(sub))
            && matches!(rest.as_bytes().get(sub.len()), None | Some(b'\\'))
    })
}

/// The operation a value field stands for (case-insensitive prefixes, as gpedit writes them in
/// lower case and the format page spells them in mixed case).
fn op_of(value_name: &str, data: &RegData) -> PolOp {
    let lower = value_name.to_ascii_lowercase();
    let list = || -> Vec<String> {
        let text = match data {
            RegData::Sz(s) | RegData::ExpandSz(s) => s.clone(),
            RegData::MultiSz(items) => items.join(";"),
            _ => String::new(),
        };
        text.split(';')
            .map(|s| s.trim_matches(char::from(0)).trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if !lower.starts_with("**") {
        return PolOp::Set {
            value: value_name.to_string(),
        };
    }
    if lower.starts_with("**delvals") {
        PolOp::DeleteAllValues
    } else if lower.starts_with("**del.") {
        PolOp::DeleteValue {
            value: value_name[6..].to_string(),
        }
    } else if lower == "**deletevalues" {
        PolOp::DeleteValues { values: list() }
    } else if lower == "**deletekeys" {
        PolOp::DeleteKeys { keys: list() }
    } else if lower == "**securekey" {
        PolOp::SecureKey
    } else if lower.starts_with("**soft.") {
        PolOp::SoftSet {
            value: value_name[7..].to_string(),
        }
    } else {
        PolOp::Unknown {
            name: value_name.to_string(),
        }
    }
}

/// A cursor over the file that never reads past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated UTF-16LE string (the NUL consumed); `None` at the end of the file.
    fn string(&mut self) -> Option<String> {
        let mut units = Vec::new();
        loop {
            match self.u16()? {
                0 => return Some(String::from_utf16_lossy(&units)),
                u => units.push(u),
            }
        }
    }
}

/// Parse a `Registry.pol`. `file` names it in errors.
pub fn parse(bytes: &[u8], file: &str) -> PolicyFile {
    let err = |offset: usize, reason: String| PolError {
        file: file.to_string(),
        offset: offset as u64,
        reason,
    };
    let mut out = PolicyFile {
        entries: Vec::new(),
        error: None,
    };
    if !bytes.starts_with(SIGNATURE) {
        out.error = Some(err(0, "not a Registry.pol file: no PReg signature".into()));
        return out;
    }
    let mut c = Cursor { bytes, pos: 4 };
    match c.u32() {
        Some(VERSION) => {}
        Some(v) => {
            out.error = Some(err(
                4,
                format!("unsupported PReg version {v} (only 1 is defined)"),
            ));
            return out;
        }
        None => {
            out.error = Some(err(4, "file ends inside the header".into()));
            return out;
        }
    }
    const OPEN: u16 = b'[' as u16;
    const SEMI: u16 = b';' as u16;
    const CLOSE: u16 = b']' as u16;
    while c.pos < bytes.len() {
        let start = c.pos;
        // A file may end with padding NULs; anything else must open an instruction.
        match c.u16() {
            Some(OPEN) => {}
            Some(0) if bytes[start..].iter().all(|&b| b == 0) => break,
            Some(u) => {
                out.error = Some(err(start, format!("expected '[' but found U+{u:04X}")));
                return out;
            }
            None => {
                out.error = Some(err(start, "a lone byte after the last instruction".into()));
                return out;
            }
        }
        let expect = |c: &mut Cursor<'_>, what: &str, unit: u16| -> Result<(), PolError> {
            let at = c.pos;
            match c.u16() {
                Some(u) if u == unit => Ok(()),
                Some(u) => Err(err(at, format!("expected '{what}' but found U+{u:04X}"))),
                None => Err(err(at, format!("file ends where '{what}' is expected"))),
            }
        };
        let step = (|| -> Result<PolEntry, PolError> {
            let key = c.string().ok_or_else(|| {
                err(
                    start,
                    "file ends inside the key of the instruction that starts here".into(),
                )
            })?;
            expect(&mut c, ";", SEMI)?;
            let value_name = c.string().ok_or_else(|| {
                err(
                    start,
                    "file ends inside the value name of the instruction that starts here".into(),
                )
            })?;
            expect(&mut c, ";", SEMI)?;
            let at = c.pos;
            let type_code = c
                .u32()
                .ok_or_else(|| err(at, "file ends inside the type".into()))?;
            expect(&mut c, ";", SEMI)?;
            let at = c.pos;
            let size = c
                .u32()
                .ok_or_else(|| err(at, "file ends inside the size".into()))?
                as usize;
            expect(&mut c, ";", SEMI)?;
            let at = c.pos;
            let raw = bytes
                .get(at..)
                .and_then(|rest| rest.get(..size))
                .ok_or_else(|| {
                    err(
                        at,
                        format!(
                            "data size {size} runs past the end of the file ({} bytes left)",
                            bytes.len().saturating_sub(at)
                        ),
                    )
                })?;
            c.pos = at + size;
            expect(&mut c, "]", CLOSE)?;
            let data = decode(type_code, raw);
            let op = op_of(&value_name, &data);
            Ok(PolEntry {
                offset: start as u64,
                key,
                value_name,
                type_code,
                data,
                op,
            })
        })();
        match step {
            Ok(entry) => out.entries.push(entry),
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        }
    }
    out
}

/// A GPO's `GPT.INI`: `[General]` `Version=N` (and `displayName=` in SYSVOL copies; S100,
/// S107). Tolerant: UTF-8 or UTF-16LE (with BOM), any case, other sections ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GptIni {
    /// `Version`: upper 16 bits the user version, lower 16 bits the computer version.
    pub version: Option<u32>,
    pub display_name: Option<String>,
}

impl GptIni {
    /// The computer-policy part of the version (lower 16 bits).
    pub fn machine_version(&self) -> Option<u32> {
        self.version.map(|v| v & 0xFFFF)
    }

    /// The user-policy part of the version (upper 16 bits).
    pub fn user_version(&self) -> Option<u32> {
        self.version.map(|v| v >> 16)
    }
}

/// Parse a `GPT.INI`; `Err` with the reason when it has no `[General]` section.
pub fn parse_gpt_ini(bytes: &[u8]) -> Result<GptIni, String> {
    let text = if bytes.starts_with(&[0xFF, 0xFE]) {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned()
    };
    let mut in_general = false;
    let mut seen_general = false;
    let mut out = GptIni {
        version: None,
        display_name: None,
    };
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_general = section.trim().eq_ignore_ascii_case("general");
            seen_general |= in_general;
            continue;
        }
        if !in_general {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("version") {
            out.version = v.parse().ok();
        } else if k.eq_ignore_ascii_case("displayname") {
            out.display_name = Some(v.to_string());
        }
    }
    if seen_general {
        Ok(out)
    } else {
        Err("no [General] section".into())
    }
}

/// What a Group Policy file of the capture holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpContent {
    /// A `Registry.pol`, parsed (`error` set when damage stopped the parse).
    Policy(PolicyFile),
    /// A `GPT.INI`.
    GptIni(GptIni),
    /// The file could not be used: why (it is `rejected` in the inventory).
    Unusable(String),
}

/// A Group Policy file of the capture, with what its path says (which artifact of
/// `catalog/group_policy.tsv`, which GPO, which scope) and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpFile {
    /// Input path relative to the capture root.
    pub path: String,
    /// The artifact row its path matched (`local_gpo`, `history_cache`, …); `None` when the path
    /// names no GPO.
    pub artifact: Option<&'static str>,
    /// Upper-case braced GPO GUID from the path; `None` for the local GPO (or no match).
    pub guid: Option<String>,
    pub scope: Option<crate::catalog::group_policy::Scope>,
    pub content: GpContent,
}

/// Read a Group Policy input's bytes into a [`GpFile`] and the problems found (the first
/// problem, if any, decides: damage in a pol file with entries before it is `partial`).
pub fn read_gp_file(path: &str, bytes: &[u8], is_gpt_ini: bool) -> GpFile {
    let m = crate::catalog::group_policy::classify_file(path);
    let content = if is_gpt_ini {
        match parse_gpt_ini(bytes) {
            Ok(g) => GpContent::GptIni(g),
            Err(e) => GpContent::Unusable(e),
        }
    } else {
        GpContent::Policy(parse(bytes, path))
    };
    GpFile {
        path: path.to_string(),
        artifact: m.as_ref().map(|m| m.artifact.name.as_str()),
        guid: m.as_ref().and_then(|m| m.guid.clone()),
        scope: m.as_ref().and_then(|m| m.scope),
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    fn entry(key: &str, value: &str, ty: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let ch = |c: char| (c as u16).to_le_bytes();
        v.extend(ch('['));
        v.extend(utf16z(key));
        v.extend(ch(';'));
        v.extend(utf16z(value));
        v.extend(ch(';'));
        v.extend(ty.to_le_bytes());
        v.extend(ch(';'));
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(ch(';'));
        v.extend(data);
        v.extend(ch(']'));
        v
    }

    fn file(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut v = b"PReg".to_vec();
        v.extend(1u32.to_le_bytes());
        for e in entries {
            v.extend(e);
        }
        v
    }

    const TS: &str = r"Software\Policies\Microsoft\Windows NT\Terminal Services";

    #[test]
    fn entries_and_operations() {
        let bytes = file(&[
            entry(TS, "LicensingMode", 4, &4u32.to_le_bytes()),
            entry(TS, "LicenseServers", 1, &utf16z("ls1,ls2")),
            entry(TS, "**del.MaxIdleTime", 1, &utf16z(" ")),
            entry(TS, "**DeleteValues", 1, &utf16z("A;MaxDisconnectionTime")),
        ]);
        let p = parse(&bytes, "Registry.pol");
        assert_eq!(p.error, None);
        assert_eq!(p.entries.len(), 4);
        assert_eq!(p.entries[0].data, RegData::Dword(4));
        assert_eq!(p.entries[0].offset, 8);
        assert!(matches!(
            p.effect_on(TS, "licensingmode"),
            Some(Effect::Set(e)) if e.data == RegData::Dword(4)
        ));
        assert!(matches!(
            p.effect_on(TS, "MaxIdleTime"),
            Some(Effect::Deleted(_))
        ));
        assert!(matches!(
            p.effect_on(TS, "MaxDisconnectionTime"),
            Some(Effect::Deleted(_))
        ));
        assert_eq!(p.effect_on(TS, "Other"), None);
    }

    #[test]
    fn a_later_instruction_of_the_same_file_decides() {
        let bytes = file(&[
            entry(TS, "LicensingMode", 4, &2u32.to_le_bytes()),
            entry(TS, "**delvals.", 1, &utf16z(" ")),
            entry(
                r"Software\Policies\Microsoft",
                "**DeleteKeys",
                1,
                &utf16z("Windows NT"),
            ),
        ]);
        let p = parse(&bytes, "x");
        let e = p.effect_on(TS, "LicensingMode").unwrap();
        assert!(matches!(e, Effect::Deleted(_)));
        assert_eq!(e.entry().value_name, "**DeleteKeys");
    }

    #[test]
    fn damage_keeps_what_came_before_and_names_the_offset() {
        let mut bytes = file(&[entry(TS, "LicensingMode", 4, &4u32.to_le_bytes())]);
        let good = bytes.len();
        bytes.extend(entry(TS, "X", 4, &[1, 2, 3, 4]));
        // Claim far more data than the file holds.
        let size_at = bytes.len() - 2 - 4 - 2 - 4;
        bytes[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = parse(&bytes, "C/GroupPolicy/Machine/Registry.pol");
        assert_eq!(p.entries.len(), 1);
        let e = p.error.unwrap();
        assert_eq!(e.offset as usize, size_at + 6);
        assert!(
            e.to_string().contains("C/GroupPolicy/Machine/Registry.pol"),
            "{e}"
        );
        assert!(good < bytes.len());
    }

    #[test]
    fn headers_and_truncations_never_panic() {
        assert!(parse(b"", "f").error.is_some());
        assert!(parse(b"PReg", "f").error.is_some());
        assert!(parse(b"PReg\x02\0\0\0", "f").error.is_some());
        assert_eq!(parse(b"PReg\x01\0\0\0", "f").error, None);
        assert_eq!(parse(b"PReg\x01\0\0\0\0\0\0\0", "f").error, None);
        let whole = file(&[entry(TS, "V", 4, &1u32.to_le_bytes())]);
        for cut in 0..whole.len() {
            let p = parse(&whole[..cut], "f");
            assert!(p.entries.is_empty());
        }
        assert_eq!(parse(&whole, "f").entries.len(), 1);
    }

    #[test]
    fn gpt_ini_version_halves() {
        let g = parse_gpt_ini(b"[General]\r\nVersion=65539\r\ndisplayName=RDS\r\n").unwrap();
        assert_eq!(g.version, Some(65539));
        assert_eq!(g.machine_version(), Some(3));
        assert_eq!(g.user_version(), Some(1));
        assert_eq!(g.display_name.as_deref(), Some("RDS"));
        assert!(parse_gpt_ini(b"Version=1").is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "[general]\nversion=7\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(parse_gpt_ini(&utf16).unwrap().version, Some(7));
    }

    #[test]
    fn a_soft_set_within_one_file_follows_what_came_before_it() {
        let dword = |n: u32| n.to_le_bytes();
        // After a set in the same file: no effect, the set stands.
        let p = parse(
            &file(&[
                entry(TS, "LicensingMode", 4, &dword(2)),
                entry(TS, "**soft.LicensingMode", 4, &dword(4)),
            ]),
            "Registry.pol",
        );
        match p.effect_on(TS, "LicensingMode") {
            Some(Effect::Set(e)) => assert_eq!(e.data, RegData::Dword(2)),
            other => panic!("{other:?}"),
        }
        // After a deletion in the same file: the value is absent, so it writes.
        let p = parse(
            &file(&[
                entry(TS, "**del.LicensingMode", 1, &utf16z(" ")),
                entry(TS, "**soft.LicensingMode", 4, &dword(4)),
            ]),
            "Registry.pol",
        );
        match p.effect_on(TS, "LicensingMode") {
            Some(Effect::Set(e)) => assert_eq!(e.data, RegData::Dword(4)),
            other => panic!("{other:?}"),
        }
        // First in the file: it depends on earlier GPOs.
        let p = parse(
            &file(&[entry(TS, "**soft.LicensingMode", 4, &dword(4))]),
            "Registry.pol",
        );
        assert!(matches!(
            p.effect_on(TS, "LicensingMode"),
            Some(Effect::SoftSet(_))
        ));
    }
}
