//! Session timeline on generated captures: real EVTX files written by the test writer and read
//! back by the real reader, one scenario per pattern and per edge case (files out of order, a
//! log rollover, missing logoff, identical timestamps, reconnect without disconnect), plus the
//! output formats (JSONL keys, Timesketch required fields, time zones, a text snapshot).

use std::io::Cursor;

use jiff::SignedDuration;
use rdsdiag::eventlog::{read_evtx, Event, EventFilter};
use rdsdiag::render::timeline::{render_jsonl, render_text, render_timesketch, OutputTz};
use rdsdiag::timeline::{
    build, Initiator, IntervalEnd, PatternKind, Role, SessionFlag, SessionState, Timeline,
    TimelineOptions,
};
use rdsdiag_testsupport::evtx::{Ev, EvtxBuilder};
use rdsdiag_testsupport::scenario::{
    lsm_39, lsm_40, LSM, LSM_CHANNEL as LSM_CH, RCM, RCM_ADMIN, RCM_OPERATIONAL as RCM_OP,
};
const HOST: &str = "RDSH01.contoso.local";

/// An LSM event of session `sid` (21–25, 41, 42 carry User/SessionID/Address).
fn lsm(id: u32, t: &str, sid: u32, user: &str, addr: &str) -> Ev {
    let sid = sid.to_string();
    let mut f: Vec<(&str, &str)> = vec![("User", user), ("SessionID", &sid)];
    if matches!(id, 21 | 22 | 24 | 25) {
        f.push(("Address", addr));
    }
    Ev::new(LSM, id)
        .time(t)
        .channel(LSM_CH)
        .computer(HOST)
        .user_data("EventXML", &f)
}

/// LSM 39 (disconnected by session `source`) and 40 (reason) for session `sid`, on this host.
fn lsm39(t: &str, sid: u32, source: u32) -> Ev {
    lsm_39(t, sid, source).computer(HOST)
}

fn lsm40(t: &str, sid: u32, reason: u32) -> Ev {
    lsm_40(t, sid, reason).computer(HOST)
}

/// A full disconnect as Windows logs it: 39, 40, 24.
fn disconnect(t: &str, sid: u32, user: &str, addr: &str, reason: u32) -> Vec<Ev> {
    vec![
        lsm39(t, sid, sid),
        lsm40(t, sid, reason),
        lsm(24, t, sid, user, addr),
    ]
}

/// A logon as Windows logs it: 41, 42, 21, 22 (same instant for simplicity).
fn logon(t: &str, sid: u32, user: &str, addr: &str) -> Vec<Ev> {
    vec![
        lsm(41, t, sid, user, addr),
        lsm(42, t, sid, user, addr),
        lsm(21, t, sid, user, addr),
        lsm(22, t, sid, user, addr),
    ]
}

/// RCM licensing event (raw manifest ID, Admin channel, as on WS2012+).
fn rcm_licensing(raw: u32, t: &str, param1: &str) -> Ev {
    let e = Ev::new(RCM, raw)
        .time(t)
        .channel(RCM_ADMIN)
        .computer(HOST)
        .level(3);
    if param1.is_empty() {
        e.user_data("EventXML", &[])
    } else {
        e.user_data("EventXML", &[("Param1", param1)])
    }
}

fn termdd56(t: &str, ip: &str) -> Ev {
    Ev::new("TermDD", 56)
        .qualifiers(49162)
        .level(2)
        .time(t)
        .channel("System")
        .computer(HOST)
        .data(&["\\Device\\Termdd", ip])
}

/// Write a file and read it back through the real reader.
fn read(label: &str, events: impl IntoIterator<Item = Ev>) -> Vec<Event> {
    let bytes = EvtxBuilder::new().events(events).build();
    let r = read_evtx(Cursor::new(bytes), label, &EventFilter::rds()).unwrap();
    assert!(r.problems.is_empty(), "{label}: {:?}", r.problems);
    r.events
}

fn timeline(events: &[Event]) -> Timeline {
    build(events, Some("RDSH01"), &TimelineOptions::default())
}

fn flat(v: Vec<Vec<Ev>>) -> Vec<Ev> {
    v.into_iter().flatten().collect()
}

const U1: &str = "CONTOSO\\alice";
const U2: &str = "CONTOSO\\bob";

#[test]
fn logon_disconnect_reconnect_logoff() {
    let ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T09:30:00Z", 2, U1, "10.0.0.5", 11),
            vec![
                lsm(41, "2024-03-01T09:40:00Z", 2, U1, ""),
                lsm(25, "2024-03-01T09:40:01Z", 2, U1, "10.0.0.6"),
                lsm(23, "2024-03-01T10:00:01Z", 2, U1, ""),
            ],
        ]),
    );
    let t = timeline(&ev);
    assert_eq!(t.sessions.len(), 1);
    let s = &t.sessions[0];
    assert_eq!(s.key, "S1");
    assert_eq!(s.session_id, 2);
    assert_eq!(s.user.as_deref(), Some(U1));
    assert_eq!(s.addresses, ["10.0.0.5", "10.0.0.6"]);
    assert_eq!(s.state, SessionState::LoggedOff);
    assert_eq!(s.duration_seconds, Some(3601));
    assert_eq!(s.intervals.len(), 2);
    assert_eq!(s.intervals[0].end_kind, IntervalEnd::Disconnect);
    assert_eq!(s.intervals[0].seconds, Some(1800));
    assert_eq!(s.intervals[1].end_kind, IntervalEnd::Logoff);
    assert_eq!(s.intervals[1].seconds, Some(1200));
    assert_eq!(s.connected_seconds, 3000);
    assert_eq!(s.disconnects.len(), 1);
    let d = &s.disconnects[0];
    assert_eq!(d.reason_code, Some(11));
    assert_eq!(d.initiator, Initiator::Own);
    assert_eq!(d.events.len(), 3, "39, 40 and 24 form one disconnect");
    assert!(d
        .reason
        .as_deref()
        .unwrap()
        .contains("RPC_INITIATED_DISCONNECT_BYUSER"));
    assert!(!d.licensing_reason && !d.after_logoff);
    assert_eq!(s.reconnects.len(), 1);
    assert!(s.flags.is_empty(), "{:?}", s.flags);
    assert_eq!(t.users.len(), 1);
    assert_eq!(t.users[0].disconnects, 1);
    assert!(t.patterns.is_empty());
    // Every session event is tagged with its session.
    assert!(t
        .events
        .iter()
        .filter(|e| e.role.is_session_scoped())
        .all(|e| e.session_key.as_deref() == Some("S1")));
}

#[test]
fn files_out_of_order_and_log_rollover() {
    // The archived log holds the start of session 3, the live log its end; the live file is
    // given first and one of its records is out of time order (by less than the clock
    // tolerance: a late write, not a clock change).
    let archive = read(
        "Archive-LSM-2024-03-01.evtx",
        logon("2024-03-01T08:00:00Z", 3, U2, "10.0.0.7"),
    );
    let live = read(
        "LSM.evtx",
        flat(vec![
            disconnect("2024-03-01T11:00:00Z", 3, U2, "10.0.0.7", 0),
            vec![lsm(23, "2024-03-01T11:30:20Z", 3, U2, "")],
            vec![lsm(25, "2024-03-01T11:30:00Z", 3, U2, "10.0.0.7")],
        ]),
    );
    let mut all = live.clone();
    all.extend(archive.clone());
    let t = timeline(&all);
    assert_eq!(t.sessions.len(), 1, "{}", render_text(&t, &OutputTz::utc()));
    let s = &t.sessions[0];
    assert!(s
        .logon
        .as_ref()
        .is_some_and(|r| &*r.file == "Archive-LSM-2024-03-01.evtx"));
    assert!(s.logoff.as_ref().is_some_and(|r| &*r.file == "LSM.evtx"));
    assert!(s.flags.contains(&SessionFlag::SpansFiles));
    assert_eq!(strs(&s.files), ["Archive-LSM-2024-03-01.evtx", "LSM.evtx"]);
    assert_eq!(s.intervals.len(), 2);
    assert_eq!(s.intervals[0].seconds, Some(3 * 3600));
    assert!(t.events.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(t
        .notes
        .iter()
        .any(|n| n.code == "records-out-of-time-order"));
    // The same input in the other order gives the same timeline.
    let mut other = archive;
    other.extend(live);
    let o = timeline(&other);
    assert_eq!(
        render_jsonl(&o, &OutputTz::utc()),
        render_jsonl(&t, &OutputTz::utc())
    );
    assert_eq!(o.sessions.len(), 1);
    assert_eq!(o.sessions[0].intervals.len(), 2);
}

#[test]
fn missing_logoff_and_logon_not_seen() {
    let ev = read(
        "LSM.evtx",
        flat(vec![
            // Session 5 began before the log: its first event is a disconnect.
            vec![lsm(24, "2024-03-01T07:00:00Z", 5, U2, "10.0.0.8")],
            vec![lsm(25, "2024-03-01T07:10:00Z", 5, U2, "10.0.0.8")],
            // Session 6 never logs off.
            logon("2024-03-01T08:00:00Z", 6, U1, "10.0.0.5"),
        ]),
    );
    let t = timeline(&ev);
    assert_eq!(t.sessions.len(), 2);
    let s5 = &t.sessions[0];
    assert_eq!(s5.session_id, 5);
    assert!(s5.logon.is_none());
    assert!(s5.flags.contains(&SessionFlag::LogonNotSeen));
    assert!(s5.flags.contains(&SessionFlag::LogoffNotSeen));
    let s6 = &t.sessions[1];
    assert_eq!(s6.state, SessionState::Active);
    assert!(s6.flags.contains(&SessionFlag::LogoffNotSeen));
    assert_eq!(s6.intervals.len(), 1);
    assert_eq!(s6.intervals[0].end_kind, IntervalEnd::Open);
    assert_eq!(s6.intervals[0].seconds, None);
    assert_eq!(t.summary.sessions_without_logoff, 2);
}

#[test]
fn identical_timestamps_are_ordered_deterministically() {
    // 39, 40, 24 and a Security 4779 at the very same 100 ns instant, in two files.
    let t0 = "2024-03-01T09:30:00.1234567Z";
    let lsm_ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            disconnect(t0, 2, U1, "10.0.0.5", 5),
        ]),
    );
    let sec = read(
        "Security.evtx",
        [Ev::new("Microsoft-Windows-Security-Auditing", 4779)
            .time(t0)
            .channel("Security")
            .computer(HOST)
            .event_data(&[
                ("AccountName", "alice"),
                ("AccountDomain", "CONTOSO"),
                ("SessionName", "RDP-Tcp#3"),
                ("ClientName", "LAPTOP7"),
                ("ClientAddress", "10.0.0.5"),
            ])],
    );
    let mut a = lsm_ev.clone();
    a.extend(sec.clone());
    let mut b = sec;
    b.extend(lsm_ev.iter().rev().cloned());
    let ta = timeline(&a);
    let tb = timeline(&b);
    // `input_index` leads back to the event given to build.
    for e in &ta.events {
        assert_eq!(
            (a[e.input_index].record_id, &a[e.input_index].file),
            (e.record_id, &e.file)
        );
    }
    for e in &tb.events {
        assert_eq!(
            (b[e.input_index].record_id, &b[e.input_index].file),
            (e.record_id, &e.file)
        );
    }
    let strip = |t: &Timeline| {
        let mut t = t.clone();
        for e in &mut t.events {
            e.input_index = 0;
        }
        for s in &mut t.sessions {
            for r in s
                .logon
                .iter_mut()
                .chain(s.logoff.iter_mut())
                .chain(s.reconnects.iter_mut())
            {
                r.input_index = 0;
            }
            for iv in &mut s.intervals {
                iv.start.input_index = 0;
                if let Some(e) = &mut iv.end {
                    e.input_index = 0;
                }
            }
            for d in &mut s.disconnects {
                for r in &mut d.events {
                    r.input_index = 0;
                }
            }
        }
        for p in &mut t.patterns {
            for r in &mut p.evidence {
                r.input_index = 0;
            }
        }
        t
    };
    assert_eq!(strip(&ta), strip(&tb));
    assert_eq!(
        render_jsonl(&ta, &OutputTz::utc()),
        render_jsonl(&tb, &OutputTz::utc())
    );
    // Same instant: ordered by record id, then file.
    let same: Vec<(u64, &str)> = ta
        .events
        .iter()
        .filter(|e| {
            e.time
                .to_string()
                .starts_with("2024-03-01T09:30:00.1234567")
        })
        .map(|e| (e.record_id, &*e.file))
        .collect();
    assert_eq!(
        same,
        [
            (1, "Security.evtx"),
            (5, "LSM.evtx"),
            (6, "LSM.evtx"),
            (7, "LSM.evtx")
        ]
    );
    let s = &ta.sessions[0];
    assert_eq!(s.disconnects.len(), 1);
    assert_eq!(s.disconnects[0].reason_code, Some(5));
    // The window-station event joins the disconnect of the same user.
    let w = ta.events.iter().find(|e| e.event_id == 4779).unwrap();
    assert_eq!(w.role, Role::WindowStationDisconnect);
    assert_eq!(w.session_key.as_deref(), Some("S1"));
}

#[test]
fn reconnect_without_prior_disconnect_and_reused_id() {
    let ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            vec![lsm(25, "2024-03-01T09:20:00Z", 2, U1, "10.0.0.9")],
            // Session id 2 reused by a new logon without a logoff (e.g. after a reboot).
            logon("2024-03-02T09:00:00Z", 2, U2, "10.0.0.7"),
        ]),
    );
    let t = timeline(&ev);
    assert_eq!(t.sessions.len(), 2);
    let s = &t.sessions[0];
    assert!(s.flags.contains(&SessionFlag::ReconnectWithoutDisconnect));
    assert!(s.flags.contains(&SessionFlag::SupersededByNewLogon));
    assert!(s.flags.contains(&SessionFlag::LogoffNotSeen));
    assert_eq!(s.state, SessionState::Superseded);
    assert_eq!(
        s.intervals.iter().map(|i| i.end_kind).collect::<Vec<_>>(),
        [IntervalEnd::Reconnect, IntervalEnd::Superseded]
    );
    assert_eq!(s.reconnects.len(), 1);
    assert_eq!(t.sessions[1].user.as_deref(), Some(U2));
}

#[test]
fn foreign_computer_events_are_flagged() {
    let ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            vec![lsm(21, "2024-03-01T09:05:00Z", 2, U2, "10.0.0.6").computer("OTHERHOST")],
        ]),
    );
    let t = timeline(&ev);
    // Session ids are per computer: OTHERHOST's session 2 is another session.
    assert_eq!(t.sessions.len(), 2);
    assert!(!t.sessions[0].flags.contains(&SessionFlag::ForeignComputer));
    assert!(t.sessions[1].flags.contains(&SessionFlag::ForeignComputer));
    assert_eq!(t.events.iter().filter(|e| e.foreign_computer).count(), 1);
    assert!(t.notes.iter().any(|n| n.code == "foreign-computer"));
    // Without a known host nothing is flagged, and the report says so.
    let t = build(&ev, None, &TimelineOptions::default());
    assert!(t.events.iter().all(|e| !e.foreign_computer));
    assert!(t.notes.iter().any(|n| n.code == "host-unknown"));
}

#[test]
fn duplicate_records_from_two_copies_count_once() {
    let events = logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5");
    let mut a = read("bundle1/LSM.evtx", events.clone());
    a.extend(read("bundle2/LSM.evtx", events));
    let t = timeline(&a);
    assert_eq!(t.events.len(), 4);
    assert_eq!(t.sessions.len(), 1);
    assert_eq!(t.sessions[0].flags, [SessionFlag::LogoffNotSeen]);
    assert_eq!(strs(&t.sessions[0].files), ["bundle1/LSM.evtx"]);
    assert!(t.notes.iter().any(|n| n.code == "duplicate-records"));
}

#[test]
fn pattern_licensing_disconnect() {
    let ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T10:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T10:14:00Z", 2, U1, "10.0.0.5", 257),
            logon("2024-03-01T11:00:00Z", 3, U2, "10.0.0.6"),
            disconnect("2024-03-01T11:30:00Z", 3, U2, "10.0.0.6", 0),
        ]),
    );
    let mut all = ev;
    all.extend(read(
        "RCM-Admin.evtx",
        [
            rcm_licensing(50283, "2024-03-01T10:11:00Z", "LS01.contoso.local"),
            rcm_licensing(50283, "2024-03-01T10:13:59Z", "LS01.contoso.local"),
            // Ten minutes before the second disconnect: outside the default window.
            rcm_licensing(50282, "2024-03-01T11:20:00Z", ""),
        ],
    ));
    let t = timeline(&all);
    let lic: Vec<_> = t.patterns_of(PatternKind::LicensingDisconnect).collect();
    assert_eq!(lic.len(), 1, "{:#?}", t.patterns);
    let p = lic[0];
    assert_eq!(p.sessions, ["S1"]);
    assert_eq!(p.reason_code, Some(257));
    assert!(p.licensing_reason);
    assert_eq!(p.counts.get("RCM 1131"), Some(&2));
    assert_eq!(p.supporting_events, 2);
    // Evidence: the three disconnect events and the two licensing events, each with file,
    // record id and time.
    assert_eq!(p.evidence.len(), 5);
    assert!(p
        .evidence
        .iter()
        .any(|r| &*r.file == "RCM-Admin.evtx" && r.event_id == 1131));
    assert_eq!(t.summary.licensing_disconnects, 1);
    // A wider documented window also catches the 1130 before the second disconnect.
    let wide = TimelineOptions {
        licensing_window: SignedDuration::from_mins(15),
        ..TimelineOptions::default()
    };
    let t = build(&all, Some("RDSH01"), &wide);
    let lic: Vec<_> = t.patterns_of(PatternKind::LicensingDisconnect).collect();
    assert_eq!(lic.len(), 2);
    assert_eq!(lic[1].sessions, ["S2"]);
    assert!(!lic[1].licensing_reason);
    assert_eq!(lic[1].counts.get("RCM 1130"), Some(&1));
}

#[test]
fn pattern_soft_enforcement() {
    // Alice: three ~60-minute connected intervals, each ended by a disconnect with reason 0.
    let mut evs = logon("2024-03-01T08:00:00Z", 2, U1, "10.0.0.5");
    evs.extend(disconnect("2024-03-01T09:00:05Z", 2, U1, "10.0.0.5", 0));
    evs.push(lsm(25, "2024-03-01T09:02:00Z", 2, U1, "10.0.0.5"));
    evs.extend(disconnect("2024-03-01T10:02:04Z", 2, U1, "10.0.0.5", 0));
    evs.push(lsm(25, "2024-03-01T10:05:00Z", 2, U1, "10.0.0.5"));
    evs.extend(disconnect("2024-03-01T11:04:30Z", 2, U1, "10.0.0.5", 0));
    // Bob: 30-minute intervals do not fit.
    evs.extend(logon("2024-03-01T08:00:00Z", 3, U2, "10.0.0.6"));
    evs.extend(disconnect("2024-03-01T08:30:00Z", 3, U2, "10.0.0.6", 0));
    evs.push(lsm(25, "2024-03-01T08:31:00Z", 3, U2, "10.0.0.6"));
    evs.extend(disconnect("2024-03-01T09:01:00Z", 3, U2, "10.0.0.6", 0));
    let mut all = read("LSM.evtx", evs);
    all.extend(read(
        "RCM-Admin.evtx",
        [rcm_licensing(50282, "2024-03-01T07:58:00Z", "")],
    ));
    let t = timeline(&all);
    let soft: Vec<_> = t.patterns_of(PatternKind::HourlyDisconnects).collect();
    assert_eq!(soft.len(), 1, "{:#?}", t.patterns);
    let p = soft[0];
    assert_eq!(p.user.as_deref(), Some(U1));
    assert_eq!(p.intervals.len(), 3);
    assert!(p
        .intervals
        .iter()
        .all(|i| (3300..=3900).contains(&i.seconds)));
    assert_eq!(p.intervals[0].seconds, 3605);
    assert_eq!(p.intervals[0].reason_code, Some(0));
    assert_eq!(p.counts.get("RCM 1130"), Some(&1));
    // Evidence: each interval's start, and its disconnect's three events; plus the 1130.
    assert_eq!(p.evidence.len(), 3 * 4 + 1);
    // One interval is not "repeated".
    let strict = TimelineOptions {
        hourly_repeats: 4,
        ..TimelineOptions::default()
    };
    assert!(build(&all, Some("RDSH01"), &strict)
        .patterns
        .iter()
        .all(|p| p.kind != PatternKind::HourlyDisconnects));
}

#[test]
fn pattern_cannot_reconnect() {
    let base = flat(vec![
        logon("2024-03-01T09:00:00Z", 3, U2, "10.0.0.7"),
        // Bob's client lost the connection; the server never logged a disconnect. At 09:30
        // he gets a new session 4 instead of his session 3.
        logon("2024-03-01T09:30:00Z", 4, U2, "10.0.0.7"),
        // Much later session 3 is disconnected because another connection took over.
        disconnect("2024-03-01T10:00:00Z", 3, U2, "10.0.0.7", 5),
    ]);
    let t = timeline(&read("LSM.evtx", base));
    let cr: Vec<_> = t.patterns_of(PatternKind::CannotReconnect).collect();
    assert_eq!(cr.len(), 1, "{:#?}", t.patterns);
    let p = cr[0];
    assert_eq!(p.sessions, ["S1", "S2"]);
    assert_eq!(p.user.as_deref(), Some(U2));
    assert_eq!(p.reason_code, Some(5));
    // Old logon and shell start (its last sign of life), new logon, and the later disconnect
    // (39, 40, 24).
    assert_eq!(
        p.evidence.iter().map(|r| r.event_id).collect::<Vec<_>>(),
        [21, 22, 21, 39, 40, 24]
    );
    // Negative: the old session disconnected before the new logon.
    let ok = flat(vec![
        logon("2024-03-01T09:00:00Z", 3, U2, "10.0.0.7"),
        disconnect("2024-03-01T09:20:00Z", 3, U2, "10.0.0.7", 0),
        logon("2024-03-01T09:30:00Z", 4, U2, "10.0.0.7"),
    ]);
    let t = timeline(&read("LSM.evtx", ok));
    assert!(t
        .patterns
        .iter()
        .all(|p| p.kind != PatternKind::CannotReconnect));
    // Negative: a console session beside a remote one is normal.
    let console = flat(vec![
        logon("2024-03-01T09:00:00Z", 1, U2, "LOCAL"),
        logon("2024-03-01T09:30:00Z", 4, U2, "10.0.0.7"),
    ]);
    let t = timeline(&read("LSM.evtx", console));
    assert!(t.patterns.is_empty());
}

#[test]
fn pattern_error_burst() {
    let lsm_ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T09:30:00Z", 2, U1, "10.0.0.5", 0),
        ]),
    );
    let errors = |n: usize| {
        let mut v: Vec<Ev> = (0..n)
            .map(|i| termdd56(&format!("2024-03-01T09:29:{:02}Z", 10 + i), "10.0.0.5"))
            .collect();
        v.push(
            Ev::new("Schannel", 36888)
                .level(2)
                .time("2024-03-01T09:30:01Z")
                .channel("System")
                .computer(HOST)
                .event_data(&[("AlertDesc", "40"), ("ErrorState", "1205")]),
        );
        v
    };
    let mut all = lsm_ev.clone();
    all.extend(read("System.evtx", errors(3)));
    let t = timeline(&all);
    let b: Vec<_> = t.patterns_of(PatternKind::ErrorBurst).collect();
    assert_eq!(b.len(), 1, "{:#?}", t.patterns);
    assert_eq!(b[0].supporting_events, 4);
    assert_eq!(b[0].counts.get("TermDD 56"), Some(&3));
    assert_eq!(b[0].counts.get("Schannel 36888"), Some(&1));
    assert!(b[0]
        .evidence
        .iter()
        .any(|r| &*r.file == "System.evtx" && r.event_id == 56));
    // Two errors are no burst.
    let mut few = lsm_ev;
    few.extend(read("System.evtx", errors(1)));
    assert!(timeline(&few).patterns.is_empty());
}

/// A small capture with a bit of everything, for the renderer tests.
fn mixed() -> Timeline {
    let mut all = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T10:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T10:14:00Z", 2, U1, "10.0.0.5", 257),
            vec![lsm(25, "2024-03-01T10:20:00Z", 2, U1, "10.0.0.5")],
            vec![lsm(23, "2024-03-01T10:40:00Z", 2, U1, "")],
            vec![lsm40("2024-03-01T10:40:00.5Z", 2, 12)],
        ]),
    );
    all.extend(read(
        "RCM-Admin.evtx",
        [rcm_licensing(
            50283,
            "2024-03-01T10:13:30Z",
            "LS01.contoso.local",
        )],
    ));
    all.extend(read(
        "RCM-Operational.evtx",
        [Ev::new(RCM, 1149)
            .time("2024-03-01T09:59:58Z")
            .channel(RCM_OP)
            .computer(HOST)
            .user_data(
                "EventXML",
                &[
                    ("Param1", "alice"),
                    ("Param2", "CONTOSO"),
                    ("Param3", "10.0.0.5"),
                ],
            )],
    ));
    timeline(&all)
}

#[test]
fn text_snapshot() {
    let t = mixed();
    insta::assert_snapshot!("timeline_text_mixed", render_text(&t, &OutputTz::utc()));
}

#[test]
fn jsonl_has_one_event_per_line_with_the_contract_keys() {
    let t = mixed();
    let out = render_jsonl(&t, &OutputTz::utc());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), t.events.len());
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in [
            "time",
            "computer",
            "channel",
            "provider",
            "event_id",
            "raw_event_id",
            "record_id",
            "file",
            "session",
            "user",
            "reason_code",
            "reason",
            "message",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {l}");
        }
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    let r: serde_json::Value = serde_json::from_str(
        lines
            .iter()
            .find(|l| l.contains("\"reason_code\":257"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(r["session"], 2);
    assert_eq!(r["session_key"], "S1");
    assert!(r["reason"]
        .as_str()
        .unwrap()
        .contains("LICENSE_NO_LICENSE_SERVER"));
    assert!(r["message"].as_str().unwrap().contains("257"));
    // The licensing event kept both IDs.
    let l: serde_json::Value = serde_json::from_str(
        lines
            .iter()
            .find(|l| l.contains("\"event_id\":1131"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(l["raw_event_id"], 50283);
}

#[test]
fn timesketch_lines_have_the_required_fields() {
    let t = mixed();
    for tz in [OutputTz::utc(), OutputTz::parse("+02:00").unwrap()] {
        let out = render_timesketch(&t, &tz);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), t.events.len() + t.patterns.len());
        for l in lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["message", "datetime", "timestamp_desc"] {
                let s = v[k]
                    .as_str()
                    .unwrap_or_else(|| panic!("{k} missing in {l}"));
                assert!(!s.is_empty(), "{k} empty in {l}");
            }
            // ISO 8601 that parses back to the same instant as `timestamp` (µs).
            let dt: jiff::Timestamp = v["datetime"].as_str().unwrap().parse().unwrap();
            assert_eq!(dt.as_microsecond(), v["timestamp"].as_i64().unwrap());
        }
    }
}

#[test]
fn time_zone_changes_only_the_rendering() {
    let t = mixed();
    let utc = render_text(&t, &OutputTz::utc());
    let plus2 = render_text(&t, &OutputTz::parse("+02:00").unwrap());
    assert!(utc.starts_with("Session timeline (times in UTC)"));
    assert!(plus2.starts_with("Session timeline (times in UTC+02:00)"));
    assert!(utc.contains("2024-03-01T10:14:00.0000000Z"));
    assert!(plus2.contains("2024-03-01T12:14:00.0000000+02:00"));
    let j = render_jsonl(&t, &OutputTz::parse("-05:00").unwrap());
    assert!(j.contains("\"time\":\"2024-03-01T05:14:00.0000000-05:00\""));
}

#[test]
fn hostile_field_values_do_not_panic() {
    // Non-numeric session ids and reasons, empty users, huge numbers.
    let ev = read(
        "LSM.evtx",
        [
            Ev::new(LSM, 21)
                .time("2024-03-01T09:00:00Z")
                .channel(LSM_CH)
                .user_data(
                    "EventXML",
                    &[("User", ""), ("SessionID", "x"), ("Address", "")],
                ),
            Ev::new(LSM, 40)
                .time("2024-03-01T09:00:01Z")
                .channel(LSM_CH)
                .user_data(
                    "EventXML",
                    &[("Session", "4294967295"), ("Reason", "banana")],
                ),
            Ev::new(LSM, 40)
                .time("2024-03-01T09:00:02Z")
                .channel(LSM_CH)
                .user_data("EventXML", &[("Session", "1"), ("Reason", "99999999999")]),
        ],
    );
    let t = build(&ev, Some(""), &TimelineOptions::default());
    assert!(t.notes.iter().any(|n| n.code == "no-session-id"));
    // Times at the edge of jiff's range (the evtx crate refuses such records, but events can come
    // from elsewhere): windows clamp instead of overflowing.
    let mut edge = read(
        "Edge.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T09:30:00Z", 2, U1, "10.0.0.5", 257),
            vec![termdd56("2024-03-01T09:29:59Z", "10.0.0.5")],
        ]),
    );
    let max = jiff::Timestamp::MAX;
    let n = edge.len() as i64;
    for (k, e) in edge.iter_mut().enumerate() {
        e.time = max - SignedDuration::from_secs(n - k as i64);
    }
    let te = timeline(&edge);
    assert_eq!(te.sessions.len(), 1);
    assert_eq!(te.patterns_of(PatternKind::LicensingDisconnect).count(), 1);
    for e in &mut edge {
        e.time = jiff::Timestamp::MIN + SignedDuration::from_secs(e.record_id as i64);
    }
    let te = timeline(&edge);
    assert_eq!(te.patterns_of(PatternKind::LicensingDisconnect).count(), 1);
    let r = t
        .events
        .iter()
        .find(|e| e.fields.get("Reason").map(String::as_str) == Some("banana"));
    assert_eq!(r.unwrap().reason.as_deref(), Some("unreadable(banana)"));
    let _ = render_text(&t, &OutputTz::utc());
    let _ = render_timesketch(&t, &OutputTz::utc());
}

#[test]
fn pattern_client_licensing_disconnect() {
    use rdsdiag_testsupport::scenario::rdp_client_1026;
    let ev = read(
        "RDPClient.evtx",
        [
            rdp_client_1026("2024-03-01T09:00:00Z", 2056, "licensing protocol error"),
            rdp_client_1026("2024-03-01T09:10:00Z", 2308, "socket closed"),
        ],
    );
    // The client's own log: its records name the client (HOST), the capture's host.
    let t = build(&ev, Some("HOST"), &TimelineOptions::default());
    let lic: Vec<_> = t.patterns_of(PatternKind::LicensingDisconnect).collect();
    assert_eq!(lic.len(), 1, "{:#?}", t.patterns);
    assert_eq!(lic[0].reason_code, Some(2056));
    assert!(lic[0].sessions.is_empty());
    assert!(
        lic[0].summary.contains("client code 2056"),
        "{}",
        lic[0].summary
    );
    // Client codes are decoded in the client space: 2308 is a network loss, not licensing.
    let other = t
        .events
        .iter()
        .find(|e| e.reason_code == Some(2308))
        .unwrap();
    assert!(!other.licensing_reason);
    assert!(other.reason.as_deref().unwrap().contains("socket closed"));
}

#[test]
fn window_station_reconnect_joins_its_reconnect_before_or_after() {
    let sec = |id: u32, t: &str| {
        Ev::new("Microsoft-Windows-Security-Auditing", id)
            .time(t)
            .channel("Security")
            .computer(HOST)
            .event_data(&[
                ("AccountName", "alice"),
                ("AccountDomain", "CONTOSO"),
                ("SessionName", "RDP-Tcp#3"),
                ("ClientName", "LAPTOP7"),
                ("ClientAddress", "10.0.0.6"),
            ])
    };
    let mut all = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            disconnect("2024-03-01T09:30:00Z", 2, U1, "10.0.0.5", 0),
            vec![lsm(25, "2024-03-01T09:40:00Z", 2, U1, "10.0.0.6")],
            // Another user's reconnect nearby must not take it.
            logon("2024-03-01T09:39:00Z", 3, U2, "10.0.0.7"),
        ]),
    );
    // 4778 a second after the LSM 25.
    all.extend(read("Security.evtx", [sec(4778, "2024-03-01T09:40:01Z")]));
    let t = timeline(&all);
    let w = t.events.iter().find(|e| e.event_id == 4778).unwrap();
    assert_eq!(w.role, Role::WindowStationReconnect);
    assert_eq!(w.session_key.as_deref(), Some("S1"));
    assert_eq!(t.session("S1").unwrap().addresses, ["10.0.0.5", "10.0.0.6"]);
}

#[test]
fn refused_connection_with_licensing_reason_is_a_licensing_disconnect() {
    // Hard enforcement (Windows Server 2022+): the connection is refused before logon.
    let mut all = read(
        "LSM.evtx",
        [
            lsm(41, "2024-03-01T09:00:00Z", 4, U1, ""),
            lsm40("2024-03-01T09:00:02Z", 4, 266),
        ],
    );
    all.extend(read(
        "RCM-Admin.evtx",
        [rcm_licensing(50280, "2024-03-01T08:58:00Z", "")],
    ));
    let t = timeline(&all);
    let s = &t.sessions[0];
    assert_eq!(s.state, SessionState::EndedBeforeLogon);
    assert!(s.disconnects[0].licensing_reason);
    let p: Vec<_> = t.patterns_of(PatternKind::LicensingDisconnect).collect();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason_code, Some(266));
    assert_eq!(p[0].counts.get("RCM 1128"), Some(&1));
    assert!(
        p[0].summary.contains("LICENSE_NO_REMOTE_CONNECTIONS"),
        "{}",
        p[0].summary
    );
}

fn strs(v: &[std::sync::Arc<str>]) -> Vec<&str> {
    v.iter().map(|s| &**s).collect()
}

/// Every log of a generated host, written and read back through the real reader.
fn read_logs(logs: &rdsdiag_testsupport::clock::HostLogs) -> Vec<Event> {
    logs.files()
        .into_iter()
        .flat_map(|(f, e)| read(f, e))
        .collect()
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn clock_rollback_cuts_sessions_and_keeps_the_logoff_written_after_it() {
    use rdsdiag::timeline::ClockDirection;
    use rdsdiag_testsupport::clock::{clock_rollback, rollback_times as rt};
    let logs = clock_rollback(HOST);
    let ev = read_logs(&logs);
    let t = timeline(&ev);
    let text = render_text(&t, &OutputTz::utc());

    // Two changes, each seen in every log that wrote on both sides of it.
    assert_eq!(t.clock_changes.len(), 2, "{text}");
    let (fwd, back) = (&t.clock_changes[0], &t.clock_changes[1]);
    assert_eq!(fwd.direction, ClockDirection::Forward);
    assert_eq!(
        (fwd.from, fwd.to),
        (ts(rt::BEFORE_FORWARD), ts(rt::AFTER_FORWARD))
    );
    assert_eq!(back.direction, ClockDirection::Back);
    assert_eq!(
        (back.from, back.to),
        (ts(rt::BEFORE_BACK), ts(rt::AFTER_BACK))
    );
    assert_eq!(
        back.seconds,
        ts(rt::AFTER_BACK)
            .duration_since(ts(rt::BEFORE_BACK))
            .as_secs()
    );
    let seen: Vec<&str> = back.seen_in.iter().map(|s| &*s.file).collect();
    assert_eq!(
        seen,
        [
            "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
            "Security.evtx",
            "System.evtx"
        ],
        "{text}"
    );
    // The System log's sighting names its own records on both sides.
    let sys = back
        .seen_in
        .iter()
        .find(|s| &*s.file == "System.evtx")
        .unwrap();
    assert_eq!((sys.before_record_id, sys.record_id), (4, 5));
    assert_eq!(
        (sys.from, sys.to),
        (ts(rt::BEFORE_BACK), ts(rt::AFTER_BACK))
    );
    let notes: Vec<&str> = t
        .notes
        .iter()
        .filter(|n| n.code == "clock-changed")
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(notes.len(), 2, "{:?}", t.notes);
    assert!(
        notes[1].contains("clock changed at 2024-07-24T12:00:00Z: set back by 195 days 23 h"),
        "{}",
        notes[1]
    );
    assert!(notes[1].contains("also in"), "{}", notes[1]);
    assert!(!t
        .notes
        .iter()
        .any(|n| n.code == "records-out-of-time-order"));

    // Session 2, five times: cut at each change, never one 196-day session.
    let s: Vec<_> = t.sessions.iter().filter(|s| s.session_id == 2).collect();
    assert_eq!(s.len(), 5, "{text}");
    for x in &s {
        assert!(x.end.duration_since(x.start).as_hours() < 24, "{text}");
        assert!(x.duration_seconds.is_none_or(|d| d < 86_400));
    }
    let users: Vec<&str> = s.iter().map(|x| x.user.as_deref().unwrap_or("")).collect();
    assert_eq!(users, [U1, U1, U2, U2, U1]);
    // Alice's first session, cut at the jump forward: her logoff is in the next epoch.
    assert!(s[0].flags.contains(&SessionFlag::CutAtClockChange));
    assert!(s[0].flags.contains(&SessionFlag::LogoffNotSeen));
    assert_eq!(s[0].reconnects.len(), 1);
    assert_eq!(s[1].state, SessionState::LoggedOff);
    assert!(s[1].flags.contains(&SessionFlag::LogonNotSeen));
    // Bob's logon before the jump back, his logoff written after it: kept.
    assert!(s[2].logon.is_some());
    assert_eq!(s[2].disconnects.len(), 1);
    let logoff = s[3]
        .logoff
        .as_ref()
        .expect("the logoff written after the jump");
    assert_eq!(logoff.time, ts(rt::LOGOFF_AFTER_BACK));
    assert_eq!(s[3].state, SessionState::LoggedOff);
    assert_eq!(s[3].user.as_deref(), Some(U2));
    // Alice's second use of the id after the jump back is a clean session.
    assert_eq!(s[4].state, SessionState::LoggedOff);
    assert_eq!(s[4].duration_seconds, Some(3600));
    assert!(!s[4].flags.contains(&SessionFlag::CutAtClockChange));
    // Authentication joins its own logon, in its own clock epoch.
    for x in [s[0], s[2], s[4]] {
        let joined: Vec<u16> = x.events.iter().map(|&i| t.events[i].event_id).collect();
        assert!(
            joined.contains(&4624) && joined.contains(&1149),
            "{joined:?} {text}"
        );
    }
    // Events in write order across the changes: each log's record ids increase along the
    // timeline, and the span covers the true and the wrong times.
    for f in t.files.keys() {
        let ids: Vec<u64> = t
            .events
            .iter()
            .filter(|e| &*e.file == f)
            .map(|e| e.record_id)
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{f}: {ids:?}");
    }
    assert_eq!(t.first, Some(ts("2024-01-10T07:00:00Z")));
    assert_eq!(t.last, Some(ts(rt::BEFORE_BACK)));
    assert!(text.contains("Clock changes"), "{text}");
    let jl = render_jsonl(&t, &OutputTz::utc());
    let epochs: Vec<u64> = jl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    assert!(epochs.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!((epochs[0], epochs[epochs.len() - 1]), (0, 2));
    let sketch = render_timesketch(&t, &OutputTz::utc());
    assert_eq!(sketch.matches("rdsdiag:timeline:clock-change").count(), 2);

    // The files in any order give the same timeline.
    let mut other: Vec<Event> = Vec::new();
    for (f, e) in logs.files().into_iter().rev() {
        let mut r = read(f, e);
        r.reverse();
        other.extend(r);
    }
    let o = timeline(&other);
    assert_eq!(o.clock_changes, t.clock_changes);
    assert_eq!(
        render_jsonl(&o, &OutputTz::utc()),
        render_jsonl(&t, &OutputTz::utc())
    );
}

#[test]
fn small_steps_back_are_not_clock_changes() {
    // 30 s back inside one log (a late write), 2 min back in another: only the second is a
    // clock change.
    let lsm_ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            vec![lsm(24, "2024-03-01T09:30:00Z", 2, U1, "10.0.0.5")],
            vec![lsm(25, "2024-03-01T09:29:30Z", 2, U1, "10.0.0.5")],
            vec![lsm(23, "2024-03-01T10:00:00Z", 2, U1, "")],
        ]),
    );
    let t = timeline(&lsm_ev);
    assert!(t.clock_changes.is_empty());
    assert_eq!(t.sessions.len(), 1);
    assert!(t
        .notes
        .iter()
        .any(|n| n.code == "records-out-of-time-order"));
    let sys = read(
        "System.evtx",
        [
            termdd56("2024-03-01T09:10:00Z", "203.0.113.9"),
            termdd56("2024-03-01T09:08:00Z", "203.0.113.9"),
        ],
    );
    let mut all = lsm_ev;
    all.extend(sys);
    let t = timeline(&all);
    assert_eq!(t.clock_changes.len(), 1);
    assert_eq!(&*t.clock_changes[0].file, "System.evtx");
    assert_eq!(t.clock_changes[0].seconds, -120);
    // The change is the host's: the LSM session, whose events straddle it (logon before,
    // the rest after), is cut there although the LSM log itself shows no step back.
    assert_eq!(t.sessions.len(), 2);
    assert!(t.sessions[0].flags.contains(&SessionFlag::CutAtClockChange));
    assert_eq!(t.sessions[1].state, SessionState::LoggedOff);
    // A log that only steps back within the tolerance cuts nothing.
    let sys_ok = read(
        "System.evtx",
        [
            termdd56("2024-03-01T09:10:00Z", "203.0.113.9"),
            termdd56("2024-03-01T09:09:30Z", "203.0.113.9"),
        ],
    );
    let mut all = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            vec![lsm(23, "2024-03-01T10:00:00Z", 2, U1, "")],
        ]),
    );
    all.extend(sys_ok);
    let t = timeline(&all);
    assert!(t.clock_changes.is_empty());
    assert_eq!(t.sessions.len(), 1);
}

#[test]
fn doubled_event_40_is_one_disconnect() {
    use rdsdiag_testsupport::clock::doubled_event_40;
    for gap in [500, 700, 999] {
        let ev = read_logs(&doubled_event_40(HOST, U1, gap));
        let t = timeline(&ev);
        let text = render_text(&t, &OutputTz::utc());
        assert_eq!(t.sessions.len(), 1, "{text}");
        let s = &t.sessions[0];
        assert_eq!(s.disconnects.len(), 2, "{text}");
        assert_eq!(t.summary.disconnects, 2);
        assert_eq!(t.users[0].disconnects, 2);
        for d in &s.disconnects {
            assert_eq!(d.reason_code, Some(5));
            let forties = d.events.iter().filter(|r| r.event_id == 40).count();
            assert_eq!(forties, 2, "both 40s cited: {text}");
        }
        // The reconnect between the two 40s of the second takeover stays connected.
        assert_eq!(s.reconnects.len(), 2);
        assert_eq!(s.state, SessionState::LoggedOff);
        let ends: Vec<IntervalEnd> = s.intervals.iter().map(|i| i.end_kind).collect();
        assert_eq!(
            ends,
            [
                IntervalEnd::Disconnect,
                IntervalEnd::Disconnect,
                IntervalEnd::Logoff
            ],
            "{text}"
        );
    }
    // Two 40s with different reasons are two disconnect records, as before.
    let ev = read(
        "LSM.evtx",
        flat(vec![
            logon("2024-03-01T09:00:00Z", 2, U1, "10.0.0.5"),
            vec![
                lsm40("2024-03-01T09:30:00Z", 2, 5),
                lsm40("2024-03-01T09:30:00.5Z", 2, 11),
            ],
        ]),
    );
    let t = timeline(&ev);
    assert_eq!(t.sessions[0].disconnects.len(), 2);
}

/// `analyze` on a capture with the clock rollback: the host section names both clock changes,
/// the JSON timeline lists them.
#[test]
fn analyze_shows_clock_changes_in_the_host_section() {
    use rdsdiag_testsupport::clock::clock_rollback;
    use rdsdiag_testsupport::scenario::{Machine, Os};
    let mut m = Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"));
    for (f, e) in clock_rollback(HOST).files() {
        m = m.log_as_written(f, e);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = m.write_kape(&dir.path().join("RDSH01")).unwrap();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("rdsdiag")
            .unwrap()
            // Unwrapped lines: this test reads each clock change from one line.
            .env("COLUMNS", "0")
            .arg("analyze")
            .arg(&root)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    let host = &text[text.find("\nHost").unwrap()..text.find("\nFindings").unwrap()];
    let clock: Vec<&str> = host.lines().filter(|l| l.contains("Clock:")).collect();
    assert_eq!(clock.len(), 2, "{host}");
    assert!(
        clock[0].contains("clock changed at 2024-01-10T09:30:00Z: set forward by"),
        "{host}"
    );
    assert!(
        clock[1].contains("set back by 195 days 23 h to 2024-01-10T13:00:00Z"),
        "{host}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    let changes = &json["captures"][0]["timeline"]["clock_changes"];
    assert_eq!(changes.as_array().map(Vec::len), Some(2), "{changes}");
    assert_eq!(changes[1]["direction"], "back");
    assert_eq!(changes[1]["seen_in"].as_array().map(Vec::len), Some(4));
    let md = run(&["--format", "markdown"]);
    assert_eq!(md.matches("| Clock | clock changed at").count(), 2, "{md}");
}
