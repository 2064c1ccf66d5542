//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod env;
mod model;
mod parse;
mod schema;

pub use env::UnsetEnv;
pub use model::*;
pub use parse::{parse, parse_with_env};
pub use schema::json_schema;
