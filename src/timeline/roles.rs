//! What each event does in a session timeline (logon, disconnect, licensing problem, security
//! error…) and which of its fields hold the session id, user, client address and reason code,
//! loaded strictly from `roles.tsv` so the correlation logic stays free of event IDs.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::catalog::reasons::CodeSpace;
use crate::catalog::sources::{Refs, Status};
use crate::catalog::table::{Key, Row, Schema, TableError};
use crate::eventlog::Event;

/// The embedded role table.
pub const ROLES_TSV: &str = include_str!("roles.tsv");

/// The declaration of `roles.tsv`: its columns in order and its key.
pub static SCHEMA: Schema = Schema {
    table: "roles.tsv",
    columns: &[
        "provider",
        "event_id",
        "role",
        "session",
        "user",
        "address",
        "reason",
        "reason_space",
        "when",
        "source",
    ],
    keys: &[Key {
        name: "row for provider and event",
        columns: &["provider", "event_id"],
    }],
};

/// The part an event plays in the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Logon,
    ShellStart,
    Logoff,
    Disconnect,
    Reconnect,
    DisconnectedBy,
    DisconnectReason,
    ArbitrationBegin,
    ArbitrationEnd,
    SessionState,
    TimeLimitLogoff,
    TimeLimitDisconnect,
    Authenticated,
    LogonAudit,
    WindowStationReconnect,
    WindowStationDisconnect,
    AuthFailure,
    Connection,
    ProtocolReason,
    ClientDisconnect,
    Licensing,
    SecurityError,
    Service,
    /// Not in the role table (still listed in the timeline).
    Other,
}

impl Role {
    /// Every role with its name in `roles.tsv` and in output.
    pub const ALL: [(Role, &'static str); 24] = [
        (Role::Logon, "logon"),
        (Role::ShellStart, "shell-start"),
        (Role::Logoff, "logoff"),
        (Role::Disconnect, "disconnect"),
        (Role::Reconnect, "reconnect"),
        (Role::DisconnectedBy, "disconnected-by"),
        (Role::DisconnectReason, "disconnect-reason"),
        (Role::ArbitrationBegin, "arbitration-begin"),
        (Role::ArbitrationEnd, "arbitration-end"),
        (Role::SessionState, "session-state"),
        (Role::TimeLimitLogoff, "time-limit-logoff"),
        (Role::TimeLimitDisconnect, "time-limit-disconnect"),
        (Role::Authenticated, "authenticated"),
        (Role::LogonAudit, "logon-audit"),
        (Role::WindowStationReconnect, "window-station-reconnect"),
        (Role::WindowStationDisconnect, "window-station-disconnect"),
        (Role::AuthFailure, "auth-failure"),
        (Role::Connection, "connection"),
        (Role::ProtocolReason, "protocol-reason"),
        (Role::ClientDisconnect, "client-disconnect"),
        (Role::Licensing, "licensing"),
        (Role::SecurityError, "security-error"),
        (Role::Service, "service"),
        (Role::Other, "other"),
    ];

    pub fn name(self) -> &'static str {
        Role::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("other", |(_, n)| n)
    }

    fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .iter()
            .find(|(r, n)| *n == s && *r != Role::Other)
            .map(|(r, _)| *r)
    }

    /// Roles that belong to a session by its id (LSM and RCM session events).
    pub fn is_session_scoped(self) -> bool {
        matches!(
            self,
            Role::Logon
                | Role::ShellStart
                | Role::Logoff
                | Role::Disconnect
                | Role::Reconnect
                | Role::DisconnectedBy
                | Role::DisconnectReason
                | Role::ArbitrationBegin
                | Role::ArbitrationEnd
                | Role::SessionState
                | Role::TimeLimitLogoff
                | Role::TimeLimitDisconnect
        )
    }
}

/// Where a value lives in an event: one field, or `domain\user` from two fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    One(String),
    Joined(String, String),
}

impl FieldRef {
    /// A cell that names a field (`-` is handled by the caller).
    fn parse(s: &str) -> FieldRef {
        match s.split_once('\\') {
            Some((a, b)) => FieldRef::Joined(a.to_string(), b.to_string()),
            None => FieldRef::One(s.to_string()),
        }
    }

    /// The value in `event`, trimmed; empty and `-` values count as absent.
    pub fn get(&self, event: &Event) -> Option<String> {
        let val = |n: &str| {
            event
                .field(n)
                .map(str::trim)
                .filter(|v| !v.is_empty() && *v != "-")
                .map(str::to_string)
        };
        match self {
            FieldRef::One(n) => val(n),
            FieldRef::Joined(a, b) => match (val(a), val(b)) {
                (Some(a), Some(b)) => Some(format!("{a}\\{b}")),
                (None, Some(b)) => Some(b),
                (Some(_), None) | (None, None) => None,
            },
        }
    }
}

/// One condition of the `when` column on a field of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `Field=a|b`: the value is one of the list.
    In(String, Vec<String>),
    /// `Field!=a|b`: the field is present and its value is none of the list (e.g. benign codes).
    NotIn(String, Vec<String>),
    /// `Field>=n`: the value is a number at least `n` (e.g. an HRESULT with the failure bit,
    /// `>=0x80000000`).
    AtLeast(String, u64),
}

/// A number as events write it: decimal or `0x` hexadecimal.
fn number(s: &str) -> Option<u64> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Two values are the same: numerically when both are numbers (`0x80004001` = `2147500033`),
/// else as text ignoring ASCII case.
fn same(a: &str, b: &str) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

impl Cond {
    /// Parse `Field=a|b`, `Field!=a|b` or `Field>=n`.
    fn parse(text: &str) -> Result<Cond, String> {
        let list =
            |v: &str| -> Vec<String> { v.split('|').map(|x| x.trim().to_string()).collect() };
        let bad = || format!("{text:?} is not Field=a|b, Field!=a|b or Field>=n");
        let (cond, field) = if let Some((f, v)) = text.split_once("!=") {
            (Cond::NotIn(f.trim().to_string(), list(v)), f)
        } else if let Some((f, v)) = text.split_once(">=") {
            (
                Cond::AtLeast(f.trim().to_string(), number(v).ok_or_else(bad)?),
                f,
            )
        } else if let Some((f, v)) = text.split_once('=') {
            (Cond::In(f.trim().to_string(), list(v)), f)
        } else {
            return Err(bad());
        };
        let empty_value = match &cond {
            Cond::In(_, v) | Cond::NotIn(_, v) => v.iter().any(String::is_empty),
            Cond::AtLeast(..) => false,
        };
        if field.trim().is_empty() || empty_value {
            return Err(bad());
        }
        Ok(cond)
    }

    /// Whether `event` meets the condition (an absent field never does).
    pub fn holds(&self, event: &Event) -> bool {
        match self {
            Cond::In(f, vals) => event
                .field(f)
                .is_some_and(|x| vals.iter().any(|v| same(x, v))),
            Cond::NotIn(f, vals) => event
                .field(f)
                .is_some_and(|x| !vals.iter().any(|v| same(x, v))),
            Cond::AtLeast(f, n) => event.field(f).and_then(number).is_some_and(|x| x >= *n),
        }
    }
}

/// One row of the role table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    pub provider: String,
    pub event_id: u16,
    pub role: Role,
    pub session: Option<FieldRef>,
    pub user: Option<FieldRef>,
    pub address: Option<FieldRef>,
    pub reason: Option<FieldRef>,
    pub reason_space: Option<CodeSpace>,
    /// Conditions (all must hold) the event must meet to take this role; empty = always.
    pub when: Vec<Cond>,
    /// Source IDs and/or `UNCONFIRMED: …` ([`Refs`], the grammar of every table).
    pub source: Refs,
}

impl RoleDef {
    /// Whether `event` meets the row's conditions.
    pub fn applies(&self, event: &Event) -> bool {
        self.when.iter().all(|c| c.holds(event))
    }

    /// Confirmed, or UNCONFIRMED: an event of an unconfirmed row (or of an unconfirmed catalogue
    /// row) may add context to a pattern, never make one alone.
    pub fn status(&self) -> Status {
        self.source.status()
    }
}

/// The loaded role table.
#[derive(Debug, Clone)]
pub struct RoleTable {
    rows: Vec<RoleDef>,
    by_key: HashMap<(String, u16), usize>,
}

impl RoleTable {
    /// Parse a table (through the strict loader of [`crate::catalog::table`]).
    pub fn parse(text: &str) -> Result<RoleTable, TableError> {
        let mut rows = Vec::new();
        let mut by_key = HashMap::new();
        for row in SCHEMA.rows(text)? {
            let def = parse_row(&row)?;
            by_key.insert(
                (def.provider.to_ascii_lowercase(), def.event_id),
                rows.len(),
            );
            rows.push(def);
        }
        Ok(RoleTable { rows, by_key })
    }

    pub fn rows(&self) -> &[RoleDef] {
        &self.rows
    }

    /// The status of the row for (provider, canonical id), if the table has one.
    pub fn status_of(&self, provider: &str, event_id: u16) -> Option<Status> {
        self.by_key
            .get(&(provider.to_ascii_lowercase(), event_id))
            .map(|&i| self.rows[i].status())
    }

    /// The row for this event (provider compared case-insensitively), if its condition holds.
    pub fn lookup(&self, event: &Event) -> Option<&RoleDef> {
        self.row_index(&event.provider, event.event_id)
            .map(|i| &self.rows[i])
            .filter(|d| d.applies(event))
    }

    /// [`RoleTable::lookup`] for a run over many events: the row of each (provider string, id)
    /// is found once (records of one provider share its name string), then only the row's
    /// condition is checked per event.
    pub fn lookup_cached<'t>(
        &'t self,
        event: &Event,
        cache: &mut HashMap<(usize, u16), Option<usize>>,
    ) -> Option<&'t RoleDef> {
        let key = (event.provider.as_ptr() as usize, event.event_id);
        let index = *cache
            .entry(key)
            .or_insert_with(|| self.row_index(&event.provider, event.event_id));
        index.map(|i| &self.rows[i]).filter(|d| d.applies(event))
    }

    fn row_index(&self, provider: &str, event_id: u16) -> Option<usize> {
        self.by_key
            .get(&(provider.to_ascii_lowercase(), event_id))
            .copied()
    }
}

/// One row of the table, each cell checked.
fn parse_row(row: &Row<'_>) -> Result<RoleDef, TableError> {
    let event_id = row.parse("event_id", "a 16-bit number")?;
    let role = Role::parse(row.str("role")).ok_or_else(|| {
        row.error(
            "role",
            format!(
                "{:?} is not one of {}",
                row.str("role"),
                Role::ALL
                    .iter()
                    .filter(|(r, _)| *r != Role::Other)
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let field = |column: &str| row.opt(column).map(FieldRef::parse);
    let reason = field("reason");
    let reason_space = match row.opt("reason_space") {
        None => None,
        Some(_) => Some(row.keyword(
            "reason_space",
            &[("server", CodeSpace::Server), ("client", CodeSpace::Client)],
        )?),
    };
    if reason.is_some() != reason_space.is_some() {
        return Err(row.row_error("reason and reason_space go together"));
    }
    let session = field("session");
    if role.is_session_scoped() && session.is_none() {
        return Err(row.error(
            "session",
            format!("role {} needs a session field", role.name()),
        ));
    }
    let when = match row.opt("when") {
        None => Vec::new(),
        Some(w) => w
            .split('&')
            .map(|c| Cond::parse(c.trim()).map_err(|m| row.error("when", m)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let source = Refs::parse(row.str("source")).map_err(|m| row.error("source", m))?;
    Ok(RoleDef {
        provider: row.str("provider").to_string(),
        event_id,
        role,
        session,
        user: field("user"),
        address: field("address"),
        reason,
        reason_space,
        when,
        source,
    })
}

/// The embedded role table.
pub fn roles() -> &'static RoleTable {
    static TABLE: OnceLock<RoleTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RoleTable::parse(ROLES_TSV)
            .unwrap_or_else(|e| panic!("embedded role table is invalid: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::events::catalog;

    #[test]
    fn embedded_table_loads_and_every_row_is_catalogued() {
        let t = RoleTable::parse(ROLES_TSV).unwrap();
        for r in t.rows() {
            assert!(
                catalog().lookup(&r.provider, r.event_id).is_some(),
                "{} {} has a timeline role but is not in the event catalogue",
                r.provider,
                r.event_id
            );
        }
    }

    fn event_with(fields: &[(&str, &str)]) -> Event {
        let mut m = crate::eventlog::Fields::new();
        for (k, v) in fields {
            m.insert(*k, (*v).to_string());
        }
        Event {
            time: jiff::Timestamp::UNIX_EPOCH,
            record_id: 1,
            provider: "P".into(),
            provider_guid: None,
            channel: None,
            computer: None,
            level: None,
            event_id: 1,
            raw_event_id: 1,
            qualifiers: None,
            activity_id: None,
            user_sid: None,
            fields: std::sync::Arc::new(m),
            file: "f".into(),
            chunk: 0,
            offset: 0,
            verified: true,
        }
    }

    #[test]
    fn conditions_compare_numbers_and_lists() {
        let c = Cond::parse("Value!=0x80004001|0x80070040").unwrap();
        assert!(!c.holds(&event_with(&[("Value", "2147500033")])));
        assert!(!c.holds(&event_with(&[("Value", "0x80070040")])));
        assert!(c.holds(&event_with(&[("Value", "0x80090304")])));
        assert!(
            !c.holds(&event_with(&[])),
            "an absent field never meets a condition"
        );
        let c = Cond::parse("Value>=0x80000000").unwrap();
        assert!(c.holds(&event_with(&[("Value", "2148074244")])));
        assert!(!c.holds(&event_with(&[("Value", "2884")])));
        let c = Cond::parse("LogonType=10|12").unwrap();
        assert!(c.holds(&event_with(&[("LogonType", "12")])));
        assert!(!c.holds(&event_with(&[("LogonType", "2")])));
    }

    #[test]
    fn audited_rows_of_issue_15() {
        const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
        const CORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
        let t = roles();
        let row = |p: &str, id: u16| {
            t.rows()
                .iter()
                .find(|r| r.provider == p && r.event_id == id)
        };
        // 1158 is a connection (with its address); the RDVH licensing event keeps its raw ID.
        let r = row(RCM, 1158).expect("1158");
        assert_eq!(r.role, Role::Connection);
        assert_eq!(r.address, Some(FieldRef::One("Param1".into())));
        assert_eq!(row(RCM, 50310).map(|r| r.role), Some(Role::Licensing));
        // 1056 (self-signed certificate created) and RdpCoreTS 99 (TCP failure) have no role.
        assert!(row(RCM, 1056).is_none() && row(CORE, 99).is_none());
        // 227 counts only failure values other than the routine ones, and never alone.
        let r = row(CORE, 227).expect("227");
        assert_eq!(r.status(), Status::Unconfirmed);
        assert!(!r.when.is_empty());
        // Every licensing or security-error row that is confirmed names at least one source ID.
        for r in t.rows() {
            assert!(
                !r.source.ids().is_empty() || r.status() == Status::Unconfirmed,
                "{r:?}"
            );
        }
    }

    #[test]
    fn role_names_match_their_serialised_form() {
        for (r, n) in Role::ALL {
            assert_eq!(r.name(), n);
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(n));
        }
    }

    #[test]
    fn loader_is_strict() {
        let h = SCHEMA.columns.join("\t");
        let ok = "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tS31";
        assert!(RoleTable::parse(&format!("{h}\n{ok}")).is_ok());
        for good in [
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tA=1|0x2 & B!=x\tS31",
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tValue>=0x80000000\tS54; UNCONFIRMED: x",
        ] {
            assert!(RoleTable::parse(&format!("{h}\n{good}")).is_ok(), "{good}");
        }
        for bad in [
            format!("{ok}\n{ok}"),
            "P\t1\tweird\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\t1\tlogon\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\tx\tlicensing\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\tReason\t-\t-\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tnoequals\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tmemory".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tS54; RDVH mapping UNCONFIRMED".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tS99".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tA=\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tA>=x\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\t=1\tS31".to_string(),
            "P\t1\tlicensing".to_string(),
        ] {
            assert!(RoleTable::parse(&format!("{h}\n{bad}")).is_err(), "{bad}");
        }
        assert!(RoleTable::parse("x\ty").is_err());
    }
}
