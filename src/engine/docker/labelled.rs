//! What a run left behind: every container, network, volume and image carrying a
//! label (for cleanup and `rehearse gc`), and removing volumes, which `rehearse` only
//! meets as such leftovers.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptions,
    RemoveVolumeOptionsBuilder,
};

use super::call::{ignore_not_found, is_conflict, within};
use super::{CALL_TIMEOUT, DockerEngine};
use crate::engine::{Engine, EngineError, LabelledResource, ResourceKind};

pub(super) async fn list(
    engine: &DockerEngine,
    label: &str,
) -> Result<Vec<LabelledResource>, EngineError> {
    let filters = label_filter(label);
    let mut found = Vec::new();
    let containers = within(
        "list containers",
        label,
        CALL_TIMEOUT,
        engine.docker.list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        )),
    )
    .await?;
    for c in containers {
        found.push(LabelledResource {
            kind: ResourceKind::Container,
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            labels: to_btree(c.labels),
        });
    }
    let networks = within(
        "list networks",
        label,
        CALL_TIMEOUT,
        engine.docker.list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        )),
    )
    .await?;
    for n in networks {
        found.push(LabelledResource {
            kind: ResourceKind::Network,
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            labels: to_btree(n.labels),
        });
    }
    let volumes = within(
        "list volumes",
        label,
        CALL_TIMEOUT,
        engine.docker.list_volumes(Some(ListVolumesOptions {
            filters: Some(filters.clone()),
        })),
    )
    .await?;
    for v in volumes.volumes.unwrap_or_default() {
        found.push(LabelledResource {
            kind: ResourceKind::Volume,
            id: v.name.clone(),
            name: v.name,
            labels: v.labels.into_iter().collect(),
        });
    }
    // Snapshots of hosts are images carrying the run's label.
    for image in engine.list_images(label).await? {
        let name = image.tags.first().cloned().unwrap_or(image.id.clone());
        found.push(LabelledResource {
            kind: ResourceKind::Image,
            id: name.clone(),
            name,
            labels: image.labels,
        });
    }
    Ok(found)
}

pub(super) async fn remove_volume(engine: &DockerEngine, name: &str) -> Result<(), EngineError> {
    // The container using it may still be going away (its removal already under way,
    // answered at once): the engine then calls the volume in use for a moment.
    let started = std::time::Instant::now();
    loop {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        let removed = ignore_not_found(
            within(
                "remove volume",
                name,
                CALL_TIMEOUT,
                engine.docker.remove_volume(name, Some(options)),
            )
            .await,
        );
        match removed {
            Err(e) if is_conflict(&e, "in use") && started.elapsed() < VOLUME_IN_USE_WAIT => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

/// How long a volume still in use is asked again.
const VOLUME_IN_USE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

pub(super) fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

fn to_btree(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}
