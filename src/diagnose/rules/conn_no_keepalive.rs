//! RDS-CONN-NO-KEEPALIVE: keep-alive is not enabled and users got a new session while their
//! previous one stayed active (reference D12, seed 003 "client disconnects and cannot reconnect to
//! the same session").

use crate::catalog::reasons::{self, CodeSpace};
use crate::config::{names, SettingState};
use crate::diagnose::common::{setting_evidence, unknown_words};
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::host::facts::{RoleKind, Tri};
use crate::timeline::{EventRef, Pattern, PatternKind};

use super::conn_shared::{host_name, ref_evidence};

pub struct NoKeepAlive;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-NO-KEEPALIVE",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Registry, EvidenceKind::Event],
    doc: include_str!("RDS-CONN-NO-KEEPALIVE.md"),
};

/// The machine policy key (reference `TSPOL`).
const TSPOL: &str = r"Policies\Microsoft\Windows NT\Terminal Services";
const LSM_CHANNEL: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
/// How many occurrences the explanation spells out.
const MAX_NAMED: usize = 5;

/// One occurrence in words: who, which sessions, when, and what became of the old one.
fn describe(m: &Model<'_>, p: &Pattern) -> String {
    let session = |key: Option<&String>| key.and_then(|k| m.timeline.session(k));
    let (old, new) = (session(p.sessions.first()), session(p.sessions.get(1)));
    let user = p.user.as_deref().unwrap_or("a user");
    let mut out = match (old, new) {
        (Some(o), Some(n)) => format!(
            "{user} got session {} at {} while session {} (connected since {}{}) was still active",
            n.session_id,
            p.time,
            o.session_id,
            o.start,
            o.addresses
                .first()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default()
        ),
        _ => format!("{} ({})", p.summary, p.time),
    };
    match p.reason_code {
        Some(code) => out.push_str(&format!(
            "; the old session was disconnected later with reason {code} ({})",
            reasons::decode(CodeSpace::Server, code).meaning()
        )),
        None if old.is_some_and(|o| o.disconnects.is_empty() && o.logoff.is_none()) => {
            out.push_str("; the old session never disconnected in the evidence")
        }
        None => {}
    }
    out
}

impl Rule for NoKeepAlive {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let patterns: Vec<_> = m
            .timeline
            .patterns_of(PatternKind::CannotReconnect)
            .collect();
        // Without the symptom the rule only concerns session hosts.
        if patterns.is_empty() && m.role(RoleKind::SessionHost) == Tri::No {
            return Outcome::NotApplicable;
        }
        let Some(ka) = m.setting(names::KEEP_ALIVE) else {
            return Outcome::NotApplicable;
        };
        if ka.is_unknown() {
            return Outcome::Undecided(unknown_words(ka));
        }
        if ka.decided_value().and_then(|v| v.as_flag()) == Some(true) {
            return Outcome::Pass;
        }
        if patterns.is_empty() {
            if !m.has_channel(LSM_CHANNEL) {
                return Outcome::Undecided(vec![format!(
                    "keep-alive is not enabled ({}), but the {LSM_CHANNEL} log is not provided: whether sessions stayed active while users got new ones cannot be seen",
                    ka.value_display
                )]);
            }
            return Outcome::Pass;
        }
        let host = host_name(m, "the session host");
        let mut users: Vec<&str> = patterns.iter().filter_map(|p| p.user.as_deref()).collect();
        users.sort_unstable_by_key(|u| u.to_ascii_lowercase());
        users.dedup_by_key(|u| u.to_ascii_lowercase());
        let named: Vec<String> = patterns
            .iter()
            .take(MAX_NAMED)
            .map(|p| describe(m, p))
            .collect();
        let more = if patterns.len() > MAX_NAMED {
            format!("; and {} more", patterns.len() - MAX_NAMED)
        } else {
            String::new()
        };
        let listener = ka
            .related
            .iter()
            .map(|r| format!(" The listener value {} is set but does not enable keep-alive without the policy.", r.display))
            .collect::<String>();
        let source = match ka.state {
            SettingState::NotSet => {
                "the policy \"Configure keep-alive connection interval\" is not configured"
                    .to_string()
            }
            _ => format!("the keep-alive policy is set to {}", ka.value_display),
        };
        let explanation = format!(
            "On {host} {source}, so the server does not probe whether clients are still there. {n} time(s) a user got a new session while the previous one was still active ({u} user(s): {users}): {named}{more}.{listener} Users see \"because of a security error, the client could not connect\" or land in a new session instead of their old one.",
            n = patterns.len(),
            u = users.len(),
            users = users.join(", "),
            named = named.join("; "),
        );
        let mut evidence = if ka.state == SettingState::NotSet {
            vec![Evidence::Registry {
                fact: format!("KeepAliveEnable not set under SOFTWARE\\{TSPOL}: the keep-alive policy is not configured"),
                provenance: None,
            }]
        } else {
            setting_evidence(ka)
        };
        evidence.extend(ka.related.iter().map(|r| Evidence::Registry {
            fact: format!(
                "{} (listener value; does not enable keep-alive by itself)",
                r.display
            ),
            provenance: Some(r.provenance.clone()),
        }));
        let mut refs: Vec<&EventRef> = patterns.iter().flat_map(|p| p.evidence.iter()).collect();
        refs.sort();
        refs.dedup();
        evidence.extend(refs.into_iter().map(|r| ref_evidence(m, r)));
        Outcome::Found(vec![META.finding(
            Confidence::Likely,
            explanation,
            evidence,
        )])
    }
}
