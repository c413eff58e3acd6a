//! The event-log layer on generated logs (testsupport's EVTX writer): the writer's output read
//! back by the `evtx` crate itself, then rdsdiag's normalisation (Qualifiers, UserData, empty
//! EventData, RCM raw IDs) and integrity account (bad chunks, truncated tail, dirty header,
//! stale chunk count, wrapped logs, irrelevant and mixed channels), and no panics on damage.

use std::io::Cursor;

use evtx::{EvtxParser, ParserSettings};
use rdsdiag::eventlog::{read_evtx, EventFilter, EvtxReport};
use rdsdiag_testsupport::evtx::{self as w, Encoding, Ev, EvtxBuilder};

const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
const LSM_OP: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const RCM_ADMIN: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin";

fn read(bytes: &[u8], filter: &EventFilter) -> EvtxReport {
    read_evtx(Cursor::new(bytes.to_vec()), "gen.evtx", filter).unwrap()
}

fn sample() -> Vec<Ev> {
    vec![
        Ev::new(LSM, 21)
            .guid("{5d896912-022d-40aa-a3a8-4fa5515c76d7}")
            .time("2024-03-01T10:00:00.1234567Z")
            .channel(LSM_OP)
            .computer("RDSH01.corp.example")
            .user_data(
                "EventXML",
                &[
                    ("User", "CORP\\alice"),
                    ("SessionID", "2"),
                    ("Address", "10.0.0.5"),
                ],
            ),
        Ev::new(LSM, 40)
            .time("2024-03-01T10:14:00.0000001Z")
            .channel(LSM_OP)
            .user_data("EventXML", &[("Session", "2"), ("Reason", "5")]),
        Ev::new("TermDD", 56)
            .qualifiers(49162)
            .level(2)
            .time("2024-03-01T10:15:00Z")
            .data(&["\\Device\\Termdd", "10.0.0.9"]),
        Ev::new(RCM, 50282)
            .level(3)
            .time("2024-03-01T10:16:00Z")
            .channel(RCM_ADMIN)
            .empty_event_data(),
        Ev::new("Service Control Manager", 7036)
            .qualifiers(16384)
            .time("2024-03-01T10:17:00Z")
            .event_data(&[("param1", "Remote Desktop Services"), ("param2", "stopped")]),
        Ev::new("Microsoft-Windows-Kernel-General", 1).time("2024-03-01T10:18:00Z"),
    ]
}

#[test]
fn writer_output_reads_back_with_the_evtx_crate() {
    for enc in [
        Encoding::Template,
        Encoding::TemplateNested,
        Encoding::Plain,
    ] {
        let bytes = EvtxBuilder::new().encoding(enc).events(sample()).build();
        let mut p = EvtxParser::from_buffer(bytes).unwrap().with_configuration(
            ParserSettings::new()
                .num_threads(1)
                .validate_checksums(true),
        );
        let recs: Vec<serde_json::Value> = p
            .records_json_value()
            .map(|r| r.unwrap_or_else(|e| panic!("{enc:?}: {e}")).data)
            .collect();
        assert_eq!(recs.len(), 6, "{enc:?}");
        let sys = &recs[0]["Event"]["System"];
        assert_eq!(sys["Provider"]["#attributes"]["Name"], LSM);
        assert_eq!(sys["Channel"], LSM_OP);
        assert_eq!(sys["Computer"], "RDSH01.corp.example");
        assert_eq!(
            sys["TimeCreated"]["#attributes"]["SystemTime"],
            "2024-03-01T10:00:00.1234567Z"
        );
        assert_eq!(
            recs[0]["Event"]["UserData"]["EventXML"]["User"],
            "CORP\\alice"
        );
        assert_eq!(
            recs[2]["Event"]["System"]["EventID"]["#attributes"]["Qualifiers"].to_string(),
            if enc == Encoding::Plain {
                "\"49162\""
            } else {
                "49162"
            }
        );
        assert_eq!(
            recs[2]["Event"]["EventData"]["Data"]["#text"][1],
            "10.0.0.9"
        );
        assert_eq!(recs[4]["Event"]["EventData"]["param2"], "stopped");
        assert!(recs[3]["Event"]["EventData"].is_null());
    }
}

#[test]
fn events_are_normalised() {
    for enc in [
        Encoding::Template,
        Encoding::TemplateNested,
        Encoding::Plain,
    ] {
        let bytes = EvtxBuilder::new().encoding(enc).events(sample()).build();
        let r = read(&bytes, &EventFilter::rds());
        // The kernel event is not catalogued.
        assert_eq!(r.events.len(), 5, "{enc:?}");
        let e = &r.events[0];
        assert_eq!((&*e.provider, e.event_id, e.record_id), (LSM, 21, 1));
        assert_eq!(
            e.provider_guid.as_deref(),
            Some("{5d896912-022d-40aa-a3a8-4fa5515c76d7}")
        );
        assert_eq!(e.time.to_string(), "2024-03-01T10:00:00.1234567Z");
        assert_eq!(e.fields["User"], "CORP\\alice");
        assert_eq!(e.fields["Address"], "10.0.0.5");
        assert_eq!(e.computer.as_deref(), Some("RDSH01.corp.example"));
        assert_eq!(e.level, Some(4));
        assert!(e.verified);
        assert_eq!(e.offset, 4096 + 512);
        let e = &r.events[1];
        assert_eq!(e.time.subsec_nanosecond(), 100, "100 ns precision kept");
        assert_eq!(
            (e.field("Session"), e.field("Reason")),
            (Some("2"), Some("5"))
        );
        let e = &r.events[2];
        assert_eq!(
            (e.event_id, e.raw_event_id, e.qualifiers),
            (56, 56, Some(49162))
        );
        assert_eq!(
            (e.field("1"), e.field("2")),
            (Some("\\Device\\Termdd"), Some("10.0.0.9"))
        );
        let e = &r.events[3];
        assert_eq!(
            (e.event_id, e.raw_event_id),
            (1130, 50282),
            "RCM raw ID masked"
        );
        assert!(e.fields.is_empty(), "empty EventData");
        assert_eq!(e.catalog_entry().unwrap().name, "no-ls-specified");
        let e = &r.events[4];
        assert_eq!(e.field("param1"), Some("Remote Desktop Services"));
        assert_eq!(r.integrity.records_read, 6);
        assert_eq!(r.integrity.records_kept, 5);
        assert_eq!(r.status(), rdsdiag::evidence::InputStatus::Parsed);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        // Template records are filtered without rendering (and decoded directly when the
        // payload is part of the template).
        match enc {
            Encoding::Template => assert_eq!(r.integrity.records_rendered, 0),
            Encoding::TemplateNested => assert_eq!(r.integrity.records_rendered, 5),
            Encoding::Plain => {}
        }
    }
}

#[test]
fn direct_decoding_equals_crate_rendering() {
    for enc in [
        Encoding::Template,
        Encoding::TemplateNested,
        Encoding::Plain,
    ] {
        let mut evs = sample();
        evs.extend(many(250));
        evs.push(
            Ev::new(LSM, 41)
                .channel(LSM_OP)
                .event_data(&[("A", ""), ("B", "x")]),
        );
        evs.push(Ev::new("TermDD", 50).qualifiers(49162).data(&["one"]));
        let mut bytes = EvtxBuilder::new()
            .encoding(enc)
            .events(evs)
            .max_records_per_chunk(90)
            .build();
        w::corrupt_chunk_header_crc(&mut bytes, 1);
        for filter in [EventFilter::rds(), EventFilter::all()] {
            let fast = read(&bytes, &filter);
            let slow = read(&bytes, &filter.clone().render_with_crate(true));
            assert_eq!(fast.events, slow.events, "{enc:?}");
            assert_eq!(fast.integrity.records_read, slow.integrity.records_read);
            if enc == Encoding::Template {
                assert_eq!(
                    fast.integrity.records_rendered, 0,
                    "decoded without the crate's renderer"
                );
            }
        }
    }
}

#[test]
fn thirty_two_bit_message_ids_split() {
    let bytes = EvtxBuilder::new()
        .event(
            Ev::new("Microsoft-Windows-TerminalServices-Licensing", 3372224521)
                .data(&["bob", "CORP", "5"]),
        )
        .build();
    let r = read(&bytes, &EventFilter::rds());
    let e = &r.events[0];
    assert_eq!(
        (e.event_id, e.qualifiers, e.raw_event_id),
        (4105, Some(0xC900), 3372224521)
    );
}

fn many(n: usize) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            Ev::new(LSM, 40).channel(LSM_OP).user_data(
                "EventXML",
                &[("Session", &(i % 7).to_string()), ("Reason", "0")],
            )
        })
        .collect()
}

#[test]
fn bad_checksums_keep_records_unverified() {
    let mut bytes = EvtxBuilder::new()
        .events(many(300))
        .max_records_per_chunk(100)
        .build();
    assert_eq!(w::chunk_count(&bytes), 3);
    w::corrupt_chunk_data_crc(&mut bytes, 1);
    w::corrupt_chunk_header_crc(&mut bytes, 2);
    let r = read(&bytes, &EventFilter::rds());
    let i = &r.integrity;
    assert_eq!(r.events.len(), 300);
    assert_eq!(
        (i.chunks_found, i.chunks_valid, i.chunks_bad_checksum),
        (3, 1, 2)
    );
    assert_eq!(i.records_unverified, 200);
    assert_eq!(r.events.iter().filter(|e| !e.verified).count(), 200);
    assert!(r.events[..100].iter().all(|e| e.verified));
    let kinds: Vec<_> = i
        .chunk_problems
        .iter()
        .map(|p| (p.chunk, p.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(1, "bad-data-checksum"), (2, "bad-header-checksum")]
    );
    assert_eq!(
        r.problems
            .iter()
            .filter(|p| p.code == "evtx-chunk-bad-checksum")
            .count(),
        2
    );
    assert_eq!(r.status(), rdsdiag::evidence::InputStatus::Partial);
}

#[test]
fn truncated_tail_is_detected_and_read_up_to_the_cut() {
    let full = EvtxBuilder::new()
        .events(many(300))
        .max_records_per_chunk(100)
        .build();
    let mut bytes = full.clone();
    w::truncate_last_chunk(&mut bytes, 6000);
    let r = read(&bytes, &EventFilter::rds());
    let i = &r.integrity;
    assert_eq!(i.truncated_tail_bytes, 6000);
    assert_eq!(i.chunk_slots, 2);
    assert!(i.records_from_cut_off_chunk > 0 && i.records_from_cut_off_chunk < 100);
    assert_eq!(r.events.len() as u64, 200 + i.records_from_cut_off_chunk);
    assert!(r.events[200..].iter().all(|e| !e.verified));
    assert!(r.problems.iter().any(|p| p.code == "evtx-truncated-tail"));
    assert!(r.problems.iter().any(|p| p.code == "evtx-records-missing"));
    // The crate alone drops the cut-off chunk silently.
    let mut p = EvtxParser::from_buffer(bytes.clone()).unwrap();
    assert_eq!(p.records().filter(Result::is_ok).count(), 200);
    // A cut inside the chunk header: nothing to read, still reported.
    let mut bytes = full;
    w::truncate_last_chunk(&mut bytes, 100);
    let r = read(&bytes, &EventFilter::rds());
    assert_eq!(
        (r.integrity.truncated_tail_bytes, r.events.len()),
        (100, 200)
    );
    assert!(r.problems.iter().any(|p| p.code == "evtx-truncated-tail"));
}

#[test]
fn dirty_full_and_stale_header() {
    let mut bytes = EvtxBuilder::new()
        .events(many(300))
        .max_records_per_chunk(100)
        .full(true)
        .build();
    w::set_dirty(&mut bytes, true);
    w::set_declared_chunk_count(&mut bytes, 1);
    w::append_empty_chunks(&mut bytes, 2);
    let r = read(&bytes, &EventFilter::rds());
    let i = &r.integrity;
    assert!(i.dirty && i.full && i.header_checksum_ok);
    assert_eq!(
        (
            i.declared_chunk_count,
            i.chunk_slots,
            i.chunks_found,
            i.chunks_empty
        ),
        (1, 5, 3, 2)
    );
    assert_eq!(i.chunks_beyond_declared_count, 2);
    assert_eq!(r.events.len(), 300, "chunks past a stale count are read");
    for code in ["evtx-dirty", "evtx-full", "evtx-stale-chunk-count"] {
        assert!(r.problems.iter().any(|p| p.code == code), "{code}");
    }
    assert_eq!(
        r.status(),
        rdsdiag::evidence::InputStatus::Parsed,
        "informational only"
    );
    w::corrupt_file_header_crc(&mut bytes);
    let r = read(&bytes, &EventFilter::rds());
    assert!(!r.integrity.header_checksum_ok);
    assert!(r
        .problems
        .iter()
        .any(|p| p.code == "evtx-header-bad-checksum"));
    assert_eq!(r.events.len(), 300);
}

#[test]
fn bad_magic_and_empty_chunks_are_counted() {
    let mut bytes = EvtxBuilder::new()
        .events(many(400))
        .max_records_per_chunk(100)
        .build();
    w::smash_chunk_magic(&mut bytes, 1);
    w::zero_chunk(&mut bytes, 2);
    let r = read(&bytes, &EventFilter::rds());
    let i = &r.integrity;
    assert_eq!(
        (i.chunks_found, i.chunks_bad_magic, i.chunks_empty),
        (2, 1, 1)
    );
    assert_eq!(r.events.len(), 200);
    assert!(r
        .problems
        .iter()
        .any(|p| p.code == "evtx-chunk-bad-magic" && p.offset == Some(4096 + 65536)));
}

#[test]
fn wrapped_log_is_read_in_record_order() {
    let mut bytes = EvtxBuilder::new()
        .events(many(300))
        .max_records_per_chunk(100)
        .build();
    w::rotate_chunks(&mut bytes, 1);
    let r = read(&bytes, &EventFilter::rds());
    let ids: Vec<u64> = r.events.iter().map(|e| e.record_id).collect();
    assert_eq!(ids, (1..=300).collect::<Vec<_>>());
    assert_eq!(r.events[0].chunk, 2);
}

#[test]
fn irrelevant_channel_is_skipped_but_mixed_files_are_read() {
    let app = |i: usize| {
        Ev::new("Application Error", 1000)
            .channel("Application")
            .data(&[&i.to_string()])
    };
    let bytes = EvtxBuilder::new()
        .events((0..300).map(app))
        .max_records_per_chunk(100)
        .build();
    let r = read(&bytes, &EventFilter::rds());
    assert!(r.integrity.skipped_irrelevant);
    assert_eq!(r.integrity.channels.get("Application"), Some(&3));
    assert_eq!(r.integrity.records_read, 0);
    assert!(r
        .problems
        .iter()
        .any(|p| p.code == "evtx-skipped-irrelevant"));
    // Without the skip every record is read (and none kept).
    let r = read(&bytes, &EventFilter::rds().skip_irrelevant_channels(false));
    assert_eq!(
        (r.integrity.records_read, r.integrity.records_kept),
        (300, 0)
    );
    assert!(!r.integrity.skipped_irrelevant);

    // A forwarded-events style file: the first chunks are irrelevant, a later one is not.
    let mut evs: Vec<Ev> = (0..200).map(app).collect();
    evs.extend(many(100));
    let bytes = EvtxBuilder::new()
        .events(evs)
        .max_records_per_chunk(100)
        .build();
    let r = read(&bytes, &EventFilter::rds());
    assert!(!r.integrity.skipped_irrelevant);
    assert_eq!(r.integrity.records_read, 300);
    assert_eq!(r.integrity.channels.get("Application"), Some(&200));
    assert_eq!(r.integrity.channels.get(LSM_OP), Some(&100));
    assert_eq!(r.events.len(), 100);
}

#[test]
fn query_filters_narrow_by_id_and_provider() {
    let bytes = EvtxBuilder::new().events(sample()).build();
    let r = read(&bytes, &EventFilter::for_query(&[40, 56], &[]));
    assert_eq!(
        r.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [40, 56]
    );
    let r = read(
        &bytes,
        &EventFilter::for_query(&[], &["localsession".to_string()]),
    );
    assert_eq!(r.events.len(), 2);
    let r = read(
        &bytes,
        &EventFilter::for_query(&[1130], &["RemoteConnection".to_string()]),
    );
    assert_eq!(r.events.len(), 1);
    let r = read(&bytes, &EventFilter::all());
    assert_eq!(r.events.len(), 6);
}

#[test]
fn not_evtx_is_a_typed_error() {
    assert!(matches!(
        read_evtx(Cursor::new(vec![0u8; 100]), "x", &EventFilter::rds()),
        Err(rdsdiag::eventlog::EventLogError::NotEvtx { .. })
    ));
    assert!(matches!(
        read_evtx(Cursor::new(vec![0u8; 8192]), "x", &EventFilter::rds()),
        Err(rdsdiag::eventlog::EventLogError::NotEvtx { .. })
    ));
}

#[test]
fn read_input_sets_status_and_problems() {
    use rdsdiag::capture::{Input, InputSource};
    use rdsdiag::evidence::{InputKind, InputStatus};
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = EvtxBuilder::new()
        .events(many(200))
        .max_records_per_chunk(100)
        .build();
    w::corrupt_chunk_data_crc(&mut bytes, 0);
    let path = dir.path().join("LSM.evtx");
    std::fs::write(&path, &bytes).unwrap();
    let mut input = Input {
        path: "Logs/LSM.evtx".into(),
        kind: InputKind::Evtx,
        hive: None,
        hive_signal: None,
        bytes: bytes.len() as u64,
        sha256: String::new(),
        status: InputStatus::Pending,
        problems: Vec::new(),
        evtx: None,
        source: InputSource::File(path.clone()),
    };
    let r = {
        let (r, reading) = rdsdiag::eventlog::read_input(
            &input,
            &EventFilter::rds(),
            rdsdiag::evidence::Deadline::none(),
        );
        input.apply(reading);
        r
    };
    assert_eq!(r.events.len(), 200);
    assert_eq!(&*r.events[0].file, "Logs/LSM.evtx");
    assert_eq!(input.status, InputStatus::Partial);
    assert!(input
        .problems
        .iter()
        .any(|p| p.code == "evtx-chunk-bad-checksum"));
    assert_eq!(input.evtx.as_ref().unwrap().records_unverified, 100);
    // Nothing is written next to the evidence.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    std::fs::write(&path, b"not an event log").unwrap();
    let r = {
        let (r, reading) = rdsdiag::eventlog::read_input(
            &input,
            &EventFilter::rds(),
            rdsdiag::evidence::Deadline::none(),
        );
        input.apply(reading);
        r
    };
    assert!(r.events.is_empty());
    assert_eq!(input.status, InputStatus::Rejected);
    assert!(input.problems.iter().any(|p| p.code == "evtx-not-readable"));
}

mod damage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64), ..ProptestConfig::default() })]
        /// Random byte damage and truncation never panic, and every record is accounted for.
        #[test]
        fn damaged_logs_never_panic(
            flips in proptest::collection::vec((0usize..(4096 + 2 * 65536), any::<u8>()), 1..40),
            cut in proptest::option::of(0usize..(4096 + 2 * 65536)),
            plain in any::<bool>(),
        ) {
            let enc = [Encoding::Plain, Encoding::Template, Encoding::TemplateNested][plain as usize + (flips.len() % 2)];
            let mut bytes = EvtxBuilder::new().encoding(enc).events(many(150)).events(sample()).max_records_per_chunk(100).build();
            for (at, v) in flips {
                if at < bytes.len() {
                    bytes[at] ^= v;
                }
            }
            if let Some(c) = cut {
                bytes.truncate(c);
            }
            for filter in [EventFilter::rds(), EventFilter::all()] {
                if let Ok(r) = read_evtx(Cursor::new(bytes.clone()), "fuzz", &filter) {
                    prop_assert!(r.integrity.records_kept <= r.integrity.records_read);
                    prop_assert!(r.integrity.records_unverified <= r.integrity.records_read);
                }
            }
        }
    }
}

/// The reader hashes the file as it reads it: its SHA-256 equals an independent hash of the
/// whole file, whether the file is clean, damaged, cut off, wrapped, not EVTX, or read only
/// partly because the time limit passed.
#[test]
fn read_input_hashes_the_whole_file_once() {
    use rdsdiag::capture::{Input, InputSource};
    use rdsdiag::evidence::{Deadline, InputKind, InputStatus};
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let clean = EvtxBuilder::new()
        .events(many(300))
        .max_records_per_chunk(100)
        .build();
    let mut damaged = clean.clone();
    w::corrupt_chunk_data_crc(&mut damaged, 1);
    w::smash_chunk_magic(&mut damaged, 2);
    let mut truncated = clean.clone();
    w::truncate_last_chunk(&mut truncated, 3000);
    let mut wrapped = clean.clone();
    w::rotate_chunks(&mut wrapped, 1);
    let mut padded = clean.clone();
    w::append_zero_padding(&mut padded, 4096);
    let cases: Vec<(&str, Vec<u8>, Deadline, InputStatus)> = vec![
        (
            "padded",
            padded.clone(),
            Deadline::none(),
            InputStatus::Parsed,
        ),
        (
            "padded-time-limited",
            padded,
            Deadline::after(std::time::Duration::ZERO),
            InputStatus::Partial,
        ),
        (
            "clean",
            clean.clone(),
            Deadline::none(),
            InputStatus::Parsed,
        ),
        ("damaged", damaged, Deadline::none(), InputStatus::Partial),
        (
            "truncated",
            truncated,
            Deadline::none(),
            InputStatus::Partial,
        ),
        ("wrapped", wrapped, Deadline::none(), InputStatus::Parsed),
        (
            "time-limited",
            clean,
            Deadline::after(std::time::Duration::ZERO),
            InputStatus::Partial,
        ),
        (
            "not-evtx",
            b"not an event log".to_vec(),
            Deadline::none(),
            InputStatus::Rejected,
        ),
    ];
    for (name, bytes, deadline, status) in cases {
        let path = dir.path().join(format!("{name}.evtx"));
        std::fs::write(&path, &bytes).unwrap();
        let input = Input {
            path: format!("Logs/{name}.evtx"),
            kind: InputKind::Evtx,
            hive: None,
            hive_signal: None,
            bytes: bytes.len() as u64,
            sha256: String::new(),
            status: InputStatus::Pending,
            problems: Vec::new(),
            evtx: None,
            source: InputSource::File(path),
        };
        let (report, reading) =
            rdsdiag::eventlog::read_input(&input, &EventFilter::rds(), deadline);
        assert_eq!(reading.status, Some(status), "{name}");
        let expected: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(reading.sha256.as_deref(), Some(expected.as_str()), "{name}");
        if name.ends_with("time-limited") {
            assert!(report.events.is_empty());
            let i = reading.evtx.as_ref().unwrap();
            assert_eq!(i.chunks_not_read_time_limit, 3, "{name}");
        }
        if name.starts_with("padded") {
            // The padding is found (read for itself when the time limit stopped reading
            // before it) and is no loss: no chunk left unread, no cut-off tail.
            let i = reading.evtx.as_ref().unwrap();
            assert_eq!((i.zero_padding_bytes, i.truncated_tail_bytes), (4096, 0));
            assert!(reading
                .problems
                .iter()
                .any(|p| p.code == "evtx-zero-padding"));
            assert!(!reading
                .problems
                .iter()
                .any(|p| p.code == "evtx-truncated-tail"));
        }
        // An input the inventory hashed already is not hashed again.
        let hashed = Input {
            sha256: expected.clone(),
            ..input
        };
        let (_, again) = rdsdiag::eventlog::read_input(&hashed, &EventFilter::rds(), deadline);
        assert_eq!(again.sha256, None, "{name}");
        assert_eq!(again.status, Some(status), "{name}");
    }
}

fn logons(n: usize) -> Vec<Ev> {
    (0..n)
        .map(|i| {
            Ev::new("Microsoft-Windows-Security-Auditing", 4624)
                .channel("Security")
                .event_data(&[
                    ("TargetUserName", &format!("user{i}")),
                    ("TargetUserSid", "S-1-5-21-1-2-3-1001"),
                    ("LogonType", "10"),
                    ("IpAddress", "10.0.0.5"),
                ])
        })
        .collect()
}

/// Zero bytes after the last chunk (slack of a copied log) are not a cut-off chunk: nothing is
/// lost, the log is `parsed`, and the bytes are noted as padding. A tail with any non-zero
/// byte, or a partial chunk, is still a cut-off copy.
#[test]
fn zero_padding_after_the_last_chunk_is_slack_not_loss() {
    use rdsdiag::evidence::{InputStatus, ProblemSeverity};
    let clean = EvtxBuilder::new()
        .events(many(150))
        .max_records_per_chunk(100)
        .build();
    for pad in [4096usize, 1, 65535] {
        let mut bytes = clean.clone();
        w::append_zero_padding(&mut bytes, pad);
        for filter in [EventFilter::rds(), EventFilter::all()] {
            let r = read(&bytes, &filter);
            let i = &r.integrity;
            assert_eq!(r.events.len(), 150, "{pad}");
            assert_eq!(
                (i.truncated_tail_bytes, i.zero_padding_bytes, i.chunk_slots),
                (0, pad as u64, 2),
                "{pad}"
            );
            assert_eq!((i.records_declared, i.records_read), (150, 150));
            assert!(r.events.iter().all(|e| e.verified));
            assert!(
                r.problems
                    .iter()
                    .all(|p| p.severity == ProblemSeverity::Info),
                "{pad}: {:?}",
                r.problems
            );
            let note = r
                .problems
                .iter()
                .find(|p| p.code == "evtx-zero-padding")
                .expect("a padding note");
            assert!(note.message.contains(&format!("{pad} bytes")), "{note:?}");
            assert_eq!(note.offset, Some(clean.len() as u64));
            assert_eq!(r.status(), InputStatus::Parsed);
        }
    }
    // One non-zero byte at the very end: a cut-off copy, as before.
    let mut bytes = clean.clone();
    w::append_zero_padding(&mut bytes, 4096);
    *bytes.last_mut().unwrap() = 1;
    let r = read(&bytes, &EventFilter::rds());
    assert_eq!(
        (
            r.integrity.truncated_tail_bytes,
            r.integrity.zero_padding_bytes
        ),
        (4096, 0)
    );
    assert!(r.problems.iter().any(|p| p.code == "evtx-truncated-tail"));
    assert!(!r.problems.iter().any(|p| p.code == "evtx-zero-padding"));
    assert_eq!(r.status(), InputStatus::Partial);
    // A partial chunk (its signature, the rest zero) is a cut-off chunk too.
    let mut bytes = clean.clone();
    bytes.extend_from_slice(b"ElfChnk\0");
    w::append_zero_padding(&mut bytes, 4088);
    let r = read(&bytes, &EventFilter::rds());
    assert_eq!(
        (
            r.integrity.truncated_tail_bytes,
            r.integrity.zero_padding_bytes
        ),
        (4096, 0)
    );
    assert!(r.problems.iter().any(|p| p.code == "evtx-truncated-tail"));
    assert_eq!(r.status(), InputStatus::Partial);
}

/// A log with no record: one chunk whose header says first record 1, last record 0, as
/// Windows writes it (the writer's empty log), or a range ending at record 0, which no record
/// has. Nothing is declared, nothing is missing.
#[test]
fn an_empty_log_declares_no_record() {
    use rdsdiag::evidence::InputStatus;
    let windows = EvtxBuilder::new().build();
    assert_eq!(w::chunk_count(&windows), 1);
    let mut zeros = windows.clone();
    w::set_chunk_record_range(&mut zeros, 0, 0, 0);
    let mut padded = windows.clone();
    w::append_zero_padding(&mut padded, 4096);
    for (what, bytes) in [("1..0", &windows), ("0..0", &zeros), ("padded", &padded)] {
        for filter in [EventFilter::rds(), EventFilter::all()] {
            let r = read(bytes, &filter);
            let i = &r.integrity;
            assert!(r.events.is_empty());
            assert_eq!(
                (
                    i.chunks_found,
                    i.chunks_valid,
                    i.records_declared,
                    i.records_read,
                    i.records_skipped
                ),
                (1, 1, 0, 0, 0),
                "{what}"
            );
            assert!(
                !r.problems.iter().any(|p| p.code == "evtx-records-missing"),
                "{what}: {:?}",
                r.problems
            );
            assert_eq!(r.status(), InputStatus::Parsed, "{what}: {:?}", r.problems);
        }
    }
    // A chunk that declares records 1..1 but holds none still reports the missing record.
    let mut one = windows.clone();
    w::set_chunk_record_range(&mut one, 0, 1, 1);
    let r = read(&one, &EventFilter::all());
    assert_eq!(r.integrity.records_declared, 1);
    assert!(r.problems.iter().any(|p| p.code == "evtx-records-missing"));
    assert_eq!(r.status(), InputStatus::Partial);
}

/// A record whose declared size runs past the end of the file (cut off in the middle of a
/// record) or of its chunk is unreadable: counted in `records_skipped` with a warning naming
/// the chunk and the record's offset, never turned into an event with zeroed fields.
#[test]
fn records_running_past_the_end_are_unreadable_not_events() {
    use rdsdiag::evidence::{InputStatus, ProblemSeverity};
    let full = EvtxBuilder::new()
        .events(logons(200))
        .max_records_per_chunk(100)
        .build();
    let spans = w::record_spans(&full, 1);
    assert_eq!(spans.len(), 100);
    let check = |r: &EvtxReport, what: &str| {
        for e in &r.events {
            assert_eq!(e.field("LogonType"), Some("10"), "{what}: {e:?}");
            assert_eq!(
                e.field("TargetUserSid"),
                Some("S-1-5-21-1-2-3-1001"),
                "{what}"
            );
        }
    };
    for crate_rendering in [false, true] {
        let filter = EventFilter::rds().render_with_crate(crate_rendering);
        // Cut inside record 50 of the last chunk (in its values), and just before its size copy.
        let (rec, size) = spans[50];
        for cut in [rec + size / 2, rec + size - 2] {
            let mut bytes = full.clone();
            bytes.truncate(cut);
            let r = read(&bytes, &filter);
            let what = format!("cut at {cut}, crate {crate_rendering}");
            check(&r, &what);
            let i = &r.integrity;
            assert_eq!(i.records_from_cut_off_chunk, 50, "{what}");
            assert_eq!(r.events.len(), 150, "{what}");
            assert_eq!(i.records_skipped, 1, "{what}");
            let p = r
                .problems
                .iter()
                .find(|p| p.code == "evtx-records-unreadable")
                .unwrap_or_else(|| panic!("{what}: {:?}", r.problems));
            assert_eq!(p.severity, ProblemSeverity::Warning);
            assert!(p.message.contains("chunk 1"), "{what}: {}", p.message);
            assert!(
                p.message.contains(&format!("file offset {rec:#x}")),
                "{what}: {}",
                p.message
            );
            assert_eq!(r.status(), InputStatus::Partial);
        }
        // The last record of a whole chunk declares more bytes than the chunk has left (by 4,
        // which the crate's own bound lets through, and by more).
        let (rec, _) = spans[99];
        let room = (4096 + 2 * 65536 - rec) as u32;
        for size in [room + 4, room + 1000] {
            let mut bytes = full.clone();
            w::set_record_size(&mut bytes, 1, rec, size);
            let r = read(&bytes, &filter);
            let what = format!("size {size}, crate {crate_rendering}");
            check(&r, &what);
            assert_eq!(r.events.len(), 199, "{what}");
            assert_eq!(r.integrity.records_skipped, 1, "{what}");
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.code == "evtx-records-unreadable"
                        && p.message.contains("chunk 1")
                        && p.message.contains(&format!("file offset {rec:#x}"))),
                "{what}: {:?}",
                r.problems
            );
            assert_eq!(r.status(), InputStatus::Partial);
        }
    }
}
