//! A scripted in-memory engine for fast unit tests of the runner's logic. It records
//! every call; commands run "inside" containers are answered by a closure.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use super::{
    ByteStream, CgroupVersion, ContainerSpec, ContainerState, Engine, EngineError, EngineInfo,
    ExecOutput, ImageSummary, LabelledResource, ResourceKind,
};

type ExecHandler = Box<dyn Fn(&str, &[String]) -> ExecOutput + Send + Sync>;

pub struct FakeEngine {
    /// Once set, every call fails as if the engine had gone away.
    pub gone: std::sync::atomic::AtomicBool,
    /// The engine goes away right after running a command ending with this argument.
    pub gone_after: Mutex<Option<String>>,
    pub calls: Mutex<Vec<String>>,
    pub live: Mutex<Vec<LabelledResource>>,
    /// Commands and builds take a turn of the scheduler before they answer, like a real
    /// engine's: what runs concurrently shows in the order of `calls`.
    pub slow: std::sync::atomic::AtomicBool,
    /// Images whose reference starts with one of these do not exist until built.
    pub absent_images: Mutex<Vec<String>>,
    built: Mutex<Vec<String>>,
    /// Every script build asked for, in order.
    pub script_builds: Mutex<Vec<super::ScriptBuild>>,
    /// Ports each container asked to publish.
    published: Mutex<BTreeMap<String, Vec<u16>>>,
    /// When set, every published port is published on this one (a listener of the test).
    pub publish_on: Mutex<Option<u16>>,
    exec_handler: ExecHandler,
}

impl std::fmt::Debug for FakeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEngine")
            .field("calls", &self.calls)
            .finish()
    }
}

/// Exit 0 with this output.
pub fn ok(stdout: &str) -> ExecOutput {
    ExecOutput {
        exit_code: 0,
        stdout: stdout.into(),
        stderr: String::new(),
    }
}

impl FakeEngine {
    /// Every image exists; `exec` is answered by `handler(container, argv)`.
    pub fn new(handler: impl Fn(&str, &[String]) -> ExecOutput + Send + Sync + 'static) -> Self {
        FakeEngine {
            gone: std::sync::atomic::AtomicBool::new(false),
            gone_after: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            live: Mutex::new(Vec::new()),
            slow: std::sync::atomic::AtomicBool::new(false),
            absent_images: Mutex::new(Vec::new()),
            built: Mutex::new(Vec::new()),
            script_builds: Mutex::new(Vec::new()),
            published: Mutex::new(BTreeMap::new()),
            publish_on: Mutex::new(None),
            exec_handler: Box::new(handler),
        }
    }

    /// A healthy systemd host where every other command succeeds silently.
    pub fn healthy() -> Self {
        FakeEngine::new(|_, argv| {
            if argv.first().map(String::as_str) == Some("systemctl") {
                ok("running\n")
            } else {
                ok("")
            }
        })
    }

    fn is_slow(&self) -> bool {
        self.slow.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub fn live_resources(&self) -> Vec<LabelledResource> {
        self.live.lock().unwrap().clone()
    }
}

impl FakeEngine {
    fn check_gone(&self) -> Result<(), EngineError> {
        if self.gone.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::Connect {
                detail: "connection refused".into(),
            });
        }
        Ok(())
    }
}

impl Engine for FakeEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        self.check_gone()?;
        Ok(EngineInfo {
            server_version: "fake".into(),
            api_version: "1.41".into(),
            cgroup_version: CgroupVersion::V1,
            cgroup_driver: "cgroupfs".into(),
            operating_system: "fake".into(),
            cpus: 2,
            architecture: "x86_64".into(),
            storage_driver: "overlay2".into(),
        })
    }

    async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        let absent = self
            .absent_images
            .lock()
            .unwrap()
            .iter()
            .any(|prefix| reference.starts_with(prefix.as_str()));
        Ok(!absent || self.built.lock().unwrap().iter().any(|b| b == reference))
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError> {
        Ok(Some(format!("sha256:fake-{reference}")))
    }

    async fn pull_image(&self, reference: &str) -> Result<(), EngineError> {
        Err(EngineError::Pull {
            reference: reference.into(),
            detail: "no registry".into(),
        })
    }

    async fn import_rootfs(
        &self,
        _: ByteStream,
        reference: &str,
        _: &[String],
    ) -> Result<(), EngineError> {
        self.record(format!("import {reference}"));
        Ok(())
    }

    async fn build_image(
        &self,
        _context: Bytes,
        reference: &str,
        build_args: &HashMap<String, String>,
        _on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError> {
        if self.is_slow() {
            self.record(format!("build started {reference}"));
            tokio::task::yield_now().await;
        }
        let mut args: Vec<&str> = build_args.keys().map(String::as_str).collect();
        args.sort();
        if args.is_empty() {
            self.record(format!("build {reference}"));
        } else {
            self.record(format!("build {reference} with {}", args.join(",")));
        }
        self.built.lock().unwrap().push(reference.to_string());
        Ok(())
    }

    async fn build_by_script(
        &self,
        spec: &super::ScriptBuild,
        _on_output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), EngineError> {
        if self.is_slow() {
            self.record(format!("build started {}", spec.reference));
            tokio::task::yield_now().await;
        }
        let mut call = format!("build {} from {}", spec.reference, spec.image);
        if !spec.volumes.is_empty() {
            call.push_str(&format!(" on volumes ({})", spec.volumes.join(" ")));
        }
        let mut env: Vec<&str> = spec.env.iter().map(|(key, _)| key.as_str()).collect();
        env.sort();
        if !env.is_empty() {
            call.push_str(&format!(" with {}", env.join(",")));
        }
        self.record(call);
        self.built.lock().unwrap().push(spec.reference.clone());
        self.script_builds.lock().unwrap().push(spec.clone());
        Ok(())
    }

    async fn list_images(&self, _label: &str) -> Result<Vec<ImageSummary>, EngineError> {
        Ok(vec![])
    }

    async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        self.record(format!("remove image {reference}"));
        Ok(())
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        self.record(format!("create network {name}"));
        self.live.lock().unwrap().push(LabelledResource {
            kind: ResourceKind::Network,
            id: name.into(),
            name: name.into(),
            labels: labels.clone(),
        });
        Ok(name.into())
    }

    async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        self.check_gone()?;
        self.record(format!("remove network {id}"));
        self.live.lock().unwrap().retain(|r| r.id != id);
        Ok(())
    }

    async fn run_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        self.record(format!("run {} from {}", spec.name, spec.image));
        if !spec.publish.is_empty() {
            let ports: Vec<String> = spec.publish.iter().map(u16::to_string).collect();
            self.record(format!("publish {} {}", spec.name, ports.join(",")));
            self.published
                .lock()
                .unwrap()
                .insert(spec.name.clone(), spec.publish.clone());
        }
        for file in &spec.files {
            self.record(format!(
                "put {} {}:{} mode {:o}",
                file.local.display(),
                spec.name,
                file.dest,
                file.mode
            ));
        }
        self.live.lock().unwrap().push(LabelledResource {
            kind: ResourceKind::Container,
            id: spec.name.clone(),
            name: spec.name.clone(),
            labels: spec.labels.clone(),
        });
        Ok(spec.name.clone())
    }

    async fn restart_container(
        &self,
        id: &str,
        _stop_timeout: Duration,
    ) -> Result<(), EngineError> {
        self.record(format!("restart {id}"));
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.record(format!("remove container {id}"));
        self.live.lock().unwrap().retain(|r| r.id != id);
        Ok(())
    }

    async fn disconnect_network(&self, id: &str, network: &str) -> Result<(), EngineError> {
        self.check_gone()?;
        self.record(format!("disconnect {id} from {network}"));
        Ok(())
    }

    async fn connect_network(
        &self,
        id: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        self.check_gone()?;
        self.record(format!(
            "connect {id} to {network} as {}",
            aliases.join(", ")
        ));
        Ok(())
    }

    async fn network_gateway(&self, _network: &str) -> Result<Option<IpAddr>, EngineError> {
        Ok(None)
    }

    async fn container_ip(&self, _id: &str, _network: &str) -> Result<IpAddr, EngineError> {
        Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Port `p` is published on `30000 + p`, or on [`FakeEngine::publish_on`].
    async fn published_ports(&self, id: &str) -> Result<BTreeMap<u16, u16>, EngineError> {
        let on = *self.publish_on.lock().unwrap();
        Ok(self
            .published
            .lock()
            .unwrap()
            .get(id)
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| (*p, on.unwrap_or(p.saturating_add(30000))))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn container_state(&self, _id: &str) -> Result<ContainerState, EngineError> {
        Ok(ContainerState {
            running: true,
            exit_code: None,
            oom_killed: false,
            status: "running".into(),
        })
    }

    async fn exec_streaming(
        &self,
        id: &str,
        argv: &[String],
        _env: &[(String, String)],
        _timeout: Duration,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ExecOutput, EngineError> {
        self.check_gone()?;
        if self.is_slow() {
            tokio::task::yield_now().await;
        }
        self.record(format!("exec {id}: {}", argv.join(" ")));
        let output = (self.exec_handler)(id, argv);
        for line in output.stdout.lines().chain(output.stderr.lines()) {
            on_line(line);
        }
        if argv.last() == self.gone_after.lock().unwrap().as_ref() {
            self.gone.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(output)
    }

    async fn copy_path(
        &self,
        from: &str,
        path: &str,
        to: &str,
        dest_dir: &str,
        _timeout: Duration,
    ) -> Result<u64, EngineError> {
        self.check_gone()?;
        self.record(format!("copy {from}:{path} {to}:{dest_dir}"));
        Ok(0)
    }

    async fn commit_container(
        &self,
        id: &str,
        reference: &str,
        _labels: &BTreeMap<String, String>,
        _blank_env: &[String],
    ) -> Result<String, EngineError> {
        self.check_gone()?;
        self.record(format!("commit {id} {reference}"));
        Ok(format!("sha256:snapshot-{reference}"))
    }

    async fn list_labelled(&self, label: &str) -> Result<Vec<LabelledResource>, EngineError> {
        Ok(self
            .live
            .lock()
            .unwrap()
            .iter()
            // As the engine's filter: `key` or `key=value`.
            .filter(|r| match label.split_once('=') {
                Some((key, value)) => r.labels.get(key).is_some_and(|v| v == value),
                None => r.labels.contains_key(label),
            })
            .cloned()
            .collect())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        self.record(format!("remove volume {name}"));
        Ok(())
    }
}
