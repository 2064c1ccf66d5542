//! `rollback` step: return every host to a snapshot taken earlier in the run, booted
//! like at provision, and prove with probes that the stack is back to its baseline —
//! the proof that the undo works.

use std::time::{Duration, Instant};

use super::snapshot::SnapshotStep;
use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::runner::{Rehearsal, provision};
use crate::scenario::format::{ProbeRefs, SnapshotName};
use crate::scenario::{StepSequence, StepSpec};
use crate::yaml::{Mark, closest, one_of};
use schemars::JsonSchema;
use serde::Deserialize;

/// Return every host to a snapshot: each container is replaced by one started from its
/// snapshot, booted like at provision; then `probes` prove the stack is back to its
/// baseline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackStep {
    /// The name of an earlier `snapshot` step.
    #[serde(with = "SnapshotName")]
    pub to: String,
    #[serde(default, with = "ProbeRefs")]
    pub probes: Vec<String>,
}

impl StepSpec for RollbackStep {
    /// The snapshot is taken by an earlier step.
    fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        // A name that was missing or wrong is already reported.
        if self.to.is_empty() {
            return;
        }
        let taken: Vec<&str> = seq
            .earlier()
            .iter()
            .filter_map(|s| s.kind.get::<SnapshotStep>())
            .map(|s| s.name.as_str())
            .collect();
        if taken.contains(&self.to.as_str()) {
            return;
        }
        let help = match closest(&self.to, taken.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None if taken.is_empty() => "add a `snapshot: NAME` step before it".to_string(),
            None => format!(
                "snapshots taken before it: {}",
                one_of(taken.iter().copied())
            ),
        };
        seq.d.error_with_help(
            Mark::of(seq.item()),
            format!(
                "`rollback` to `{}`, but no earlier step takes that snapshot",
                self.to
            ),
            help,
        );
    }

    const KIND: &'static str = "rollback";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn derived_name(&self) -> String {
        format!("rollback to {}", self.to)
    }
}

impl RunStep for RollbackStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        rollback(self, cx).await
    }
}

async fn rollback<E: Engine>(step: &RollbackStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let started = Instant::now();
    let Some(saved) = cx.state.snapshots.get(&step.to).cloned() else {
        return StepResult::failed(format!("snapshot `{}` was not taken", step.to));
    };
    for (host_name, image) in &saved {
        let Some(host) = cx.scenario.host(host_name) else {
            continue;
        };
        cx.progress(format!("returning {host_name} to snapshot `{}`", step.to));
        if let Some(old) = cx.container(host_name) {
            if let Err(e) = cx.engine.remove_container(&old).await {
                return StepResult::failed(format!("cannot remove host `{host_name}`: {e}"));
            }
            cx.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .containers
                .retain(|(_, id)| *id != old);
        }
        let rehearsal = Rehearsal {
            engine: cx.engine,
            scenario: cx.scenario,
            options: cx.options,
            created: cx.created,
            redactor: cx.redactor,
        };
        match provision::start_host(&rehearsal, host, image, vec![], cx.sink, cx.state).await {
            Ok(Ok(())) => {}
            Ok(Err(detail)) => return StepResult::failed(detail),
            Err(e) => return StepResult::failed(format!("cannot start host `{host_name}`: {e}")),
        }
    }
    // The hosts may have come back at other addresses than they had when saved.
    let moved = match crate::runner::addresses::follow(
        cx.engine,
        cx.scenario,
        cx.options,
        cx.state,
        cx.sink,
    )
    .await
    {
        Ok(notes) => notes,
        Err(detail) => return StepResult::failed(detail),
    };
    let restored = started.elapsed();
    let checks = cx.check_probes(&step.probes).await;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.probe.as_str())
        .collect();
    let detail = if failed.is_empty() {
        format!(
            "{} back to snapshot `{}` in {:.1} s{}",
            saved.keys().cloned().collect::<Vec<_>>().join(", "),
            step.to,
            restored.as_secs_f64(),
            if checks.is_empty() {
                String::new()
            } else {
                format!("; baseline probes pass: {}", step.probes.join(", "))
            }
        )
    } else {
        format!(
            "back to snapshot `{}` in {:.1} s, but the baseline is not: probe {} failed",
            step.to,
            restored.as_secs_f64(),
            failed.join(", ")
        )
    };
    let detail = std::iter::once(detail)
        .chain(moved)
        .collect::<Vec<_>>()
        .join("; ");
    StepResult {
        passed: failed.is_empty(),
        detail: Some(detail),
        checks,
        ..StepResult::default()
    }
}
