//! `rehearse import`: turn a capture bundle into an image recipe reproducing the host
//! and a scenario rehearsing its upgrade to the next Debian release.
//!
//! The plan ([`ImportPlan`]) is pure: from the bundle and the versions the mirror still
//! has, it decides what is pinned, enabled, probed, and what cannot be reproduced.
//! The texts are rendered from it, then written.

mod import_error;
pub mod mirror_versions;
pub mod plan;
pub mod recipe_text;
pub mod scenario_text;
mod validate;
mod write;

pub use import_error::ImportError;
pub use mirror_versions::{MirrorVersions, query_mirror};
pub use plan::{ImportPlan, sanitize_name};
pub use recipe_text::{not_reproduced_lines, recipe_text};
pub use scenario_text::scenario_text;
pub use validate::{InvalidValue, validate};
pub use write::{ImportTargets, write_import};

#[cfg(test)]
mod tests;
