//! The HTML report without a browser: the page is one self-contained file in the promised order,
//! evidence is text never markup, one chart lane per session, thousands of sessions stay within
//! bounds, the same input gives the same bytes, and `merge --html` writes what `batch --html`
//! writes. `tests/html_browser.rs` checks what a real browser builds from the same pages.

#[path = "common/html.rs"]
mod html;

use html::*;
use serde_json::Value;

fn analyze_html(path: &str) -> String {
    run(&["analyze", "--format", "html", path])
}

fn lanes(page: &str) -> usize {
    page.matches("<g class=\"lane\"").count()
}

#[test]
fn demo_page_holds_everything_in_order() {
    let page = analyze_html(DEMO);
    let json = capture_json(DEMO);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    // The order the issue asks for.
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    let order = [
        "id=\"c1-verdict\"",
        "id=\"c1-findings\"",
        "id=\"c1-timeline\"",
        "id=\"c1-chart\"",
        "id=\"c1-config\"",
        "id=\"c1-host\"",
        "id=\"c1-inputs\"",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    let verdict = json["verdict"].as_str().expect("verdict");
    assert!(page.contains(&format!("<span class=\"verdict-word\">{verdict}</span>")));
    for id in finding_ids(&json) {
        assert!(
            page.contains(&format!("data-finding=\"{id}\"")),
            "finding {id} missing"
        );
    }
    let sessions = json["timeline"]["sessions"].as_array().expect("sessions");
    assert!(!sessions.is_empty(), "the demo has sessions");
    assert_eq!(lanes(&page), sessions.len(), "one lane per session");
    for s in sessions {
        let id = s["id"].as_str().expect("id");
        assert!(page.contains(&format!("data-lane=\"{id}\"")), "lane {id}");
    }
    // Every disconnect drawn in its class, with a legend entry for each class.
    let disconnects: usize = sessions
        .iter()
        .map(|s| s["disconnects"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(page.matches("<circle class=\"dc k-").count() <= disconnects);
    assert!(page.matches("<circle class=\"dc k-").count() > 0);
    for class in [
        "licensing",
        "time-limit",
        "user",
        "network",
        "admin",
        "other",
    ] {
        assert!(page.contains(&format!("background:var(--c-{class})\"></span>{class}")));
    }
    // Inputs with their hashes; configuration with each setting.
    for input in json["inputs"].as_array().expect("inputs") {
        let sha = input["sha256"].as_str().expect("sha");
        assert!(page.contains(sha), "input hash {sha}");
    }
    for name in json["settings"].as_object().expect("settings").keys() {
        assert!(
            page.contains(&format!("<code>{name}</code>")),
            "setting {name}"
        );
    }
    assert!(page.contains("@media print"), "a print style sheet");
    assert!(page.contains("@media (max-width:700px)"), "a phone layout");
    assert_offline(&page, &doc_links(&json));
}

#[test]
fn the_same_evidence_gives_the_same_page() {
    assert_eq!(analyze_html(DEMO), analyze_html(DEMO));
}

#[test]
fn hostile_names_are_shown_as_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let capture = hostile_capture(dir.path());
    let path = capture.to_str().expect("utf8");
    let page = analyze_html(path);
    let json = capture_json(path);
    assert_eq!(
        json["host"]["computer_name"]["value"], "<SCRIPT>ALERT(1)</SCRIPT>",
        "the generated host is named with markup"
    );
    assert!(json["timeline"]["sessions"][0]["user"]
        .as_str()
        .is_some_and(|u| u.contains("<img")));
    let lower = page.to_ascii_lowercase();
    assert_eq!(lower.matches("<script").count(), 1, "only our own script");
    assert!(
        !lower.contains("<img"),
        "no image element from the evidence"
    );
    assert!(!lower.contains("onerror=alert(2)>"));
    assert!(
        page.contains("&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;"),
        "computer name as text"
    );
    assert!(
        page.contains("CONTOSO\\&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "user name as text"
    );
    assert!(
        page.contains("&quot;&gt;&lt;img src=x onerror=alert(3)&gt;"),
        "registry value as text"
    );
    assert_eq!(lanes(&page), 1);
    assert_offline(&page, &doc_links(&json));
}

#[test]
fn thousands_of_sessions_stay_within_bounds() {
    let dir = tempfile::tempdir().expect("tmp");
    let capture = many_sessions(dir.path(), 400, 180);
    let path = capture.to_str().expect("utf8");
    let page = analyze_html(path);
    let json = capture_json(path);
    assert_eq!(
        json["timeline"]["sessions"].as_array().map(Vec::len),
        Some(400)
    );
    if let Some(keep) = std::env::var_os("RDSDIAG_KEEP_HTML") {
        // To look at the per-user view: RDSDIAG_KEEP_HTML=DIR.
        std::fs::write(std::path::Path::new(&keep).join("busy.html"), &page).expect("keep");
    }
    assert!(page.contains("data-lanes=\"user\""), "lanes per user");
    assert_eq!(
        lanes(&page),
        150,
        "149 users with the most sessions, then the rest"
    );
    assert!(page.contains("other users"));
    assert!(page.contains("The first 500 of") || page.matches("<tr data-filter=").count() == 400);
    // Fewer sessions than lanes: one lane each.
    let few = many_sessions(&dir.path().join("few"), 20, 3);
    let page = analyze_html(few.to_str().expect("utf8"));
    assert!(page.contains("data-lanes=\"session\""));
    assert_eq!(lanes(&page), 20);
}

#[test]
fn timeline_html_draws_the_sessions() {
    let page = run(&["timeline", "--format", "html", DEMO]);
    let json = capture_json(DEMO);
    assert_eq!(
        lanes(&page),
        json["timeline"]["sessions"].as_array().map_or(0, Vec::len)
    );
    assert!(page.contains("Times in <b>UTC</b>"));
    let berlin = run(&["timeline", "--format", "html", "--tz", "+01:00", DEMO]);
    assert!(berlin.contains("Times in <b>UTC+01:00</b>"));
    assert!(berlin.contains("+01:00</span>") || berlin.contains("+01:00"));
    assert_offline(&page, &[]);
}

fn fleet_pages(dir: &std::path::Path) -> (String, String) {
    let root = dir.join("farm");
    farm(&root);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let whole = out.join("whole.html");
    let jsonl = run(&[
        "batch",
        root.to_str().expect("utf8"),
        "--html",
        whole.to_str().expect("utf8"),
    ]);
    assert!(jsonl.lines().count() >= 5, "the JSONL is still written");
    let mut shards = Vec::new();
    for k in ["1/2", "2/2"] {
        let text = run(&["batch", root.to_str().expect("utf8"), "--shard", k]);
        let f = out.join(format!("shard{}.jsonl", &k[..1]));
        std::fs::write(&f, text).expect("write");
        shards.push(f);
    }
    let merged = out.join("merged.html");
    run(&[
        "merge",
        shards[1].to_str().expect("utf8"),
        shards[0].to_str().expect("utf8"),
        "--html",
        merged.to_str().expect("utf8"),
    ]);
    (
        std::fs::read_to_string(whole).expect("whole"),
        std::fs::read_to_string(merged).expect("merged"),
    )
}

#[test]
fn fleet_dashboard_is_the_same_from_batch_and_merge() {
    let dir = tempfile::tempdir().expect("tmp");
    let (whole, merged) = fleet_pages(dir.path());
    assert_eq!(
        whole, merged,
        "merge --html writes what batch --html writes"
    );
    let root = dir.path().join("farm");
    let text = run(&["batch", root.to_str().expect("utf8")]);
    let summary: Value = serde_json::from_str(text.lines().last().expect("summary")).expect("json");
    for (id, _) in summary["findings"].as_object().expect("findings") {
        assert!(whole.contains(&format!("data-finding=\"{id}\"")), "{id}");
    }
    for c in summary["cross_findings"].as_array().expect("cross") {
        let id = c["id"].as_str().expect("id");
        assert!(
            whole.contains(&format!("<code class=\"fid\">{id}</code>")),
            "{id}"
        );
    }
    // Each host has a section, and every link to a host lands on one.
    let sections: Vec<&str> = whole
        .match_indices("<section class=\"host\" id=\"")
        .map(|(i, m)| {
            let rest = &whole[i + m.len()..];
            &rest[..rest.find('"').expect("quote")]
        })
        .collect();
    assert_eq!(sections.len(), 4, "three session hosts and LS01");
    for href in attr_values(&whole, "href") {
        if let Some(anchor) = href.strip_prefix('#') {
            assert!(
                sections.contains(&anchor)
                    || ["verdicts", "findings", "servers", "failed", "hosts"].contains(&anchor),
                "a link to nowhere: {href}"
            );
        }
    }
    assert!(whole.contains("ls02.contoso.local"));
    assert!(whole.contains("not in this batch"));
    for mode in summary["licensing_modes"]
        .as_object()
        .expect("modes")
        .keys()
    {
        assert!(whole.contains(&format!("<td>{mode}</td>")), "mode {mode}");
    }
    assert!(whole.contains("Windows versions"));
    let links: Vec<String> = summary["cross_findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["links"].as_array().into_iter().flatten())
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    assert_offline(&whole, &links);
}

#[test]
fn a_dashboard_that_cannot_be_written_fails_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("farm");
    farm(&root);
    let out = rdsdiag()
        .args(["batch", root.to_str().expect("utf8"), "--html"])
        .arg(dir.path().join("no/such/dir/page.html"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    // miette wraps long lines in a box: compare the words.
    let words = String::from_utf8_lossy(&out.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        words.contains("the fleet dashboard could not be written"),
        "{words}"
    );
}

#[test]
fn two_captures_in_one_page_keep_their_ids_apart() {
    let page = run(&[
        "analyze",
        "--format",
        "html",
        DEMO,
        "fixtures/demo/MSRD-Results-RDSH01",
    ]);
    let mut ids = attr_values(&page, "id");
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "every id once");
    assert!(page.contains("<a href=\"#c2\">"), "the captures are listed");
    for href in attr_values(&page, "href") {
        if let Some(anchor) = href.strip_prefix('#') {
            assert!(ids.contains(&anchor), "a link to nowhere: {href}");
        }
    }
}

#[test]
fn tz_host_uses_the_captures_own_zone() {
    // The demo's SYSTEM hive says W. Europe Standard Time: --tz host shows Berlin time, not UTC.
    let utc = run(&["analyze", "--format", "html", DEMO]);
    let host = run(&["analyze", "--format", "html", "--tz", "host", DEMO]);
    assert!(utc.contains("Times in <b>UTC"), "default stays UTC");
    assert!(
        host.contains("Times in <b>Europe/Berlin (host: W. Europe Standard Time)"),
        "--tz host resolves from the capture"
    );
    assert!(host.contains("+01:00") && !host.contains("Times in <b>UTC"));
    // The timeline page names the host's zone too.
    let page = run(&["timeline", "--format", "html", DEMO]);
    assert!(
        page.contains("host zone: W. Europe Standard Time (UTC+01:00 standard time)"),
        "the timeline page knows the host's zone"
    );
}
