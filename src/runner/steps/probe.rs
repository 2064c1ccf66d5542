//! `probe` step: check the named probes now; the step fails if any of them fails.

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::probe::check;
use crate::report::CheckReport;
use crate::runner::RunEvent;
use crate::scenario::ProbeStep;

pub(super) async fn run<E: Engine>(step: &ProbeStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let mut checks = Vec::new();
    let mut failed = Vec::new();
    for name in &step.probes {
        let Some(probe) = cx.scenario.probe(name) else {
            failed.push(format!("probe `{name}` is not defined"));
            continue;
        };
        let sink = &mut *cx.sink;
        let outcome = check(probe, cx.engine, &cx.state.hosts, &mut |attempt, result| {
            sink.event(&RunEvent::ProbeAttempt {
                probe: name.clone(),
                attempt,
                result: result.clone(),
            })
        })
        .await;
        cx.state.record_check(&outcome);
        if !outcome.passed {
            failed.push(format!("probe `{name}`: {}", outcome.evidence.summary));
        }
        checks.push(CheckReport {
            probe: name.clone(),
            passed: outcome.passed,
            attempts: outcome.attempts,
            duration_ms: outcome.duration.as_millis() as u64,
            evidence: outcome.evidence,
        });
    }
    StepResult {
        passed: failed.is_empty(),
        detail: (!failed.is_empty()).then(|| failed.join("; ")),
        checks,
        evidence: None,
        ..StepResult::default()
    }
}
