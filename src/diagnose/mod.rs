//! Diagnose: the registry of rules that name causes. Each rule is one unit in `rules/` — its
//! metadata, its documentation page (`rules/<id>.md`, the single source for `rdsdiag explain`,
//! `docs/rules/` and the remedy in findings) and its check over the resolved model. Rules never
//! open files; they read the [`Model`].

mod common;
mod doc;
mod finding;
pub mod rules;

use serde::Serialize;

pub use doc::{RuleDoc, HEADINGS};
pub use finding::{Confidence, Evidence, EvidenceKind, Finding, Severity};

use crate::capture::Input;
use crate::catalog::sources::Status;
use crate::config::Settings;
use crate::eventlog::Event;
use crate::host::facts::HostFacts;
use crate::host::HostIdentity;
use crate::timeline::Timeline;

/// What rules read: the resolved layers of one capture.
pub struct Model<'a> {
    pub host: &'a HostIdentity,
    pub facts: &'a HostFacts,
    pub settings: &'a Settings,
    /// Relevant events, sorted by (time, file, record id). A timeline event's `input_index` points
    /// here; its `index` is its own position in `timeline.events`.
    pub events: &'a [Event],
    pub timeline: &'a Timeline,
    /// The inventory, to tell "no such event" from "that log was not provided".
    pub inputs: &'a [Input],
}

/// A rule's fixed metadata.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, part of the JSON contract.
    pub id: &'static str,
    pub severity: Severity,
    /// The kinds of evidence its findings may cite.
    pub evidence: &'static [EvidenceKind],
    /// The documentation page (Markdown with the fixed headings of [`HEADINGS`]).
    pub doc: &'static str,
}

impl RuleMeta {
    /// The parsed page. The registry meta-test guarantees it parses.
    pub fn parsed(&self) -> RuleDoc {
        RuleDoc::parse(self.doc).unwrap_or_else(|e| RuleDoc {
            id: self.id.to_string(),
            title: format!("(documentation does not parse: {e})"),
            sections: Vec::new(),
        })
    }

    /// A finding of this rule, with the title, remedy and links from its page.
    pub fn finding(
        &self,
        confidence: Confidence,
        explanation: String,
        evidence: Vec<Evidence>,
    ) -> Finding {
        let doc = self.parsed();
        Finding {
            id: self.id,
            severity: self.severity,
            confidence,
            title: title_of(self.doc),
            explanation,
            evidence,
            remedy: doc.remedy_steps(),
            links: links_of(self.doc),
        }
    }
}

/// The title from a page's first line, borrowed from the static page.
fn title_of(doc: &'static str) -> &'static str {
    doc.lines()
        .next()
        .and_then(|l| l.split_once(": "))
        .map(|(_, t)| t.trim())
        .unwrap_or("")
}

fn links_of(doc: &'static str) -> Vec<&'static str> {
    let Some(start) = doc.find("## References") else {
        return Vec::new();
    };
    doc[start..]
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')'))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| w.trim_end_matches(['.', ',']))
        .collect()
}

/// What a rule concluded about a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule does not apply (wrong role, nothing to check).
    NotApplicable,
    /// The evidence shows the problem is absent.
    Pass,
    /// The evidence cannot decide; says what is missing.
    Undecided(Vec<String>),
    Found(Vec<Finding>),
}

/// One diagnosis.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, model: &Model<'_>) -> Outcome;
}

/// The result of running every rule over one capture.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    /// Most important first: severity, then confidence, then id.
    pub findings: Vec<Finding>,
    /// What the evidence could not decide, per rule, so the reader knows what to collect.
    pub undecided: Vec<Undecided>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undecided {
    pub id: &'static str,
    pub missing: Vec<String>,
}

/// Run every registered rule.
pub fn diagnose(model: &Model<'_>) -> Diagnosis {
    run(rules::RULES, model)
}

/// Run the given rules (tests run one rule alone). A licensing rule whose own check finds nothing
/// still gets a finding (confidence `likely`) when the timeline holds disconnects whose licensing
/// reason names it (`rules/licensing_reasons.tsv`): a licensing disconnect is never left
/// unexplained.
pub fn run(rules: &[&dyn Rule], model: &Model<'_>) -> Diagnosis {
    let mut d = Diagnosis::default();
    for rule in rules {
        let outcome = match rule.check(model) {
            Outcome::Found(f) => Outcome::Found(f),
            other => rules::lic_reasons::reason_only(model, rule.meta())
                .map_or(other, |f| Outcome::Found(vec![f])),
        };
        match outcome {
            Outcome::Found(f) => {
                let (raised, held): (Vec<Finding>, Vec<Finding>) =
                    f.into_iter().partition(stands_alone_or_is_info);
                d.findings.extend(raised);
                if !held.is_empty() {
                    d.undecided.push(Undecided {
                        id: rule.meta().id,
                        missing: held.iter().map(held_back).collect(),
                    });
                }
            }
            Outcome::Undecided(missing) => d.undecided.push(Undecided {
                id: rule.meta().id,
                missing,
            }),
            Outcome::Pass | Outcome::NotApplicable => {}
        }
    }
    d.findings.sort_by(|a, b| {
        (b.severity, b.confidence, a.id, &a.explanation).cmp(&(
            a.severity,
            a.confidence,
            b.id,
            &b.explanation,
        ))
    });
    d.undecided.sort_by(|a, b| a.id.cmp(b.id));
    d
}

/// The status of an event (provider, canonical id): its catalogue row and its timeline role row,
/// UNCONFIRMED if either is (or if only a provider-wide row covers it).
pub fn event_status(provider: &str, event_id: u16) -> Status {
    let role = crate::timeline::roles::roles()
        .status_of(provider, event_id)
        .unwrap_or(Status::Confirmed);
    crate::catalog::events::catalog()
        .status(provider, event_id)
        .max(role)
}

/// Invariant: a finding of warning or error severity stands on at least one registry fact or one
/// event of a confirmed row; one built only on UNCONFIRMED events is held back (reported as
/// undecided). Findings that cite no evidence at all are left to their rule.
fn stands_alone_or_is_info(f: &Finding) -> bool {
    if f.severity < Severity::Warning || f.evidence.is_empty() {
        return true;
    }
    f.evidence.iter().any(|e| match e {
        Evidence::Registry { .. } => true,
        Evidence::Event {
            provider, event_id, ..
        } => event_status(provider, *event_id) == Status::Confirmed,
    })
}

/// What the undecided list says about a finding held back.
fn held_back(f: &Finding) -> String {
    let mut events: Vec<String> = f
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Event {
                provider, event_id, ..
            } => Some(format!(
                "{} {event_id}",
                crate::timeline::provider_short(provider)
            )),
            Evidence::Registry { .. } => None,
        })
        .collect();
    events.sort();
    events.dedup();
    format!(
        "only events whose meaning is UNCONFIRMED support it ({}): not raised",
        events.join(", ")
    )
}

/// Find a rule by id (case-insensitive).
pub fn rule(id: &str) -> Option<&'static dyn Rule> {
    rules::RULES
        .iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity, evidence: Vec<Evidence>) -> Finding {
        Finding {
            id: "T",
            severity,
            confidence: Confidence::Likely,
            title: "t",
            explanation: String::new(),
            evidence,
            remedy: Vec::new(),
            links: Vec::new(),
        }
    }

    fn event(provider: &str, event_id: u16) -> Evidence {
        Evidence::Event {
            time: String::new(),
            file: "f".into(),
            record_id: 1,
            provider: provider.into(),
            event_id,
            fact: String::new(),
        }
    }

    const CORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";

    #[test]
    fn a_warning_needs_a_confirmed_event_or_a_registry_fact() {
        // RdpCoreTS 227: its field meaning is UNCONFIRMED.
        assert_eq!(event_status(CORE, 227), Status::Unconfirmed);
        assert_eq!(event_status(CORE, 139), Status::Confirmed);
        assert_eq!(event_status("TermDD", 56), Status::Confirmed);
        // Only the provider-wide row covers it: no confirmed meaning.
        assert_eq!(event_status(CORE, 9999), Status::Unconfirmed);
        let unconfirmed = vec![event(CORE, 227), event(CORE, 9999)];
        assert!(!stands_alone_or_is_info(&finding(
            Severity::Warning,
            unconfirmed.clone()
        )));
        assert!(stands_alone_or_is_info(&finding(
            Severity::Info,
            unconfirmed.clone()
        )));
        let mut with_confirmed = unconfirmed.clone();
        with_confirmed.push(event("TermDD", 56));
        assert!(stands_alone_or_is_info(&finding(
            Severity::Error,
            with_confirmed
        )));
        let mut with_registry = unconfirmed;
        with_registry.push(Evidence::Registry {
            fact: "x".into(),
            provenance: None,
        });
        assert!(stands_alone_or_is_info(&finding(
            Severity::Warning,
            with_registry
        )));
        let held = finding(Severity::Warning, vec![event(CORE, 227)]);
        assert!(
            held_back(&held).contains("RdpCoreTS 227"),
            "{}",
            held_back(&held)
        );
    }
}
