//! The rule registry: every diagnosis rdsdiag knows, in documentation order. A rule is one file
//! here (`<family>_<name>.rs`) with its page beside it (`<ID>.md`); add a rule by copying a
//! sibling, listing it in [`RULES`], and giving it a positive and a negative fixture in
//! `testsupport/src/rule_fixtures.rs`.

mod lic_policy_overrides;
mod lic_service_down;
mod lic_workgroup_auth;
mod lic_client_cache;
mod conn_no_keepalive;
mod conn_security_error;
mod conn_fips_override;
mod conn_cert_key;
mod conn_shared;

use super::Rule;

/// Every registered rule.
pub static RULES: &[&dyn Rule] = &[
    &lic_policy_overrides::PolicyOverrides,
    &lic_service_down::ServiceDown,
    &lic_workgroup_auth::WorkgroupAuth,
    &lic_client_cache::ClientCache,
    &conn_no_keepalive::NoKeepAlive,
    &conn_security_error::SecurityError,
    &conn_fips_override::FipsOverride,
    &conn_cert_key::CertKey,
];
