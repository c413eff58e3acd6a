//! What the registry loader returns about each input: one reading per registry input it read,
//! with the SHA-256 of the bytes it read (each file is read once), on captures inventoried by the
//! capture layer (a folder and a zip).

use std::io::Write;
use std::path::Path;

use rdsdiag::capture::{self, CaptureOptions, Input};
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::{HiveState, RegistryView};
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::regtext::{self, Encoding};
use sha2::{Digest, Sha256};

/// SHA-256 as lower-case hex, written out here rather than taken from the library.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_registry(kind: InputKind) -> bool {
    matches!(
        kind,
        InputKind::Hive | InputKind::HiveLog | InputKind::RegExport | InputKind::RegQuery
    )
}

/// The evidence files: a dirty SYSTEM hive with two new-format logs (the replay changes a value,
/// so a hash of the replayed copy would differ from the file), a `.reg` export and `reg query`
/// text of a SOFTWARE key.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    let ts = r"ControlSet001\Control\Terminal Server";
    let mut old = hive::system_tree(1);
    old.set(ts, "fDenyTSConnections", Data::Dword(1));
    let mut new = old.clone();
    new.set(ts, "fDenyTSConnections", Data::Dword(0));
    let dirty = hive::dirty_with_new_logs(
        &hive::build_hive(&old),
        &hive::build_hive(&new),
        100,
        3,
        Some(2),
    );
    assert_eq!(dirty.logs.len(), 2);
    let policy = Key::new("Terminal Services").value("fDenyTSConnections", Data::Dword(1));
    let prefix = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
    let reg = regtext::reg_export(&policy, prefix, false);
    let query = regtext::reg_query(&policy, prefix);
    let mut out = vec![("C/config/SYSTEM", dirty.primary)];
    let names = ["C/config/system.log1", "C/config/system.log2"];
    for (name, (_, bytes)) in names.into_iter().zip(dirty.logs) {
        out.push((name, bytes));
    }
    out.push((
        "reg/policies.reg",
        regtext::encode(&reg, Encoding::Utf16LeBom),
    ));
    out.push(("reg/policies.txt", regtext::encode(&query, Encoding::Utf8)));
    out
}

/// Load the registry of `inputs` and check every registry input has exactly one reading, with a
/// final status and the hash of `bytes_of(path)`. Returns the inputs with the readings applied.
fn check_readings(
    inputs: &[Input],
    bytes_of: impl Fn(&str) -> Vec<u8>,
) -> (Vec<Input>, RegistryView) {
    let load = RegistryView::load(inputs);
    let registry: Vec<usize> = (0..inputs.len())
        .filter(|&i| is_registry(inputs[i].kind))
        .collect();
    let read: Vec<usize> = load.readings.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        read, registry,
        "one reading per registry input, in input order"
    );
    for (i, reading) in &load.readings {
        let path = &inputs[*i].path;
        assert!(
            matches!(reading.status, Some(s) if s != InputStatus::Pending),
            "{path}: a final status, got {:?}",
            reading.status
        );
        assert_eq!(
            reading.sha256.as_deref(),
            Some(sha256(&bytes_of(path)).as_str()),
            "{path}"
        );
    }
    let mut after = inputs.to_vec();
    let view = load.apply_to(&mut after);
    (after, view)
}

fn status_of(inputs: &[Input], path: &str) -> InputStatus {
    inputs
        .iter()
        .find(|i| i.path.ends_with(path))
        .unwrap_or_else(|| panic!("{path} inventoried"))
        .status
}

fn assert_read_everything(inputs: &[Input], view: &RegistryView) {
    let kinds: Vec<(String, InputKind)> = inputs.iter().map(|i| (i.path.clone(), i.kind)).collect();
    for (path, kind) in [
        ("SYSTEM", InputKind::Hive),
        ("system.log1", InputKind::HiveLog),
        ("system.log2", InputKind::HiveLog),
        ("policies.reg", InputKind::RegExport),
        ("policies.txt", InputKind::RegQuery),
    ] {
        assert!(
            kinds.iter().any(|(p, k)| p.ends_with(path) && *k == kind),
            "{path} as {kind:?} in {kinds:?}"
        );
        assert_eq!(status_of(inputs, path), InputStatus::Parsed, "{path}");
    }
    assert_eq!(view.hive_state(HiveKind::System), Some(HiveState::Replayed));
    let deny = view
        .value(
            HiveKind::System,
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
        )
        .into_found()
        .expect("replayed value");
    assert_eq!(deny.data.as_u64(), Some(0));
}

#[test]
fn each_reading_carries_the_sha256_of_the_file_read_from_a_folder() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("capture");
    for (name, bytes) in files() {
        let full = root.join(name);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, bytes).expect("write");
    }
    let cap = capture::open(&root, &CaptureOptions::default()).expect("open");
    let (after, view) = check_readings(&cap.inputs, |path| {
        std::fs::read(root.join(path)).expect("read back")
    });
    assert_read_everything(&after, &view);
}

#[test]
fn each_reading_carries_the_sha256_of_the_zip_entry_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip_path = tmp.path().join("capture.zip");
    let files = files();
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in &files {
            zip.start_file(*name, opts).expect("entry");
            zip.write_all(bytes).expect("write");
        }
        zip.finish().expect("finish");
    }
    let cap = capture::open(&zip_path, &CaptureOptions::default()).expect("open");
    let (after, view) = check_readings(&cap.inputs, |path| entry_bytes(&zip_path, path));
    assert_read_everything(&after, &view);
}

/// An entry's bytes, read through the zip crate directly.
fn entry_bytes(zip_path: &Path, name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(zip_path).expect("open")).expect("archive");
    let mut entry = zip.by_name(name).expect("entry");
    let mut out = Vec::new();
    entry.read_to_end(&mut out).expect("inflate");
    out
}

#[test]
fn a_hive_the_inventory_rejected_as_too_large_is_not_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("capture");
    std::fs::create_dir_all(root.join("config")).expect("mkdir");
    let system = hive::build_hive(&hive::system_tree(1));
    std::fs::write(root.join("config/SYSTEM"), &system).expect("write");
    let opts = CaptureOptions {
        max_file_bytes: system.len() as u64 - 1,
        ..CaptureOptions::default()
    };
    let cap = capture::open(&root, &opts).expect("open");
    assert_eq!(cap.inputs[0].status, InputStatus::Rejected);
    let load = RegistryView::load(&cap.inputs);
    assert!(load.readings.is_empty(), "{:?}", load.readings);
    assert!(!load.view.provides(HiveKind::System));
}
