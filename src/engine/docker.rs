//! [`Engine`] over a real Docker engine, through bollard. The only module that calls bollard.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, ExecConfig, HostConfig, HostConfigCgroupnsModeEnum,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
    PortBinding, PortMap, SystemInfoCgroupVersionEnum,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateContainerOptionsBuilder,
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptions, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder, RestartContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;

use super::endpoint::Endpoint;
use super::{
    ByteStream, CgroupVersion, ContainerSpec, ContainerState, Engine, EngineError, EngineInfo,
    ExecOutput, ImageSummary, LabelledResource, ResourceKind,
};

/// Timeout of ordinary engine calls (inspect, create, remove...).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of calls that move a lot of data (builds, imports): the client's own limit.
/// Copying a scenario's files into a host (up to the total limit, 256 MiB by default).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
const LONG_CALL_TIMEOUT: Duration = Duration::from_secs(3600);

/// A connection to a Docker engine: a local socket, or another machine's engine over
/// TCP (plain or TLS) or ssh.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Endpoint,
}

impl DockerEngine {
    /// Connect to the engine at `endpoint` and agree on an API version. The error names
    /// the address and what to check.
    pub async fn connect(endpoint: &Endpoint) -> Result<Self, EngineError> {
        let unreachable = |detail: String| EngineError::Unreachable {
            url: endpoint.url(),
            detail: detail.trim().to_string(),
            check: what_to_check(endpoint),
        };
        let docker = match endpoint {
            Endpoint::Unix { path } => Docker::connect_with_unix(
                &path.to_string_lossy(),
                LONG_CALL_TIMEOUT.as_secs(),
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| unreachable(e.to_string()))?,
            Endpoint::Tcp {
                host,
                port,
                tls: None,
            } => Docker::connect_with_http(
                &format!("tcp://{}", host_port(host, *port)),
                LONG_CALL_TIMEOUT.as_secs(),
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| unreachable(e.to_string()))?,
            Endpoint::Tcp {
                host,
                port,
                tls: Some(files),
            } => {
                for file in [&files.ca, &files.cert, &files.key] {
                    if !file.is_file() {
                        return Err(unreachable(format!("no TLS file `{}`", file.display())));
                    }
                }
                // rustls picks its only compiled-in provider (ring, bollard's `ssl`).
                Docker::connect_with_ssl(
                    &format!("tcp://{}", host_port(host, *port)),
                    &files.key,
                    &files.cert,
                    &files.ca,
                    LONG_CALL_TIMEOUT.as_secs(),
                    bollard::API_DEFAULT_VERSION,
                )
                .map_err(|e| unreachable(e.to_string()))?
            }
            Endpoint::Ssh { .. } => {
                let argv = ssh_argv(endpoint, &[]);
                ssh_preflight(&argv).await.map_err(unreachable)?;
                ssh_transport(argv).map_err(|e| unreachable(e.to_string()))?
            }
        };
        let docker = docker.with_timeout(LONG_CALL_TIMEOUT);
        let docker = tokio::time::timeout(CALL_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 60s".into()))?
            .map_err(|e| unreachable(innermost(&e)))?;
        Ok(DockerEngine {
            docker,
            endpoint: endpoint.clone(),
        })
    }

    /// The engine's address.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The address at which this machine reaches ports the engine publishes: the
    /// engine's machine as the address names it (resolved; through `ssh -G` for an
    /// ssh alias), or this machine's loopback for a local socket.
    pub async fn published_address(&self) -> Result<IpAddr, EngineError> {
        let (host, port) = match &self.endpoint {
            Endpoint::Unix { .. } => return Ok(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            Endpoint::Tcp { host, port, .. } => (host.clone(), *port),
            Endpoint::Ssh { port, .. } => (ssh_hostname(&self.endpoint).await, port.unwrap_or(22)),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(ip);
        }
        let found = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| EngineError::Other(format!(
                "cannot resolve `{host}`, the machine of the engine at `{}`: {e}; use its IP address in --docker-host",
                self.endpoint.url()
            )))?
            .map(|a| a.ip())
            .collect::<Vec<_>>();
        // IPv4 first: ports are published on the engine's 0.0.0.0.
        found
            .iter()
            .find(|ip| ip.is_ipv4())
            .or(found.first())
            .copied()
            .ok_or_else(|| {
                EngineError::Other(format!(
                    "`{host}`, the machine of the engine at `{}`, has no address; use its IP address in --docker-host",
                    self.endpoint.url()
                ))
            })
    }
}

/// What to check when the engine at `endpoint` does not answer.
fn what_to_check(endpoint: &Endpoint) -> String {
    let url = endpoint.url();
    match endpoint {
        Endpoint::Unix { path } => format!(
            "is dockerd running, and may this user open `{}`? `docker -H {url} info` should answer",
            path.display()
        ),
        Endpoint::Tcp { tls: None, .. } => format!(
            "does dockerd listen there without TLS (`dockerd -H {url}`; for a TLS engine pass --tls-verify), and does no firewall stand between? `docker -H {url} info` should answer"
        ),
        Endpoint::Tcp {
            host,
            tls: Some(files),
            ..
        } => format!(
            "does dockerd listen there with `--tlsverify`, do `{}`, `{}` and `{}` belong to it (its certificate must name `{host}`)? `docker --tlsverify -H {url} info` should answer",
            files.ca.display(),
            files.cert.display(),
            files.key.display()
        ),
        Endpoint::Ssh { user, host, .. } => {
            let user = user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
            format!(
                "can `ssh {user}{host}` log in without a prompt (a key or an agent), and may that user run `docker info` there? `docker -H {url} info` should answer"
            )
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// bollard's own message wraps the useful cause ("Connection refused") in layers.
fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let text = cause.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// The `ssh` command (program first) that reaches the engine's machine, then runs
/// `remote` there: never a password prompt (the command has no terminal), a bounded
/// connect, no pseudo-terminal.
fn ssh_argv(endpoint: &Endpoint, remote: &[&str]) -> Vec<String> {
    let Endpoint::Ssh {
        user,
        host,
        port,
        command,
    } = endpoint
    else {
        return Vec::new();
    };
    let mut argv = command.clone();
    argv.extend(
        [
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "ServerAliveInterval=30",
            "-T",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    if let Some(user) = user {
        argv.extend(["-l".to_string(), user.clone()]);
    }
    if let Some(port) = port {
        argv.extend(["-p".to_string(), port.to_string()]);
    }
    // `--`: a host name can never be read as an option.
    argv.extend(["--".to_string(), host.clone()]);
    argv.extend(remote.iter().map(|s| s.to_string()));
    argv
}

/// The remote command of each ssh connection: the docker CLI's own relay between its
/// standard input and output and the engine's socket there.
const DIAL_STDIO: [&str; 3] = ["docker", "system", "dial-stdio"];

/// One ssh login before anything else, so that a refused key or a missing `docker`
/// says so in ssh's words instead of as a closed connection.
async fn ssh_preflight(argv: &[String]) -> Result<(), String> {
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .args(["docker", "version", "--format", "{{.Server.Version}}"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(CALL_TIMEOUT, command.output()).await {
        Err(_) => return Err("ssh gave no answer within 60s".into()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("`{}` is not installed on this machine", argv[0]));
        }
        Ok(Err(e)) => return Err(format!("cannot run `{}`: {e}", argv[0])),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "`ssh … docker version` exited with {}: {}",
        output.status.code().unwrap_or(-1),
        last.trim()
    ))
}

/// The name ssh really connects to (`HostName` of an alias in `~/.ssh/config`), else
/// the name as given.
async fn ssh_hostname(endpoint: &Endpoint) -> String {
    let Endpoint::Ssh { host, command, .. } = endpoint else {
        return String::new();
    };
    let output = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .args(["-G", "--", host])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    output
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("hostname ").map(str::to_string))
        })
        .unwrap_or_else(|| host.clone())
}

/// A client whose every connection is a fresh `ssh HOST docker system dial-stdio`
/// (pooled and kept alive like any HTTP connection, so not one login per call).
fn ssh_transport(argv: Vec<String>) -> Result<Docker, bollard::errors::Error> {
    let mut argv = argv;
    argv.extend(DIAL_STDIO.iter().map(|s| s.to_string()));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(ssh_dial::SshDial::new(argv));
    let client = std::sync::Arc::new(client);
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = std::sync::Arc::clone(&client);
            async move {
                client
                    .request(request)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        // Requests need an authority; the connector ignores it.
        Some("http://docker.ssh"),
        LONG_CALL_TIMEOUT.as_secs(),
        bollard::API_DEFAULT_VERSION,
    )
}

/// The ssh connector: each connection is an `ssh` process whose standard input and
/// output carry the HTTP exchange.
mod ssh_dial {
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, ready};

    use hyper_util::rt::TokioIo;
    use tokio::process::{Child, ChildStdin, ChildStdout};

    #[derive(Debug, Clone)]
    pub(super) struct SshDial {
        argv: Arc<Vec<String>>,
    }

    impl SshDial {
        pub(super) fn new(argv: Vec<String>) -> Self {
            SshDial {
                argv: Arc::new(argv),
            }
        }
    }

    #[derive(Debug)]
    pub(super) struct SshStream {
        stdout: TokioIo<ChildStdout>,
        /// `None` once the request side is shut down.
        stdin: Option<TokioIo<ChildStdin>>,
        /// Killed when the connection is dropped.
        _child: Child,
    }

    impl tower_service::Service<hyper::Uri> for SshDial {
        type Response = SshStream;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<SshStream>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: hyper::Uri) -> Self::Future {
            let argv = Arc::clone(&self.argv);
            Box::pin(async move {
                let mut child = tokio::process::Command::new(&argv[0])
                    .args(argv[1..].iter())
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(io::Error::other("ssh started without pipes"));
                };
                Ok(SshStream {
                    stdout: TokioIo::new(stdout),
                    stdin: Some(TokioIo::new(stdin)),
                    _child: child,
                })
            })
        }
    }

    impl SshStream {
        fn stdin(self: Pin<&mut Self>) -> io::Result<Pin<&mut TokioIo<ChildStdin>>> {
            self.get_mut()
                .stdin
                .as_mut()
                .map(Pin::new)
                .ok_or_else(|| io::ErrorKind::BrokenPipe.into())
        }
    }

    impl hyper::rt::Read for SshStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: hyper::rt::ReadBufCursor<'_>,
        ) -> Poll<io::Result<()>> {
            hyper::rt::Read::poll_read(Pin::new(&mut self.get_mut().stdout), cx, buf)
        }
    }

    impl hyper::rt::Write for SshStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            hyper::rt::Write::poll_write(self.stdin()?, cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            hyper::rt::Write::poll_flush(self.stdin()?, cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            ready!(hyper::rt::Write::poll_shutdown(self.as_mut().stdin()?, cx))?;
            // Closing ssh's input ends the request side, as a TCP half-close would.
            drop(self.get_mut().stdin.take());
            Poll::Ready(Ok(()))
        }
    }

    impl hyper_util::client::legacy::connect::Connection for SshStream {
        fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
            hyper_util::client::legacy::connect::Connected::new()
        }
    }
}

fn call_err(
    operation: &'static str,
    object: &str,
) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let object = object.to_string();
    move |source| classify(operation, object, source)
}

/// Connection-level failures become [`EngineError::Connect`] so callers can exit with 3.
fn classify(
    operation: &'static str,
    object: String,
    source: bollard::errors::Error,
) -> EngineError {
    use bollard::errors::Error as B;
    match &source {
        B::HyperResponseError { .. } | B::IOError { .. } | B::RequestTimeoutError => {
            EngineError::Connect {
                detail: format!("`{operation}` on `{object}`: {source}"),
            }
        }
        _ => EngineError::Call {
            operation,
            object,
            source,
        },
    }
}

/// The first host address of an IPv4 subnet (`172.17.0.0/16` → `172.17.0.1`).
fn first_address(subnet: &str) -> Option<IpAddr> {
    let (network, _) = subnet.split_once('/')?;
    let network: std::net::Ipv4Addr = network.parse().ok()?;
    Some(IpAddr::V4(std::net::Ipv4Addr::from(
        u32::from(network).checked_add(1)?,
    )))
}

async fn within<T>(
    operation: &'static str,
    object: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(call_err(operation, object)),
        Err(_) => Err(EngineError::Timeout {
            operation,
            object: object.to_string(),
            after: limit,
        }),
    }
}

fn is_not_found(err: &EngineError) -> bool {
    matches!(
        err,
        EngineError::Call {
            source: bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            },
            ..
        }
    )
}

/// Removing something already gone is success: cleanup may race with `gc` or the engine.
fn ignore_not_found(result: Result<(), EngineError>) -> Result<(), EngineError> {
    match result {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

fn to_btree(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

impl Engine for DockerEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        let info = within("info", "engine", CALL_TIMEOUT, self.docker.info()).await?;
        let version = within("version", "engine", CALL_TIMEOUT, self.docker.version()).await?;
        let cgroup_version = match info.cgroup_version {
            Some(SystemInfoCgroupVersionEnum::_2) => CgroupVersion::V2,
            _ => CgroupVersion::V1,
        };
        Ok(EngineInfo {
            server_version: info.server_version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            cgroup_version,
            operating_system: info.operating_system.unwrap_or_default(),
            cpus: info.ncpu.unwrap_or(1).max(1) as u32,
        })
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError> {
        match within(
            "inspect image",
            reference,
            CALL_TIMEOUT,
            self.docker.inspect_image(reference),
        )
        .await
        {
            Ok(image) => Ok(image.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn image_exists(&self, reference: &str) -> Result<bool, EngineError> {
        Ok(self.image_id(reference).await?.is_some())
    }

    async fn pull_image(&self, reference: &str) -> Result<(), EngineError> {
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
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

    async fn import_rootfs(
        &self,
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
        let mut stream = self.docker.create_image(Some(options), Some(body), None);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                return Err(EngineError::Import {
                    reference: reference.to_string(),
                    detail: e.to_string(),
                });
            }
        }
        // The import stream can end without an error even when nothing was created.
        if !self.image_exists(reference).await? {
            return Err(EngineError::Import {
                reference: reference.to_string(),
                detail: "the engine reported no error but the image does not exist".into(),
            });
        }
        Ok(())
    }

    async fn build_image(
        &self,
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
        let mut stream = self
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
        if !self.image_exists(reference).await? {
            return Err(EngineError::Build {
                reference: reference.to_string(),
                detail: "the build ended without producing the image".into(),
            });
        }
        Ok(())
    }

    async fn list_images(&self, label: &str) -> Result<Vec<ImageSummary>, EngineError> {
        let options = ListImagesOptionsBuilder::default()
            .filters(&label_filter(label))
            .build();
        let images = within(
            "list images",
            label,
            CALL_TIMEOUT,
            self.docker.list_images(Some(options)),
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

    async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptionsBuilder::default().force(true).build();
        ignore_not_found(
            within(
                "remove image",
                reference,
                CALL_TIMEOUT,
                self.docker.remove_image(reference, Some(options), None),
            )
            .await
            .map(|_| ()),
        )
    }

    async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let response = within(
            "create network",
            name,
            CALL_TIMEOUT,
            self.docker.create_network(request),
        )
        .await?;
        Ok(response.id)
    }

    async fn remove_network(&self, id: &str) -> Result<(), EngineError> {
        ignore_not_found(
            within(
                "remove network",
                id,
                CALL_TIMEOUT,
                self.docker.remove_network(id),
            )
            .await,
        )
    }

    async fn network_gateway(&self, network: &str) -> Result<Option<IpAddr>, EngineError> {
        let inspect = within(
            "inspect network",
            network,
            CALL_TIMEOUT,
            self.docker.inspect_network(network, None),
        )
        .await?;
        Ok(inspect
            .ipam
            .and_then(|ipam| ipam.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|config| {
                // Older engines leave the gateway out of the default bridge's
                // configuration; it is then the subnet's first address.
                config
                    .gateway
                    .and_then(|gateway| gateway.parse::<IpAddr>().ok())
                    .or_else(|| config.subnet.as_deref().and_then(first_address))
            })
            // The IPv4 gateway first: the package cache listens on IPv4.
            .min_by_key(|gateway| gateway.is_ipv6()))
    }

    async fn run_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let mut host_config = HostConfig {
            network_mode: Some(spec.network.clone()),
            memory: spec.memory.map(|m| m as i64),
            nano_cpus: spec.cpus.map(|c| (c * 1e9) as i64),
            pids_limit: spec.pids,
            ..Default::default()
        };
        let (exposed_ports, port_bindings) = port_bindings(&spec.publish);
        host_config.port_bindings = port_bindings;
        let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut stop_signal = None;
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
            host_config.binds = Some(vec!["/sys/fs/cgroup:/sys/fs/cgroup:rw".to_string()]);
            // cgroup v1 needs the host's cgroup namespace to see its own hierarchy; on v2
            // the host namespace with a writable bind is what lets systemd create its scopes.
            host_config.cgroupns_mode = Some(HostConfigCgroupnsModeEnum::HOST);
            env.push("container=docker".into());
            stop_signal = Some("SIGRTMIN+3".to_string());
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
            self.docker.create_container(Some(options), body),
        )
        .await?;
        let started = async {
            if !spec.files.is_empty() {
                let options = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
                    .path("/")
                    .build();
                let archive = crate::local_files::archive_stream(spec.files.clone());
                within(
                    "copy files into container",
                    &spec.name,
                    UPLOAD_TIMEOUT,
                    self.docker.upload_to_container(
                        &created.id,
                        Some(options),
                        bollard::body_try_stream(archive),
                    ),
                )
                .await?;
            }
            within(
                "start container",
                &spec.name,
                CALL_TIMEOUT,
                self.docker.start_container(
                    &created.id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                ),
            )
            .await
        };
        if let Err(e) = started.await {
            // The caller never learns the id of a container that did not start: remove
            // it here rather than leave it to `rehearse gc`.
            let _ = self.remove_container(&created.id).await;
            return Err(e);
        }
        Ok(created.id)
    }

    async fn restart_container(&self, id: &str, stop_timeout: Duration) -> Result<(), EngineError> {
        let options = RestartContainerOptionsBuilder::default()
            .t(stop_timeout.as_secs() as i32)
            .build();
        within(
            "restart container",
            id,
            stop_timeout + CALL_TIMEOUT,
            self.docker.restart_container(id, Some(options)),
        )
        .await
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        ignore_not_found(
            within(
                "remove container",
                id,
                CALL_TIMEOUT,
                self.docker.remove_container(id, Some(options)),
            )
            .await,
        )
    }

    async fn disconnect_network(&self, id: &str, network: &str) -> Result<(), EngineError> {
        let request = NetworkDisconnectRequest {
            container: id.to_string(),
            force: Some(true),
        };
        within(
            "disconnect container from network",
            &format!("{id} from {network}"),
            CALL_TIMEOUT,
            self.docker.disconnect_network(network, request),
        )
        .await
    }

    async fn connect_network(
        &self,
        id: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        // The same endpoint settings as at creation (`run_container`): the host answers
        // to its name and aliases again.
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ..Default::default()
            }),
        };
        within(
            "connect container to network",
            &format!("{id} to {network}"),
            CALL_TIMEOUT,
            self.docker.connect_network(network, request),
        )
        .await
    }

    async fn container_ip(&self, id: &str, network: &str) -> Result<IpAddr, EngineError> {
        let inspect = within(
            "inspect container",
            id,
            CALL_TIMEOUT,
            self.docker.inspect_container(id, None),
        )
        .await?;
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

    async fn published_ports(&self, id: &str) -> Result<BTreeMap<u16, u16>, EngineError> {
        let inspect = within(
            "inspect container",
            id,
            CALL_TIMEOUT,
            self.docker.inspect_container(id, None),
        )
        .await?;
        Ok(published_from(
            &inspect
                .network_settings
                .and_then(|s| s.ports)
                .unwrap_or_default(),
        ))
    }

    async fn container_state(&self, id: &str) -> Result<ContainerState, EngineError> {
        let inspect = within(
            "inspect container",
            id,
            CALL_TIMEOUT,
            self.docker.inspect_container(id, None),
        )
        .await?;
        let state = inspect.state.unwrap_or_default();
        Ok(ContainerState {
            running: state.running.unwrap_or(false),
            exit_code: state.exit_code,
            oom_killed: state.oom_killed.unwrap_or(false),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        })
    }

    async fn exec_streaming(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ExecOutput, EngineError> {
        let object = argv.join(" ");
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            // No stdin: a command that would prompt reads end-of-file instead of hanging.
            attach_stdin: Some(false),
            env: (!env.is_empty()).then(|| env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: Some(argv.to_vec()),
            ..Default::default()
        };
        let created = within(
            "create exec",
            id,
            CALL_TIMEOUT,
            self.docker.create_exec(id, config),
        )
        .await?;
        let collect = async {
            let started = self
                .docker
                .start_exec(
                    &created.id,
                    Some(StartExecOptions {
                        detach: false,
                        tty: false,
                        output_capacity: None,
                    }),
                )
                .await?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let mut pending = String::new();
            if let StartExecResults::Attached { mut output, .. } = started {
                while let Some(chunk) = output.next().await {
                    let message = match chunk? {
                        bollard::container::LogOutput::StdOut { message }
                        | bollard::container::LogOutput::Console { message } => {
                            stdout.extend_from_slice(&message);
                            message
                        }
                        bollard::container::LogOutput::StdErr { message } => {
                            stderr.extend_from_slice(&message);
                            message
                        }
                        bollard::container::LogOutput::StdIn { .. } => continue,
                    };
                    // Chunks split lines anywhere: hand out whole lines only.
                    pending.push_str(&String::from_utf8_lossy(&message));
                    while let Some(pos) = pending.find('\n') {
                        let line: String = pending.drain(..=pos).collect();
                        on_line(line.trim_end_matches(['\n', '\r']));
                    }
                }
            }
            if !pending.is_empty() {
                on_line(&pending);
            }
            Ok::<_, bollard::errors::Error>((stdout, stderr))
        };
        let (stdout, stderr) = within("exec", &object, timeout, collect).await?;
        let inspected = within(
            "inspect exec",
            &object,
            CALL_TIMEOUT,
            self.docker.inspect_exec(&created.id),
        )
        .await?;
        Ok(ExecOutput {
            exit_code: inspected.exit_code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    async fn list_labelled(&self, label: &str) -> Result<Vec<LabelledResource>, EngineError> {
        let filters = label_filter(label);
        let mut found = Vec::new();
        let containers = within(
            "list containers",
            label,
            CALL_TIMEOUT,
            self.docker.list_containers(Some(
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
            self.docker.list_networks(Some(
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
            self.docker.list_volumes(Some(ListVolumesOptions {
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
        for image in self.list_images(label).await? {
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

    async fn commit_container(
        &self,
        id: &str,
        reference: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        use bollard::models::ContainerConfig;
        use bollard::query_parameters::CommitContainerOptionsBuilder;
        let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
        // Paused while its files are copied, so what is written is consistent.
        let options = CommitContainerOptionsBuilder::default()
            .container(id)
            .repo(repo)
            .tag(tag)
            .pause(true)
            .build();
        let config = ContainerConfig {
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let created = within(
            "commit container",
            id,
            LONG_CALL_TIMEOUT,
            self.docker.commit_container(options, config),
        )
        .await?;
        Ok(created.id)
    }

    async fn copy_path(
        &self,
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
        let mut download = self.docker.download_from_container(
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
        let upload = self.docker.upload_to_container(
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

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        ignore_not_found(
            within(
                "remove volume",
                name,
                CALL_TIMEOUT,
                self.docker.remove_volume(name, Some(options)),
            )
            .await,
        )
    }
}

/// The exposed ports and port bindings that publish each TCP port of `ports` on an
/// ephemeral port of every IPv4 address of the engine's machine (`docker run -p
/// 0.0.0.0::PORT`). Nothing when `ports` is empty.
fn port_bindings(ports: &[u16]) -> (Option<Vec<String>>, Option<PortMap>) {
    if ports.is_empty() {
        return (None, None);
    }
    let keys: Vec<String> = ports.iter().map(|p| format!("{p}/tcp")).collect();
    let bindings = keys
        .iter()
        .map(|key| {
            (
                key.clone(),
                Some(vec![PortBinding {
                    host_ip: Some("0.0.0.0".into()),
                    // Empty: the engine picks a free port.
                    host_port: Some(String::new()),
                }]),
            )
        })
        .collect();
    (Some(keys), Some(bindings))
}

/// Container TCP port → the port the engine published it on (IPv4 first), from a
/// container's inspected `NetworkSettings.Ports`.
fn published_from(ports: &PortMap) -> BTreeMap<u16, u16> {
    let mut published = BTreeMap::new();
    for (key, bindings) in ports {
        let Some(port) = key.strip_suffix("/tcp").and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        let bindings = bindings.as_deref().unwrap_or_default();
        let ipv4_first = bindings
            .iter()
            .filter(|b| b.host_ip.as_deref().is_none_or(|ip| !ip.contains(':')))
            .chain(bindings.iter());
        if let Some(host_port) = ipv4_first
            .filter_map(|b| b.host_port.as_deref()?.parse::<u16>().ok())
            .find(|p| *p > 0)
        {
            published.insert(port, host_port);
        }
    }
    published
}

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
fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// The terminal an attached command runs in: with a TTY (an interactive shell) or
/// with plain pipes (a script fed on standard input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// A pseudo-terminal of this many columns and rows.
    Tty {
        columns: u16,
        rows: u16,
    },
    Pipes,
}

impl DockerEngine {
    /// Run a command in a container attached to this process's standard input, output
    /// and error (`docker exec -i`, with `-t` for [`Terminal::Tty`]) until it ends, and
    /// return its exit code. End of input closes the command's input. With a TTY the
    /// container's terminal follows this one's size; the caller puts this terminal in
    /// raw mode.
    pub async fn exec_attached(
        &self,
        id: &str,
        argv: &[String],
        terminal: Terminal,
    ) -> Result<i64, EngineError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let object = argv.join(" ");
        let tty = matches!(terminal, Terminal::Tty { .. });
        let config = ExecConfig {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            env: tty.then(|| vec!["TERM=xterm-256color".to_string()]),
            cmd: Some(argv.to_vec()),
            ..Default::default()
        };
        let created = within(
            "create exec",
            id,
            CALL_TIMEOUT,
            self.docker.create_exec(id, config),
        )
        .await?;
        let started = within(
            "start exec",
            &object,
            CALL_TIMEOUT,
            self.docker.start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty,
                    output_capacity: None,
                }),
            ),
        )
        .await?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(EngineError::Other(format!(
                "the engine did not attach to `{object}`"
            )));
        };
        let mut resizer = None;
        if let Terminal::Tty { columns, rows } = terminal {
            if columns > 0 && rows > 0 {
                self.resize_exec(&created.id, columns, rows).await;
            }
            // The container's terminal follows this one when it is resized.
            let engine = self.clone();
            let exec_id = created.id.clone();
            resizer = Some(tokio::spawn(async move {
                let kind = tokio::signal::unix::SignalKind::window_change();
                let Ok(mut changes) = tokio::signal::unix::signal(kind) else {
                    return;
                };
                while changes.recv().await.is_some() {
                    if let Ok((columns, rows)) = crossterm::terminal::size()
                        && columns > 0
                        && rows > 0
                    {
                        engine.resize_exec(&exec_id, columns, rows).await;
                    }
                }
            }));
        }
        let feeder = tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 8192];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if input.write_all(&buf[..n]).await.is_err() || input.flush().await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
            // End of input: the command reads end-of-file.
            let _ = input.shutdown().await;
        });
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        let mut failure = None;
        while let Some(chunk) = output.next().await {
            let written = match chunk {
                Ok(
                    bollard::container::LogOutput::StdOut { message }
                    | bollard::container::LogOutput::Console { message },
                ) => {
                    async {
                        stdout.write_all(&message).await?;
                        stdout.flush().await
                    }
                    .await
                }
                Ok(bollard::container::LogOutput::StdErr { message }) => {
                    async {
                        stderr.write_all(&message).await?;
                        stderr.flush().await
                    }
                    .await
                }
                Ok(bollard::container::LogOutput::StdIn { .. }) => Ok(()),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            // Our own output closed (a pipe to `head`, say): nothing more to show.
            if written.is_err() {
                break;
            }
        }
        feeder.abort();
        if let Some(resizer) = resizer {
            resizer.abort();
        }
        if let Some(e) = failure {
            return Err(call_err("exec", &object)(e));
        }
        let inspected = within(
            "inspect exec",
            &object,
            CALL_TIMEOUT,
            self.docker.inspect_exec(&created.id),
        )
        .await?;
        Ok(inspected.exit_code.unwrap_or(-1))
    }

    /// Best effort: a terminal of the wrong size is an annoyance, not a failure.
    async fn resize_exec(&self, exec_id: &str, columns: u16, rows: u16) {
        let _ = self
            .docker
            .resize_exec(
                exec_id,
                bollard::exec::ResizeExecOptions {
                    height: rows,
                    width: columns,
                },
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;
    use std::collections::{BTreeMap, HashMap};

    use bollard::models::PortBinding;

    #[test]
    fn publishes_each_probed_port_on_an_ephemeral_port_of_every_ipv4_address() {
        assert_eq!(super::port_bindings(&[]), (None, None));
        let (exposed, bindings) = super::port_bindings(&[80, 3306]);
        assert_eq!(exposed, Some(vec!["80/tcp".into(), "3306/tcp".into()]));
        let any = Some(vec![PortBinding {
            host_ip: Some("0.0.0.0".into()),
            host_port: Some(String::new()),
        }]);
        assert_eq!(
            bindings,
            Some(HashMap::from([
                ("80/tcp".to_string(), any.clone()),
                ("3306/tcp".to_string(), any),
            ]))
        );
    }

    #[test]
    fn reads_the_ports_the_engine_published() {
        let binding = |ip: &str, port: &str| PortBinding {
            host_ip: Some(ip.into()),
            host_port: Some(port.into()),
        };
        let ports = HashMap::from([
            (
                "80/tcp".to_string(),
                Some(vec![binding("::", "49154"), binding("0.0.0.0", "49153")]),
            ),
            // Exposed by the image, not published.
            ("443/tcp".to_string(), None),
            (
                "53/udp".to_string(),
                Some(vec![binding("0.0.0.0", "49155")]),
            ),
        ]);
        assert_eq!(super::published_from(&ports), BTreeMap::from([(80, 49153)]));
    }

    #[test]
    fn ssh_never_prompts_and_takes_the_host_after_the_options() {
        let endpoint = crate::engine::Endpoint::parse("ssh://me@build-box:2222", None).unwrap();
        assert_eq!(
            super::ssh_argv(&endpoint, &super::DIAL_STDIO).join(" "),
            "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=30 -T -l me -p 2222 -- build-box docker system dial-stdio"
        );
    }

    #[test]
    fn a_subnet_s_gateway_is_its_first_address() {
        assert_eq!(
            super::first_address("172.17.0.0/16"),
            Some("172.17.0.1".parse().unwrap())
        );
        assert_eq!(super::first_address("fd00::/64"), None);
    }

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
