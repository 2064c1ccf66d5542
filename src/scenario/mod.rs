//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod env;
mod model;
mod parse;
mod schema;
mod step;

pub use env::UnsetEnv;
pub use model::*;
pub use parse::{
    Refs, decode_command, decode_exec_expect, one_or_many, parse, parse_with_env, shorten,
};
pub use schema::{json_schema, one_or_more};
pub use step::{KindOf, StepFields, StepInput, StepKindDecl, StepKinds, StepSpec};
