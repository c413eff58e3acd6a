//! RDS-LIC-CLIENT-CACHE: a client's stored licence (the `MSLicensing` store) cannot be read,
//! upgraded or renewed — seen on the client (RDP client 1026 codes 261/265/267) or on the session
//! host (LocalSessionManager 40 reasons 260/261/265/267) (reference D11, §6).

use crate::catalog::reasons::{self, CodeSpace};
use crate::diagnose::common::event_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::host::facts::{RoleKind, Tri};

use super::conn_shared::host_name;

pub struct ClientCache;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-CLIENT-CACHE",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-CLIENT-CACHE.md"),
};

const RDPCLIENT: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
const RDPCLIENT_CHANNEL: &str = "Microsoft-Windows-TerminalServices-RDPClient/Operational";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
/// The client-side class of the reason table (`reasons.tsv`) for the licence store codes.
const CLIENT_CAL_CLASS: &str = "client-cal";
/// Server reasons that prove a client licence-store problem (§16 D11: 260 hardware id mismatch,
/// 261 invalid client licence, 265 cannot upgrade/renew, 267 store creation denied).
const SERVER_REASONS: [u32; 4] = [260, 261, 265, 267];
/// Most events one finding cites.
const MAX_EVENTS: usize = 20;

fn code(e: &Event, field: &str) -> Option<u32> {
    let t = e.fields.get(field)?.trim().to_string();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

fn times(events: &[(&Event, u32)]) -> String {
    match (events.first(), events.last()) {
        (Some((f, _)), Some((l, _))) if f.time == l.time => format!("at {}", f.time),
        (Some((f, _)), Some((l, _))) => format!("between {} and {}", f.time, l.time),
        _ => String::new(),
    }
}

fn code_counts(events: &[(&Event, u32)], space: CodeSpace) -> String {
    let mut codes: Vec<u32> = events.iter().map(|(_, c)| *c).collect();
    codes.sort_unstable();
    let mut out = Vec::new();
    for c in &codes {
        let n = codes.iter().filter(|x| *x == c).count();
        let text = format!("{n}× {c} ({})", reasons::decode(space, *c).meaning());
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out.join(", ")
}

impl Rule for ClientCache {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let host = host_name(m, "this machine");
        let client: Vec<(&Event, u32)> = m
            .events_of(RDPCLIENT, &[1026])
            .filter_map(|e| code(e, "Value").map(|c| (e, c)))
            .filter(|(_, c)| reasons::decode(CodeSpace::Client, *c).class() == CLIENT_CAL_CLASS)
            .collect();
        let server: Vec<(&Event, u32)> = m
            .events_of(LSM, &[40])
            .filter_map(|e| code(e, "Reason").map(|c| (e, c)))
            .filter(|(_, c)| SERVER_REASONS.contains(c))
            .collect();
        let ms = &m.facts.mslicensing;

        let mut parts = Vec::new();
        let mut evidence = Vec::new();
        if !client.is_empty() {
            let store = match ms.present.present {
                Tri::Yes => format!(
                    "its licence store SOFTWARE\\Microsoft\\MSLicensing exists{}",
                    ms.stored_licenses
                        .map(|n| format!(" with {n} stored licence(s)"))
                        .unwrap_or_default()
                ),
                Tri::No => "its SOFTWARE hive has no MSLicensing store (it could not be created)"
                    .to_string(),
                Tri::Unknown => format!(
                    "its licence store is unknown ({})",
                    ms.present
                        .unknown_because
                        .as_deref()
                        .unwrap_or("SOFTWARE hive not provided")
                ),
            };
            parts.push(format!(
                "the Remote Desktop client on {host} was disconnected {} time(s) {} with licence-store codes: {}; {store}",
                client.len(),
                times(&client),
                code_counts(&client, CodeSpace::Client),
            ));
            if let Some(p) = &ms.present.provenance {
                evidence.push(Evidence::Registry {
                    fact: format!(
                        "MSLicensing store present{}",
                        ms.stored_licenses
                            .map(|n| format!(
                                ", {n} stored licence(s): {}",
                                ms.license_keys.join(", ")
                            ))
                            .unwrap_or_default()
                    ),
                    provenance: Some(p.clone()),
                });
            }
            if let Some(p) = &ms.hardware_id.provenance {
                evidence.push(Evidence::Registry {
                    fact: "MSLicensing HardwareID\\ClientHWID present".into(),
                    provenance: Some(p.clone()),
                });
            }
            evidence.extend(client.iter().take(MAX_EVENTS).map(|(e, c)| {
                event_evidence(
                    e,
                    format!(
                        "client disconnected with code {}",
                        reasons::decode(CodeSpace::Client, *c).describe()
                    ),
                )
            }));
        }
        if !server.is_empty() {
            // Who: the timeline sessions whose disconnect holds these events.
            let mut who: Vec<String> = Vec::new();
            for (e, _) in &server {
                for s in &m.timeline.sessions {
                    let hit = s.disconnects.iter().any(|d| {
                        d.events
                            .iter()
                            .any(|r| r.record_id == e.record_id && r.file == e.file)
                    });
                    if hit {
                        let w = match (&s.user, s.addresses.first()) {
                            (Some(u), Some(a)) => format!("{u} from {a}"),
                            (Some(u), None) => u.clone(),
                            (None, Some(a)) => a.clone(),
                            (None, None) => format!("session {}", s.session_id),
                        };
                        if !who.contains(&w) {
                            who.push(w);
                        }
                    }
                }
            }
            parts.push(format!(
                "the session host {host} disconnected {} connection(s) {} because of the client's stored licence: {}{}",
                server.len(),
                times(&server),
                code_counts(&server, CodeSpace::Server),
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" (clients: {})", who.join(", "))
                }
            ));
            evidence.extend(server.iter().take(MAX_EVENTS).map(|(e, c)| {
                event_evidence(
                    e,
                    format!(
                        "session disconnected with reason {}",
                        reasons::decode(CodeSpace::Server, *c).describe()
                    ),
                )
            }));
        }
        if !parts.is_empty() {
            let explanation = format!(
                "{}. The client's MSLicensing store is damaged, belongs to another hardware id, or cannot be written, so its licence cannot be presented, upgraded or renewed; the fix is on the client machine(s).",
                {
                    let mut s = parts.join("; and ");
                    if let Some(f) = s.get(..1) {
                        s = f.to_uppercase() + s.get(1..).unwrap_or("");
                    }
                    s
                }
            );
            return Outcome::Found(vec![META.finding(
                Confidence::Confirmed,
                explanation,
                evidence,
            )]);
        }
        if m.role(RoleKind::Client) == Tri::Yes
            && ms.present.present == Tri::Yes
            && !m.has_channel(RDPCLIENT_CHANNEL)
        {
            return Outcome::Undecided(vec![format!(
                "the MSLicensing store exists but the {RDPCLIENT_CHANNEL} log is not provided: client licence failures (1026 codes 261/265/267) cannot be seen"
            )]);
        }
        Outcome::Pass
    }
}
