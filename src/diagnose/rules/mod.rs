//! The rule registry: every diagnosis rdsdiag knows, in documentation order. A rule is one file
//! here (`<family>_<name>.rs`) with its page beside it (`<ID>.md`); add a rule by copying a
//! sibling, listing it in [`RULES`], and giving it a positive and a negative fixture in
//! `testsupport/src/rule_fixtures.rs`.

mod lic_policy_overrides;
mod lic_service_down;

use super::Rule;

/// Every registered rule.
pub static RULES: &[&dyn Rule] = &[
    &lic_policy_overrides::PolicyOverrides,
    &lic_service_down::ServiceDown,
];
