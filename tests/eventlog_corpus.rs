//! Checks the event-log layer against the real EVTX files of the shared development corpus:
//! per-EventID counts, the LocalSessionManager event 40 reason histogram and the damage seen by
//! the independent tools (`FACTS.json`, computed with evtx_dump and python-evtx).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdsdiag::eventlog::{read_path, EventFilter, EvtxReport};
use rdsdiag_testsupport::corpus;
use serde_json::Value;

/// The corpus folder (skipped, or failed under `RDSDIAG_REQUIRE_CORPUS=1`, when absent).
fn corpus() -> Option<PathBuf> {
    corpus::path("FACTS.json")?;
    corpus::path("")
}

fn facts(root: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("FACTS.json")).unwrap()).unwrap()
}

/// The evtx files of FACTS.json with their facts.
fn evtx_files() -> Option<(PathBuf, Vec<(String, Value)>)> {
    let root = corpus()?;
    let f = facts(&root);
    let files = f["files"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["kind"] == "evtx")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some((root, files))
}

/// FACTS.json's definition of the relevant events (about.evtx_method.relevant_events).
fn facts_relevant(provider: &str, id: u32) -> bool {
    match provider {
        "Microsoft-Windows-TerminalServices-LocalSessionManager"
        | "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
        | "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS"
        | "TermService"
        | "TermDD"
        | "Microsoft-Windows-TerminalServices-Licensing" => true,
        "Service Control Manager" => matches!(id, 7031 | 7034 | 7036),
        "Microsoft-Windows-Security-Auditing" => matches!(id, 4624 | 4625 | 4778 | 4779),
        _ => false,
    }
}

fn counts(r: &EvtxReport, verified_only: bool) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in &r.events {
        if verified_only && !e.verified {
            continue;
        }
        if facts_relevant(&e.provider, e.raw_event_id) {
            *m.entry(format!("{}/{}", e.provider, e.raw_event_id))
                .or_insert(0) += 1;
        }
    }
    m
}

fn as_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn lsm40(r: &EvtxReport) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in &r.events {
        if &*e.provider == "Microsoft-Windows-TerminalServices-LocalSessionManager"
            && e.event_id == 40
        {
            *m.entry(e.field("Reason").unwrap_or("?").to_string())
                .or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn relevant_counts_and_lsm40_reasons_match_facts() {
    let Some((root, files)) = evtx_files() else {
        return;
    };
    assert!(files.len() >= 14);
    for (rel, f) in files {
        let r = read_path(&root.join(&rel), &EventFilter::rds()).unwrap();
        let d = &f["evtx_dump"];
        assert_eq!(
            counts(&r, false),
            as_counts(&d["provider_eventid_counts"]),
            "{rel}"
        );
        assert_eq!(
            lsm40(&r),
            as_counts(&d["lsm_event40_reason_histogram"]),
            "{rel}"
        );
        // The view of a reader that validates checksums: our verified records.
        let checked = d
            .get("validate_checksums_view")
            .map(|v| as_counts(&v["provider_eventid_counts"]))
            .unwrap_or_else(|| as_counts(&d["provider_eventid_counts"]));
        assert_eq!(counts(&r, true), checked, "{rel} (verified only)");
        // Logon type 10.
        for id in [4624u32, 4625] {
            let n = r
                .events
                .iter()
                .filter(|e| e.raw_event_id == id && e.field("LogonType") == Some("10"))
                .count() as u64;
            assert_eq!(
                n,
                d["security_logontype10_counts"][id.to_string()]
                    .as_u64()
                    .unwrap(),
                "{rel}"
            );
        }
    }
}

#[test]
fn integrity_matches_the_independent_tools() {
    let Some((root, files)) = evtx_files() else {
        return;
    };
    for (rel, f) in files {
        let r = read_path(&root.join(&rel), &EventFilter::all()).unwrap();
        let i = &r.integrity;
        let h = &f["header"];
        let d = &f["evtx_dump"];
        assert_eq!(i.file_bytes, f["bytes"].as_u64().unwrap(), "{rel}");
        assert_eq!(i.version, h["version"].as_str().unwrap(), "{rel}");
        assert_eq!(i.dirty, h["dirty"].as_bool().unwrap(), "{rel}");
        assert_eq!(i.full, h["full"].as_bool().unwrap(), "{rel}");
        assert!(i.header_checksum_ok, "{rel}");
        let declared: u64 = h["chunk_count_field"]
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(i.declared_chunk_count, declared, "{rel}");
        assert_eq!(i.chunk_slots, h["chunks_total"].as_u64().unwrap(), "{rel}");
        assert_eq!(
            i.chunks_found,
            h["chunks_with_records"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(i.chunks_empty, h["chunks_empty"].as_u64().unwrap(), "{rel}");
        assert_eq!(
            i.chunks_bad_checksum,
            h["chunks_failing_crc32"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(
            i.chunks_bad_magic + i.chunks_unparsable,
            h["chunks_unreadable"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(
            i.records_declared,
            h["records_by_chunk_headers"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(i.truncated_tail_bytes, 0, "{rel}");
        // evtx_dump without validation: every record read, errors skipped.
        assert_eq!(i.records_read, d["records"].as_u64().unwrap(), "{rel}");
        assert_eq!(
            i.records_skipped,
            d["error_count"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(i.records_kept, i.records_read, "{rel}");
        // evtx_dump --validate-checksums: the verified records.
        assert_eq!(
            i.records_read - i.records_unverified,
            d["records_validate_checksums"].as_u64().unwrap(),
            "{rel}"
        );
        assert_eq!(
            i.records_unverified,
            r.events.iter().filter(|e| !e.verified).count() as u64
        );
        // Stale header chunk count: python-evtx's notes say which files have one.
        let stale = f["python_evtx"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("stale header count"));
        assert_eq!(i.chunks_beyond_declared_count > 0, stale, "{rel}");
        assert_eq!(
            r.problems
                .iter()
                .any(|p| p.code == "evtx-stale-chunk-count"),
            stale,
            "{rel}"
        );
        let mut channels: BTreeMap<String, u64> = as_counts(&d["channels"]);
        if let Some(n) = channels.remove("<none>") {
            channels.insert("<none>".into(), n);
        }
        assert_eq!(i.channels, channels, "{rel}");
        assert!(!i.skipped_irrelevant);
        // Times: full 100 ns precision, same extremes as evtx_dump.
        let min = r.events.iter().map(|e| e.time).min().unwrap();
        let max = r.events.iter().map(|e| e.time).max().unwrap();
        let fmt = |t: jiff::Timestamp| {
            let s = t.strftime("%Y-%m-%dT%H:%M:%S.%f").to_string();
            let (a, b) = s.split_once('.').unwrap();
            format!("{a}.{:0<7}Z", &b[..b.len().min(7)])
        };
        let strip = |s: &str| s.trim_end_matches('Z').trim_end_matches('0').to_string();
        assert_eq!(
            strip(&fmt(min)),
            strip(d["time_created_min"].as_str().unwrap()),
            "{rel}"
        );
        assert_eq!(
            strip(&fmt(max)),
            strip(d["time_created_max"].as_str().unwrap()),
            "{rel}"
        );
        // Computers.
        let mut computers = BTreeMap::new();
        for e in &r.events {
            *computers
                .entry(e.computer.as_deref().unwrap_or_default().to_string())
                .or_insert(0u64) += 1;
        }
        assert_eq!(computers, as_counts(&d["computers"]), "{rel}");
        let q = r.events.iter().filter(|e| e.qualifiers.is_some()).count() as u64;
        assert_eq!(
            q,
            d["records_with_eventid_qualifiers"].as_u64().unwrap(),
            "{rel}"
        );
    }
}

#[test]
fn damaged_files_report_their_damage() {
    let Some((root, _)) = evtx_files() else {
        return;
    };
    let read = |rel: &str| read_path(&root.join(rel), &EventFilter::all()).unwrap();
    let has = |r: &EvtxReport, code: &str| r.problems.iter().any(|p| p.code == code);

    let r = read("evtx-rs-samples/security_bad_string_cache.evtx");
    assert_eq!(r.integrity.chunk_problems.len(), 1);
    assert_eq!(r.integrity.chunk_problems[0].kind, "bad-header-checksum");
    assert_eq!(r.integrity.chunk_problems[0].chunk, 0);
    assert!(r.integrity.chunk_problems[0]
        .detail
        .contains("stored 0x3a57641e, computed 0x685abe41"));
    assert_eq!(r.integrity.records_unverified, 91);
    assert!(has(&r, "evtx-chunk-bad-checksum"));
    assert_eq!(r.status(), rdsdiag::evidence::InputStatus::Partial);

    let r = read("evtx-rs-samples/sample-with-zero-data-size-event.evtx");
    assert_eq!(r.integrity.chunk_problems[0].kind, "bad-data-checksum");
    assert!(r.integrity.chunk_problems[0]
        .detail
        .contains("stored 0xc08b93e5, computed 0x1065cf33"));
    assert_eq!(r.integrity.records_skipped, 1);
    assert!(has(&r, "evtx-records-unreadable"));
    let unreadable = r
        .problems
        .iter()
        .find(|p| p.code == "evtx-records-unreadable")
        .unwrap();
    assert!(unreadable.message.contains("28"), "{}", unreadable.message);

    let r = read("evtx-rs-samples/Microsoft-Windows-LanguagePackSetup%4Operational.evtx");
    assert_eq!(r.integrity.chunk_problems[0].kind, "bad-data-checksum");
    assert!(r.integrity.chunk_problems[0]
        .detail
        .contains("stored 0xe93c689a, computed 0x70a28b0f"));
    assert_eq!(
        (r.integrity.records_read, r.integrity.records_declared),
        (17, 20)
    );
    assert!(has(&r, "evtx-records-missing"));
    assert!(r.events.iter().all(|e| !e.verified));

    // The irrelevant log is skipped quickly under the RDS filter, and says so.
    let r = read_path(
        &root.join("evtx-rs-samples/Microsoft-Windows-LanguagePackSetup%4Operational.evtx"),
        &EventFilter::rds(),
    )
    .unwrap();
    assert!(r.integrity.skipped_irrelevant);
    assert!(r.events.is_empty());
    assert!(has(&r, "evtx-skipped-irrelevant"));
    assert_eq!(
        r.integrity.chunks_bad_checksum, 1,
        "damage is still counted when skipping"
    );
}

#[test]
fn early_filter_changes_nothing_but_speed() {
    let Some((root, files)) = evtx_files() else {
        return;
    };
    for (rel, _) in files {
        let fast = read_path(&root.join(&rel), &EventFilter::rds()).unwrap();
        let all = read_path(
            &root.join(&rel),
            &EventFilter::all().render_with_crate(true),
        )
        .unwrap();
        let slow: Vec<_> = all
            .events
            .iter()
            .filter(|e| EventFilter::rds().matches(&e.provider, e.event_id))
            .cloned()
            .collect();
        assert_eq!(fast.events, slow, "{rel}");
    }
}

#[test]
fn early_filter_renders_only_kept_records() {
    let Some((root, files)) = evtx_files() else {
        return;
    };
    for (rel, _) in files {
        let r = read_path(&root.join(&rel), &EventFilter::rds()).unwrap();
        let i = &r.integrity;
        eprintln!(
            "{rel}: read {} kept {} rendered {}",
            i.records_read, i.records_kept, i.records_rendered
        );
        assert!(
            i.records_rendered <= i.records_read + i.chunks_found,
            "{rel}"
        );
        // Where most records are irrelevant, at most the kept ones are rendered (most are
        // decoded directly from their substitution values).
        if rel.contains("Security.evtx")
            || rel.contains("security_bad")
            || rel.contains("zero-data")
        {
            assert!(i.records_rendered <= i.records_kept, "{rel}");
        }
        if rel.contains("Security.evtx") || rel.contains("RdpCoreTS") {
            assert_eq!(i.records_rendered, 0, "{rel}: decoded directly");
        }
    }
}

#[test]
fn direct_decoding_equals_crate_rendering() {
    let Some((root, files)) = evtx_files() else {
        return;
    };
    for (rel, _) in files {
        for filter in [EventFilter::rds(), EventFilter::all()] {
            let fast = read_path(&root.join(&rel), &filter).unwrap();
            let slow =
                read_path(&root.join(&rel), &filter.clone().render_with_crate(true)).unwrap();
            assert_eq!(fast.events.len(), slow.events.len(), "{rel}");
            for (a, b) in fast.events.iter().zip(&slow.events) {
                assert_eq!(a, b, "{rel}");
            }
            assert_eq!(
                fast.integrity.records_read, slow.integrity.records_read,
                "{rel}"
            );
            assert_eq!(fast.integrity.channels, slow.integrity.channels, "{rel}");
        }
    }
}

/// Every corpus log is hashed while it is read: the reader's SHA-256 equals FACTS.json's and an
/// independent hash of the file (damaged and cut-off logs included).
#[test]
fn reader_hashes_equal_file_hashes() {
    use rdsdiag::capture::{Input, InputSource};
    use rdsdiag::evidence::{Deadline, InputKind, InputStatus};
    use sha2::{Digest, Sha256};
    let Some((root, files)) = evtx_files() else {
        return;
    };
    for (rel, facts) in files {
        let path = root.join(&rel);
        let bytes = std::fs::read(&path).unwrap();
        let input = Input {
            path: rel.clone(),
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
        let (_, reading) =
            rdsdiag::eventlog::read_input(&input, &EventFilter::rds(), Deadline::none());
        let expected: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(reading.sha256.as_deref(), Some(expected.as_str()), "{rel}");
        assert_eq!(facts["sha256"].as_str(), Some(expected.as_str()), "{rel}");
    }
}
