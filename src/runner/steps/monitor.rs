//! `monitor` step: start continuous monitors, or stop them and keep what they measured.

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::{MonitorAction, MonitorStep};

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
                let report = cx.state.running_monitors.remove(position).stop().await;
                done.push(format!(
                    "`{name}`: {} sent, {} failed, longest unavailability {} ms",
                    report.sent, report.failed, report.longest_unavailability_ms
                ));
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
    let host = cx
        .state
        .hosts
        .get(&monitor.http.host)
        .ok_or_else(|| format!("host `{}` is not running", monitor.http.host))?;
    let running = crate::monitor::start(monitor, host.address)?;
    cx.state.running_monitors.push(running);
    Ok(())
}
