//! Cross-capture correlation: match the license servers each session host uses to the captures of
//! the batch, and name what only two machines together show — a license server in another domain
//! or workgroup, a license server older than the host, license-server problems seen from every
//! host that depends on that server.

use serde::Serialize;

use crate::diagnose::EvidenceKind;
use crate::diagnose::{self, Confidence, RuleMeta, Severity};

use super::digest::Digest;

static CROSS_DOMAIN: RuleMeta = RuleMeta {
    id: "RDS-LIC-CROSS-DOMAIN",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry],
    doc: include_str!("rules/RDS-LIC-CROSS-DOMAIN.md"),
};

static VERSION_MISMATCH: RuleMeta = RuleMeta {
    id: "RDS-LIC-VERSION-MISMATCH",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Registry],
    doc: include_str!("rules/RDS-LIC-VERSION-MISMATCH.md"),
};

/// Rules that need more than one capture; documented like the others (`rdsdiag explain`).
pub static FLEET_RULES: &[&RuleMeta] = &[&CROSS_DOMAIN, &VERSION_MISMATCH];

/// License-server findings that are reported again on every host using that server.
const PROPAGATED: &[&str] = &["RDS-LIC-SERVICE-DOWN", "RDS-LIC-WORKGROUP-AUTH"];

/// One license server name as configured on the hosts of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerUse {
    /// The name as configured (lower case).
    pub server: String,
    /// The capture of that server in this batch; `null` when it is not part of the batch.
    pub capture: Option<String>,
    /// Captures of the hosts that use it.
    pub used_by: Vec<String>,
}

/// A finding about a session host that needs another capture of the batch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CrossFinding {
    pub id: String,
    /// The session host's capture.
    pub capture: String,
    pub computer: Option<String>,
    /// The license server's capture.
    pub license_server_capture: String,
    pub license_server: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: String,
    pub explanation: String,
    pub remedy: Vec<String>,
    pub links: Vec<String>,
}

fn finding(
    meta: &RuleMeta,
    host: &Digest,
    ls: &Digest,
    server: &str,
    confidence: Confidence,
    explanation: String,
) -> CrossFinding {
    let doc = meta.parsed();
    CrossFinding {
        id: meta.id.to_string(),
        capture: host.path.clone(),
        computer: host.computer.clone(),
        license_server_capture: ls.path.clone(),
        license_server: server.to_string(),
        severity: meta.severity,
        confidence,
        title: doc.title.clone(),
        explanation,
        remedy: doc.remedy_steps(),
        links: doc.links(),
    }
}

fn membership_words(d: &Digest) -> String {
    match (d.membership.as_str(), &d.domain) {
        ("domain", Some(dom)) => format!("domain {dom}"),
        ("domain", None) => "a domain".into(),
        ("workgroup", _) => "a workgroup".into(),
        _ => "unknown membership".into(),
    }
}

/// Correlate every session host with the license-server captures it names. Returns the cross
/// findings and, per configured server name, the capture that answers to it (if any).
pub fn correlate(digests: &[Digest]) -> (Vec<CrossFinding>, Vec<ServerUse>) {
    let mut out = Vec::new();
    let mut servers: std::collections::BTreeMap<String, (Option<String>, Vec<String>)> =
        Default::default();
    for host in digests
        .iter()
        .filter(|d| d.failed.is_none() && !d.license_servers.is_empty())
    {
        for server in &host.license_servers {
            let key = server.trim().to_ascii_lowercase();
            let ls = digests
                .iter()
                .find(|d| d.failed.is_none() && d.path != host.path && d.answers_to(server));
            let entry = servers.entry(key).or_default();
            entry.1.push(host.path.clone());
            let Some(ls) = ls else { continue };
            entry.0 = Some(ls.path.clone());
            let who = host.computer.as_deref().unwrap_or(&host.path);
            // Different domains, or either side in a workgroup.
            let differs = match (host.membership.as_str(), ls.membership.as_str()) {
                ("domain", "domain") => match (&host.domain, &ls.domain) {
                    (Some(a), Some(b)) => a != b,
                    _ => false,
                },
                ("workgroup", _) | (_, "workgroup") => true,
                _ => false,
            };
            if differs {
                out.push(finding(
                    &CROSS_DOMAIN,
                    host,
                    ls,
                    server,
                    Confidence::Likely,
                    format!(
                        "{who} ({}) uses license server {server} ({}, capture {}). Across domains a trust and the license server's membership in each user domain's \"Terminal Server License Servers\" group are needed; with a workgroup on either side Per User CALs cannot be tracked and the host must authenticate to the server.",
                        membership_words(host),
                        membership_words(ls),
                        ls.path
                    ),
                ));
            }
            if let (Some(hb), Some(lb)) = (host.build, ls.build) {
                if lb < hb {
                    out.push(finding(
                        &VERSION_MISMATCH,
                        host,
                        ls,
                        server,
                        Confidence::Confirmed,
                        format!(
                            "{who} runs {} (build {hb}) but its license server {server} runs {} (build {lb}). A license server can only issue CALs for its own Windows version or older, so it cannot serve this host.",
                            host.version.as_deref().unwrap_or("a newer Windows"),
                            ls.version.as_deref().unwrap_or("an older Windows"),
                        ),
                    ));
                }
            }
            for id in PROPAGATED
                .iter()
                .filter(|id| ls.findings.iter().any(|f| f == *id))
            {
                if let Some(rule) = diagnose::rule(id) {
                    let meta = rule.meta();
                    out.push(finding(
                        meta,
                        host,
                        ls,
                        server,
                        Confidence::Confirmed,
                        format!(
                            "{who} depends on license server {server}, whose own capture ({}) shows {id}: see that capture's finding.",
                            ls.path
                        ),
                    ));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    let servers = servers
        .into_iter()
        .map(|(server, (capture, mut used_by))| {
            used_by.sort();
            used_by.dedup();
            ServerUse {
                server,
                capture,
                used_by,
            }
        })
        .collect();
    (out, servers)
}
