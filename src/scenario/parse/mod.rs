//! Scenario YAML → validated [`Scenario`], reporting every problem at once.
//!
//! Decoding never stops at the first mistake: a field that fails is reported
//! and replaced by its default so the rest of the file is still checked. The
//! result is an error as soon as anything was reported.

mod drill;
mod gates;
mod hosts;
mod names;
mod probes;
mod refs;
mod steps;

use drill::*;
pub use gates::*;
use hosts::*;
pub use names::*;
pub use probes::*;
pub use refs::*;
pub use steps::*;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::env::{self, UnsetEnv};
use super::model::*;
use super::step::{StepInput, StepKinds, StepSequence};
use crate::redact::Redactor;
use crate::yaml::{Decoder, Diagnostics, MapDecoder, Mark, Node, closest, load, one_of};

pub(crate) const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "hosts",
    "probes",
    "monitors",
    "steps",
    "gates",
    "allow_files_outside",
    "file_limits",
    "drill",
];
pub(crate) const DRILL_KEYS: &[&str] = &["briefing", "checks", "hints", "data", "reboot"];
pub(crate) const DRILL_DATA_KEYS: &[&str] = &["host", "count", "from", "before", "max_loss"];
pub(crate) const FILE_LIMITS_KEYS: &[&str] = &["per_file", "total"];
pub(crate) const HOST_FILE_KEYS: &[&str] = &["src", "dest", "mode"];
pub(crate) const MONITOR_KEYS: &[&str] = &["http", "rate", "marker_header", "writes"];
pub(crate) const WRITES_KEYS: &[&str] = &["field", "serving", "old"];
pub(crate) const TOKEN_QUERY_KEYS: &[&str] = &["host", "command"];
pub(crate) const HOST_KEYS: &[&str] = &[
    "image", "init", "aliases", "memory", "cpus", "pids", "env", "files",
];
pub(crate) const PROBE_KEYS: &[&str] = &["http", "tcp", "exec", "retry"];
pub(crate) const PROBE_KINDS: &[&str] = &["http", "tcp", "exec"];
pub(crate) const RETRY_KEYS: &[&str] = &["interval", "deadline"];
pub(crate) const HTTP_KEYS: &[&str] = &[
    "host", "url", "port", "path", "vhost", "method", "timeout", "expect",
];
pub(crate) const HTTP_EXPECT_KEYS: &[&str] = &[
    "status",
    "status_below",
    "body_contains",
    "body_regex",
    "headers",
];
pub(crate) const TCP_KEYS: &[&str] = &["host", "port", "timeout"];
pub(crate) const EXEC_PROBE_KEYS: &[&str] = &["host", "command", "timeout", "expect"];
pub(crate) const EXEC_EXPECT_KEYS: &[&str] = &["exit_code", "stdout_contains", "stderr_contains"];
pub(crate) const GATE_KEYS: &[&str] = &[
    "name",
    "max_failed_checks",
    "probe",
    "max_findings",
    "severity",
    "max_unavailability",
    "max_failed_requests",
    "lost_writes",
    "split_writes",
    "p99_latency",
    "recovery_point",
    "monitor",
];
pub(crate) const GATE_KINDS: &[&str] = &[
    "max_failed_checks",
    "max_findings",
    "max_unavailability",
    "max_failed_requests",
    "lost_writes",
    "split_writes",
    "p99_latency",
    "recovery_point",
];

const INITS: &[(&str, Init)] = &[("systemd", Init::Systemd), ("none", Init::None)];
const METHODS: &[(&str, HttpMethod)] = &[
    ("GET", HttpMethod::Get),
    ("HEAD", HttpMethod::Head),
    ("POST", HttpMethod::Post),
];
const SEVERITIES: &[(&str, Severity)] = &[
    ("info", Severity::Info),
    ("low", Severity::Low),
    ("medium", Severity::Medium),
    ("high", Severity::High),
];

/// Longest command text kept in a derived step name.
const STEP_NAME_COMMAND_CHARS: usize = 40;

/// Parses and validates a scenario. `path` is only used in messages and kept in
/// [`Scenario::path`]; the caller reads the file.
///
/// `${env:NAME}` placeholders are kept as they are; [`parse_with_env`] substitutes them.
pub fn parse(path: &Path, source: &str, kinds: &StepKinds) -> Result<Scenario, Diagnostics> {
    parse_with_env(path, source, kinds, &|_| None, UnsetEnv::Keep)
}

/// Like [`parse`], with every `${env:NAME}` placeholder replaced by what `lookup`
/// gives for `NAME` (the caller passes the process environment). The values become
/// [`Scenario::secrets`]; diagnostics never show them.
pub fn parse_with_env(
    path: &Path,
    source: &str,
    kinds: &StepKinds,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
) -> Result<Scenario, Diagnostics> {
    let mut root = load(source).map_err(|error| Diagnostics::new(path, source, vec![error]))?;
    let found = env::substitute(&mut root, source, lookup, unset);
    let decoder = Decoder::new();
    for error in found.errors {
        decoder.report(error);
    }
    let scenario = decode_scenario(&decoder, &root, path, kinds).map(|mut scenario| {
        scenario.secrets = found.secrets.clone();
        scenario.unset_env = found.unset;
        scenario
    });
    decoder
        .finish(path, source, scenario)
        .map_err(|mut diagnostics| {
            // A value that failed validation may be quoted in its message.
            let redactor = Redactor::new(&found.secrets);
            for error in &mut diagnostics.errors {
                redactor.redact_string(&mut error.message);
                if let Some(help) = &mut error.help {
                    redactor.redact_string(help);
                }
            }
            diagnostics
        })
}

fn decode_scenario(
    d: &Decoder,
    root: &Spanned<Node>,
    path: &Path,
    kinds: &StepKinds,
) -> Option<Scenario> {
    let m = d.map(root, "the scenario", SCENARIO_KEYS)?;
    let name = m.required_str_where("name", check_scenario_name);
    let description = m.opt_str("description");
    let hosts_node = m.required("hosts");
    let refs = Refs {
        hosts: key_names(hosts_node),
        probes: key_names(m.opt("probes")),
        monitors: key_names(m.opt("monitors")),
    };
    let allow_files_outside = m.opt_bool("allow_files_outside").unwrap_or(false);
    let file_limits = m
        .opt("file_limits")
        .map(|node| decode_file_limits(d, node))
        .unwrap_or_default();
    let hosts = hosts_node
        .map(|node| decode_hosts(d, node, allow_files_outside))
        .unwrap_or_default();
    let probes = m
        .opt("probes")
        .map(|node| decode_probes(d, node, &refs))
        .unwrap_or_default();
    let monitors = m
        .opt("monitors")
        .map(|node| decode_monitors(d, node, &refs))
        .unwrap_or_default();
    let steps = m
        .required("steps")
        .map(|node| decode_steps(d, node, &refs, kinds))
        .unwrap_or_default();
    let gates = m
        .opt("gates")
        .map(|node| decode_gates(d, node, &refs))
        .unwrap_or_default();
    let drill = m
        .opt("drill")
        .and_then(|node| decode_drill(d, node, &refs, &steps));
    Some(Scenario {
        name: name?,
        description,
        path: path.to_path_buf(),
        hosts,
        probes,
        monitors,
        steps,
        gates,
        drill,
        allow_files_outside,
        file_limits,
        secrets: Vec::new(),
        unset_env: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
