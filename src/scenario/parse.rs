//! Scenario YAML → validated [`Scenario`], reporting every problem at once.
//!
//! Decoding never stops at the first mistake: a field that fails is reported
//! and replaced by its default so the rest of the file is still checked. The
//! result is an error as soon as anything was reported.

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
pub const DATABASE_KINDS: &[&str] = &["mariadb", "postgresql"];
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

// ---------------------------------------------------------------- drill

fn decode_drill(d: &Decoder, node: &Spanned<Node>, refs: &Refs, steps: &[Step]) -> Option<Drill> {
    let m = d.map(node, "`drill`", DRILL_KEYS)?;
    let briefing = m.required_str("briefing");
    let checks = m.required("checks").and_then(|node| {
        let items = one_or_many(node);
        if items.is_empty() {
            d.error_with_help(
                Mark::of(node),
                "`checks` of `drill` must name at least one probe",
                "name the probes that pass once the trainee has repaired the stack",
            );
            return None;
        }
        let checks: Vec<String> = items
            .iter()
            .filter_map(|item| refs.probe(d, item, "`checks` of `drill`"))
            .collect();
        (checks.len() == items.len()).then_some(checks)
    });
    let hints = m.string_or_list("hints");
    let reboot: Vec<String> = m
        .opt("reboot")
        .map(|node| {
            one_or_many(node)
                .iter()
                .filter_map(|item| refs.host(d, item, "`reboot` of `drill`"))
                .collect()
        })
        .unwrap_or_default();
    let data = m
        .opt("data")
        .map(|node| decode_drill_data(d, node, refs, steps));
    Some(Drill {
        briefing: briefing?,
        checks: checks?,
        hints,
        reboot,
        data: match data {
            Some(data) => Some(data?),
            None => None,
        },
    })
}

fn decode_drill_data(
    d: &Decoder,
    node: &Spanned<Node>,
    refs: &Refs,
    steps: &[Step],
) -> Option<DrillData> {
    let what = "`data` of `drill`";
    let m = d.map(node, what, DRILL_DATA_KEYS)?;
    let host = m.required("host").and_then(|node| refs.host(d, node, what));
    let count = m.required("count").and_then(|node| decode_command(d, node));
    let from = m.opt("from").map(|node| refs.host(d, node, what));
    let max_loss = m.opt_int_in("max_loss", 0..=i64::MAX).unwrap_or(0) as u64;
    let before = match m.opt("before") {
        None => Some(0),
        Some(node) => {
            let name = d.str(node, "`before`")?;
            let found = steps.iter().position(|step| step.name == name);
            if found.is_none() {
                let help = match closest(&name, steps.iter().map(|s| s.name.as_str())) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "the steps are {}",
                        one_of(steps.iter().map(|s| s.name.as_str()))
                    ),
                };
                d.error_with_help(
                    Mark::of(node),
                    format!("unknown step `{name}` in `before` of {what}"),
                    help,
                );
            }
            found
        }
    };
    Some(DrillData {
        host: host?,
        count: count?,
        from: match from {
            Some(from) => Some(from?),
            None => None,
        },
        before: before?,
        max_loss,
    })
}

/// Names that probes and steps may refer to. Taken from the map keys, so a host
/// with a mistake inside is still a valid reference (no second, spurious error).
#[derive(Debug)]
pub struct Refs {
    hosts: Vec<String>,
    probes: Vec<String>,
    monitors: Vec<String>,
}

impl Refs {
    pub fn host(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "host", &self.hosts, context)
    }

    pub fn probe(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "probe", &self.probes, context)
    }

    /// A probe name or a list of them; the ones that exist.
    pub fn probes(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Vec<String> {
        one_or_many(node)
            .iter()
            .filter_map(|item| self.probe(d, item, context))
            .collect()
    }

    pub fn monitor(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "monitor", &self.monitors, context)
    }
}

fn key_names(node: Option<&Spanned<Node>>) -> Vec<String> {
    match node.map(|node| &node.value) {
        Some(Node::Map(entries)) => entries.iter().map(|(key, _)| key.value.clone()).collect(),
        _ => Vec::new(),
    }
}

/// A reference by name to a host or probe, which must exist.
fn resolve(
    d: &Decoder,
    node: &Spanned<Node>,
    noun: &str,
    known: &[String],
    context: &str,
) -> Option<String> {
    let name = d.str(node, &format!("`{noun}`"))?;
    if known.contains(&name) {
        return Some(name);
    }
    let help = match closest(&name, known.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None if known.is_empty() => format!("no {noun}s are defined"),
        None => format!(
            "defined {noun}s: {}",
            one_of(known.iter().map(String::as_str))
        ),
    };
    d.error_with_help(
        Mark::of(node),
        format!("unknown {noun} `{name}` in {context}"),
        help,
    );
    None
}

/// A string alone or a list of them, as the nodes to decode.
pub fn one_or_many(node: &Spanned<Node>) -> Vec<&Spanned<Node>> {
    match &node.value {
        Node::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

// ---------------------------------------------------------------- hosts

fn decode_hosts(d: &Decoder, node: &Spanned<Node>, allow_outside: bool) -> Vec<Host> {
    let Some(m) = d.open_map(node, "`hosts`") else {
        return Vec::new();
    };
    if m.is_empty() {
        d.error(m.mark(), "`hosts` must define at least one host");
    }
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_host_name);
            decode_host(d, &name.value, value, allow_outside)
        })
        .collect()
}

fn decode_host(d: &Decoder, name: &str, node: &Spanned<Node>, allow_outside: bool) -> Option<Host> {
    let what = format!("host `{name}`");
    let m = d.map(node, &what, HOST_KEYS)?;
    // Every field is decoded before `?` so that one missing value does not hide
    // the mistakes in the others.
    let image = m.required_str_where("image", check_recipe_name);
    let init = m.opt_choice("init", INITS).unwrap_or_default();
    let aliases = m.opt("aliases").map(|node| decode_aliases(d, node));
    let memory = m.opt_byte_size("memory");
    let cpus = m.opt_positive_number("cpus");
    let pids = m.opt_int_in("pids", 16..=1_000_000);
    let env = m.opt("env").map(|node| decode_env(d, node, &what));
    let files = m
        .opt("files")
        .map(|node| decode_host_files(d, node, &what, allow_outside));
    Some(Host {
        name: name.to_string(),
        image: image?,
        init,
        aliases: aliases.unwrap_or_default(),
        memory,
        cpus,
        pids,
        env: env.unwrap_or_default(),
        files: files.unwrap_or_default(),
    })
}

fn decode_file_limits(d: &Decoder, node: &Spanned<Node>) -> FileLimits {
    let Some(m) = d.map(node, "`file_limits`", FILE_LIMITS_KEYS) else {
        return FileLimits::default();
    };
    FileLimits {
        per_file: m
            .opt_byte_size("per_file")
            .unwrap_or(FileLimits::DEFAULT_PER_FILE),
        total: m
            .opt_byte_size("total")
            .unwrap_or(FileLimits::DEFAULT_TOTAL),
    }
}

fn decode_host_files(
    d: &Decoder,
    node: &Spanned<Node>,
    host: &str,
    allow_outside: bool,
) -> Vec<HostFile> {
    d.list_of(node, "`files`", |index, item| {
        let m = d.map(item, &format!("file {} of {host}", index + 1), HOST_FILE_KEYS)?;
        let src = m.required("src").and_then(|node| {
            let src = d.str(node, "`src`")?;
            match check_local_source(&src, allow_outside) {
                Ok(()) => Some(src),
                Err(message) => {
                    d.error_with_help(
                        Mark::of(node),
                        message,
                        "name a file inside the scenario's folder, or set `allow_files_outside: true` at the top of the scenario",
                    );
                    None
                }
            }
        });
        let dest = m.required_str_where("dest", check_host_destination);
        let mode = m
            .opt("mode")
            .map(|node| d.mode(node));
        Some(HostFile {
            src: src?.into(),
            dest: dest?,
            mode: match mode {
                Some(mode) => mode?,
                None => 0o644,
            },
        })
    })
    .unwrap_or_default()
}

/// Relative to the scenario's folder and not leaving it, unless allowed.
fn check_local_source(src: &str, allow_outside: bool) -> Result<(), String> {
    if src.is_empty() {
        return Err("`src` must name a file".into());
    }
    if allow_outside {
        return Ok(());
    }
    if src.starts_with('/') {
        return Err(format!(
            "invalid `src` `{src}`: expected a path relative to the scenario's folder"
        ));
    }
    if src.split('/').any(|part| part == "..") {
        return Err(format!(
            "invalid `src` `{src}`: `..` would leave the scenario's folder"
        ));
    }
    Ok(())
}

fn check_host_destination(dest: &str) -> Result<(), String> {
    if !dest.starts_with('/') || dest.ends_with('/') {
        return Err(format!(
            "invalid `dest` `{dest}`: expected the absolute path of a file in the host"
        ));
    }
    if dest.split('/').any(|part| part == "..") {
        return Err(format!("invalid `dest` `{dest}`: contains `..`"));
    }
    Ok(())
}

fn decode_aliases(d: &Decoder, node: &Spanned<Node>) -> Vec<String> {
    d.list_of(node, "`aliases`", |_, item| {
        d.str_where(item, "an item of `aliases`", check_hostname)
    })
    .unwrap_or_default()
}

fn decode_env(d: &Decoder, node: &Spanned<Node>, host: &str) -> Vec<(String, String)> {
    let Some(m) = d.open_map(node, &format!("`env` of {host}")) else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(key, value)| {
            check_key_name(d, key, check_env_name);
            let text = d.scalar_text(value, &format!("`{}`", key.value))?;
            Some((key.value.clone(), text))
        })
        .collect()
}

// ---------------------------------------------------------------- probes

fn decode_monitors(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Monitor> {
    let Some(m) = d.open_map(node, "`monitors`") else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_probe_name);
            decode_monitor(d, &name.value, value, refs)
        })
        .collect()
}

fn decode_monitor(d: &Decoder, name: &str, node: &Spanned<Node>, refs: &Refs) -> Option<Monitor> {
    let what = format!("monitor `{name}`");
    let m = d.map(node, &what, MONITOR_KEYS)?;
    let http = m
        .required("http")
        .and_then(|node| decode_http(d, node, &what, refs));
    let rate = m.opt_int_in("rate", 1..=20_000).unwrap_or(200);
    let marker_header = m
        .opt_str("marker_header")
        .map(|header| header.to_ascii_lowercase());
    let writes = m
        .opt("writes")
        .and_then(|node| decode_writes(d, node, &what, refs));
    let http = http?;
    if writes.is_some() && http.method != HttpMethod::Post {
        d.error_with_help(
            m.key("writes").map_or(m.mark(), Mark::of_key),
            format!("{what} tracks writes but its requests are not POSTs"),
            "add `method: POST` to its `http`: the write token goes in the request body",
        );
    }
    Some(Monitor {
        name: name.to_string(),
        http,
        rate: rate as u32,
        marker_header,
        writes,
    })
}

fn decode_writes(
    d: &Decoder,
    node: &Spanned<Node>,
    monitor: &str,
    refs: &Refs,
) -> Option<WriteTracking> {
    let what = format!("`writes` of {monitor}");
    let m = d.map(node, &what, WRITES_KEYS)?;
    let field = m.opt_str_where("field", |field| {
        is_word(
            field,
            |c| c.is_ascii_alphabetic(),
            |c| c.is_ascii_alphanumeric() || c == '_',
            63,
        )
        .then_some(())
        .ok_or_else(|| format!("invalid form field `{field}`: expected letters, digits and `_`"))
    });
    let serving = m
        .required("serving")
        .and_then(|node| decode_token_query(d, node, &format!("`serving` of {what}"), refs));
    let old = m
        .opt("old")
        .and_then(|node| decode_token_query(d, node, &format!("`old` of {what}"), refs));
    Some(WriteTracking {
        field: field.unwrap_or_else(|| "token".into()),
        serving: serving?,
        old,
    })
}

fn decode_token_query(
    d: &Decoder,
    node: &Spanned<Node>,
    what: &str,
    refs: &Refs,
) -> Option<TokenQuery> {
    let m = d.map(node, what, TOKEN_QUERY_KEYS)?;
    let host = m.required("host").and_then(|node| refs.host(d, node, what));
    let command = m
        .required("command")
        .and_then(|node| decode_command(d, node));
    Some(TokenQuery {
        host: host?,
        command: command?,
    })
}

pub fn check_snapshot_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid snapshot name `{name}`: expected lowercase letters, digits, `-`, `.` and `_`"
        ))
    }
}

pub fn check_absolute_path(path: &str) -> Result<(), String> {
    path.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("`{path}` is not an absolute path"))
}

/// A systemd unit name: `apache2`, `mariadb.service`, `getty@tty1.service`.
pub fn check_unit_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c),
        255,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid unit name `{name}`: expected a systemd unit like `apache2` or `mariadb.service`"
        ))
    }
}

/// A Debian package name, optionally with an architecture (`libc6:amd64`).
pub fn check_package_name(name: &str) -> Result<(), String> {
    if name.len() >= 2
        && is_word(
            name,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-:".contains(c),
            127,
        )
    {
        Ok(())
    } else {
        Err(format!(
            "invalid package name `{name}`: expected a Debian package name like `apache2`"
        ))
    }
}

/// Two hosts of a step that must differ; the second one's key is `second`.
pub fn distinct_hosts(
    m: &MapDecoder<'_>,
    first: Option<String>,
    second: Option<String>,
    second_key: &str,
    step: &str,
) -> Option<(String, String)> {
    let (first, second) = (first?, second?);
    if first == second {
        if let Some(key) = m.key(second_key) {
            m.decoder().error(
                Mark::of_key(key),
                format!(
                    "`host` and `{second_key}` of {step} are the same host: a backup kept on the host is lost with it"
                ),
            );
        }
        return None;
    }
    Some((first, second))
}

/// The `from` and `to` hosts of a move, which must differ.
pub fn two_hosts(
    m: &MapDecoder<'_>,
    from: Option<String>,
    to: Option<String>,
    step: &str,
) -> Option<(String, String)> {
    let (from, to) = (from?, to?);
    if from == to {
        if let Some(key) = m.key("to") {
            m.decoder().error(
                Mark::of_key(key),
                format!("`from` and `to` of {step} are the same host"),
            );
        }
        return None;
    }
    Some((from, to))
}

pub fn check_copied_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` is not an absolute path"));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!("`{path}` contains `..`"));
    }
    if path.trim_end_matches('/').is_empty() {
        return Err("`/` cannot be copied: name the application's directories".into());
    }
    Ok(())
}

pub fn check_database_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid database name `{name}`: expected letters, digits, `_` and `-`"
        ))
    }
}

fn decode_probes(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Probe> {
    let Some(m) = d.open_map(node, "`probes`") else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_probe_name);
            decode_probe(d, &name.value, value, refs)
        })
        .collect()
}

fn decode_probe(d: &Decoder, name: &str, node: &Spanned<Node>, refs: &Refs) -> Option<Probe> {
    let what = format!("probe `{name}`");
    let m = d.map(node, &what, PROBE_KEYS)?;
    let retry = m
        .opt("retry")
        .map(|node| decode_retry(d, node, &what))
        .unwrap_or_default();
    let (kind, body) = m.kind(PROBE_KINDS, "probe kind")?;
    let kind = match kind {
        "http" => decode_http(d, body, &what, refs).map(ProbeKind::Http),
        "tcp" => decode_tcp(d, body, &what, refs).map(ProbeKind::Tcp),
        _ => decode_exec_probe(d, body, &what, refs).map(ProbeKind::Exec),
    };
    Some(Probe {
        name: name.to_string(),
        kind: kind?,
        retry,
    })
}

fn decode_retry(d: &Decoder, node: &Spanned<Node>, probe: &str) -> Retry {
    let Some(m) = d.map(node, &format!("`retry` of {probe}"), RETRY_KEYS) else {
        return Retry::default();
    };
    let default = Retry::default();
    let retry = Retry {
        interval: m.opt_duration("interval").unwrap_or(default.interval),
        deadline: m.opt_duration("deadline").unwrap_or(default.deadline),
    };
    if retry.interval > retry.deadline {
        let at = m.get("interval").map_or(m.mark(), Mark::of);
        d.error(
            at,
            format!(
                "`interval` ({}) is longer than `deadline` ({}) in {probe}",
                humantime::format_duration(retry.interval),
                humantime::format_duration(retry.deadline)
            ),
        );
    }
    retry
}

fn decode_http(d: &Decoder, node: &Spanned<Node>, probe: &str, refs: &Refs) -> Option<HttpProbe> {
    let m = d.map(node, &format!("`http` of {probe}"), HTTP_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let mut port = opt_port(&m);
    let mut path = m.opt_str_where("path", check_http_path);
    let mut vhost = m.opt_str_where("vhost", check_hostname);
    if let Some(url) = m.opt_str_where("url", |u| parse_http_url(u).map(|_| ())) {
        for key in ["port", "path", "vhost"] {
            if let Some(k) = m.key(key) {
                d.error_with_help(
                    Mark::of_key(k),
                    format!("`{key}` and `url` both given in `http` of {probe}"),
                    "keep one: `url` already sets the virtual host, port and path",
                );
            }
        }
        if let Ok((name, url_port, url_path)) = parse_http_url(&url) {
            vhost = Some(name);
            port = Some(url_port);
            path = Some(url_path);
        }
    }
    let method = m.opt_choice("method", METHODS).unwrap_or_default();
    let timeout = m.opt_duration("timeout");
    let expect = m
        .opt("expect")
        .map(|node| decode_http_expect(d, node, probe));
    Some(HttpProbe {
        host: host?,
        port: port.unwrap_or(80),
        path: path.unwrap_or_else(|| "/".into()),
        vhost,
        method,
        timeout: timeout.unwrap_or(Duration::from_secs(5)),
        expect: expect.unwrap_or_default(),
    })
}

fn decode_http_expect(d: &Decoder, node: &Spanned<Node>, probe: &str) -> HttpExpect {
    let Some(m) = d.map(node, &format!("`expect` of {probe}"), HTTP_EXPECT_KEYS) else {
        return HttpExpect::default();
    };
    let status = m
        .opt_int_in("status", 100..=599)
        .and_then(|code| u16::try_from(code).ok());
    let status_below = m
        .opt_int_in("status_below", 101..=600)
        .and_then(|code| u16::try_from(code).ok());
    if let (Some(_), Some(_)) = (status, status_below)
        && let Some(node) = m.opt("status_below")
    {
        d.error_with_help(
            Mark::of(node),
            format!("`status` and `status_below` both given in `expect` of {probe}"),
            "keep one: `status` wants exactly that code, `status_below` any code below it",
        );
    }
    let headers = m
        .opt("headers")
        .map(|node| decode_headers(d, node, probe))
        .unwrap_or_default();
    HttpExpect {
        status: status.unwrap_or(200),
        status_below,
        body_contains: m.string_or_list("body_contains"),
        body_regex: m.opt_str_where("body_regex", check_regex),
        headers,
    }
}

fn decode_headers(d: &Decoder, node: &Spanned<Node>, probe: &str) -> Vec<(String, String)> {
    let Some(m) = d.open_map(node, &format!("`headers` of {probe}")) else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_header_name);
            let text = d.scalar_text(value, &format!("header `{}`", name.value))?;
            Some((name.value.to_ascii_lowercase(), text))
        })
        .collect()
}

fn decode_tcp(d: &Decoder, node: &Spanned<Node>, probe: &str, refs: &Refs) -> Option<TcpProbe> {
    let m = d.map(node, &format!("`tcp` of {probe}"), TCP_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let port = m.required("port").and_then(|_| opt_port(&m));
    let timeout = m.opt_duration("timeout");
    Some(TcpProbe {
        host: host?,
        port: port?,
        timeout: timeout.unwrap_or(Duration::from_secs(5)),
    })
}

fn decode_exec_probe(
    d: &Decoder,
    node: &Spanned<Node>,
    probe: &str,
    refs: &Refs,
) -> Option<ExecProbe> {
    let m = d.map(node, &format!("`exec` of {probe}"), EXEC_PROBE_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let command = m
        .required("command")
        .and_then(|node| decode_command(d, node));
    let timeout = m.opt_duration("timeout");
    let expect = m
        .opt("expect")
        .map(|node| decode_exec_expect(d, node, probe));
    Some(ExecProbe {
        host: host?,
        command: command?,
        timeout: timeout.unwrap_or(Duration::from_secs(30)),
        expect: expect.unwrap_or_default(),
    })
}

fn opt_port(m: &MapDecoder<'_>) -> Option<u16> {
    m.opt_int_in("port", 1..=65535)
        .and_then(|port| u16::try_from(port).ok())
}

/// A shell line (run with `sh -c`) or a non-empty argument list.
pub fn decode_command(d: &Decoder, node: &Spanned<Node>) -> Option<Command> {
    match &node.value {
        Node::Str(line) if line.trim().is_empty() => {
            d.error(Mark::of(node), "`command` must not be empty");
            None
        }
        Node::Str(line) => Some(Command::Shell(line.clone())),
        Node::Seq(items) if items.is_empty() => {
            d.error(Mark::of(node), "`command` must not be an empty list");
            None
        }
        Node::Seq(_) => {
            let argv = d.list_of(node, "`command`", |_, item| {
                d.str(item, "an argument of `command`")
            })?;
            Some(Command::Argv(argv))
        }
        _ => {
            d.wrong_type(node, "a shell line or a list of arguments", "`command`");
            None
        }
    }
}

pub fn decode_exec_expect(d: &Decoder, node: &Spanned<Node>, owner: &str) -> ExecExpect {
    let Some(m) = d.map(node, &format!("`expect` of {owner}"), EXEC_EXPECT_KEYS) else {
        return ExecExpect::default();
    };
    ExecExpect {
        exit_code: m.opt_int_in("exit_code", 0..=255).unwrap_or(0),
        stdout_contains: m.string_or_list("stdout_contains"),
        stderr_contains: m.string_or_list("stderr_contains"),
    }
}

// ---------------------------------------------------------------- steps

/// A decoded step and, when its name was written in the file, where.
struct NamedStep {
    step: Step,
    explicit_name: Option<Mark>,
}

fn decode_steps(d: &Decoder, node: &Spanned<Node>, refs: &Refs, kinds: &StepKinds) -> Vec<Step> {
    let Some(items) = d.seq(node, "`steps`") else {
        return Vec::new();
    };
    if items.is_empty() {
        d.error(Mark::of(node), "`steps` must have at least one step");
    }
    let decoded: Vec<Option<NamedStep>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| decode_step(d, index, item, refs, kinds))
        .collect();
    let (kept_items, steps): (Vec<Spanned<Node>>, Vec<NamedStep>) = items
        .iter()
        .zip(decoded)
        .filter_map(|(item, step)| step.map(|s| (item.clone(), s)))
        .unzip();
    let steps = unique_step_names(d, steps);
    for (index, step) in steps.iter().enumerate() {
        step.kind.check_in_sequence(&StepSequence {
            d,
            steps: &steps,
            items: &kept_items,
            all_items: items,
            index,
        });
    }
    steps
}

fn decode_step(
    d: &Decoder,
    index: usize,
    node: &Spanned<Node>,
    refs: &Refs,
    kinds: &StepKinds,
) -> Option<NamedStep> {
    let number = format!("step {}", index + 1);
    let m = d.map(node, &number, kinds.step_keys())?;
    let name = m.opt_str("name");
    let what = name
        .as_ref()
        .map_or(number, |name| format!("step `{name}`"));
    let timeout = m.opt_duration("timeout");
    let allow_failure = m.opt_bool("allow_failure").unwrap_or(false);
    let (kind, body) = m.kind(kinds.names(), "step kind")?;
    let input = StepInput {
        d,
        what: &what,
        refs,
    };
    let kind = kinds.find(kind)?.decode(&input, body)?;
    Some(NamedStep {
        explicit_name: name.as_ref().and_then(|_| m.get("name")).map(Mark::of),
        step: Step {
            name: name.unwrap_or_else(|| kind.derived_name()),
            timeout: timeout.unwrap_or_else(|| kind.default_timeout()),
            kind,
            allow_failure,
        },
    })
}

pub fn check_release(name: &str) -> Result<(), String> {
    if crate::debian::release::version_of(name).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = crate::debian::release::codenames().collect();
    let hint = closest(name, known.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    Err(format!(
        "unknown Debian release `{name}`: expected one of {}{hint}",
        one_of(known.iter().copied())
    ))
}

pub fn check_mirror_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "invalid mirror `{url}`: expected an http:// or https:// URL"
        ))
    }
}

/// Text cut to fit in a step name derived from it.
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= STEP_NAME_COMMAND_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(STEP_NAME_COMMAND_CHARS - 1).collect();
    format!("{kept}…")
}

/// Written names must be unique (reported); derived ones get a ` (2)` suffix
/// when they repeat, since the user never chose them.
fn unique_step_names(d: &Decoder, steps: Vec<NamedStep>) -> Vec<Step> {
    let mut written: HashMap<String, usize> = HashMap::new();
    for named in &steps {
        let Some(mark) = named.explicit_name else {
            continue;
        };
        let name = &named.step.name;
        match written.get(name) {
            Some(first_line) => d.error_with_help(
                mark,
                format!("duplicate step name `{name}`"),
                format!("step names must be unique; `{name}` is first used on line {first_line}"),
            ),
            None => {
                written.insert(name.clone(), mark.line);
            }
        }
    }
    let mut taken: Vec<String> = written.into_keys().collect();
    steps
        .into_iter()
        .map(|named| {
            let mut step = named.step;
            if named.explicit_name.is_none() {
                step.name = unused_name(&step.name, &taken);
                taken.push(step.name.clone());
            }
            step
        })
        .collect()
}

fn unused_name(base: &str, taken: &[String]) -> String {
    let mut name = base.to_string();
    let mut counter = 2;
    while taken.contains(&name) {
        name = format!("{base} ({counter})");
        counter += 1;
    }
    name
}

// ---------------------------------------------------------------- gates

fn decode_gates(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Gate> {
    d.list_of(node, "`gates`", |index, item| {
        decode_gate(d, index, item, refs)
    })
    .unwrap_or_default()
}

fn decode_gate(d: &Decoder, index: usize, node: &Spanned<Node>, refs: &Refs) -> Option<Gate> {
    let what = format!("gate {}", index + 1);
    let m = d.map(node, &what, GATE_KEYS)?;
    let name = m.opt_str("name");
    let (kind, limit_node) = m.kind(GATE_KINDS, "gate kind")?;
    let kind = match kind {
        "max_failed_checks" => {
            for key in ["severity", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, "`max_failed_checks`", 0..=i64::MAX);
            let probe = m.opt("probe").and_then(|node| refs.probe(d, node, &what));
            GateKind::MaxFailedChecks {
                probe,
                limit: limit?.unsigned_abs(),
            }
        }
        "max_findings" => {
            for key in ["probe", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, "`max_findings`", 0..=i64::MAX);
            let severity = m
                .opt_choice("severity", SEVERITIES)
                .unwrap_or(Severity::Medium);
            GateKind::MaxFindings {
                severity,
                limit: limit?.unsigned_abs(),
            }
        }
        "max_unavailability" => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.duration(limit_node, "`max_unavailability`");
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            GateKind::MaxUnavailability {
                monitor,
                limit: limit?,
            }
        }
        "p99_latency" => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let ratio =
                d.positive_number(limit_node, "`p99_latency` (the largest after/before ratio)");
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            GateKind::P99Latency {
                monitor,
                max_ratio: ratio?,
            }
        }
        "recovery_point" => {
            for key in ["probe", "severity", "monitor"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.duration(limit_node, "`recovery_point`");
            GateKind::RecoveryPoint { limit: limit? }
        }
        counted => {
            for key in ["probe", "severity"] {
                reject_key(&m, key, "another gate kind");
            }
            let limit = d.int_in(limit_node, &format!("`{counted}`"), 0..=i64::MAX);
            let monitor = m
                .opt("monitor")
                .and_then(|node| refs.monitor(d, node, &what));
            let limit = limit?.unsigned_abs();
            match counted {
                "lost_writes" => GateKind::LostWrites { monitor, limit },
                "split_writes" => GateKind::SplitWrites { monitor, limit },
                _ => GateKind::MaxFailedRequests { monitor, limit },
            }
        }
    };
    Some(Gate {
        name: name.unwrap_or_else(|| derived_gate_name(&kind)),
        kind,
    })
}

/// A key that belongs to the other kind of gate.
/// Reports `key` in `m` as one that belongs with another key.
pub fn reject_key(m: &MapDecoder<'_>, key: &str, belongs_to: &str) {
    if let Some(found) = m.key(key) {
        m.decoder().error_with_help(
            Mark::of_key(found),
            format!("`{key}` does not apply to {}", m.what()),
            format!("`{key}` goes with `{belongs_to}`"),
        );
    }
}

fn derived_gate_name(kind: &GateKind) -> String {
    match kind {
        GateKind::MaxFailedChecks {
            probe: Some(probe),
            limit,
        } => {
            format!("max {limit} failed checks of {probe}")
        }
        GateKind::MaxFailedChecks { probe: None, limit } => format!("max {limit} failed checks"),
        GateKind::MaxFindings { severity, limit } => {
            format!(
                "max {limit} findings of severity {} or higher",
                severity.as_str()
            )
        }
        // These names are the report's contract: scripts look gates up by them.
        GateKind::MaxUnavailability { .. } => "max_unavailability".into(),
        GateKind::MaxFailedRequests { .. } => "max_failed_requests".into(),
        GateKind::LostWrites { .. } => "lost_writes".into(),
        GateKind::SplitWrites { .. } => "split_writes".into(),
        GateKind::P99Latency { .. } => "p99_latency".into(),
        GateKind::RecoveryPoint { .. } => "recovery_point".into(),
    }
}

// ---------------------------------------------------------------- names and values

/// Reports a key (a host, probe or header name) that `check` rejects.
fn check_key_name(d: &Decoder, key: &Spanned<String>, check: fn(&str) -> Result<(), String>) {
    if let Err(message) = check(&key.value) {
        d.error(Mark::of_key(key), message);
    }
}

/// Whether `text` is one `first` character then at most `max_rest` `rest` ones.
fn is_word(text: &str, first: fn(char) -> bool, rest: fn(char) -> bool, max_rest: usize) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(first) && chars.clone().all(rest) && chars.count() <= max_rest
}

fn is_lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn check_scenario_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || c == '-',
        39,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid scenario name `{name}`: use lowercase letters, digits and `-`, \
             starting with a letter or digit, at most 40 characters"
        )
    })
}

fn check_host_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        |c| c.is_ascii_lowercase(),
        |c| is_lower_or_digit(c) || c == '-',
        30,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid host name `{name}`: use lowercase letters, digits and `-`, \
             starting with a letter, at most 31 characters"
        )
    })
}

fn check_probe_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || "_.-".contains(c),
        usize::MAX,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid probe name `{name}`: use lowercase letters, digits, `_`, `.` and `-`, \
             starting with a letter or digit"
        )
    })
}

fn check_recipe_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || "._-".contains(c),
        usize::MAX,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid image name `{name}`: use the name of a directory under `images/` \
             (lowercase letters, digits, `.`, `_` and `-`)"
        )
    })
}

fn check_env_name(name: &str) -> Result<(), String> {
    let first = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ok = is_word(
        name,
        first,
        |c| c.is_ascii_alphanumeric() || c == '_',
        usize::MAX,
    );
    ok.then_some(())
        .ok_or_else(|| format!("invalid environment variable name `{name}`"))
}

fn check_header_name(name: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let ok = is_word(name, token, token, usize::MAX);
    ok.then_some(())
        .ok_or_else(|| format!("invalid header name `{name}`"))
}

/// DNS name syntax: dot-separated labels of letters, digits and inner `-`.
pub fn check_hostname(name: &str) -> Result<(), String> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let ok = name.len() <= 253 && name.split('.').all(label_ok);
    ok.then_some(()).ok_or_else(|| {
        format!("invalid host name `{name}`: expected a DNS name like `www.example.test`")
    })
}

/// `http://NAME[:PORT][/PATH]` → (name, port, path). The name becomes the virtual host;
/// the connection still goes to the probe's `host`.
fn parse_http_url(url: &str) -> Result<(String, u16, String), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL `{url}`: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "unsupported URL scheme `{}` in `{url}`: only `http` is probed for now",
            parsed.scheme()
        ));
    }
    let name = parsed
        .host_str()
        .ok_or_else(|| format!("no host name in URL `{url}`"))?
        .to_string();
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    Ok((name, parsed.port().unwrap_or(80), path))
}

fn check_http_path(path: &str) -> Result<(), String> {
    path.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("invalid path `{path}`: it must start with `/`"))
}

fn check_regex(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern).map(|_| ()).map_err(|error| {
        let error = error.to_string();
        // regex's message draws its own caret; keep only its final "error:" line.
        let reason = error
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(error.lines().last().unwrap_or_default());
        format!("invalid regular expression in `body_regex`: {reason}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{BackupStep, ConfigEdit, Fault, LoseHostStep, RevertStep, RevertTarget};
    use crate::yaml::Diagnostic;

    // The tests parse with every kind of the runner, as the CLI does.
    fn parse(path: &Path, source: &str) -> Result<Scenario, Diagnostics> {
        super::parse(path, source, crate::runner::step_kinds())
    }

    fn parse_with_env(
        path: &Path,
        source: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
        unset: UnsetEnv,
    ) -> Result<Scenario, Diagnostics> {
        super::parse_with_env(path, source, crate::runner::step_kinds(), lookup, unset)
    }

    const HEADER: &str = "name: t\nhosts:\n  web:\n    image: static-site\n";

    fn errors(source: &str) -> Vec<Diagnostic> {
        parse(Path::new("t.yaml"), source).unwrap_err().errors
    }

    /// (line, column, width, message, help) of each error, in order.
    fn summary(source: &str) -> Vec<(usize, usize, usize, String, Option<String>)> {
        errors(source)
            .into_iter()
            .map(|e| (e.line, e.column, e.width, e.message, e.help))
            .collect()
    }

    fn only_error(source: &str) -> Diagnostic {
        let mut all = errors(source);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    fn secret_env(name: &str) -> Option<String> {
        (name == "SHOP_TOKEN").then(|| "Tk/9f8e7d".to_string())
    }

    const DRILL_BASE: &str = "name: t\nhosts:\n  web: {image: static-site}\n  old: {image: static-site}\nprobes:\n  site: {http: {host: web, path: /}}\nsteps:\n  - name: break it\n    exec: {host: web, command: x}\n";

    #[test]
    fn status_below_is_decoded_and_not_beside_status() {
        let probe = |expect: &str| {
            format!(
                "{HEADER}probes:\n  site:\n    http: {{host: web, expect: {expect}}}\nsteps:\n  - probe: [site]\n"
            )
        };
        let scenario = parse(Path::new("t.yaml"), &probe("{status_below: 500}")).unwrap();
        let ProbeKind::Http(http) = &scenario.probes[0].kind else {
            panic!("{:?}", scenario.probes[0]);
        };
        assert_eq!(http.expect.status_below, Some(500));
        assert_eq!(
            summary(&probe("{status: 200, status_below: 500}")),
            [(
                7,
                59,
                3,
                "`status` and `status_below` both given in `expect` of probe `site`".to_string(),
                Some(
                    "keep one: `status` wants exactly that code, `status_below` any code below it"
                        .to_string()
                )
            )]
        );
    }

    #[test]
    fn a_drill_section_is_decoded_with_its_defaults() {
        let source = format!(
            "{DRILL_BASE}drill:\n  briefing: the site is down\n  checks: site\n  reboot: web\n  data: {{host: web, from: old, count: 'echo 3', max_loss: 2}}\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap();
        let drill = scenario.drill.unwrap();
        assert_eq!(drill.briefing, "the site is down");
        assert_eq!(drill.checks, ["site"]);
        assert_eq!(drill.reboot, ["web"]);
        assert!(drill.hints.is_empty());
        let data = drill.data.unwrap();
        assert_eq!(
            (
                data.host.as_str(),
                data.from.as_deref(),
                data.before,
                data.max_loss
            ),
            ("web", Some("old"), 0, 2)
        );
    }

    #[test]
    fn drill_mistakes_point_at_the_key_and_suggest_the_fix() {
        let source = format!(
            "{DRILL_BASE}drill:\n  briefing: b\n  checks: [sight]\n  reboot: [wbe]\n  data: {{host: web, count: x, before: brake it}}\n  hint: [a]\n"
        );
        assert_eq!(
            summary(&source),
            [
                (
                    12,
                    12,
                    5,
                    "unknown probe `sight` in `checks` of `drill`".to_string(),
                    Some("defined probes: `site`".to_string())
                ),
                (
                    13,
                    12,
                    3,
                    "unknown host `wbe` in `reboot` of `drill`".to_string(),
                    Some("did you mean `web`?".to_string())
                ),
                (
                    14,
                    39,
                    8,
                    "unknown step `brake it` in `before` of `data` of `drill`".to_string(),
                    Some("did you mean `break it`?".to_string())
                ),
                (
                    15,
                    3,
                    4,
                    "unknown key `hint` in `drill`".to_string(),
                    Some("did you mean `hints`?".to_string())
                ),
            ]
        );
        let missing = format!("{DRILL_BASE}drill:\n  checks: []\n");
        let messages: Vec<String> = errors(&missing).into_iter().map(|e| e.message).collect();
        assert_eq!(
            messages,
            [
                "missing key `briefing` in `drill`",
                "`checks` of `drill` must name at least one probe"
            ]
        );
    }

    #[test]
    fn env_placeholders_are_resolved_and_become_secrets() {
        let source = format!(
            "{HEADER}    env:\n      TOKEN: ${{env:SHOP_TOKEN}}\nsteps:\n  - exec: {{host: web, command: 'echo ${{env:SHOP_TOKEN}}'}}\n"
        );
        let scenario =
            parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse).unwrap();
        assert_eq!(
            scenario.hosts[0].env,
            [("TOKEN".into(), "Tk/9f8e7d".into())]
        );
        let exec = scenario.steps[0]
            .kind
            .get::<crate::runner::ExecStep>()
            .unwrap();
        assert_eq!(exec.command, Command::Shell("echo Tk/9f8e7d".into()));
        assert_eq!(scenario.secrets.len(), 1);
        assert_eq!(scenario.secrets[0].name, "SHOP_TOKEN");
        // Without the environment the placeholder stays, as `check` sees it.
        let kept = parse(Path::new("t.yaml"), &source).unwrap();
        assert!(kept.secrets.is_empty());
        assert_eq!(kept.unset_env.len(), 2);
    }

    #[test]
    fn an_unset_env_variable_is_shown_at_its_placeholder() {
        let source = format!(
            "{HEADER}    env:\n      TOKEN: \"${{env:NOT_SET_HERE}}\"\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
        );
        let error = parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse)
            .unwrap_err()
            .to_string();
        let expected = "\
error: environment variable `NOT_SET_HERE` is not set, but `hosts.web.env.TOKEN` uses it
 --> t.yaml:6:15
  |
6 |       TOKEN: \"${env:NOT_SET_HERE}\"
  |               ^^^^^^^^^^^^^^^^^^^
  |
  = help: set it before running, e.g. `export NOT_SET_HERE=...`

1 error in t.yaml";
        assert_eq!(error, expected);
    }

    #[test]
    fn a_secret_in_an_invalid_value_is_not_shown_in_the_error() {
        let source = format!(
            "{HEADER}    aliases: ['${{env:SHOP_TOKEN}}']\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
        );
        let error = parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("Tk/9f8e7d"), "{error}");
        assert!(error.contains("[redacted:SHOP_TOKEN]"), "{error}");
    }

    #[test]
    fn host_files_limits_and_the_outside_switch() {
        let source = format!(
            "{HEADER}    files:\n      - {{src: conf/shop.conf, dest: /etc/apache2/sites-available/shop.conf}}\n      - {{src: bin/run, dest: /usr/local/bin/run, mode: \"0755\"}}\nfile_limits: {{per_file: 1M}}\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap();
        assert_eq!(
            scenario.hosts[0].files,
            [
                HostFile {
                    src: "conf/shop.conf".into(),
                    dest: "/etc/apache2/sites-available/shop.conf".into(),
                    mode: 0o644
                },
                HostFile {
                    src: "bin/run".into(),
                    dest: "/usr/local/bin/run".into(),
                    mode: 0o755
                }
            ]
        );
        assert_eq!(scenario.file_limits.per_file, 1 << 20);
        assert_eq!(scenario.file_limits.total, FileLimits::DEFAULT_TOTAL);
        assert!(!scenario.allow_files_outside);
    }

    #[test]
    fn host_files_leaving_the_folder_are_refused_unless_allowed() {
        let files = "    files:\n      - {src: ../secret, dest: /a}\n      - {src: /etc/shadow, dest: /b}\n      - {src: ok, dest: relative}\n";
        let steps = "steps: [{exec: {host: web, command: x}}]\n";
        let source = format!("{HEADER}{files}{steps}");
        let found: Vec<String> = errors(&source).into_iter().map(|e| e.message).collect();
        assert_eq!(
            found,
            [
                "invalid `src` `../secret`: `..` would leave the scenario's folder",
                "invalid `src` `/etc/shadow`: expected a path relative to the scenario's folder",
                "invalid `dest` `relative`: expected the absolute path of a file in the host",
            ]
        );
        let allowed = format!("allow_files_outside: true\n{HEADER}{files}{steps}").replacen(
            "dest: relative",
            "dest: /c",
            1,
        );
        let scenario = parse(Path::new("t.yaml"), &allowed).unwrap();
        assert!(scenario.allow_files_outside);
        assert_eq!(scenario.hosts[0].files.len(), 3);
    }

    #[test]
    fn shipped_scenarios_parse() {
        let path = Path::new("scenarios/smoke-static-site.yaml");
        let source = include_str!("../../scenarios/smoke-static-site.yaml");
        let scenario = parse(path, source).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, "smoke-static-site");
        assert_eq!(scenario.path, path);
        assert_eq!(scenario.hosts[0].aliases, ["www.example.test"]);
        assert_eq!(scenario.probes.len(), 3);
        let names: Vec<_> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["baseline", "reboot web", "after reboot"]);
        assert_eq!(scenario.steps[1].timeout, Duration::from_secs(180));

        let source = include_str!("../../scenarios/smoke-broken.yaml");
        let scenario = parse(Path::new("broken.yaml"), source).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.steps[1].name, "exec web: systemctl stop apache2");
    }

    #[test]
    fn monitors_their_steps_and_gates() {
        let source = format!(
            "{HEADER}monitors:\n  site:\n    http: {{host: web, url: 'http://www.example.test/'}}\n    rate: 500\n    marker_header: X-Served-By\nsteps:\n  - monitor: {{start: site}}\n  - monitor: {{stop: [site]}}\ngates:\n  - max_unavailability: 2s\n    monitor: site\n  - max_failed_requests: 0\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let monitor = &scenario.monitors[0];
        assert_eq!(
            (monitor.rate, monitor.marker_header.as_deref()),
            (500, Some("x-served-by"))
        );
        assert_eq!(scenario.steps[0].name, "start monitoring site");
        assert_eq!(scenario.steps[1].name, "stop monitoring site");
        assert_eq!(scenario.gates[0].name, "max_unavailability");
        assert_eq!(
            scenario.gates[0].kind,
            GateKind::MaxUnavailability {
                monitor: Some("site".into()),
                limit: Duration::from_secs(2)
            }
        );
        assert_eq!(scenario.gates[1].name, "max_failed_requests");
        let bad = format!("{HEADER}steps:\n  - monitor: {{start: sight}}\n");
        let found = summary(&bad);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].3, "unknown monitor `sight` in step 1");
    }

    #[test]
    fn writer_monitors_moves_and_their_gates() {
        let source = format!(
            "{HEADER}  new: {{image: static-site}}\nmonitors:\n  orders:\n    http: {{host: web, url: 'http://www.example.test/order.php', method: POST}}\n    rate: 20\n    writes:\n      serving: {{host: new, command: list-orders}}\n      old: {{host: web, command: [list-orders, --all]}}\nsteps:\n  - monitor: {{start: orders}}\n  - migrate: {{from: web, to: new, files: /var/www, databases: [{{mariadb: shop}}, {{postgresql: notes}}]}}\n  - dns-switch: {{to: new, over: 30s}}\n  - drain-check: {{host: web}}\n  - monitor: {{stop: orders}}\ngates:\n  - lost_writes: 0\n  - split_writes: 2\n    monitor: orders\n  - p99_latency: 1.5\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let writes = scenario.monitors[0].writes.as_ref().unwrap();
        assert_eq!(writes.field, "token");
        assert_eq!(writes.serving.host, "new");
        assert_eq!(
            writes.old.as_ref().unwrap().command,
            Command::Argv(vec!["list-orders".into(), "--all".into()])
        );
        let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "start monitoring orders",
                "migrate web → new",
                "dns switch to new over 30s",
                "drain check web",
                "stop monitoring orders"
            ]
        );
        let migrate = scenario.steps[1]
            .kind
            .get::<crate::runner::MigrateStep>()
            .unwrap();
        assert_eq!(migrate.files, ["/var/www"]);
        assert_eq!(
            migrate.databases[1].engine,
            crate::runner::DatabaseEngine::Postgresql
        );
        assert!(migrate.verify);
        let switch = scenario.steps[2]
            .kind
            .get::<crate::runner::DnsSwitchStep>()
            .unwrap();
        assert_eq!(switch.over, Duration::from_secs(30));
        // The switch lasts `over`; its timeout leaves room beyond it.
        assert_eq!(scenario.steps[2].timeout, Duration::from_secs(90));
        let drain = scenario.steps[3]
            .kind
            .get::<crate::runner::DrainCheckStep>()
            .unwrap();
        assert_eq!(
            (drain.log.as_deref(), drain.quiet),
            (None, Duration::from_secs(5))
        );
        let gates: Vec<&str> = scenario.gates.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(gates, ["lost_writes", "split_writes", "p99_latency"]);
        assert_eq!(
            scenario.gates[2].kind,
            GateKind::P99Latency {
                monitor: None,
                max_ratio: 1.5
            }
        );
    }

    #[test]
    fn moves_with_mistakes_are_explained() {
        let source = format!(
            "{HEADER}monitors:\n  orders:\n    http: {{host: web, path: /order.php}}\n    writes: {{serving: {{host: web, command: x}}}}\nsteps:\n  - migrate: {{from: web, to: web, files: [var/www, /srv/../etc]}}\n  - migrate: {{from: web, to: web, databases: [{{mysql: shop}}]}}\n  - dns-switch: {{to: nowhere}}\ngates:\n  - p99_latency: 0\n"
        );
        let messages: Vec<_> = summary(&source)
            .into_iter()
            .map(|(_, _, _, m, help)| (m, help.unwrap_or_default()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "monitor `orders` tracks writes but its requests are not POSTs".to_string(),
                    "add `method: POST` to its `http`: the write token goes in the request body"
                        .to_string()
                ),
                ("`from` and `to` of step 1 are the same host".into(), String::new()),
                ("`var/www` is not an absolute path".into(), String::new()),
                ("`/srv/../etc` contains `..`".into(), String::new()),
                ("`from` and `to` of step 2 are the same host".into(), String::new()),
                (
                    "missing database engine in database 1 of step 2: expected one of `mariadb`, `postgresql`".into(),
                    String::new()
                ),
                (
                    "unknown key `mysql` in database 1 of step 2".into(),
                    "expected one of `mariadb`, `postgresql`".into()
                ),
                (
                    "unknown host `nowhere` in step 3".into(),
                    "defined hosts: `web`".into()
                ),
                (
                    "`p99_latency` (the largest after/before ratio) must be greater than 0, found 0".into(),
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn http_url_sets_vhost_port_and_path() {
        let source = format!(
            "{HEADER}probes:\n  home:\n    http: {{host: web, url: 'http://www.example.test:8080/a/b?c=1'}}\nsteps:\n  - probe: home\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let ProbeKind::Http(http) = &scenario.probes[0].kind else {
            panic!("an http probe")
        };
        assert_eq!(http.vhost.as_deref(), Some("www.example.test"));
        assert_eq!((http.port, http.path.as_str()), (8080, "/a/b?c=1"));
    }

    #[test]
    fn http_url_conflicts_and_bad_schemes_are_explained() {
        let source = format!(
            "{HEADER}probes:\n  home:\n    http: {{host: web, url: 'http://a.test/', port: 81}}\n  tls:\n    http: {{host: web, url: 'https://a.test/'}}\nsteps:\n  - probe: [home, tls]\n"
        );
        let found = summary(&source);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            (found[0].0, found[0].1, found[0].3.as_str()),
            (
                7,
                46,
                "`port` and `url` both given in `http` of probe `home`"
            )
        );
        assert_eq!(found[1].0, 9);
        assert!(
            found[1].3.contains("unsupported URL scheme `https`"),
            "{}",
            found[1].3
        );
    }

    #[test]
    fn full_probe_with_defaults_and_values() {
        let source = format!(
            "{HEADER}probes:
  home:
    http:
      host: web
      method: HEAD
      timeout: 500ms
      expect:
        body_regex: 'Hel+o'
        headers: {{Server: Apache}}
  sh:
    exec: {{host: web, command: [systemctl, is-active, apache2]}}
steps:
  - probe: home
    timeout: 2
    allow_failure: true
gates:
  - max_findings: 0
"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let ProbeKind::Http(http) = &scenario.probes[0].kind else {
            panic!("not http")
        };
        assert_eq!((http.port, http.path.as_str()), (80, "/"));
        assert_eq!(http.method, HttpMethod::Head);
        assert_eq!(http.timeout, Duration::from_millis(500));
        assert_eq!(http.expect.status, 200);
        assert_eq!(http.expect.headers, [("server".into(), "Apache".into())]);
        let ProbeKind::Exec(exec) = &scenario.probes[1].kind else {
            panic!("not exec")
        };
        assert_eq!(exec.timeout, Duration::from_secs(30));
        assert_eq!(
            exec.command.to_argv(),
            ["systemctl", "is-active", "apache2"]
        );
        let step = &scenario.steps[0];
        assert_eq!(
            (step.name.as_str(), step.timeout),
            ("probe home", Duration::from_secs(2))
        );
        assert!(step.allow_failure);
        assert_eq!(
            scenario.gates[0].name,
            "max 0 findings of severity medium or higher"
        );
    }

    #[test]
    fn typo_in_a_key_is_suggested() {
        let error = only_error(
            "name: t\nhosts:\n  web:\n    imgae: static-site\nsteps:\n  - reboot: web\n",
        );
        let at = (error.line, error.column, error.width);
        // The typo and, at the host's map, the key it failed to provide.
        assert_eq!(at, (4, 5, 5));
        assert_eq!(error.message, "unknown key `imgae` in host `web`");
        assert_eq!(error.help.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let source = format!("{HEADER}    aliases: www.example.test\nsteps:\n  - reboot: web\n");
        let error = only_error(&source);
        assert_eq!((error.line, error.column, error.width), (5, 14, 16));
        assert_eq!(
            error.message,
            "expected a list for `aliases`, found a string"
        );
    }

    #[test]
    fn unknown_host_in_a_probe() {
        let source = format!(
            "{HEADER}probes:\n  p80:\n    tcp: {{host: wbe, port: 80}}\nsteps:\n  - probe: p80\n"
        );
        let error = only_error(&source);
        assert_eq!((error.line, error.column, error.width), (7, 17, 3));
        assert_eq!(error.message, "unknown host `wbe` in probe `p80`");
        assert_eq!(error.help.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn unknown_probe_in_a_step() {
        let source = format!(
            "{HEADER}probes:\n  homepage:\n    tcp: {{host: web, port: 80}}\nsteps:\n  - probe: [homepage, homepag]\n"
        );
        let error = only_error(&source);
        assert_eq!((error.line, error.column, error.width), (9, 23, 7));
        assert_eq!(error.message, "unknown probe `homepag` in step 1");
        assert_eq!(error.help.as_deref(), Some("did you mean `homepage`?"));
    }

    #[test]
    fn yaml_syntax_error_is_one_diagnostic() {
        let error = only_error("name: t\nhosts:\n  web: [a, b\n  db: 1\n");
        // Where the unclosed `[` opens, not where the parser stopped.
        assert_eq!((error.line, error.column), (3, 8));
        assert!(
            error.message.starts_with("invalid YAML"),
            "{}",
            error.message
        );
    }

    #[test]
    fn many_errors_are_reported_at_once_in_order() {
        let source = "\
name: Bad_Name
hosts:
  web:
    image: static-site
    init: sysd
probes:
  home:
    http: {host: web, port: 0}
    tcp: {host: web, port: 80}
  quiet:
    retry: {interval: 10s, deadline: 1s}
steps:
  - reboot: db
  - name: twice
    probe: home
  - name: twice
    probe: home
    timeout: 0s
gates:
  - max_failed_checks: -1
    severity: high
colour: blue
";
        let found: Vec<_> = summary(source)
            .into_iter()
            .map(|(l, c, _, m, _)| (l, c, m))
            .collect();
        let expected = [
            (
                1,
                7,
                "invalid scenario name `Bad_Name`: use lowercase letters, digits and `-`, starting with a letter or digit, at most 40 characters",
            ),
            (
                5,
                11,
                "invalid value `sysd` for `init`: expected one of `systemd`, `none`",
            ),
            (8, 29, "`port` must be between 1 and 65535, found 0"),
            (9, 5, "second probe kind `tcp` in probe `home`"),
            (
                11,
                5,
                "missing probe kind in probe `quiet`: expected one of `http`, `tcp`, `exec`",
            ),
            (
                11,
                23,
                "`interval` (10s) is longer than `deadline` (1s) in probe `quiet`",
            ),
            (13, 13, "unknown host `db` in step 1"),
            (16, 11, "duplicate step name `twice`"),
            (18, 14, "`timeout` must be longer than zero"),
            (20, 24, "`max_failed_checks` must be at least 0, found -1"),
            (21, 5, "`severity` does not apply to gate 1"),
            (22, 1, "unknown key `colour` in the scenario"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(l, c, m)| (*l, *c, m.to_string()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn missing_kind_and_keys_are_reported_at_the_map() {
        let found = summary("name: t\nhosts:\n  web:\n    init: none\nsteps:\n  - name: x\n");
        let messages: Vec<_> = found
            .iter()
            .map(|(l, c, _, m, _)| (*l, *c, m.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (4, 5, "missing key `image` in host `web`"),
                (
                    6,
                    5,
                    "missing step kind in step 1: expected one of `probe`, `reboot`, `exec`, `upgrade`, `monitor`, `cutover`, `migrate`, `dns-switch`, `drain-check`, `snapshot`, `rollback`, `backup`, `lose-host`, `restore`, `fault`, `revert`"
                ),
            ]
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let source = format!(
            "{HEADER}    memory: 12Q\n    cpus: 0\n    aliases: [-bad-]\nprobes:\n  h:\n    http:\n      host: web\n      path: index.html\n      expect: {{body_regex: 'Hel(o', status: 700}}\nsteps:\n  - exec: {{host: web, command: ''}}\n"
        );
        let messages: Vec<_> = summary(&source)
            .into_iter()
            .map(|(_, _, _, m, _)| m)
            .collect();
        assert_eq!(
            messages,
            [
                "invalid size `12Q` for `memory`",
                "`cpus` must be greater than 0, found 0",
                "invalid host name `-bad-`: expected a DNS name like `www.example.test`",
                "invalid path `index.html`: it must start with `/`",
                "invalid regular expression in `body_regex`: unclosed group",
                "`status` must be between 100 and 599, found 700",
                "`command` must not be empty",
            ]
        );
    }

    #[test]
    fn derived_step_names_are_made_unique() {
        let source = format!(
            "{HEADER}steps:\n  - reboot: web\n  - reboot: web\n  - exec: {{host: web, command: echo 0123456789012345678901234567890123456789}}\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "reboot web",
                "reboot web (2)",
                "exec web: echo 0123456789012345678901234567890123…"
            ]
        );
    }

    #[test]
    fn rendered_text_of_several_errors() {
        let source = "name: demo\nhosts:\n  web:\n    imgae: static-site\n    init: sysd\nsteps:\n  - probe: homepag\n";
        let rendered = parse(Path::new("scenarios/demo.yaml"), source)
            .unwrap_err()
            .to_string();
        let expected = "\
error: unknown key `imgae` in host `web`
 --> scenarios/demo.yaml:4:5
  |
4 |     imgae: static-site
  |     ^^^^^
  |
  = help: did you mean `image`?

error: invalid value `sysd` for `init`: expected one of `systemd`, `none`
 --> scenarios/demo.yaml:5:11
  |
5 |     init: sysd
  |           ^^^^
  |
  = help: did you mean `systemd`?

error: unknown probe `homepag` in step 1
 --> scenarios/demo.yaml:7:12
  |
7 |   - probe: homepag
  |            ^^^^^^^
  |
  = help: no probes are defined

3 errors in scenarios/demo.yaml";
        assert_eq!(rendered, expected);
    }

    const TWO_HOSTS: &str = "name: t\nhosts:\n  old:\n    image: web-pgsql-bookworm\n  new:\n    image: web-pgsql-bookworm\n";

    #[test]
    fn cutover_server_and_site_file_default_to_none() {
        let source = format!(
            "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test}}\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap();
        let step = scenario.steps[0]
            .kind
            .get::<crate::runner::CutoverStep>()
            .unwrap();
        assert_eq!((step.server, step.vhost_file.as_deref()), (None, None));
    }

    #[test]
    fn cutover_takes_the_web_server() {
        let source = format!(
            "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test, server: nginx, vhost_file: /etc/nginx/sites-enabled/notes}}\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap();
        let step = scenario.steps[0]
            .kind
            .get::<crate::runner::CutoverStep>()
            .unwrap();
        assert_eq!(step.server, Some(WebServer::Nginx));
        assert_eq!(
            step.vhost_file.as_deref(),
            Some("/etc/nginx/sites-enabled/notes")
        );
    }

    #[test]
    fn cutover_with_an_unknown_web_server_suggests_one() {
        let source = format!(
            "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test, server: ngnix}}\n"
        );
        let error = only_error(&source);
        assert_eq!(
            error.message,
            "invalid value `ngnix` for `server`: expected one of `apache`, `nginx`"
        );
        assert_eq!(error.help.as_deref(), Some("did you mean `nginx`?"));
    }

    const WEB_AND_VAULT: &str = "name: t\nhosts:\n  web: {image: lamp-bookworm}\n  vault: {image: lamp-bookworm, init: none}\nprobes:\n  shop: {http: {host: web}}\n";

    #[test]
    fn backups_losses_restores_and_their_gate() {
        let source = format!(
            "{WEB_AND_VAULT}steps:\n  - backup: {{host: web, command: dump-it, path: /var/backups/shop/, to: vault, every: 20s}}\n  - lose-host: web\n  - restore: {{host: web, from: vault, path: /var/backups/shop/, command: [restore-it, --all], count: count-rows, probes: shop}}\n  - backup: {{host: web, command: dump-it, path: /srv/files, to: vault}}\ngates:\n  - recovery_point: 1m\n"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "backup web to vault",
                "lose web",
                "restore web from vault",
                "backup web to vault (2)"
            ]
        );
        let backup = scenario.steps[0]
            .kind
            .get::<crate::runner::BackupStep>()
            .unwrap();
        assert_eq!(
            backup,
            &BackupStep {
                host: "web".into(),
                command: Command::Shell("dump-it".into()),
                path: "/var/backups/shop/".into(),
                to: "vault".into(),
                every: Some(Duration::from_secs(20)),
            }
        );
        assert_eq!(
            scenario.steps[1].kind,
            StepKind::new(LoseHostStep { host: "web".into() })
        );
        let restore = scenario.steps[2]
            .kind
            .get::<crate::runner::RestoreStep>()
            .unwrap();
        assert_eq!(
            restore.command,
            Command::Argv(vec!["restore-it".into(), "--all".into()])
        );
        assert_eq!(restore.count, Some(Command::Shell("count-rows".into())));
        assert_eq!(restore.probes, ["shop"]);
        assert_eq!(scenario.steps[2].timeout, Duration::from_secs(1800));
        let once = scenario.steps[3]
            .kind
            .get::<crate::runner::BackupStep>()
            .unwrap();
        assert_eq!(once.every, None);
        assert_eq!(scenario.gates[0].name, "recovery_point");
        assert_eq!(
            scenario.gates[0].kind,
            GateKind::RecoveryPoint {
                limit: Duration::from_secs(60)
            }
        );
    }

    #[test]
    fn backups_and_restores_with_mistakes_are_explained() {
        let source = format!(
            "{WEB_AND_VAULT}steps:\n  - backup: {{host: web, comand: dump-it, path: backups, to: web, every: 0s}}\n  - lose-host: wbe\n  - restore: {{host: web, from: vault, path: /var/backups/shop, command: restore-it}}\n  - backup: {{host: web, command: dump-it, path: /var/backups/other, to: vault}}\n  - restore: {{host: web, from: vault, path: /var/backups/shop, command: restore-it, probes: [shopp]}}\ngates:\n  - recovery_point: 10s\n    monitor: orders\n"
        );
        let messages: Vec<_> = summary(&source)
            .into_iter()
            .map(|(line, _, _, m, help)| (line, m, help.unwrap_or_default()))
            .collect();
        let restore_without_backup = "`restore` of `web` from `vault`, but no earlier `backup` step keeps `/var/backups/shop` of `web` there";
        let expected: Vec<(usize, String, String)> = vec![
            (
                8,
                "unknown key `comand` in `backup` of step 1".into(),
                "did you mean `command`?".into(),
            ),
            (8, "`backups` is not an absolute path".into(), String::new()),
            (
                8,
                "`host` and `to` of step 1 are the same host: a backup kept on the host is lost with it".into(),
                String::new(),
            ),
            (8, "`every` must be longer than zero".into(), String::new()),
            (
                9,
                "unknown host `wbe` in step 2".into(),
                "did you mean `web`?".into(),
            ),
            (
                10,
                restore_without_backup.into(),
                "add a `backup` step of `web` to `vault` before it".into(),
            ),
            (
                12,
                restore_without_backup.into(),
                "the earlier backup of `web` keeps `/var/backups/other` on `vault`".into(),
            ),
            (
                12,
                "unknown probe `shopp` in step 5".into(),
                "did you mean `shop`?".into(),
            ),
            (
                15,
                "`monitor` does not apply to gate 1".into(),
                "`monitor` goes with `another gate kind`".into(),
            ),
        ];
        assert_eq!(messages, expected);
    }

    const WEB_AND_DB: &str = "name: t\nhosts:\n  web: {image: static-site, aliases: [www.example.test]}\n  db: {image: lamp-bookworm}\n";

    #[test]
    fn every_fault_and_its_revert() {
        let source = format!(
            "{WEB_AND_DB}steps:
  - name: apache goes down
    fault: {{host: web, stop: apache2}}
  - fault: {{host: web, mask: apache2.service}}
  - fault: {{host: web, disable: apache2}}
  - fault: {{host: web, break-config: {{file: /etc/apache2/apache2.conf, add: 'Order deny,allow'}}}}
  - fault: {{host: web, break-config: {{file: /etc/hosts.allow, replace: ALL, with: ''}}}}
  - fault: {{host: web, fill-disk: {{path: /var/log, size: 256M}}}}
  - fault: {{host: db, disconnect: true}}
  - fault: {{host: web, wrong-dns: {{name: db.example.test, address: 10.9.9.9}}}}
  - fault: {{host: web, hold: apache2}}
  - fault: {{host: web, half-sources: {{to: trixie}}}}
  - fault: {{host: db, kill-mid-write: {{service: mariadb, write: 'seed-forever'}}}}
  - revert: apache goes down
  - revert: ['fault db: disconnect', 'fault web: hold apache2']
  - revert: all
"
        );
        let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "apache goes down",
                "fault web: mask apache2.service",
                "fault web: disable apache2",
                "fault web: break-config /etc/apache2/apache2.conf",
                "fault web: break-config /etc/hosts.allow",
                "fault web: fill-disk /var/log",
                "fault db: disconnect",
                "fault web: wrong-dns db.example.test → 10.9.9.9",
                "fault web: hold apache2",
                "fault web: half-sources to trixie",
                "fault db: kill-mid-write mariadb",
                "revert apache goes down",
                "revert fault db: disconnect, fault web: hold apache2",
                "revert all",
            ]
        );
        let faults: Vec<(&str, &Fault)> = scenario
            .steps
            .iter()
            .filter_map(|s| s.kind.get::<crate::runner::FaultStep>())
            .map(|f| (f.host.as_str(), &f.fault))
            .collect();
        assert_eq!(
            faults,
            [
                ("web", &Fault::Stop("apache2".into())),
                ("web", &Fault::Mask("apache2.service".into())),
                ("web", &Fault::Disable("apache2".into())),
                (
                    "web",
                    &Fault::BreakConfig {
                        file: "/etc/apache2/apache2.conf".into(),
                        edit: ConfigEdit::Add("Order deny,allow".into())
                    }
                ),
                (
                    "web",
                    &Fault::BreakConfig {
                        file: "/etc/hosts.allow".into(),
                        edit: ConfigEdit::Replace {
                            text: "ALL".into(),
                            with: String::new()
                        }
                    }
                ),
                (
                    "web",
                    &Fault::FillDisk {
                        path: "/var/log".into(),
                        size: 256 << 20
                    }
                ),
                ("db", &Fault::Disconnect),
                (
                    "web",
                    &Fault::WrongDns {
                        name: "db.example.test".into(),
                        address: "10.9.9.9".parse().unwrap()
                    }
                ),
                ("web", &Fault::Hold("apache2".into())),
                (
                    "web",
                    &Fault::HalfSources {
                        to: "trixie".into()
                    }
                ),
                (
                    "db",
                    &Fault::KillMidWrite {
                        service: "mariadb".into(),
                        write: "seed-forever".into()
                    }
                ),
            ]
        );
        assert_eq!(scenario.steps[0].timeout, Duration::from_secs(120));
        assert_eq!(
            scenario.steps[12].kind,
            StepKind::new(RevertStep {
                faults: RevertTarget::Steps(vec![
                    "fault db: disconnect".into(),
                    "fault web: hold apache2".into()
                ])
            })
        );
        assert_eq!(
            scenario.steps[13].kind,
            StepKind::new(RevertStep {
                faults: RevertTarget::All
            })
        );
        assert_eq!(scenario.steps[13].timeout, Duration::from_secs(120));
    }

    #[test]
    fn faults_with_mistakes_are_explained() {
        let source = format!(
            "{WEB_AND_DB}steps:
  - fault: {{host: web, stpo: apache2}}
  - fault: {{stop: apache2}}
  - fault: {{host: web, stop: apache2, mask: apache2}}
  - fault: {{host: web, fill-disk: {{path: /var/log, size: 10G}}}}
  - fault: {{host: web, fill-disk: {{path: var/log}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf, add: a, replace: b, with: c}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf, replace: b}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf}}}}
  - fault: {{host: web, wrong-dns: {{name: db.test, address: 10.9.9}}}}
  - fault: {{host: web, disconnect: false}}
  - fault: {{host: web, hold: Apache2, half-sources: {{to: trixe}}}}
  - fault: {{host: dbb, kill-mid-write: {{service: 'maria db', write: ''}}}}
"
        );
        let messages: Vec<_> = summary(&source)
            .into_iter()
            .map(|(line, _, _, m, help)| (line, m, help.unwrap_or_default()))
            .collect();
        let expected: Vec<(usize, String, String)> = vec![
            (
                6,
                "unknown key `stpo` in `fault` of step 1".into(),
                "did you mean `stop`?".into(),
            ),
            (
                7,
                "missing key `host` in `fault` of step 2".into(),
                String::new(),
            ),
            (
                8,
                "second fault `mask` in `fault` of step 3".into(),
                "use only one of `stop`, `mask`, `disable`, `break-config`, `fill-disk`, `disconnect`, `wrong-dns`, `hold`, `half-sources`, `kill-mid-write`; `stop` is already set".into(),
            ),
            (
                9,
                "`size` must be at most 8G, found `10G`".into(),
                "a host's disk is the engine's own disk: fill a smaller filesystem or a part of it".into(),
            ),
            (
                10,
                "missing key `size` in `fill-disk` of `fault` of step 5".into(),
                String::new(),
            ),
            (10, "`var/log` is not an absolute path".into(), String::new()),
            (
                11,
                "`add` and `replace` together in `break-config` of `fault` of step 6".into(),
                "one edit per fault: make the other one a fault step of its own".into(),
            ),
            (
                12,
                "missing key `with` in `break-config` of `fault` of step 7".into(),
                String::new(),
            ),
            (
                13,
                "`break-config` of `fault` of step 8 changes nothing".into(),
                "give `add: LINE` (appended), or `replace: TEXT` with `with: TEXT`".into(),
            ),
            (
                14,
                "invalid IP address `10.9.9` for `address`".into(),
                String::new(),
            ),
            (
                15,
                "`disconnect: false` in `fault` of step 10 breaks nothing".into(),
                "write `disconnect: true`, or leave the step out".into(),
            ),
            (
                16,
                "invalid package name `Apache2`: expected a Debian package name like `apache2`".into(),
                String::new(),
            ),
            (
                16,
                "second fault `half-sources` in `fault` of step 11".into(),
                "use only one of `stop`, `mask`, `disable`, `break-config`, `fill-disk`, `disconnect`, `wrong-dns`, `hold`, `half-sources`, `kill-mid-write`; `hold` is already set".into(),
            ),
            (
                17,
                "unknown host `dbb` in step 12".into(),
                "did you mean `db`?".into(),
            ),
            (
                17,
                "invalid unit name `maria db`: expected a systemd unit like `apache2` or `mariadb.service`".into(),
                String::new(),
            ),
            (17, "`write` must not be empty".into(), String::new()),
        ];
        assert_eq!(messages, expected);
    }

    #[test]
    fn reverts_name_earlier_faults() {
        let source = format!(
            "{WEB_AND_DB}steps:
  - revert: all
  - name: apache goes down
    fault: {{host: web, stop: apache2}}
  - name: check
    exec: {{host: web, command: 'true'}}
  - revert: [apache goes dwn, check, db dies, 'nobody']
  - name: db dies
    fault: {{host: db, stop: mariadb}}
  - revert: []
"
        );
        let messages: Vec<_> = summary(&source)
            .into_iter()
            .map(|(line, column, _, m, help)| (line, column, m, help.unwrap_or_default()))
            .collect();
        let expected: Vec<(usize, usize, String, String)> = vec![
            (
                6,
                13,
                "`revert: all`, but no earlier step is a `fault`".into(),
                "add a `fault` step before it".into(),
            ),
            (
                11,
                14,
                "`revert` of `apache goes dwn`, but no step has that name".into(),
                "did you mean `apache goes down`?".into(),
            ),
            (
                11,
                31,
                "`revert` of `check`, but that step is a `exec` step, not a `fault`".into(),
                "faults before it: `apache goes down`".into(),
            ),
            (
                11,
                38,
                "`revert` of `db dies`, but that `fault` step comes after it".into(),
                "faults before it: `apache goes down`".into(),
            ),
            (
                11,
                47,
                "`revert` of `nobody`, but no step has that name".into(),
                "faults before it: `apache goes down`".into(),
            ),
            (
                14,
                13,
                "`revert` of step 6 names no fault".into(),
                "name earlier `fault` steps, or write `revert: all`".into(),
            ),
        ];
        assert_eq!(messages, expected);
    }
}
