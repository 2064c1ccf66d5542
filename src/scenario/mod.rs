//! Scenario files: parsed from YAML and validated into pure data. No I/O here.
mod model;

pub use model::*;
/// TEMPORARY until the parser lands.
pub fn parse(_path: &std::path::Path, _source: &str) -> Result<Scenario, crate::yaml::Diagnostics> { unimplemented!() }
/// TEMPORARY
pub fn json_schema() -> serde_json::Value { serde_json::Value::Null }
