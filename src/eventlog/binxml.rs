//! The one BinXML template walker shared by the early filter's template scan (`system.rs`) and
//! the direct decoder's template scan (`decode.rs`): token and value-type numbers by name, a
//! bounds-checked cursor over the chunk, the chunk string table's names, and a walk over a
//! template definition that keeps the element stack and hands each value (static text or
//! substitution) and each closed element to a [`TemplateVisitor`]. Anything the walk does not
//! understand ends it with `None`, and the caller falls back to the `evtx` crate.

/// BinXML token numbers (MS-EVEN6 §3.1.4.4; the crate's `BinXMLRawToken`).
pub(crate) mod token {
    pub const END_OF_STREAM: u8 = 0x00;
    pub const OPEN_START_ELEMENT: u8 = 0x01;
    pub const CLOSE_START_ELEMENT: u8 = 0x02;
    pub const CLOSE_EMPTY_ELEMENT: u8 = 0x03;
    pub const END_ELEMENT: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const TEMPLATE_INSTANCE: u8 = 0x0c;
    pub const NORMAL_SUBSTITUTION: u8 = 0x0d;
    pub const OPTIONAL_SUBSTITUTION: u8 = 0x0e;
    pub const FRAGMENT_HEADER: u8 = 0x0f;
    /// Flag on `OPEN_START_ELEMENT` (the element has attributes), `VALUE` and `ATTRIBUTE`
    /// (more of the same follows).
    pub const MORE: u8 = 0x40;
}

/// BinXML value types (MS-EVEN6 §2.2.18; the crate's `BinXmlValueType`).
pub(crate) mod value_type {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const INT8: u8 = 0x03;
    pub const UINT8: u8 = 0x04;
    pub const INT16: u8 = 0x05;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0a;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BINXML: u8 = 0x21;
    /// Flag: an array of the base type.
    pub const ARRAY: u8 = 0x80;
}

/// Sizes in a template definition and a template instance.
const TEMPLATE_DEF_HEADER: usize = 24;
/// Offset of the definition's data size within its header (next offset u32, GUID 16 bytes).
const TEMPLATE_DEF_SIZE_AT: usize = 20;
/// A name in the string table: next offset (u32), hash (u16), character count (u16).
const NAME_HEADER: usize = 8;

/// A little-endian `u32` at `at`, or `None` past the end.
pub(crate) fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// A little-endian `u16` at `at`, or `None` past the end.
pub(crate) fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// UTF-16LE bytes as a string (`None` for invalid UTF-16).
pub(crate) fn utf16_le(bytes: &[u8]) -> Option<String> {
    char::decode_utf16(
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]])),
    )
    .collect::<Result<String, _>>()
    .ok()
}

/// A name in the chunk string table at `offset`, and its length in UTF-16 units.
fn read_name(data: &[u8], offset: usize) -> Option<(String, usize)> {
    let count = usize::from(le_u16(data, offset.checked_add(6)?)?);
    let start = offset + NAME_HEADER;
    let bytes = data.get(start..start.checked_add(count * 2)?)?;
    Some((utf16_le(bytes)?, count))
}

/// A little-endian reader over a window of the chunk that never panics.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `data[pos..end]` (`end` clamped to the data).
    pub fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        Cursor {
            data,
            pos,
            end: end.min(data.len()),
        }
    }

    pub fn u8(&mut self) -> Option<u8> {
        if self.pos >= self.end {
            return None;
        }
        let v = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    pub fn skip(&mut self, n: usize) -> Option<()> {
        let p = self.pos.checked_add(n)?;
        if p > self.end {
            return None;
        }
        self.pos = p;
        Some(())
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let start = self.pos;
        self.skip(n)?;
        self.data.get(start..self.pos)
    }

    /// A name reference (a chunk offset); skips the name when it is stored right here.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let here = self.pos;
        let (name, count) = read_name(self.data, offset)?;
        if offset == here {
            self.skip(NAME_HEADER + count * 2 + 2)?;
        }
        Some(name)
    }
}

/// A value in a template definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateValue {
    /// Static text (a `VALUE` token of string type).
    Text(String),
    /// A substitution: the index into the instance's values and the declared value type.
    Sub { index: u16, ty: u8 },
}

/// What a visitor tells the walk.
pub(crate) enum Step {
    Go,
    /// Stop here: the visitor has what it needs.
    Done,
}

/// Receives the values and closed elements of a template walk. Returning `None` gives up on the
/// whole template.
pub(crate) trait TemplateVisitor {
    /// An element opened (its name is now the last of the path).
    fn opened(&mut self) {}
    /// A value in the content of the element at the end of `path`, or in its attribute `attr`.
    fn value(&mut self, path: &[String], attr: Option<&str>, value: TemplateValue) -> Option<Step>;
    /// The element `name` closed; `parent` is the path around it.
    fn closed(&mut self, parent: &[String], name: &str) -> Option<Step>;
}

/// How a walk ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Walked {
    /// The visitor said [`Step::Done`].
    Done,
    /// The template's end-of-stream token, with every element closed.
    Ended,
}

/// Walk the template definition at chunk offset `def` (its elements sit under `prefix`,
/// e.g. `["Event", "EventData"]` for a nested instance). `None` for a definition outside the
/// window, a token this walk does not understand (entity and character references, CDATA,
/// processing instructions, non-string static values), an attribute outside a start tag, an
/// element closed that was not opened, or the end of the definition with elements still open.
pub(crate) fn walk_template(
    data: &[u8],
    def: u32,
    prefix: &[&str],
    visitor: &mut impl TemplateVisitor,
) -> Option<Walked> {
    use token::*;
    let def = def as usize;
    let size = le_u32(data, def.checked_add(TEMPLATE_DEF_SIZE_AT)?)? as usize;
    let start = def + TEMPLATE_DEF_HEADER;
    let mut c = Cursor::new(data, start, start.checked_add(size)?);
    let mut stack: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
    let base = stack.len();
    let mut attr: Option<String> = None;
    let mut in_start_tag = false;
    loop {
        let token = c.u8()?;
        let step = match token & !MORE {
            END_OF_STREAM if token == END_OF_STREAM => {
                return (stack.len() == base).then_some(Walked::Ended);
            }
            FRAGMENT_HEADER if token == FRAGMENT_HEADER => {
                c.skip(3)?;
                Step::Go
            }
            OPEN_START_ELEMENT => {
                let _dependency = c.u16()?;
                let _size = c.u32()?;
                let name = c.name()?;
                if token & MORE != 0 {
                    let _attributes_size = c.u32()?;
                }
                stack.push(name);
                visitor.opened();
                attr = None;
                in_start_tag = true;
                Step::Go
            }
            CLOSE_START_ELEMENT if token == CLOSE_START_ELEMENT => {
                attr = None;
                in_start_tag = false;
                Step::Go
            }
            CLOSE_EMPTY_ELEMENT | END_ELEMENT if token & MORE == 0 => {
                attr = None;
                in_start_tag = false;
                if stack.len() <= base {
                    return None;
                }
                let name = stack.pop()?;
                visitor.closed(&stack, &name)?
            }
            ATTRIBUTE => {
                if !in_start_tag {
                    return None;
                }
                attr = Some(c.name()?);
                Step::Go
            }
            VALUE => {
                if c.u8()? != value_type::STRING {
                    return None;
                }
                let n = usize::from(c.u16()?);
                let text = utf16_le(c.bytes(n.checked_mul(2)?)?)?;
                visitor.value(&stack, attr.as_deref(), TemplateValue::Text(text))?
            }
            NORMAL_SUBSTITUTION | OPTIONAL_SUBSTITUTION if token & MORE == 0 => {
                let index = c.u16()?;
                let ty = c.u8()?;
                visitor.value(&stack, attr.as_deref(), TemplateValue::Sub { index, ty })?
            }
            _ => return None,
        };
        if let Step::Done = step {
            return Some(Walked::Done);
        }
    }
}

/// Where a record's template instance is: the template definition's chunk offset and the
/// substitution array (descriptors, values, the end of the record's window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Instance {
    pub def: u32,
    /// Where the substitution descriptors start (4 bytes each: size u16, type u8, unused u8).
    pub desc: usize,
    pub n: usize,
    /// Where the values start.
    pub values: usize,
    /// The end of the window the values must fit in.
    pub end: usize,
}

/// The `TEMPLATE_INSTANCE` at `start` (optionally after a fragment header) in a window of
/// `len` bytes; the definition is skipped when it is stored in place.
pub(crate) fn instance_at(data: &[u8], start: usize, len: usize) -> Option<Instance> {
    let end = start.checked_add(len)?.min(data.len());
    let mut p = start;
    if *data.get(p)? == token::FRAGMENT_HEADER {
        p += 4; // token, major, minor, flags
    }
    if *data.get(p)? != token::TEMPLATE_INSTANCE {
        return None;
    }
    p += 6; // token, unknown byte, template id
    let def = le_u32(data, p)?;
    p += 4;
    if def as usize == p {
        let size = le_u32(data, p + TEMPLATE_DEF_SIZE_AT)? as usize;
        p = p.checked_add(TEMPLATE_DEF_HEADER + size)?;
    }
    let n = le_u32(data, p)? as usize;
    p += 4;
    let desc = p;
    let values = desc.checked_add(n.checked_mul(4)?)?;
    if values > end {
        return None;
    }
    Some(Instance {
        def,
        desc,
        n,
        values,
        end,
    })
}

/// A substitution value: (type, bytes).
pub(crate) type Value<'a> = (u8, &'a [u8]);

impl Instance {
    /// The descriptors (4 bytes each: size u16, type u8, unused u8); `instance_at` checked
    /// that they lie inside the window.
    fn descriptors<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        data.get(self.desc..self.values)
    }

    /// Value `i` alone (adds up the sizes before it; for the few `System` values).
    pub fn value<'a>(&self, data: &'a [u8], i: usize) -> Option<Value<'a>> {
        let descs = self.descriptors(data)?;
        let d = descs.get(i.checked_mul(4)?..i * 4 + 4)?;
        // Fewer than 16,384 values (they fit the window) of at most 65535 bytes: no overflow.
        let off = descs[..i * 4].chunks_exact(4).fold(self.values, |o, d| {
            o + usize::from(u16::from_le_bytes([d[0], d[1]]))
        });
        let e = off + usize::from(u16::from_le_bytes([d[0], d[1]]));
        if e > self.end {
            return None;
        }
        Some((d[2], data.get(off..e)?))
    }

    /// Every value, by index.
    pub fn values<'a>(&self, data: &'a [u8]) -> Option<Vec<Value<'a>>> {
        let descs = self.descriptors(data)?;
        let mut out = Vec::with_capacity(self.n);
        let mut off = self.values;
        for d in descs.chunks_exact(4) {
            let e = off + usize::from(u16::from_le_bytes([d[0], d[1]]));
            if e > self.end {
                return None;
            }
            out.push((d[2], data.get(off..e)?));
            off = e;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the walk reports.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl TemplateVisitor for Log {
        fn value(
            &mut self,
            path: &[String],
            attr: Option<&str>,
            value: TemplateValue,
        ) -> Option<Step> {
            self.0.push(format!(
                "{}@{}={value:?}",
                path.join("/"),
                attr.unwrap_or("")
            ));
            Some(Step::Go)
        }
        fn closed(&mut self, parent: &[String], name: &str) -> Option<Step> {
            self.0.push(format!("close {}/{name}", parent.join("/")));
            Some(Step::Go)
        }
    }

    fn name(out: &mut Vec<u8>, s: &str) {
        // A name stored in place: its offset is where it starts.
        let at = out.len() as u32 + 4;
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // next, hash
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        out.extend_from_slice(&[0, 0]);
    }

    /// `<E A="%0">x</E>` as a template definition at offset 0.
    fn template() -> Vec<u8> {
        let mut t = vec![0u8; TEMPLATE_DEF_HEADER];
        t.extend_from_slice(&[token::FRAGMENT_HEADER, 1, 1, 0]);
        t.push(token::OPEN_START_ELEMENT | token::MORE);
        t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        name(&mut t, "E");
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.push(token::ATTRIBUTE);
        name(&mut t, "A");
        t.push(token::NORMAL_SUBSTITUTION);
        t.extend_from_slice(&[0, 0, value_type::UINT16]);
        t.push(token::CLOSE_START_ELEMENT);
        t.extend_from_slice(&[token::VALUE, value_type::STRING, 1, 0, b'x', 0]);
        t.push(token::END_ELEMENT);
        t.push(token::END_OF_STREAM);
        let size = (t.len() - TEMPLATE_DEF_HEADER) as u32;
        t[TEMPLATE_DEF_SIZE_AT..TEMPLATE_DEF_HEADER].copy_from_slice(&size.to_le_bytes());
        t
    }

    #[test]
    fn walks_elements_attributes_values_and_closes() {
        let t = template();
        let mut log = Log::default();
        assert_eq!(walk_template(&t, 0, &[], &mut log), Some(Walked::Ended));
        assert_eq!(
            log.0,
            ["E@A=Sub { index: 0, ty: 6 }", "E@=Text(\"x\")", "close /E"]
        );
    }

    #[test]
    fn instance_values_are_found_by_their_sizes() {
        // A fragment header, an instance of the definition at 0x100 (stored elsewhere), two
        // values: a UInt16 and a 4-byte string.
        let mut r = vec![token::FRAGMENT_HEADER, 1, 1, 0, token::TEMPLATE_INSTANCE, 1];
        r.extend_from_slice(&[0, 0, 0, 0]); // template id
        r.extend_from_slice(&0x100u32.to_le_bytes());
        r.extend_from_slice(&2u32.to_le_bytes());
        r.extend_from_slice(&[2, 0, value_type::UINT16, 0, 4, 0, value_type::STRING, 0]);
        r.extend_from_slice(&[7, 0, b'h', 0, b'i', 0]);
        let i = instance_at(&r, 0, r.len()).expect("an instance");
        assert_eq!((i.def, i.n), (0x100, 2));
        assert_eq!(i.value(&r, 1), Some((value_type::STRING, &b"h\0i\0"[..])));
        assert_eq!(i.value(&r, 2), None);
        assert_eq!(i.values(&r).map(|v| v.len()), Some(2));
        // A window that ends inside the last value.
        let short = instance_at(&r, 0, r.len() - 1).expect("an instance");
        assert_eq!(
            short.value(&r, 0),
            Some((value_type::UINT16, &[7u8, 0][..]))
        );
        assert_eq!(short.value(&r, 1), None);
        assert_eq!(short.values(&r), None);
    }

    #[test]
    fn cut_or_unknown_templates_give_up() {
        let t = template();
        // Every shorter window ends inside the walk.
        for cut in TEMPLATE_DEF_HEADER..t.len() - 1 {
            let mut short = t[..cut].to_vec();
            short[TEMPLATE_DEF_SIZE_AT..TEMPLATE_DEF_HEADER]
                .copy_from_slice(&((cut - TEMPLATE_DEF_HEADER) as u32).to_le_bytes());
            assert_eq!(walk_template(&short, 0, &[], &mut Log::default()), None);
        }
        // A CDATA section (0x07) is not understood.
        let mut odd = t.clone();
        let v = odd.len() - 8;
        odd[v] = 0x07;
        assert_eq!(walk_template(&odd, 0, &[], &mut Log::default()), None);
    }
}
