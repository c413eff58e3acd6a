//! Invariant (issue 15): a table row still UNCONFIRMED may add context but never raises a warning
//! or an error alone, and never makes a licensing-disconnect or error-burst pattern alone.
//!
//! For every UNCONFIRMED row of the event catalogue (`events.tsv`), the timeline role table
//! (`roles.tsv`) and the licensing evidence map (`licensing_evidence.tsv`), a generated capture of
//! a healthy session host holds many such events around ordinary user disconnects (reasons 11
//! and 12), shaped as the tables describe them (channel, fields, and field values that meet the
//! role's `when` conditions), and the analysis must raise nothing of warning or error severity.
//! The events are checked to have been read and given their role, so the test cannot pass by
//! reading nothing.

use std::collections::BTreeMap;

use rdsdiag::catalog::events::{catalog, EventIdSpec};
use rdsdiag::catalog::sources::{Refs, Status};
use rdsdiag::diagnose::Severity;
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::CaptureReport;
use rdsdiag::timeline::roles::{roles, Cond, Role};
use rdsdiag::timeline::PatternKind;
use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{
    catalogued_event, iso_shift, log_file_of, user_disconnects, Machine, Os,
};

const LSM_FILE: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const LICENSING_EVIDENCE: &str = include_str!("../src/diagnose/rules/licensing_evidence.tsv");

/// One unconfirmed row to exercise: the event as written on disk, and what it should become.
#[derive(Debug, Clone)]
struct Case {
    provider: String,
    canonical: u16,
    raw: u32,
    channel: String,
    fields: Vec<(String, String)>,
    role: Option<Role>,
    why: String,
}

/// A value that meets every condition on `field` (or a plain one when there is none).
fn value_for(field: &str, conds: &[Cond]) -> String {
    let mut value = "7".to_string();
    for c in conds {
        match c {
            Cond::In(f, vals) if f == field => value = vals[0].clone(),
            Cond::AtLeast(f, n) if f == field => value = format!("{}", n + 0x9_0304),
            Cond::NotIn(f, vals) if f == field && vals.iter().any(|v| v == &value) => {
                value = "0x8009030C".into()
            }
            _ => {}
        }
    }
    value
}

fn cases() -> Vec<Case> {
    let mut by_key: BTreeMap<(String, u16), Case> = BTreeMap::new();
    let role_table = roles();
    let mut add = |provider: &str, id: u16, why: String| {
        let key = (provider.to_ascii_lowercase(), id);
        if let Some(c) = by_key.get_mut(&key) {
            c.why.push_str("; ");
            c.why.push_str(&why);
            return;
        }
        let def = catalog().get(provider, EventIdSpec::Id(id));
        let row = role_table
            .rows()
            .iter()
            .find(|r| r.provider.eq_ignore_ascii_case(provider) && r.event_id == id);
        let conds: &[Cond] = row.map_or(&[], |r| r.when.as_slice());
        let mut names: Vec<String> = def.map(|d| d.fields.clone()).unwrap_or_default();
        for c in conds {
            let (Cond::In(f, _) | Cond::NotIn(f, _) | Cond::AtLeast(f, _)) = c;
            if !names.contains(f) {
                names.push(f.clone());
            }
        }
        let fields = names
            .iter()
            .map(|n| (n.clone(), value_for(n, conds)))
            .collect();
        let raw = def
            .and_then(|d| d.raw_ids.first().copied())
            .map_or(u32::from(id), u32::from);
        let channel = def
            .map(|d| d.channels[0].clone())
            .unwrap_or_else(|| "System".into());
        by_key.insert(
            key,
            Case {
                provider: provider.to_string(),
                canonical: id,
                raw,
                channel,
                fields,
                role: row.map(|r| r.role),
                why,
            },
        );
    };
    for d in catalog().defs() {
        if let EventIdSpec::Id(id) = d.event_id {
            if d.status() == Status::Unconfirmed {
                add(
                    &d.provider,
                    id,
                    format!("events.tsv: {}", d.source.as_str()),
                );
            }
        }
    }
    for r in roles().rows() {
        if r.status() == Status::Unconfirmed {
            add(
                &r.provider,
                r.event_id,
                format!("roles.tsv: {}", r.source.as_str()),
            );
        }
    }
    for line in LICENSING_EVIDENCE
        .lines()
        .skip_while(|l| !l.starts_with("rule\t"))
        .skip(1)
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let refs = Refs::parse(cols[4]).expect("licensing_evidence src parses");
        if refs.status() == Status::Unconfirmed {
            let provider = match cols[1] {
                "RCM" => RCM,
                _ => "Microsoft-Windows-TerminalServices-Licensing",
            };
            add(
                provider,
                cols[2].parse().unwrap(),
                format!("licensing_evidence.tsv: {line}"),
            );
        }
    }
    by_key.into_values().collect()
}

/// A healthy session host (licensing configured, keep-alive on) whose users disconnect and log
/// off normally, with `extra` events around every disconnect.
fn host_with(extra: impl Fn(&str) -> Vec<(String, rdsdiag_testsupport::evtx::Ev)>) -> Machine {
    let (lsm, times) = user_disconnects(
        "2024-03-04",
        &[
            (2, r"CONTOSO\bob", "10.0.0.5", 8, 11),
            (3, r"CONTOSO\alice", "10.0.0.6", 9, 12),
            (4, r"CONTOSO\bob", "10.0.0.5", 10, 11),
            (5, r"CONTOSO\carol", "10.0.0.7", 11, 12),
        ],
    );
    let mut m = Machine::session_host("RDSH01", Os::Server2022, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .policy("KeepAliveEnable", Data::Dword(1))
        .policy("KeepAliveInterval", Data::Dword(1))
        .log(LSM_FILE, lsm)
        .rds_running("2024-03-04T07:00:00Z")
        // The logs the licensing and connection rules need, so they decide.
        .log(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx",
            vec![],
        )
        .log(
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
            vec![],
        );
    for t in &times {
        for (file, ev) in extra(t) {
            m = m.log(&file, vec![ev]);
        }
    }
    m
}

fn analyse(m: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn raised(r: &CaptureReport) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{} ({:?}): {}", f.id, f.severity, f.explanation))
        .collect()
}

fn problem_patterns(r: &CaptureReport) -> Vec<String> {
    r.timeline
        .as_ref()
        .map(|t| {
            t.patterns
                .iter()
                .filter(|p| {
                    matches!(
                        p.kind,
                        PatternKind::LicensingDisconnect | PatternKind::ErrorBurst
                    )
                })
                .map(|p| format!("{}: {}", p.kind.name(), p.summary))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_baseline_host_raises_nothing() {
    let r = analyse(&host_with(|_| Vec::new()));
    assert!(raised(&r).is_empty(), "{:#?}", raised(&r));
    assert!(
        problem_patterns(&r).is_empty(),
        "{:#?}",
        problem_patterns(&r)
    );
    let t = r.timeline.as_ref().expect("timeline");
    assert_eq!(t.summary.disconnects, 4, "{:?}", t.summary);
}

#[test]
fn no_unconfirmed_row_raises_a_warning_or_makes_a_pattern_alone() {
    let cases = cases();
    assert!(
        cases.iter().any(|c| c.role.is_some()),
        "the tables have unconfirmed rows with a timeline role: {cases:#?}"
    );
    let baseline = analyse(&host_with(|_| Vec::new()))
        .timeline
        .expect("timeline")
        .summary
        .events;
    let mut failures = Vec::new();
    for c in &cases {
        let m = host_with(|t| {
            // Many of them around every disconnect: before, at and after it.
            [-150i64, -60, -20, -5, 0, 3, 10, 30, 50]
                .iter()
                .map(|&d| {
                    let f: Vec<(&str, &str)> = c
                        .fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    (
                        log_file_of(&c.channel),
                        catalogued_event(&iso_shift(t, d), &c.provider, c.raw, &c.channel, &f),
                    )
                })
                .collect()
        });
        let r = analyse(&m);
        // The events were read, normalised to their canonical ID and given their role.
        let t = r.timeline.as_ref().expect("timeline");
        let read = t.summary.events - baseline;
        if read != 36 {
            failures.push(format!(
                "{} {} (raw {}): {read} of its 36 events read ({})",
                c.provider, c.canonical, c.raw, c.why
            ));
            continue;
        }
        let raised = raised(&r);
        let patterns = problem_patterns(&r);
        if !raised.is_empty() || !patterns.is_empty() {
            failures.push(format!(
                "{} {} ({}): findings {raised:#?}, patterns {patterns:#?}",
                c.provider, c.canonical, c.why
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_generated_events_take_their_role() {
    // The shape the cases write is the shape the timeline reads: each unconfirmed role row's
    // events get that role (else the invariant test above would prove nothing).
    for c in cases().iter().filter(|c| c.role.is_some()) {
        let m = host_with(|t| {
            let f: Vec<(&str, &str)> = c
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            vec![(
                log_file_of(&c.channel),
                catalogued_event(t, &c.provider, c.raw, &c.channel, &f),
            )]
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let root = m.write_kape(&dir.path().join(&m.name)).expect("write");
        let out = rdsdiag::pipeline::timeline(&root, &AnalyzeOptions::default())
            .unwrap_or_else(|e| panic!("timeline of the capture: {e:?}"));
        let got: Vec<Role> = out
            .timeline
            .events
            .iter()
            .filter(|e| e.provider.eq_ignore_ascii_case(&c.provider) && e.event_id == c.canonical)
            .map(|e| e.role)
            .collect();
        assert_eq!(got.len(), 4, "{c:?}");
        assert!(got.iter().all(|r| Some(*r) == c.role), "{c:?}: {got:?}");
        assert!(
            out.timeline
                .events
                .iter()
                .filter(
                    |e| e.event_id == c.canonical && e.provider.eq_ignore_ascii_case(&c.provider)
                )
                .all(|e| e.status == Status::Unconfirmed),
            "{c:?}"
        );
    }
}
