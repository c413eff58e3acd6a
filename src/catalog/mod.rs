//! Data tables (TSV files embedded at build time) and their strict loaders.

pub mod events;
pub mod settings;
pub mod builds;
pub mod reasons;
