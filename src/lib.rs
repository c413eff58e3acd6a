//! rdsdiag: offline diagnosis of Windows Remote Desktop Services (RDS) licensing and connection
//! problems from registry hives, registry text exports and EVTX event logs.
//!
//! Data flows one way through [`pipeline`]: acquire ([`capture`]) → read ([`registry`],
//! [`eventlog`]) → resolve ([`host`], [`config`]) → correlate ([`timeline`]) → diagnose
//! ([`diagnose`]) → outcome ([`report`]) → output ([`render`]). The library never prints; it returns values that
//! carry their own non-fatal problems. See `ARCHITECTURE.md` for the module map.

pub mod batch;
pub mod capture;
pub mod catalog;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod eventlog;
pub mod evidence;
#[doc(hidden)]
pub mod fuzzing;
pub mod gpresult;
pub mod host;
pub mod pipeline;
pub mod registry;
pub mod render;
pub mod report;
pub mod timeline;

pub use error::{Error, Result};
