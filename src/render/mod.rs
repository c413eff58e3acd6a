//! The render layer: every output format of every command (text, Markdown, HTML, JSON, JSONL, CSV,
//! Timesketch) over the serialisable outcome types of the library. Nothing outside this module
//! (and the CLI that writes what it returns) formats output for people or writes JSON text.

pub mod config;
pub mod csv;
pub mod events;
pub mod fleet;
pub mod host;
pub mod html;
pub mod json;
pub mod markdown;
pub mod notes;
pub mod reg;
pub mod rules;
pub mod text;
pub mod timeline;
pub mod tz;
mod verdict;
pub mod width;

pub use tz::{OutputTz, TzChoice, TzError};
pub use verdict::verdict;

/// How a capture was split from the path given, in words.
pub fn split_text(split: &crate::report::Split) -> String {
    let by = match split.by {
        crate::report::SplitBy::CollectorRoot => {
            "each a collector tree, a folder of one machine's files or a zip"
        }
        crate::report::SplitBy::Archive => "each an archive inside it, opened in place",
        crate::report::SplitBy::EventComputer => {
            "each the event logs whose records name one computer"
        }
    };
    let mut s = format!(
        "one of {} captures found in {} ({by})",
        split.captures,
        split.from.display()
    );
    if !split.outside.is_empty() {
        s.push_str(&format!(
            "; {} file(s) there belong to no capture: {}",
            split.outside.len(),
            split.outside.join(", ")
        ));
    }
    s
}
