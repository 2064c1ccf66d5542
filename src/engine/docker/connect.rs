//! Connecting to an engine at an [`Endpoint`] (local socket, TCP, TLS or ssh) with an
//! error that says what to check, where this machine reaches the ports it publishes,
//! and what the engine says about itself.

use std::net::IpAddr;

use bollard::Docker;
use bollard::models::SystemInfoCgroupVersionEnum;

use super::call::within;
use super::ssh::{ssh_argv, ssh_hostname, ssh_preflight, ssh_transport};
use super::{CALL_TIMEOUT, DockerEngine, LONG_CALL_TIMEOUT};
use crate::engine::{CgroupVersion, Endpoint, EngineError, EngineInfo};

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
            exec_env: Default::default(),
            cgroups: Default::default(),
            stopping: Default::default(),
            publish_on: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        })
    }

    /// Publish ports on this address of the engine's machine from now on (loopback
    /// until told otherwise).
    pub fn publish_on(&mut self, address: IpAddr) {
        self.publish_on = address;
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
    let text = crate::words::root_cause(error);
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

pub(super) async fn info(engine: &DockerEngine) -> Result<EngineInfo, EngineError> {
    let info = within("info", "engine", CALL_TIMEOUT, engine.docker.info()).await?;
    let version = within("version", "engine", CALL_TIMEOUT, engine.docker.version()).await?;
    let cgroup_version = match info.cgroup_version {
        Some(SystemInfoCgroupVersionEnum::_2) => CgroupVersion::V2,
        _ => CgroupVersion::V1,
    };
    Ok(EngineInfo {
        server_version: info.server_version.unwrap_or_default(),
        api_version: version.api_version.unwrap_or_default(),
        cgroup_version,
        cgroup_driver: info
            .cgroup_driver
            .map(|d| d.to_string())
            .unwrap_or_default(),
        operating_system: info.operating_system.unwrap_or_default(),
        cpus: info.ncpu.unwrap_or(1).max(1) as u32,
        architecture: info.architecture.unwrap_or_default(),
        storage_driver: info.driver.unwrap_or_default(),
    })
}
