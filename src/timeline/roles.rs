//! What each event does in a session timeline (logon, disconnect, licensing problem, security
//! error…) and which of its fields hold the session id, user, client address and reason code,
//! loaded strictly from `roles.tsv` so the correlation logic stays free of event IDs.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::catalog::reasons::CodeSpace;
use crate::eventlog::Event;

/// The embedded role table.
pub const ROLES_TSV: &str = include_str!("roles.tsv");

/// The columns of `roles.tsv`, in order.
pub const COLUMNS: [&str; 10] = [
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
];

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
    fn parse(s: &str) -> Option<FieldRef> {
        let s = s.trim();
        if s.is_empty() || s == "-" {
            return None;
        }
        Some(match s.split_once('\\') {
            Some((a, b)) => FieldRef::Joined(a.to_string(), b.to_string()),
            None => FieldRef::One(s.to_string()),
        })
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
    /// `(field, value)` the event must carry to take this role.
    pub when: Option<(String, String)>,
    pub source: String,
}

impl RoleDef {
    /// Whether `event` meets the row's condition.
    pub fn applies(&self, event: &Event) -> bool {
        match &self.when {
            None => true,
            Some((f, v)) => event.field(f).is_some_and(|x| x.trim() == v),
        }
    }
}

/// Errors of the role-table loader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("roles.tsv line {line}: {reason}")]
pub struct RoleTableError {
    pub line: usize,
    pub reason: String,
}

/// The loaded role table.
#[derive(Debug, Clone)]
pub struct RoleTable {
    rows: Vec<RoleDef>,
    by_key: HashMap<(String, u16), usize>,
}

impl RoleTable {
    /// Parse a table; strict about header, columns, names and duplicates.
    pub fn parse(text: &str) -> Result<RoleTable, RoleTableError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (hl, header) = lines.next().ok_or(RoleTableError {
            line: 0,
            reason: "no header line".into(),
        })?;
        if header.split('\t').ne(COLUMNS.iter().copied()) {
            return Err(RoleTableError {
                line: hl,
                reason: format!("the header must be {:?}", COLUMNS.join("\t")),
            });
        }
        let mut rows = Vec::new();
        let mut by_key = HashMap::new();
        for (line, text) in lines {
            let err = |reason: String| RoleTableError { line, reason };
            let c: Vec<&str> = text.split('\t').collect();
            if c.len() != COLUMNS.len() {
                return Err(err(format!(
                    "expected {} columns, found {}",
                    COLUMNS.len(),
                    c.len()
                )));
            }
            let provider = c[0].trim();
            if provider.is_empty() {
                return Err(err("empty provider".into()));
            }
            let event_id = c[1]
                .trim()
                .parse::<u16>()
                .map_err(|_| err(format!("event_id {:?} is not a 16-bit number", c[1])))?;
            let role = Role::parse(c[2].trim()).ok_or_else(|| {
                err(format!(
                    "role {:?} is not one of {}",
                    c[2],
                    Role::ALL
                        .iter()
                        .filter(|(r, _)| *r != Role::Other)
                        .map(|(_, n)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let reason = FieldRef::parse(c[6]);
            let reason_space = match c[7].trim() {
                "-" => None,
                "server" => Some(CodeSpace::Server),
                "client" => Some(CodeSpace::Client),
                s => {
                    return Err(err(format!(
                        "reason_space {s:?} is not server, client or -"
                    )))
                }
            };
            if reason.is_some() != reason_space.is_some() {
                return Err(err("reason and reason_space go together".into()));
            }
            let session = FieldRef::parse(c[3]);
            if role.is_session_scoped() && session.is_none() {
                return Err(err(format!("role {} needs a session field", role.name())));
            }
            let when = match c[8].trim() {
                "-" => None,
                w => match w.split_once('=') {
                    Some((f, v)) if !f.trim().is_empty() => {
                        Some((f.trim().to_string(), v.trim().to_string()))
                    }
                    _ => return Err(err(format!("when {w:?} is not Field=value or -"))),
                },
            };
            let source = c[9].trim();
            if source.is_empty() || !(source.starts_with('S') || source.contains("UNCONFIRMED")) {
                return Err(err(format!(
                    "source {source:?} must name reference sources"
                )));
            }
            let key = (provider.to_ascii_lowercase(), event_id);
            if by_key.contains_key(&key) {
                return Err(err(format!("duplicate row for {provider} {event_id}")));
            }
            by_key.insert(key, rows.len());
            rows.push(RoleDef {
                provider: provider.to_string(),
                event_id,
                role,
                session,
                user: FieldRef::parse(c[4]),
                address: FieldRef::parse(c[5]),
                reason,
                reason_space,
                when,
                source: source.to_string(),
            });
        }
        Ok(RoleTable { rows, by_key })
    }

    pub fn rows(&self) -> &[RoleDef] {
        &self.rows
    }

    /// The row for this event (provider compared case-insensitively), if its condition holds.
    pub fn lookup(&self, event: &Event) -> Option<&RoleDef> {
        let key = (event.provider.to_ascii_lowercase(), event.event_id);
        self.by_key
            .get(&key)
            .map(|&i| &self.rows[i])
            .filter(|d| d.applies(event))
    }
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

    #[test]
    fn role_names_match_their_serialised_form() {
        for (r, n) in Role::ALL {
            assert_eq!(r.name(), n);
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(n));
        }
    }

    #[test]
    fn loader_is_strict() {
        let h = COLUMNS.join("\t");
        let ok = "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tS31";
        assert!(RoleTable::parse(&format!("{h}\n{ok}")).is_ok());
        for bad in [
            format!("{ok}\n{ok}"),
            "P\t1\tweird\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\t1\tlogon\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\tx\tlicensing\t-\t-\t-\t-\t-\t-\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\tReason\t-\t-\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\tnoequals\tS31".to_string(),
            "P\t1\tlicensing\t-\t-\t-\t-\t-\t-\tmemory".to_string(),
            "P\t1\tlicensing".to_string(),
        ] {
            assert!(RoleTable::parse(&format!("{h}\n{bad}")).is_err(), "{bad}");
        }
        assert!(RoleTable::parse("x\ty").is_err());
    }
}
