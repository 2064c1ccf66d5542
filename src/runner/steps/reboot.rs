//! `reboot` step: restart the host and wait until systemd reports the boot finished.
//! Enabled services come back; services that were only started by hand do not.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;

use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::probe::Evidence;
use crate::runner::provision::came_back;
use crate::runner::systemd::BootState;
use crate::scenario::format::HostRef;
use crate::scenario::{Init, StepSpec};

/// Restart the host and wait until systemd reports the boot finished.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RebootStep {
    #[serde(with = "HostRef")]
    pub host: String,
}

impl StepSpec for RebootStep {
    const KIND: &'static str = "reboot";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(180)
    }

    fn derived_name(&self) -> String {
        format!("reboot {}", self.host)
    }
}

impl RunStep for RebootStep {
    /// A moment on the monitors' timelines: the host is away while it restarts.
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

async fn run<E: Engine>(step: &RebootStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let Some(container) = cx.container(&step.host) else {
        return StepResult::failed(format!("host `{}` is not running", step.host));
    };
    let started = Instant::now();
    match reboot_host(cx, &step.host, &container, "after reboot").await {
        Ok(summary) => StepResult {
            passed: true,
            detail: Some(format!(
                "{summary} in {:.1}s",
                started.elapsed().as_secs_f64()
            )),
            evidence: Some(Evidence {
                summary,
                ..Evidence::default()
            }),
            ..StepResult::default()
        },
        Err(detail) => StepResult::failed(detail),
    }
}

/// Restart a host, wait for systemd to finish booting (when the host boots with it), and
/// learn the address the engine gave it. A degraded boot is recorded as a finding, `when`
/// saying at which moment. Returns a one-line summary.
pub(super) async fn reboot_host<E: Engine>(
    cx: &mut StepContext<'_, E>,
    host: &str,
    container: &str,
    when: &str,
) -> Result<String, String> {
    cx.progress(format!("restarting `{host}`"));
    cx.engine
        .restart_container(container, crate::runner::STOP_TIMEOUT)
        .await
        .map_err(|e| format!("cannot restart host `{host}`: {e}"))?;
    if cx
        .scenario
        .host(host)
        .is_none_or(|h| h.init == Init::Systemd)
    {
        cx.progress(format!("waiting for systemd on `{host}`"));
    }
    let boot = came_back(
        cx.engine,
        cx.scenario,
        cx.options,
        cx.state,
        cx.sink,
        host,
        container,
        when,
    )
    .await?;
    Ok(match boot {
        None => format!("host `{host}` restarted"),
        Some(BootState::Running) => format!("host `{host}` rebooted; systemd reports running"),
        Some(BootState::Degraded { failed_units }) => {
            format!("host `{host}` rebooted degraded: {}", failed_units.trim())
        }
    })
}
