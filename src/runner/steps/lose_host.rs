//! `lose-host` step: the host is lost abruptly — traffic to it stops, its background
//! backups stop, `count` is taken, and its container goes with everything on it. A
//! `restore` step that follows rebuilds it.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;

use super::restore::RestoreStep;
use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::runner::Loss;
use crate::runner::backups::parse_count;
use crate::scenario::format::HostRef;
use crate::scenario::{Command, StepSpec};

/// Lose a host abruptly: traffic to it stops, its background backups stop, its
/// container is removed with everything on it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct LoseHostStep {
    #[serde(with = "HostRef")]
    pub host: String,
}

impl StepSpec for LoseHostStep {
    const KIND: &'static str = "lose-host";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn derived_name(&self) -> String {
        format!("lose {}", self.host)
    }
}

impl RunStep for LoseHostStep {
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        lose_host(self, cx).await
    }
}

/// How long a `count` may take.
const COUNT_TIMEOUT: Duration = Duration::from_secs(60);

async fn lose_host<E: Engine>(step: &LoseHostStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let count = restore_of(cx, &step.host).and_then(|r| r.count.clone());
    StepResult::from_outcome(lose(cx, &step.host, count.as_ref()).await)
}

/// The `restore` step that follows the running one for `host`, whose `count` is run
/// at the loss.
fn restore_of<'s, E: Engine>(cx: &StepContext<'s, E>, host: &str) -> Option<&'s RestoreStep> {
    cx.scenario
        .steps
        .iter()
        .skip(cx.index)
        .filter_map(|s| s.kind.get::<RestoreStep>())
        .find(|r| r.host == host)
}

/// Lose `host`: its monitors' traffic stops, its background backups stop (one under
/// way is cut short), `count` is taken, and its container is removed.
pub(super) async fn lose<E: Engine>(
    cx: &mut StepContext<'_, E>,
    host: &str,
    count: Option<&Command>,
) -> Result<String, String> {
    let container = cx
        .container(host)
        .ok_or_else(|| format!("host `{host}` is not running"))?;
    let at = Instant::now();
    for monitor in &cx.state.running_monitors {
        monitor.host_lost(host);
    }
    for schedule in cx
        .state
        .backups
        .iter()
        .filter(|s| s.host == host || s.store == host)
    {
        schedule.stop.cancel();
    }
    cx.progress(format!("losing {host}"));
    settle(cx, host).await;
    let rows_before = match count {
        Some(command) => Some(run_count(cx, &container, host, command).await),
        None => None,
    };
    cx.engine
        .remove_container(&container)
        .await
        .map_err(|e| format!("cannot remove host `{host}`: {e}"))?;
    cx.created
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .containers
        .retain(|(_, id)| *id != container);
    cx.state.hosts.remove(host);
    let step = cx
        .scenario
        .steps
        .get(cx.index - 1)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let mut summary = format!("host `{host}` lost with everything on it");
    match &rows_before {
        Some(Ok(rows)) => summary.push_str(&format!("; it held {rows} rows")),
        Some(Err(why)) => summary.push_str(&format!("; rows not counted: {why}")),
        None => {}
    }
    cx.state.losses.insert(
        host.to_string(),
        Loss {
            step,
            at,
            rows_before,
        },
    );
    Ok(summary)
}

/// Wait until the requests already sent to a lost host are answered (at most the
/// monitors' timeout), so that the rows counted at the loss and the writes the monitors
/// saw acknowledged describe the same writes.
async fn settle<E: Engine>(cx: &StepContext<'_, E>, host: &str) {
    let monitors: Vec<_> = cx
        .state
        .running_monitors
        .iter()
        .filter(|m| m.aims_at(host))
        .collect();
    let longest = monitors
        .iter()
        .filter_map(|m| cx.scenario.monitor(&m.name))
        .map(|m| m.http.timeout)
        .max()
        .unwrap_or_default();
    let deadline = Instant::now() + longest + Duration::from_millis(100);
    while monitors.iter().any(|m| m.in_flight() > 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(super) async fn run_count<E: Engine>(
    cx: &StepContext<'_, E>,
    container: &str,
    host: &str,
    command: &Command,
) -> Result<u64, String> {
    let output = cx
        .engine
        .exec(container, &command.to_argv(), COUNT_TIMEOUT)
        .await
        .map_err(|e| format!("`{}` on `{host}`: {e}", command.display()))?;
    if output.exit_code != 0 {
        return Err(format!(
            "`{}` on `{host}` exited with {}: {}",
            command.display(),
            output.exit_code,
            crate::probe::excerpt(output.stderr.trim(), 200)
        ));
    }
    parse_count(&output.stdout).map_err(|e| e.to_string())
}
