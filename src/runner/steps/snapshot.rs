//! `snapshot` step: save every host as it is (`docker commit`, paused meanwhile), so a
//! later `rollback` can return to that state — the undo of a rehearsal.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::runner::run_labels;
use schemars::JsonSchema;
use serde::Deserialize;

use super::RunStep;
use crate::scenario::StepSpec;
use crate::scenario::format::SnapshotName;

/// Save every host as it is now (`docker commit`, paused meanwhile), under a name a
/// later `rollback` step can return to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SnapshotStep {
    #[serde(with = "SnapshotName")]
    pub name: String,
}

impl StepSpec for SnapshotStep {
    const KIND: &'static str = "snapshot";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn derived_name(&self) -> String {
        format!("snapshot {}", self.name)
    }
}

impl RunStep for SnapshotStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        snapshot(self, cx).await
    }
}

/// Image reference of a host's snapshot.
fn reference(run_id: &str, snapshot: &str, host: &str) -> String {
    format!("rehearse/snapshot-{run_id}:{snapshot}-{host}")
}

async fn snapshot<E: Engine>(step: &SnapshotStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let started = Instant::now();
    let hosts: Vec<(String, String)> = cx
        .state
        .hosts
        .iter()
        .map(|(name, h)| (name.clone(), h.container_id.clone()))
        .collect();
    // A host started again from the snapshot learns where its peers were.
    crate::runner::addresses::record(cx.engine, &cx.state.hosts).await;
    // With checkpoints on, the snapshot is the checkpoint before the next step: saved
    // once, kept for `run --from`, and what `rollback` returns to.
    if cx.options.checkpoints
        && let Some(base) = cx.state.checkpoint_base.clone()
    {
        let position = cx.index; // the next step's index in the scenario's steps
        let key = crate::runner::checkpoint::key(&base, cx.scenario, position);
        cx.progress(format!("saving {}", names(&hosts)));
        let saved = match crate::runner::checkpoint::save(
            cx.engine,
            cx.scenario,
            &cx.options.run_id,
            &key,
            position - 1,
            &hosts,
        )
        .await
        {
            Ok(saved) => saved,
            Err(e) => return StepResult::failed(format!("cannot save the hosts: {e}")),
        };
        return saved_as(step, saved, cx, started);
    }
    let mut saved = BTreeMap::new();
    for (host, container) in hosts {
        cx.progress(format!("saving {host}"));
        let image = reference(&cx.options.run_id, &step.name, &host);
        let mut labels = run_labels(cx.options, cx.scenario);
        labels.insert("rehearse.host".into(), host.clone());
        labels.insert("rehearse.snapshot".into(), step.name.clone());
        if let Err(e) = cx
            .engine
            .commit_container(
                &container,
                &image,
                &labels,
                &crate::runner::checkpoint::env_names(cx.scenario, &host),
            )
            .await
        {
            return StepResult::failed(format!("cannot save host `{host}`: {e}"));
        }
        cx.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .images
            .push(image.clone());
        saved.insert(host, image);
    }
    saved_as(step, saved, cx, started)
}

fn names(hosts: &[(String, String)]) -> String {
    hosts
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn saved_as<E: Engine>(
    step: &SnapshotStep,
    saved: BTreeMap<String, String>,
    cx: &mut StepContext<'_, E>,
    started: Instant,
) -> StepResult {
    let detail = format!(
        "saved {} as snapshot `{}` in {:.1} s",
        saved.keys().cloned().collect::<Vec<_>>().join(", "),
        step.name,
        started.elapsed().as_secs_f64()
    );
    cx.state.snapshots.insert(step.name.clone(), saved);
    StepResult {
        passed: true,
        detail: Some(detail),
        ..StepResult::default()
    }
}
