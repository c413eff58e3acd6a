//! Direct decoding of kept records from their template substitution values: a record written
//! as one `TemplateInstance` whose template has the usual `Event/System`, `EventData/Data` and
//! `UserData/<container>/<field>` shape is turned into an [`Event`] without the `evtx` crate's
//! tree building and JSON rendering (the slow part of reading). Every value type is formatted
//! the way the crate's renderer formats it; anything else (nested BinXML, arrays, null or odd
//! values, unusual template shapes) returns `None` and the record goes through the crate.
//! `tests/eventlog_corpus.rs` and `tests/eventlog_generated.rs` check both paths give the same
//! events.

use std::fmt::Write as _;
use std::sync::Arc;

use super::fields::Fields;
use super::system::FxMap;

use super::system::Slot;

/// What a template value becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    ProviderName,
    ProviderGuid,
    EventId,
    Qualifiers,
    Level,
    TimeCreated,
    ActivityId,
    UserId,
    Channel,
    Computer,
    /// An `EventData`/`UserData` field.
    Field(Arc<str>),
    /// A nested BinXML value (type 0x21) holding an instance whose elements sit under the
    /// given parent (see [`NestedAt`]).
    Nested(NestedAt),
}

/// Where a nested instance's elements go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NestedAt {
    /// The record's root template.
    Root,
    Event,
    EventData,
    UserData,
}

impl NestedAt {
    fn prefix(self) -> &'static [&'static str] {
        match self {
            NestedAt::Root => &[],
            NestedAt::Event => &["Event"],
            NestedAt::EventData => &["Event", "EventData"],
            NestedAt::UserData => &["Event", "UserData"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    pub target: Target,
    pub slot: Slot,
}

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

struct Elem {
    name: String,
    /// `Data@Name` (static).
    data_name: Option<String>,
    /// Value tokens seen as this element's content.
    values: usize,
}

/// Scan the whole template definition at `offset` into bindings; `None` for any shape this
/// decoder does not handle.
/// `at`: where the template's elements sit (a nested instance's parent).
pub(crate) fn scan_full(data: &[u8], offset: u32, at: NestedAt) -> Option<Vec<Binding>> {
    let offset = offset as usize;
    let size = u32::from_le_bytes(data.get(offset + 20..offset + 24)?.try_into().ok()?) as usize;
    let start = offset + 24;
    let end = start.checked_add(size)?.min(data.len());
    let mut pos = start;
    let u8_at = |p: &mut usize| -> Option<u8> {
        if *p >= end {
            return None;
        }
        let v = *data.get(*p)?;
        *p += 1;
        Some(v)
    };
    let mut out = Vec::new();
    let mut stack: Vec<Elem> = Vec::new();
    for name in at.prefix() {
        stack.push(Elem {
            name: name.to_string(),
            data_name: None,
            values: 0,
        });
    }
    let base = stack.len();
    let mut attr: Option<String> = None;
    let mut positional = 0usize;
    let mut in_start = false;
    let name_at = |p: &mut usize| -> Option<String> {
        let off = u32::from_le_bytes(data.get(*p..*p + 4)?.try_into().ok()?) as usize;
        *p += 4;
        let (name, count) = read_name(data, off)?;
        if off == *p {
            *p += 10 + count * 2;
        }
        Some(name)
    };
    loop {
        let token = u8_at(&mut pos)?;
        match token {
            0x00 => break,
            0x0f => pos += 3,
            0x01 | 0x41 => {
                pos += 2 + 4;
                let name = name_at(&mut pos)?;
                if token & 0x40 != 0 {
                    pos += 4;
                }
                stack.push(Elem {
                    name,
                    data_name: None,
                    values: 0,
                });
                attr = None;
                in_start = true;
            }
            0x02 => {
                attr = None;
                in_start = false;
            }
            0x03 | 0x04 => {
                attr = None;
                in_start = false;
                if stack.len() <= base {
                    return None;
                }
                let e = stack.pop()?;
                let path: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
                if path == ["Event", "EventData"] && e.name == "Data" {
                    let key = match e.data_name {
                        Some(n) => n,
                        None => {
                            positional += 1;
                            positional.to_string()
                        }
                    };
                    if e.values == 0 {
                        // `<Data Name="x"/>`: an empty value.
                        out.push(Binding {
                            target: Target::Field(key.into()),
                            slot: Slot::Static(String::new()),
                        });
                    } else if let Some(last) = out.last_mut() {
                        last.target = Target::Field(key.into());
                    }
                }
            }
            0x06 | 0x46 => {
                if !in_start {
                    return None;
                }
                attr = Some(name_at(&mut pos)?);
            }
            0x05 | 0x45 | 0x0d | 0x0e => {
                let slot = if token == 0x0d || token == 0x0e {
                    let id = u16::from_le_bytes([u8_at(&mut pos)?, u8_at(&mut pos)?]);
                    let ty = u8_at(&mut pos)?;
                    if ty & 0x80 != 0 {
                        return None; // an array
                    }
                    if ty == 0x21 {
                        // Nested BinXML: as the content of `Event`, `EventData` or `UserData`.
                        let path: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
                        let at = match path.as_slice() {
                            ["Event"] => NestedAt::Event,
                            ["Event", "EventData"] => NestedAt::EventData,
                            ["Event", "UserData"] => NestedAt::UserData,
                            _ => return None,
                        };
                        if attr.is_some() {
                            return None;
                        }
                        out.push(Binding {
                            target: Target::Nested(at),
                            slot: Slot::Sub(id),
                        });
                        continue;
                    }
                    Slot::Sub(id)
                } else {
                    if u8_at(&mut pos)? != 0x01 {
                        return None;
                    }
                    let n = u16::from_le_bytes([u8_at(&mut pos)?, u8_at(&mut pos)?]) as usize;
                    let bytes = data.get(pos..pos.checked_add(n * 2)?)?;
                    pos += n * 2;
                    let units: Vec<u16> = bytes
                        .chunks_exact(2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    Slot::Static(String::from_utf16(&units).ok()?)
                };
                let path: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
                let target = match (path.as_slice(), attr.as_deref()) {
                    (["Event", "System", "Provider"], Some("Name")) => Some(Target::ProviderName),
                    (["Event", "System", "Provider"], Some("Guid")) => Some(Target::ProviderGuid),
                    (["Event", "System", "EventID"], None) => Some(Target::EventId),
                    (["Event", "System", "EventID"], Some("Qualifiers")) => {
                        Some(Target::Qualifiers)
                    }
                    (["Event", "System", "Level"], None) => Some(Target::Level),
                    (["Event", "System", "TimeCreated"], Some("SystemTime")) => {
                        Some(Target::TimeCreated)
                    }
                    (["Event", "System", "Correlation"], Some("ActivityID")) => {
                        Some(Target::ActivityId)
                    }
                    (["Event", "System", "Security"], Some("UserID")) => Some(Target::UserId),
                    (["Event", "System", "Channel"], None) => Some(Target::Channel),
                    (["Event", "System", "Computer"], None) => Some(Target::Computer),
                    (["Event", "System", ..], _) => None,
                    (["Event"], Some(_)) => None,
                    (["Event", "EventData", "Data"], Some("Name")) => {
                        match slot {
                            Slot::Static(s) => stack.last_mut()?.data_name = Some(s),
                            Slot::Sub(_) => return None,
                        }
                        continue;
                    }
                    (["Event", "EventData", "Data"], None) => {
                        // Named when the element closes.
                        Some(Target::Field(Arc::from("")))
                    }
                    (["Event", "EventData", field], None) => Some(Target::Field(Arc::from(*field))),
                    (["Event", "UserData", _], Some(_)) => None,
                    (["Event", "UserData", _, field], None) => {
                        Some(Target::Field(Arc::from(*field)))
                    }
                    _ => return None,
                };
                if let Some(e) = stack.last_mut().filter(|_| attr.is_none()) {
                    e.values += 1;
                    if e.values > 1 && target.is_some() {
                        return None; // text split over several tokens
                    }
                }
                if let Some(target) = target {
                    out.push(Binding { target, slot });
                }
            }
            _ => return None,
        }
    }
    if stack.len() != base {
        return None;
    }
    Some(out)
}

/// A decoded record.
#[derive(Default)]
pub(crate) struct Decoded {
    pub have_id: bool,
    pub provider: Arc<str>,
    pub provider_guid: Option<Arc<str>>,
    pub raw_event_id: u32,
    pub qualifiers: Option<u16>,
    pub level: Option<u8>,
    pub time: Option<jiff::Timestamp>,
    pub activity_id: Option<String>,
    pub user_sid: Option<String>,
    pub channel: Option<Arc<str>>,
    pub computer: Option<Arc<str>>,
    pub fields: Fields,
}

/// A substitution value: (type, bytes).
type Value<'a> = (u8, &'a [u8]);

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

fn utf16_until_nul(b: &[u8]) -> Option<String> {
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let len = units.clone().take_while(|&u| u != 0).count();
    let mut s = String::with_capacity(len);
    // ASCII fast path, then the general decoder.
    let bytes = &b[..len * 2];
    if bytes.chunks_exact(2).all(|c| c[1] == 0 && c[0] < 0x80) {
        s.extend(bytes.chunks_exact(2).map(|c| c[0] as char));
        return Some(s);
    }
    for c in char::decode_utf16(units.take(len)) {
        s.push(c.ok()?);
    }
    Some(s)
}

/// Format a value as the crate's renderer does; `None` for null and unhandled types.
fn text((ty, b): Value<'_>) -> Option<String> {
    let sized = |n: usize| (b.len() == n).then(|| le(b));
    Some(match ty {
        0x01 => utf16_until_nul(b)?,
        0x03 => (sized(1)? as u8 as i8).to_string(),
        0x04 => sized(1)?.to_string(),
        0x05 => (sized(2)? as u16 as i16).to_string(),
        0x06 => sized(2)?.to_string(),
        0x07 => (sized(4)? as u32 as i32).to_string(),
        0x08 => sized(4)?.to_string(),
        0x09 => (sized(8)? as i64).to_string(),
        0x0a => sized(8)?.to_string(),
        0x0e => {
            let mut s = String::with_capacity(b.len() * 2);
            for x in b {
                let _ = write!(s, "{x:02X}");
            }
            s
        }
        0x0f => guid(b)?,
        0x13 => sid(b)?,
        0x14 => format!("0x{:x}", sized(4)?),
        0x15 => format!("0x{:x}", sized(8)?),
        _ => return None,
    })
}

fn guid(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    Some(format!(
        "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
        le(&b[0..4]),
        le(&b[4..6]),
        le(&b[6..8]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

fn sid(b: &[u8]) -> Option<String> {
    let [revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = *b else {
        return None;
    };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    if subs.len() < count as usize * 4 {
        return None;
    }
    let mut s = format!("S-{revision}-{authority}");
    for c in subs.chunks_exact(4).take(count as usize) {
        let _ = write!(s, "-{}", u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    Some(s)
}

fn number((ty, b): Value<'_>) -> Option<u64> {
    let sized = |n: usize| (b.len() == n).then(|| le(b));
    match ty {
        0x04 => sized(1),
        0x06 => sized(2),
        0x08 | 0x14 => sized(4),
        0x0a | 0x15 => sized(8),
        _ => None,
    }
}

/// Names that repeat from record to record (provider, channel, computer, provider GUID), decoded
/// once per file and shared: keyed by the value's raw bytes (UTF-16 strings and GUIDs) or by a
/// template's static text. Bounded: past [`StrCache::MAX`] distinct names, values are decoded
/// each time instead.
#[derive(Default)]
pub(crate) struct StrCache {
    /// Raw UTF-16LE strings (type 0x01), GUIDs (0x0f), static template text (UTF-8).
    maps: [FxMap<Box<[u8]>, Arc<str>>; 3],
}

impl StrCache {
    const MAX: usize = 4096;

    fn shared(&mut self, slot: &Slot, value: Option<Value<'_>>) -> Option<Arc<str>> {
        let (map, key) = match (slot, value) {
            (Slot::Static(s), _) => (2, s.as_bytes()),
            (_, Some((0x01, b))) => (0, b),
            (_, Some((0x0f, b))) => (1, b),
            (_, Some(v)) => return text(v).map(Arc::from),
            _ => return None,
        };
        if let Some(a) = self.maps[map].get(key) {
            return Some(Arc::clone(a));
        }
        let a: Arc<str> = match (slot, value) {
            (Slot::Static(s), _) => Arc::from(s.as_str()),
            (_, Some(v)) => Arc::from(text(v)?),
            _ => return None,
        };
        if self.maps[map].len() < Self::MAX {
            self.maps[map].insert(key.into(), Arc::clone(&a));
        }
        Some(a)
    }
}

/// Apply one binding to the record being decoded. `None` when the value is outside what
/// this decoder handles (the record then goes through the crate).
pub(crate) fn apply(
    d: &mut Decoded,
    b: &Binding,
    value: Option<Value<'_>>,
    names: &mut StrCache,
) -> Option<()> {
    if let Some((0x00, _)) = value {
        // A null value: the element or attribute is absent. Fine for optional System parts;
        // for a field the crate's rendering differs, so defer.
        if matches!(
            b.target,
            Target::Field(_) | Target::ProviderName | Target::EventId
        ) {
            return None;
        }
        return Some(());
    }
    let as_text = || -> Option<String> {
        match (&b.slot, value) {
            (Slot::Static(s), _) => Some(s.clone()),
            (_, Some(v)) => text(v),
            _ => None,
        }
    };
    let as_number = || -> Option<u64> {
        match (&b.slot, value) {
            (Slot::Static(s), _) => s.trim().parse().ok(),
            (_, Some(v)) => number(v),
            _ => None,
        }
    };
    match &b.target {
        Target::ProviderName => d.provider = names.shared(&b.slot, value)?,
        Target::ProviderGuid => d.provider_guid = Some(names.shared(&b.slot, value)?),
        Target::EventId => {
            d.raw_event_id = u32::try_from(as_number()?).ok()?;
            d.have_id = true;
        }
        Target::Qualifiers => d.qualifiers = Some(u16::try_from(as_number()?).ok()?),
        Target::Level => d.level = Some(u8::try_from(as_number()?).ok()?),
        Target::TimeCreated => {
            let (ty, bytes) = value?;
            if ty != 0x11 || bytes.len() != 8 {
                return None;
            }
            let ft = le(bytes) as i128;
            let ns = (ft - 116_444_736_000_000_000) * 100;
            d.time = Some(jiff::Timestamp::from_nanosecond(ns).ok()?);
        }
        Target::ActivityId => d.activity_id = Some(as_text()?),
        Target::UserId => d.user_sid = Some(as_text()?),
        Target::Channel => {
            d.channel = Some(names.shared(&b.slot, value)?).filter(|c| !c.is_empty())
        }
        Target::Computer => d.computer = Some(names.shared(&b.slot, value)?),
        Target::Field(name) => {
            if d.fields.insert(Arc::clone(name), as_text()?).is_some() {
                return None; // a repeated name: the crate's rendering decides
            }
        }
        Target::Nested(_) => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdsdiag_testsupport::evtx::{Ev, EvtxBuilder};

    #[test]
    fn scans_the_writer_template() {
        let f = EvtxBuilder::new()
            .event(Ev::new("P", 40).user_data("EventXML", &[("Session", "2")]))
            .build();
        let chunk = &f[4096..4096 + 65536];
        let rec = 512 + 24;
        assert_eq!(chunk[rec], 0x0c);
        let def = u32::from_le_bytes(chunk[rec + 6..rec + 10].try_into().unwrap());
        let b = scan_full(chunk, def, NestedAt::Root).expect("template understood");
        assert!(b
            .iter()
            .any(|b| b.target == Target::Field("Session".into())));
    }
}
