//! RDS-CONN-CERT-KEY: the private key of the RDP listener's TLS certificate cannot be used
//! (Schannel 36870, RCM 1057/1058; reference D14).

use crate::config::{names, SettingState};
use crate::diagnose::common::{event_evidence, setting_evidence};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::host::facts::{RoleKind, Tri};

use super::conn_shared::host_name;

pub struct CertKey;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-CERT-KEY",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-CONN-CERT-KEY.md"),
};

const SCHANNEL: &str = "Schannel";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
/// Schannel 36870: fatal error accessing the TLS server credential private key (S24).
const SCHANNEL_KEY: [u16; 1] = [36870];
/// RCM 1057/1058: creating / replacing the self-signed RDP certificate failed (S24).
const RCM_CERT: [u16; 2] = [1057, 1058];
/// Most events one finding cites.
const MAX_EVENTS: usize = 20;

fn data(e: &Event) -> String {
    let mut v: Vec<&str> = (1..=4)
        .filter_map(|i| e.fields.get(&i.to_string()).map(String::as_str))
        .filter(|s| !s.trim().is_empty())
        .collect();
    v.truncate(3);
    v.join(", ")
}

impl Rule for CertKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let schannel: Vec<&Event> = m.events_of(SCHANNEL, &SCHANNEL_KEY).collect();
        let rcm: Vec<&Event> = m.events_of(RCM, &RCM_CERT).collect();
        if schannel.is_empty() && rcm.is_empty() {
            if m.role(RoleKind::Client) != Tri::Yes && !m.has_channel("System") {
                return Outcome::Undecided(vec![
                    "System log not provided: Schannel 36870 and RCM 1057/1058 (RDP certificate private key errors) cannot be seen".into(),
                ]);
            }
            return Outcome::Pass;
        }
        let host = host_name(m, "the host");
        let cert = m.setting(names::CERTIFICATE);
        let cert_text = match cert {
            Some(c) if c.is_set() => format!(
                "The RDP-Tcp listener is configured to use the certificate with thumbprint {} (SSLCertificateSHA1Hash): check that this certificate is in the computer's Personal store with its private key and that NETWORK SERVICE can read the key.",
                c.value_display
            ),
            Some(c) if c.is_unknown() => format!("The listener certificate is unknown: {}.", c.display),
            Some(_) => "No certificate is configured for the RDP-Tcp listener, so it uses the self-signed \"Remote Desktop\" certificate: its key lives in the MachineKeys folder, whose permissions are the usual cause.".to_string(),
            None => String::new(),
        };
        let mut all: Vec<&Event> = schannel.iter().chain(rcm.iter()).copied().collect();
        all.sort_by_key(|e| (e.time, e.record_id));
        let (first, last) = match (all.first(), all.last()) {
            (Some(f), Some(l)) => (f.time.to_string(), l.time.to_string()),
            _ => return Outcome::Pass,
        };
        let mut parts = Vec::new();
        if !schannel.is_empty() {
            parts.push(format!(
                "{} Schannel 36870 error(s) (fatal error accessing the TLS server credential private key{})",
                schannel.len(),
                schannel
                    .first()
                    .map(|e| data(e))
                    .filter(|d| !d.is_empty())
                    .map(|d| format!("; data {d}"))
                    .unwrap_or_default()
            ));
        }
        for id in RCM_CERT {
            let n = rcm.iter().filter(|e| e.event_id == id).count();
            if n > 0 {
                parts.push(format!(
                    "{n} RCM {id} error(s) ({})",
                    if id == 1057 {
                        "creating a new self-signed RDP certificate failed"
                    } else {
                        "replacing the expired self-signed RDP certificate failed"
                    }
                ));
            }
        }
        let schannel_only = rcm.is_empty();
        let caveat = if schannel_only {
            " Schannel does not name the service whose key failed: another TLS service on this host (IIS, RD Web, RD Gateway) can log the same error, so this is likely, not proven, to be the RDP listener."
        } else {
            ""
        };
        let explanation = format!(
            "On {host} the TLS certificate key could not be used between {first} and {last}: {}. Without a usable private key the listener cannot complete TLS, so clients fail with a security or certificate error.{caveat} {cert_text}",
            parts.join(" and ")
        );
        let mut evidence = match cert {
            Some(c) if c.state == SettingState::NotSet => vec![Evidence::Registry {
                fact: "SSLCertificateSHA1Hash not set on the RDP-Tcp listener: the self-signed \"Remote Desktop\" certificate is used".into(),
                provenance: None,
            }],
            Some(c) => setting_evidence(c),
            None => Vec::new(),
        };
        let n = all.len();
        evidence.extend(all.iter().take(MAX_EVENTS).map(|e| {
            let fact = if e.provider.eq_ignore_ascii_case(SCHANNEL) {
                "fatal error accessing the TLS server credential private key".to_string()
            } else if e.event_id == 1057 {
                "failed to create a new self-signed certificate for the RDP listener".to_string()
            } else {
                "failed to replace the expired self-signed certificate of the RDP listener"
                    .to_string()
            };
            let d = data(e);
            event_evidence(
                e,
                if d.is_empty() {
                    fact
                } else {
                    format!("{fact} ({d})")
                },
            )
        }));
        let explanation = if n > MAX_EVENTS {
            format!("{explanation} ({n} events; the first {MAX_EVENTS} are cited.)")
        } else {
            explanation
        };
        let confidence = if schannel_only {
            Confidence::Likely
        } else {
            Confidence::Confirmed
        };
        Outcome::Found(vec![META.finding(confidence, explanation, evidence)])
    }
}
