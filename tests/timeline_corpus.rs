//! Checks session reconstruction on the real RDP logs of the shared corpus (CITADEL-DC01, a
//! Windows Server 2012 R2 domain controller): pinned session counts, a few pinned sessions, and
//! consistency between sessions and the events they were built from.

use std::path::PathBuf;

use rdsdiag::eventlog::{read_path, EventFilter};
use rdsdiag::render::timeline::{render_jsonl, render_text, render_timesketch, OutputTz};
use rdsdiag::timeline::{
    build, Initiator, PatternKind, Role, SessionFlag, SessionState, Timeline, TimelineOptions,
};
use rdsdiag_testsupport::corpus;

fn citadel() -> Option<Timeline> {
    let dir = corpus::path("captures/CITADEL-DC01/C/Windows/System32/winevt/Logs")?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    paths.sort();
    let mut events = Vec::new();
    for p in &paths {
        let r = read_path(p, &EventFilter::rds()).unwrap();
        events.extend(r.events);
    }
    Some(build(
        &events,
        Some("CITADEL-DC01"),
        &TimelineOptions::default(),
    ))
}

const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";

#[test]
fn citadel_counts_are_pinned() {
    let Some(t) = citadel() else { return };
    assert_eq!(t.summary.sessions, 16);
    assert_eq!(t.summary.users, 2);
    assert_eq!(t.summary.logons, 13);
    assert_eq!(t.summary.disconnects, 3);
    assert_eq!(t.summary.licensing_disconnects, 0);
    assert_eq!(t.summary.reconnects, 0);
    assert_eq!(t.summary.sessions_without_logoff, 1);
    // One burst of RdpCoreTS 139 (brute force) around three short connections.
    assert_eq!(t.patterns.len(), 1, "{:#?}", t.patterns);
    let p = &t.patterns[0];
    assert_eq!(p.kind, PatternKind::ErrorBurst);
    assert_eq!(p.sessions, ["S11", "S13", "S12"]);
    assert_eq!(p.counts.get("RdpCoreTS 139"), Some(&247));
    // No licensing anything: this corpus has no licensing events.
    assert!(t
        .events
        .iter()
        .all(|e| e.role != Role::Licensing && !e.licensing_reason));
}

#[test]
fn citadel_sessions_are_consistent_with_their_events() {
    let Some(t) = citadel() else { return };
    // Every LSM session event with a session id is in exactly one session, and the session
    // lists it.
    let mut seen = std::collections::BTreeMap::new();
    for s in &t.sessions {
        for &i in &s.events {
            assert_eq!(t.events[i].session_key.as_deref(), Some(s.key.as_str()));
            *seen.entry(i).or_insert(0) += 1;
        }
    }
    assert!(seen.values().all(|&n| n == 1));
    for e in t.events.iter().filter(|e| e.role.is_session_scoped()) {
        assert!(e.session_key.is_some(), "{e:?}");
        let s = t
            .sessions
            .iter()
            .find(|s| Some(&s.key) == e.session_key.as_ref())
            .unwrap();
        assert_eq!(Some(s.session_id), e.session);
    }
    // One session per LSM 21, each starting with that logon.
    let logons = t
        .events
        .iter()
        .filter(|e| &*e.provider == LSM && e.event_id == 21)
        .count();
    assert_eq!(logons, 13);
    assert_eq!(
        t.sessions.iter().filter(|s| s.logon.is_some()).count(),
        logons
    );
    // The LSM 40 reasons of the sessions are the log's reason histogram (FACTS.json: 0 ×1,
    // 11 ×1, 12 ×4).
    let mut hist = std::collections::BTreeMap::new();
    for d in t.sessions.iter().flat_map(|s| &s.disconnects) {
        *hist.entry(d.reason_code.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(hist, [(0, 1), (11, 1), (12, 4)].into_iter().collect());
    // Events from the host's earlier names are flagged; sessions there say so.
    let foreign = t.events.iter().filter(|e| e.foreign_computer).count();
    let by_name = t
        .events
        .iter()
        .filter(|e| {
            e.computer
                .as_deref()
                .is_some_and(|c| !c.to_ascii_lowercase().starts_with("citadel-dc01"))
        })
        .count();
    assert_eq!(foreign, by_name);
    assert!(foreign > 0);
    for s in &t.sessions[..7] {
        assert!(s.flags.contains(&SessionFlag::ForeignComputer), "{}", s.key);
    }
    // Intervals never run backwards; durations match logon→logoff.
    for s in &t.sessions {
        for iv in &s.intervals {
            assert!(iv.seconds.unwrap_or(0) >= 0);
        }
        if let (Some(a), Some(b)) = (&s.logon, &s.logoff) {
            assert_eq!(
                s.duration_seconds,
                Some(b.time.duration_since(a.time).as_secs())
            );
        }
    }
}

#[test]
fn citadel_pinned_sessions() {
    let Some(t) = citadel() else { return };
    let get = |k: &str| t.sessions.iter().find(|s| s.key == k).unwrap();
    // The user disconnected their own console session right after logging off (39 Source 1,
    // 40 reason 11, 24).
    let s8 = get("S8");
    assert_eq!(s8.session_id, 1);
    assert_eq!(s8.state, SessionState::LoggedOff);
    assert_eq!(s8.duration_seconds, Some(1073));
    assert_eq!(s8.disconnects.len(), 1);
    assert_eq!(s8.disconnects[0].reason_code, Some(11));
    assert_eq!(s8.disconnects[0].initiator, Initiator::Own);
    assert!(s8.disconnects[0].after_logoff);
    // The attacker's RDP logon from 194.61.24.102, joined to its RCM 1149 and Security 4624
    // (type 10).
    let s14 = get("S14");
    assert_eq!(s14.session_id, 2);
    assert_eq!(s14.user.as_deref(), Some("C137\\Administrator"));
    assert_eq!(s14.addresses, ["194.61.24.102"]);
    assert_eq!(s14.duration_seconds, Some(1808));
    assert_eq!(s14.logon.as_ref().unwrap().record_id, 108);
    assert_eq!(s14.logoff.as_ref().unwrap().record_id, 110);
    let joined = |k: &str| -> Vec<(u16, u64)> {
        get(k)
            .events
            .iter()
            .map(|&i| &t.events[i])
            .filter(|e| !e.role.is_session_scoped())
            .map(|e| (e.event_id, e.record_id))
            .collect()
    };
    assert_eq!(joined("S14"), [(1149, 29326), (4624, 7532)]);
    // The two attempts just before it keep their own authentications.
    assert_eq!(joined("S12"), [(1149, 29322), (4624, 7495)]);
    assert_eq!(joined("S13"), [(1149, 29324), (4624, 7507)]);
    // A connection that ended before anyone logged on (40 reason 0 only).
    let s11 = get("S11");
    assert_eq!(s11.state, SessionState::EndedBeforeLogon);
    assert_eq!(s11.events.len(), 1);
    // The last console logon has no logoff in the evidence.
    let s16 = get("S16");
    assert_eq!(s16.state, SessionState::Active);
    assert!(s16.flags.contains(&SessionFlag::LogoffNotSeen));
    assert_eq!(s16.logon.as_ref().unwrap().record_id, 122);
}

#[test]
fn citadel_outputs_are_deterministic_and_valid() {
    let Some(t) = citadel() else { return };
    let Some(again) = citadel() else { return };
    assert_eq!(t, again);
    let tz = OutputTz::utc();
    assert_eq!(render_text(&t, &tz), render_text(&again, &tz));
    let ts = render_timesketch(&t, &tz);
    assert_eq!(ts.lines().count(), t.events.len() + t.patterns.len());
    for l in ts.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in ["message", "datetime", "timestamp_desc"] {
            assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {l}");
        }
    }
    assert_eq!(render_jsonl(&t, &tz).lines().count(), t.events.len());
}

/// The real logs hold no clock change: nothing is cut, the order stays by time, and the
/// timeline is the one built with clock-change detection off (a tolerance of a century),
/// whatever order the records are given in.
#[test]
fn citadel_has_no_clock_change_and_nothing_changes() {
    let Some(t) = citadel() else { return };
    assert!(t.clock_changes.is_empty(), "{:#?}", t.clock_changes);
    assert!(t.notes.iter().all(|n| n.code != "clock-changed"));
    assert!(t.events.iter().all(|e| e.epoch == 0));
    assert!(t.events.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(t
        .sessions
        .iter()
        .all(|s| !s.flags.contains(&SessionFlag::CutAtClockChange)));
    let dir = corpus::path("captures/CITADEL-DC01/C/Windows/System32/winevt/Logs").unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    paths.sort();
    let mut events = Vec::new();
    for p in paths.iter().rev() {
        let mut r = read_path(p, &EventFilter::rds()).unwrap().events;
        r.reverse();
        events.extend(r);
    }
    let off = TimelineOptions {
        clock_tolerance: jiff::SignedDuration::from_hours(24 * 365 * 100),
        ..TimelineOptions::default()
    };
    let u = build(&events, Some("CITADEL-DC01"), &off);
    let tz = OutputTz::utc();
    assert_eq!(render_jsonl(&u, &tz), render_jsonl(&t, &tz));
    assert_eq!(render_text(&u, &tz), render_text(&t, &tz));
    assert_eq!(u.sessions.len(), t.sessions.len());
}
