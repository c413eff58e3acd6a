//! Turn raw registry data (type number + bytes, as stored in a hive or written as `hex(N):` in a
//! `.reg` export) into typed [`RegData`], and back to bytes. Reference §1.1 gives the rules.

use super::types::RegData;

/// Decode raw bytes of registry type `type_code`. Data of a known type whose size does not fit the
/// type (a 3-byte DWORD) is kept raw as `RegData::Other` with the same type number.
pub fn decode(type_code: u32, bytes: &[u8]) -> RegData {
    match type_code {
        0 => RegData::None(bytes.to_vec()),
        1 => RegData::Sz(utf16_until_nul(bytes)),
        2 => RegData::ExpandSz(utf16_until_nul(bytes)),
        3 => RegData::Binary(bytes.to_vec()),
        4 if bytes.len() == 4 => {
            RegData::Dword(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
        5 if bytes.len() == 4 => {
            RegData::DwordBigEndian(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
        6 => RegData::Link(utf16_all(bytes)),
        7 => RegData::MultiSz(multi_sz(bytes)),
        11 if bytes.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(bytes);
            RegData::Qword(u64::from_le_bytes(a))
        }
        other => RegData::Other {
            type_code: other,
            bytes: bytes.to_vec(),
        },
    }
}

/// The bytes a value of this data would have in a hive (strings UTF-16LE with terminating NUL).
pub fn encode(data: &RegData) -> Vec<u8> {
    match data {
        RegData::None(b) | RegData::Binary(b) => b.clone(),
        RegData::Sz(s) | RegData::ExpandSz(s) => {
            let mut v = utf16le(s);
            v.extend_from_slice(&[0, 0]);
            v
        }
        RegData::Link(s) => utf16le(s),
        RegData::Dword(v) => v.to_le_bytes().to_vec(),
        RegData::DwordBigEndian(v) => v.to_be_bytes().to_vec(),
        RegData::Qword(v) => v.to_le_bytes().to_vec(),
        RegData::MultiSz(items) => {
            let mut v = Vec::new();
            for s in items {
                v.extend(utf16le(s));
                v.extend_from_slice(&[0, 0]);
            }
            v.extend_from_slice(&[0, 0]);
            v
        }
        RegData::Other { bytes, .. } => bytes.clone(),
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

/// UTF-16LE up to the first NUL (what Windows tools show for REG_SZ); a trailing odd byte is
/// ignored; unpaired surrogates become U+FFFD.
fn utf16_until_nul(bytes: &[u8]) -> String {
    let u: Vec<u16> = units(bytes).take_while(|&c| c != 0).collect();
    String::from_utf16_lossy(&u)
}

fn utf16_all(bytes: &[u8]) -> String {
    let mut u: Vec<u16> = units(bytes).collect();
    while u.last() == Some(&0) {
        u.pop();
    }
    String::from_utf16_lossy(&u)
}

/// Split on U+0000 and drop the empty tail (reference §1.1).
fn multi_sz(bytes: &[u8]) -> Vec<String> {
    let u: Vec<u16> = units(bytes).collect();
    let mut items: Vec<String> = u.split(|&c| c == 0).map(String::from_utf16_lossy).collect();
    while items.last().is_some_and(|s| s.is_empty()) {
        items.pop();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_type() {
        assert_eq!(decode(4, &[0x2a, 0, 0, 0]), RegData::Dword(42));
        assert_eq!(decode(5, &[0, 0, 0, 0x2a]), RegData::DwordBigEndian(42));
        assert_eq!(decode(11, &7u64.to_le_bytes()), RegData::Qword(7));
        assert_eq!(
            decode(1, &encode(&RegData::Sz("ab".into()))),
            RegData::Sz("ab".into())
        );
        let m = RegData::MultiSz(vec!["a".into(), "".into(), "b".into()]);
        assert_eq!(decode(7, &encode(&m)), m);
        assert_eq!(decode(7, &[]), RegData::MultiSz(vec![]));
        assert_eq!(
            decode(4, &[1, 2, 3]),
            RegData::Other {
                type_code: 4,
                bytes: vec![1, 2, 3]
            }
        );
        assert_eq!(
            decode(0xFFFF0012, &[9]),
            RegData::Other {
                type_code: 0xFFFF0012,
                bytes: vec![9]
            }
        );
        // Garbage after the NUL of a REG_SZ is not part of the string.
        assert_eq!(
            decode(1, &[b'a', 0, 0, 0, b'x', 0]),
            RegData::Sz("a".into())
        );
    }
}
