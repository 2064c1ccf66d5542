//! `rehearse gc`: remove what runs left behind — containers, networks and volumes of
//! runs whose process is gone — and, when asked, the cached images.

use std::collections::BTreeMap;

use crate::engine::{
    Engine, EngineError, IMAGE_LABEL, LabelledResource, OWNER_LABEL, RUN_LABEL, ResourceKind,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct GcOptions {
    /// Also remove cached images (`rehearse.image`).
    pub images: bool,
    /// Also remove resources of runs owned by another machine or that look alive.
    pub force: bool,
    /// Only list what would be removed.
    pub dry_run: bool,
}

/// What gc did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct GcSummary {
    pub removed: Vec<(ResourceKind, String)>,
    /// Runs left alone because their process is alive (or on another machine).
    pub live_runs: Vec<String>,
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
        if only_run.is_some_and(|r| r != run) {
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
        // Containers before the networks and volumes they use.
        resources.sort_by_key(|r| r.kind);
        for resource in resources {
            remove(engine, &resource, options.dry_run, &mut summary).await;
        }
    }
    if options.images {
        for image in engine.list_images(IMAGE_LABEL).await? {
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
