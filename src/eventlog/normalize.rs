//! Turns one rendered record (the evtx crate's JSON) into rdsdiag's normalised [`Event`]: System
//! fields, the EventID with Qualifiers folded and RCM manifest IDs masked (reference §9.1), and
//! one flat field map for `EventData` and `UserData` values.

use std::sync::Arc;

use serde_json::Value;

use super::{Event, Fields};
use crate::catalog::events::{catalog, EventIdSpec};

/// The RemoteConnectionManager provider, whose manifest IDs carry severity bits (§9.1).
pub const RCM_PROVIDER: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";

/// Normalise an EventID as found on disk.
///
/// Returns `(canonical, qualifiers)`. A 32-bit message ID (`raw > 0xFFFF`) is split into its
/// low word (the EventID) and high word (the Qualifiers, unless the record had its own). The
/// catalogue's raw-ID column is applied first; an RCM ID ≥ 0xC000 that the table does not list is
/// masked with `0x3FFF` (the documented rule), unless the table gives that ID a row of its own
/// (the RD Virtualization Host licensing events 50304–50312: masked they would collide with the
/// native 1152–1158, which mean something else). No other provider's ID is masked.
pub fn normalize_event_id(provider: &str, raw: u32, qualifiers: Option<u16>) -> (u16, Option<u16>) {
    let (id16, qualifiers) = if raw > 0xFFFF {
        (
            (raw & 0xFFFF) as u16,
            qualifiers.or(Some((raw >> 16) as u16)),
        )
    } else {
        (raw as u16, qualifiers)
    };
    if let Some(c) = catalog().canonical_for_raw(provider, id16) {
        return (c, qualifiers);
    }
    if id16 >= 0xC000
        && provider.eq_ignore_ascii_case(RCM_PROVIDER)
        && catalog().get(provider, EventIdSpec::Id(id16)).is_none()
    {
        return (id16 & 0x3FFF, qualifiers);
    }
    (id16, qualifiers)
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("#attributes")?.get(name)
}

/// A scalar JSON value as text (`null` → `None`).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| text(i).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(o) => match o.get("#text") {
            Some(t) => text(t),
            None => {
                // An element with only attributes or children: keep its JSON form.
                let mut o = o.clone();
                o.remove("#attributes");
                if o.is_empty() {
                    None
                } else {
                    Some(Value::Object(o).to_string())
                }
            }
        },
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        }
        Value::Object(o) => o.get("#text").and_then(number),
        _ => None,
    }
}

/// The System fields of a rendered record (what the filter needs and what provenance shows).
pub(crate) struct SystemFields {
    pub provider: String,
    pub provider_guid: Option<String>,
    pub raw_event_id: u32,
    pub qualifiers: Option<u16>,
    pub channel: Option<String>,
    pub computer: Option<String>,
    pub level: Option<u8>,
    pub time: Option<jiff::Timestamp>,
    pub activity_id: Option<String>,
    pub user_sid: Option<String>,
}

pub(crate) fn system_fields(json: &Value) -> Option<SystemFields> {
    let sys = json.get("Event")?.get("System")?;
    let provider_v = sys.get("Provider");
    let provider = provider_v
        .and_then(|p| attr(p, "Name"))
        .and_then(text)
        .unwrap_or_default();
    let provider_guid = provider_v.and_then(|p| attr(p, "Guid")).and_then(text);
    let eid = sys.get("EventID")?;
    let raw_event_id = u32::try_from(number(eid)?).ok()?;
    let qualifiers = attr(eid, "Qualifiers")
        .and_then(number)
        .and_then(|q| u16::try_from(q).ok());
    let channel = sys.get("Channel").and_then(text).filter(|c| !c.is_empty());
    let computer = sys.get("Computer").and_then(text);
    let level = sys
        .get("Level")
        .and_then(number)
        .and_then(|l| u8::try_from(l).ok());
    let time = sys
        .get("TimeCreated")
        .and_then(|t| attr(t, "SystemTime"))
        .and_then(text)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok());
    let activity_id = sys
        .get("Correlation")
        .and_then(|c| attr(c, "ActivityID"))
        .and_then(text);
    let user_sid = sys
        .get("Security")
        .and_then(|c| attr(c, "UserID"))
        .and_then(text);
    Some(SystemFields {
        provider,
        provider_guid,
        raw_event_id,
        qualifiers,
        channel,
        computer,
        level,
        time,
        activity_id,
        user_sid,
    })
}

/// `EventData` named values (and `Data` values by position "1", "2"…, plus `Binary`) and
/// `UserData` element values, in one map. Later duplicates get a `#2`, `#3`… suffix.
pub(crate) fn fields(json: &Value) -> Fields {
    let mut out = Fields::new();
    let Some(event) = json.get("Event") else {
        return out;
    };
    let mut put = |k: String, v: String| {
        if !out.contains_key(&k) {
            out.insert(k, v);
            return;
        }
        let mut n = 2;
        while out.contains_key(&format!("{k}#{n}")) {
            n += 1;
        }
        out.insert(format!("{k}#{n}"), v);
    };
    if let Some(Value::Object(ed)) = event.get("EventData") {
        let mut position = 0usize;
        for (k, v) in ed {
            match k.as_str() {
                "#attributes" => {}
                "Data" | "#text" => {
                    // Unnamed data: positional.
                    let inner = match v {
                        Value::Object(o) => o.get("#text").unwrap_or(&Value::Null),
                        other => other,
                    };
                    let items: Vec<&Value> = match inner {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for item in items {
                        position += 1;
                        put(position.to_string(), text(item).unwrap_or_default());
                    }
                }
                _ => {
                    if let Some(t) = text(v) {
                        put(k.clone(), t);
                    } else {
                        put(k.clone(), String::new());
                    }
                }
            }
        }
    }
    if let Some(Value::Object(ud)) = event.get("UserData") {
        // UserData holds one provider-defined element (e.g. EventXML) whose children are the fields.
        for (_, container) in ud.iter().filter(|(k, _)| k.as_str() != "#attributes") {
            match container {
                Value::Object(o) => {
                    for (k, v) in o.iter().filter(|(k, _)| k.as_str() != "#attributes") {
                        put(k.clone(), text(v).unwrap_or_default());
                    }
                }
                other => {
                    if let Some(t) = text(other) {
                        put("UserData".into(), t);
                    }
                }
            }
        }
    }
    out
}

/// Where a record was read, and what its record header says.
pub(crate) struct RecordPlace {
    pub record_id: u64,
    /// The record header's time (used when the record has no `TimeCreated`).
    pub header_time: jiff::Timestamp,
    pub file: Arc<str>,
    pub chunk: u64,
    /// The record's byte offset in the file.
    pub offset: u64,
    pub verified: bool,
}

/// Build an [`Event`] from the rendered JSON; `None` when it has no usable `System/EventID`.
pub(crate) fn event_from_json(json: &Value, place: RecordPlace) -> Option<Event> {
    let sys = system_fields(json)?;
    let (event_id, qualifiers) =
        normalize_event_id(&sys.provider, sys.raw_event_id, sys.qualifiers);
    Some(Event {
        time: sys.time.unwrap_or(place.header_time),
        record_id: place.record_id,
        provider: sys.provider.into(),
        provider_guid: sys.provider_guid.map(Into::into),
        channel: sys.channel.map(Into::into),
        computer: sys.computer.map(Into::into),
        level: sys.level,
        event_id,
        raw_event_id: sys.raw_event_id,
        qualifiers,
        activity_id: sys.activity_id,
        user_sid: sys.user_sid,
        fields: Arc::new(fields(json)),
        file: place.file,
        chunk: place.chunk,
        offset: place.offset,
        verified: place.verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(record_id: u64, header_time: jiff::Timestamp) -> RecordPlace {
        RecordPlace {
            record_id,
            header_time,
            file: "f".into(),
            chunk: 0,
            offset: 4096,
            verified: true,
        }
    }

    #[test]
    fn event_ids_normalise_per_reference() {
        assert_eq!(normalize_event_id(RCM_PROVIDER, 50282, None), (1130, None));
        assert_eq!(normalize_event_id(RCM_PROVIDER, 50280, None), (1128, None));
        // Not listed in the table, still an RCM manifest ID: masked.
        assert_eq!(
            normalize_event_id(RCM_PROVIDER, 0xC000 | 1500, None),
            (1500, None)
        );
        assert_eq!(normalize_event_id(RCM_PROVIDER, 20515, None), (20515, None));
        assert_eq!(normalize_event_id(RCM_PROVIDER, 1068, None), (1068, None));
        // RD Virtualization Host licensing IDs have rows of their own: masked they would become
        // the native 1152-1158 (1158: a connection was accepted), which mean something else.
        assert_eq!(normalize_event_id(RCM_PROVIDER, 50310, None), (50310, None));
        assert_eq!(normalize_event_id(RCM_PROVIDER, 1158, None), (1158, None));
        assert_eq!(normalize_event_id(RCM_PROVIDER, 50214, None), (50214, None));
        // Other providers are never masked.
        assert_eq!(
            normalize_event_id("TermDD", 50282, Some(49162)),
            (50282, Some(49162))
        );
        // A 32-bit message ID splits into Qualifiers and EventID.
        assert_eq!(
            normalize_event_id(
                "Microsoft-Windows-TerminalServices-Licensing",
                3372224521,
                None
            ),
            (4105, Some(0xC900))
        );
    }

    #[test]
    fn fields_flatten_event_and_user_data() {
        let j: Value = serde_json::from_str(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"TermDD"}},"EventID":{"#attributes":{"Qualifiers":49162},"#text":56},"Level":2,"TimeCreated":{"#attributes":{"SystemTime":"2012-03-15T21:11:54.8223730Z"}},"Channel":"System","Computer":"W"},
            "EventData":{"Data":{"#text":["\\Device\\Termdd","10.3.16.5"]},"Binary":"00AB"}}}"##,
        )
        .unwrap();
        let f = fields(&j);
        assert_eq!(f["1"], "\\Device\\Termdd");
        assert_eq!(f["2"], "10.3.16.5");
        assert_eq!(f["Binary"], "00AB");
        let t = jiff::Timestamp::UNIX_EPOCH;
        let e = event_from_json(&j, place(7, t)).unwrap();
        assert_eq!(
            (e.event_id, e.qualifiers, e.level),
            (56, Some(49162), Some(2))
        );
        assert_eq!(e.time.to_string(), "2012-03-15T21:11:54.822373Z");
        assert_eq!(e.time.subsec_nanosecond(), 822_373_000);

        let j: Value = serde_json::from_str(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"L"}},"EventID":40},"UserData":{"EventXML":{"#attributes":{"xmlns":"Event_NS"},"Session":1,"Reason":11}}}}"##,
        )
        .unwrap();
        let f = fields(&j);
        assert_eq!((f["Session"].as_str(), f["Reason"].as_str()), ("1", "11"));
        let j: Value =
            serde_json::from_str(r##"{"Event":{"System":{"EventID":1},"EventData":null}}"##)
                .unwrap();
        assert!(fields(&j).is_empty());
        let j: Value = serde_json::from_str(
            r##"{"Event":{"System":{"EventID":1},"EventData":{"Data":"only"}}}"##,
        )
        .unwrap();
        assert_eq!(fields(&j)["1"], "only");
    }
}
