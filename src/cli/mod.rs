//! The command line: flags parsed by clap, then handed to one function per subcommand.
//! Each returns the process exit code (see [`crate::exit_code`]).

/// `println!` that never panics: once stdout is closed (`rehearse … | head`), output
/// stops quietly and the command goes on to its normal end and exit code. What it
/// prints goes through [`crate::escape::terminal`]: a value from a scenario, a replica
/// or a server cannot drive the terminal.
macro_rules! outln {
    ($($arg:tt)*) => {
        crate::cli::print_escaped(&mut std::io::stdout(), &format!($($arg)*), "\n")
    };
}

/// `print!`, like [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        crate::cli::print_escaped(&mut std::io::stdout(), &format!($($arg)*), "")
    };
}

/// `eprintln!`, like [`outln!`].
macro_rules! errln {
    ($($arg:tt)*) => {
        crate::cli::print_escaped(&mut std::io::stderr(), &format!($($arg)*), "\n")
    };
}

/// `eprint!`, like [`outln!`].
macro_rules! err {
    ($($arg:tt)*) => {
        crate::cli::print_escaped(&mut std::io::stderr(), &format!($($arg)*), "")
    };
}

/// What the printing macros do: `text` made safe for a terminal, then `end`, written
/// and flushed; a closed stream is ignored.
fn print_escaped(out: &mut dyn std::io::Write, text: &str, end: &str) {
    let _ = write!(out, "{}{end}", crate::escape::terminal(text));
    let _ = out.flush();
}

/// What printing a result to stdout came to: a stdout the reader closed (`| head`) is
/// the reader's choice, not an error.
fn printed(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

mod capture;
mod check;
mod drill;
mod gc;
mod images;
mod import;
mod matrix;
mod report;
mod run;
mod scenario_files;
mod shard;
mod shell;
mod signals;
mod watchdog;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apt_cache::{AptCache, AptCacheConfig, AptProxy};
use crate::images::{BaseSource, BuildSettings};
pub use shard::Shard;

#[derive(Debug, Parser)]
#[command(
    name = "rehearse",
    version,
    about = "Rehearse a risky server change on a Docker replica and answer GO or NO-GO",
    after_help = "Exit codes: 0 GO, 1 NO-GO, 2 invalid input, 3 environment or engine error, 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Which Docker engine the commands that use one talk to (`run`, `images`, `gc`,
/// `drill`, `shell`, `import`), and how the replica's hosts are probed there. Only those
/// commands take these flags (after the command's name).
#[derive(Debug, Args)]
#[command(next_help_heading = "Engine")]
pub struct EngineArgs {
    /// The Docker engine: `unix:///PATH`, `tcp://HOST[:PORT]` (TLS with --tls-verify) or
    /// `ssh://[USER@]HOST[:PORT]` [default: $DOCKER_HOST, else unix:///var/run/docker.sock].
    #[arg(long, global = true, value_name = "URL")]
    pub docker_host: Option<String>,
    /// Talk TLS to a `tcp://` engine, with `ca.pem`, `cert.pem` and `key.pem` from
    /// $DOCKER_CERT_PATH (else ~/.docker); also on when DOCKER_TLS_VERIFY is set.
    #[arg(long, global = true)]
    pub tls_verify: bool,
    /// Probe the hosts through ports the engine publishes on its machine even when the
    /// engine runs on this one (always so for an engine on another machine): for
    /// engines whose container addresses this machine cannot reach (Docker Desktop).
    #[arg(long, global = true)]
    pub publish_ports: bool,
    /// The address of the engine's machine that published ports listen on [default:
    /// 127.0.0.1 for an engine on this machine, else the address --docker-host names];
    /// `0.0.0.0` opens them to every network the machine is on.
    #[arg(long, global = true, value_name = "IP")]
    pub publish_address: Option<std::net::IpAddr>,
}

impl EngineArgs {
    /// The engine to use, from the flags and the environment (`DOCKER_HOST`,
    /// `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`).
    pub fn choice(&self) -> Result<EngineChoice, crate::engine::EndpointError> {
        let settings = crate::engine::EndpointSettings::from_env(
            self.docker_host.clone(),
            self.tls_verify,
            |name| std::env::var(name).ok(),
        );
        Ok(EngineChoice {
            endpoint: crate::engine::Endpoint::from_settings(&settings)?,
            publish_ports: self.publish_ports,
            publish_address: self.publish_address,
        })
    }
}

/// The engine, checked: where it is, and whether probes go through published ports.
#[derive(Debug, Clone)]
pub struct EngineChoice {
    pub endpoint: crate::engine::Endpoint,
    pub publish_ports: bool,
    /// `--publish-address`.
    pub publish_address: Option<std::net::IpAddr>,
}

impl EngineChoice {
    /// Probes go through published ports: the engine is on another machine (its
    /// containers' addresses do not answer here), or `--publish-ports`.
    pub fn publishes(&self) -> bool {
        self.publish_ports || self.endpoint.is_remote()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the replica, run the scenario's steps and probes, and give the verdict.
    /// Several scenarios are rehearsed side by side, at most `--jobs` at once.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// Validate scenario files without touching Docker.
    #[command(
        after_help = "Exit codes: 0 every file is valid, 2 invalid input (each error names its file, line and key)."
    )]
    Check(CheckArgs),
    /// Build or list the cached images made from recipes.
    #[command(
        after_help = "Exit codes: 0 done, 2 invalid input (a recipe), 3 environment or engine error, 130 interrupted."
    )]
    Images(ImagesArgs),
    /// Remove containers, networks and volumes left by runs that are no longer alive.
    #[command(
        after_help = "Exit codes: 0 done (or nothing to remove), 2 invalid input, 3 environment or engine error."
    )]
    Gc(GcArgs),
    /// Print the JSON Schema of scenario files (for editor completion), or of report.json.
    #[command(after_help = "Exit codes: 0 printed.")]
    Schema(SchemaArgs),
    /// List every kind of finding a rehearsal can report: key, severity, whether it
    /// inhibits the change, when it is checked, what makes it fire, what to do. With
    /// `--release-notes`, the items of Debian's release notes and what a rehearsal does
    /// about each.
    #[command(after_help = "Exit codes: 0 printed.")]
    Findings(FindingsArgs),
    /// Render a report folder's report.json again as HTML, Markdown or JUnit.
    #[command(
        after_help = "Exit codes: 0 rendered, 2 invalid input (no readable report.json), 3 a file could not be written."
    )]
    Report(ReportArgs),
    /// Say what changed between two rehearsals: verdict, findings, gates, packages.
    #[command(
        after_help = "Exit codes: 0 compared (whatever changed), 2 invalid input (no readable report.json)."
    )]
    Diff(DiffArgs),
    /// Training: break a replica on purpose (`rehearse drill FILE`), let a trainee
    /// repair it, check the repair (`rehearse drill status`), end it (`rehearse drill end`).
    #[command(after_help = DRILL_AFTER_HELP)]
    Drill(DrillArgs),
    /// Open a shell in a host of the running drill, or run one command there
    /// (`rehearse shell web -- systemctl status apache2`). Exits with the command's code.
    #[command(
        after_help = "Exit codes: the shell's or the command's own, else 2 invalid input (no drill, no such host), 3 environment or engine error."
    )]
    Shell(ShellArgs),
    /// On the production host: collect packages, units, ports, web servers, databases
    /// and selected /etc trees into one bundle, read-only (writes only the bundle).
    #[command(after_help = CAPTURE_AFTER_HELP)]
    Capture(CaptureArgs),
    /// Turn a capture bundle into an image recipe and a scenario reproducing the host.
    #[command(
        after_help = "Exit codes: 0 imported, 2 invalid input (the bundle, or files already there without --force), 3 environment or engine error."
    )]
    Import(ImportArgs),
    /// Print a shell completion script: `rehearse completions bash >
    /// /etc/bash_completion.d/rehearse` (zsh: into a folder of $fpath as `_rehearse`;
    /// fish: ~/.config/fish/completions/rehearse.fish).
    #[command(after_help = "Exit codes: 0 printed.")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `rehearse man > rehearse.1; man -l rehearse.1`.
    #[command(after_help = "Exit codes: 0 printed.")]
    Man,
    /// Internal: clean up after a `rehearse` process that ends without doing so.
    #[command(name = watchdog::COMMAND, hide = true)]
    Watchdog(WatchdogArgs),
}

#[derive(Debug, Args)]
pub struct WatchdogArgs {
    /// The owner string (`rehearse.owner`) of the process watched.
    #[arg(long)]
    pub owner: String,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const CAPTURE_AFTER_HELP: &str = "\
Nothing is written but the bundle (through FILE.partial beside it), no state is changed,
nothing is started; without --db-* flags no database is touched. Private keys, password
files and debian.cnf are never copied; secret values are redacted (listed in bundle.json).
Exit codes: 0 captured, 2 invalid input (the output exists), 3 the host could not be read.";

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The bundle to write [default: ./<hostname>.rehearse-bundle.tar.gz].
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the bundle if it exists.
    #[arg(long)]
    pub force: bool,
    /// An /etc tree to capture (repeat it); replaces the default /etc/apache2 /etc/nginx
    /// /etc/php /etc/mysql /etc/postgresql /etc/cron.d /etc/systemd/system.
    #[arg(long, value_name = "DIR")]
    pub etc: Vec<PathBuf>,
    /// Copy secret values as they are instead of `<redacted>` (keys and password files
    /// are still never copied).
    #[arg(long)]
    pub no_redact: bool,
    /// Largest file copied, in bytes; bigger ones are listed as skipped.
    #[arg(long, value_name = "BYTES", default_value_t = crate::capture::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Dump the databases' schemas (mysqldump --no-data, pg_dumpall --schema-only).
    #[arg(long)]
    pub db_schema: bool,
    /// Dump the schemas and the first N rows of every table.
    #[arg(long, value_name = "N")]
    pub db_sample: Option<u64>,
    /// Dump the databases whole.
    #[arg(long)]
    pub db_dump: bool,
    /// Read the host from this root folder instead of `/` (a mounted disk image): only
    /// files are read, no command is run.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle written by `rehearse capture`.
    pub bundle: PathBuf,
    /// Name of the recipe, scenario and host [default: the captured hostname].
    #[arg(long)]
    pub name: Option<String>,
    /// Where the scenario goes [default: ./scenarios]; the recipe goes to --images-dir
    /// [default: ./images].
    #[arg(long, value_name = "DIR")]
    pub scenarios_dir: Option<PathBuf>,
    /// Replace an earlier import of the same name.
    #[arg(long)]
    pub force: bool,
    /// Do not ask the mirror (through a container of the base image) which captured
    /// versions it still has: no version is pinned.
    #[arg(long)]
    pub no_mirror_check: bool,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

const DRILL_AFTER_HELP: &str = "\
Exit codes: `drill FILE` 0 when the drill is ready (briefing printed), 1 when its setup
did not break the replica as it should, 2 invalid input, 3 environment or engine error.
`drill status` 0 when every check passes (solved), 1 when some still fail.";

/// The file a running drill is remembered in.
#[derive(Debug, Args)]
pub struct StateArg {
    /// The drill's state file [default: $XDG_STATE_HOME/rehearse/drill.json, else
    /// ~/.local/state/rehearse/drill.json]; one drill runs per state file.
    #[arg(long, value_name = "FILE", env = "REHEARSE_DRILL_STATE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub command: Option<DrillCommand>,
    #[command(flatten)]
    pub start: DrillStartArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct DrillStartArgs {
    /// The drill: a scenario file with a `drill:` section.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Where each check attempt's report goes [default: rehearse-report/drill-<name>-<time>/].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Show the setup's steps by name (for the trainer: the names tell what is broken).
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub state: StateArg,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Run the drill's checks now: which still fail, and once all pass, the time to
    /// repair, attempts, hints used and data lost.
    #[command(
        after_help = "Exit codes: 0 every check passes (solved), 1 some still fail, 2 invalid input (no drill), 3 environment or engine error."
    )]
    Status(DrillStatusArgs),
    /// Remove the drill's replica and forget the drill.
    #[command(
        after_help = "Exit codes: 0 ended, 2 invalid input (no drill), 3 environment or engine error."
    )]
    End {
        #[command(flatten)]
        state: StateArg,
    },
}

#[derive(Debug, Args)]
pub struct DrillStatusArgs {
    /// Reveal the next hint (they go from mild to explicit) before the checks run.
    #[arg(long)]
    pub hint: bool,
    #[command(flatten)]
    pub state: StateArg,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The host (as the drill's scenario names it).
    pub host: String,
    /// A command to run instead of a login shell (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    #[command(flatten)]
    pub state: StateArg,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A report folder (or its report.json).
    pub dir: PathBuf,
    /// The formats to render [default: all]; each is written into the folder.
    #[arg(long, short, value_enum)]
    pub format: Vec<FormatArg>,
    /// Print the one format asked for to standard output instead of writing a file.
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Html,
    Md,
    Junit,
}

impl FormatArg {
    pub fn format(self) -> crate::report::Format {
        match self {
            FormatArg::Html => crate::report::Format::Html,
            FormatArg::Md => crate::report::Format::Markdown,
            FormatArg::Junit => crate::report::Format::Junit,
        }
    }
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier rehearsal: a report folder or its report.json.
    pub before: PathBuf,
    /// The later rehearsal.
    pub after: PathBuf,
    /// Print the difference as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// `text` for reading, `md` for the book's table, `json` for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FindingsFormat,
    /// List the items of the release notes of bookworm and trixie instead: for each, the
    /// finding that detects it and the test that plants it, or why a replica cannot
    /// show it, or why it does not concern a server.
    #[arg(long)]
    pub release_notes: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FindingsFormat {
    Text,
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of report.json instead of the scenario's.
    #[arg(long)]
    pub report: bool,
}

/// The exit codes of `rehearse run`, with how several scenarios combine
/// (see [`crate::exit_code::combine`]).
const RUN_AFTER_HELP: &str = "\
Exit codes: 0 GO, 1 NO-GO, 2 invalid input, 3 environment or engine error, 130 interrupted.
With several scenarios the most serious code wins: 3 if any run hit an environment or
engine error, else 2 if any met invalid input while running, else 130 if interrupted,
else 1 if any NO-GO, else 0. Every scenario is validated before any run starts.

A folder stands for every `*.yaml` and `*.yml` file directly in it, sorted by path
(not its subfolders: `scenarios/` leaves out `scenarios/drills/`). A folder, or
`--shard`, always rehearses as a matrix (a report subfolder per scenario, and
matrix.json), even for one scenario. With `--shard K/N` every scenario is still
validated, the shard's or not (so every CI job fails on any invalid file); then only
the shard's are rehearsed. A shard that takes no scenario (more shards than
scenarios) is GO.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file(s) or folder(s); several are rehearsed as a matrix, each on its
    /// own replica. A folder means every *.yaml/*.yml file directly in it, sorted by
    /// path; its subfolders are not searched.
    #[arg(required = true, value_name = "SCENARIO|DIR")]
    pub scenarios: Vec<PathBuf>,
    /// Rehearse only shard K of N: the scenarios at positions K, K+N, K+2N... (from 1) of
    /// the list, folders expanded; CI jobs K=1..N given the same arguments rehearse every
    /// scenario once. Every scenario is still validated first.
    #[arg(long, value_name = "K/N", conflicts_with = "from")]
    pub shard: Option<Shard>,
    /// Where to write report.json, report.html, report.md and junit.xml
    /// [default: rehearse-report/<scenario>-<time>/]. With several scenarios: one
    /// subfolder per scenario and matrix.json [default: rehearse-report/matrix-<time>/].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// With several scenarios: how many rehearse at once (each needs its own replica).
    #[arg(
        long,
        short,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub jobs: u16,
    /// Keep the replica running at the end and print how to enter it (each scenario's
    /// own, with several).
    #[arg(long)]
    pub keep: bool,
    /// Print only the summary and the verdict.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every line of image builds and step output.
    #[arg(long, short)]
    pub verbose: bool,
    /// What goes to standard output at the end: the summary tables, or report.json
    /// itself (for scripts; progress still goes to standard error). With several
    /// scenarios: one combined table, or matrix.json with each run's whole report.
    #[arg(long, value_enum, default_value_t = OutputArg::Table)]
    pub output: OutputArg,
    /// Start at this step (name or number) from the checkpoint an earlier run saved
    /// before it, when the hosts and the steps before it are unchanged.
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
    /// Save no checkpoints (before upgrade, migrate and cutover steps, and at `snapshot`
    /// steps); `--from` then has nothing to start from next time.
    #[arg(long)]
    pub no_checkpoints: bool,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Folder of image recipes [default: the nearest `images/` above the scenario, else ./images].
    #[arg(long, value_name = "DIR", env = "REHEARSE_IMAGES_DIR")]
    pub images_dir: Option<PathBuf>,
    /// Debian mirror (use http://archive.debian.org/debian for buster and older).
    #[arg(
        long,
        value_name = "URL",
        env = "REHEARSE_MIRROR",
        default_value = "http://deb.debian.org/debian"
    )]
    pub mirror: String,
    /// Debian security mirror.
    #[arg(
        long,
        value_name = "URL",
        env = "REHEARSE_SECURITY_MIRROR",
        default_value = "http://deb.debian.org/debian-security"
    )]
    pub security_mirror: String,
    /// Where base images come from: `auto` pulls `debian:<suite>` if the engine can,
    /// else bootstraps; `bootstrap` uses mmdebstrap if installed, else the built-in
    /// bootstrap; `pull`, `mmdebstrap` and `builtin` use only that one.
    #[arg(long, value_enum, default_value_t = BaseSourceArg::Auto)]
    pub base_source: BaseSourceArg,
    /// Folder of the package cache, the proxy through which the bootstrap, the image
    /// builds and the replica's hosts fetch Debian packages [default:
    /// $XDG_CACHE_HOME/rehearse/apt, else ~/.cache/rehearse/apt].
    #[arg(long, value_name = "DIR", env = "REHEARSE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Fetch Debian packages from the mirrors directly: no package cache, no proxy.
    #[arg(long)]
    pub no_apt_cache: bool,
    /// Send apt through this proxy of yours (apt-cacher-ng, squid…) instead of the
    /// built-in package cache; containers must be able to reach it at this URL.
    #[arg(long, value_name = "URL", env = "REHEARSE_APT_PROXY")]
    pub apt_proxy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BaseSourceArg {
    Auto,
    Pull,
    Bootstrap,
    Mmdebstrap,
    Builtin,
}

impl BuildArgs {
    /// Build settings; the images folder is looked up from `anchor` (a scenario file).
    pub fn settings(&self, anchor: Option<&Path>) -> BuildSettings {
        BuildSettings {
            mirror: self.mirror.trim_end_matches('/').to_string(),
            security_mirror: self.security_mirror.trim_end_matches('/').to_string(),
            base_source: match self.base_source {
                BaseSourceArg::Auto => BaseSource::Auto,
                BaseSourceArg::Pull => BaseSource::Pull,
                BaseSourceArg::Bootstrap => BaseSource::Bootstrap,
                BaseSourceArg::Mmdebstrap => BaseSource::Mmdebstrap,
                BaseSourceArg::Builtin => BaseSource::Builtin,
            },
            images_dir: self
                .images_dir
                .clone()
                .unwrap_or_else(|| find_images_dir(anchor)),
            apt_proxy: match &self.apt_proxy {
                Some(url) if !self.no_apt_cache => Some(AptProxy::External { url: url.clone() }),
                _ => None,
            },
        }
    }

    /// Start the built-in package cache unless it is off (`--no-apt-cache`) or the
    /// user's own proxy replaces it (`--apt-proxy`). A cache that cannot start is a
    /// warning: the rehearsal then fetches from the mirrors directly. `Err` is the exit
    /// code of a bad `REHEARSE_APT_CACHE_RESOLVE`.
    pub async fn start_apt_cache(&self, engine: &EngineChoice) -> Result<Option<AptCache>, i32> {
        if self.no_apt_cache || self.apt_proxy.is_some() {
            return Ok(None);
        }
        if engine.endpoint.is_remote() {
            // Its containers could not reach a proxy on this machine.
            errln!(
                "notice: no package cache: the engine at `{}` is on another machine (pass --apt-proxy with a proxy its containers can reach)",
                engine.endpoint.url()
            );
            return Ok(None);
        }
        let Some(dir) = self.cache_dir.clone().or_else(default_cache_dir) else {
            errln!(
                "warning: no package cache: neither XDG_CACHE_HOME nor HOME is set; pass --cache-dir"
            );
            return Ok(None);
        };
        let mut config = AptCacheConfig::new(
            dir,
            vec![
                self.mirror.trim_end_matches('/').to_string(),
                self.security_mirror.trim_end_matches('/').to_string(),
            ],
        );
        if let Ok(spec) = std::env::var("REHEARSE_APT_CACHE_RESOLVE") {
            config.resolve = crate::apt_cache::parse_resolve(&spec).map_err(|e| {
                errln!("error: REHEARSE_APT_CACHE_RESOLVE: {e}");
                crate::exit_code::INVALID_INPUT
            })?;
        }
        match AptCache::start(config).await {
            Ok(cache) => Ok(Some(cache)),
            Err(e) => {
                errln!("warning: {e}; fetching packages from the mirrors directly");
                Ok(None)
            }
        }
    }
}

/// Send a run's apt through the built-in cache, and count it in the run's report.
fn use_apt_cache(options: &mut crate::runner::RunOptions, cache: Option<&AptCache>) {
    if let Some(cache) = cache {
        options.build.apt_proxy = Some(cache.proxy());
        options.apt_cache = Some(cache.stats());
    }
}

/// `$XDG_CACHE_HOME/rehearse/apt`, else `$HOME/.cache/rehearse/apt`.
fn default_cache_dir() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("rehearse").join("apt"))
}

/// The nearest `images/` folder at or above the scenario's folder, else `./images`.
pub fn find_images_dir(anchor: Option<&Path>) -> PathBuf {
    let start = anchor.and_then(|p| p.parent()).map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    if let Some(start) = start
        && let Ok(start) = start.canonicalize()
    {
        for dir in start.ancestors() {
            let candidate = dir.join("images");
            if candidate.is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from("images")
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files or folders to validate; a folder means every *.yaml/*.yml file
    /// directly in it, sorted by path (its subfolders are not searched).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    /// Validate every file as `run --shard K/N` does, and list (`ok:`) only the ones
    /// shard K of N would rehearse.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Folder of image recipes (checked too) [default: as for `run`].
    #[arg(long, value_name = "DIR", env = "REHEARSE_IMAGES_DIR")]
    pub images_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: ImagesCommand,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the images of the named recipes (all recipes when none is named), or find
    /// them in the cache when their recipe is unchanged.
    #[command(
        after_help = "Exit codes: 0 every image built or found, 2 invalid input (a recipe), 3 environment or engine error, 130 interrupted."
    )]
    Build {
        /// Recipes to build: folder names under --images-dir [default: every recipe
        /// there].
        #[arg(value_name = "RECIPE")]
        names: Vec<String>,
        #[command(flatten)]
        build: BuildArgs,
        /// Print every line of the builds' output.
        #[arg(long, short)]
        verbose: bool,
    },
    /// List the cached images.
    #[command(after_help = "Exit codes: 0 listed, 3 environment or engine error.")]
    List,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Also remove cached images (and checkpoints, which are made from them).
    #[arg(long)]
    pub images: bool,
    /// Also remove checkpoints (hosts saved for `run --from`), which outlive runs.
    #[arg(long)]
    pub checkpoints: bool,
    /// With --checkpoints or --images: only those created longer ago than this
    /// (`7d`, `12h`).
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Also remove resources of runs that look alive or belong to another machine.
    #[arg(long)]
    pub force: bool,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Also empty the package cache (Debian packages and indexes fetched for the replicas).
    #[arg(long)]
    pub apt_cache: bool,
    /// Folder of the package cache [default: $XDG_CACHE_HOME/rehearse/apt, else
    /// ~/.cache/rehearse/apt].
    #[arg(long, value_name = "DIR", env = "REHEARSE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl GcArgs {
    /// The package cache folder `--apt-cache` empties.
    pub fn apt_cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir.clone().or_else(default_cache_dir)
    }
}

/// Run the parsed command line; returns the exit code.
/// The secrets of the scenarios loaded so far, kept out of a panic's message too.
static PANIC_SECRETS: std::sync::Mutex<Vec<crate::redact::Secret>> =
    std::sync::Mutex::new(Vec::new());

/// Redact `secrets` from the message of any later panic.
pub(crate) fn keep_out_of_panics(secrets: &[crate::redact::Secret]) {
    PANIC_SECRETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(secrets.iter().cloned());
}

/// A panic says where and what, like Rust's own hook, with every secret redacted.
fn redact_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        errln!(
            "{}",
            panic_report(thread.name().unwrap_or("<unnamed>"), &info.to_string())
        );
    }));
}

/// What the panic hook prints: the thread and the panic's own text, without the
/// secrets of the scenarios loaded so far.
fn panic_report(thread: &str, panic: &str) -> String {
    let secrets = PANIC_SECRETS.lock().map(|s| s.clone()).unwrap_or_default();
    let redactor = crate::redact::Redactor::new(&secrets);
    format!("thread '{thread}' {}", redactor.redact(panic))
}

#[cfg(test)]
mod panic_tests {
    #[test]
    fn a_panic_report_holds_no_secret() {
        super::keep_out_of_panics(&[crate::redact::Secret {
            name: "DB_PASSWORD".into(),
            value: "hunter2 & <more>".into(),
        }]);
        let report = super::panic_report(
            "main",
            "panicked at src/x.rs:1:1:\nbad value \"hunter2 & <more>\" or hunter2%20%26%20%3Cmore%3E",
        );
        assert_eq!(
            report,
            "thread 'main' panicked at src/x.rs:1:1:\nbad value \"[redacted:DB_PASSWORD]\" or [redacted:DB_PASSWORD]"
        );
    }
}

pub fn main(cli: Cli) -> i32 {
    redact_panics();
    match cli.command {
        Command::Check(args) => check::check(&args),
        Command::Capture(args) => capture::run(&args),
        Command::Report(args) => report::report(&args),
        Command::Diff(args) => report::diff(&args),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "rehearse", &mut std::io::stdout());
            crate::exit_code::GO
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                Ok(()) => crate::exit_code::GO,
                Err(e) => {
                    errln!("error: cannot print the manual page: {e}");
                    crate::exit_code::ENVIRONMENT
                }
            }
        }
        Command::Findings(args) => {
            use crate::findings::catalogue;
            let text = match (args.format, args.release_notes) {
                (FindingsFormat::Text, false) => crate::findings::text_list(),
                (FindingsFormat::Md, false) => crate::findings::markdown_table(),
                (FindingsFormat::Json, false) => crate::findings::json_list(),
                (FindingsFormat::Text, true) => catalogue::text_list(),
                (FindingsFormat::Md, true) => catalogue::markdown_table(),
                (FindingsFormat::Json, true) => catalogue::json_list(),
            };
            outln!("{}", text.trim_end());
            crate::exit_code::GO
        }
        Command::Schema(args) => {
            let schema = if args.report {
                crate::report::json_schema()
            } else {
                crate::scenario::json_schema(crate::runner::step_kinds())
            };
            outln!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            crate::exit_code::GO
        }
        command => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    errln!("error: cannot start the async runtime: {e}");
                    return crate::exit_code::ENVIRONMENT;
                }
            };
            let engine_args = match &command {
                Command::Run(args) => &args.engine,
                Command::Images(args) => &args.engine,
                Command::Gc(args) => &args.engine,
                Command::Drill(args) => &args.engine,
                Command::Shell(args) => &args.engine,
                Command::Import(args) => &args.engine,
                Command::Watchdog(args) => &args.engine,
                _ => unreachable!("the commands without an engine are handled above"),
            };
            let engine = match engine_args.choice() {
                Ok(engine) => engine,
                Err(e) => {
                    errln!("error: {e}");
                    return crate::exit_code::INVALID_INPUT;
                }
            };
            let code = runtime.block_on(async {
                match command {
                    Command::Run(args) => run::run(&args, &engine).await,
                    Command::Images(args) => images::images(args.command, &engine).await,
                    Command::Gc(args) => gc::gc(&args, &engine).await,
                    Command::Drill(args) => drill::drill(&args, &engine).await,
                    Command::Shell(args) => shell::shell(&args, &engine).await,
                    Command::Import(args) => import::run(&args, &engine).await,
                    Command::Watchdog(args) => watchdog::serve(&args.owner, &engine).await,
                    Command::Check(_)
                    | Command::Capture(_)
                    | Command::Schema(_)
                    | Command::Findings(_)
                    | Command::Report(_)
                    | Command::Diff(_)
                    | Command::Completions(_)
                    | Command::Man => unreachable!("handled above"),
                }
            });
            // Every command has finished its work, cleanup included. What may still be
            // waiting is a read of standard input (`shell`) that only a key press would
            // end: dropping the runtime would wait for it.
            runtime.shutdown_background();
            code
        }
    }
}

/// The default report folder: `rehearse-report/<name>-<time>` (UTC, to the second).
fn default_report_dir(name: &str, at: jiff::Timestamp) -> PathBuf {
    let stamp = at.strftime("%Y%m%dT%H%M%SZ");
    PathBuf::from("rehearse-report").join(format!("{name}-{stamp}"))
}

/// Connect to the Docker engine, or say why not; the error is the exit code to use.
async fn connect(engine: &EngineChoice) -> Result<crate::engine::DockerEngine, i32> {
    crate::engine::DockerEngine::connect(&engine.endpoint)
        .await
        .map_err(|e| {
            errln!("error: {e}");
            crate::exit_code::ENVIRONMENT
        })
}

/// Where the prober reaches ports the engine publishes, when the hosts are probed
/// through them (see [`EngineChoice::publishes`]); `None`: at their own addresses.
/// Tells `engine` where to publish them: `--publish-address`, else loopback for an
/// engine on this machine and the address the prober reaches for another one, never
/// every interface unless asked.
async fn publish_address(
    engine: &mut crate::engine::DockerEngine,
    choice: &EngineChoice,
) -> Result<Option<std::net::IpAddr>, i32> {
    if !choice.publishes() {
        return Ok(None);
    }
    match engine.published_address().await {
        Ok(address) => {
            let on = choice.publish_address.unwrap_or(address);
            engine.publish_on(on);
            let listening = if on == address {
                String::new()
            } else {
                format!(" (listening on {on})")
            };
            errln!(
                "notice: the hosts are probed through the ports the engine at `{}` publishes on {address}{listening}",
                choice.endpoint.url()
            );
            Ok(Some(address))
        }
        Err(e) => {
            errln!("error: {e}");
            Err(crate::exit_code::ENVIRONMENT)
        }
    }
}

/// Whether to colour output on stdout: a terminal, and `NO_COLOR` unset.
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A live view's spinner on this terminal's standard error, when it is a terminal.
fn spinner(interactive: bool) -> Option<crate::report::terminal::SpinnerTarget> {
    interactive.then_some(indicatif::ProgressDrawTarget::stderr as _)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_args(args: &[&str]) -> BuildArgs {
        let mut argv = vec!["rehearse", "images", "build"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Images(ImagesArgs {
                command: ImagesCommand::Build { build, .. },
                ..
            }) => build,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_users_proxy_replaces_the_cache_and_no_apt_cache_turns_both_off() {
        let own = build_args(&["--apt-proxy", "http://cacher:3142"]);
        assert_eq!(
            own.settings(None).apt_proxy,
            Some(AptProxy::External {
                url: "http://cacher:3142".into()
            })
        );
        assert!(own.start_apt_cache(&local()).await.unwrap().is_none());
        let off = build_args(&["--apt-proxy", "http://cacher:3142", "--no-apt-cache"]);
        assert_eq!(off.settings(None).apt_proxy, None);
        assert!(off.start_apt_cache(&local()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_cache_starts_in_the_folder_given() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("apt");
        let args = build_args(&["--cache-dir", folder.to_str().unwrap()]);
        let cache = args
            .start_apt_cache(&local())
            .await
            .unwrap()
            .expect("a cache");
        assert!(folder.is_dir());
        assert!(
            matches!(cache.proxy(), AptProxy::Builtin { hosts, .. } if hosts == ["deb.debian.org"])
        );
    }

    fn local() -> EngineChoice {
        EngineChoice {
            endpoint: crate::engine::Endpoint::parse("unix:///var/run/docker.sock", None).unwrap(),
            publish_ports: false,
            publish_address: None,
        }
    }

    #[tokio::test]
    async fn an_engine_on_another_machine_gets_no_package_cache_and_is_probed_through_published_ports()
     {
        let remote = EngineChoice {
            endpoint: crate::engine::Endpoint::parse("tcp://10.0.0.5:2375", None).unwrap(),
            publish_ports: false,
            publish_address: None,
        };
        assert!(remote.publishes());
        let dir = tempfile::tempdir().unwrap();
        let args = build_args(&["--cache-dir", dir.path().to_str().unwrap()]);
        assert!(args.start_apt_cache(&remote).await.unwrap().is_none());
        assert!(!local().publishes());
        let forced = EngineChoice {
            publish_ports: true,
            ..local()
        };
        assert!(forced.publishes());
    }

    #[test]
    fn the_engine_flags_are_accepted_by_every_command_that_uses_the_engine() {
        for command in [
            &["run", "s.yaml"][..],
            &["images", "list"],
            &["gc"],
            &["drill", "status"],
            &["shell", "web"],
        ] {
            let mut argv = vec!["rehearse"];
            argv.extend_from_slice(command);
            argv.extend([
                "--docker-host",
                "tcp://10.0.0.5:2376",
                "--tls-verify",
                "--publish-ports",
            ]);
            let cli = Cli::try_parse_from(&argv).unwrap();
            let engine = match &cli.command {
                Command::Run(args) => &args.engine,
                Command::Images(args) => &args.engine,
                Command::Gc(args) => &args.engine,
                Command::Drill(args) => &args.engine,
                Command::Shell(args) => &args.engine,
                _ => unreachable!(),
            };
            assert_eq!(engine.docker_host.as_deref(), Some("tcp://10.0.0.5:2376"));
            assert!(engine.tls_verify && engine.publish_ports, "{argv:?}");
        }
        // The commands that never touch an engine do not take its flags.
        for command in ["check", "schema", "report", "diff", "capture"] {
            let error = Cli::try_parse_from(["rehearse", command, "--docker-host", "tcp://x:1"])
                .unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{command}"
            );
        }
    }
}
