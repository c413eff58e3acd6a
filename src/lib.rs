//! rdsdiag: offline diagnosis of Windows Remote Desktop Services (RDS) licensing and connection
//! problems from registry hives, registry text exports and EVTX event logs.
//!
//! Data flows one way: acquire ([`capture`]) → read ([`registry`], [`eventlog`]) → resolve →
//! correlate → diagnose → report ([`report`]). The library never prints; it returns values that
//! carry their own non-fatal problems. See `ARCHITECTURE.md` for the module map.

pub mod analyze;
pub mod batch;
pub mod capture;
pub mod catalog;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod eventlog;
pub mod evidence;
pub mod host;
pub mod registry;
pub mod report;
pub mod timeline;

pub use error::{Error, Result};
