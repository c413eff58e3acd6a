//! A small EVTX writer for tests (no crate writes EVTX): builds event logs from readable Rust
//! descriptions — file header, 64 KiB chunks, records in BinXML (template-based like Windows
//! writes them, or template-less), correct CRC32s — and damages them on purpose.
//!
//! ```
//! use rdsdiag_testsupport::evtx::{Ev, EvtxBuilder};
//! let bytes = EvtxBuilder::new()
//!     .event(
//!         Ev::new("Microsoft-Windows-TerminalServices-LocalSessionManager", 40)
//!             .time("2024-03-01T10:14:00.1234567Z")
//!             .channel("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational")
//!             .user_data("EventXML", &[("Session", "2"), ("Reason", "5")]),
//!     )
//!     .build();
//! assert_eq!(&bytes[..8], b"ElfFile\0");
//! ```

use std::collections::HashMap;

pub const FILE_HEADER_SIZE: usize = 4096;
pub const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;

/// The `EventData`/`UserData` part of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Neither `EventData` nor `UserData`.
    None,
    /// `<EventData/>` with nothing in it.
    EmptyEventData,
    /// `<EventData><Data Name="k">v</Data>…` (`None` name: positional `<Data>v</Data>`).
    EventData(Vec<(Option<String>, String)>),
    /// `<UserData><container xmlns="Event_NS"><k>v</k>…</container></UserData>`.
    UserData {
        container: String,
        fields: Vec<(String, String)>,
    },
}

/// One event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    pub provider: String,
    pub guid: Option<String>,
    pub event_id: u32,
    pub qualifiers: Option<u16>,
    pub level: u8,
    /// FILETIME (100 ns since 1601-01-01 UTC); `None`: assigned by the builder.
    pub filetime: Option<u64>,
    /// `None`: assigned by the builder (one more than the previous record).
    pub record_id: Option<u64>,
    pub channel: Option<String>,
    pub computer: String,
    pub payload: Payload,
}

impl Ev {
    pub fn new(provider: &str, event_id: u32) -> Ev {
        Ev {
            provider: provider.to_string(),
            guid: None,
            event_id,
            qualifiers: None,
            level: 4,
            filetime: None,
            record_id: None,
            channel: Some("System".into()),
            computer: "HOST".into(),
            payload: Payload::None,
        }
    }
    pub fn guid(mut self, g: &str) -> Ev {
        self.guid = Some(g.to_string());
        self
    }
    pub fn qualifiers(mut self, q: u16) -> Ev {
        self.qualifiers = Some(q);
        self
    }
    pub fn level(mut self, l: u8) -> Ev {
        self.level = l;
        self
    }
    /// `YYYY-MM-DDTHH:MM:SS[.fffffff]Z` (UTC). Panics on a malformed literal (test code).
    pub fn time(mut self, t: &str) -> Ev {
        self.filetime =
            Some(filetime_from_iso(t).unwrap_or_else(|| panic!("bad time literal {t:?}")));
        self
    }
    pub fn filetime(mut self, ft: u64) -> Ev {
        self.filetime = Some(ft);
        self
    }
    pub fn record_id(mut self, id: u64) -> Ev {
        self.record_id = Some(id);
        self
    }
    pub fn channel(mut self, c: &str) -> Ev {
        self.channel = Some(c.to_string());
        self
    }
    pub fn no_channel(mut self) -> Ev {
        self.channel = None;
        self
    }
    pub fn computer(mut self, c: &str) -> Ev {
        self.computer = c.to_string();
        self
    }
    /// Named `EventData` values.
    pub fn event_data(mut self, kv: &[(&str, &str)]) -> Ev {
        self.payload = Payload::EventData(
            kv.iter()
                .map(|(k, v)| (Some(k.to_string()), v.to_string()))
                .collect(),
        );
        self
    }
    /// Positional (unnamed) `EventData/Data` values.
    pub fn data(mut self, values: &[&str]) -> Ev {
        self.payload = Payload::EventData(values.iter().map(|v| (None, v.to_string())).collect());
        self
    }
    pub fn empty_event_data(mut self) -> Ev {
        self.payload = Payload::EmptyEventData;
        self
    }
    pub fn user_data(mut self, container: &str, kv: &[(&str, &str)]) -> Ev {
        self.payload = Payload::UserData {
            container: container.to_string(),
            fields: kv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        self
    }
}

/// How records are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A template definition per event shape and chunk, covering `System` and the
    /// `EventData`/`UserData` structure, and a `TemplateInstance` per record whose substitution
    /// values are the field values (what Windows writes).
    Template,
    /// Like `Template`, but the `EventData`/`UserData` part is one BinXML substitution value
    /// (type 0x21) holding a plain element tree.
    TemplateNested,
    /// Each record is a plain element tree with its values as text.
    Plain,
}

/// Builds a whole EVTX file.
#[derive(Debug, Clone)]
pub struct EvtxBuilder {
    events: Vec<Ev>,
    encoding: Encoding,
    dirty: bool,
    full: bool,
    max_records_per_chunk: usize,
    start_filetime: u64,
    first_record_id: u64,
}

impl Default for EvtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EvtxBuilder {
    pub fn new() -> EvtxBuilder {
        EvtxBuilder {
            events: Vec::new(),
            encoding: Encoding::Template,
            dirty: false,
            full: false,
            max_records_per_chunk: usize::MAX,
            // 2024-01-01T00:00:00Z
            start_filetime: filetime_from_iso("2024-01-01T00:00:00Z").unwrap_or_default(),
            first_record_id: 1,
        }
    }
    pub fn event(mut self, e: Ev) -> EvtxBuilder {
        self.events.push(e);
        self
    }
    pub fn events(mut self, es: impl IntoIterator<Item = Ev>) -> EvtxBuilder {
        self.events.extend(es);
        self
    }
    pub fn encoding(mut self, e: Encoding) -> EvtxBuilder {
        self.encoding = e;
        self
    }
    pub fn dirty(mut self, d: bool) -> EvtxBuilder {
        self.dirty = d;
        self
    }
    pub fn full(mut self, f: bool) -> EvtxBuilder {
        self.full = f;
        self
    }
    /// Start a new chunk after this many records (chunks also end when full).
    pub fn max_records_per_chunk(mut self, n: usize) -> EvtxBuilder {
        self.max_records_per_chunk = n.max(1);
        self
    }
    pub fn first_record_id(mut self, id: u64) -> EvtxBuilder {
        self.first_record_id = id;
        self
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut cw = ChunkWriter::new(self.encoding);
        let mut next_id = self.first_record_id;
        let mut ft = self.start_filetime;
        for e in &self.events {
            let id = e.record_id.unwrap_or(next_id);
            next_id = id + 1;
            let time = e.filetime.unwrap_or(ft);
            ft = time + 10_000_000;
            if cw.count >= self.max_records_per_chunk || !cw.add(e, id, time) {
                chunks.push(cw.finish());
                cw = ChunkWriter::new(self.encoding);
                assert!(cw.add(e, id, time), "event too large for one chunk");
            }
        }
        if cw.count > 0 || chunks.is_empty() {
            chunks.push(cw.finish());
        }
        let mut out = vec![0u8; FILE_HEADER_SIZE];
        out[..8].copy_from_slice(b"ElfFile\0");
        put_u64(&mut out, 8, 0);
        put_u64(&mut out, 16, chunks.len() as u64 - 1);
        put_u64(&mut out, 24, next_id);
        put_u32(&mut out, 32, 128);
        put_u16(&mut out, 36, 1);
        put_u16(&mut out, 38, 3);
        put_u16(&mut out, 40, FILE_HEADER_SIZE as u16);
        put_u16(&mut out, 42, chunks.len() as u16);
        let flags = u32::from(self.dirty) | (u32::from(self.full) << 1);
        put_u32(&mut out, 120, flags);
        fix_file_header_crc(&mut out);
        for c in chunks {
            out.extend_from_slice(&c);
        }
        out
    }
}

struct ChunkWriter {
    buf: Vec<u8>,
    names: HashMap<String, u32>,
    templates: HashMap<String, u32>,
    encoding: Encoding,
    count: usize,
    first_id: u64,
    last_id: u64,
    last_offset: u32,
}

impl ChunkWriter {
    fn new(encoding: Encoding) -> ChunkWriter {
        ChunkWriter {
            buf: vec![0u8; CHUNK_HEADER_SIZE],
            names: HashMap::new(),
            templates: HashMap::new(),
            encoding,
            count: 0,
            first_id: 0,
            last_id: 0,
            last_offset: 0,
        }
    }

    /// Append a record; false (and nothing changed) when it does not fit.
    fn add(&mut self, e: &Ev, id: u64, filetime: u64) -> bool {
        let start = self.buf.len();
        let names = self.names.clone();
        let templates = self.templates.clone();
        let mut bx = Bx {
            out: Vec::new(),
            base: (start + 24) as u32,
            names: &mut self.names,
        };
        match self.encoding {
            Encoding::Plain => bx.plain_record(e, filetime, id),
            Encoding::Template => bx.template_record(e, filetime, id, &mut self.templates, false),
            Encoding::TemplateNested => {
                bx.template_record(e, filetime, id, &mut self.templates, true)
            }
        }
        let binxml = bx.out;
        let size = 24 + binxml.len() + 4;
        if start + size > CHUNK_SIZE {
            self.names = names;
            self.templates = templates;
            return false;
        }
        let mut rec = Vec::with_capacity(size);
        rec.extend_from_slice(&[0x2a, 0x2a, 0, 0]);
        rec.extend_from_slice(&(size as u32).to_le_bytes());
        rec.extend_from_slice(&id.to_le_bytes());
        rec.extend_from_slice(&filetime.to_le_bytes());
        rec.extend_from_slice(&binxml);
        rec.extend_from_slice(&(size as u32).to_le_bytes());
        self.buf.extend_from_slice(&rec);
        if self.count == 0 {
            self.first_id = id;
        }
        self.last_id = id;
        self.last_offset = start as u32;
        self.count += 1;
        true
    }

    fn finish(mut self) -> Vec<u8> {
        let free = self.buf.len() as u32;
        self.buf.resize(CHUNK_SIZE, 0);
        let b = &mut self.buf;
        b[..8].copy_from_slice(b"ElfChnk\0");
        // A chunk without records says first 1, last 0 (record numbers and IDs), as Windows
        // writes the only chunk of a log with no record.
        let (first, last) = if self.count == 0 {
            (1, 0)
        } else {
            (self.first_id, self.last_id)
        };
        put_u64(b, 8, first);
        put_u64(b, 16, last);
        put_u64(b, 24, first);
        put_u64(b, 32, last);
        put_u32(b, 40, 128);
        put_u32(b, 44, self.last_offset);
        put_u32(b, 48, free);
        fix_chunk_crcs(b, 0);
        self.buf
    }
}

/// A BinXML encoder writing at a known chunk offset (`base`), with inline names on first use.
struct Bx<'n> {
    out: Vec<u8>,
    base: u32,
    names: &'n mut HashMap<String, u32>,
}

const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

impl Bx<'_> {
    fn pos(&self) -> u32 {
        self.base + self.out.len() as u32
    }
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn utf16(&mut self, s: &str) {
        for u in s.encode_utf16() {
            self.u16(u);
        }
    }
    fn fragment_header(&mut self) {
        self.out.extend_from_slice(&[0x0f, 1, 1, 0]);
    }
    fn name(&mut self, name: &str) {
        if let Some(&off) = self.names.get(name) {
            self.u32(off);
            return;
        }
        let off = self.pos() + 4;
        self.u32(off);
        self.u32(0);
        let hash = name.encode_utf16().fold(0u32, |h, c| {
            h.wrapping_mul(65599).wrapping_add(u32::from(c))
        });
        self.u16(hash as u16);
        self.u16(name.encode_utf16().count() as u16);
        self.utf16(name);
        self.u16(0);
        self.names.insert(name.to_string(), off);
    }
    fn open(&mut self, name: &str, attrs: bool, dep: bool) {
        self.u8(if attrs { 0x41 } else { 0x01 });
        if dep {
            self.u16(0xFFFF);
        }
        self.u32(0);
        self.name(name);
        if attrs {
            self.u32(0);
        }
    }
    fn attr(&mut self, name: &str) {
        self.u8(0x06);
        self.name(name);
    }
    fn text(&mut self, s: &str) {
        self.u8(0x05);
        self.u8(0x01);
        self.u16(s.encode_utf16().count() as u16);
        self.utf16(s);
    }
    fn close_start(&mut self) {
        self.u8(0x02);
    }
    fn close_empty(&mut self) {
        self.u8(0x03);
    }
    fn end(&mut self) {
        self.u8(0x04);
    }
    fn sub(&mut self, id: u16, ty: u8, optional: bool) {
        self.u8(if optional { 0x0e } else { 0x0d });
        self.u16(id);
        self.u8(ty);
    }
    fn text_element(&mut self, name: &str, value: &str, dep: bool) {
        self.open(name, false, dep);
        self.close_start();
        self.text(value);
        self.end();
    }

    /// `<EventData>`/`<UserData>` elements (outside a template definition).
    fn payload(&mut self, p: &Payload) {
        match p {
            Payload::None => {}
            Payload::EmptyEventData => {
                self.open("EventData", false, false);
                self.close_empty();
            }
            Payload::EventData(items) => {
                self.open("EventData", false, false);
                self.close_start();
                for (k, v) in items {
                    match k {
                        Some(k) => {
                            self.open("Data", true, false);
                            self.attr("Name");
                            self.text(k);
                            self.close_start();
                        }
                        None => {
                            self.open("Data", false, false);
                            self.close_start();
                        }
                    }
                    self.text(v);
                    self.end();
                }
                self.end();
            }
            Payload::UserData { container, fields } => {
                self.open("UserData", false, false);
                self.close_start();
                self.open(container, true, false);
                self.attr("xmlns");
                self.text("Event_NS");
                self.close_start();
                for (k, v) in fields {
                    self.text_element(k, v, false);
                }
                self.end();
                self.end();
            }
        }
    }

    fn plain_record(&mut self, e: &Ev, filetime: u64, id: u64) {
        self.fragment_header();
        self.open("Event", true, false);
        self.attr("xmlns");
        self.text(NS);
        self.close_start();
        self.open("System", false, false);
        self.close_start();
        self.open("Provider", true, false);
        self.attr("Name");
        self.text(&e.provider);
        if let Some(g) = &e.guid {
            self.attr("Guid");
            self.text(g);
        }
        self.close_empty();
        self.open("EventID", e.qualifiers.is_some(), false);
        if let Some(q) = e.qualifiers {
            self.attr("Qualifiers");
            self.text(&q.to_string());
        }
        self.close_start();
        self.text(&e.event_id.to_string());
        self.end();
        self.text_element("Level", &e.level.to_string(), false);
        self.open("TimeCreated", true, false);
        self.attr("SystemTime");
        self.text(&iso_from_filetime(filetime));
        self.close_empty();
        self.text_element("EventRecordID", &id.to_string(), false);
        if let Some(c) = &e.channel {
            self.text_element("Channel", c, false);
        }
        self.text_element("Computer", &e.computer, false);
        self.end();
        self.payload(&e.payload);
        self.end();
        self.u8(0x00);
    }

    fn template_record(
        &mut self,
        e: &Ev,
        filetime: u64,
        id: u64,
        templates: &mut HashMap<String, u32>,
        nested: bool,
    ) {
        // The template's shape: the payload structure without its values.
        let shape = if nested {
            "nested".to_string()
        } else {
            match &e.payload {
                Payload::None => "none".to_string(),
                Payload::EmptyEventData => "empty".to_string(),
                Payload::EventData(items) => format!(
                    "ed:{:?}",
                    items.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
                ),
                Payload::UserData { container, fields } => format!(
                    "ud:{container}:{:?}",
                    fields.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
                ),
            }
        };
        // TemplateInstance
        self.u8(0x0c);
        self.u8(0x01);
        self.u32(0x5244_5344 + templates.len() as u32);
        match templates.get(&shape) {
            Some(&off) => self.u32(off),
            None => {
                let off = self.pos() + 4;
                self.u32(off);
                templates.insert(shape.clone(), off);
                self.u32(0);
                let mut guid = *b"rdsdiag-template";
                guid[15] = templates.len() as u8;
                self.out.extend_from_slice(&guid);
                let size_at = self.out.len();
                self.u32(0);
                let body_start = self.out.len();
                self.template_body(if nested { None } else { Some(&e.payload) });
                let size = (self.out.len() - body_start) as u32;
                self.out[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
        // Substitution values: (type, bytes).
        let s = |v: &str| -> Vec<u8> { v.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let mut values: Vec<(u8, Vec<u8>)> = vec![
            (0x01, s(&e.provider)),
            match &e.guid {
                Some(g) => (0x0f, guid_bytes(g)),
                None => (0x00, Vec::new()),
            },
            if e.event_id > 0xFFFF {
                (0x08, e.event_id.to_le_bytes().to_vec())
            } else {
                (0x06, (e.event_id as u16).to_le_bytes().to_vec())
            },
            match e.qualifiers {
                Some(q) => (0x06, q.to_le_bytes().to_vec()),
                None => (0x00, Vec::new()),
            },
            (0x04, vec![e.level]),
            (0x11, filetime.to_le_bytes().to_vec()),
            (0x0a, id.to_le_bytes().to_vec()),
            match &e.channel {
                Some(c) => (0x01, s(c)),
                None => (0x00, Vec::new()),
            },
            (0x01, s(&e.computer)),
        ];
        if !nested {
            let items: Vec<&String> = match &e.payload {
                Payload::None | Payload::EmptyEventData => Vec::new(),
                Payload::EventData(items) => items.iter().map(|(_, v)| v).collect(),
                Payload::UserData { fields, .. } => fields.iter().map(|(_, v)| v).collect(),
            };
            for v in items {
                values.push((0x01, s(v)));
            }
            self.u32(values.len() as u32);
            for (ty, bytes) in &values {
                self.u16(bytes.len() as u16);
                self.u8(*ty);
                self.u8(0);
            }
            for (_, bytes) in &values {
                self.out.extend_from_slice(bytes);
            }
            return;
        }
        let n = values.len() as u32 + 1;
        let descriptors_end = self.pos() + 4 + n * 4;
        let before: u32 = values.iter().map(|(_, b)| b.len() as u32).sum();
        let payload = if e.payload == Payload::None {
            (0x00, Vec::new())
        } else {
            let mut inner = Bx {
                out: Vec::new(),
                base: descriptors_end + before,
                names: self.names,
            };
            inner.fragment_header();
            inner.payload(&e.payload);
            inner.u8(0x00);
            (0x21, inner.out)
        };
        values.push(payload);
        self.u32(n);
        for (ty, bytes) in &values {
            self.u16(bytes.len() as u16);
            self.u8(*ty);
            self.u8(0);
        }
        for (_, bytes) in &values {
            self.out.extend_from_slice(bytes);
        }
    }

    /// `payload`: the structure to put in the template (`None`: one BinXML substitution, 9).
    fn template_body(&mut self, payload: Option<&Payload>) {
        self.fragment_header();
        self.open("Event", true, true);
        self.attr("xmlns");
        self.text(NS);
        self.close_start();
        self.open("System", false, true);
        self.close_start();
        self.open("Provider", true, true);
        self.attr("Name");
        self.sub(0, 0x01, false);
        self.attr("Guid");
        self.sub(1, 0x0f, true);
        self.close_empty();
        self.open("EventID", true, true);
        self.attr("Qualifiers");
        self.sub(3, 0x06, true);
        self.close_start();
        self.sub(2, 0x06, false);
        self.end();
        self.open("Level", false, true);
        self.close_start();
        self.sub(4, 0x04, false);
        self.end();
        self.open("TimeCreated", true, true);
        self.attr("SystemTime");
        self.sub(5, 0x11, false);
        self.close_empty();
        self.open("EventRecordID", false, true);
        self.close_start();
        self.sub(6, 0x0a, false);
        self.end();
        self.open("Channel", false, true);
        self.close_start();
        self.sub(7, 0x01, true);
        self.end();
        self.open("Computer", false, true);
        self.close_start();
        self.sub(8, 0x01, false);
        self.end();
        self.end();
        match payload {
            None => self.sub(9, 0x21, true),
            Some(p) => self.template_payload(p),
        }
        self.end();
        self.u8(0x00);
    }

    /// The payload structure inside a template definition; values are substitutions 9, 10…
    fn template_payload(&mut self, p: &Payload) {
        match p {
            Payload::None => {}
            Payload::EmptyEventData => {
                self.open("EventData", false, true);
                self.close_empty();
            }
            Payload::EventData(items) => {
                self.open("EventData", false, true);
                self.close_start();
                for (i, (k, _)) in items.iter().enumerate() {
                    match k {
                        Some(k) => {
                            self.open("Data", true, true);
                            self.attr("Name");
                            self.text(k);
                            self.close_start();
                        }
                        None => {
                            self.open("Data", false, true);
                            self.close_start();
                        }
                    }
                    self.sub(9 + i as u16, 0x01, true);
                    self.end();
                }
                self.end();
            }
            Payload::UserData { container, fields } => {
                self.open("UserData", false, true);
                self.close_start();
                self.open(container, true, true);
                self.attr("xmlns");
                self.text("Event_NS");
                self.close_start();
                for (i, (k, _)) in fields.iter().enumerate() {
                    self.open(k, false, true);
                    self.close_start();
                    self.sub(9 + i as u16, 0x01, true);
                    self.end();
                }
                self.end();
                self.end();
            }
        }
    }
}

fn guid_bytes(g: &str) -> Vec<u8> {
    let hex: String = g.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert_eq!(hex.len(), 32, "bad GUID {g:?}");
    let b = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    let d1 = u32::from_str_radix(&hex[0..8], 16).unwrap_or(0);
    let d2 = u16::from_str_radix(&hex[8..12], 16).unwrap_or(0);
    let d3 = u16::from_str_radix(&hex[12..16], 16).unwrap_or(0);
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&d1.to_le_bytes());
    out.extend_from_slice(&d2.to_le_bytes());
    out.extend_from_slice(&d3.to_le_bytes());
    for i in 0..8 {
        out.push(b(16 + i * 2));
    }
    out
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// Recompute the file header CRC32 (over its first 120 bytes).
pub fn fix_file_header_crc(file: &mut [u8]) {
    let c = crc(&[&file[..120]]);
    put_u32(file, 124, c);
}

/// Recompute both CRC32s of the chunk starting at `at` in `b`.
fn fix_chunk_crcs(b: &mut [u8], at: usize) {
    let free = u32::from_le_bytes(b[at + 48..at + 52].try_into().unwrap_or_default()) as usize;
    let data = crc(&[&b[at + CHUNK_HEADER_SIZE..at + free.clamp(CHUNK_HEADER_SIZE, CHUNK_SIZE)]]);
    put_u32(b, at + 52, data);
    let header = crc(&[&b[at..at + 120], &b[at + 128..at + CHUNK_HEADER_SIZE]]);
    put_u32(b, at + 124, header);
}

fn chunk_at(n: usize) -> usize {
    FILE_HEADER_SIZE + n * CHUNK_SIZE
}

/// Number of complete chunk slots in a file.
pub fn chunk_count(file: &[u8]) -> usize {
    file.len().saturating_sub(FILE_HEADER_SIZE) / CHUNK_SIZE
}

// ---- damage helpers -------------------------------------------------------------------------

/// Make the records CRC32 of chunk `n` wrong while its header CRC32 stays right (the records
/// themselves stay readable).
pub fn corrupt_chunk_data_crc(file: &mut [u8], n: usize) {
    let at = chunk_at(n);
    file[at + 52] ^= 0x01;
    let header = crc(&[&file[at..at + 120], &file[at + 128..at + CHUNK_HEADER_SIZE]]);
    put_u32(file, at + 124, header);
}

/// Make the chunk header CRC32 of chunk `n` wrong.
pub fn corrupt_chunk_header_crc(file: &mut [u8], n: usize) {
    let at = chunk_at(n);
    file[at + 124] ^= 0x01;
}

/// Overwrite the signature of chunk `n`.
pub fn smash_chunk_magic(file: &mut [u8], n: usize) {
    let at = chunk_at(n);
    file[at..at + 8].copy_from_slice(b"XXXXXXXX");
}

/// Zero the whole of chunk `n` (an empty chunk, as dirty logs have).
pub fn zero_chunk(file: &mut [u8], n: usize) {
    let at = chunk_at(n);
    file[at..at + CHUNK_SIZE].fill(0);
}

/// Cut the file so that only `keep` bytes of its last chunk remain (a truncated copy).
pub fn truncate_last_chunk(file: &mut Vec<u8>, keep: usize) {
    let last = chunk_count(file).saturating_sub(1);
    file.truncate(chunk_at(last) + keep.min(CHUNK_SIZE));
}

/// Set or clear the DIRTY header flag (the header CRC is kept valid).
pub fn set_dirty(file: &mut [u8], dirty: bool) {
    let mut flags = u32::from_le_bytes(file[120..124].try_into().unwrap_or_default());
    if dirty {
        flags |= 1;
    } else {
        flags &= !1;
    }
    put_u32(file, 120, flags);
    fix_file_header_crc(file);
}

/// Declare `n` chunks in the file header (a stale count when smaller than the real one).
pub fn set_declared_chunk_count(file: &mut [u8], n: u16) {
    put_u16(file, 42, n);
    fix_file_header_crc(file);
}

/// Break the file header CRC32.
pub fn corrupt_file_header_crc(file: &mut [u8]) {
    file[124] ^= 0x01;
}

/// Rotate the chunks left by `k` (as a log that wrapped around stores them): the chunk with
/// the oldest records is then in the middle of the file.
pub fn rotate_chunks(file: &mut [u8], k: usize) {
    let n = chunk_count(file);
    if n == 0 {
        return;
    }
    let body = &mut file[FILE_HEADER_SIZE..FILE_HEADER_SIZE + n * CHUNK_SIZE];
    body.rotate_left((k % n) * CHUNK_SIZE);
}

/// Append `n` all-zero chunks (free room, as in a preallocated log).
pub fn append_empty_chunks(file: &mut Vec<u8>, n: usize) {
    file.resize(file.len() + n * CHUNK_SIZE, 0);
}

/// Append `n` zero bytes after the last chunk (slack, as copied logs often have; `n` need not
/// be a whole chunk).
pub fn append_zero_padding(file: &mut Vec<u8>, n: usize) {
    file.resize(file.len() + n, 0);
}

/// Set the record range of chunk `n`'s header, both the record numbers and the record IDs
/// (Windows writes first 1, last 0 in the only chunk of a log with no record); CRCs are fixed.
pub fn set_chunk_record_range(file: &mut [u8], n: usize, first: u64, last: u64) {
    let at = chunk_at(n);
    for off in [8, 24] {
        put_u64(file, at + off, first);
        put_u64(file, at + off + 8, last);
    }
    fix_chunk_crcs(file, at);
}

/// The records of chunk `n` (which must be whole): (offset in the file, declared size), in
/// chunk order, walked from the chunk header to its free space.
pub fn record_spans(file: &[u8], n: usize) -> Vec<(usize, usize)> {
    let at = chunk_at(n);
    let free = u32::from_le_bytes(file[at + 48..at + 52].try_into().unwrap_or_default()) as usize;
    let mut out = Vec::new();
    let mut off = CHUNK_HEADER_SIZE;
    while off + 8 <= free.min(CHUNK_SIZE) && file[at + off..at + off + 4] == [0x2a, 0x2a, 0, 0] {
        let size = u32::from_le_bytes(
            file[at + off + 4..at + off + 8]
                .try_into()
                .unwrap_or_default(),
        ) as usize;
        if size == 0 {
            break;
        }
        out.push((at + off, size));
        off += size;
    }
    out
}

/// Declare `size` bytes for the record at file offset `record` of chunk `n` (its header's size
/// field only; the copy at its end and the chunk's free-space offset stay), keeping the chunk's
/// CRCs valid: a record that claims more bytes than it has.
pub fn set_record_size(file: &mut [u8], n: usize, record: usize, size: u32) {
    put_u32(file, record + 4, size);
    fix_chunk_crcs(file, chunk_at(n));
}

// ---- time -----------------------------------------------------------------------------------

const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS[.fffffff]Z` → FILETIME.
pub fn filetime_from_iso(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (h, mi, se) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if frac.len() > 7 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ticks: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<7}").parse().ok()?
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + se + EPOCH_DIFF_SECS;
    u64::try_from(secs * 10_000_000 + ticks).ok()
}

/// FILETIME → `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
pub fn iso_from_filetime(ft: u64) -> String {
    let ticks = (ft % 10_000_000) as i64;
    let secs = (ft / 10_000_000) as i64 - EPOCH_DIFF_SECS;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trips() {
        for t in [
            "2024-03-01T10:14:00.1234567Z",
            "1999-12-31T23:59:59.0000001Z",
            "2020-02-29T00:00:00.0000000Z",
        ] {
            assert_eq!(iso_from_filetime(filetime_from_iso(t).unwrap()), t);
        }
        // 1970-01-01 is 116444736000000000 in FILETIME.
        assert_eq!(
            filetime_from_iso("1970-01-01T00:00:00Z"),
            Some(116_444_736_000_000_000)
        );
    }

    #[test]
    fn chunks_split_and_crcs_are_valid() {
        let evs = (0..3000).map(|i| Ev::new("P", 1).event_data(&[("N", &i.to_string())]));
        let f = EvtxBuilder::new().events(evs).build();
        assert!(chunk_count(&f) > 1);
        for n in 0..chunk_count(&f) {
            let at = chunk_at(n);
            let c = &f[at..at + CHUNK_SIZE];
            let free = u32::from_le_bytes(c[48..52].try_into().unwrap()) as usize;
            assert_eq!(
                crc(&[&c[512..free]]),
                u32::from_le_bytes(c[52..56].try_into().unwrap())
            );
            assert_eq!(
                crc(&[&c[..120], &c[128..512]]),
                u32::from_le_bytes(c[124..128].try_into().unwrap())
            );
        }
    }
}
