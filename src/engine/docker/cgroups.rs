//! Keeping a systemd replica inside cgroups of its own.
//!
//! systemd as PID 1 must write the cgroup filesystem to make its scopes and slices.
//! Binding the engine machine's `/sys/fs/cgroup` read-write lets it, but also lets root
//! in the replica (a maintainer script, an `exec` step, an imported production config)
//! rewrite the limits of, or move processes out of, the machine and every other
//! container. On cgroup v1 with the `cgroupfs` driver (measured: Docker 20.10) each
//! replica instead gets a parent of its own, `/docker/rehearse/<container name>`
//! (`--cgroup-parent`), and sees the machine's hierarchies read-only except that
//! subtree, bound read-write over them at the same path; the engine's cgroup namespace
//! is kept, so the paths systemd reads in `/proc/self/cgroup` are the ones it finds
//! mounted (what Podman does for systemd containers on v1). The limits the engine sets
//! sit in that subtree: root in the replica can change its own limits, as root on a
//! real host can, and nothing else.
//!
//! Nothing removes such a parent when its container goes, so [`release`] does, from a
//! short-lived helper container. Other engines (cgroup v2, the `systemd` driver) keep
//! the whole tree writable and say so ([`crate::engine::EngineInfo::cgroup_risk`]).

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, HostConfig, HostConfigCgroupnsModeEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
};
use futures_util::StreamExt;

use super::call::within;
use super::{CALL_TIMEOUT, DockerEngine};
use crate::engine::{CHECKPOINT_LABEL, Engine, EngineError, IMAGE_LABEL, OWNER_LABEL};

/// Under this cgroup sits each confined replica's own parent: inside the engine's own
/// (`/docker`, the `cgroupfs` driver's default), so replicas share the machine with its
/// other processes — the prober among them — as other containers do, not each with a
/// top-level share of its own.
const ROOT: &str = "docker/rehearse";
/// Label of the helper containers (gc removes any left over).
pub(super) const HELPER_LABEL: &str = "rehearse.helper";

/// How replicas are given cgroups on this engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Confinement {
    /// Each replica writes only its own parent; these are the entries of the engine
    /// machine's `/sys/fs/cgroup` (its hierarchies, e.g. `memory`, `systemd`).
    OwnParent(Vec<String>),
    /// The whole tree is writable (see [`crate::engine::EngineInfo::cgroup_risk`]).
    WholeTree,
}

/// The confinement for replicas of `engine`, worked out once per engine connection
/// (the hierarchies are read from a helper made from `image`).
pub(super) async fn confinement(
    engine: &DockerEngine,
    image: &str,
) -> Result<Confinement, EngineError> {
    engine
        .cgroups
        .get_or_try_init(|| async {
            if engine.info().await?.cgroup_risk().is_some() {
                return Ok(Confinement::WholeTree);
            }
            let listing = helper(
                engine,
                image,
                vec!["/sys/fs/cgroup:/sys/fs/cgroup:ro".into()],
                vec!["ls".into(), "-1".into(), "/sys/fs/cgroup".into()],
            )
            .await?;
            let entries = hierarchies(&listing);
            if entries.is_empty() {
                return Err(EngineError::Other(format!(
                    "the engine's machine shows no cgroup hierarchy under /sys/fs/cgroup \
                     (it listed: {:?})",
                    listing.trim()
                )));
            }
            Ok(Confinement::OwnParent(entries))
        })
        .await
        .cloned()
}

/// The hierarchy names in `ls -1 /sys/fs/cgroup`; anything that could not be part of
/// a bind (a `:`) or a path is left out.
fn hierarchies(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|name| {
            !name.is_empty()
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ',' | '.' | '='))
        })
        .map(String::from)
        .collect()
}

/// The cgroup parent of the replica named `name`.
pub(super) fn parent_of(name: &str) -> String {
    format!("/{ROOT}/{name}")
}

/// Give a systemd replica named `name` the cgroup mounts it needs under `confinement`.
pub(super) fn mount(host_config: &mut HostConfig, confinement: &Confinement, name: &str) {
    // Either way the engine's namespace: on v1 the paths in /proc/self/cgroup must be
    // the mounted ones; on v2 the host namespace with a writable bind is what lets
    // systemd create its scopes.
    host_config.cgroupns_mode = Some(HostConfigCgroupnsModeEnum::HOST);
    match confinement {
        Confinement::WholeTree => {
            host_config.binds = Some(vec!["/sys/fs/cgroup:/sys/fs/cgroup:rw".to_string()]);
        }
        Confinement::OwnParent(entries) => {
            let parent = parent_of(name);
            let mut binds = Vec::new();
            for entry in entries {
                let whole = format!("/sys/fs/cgroup/{entry}");
                binds.push(format!("{whole}:{whole}:ro"));
                let own = format!("{whole}{parent}");
                binds.push(format!("{own}:{own}:rw"));
            }
            host_config.binds = Some(binds);
            host_config.cgroup_parent = Some(parent);
            // Our own /sys/fs/cgroup to hold those mounts, as the engine machine's is.
            host_config.tmpfs.get_or_insert_with(HashMap::new).insert(
                "/sys/fs/cgroup".into(),
                "rw,nosuid,nodev,noexec,mode=755".into(),
            );
        }
    }
}

/// Remove the (empty) cgroup parent `parent` of a removed container, from a helper
/// made from `image`. Best effort: what is left is an empty cgroup, which `gc` sweeps.
pub(super) async fn release(engine: &DockerEngine, parent: &str, image: &str) {
    let Some(name) = parent.strip_prefix(&format!("/{ROOT}/")) else {
        return;
    };
    // The container's own cgroups may take a moment to go after it (the runtime
    // removes them as its processes exit): children first, a few times over.
    let script = format!(
        "for i in 1 2 3 4 5 6 7 8 9 10; do left=; \
         for d in /sys/fs/cgroup/*/{ROOT}/\"$1\"; do if [ -d \"$d\" ]; then \
         find \"$d\" -depth -type d -exec rmdir {{}} \\; 2>/dev/null; \
         if [ -d \"$d\" ]; then left=1; fi; fi; done; \
         if [ -z \"$left\" ]; then exit 0; fi; sleep 0.5; done; exit 1"
    );
    let _ = on_machine_cgroups(engine, image, &script, &[name.to_string()]).await;
}

/// Freeze (`frozen`) or thaw the cgroup of container `id` behind the engine's back,
/// from a helper made from `image`: the way out when the engine is stuck on a paused
/// container (see `images::commit_container`). cgroup v1's `freezer.state`, or v2's
/// `cgroup.freeze`, wherever the container's cgroup sits (`/docker/<id>`, a parent
/// of its own, or a `docker-<id>.scope`).
pub(super) async fn freeze(
    engine: &DockerEngine,
    image: &str,
    id: &str,
    frozen: bool,
) -> Result<(), EngineError> {
    let (v1, v2) = if frozen {
        ("FROZEN", "1")
    } else {
        ("THAWED", "0")
    };
    // v1 where the machine has a freezer hierarchy (a hybrid machine's unified tree
    // has a `cgroup.freeze` too, which the engine's unpause would not undo).
    let script = format!(
        "if [ -d /sys/fs/cgroup/freezer ]; then \
         for d in $(find /sys/fs/cgroup/freezer -maxdepth 5 -type d -name \"$1\"); do \
         echo {v1} > \"$d/freezer.state\" && echo done; done; \
         else for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name \"*$1*\"); do \
         if [ -f \"$d/cgroup.freeze\" ]; then echo {v2} > \"$d/cgroup.freeze\" && echo done; fi; \
         done; fi"
    );
    let output = on_machine_cgroups(engine, image, &script, &[id.to_string()]).await?;
    if output.lines().any(|line| line == "done") {
        Ok(())
    } else {
        Err(EngineError::Other(format!(
            "found no cgroup of container {id} to {}",
            if frozen { "freeze" } else { "thaw" }
        )))
    }
}

/// Remove helpers whose process died, then every empty replica parent whose container
/// is gone, from a helper made from any cached image: for `gc`, which may run beside
/// live runs. A parent is empty while its container is stopped or between the two
/// halves of a reboot, and the next start needs it; a helper is not running between
/// its creation and its start.
pub(super) async fn sweep(engine: &DockerEngine) -> Result<(), EngineError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for helper in listed(engine, Some(HELPER_LABEL)).await? {
        let owner = helper.labels.as_ref().and_then(|l| l.get(OWNER_LABEL));
        let abandoned = match owner.and_then(|o| crate::owner::is_alive(o)) {
            Some(alive) => !alive,
            // Another machine's: a helper lives seconds, so one idle for ten minutes
            // is left over.
            None => {
                helper.state != Some(ContainerSummaryStateEnum::RUNNING)
                    && now.saturating_sub(helper.created.unwrap_or(now)) > 600
            }
        };
        if abandoned && let Some(id) = helper.id {
            remove_helper(engine, &id).await;
        }
    }
    if engine.info().await?.cgroup_risk().is_some() {
        return Ok(());
    }
    // Any cached image will do for the helper, but one may go between this listing and
    // the helper's creation (a run that ends removes its checkpoints, `gc --images` the
    // cached images): then the next one. Checkpoints last, being the ones that go.
    let mut images = engine.list_images(IMAGE_LABEL).await?;
    images.sort_by_key(|image| image.labels.contains_key(CHECKPOINT_LABEL));
    if images.is_empty() {
        return Ok(());
    }
    // Listed before the parents are looked at.
    let existing: Vec<String> = listed(engine, None)
        .await?
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .map(|n| n.trim_start_matches('/').to_string())
        .collect();
    // Nor a parent made in the last minute: a container created after the listing
    // (the engine makes its parent then) but not started yet has an empty one, and its
    // start needs it (a rollback removes a host and creates it again under its name).
    let script = format!(
        "for d in /sys/fs/cgroup/*/{ROOT}/*/; do n=$(basename \"$d\"); \
         case \" $* \" in *\" $n \"*) continue;; esac; \
         [ -n \"$(find \"$d\" -maxdepth 0 -mmin +1)\" ] || continue; \
         rmdir \"$d\" 2>/dev/null; done; true"
    );
    for image in images {
        match on_machine_cgroups(engine, &image.id, &script, &existing).await {
            Err(e) if super::call::is_not_found(&e) => continue,
            done => return done.map(drop),
        }
    }
    Ok(())
}

/// Every container of the engine, or those carrying `label`.
async fn listed(
    engine: &DockerEngine,
    label: Option<&str>,
) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
    let filters = label.map(super::labelled::label_filter).unwrap_or_default();
    within(
        "list containers",
        label.unwrap_or("all"),
        CALL_TIMEOUT,
        engine.docker.list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        )),
    )
    .await
}

async fn remove_helper(engine: &DockerEngine, id: &str) {
    let _ = super::containers::discard(engine, id).await;
}

/// Run the shell `script` with `args` (`$1`…) in a helper made from `image` that
/// sees the engine machine's whole cgroup tree, writable; returns what it printed.
async fn on_machine_cgroups(
    engine: &DockerEngine,
    image: &str,
    script: &str,
    args: &[String],
) -> Result<String, EngineError> {
    let mut cmd = vec!["sh".into(), "-c".into(), script.to_string(), "sh".into()];
    cmd.extend_from_slice(args);
    helper(
        engine,
        image,
        vec!["/sys/fs/cgroup:/sys/fs/cgroup:rw".into()],
        cmd,
    )
    .await
}

/// Run `cmd` in a throwaway container made from `image` with `binds`, no network and
/// the engine's cgroup namespace; returns what it printed.
async fn helper(
    engine: &DockerEngine,
    image: &str,
    binds: Vec<String>,
    cmd: Vec<String>,
) -> Result<String, EngineError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd),
        entrypoint: Some(Vec::new()),
        labels: Some(HashMap::from([
            (HELPER_LABEL.to_string(), "cgroups".to_string()),
            (OWNER_LABEL.to_string(), crate::owner::current()),
        ])),
        host_config: Some(HostConfig {
            binds: Some(binds),
            network_mode: Some("none".into()),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = within(
        "create helper container",
        image,
        CALL_TIMEOUT,
        engine
            .docker
            .create_container(Some(CreateContainerOptionsBuilder::default().build()), body),
    )
    .await?;
    let id = created.id;
    let ran = async {
        within(
            "start helper container",
            &id,
            CALL_TIMEOUT,
            engine.docker.start_container(
                &id,
                None::<bollard::query_parameters::StartContainerOptions>,
            ),
        )
        .await?;
        // A non-zero exit comes back as an error of the wait; the output says enough.
        let _ = tokio::time::timeout(
            CALL_TIMEOUT,
            engine
                .docker
                .wait_container(&id, None::<bollard::query_parameters::WaitContainerOptions>)
                .collect::<Vec<_>>(),
        )
        .await;
        let mut logs = engine.docker.logs(
            &id,
            Some(LogsOptionsBuilder::default().stdout(true).build()),
        );
        let mut out = String::new();
        while let Some(chunk) = logs.next().await {
            let chunk = chunk.map_err(super::call::call_err("helper output", &id))?;
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok::<String, EngineError>(out)
    };
    let out = ran.await;
    remove_helper(engine, &id).await;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_keep_names_that_make_safe_binds() {
        let listing =
            "blkio\ncpu\ncpu,cpuacct\nnet_cls,net_prio\nsystemd\nunified\nbad:name\n.hidden\n\n";
        assert_eq!(
            hierarchies(listing),
            [
                "blkio",
                "cpu",
                "cpu,cpuacct",
                "net_cls,net_prio",
                "systemd",
                "unified"
            ]
        );
    }

    #[test]
    fn a_confined_replica_writes_only_its_own_parent() {
        let mut config = HostConfig::default();
        let entries = vec!["memory".to_string(), "systemd".to_string()];
        mount(
            &mut config,
            &Confinement::OwnParent(entries),
            "rehearse-x-web",
        );
        assert_eq!(
            config.cgroup_parent.as_deref(),
            Some("/docker/rehearse/rehearse-x-web")
        );
        assert_eq!(
            config.binds.unwrap(),
            [
                "/sys/fs/cgroup/memory:/sys/fs/cgroup/memory:ro",
                "/sys/fs/cgroup/memory/docker/rehearse/rehearse-x-web:/sys/fs/cgroup/memory/docker/rehearse/rehearse-x-web:rw",
                "/sys/fs/cgroup/systemd:/sys/fs/cgroup/systemd:ro",
                "/sys/fs/cgroup/systemd/docker/rehearse/rehearse-x-web:/sys/fs/cgroup/systemd/docker/rehearse/rehearse-x-web:rw",
            ]
        );
        assert!(config.tmpfs.unwrap().contains_key("/sys/fs/cgroup"));
    }
}
