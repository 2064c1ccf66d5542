//! [`Engine`] over a real Docker engine, through bollard. The only module that calls bollard.
//!
//! This file holds [`DockerEngine`] and its [`Engine`] impl, which hands each operation
//! to the file named after what it works on: [`connect`] (the endpoint and the engine's
//! own facts), [`ssh`] and [`ssh_dial`] (the ssh transport), [`images`], [`networks`],
//! [`containers`] (with [`ports`] and [`cgroups`]), [`exec`], [`attach`] (`rehearse shell`) and
//! [`labelled`] (leftovers, for cleanup). [`call`] is how each bollard call is bounded
//! in time and its error classified.

mod attach;
mod call;
mod cgroups;
mod connect;
mod containers;
mod exec;
mod images;
mod labelled;
mod networks;
mod ports;
mod script_build;
mod ssh;
mod ssh_dial;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;

use super::endpoint::Endpoint;
use super::{
    ByteStream, ContainerSpec, ContainerState, Engine, EngineError, EngineInfo, ExecOutput,
    ImageSummary, LabelledResource,
};

pub use attach::{AttachedIo, Terminal};

/// Timeout of ordinary engine calls (inspect, create, remove...).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Copying a scenario's files into a host (up to the total limit, 256 MiB by default).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Timeout of calls that move a lot of data (builds, imports): the client's own limit.
const LONG_CALL_TIMEOUT: Duration = Duration::from_secs(3600);

/// Container → the variables each command run in it gets.
type ExecEnv = std::sync::Arc<std::sync::Mutex<HashMap<String, Vec<(String, String)>>>>;

/// A connection to a Docker engine: a local socket, or another machine's engine over
/// TCP (plain or TLS) or ssh.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Endpoint,
    /// Container → the variables each command run in it gets (see
    /// [`crate::engine::ContainerSpec::exec_env`]); kept in memory only.
    exec_env: ExecEnv,
    /// How replicas get cgroups on this engine, worked out at the first one.
    cgroups: std::sync::Arc<tokio::sync::OnceCell<cgroups::Confinement>>,
    /// Commands given up on, being stopped inside their containers (see [`exec`]).
    stopping: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// The address of the engine's machine that published ports listen on.
    publish_on: IpAddr,
}

impl DockerEngine {
    /// `env` after the variables the container's commands get.
    fn env_for(&self, id: &str, env: &[(String, String)]) -> Vec<(String, String)> {
        let kept = self.exec_env.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = kept.get(id).cloned().unwrap_or_default();
        all.extend(env.iter().cloned());
        all
    }
}

impl Engine for DockerEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        connect::info(self).await
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError> {
        images::id(self, reference).await
    }

    async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        Ok(self.image_id(reference).await?.is_some())
    }

    async fn pull_image(&self, reference: &str) -> Result<(), EngineError> {
        images::pull(self, reference).await
    }

    async fn import_rootfs(
        &self,
        rootfs: ByteStream,
        reference: &str,
        changes: &[String],
    ) -> Result<(), EngineError> {
        images::import_rootfs(self, rootfs, reference, changes).await
    }

    async fn build_image(
        &self,
        context: Bytes,
        reference: &str,
        build_args: &HashMap<String, String>,
        on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError> {
        images::build(self, context, reference, build_args, on_output).await
    }

    async fn build_by_script(
        &self,
        spec: &super::ScriptBuild,
        on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError> {
        script_build::build_by_script(self, spec, on_output).await
    }

    async fn list_images(&self, label: &str) -> Result<Vec<ImageSummary>, EngineError> {
        images::list(self, label).await
    }

    async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        images::remove(self, reference).await
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        networks::create(self, name, labels).await
    }

    async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        networks::remove(self, id).await
    }

    async fn network_gateway(&self, network: &str) -> Result<Option<IpAddr>, EngineError> {
        networks::gateway(self, network).await
    }

    async fn run_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let id = containers::run(self, spec).await?;
        if !spec.exec_env.is_empty() {
            self.exec_env
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), spec.exec_env.clone());
        }
        Ok(id)
    }

    async fn restart_container(&self, id: &str, stop_timeout: Duration) -> Result<(), EngineError> {
        containers::restart(self, id, stop_timeout).await
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.exec_env
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        containers::remove(self, id).await
    }

    async fn disconnect_network(&self, id: &str, network: &str) -> Result<(), EngineError> {
        networks::disconnect(self, id, network).await
    }

    async fn connect_network(
        &self,
        id: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        networks::connect(self, id, network, aliases).await
    }

    async fn container_ip(&self, id: &str, network: &str) -> Result<IpAddr, EngineError> {
        containers::ip(self, id, network).await
    }

    async fn published_ports(&self, id: &str) -> Result<BTreeMap<u16, u16>, EngineError> {
        containers::published_ports(self, id).await
    }

    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        containers::state(self, id).await
    }

    async fn exec_streaming(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ExecOutput, EngineError> {
        exec::streaming(self, id, argv, env, timeout, on_line).await
    }

    async fn list_labelled(&self, label: &str) -> Result<Vec<LabelledResource>, EngineError> {
        labelled::list(self, label).await
    }

    async fn commit_container(
        &self,
        id: &str,
        reference: &str,
        labels: &BTreeMap<String, String>,
        blank_env: &[String],
    ) -> Result<String, EngineError> {
        images::commit_container(self, id, reference, labels, blank_env).await
    }

    async fn copy_path(
        &self,
        from: &str,
        path: &str,
        to: &str,
        dest_dir: &str,
        timeout: Duration,
    ) -> Result<u64, EngineError> {
        containers::copy_path(self, from, path, to, dest_dir, timeout).await
    }

    async fn settle(&self) {
        exec::settle(self).await
    }

    async fn sweep(&self) -> Result<(), EngineError> {
        cgroups::sweep(self).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        labelled::remove_volume(self, name).await
    }
}
