//! Licensing disconnect reasons as evidence in their own right: which rule a reason code names
//! (`licensing_reasons.tsv`, reference §16) and the finding of confidence `likely` that rule gets
//! when its own check found nothing but the timeline holds disconnects with that reason. The
//! finding says only the reason code was seen and which log would confirm the cause.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::Timestamp;

use super::lic_shared::{and_list, first_and_last, span, timeline_evidence};
use crate::catalog::reasons::CodeSpace;
use crate::catalog::settings::Refs;
use crate::catalog::table::{Key, Schema, TableError};
use crate::config::names::LICENSE_SERVERS;
use crate::diagnose::{Confidence, Finding, Model, RuleMeta};
use crate::timeline::{EventRef, Role};

const TABLE: &str = include_str!("licensing_reasons.tsv");

/// The configuration a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    ServersConfigured,
    NoServers,
    ServersUnknown,
}

/// One row of `licensing_reasons.tsv`.
#[derive(Debug, Clone)]
pub struct ReasonRule {
    pub space: CodeSpace,
    pub code: u32,
    pub when: When,
    pub rule: String,
    pub confirm: String,
}

static SCHEMA: Schema = Schema {
    table: "licensing_reasons.tsv",
    columns: &["space", "code", "when", "rule", "confirm", "src"],
    keys: &[Key {
        name: "row for reason and configuration",
        columns: &["space", "code", "when"],
    }],
};

/// Parse the table (strict: the embedded table is checked by this module's tests).
pub fn load(text: &str) -> Result<Vec<ReasonRule>, TableError> {
    let mut out = Vec::new();
    for row in SCHEMA.rows(text)? {
        let space = row.keyword(
            "space",
            &[("server", CodeSpace::Server), ("client", CodeSpace::Client)],
        )?;
        let code = row.parse("code", "a number")?;
        let when = row.keyword(
            "when",
            &[
                ("-", When::Always),
                ("servers-configured", When::ServersConfigured),
                ("no-servers", When::NoServers),
                ("servers-unknown", When::ServersUnknown),
            ],
        )?;
        let rule = row.str("rule");
        if !rule.starts_with("RDS-LIC-") {
            return Err(row.error("rule", format!("{rule:?} is not a licensing rule id")));
        }
        Refs::parse(row.str("src")).map_err(|m| row.error("src", m))?;
        out.push(ReasonRule {
            space,
            code,
            when,
            rule: rule.to_string(),
            confirm: row.str("confirm").to_string(),
        });
    }
    Ok(out)
}

/// The embedded table.
pub fn table() -> &'static [ReasonRule] {
    static ROWS: OnceLock<Vec<ReasonRule>> = OnceLock::new();
    ROWS.get_or_init(|| {
        load(TABLE).unwrap_or_else(|e| panic!("embedded licensing reasons table is invalid: {e}"))
    })
}

/// What the effective license server list says, in the table's terms.
fn servers_state(m: &Model<'_>) -> When {
    match m.setting(LICENSE_SERVERS) {
        None => When::ServersUnknown,
        Some(s) if s.is_unknown() => When::ServersUnknown,
        Some(s) => {
            let any = s
                .value
                .as_ref()
                .and_then(|v| v.as_list())
                .is_some_and(|l| l.iter().any(|n| !n.trim().is_empty()));
            if any {
                When::ServersConfigured
            } else {
                When::NoServers
            }
        }
    }
}

/// The rule row a reason names on this host, if any.
fn row_for(space: CodeSpace, code: u32, servers: When) -> Option<&'static ReasonRule> {
    table().iter().find(|r| {
        r.space == space
            && r.code == code
            && matches!(r.when, w if w == When::Always || w == servers)
    })
}

/// One disconnect carrying a licensing reason on this host.
#[derive(Clone)]
struct Hit {
    time: Timestamp,
    code: u32,
    reason: String,
    user: Option<String>,
    evidence: EventRef,
    confirm: &'static str,
}

/// The disconnects of this host (sessions and RDP client events) whose licensing reason names
/// `rule`.
fn hits(m: &Model<'_>, rule: &str) -> Vec<Hit> {
    let servers = servers_state(m);
    let t = m.timeline;
    let mut out = Vec::new();
    for s in m.own_sessions() {
        for d in s.disconnects.iter().filter(|d| d.licensing_reason) {
            let (Some(code), Some(carrier)) = (d.reason_code, d.reason_event(&t.events)) else {
                continue;
            };
            if let Some(row) = row_for(CodeSpace::Server, code, servers).filter(|x| x.rule == rule)
            {
                out.push(Hit {
                    time: d.time,
                    code,
                    reason: d.reason.clone().unwrap_or_else(|| code.to_string()),
                    user: s.user.clone(),
                    evidence: carrier.clone(),
                    confirm: &row.confirm,
                });
            }
        }
    }
    for e in t
        .events_with_role(Role::ClientDisconnect)
        .filter(|e| e.licensing_reason && !e.foreign_computer)
    {
        let Some(code) = e.reason_code else { continue };
        if let Some(row) = row_for(CodeSpace::Client, code, servers).filter(|x| x.rule == rule) {
            out.push(Hit {
                time: e.time,
                code,
                reason: e.reason.clone().unwrap_or_else(|| code.to_string()),
                user: e.user.clone(),
                evidence: e.event_ref(),
                confirm: &row.confirm,
            });
        }
    }
    out.sort_by(|a, b| (a.time, &a.evidence).cmp(&(b.time, &b.evidence)));
    out
}

/// Disconnects cited as evidence.
const CITED: usize = 6;

/// The finding of `meta`'s rule from licensing disconnect reasons alone, when the timeline holds
/// disconnects whose reason names it.
pub fn reason_only(m: &Model<'_>, meta: &'static RuleMeta) -> Option<Finding> {
    let hits = hits(m, meta.id);
    if hits.is_empty() {
        return None;
    }
    let mut by_reason: BTreeMap<u32, (&str, usize)> = BTreeMap::new();
    let mut confirm: Vec<String> = Vec::new();
    let mut users: Vec<String> = Vec::new();
    for h in &hits {
        by_reason.entry(h.code).or_insert((&h.reason, 0)).1 += 1;
        if !confirm.iter().any(|c| c == h.confirm) {
            confirm.push(h.confirm.to_string());
        }
        if let Some(u) = &h.user {
            if !users.iter().any(|x| x.eq_ignore_ascii_case(u)) {
                users.push(u.clone());
            }
        }
    }
    let reasons: Vec<String> = by_reason
        .values()
        .map(|(r, n)| {
            if *n == 1 {
                format!("reason {r}")
            } else {
                format!("reason {r} (×{n})")
            }
        })
        .collect();
    let times: Vec<Timestamp> = hits.iter().map(|h| h.time).collect();
    let who = match users.len() {
        0 => String::new(),
        1..=5 => format!(" (users: {})", and_list(&users)),
        n => format!(" ({n} users, among them {})", and_list(&users[..5])),
    };
    let explanation = format!(
        "Sessions were disconnected with a licensing reason {}{who}: {}. Only the reason code was seen; no other event or setting in this evidence shows the cause. {} would confirm it.",
        span(&times),
        reasons.join("; "),
        capitalise(&and_list(&confirm)),
    );
    let evidence = first_and_last(&hits, CITED)
        .into_iter()
        .map(|h| timeline_evidence(m, &h.evidence, "licensing disconnect reason"))
        .collect();
    Some(meta.finding(Confidence::Likely, explanation, evidence))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads_and_covers_every_licensing_reason() {
        let rows = load(TABLE).expect("table parses");
        let ids: Vec<&str> = super::super::RULES.iter().map(|r| r.meta().id).collect();
        for r in &rows {
            assert!(
                ids.contains(&r.rule.as_str()),
                "{} is not a registered rule",
                r.rule
            );
        }
        // Every server licensing code names a rule whatever the configuration says.
        for code in 256..=267u32 {
            for servers in [
                When::ServersConfigured,
                When::NoServers,
                When::ServersUnknown,
            ] {
                assert!(
                    row_for(CodeSpace::Server, code, servers).is_some(),
                    "server reason {code} with {servers:?} names no rule"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_rows() {
        let head = "space\tcode\twhen\trule\tconfirm\tsrc\n";
        assert!(load(&format!("{head}server\t258\t-\tRDS-LIC-NO-CALS\tx\tS26\n")).is_ok());
        assert!(load(&format!("{head}server\tx\t-\tRDS-LIC-NO-CALS\tx\tS26\n")).is_err());
        assert!(load(&format!(
            "{head}server\t258\tsometimes\tRDS-LIC-NO-CALS\tx\tS26\n"
        ))
        .is_err());
        assert!(load(&format!("{head}server\t258\t-\tRDS-CONN-X\tx\tS26\n")).is_err());
        assert!(load(&format!("{head}server\t258\t-\tRDS-LIC-NO-CALS\tx\tS99\n")).is_err());
    }
}
