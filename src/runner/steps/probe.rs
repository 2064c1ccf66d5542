//! `probe` step: check the named probes now; the step fails if any of them fails.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::format::ProbeRefs;
use crate::scenario::{StepInput, StepSpec, decode_fields};
use crate::yaml::{Mark, Node};
use serde_saphyr::Spanned;

/// Run these probes now; the step fails if any of them fails.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ProbeStep {
    #[serde(with = "ProbeRefs")]
    pub probes: Vec<String>,
}

impl StepSpec for ProbeStep {
    const KIND: &'static str = "probe";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(300)
    }

    fn derived_name(&self) -> String {
        format!("probe {}", self.probes.join(", "))
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let step: Self = decode_fields(input, body)?;
        if step.probes.is_empty() && matches!(body.value, Node::Seq(_)) {
            input.d.error(
                Mark::of(body),
                format!("`probe` of {} must name at least one probe", input.what),
            );
            return None;
        }
        Some(step)
    }
}

impl RunStep for ProbeStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

async fn run<E: Engine>(step: &ProbeStep, cx: &mut StepContext<'_, E>) -> StepResult {
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
