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

use super::binxml::{
    instance_at, utf16_le, value_type, walk_template, Instance, Step, TemplateValue,
    TemplateVisitor, Value, Walked,
};

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
        let values = q.instance.values(data)?;
        let mut d = super::decode::Decoded::default();
        self.decode_into(
            data,
            q.instance.def,
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
        values: &[Value<'a>],
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
                    value_type::NULL => continue,
                    value_type::BINXML => {}
                    _ => return None,
                }
                // The nested fragment lives in the chunk: find where, to resolve offsets.
                let start = (bytes.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
                let nested = instance_at(data, start, bytes.len())?;
                let values2 = nested.values(data)?;
                self.decode_into(data, nested.def, &values2, d, inner, depth + 1)?;
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

/// Finds the `System` fields in a template walk; done when `System` closes.
struct SystemScan(SystemMap);

impl TemplateVisitor for SystemScan {
    fn value(&mut self, path: &[String], attr: Option<&str>, value: TemplateValue) -> Option<Step> {
        let slot = match value {
            TemplateValue::Text(s) => Slot::Static(s),
            TemplateValue::Sub { index, .. } => Slot::Sub(index),
        };
        assign(&mut self.0, path, attr, slot);
        Some(Step::Go)
    }

    fn closed(&mut self, _parent: &[String], name: &str) -> Option<Step> {
        Some(if name == "System" {
            Step::Done
        } else {
            Step::Go
        })
    }
}

/// Scan a template definition at `offset` for the `System` fields; `None` when the definition
/// holds anything the walk does not understand before `System` ends, or no `System` at all.
pub(crate) fn scan_template(data: &[u8], offset: u32) -> Option<SystemMap> {
    let mut scan = SystemScan(SystemMap::default());
    match walk_template(data, offset, &[], &mut scan)? {
        Walked::Done => Some(scan.0),
        // `System` never closed: a template without it.
        Walked::Ended => None,
    }
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
    /// Where the record's template instance and its substitution values are.
    pub instance: Instance,
    pub provider: RawText<'a>,
    pub raw_event_id: u32,
    pub qualifiers: Option<u16>,
    pub channel: Option<RawText<'a>>,
}

impl TemplateCache {
    /// The `System` map of the template at `def` (scanned once per chunk).
    fn system_map(&mut self, data: &[u8], def: u32) -> Option<Rc<SystemMap>> {
        if let Some((d, m)) = &self.last {
            if *d == def {
                return Some(Rc::clone(m));
            }
        }
        let m = self
            .maps
            .entry(def)
            .or_insert_with(|| scan_template(data, def).map(Rc::new))
            .clone()?;
        self.last = Some((def, Rc::clone(&m)));
        Some(m)
    }

    /// The cheap look at a record given by its BinXML window in the chunk, reading the
    /// substitution array directly (the template is scanned once per chunk). `None` when the
    /// record is not a single template instance this scan understands.
    pub fn quick_raw<'a>(
        &mut self,
        data: &'a [u8],
        start: usize,
        len: usize,
    ) -> Option<RawQuick<'a>> {
        let instance = instance_at(data, start, len)?;
        let map = self.system_map(data, instance.def)?;
        let text = |slot: &Slot| raw_text(data, &instance, slot);
        let number = |slot: &Slot| raw_number(data, &instance, slot);
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
            instance,
            provider,
            raw_event_id,
            qualifiers,
            channel,
        })
    }
}

/// A `System` text value of a record: `Some(None)` for a null or empty value, `None` when the
/// value is not a string.
fn raw_text<'a>(data: &'a [u8], instance: &Instance, slot: &Slot) -> Option<Option<RawText<'a>>> {
    match slot {
        Slot::Static(s) => Some(Some(RawText::Static(s.clone()))),
        Slot::Sub(i) => match instance.value(data, usize::from(*i))? {
            (value_type::NULL, _) => Some(None),
            (value_type::STRING, mut b) => {
                // Up to the first NUL, as the crate reads sized strings.
                if let Some(nul) = b.chunks_exact(2).position(|c| c == [0, 0]) {
                    b = &b[..nul * 2];
                }
                Some((!b.is_empty()).then_some(RawText::Utf16(b)))
            }
            _ => None,
        },
    }
}

/// A `System` number of a record: `Some(None)` for a null value, `None` when the value is not
/// an unsigned number of its type's size.
fn raw_number(data: &[u8], instance: &Instance, slot: &Slot) -> Option<Option<u64>> {
    match slot {
        Slot::Static(s) => Some(Some(s.trim().parse().ok()?)),
        Slot::Sub(i) => {
            let value = instance.value(data, usize::from(*i))?;
            if value.0 == value_type::NULL {
                return Some(None);
            }
            Some(Some(super::decode::unsigned(value)?))
        }
    }
}

/// Decode a raw text value.
pub(crate) fn raw_text_string(t: &RawText<'_>) -> Option<String> {
    match t {
        RawText::Static(s) => Some(s.clone()),
        RawText::Utf16(b) => utf16_le(b),
    }
}
