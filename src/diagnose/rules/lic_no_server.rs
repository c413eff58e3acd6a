//! RDS-LIC-NO-SERVER: a session host with no license server from any source (Group Policy,
//! Server Manager, the legacy locations), reference §16 D2; RCM 1130 corroborates.

use super::lic_shared::{self, first_and_last, source_words, span, Strength};
use crate::config::names::{LICENSE_SERVERS, LICENSING_MODE};
use crate::diagnose::common::{event_evidence, setting_evidence, unknown_words};
use crate::diagnose::{Confidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity};
use crate::host::facts::{RoleKind, Tri};

pub struct NoServer;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-NO-SERVER",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-NO-SERVER.md"),
};

/// Remote Desktop for Administration: no license server is needed (reference §4.2).
const REMOTE_ADMIN: u64 = 1;

impl Rule for NoServer {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if let Err(o) = lic_shared::session_host_gate(m) {
            return o;
        }
        // A session host that is its own license server (reference D2 caveat).
        if m.role(RoleKind::LicenseServer) == Tri::Yes {
            return Outcome::Pass;
        }
        if m.setting(LICENSING_MODE)
            .and_then(|s| s.decided_value())
            .and_then(|v| v.as_u64())
            == Some(REMOTE_ADMIN)
        {
            return Outcome::Pass;
        }
        let Some(s) = m.setting(LICENSE_SERVERS) else {
            return Outcome::Undecided(vec!["license_servers is not resolved".into()]);
        };
        if s.is_unknown() {
            return Outcome::Undecided(unknown_words(s));
        }
        let servers = s.value.as_ref().and_then(|v| v.as_list()).unwrap_or(&[]);
        if servers.iter().any(|n| !n.trim().is_empty()) {
            return Outcome::Pass;
        }
        let mut evidence = if s.is_set() {
            setting_evidence(s)
        } else {
            vec![crate::diagnose::Evidence::Registry {
                fact: format!(
                    "{LICENSE_SERVERS}: no value in Group Policy (LicenseServers), Server Manager (SpecifiedLicenseServers) or the legacy locations"
                ),
                provenance: None,
            }]
        };
        for sh in &s.shadowed {
            evidence.extend(
                sh.provenance
                    .iter()
                    .map(|p| crate::diagnose::Evidence::Registry {
                        fact: format!(
                            "{LICENSE_SERVERS} = {} ({}, overridden)",
                            sh.display,
                            sh.source.name()
                        ),
                        provenance: Some(p.clone()),
                    }),
            );
        }
        let mut explanation = match (s.is_set(), s.shadowed.first()) {
            (true, Some(sh)) => format!(
                "The effective license server list is empty: {} sets {} and overrides {} from {}, so this session host has no license server to ask for licences.",
                s.source.map_or("a higher-precedence source", source_words),
                s.value_display,
                sh.display,
                source_words(sh.source)
            ),
            (true, None) => format!(
                "The effective license server list is empty ({} from {}): this session host has no license server to ask for licences.",
                s.value_display,
                s.source.map_or("an unknown source", source_words)
            ),
            (false, _) => "No license server is specified in Group Policy (LicenseServers), in Server Manager (SpecifiedLicenseServers) or in any legacy location, and this host is not a license server itself. Session hosts since Windows Server 2008 R2 do not discover license servers automatically.".to_string(),
        };
        let proving = lic_shared::events(m, META.id, Strength::Proves);
        let later = lic_shared::events(m, META.id, Strength::Suggests);
        let confidence = if proving.is_empty() {
            explanation.push_str(
                " No RemoteConnectionManager event 1130 confirms it in the logs provided.",
            );
            Confidence::Likely
        } else {
            let t: Vec<_> = proving.iter().map(|e| e.time).collect();
            explanation.push_str(&format!(
                " RemoteConnectionManager reported that no license server is specified (event 1130) {}.",
                span(&t)
            ));
            for e in first_and_last(&proving, 5) {
                evidence.push(event_evidence(
                    e,
                    "RCM 1130: no license server is specified",
                ));
            }
            Confidence::Confirmed
        };
        if !later.is_empty() {
            let t: Vec<_> = later.iter().map(|e| e.time).collect();
            explanation.push_str(&format!(
                " The grace period has run out since (event 1128 {}).",
                span(&t)
            ));
            for e in first_and_last(&later, 2) {
                evidence.push(event_evidence(
                    e,
                    "RCM 1128: grace period expired, not registered with a license server",
                ));
            }
        }
        let disconnects = m
            .timeline
            .sessions
            .iter()
            .flat_map(|s| &s.disconnects)
            .filter(|d| d.reason_code == Some(257))
            .count();
        if disconnects > 0 {
            explanation.push_str(&format!(
                " {disconnects} disconnect(s) in the timeline carry reason 257 (no license server available)."
            ));
        }
        Outcome::Found(vec![META.finding(confidence, explanation, evidence)])
    }
}
