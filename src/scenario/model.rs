//! The validated scenario: pure data, no I/O, every reference already resolved.
//!
//! Nothing here knows about YAML; `parse` turns a document into these types and
//! reports every problem it finds with a source span.

use std::path::PathBuf;
use std::time::Duration;

pub use super::env::UnsetReference;
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

/// One replica host: a container built from an image recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    /// Name of a recipe under the images directory (`images/<image>/recipe.yaml`).
    pub image: String,
    pub init: Init,
    /// Extra DNS names the host answers to on the run's network (virtual hosts).
    pub aliases: Vec<String>,
    /// Memory limit in bytes.
    pub memory: Option<u64>,
    /// CPU limit in cores (fractions allowed).
    pub cpus: Option<f64>,
    /// Process (and thread) limit.
    pub pids: Option<i64>,
    pub env: Vec<(String, String)>,
    /// Local files put into the host before it boots.
    pub files: Vec<HostFile>,
}

/// A local file copied into a host at provision time (e.g. the production
/// configuration), before the host boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// Relative to the scenario's folder and inside it (checked without I/O here;
    /// links are checked when the file is read).
    pub src: PathBuf,
    /// Absolute path in the host.
    pub dest: String,
    /// Permission bits (default `0644`).
    pub mode: u32,
}

/// What runs as PID 1 in the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub interval: Duration,
    pub deadline: Duration,
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
}

/// A writer monitor: every request carries a unique token (a form field of the POST
/// body) and a successful answer acknowledges that write. When the monitor stops,
/// the tokens stored in each database are listed and compared with the acknowledged
/// ones: an acknowledged token missing where the site is served from after the move
/// is a lost write; a token that reached the old database after the cutover is a
/// split write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTracking {
    /// Form field that carries the token.
    pub field: String,
    /// Lists the tokens stored in the database that serves after the move, one a line.
    pub serving: TokenQuery,
    /// Lists the tokens stored in the old database, one a line.
    pub old: Option<TokenQuery>,
}

/// A command run in a host that prints stored write tokens, one a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct TcpProbe {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
}

/// A command run inside a host.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecProbe {
    pub host: String,
    pub command: Command,
    pub timeout: Duration,
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecExpect {
    pub exit_code: i64,
    pub stdout_contains: Vec<String>,
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

/// The kinds of steps; each has its own implementation file under `src/runner/steps/`.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Snapshot(SnapshotStep),
    Rollback(RollbackStep),
    Backup(BackupStep),
    LoseHost(LoseHostStep),
    Restore(RestoreStep),
    Fault(FaultStep),
    Revert(RevertStep),
    /// A kind defined in its own module (`runner/steps/<kind>.rs`).
    Module(super::StepFields),
}

impl StepKind {
    /// The fields, if the step is of the kind whose fields are `T`.
    pub fn get<T: super::StepSpec>(&self) -> Option<&T> {
        match self {
            StepKind::Module(fields) => fields.get(),
            _ => None,
        }
    }

    /// The kind name used in scenario files and reports.
    pub fn label(&self) -> &'static str {
        match self {
            StepKind::Snapshot(_) => "snapshot",
            StepKind::Rollback(_) => "rollback",
            StepKind::Backup(_) => "backup",
            StepKind::LoseHost(_) => "lose-host",
            StepKind::Restore(_) => "restore",
            StepKind::Fault(_) => "fault",
            StepKind::Revert(_) => "revert",
            StepKind::Module(fields) => fields.kind(),
        }
    }

    /// Default timeout when the step gives none.
    pub fn default_timeout(&self) -> Duration {
        match self {
            // The switch itself lasts `over`; the default leaves room for long ones.
            StepKind::Snapshot(_) => Duration::from_secs(600),
            StepKind::Rollback(_) => Duration::from_secs(600),
            StepKind::Backup(_) => Duration::from_secs(600),
            StepKind::LoseHost(_) => Duration::from_secs(60),
            StepKind::Restore(_) => Duration::from_secs(1800),
            StepKind::Fault(_) => Duration::from_secs(120),
            StepKind::Revert(_) => Duration::from_secs(120),
            StepKind::Module(fields) => fields.default_timeout(),
        }
    }
}

/// A web server the `cutover` step knows how to turn into a reverse proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Save every host as it is now (`docker commit`, paused meanwhile), under a name a
/// later `rollback` step can return to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStep {
    pub name: String,
}

/// Return every host to a snapshot: each container is replaced by one started from its
/// snapshot, booted like at provision; then `probes` prove the stack is back to its
/// baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackStep {
    /// The name of an earlier `snapshot` step.
    pub to: String,
    pub probes: Vec<String>,
}

/// Run the application's own backup procedure on `host` (`command` writes the backup
/// into `path`), then keep a copy of `path` on another host, `to`: a backup kept only
/// on the host is lost with it. With `every`, again and again in the background (like
/// cron) until the host is lost or the run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStep {
    pub host: String,
    pub command: Command,
    /// Absolute path on `host` the command writes the backup into (a file or a directory).
    pub path: String,
    /// The host that keeps the copies (the off-host backup store).
    pub to: String,
    /// Repeat at this interval (start to start) in the background.
    pub every: Option<Duration>,
}

/// Lose a host abruptly: traffic to it stops, its background backups stop, its
/// container is removed with everything on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoseHostStep {
    pub host: String,
}

/// Rebuild a lost host from its backup: a fresh replica started from the host's image
/// (not from its last state), the latest backup that reached `from` copied back into
/// `path`, the application's restore `command` run, then the `probes`. The host is lost
/// first if no `lose-host` step did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreStep {
    pub host: String,
    /// The host that keeps the backups.
    pub from: String,
    /// Where the backup goes back on the fresh host: the `path` of the `backup` step.
    pub path: String,
    pub command: Command,
    /// Prints the number of rows the data holds (e.g. `SELECT COUNT(*)`), run just before
    /// the loss and after the restore: the difference is the rows lost.
    pub count: Option<Command>,
    pub probes: Vec<String>,
}

/// Break one thing on one host on purpose (a training drill), in a way the tool can
/// undo: what it takes to undo the fault is saved when it is applied, and a later
/// `revert` step puts it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultStep {
    pub host: String,
    pub fault: Fault,
}

/// The faults a `fault` step can apply, each with its undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `systemctl stop UNIT`. Undone by starting it.
    Stop(String),
    /// `systemctl mask --now UNIT`: stopped, and it cannot be started. Undone by
    /// unmasking and starting it.
    Mask(String),
    /// `systemctl disable UNIT`: still running, but it does not come back after a
    /// reboot (the enabled state is lost). Undone by enabling it.
    Disable(String),
    /// A known-bad edit of a configuration file, without reloading anything: the break
    /// shows at the next restart, reload or config test. Undone by writing the original
    /// content back, byte for byte.
    BreakConfig { file: String, edit: ConfigEdit },
    /// `DIR/.rehearse-fill` of `size` bytes, or of the free space of that filesystem if
    /// smaller, so the filesystem can really become full. Undone by removing the file.
    FillDisk { path: String, size: u64 },
    /// The host drops off the run's network. Undone by connecting it again under its
    /// name and aliases.
    Disconnect,
    /// `name` resolves to `address` on the host (a line in `/etc/hosts`). Undone by
    /// writing the original `/etc/hosts` back.
    WrongDns {
        name: String,
        address: std::net::IpAddr,
    },
    /// `apt-mark hold PACKAGE`. Undone by `apt-mark unhold`.
    Hold(String),
    /// APT sources left half-rewritten to release `to`, as after an interrupted upgrade:
    /// the first half (rounded up) of Debian's entries moved, the others not. Undone by
    /// writing every source file's original content back.
    HalfSources { to: String },
    /// `write` (a shell line) started in the background, and the service killed
    /// (`SIGKILL`) once it has run for a second: the database dies mid-write. Undone by
    /// starting the service; what was lost stays lost.
    KillMidWrite { service: String, write: String },
}

impl Fault {
    /// The fault's key in scenario files.
    pub fn label(&self) -> &'static str {
        match self {
            Fault::Stop(_) => "stop",
            Fault::Mask(_) => "mask",
            Fault::Disable(_) => "disable",
            Fault::BreakConfig { .. } => "break-config",
            Fault::FillDisk { .. } => "fill-disk",
            Fault::Disconnect => "disconnect",
            Fault::WrongDns { .. } => "wrong-dns",
            Fault::Hold(_) => "hold",
            Fault::HalfSources { .. } => "half-sources",
            Fault::KillMidWrite { .. } => "kill-mid-write",
        }
    }
}

/// How `break-config` breaks its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEdit {
    /// A line appended at the end.
    Add(String),
    /// Every occurrence of `text` replaced by `with`; the text must be in the file.
    Replace { text: String, with: String },
}

/// Undo earlier faults, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertStep {
    pub faults: RevertTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertTarget {
    /// Every fault applied so far and not yet reverted.
    All,
    /// The names of earlier `fault` steps.
    Steps(Vec<String>),
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
