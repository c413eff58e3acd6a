//! The HTML report in a real browser: Debian's `chromium` renders the demo report, a hostile
//! capture and a fleet dashboard headless; the tests read the DOM the browser built
//! (`--dump-dom`) and take screenshots at desktop and phone width (`--screenshot`). Every request
//! goes to a proxy that does not exist, and the page's Content-Security-Policy forbids loads: the
//! DOM must hold no external `src`/`href` other than documentation links.
//!
//! Without chromium the tests say so and pass, unless `RDSDIAG_REQUIRE_BROWSER=1` (set by
//! `.ci/run`, which installs it).

#[path = "common/html.rs"]
mod html;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use html::*;

/// The browser, or `None` (with a note) when it is absent and not required.
fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("RDSDIAG_BROWSER")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .filter_map(|name| {
                    std::env::var_os("PATH").and_then(|paths| {
                        std::env::split_paths(&paths)
                            .map(|p| p.join(name))
                            .find(|p| p.is_file())
                    })
                }),
        )
        .next();
    if found.is_none() {
        assert!(
            std::env::var("RDSDIAG_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "RDSDIAG_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        );
        eprintln!(
            "NOTE: chromium not found: the browser tests of the HTML report are skipped (apt-get install chromium, or set RDSDIAG_BROWSER)"
        );
    }
    found
}

fn headless(browser: &Path, profile: &Path) -> Process {
    let mut c = Process::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-default-browser-check",
        // Every request the page might make would go here, and fail.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--virtual-time-budget=2000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM the browser built from `page`.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().expect("profile");
    let out = headless(browser, profile.path())
        .arg("--dump-dom")
        .arg(url(page))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).expect("utf8");
    assert!(dom.contains("</html>"), "no DOM: {dom}");
    dom
}

/// A PNG of `page` at `width`×`height`.
fn screenshot(browser: &Path, page: &Path, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().expect("profile");
    let out = headless(browser, profile.path())
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg("--hide-scrollbars")
        .arg(url(page))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 2000, "more than an empty page");
}

fn url(page: &Path) -> String {
    format!("file://{}", page.canonicalize().expect("page").display())
}

fn write_page(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write page");
    p
}

/// The text of the first element whose opening tag contains `marker`.
fn text_of<'a>(dom: &'a str, marker: &str) -> &'a str {
    let i = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the DOM"));
    let open_end = i + dom[i..].find('>').expect("tag end") + 1;
    let close = open_end + dom[open_end..].find("</").expect("close");
    &dom[open_end..close]
}

#[test]
fn demo_report_in_a_browser() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let json = capture_json(DEMO);
    let page = write_page(
        dir.path(),
        "demo.html",
        &run(&["analyze", "--format", "html", DEMO]),
    );
    let dom = dump_dom(&b, &page);
    // The verdict the browser shows is the capture's verdict, with its text.
    let verdict = json["verdict"].as_str().expect("verdict");
    assert_eq!(text_of(&dom, "class=\"verdict-word\""), verdict);
    let text = run(&["analyze", DEMO]);
    let first_finding = &json["findings"][0];
    let verdict_text = text_of(&dom, "class=\"verdict-text\"");
    assert!(
        verdict_text.contains(first_finding["id"].as_str().expect("id")),
        "the verdict names the first finding: {verdict_text}"
    );
    assert!(text.contains(&format!("Verdict: {verdict}")));
    // One SVG lane per session, in an SVG the browser parsed as SVG.
    let sessions = json["timeline"]["sessions"].as_array().expect("sessions");
    assert!(dom.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(dom.matches("<g class=\"lane\"").count(), sessions.len());
    for s in sessions {
        let id = s["id"].as_str().expect("id");
        assert!(dom.contains(&format!("data-lane=\"{id}\"")), "lane {id}");
    }
    for id in finding_ids(&json) {
        assert!(
            dom.contains(&format!("data-finding=\"{id}\"")),
            "finding {id}"
        );
    }
    // The filter script ran (the policy allows it by its hash): it shows its controls.
    assert!(
        dom.contains("<div class=\"filter\" data-scope=\"c1-sessions\">"),
        "the filter script did not run"
    );
    assert_offline(&dom, &doc_links(&json));
    screenshot(&b, &page, &dir.path().join("demo-1280.png"), 1280, 900);
    screenshot(&b, &page, &dir.path().join("demo-phone.png"), 390, 844);
    if let Some(keep) = std::env::var_os("RDSDIAG_SCREENSHOTS") {
        for f in ["demo-1280.png", "demo-phone.png"] {
            let _ = std::fs::copy(dir.path().join(f), Path::new(&keep).join(f));
        }
    }
}

#[test]
fn hostile_names_stay_text_in_a_browser() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let capture = hostile_capture(dir.path());
    let path = capture.to_str().expect("utf8");
    let json = capture_json(path);
    let page = write_page(
        dir.path(),
        "hostile.html",
        &run(&["analyze", "--format", "html", path]),
    );
    let dom = dump_dom(&b, &page);
    let lower = dom.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "only our own script element"
    );
    assert!(
        !lower.contains("<img"),
        "the browser built an image from the evidence"
    );
    // The DOM holds the names as text (serialised escaped again).
    assert!(dom.contains("&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=alert(3)&gt;"));
    assert_eq!(dom.matches("<g class=\"lane\"").count(), 1);
    assert_offline(&dom, &doc_links(&json));
}

#[test]
fn fleet_dashboard_in_a_browser() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("farm");
    farm(&root);
    let page = dir.path().join("fleet.html");
    let jsonl = run(&[
        "batch",
        root.to_str().expect("utf8"),
        "--html",
        page.to_str().expect("utf8"),
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(jsonl.lines().last().expect("summary")).expect("json");
    let dom = dump_dom(&b, &page);
    assert_eq!(dom.matches("<section class=\"host\"").count(), 4);
    for (id, _) in summary["findings"].as_object().expect("findings") {
        assert!(dom.contains(&format!("data-finding=\"{id}\"")), "{id}");
    }
    let mut links = Vec::new();
    for c in summary["cross_findings"].as_array().expect("cross") {
        let id = c["id"].as_str().expect("id");
        assert!(
            dom.contains(&format!("<code class=\"fid\">{id}</code>")),
            "{id}"
        );
        links.extend(
            c["links"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_string)),
        );
    }
    assert!(dom.contains("<div class=\"filter\" data-scope=\"hosts\">"));
    assert_offline(&dom, &links);
    screenshot(&b, &page, &dir.path().join("fleet-1280.png"), 1280, 900);
    if let Some(keep) = std::env::var_os("RDSDIAG_SCREENSHOTS") {
        let _ = std::fs::copy(
            dir.path().join("fleet-1280.png"),
            Path::new(&keep).join("fleet-1280.png"),
        );
    }
}
