//! Data tables (TSV files embedded at build time) and their strict loaders.

pub mod builds;
pub mod events;
pub mod gpresult;
pub mod group_policy;
pub mod ntstatus;
pub mod reasons;
pub mod settings;
pub mod sources;
pub mod table;
pub mod zones;

/// The catalogue's tables as embedded, in a fixed order: what [`version`] digests.
const TABLES: [(&str, &str); 9] = [
    ("events.tsv", include_str!("events.tsv")),
    ("reasons.tsv", include_str!("reasons.tsv")),
    ("ntstatus.tsv", include_str!("ntstatus.tsv")),
    ("builds.tsv", include_str!("builds.tsv")),
    ("settings.tsv", include_str!("settings.tsv")),
    ("setting_sources.tsv", include_str!("setting_sources.tsv")),
    ("values.tsv", include_str!("values.tsv")),
    ("sources.tsv", include_str!("sources.tsv")),
    ("windows_zones.tsv", include_str!("windows_zones.tsv")),
];

/// The catalogue version: the first 12 hex digits of a SHA-256 over the embedded tables (name
/// and text of each), so two builds with the same facts name the same version and any edited
/// row changes it. `--version` shows it.
pub fn version() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (name, text) in TABLES {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How many rows the catalogue's tables hold (lines that are neither comments nor headers).
pub fn rows() -> usize {
    TABLES
        .iter()
        .map(|(_, t)| {
            t.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .count()
                .saturating_sub(1)
        })
        .sum()
}
