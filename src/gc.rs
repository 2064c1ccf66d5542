//! `rehearse gc`: remove what runs left behind — containers, networks and volumes of
//! runs whose process is gone — and, when asked, the cached images.

use std::collections::BTreeMap;

use crate::engine::{
    CHECKPOINT_LABEL, Engine, EngineError, IMAGE_LABEL, KEEP_LABEL, LabelledResource, OWNER_LABEL,
    RECIPE_LABEL, RUN_LABEL, ResourceKind,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct GcOptions {
    /// Also remove cached images (`rehearse.image`), checkpoints included.
    pub images: bool,
    /// Also remove checkpoints (`rehearse.checkpoint`).
    pub checkpoints: bool,
    /// With `images` or `checkpoints`: only those created longer ago than this.
    pub older_than: Option<std::time::Duration>,
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
        if options.spare_kept && resources.iter().any(is_kept) {
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
        summary.errors.push(format!(
            "the engine's leftovers (helper containers, empty cgroup parents): {e}"
        ));
    }
    if options.images || options.checkpoints {
        // Finished images carry `rehearse.image`; layers left by failed builds (of
        // versions that built recipes with `docker build`) only `rehearse.recipe`. Checkpoints (which carry both) go first: they are made
        // from the others.
        let mut images = engine.list_images(CHECKPOINT_LABEL).await?;
        if options.images {
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
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let old_enough = |created: i64| {
            options
                .older_than
                .is_none_or(|age| now.saturating_sub(created) >= age.as_secs() as i64)
        };
        for image in images.into_iter().filter(|i| old_enough(i.created)) {
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

/// Remove every resource of the runs of one process (`owner`, see [`crate::owner`])
/// but those kept on purpose: what the watchdog does when that process died without
/// cleaning up. Asked until nothing is found, since a call the process made just
/// before dying (a container being created) may complete after the first look.
pub async fn collect_owned<E: Engine>(engine: &E, owner: &str) -> Result<GcSummary, EngineError> {
    let mut summary = GcSummary::default();
    let mut quiet_looks = 0;
    for _ in 0..10 {
        let mut resources: Vec<LabelledResource> = engine
            .list_labelled(&format!("{OWNER_LABEL}={owner}"))
            .await?
            .into_iter()
            .filter(|r| !is_kept(r))
            .collect();
        if resources.is_empty() {
            quiet_looks += 1;
            if quiet_looks == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            continue;
        }
        quiet_looks = 0;
        for resource in &resources {
            let run = resource.labels.get(RUN_LABEL).cloned().unwrap_or_default();
            if !run.is_empty() && !summary.dead_runs.contains(&run) {
                summary.dead_runs.push(run);
            }
        }
        resources.sort_by_key(|r| r.kind);
        for resource in resources {
            remove(engine, &resource, false, &mut summary).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Ok(summary)
}

/// Kept on purpose (`run --keep`). A host made from a checkpoint inherits the label
/// blanked: that is not kept.
fn is_kept(resource: &LabelledResource) -> bool {
    resource
        .labels
        .get(KEEP_LABEL)
        .is_some_and(|value| !value.is_empty())
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
        // A host made from a checkpoint inherits the keep label blanked: not kept.
        let mut resumed = labels("run-crashed", &dead);
        resumed.insert(KEEP_LABEL.into(), String::new());
        start(&engine, "crashed", resumed).await;
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

    #[tokio::test]
    async fn the_watchdog_removes_its_process_s_resources_only_and_not_kept_ones() {
        let engine = FakeEngine::healthy();
        let mine = "vm/1/1";
        start(&engine, "a", labels("run-a", mine)).await;
        let mut resumed = labels("run-b", mine);
        resumed.insert(KEEP_LABEL.into(), String::new());
        start(&engine, "b", resumed).await;
        let mut kept = labels("run-kept", mine);
        kept.insert(KEEP_LABEL.into(), "true".into());
        start(&engine, "kept", kept).await;
        start(&engine, "other", labels("run-other", "vm/2/2")).await;
        let summary = collect_owned(&engine, mine).await.unwrap();
        assert_eq!(summary.dead_runs, ["run-a", "run-b"]);
        let left: Vec<String> = engine
            .live_resources()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(left, ["kept-net", "kept", "other-net", "other"]);
    }
}
