//! Issue 18: the command line for people and for tools — output fits the width (COLUMNS), CSV
//! parses with a standard reader with one row per event, `--tz` (with `host`) on the commands that
//! print times, completions, the manual page, `--version`, sizes with units, colour and errors.

use assert_cmd::Command;

const DEMO: &str = "fixtures/demo/RDSH01-kape";

fn cmd() -> Command {
    let mut c = Command::cargo_bin("rdsdiag").expect("binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "80")
        .env_remove("NO_COLOR");
    c
}

fn stdout(args: &[&str]) -> String {
    let out = cmd().args(args).output().expect("runs");
    String::from_utf8(out.stdout).expect("utf8")
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn demo_report_fits_80_columns() {
    let text = stdout(&["analyze", "--color", "never", DEMO]);
    for l in text.lines() {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    // The verdict stays short: the lines between "Verdict:" and the next section.
    let verdict: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Verdict:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(!verdict.is_empty() && verdict.len() <= 6, "{verdict:#?}");
    // Internal source tags are not user text.
    assert!(!text.contains("(reference S"), "{text}");
    assert!(!text.contains("(S14)"), "{text}");
    // A path longer than a line is wrapped, not cut: its pieces are all there.
    let joined: String = text.lines().map(str::trim).collect();
    assert!(
        joined.contains("C/Windows/System32/winevt/Logs/Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx"),
        "{text}"
    );
    // The snapshot of this report is `report_formats::demo_text` (also at COLUMNS=80).
}

#[test]
fn wider_terminal_and_verbose_give_longer_lines_and_json_keeps_the_full_text() {
    let wide = cmd()
        .env("COLUMNS", "200")
        .args(["analyze", "--color", "never", DEMO])
        .output()
        .expect("runs");
    let wide = String::from_utf8(wide.stdout).expect("utf8");
    assert!(
        widest(&wide) > 80 && widest(&wide) <= 200,
        "{}",
        widest(&wide)
    );
    let json = stdout(&["analyze", "--format", "json", DEMO]);
    assert!(
        json.contains("(reference S37)"),
        "JSON keeps the source tags"
    );
    let verbose = stdout(&["analyze", "-v", "--color", "never", DEMO]);
    // -v gives the full evidence paths.
    assert!(
        verbose.contains("C/Windows/System32/config/SOFTWARE [SOFTWARE]"),
        "{verbose}"
    );
}

#[test]
fn could_not_decide_lists_each_missing_piece_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Only the SOFTWARE hive: many checks miss the SYSTEM hive.
    std::fs::copy(
        format!(
            "{}/{DEMO}/C/Windows/System32/config/SOFTWARE",
            env!("CARGO_MANIFEST_DIR")
        ),
        dir.path().join("SOFTWARE"),
    )
    .expect("copy");
    let text = stdout(&[
        "analyze",
        "--color",
        "never",
        dir.path().to_str().expect("utf8"),
    ]);
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("Could not decide"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .filter(|l| l.starts_with("    - "))
        .collect();
    assert!(!section.is_empty(), "{text}");
    let mut seen = std::collections::HashSet::new();
    for l in &section {
        let what = l.split(" (RDS-").next().unwrap_or(l);
        assert!(seen.insert(what.to_string()), "repeated: {l}\n{text}");
    }
}

#[test]
fn events_lines_fit_and_verbose_keeps_them_whole() {
    let text = stdout(&["events", DEMO]);
    assert!(!text.is_empty());
    assert!(widest(&text) <= 80, "{text}");
    let full = stdout(&["events", "-v", DEMO]);
    assert!(widest(&full) > 80);
    assert_eq!(full.lines().count(), text.lines().count());
}

#[test]
fn csv_parses_with_one_row_per_event() {
    let jsonl = stdout(&["events", "--format", "jsonl", DEMO]);
    let csv_text = stdout(&["events", "--format", "csv", DEMO]);
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = r.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        rdsdiag::render::csv::EVENT_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), jsonl.lines().count());
    for (row, line) in rows.iter().zip(jsonl.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(row[4], v["event_id"].to_string());
        assert_eq!(row[8], v["record_id"].to_string());
        // ISO 8601 with its zone.
        assert!(row[0].ends_with('Z'), "{}", &row[0]);
        assert!(row[0].parse::<jiff::Timestamp>().is_ok(), "{}", &row[0]);
    }
    // The timeline's events: one row per JSONL line, the same times.
    let tl_jsonl = stdout(&["timeline", "--format", "jsonl", "--tz", "+02:00", DEMO]);
    let tl_csv = stdout(&["timeline", "--format", "csv", "--tz", "+02:00", DEMO]);
    let mut r = csv::Reader::from_reader(tl_csv.as_bytes());
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        rdsdiag::render::csv::TIMELINE_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), tl_jsonl.lines().count());
    for (row, line) in rows.iter().zip(tl_jsonl.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(&row[0], v["time"].as_str().expect("time"));
        assert!(row[0].ends_with("+02:00"), "{}", &row[0]);
        assert_eq!(&row[20], v["message"].as_str().expect("message"));
    }
    // Sessions: one row per session key the events name.
    let keys: std::collections::BTreeSet<String> = tl_jsonl
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v["session_key"].as_str().map(str::to_string)
        })
        .collect();
    let sessions = stdout(&["timeline", "--format", "sessions-csv", DEMO]);
    let mut r = csv::Reader::from_reader(sessions.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    let row_keys: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(rows.len(), keys.len());
    assert_eq!(row_keys, keys);
    // Findings and configuration.
    let findings = stdout(&["analyze", "--format", "csv", DEMO]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&["analyze", "--format", "json", DEMO])).expect("json");
    let mut r = csv::Reader::from_reader(findings.as_bytes());
    let ids: Vec<String> = r
        .records()
        .map(|x| x.expect("row")[1].to_string())
        .collect();
    let json_ids: Vec<String> = json["captures"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids, json_ids);
    let config = stdout(&["config", "--format", "csv", DEMO]);
    let mut r = csv::Reader::from_reader(config.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    let lm = rows
        .iter()
        .find(|r| &r[1] == "licensing_mode")
        .expect("licensing_mode");
    assert_eq!(&lm[4], "policy");
    assert!(lm[5].contains("Per Device"), "{lm:?}");
}

#[test]
fn tz_host_shows_the_hosts_zone_on_analyze_and_timeline() {
    // The demo host is in "W. Europe Standard Time" (Europe/Berlin, UTC+01:00 in March).
    let text = stdout(&["analyze", "--color", "never", "--tz", "host", DEMO]);
    assert!(text.contains("Timeline (times in Europe/Berlin"), "{text}");
    assert!(text.contains("2024-03-04 09:02:12 +01:00"), "{text}");
    assert!(
        !text.contains("08:02:12 UTC"),
        "rule text follows the zone too: {text}"
    );
    let tl = stdout(&["timeline", "--tz", "host", DEMO]);
    assert!(
        tl.starts_with("Session timeline (times in Europe/Berlin"),
        "{tl}"
    );
    assert!(tl.contains("+01:00"), "{tl}");
    let md = stdout(&["analyze", "--format", "markdown", "--tz", "host", DEMO]);
    assert!(md.contains("Europe/Berlin"), "{md}");
    let ev = stdout(&["events", "--tz", "host", DEMO]);
    assert!(ev.starts_with("2024-03-04T09:02:11.1234567+01:00"), "{ev}");
    // JSON stays UTC whatever --tz says.
    let a = stdout(&["analyze", "--format", "json", DEMO]);
    let b = stdout(&["analyze", "--format", "json", "--tz", "host", DEMO]);
    assert_eq!(a, b);
    // A zone that does not exist is an input error.
    cmd()
        .args(["analyze", "--tz", "Mars/Olympus", DEMO])
        .assert()
        .code(2);
}

#[test]
fn messages_have_their_placeholders_filled() {
    let tl = stdout(&["timeline", "--format", "jsonl", DEMO]);
    let msgs: Vec<String> = tl
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["event_id"] == 1131).then(|| v["message"].as_str().unwrap_or("").to_string())
        })
        .collect();
    assert!(!msgs.is_empty());
    for m in msgs {
        assert!(
            m.contains("License server LS01.contoso.local is not available"),
            "{m}"
        );
        assert!(!m.contains("Param1"), "{m}");
    }
}

#[test]
fn reg_text_shows_the_last_write_time() {
    let text = stdout(&[
        "reg",
        DEMO,
        r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    let key = lines
        .iter()
        .position(|l| l.ends_with(r"Control\Terminal Server"))
        .expect("key line");
    assert!(
        lines[key + 1].starts_with("    ; last written 20"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&[
        "reg",
        "--format",
        "json",
        DEMO,
        r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
    ]))
    .expect("json");
    let t = json.to_string();
    let stamp = lines[key + 1].trim_start_matches("    ; last written ");
    let ts: jiff::Timestamp = stamp.parse().expect("time");
    assert!(t.contains(&ts.to_string()), "{t}");
}

#[test]
fn sizes_take_units_and_raw_bytes() {
    let status = |size: &str| -> String {
        let json: serde_json::Value = serde_json::from_str(&stdout(&[
            "analyze",
            "--format",
            "json",
            "--max-file-bytes",
            size,
            DEMO,
        ]))
        .expect("json");
        json["captures"][0]["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|i| i["status"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // The demo's hives are 8 KiB (the limit applies to hives and archive entries).
    let small = status("4KiB");
    assert_eq!(small, status("4096"));
    assert!(small.contains("rejected"), "{small}");
    assert!(!status("1MiB").contains("rejected"));
    cmd()
        .args(["analyze", "--max-zip-bytes", "64 parsecs", DEMO])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown unit"));
}

#[test]
fn color_always_beats_no_color_and_auto_respects_it() {
    let out = cmd()
        .env("NO_COLOR", "1")
        .args(["analyze", "--color", "always", DEMO])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    let tl = cmd()
        .env("NO_COLOR", "1")
        .args(["timeline", "--color", "always", DEMO])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&tl.stdout).contains("\x1b["));
    let plain = cmd().args(["timeline", DEMO]).output().expect("runs");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\x1b["));
}

#[test]
fn progress_is_forced_on_stderr_and_absent_by_default() {
    let forced = cmd()
        .args(["analyze", "--progress", "--format", "json", DEMO])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(
        err.contains("1/1 captures") || err.contains("captures"),
        "{err}"
    );
    serde_json::from_slice::<serde_json::Value>(&forced.stdout).expect("stdout stays JSON");
    let quiet = cmd()
        .args(["analyze", "--format", "json", DEMO])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("captures"));
}

#[test]
fn completions_source_in_bash_and_man_renders() {
    let script = stdout(&["completions", "bash"]);
    assert!(script.contains("rdsdiag"));
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let bin = assert_cmd::cargo::cargo_bin("rdsdiag");
        let st = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source <('{}' completions bash) && complete -p rdsdiag",
                bin.display()
            ))
            .status()
            .expect("bash runs");
        assert!(st.success());
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(!stdout(&["completions", shell]).is_empty(), "{shell}");
    }
    let page = stdout(&["man"]);
    assert!(page.contains(".TH rdsdiag"), "{page}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rdsdiag.1");
    std::fs::write(&file, &page).expect("write");
    match std::process::Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("analyze"), "{text}");
        }
        Err(_) => eprintln!("NOTE: man is not installed; the page was not rendered"),
    }
}

#[test]
fn version_names_the_catalogue() {
    let v = stdout(&["--version"]);
    assert!(v.starts_with("rdsdiag "), "{v}");
    assert!(
        v.contains(&format!("catalogue {}", rdsdiag::catalog::version())),
        "{v}"
    );
}

#[test]
fn explain_wraps_without_splitting_rule_ids() {
    let ids: Vec<String> = stdout(&["rules", "--format", "json"])
        .parse::<serde_json::Value>()
        .expect("json")
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    for id in &ids {
        let out = cmd()
            .env("COLUMNS", "40")
            .args(["explain", id])
            .output()
            .expect("runs");
        let text = String::from_utf8(out.stdout).expect("utf8");
        for l in text.lines() {
            for w in l.split_whitespace() {
                if let Some(pos) = w.find("RDS-") {
                    let token: String = w[pos..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    let token = token.trim_end_matches('-');
                    assert!(
                        ids.iter().any(|i| i == token) || token == "RDS",
                        "{id}: {token:?} in {l:?}"
                    );
                }
            }
            // Lines only exceed the width when a single word (a URL) does.
            if l.chars().count() > 40 && !l.starts_with('#') {
                assert!(
                    l.split_whitespace().any(|w| w.chars().count() > 30),
                    "{id}: {l:?}"
                );
            }
        }
    }
}

#[test]
fn the_library_reports_progress_through_its_callback() {
    use rdsdiag::pipeline::{self, Progress};
    use std::sync::Mutex;
    let seen = Mutex::new(Vec::new());
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO);
    let report = pipeline::analyze_with_progress(
        &[demo.clone(), demo.join("no-such-capture")],
        &pipeline::Options::default(),
        &|p| seen.lock().unwrap().push(p),
    );
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.first(),
        Some(&Progress::Found { captures: 2 }),
        "{seen:?}"
    );
    let started = seen
        .iter()
        .filter(|p| matches!(p, Progress::Started { .. }))
        .count();
    let done = seen
        .iter()
        .filter(|p| matches!(p, Progress::Done { .. }))
        .count();
    assert_eq!((started, done), (2, 2), "{seen:?}");
    assert_eq!(report.captures.len(), 2);
}
