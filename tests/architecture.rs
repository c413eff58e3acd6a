//! The invariants of ARCHITECTURE.md that a test can check by reading the source: only the render
//! layer and the CLI format output or write to the terminal, and no module imports a module above
//! it in the pipeline's layers.

use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of its own layer or below.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("evidence", 0),
    ("catalog", 0),
    ("capture", 1),
    ("registry", 2),
    ("eventlog", 2),
    ("gpresult", 2),
    ("config", 3),
    ("host", 3),
    ("timeline", 4),
    ("diagnose", 5),
    ("report", 6),
    ("batch", 7),
    ("pipeline", 8),
    ("render", 9),
    ("fuzzing", 10),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every library source file with its top-level module, without its `#[cfg(test)]` part.
fn library_code() -> Vec<(String, PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&src).expect("under src");
            let first = rel.components().next()?.as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if matches!(module.as_str(), "cli" | "main" | "lib") {
                return None;
            }
            let text = std::fs::read_to_string(&p).expect("utf-8 source");
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Some((module, p, code))
        })
        .collect()
}

#[test]
fn only_the_render_layer_and_the_cli_format_output() {
    const FORBIDDEN: &[&str] = &[
        "println!",
        "print!(",
        "eprintln!",
        "eprint!(",
        "dbg!(",
        "std::io::stdout",
        "std::io::stderr",
        "serde_json::to_string",
        "serde_json::to_writer",
    ];
    let mut found = Vec::new();
    for (module, path, code) in library_code() {
        if module == "render" {
            continue;
        }
        for f in FORBIDDEN {
            if code.contains(f) {
                found.push(format!("{}: {f}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "output formatted outside render/ and cli/: {found:#?}"
    );
}

#[test]
fn no_module_imports_a_module_above_it() {
    let rank = |m: &str| LAYERS.iter().find(|(n, _)| *n == m).map(|(_, r)| *r);
    let mut found = Vec::new();
    for (module, path, code) in library_code() {
        let mine = rank(&module).unwrap_or_else(|| panic!("{module} has no layer in this test"));
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let used: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Some(theirs) = rank(&used) {
                if theirs > mine {
                    found.push(format!("{} ({module}) uses crate::{used}", path.display()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "imports going up the layers: {found:#?}");
}
