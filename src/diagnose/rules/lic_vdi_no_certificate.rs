//! RDS-LIC-VDI-NO-CERTIFICATE: a Per User session host that never obtained the license server
//! certificate (no `RCM\X509 Certificate*` values) and has licensing failures — the non-persistent
//! VDI / rebuilt-image problem (reference §16 D7, §4.3). A heuristic: always `likely`.

use super::lic_shared::{
    self, and_list, first_and_last, param1_values, span, timeline_evidence, Strength,
};
use crate::config::names::LICENSING_MODE;
use crate::config::Setting;
use crate::diagnose::common::{event_evidence, setting_evidence, unknown_words};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::host::facts::Tri;
use crate::timeline::{Disconnect, Session};

pub struct VdiNoCertificate;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-VDI-NO-CERTIFICATE",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-VDI-NO-CERTIFICATE.md"),
};

/// `LicensingMode` Per User (reference §4.2).
const PER_USER: u64 = 4;

impl Rule for VdiNoCertificate {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if let Err(o) = lic_shared::session_host_gate(m) {
            return o;
        }
        let mode = match per_user_mode(m) {
            Ok(mode) => mode,
            Err(outcome) => return outcome,
        };
        if let Err(outcome) = certificate_missing(m) {
            return outcome;
        }
        // Licensing trouble: RCM 1130/1131/1128 or disconnects with a licensing reason.
        let trouble = lic_shared::events(m, META.id, Strength::Suggests);
        let lic_disconnects: Vec<_> = m
            .timeline
            .sessions
            .iter()
            .flat_map(|s| s.disconnects.iter().map(move |d| (s, d)))
            .filter(|(_, d)| d.licensing_reason)
            .collect();
        if trouble.is_empty() && lic_disconnects.is_empty() {
            return if lic_shared::rcm_log_provided(m) {
                Outcome::Pass
            } else {
                Outcome::Undecided(vec![lic_shared::rcm_log_missing()])
            };
        }

        let names: Vec<&str> = m
            .facts
            .x509_certificates
            .values
            .iter()
            .map(|v| v.name)
            .collect();
        let mut explanation = format!(
            "This session host licenses {} (from {}) but holds none of the license server certificate values under RCM ({}): it has never obtained the certificate from a license server.",
            mode.value_display,
            mode.source.map_or("an unknown source", lic_shared::source_words),
            names.join(", ")
        );
        let mut evidence = setting_evidence(mode);
        evidence.push(Evidence::Registry {
            fact: format!(
                "SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM: {} absent",
                names.join(", ")
            ),
            provenance: None,
        });
        explanation.push_str(&rcm_reports(&trouble, &mut evidence));
        explanation.push_str(&licensing_disconnects(m, &lic_disconnects, &mut evidence));
        if let Some(d) = m.host.os.install_date.value() {
            explanation.push_str(&format!(
                " Windows was installed (or the image created) on {d}."
            ));
        }
        if let Some(c) = consequence(&trouble) {
            explanation.push_str(&format!(
                " If this host is not rebuilt from an image, the missing certificate is rather a consequence: {c}."
            ));
        }
        explanation.push_str(
            " This is the pattern of a non-persistent VDI or a host rebuilt from an image: every rebuild loses the certificate, so each first connection fails with \"no Remote Desktop License Servers available\" while the host asks for it again. Whether this host is such a VM cannot be seen offline.",
        );
        Outcome::Found(vec![META.finding(
            Confidence::Likely,
            explanation,
            evidence,
        )])
    }
}

/// The licensing mode when it is Per User; otherwise the outcome (pass, or undecided when the
/// mode is unknown).
fn per_user_mode<'m>(m: &'m Model<'_>) -> Result<&'m Setting, Outcome> {
    let Some(mode) = m.setting(LICENSING_MODE) else {
        return Err(Outcome::Undecided(vec![
            "licensing_mode is not resolved".into()
        ]));
    };
    if mode.is_unknown() {
        return Err(Outcome::Undecided(unknown_words(mode)));
    }
    if mode.value.as_ref().and_then(|v| v.as_u64()) != Some(PER_USER) {
        return Err(Outcome::Pass);
    }
    Ok(mode)
}

/// Whether every license server certificate value is known to be absent: pass when one is
/// present, undecided when one cannot be read.
fn certificate_missing(m: &Model<'_>) -> Result<(), Outcome> {
    let x = &m.facts.x509_certificates;
    if x.values.iter().any(|v| v.presence.present == Tri::Yes) {
        return Err(Outcome::Pass);
    }
    if x.values.iter().any(|v| v.presence.present == Tri::Unknown) || x.values.is_empty() {
        let why: Vec<String> = x
            .values
            .iter()
            .filter_map(|v| v.presence.unknown_because.as_ref())
            .take(1)
            .map(|w| format!("license server certificate values (RCM\\X509 Certificate…): {w}"))
            .collect();
        return Err(Outcome::Undecided(if why.is_empty() {
            vec!["license server certificate values (RCM\\X509 Certificate…) unknown".into()]
        } else {
            why
        }));
    }
    Ok(())
}

/// ` RemoteConnectionManager reported: …` for the RCM licensing events, with their evidence;
/// empty without them.
fn rcm_reports(trouble: &[&Event], evidence: &mut Vec<Evidence>) -> String {
    let mut seen = Vec::new();
    for id in [1130u16, 1131, 1128] {
        let evs: Vec<_> = trouble
            .iter()
            .copied()
            .filter(|e| e.event_id == id)
            .collect();
        if evs.is_empty() {
            continue;
        }
        let t: Vec<_> = evs.iter().map(|e| e.time).collect();
        let what = match id {
            1130 => "no license server specified".to_string(),
            1131 => {
                let servers = param1_values(&evs);
                if servers.is_empty() {
                    "license server not available".to_string()
                } else {
                    format!("license server {} not available", and_list(&servers))
                }
            }
            _ => "grace period expired without a license server".to_string(),
        };
        seen.push(format!("{what} (event {id}) {}", span(&t)));
        for e in first_and_last(&evs, 3) {
            evidence.push(event_evidence(e, format!("RCM {id}: {what}")));
        }
    }
    if seen.is_empty() {
        String::new()
    } else {
        format!(" RemoteConnectionManager reported: {}.", seen.join("; "))
    }
}

/// ` Sessions were disconnected for licensing …` with the disconnects cited; empty without them.
fn licensing_disconnects(
    m: &Model<'_>,
    lic_disconnects: &[(&Session, &Disconnect)],
    evidence: &mut Vec<Evidence>,
) -> String {
    if lic_disconnects.is_empty() {
        return String::new();
    }
    let mut codes: Vec<String> = lic_disconnects
        .iter()
        .filter_map(|(_, d)| d.reason_code.map(|c| c.to_string()))
        .collect();
    codes.sort();
    codes.dedup();
    let t: Vec<_> = lic_disconnects.iter().map(|(_, d)| d.time).collect();
    for (s, d) in first_and_last(lic_disconnects, 3) {
        if let Some(r) = d
            .events
            .iter()
            .find(|r| r.event_id == 40)
            .or(d.events.first())
        {
            evidence.push(timeline_evidence(
                m,
                r,
                &format!("licensing disconnect of session {}", s.key),
            ));
        }
    }
    format!(
        " Sessions were disconnected for licensing (reason {}) {}.",
        codes.join(", "),
        span(&t)
    )
}

/// When RCM says there is no license server or it cannot be reached, the missing certificate
/// may be a consequence rather than the cause.
fn consequence(trouble: &[&Event]) -> Option<&'static str> {
    match (
        trouble.iter().any(|e| e.event_id == 1130),
        trouble.iter().any(|e| e.event_id == 1131),
    ) {
        (true, _) => Some("no license server is specified (see RDS-LIC-NO-SERVER)"),
        (false, true) => {
            Some("the license server cannot be reached (see RDS-LIC-SERVER-UNREACHABLE)")
        }
        _ => None,
    }
}
