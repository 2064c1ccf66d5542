//! Steps: one module per kind. A kind is its fields type, which implements
//! [`StepSpec`] (decoding, schema, label, default timeout) and [`RunStep`] (how it
//! runs), and one line of [`step_kinds!`] below. Each returns a [`StepResult`]; this
//! module times it, applies its timeout and turns it into a report entry.

mod backup;
mod cutover;
mod dns_switch;
mod drain_check;
mod exec;
mod fault;
mod lose_host;
mod migrate;
mod monitor;
mod probe;
mod reboot;
mod restore;
mod revert;
mod rollback;
mod snapshot;
pub(crate) mod upgrade;

pub use backup::BackupStep;
pub use cutover::CutoverStep;
pub use dns_switch::DnsSwitchStep;
pub use drain_check::DrainCheckStep;
pub use exec::ExecStep;
pub(super) use fault::FaultLedger;
pub use fault::{ConfigEdit, Fault, FaultStep};
pub use lose_host::LoseHostStep;
pub use migrate::{DatabaseCopy, DatabaseEngine, MigrateStep};
pub(super) use monitor::finish as finish_monitor;
pub use monitor::{MonitorAction, MonitorStep};
pub use probe::ProbeStep;
pub use reboot::RebootStep;
pub use restore::RestoreStep;
pub(super) use restore::attribute_lost_writes;
pub use revert::{RevertStep, RevertTarget};
pub use rollback::RollbackStep;
pub use snapshot::SnapshotStep;
pub use upgrade::{ConffilePolicy, UpgradeStep};

use std::time::Instant;

use super::{EventSink, Rehearsal, RunError, RunEvent, RunOptions, RunState};
use crate::engine::Engine;
use crate::probe::Evidence;
use crate::report::{CheckReport, RecoveryReport, StepReport, StepStatus, UpgradeReport};
use crate::scenario::{KindOf, Scenario, Step, StepKind, StepKinds, StepSpec};

/// How a step kind runs; the rest of what makes the kind is its [`StepSpec`].
pub(crate) trait RunStep: StepSpec {
    /// A checkpoint is saved before a step of this kind (`run --from` can start there):
    /// what it changes takes long to redo.
    const RISKY: bool = false;
    /// Steps of this kind are marked on the monitors' timelines.
    const MOMENT: bool = false;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult;
}

/// The kinds, one line each: the registry the parser is handed ([`step_kinds`]), and
/// what the runner asks of a step whatever its kind.
macro_rules! step_kinds {
    ($($kind:ty),* $(,)?) => {
        static STEP_KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        static KINDS: StepKinds = StepKinds::new(
            &[$(&KindOf::<$kind>::DECL),*],
            &[$(<$kind as StepSpec>::KIND),*],
            &STEP_KEYS,
        );

        async fn run_kind<E: Engine>(fields: &StepKind, cx: &mut StepContext<'_, E>) -> StepResult {
            $(
                if let Some(step) = fields.get::<$kind>() {
                    return step.run(cx).await;
                }
            )*
            unreachable!("step kind `{}` is not registered", fields.label())
        }

        /// Whether a checkpoint is saved before steps of this kind ([`RunStep::RISKY`]).
        pub(crate) fn is_risky(fields: &StepKind) -> bool {
            $(
                if fields.get::<$kind>().is_some() {
                    return <$kind as RunStep>::RISKY;
                }
            )*
            false
        }

        fn is_moment(fields: &StepKind) -> bool {
            $(
                if fields.get::<$kind>().is_some() {
                    return <$kind as RunStep>::MOMENT;
                }
            )*
            false
        }
    };
}

// One line per kind, in the order messages list them.
step_kinds![
    probe::ProbeStep,
    reboot::RebootStep,
    exec::ExecStep,
    upgrade::UpgradeStep,
    monitor::MonitorStep,
    cutover::CutoverStep,
    migrate::MigrateStep,
    dns_switch::DnsSwitchStep,
    drain_check::DrainCheckStep,
    snapshot::SnapshotStep,
    rollback::RollbackStep,
    backup::BackupStep,
    lose_host::LoseHostStep,
    restore::RestoreStep,
    fault::FaultStep,
    revert::RevertStep,
];

/// Every step kind, for the scenario parser and the schema.
pub fn step_kinds() -> &'static StepKinds {
    &KINDS
}

/// What a step found.
#[derive(Debug, Default)]
pub(super) struct StepResult {
    pub passed: bool,
    pub detail: Option<String>,
    pub checks: Vec<CheckReport>,
    pub evidence: Option<Evidence>,
    pub logs: Vec<String>,
    pub upgrade: Option<UpgradeReport>,
    pub recovery: Option<RecoveryReport>,
}

impl StepResult {
    fn failed(detail: String) -> Self {
        StepResult {
            passed: false,
            detail: Some(detail),
            ..StepResult::default()
        }
    }

    /// A step that says what it did (also kept as its evidence), or why it failed.
    fn from_outcome(outcome: Result<String, String>) -> Self {
        match outcome {
            Ok(summary) => StepResult {
                passed: true,
                detail: Some(summary.clone()),
                evidence: Some(Evidence {
                    summary,
                    ..Evidence::default()
                }),
                ..StepResult::default()
            },
            Err(detail) => StepResult::failed(detail),
        }
    }
}

/// Everything a step may use.
pub(super) struct StepContext<'a, E: Engine> {
    pub engine: &'a E,
    pub scenario: &'a Scenario,
    pub options: &'a RunOptions,
    pub index: usize,
    /// The running step's timeout.
    pub timeout: std::time::Duration,
    pub sink: &'a mut dyn EventSink,
    pub state: &'a mut RunState,
    /// Resources created so far, for cleanup (snapshots, hosts started again).
    pub created: &'a std::sync::Mutex<super::Created>,
    pub redactor: &'a crate::redact::Redactor,
}

impl<E: Engine> StepContext<'_, E> {
    /// Tell the reporters what the step is doing; while monitors run, with how their
    /// requests fare so far.
    fn progress(&mut self, mut message: String) {
        for monitor in &self.state.running_monitors {
            let (answered, failed) = monitor.counts();
            let ok = answered - failed;
            let rate = if answered == 0 {
                100.0
            } else {
                ok as f64 * 100.0 / answered as f64
            };
            message.push_str(&format!(
                " · {} {rate:.1}% ok ({failed} failed)",
                monitor.name
            ));
        }
        self.sink.event(&RunEvent::StepProgress {
            index: self.index,
            message,
        });
    }

    /// A finding, told to the reporters as it is made and kept for the verdict.
    fn report_finding(&mut self, finding: crate::model::Finding) {
        self.sink.event(&RunEvent::Finding(finding.clone()));
        self.state.findings.push(finding);
    }

    /// A log file `logs/NN-<what>.log` for the running step, and its path relative to
    /// the report folder; `None` when the run keeps no logs.
    fn open_log(&self, what: &str) -> Option<(super::step_log::StepLog, String)> {
        let name = format!("{:02}-{what}.log", self.index);
        let log = super::step_log::StepLog::create(
            self.options.logs_dir.as_deref(),
            &name,
            self.redactor,
        )?;
        Some((log, format!("logs/{name}")))
    }

    fn container(&self, host: &str) -> Option<String> {
        self.state.hosts.get(host).map(|h| h.container_id.clone())
    }

    /// Check these probes now, one after the other; probes the scenario does not
    /// define are left out.
    async fn check_probes(&mut self, names: &[String]) -> Vec<CheckReport> {
        let mut checks = Vec::new();
        for name in names {
            if let Some(check) = self.check_probe(name).await {
                checks.push(check);
            }
        }
        checks
    }

    /// Check a probe now: attempts reported as they happen, the outcome counted in the
    /// run's probe statistics. `None` when the scenario has no such probe.
    async fn check_probe(&mut self, name: &str) -> Option<CheckReport> {
        let probe = self.scenario.probe(name)?;
        let sink = &mut *self.sink;
        let outcome = crate::probe::check(
            probe,
            self.engine,
            &self.state.hosts,
            &mut |attempt, result| {
                sink.event(&RunEvent::ProbeAttempt {
                    probe: name.to_string(),
                    attempt,
                    result: result.clone(),
                })
            },
        )
        .await;
        self.state.record_check(&outcome);
        Some(CheckReport {
            probe: name.to_string(),
            passed: outcome.passed,
            attempts: outcome.attempts,
            duration_ms: outcome.duration.as_millis() as u64,
            evidence: outcome.evidence,
        })
    }
}

pub(super) async fn run_step<E: Engine>(
    r: &Rehearsal<'_, E>,
    step: &Step,
    index: usize,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<StepReport, RunError> {
    let (engine, scenario, options) = (r.engine, r.scenario, r.options);
    let total = scenario.steps.len() + 1;
    state.step_started = Some(Instant::now());
    sink.event(&RunEvent::StepStarted {
        index,
        total,
        name: step.name.clone(),
        kind: step.kind.label(),
    });
    let checkpoint = save_checkpoint(r, step, index, sink, state).await;
    let started = Instant::now();
    let moment = is_moment(&step.kind);
    if moment {
        for monitor in &state.running_monitors {
            monitor.boundary(started);
        }
    }
    let mut cx = StepContext {
        engine,
        scenario,
        options,
        index,
        timeout: step.timeout,
        sink,
        state,
        created: r.created,
        redactor: r.redactor,
    };
    let work = run_kind(&step.kind, &mut cx);
    let result = match tokio::time::timeout(step.timeout, work).await {
        Ok(result) => result,
        Err(_) => {
            // What the step was running is stopped before the step is reported.
            engine.settle().await;
            StepResult::failed(format!(
                "timed out after {}",
                humantime::format_duration(step.timeout)
            ))
        }
    };
    let mut result = result;
    if moment {
        let end = Instant::now();
        for monitor in &state.running_monitors {
            monitor.boundary(end);
        }
        state.moments.push(super::Moment {
            name: step.name.clone(),
            kind: step.kind.label(),
            start: started,
            end,
        });
    }
    if !result.passed {
        // A step cannot fail "because of the stack" when the engine itself is gone:
        // that is an environment error, not a NO-GO.
        if let Err(e) = engine.info().await
            && e.is_connection()
        {
            return Err(RunError::Engine(crate::engine::EngineError::Connect {
                detail: format!("it stopped answering during step `{}`: {e}", step.name),
            }));
        }
        // A host killed from outside is reported dead by the engine a moment after its
        // commands end: keep looking for a short while (returning as soon as it shows)
        // before saying every host is alive.
        let mut dead = dead_hosts(engine, state).await;
        let looked = Instant::now();
        while dead.is_none() && looked.elapsed() < DEATH_GRACE {
            tokio::time::sleep(DEATH_POLL).await;
            dead = dead_hosts(engine, state).await;
        }
        if let Some(why) = dead.or(out_of_memory(engine, scenario, state).await) {
            let detail = result.detail.take().unwrap_or_default();
            result.detail = Some(format!("{detail} ({why})"));
        }
    }
    let status = if result.passed {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    sink.event(&RunEvent::StepFinished {
        index,
        name: step.name.clone(),
        status,
        allow_failure: step.allow_failure,
        duration: started.elapsed(),
        detail: result.detail.clone(),
    });
    Ok(StepReport {
        name: step.name.clone(),
        kind: step.kind.label().to_string(),
        status,
        started_ms: state
            .started
            .map(|run| started.saturating_duration_since(run).as_millis() as u64),
        duration_ms: started.elapsed().as_millis() as u64,
        detail: result.detail,
        checks: result.checks,
        evidence: result.evidence,
        logs: result.logs,
        upgrade: result.upgrade,
        allow_failure: step.allow_failure,
        interrupted: false,
        checkpoint_ms: checkpoint,
        recovery: result.recovery,
    })
}

/// How long a failed step looks for a host that died under it, and how often.
const DEATH_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
const DEATH_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Before a risky step, save every host as a checkpoint (for `run --from`). Not timed
/// with the step; returns how long it took. A checkpoint that cannot be saved only
/// costs a later `--from`: it warns, the run goes on.
async fn save_checkpoint<E: Engine>(
    r: &Rehearsal<'_, E>,
    step: &Step,
    index: usize,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Option<u64> {
    let position = index - 1;
    // Hosts just started from this very checkpoint, or a `snapshot` step right before
    // (it is this checkpoint already): nothing new to save.
    let after_snapshot = position > 0
        && r.scenario.steps[position - 1]
            .kind
            .get::<crate::runner::SnapshotStep>()
            .is_some();
    // Not while monitors run: a commit pauses the hosts, which the monitors would
    // count as an outage the change never caused — and `--from` cannot resume where a
    // monitor runs anyway.
    if !r.options.checkpoints
        || !super::checkpoint::is_risky(&step.kind)
        || r.options.from_step == Some(position)
        || after_snapshot
        || !state.running_monitors.is_empty()
    {
        return None;
    }
    let base = state.checkpoint_base.as_ref()?;
    let key = super::checkpoint::key(base, r.scenario, position);
    let hosts: Vec<(String, String)> = state
        .hosts
        .iter()
        .map(|(name, h)| (name.clone(), h.container_id.clone()))
        .collect();
    sink.event(&RunEvent::StepProgress {
        index,
        message: "saving a checkpoint of the hosts (for `--from`)".into(),
    });
    let started = Instant::now();
    super::addresses::record(r.engine, &state.hosts).await;
    match super::checkpoint::save(
        r.engine,
        r.scenario,
        &r.options.run_id,
        &key,
        position,
        &hosts,
    )
    .await
    {
        Ok(_) => {
            sink.event(&RunEvent::StepProgress {
                index,
                message: format!(
                    "checkpoint saved in {:.1} s",
                    started.elapsed().as_secs_f64()
                ),
            });
            Some(started.elapsed().as_millis() as u64)
        }
        Err(e) => {
            sink.event(&RunEvent::Notice {
                message: format!(
                    "warning: cannot save a checkpoint before step `{}`: {e}",
                    step.name
                ),
            });
            None
        }
    }
}

/// The kernel's count of processes killed for lack of memory in a host's cgroup
/// (cgroup v2 `memory.events`, else v1 `memory.oom_control`).
/// Under systemd, PID 1 sits in `init.scope` below the container's cgroup, which holds
/// the limit.
const OOM_KILLS: &str = "if [ -r /sys/fs/cgroup/memory.events ]; then f=/sys/fs/cgroup/memory.events; else p=$(sed -n 's/^[0-9]*:memory://p' /proc/1/cgroup); f=/sys/fs/cgroup/memory${p%/init.scope}/memory.oom_control; fi; sed -n 's/^oom_kill //p' \"$f\"";

/// After a failure, say if the kernel killed processes in a host for lack of memory
/// since the last look: a step whose command was killed that way failed for that.
async fn out_of_memory<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    state: &mut RunState,
) -> Option<String> {
    let mut found = Vec::new();
    let hosts: Vec<(String, String)> = state
        .hosts
        .iter()
        .map(|(name, h)| (name.clone(), h.container_id.clone()))
        .collect();
    for (name, container) in hosts {
        let argv = ["sh".to_string(), "-c".to_string(), OOM_KILLS.to_string()];
        let Ok(output) = engine
            .exec(&container, &argv, std::time::Duration::from_secs(10))
            .await
        else {
            continue;
        };
        let Ok(kills) = output.stdout.trim().parse::<u64>() else {
            continue;
        };
        let seen = state.oom_kills.insert(name.clone(), kills).unwrap_or(0);
        if kills > seen {
            let limit = scenario
                .host(&name)
                .and_then(|h| h.memory)
                .unwrap_or(super::provision::DEFAULT_MEMORY);
            found.push(format!(
                "host `{name}` ran out of memory: the kernel killed {} process(es) in it; its limit is {} MiB, raise it with `memory:`",
                kills - seen,
                limit >> 20
            ));
        }
    }
    (!found.is_empty()).then(|| found.join("; "))
}

/// After a failure, say if a host died (exited, OOM-killed): that is usually the reason.
async fn dead_hosts<E: Engine>(engine: &E, state: &RunState) -> Option<String> {
    let mut dead = Vec::new();
    for (name, host) in state.hosts.iter() {
        if let Ok(s) = engine.container_state(&host.container_id).await
            && !s.running
        {
            let oom = if s.oom_killed {
                ", killed for lack of memory"
            } else {
                ""
            };
            dead.push(format!(
                "host `{name}` is not running: exit code {}{oom}",
                s.exit_code.unwrap_or(-1)
            ));
        }
    }
    (!dead.is_empty()).then(|| dead.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_once_in_the_order_messages_use() {
        let names = step_kinds().names();
        assert!(names.len() >= 16, "{names:?}");
        assert_eq!(&names[..3], ["probe", "reboot", "exec"]);
        let mut unique = names.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(
            step_kinds().step_keys(),
            [&["name", "timeout", "allow_failure"][..], names].concat()
        );
    }
}
