//! `rehearse capture`: collect what a production host runs into one bundle, read-only,
//! for `rehearse import` to turn into a recipe and a scenario.
//!
//! Everything is read from files (`/etc/os-release`, `/var/lib/dpkg/status`,
//! `/proc/net/tcp`...); the only commands run are `systemctl list-units` (which only
//! reads) and, when asked, database dump tools that only read. Nothing is written but
//! the bundle: `FILE.partial` beside it, renamed at the end.

pub mod apache;
pub mod archive;
pub mod bundle;
mod capture_error;
mod collect;
pub mod database;
pub mod dpkg;
pub mod etc_tree;
pub mod host_facts;
pub mod listening;
pub mod nginx;
mod options;
pub mod redaction;
pub mod systemd_units;

pub use archive::{BundleError, ReadBundle, read_bundle};
pub use bundle::Bundle;
pub use capture_error::CaptureError;
pub use collect::{CaptureSummary, capture, remove_partial_files};
pub use database::DumpMode;
pub use options::{CaptureOptions, DEFAULT_MAX_FILE_SIZE};
