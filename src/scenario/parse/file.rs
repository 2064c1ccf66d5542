//! The scenario file as written: one type per object, each field declared once.
//!
//! [`ScenarioFile`] and the types below are what `rehearse schema` prints (generated
//! by schemars) and what the file is read into (serde, over the spanned tree; see
//! [`crate::yaml::de`]). What one field cannot say alone (exactly one probe kind, a
//! `url` beside a `port`, a gate's modifiers) is checked here after reading, at the
//! place in the file it concerns. The steps are read by their kinds' own modules.

use schemars::JsonSchema;
use serde::Deserialize;

#[allow(unused_imports)]
use super::*;
use crate::scenario::format::{
    self, HostRef, ProbeRefs, StringOrList, choice_keys, exactly_one, named_map,
};

/// Hosts to replicate, probes of their health, the steps of the rehearsal and the
/// gates of the GO / NO-GO verdict.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rehearse scenario")]
pub(in crate::scenario) struct ScenarioFile {
    /// Short name used in reports and resource names.
    #[serde(with = "ScenarioName")]
    pub name: String,
    /// What the rehearsal checks.
    pub description: Option<String>,
    #[serde(with = "format::Hosts")]
    pub hosts: Vec<Host>,
    /// Named health checks, run by `probe` steps.
    #[serde(default, with = "Probes")]
    pub probes: Vec<(String, ProbeSpec)>,
    /// Continuous HTTP monitors, run open-loop at a fixed rate between `monitor:
    /// {start}` and `monitor: {stop}` steps.
    #[serde(default, with = "Monitors")]
    pub monitors: Vec<(String, MonitorSpec)>,
    /// The rehearsal, run in order.
    #[serde(with = "StepList")]
    #[allow(
        dead_code,
        reason = "read by the step kinds from the tree, see `decode_steps`"
    )]
    pub steps: (),
    /// Conditions the GO verdict requires, besides the built-in ones.
    #[serde(default, with = "Gates")]
    pub gates: Vec<GateSpec>,
    /// Let host `files:` name files outside the scenario's folder (absolute paths,
    /// `..`, links leading out).
    #[serde(default)]
    pub allow_files_outside: bool,
    /// Size limits on the files copied into hosts: bytes, or a size with a K, M, G or T
    /// suffix (binary).
    #[serde(default)]
    pub file_limits: FileLimitsSpec,
    /// Makes the scenario a training drill (`rehearse drill FILE`): its steps break the
    /// replica, the trainee repairs it, the checks say when the repair holds.
    pub drill: Option<DrillSpec>,
}

/// `name:` of the scenario.
#[derive(Debug)]
struct ScenarioName;

impl ScenarioName {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let (here, name) = crate::yaml::de::value::<String, D>(d)?;
        if let Some(name) = &name
            && let Err(message) = check_scenario_name(name)
        {
            here.error(message);
        }
        Ok(name.unwrap_or_default())
    }
}

impl JsonSchema for ScenarioName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "scenarioName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"})
    }
}

/// `steps:`, read by the step kinds ([`decode_steps`]); described by the schema's
/// `step` definition, made from the kinds.
#[derive(Debug)]
struct StepList;

impl StepList {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| ())
    }
}

impl JsonSchema for StepList {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "steps".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/step"}
        })
    }
}

/// `probes:` by name.
#[derive(Debug)]
struct Probes;

impl Probes {
    fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, ProbeSpec)>, D::Error> {
        named_map(d, "probe", check_probe_name)
    }

    fn serialize<S: serde::Serializer>(_: &[(String, ProbeSpec)], s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&serde_json::Map::new(), s)
    }
}

impl JsonSchema for Probes {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "probes".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let probe = generator.subschema_for::<ProbeSpec>();
        schemars::json_schema!({
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9][a-z0-9_.-]*$"},
            "additionalProperties": probe
        })
    }
}

/// `monitors:` by name.
#[derive(Debug)]
struct Monitors;

impl Monitors {
    fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, MonitorSpec)>, D::Error> {
        named_map(d, "monitor", check_probe_name)
    }

    fn serialize<S: serde::Serializer>(
        _: &[(String, MonitorSpec)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&serde_json::Map::new(), s)
    }
}

impl JsonSchema for Monitors {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "monitors".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let monitor = generator.subschema_for::<MonitorSpec>();
        schemars::json_schema!({
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9][a-z0-9_.-]*$"},
            "additionalProperties": monitor
        })
    }
}

/// A named health check; exactly one of `http`, `tcp`, `exec`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Probe")]
#[schemars(extend("oneOf" = [{"required": ["http"]}, {"required": ["tcp"]}, {"required": ["exec"]}]))]
pub(in crate::scenario) struct ProbeSpec {
    pub http: Option<HttpSpec>,
    pub tcp: Option<TcpProbe>,
    pub exec: Option<ExecProbe>,
    #[serde(default)]
    pub retry: Retry,
}

/// An HTTP request to a host: by `host` (with `port`, `path`, `vhost`), or by `url`
/// (its name becomes the virtual host; the connection still goes to `host`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Http")]
pub(in crate::scenario) struct HttpSpec {
    #[serde(with = "HostRef")]
    pub host: String,
    /// `http://NAME[:PORT][/PATH]`: sets the virtual host, port and path at once.
    #[serde(default, with = "HttpUrl")]
    pub url: Option<(String, u16, String)>,
    /// Port on the host (default 80).
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Path of the request (default `/`).
    #[serde(default, with = "format::Opt::<format::HttpPath>")]
    pub path: Option<String>,
    /// `Host` header, resolved to the chosen host like an `/etc/hosts` override.
    #[serde(default, with = "format::Opt::<format::Hostname>")]
    pub vhost: Option<String>,
    #[serde(default)]
    pub method: HttpMethod,
    /// Timeout of one attempt (default 5s).
    #[serde(default, with = "format::Opt::<format::Span>")]
    pub timeout: Option<std::time::Duration>,
    pub expect: Option<HttpExpectSpec>,
}

/// What the answer must look like (by default: status 200).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "HttpExpect")]
pub(in crate::scenario) struct HttpExpectSpec {
    /// The status the answer must have (default 200).
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<u16>,
    /// Any status below this one passes instead (`500`: no server error).
    #[schemars(range(min = 101, max = 600))]
    pub status_below: Option<u16>,
    /// Text the body must contain.
    #[serde(default, with = "StringOrList")]
    pub body_contains: Vec<String>,
    /// A regular expression the body must match.
    #[serde(default, with = "format::Opt::<format::BodyRegex>")]
    pub body_regex: Option<String>,
    /// Headers that must be present with exactly this value.
    #[serde(default, with = "Headers")]
    pub headers: Vec<(String, String)>,
}

/// A continuous HTTP monitor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Monitor")]
pub(in crate::scenario) struct MonitorSpec {
    pub http: HttpSpec,
    /// Requests per second.
    #[serde(default = "default_rate")]
    #[schemars(range(min = 1, max = 20000))]
    pub rate: u32,
    /// Response header naming the host that served, counted per value.
    pub marker_header: Option<String>,
    pub writes: Option<WriteTracking>,
    /// `new` (the default): a new connection for every request, as independent visitors
    /// open them; `keep-alive`: connections reused from a pool, as browsers do.
    #[serde(default)]
    pub connection: Connection,
}

fn default_rate() -> u32 {
    200
}

/// `gates:`, each called "gate N" in messages.
#[derive(Debug)]
struct Gates;

impl Gates {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<GateSpec>, D::Error> {
        crate::yaml::de::named_entries("gate");
        Vec::deserialize(d)
    }

    fn serialize<S: serde::Serializer>(_: &[GateSpec], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(std::iter::empty::<()>())
    }
}

impl JsonSchema for Gates {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "gates".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let gate = generator.subschema_for::<GateSpec>();
        schemars::json_schema!({"type": "array", "items": gate})
    }
}

/// A condition of the verdict; exactly one of `max_failed_checks`, `max_findings`,
/// `max_unavailability`, `max_failed_requests`, `lost_writes`, `split_writes`,
/// `p99_latency`, `recovery_point`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Gate")]
#[schemars(transform = one_gate_kind)]
pub(in crate::scenario) struct GateSpec {
    /// Gate name; derived when absent.
    pub name: Option<String>,
    /// At most this many failed checks of `probe` (or of all probes).
    pub max_failed_checks: Option<u64>,
    /// With `max_failed_checks`: the probe counted.
    #[serde(default, with = "format::Opt::<format::ProbeRef>")]
    pub probe: Option<String>,
    /// At most this many findings of at least `severity`.
    pub max_findings: Option<u64>,
    /// With `max_findings`: the lowest severity counted (default `medium`).
    #[serde(default, with = "SeverityWord")]
    pub severity: Option<Severity>,
    /// The longest run of failed requests of a monitor (or of each) lasts at most this.
    #[serde(default, with = "format::Opt::<format::TimeLimit>")]
    pub max_unavailability: Option<std::time::Duration>,
    /// At most this many failed requests of a monitor (or of all monitors).
    pub max_failed_requests: Option<u64>,
    /// At most this many acknowledged writes missing after the move.
    pub lost_writes: Option<u64>,
    /// At most this many writes that reached the old database after the cutover.
    pub split_writes: Option<u64>,
    /// p99 latency after the change at most this many times the p99 before it.
    #[serde(default, with = "Ratio")]
    pub p99_latency: Option<f64>,
    /// The data lost by every restore spans at most this.
    #[serde(default, with = "format::Opt::<format::TimeLimit>")]
    pub recovery_point: Option<std::time::Duration>,
    /// With a monitor gate: the monitor (default: every monitor).
    #[serde(default, with = "format::Opt::<format::MonitorRef>")]
    pub monitor: Option<String>,
}

/// The gate kinds, in the order messages list them.
pub(in crate::scenario) const GATE_KINDS: &[&str] = &[
    "max_failed_checks",
    "max_findings",
    "max_unavailability",
    "max_failed_requests",
    "lost_writes",
    "split_writes",
    "p99_latency",
    "recovery_point",
];

fn one_gate_kind(schema: &mut schemars::Schema) {
    let kinds: Vec<serde_json::Value> = GATE_KINDS
        .iter()
        .map(|kind| serde_json::json!({"required": [kind]}))
        .collect();
    schema.insert("oneOf".into(), kinds.into());
}

/// The `drill:` section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Drill")]
pub(in crate::scenario) struct DrillSpec {
    /// What the trainee is told at the start: the situation, not the answer.
    pub briefing: String,
    /// Probes that must all pass for the drill to be solved; they should test the real
    /// stack (HTTP answers, services, data).
    #[serde(with = "ProbeRefs")]
    pub checks: Vec<String>,
    /// Hints, mildest first, shown one at a time by `rehearse drill status --hint`.
    #[serde(default, with = "StringOrList")]
    pub hints: Vec<String>,
    /// Data the repair must keep: counted before the incident and at every check
    /// attempt.
    pub data: Option<DrillDataSpec>,
    /// Hosts restarted before every check attempt, so that a repair that does not
    /// survive a reboot does not pass.
    #[serde(default, with = "format::HostRefs")]
    pub reboot: Vec<String>,
}

/// Data the repair must keep.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "DrillData")]
pub(in crate::scenario) struct DrillDataSpec {
    /// Where the data is counted at check time.
    #[serde(with = "HostRef")]
    pub host: String,
    /// Prints one number, e.g. `mysql -N -e 'SELECT COUNT(*) FROM shop.orders'`.
    pub count: Command,
    /// Where the baseline is counted (default: `host`), e.g. the host the incident loses.
    #[serde(default, with = "format::Opt::<format::HostRef>")]
    pub from: Option<String>,
    /// The step before which the baseline is counted (default: the first).
    pub before: Option<String>,
    /// Rows that may be lost (e.g. those written after the last backup); default 0.
    #[serde(default)]
    pub max_loss: u64,
}

/// `file_limits:`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "FileLimits")]
pub(in crate::scenario) struct FileLimitsSpec {
    /// Largest file (default 64M).
    #[serde(default, with = "format::Opt::<format::Size>")]
    pub per_file: Option<u64>,
    /// All files of all hosts together (default 256M).
    #[serde(default, with = "format::Opt::<format::Size>")]
    pub total: Option<u64>,
}

impl FileLimitsSpec {
    pub fn limits(&self) -> FileLimits {
        FileLimits {
            per_file: self.per_file.unwrap_or(FileLimits::DEFAULT_PER_FILE),
            total: self.total.unwrap_or(FileLimits::DEFAULT_TOTAL),
        }
    }
}

/// `url:` of an HTTP probe, split into name, port and path.
#[derive(Debug)]
struct HttpUrl;

impl HttpUrl {
    fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(String, u16, String)>, D::Error> {
        let (here, url) = crate::yaml::de::value::<String, D>(d)?;
        Ok(url.and_then(|url| match parse_http_url(&url) {
            Ok(parts) => Some(parts),
            Err(message) => {
                here.error(message);
                None
            }
        }))
    }

    fn serialize<S: serde::Serializer>(
        _: &Option<(String, u16, String)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl JsonSchema for HttpUrl {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "httpUrl".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^http://"})
    }
}

/// `headers:` of an HTTP expectation: names checked and lowercased, values as text.
#[derive(Debug)]
struct Headers;

impl Headers {
    fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        let headers = format::text_map(d, check_header_name)?;
        Ok(headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect())
    }

    fn serialize<S: serde::Serializer>(_: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&serde_json::Map::new(), s)
    }
}

impl JsonSchema for Headers {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "headers".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]}
        })
    }
}

/// `severity:` of a gate, one of the findings' severities.
#[derive(Debug)]
struct SeverityWord;

impl SeverityWord {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
        let (here, text) = crate::yaml::de::value::<String, D>(d)?;
        let Some(text) = text else {
            return Ok(None);
        };
        let names = Severity::ALL.map(Severity::as_str);
        if let Some(found) = Severity::ALL.into_iter().find(|s| s.as_str() == text) {
            return Ok(Some(found));
        }
        let message = format!(
            "invalid value `{text}` for {}: expected one of {}",
            here.label,
            one_of(names)
        );
        match closest(&text, names) {
            Some(near) => here.error_with_help(message, format!("did you mean `{near}`?")),
            None => here.error(message),
        }
        Ok(None)
    }

    fn serialize<S: serde::Serializer>(value: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(value, s)
    }
}

impl JsonSchema for SeverityWord {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "severity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"enum": Severity::ALL.map(Severity::as_str), "default": "medium"})
    }
}

/// `p99_latency:` of a gate: the largest after/before ratio, above zero.
#[derive(Debug)]
struct Ratio;

impl Ratio {
    fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let (here, value) = crate::yaml::de::value::<format::Number, D>(d)?;
        let value = value.and_then(|number| number.0);
        if let Some(value) = value
            && (value <= 0.0 || !value.is_finite())
        {
            here.error(format!(
                "{} (the largest after/before ratio) must be greater than 0, found {value}",
                here.label
            ));
        }
        Ok(value)
    }

    fn serialize<S: serde::Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(value, s)
    }
}

impl JsonSchema for Ratio {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ratio".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "number", "exclusiveMinimum": 0})
    }
}

/// The value at `path` (keys of nested maps) under `node`.
pub(super) fn find<'a>(node: &'a Spanned<Node>, path: &[&str]) -> Option<&'a Spanned<Node>> {
    path.iter().try_fold(node, |node, key| match &node.value {
        Node::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.value == *key)
            .map(|(_, v)| v),
        _ => None,
    })
}

/// Where the key `key` of the map at `node` is, or the map itself.
pub(super) fn key_mark(node: &Spanned<Node>, key: &str) -> Mark {
    key_of(node, key).map_or_else(|| Mark::of(node), Mark::of_key)
}

/// Reads the whole file: the sections through [`ScenarioFile`], the steps through their
/// kinds, then what ties them together.
pub(super) fn decode_scenario(
    d: &Decoder,
    root: &Spanned<Node>,
    path: &Path,
    kinds: &StepKinds,
) -> Option<Scenario> {
    // References are checked against the names written, so a host with a mistake
    // inside is still a valid reference (no second, spurious error).
    let refs = Refs {
        hosts: key_names(find(root, &["hosts"])),
        probes: key_names(find(root, &["probes"])),
        monitors: key_names(find(root, &["monitors"])),
    };
    let allow_files_outside = matches!(
        find(root, &["allow_files_outside"]).map(|node| &node.value),
        Some(Node::Bool(true))
    );
    let file: ScenarioFile = crate::yaml::Typed::new(d, "the scenario")
        .top_level()
        .context(format::Context {
            refs: refs.clone(),
            allow_files_outside,
        })
        .decode(root)?;
    let probes = file
        .probes
        .into_iter()
        .filter_map(|(name, spec)| {
            let node = find(root, &["probes", &name])?;
            probe(d, name, spec, node)
        })
        .collect();
    let monitors = file
        .monitors
        .into_iter()
        .filter_map(|(name, spec)| {
            let node = find(root, &["monitors", &name])?;
            monitor(d, name, spec, node)
        })
        .collect();
    let steps = find(root, &["steps"])
        .map(|node| decode_steps(d, node, &refs, kinds))
        .unwrap_or_default();
    let gate_items = match find(root, &["gates"]).map(|node| &node.value) {
        Some(Node::Seq(items)) => items.as_slice(),
        _ => &[],
    };
    let gates = file
        .gates
        .into_iter()
        .zip(gate_items)
        .enumerate()
        .filter_map(|(index, (spec, node))| gate(d, index, spec, node))
        .collect();
    check_hosts(d, &file.hosts, root);
    let drill = file.drill.and_then(|spec| {
        let node = find(root, &["drill"])?;
        drill(d, spec, node, &steps)
    });
    Some(Scenario {
        name: file.name,
        description: file.description,
        path: path.to_path_buf(),
        hosts: file.hosts,
        probes,
        monitors,
        steps,
        gates,
        drill,
        allow_files_outside: file.allow_files_outside,
        file_limits: file.file_limits.limits(),
        secrets: Vec::new(),
        unset_env: Vec::new(),
    })
}

/// The least memory the engine gives a container (Docker refuses less than 6 MiB).
const ENGINE_MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// What no single host's field can say: enough memory for the engine, and each name
/// on the run's network (a host's own, its aliases) belonging to one host only.
fn check_hosts(d: &Decoder, hosts: &[Host], root: &Spanned<Node>) {
    let mut names: std::collections::HashMap<&str, (&str, &str)> = hosts
        .iter()
        .map(|h| (h.name.as_str(), (h.name.as_str(), "the name")))
        .collect();
    for host in hosts {
        // Only a size as written: one that did not read is already reported.
        let written = find(root, &["hosts", &host.name, "memory"]).filter(|node| {
            let read = match &node.value {
                Node::Int(n) => u64::try_from(*n).ok(),
                Node::Str(text) => crate::yaml::parse_byte_size(text),
                _ => None,
            };
            read.is_some() && read == host.memory
        });
        if let Some(memory) = host.memory
            && memory < ENGINE_MIN_MEMORY
            && let Some(node) = written
        {
            d.error_with_help(
                Mark::of(node),
                format!(
                    "`memory` of host `{}` is {}, less than the engine accepts",
                    host.name,
                    bytesize::ByteSize(memory)
                ),
                "give at least 6M; a host that boots systemd with a service needs 64M or more (the default is 2G)",
            );
        }
        let Some(Node::Seq(written)) =
            find(root, &["hosts", &host.name, "aliases"]).map(|n| &n.value)
        else {
            continue;
        };
        for (alias, node) in host.aliases.iter().zip(written) {
            match names.get(alias.as_str()) {
                Some((owner, what)) => d.error_with_help(
                    Mark::of(node),
                    if *owner == host.name {
                        format!("`{alias}` is given twice to host `{}`", host.name)
                    } else {
                        format!(
                            "`{alias}` of host `{}` is already {what} of host `{owner}`",
                            host.name
                        )
                    },
                    "a name on the run's network belongs to one host: give each alias to one host only",
                ),
                None => {
                    names.insert(alias, (&host.name, "an alias"));
                }
            }
        }
    }
}

fn probe(d: &Decoder, name: String, spec: ProbeSpec, node: &Spanned<Node>) -> Option<Probe> {
    let what = format!("probe `{name}`");
    let kind = exactly_one(d, node, &what, "probe kind", &choice_keys::<ProbeSpec>());
    let retry = spec.retry;
    if retry.interval > retry.deadline {
        let at = find(node, &["retry", "interval"])
            .or_else(|| find(node, &["retry"]))
            .map_or_else(|| Mark::of(node), Mark::of);
        d.error(
            at,
            format!(
                "`interval` ({}) is longer than `deadline` ({}) in {what}",
                humantime::format_duration(retry.interval),
                humantime::format_duration(retry.deadline)
            ),
        );
    }
    let kind = match kind?.as_str() {
        "http" => ProbeKind::Http(http(d, spec.http?, find(node, &["http"])?, &what)),
        "tcp" => ProbeKind::Tcp(spec.tcp?),
        _ => ProbeKind::Exec(spec.exec?),
    };
    Some(Probe { name, kind, retry })
}

/// The request of a probe or monitor (`owner`), with what `url` sets.
fn http(d: &Decoder, spec: HttpSpec, node: &Spanned<Node>, owner: &str) -> HttpProbe {
    let (mut port, mut path, mut vhost) = (spec.port, spec.path, spec.vhost);
    if let Some((name, url_port, url_path)) = spec.url {
        for key in ["port", "path", "vhost"] {
            if let Some(k) = key_of(node, key) {
                d.error_with_help(
                    Mark::of_key(k),
                    format!("`{key}` and `url` both given in `http` of {owner}"),
                    "keep one: `url` already sets the virtual host, port and path",
                );
            }
        }
        (port, path, vhost) = (Some(url_port), Some(url_path), Some(name));
    }
    let expect = spec.expect.unwrap_or_default();
    if expect.status.is_some()
        && expect.status_below.is_some()
        && let Some(below) = find(node, &["expect", "status_below"])
    {
        d.error_with_help(
            Mark::of(below),
            format!("`status` and `status_below` both given in `expect` of {owner}"),
            "keep one: `status` wants exactly that code, `status_below` any code below it",
        );
    }
    HttpProbe {
        host: spec.host,
        port: port.unwrap_or(80),
        path: path.unwrap_or_else(|| "/".into()),
        vhost,
        method: spec.method,
        timeout: spec.timeout.unwrap_or(Duration::from_secs(5)),
        expect: HttpExpect {
            status: expect.status.unwrap_or(200),
            status_below: expect.status_below,
            body_contains: expect.body_contains,
            body_regex: expect.body_regex,
            headers: expect.headers,
        },
    }
}

fn monitor(d: &Decoder, name: String, spec: MonitorSpec, node: &Spanned<Node>) -> Option<Monitor> {
    let what = format!("monitor `{name}`");
    let http = http(d, spec.http, find(node, &["http"])?, &what);
    if spec.writes.is_some() && http.method != HttpMethod::Post {
        d.error_with_help(
            key_mark(node, "writes"),
            format!("{what} tracks writes but its requests are not POSTs"),
            "add `method: POST` to its `http`: the write token goes in the request body",
        );
    }
    Some(Monitor {
        name,
        http,
        rate: spec.rate,
        marker_header: spec.marker_header.map(|h| h.to_ascii_lowercase()),
        writes: spec.writes,
        connection: spec.connection,
    })
}

fn gate(d: &Decoder, index: usize, spec: GateSpec, node: &Spanned<Node>) -> Option<Gate> {
    let what = format!("gate {}", index + 1);
    let kind = exactly_one(d, node, &what, "gate kind", &choice_keys::<GateSpec>())?;
    // The keys that go with another gate kind than this one.
    let foreign: &[&str] = match kind.as_str() {
        "max_failed_checks" => &["severity", "monitor"],
        "max_findings" => &["probe", "monitor"],
        "recovery_point" => &["probe", "severity", "monitor"],
        _ => &["probe", "severity"],
    };
    for key in foreign {
        if let Some(found) = key_of(node, key) {
            d.error_with_help(
                Mark::of_key(found),
                format!("`{key}` does not apply to {what}"),
                format!("`{key}` goes with `another gate kind`"),
            );
        }
    }
    let monitor = spec.monitor;
    let kind = match kind.as_str() {
        "max_failed_checks" => GateKind::MaxFailedChecks {
            probe: spec.probe,
            limit: spec.max_failed_checks?,
        },
        "max_findings" => GateKind::MaxFindings {
            severity: spec.severity.unwrap_or(Severity::Medium),
            limit: spec.max_findings?,
        },
        "max_unavailability" => GateKind::MaxUnavailability {
            monitor,
            limit: spec.max_unavailability?,
        },
        "p99_latency" => GateKind::P99Latency {
            monitor,
            max_ratio: spec.p99_latency?,
        },
        "recovery_point" => GateKind::RecoveryPoint {
            limit: spec.recovery_point?,
        },
        "lost_writes" => GateKind::LostWrites {
            monitor,
            limit: spec.lost_writes?,
        },
        "split_writes" => GateKind::SplitWrites {
            monitor,
            limit: spec.split_writes?,
        },
        _ => GateKind::MaxFailedRequests {
            monitor,
            limit: spec.max_failed_requests?,
        },
    };
    Some(Gate {
        name: spec.name.unwrap_or_else(|| derived_gate_name(&kind)),
        kind,
    })
}

fn drill(d: &Decoder, spec: DrillSpec, node: &Spanned<Node>, steps: &[Step]) -> Option<Drill> {
    let path = find(node, &["checks"]);
    if spec.checks.is_empty()
        && let Some(checks) = path.filter(|n| matches!(n.value, Node::Seq(_)))
    {
        d.error_with_help(
            Mark::of(checks),
            "`checks` of `drill` must name at least one probe",
            "name the probes that pass once the trainee has repaired the stack",
        );
        return None;
    }
    let data = match spec.data {
        None => None,
        Some(data) => {
            let before = match (&data.before, find(node, &["data", "before"])) {
                (Some(name), Some(at)) => {
                    let found = steps.iter().position(|step| step.name == *name);
                    if found.is_none() {
                        let names = steps.iter().map(|s| s.name.as_str());
                        let help = match closest(name, names.clone()) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!("the steps are {}", one_of(names)),
                        };
                        d.error_with_help(
                            Mark::of(at),
                            format!("unknown step `{name}` in `before` of `data` of `drill`"),
                            help,
                        );
                    }
                    found?
                }
                _ => 0,
            };
            Some(DrillData {
                host: data.host,
                count: data.count,
                from: data.from,
                before,
                max_loss: data.max_loss,
            })
        }
    };
    Some(Drill {
        briefing: spec.briefing,
        checks: spec.checks,
        hints: spec.hints,
        data,
        reboot: spec.reboot,
    })
}
