//! The sessions and the time-axis markers of `timeline` in the analyze report
//! (`captures[].timeline.sessions[]` and `markers[]`, see `docs/json-contract.md`): the host's own
//! sessions only ([`Session::is_own`]), each with its disconnects (decoded reason, the catalogue's
//! reason class and the chart class) and the records that show each step, so the HTML chart and
//! tools reading the JSON draw from the same data.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::timeline::{
    EventRef, Initiator, Role, Session, SessionFlag, SessionState, Timeline, TimelineEvent,
};

/// One record a session step rests on: the input file and the record id (and what it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    pub time: Timestamp,
    pub file: Arc<str>,
    pub record_id: u64,
    pub provider: Arc<str>,
    pub event_id: u16,
}

impl RecordRef {
    pub fn of(r: &EventRef) -> Self {
        RecordRef {
            time: r.time,
            file: r.file.clone(),
            record_id: r.record_id,
            provider: r.provider.clone(),
            event_id: r.event_id,
        }
    }

    fn of_event(e: &TimelineEvent) -> Self {
        RecordRef {
            time: e.time,
            file: e.file.clone(),
            record_id: e.record_id,
            provider: e.provider.clone(),
            event_id: e.event_id,
        }
    }
}

/// The few classes a disconnect is drawn in: what a reader tells apart at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisconnectClass {
    Licensing,
    TimeLimit,
    User,
    Network,
    Admin,
    Other,
}

impl DisconnectClass {
    pub const ALL: [DisconnectClass; 6] = [
        DisconnectClass::Licensing,
        DisconnectClass::TimeLimit,
        DisconnectClass::User,
        DisconnectClass::Network,
        DisconnectClass::Admin,
        DisconnectClass::Other,
    ];

    /// The kebab-case name JSON shows.
    pub fn name(self) -> &'static str {
        match self {
            DisconnectClass::Licensing => "licensing",
            DisconnectClass::TimeLimit => "time-limit",
            DisconnectClass::User => "user",
            DisconnectClass::Network => "network",
            DisconnectClass::Admin => "admin",
            DisconnectClass::Other => "other",
        }
    }

    /// The chart class of a disconnect: a licensing reason first, then a time limit (its reason
    /// or an RCM time-limit event joined to it), then the catalogue class of its reason
    /// ([`CHART_CLASSES`]); a disconnect without a reason, or with any other class, is `other`.
    pub fn of(licensing: bool, catalogue_class: Option<&str>, time_limit_event: bool) -> Self {
        if licensing {
            return DisconnectClass::Licensing;
        }
        if time_limit_event {
            return DisconnectClass::TimeLimit;
        }
        catalogue_class
            .and_then(|c| CHART_CLASSES.iter().find(|(k, _)| *k == c))
            .map_or(DisconnectClass::Other, |(_, v)| *v)
    }
}

/// Which catalogue reason classes (`catalog/reasons.tsv`, column `class`) each chart class
/// groups; every class not listed is `other`. A grouping for reading, not a fact about Windows:
/// the catalogue class stays beside it in the JSON.
pub const CHART_CLASSES: [(&str, DisconnectClass); 8] = [
    ("licensing", DisconnectClass::Licensing),
    ("client-cal", DisconnectClass::Licensing),
    ("time-limit", DisconnectClass::TimeLimit),
    ("user", DisconnectClass::User),
    ("admin", DisconnectClass::Admin),
    ("network", DisconnectClass::Network),
    ("name-resolution", DisconnectClass::Network),
    ("availability", DisconnectClass::Network),
];

/// One disconnect of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisconnectReport {
    pub time: Timestamp,
    pub reason_code: Option<u32>,
    /// The decoded reason (`257 (0x101) LICENSE_NO_LICENSE_SERVER: …`), when a reason was seen.
    pub reason: Option<String>,
    /// The catalogue class of the reason (`licensing`, `user`, `neutral`…, `unknown`).
    pub reason_class: Option<String>,
    /// The chart class ([`DisconnectClass`]).
    pub class: DisconnectClass,
    pub licensing_reason: bool,
    pub initiator: Initiator,
    /// The teardown of a logoff, not a break of a live connection.
    pub after_logoff: bool,
    /// The records that make the disconnect, the one with the reason first.
    pub evidence: Vec<RecordRef>,
}

/// One session of the host, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// The reconstructed session (`S1`, `S2`…, as in `rdsdiag timeline`).
    pub id: String,
    /// The Windows session id.
    pub session_id: u32,
    pub user: Option<String>,
    /// The first client address seen (all of them: `addresses`).
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub state: SessionState,
    pub duration_seconds: Option<i64>,
    pub connected_seconds: i64,
    pub logon: Option<RecordRef>,
    pub logoff: Option<RecordRef>,
    pub reconnects: Vec<RecordRef>,
    pub disconnects: Vec<DisconnectReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<SessionFlag>,
    /// How many events were joined to the session.
    pub events: usize,
}

impl SessionReport {
    pub fn of(s: &Session, t: &Timeline) -> Self {
        let disconnects = s
            .disconnects
            .iter()
            .map(|d| {
                let time_limit = d.events.iter().any(|r| {
                    t.event(r).is_some_and(|e| {
                        matches!(e.role, Role::TimeLimitDisconnect | Role::TimeLimitLogoff)
                    })
                });
                let first = d.reason_event(&t.events);
                let mut evidence: Vec<RecordRef> = first.iter().map(|r| RecordRef::of(r)).collect();
                evidence.extend(
                    d.events
                        .iter()
                        .filter(|r| Some(*r) != first)
                        .map(RecordRef::of),
                );
                DisconnectReport {
                    time: d.time,
                    reason_code: d.reason_code,
                    reason: d.reason.clone(),
                    reason_class: d.reason_class.clone(),
                    class: DisconnectClass::of(
                        d.licensing_reason,
                        d.reason_class.as_deref(),
                        time_limit,
                    ),
                    licensing_reason: d.licensing_reason,
                    initiator: d.initiator,
                    after_logoff: d.after_logoff,
                    evidence,
                }
            })
            .collect();
        SessionReport {
            id: s.key.clone(),
            session_id: s.session_id,
            user: s.user.clone(),
            address: s.addresses.first().cloned(),
            addresses: if s.addresses.len() > 1 {
                s.addresses.clone()
            } else {
                Vec::new()
            },
            start: s.start,
            end: s.end,
            state: s.state,
            duration_seconds: s.duration_seconds,
            connected_seconds: s.connected_seconds,
            logon: s.logon.as_ref().map(RecordRef::of),
            logoff: s.logoff.as_ref().map(RecordRef::of),
            reconnects: s.reconnects.iter().map(RecordRef::of).collect(),
            disconnects,
            flags: s.flags.clone(),
            events: s.events.len(),
        }
    }

    /// The host's own sessions of a timeline, in session order.
    pub fn all_own(t: &Timeline) -> Vec<SessionReport> {
        t.sessions
            .iter()
            .filter(|s| s.is_own(&t.events))
            .map(|s| SessionReport::of(s, t))
            .collect()
    }
}

/// What a marker on the time axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkerKind {
    /// A licensing event (RCM or TS-Licensing, `roles.tsv` role `licensing`).
    Licensing,
    /// A change of the state or start type of Remote Desktop Services or Remote Desktop
    /// Licensing (`roles.tsv` role `service`, [`RDS_SERVICES`]): what the sessions ran under
    /// changed. Other services' events are not markers.
    Service,
    /// The host's clock changed (`timeline.clock_changes`).
    ClockChange,
}

/// A licensing or configuration event on the time axis of the session chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub kind: MarkerKind,
    pub time: Timestamp,
    /// What happened, in our words (the catalogue's meaning and the fields it names).
    pub what: String,
    pub evidence: RecordRef,
}

impl Marker {
    /// The host's own licensing and service events, and the clock changes, in time order.
    pub fn all_own(t: &Timeline) -> Vec<Marker> {
        let mut out: Vec<Marker> = t
            .events
            .iter()
            .filter(|e| !e.foreign_computer)
            .filter_map(|e| {
                let kind = match e.role {
                    Role::Licensing => MarkerKind::Licensing,
                    Role::Service if is_rds_service(e) => MarkerKind::Service,
                    _ => return None,
                };
                Some(Marker {
                    kind,
                    time: e.time,
                    what: e.message(),
                    evidence: RecordRef::of_event(e),
                })
            })
            .collect();
        for c in &t.clock_changes {
            let (provider, event_id) = t
                .events
                .iter()
                .find(|e| e.file == c.file && e.record_id == c.record_id)
                .map_or((Arc::from(""), 0), |e| (e.provider.clone(), e.event_id));
            out.push(Marker {
                kind: MarkerKind::ClockChange,
                time: c.to,
                what: c.describe(),
                evidence: RecordRef {
                    time: c.to,
                    file: c.file.clone(),
                    record_id: c.record_id,
                    provider,
                    event_id,
                },
            });
        }
        // Stable: events are already in timeline order; clock changes go to their place.
        out.sort_by(|a, b| a.time.cmp(&b.time).then(a.kind.cmp(&b.kind)));
        out
    }
}

/// The services whose Service Control Manager events are markers: the service key name (not
/// localised: SCM 7040 `param4`, and the `<key>/<state>` text of SCM 7036's binary data) and
/// the English display name (SCM `param1` is the localised display name, so other languages are
/// found by the key only). Reference §2.1 "RDS services" and §10 (S35, S29); the 7036 binary
/// layout is UNCONFIRMED (as in RDS-LIC-SERVICE-DOWN), and a marker only shows, never decides.
pub const RDS_SERVICES: [(&str, &str); 2] = [
    ("TermService", "Remote Desktop Services"),
    ("TermServLicensing", "Remote Desktop Licensing"),
];

/// Whether a service event is about one of [`RDS_SERVICES`].
fn is_rds_service(e: &TimelineEvent) -> bool {
    let field = |name: &str| e.fields.get(name).map(|s| s.trim()).unwrap_or("");
    let binary = crate::eventlog::utf16le_hex_text(field("Binary")).to_ascii_lowercase();
    RDS_SERVICES.iter().any(|(key, display)| {
        field("param4").eq_ignore_ascii_case(key)
            || field("param1").eq_ignore_ascii_case(display)
            || binary.starts_with(&format!("{}/", key.to_ascii_lowercase()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_binary_data_reads_as_text() {
        // "TermService/4" in UTF-16LE.
        let hex = "5400650072006D0053006500720076006900630065002F0034000000";
        assert_eq!(
            crate::eventlog::utf16le_hex_text(hex).trim_end_matches('\0'),
            "TermService/4"
        );
        assert_eq!(crate::eventlog::utf16le_hex_text(""), "");
    }

    #[test]
    fn chart_classes_group_catalogue_classes() {
        use DisconnectClass as C;
        assert_eq!(C::of(true, Some("neutral"), false), C::Licensing);
        assert_eq!(C::of(false, Some("neutral"), true), C::TimeLimit);
        assert_eq!(C::of(false, Some("time-limit"), false), C::TimeLimit);
        assert_eq!(C::of(false, Some("user"), false), C::User);
        assert_eq!(C::of(false, Some("admin"), false), C::Admin);
        assert_eq!(C::of(false, Some("network"), false), C::Network);
        assert_eq!(C::of(false, Some("protocol"), false), C::Other);
        assert_eq!(C::of(false, None, false), C::Other);
        for (class, _) in CHART_CLASSES {
            assert!(
                crate::catalog::reasons::CLASSES.contains(&class),
                "{class} is not a catalogue class"
            );
        }
    }
}
