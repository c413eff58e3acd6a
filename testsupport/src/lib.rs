pub fn placeholder() {}
pub mod clock;
pub mod corpus;
pub mod demo;
pub mod evtx;
pub mod gpo;
pub mod gpresult;
pub mod hive;
pub mod lic_scenarios;
pub mod regtext;
pub mod rule_fixtures;
pub mod scenario;
