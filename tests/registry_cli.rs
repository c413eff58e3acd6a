//! `rdsdiag reg` end to end: output that looks like `reg query`, JSON, exit codes, and the same
//! answer from a hive and from a `.reg` export of the same tree.

use assert_cmd::Command;
use predicates::prelude::*;
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::regtext::{self, Encoding};

fn system() -> Key {
    let mut t = hive::system_tree(1);
    let ts = r"ControlSet001\Control\Terminal Server";
    t.set(ts, "fDenyTSConnections", Data::Dword(0));
    t.set(
        &format!(r"{ts}\RCM\Licensing Core"),
        "LicensingMode",
        Data::Dword(4),
    );
    t.set(
        &format!(r"{ts}\RCM\Licensing Core"),
        "SpecifiedLicenseServers",
        Data::MultiSz(vec!["ls1".into(), "ls2".into()]),
    );
    t.set(
        &format!(r"{ts}\WinStations\RDP-Tcp"),
        "PortNumber",
        Data::Dword(3389),
    );
    t
}

fn rdsdiag() -> Command {
    Command::cargo_bin("rdsdiag").expect("binary")
}

#[test]
fn reg_query_text_from_a_hive_and_from_a_reg_export() {
    let tmp = tempfile::tempdir().expect("tmp");
    let hive_dir = tmp.path().join("hive");
    std::fs::create_dir_all(hive_dir.join("config")).expect("mkdir");
    std::fs::write(hive_dir.join("config/SYSTEM"), hive::build_hive(&system())).expect("write");
    let reg_file = tmp.path().join("system.reg");
    std::fs::write(
        &reg_file,
        regtext::encode(
            &regtext::reg_export(&system(), r"HKEY_LOCAL_MACHINE\SYSTEM", false),
            Encoding::Utf16LeBom,
        ),
    )
    .expect("write");

    let key = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM";
    let expected_body = "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\n\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core\n    LicensingMode    REG_DWORD    0x4\n    SpecifiedLicenseServers    REG_MULTI_SZ    ls1\\0ls2\n\n";
    let from_hive = rdsdiag()
        .arg("reg")
        .arg(&hive_dir)
        .arg(key)
        .arg("--recurse")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let from_hive = String::from_utf8(from_hive).expect("utf8");
    // Keys read from a hive carry their last write time, as RECmd shows it (text exports have
    // none); without those lines the output is `reg query`'s.
    assert_eq!(
        from_hive.matches("\n    ; last written ").count(),
        2,
        "{from_hive}"
    );
    let from_hive = without_last_written(&from_hive);
    assert!(from_hive.starts_with(expected_body), "{from_hive}");
    assert!(
        from_hive.ends_with("; source: config/SYSTEM (hive)\n"),
        "{from_hive}"
    );
    let from_reg = String::from_utf8(
        rdsdiag()
            .arg("reg")
            .arg(&reg_file)
            .arg(key)
            .arg("-s")
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone(),
    )
    .expect("utf8");
    assert!(!from_reg.contains("; last written"), "{from_reg}");
    assert!(from_reg.starts_with(expected_body), "{from_reg}");
    assert!(from_reg.ends_with("(.reg export)\n"), "{from_reg}");

    // One value, without recursion: the key line and that value only.
    let one = rdsdiag()
        .args(["reg"])
        .arg(&hive_dir)
        .args([
            r"HKLM\SYSTEM\CCS\Control\Terminal Server",
            "fdenytsconnections",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let one = without_last_written(&String::from_utf8(one).expect("utf8"));
    assert!(one.starts_with("\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\n    fDenyTSConnections    REG_DWORD    0x0\n\n"), "{one}");
    // Subkeys are listed as full names without --recurse.
    rdsdiag()
        .args(["reg"])
        .arg(&hive_dir)
        .arg(r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\n",
        ));
}

#[test]
fn reg_json_and_exit_codes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("SYSTEM");
    std::fs::write(&f, hive::build_hive(&system())).expect("write");
    let out = rdsdiag()
        .arg("reg")
        .arg(&f)
        .args([r"SYSTEM\Select", "Current", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["state"], "found");
    assert_eq!(v["keys"][0]["values"][0]["data"]["data"], 1);
    assert_eq!(v["keys"][0]["values"][0]["provenance"]["key"], "Select");
    // Absent value: reg query's message, exit 1.
    rdsdiag()
        .arg("reg")
        .arg(&f)
        .args([r"HKLM\SYSTEM\Select", "Nope"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "unable to find the specified registry key or value",
        ));
    // A hive that is not in the capture: not provided, exit 1.
    rdsdiag()
        .arg("reg")
        .arg(&f)
        .arg(r"HKLM\SOFTWARE\Microsoft")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("holds no evidence"));
    // Not a hive root: usage error.
    rdsdiag()
        .arg("reg")
        .arg(&f)
        .arg(r"HKCR\.rdp")
        .assert()
        .code(2);
}

#[test]
fn reg_on_the_corpus_dirty_hive_warns_that_values_may_be_stale() {
    let Some(corpus) = rdsdiag_testsupport::corpus::path("regipy/SYSTEM_2") else {
        return;
    };
    rdsdiag()
        .arg("reg")
        .arg(&corpus)
        .args([
            r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "    fDenyTSConnections    REG_DWORD    0x1\n",
        ))
        .stderr(predicate::str::contains("values may be stale"));
}

/// The output without the `; last written` lines under the keys.
fn without_last_written(s: &str) -> String {
    s.split_inclusive('\n')
        .filter(|l| !l.starts_with("    ; last written "))
        .collect()
}
