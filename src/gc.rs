//! `rehearse gc`: remove what runs left behind — containers, networks and volumes of
//! runs whose process is gone — and, when asked, the cached images.

use std::collections::BTreeMap;

use crate::engine::{
    CHECKPOINT_LABEL, Engine, EngineError, IMAGE_LABEL, KEEP_LABEL, LabelledResource, OWNER_LABEL,
    RECIPE_LABEL, RUN_LABEL, ResourceKind,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct GcOptions {
    /// Also remove cached images (`rehearse.image`).
    pub images: bool,
    /// Also remove resources of runs owned by another machine or that look alive.
    pub force: bool,
    /// Only list what would be removed.
    pub dry_run: bool,
    /// Leave replicas kept on purpose (`run --keep`) alone, even when their run is gone.
    pub spare_kept: bool,
}

/// What gc did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct GcSummary {
    pub removed: Vec<(ResourceKind, String)>,
    /// Runs left alone because their process is alive (or on another machine).
    pub live_runs: Vec<String>,
    /// Dead runs left alone because they were kept on purpose (`spare_kept`).
    pub kept_runs: Vec<String>,
    /// Runs whose resources were removed (or would be, in a dry run).
    pub dead_runs: Vec<String>,
    pub errors: Vec<String>,
}

/// Remove resources of dead runs; `only_run` limits it to one run id.
pub async fn collect<E: Engine>(
    engine: &E,
    options: GcOptions,
    only_run: Option<&str>,
) -> Result<GcSummary, EngineError> {
    let mut summary = GcSummary::default();
    let resources = engine.list_labelled(RUN_LABEL).await?;
    let mut by_run: BTreeMap<String, Vec<LabelledResource>> = BTreeMap::new();
    for resource in resources {
        let run = resource.labels.get(RUN_LABEL).cloned().unwrap_or_default();
        by_run.entry(run).or_default().push(resource);
    }
    for (run, mut resources) in by_run {
        // Checkpoints blank the run label they inherit: they belong to no run.
        if run.is_empty() || only_run.is_some_and(|r| r != run) {
            continue;
        }
        let alive = resources
            .iter()
            .find_map(|r| r.labels.get(OWNER_LABEL))
            .map(|owner| crate::owner::is_alive(owner).unwrap_or(true))
            .unwrap_or(false);
        if alive && !options.force {
            summary.live_runs.push(run);
            continue;
        }
        if options.spare_kept && resources.iter().any(|r| r.labels.contains_key(KEEP_LABEL)) {
            summary.kept_runs.push(run);
            continue;
        }
        summary.dead_runs.push(run);
        // Containers before the networks and volumes they use.
        resources.sort_by_key(|r| r.kind);
        for resource in resources {
            remove(engine, &resource, options.dry_run, &mut summary).await;
        }
    }
    if !options.dry_run
        && let Err(e) = engine.sweep().await
    {
        summary
            .errors
            .push(format!("sweeping the engine's leftovers: {e}"));
    }
    if options.images {
        // Finished images carry `rehearse.image`; layers left by failed builds only
        // `rehearse.recipe`. Checkpoints (which carry both) go first: they are made
        // from the others.
        let mut images = engine.list_images(CHECKPOINT_LABEL).await?;
        for image in engine
            .list_images(IMAGE_LABEL)
            .await?
            .into_iter()
            .chain(engine.list_images(RECIPE_LABEL).await?)
        {
            if !images.iter().any(|i| i.id == image.id) {
                images.push(image);
            }
        }
        for image in images {
            let name = image.tags.first().cloned().unwrap_or(image.id.clone());
            let resource = LabelledResource {
                kind: ResourceKind::Image,
                id: name.clone(),
                name,
                labels: image.labels,
            };
            remove(engine, &resource, options.dry_run, &mut summary).await;
        }
    }
    Ok(summary)
}

async fn remove<E: Engine>(
    engine: &E,
    resource: &LabelledResource,
    dry_run: bool,
    summary: &mut GcSummary,
) {
    if !dry_run {
        let result = match resource.kind {
            ResourceKind::Container => engine.remove_container(&resource.id).await,
            ResourceKind::Network => engine.remove_network(&resource.id).await,
            ResourceKind::Volume => engine.remove_volume(&resource.id).await,
            ResourceKind::Image => engine.remove_image(&resource.id).await,
        };
        if let Err(e) = result {
            summary.errors.push(format!(
                "{} `{}`: {e}",
                resource.kind.as_str(),
                resource.name
            ));
            return;
        }
    }
    summary.removed.push((resource.kind, resource.name.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ContainerSpec;
    use crate::engine::fake::FakeEngine;

    fn labels(run: &str, owner: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (RUN_LABEL.to_string(), run.to_string()),
            (OWNER_LABEL.to_string(), owner.to_string()),
        ])
    }

    async fn start(engine: &FakeEngine, name: &str, labels: BTreeMap<String, String>) {
        engine
            .create_network(&format!("{name}-net"), &labels)
            .await
            .unwrap();
        let spec = ContainerSpec {
            name: name.into(),
            hostname: name.into(),
            image: "i".into(),
            network: format!("{name}-net"),
            aliases: vec![],
            labels,
            env: vec![],
            exec_env: vec![],
            cmd: vec![],
            systemd: false,
            memory: None,
            cpus: None,
            pids: None,
            files: vec![],
            publish: vec![],
        };
        engine.run_container(&spec).await.unwrap();
    }

    #[tokio::test]
    async fn removes_dead_runs_and_leaves_live_ones() {
        let engine = FakeEngine::healthy();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        start(
            &engine,
            "dead",
            labels("run-dead", &format!("{}/999999999/1", host.trim())),
        )
        .await;
        start(
            &engine,
            "live",
            labels("run-live", &crate::owner::current()),
        )
        .await;
        let summary = collect(&engine, GcOptions::default(), None).await.unwrap();
        assert_eq!(
            summary.removed,
            [
                (ResourceKind::Container, "dead".to_string()),
                (ResourceKind::Network, "dead-net".to_string())
            ]
        );
        assert_eq!(summary.live_runs, ["run-live"]);
        let left: Vec<String> = engine
            .live_resources()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(left, ["live-net", "live"]);
    }

    #[tokio::test]
    async fn a_runs_own_cleanup_spares_kept_replicas_but_gc_does_not() {
        let engine = FakeEngine::healthy();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let dead = format!("{}/999999999/1", host.trim());
        start(&engine, "crashed", labels("run-crashed", &dead)).await;
        let mut kept = labels("run-kept", &dead);
        kept.insert(KEEP_LABEL.into(), "true".into());
        start(&engine, "kept", kept).await;
        let own = GcOptions {
            spare_kept: true,
            ..GcOptions::default()
        };
        let summary = collect(&engine, own, None).await.unwrap();
        assert_eq!(summary.dead_runs, ["run-crashed"]);
        assert_eq!(summary.kept_runs, ["run-kept"]);
        assert_eq!(engine.live_resources().len(), 2);
        let summary = collect(&engine, GcOptions::default(), None).await.unwrap();
        assert_eq!(summary.dead_runs, ["run-kept"]);
        assert!(engine.live_resources().is_empty());
    }

    #[tokio::test]
    async fn dry_run_removes_nothing_and_force_removes_live_runs() {
        let engine = FakeEngine::healthy();
        start(
            &engine,
            "live",
            labels("run-live", &crate::owner::current()),
        )
        .await;
        let dry = GcOptions {
            force: true,
            dry_run: true,
            ..GcOptions::default()
        };
        assert_eq!(collect(&engine, dry, None).await.unwrap().removed.len(), 2);
        assert_eq!(engine.live_resources().len(), 2);
        let force = GcOptions {
            force: true,
            ..GcOptions::default()
        };
        collect(&engine, force, None).await.unwrap();
        assert!(engine.live_resources().is_empty());
    }
}
