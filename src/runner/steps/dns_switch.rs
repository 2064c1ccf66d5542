//! `dns-switch` step: DNS propagation, rehearsed. The monitors' clients move from
//! resolving the site to its current host to resolving it to the new one, a growing
//! share of them as the step goes on, the way resolver caches expire one by one over
//! hours in real life (here compressed into `over`).

use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;

use super::RunStep;
use crate::scenario::StepSpec;
use crate::scenario::format::{HostRef, MonitorRefs, Span};
use schemars::JsonSchema;
use serde::Deserialize;

/// DNS propagation, rehearsed: the clients of the monitors move from resolving the
/// site to its current host to resolving it to `to`, a growing share of them over
/// `over`, the way caches expire one by one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSwitchStep {
    #[serde(with = "HostRef")]
    pub to: String,
    #[serde(default = "ten_seconds", with = "Span")]
    pub over: Duration,
    /// The monitors whose clients switch (default: every running monitor).
    #[serde(default, with = "MonitorRefs")]
    pub monitors: Vec<String>,
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

impl StepSpec for DnsSwitchStep {
    const KIND: &'static str = "dns-switch";

    fn default_timeout(&self) -> Duration {
        self.over + Duration::from_secs(60)
    }

    fn derived_name(&self) -> String {
        format!(
            "dns switch to {} over {}",
            self.to,
            humantime::format_duration(self.over)
        )
    }
}

impl RunStep for DnsSwitchStep {
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

/// How often the share moves.
const TICK: Duration = Duration::from_millis(100);
/// How often progress is told.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn run<E: Engine>(
    step: &DnsSwitchStep,
    cx: &mut StepContext<'_, E>,
) -> StepResult {
    if cx.state.hosts.get(&step.to).is_none() {
        return StepResult::failed(format!("host `{}` is not running", step.to));
    }
    let names: Vec<String> = if step.monitors.is_empty() {
        cx.state
            .running_monitors
            .iter()
            .map(|m| m.name.clone())
            .collect()
    } else {
        step.monitors.clone()
    };
    if names.is_empty() {
        return StepResult::failed(
            "no monitor is running, so no client would switch: start one with `monitor: {start: NAME}` first".into(),
        );
    }
    let mut selected = Vec::new();
    for name in &names {
        match cx
            .state
            .running_monitors
            .iter()
            .position(|m| &m.name == name)
        {
            Some(index) => selected.push(index),
            None => return StepResult::failed(format!("monitor `{name}` is not running")),
        }
    }
    for &index in &selected {
        let monitor = &cx.state.running_monitors[index];
        let switched = cx
            .state
            .hosts
            .target(&step.to, monitor.port())
            .map_err(|e| e.to_string())
            .and_then(|target| {
                monitor
                    .switch_to(&step.to, target.address)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = switched {
            return StepResult::failed(e);
        }
    }
    let started = Instant::now();
    let mut told = started;
    loop {
        let elapsed = started.elapsed();
        let share = if step.over.is_zero() {
            1.0
        } else {
            (elapsed.as_secs_f64() / step.over.as_secs_f64()).min(1.0)
        };
        for &index in &selected {
            cx.state.running_monitors[index].set_share(share);
        }
        if share >= 1.0 {
            break;
        }
        if told.elapsed() >= PROGRESS_EVERY {
            told = Instant::now();
            cx.progress(format!(
                "{:.0} % of clients resolve the site to {}",
                share * 100.0,
                step.to
            ));
        }
        tokio::time::sleep(TICK).await;
    }
    StepResult {
        passed: true,
        detail: Some(format!(
            "the clients of {} moved to `{}` over {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            step.to,
            humantime::format_duration(step.over)
        )),
        ..StepResult::default()
    }
}
