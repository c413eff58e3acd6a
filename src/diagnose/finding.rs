//! The one `Finding` type every rule produces, with its evidence. Findings are data: rendering
//! lives in `report/`.

use serde::Serialize;

use crate::registry::RegProvenance;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// How sure the finding is: `confirmed` when the evidence proves it (reference §16 "proves"),
/// `likely` when it only suggests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Likely,
    Confirmed,
}

/// The kinds of evidence a rule may cite (declared in its metadata, checked by the test harness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Registry,
    Event,
}

/// One piece of evidence behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A registry value (or its absence) with where it was read.
    Registry {
        /// What the value says, in words (`LicensingMode = 4 (Per User)`).
        fact: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        provenance: Option<RegProvenance>,
    },
    /// An event record.
    Event {
        /// UTC, RFC 3339 with full precision.
        time: String,
        file: std::sync::Arc<str>,
        record_id: u64,
        provider: std::sync::Arc<str>,
        event_id: u16,
        /// What the event says, in our words.
        fact: String,
    },
}

impl Evidence {
    /// One line for people. `esc` escapes text that comes from the evidence (identity for plain
    /// text, Markdown escaping for tickets).
    pub fn line(&self, esc: &dyn Fn(&str) -> String) -> String {
        match self {
            Evidence::Registry { fact, provenance } => match provenance {
                Some(p) => format!(
                    "{} — {} {} {}",
                    esc(fact),
                    esc(&p.file),
                    esc(&format!("[{}]", p.hive)),
                    esc(&format!("{}\\{}", p.key, p.value))
                ),
                None => esc(fact),
            },
            Evidence::Event {
                time,
                file,
                record_id,
                provider,
                event_id,
                fact,
            } => format!(
                "{time} {} {event_id} (record {record_id}, {}): {}",
                esc(provider),
                esc(file),
                esc(fact)
            ),
        }
    }

    pub fn kind(&self) -> EvidenceKind {
        match self {
            Evidence::Registry { .. } => EvidenceKind::Registry,
            Evidence::Event { .. } => EvidenceKind::Event,
        }
    }
}

/// A diagnosis of one capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, part of the JSON contract (`RDS-LIC-NO-SERVER`).
    pub id: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: &'static str,
    /// Explanation specific to this capture: names the server, mode, times, counts.
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    /// Remedy steps (from the rule's documentation).
    pub remedy: Vec<String>,
    pub links: Vec<&'static str>,
}

impl Finding {
    /// `confirmed` or `likely`, for prose.
    pub fn confidence_word(&self) -> &'static str {
        match self.confidence {
            Confidence::Confirmed => "confirmed",
            Confidence::Likely => "likely",
        }
    }
}
