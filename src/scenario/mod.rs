//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod model;
mod parse;
mod schema;

pub use model::*;
pub use parse::parse;
pub use schema::json_schema;
