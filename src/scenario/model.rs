//! The validated scenario: pure data, no I/O, every reference already resolved.
//!
//! Nothing here knows about YAML; `parse` turns a document into these types and
//! reports every problem it finds with a source span.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::format;

pub use super::env::UnsetReference;
pub use super::step::StepKind;
pub use crate::local_files::FileLimits;
pub use crate::model::Severity;
pub use crate::redact::Secret;

/// A scenario after validation: hosts, probes, ordered steps and gates.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name used in reports and resource names (`[a-z0-9-]`).
    pub name: String,
    pub description: Option<String>,
    /// The file the scenario was read from.
    pub path: PathBuf,
    pub hosts: Vec<Host>,
    pub probes: Vec<Probe>,
    pub monitors: Vec<Monitor>,
    pub steps: Vec<Step>,
    pub gates: Vec<Gate>,
    /// Present when the scenario is a training drill (`rehearse drill`): its steps bring
    /// the replica to the drill's starting point, the trainee repairs it.
    pub drill: Option<Drill>,
    /// Host `files:` may name files outside the scenario's folder (absolute paths,
    /// `..`, links leading out). Off by default.
    pub allow_files_outside: bool,
    pub file_limits: FileLimits,
    /// Values taken from the environment for `${env:NAME}` placeholders: every
    /// output of a run redacts them.
    pub secrets: Vec<Secret>,
    /// Placeholders left as they are because their variable is not set (only when
    /// parsed with [`UnsetEnv::Keep`](super::UnsetEnv::Keep)).
    pub unset_env: Vec<UnsetReference>,
}

impl Scenario {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }

    pub fn monitor(&self, name: &str) -> Option<&Monitor> {
        self.monitors.iter().find(|m| m.name == name)
    }
}

/// A training drill: what the trainee is told, what proves the repair, and the hints.
///
/// The checks are probes of the scenario: they test the real stack (HTTP answers,
/// services, data), never a file the trainee could touch to fake success.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    /// What the trainee is told at the start: the situation, not the answer.
    pub briefing: String,
    /// Probes that must all pass for the drill to be solved.
    pub checks: Vec<String>,
    /// Hints, mildest first, revealed one at a time on request.
    pub hints: Vec<String>,
    /// Whether the repair lost data.
    pub data: Option<DrillData>,
    /// Hosts restarted before every check attempt: a repair that does not survive a
    /// reboot (a service started by hand, not enabled) does not pass.
    pub reboot: Vec<String>,
}

/// Data the repair must keep: a count taken before the incident, compared with the
/// same count when the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillData {
    /// Where the data is counted when the checks run.
    pub host: String,
    /// Prints one number (e.g. `SELECT COUNT(*)`).
    pub count: Command,
    /// Where the baseline is counted (default: `host`), e.g. the host the incident loses.
    pub from: Option<String>,
    /// The step before which the baseline is counted (index into the scenario's steps;
    /// default: the first).
    pub before: usize,
    /// How many counted rows may be lost (e.g. those written after the last backup).
    pub max_loss: u64,
}

/// A replica host: a container built from an image recipe.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Its key in `hosts:`.
    #[serde(skip)]
    pub name: String,
    /// Name of a recipe: `images/<image>/recipe.yaml`.
    #[serde(with = "format::RecipeName")]
    pub image: String,
    /// What runs as PID 1: `systemd` boots like the real server.
    #[serde(default)]
    pub init: Init,
    /// Extra DNS names the host answers to (virtual hosts).
    #[serde(default, with = "format::Hostnames")]
    pub aliases: Vec<String>,
    /// Memory limit: bytes, or a size with a K, M, G or T suffix (binary); default 2G.
    #[serde(default, with = "format::Opt::<format::Size>")]
    pub memory: Option<u64>,
    /// CPU limit in cores (default 2, at most the machine's).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub cpus: Option<f64>,
    /// Process and thread limit (default 4096).
    #[schemars(range(min = 16, max = 1_000_000))]
    pub pids: Option<i64>,
    /// Environment variables of the host's PID 1. Any string value of the scenario may
    /// take a secret from the environment of `rehearse` with `${env:NAME}`; it is
    /// redacted from every output.
    #[serde(default, with = "format::EnvMap")]
    pub env: Vec<(String, String)>,
    /// Local files put into the host before it boots (e.g. the production configuration).
    #[serde(default)]
    pub files: Vec<HostFile>,
}

/// A local file copied into a host at provision time (e.g. the production
/// configuration), before the host boots.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFile {
    /// Relative to the scenario's folder and inside it (checked without I/O here;
    /// links are checked when the file is read).
    #[serde(with = "format::LocalSource")]
    pub src: PathBuf,
    /// Absolute path in the host.
    #[serde(with = "format::HostDestination")]
    pub dest: String,
    /// Permission bits (default `0644`).
    #[serde(default = "default_mode", with = "format::Mode")]
    pub mode: u32,
}

fn default_mode() -> u32 {
    0o644
}

/// What runs as PID 1 in the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// systemd boots the host like the real server, so enabled services start.
    #[default]
    Systemd,
    /// A placeholder process; services must be started by `exec` steps.
    None,
}

/// A named health check, run by `probe` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub name: String,
    pub kind: ProbeKind,
    pub retry: Retry,
}

/// The kinds of probes; each has its own implementation file under `src/probe/`.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    Http(HttpProbe),
    Tcp(TcpProbe),
    Exec(ExecProbe),
}

impl ProbeKind {
    pub fn label(&self) -> &'static str {
        match self {
            ProbeKind::Http(_) => "http",
            ProbeKind::Tcp(_) => "tcp",
            ProbeKind::Exec(_) => "exec",
        }
    }

    /// The host this probe is aimed at.
    pub fn host(&self) -> &str {
        match self {
            ProbeKind::Http(p) => &p.host,
            ProbeKind::Tcp(p) => &p.host,
            ProbeKind::Exec(p) => &p.host,
        }
    }
}

/// How a probe is retried before it counts as failed: an attempt every
/// `interval` until one passes or `deadline` has passed since the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Time between attempts (default 1s).
    #[serde(default = "one_second", with = "format::Span")]
    pub interval: Duration,
    /// Give up this long after the first attempt (default 30s).
    #[serde(default = "thirty_seconds", with = "format::Span")]
    pub deadline: Duration,
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            interval: Duration::from_secs(1),
            deadline: Duration::from_secs(30),
        }
    }
}

/// A continuous HTTP probe: requests sent open-loop at a fixed rate while it runs
/// (between `monitor: {start}` and `monitor: {stop}` steps), so that an outage shows
/// as measured unavailability, not as a guess.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub name: String,
    pub http: HttpProbe,
    /// Requests per second.
    pub rate: u32,
    /// Response header naming the host that served (e.g. `x-served-by`).
    pub marker_header: Option<String>,
    /// Acknowledged-write tracking, for a monitor whose requests write.
    pub writes: Option<WriteTracking>,
    /// How its clients use connections.
    pub connection: Connection,
}

/// How a monitor's clients use connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Connection {
    /// A new connection for every request, as independent visitors open them: a host
    /// switch shows at once, and a connection the server closes mid-request counts.
    #[default]
    New,
    /// Connections kept open and reused from a pool, as browsers and API clients do:
    /// far cheaper at high rates; requests follow the host a connection was opened to.
    KeepAlive,
}

/// A writer monitor: every request carries a unique token (a form field of the POST
/// body) and a successful answer acknowledges that write. When the monitor stops,
/// the tokens stored in each database are listed and compared with the acknowledged
/// ones: an acknowledged token missing where the site is served from after the move
/// is a lost write; a token that reached the old database after the cutover is a
/// split write.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteTracking {
    /// Form field that carries the token.
    #[serde(default = "token_field", with = "format::FormField")]
    pub field: String,
    /// Lists the tokens stored in the database that serves after the move, one a line.
    pub serving: TokenQuery,
    /// Lists the tokens stored in the old database, one a line.
    pub old: Option<TokenQuery>,
}

fn token_field() -> String {
    "token".into()
}

/// A command run in a host that prints stored write tokens, one a line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    #[serde(with = "format::HostRef")]
    pub host: String,
    pub command: Command,
}

/// An HTTP request sent from the `rehearse` process to a host.
///
/// When `vhost` is set the request carries it as `Host` and the name is
/// resolved to the chosen host's address, like an `/etc/hosts` override.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpProbe {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub vhost: Option<String>,
    pub method: HttpMethod,
    /// Timeout of one attempt.
    pub timeout: Duration,
    pub expect: HttpExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
    Post,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpExpect {
    pub status: u16,
    /// When set, any status below this one passes instead of exactly `status`
    /// (`status_below: 500`: the server answered, without a server error).
    pub status_below: Option<u16>,
    pub body_contains: Vec<String>,
    /// A regular expression the body must match (already checked to compile).
    pub body_regex: Option<String>,
    /// Headers that must be present with exactly this value (names lowercase).
    pub headers: Vec<(String, String)>,
}

impl Default for HttpExpect {
    fn default() -> Self {
        HttpExpect {
            status: 200,
            status_below: None,
            body_contains: Vec::new(),
            body_regex: None,
            headers: Vec::new(),
        }
    }
}

/// A TCP connect to a host's port.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    #[serde(with = "format::HostRef")]
    pub host: String,
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Timeout of one attempt (default 5s).
    #[serde(default = "five_seconds", with = "format::Span")]
    pub timeout: Duration,
}

/// A command run inside a host.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    #[serde(with = "format::HostRef")]
    pub host: String,
    pub command: Command,
    /// Timeout of one attempt (default 30s).
    #[serde(default = "thirty_seconds", with = "format::Span")]
    pub timeout: Duration,
    #[serde(default)]
    pub expect: ExecExpect,
}

/// A command: a shell line (run with `sh -c`) or an argument vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Shell(String),
    Argv(Vec<String>),
}

impl Command {
    pub fn to_argv(&self) -> Vec<String> {
        match self {
            Command::Shell(line) => vec!["sh".into(), "-c".into(), line.clone()],
            Command::Argv(argv) => argv.clone(),
        }
    }

    pub fn display(&self) -> String {
        match self {
            Command::Shell(line) => line.clone(),
            Command::Argv(argv) => argv.join(" "),
        }
    }
}

/// What a command's result must look like (by default: exit code 0).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExecExpect {
    /// The exit code the command must end with.
    #[schemars(range(min = 0, max = 255))]
    pub exit_code: i64,
    /// Text the standard output must contain.
    #[serde(with = "super::format::StringOrList")]
    pub stdout_contains: Vec<String>,
    /// Text the standard error must contain.
    #[serde(with = "super::format::StringOrList")]
    pub stderr_contains: Vec<String>,
}

/// One step of the rehearsal, run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
    pub timeout: Duration,
    /// A failure of this step is recorded but does not stop the run or fail it;
    /// gates decide.
    pub allow_failure: bool,
}

/// A web server the `cutover` step knows how to turn into a reverse proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebServer {
    Apache,
    Nginx,
}

impl WebServer {
    /// The systemd unit, as Debian names it.
    pub fn unit(self) -> &'static str {
        match self {
            WebServer::Apache => "apache2",
            WebServer::Nginx => "nginx",
        }
    }

    /// The site file Debian's package enables.
    pub fn default_site_file(self) -> &'static str {
        match self {
            WebServer::Apache => "/etc/apache2/sites-enabled/000-default.conf",
            WebServer::Nginx => "/etc/nginx/sites-enabled/default",
        }
    }
}

/// A condition the verdict requires. Besides the scenario's gates, every run
/// has the built-in gates "steps passed" and "no inhibitors".
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub name: String,
    pub kind: GateKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GateKind {
    /// At most `limit` failed checks of `probe` (or of all probes when `None`).
    MaxFailedChecks { probe: Option<String>, limit: u64 },
    /// At most `limit` findings of at least `severity`.
    MaxFindings { severity: Severity, limit: u64 },
    /// The longest run of failed requests of a monitor (or of each monitor) lasts at most `limit`.
    MaxUnavailability {
        monitor: Option<String>,
        limit: Duration,
    },
    /// At most `limit` failed requests of a monitor (or of all monitors).
    MaxFailedRequests { monitor: Option<String>, limit: u64 },
    /// At most `limit` acknowledged writes missing after the move.
    LostWrites { monitor: Option<String>, limit: u64 },
    /// At most `limit` writes that reached the old database after the cutover.
    SplitWrites { monitor: Option<String>, limit: u64 },
    /// The data lost by every restore spans at most `limit`: the time from the start of
    /// the last backup that reached the store to the loss (and from the oldest lost
    /// write, when a writer monitor measured them).
    RecoveryPoint { limit: Duration },
    /// p99 latency after the change is at most `max_ratio` times the p99 before it.
    P99Latency {
        monitor: Option<String>,
        max_ratio: f64,
    },
}
