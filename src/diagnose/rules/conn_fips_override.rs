//! RDS-CONN-FIPS-OVERRIDE: the FIPS algorithm policy is enabled and overrides the encryption level
//! configured by Group Policy or on the listener (reference D13, seed 003 note on encryption).

use crate::catalog::settings::SourceKind;
use crate::config::names;
use crate::diagnose::common::{setting_evidence, unknown_words};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};

use super::conn_shared::host_name;

pub struct FipsOverride;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-FIPS-OVERRIDE",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-CONN-FIPS-OVERRIDE.md"),
};

const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
const RDPCLIENT: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
/// FIPS-compliant encryption level (S07).
const LEVEL_FIPS: u64 = 4;
/// LSM 40 reason 8 `ServerDeniedConnectionFips` (S27); client code 3590 (S30).
const REASON_FIPS: &str = "8";
const CLIENT_FIPS: &str = "3590";
/// Security layer 2 = SSL/TLS required (S01).
const LAYER_TLS: u64 = 2;

impl Rule for FipsOverride {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let (Some(fips), Some(level)) = (
            m.setting(names::FIPS_ALGORITHM_POLICY),
            m.setting(names::MIN_ENCRYPTION_LEVEL),
        ) else {
            return Outcome::NotApplicable;
        };
        if fips.is_unknown() {
            return Outcome::Undecided(unknown_words(fips));
        }
        if fips.decided_value().and_then(|v| v.as_flag()) != Some(true) {
            return Outcome::Pass;
        }
        // The levels FIPS wins over: policy or listener values other than FIPS Compliant.
        let overridden: Vec<_> = level
            .shadowed
            .iter()
            .filter(|sh| matches!(sh.source, SourceKind::Policy | SourceKind::Listener))
            .filter(|sh| sh.value.as_u64() != Some(LEVEL_FIPS))
            .collect();
        if level.source != Some(SourceKind::SecurityPolicy) || overridden.is_empty() {
            return Outcome::Pass;
        }
        let host = host_name(m, "this host");
        let what = overridden
            .iter()
            .map(|sh| {
                let by = match sh.source {
                    SourceKind::Policy => {
                        "Group Policy (\"Set client connection encryption level\")"
                    }
                    _ => "the RDP-Tcp listener",
                };
                format!("{} set by {by}", sh.display)
            })
            .collect::<Vec<_>>()
            .join(" and ");
        let mut evidence = setting_evidence(fips);
        for sh in &overridden {
            evidence.extend(sh.provenance.iter().map(|p| Evidence::Registry {
                fact: format!(
                    "min_encryption_level = {} (overridden, {})",
                    sh.display,
                    sh.source.name()
                ),
                provenance: Some(p.clone()),
            }));
        }
        // Failures FIPS causes: server reason 8, client code 3590, RCM 1050 (layer adjusted).
        let mut effects = Vec::new();
        for e in m.events_of(LSM, &[40]) {
            if e.fields.get("Reason").map(|s| s.trim()) == Some(REASON_FIPS) {
                effects.push(crate::diagnose::common::event_evidence(
                    e,
                    "session disconnected with reason 8: the server requires FIPS encryption the client cannot provide",
                ));
            }
        }
        for e in m.events_of(RDPCLIENT, &[1026]) {
            if e.fields.get("Value").map(|s| s.trim()) == Some(CLIENT_FIPS) {
                effects.push(crate::diagnose::common::event_evidence(
                    e,
                    "client disconnected with code 3590: the client does not support the FIPS encryption level",
                ));
            }
        }
        for e in m.events_of(RCM, &[1050]) {
            effects.push(crate::diagnose::common::event_evidence(
                e,
                "the listener security layer and encryption level did not fit together and were changed",
            ));
        }
        let layer = m.setting(names::SECURITY_LAYER);
        let tls = layer
            .and_then(|l| l.decided_value())
            .and_then(|v| v.as_u64())
            == Some(LAYER_TLS);
        let layer_text = match layer {
            Some(l) if tls => format!(
                " The effective security layer is {}: the encryption level itself only applies to the native RDP security layer, but FIPS mode also restricts the TLS protocols and cipher suites clients may use.",
                l.value_display
            ),
            Some(l) => format!(
                " The effective security layer is {}, so sessions using native RDP security are encrypted at FIPS level.",
                l.value_display
            ),
            None => String::new(),
        };
        let effects_text = if effects.is_empty() {
            " No connection failure caused by FIPS (LSM 40 reason 8, client 1026 code 3590, RCM 1050) is in the provided logs.".to_string()
        } else {
            format!(
                " {} event(s) show its effect (LSM 40 reason 8, client code 3590 or RCM 1050).",
                effects.len()
            )
        };
        let explanation = format!(
            "On {host} the security option \"System cryptography: Use FIPS compliant algorithms\" is enabled (FipsAlgorithmPolicy\\Enabled = 1). It overrides the encryption level {what}: the effective level is FIPS Compliant, and clients that cannot do FIPS-compliant encryption are refused.{layer_text}{effects_text}"
        );
        evidence.extend(effects);
        Outcome::Found(vec![META.finding(
            Confidence::Confirmed,
            explanation,
            evidence,
        )])
    }
}
