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

use super::binxml::{
    value_type, walk_template, Step, TemplateValue, TemplateVisitor, Value, Walked,
};
use super::fields::Fields;
use super::system::{FxMap, Slot};

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
    /// A nested BinXML value (`value_type::BINXML`) holding an instance whose elements sit under the
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

/// Where a value in a template goes, by its element path and attribute. `Ok(None)`: a value
/// this decoder ignores; `Err(())`: a shape it does not handle.
fn target_of(path: &[&str], attr: Option<&str>) -> Result<Option<Target>, ()> {
    Ok(Some(match (path, attr) {
        (["Event", "System", "Provider"], Some("Name")) => Target::ProviderName,
        (["Event", "System", "Provider"], Some("Guid")) => Target::ProviderGuid,
        (["Event", "System", "EventID"], None) => Target::EventId,
        (["Event", "System", "EventID"], Some("Qualifiers")) => Target::Qualifiers,
        (["Event", "System", "Level"], None) => Target::Level,
        (["Event", "System", "TimeCreated"], Some("SystemTime")) => Target::TimeCreated,
        (["Event", "System", "Correlation"], Some("ActivityID")) => Target::ActivityId,
        (["Event", "System", "Security"], Some("UserID")) => Target::UserId,
        (["Event", "System", "Channel"], None) => Target::Channel,
        (["Event", "System", "Computer"], None) => Target::Computer,
        (["Event", "System", ..], _) | (["Event"], Some(_)) => return Ok(None),
        // Named when the element closes.
        (["Event", "EventData", "Data"], None) => Target::Field(Arc::from("")),
        (["Event", "EventData", field], None) => Target::Field(Arc::from(*field)),
        (["Event", "UserData", _], Some(_)) => return Ok(None),
        (["Event", "UserData", _, field], None) => Target::Field(Arc::from(*field)),
        _ => return Err(()),
    }))
}

/// Where a nested BinXML value's instance puts its elements, by the element it is the content
/// of.
fn nested_at(path: &[&str]) -> Option<NestedAt> {
    Some(match path {
        ["Event"] => NestedAt::Event,
        ["Event", "EventData"] => NestedAt::EventData,
        ["Event", "UserData"] => NestedAt::UserData,
        _ => return None,
    })
}

/// What the decoder's scan keeps per open element.
#[derive(Default)]
struct Elem {
    /// `Data@Name` (static).
    data_name: Option<String>,
    /// Value tokens seen as this element's content.
    values: usize,
}

/// Turns a template walk into bindings (see [`scan_full`]).
struct BindingScan {
    out: Vec<Binding>,
    /// Per open element, parallel to the walk's path (the prefix included).
    elems: Vec<Elem>,
    /// Unnamed `EventData/Data` values so far.
    positional: usize,
}

impl BindingScan {
    /// A substitution holding nested BinXML: bound as a whole, decoded per record.
    fn nested(&mut self, path: &[&str], attr: Option<&str>, index: u16) -> Option<Step> {
        if attr.is_some() {
            return None;
        }
        self.out.push(Binding {
            target: Target::Nested(nested_at(path)?),
            slot: Slot::Sub(index),
        });
        Some(Step::Go)
    }
}

impl TemplateVisitor for BindingScan {
    fn opened(&mut self) {
        self.elems.push(Elem::default());
    }

    fn value(&mut self, path: &[String], attr: Option<&str>, value: TemplateValue) -> Option<Step> {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let slot = match value {
            TemplateValue::Sub { ty, .. } if ty & value_type::ARRAY != 0 => return None,
            TemplateValue::Sub {
                index,
                ty: value_type::BINXML,
            } => return self.nested(&path, attr, index),
            TemplateValue::Sub { index, .. } => Slot::Sub(index),
            TemplateValue::Text(s) => Slot::Static(s),
        };
        if let (["Event", "EventData", "Data"], Some("Name")) = (path.as_slice(), attr) {
            match slot {
                Slot::Static(s) => self.elems.last_mut()?.data_name = Some(s),
                Slot::Sub(_) => return None,
            }
            return Some(Step::Go);
        }
        let target = target_of(&path, attr).ok()?;
        if let Some(e) = self.elems.last_mut().filter(|_| attr.is_none()) {
            e.values += 1;
            if e.values > 1 && target.is_some() {
                return None; // text split over several tokens
            }
        }
        if let Some(target) = target {
            self.out.push(Binding { target, slot });
        }
        Some(Step::Go)
    }

    fn closed(&mut self, parent: &[String], name: &str) -> Option<Step> {
        let e = self.elems.pop()?;
        if name != "Data" || parent.len() != 2 || parent[0] != "Event" || parent[1] != "EventData" {
            return Some(Step::Go);
        }
        let key = match e.data_name {
            Some(n) => n,
            None => {
                self.positional += 1;
                self.positional.to_string()
            }
        };
        if e.values == 0 {
            // `<Data Name="x"/>`: an empty value.
            self.out.push(Binding {
                target: Target::Field(key.into()),
                slot: Slot::Static(String::new()),
            });
        } else if let Some(last) = self.out.last_mut() {
            last.target = Target::Field(key.into());
        }
        Some(Step::Go)
    }
}

/// Scan the whole template definition at `offset` into bindings; `None` for any shape this
/// decoder does not handle.
/// `at`: where the template's elements sit (a nested instance's parent).
pub(crate) fn scan_full(data: &[u8], offset: u32, at: NestedAt) -> Option<Vec<Binding>> {
    let prefix = at.prefix();
    let mut scan = BindingScan {
        out: Vec::new(),
        elems: prefix.iter().map(|_| Elem::default()).collect(),
        positional: 0,
    };
    match walk_template(data, offset, prefix, &mut scan)? {
        Walked::Ended => Some(scan.out),
        Walked::Done => None,
    }
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
    use value_type::*;
    let sized = |n: usize| (b.len() == n).then(|| le(b));
    Some(match ty {
        STRING => utf16_until_nul(b)?,
        INT8 => (sized(1)? as u8 as i8).to_string(),
        UINT8 => sized(1)?.to_string(),
        INT16 => (sized(2)? as u16 as i16).to_string(),
        UINT16 => sized(2)?.to_string(),
        INT32 => (sized(4)? as u32 as i32).to_string(),
        UINT32 => sized(4)?.to_string(),
        INT64 => (sized(8)? as i64).to_string(),
        UINT64 => sized(8)?.to_string(),
        BINARY => {
            let mut s = String::with_capacity(b.len() * 2);
            for x in b {
                let _ = write!(s, "{x:02X}");
            }
            s
        }
        GUID => guid(b)?,
        SID => sid(b)?,
        HEX_INT32 => format!("0x{:x}", sized(4)?),
        HEX_INT64 => format!("0x{:x}", sized(8)?),
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

/// An unsigned number value (decimal or hex types) of its type's size.
pub(crate) fn unsigned((ty, b): Value<'_>) -> Option<u64> {
    use value_type::*;
    let sized = |n: usize| (b.len() == n).then(|| le(b));
    match ty {
        UINT8 => sized(1),
        UINT16 => sized(2),
        UINT32 | HEX_INT32 => sized(4),
        UINT64 | HEX_INT64 => sized(8),
        _ => None,
    }
}

/// Names that repeat from record to record (provider, channel, computer, provider GUID), decoded
/// once per file and shared: keyed by the value's raw bytes (UTF-16 strings and GUIDs) or by a
/// template's static text. Bounded: past [`StrCache::MAX`] distinct names, values are decoded
/// each time instead.
#[derive(Default)]
pub(crate) struct StrCache {
    /// Raw UTF-16LE strings, GUIDs, static template text (UTF-8).
    maps: [FxMap<Box<[u8]>, Arc<str>>; 3],
}

impl StrCache {
    const MAX: usize = 4096;

    fn shared(&mut self, slot: &Slot, value: Option<Value<'_>>) -> Option<Arc<str>> {
        let (map, key) = match (slot, value) {
            (Slot::Static(s), _) => (2, s.as_bytes()),
            (_, Some((value_type::STRING, b))) => (0, b),
            (_, Some((value_type::GUID, b))) => (1, b),
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
    if let Some((value_type::NULL, _)) = value {
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
            (_, Some(v)) => unsigned(v),
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
            if ty != value_type::FILETIME || bytes.len() != 8 {
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
        assert_eq!(chunk[rec], super::super::binxml::token::TEMPLATE_INSTANCE);
        let def = u32::from_le_bytes(chunk[rec + 6..rec + 10].try_into().unwrap());
        let b = scan_full(chunk, def, NestedAt::Root).expect("template understood");
        assert!(b
            .iter()
            .any(|b| b.target == Target::Field("Session".into())));
    }
}
