//! RDS-LIC-NO-CALS: the license server was reached but had no suitable licence — none of the
//! requested type left or installed (LS 21/22), not activated (LS 18), or too old for the host
//! (RCM 1132), reference §16 D4; states the host's licensing mode and version beside the CAL type.

use super::lic_shared::{self, and_list, first_and_last, source_words, span, Strength};
use crate::config::names::LICENSING_MODE;
use crate::diagnose::common::{event_evidence, setting_evidence};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::host::facts::{RoleKind, Tri};

pub struct NoCals;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-NO-CALS",
    severity: Severity::Error,
    evidence: &[EvidenceKind::Event, EvidenceKind::Registry],
    doc: include_str!("RDS-LIC-NO-CALS.md"),
};

/// Events cited per kind.
const PER_KIND: usize = 3;

fn field(e: &Event, name: &str) -> String {
    e.field(name)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("?")
        .to_string()
}

/// Distinct values of one field, in first-seen order.
fn distinct(evs: &[&Event], name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in evs {
        let v = field(e, name);
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    out
}

impl Rule for NoCals {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let rdsh = m.role(RoleKind::SessionHost);
        let ls = m.role(RoleKind::LicenseServer);
        if rdsh == Tri::No && ls == Tri::No {
            return Outcome::NotApplicable;
        }
        let proving = lic_shared::events(m, META.id, Strength::Proves);
        let suggesting = lic_shared::events(m, META.id, Strength::Suggests);
        if proving.is_empty() {
            return without_proof(m, rdsh, ls);
        }
        let of = |id: u16, provider: &str| -> Vec<&Event> {
            proving
                .iter()
                .copied()
                .filter(|e| e.event_id == id && e.provider.eq_ignore_ascii_case(provider))
                .collect()
        };
        let ls_p = lic_shared::LS_PROVIDER;
        let e21 = of(21, ls_p);
        let mut found = Found::default();
        found.no_permanent_licences_left(&e21);
        found.no_licences_installed(&of(22, ls_p));
        found.not_activated(&of(18, ls_p));
        found.version_not_supported(m, &of(1132, crate::eventlog::RCM_PROVIDER));
        let Found {
            lines,
            mut evidence,
        } = found;
        let mut explanation = format!(
            "A license server was reached but had no suitable licence: {}.",
            lines.join("; ")
        );
        if rdsh == Tri::Yes {
            explain_mode(m, &e21, &mut explanation, &mut evidence);
        }
        if !suggesting.is_empty() {
            let t: Vec<_> = suggesting.iter().map(|e| e.time).collect();
            explanation.push_str(&format!(
                " Clients were also disconnected because their temporary licence expired (RemoteConnectionManager event 1011, {}).",
                span(&t)
            ));
            for e in first_and_last(&suggesting, 2) {
                evidence.push(event_evidence(e, "RCM 1011: temporary licence expired"));
            }
        }
        let no_cal = m
            .timeline
            .sessions
            .iter()
            .flat_map(|s| &s.disconnects)
            .filter(|d| d.reason_code == Some(258))
            .count();
        if no_cal > 0 {
            explanation.push_str(&format!(
                " {no_cal} disconnect(s) in the timeline carry reason 258 (no licence available)."
            ));
        }
        Outcome::Found(vec![META.finding(
            Confidence::Confirmed,
            explanation,
            evidence,
        )])
    }
}

/// No proving event: a pass when the logs that would hold them were provided, else undecided
/// with what is missing.
fn without_proof(m: &Model<'_>, rdsh: Tri, ls: Tri) -> Outcome {
    let mut missing = Vec::new();
    if ls == Tri::Yes && !m.has_channel("System") {
        missing.push(
            "System log of the license server not provided: license server events 18/21/22 unknown"
                .to_string(),
        );
    }
    if rdsh == Tri::Yes && !lic_shared::rcm_log_provided(m) {
        missing.push(lic_shared::rcm_log_missing());
    }
    if missing.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Undecided(missing)
    }
}

/// What the proving events say: one line per kind of event, and the events cited.
#[derive(Default)]
struct Found {
    lines: Vec<String>,
    evidence: Vec<Evidence>,
}

impl Found {
    /// One kind of proving event: the line (given the span of its times) and up to
    /// [`PER_KIND`] events cited, each with its fact.
    fn add(
        &mut self,
        evs: &[&Event],
        line: impl FnOnce(String) -> String,
        fact: impl Fn(&Event) -> String,
    ) {
        if evs.is_empty() {
            return;
        }
        let t: Vec<_> = evs.iter().map(|e| e.time).collect();
        self.lines.push(line(span(&t)));
        for e in first_and_last(evs, PER_KIND) {
            self.evidence.push(event_evidence(e, fact(e)));
        }
    }

    /// License server event 21: no permanent licences of the requested type left.
    fn no_permanent_licences_left(&mut self, e21: &[&Event]) {
        self.add(
            e21,
            |when| format!(
                "license server {} had no permanent licences of type {} left for session host(s) {} (license server event 21, {when}): the CALs of that type are used up, or the installed CALs are of the other type than the hosts' licensing mode",
                and_list(&distinct(e21, "1")),
                and_list(&distinct(e21, "2")),
                and_list(&distinct(e21, "3")),
            ),
            |e| format!(
                "LS 21: no permanent licences of type {} for host {}",
                field(e, "2"),
                field(e, "3")
            ),
        );
    }

    /// License server event 22: no licences installed for the requested product.
    fn no_licences_installed(&mut self, e22: &[&Event]) {
        self.add(
            e22,
            |when| format!(
                "license server {} has no licences installed for {} and could not issue to {} (license server event 22, {when}): the CAL version or product is missing",
                and_list(&distinct(e22, "1")),
                and_list(&distinct(e22, "2")),
                and_list(&distinct(e22, "3")),
            ),
            |e| format!(
                "LS 22: no licences installed for {}; cannot issue to {}",
                field(e, "2"),
                field(e, "3")
            ),
        );
    }

    /// License server event 18: the server is not activated.
    fn not_activated(&mut self, e18: &[&Event]) {
        self.add(
            e18,
            |when| format!(
                "license server {} is not activated and issues only temporary licences (license server event 18, {when})",
                and_list(&distinct(e18, "1")),
            ),
            |e| format!("LS 18: license server {} is not activated", field(e, "1")),
        );
    }

    /// RCM event 1132: the license server does not support this host's version.
    fn version_not_supported(&mut self, m: &Model<'_>, e1132: &[&Event]) {
        let version =
            m.facts.windows_version.name.clone().unwrap_or_else(|| {
                "this host's version (unknown: SOFTWARE hive not provided)".into()
            });
        self.add(
            e1132,
            |when| format!(
                "license server {} does not support {version} (RemoteConnectionManager event 1132, {when}): the license server and its CALs must be at least the session host's version",
                and_list(&distinct(e1132, "Param1")),
            ),
            |e| format!(
                "RCM 1132: license server {} does not support this host's version",
                field(e, "Param1")
            ),
        );
    }
}

/// The session host's licensing mode beside the CAL type, and a mismatch with the type the
/// license server was asked for (event 21).
fn explain_mode(
    m: &Model<'_>,
    e21: &[&Event],
    explanation: &mut String,
    evidence: &mut Vec<Evidence>,
) {
    let Some(s) = m
        .setting(LICENSING_MODE)
        .filter(|s| s.decided_value().is_some())
    else {
        return;
    };
    explanation.push_str(&format!(
        " This session host licenses {} (from {}); the CALs installed on the license server must be of that type.",
        s.value_display,
        s.source.map_or("an unknown source", source_words)
    ));
    let other = match s.decided_value().and_then(|v| v.as_u64()) {
        Some(2) => Some("per user"),
        Some(4) => Some("per device"),
        _ => None,
    };
    let requested = distinct(e21, "2").join(" ").to_ascii_lowercase();
    if let Some(o) = other.filter(|o| requested.contains(o)) {
        explanation.push_str(&format!(
            " The license server was asked for {o} licences, which does not match this host's mode: check which mode the requesting hosts really use."
        ));
    }
    evidence.extend(setting_evidence(s));
}
