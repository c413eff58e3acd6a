//! Parsers for registry text exports: `.reg` files (`Windows Registry Editor Version 5.00` and
//! `REGEDIT4`, UTF-16LE with BOM or UTF-8/ANSI) and `reg query /s` output (reference §14). Both
//! produce the same [`ParsedText`]: keys with full paths as written and typed values. Bad lines
//! are reported with their line number and skipped; the rest of the file is still used.

use super::decode::decode;
use super::types::RegData;

/// A problem on one line of a text export (1-based line numbers; for a value written over several
/// continuation lines, the line where it starts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TextError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> TextError {
    TextError {
        line,
        message: message.into(),
    }
}

/// A value line: `data: None` is a deletion (`"name"=-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedValue {
    /// Empty for the default value (`@`, `(Default)`).
    pub name: String,
    pub data: Option<RegData>,
    pub line: usize,
}

/// A key section, with its values in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// Full path as written (`HKEY_LOCAL_MACHINE\SYSTEM\…`).
    pub path: String,
    /// `[-key]`: the key and its subtree are deleted.
    pub deleted: bool,
    pub line: usize,
    pub values: Vec<ParsedValue>,
}

/// Which text encoding a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf16LeBom,
    Utf16BeBom,
    Utf16LeNoBom,
    Utf8Bom,
    Utf8,
    /// Windows-1252 (REGEDIT4 files are ANSI).
    Ansi,
}

/// A parsed text export: everything that could be read, plus the line errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedText {
    pub encoding: TextEncoding,
    /// `REGEDIT4` (strings in `hex(1|2|7)` data are single-byte ANSI).
    pub regedit4: bool,
    pub keys: Vec<ParsedKey>,
    pub errors: Vec<TextError>,
}

impl ParsedText {
    /// The first line error, if any: for callers that want all-or-nothing.
    pub fn strict(self) -> Result<ParsedText, TextError> {
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Ok(self),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings

/// Windows-1252 code points for 0x80..=0x9F (the rest of the byte range maps to Latin-1).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
];

pub(crate) fn cp1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => {
                char::from_u32(u32::from(CP1252_HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}')
            }
            _ => char::from(b),
        })
        .collect()
}

/// Decode a text export. Undecodable parts become U+FFFD and an error naming the line.
fn decode_text(bytes: &[u8]) -> (TextEncoding, String, Vec<TextError>) {
    let mut errors = Vec::new();
    let utf16 = |body: &[u8], be: bool, errors: &mut Vec<TextError>| -> String {
        let units = body.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        let mut out = String::with_capacity(body.len() / 2);
        let mut line = 1;
        for r in char::decode_utf16(units) {
            match r {
                Ok(c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    out.push(c);
                }
                Err(_) => {
                    if errors.last().is_none_or(|e: &TextError| e.line != line) {
                        errors.push(err(
                            line,
                            "invalid UTF-16 (unpaired surrogate): wrong encoding?",
                        ));
                    }
                    out.push('\u{FFFD}');
                }
            }
        }
        if body.len() % 2 == 1 {
            errors.push(err(
                line,
                "UTF-16 text ends with half a character: file cut short or wrong encoding",
            ));
        }
        out
    };
    let (encoding, text) = if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (TextEncoding::Utf16LeBom, utf16(body, false, &mut errors))
    } else if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (TextEncoding::Utf16BeBom, utf16(body, true, &mut errors))
    } else if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (TextEncoding::Utf8Bom, utf8_lines(body, &mut errors))
    } else if bytes.len() >= 4 && bytes[0] != 0 && bytes[1] == 0 && bytes[2] != 0 && bytes[3] == 0 {
        (TextEncoding::Utf16LeNoBom, utf16(bytes, false, &mut errors))
    } else if bytes.starts_with(b"REGEDIT4") && std::str::from_utf8(bytes).is_err() {
        (TextEncoding::Ansi, cp1252(bytes))
    } else {
        (TextEncoding::Utf8, utf8_lines(bytes, &mut errors))
    };
    (encoding, text, errors)
}

/// The lines of decoded text (without `\r\n` / `\n`), borrowed: no copy per line.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

fn utf8_lines(bytes: &[u8], errors: &mut Vec<TextError>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                match std::str::from_utf8(line) {
                    Ok(s) => out.push_str(s),
                    Err(_) => {
                        errors.push(err(i + 1, "not valid UTF-8: wrong encoding? (a v5 .reg export is UTF-16LE with a BOM)"));
                        out.push_str(&String::from_utf8_lossy(line));
                    }
                }
            }
            out
        }
    }
}

// ---------------------------------------------------------------------------------------------
// .reg

const REG5_HEADER: &str = "Windows Registry Editor Version 5.00";
const REG4_HEADER: &str = "REGEDIT4";
/// The longest data text one value may have (after joining its continuation lines): 32 MiB of
/// `hex:` text holds about 10 MiB of data, ten times the 1 MB the registry's standard format allows
/// for one value (S91). A longer value is skipped with a line problem; memory stays bounded by the
/// file.
const MAX_VALUE_TEXT: usize = 32 << 20;

/// Whether bytes look like a `.reg` export (header after an optional BOM).
pub fn looks_like_reg_export(bytes: &[u8]) -> bool {
    let (_, text, _) = decode_text(&bytes[..bytes.len().min(512)]);
    let found = lines(&text)
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            let l = l.trim();
            l.eq_ignore_ascii_case(REG5_HEADER) || l.eq_ignore_ascii_case(REG4_HEADER)
        });
    found
}

/// Parse a `.reg` export. `Err` only when the file is not a `.reg` export at all (no header);
/// bad lines are collected in `errors`.
pub fn parse_reg_export(bytes: &[u8]) -> Result<ParsedText, TextError> {
    parse_reg_export_limited(bytes, MAX_VALUE_TEXT)
}

/// [`parse_reg_export`] with the limit on one value's data text as a parameter (for tests).
fn parse_reg_export_limited(bytes: &[u8], max_value_text: usize) -> Result<ParsedText, TextError> {
    let (encoding, text, mut errors) = decode_text(bytes);
    let mut lines = lines(&text).enumerate().map(|(i, l)| (i + 1, l)).peekable();
    let mut header = (1, "");
    for (n, l) in lines.by_ref() {
        if !l.trim().is_empty() {
            header = (n, l.trim());
            break;
        }
        header = (n + 1, "");
    }
    let (header_line, header) = header;
    let regedit4 = if header.eq_ignore_ascii_case(REG5_HEADER) {
        false
    } else if header.eq_ignore_ascii_case(REG4_HEADER) {
        true
    } else {
        let shown: String = header.chars().take(60).collect();
        return Err(err(
            header_line,
            format!(
                "not a .reg export: expected {REG5_HEADER:?} or {REG4_HEADER:?}, found {shown:?}"
            ),
        ));
    };
    let mut keys: Vec<ParsedKey> = Vec::new();
    while let Some((lineno, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.trim().is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let rest = rest.trim_end();
            let Some(body) = rest.strip_suffix(']') else {
                errors.push(err(lineno, "key line without closing ']'"));
                keys.push(ParsedKey {
                    path: String::new(),
                    deleted: false,
                    line: lineno,
                    values: Vec::new(),
                });
                continue;
            };
            let (deleted, path) = match body.strip_prefix('-') {
                Some(p) => (true, p),
                None => (false, body),
            };
            keys.push(ParsedKey {
                path: path.trim().to_string(),
                deleted,
                line: lineno,
                values: Vec::new(),
            });
            continue;
        }
        // A value: name, '=', data (hex data may continue over several lines).
        let (name, after) = match parse_value_name(line) {
            Ok(x) => x,
            Err(m) => {
                errors.push(err(lineno, m));
                continue;
            }
        };
        let Some(data_text) = after.trim_start().strip_prefix('=') else {
            errors.push(err(
                lineno,
                format!("expected '=' after value name {name:?}"),
            ));
            continue;
        };
        let mut data_text = data_text.trim().to_string();
        if data_text
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("hex"))
        {
            // Continuation lines are appended in place (each byte is copied once). Past the
            // limit the rest of the value is still consumed, but not kept.
            let mut truncated = false;
            let mut too_long = data_text.len() > max_value_text;
            while data_text.ends_with('\\') {
                let next = lines.peek().map(|(_, l)| l.trim());
                match next {
                    Some(n)
                        if !n.is_empty()
                            && !n.starts_with('[')
                            && !n.starts_with('"')
                            && !n.starts_with('@') =>
                    {
                        data_text.pop();
                        let kept = data_text.trim_end().len();
                        data_text.truncate(kept);
                        if !too_long && data_text.len() + n.len() > max_value_text {
                            too_long = true;
                        }
                        if too_long {
                            // Keep only whether the value goes on.
                            data_text.clear();
                            data_text.push_str(if n.ends_with('\\') { "hex:\\" } else { "hex:" });
                        } else {
                            data_text.push_str(n);
                        }
                        lines.next();
                    }
                    _ => {
                        truncated = true;
                        break;
                    }
                }
            }
            if truncated {
                errors.push(err(lineno, format!("value {name:?}: hex data ends with '\\' but no continuation line follows (truncated)")));
                continue;
            }
            if too_long {
                errors.push(err(
                    lineno,
                    format!(
                        "value {name:?}: data longer than {} of text (the limit for one value): skipped",
                        if max_value_text >= 1 << 20 {
                            format!("{} MiB", max_value_text >> 20)
                        } else {
                            format!("{max_value_text} bytes")
                        }
                    ),
                ));
                continue;
            }
        }
        let Some(key) = keys.last_mut().filter(|k| !k.path.is_empty()) else {
            errors.push(err(lineno, "value line before any key line"));
            continue;
        };
        if key.deleted {
            errors.push(err(lineno, "value under a deleted key ([-…])"));
            continue;
        }
        match parse_reg_data(&data_text, regedit4) {
            Ok(data) => key.values.push(ParsedValue {
                name,
                data,
                line: lineno,
            }),
            Err(m) => errors.push(err(lineno, format!("value {name:?}: {m}"))),
        }
    }
    keys.retain(|k| !k.path.is_empty());
    Ok(ParsedText {
        encoding,
        regedit4,
        keys,
        errors,
    })
}

/// `"name"` (with `\\` and `\"` escapes) or `@`; returns the name and the rest of the line.
fn parse_value_name(line: &str) -> Result<(String, &str), String> {
    if let Some(rest) = line.strip_prefix('@') {
        return Ok((String::new(), rest));
    }
    let Some(body) = line.strip_prefix('"') else {
        let shown: String = line.chars().take(40).collect();
        return Err(format!(
            "expected a key line, a quoted value name or '@', found {shown:?}"
        ));
    };
    let (s, rest) =
        parse_quoted(body).ok_or_else(|| "value name without closing quote".to_string())?;
    Ok((s, rest))
}

/// A quoted string body after the opening quote: returns the unescaped text and what follows the
/// closing quote. Only `\\` and `\"` are escapes (regedit writes nothing else); any other
/// backslash is kept.
fn parse_quoted(body: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.clone().next() {
                Some((_, n @ ('\\' | '"'))) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    None
}

fn parse_reg_data(text: &str, regedit4: bool) -> Result<Option<RegData>, String> {
    if text == "-" {
        return Ok(None);
    }
    if let Some(body) = text.strip_prefix('"') {
        let (s, rest) = parse_quoted(body).ok_or("string data without closing quote")?;
        if !rest.trim().is_empty() {
            return Err(format!(
                "unexpected text after the closing quote: {:?}",
                rest.trim()
            ));
        }
        return Ok(Some(RegData::Sz(s)));
    }
    let lower = text.to_ascii_lowercase();
    if let Some(hexnum) = lower.strip_prefix("dword:") {
        let h = hexnum.trim();
        if h.is_empty() || h.len() > 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad dword {h:?} (expected up to 8 hex digits)"));
        }
        return u32::from_str_radix(h, 16)
            .map(|v| Some(RegData::Dword(v)))
            .map_err(|e| e.to_string());
    }
    if let Some(rest) = lower.strip_prefix("hex") {
        let (type_code, bytes_text) = if let Some(r) = rest.strip_prefix(':') {
            (3u32, r)
        } else if let Some(r) = rest.strip_prefix('(') {
            let close = r.find(')').ok_or("hex( without closing ')'")?;
            let t = &r[..close];
            let code = u32::from_str_radix(t.trim(), 16)
                .map_err(|_| format!("bad type number hex({t})"))?;
            let r = r[close + 1..]
                .strip_prefix(':')
                .ok_or("expected ':' after hex(N)")?;
            (code, r)
        } else {
            return Err(format!(
                "unknown data form {:?}",
                text.chars().take(20).collect::<String>()
            ));
        };
        let bytes = parse_hex_list(bytes_text)?;
        if regedit4 && matches!(type_code, 1 | 2 | 7) {
            // REGEDIT4 writes these strings as single-byte ANSI, NUL-terminated.
            let s = cp1252(&bytes);
            return Ok(Some(match type_code {
                7 => {
                    let mut items: Vec<String> = s.split('\0').map(str::to_string).collect();
                    while items.last().is_some_and(|x| x.is_empty()) {
                        items.pop();
                    }
                    RegData::MultiSz(items)
                }
                _ => {
                    let s = s.split('\0').next().unwrap_or("").to_string();
                    if type_code == 1 {
                        RegData::Sz(s)
                    } else {
                        RegData::ExpandSz(s)
                    }
                }
            }));
        }
        return Ok(Some(decode(type_code, &bytes)));
    }
    Err(format!(
        "unknown data form {:?}",
        text.chars().take(20).collect::<String>()
    ))
}

/// `aa,bb,cc` (whitespace allowed around bytes; empty list allowed).
fn parse_hex_list(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .enumerate()
        .map(|(n, b)| {
            let b = b.trim();
            if b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()) {
                u8::from_str_radix(b, 16).map_err(|e| e.to_string())
            } else {
                Err(format!("bad hex byte {b:?} at position {}", n + 1))
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// reg query

/// Type tokens of `reg query` output and their type numbers. Facts as data (reference §1.1).
const QUERY_TYPES: &[(&str, u32)] = &[
    ("REG_NONE", 0),
    ("REG_SZ", 1),
    ("REG_EXPAND_SZ", 2),
    ("REG_BINARY", 3),
    ("REG_DWORD", 4),
    ("REG_DWORD_LITTLE_ENDIAN", 4),
    ("REG_DWORD_BIG_ENDIAN", 5),
    ("REG_LINK", 6),
    ("REG_MULTI_SZ", 7),
    ("REG_RESOURCE_LIST", 8),
    ("REG_FULL_RESOURCE_DESCRIPTOR", 9),
    ("REG_RESOURCE_REQUIREMENTS_LIST", 10),
    ("REG_QWORD", 11),
    ("REG_QWORD_LITTLE_ENDIAN", 11),
];

/// Name of the unnamed value in `reg query` output, and what it prints for an unset default.
const DEFAULT_NAME: &str = "(Default)";
const VALUE_NOT_SET: &str = "(value not set)";
const SEP: &str = "    ";

fn query_type(token: &str) -> Option<u32> {
    if let Some((_, c)) = QUERY_TYPES.iter().find(|(t, _)| *t == token) {
        return Some(*c);
    }
    // Unknown types: accept `REG_0xNNNN` (what rdsdiag itself prints).
    token
        .strip_prefix("REG_0x")
        .and_then(|h| u32::from_str_radix(h, 16).ok())
}

fn is_key_line(line: &str) -> bool {
    ["HKEY_", "HKLM\\", "HKCU\\", "HKU\\"].iter().any(|p| {
        line.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    })
}

/// Whether bytes look like `reg query` output (a key line near the start).
pub fn looks_like_reg_query(bytes: &[u8]) -> bool {
    let (_, text, _) = decode_text(&bytes[..bytes.len().min(4096)]);
    let found = lines(&text)
        .map(|l| l.trim_end())
        .find(|l| !l.is_empty())
        .is_some_and(is_key_line);
    found
}

/// Parse `reg query <key> /s` output. Never fails as a whole: a file without any key line yields
/// no keys and an error for line 1.
pub fn parse_reg_query(bytes: &[u8]) -> ParsedText {
    let (encoding, text, mut errors) = decode_text(bytes);
    let mut keys: Vec<ParsedKey> = Vec::new();
    for (idx, raw) in lines(&text).enumerate() {
        let lineno = idx + 1;
        let line = raw.trim_end_matches(['\r', '\0']);
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            if is_key_line(line) {
                keys.push(ParsedKey {
                    path: line.trim().to_string(),
                    deleted: false,
                    line: lineno,
                    values: Vec::new(),
                });
            } else if line.starts_with("End of search:") {
                // Trailer of `/f` searches.
            } else {
                let shown: String = line.chars().take(60).collect();
                errors.push(err(
                    lineno,
                    format!("neither a key line nor a value line: {shown:?}"),
                ));
            }
            continue;
        }
        let body = line.strip_prefix(SEP).unwrap_or(line.trim_start());
        let Some((name, type_code, data)) = split_query_value(body) else {
            errors.push(err(lineno, "value line without a REG_<TYPE> token"));
            continue;
        };
        let Some(key) = keys.last_mut() else {
            errors.push(err(lineno, "value line before any key line"));
            continue;
        };
        let name = if name == DEFAULT_NAME {
            String::new()
        } else {
            name.to_string()
        };
        if name.is_empty() && type_code == 1 && data == VALUE_NOT_SET {
            continue;
        }
        match parse_query_data(type_code, data) {
            Ok(d) => key.values.push(ParsedValue {
                name,
                data: Some(d),
                line: lineno,
            }),
            Err(m) => errors.push(err(lineno, format!("value {name:?}: {m}"))),
        }
    }
    if keys.is_empty() && errors.is_empty() {
        errors.push(err(1, "no key lines (HKEY_…) found: not reg query output?"));
    }
    ParsedText {
        encoding,
        regedit4: false,
        keys,
        errors,
    }
}

/// Split `name    REG_TYPE    data` from the right on the type token (names may contain spaces).
fn split_query_value(body: &str) -> Option<(&str, u32, &str)> {
    let marker = format!("{SEP}REG_");
    let mut search_end = body.len();
    loop {
        let pos = body[..search_end].rfind(&marker)?;
        let tok_start = pos + SEP.len();
        let after = &body[tok_start..];
        let tok_len = after.find(SEP).unwrap_or(after.len());
        let token = &after[..tok_len];
        if let Some(code) = query_type(token) {
            let data = after.get(tok_len + SEP.len()..).unwrap_or("");
            return Some((&body[..pos], code, data));
        }
        search_end = pos;
    }
}

fn parse_query_data(type_code: u32, data: &str) -> Result<RegData, String> {
    let hex_number = |d: &str| -> Result<u64, String> {
        let h = d.trim();
        let h = h
            .strip_prefix("0x")
            .or_else(|| h.strip_prefix("0X"))
            .ok_or_else(|| format!("expected 0x… number, found {h:?}"))?;
        u64::from_str_radix(h, 16).map_err(|_| format!("bad hex number {h:?}"))
    };
    let contiguous_hex = |d: &str| -> Result<Vec<u8>, String> {
        let h = d.trim();
        if !h.len().is_multiple_of(2) {
            return Err(format!("odd number of hex digits ({})", h.len()));
        }
        (0..h.len())
            .step_by(2)
            .map(|i| {
                h.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
                    .ok_or_else(|| format!("bad hex at column {}", i + 1))
            })
            .collect()
    };
    Ok(match type_code {
        1 => RegData::Sz(data.to_string()),
        2 => RegData::ExpandSz(data.to_string()),
        6 => RegData::Link(data.to_string()),
        7 => RegData::MultiSz(if data.is_empty() {
            Vec::new()
        } else {
            data.split("\\0").map(str::to_string).collect()
        }),
        4 | 5 | 11 if data.trim().is_empty() => RegData::Other {
            type_code,
            bytes: Vec::new(),
        },
        4 => RegData::Dword(
            u32::try_from(hex_number(data)?).map_err(|_| "DWORD out of range".to_string())?,
        ),
        5 if data.trim().starts_with("0x") => RegData::DwordBigEndian(
            u32::try_from(hex_number(data)?).map_err(|_| "DWORD out of range".to_string())?,
        ),
        5 => decode(5, &contiguous_hex(data)?),
        11 => RegData::Qword(hex_number(data)?),
        other => decode(other, &contiguous_hex(data)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        v
    }

    #[test]
    fn reg_export_all_forms() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\X]\r\n@=\"def\"\r\n\"S\"=\"a\\\\b\\\"c\"\r\n\"D\"=dword:0000002a\r\n\"B\"=hex:01,02,\\\r\n  03\r\n\"M\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n\"Q\"=hex(b):01,00,00,00,00,00,00,00\r\n\"U\"=hex(ffff0012):09\r\n\"E\"=hex(2):\r\n\"gone\"=-\r\n\r\n[-HKEY_LOCAL_MACHINE\\SYSTEM\\Y]\r\n";
        for bytes in [utf16(text), text.as_bytes().to_vec()] {
            let p = parse_reg_export(&bytes)
                .expect("parses")
                .strict()
                .expect("no errors");
            assert_eq!(p.keys.len(), 2);
            let v = &p.keys[0].values;
            assert_eq!(
                v[0],
                ParsedValue {
                    name: "".into(),
                    data: Some(RegData::Sz("def".into())),
                    line: 4
                }
            );
            assert_eq!(v[1].data, Some(RegData::Sz("a\\b\"c".into())));
            assert_eq!(v[2].data, Some(RegData::Dword(42)));
            assert_eq!(v[3].data, Some(RegData::Binary(vec![1, 2, 3])));
            assert_eq!(
                v[4].data,
                Some(RegData::MultiSz(vec!["a".into(), "b".into()]))
            );
            assert_eq!(v[5].data, Some(RegData::Qword(1)));
            assert_eq!(
                v[6].data,
                Some(RegData::Other {
                    type_code: 0xffff0012,
                    bytes: vec![9]
                })
            );
            assert_eq!(v[7].data, Some(RegData::ExpandSz(String::new())));
            assert_eq!(v[8].data, None);
            assert!(p.keys[1].deleted);
        }
    }

    #[test]
    fn reg_export_errors_name_lines() {
        let text = "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\X]\n\"A\"=hex:01,zz\n\"B\"=dword:1\n\"C\"=hex:01,\\\n";
        let p = parse_reg_export(text.as_bytes()).expect("parses");
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 4);
        assert!(p.errors[0]
            .to_string()
            .starts_with("line 4: value \"A\": bad hex byte"));
        assert_eq!(p.errors[1].line, 6);
        assert!(p.errors[1].message.contains("truncated"));
        assert_eq!(p.keys[0].values.len(), 1);
        let e = parse_reg_export(b"hello\n").expect_err("no header");
        assert_eq!(e.line, 1);
        let mut bad =
            b"Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\X]\n\"A\"=\""
                .to_vec();
        bad.extend([0xE9, b'"', b'\n']);
        let p = parse_reg_export(&bad).expect("parses");
        assert_eq!(p.errors[0].line, 4);
        assert!(p.errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn a_value_past_the_text_limit_is_skipped_with_a_line_problem() {
        // Limit 80 bytes of data text: a 21-byte value over three lines is read, one of 91
        // bytes is skipped (its continuation lines consumed, not read as values), the next
        // value still counts; one long single line past the limit likewise.
        let row = "00,01,02,03,04,05,06,07,08,09,\\\r\n";
        let text = format!(
            "REGEDIT4\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n\"A\"=hex:{row}  {row}  ff\r\n\"B\"=hex:{row}  {row}  {row}  {row}  {row}  {row}  {row}  {row}  {row}  ff\r\n\"C\"=dword:00000001\r\n\"D\"=hex:{}\r\n\"E\"=dword:00000002\r\n",
            ["ab"; 40].join(",")
        );
        let p = parse_reg_export_limited(text.as_bytes(), 80).expect("parses");
        let names: Vec<&str> = p.keys[0].values.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, vec!["A", "C", "E"]);
        assert_eq!(
            p.keys[0].values[0].data.as_ref().map(|d| d.type_code()),
            Some(3)
        );
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![6, 17], "{:?}", p.errors);
        assert!(p.errors[0]
            .message
            .starts_with("value \"B\": data longer than "));
        assert!(p.errors[1]
            .message
            .contains("(the limit for one value): skipped"));
    }

    #[test]
    fn regedit4_ansi_strings() {
        let mut text = b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n\"A\"=\"caf".to_vec();
        text.extend([0xE9, b'"', b'\r', b'\n']);
        text.extend(b"\"M\"=hex(7):61,00,62,00,00\r\n");
        let p = parse_reg_export(&text)
            .expect("parses")
            .strict()
            .expect("clean");
        assert_eq!(p.encoding, TextEncoding::Ansi);
        assert_eq!(p.keys[0].values[0].data, Some(RegData::Sz("café".into())));
        assert_eq!(
            p.keys[0].values[1].data,
            Some(RegData::MultiSz(vec!["a".into(), "b".into()]))
        );
    }

    #[test]
    fn reg_query_lines() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\r\n    (Default)    REG_SZ    (value not set)\r\n    fDenyTSConnections    REG_DWORD    0x1\r\n    Name With  Spaces    REG_SZ    text    REG_SZ    more\r\n    M    REG_MULTI_SZ    a\\0b\r\n    B    REG_BINARY    0A0b\r\n    Q    REG_QWORD    0x10\r\n    E    REG_SZ    \r\n    X    REG_0xFFFF0012    09\r\n\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\r\n";
        let p = parse_reg_query(&utf16(text)).strict().expect("clean");
        assert_eq!(p.keys.len(), 2);
        let v = &p.keys[0].values;
        assert_eq!(v.len(), 7);
        assert_eq!(v[0].data, Some(RegData::Dword(1)));
        assert_eq!(v[1].name, "Name With  Spaces    REG_SZ    text");
        assert_eq!(v[1].data, Some(RegData::Sz("more".into())));
        assert_eq!(
            v[2].data,
            Some(RegData::MultiSz(vec!["a".into(), "b".into()]))
        );
        assert_eq!(v[3].data, Some(RegData::Binary(vec![10, 11])));
        assert_eq!(v[4].data, Some(RegData::Qword(16)));
        assert_eq!(v[5].data, Some(RegData::Sz(String::new())));
        assert_eq!(
            v[6].data,
            Some(RegData::Other {
                type_code: 0xFFFF0012,
                bytes: vec![9]
            })
        );
        let bad = parse_reg_query(
            b"HKEY_LOCAL_MACHINE\\SYSTEM\\X\n    A    REG_DWORD    12\n    B    REG_BINARY    0g\n",
        );
        assert_eq!(
            bad.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }
}
