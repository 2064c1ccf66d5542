//! Images: looking one up, pulling, importing a root filesystem (`docker import`),
//! building with the classic builder, listing and removing by label, and saving a
//! container as an image (a host snapshot).

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;

use super::call::{ignore_not_found, is_not_found, within};
use super::labelled::label_filter;
use super::{CALL_TIMEOUT, DockerEngine, LONG_CALL_TIMEOUT};
use crate::engine::{ByteStream, Engine, EngineError, ImageSummary};

pub(super) async fn id(
    engine: &DockerEngine,
    reference: &str,
) -> Result<Option<String>, EngineError> {
    match within(
        "inspect image",
        reference,
        CALL_TIMEOUT,
        engine.docker.inspect_image(reference),
    )
    .await
    {
        Ok(image) => Ok(image.id),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn pull(engine: &DockerEngine, reference: &str) -> Result<(), EngineError> {
    let options = CreateImageOptionsBuilder::default()
        .from_image(reference)
        .build();
    let mut stream = engine.docker.create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            return Err(EngineError::Pull {
                reference: reference.to_string(),
                detail: e.to_string(),
            });
        }
    }
    Ok(())
}

pub(super) async fn import_rootfs(
    engine: &DockerEngine,
    rootfs: ByteStream,
    reference: &str,
    changes: &[String],
) -> Result<(), EngineError> {
    let (repo, tag) = split_reference(reference);
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(changes.to_vec())
        .build();
    let body = bollard::body_try_stream(rootfs);
    let mut stream = engine.docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            return Err(EngineError::Import {
                reference: reference.to_string(),
                detail: e.to_string(),
            });
        }
    }
    // The import stream can end without an error even when nothing was created.
    if !engine.image_exists(reference).await? {
        return Err(EngineError::Import {
            reference: reference.to_string(),
            detail: "the engine reported no error but the image does not exist".into(),
        });
    }
    Ok(())
}

pub(super) async fn build(
    engine: &DockerEngine,
    context: Bytes,
    reference: &str,
    build_args: &HashMap<String, String>,
    on_output: &mut (dyn FnMut(&str) + Send),
) -> Result<(), EngineError> {
    // The classic builder: BuildKit cannot use a locally imported base without a registry.
    let options = BuildImageOptionsBuilder::default()
        .t(reference)
        .buildargs(build_args)
        .rm(true)
        .forcerm(true)
        .version(BuilderVersion::BuilderV1)
        .build();
    let mut stream = engine
        .docker
        .build_image(options, None, Some(bollard::body_full(context)));
    let mut pending = String::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| EngineError::Build {
            reference: reference.to_string(),
            detail: e.to_string(),
        })?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(EngineError::Build {
                reference: reference.to_string(),
                detail,
            });
        }
        if let Some(text) = info.stream {
            // Output arrives in arbitrary chunks: hand out whole lines only.
            pending.push_str(&text);
            while let Some(pos) = pending.find('\n') {
                let line: String = pending.drain(..=pos).collect();
                on_output(strip_ansi(&line).trim_end());
            }
        }
    }
    if !pending.trim().is_empty() {
        on_output(strip_ansi(&pending).trim_end());
    }
    if !engine.image_exists(reference).await? {
        return Err(EngineError::Build {
            reference: reference.to_string(),
            detail: "the build ended without producing the image".into(),
        });
    }
    Ok(())
}

pub(super) async fn list(
    engine: &DockerEngine,
    label: &str,
) -> Result<Vec<ImageSummary>, EngineError> {
    let options = ListImagesOptionsBuilder::default()
        .filters(&label_filter(label))
        .build();
    let images = within(
        "list images",
        label,
        CALL_TIMEOUT,
        engine.docker.list_images(Some(options)),
    )
    .await?;
    Ok(images
        .into_iter()
        .map(|i| ImageSummary {
            id: i.id,
            tags: i.repo_tags,
            labels: i.labels.into_iter().collect(),
            size: i.size,
            created: i.created,
        })
        .collect())
}

pub(super) async fn remove(engine: &DockerEngine, reference: &str) -> Result<(), EngineError> {
    let options = RemoveImageOptionsBuilder::default().force(true).build();
    ignore_not_found(
        within(
            "remove image",
            reference,
            CALL_TIMEOUT,
            engine.docker.remove_image(reference, Some(options), None),
        )
        .await
        .map(|_| ()),
    )
}

pub(super) async fn commit_container(
    engine: &DockerEngine,
    id: &str,
    reference: &str,
    labels: &BTreeMap<String, String>,
    blank_env: &[String],
) -> Result<String, EngineError> {
    use bollard::models::ContainerConfig;
    use bollard::query_parameters::CommitContainerOptionsBuilder;
    let (repo, tag) = split_reference(reference);
    // The engine's /etc/hosts, /etc/hostname and /etc/resolv.conf are not part of a
    // commit: the host's own are kept inside its file system first (a stopped host
    // has nothing newer to keep).
    let _ = super::containers::keep(engine, id, "save").await;
    // Paused while its files are copied, so what is written is consistent.
    let options = CommitContainerOptionsBuilder::default()
        .container(id)
        .repo(repo)
        .tag(tag)
        .pause(true)
        .build();
    // The engine fills what the config leaves out from the container's: each variable
    // named here is set to nothing instead of carrying its value into the image.
    let config = ContainerConfig {
        labels: Some(labels.clone().into_iter().collect()),
        env: (!blank_env.is_empty())
            .then(|| blank_env.iter().map(|name| format!("{name}=")).collect()),
        ..Default::default()
    };
    // Known before the commit, while the engine answers: what a helper that thaws the
    // container is made from.
    let image = super::containers::inspect(engine, id)
        .await?
        .image
        .unwrap_or_default();
    let commit = within(
        "commit container",
        id,
        LONG_CALL_TIMEOUT,
        engine.docker.commit_container(options, config),
    );
    tokio::pin!(commit);
    let mut thawed = false;
    let created = loop {
        tokio::select! {
            created = &mut commit => break created?,
            () = tokio::time::sleep(COMMIT_WATCH) => {}
        }
        // The engine answers about a container it is committing in milliseconds
        // (measured: 26–51 ms during a 9 s commit). When it does not, an exec that
        // started as the pause began is stuck in the frozen container, holding the
        // engine's lock on it (runc; Docker 20.10 measured): the commit has copied
        // the files and waits to unpause, forever. Thawing the container's cgroup
        // lets the exec start and the engine go on.
        let answered =
            tokio::time::timeout(COMMIT_WATCH, engine.docker.inspect_container(id, None))
                .await
                .is_ok();
        if !answered && !thawed && !image.is_empty() {
            thawed = super::cgroups::freeze(engine, &image, id, false)
                .await
                .is_ok();
        }
    };
    if thawed {
        // The engine's own unpause then finds the container running and keeps calling
        // it paused: freeze it again, so its unpause has something to undo.
        let paused = super::containers::inspect(engine, id)
            .await?
            .state
            .and_then(|s| s.paused)
            .unwrap_or(false);
        if paused {
            super::cgroups::freeze(engine, &image, id, true).await?;
            within(
                "unpause container",
                id,
                CALL_TIMEOUT,
                engine.docker.unpause_container(id),
            )
            .await?;
        }
    }
    Ok(created.id)
}

/// How long a commit runs before the engine is asked whether it is stuck, and how long
/// it then has to answer.
const COMMIT_WATCH: std::time::Duration = std::time::Duration::from_secs(10);

/// The engine colours a build's stderr with ANSI escapes; reports want plain text.
/// The stripper drops every control character but newlines: tabs are kept by stripping around them.
fn strip_ansi(text: &str) -> String {
    let parts: Vec<String> = text
        .split('\t')
        .map(strip_ansi_escapes::strip_str)
        .collect();
    parts.join("\t")
}

/// Split `repo:tag` (the tag defaults to `latest`); a registry port is not a tag.
pub(super) fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn strips_ansi_colours() {
        assert_eq!(
            super::strip_ansi("\u{1b}[91mE: Unable\u{1b}[0m done"),
            "E: Unable done"
        );
        assert_eq!(super::strip_ansi("plain [91m"), "plain [91m");
        assert_eq!(super::strip_ansi("a\t\u{1b}[1mb\u{1b}[0m\r"), "a\tb");
    }

    #[test]
    fn splits_references() {
        assert_eq!(
            split_reference("rehearse/debian:bookworm-ab12"),
            ("rehearse/debian", "bookworm-ab12")
        );
        assert_eq!(
            split_reference("rehearse/debian"),
            ("rehearse/debian", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/x"),
            ("localhost:5000/x", "latest")
        );
    }
}
