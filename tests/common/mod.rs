//! Helpers shared by the CLI and Docker-backed tests: they run the real `rehearse`
//! binary and inspect the real engine with the `docker` CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rehearse` binary, run from the repository root.
pub fn rehearse(args: &[&str]) -> Output {
    rehearse_with_env(args, &[])
}

/// The CLI with extra environment variables (secrets for `${env:NAME}`).
pub fn rehearse_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("the rehearse binary runs")
}

/// Send a signal (`INT`, `TERM`, `KILL`...) to a child process, as `kill -NAME` does.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a Docker engine answers. With `REHEARSE_REQUIRE_DOCKER=1` (CI) a missing
/// engine fails the test instead of skipping it.
pub fn docker_available() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !answers {
        if std::env::var("REHEARSE_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("REHEARSE_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`");
        }
        eprintln!(
            "skipped: no Docker engine (set REHEARSE_REQUIRE_DOCKER=1 to make this a failure)"
        );
        return false;
    }
    hold_engine(Hold::Shared);
    true
}

/// Whether a Docker engine answers (as [`docker_available`]), and then the engine to this
/// test alone: no Docker-backed test of this or any other test program runs until it
/// ends. For tests that other programs' tests running beside them would break: one that
/// counts what a killed run left (any run's start removes dead runs' leftovers), one that
/// runs `rehearse gc` without `--run` (it removes what other tests' runs kept), one that
/// measures latency or availability (see [`measuring_alone`]).
pub fn engine_alone() -> bool {
    if !docker_available() {
        return false;
    }
    hold_engine(Hold::Exclusive);
    true
}

/// How a test holds the engine among the test programs that may run side by side
/// (`.ci/run` runs two at once): shared by default, exclusive for the tests of
/// [`engine_alone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Shared,
    Exclusive,
}

thread_local! {
    /// The lock the test running on this thread holds (libtest runs each test on a
    /// thread of its own): released when the test's thread ends, whether it passed or
    /// panicked. Files `std` opens are closed on exec, so a `rehearse` a test leaves
    /// running does not hold it.
    static HELD: std::cell::RefCell<Option<(Hold, std::fs::File)>> =
        const { std::cell::RefCell::new(None) };
}

/// Take the engine lock for the test on this thread: `flock` on a file of the target
/// folder, shared or exclusive. A test that asks for exclusive waits behind a gate
/// that the tests asking for shared then wait at, so the other program's tests, which
/// overlap one another, cannot keep it waiting until that program ends.
fn hold_engine(wanted: Hold) {
    use rustix::fs::{FlockOperation, flock};
    let held = HELD.with(|held| held.borrow().as_ref().map(|(hold, _)| *hold));
    if held == Some(Hold::Exclusive) || held == Some(wanted) {
        return;
    }
    // Shared then exclusive: let go first (two locks of one thread on one file would
    // wait for each other).
    HELD.with(|held| held.borrow_mut().take());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let open = |name: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(name))
            .unwrap()
    };
    let gate = open("rehearse-engine.gate");
    let engine = open("rehearse-engine.lock");
    let (at_gate, on_engine) = match wanted {
        Hold::Shared => (FlockOperation::LockShared, FlockOperation::LockShared),
        Hold::Exclusive => (FlockOperation::LockExclusive, FlockOperation::LockExclusive),
    };
    flock(&gate, at_gate).unwrap();
    flock(&engine, on_engine).unwrap();
    drop(gate);
    HELD.with(|held| *held.borrow_mut() = Some((wanted, engine)));
}

static IMAGES: Mutex<Option<String>> = Mutex::new(None);

/// Build the test images once per test process (later calls hit the cache); returns
/// the first build's progress output.
pub fn images_ready() -> String {
    let mut built = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(output) = built.as_ref() {
        return output.clone();
    }
    // One test program at a time builds them; the next finds them in the cache.
    let _building = images_lock();
    let output = rehearse(&[
        "images",
        "build",
        "static-site",
        "lamp-bullseye",
        "web-pgsql-bookworm",
        "lamp-bookworm",
    ]);
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "building the test images failed:\n{}\n{stderr}",
        text(&output.stdout)
    );
    *built = Some(stderr.clone());
    stderr
}

/// An exclusive `flock` held while test images are built, so that test programs run side
/// by side do not build the same ones at once.
pub fn images_lock() -> std::fs::File {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).unwrap();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("rehearse-images.lock"))
        .unwrap();
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).unwrap();
    file
}

/// Containers, networks, volumes and snapshot images still labelled with this run id.
pub fn leftovers(run_id: &str) -> Vec<String> {
    let filter = format!("label=rehearse.run={run_id}");
    let mut found = Vec::new();
    for args in [
        vec!["ps", "-aq", "--filter", &filter],
        vec!["network", "ls", "-q", "--filter", &filter],
        vec!["volume", "ls", "-q", "--filter", &filter],
        vec!["images", "-q", "--filter", &filter],
    ] {
        let output = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker runs");
        found.extend(
            text(&output.stdout)
                .lines()
                .map(|l| format!("{} {l}", args[0])),
        );
    }
    // The cgroup parents of confined replicas (the engine runs on this machine).
    for parent in cgroup_parents(run_id) {
        let name = parent.file_name().unwrap_or_default().to_string_lossy();
        let entry = format!("cgroup /docker/rehearse/{name}");
        if parent.is_dir() && !found.contains(&entry) {
            found.push(entry);
        }
    }
    found
}

/// The cgroup parents, in every hierarchy, of the confined replicas of run `run_id`.
fn cgroup_parents(run_id: &str) -> Vec<std::path::PathBuf> {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    hierarchies
        .flatten()
        .filter_map(|h| std::fs::read_dir(h.path().join("docker/rehearse")).ok())
        .flat_map(|parents| parents.flatten())
        .filter(|p| p.file_name().to_string_lossy().contains(run_id))
        .map(|p| p.path())
        .collect()
}

/// Run a scenario with a report folder of its own; the folder lives as long as the result.
pub struct RunResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: serde_json::Value,
    pub dir: tempfile::TempDir,
}

/// A failed run in a few lines for an assertion's message: exit code, verdict, the
/// steps that did not pass (their report entries, evidence included), the findings'
/// keys, and the ends of stderr and stdout. CI shows a long message's head and tail
/// only, and the whole of stdout (progress, then the table) would push the failing
/// step out of sight.
impl std::fmt::Display for RunResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn tail(text: &str, lines: usize) -> String {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        writeln!(
            f,
            "exit code {}, verdict {}",
            self.code, self.report["verdict"]
        )?;
        let steps = self.report["steps"].as_array().into_iter().flatten();
        for s in steps.filter(|s| s["status"] != "passed") {
            let entry = rehearse::probe::excerpt(&s.to_string(), 2000);
            writeln!(f, "step not passed: {entry}")?;
        }
        writeln!(f, "findings: {:?}", finding_keys(&self.report))?;
        writeln!(f, "stderr, last lines:\n{}", tail(&self.stderr, 30))?;
        write!(f, "stdout, last lines:\n{}", tail(&self.stdout, 20))
    }
}

pub fn run_scenario(path: &str, extra: &[&str]) -> RunResult {
    run_scenario_with_env(path, extra, &[])
}

/// [`run_scenario`] with extra environment variables.
pub fn run_scenario_with_env(path: &str, extra: &[&str], env: &[(&str, &str)]) -> RunResult {
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let mut args = vec!["run", path, "--report-dir", report_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = rehearse_with_env(&args, env);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    let report = report(&report_dir);
    RunResult {
        code: output.status.code().unwrap_or(-1),
        stdout,
        stderr,
        report,
        dir,
    }
}

pub fn step<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {report:#}"))
}

pub fn probe<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no probe `{name}` in {report:#}"))
}

/// Keys of the report's findings, in order.
pub fn finding_keys(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

pub fn finding<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no finding `{key}` in {:?}", finding_keys(report)))
}

pub fn assert_clean(run: &RunResult) {
    let run_id = run.report["run_id"].as_str().unwrap();
    assert_eq!(
        leftovers(run_id),
        Vec::<String>::new(),
        "run {run_id} left resources behind"
    );
}

/// Read `report.json` from a report folder.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json exists");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// A run's report folder holds every format, and its `report.json` is valid against
/// the schema the tool prints (`rehearse schema --report`); re-rendering the folder
/// gives the same files the run wrote.
pub fn assert_reports_valid(run: &RunResult) {
    let dir = run.dir.path().join("report");
    let output = rehearse(&["schema", "--report"]);
    assert!(output.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&run.report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report.json against its schema: {errors:#?}"
    );
    for (name, format) in [
        ("report.html", "html"),
        ("report.md", "md"),
        ("junit.xml", "junit"),
    ] {
        let written = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("the run wrote no {name}: {e}"));
        assert!(!written.trim().is_empty(), "{name} is empty");
        let again = rehearse(&[
            "report",
            dir.to_str().unwrap(),
            "--format",
            format,
            "--stdout",
        ]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(
            text(&again.stdout),
            written,
            "{name} rendered again differs"
        );
    }
}

/// The owner label a process with this pid carries (see `rehearse::owner`).
pub fn owner_of(pid: u32) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    format!("{}/{pid}/{start}", host.trim())
}

/// Remove the checkpoints `scenario`'s runs left (they outlive runs on purpose).
pub fn remove_checkpoints(scenario: &str) {
    let out = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("label=rehearse.checkpoint.scenario={scenario}"),
        ])
        .output()
        .unwrap();
    let ids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    if !ids.is_empty() {
        Command::new("docker")
            .args(["rmi", "-f"])
            .args(&ids)
            .output()
            .unwrap();
    }
}

/// A `rehearse run` in the background, its report going to `dir`.
pub fn spawn_run(scenario: &str, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", scenario, "--report-dir", dir.to_str().unwrap()])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rehearse starts")
}

pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    text(&output.stdout).trim().to_string()
}

/// The container of a run's host, once it exists (not a helper container, which
/// carries the owner too, and may inherit other labels from its image).
pub fn container_of(owner: &str, deadline: Duration) -> String {
    let started = Instant::now();
    loop {
        let listed = docker(&[
            "ps",
            "--filter",
            &format!("label=rehearse.owner={owner}"),
            "--format",
            "{{.ID}} run={{.Label \"rehearse.run\"}} helper={{.Label \"rehearse.helper\"}}",
        ]);
        let host = listed.lines().find_map(|line| {
            let (id, labels) = line.split_once(' ')?;
            (!labels.contains("run= ") && labels.ends_with("helper=")).then(|| id.to_string())
        });
        if let Some(id) = host {
            return id;
        }
        assert!(
            started.elapsed() < deadline,
            "no container for owner {owner}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The run id of the resources an owner created.
pub fn run_id_of(container: &str) -> String {
    docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"rehearse.run\"}}",
        container,
    ])
}

/// The pid of the watchdog of the process whose owner string is `owner`, if running.
pub fn watchdog_of(owner: &str) -> Option<u32> {
    let output = Command::new("pgrep")
        .args(["-f", &format!("__watchdog --owner {owner} ")])
        .output()
        .ok()?;
    text(&output.stdout).lines().next()?.trim().parse().ok()
}

/// Wait up to `limit` for `done`; whether it came.
pub fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if done() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Remove the (empty) cgroup parents of a run's replicas removed with `docker rm`, as
/// `rehearse gc` does (the engine runs on this machine).
pub fn sweep_cgroup_parents(run_id: &str) {
    for parent in cgroup_parents(run_id) {
        let _ = std::fs::remove_dir(parent);
    }
}

/// Held by a test whose verdict rests on measured latency and availability (monitors
/// at hundreds of requests a second): the engine to itself ([`engine_alone`]), so that
/// on a 2-core machine it measures the replica, not the other tests (a cutover beside
/// image builds lost 2 of 1559 requests to timeouts, p99 1.3 s, where alone it loses
/// none). Call it where the measured part starts; the hold lasts until the test ends.
pub fn measuring_alone() -> Alone {
    hold_engine(Hold::Exclusive);
    Alone
}

/// The mark of a test that has the engine to itself until it ends.
#[derive(Debug)]
pub struct Alone;

/// Removes what a test's runs kept (`--keep`), and the images of the recipe it built, if
/// any (by their `rehearse.recipe` label), whether the test passes or panics.
pub struct Cleanup {
    pub run_ids: Vec<String>,
    pub recipe: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for run_id in &self.run_ids {
            let filter = format!("label=rehearse.run={run_id}");
            for (list, remove) in [
                (vec!["ps", "-aq"], vec!["rm", "-f", "-v"]),
                (vec!["network", "ls", "-q"], vec!["network", "rm"]),
                (vec!["volume", "ls", "-q"], vec!["volume", "rm", "-f"]),
                (vec!["images", "-q"], vec!["rmi", "-f"]),
            ] {
                let ids = docker_lines(&[list.as_slice(), &["--filter", &filter]].concat());
                if !ids.is_empty() {
                    let _ = Command::new("docker").args(&remove).args(&ids).output();
                }
            }
        }
        // What `docker rm` leaves of a kept replica, its cgroup parent, `rehearse gc`
        // would sweep; not run here, where it would also take the other tests' kept
        // replicas (their runs are over too).
        for run_id in &self.run_ids {
            sweep_cgroup_parents(run_id);
        }
        let Some(recipe) = &self.recipe else {
            return;
        };
        let filter = format!("label=rehearse.recipe={recipe}");
        let images = docker_lines(&["images", "-aq", "--filter", &filter]);
        if !images.is_empty() {
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&images)
                .output();
        }
    }
}

pub fn docker_lines(args: &[&str]) -> Vec<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    let mut lines: Vec<String> = text(&output.stdout).lines().map(str::to_string).collect();
    lines.sort();
    lines.dedup();
    lines
}

/// Copy a program from this machine into a replica's `/usr/local/bin` under `name`.
pub fn copy_into(container: &str, program: &std::path::Path, name: &str) {
    let copied = Command::new("docker")
        .arg("cp")
        .arg(program)
        .arg(format!("{container}:/usr/local/bin/{name}"))
        .output()
        .expect("docker cp runs");
    assert!(copied.status.success(), "{}", text(&copied.stderr));
}

/// Run a command (not a shell script) in a replica, its output kept whatever its status.
pub fn docker_exec(container: &str, argv: &[&str]) -> std::process::Output {
    Command::new("docker")
        .arg("exec")
        .arg(container)
        .args(argv)
        .output()
        .expect("docker exec runs")
}

/// Run a shell line in a container as root; panics unless it succeeds.
pub fn sh(container: &str, script: &str) -> String {
    let output = docker_exec(container, &["sh", "-c", script]);
    assert!(
        output.status.success(),
        "`{script}` failed in {container}:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The one container a finished run kept (`--keep`).
pub fn kept_container(run_id: &str) -> String {
    let ids = docker_lines(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=rehearse.run={run_id}"),
    ]);
    assert_eq!(ids.len(), 1, "one kept container for run {run_id}: {ids:?}");
    ids[0].clone()
}

/// Findings that only a planted problem may produce: a clean upgrade must show none.
const PLANTED_KEYS: &[&str] = &[
    "apt.held-packages",
    "dpkg.audit",
    "sandbox.usr-not-merged",
    "apt.stale-security-suite",
    "apt.source-old-release",
    "upgrade.failed",
    "packages.protected-removed",
    "service.not-running",
    "apache.configtest-failed",
    "php.module-missing",
    "php.no-handler",
    "php.fatal-errors",
    "mariadb.not-running",
    "mariadb.upgrade-needed",
    "packages.kept-back",
    "service.removed",
    "systemd.degraded",
    "disk.space-short",
    "sandbox.unit-condition-unmet",
];

/// A finding's severity and inhibitor flag, and whether its evidence names `planted`.
pub fn assert_planted(
    report: &serde_json::Value,
    key: &str,
    severity: &str,
    inhibitor: bool,
    planted: &str,
) {
    let found = finding(report, key);
    assert_eq!(
        (found["severity"].as_str(), found["inhibitor"].as_bool()),
        (Some(severity), Some(inhibitor)),
        "{found:#}"
    );
    assert!(
        found["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line.as_str().unwrap().contains(planted)),
        "the evidence of `{key}` does not name `{planted}`: {found:#}"
    );
}

/// A clean reference upgrade has no inhibitor at all.
pub fn assert_no_inhibitor(report: &serde_json::Value) {
    let inhibitors: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["inhibitor"] == true)
        .collect();
    assert!(inhibitors.is_empty(), "{inhibitors:#?}");
}

/// Raised on a clean replica by the age of its cached image, not by the code: Debian
/// publishes an update to one of its packages after the image was built (images are
/// cached by content hash, not by the mirror's date). The planted tests show it fires.
const IMAGE_AGE_KEYS: &[&str] = &["apt.point-release-behind"];

/// A clean reference upgrade shows none of the findings only a planted problem may
/// produce: [`PLANTED_KEYS`] and every check of what the release notes warn about
/// (but [`IMAGE_AGE_KEYS`]).
pub fn assert_nothing_planted(report: &serde_json::Value) {
    let keys = finding_keys(report);
    let checks = rehearse::findings::CHECKS
        .iter()
        .map(|c| c.kind.key)
        .filter(|key| !IMAGE_AGE_KEYS.contains(key));
    for key in PLANTED_KEYS.iter().copied().chain(checks) {
        assert!(
            !keys.iter().any(|k| k == key),
            "`{key}` on a clean upgrade: {keys:?}"
        );
    }
}
