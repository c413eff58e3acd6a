//! One positive and one negative capture per diagnosis rule, by rule id. The rule meta-test in
//! `tests/diagnose_rules.rs` fails when a registered rule has no entry here; each entry is run
//! through the real pipeline (written to disk as a KAPE tree, then analysed).

use crate::hive::Data;
use crate::scenario::{Machine, Os};
// Event helpers of the service, client and connection rules.
use crate::scenario::{scm_7036, scm_7040};

/// The fixtures of one rule.
pub struct RuleFixture {
    pub id: &'static str,
    /// A capture that must produce the finding.
    pub positive: fn() -> Machine,
    /// A capture, as close to the positive one as possible, that must not.
    pub negative: fn() -> Machine,
}

/// Every rule's fixtures, in registry order.
pub static FIXTURES: &[RuleFixture] = &[
    RuleFixture {
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
    },
    RuleFixture {
        id: "RDS-LIC-SERVICE-DOWN",
        positive: || {
            // Someone disabled the licensing service on the license server and stopped it.
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local"))
                .system_value(r"ControlSet001\Services\TermServLicensing", "Start", Data::Dword(4))
                .log(
                    "System.evtx",
                    vec![
                        scm_7036("2024-03-01T07:00:00Z", "Remote Desktop Licensing", "running"),
                        scm_7040(
                            "2024-03-01T08:55:00Z",
                            "Remote Desktop Licensing",
                            "auto start",
                            "disabled",
                            "TermServLicensing",
                        ),
                        scm_7036("2024-03-01T09:00:00Z", "Remote Desktop Licensing", "stopped"),
                    ],
                )
        },
        negative: || {
            // The same license server with the service automatic and running again after a
            // restart.
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local")).log(
                "System.evtx",
                vec![
                    scm_7036("2024-03-01T07:00:00Z", "Remote Desktop Licensing", "running"),
                    scm_7036("2024-03-01T09:00:00Z", "Remote Desktop Licensing", "stopped"),
                    scm_7036("2024-03-01T09:01:00Z", "Remote Desktop Licensing", "running"),
                ],
            )
        },
    },
];

/// The fixtures of `id`.
pub fn fixture(id: &str) -> Option<&'static RuleFixture> {
    FIXTURES.iter().find(|f| f.id == id)
}
