//! Session evidence shaped like two real cases of issue 15: a host whose clock jumped months
//! forward and then back (seen in the LocalSessionManager, Security, System and RCM logs alike,
//! one session id reused on both sides of each jump, a logoff written after the jump back), and
//! the LSM event 40 that Windows writes twice for one takeover (reason 5, under a second apart).
//! Each log is a list of events in the order Windows wrote them (record ids follow that order).

use crate::evtx::Ev;
use crate::scenario::{lsm_39, lsm_40, lsm_session, termdd_56, LSM, LSM_CHANNEL, RCM};

/// The logs of one host, in write order each.
#[derive(Debug, Clone, Default)]
pub struct HostLogs {
    pub lsm: Vec<Ev>,
    pub security: Vec<Ev>,
    pub system: Vec<Ev>,
    pub rcm_operational: Vec<Ev>,
}

impl HostLogs {
    /// (file name, events) per log, for [`crate::scenario::Machine::log`] or a reader.
    pub fn files(&self) -> Vec<(&'static str, Vec<Ev>)> {
        [
            (
                "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                &self.lsm,
            ),
            ("Security.evtx", &self.security),
            ("System.evtx", &self.system),
            (
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
                &self.rcm_operational,
            ),
        ]
        .into_iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(f, e)| (f, e.clone()))
        .collect()
    }

    fn with_computer(mut self, host: &str) -> HostLogs {
        for log in [
            &mut self.lsm,
            &mut self.security,
            &mut self.system,
            &mut self.rcm_operational,
        ] {
            *log = log.drain(..).map(|e| e.computer(host)).collect();
        }
        self
    }
}

/// When the clock jumped in [`clock_rollback`].
pub mod rollback_times {
    /// The last true time before the jump forward.
    pub const BEFORE_FORWARD: &str = "2024-01-10T09:30:00Z";
    /// The first (wrong) time after the jump forward: 196 days later.
    pub const AFTER_FORWARD: &str = "2024-07-24T10:00:00Z";
    /// The last wrong time before the jump back.
    pub const BEFORE_BACK: &str = "2024-07-24T12:00:00Z";
    /// The first true time after the jump back.
    pub const AFTER_BACK: &str = "2024-01-10T13:00:00Z";
    /// The logoff of bob's session written after the jump back.
    pub const LOGOFF_AFTER_BACK: &str = "2024-01-10T13:05:00Z";
}

/// A Security 4624 (logon type 10) of `user` (`DOMAIN\name`) from `ip`.
pub fn security_4624(time: &str, user: &str, ip: &str) -> Ev {
    let (dom, name) = user.split_once('\\').unwrap_or(("", user));
    Ev::new("Microsoft-Windows-Security-Auditing", 4624)
        .time(time)
        .channel("Security")
        .event_data(&[
            ("TargetUserName", name),
            ("TargetDomainName", dom),
            ("LogonType", "10"),
            ("IpAddress", ip),
        ])
}

/// An RCM 1149 (user authenticated) of `user` (`DOMAIN\name`) from `ip`.
pub fn rcm_1149(time: &str, user: &str, ip: &str) -> Ev {
    let (dom, name) = user.split_once('\\').unwrap_or(("", user));
    Ev::new(RCM, 1149)
        .time(time)
        .channel(crate::scenario::RCM_OPERATIONAL)
        .user_data(
            "EventXML",
            &[("Param1", name), ("Param2", dom), ("Param3", ip)],
        )
}

fn logon(logs: &mut HostLogs, t: [&str; 2], sid: u32, user: &str, ip: &str) {
    // Authentication a second before the session's arbitration and logon.
    logs.rcm_operational.push(rcm_1149(t[0], user, ip));
    logs.security.push(security_4624(t[0], user, ip));
    logs.lsm.extend([
        Ev::new(LSM, 41).time(t[1]).channel(LSM_CHANNEL).user_data(
            "EventXML",
            &[("User", user), ("SessionID", &sid.to_string())],
        ),
        lsm_session(21, t[1], sid, user, ip),
        lsm_session(22, t[1], sid, user, ip),
    ]);
}

fn disconnect(logs: &mut HostLogs, t: &str, sid: u32, user: &str, ip: &str, reason: u32) {
    logs.lsm.extend([
        lsm_39(t, sid, sid),
        lsm_40(t, sid, reason),
        lsm_session(24, t, sid, user, ip),
    ]);
}

/// Session id 2 used three times across a clock that jumped 196 days forward and back, on
/// `host`:
/// - alice logs on (true time, 2024-01-10 08:00), disconnects and reconnects;
/// - the clock jumps forward to 2024-07-24 ([`rollback_times`]); alice logs off there; bob gets
///   session 2 (11:00) and disconnects (12:00);
/// - the clock is set back to the true time (2024-01-10 13:00); bob's logoff is written at
///   13:05 (after the jump back); alice logs on again as session 2 (14:00) and logs off (15:00).
///
/// Security (4624 type 10), RCM Operational (1149) and System (TermDD 56 and a service event
/// in each clock period) show the same jumps.
pub fn clock_rollback(host: &str) -> HostLogs {
    use rollback_times::*;
    const A: &str = r"CONTOSO\alice";
    const B: &str = r"CONTOSO\bob";
    let mut l = HostLogs::default();
    // True time.
    l.system
        .push(termdd_56("2024-01-10T07:00:00Z", "203.0.113.9"));
    logon(
        &mut l,
        ["2024-01-10T07:59:59Z", "2024-01-10T08:00:00Z"],
        2,
        A,
        "10.0.0.5",
    );
    disconnect(&mut l, "2024-01-10T09:00:00Z", 2, A, "10.0.0.5", 11);
    l.rcm_operational
        .push(rcm_1149("2024-01-10T09:29:59Z", A, "10.0.0.5"));
    l.lsm
        .push(lsm_session(25, BEFORE_FORWARD, 2, A, "10.0.0.5"));
    l.system.push(termdd_56(BEFORE_FORWARD, "203.0.113.9"));
    // The clock jumps forward 196 days.
    l.system.push(termdd_56(AFTER_FORWARD, "203.0.113.9"));
    l.lsm.push(lsm_session(23, AFTER_FORWARD, 2, A, ""));
    logon(
        &mut l,
        ["2024-07-24T10:59:59Z", "2024-07-24T11:00:00Z"],
        2,
        B,
        "10.0.0.6",
    );
    disconnect(&mut l, BEFORE_BACK, 2, B, "10.0.0.6", 11);
    l.system.push(termdd_56(BEFORE_BACK, "203.0.113.9"));
    // The clock is set back to the true time.
    l.system.push(termdd_56(AFTER_BACK, "203.0.113.9"));
    l.lsm.push(lsm_session(23, LOGOFF_AFTER_BACK, 2, B, ""));
    logon(
        &mut l,
        ["2024-01-10T13:59:59Z", "2024-01-10T14:00:00Z"],
        2,
        A,
        "10.0.0.5",
    );
    l.lsm
        .push(lsm_session(23, "2024-01-10T15:00:00Z", 2, A, ""));
    l.with_computer(host)
}

/// A takeover as Windows logs it when a user connects from a second client: LSM 39, LSM 40
/// reason 5 twice (`gap_ms` apart, 500–999 ms on real hosts), LSM 24 and the reconnect (25)
/// from the new client. Session 3 of `user` on `host`: logon at 09:00, takeovers at 10:00 (the
/// second 40 before the 24) and 11:00 (the second 40 after the reconnect, which comes half way
/// between the two), logoff at 12:00: two disconnects.
pub fn doubled_event_40(host: &str, user: &str, gap_ms: u32) -> HostLogs {
    let mut l = HostLogs::default();
    logon(
        &mut l,
        ["2024-03-05T08:59:59Z", "2024-03-05T09:00:00Z"],
        3,
        user,
        "10.0.0.5",
    );
    let gap = gap_ms.min(999);
    let t = "2024-03-05T10:00:00Z";
    let t2 = format!("2024-03-05T10:00:00.{gap:03}Z");
    l.lsm.extend([
        lsm_39(t, 3, 3),
        lsm_40(t, 3, 5),
        lsm_40(&t2, 3, 5),
        lsm_session(24, &t2, 3, user, "10.0.0.5"),
        lsm_session(25, "2024-03-05T10:00:01Z", 3, user, "10.0.0.6"),
    ]);
    let t = "2024-03-05T11:00:00Z";
    let half = format!("2024-03-05T11:00:00.{:03}Z", gap / 2);
    let t2 = format!("2024-03-05T11:00:00.{gap:03}Z");
    l.lsm.extend([
        lsm_39(t, 3, 3),
        lsm_40(t, 3, 5),
        lsm_session(24, t, 3, user, "10.0.0.6"),
        lsm_session(25, &half, 3, user, "10.0.0.7"),
        lsm_40(&t2, 3, 5),
    ]);
    l.lsm
        .push(lsm_session(23, "2024-03-05T12:00:00Z", 3, user, ""));
    l.with_computer(host)
}
