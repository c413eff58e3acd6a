//! RDS-LIC-POLICY-OVERRIDES: Group Policy licensing values differ from the Server Manager values
//! they override ("I changed it in Server Manager and nothing happened").

use crate::catalog::settings::SourceKind;
use crate::diagnose::common::{gpo_words, setting_evidence, unknown_words};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::host::facts::{RoleKind, Tri};

pub struct PolicyOverrides;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-POLICY-OVERRIDES",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry],
    doc: include_str!("RDS-LIC-POLICY-OVERRIDES.md"),
};

/// The licensing settings Server Manager also writes.
const SETTINGS: [&str; 2] = ["licensing_mode", "license_servers"];

impl Rule for PolicyOverrides {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        if m.role(RoleKind::SessionHost) == Tri::No {
            return Outcome::NotApplicable;
        }
        let mut lines = Vec::new();
        let mut evidence = Vec::new();
        let mut missing = Vec::new();
        let mut gpos = String::new();
        for name in SETTINGS {
            let Some(s) = m.setting(name) else { continue };
            if s.is_unknown() {
                missing.extend(unknown_words(s));
                continue;
            }
            if s.source != Some(SourceKind::Policy) {
                continue;
            }
            let before = lines.len();
            for sh in s.shadowed.iter().filter(|sh| {
                matches!(sh.source, SourceKind::ServerManager | SourceKind::Legacy)
                    && Some(&sh.value) != s.value.as_ref()
            }) {
                lines.push(format!(
                    "{name}: Group Policy sets {} and overrides {} set by {}",
                    s.value_display,
                    sh.display,
                    sh.source.name().replace('_', " ")
                ));
                evidence.extend(setting_evidence(s));
                evidence.extend(sh.provenance.iter().map(|p| Evidence::Registry {
                    fact: format!("{name} = {} (shadowed, {})", sh.display, sh.source.name()),
                    provenance: Some(p.clone()),
                }));
            }
            if lines.len() > before {
                // Name the GPO to change when the Group Policy evidence tells it.
                if let Some((words, ev)) = gpo_words(s) {
                    gpos.push_str(&words);
                    evidence.extend(ev);
                }
            }
        }
        if !lines.is_empty() {
            let explanation = format!(
                "{}. Changes made in Server Manager (or with PowerShell/WMI) have no effect while the policy applies.{gpos}",
                lines.join("; ")
            );
            return Outcome::Found(vec![META.finding(
                Confidence::Confirmed,
                explanation,
                evidence,
            )]);
        }
        if missing.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Undecided(missing)
        }
    }
}
