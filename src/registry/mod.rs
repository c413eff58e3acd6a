//! Read: one read-only view over the registry evidence of a capture — hive files (through nt-hive,
//! with transaction-log replay in memory) and registry text exports (`.reg`, `reg query /s`).
//!
//! Everything above this module asks the view for values by hive and canonical key path; it never
//! needs to know which form the evidence came in. See `types` for the result vocabulary.

mod types;

pub use types::{Lookup, RegData, RegProvenance, RegValue, SourceForm, Unreadable};
