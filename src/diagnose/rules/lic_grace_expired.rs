//! RDS-LIC-GRACE-EXPIRED: the licensing grace period is over and no license server issues
//! licences to the host (RCM 1128, or 1069 when the mode is not set either), reference §16 D6.

use super::lic_shared::{self, and_list, first_and_last, span, Strength};
use crate::config::names::LICENSE_SERVERS;
use crate::diagnose::common::event_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::host::facts::Tri;

pub struct GraceExpired;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-GRACE-EXPIRED",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Event, EvidenceKind::Registry],
    doc: include_str!("RDS-LIC-GRACE-EXPIRED.md"),
};

impl Rule for GraceExpired {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let proving = lic_shared::events(m, META.id, Strength::Proves);
        if let Err(o) = lic_shared::event_gate(m, !proving.is_empty()) {
            return o;
        }
        let Some(last) = proving.last().map(|e| e.time) else {
            return Outcome::Pass;
        };
        // A license server that issues licences after the last failure (evidence from a host that
        // is its own license server): resolved.
        let issued_after: Vec<_> = lic_shared::events(m, META.id, Strength::Contradicts)
            .into_iter()
            .filter(|e| e.time > last)
            .collect();
        if !issued_after.is_empty() {
            return Outcome::Pass;
        }
        let e1128: Vec<_> = proving.iter().filter(|e| e.event_id == 1128).collect();
        let e1069: Vec<_> = proving.iter().filter(|e| e.event_id == 1069).collect();
        let mut parts = Vec::new();
        if !e1128.is_empty() {
            let t: Vec<_> = e1128.iter().map(|e| e.time).collect();
            parts.push(format!(
                "RemoteConnectionManager reported the grace period expired without registration with a license server that has licences installed (event 1128) {}",
                span(&t)
            ));
        }
        if !e1069.is_empty() {
            let t: Vec<_> = e1069.iter().map(|e| e.time).collect();
            parts.push(format!(
                "it refused connections because the grace period expired while no licensing mode was configured (event 1069) {}",
                span(&t)
            ));
        }
        let mut explanation = format!(
            "The licensing grace period of this session host is over and no license server issues it licences: {}.",
            parts.join("; ")
        );
        let mut evidence: Vec<Evidence> = first_and_last(&proving, 5)
            .into_iter()
            .map(|e| {
                let fact = if e.event_id == 1069 {
                    "RCM 1069: grace period expired, licensing mode not configured: connections refused"
                } else {
                    "RCM 1128: grace period expired, not registered with a license server that has licences"
                };
                event_evidence(e, fact)
            })
            .collect();
        let warnings: Vec<_> = lic_shared::events(m, META.id, Strength::Suggests)
            .into_iter()
            .filter(|e| e.time <= last)
            .collect();
        if let Some(w) = warnings.first() {
            let when = w
                .field("Param1")
                .map(|p| format!(" (expiry given as {p})"))
                .unwrap_or_default();
            explanation.push_str(&format!(
                " It had warned that the grace period would expire (event 1129) {}{when}.",
                span(&warnings.iter().map(|e| e.time).collect::<Vec<_>>())
            ));
            evidence.push(event_evidence(w, "RCM 1129: the grace period will expire"));
        }
        let x = &m.facts.x509_certificates;
        if x.obtained_from_license_server == Tri::No {
            explanation.push_str(
                " The host holds no license server certificate (RCM\\X509 Certificate absent): it has never completed registration with a license server.",
            );
            evidence.push(Evidence::Registry {
                fact: "SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\X509 Certificate: absent".into(),
                provenance: None,
            });
        }
        match m
            .setting(LICENSE_SERVERS)
            .and_then(|s| s.decided_value())
            .and_then(|v| v.as_list())
        {
            Some(l) if !l.is_empty() => {
                explanation.push_str(&format!(" Configured license server(s): {}.", and_list(l)))
            }
            Some(_) => explanation.push_str(" No license server is configured."),
            None => {}
        }
        Outcome::Found(vec![META.finding(
            Confidence::Confirmed,
            explanation,
            evidence,
        )])
    }
}
