//! Snapshots of the `config` table and the settings JSON for realistic captures (in-memory
//! registry contents; the same scenarios through hive files and registry text are compared in
//! `config_forms.rs`).

mod config_scenarios;

use config_scenarios::{memory, Hives};
use rdsdiag::config::resolve;
use rdsdiag::render::config::render_text;

#[test]
fn text_and_json_of_each_scenario() {
    for (name, entries) in config_scenarios::all() {
        let settings = resolve(&memory(&entries, Hives::Both));
        insta::assert_snapshot!(format!("{name}_text"), render_text(&settings));
        insta::assert_json_snapshot!(format!("{name}_json"), settings);
    }
}

#[test]
fn partial_captures() {
    let entries = config_scenarios::gpo_overrides_server_manager();
    for (label, hives) in [
        ("system_only", Hives::SystemOnly),
        ("software_only", Hives::SoftwareOnly),
    ] {
        let settings = resolve(&memory(&entries, hives));
        insta::assert_snapshot!(format!("{label}_text"), render_text(&settings));
        insta::assert_json_snapshot!(format!("{label}_json"), settings);
    }
}
