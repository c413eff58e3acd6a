//! Helpers of the licensing rules (`lic_*.rs`): the session-host gate, the events each rule reads
//! (from `licensing_evidence.tsv`, reference §16), whether the log that would hold them was
//! provided, and short wording for times and counts. Nothing here decides a diagnosis.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jiff::Timestamp;

use crate::catalog::events::catalog;
use crate::catalog::settings::{Refs, SourceKind};
use crate::catalog::sources::Status;
use crate::catalog::table::{Key, Schema, TableError};
use crate::diagnose::{Evidence, Model, Outcome};
use crate::eventlog::{Event, RCM_PROVIDER};
use crate::host::facts::{RoleKind, Tri};
use crate::timeline::EventRef;

/// The license server's event provider (reference §10.8).
pub const LS_PROVIDER: &str = "Microsoft-Windows-TerminalServices-Licensing";
const RCM_ADMIN: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin";
/// First build whose RCM licensing events go to the Admin channel rather than System (§10.3).
const ADMIN_CHANNEL_FROM_BUILD: u32 = 9200;

const TABLE: &str = include_str!("licensing_evidence.tsv");

/// What an event means for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    Proves,
    Suggests,
    Contradicts,
}

/// One row of `licensing_evidence.tsv`.
#[derive(Debug, Clone)]
pub struct EvidenceRow {
    pub rule: String,
    pub provider: &'static str,
    pub event_id: u16,
    /// As the table says, except that an UNCONFIRMED row (or event) is read as `suggests`: it
    /// never proves alone.
    pub strength: Strength,
}

/// The declaration of `licensing_evidence.tsv`: a rule reads an event with one strength.
static SCHEMA: Schema = Schema {
    table: "licensing_evidence.tsv",
    columns: &["rule", "provider", "event_id", "strength", "src"],
    keys: &[Key {
        name: "row for rule and event",
        columns: &["rule", "provider", "event_id"],
    }],
};

/// Parse the table (strict: the embedded table is checked by this module's test).
pub fn load(text: &str) -> Result<Vec<EvidenceRow>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        let provider = row.keyword("provider", &[("RCM", RCM_PROVIDER), ("LS", LS_PROVIDER)])?;
        let event_id = row.parse("event_id", "a number")?;
        let strength = row.keyword(
            "strength",
            &[
                ("proves", Strength::Proves),
                ("suggests", Strength::Suggests),
                ("contradicts", Strength::Contradicts),
            ],
        )?;
        // Every row names its source; an UNCONFIRMED row (or event) never proves alone.
        let src = Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?;
        let status = src.status().max(catalog().status(provider, event_id));
        let strength = match (strength, status) {
            (Strength::Proves, Status::Unconfirmed) => Strength::Suggests,
            (s, _) => s,
        };
        out.push(EvidenceRow {
            rule: row.str("rule").to_string(),
            provider,
            event_id,
            strength,
        });
    }
    Ok(out)
}

fn table() -> &'static [EvidenceRow] {
    static ROWS: OnceLock<Vec<EvidenceRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load(TABLE).unwrap_or_else(|e| panic!("embedded licensing evidence table is invalid: {e}"))
    })
}

/// The events of the capture that `rule` reads with `strength`, in time order.
pub fn events<'m>(m: &'m Model<'_>, rule: &str, strength: Strength) -> Vec<&'m Event> {
    let rows: Vec<&EvidenceRow> = table()
        .iter()
        .filter(|r| r.rule == rule && r.strength == strength)
        .collect();
    m.own_events()
        .filter(|e| {
            rows.iter()
                .any(|r| r.event_id == e.event_id && e.provider.eq_ignore_ascii_case(r.provider))
        })
        .collect()
}

/// Whether the log that would hold the session host's RCM licensing events was provided (the
/// Admin channel on 2012 and later, the System log before; either when the version is unknown).
pub fn rcm_log_provided(m: &Model<'_>) -> bool {
    let old = m
        .facts
        .windows_version
        .build
        .is_none_or(|b| b < ADMIN_CHANNEL_FROM_BUILD);
    m.has_channel(RCM_ADMIN) || (old && m.has_channel("System"))
}

/// What is missing when the RCM licensing log was not provided.
pub fn rcm_log_missing() -> String {
    "RemoteConnectionManager Admin log (Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx) not provided: licensing events unknown".into()
}

/// Gate for rules that read the session host's configuration: go on a session host, not
/// applicable elsewhere, undecided (with why) when the role cannot be told.
pub fn session_host_gate(m: &Model<'_>) -> Result<(), Outcome> {
    match m.role(RoleKind::SessionHost) {
        Tri::Yes => Ok(()),
        Tri::No => Err(Outcome::NotApplicable),
        Tri::Unknown => Err(Outcome::Undecided(role_unknown(m))),
    }
}

/// Gate for rules that read the session host's licensing events: go when the host may be a
/// session host and there are events to judge; without events, pass when the log was provided
/// and say what is missing when it was not.
pub fn event_gate(m: &Model<'_>, found_any: bool) -> Result<(), Outcome> {
    match m.role(RoleKind::SessionHost) {
        Tri::No => Err(Outcome::NotApplicable),
        _ if found_any => Ok(()),
        Tri::Yes if rcm_log_provided(m) => Err(Outcome::Pass),
        Tri::Yes => Err(Outcome::Undecided(vec![rcm_log_missing()])),
        Tri::Unknown => Err(Outcome::NotApplicable),
    }
}

/// Why the session-host role is unknown.
pub fn role_unknown(m: &Model<'_>) -> Vec<String> {
    let why = m
        .facts
        .role(RoleKind::SessionHost)
        .map(|r| r.unknown_because.join("; "))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "no signal could be read".into());
    vec![format!("RD Session Host role unknown ({why})")]
}

/// Disconnect reason classes (`reasons.tsv`) that explain a disconnect without licensing: the
/// user, an administrator, a session time limit, a reconnect from elsewhere (reference §11).
const NOT_LICENSING: [&str; 4] = ["user", "admin", "time-limit", "reconnect"];

/// The class of a server-side reason code when it explains a disconnect without licensing.
pub fn explained_otherwise(code: Option<u32>) -> Option<&'static str> {
    let class =
        crate::catalog::reasons::decode(crate::catalog::reasons::CodeSpace::Server, code?).class();
    NOT_LICENSING.contains(&class).then_some(class)
}

/// A time for prose: `2024-03-04 08:02:12 UTC`.
pub fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `once at T`, or `N times between A and B`.
pub fn span(times: &[Timestamp]) -> String {
    match (times.first(), times.last()) {
        (Some(a), Some(b)) if times.len() > 1 => {
            format!(
                "{} times between {} and {}",
                times.len(),
                when(*a),
                when(*b)
            )
        }
        (Some(a), _) => format!("once at {}", when(*a)),
        _ => "never".into(),
    }
}

/// At most `max` items: the first `max - 1` and the last (so the span of the problem shows).
pub fn first_and_last<T: Clone>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max || max < 2 {
        return items.iter().take(max.max(1)).cloned().collect();
    }
    let mut out: Vec<T> = items[..max - 1].to_vec();
    out.extend(items.last().cloned());
    out
}

pub use crate::diagnose::common::ref_evidence;

/// Evidence for an event the timeline cites, in short words: `LSM 40 disconnect-reason, session 3,
/// reason 257 (0x101) LICENSE_NO_LICENSE_SERVER: … (context)`.
pub fn timeline_evidence(m: &Model<'_>, r: &EventRef, context: &str) -> Evidence {
    let mut what = format!(
        "{} {}",
        crate::timeline::provider_short(&r.provider),
        r.event_id
    );
    if let Some(e) = m.timeline.events.get(r.index) {
        what.push(' ');
        what.push_str(e.role.name());
        if let Some(u) = &e.user {
            what.push_str(&format!(" of {u}"));
        }
        if let Some(s) = e.session {
            what.push_str(&format!(", session {s}"));
        }
        if let Some(p) = e.fields.get("Param1") {
            what.push_str(&format!(", {p}"));
        }
        if let Some(reason) = &e.reason {
            what.push_str(&format!(", reason {reason}"));
        }
    }
    ref_evidence(r, format!("{what} ({context})"))
}

/// The distinct values of `Param1` (license server names), case-insensitively, in first-seen
/// order.
pub fn param1_values(events: &[&Event]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        if let Some(p) = e.field("Param1").map(str::trim).filter(|p| !p.is_empty()) {
            if seen.insert(p.to_ascii_lowercase()) {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// A precedence layer in prose (`Group Policy`, `Server Manager`).
pub fn source_words(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Policy => "Group Policy",
        SourceKind::ServerManager => "Server Manager",
        SourceKind::Legacy => "a legacy location",
        SourceKind::Listener => "the RDP-Tcp listener",
        SourceKind::SecurityPolicy => "a security policy",
        SourceKind::TerminalServer => "the Terminal Server key",
        SourceKind::Default => "the built-in default",
    }
}

/// Join words with commas and a final "and".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads_and_names_rules() {
        let rows = load(TABLE).expect("table parses");
        assert!(rows.iter().any(|r| r.rule == "RDS-LIC-SERVER-UNREACHABLE"
            && r.event_id == 1131
            && r.strength == Strength::Proves));
        for r in &rows {
            assert!(r.rule.starts_with("RDS-LIC-"), "{}", r.rule);
        }
    }

    #[test]
    fn rejects_bad_rows() {
        let head = "rule\tprovider\tevent_id\tstrength\tsrc\n";
        assert!(load(&format!("{head}R\tXX\t1\tproves\tS1\n")).is_err());
        assert!(load(&format!("{head}R\tRCM\tx\tproves\tS1\n")).is_err());
        assert!(load(&format!("{head}R\tRCM\t1\tmaybe\tS1\n")).is_err());
        let row = "R\tRCM\t1\tproves\tS01\n";
        assert!(load(&format!("{head}{row}")).is_ok());
        let e = load(&format!("{head}{row}{}", row.replace("proves", "suggests"))).unwrap_err();
        assert!(
            matches!(
                e,
                TableError::Duplicate {
                    line: 3,
                    first: 2,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn first_and_last_keeps_the_span() {
        assert_eq!(first_and_last(&[1, 2, 3, 4, 5], 3), vec![1, 2, 5]);
        assert_eq!(first_and_last(&[1, 2], 3), vec![1, 2]);
    }
}
