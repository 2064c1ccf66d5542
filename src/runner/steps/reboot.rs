//! `reboot` step: restart the host and wait until systemd reports the boot finished.
//! Enabled services come back; services that were only started by hand do not.

use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::probe::Evidence;
use crate::runner::provision::record_degraded;
use crate::runner::systemd::{BootState, wait_booted};
use crate::scenario::{Init, RebootStep};

/// How long systemd gets to stop everything before the engine kills the host.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn run<E: Engine>(step: &RebootStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let Some(container) = cx.container(&step.host) else {
        return StepResult::failed(format!("host `{}` is not running", step.host));
    };
    let started = Instant::now();
    cx.progress(format!("restarting `{}`", step.host));
    if let Err(e) = cx.engine.restart_container(&container, STOP_TIMEOUT).await {
        return StepResult::failed(format!("cannot restart host `{}`: {e}", step.host));
    }
    let systemd = cx
        .scenario
        .host(&step.host)
        .is_none_or(|h| h.init == Init::Systemd);
    let mut summary = format!("host `{}` restarted", step.host);
    if systemd {
        cx.progress(format!("waiting for systemd on `{}`", step.host));
        match wait_booted(cx.engine, &container, cx.options.boot_timeout).await {
            Ok(BootState::Running) => {
                summary = format!("host `{}` rebooted; systemd reports running", step.host)
            }
            Ok(BootState::Degraded { failed_units }) => {
                record_degraded(cx.state, cx.sink, &step.host, &failed_units, "after reboot");
                summary = format!(
                    "host `{}` rebooted degraded: {}",
                    step.host,
                    failed_units.trim()
                );
            }
            Err(detail) => {
                return StepResult::failed(format!(
                    "host `{}` did not come back: {detail}",
                    step.host
                ));
            }
        }
    }
    // The engine may hand out a new address on restart.
    let network = crate::runner::network_name(cx.options);
    match cx.engine.container_ip(&container, &network).await {
        Ok(address) => cx.state.hosts.insert(&step.host, container, address),
        Err(e) => {
            return StepResult::failed(format!(
                "host `{}` has no address after reboot: {e}",
                step.host
            ));
        }
    }
    StepResult {
        passed: true,
        detail: Some(format!(
            "{summary} in {:.1}s",
            started.elapsed().as_secs_f64()
        )),
        checks: vec![],
        evidence: Some(Evidence {
            summary,
            ..Evidence::default()
        }),
        ..StepResult::default()
    }
}
