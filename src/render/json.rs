//! JSON and JSON Lines: the machine-readable forms of every outcome (the contract is in
//! `docs/json-contract.md`). Lines are serialised straight from the outcome types; no JSON text
//! is ever edited.

use serde::Serialize;

use crate::batch::FleetSummary;
use crate::report::{CaptureReport, SCHEMA_VERSION};

/// Why an outcome could not be written as JSON (a bug, never the evidence's fault).
pub type JsonError = serde_json::Error;

/// Pretty-printed JSON with a final newline.
pub fn pretty<T: Serialize + ?Sized>(v: &T) -> Result<String, JsonError> {
    serde_json::to_string_pretty(v).map(|s| s + "\n")
}

/// One compact JSON line (no newline).
pub fn line<T: Serialize + ?Sized>(v: &T) -> Result<String, JsonError> {
    serde_json::to_string(v)
}

/// The capture line of `batch` and `analyze --format jsonl`: the object `analyze --format json`
/// holds per capture, with `"record": "capture"` last.
#[derive(Serialize)]
struct CaptureLine<'a> {
    #[serde(flatten)]
    report: &'a CaptureReport,
    record: &'static str,
}

/// The JSONL line of one capture (no newline).
pub fn capture_line(report: &CaptureReport) -> Result<String, JsonError> {
    line(&CaptureLine {
        report,
        record: "capture",
    })
}

/// The summary line: the fleet summary with `"record": "fleet_summary"` and the schema version
/// (keys sorted, as the summary line has always had them).
pub fn summary_line(summary: &FleetSummary) -> Result<String, JsonError> {
    let mut v = serde_json::to_value(summary)?;
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("record".into(), "fleet_summary".into());
        map.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
    line(&v)
}
