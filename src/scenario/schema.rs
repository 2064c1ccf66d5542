//! A JSON Schema (draft 2020-12) of the scenario format, for editors and docs.
//!
//! Generated from the types the file is read into ([`ScenarioFile`] and the step
//! kinds' fields): one declaration per field gives how it is read and how it is
//! described, so the two cannot drift apart.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use super::parse::ScenarioFile;
use super::{StepCommon, StepKinds};

/// The JSON Schema of a scenario file whose steps are of these `kinds`.
pub fn json_schema(kinds: &StepKinds) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let step = step(kinds, &mut generator);
    generator.definitions_mut().insert("step".into(), step);
    let mut schema =
        serde_json::to_value(generator.into_root_schema_for::<ScenarioFile>()).expect("JSON");
    schema["$id"] = json!("https://rehearse.invalid/scenario.schema.json");
    unwrap_descriptions(&mut schema);
    schema
}

/// Descriptions come from doc comments, wrapped at 90 columns: one line each, as
/// editors show them (a blank line still separates paragraphs). Optional keys are
/// described without a `null` default.
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // An optional key's default is its absence, not `null`.
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

fn step(kinds: &StepKinds, generator: &mut SchemaGenerator) -> Value {
    let common = serde_json::to_value(StepCommon::json_schema(generator)).expect("JSON");
    let mut step = json!({
        "description": format!(
            "One step; exactly one of {}.",
            kinds.names().iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        ),
        "type": "object",
        "additionalProperties": false,
        "oneOf": kinds
            .names()
            .iter()
            .map(|name| json!({"required": [name]}))
            .collect::<Vec<_>>(),
        "properties": common["properties"]
    });
    for kind in kinds.iter() {
        step["properties"][kind.name()] =
            serde_json::to_value(kind.schema(generator)).expect("a schema is JSON");
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let schema = json_schema(crate::runner::step_kinds());
        let text = schema.to_string();
        for reference in text.split("\"$ref\":\"#").skip(1) {
            let pointer = &reference[..reference.find('"').unwrap()];
            assert!(
                schema.pointer(pointer).is_some(),
                "dangling $ref #{pointer}"
            );
        }
    }

    fn to_json(node: &crate::yaml::Node) -> Value {
        use crate::yaml::Node;
        match node {
            Node::Null => Value::Null,
            Node::Bool(b) => json!(b),
            Node::Int(i) => json!(i),
            Node::Float(f) => json!(f),
            Node::Str(s) => json!(s),
            Node::Seq(items) => Value::Array(items.iter().map(|i| to_json(&i.value)).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), to_json(&v.value)))
                    .collect(),
            ),
        }
    }

    /// Every valid scenario shipped or tested is valid against the schema too, so an
    /// editor never flags what `rehearse` accepts.
    #[test]
    fn the_schema_accepts_every_valid_scenario() {
        let validator = jsonschema::validator_for(&json_schema(crate::runner::step_kinds()))
            .expect("the schema compiles");
        let mut checked = 0;
        for dir in [
            "scenarios",
            "scenarios/drills",
            "tests/scenarios",
            "tests/architectures",
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "yaml") {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap();
                if crate::runner::parse_scenario(&path, &source).is_err() {
                    continue;
                }
                let document = to_json(&crate::yaml::load(&source).unwrap().value);
                let errors: Vec<String> = validator
                    .iter_errors(&document)
                    .map(|e| format!("{e} at {}", e.instance_path()))
                    .collect();
                assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} scenarios checked");
        // And it refuses what the parser refuses (the checks can fail).
        for step in [
            json!({"fault": {"host": "web", "stop": "a", "mask": "a"}}),
            json!({"fault": {"host": "web", "disconnect": false}}),
            json!({"fault": {"host": "web", "break-config": {"file": "/x", "replace": "a"}}}),
            json!({"fault": {"stop": "a"}}),
            json!({"revert": []}),
        ] {
            let document = json!({"name": "t", "hosts": {"web": {"image": "x"}}, "steps": [step]});
            assert!(!validator.is_valid(&document), "{document}");
        }
    }

    /// Each file of the invalid corpus (one mistake a schema can express, each) is
    /// refused by `rehearse check` and by the printed schema alike.
    #[test]
    fn the_schema_refuses_every_invalid_scenario() {
        let validator = jsonschema::validator_for(&json_schema(crate::runner::step_kinds()))
            .expect("the schema compiles");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid-scenarios");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let errors = match crate::runner::parse_scenario(&path, &source) {
                Ok(_) => panic!("{} is accepted by the parser", path.display()),
                Err(diagnostics) => diagnostics.errors,
            };
            assert_eq!(errors.len(), 1, "{}: {errors:#?}", path.display());
            let document = to_json(&crate::yaml::load(&source).unwrap().value);
            assert!(
                !validator.is_valid(&document),
                "{} is accepted by the schema (the parser says: {})",
                path.display(),
                errors[0].message
            );
            checked += 1;
        }
        assert!(checked >= 40, "only {checked} invalid scenarios checked");
    }
}
