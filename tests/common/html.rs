//! Shared by the HTML tests (`#[path]`-included): the captures they render (a hostile host, a
//! farm, many sessions), the binary, and what the rendered page must and must not hold.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use rdsdiag_testsupport::hive::Data;
use rdsdiag_testsupport::scenario::{
    log_file_of, lsm_40, lsm_session, rcm_licensing, Machine, Os, LSM_CHANNEL, RCM_ADMIN,
};

pub const DEMO: &str = "fixtures/demo/RDSH01-kape";

/// Names that would run script if a page took them as markup.
pub const HOSTILE_COMPUTER: &str = "<script>alert(1)</script>";
pub const HOSTILE_USER: &str = "CONTOSO\\\"><img src=x onerror=alert(2)>";
pub const HOSTILE_SERVER: &str = "\"><img src=x onerror=alert(3)>";

pub fn rdsdiag() -> Command {
    Command::cargo_bin("rdsdiag").expect("binary")
}

/// Run the binary; stdout as text (any exit code but a crash).
pub fn run(args: &[&str]) -> String {
    let out = rdsdiag().args(args).output().expect("runs");
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// The analyze JSON of one capture (`captures[0]`).
pub fn capture_json(path: &str) -> Value {
    let v: Value =
        serde_json::from_str(&run(&["analyze", "--format", "json", path])).expect("json");
    v["captures"][0].clone()
}

/// A session host whose computer name, user name and license server value are markup: a
/// licensing disconnect (258) so the user's session and a finding show.
pub fn hostile_capture(dir: &Path) -> PathBuf {
    let lsm = log_file_of(LSM_CHANNEL);
    let rcm = log_file_of(RCM_ADMIN);
    let at = |h: u32, m: u32| format!("2024-03-04T{h:02}:{m:02}:00.0000000Z");
    Machine::session_host(HOSTILE_COMPUTER, Os::Server2019, Some("contoso.local"))
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz(HOSTILE_SERVER.into()))
        .log(
            &lsm,
            vec![
                lsm_session(21, &at(8, 0), 2, HOSTILE_USER, "10.0.0.9"),
                lsm_40(&at(9, 0), 2, 258),
                lsm_session(24, &at(9, 0), 2, HOSTILE_USER, "10.0.0.9"),
                lsm_session(25, &at(9, 5), 2, HOSTILE_USER, "10.0.0.9"),
                lsm_session(23, &at(9, 30), 2, HOSTILE_USER, "10.0.0.9"),
            ],
        )
        .log(
            &rcm,
            vec![rcm_licensing(&at(8, 59), 1131, Some(HOSTILE_SERVER))],
        )
        .write_kape(&dir.join("hostile"))
        .expect("write")
}

/// Three session hosts and their license server (as `tests/batch_fleet.rs` builds them).
pub fn farm(dir: &Path) {
    let host = |name: &str, os: Os, domain: Option<&str>, servers: &str| {
        Machine::session_host(name, os, domain)
            .server_manager_licensing(4, &[])
            .policy("LicensingMode", Data::Dword(4))
            .policy("LicenseServers", Data::Sz(servers.into()))
    };
    host(
        "RDSH01",
        Os::Server2022,
        Some("contoso.local"),
        "LS01.contoso.local",
    )
    .write_kape(&dir.join("RDSH01"))
    .expect("write");
    host(
        "RDSH02",
        Os::Server2016,
        Some("contoso.local"),
        "LS01, LS02.contoso.local",
    )
    .write_kape(&dir.join("RDSH02"))
    .expect("write");
    host("RDSH03", Os::Server2016, None, "ls01.contoso.local")
        .write_kape_zip(&dir.join("RDSH03.zip"))
        .expect("write");
    Machine::license_server("LS01", Os::Server2016, Some("contoso.local"))
        .write_msrd(&dir.join("customer-a"))
        .expect("write");
}

/// A host with `n` short sessions of `users` users, one every 20 minutes.
pub fn many_sessions(dir: &Path, n: u32, users: u32) -> PathBuf {
    let lsm = log_file_of(LSM_CHANNEL);
    let mut evs = Vec::new();
    for k in 0..n {
        let start = 1_709_539_200 + i64::from(k) * 1200; // 2024-03-04T08:00:00Z
        let t = |s: i64| {
            jiff::Timestamp::from_second(start + s)
                .expect("time")
                .strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
                .to_string()
        };
        let user = format!("CONTOSO\\user{:03}", k % users);
        let id = 2 + k % 60;
        evs.push(lsm_session(21, &t(0), id, &user, "10.0.0.5"));
        evs.push(lsm_40(&t(600), id, if k % 3 == 0 { 258 } else { 11 }));
        evs.push(lsm_session(24, &t(600), id, &user, "10.0.0.5"));
        evs.push(lsm_session(23, &t(900), id, &user, "10.0.0.5"));
    }
    Machine::session_host("BUSY01", Os::Server2019, Some("contoso.local"))
        .log(&lsm, evs)
        .write_kape(&dir.join("busy"))
        .expect("write")
}

/// The values of `attr="…"` in `html`, in order.
pub fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Every `src`/`href` must stay in the page, except documentation links the findings cite.
pub fn assert_offline(html: &str, doc_links: &[String]) {
    assert!(
        attr_values(html, "src").is_empty(),
        "a src attribute: {:?}",
        attr_values(html, "src")
    );
    for href in attr_values(html, "href") {
        let href = href.replace("&amp;", "&");
        assert!(
            href.starts_with('#') || doc_links.contains(&href),
            "external href that is no documentation link: {href}"
        );
    }
    let lower = html.to_ascii_lowercase();
    for bad in [
        "@import", "url(", "<link", "<iframe", "<object", "<embed", "<img",
    ] {
        assert!(!lower.contains(bad), "the page holds {bad}");
    }
    assert!(
        html.contains("default-src 'none'"),
        "the Content-Security-Policy forbids every load"
    );
}

/// The documentation links of a capture's findings.
pub fn doc_links(capture: &Value) -> Vec<String> {
    capture["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["links"].as_array().into_iter().flatten())
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect()
}

/// The ids of a capture's findings.
pub fn finding_ids(capture: &Value) -> Vec<String> {
    capture["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}
