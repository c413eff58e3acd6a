//! The fleet summary: counts per finding id, per licensing mode and per license server, failed
//! captures with their reasons, and the cross-capture findings. Computed from digests sorted by
//! path, so it is the same whatever order (or shards) the captures were analysed in.

use std::collections::BTreeMap;

use serde::Serialize;

use super::digest::Digest;
use super::fleet::{correlate, CrossFinding, ServerUse};
use crate::report::RunStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCapture {
    pub path: String,
    pub reason: String,
}

/// The summary line of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    pub captures: usize,
    pub analysed: usize,
    pub failed: Vec<FailedCapture>,
    /// Captures analysed with damaged or unreadable evidence.
    pub damaged: usize,
    /// Captures per verdict (`problems`, `healthy`, `inconclusive`, `failed`), so a fleet run
    /// tells "healthy" from "not enough evidence".
    pub verdicts: BTreeMap<String, usize>,
    /// Captures with a finding of each id (per-capture rules).
    pub findings: BTreeMap<String, usize>,
    /// Cross-capture findings per id.
    pub cross_findings_by_id: BTreeMap<String, usize>,
    /// Session hosts per effective licensing mode (`unknown` when the evidence cannot tell).
    pub licensing_modes: BTreeMap<String, usize>,
    pub license_servers: Vec<ServerUse>,
    /// Servers the hosts use that are not captures of this batch.
    pub servers_not_in_batch: Vec<String>,
    pub cross_findings: Vec<CrossFinding>,
}

impl FleetSummary {
    /// How the batch ended: the worst capture by the one rule (`report::RunStatus`), and a
    /// cross-capture finding needs attention too.
    pub fn status(&self, digests: &[Digest]) -> RunStatus {
        let cross = if self.cross_findings.is_empty() {
            RunStatus::Clean
        } else {
            RunStatus::Attention
        };
        digests.iter().map(|d| d.status).fold(cross, RunStatus::max)
    }
}

/// Summarise a batch from its digests (any order).
pub fn summarize(digests: &[Digest]) -> FleetSummary {
    let mut ds: Vec<Digest> = digests.to_vec();
    ds.sort_by(|a, b| a.path.cmp(&b.path));
    let mut findings = BTreeMap::new();
    let mut modes = BTreeMap::new();
    let mut failed = Vec::new();
    let mut damaged = 0;
    let mut verdicts = BTreeMap::new();
    for d in &ds {
        *verdicts.entry(d.verdict.name().to_string()).or_insert(0) += 1;
        damaged += usize::from(d.damaged && d.failed.is_none());
        if let Some(reason) = &d.failed {
            failed.push(FailedCapture {
                path: d.path.clone(),
                reason: reason.clone(),
            });
            continue;
        }
        for f in &d.findings {
            *findings.entry(f.clone()).or_insert(0) += 1;
        }
        if d.session_host {
            *modes.entry(d.licensing_mode.clone()).or_insert(0) += 1;
        }
    }
    let (cross, servers) = correlate(&ds);
    let mut by_id = BTreeMap::new();
    for c in &cross {
        *by_id.entry(c.id.clone()).or_insert(0) += 1;
    }
    let servers_not_in_batch = servers
        .iter()
        .filter(|u| u.capture.is_none())
        .map(|u| u.server.clone())
        .collect();
    FleetSummary {
        captures: ds.len(),
        analysed: ds.len() - failed.len(),
        failed,
        damaged,
        verdicts,
        findings,
        cross_findings_by_id: by_id,
        licensing_modes: modes,
        license_servers: servers,
        servers_not_in_batch,
        cross_findings: cross,
    }
}
