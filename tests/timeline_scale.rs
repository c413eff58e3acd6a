//! The timeline stays fast on a brute-force-sized log: thousands of connections that end before
//! logon, each surrounded by protocol errors, and hundreds of real sessions of one user.

use std::io::Cursor;
use std::time::Instant;

use rdsdiag::eventlog::{read_evtx, EventFilter};
use rdsdiag::render::timeline::{render_text, OutputTz};
use rdsdiag::timeline::{build, PatternKind, TimelineOptions};
use rdsdiag_testsupport::evtx::EvtxBuilder;
use rdsdiag_testsupport::scenario::{lsm_40, lsm_session, termdd_56};

fn at(secs: i64) -> String {
    let t = jiff::Timestamp::from_second(1_709_280_000 + secs).unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[test]
fn brute_force_sized_log() {
    let mut lsm = Vec::new();
    let mut sys = Vec::new();
    // 5000 attempts, one every 2 s, each ending before logon with reason 0, and a TermDD 56.
    for n in 0..5000i64 {
        lsm.push(lsm_40(&at(n * 2), 100 + (n % 50) as u32, 0).computer("RDSH01"));
        sys.push(termdd_56(&at(n * 2), "203.0.113.9").computer("RDSH01"));
    }
    // 500 logon/logoff pairs of one user on rotating session ids.
    for n in 0..500i64 {
        let sid = 2 + (n % 20) as u32;
        lsm.push(
            lsm_session(21, &at(20_000 + n * 60), sid, "CONTOSO\\alice", "10.0.0.5")
                .computer("RDSH01"),
        );
        lsm.push(
            lsm_session(23, &at(20_000 + n * 60 + 30), sid, "CONTOSO\\alice", "")
                .computer("RDSH01"),
        );
    }
    let read = |label: &str, evs| {
        let bytes = EvtxBuilder::new().events(evs).build();
        read_evtx(Cursor::new(bytes), label, &EventFilter::rds())
            .unwrap()
            .events
    };
    let mut events = read("LSM.evtx", lsm);
    events.extend(read("System.evtx", sys));
    let start = Instant::now();
    let t = build(&events, Some("RDSH01"), &TimelineOptions::default());
    let _ = render_text(&t, &OutputTz::utc());
    let took = start.elapsed();
    eprintln!("built and rendered {} events in {took:?}", t.events.len());
    assert_eq!(t.events.len(), 11_000);
    assert_eq!(t.sessions.len(), 5500);
    assert_eq!(t.summary.logons, 500);
    // The attempts share their errors: one burst, not 5000.
    assert_eq!(t.patterns_of(PatternKind::ErrorBurst).count(), 1);
    assert!(t
        .patterns
        .iter()
        .all(|p| p.evidence.len() <= rdsdiag::timeline::MAX_EVIDENCE + 3 * 5000));
}

#[test]
fn many_attempts_are_summarised_in_text() {
    let lsm: Vec<_> = (0..30i64)
        .map(|n| lsm_40(&at(n * 2), 100 + n as u32, 0).computer("RDSH01"))
        .collect();
    let bytes = EvtxBuilder::new().events(lsm).build();
    let events = read_evtx(Cursor::new(bytes), "LSM.evtx", &EventFilter::rds())
        .unwrap()
        .events;
    let t = build(&events, Some("RDSH01"), &TimelineOptions::default());
    let text = render_text(&t, &OutputTz::utc());
    assert!(
        text.contains("Connections that ended before a logon: 30\n    30 × reason 0 (0x0) NoInfo"),
        "{text}"
    );
    assert!(
        text.contains("    … 10 more (see --format jsonl)"),
        "{text}"
    );
    assert!(!text.contains("state ended-before-logon"), "{text}");
}
