//! Notes for stderr: the warnings met while reading, one line each, for commands whose main
//! output has no place for them (`events`, `reg`).

use crate::evidence::{Problem, ProblemSeverity};

/// `warning: <file>: <message> [<code>]` for every problem of warning severity or worse.
pub fn warnings<'a>(inputs: impl IntoIterator<Item = (&'a str, &'a [Problem])>) -> String {
    let mut out = String::new();
    for (path, problems) in inputs {
        for p in problems
            .iter()
            .filter(|p| p.severity >= ProblemSeverity::Warning)
        {
            out.push_str(&format!("warning: {path}: {} [{}]\n", p.message, p.code));
        }
    }
    out
}
