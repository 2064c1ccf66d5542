//! The container engine as the rest of `rehearse` sees it.
//!
//! [`Engine`] is the only interface to Docker; [`DockerEngine`] implements it with
//! bollard and is the only code that calls bollard. The runner and the image
//! builder speak these types, so they can be driven by a fake engine in unit tests.

mod docker;
mod endpoint;
mod error;
#[cfg(test)]
pub mod fake;
mod file_archive;
pub mod keep_etc;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;

pub use docker::{AttachedIo, DockerEngine, Terminal};
pub use endpoint::{Endpoint, EndpointError, EndpointSettings, TlsFiles};
pub use error::EngineError;
pub use file_archive::archive_stream;

/// Label carried by every container, network and volume a run creates; its value is the run id.
pub const RUN_LABEL: &str = "rehearse.run";
/// Label naming the process that owns a run's resources (see [`crate::owner`]).
pub const OWNER_LABEL: &str = "rehearse.owner";
/// Set on resources of a run started with `--keep`: the next run's cleanup spares them.
pub const KEEP_LABEL: &str = "rehearse.keep";
/// Label carried by checkpoints (hosts saved for `run --from`); its value is the
/// hash of the state they hold (see `runner::checkpoint`).
pub const CHECKPOINT_LABEL: &str = "rehearse.checkpoint";
/// Label carried by cached build images; its value is the content hash of the recipe.
pub const IMAGE_LABEL: &str = "rehearse.image";
/// Label carried by every layer of a host image, naming its recipe.
pub const RECIPE_LABEL: &str = "rehearse.recipe";

/// What the engine reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub server_version: String,
    pub api_version: String,
    pub cgroup_version: CgroupVersion,
    /// How the engine makes containers' cgroups: `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
    pub operating_system: String,
    /// CPUs the engine's machine has.
    pub cpus: u32,
    /// The engine machine's architecture, as the kernel names it (`x86_64`, `aarch64`).
    pub architecture: String,
    /// Where the engine keeps containers' files (`overlay2`, `fuse-overlayfs`, `vfs`…).
    pub storage_driver: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl EngineInfo {
    /// Debian's name for the engine machine's architecture (`amd64`, `arm64`).
    pub fn debian_architecture(&self) -> String {
        match self.architecture.as_str() {
            "x86_64" | "amd64" | "" => "amd64",
            "aarch64" | "arm64" => "arm64",
            "armv7l" | "armhf" => "armhf",
            "i686" | "i386" => "i386",
            "ppc64le" | "ppc64el" => "ppc64el",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        }
        .to_string()
    }

    /// Whether a systemd replica on this engine is confined to cgroups of its own
    /// (see `docker::cgroups`): measured on cgroup v1 with the `cgroupfs` driver. On
    /// any other engine it gets the engine's whole cgroup tree writable, which this
    /// says in words, for the start of a run and the report.
    pub fn cgroup_risk(&self) -> Option<String> {
        if self.cgroup_version == CgroupVersion::V1 && self.cgroup_driver == "cgroupfs" {
            return None;
        }
        Some(format!(
            "on this engine (cgroup v{}, `{}` driver) a replica that boots systemd gets the \
             engine machine's whole cgroup tree writable: root in it could change the limits \
             of, or move processes out of, the machine and every other container",
            self.cgroup_version.as_str(),
            self.cgroup_driver
        ))
    }

    /// Set when the engine keeps containers' files with `fuse-overlayfs`, which makes
    /// dpkg in a replica much slower than the kernel's overlayfs (`overlay2`): what it
    /// costs and what an admin can do. Replicas stay on the engine's storage whatever
    /// it is (docs/src/performance.md, "Replica storage": moving `/usr` onto volumes
    /// changes what the upgrade does).
    pub fn storage_notice(&self) -> Option<String> {
        (self.storage_driver == "fuse-overlayfs").then(|| {
            format!(
                "this engine keeps container files with `fuse-overlayfs`, which slows dpkg in \
                 the replicas (measured on one machine: the LAMP reference upgrade's apt took \
                 {FUSE_OVERLAYFS_UPGRADE} on it, {OVERLAY2_UPGRADE} with `overlay2`); where \
                 the engine machine's kernel has overlayfs, its `overlay2` driver is faster"
            )
        })
    }
}

/// An upgrade's apt on the LAMP reference replica, this project's machine, Dec 2026
/// (`bench/replica-storage.sh`, a second engine for `overlay2`), for the notice above.
const FUSE_OVERLAYFS_UPGRADE: &str = "97–210 s";
const OVERLAY2_UPGRADE: &str = "62–75 s";

impl CgroupVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "1",
            CgroupVersion::V2 => "2",
        }
    }
}

/// Everything needed to create one replica container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub hostname: String,
    pub image: String,
    pub network: String,
    pub aliases: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<(String, String)>,
    /// Variables given to every command run in the container, never written into its
    /// configuration, so that no image saved from it holds them: the host's variables
    /// whose values come from secrets.
    pub exec_env: Vec<(String, String)>,
    pub cmd: Vec<String>,
    /// Boot systemd as PID 1: tmpfs `/run`, cgroup mounts, `SIGRTMIN+3` to stop.
    pub systemd: bool,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    /// Most processes (and threads) the host may run.
    pub pids: Option<i64>,
    /// Local files put into the container after it is created, before it starts, so
    /// that its services see them from their first start.
    pub files: Vec<FileCopy>,
    /// TCP ports published on ephemeral ports of the engine's machine, where the
    /// prober reaches them when it cannot reach the container's own address.
    pub publish: Vec<u16>,
}

/// One local file copied into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    /// The file on this machine, already checked by the caller (where it may come
    /// from, how big it may be).
    pub local: std::path::PathBuf,
    /// Absolute path in the container.
    pub dest: String,
    /// Permission bits.
    pub mode: u32,
}

/// An image made by running a script in a throwaway container (see
/// [`Engine::build_by_script`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptBuild {
    /// The image the container runs.
    pub image: String,
    /// What the result is tagged.
    pub reference: String,
    /// Run by `/bin/sh -ec` from `/`.
    pub script: String,
    /// The script's environment (a package cache's proxy, for one); never the image's.
    pub env: Vec<(String, String)>,
    /// A tar archive unpacked onto `/` before the script runs (empty: none).
    pub files: Bytes,
    /// Absolute folders put on named volumes, which the engine fills from the image.
    pub volumes: Vec<String>,
    /// How the stopped container becomes the image.
    pub made_as: MadeAs,
}

/// How a [`ScriptBuild`]'s container becomes its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MadeAs {
    /// Its whole file system, volumes included, imported as a new image that says these
    /// `ENV`, `CMD` and `LABEL` lines of itself.
    Import { changes: Vec<String> },
    /// What the script changed, committed as one layer on the container's image, whose
    /// settings (command, environment, labels) it keeps, with these labels added.
    Layer { labels: BTreeMap<String, String> },
}

/// Output of a command run inside a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// A resource found by label, for cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledResource {
    pub kind: ResourceKind,
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceKind {
    Container,
    Network,
    Volume,
    Image,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Container => "container",
            ResourceKind::Network => "network",
            ResourceKind::Volume => "volume",
            ResourceKind::Image => "image",
        }
    }
}

/// A cached image as listed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub size: i64,
    pub created: i64,
}

/// A byte stream fed to the engine (a root filesystem or a build context).
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// The operations `rehearse` needs from a container engine.
#[allow(async_fn_in_trait)]
pub trait Engine {
    async fn info(&self) -> Result<EngineInfo, EngineError>;
    /// Whether an image with this reference exists locally.
    async fn image_exists(&self, reference: &str) -> Result<bool, EngineError>;
    /// The engine's id of a local image (`sha256:…`), or `None` when there is none.
    async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError>;
    /// Pull an image from a registry; the error says why when none is reachable.
    async fn pull_image(&self, reference: &str) -> Result<(), EngineError>;
    /// Create an image from a root filesystem tar stream (`docker import`).
    async fn import_rootfs(
        &self,
        rootfs: ByteStream,
        reference: &str,
        changes: &[String],
    ) -> Result<(), EngineError>;
    /// Build an image with the classic builder from a tar build context, with these
    /// build arguments (`--build-arg`). `on_output` gets the builder's output line by line.
    async fn build_image(
        &self,
        context: Bytes,
        reference: &str,
        build_args: &HashMap<String, String>,
        on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError>;
    /// Run `spec.script` in a throwaway container of `spec.image` with `spec.files`
    /// unpacked onto `/` first and `spec.volumes` on named volumes (the engine's own
    /// file system, filled from the image when first mounted, not its storage driver),
    /// its output handed on line by line; then make `spec.reference` from the stopped
    /// container as `spec.made_as` says. A non-zero exit is a build error; the container
    /// and its volumes are removed whatever happens.
    async fn build_by_script(
        &self,
        spec: &ScriptBuild,
        on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError>;
    async fn list_images(&self, label: &str) -> Result<Vec<ImageSummary>, EngineError>;
    async fn remove_image(&self, reference: &str) -> Result<(), EngineError>;

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError>;
    async fn remove_network(&self, id: &str) -> Result<(), EngineError>;
    /// The gateway address of a network (`bridge` is the engine's default one): the
    /// address at which its containers reach the engine's machine. `None` when the
    /// engine does not say.
    async fn network_gateway(&self, network: &str) -> Result<Option<IpAddr>, EngineError>;

    /// Create and start a container; returns its id.
    async fn run_container(&self, spec: &ContainerSpec) -> Result<String, EngineError>;
    async fn restart_container(&self, id: &str, stop_timeout: Duration) -> Result<(), EngineError>;
    async fn remove_container(&self, id: &str) -> Result<(), EngineError>;
    /// Take a container off a network: it keeps running, but nothing on the network
    /// reaches it any more, nor it them.
    async fn disconnect_network(&self, id: &str, network: &str) -> Result<(), EngineError>;
    /// Attach a container to a network, answering to `aliases` there (its name first).
    async fn connect_network(
        &self,
        id: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError>;
    /// The container's address on a network.
    async fn container_ip(&self, id: &str, network: &str) -> Result<IpAddr, EngineError>;
    /// The ports of [`ContainerSpec::publish`] and where the engine published them:
    /// container port → port on the engine's machine. They may change when the
    /// container restarts.
    async fn published_ports(&self, id: &str) -> Result<BTreeMap<u16, u16>, EngineError>;
    /// Whether the container is running, and if not why (exit code, OOM).
    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError>;
    /// Run a command in a container and collect its output. On timeout the error says
    /// so, once the command has been stopped inside the container; a command whose
    /// future is dropped is stopped in the background (see [`Engine::settle`]).
    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, EngineError> {
        self.exec_streaming(id, argv, &[], timeout, &mut |_| {})
            .await
    }
    /// Like [`Engine::exec`], with extra environment variables, handing out each line of
    /// output (stdout and stderr as they come) while the command runs.
    async fn exec_streaming(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ExecOutput, EngineError>;

    /// Copy `path` (a file or a directory tree) from container `from` into `dest_dir`
    /// of container `to`, under the same name, keeping ownership, modes and contents.
    /// The archive streams from one to the other in bounded chunks, never whole in
    /// memory. Returns the bytes streamed.
    async fn copy_path(
        &self,
        from: &str,
        path: &str,
        to: &str,
        dest_dir: &str,
        timeout: Duration,
    ) -> Result<u64, EngineError>;

    /// Every container, network, volume and image (host snapshots) carrying `label`.
    async fn list_labelled(&self, label: &str) -> Result<Vec<LabelledResource>, EngineError>;
    /// Save a container's filesystem as an image `reference` carrying `labels` (a host
    /// snapshot); the container is paused meanwhile. The image keeps none of the
    /// environment variables named in `blank_env` (the scenario's, which may hold
    /// secrets: they are given again at each start). Returns the image id.
    async fn commit_container(
        &self,
        id: &str,
        reference: &str,
        labels: &BTreeMap<String, String>,
        blank_env: &[String],
    ) -> Result<String, EngineError>;
    async fn remove_volume(&self, name: &str) -> Result<(), EngineError>;
    /// Wait until every command whose caller gave up on it (dropped its future) has
    /// been stopped inside its container.
    async fn settle(&self) {}
    /// Remove what the engine's own machinery may leave after a run that could not
    /// clean up (helper containers, empty cgroup parents of replicas), for `gc`.
    async fn sweep(&self) -> Result<(), EngineError> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(storage_driver: &str) -> EngineInfo {
        EngineInfo {
            server_version: "20.10.24".into(),
            api_version: "1.41".into(),
            cgroup_version: CgroupVersion::V1,
            cgroup_driver: "cgroupfs".into(),
            operating_system: "Debian".into(),
            cpus: 2,
            architecture: "x86_64".into(),
            storage_driver: storage_driver.into(),
        }
    }

    #[test]
    fn only_a_slow_storage_driver_is_worth_a_notice() {
        assert_eq!(info("overlay2").storage_notice(), None);
        assert_eq!(info("").storage_notice(), None);
        let notice = info("fuse-overlayfs").storage_notice().unwrap();
        assert!(notice.contains("`overlay2`"), "{notice}");
        assert!(notice.contains(OVERLAY2_UPGRADE), "{notice}");
    }
}
