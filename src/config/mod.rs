//! Resolve: the effective RDS configuration of a capture — for each catalogued setting the winning
//! value under Group Policy precedence, its provenance, the values it shadows, and what cannot be
//! known because a hive or export was not provided.
//!
//! Entry points: [`resolve`] (settings) over any [`RegistrySource`] (the capture's registry view,
//! or a [`MemorySource`]), and [`render::render_text`] for the `config` table.

pub mod gpo;
pub mod gpresult;
mod model;
mod resolve;
mod source;
pub mod user_policy;
mod view;

pub use gpo::{GpoAttribution, GroupPolicy};
pub use gpresult::GpresultSummary;
pub use model::{
    names, Related, Setting, SettingState, SettingValue, Settings, Shadowed, UnknownReason,
    UnknownSource,
};
pub use resolve::{display_value, resolve, resolve_with};
pub use source::{KeyInfo, MemorySource, RegistrySource};
pub use user_policy::UserPolicy;
pub use view::{resolve_capture, ResolvedCapture};
