//! A JSON Schema (draft 2020-12) of the scenario format, for editors and docs.
//!
//! Hand-written; a unit test checks its `properties` against the parser's key
//! lists so the two cannot drift apart.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::StepKinds;

/// The JSON Schema of a scenario file whose steps are of these `kinds`.
pub fn json_schema(kinds: &StepKinds) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rehearse.invalid/scenario.schema.json",
        "title": "rehearse scenario",
        "description": "Hosts to replicate, probes of their health, the steps of the rehearsal and the gates of the GO / NO-GO verdict.",
        "type": "object",
        "required": ["name", "hosts", "steps"],
        "additionalProperties": false,
        "properties": {
            "name": {
                "description": "Short name used in reports and resource names.",
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"
            },
            "description": {"description": "What the rehearsal checks.", "type": "string"},
            "hosts": {
                "description": "The replica hosts, by name.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": {"$ref": "#/$defs/host"}
            },
            "probes": {
                "description": "Named health checks, run by `probe` steps.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z0-9][a-z0-9_.-]*$"},
                "additionalProperties": {"$ref": "#/$defs/probe"}
            },
            "monitors": {
                "description": "Continuous HTTP monitors, run open-loop at a fixed rate between `monitor: {start}` and `monitor: {stop}` steps.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z0-9][a-z0-9_.-]*$"},
                "additionalProperties": {"$ref": "#/$defs/monitor"}
            },
            "steps": {
                "description": "The rehearsal, run in order.",
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/step"}
            },
            "gates": {
                "description": "Conditions the GO verdict requires, besides the built-in ones.",
                "type": "array",
                "items": {"$ref": "#/$defs/gate"}
            },
            "allow_files_outside": {
                "description": "Let host `files:` name files outside the scenario's folder (absolute paths, `..`, links leading out).",
                "type": "boolean",
                "default": false
            },
            "file_limits": {
                "description": "Size limits on the files copied into hosts: bytes, or a size with a K, M, G or T suffix (binary).",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "per_file": {"description": "Largest file (default 64M).", "type": ["integer", "string"]},
                    "total": {"description": "All files of all hosts together (default 256M).", "type": ["integer", "string"]}
                }
            },
            "drill": drill()
        },
        "$defs": defs(kinds)
    })
}

/// The `drill:` section (its own function: one `json!` of the whole schema is too deep).
fn drill() -> Value {
    json!({
        "description": "Makes the scenario a training drill (`rehearse drill FILE`): its steps break the replica, the trainee repairs it, the checks say when the repair holds.",
        "type": "object",
        "required": ["briefing", "checks"],
        "additionalProperties": false,
        "properties": {
            "briefing": {"description": "What the trainee is told at the start: the situation, not the answer.", "type": "string"},
            "checks": {
                "description": "Probes that must all pass for the drill to be solved; they should test the real stack (HTTP answers, services, data).",
                "oneOf": [
                    {"$ref": "#/$defs/probeRef"},
                    {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/probeRef"}}
                ]
            },
            "reboot": {"description": "Hosts restarted before every check attempt, so that a repair that does not survive a reboot does not pass.", "oneOf": [{"$ref": "#/$defs/hostRef"}, {"type": "array", "items": {"$ref": "#/$defs/hostRef"}}]},
            "hints": {"description": "Hints, mildest first, shown one at a time by `rehearse drill status --hint`.", "$ref": "#/$defs/stringOrList"},
            "data": {
                "description": "Data the repair must keep: counted before the incident and at every check attempt.",
                "type": "object",
                "required": ["host", "count"],
                "additionalProperties": false,
                "properties": {
                    "host": {"$ref": "#/$defs/hostRef", "description": "Where the data is counted at check time."},
                    "count": {"$ref": "#/$defs/command", "description": "Prints one number, e.g. `mysql -N -e 'SELECT COUNT(*) FROM shop.orders'`."},
                    "from": {"$ref": "#/$defs/hostRef", "description": "Where the baseline is counted (default: `host`), e.g. the host the incident loses."},
                    "before": {"description": "The step before which the baseline is counted (default: the first).", "type": "string"},
                    "max_loss": {"description": "Rows that may be lost (e.g. those written after the last backup); default 0.", "type": "integer", "minimum": 0}
                }
            }
        }
    })
}

fn defs(kinds: &StepKinds) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut defs = json!({
        "duration": {
            "description": "A duration like `500ms`, `30s`, `2m`, `1h`, or an integer number of seconds.",
            "type": ["string", "integer"],
            "minimum": 1
        },
        "stringOrList": {
            "description": "A string or a list of strings.",
            "type": ["string", "array"],
            "items": {"type": "string"}
        },
        "command": {
            "description": "A shell line (run with `sh -c`) or a non-empty argument list.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string"}}
            ]
        },
        "hostRef": {"description": "The name of a host of this scenario.", "type": "string"},
        "probeRef": {"description": "The name of a probe of this scenario.", "type": "string"},
        "monitorRef": {"description": "The name of a monitor of this scenario.", "type": "string"},
        "monitor": {
            "description": "A continuous HTTP monitor.",
            "type": "object",
            "required": ["http"],
            "additionalProperties": false,
            "properties": {
                "http": {"$ref": "#/$defs/http"},
                "rate": {"description": "Requests per second.", "type": "integer", "minimum": 1, "maximum": 20000, "default": 200},
                "marker_header": {"description": "Response header naming the host that served, counted per value.", "type": "string"},
                "writes": {"$ref": "#/$defs/writes"}
            }
        },
        "writes": {
            "description": "Acknowledged-write tracking: each POST carries a unique token; an answer with the expected status acknowledges it. When the monitor stops, the stored tokens are listed: acknowledged ones missing from `serving` are lost writes, ones that reached `old` after the cutover are split writes.",
            "type": "object",
            "required": ["serving"],
            "additionalProperties": false,
            "properties": {
                "field": {"description": "Form field that carries the token.", "type": "string", "default": "token"},
                "serving": {"$ref": "#/$defs/tokenQuery", "description": "Lists the tokens in the database that serves after the move."},
                "old": {"$ref": "#/$defs/tokenQuery", "description": "Lists the tokens in the old database."}
            }
        },
        "tokenQuery": {
            "description": "A command run in a host that prints stored tokens, one a line.",
            "type": "object",
            "required": ["host", "command"],
            "additionalProperties": false,
            "properties": {
                "host": {"$ref": "#/$defs/hostRef"},
                "command": {"$ref": "#/$defs/command"}
            }
        },
        "unit": {"description": "A systemd unit, e.g. `apache2` or `mariadb.service`.", "type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9:_.@\\\\-]*$"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "host": host(),
        "probe": probe(),
        "retry": retry(),
        "http": http(),
        "httpExpect": http_expect(),
        "tcp": tcp(),
        "execProbe": exec_probe(),
        "execExpect": exec_expect(),
        "step": step(kinds, &mut generator),
        "gate": gate()
    });
    // The definitions the kinds' schemas refer to, generated from their types.
    for (name, schema) in generator.take_definitions(true) {
        defs[name] = schema;
    }
    defs
}

fn host() -> Value {
    json!({
        "description": "A replica host: a container built from an image recipe.",
        "type": "object",
        "required": ["image"],
        "additionalProperties": false,
        "properties": {
            "image": {
                "description": "Name of a recipe: `images/<image>/recipe.yaml`.",
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9._-]*$"
            },
            "init": {
                "description": "What runs as PID 1: `systemd` boots like the real server.",
                "enum": ["systemd", "none"],
                "default": "systemd"
            },
            "aliases": {
                "description": "Extra DNS names the host answers to (virtual hosts).",
                "type": "array",
                "items": {"type": "string"}
            },
            "memory": {
                "description": "Memory limit: bytes, or a size with a K, M, G or T suffix (binary); default 2G.",
                "type": ["integer", "string"]
            },
            "cpus": {"description": "CPU limit in cores (default 2, at most the machine's).", "type": "number", "exclusiveMinimum": 0},
            "pids": {"description": "Process and thread limit (default 4096).", "type": "integer", "minimum": 16, "maximum": 1000000},
            "env": {
                "description": "Environment variables of the host's PID 1. Any string value of the scenario may take a secret from the environment of `rehearse` with `${env:NAME}`; it is redacted from every output.",
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
            },
            "files": {
                "description": "Local files put into the host before it boots (e.g. the production configuration).",
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["src", "dest"],
                    "additionalProperties": false,
                    "properties": {
                        "src": {"description": "Path relative to the scenario's folder, staying inside it (no absolute path, no `..`, no link leading out) unless `allow_files_outside: true`.", "type": "string", "minLength": 1},
                        "dest": {"description": "Absolute path of the file in the host.", "type": "string", "pattern": "^/"},
                        "mode": {"description": "Permission bits as an octal string (default \"0644\").", "type": "string", "pattern": "^[0-7]{1,4}$"}
                    }
                }
            }
        }
    })
}

fn probe() -> Value {
    json!({
        "description": "A named health check; exactly one of `http`, `tcp`, `exec`.",
        "type": "object",
        "additionalProperties": false,
        "oneOf": [{"required": ["http"]}, {"required": ["tcp"]}, {"required": ["exec"]}],
        "properties": {
            "http": {"$ref": "#/$defs/http"},
            "tcp": {"$ref": "#/$defs/tcp"},
            "exec": {"$ref": "#/$defs/execProbe"},
            "retry": {"$ref": "#/$defs/retry"}
        }
    })
}

fn retry() -> Value {
    json!({
        "description": "An attempt every `interval` until one passes or `deadline` has passed.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "interval": {"$ref": "#/$defs/duration", "default": "1s"},
            "deadline": {"$ref": "#/$defs/duration", "default": "30s"}
        }
    })
}

fn http() -> Value {
    json!({
        "description": "An HTTP request from `rehearse` to a host.",
        "type": "object",
        "required": ["host"],
        "additionalProperties": false,
        "properties": {
            "host": {"$ref": "#/$defs/hostRef"},
            "url": {
                "description": "`http://NAME[:PORT]/PATH`: sets `vhost`, `port` and `path` at once; the request still goes to `host`.",
                "type": "string",
                "pattern": "^http://"
            },
            "port": {"$ref": "#/$defs/port", "default": 80},
            "path": {"description": "Request path.", "type": "string", "pattern": "^/", "default": "/"},
            "vhost": {
                "description": "Host header; the name resolves to the chosen host like an /etc/hosts override.",
                "type": "string"
            },
            "method": {"enum": ["GET", "HEAD", "POST"], "default": "GET"},
            "timeout": {"$ref": "#/$defs/duration", "default": "5s"},
            "expect": {"$ref": "#/$defs/httpExpect"}
        }
    })
}

fn http_expect() -> Value {
    json!({
        "description": "What the response must look like.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "status": {"type": "integer", "minimum": 100, "maximum": 599, "default": 200},
            "status_below": {"description": "Any status below this one passes, instead of exactly `status` (500: no server error).", "type": "integer", "minimum": 101, "maximum": 600},
            "body_contains": {"$ref": "#/$defs/stringOrList", "description": "Texts the body must contain."},
            "body_regex": {"description": "A regular expression the body must match.", "type": "string"},
            "headers": {
                "description": "Headers that must have exactly this value (names are case-insensitive).",
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]}
            }
        }
    })
}

fn tcp() -> Value {
    json!({
        "description": "A TCP connect to a host's port.",
        "type": "object",
        "required": ["host", "port"],
        "additionalProperties": false,
        "properties": {
            "host": {"$ref": "#/$defs/hostRef"},
            "port": {"$ref": "#/$defs/port"},
            "timeout": {"$ref": "#/$defs/duration", "default": "5s"}
        }
    })
}

fn exec_probe() -> Value {
    json!({
        "description": "A command run inside a host.",
        "type": "object",
        "required": ["host", "command"],
        "additionalProperties": false,
        "properties": {
            "host": {"$ref": "#/$defs/hostRef"},
            "command": {"$ref": "#/$defs/command"},
            "timeout": {"$ref": "#/$defs/duration", "default": "30s"},
            "expect": {"$ref": "#/$defs/execExpect"}
        }
    })
}

fn exec_expect() -> Value {
    json!({
        "description": "What the command's result must look like.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "exit_code": {"type": "integer", "minimum": 0, "maximum": 255, "default": 0},
            "stdout_contains": {"$ref": "#/$defs/stringOrList"},
            "stderr_contains": {"$ref": "#/$defs/stringOrList"}
        }
    })
}

fn step(kinds: &StepKinds, generator: &mut SchemaGenerator) -> Value {
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
        "properties": {
            "name": {"description": "Unique step name; derived from the step when absent.", "type": "string"},
            "timeout": {"$ref": "#/$defs/duration", "description": "Defaults to 5m (probe, exec), 3m (reboot), 2m (fault, revert) or 1h (upgrade)."},
            "allow_failure": {
                "description": "Record a failure without stopping the run; gates decide.",
                "type": "boolean",
                "default": false
            },
        }
    });
    for kind in kinds.iter() {
        step["properties"][kind.name()] =
            serde_json::to_value(kind.schema(generator)).expect("a schema is JSON");
    }
    step
}

/// One item, or a non-empty list of them.
/// A value that is `item` or a list of them.
pub fn one_or_more(item: Value) -> Value {
    json!({"oneOf": [item, {"type": "array", "minItems": 1, "items": item}]})
}

fn gate() -> Value {
    json!({
        "description": "A condition of the verdict; exactly one of `max_failed_checks`, `max_findings`, `max_unavailability`, `max_failed_requests`, `lost_writes`, `split_writes`, `p99_latency`, `recovery_point`.",
        "type": "object",
        "additionalProperties": false,
        "oneOf": [{"required": ["max_failed_checks"]}, {"required": ["max_findings"]}, {"required": ["max_unavailability"]}, {"required": ["max_failed_requests"]}, {"required": ["lost_writes"]}, {"required": ["split_writes"]}, {"required": ["p99_latency"]}, {"required": ["recovery_point"]}],
        "properties": {
            "name": {"description": "Gate name; derived when absent.", "type": "string"},
            "max_failed_checks": {
                "description": "At most this many failed checks of `probe` (or of all probes).",
                "type": "integer",
                "minimum": 0
            },
            "probe": {"$ref": "#/$defs/probeRef", "description": "Only with `max_failed_checks`."},
            "max_findings": {
                "description": "At most this many findings of at least `severity`.",
                "type": "integer",
                "minimum": 0
            },
            "severity": {
                "description": "Only with `max_findings`.",
                "enum": ["info", "low", "medium", "high"],
                "default": "medium"
            },
            "max_unavailability": {
                "$ref": "#/$defs/duration",
                "description": "The longest run of failed requests of `monitor` (or of any monitor) lasts at most this long."
            },
            "max_failed_requests": {
                "description": "At most this many failed requests of `monitor` (or of all monitors).",
                "type": "integer",
                "minimum": 0
            },
            "lost_writes": {
                "description": "At most this many acknowledged writes of `monitor` (or of all writer monitors) missing after the move. Present with limit 0 whenever a monitor tracks writes.",
                "type": "integer",
                "minimum": 0
            },
            "split_writes": {
                "description": "At most this many writes that reached the old database after the cutover. Present with limit 0 whenever a monitor tracks writes.",
                "type": "integer",
                "minimum": 0
            },
            "p99_latency": {
                "description": "The p99 latency after the change is at most this many times the p99 before it.",
                "type": "number",
                "exclusiveMinimum": 0
            },
            "recovery_point": {
                "$ref": "#/$defs/duration",
                "description": "Every restore lost at most this much data, in time: from the start of the last backup that reached the store (or the oldest lost write, if earlier) to the loss. With it, lost writes are judged by this gate instead of the default `lost_writes: 0`."
            },
            "monitor": {"$ref": "#/$defs/monitorRef", "description": "Only with the monitor gates."}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::*;

    /// Each key list of the parser and the schema object that must describe it.
    const OBJECTS: &[(&[&str], &str)] = &[
        (SCENARIO_KEYS, "/properties"),
        (HOST_KEYS, "/$defs/host/properties"),
        (
            HOST_FILE_KEYS,
            "/$defs/host/properties/files/items/properties",
        ),
        (FILE_LIMITS_KEYS, "/properties/file_limits/properties"),
        (DRILL_KEYS, "/properties/drill/properties"),
        (
            DRILL_DATA_KEYS,
            "/properties/drill/properties/data/properties",
        ),
        (PROBE_KEYS, "/$defs/probe/properties"),
        (RETRY_KEYS, "/$defs/retry/properties"),
        (HTTP_KEYS, "/$defs/http/properties"),
        (HTTP_EXPECT_KEYS, "/$defs/httpExpect/properties"),
        (TCP_KEYS, "/$defs/tcp/properties"),
        (EXEC_PROBE_KEYS, "/$defs/execProbe/properties"),
        (EXEC_EXPECT_KEYS, "/$defs/execExpect/properties"),
        (MONITOR_KEYS, "/$defs/monitor/properties"),
        (WRITES_KEYS, "/$defs/writes/properties"),
        (TOKEN_QUERY_KEYS, "/$defs/tokenQuery/properties"),
        (GATE_KEYS, "/$defs/gate/properties"),
    ];

    #[test]
    fn schema_properties_match_the_parser_keys() {
        let schema = json_schema(crate::runner::step_kinds());
        for (keys, pointer) in OBJECTS {
            let properties = schema
                .pointer(pointer)
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("no object at {pointer}"));
            let mut in_schema: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut in_parser = keys.to_vec();
            in_schema.sort_unstable();
            in_parser.sort_unstable();
            assert_eq!(in_schema, in_parser, "keys of {pointer}");
        }
    }

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
        for dir in ["scenarios", "tests/scenarios"] {
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
}
