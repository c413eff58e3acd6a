//! The rule registry: every diagnosis rdsdiag knows, in documentation order. A rule is one file
//! here (`<family>_<name>.rs`) with its page beside it (`<ID>.md`); add a rule by copying a
//! sibling, listing it in [`RULES`], and giving it a positive and a negative fixture in
//! `testsupport/src/rule_fixtures.rs`.

mod conn_cert_key;
mod conn_fips_override;
mod conn_logon_denied;
mod conn_no_keepalive;
mod conn_security_error;
mod conn_shared;
mod conn_time_limit;
mod lic_client_cache;
mod lic_disconnect;
mod lic_grace_expired;
mod lic_mode_not_configured;
mod lic_no_cals;
mod lic_no_server;
mod lic_policy_overrides;
pub(crate) mod lic_reasons;
mod lic_server_unreachable;
mod lic_service_down;
mod lic_shared;
mod lic_soft_enforcement;
mod lic_vdi_no_certificate;
mod lic_workgroup_auth;

use super::Rule;

/// Every registered rule.
pub static RULES: &[&dyn Rule] = &[
    &lic_mode_not_configured::ModeNotConfigured,
    &lic_no_server::NoServer,
    &lic_policy_overrides::PolicyOverrides,
    &lic_server_unreachable::ServerUnreachable,
    &lic_no_cals::NoCals,
    &lic_soft_enforcement::SoftEnforcement,
    &lic_grace_expired::GraceExpired,
    &lic_vdi_no_certificate::VdiNoCertificate,
    &lic_service_down::ServiceDown,
    &lic_workgroup_auth::WorkgroupAuth,
    &lic_client_cache::ClientCache,
    &lic_disconnect::LicensingDisconnect,
    &conn_time_limit::TimeLimit,
    &conn_no_keepalive::NoKeepAlive,
    &conn_security_error::SecurityError,
    &conn_fips_override::FipsOverride,
    &conn_cert_key::CertKey,
    &conn_logon_denied::LogonDenied,
];
