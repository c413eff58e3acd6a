//! RDS-LIC-DISCONNECT: sessions disconnected for a licensing reason that no more specific rule
//! explains (reasons 256, 259, 263, 264, client 2056, and 257 when the configured license
//! servers are unknown); which rule a reason names is `licensing_reasons.tsv` (reference §16).

use super::lic_reasons::reason_only;
use crate::diagnose::{EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity};

pub struct LicensingDisconnect;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-DISCONNECT",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Event],
    doc: include_str!("RDS-LIC-DISCONNECT.md"),
};

impl Rule for LicensingDisconnect {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        match reason_only(m, &META) {
            Some(f) => Outcome::Found(vec![f]),
            None => Outcome::NotApplicable,
        }
    }
}
