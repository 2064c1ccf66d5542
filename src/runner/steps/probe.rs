//! `probe` step: check the named probes now; the step fails if any of them fails.

use std::time::Duration;

use serde_json::{Value, json};
use serde_saphyr::Spanned;

use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::{Refs, StepInput, StepSpec, one_or_many, one_or_more};
use crate::yaml::{Decoder, Mark, Node};

/// Run these probes now; the step fails if any of them fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeStep {
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
        decode_probe_step(input.d, body, input.what, input.refs)
    }

    fn schema() -> Value {
        json!({
            "description": "Probes to run now.",
            "oneOf": one_or_more(json!({"$ref": "#/$defs/probeRef"}))["oneOf"]
        })
    }
}

impl RunStep for ProbeStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

fn decode_probe_step(
    d: &Decoder,
    node: &Spanned<Node>,
    step: &str,
    refs: &Refs,
) -> Option<ProbeStep> {
    let items = one_or_many(node);
    if items.is_empty() {
        d.error(
            Mark::of(node),
            format!("`probe` of {step} must name at least one probe"),
        );
        return None;
    }
    let probes: Vec<String> = items
        .iter()
        .filter_map(|item| refs.probe(d, item, step))
        .collect();
    (probes.len() == items.len()).then_some(ProbeStep { probes })
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
