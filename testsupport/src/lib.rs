pub fn placeholder() {}
pub mod evtx;
pub mod hive;
pub mod regtext;
pub mod scenario;
pub mod demo;
pub mod rule_fixtures;
pub mod lic_scenarios;
