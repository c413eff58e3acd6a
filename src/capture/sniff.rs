//! Recognise what a file is from its bytes: hive (and which hive), hive transaction log, EVTX,
//! `.reg` export, `reg query` text, Group Policy `Registry.pol`, zip archive, or something else.
//! Names are only a fallback hint, except for a GPO's `GPT.INI` (an INI file is only told apart
//! by its name and its `[General]` section).

use super::hive_guard as guard;
use crate::catalog::gpresult::{signature_of, GpresultForm};
use crate::evidence::{HiveKind, InputKind};

/// What the first bytes (and, for hives, the whole file) say about an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: InputKind,
    pub hive: Option<HiveKind>,
    /// How the kind or role was decided, when it was not plain magic bytes and not the content
    /// (a fallback or a doubt: shown as a problem).
    pub note: Option<String>,
    /// For hives whose role the content decided: the signal that decided it.
    pub signal: Option<String>,
}

impl Sniffed {
    fn kind(kind: InputKind) -> Self {
        Sniffed {
            kind,
            hive: None,
            note: None,
            signal: None,
        }
    }
}

/// Bytes of the head that [`sniff_head`] looks at.
pub const HEAD_LEN: usize = 64 * 1024;

const REGF: &[u8; 4] = b"regf";
const ELF_FILE: &[u8; 8] = b"ElfFile\0";
const ZIP_LOCAL: &[u8; 4] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8; 4] = b"PK\x05\x06";
/// A Registry.pol header: `PReg` and the version DWORD 1 (reference §8.1, S40, S41).
const PREG_V1: &[u8; 8] = b"PReg\x01\0\0\0";

/// Offset of the base block's file type field (0 = primary file, 1/2/6 = transaction log).
const BASE_BLOCK_FILE_TYPE: usize = 28;
/// Offset and length of the base block's file name field (UTF-16LE, last 32 characters of the
/// path the hive had when it was loaded).
const BASE_BLOCK_FILE_NAME: std::ops::Range<usize> = 0x30..0x70;

/// Classify by the head of the file. Hives are only recognised as `Hive`/`HiveLog` here; their
/// role needs the whole file (see [`hive_role`]).
pub fn sniff_head(head: &[u8]) -> Sniffed {
    if head.starts_with(REGF) {
        let file_type = read_u32(head, BASE_BLOCK_FILE_TYPE);
        let hive = base_block_file_name(head).and_then(|n| role_from_name(&n));
        // Only 1, 2 and 6 are log file types; 0 is a primary file, and anything else (garbage
        // after `regf`) is a primary file with a bad base block, which the registry reader
        // rejects with its reason — not a log to be ignored.
        let kind = if matches!(file_type, Some(1 | 2 | 6)) {
            InputKind::HiveLog
        } else {
            InputKind::Hive
        };
        return Sniffed {
            kind,
            hive,
            note: None,
            signal: None,
        };
    }
    if head.starts_with(ELF_FILE) {
        return Sniffed::kind(InputKind::Evtx);
    }
    if head.starts_with(ZIP_LOCAL) || head.starts_with(ZIP_EMPTY) {
        return Sniffed::kind(InputKind::Archive);
    }
    if head.starts_with(PREG_V1) {
        return Sniffed::kind(InputKind::PolicyFile);
    }
    if let Some(text) = decode_text_head(head) {
        if is_reg_export(&text) {
            return Sniffed {
                kind: InputKind::RegExport,
                hive: text_hive(&text),
                note: None,
                signal: None,
            };
        }
        if is_reg_query(&text) {
            return Sniffed {
                kind: InputKind::RegQuery,
                hive: text_hive(&text),
                note: None,
                signal: None,
            };
        }
    }
    Sniffed::kind(InputKind::Other)
}

/// [`sniff_head`], then a file the content leaves as `Other`: a file named `GPT.INI` whose text has a
/// `[General]` section is a GPO's `GPT.INI` (S100); gpresult output ([`gpresult_form`]: by content, an
/// HTML report also by a collector's file name) is `Gpresult`.
pub fn sniff_named(head: &[u8], path: &str) -> Sniffed {
    let sniffed = sniff_head(head);
    if sniffed.kind != InputKind::Other {
        return sniffed;
    }
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if name.eq_ignore_ascii_case("gpt.ini") && has_general_section(&head[..head.len().min(4096)]) {
        return Sniffed::kind(InputKind::GptIni);
    }
    if gpresult_form(head, path).is_some() {
        return Sniffed::kind(InputKind::Gpresult);
    }
    sniffed
}

/// gpresult output recognised by its content: the XML report's `Rsop` root (`gpresult /x`), the
/// text report's section headers (`gpresult /z`, `/v`), the HTML report's GPO and winning-GPO
/// tables (`gpresult /h`). An HTML page whose head does not show them (a long script block first)
/// still counts when its name is a collector's gpresult name (`catalog/gpresult_files.tsv`).
pub fn gpresult_form(head: &[u8], path: &str) -> Option<GpresultForm> {
    let text = decode_text_head(head)?;
    let lower = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    if lower.starts_with("<?xml") || lower.starts_with("<rsop") {
        return lower.contains("<rsop").then_some(GpresultForm::Xml);
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        let named = signature_of(path).is_some_and(|s| s.form == GpresultForm::Html);
        let tables = lower.contains("winning gpo")
            || lower.contains("applied gpos")
            || lower.contains("denied gpos");
        return (named || tables).then_some(GpresultForm::Html);
    }
    let text_report = lower.contains("applied group policy objects")
        || lower.contains("resultant set of policies for")
        || (lower.contains("rsop data for") && lower.contains("logging mode"));
    text_report.then_some(GpresultForm::Text)
}

/// Whether INI text (UTF-8, or UTF-16LE with a BOM) has a `[General]` line.
fn has_general_section(head: &[u8]) -> bool {
    let text = if head.starts_with(&[0xFF, 0xFE]) {
        let units: Vec<u16> = head[2..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(head).into_owned()
    };
    text.lines().any(|l| {
        l.trim()
            .trim_start_matches('\u{feff}')
            .eq_ignore_ascii_case("[general]")
    })
}

/// The file name stored in a hive base block, if readable.
pub fn base_block_file_name(head: &[u8]) -> Option<String> {
    let raw = head.get(BASE_BLOCK_FILE_NAME)?;
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let name = String::from_utf16(&units).ok()?;
    (!name.trim().is_empty()).then_some(name)
}

/// Guess a hive's role from a file name or the base block's stored path (last component).
pub fn role_from_name(name: &str) -> Option<HiveKind> {
    let last = name.rsplit(['\\', '/']).next().unwrap_or(name);
    let stem = last.split('.').next().unwrap_or(last).to_ascii_uppercase();
    match stem.as_str() {
        "SYSTEM" => Some(HiveKind::System),
        "SOFTWARE" => Some(HiveKind::Software),
        "SECURITY" => Some(HiveKind::Security),
        "SAM" => Some(HiveKind::Sam),
        "NTUSER" => Some(HiveKind::NtUser),
        "USRCLASS" => Some(HiveKind::UsrClass),
        _ => None,
    }
}

/// Decide a primary hive's role from its content: the well-known children of its root key
/// (reference §1.2). Falls back to the name stored in the base block, then to `Other`.
pub fn hive_role(bytes: &[u8]) -> Sniffed {
    let from_name = base_block_file_name(bytes).and_then(|n| role_from_name(&n));
    let root = root_facts(bytes);
    let by_content = root.as_ref().and_then(role_from_content);
    let (hive, note, signal) = match (by_content, from_name) {
        (Some((h, signal)), _) => (h, None, Some(signal)),
        (None, Some(h)) => (
            h,
            Some(
                "role from the file name stored in the hive header (root keys not recognised)"
                    .to_string(),
            ),
            None,
        ),
        (None, None) => (
            HiveKind::Other,
            Some(match &root {
                Some(r) if r.user_software() => USER_SOFTWARE.to_string(),
                Some(_) => {
                    "root keys do not match SYSTEM, SOFTWARE, SECURITY, SAM, NTUSER or USRCLASS"
                        .to_string()
                }
                None => "root key could not be read".to_string(),
            }),
            None,
        ),
    };
    Sniffed {
        kind: InputKind::Hive,
        hive: Some(hive),
        note,
        signal,
    }
}

const USER_SOFTWARE: &str =
    "root looks like a user's Software key (Microsoft\\Windows NT\\CurrentVersion \
     without ProductName or CurrentBuild): not the machine SOFTWARE hive";

/// [`hive_role`], falling back on the file's own name (`SYSTEM`, `software.sav`, any case) when
/// neither the root keys nor the base block's stored name decide, e.g. for a file that starts
/// with `regf` and then holds garbage. The note says which signal decided.
pub fn hive_role_named(bytes: &[u8], file_name: &str) -> Sniffed {
    // A damaged transaction log (`SYSTEM.LOG1` whose file type is garbage) stays a log: the
    // replay reports it, and the hive it belongs to is not shadowed by a rejected "hive".
    let file_type = read_u32(bytes, BASE_BLOCK_FILE_TYPE);
    if file_type != Some(0) && is_log_file_name(file_name) {
        return Sniffed {
            kind: InputKind::HiveLog,
            hive: role_from_name(file_name),
            note: Some(format!(
                "base block file type {} is not a registry file type; a transaction log by its name",
                file_type.unwrap_or(0)
            )),
            signal: None,
        };
    }
    let mut s = hive_role(bytes);
    // Only when the content cannot be read at all: a readable root that matches no hive stays
    // `Other` (a user's `Software` key saved as `SOFTWARE` is not the machine hive).
    if s.hive == Some(HiveKind::Other) && root_facts(bytes).is_none() {
        if let Some(h) = role_from_name(file_name) {
            s.hive = Some(h);
            s.note = Some(format!(
                "role {h} from the file's own name (the root key cannot be read and the hive header names no hive)"
            ));
        }
    }
    s
}

/// `….LOG`, `….LOG1`, `….LOG2`, any case.
fn is_log_file_name(name: &str) -> bool {
    let last = name.rsplit(['\\', '/']).next().unwrap_or(name);
    last.rsplit_once('.').is_some_and(|(_, ext)| {
        ["log", "log1", "log2"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// What the root key of a hive holds, as far as role decisions need it.
#[derive(Debug, Default)]
struct RootFacts {
    /// Lower-cased names of the root key's subkeys.
    children: Vec<String>,
    /// `Microsoft\Windows NT\CurrentVersion` exists below the root.
    current_version: bool,
    /// ... and holds `ProductName` or `CurrentBuild` (`CurrentBuildNumber`), as the machine
    /// SOFTWARE hive's does and a user's `Software` key's does not.
    os_identity: bool,
}

impl RootFacts {
    fn has(&self, n: &str) -> bool {
        self.children.iter().any(|c| c == n)
    }

    fn user_software(&self) -> bool {
        self.current_version && !self.os_identity
    }
}

/// The root key's subkeys and OS identity values, or `None` when the root cannot be read. Each
/// node is handed to nt-hive only for what `hive_guard` says it can do without panicking.
fn root_facts(bytes: &[u8]) -> Option<RootFacts> {
    type Node<'h, 'b> = nt_hive::KeyNode<'h, &'b [u8]>;
    let cell = |k: &Node<'_, '_>| {
        let name = match k.name().ok()? {
            nt_hive::NtHiveNameString::Latin1(s) | nt_hive::NtHiveNameString::Utf16LE(s) => s,
        };
        guard::cell_of(bytes, name, guard::NK_NAME, b"nk")
    };
    let subkeys_safe = |k: &Node<'_, '_>| cell(k).is_some_and(|c| guard::subkeys_safe(bytes, c));
    if !guard::root_safe(bytes) {
        return None;
    }
    let hive = nt_hive::Hive::without_validation(bytes).ok()?;
    let root = hive.root_key_node().ok()?;
    let mut facts = RootFacts::default();
    if subkeys_safe(&root) {
        if let Some(Ok(subkeys)) = root.subkeys() {
            for key in subkeys.take(10_000) {
                let Ok(key) = key else { continue };
                if let Ok(name) = key.name() {
                    facts
                        .children
                        .push(name.to_string_lossy().to_ascii_lowercase());
                }
            }
        }
    }
    let mut node = root;
    for name in ["Microsoft", "Windows NT", "CurrentVersion"] {
        if !subkeys_safe(&node) {
            return Some(facts);
        }
        match node.subkey(name) {
            Some(Ok(k)) => node = k,
            _ => return Some(facts),
        }
    }
    facts.current_version = true;
    if cell(&node).is_some_and(|c| guard::values_safe(bytes, c)) {
        let has = |name: &str| node.value(name).is_some_and(|v| v.is_ok());
        facts.os_identity = has("ProductName") || has("CurrentBuild") || has("CurrentBuildNumber");
    }
    Some(facts)
}

/// The role the root's content shows, with the signal that decided it.
fn role_from_content(r: &RootFacts) -> Option<(HiveKind, String)> {
    let found = |h: HiveKind, why: &str| Some((h, format!("{h}: {why}")));
    if r.has("select") && r.children.iter().any(|c| c.starts_with("controlset")) {
        found(HiveKind::System, "root holds Select and ControlSetNNN")
    } else if r.os_identity && !r.has("environment") {
        found(
            HiveKind::Software,
            "Microsoft\\Windows NT\\CurrentVersion holds ProductName or CurrentBuild",
        )
    } else if r.has("policy") && r.has("rxact") {
        found(HiveKind::Security, "root holds Policy and RXACT")
    } else if r.has("sam") && !r.has("policy") {
        found(HiveKind::Sam, "root holds SAM")
    } else if r.has("software") && (r.has("environment") || r.has("control panel")) {
        found(
            HiveKind::NtUser,
            "root holds Software with Environment or Control Panel",
        )
    } else if r.has("local settings") || (r.has("clsid") && !r.has("software")) {
        found(HiveKind::UsrClass, "root holds Local Settings or CLSID")
    } else {
        None
    }
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decode the head of a text file: UTF-16LE (with BOM, or recognised by its NUL pattern), UTF-8
/// (BOM optional), otherwise a single-byte code page read as Latin-1. `None` for binary data.
pub fn decode_text_head(head: &[u8]) -> Option<String> {
    if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        return Some(utf16le_lossy(rest));
    }
    if let Some(rest) = head.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Some(String::from_utf8_lossy(rest).into_owned());
    }
    let sample = &head[..head.len().min(512)];
    if sample.len() >= 4 {
        let odd_nuls = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count();
        let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
        if odd_nuls * 10 >= sample.len() / 2 * 9 && even_nuls == 0 {
            return Some(utf16le_lossy(head));
        }
    }
    if sample.contains(&0) {
        return None;
    }
    Some(match std::str::from_utf8(head) {
        Ok(s) => s.to_string(),
        // A cut in the middle of a multi-byte sequence at the end of the head is fine.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => head.iter().map(|&b| b as char).collect(),
    })
}

fn utf16le_lossy(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn is_reg_export(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    matches!(first, Some(l) if l == "Windows Registry Editor Version 5.00" || l == "REGEDIT4")
}

/// `reg query` output: a line with a full root key name followed (possibly after blank lines) by a
/// value line `    <name>    REG_<TYPE>    <data>`, or by another key line (subkeys without values).
fn is_reg_query(text: &str) -> bool {
    let mut saw_key = false;
    for line in text.lines().take(2_000) {
        let line = line.trim_end_matches('\r');
        if is_root_key_line(line) {
            if saw_key {
                return true;
            }
            saw_key = true;
        } else if saw_key && line.starts_with("    ") && line.contains("    REG_") {
            return true;
        }
    }
    false
}

fn is_root_key_line(line: &str) -> bool {
    const ROOTS: [&str; 5] = [
        "HKEY_LOCAL_MACHINE\\",
        "HKEY_CURRENT_USER\\",
        "HKEY_USERS\\",
        "HKEY_CLASSES_ROOT\\",
        "HKEY_CURRENT_CONFIG\\",
    ];
    ROOTS.iter().any(|r| line.starts_with(r))
}

/// Which hive a registry text export is about: the first full key path in it.
fn text_hive(text: &str) -> Option<HiveKind> {
    for line in text.lines().take(2_000) {
        let l = line.trim().trim_start_matches('[').trim_start_matches('-');
        let upper = l.to_ascii_uppercase();
        if let Some(rest) = upper
            .strip_prefix("HKEY_LOCAL_MACHINE\\")
            .or_else(|| upper.strip_prefix("HKLM\\"))
        {
            let top = rest.split(['\\', ']']).next().unwrap_or("");
            return match top {
                "SYSTEM" => Some(HiveKind::System),
                "SOFTWARE" => Some(HiveKind::Software),
                "SECURITY" => Some(HiveKind::Security),
                "SAM" => Some(HiveKind::Sam),
                _ => Some(HiveKind::Other),
            };
        }
        if upper.starts_with("HKEY_CURRENT_USER") || upper.starts_with("HKEY_USERS\\") {
            return Some(HiveKind::NtUser);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        v
    }

    #[test]
    fn reg_export_in_both_encodings() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n\"fDenyTSConnections\"=dword:00000000\r\n";
        for bytes in [utf16(text), text.as_bytes().to_vec()] {
            let s = sniff_head(&bytes);
            assert_eq!(s.kind, InputKind::RegExport);
            assert_eq!(s.hive, Some(HiveKind::System));
        }
        let r4 = "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies]\n";
        assert_eq!(sniff_head(r4.as_bytes()).hive, Some(HiveKind::Software));
    }

    #[test]
    fn reg_query_text_with_banner_and_without_bom() {
        let text = "==== TSS registry ====\r\n\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\r\n    LicensingMode    REG_DWORD    0x4\r\n";
        let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for bytes in [text.as_bytes().to_vec(), utf16(text), no_bom] {
            let s = sniff_head(&bytes);
            assert_eq!(s.kind, InputKind::RegQuery, "{bytes:?}");
            assert_eq!(s.hive, Some(HiveKind::Software));
        }
    }

    #[test]
    fn plain_text_and_binary_are_other() {
        assert_eq!(
            sniff_head(b"hello\nHKEY_LOCAL_MACHINE is a word\n").kind,
            InputKind::Other
        );
        assert_eq!(sniff_head(&[0u8, 1, 2, 3, 0, 0, 9]).kind, InputKind::Other);
        assert_eq!(sniff_head(b"").kind, InputKind::Other);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff_head(b"ElfFile\0rest").kind, InputKind::Evtx);
        assert_eq!(sniff_head(b"PK\x03\x04....").kind, InputKind::Archive);
        assert_eq!(sniff_head(b"PReg\x01\0\0\0[").kind, InputKind::PolicyFile);
        assert_eq!(sniff_head(b"PReg\x02\0\0\0").kind, InputKind::Other);
        let ini = b"[General]\r\nVersion=3\r\n";
        assert_eq!(sniff_named(ini, "P/{X}/GPT.INI").kind, InputKind::GptIni);
        assert_eq!(sniff_named(ini, "P/{X}/other.ini").kind, InputKind::Other);
        assert_eq!(sniff_named(b"Version=3", "gpt.ini").kind, InputKind::Other);
        let mut log = vec![0u8; 512];
        log[..4].copy_from_slice(b"regf");
        log[28] = 6;
        assert_eq!(sniff_head(&log).kind, InputKind::HiveLog);
        log[28] = 0;
        assert_eq!(sniff_head(&log).kind, InputKind::Hive);
        for t in [1u8, 2] {
            log[28] = t;
            assert_eq!(sniff_head(&log).kind, InputKind::HiveLog);
        }
        // `regf` then garbage: a primary file with a bad base block, not a log.
        log[28..32].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
        assert_eq!(sniff_head(&log).kind, InputKind::Hive);
    }

    #[test]
    fn a_garbage_hive_is_named_by_its_file_name() {
        let mut b = vec![0xA5u8; 8192];
        b[..4].copy_from_slice(b"regf");
        let s = hive_role_named(&b, "system");
        assert_eq!(s.hive, Some(HiveKind::System));
        assert!(s.note.expect("note").contains("file's own name"));
        assert_eq!(hive_role_named(&b, "blob.bin").hive, Some(HiveKind::Other));
        let log = hive_role_named(&b, "config/SYSTEM.LOG1");
        assert_eq!(log.kind, InputKind::HiveLog);
        assert_eq!(log.hive, Some(HiveKind::System));
    }

    #[test]
    fn role_names() {
        assert_eq!(
            role_from_name("\\??\\C:\\Windows\\System32\\config\\SYSTEM"),
            Some(HiveKind::System)
        );
        assert_eq!(role_from_name("ntuser.dat.LOG1"), Some(HiveKind::NtUser));
        assert_eq!(role_from_name("SYSTEM_2"), None);
    }
}
