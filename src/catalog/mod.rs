//! Data tables (TSV files embedded at build time) and their strict loaders.

pub mod builds;
pub mod events;
pub mod group_policy;
pub mod ntstatus;
pub mod reasons;
pub mod settings;
pub mod sources;
pub mod table;
