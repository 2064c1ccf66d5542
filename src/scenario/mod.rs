//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod model;

pub use model::*;
