//! `rdsdiag config` end to end on the committed demo bundles: the text table and the JSON
//! contract (`captures[].settings.<name>`, `captures[].host`).

use assert_cmd::Command;
use serde_json::Value;

fn demo(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo")
        .join(name)
}

#[test]
fn text_table_of_the_kape_demo() {
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "80")
        .args(["config", "fixtures/demo/RDSH01-kape"])
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    // At 80 columns the table is too wide: one entry per setting, every line fits.
    assert!(text.contains("licensing_mode: Per User (4)"), "{text}");
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l}");
    }
    insta::assert_snapshot!("cli_config_kape_text", text);
    // Unlimited width (COLUMNS=0) keeps the table.
    let wide = Command::cargo_bin("rdsdiag")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", "0")
        .args(["config", "fixtures/demo/RDSH01-kape"])
        .output()
        .unwrap();
    let wide = String::from_utf8(wide.stdout).unwrap();
    assert!(wide.contains("SETTING"), "{wide}");
}

#[test]
fn json_contract() {
    let out = Command::cargo_bin("rdsdiag")
        .unwrap()
        .args(["config", "--format", "json"])
        .arg(demo("RDSH01-kape"))
        .arg(demo("does-not-exist"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing capture is an input error"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 2);
    let c = &v["captures"][0];
    assert_eq!(c["status"], "analysed");
    let mode = &c["settings"]["licensing_mode"];
    for field in [
        "state",
        "value",
        "display",
        "source",
        "provenance",
        "shadowed",
    ] {
        assert!(mode.get(field).is_some(), "licensing_mode lacks {field}");
    }
    for sh in mode["shadowed"].as_array().unwrap() {
        for field in ["source", "value", "provenance"] {
            assert!(sh.get(field).is_some(), "shadowed lacks {field}");
        }
    }
    assert!(c["host"]["computer_name"].is_object());
    assert!(c["host"]["windows_version"].is_object());
    assert!(c["host"]["roles"].is_array());
    assert_eq!(v["captures"][1]["status"], "failed");
}
