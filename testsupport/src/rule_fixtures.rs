//! One positive and one negative capture per diagnosis rule, by rule id. The rule meta-test in
//! `tests/diagnose_rules.rs` fails when a registered rule has no entry here; each entry is run
//! through the real pipeline (written to disk as a KAPE tree, then analysed).

use crate::hive::Data;
use crate::scenario::{Machine, Os};

/// The fixtures of one rule.
pub struct RuleFixture {
    pub id: &'static str,
    /// A capture that must produce the finding.
    pub positive: fn() -> Machine,
    /// A capture, as close to the positive one as possible, that must not.
    pub negative: fn() -> Machine,
}

/// Every rule's fixtures, in registry order.
pub static FIXTURES: &[RuleFixture] = &[RuleFixture {
    id: "RDS-LIC-POLICY-OVERRIDES",
    positive: || {
        Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
            .server_manager_licensing(2, &["LS-OLD.contoso.local"])
            .policy("LicensingMode", Data::Dword(4))
            .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()))
    },
    negative: || {
        // Policy and Server Manager agree: nothing is overridden in a way that surprises.
        Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
            .server_manager_licensing(4, &["LS01.contoso.local"])
            .policy("LicensingMode", Data::Dword(4))
            .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()))
    },
}];

/// The fixtures of `id`.
pub fn fixture(id: &str) -> Option<&'static RuleFixture> {
    FIXTURES.iter().find(|f| f.id == id)
}
