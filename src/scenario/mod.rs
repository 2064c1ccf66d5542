//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod env;
pub mod format;
mod model;
mod parse;
mod schema;
mod step;

pub use env::UnsetEnv;
pub use model::*;
pub use parse::{Refs, parse, parse_with_env, shorten};
/// What step kinds check their fields with: names, paths and references.
pub use parse::{
    check_absolute_path, check_copied_path, check_database_name, check_hostname, check_mirror_url,
    check_package_name, check_release, check_snapshot_name, check_unit_name, distinct_hosts,
    key_of, two_hosts,
};
pub use schema::json_schema;
pub use step::{
    KindOf, StepCommon, StepInput, StepKindDecl, StepKinds, StepSequence, StepSpec, decode_as,
    decode_fields,
};
