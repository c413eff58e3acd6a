//! Registry benchmark (plain `main`, no harness): open a large generated hive (tens of MB), replay
//! transaction logs onto a dirty copy, look up a few hundred values, and parse a large `.reg`
//! export. Prints a markdown table; results are recorded in docs/performance.md ("Registry").
//!
//! Run: `cargo bench --bench registry` (set `RDSDIAG_BENCH_KEYS` to change the hive size). A second
//! table times the worst cases of the text parsers (issue 16) at N and 2N: time per MB must stay
//! flat. `RDSDIAG_BENCH_TEXT_ONLY=1` prints only that table.

use std::time::{Duration, Instant};

use rdsdiag::evidence::{HiveKind, InputKind};
use rdsdiag::registry::{Lookup, RegData, RegistryView};
use rdsdiag_testsupport::hive::{self, Data, Key};
use rdsdiag_testsupport::regtext::{self, Encoding};

#[path = "../tests/common/registry_input.rs"]
mod registry_input;
use registry_input::input;

fn key_path(i: usize) -> String {
    format!(r"Bench\G{:03}\K{:05}", i % 100, i)
}

/// A SOFTWARE-like tree: `n` keys in 100 groups, each with a DWORD, a string and a binary value.
fn big_tree(n: usize) -> Key {
    let mut root = Key::new("ROOT");
    for i in 0..n {
        let k = root.at(&key_path(i));
        k.values.push(("Start".into(), Data::Dword(i as u32)));
        k.values.push((
            "ImagePath".into(),
            Data::ExpandSz(format!(
                r"%SystemRoot%\System32\svc{i:06}.dll -k netsvcs -p"
            )),
        ));
        k.values.push((
            "Blob".into(),
            Data::Binary((0..160).map(|b| (b ^ i) as u8).collect()),
        ));
    }
    root
}

/// File offsets of inline 4-byte values (`vk` cells whose data sits in the cell).
fn inline_dwords(b: &[u8]) -> Vec<usize> {
    (4096..b.len().saturating_sub(24))
        .step_by(8)
        .map(|p| p + 4) // cells start 8-aligned; the signature follows the 4-byte size
        .filter(|&p| &b[p..p + 2] == b"vk" && b[p + 4..p + 8] == [4, 0, 0, 0x80])
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    (median(times), last.expect("runs > 0"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

const REG_HEADER: &str = "Windows Registry Editor Version 5.00\r\n\r\n";
const BENCH_KEY: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Bench";

/// The worst cases of the text parsers, each at a size `n`: (name, what n counts, kind, text).
fn worst_case(case: &str, n: usize) -> (String, InputKind, String) {
    use std::fmt::Write as _;
    let mut t = String::new();
    let (what, kind) = match case {
        "values" => {
            t.push_str(REG_HEADER);
            writeln!(t, "[{BENCH_KEY}]\r").ok();
            for i in 0..n {
                writeln!(t, "\"Value{i:06}\"=dword:{i:08x}\r").ok();
            }
            ("values in one key (.reg)", InputKind::RegExport)
        }
        "query" => {
            writeln!(t, "\r\n{BENCH_KEY}\r").ok();
            for i in 0..n {
                writeln!(t, "    Value{i:06}    REG_DWORD    0x{i:x}\r").ok();
            }
            ("values in one key (reg query)", InputKind::RegQuery)
        }
        "deep" => {
            t.push_str(REG_HEADER);
            write!(
                t,
                "[{BENCH_KEY}{}]\r\n\"V\"=dword:00000001\r\n",
                "\\a".repeat(n)
            )
            .ok();
            ("levels in one key path", InputKind::RegExport)
        }
        "hex" => {
            t.push_str(REG_HEADER);
            writeln!(t, "[{BENCH_KEY}]\r\n\"Blob\"=hex:00,01,02,\\\r").ok();
            for i in 0..n {
                let row: Vec<String> = (0..25).map(|j| format!("{:02x}", (i + j) % 256)).collect();
                writeln!(t, "  {},\\\r", row.join(",")).ok();
            }
            t.push_str("  ff\r\n");
            ("continuation lines of one hex value", InputKind::RegExport)
        }
        "del" => {
            t.push_str(REG_HEADER);
            for i in 0..n {
                writeln!(t, "[{BENCH_KEY}\\K{i:06}]\r\n\"V\"=dword:00000001\r\n\r").ok();
            }
            writeln!(t, "[{BENCH_KEY}]\r").ok();
            for i in 0..n {
                writeln!(t, "[-{BENCH_KEY}\\K{i:06}]\r\n\r").ok();
            }
            ("keys, then a [-key] for each", InputKind::RegExport)
        }
        _ => {
            // One line of n MB: a hex value.
            t.push_str(REG_HEADER);
            writeln!(t, "[{BENCH_KEY}]\r").ok();
            t.push_str("\"Long\"=hex:");
            let bytes = n * 1_000_000 / 3;
            for i in 0..bytes {
                t.push_str(if i == 0 { "ab" } else { ",ab" });
            }
            t.push_str("\r\n");
            ("MB in one line (hex value)", InputKind::RegExport)
        }
    };
    (what.to_string(), kind, t)
}

/// The text worst cases at N and 2N (UTF-16LE, as regedit writes): parse + tree, median of 3.
fn text_worst_cases(dir: &std::path::Path) -> Vec<String> {
    let mut rows = Vec::new();
    for (case, n) in [
        ("values", 40_000),
        ("query", 40_000),
        ("deep", 200_000),
        ("hex", 40_000),
        ("del", 20_000),
        ("long", 10),
    ] {
        for n in [n, 2 * n] {
            let (what, kind, text) = worst_case(case, n);
            let bytes = regtext::encode(&text, Encoding::Utf16LeBom);
            drop(text);
            let ext = if kind == InputKind::RegQuery {
                "txt"
            } else {
                "reg"
            };
            let inputs = vec![input(dir, &format!("{case}-{n}.{ext}"), kind, None, &bytes)];
            let (t, view) = time(3, || RegistryView::load(&inputs).view);
            let result = match view.key(HiveKind::Software, "Bench") {
                Lookup::Found(k) if case == "del" => format!("{} subkeys left", k.subkeys.len()),
                Lookup::Found(k) => match k.values.first().map(|v| &v.data) {
                    Some(RegData::Binary(b)) if k.values.len() == 1 => {
                        format!("{} bytes read", b.len())
                    }
                    _ => format!("{} values read", k.values.len()),
                },
                _ if case == "deep" => "refused (512-level limit)".to_string(),
                other => format!("{other:?}"),
            };
            let mb = bytes.len() as f64 / 1e6;
            rows.push(format!(
                "| {n} {what} | {mb:.1} MB | {} | {:.1} ms/MB | {result} |",
                ms(t),
                t.as_secs_f64() * 1e3 / mb,
            ));
        }
    }
    rows
}

fn main() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text_rows = text_worst_cases(tmp.path());
    let text_header =
        "| Worst case | Input (UTF-16LE) | Median | Per MB | Result |\n|---|---|---|---|---|";
    if std::env::var("RDSDIAG_BENCH_TEXT_ONLY").is_ok_and(|v| v == "1") {
        println!("Registry text parsers, worst cases at N and 2N\n\n{text_header}");
        for r in text_rows {
            println!("{r}");
        }
        return;
    }
    let n: usize = std::env::var("RDSDIAG_BENCH_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60_000);
    let dir = tmp.path();

    let t = Instant::now();
    let tree = big_tree(n);
    let clean = hive::build_hive(&tree);
    let build = t.elapsed();

    // A dirty copy: four log entries, each changing every 40th inline DWORD in place.
    let slots = inline_dwords(&clean);
    let mut states = vec![clean.clone()];
    for step in 0..4u32 {
        let mut s = states.last().expect("state").clone();
        for &p in slots.iter().skip(step as usize * 10).step_by(40) {
            s[p + 8..p + 12].copy_from_slice(&(1_000_000 + step).to_le_bytes());
        }
        states.push(s);
    }
    let dirty = hive::dirty_with_log_chain(&states, 100);
    let log_pages = dirty.logs[0].1.len() / 4096;

    let rows_header = "| Operation | Input | Median | Notes |\n|---|---|---|---|";
    let mut rows: Vec<String> = Vec::new();
    let mb = |b: usize| format!("{:.1} MB", b as f64 / 1e6);

    // Open (read + validate) the clean hive. Inputs are inventoried once; each run reads the file.
    let clean_inputs = vec![input(
        dir,
        "SOFTWARE",
        InputKind::Hive,
        Some(HiveKind::Software),
        &clean,
    )];
    let (open_clean, view) = time(5, || RegistryView::load(&clean_inputs).view);
    rows.push(format!("| open clean hive | {} hive, {n} keys, {} values | {} | file read + base block + root check |", mb(clean.len()), 3 * n, ms(open_clean)));

    // The integrity walk alone (part of every open above), on this hive, on the largest corpus
    // hive when present, and on a generated hive of about 50 MB.
    let (walk, cells) = time(5, || rdsdiag::registry::check_cells(&clean));
    assert!(cells.first_damage.is_none(), "{cells:?}");
    rows.push(format!(
        "| integrity walk (in open) | {} hive, {} keys, {} values | {} | every nk, list, vk and data cell from the root |",
        mb(clean.len()),
        cells.keys,
        cells.values,
        ms(walk)
    ));
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/regipy/SYSTEM_2");
    if let Ok(b) = std::fs::read(&corpus) {
        let (walk, cells) = time(5, || rdsdiag::registry::check_cells(&b));
        rows.push(format!(
            "| integrity walk (in open) | corpus SYSTEM_2, {}, {} keys, {} values | {} | {} |",
            mb(b.len()),
            cells.keys,
            cells.values,
            ms(walk),
            if cells.first_damage.is_none() {
                "no damage"
            } else {
                "damage found"
            }
        ));
    }
    let big_n = (n * 50_000_000 / clean.len().max(1)).max(n);
    let big = hive::build_hive(&big_tree(big_n));
    let (walk, cells) = time(5, || rdsdiag::registry::check_cells(&big));
    assert!(cells.first_damage.is_none(), "{cells:?}");
    rows.push(format!(
        "| integrity walk (in open) | {} generated hive, {} keys, {} values | {} | |",
        mb(big.len()),
        cells.keys,
        cells.values,
        ms(walk)
    ));
    drop(big);

    // Open the dirty hive with its log: replay in memory.
    let dirty_inputs = vec![
        input(
            dir,
            "d/SOFTWARE",
            InputKind::Hive,
            Some(HiveKind::Software),
            &dirty.primary,
        ),
        input(
            dir,
            "d/SOFTWARE.LOG1",
            InputKind::HiveLog,
            Some(HiveKind::Software),
            &dirty.logs[0].1,
        ),
    ];
    let (open_dirty, (dview, problems)) = time(5, || {
        let mut inputs = dirty_inputs.clone();
        let v = RegistryView::load(&inputs).apply_to(&mut inputs);
        (v, inputs[0].problems.clone())
    });
    let replayed = problems
        .iter()
        .find(|p| p.code == "hive-log-replayed")
        .map(|p| p.message.clone())
        .unwrap_or_default();
    rows.push(format!(
        "| open dirty hive + replay | {} hive + {} log (~{log_pages} × 4 KiB) | {} | {replayed} |",
        mb(dirty.primary.len()),
        mb(dirty.logs[0].1.len()),
        ms(open_dirty)
    ));
    assert!(replayed.starts_with("replayed 4 entries"), "{replayed}");

    // Lookups: a few hundred values spread over the hive.
    let lookups = 400;
    let paths: Vec<String> = (0..lookups).map(|i| key_path((i * 7919) % n)).collect();
    let names = ["Start", "ImagePath", "Blob", "Missing"];
    let (look, found) = time(5, || {
        let mut found = 0;
        for (i, p) in paths.iter().enumerate() {
            if let Lookup::Found(_) = view.value(HiveKind::Software, p, names[i % names.len()]) {
                found += 1;
            }
        }
        found
    });
    assert_eq!(found, lookups - lookups / 4);
    rows.push(format!(
        "| value lookups | {lookups} paths, depth 3 | {} | {:.1} µs per lookup ({found} found, {} absent) |",
        ms(look),
        look.as_secs_f64() * 1e6 / lookups as f64,
        lookups - found
    ));
    let (look_d, _) = time(5, || {
        paths
            .iter()
            .filter(|p| dview.value(HiveKind::Software, p, "Start").is_found())
            .count()
    });
    rows.push(format!(
        "| value lookups (replayed hive) | {lookups} paths | {} | |",
        ms(look_d)
    ));
    let (keys, _) = time(5, || {
        paths
            .iter()
            .take(100)
            .filter(|p| view.key(HiveKind::Software, p).is_found())
            .count()
    });
    rows.push(format!(
        "| key views | 100 keys (3 values each) | {} | |",
        ms(keys)
    ));
    let (group, sub) = time(5, || {
        view.key(HiveKind::Software, r"Bench\G042")
            .into_found()
            .map(|k| k.subkeys.len())
            .unwrap_or(0)
    });
    rows.push(format!(
        "| key view with {sub} subkeys | 1 key | {} | |",
        ms(group)
    ));

    // Text: a .reg export (UTF-16LE) of a tenth of the tree.
    let mut part = Key::new("Bench");
    part.subkeys = tree.subkeys[0].subkeys.iter().take(10).cloned().collect();
    let reg = regtext::encode(
        &regtext::reg_export(&part, r"HKEY_LOCAL_MACHINE\SOFTWARE\Bench", false),
        Encoding::Utf16LeBom,
    );
    let reg_inputs = vec![input(dir, "part.reg", InputKind::RegExport, None, &reg)];
    let (reg_t, _) = time(3, || RegistryView::load(&reg_inputs).view);
    rows.push(format!(
        "| open .reg export | {} UTF-16LE, {} keys | {} | parse + tree |",
        mb(reg.len()),
        n / 10,
        ms(reg_t)
    ));
    let query = regtext::encode(
        &regtext::reg_query(&part, r"HKEY_LOCAL_MACHINE\SOFTWARE\Bench"),
        Encoding::Utf16LeBom,
    );
    let query_inputs = vec![input(dir, "part.txt", InputKind::RegQuery, None, &query)];
    let (q_t, _) = time(3, || RegistryView::load(&query_inputs).view);
    rows.push(format!(
        "| open reg query text | {} UTF-16LE, {} keys | {} | parse + tree |",
        mb(query.len()),
        n / 10,
        ms(q_t)
    ));

    println!(
        "Registry benchmark ({} keys; hive generation took {:.1} s, not counted)\n",
        n,
        build.as_secs_f64()
    );
    println!("{rows_header}");
    for r in rows {
        println!("{r}");
    }
    println!("\nRegistry text parsers, worst cases at N and 2N\n\n{text_header}");
    for r in text_rows {
        println!("{r}");
    }
}
