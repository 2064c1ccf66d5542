//! `probe` step: check the named probes now; the step fails if any of them fails.

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::ProbeStep;

pub(super) async fn run<E: Engine>(step: &ProbeStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let mut checks = Vec::new();
    let mut failed = Vec::new();
    for name in &step.probes {
        let Some(check) = cx.check_probe(name).await else {
            failed.push(format!("probe `{name}` is not defined"));
            continue;
        };
        if !check.passed {
            failed.push(format!("probe `{name}`: {}", check.evidence.summary));
        }
        checks.push(check);
    }
    StepResult {
        passed: failed.is_empty(),
        detail: (!failed.is_empty()).then(|| failed.join("; ")),
        checks,
        ..StepResult::default()
    }
}
