//! End to end: a corpus test run by the test harness fails when the corpus is absent and
//! `RDSDIAG_REQUIRE_CORPUS=1`, and is skipped with a note otherwise. The test binary runs itself
//! with the corpus pointed at a folder that does not exist.

use std::process::Command;

use rdsdiag_testsupport::corpus;

/// Stands for any corpus test: it only runs its check when the corpus path is there.
#[test]
fn reads_the_corpus() {
    let Some(dir) = corpus::path("captures") else {
        return;
    };
    assert!(dir.is_dir());
}

fn run_reads_the_corpus(require: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "reads_the_corpus",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(
        corpus::DIR_VAR,
        std::env::temp_dir().join("rdsdiag-no-such-corpus-7f3a"),
    )
    .env_remove(corpus::REQUIRE_VAR);
    if let Some(v) = require {
        cmd.env(corpus::REQUIRE_VAR, v);
    }
    cmd.output().expect("test binary runs")
}

#[test]
fn absent_corpus_fails_when_required() {
    let out = run_reads_the_corpus(Some("1"));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "must fail:\n{all}");
    assert!(
        all.contains("RDSDIAG_REQUIRE_CORPUS=1 requires the corpus"),
        "{all}"
    );
    assert!(all.contains("rdsdiag-no-such-corpus-7f3a"), "{all}");
}

#[test]
fn absent_corpus_is_skipped_with_a_note_otherwise() {
    for require in [None, Some("0")] {
        let out = run_reads_the_corpus(require);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{require:?}: {err}");
        assert!(err.contains("corpus test skipped"), "{require:?}: {err}");
    }
}
