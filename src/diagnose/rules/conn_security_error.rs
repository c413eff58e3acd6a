//! RDS-CONN-SECURITY-ERROR: bursts of security/protocol errors (TermDD 56/50, Schannel, RCM
//! 1050…, RdpCoreTS) around disconnects, explained with the effective security layer, encryption
//! level and FIPS policy (reference D13, seed 003 "because of a security error").

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::config::names;
use crate::diagnose::common::setting_evidence;
use crate::diagnose::{Confidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity};
use crate::timeline::{EventRef, Pattern, PatternKind, Role};

use super::conn_shared::{host_name, ref_evidence, setting_text};

pub struct SecurityError;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-SECURITY-ERROR",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-CONN-SECURITY-ERROR.md"),
};

const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const RDPCORE_CHANNEL: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
/// RCM 1050: the listener's security layer/encryption combination was inconsistent and changed
/// (§16 D13 "proves").
const RCM_LAYER_ADJUSTED: u16 = 1050;
/// Server reason 8 `ServerDeniedConnectionFips` (S27, §16 D13 "proves").
const REASON_FIPS: u32 = 8;
/// How many bursts the explanation spells out.
const MAX_NAMED: usize = 5;

/// The client addresses of the errors in the bursts' time spans, most frequent first
/// (`TermDD` 56 data 2, RdpCoreTS `IPString`/`ClientIP`, or the timeline's address).
fn error_sources(m: &Model<'_>, bursts: &[&Pattern]) -> String {
    let spans: Vec<(Timestamp, Timestamp)> = bursts
        .iter()
        .filter_map(|p| {
            let first = p.evidence.iter().map(|r| r.time).min()?;
            let last = p.evidence.iter().map(|r| r.time).max()?;
            Some((first, last))
        })
        .collect();
    let mut by_address: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0usize;
    for t in m
        .timeline
        .events
        .iter()
        .filter(|t| t.role == Role::SecurityError)
    {
        if !spans.iter().any(|(a, b)| t.time >= *a && t.time <= *b) {
            continue;
        }
        let termdd_ip = t
            .provider
            .eq_ignore_ascii_case("TermDD")
            .then(|| t.fields.get("2").cloned())
            .flatten();
        let address = t
            .address
            .clone()
            .or(termdd_ip)
            .or_else(|| t.fields.get("IPString").cloned())
            .or_else(|| t.fields.get("ClientIP").cloned());
        if let Some(a) = address.filter(|a| !a.trim().is_empty()) {
            *by_address.entry(a.trim().to_string()).or_insert(0) += 1;
            total += 1;
        }
    }
    if total == 0 {
        return String::new();
    }
    let mut list: Vec<(String, usize)> = by_address.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = list
        .iter()
        .take(MAX_NAMED)
        .map(|(a, n)| format!("{a} ×{n}"))
        .collect();
    let more = if list.len() > MAX_NAMED {
        format!(" and {} more", list.len() - MAX_NAMED)
    } else {
        String::new()
    };
    let scanner = match list.first() {
        Some((a, n)) if *n >= 10 && *n * 2 > total => format!(
            " Most come from one address ({a}): typical of a scanner or password guessing rather than a configuration mismatch."
        ),
        _ => String::new(),
    };
    format!(
        " Client addresses named by the errors: {}{more}.{scanner}",
        shown.join(", ")
    )
}

impl Rule for SecurityError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let bursts: Vec<_> = m.timeline.patterns_of(PatternKind::ErrorBurst).collect();
        if bursts.is_empty() {
            let disconnects = m.timeline.summary.disconnects;
            if disconnects > 0 && !m.has_channel("System") && !m.has_channel(RDPCORE_CHANNEL) {
                return Outcome::Undecided(vec![format!(
                    "System and RdpCoreTS logs not provided: security/protocol errors around the {disconnects} disconnect(s) cannot be seen"
                )]);
            }
            return Outcome::Pass;
        }
        let host = host_name(m, "the host");
        let layer = m.setting(names::SECURITY_LAYER);
        let level = m.setting(names::MIN_ENCRYPTION_LEVEL);
        let fips = m.setting(names::FIPS_ALGORITHM_POLICY);
        let nla = m.setting(names::USER_AUTHENTICATION);
        let fips_on = fips
            .and_then(|f| f.decided_value())
            .and_then(|v| v.as_flag())
            == Some(true);

        let errors: usize = bursts.iter().map(|p| p.supporting_events).sum();
        let named: Vec<String> = bursts
            .iter()
            .take(MAX_NAMED)
            .map(|p| format!("{} ({})", p.summary, p.time))
            .collect();
        let more = if bursts.len() > MAX_NAMED {
            format!("; and {} more", bursts.len() - MAX_NAMED)
        } else {
            String::new()
        };
        let mut refs: Vec<&EventRef> = bursts.iter().flat_map(|p| p.evidence.iter()).collect();
        refs.sort();
        refs.dedup();
        let adjusted = refs
            .iter()
            .any(|r| r.event_id == RCM_LAYER_ADJUSTED && r.provider.eq_ignore_ascii_case(RCM));
        let fips_reason = bursts.iter().any(|p| p.reason_code == Some(REASON_FIPS));
        let mut hints = Vec::new();
        if adjusted {
            hints.push("RCM 1050 shows the listener's security layer and encryption level did not fit together and were changed".to_string());
        }
        if fips_reason {
            hints.push("disconnect reason 8: the server requires FIPS encryption the client cannot provide".to_string());
        }
        if fips_on {
            hints.push(
                "the FIPS algorithm policy is enabled and forces FIPS-compliant encryption"
                    .to_string(),
            );
        }
        let hints = if hints.is_empty() {
            String::new()
        } else {
            format!(" Also: {}.", hints.join("; "))
        };
        let sources = error_sources(m, &bursts);
        let explanation = format!(
            "On {host} {errors} security/protocol error(s) surround {n} disconnect burst(s): {named}{more}.{sources} Effective configuration: {layer}; {level}; {fips}; {nla}. The encryption level only applies to the native RDP security layer; with TLS the errors usually come from TLS protocol, cipher or certificate problems, or from scanners.{hints}",
            n = bursts.len(),
            named = named.join("; "),
            layer = setting_text(layer, "security layer"),
            level = setting_text(level, "encryption level"),
            fips = setting_text(fips, "FIPS policy"),
            nla = setting_text(nla, "NLA"),
        );
        let mut evidence = Vec::new();
        for s in [layer, level, fips].into_iter().flatten() {
            if !s.is_unknown() {
                evidence.extend(setting_evidence(s));
            }
        }
        evidence.extend(refs.into_iter().map(|r| ref_evidence(m, r)));
        let confidence = if adjusted || fips_reason {
            Confidence::Confirmed
        } else {
            Confidence::Likely
        };
        Outcome::Found(vec![META.finding(confidence, explanation, evidence)])
    }
}
