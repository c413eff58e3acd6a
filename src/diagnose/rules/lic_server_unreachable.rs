//! RDS-LIC-SERVER-UNREACHABLE: the session host could not contact its license server (RCM 1131,
//! or 1043 for a server that refused it), reference §16 D3; names each server with its counts
//! and links the failures to the disconnects of the timeline.

use std::collections::{BTreeMap, BTreeSet};

use super::lic_shared::{
    self, and_list, first_and_last, source_words, span, timeline_evidence, Strength,
};
use crate::config::names::LICENSE_SERVERS;
use crate::diagnose::common::event_evidence;
use crate::diagnose::{Confidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity};
use crate::eventlog::Event;
use crate::timeline::PatternKind;

pub struct ServerUnreachable;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-SERVER-UNREACHABLE",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Event, EvidenceKind::Registry],
    doc: include_str!("RDS-LIC-SERVER-UNREACHABLE.md"),
};

/// Events cited per server (first ones and the last).
const PER_SERVER: usize = 3;
/// Disconnects cited.
const DISCONNECTS: usize = 4;

impl Rule for ServerUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let failures = lic_shared::events(m, META.id, Strength::Proves);
        if let Err(o) = lic_shared::event_gate(m, !failures.is_empty()) {
            return o;
        }
        // Per server (Param1, case-insensitive), in first-seen order.
        let mut order: Vec<String> = Vec::new();
        let mut by_server: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
        for e in &failures {
            let name = e
                .field("Param1")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .unwrap_or("(server not named)")
                .to_string();
            let key = name.to_ascii_lowercase();
            if !by_server.contains_key(&key) {
                order.push(name);
            }
            by_server.entry(key).or_default().push(e);
        }
        let configured: Vec<String> = m
            .setting(LICENSE_SERVERS)
            .and_then(|s| s.decided_value())
            .and_then(|v| v.as_list())
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        let host_domain = m
            .facts
            .membership
            .domain
            .as_deref()
            .map(str::to_ascii_lowercase);

        let mut lines = Vec::new();
        let mut evidence = Vec::new();
        for name in &order {
            let evs = by_server
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            let t: Vec<_> = evs.iter().map(|e| e.time).collect();
            let n1131 = evs.iter().filter(|e| e.event_id == 1131).count();
            let n1043 = evs.len() - n1131;
            let mut ids = Vec::new();
            if n1131 > 0 {
                ids.push(format!("RCM 1131 ×{n1131}: not available"));
            }
            if n1043 > 0 {
                ids.push(format!(
                    "RCM 1043 ×{n1043}: cannot communicate, often because this host is not in the server's RDS Endpoint Servers group"
                ));
            }
            let mut line = format!("{name} {} ({})", span(&t), ids.join("; "));
            if !configured.is_empty() && !configured.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                line.push_str(", a server that is not in the current configuration");
            }
            if let (Some(host), Some((_, suffix))) = (&host_domain, name.split_once('.')) {
                if !suffix.eq_ignore_ascii_case(host) {
                    line.push_str(&format!(
                        ", in DNS domain {suffix} while this host is in {host} (the domains must trust each other)"
                    ));
                }
            }
            lines.push(line);
            for e in first_and_last(&evs, PER_SERVER) {
                let fact = if e.event_id == 1131 {
                    format!("RCM 1131: license server {name} is not available")
                } else {
                    format!("RCM 1043: cannot communicate with license server {name}")
                };
                evidence.push(event_evidence(e, fact));
            }
        }
        let mut explanation = format!(
            "The session host could not contact its license server: {}.",
            lines.join("; ")
        );
        if let Some(s) = m
            .setting(LICENSE_SERVERS)
            .filter(|_| !configured.is_empty())
        {
            explanation.push_str(&format!(
                " Configured license server(s): {} (from {}).",
                and_list(&configured),
                s.source.map_or("an unknown source", source_words)
            ));
            evidence.extend(crate::diagnose::common::setting_evidence(s));
        }

        // Disconnects the timeline ties to these events.
        let ours: BTreeSet<(&str, u64)> =
            failures.iter().map(|e| (&*e.file, e.record_id)).collect();
        let linked: Vec<_> = m
            .timeline
            .patterns_of(PatternKind::LicensingDisconnect)
            // A user, administrator, time-limit or takeover disconnect is not caused by licensing.
            .filter(|p| lic_shared::explained_otherwise(p.reason_code).is_none())
            .filter(|p| {
                p.evidence
                    .iter()
                    .any(|r| ours.contains(&(&*r.file, r.record_id)))
            })
            .collect();
        if !linked.is_empty() {
            let mut who: Vec<String> = Vec::new();
            for p in &linked {
                let w = match &p.user {
                    Some(u) => format!("{} ({u})", p.sessions.join(", ")),
                    None => p.sessions.join(", "),
                };
                if !who.contains(&w) {
                    who.push(w);
                }
            }
            let mut reasons: Vec<String> = linked
                .iter()
                .map(|p| p.reason_code.map_or("none".to_string(), |c| c.to_string()))
                .collect();
            reasons.sort();
            reasons.dedup();
            explanation.push_str(&format!(
                " {} disconnect(s) in the timeline follow these failures (sessions {}; reason codes {}).",
                linked.len(),
                and_list(&who),
                reasons.join(", ")
            ));
            for p in first_and_last(&linked, DISCONNECTS) {
                if let Some(r) = p.evidence.iter().find(|r| {
                    r.provider
                        .to_ascii_lowercase()
                        .contains("localsessionmanager")
                }) {
                    evidence.push(timeline_evidence(
                        m,
                        r,
                        &format!(
                            "session {} after a license server failure",
                            p.sessions.join(", ")
                        ),
                    ));
                }
            }
        }
        Outcome::Found(vec![META.finding(
            Confidence::Confirmed,
            explanation,
            evidence,
        )])
    }
}
