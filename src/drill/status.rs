//! One check attempt of a drill: its checks run against the live replica, its data
//! counted, and the outcome as a report in the same formats as a run's.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::DrillState;
use crate::engine::Engine;
use crate::probe::CheckOutcome;
use crate::report::{
    DrillReport, Environment, GateReport, NOT_COVERED, ProbeReport, Report, SCHEMA_VERSION,
    StepReport, StepStatus, Verdict,
};
use crate::scenario::{Drill, Scenario};

/// What one attempt found.
#[derive(Debug)]
pub struct Attempt {
    /// Hosts restarted before the checks (`reboot:`), with what the restart saw.
    pub reboots: Vec<RebootResult>,
    pub checks: Vec<CheckResult>,
    pub data: Option<DataResult>,
    pub duration: Duration,
}

/// One check (a probe of the scenario) and how it fared.
#[derive(Debug)]
pub struct CheckResult {
    pub probe: String,
    pub kind: &'static str,
    pub host: String,
    pub outcome: CheckOutcome,
}

/// A host restarted before the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootResult {
    pub host: String,
    /// `Ok` with systemd's state after the boot, or why the host did not come back.
    pub outcome: Result<String, String>,
}

const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// The drill's data now, against the count before the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataResult {
    pub host: String,
    pub before: u64,
    /// The count now, or why it could not be taken (the database down, say).
    pub now: Result<u64, String>,
    pub max_loss: u64,
}

impl DataResult {
    /// Rows lost, when the count could be taken.
    pub fn lost(&self) -> Option<u64> {
        self.now
            .as_ref()
            .ok()
            .map(|now| self.before.saturating_sub(*now))
    }

    /// The data is there, with no more lost than allowed.
    pub fn kept(&self) -> bool {
        self.lost().is_some_and(|lost| lost <= self.max_loss)
    }
}

impl Attempt {
    pub fn failing(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.outcome.passed)
    }

    /// Every check passes and the data is kept.
    pub fn solved(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.passed)
            && self.data.as_ref().is_none_or(DataResult::kept)
    }
}

/// Restart the drill's `reboot:` hosts, then run its checks (at once, each with its
/// probe's retries) and count its data. A restarted host's new address is kept in `state`.
pub async fn attempt<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    drill: &Drill,
    state: &mut DrillState,
) -> Attempt {
    let started = Instant::now();
    let mut reboots = Vec::new();
    for name in &drill.reboot {
        let outcome = reboot(engine, state, name).await;
        reboots.push(RebootResult {
            host: name.clone(),
            outcome,
        });
    }
    let state = &*state;
    let hosts = state.addresses();
    let checks = join_all(drill.checks.iter().filter_map(|name| {
        let probe = scenario.probe(name)?;
        let hosts = &hosts;
        Some(async move {
            let outcome = crate::probe::check(probe, engine, hosts, &mut |_, _| {}).await;
            CheckResult {
                probe: name.clone(),
                kind: probe.kind.label(),
                host: probe.kind.host().to_string(),
                outcome,
            }
        })
    }))
    .await;
    let data = match (&drill.data, state.baseline) {
        (Some(data), Some(before)) => {
            let now = match state.host(&data.host) {
                Some(host) => super::count(engine, &host.container_id, &data.host, &data.count)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err(format!("host `{}` is not part of the replica", data.host)),
            };
            Some(DataResult {
                host: data.host.clone(),
                before,
                now,
                max_loss: data.max_loss,
            })
        }
        _ => None,
    };
    Attempt {
        reboots,
        checks,
        data,
        duration: started.elapsed(),
    }
}

/// Restart a host and wait for systemd, like the `reboot` step.
async fn reboot<E: Engine>(
    engine: &E,
    state: &mut DrillState,
    name: &str,
) -> Result<String, String> {
    let network = state.network.clone();
    let publish = state.publish;
    let Some(host) = state.hosts.iter_mut().find(|h| h.name == name) else {
        return Err(format!("host `{name}` is not part of the replica"));
    };
    engine
        .restart_container(&host.container_id, crate::runner::STOP_TIMEOUT)
        .await
        .map_err(|e| format!("cannot restart `{name}`: {e}"))?;
    let booted = crate::runner::wait_booted(engine, &host.container_id, BOOT_TIMEOUT)
        .await
        .map_err(|e| format!("`{name}` did not come back: {e}"))?;
    // The engine may hand out a new address on restart.
    if let Ok((address, reach)) =
        crate::runner::locate(engine, publish, &host.container_id, &network).await
    {
        host.address = address;
        host.reach = reach;
    }
    Ok(match booted {
        crate::runner::BootState::Running => format!("`{name}` rebooted; systemd reports running"),
        crate::runner::BootState::Degraded { failed_units } => {
            format!("`{name}` rebooted degraded: {}", failed_units.trim())
        }
    })
}

/// The attempt as a report: one step per check, the checks' probes, and two gates
/// (every check passes; the data is kept), with the drill's figures in `drill`.
pub fn report(scenario: &Scenario, state: &DrillState, attempt: &Attempt) -> Report {
    let drill = scenario.drill.as_ref();
    let now = jiff::Timestamp::now();
    let steps = attempt
        .checks
        .iter()
        .map(|check| StepReport {
            name: format!("check {}", check.probe),
            kind: "check".into(),
            status: if check.outcome.passed {
                StepStatus::Passed
            } else {
                StepStatus::Failed
            },
            started_ms: Some(0),
            duration_ms: check.outcome.duration.as_millis() as u64,
            detail: Some(check.outcome.evidence.summary.clone()),
            checks: vec![crate::report::CheckReport {
                probe: check.probe.clone(),
                passed: check.outcome.passed,
                attempts: check.outcome.attempts,
                duration_ms: check.outcome.duration.as_millis() as u64,
                evidence: check.outcome.evidence.clone(),
            }],
            evidence: None,
            logs: vec![],
            upgrade: None,
            allow_failure: false,
            interrupted: false,
            checkpoint_ms: None,
            recovery: None,
        })
        .collect();
    let probes = attempt
        .checks
        .iter()
        .map(|check| ProbeReport {
            name: check.probe.clone(),
            kind: check.kind.to_string(),
            host: check.host.clone(),
            attempts: check.outcome.attempts,
            failures: check.outcome.failures,
            checks: 1,
            failed_checks: u32::from(!check.outcome.passed),
            last_failure: (!check.outcome.passed).then(|| check.outcome.evidence.clone()),
        })
        .collect();
    let passing = attempt.checks.iter().filter(|c| c.outcome.passed).count();
    let mut gates = vec![GateReport {
        name: "every check passes".into(),
        passed: passing == attempt.checks.len(),
        value: passing as f64,
        limit: attempt.checks.len() as f64,
        unit: "checks passing".into(),
        detail: format!("{passing} of {} checks pass", attempt.checks.len()),
    }];
    if let Some(data) = &attempt.data {
        gates.push(GateReport {
            name: "data kept".into(),
            passed: data.kept(),
            value: data.lost().map_or(f64::NAN, |lost| lost as f64),
            limit: data.max_loss as f64,
            unit: "rows lost".into(),
            detail: data_detail(data),
        });
    }
    let solved = attempt.solved();
    let time_to_repair_ms = state
        .solved
        .as_ref()
        .map(|s| s.at)
        .or(solved.then_some(now))
        .and_then(|at| {
            at.duration_since(state.briefed_at)
                .as_millis()
                .try_into()
                .ok()
        });
    Report {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: state.run_id.clone(),
        scenario: scenario.name.clone(),
        scenario_path: scenario.path.display().to_string(),
        verdict: if solved { Verdict::Go } else { Verdict::NoGo },
        started_at: state.briefed_at,
        duration_ms: now
            .duration_since(state.briefed_at)
            .as_millis()
            .try_into()
            .unwrap_or(0),
        interrupted: false,
        environment: Environment::default(),
        steps,
        probes,
        monitors: vec![],
        findings: vec![],
        gates,
        not_covered: NOT_COVERED.iter().map(|s| s.to_string()).collect(),
        resumed_from: None,
        apt_cache: None,
        drill: Some(DrillReport {
            solved,
            attempts: state.attempts,
            hints_used: state.hints_used,
            hints_total: drill.map_or(0, |d| d.hints.len() as u32),
            time_to_repair_ms,
            data_before: attempt.data.as_ref().map(|d| d.before),
            data_now: attempt.data.as_ref().and_then(|d| d.now.clone().ok()),
            data_lost: attempt.data.as_ref().and_then(DataResult::lost),
            data_max_loss: attempt.data.as_ref().map_or(0, |d| d.max_loss),
        }),
    }
}

/// "500 rows before, 500 now: none lost", "cannot count: …".
pub fn data_detail(data: &DataResult) -> String {
    match &data.now {
        Err(why) => format!(
            "{} rows before the incident; cannot count them now: {why}",
            data.before
        ),
        Ok(now) => {
            let lost = data.before.saturating_sub(*now);
            let allowed = if data.max_loss == 0 {
                String::new()
            } else {
                format!(" (at most {} may be lost)", data.max_loss)
            };
            if lost == 0 {
                format!(
                    "{} rows before the incident, {now} now: none lost",
                    data.before
                )
            } else {
                format!(
                    "{} rows before the incident, {now} now: {lost} lost{allowed}",
                    data.before
                )
            }
        }
    }
}
