//! One positive and one negative capture per diagnosis rule, by rule id. The rule meta-test in
//! `tests/diagnose_rules.rs` fails when a registered rule has no entry here; each entry is run
//! through the real pipeline (written to disk as a KAPE tree, then analysed).

use crate::hive::Data;
use crate::scenario::{Machine, Os};
// Event helpers of the service, client and connection rules.
use crate::evtx::Ev;
use crate::scenario::{
    lsm_39, lsm_40, lsm_session, rcm_system, rdp_client_1026, schannel_36870, scm_7036, scm_7040,
    termdd_56,
};

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
    // --- Licensing rules (D1–D7): machines from `lic_scenarios` ---
    RuleFixture {
        id: "RDS-LIC-MODE-NOT-CONFIGURED",
        positive: || {
            // Server Manager says 5 (not configured); RCM 1068 at each start.
            crate::lic_scenarios::rdsh(Os::Server2019, 5, &[crate::lic_scenarios::LS01])
                .with_ls_certificate()
                .log(
                    crate::lic_scenarios::RCM_ADMIN_LOG,
                    vec![
                        crate::scenario::rcm_licensing("2024-03-04T07:00:00Z", 1068, None),
                        crate::scenario::rcm_licensing("2024-03-05T07:00:00Z", 1068, None),
                    ],
                )
        },
        negative: || {
            // Per User configured: nothing to report.
            crate::lic_scenarios::healthy_host(4)
        },
    },
    RuleFixture {
        id: "RDS-LIC-NO-SERVER",
        positive: || {
            // Per Device, no server anywhere; RCM 1130 at each licensing check.
            let (lsm, rcm) = crate::lic_scenarios::cut_first_logons(2, 257, &[(1130, None)]);
            crate::lic_scenarios::rdsh(Os::Server2019, 2, &[])
                .log(crate::lic_scenarios::LSM_LOG, lsm)
                .log(crate::lic_scenarios::RCM_ADMIN_LOG, rcm)
        },
        negative: || {
            // The same host with a license server in Server Manager.
            crate::lic_scenarios::healthy_host(2)
        },
    },
    RuleFixture {
        id: "RDS-LIC-SERVER-UNREACHABLE",
        positive: || {
            // LS01 not available (1131) before each cut first logon (reason 257).
            let (lsm, rcm) = crate::lic_scenarios::cut_first_logons(
                3,
                257,
                &[(1131, Some(crate::lic_scenarios::LS01))],
            );
            crate::lic_scenarios::rdsh(Os::Server2019, 2, &[crate::lic_scenarios::LS01])
                .with_ls_certificate()
                .log(crate::lic_scenarios::LSM_LOG, lsm)
                .log(crate::lic_scenarios::RCM_ADMIN_LOG, rcm)
        },
        negative: || {
            // The same host whose RCM Admin log holds only the grace warning.
            crate::lic_scenarios::healthy_host(2).log(
                crate::lic_scenarios::RCM_ADMIN_LOG,
                vec![crate::scenario::rcm_licensing(
                    "2024-03-04T07:00:00Z",
                    1129,
                    Some("2024-06-30"),
                )],
            )
        },
    },
    RuleFixture {
        id: "RDS-LIC-NO-CALS",
        positive: || {
            // The license server has no Per Device CALs left for RDSH01 (LS event 21).
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local")).log(
                "System.evtx",
                crate::lic_scenarios::ls_no_licences(
                    3,
                    "Windows Server 2019 - RDS Per Device CAL",
                    "RDSH01",
                ),
            )
        },
        negative: || {
            // The same license server issuing Per Device CALs (LS 4147).
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local"))
                .log("System.evtx", crate::lic_scenarios::ls_issued(3, "RDSH01"))
        },
    },
    RuleFixture {
        id: "RDS-LIC-SOFT-ENFORCEMENT",
        positive: || crate::lic_scenarios::soft_enforcement_host(Os::Server2019),
        negative: || {
            // The same rhythm on Windows Server 2022, which has no soft enforcement.
            crate::lic_scenarios::soft_enforcement_host(Os::Server2022)
        },
    },
    RuleFixture {
        id: "RDS-LIC-GRACE-EXPIRED",
        positive: || {
            // Warned (1129), then expired (1128) with LS01 never registered.
            crate::lic_scenarios::rdsh(Os::Server2019, 4, &[crate::lic_scenarios::LS01]).log(
                crate::lic_scenarios::RCM_ADMIN_LOG,
                vec![
                    crate::scenario::rcm_licensing(
                        "2024-04-20T07:00:00Z",
                        1129,
                        Some("2024-05-01"),
                    ),
                    crate::scenario::rcm_licensing("2024-05-02T07:55:02Z", 1128, None),
                    crate::scenario::rcm_licensing("2024-05-03T07:55:02Z", 1128, None),
                ],
            )
        },
        negative: || {
            // Only the warning: the grace period has not run out yet.
            crate::lic_scenarios::rdsh(Os::Server2019, 4, &[crate::lic_scenarios::LS01]).log(
                crate::lic_scenarios::RCM_ADMIN_LOG,
                vec![crate::scenario::rcm_licensing(
                    "2024-04-20T07:00:00Z",
                    1129,
                    Some("2024-05-01"),
                )],
            )
        },
    },
    RuleFixture {
        id: "RDS-LIC-VDI-NO-CERTIFICATE",
        positive: || crate::lic_scenarios::vdi_host(false),
        negative: || {
            // The same pool host once it holds the license server certificate.
            crate::lic_scenarios::vdi_host(true)
        },
    },
    RuleFixture {
        id: "RDS-LIC-SERVICE-DOWN",
        positive: || {
            // Someone disabled the licensing service on the license server and stopped it.
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local"))
                .system_value(
                    r"ControlSet001\Services\TermServLicensing",
                    "Start",
                    Data::Dword(4),
                )
                .log(
                    "System.evtx",
                    vec![
                        scm_7036(
                            "2024-03-01T07:00:00Z",
                            "Remote Desktop Licensing",
                            "running",
                        ),
                        scm_7040(
                            "2024-03-01T08:55:00Z",
                            "Remote Desktop Licensing",
                            "auto start",
                            "disabled",
                            "TermServLicensing",
                        ),
                        scm_7036(
                            "2024-03-01T09:00:00Z",
                            "Remote Desktop Licensing",
                            "stopped",
                        ),
                    ],
                )
        },
        negative: || {
            // The same license server with the service automatic and running again after a
            // restart.
            Machine::license_server("LS01", Os::Server2019, Some("contoso.local")).log(
                "System.evtx",
                vec![
                    scm_7036(
                        "2024-03-01T07:00:00Z",
                        "Remote Desktop Licensing",
                        "running",
                    ),
                    scm_7036(
                        "2024-03-01T09:00:00Z",
                        "Remote Desktop Licensing",
                        "stopped",
                    ),
                    scm_7036(
                        "2024-03-01T09:01:00Z",
                        "Remote Desktop Licensing",
                        "running",
                    ),
                ],
            )
        },
    },
    RuleFixture {
        id: "RDS-LIC-WORKGROUP-AUTH",
        positive: || {
            // A workgroup license server without the override.
            Machine::license_server("LS01", Os::Server2019, None)
        },
        negative: || {
            // The same license server with the documented override set.
            Machine::license_server("LS01", Os::Server2019, None).system_value(
                r"ControlSet001\Services\TermServLicensing\Parameters",
                "DisableWorkgroupAuthEnforcement",
                Data::Dword(1),
            )
        },
    },
    RuleFixture {
        id: "RDS-LIC-CLIENT-CACHE",
        positive: || {
            // A client whose stored licence cannot be renewed.
            Machine::new("PC042", Os::Windows11, Some("contoso.local"))
                .with_mslicensing(2)
                .log(
                    "Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
                    vec![
                        rdp_client_1026(
                            "2024-03-01T09:00:00Z",
                            265,
                            "The client access license could not be renewed",
                        ),
                        rdp_client_1026(
                            "2024-03-01T09:05:00Z",
                            265,
                            "The client access license could not be renewed",
                        ),
                        rdp_client_1026(
                            "2024-03-01T09:20:00Z",
                            261,
                            "The stored license has an invalid format",
                        ),
                    ],
                )
        },
        negative: || {
            // The same client, disconnected by the user and once by a network error.
            Machine::new("PC042", Os::Windows11, Some("contoso.local"))
                .with_mslicensing(2)
                .log(
                    "Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
                    vec![
                        rdp_client_1026("2024-03-01T09:00:00Z", 2, "The user disconnected"),
                        rdp_client_1026("2024-03-01T09:05:00Z", 772, "Network error"),
                    ],
                )
        },
    },
    RuleFixture {
        id: "RDS-LIC-DISCONNECT",
        positive: || {
            // Sessions cut with reason 256 (an internal licensing error), and no RCM Admin log.
            let (lsm, _) = crate::lic_scenarios::cut_first_logons(3, 256, &[]);
            crate::lic_scenarios::rdsh(Os::Server2019, 4, &[crate::lic_scenarios::LS01])
                .with_ls_certificate()
                .log(crate::lic_scenarios::LSM_LOG, lsm)
        },
        negative: || {
            // The same sessions ended by the user logging off (reason 12).
            let (lsm, _) = crate::lic_scenarios::cut_first_logons(3, 12, &[]);
            crate::lic_scenarios::rdsh(Os::Server2019, 4, &[crate::lic_scenarios::LS01])
                .with_ls_certificate()
                .log(crate::lic_scenarios::LSM_LOG, lsm)
        },
    },
    RuleFixture {
        id: "RDS-CONN-TIME-LIMIT",
        positive: || {
            // A one-hour active session limit in Group Policy; each hour ends with reason 4 and
            // RCM 20518.
            crate::lic_scenarios::time_limit_host(Os::Server2019, 4, true, Some(3_600_000))
        },
        negative: || {
            // The same policy, and sessions that end by the user after hours (reason 11).
            crate::lic_scenarios::rdsh(Os::Server2019, 4, &[crate::lic_scenarios::LS01])
                .with_ls_certificate()
                .policy("MaxConnectionTime", Data::Dword(3_600_000))
                .log(
                    crate::lic_scenarios::LSM_LOG,
                    crate::lic_scenarios::healthy_sessions(),
                )
        },
    },
    RuleFixture {
        id: "RDS-CONN-NO-KEEPALIVE",
        positive: || {
            // Seed 003: alice's client lost its connection; session 3 stayed active, she got a
            // new session 4, and session 3 was only taken over (reason 5) later.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .log(
                    "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                    keepalive_sessions(),
                )
        },
        negative: || {
            // The same sessions on a host with keep-alive enabled by policy: the pattern has
            // another cause.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .policy("KeepAliveEnable", Data::Dword(1))
                .policy("KeepAliveInterval", Data::Dword(1))
                .log(
                    "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                    keepalive_sessions(),
                )
        },
    },
    RuleFixture {
        id: "RDS-CONN-SECURITY-ERROR",
        positive: || {
            // Bob's session drops among TermDD 56 errors from his address.
            dropped_session_host().log(
                "System.evtx",
                vec![
                    termdd_56("2024-03-01T09:29:10Z", "10.0.0.5"),
                    termdd_56("2024-03-01T09:29:20Z", "10.0.0.5"),
                    termdd_56("2024-03-01T09:29:30Z", "10.0.0.5"),
                ],
            )
        },
        negative: || {
            // One stray TermDD 56 near the disconnect is no burst.
            dropped_session_host().log(
                "System.evtx",
                vec![termdd_56("2024-03-01T09:29:10Z", "10.0.0.5")],
            )
        },
    },
    RuleFixture {
        id: "RDS-CONN-FIPS-OVERRIDE",
        positive: || {
            // FIPS enforced while Group Policy asks for High; a client is refused with reason 8.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .system_value(
                    r"ControlSet001\Control\Lsa\FipsAlgorithmPolicy",
                    "Enabled",
                    Data::Dword(1),
                )
                .policy("MinEncryptionLevel", Data::Dword(3))
                .log(
                    "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                    vec![lsm_40("2024-03-01T09:12:00Z", 5, 8)],
                )
        },
        negative: || {
            // The same host without FIPS: the policy level applies.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .policy("MinEncryptionLevel", Data::Dword(3))
        },
    },
    RuleFixture {
        id: "RDS-CONN-CERT-KEY",
        positive: || {
            // The self-signed certificate's key cannot be read and RCM cannot create a new one.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .log(
                    "System.evtx",
                    vec![
                        schannel_36870("2024-03-01T09:00:00Z"),
                        rcm_system("2024-03-01T09:00:01Z", 1057, &["0x8009030d"]),
                        schannel_36870("2024-03-01T09:40:00Z"),
                    ],
                )
        },
        negative: || {
            // The same host with a System log that holds only a service state change.
            Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
                .server_manager_licensing(4, &["LS01.contoso.local"])
                .with_ls_certificate()
                .rds_running("2024-03-01T09:00:00Z")
        },
    },
    RuleFixture {
        id: "RDS-CONN-LOGON-DENIED",
        positive: || {
            // carol is refused twice: she lacks "Allow log on through Remote Desktop Services".
            dropped_session_host().log(
                "Security.evtx",
                vec![
                    crate::scenario::security_4625(
                        "2024-03-01T09:10:00Z",
                        r"CONTOSO\carol",
                        10,
                        "10.0.0.9",
                        "0xc000015b",
                        "0x0",
                    ),
                    crate::scenario::security_4625(
                        "2024-03-01T09:11:00Z",
                        r"CONTOSO\carol",
                        10,
                        "10.0.0.9",
                        "0xc000015b",
                        "0x0",
                    ),
                ],
            )
        },
        negative: || {
            // The same host whose Security log holds bob's RDP logon and a failed file-share logon
            // (logon type 3, no RDP connection near it): nothing was refused over RDP.
            dropped_session_host().log(
                "Security.evtx",
                vec![
                    crate::scenario::security_4624(
                        "2024-03-01T08:59:58Z",
                        r"CONTOSO\bob",
                        10,
                        "10.0.0.5",
                    ),
                    crate::scenario::security_4625(
                        "2024-03-01T09:10:00Z",
                        r"CONTOSO\carol",
                        3,
                        "10.0.0.9",
                        "0xc000006d",
                        "0xc000006a",
                    ),
                ],
            )
        },
    },
];

/// The fixtures of `id`.
pub fn fixture(id: &str) -> Option<&'static RuleFixture> {
    FIXTURES.iter().find(|f| f.id == id)
}

/// LocalSessionManager events of seed 003: alice's session 3 stays active while she gets session
/// 4; session 3 is taken over (reason 5) half an hour later.
pub fn keepalive_sessions() -> Vec<Ev> {
    vec![
        lsm_session(21, "2024-03-01T09:00:00Z", 3, r"CONTOSO\alice", "10.0.0.7"),
        lsm_session(22, "2024-03-01T09:00:05Z", 3, r"CONTOSO\alice", "10.0.0.7"),
        lsm_session(21, "2024-03-01T09:30:00Z", 4, r"CONTOSO\alice", "10.0.0.7"),
        lsm_session(22, "2024-03-01T09:30:04Z", 4, r"CONTOSO\alice", "10.0.0.7"),
        lsm_39("2024-03-01T10:00:00Z", 3, 4),
        lsm_40("2024-03-01T10:00:00.2Z", 3, 5),
        lsm_session(
            24,
            "2024-03-01T10:00:00.4Z",
            3,
            r"CONTOSO\alice",
            "10.0.0.7",
        ),
    ]
}

/// A healthy Per User session host (RDSH01, Windows Server 2019) whose LocalSessionManager log
/// holds [`dropped_session`]: the base of the connection rules' fixtures.
pub fn dropped_session_host() -> Machine {
    Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(4, &["LS01.contoso.local"])
        .with_ls_certificate()
        .log(
            "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
            dropped_session(),
        )
}

/// LocalSessionManager events of a session that drops: bob logs on at 09:00 and is disconnected at
/// 09:30 with reason 0.
pub fn dropped_session() -> Vec<Ev> {
    vec![
        lsm_session(21, "2024-03-01T09:00:00Z", 2, r"CONTOSO\bob", "10.0.0.5"),
        lsm_session(22, "2024-03-01T09:00:04Z", 2, r"CONTOSO\bob", "10.0.0.5"),
        lsm_40("2024-03-01T09:30:00Z", 2, 0),
        lsm_session(24, "2024-03-01T09:30:00.3Z", 2, r"CONTOSO\bob", "10.0.0.5"),
    ]
}
