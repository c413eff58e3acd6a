//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run with `cargo +nightly fuzz`) and
//! of the stable smoke test that replays their corpora (`tests/fuzz_smoke.rs`): one function per
//! target, each feeding arbitrary bytes through the library's real entry points (the capture
//! inventory, the registry loader with log replay, the text parsers, the EVTX reader) and
//! walking everything that was read. Not part of the supported API. See `docs/reliability.md`.
//!
//! A target never asserts on what it reads: the only failures are a panic, a hang or memory out
//! of proportion to the input. Targets that need files write the input below `scratch`, a
//! folder the caller owns (one per process), and read it back through the pipeline, as the CLI
//! would.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::capture::{self, sniff, CaptureOptions};
use crate::eventlog::{self, EventFilter};
use crate::evidence::HiveKind;
use crate::pipeline::{self, Options, Readers};
use crate::registry::{self, query, RegistryView};

/// The fuzz targets, by name (the file names in `fuzz/fuzz_targets/` and the folders of
/// `fuzz/corpus/` and `fixtures/regressions/`).
pub const TARGETS: &[&str] = &[
    "hive", "regtext", "evtx", "zip", "capture", "gpresult", "render",
];

/// Separates the primary hive from its `.LOG1` and `.LOG2` in an input of the `hive` target.
pub const LOG_SEPARATOR: &[u8] = b"\0--rdsdiag-log--\0";
/// Separates the files of an input of the `capture` target (each: a relative path, a newline,
/// the content).
pub const FILE_SEPARATOR: &[u8] = b"\0--rdsdiag-file--\0";

/// Run the body of target `name` over `data`; `false` for an unknown name.
pub fn run(name: &str, scratch: &Path, data: &[u8]) -> bool {
    match name {
        "hive" => hive(scratch, data),
        "regtext" => regtext(scratch, data),
        "evtx" => evtx(data),
        "zip" => zip(scratch, data),
        "capture" => capture(scratch, data),
        "gpresult" => gpresult(scratch, data),
        "render" => render(scratch, data),
        _ => return false,
    }
    true
}

/// Write `data` below `scratch` the way target `name` lays it out before reading it (the `evtx`
/// target reads from memory: here the bytes become `fuzz.evtx` in a folder), and return what a
/// user would hand the CLI: the folder or the zip (`None` for an unknown target, or a `capture`
/// or `render` input that holds no file). `tests/fuzz_smoke.rs` runs every command of the binary
/// over it, so the CLI sees the same evidence the fuzz target read.
pub fn lay_out(name: &str, scratch: &Path, data: &[u8]) -> Option<PathBuf> {
    match name {
        "hive" => Some(hive_folder(scratch, &split(data, LOG_SEPARATOR, 3))),
        "regtext" => Some(regtext_folder(scratch, data)),
        "evtx" => Some(folder_with(scratch, "evtx", &[("fuzz.evtx", data)])),
        "zip" => Some(zip_file(scratch, data)),
        "gpresult" => Some(gpresult_folder(scratch, data)),
        "capture" | "render" => {
            let (tree, rel) = capture_tree(scratch, name, data);
            (!rel.is_empty()).then_some(tree)
        }
        _ => None,
    }
}

/// Archive limits small enough that a fuzz input cannot make the run read gigabytes (the CLI's
/// defaults are for real captures).
fn options() -> Options {
    Options {
        capture: CaptureOptions {
            max_zip_entries: 1_000,
            max_zip_total_bytes: 64 << 20,
            max_compression_ratio: 1_000,
            max_file_bytes: 64 << 20,
        },
        time_limit: Some(std::time::Duration::from_secs(5)),
        ..Options::default()
    }
}

/// A fresh, empty folder `scratch/name`.
fn fresh(scratch: &Path, name: &str) -> PathBuf {
    let dir = scratch.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch folder is writable");
    dir
}

/// A fresh folder `scratch/name` holding `files` (relative paths, `/`-separated).
fn folder_with(scratch: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = fresh(scratch, name);
    for (rel, content) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("scratch is writable");
        }
        std::fs::write(&path, content).expect("scratch is writable");
    }
    dir
}

/// `data` split at every `sep`, at most `max` parts (the last keeps the rest).
fn split<'a>(data: &'a [u8], sep: &[u8], max: usize) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() + 1 < max {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + sep.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

const KINDS: &[HiveKind] = &[
    HiveKind::System,
    HiveKind::Software,
    HiveKind::Security,
    HiveKind::Sam,
    HiveKind::NtUser,
    HiveKind::UsrClass,
];

/// Everything above the readers asks the view: every key of every hive it provides
/// (`reg <root> /s`), the control set, the host's identity and the effective configuration.
fn walk_view(view: &RegistryView, reports: &[crate::gpresult::Report]) {
    let _ = view.current_control_set();
    let _ = view.sources();
    for &kind in KINDS {
        if view.provides(kind) {
            let _ = query::run(view, query::hive_root_name(kind), None, true);
        }
    }
    let _ = crate::host::HostIdentity::read(view);
    let _ = crate::host::facts::host_facts(view);
    let _ = crate::config::resolve(view);
    let _ = crate::config::resolve_capture(view, reports);
}

/// Target `hive`: a primary hive file, optionally followed by its `.LOG1` and `.LOG2`
/// (separated by [`LOG_SEPARATOR`]), loaded as a capture (open, pair logs, replay, integrity
/// walk), then every key walked.
pub fn hive(scratch: &Path, data: &[u8]) {
    let parts = split(data, LOG_SEPARATOR, 3);
    let _ = registry::check_cells(parts[0]);
    let dir = hive_folder(scratch, &parts);
    if let Ok(evidence) = pipeline::read_capture(&dir, &options(), Readers::REGISTRY) {
        walk_view(&evidence.registry, &evidence.gpresult);
    }
}

/// The parts of a `hive` input as `SYSTEM`, `SYSTEM.LOG1`, `SYSTEM.LOG2` in a fresh folder.
fn hive_folder(scratch: &Path, parts: &[&[u8]]) -> PathBuf {
    let files: Vec<(&str, &[u8])> = ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"]
        .into_iter()
        .zip(parts.iter().copied())
        .collect();
    folder_with(scratch, "hive", &files)
}

/// Target `regtext`: the bytes as a `.reg` export and as `reg query /s` text (both parsers
/// directly), as a Group Policy `Registry.pol` and `GPT.INI` (parsers directly), then as capture
/// files whose kind the inventory sniffs (also as the local GPO's `Registry.pol` and a GPO's
/// `GPT.INI`), every key walked and every setting attributed to GPOs.
pub fn regtext(scratch: &Path, data: &[u8]) {
    let pol = registry::pol::parse(data, "Registry.pol");
    for e in &pol.entries {
        let _ = pol.effect_on(&e.key, &e.value_name);
    }
    let _ = registry::pol::parse_gpt_ini(data);
    let _ = registry::text::looks_like_reg_export(data);
    let _ = registry::text::looks_like_reg_query(data);
    if let Ok(parsed) = registry::text::parse_reg_export(data) {
        let _ = parsed.strict();
    }
    let _ = registry::text::parse_reg_query(data);
    let dir = regtext_folder(scratch, data);
    if let Ok(evidence) = pipeline::read_capture(&dir, &options(), Readers::REGISTRY) {
        walk_view(&evidence.registry, &evidence.gpresult);
    }
}

/// The `regtext` input as a text export, the local GPO's `Registry.pol` and a GPO's `GPT.INI`.
fn regtext_folder(scratch: &Path, data: &[u8]) -> PathBuf {
    let files = [
        ("HKLM-System.txt", data),
        ("GroupPolicy/Machine/Registry.pol", data),
        ("{31B2F340-016D-11D2-945F-00C04FB984F9}/GPT.INI", data),
    ];
    folder_with(scratch, "regtext", &files)
}

/// Target `evtx`: the bytes as an EVTX file through the reader (chunk prescan, BinXML decoder,
/// integrity account), with the RDS filter and with every event kept.
pub fn evtx(data: &[u8]) {
    for filter in [EventFilter::rds(), EventFilter::all()] {
        if let Ok(report) = eventlog::read_evtx(Cursor::new(data), "fuzz.evtx", &filter) {
            let _ = report.status();
            for e in &report.events {
                let _ = e.catalog_entry();
            }
        }
    }
}

/// Target `zip`: the bytes as a zip capture: inventory in place (limits, nested archives,
/// sniffing of each entry), then every reader over the entries, and the split into per-machine
/// archives.
pub fn zip(scratch: &Path, data: &[u8]) {
    let path = zip_file(scratch, data);
    let opts = options();
    let _ = pipeline::captures_in(&path);
    if let Ok(c) = capture::open(&path, &opts.capture) {
        let _ = capture::split_archives(&c);
        let evidence = pipeline::read_acquired(c, &opts, Readers::ALL);
        walk_view(&evidence.registry, &evidence.gpresult);
    }
}

/// The `zip` input as `capture.zip` in a fresh folder.
fn zip_file(scratch: &Path, data: &[u8]) -> PathBuf {
    folder_with(scratch, "zip", &[("capture.zip", data)]).join("capture.zip")
}

/// Target `gpresult`: the bytes through the gpresult sniffer and each form's reader (XML, text,
/// HTML) directly, then as a capture file read with the registry, its report tied to the
/// settings (winning and beaten GPOs) as `config` does.
pub fn gpresult(scratch: &Path, data: &[u8]) {
    use crate::catalog::gpresult::GpresultForm;
    let _ = crate::gpresult::sniff(&data[..data.len().min(sniff::HEAD_LEN)], "gpresult.html");
    let _ = crate::gpresult::decode_text(data);
    let mut reports = Vec::new();
    for form in [GpresultForm::Xml, GpresultForm::Text, GpresultForm::Html] {
        if let Ok(r) = crate::gpresult::parse("fuzz", form, data) {
            reports.push(r);
        }
    }
    let settings = crate::config::Settings::default();
    let _ = crate::config::gpresult::from_reports(&reports, Some(&settings));
    let dir = gpresult_folder(scratch, data);
    if let Ok(evidence) = pipeline::read_capture(&dir, &options(), Readers::REGISTRY) {
        let resolved = crate::config::resolve_capture(&evidence.registry, &evidence.gpresult);
        let _ = crate::config::user_policy::read(&evidence.registry, &resolved.settings);
    }
}

/// The `gpresult` input as MSRD-Collect names gpresult output.
fn gpresult_folder(scratch: &Path, data: &[u8]) -> PathBuf {
    folder_with(scratch, "gpresult", &[("RDSH01_Gpresult.html", data)])
}

/// A relative path made of safe components (letters, digits, `.`, `-`, `_`, `%`, space, and the
/// braces of GPO folder names; no `.`/`..`), at most eight levels, or `None`.
fn safe_path(raw: &[u8]) -> Option<PathBuf> {
    let text = String::from_utf8_lossy(raw);
    let mut path = PathBuf::new();
    for comp in text.split(['/', '\\']).filter(|c| !c.is_empty()).take(8) {
        let clean: String = comp
            .chars()
            .take(48)
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-% {}".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if clean.trim_matches('.').is_empty() {
            continue;
        }
        path.push(clean);
    }
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Target `capture`: a folder tree (files separated by [`FILE_SEPARATOR`], each a relative path,
/// a newline and its content): the sniffers on each file, then capture discovery over the tree
/// (collector roots, captures of a folder, inventory, layout, per-machine split), and the
/// registry readers (hives, text, Group Policy files) over each capture found, every setting
/// attributed to GPOs.
pub fn capture(scratch: &Path, data: &[u8]) {
    for part in split(data, FILE_SEPARATOR, 24) {
        let (name, content) = name_and_content(part);
        let _ = sniff::sniff_head(&content[..content.len().min(sniff::HEAD_LEN)]);
        let _ = sniff::hive_role(content);
        let _ = sniff::base_block_file_name(content);
        let _ = sniff::decode_text_head(content);
        if let Some(file_name) = safe_path(name).as_deref().and_then(Path::file_name) {
            let file_name = file_name.to_string_lossy();
            let _ = sniff::role_from_name(&file_name);
            let _ = sniff::hive_role_named(content, &file_name);
        }
    }
    let (tree, rel) = capture_tree(scratch, "capture", data);
    let rel: Vec<&str> = rel.iter().map(String::as_str).collect();
    let _ = capture::layout::detect("evidence", &rel);
    let opts = options();
    if !tree.is_dir() {
        return;
    }
    let _ = capture::roots::find_captures(&tree);
    for (path, _) in pipeline::captures_in(&tree) {
        if let Ok(c) = capture::open(&path, &opts.capture) {
            let _ = capture::split_archives(&c);
            let evidence = pipeline::read_acquired(c, &opts, Readers::REGISTRY);
            walk_view(&evidence.registry, &evidence.gpresult);
        }
    }
}

/// One file of a `capture` input: the path before the first newline, the content after it.
fn name_and_content(part: &[u8]) -> (&[u8], &[u8]) {
    match part.iter().position(|&b| b == b'\n') {
        Some(i) => (&part[..i], &part[i + 1..]),
        None => (part, &[][..]),
    }
}

/// A `capture` (or `render`) input written out as the folder `scratch/<name>/evidence` (paths
/// reduced to safe components; a path that is a folder already, or under a file, is skipped):
/// the folder and the relative paths written.
fn capture_tree(scratch: &Path, name: &str, data: &[u8]) -> (PathBuf, Vec<String>) {
    let tree = fresh(scratch, name).join("evidence");
    let mut rel = Vec::new();
    for part in split(data, FILE_SEPARATOR, 24) {
        let (name, content) = name_and_content(part);
        let Some(path) = safe_path(name) else {
            continue;
        };
        let full = tree.join(&path);
        if let Some(parent) = full.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        if std::fs::write(&full, content).is_ok() {
            rel.push(path.to_string_lossy().replace('\\', "/"));
        }
    }
    (tree, rel)
}

/// Target `render`: a folder tree as for `capture`, read as the commands read it (every reader)
/// and written in every format of every command — `analyze` (text, Markdown, HTML, JSON, JSON
/// lines, CSV), `batch`'s fleet summary (text, HTML), `config` and `explain <SETTING>`,
/// `timeline` and `events` — in UTC, a fixed offset and the host's own zone (read from the
/// evidence), at an unlimited and at a narrow width: the render layer over whatever the readers
/// make of hostile evidence.
pub fn render(scratch: &Path, data: &[u8]) {
    use crate::render::{self, text::TextOptions, OutputTz, TzChoice};
    let (tree, rel) = capture_tree(scratch, "render", data);
    if rel.is_empty() {
        return;
    }
    let opts = options();
    let paths = [tree.clone()];

    let report = pipeline::analyze(&paths, &opts);
    let offset = OutputTz::parse("+05:45")
        .map(TzChoice::Zone)
        .unwrap_or_default();
    for (tz, width, verbose) in [
        (TzChoice::Utc, 0, 2),
        (offset, 30, 0),
        (TzChoice::Host, 80, 1),
    ] {
        let text = TextOptions {
            color: width == 30,
            verbose,
            width,
            tz: tz.clone(),
        };
        let _ = render::text::render(&report, &text);
        let _ = render::markdown::render_with(&report, &tz);
        let _ = render::html::render(&report, &tz);
    }
    let _ = render::json::pretty(&report);
    let _ = render::csv::findings(&report);
    let digests: Vec<crate::batch::Digest> = report
        .captures
        .iter()
        .map(|c| {
            let _ = render::json::capture_line(c);
            crate::batch::Digest::of_report(c)
        })
        .collect();
    let summary = crate::batch::summarize(&digests);
    let _ = render::json::summary_line(&summary);
    let _ = render::fleet::text(&digests, &summary);
    let _ = render::html::fleet::render(&digests, &summary);

    let config = pipeline::config(&paths, &opts);
    let _ = render::json::pretty(&config);
    let _ = render::csv::config(&config);
    for (width, all) in [(0, true), (30, false)] {
        let ro = render::config::RenderOptions {
            width,
            chain: all,
            evidence: all,
            source_tags: all,
        };
        let _ = render::config::render_report_with(&config, ro);
    }
    let _ = render::config::explain_setting(&config, "licensing_mode", 40);

    if let Ok(o) = pipeline::timeline(&tree, &opts) {
        let host = o.host_time_zone.as_ref().map(|h| OutputTz::of_host(h).0);
        for tz in std::iter::once(OutputTz::utc()).chain(host) {
            let t = &o.timeline;
            let _ = render::timeline::render_text_styled(t, &tz, true, 30);
            let _ = render::timeline::render_text(t, &tz);
            let _ = render::timeline::render_jsonl(t, &tz);
            let _ = render::timeline::render_timesketch(t, &tz);
            let _ = render::html::render_timeline(&o, &tz);
            let _ = render::csv::timeline_events(t, &tz);
            let _ = render::csv::sessions(t, &tz);
        }
    }
    if let Ok(e) = pipeline::events(&tree, &crate::eventlog::query::Query::default(), &opts) {
        let tz = OutputTz::utc();
        let _ = render::events::render_text_with(&e.events, &tz, 30);
        let _ = render::events::render_jsonl(&e.events);
        let _ = render::csv::events(&e.events, &tz);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_the_rest_in_the_last_part() {
        assert_eq!(split(b"a--b--c", b"--", 2), vec![&b"a"[..], &b"b--c"[..]]);
        assert_eq!(split(b"abc", b"--", 3), vec![&b"abc"[..]]);
        assert_eq!(split(b"--", b"--", 3), vec![&b""[..], &b""[..]]);
    }

    #[test]
    fn safe_paths_stay_below_the_root() {
        assert_eq!(
            safe_path(b"../../etc/passwd"),
            Some(PathBuf::from("etc/passwd"))
        );
        assert_eq!(safe_path(b"/abs\\C:x"), Some(PathBuf::from("abs/C_x")));
        assert_eq!(safe_path(b".."), None);
    }
}
