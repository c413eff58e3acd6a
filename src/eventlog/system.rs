//! The early filter's cheap look at a record: which provider, EventID and channel it has, read
//! from the record's template substitution values (`EvtxRecord::template_instances`) and a scan
//! of the template definition's `System` element, without rendering the record to XML or JSON.
//! Anything unusual returns `None`, and the caller falls back to rendering: this path may only
//! ever make the reader faster, never change what it finds.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// A small, fast, non-cryptographic hasher (the Fx hash of rustc) for the reader's per-record
/// lookups; the keys come from the file but only steer caches, never security decisions.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

use evtx::binxml::value_variant::BinXmlValue;
use evtx::EvtxRecord;

/// Where a `System` field's value comes from in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    Static(String),
    Sub(u16),
}

/// The `System` fields the filter needs, as the template defines them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SystemMap {
    pub provider: Option<Slot>,
    pub event_id: Option<Slot>,
    pub qualifiers: Option<Slot>,
    pub channel: Option<Slot>,
}

/// What the cheap look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quick {
    pub provider: String,
    pub raw_event_id: u32,
    pub qualifiers: Option<u16>,
    /// `None` when the record has no channel.
    pub channel: Option<String>,
}

/// Per-chunk cache of template scans, keyed by the template definition's chunk offset.
#[derive(Default)]
pub(crate) struct TemplateCache {
    maps: FxMap<u32, Option<Rc<SystemMap>>>,
    /// The last template looked up (consecutive records mostly share one).
    last: Option<(u32, Rc<SystemMap>)>,
    full: FxMap<(u32, super::decode::NestedAt), Option<Rc<Vec<super::decode::Binding>>>>,
    /// Shared names, kept for the whole file (not cleared per chunk).
    strs: super::decode::StrCache,
}

impl TemplateCache {
    pub fn clear(&mut self) {
        self.maps.clear();
        self.last = None;
        self.full.clear();
    }

    /// Decode a kept record directly from its substitution values (see `decode.rs`).
    pub fn decode(&mut self, data: &[u8], q: &RawQuick<'_>) -> Option<super::decode::Decoded> {
        let values = substitution_values(data, q.desc, q.n, q.values, q.end)?;
        let mut d = super::decode::Decoded::default();
        self.decode_into(
            data,
            q.def,
            &values,
            &mut d,
            super::decode::NestedAt::Root,
            0,
        )?;
        d.have_id.then_some(d)
    }

    fn decode_into<'a>(
        &mut self,
        data: &'a [u8],
        def: u32,
        values: &[(u8, &'a [u8])],
        d: &mut super::decode::Decoded,
        at: super::decode::NestedAt,
        depth: usize,
    ) -> Option<()> {
        if depth > 2 {
            return None;
        }
        let bindings = self
            .full
            .entry((def, at))
            .or_insert_with(|| super::decode::scan_full(data, def, at).map(Rc::new))
            .clone()?;
        for b in bindings.iter() {
            if let super::decode::Target::Nested(inner) = b.target {
                let Slot::Sub(i) = b.slot else {
                    return None;
                };
                let (ty, bytes) = *values.get(i as usize)?;
                match ty {
                    0x00 => continue,
                    0x21 => {}
                    _ => return None,
                }
                // The nested fragment lives in the chunk: find where, to resolve offsets.
                let start = (bytes.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
                let (def2, desc, n, vstart, end) = instance_at(data, start, bytes.len())?;
                let values2 = substitution_values(data, desc, n, vstart, end)?;
                self.decode_into(data, def2, &values2, d, inner, depth + 1)?;
                continue;
            }
            let value = match &b.slot {
                Slot::Static(_) => None,
                Slot::Sub(i) => Some(*values.get(*i as usize)?),
            };
            super::decode::apply(d, b, value, &mut self.strs)?;
        }
        Some(())
    }

    /// The cheap look at `record`, or `None` when it cannot be decided without rendering.
    pub fn quick(&mut self, record: &EvtxRecord<'_>) -> Option<Quick> {
        let instances = record.template_instances().ok()?;
        let first = instances.first()?;
        let map = self
            .maps
            .entry(first.template_def_offset)
            .or_insert_with(|| {
                scan_template(record.chunk.data, first.template_def_offset).map(Rc::new)
            })
            .clone()?;
        let values = &first.values;
        let provider = resolve_string(map.provider.as_ref()?, values)?;
        let raw_event_id = resolve_number(map.event_id.as_ref()?, values)?;
        let qualifiers = match &map.qualifiers {
            None => None,
            Some(slot) => match resolve_opt_number(slot, values)? {
                None => None,
                Some(q) => Some(u16::try_from(q).ok()?),
            },
        };
        let channel = match &map.channel {
            None => None,
            Some(slot) => {
                let c = resolve_string_opt(slot, values)?;
                c.filter(|c| !c.is_empty())
            }
        };
        Some(Quick {
            provider,
            raw_event_id: u32::try_from(raw_event_id).ok()?,
            qualifiers,
            channel,
        })
    }
}

fn resolve_string(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<String> {
    resolve_string_opt(slot, values)?.filter(|s| !s.is_empty())
}

/// `Some(None)` for a substitution that is null; `None` when undecidable.
fn resolve_string_opt(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<Option<String>> {
    match slot {
        Slot::Static(s) => Some(Some(s.clone())),
        Slot::Sub(i) => match values.get(*i as usize)? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::StringType(s) => Some(Some(s.to_string().ok()?)),
            BinXmlValue::AnsiStringType(s) => Some(Some((*s).to_string())),
            _ => None,
        },
    }
}

fn resolve_number(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<u64> {
    resolve_opt_number(slot, values)?
}

fn resolve_opt_number(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<Option<u64>> {
    match slot {
        Slot::Static(s) => Some(Some(s.trim().parse().ok()?)),
        Slot::Sub(i) => Some(Some(match values.get(*i as usize)? {
            BinXmlValue::NullType => return Some(None),
            BinXmlValue::UInt8Type(v) => u64::from(*v),
            BinXmlValue::UInt16Type(v) => u64::from(*v),
            BinXmlValue::UInt32Type(v) => u64::from(*v),
            BinXmlValue::UInt64Type(v) => *v,
            BinXmlValue::HexInt32Type(v) => u64::from(*v),
            BinXmlValue::HexInt64Type(v) => *v,
            BinXmlValue::Int16Type(v) => u64::try_from(*v).ok()?,
            BinXmlValue::Int32Type(v) => u64::try_from(*v).ok()?,
            BinXmlValue::StringType(s) => s.to_string().ok()?.trim().parse().ok()?,
            _ => return None,
        })),
    }
}

/// A little-endian reader over the chunk that never panics.
struct Cur<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl Cur<'_> {
    fn u8(&mut self) -> Option<u8> {
        if self.pos >= self.end {
            return None;
        }
        let v = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        let p = self.pos.checked_add(n)?;
        if p > self.end {
            return None;
        }
        self.pos = p;
        Some(())
    }
    /// A name reference (chunk offset); skips the name when it is stored in place.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let here = self.pos;
        let (name, count) = read_name(self.data, offset)?;
        if offset == here {
            self.skip(8 + count * 2 + 2)?;
        }
        Some(name)
    }
}

/// A name in the chunk string table: next (u32), hash (u16), count (u16), UTF-16LE chars.
fn read_name(data: &[u8], offset: usize) -> Option<(String, usize)> {
    let count = u16::from_le_bytes([*data.get(offset + 6)?, *data.get(offset + 7)?]) as usize;
    let start = offset + 8;
    let bytes = data.get(start..start.checked_add(count * 2)?)?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    Some((String::from_utf16(&units).ok()?, count))
}

/// Scan a template definition at `offset` for the `System` fields; `None` when the definition
/// holds anything this scan does not understand before `System` ends.
pub(crate) fn scan_template(data: &[u8], offset: u32) -> Option<SystemMap> {
    let offset = offset as usize;
    let size = u32::from_le_bytes(data.get(offset + 20..offset + 24)?.try_into().ok()?) as usize;
    let start = offset + 24;
    let end = start.checked_add(size)?.min(data.len());
    let mut c = Cur {
        data,
        pos: start,
        end,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut attr: Option<String> = None;
    let mut map = SystemMap::default();
    let mut in_start_tag = false;
    while c.pos < c.end {
        let token = c.u8()?;
        match token {
            0x00 => break,
            0x0f => c.skip(3)?,
            0x01 | 0x41 => {
                let _dependency = c.u16()?;
                let _size = c.u32()?;
                let name = c.name()?;
                if token & 0x40 != 0 {
                    let _attr_size = c.u32()?;
                }
                stack.push(name);
                attr = None;
                in_start_tag = true;
            }
            0x02 => {
                attr = None;
                in_start_tag = false;
            }
            0x03 | 0x04 => {
                attr = None;
                in_start_tag = false;
                let closed = stack.pop()?;
                if closed == "System" {
                    return Some(map);
                }
            }
            0x06 | 0x46 => {
                if !in_start_tag {
                    return None;
                }
                attr = Some(c.name()?);
            }
            0x05 | 0x45 => {
                let ty = c.u8()?;
                if ty != 0x01 {
                    return None;
                }
                let n = c.u16()? as usize;
                let bytes = data.get(c.pos..c.pos.checked_add(n * 2)?)?;
                c.skip(n * 2)?;
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                let s = String::from_utf16(&units).ok()?;
                assign(&mut map, &stack, attr.as_deref(), Slot::Static(s));
            }
            0x0d | 0x0e => {
                let id = c.u16()?;
                let _ty = c.u8()?;
                assign(&mut map, &stack, attr.as_deref(), Slot::Sub(id));
            }
            _ => return None,
        }
    }
    // `System` never closed: a template without it (or a truncated one).
    None
}

fn assign(map: &mut SystemMap, stack: &[String], attr: Option<&str>, slot: Slot) {
    let [.., parent, element] = stack else {
        return;
    };
    if parent != "System" {
        return;
    }
    let target = match (element.as_str(), attr) {
        ("Provider", Some("Name")) => &mut map.provider,
        ("EventID", None) => &mut map.event_id,
        ("EventID", Some("Qualifiers")) => &mut map.qualifiers,
        ("Channel", None) => &mut map.channel,
        _ => return,
    };
    // Text split over several tokens: give up on the fast path for that field.
    if target.is_some() {
        *target = Some(Slot::Sub(u16::MAX));
    } else {
        *target = Some(slot);
    }
}

/// A `System` value read straight from a record's substitution array (no allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawText<'a> {
    /// UTF-16LE bytes (up to the first NUL).
    Utf16(&'a [u8]),
    /// Static text of the template.
    Static(String),
}

/// What the raw look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawQuick<'a> {
    /// The template definition's chunk offset.
    pub def: u32,
    /// Where the substitution descriptors and values start, their number, the record's end.
    pub desc: usize,
    pub values: usize,
    pub n: usize,
    pub end: usize,
    pub provider: RawText<'a>,
    pub raw_event_id: u32,
    pub qualifiers: Option<u16>,
    pub channel: Option<RawText<'a>>,
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

impl TemplateCache {
    /// The cheap look at a record given by its BinXML window in the chunk, reading the
    /// substitution array directly (the template is scanned once per chunk). `None` when the
    /// record is not a single template instance this scan understands.
    pub fn quick_raw<'a>(
        &mut self,
        data: &'a [u8],
        start: usize,
        len: usize,
    ) -> Option<RawQuick<'a>> {
        let (def, desc, n, values, end) = instance_at(data, start, len)?;
        let map = match &self.last {
            Some((d, m)) if *d == def => Rc::clone(m),
            _ => {
                let m = self
                    .maps
                    .entry(def)
                    .or_insert_with(|| scan_template(data, def).map(Rc::new))
                    .clone()?;
                self.last = Some((def, Rc::clone(&m)));
                m
            }
        };
        let map: &SystemMap = &map;
        // Where substitution `i` is: (type, bytes).
        let value = |i: u16| -> Option<(u8, &'a [u8])> {
            let i = i as usize;
            if i >= n {
                return None;
            }
            let mut off = values;
            for j in 0..i {
                off += u16::from_le_bytes([data[desc + j * 4], data[desc + j * 4 + 1]]) as usize;
            }
            let size = u16::from_le_bytes([data[desc + i * 4], data[desc + i * 4 + 1]]) as usize;
            let ty = data[desc + i * 4 + 2];
            let bytes = data.get(off..off.checked_add(size)?)?;
            if off + size > end {
                return None;
            }
            Some((ty, bytes))
        };
        let text = |slot: &Slot| -> Option<Option<RawText<'a>>> {
            match slot {
                Slot::Static(s) => Some(Some(RawText::Static(s.clone()))),
                Slot::Sub(i) => match value(*i)? {
                    (0x00, _) => Some(None),
                    (0x01, mut b) => {
                        // Up to the first NUL, as the crate reads sized strings.
                        if let Some(nul) = b.chunks_exact(2).position(|c| c == [0, 0]) {
                            b = &b[..nul * 2];
                        }
                        Some(if b.is_empty() {
                            None
                        } else {
                            Some(RawText::Utf16(b))
                        })
                    }
                    _ => None,
                },
            }
        };
        let number = |slot: &Slot| -> Option<Option<u64>> {
            match slot {
                Slot::Static(s) => Some(Some(s.trim().parse().ok()?)),
                Slot::Sub(i) => {
                    let (ty, b) = value(*i)?;
                    let le = |k: usize| -> Option<u64> {
                        (b.len() == k)
                            .then(|| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
                    };
                    Some(match ty {
                        0x00 => None,
                        0x04 => Some(le(1)?),
                        0x06 => Some(le(2)?),
                        0x08 | 0x14 => Some(le(4)?),
                        0x0a | 0x15 => Some(le(8)?),
                        _ => return None,
                    })
                }
            }
        };
        let provider = text(map.provider.as_ref()?)??;
        let raw_event_id = u32::try_from(number(map.event_id.as_ref()?)??).ok()?;
        let qualifiers = match &map.qualifiers {
            None => None,
            Some(s) => match number(s)? {
                None => None,
                Some(q) => Some(u16::try_from(q).ok()?),
            },
        };
        let channel = match &map.channel {
            None => None,
            Some(s) => text(s)?,
        };
        Some(RawQuick {
            def,
            desc,
            values,
            n,
            end,
            provider,
            raw_event_id,
            qualifiers,
            channel,
        })
    }
}

/// Decode a raw text value.
pub(crate) fn raw_text_string(t: &RawText<'_>) -> Option<String> {
    match t {
        RawText::Static(s) => Some(s.clone()),
        RawText::Utf16(b) => {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
    }
}

/// A `TemplateInstance` at `start` (optionally after a fragment header): the template
/// definition's offset, where the descriptors start, their number, where the values start and
/// where the window ends.
pub(crate) fn instance_at(
    data: &[u8],
    start: usize,
    len: usize,
) -> Option<(u32, usize, usize, usize, usize)> {
    let end = start.checked_add(len)?.min(data.len());
    let mut p = start;
    if *data.get(p)? == 0x0f {
        p += 4;
    }
    if *data.get(p)? != 0x0c {
        return None;
    }
    p += 6; // token, unknown byte, template id
    let def = le_u32(data, p)?;
    p += 4;
    if def as usize == p {
        let size = le_u32(data, p + 20)? as usize;
        p = p.checked_add(24 + size)?;
    }
    let n = le_u32(data, p)? as usize;
    p += 4;
    let desc = p;
    let values = desc.checked_add(n.checked_mul(4)?)?;
    if values > end {
        return None;
    }
    Some((def, desc, n, values, end))
}

/// The substitution values of an instance: (type, bytes) by index.
fn substitution_values(
    data: &[u8],
    desc: usize,
    n: usize,
    values: usize,
    end: usize,
) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::with_capacity(n);
    let mut off = values;
    for i in 0..n {
        let d = desc + i * 4;
        let size = u16::from_le_bytes([*data.get(d)?, *data.get(d + 1)?]) as usize;
        let ty = *data.get(d + 2)?;
        let e = off.checked_add(size)?;
        if e > end {
            return None;
        }
        out.push((ty, data.get(off..e)?));
        off = e;
    }
    Some(out)
}
