//! The rule registry's meta-tests and each rule's fixtures: every registered rule has a page with
//! the fixed headings, a positive and a negative generated capture that the real pipeline
//! diagnoses as expected, cites only the evidence kinds it declares, and a pinned snapshot of its
//! positive finding. `docs/rules/` is checked against the pages (RDSDIAG_UPDATE_DOCS=1 rewrites).

use std::collections::BTreeSet;
use std::path::Path;

use rdsdiag::diagnose::{rules::RULES, RuleDoc};
use rdsdiag::pipeline::{analyze_capture, AnalyzeOptions};
use rdsdiag::report::{CaptureReport, Verdict};
use rdsdiag_testsupport::rule_fixtures::{fixture, FIXTURES};
use rdsdiag_testsupport::scenario::Machine;

fn analyse(machine: &Machine) -> CaptureReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = machine
        .write_kape(&dir.path().join(&machine.name))
        .expect("write capture");
    analyze_capture(&root, &AnalyzeOptions::default())
}

fn well_formed(id: &str) -> bool {
    let mut parts = id.split('-');
    parts.next() == Some("RDS")
        && id.split('-').count() >= 3
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

#[test]
fn every_rule_is_documented_unique_and_has_fixtures() {
    let mut seen = BTreeSet::new();
    for rule in RULES {
        let meta = rule.meta();
        assert!(
            well_formed(meta.id),
            "{}: ids look like RDS-FAMILY-NAME",
            meta.id
        );
        assert!(seen.insert(meta.id), "{}: duplicate id", meta.id);
        let doc = RuleDoc::parse(meta.doc)
            .unwrap_or_else(|e| panic!("{}: page does not parse: {e}", meta.id));
        assert_eq!(doc.id, meta.id, "the page's title names its rule");
        assert!(!doc.remedy_steps().is_empty(), "{}: remedy steps", meta.id);
        assert!(!doc.links().is_empty(), "{}: at least one link", meta.id);
        assert!(
            !meta.evidence.is_empty(),
            "{}: declares its evidence kinds",
            meta.id
        );
        for verb in ["ENABLE-", "USE-", "SET-", "FIX-"] {
            assert!(
                !meta.id.contains(&format!("-{verb}")),
                "{}: names say the problem, not the fix",
                meta.id
            );
        }
        assert!(
            fixture(meta.id).is_some(),
            "{}: no fixtures in testsupport/src/rule_fixtures.rs",
            meta.id
        );
    }
    for f in FIXTURES {
        assert!(
            seen.contains(f.id),
            "fixture for unregistered rule {}",
            f.id
        );
    }
}

#[test]
fn every_rule_finds_its_positive_and_not_its_negative() {
    for rule in RULES {
        let meta = rule.meta();
        let fx = fixture(meta.id).expect("fixture (checked by the meta-test)");
        let report = analyse(&(fx.positive)());
        let found: Vec<_> = report.findings.iter().filter(|f| f.id == meta.id).collect();
        assert!(
            !found.is_empty(),
            "{}: positive fixture not diagnosed; findings: {:?}; undecided: {:?}",
            meta.id,
            report.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            report.undecided
        );
        for f in &found {
            assert!(
                !f.evidence.is_empty(),
                "{}: a finding cites evidence",
                meta.id
            );
            for e in &f.evidence {
                assert!(
                    meta.evidence.contains(&e.kind()),
                    "{}: cites undeclared evidence {:?}",
                    meta.id,
                    e.kind()
                );
            }
            assert!(
                !f.remedy.is_empty() && !f.links.is_empty(),
                "{}: remedy and links from the page",
                meta.id
            );
        }
        insta::assert_json_snapshot!(format!("{}_positive", meta.id), found);
        let negative = analyse(&(fx.negative)());
        assert!(
            negative.findings.iter().all(|f| f.id != meta.id),
            "{}: negative fixture diagnosed: {:?}",
            meta.id,
            negative.findings.iter().find(|f| f.id == meta.id)
        );
    }
}

/// Issue 15's invariant, over every rule fixture: a capture whose timeline holds a licensing
/// disconnect or a disconnect pattern never gets the `healthy` verdict nor the words "no problem".
#[test]
fn the_verdict_is_never_healthy_beside_a_licensing_disconnect_or_a_pattern() {
    let mut with_problems = 0;
    for fx in FIXTURES {
        for (which, machine) in [("positive", (fx.positive)()), ("negative", (fx.negative)())] {
            let report = analyse(&machine);
            let t = report.timeline.as_ref().expect("analysed");
            let problem = t.summary.licensing_disconnects > 0 || !t.patterns.is_empty();
            let text = rdsdiag::render::verdict(&report);
            if problem {
                with_problems += 1;
                assert_eq!(
                    report.verdict,
                    Verdict::Problems,
                    "{} {which}: {text}",
                    fx.id
                );
                assert!(
                    !text.contains("No RDS licensing or connection problem"),
                    "{} {which}: {text}",
                    fx.id
                );
            }
            if report.verdict == Verdict::Healthy {
                assert!(report.undecided.is_empty() && !problem, "{} {which}", fx.id);
            }
        }
    }
    assert!(with_problems > 5, "the fixtures hold problems to check");
}

#[test]
fn docs_rules_pages_match_the_rule_pages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let update = std::env::var_os("RDSDIAG_UPDATE_DOCS").is_some();
    if update {
        std::fs::create_dir_all(&dir).expect("mkdir docs/rules");
    }
    let mut index = String::from("# Diagnosis rules\n\nGenerated from `src/diagnose/rules/*.md` (the same text as `rdsdiag explain <ID>`); `RDSDIAG_UPDATE_DOCS=1 cargo test --test diagnose_rules` rewrites this folder.\n\n| id | severity | title |\n|---|---|---|\n");
    let metas = RULES
        .iter()
        .map(|r| r.meta())
        .chain(rdsdiag::batch::FLEET_RULES.iter().copied());
    for meta in metas {
        let doc = RuleDoc::parse(meta.doc).expect("parses");
        index.push_str(&format!(
            "| [{id}]({id}.md) | {} | {} |\n",
            meta.severity.name(),
            doc.title,
            id = meta.id
        ));
        let path = dir.join(format!("{}.md", meta.id));
        if update {
            std::fs::write(&path, meta.doc).expect("write page");
        } else {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                on_disk,
                meta.doc,
                "{} is stale: RDSDIAG_UPDATE_DOCS=1 cargo test --test diagnose_rules",
                path.display()
            );
        }
    }
    let index_path = dir.join("README.md");
    if update {
        std::fs::write(&index_path, &index).expect("write index");
    } else {
        assert_eq!(
            std::fs::read_to_string(&index_path).unwrap_or_default(),
            index,
            "docs/rules/README.md is stale"
        );
    }
    let pages: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("docs/rules")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    let wanted: BTreeSet<String> = RULES
        .iter()
        .map(|r| r.meta().id)
        .chain(rdsdiag::batch::FLEET_RULES.iter().map(|m| m.id))
        .map(|id| format!("{id}.md"))
        .collect();
    assert_eq!(pages, wanted, "docs/rules holds exactly one page per rule");
}
