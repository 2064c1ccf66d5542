//! Image recipes and the images built from them, cached by content hash.
//!
//! A recipe (`images/<name>/recipe.yaml`) names a Debian suite, packages, files and
//! commands. Its image is made on top of a base image (see [`base`]) by one script in
//! a container, committed as one layer, and tagged with a hash of everything that went into it, so an
//! unchanged recipe is never rebuilt.

pub mod base;
pub mod bootstrap;
mod context_entry;
mod host_image;
mod overlay;
pub mod recipe;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use crate::model::ImageEvent;
pub use base::BaseSource;
pub use context_entry::{ContextEntry, EntryKind};
pub use host_image::{BuiltImage, ensure_image, load_recipe, recipe_names};

use crate::apt_cache::AptProxy;
use crate::engine::{Engine, EngineError};

/// How images are made: where Debian packages come from and how bases are obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// Debian mirror for the release and its `-updates` suite.
    pub mirror: String,
    /// Mirror for the security suite.
    pub security_mirror: String,
    pub base_source: BaseSource,
    /// Folder holding one sub-folder per recipe.
    pub images_dir: PathBuf,
    /// The proxy apt fetches packages through (the package cache); `None`: the mirrors
    /// directly. Never part of an image's content hash: where packages came from does
    /// not change what the image holds.
    pub apt_proxy: Option<AptProxy>,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            mirror: "http://deb.debian.org/debian".into(),
            security_mirror: "http://deb.debian.org/debian-security".into(),
            base_source: BaseSource::Auto,
            images_dir: PathBuf::from("images"),
            apt_proxy: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("no image recipe `{name}` in `{}`{}", dir.display(), available_hint(available))]
    RecipeNotFound {
        name: String,
        dir: PathBuf,
        available: Vec<String>,
    },
    #[error("{0}")]
    Recipe(#[from] crate::yaml::Diagnostics),
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot make a Debian `{suite}` base image with mmdebstrap: `mmdebstrap` is not \
         installed; install it with `apt-get install mmdebstrap` (Debian/Ubuntu), or leave \
         `--base-source` at `auto` to use the built-in bootstrap"
    )]
    NoBaseSource { suite: String },
    #[error("building the image of recipe `{recipe}` failed: {detail}\nlast build output:\n{tail}")]
    Build {
        recipe: String,
        detail: String,
        tail: String,
    },
    #[error("bootstrapping Debian `{suite}` with mmdebstrap failed: {detail}")]
    Bootstrap { suite: String, detail: String },
    #[error("bootstrapping Debian `{suite}` (built-in) failed: {detail}")]
    BuiltinBootstrap { suite: String, detail: String },
    #[error(
        "the recipe's base is {suite} for `{arch}`, but the engine runs `{engine}`, whose CPU does not run `{arch}` programs: a replica runs on the engine's CPU. Use an engine on an `{arch}` machine, or leave `architecture` out to rehearse on `{engine}`"
    )]
    Architecture {
        suite: String,
        arch: String,
        engine: String,
    },
    #[error(
        "`--base-source pull` pulls the engine's architecture, and the recipe asks for `{arch}`: use `--base-source bootstrap`, or leave `--base-source` out"
    )]
    PullArchitecture { arch: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    File(#[from] crate::local_files::LocalFileError),
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        "; it holds no recipes (each is a folder with a `recipe.yaml`)".into()
    } else {
        format!("; recipes there: {}", available.join(", "))
    }
}

/// Hex SHA-256 over length-prefixed parts, so part boundaries count.
pub fn content_hash<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A build context tar: the Dockerfile plus its entries (files, folders, links).
pub(crate) fn context_tar(dockerfile: &str, entries: &[ContextEntry]) -> Result<Bytes, ImageError> {
    let dockerfile = ContextEntry::file("Dockerfile".into(), dockerfile.as_bytes().to_vec(), 0o644);
    entries_tar(&[&[dockerfile], entries].concat())
}

/// A tar archive of `entries`, owned by root, with no times (0).
pub(crate) fn entries_tar(entries: &[ContextEntry]) -> Result<Bytes, ImageError> {
    let mut builder = tar::Builder::new(Vec::new());
    let io = |source| ImageError::Io {
        path: PathBuf::from("<build context>"),
        source,
    };
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_mtime(0);
        match &entry.kind {
            EntryKind::File => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(entry.data.len() as u64);
                header.set_cksum();
                builder
                    .append_data(&mut header, &entry.path, entry.data.as_slice())
                    .map_err(io)?;
            }
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_cksum();
                builder
                    .append_data(&mut header, &entry.path, std::io::empty())
                    .map_err(io)?;
            }
            EntryKind::Link(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.path, target)
                    .map_err(io)?;
            }
        }
    }
    let data = builder.into_inner().map_err(io)?;
    Ok(Bytes::from(data))
}

/// Builds of one image reference in this process take turns: rehearsals side by side
/// (`rehearse run A B --jobs 2`) that need the same missing image build it once, and
/// the others then find it in the cache. Different images still build at once.
pub(crate) async fn build_turn(reference: &str) -> tokio::sync::OwnedMutexGuard<()> {
    type Turns =
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>;
    static TURNS: std::sync::LazyLock<Turns> = std::sync::LazyLock::new(Default::default);
    let turn = TURNS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(reference.to_string())
        .or_default()
        .clone();
    turn.lock_owned().await
}

/// Build arguments that send a build's apt through the package cache: the proxy
/// variables Docker predefines, which it keeps out of the image's history and
/// environment. Empty without a cache.
pub(crate) async fn proxy_build_args<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
) -> Result<HashMap<String, String>, EngineError> {
    let Some(proxy) = &settings.apt_proxy else {
        return Ok(HashMap::new());
    };
    // Build containers run on the default bridge and reach this machine at its gateway.
    let gateway = engine
        .network_gateway("bridge")
        .await?
        .unwrap_or(DEFAULT_BRIDGE_GATEWAY);
    // The built-in cache listens on loopback only until told where builds reach it.
    if let Err(e) = proxy.listen_on(gateway) {
        proxy.notice(format!(
            "warning: {e}; image builds fetch from the mirrors directly"
        ));
        return Ok(HashMap::new());
    }
    let url = proxy.url(gateway);
    Ok(HashMap::from([
        ("http_proxy".to_string(), url.clone()),
        ("HTTP_PROXY".to_string(), url),
    ]))
}

/// The default bridge's usual gateway, when the engine does not name it.
pub const DEFAULT_BRIDGE_GATEWAY: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(172, 17, 0, 1));

/// Where a recipe lives.
pub fn recipe_path(images_dir: &Path, name: &str) -> PathBuf {
    images_dir.join(name).join("recipe.yaml")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn builds_of_one_image_take_turns_and_of_two_do_not() {
        let first = build_turn("rehearse/test-turn:a").await;
        // Another image is not held up.
        let other = tokio::time::timeout(
            Duration::from_millis(100),
            build_turn("rehearse/test-turn:b"),
        )
        .await;
        assert!(other.is_ok());
        // The same image waits until the first build is done.
        let same = tokio::time::timeout(
            Duration::from_millis(100),
            build_turn("rehearse/test-turn:a"),
        )
        .await;
        assert!(same.is_err());
        drop(first);
        let after = tokio::time::timeout(
            Duration::from_millis(100),
            build_turn("rehearse/test-turn:a"),
        )
        .await;
        assert!(after.is_ok());
    }

    #[tokio::test]
    async fn builds_get_the_proxy_as_predefined_build_args_only_with_a_cache() {
        let engine = crate::engine::fake::FakeEngine::healthy();
        let mut settings = BuildSettings::default();
        assert!(
            proxy_build_args(&engine, &settings)
                .await
                .unwrap()
                .is_empty()
        );
        settings.apt_proxy = Some(AptProxy::Builtin {
            port: 3142,
            hosts: vec!["deb.debian.org".into()],
            listeners: crate::apt_cache::Listeners::detached(),
        });
        let args = proxy_build_args(&engine, &settings).await.unwrap();
        // The fake engine names no gateway: the default bridge's usual one is used.
        assert_eq!(args["http_proxy"], "http://172.17.0.1:3142/");
        assert_eq!(args["HTTP_PROXY"], "http://172.17.0.1:3142/");
        assert_eq!(args.len(), 2);
    }

    #[test]
    fn content_hash_separates_parts() {
        let a = content_hash([b"ab".as_slice(), b"c".as_slice()]);
        let b = content_hash([b"a".as_slice(), b"bc".as_slice()]);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn context_tar_holds_dockerfile_and_files() {
        let tar = context_tar(
            "FROM x\n",
            &[ContextEntry::file("files/0".into(), b"hi".to_vec(), 0o644)],
        )
        .unwrap();
        let mut archive = tar::Archive::new(tar.as_ref());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", "files/0"]);
    }
}
