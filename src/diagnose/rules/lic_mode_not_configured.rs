//! RDS-LIC-MODE-NOT-CONFIGURED: a session host with no licensing mode (LicensingMode absent, 5,
//! or a value no session host can use), reference §16 D1.

use super::lic_shared::{self, first_and_last, span, Strength};
use crate::config::names::LICENSING_MODE;
use crate::diagnose::common::{event_evidence, setting_evidence, unknown_words};
use crate::diagnose::{Confidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity};
use crate::eventlog::Event;

pub struct ModeNotConfigured;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-MODE-NOT-CONFIGURED",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-MODE-NOT-CONFIGURED.md"),
};

/// `LicensingMode` codes a session host licenses with (Per Device, Per User) or that are normal
/// for a server without the role (Remote Desktop for Administration), reference §4.2.
const USABLE: [u64; 3] = [1, 2, 4];

/// ` (from Server Manager)`, or nothing for a default.
fn from(s: &crate::config::Setting) -> String {
    s.source
        .filter(|k| *k != crate::catalog::settings::SourceKind::Default)
        .map(|k| format!(" (from {})", lic_shared::source_words(k)))
        .unwrap_or_default()
}

impl Rule for ModeNotConfigured {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if let Err(o) = lic_shared::session_host_gate(m) {
            return o;
        }
        let Some(s) = m.setting(LICENSING_MODE) else {
            return Outcome::Undecided(vec!["licensing_mode is not resolved".into()]);
        };
        if s.is_unknown() {
            return Outcome::Undecided(unknown_words(s));
        }
        let code = s.value.as_ref().and_then(|v| v.as_u64());
        let what = match code {
            Some(c) if USABLE.contains(&c) => return Outcome::Pass,
            None => "no licensing mode is set in Group Policy or in Server Manager".to_string(),
            Some(5) => format!(
                "the effective licensing mode is {}{}",
                s.value_display,
                from(s)
            ),
            Some(c) => format!(
                "the effective licensing mode is {}{} (code {c}), which a session host cannot license with",
                s.value_display,
                from(s)
            ),
        };
        let proving = lic_shared::events(m, META.id, Strength::Proves);
        let mut evidence = setting_evidence(s);
        let mut explanation = format!("This host has the RD Session Host role but {what}.");
        let confidence = if proving.is_empty() {
            explanation.push_str(
                " No RemoteConnectionManager event 1068/1069 confirms it in the logs provided.",
            );
            Confidence::Likely
        } else {
            let (w68, w69): (Vec<&Event>, Vec<&Event>) =
                proving.iter().copied().partition(|e| e.event_id == 1068);
            if !w68.is_empty() {
                let t: Vec<_> = w68.iter().map(|e| e.time).collect();
                explanation.push_str(&format!(
                    " RemoteConnectionManager reported the licensing mode as not configured (event 1068) {}.",
                    span(&t)
                ));
            }
            if !w69.is_empty() {
                let t: Vec<_> = w69.iter().map(|e| e.time).collect();
                explanation.push_str(&format!(
                    " The grace period has expired as well: connections were refused (event 1069) {}.",
                    span(&t)
                ));
            }
            for e in first_and_last(&proving, 6) {
                let fact = if e.event_id == 1068 {
                    "RCM 1068: the licensing mode is not configured"
                } else {
                    "RCM 1069: grace period expired and licensing mode not configured"
                };
                evidence.push(event_evidence(e, fact));
            }
            Confidence::Confirmed
        };
        explanation.push_str(
            " Until Per Device or Per User is chosen the host licenses nobody; after the grace period it refuses remote connections.",
        );
        Outcome::Found(vec![META.finding(confidence, explanation, evidence)])
    }
}
