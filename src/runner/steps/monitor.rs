//! `monitor` step: start continuous monitors, or stop them and keep what they measured.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::monitor::{MarkReport, MonitorReport, Phases, RunningMonitor};
use crate::runner::RunState;
use crate::scenario::{Scenario, TokenQuery};

use super::RunStep;
use crate::scenario::StepSpec;
use crate::scenario::format::MonitorRefs;
use schemars::JsonSchema;
use serde::Deserialize;

/// Start or stop continuous monitors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(from = "MonitorSpec")]
#[schemars(with = "MonitorSpec")]
pub struct MonitorStep {
    pub action: MonitorAction,
    pub monitors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorAction {
    Start,
    Stop,
}

/// `monitor:` as written: exactly one of `start`, `stop`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum MonitorSpec {
    /// Monitors to start.
    Start(#[serde(with = "MonitorRefs")] Vec<String>),
    /// Monitors to stop; what they measured is kept.
    Stop(#[serde(with = "MonitorRefs")] Vec<String>),
}

impl From<MonitorSpec> for MonitorStep {
    fn from(spec: MonitorSpec) -> Self {
        let (action, monitors) = match spec {
            MonitorSpec::Start(monitors) => (MonitorAction::Start, monitors),
            MonitorSpec::Stop(monitors) => (MonitorAction::Stop, monitors),
        };
        MonitorStep { action, monitors }
    }
}

impl StepSpec for MonitorStep {
    const KIND: &'static str = "monitor";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn derived_name(&self) -> String {
        format!(
            "{} {}",
            match self.action {
                MonitorAction::Start => "start monitoring",
                MonitorAction::Stop => "stop monitoring",
            },
            self.monitors.join(", ")
        )
    }
}

impl RunStep for MonitorStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

/// How long listing a database's write tokens may take.
const TOKEN_QUERY_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn run<E: Engine>(step: &MonitorStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let mut problems = Vec::new();
    let mut done = Vec::new();
    for name in &step.monitors {
        match step.action {
            MonitorAction::Start => match start(cx, name) {
                Ok(()) => done.push(format!("`{name}` started")),
                Err(problem) => problems.push(problem),
            },
            MonitorAction::Stop => {
                let position = cx
                    .state
                    .running_monitors
                    .iter()
                    .position(|m| &m.name == name);
                let Some(position) = position else {
                    problems.push(format!("monitor `{name}` is not running"));
                    continue;
                };
                let running = cx.state.running_monitors.remove(position);
                if cx
                    .scenario
                    .monitor(name)
                    .is_some_and(|m| m.writes.is_some())
                {
                    cx.progress(format!("`{name}`: checking its writes in the databases"));
                }
                let report = finish(cx.engine, cx.scenario, cx.state, running).await;
                let mut line = format!(
                    "`{name}`: {} sent, {} failed{}, longest unavailability {} ms",
                    report.sent,
                    report.failed,
                    report.timed_out_note(),
                    report.longest_unavailability_ms
                );
                if let Some(writes) = &report.writes {
                    line.push_str(&format!(
                        "; {} writes acknowledged, {} lost, {} split",
                        writes.acknowledged, writes.lost, writes.split
                    ));
                    for problem in &writes.problems {
                        line.push_str(&format!("; {problem}"));
                    }
                }
                done.push(line);
                cx.state.monitors.push(report);
            }
        }
    }
    let passed = problems.is_empty();
    StepResult {
        passed,
        detail: Some(if passed {
            done.join("; ")
        } else {
            problems.join("; ")
        }),
        ..StepResult::default()
    }
}

fn start<E: Engine>(cx: &mut StepContext<'_, E>, name: &str) -> Result<(), String> {
    if cx.state.running_monitors.iter().any(|m| m.name == name) {
        return Err(format!("monitor `{name}` is already running"));
    }
    let monitor = cx
        .scenario
        .monitor(name)
        .ok_or_else(|| format!("monitor `{name}` is not defined"))?;
    let target = cx
        .state
        .hosts
        .target(&monitor.http.host, monitor.http.port)
        .map_err(|e| e.to_string())?;
    let running = crate::monitor::start(monitor, target.address).map_err(|e| e.to_string())?;
    cx.state.running_monitors.push(running);
    Ok(())
}

/// Stop a monitor and analyse what it saw: latency before, during and after the
/// change, the run's moments on its timeline, and its writes checked against the
/// databases.
pub(in crate::runner) async fn finish<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    state: &RunState,
    running: RunningMonitor,
) -> MonitorReport {
    let stopped = running.stop_aggregate().await;
    let since = |at: Instant| at.saturating_duration_since(stopped.started);
    let seen: Vec<_> = state
        .moments
        .iter()
        .filter(|m| m.end >= stopped.started)
        .collect();
    let changes: Vec<_> = seen
        .iter()
        .filter(|m| m.kind == "cutover" || m.kind == "dns-switch")
        .collect();
    let phases = Phases {
        change: changes
            .first()
            .zip(changes.last())
            .map(|(first, last)| (since(first.start), since(last.end))),
        marks: seen
            .iter()
            .map(|m| MarkReport {
                label: m.name.clone(),
                kind: m.kind.to_string(),
                start_ms: since(m.start).as_millis() as u64,
                end_ms: since(m.end).as_millis() as u64,
            })
            .collect(),
    };
    // Split writes count from the moment the old host stopped writing for itself: the
    // end of the cutover, or without one the start of the DNS switch.
    let switch_at = seen
        .iter()
        .find(|m| m.kind == "cutover")
        .map(|m| since(m.end))
        .or_else(|| {
            seen.iter()
                .find(|m| m.kind == "dns-switch")
                .map(|m| since(m.start))
        });
    let writes = match scenario
        .monitor(&stopped.name)
        .and_then(|m| m.writes.as_ref())
    {
        Some(tracking) => {
            let serving = list_tokens(engine, state, &tracking.serving).await;
            let old = match &tracking.old {
                Some(query) => Some(list_tokens(engine, state, query).await),
                None => None,
            };
            stopped.results.writes().map(|log| {
                crate::monitor::check_writes(
                    &stopped.name,
                    log,
                    &stopped.hosts,
                    serving,
                    old,
                    switch_at,
                )
            })
        }
        None => None,
    };
    stopped
        .results
        .report(&stopped.name, stopped.rate, &stopped.hosts, &phases, writes)
}

async fn list_tokens<E: Engine>(
    engine: &E,
    state: &RunState,
    query: &TokenQuery,
) -> Result<HashSet<String>, String> {
    let host = state
        .hosts
        .get(&query.host)
        .ok_or_else(|| format!("host `{}` is not running", query.host))?;
    let command = query.command.display();
    let output = engine
        .exec(
            &host.container_id,
            &query.command.to_argv(),
            TOKEN_QUERY_TIMEOUT,
        )
        .await
        .map_err(|e| format!("`{command}` on `{}`: {e}", query.host))?;
    if output.exit_code != 0 {
        let stderr = output.stderr.trim();
        return Err(format!(
            "`{command}` on `{}` exited with {}{}",
            query.host,
            output.exit_code,
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::probe::excerpt(stderr, 300))
            }
        ));
    }
    Ok(crate::monitor::parse_tokens(&output.stdout))
}
