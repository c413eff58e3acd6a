//! Recognise the bundle layout a capture was collected with (TSS, MSRD-Collect, KAPE,
//! Velociraptor, loose files) from its relative paths. The signatures are data (`LAYOUTS`), each
//! with its source in the reference; the first layout whose signature matches wins.

use serde::Serialize;

/// The collector layout of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Velociraptor offline collector (`uploads/auto/C%3A/...`, `client_info.json`).
    Velociraptor,
    /// MSRD-Collect (`MSRD-Results-<PC>/...`, `<PC>_RegistryKeys`, `<PC>_EventLogs`).
    MsrdCollect,
    /// Microsoft TSS (TroubleShootingScript) output.
    Tss,
    /// KAPE target output (`<drive>/Windows/System32/config`, `.../winevt/Logs`).
    Kape,
    /// Files without a recognised collector layout (a single file, or a plain folder).
    Loose,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Velociraptor => "velociraptor",
            Layout::MsrdCollect => "msrd_collect",
            Layout::Tss => "tss",
            Layout::Kape => "kape",
            Layout::Loose => "loose",
        }
    }
}

/// How one path signature is matched against a lower-cased, `/`-separated relative path.
#[derive(Debug, Clone, Copy)]
enum Sig {
    /// The path, split on `/`, has a component that starts with this prefix.
    ComponentPrefix(&'static str),
    /// A component ends with this suffix.
    ComponentSuffix(&'static str),
    /// The path contains this sequence of components (after URL-decoding `%3a` to `:`).
    Contains(&'static str),
    /// The path (relative to the capture root) is exactly this.
    Exact(&'static str),
}

struct LayoutRule {
    layout: Layout,
    /// All of `all` must match some path, and at least one of `any` (if non-empty).
    all: &'static [Sig],
    any: &'static [Sig],
    source: &'static str,
}

/// Layout signatures in the order they are tried (the more specific first). Reference §13.
const LAYOUTS: &[LayoutRule] = &[
    LayoutRule {
        layout: Layout::Velociraptor,
        all: &[Sig::ComponentPrefix("uploads")],
        any: &[
            Sig::Exact("client_info.json"),
            Sig::Exact("collection_context.json"),
            Sig::Exact("uploads.json"),
            Sig::Contains("uploads/auto/c:/"),
            Sig::Contains("uploads/ntfs/"),
        ],
        source: "S38",
    },
    LayoutRule {
        layout: Layout::MsrdCollect,
        all: &[],
        any: &[
            Sig::ComponentPrefix("msrd-results-"),
            Sig::ComponentSuffix("_msrd-collect-log.txt"),
            Sig::ComponentSuffix("_registrykeys"),
        ],
        source: "S51",
    },
    LayoutRule {
        layout: Layout::Tss,
        all: &[],
        // UNCONFIRMED in the reference: TSS file-name patterns vary by release.
        any: &[
            Sig::ComponentPrefix("tss_"),
            Sig::ComponentSuffix("_uex_rdssrv"),
            Sig::ComponentSuffix("_tss_log.txt"),
            Sig::Contains("ms_data/"),
        ],
        source: "S36, S51 (patterns UNCONFIRMED)",
    },
    LayoutRule {
        layout: Layout::Kape,
        all: &[],
        any: &[
            Sig::Contains("windows/system32/config/"),
            Sig::Contains("windows/system32/winevt/logs/"),
        ],
        source: "S37",
    },
];

/// A recognised layout, the signal that decided it, and a computer name the layout implies
/// (e.g. `MSRD-Results-<PC>`), which is only a hint next to the SYSTEM hive's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutInfo {
    pub layout: Layout,
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer_hint: Option<String>,
}

/// Decide the layout from the capture's relative paths (`/`-separated). `root_name` is the name of
/// the folder or zip itself, which often carries the layout (e.g. `MSRD-Results-RDSH01-...zip`).
pub fn detect(root_name: &str, paths: &[&str]) -> LayoutInfo {
    let normalised: Vec<String> = paths
        .iter()
        .map(|p| format!("{}/{}", root_name.to_ascii_lowercase(), normalise(p)))
        .collect();
    let rel: Vec<String> = paths.iter().map(|p| normalise(p)).collect();
    for rule in LAYOUTS {
        let matches = |sig: &Sig| match sig {
            Sig::Exact(_) => rel.iter().any(|p| sig_matches(sig, p)),
            _ => normalised.iter().any(|p| sig_matches(sig, p)),
        };
        if rule.all.iter().all(matches) && (rule.any.is_empty() || rule.any.iter().any(matches)) {
            let hit = rule
                .any
                .iter()
                .find(|s| matches(s))
                .or(rule.all.first())
                .map(describe)
                .unwrap_or_default();
            return LayoutInfo {
                layout: rule.layout,
                signal: format!("{hit} (reference {})", rule.source),
                computer_hint: computer_hint(rule.layout, root_name, paths),
            };
        }
    }
    LayoutInfo {
        layout: Layout::Loose,
        signal: "no collector layout recognised; files identified by content".into(),
        computer_hint: None,
    }
}

fn normalise(p: &str) -> String {
    p.replace('\\', "/")
        .to_ascii_lowercase()
        .replace("%3a", ":")
}

fn sig_matches(sig: &Sig, path: &str) -> bool {
    match sig {
        Sig::ComponentPrefix(p) => path.split('/').any(|c| c.starts_with(p)),
        Sig::ComponentSuffix(s) => path.split('/').any(|c| c.ends_with(s)),
        Sig::Contains(s) => format!("{path}/").contains(s),
        Sig::Exact(e) => path == *e,
    }
}

fn describe(sig: &Sig) -> String {
    match sig {
        Sig::ComponentPrefix(p) => format!("a path component starting with `{p}`"),
        Sig::ComponentSuffix(s) => format!("a path component ending with `{s}`"),
        Sig::Contains(s) => format!("paths containing `{s}`"),
        Sig::Exact(e) => format!("`{e}` at the root"),
    }
}

/// MSRD-Collect names its folder `MSRD-Results-<PC>[-<yyyyMMdd_HHmmss>]`.
fn computer_hint(layout: Layout, root_name: &str, paths: &[&str]) -> Option<String> {
    if layout != Layout::MsrdCollect {
        return None;
    }
    let components =
        std::iter::once(root_name).chain(paths.iter().flat_map(|p| p.split(['/', '\\'])));
    for c in components {
        // Compared as bytes: a name from the evidence may hold a multi-byte character where the
        // prefix would end (a fuzz finding); the prefix is ASCII, so a match ends on a boundary.
        if c.len() > 13 && c.as_bytes()[..13].eq_ignore_ascii_case(b"msrd-results-") {
            let rest = c[13..].trim_end_matches(".zip");
            let pc = match rest.rsplit_once('-') {
                Some((pc, stamp)) if stamp.len() == 15 && stamp.as_bytes()[8] == b'_' => pc,
                _ => rest,
            };
            if !pc.is_empty() {
                return Some(pc.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_layout() {
        let cases: &[(&str, &[&str], Layout)] = &[
            (
                "case1.zip",
                &[
                    "client_info.json",
                    "uploads/auto/C%3A/Windows/System32/config/SYSTEM",
                ],
                Layout::Velociraptor,
            ),
            (
                "bundle",
                &["MSRD-Results-RDSH01-20240101_101010/RDSH01_EventLogs/RDSH01_System.evtx"],
                Layout::MsrdCollect,
            ),
            (
                "TSS_RDSH01_240101-101010_UEX_RDSsrv",
                &["RDSH01-System.evtx"],
                Layout::Tss,
            ),
            (
                "kape",
                &[
                    "C/Windows/System32/config/SYSTEM",
                    "C/Windows/System32/winevt/Logs/System.evtx",
                ],
                Layout::Kape,
            ),
            ("stuff", &["SYSTEM", "System.evtx"], Layout::Loose),
        ];
        for (root, paths, want) in cases {
            assert_eq!(detect(root, paths).layout, *want, "{root} {paths:?}");
        }
    }

    #[test]
    fn msrd_computer_hint() {
        let info = detect("x", &["MSRD-Results-RDSH01-20240101_101010/a.txt"]);
        assert_eq!(info.computer_hint.as_deref(), Some("RDSH01"));
        let info = detect("MSRD-Results-HOST-2", &["HOST-2_RegistryKeys/x.txt"]);
        assert_eq!(info.computer_hint.as_deref(), Some("HOST-2"));
    }

    #[test]
    fn a_multibyte_character_where_the_prefix_ends_is_no_hint_and_no_panic() {
        // Byte 13 falls inside U+00A0 (bytes 12..14): the fuzz finding of issue 16's last runs
        // (fixtures/regressions/zip/msrd-prefix-cut-inside-a-multibyte-name).
        let name = "MSRD-Results\u{a0}RDSH01";
        assert_eq!(computer_hint(Layout::MsrdCollect, name, &[]), None);
        assert_eq!(
            computer_hint(Layout::MsrdCollect, "x", &["MSRD-Results-RDSH01/a.txt"]).as_deref(),
            Some("RDSH01")
        );
    }
}
