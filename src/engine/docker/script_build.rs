//! Images made by a script in a throwaway container, without a build: the recipe
//! images (the script's changes committed as one layer, where a `docker build` made a
//! layer per instruction, seconds each on a slow storage driver) and the built-in
//! bootstrap's second stage, whose write-heavy folders are named volumes (the engine's
//! own file system) and whose whole file system is then imported. On a storage driver
//! as slow to write as fuse-overlayfs, dpkg runs much faster on volumes than in a build.

use std::collections::HashMap;
use std::io::Read;

use bollard::models::{
    ContainerConfig, ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions,
};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, LogsOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;

use super::call::{call_err, within};
use super::{CALL_TIMEOUT, DockerEngine, LONG_CALL_TIMEOUT};
use crate::engine::{Engine, EngineError, MadeAs, OWNER_LABEL, RUN_LABEL, ScriptBuild};

/// Files a running container has from the engine, not from its image (its network
/// files, its marker): left out of the image.
const ENGINE_FILES: &[&str] = &[".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf"];

pub(super) async fn build_by_script(
    engine: &DockerEngine,
    spec: &ScriptBuild,
    on_output: &mut (dyn FnMut(&str) + Send),
) -> Result<(), EngineError> {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nonce = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Labelled like a run of this process: if it dies here, `rehearse gc` (and the
    // watchdog) remove the container and its volumes as a dead run's.
    let name = format!("rh-build-{}-{nonce}", std::process::id());
    let labels = HashMap::from([
        (RUN_LABEL.to_string(), name.clone()),
        (OWNER_LABEL.to_string(), crate::owner::current()),
    ]);
    let volumes: Vec<String> = spec
        .volumes
        .iter()
        .map(|path| format!("{name}{}", path.replace('/', "-")))
        .collect();
    let mounts = spec
        .volumes
        .iter()
        .zip(&volumes)
        .map(|(path, volume)| Mount {
            target: Some(path.clone()),
            source: Some(volume.clone()),
            typ: Some(MountType::VOLUME),
            volume_options: Some(MountVolumeOptions {
                labels: Some(labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    // A commit keeps whatever of the container's settings the image does not set, so
    // the container gets none of its own but its labels (blanked on commit): the
    // script's environment is exported by the script itself, and it is the command.
    let image_config = within(
        "inspect image",
        &spec.image,
        CALL_TIMEOUT,
        engine.docker.inspect_image(&spec.image),
    )
    .await?
    .config
    .unwrap_or_default();
    if matches!(spec.made_as, MadeAs::Layer { .. })
        && image_config.cmd.as_ref().is_none_or(Vec::is_empty)
    {
        // A commit would make the build script the image's command.
        return Err(EngineError::Build {
            reference: spec.reference.clone(),
            detail: format!("its image `{}` has no command (`CMD`)", spec.image),
        });
    }
    let has_entrypoint = image_config
        .entrypoint
        .as_ref()
        .is_some_and(|e| !e.is_empty());
    let mut script = String::new();
    for (key, value) in &spec.env {
        script.push_str(&format!("export {key}={}\n", crate::escape::shell(value)));
    }
    script.push_str(&spec.script);
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: has_entrypoint.then(Vec::new),
        cmd: Some(vec!["/bin/sh".into(), "-ec".into(), script]),
        labels: Some(labels.clone()),
        host_config: Some(HostConfig {
            mounts: Some(mounts),
            ..Default::default()
        }),
        ..Default::default()
    };
    // A caller that gives up (Ctrl-C) leaves nothing: the removal then runs in the
    // background, and the engine's `settle` waits for it.
    let mut guard = Leftovers {
        engine: engine.clone(),
        container: name.clone(),
        volumes: volumes.clone(),
        finished: false,
    };
    let result = async {
        let created = within(
            "create build container",
            &name,
            CALL_TIMEOUT,
            engine.docker.create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                body,
            ),
        )
        .await?;
        if !spec.files.is_empty() {
            within(
                "copy files into build container",
                &name,
                LONG_CALL_TIMEOUT,
                engine.docker.upload_to_container(
                    &created.id,
                    Some(UploadToContainerOptionsBuilder::default().path("/").build()),
                    bollard::body_full(spec.files.clone()),
                ),
            )
            .await?;
        }
        run(engine, &created.id, on_output).await?;
        match &spec.made_as {
            MadeAs::Import { changes } => export(engine, &created.id, spec, changes).await,
            MadeAs::Layer { labels: added } => {
                let mut labels = image_config.labels.clone().unwrap_or_default();
                labels.extend(added.clone());
                // Blanked: the image belongs to no run (as a checkpoint's).
                labels.insert(RUN_LABEL.to_string(), String::new());
                labels.insert(OWNER_LABEL.to_string(), String::new());
                let config = ContainerConfig {
                    cmd: image_config.cmd.clone(),
                    entrypoint: image_config.entrypoint.clone(),
                    labels: Some(labels),
                    ..Default::default()
                };
                commit(engine, &created.id, &spec.reference, config).await
            }
        }
    }
    .await;
    guard.finished = true;
    remove(engine, &name, &volumes).await;
    if result.is_err() {
        let _ = engine.remove_image(&spec.reference).await;
    }
    result
}

/// Commit the stopped container as `reference` with `config`: what it leaves out the
/// engine fills from the container's own (which has the image's but for the command).
async fn commit(
    engine: &DockerEngine,
    id: &str,
    reference: &str,
    config: ContainerConfig,
) -> Result<(), EngineError> {
    let (repo, tag) = super::images::split_reference(reference);
    let options = CommitContainerOptionsBuilder::default()
        .container(id)
        .repo(repo)
        .tag(tag)
        .pause(false)
        .build();
    within(
        "commit build container",
        id,
        LONG_CALL_TIMEOUT,
        engine.docker.commit_container(options, config),
    )
    .await?;
    Ok(())
}

async fn remove(engine: &DockerEngine, container: &str, volumes: &[String]) {
    let _ = engine.remove_container(container).await;
    for volume in volumes {
        let _ = engine.remove_volume(volume).await;
    }
}

/// The build container and its volumes, removed in the background if dropped before
/// the build removed them itself.
struct Leftovers {
    engine: DockerEngine,
    container: String,
    volumes: Vec<String>,
    finished: bool,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (engine, container, volumes) = (
            self.engine.clone(),
            std::mem::take(&mut self.container),
            std::mem::take(&mut self.volumes),
        );
        super::exec::in_background(&runtime, &engine.clone(), async move {
            remove(&engine, &container, &volumes).await
        });
    }
}

/// Start the container, hand on its output line by line until it ends; its exit status
/// must be 0.
async fn run(
    engine: &DockerEngine,
    id: &str,
    on_output: &mut (dyn FnMut(&str) + Send),
) -> Result<(), EngineError> {
    within(
        "start build container",
        id,
        CALL_TIMEOUT,
        engine
            .docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>),
    )
    .await?;
    let mut logs = engine.docker.logs(
        id,
        Some(
            LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .follow(true)
                .build(),
        ),
    );
    let mut pending = String::new();
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(call_err("build container output", id))?;
        pending.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            on_output(line.trim_end());
        }
    }
    if !pending.is_empty() {
        on_output(pending.trim_end());
    }
    // The output ends when the container does.
    let inspected = super::containers::inspect(engine, id).await?;
    let state = inspected.state.unwrap_or_default();
    let code = state.exit_code.unwrap_or(-1);
    if state.running == Some(true) || code != 0 {
        return Err(EngineError::Build {
            reference: id.to_string(),
            detail: format!("the script exited with status {code}"),
        });
    }
    Ok(())
}

/// Import the stopped container's file system, volumes included, as the image.
async fn export(
    engine: &DockerEngine,
    id: &str,
    spec: &ScriptBuild,
    changes: &[String],
) -> Result<(), EngineError> {
    let download = engine.docker.download_from_container(
        id,
        Some(
            DownloadFromContainerOptionsBuilder::default()
                .path("/")
                .build(),
        ),
    );
    let reader = tokio_util::io::StreamReader::new(
        download.map(|chunk| chunk.map_err(std::io::Error::other)),
    );
    // At most this many chunks wait between the filter and the import.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let filter = tokio::task::spawn_blocking(move || {
        let input = tokio_util::io::SyncIoBridge::new(reader);
        let failed = sender.clone();
        let result = filter_tar(input, |chunk| sender.blocking_send(Ok(chunk)).is_ok());
        if let Err(e) = &result {
            let _ = failed.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
        result
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver).boxed();
    let imported = engine.import_rootfs(stream, &spec.reference, changes).await;
    let filtered = filter.await.map_err(|e| EngineError::Import {
        reference: spec.reference.clone(),
        detail: e.to_string(),
    })?;
    filtered.map_err(|e| EngineError::Import {
        reference: spec.reference.clone(),
        detail: format!("reading the build container's files: {e}"),
    })?;
    imported
}

/// Copy a tar stream block by block, untouched (extended headers, attributes and all),
/// leaving out the entries of [`ENGINE_FILES`]; `emit` takes each piece and says
/// whether to go on.
fn filter_tar(mut input: impl Read, mut emit: impl FnMut(Bytes) -> bool) -> std::io::Result<()> {
    const BLOCK: usize = 512;
    // Extended headers (PAX, GNU long names) that belong to the next entry.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let mut header = [0u8; BLOCK];
        if !read_block(&mut input, &mut header)? {
            break;
        }
        if header.iter().all(|b| *b == 0) {
            // The end: this block and whatever follows, as they are.
            let mut rest = header.to_vec();
            input.read_to_end(&mut rest)?;
            emit(Bytes::from(rest));
            return Ok(());
        }
        let size = entry_size(&header)?;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let kind = header[156];
        let skip = pending.is_empty() && !matches!(kind, b'x' | b'L' | b'K' | b'g') && {
            let name = entry_name(&header);
            ENGINE_FILES.contains(&name.trim_start_matches("./").trim_start_matches('/'))
        };
        if skip {
            std::io::copy(&mut (&mut input).take(padded), &mut std::io::sink())?;
            continue;
        }
        pending.extend_from_slice(&header);
        if matches!(kind, b'x' | b'L' | b'K') {
            (&mut input).take(padded).read_to_end(&mut pending)?;
            continue;
        }
        if !emit(Bytes::from(std::mem::take(&mut pending))) {
            return Ok(());
        }
        let mut left = padded;
        while left > 0 {
            let mut chunk = vec![0u8; left.min(1 << 20) as usize];
            input.read_exact(&mut chunk)?;
            left -= chunk.len() as u64;
            if !emit(Bytes::from(chunk)) {
                return Ok(());
            }
        }
    }
    if !pending.is_empty() {
        emit(Bytes::from(pending));
    }
    Ok(())
}

/// Fill `block`; false at the very end of the stream.
fn read_block(input: &mut impl Read, block: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        match input.read(&mut block[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    Ok(true)
}

/// The size field: octal, or base-256 for large files.
fn entry_size(header: &[u8; 512]) -> std::io::Result<u64> {
    let field = &header[124..136];
    if field[0] & 0x80 != 0 {
        return Ok(field[1..]
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)));
    }
    let text: String = field
        .iter()
        .map(|b| *b as char)
        .filter(|c| c.is_digit(8))
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(&text, 8)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The ustar name (with its prefix).
fn entry_name(header: &[u8; 512]) -> String {
    let field = |range: std::ops::Range<usize>| {
        let bytes = &header[range];
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    let name = field(0..100);
    let prefix = if &header[257..262] == b"ustar" {
        field(345..500)
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_files_are_left_out_and_the_rest_kept_byte_for_byte() {
        let mut builder = tar::Builder::new(Vec::new());
        let long = format!("usr/share/{}/file", "d".repeat(150));
        for (path, body) in [
            ("/", ""),
            ("/.dockerenv", ""),
            ("/etc/hosts", "172.17.0.2 builder\n"),
            ("/etc/hostname", "builder\n"),
            ("/etc/hosts.allow", "kept\n"),
            (long.as_str(), "long name"),
            ("/etc/resolv.conf", "nameserver 10.0.0.1\n"),
            ("/usr/bin/big", &"x".repeat(3000)),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            if path.len() < 100 {
                // Absolute, as the engine writes them (the tar crate will not).
                header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
                header.set_cksum();
                builder.append(&header, body.as_bytes()).unwrap();
            } else {
                builder
                    .append_data(&mut header, path, body.as_bytes())
                    .unwrap();
            }
        }
        let input = builder.into_inner().unwrap();
        let mut out = Vec::new();
        filter_tar(input.as_slice(), |chunk| {
            out.extend_from_slice(&chunk);
            true
        })
        .unwrap();
        let mut archive = tar::Archive::new(out.as_slice());
        let kept: Vec<(String, usize)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let mut body = Vec::new();
                e.read_to_end(&mut body).unwrap();
                (path, body.len())
            })
            .collect();
        assert_eq!(
            kept,
            [
                ("/".to_string(), 0),
                ("/etc/hosts.allow".to_string(), 5),
                (long, 9),
                ("/usr/bin/big".to_string(), 3000),
            ]
        );
    }
}
