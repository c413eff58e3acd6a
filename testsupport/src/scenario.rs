//! Whole machines and bundles for tests and the demo: a `Machine` is a readable description of
//! one host's SYSTEM/SOFTWARE registry and event logs (session host, license server, client), with
//! helpers for the RDS events that matter; `write_*` lay it out as a KAPE tree, an MSRD-Collect
//! folder (registry as `.reg` exports) or a zip.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::evtx::{Ev, EvtxBuilder};
use crate::hive::{self, Data, Key};
use crate::regtext;

pub const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
pub const LSM_CHANNEL: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
pub const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
pub const RCM_ADMIN: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin";
pub const RCM_OPERATIONAL: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
pub const LICENSING: &str = "Microsoft-Windows-TerminalServices-Licensing";
pub const SCM: &str = "Service Control Manager";

/// Path of the RDS machine policy key in SOFTWARE (reference `TSPOL`).
pub const TSPOL: &str = r"Policies\Microsoft\Windows NT\Terminal Services";
/// Path of `Control\Terminal Server` in the current control set.
pub const TSROOT: &str = r"ControlSet001\Control\Terminal Server";
pub const RDP_TCP: &str = r"ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp";
pub const LICENSING_CORE: &str = r"ControlSet001\Control\Terminal Server\RCM\Licensing Core";

/// Windows versions by build (reference §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Server2012R2,
    Server2016,
    Server2019,
    Server2022,
    Server2025,
    Windows11,
}

impl Os {
    fn product(self) -> (&'static str, &'static str, &'static str, &'static str) {
        // (ProductName, CurrentBuildNumber, EditionID, InstallationType)
        match self {
            Os::Server2012R2 => (
                "Windows Server 2012 R2 Standard",
                "9600",
                "ServerStandard",
                "Server",
            ),
            Os::Server2016 => (
                "Windows Server 2016 Standard",
                "14393",
                "ServerStandard",
                "Server",
            ),
            Os::Server2019 => (
                "Windows Server 2019 Standard",
                "17763",
                "ServerStandard",
                "Server",
            ),
            Os::Server2022 => (
                "Windows Server 2022 Datacenter",
                "20348",
                "ServerDatacenter",
                "Server",
            ),
            Os::Server2025 => (
                "Windows Server 2025 Standard",
                "26100",
                "ServerStandard",
                "Server",
            ),
            Os::Windows11 => ("Windows 10 Pro", "22631", "Professional", "Client"),
        }
    }
}

/// One machine's evidence.
#[derive(Debug, Clone)]
pub struct Machine {
    pub name: String,
    pub system: Key,
    /// `None`: the SOFTWARE hive is not part of the capture.
    pub software: Option<Key>,
    /// Event logs: (file name, events).
    pub logs: Vec<(String, Vec<Ev>)>,
}

impl Machine {
    /// A machine with the basics every Windows host has: Select, computer name, TCP/IP host
    /// name and domain (empty domain = workgroup), time zone, the RDP listener, TermService,
    /// and OS identity in SOFTWARE.
    pub fn new(name: &str, os: Os, domain: Option<&str>) -> Machine {
        let mut system = Key::new("CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}");
        for (v, d) in [
            ("Current", 1),
            ("Default", 1),
            ("Failed", 0),
            ("LastKnownGood", 1),
        ] {
            system.set("Select", v, Data::Dword(d));
        }
        system.set(
            r"ControlSet001\Control\ComputerName\ComputerName",
            "ComputerName",
            Data::Sz(name.to_uppercase()),
        );
        let tcpip = r"ControlSet001\Services\Tcpip\Parameters";
        system.set(tcpip, "Hostname", Data::Sz(name.to_lowercase()));
        system.set(tcpip, "Domain", Data::Sz(domain.unwrap_or("").into()));
        let tz = r"ControlSet001\Control\TimeZoneInformation";
        system.set(
            tz,
            "TimeZoneKeyName",
            Data::Sz("W. Europe Standard Time".into()),
        );
        system.set(tz, "Bias", Data::Dword((-60i32) as u32));
        system.set(TSROOT, "fDenyTSConnections", Data::Dword(0));
        system.set(RDP_TCP, "SecurityLayer", Data::Dword(2));
        system.set(RDP_TCP, "MinEncryptionLevel", Data::Dword(2));
        system.set(RDP_TCP, "UserAuthentication", Data::Dword(1));
        system.set(RDP_TCP, "fEnableWinStation", Data::Dword(1));
        system.set(
            r"ControlSet001\Services\TermService",
            "Start",
            Data::Dword(3),
        );
        system.set(
            r"ControlSet001\Control\Lsa\FipsAlgorithmPolicy",
            "Enabled",
            Data::Dword(0),
        );

        let (product, build, edition, install) = os.product();
        let mut software = Key::new("ROOT");
        let cv = r"Microsoft\Windows NT\CurrentVersion";
        software.set(cv, "ProductName", Data::Sz(product.into()));
        software.set(cv, "CurrentBuildNumber", Data::Sz(build.into()));
        software.set(cv, "CurrentBuild", Data::Sz(build.into()));
        software.set(cv, "UBR", Data::Dword(6054));
        software.set(cv, "EditionID", Data::Sz(edition.into()));
        software.set(cv, "InstallationType", Data::Sz(install.into()));
        software.set(cv, "InstallDate", Data::Dword(1_700_000_000));
        software.at(r"Policies\Microsoft\Windows NT");
        Machine {
            name: name.to_uppercase(),
            system,
            software: Some(software),
            logs: Vec::new(),
        }
    }

    /// A session host: the RD Session Host role installed, licensing mode and servers as given
    /// in Server Manager (`RCM\Licensing Core`, `TermService\Parameters\LicenseServers`).
    pub fn session_host(name: &str, os: Os, domain: Option<&str>) -> Machine {
        let mut m = Machine::new(name, os, domain);
        if let Some(sw) = m.software.as_mut() {
            sw.set(
                r"Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server",
                "InstallState",
                Data::Dword(1),
            );
        }
        m.system.set(
            r"ControlSet001\Services\SessionEnv",
            "Start",
            Data::Dword(3),
        );
        m
    }

    /// A license server: RD Licensing installed, its service automatic.
    pub fn license_server(name: &str, os: Os, domain: Option<&str>) -> Machine {
        let mut m = Machine::new(name, os, domain);
        m.system.set(
            r"ControlSet001\Services\TermServLicensing",
            "Start",
            Data::Dword(2),
        );
        m.system.set(
            r"ControlSet001\Services\TermServLicensing\Parameters",
            "DBPath",
            Data::ExpandSz(r"%SystemRoot%\System32\LServer".into()),
        );
        if let Some(sw) = m.software.as_mut() {
            sw.set(
                r"Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-Licensing",
                "InstallState",
                Data::Dword(1),
            );
            sw.at(r"Microsoft\TermServLicensing");
        }
        m
    }

    /// Set a machine policy value under `TSPOL`.
    pub fn policy(mut self, name: &str, data: Data) -> Machine {
        if let Some(sw) = self.software.as_mut() {
            sw.set(TSPOL, name, data);
        }
        self
    }

    /// Set a SYSTEM value (path relative to the hive root, e.g. [`LICENSING_CORE`]).
    pub fn system_value(mut self, path: &str, name: &str, data: Data) -> Machine {
        self.system.set(path, name, data);
        self
    }

    /// Set a SOFTWARE value.
    pub fn software_value(mut self, path: &str, name: &str, data: Data) -> Machine {
        if let Some(sw) = self.software.as_mut() {
            sw.set(path, name, data);
        }
        self
    }

    /// Server Manager's licensing configuration (`RCM\Licensing Core\LicensingMode` and
    /// `TermService\Parameters\LicenseServers\SpecifiedLicenseServers`).
    pub fn server_manager_licensing(self, mode: u32, servers: &[&str]) -> Machine {
        let m = self.system_value(LICENSING_CORE, "LicensingMode", Data::Dword(mode));
        if servers.is_empty() {
            return m;
        }
        m.system_value(
            r"ControlSet001\Services\TermService\Parameters\LicenseServers",
            "SpecifiedLicenseServers",
            Data::MultiSz(servers.iter().map(|s| s.to_string()).collect()),
        )
    }

    /// The X509 certificate values RCM stores once the host has talked to a license server.
    pub fn with_ls_certificate(self) -> Machine {
        let rcm = r"ControlSet001\Control\Terminal Server\RCM";
        self.system_value(
            rcm,
            "X509 Certificate",
            Data::Binary(vec![0x30, 0x82, 1, 2]),
        )
        .system_value(rcm, "X509 Certificate ID", Data::Binary(vec![7; 16]))
    }

    /// Drop the SOFTWARE hive from the capture.
    pub fn without_software(mut self) -> Machine {
        self.software = None;
        self
    }

    /// A System log in which Service Control Manager reports Remote Desktop Services running at
    /// `time` (so rules that need the System log can decide).
    pub fn rds_running(self, time: &str) -> Machine {
        self.log(
            "System.evtx",
            vec![scm_7036(time, "Remote Desktop Services", "running")],
        )
    }

    /// Add events to a log file (created when missing), written in time order as Windows writes
    /// them (record ids follow the time; events at the same time keep the order given). Events
    /// get this machine's name. A log whose clock jumped: [`Machine::log_as_written`].
    pub fn log(self, file: &str, events: Vec<Ev>) -> Machine {
        let mut m = self.log_as_written(file, events);
        if let Some((_, evs)) = m.logs.iter_mut().find(|(f, _)| f == file) {
            evs.sort_by_key(|e| e.filetime);
        }
        m
    }

    /// Add events to a log file in the order given: record ids follow this order even where the
    /// times go back (a clock that was changed). Events get this machine's name.
    pub fn log_as_written(mut self, file: &str, events: Vec<Ev>) -> Machine {
        let events: Vec<Ev> = events
            .into_iter()
            .map(|e| {
                if e.computer == "HOST" {
                    e.computer(&self.name)
                } else {
                    e
                }
            })
            .collect();
        match self.logs.iter_mut().find(|(f, _)| f == file) {
            Some((_, evs)) => evs.extend(events),
            None => self.logs.push((file.to_string(), events)),
        }
        self
    }

    /// Lay the machine out as a KAPE target tree below `dir` (`C/Windows/System32/...`).
    pub fn write_kape(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let config = dir.join("C/Windows/System32/config");
        let logs = dir.join("C/Windows/System32/winevt/Logs");
        std::fs::create_dir_all(&config)?;
        std::fs::create_dir_all(&logs)?;
        std::fs::write(config.join("SYSTEM"), stable_hive(&self.system))?;
        if let Some(sw) = &self.software {
            std::fs::write(config.join("SOFTWARE"), stable_hive(sw))?;
        }
        for (file, events) in &self.logs {
            std::fs::write(logs.join(file), self.evtx(events))?;
        }
        Ok(dir.to_path_buf())
    }

    /// Lay the machine out as an MSRD-Collect folder (registry as UTF-16 `.reg` exports with
    /// `.txt` names, logs as `<PC>_<name>.evtx`).
    pub fn write_msrd(&self, parent: &Path) -> std::io::Result<PathBuf> {
        let root = parent.join(format!("MSRD-Results-{}", self.name));
        let reg = root.join(format!("{}_RegistryKeys", self.name));
        let logs = root.join(format!("{}_EventLogs", self.name));
        std::fs::create_dir_all(&reg)?;
        std::fs::create_dir_all(&logs)?;
        let system_ccs = rename_control_set(&self.system);
        let export = |k: &Key, prefix: &str| {
            regtext::encode(
                &regtext::reg_export(k, prefix, false),
                regtext::Encoding::Utf16LeBom,
            )
        };
        std::fs::write(
            reg.join(format!("{}_HKLM-System.txt", self.name)),
            export(&system_ccs, r"HKEY_LOCAL_MACHINE\SYSTEM"),
        )?;
        if let Some(sw) = &self.software {
            std::fs::write(
                reg.join(format!("{}_HKLM-SW.txt", self.name)),
                export(sw, r"HKEY_LOCAL_MACHINE\SOFTWARE"),
            )?;
        }
        for (file, events) in &self.logs {
            std::fs::write(
                logs.join(format!("{}_{file}", self.name)),
                self.evtx(events),
            )?;
        }
        std::fs::write(
            root.join(format!("{}_MSRD-Collect-Log.txt", self.name)),
            "MSRD-Collect (generated by rdsdiag-testsupport)\r\n",
        )?;
        Ok(root)
    }

    /// Lay the machine out as a KAPE tree inside a zip at `path`.
    pub fn write_kape_zip(&self, path: &Path) -> std::io::Result<PathBuf> {
        let file = std::fs::File::create(path)?;
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut add = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
            zip.start_file(name, opts).map_err(std::io::Error::other)?;
            zip.write_all(bytes)
        };
        add(
            "C/Windows/System32/config/SYSTEM",
            &stable_hive(&self.system),
        )?;
        if let Some(sw) = &self.software {
            add("C/Windows/System32/config/SOFTWARE", &stable_hive(sw))?;
        }
        for (file, events) in &self.logs {
            add(
                &format!("C/Windows/System32/winevt/Logs/{file}"),
                &self.evtx(events),
            )?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        Ok(path.to_path_buf())
    }

    fn evtx(&self, events: &[Ev]) -> Vec<u8> {
        EvtxBuilder::new().events(events.iter().cloned()).build()
    }
}

/// A hive whose bytes do not depend on when it was written: `regf` stamps key nodes and bins
/// with the current time, so set every such timestamp to a fixed value (2024-01-01).
pub fn stable_hive(root: &Key) -> Vec<u8> {
    const FIXED: u64 = 133_485_408_000_000_000;
    let mut b = hive::build_hive(root);
    let mut bin = 4096;
    while bin + 32 <= b.len() && &b[bin..bin + 4] == b"hbin" {
        let size = u32::from_le_bytes([b[bin + 8], b[bin + 9], b[bin + 10], b[bin + 11]]) as usize;
        if size < 32 || bin + size > b.len() {
            break;
        }
        b[bin + 0x14..bin + 0x1C].copy_from_slice(&FIXED.to_le_bytes());
        let mut cell = bin + 32;
        while cell + 8 <= bin + size {
            let raw = i32::from_le_bytes([b[cell], b[cell + 1], b[cell + 2], b[cell + 3]]);
            let len = raw.unsigned_abs() as usize;
            if len < 8 || cell + len > bin + size {
                break;
            }
            if raw < 0 && &b[cell + 4..cell + 6] == b"nk" && cell + 16 <= b.len() {
                b[cell + 8..cell + 16].copy_from_slice(&FIXED.to_le_bytes());
            }
            cell += len;
        }
        bin += size;
    }
    b
}

/// A live system's text export says `CurrentControlSet` where the hive has `ControlSet001`.
fn rename_control_set(system: &Key) -> Key {
    let mut k = system.clone();
    k.subkeys.retain(|s| !s.name.eq_ignore_ascii_case("Select"));
    for s in &mut k.subkeys {
        if s.name.eq_ignore_ascii_case("ControlSet001") {
            s.name = "CurrentControlSet".into();
        }
    }
    k
}

/// An event at an ISO 8601 UTC time.
fn at(provider: &str, id: u32, channel: &str, time: &str) -> Ev {
    Ev::new(provider, id).channel(channel).time(time)
}

/// LocalSessionManager 21 (logon), 22 (shell start), 23 (logoff), 24 (disconnect), 25
/// (reconnect): `User`, `SessionID`, `Address` in `UserData/EventXML`.
pub fn lsm_session(id: u32, time: &str, session: u32, user: &str, address: &str) -> Ev {
    let session = session.to_string();
    let mut fields = vec![("User", user), ("SessionID", session.as_str())];
    if id != 23 {
        fields.push(("Address", address));
    }
    at(LSM, id, LSM_CHANNEL, time).user_data("EventXML", &fields)
}

/// LocalSessionManager 40: session disconnected with a reason code.
pub fn lsm_40(time: &str, session: u32, reason: u32) -> Ev {
    at(LSM, 40, LSM_CHANNEL, time).user_data(
        "EventXML",
        &[
            ("Session", &session.to_string()),
            ("Reason", &reason.to_string()),
        ],
    )
}

/// LocalSessionManager 39: session `target` disconnected by session `source`.
pub fn lsm_39(time: &str, target: u32, source: u32) -> Ev {
    at(LSM, 39, LSM_CHANNEL, time).user_data(
        "EventXML",
        &[
            ("TargetSession", &target.to_string()),
            ("Source", &source.to_string()),
        ],
    )
}

/// A RemoteConnectionManager licensing event as Windows Server 2012+ writes it: raw ID with the
/// severity bits (canonical 1128 ⇒ raw 50280), in the Admin channel, `Param1` when given.
pub fn rcm_licensing(time: &str, canonical: u32, param1: Option<&str>) -> Ev {
    let raw = if (1028..1200).contains(&canonical)
        && ![1068, 1069, 1003, 1004, 1006, 1011].contains(&canonical)
    {
        canonical | 0xC000
    } else {
        canonical
    };
    let level = match canonical {
        1069 | 1128 | 1061 => 2,
        _ => 3,
    };
    let e = at(RCM, raw, RCM_ADMIN, time).level(level);
    match param1 {
        Some(p) => e.user_data("EventXML", &[("Param1", p)]),
        None => e.user_data("EventXML", &[]),
    }
}

/// A license-server event (classic, System log, positional data).
pub fn ls_event(time: &str, id: u32, params: &[&str]) -> Ev {
    at(LICENSING, id, "System", time).level(2).data(params)
}

/// Service Control Manager 7036: `service` entered `state` (`running`/`stopped`).
pub fn scm_7036(time: &str, service: &str, state: &str) -> Ev {
    at(SCM, 7036, "System", time)
        .qualifiers(16384)
        .event_data(&[("param1", service), ("param2", state)])
}

/// TermDD 56: the security layer detected a protocol error and disconnected the client.
pub fn termdd_56(time: &str, client_ip: &str) -> Ev {
    at("TermDD", 56, "System", time)
        .qualifiers(49162)
        .level(2)
        .data(&[r"\Device\Termdd", client_ip])
}

/// Schannel 36870: fatal error accessing the TLS server credential private key.
pub fn schannel_36870(time: &str) -> Ev {
    at("Schannel", 36870, "System", time)
        .level(2)
        .data(&["0x8009030d", "10001"])
}

// --- Service, client and connection helpers (diagnosis rules of issue 8) ---

/// Service Control Manager 7040: the start type of `display` (service key `key`) changed from
/// `old` to `new` (`param4` is the key name).
pub fn scm_7040(time: &str, display: &str, old: &str, new: &str, key: &str) -> Ev {
    at(SCM, 7040, "System", time)
        .qualifiers(16384)
        .event_data(&[
            ("param1", display),
            ("param2", old),
            ("param3", new),
            ("param4", key),
        ])
}

/// A classic RemoteConnectionManager event in the System log (1050 security layer adjusted,
/// 1057/1058 self-signed certificate failures), positional data.
pub fn rcm_system(time: &str, id: u32, data: &[&str]) -> Ev {
    at(RCM, id, "System", time).level(2).data(data)
}

pub const RDPCLIENT: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
pub const RDPCLIENT_CHANNEL: &str = "Microsoft-Windows-TerminalServices-RDPClient/Operational";

/// RDP client 1026: the client was disconnected with client-side code `code` (`Value`).
pub fn rdp_client_1026(time: &str, code: u32, name: &str) -> Ev {
    at(RDPCLIENT, 1026, RDPCLIENT_CHANNEL, time)
        .level(4)
        .event_data(&[("Name", name), ("Value", &code.to_string())])
}

impl Machine {
    /// The client-side licensing store `SOFTWARE\Microsoft\MSLicensing` with a hardware id and
    /// `licenses` stored licences (`Store\LICENSE000`…).
    pub fn with_mslicensing(self, licenses: usize) -> Machine {
        let mut m = self.software_value(
            r"Microsoft\MSLicensing\HardwareID",
            "ClientHWID",
            Data::Binary(vec![2, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]),
        );
        for n in 0..licenses {
            m = m.software_value(
                &format!(r"Microsoft\MSLicensing\Store\LICENSE{n:03}"),
                "ClientLicense",
                Data::Binary(vec![0x30, 0x82, n as u8]),
            );
        }
        m
    }
}

// --- Event meanings that real logs proved wrong (issue 15 part 3) ---

pub const RDPCORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
pub const RDPCORE_CHANNEL: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";

/// The log file name Windows gives a channel (`…/Operational` ⇒ `…%4Operational.evtx`).
pub fn log_file_of(channel: &str) -> String {
    format!("{}.evtx", channel.replace('/', "%4"))
}

/// RemoteConnectionManager 1158 as Windows 10 writes it beside every connection attempt:
/// native ID 1158 (no severity bits), Admin channel, `Param1` the client address.
pub fn rcm_1158(time: &str, address: &str) -> Ev {
    at(RCM, 1158, RCM_ADMIN, time)
        .level(4)
        .user_data("EventXML", &[("Param1", address)])
}

/// RemoteConnectionManager 1056 (classic, System log): a new self-signed TLS certificate was
/// generated; data 1 its name (the host name), data 2 its SHA1 hash.
pub fn rcm_1056_self_signed(time: &str, host: &str, sha1: &str) -> Ev {
    at(RCM, 1056, "System", time)
        .qualifiers(49152)
        .level(4)
        .data(&[host, sha1])
}

/// RdpCoreTS 227: a trace of the RDP stack with `Name`, `Value` (UInt32, e.g. an HRESULT) and
/// `CustomLevel`.
pub fn rdpcore_227(time: &str, name: &str, value: u32, level: &str) -> Ev {
    at(RDPCORE, 227, RDPCORE_CHANNEL, time)
        .level(2)
        .event_data(&[
            ("Name", name),
            ("Value", &value.to_string()),
            ("CustomLevel", level),
        ])
}

/// RdpCoreTS 226: a state-machine transition hit an error (`ErrorCode` hex, e.g. `0x80070040`
/// on an ordinary disconnect).
pub fn rdpcore_226(time: &str, error_code: &str) -> Ev {
    at(RDPCORE, 226, RDPCORE_CHANNEL, time)
        .level(3)
        .event_data(&[
            ("StateTransition", "RDP_TCP"),
            ("PreviousState", "23"),
            ("PreviousStateName", "StateUnknown"),
            ("NewState", "0"),
            ("NewStateName", "StateUnknown"),
            ("Event", "11"),
            ("EventName", "Event_Disconnect"),
            ("ErrorCode", error_code),
        ])
}

/// RdpCoreTS 139: the server security layer found an error (`ResultCode`) and disconnected the
/// client at `IPString`.
pub fn rdpcore_139(time: &str, result: &str, ip: &str) -> Ev {
    at(RDPCORE, 139, RDPCORE_CHANNEL, time)
        .level(3)
        .event_data(&[("ResultCode", result), ("IPString", ip)])
}

/// Any event of `provider` with on-disk ID `raw_id` in `channel`, its fields given by name (the
/// shape the event catalogue expects): positional `Data` when the names are `1`, `2`…, `UserData`
/// for LocalSessionManager and RemoteConnectionManager manifest events, `EventData` otherwise.
pub fn catalogued_event(
    time: &str,
    provider: &str,
    raw_id: u32,
    channel: &str,
    fields: &[(&str, &str)],
) -> Ev {
    let e = at(provider, raw_id, channel, time).level(3);
    if !fields.is_empty() && fields.iter().all(|(n, _)| n.parse::<u32>().is_ok()) {
        let values: Vec<&str> = fields.iter().map(|(_, v)| *v).collect();
        e.data(&values)
    } else if (provider == LSM || provider == RCM) && channel != "System" {
        e.user_data("EventXML", fields)
    } else if fields.is_empty() {
        e.empty_event_data()
    } else {
        e.event_data(fields)
    }
}

/// User sessions on `day` (`2024-03-04`): for each `(session, user, address, hour, reason)` a
/// logon at `hour`:00, then a disconnect 40 minutes later with LSM 40 `reason` (11 the user
/// disconnected, 12 the user logged off, followed by the logoff) and LSM 24. Returns the events
/// and the disconnect times (ISO), to put other events around them.
pub fn user_disconnects(
    day: &str,
    sessions: &[(u32, &str, &str, u32, u32)],
) -> (Vec<Ev>, Vec<String>) {
    let mut evs = Vec::new();
    let mut times = Vec::new();
    for &(session, user, address, hour, reason) in sessions {
        let t = |m: u32, s: u32| format!("{day}T{hour:02}:{m:02}:{s:02}Z");
        evs.push(lsm_session(21, &t(0, 0), session, user, address));
        evs.push(lsm_session(22, &t(0, 4), session, user, address));
        evs.push(lsm_39(&t(40, 0), session, session));
        evs.push(lsm_40(&t(40, 0), session, reason));
        evs.push(lsm_session(24, &t(40, 1), session, user, address));
        if reason == 12 {
            evs.push(lsm_session(23, &t(40, 2), session, user, address));
        }
        times.push(t(40, 0));
    }
    (evs, times)
}

/// `t` (ISO UTC, whole seconds `…Z`) shifted by `secs`.
pub fn iso_shift(t: &str, secs: i64) -> String {
    let ft = crate::evtx::filetime_from_iso(t).expect("ISO time");
    let shifted = (ft as i64 + secs * 10_000_000) as u64;
    crate::evtx::iso_from_filetime(shifted)
}

/// RemoteConnectionManager 20515–20519 (Operational): a session time limit was reached and the
/// session `session` was disconnected or logged off.
pub fn rcm_time_limit(time: &str, id: u32, session: u32) -> Ev {
    at(RCM, id, RCM_OPERATIONAL, time).user_data("EventXML", &[("Session", &session.to_string())])
}

// --- Refused logons (RDS-CONN-LOGON-DENIED, issue 15 part 4) ---

pub const SECURITY_AUDITING: &str = "Microsoft-Windows-Security-Auditing";

/// Security 4625: `DOMAIN\user` failed to log on with `logon_type` from `ip` ("-" for none), with
/// `status`/`sub_status` as Windows writes them (`0xc000006d`).
pub fn security_4625(
    time: &str,
    account: &str,
    logon_type: u32,
    ip: &str,
    status: &str,
    sub_status: &str,
) -> Ev {
    let (domain, user) = account.split_once('\\').unwrap_or(("", account));
    let logon_type = logon_type.to_string();
    let (process, workstation) = if logon_type == "3" {
        ("-", "CLIENT01")
    } else {
        (r"C:\Windows\System32\winlogon.exe", "HOST")
    };
    at(SECURITY_AUDITING, 4625, "Security", time)
        .level(0)
        .event_data(&[
            ("SubjectUserSid", "S-1-5-18"),
            ("TargetUserSid", "S-1-0-0"),
            ("TargetUserName", user),
            ("TargetDomainName", domain),
            ("Status", status),
            ("FailureReason", "%%2313"),
            ("SubStatus", sub_status),
            ("LogonType", &logon_type),
            ("WorkstationName", workstation),
            ("ProcessName", process),
            ("IpAddress", ip),
            ("IpPort", if ip == "-" { "-" } else { "0" }),
        ])
}

/// Security 4624: `DOMAIN\user` logged on with `logon_type` from `ip`.
pub fn security_4624(time: &str, account: &str, logon_type: u32, ip: &str) -> Ev {
    let (domain, user) = account.split_once('\\').unwrap_or(("", account));
    at(SECURITY_AUDITING, 4624, "Security", time)
        .level(0)
        .event_data(&[
            ("TargetUserName", user),
            ("TargetDomainName", domain),
            ("LogonType", &logon_type.to_string()),
            ("IpAddress", ip),
        ])
}

/// Security 4825: `DOMAIN\user` was denied Remote Desktop access from `ip`.
pub fn security_4825(time: &str, account: &str, ip: &str) -> Ev {
    let (domain, user) = account.split_once('\\').unwrap_or(("", account));
    at(SECURITY_AUDITING, 4825, "Security", time)
        .level(0)
        .event_data(&[
            ("AccountName", user),
            ("AccountDomain", domain),
            ("LogonID", "0x109d9755e"),
            ("ClientAddress", ip),
        ])
}

/// RdpCoreTS 140: a connection from `ip` failed because the user name or password is not correct.
pub fn rdpcore_140(time: &str, ip: &str) -> Ev {
    at(RDPCORE, 140, RDPCORE_CHANNEL, time)
        .level(3)
        .event_data(&[("IPString", ip)])
}

/// RdpCoreTS 131: the server accepted a new connection from `client` (`ip:port`).
pub fn rdpcore_131(time: &str, client: &str) -> Ev {
    at(RDPCORE, 131, RDPCORE_CHANNEL, time).event_data(&[("ConnType", "TCP"), ("ClientIP", client)])
}
