//! Licensing scenarios for the licensing rules' fixtures and the seed tests: session hosts and
//! license servers with the registry state and the event sequences of reference §16 D1–D7
//! (60-minute soft-enforcement rhythm, licensing disconnects, RCM and license-server events).

use crate::evtx::Ev;
use crate::hive::Data;
use crate::scenario::{ls_event, lsm_40, lsm_session, rcm_licensing, Machine, Os};

pub const LSM_LOG: &str =
    "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
pub const RCM_ADMIN_LOG: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx";
pub const LS01: &str = "LS01.contoso.local";
pub const ALICE: &str = r"CONTOSO\alice";

/// A domain session host with the mode and servers given in Server Manager.
pub fn rdsh(os: Os, mode: u32, servers: &[&str]) -> Machine {
    Machine::session_host("RDSH01", os, Some("contoso.local"))
        .server_manager_licensing(mode, servers)
}

/// The soft-enforcement rhythm (seed 000): on each of `days` days alice logs on at 08:02, is
/// disconnected at 09:02 (reason `reason`), reconnects at 09:04, is disconnected at 10:04 and
/// logs off; with RCM 1131 for `server` at each connect when `server` is given.
pub fn hourly_sessions(days: u32, reason: u32, server: Option<&str>) -> (Vec<Ev>, Vec<Ev>) {
    let mut lsm = Vec::new();
    let mut rcm = Vec::new();
    for day in 0..days {
        let d = format!("2024-03-{:02}", 4 + day);
        let s = 3 + day;
        lsm.push(lsm_session(
            21,
            &format!("{d}T08:02:11Z"),
            s,
            ALICE,
            "10.0.0.21",
        ));
        lsm.push(lsm_session(
            22,
            &format!("{d}T08:02:13Z"),
            s,
            ALICE,
            "10.0.0.21",
        ));
        lsm.push(lsm_session(
            24,
            &format!("{d}T09:02:12Z"),
            s,
            ALICE,
            "10.0.0.21",
        ));
        lsm.push(lsm_40(&format!("{d}T09:02:12.2Z"), s, reason));
        lsm.push(lsm_session(
            25,
            &format!("{d}T09:04:40Z"),
            s,
            ALICE,
            "10.0.0.21",
        ));
        lsm.push(lsm_session(
            24,
            &format!("{d}T10:04:41Z"),
            s,
            ALICE,
            "10.0.0.21",
        ));
        lsm.push(lsm_40(&format!("{d}T10:04:41.2Z"), s, reason));
        lsm.push(lsm_session(23, &format!("{d}T10:05:30Z"), s, ALICE, ""));
        if let Some(ls) = server {
            rcm.push(rcm_licensing(&format!("{d}T08:02:12Z"), 1131, Some(ls)));
            rcm.push(rcm_licensing(&format!("{d}T09:04:41Z"), 1131, Some(ls)));
        }
    }
    (lsm, rcm)
}

/// A host running into soft enforcement: `os`, Per Device, license server LS01 unreachable, the
/// hourly rhythm over two days.
pub fn soft_enforcement_host(os: Os) -> Machine {
    let (lsm, rcm) = hourly_sessions(2, 0, Some(LS01));
    rdsh(os, 2, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm)
}

/// First logons that are cut a few seconds later with `reason` (257: no license server
/// available), once a day for `days` days, each preceded by the RCM events `rcm` (canonical id,
/// Param1).
pub fn cut_first_logons(days: u32, reason: u32, rcm: &[(u32, Option<&str>)]) -> (Vec<Ev>, Vec<Ev>) {
    let mut lsm = Vec::new();
    let mut lic = Vec::new();
    for day in 0..days {
        let d = format!("2024-04-{:02}", 2 + day);
        let s = 2 + day;
        lsm.push(lsm_session(
            21,
            &format!("{d}T07:55:00Z"),
            s,
            ALICE,
            "10.0.0.30",
        ));
        for (id, p) in rcm {
            lic.push(rcm_licensing(&format!("{d}T07:55:02Z"), *id, *p));
        }
        lsm.push(lsm_40(&format!("{d}T07:55:04Z"), s, reason));
        lsm.push(lsm_session(
            24,
            &format!("{d}T07:55:04.3Z"),
            s,
            ALICE,
            "10.0.0.30",
        ));
        lsm.push(lsm_session(23, &format!("{d}T07:55:10Z"), s, ALICE, ""));
    }
    (lsm, lic)
}

/// A normal working day: alice logs on, disconnects herself (reason 11), reconnects, logs off.
pub fn healthy_sessions() -> Vec<Ev> {
    vec![
        lsm_session(21, "2024-03-04T08:00:00Z", 2, ALICE, "10.0.0.21"),
        lsm_session(22, "2024-03-04T08:00:03Z", 2, ALICE, "10.0.0.21"),
        lsm_session(24, "2024-03-04T12:00:00Z", 2, ALICE, "10.0.0.21"),
        lsm_40("2024-03-04T12:00:00.2Z", 2, 11),
        lsm_session(25, "2024-03-04T13:00:00Z", 2, ALICE, "10.0.0.21"),
        lsm_session(23, "2024-03-04T17:00:00Z", 2, ALICE, ""),
    ]
}

/// A healthy domain session host: the given Server Manager mode, LS01 as license server, the
/// license server certificate, and [`healthy_sessions`] in its LocalSessionManager log.
pub fn healthy_host(mode: u32) -> Machine {
    rdsh(Os::Server2019, mode, &[LS01])
        .with_ls_certificate()
        .log(LSM_LOG, healthy_sessions())
}

/// The non-persistent VDI host of seed 001: Per User by policy, license server by policy, no
/// license server certificate, and every first logon cut with reason 257 after RCM 1131.
pub fn vdi_host(with_certificate: bool) -> Machine {
    let (lsm, rcm) = cut_first_logons(3, 257, &[(1131, Some(LS01))]);
    let m = Machine::session_host("VDI-POOL-07", Os::Server2019, Some("contoso.local"))
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz(LS01.into()))
        .log(LSM_LOG, lsm)
        .log(RCM_ADMIN_LOG, rcm);
    if with_certificate {
        m.with_ls_certificate()
    } else {
        m
    }
}

/// License server events 21 (no permanent licences of `cal` left for `host`), `n` times.
pub fn ls_no_licences(n: u32, cal: &str, host: &str) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            ls_event(
                &format!("2024-03-04T08:{:02}:00Z", 10 + i),
                21,
                &["LS01", cal, host],
            )
        })
        .collect()
}

/// License server events 4147 (a Per Device CAL issued to `host`), `n` times.
pub fn ls_issued(n: u32, host: &str) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            ls_event(
                &format!("2024-03-04T08:{:02}:00Z", 10 + i),
                4147,
                &["Windows Server 2019 - RDS Per Device CAL", host],
            )
            .level(4)
        })
        .collect()
}

pub const RCM_OPERATIONAL_LOG: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx";

/// A session host whose sessions end at a one-hour active session limit (issue 15): the hourly
/// rhythm of [`hourly_sessions`] with reason `reason` (4: active session limit), RCM 20518 at
/// each cut when `rcm` is set, and `MaxConnectionTime` in computer Group Policy when
/// `policy_ms` is given.
pub fn time_limit_host(os: Os, reason: u32, rcm: bool, policy_ms: Option<u32>) -> Machine {
    let (lsm, _) = hourly_sessions(2, reason, None);
    let mut m = rdsh(os, 4, &[LS01]).with_ls_certificate().log(LSM_LOG, lsm);
    if rcm {
        let mut cuts = Vec::new();
        for day in 0..2u32 {
            let d = format!("2024-03-{:02}", 4 + day);
            for t in ["09:02:12.1", "10:04:41.1"] {
                cuts.push(crate::scenario::rcm_time_limit(
                    &format!("{d}T{t}Z"),
                    20518,
                    3 + day,
                ));
            }
        }
        m = m.log(RCM_OPERATIONAL_LOG, cuts);
    }
    if let Some(ms) = policy_ms {
        m = m.policy("MaxConnectionTime", Data::Dword(ms));
    }
    m
}
