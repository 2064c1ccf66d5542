//! The runner: provisions the replica, runs the steps in order, emits events, and
//! always cleans up what it created — on success, NO-GO, error or interruption.

mod addresses;
mod apt_proxy;
mod backups;
pub mod checkpoint;
pub(crate) mod host_files;
pub(crate) mod log_watch;
mod provision;
mod step_log;
mod steps;
mod systemd;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::model::RedactingSink;
pub use crate::model::{EventSink, RunEvent};
pub use provision::host_copies;
pub use steps::{
    BackupStep, ConffilePolicy, ConfigEdit, CutoverStep, DatabaseCopy, DatabaseEngine,
    DnsSwitchStep, DrainCheckStep, ExecStep, Fault, FaultStep, LoseHostStep, MigrateStep,
    MonitorAction, MonitorStep, ProbeStep, RebootStep, RestoreStep, RevertStep, RevertTarget,
    RollbackStep, SnapshotStep, UpgradeStep, step_kinds,
};

/// [`crate::scenario::parse`] with every step kind of [`step_kinds`].
pub fn parse_scenario(
    path: &std::path::Path,
    source: &str,
) -> Result<crate::scenario::Scenario, crate::yaml::Diagnostics> {
    crate::scenario::parse(path, source, step_kinds())
}

/// [`crate::scenario::parse_with_env`] with every step kind of [`step_kinds`].
pub fn parse_scenario_with_env(
    path: &std::path::Path,
    source: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: crate::scenario::UnsetEnv,
) -> Result<crate::scenario::Scenario, crate::yaml::Diagnostics> {
    crate::scenario::parse_with_env(path, source, step_kinds(), lookup, unset)
}
pub use systemd::{BootError, BootState, wait_booted};

use crate::engine::{Engine, EngineError, KEEP_LABEL, OWNER_LABEL, RUN_LABEL};
use crate::images::{BuildSettings, ImageError};
use crate::model::Finding;
use crate::probe::{CheckOutcome, HostAddresses, Reach};
use crate::redact::Redactor;
use crate::report::{
    Environment, NOT_COVERED, ProbeReport, Report, SCHEMA_VERSION, StepReport, StepStatus,
};
use crate::scenario::Scenario;

/// How long systemd gets to stop everything before the engine kills a restarting host.
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Unique id of this run; names and labels every resource it creates.
    pub run_id: String,
    /// Leave the replica running at the end, for inspection.
    pub keep: bool,
    pub build: BuildSettings,
    /// Cancelled on Ctrl-C / SIGTERM: the run stops, cleans up and reports.
    pub cancel: CancellationToken,
    /// How long a host may take to boot (systemd) at provision and after a reboot.
    pub boot_timeout: Duration,
    /// Where steps keep full logs (the report folder's `logs/`); `None` keeps none.
    pub logs_dir: Option<std::path::PathBuf>,
    /// Save checkpoints before risky steps and at `snapshot` steps (see [`checkpoint`]).
    pub checkpoints: bool,
    /// Start from the checkpoint taken before this step (index in the scenario's
    /// steps, checked with [`checkpoint::resolve_from`]).
    pub from_step: Option<usize>,
    /// The built-in package cache's counters, when it runs (set with
    /// `build.apt_proxy`); the report gets what they counted during the run.
    pub apt_cache: Option<std::sync::Arc<crate::apt_cache::AptCacheStats>>,
    /// Count the drill's data (`drill: data:`) before the step it names, as the
    /// baseline a trainee's repair is compared with.
    pub drill_baseline: bool,
    /// Publish the ports the scenario's probes and monitors use on the engine's
    /// machine, and probe them there, at this address (a remote engine,
    /// `--publish-ports`); `None`: probe the containers' own addresses.
    pub publish: Option<std::net::IpAddr>,
}

impl RunOptions {
    pub fn new(run_id: String, build: BuildSettings) -> Self {
        RunOptions {
            run_id,
            keep: false,
            build,
            cancel: CancellationToken::new(),
            boot_timeout: Duration::from_secs(120),
            logs_dir: None,
            checkpoints: true,
            from_step: None,
            apt_cache: None,
            drill_baseline: false,
            publish: None,
        }
    }
}

/// A run that could not be carried out (as opposed to a NO-GO, which is a result).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(
        "no checkpoint before step `{step}` matches this scenario: an earlier run must reach that step with the same hosts, images and steps before it; run once without `--from`"
    )]
    NoCheckpoint { step: String },
    #[error(transparent)]
    Files(#[from] crate::local_files::LocalFileError),
    /// Any of the above whose message quoted a secret, with the secret redacted.
    #[error("{message}")]
    Redacted { message: String, input: bool },
}

impl RunError {
    /// True when the fault is in the user's input (a recipe), not the environment.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            RunError::Image(
                ImageError::Recipe(_) | ImageError::RecipeNotFound { .. } | ImageError::File(_)
            ) | RunError::Files(_)
                | RunError::NoCheckpoint { .. }
                | RunError::Redacted { input: true, .. }
        )
    }
}

/// What a run leaves besides its report.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: Report,
    /// The replica left running (`keep`), as the probes reach it.
    pub kept: Option<KeptReplica>,
    /// The drill's data counted before the incident (with `drill_baseline`): the
    /// number, or why it could not be counted; `None` when the step was never reached.
    pub baseline: Option<Result<u64, String>>,
}

/// A replica left running: its network and its hosts' containers and addresses.
#[derive(Debug, Clone)]
pub struct KeptReplica {
    pub network: String,
    pub hosts: HostAddresses,
}

/// A fresh run id: the scenario's name and a random suffix.
pub fn new_run_id(scenario: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    let short: String = scenario.chars().take(24).collect();
    format!("{short}-{:06x}", hasher.finish() & 0xff_ffff)
}

/// Everything a run created, recorded as it is created so cleanup works even when
/// the run is cancelled half-way.
#[derive(Debug, Default)]
struct Created {
    network: Option<(String, String)>,
    containers: Vec<(String, String)>,
    /// Host snapshots (image references).
    images: Vec<String>,
}

/// What the run has learnt so far; becomes the report.
#[derive(Debug, Default)]
struct RunState {
    steps: Vec<StepReport>,
    probes: Vec<ProbeReport>,
    findings: Vec<Finding>,
    environment: Environment,
    hosts: HostAddresses,
    log_watches: Vec<log_watch::LogWatch>,
    running_monitors: Vec<crate::monitor::RunningMonitor>,
    monitors: Vec<crate::monitor::MonitorReport>,
    /// When the steps that change how the site is served ran, for the monitors' phases.
    moments: Vec<Moment>,
    /// When the run started, for the steps' start times.
    started: Option<Instant>,
    /// When the step running now started (none between steps): the step an
    /// interruption stops.
    step_started: Option<Instant>,
    /// The step an interruption stopped: when it started and how long it had run.
    interrupted_step: Option<(Instant, Duration)>,
    /// CPUs of the engine's machine (a host's CPU limit cannot exceed them).
    engine_cpus: u32,
    /// Host snapshots by name: host → image reference.
    snapshots: BTreeMap<String, BTreeMap<String, String>>,
    /// Hash of what the hosts are made of, the base of checkpoint keys (set at provision).
    checkpoint_base: Option<String>,
    /// The checkpoint a `--from` run started from.
    resumed: Option<checkpoint::Found>,
    /// Processes the kernel killed for lack of memory, per host, when last looked at.
    oom_kills: BTreeMap<String, u64>,
    /// Backups taken by `backup` steps, one schedule per host, path and store.
    backups: Vec<backups::BackupSchedule>,
    /// Hands repeated backups to the background task that runs them.
    backup_jobs: Option<tokio::sync::mpsc::UnboundedSender<backups::BackupJob>>,
    /// Hosts lost, by name, until restored.
    losses: BTreeMap<String, Loss>,
    /// The package cache's counters when the run started.
    apt_cache_before: Option<crate::report::AptCacheReport>,
    /// The drill's data baseline, once counted.
    baseline: Option<Result<u64, String>>,
    /// Faults applied by `fault` steps, and how to undo them.
    faults: steps::FaultLedger,
}

/// A host lost by a `lose-host` or `restore` step.
#[derive(Debug)]
struct Loss {
    /// The step that lost it.
    step: String,
    at: Instant,
    /// The restore's `count` just before the loss (none: no `count`).
    rows_before: Option<Result<u64, String>>,
}

/// A step that changed how the site is served (migrate, cutover, DNS switch, reboot).
#[derive(Debug, Clone)]
struct Moment {
    name: String,
    kind: &'static str,
    start: Instant,
    end: Instant,
}

impl RunState {
    fn new(scenario: &Scenario, build: &BuildSettings) -> Self {
        RunState {
            probes: scenario
                .probes
                .iter()
                .map(|p| ProbeReport {
                    name: p.name.clone(),
                    kind: p.kind.label().to_string(),
                    host: p.kind.host().to_string(),
                    attempts: 0,
                    failures: 0,
                    checks: 0,
                    failed_checks: 0,
                    last_failure: None,
                })
                .collect(),
            environment: Environment {
                mirror: build.mirror.clone(),
                ..Environment::default()
            },
            ..RunState::default()
        }
    }

    fn record_check(&mut self, outcome: &CheckOutcome) {
        if let Some(probe) = self.probes.iter_mut().find(|p| p.name == outcome.probe) {
            probe.attempts += outcome.attempts;
            probe.failures += outcome.failures;
            probe.checks += 1;
            if !outcome.passed {
                probe.failed_checks += 1;
                probe.last_failure = Some(outcome.evidence.clone());
            }
        }
    }
}

/// What every part of a run shares.
struct Rehearsal<'a, E: Engine> {
    engine: &'a E,
    scenario: &'a Scenario,
    options: &'a RunOptions,
    /// Resources created so far, for cleanup.
    created: &'a Mutex<Created>,
    /// The scenario's secrets, for what is written without going through events.
    redactor: &'a Redactor,
}

/// The run's own network, on which its hosts find each other by name.
fn network_name(options: &RunOptions) -> String {
    format!("rh-{}", options.run_id)
}

/// Labels every resource of this run carries.
fn run_labels(options: &RunOptions, scenario: &Scenario) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (RUN_LABEL.to_string(), options.run_id.clone()),
        (OWNER_LABEL.to_string(), crate::owner::current()),
        ("rehearse.scenario".to_string(), scenario.name.clone()),
    ]);
    if options.keep {
        // Kept replicas outlive their process on purpose: the next run's own cleanup of
        // dead runs leaves them alone (an explicit `rehearse gc` still removes them).
        labels.insert(KEEP_LABEL.to_string(), "true".to_string());
    }
    labels
}

/// Rehearse `scenario` on `engine`. A NO-GO is an `Ok` report; `Err` means the
/// rehearsal could not be carried out. Either way nothing is left behind unless
/// `options.keep` is set.
pub async fn run<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &RunOptions,
    sink: &mut dyn EventSink,
) -> Result<Report, RunError> {
    run_with_outcome(engine, scenario, options, sink)
        .await
        .map(|outcome| outcome.report)
}

/// Like [`run`], with what the run leaves besides its report: the replica kept
/// (`options.keep`) and the drill's data baseline (`options.drill_baseline`).
pub async fn run_with_outcome<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &RunOptions,
    sink: &mut dyn EventSink,
) -> Result<RunOutcome, RunError> {
    // Every secret the scenario resolved is redacted from the events, the logs and the
    // report here, whatever prints or writes them afterwards.
    let redactor = Redactor::new(&scenario.secrets);
    let mut sink = RedactingSink {
        inner: sink,
        redactor: &redactor,
    };
    match run_redacted(engine, scenario, options, &redactor, &mut sink).await {
        Ok(mut outcome) => {
            outcome.report = redactor.redact_serialized(&outcome.report);
            Ok(outcome)
        }
        Err(e) => {
            let message = e.to_string();
            match redactor.redact(&message) {
                std::borrow::Cow::Borrowed(_) => Err(e),
                std::borrow::Cow::Owned(message) => Err(RunError::Redacted {
                    message,
                    input: e.is_input_error(),
                }),
            }
        }
    }
}

async fn run_redacted<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &RunOptions,
    redactor: &Redactor,
    sink: &mut dyn EventSink,
) -> Result<RunOutcome, RunError> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let created = Mutex::new(Created::default());
    let mut state = RunState::new(scenario, &options.build);
    state.started = Some(clock);
    state.apt_cache_before = options.apt_cache.as_ref().map(|stats| stats.counters());
    sink.event(&RunEvent::Started {
        run_id: options.run_id.clone(),
        scenario: scenario.name.clone(),
        steps: scenario.steps.len() + 1,
    });
    let rehearsal = Rehearsal {
        engine,
        scenario,
        options,
        created: &created,
        redactor,
    };
    let (backup_jobs, backup_queue) = tokio::sync::mpsc::unbounded_channel();
    state.backup_jobs = Some(backup_jobs);
    let outcome = tokio::select! {
        result = execute(&rehearsal, sink, &mut state) => result.map(|()| false),
        () = options.cancel.cancelled() => Ok(true),
        // Never ends: background backups run beside the steps, and stop with them.
        () = backups::drive(engine, backup_queue) => Ok(false),
    };
    if matches!(outcome, Ok(true)) {
        // Measured now: what follows (monitors, cleanup) is not the step's time.
        state.interrupted_step = state.step_started.map(|at| (at, at.elapsed()));
    }
    for schedule in &state.backups {
        schedule.stop.cancel();
    }
    // Monitors still running stop before anything is removed: cleanup is no outage.
    for monitor in std::mem::take(&mut state.running_monitors) {
        let report = steps::finish_monitor(engine, scenario, &state, monitor).await;
        state.monitors.push(report);
    }
    steps::attribute_lost_writes(&mut state.steps, &state.monitors);
    let created = created.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut kept = None;
    if options.keep {
        apt_proxy::forget_proxy(engine, options, &created.containers, sink).await;
        let network = created.network.clone().map(|n| n.1).unwrap_or_default();
        sink.event(&RunEvent::Kept {
            hosts: created.containers.clone(),
            network: network.clone(),
        });
        kept = Some(KeptReplica {
            network,
            hosts: state.hosts.clone(),
        });
    } else {
        cleanup(engine, &created, sink).await;
    }
    let interrupted = outcome?;
    let baseline = state.baseline.take();
    Ok(RunOutcome {
        report: finish(
            scenario,
            options,
            state,
            started_at,
            clock,
            interrupted,
            sink,
        ),
        kept,
        baseline,
    })
}

fn finish(
    scenario: &Scenario,
    options: &RunOptions,
    mut state: RunState,
    started_at: jiff::Timestamp,
    clock: Instant,
    interrupted: bool,
    sink: &mut dyn EventSink,
) -> Report {
    // Steps that never ran are reported as skipped, so the report lists them all.
    let ran = state.steps.len();
    let mut names: Vec<(String, &'static str)> = vec![("provision".into(), "provision")];
    names.extend(
        scenario
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.kind.label())),
    );
    // The step running when the run was interrupted says so, and for how long it ran.
    let stopped = state.interrupted_step.filter(|_| interrupted);
    for (index, (name, kind)) in names.into_iter().enumerate().skip(ran) {
        let stopped = stopped.filter(|_| index == ran);
        state.steps.push(StepReport {
            name,
            kind: kind.to_string(),
            status: StepStatus::Skipped,
            started_ms: stopped
                .map(|(at, _)| at.saturating_duration_since(clock).as_millis() as u64),
            duration_ms: stopped.map_or(0, |(_, ran_for)| ran_for.as_millis() as u64),
            detail: Some(match stopped {
                Some((_, ran_for)) => format!(
                    "interrupted after {:.1} s, before it finished",
                    ran_for.as_secs_f64()
                ),
                None if interrupted => "the run was interrupted before this step".into(),
                None => "an earlier step failed".into(),
            }),
            checks: vec![],
            evidence: None,
            logs: vec![],
            upgrade: None,
            recovery: None,
            allow_failure: false,
            interrupted: stopped.is_some(),
            checkpoint_ms: None,
        });
    }
    let (gates, verdict) = crate::verdict::evaluate(
        &scenario.gates,
        &state.steps,
        &state.probes,
        &state.findings,
        &state.monitors,
        interrupted,
    );
    let duration = clock.elapsed();
    sink.event(&RunEvent::Finished { verdict, duration });
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: options.run_id.clone(),
        scenario: scenario.name.clone(),
        scenario_path: scenario.path.display().to_string(),
        verdict,
        started_at,
        duration_ms: duration.as_millis() as u64,
        interrupted,
        environment: state.environment,
        steps: state.steps,
        probes: state.probes,
        monitors: state.monitors,
        findings: state.findings,
        gates,
        not_covered: NOT_COVERED.iter().map(|s| s.to_string()).collect(),
        resumed_from: state.resumed.map(|found| crate::report::ResumedFrom {
            step: options
                .from_step
                .and_then(|i| scenario.steps.get(i))
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            run_id: found.run_id,
            taken_at: found.taken_at,
        }),
        apt_cache: options
            .apt_cache
            .as_ref()
            .zip(state.apt_cache_before)
            .map(|(stats, before)| stats.counters().since(before)),
        drill: None,
    }
}

async fn execute<E: Engine>(
    r: &Rehearsal<'_, E>,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<(), RunError> {
    let provisioned = provision::provision(r, sink, state).await;
    pass_on_cache_notices(r.options, sink);
    if !provisioned? {
        return Ok(());
    }
    let first = r.options.from_step.unwrap_or(0);
    if state.resumed.is_some() {
        // A resumed run is on a new network: the hosts' lines naming each other follow.
        match addresses::follow(r.engine, r.scenario, r.options, state, sink).await {
            Ok(notes) => {
                for message in notes {
                    sink.event(&RunEvent::Notice { message });
                }
            }
            Err(detail) => return Err(RunError::Engine(EngineError::Other(detail))),
        }
    }
    if let Some(found) = &state.resumed {
        for step in &r.scenario.steps[..first] {
            state.steps.push(StepReport {
                name: step.name.clone(),
                kind: step.kind.label().to_string(),
                status: StepStatus::Skipped,
                started_ms: None,
                duration_ms: 0,
                detail: Some(format!(
                    "not run again: the hosts start from the checkpoint run {} took at {}",
                    found.run_id, found.taken_at
                )),
                checks: vec![],
                evidence: None,
                logs: vec![],
                upgrade: None,
                allow_failure: step.allow_failure,
                interrupted: false,
                checkpoint_ms: None,
                recovery: None,
            });
        }
    }
    // Snapshots taken before the resume point are checkpoints too: a rollback to them
    // still works.
    if state.resumed.is_some()
        && let Some(base) = state.checkpoint_base.clone()
    {
        for (position, step) in r.scenario.steps[..first].iter().enumerate() {
            if let Some(s) = step.kind.get::<SnapshotStep>() {
                let key = checkpoint::key(&base, r.scenario, position + 1);
                if let Some(found) = checkpoint::find(r.engine, r.scenario, &key).await? {
                    state.snapshots.insert(s.name.clone(), found.images);
                }
            }
        }
    }
    for (offset, step) in r.scenario.steps.iter().enumerate().skip(first) {
        if r.options.drill_baseline
            && let Some(data) = r.scenario.drill.as_ref().and_then(|d| d.data.as_ref())
            && data.before == offset
        {
            state.baseline = Some(count_drill_data(r, state, data).await);
        }
        let report = steps::run_step(r, step, offset + 1, sink, state).await;
        pass_on_cache_notices(r.options, sink);
        let report = report?;
        let stop = report.status == StepStatus::Failed && !report.allow_failure;
        state.steps.push(report);
        state.step_started = None;
        if stop {
            break;
        }
    }
    log_watch::evaluate(r.engine, state, sink).await;
    Ok(())
}

/// The package cache's notices, told to the reporters (the cache never prints).
fn pass_on_cache_notices(options: &RunOptions, sink: &mut dyn EventSink) {
    if let Some(stats) = &options.apt_cache {
        for message in stats.take_notices() {
            sink.event(&RunEvent::Notice { message });
        }
    }
}

/// Where a host is: its address on `network`, and how the prober reaches it — through
/// the ports the engine published, reached at `publish` (the engine's machine), when
/// the run publishes them. Asked again after a restart or a reconnection: the engine
/// may hand out other addresses and ports.
pub(crate) async fn locate<E: Engine>(
    engine: &E,
    publish: Option<std::net::IpAddr>,
    id: &str,
    network: &str,
) -> Result<(std::net::IpAddr, Reach), EngineError> {
    let address = engine.container_ip(id, network).await?;
    let reach = match publish {
        Some(machine) => Reach::published(machine, &engine.published_ports(id).await?),
        None => Reach::Direct,
    };
    Ok((address, reach))
}

/// For progress lines: the published ports a host is probed through.
pub(crate) fn reach_note(reach: &Reach) -> String {
    match reach {
        Reach::Direct => String::new(),
        Reach::Published(ports) => {
            let list: Vec<String> = ports
                .iter()
                .map(|(port, address)| format!("{port} at {address}"))
                .collect();
            format!(", probed through published ports {}", list.join(", "))
        }
    }
}

/// The drill's data, counted on the baseline's host: one number the command prints.
async fn count_drill_data<E: Engine>(
    r: &Rehearsal<'_, E>,
    state: &RunState,
    data: &crate::scenario::DrillData,
) -> Result<u64, String> {
    let host = data.from.as_deref().unwrap_or(&data.host);
    let Some(target) = state.hosts.get(host) else {
        return Err(format!("host `{host}` is not running"));
    };
    crate::probe::count(r.engine, &target.container_id, host, &data.count)
        .await
        .map_err(|e| e.to_string())
}

/// Remove what the run created: containers first, then the network.
async fn cleanup<E: Engine>(engine: &E, created: &Created, sink: &mut dyn EventSink) {
    let count =
        created.containers.len() + created.images.len() + usize::from(created.network.is_some());
    if count == 0 {
        return;
    }
    sink.event(&RunEvent::CleanupStarted { resources: count });
    let mut warn = |message: String| {
        sink.event(&RunEvent::Notice {
            message: format!("warning: {message}"),
        })
    };
    // With the engine gone nothing can be removed: say so once, not once per resource.
    let gone = |e: &EngineError, warn: &mut dyn FnMut(String)| {
        if e.is_connection() {
            warn(format!(
                "the engine is gone: {} of this run could not be removed; run `rehearse gc` once it is back",
                crate::words::plural(count, "resource")
            ));
        }
        e.is_connection()
    };
    // Side by side: each removal also waits for the engine to stop the container
    // and to release its cgroups.
    let removals = futures_util::future::join_all(
        created
            .containers
            .iter()
            .map(|(_, id)| engine.remove_container(id)),
    )
    .await;
    for ((host, id), removed) in created.containers.iter().zip(removals) {
        if let Err(e) = removed {
            if gone(&e, &mut warn) {
                return;
            }
            warn(format!(
                "cannot remove the container of host `{host}` ({id}): {e}; `rehearse gc` will retry"
            ));
        }
    }
    for image in &created.images {
        if let Err(e) = engine.remove_image(image).await {
            if gone(&e, &mut warn) {
                return;
            }
            warn(format!(
                "cannot remove snapshot `{image}`: {e}; `rehearse gc` will retry"
            ));
        }
    }
    if let Some((id, name)) = &created.network
        && let Err(e) = engine.remove_network(id).await
        && !gone(&e, &mut warn)
    {
        warn(format!(
            "cannot remove network `{name}`: {e}; `rehearse gc` will retry"
        ));
    }
}

#[cfg(test)]
mod tests;
