//! RDS-LIC-WORKGROUP-AUTH: a workgroup license server enforces the authentication of calling
//! session hosts introduced by the CVE-2024-38099 update, without the documented override
//! `DisableWorkgroupAuthEnforcement` = 1 (reference D8, §4.5).

use crate::diagnose::common::event_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::host::facts::{MembershipKind, RoleKind, Tri};
use crate::host::Fact;

use super::conn_shared::host_name;

pub struct WorkgroupAuth;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-WORKGROUP-AUTH",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-LIC-WORKGROUP-AUTH.md"),
};

const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
const VALUE: &str = r"SYSTEM\CurrentControlSet\Services\TermServLicensing\Parameters\DisableWorkgroupAuthEnforcement";
/// RCM 1131 (license server not available) and 1043 (cannot communicate with the license server)
/// on a host that is its own license server (§16 D8 "suggests").
const RCM_REFUSED: [u16; 2] = [1131, 1043];
/// LSM 40 reason 257: no license server available (§16 D8 "suggests").
const REASON_NO_LS: &str = "257";
const MAX_EVENTS: usize = 10;

impl Rule for WorkgroupAuth {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if m.role(RoleKind::LicenseServer) == Tri::No {
            return Outcome::NotApplicable;
        }
        let f = m.facts;
        match f.licensing_service.installed.present {
            Tri::No => return Outcome::NotApplicable,
            Tri::Unknown => {
                return Outcome::Undecided(vec![format!(
                    "licensing service: {}",
                    f.licensing_service
                        .installed
                        .unknown_because
                        .as_deref()
                        .unwrap_or("not known")
                )])
            }
            Tri::Yes => {}
        }
        match f.membership.kind {
            MembershipKind::Domain => return Outcome::Pass,
            MembershipKind::Unknown => {
                return Outcome::Undecided(
                    f.membership
                        .unknown_because
                        .iter()
                        .map(|w| format!("domain membership: {w}"))
                        .collect(),
                )
            }
            MembershipKind::Workgroup => {}
        }
        let wg = &f.workgroup_auth_override;
        match wg.enforcement_disabled {
            Tri::Yes => return Outcome::Pass,
            Tri::Unknown => {
                return Outcome::Undecided(vec![format!("{VALUE}: {}", wg.value.display())])
            }
            Tri::No => {}
        }
        let host = host_name(m, "this license server");
        let mut evidence = Vec::new();
        let value_text = match &wg.value {
            Fact::Found { value, provenance } => {
                evidence.push(Evidence::Registry {
                    fact: format!("DisableWorkgroupAuthEnforcement = {value} (enforcement on)"),
                    provenance: Some(provenance.clone()),
                });
                format!("DisableWorkgroupAuthEnforcement is {value}")
            }
            _ => {
                evidence.push(Evidence::Registry {
                    fact: format!("{VALUE} absent (enforcement on once the update is installed)"),
                    provenance: None,
                });
                "DisableWorkgroupAuthEnforcement is not set".to_string()
            }
        };
        for s in &f.membership.signals {
            evidence.push(Evidence::Registry {
                fact: format!("membership: {} (heuristic)", s.signal),
                provenance: s.provenance.clone(),
            });
        }
        let v = &f.windows_version;
        let version = match (&v.name, v.build) {
            (Some(n), Some(b)) => format!("{n} (build {b})"),
            (Some(n), None) => n.clone(),
            _ => "an unknown Windows version".to_string(),
        };
        if let Some(p) = v.provenance.first() {
            evidence.push(Evidence::Registry {
                fact: format!("Windows version: {version}"),
                provenance: Some(p.clone()),
            });
        }
        // Corroboration when the license server is also a session host.
        let refused: Vec<_> = m.events_of(RCM, &RCM_REFUSED).collect();
        let no_ls: Vec<_> = m
            .events_of(LSM, &[40])
            .filter(|e| e.fields.get("Reason").map(|r| r.trim()) == Some(REASON_NO_LS))
            .collect();
        let corroboration = if refused.is_empty() && no_ls.is_empty() {
            String::new()
        } else {
            format!(
                " On this host itself {} RemoteConnectionManager 1131/1043 event(s) (license server not available / cannot communicate) and {} disconnect(s) with reason 257 (no license server) are logged.",
                refused.len(),
                no_ls.len()
            )
        };
        let mut cited: Vec<_> = refused
            .iter()
            .map(|e| {
                event_evidence(
                    e,
                    format!(
                        "RCM {}: the license server {} could not be used",
                        e.event_id,
                        e.fields.get("Param1").map(String::as_str).unwrap_or("")
                    ),
                )
            })
            .chain(no_ls.iter().map(|e| {
                event_evidence(
                    e,
                    "session disconnected with reason 257: no license server available",
                )
            }))
            .collect();
        cited.sort();
        evidence.extend(cited.into_iter().take(MAX_EVENTS));
        let explanation = format!(
            "{host} is a license server in a workgroup (no domain found) and {value_text}. Since the security update for CVE-2024-38099 (July 2024) a workgroup license server only answers session hosts that authenticate; workgroup session hosts that call it anonymously get no licences (RCM 1131/1043 and disconnects with reason 257 on the hosts) unless credentials are stored for NETWORK SERVICE on each host or the override is set here. The host runs {version}; whether its patch level includes that update is not decided, because the minimum update revision (UBR) per Windows version is UNCONFIRMED in our sources.{corroboration}"
        );
        Outcome::Found(vec![META.finding(
            Confidence::Likely,
            explanation,
            evidence,
        )])
    }
}
