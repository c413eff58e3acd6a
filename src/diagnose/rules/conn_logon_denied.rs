//! RDS-CONN-LOGON-DENIED: Remote Desktop logons that Windows refused (Security 4625 with its
//! NTSTATUS decoded by `catalog/ntstatus.tsv`, Security 4825, RdpCoreTS 140), split into the two
//! stories a support engineer tells apart: the account is not allowed (a right, a restriction, a
//! disabled or locked account: a configuration cause with a remedy) and bad credentials or
//! password guessing (bursts from public addresses: RDP exposed to the internet, not a server
//! fault).
//!
//! Which events count: 4625 with logon type 10 always; 4625 with logon type 3 (what a failed
//! logon with Network Level Authentication is logged as, S82) only when an RDP connection of the
//! host (RdpCoreTS 131/140, RCM 261) is within [`PAIR_WINDOW`] (from the same address when the
//! 4625 names one), so file-share and other network logon failures do not count. An RdpCoreTS 140 within the same
//! window is the same attempt (it gives the address a type-3 4625 lacks), not a second one.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

use crate::catalog::events::catalog;
use crate::catalog::ntstatus::{statuses, FailureClass};
use crate::diagnose::common::event_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::eventlog::Event;
use crate::timeline::{back, shift, Role};

use super::conn_shared::host_name;

pub struct LogonDenied;

static META: RuleMeta = RuleMeta {
    id: "RDS-CONN-LOGON-DENIED",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Event],
    doc: include_str!("RDS-CONN-LOGON-DENIED.md"),
};

const SECURITY: &str = "Microsoft-Windows-Security-Auditing";
const RDPCORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
const RDPCORE_CHANNEL: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
const RCM_CHANNEL: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";

/// Security 4625: an account failed to log on (S80).
const LOGON_FAILED: u16 = 4625;
/// Security 4624: an account logged on.
const LOGON_OK: u16 = 4624;
/// Security 4825: an authenticated user was denied Remote Desktop access (S81).
const RDP_DENIED: u16 = 4825;
/// RdpCoreTS 140: a connection failed because the user name or password is not correct (S29).
const RDPCORE_BAD_CREDENTIALS: u16 = 140;
/// RdpCoreTS 131: the server accepted a new connection (`ClientIP`).
const RDPCORE_ACCEPTED: u16 = 131;
/// RCM 261: the listener received a connection.
const RCM_LISTENER_CONNECTION: u16 = 261;
/// RCM 1149: user authentication succeeded (`Param3` is the address).
const RCM_AUTHENTICATED: u16 = 1149;
/// LocalSessionManager 21 (logon) and 25 (reconnect), with `Address`.
const LSM_LOGON: [u16; 2] = [21, 25];

/// LogonType 10: Remote Desktop (RemoteInteractive, S80).
const LOGON_TYPE_RDP: u32 = 10;
/// LogonType 3: network; a failed NLA logon is logged so (S82).
const LOGON_TYPE_NETWORK: u32 = 3;

/// How close an RDP connection event must be to a type-3 4625 (and a 140 to a 4625) to be the
/// same attempt.
const PAIR_WINDOW: SignedDuration = SignedDuration::from_secs(5);
/// Failures from one address within [`BURST_SPAN`] that make password guessing, not a typo.
const BURST_COUNT: usize = 10;
const BURST_SPAN: SignedDuration = SignedDuration::from_secs(600);
/// User names tried from one address that make a scan or password spraying.
const MANY_USERS: usize = 5;
/// Public addresses that make a scan even without a burst from one of them.
const MANY_PUBLIC: usize = 3;
/// How many groups and addresses the explanation names, and events it cites per group.
const MAX_NAMED: usize = 5;
const EVIDENCE_PER_GROUP: usize = 3;

/// One refused logon attempt (one or two events).
struct Attempt<'e> {
    time: Timestamp,
    user: Option<String>,
    address: Option<String>,
    /// The NTSTATUS that explains it (4625 only).
    code: Option<u32>,
    /// `None`: a status our table does not know.
    class: Option<FailureClass>,
    meaning: String,
    remedy: Option<String>,
    /// Which event said so (`4625 logon type 10`, `4825`, `RdpCoreTS 140`).
    how: String,
    events: Vec<&'e Event>,
}

/// A client address as written by the events, without port or IPv4-mapped prefix; `None` for
/// `-` and empty values.
fn clean_address(raw: Option<&String>) -> Option<String> {
    let t = raw?.trim();
    if t.is_empty() || t == "-" {
        return None;
    }
    let t = t.strip_prefix("::ffff:").unwrap_or(t);
    if t.parse::<IpAddr>().is_ok() {
        return Some(t.to_string());
    }
    // `ip:port` (RdpCoreTS 131 ClientIP) or `[v6]:port`.
    if let Some((host, port)) = t.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if port.bytes().all(|b| b.is_ascii_digit()) && host.parse::<IpAddr>().is_ok() {
            return Some(host.to_string());
        }
    }
    Some(t.to_string())
}

/// Whether an address is on the internet (not private, loopback, link-local, shared or unique
/// local).
fn is_public(address: &str) -> bool {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let [o1, o2, ..] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || (o1 == 100 && (64..128).contains(&o2)))
        }
        Ok(IpAddr::V6(a)) => {
            let first = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

/// `DOMAIN\user`, `user`, or `None` when the event names no user.
fn account(e: &Event, domain: &str, user: &str) -> Option<String> {
    let user = e
        .fields
        .get(user)
        .map(|u| u.trim())
        .filter(|u| !u.is_empty() && *u != "-")?;
    match e.fields.get(domain).map(|d| d.trim()) {
        Some(d) if !d.is_empty() && d != "-" => Some(format!("{d}\\{user}")),
        _ => Some(user.to_string()),
    }
}

/// The index range of `sorted` (by `time_of`) within [`PAIR_WINDOW`] of `t`.
fn window<T>(
    sorted: &[T],
    time_of: impl Fn(&T) -> Timestamp,
    t: Timestamp,
) -> std::ops::Range<usize> {
    let (from, to) = (back(t, PAIR_WINDOW), shift(t, PAIR_WINDOW));
    let start = sorted.partition_point(|x| time_of(x) < from);
    let end = sorted.partition_point(|x| time_of(x) <= to);
    start..end.max(start)
}

fn compatible(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => true,
    }
}

/// A catalogue meaning inside a sentence: `An account…` → `an account…`.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn span(first: Timestamp, last: Timestamp) -> String {
    if when(first) == when(last) {
        format!("at {}", when(first))
    } else {
        format!("between {} and {}", when(first), when(last))
    }
}

/// `a ×3, b ×1 and 4 more`, most frequent first.
fn counted(map: &BTreeMap<String, usize>) -> String {
    let mut list: Vec<(&String, &usize)> = map.iter().collect();
    list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut text: Vec<String> = list
        .iter()
        .take(MAX_NAMED)
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect();
    if list.len() > MAX_NAMED {
        text.push(format!("and {} more", list.len() - MAX_NAMED));
    }
    text.join(", ")
}

/// The RDP connection events of the host: (time, client address).
fn connections(m: &Model<'_>) -> Vec<(Timestamp, Option<String>)> {
    let mut out: Vec<(Timestamp, Option<String>)> = m
        .events_of(RDPCORE, &[RDPCORE_ACCEPTED, RDPCORE_BAD_CREDENTIALS])
        .map(|e| {
            let addr = e
                .fields
                .get("ClientIP")
                .or_else(|| e.fields.get("IPString"));
            (e.time, clean_address(addr))
        })
        .collect();
    out.extend(
        m.events_of(RCM, &[RCM_LISTENER_CONNECTION])
            .map(|e| (e.time, None)),
    );
    out.sort_by_key(|a| a.0);
    out
}

/// The refused RDP logons of the host, and how many type-3 failures could not be tied to RDP.
fn attempts<'m>(m: &'m Model<'_>) -> (Vec<Attempt<'m>>, usize) {
    let conns = connections(m);
    let table = statuses();
    let mut out: Vec<Attempt<'m>> = Vec::new();
    let mut untied = 0usize;
    for e in m.events_of(SECURITY, &[LOGON_FAILED]) {
        let logon_type = e
            .fields
            .get("LogonType")
            .and_then(|t| t.trim().parse::<u32>().ok());
        let mut address = clean_address(e.fields.get("IpAddress"));
        let how = match logon_type {
            Some(LOGON_TYPE_RDP) => "4625 logon type 10".to_string(),
            Some(LOGON_TYPE_NETWORK) => {
                // A 4625 that names its address needs a connection from that address (RCM 261
                // names none); one without (the NLA case) takes the nearest connection.
                let Some((_, conn_addr)) = conns[window(&conns, |c| c.0, e.time)]
                    .iter()
                    .filter(|(_, a)| address.is_none() || (a.is_some() && compatible(a, &address)))
                    .min_by_key(|(t, _)| t.duration_since(e.time).abs())
                else {
                    untied += 1;
                    continue;
                };
                if address.is_none() {
                    address = conn_addr.clone();
                }
                "4625 logon type 3 (NLA) beside an RDP connection".to_string()
            }
            _ => continue,
        };
        let Some((code, def)) = table.decode(
            e.fields.get("Status").map(String::as_str),
            e.fields.get("SubStatus").map(String::as_str),
            logon_type,
        ) else {
            continue;
        };
        out.push(Attempt {
            time: e.time,
            user: account(e, "TargetDomainName", "TargetUserName"),
            address,
            code: Some(code),
            class: def.map(|d| d.class),
            meaning: def.map_or_else(
                || "a status our table does not decode".to_string(),
                |d| d.meaning.clone(),
            ),
            remedy: def.and_then(|d| d.remedy.clone()),
            how,
            events: vec![e],
        });
    }
    // RdpCoreTS 140 next to a counted 4625 is the same attempt; alone it is one more.
    let mut paired: BTreeSet<usize> = BTreeSet::new();
    let mut alone: Vec<Attempt<'m>> = Vec::new();
    let bad_password = catalog()
        .lookup(RDPCORE, RDPCORE_BAD_CREDENTIALS)
        .map(|d| lower_first(&d.meaning))
        .unwrap_or_else(|| "bad user name or password".to_string());
    for e in m.events_of(RDPCORE, &[RDPCORE_BAD_CREDENTIALS]) {
        let address = clean_address(e.fields.get("IPString"));
        let partner = window(&out, |a| a.time, e.time)
            .find(|&i| !paired.contains(&i) && compatible(&out[i].address, &address));
        match partner {
            Some(i) => {
                paired.insert(i);
                let a = &mut out[i];
                if a.address.is_none() {
                    a.address = address;
                }
                a.events.push(e);
            }
            None => alone.push(Attempt {
                time: e.time,
                user: None,
                address,
                code: None,
                class: Some(FailureClass::BadCredentials),
                meaning: bad_password.clone(),
                remedy: None,
                how: "RdpCoreTS 140".to_string(),
                events: vec![e],
            }),
        }
    }
    out.extend(alone);
    let denied = catalog()
        .lookup(SECURITY, RDP_DENIED)
        .map(|d| lower_first(&d.meaning))
        .unwrap_or_else(|| "denied Remote Desktop access".to_string());
    for e in m.events_of(SECURITY, &[RDP_DENIED]) {
        out.push(Attempt {
            time: e.time,
            user: account(e, "AccountDomain", "AccountName"),
            address: clean_address(e.fields.get("ClientAddress")),
            code: None,
            class: Some(FailureClass::NotAllowed),
            meaning: denied.clone(),
            remedy: Some("add the account (or a group it belongs to) to Remote Desktop Users, or grant it \"Allow log on through Remote Desktop Services\"".to_string()),
            how: "4825".to_string(),
            events: vec![e],
        });
    }
    out.sort_by_key(|a| a.time);
    (out, untied)
}

fn evidence_of(a: &Attempt<'_>) -> Vec<Evidence> {
    let who = a.user.as_deref().unwrap_or("an unnamed user");
    let from = a
        .address
        .as_deref()
        .map(|x| format!(" from {x}"))
        .unwrap_or_default();
    let code = a
        .code
        .map(|c| format!(", status 0x{c:08X}"))
        .unwrap_or_default();
    a.events
        .iter()
        .map(|e| event_evidence(e, format!("{}: {who}{from}{code}: {}", a.how, a.meaning)))
        .collect()
}

/// The finding for accounts refused by a right, a restriction or their state.
fn refusals(host: &str, list: &[&Attempt<'_>]) -> crate::diagnose::Finding {
    struct Group<'a> {
        count: usize,
        codes: BTreeSet<String>,
        hows: BTreeSet<String>,
        addresses: BTreeMap<String, usize>,
        first: Timestamp,
        last: Timestamp,
        remedy: Option<String>,
        attempts: Vec<&'a Attempt<'a>>,
    }
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for a in list {
        let key = (
            a.user.clone().unwrap_or_else(|| "(no user name)".into()),
            a.meaning.clone(),
        );
        let g = groups.entry(key).or_insert_with(|| Group {
            count: 0,
            codes: BTreeSet::new(),
            hows: BTreeSet::new(),
            addresses: BTreeMap::new(),
            first: a.time,
            last: a.time,
            remedy: a.remedy.clone(),
            attempts: Vec::new(),
        });
        g.count += 1;
        if let Some(c) = a.code {
            g.codes.insert(format!("0x{c:08X}"));
        }
        g.hows.insert(a.how.clone());
        *g.addresses
            .entry(
                a.address
                    .clone()
                    .unwrap_or_else(|| "address not logged".into()),
            )
            .or_insert(0) += 1;
        g.first = g.first.min(a.time);
        g.last = g.last.max(a.time);
        g.attempts.push(a);
    }
    let mut ordered: Vec<(&(String, String), &Group<'_>)> = groups.iter().collect();
    ordered.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let mut parts = Vec::new();
    let mut evidence = Vec::new();
    for ((user, meaning), g) in ordered.iter().take(MAX_NAMED) {
        let codes = if g.codes.is_empty() {
            String::new()
        } else {
            format!(
                ", status {}",
                g.codes.iter().cloned().collect::<Vec<_>>().join("/")
            )
        };
        let hows = g.hows.iter().cloned().collect::<Vec<_>>().join(", ");
        let remedy = g
            .remedy
            .as_deref()
            .map(|r| format!(" Remedy: {r}."))
            .unwrap_or_default();
        let from = match g.addresses.keys().next() {
            Some(only) if g.addresses.len() == 1 => only.clone(),
            _ => counted(&g.addresses),
        };
        parts.push(format!(
            "{user}: {meaning} ({hows}{codes}) ×{} from {from} {}.{remedy}",
            g.count,
            span(g.first, g.last)
        ));
        for a in g.attempts.iter().take(EVIDENCE_PER_GROUP) {
            evidence.extend(evidence_of(a));
        }
    }
    if ordered.len() > MAX_NAMED {
        parts.push(format!(
            "And {} more account(s).",
            ordered.len() - MAX_NAMED
        ));
    }
    let explanation = format!(
        "On {host} {n} Remote Desktop logon(s) were refused for a reason other than a wrong password: a right, a restriction or the state of the account, or a domain that could not check the logon (a configuration or account cause with a remedy). {}",
        parts.join(" "),
        n = list.len(),
    );
    META.finding(Confidence::Confirmed, explanation, evidence)
}

/// Successful Remote Desktop logons of the host by client address, in time order: 4624 logon
/// type 10 and LocalSessionManager 21/25 (a logon), and RCM 1149 (authentication only).
struct Successes<'m> {
    by_address: BTreeMap<String, Vec<Success<'m>>>,
}

/// A success event, the user it names, and whether it is a logon (not only an authentication).
type Success<'m> = (&'m Event, Option<String>, bool);

impl<'m> Successes<'m> {
    fn of(m: &'m Model<'_>) -> Successes<'m> {
        let mut by_address: BTreeMap<String, Vec<Success<'m>>> = BTreeMap::new();
        let mut add = |e: &'m Event, addr: Option<&String>, user: Option<String>, logon: bool| {
            if let Some(a) = clean_address(addr) {
                by_address
                    .entry(a.to_ascii_lowercase())
                    .or_default()
                    .push((e, user, logon));
            }
        };
        for e in m.events_of(SECURITY, &[LOGON_OK]) {
            if e.fields.get("LogonType").map(|t| t.trim()) == Some("10") {
                add(
                    e,
                    e.fields.get("IpAddress"),
                    account(e, "TargetDomainName", "TargetUserName"),
                    true,
                );
            }
        }
        for e in m.events_of(LSM, &LSM_LOGON) {
            add(
                e,
                e.fields.get("Address"),
                e.fields.get("User").cloned(),
                true,
            );
        }
        for e in m.events_of(RCM, &[RCM_AUTHENTICATED]) {
            add(
                e,
                e.fields.get("Param3"),
                account(e, "Param2", "Param1"),
                false,
            );
        }
        for list in by_address.values_mut() {
            list.sort_by_key(|(e, _, _)| e.time);
        }
        Successes { by_address }
    }

    /// The first logon from `address` after `after`, else the first RCM 1149 (a logon says more
    /// than an authentication).
    fn after(&self, address: &str, after: Timestamp) -> Option<(&'m Event, Option<String>)> {
        let list = self.by_address.get(&address.to_ascii_lowercase())?;
        let later = || list.iter().filter(|(e, _, _)| e.time > after);
        later()
            .find(|(_, _, logon)| *logon)
            .or_else(|| later().next())
            .map(|(e, u, _)| (*e, u.clone()))
    }
}

/// The finding for bad credentials and password guessing (and codes our table does not know).
fn guessing(
    m: &Model<'_>,
    host: &str,
    list: &[&Attempt<'_>],
    security_missing: bool,
) -> crate::diagnose::Finding {
    let first = list.iter().map(|a| a.time).min().unwrap_or_default();
    let last = list.iter().map(|a| a.time).max().unwrap_or_default();
    let mut by_address: BTreeMap<String, usize> = BTreeMap::new();
    let mut users_by_address: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut times_by_address: BTreeMap<String, Vec<Timestamp>> = BTreeMap::new();
    let mut users: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    for a in list {
        let addr = a
            .address
            .clone()
            .unwrap_or_else(|| "address not logged".into());
        *by_address.entry(addr.clone()).or_insert(0) += 1;
        times_by_address
            .entry(addr.clone())
            .or_default()
            .push(a.time);
        if let Some(u) = &a.user {
            users_by_address
                .entry(addr)
                .or_default()
                .insert(u.to_ascii_lowercase());
            *users.entry(u.clone()).or_insert(0) += 1;
        }
        if a.class.is_none() {
            if let Some(c) = a.code {
                *unknown.entry(format!("0x{c:08X}")).or_insert(0) += 1;
            }
        }
    }
    let public: BTreeSet<&String> = by_address.keys().filter(|a| is_public(a)).collect();
    let burst_from = |addr: &String| {
        let mut ts = times_by_address.get(addr).cloned().unwrap_or_default();
        ts.sort();
        ts.windows(BURST_COUNT)
            .any(|w| w[BURST_COUNT - 1].duration_since(w[0]) <= BURST_SPAN)
    };
    let guessers: Vec<&String> = by_address
        .keys()
        .filter(|a| {
            burst_from(a)
                || users_by_address
                    .get(*a)
                    .is_some_and(|u| u.len() >= MANY_USERS)
        })
        .collect();
    let scan = !guessers.is_empty() || public.len() >= MANY_PUBLIC;
    let n = list.len();
    let undecoded: usize = unknown.values().sum();
    let why = match (n - undecoded, undecoded) {
        (_, 0) => "with a wrong user name or password".to_string(),
        (0, _) => format!(
            "with status codes our table does not decode ({})",
            counted(&unknown)
        ),
        (bad, _) => format!(
            "({bad} with a wrong user name or password, the others with status codes our table does not decode: {})",
            counted(&unknown)
        ),
    };
    let mut text = format!(
        "On {host} {n} Remote Desktop logon(s) failed {why} {} from {}",
        span(first, last),
        counted(&by_address)
    );
    if !users.is_empty() {
        text.push_str(&format!("; user names tried: {}", counted(&users)));
    }
    text.push('.');
    let story = match (scan, public.is_empty()) {
        (true, false) => format!(
            " This is password guessing against Remote Desktop reachable from the internet (from {}), not a fault of the server or of Remote Desktop Services: restrict who can reach the RDP port (VPN, RD Gateway, firewall), keep Network Level Authentication on and use account lockout.",
            match public.len() {
                1 => "1 public address".to_string(),
                k => format!("{k} public addresses"),
            }
        ),
        (true, true) => " This is password guessing or scanning from inside the network (a scanner, a compromised machine, or a script or service with a wrong password), not a fault of the server or of Remote Desktop Services: find the machine at that address.".to_string(),
        (false, false) => " Some come from public addresses, so Remote Desktop is reachable from the internet; the failures themselves are wrong user names or passwords, not a fault of the server or of Remote Desktop Services.".to_string(),
        (false, true) if undecoded == n => " Look the status codes up (Windows ntstatus.h) before acting: nothing here shows a fault of the server or of Remote Desktop Services.".to_string(),
        (false, true) => " A few wrong user names or passwords, most often mistyped or an outdated password saved in the client (Credential Manager): not a fault of the server or of Remote Desktop Services.".to_string(),
    };
    text.push_str(&story);
    let mut evidence: Vec<Evidence> = Vec::new();
    for a in list.iter().take(EVIDENCE_PER_GROUP) {
        evidence.extend(evidence_of(a));
    }
    if let Some(a) = list.last().filter(|_| n > EVIDENCE_PER_GROUP) {
        evidence.extend(evidence_of(a));
    }
    let mut compromise = false;
    if scan {
        let successes = Successes::of(m);
        let success = guessers
            .iter()
            .copied()
            .chain(public.iter().copied())
            .filter_map(|addr| {
                let after = times_by_address.get(addr)?.iter().min().copied()?;
                successes.after(addr, after).map(|s| (addr, s))
            })
            .min_by_key(|(_, (e, _))| e.time);
        if let Some((addr, (e, user))) = success {
            compromise = true;
            let who = user.map(|u| format!(" as {u}")).unwrap_or_default();
            text.push_str(&format!(
                " After these failures a Remote Desktop logon{who} from {addr} succeeded at {}: treat it as a possible compromise and involve the security team.",
                when(e.time)
            ));
            evidence.push(event_evidence(
                e,
                format!("logon{who} from {addr} succeeded after the failed attempts"),
            ));
        }
    }
    if security_missing {
        text.push_str(" The Security log was not provided: logons refused because of the account (rights, disabled or locked accounts) cannot be seen.");
    }
    let mut f = META.finding(Confidence::Likely, text, evidence);
    f.severity = if compromise {
        Severity::Warning
    } else {
        Severity::Info
    };
    f
}

impl Rule for LogonDenied {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let has_security = m.has_channel("Security");
        let (attempts, untied) = attempts(m);
        let rdp_activity = m.timeline.summary.logons
            + m.timeline.summary.disconnects
            + m.timeline.summary.reconnects
            > 0
            || m.timeline.events.iter().any(|t| {
                !t.foreign_computer
                    && matches!(
                        t.role,
                        Role::Connection | Role::Logon | Role::Disconnect | Role::Authenticated
                    )
            });
        if attempts.is_empty() {
            if !has_security {
                return if rdp_activity {
                    Outcome::Undecided(vec![
                        "Security log not provided: refused Remote Desktop logons (Security 4625, 4825) cannot be seen".to_string(),
                    ])
                } else {
                    Outcome::NotApplicable
                };
            }
            if untied > 0
                && rdp_activity
                && !m.has_channel(RDPCORE_CHANNEL)
                && !m.has_channel(RCM_CHANNEL)
            {
                return Outcome::Undecided(vec![format!(
                    "RdpCoreTS and RemoteConnectionManager Operational logs not provided: {untied} network logon failure(s) (4625 logon type 3, how failed logons with Network Level Authentication are logged) cannot be tied to Remote Desktop"
                )]);
            }
            return Outcome::Pass;
        }
        let host = host_name(m, "the host");
        let (refused, rest): (Vec<&Attempt<'_>>, Vec<&Attempt<'_>>) = attempts
            .iter()
            .partition(|a| a.class.is_some_and(|c| c.is_refusal()));
        let mut findings = Vec::new();
        if !refused.is_empty() {
            findings.push(refusals(&host, &refused));
        }
        if !rest.is_empty() {
            findings.push(guessing(m, &host, &rest, !has_security));
        }
        Outcome::Found(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cleaned_and_classed() {
        let s = |v: &str| clean_address(Some(&v.to_string()));
        assert_eq!(s("194.61.24.102:39550").as_deref(), Some("194.61.24.102"));
        assert_eq!(s("::ffff:10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(s("[2001:db8::1]:3389").as_deref(), Some("2001:db8::1"));
        assert_eq!(
            s("fe80::2dcf:e660:be73:d220").as_deref(),
            Some("fe80::2dcf:e660:be73:d220")
        );
        assert_eq!(s("-"), None);
        assert_eq!(s(" "), None);
        assert!(is_public("194.61.24.102"));
        assert!(is_public("2a01:4f8::1"));
        for private in [
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "not an address",
        ] {
            assert!(!is_public(private), "{private}");
        }
    }
}
