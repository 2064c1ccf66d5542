//! Containers: creating and starting a replica (systemd as PID 1: the tmpfs, cgroup
//! mounts and stop signal it needs; the scenario's files copied in before it starts),
//! restarting and removing it, what it looks like from outside (address, published
//! ports, state), and streaming a path from one container into another.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;

use super::call::{call_err, is_not_found, is_removal_in_progress, within};
use super::cgroups;
use super::ports::{port_bindings, published_from};
use super::{CALL_TIMEOUT, DockerEngine, UPLOAD_TIMEOUT};
use crate::engine::{ContainerSpec, ContainerState, Engine, EngineError, keep_etc};

pub(super) async fn run(
    engine: &DockerEngine,
    spec: &ContainerSpec,
) -> Result<String, EngineError> {
    let mut host_config = HostConfig {
        network_mode: Some(spec.network.clone()),
        memory: spec.memory.map(|m| m as i64),
        nano_cpus: spec.cpus.map(|c| (c * 1e9) as i64),
        pids_limit: spec.pids,
        ..Default::default()
    };
    let (exposed_ports, port_bindings) = port_bindings(&spec.publish, engine.publish_on);
    host_config.port_bindings = port_bindings;
    let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let stop_signal;
    if spec.systemd {
        // systemd as PID 1 without --privileged: tmpfs /run, writable cgroups, and
        // the signal systemd treats as "halt" so a stop takes 0.6 s instead of 10.
        // /tmp as tmpfs too: trixie's systemd mounts it there itself (tmp.mount), which a
        // container may not do, and Debian empties /tmp at boot anyway.
        host_config.tmpfs = Some(HashMap::from([
            ("/run".to_string(), "rw,nosuid,nodev,mode=755".to_string()),
            ("/tmp".to_string(), "rw,nosuid,nodev".to_string()),
            (
                "/run/lock".to_string(),
                "rw,nosuid,nodev,noexec".to_string(),
            ),
        ]));
        let confinement = cgroups::confinement(engine, &spec.image).await?;
        cgroups::mount(&mut host_config, &confinement, &spec.name);
        env.push("container=docker".into());
        stop_signal = Some("SIGRTMIN+3".to_string());
    } else {
        // `sleep infinity` as PID 1 ignores SIGTERM: a restart would wait out the whole
        // stop timeout before the engine kills it.
        stop_signal = Some("SIGKILL".to_string());
    }
    let body = ContainerCreateBody {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        cmd: Some(spec.cmd.clone()),
        env: Some(env),
        labels: Some(spec.labels.clone().into_iter().collect()),
        stop_signal,
        exposed_ports,
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                spec.network.clone(),
                EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let created = within(
        "create container",
        &spec.name,
        CALL_TIMEOUT,
        engine.docker.create_container(Some(options), body),
    )
    .await?;
    let started = async {
        if !spec.files.is_empty() {
            let options = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
                .path("/")
                .build();
            let archive = crate::engine::archive_stream(spec.files.clone());
            within(
                "copy files into container",
                &spec.name,
                UPLOAD_TIMEOUT,
                engine.docker.upload_to_container(
                    &created.id,
                    Some(options),
                    bollard::body_try_stream(archive),
                ),
            )
            .await?;
        }
        // The keeper of the host's own /etc files (see `keep_etc`).
        let options = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
            .path("/")
            .build();
        within(
            "install the keeper of /etc files",
            &spec.name,
            CALL_TIMEOUT,
            engine.docker.upload_to_container(
                &created.id,
                Some(options),
                bollard::body_full(Bytes::from(keep_etc::archive())),
            ),
        )
        .await?;
        within(
            "start container",
            &spec.name,
            CALL_TIMEOUT,
            engine.docker.start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            ),
        )
        .await?;
        if !spec.systemd {
            // Without systemd no unit restores them: a host made from a snapshot or a
            // checkpoint gets its files back here.
            keep(engine, &created.id, "restore-without-systemd").await?;
        }
        Ok(())
    };
    if let Err(e) = started.await {
        // The caller never learns the id of a container that did not start: remove
        // it here rather than leave it to `rehearse gc`.
        let _ = engine.remove_container(&created.id).await;
        return Err(e);
    }
    Ok(created.id)
}

pub(super) async fn restart(
    engine: &DockerEngine,
    id: &str,
    stop_timeout: Duration,
) -> Result<(), EngineError> {
    // The engine rewrites /etc/hosts, /etc/hostname and /etc/resolv.conf at start:
    // keep the host's own first. A host that is not running has nothing newer to keep.
    let _ = keep(engine, id, "save").await;
    let options = RestartContainerOptionsBuilder::default()
        .t(stop_timeout.as_secs() as i32)
        .build();
    within(
        "restart container",
        id,
        stop_timeout + CALL_TIMEOUT,
        engine.docker.restart_container(id, Some(options)),
    )
    .await?;
    keep(engine, id, "restore-without-systemd").await
}

/// Run the keeper of the host's own /etc files (see `keep_etc`) with `action`.
pub(super) async fn keep(engine: &DockerEngine, id: &str, action: &str) -> Result<(), EngineError> {
    let output = engine
        .exec(id, &keep_etc::argv(action), keep_etc::TIMEOUT)
        .await?;
    if output.exit_code == 0 {
        Ok(())
    } else {
        Err(EngineError::Other(format!(
            "the keeper of /etc files failed in container {id} ({action}): {}",
            output.stderr.trim()
        )))
    }
}

pub(super) async fn remove(engine: &DockerEngine, id: &str) -> Result<(), EngineError> {
    // A confined replica's own cgroup parent goes with it.
    let inspected = inspect(engine, id).await;
    let parent = match inspected {
        Ok(c) => c
            .host_config
            .and_then(|h| h.cgroup_parent)
            .filter(|p| !p.is_empty())
            .zip(c.image),
        // Gone, or still being created (see `discard`).
        Err(_) => None,
    };
    discard(engine, id).await?;
    if let Some((parent, image)) = parent {
        cgroups::release(engine, &parent, &image).await;
    }
    Ok(())
}

/// Remove container `id`, running or not, with its anonymous volumes; one already gone,
/// or being removed by another process (a watchdog, `gc`), is as good.
pub(super) async fn discard(engine: &DockerEngine, id: &str) -> Result<(), EngineError> {
    let started = std::time::Instant::now();
    loop {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let removed = within(
            "remove container",
            id,
            CALL_TIMEOUT,
            engine.docker.remove_container(id, Some(options)),
        )
        .await;
        match removed {
            // That other removal may still fail (the engine's own, of a container whose
            // creation its caller gave up while its volumes were being filled, leaves
            // it behind): asked again until it is gone, or removed by this call.
            Err(e) if is_removal_in_progress(&e) => {
                if started.elapsed() > REMOVAL_WAIT {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            // A container whose creation is still under way (its volumes being filled)
            // is listed but not found: it is removed once created.
            Err(e) if is_not_found(&e) => {
                if started.elapsed() > REMOVAL_WAIT || !still_listed(engine, id).await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other.map(|_| ()),
        }
    }
}

/// Whether the engine still lists container `id` (an id or a name). Every container is
/// listed and looked through: one still being created is in the full list, not in one
/// filtered by id.
async fn still_listed(engine: &DockerEngine, id: &str) -> bool {
    let listed = within(
        "list containers",
        id,
        CALL_TIMEOUT,
        engine.docker.list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .build(),
        )),
    )
    .await;
    let name = format!("/{id}");
    listed.is_ok_and(|list| {
        list.iter().any(|c| {
            c.id.as_deref().is_some_and(|i| i.starts_with(id))
                || c.names.as_ref().is_some_and(|n| n.contains(&name))
        })
    })
}

/// How long a removal under way elsewhere is waited for.
const REMOVAL_WAIT: Duration = Duration::from_secs(30);

/// What the engine says of container `id`.
pub(super) async fn inspect(
    engine: &DockerEngine,
    id: &str,
) -> Result<bollard::models::ContainerInspectResponse, EngineError> {
    within(
        "inspect container",
        id,
        CALL_TIMEOUT,
        engine.docker.inspect_container(id, None),
    )
    .await
}

pub(super) async fn ip(
    engine: &DockerEngine,
    id: &str,
    network: &str,
) -> Result<IpAddr, EngineError> {
    let inspect = inspect(engine, id).await?;
    let address = inspect
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|a| !a.is_empty());
    address
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| EngineError::NoAddress {
            container: id.to_string(),
            network: network.to_string(),
        })
}

pub(super) async fn published_ports(
    engine: &DockerEngine,
    id: &str,
) -> Result<BTreeMap<u16, u16>, EngineError> {
    let inspect = inspect(engine, id).await?;
    Ok(published_from(
        &inspect
            .network_settings
            .and_then(|s| s.ports)
            .unwrap_or_default(),
    ))
}

pub(super) async fn state(engine: &DockerEngine, id: &str) -> Result<ContainerState, EngineError> {
    let inspect = inspect(engine, id).await?;
    let state = inspect.state.unwrap_or_default();
    Ok(ContainerState {
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
    })
}

pub(super) async fn copy_path(
    engine: &DockerEngine,
    from: &str,
    path: &str,
    to: &str,
    dest_dir: &str,
    timeout: Duration,
) -> Result<u64, EngineError> {
    use bollard::query_parameters::{
        DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
    };
    let object = format!("{from}:{path} → {to}:{dest_dir}");
    // At most this many chunks wait between the download and the upload.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
    let mut download = engine.docker.download_from_container(
        from,
        Some(
            DownloadFromContainerOptionsBuilder::default()
                .path(path)
                .build(),
        ),
    );
    let copied = async move {
        let mut bytes = 0u64;
        while let Some(chunk) = download.next().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            if sender.send(chunk).await.is_err() {
                // The upload ended early; its own error says why.
                break;
            }
        }
        Ok::<u64, bollard::errors::Error>(bytes)
    };
    let body = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let upload = engine.docker.upload_to_container(
        to,
        Some(
            UploadToContainerOptionsBuilder::default()
                .path(dest_dir)
                .build(),
        ),
        bollard::body_stream(body),
    );
    let work = async { tokio::join!(copied, upload) };
    let (copied, uploaded) = match tokio::time::timeout(timeout, work).await {
        Ok(results) => results,
        Err(_) => {
            return Err(EngineError::Timeout {
                operation: "copy between containers",
                object,
                after: timeout,
            });
        }
    };
    let bytes = copied.map_err(call_err("download archive", &object))?;
    uploaded.map_err(call_err("upload archive", &object))?;
    Ok(bytes)
}
