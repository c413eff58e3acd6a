//! The demo bundles of `fixtures/demo/` (the README's sample), described as machines.

use std::path::Path;

use crate::evtx::corrupt_chunk_data_crc;
use crate::hive::Data;
use crate::scenario::{lsm_40, lsm_session, rcm_licensing, termdd_56, Machine, Os, LICENSING_CORE};

/// RDSH01: a Windows Server 2019 session host whose GPO sets Per User licensing and a license
/// server that cannot be reached, over a Server Manager configuration nobody uses any more.
/// Users are disconnected every 60 minutes (soft enforcement). Its System log has one damaged
/// chunk, so the integrity account has something to say.
fn rdsh01() -> Machine {
    let mut events = Vec::new();
    let mut lic = Vec::new();
    for (day, session) in [(4u32, 3u32), (5, 4), (6, 5)] {
        let d = format!("2024-03-0{day}");
        events.push(lsm_session(
            21,
            &format!("{d}T08:02:11.1234567Z"),
            session,
            r"CONTOSO\alice",
            "10.0.0.21",
        ));
        events.push(lsm_session(
            22,
            &format!("{d}T08:02:13.5000000Z"),
            session,
            r"CONTOSO\alice",
            "10.0.0.21",
        ));
        lic.push(rcm_licensing(
            &format!("{d}T08:02:12.0000000Z"),
            1131,
            Some("LS01.contoso.local"),
        ));
        events.push(lsm_session(
            24,
            &format!("{d}T09:02:12.0000000Z"),
            session,
            r"CONTOSO\alice",
            "10.0.0.21",
        ));
        events.push(lsm_40(&format!("{d}T09:02:12.0000000Z"), session, 0));
        events.push(lsm_session(
            25,
            &format!("{d}T09:04:40.0000000Z"),
            session,
            r"CONTOSO\alice",
            "10.0.0.21",
        ));
        lic.push(rcm_licensing(
            &format!("{d}T09:04:41.0000000Z"),
            1131,
            Some("LS01.contoso.local"),
        ));
        events.push(lsm_session(
            24,
            &format!("{d}T10:04:41.0000000Z"),
            session,
            r"CONTOSO\alice",
            "10.0.0.21",
        ));
        events.push(lsm_40(&format!("{d}T10:04:41.0000000Z"), session, 0));
        events.push(lsm_session(
            23,
            &format!("{d}T10:05:30.0000000Z"),
            session,
            r"CONTOSO\alice",
            "",
        ));
    }
    events.push(lsm_session(
        21,
        "2024-03-05T12:00:00.0000000Z",
        6,
        r"CONTOSO\bob",
        "10.0.0.35",
    ));
    events.push(lsm_session(
        23,
        "2024-03-05T12:30:00.0000000Z",
        6,
        r"CONTOSO\bob",
        "",
    ));
    let system = vec![
        termdd_56("2024-03-05T07:59:00.0000000Z", "203.0.113.9"),
        termdd_56("2024-03-05T07:59:01.0000000Z", "203.0.113.9"),
    ];
    Machine::session_host("RDSH01", Os::Server2019, Some("contoso.local"))
        .server_manager_licensing(2, &["LS-OLD.contoso.local"])
        .system_value(LICENSING_CORE, "LicensingMode", Data::Dword(2))
        .policy("LicensingMode", Data::Dword(4))
        .policy("LicenseServers", Data::Sz("LS01.contoso.local".into()))
        .log(
            "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
            events,
        )
        .log(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx",
            lic,
        )
        .log("System.evtx", system)
}

/// Write every demo bundle below `dir`: `RDSH01-kape/` (hives and logs as KAPE collects them, one
/// log with a damaged chunk) and `MSRD-Results-RDSH01/` (the same machine as MSRD-Collect
/// exports it, registry as `.reg` text).
pub fn write_demo(dir: &Path) -> std::io::Result<()> {
    let kape = dir.join("RDSH01-kape");
    rdsh01().write_kape(&kape)?;
    // Damage one chunk of the System log: its records are kept and marked unverified.
    let system = kape.join("C/Windows/System32/winevt/Logs/System.evtx");
    let mut bytes = std::fs::read(&system)?;
    corrupt_chunk_data_crc(&mut bytes, 0);
    std::fs::write(&system, bytes)?;
    rdsh01().write_msrd(dir)?;
    Ok(())
}
