//! Bytes to text for gpresult files: UTF-16LE/BE (with or without a byte-order mark: `gpresult /x`
//! declares `encoding="utf-16"`, and PowerShell's `Out-File` writes UTF-16LE), UTF-8 with or
//! without a BOM, and anything else (a console code page redirected with `>`) read byte by byte as
//! Latin-1, so a file always decodes and offsets map back to the file.

/// How the file was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// Not UTF-8: each byte is one character.
    Latin1,
    Utf16Le,
    Utf16Be,
}

/// A decoded file and the way back from text positions to file offsets.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub text: String,
    encoding: Encoding,
    bom: usize,
}

fn utf16(bytes: &[u8], le: bool) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn detect(bytes: &[u8]) -> (Encoding, usize) {
    match bytes {
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [a, 0, ..] if *a != 0 => (Encoding::Utf16Le, 0),
        [0, b, ..] if *b != 0 => (Encoding::Utf16Be, 0),
        _ => (Encoding::Utf8, 0),
    }
}

impl Decoded {
    /// Decode a whole file. `None` only for an empty file.
    pub fn new(bytes: &[u8]) -> Option<Decoded> {
        if bytes.is_empty() {
            return None;
        }
        let (mut encoding, bom) = detect(bytes);
        let body = &bytes[bom..];
        let text = match encoding {
            Encoding::Utf16Le => utf16(body, true),
            Encoding::Utf16Be => utf16(body, false),
            _ => match std::str::from_utf8(body) {
                Ok(s) => s.to_string(),
                Err(_) => {
                    encoding = Encoding::Latin1;
                    body.iter().map(|&b| char::from(b)).collect()
                }
            },
        };
        Some(Decoded {
            text,
            encoding,
            bom,
        })
    }

    /// The byte offset in the file of a byte position in `text`.
    pub fn file_offset(&self, pos: usize) -> u64 {
        self.mapper().map(pos)
    }

    /// A converter from text positions to file offsets that is linear over positions given in
    /// increasing order (the order readers report them in).
    pub fn mapper(&self) -> OffsetMapper<'_> {
        OffsetMapper {
            decoded: self,
            pos: 0,
            units: 0,
        }
    }

    /// File bytes one text range takes.
    fn file_bytes(&self, slice: &str) -> usize {
        match self.encoding {
            Encoding::Utf8 => slice.len(),
            Encoding::Latin1 => slice.chars().count(),
            Encoding::Utf16Le | Encoding::Utf16Be => {
                2 * slice.chars().map(char::len_utf16).sum::<usize>()
            }
        }
    }
}

/// See [`Decoded::mapper`].
pub(crate) struct OffsetMapper<'d> {
    decoded: &'d Decoded,
    /// The last text position mapped and its file bytes (without the BOM).
    pos: usize,
    units: usize,
}

impl OffsetMapper<'_> {
    pub fn map(&mut self, pos: usize) -> u64 {
        let text = &self.decoded.text;
        let mut pos = pos.min(text.len());
        while !text.is_char_boundary(pos) {
            pos -= 1;
        }
        // Walk from the last position, forward or back: the cost is the distance, so offsets
        // that go back a little (an inner table mapped before its outer one) stay linear.
        if pos < self.pos {
            self.units -= self.decoded.file_bytes(&text[pos..self.pos]);
        } else {
            self.units += self.decoded.file_bytes(&text[self.pos..pos]);
        }
        self.pos = pos;
        (self.decoded.bom + self.units) as u64
    }
}

/// Decode any gpresult file to text (for tools and tests).
pub fn decode_text(bytes: &[u8]) -> String {
    Decoded::new(bytes).map(|d| d.text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    #[test]
    fn utf16_with_and_without_bom() {
        for bom in [true, false] {
            let d = Decoded::new(&utf16le("<Rsop>é</Rsop>", bom)).expect("decodes");
            assert_eq!(d.text, "<Rsop>é</Rsop>");
            // 'é' starts at text byte 6 = the 7th UTF-16 unit.
            assert_eq!(d.file_offset(6), if bom { 14 } else { 12 });
        }
    }

    #[test]
    fn utf8_bom_and_code_page_text() {
        let d = Decoded::new(b"\xEF\xBB\xBFab").expect("decodes");
        assert_eq!((d.text.as_str(), d.file_offset(1)), ("ab", 4));
        let d = Decoded::new(b"GPO: Richtlinie f\x81r RDS").expect("decodes");
        assert!(d.text.starts_with("GPO: Richtlinie f"));
        assert_eq!(d.file_offset(d.text.find(" RDS").unwrap()), 19);
        assert!(Decoded::new(b"").is_none());
    }

    #[test]
    fn odd_lengths_and_garbage_never_panic() {
        for bytes in [
            &[0xFF, 0xFE, 0x41][..],
            &[0xFE, 0xFF, 0xD8, 0x00][..],
            &[0x00][..],
        ] {
            let d = Decoded::new(bytes).expect("decodes");
            let _ = d.file_offset(usize::MAX);
        }
    }

    #[test]
    fn offsets_map_forward_and_back() {
        let d = Decoded::new(&utf16le("<a>é€x</a>", true)).unwrap();
        let mut m = d.mapper();
        let far = d.text.find('x').unwrap();
        let near = d.text.find('é').unwrap();
        // BOM (2) + 3 characters of 2 bytes before `é`; `é` and `€` are one unit each.
        assert_eq!((m.map(far), m.map(near), m.map(far)), (12, 8, 12));
        assert_eq!(m.map(0), 2);
    }
}
