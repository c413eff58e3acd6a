//! Write the same trees that `hive.rs` describes as registry text: `.reg` exports (v5 in
//! UTF-16LE with BOM or UTF-8, and REGEDIT4) and `reg query /s` output, the way regedit, `reg
//! export` and `reg query` lay them out (reference §14).

use crate::hive::{Data, Key};

/// Text encodings the writers produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf16LeBom,
    Utf8,
}

pub fn encode(text: &str, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf16LeBom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
            v
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `hex(N):aa,bb,…` wrapped like regedit: lines end with `,\` near 80 columns and continue
/// indented by two spaces.
fn hex_data(prefix_len: usize, tag: &str, bytes: &[u8]) -> String {
    let mut out = String::from(tag);
    let mut col = prefix_len + tag.len();
    for (i, b) in bytes.iter().enumerate() {
        let item = if i + 1 < bytes.len() {
            format!("{b:02x},")
        } else {
            format!("{b:02x}")
        };
        if col + item.len() > 77 && i + 1 < bytes.len() {
            out.push_str("\\\r\n  ");
            col = 2;
        }
        out.push_str(&item);
        col += item.len();
    }
    out
}

fn reg_value_line(name: &str, data: &Data, regedit4: bool) -> String {
    let lhs = if name.is_empty() {
        "@".to_string()
    } else {
        format!("\"{}\"", escape(name))
    };
    let plain_string = |s: &str| !s.contains(['\n', '\r', '\0']);
    let rhs = match data {
        Data::Sz(s) if plain_string(s) => format!("\"{}\"", escape(s)),
        Data::Dword(v) => format!("dword:{v:08x}"),
        Data::Binary(b) => hex_data(lhs.len() + 1, "hex:", b),
        Data::ExpandSz(s) | Data::Sz(s) if regedit4 => {
            let tag = format!("hex({:x}):", data.type_code());
            let mut b: Vec<u8> = s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect();
            b.push(0);
            hex_data(lhs.len() + 1, &tag, &b)
        }
        Data::MultiSz(items) if regedit4 => {
            let mut b = Vec::new();
            for s in items {
                b.extend(
                    s.chars()
                        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
                );
                b.push(0);
            }
            b.push(0);
            hex_data(lhs.len() + 1, "hex(7):", &b)
        }
        other => hex_data(
            lhs.len() + 1,
            &format!("hex({:x}):", other.type_code()),
            &other.bytes(),
        ),
    };
    format!("{lhs}={rhs}")
}

/// Full key path of a tree key: `prefix` (e.g. `HKEY_LOCAL_MACHINE\SYSTEM`) + relative path.
fn full(prefix: &str, rel: &str) -> String {
    if rel.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}\\{rel}")
    }
}

/// A `.reg` export of `root` and everything below it, `root` itself at `prefix`.
pub fn reg_export(root: &Key, prefix: &str, regedit4: bool) -> String {
    let mut out = String::from(if regedit4 {
        "REGEDIT4\r\n\r\n"
    } else {
        "Windows Registry Editor Version 5.00\r\n\r\n"
    });
    for (rel, k) in root.walk() {
        out.push_str(&format!("[{}]\r\n", full(prefix, &rel)));
        for (n, d) in &k.values {
            out.push_str(&reg_value_line(n, d, regedit4));
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
    }
    out
}

/// `reg query` type token of a type number (`REG_0xNNNNNNNN` for types without a name).
pub fn query_type_name(code: u32) -> String {
    match code {
        0 => "REG_NONE".into(),
        1 => "REG_SZ".into(),
        2 => "REG_EXPAND_SZ".into(),
        3 => "REG_BINARY".into(),
        4 => "REG_DWORD".into(),
        5 => "REG_DWORD_BIG_ENDIAN".into(),
        6 => "REG_LINK".into(),
        7 => "REG_MULTI_SZ".into(),
        8 => "REG_RESOURCE_LIST".into(),
        9 => "REG_FULL_RESOURCE_DESCRIPTOR".into(),
        10 => "REG_RESOURCE_REQUIREMENTS_LIST".into(),
        11 => "REG_QWORD".into(),
        other => format!("REG_0x{other:08X}"),
    }
}

fn query_data(d: &Data) -> String {
    match d {
        Data::Sz(s) | Data::ExpandSz(s) => s.clone(),
        Data::Dword(v) | Data::DwordBigEndian(v) => format!("0x{v:x}"),
        Data::Qword(v) => format!("0x{v:x}"),
        Data::MultiSz(items) => items.join("\\0"),
        other => other.bytes().iter().map(|b| format!("{b:02X}")).collect(),
    }
}

/// `reg query <prefix> /s` output for `root` (a blank line, then each key followed by its value
/// lines indented by four spaces).
pub fn reg_query(root: &Key, prefix: &str) -> String {
    let mut out = String::new();
    for (rel, k) in root.walk() {
        out.push_str("\r\n");
        out.push_str(&full(prefix, &rel));
        out.push_str("\r\n");
        for (n, d) in &k.values {
            let name = if n.is_empty() {
                "(Default)"
            } else {
                n.as_str()
            };
            out.push_str(&format!(
                "    {name}    {}    {}\r\n",
                query_type_name(d.type_code()),
                query_data(d)
            ));
        }
    }
    out
}
